/* Watch stream frames (k8s/kube.h's line splitter, k8s/watch.h's events):
 * the lines a stream splits into do not depend on where the network cut
 * it; an idle watch over a small cache (fuzz/data/watch-cluster.json) fed
 * the stream whole and fed it in pieces ends the same way.
 *
 * Where it is cut: at every byte for inputs up to CUT_ALL bytes (in two,
 * and the watch fed byte by byte); beyond, in two at CUT_SOME points and
 * in pieces of 1 to PIECE_MAX bytes (PIECE_RUNS times, and the watch
 * once), drawn from a generator seeded with the input's hash: an input is
 * cut the same way every time it runs.
 *
 * The cache is loaded once and kept between inputs while no input writes
 * to it: cache_write_locks unchanged, and no disruption budget (they have
 * their own lock; the cluster has none). An input that wrote has it
 * loaded afresh before it returns, so an input ends the same way run
 * alone or after others (the replay, make test, checks that the kept
 * cache then shows what a new one shows). The stream fed in pieces meets
 * the cache the whole stream left: the same events again, as a watch that
 * reconnects sees them (what the watch answers does not depend on the
 * cache).
 *
 * Input: byte 0 picks the kind (nodes, pods, resourcequotas,
 * poddisruptionbudgets), then the stream (events, one JSON per line). */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "base/err.h"
#include "base/hash.h"
#include "fuzz/fuzz.h"
#include "k8s/cache.h"
#include "k8s/kube.h"
#include "k8s/pdb.h"
#include "k8s/snapshot.h"
#include "k8s/watch.h"
#include "place/place.h"

enum { CUT_ALL = 128, CUT_SOME = 8, PIECE_RUNS = 4, PIECE_MAX = 32 };
#define PIECES SIZE_MAX

static const char *const kinds[4] = {"nodes", "pods", "resourcequotas", "poddisruptionbudgets"};

/* The cut points and piece sizes of one input (splitmix64). */
static uint64_t rng;

static size_t draw(size_t bound)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (size_t)((z ^ (z >> 31)) % bound);
}

/* The lines seen, each followed by a NUL. */
struct seen {
    char buf[1 << 17];
    size_t len;
    int n;
    int end_at; /* the line that asks to end (1-based; 0 never) */
};

static int record(void *ctx, char *line, size_t len)
{
    struct seen *s = ctx;
    FUZZ_CHECK(len > 0 && line[len] == '\0' && !memchr(line, '\n', len), "a bad line");
    if (s->len + len + 1 <= sizeof s->buf) {
        memcpy(s->buf + s->len, line, len + 1);
        s->len += len + 1;
    }
    s->n++;
    return s->n == s->end_at;
}

static struct seen whole, cut;
/* The splitter's buffer, kept across the cuts of one input (a new one per
 * cut cost more than the cut). */
static struct kube_lines lines;

/* Split p into lines (l.max = max): cut in two at `at`, or (at is
 * PIECES) in drawn pieces. */
static int split(const uint8_t *p, size_t n, size_t at, struct seen *s, size_t max)
{
    lines.len = 0;
    lines.max = max;
    int rc = 0;
    for (size_t i = 0, step; i < n && rc == 0; i += step) {
        step = at == PIECES ? 1 + draw(PIECE_MAX) : i < at ? at - i : n - i;
        rc = kube_lines_feed(&lines, (const char *)p + i, step < n - i ? step : n - i, record, s);
    }
    return rc;
}

static void check_cut(const uint8_t *p, size_t n, size_t at, int end_at, size_t max, int rw)
{
    cut.len = 0;
    cut.n = 0;
    cut.end_at = end_at;
    int rc = split(p, n, at, &cut, max);
    FUZZ_CHECK(rc == rw, "cut at %zu: rc %d, whole %d", at, rc, rw);
    FUZZ_CHECK(cut.n == whole.n && cut.len == whole.len && memcmp(cut.buf, whole.buf, cut.len) == 0,
               "cut at %zu: %d lines, whole %d", at, cut.n, whole.n);
}

static void check_splitter(const uint8_t *p, size_t n, int end_at, size_t max)
{
    whole.len = 0;
    whole.n = 0;
    whole.end_at = end_at;
    int rw = split(p, n, n, &whole, max);
    if (n <= CUT_ALL) {
        for (size_t at = 1; at < n; at++)
            check_cut(p, n, at, end_at, max, rw);
        return;
    }
    for (int i = 0; i < CUT_SOME; i++)
        check_cut(p, n, 1 + draw(n - 1), end_at, max, rw);
    for (int i = 0; i < PIECE_RUNS; i++)
        check_cut(p, n, PIECES, end_at, max, rw);
}

static char *cluster;
static size_t cluster_len;
static struct cache *kept;
static unsigned long kept_writes; /* cache_write_locks(kept) as loaded */
static size_t kept_pdbs;          /* its budgets (their own lock, not counted there) */

/* Load the kept cache afresh when it is missing or an input wrote to it. */
static void restore(void)
{
    if (kept && cache_write_locks(kept) == kept_writes && pdbs_count(cache_pdbs(kept)) == kept_pdbs)
        return;
    char err[512];
    struct snapshot_stats st;
    cache_destroy(kept);
    kept = cache_create();
    FUZZ_CHECK(snapshot_load_json(kept, cluster, cluster_len, &st, err, sizeof err) == 0, "%s",
               err);
    kept_writes = cache_write_locks(kept);
    kept_pdbs = pdbs_count(cache_pdbs(kept));
}

#ifdef FUZZ_REPLAY
/* The kept cache shows what a new one loaded from the file shows (its
 * nodes, GPUs and usage, and its counts). */
static void check_restored(void)
{
    char err[512];
    struct snapshot_stats st;
    struct cache *fresh = cache_create();
    FUZZ_CHECK(snapshot_load_json(fresh, cluster, cluster_len, &st, err, sizeof err) == 0, "%s",
               err);
    struct cache_stats a, b;
    cache_stats(kept, &a);
    cache_stats(fresh, &b);
    FUZZ_CHECK(memcmp(&a, &b, sizeof a) == 0, "kept: %zu nodes %zu pods, new: %zu nodes %zu pods",
               a.nodes, a.pods, b.nodes, b.pods);
    FUZZ_CHECK(pdbs_count(cache_pdbs(kept)) == pdbs_count(cache_pdbs(fresh)), "kept: %zu budgets",
               pdbs_count(cache_pdbs(kept)));
    cJSON *ja = cache_inspect(kept, 1795000000.0), *jb = cache_inspect(fresh, 1795000000.0);
    char *sa = cJSON_PrintUnformatted(ja), *sb = cJSON_PrintUnformatted(jb);
    FUZZ_CHECK(sa && sb && strcmp(sa, sb) == 0, "kept: %.300s, new: %.300s", sa, sb);
    free(sa);
    free(sb);
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    cache_destroy(fresh);
}
#endif

/* Counts every pod a watch hands it as bound, as the service's placer does
 * (place_observe_bound): a pod of any shape the stream holds. Kept for the
 * run; its cache is its own (counting reads none). */
static struct place *learner;

static void bound(void *ctx, const cJSON *pod)
{
    place_observe_bound(ctx, pod);
}

/* Feed the stream to a new idle watch over c: whole (pieces false), else
 * byte by byte up to CUT_ALL bytes and in drawn pieces beyond. */
static int watch_run(struct cache *c, int kind, const uint8_t *p, size_t n, bool pieces, char *rv,
                     size_t cap)
{
    if (!learner) {
        struct place_opts po = {.mode = PLACE_SINGLE, .defaults = {.mem_factor = 1}};
        learner = place_create(cache_create(), &po);
    }
    struct watch_options o = {.handshake = true, .bound = bound, .bound_ctx = learner};
    struct watch *w = watch_create_idle(c, &o);
    struct kube_lines l = {0};
    int rc = 0;
    rv[0] = '\0';
    for (size_t i = 0, step = n ? n : 1; i < n && rc == 0; i += step) {
        if (pieces)
            step = n <= CUT_ALL ? 1 : 1 + draw(PIECE_MAX);
        rc = watch_feed(w, kinds[kind], (const char *)p + i, n - i < step ? n - i : step, &l, rv,
                        cap);
    }
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == ERR_NOTFOUND || rc == ERR_TOOBIG, "rc %d", rc);
    kube_lines_free(&l);
    watch_stop(w);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (!cluster)
        cluster = fuzz_data("watch-cluster.json", &cluster_len);
    if (size < 1 || size > 65536)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    rng = hash_fnv(HASH_FNV_INIT, data, size);
    check_splitter(p, n, 0, 0);
    check_splitter(p, n, 2, 0);
    check_splitter(p, n, 0, 64); /* lines over 64 bytes end the stream */
    kube_lines_free(&lines);
    char rv1[128], rv2[128];
    restore(); /* the first input only: the others find it restored */
    int r1 = watch_run(kept, data[0] & 3, p, n, false, rv1, sizeof rv1);
    int r2 = watch_run(kept, data[0] & 3, p, n, true, rv2, sizeof rv2);
    /* Now, not before the next input: what this input added to the cache
     * is freed within it, so libFuzzer's leak check (more mallocs than
     * frees in one input) is not set off. */
    restore();
#ifdef FUZZ_REPLAY
    check_restored();
#endif
    FUZZ_CHECK(r1 == r2, "whole: rc %d, in pieces: rc %d", r1, r2);
    FUZZ_CHECK(strcmp(rv1, rv2) == 0, "whole: rv %s, in pieces: rv %s", rv1, rv2);
    return 0;
}

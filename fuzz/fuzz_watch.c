/* Watch stream frames (k8s/kube.h's line splitter, k8s/watch.h's events):
 * the lines a stream splits into do not depend on where the network cut
 * it (checked at every byte for short inputs); an idle watch over a small
 * cache (fuzz/data/watch-cluster.json) fed the stream whole and fed it
 * byte by byte ends the same way.
 *
 * Input: byte 0 picks the kind (nodes, pods, resourcequotas,
 * poddisruptionbudgets), then the stream (events, one JSON per line). */
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/cache.h"
#include "k8s/kube.h"
#include "k8s/snapshot.h"
#include "k8s/watch.h"

static const char *const kinds[4] = {"nodes", "pods", "resourcequotas", "poddisruptionbudgets"};

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

static int split(const uint8_t *p, size_t n, size_t at, struct seen *s, size_t max)
{
    struct kube_lines l = {.max = max};
    int rc = kube_lines_feed(&l, (const char *)p, at, record, s);
    if (rc == 0)
        rc = kube_lines_feed(&l, (const char *)p + at, n - at, record, s);
    kube_lines_free(&l);
    return rc;
}

static void check_splitter(const uint8_t *p, size_t n, int end_at, size_t max)
{
    whole.len = 0;
    whole.n = 0;
    whole.end_at = end_at;
    int rw = split(p, n, n, &whole, max);
    size_t step = n <= 512 ? 1 : n / 97 + 1;
    for (size_t at = 0; at <= n; at += step) {
        cut.len = 0;
        cut.n = 0;
        cut.end_at = end_at;
        int rc = split(p, n, at, &cut, max);
        FUZZ_CHECK(rc == rw, "cut at %zu: rc %d, whole %d", at, rc, rw);
        FUZZ_CHECK(cut.n == whole.n && cut.len == whole.len &&
                       memcmp(cut.buf, whole.buf, cut.len) == 0,
                   "cut at %zu: %d lines, whole %d", at, cut.n, whole.n);
    }
}

static char *cluster;
static size_t cluster_len;

/* Feed the stream to an idle watch over the cluster, step bytes a time. */
static int watch_run(int kind, const uint8_t *p, size_t n, size_t step, char *rv, size_t cap)
{
    char err[512];
    struct snapshot_stats st;
    struct cache *c = cache_create();
    FUZZ_CHECK(snapshot_load_json(c, cluster, cluster_len, &st, err, sizeof err) == 0, "%s", err);
    struct watch_options o = {.handshake = true};
    struct watch *w = watch_create_idle(c, &o);
    struct kube_lines l = {0};
    int rc = 0;
    rv[0] = '\0';
    for (size_t i = 0; i < n && rc == 0; i += step)
        rc = watch_feed(w, kinds[kind], (const char *)p + i, n - i < step ? n - i : step, &l, rv,
                        cap);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == ERR_NOTFOUND || rc == ERR_TOOBIG, "rc %d", rc);
    kube_lines_free(&l);
    watch_stop(w);
    cache_destroy(c);
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
    check_splitter(p, n, 0, 0);
    check_splitter(p, n, 2, 0);
    check_splitter(p, n, 0, 64); /* lines over 64 bytes end the stream */
    char rv1[128], rv2[128];
    int r1 = watch_run(data[0] & 3, p, n, n ? n : 1, rv1, sizeof rv1);
    int r2 = watch_run(data[0] & 3, p, n, 1, rv2, sizeof rv2);
    FUZZ_CHECK(r1 == r2, "whole: rc %d, byte by byte: rc %d", r1, r2);
    FUZZ_CHECK(strcmp(rv1, rv2) == 0, "whole: rv %s, byte by byte: rv %s", rv1, rv2);
    return 0;
}

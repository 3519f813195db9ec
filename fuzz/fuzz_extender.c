/* kube-scheduler's extender verbs (server/extender.h) on a small cache of
 * every device row (fuzz/data/cluster.json): filter, prioritize, bind and
 * preempt bodies. Every answer is JSON for 0, one line for ERR_INVAL.
 *
 * The cache, a placer and an extender per placement mode are made once
 * and kept between inputs (loading the cache is what costs: most inputs
 * are refused before they change anything). What an input changed is made
 * again before the next: the cache when it was written to (a reservation,
 * a pending spec, a bind, a hold: cache_write_locks moved), the placer
 * when it judged or learned a pod (place_stats moved: its verdict memo and
 * learned workload start empty again). So an input gives the same answer
 * run alone or after any others; the replay (make test) checks it: each
 * input runs twice on the kept state and once on a new one, and the three
 * answers must be the same bytes.
 *
 * Input: byte 0 picks the verb (bits 0-1) and the placement mode (bit 2:
 * all mode, else single), then the body. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>
#include "base/buf.h"
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/policy.h"
#include "server/extender.h"

typedef int (*verb_fn)(struct extender *, const char *, size_t, double, struct buf *);

static const verb_fn verbs[4] = {extender_filter, extender_prioritize, extender_bind,
                                 extender_preempt};

static char *cluster;
static size_t cluster_len;

/* A cache and, per placement mode, a placer and an extender over it. */
struct world {
    struct cache *c;
    unsigned long writes; /* cache_write_locks(c) as loaded */
    struct place *pl[2];
    struct extender *x[2];
    struct place_stats st[2]; /* place_stats(pl[i]) as made */
};

static struct world kept; /* between inputs */

static void drop_placer(struct world *w, int mode)
{
    extender_destroy(w->x[mode]);
    place_destroy(w->pl[mode]);
    w->x[mode] = NULL;
    w->pl[mode] = NULL;
}

static bool same_stats(const struct place_stats *a, const struct place_stats *b)
{
    return a->fitted == b->fitted && a->reused == b->reused && a->observed == b->observed;
}

/* w's extender for mode as loaded and made: what an input changed (it
 * wrote to the cache, or judged or learned a pod) is made again. */
static struct extender *clean(struct world *w, int mode)
{
    if (w->c && cache_write_locks(w->c) != w->writes) {
        drop_placer(w, 0);
        drop_placer(w, 1);
        cache_destroy(w->c);
        w->c = NULL;
    }
    if (!w->c) {
        char err[512];
        struct snapshot_stats st;
        w->c = cache_create();
        FUZZ_CHECK(snapshot_load_json(w->c, cluster, cluster_len, &st, err, sizeof err) == 0, "%s",
                   err);
        cache_set_ready(w->c, true);
        w->writes = cache_write_locks(w->c);
    }
    struct place_stats now;
    if (w->pl[mode]) {
        place_stats(w->pl[mode], &now);
        if (!same_stats(&now, &w->st[mode]))
            drop_placer(w, mode);
    }
    if (!w->pl[mode]) {
        struct place_opts o = {
            .mode = mode ? PLACE_ALL : PLACE_SINGLE,
            .policy = {.node_policy = policy_node_policy_find("binpack"),
                       .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
            .defaults = {.mem_factor = 1},
            .ttl = 30,
            .hold_ttl = 30,
            .lock_timeout = 300,
        };
        w->pl[mode] = place_create(w->c, &o);
        w->x[mode] = extender_create(w->pl[mode], NULL, NULL);
        place_stats(w->pl[mode], &w->st[mode]);
    }
    return w->x[mode];
}

/* One verb in w; the answer in out. */
static int run(struct world *w, const uint8_t *data, size_t size, struct buf *out)
{
    struct extender *x = clean(w, (data[0] & 4) ? 1 : 0);
    return verbs[data[0] & 3](x, (const char *)data + 1, size - 1, 1795000000.0, out);
}

static void check(const uint8_t *data, int rc, const struct buf *out)
{
    FUZZ_CHECK(rc == 0 || rc == ERR_INVAL, "verb %d: rc %d", data[0] & 3, rc);
    FUZZ_CHECK(out->data && out->len > 0, "verb %d: no answer", data[0] & 3);
    if (rc == 0) {
        cJSON *a = cJSON_ParseWithLength(out->data, out->len);
        /* prioritize answers a HostPriorityList, the others an object */
        FUZZ_CHECK((data[0] & 3) == 1 ? cJSON_IsArray(a) : cJSON_IsObject(a),
                   "verb %d: the answer is not JSON of its kind: %.300s", data[0] & 3, out->data);
        cJSON_Delete(a);
    } else {
        FUZZ_CHECK(!memchr(out->data, '\n', out->len - 1), "verb %d: the 400 is not one line",
                   data[0] & 3);
    }
}

#ifdef FUZZ_REPLAY
static void world_free(struct world *w)
{
    drop_placer(w, 0);
    drop_placer(w, 1);
    cache_destroy(w->c);
}

/* The input again on the kept cache, then on a new one: the same answer. */
static void check_alone(const uint8_t *data, size_t size, int rc, const struct buf *out)
{
    for (int i = 0; i < 2; i++) {
        struct world fresh = {0};
        struct buf again = BUF_INIT(64u << 20);
        int rc2 = run(i ? &fresh : &kept, data, size, &again);
        FUZZ_CHECK(rc2 == rc && again.len == out->len &&
                       memcmp(again.data, out->data, out->len) == 0,
                   "verb %d: %s cache answers %d %.300s, kept one %d %.300s", data[0] & 3,
                   i ? "a new" : "the kept", rc2, again.data ? again.data : "", rc, out->data);
        buf_free(&again);
        world_free(&fresh);
    }
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (!cluster)
        cluster = fuzz_data("cluster.json", &cluster_len);
    if (size < 1 || size > (1u << 20))
        return 0;
    struct buf out = BUF_INIT(64u << 20);
    int rc = run(&kept, data, size, &out);
    check(data, rc, &out);
#ifdef FUZZ_REPLAY
    check_alone(data, size, rc, &out);
#endif
    buf_free(&out);
    /* Made again now, not before the next input: what this input added is
     * freed within it, so libFuzzer's leak check (more mallocs than frees
     * in one input) is not set off. */
    clean(&kept, 0);
    clean(&kept, 1);
    return 0;
}

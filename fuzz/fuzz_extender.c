/* kube-scheduler's extender verbs (server/extender.h) on a small cache of
 * every device row (fuzz/data/cluster.json, loaded afresh for each input
 * so that an input replays alone): filter, prioritize, bind and preempt
 * bodies. Every answer is JSON for 0, one line for ERR_INVAL.
 *
 * Input: byte 0 picks the verb (bits 0-1) and the placement mode (bit 2:
 * all mode, else single), then the body. */
#include <cjson/cJSON.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (!cluster)
        cluster = fuzz_data("cluster.json", &cluster_len);
    if (size < 1 || size > (1u << 20))
        return 0;
    char err[512];
    struct snapshot_stats st;
    struct cache *c = cache_create();
    FUZZ_CHECK(snapshot_load_json(c, cluster, cluster_len, &st, err, sizeof err) == 0, "%s", err);
    cache_set_ready(c, true);
    struct place_opts o = {
        .mode = (data[0] & 4) ? PLACE_ALL : PLACE_SINGLE,
        .policy = {.node_policy = policy_node_policy_find("binpack"),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
        .defaults = {.mem_factor = 1},
        .ttl = 30,
        .hold_ttl = 30,
        .lock_timeout = 300,
    };
    struct place *pl = place_create(c, &o);
    struct extender *x = extender_create(pl, NULL, NULL);
    struct buf out = BUF_INIT(64u << 20);
    int rc = verbs[data[0] & 3](x, (const char *)data + 1, size - 1, 1795000000.0, &out);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVAL, "verb %d: rc %d", data[0] & 3, rc);
    FUZZ_CHECK(out.data && out.len > 0, "verb %d: no answer", data[0] & 3);
    if (rc == 0) {
        cJSON *a = cJSON_ParseWithLength(out.data, out.len);
        /* prioritize answers a HostPriorityList, the others an object */
        FUZZ_CHECK((data[0] & 3) == 1 ? cJSON_IsArray(a) : cJSON_IsObject(a),
                   "verb %d: the answer is not JSON of its kind: %.300s", data[0] & 3, out.data);
        cJSON_Delete(a);
    } else {
        FUZZ_CHECK(!memchr(out.data, '\n', out.len - 1), "verb %d: the 400 is not one line",
                   data[0] & 3);
    }
    buf_free(&out);
    extender_destroy(x);
    place_destroy(pl);
    cache_destroy(c);
    return 0;
}

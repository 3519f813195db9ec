/* A workload file (--workload-file: a JSON list of {"weight": N, "pod":
 * <Pod>}, an operator's file, its pods' requests and annotations as any
 * pod owner writes them) read into a placer, and what GET /workload then
 * writes (place_workload_file). Whatever the input: reading ends in 0 or
 * an error with a message; what is written reads back without error and is
 * a fixed point (written again, the same bytes); no shape is left out
 * (the memory factor did not change). */
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/cache.h"
#include "place/place.h"

static struct place *placer(struct cache *c)
{
    struct place_opts o = {
        .mode = PLACE_SINGLE,
        .policy = {.node_policy = policy_node_policy_find("fragment-aware"),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
        .defaults = {.mem_factor = 1},
        .ttl = 30,
    };
    return place_create(c, &o);
}

/* pl's workload file into out (emptied first); checks nothing was left out. */
static void written(struct place *pl, struct buf *out)
{
    int skipped = -1;
    buf_reset(out);
    FUZZ_CHECK(place_workload_file(pl, out, &skipped) == 0, "the file did not fit its buffer");
    FUZZ_CHECK(skipped == 0, "%d shapes left out", skipped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > (1 << 16))
        return 0;
    struct cache *c = cache_create();
    cache_set_ready(c, true);
    struct place *a = placer(c), *b = placer(c);
    struct buf first = BUF_INIT(64u << 20), again = BUF_INIT(64u << 20);
    char err[512] = "";
    int rc = place_seed_file(a, fuzz_file(data, size), err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0], "refused without a reason (rc %d)", rc);
    if (rc == 0) {
        written(a, &first);
        const char *path = fuzz_file((const uint8_t *)first.data, first.len);
        rc = place_seed_file(b, path, err, sizeof err);
        FUZZ_CHECK(rc == 0, "what /workload wrote does not read back: %s\n%s", err,
                   buf_str(&first));
        written(b, &again);
        FUZZ_CHECK(strcmp(buf_str(&first), buf_str(&again)) == 0, "written twice:\n%s\n%s",
                   buf_str(&first), buf_str(&again));
    }
    buf_free(&first);
    buf_free(&again);
    place_destroy(b);
    place_destroy(a);
    cache_destroy(c);
    return 0;
}

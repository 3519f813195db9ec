/* The allocation annotation (policy/codec.h): decode never fails but with
 * an error; what decodes encodes back (on devices named as decoded) to a
 * value that decodes to the same entries, and codec_usage on those devices
 * counts them all. */
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "policy/codec.h"
#include "policy/device.h"

static struct codec_devices d1, d2;
static struct policy_device dev[POLICY_MAX_PICKS];
static char uuid[POLICY_MAX_PICKS][256];
static struct policy_pod pod;
static struct policy_placement pl;
static char enc[1 << 17];

static void roundtrip(const char *s)
{
    char err[256];
    if (d1.nctr > POLICY_MAX_CONTAINERS || d1.n > POLICY_MAX_PICKS)
        return;
    /* One device per entry, named as the entry names it. */
    memset(&pl, 0, sizeof pl);
    memset(&pod, 0, sizeof pod);
    const struct policy_device_backend *b = policy_device_backend_of_word(s);
    int32_t maxctr = -1;
    for (int i = 0; i < d1.n; i++) {
        const struct codec_entry *e = &d1.e[i];
        memcpy(uuid[i], e->uuid, e->uuid_len);
        uuid[i][e->uuid_len] = '\0';
        dev[i] = (struct policy_device){.uuid = uuid[i],
                                        .backend = b,
                                        .count = 10,
                                        .devcore = 100,
                                        .devmem = 1 << 20,
                                        .health = true};
        FUZZ_CHECK(i == 0 || e->ctr >= d1.e[i - 1].ctr, "entries out of container order");
        if (e->ctr >= POLICY_MAX_CONTAINERS)
            return;
        pl.pick[i] = (struct policy_pick){
            .ctr = (uint8_t)e->ctr, .dev = (uint8_t)i, .cores = e->cores, .mem = e->mem};
        if (e->ctr > maxctr)
            maxctr = e->ctr;
    }
    pl.npick = d1.n;
    pod.nctr = d1.nctr > maxctr + 1 ? d1.nctr : maxctr + 1;
    FUZZ_CHECK(pod.nctr <= POLICY_MAX_CONTAINERS, "nctr %d", pod.nctr);
    struct policy_node node = {.name = "n", .ndev = d1.n, .dev = dev};
    int len = codec_encode(&pod, &node, &pl, enc, sizeof enc);
    if (len == ERR_TOOBIG)
        return;
    FUZZ_CHECK(len >= 0, "encode rc %d", len);
    int rc = codec_decode(enc, &d2, err, sizeof err);
    FUZZ_CHECK(rc == 0, "\"%s\" re-encoded as \"%s\" does not decode: %s", s, enc, err);
    FUZZ_CHECK(d2.n == d1.n, "%d entries, then %d", d1.n, d2.n);
    for (int i = 0; i < d1.n; i++) {
        const struct codec_entry *a = &d1.e[i], *c = &d2.e[i];
        FUZZ_CHECK(a->uuid_len == c->uuid_len && memcmp(a->uuid, c->uuid, a->uuid_len) == 0,
                   "entry %d: uuid changed", i);
        FUZZ_CHECK(a->ctr == c->ctr && a->cores == c->cores && a->mem == c->mem,
                   "entry %d: ctr %d/%d cores %d/%d mem %lld/%lld", i, a->ctr, c->ctr, a->cores,
                   c->cores, (long long)a->mem, (long long)c->mem);
    }
    /* The usage on those devices: every entry is found (the node is built
     * from them; MIG-suffixed names find themselves first). */
    if (d1.n <= POLICY_MAX_DEVICES) {
        static struct policy_usage use[POLICY_MAX_PICKS];
        int missing = codec_usage(&node, &d1, 0, use);
        FUZZ_CHECK(missing == 0, "%d entries not found on their own devices", missing);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 65536)
        return 0;
    char *s = fuzz_cstr(data, size);
    char err[256];
    int rc = codec_decode(s, &d1, err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVAL || rc == ERR_TOOBIG || rc == ERR_RANGE, "rc %d", rc);
    if (rc == 0) {
        FUZZ_CHECK(d1.n >= 0 && d1.n <= POLICY_MAX_PICKS && d1.nctr >= 0, "n %d nctr %d", d1.n,
                   d1.nctr);
        roundtrip(s);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0], "an error without a message");
    }
    free(s);
    return 0;
}

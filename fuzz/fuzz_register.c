/* Node register annotations of every device backend row (policy/device.h),
 * both encodings (HAMi's JSON array and the legacy colon string; NVIDIA
 * MIG profiles, Ascend, Hygon), the pair score annotation, and Cambricon's
 * capacity reading; then the same annotations on a Node through
 * model_node_parse, which must agree with the row.
 *
 * Input: byte 0 picks the row (modulo the rows), then the register value,
 * then optionally a NUL byte and the score value. Rows without a register
 * annotation read bytes 1..16 as their two capacities. */
#include <cjson/cJSON.h>
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/model.h"
#include "policy/device.h"

static int nrows(void)
{
    int n = 0;
    while (policy_device_backends[n])
        n++;
    return n;
}

static void check_devices(const struct policy_device_backend *b, const struct policy_device *dev,
                          int32_t ndev)
{
    FUZZ_CHECK(ndev >= 0, "ndev %d", ndev);
    for (int32_t i = 0; i < ndev; i++) {
        const struct policy_device *d = &dev[i];
        FUZZ_CHECK(d->uuid && d->uuid[0], "%s: device %d without a uuid", b->name, i);
        FUZZ_CHECK(d->backend == b, "%s: device %d has another row", b->name, i);
        FUZZ_CHECK(d->count >= 0 && d->devcore >= 0 && d->devmem >= 0,
                   "%s: device %d: count %d devcore %d devmem %lld", b->name, i, d->count,
                   d->devcore, (long long)d->devmem);
        FUZZ_CHECK(d->nmig >= 0 && (d->nmig == 0 || d->mig), "%s: device %d: nmig %d", b->name, i,
                   d->nmig);
        (void)strlen(d->uuid);
        if (d->type)
            (void)strlen(d->type);
        if (d->mode)
            (void)strlen(d->mode);
    }
}

/* The same value on a Node object, through the cache's parser. */
static void node_parse(const struct policy_device_backend *b, const char *reg, const char *score,
                       int rc_direct, int32_t ndev_direct)
{
    char err[512];
    cJSON *node = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(node, "metadata");
    cJSON_AddStringToObject(meta, "name", "fuzz-node");
    cJSON *ann = cJSON_AddObjectToObject(meta, "annotations");
    cJSON_AddStringToObject(ann, b->ann_register, reg);
    if (score && b->ann_score)
        cJSON_AddStringToObject(ann, b->ann_score, score);
    cJSON *alloc = cJSON_AddObjectToObject(cJSON_AddObjectToObject(node, "status"), "allocatable");
    cJSON_AddStringToObject(alloc, "cpu", "8");
    struct model_inventory *inv = NULL;
    int rc = model_node_parse(node, &inv, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(rc_direct == 0, "%s: the node parses, the row refused it (%d)", b->name,
                   rc_direct);
        FUZZ_CHECK(inv->backend == b, "%s: the node went to row %s", b->name, inv->backend->name);
        FUZZ_CHECK(inv->ndev == ndev_direct, "%s: %d devices on the node, %d from the row", b->name,
                   inv->ndev, ndev_direct);
        check_devices(b, inv->dev, inv->ndev);
    } else {
        FUZZ_CHECK(err[0], "%s: node error %d without a message", b->name, rc);
    }
    model_inventory_free(inv);
    cJSON_Delete(node);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size < 1 || size > 65536)
        return 0;
    const struct policy_device_backend *b = policy_device_backends[data[0] % nrows()];
    char err[512];
    struct policy_device *dev = NULL;
    char *strings = NULL;
    int32_t ndev = 0;
    if (!b->register_parse) {
        int64_t cores = 0, mem = 0;
        if (size < 17 || !b->capacity_parse)
            return 0;
        memcpy(&cores, data + 1, 8);
        memcpy(&mem, data + 9, 8);
        int rc = b->capacity_parse("fuzz-node", cores, mem, &dev, &ndev, &strings, err, sizeof err);
        FUZZ_CHECK(rc == 0 || rc == ERR_INVAL || rc == ERR_TOOBIG || rc == ERR_RANGE, "rc %d", rc);
        if (rc == 0)
            check_devices(b, dev, ndev);
        free(dev);
        free(strings);
        return 0;
    }
    char *reg = fuzz_cstr(data + 1, size - 1);
    size_t rlen = strlen(reg);
    const char *score = rlen + 1 < size - 1 ? reg + rlen + 1 : NULL;
    int rc = b->register_parse(reg, &dev, &ndev, &strings, err, sizeof err);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVAL || rc == ERR_TOOBIG || rc == ERR_RANGE, "%s: rc %d",
               b->name, rc);
    if (rc == 0) {
        check_devices(b, dev, ndev);
        if (score && b->score_parse) {
            uint16_t *pair = NULL;
            int sr = b->score_parse(score, dev, ndev, &pair, err, sizeof err);
            FUZZ_CHECK(sr == 0 || sr == ERR_INVAL || sr == ERR_TOOBIG || sr == ERR_RANGE,
                       "score rc %d", sr);
            FUZZ_CHECK(sr == 0 || !pair, "score refused but a matrix returned");
            if (sr == 0 && ndev > 0 && pair)
                for (int32_t i = 0; i < ndev * ndev; i++)
                    (void)pair[i];
            free(pair);
        }
    } else {
        FUZZ_CHECK(err[0], "%s: error %d without a message", b->name, rc);
    }
    /* The node parser reads the score annotation only when the register
     * parses, and may refuse it: compare devices only when both parse. */
    node_parse(b, reg, score, rc, ndev);
    free(dev);
    free(strings);
    free(reg);
    return 0;
}

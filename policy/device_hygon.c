/* device_hygon.c: Hygon DCU's row of the device backends, as HAMi's
 * pkg/device/hygon does it: hygon.com/ resources (a count, MiB per device,
 * % of compute; no memory percentage, no priority), the register annotation
 * hami.io/node-dcu-register in the encoding every HAMi device plugin shares
 * (read by the NVIDIA row's decoder, then marked as DCU devices), the
 * handshake hami.io/node-handshake-dcu, and the allocation recorded under
 * hami.io/dcu-devices-* with the vendor word "DCU". Requests take the row's
 * own defaults: the whole device's memory and 100 % of its compute. DCU has
 * no pair scores, no NUMA binding and no modes (a "mig" device is refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"

#define DCU_CORES_DEFAULT 100 /* HAMi: a DCU request without dcucores takes the whole device */

extern const struct policy_device_backend policy_device_nvidia;
extern const struct policy_device_backend policy_device_hygon;

static int register_parse(const char *value, struct policy_device **dev, int32_t *ndev,
                          char **strings, char *err, size_t cap)
{
    int rc = policy_device_nvidia.register_parse(value, dev, ndev, strings, err, cap);
    for (int32_t i = 0; !rc && i < *ndev; i++) {
        struct policy_device *d = &(*dev)[i];
        if (d->mode && strcmp(d->mode, "mig") == 0) {
            snprintf(err, cap, "device %d (%s): mode \"mig\" is not a DCU mode", (int)i, d->uuid);
            rc = ERR_INVAL;
            break;
        }
        d->backend = &policy_device_hygon;
        d->nmig = 0;
        d->mig = NULL;
    }
    if (rc) {
        free(*dev);
        free(*strings);
        *dev = NULL;
        *strings = NULL;
        *ndev = 0;
    }
    return rc;
}

const struct policy_device_backend policy_device_hygon = {
    .name = "hygon",
    .vendor_word = "DCU",
    .res =
        {
            [POLICY_RES_COUNT] = "hygon.com/dcunum",
            [POLICY_RES_MEM] = "hygon.com/dcumem",
            [POLICY_RES_CORES] = "hygon.com/dcucores",
        },
    .res_prefix = "hygon.com/",
    .res_flag =
        {
            [POLICY_RES_COUNT] = "dcu-name",
            [POLICY_RES_MEM] = "dcu-memory",
            [POLICY_RES_CORES] = "dcu-cores",
        },
    .config_section = "hygon",
    .ann_register = "hami.io/node-dcu-register",
    .ann_handshake = "hami.io/node-handshake-dcu",
    .ann_use_type = "hygon.com/use-dcutype",
    .ann_nouse_type = "hygon.com/nouse-dcutype",
    .ann_use_uuid = "hygon.com/use-gpuuuid",
    .ann_nouse_uuid = "hygon.com/nouse-gpuuuid",
    .ann_to_allocate = "hami.io/dcu-devices-to-allocate",
    .ann_allocated = "hami.io/dcu-devices-allocated",
    .config_defaults = false,
    .default_cores = DCU_CORES_DEFAULT,
    .register_parse = register_parse,
};

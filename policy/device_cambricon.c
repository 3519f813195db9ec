/* device_cambricon.c: Cambricon MLU's row of the device backends, as HAMi's
 * pkg/device/cambricon does it. Cambricon's device plugin (its dynamic
 * smlu mode) writes no register annotation and no handshake: the scheduler
 * derives the node's MLUs from status.capacity, one device per 100 of
 * cambricon.com/mlu.smlu.vcore, each with an equal share of
 * cambricon.com/mlu.smlu.vmemory (in units of 256 MiB), 100 slots, 100
 * cores, always healthy, named "<node>-cambricon-mlu-<i>" of type "MLU".
 *
 * A container asks cambricon.com/vmlu (a count; the name HAMi's default
 * device config gives it), .smlu.vmemory (256 MiB
 * units; absent or 0: the whole device) and .smlu.vcore (% of compute;
 * absent: 100, above 100: 100). The allocation is recorded under
 * hami.io/cambricon-mlu-devices-* with the vendor word "MLU", plus the two
 * annotations the device plugin reads: CAMBRICON_DSMLU_ASSIGNED "false" and
 * CAMBRICON_DSMLU_PROFILE "<index>_<cores>_<memory / 256>" of the pod's
 * first device. Bind takes the vendor's own node lock,
 * cambricon.com/dsmlu.lock, a bare RFC 3339 time stale after 2 minutes,
 * released by the device plugin. No pair scores, no NUMA, no modes, and no
 * type filter (HAMi's MLU type check ignores use-mlutype). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "policy/codec.h"
#include "policy/device.h"

#define MLU_MEM_UNIT      256 /* MiB per cambricon.com/mlu.smlu.vmemory */
#define MLU_CORES_DEFAULT 100 /* HAMi: a request without vcore takes the whole device */
#define MLU_SLOTS         100 /* HAMi's Count of every MLU */
#define MLU_LOCK_TIMEOUT  120 /* HAMi: a dsmlu lock older than 2 minutes is stale */
#define MLU_TYPE          "MLU"
#define MLU_ID_INFIX      "-cambricon-mlu-"

extern const struct policy_device_backend policy_device_cambricon;

static int capacity_parse(const char *node, int64_t cores, int64_t mem, struct policy_device **dev,
                          int32_t *ndev, char **strings, char *err, size_t cap)
{
    *dev = NULL;
    *strings = NULL;
    *ndev = 0;
    if (!node || !*node || cores <= 0) {
        snprintf(err, cap, "no %s in the node's capacity",
                 policy_device_cambricon.res[POLICY_RES_CORES]);
        return ERR_INVAL;
    }
    int64_t n = cores / 100 + (cores % 100 != 0); /* HAMi: one device per started 100 */
    if (n > POLICY_MAX_DEVICES) {
        snprintf(err, cap, "%s %" PRId64 " makes %" PRId64 " devices, more than %d",
                 policy_device_cambricon.res[POLICY_RES_CORES], cores, n, POLICY_MAX_DEVICES);
        return ERR_RANGE;
    }
    if (mem < 0 || mem > INT32_MAX / MLU_MEM_UNIT) {
        snprintf(err, cap, "%s %" PRId64 " is out of range 0..%d",
                 policy_device_cambricon.res[POLICY_RES_MEM], mem, INT32_MAX / MLU_MEM_UNIT);
        return ERR_RANGE;
    }
    int64_t devmem = mem * MLU_MEM_UNIT * 100 / cores; /* HAMi's share, in its order */
    if (devmem > INT32_MAX) {
        snprintf(err, cap, "%s %" PRId64 " over %s %" PRId64 " is over %d MiB per device",
                 policy_device_cambricon.res[POLICY_RES_MEM], mem,
                 policy_device_cambricon.res[POLICY_RES_CORES], cores, INT32_MAX);
        return ERR_RANGE;
    }
    /* The strings: "MLU\0", then each "<node>-cambricon-mlu-<i>\0". */
    size_t idcap = strlen(node) + sizeof MLU_ID_INFIX + 4, at = sizeof MLU_TYPE;
    char *s = mem_alloc(sizeof MLU_TYPE + (size_t)n * idcap);
    struct policy_device *d = mem_zalloc((size_t)n * sizeof *d);
    memcpy(s, MLU_TYPE, sizeof MLU_TYPE);
    for (int32_t i = 0; i < (int32_t)n; i++) {
        int len = snprintf(s + at, idcap, "%s" MLU_ID_INFIX "%d", node, (int)i);
        d[i] = (struct policy_device){.uuid = s + at,
                                      .type = s,
                                      .index = i,
                                      .count = MLU_SLOTS,
                                      .devcore = 100,
                                      .devmem = devmem,
                                      .health = true,
                                      .backend = &policy_device_cambricon};
        at += (size_t)len + 1;
    }
    *dev = d;
    *strings = s;
    *ndev = (int32_t)n;
    return 0;
}

/* The device index in an MLU's id ("<node>-cambricon-mlu-<i>"), or -1. */
static long id_index(const char *uuid, size_t n)
{
    size_t k = sizeof MLU_ID_INFIX - 1, digits = 0;
    while (digits < n && uuid[n - 1 - digits] >= '0' && uuid[n - 1 - digits] <= '9')
        digits++;
    if (digits == 0 || digits > 2 || n < digits + k ||
        memcmp(uuid + n - digits - k, MLU_ID_INFIX, k) != 0)
        return -1;
    return strtol(uuid + n - digits, NULL, 10);
}

/* HAMi's PatchAnnotations: ASSIGNED "false", PROFILE from the first device
 * of the first container holding one. */
/* CAMBRICON_DSMLU_ASSIGNED ("false": the device plugin sets it once it
 * made the slice) and CAMBRICON_DSMLU_PROFILE ("<index>_<cores>_<vmemory>"
 * of the first MLU, as HAMi's PatchAnnotations writes it). */
static int extra_encode(const struct policy_device_backend *b, int k, const char *devices,
                        long long now, char *buf, size_t cap, char *err, size_t errcap)
{
    (void)b;
    (void)now;
    struct codec_devices *cd = mem_alloc(sizeof *cd); /* ~6 KiB: not on a worker's stack */
    int rc = devices ? codec_decode(devices, cd, err, errcap) : ERR_INVAL;
    if (rc == 0 && cd->n == 0)
        rc = ERR_INVAL;
    long idx = rc == 0 ? id_index(cd->e[0].uuid, cd->e[0].uuid_len) : -1;
    if (rc == 0 && idx < 0)
        rc = ERR_INVAL;
    if (rc)
        snprintf(err, errcap, "no MLU named in \"%.80s\"", devices ? devices : "");
    else if (k == 0)
        snprintf(buf, cap, "false");
    else
        snprintf(buf, cap, "%ld_%d_%" PRId64, idx, (int)cd->e[0].cores,
                 cd->e[0].mem / MLU_MEM_UNIT);
    if (rc && cap)
        buf[0] = '\0';
    free(cd);
    return rc;
}

const struct policy_device_backend policy_device_cambricon = {
    .name = "cambricon",
    .vendor_word = "MLU",
    .res =
        {
            [POLICY_RES_COUNT] = "cambricon.com/vmlu",
            [POLICY_RES_MEM] = "cambricon.com/mlu.smlu.vmemory",
            [POLICY_RES_CORES] = "cambricon.com/mlu.smlu.vcore",
        },
    .res_prefix = "cambricon.com/",
    .res_flag =
        {
            [POLICY_RES_COUNT] = "cambricon-mlu-name",
            [POLICY_RES_MEM] = "cambricon-mlu-memory",
            [POLICY_RES_CORES] = "cambricon-mlu-cores",
        },
    .config_section = "cambricon",
    .ann_use_uuid = "cambricon.com/use-gpuuuid",
    .ann_nouse_uuid = "cambricon.com/nouse-gpuuuid",
    .ann_to_allocate = "hami.io/cambricon-mlu-devices-to-allocate",
    .ann_allocated = "hami.io/cambricon-mlu-devices-allocated",
    .config_defaults = false,
    .default_cores = MLU_CORES_DEFAULT,
    .capacity_parse = capacity_parse,
    .mem_unit = MLU_MEM_UNIT,
    .ann_lock = "cambricon.com/dsmlu.lock",
    .lock_timeout_s = MLU_LOCK_TIMEOUT,
    .ann_extra = {"CAMBRICON_DSMLU_ASSIGNED", "CAMBRICON_DSMLU_PROFILE", NULL},
    .extra_encode = extra_encode,
};

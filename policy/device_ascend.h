/* device_ascend: Huawei Ascend's rows of the device backends (policy/device.h),
 * one per chip HAMi's default device configuration lists (910A, 910B2,
 * 910B3, 910B4-1, 910B4, 310P, 910C), as HAMi's pkg/device/ascend does it.
 *
 * A chip's NPUs are cut into vNPUs of fixed templates: a request's memory
 * is rounded up to the smallest template that covers it (the whole card
 * past the largest one), and the device plugin creates the template named
 * in the pod's huawei.com/<chip> annotation. The sizes and templates are
 * HAMi's defaults until the device config's `vnpus` section replaces them
 * (server/devconfig.c), once, at start, before any other thread runs: the
 * rows read them without a lock. */
#ifndef VS_DEVICE_ASCEND_H
#define VS_DEVICE_ASCEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/device.h"

#define POLICY_VNPU_TEMPLATES 16  /* templates of one chip */
#define POLICY_VNPU_NAME_MAX  64  /* a template name, NUL included */
#define POLICY_VNPU_CLASS_MAX 254 /* a RuntimeClass name, NUL included */
#define POLICY_VNPU_MODE_ANN  "huawei.com/vnpu-mode"
#define POLICY_VNPU_SOFT      "hami-core"      /* HAMi's soft split: not placed here (ModeNotFit) */
#define POLICY_VNPU_PREDICATE "predicate-time" /* HAMi writes it beside the Ascend allocation */

/* One vNPU template. Open value struct. */
struct policy_vnpu_template {
    char name[POLICY_VNPU_NAME_MAX]; /* "vir05_1c_16g" */
    int64_t mem;                     /* MiB */
    int32_t aicore, aicpu;           /* what the template carves (the device plugin's business) */
};

/* One chip's configuration (HAMi's VNPUConfig). Open value struct. */
struct policy_vnpu {
    const char *common_word; /* HAMi's commonWord: the key of every name; static */
    const char *chip;        /* HAMi's default chipName; static (the config's is not kept) */
    int64_t mem_allocatable; /* MiB a whole-card request takes */
    int64_t mem_capacity;    /* MiB past which a request is refused */
    int32_t mem_factor;      /* a request's memory is multiplied by it (<= 1: none) */
    int32_t aicore, aicpu;   /* of the whole chip */
    bool pairs;              /* 910C: more than one NPU only in whole modules of two */
    bool super_pod;          /* 910C superPod: the webhook asks 2 for 1, refuses odd counts */
    bool network;            /* 910 chips: prefer NPUs of one NetworkID */
    bool overwrite_env;      /* HAMi's overwriteEnv (see docs/devices.md) */
    char runtime_class[POLICY_VNPU_CLASS_MAX]; /* "" = none */
    int ntemplates;
    struct policy_vnpu_template t[POLICY_VNPU_TEMPLATES]; /* memory ascending */
};

/* The Ascend row whose commonWord is word, or NULL. */
const struct policy_device_backend *policy_ascend_find(const char *word);

/* The template covering mem MiB on v: its index, or -1 past the largest. */
int policy_vnpu_template(const struct policy_vnpu *v, int64_t mem);

/* Sort v's templates by memory, ascending (HAMi sorts them at start). */
void policy_vnpu_sort(struct policy_vnpu *v);

/* What the webhook does to a container asking `count` NPUs of row b (HAMi's
 * MutateAdmission for the template mode): *count_out (a 910C superPod ask
 * of 1 becomes 2) and *mem_out, the memory to write in limits and requests
 * (has_mem: the container's own mem, rounded up to its template; else the
 * whole card). cores: the container's AI core ask (0 = none). Returns 0, or
 * ERR_INVAL with why in err (an odd 910C superPod count, AI cores asked,
 * memory over the card, a vNPU template for more than one NPU). */
int policy_vnpu_admit(const struct policy_device_backend *b, int64_t count, bool has_mem,
                      int64_t mem, int64_t cores, int64_t *count_out, int64_t *mem_out, char *err,
                      size_t cap);

#endif

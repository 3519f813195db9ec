/* quota: HAMi's extended ResourceQuota, read from a ResourceQuota object.
 *
 * A ResourceQuota whose spec.hard names "limits.<resource>" for a device
 * backend's memory or cores resource (policy_device_res: POLICY_RES_MEM,
 * POLICY_RES_CORES, as the operator named them; "limits.nvidia.com/gpumem",
 * "limits.hygon.com/dcucores", ...) caps what the pods of its namespace hold on the devices
 * of that backend: the memory they take in MiB (per GPU x GPUs, a
 * percentage resolved on the card it lands on), and the cores in percent
 * of a card, summed. Other keys are Kubernetes' own business and ignored
 * here, as HAMi does (the device count: see docs/quotas-and-priorities.md).
 * Pure: no I/O, no locks. */
#ifndef VS_QUOTA_H
#define VS_QUOTA_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define QUOTA_BACKENDS_MAX 16 /* device backends a quota can name */
#define QUOTA_NAME_MAX     253

/* The limits of one ResourceQuota, per backend (index in
 * policy_device_backends[]); -1 where it sets none. Open value struct. */
struct quota_limits {
    int64_t mem[QUOTA_BACKENDS_MAX];   /* MiB */
    int64_t cores[QUOTA_BACKENDS_MAX]; /* percent of one card, summed */
};

/* Every limit -1. */
void quota_limits_none(struct quota_limits *l);

/* Read a ResourceQuota object: *ns and *name borrow from obj; l gets its
 * device limits. Returns ERR_INVAL (reason in err) when the object has no
 * usable metadata.namespace or metadata.name, or a spec that is not an
 * object; else 0, and *ignored counts the device keys whose value is
 * malformed (not a whole number, negative, not a quantity): each is left
 * out, the others still apply, and err names the first one (empty when
 * none). */
int quota_parse(const cJSON *obj, const char **ns, const char **name, struct quota_limits *l,
                int *ignored, char *err, size_t cap);

/* The index of backend b in policy_device_backends[] (0 for NULL or one not
 * there). */
struct policy_device_backend;
int quota_backend_index(const struct policy_device_backend *b);

#endif

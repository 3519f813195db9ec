/* pod: what the admission webhook does to a Pod being created.
 *
 * A pod "asks for a GPU" when any container or init container names
 * nvidia.com/gpu, nvidia.com/gpumem, nvidia.com/gpumem-percentage or
 * nvidia.com/gpucores in its limits or requests. Other pods are allowed
 * untouched. So is a GPU pod that names another scheduler in
 * spec.schedulerName (default-scheduler counts as "none" unless
 * force_overwrite_default is false), as HAMi does.
 *
 * A GPU pod is denied, with a message a person can act on, when:
 *   - a container is privileged (it would see every GPU of its node);
 *   - spec.nodeName is already set (it would bypass the scheduler);
 *   - nvidia.com/gpumem-percentage is outside 0..100;
 *   - nvidia.com/gpucores is over 100 (or negative);
 *   - it asks, per GPU, more memory than the largest GPU in the cluster
 *     has (max_gpu_mem; not checked when 0 = unknown);
 *   - its GPU request cannot be read at all (e.g. "nvidia.com/gpu: 1.5"):
 *     the message is the one the extender would give at filter.
 * Otherwise it is mutated (the patch records each change):
 *   - spec.schedulerName = scheduler_name;
 *   - HAMi's defaults, per container: nvidia.com/gpu: 1 when only memory
 *     or cores are asked; nvidia.com/gpucores: 100 (an exclusive card) when
 *     nvidia.com/gpu is asked with no cores and no memory, or with 100 %
 *     memory. Each is added to limits, and to requests as the API server's
 *     own defaulting would have done had the user written it;
 *   - nvidia.com/priority in limits becomes the environment variable
 *     CUDA_TASK_PRIORITY for HAMi-core (unless the container sets it).
 * Unknown values of hami.io/node-scheduler-policy,
 * hami.io/gpu-scheduler-policy and hami.io/device-scoring-weights are
 * warnings, not denials.
 *
 * Pure: no I/O, no clock, no globals. */
#ifndef VS_WEBHOOK_POD_H
#define VS_WEBHOOK_POD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "patch.h"

#define WEBHOOK_DEFAULT_SCHEDULER "default-scheduler"
#define WEBHOOK_PRIORITY_ENV      "CUDA_TASK_PRIORITY"
#define WEBHOOK_WARN_MAX          8   /* warnings kept per pod */
#define WEBHOOK_WARN_LEN          256 /* bytes per warning, NUL included (kube-apiserver's cap) */
#define WEBHOOK_MSG_LEN           640

struct webhook_pod_opts {
    const char *scheduler_name;   /* borrowed */
    bool force_overwrite_default; /* take pods that name default-scheduler */
    int64_t max_gpu_mem;          /* MiB of the largest healthy GPU; 0 = unknown */
    /* When set, called instead of reading max_gpu_mem, only for a GPU pod
     * that passed every other rule (so other pods cost nothing). */
    int64_t (*max_gpu_mem_fn)(void *ctx);
    void *ctx;
};

enum webhook_pod_outcome {
    WEBHOOK_POD_NOT_GPU,     /* asks for no GPU: allowed, untouched */
    WEBHOOK_POD_OTHER_SCHED, /* names another scheduler: allowed, untouched */
    WEBHOOK_POD_ADMITTED,    /* allowed; the patch holds the changes (maybe none) */
    WEBHOOK_POD_DENIED,      /* code and message say why */
};

/* The decision. Open value struct. */
struct webhook_pod_verdict {
    enum webhook_pod_outcome outcome;
    int code;                      /* when denied: 403 (a rule) or 400 (unreadable request) */
    char message[WEBHOOK_MSG_LEN]; /* when denied */
    int nwarn;
    char warn[WEBHOOK_WARN_MAX][WEBHOOK_WARN_LEN];
};

/* Decide on pod, the Pod object of the patch p (webhook_patch_create(pod)).
 * Changes go through p, so the pod is mutated too; on a denial the patch
 * must not be sent. Never fails: anything malformed is a denial or, for a
 * pod that asks for no GPU, no concern of ours. */
void webhook_pod_admit(const struct webhook_pod_opts *o, cJSON *pod, struct webhook_patch *p,
                       struct webhook_pod_verdict *v);

#endif

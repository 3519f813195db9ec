/* pod: what the admission webhook does to a Pod being created, and to the
 * ephemeral containers added to one.
 *
 * A pod "asks for a GPU" when any container or init container names
 * nvidia.com/gpu, nvidia.com/gpumem, nvidia.com/gpumem-percentage or
 * nvidia.com/gpucores in its limits or requests. Other pods are allowed,
 * only the visibility rule below applies. So is a GPU pod that names another scheduler in
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
 *     CUDA_TASK_PRIORITY for HAMi-core (unless the container sets it);
 *   - HAMi's webhook options (webhook_pod_opts): the count added above is
 *     default_gpu (HAMi's defaultGPUNum) instead of 1 (none with
 *     WEBHOOK_NO_DEFAULT_GPU: the container then asks no device, as in
 *     HAMi); with core_policy
 *     "force" or "disable" (HAMi's gpuCorePolicy) every container asking a
 *     GPU gets GPU_CORE_UTILIZATION_POLICY=<policy> for HAMi-core, replacing
 *     its own value (HAMi appends, so the operator's wins there too; a
 *     warning says so); with runtime_class (HAMi's runtimeClassName) a pod
 *     without spec.runtimeClassName gets it.
 * A container asking Huawei Ascend NPUs (huawei.com/Ascend910B3 ...: a
 * template row, policy/device_ascend.h) gets HAMi's Ascend admission
 * instead: its memory set in limits and requests to the template covering
 * it (the whole card's without one), a 910C superPod count of 1 made 2; it
 * is denied for an odd 910C superPod count, AI cores asked, memory over the
 * card, a template for more than one NPU, or the pod's huawei.com/vnpu-mode
 * "hami-core" (no node here takes the soft split). The chip's
 * runtimeClassName (device config) is set instead of runtime_class.
 * Unknown values of hami.io/node-scheduler-policy,
 * hami.io/gpu-scheduler-policy and hami.io/device-scoring-weights are
 * warnings, not denials.
 *
 * GPU visibility (overwrite_env, HAMi's overwriteEnv; every pod, whatever
 * its scheduler, unless denied): the NVIDIA container runtime shows a
 * container the GPUs NVIDIA_VISIBLE_DEVICES names, "all" included, and the
 * CUDA images set "all" themselves. So:
 *   - a container that asks for no nvidia.com/ resource (nvidia.com/priority
 *     alone does not count) gets NVIDIA_VISIBLE_DEVICES=none: appended to its
 *     env, or replacing every entry of that name whose value is not already
 *     "none", "void" or "" (valueFrom included). An explicit entry also wins
 *     over envFrom and the image's ENV;
 *   - a container that asks for one loses every NVIDIA_VISIBLE_DEVICES entry
 *     of its own: the device plugin sets the variable to the GPUs it
 *     allocated, and a later entry of the pod's would win over it.
 * Each change to a value the user wrote comes back as a warning. (A
 * ConfigMap or Secret behind envFrom cannot be read here: the container's
 * own value wins over it for the first kind; for the second it is the
 * node's runtime setting accept-nvidia-visible-devices-envvar-when-
 * unprivileged = false that closes it.)
 *
 * Pure: no I/O, no clock, no globals. */
#ifndef VS_WEBHOOK_POD_H
#define VS_WEBHOOK_POD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "webhook/patch.h"

#define WEBHOOK_DEFAULT_SCHEDULER "default-scheduler"
#define WEBHOOK_VISIBLE_NONE      "none"
#define WEBHOOK_CORE_POLICY_ENV                                                                    \
    "GPU_CORE_UTILIZATION_POLICY" /* HAMi-core's; HAMi's CoreLimitSwitch */
#define WEBHOOK_WARN_MAX 8        /* warnings kept per pod */
#define WEBHOOK_WARN_LEN 256      /* bytes per warning, NUL included (kube-apiserver's cap) */
#define WEBHOOK_MSG_LEN  640

struct webhook_pod_opts {
    const char *scheduler_name;   /* borrowed */
    bool force_overwrite_default; /* take pods that name default-scheduler */
    int64_t max_gpu_mem;          /* MiB of the largest healthy GPU; 0 = unknown */
    /* When set, called instead of reading max_gpu_mem, only for a GPU pod
     * that passed every other rule (so other pods cost nothing). */
    int64_t (*max_gpu_mem_fn)(void *ctx);
    void *ctx;
    bool overwrite_env; /* the GPU visibility rule above */
    /* HAMi's webhook options (its device config's nvidia section), below. */
    const char *runtime_class; /* runtimeClassName; NULL or "": none (borrowed) */
    const char *core_policy;   /* gpuCorePolicy; NULL, "" or "default": none (borrowed) */
    /* defaultGPUNum: the count added; 0 reads as 1; WEBHOOK_NO_DEFAULT_GPU:
     * HAMi's defaultGPUNum 0 (below). */
    int default_gpu;
};

/* HAMi's defaultGPUNum 0: no count is added, so a container asking memory
 * or cores without a count asks no device (HAMi: not routed, and shown no
 * GPU by the visibility rule). */
#define WEBHOOK_NO_DEFAULT_GPU (-1)

enum webhook_pod_outcome {
    WEBHOOK_POD_NOT_GPU,     /* asks for no GPU: allowed; only the visibility rule applies */
    WEBHOOK_POD_OTHER_SCHED, /* names another scheduler: as NOT_GPU */
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

/* Decide on the ephemeral containers added by an update of the pod's
 * ephemeralcontainers subresource: those of pod (the whole Pod after the
 * update; p = webhook_patch_create(pod)) whose names old (the Pod before;
 * NULL: none) does not have. Existing ones cannot change and are not looked
 * at. An ephemeral container asks for no resources, so it has no GPU of its
 * own. On a pod that asks for GPUs or names scheduler_name, a new one is
 * denied (403) when it is privileged (it would see every GPU of the node) or
 * sets NVIDIA_VISIBLE_DEVICES to anything but "none", "void" or "" (or
 * through valueFrom); with overwrite_env the latter holds on every pod, and
 * one that does not set it gets NVIDIA_VISIBLE_DEVICES=none through p.
 * Outcome ADMITTED or DENIED. */
void webhook_pod_ephemeral(const struct webhook_pod_opts *o, cJSON *pod, const cJSON *old,
                           struct webhook_patch *p, struct webhook_pod_verdict *v);

#endif

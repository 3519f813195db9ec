/* model: Kubernetes API objects (cJSON trees) -> policy values.
 *
 * One header, three files: k8s/node.c (Node JSON -> inventory: the device
 * backend's register and pair score annotations, cordons, allocatable),
 * k8s/pod.c (Pod JSON -> the device request with HAMi's defaults, and the
 * facts the cache needs about a placed pod), k8s/json.c (safe JSON reads,
 * and model_get/model_str). Vendor names (resources, device annotations)
 * are the device backend's (policy/device.h); the hami.io/ keys below are
 * every vendor's. Every error names the field and the bad value in `err`. */
#ifndef VS_MODEL_H
#define VS_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/device.h"
#include "policy/policy.h"

/* The first row's handshake key (each node's is inv->backend->ann_handshake). */
#define MODEL_ANN_HANDSHAKE  (policy_device_backend_default()->ann_handshake)
#define MODEL_ANN_CORDON     "hami.io/device-cordon"
#define MODEL_ANN_LOCK       "hami.io/mutex.lock"
#define MODEL_ANN_VGPU_NODE  "hami.io/vgpu-node"
#define MODEL_ANN_VGPU_TIME  "hami.io/vgpu-time"
#define MODEL_ANN_ALLOCATED  "hami.io/vgpu-devices-allocated"
#define MODEL_ANN_TO_ALLOC   "hami.io/vgpu-devices-to-allocate"
#define MODEL_ANN_BIND_PHASE "hami.io/bind-phase"
#define MODEL_ANN_BIND_TIME  "hami.io/bind-time"
#define MODEL_ANN_NODE_POL   "hami.io/node-scheduler-policy"
#define MODEL_ANN_GPU_POL    "hami.io/gpu-scheduler-policy"
#define MODEL_ANN_WEIGHTS    "hami.io/device-scoring-weights"

/* Limits on what the network sends. Going over one is ERR_TOOBIG. */
#define MODEL_NODE_ANN_MAX POLICY_DEVICE_ANN_MAX /* a node annotation value */
#define MODEL_POD_ANN_MAX  (64 * 1024)           /* a pod annotation value this module reads */
#define MODEL_NAME_MAX     253                   /* object, container and node names */

/* HAMi's device config defaults (defaultMemory, defaultCores, memoryFactor). */
struct model_defaults {
    int32_t default_mem;   /* MiB; 0 = whole card by percentage */
    int32_t default_cores; /* % */
    int32_t mem_factor;    /* >= 1 */
};

/* One device backend whose register annotation a node carries. Open
 * struct; owned by its inventory. */
#define MODEL_ROWS_MAX    8   /* device backends one node may carry */
#define MODEL_ROW_BAD_MAX 512 /* a row's reason, as kept */
struct model_row {
    const struct policy_device_backend *backend; /* static */
    int32_t first, ndev;           /* its devices: the inventory's dev[first .. first+ndev) */
    int32_t dropped;               /* devices model_inventory_drop_row took out (unhealthy) */
    int64_t alloc;                 /* status.allocatable[its count resource], 0 if absent */
    char *handshake;               /* its handshake annotation or NULL */
    char *strings;                 /* owns its devices' strings */
    struct policy_device *decoded; /* owns what register_parse gave (the devices' MIG
                                      profiles live after them) */
    char *bad;                     /* its register annotation could not be read: why (no devices) */
};

/* A node's inventory. Open struct; owns everything it points to; free with
 * model_inventory_free(). dev[i].uuid/type/mode point into `strings`; equal
 * type (and mode) strings of one node share one pointer. */
struct model_inventory {
    char *name;
    char *resource_version;
    int32_t ndev;
    struct policy_device *dev;
    char *strings;      /* owns the strings of devices not read from a row (hand-built) */
    uint16_t *pair;     /* ndev*ndev, row = the entry's "uuid", as given (not
                           symmetrised); unknown UUIDs ignored; 0..65535;
                           NULL when no score annotation */
    int64_t cpu_milli;  /* status.allocatable.cpu */
    int64_t mem_mib;    /* status.allocatable.memory */
    int64_t alloc_gpus; /* status.allocatable[the backend's device count], 0 if absent */
    char *handshake;    /* the backend's handshake annotation or NULL */
    char *lock;         /* hami.io/mutex.lock or NULL */
    bool has_register;  /* the node carries a register annotation at all */
    const struct policy_device_backend *backend; /* whose register it carries (else the first
                                                    row); static */
    /* A device registers more memory than its backend's physical memory
     * label says the card has (HAMi's deviceMemoryScaling > 1). */
    bool oversubscribed;
    /* Every backend whose register annotation the node carries, in table
     * order; dev[] is the union of their devices, each keeping .backend
     * (the first row's decoded devices themselves while it is the only
     * one with any). row: nrow entries, NULL without any. */
    int32_t nrow;
    struct model_row *row;
    char *labels; /* metadata.labels flattened ("k=v\n" each, pdb_labels_flatten) or NULL;
                     for the web view's label filter */
};

/* Parse a Node object. On success *out is new (caller frees with
 * model_inventory_free). A node without a register annotation parses to
 * zero devices (has_register false). A node carrying several backends'
 * register annotations has the union of their devices; one that does not
 * parse leaves its row's devices out (row[].bad says why); when none
 * parses, the node is an error. */
int model_node_parse(const cJSON *node, struct model_inventory **out, char *err, size_t cap);
/* Take row r's devices out of inv (its handshake is stale: HAMi removes
 * that vendor's devices from the node); pair scores follow. */
void model_inventory_drop_row(struct model_inventory *inv, int r);
void model_inventory_free(struct model_inventory *inv);

/* Parse a Pod into its request (hami-protocol.md 2). Strings in *out borrow
 * from `pod`. d NULL = HAMi's defaults {0, 0, 1}. Per container, each
 * resource is read from limits, then requests; a container without
 * its backend's device count asks for nothing (HAMi's GenerateResourceRequests).
 * A container asks devices of the first backend whose count it names; the
 * pod's steering annotations are its first such container's backend's.
 * Messages name the container or annotation, not the pod. Policy
 * annotations with unknown names are errors naming the annotation and value.
 * Errors: ERR_INVAL (wrong shape, fractional count, no containers),
 * ERR_RANGE (absurd numbers), ERR_TOOBIG (too many containers, values past
 * their limit). */
int model_pod_parse(const cJSON *pod, const struct model_defaults *d, struct policy_pod *out,
                    char *err, size_t cap);
/* The defaults model_pod_parse applies to a container asking row b's
 * devices: d for rows that take the device config's (config_defaults),
 * HAMi's own otherwise, with the row's default cores; mem_factor is what a
 * memory request is multiplied by (memoryFactor, or the row's mem_unit),
 * at least 1. */
struct model_defaults model_row_defaults(const struct policy_device_backend *b,
                                         const struct model_defaults *d);

/* What bind needs of a pod, for the pending store (k8s/cache.h): a new
 * JSON pod (caller frees with cJSON_free) holding only what
 * model_pod_parse reads (metadata namespace, name and uid; the policy and
 * every backend's steering annotations; per container its name,
 * restartPolicy, and cpu, memory and every device backend's resources of
 * limits and requests; spec.priority), so that model_pod_parse gives the
 * same request from it as from pod, errors included. At most
 * POLICY_MAX_CONTAINERS + 1 containers per list are kept. Returns 0;
 * ERR_INVAL when pod is not an object; ERR_TOOBIG when a value kept is
 * longer than MODEL_POD_ANN_MAX (err says so). */
int model_pod_compact(const cJSON *pod, char **out, char *err, size_t cap);

/* The first resource of container c (limits, then requests) that looks
 * like a device backend's but no backend reads (policy_device_res_unknown:
 * "nvidia.com/gpumemory"), else NULL. Borrowed from c. *row gets the row
 * it looks like. */
const char *model_ctr_unknown_resource(const cJSON *c, const struct policy_device_backend **row);

/* The first container of pod naming such a resource: ERR_INVAL with
 * "container \"C\": resource \"R\" is not read by any device backend ..."
 * in err; 0 when none does. The filter refuses such a pod (issue 17: a
 * misspelt resource is never silently ignored); the webhook warns. */
int model_pod_unknown_resource(const cJSON *pod, char *err, size_t cap);

/* One container's GPU request, as the cache keeps it for a pod that asks
 * any (HAMi's defaults applied, model_pod_parse's rules). Open value struct. */
struct model_gpu_ask {
    uint8_t ctr;     /* container index: init containers first */
    uint8_t nums;    /* GPUs, 1..POLICY_MAX_GPUS */
    uint8_t mem_pct; /* 0..100: percentage of each GPU's memory when mem is 0 */
    uint8_t cores;   /* 0..100 */
    int32_t mem;     /* MiB per GPU; 0: use mem_pct */
};

/* What the cache needs to know about a pod. Strings borrow from the JSON;
 * absent ones are NULL. model_pod_info fails only on a wrong shape (messages
 * start with `pod "ns/name"`); a cpu or memory quantity that does not parse
 * counts 0 rather than dropping a pod that may hold GPUs. The annotations a
 * pod owner can write never fail it: a vgpu-node, bind-phase or bind-time
 * too long to be real reads as absent, a devices annotation too long to
 * read sets devices_bad. */
struct model_pod_info {
    const char *uid, *ns, *name;
    const char *resource_version;
    const char *node_name; /* spec.nodeName */
    const char *vgpu_node; /* hami.io/vgpu-node */
    const char *devices;   /* hami.io/vgpu-devices-allocated */
    const char *mig;       /* hami.io/vgpu-mig-allocations (MIG instances); too long: absent */
    const char *bind_phase;
    const char *scheduler_name;
    bool terminal;    /* phase Succeeded or Failed, or metadata.deletionTimestamp set */
    bool devices_bad; /* a devices annotation is there but over MODEL_POD_ANN_MAX */
    /* Every row's allocation annotation the pod carries (policy/device.h
     * ann_allocated, table order): more than one when its containers ask
     * devices of two vendors; model_devices_merge makes them one. */
    int32_t ndevices_rows;
    const char *devices_rows[POLICY_DEVICE_ROWS_MAX];
    double bind_time; /* hami.io/bind-time, unix seconds; 0 when absent or not a number */
    int32_t ninit;
    int32_t nctr;      /* init + app containers */
    uint64_t sidecars; /* bit i: init container i has restartPolicy Always (a sidecar) */
    uint64_t high;     /* bit i: container i asks GPUs at runtime priority 0 (high) */
    bool init_done;    /* every init container but the sidecars (at least one) exited 0, per
                          status.initContainerStatuses: only sidecars and app containers count */
    int64_t cpu_milli; /* host resources requested (sidecars add to the app containers) */
    int64_t mem_mib;
    /* The GPU request: one entry per container that asks GPUs (none: the
     * pod asks no GPU). A container whose GPU request does not parse asks
     * its GPU count (at least 1, at most POLICY_MAX_GPUS) of whole GPUs. */
    int32_t nask;
    struct model_gpu_ask ask[POLICY_MAX_CONTAINERS];
    /* Preemption (place/preempt.h). Never fail the pod: a priority that is
     * not a whole number in int32 reads as 0, labels that are not an
     * object as none, a nominated node that is not a short string as
     * none. */
    int32_t priority;      /* spec.priority (the admission controller copies the class's) */
    const cJSON *labels;   /* metadata.labels (an object) or NULL */
    const char *nominated; /* status.nominatedNodeName or NULL */
};
int model_pod_info(const cJSON *pod, struct model_pod_info *out, char *err, size_t cap);
/* One allocation string of n rows' (policy codec form): container i's
 * segment is the concatenation of every part's segment i. A new string;
 * caller frees. */
char *model_devices_merge(const char *const *parts, int n);

/* Case-insensitive lookup of a key in a JSON object (extender keys arrive in
 * any case). Borrowed result or NULL. */
const cJSON *model_get(const cJSON *obj, const char *key);
/* obj.a.b...: string at a dotted path of exact keys, or NULL. Borrowed. */
const char *model_str(const cJSON *obj, const char *k1, const char *k2, const char *k3);

#endif

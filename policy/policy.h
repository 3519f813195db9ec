/* policy: pure placement math over plain values.
 *
 * No I/O, no clock, no globals, no allocation. A caller describes nodes
 * (inventory + usage) and a pod's request with the open value structs below,
 * and gets back a decision: which node, which devices per container, or per
 * node the reasons it could not.
 *
 * Strings in these structs are borrowed: they must outlive the call. */
#ifndef VS_POLICY_H
#define VS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_MAX_DEVICES    64  /* GPUs on one node */
#define POLICY_MAX_CONTAINERS 64  /* init + app containers in one pod */
#define POLICY_MAX_PICKS      256 /* device assignments in one pod */
#define POLICY_MAX_GPUS       16  /* GPUs one container may ask */
/* One GPU in milli-GPU, the unit of GPU capacity and of a task's share of
 * a card (250: a quarter); POLICY_MILLI / 100.0 per percent. */
#define POLICY_MILLI 1000

struct policy_device_backend;

/* NVIDIA MIG (policy/device_nvidia_mig.h): a card in "mig" mode is cut into
 * instances of the profiles its device plugin reports, each at one of the
 * profile's placements (slices start..start+size-1 of the card's 8). */
#define POLICY_MIG_SLICES   8  /* memory slices of a MIG card (A100, H100, ...) */
#define POLICY_MIG_PROFILES 16 /* profiles one card reports */

struct policy_mig_placement {
    uint8_t start, size;
};

/* One MIG profile of a card. Open value struct; name borrowed. */
struct policy_mig_profile {
    const char *name; /* "1g.5gb" */
    int32_t mem;      /* MiB of an instance (memoryMB) */
    int32_t core;     /* % of the card's compute (core) */
    int32_t slices;   /* sliceCount */
    int32_t nplace;   /* placements[0..nplace) */
    struct policy_mig_placement place[POLICY_MIG_SLICES];
};

/* One GPU as the device plugin registered it. Open value struct. */
struct policy_device {
    const char *uuid;
    const char *type; /* model, as the device plugin names it */
    const char *mode; /* "hami-core", "mig", "mps" */
    int32_t index;
    int32_t numa;
    int32_t count;   /* slots: how many pods may share it */
    int32_t devcore; /* 100 = the whole card */
    int64_t devmem;  /* MiB */
    bool health;
    bool cordoned;
    int32_t netid; /* Ascend 910: 1 + its custominfo NetworkID; 0 = none */
    const struct policy_device_backend *backend; /* its vendor (device.h); NULL = the first */
    int32_t nmig;                                /* mode "mig": profiles in mig[] */
    const struct policy_mig_profile *mig;        /* borrowed, like the strings */
};

/* What is in use on one GPU. Open value struct. */
struct policy_usage {
    int32_t used;  /* slots */
    int32_t cores; /* percent */
    int64_t mem;   /* MiB */
    /* MIG cards: per slice, how many instances of known placement hold it
     * (7 bits each, slice i at bits 7i..7i+6), and in bits 56..63 how many
     * such instances there are (policy/device_nvidia_mig.h); used minus
     * that many instances have no known placement. One word, so usages add
     * and subtract as wholes and the struct stays 24 bytes. */
    uint64_t mig;
};

/* A node as the engine sees it. Open value struct; every pointer borrowed. */
struct policy_node {
    const char *name;
    int32_t ndev;
    const struct policy_device *dev; /* ndev entries */
    const struct policy_usage *use;  /* ndev entries: usage before this pod */
    const uint16_t *pair;            /* ndev*ndev topology scores, row-major, or NULL */
    int64_t cpu_milli;               /* allocatable; 0 = unknown */
    int64_t mem_mib;
    int64_t cpu_used_milli; /* requested by the pods already on it */
    int64_t mem_used_mib;
    uint64_t gen; /* changes whenever anything above does; 0 = unknown */
    int32_t id;   /* small, dense, unique among live nodes (for callers' tables); -1 none */
    /* ndev entries: containers of runtime priority 0 (high; the backend's
     * POLICY_RES_PRIORITY) on each device before this pod, or NULL: none.
     * Part of what gen versions. */
    const uint16_t *high;
    bool oversubscribed; /* its device plugin registers more memory than the cards have */
    /* The backend of every device when they all share one
     * (policy_node_vendor, device.h), so the fit skips the vendor check per
     * device; NULL: unknown or mixed, looked at per device. */
    const struct policy_device_backend *vendor;
};

/* One container's GPU request, HAMi's defaults already applied. */
struct policy_ctr {
    const char *name; /* borrowed, for messages */
    int32_t nums;     /* GPUs; 0 = asks none */
    int32_t mem;      /* MiB per GPU; 0 = use mem_pct */
    int32_t mem_pct;  /* 1..100 % of each GPU's memory; 0 = use mem */
    int32_t cores;    /* 0..100 % of each GPU's compute */
    int32_t priority; /* POLICY_RES_PRIORITY, -1 = unset (passed through only) */
    const struct policy_device_backend *backend; /* whose resources it asks; NULL = the first */
    bool sidecar; /* an init container with restartPolicy Always: runs beside the app
                     containers for the pod's whole life, so it adds to them */
};

/* GPU policy: sort keys in the order given, plus two selectors. */
enum policy_gpu_key { POLICY_KEY_BINPACK, POLICY_KEY_SPREAD, POLICY_KEY_NUMA };

struct policy_gpu_policy {
    uint8_t nkeys;
    uint8_t keys[3]; /* enum policy_gpu_key, no repeats */
    bool mutex;      /* only devices nobody uses */
    bool topology;   /* topology-aware choice among the fitting devices */
};

struct policy_weights {
    int32_t slot, core, mem;
};

struct policy_node_policy;
struct policy_opts;

/* A pod's whole request. Containers: init containers first, then app
 * containers, in spec order (the order of the device annotation); a
 * sidecar keeps its place among the init containers (ctr[i].sidecar). */
struct policy_pod {
    const char *ns, *name, *uid;
    int32_t nctr;
    int32_t ninit;
    struct policy_ctr ctr[POLICY_MAX_CONTAINERS];
    const char *use_type, *nouse_type; /* comma lists, NULL = no constraint */
    const char *use_uuid, *nouse_uuid;
    const char *vgpu_mode; /* a device's mode must be a substring; NULL = any */
    bool numa_bind;
    const struct policy_node_policy *node_policy; /* NULL = the options' default */
    bool gpu_set;                                 /* false = the options' default */
    struct policy_gpu_policy gpu;
    struct policy_weights w;
    int64_t cpu_milli; /* host resources asked (max of init, sum of app) */
    int64_t mem_mib;
    int64_t quota_mem;   /* namespace GPU memory quota left, MiB; < 0 = none */
    int64_t quota_cores; /* likewise for cores */
    /* spec.priority (from its PriorityClass; 0 when none), passed through
     * to callers (place/ keeps high ones off oversubscribed nodes). */
    int32_t spec_priority;
};

/* Why a node did not fit, in HAMi's words. */
enum policy_reason {
    POLICY_R_CARD_NOT_HEALTH,
    POLICY_R_CARD_CORDONED,
    POLICY_R_CARD_TYPE_MISMATCH,
    POLICY_R_NUMA_NOT_FIT,
    POLICY_R_CARD_UUID_MISMATCH,
    POLICY_R_CARD_TIME_SLICING_EXHAUSTED,
    POLICY_R_EXCLUSIVE_CONFLICT,
    POLICY_R_QUOTA_NOT_FIT,
    POLICY_R_CARD_INSUFFICIENT_MEMORY,
    POLICY_R_CARD_INSUFFICIENT_CORE,
    POLICY_R_CARD_COMPUTE_UNITS_EXHAUSTED,
    POLICY_R_CARD_MIG_TOPOLOGY_INFEASIBLE,
    POLICY_R_MODE_NOT_FIT, /* the pod's vgpu mode is one the node's devices do not offer */
    POLICY_R_ALLOCATED_CARDS_INSUFFICIENT,
    POLICY_R_NODE_INSUFFICIENT_DEVICE,
    POLICY_R_NODE_INSUFFICIENT_CPU,
    POLICY_R_NODE_INSUFFICIENT_MEMORY,
    POLICY_R_COUNT
};

struct policy_reasons {
    uint16_t cnt[POLICY_R_COUNT];
    uint16_t ndev; /* the denominator: the node's device count */
};

/* One device given to one container. */
struct policy_pick {
    uint8_t ctr;       /* index into pod->ctr */
    uint8_t dev;       /* index into node->dev */
    uint8_t mig;       /* MIG: 1 + the profile's index in dev->mig; 0 = none */
    uint8_t mig_start; /* MIG: the instance's first slice */
    int32_t cores;
    int64_t mem; /* MiB, percentages resolved */
};

/* The outcome of fitting a pod on a node. */
struct policy_placement {
    int32_t npick;
    struct policy_pick pick[POLICY_MAX_PICKS];     /* grouped by container, in order */
    struct policy_usage after[POLICY_MAX_DEVICES]; /* node usage with this pod */
    double score;                                  /* the node policy's score */
};

/* The outcome per candidate node of policy_choose(). */
struct policy_verdict {
    bool fits;
    double score;              /* when fits */
    struct policy_reasons why; /* when not */
};

/* A node policy: a row of the table in policy.c, one file each. */
struct policy_node_policy {
    const char *name;
    bool prefer_low; /* the lowest score wins (spread) */
    bool cpu_pods;   /* also places pods that ask no GPU (they matter to it) */
    bool learns;     /* scores by the learned workload (opts->state); the others never
                        read it, so their verdicts outlive its changes */
    /* The node's score with this pod placed; usage before is node->use,
     * after is pl->after. */
    double (*score)(const struct policy_node *node, const struct policy_placement *pl,
                    const struct policy_pod *pod, const struct policy_opts *opts);
    /* Priorities on the card: a container of runtime priority 0 (high)
     * prefers a device holding no other high-priority container, one of
     * priority 1 (low) a device that holds one (low-priority work fills
     * around the high-priority tasks, leaving cards without one for the
     * next); a node where a high-priority container would share a device
     * with another, when some node would not make it, comes last. */
    bool priority_cards;
    /* Map a score to kube-scheduler's 0..10, higher = more preferred. */
    int (*priority)(double score);
    /* Optional: choose k of the nfit devices that fit container ci (given in
     * the GPU policy's order, best first) on usage u; write their indexes to
     * out. NULL: the first k. Not used when the pod asks numa-bind or
     * topology-aware: the pod's own ask wins. */
    void (*pick)(const struct policy_node *node, const struct policy_usage *u,
                 const struct policy_pod *pod, int ci, const uint8_t *fit, int nfit, int k,
                 uint8_t *out, const struct policy_opts *opts);
};

struct policy_opts {
    const struct policy_node_policy *node_policy; /* default for pods naming none */
    struct policy_gpu_policy gpu;                 /* default for pods naming none */
    uint64_t seed;                                /* tie-break among equal nodes */
    bool check_host;      /* also require cpu/memory to fit (replay; kube-scheduler does it live) */
    const void *state;    /* read-only data of node policies that learn (a workload) */
    uint64_t state_epoch; /* changes whenever *state does */
    void *scratch;        /* mutable space of the calling thread (a workload memo), or NULL */
};

/* The node policy named `name` (exact), or NULL. */
const struct policy_node_policy *policy_node_policy_find(const char *name);
/* The node policy that judges pod: its own (annotation) or opts'. */
const struct policy_node_policy *policy_node_policy_of(const struct policy_pod *pod,
                                                       const struct policy_opts *opts);
/* Names of every node policy, NULL-terminated; static. */
const char *const *policy_node_policy_names(void);

/* Parse a GPU policy ("spread", "binpack,numa", "mutex,topology-aware").
 * Returns 0 or ERR_INVAL naming the bad element in err. */
int policy_gpu_policy_parse(const char *s, struct policy_gpu_policy *out, char *err, size_t cap);
/* Parse "slot=1,core=1,memory=3": all three keys, each an integer from 0
 * to POLICY_WEIGHT_MAX, one > 0. Returns 0 or ERR_INVAL with the reason in
 * err. */
#define POLICY_WEIGHT_MAX 1000000
int policy_weights_parse(const char *s, struct policy_weights *out, char *err, size_t cap);

/* HAMi's device score with this container's request included (NULL = none):
 * 10*(ws*(req+used)/count + wc*(cores+used)/devcore + wm*(mem+used)/devmem);
 * 0 for a device with a zero capacity. */
double policy_device_score(const struct policy_device *d, const struct policy_usage *u,
                           const struct policy_ctr *req, const struct policy_weights *w);
/* HAMi's node score on usage u (not node->use): 10*(sum used/sum count +
 * sum cores/sum devcore + sum mem/sum devmem); 0 if any total is 0. */
double policy_node_usage_score(const struct policy_node *node, const struct policy_usage *u);
/* HAMi's node score on the usage before this pod, as a node policy's
 * score (binpack and spread share it; they differ in direction). */
double policy_score_before(const struct policy_node *node, const struct policy_placement *pl,
                           const struct policy_pod *pod, const struct policy_opts *opts);
/* Memory in MiB a container takes on device d. */
int64_t policy_ctr_mem(const struct policy_ctr *c, const struct policy_device *d);
/* True when some container asks for a GPU. */
bool policy_pod_wants_gpu(const struct policy_pod *pod);
/* use-gputype's rule, case-insensitive: does `type` contain a non-empty
 * element of the comma list `list`? */
bool policy_type_listed(const char *list, const char *type);

/* Fit pod on node. Returns true and fills *out, or false and fills *why
 * (*out then holds nothing of use). */
bool policy_fit(const struct policy_pod *pod, const struct policy_node *node,
                const struct policy_opts *opts, struct policy_placement *out,
                struct policy_reasons *why);
/* True when the pod would not fit even on the node emptied of every pod:
 * evicting pods could never help (wrong model, too few GPUs, unhealthy). */
bool policy_unresolvable(const struct policy_pod *pod, const struct policy_node *node,
                         const struct policy_opts *opts);

/* Evaluate nodes[0..n): verdicts[i] for each; the best placement in *best.
 * Returns the index of the chosen node, or -1 when none fits. */
int policy_choose(const struct policy_pod *pod, const struct policy_node *const *nodes, int n,
                  const struct policy_opts *opts, struct policy_verdict *verdicts,
                  struct policy_placement *best);
/* Among verdicts already made for nodes[0..n), the node to choose (the
 * node policy's preference, then the seeded tie-break), or -1. */
int policy_pick_best(const struct policy_pod *pod, const struct policy_node *const *nodes, int n,
                     const struct policy_opts *opts, const struct policy_verdict *verdicts);
/* A hash of everything in pod and opts a verdict depends on: equal
 * signatures on a node of equal gen give equal verdicts. */
uint64_t policy_pod_signature(const struct policy_pod *pod, const struct policy_opts *opts);

/* kube-scheduler's 0..10 for a verdict's score under the pod's node policy. */
int policy_priority(const struct policy_pod *pod, const struct policy_opts *opts, double score);

/* The reason word ("CardInsufficientMemory"); static. */
const char *policy_reason_word(enum policy_reason r);
/* Write "k/n Reason, ..." sorted as HAMi does into buf (always
 * NUL-terminated, truncated to cap). Returns the length it needed. */
size_t policy_reasons_format(const struct policy_reasons *r, char *buf, size_t cap);

#endif

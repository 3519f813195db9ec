/* device: the device backends, one row per vendor, one file per row (like
 * the node policies). A row holds everything of one vendor's part of HAMi's
 * protocol: the resource names a container asks with, the node annotations
 * its device plugin writes (inventory, handshake, pair scores), the pod
 * annotations that steer placement, the environment the webhook manages,
 * the vendor word of the allocation annotation, and the decoders of its
 * node annotations. Code above policy/ asks a row; it never names one.
 *
 * A node carries the devices of every row whose register annotation it has
 * (k8s/model.h; a node with none: those of the first row with
 * capacity_parse whose core resource is in the node's capacity); a
 * container belongs to the first row whose count resource it names;
 * anything that names none (a CPU pod, a hand-built device) to the first
 * row. A container is only ever fitted on devices of its own row. Pure: no
 * I/O, no clock. */
#ifndef VS_DEVICE_H
#define VS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* A container's device resources, read from limits, then requests. */
enum policy_res {
    POLICY_RES_COUNT,    /* devices; a container without it asks none */
    POLICY_RES_MEM,      /* MiB per device */
    POLICY_RES_MEM_PCT,  /* % of each device's memory */
    POLICY_RES_CORES,    /* % of each device's compute */
    POLICY_RES_PRIORITY, /* 0 high, 1 low; passed to the runtime only */
    POLICY_RES_N
};

/* At most this many rows (the runtime name table below is sized by it). */
#define POLICY_DEVICE_ROWS_MAX 16
/* A resource name: a DNS subdomain prefix, '/', a name of at most 63. */
#define POLICY_RES_NAME_MAX 320

/* Limits on what a node's device plugin sends. Going over one is ERR_TOOBIG. */
#define POLICY_DEVICE_ANN_MAX   (256 * 1024) /* a node annotation value (Kubernetes' total cap) */
#define POLICY_DEVICE_EXTRA_MAX 2            /* extra pod annotations of one row */

/* One vendor. Every string is static; NULL where the vendor has none. */
struct policy_device_backend {
    const char *name;        /* lower case, for logs: "nvidia" */
    const char *vendor_word; /* the type field of each allocation entry */
    const char *res[POLICY_RES_N];
    const char *res_prefix; /* every resource of the vendor starts with it */
    /* HAMi's ways to rename res[] (issue 19): its scheduler flag per role
     * (without "--"; NULL where HAMi has none) and the section of its device
     * config whose resource*Name keys do it (NULL: none). */
    const char *res_flag[POLICY_RES_N];
    const char *config_section;
    /* Prefixes of resources the vendor's other device plugins serve under
     * res_prefix ("nvidia.com/mig-": NVIDIA's own plugin's MIG devices):
     * not this row's, but not misspelt either. NULL-terminated; NULL = none. */
    const char *const *res_foreign;
    /* Container environment the webhook manages. */
    const char *env_visible;  /* which devices the runtime shows */
    const char *env_priority; /* the runtime's priority variable */
    /* Node annotations. */
    const char *ann_register;  /* the inventory, read by register_parse */
    const char *ann_handshake; /* the liveness handshake (k8s/handshake.h) */
    const char *ann_score;     /* pair scores, read by score_parse */
    /* Pod annotations that steer placement (hami-protocol.md 2.2). */
    const char *ann_use_type, *ann_nouse_type;
    const char *ann_use_uuid, *ann_nouse_uuid;
    const char *ann_numa_bind, *ann_vgpu_mode;
    /* Pod annotations recording the allocation (hami-protocol.md 3): the
     * device plugin reads to_allocate, the scheduler's usage allocated. */
    const char *ann_to_allocate, *ann_allocated;
    /* Request defaults: true when the device config's (nvidia section:
     * defaultMem, defaultCores, memoryFactor) apply; false when the row's
     * own do (default_cores; memory 100 % of the device). */
    bool config_defaults;
    int32_t default_cores;
    /* Parse a register annotation value into devices. Returns 0 or
     * ERR_INVAL/ERR_TOOBIG/ERR_RANGE naming the device and field in err; on
     * success *dev is a new array of *ndev entries (each with .backend set)
     * whose strings live in *strings (caller frees both with free(); both
     * NULL when there are no devices). Equal type (and mode) strings share
     * one pointer. */
    int (*register_parse)(const char *value, struct policy_device **dev, int32_t *ndev,
                          char **strings, char *err, size_t cap);
    /* Parse a pair score annotation value against dev[0..ndev): *pair is a
     * new ndev*ndev matrix (caller frees; NULL when ndev is 0), row = the
     * entry's device. Unknown devices are ignored. Returns 0 or ERR_INVAL
     * (then *pair is NULL). */
    int (*score_parse)(const char *value, const struct policy_device *dev, int32_t ndev,
                       uint16_t **pair, char *err, size_t cap);
    /* Rows whose device plugin writes no register annotation (Cambricon:
     * ann_register and register_parse NULL) read the inventory from the
     * node's status.capacity instead. capacity_parse gets the node's name
     * and the whole-number capacities of res[POLICY_RES_CORES] (> 0: a node
     * without it has no devices of the row) and res[POLICY_RES_MEM] (0 when
     * absent); its contract is register_parse's. NULL for the other rows. */
    int (*capacity_parse)(const char *node, int64_t cores, int64_t mem, struct policy_device **dev,
                          int32_t *ndev, char **strings, char *err, size_t cap);
    /* MiB per unit of res[POLICY_RES_MEM] for rows without config_defaults
     * (Cambricon: 256); 0 = 1. */
    int32_t mem_unit;
    /* The node lock bind takes for a pod asking this row's devices. NULL:
     * HAMi's shared hami.io/mutex.lock, "<time>,<ns>,<name>" (k8s/nodelock.h)
     * and --node-lock-timeout. Else the vendor's own key, valued with a bare
     * RFC 3339 time, stale after lock_timeout_s seconds; a value that is not
     * a time refuses the bind (HAMi's Cambricon LockNode). */
    const char *ann_lock;
    int32_t lock_timeout_s;
    /* Further pod annotations the vendor's device plugin reads (Cambricon's
     * CAMBRICON_DSMLU_*, Ascend's huawei.com/<chip>), written with the
     * allocation: NULL-terminated keys, undone with it when a bind fails,
     * and only trusted writers may set them (webhook/trust.c). extra_encode
     * writes the value of key ann_extra[k] for the allocation value
     * `devices` (codec.h's encoding) written at unix time `now` into buf
     * (cap bytes, always NUL-terminated): 0, or ERR_INVAL (devices names no
     * device) / ERR_TOOBIG with err. NULL when the row has no such key. */
    const char *ann_extra[POLICY_DEVICE_EXTRA_MAX + 1];
    int (*extra_encode)(const struct policy_device_backend *b, int k, const char *devices,
                        long long now, char *buf, size_t cap, char *err, size_t errcap);
    /* Template backends (Huawei Ascend's vNPUs, policy/device_ascend.h); NULL
     * and false on every other row. */
    struct policy_vnpu *vnpu; /* the chip's sizes and templates (set at start only) */
    /* The MiB a container asking mem (> 0) MiB per device takes: the row's
     * memory factor applied, then rounded up to a template. */
    int64_t (*mem_request)(const struct policy_device_backend *b, int64_t mem);
    /* Choose k of the nfit devices fit[] (the engine's order, best first) of
     * node n that fit container c; write their indexes to out. Returns k, -1
     * when the row has no preference (the engine chooses), or fewer than k
     * when no k of them may go together (AllocatedCardsInsufficientRequest). */
    int (*pick)(const struct policy_device_backend *b, const struct policy_node *n,
                const uint8_t *fit, int nfit, int k, uint8_t *out);
    /* A value of the pod's ann_vgpu_mode this scheduler never places
     * (ModeNotFit on every node), or NULL. */
    const char *mode_not_fit;
    /* What the row adds to HAMi's node score (binpack, spread) for the
     * devices pl gives a pod on n (Ascend 910: NPUs of one NetworkID). */
    double (*node_score)(const struct policy_device_backend *b, const struct policy_node *n,
                         const struct policy_placement *pl);
    /* A node label giving the physical memory of one device in MiB, or
     * NULL: a device registered with more is oversubscribed (its device
     * plugin scales memory, HAMi's deviceMemoryScaling > 1). */
    const char *label_mem;
};

/* Every backend, NULL-terminated; a new vendor is one new file and one row. */
extern const struct policy_device_backend *const policy_device_backends[];

/* The resource name of role r of row b: the operator's name when one was
 * set (policy_device_res_set), else b->res[r]; NULL where the row has no
 * such resource. Everything that reads a container's resources asks this,
 * never b->res directly. */
const char *policy_device_res(const struct policy_device_backend *b, enum policy_res r);
/* Rename role r of row b to name (copied; NULL or "" = the row's own).
 * Only at start, before any thread reads the table: the table is read
 * without a lock while serving. Returns 0, or ERR_INVAL (b is not a row, r
 * is a role the row lacks, or name is not a resource name) / ERR_CONFLICT
 * (another role of any row already reads that name) with why in err. */
int policy_device_res_set(const struct policy_device_backend *b, enum policy_res r,
                          const char *name, char *err, size_t cap);
/* Whether name could be a Kubernetes extended resource name: a DNS
 * subdomain, '/', 1..63 of letters, digits, '-', '_', '.' starting and
 * ending with a letter or digit. On false, why in err. */
bool policy_device_res_name_ok(const char *name, char *err, size_t cap);
/* A resource name that starts with a row's res_prefix but is no role of
 * any row ("nvidia.com/gpumemory"): the row it looks like, else NULL. */
const struct policy_device_backend *policy_device_res_unknown(const char *name);

/* The index of row b in policy_device_backends, or -1. */
int policy_device_backend_index(const struct policy_device_backend *b);

/* The backend named `name` (exact), or NULL. */
const struct policy_device_backend *policy_device_backend_find(const char *name);
/* The first row: the backend of whatever names no vendor. Never NULL. */
const struct policy_device_backend *policy_device_backend_default(void);
/* The backend whose vendor word the first entry of an allocation value
 * ("UUID,<word>,<mem>,<cores>:...") names, else the first row. */
const struct policy_device_backend *policy_device_backend_of_word(const char *devices);
/* The backend a container asks devices of (its .backend, else the first row). */
const struct policy_device_backend *policy_ctr_backend(const struct policy_ctr *c);
/* The backend of a device (its .backend, else the first row). */
const struct policy_device_backend *policy_device_backend_of(const struct policy_device *d);
/* The backend of the pod's first container that asks devices (a pod asks
 * one vendor's), or NULL when none asks any. */
const struct policy_device_backend *policy_pod_backend(const struct policy_pod *pod);

/* The backend every device of dev[0..ndev) belongs to, or NULL when they
 * belong to several or there are none: what a node's .vendor holds. */
const struct policy_device_backend *policy_node_vendor(const struct policy_device *dev,
                                                       int32_t ndev);

/* Index among dev[0..ndev) of the device whose UUID is the n bytes at uuid,
 * trying index hint % ndev first (hint >= 0); -1 if none. */
int policy_device_find(const struct policy_device *dev, int32_t ndev, const char *uuid, size_t n,
                       int hint);
/* The length of the card UUID in an allocation entry's UUID: HAMi's MIG
 * allocations (v2.4 to v2.9) name a MIG instance as the card's UUID followed
 * by "[<geometry index>-<position>]" ("GPU-x[1-0]"): n minus that suffix;
 * n when the UUID has no such suffix. */
size_t policy_device_card_len(const char *uuid, size_t n);
/* policy_device_find on the card an allocation entry names: the UUID as
 * given, else its card (policy_device_card_len); -1 if neither. */
int policy_device_find_card(const struct policy_device *dev, int32_t ndev, const char *uuid,
                            size_t n, int hint);

#endif

/* cache: the cluster as the scheduler sees it.
 *
 * Per node: its inventory (hami.io/node-nvidia-register), the usage of each
 * GPU and the pods on it. Usage is always the sum of the contributions of
 * the pods the cache holds for that node, plus in-memory reservations
 * ("assumed" pods) made at filter, which expire unless bound.
 *
 * What a pod from the source counts. Accounting trusts only what the
 * scheduler and the device plugin write, never what a pod owner can:
 *  - A pod counts where it is bound: spec.nodeName (hami.io/vgpu-node is
 *    not looked at for a bound pod).
 *  - A pod not bound yet counts only in its bind window: its
 *    hami.io/vgpu-node names node N, N's hami.io/mutex.lock names this pod
 *    (namespace and name) and is younger than the lock timeout, and its
 *    hami.io/bind-time is younger than the lock timeout too. Our own bind
 *    takes the lock before it patches the pod, so its pods pass; a pod
 *    owner cannot write a node's lock. Any other unbound pod counts
 *    nothing, whatever its annotations say. Every change of a node (its
 *    lock) looks at its candidates again. A window once seen open stays
 *    open for that bind (same node, same bind-time) until the bind-time is
 *    stale, whatever the lock does next: the device plugin releases the
 *    lock and the next bind takes it, possibly before the pod watch brings
 *    the bound version. cache_expire closes windows whose time is up (at
 *    most one opens per node lock).
 *  - A pod that asks no GPU in its spec (no container with nvidia.com/gpu,
 *    model_pod_parse's rule) counts no GPU, whatever its annotations say.
 *  - A counted pod that asks GPUs counts its decoded
 *    hami.io/vgpu-devices-allocated with HAMi's collapse rule, when that
 *    annotation agrees with the spec (no entry past the pod's containers;
 *    per container exactly the GPUs it asks) and names only GPUs of the
 *    node. Otherwise (missing, too long, unparsable, disagreeing, unknown
 *    GPUs) it counts its request instead: binpack's fit of it on the
 *    node's usage, or, when it does not fit, its GPUs on the node's least
 *    used devices anyway, so that a pod's GPUs are never freed by what its
 *    owner writes. Such pods are counted in cache_stats.bad_pods, shown on
 *    /inspect, and reported by cache_pod_put.
 *  - Every counted pod counts its cpu and memory requests on its node.
 *  - Terminal pods count nothing.
 *
 * Fed by one source: a snapshot file (snapshot.h) or the API watch.
 *
 * Thread-safe. Lock discipline: one rwlock over all of it, preferring
 * writers (a waiting writer holds new readers back, so the source is never
 * starved). Readers (filter evaluation, /inspect, metrics) hold it shared;
 * writers (source events, reservations, expiry) hold it exclusively for
 * short in-memory work only, never across I/O. No thread takes it twice:
 * with writer preference a second read lock behind a waiting writer
 * deadlocks. Callbacks run under it (cache_with_views, cache_reserve's
 * fit) take no lock of the cache. Placement (place/place.h) takes the
 * write lock once per filter: cache_reserve. */
#ifndef VS_CACHE_H
#define VS_CACHE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "k8s/model.h"
#include "k8s/quota.h"
#include "policy/policy.h"

struct cache;

#define CACHE_LOCK_TIMEOUT_DEFAULT 300.0 /* seconds, HAMi's node lock timeout */

/* Returns a new empty cache; free with cache_destroy. */
struct cache *cache_create(void);
void cache_destroy(struct cache *c);
/* The node lock timeout (--node-lock-timeout) that bounds bind windows;
 * <= 0: CACHE_LOCK_TIMEOUT_DEFAULT. */
void cache_set_lock_timeout(struct cache *c, double seconds);
/* The wall clock (unix seconds) the source side reads bind windows with;
 * NULL: clock_wall_s. For tests. */
void cache_set_clock(struct cache *c, double (*clock)(void));

/* ---- the source side; each takes the write lock ---- */

/* Insert or replace a node; takes ownership of inv (the cache may point its
 * devices' type and mode strings at shared copies). GPU usage is rebuilt
 * from the pods held for the node. */
void cache_node_put(struct cache *c, struct model_inventory *inv);
void cache_node_del(struct cache *c, const char *name);
/* Record a pod as the API shows it; it counts as the header says. A bound
 * pod and an unbound one with hami.io/vgpu-node (a bind-window candidate)
 * are held; a terminal pod and any other are dropped. When the cache holds
 * a reservation for the pod, a version that counts now (bound, or in its
 * window) or a terminal one replaces it (the API is authoritative) and any
 * other version leaves it. Returns 0, or ERR_INVAL when the pod is counted
 * by its request rather than its annotation (detail in err, once per
 * distinct annotation: later versions with the same one return 0). */
int cache_pod_put(struct cache *c, const struct model_pod_info *pi, char *err, size_t cap);
void cache_pod_del(struct cache *c, const char *uid);
/* The first full load is done: filter may answer. */
void cache_set_ready(struct cache *c, bool ready);
bool cache_ready(struct cache *c);

/* ---- readers ---- */

void cache_rdlock(struct cache *c);
void cache_unlock(struct cache *c);
/* Under the read lock: the node's view, or NULL. Borrowed until unlock. */
const struct policy_node *cache_view(struct cache *c, const char *name);
/* Under the read lock: views[i] = cache_view(c, names[i]) for i < n, the
 * look-ups overlapped (hmap_get_many): a filter's candidates. */
void cache_views(struct cache *c, const char *const *names, size_t n,
                 const struct policy_node **views);
/* Under the read lock: the hami.io/mutex.lock value of a node given by its
 * view (from cache_view), or NULL. */
const char *cache_view_lock(const struct policy_node *view);
/* Under the read lock: the labels of a node given by its view, flattened
 * ("k=v\n" each), or NULL. */
const char *cache_view_labels(const struct policy_node *view);
/* Under the read lock: the node's hami.io/mutex.lock value, or NULL (no
 * such node, no lock). Borrowed until unlock. */
const char *cache_node_lock(struct cache *c, const char *name);
/* How many times a node was put or removed so far; no lock needed. With
 * cache_node_wait, a bind waits for a node's lock to change without
 * polling: read the count, look at the node, wait for the count to move. */
unsigned long cache_node_changes(struct cache *c);
/* Wait (not under the cache's lock) until a node was put or removed since
 * the count was `seen`, or until the monotonic time `until`
 * (clock_mono_s). */
void cache_node_wait(struct cache *c, unsigned long seen, double until);
/* True when the cache holds node `name` at resourceVersion rv (non-empty). */
bool cache_node_current(struct cache *c, const char *name, const char *rv);

/* ---- reservations ---- */

struct cache_assumed {
    char *node;    /* new; free with cache_assumed_free */
    char *devices; /* the encoded hami.io/vgpu-devices-allocated; new */
    char *mig;     /* the encoded hami.io/vgpu-mig-allocations; new; NULL: no MIG instance */
    double expires;
};
void cache_assumed_free(struct cache_assumed *a);

/* Refit the pod on the node's current view and encode the placement:
 * called by cache_reserve under the write lock; it must take no lock.
 * Returns 0 with *devices set to a new string and *mig to a new string or
 * NULL (no MIG instance; the cache frees both), or an error with HAMi's
 * reasons in err (ERR_NOFIT). */
typedef int (*cache_fit_fn)(void *ctx, const struct policy_pod *pod, const struct policy_node *view,
                            char **devices, char **mig, char *err, size_t cap);

/* What one cache_reserve does, in this order, under one write lock. */
struct cache_reserve {
    const struct policy_pod *pod; /* by pod->uid; borrowed */
    double now;
    bool expire;              /* first cache_expire(now) */
    bool forget;              /* drop the pod's uncommitted reservation (cache_forget) */
    const char *pending_json; /* not NULL: cache_pending_put(uid, json, now, pending_ttl) */
    double pending_ttl;
    int *pending_rc;  /* not NULL: gets that put's result */
    const char *node; /* not NULL: reserve the pod there until now+ttl, fitted by fit */
    double ttl;
    cache_fit_fn fit;
    void *ctx;
    /* Preemption's hold (place/preempt.h): fit on the node's usage without
     * the shares of these pods (uids, borrowed; those not counted on the
     * node are passed over). 0: on the node's usage. */
    const char *const *victims;
    size_t nvictims;
};

/* The one write of a placement. When rq->node is set, reserve the pod on it:
 * fit it again (rq->fit) on the node's current usage, so concurrent
 * filters never overbook; this replaces any reservation the pod had, and an
 * unbound candidate of the source. Returns 0 (out filled when a node was
 * given); ERR_CONFLICT when the uid is already placed (bound per the
 * source, or a committed reservation: its usage stays); ERR_NOTFOUND when
 * the node is unknown; the fit's error (ERR_NOFIT) with reasons in err. */
int cache_reserve(struct cache *c, const struct cache_reserve *rq, struct cache_assumed *out,
                  char *err, size_t cap);
/* Reservations waiting for their bind are bounded in bytes (a pod
 * record's allocation, cache_stats.reservations_bytes) by a figure that
 * follows the cluster's size: unless set, the larger of
 * CACHE_RESV_BYTES_MIN and CACHE_RESV_BYTES_PER_NODE per node held. A new
 * reservation past it evicts the oldest uncommitted ones (counted in
 * cache_stats.reservations_evicted): their shares are freed, and a bind of
 * such a pod fits it again from the pending store. Committed ones (bound,
 * waiting for the source's version) are never evicted. */
#define CACHE_RESV_BYTES_MIN      ((size_t)512 << 10)
#define CACHE_RESV_BYTES_PER_NODE ((size_t)1 << 10)
/* Set the reservations' bound in bytes (0: follows the node count). */
void cache_reservation_limit(struct cache *c, size_t bytes);
/* Would a placement at `now` see something a write must settle first: the
 * pod `uid` (may be NULL) holds an uncommitted reservation, a reservation
 * is past its time, or a bind window has closed? Takes the read lock. */
bool cache_due(struct cache *c, const char *uid, double now);
/* Drop the pod's uncommitted reservation, if any; true if there was one. A
 * committed one stays until the source's version replaces it. */
bool cache_forget(struct cache *c, const char *uid);
/* Copy out the pod's live reservation; ERR_NOTFOUND if none or expired. */
int cache_reservation(struct cache *c, const char *uid, double now, struct cache_assumed *out);
/* The bind succeeded: the reservation no longer expires and stays until the
 * API's version of the pod replaces it. ERR_NOTFOUND if none. */
int cache_commit(struct cache *c, const char *uid);
/* Drop reservations whose time is up and stop counting pods whose bind
 * window has closed; returns how many reservations were dropped. Run on a
 * timer (server/service.c) and by placements that find it due (cache_due). */
int cache_expire(struct cache *c, double now);
/* How many times the write lock was taken since cache_create. For tests. */
unsigned long cache_write_locks(struct cache *c);

/* How long writes waited for the write lock since cache_create, per
 * writer: SOURCE is the source's updates (snapshot or watch: nodes, pods,
 * quotas, pending pods, and the start-up settings), PLACEMENT is
 * cache_reserve, cache_forget, cache_commit and cache_expire. A write
 * that found the lock free counts with a wait of 0. With the writer
 * preference, a source update waits for the readers already in and the
 * writers queued before it, never for readers that came after it: the
 * longest wait measures that. Lock-free reads; any thread. */
enum cache_writer { CACHE_WRITER_SOURCE, CACHE_WRITER_PLACEMENT, CACHE_WRITERS };
/* Upper bounds (seconds) of the waits' histogram buckets; one more bucket
 * holds the longer ones. */
#define CACHE_WAIT_BOUNDS                                                                          \
    {                                                                                              \
        1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2.5e-2, 1e-1, 1.0                                      \
    }
#define CACHE_WAIT_BUCKETS 10
struct cache_wait {
    unsigned long long count;                      /* writes */
    double sum_s, max_s;                           /* seconds waited in all, the longest one */
    unsigned long long bucket[CACHE_WAIT_BUCKETS]; /* writes per bucket (not cumulative) */
};
void cache_write_wait(struct cache *c, enum cache_writer who, struct cache_wait *out);
/* "source" or "placement", a metrics label. */
const char *cache_writer_name(enum cache_writer who);

/* ---- pending pods ----
 * What bind needs of pods not placed yet (model_pod_compact's form), so
 * that bind can fit a pod again on the node kube-scheduler names (filter
 * --filter-mode=all, a reservation that expired, a restart). Fed by the
 * source (unplaced pods) and by filter. Dropped when the pod is placed,
 * ends or is deleted, or when its time is up (expires 0: never): expired
 * entries are swept as time passes (by puts and cache_expire, about once a
 * second) and at once when the store is full.
 *
 * Bounded in bytes by a figure that follows the cluster's size: unless set
 * (cache_pending_limits), the larger of CACHE_PENDING_BYTES_MIN and
 * CACHE_PENDING_BYTES_PER_NODE per node held. An entry counts
 * strlen(uid) + 1 + strlen(json) + 1 + CACHE_PENDING_ENTRY_BYTES (its
 * bookkeeping). At most CACHE_PENDING_MAX entries. A put that does not fit
 * after the sweep evicts the entries put longest ago until it does
 * (counted in cache_stats.pending_evicted); the uids of the last
 * CACHE_PENDING_EVICTED_KEEP evicted are remembered (cache_pending_evicted)
 * so that a bind can say why it has no spec. An entry bigger than the
 * whole bound is refused. */
#define CACHE_PENDING_MAX            200000
#define CACHE_PENDING_BYTES_MIN      ((size_t)1 << 20)
#define CACHE_PENDING_BYTES_PER_NODE ((size_t)2 << 10)
#define CACHE_PENDING_ENTRY_BYTES    96
#define CACHE_PENDING_EVICTED_KEEP   4096
/* Store a copy of pod_json until now+ttl (ttl 0: until placed or deleted),
 * evicting the oldest entries when full. Returns 0, ERR_TOOBIG (bigger
 * than the whole bound; an older copy for uid stays) or ERR_INVAL (no
 * uid). */
int cache_pending_put(struct cache *c, const char *uid, const char *pod_json, double now,
                      double ttl);
/* Set the limits: entries (0: CACHE_PENDING_MAX) and bytes (0: the bound
 * that follows the node count, above). Entries over a smaller bound are
 * evicted at the next put. */
void cache_pending_limits(struct cache *c, size_t entries, size_t bytes);
/* A new copy of the pod's JSON (caller frees), or NULL. */
char *cache_pending_get(struct cache *c, const char *uid, double now);
/* True when uid's entry is among the last CACHE_PENDING_EVICTED_KEEP the
 * store evicted to make room (and was not put again since). */
bool cache_pending_evicted(struct cache *c, const char *uid);

/* ---- for operators ---- */

/* Every node (oversubscribed or not), its GPUs (totals and usage) and the
 * pods on each GPU, reservations included; per namespace its device use
 * and quota limits ("quotas"). Returns a new tree; caller frees
 * (cJSON_Delete). */
cJSON *cache_inspect(struct cache *c, double now);
/* One node as cache_inspect shows it, plus its hami.io/mutex.lock
 * ("lock", when held), its labels ("labels": "k=v\n" each, when it has
 * any) and its GPU pair scores ("links": ndev*ndev numbers,
 * row-major, when the node has them). NULL when no such node. Returns a
 * new tree; caller frees. */
cJSON *cache_inspect_node(struct cache *c, const char *name, double now);
/* Call fn once with the views of every node, under the read lock. */
void cache_with_views(struct cache *c,
                      void (*fn)(void *ctx, const struct policy_node *const *v, int n), void *ctx);
/* Call fn for every GPU of every node, under the read lock. */
void cache_foreach_gpu(struct cache *c,
                       void (*fn)(void *ctx, const char *node, const struct policy_device *d,
                                  const struct policy_usage *u),
                       void *ctx);
/* Which of a pod's allocation annotations cache_foreach_pod_ann hands over. */
enum cache_pod_ann {
    CACHE_POD_DEVICES, /* the devices annotation (hami.io/vgpu-devices-allocated) as read */
    CACHE_POD_MIG,     /* its MIG instances (hami.io/vgpu-mig-allocations) */
};
/* Call fn for every pod on a known node that carries annotation `which`
 * (the devices one: only when it was read), under the read lock: its
 * namespace, name, node, that annotation's value, and the node's GPUs (all
 * borrowed, valid during the call). Read-only, no allocation. */
void cache_foreach_pod_ann(struct cache *c, enum cache_pod_ann which,
                           void (*fn)(void *ctx, const char *ns, const char *name, const char *node,
                                      const char *value, const struct policy_device *dev, int ndev),
                           void *ctx);
/* The same for one node (nothing when it is unknown), under the read lock
 * for that node only: a walk over the nodes of cache_node_names with these
 * holds the lock per node, so writers wait for one node's work at most. */
void cache_node_pod_ann(struct cache *c, const char *node, enum cache_pod_ann which,
                        void (*fn)(void *ctx, const char *ns, const char *name, const char *node,
                                   const char *value, const struct policy_device *dev, int ndev),
                        void *ctx);
void cache_node_gpus(struct cache *c, const char *node,
                     void (*fn)(void *ctx, const char *node, const struct policy_device *d,
                                const struct policy_usage *u),
                     void *ctx);

/* The names of every node: a new array of new strings (caller frees each
 * and the array); *n gets the count. */
char **cache_node_names(struct cache *c, size_t *n);
struct cache_stats {
    size_t nodes, gpus, pods, reservations, orphans, pending;
    size_t pending_bytes;     /* held by the pending entries (see above) */
    size_t pending_bytes_max; /* their bound now */
    size_t pending_evicted;   /* entries evicted to make room, since cache_create */
    size_t pods_bytes;        /* held by the pod records (bound, in windows, reserved, orphans) */
    size_t reservations_bytes, orphans_bytes; /* ... of which reservations and orphans */
    size_t reservations_bytes_max;            /* the reservations' bound now */
    size_t reservations_evicted;              /* uncommitted reservations evicted to make room */
    size_t bad_pods;     /* counted by their request: the annotation cannot be trusted */
    size_t windows;      /* unbound pods counted in their bind window */
    int64_t max_gpu_mem; /* MiB of the largest healthy GPU; 0 when none */
};
void cache_stats(struct cache *c, struct cache_stats *out);

/* ---- quotas (HAMi's extended ResourceQuota, k8s/quota.h) ----
 * Every contribution a pod counts (bound, in its bind window, or reserved
 * by a filter until it binds or expires) also counts toward its
 * namespace's sums, per backend: memory in MiB, cores in %. A namespace's
 * limit of a key is the smallest its ResourceQuotas set. cache_reserve
 * fits the pod with what its namespace's quota leaves at that moment,
 * under the write lock, so concurrent filters never overrun a quota. */

/* Add or replace ResourceQuota ns/name (l copied). Takes the write lock. */
void cache_quota_put(struct cache *c, const char *ns, const char *name,
                     const struct quota_limits *l);
void cache_quota_del(struct cache *c, const char *ns, const char *name);
/* HAMi's memoryFactor: memory limits of backends that take the device
 * config's defaults count in MiB scaled by it (requests are); <= 1: none. */
void cache_set_mem_factor(struct cache *c, int32_t factor);
/* Under the read or write lock: what namespace ns may still take of
 * backend b's devices, MiB and % (>= 0), each -1 when no quota limits it. */
void cache_quota_left(struct cache *c, const char *ns, const struct policy_device_backend *b,
                      int64_t *mem, int64_t *cores);
/* Under the read or write lock: at most how much memory (MiB) and cores
 * (%) one GPU of any node known may take for a request of mem MiB (0: a
 * percentage of the card) and cores %, MIG instances' sizes included. */
void cache_gpu_take_max(struct cache *c, int64_t mem, int32_t cores, int64_t *mem_max,
                        int32_t *cores_max);
/* HAMi's check at admission: would namespace ns's quotas of backend b
 * admit a pod asking mem MiB (as written: memoryFactor is applied here) and
 * cores % more than it holds now? Takes the read lock. True when so (or no
 * quota limits it); else false with the key, what is left and what is
 * asked in why. */
bool cache_quota_admits(struct cache *c, const char *ns, const struct policy_device_backend *b,
                        int64_t mem, int64_t cores, char *why, size_t cap);
/* Call fn for every namespace and device resource it holds or has a limit
 * of (used in MiB or %, limit as written, -1 for none), under the read
 * lock; strings borrowed for the call. */
void cache_foreach_quota(struct cache *c,
                         void (*fn)(void *ctx, const char *ns, const char *resource, int64_t used,
                                    int64_t limit),
                         void *ctx);
/* The "ns/name" of every ResourceQuota held: a new array of new strings
 * (caller frees each and the array); *n gets the count. */
char **cache_quota_names(struct cache *c, size_t *n);
/* ---- preemption ---- */

/* The disruption budgets (k8s/pdb.h) the source feeds; owned by the cache,
 * with a lock of their own taken after the cache's. */
struct pdbs *cache_pdbs(struct cache *c);

/* One pod on a node and its GPU shares, as preemption sees it. Open value
 * struct; strings borrowed until the read lock is released. */
struct cache_share {
    int32_t dev; /* index into the node's devices */
    struct policy_usage u;
};
struct cache_pod_share {
    const char *uid, *ns, *name;
    const char *labels; /* flattened (k8s/pdb.h), or NULL */
    int32_t priority;   /* spec.priority */
    bool evictable;     /* a bound pod from the source (not a reservation or a bind
                           in progress) */
    int32_t nshare;
    const struct cache_share *share; /* into the caller's shares */
};
/* Under the read lock: the pods counted on node (reservations included),
 * up to cap of them into pods and their GPU shares into shares (scap
 * entries). Returns how many pods the node holds (more than cap: some
 * were left out). Read-only, no allocation. */
int cache_node_pods(struct cache *c, const char *node, struct cache_pod_share *pods, int cap,
                    struct cache_share *shares, int scap);

#endif

/* watch: keep the cache current from the API server. It only reads:
 * every write it finds needed goes to the upkeep (upkeep.h).
 *
 * For nodes, pods and ResourceQuotas, one thread each: a paged list (limit/continue),
 * then a watch from the list's resourceVersion with bookmarks, resumed
 * from the last resourceVersion seen when the stream ends, reconnecting
 * with a capped, jittered backoff after errors. 410 Gone (an ERROR event,
 * an HTTP 410, an expired continue token) means list again; after every
 * list, what the cache holds from an earlier list but the new one lacks is
 * deleted (nodes and pods that vanished while the watch was down). The
 * cache turns ready (cache_set_ready) after the first full list of all
 * three (HAMi waits for its quota informer too: a quota not yet known
 * would let filters overrun it).
 *
 * ResourceQuotas: quota_parse + cache_quota_put (k8s/quota.h); a device
 * limit whose quantity is malformed is left out of its quota with a logged
 * reason and counted ("quota_malformed"), the quota's other limits apply.
 *
 * Nodes: parsed by model_node_parse. A node whose annotations do not parse
 * is left out of the cache (deleted if it was there), with its reason
 * logged once per distinct reason and counted ("node_malformed"). Nodes
 * with a register annotation get HAMi's handshake verdict (handshake.h):
 * an unhealthy node stays in the cache with zero devices
 * ("node_unhealthy"); a node that needs a Requesting_<time> written is
 * handed to upkeep_handshake; a verdict that changes with time alone (a
 * fresh request on a node with nothing allocatable) is looked at again
 * then, by a third thread. A node lock whose owner pod is gone (the pod
 * was deleted, or the lists show no such pod), is bound to another node or
 * has ended is handed to upkeep_orphan, which releases it after checking
 * with the API server, so that filter does not pass the node over for the
 * whole lock timeout.
 *
 * Pods: model_pod_info + cache_pod_put; an unplaced pod that asks for a GPU
 * is kept as pending (cache_pending_put), so bind can fit it after a
 * restart. A pod the cache counts by its request because its allocation
 * annotation cannot be trusted (cache.h) is logged, counted
 * ("pod_counted_by_request") and reported through options.warn, once per
 * distinct annotation. Every network input is capped (kube.h: bodies and
 * lines).
 *
 * PodDisruptionBudgets (policy/v1): pdbs_put into the cache's budgets
 * (k8s/pdb.h); a list replaces them all; one that does not parse is left
 * out, logged and counted ("pdb_malformed"). They do not gate readiness: a
 * cluster where the list is refused (no RBAC) still schedules, and
 * preemption then sees no budget. A pod not bound whose
 * status.nominatedNodeName changes is handed to options.nominated.
 *
 * Threads and locks. Five threads: nodes, pods, quotas, budgets (list +
 * watch each) and rechecks (re-applies a node's last JSON when its verdict
 * is due).
 * w->apply serializes node updates (the node thread and the rechecks); it
 * is held across cache calls but never across I/O. w->lock guards the
 * tracking of nodes (lock owners, health, what the last list showed), of
 * pods (their node, ended) and the rechecks, held for in-memory work only.
 * Lock order: w->apply, then w->lock, then the cache's lock (cache calls
 * are made with w->apply held, with w->lock released) or the upkeep's
 * (upkeep_handshake and upkeep_orphan are called with w->lock held; the
 * upkeep's lock is a leaf). Neither the cache nor the upkeep calls back.
 * The options' count (any of the three threads, at times with w->lock
 * held) and warn (the pod thread) must not block on I/O nor call the watch.
 *
 * Thread-safe; watch_stop ends and joins every thread. */
#ifndef VS_WATCH_H
#define VS_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/cache.h"
#include "k8s/kube.h"
#include "k8s/upkeep.h"

#define WATCH_PAGE_DEFAULT 500
#define WATCH_BACKOFF_MIN  0.2  /* seconds */
#define WATCH_BACKOFF_MAX  10.0 /* seconds */

/* Counts an error reason (a metrics label); ctx is the caller's. */
typedef void (*watch_count_fn)(void *ctx, const char *reason);
/* A Warning about pod ns/name (uid) for its owner, e.g. as an Event: reason
 * is a CamelCase word, message one line. Must not block on I/O. */
typedef void (*watch_warn_fn)(void *ctx, const char *ns, const char *name, const char *uid,
                              const char *reason, const char *message);

#define WATCH_REASON_BY_REQUEST "GPUAllocationNotTrusted"

struct watch_options {
    const char *node_selector; /* labelSelector of the nodes; NULL or "": every node */
    int page_size;             /* list limit; 0: WATCH_PAGE_DEFAULT */
    int watch_timeout_s;       /* the server ends a watch after this; 0: 300..600 at random */
    bool handshake;            /* judge node health by HAMi's handshake */
    struct upkeep *upkeep;     /* borrowed, outlives the watch: gets the handshakes
                                  and orphaned locks to write; NULL: none are */
    watch_count_fn count;      /* may be NULL */
    void *count_ctx;
    watch_warn_fn warn; /* may be NULL */
    void *warn_ctx;
    /* A pod not bound yet whose status.nominatedNodeName became node (the
     * preemption hold, place/preempt.h): pod is its JSON, borrowed for the
     * call. Called from the pod thread with no watch lock held; may take
     * the cache's lock. May be NULL. */
    void (*nominated)(void *ctx, const cJSON *pod, const char *node);
    void *nominated_ctx;
    /* A pod seen bound to a node (spec.nodeName) and not ended, once per
     * pod: every one running at the first list, then each as it is bound
     * (by anyone). pod is its JSON, borrowed for the call. Called from the
     * pod thread with no watch lock held; may take the cache's lock. May
     * be NULL. */
    void (*bound)(void *ctx, const cJSON *pod);
    void *bound_ctx;
};

struct watch;

/* Start the threads. k and c are borrowed and must outlive the watch; o is
 * copied (strings too). Returns 0 and *out, or ERR_INVAL (bad selector)
 * with err filled. */
int watch_start(struct kube *k, struct cache *c, const struct watch_options *o, struct watch **out,
                char *err, size_t cap);
/* Stop every thread (within about a second), join them, free. After it,
 * the watch calls neither the cache nor the upkeep. Accepts NULL. */
void watch_stop(struct watch *w);

#define WATCH_KINDS 4 /* nodes, pods, resourcequotas, poddisruptionbudgets */

struct watch_stats {
    unsigned long lists, watches, events, relists, errors;
    /* Watch events handled (ADDED, MODIFIED, DELETED; not bookmarks nor
     * the items of lists), per kind in watch_kind_name's order. */
    unsigned long applied[WATCH_KINDS];
    bool synced;
};
void watch_stats(struct watch *w, struct watch_stats *out);
/* The name of kind 0..WATCH_KINDS-1 ("nodes", "pods", ...), or NULL. */
const char *watch_kind_name(int kind);

/* The reasons this module counts, NULL-terminated, for registering them. */
const char *const *watch_reasons(void);

/* For tests and fuzzing: a watch over c with no thread and no API server
 * (o copied, its node_selector ignored; its upkeep may be NULL). Free with
 * watch_stop. */
struct watch *watch_create_idle(struct cache *c, const struct watch_options *o);

/* Hand an idle watch n bytes of a watch stream of kind ("nodes", "pods",
 * "resourcequotas", "poddisruptionbudgets") as they arrive from the
 * network, split into lines by l (kube_lines_feed; keep it across calls,
 * free it after). rv (cap bytes) gets the last resourceVersion seen.
 * Returns 0, 1 when an event ended the stream (not an event, an ERROR),
 * ERR_NOTFOUND for 410 Gone, ERR_TOOBIG or ERR_INVAL (unknown kind). */
int watch_feed(struct watch *w, const char *kind, const char *p, size_t n, struct kube_lines *l,
               char *rv, size_t cap);

#endif

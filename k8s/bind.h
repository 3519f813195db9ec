/* bind: binding a pod on a live cluster, the way HAMi's device plugin
 * expects it (hami-protocol.md sections 3 and 4).
 *
 * In one bind_pod call:
 *  1. take hami.io/mutex.lock on the node, when the pod's app containers
 *     ask for nvidia.com/gpu (HAMi's rule): read the node, then a merge
 *     patch carrying its resourceVersion. A free lock is taken; a lock of
 *     this very pod is already held; a lock older than the lock timeout, a
 *     malformed one, or one whose owner pod is gone is taken over; a fresh
 *     lock of another pod is waited for (up to lock_wait seconds, watching
 *     the cache for its release, re-reading the node at least every
 *     second). A 409 is retried with HAMi's backoff (100 ms, x2, 5 steps,
 *     jitter). Binds of this process for one node queue on an in-process
 *     mutex first, so they never race each other through the API;
 *  2. one merge patch of the pod: every annotation and the label of
 *     placement_patch, with metadata.uid (a pod recreated under the same
 *     name is refused by the API server, not overwritten);
 *  3. POST .../binding (with the pod's uid). An answer lost in transport
 *     or a 409 is checked by reading the pod: bound to this node is
 *     success.
 * Any failure undoes what was done: the pod patch is reverted (annotations
 * and label set to null) and the lock released, only if it is still ours
 * (null with the resourceVersion). On success the lock stays: the device
 * plugin releases it after Allocate.
 *
 * Thread-safe: any number of binds at once. */
#ifndef VS_BIND_H
#define VS_BIND_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/cache.h"
#include "k8s/kube.h"

#define BIND_LOCK_WAIT_S    3.0 /* default wait for a lock another pod holds */
#define BIND_CONFLICT_STEPS 5   /* attempts of a lock patch that keeps getting 409 */

typedef void (*bind_count_fn)(void *ctx, const char *reason);

struct bind_options {
    double lock_timeout; /* seconds after which a lock is stale (--node-lock-timeout) */
    double lock_wait;    /* seconds to wait for a lock another pod holds; 0: BIND_LOCK_WAIT_S */
    bind_count_fn count; /* may be NULL */
    void *count_ctx;
};

struct bind;

/* k and c are borrowed and must outlive the binder; o is copied. */
struct bind *bind_create(struct kube *k, struct cache *c, const struct bind_options *o);
/* Accepts NULL. No bind may be in progress. */
void bind_destroy(struct bind *b);

/* The extender's binder (struct extender_binder.bind); ctx is a struct
 * bind. Returns 0 when the pod is bound; otherwise ERR_INVAL (a name that
 * is not a Kubernetes name), ERR_NOTFOUND (the pod or node is gone),
 * ERR_CONFLICT (the lock stayed held by another pod, 409s in a row, the
 * pod is bound elsewhere or was recreated), ERR_TIMEOUT / ERR_IO /
 * ERR_PROTO (the API server), with a reason in err. */
int bind_pod(void *ctx, const char *ns, const char *name, const char *uid, const char *node,
             const char *devices, const char *mig, long long now, char *err, size_t cap);

/* The reasons this module counts, NULL-terminated. */
const char *const *bind_reasons(void);

#endif

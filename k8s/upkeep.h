/* upkeep: the writes the scheduler makes on nodes by itself, in the
 * background; the watch (watch.h) only reads.
 *
 * Two jobs, both told by the watch through its sink (watch_sink):
 *  - HAMi's node handshake: write hami.io/node-handshake =
 *    Requesting_<now> (handshake.h) on a node the watch found wanting one.
 *    A write waits (up to a minute) until the client's rate bucket is at
 *    least half full, so handshakes never take the rate binds need;
 *  - an orphaned node lock: a hami.io/mutex.lock whose owner pod the watch
 *    no longer sees, or sees bound elsewhere or ended. It is released only
 *    after asking the API server: the node must still hold that very value
 *    and the pod must be gone, bound to another node or ended; the release
 *    is a merge patch guarded by the node's resourceVersion.
 * Jobs are kept one per node (a second of the same kind for the same node
 * is dropped) and at most UPKEEP_QUEUE_MAX of each kind.
 *
 * What only a leader may do: every write above. upkeep_set_leading(false)
 * stops them (a write already under way completes; one waiting for rate
 * goes back in the queue); jobs keep arriving and wait, one per node, until
 * leading again. A new upkeep leads, so a single replica behaves as it
 * always did; the high-availability work drives the switch from a Lease.
 * The watch keeps the cache warm whether or not this replica leads.
 *
 * Threads and locks: one thread of its own runs the jobs, through the
 * client (kube.h, thread-safe) and nothing else: it never touches the
 * cache and never calls the watch. u->lock guards the queues and the
 * leading flag, is held for in-memory work only (never across I/O) and is
 * a leaf: nothing else is taken under it. upkeep_handshake and
 * upkeep_orphan may be called from any thread, with any lock of the caller
 * held (the watch calls them under its own lock: watch -> upkeep order). */
#ifndef VS_UPKEEP_H
#define VS_UPKEEP_H

#include <stdbool.h>

#include "k8s/kube.h"

#define UPKEEP_QUEUE_MAX 100000 /* nodes waiting for a job of one kind */

/* Counts an error reason (a metrics label); ctx is the caller's. */
typedef void (*upkeep_count_fn)(void *ctx, const char *reason);

struct upkeep_options {
    upkeep_count_fn count; /* may be NULL */
    void *count_ctx;
};

struct upkeep;

/* Start the thread, leading. k is borrowed and must outlive the upkeep; o
 * is copied. Returns NULL when the thread cannot start. */
struct upkeep *upkeep_start(struct kube *k, const struct upkeep_options *o);
/* Stop the thread (within about a second; a write under way completes),
 * join it, drop the queued jobs, free. Nobody may call upkeep_* on u any
 * more: stop the watch that feeds it first. Accepts NULL. */
void upkeep_stop(struct upkeep *u);

/* The switch: whether this replica may write. Any thread, any time. */
void upkeep_set_leading(struct upkeep *u, bool leading);

/* Node (borrowed; copied) wants a handshake written under key (its device
 * backend's ann_handshake: static; NULL = the first row's). Never blocks on
 * I/O. Accepts NULL u (dropped). */
void upkeep_handshake(struct upkeep *u, const char *node, const char *key);
/* Node's lock value lock (borrowed; copied) looks orphaned: release it
 * after checking with the API server. Never blocks on I/O. Accepts NULL u
 * (dropped). */
void upkeep_orphan(struct upkeep *u, const char *node, const char *lock);

struct upkeep_stats {
    unsigned long handshakes, orphans_released; /* writes done */
    unsigned long queued;                       /* jobs waiting */
    bool leading;
};
void upkeep_stats(struct upkeep *u, struct upkeep_stats *out);

/* The reasons this module counts, NULL-terminated, for registering them. */
const char *const *upkeep_reasons(void);

#endif

/* events: Kubernetes Events on pods, posted in the background.
 *
 * The verbs record what HAMi's scheduler records (FilteringSucceed,
 * FilteringFailed, BindingSucceed, BindingFailed; see HAMi
 * pkg/scheduler/event.go) without waiting for the API server: events_post
 * copies the event into a bounded queue and returns at once; one thread
 * POSTs them to /api/v1/namespaces/<ns>/events, only while the client's
 * token bucket is at least half full (kube_spare), so events never take the
 * rate the verbs need (HAMi #745). When the queue is full the
 * event is dropped and counted ("event_dropped"), so a flood costs a
 * counter, never memory or a verb's latency. Failed posts are counted
 * ("event_failed") and not retried beyond the client's own retries.
 *
 * Events nobody asked for (the watch's warnings about pods) go through
 * events_post_background: only a leading replica posts them, so two
 * replicas never report the same thing twice; the events of a verb
 * (filter, bind) are its answer, posted by whichever replica was asked.
 *
 * Thread-safe. */
#ifndef VS_EVENTS_H
#define VS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/kube.h"

#define EVENTS_QUEUE_MAX   1024 /* events waiting to be sent */
#define EVENTS_MESSAGE_MAX 1024 /* bytes of a message; longer ones are cut */

typedef void (*events_count_fn)(void *ctx, const char *reason);

struct events_options {
    const char *component; /* source.component, e.g. the scheduler name */
    int queue_max;         /* 0: EVENTS_QUEUE_MAX */
    events_count_fn count; /* may be NULL */
    void *count_ctx;
};

struct events;

/* Start the sender thread. k is borrowed and must outlive it; o is copied.
 * Returns NULL when the thread cannot start. */
struct events *events_start(struct kube *k, const struct events_options *o);
/* Send what is queued for at most about a second more, then stop and free.
 * Accepts NULL. */
void events_stop(struct events *e);

/* Queue an event on pod ns/name (uid may be NULL). warning selects type
 * Warning, else Normal. Strings are copied (cut to their limits). Returns
 * true when queued, false when dropped. Never blocks on I/O. */
bool events_post(struct events *e, const char *ns, const char *name, const char *uid, bool warning,
                 const char *reason, const char *message);

/* The leadership gate for events_post_background; a new sender leads (a
 * single replica behaves as it always did). Any thread, any time. */
void events_set_leading(struct events *e, bool leading);

/* events_post for an event that is not the answer to a call: dropped
 * while not leading. */
bool events_post_background(struct events *e, const char *ns, const char *name, const char *uid,
                            bool warning, const char *reason, const char *message);

/* Events waiting to be sent, and the queue's bound (0, 0 for NULL). */
void events_queued(struct events *e, size_t *n, size_t *max);
/* The bytes of the queue's ring, allocated whole at start (0 for NULL). */
size_t events_bytes(struct events *e);

/* The reasons this module counts, NULL-terminated. */
const char *const *events_reasons(void);

#endif

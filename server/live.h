/* live: the service's source and binder on a real API server.
 *
 * Wires k8s/ for the service: the client (kube.h) from --kubeconfig,
 * $KUBECONFIG or the pod's service account; the watch (watch.h) that feeds
 * the cache and hands node writes to the upkeep (upkeep.h), which writes
 * while this replica leads (the Lease follower, lease.h, with
 * --leader-elect-lease; always without); the binder (bind.h) and the
 * event sender (events.h) behind the extender's struct extender_binder.
 * Their error reasons are counted in the service's metrics
 * (vgpu_scheduler_errors_total{reason}). */
#ifndef VS_LIVE_H
#define VS_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "server/config.h"
#include "server/extender.h"
#include "server/metrics.h"

struct live;

/* Register the error reasons of the live modules (metrics_reason_add). */
void live_register_metrics(struct metrics *m);

/* Connect (the client checks its credentials' files) and start the
 * upkeep and watch threads. cache and metrics are borrowed and must outlive it;
 * so is learner (may be NULL), which counts every pod the watch sees bound
 * (place_observe_bound), those running at the first list included. Returns 0
 * and *out; ERR_NOTFOUND when there is no API server to use (no
 * --kubeconfig, no $KUBECONFIG, not in a pod); ERR_UNSUPPORTED for a
 * kubeconfig that needs a credential plugin; other errors for files that
 * cannot be read; err says which. */
int live_start(const struct config *c, struct cache *cache, struct metrics *metrics,
               struct place *learner, struct live **out, char *err, size_t cap);

/* The binder for extender_create; borrowed, valid until live_stop. */
const struct extender_binder *live_binder(const struct live *l);

/* High availability: with --leader-elect-lease the background writers
 * (upkeep, events nobody asked for) follow the Lease (k8s/lease.h),
 * standing by from the start; without it, they always lead. */
/* Whether this replica leads now (true for NULL: a snapshot has no writer). */
bool live_leading(const struct live *l);
/* Append vgpu_scheduler_leader (gauge) and
 * vgpu_scheduler_leader_transitions_total (counter) to out. l may be NULL. */
void live_render_metrics(struct live *l, struct buf *out);
/* The bytes of the events ring (allocated whole at start); 0 for NULL. */
size_t live_events_bytes(struct live *l);
/* The leadership state for /inspect: a new object (caller frees). l may be
 * NULL. */
struct cJSON *live_inspect(struct live *l, double now);

/* Preemption: the watch saw pod (its JSON, borrowed for the call) newly
 * nominated to node while not bound. Called from the pod watch thread. */
typedef void (*live_nominated_fn)(void *ctx, const cJSON *pod, const char *node);
/* Who gets nominations from now on (NULL: nobody). l may be NULL. */
void live_set_nominated(struct live *l, live_nominated_fn fn, void *ctx);

/* Stop the threads (about a second) and free. No verb may be running.
 * Accepts NULL. */
void live_stop(struct live *l);

#endif

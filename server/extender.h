/* extender: kube-scheduler's extender verbs (filter, prioritize, bind) and
 * the dry run behind `simulate`: the wire only. It parses ExtenderArgs,
 * calls the placement layer (place/place.h), writes the answer, counts
 * errors and sends HAMi's events.
 *
 * Each verb takes the request body and writes the JSON answer into out.
 * A verb returns 0 when out holds an answer for HTTP 200, failures of the
 * request's content included (they go in the answer's Error); ERR_INVAL
 * when the body is not a JSON object at all (out holds a one-line message
 * for HTTP 400). Thread-safe: the state is the placer's and the cache's. */
#ifndef VS_EXTENDER_H
#define VS_EXTENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "place/place.h"
#include "server/metrics.h"

/* How a bind reaches the cluster. NULL bind: in memory (snapshot mode). */
struct extender_binder {
    /* Write the placement on the pod and bind it. Returns 0, or an error
     * with a reason a person can act on in err. */
    int (*bind)(void *ctx, const char *ns, const char *name, const char *uid, const char *node,
                const char *devices, const char *mig, long long now, char *err, size_t cap);
    /* Optional (NULL: none): record a Kubernetes Event on the pod
     * (FilteringSucceed, FilteringFailed, BindingSucceed, BindingFailed, as
     * HAMi does). Must not block: the callee queues it. */
    void (*event)(void *ctx, const char *ns, const char *name, const char *uid, bool warning,
                  const char *reason, const char *message);
    void *ctx;
};

struct extender;
struct config;

/* Fill o from the validated command line. Returns 0 or ERR_INVAL (err). */
int extender_opts_from_config(const struct config *c, struct place_opts *o, char *err, size_t cap);

/* Returns a new extender over the placer pl. pl, metrics (may be NULL) and
 * binder (may be NULL) are borrowed and must outlive it. */
struct extender *extender_create(struct place *pl, const struct extender_binder *binder,
                                 struct metrics *metrics);
void extender_destroy(struct extender *x);

/* Record every filter verdict of a GPU pod in v (server/verdicts.h;
 * borrowed, must outlive x; NULL: none). Call before serving. */
struct verdicts;
void extender_set_verdicts(struct extender *x, struct verdicts *v);

/* Register the error reasons the verbs count (metrics_reason_add). */
void extender_register_metrics(struct metrics *m);

int extender_filter(struct extender *x, const char *body, size_t len, double now, struct buf *out);
int extender_prioritize(struct extender *x, const char *body, size_t len, double now,
                        struct buf *out);
int extender_bind(struct extender *x, const char *body, size_t len, double now, struct buf *out);
/* ExtenderPreemptionArgs -> ExtenderPreemptionResult (place/preempt.h):
 * per candidate node the victims' uids (NodeNameToMetaVictims) and
 * NumPDBViolations; nodes where preemption cannot help, and nodes and
 * proposed victims the cache does not know, are left out. A request whose
 * content is wrong answers no node and says why in an extra "Error". When
 * exactly one node is answered, its freed room is held for the pod
 * (place_hold, opts.hold_ttl). */
int extender_preempt(struct extender *x, const char *body, size_t len, double now, struct buf *out);
/* kube-scheduler nominated pod (a Pod's JSON, borrowed) to node: hold the
 * room there for it (place_hold, opts.hold_ttl) and say so in an event.
 * Pods that ask no GPU, or that do not fit there now, get no hold. */
struct cJSON;
void extender_nominated(struct extender *x, const struct cJSON *pod, const char *node, double now);

/* The dry run: place pod_json (a Pod) among `names` (NULL: every node) and
 * write {"node","annotations","failedNodes","scores"} into out. Reserves
 * nothing. Returns 0, or ERR_INVAL with a message in out for a bad pod. */
int extender_simulate(struct extender *x, const char *pod_json, size_t len,
                      const char *const *names, size_t nnames, double now, struct buf *out);

#endif

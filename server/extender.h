/* extender: kube-scheduler's extender verbs (filter, prioritize, bind) over
 * the cache and the policies, and the dry run behind `simulate`.
 *
 * Each verb takes the request body and writes the JSON answer into out.
 * A verb returns 0 when out holds an answer for HTTP 200, failures of the
 * request's content included (they go in the answer's Error); ERR_INVAL
 * when the body is not a JSON object at all (out holds a one-line message
 * for HTTP 400). Thread-safe: the state is the cache's. */
#ifndef VS_EXTENDER_H
#define VS_EXTENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "k8s/model.h"
#include "policy/policy.h"
#include "server/metrics.h"

enum extender_mode {
    EXTENDER_SINGLE, /* filter chooses node and devices and reserves them (HAMi) */
    EXTENDER_ALL     /* filter answers every fitting node; devices chosen at bind */
};

/* How a bind reaches the cluster. NULL bind: in memory (snapshot mode). */
struct extender_binder {
    /* Write the placement on the pod and bind it. Returns 0, or an error
     * with a reason a person can act on in err. */
    int (*bind)(void *ctx, const char *ns, const char *name, const char *uid, const char *node,
                const char *devices, long long now, char *err, size_t cap);
    /* Optional (NULL: none): record a Kubernetes Event on the pod
     * (FilteringSucceed, FilteringFailed, BindingSucceed, BindingFailed, as
     * HAMi does). Must not block: the callee queues it. */
    void (*event)(void *ctx, const char *ns, const char *name, const char *uid, bool warning,
                  const char *reason, const char *message);
    void *ctx;
};

struct extender_opts {
    enum extender_mode mode;
    struct policy_opts policy;      /* default policies, seed */
    struct model_defaults defaults; /* HAMi's device defaults */
    double ttl;                     /* seconds a reservation waits for its bind */
    double lock_timeout;            /* seconds; single mode: filter passes over nodes whose
                                       hami.io/mutex.lock another pod took less than this
                                       ago (NodeLocked); 0: locks are not looked at */
};

struct extender;
struct config;

/* Fill o from the validated command line. Returns 0 or ERR_INVAL (err). */
int extender_opts_from_config(const struct config *c, struct extender_opts *o, char *err,
                              size_t cap);

/* Returns a new extender. cache, metrics (may be NULL) and binder (may be
 * NULL) are borrowed and must outlive it; opts is copied. */
struct extender *extender_create(struct cache *cache, const struct extender_opts *opts,
                                 const struct extender_binder *binder, struct metrics *metrics);
void extender_destroy(struct extender *x);

/* Register the error reasons the verbs count (metrics_reason_add). */
void extender_register_metrics(struct metrics *m);

int extender_filter(struct extender *x, const char *body, size_t len, double now, struct buf *out);
int extender_prioritize(struct extender *x, const char *body, size_t len, double now,
                        struct buf *out);
int extender_bind(struct extender *x, const char *body, size_t len, double now, struct buf *out);

/* Place a parsed pod among `names` exactly as filter does (choose, then
 * reserve under the cache's write lock) and, in single mode, commit the
 * reservation as a successful bind would. For programs that drive the
 * engine without HTTP (the trace replay). Returns the chosen index or -1;
 * when tally is not NULL, the reasons of every node that did not fit are
 * added to it. */
int extender_place(struct extender *x, const struct policy_pod *pod, const char *const *names,
                   size_t n, double now, struct policy_reasons *tally);

/* The workload the fragment-aware policy measures against. The extender
 * learns it from every pod it filters; readers see a copy refreshed as
 * extender_observe says. extender_set_state replaces the copy now (takes
 * ownership of w; for programs that bring their own distribution, like the
 * replay); extender_seed adds weight to a shape of the learned histogram
 * (from --workload-file). Thread-safe. */
struct workload;
struct workload_shape;
void extender_set_state(struct extender *x, struct workload *w);
void extender_seed(struct extender *x, const struct workload_shape *s, double weight);
/* Count a pod into the learned workload as filter does: once per pod uid
 * however often it comes; a new copy is published after the first 16 pods,
 * then at gaps that double up to 512 (for programs that drive the engine
 * without HTTP, like the replay). */
void extender_observe(struct extender *x, const struct policy_pod *pod);
/* Shapes in the workload readers see now: 0 before the first copy. */
size_t extender_workload_shapes(struct extender *x);
/* Seed from a file: a JSON list of {"weight": N, "pod": <Pod>} (the shape
 * of each pod, with HAMi's defaults). Published at once. Returns 0, or
 * ERR_IO / ERR_INVAL / ERR_TOOBIG naming the entry in err. */
int extender_seed_file(struct extender *x, const char *path, char *err, size_t cap);

/* The dry run: place pod_json (a Pod) among `names` (NULL: every node) and
 * write {"node","annotations","failedNodes","scores"} into out. Reserves
 * nothing. Returns 0, or ERR_INVAL with a message in out for a bad pod. */
int extender_simulate(struct extender *x, const char *pod_json, size_t len,
                      const char *const *names, size_t nnames, double now, struct buf *out);

#endif

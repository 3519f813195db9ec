/* place: the placement layer between the cluster view (k8s/cache) and
 * HTTP (server/). It takes a parsed pod and a plain candidate list (node
 * names), chooses a node and its GPUs (policy/), reserves them in the
 * cache, and encodes the result (HAMi's device annotation). It owns the
 * lock sequence against the cache, the per-thread verdict memo and the
 * online workload learner that fragment-aware measures against.
 *
 * Callers: server/extender.c (the wire: parse, call, answer), the
 * `simulate` command and bench/replay.c (no HTTP). Thread-safe. */
#ifndef VS_PLACE_H
#define VS_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "k8s/model.h"
#include "policy/policy.h"

/* Bytes of the longest device annotation a placement encodes. */
#define PLACE_DEVICES_MAX (64 * POLICY_MAX_PICKS + 2 * POLICY_MAX_CONTAINERS + 1)

enum place_mode {
    PLACE_SINGLE, /* filter chooses node and devices and reserves them (HAMi) */
    PLACE_ALL     /* filter answers every fitting node; devices chosen at bind */
};

/* Open value struct. */
struct place_opts {
    enum place_mode mode;
    struct policy_opts policy;      /* default policies, seed */
    struct model_defaults defaults; /* HAMi's device defaults */
    double ttl;                     /* seconds a reservation waits for its bind */
    double hold_ttl;                /* seconds a nomination hold lasts (place/preempt.h) */
    double lock_timeout;            /* seconds; single mode: filter passes over nodes whose
                                       hami.io/mutex.lock another pod took less than this
                                       ago (NodeLocked); 0: locks are not looked at */
    bool oversub_guard;             /* GPU pods of spec_priority above oversub_priority are */
    int32_t oversub_priority;       /* kept off oversubscribed nodes (NodeOversubscribed) */
    /* The learned workload's tuned values (borrowed, read at create);
     * NULL: workload_params_default. The replay's sweeps set them. */
    const struct workload_params *params;
    /* Threads that judge one filter's candidates together, the filter's
     * own included (PLACE_HELPERS_MAX + 1 at most); <= 1: its own alone.
     * Only a filter that runs alone, has PLACE_SPLIT_MIN candidates or
     * more and about PLACE_SPLIT_WORK of them to fit (the verdict memos
     * answer the rest; estimated from the first PLACE_SPLIT_SAMPLE) is
     * split, so concurrent filters do not crowd the cores and a cheap one
     * does not wait for threads to wake. The verdicts are the same. */
    int filter_threads;
};

#define PLACE_HELPERS_MAX  15
#define PLACE_SPLIT_MIN    512
#define PLACE_SPLIT_WORK   128
#define PLACE_SPLIT_SAMPLE 64

/* What became of one candidate. */
enum place_state { PLACE_NONE, PLACE_UNKNOWN, PLACE_FITS, PLACE_FAILS, PLACE_UNRESOLVABLE };

/* One candidate node. Open value struct: the caller sets name (borrowed)
 * and tag (the caller's, never read here); place_* fill the rest. */
struct place_cand {
    const char *name;
    const void *tag;
    uint8_t state; /* enum place_state */
    double score;
    size_t why; /* offset of a NUL-terminated reason in the request's why */
};

/* One placement request. Open value struct: the caller fills pod, c, n,
 * and tally (optional), and owns them; place_req_init/free manage why. */
struct place_req {
    struct policy_pod pod;
    struct place_cand *c;
    size_t n;
    struct buf why;               /* reasons, NUL-separated */
    struct policy_reasons *tally; /* when set: sum the reasons here, write no text */
    char err[512];                /* filter: the pod's uid is already placed */
    int retries;                  /* filter: reservations that lost a race */
    bool pending_full;            /* filter: the pending store refused the pod's spec */
};

void place_req_init(struct place_req *r);
/* Frees why, not c. */
void place_req_free(struct place_req *r);
/* A candidate's reason ("" when none). Borrowed from r. */
const char *place_reason(const struct place_req *r, const struct place_cand *c);

struct place;

/* Returns a new placer over cache (borrowed, must outlive it); opts is
 * copied. Free with place_destroy. */
struct place *place_create(struct cache *cache, const struct place_opts *opts);
void place_destroy(struct place *p);
/* The cache it places over. Borrowed. */
struct cache *place_cache(struct place *p);
/* The options it was made with. Borrowed. Their .defaults are those of
 * the start: read place_defaults instead. */
const struct place_opts *place_options(const struct place *p);
/* Under the cache's lock: the most pod can take of a quota on any node
 * (every container summed, init containers too: a bound), MiB and %. A
 * quota leaving at least that cannot refuse it. */
void place_quota_need(struct place *pl, const struct policy_pod *pod, int64_t *mem, int64_t *cores);
/* The request defaults in effect (HAMi's device config: a reload may swap
 * them while requests run; each read sees one whole set). */
struct model_defaults place_defaults(const struct place *p);
/* Swap the request defaults at once; requests being read keep the set they
 * took. default_mem >= 0, default_cores 0..100, mem_factor 1..2^20. */
void place_set_defaults(struct place *p, struct model_defaults d);
/* Does the placer act on pod (place it, learn it): it asks GPUs, or its
 * node policy places pods that ask none (their CPU and memory can strand
 * GPUs)? */
bool place_pod_matters(const struct place *p, const struct policy_pod *pod);
/* The cache holds the whole cluster (cache_ready). */
bool place_ready(struct place *p);
/* The names of every node, as cache_node_names (caller frees). */
char **place_node_names(struct place *p, size_t *n);

/* Filter: place r->pod among r->c, keep pod_json (the Pod, may be NULL)
 * as a pending spec for bind, learn the pod, and in single mode reserve
 * the chosen node's devices for opts.ttl. Fills each candidate's state,
 * score and reason. Returns the chosen index, or -1 (r->err set when the
 * uid is already placed). Takes the cache's write lock once (more only
 * when a reservation of its own or an expiry is due, or a concurrent
 * filter took the room: see struct place). */
int place_filter(struct place *p, struct place_req *r, const char *pod_json, double now);
/* Place r->pod among r->c without reserving anything (prioritize,
 * simulate). Returns the chosen index or -1. When devices is not NULL, the
 * chosen placement is encoded there (HAMi's device annotation), and when
 * mig is not NULL too, its MIG allocation there ("" for none); cap bytes
 * each. */
int place_evaluate(struct place *p, struct place_req *r, char *devices, char *mig, size_t cap);
/* Place a parsed pod among `names` exactly as filter does (the replay),
 * in single mode reserving the chosen node; place_bound then commits it as
 * a successful bind would. Returns the chosen index or -1; the reasons of
 * every node that did not fit are added to tally when not NULL. */
int place_pod(struct place *p, const struct policy_pod *pod, const char *const *names, size_t n,
              double now, struct policy_reasons *tally);

/* Bind's reservation for uid on node: the live one when it is for node,
 * else the pod fitted again there from its pending spec. Returns 0 with
 * out filled (free with cache_assumed_free); else an error with a reason
 * a person can act on in err, and *what the metric's reason
 * ("bind_unknown", "bind_no_fit"; NULL when none). */
int place_bind_reserve(struct place *p, const char *uid, const char *ns, const char *name,
                       const char *node, double now, struct cache_assumed *out, char *err,
                       size_t cap, const char **what);
/* The bind succeeded: commit the reservation. */
void place_bound(struct place *p, const char *uid);
/* The bind failed: drop the pod's uncommitted reservation. */
void place_forget(struct place *p, const char *uid);
/* Refit pod on node and reserve it until now+ttl, as filter does (one
 * cache_reserve with this layer's fit and encoding). Returns as
 * cache_reserve. */
int place_assume(struct cache *c, const struct policy_pod *pod, const char *node,
                 const struct policy_opts *o, double now, double ttl, struct cache_assumed *out,
                 char *err, size_t cap);

/* The workload the fragment-aware policy measures against. The placer
 * learns it from every pod it filters; readers see a copy refreshed as
 * place_observe says. place_set_state replaces the copy now (takes
 * ownership of w; for programs that bring their own distribution, like the
 * replay); place_seed adds weight pods of a shape to the learned histogram,
 * counted as seen (from --workload-file; workload_seed). Thread-safe. */
struct workload;
struct workload_shape;
struct workload_item;
void place_set_state(struct place *p, struct workload *w);
void place_seed(struct place *p, const struct workload_shape *s, double weight);
/* Count a pod into the learned workload as filter does: once per pod uid
 * however often it comes; a new copy is published after the first 16 pods,
 * then at gaps that double up to 512. */
void place_observe(struct place *p, const struct policy_pod *pod);
/* Count a pod that is already bound to a node (pod: its JSON, borrowed) as
 * filter would have: the pods running when the service starts and those
 * another replica binds, so a restart or a failover does not learn from
 * nothing on a full cluster. Once per uid together with place_observe. A
 * pod that does not parse, or that does not matter (place_pod_matters),
 * is left out. Publishes nothing itself
 * (the watch's first list may hold 100,000 pods): the next place_observe
 * that is due does. Returns whether it counted. */
bool place_observe_bound(struct place *p, const cJSON *pod);
/* Shapes learned or seeded in the workload readers see now (not the
 * prior's whole-node shapes): 0 before the first copy. */
size_t place_workload_shapes(struct place *p);
/* The workload readers see now, heaviest shape first, priors included
 * (workload_items): up to max into out (caller's); returns how many, 0
 * before the first copy. Takes the state lock briefly. */
int place_workload_items(struct place *p, struct workload_item *out, int max);
/* The fragmentation of node now (workload.h: the free GPU capacity, in
 * milli-GPU, the workload could not use), as fragment-aware measures it
 * against the workload readers see. Returns 0 with *f set; ERR_NOTFOUND
 * when the node is unknown or no workload was learned or seeded yet.
 * Takes the state lock, then the cache's read lock, briefly. */
int place_node_fragment(struct place *p, const char *node, double *f);
/* Verdicts judged so far over every thread: fitted (policy_fit ran) and
 * reused from a thread's memo (the pod's signature and the node's version
 * matched an earlier verdict). For tests, and for the fuzz target that
 * keeps a placer while nothing changed it. */
struct place_stats {
    unsigned long fitted, reused;
    size_t memo_bytes;      /* the verdict memos and working arrays, over every thread */
    size_t seen_bytes;      /* the uids recently counted by the learner (a fixed ring) */
    size_t workload_bytes;  /* the learner's workload and the one published (fixed sizes) */
    unsigned long observed; /* pods counted into the learned workload (once per uid) */
    unsigned long split;    /* filters judged by several threads (filter_threads) */
    unsigned long pressed;  /* pressure passes run: every press_every binds, once some pod
                               was judged by a policy that learns (fragment-aware) */
};
void place_stats(struct place *p, struct place_stats *out);
/* Seed from a file: a JSON list of {"weight": N, "pod": <Pod>} (the shape
 * of each pod, with HAMi's defaults). Published at once. Returns 0, or
 * ERR_IO / ERR_INVAL / ERR_TOOBIG naming the entry in err. */
int place_seed_file(struct place *p, const char *path, char *err, size_t cap);
/* The learner's workload now (the pods counted so far, published or not:
 * a standby that filters nothing publishes nothing, but counts the pods
 * bound) as a seed file place_seed_file reads back to the same shapes and
 * weights (the priors are not the learner's: worked out anew), appended
 * to out: a JSON list of {"weight": N, "pod": <Pod>}, one
 * entry a line, heaviest first; N in pods seen (decayed), or the seed
 * file's units (past 1e9, the file's limit, written as 1e9). *skipped:
 * shapes left out because today's resource names or memory factor cannot
 * say them (a device config reloaded since). Returns 0, or ERR_TOOBIG when
 * out cannot grow. */
int place_workload_file(struct place *p, struct buf *out, int *skipped);

#endif

/* preempt: GPU-aware preemption, kube-scheduler's preempt verb.
 *
 * For each candidate node kube-scheduler offers, choose the pods whose
 * eviction lets the preemptor's GPUs fit (the real fit, policy_fit, on the
 * node's usage without the victims' shares):
 *  - only bound pods of strictly lower priority (spec.priority), never a
 *    system-critical one (priority >= PREEMPT_CRITICAL), never a
 *    reservation or a bind in progress;
 *  - fewest PodDisruptionBudget violations first, then the lowest
 *    priorities, then the fewest victims, then the least GPU share taken
 *    away. The choice is greedy, as kube-scheduler's own: every candidate
 *    out, then each taken back ("reprieved") while the pod still fits, in
 *    this order: the ones whose eviction would violate a budget, then
 *    higher priority, then pods on the GPUs most crowded with candidates
 *    (so the victims gather on few GPUs), then the smaller share; those
 *    that cannot be taken back are the victims;
 *  - a node where even every candidate out does not help is dropped;
 *    place_preempt also drops a node that needs no victim (kube-scheduler
 *    refuses an answer naming a node with none).
 * The preemptor's namespace quota (pod->quota_mem, quota_cores: what is
 * left, -1 none) is part of the fit: a victim of the preemptor's own
 * namespace gives back what it holds on devices of the preemptor's backend
 * (preempt_pod.qmem, qcores), a victim of another namespace gives back
 * nothing, so a node where only evictions in other namespaces would free
 * the GPU while the preemptor's quota is spent is dropped (evicting them
 * would not let it run).
 * Pods kube-scheduler proposed that hold a GPU the choice does not need
 * are taken out of its list; GPU holders it did not propose are added.
 * Proposed pods that hold no GPU on the node stay: kube-scheduler chose
 * them for what it judges itself (cpu, memory, ports). A preemptor that asks
 * no GPU gets kube-scheduler's proposal back as it is.
 *
 * place_preempt_choose is the pure part (no lock, no allocation);
 * place_preempt runs it over the cache for a whole request. */
#ifndef VS_PREEMPT_H
#define VS_PREEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "k8s/pdb.h"
#include "place/place.h"
#include "policy/policy.h"

#define PREEMPT_CRITICAL    2000000000 /* system-cluster-critical and above: never victims */
#define PREEMPT_PODS_MAX    512        /* pods of one node looked at; the rest stay */
#define PREEMPT_SHARES_MAX  4096       /* their GPU shares */
#define PREEMPT_PROPOSE_MAX 4096       /* victims kube-scheduler proposes for one node */

/* One pod on the node. Open value struct: the caller fills the inputs
 * (share and pdb borrowed); place_preempt_choose sets victim and violates. */
struct preempt_pod {
    int32_t priority;
    bool evictable; /* a bound pod (cache_pod_share.evictable) */
    bool proposed;  /* kube-scheduler proposed it */
    bool own;       /* the preemptor's own reservation or hold: counts nothing here */
    int32_t nshare;
    const struct cache_share *share;
    int32_t npdb;
    const struct pdb_hit *pdb; /* the budgets covering it */
    int64_t qmem, qcores;      /* what its eviction gives back to the preemptor's quota */
    /* out */
    bool victim;
    bool violates; /* its eviction goes past a budget */
};

struct preempt_result {
    bool helps;     /* false: drop the node */
    int nvictims;   /* pods with victim set */
    int violations; /* budget violations of those */
};

/* Scratch of one thread for place_preempt_choose: allocate once, reuse. */
struct preempt_work {
    struct policy_placement pl[2]; /* the last placement that fitted is pl[cur] */
    int cur;
    struct policy_usage use[POLICY_MAX_DEVICES];
    struct policy_usage base[POLICY_MAX_DEVICES]; /* without every candidate */
    bool first[PREEMPT_PODS_MAX];                 /* the first pass's victims */
    int order[PREEMPT_PODS_MAX];
    int crowd[PREEMPT_PODS_MAX]; /* per pod: candidates on its most crowded GPU */
    struct pdb_hit left[PREEMPT_PODS_MAX];
    struct policy_pod qpod;         /* the preemptor with its quota as the evictions free it */
    bool quota;                     /* the preemptor's namespace has a quota of its backend */
    int64_t qmem, qcores;           /* quota freed by the pods out of w->use now */
    int64_t qbase_mem, qbase_cores; /* ... by every candidate out (w->base) */
    unsigned long fits;             /* policy_fit calls, for the bench */
};

/* Choose the victims among pods[0..n) (n <= PREEMPT_PODS_MAX) of node for
 * pod, of priority prio, within pod's quota left plus what its namespace's
 * victims give back. Fills each pod's victim and violates and *out.
 * Pure: no lock, no clock, no allocation. */
void place_preempt_choose(const struct policy_pod *pod, int32_t prio,
                          const struct policy_node *node, struct preempt_pod *pods, int n,
                          const struct policy_opts *o, struct preempt_work *w,
                          struct preempt_result *out);

/* One candidate node of a request. Open value struct: the caller sets
 * name and proposed (uids, borrowed); place_preempt fills the rest. */
struct place_preempt_node {
    const char *name;
    const char *const *proposed;
    size_t nproposed;
    /* out */
    bool keep;       /* answered: the victims make room */
    int violations;  /* NumPDBViolations */
    size_t nvictims; /* victims in the request's out buffer from offset victims:
                        read them with place_preempt_victim */
    size_t victims;
    size_t unknown; /* proposed uids the cache does not hold on the node */
};

/* One victim as place_preempt_victim reads it. Strings borrowed from out. */
struct place_victim {
    const char *uid, *ns, *name;
    int32_t priority;
};
/* The victims of nd one by one: start with *at = 0; fills v and returns
 * true, false after the last. */
bool place_preempt_victim(const struct buf *out, const struct place_preempt_node *nd, size_t *at,
                          size_t *k, struct place_victim *v);

/* Run the choice for pod (priority prio) on every node of nodes[0..n)
 * under the cache's read lock, with what the pod's namespace quota leaves
 * it now (cache_quota_left; pod's own quota fields are not read), the
 * victims' names into out. Unknown nodes
 * are dropped (keep false). Returns how many nodes are kept. */
size_t place_preempt(struct place *p, const struct policy_pod *pod, int32_t prio,
                     struct place_preempt_node *nodes, size_t n, struct buf *out);

/* The nomination hold: reserve pod on node until now+ttl, fitted on the
 * node's usage without the shares of victims (uids; may be 0 of them) and
 * within its namespace's quota with what the victims of that namespace
 * give back (as place_preempt counts it), so
 * that no other pod takes the room while they terminate. It is the pod's
 * reservation: its own filter, its bind, its deletion or the time release
 * it. Returns as cache_reserve. */
int place_hold(struct place *p, const struct policy_pod *pod, const char *node,
               const char *const *victims, size_t nvictims, double now, double ttl, char *err,
               size_t cap);

#endif

/* workload: the request shapes a cluster expects, with weights, and the
 * fragmentation of a node measured against them (what the fragment-aware
 * policy minimises).
 *
 * A node's fragmentation F is the GPU capacity on it that a request drawn
 * from the workload could not use, weighted by the workload: for each
 * shape, when the node cannot host it at all (too little CPU or memory, no
 * allowed model, too few usable GPUs) all its free GPU capacity counts;
 * when it can, the free capacity of the GPUs that shape cannot use counts.
 * Capacity is in milli-GPU: a GPU's free share is the smaller of its free
 * memory and free cores, as fractions of the card.
 *
 * Pools: devices of different vendors (device backends) never form one
 * pool. A node's F is the sum over its pools of F measured on the pool's
 * devices alone, against the shapes asking that vendor (and the CPU-only
 * ones); a node of one vendor is one pool, measured as before.
 *
 * Plus a balance term: WORKLOAD_BALANCE times the free capacity the node's
 * free CPU and memory could not feed if its GPUs went to the node's ask
 * (CPU and memory per milli-GPU). It sends CPU-hungry pods to CPU-rich
 * nodes and CPU-light ones to CPU-poor nodes, so GPUs are not stranded by
 * CPU that ran out first (bench/README.md). The ask (WORKLOAD_ASK_RULE 2)
 * starts from the GPU shapes' own mean ask (own) and the CPU-only shapes'
 * ask per milli-GPU of GPU demand (extra), against the nodes' supply per
 * milli-GPU (workload_set_scarcity), both per pool: a pool's supply is the
 * CPU of its nodes over its GPUs, and it carries the part of the CPU-only
 * ask its CPU is of all (a node of two vendors lends each the part its
 * devices are; a node without devices, each pool's part of all). Per node,
 * own plus what of extra x u its own spare (its CPU per milli-GPU less own)
 * cannot hold, u the part of the pool's spare that extra fills (at most
 * 1). On a cluster short of CPU, CPU-poor nodes carry the CPU-only demand
 * and CPU-rich ones only their GPUs' own. A node with nothing on it carries
 * only clamp((u - 1 + r) / r, 0, 1) of that, r = WORKLOAD_IDLE_RAMP: none
 * while u is under 1 - r, all from u = 1 (the CPU-only demand fills the
 * spare), so idle whole nodes, which multi-GPU tasks need, are not pulled
 * toward one-GPU pods on a cluster that is not short of CPU. And where u
 * is above 1 (the CPU-only demand asks u times the pool's spare: the pool
 * is short of CPU; memory alike, the larger of the two counts) the balance
 * weighs u times as much (balance_short; at most WORKLOAD_SHORTAGE_MAX, a
 * guard as the spare nears 0; a pool with no spare at all, whose GPU pods
 * alone ask more than its CPU, keeps the weight 1), since there a milli-GPU
 * the CPU cannot feed is all the likelier to stay idle. A node can be short
 * where its pool is not: one whose own spare (its CPU per milli-GPU less
 * own) is about nil strands GPUs to every CPU-only pod it takes, while the
 * pool has room for them elsewhere. So on a pool with spare (u under 1) a
 * node weighs up to 1 + WORKLOAD_NODE_SHORT x (1 - u) (node_short): all of
 * it at a spare of 0, falling linearly to 1 as the spare moves by the
 * CPU-only ask the node is to carry either way (with that much more it
 * carries its part; with that much less the GPU pods alone strand its GPUs,
 * whatever the CPU-only pods do); memory alike, the larger counts. It fades
 * as the pool nears short (u 1), where the pool's own weight takes over, so
 * the weight is continuous in both the node's spare and u. Without a supply
 * the ask is own + extra on every node. The replay's other asks
 * (ask_rule 0: own + extra everywhere, the default until the fourteenth
 * session; 1: own plus what of extra the supply less own cannot absorb) and
 * idle_ramp 0 (no ramp) stay for comparison.
 *
 * Plus a gap term: WORKLOAD_GAP_WEIGHT times, summed over the partly used
 * GPUs, what of each one's free share no sum of common one-GPU shares can
 * fill (repeats allowed; common on a card of model M: a share size whose
 * one-GPU shapes, whatever their CPU and memory, bring at least
 * WORKLOAD_GAP_COMMON of the milli-GPU that shares below a whole card
 * bring to model M: a size is counted by the capacity its pods could
 * fill, so a rare small share cannot make every gap look fillable). The
 * threshold is a ramp: the gaps are averaged over every threshold from
 * half to twice WORKLOAD_GAP_COMMON, evenly in log scale (exactly: the
 * common sizes change only where a threshold meets a size's own part), so
 * a size counts by how much of the ramp it clears and a gap moves smoothly
 * with the mix and the constant (five thresholds until the twenty-sixth
 * session). What
 * of a shape lands on M: its weight times M's part of the GPUs the shape
 * may use (0 when its model list excludes M; M's GPUs / all GPUs for a
 * shape that takes any model), so a share size only T4-bound tasks ask is
 * common on T4 cards and not on others. Without the model counts (no
 * scarcity call) every shape counts on every card. A 530 gap beside common 470 shares
 * keeps 60; a 210 gap keeps 210 when no common share is that small. It
 * looks past the next arrival: FGD alone fills a 530 gap with a 320 share
 * (F falls now) and leaves 210 nobody takes.
 *
 * Plus a claim term: WORKLOAD_CLAIM times, over the node's GPUs, the
 * capacity in use times its model's claim: the GPU demand still to come
 * that shapes bound to some models (a use-gputype list that leaves a model
 * of its pool out) bring to that model, over the model's free capacity.
 * The demand to come: the model's part of its pool's GPU demand times the
 * pool's free capacity (what arrives until the pool is full). Claim 1: the
 * bound shapes alone would fill what is left of the model. A pod that may
 * go anywhere then prefers cards nobody is bound to; a pod bound to the
 * model pays the same on all its candidates. The claims follow the free
 * capacity (workload_set_pressed, every pressure pass): a model its bound
 * pods are filling claims more of what is left, one that others have been
 * kept off while its bound pods stayed few claims less, so free pods use
 * it at the end. Free capacity here is what arrivals can use: a partly
 * used card counts its free share less what no sum of the common shares
 * fills (the gap term's left, above), so a model whose cards are down to
 * gaps nobody takes claims as a model that is full, not as one with room.
 * 0 on a workload without model lists.
 *
 * Plus a host-loss term: WORKLOAD_HOST_LOSS times what the node's lost
 * copies of the multi-GPU shapes pressed (workload_pressed, below) fail:
 * the largest, over those shapes, of the copies the node would host empty
 * times the GPUs a lost copy fails (the shape's loss), less the same
 * largest of the copies it hosts now. 0 on an idle node; taking a copy
 * raises F by what it was worth. A shape's loss:
 * its GPUs x rho x open x sized. rho: the part of today's copies the projection
 * says will be missed, (expected arrivals + 1 - copies left at full) /
 * copies now, at most 1. open: the smaller of the free parts of the
 * shape's pool's GPU capacity and of the CPU its nodes lend it (a copy
 * lost when the pool is full fails nothing a full pool would have held);
 * the arrivals and the copies lost are the pool's too. sized: (the
 * pool's nodes with enough cards for the shape / those of them with its CPU
 * and memory too)^scarcity exponent, model lists aside (the claim term
 * weighs those): the projection counts each shape's own arrivals, and the
 * shapes that only a few large nodes can run take those nodes together, so
 * a copy lost there fails more than one shape's projection says (8-GPU
 * 120-core pods on openb's 39 G3 nodes: about 4). The largest, not the sum: a
 * node's free GPUs serve one arrival, not one of each shape. None on a pool
 * short of CPU (the balance's u above 1): there the CPU runs out before the
 * GPUs, copies go to CPU that would be gone anyway, and keeping them only
 * moves the CPU-only pods the balance places. It keeps the few whole nodes
 * the largest shapes need from smaller pods that the balance or the gap
 * term would send there before the cluster fills.
 *
 * The weights come from a list (a trace's own distribution) or are learned
 * online: a bounded histogram (WORKLOAD_MAX_SHAPES) whose old observations
 * decay, so the distribution follows what the cluster sees now.
 *
 * Pure: no I/O, no clock. Not thread-safe: one writer; readers share a
 * prepared copy (workload_copy) that nobody changes. */
#ifndef VS_WORKLOAD_H
#define VS_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define WORKLOAD_MAX_SHAPES   512
#define WORKLOAD_BALANCE      2.0   /* chosen on openb traces (bench/README.md; 1.75 before) */
#define WORKLOAD_GAP_WEIGHT   8     /* the same */
#define WORKLOAD_GAP_COMMON   0.009 /* the same (issue 20: the ramp's centre) */
#define WORKLOAD_CLAIM        3.5   /* the same (3.125 with balance 1.75; 1 at first) */
#define WORKLOAD_ASK_RULE     2     /* the balance's ask per node (above; 0 until session 14) */
#define WORKLOAD_IDLE_RAMP    0.25  /* the same: idle nodes' CPU-only ask from u = 0.75 */
#define WORKLOAD_SHORTAGE_MAX 4     /* the balance's shortage weight at most (a guard) */
#define WORKLOAD_NODE_SHORT   6     /* a node short where its pool is not: 1 + this x (1 - u) */
#define WORKLOAD_HOST_LOSS    1     /* the host-loss term: a lost copy costs the GPUs it fails */
#define WORKLOAD_MODELS_MAX   64    /* bytes of a shape's model list */
#define WORKLOAD_MEMO_SLOTS   65536 /* entries in one memo */
#define WORKLOAD_MEMO_NODES   8192  /* nodes as they are one memo keeps (by id) */
#define WORKLOAD_GPU_MODELS   32    /* GPU models whose capacity the gap term weighs */
#define WORKLOAD_TYPE_MAX     64    /* bytes of one model name kept */

/* The tuned values of the measure. Open value struct. Every workload starts
 * with workload_params_default (the constants of this header); the replay
 * sets others for sweeps (vgpu-replay --param), the service never does. */
struct workload_params {
    double balance;       /* WORKLOAD_BALANCE */
    double gap_weight;    /* WORKLOAD_GAP_WEIGHT */
    double gap_common;    /* WORKLOAD_GAP_COMMON */
    double press_horizon; /* WORKLOAD_PRESSURE_HORIZON */
    double press_floor;   /* WORKLOAD_PRESSURE_FLOOR */
    double press_rule;    /* WORKLOAD_PRESSURE_RULE: 1 projection, 0 count */
    double press_reserve; /* WORKLOAD_PRESSURE_RESERVE */
    double scarcity;      /* the scarcity exponent, 0.5 */
    double blend;         /* WORKLOAD_BOTH: the copies view's part, 0.5 */
    double gap_models;    /* 1: the gap term weighs share sizes per GPU model; 0: not */
    double claim;         /* WORKLOAD_CLAIM */
    double gap_rule;      /* 1: common by demand (below); 0: by count, as before issue 20 */
    double learn_prior;   /* WORKLOAD_LEARN_PRIOR: a pool's whole-node shapes: this / pods seen */
    double gap_ramp;      /* the ramp's half width w in log2: gap_common / 2^w .. x 2^w; 0: one */
    double ask_rule;      /* WORKLOAD_ASK_RULE: 0 all pods'; 1 beyond the supply; 2 per node */
    double idle_ramp;     /* WORKLOAD_IDLE_RAMP (ask_rule 2); 0: idle nodes as the others */
    double balance_short; /* 1: the balance x max(1, u) where CPU is short (ask_rule 2) */
    double node_short;    /* WORKLOAD_NODE_SHORT (ask_rule 2); 0: the pool's weight on every node */
    double host_loss;     /* WORKLOAD_HOST_LOSS: the host-loss term's weight; 0 none */
    /* Read by the service's placer (place/place.c), not the policy: its
     * online learner's memory and copy cadence, its pressure cadence */
    double learn_decay; /* WORKLOAD_LEARN_DECAY: each pod seen multiplies the others' weights */
    double learn_first; /* WORKLOAD_LEARN_FIRST: pods before the first snapshot readers see */
    double learn_every; /* WORKLOAD_LEARN_EVERY: ... between snapshots, the gap doubling to it */
    double press_every; /* WORKLOAD_PRESS_EVERY: placements between pressure passes (place.c) */
};
extern const struct workload_params workload_params_default;
/* Set one value from "name=value" (names as the fields). Returns 0, or
 * ERR_INVAL with a message in err: unknown name, not a number, or outside
 * [0, 1000]. */
int workload_param_set(struct workload_params *p, const char *arg, char *err, size_t cap);
/* Replace w's values (and move the epoch). */
struct workload;
void workload_set_params(struct workload *w, const struct workload_params *p);

/* One request shape. Open value struct. */
struct workload_shape {
    int64_t cpu_milli, mem_mib;       /* host resources */
    int32_t nums;                     /* GPUs; 0 = CPU only */
    int32_t mem;                      /* MiB per GPU; 0 = mem_pct */
    int32_t mem_pct;                  /* % of each GPU's memory */
    int32_t cores;                    /* % of each GPU's compute; 100 = the card alone */
    char models[WORKLOAD_MODELS_MAX]; /* use-gputype list; "" = any model */
    /* Whose devices it asks (its pool); NULL = the first row. */
    const struct policy_device_backend *backend;
};

struct workload;

/* Returns a new empty workload; decay in (0, 1] multiplies every weight at
 * each observation (1: never forget). Free with workload_destroy. */
struct workload *workload_create(double decay);
void workload_destroy(struct workload *w);
/* A new copy (caller frees), ready for readers. */
struct workload *workload_copy(const struct workload *w);

/* Add weight to a shape (after decaying the others when observing). When
 * the table is full the lightest shape makes room. */
void workload_add(struct workload *w, const struct workload_shape *s, double weight);
/* A shape stated rather than observed (a seed file's entry): weight pods
 * of it, counted as pods seen too, so the whole-node priors (learn_prior /
 * pods seen of the workload) weigh what they would after as many
 * observations. Nothing decays. */
void workload_seed(struct workload *w, const struct workload_shape *s, double weight);
/* Observe one pod: its shape gains weight 1, every other one decays. */
void workload_observe(struct workload *w, const struct policy_pod *pod);
/* The shape of a pod: host resources, and the first GPU container's ask
 * (and its vendor). */
void workload_shape_of(const struct policy_pod *pod, struct workload_shape *s);
/* How a shape's unusable capacity is counted. */
enum workload_measure {
    /* Both below, half each: the default, measured best on the openb trace. */
    WORKLOAD_BOTH,
    /* FGD's: a node that can host one copy wastes the GPUs too small for it. */
    WORKLOAD_ONE_COPY,
    /* Copies: as many copies as GPUs, CPU and memory allow together; the free
     * capacity they cannot consume is wasted (remainders on each GPU, and
     * GPUs whose node lacks the CPU or memory to use them). */
    WORKLOAD_COPIES,
    /* The paper's FGD as published, for the replay's baseline (not a product
     * setting): one-copy, every shape weighed by its popularity alone (no
     * scarcity, no pressure), no balance and no gap term. */
    WORKLOAD_FGD,
};
void workload_set_measure(struct workload *w, enum workload_measure m);

/* Scarcity: a shape few nodes could ever host weighs more, by
 * (nodes / eligible nodes)^0.5, so its few hosts are kept for it. A node is
 * eligible when, empty, it could host one copy. Call again when the nodes
 * change; without a call every shape weighs its popularity alone.
 * The same call counts the healthy GPUs of each model (the first
 * WORKLOAD_GPU_MODELS), which the gap term weighs shapes by. */
void workload_set_scarcity(struct workload *w, const struct policy_node *const *nodes, int n);

/* Pressure: a multi-GPU shape whose hosts run short of its expected
 * arrivals has its weight raised to at least WORKLOAD_PRESSURE_FLOOR of the
 * total (scarcity still multiplies it), so the last whole nodes it needs
 * are kept for it. Expected arrivals: the shape's share of the pods that
 * would fill the free GPU capacity now. Short (WORKLOAD_PRESSURE_RULE 1,
 * issue 20): at the rate its copies have been lost so far per GPU filled
 * (copies that fit the empty nodes less those that fit now, over the GPU
 * capacity used), fewer than WORKLOAD_PRESSURE_RESERVE times its expected
 * arrivals, plus one, would be left when the free GPUs are full; and at
 * least one still fits (none left: nothing to keep). Rule 0, the rule
 * before: fewer copies fit now than WORKLOAD_PRESSURE_HORIZON times its
 * expected arrivals, plus one. The constants were chosen on the openb
 * traces (bench/README.md). */
#define WORKLOAD_PRESSURE_RULE    1
#define WORKLOAD_PRESSURE_RESERVE 1
#define WORKLOAD_PRESSURE_HORIZON 20
#define WORKLOAD_PRESSURE_FLOOR   0.015 /* 0.02 until session 25 (bench/README.md) */
#define WORKLOAD_MASK_WORDS       (WORKLOAD_MAX_SHAPES / 64)
/* What workload_pressed measures on the nodes for workload_set_pressed.
 * Open value struct. */
struct workload_press {
    uint64_t mask[WORKLOAD_MASK_WORDS]; /* a bit per shape short of hosts, priors aside */
    double free[WORKLOAD_GPU_MODELS];   /* each model's usable free milli-GPU (w's order) */
    double loss[WORKLOAD_MAX_SHAPES];   /* GPUs a lost copy fails (the host-loss term) */
};
/* Which shapes of w are short of hosts on `nodes` (their usage now), what
 * a lost copy of each fails (the host-loss term), and the free capacity of
 * each GPU model there that arrivals can use (when some model has shapes
 * bound to it; all of it otherwise, the claims being 0). Reads w only. */
void workload_pressed(const struct workload *w, const struct policy_node *const *nodes, int n,
                      struct workload_press *out);
/* Give the shapes in p's mask the floor (the others none), every shape
 * the loss p gives it (workload_pressed gives one to the shapes short of
 * hosts, the learner's priors among them, which it never masks), and
 * each model the claim its free capacity makes. Returns true when that
 * changed anything (and only then moves the epoch). Call again after
 * adding weight. */
bool workload_set_pressed(struct workload *w, const struct workload_press *p);

/* Prior: the shapes an online learner has not seen. After n pods, a shape
 * none of them asked may still arrive at up to about 3 / n of the pods (the
 * rule of three: the 95 % bound on a rate when no event was seen in n
 * tries; n counts every pod observed, not only those the decay still
 * remembers), and the unseen shapes that cost most when their hosts are
 * gone are those that need a whole node. workload_add_prior adds, for each
 * kind of node of 2 GPUs or more (its GPUs, CPU and memory, vendor), a
 * shape asking all of it; a pool's (vendor's) together weigh
 * WORKLOAD_LEARN_PRIOR / n of the workload, in equal parts (n: pods
 * observed; a workload only seeded counts its weights as pods; the bound
 * is on any unseen whole-node shape of the pool arriving, not on each: K
 * kinds at 3 / n each would claim K times the bound; per pool, so another
 * vendor's nodes leave a pool's priors as on a cluster of it alone). It
 * fades as the learner sees more, and keeps idle whole nodes,
 * most of all those few nodes could replace (scarcity), while the large
 * shapes' rates are unknown. A kind is measured, not assumed, when some
 * observed pod asks all its GPUs and exactly the kinds that could host a
 * pod asking all of the kind could host it: that pod's shape then keeps the
 * same nodes whole at its measured rate. (One that other kinds could host
 * too, an 88-core 8-GPU pod beside a 128-core kind, keeps its whole nodes
 * on all of them, so the kind keeps its prior.) Prior shapes are never
 * pressed (the pressure's floor is for measured rates; a prior's is a
 * bound), but one short of hosts carries the host loss (above), times the
 * part of the nodes with cards enough for it that are too small for it: an
 * unseen pod of a kind most nodes could stand in for fails nothing when
 * one of its hosts goes, one of a kind only a few large nodes match does.
 * place.c adds them to every copy of the learner it publishes; a trace's
 * own workload has none. */
#define WORKLOAD_LEARN_PRIOR 3
/* The online learner's memory and how often readers get a copy of it
 * (place/place.c): each pod seen multiplies every other shape's weight by
 * the decay (0.999: a ~700-pod half-life); the first copy comes after
 * LEARN_FIRST pods, the gap doubling up to LEARN_EVERY (bench/README.md,
 * "Learning online through the service's own path"). */
#define WORKLOAD_LEARN_DECAY 0.999
#define WORKLOAD_LEARN_FIRST 16
#define WORKLOAD_LEARN_EVERY 512
/* The service looks again at which multi-GPU shapes run short of hosts
 * (workload_pressed) every this many placements (and at each copy). */
#define WORKLOAD_PRESS_EVERY 16
/* Add the whole-node shapes of `nodes` (learn_prior of params; 0: none).
 * Call before workload_set_scarcity. */
void workload_add_prior(struct workload *w, const struct policy_node *const *nodes, int n);
/* The four passes a copy of the learner makes over the nodes before it is
 * published, in order (workload_add_prior, workload_set_scarcity,
 * workload_pressed, workload_set_pressed), grouping the nodes by kind
 * once for all of them. */
void workload_meet(struct workload *w, const struct policy_node *const *nodes, int n);

/* Shapes observed or added (workload_add_prior's are not counted). */
size_t workload_size(const struct workload *w);
/* One shape of a workload as an operator reads it (workload_items). */
struct workload_item {
    struct workload_shape s;
    double weight; /* in pods seen (each older one decayed), or a seed file's units */
    double share;  /* of the workload's weight, priors included: (0, 1] */
    double press;  /* the pressure multiplier: 1, or above when its hosts run out */
    double loss;   /* GPUs failing one copy would cost (the host loss); 0: none */
    bool prior;    /* a whole-node prior (workload_add_prior), never observed */
};
/* The heaviest max of w's shapes into out, heaviest first (equal weights in
 * the order they were added); returns how many. */
int workload_items(const struct workload *w, struct workload_item *out, int max);
/* The bytes one workload holds (a fixed size: WORKLOAD_MAX_SHAPES shapes). */
size_t workload_bytes(void);
/* Changes whenever a weight does, to a number no other state of any
 * workload in the process had (a copy keeps it until either changes);
 * memo entries and the filter's cache carry it. */
uint64_t workload_epoch(const struct workload *w);

/* F of `node` with GPU usage u and host usage cpu_used/mem_used. */
double workload_fragment(const struct workload *w, const struct policy_node *node,
                         const struct policy_usage *u, int64_t cpu_used, int64_t mem_used);

/* A memo of F by node state: nodes in equal states share one evaluation.
 * Direct-mapped, WORKLOAD_MEMO_SLOTS entries, owned by one thread. The
 * host-loss term is kept apart: a pressure pass that moves only the
 * pressed shapes' losses (workload_set_pressed; the epoch changes, the rest
 * of F does not) has that term alone measured again. It also
 * keeps F of nodes as they are (usage node->use, gen not 0) by node id and
 * the view's stamp, found without hashing the state: stamps are one
 * cache's, so a memo serves the views of one cache. */
struct workload_memo;
struct workload_memo *workload_memo_create(void);
void workload_memo_destroy(struct workload_memo *m);
/* workload_fragment through the memo (m may be NULL). */
double workload_fragment_memo(const struct workload *w, struct workload_memo *m,
                              const struct policy_node *node, const struct policy_usage *u,
                              int64_t cpu_used, int64_t mem_used);

#endif

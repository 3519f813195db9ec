/* workload.c: the shape histogram and the fragmentation measure. */
#include "policy/workload.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/list.h"
#include "base/mem.h"
#include "policy/device.h"

#define TYPE_CACHE  16 /* device model strings remembered per memo */
#define GAP_CACHE   16 /* (device size, model) pairs whose gap table a memo keeps */
#define PLAN_CACHE  4  /* pools whose shapes a memo keeps weighed */
#define COUNT_BLOCK 16 /* classes count_cards asks of the cards at a time (on the stack) */
#define GAP_MAX     1000
#define POOLS       POLICY_DEVICE_ROWS_MAX /* one supply per backend row */

/* Shapes that ask the same of each GPU: one GPU evaluation serves them all. */
struct wclass {
    const struct policy_device_backend *backend; /* never NULL */
    int32_t nums, mem, mem_pct, cores;
    bool any_model;
    char models[WORKLOAD_MODELS_MAX];
};

struct entry {
    struct workload_shape s;
    double w;      /* true weight = w * scale */
    double scarce; /* scarcity multiplier, >= 1 */
    double sized;  /* the same by the hosts' size alone, model lists aside (the host loss) */
    double small;  /* the part of the nodes with cards enough for it too small for it */
    double press;  /* pressure multiplier, >= 1 (workload_set_pressed) */
    double loss;   /* host loss per copy, in GPUs (workload_set_pressed); 0 unpressed */
    double reach;  /* GPUs of the models it may use (workload_set_scarcity); 0 unknown */
    int cls;
    bool prior; /* added by workload_add_prior, never observed: a host loss, never pressed */
};

/* A GPU model of the cluster and its healthy GPUs (workload_set_scarcity). */
struct gmodel {
    char name[WORKLOAD_TYPE_MAX];
    const struct policy_device_backend *pool;
    double gpus;
    double devmem; /* MiB of its first card: converts MiB asks to milli-GPU */
    double bound;  /* of its pool's GPU demand, the part bound to it (set_claims) */
    double claim;  /* bound, over its part of the pool's free capacity (claim_of) */
};

struct workload {
    double decay, scale;
    double seen; /* pods observed (workload_observe), never decayed */
    enum workload_measure measure;
    int n, ncls, nmodel;
    uint64_t epoch;  /* changes whenever anything F reads does */
    uint64_t fepoch; /* the same, but not when only losses or claims do: F's memos' key */
    uint64_t lepoch; /* changes with the losses (and fepoch) */
    uint64_t cepoch; /* changes with the models' claims (and fepoch) */
    int lossy;       /* shapes whose loss is above 0, ... */
    int16_t lossy_at[WORKLOAD_MAX_SHAPES]; /* ... their indices (entries never move) */
    struct workload_params p;
    double all_gpus; /* the sum of model[].gpus */
    /* Per pool (a backend's row index): the CPU and memory of the nodes
     * workload_set_scarcity saw (those that state them), each node's split
     * over its pools by their devices (a node without devices: by the
     * pools' parts of all devices), and that pool's milli-GPU; see
     * count_supply. */
    struct supply {
        double cpu, cpu_gpu, mem, mem_gpu;
    } supply[POOLS];
    struct gmodel model[WORKLOAD_GPU_MODELS];
    struct entry e[WORKLOAD_MAX_SHAPES];
    struct wclass cls[WORKLOAD_MAX_SHAPES];
};

/* The last epoch given out. Process-wide: a copy starts with its
 * original's epoch and both then change apart, so a per-object count would
 * give two different states one epoch (and the memos and the filter's
 * cache, keyed by it, each other's answers). */
static _Atomic uint64_t last_epoch;

/* w changed: a new epoch, never given to any workload before. */
static void touch(struct workload *w)
{
    w->epoch = w->fepoch = w->lepoch = w->cepoch = atomic_fetch_add(&last_epoch, 1) + 1;
}

/* Only the models' claims or the pressed shapes' losses changed: a new
 * epoch, the same fepoch (what the memos keep of F but those two terms is
 * still good). */
static void touch_terms(struct workload *w, bool claims, bool losses)
{
    w->epoch = atomic_fetch_add(&last_epoch, 1) + 1;
    w->cepoch = claims ? w->epoch : w->cepoch;
    w->lepoch = losses ? w->epoch : w->lepoch;
}

struct workload *workload_create(double decay)
{
    struct workload *w = mem_zalloc(sizeof *w);
    w->decay = decay > 0 && decay <= 1 ? decay : 1;
    w->scale = 1;
    touch(w);
    w->p = workload_params_default;
    return w;
}

const struct workload_params workload_params_default = {
    .balance = WORKLOAD_BALANCE,
    .gap_weight = WORKLOAD_GAP_WEIGHT,
    .gap_common = WORKLOAD_GAP_COMMON,
    .press_horizon = WORKLOAD_PRESSURE_HORIZON,
    .press_floor = WORKLOAD_PRESSURE_FLOOR,
    .press_rule = WORKLOAD_PRESSURE_RULE,
    .press_reserve = WORKLOAD_PRESSURE_RESERVE,
    .scarcity = 0.5,
    .blend = 0.5,
    .gap_models = 1,
    .claim = WORKLOAD_CLAIM,
    .gap_rule = 1,
    .learn_prior = WORKLOAD_LEARN_PRIOR,
    .gap_ramp = 1,
    .ask_rule = WORKLOAD_ASK_RULE,
    .idle_ramp = WORKLOAD_IDLE_RAMP,
    .balance_short = 1,
    .node_short = WORKLOAD_NODE_SHORT,
    .host_loss = WORKLOAD_HOST_LOSS,
    .learn_decay = WORKLOAD_LEARN_DECAY,
    .learn_first = WORKLOAD_LEARN_FIRST,
    .learn_every = WORKLOAD_LEARN_EVERY,
    .press_every = WORKLOAD_PRESS_EVERY,
};

int workload_param_set(struct workload_params *p, const char *arg, char *err, size_t cap)
{
    static const struct {
        const char *name;
        size_t off;
    } names[] = {
        {"balance", offsetof(struct workload_params, balance)},
        {"gap_weight", offsetof(struct workload_params, gap_weight)},
        {"gap_common", offsetof(struct workload_params, gap_common)},
        {"press_horizon", offsetof(struct workload_params, press_horizon)},
        {"press_floor", offsetof(struct workload_params, press_floor)},
        {"press_rule", offsetof(struct workload_params, press_rule)},
        {"press_reserve", offsetof(struct workload_params, press_reserve)},
        {"scarcity", offsetof(struct workload_params, scarcity)},
        {"blend", offsetof(struct workload_params, blend)},
        {"gap_models", offsetof(struct workload_params, gap_models)},
        {"claim", offsetof(struct workload_params, claim)},
        {"gap_rule", offsetof(struct workload_params, gap_rule)},
        {"learn_prior", offsetof(struct workload_params, learn_prior)},
        {"gap_ramp", offsetof(struct workload_params, gap_ramp)},
        {"ask_rule", offsetof(struct workload_params, ask_rule)},
        {"idle_ramp", offsetof(struct workload_params, idle_ramp)},
        {"balance_short", offsetof(struct workload_params, balance_short)},
        {"node_short", offsetof(struct workload_params, node_short)},
        {"host_loss", offsetof(struct workload_params, host_loss)},
        {"learn_decay", offsetof(struct workload_params, learn_decay)},
        {"learn_first", offsetof(struct workload_params, learn_first)},
        {"learn_every", offsetof(struct workload_params, learn_every)},
        {"press_every", offsetof(struct workload_params, press_every)},
    };
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) != len || strncmp(arg, names[i].name, len) != 0)
            continue;
        char *end = NULL;
        double v = eq && eq[1] ? strtod(eq + 1, &end) : NAN;
        if (!end || *end || !(v >= 0 && v <= 1000)) {
            snprintf(err, cap, "%.*s: want a number in [0, 1000], got \"%s\"", (int)len, arg,
                     eq ? eq + 1 : "");
            return ERR_INVAL;
        }
        *(double *)((char *)p + names[i].off) = v;
        return 0;
    }
    snprintf(err, cap, "unknown parameter \"%.*s\"", (int)len, arg);
    return ERR_INVAL;
}

void workload_set_params(struct workload *w, const struct workload_params *p)
{
    w->p = *p;
    touch(w);
}

void workload_destroy(struct workload *w)
{
    free(w);
}

struct workload *workload_copy(const struct workload *w)
{
    struct workload *c = mem_alloc(sizeof *c);
    memcpy(c, w, sizeof *c);
    return c;
}

void workload_set_measure(struct workload *w, enum workload_measure m)
{
    w->measure = m;
    touch(w);
}

size_t workload_size(const struct workload *w)
{
    size_t n = 0;
    for (int i = 0; i < w->n; i++)
        n += !w->e[i].prior;
    return n;
}

int workload_items(const struct workload *w, struct workload_item *out, int max)
{
    int16_t order[WORKLOAD_MAX_SHAPES];
    double total = 0;
    int n = 0;
    for (int i = 0; i < w->n; i++) {
        if (!(w->e[i].w > 0))
            continue;
        total += w->e[i].w;
        int j = n++; /* insertion: heaviest first, equal ones in table order */
        for (; j > 0 && w->e[order[j - 1]].w < w->e[i].w; j--)
            order[j] = order[j - 1];
        order[j] = (int16_t)i;
    }
    if (n > max)
        n = max < 0 ? 0 : max;
    for (int k = 0; k < n; k++) {
        const struct entry *e = &w->e[order[k]];
        out[k] = (struct workload_item){e->s,     e->w * w->scale, e->w / total,
                                        e->press, e->loss,         e->prior};
    }
    return n;
}

uint64_t workload_epoch(const struct workload *w)
{
    return w->epoch;
}

static double demand(const struct workload_shape *s, double devmem);

/* The pool a shape draws on: its vendor (NULL: the first row). */
static const struct policy_device_backend *shape_pool(const struct workload_shape *s)
{
    return s->backend ? s->backend : policy_device_backends[0];
}

/* Does shape s count in pool p? CPU-only shapes count in every pool. */
static bool in_pool(const struct workload_shape *s, const struct policy_device_backend *p)
{
    return !s->nums || shape_pool(s) == p;
}

static bool same_class(const struct wclass *c, const struct workload_shape *s)
{
    return c->backend == shape_pool(s) && c->nums == s->nums && c->mem == s->mem &&
           c->mem_pct == s->mem_pct && c->cores == s->cores && strcmp(c->models, s->models) == 0;
}

/* True when the comma list s names nothing (only commas and spaces). */
static bool blank(const char *s)
{
    const char *tok;
    size_t len;
    while (list_next(&s, ',', " ", &tok, &len))
        if (len)
            return false;
    return true;
}

/* Group the shapes into classes again (after a shape came or went). */
static void classify(struct workload *w)
{
    w->ncls = 0;
    for (int i = 0; i < w->n; i++) {
        const struct workload_shape *s = &w->e[i].s;
        int k = 0;
        while (k < w->ncls && !same_class(&w->cls[k], s))
            k++;
        if (k == w->ncls) {
            struct wclass *c = &w->cls[w->ncls++];
            *c = (struct wclass){.backend = shape_pool(s),
                                 .nums = s->nums,
                                 .mem = s->mem,
                                 .mem_pct = s->mem_pct,
                                 .cores = s->cores,
                                 .any_model = blank(s->models)};
            memcpy(c->models, s->models, sizeof c->models);
        }
        w->e[i].cls = k;
    }
}

static bool same_shape(const struct workload_shape *a, const struct workload_shape *b)
{
    return a->cpu_milli == b->cpu_milli && a->mem_mib == b->mem_mib && a->nums == b->nums &&
           a->mem == b->mem && a->mem_pct == b->mem_pct && a->cores == b->cores &&
           shape_pool(a) == shape_pool(b) && strcmp(a->models, b->models) == 0;
}

/* The index of shape s in w, or w->n. */
static int find_shape(const struct workload *w, const struct workload_shape *s)
{
    int i = 0;
    while (i < w->n && !same_shape(&w->e[i].s, s))
        i++;
    return i;
}

/* workload_add; returns the shape's index. */
static int add_shape(struct workload *w, const struct workload_shape *s, double weight)
{
    int i = find_shape(w, s);
    if (i == w->n) {
        if (w->n == WORKLOAD_MAX_SHAPES) { /* the lightest makes room */
            i = 0;
            for (int k = 1; k < w->n; k++)
                if (w->e[k].w < w->e[i].w)
                    i = k;
        } else {
            w->n++;
        }
        w->e[i] = (struct entry){.s = *s, .scarce = 1, .sized = 1, .press = 1};
        w->e[i].s.models[WORKLOAD_MODELS_MAX - 1] = '\0';
        classify(w);
    }
    w->e[i].w += weight / w->scale;
    w->e[i].prior = false;
    touch(w);
    return i;
}

void workload_add(struct workload *w, const struct workload_shape *s, double weight)
{
    add_shape(w, s, weight);
}

void workload_seed(struct workload *w, const struct workload_shape *s, double weight)
{
    add_shape(w, s, weight);
    w->seen += weight;
}

void workload_shape_of(const struct policy_pod *pod, struct workload_shape *s)
{
    memset(s, 0, sizeof *s);
    s->cpu_milli = pod->cpu_milli;
    s->mem_mib = pod->mem_mib;
    for (int i = pod->ninit; i < pod->nctr; i++) {
        const struct policy_ctr *c = &pod->ctr[i];
        if (c->nums == 0)
            continue;
        s->nums = c->nums;
        s->mem = c->mem;
        s->mem_pct = c->mem_pct;
        s->cores = c->cores;
        s->backend = policy_ctr_backend(c);
        break;
    }
    if (pod->use_type)
        strncpy(s->models, pod->use_type, sizeof s->models - 1);
}

void workload_observe(struct workload *w, const struct policy_pod *pod)
{
    struct workload_shape s;
    workload_shape_of(pod, &s);
    w->seen++;
    w->scale *= w->decay; /* every old weight decays at once */
    if (w->scale < 1e-200) {
        for (int i = 0; i < w->n; i++)
            w->e[i].w *= w->scale;
        w->scale = 1;
    }
    workload_add(w, &s, 1.0);
}

/* ---- kinds of node ---- */

/* Nodes alike when empty: the same host size and the same devices in the
 * same order. Whether an empty node could host a shape, and how many
 * copies, is the same for every node of a kind, so the passes over all
 * nodes that ask it (the prior, scarcity, pressure's hosts) ask it once
 * per kind: a cluster of 5,000 nodes has a few dozen kinds. A node is
 * matched against the first KINDS_SCAN kinds only (past them each node is
 * a kind of its own: correct, only slower), so grouping costs at most
 * KINDS_SCAN comparisons a node. */
#define KINDS_SCAN 64

struct kinds {
    int n;
    const struct policy_node **node; /* the first node of each kind */
    int *count;                      /* nodes of each kind */
};

static bool same_kind(const struct policy_node *a, const struct policy_node *b)
{
    if (a->cpu_milli != b->cpu_milli || a->mem_mib != b->mem_mib || a->ndev != b->ndev)
        return false;
    for (int g = 0; g < a->ndev; g++) {
        const struct policy_device *x = &a->dev[g], *y = &b->dev[g];
        if (x->devmem != y->devmem || x->devcore != y->devcore || x->count != y->count ||
            x->health != y->health || x->cordoned != y->cordoned ||
            policy_device_backend_of(x) != policy_device_backend_of(y) ||
            (x->type != y->type && strcmp(x->type ? x->type : "", y->type ? y->type : "") != 0))
            return false;
    }
    return true;
}

/* Group nodes[0..n) by kind. Free k with kinds_free. */
static void kinds_make(struct kinds *k, const struct policy_node *const *nodes, int n)
{
    k->n = 0;
    k->node = mem_alloc(sizeof *k->node * (size_t)(n > 0 ? n : 1));
    k->count = mem_alloc(sizeof *k->count * (size_t)(n > 0 ? n : 1));
    for (int j = 0; j < n; j++) {
        int i = 0, scan = k->n < KINDS_SCAN ? k->n : KINDS_SCAN;
        while (i < scan && !same_kind(k->node[i], nodes[j]))
            i++;
        if (i == scan) {
            i = k->n++;
            k->node[i] = nodes[j];
            k->count[i] = 0;
        }
        k->count[i]++;
    }
}

static void kinds_free(struct kinds *k)
{
    free(k->node);
    free(k->count);
}

static bool fits_empty(const struct wclass *c, const struct workload_shape *s,
                       const struct policy_node *n);
static bool eligible(const struct workload *w, const struct entry *e, const struct policy_node *n);

/* Is the demand for kind v whole (prior shape s) measured? When some
 * observed shape asks all of v's GPUs and the kinds that could host it are
 * exactly those that could host s, that shape's measured rate keeps the
 * same nodes the prior would. A shape other kinds could host as well (an
 * 88-core 8-GPU pod, which 96-core nodes take, beside a 128-core kind) does
 * not: its weight keeps whole nodes on all of them, not on this kind. */
static bool kind_measured(const struct workload *w, const struct kinds *k,
                          const struct workload_shape *s)
{
    const struct wclass whole = {
        .backend = s->backend, .nums = s->nums, .mem_pct = 100, .cores = 100, .any_model = true};
    bool *hosts = mem_alloc(sizeof *hosts * (size_t)(k->n > 0 ? k->n : 1)), measured = false;
    for (int j = 0; j < k->n; j++)
        hosts[j] = fits_empty(&whole, s, k->node[j]);
    for (int i = 0; i < w->n && !measured; i++) {
        const struct entry *e = &w->e[i];
        int j = 0;
        if (e->prior || e->s.nums != s->nums)
            continue;
        while (j < k->n && eligible(w, e, k->node[j]) == hosts[j])
            j++;
        measured = j == k->n;
    }
    free(hosts);
    return measured;
}

/* The slot of pool b (its supply, its priors): its row index (a row index is below
 * POLICY_DEVICE_ROWS_MAX; a backend of no row: the first row's). */
static int pool_slot(const struct policy_device_backend *b)
{
    int p = policy_device_backend_index(b);
    return p >= 0 ? p : 0;
}

static void add_prior(struct workload *w, const struct kinds *k)
{
    double total = 0;
    for (int i = 0; i < w->n; i++)
        total += w->e[i].prior ? 0 : w->e[i].w * w->scale;
    /* learn_prior pods in seen, in the units of the weights: 3 / n of them */
    double weight = w->p.learn_prior * total / (w->seen > 0 ? w->seen : total);
    if (!(weight > 0))
        return;
    for (int j = 0; j < k->n; j++) {
        const struct policy_node *v = k->node[j];
        if (v->ndev < 2)
            continue;
        struct workload_shape s = {.cpu_milli = v->cpu_milli,
                                   .mem_mib = v->mem_mib,
                                   .nums = v->ndev,
                                   .mem_pct = 100,
                                   .cores = 100,
                                   .backend = policy_device_backend_of(&v->dev[0])};
        if (find_shape(w, &s) < w->n || kind_measured(w, k, &s))
            continue; /* its whole-node demand is measured, or this kind's prior is in */
        /* in at the whole bound (it ranks for eviction so) */
        w->e[add_shape(w, &s, weight)].prior = true;
    }
    /* The rule of three bounds the rate of any unseen whole-node shape of a
     * pool, not of each: the pool's kinds without a measure share it (every
     * prior of w, so a second call leaves the same weights). */
    int priors[POOLS] = {0};
    for (int i = 0; i < w->n; i++)
        priors[pool_slot(shape_pool(&w->e[i].s))] += w->e[i].prior;
    for (int i = 0; i < w->n; i++)
        if (w->e[i].prior)
            w->e[i].w = weight / priors[pool_slot(shape_pool(&w->e[i].s))] / w->scale;
}

void workload_add_prior(struct workload *w, const struct policy_node *const *nodes, int n)
{
    struct kinds k;
    kinds_make(&k, nodes, n);
    add_prior(w, &k);
    kinds_free(&k);
}

/* ---- the measure ---- */

/* Per model string and pool: which classes may use it, and the model's
 * claim. Lives in the memo. */
struct typemask {
    const char *type;
    const struct policy_device_backend *pool;
    uint64_t epoch;
    int model; /* the model's index in w->model; -1 when not counted */
    uint64_t bits[WORKLOAD_MASK_WORDS];
};

/* F of one state: keyed by the state and fepoch, the claim and host-loss
 * terms apart (good for cepoch and lepoch), so a pressure pass that moves
 * only those re-measures them alone. F = rest + claim + loss; claim is NAN
 * on a node of several pools (rest holds it: not re-measured alone). */
struct slot {
    uint64_t key, cepoch, lepoch;
    double rest, claim, loss;
};

/* A node by its id, for the view stamped gen (policy.h: the stamp
 * versions everything F reads of the node): its node_key, its cards' usage
 * keyed (cards_key), and F of the node as it is (its own usage) under the
 * workload of epoch (0: none yet), found without hashing its state. */
struct nslot {
    uint64_t gen, key, cards, epoch;
    int32_t id;
    double f;
};

/* The workload's mean ask: CPU and memory per milli-GPU; with ask_rule 2
 * the GPU shapes' own, plus per node the part of the CPU-only shapes'
 * counted ask (cpu_only, mem_only; on an idle node idle_cpu, idle_mem) its
 * own spare cannot hold. */
struct ask {
    uint64_t epoch;
    const struct policy_device_backend *pool;
    double devmem; /* converts MiB asks to milli-GPU */
    double cpu, mem;
    double cpu_only, mem_only;
    double idle_cpu, idle_mem;
    double u;         /* how short of CPU or memory the pool is (ask_with; the larger) */
    double shortage;  /* what the balance is multiplied by: max(1, u) (balance_short) */
    double node_peak; /* a node without spare weighs 1 + this: node_short x (1 - u), u under 1 */
};

/* What of a free share of x milli-GPU the common shares leave: left[x]. */
struct gaps {
    uint64_t epoch;
    const struct policy_device_backend *pool;
    const char *type; /* the cards' model string (the cache interns it) */
    double devmem;    /* converts MiB asks to milli-GPU */
    int16_t left[GAP_MAX + 1];
};

/* Gap tables kept for reuse (each keyed by its epoch, card size, pool
 * and model), the oldest replaced first. */
struct gap_ring {
    struct gaps g[GAP_CACHE];
    unsigned next;
};

/* A pool's shapes as F weighs them (plan_of). */
struct plan {
    uint64_t fepoch;
    const struct policy_device_backend *pool;
    int n;
    double wsum; /* what they weigh in F */
    struct pshape {
        double wm; /* weight times multipliers */
        int64_t cpu, mem;
        int32_t cls;
        bool gpu; /* asks GPUs */
    } s[WORKLOAD_MAX_SHAPES];
};

struct workload_memo {
    struct typemask types[TYPE_CACHE];
    int next_type;
    struct plan plans[PLAN_CACHE];
    int next_plan;
    struct ask ask; /* the last one computed */
    struct gap_ring gaps;
    struct slot s[WORKLOAD_MEMO_SLOTS];
    struct nslot n[WORKLOAD_MEMO_NODES];
};

struct workload_memo *workload_memo_create(void)
{
    return mem_zalloc(sizeof(struct workload_memo));
}

void workload_memo_destroy(struct workload_memo *m)
{
    free(m);
}

static int model_find(const struct workload *w, const struct policy_device_backend *b,
                      const char *type);

/* Cards of model `type` in pool: the classes that may use them (of any
 * pool; the measure reads only the pool's) and the model (two vendors may
 * name a model alike). */
static const struct typemask *type_mask(const struct workload *w, struct workload_memo *m,
                                        const char *type, const struct policy_device_backend *pool,
                                        struct typemask *tmp)
{
    for (int i = 0; m && i < TYPE_CACHE; i++)
        if (m->types[i].type == type && m->types[i].pool == pool && m->types[i].epoch == w->fepoch)
            return &m->types[i];
    struct typemask *t = m ? &m->types[m->next_type++ % TYPE_CACHE] : tmp;
    memset(t, 0, sizeof *t);
    t->type = type;
    t->pool = pool;
    t->epoch = w->fepoch;
    for (int k = 0; k < w->ncls; k++)
        if (w->cls[k].any_model || policy_type_listed(w->cls[k].models, type ? type : ""))
            t->bits[k / 64] |= 1ULL << (k % 64);
    t->model = model_find(w, pool, type ? type : "");
    return t;
}

/* The claim of the model of cards of mask t (read as it is now: claims
 * change apart from fepoch, which t is keyed by). */
static double claim_of_mask(const struct workload *w, const struct typemask *t)
{
    return t->model >= 0 ? w->model[t->model].claim : 0;
}

/* The free share of a GPU in milli-GPU: the smaller of memory and cores. */
static double free_share(const struct policy_device *d, const struct policy_usage *u)
{
    if (!d->health || d->cordoned || u->used >= d->count || d->devmem <= 0 || d->devcore <= 0)
        return 0;
    double m = (double)(d->devmem - u->mem) / (double)d->devmem;
    double c = (double)(d->devcore - u->cores) / (double)d->devcore;
    double f = POLICY_MILLI * (m < c ? m : c);
    return f > 0 ? f : 0;
}

/* Can one GPU of class c go on this device? */
static bool gpu_fits(const struct wclass *c, const struct policy_device *d,
                     const struct policy_usage *u)
{
    if (c->nums > 1 || (c->cores >= 100 && (c->mem_pct >= 100 || c->mem >= d->devmem)))
        return u->used == 0 && u->mem == 0 && u->cores == 0; /* a whole card */
    int64_t need = c->mem ? c->mem : d->devmem * c->mem_pct / 100;
    if (d->devmem - u->mem < need || d->devcore - u->cores < c->cores)
        return false;
    return !(d->devcore == 100 && c->cores == 100 && u->used > 0);
}

/* How many copies of a one-GPU class fit on this GPU (returned) and the
 * capacity they take (*cap: its share of the card each); none of a
 * multi-GPU class. */
static double copies_on(const struct wclass *c, const struct policy_device *d,
                        const struct policy_usage *u, double share, double *cap)
{
    *cap = 0;
    if (c->nums > 1)
        return 0;
    double need_mem = c->mem ? (double)c->mem : (double)d->devmem * c->mem_pct / 100.0;
    double per = POLICY_MILLI * need_mem / (double)d->devmem;
    double per_core = POLICY_MILLI / 100.0 * c->cores * 100.0 / (double)d->devcore;
    if (per_core > per)
        per = per_core;
    double n = per > 0 ? (double)(int64_t)(share / per) : (double)(d->count - u->used);
    if (n > d->count - u->used)
        n = d->count - u->used;
    if (c->cores >= 100 || per >= POLICY_MILLI)
        n = n > 0 ? 1 : 0;
    *cap = n * (per < share ? per : share);
    return n;
}

/* Copies of a shape asking cpu and mem of its host that the node hosts:
 * gcopies by its GPUs, fewer when its free CPU or memory runs out first. */
static double copies_now(int64_t cpu, int64_t mem, double gcopies, int64_t cpu_free,
                         int64_t mem_free)
{
    double k = gcopies;
    if (cpu > 0 && (double)(cpu_free / cpu) < k)
        k = (double)(cpu_free / cpu);
    if (mem > 0 && (double)(mem_free / mem) < k)
        k = (double)(mem_free / mem);
    return k;
}

/* WORKLOAD_COPIES: the free capacity the shape's copies cannot consume when
 * GPUs, CPU and memory all bound how many fit. */
static double copies_waste(int64_t cpu, int64_t mem, double gcopies, double gcap, double total,
                           int64_t cpu_free, int64_t mem_free)
{
    double n = copies_now(cpu, mem, gcopies, cpu_free, mem_free);
    double used = gcopies > 0 ? gcap * n / gcopies : 0;
    return total - used > 0 ? total - used : 0;
}

/* The backend of card d of node n: the node's own when all its cards
 * share one (policy_node.vendor: no look-up per card). */
static const struct policy_device_backend *card_pool(const struct policy_node *n,
                                                     const struct policy_device *d)
{
    return n->vendor ? n->vendor : policy_device_backend_of(d);
}

/* Cards of node n that one GPU of class c fits (healthy, of its pool and
 * models), with the usage use (NULL: n empty); cordoned ones too unless
 * cordon (scarcity asks what a node could ever host, the pressure what it
 * can host now). */
static int usable_cards(const struct wclass *c, const struct policy_node *n,
                        const struct policy_usage *use, bool cordon)
{
    static const struct policy_usage idle;
    int cards = 0;
    const char *type = NULL; /* the last model matched against c's list, and its answer */
    bool matched = false, listed = false;
    for (int g = 0; g < n->ndev; g++) {
        const struct policy_device *d = &n->dev[g];
        if (!d->health || (cordon && d->cordoned) || card_pool(n, d) != c->backend)
            continue;
        if (!c->any_model && (!matched || d->type != type)) { /* a node's cards share a model */
            type = d->type;
            listed = policy_type_listed(c->models, type ? type : "");
            matched = true;
        }
        if ((c->any_model || listed) && gpu_fits(c, d, use ? &use[g] : &idle))
            cards++;
    }
    return cards;
}

/* Are node n's CPU and memory, all of them, enough for one pod of shape s? */
static bool host_room(const struct workload_shape *s, const struct policy_node *n)
{
    return !(n->cpu_milli && n->cpu_milli < s->cpu_milli) &&
           !(n->mem_mib && n->mem_mib < s->mem_mib);
}

/* Could node n, empty, host one copy of shape s, whose GPUs ask class c? */
static bool fits_empty(const struct wclass *c, const struct workload_shape *s,
                       const struct policy_node *n)
{
    return host_room(s, n) && usable_cards(c, n, NULL, false) >= s->nums;
}

static bool eligible(const struct workload *w, const struct entry *e, const struct policy_node *n)
{
    return fits_empty(&w->cls[e->cls], &e->s, n);
}

/* Could node n, empty, host e by its size, whatever e's model list: 0 it
 * has too few cards of e's pool, 1 enough cards but too little CPU or
 * memory, 2 it could. */
static int host_by_size(const struct workload *w, const struct entry *e,
                        const struct policy_node *n)
{
    struct wclass any = w->cls[e->cls];
    any.any_model = true;
    if (usable_cards(&any, n, NULL, false) < e->s.nums)
        return 0;
    return host_room(&e->s, n) ? 2 : 1;
}

/* The index of model `type` of pool b among w's models, or -1. */
static int model_find(const struct workload *w, const struct policy_device_backend *b,
                      const char *type)
{
    for (int m = 0; m < w->nmodel; m++)
        if (w->model[m].pool == b && strcmp(w->model[m].name, type) == 0)
            return m;
    return -1;
}

/* Count the healthy GPUs of each model on the nodes. */
static void count_models(struct workload *w, const struct policy_node *const *nodes, int n)
{
    w->nmodel = 0;
    w->all_gpus = 0;
    for (int j = 0; j < n; j++) {
        for (int g = 0; g < nodes[j]->ndev; g++) {
            const struct policy_device *d = &nodes[j]->dev[g];
            const char *type = d->type ? d->type : "";
            const struct policy_device_backend *b = policy_device_backend_of(d);
            if (!d->health)
                continue;
            int m = model_find(w, b, type);
            if (m < 0 && w->nmodel == WORKLOAD_GPU_MODELS)
                continue; /* past the table: the gap term counts such cards as before */
            if (m < 0) {
                m = w->nmodel++;
                w->model[m] =
                    (struct gmodel){.pool = b, .devmem = d->devmem > 0 ? (double)d->devmem : 1};
                snprintf(w->model[m].name, sizeof w->model[m].name, "%s", type);
            }
            w->model[m].gpus++;
            w->all_gpus++;
        }
    }
}

/* May shape e run on GPUs of model m? CPU-only shapes: on every model. */
static bool model_allowed(const struct workload *w, const struct entry *e, const struct gmodel *m)
{
    const struct wclass *c = &w->cls[e->cls];
    return !e->s.nums ||
           (c->backend == m->pool && (c->any_model || policy_type_listed(c->models, m->name)));
}

/* The GPUs of pool's models. */
static double pool_gpus(const struct workload *w, const struct policy_device_backend *pool)
{
    double g = 0;
    for (int m = 0; m < w->nmodel; m++)
        g += w->model[m].pool == pool ? w->model[m].gpus : 0;
    return g;
}

/* A model's claim when its cards hold `free` of its pool's `pool_free`
 * milli-GPU: the bound demand still to come to it (bound times what the
 * pool's free capacity will take) over its free capacity; 0 when it has
 * none (nothing left to take). In steps of an eighth of an octave, so the
 * claims move seldom and the memos of F stay valid between steps. */
static double claim_of(const struct gmodel *gm, double free, double pool_free)
{
    double c = free > 0 ? gm->bound * pool_free / free : 0;
    return c > 0 ? exp2(round(8 * log2(c)) / 8) : 0;
}

/* Each model's bound part: the GPU demand of its pool's shapes that may
 * not use every model of the pool (spread over the models they may use by
 * their GPUs), as a part of the pool's GPU demand; and its claim on an
 * empty cluster. Claim 1: at full arrival such shapes alone would fill the
 * model's cards; 0: nothing is bound to it. Needs count_models and the
 * shapes' reach. */
static void set_claims(struct workload *w)
{
    for (int m = 0; m < w->nmodel; m++) {
        struct gmodel *gm = &w->model[m];
        double bound = 0, all = 0, pool = pool_gpus(w, gm->pool);
        for (int i = 0; i < w->n; i++) {
            const struct entry *e = &w->e[i];
            if (!e->s.nums || shape_pool(&e->s) != gm->pool)
                continue;
            double d = e->w * demand(&e->s, gm->devmem);
            all += d;
            if (e->reach > 0 && e->reach < pool && model_allowed(w, e, gm))
                bound += d * gm->gpus / e->reach;
        }
        gm->bound = all > 0 ? bound / all : 0;
        gm->claim = claim_of(gm, gm->gpus, pool);
    }
}

/* Adds `share` of node n's CPU and memory to pool p (a row index) beside
 * the pool's `gpus` milli-GPU of it. */
static void supply_add(struct workload *w, int p, const struct policy_node *n, double share,
                       double gpus)
{
    if (n->cpu_milli > 0) {
        w->supply[p].cpu += share * (double)n->cpu_milli;
        w->supply[p].cpu_gpu += gpus;
    }
    if (n->mem_mib > 0) {
        w->supply[p].mem += share * (double)n->mem_mib;
        w->supply[p].mem_gpu += gpus;
    }
}

/* The part of node n's host (CPU, memory) it lends pool p, on[p] of its
 * devices being p's: on a node with devices, the part of them that is p's;
 * on one without, p's part of the cluster's devices (gpus of all). So a
 * cluster of one vendor lends its pool every host entire. */
static double host_part(const struct policy_node *n, int on, double gpus, double all)
{
    if (n->ndev > 0)
        return (double)on / n->ndev;
    return all > 0 ? gpus / all : 0;
}

/* Each pool's CPU and memory (struct workload's supply), each node's host
 * lent as host_part says. */
static void count_supply(struct workload *w, const struct policy_node *const *nodes, int n)
{
    double gpus[POOLS] = {0}, all = 0;
    memset(w->supply, 0, sizeof w->supply);
    for (int j = 0; j < n; j++) {
        int on[POOLS] = {0};
        for (int g = 0; g < nodes[j]->ndev; g++)
            on[pool_slot(policy_device_backend_of(&nodes[j]->dev[g]))]++;
        for (int p = 0; p < POOLS; p++) {
            if (on[p])
                supply_add(w, p, nodes[j], host_part(nodes[j], on[p], 0, 0), on[p] * POLICY_MILLI);
            gpus[p] += on[p];
        }
        all += nodes[j]->ndev;
    }
    for (int j = 0; j < n && all > 0; j++)
        for (int p = 0; p < POOLS && nodes[j]->ndev == 0; p++)
            if (gpus[p] > 0)
                supply_add(w, p, nodes[j], host_part(nodes[j], 0, gpus[p], all), 0);
}

/* The scarcity multiplier of a shape k of n nodes could host: (n / k) to
 * the scarcity exponent (1 when none could). */
static double scarcity(const struct workload *w, int n, int k)
{
    double r = (double)n / (k > 0 ? k : n);
    return w->p.scarcity == 0.5 ? sqrt(r) : pow(r, w->p.scarcity);
}

static void set_scarcity(struct workload *w, const struct policy_node *const *nodes, int n,
                         const struct kinds *kd)
{
    count_models(w, nodes, n);
    count_supply(w, nodes, n);
    for (int i = 0; i < w->n; i++) {
        struct entry *e = &w->e[i];
        int k = 0, cards = 0, big = 0;
        for (int j = 0; j < kd->n; j++) {
            k += eligible(w, e, kd->node[j]) ? kd->count[j] : 0;
            int by_size = e->s.nums > 1 ? host_by_size(w, e, kd->node[j]) : 0;
            cards += by_size > 0 ? kd->count[j] : 0;
            big += by_size > 1 ? kd->count[j] : 0;
        }
        e->scarce = scarcity(w, n, k);
        e->sized = cards > 0 ? scarcity(w, cards, big) : 1;
        e->small = cards > 0 ? 1 - (double)big / cards : 0;
        e->reach = 0;
        for (int m = 0; m < w->nmodel; m++)
            e->reach += model_allowed(w, e, &w->model[m]) ? w->model[m].gpus : 0;
    }
    set_claims(w);
    touch(w);
}

void workload_set_scarcity(struct workload *w, const struct policy_node *const *nodes, int n)
{
    struct kinds kd;
    kinds_make(&kd, nodes, n);
    set_scarcity(w, nodes, n, &kd);
    kinds_free(&kd);
}

/* The sum of the shapes' weights (in the scaled units of e->w). */
static double weight_sum(const struct workload *w)
{
    double sum = 0;
    for (int i = 0; i < w->n; i++)
        sum += w->e[i].w;
    return sum;
}

/* ---- pressure ---- */

/* Copies of multi-GPU shape e that fit node n as it is now, or empty,
 * given the cards usable_cards counts for its class (cordoned ones not). */
static int copies_fit(const struct entry *e, const struct policy_node *n, int cards, bool empty)
{
    int64_t k = cards / e->s.nums;
    int64_t cpu = n->cpu_milli - (empty ? 0 : n->cpu_used_milli);
    int64_t mem = n->mem_mib - (empty ? 0 : n->mem_used_mib);
    if (n->cpu_milli && e->s.cpu_milli > 0 && cpu / e->s.cpu_milli < k)
        k = cpu / e->s.cpu_milli;
    if (n->mem_mib && e->s.mem_mib > 0 && mem / e->s.mem_mib < k)
        k = mem / e->s.mem_mib;
    return k > 0 ? (int)k : 0;
}

/* Do classes a and b count the same cards (usable_cards)? */
static bool same_cards(const struct wclass *a, const struct wclass *b)
{
    return a->backend == b->backend && a->any_model == b->any_model &&
           (a->any_model || strcmp(a->models, b->models) == 0);
}

/* Milli-GPU one pod of shape s takes; devmem converts a MiB ask. */
static double demand(const struct workload_shape *s, double devmem)
{
    if (s->nums != 1)
        return (double)POLICY_MILLI * s->nums;
    double share =
        s->mem ? (double)POLICY_MILLI * s->mem / devmem : POLICY_MILLI / 100.0 * s->mem_pct;
    if (share < POLICY_MILLI / 100.0 * s->cores)
        share = POLICY_MILLI / 100.0 * s->cores;
    return share < POLICY_MILLI ? share : POLICY_MILLI;
}

/* group[k]: the first of the multi-GPU shapes multi[0..k] that counts the
 * same cards as shape k (usable_cards is asked once per group). */
static void card_groups(const struct workload *w, const int *multi, int nmulti, int *group)
{
    for (int k = 0; k < nmulti; k++) {
        group[k] = 0;
        while (!same_cards(&w->cls[w->e[multi[group[k]]].cls], &w->cls[w->e[multi[k]].cls]))
            group[k]++;
    }
}

/* Add the copies of each multi-GPU shape that fit node v now (whole: its
 * cards free of everything) to copies, or, empty, count times to hosts. */
static void add_copies(const struct workload *w, const struct policy_node *v, int whole, bool empty,
                       int count, const int *multi, int nmulti, const int *group, int *to)
{
    int cards[WORKLOAD_MAX_SHAPES];
    for (int k = 0; k < nmulti; k++) {
        const struct entry *e = &w->e[multi[k]];
        if (group[k] == k)
            cards[k] = usable_cards(&w->cls[e->cls], v, empty ? NULL : v->use, true);
        if (empty || e->s.nums <= whole)
            to[multi[k]] += count * copies_fit(e, v, cards[group[k]], empty);
    }
}

/* The model of healthy card d (-1: none of w's). *last: the previous
 * card's, tried first (a node's cards mostly share one model). */
static int model_of(const struct workload *w, const struct policy_device *d, int *last)
{
    const char *type = d->type ? d->type : "";
    const struct policy_device_backend *b = policy_device_backend_of(d);
    if (!d->health)
        return -1;
    if (*last < 0 || w->model[*last].pool != b || strcmp(w->model[*last].name, type) != 0)
        *last = model_find(w, b, type);
    return *last;
}

/* What pressed adds up for one pool (a backend row): its GPUs' free and
 * total milli-GPU, device memory and count, the CPU its nodes lend it
 * (host_part) and the demand of its shapes (weight x milli-GPU). */
struct pool_sum {
    double free, cap, devmem, ndev, cpu, cpu_used, dsum;
};

/* The part of pool s still open to arrivals: the smaller of the free parts
 * of its GPU capacity and of its CPU. */
static double free_part(const struct pool_sum *s)
{
    double part = s->cap > 0 ? s->free / s->cap : 0;
    if (s->cpu > 0 && (s->cpu - s->cpu_used) / s->cpu < part)
        part = (s->cpu - s->cpu_used) / s->cpu;
    return part > 0 ? part : 0;
}

/* Add to pool p of ps the CPU node v lends it (host_part). */
static void lend_cpu(struct pool_sum *ps, int p, const struct policy_node *v, double part)
{
    if (v->cpu_milli > 0) {
        ps[p].cpu += (double)v->cpu_milli * part;
        ps[p].cpu_used += (double)v->cpu_used_milli * part;
    }
}

static const struct gaps *gap_table(const struct workload *w, struct gap_ring *ring, double devmem,
                                    const char *type, const struct policy_device_backend *pool,
                                    struct gaps *tmp);

/* Of the free share f of card d, what arrivals can use: f less what no
 * sum of the common shares fills (the gap table's left, kept in ring); a
 * whole card all of it. */
static double usable(const struct workload *w, struct gap_ring *ring, const struct policy_device *d,
                     double f)
{
    struct gaps tmp;
    if (f <= 0 || f >= GAP_MAX)
        return f;
    const struct gaps *g =
        gap_table(w, ring, (double)d->devmem, d->type, policy_device_backend_of(d), &tmp);
    return f - g->left[(int)(f + 0.5)];
}

/* Add node v's cards and the CPU it lends to their pools in ps, and to
 * free each model's free milli-GPU: what arrivals can use of it (usable)
 * when ring is given, all of it when NULL. Returns its wholly free cards. */
static int sum_node(const struct workload *w, const struct policy_node *v, struct pool_sum *ps,
                    double *free, struct gap_ring *ring, int *last)
{
    int whole = 0, on[POOLS] = {0};
    for (int g = 0; g < v->ndev; g++) {
        const struct policy_usage idle = {0};
        int p = pool_slot(policy_device_backend_of(&v->dev[g]));
        double f = free_share(&v->dev[g], &v->use[g]);
        int m = model_of(w, &v->dev[g], last);
        if (m >= 0)
            free[m] += ring ? usable(w, ring, &v->dev[g], f) : f;
        ps[p].free += f;
        ps[p].cap += free_share(&v->dev[g], &idle);
        ps[p].devmem += (double)v->dev[g].devmem;
        ps[p].ndev++;
        on[p]++;
        whole += f >= POLICY_MILLI;
    }
    for (int p = 0; p < POOLS && v->ndev > 0; p++)
        lend_cpu(ps, p, v, host_part(v, on[p], 0, 0));
    return whole;
}

/* After sum_node on every node: the CPU of the nodes without devices
 * (host_part), and each pool's demand. */
static void sum_pools(const struct workload *w, const struct policy_node *const *nodes, int n,
                      struct pool_sum *ps)
{
    double all = 0;
    for (int p = 0; p < POOLS; p++)
        all += ps[p].ndev;
    for (int j = 0; j < n; j++)
        for (int p = 0; p < POOLS && nodes[j]->ndev == 0; p++)
            lend_cpu(ps, p, nodes[j], host_part(nodes[j], 0, ps[p].ndev, all));
    for (int i = 0; i < w->n; i++) {
        struct pool_sum *s = &ps[pool_slot(shape_pool(&w->e[i].s))];
        s->dsum += w->e[i].w * demand(&w->e[i].s, s->ndev > 0 ? s->devmem / s->ndev : 1);
    }
}

/* Does some model of w have shapes bound to it (a claim to measure)? */
static bool claims(const struct workload *w)
{
    for (int m = 0; m < w->nmodel; m++)
        if (w->model[m].bound > 0)
            return true;
    return false;
}

/* workload_pressed on the kinds of `nodes` (kd). Each shape is measured
 * against its own pool: the arrivals until that pool's GPUs are full, the
 * copies lost per GPU of it filled, the part of it still open. */
static void pressed(const struct workload *w, const struct policy_node *const *nodes, int n,
                    const struct kinds *kd, struct workload_press *out)
{
    uint64_t *mask = out->mask;
    int last = -1;
    int copies[WORKLOAD_MAX_SHAPES] = {0}, hosts[WORKLOAD_MAX_SHAPES] = {0};
    int multi[WORKLOAD_MAX_SHAPES], group[WORKLOAD_MAX_SHAPES], nmulti = 0;
    struct pool_sum ps[POOLS] = {{0}};
    for (int i = 0; i < w->n; i++)
        if (w->e[i].s.nums > 1)
            multi[nmulti++] = i;
    card_groups(w, multi, nmulti, group);
    memset(out->free, 0, sizeof out->free);
    struct gap_ring *ring = claims(w) ? mem_zalloc(sizeof *ring) : NULL;
    for (int j = 0; j < n; j++) {
        int whole = sum_node(w, nodes[j], ps, out->free, ring, &last);
        if (whole >= 2) /* no multi-GPU copy fits fewer */
            add_copies(w, nodes[j], whole, false, 1, multi, nmulti, group, copies);
    }
    free(ring);
    if (w->p.press_rule) /* copies on the nodes empty: once per kind */
        for (int j = 0; j < kd->n; j++)
            add_copies(w, kd->node[j], 0, true, kd->count[j], multi, nmulti, group, hosts);
    sum_pools(w, nodes, n, ps);
    double wsum = weight_sum(w);
    memset(mask, 0, sizeof(uint64_t) * WORKLOAD_MASK_WORDS);
    memset(out->loss, 0, sizeof out->loss);
    for (int k = 0; k < nmulti; k++) {
        int i = multi[k];
        const struct pool_sum *s = &ps[pool_slot(shape_pool(&w->e[i].s))];
        /* arrivals until the pool's GPUs are full, and this shape's part */
        double pods = s->dsum > 0 ? s->free * wsum / s->dsum : 0;
        double expect = pods * w->e[i].w / wsum;
        double need, left;
        if (w->p.press_rule) {
            /* copies lost per GPU filled so far, carried on to full */
            double used = s->cap - s->free;
            double rate = used > 0 ? (hosts[i] - copies[i]) / used : 0;
            left = copies[i] - rate * s->free;
            need = w->p.press_reserve * expect + 1;
        } else {
            left = copies[i];
            need = w->p.press_horizon * expect + 1;
        }
        if (copies[i] > 0 && left < need) {
            const struct entry *e = &w->e[i];
            if (!e->prior) /* a prior's rate is a bound, not a measure: no floor */
                mask[i / 64] |= 1ULL << (i % 64);
            out->loss[i] = e->s.nums * free_part(s) * fmin(1, (need - left) / copies[i]) *
                           e->sized * (e->prior ? e->small : 1);
        }
    }
}

void workload_pressed(const struct workload *w, const struct policy_node *const *nodes, int n,
                      struct workload_press *out)
{
    struct kinds kd;
    kinds_make(&kd, nodes, n);
    pressed(w, nodes, n, &kd, out);
    kinds_free(&kd);
}

/* Each model's claim on the free capacity of now. */
static bool set_free_claims(struct workload *w, const double *free)
{
    double pool_free[POOLS] = {0};
    bool changed = false;
    for (int m = 0; m < w->nmodel; m++)
        pool_free[pool_slot(w->model[m].pool)] += free[m];
    for (int m = 0; m < w->nmodel; m++) {
        struct gmodel *gm = &w->model[m];
        double c = claim_of(gm, free[m], pool_free[pool_slot(gm->pool)]);
        changed |= c != gm->claim;
        gm->claim = c;
    }
    return changed;
}

bool workload_set_pressed(struct workload *w, const struct workload_press *now)
{
    double wsum = weight_sum(w);
    bool claims = set_free_claims(w, now->free), changed = false, losses = false;
    w->lossy = 0;
    for (int i = 0; i < w->n; i++) {
        struct entry *e = &w->e[i];
        bool p = now->mask[i / 64] >> (i % 64) & 1;
        double m = p && e->w > 0 ? w->p.press_floor * wsum / e->w : 1;
        double loss = now->loss[i]; /* what pressed measured: priors' without the floor */
        m = m > 1 ? m : 1;
        changed |= m != e->press;
        losses |= loss != e->loss;
        e->press = m;
        e->loss = loss;
        if (loss > 0)
            w->lossy_at[w->lossy++] = (int16_t)i;
    }
    if (changed)
        touch(w);
    else if (claims || losses)
        touch_terms(w, claims, losses);
    return changed || claims || losses;
}

void workload_meet(struct workload *w, const struct policy_node *const *nodes, int n)
{
    struct kinds kd;
    struct workload_press press;
    kinds_make(&kd, nodes, n);
    add_prior(w, &kd);
    set_scarcity(w, nodes, n, &kd);
    pressed(w, nodes, n, &kd, &press);
    workload_set_pressed(w, &press);
    kinds_free(&kd);
}

double workload_fragment(const struct workload *w, const struct policy_node *node,
                         const struct policy_usage *u, int64_t cpu_used, int64_t mem_used)
{
    return workload_fragment_memo(w, NULL, node, u, cpu_used, mem_used);
}

/* What the balance feeds a milli-GPU with: the GPU shapes' mean ask (own),
 * plus what the CPU-only shapes ask per milli-GPU of the GPU shapes (extra):
 * all of it (ask_rule 0), or only what the supply left beside own cannot
 * absorb (ask_rule 1; all of it when the supply is unknown). ask_rule 2:
 * own, and in *only the CPU-only ask each node is to carry before its own
 * spare: extra times the part u of the supply's spare (supply - own) that
 * extra fills, at most all of it (u 1 when nothing is spare); in *idle what
 * an idle node carries: *only times the idle ramp's part at u. In *u that
 * u (0 under other rules or without a supply): above 1 the pool is u times
 * short of the spare its CPU-only demand asks. No spare at all (the GPU
 * pods alone ask more than the supply, so the ask already finds every node
 * short) is u 1. */
static double ask_with(const struct workload *w, double own, double extra, double supply,
                       double *only, double *idle, double *u)
{
    *only = *idle = *u = 0;
    if (w->p.ask_rule <= 0 || supply <= 0)
        return own + extra;
    if (w->p.ask_rule < 2)
        return own + fmax(0, extra - fmax(0, supply - own));
    double r = w->p.idle_ramp;
    *u = supply > own ? extra / (supply - own) : 1;
    *only = extra * fmin(1, *u);
    *idle = r > 0 ? *only * fmin(1, fmax(0, (*u - 1 + r) / r)) : *only;
    return own;
}

/* x / of, or 1 when `of` is 0 (nothing counted: all of it). */
static double part(double x, double of)
{
    return of > 0 ? x / of : 1;
}

/* The workload's mean ask (weighted by popularity) on pool's devices, kept
 * in the memo when there is one. The CPU-only shapes' ask lands on every
 * pool; each pool carries the part of it its CPU is of all (its memory:
 * of all memory). */
static const struct ask *mean_ask(const struct workload *w, struct workload_memo *m, double devmem,
                                  const struct policy_device_backend *pool, struct ask *tmp)
{
    if (m && m->ask.epoch == w->fepoch && m->ask.devmem == devmem && m->ask.pool == pool)
        return &m->ask;
    struct ask *a = m ? &m->ask : tmp;
    double cpu[2] = {0}, mem[2] = {0}, gpu = 0; /* [0] GPU shapes, [1] CPU-only ones */
    for (int i = 0; i < w->n; i++) {
        if (!in_pool(&w->e[i].s, pool))
            continue;
        int k = w->e[i].s.nums == 0;
        cpu[k] += w->e[i].w * (double)w->e[i].s.cpu_milli;
        mem[k] += w->e[i].w * (double)w->e[i].s.mem_mib;
        gpu += w->e[i].w * demand(&w->e[i].s, devmem);
    }
    *a = (struct ask){.epoch = w->fepoch, .pool = pool, .devmem = devmem, .shortage = 1};
    const struct supply *sp = &w->supply[pool_slot(pool)];
    double all_cpu = 0, all_mem = 0;
    for (int p = 0; p < POOLS; p++) {
        all_cpu += w->supply[p].cpu;
        all_mem += w->supply[p].mem;
    }
    if (gpu > 0) {
        double cpu_u, mem_u;
        a->cpu = ask_with(w, cpu[0] / gpu, cpu[1] / gpu * part(sp->cpu, all_cpu),
                          sp->cpu_gpu > 0 ? sp->cpu / sp->cpu_gpu : 0, &a->cpu_only, &a->idle_cpu,
                          &cpu_u);
        a->mem = ask_with(w, mem[0] / gpu, mem[1] / gpu * part(sp->mem, all_mem),
                          sp->mem_gpu > 0 ? sp->mem / sp->mem_gpu : 0, &a->mem_only, &a->idle_mem,
                          &mem_u);
        a->u = fmax(cpu_u, mem_u);
        /* the pool is u times short: every milli-GPU its CPU or memory cannot
         * feed weighs as much more; at most WORKLOAD_SHORTAGE_MAX (a guard as
         * the spare nears 0) */
        if (w->p.balance_short > 0)
            a->shortage = fmin(WORKLOAD_SHORTAGE_MAX, fmax(1, a->u));
        if (w->p.ask_rule >= 2)
            a->node_peak = w->p.node_short * fmax(0, 1 - a->u);
    }
    return a;
}

/* The ask per milli-GPU on a node that has `has` over its `gpu` milli-GPU:
 * the mean ask, plus what of the CPU-only ask `only` (ask_rule 2; else 0)
 * the node's spare beyond the mean ask cannot hold. */
static double node_ask(double ask, double only, int64_t has, double gpu)
{
    if (only <= 0)
        return ask;
    return ask + fmax(0, only - fmax(0, (double)has / gpu - ask));
}

/* Does the node carry the idle ask (ask_rule 2 with an idle ramp): nothing
 * on it yet, no pod's CPU, memory or GPU (before this pod)? */
static bool idle_node(const struct workload *w, const struct policy_node *node)
{
    if (w->p.ask_rule < 2 || w->p.idle_ramp <= 0)
        return false;
    if (node->cpu_used_milli > 0 || node->mem_used_mib > 0)
        return false;
    for (int g = 0; g < node->ndev; g++)
        if (node->use[g].used > 0)
            return false;
    return true;
}

/* The mean ask on the node's devices of pool (np of them). */
static const struct ask *pool_ask(const struct workload *w, struct workload_memo *m,
                                  const struct policy_node *node,
                                  const struct policy_device_backend *pool, int np, struct ask *tmp)
{
    double devmem = 0;
    for (int g = 0; g < node->ndev; g++)
        if (card_pool(node, &node->dev[g]) == pool)
            devmem += (double)node->dev[g].devmem / np;
    return mean_ask(w, m, devmem > 0 ? devmem : 1, pool, tmp);
}

/* The weight of one resource on a node with `has` of it per milli-GPU:
 * 1 + peak where its spare beyond the GPU pods' ask (own) is 0, falling
 * linearly to 1 as the spare moves by the CPU-only ask `only` either way. */
static double node_short(double peak, double has, double own, double only)
{
    if (only <= 0)
        return 1;
    return 1 + peak * fmax(0, 1 - fabs(has - own) / only);
}

/* What the balance is multiplied by on this node (gpu: its milli-GPU): the
 * pool's shortage, or the node's own where that is larger (none on a pool
 * short of CPU, where the peak is 0). */
static double node_weight(const struct ask *a, const struct policy_node *node, double gpu)
{
    if (gpu <= 0 || a->node_peak <= 0)
        return a->shortage;
    double cpu = node->cpu_milli > 0
                     ? node_short(a->node_peak, (double)node->cpu_milli / gpu, a->cpu, a->cpu_only)
                     : 1;
    double mem = node->mem_mib > 0
                     ? node_short(a->node_peak, (double)node->mem_mib / gpu, a->mem, a->mem_only)
                     : 1;
    return fmax(a->shortage, fmax(cpu, mem));
}

/* The free capacity that the node's free CPU and memory could not feed if
 * every GPU of the pool (np of the node's devices) went to the node's ask
 * (a: node_ask: the mean ask unless ask_rule is 2; idle: idle_node). On a
 * node of two vendors each pool feeds from the part of the free CPU and
 * memory its devices are, so the pools do not both count all of it. */
static double stranded(const struct ask *a, const struct policy_node *node, int np, double total,
                       int64_t cpu_free, int64_t mem_free, bool idle)
{
    double gpu = (double)node->ndev * POLICY_MILLI, fed = total;
    double cpu = node_ask(a->cpu, idle ? a->idle_cpu : a->cpu_only, node->cpu_milli, gpu);
    double mem = node_ask(a->mem, idle ? a->idle_mem : a->mem_only, node->mem_mib, gpu);
    double mine = np < node->ndev ? (double)np / node->ndev : 1; /* the pool's part */
    double cpu_have = (double)cpu_free * mine, mem_have = (double)mem_free * mine;
    if (node->cpu_milli > 0 && cpu > 0 && cpu_have / cpu < fed)
        fed = cpu_have / cpu;
    if (node->mem_mib > 0 && mem > 0 && mem_have / mem < fed)
        fed = mem_have / mem;
    return node_weight(a, node, gpu) * (total - (fed > 0 ? fed : 0));
}

/* The model of the table (workload_set_scarcity) that cards of `type` in
 * pool are, or NULL (not counted, or the gap term ignores models). */
static const struct gmodel *find_model(const struct workload *w, const char *type,
                                       const struct policy_device_backend *pool)
{
    int m = w->p.gap_models > 0 ? model_find(w, pool, type ? type : "") : -1;
    return m >= 0 ? &w->model[m] : NULL;
}

/* The part of shape e's weight that lands on cards of model gm: its weight
 * times gm's part of the GPUs e may use; all of it without a model. */
static double lands(const struct workload *w, const struct entry *e, const struct gmodel *gm,
                    const struct typemask *tm)
{
    if (!gm)
        return e->w;
    if (e->s.nums && !(tm->bits[e->cls / 64] >> (e->cls % 64) & 1))
        return 0; /* its model list excludes gm */
    double reach = e->reach > 0 ? e->reach : w->all_gpus;
    return reach > 0 ? e->w * gm->gpus / reach : e->w;
}

/* How common share size d is: its part of the shares' milli-GPU (gap_rule
 * 1) or of all weight (0); common at threshold t when at least t. */
static double size_part(const struct workload *w, const double *size_w, int d, double mass,
                        double total)
{
    if (w->p.gap_rule > 0)
        return d == GAP_MAX || mass <= 0 ? 0 : size_w[d] * d / mass;
    return total > 0 ? size_w[d] / total : 0;
}

/* Adds share size d, repeats allowed, to the sums reach[] marks. */
static void reach_add(bool *reach, int d)
{
    for (int x = d; x <= GAP_MAX; x++)
        reach[x] |= reach[x - d];
}

/* Adds to sum[x], for every free share x, weight times what of it is left
 * below the largest sum reach[] marks. */
static void add_left(const bool *reach, double weight, double *sum)
{
    for (int x = 0, best = 0; x <= GAP_MAX; x++) {
        best = reach[x] ? x : best;
        sum[x] += weight * (x - best);
    }
}

struct cut {
    double at; /* log2 of a size's part */
    int d;     /* the size */
};

static int cut_later(const void *a, const void *b)
{
    double x = ((const struct cut *)a)->at, y = ((const struct cut *)b)->at;
    return (x < y) - (x > y);
}

/* The gaps at one threshold (gap_ramp 0), or the ramp: their mean over
 * every threshold from gap_common / 2^w to x 2^w (w = gap_ramp; 1: half
 * to twice), evenly in log2. Walking
 * the threshold down, a size turns common where it meets the size's own
 * part and stays common, so one pass per stretch between such points,
 * weighed by the stretch's length, gives the mean exactly. */
static void add_gaps(const struct workload *w, const double *size_w, double mass, double total,
                     double *sum)
{
    bool reach[GAP_MAX + 1] = {true};
    struct cut cut[GAP_MAX];
    double half = w->p.gap_ramp; /* the ramp's half width, in log2 */
    double hi = log2(w->p.gap_common) + half, lo = hi - 2 * half;
    int n = 0;
    for (int d = 1; d <= GAP_MAX; d++) {
        double r = size_w[d] > 0 ? size_part(w, size_w, d, mass, total) : 0;
        double at = r > 0 ? log2(r) : -INFINITY;
        if (at >= hi)
            reach_add(reach, d);
        else if (at > lo)
            cut[n++] = (struct cut){at, d};
    }
    if (half == 0) {
        add_left(reach, 1, sum);
        return;
    }
    qsort(cut, (size_t)n, sizeof *cut, cut_later);
    for (int i = 0; i <= n; i++) {
        double to = i < n ? cut[i].at : lo;
        if (to < hi) /* sizes with equal parts share one stretch */
            add_left(reach, (hi - to) / (2 * half), sum);
        hi = to;
        if (i < n)
            reach_add(reach, cut[i].d);
    }
}

/* The gap table for cards of devmem MiB and model `type`, kept in ring
 * when there is one: which sums of common share sizes (repeats allowed)
 * reach each size, and what is left of a free share below the largest such
 * sum. */
static const struct gaps *gap_table(const struct workload *w, struct gap_ring *ring, double devmem,
                                    const char *type, const struct policy_device_backend *pool,
                                    struct gaps *tmp)
{
    for (int i = 0; ring && i < GAP_CACHE; i++) {
        const struct gaps *g = &ring->g[i];
        if (g->epoch == w->fepoch && g->devmem == devmem && g->pool == pool && g->type == type)
            return g;
    }
    struct gaps *g = ring ? &ring->g[ring->next++ % GAP_CACHE] : tmp;
    double size_w[GAP_MAX + 1] = {0}; /* weight of the one-GPU shapes asking each share */
    double total = 0;
    struct typemask ttmp;
    const struct gmodel *gm = find_model(w, type, pool);
    const struct typemask *tm = gm ? type_mask(w, NULL, type, pool, &ttmp) : NULL;
    for (int i = 0; i < w->n; i++) {
        if (!in_pool(&w->e[i].s, pool))
            continue;
        double on = lands(w, &w->e[i], gm, tm);
        int d = (int)(demand(&w->e[i].s, devmem) + 0.5);
        total += on;
        if (w->e[i].s.nums == 1 && d > 0 && d <= GAP_MAX)
            size_w[d] += on;
    }
    double mass = 0; /* of the shares below a card */
    for (int d = 1; d < GAP_MAX; d++)
        mass += size_w[d] * d;
    double sum[GAP_MAX + 1] = {0};
    add_gaps(w, size_w, mass, total, sum);
    for (int x = 0; x <= GAP_MAX; x++)
        g->left[x] = (int16_t)(sum[x] + 0.5);
    g->epoch = w->fepoch;
    g->pool = pool;
    g->type = type;
    g->devmem = devmem;
    return g;
}

/* The gap term's sum over the partly used GPUs of the pool (shares in
 * milli-GPU; 0 outside the pool). */
static double gaps_left(const struct workload *w, struct workload_memo *m,
                        const struct policy_node *node, const struct policy_device_backend *pool,
                        const double *share)
{
    const struct gaps *g = NULL;
    struct gaps tmp;
    double left = 0;
    for (int i = 0; i < node->ndev; i++) {
        if (share[i] <= 0 || share[i] >= GAP_MAX)
            continue;
        if (!g || g->devmem != (double)node->dev[i].devmem || g->type != node->dev[i].type)
            g = gap_table(w, m ? &m->gaps : NULL, (double)node->dev[i].devmem, node->dev[i].type,
                          pool, &tmp);
        left += g->left[(int)(share[i] + 0.5)];
    }
    return left;
}

/* The pool's shapes as F weighs them under one fepoch, in the histogram's
 * order (F's sums keep it, so they round as one pass over the entries
 * would): what each weighs, its host ask and class. */
static const struct plan *plan_of(const struct workload *w, struct workload_memo *m,
                                  const struct policy_device_backend *pool, struct plan *tmp)
{
    for (int i = 0; m && i < PLAN_CACHE; i++)
        if (m->plans[i].pool == pool && m->plans[i].fepoch == w->fepoch)
            return &m->plans[i];
    struct plan *p = m ? &m->plans[m->next_plan++ % PLAN_CACHE] : tmp;
    bool fgd = w->measure == WORKLOAD_FGD;
    p->fepoch = w->fepoch;
    p->pool = pool;
    p->n = 0;
    p->wsum = 0;
    for (int i = 0; i < w->n; i++) {
        const struct entry *e = &w->e[i];
        if (!in_pool(&e->s, pool))
            continue;
        double wm = e->w * (fgd ? 1 : e->scarce * e->press);
        p->wsum += wm;
        p->s[p->n++] = (struct pshape){wm, e->s.cpu_milli, e->s.mem_mib, e->cls, e->s.nums > 0};
    }
    return p;
}

/* Per class of the pool (all, or those of the shapes with a loss when
 * !core): the free share its GPUs cannot use (frag), the copies its GPUs
 * host (copies, cap: the capacity they take) and whether a copy fits (ok). */
struct cards {
    double frag[WORKLOAD_MAX_SHAPES], copies[WORKLOAD_MAX_SHAPES], cap[WORKLOAD_MAX_SHAPES];
    bool ok[WORKLOAD_MAX_SHAPES];
};

/* Do cards a and b answer every class alike (gpu_fits, copies_on)? */
static bool same_card(const struct policy_node *node, const struct policy_usage *u,
                      const double *share, const struct typemask *const *tm, int a, int b)
{
    const struct policy_device *x = &node->dev[a], *y = &node->dev[b];
    return tm[a] == tm[b] && share[a] == share[b] && x->devmem == y->devmem &&
           x->devcore == y->devcore && x->count == y->count && u[a].used == u[b].used &&
           u[a].mem == u[b].mem && u[a].cores == u[b].cores;
}

/* One card's answers for a block of classes (count_block): does one GPU of
 * each fit, how many copies and the capacity they take (0 when none fits). */
struct row {
    double n[COUNT_BLOCK], cap[COUNT_BLOCK];
    bool fit[COUNT_BLOCK];
};

/* count_cards for the nb classes ks: card by card in card order, each
 * class's sums one add per card as the class-by-class loop made them (a
 * card that adds nothing adds 0.0), so the classes' adds are independent
 * of each other; a card alike to an earlier one (first) is not asked. */
static void count_block(const struct workload *w, const struct policy_node *node,
                        const struct policy_usage *u, const double *share,
                        const struct typemask *const *tm, const int *first, const int *ks, int nb,
                        struct cards *c)
{
    struct row rows[POLICY_MAX_DEVICES]; /* by the card first asked */
    double frag[COUNT_BLOCK] = {0}, copies[COUNT_BLOCK] = {0}, cap[COUNT_BLOCK] = {0};
    int usable[COUNT_BLOCK] = {0};
    for (int g = 0; g < node->ndev; g++) {
        if (share[g] <= 0)
            continue;
        struct row *r = &rows[first[g]];
        for (int i = 0; first[g] == g && i < nb; i++) {
            const struct wclass *cls = &w->cls[ks[i]];
            r->fit[i] = (tm[g]->bits[ks[i] / 64] >> (ks[i] % 64) & 1) &&
                        gpu_fits(cls, &node->dev[g], &u[g]);
            r->cap[i] = 0;
            r->n[i] = r->fit[i] ? copies_on(cls, &node->dev[g], &u[g], share[g], &r->cap[i]) : 0;
        }
        for (int i = 0; i < nb; i++) {
            frag[i] += r->fit[i] ? 0.0 : share[g];
            copies[i] += r->n[i];
            cap[i] += r->cap[i];
            usable[i] += r->fit[i];
        }
    }
    for (int i = 0; i < nb; i++) {
        int k = ks[i], nums = w->cls[k].nums;
        c->ok[k] = usable[i] >= nums;
        c->frag[k] = frag[i];
        c->copies[k] = nums > 1 ? (double)(usable[i] / nums) : copies[i]; /* whole cards */
        c->cap[k] = nums > 1 ? c->copies[k] * nums * (double)POLICY_MILLI : cap[i];
    }
}

static void count_cards(const struct workload *w, const struct policy_node *node,
                        const struct policy_usage *u, const struct policy_device_backend *pool,
                        const double *share, const struct typemask *const *tm, bool core,
                        struct cards *c)
{
    bool need[WORKLOAD_MAX_SHAPES];
    int ks[WORKLOAD_MAX_SHAPES], nk = 0;
    int first[POLICY_MAX_DEVICES]; /* the first card alike (same_card): asked once */
    if (!core) {                   /* the classes of the shapes with a loss only */
        memset(need, 0, sizeof need[0] * (size_t)w->ncls);
        for (int j = 0; j < w->lossy; j++)
            need[w->e[w->lossy_at[j]].cls] = true;
    }
    for (int k = 0; k < w->ncls; k++) /* not another pool's, and read by some term */
        if (!(w->cls[k].nums && w->cls[k].backend != pool) && (core || need[k]))
            ks[nk++] = k;
    for (int g = 0; g < node->ndev; g++) {
        first[g] = g;
        for (int h = 0; h < g && first[g] == g && share[g] > 0; h++)
            if (share[h] > 0 && same_card(node, u, share, tm, g, h))
                first[g] = h;
    }
    for (int b = 0; b < nk; b += COUNT_BLOCK)
        count_block(w, node, u, share, tm, first, ks + b,
                    nk - b < COUNT_BLOCK ? nk - b : COUNT_BLOCK, c);
}

/* The shapes' waste: what of the free capacity (total) each cannot use,
 * weighted. */
static double shapes_waste(const struct workload *w, const struct plan *p, const struct cards *c,
                           double total, int64_t cpu_free, int64_t mem_free)
{
    bool copies = w->measure != WORKLOAD_ONE_COPY && w->measure != WORKLOAD_FGD;
    double f = 0;
    for (int j = 0; j < p->n; j++) {
        const struct pshape *s = &p->s[j];
        bool host = s->cpu <= cpu_free && s->mem <= mem_free && c->ok[s->cls];
        double waste = !host ? total : !s->gpu ? 0 : c->frag[s->cls];
        if (host && s->gpu && copies) {
            double cw = copies_waste(s->cpu, s->mem, c->copies[s->cls], c->cap[s->cls], total,
                                     cpu_free, mem_free);
            waste = w->measure == WORKLOAD_COPIES ? cw : (1 - w->p.blend) * waste + w->p.blend * cw;
        }
        f += s->wm * waste;
    }
    return f;
}

/* usable_cards of class k on the node empty, cordoned cards not, by the
 * pool's type masks (tm: NULL for another pool's cards) rather than the
 * model list. */
static int empty_cards(const struct workload *w, int k, const struct policy_node *node,
                       const struct typemask *const *tm)
{
    static const struct policy_usage idle;
    int cards = 0;
    for (int g = 0; g < node->ndev; g++) {
        const struct policy_device *d = &node->dev[g];
        if (tm[g] && d->health && !d->cordoned && (tm[g]->bits[k / 64] >> (k % 64) & 1) &&
            gpu_fits(&w->cls[k], d, &idle))
            cards++;
    }
    return cards;
}

/* The host-loss term: over the pool's shapes with a loss, the most GPUs
 * the copies the node could host empty fail beyond those it hosts now. */
static double host_loss(const struct workload *w, const struct policy_node *node,
                        const struct policy_device_backend *pool, const struct typemask *const *tm,
                        const struct cards *c, int64_t cpu_free, int64_t mem_free)
{
    double kept = 0, could = 0;
    for (int j = 0; j < w->lossy; j++) {
        const struct entry *e = &w->e[w->lossy_at[j]];
        if (!in_pool(&e->s, pool))
            continue;
        bool host = e->s.cpu_milli <= cpu_free && e->s.mem_mib <= mem_free && c->ok[e->cls];
        double k =
            host ? copies_now(e->s.cpu_milli, e->s.mem_mib, c->copies[e->cls], cpu_free, mem_free)
                 : 0;
        int cards = empty_cards(w, e->cls, node, tm);
        kept = fmax(kept, k * e->loss);
        could = fmax(could, copies_fit(e, node, cards, true) * e->loss);
    }
    return w->p.host_loss * POLICY_MILLI * (could - kept);
}

/* The node's cards of pool: each one's free share (0 for another pool's)
 * and type mask (NULL for another pool's, else in tmp or the memo), their
 * sum (*total) and the claim term's sum (*claimed); returns their count. */
static int pool_cards(const struct workload *w, struct workload_memo *m,
                      const struct policy_node *node, const struct policy_usage *u,
                      const struct policy_device_backend *pool, double *share,
                      const struct typemask **tm, struct typemask *tmp, double *total,
                      double *claimed)
{
    int np = 0;
    *total = *claimed = 0;
    for (int g = 0; g < node->ndev; g++) {
        const struct policy_device *d = &node->dev[g];
        if (card_pool(node, d) != pool) {
            share[g] = 0;
            tm[g] = NULL;
            continue;
        }
        np++;
        share[g] = free_share(d, &u[g]);
        *total += share[g];
        /* a card of the model of the one before it: the same mask */
        bool as_before = g > 0 && tm[g - 1] && d->type == node->dev[g - 1].type;
        tm[g] = as_before ? tm[g - 1] : type_mask(w, m, d->type, pool, &tmp[g]);
        *claimed += claim_of_mask(w, tm[g]) * (POLICY_MILLI - share[g]);
    }
    return np;
}

/* The claim term of a pool whose cards' claims sum to claimed: none
 * under FGD's measure or when the pool's shapes weigh nothing. */
static double claim_term(const struct workload *w, const struct plan *p, double claimed)
{
    return w->measure == WORKLOAD_FGD || p->wsum <= 0 ? 0 : w->p.claim * claimed;
}

/* F of a state from its parts (measure): the claim term apart, or NAN
 * when it is inside rest; the sums as one pass of measure_pool makes them. */
static double f_of(double rest, double claim, double loss)
{
    return (isnan(claim) ? rest : rest + claim) + loss;
}

/* F of one pool: the node's devices of vendor `pool`, against the shapes
 * asking it; the claim term to *claim and the host-loss term to *loss
 * (F = returned + *claim + *loss). core false: the host-loss term alone
 * (0 returned). */
static double measure_pool(const struct workload *w, struct workload_memo *m,
                           const struct policy_node *node, const struct policy_usage *u,
                           int64_t cpu_used, int64_t mem_used,
                           const struct policy_device_backend *pool, bool idle, bool core,
                           double *claim, double *loss)
{
    double share[POLICY_MAX_DEVICES], total, claimed;
    const struct typemask *tm[POLICY_MAX_DEVICES];
    struct typemask tmp[POLICY_MAX_DEVICES];
    struct plan own;
    struct cards c;
    bool fgd = w->measure == WORKLOAD_FGD;

    *loss = 0;
    int np = pool_cards(w, m, node, u, pool, share, tm, tmp, &total, &claimed);
    const struct plan *p = plan_of(w, m, pool, m ? NULL : &own);
    *claim = claim_term(w, p, claimed);
    if (p->wsum <= 0)
        return 0;
    count_cards(w, node, u, pool, share, tm, core, &c);
    int64_t cpu_free = node->cpu_milli > 0 ? node->cpu_milli - cpu_used : INT64_MAX;
    int64_t mem_free = node->mem_mib > 0 ? node->mem_mib - mem_used : INT64_MAX;
    struct ask asked;
    const struct ask *a = fgd ? NULL : pool_ask(w, m, node, pool, np, &asked);
    /* the host-loss term: none on a pool short of CPU */
    if (a && a->u <= 1 && w->p.host_loss > 0 && w->lossy)
        *loss = host_loss(w, node, pool, tm, &c, cpu_free, mem_free);
    if (!core)
        return 0;
    double f = shapes_waste(w, p, &c, total, cpu_free, mem_free);
    if (fgd)
        return f / p->wsum;
    return f / p->wsum + w->p.balance * stranded(a, node, np, total, cpu_free, mem_free, idle) +
           w->p.gap_weight * gaps_left(w, m, node, pool, share);
}

/* The claim term of a node of one pool alone (measure_pool's *claim). */
static double claim_pool(const struct workload *w, struct workload_memo *m,
                         const struct policy_node *node, const struct policy_usage *u,
                         const struct policy_device_backend *pool)
{
    double share[POLICY_MAX_DEVICES], total, claimed;
    const struct typemask *tm[POLICY_MAX_DEVICES];
    struct typemask tmp[POLICY_MAX_DEVICES];
    struct plan own;
    pool_cards(w, m, node, u, pool, share, tm, tmp, &total, &claimed);
    return claim_term(w, plan_of(w, m, pool, m ? NULL : &own), claimed);
}

/* The node's pools (one on a node of one vendor), into pools; their count. */
static int node_pools(const struct policy_node *node, const struct policy_device_backend **pools)
{
    int npool = 0;
    if (node->vendor || node->ndev == 0) {
        pools[0] = node->vendor ? node->vendor : policy_device_backends[0];
        return 1;
    }
    for (int g = 0; g < node->ndev; g++) {
        const struct policy_device_backend *b = policy_device_backend_of(&node->dev[g]);
        int k = 0;
        while (k < npool && pools[k] != b)
            k++;
        if (k == npool)
            pools[npool++] = b;
    }
    return npool;
}

/* F itself: the sum over the node's pools; idle: idle_node. F = returned +
 * *claim + *loss, the claim term apart on a node of one pool (NAN on one of
 * several: in the returned part). core false: only *loss is measured. */
static double measure(const struct workload *w, struct workload_memo *m,
                      const struct policy_node *node, const struct policy_usage *u,
                      int64_t cpu_used, int64_t mem_used, bool idle, bool core, double *claim,
                      double *loss)
{
    const struct policy_device_backend *pools[POLICY_MAX_DEVICES];
    int npool = node_pools(node, pools);
    if (npool == 1)
        return measure_pool(w, m, node, u, cpu_used, mem_used, pools[0], idle, core, claim, loss);
    double f = 0, c, l;
    *loss = 0;
    for (int k = 0; k < npool; k++) {
        double r = measure_pool(w, m, node, u, cpu_used, mem_used, pools[k], idle, core, &c, &l);
        f += r + c;
        *loss += l;
    }
    *claim = NAN;
    return f;
}

/* h, already spread, takes in v: one bijection per value, so two
 * sequences that differ anywhere end apart but by chance (2^-64). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    return hash_mix(h ^ v);
}

/* What F reads of a node that its usage leaves alone, hashed: the host's
 * size and each card's model, vendor, size, health and slots. */
static uint64_t node_key(const struct policy_node *node)
{
    uint64_t h = mix(hash_mix((uint64_t)node->cpu_milli), (uint64_t)node->mem_mib);
    for (int g = 0; g < node->ndev; g++) {
        const struct policy_device *d = &node->dev[g];
        h = mix(h, (uint64_t)(uintptr_t)d->type);
        if (d->backend && d->backend != policy_device_backends[0]) /* first row's keys as before */
            h = mix(h, (uint64_t)(uintptr_t)d->backend);
        h = mix(h, (uint64_t)d->devmem << 20 ^ (uint64_t)d->devcore << 4 ^
                       (uint64_t)d->health << 1 ^ (uint64_t)d->cordoned);
        h = mix(h, (uint64_t)(uint32_t)d->count);
    }
    return h;
}

/* Card g's usage, hashed on its own: a state's cards are keyed by the sum
 * of theirs, so a state that differs from the node's own usage in a card
 * or two is keyed from the node's sum (nslot) in a few rounds. */
static uint64_t card_key(int g, const struct policy_usage *u)
{
    return mix(hash_mix((uint64_t)g * 0x9e3779b97f4a7c15ULL ^ (uint64_t)u->mem),
               (uint64_t)(uint32_t)u->cores << 32 | (uint32_t)u->used);
}

/* card_key summed over the node's cards with usage u. */
static uint64_t cards_key(const struct policy_node *node, const struct policy_usage *u)
{
    uint64_t sum = 0;
    for (int g = 0; g < node->ndev; g++)
        sum += card_key(g, &u[g]);
    return sum;
}

/* Everything F depends on, hashed: the workload, the node (n's node_key,
 * or node_key), its usage (cards: from n's sum of the node's own, the
 * cards u changes swapped) and idle (idle_node). */
static uint64_t state_key(const struct workload *w, const struct policy_node *node,
                          const struct nslot *n, const struct policy_usage *u, int64_t cpu_used,
                          int64_t mem_used, bool idle)
{
    uint64_t cards = n ? n->cards : cards_key(node, u);
    for (int g = 0; n && u != node->use && g < node->ndev; g++) {
        const struct policy_usage *a = &node->use[g], *b = &u[g];
        if (a->mem != b->mem || a->cores != b->cores || a->used != b->used)
            cards += card_key(g, b) - card_key(g, a);
    }
    uint64_t h = mix(hash_mix(w->fepoch), n ? n->key : node_key(node));
    h = mix(h, (uint64_t)(node->cpu_milli - cpu_used) << 1 ^ idle);
    h = mix(h, (uint64_t)(node->mem_mib - mem_used));
    return mix(h, cards) | 1; /* 0 marks an empty slot */
}

/* The memo's entry for node (NULL: the view is not stamped), made anew
 * when the node or its stamp is not the entry's. */
static struct nslot *node_slot(struct workload_memo *m, const struct policy_node *node)
{
    if (!node->gen || node->id < 0)
        return NULL;
    struct nslot *n = &m->n[node->id & (WORKLOAD_MEMO_NODES - 1)];
    if (n->gen != node->gen || n->id != node->id)
        *n = (struct nslot){.gen = node->gen,
                            .key = node_key(node),
                            .cards = cards_key(node, node->use),
                            .id = node->id};
    return n;
}

/* Measure slot s anew: the state's F under w, all three parts. */
static void fill(const struct workload *w, struct workload_memo *m, struct slot *s, uint64_t key,
                 const struct policy_node *node, const struct policy_usage *u, int64_t cpu_used,
                 int64_t mem_used, bool idle)
{
    s->rest = measure(w, m, node, u, cpu_used, mem_used, idle, true, &s->claim, &s->loss);
    s->key = key;
    s->cepoch = w->cepoch;
    s->lepoch = w->lepoch;
}

double workload_fragment_memo(const struct workload *w, struct workload_memo *m,
                              const struct policy_node *node, const struct policy_usage *u,
                              int64_t cpu_used, int64_t mem_used)
{
    double claim, loss;
    if (!m) {
        double rest =
            measure(w, NULL, node, u, cpu_used, mem_used, idle_node(w, node), true, &claim, &loss);
        return f_of(rest, claim, loss);
    }
    bool as_is =
        u == node->use && cpu_used == node->cpu_used_milli && mem_used == node->mem_used_mib;
    struct nslot *n = node_slot(m, node);
    if (n && as_is && n->epoch == w->epoch)
        return n->f;
    bool idle = idle_node(w, node);
    uint64_t key = state_key(w, node, n, u, cpu_used, mem_used, idle);
    struct slot *s = &m->s[key & (WORKLOAD_MEMO_SLOTS - 1)];
    if (s->key != key || (s->cepoch != w->cepoch && isnan(s->claim))) {
        fill(w, m, s, key, node, u, cpu_used, mem_used, idle);
    } else { /* (fepoch, state) as measured: only claims or losses may have moved */
        const struct policy_device_backend *pools[POLICY_MAX_DEVICES];
        if (s->cepoch != w->cepoch && node_pools(node, pools) == 1)
            s->claim = claim_pool(w, m, node, u, pools[0]);
        if (s->lepoch != w->lepoch) {
            s->loss = 0;
            if (w->lossy)
                measure(w, m, node, u, cpu_used, mem_used, idle, false, &claim, &s->loss);
        }
        s->cepoch = w->cepoch;
        s->lepoch = w->lepoch;
    }
    double f = f_of(s->rest, s->claim, s->loss);
    if (n && as_is) {
        n->epoch = w->epoch;
        n->f = f;
    }
    return f;
}

size_t workload_bytes(void)
{
    return sizeof(struct workload);
}

/* The workload, its fragmentation measure (hand-computed tables) and the
 * fragment-aware node policy's choices. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "policy/device.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "tests/support/harness.h"

/* Cards of 1000 MiB and 100 cores, 100 slots: a share of 500 = 50 %. */
struct tnode {
    struct policy_node n;
    struct policy_device dev[4];
    struct policy_usage use[4];
};

static const char *const A100 = "NVIDIA-A100";

/* free[i]: the free share (0..1000) of GPU i; cpu_free of 16000. */
static void node(struct tnode *t, const char *name, const int *free, int nd, int64_t cpu_free)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < nd; i++) {
        t->dev[i] = (struct policy_device){.uuid = name,
                                           .type = A100,
                                           .mode = "hami-core",
                                           .index = i,
                                           .count = 100,
                                           .devcore = 100,
                                           .devmem = 1000,
                                           .health = true};
        int used = 1000 - free[i];
        t->use[i] = (struct policy_usage){used ? 1 : 0, used / 10, used};
    }
    t->n = (struct policy_node){.name = name,
                                .ndev = nd,
                                .dev = t->dev,
                                .use = t->use,
                                .cpu_milli = 16000,
                                .cpu_used_milli = 16000 - cpu_free,
                                .mem_mib = 64000};
}

static struct workload_shape shape(int nums, int pct, int64_t cpu, const char *models)
{
    struct workload_shape s = {.cpu_milli = cpu, .nums = nums, .mem_pct = pct, .cores = pct};
    snprintf(s.models, sizeof s.models, "%s", models ? models : "");
    return s;
}

/* Shapes: a half card (4 cores) and a whole card (4 cores), weight 1 each. */
static struct workload *two_shapes(enum workload_measure m, const char *models)
{
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, m);
    struct workload_shape half = shape(1, 50, 4000, models), whole = shape(1, 100, 4000, NULL);
    workload_add(w, &half, 1);
    workload_add(w, &whole, 1);
    return w;
}

/* F by hand. GPUs free {400, 1000}: total 1400.
 * one-copy: half -> hostable, the 400 GPU too small: 400; whole -> the full
 *   GPU takes it, the 400 one is waste: 400. F = 400.
 * copies: half -> 0 + 2 copies (1000 used), CPU allows 4: waste 400; whole
 *   -> 1 copy: waste 400. F = 400.
 * With 4000 CPU free: one-copy unchanged (400); copies: half -> CPU allows 1
 *   copy of 2: 500 used, waste 900; whole 400. F = 650; both = 525.
 * With 3000 CPU free: nothing fits: every shape wastes 1400.
 * Balance: the mean ask is 8000 CPU per 1500 milli-GPU; 16000 free feeds
 * 3000 (nothing stranded), 4000 feeds 750 (650 stranded), 3000 feeds 562.5
 * (837.5 stranded); F gains WORKLOAD_BALANCE x stranded.
 * Gap term: no sum of 500s and 1000s fits in 400, so all 400 is left:
 * F gains WORKLOAD_GAP_WEIGHT x 400 in every case. */
#define B WORKLOAD_BALANCE
#define G WORKLOAD_GAP_WEIGHT
static const struct {
    enum workload_measure m;
    int64_t cpu_free;
    const char *models;
    double want;
} frag_cases[] = {
    {WORKLOAD_ONE_COPY, 16000, NULL, 400 + G * 400},
    {WORKLOAD_COPIES, 16000, NULL, 400 + G * 400},
    {WORKLOAD_BOTH, 16000, NULL, 400 + G * 400},
    {WORKLOAD_ONE_COPY, 4000, NULL, 400 + B * 650 + G * 400},
    {WORKLOAD_COPIES, 4000, NULL, 650 + B * 650 + G * 400},
    {WORKLOAD_BOTH, 4000, NULL, 525 + B * 650 + G * 400},
    {WORKLOAD_ONE_COPY, 3000, NULL, 1400 + B * 837.5 + G * 400},
    {WORKLOAD_COPIES, 3000, NULL, 1400 + B * 837.5 + G * 400},
    {WORKLOAD_BOTH, 3000, NULL, 1400 + B * 837.5 + G * 400},
    /* The half card wants an H100: it wastes everything here (1400). */
    {WORKLOAD_ONE_COPY, 16000, "H100", 900 + G * 400},
    {WORKLOAD_ONE_COPY, 16000, "a100, h100", 400 + G * 400},
    /* The paper's FGD (the replay's baseline): one-copy alone. */
    {WORKLOAD_FGD, 16000, NULL, 400},
    {WORKLOAD_FGD, 4000, NULL, 400},
    {WORKLOAD_FGD, 3000, NULL, 1400},
    {WORKLOAD_FGD, 16000, "H100", 900},
};

START_TEST(fragment_by_hand)
{
    struct tnode t;
    const int free[] = {400, 1000};
    node(&t, "n", free, 2, frag_cases[_i].cpu_free);
    struct workload *w = two_shapes(frag_cases[_i].m, frag_cases[_i].models);
    double f = workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0);
    ck_assert_msg(fabs(f - frag_cases[_i].want) < 1e-9, "case %d: F = %f, want %f", _i, f,
                  frag_cases[_i].want);
    /* The memo answers the same, twice. */
    struct workload_memo *m = workload_memo_create();
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - f) < 1e-9);
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - f) < 1e-9);
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* A whole-card shape needs 2 idle cards: one idle card wastes all. No
 * one-GPU shape: what is free on a used card is all left (gap term). */
START_TEST(multi_gpu_shape)
{
    struct tnode t;
    const int free[] = {1000, 1000, 300};
    node(&t, "n", free, 3, 16000);
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape two = shape(2, 100, 1000, NULL);
    workload_add(w, &two, 1);
    ck_assert(fabs(workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0) - (300 + G * 300)) <
              1e-9);
    t.use[1] = (struct policy_usage){1, 10, 100}; /* one idle card left */
    ck_assert(fabs(workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0) - (2200 + G * 1200)) <
              1e-9);
    workload_destroy(w);
}
END_TEST

/* The memo must never confuse states: a different usage, CPU, or workload
 * epoch gives a different answer. */
START_TEST(memo_keys)
{
    struct tnode t;
    const int free[] = {400, 1000};
    node(&t, "n", free, 2, 16000);
    struct workload *w = two_shapes(WORKLOAD_COPIES, NULL);
    struct workload_memo *m = workload_memo_create();
    double a = workload_fragment_memo(w, m, &t.n, t.use, 0, 0);
    double b = workload_fragment_memo(w, m, &t.n, t.use, 12000, 0);
    ck_assert(fabs(a - (400 + G * 400)) < 1e-9 && fabs(b - (650 + B * 650 + G * 400)) < 1e-9);
    struct workload_shape tiny = shape(1, 10, 100, NULL);
    workload_add(w, &tiny, 1); /* a new epoch */
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, 0, 0) -
                   workload_fragment(w, &t.n, t.use, 0, 0)) < 1e-9);
    /* The memo's mean ask follows the epoch too: the tiny shape asks
     * little CPU, so less is stranded at 4000 CPU free than before. */
    double c = workload_fragment_memo(w, m, &t.n, t.use, 12000, 0);
    ck_assert(fabs(c - workload_fragment(w, &t.n, t.use, 12000, 0)) < 1e-9 && c < b);
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* A stamped view (gen, id) as it is is found by its stamp, without its
 * state hashed: a usage changed under the same stamp (which the cache never
 * does) still reads the stamp's F, a new stamp or epoch reads the state's;
 * a usage other than the view's own (an after-state) is keyed from the
 * stamp's cards with the cards it changes swapped: each card it changes
 * reads its own F, a copy of the view's own usage reads the view's; two
 * nodes of one stamp number are told apart by id. */
START_TEST(memo_by_stamp)
{
    struct tnode t, other;
    const int free[] = {400, 1000}, more[] = {1000, 1000};
    node(&t, "n", free, 2, 16000);
    node(&other, "o", more, 2, 16000);
    t.n.gen = other.n.gen = 7;
    t.n.id = 3;
    other.n.id = 3 + WORKLOAD_MEMO_NODES; /* the same entry of the memo */
    struct workload *w = two_shapes(WORKLOAD_COPIES, NULL);
    struct workload_memo *m = workload_memo_create();
    double a = workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0);
    double o = workload_fragment_memo(w, m, &other.n, other.use, other.n.cpu_used_milli, 0);
    ck_assert(fabs(a - workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0)) < 1e-9);
    ck_assert(fabs(o - workload_fragment(w, &other.n, other.use, other.n.cpu_used_milli, 0)) <
              1e-9);
    ck_assert(fabs(a - o) > 1);
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - a) < 1e-9);
    struct policy_usage after[2] = {t.use[0], t.use[0]}; /* both cards 400 free */
    struct policy_usage first[2] = {t.use[1], t.use[1]}; /* both 1000 free */
    struct policy_usage same[2] = {t.use[0], t.use[1]};
    int64_t cpu = t.n.cpu_used_milli;
    double fresh = workload_fragment(w, &t.n, after, cpu, 0);
    double fresh_first = workload_fragment(w, &t.n, first, cpu, 0);
    ck_assert(fabs(fresh - a) > 1 && fabs(fresh_first - a) > 1 && fabs(fresh - fresh_first) > 1);
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, after, cpu, 0) - fresh) < 1e-9);
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, first, cpu, 0) - fresh_first) < 1e-9);
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, same, cpu, 0) - a) < 1e-9);
    t.use[1] = t.use[0]; /* as after, the stamp kept */
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - a) < 1e-9);
    t.n.gen = 8;
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - fresh) <
              1e-9);
    struct workload_shape tiny = shape(1, 10, 100, NULL);
    workload_add(w, &tiny, 1); /* a new epoch */
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) -
                   workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0)) < 1e-9);
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* A copy keeps its original's epoch until either changes; then the two
 * must never share one, or a memo filled on one answers for the other. */
START_TEST(memo_copies)
{
    struct tnode t;
    const int free[] = {400, 1000};
    node(&t, "n", free, 2, 16000);
    struct workload *w = two_shapes(WORKLOAD_COPIES, NULL);
    struct workload *c = workload_copy(w);
    ck_assert(workload_epoch(c) == workload_epoch(w));
    struct workload_shape tiny = shape(1, 10, 100, NULL), big = shape(1, 90, 100, NULL);
    workload_add(w, &tiny, 5); /* one change each: a per-object count gives both epoch + 1 */
    workload_add(c, &big, 5);
    ck_assert(workload_epoch(c) != workload_epoch(w));
    struct workload_memo *m = workload_memo_create();
    double fw = workload_fragment_memo(w, m, &t.n, t.use, 0, 0);
    double fc = workload_fragment_memo(c, m, &t.n, t.use, 0, 0);
    ck_assert(fabs(fw - workload_fragment(w, &t.n, t.use, 0, 0)) < 1e-9);
    ck_assert(fabs(fc - workload_fragment(c, &t.n, t.use, 0, 0)) < 1e-9 && fabs(fc - fw) > 1);
    workload_memo_destroy(m);
    workload_destroy(c);
    workload_destroy(w);
}
END_TEST

/* workload_items: the heaviest shapes first (equal weights in the order
 * added), each with its part of the whole weight; the same shape added
 * twice is one entry. Shape k asks 10 x (k + 1) % of one card. */
static const struct {
    int nadd;
    struct {
        int k;
        double w;
    } add[4];
    int max, want_n;
    int want_k[3];
    double want_share[3];
} item_cases[] = {
    {3, {{0, 3}, {1, 1}, {2, 2}}, 8, 3, {0, 2, 1}, {0.5, 1.0 / 3, 1.0 / 6}},
    {3, {{0, 1}, {1, 1}, {2, 1}}, 8, 3, {0, 1, 2}, {1.0 / 3, 1.0 / 3, 1.0 / 3}},
    {3, {{0, 1}, {1, 2}, {0, 2}}, 8, 2, {0, 1}, {0.6, 0.4}},
    {4, {{0, 1}, {1, 4}, {2, 3}, {3, 2}}, 2, 2, {1, 2}, {0.4, 0.3}},
    {2, {{0, 1}, {1, 1}}, 0, 0, {0}, {0}},
    {0, {{0, 0}}, 8, 0, {0}, {0}},
};

START_TEST(items_heaviest_first)
{
    struct workload *w = workload_create(1.0);
    for (int i = 0; i < item_cases[_i].nadd; i++) {
        struct workload_shape sh = shape(1, 10 * (item_cases[_i].add[i].k + 1), 1000, NULL);
        workload_add(w, &sh, item_cases[_i].add[i].w);
    }
    struct workload_item it[8];
    int n = workload_items(w, it, item_cases[_i].max);
    ck_assert_int_eq(n, item_cases[_i].want_n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(it[i].s.mem_pct, 10 * (item_cases[_i].want_k[i] + 1));
        ck_assert_double_eq_tol(it[i].share, item_cases[_i].want_share[i], 1e-12);
        ck_assert(!it[i].prior);
        ck_assert_double_eq(it[i].press, 1);
        ck_assert_double_eq(it[i].loss, 0);
    }
    workload_destroy(w);
}
END_TEST

START_TEST(learning)
{
    struct workload *w = workload_create(0.5);
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.nums = 1, .mem_pct = 50, .cores = 50};
    uint64_t e0 = workload_epoch(w);
    workload_observe(w, &p);
    workload_observe(w, &p);
    ck_assert_uint_eq(workload_size(w), 1);
    ck_assert_uint_gt(workload_epoch(w), e0);
    /* Old shapes decay: with decay 0.5 the newest dominates the measure. */
    p.ctr[0].mem_pct = p.ctr[0].cores = 100;
    for (int i = 0; i < 20; i++)
        workload_observe(w, &p);
    ck_assert_uint_eq(workload_size(w), 2);
    struct tnode t;
    const int free[] = {600};
    node(&t, "n", free, 1, 16000);
    /* Whole-card shapes alone would call all 600 waste. */
    ck_assert(workload_fragment(w, &t.n, t.use, 0, 0) > 599);
    /* Bounded: past WORKLOAD_MAX_SHAPES the lightest goes. */
    struct workload *b = workload_create(1.0);
    for (int i = 0; i < WORKLOAD_MAX_SHAPES + 50; i++) {
        struct workload_shape s = shape(1, 50, 1000 + i, NULL);
        workload_add(b, &s, 1 + i);
    }
    ck_assert_uint_eq(workload_size(b), WORKLOAD_MAX_SHAPES);
    workload_destroy(b);
    workload_destroy(w);
}
END_TEST

/* A seed's pods count as seen: 100 pods seeded then 16 observed (decay
 * 0.999) give the node's whole-node prior learn_prior x total / 116 (about
 * 2.96 pods' weight); with the seed added as weight alone, / 16 (21.4). */
START_TEST(seed_counts_as_seen)
{
    struct tnode t;
    const int idle[] = {1000, 1000, 1000, 1000};
    node(&t, "n", idle, 4, 16000);
    const struct policy_node *nodes[] = {&t.n};
    for (int seeded = 0; seeded < 2; seeded++) {
        struct workload *w = workload_create(0.999);
        struct workload_shape half = shape(1, 50, 1000, NULL);
        if (seeded)
            workload_seed(w, &half, 100);
        else
            workload_add(w, &half, 100);
        struct policy_pod p;
        memset(&p, 0, sizeof p);
        p.cpu_milli = 1000;
        p.nctr = 1;
        p.ctr[0] = (struct policy_ctr){.nums = 1, .mem_pct = 50, .cores = 50};
        for (int i = 0; i < 16; i++)
            workload_observe(w, &p);
        workload_add_prior(w, nodes, 1);
        struct workload_item it[4];
        ck_assert_int_eq(workload_items(w, it, 4), 2);
        ck_assert(!it[0].prior && it[1].prior);
        double want = WORKLOAD_LEARN_PRIOR * it[0].weight / (seeded ? 116 : 16);
        ck_assert_msg(fabs(it[1].weight - want) < 1e-9, "seeded %d: prior %f, want %f", seeded,
                      it[1].weight, want);
        workload_destroy(w);
    }
}
END_TEST

START_TEST(scarcity)
{
    struct tnode small, big;
    const int free[] = {1000};
    node(&small, "small", free, 1, 16000);
    node(&big, "big", free, 1, 16000);
    big.n.cpu_milli = 64000;
    big.n.cpu_used_milli = 0;
    const struct policy_node *nodes[] = {&small.n, &big.n};
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape cheap = shape(1, 50, 1000, NULL), hungry = shape(1, 50, 32000, NULL);
    workload_add(w, &cheap, 1);
    workload_add(w, &hungry, 1);
    /* On the small node the hungry shape wastes all 1000: F = (0 + 1000)/2,
     * plus the balance: 16000 CPU feeds 16000 x 1000 / 33000 milli-GPU. */
    double bal = B * (1000 - 16000.0 * 1000 / 33000);
    ck_assert(fabs(workload_fragment(w, &small.n, small.use, 0, 0) - (500 + bal)) < 1e-9);
    /* Only one of two nodes can host it: it weighs sqrt(2) (the balance
     * weighs shapes by popularity alone). */
    workload_set_scarcity(w, nodes, 2);
    double want = 1000 * sqrt(2) / (1 + sqrt(2)) + bal;
    ck_assert(fabs(workload_fragment(w, &small.n, small.use, 0, 0) - want) < 1e-9);
    /* The paper's FGD weighs by popularity alone, and has no balance: 500. */
    workload_set_measure(w, WORKLOAD_FGD);
    ck_assert(fabs(workload_fragment(w, &small.n, small.use, 0, 0) - 500) < 1e-9);
    workload_destroy(w);
}
END_TEST

/* A node's cards are matched against a shape's model list card by card,
 * also where models alternate: a 3-GPU shape bound to A100 cannot go on
 * A100, T4, A100, T4 (two A100s) and can on A100, T4, A100, A100. Its
 * scarcity over {that node, a node of three A100s} is sqrt(2) (one host)
 * for the first and 1 (two) for the second, so F of the shared node
 * differs between the two; against nodes whose models come sorted
 * (A100, A100, T4, T4 and A100, A100, A100, T4) it is the same. */
START_TEST(scarcity_alternating_models)
{
    static const char *const T4 = "NVIDIA-T4";
    static const char *const orders[4][4] = {
        {"A", "T", "A", "T"}, {"A", "A", "T", "T"}, {"A", "T", "A", "A"}, {"A", "A", "A", "T"}};
    const int free[] = {1000, 1000, 1000, 1000};
    double f[4];
    for (int o = 0; o < 4; o++) {
        struct tnode t, three;
        node(&t, "t", free, 4, 16000);
        node(&three, "three", free, 4, 16000);
        for (int g = 0; g < 4; g++) {
            t.dev[g].type = orders[o][g][0] == 'A' ? A100 : T4;
            three.dev[g].type = g < 3 ? A100 : T4;
        }
        const struct policy_node *nodes[] = {&t.n, &three.n};
        struct workload *w = workload_create(1.0);
        struct workload_shape s3 = shape(3, 100, 1000, "A100"), cheap = shape(1, 50, 1000, NULL);
        workload_add(w, &s3, 1);
        workload_add(w, &cheap, 1);
        workload_set_scarcity(w, nodes, 2);
        f[o] = workload_fragment(w, &three.n, three.use, 0, 0);
        workload_destroy(w);
    }
    ck_assert(f[0] == f[1]);
    ck_assert(f[2] == f[3]);
    ck_assert(f[0] != f[2]);
}
END_TEST

/* Scarcity counts the nodes that could host a shape once per kind of node
 * (nodes alike when empty). A shape asking half an A100 and 32 cores, and
 * a cheap one (half a card, 1 core); the nodes: "small" (16 cores), "big"
 * (64 cores) and twins of big, each changed in one way (the hungry shape
 * asks 600 MiB of a card, so a card of 500 cannot take it, and 48000 MiB
 * of the host's 64000). With the balance
 * and the gap term off, F of small (which cannot host the hungry shape)
 * is 1000 h / (c + h), h and c the two shapes' scarcity, sqrt(nodes /
 * hosts): a twin whose change the grouping missed counts as a host it is
 * not, or the other way round. */
static const struct {
    const char *change; /* in each twin */
    int twins;
    int hosts, cheap_hosts; /* among small, big and the twins */
} kind_cases[] = {
    {"none", 1, 2, 3},   {"none", 3, 4, 5},     {"model", 1, 1, 3}, {"health", 1, 1, 2},
    {"health", 2, 1, 2}, {"cpu", 1, 2, 3},      {"cpu", 2, 3, 4},   {"memory", 1, 1, 3},
    {"devmem", 1, 1, 3}, {"cordoned", 1, 2, 3},
};

START_TEST(scarcity_by_kind)
{
    struct tnode small, big, twin[3];
    const struct policy_node *nodes[5];
    const int free[] = {1000};
    const char *change = kind_cases[_i].change;
    int n = 2 + kind_cases[_i].twins;
    node(&small, "small", free, 1, 16000);
    node(&big, "big", free, 1, 16000);
    big.n.cpu_milli = 64000;
    big.n.cpu_used_milli = 0;
    nodes[0] = &small.n;
    nodes[1] = &big.n;
    for (int t = 0; t < kind_cases[_i].twins; t++) {
        node(&twin[t], "twin", free, 1, 16000);
        twin[t].n.cpu_milli = 64000;
        twin[t].n.cpu_used_milli = 0;
        if (strcmp(change, "model") == 0)
            twin[t].dev[0].type = "NVIDIA-T4";
        else if (strcmp(change, "health") == 0)
            twin[t].dev[0].health = false;
        else if (strcmp(change, "cpu") == 0)
            twin[t].n.cpu_milli = 48000;
        else if (strcmp(change, "memory") == 0)
            twin[t].n.mem_mib = 32000; /* under the hungry shape's 48000 MiB */
        else if (strcmp(change, "devmem") == 0)
            twin[t].dev[0].devmem = 500; /* under the hungry shape's 600 MiB */
        else if (strcmp(change, "cordoned") == 0)
            twin[t].dev[0].cordoned = true; /* eligible: the hosts are counted empty */
        nodes[2 + t] = &twin[t].n;
    }
    struct workload_params par = workload_params_default;
    par.balance = 0;
    par.gap_weight = 0;
    struct workload *w = workload_create(1.0);
    workload_set_params(w, &par);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape cheap = shape(1, 50, 1000, NULL), hungry = shape(1, 50, 32000, "A100");
    hungry.mem = 600;
    hungry.mem_mib = 48000;
    workload_add(w, &cheap, 1);
    workload_add(w, &hungry, 1);
    workload_set_scarcity(w, nodes, n);
    double h = sqrt((double)n / kind_cases[_i].hosts);
    double c = sqrt((double)n / kind_cases[_i].cheap_hosts);
    double f = workload_fragment(w, &small.n, small.use, 0, 0);
    ck_assert_msg(fabs(f - 1000 * h / (c + h)) < 1e-9, "%s x %d: F %.6f, want %.6f", change,
                  kind_cases[_i].twins, f, 1000 * h / (c + h));
    workload_destroy(w);
}
END_TEST

/* Balance by hand: two idle cards (2000 free); a half card asking 2000 CPU
 * and 8000 MiB, and a CPU-only shape asking 4000 CPU and only_mem MiB,
 * weight 1 each. Both shapes fit in every case (one-copy waste 0), so F is
 * WORKLOAD_BALANCE x what CPU or memory cannot feed at the mean ask. Per
 * milli-GPU the half card asks 4 CPU and 16 MiB of its own, the CPU-only
 * shape 8 CPU and only_mem / 500 MiB more. ask_rule 0: all of it (12 CPU).
 * ask_rule 1: own plus what the supply S per milli-GPU, less own, cannot
 * absorb: 4 + max(0, 8 - max(0, S - 4)) CPU, the same for memory.
 * ask_rule 2: the CPU-only part counted is 8 x min(1, 8 / (S - 4)) (8 when
 * S <= 4), and the node carries what of it its own spare (its CPU per
 * milli-GPU less 4) cannot hold. `other`: -1 no workload_set_scarcity call
 * (S unknown); 0 called on this node alone; above 0 called on it and a
 * second node of two cards with `other` CPU and the same memory. */
static const struct {
    double rule;
    int64_t other;
    int64_t cpu, cpu_free, mem, mem_free, only_mem; /* cpu, mem 0 = unknown */
    double stranded;
    double ramp; /* idle_ramp */
    bool idle;   /* nothing on the node before (else its CPU is in use) */
} balance_cases[] = {
    {0, -1, 64000, 24000, 64000, 32000, 0, 0, 0, false},      /* feeds 2000 and 2000 */
    {0, -1, 64000, 12000, 64000, 64000, 0, 1000, 0, false},   /* CPU feeds 1000 */
    {0, -1, 64000, 24000, 64000, 8000, 0, 1500, 0, false},    /* memory feeds 500 */
    {0, -1, 0, 0, 0, 0, 0, 0, 0, false},                      /* unknown host: nothing stranded */
    {0, 0, 64000, 6000, 64000, 64000, 4000, 1500, 0, false},  /* 12 CPU: 6000 feeds 500 */
    {1, 0, 64000, 6000, 64000, 64000, 4000, 500, 0, false},   /* S = 32: 4 CPU, feeds 1500 */
    {1, 0, 16000, 6000, 64000, 64000, 4000, 1250, 0, false},  /* S = 8: 4 + 4 CPU, feeds 750 */
    {1, 0, 6000, 6000, 64000, 64000, 4000, 1500, 0, false},   /* S = 3, under own: all 12 */
    {1, -1, 64000, 6000, 64000, 64000, 4000, 1500, 0, false}, /* supply unknown: all of it */
    {1, 0, 64000, 64000, 40000, 10000, 4000, 1500, 0,
     false}, /* memory S = 20: 16 + 4 MiB, feeds 500 */
    {0, 0, 64000, 64000, 40000, 12000, 4000, 1500, 0, false}, /* 24 MiB: 12000 feeds 500 */
    /* This node has 4 CPU per milli-GPU (no spare), the other 60: S = 32. */
    {0, 120000, 8000, 6000, 64000, 64000, 4000, 1500, 0, false}, /* 12 CPU */
    {1, 120000, 8000, 6000, 64000, 64000, 4000, 500, 0, false},  /* the spare holds it all: 4 */
    {2, 120000, 8000, 6000, 64000, 64000, 4000, 2000 - 6000 / (4 + 16.0 / 7), 0,
     false},                                                     /* 4 + 8 x 8/28 */
    {2, 116000, 12000, 6000, 64000, 64000, 4000, 600, 0, false}, /* its spare 2: 4 + 2/7 */
    {2, 0, 64000, 6000, 64000, 64000, 4000, 500, 0,
     false}, /* alone, S = 32: its spare holds 16/7 */
    {2, 16000, 16000, 6000, 64000, 64000, 4000, 2 * 1250, 0,
     false}, /* S = 8: all 8, spare 4 holds 4: 8; u = 2 doubles it (balance_short) */
    {2, 0, 6000, 6000, 64000, 64000, 4000, 1500, 0, false},   /* S = 3, under own: all 12 */
    {2, -1, 64000, 6000, 64000, 64000, 4000, 1500, 0, false}, /* supply unknown: all of it */
    /* idle_ramp 0.25: an idle node carries the CPU-only part times
     * clamp((u - 0.75) / 0.25, 0, 1); a busy one all of it. */
    {2, 120000, 8000, 6000, 64000, 64000, 4000, 500, 0.25, true}, /* u = 2/7: none, 4 */
    {2, 120000, 8000, 6000, 64000, 64000, 4000, 2000 - 6000 / (4 + 16.0 / 7), 0.25, false},
    {2, 48000, 8000, 6000, 64000, 64000, 4000, 2000 - 6000 / 5.28, 0.25, true},  /* S 14, u 0.8 */
    {2, 48000, 8000, 6000, 64000, 64000, 4000, 2000 - 6000 / 10.4, 0.25, false}, /* 4 + 6.4 */
    {2, 8000, 8000, 6000, 64000, 64000, 4000, 1500, 0.25, true}, /* S 4, under own: all 12 */
};

START_TEST(balance_by_hand)
{
    struct tnode t;
    const int free[] = {1000, 1000};
    node(&t, "n", free, 2, 0);
    t.n.cpu_milli = balance_cases[_i].cpu;
    t.n.mem_mib = balance_cases[_i].mem;
    int64_t cpu_used = balance_cases[_i].cpu - balance_cases[_i].cpu_free;
    int64_t mem_used = balance_cases[_i].mem - balance_cases[_i].mem_free;
    struct workload *w = workload_create(1.0);
    struct workload_params p = workload_params_default;
    p.ask_rule = balance_cases[_i].rule;
    p.idle_ramp = balance_cases[_i].ramp;
    p.node_short = 0; /* the node's own weight: balance_node_short */
    if (balance_cases[_i].idle)
        t.n.cpu_used_milli = 0;
    workload_set_params(w, &p);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape half = shape(1, 50, 2000, NULL),
                          cpu_only = {.cpu_milli = 4000, .mem_mib = balance_cases[_i].only_mem};
    half.mem_mib = 8000;
    workload_add(w, &half, 1);
    workload_add(w, &cpu_only, 1);
    struct tnode other;
    node(&other, "o", free, 2, 0);
    other.n.cpu_milli = balance_cases[_i].other;
    other.n.mem_mib = balance_cases[_i].mem;
    const struct policy_node *nodes[] = {&t.n, &other.n};
    if (balance_cases[_i].other >= 0)
        workload_set_scarcity(w, nodes, balance_cases[_i].other > 0 ? 2 : 1);
    double f = workload_fragment(w, &t.n, t.use, cpu_used, mem_used);
    ck_assert_msg(fabs(f - B * balance_cases[_i].stranded) < 1e-9, "case %d: F = %f, want %f", _i,
                  f, B * balance_cases[_i].stranded);
    /* The memo keys what F reads: a twin with as much free CPU but twice
     * the capacity, and idle where this node is not (or the reverse),
     * measured first, must not answer for this node. */
    struct workload_memo *memo = workload_memo_create();
    struct policy_node twin = t.n;
    twin.cpu_milli = 2 * t.n.cpu_milli + 1000;
    twin.cpu_used_milli = balance_cases[_i].idle ? 16000 : 0;
    workload_fragment_memo(w, memo, &twin, t.use, twin.cpu_milli - t.n.cpu_milli + cpu_used,
                           mem_used);
    double g = workload_fragment_memo(w, memo, &t.n, t.use, cpu_used, mem_used);
    ck_assert_msg(fabs(g - f) < 1e-9, "case %d: memo F = %f, want %f", _i, g, f);
    workload_memo_destroy(memo);
    workload_destroy(w);
}
END_TEST

/* Two nodes of two idle cards: `cpu` cores of which `used` are in use and
 * `mem` MiB, and another with `other` cores (none in use) and `other_mem`;
 * the workload of balance_by_hand (a half card of 2 cores and 8000 MiB, a
 * CPU-only shape of 4 cores and only_mem MiB). Returns F of the first. */
struct two_hosts {
    double rule;
    int64_t cpu, used, other, mem, other_mem, only_mem;
};

static double two_hosts_f(const struct two_hosts *c, double balance_short, double node_short)
{
    struct tnode t, other;
    const int free[] = {1000, 1000};
    node(&t, "n", free, 2, 0);
    node(&other, "o", free, 2, 0);
    t.n.cpu_milli = c->cpu;
    t.n.cpu_used_milli = c->used;
    t.n.mem_mib = c->mem;
    other.n.cpu_milli = c->other;
    other.n.cpu_used_milli = 0;
    other.n.mem_mib = c->other_mem;
    struct workload *w = workload_create(1.0);
    struct workload_params p = workload_params_default;
    p.ask_rule = c->rule;
    p.idle_ramp = 0;
    p.balance_short = balance_short;
    p.node_short = node_short;
    workload_set_params(w, &p);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape half = shape(1, 50, 2000, NULL),
                          cpu_only = {.cpu_milli = 4000, .mem_mib = c->only_mem};
    half.mem_mib = 8000;
    workload_add(w, &half, 1);
    workload_add(w, &cpu_only, 1);
    const struct policy_node *nodes[] = {&t.n, &other.n};
    workload_set_scarcity(w, nodes, 2);
    double f = workload_fragment(w, &t.n, t.use, c->used, 0);
    workload_destroy(w);
    return f;
}

/* The balance on a pool short of CPU or memory (balance_short): the setup
 * of balance_by_hand (a half card of 4 CPU and 16 MiB per milli-GPU, a
 * CPU-only shape of 8 CPU and only_mem / 500 MiB more per milli-GPU of GPU
 * demand); this node of two cards, `cpu` cores of which 10 are in use, and
 * another of two cards with `other` (0: unknown, not in the supply), both
 * 64 GiB. F with balance_short 1 over F with 0 is max(1, u) under ask_rule
 * 2, u = extra / (S - own) for CPU or memory, whichever is larger, at most
 * WORKLOAD_SHORTAGE_MAX (4); 1 when S is not above own, and under other
 * rules. */
static const struct {
    double rule;
    int64_t cpu, other, only_mem;
    double ratio;
} shortage_cases[] = {
    {2, 16000, 16000, 4000, 2},   /* S 8: u = 8 / 4 */
    {2, 16000, 8000, 4000, 4},    /* S 6: u = 8 / 2 */
    {2, 16000, 112000, 4000, 1},  /* S 32: u = 8 / 28, not short */
    {2, 16000, 0, 4000, 2},       /* the other unknown: S 8 from this node alone */
    {2, 16000, 112000, 24000, 3}, /* memory: S 32 MiB, own 16, extra 48: u = 3 */
    {1, 16000, 16000, 4000, 1},   /* ask_rule 1: no shortage weight */
    {2, 16000, 4000, 4000, 4},    /* S 5: u = 8, at most WORKLOAD_SHORTAGE_MAX */
    {2, 12000, 4000, 4000, 1},    /* S 4 = own: no spare, u taken as 1 */
};

START_TEST(balance_shortage)
{
    const struct two_hosts c = {shortage_cases[_i].rule,
                                shortage_cases[_i].cpu,
                                10000,
                                shortage_cases[_i].other,
                                64000,
                                64000,
                                shortage_cases[_i].only_mem};
    /* the node's own weight off: balance_node_short */
    double f0 = two_hosts_f(&c, 0, 0), f1 = two_hosts_f(&c, 1, 0);
    ck_assert_msg(f0 > 0, "case %d: nothing stranded (F %f)", _i, f0);
    ck_assert_msg(fabs(f1 / f0 - shortage_cases[_i].ratio) < 1e-9, "case %d: ratio %f, want %f", _i,
                  f1 / f0, shortage_cases[_i].ratio);
}
END_TEST

/* The node's own shortage (node_short), on two_hosts_f's setup: per
 * milli-GPU the half card asks 4 CPU and 16 MiB, the CPU-only shape 8 CPU
 * and only_mem / 500 MiB more. F with node_short 4 over F with 0: max(the
 * pool's weight, 1 + 4 (1 - u) t), t = 1 - |s| / only at least 0, s the
 * node's spare per milli-GPU (cpu / 2000 - 4), only = 8 min(1, u) the
 * CPU-only part it carries; memory alike, the larger counts; u the larger
 * of CPU's and memory's. */
static const struct {
    struct two_hosts hosts;
    double ratio;
} node_short_cases[] = {
    {{2, 8000, 0, 56000, 64000, 64000, 0}, 7.0 / 3},   /* S 16, u 2/3: s 0, 1 + 4/3 */
    {{2, 12000, 0, 52000, 64000, 64000, 0}, 11.0 / 6}, /* s 2 of only 16/3: t 5/8 */
    {{2, 4000, 0, 60000, 64000, 64000, 0}, 11.0 / 6},  /* s -2: t 5/8 as well */
    {{2, 24000, 20000, 40000, 64000, 64000, 0}, 1},    /* s 8 above only: the pool's 1 */
    {{2, 8000, 0, 48000, 64000, 64000, 0}, 1.8},       /* S 14, u 0.8: 1 + 4 x 0.2 */
    {{2, 8000, 0, 8000, 64000, 64000, 0}, 1},          /* S 4: no spare in the pool, 1 */
    {{2, 16000, 8000, 16000, 64000, 64000, 0}, 1},     /* u 2: the pool's weight 2 both ways */
    {{1, 8000, 4000, 56000, 64000, 64000, 0}, 1},      /* ask_rule 1: no node weight */
    {{2, 24000, 20000, 40000, 32000, 96000, 4000}, 7.0 / 3}, /* memory: s 0, u 2/3 (CPU's) */
};

START_TEST(balance_node_short)
{
    const struct two_hosts *c = &node_short_cases[_i].hosts;
    double f0 = two_hosts_f(c, 1, 0), f1 = two_hosts_f(c, 1, 4);
    ck_assert_msg(f0 > 0, "case %d: nothing stranded (F %f)", _i, f0);
    ck_assert_msg(fabs(f1 / f0 - node_short_cases[_i].ratio) < 1e-9, "case %d: ratio %f, want %f",
                  _i, f1 / f0, node_short_cases[_i].ratio);
}
END_TEST

/* Gap term by hand: one card with `free` milli-GPU free; shares of 470 and
 * 320 (weight 10 each) and of 160 (weight w160; common from 1.5 % of all
 * weight; the count rule, at 1.5 %), 1 core each, so nothing is stranded. With `split` the 160
 * share comes as two shapes of w160 / 2 (1 and 2 cores): a share size is common by the weight of
 * all shapes asking it. F = one-copy waste (every shape that does not fit wastes the card) +
 * WORKLOAD_GAP_WEIGHT x left, left = free - the largest sum of common shares that fits in it. */
static const struct {
    double w160;
    bool split;
    int free;
    double fgd, left;
} gap_cases[] = {
    {0.1, false, 530, 0, 60},              /* 470 */
    {0.1, false, 210, 4200 / 20.1, 210},   /* 160 is 0.5 %: not counted */
    {0.25, false, 210, 4200 / 20.25, 210}, /* 1.2 %: still not */
    {1, false, 210, 4200 / 21.0, 50},      /* 160 is 4.8 %: 160 */
    {0.4, true, 210, 4200 / 20.4, 50},     /* two shapes of 0.98 %, 1.96 % in all */
    {1, false, 530, 0, 50},                /* 320 + 160 */
    {0.1, false, 1000, 0, 0},              /* an idle card is not a gap */
    {0.1, false, 0, 0, 0},                 /* nor a full one (nothing to waste) */
};

START_TEST(gap_by_hand)
{
    struct tnode t;
    const int free[] = {gap_cases[_i].free};
    node(&t, "n", free, 1, 16000);
    struct workload *w = workload_create(1.0);
    struct workload_params p = workload_params_default;
    p.gap_rule = 0; /* common by count (test_fragment_models.c: by demand) */
    p.gap_common = 0.015;
    p.gap_ramp = 0; /* one threshold (the ramp: test_fragment_models.c) */
    workload_set_params(w, &p);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape a = shape(1, 47, 1000, NULL), b = shape(1, 32, 1000, NULL),
                          c = shape(1, 16, 1000, NULL), c2 = shape(1, 16, 2000, NULL);
    workload_add(w, &a, 10);
    workload_add(w, &b, 10);
    if (gap_cases[_i].split) {
        workload_add(w, &c, gap_cases[_i].w160 / 2);
        workload_add(w, &c2, gap_cases[_i].w160 / 2);
    } else {
        workload_add(w, &c, gap_cases[_i].w160);
    }
    double want = gap_cases[_i].fgd + G * gap_cases[_i].left;
    double f = workload_fragment(w, &t.n, t.use, t.n.cpu_used_milli, 0);
    ck_assert_msg(fabs(f - want) < 1e-9, "case %d: F = %f, want %f", _i, f, want);
    /* Through a memo (its table cached), the same. */
    struct workload_memo *m = workload_memo_create();
    ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, t.n.cpu_used_milli, 0) - f) < 1e-9);
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* Pressure by the count rule (press_rule 0, the rule before issue 20's
 * projection) on four 4-GPU nodes: a whole-card shape (weight 999) and a
 * 4-GPU shape (weight w4), 1 core each. Pods until the GPUs are full =
 * free x wsum / (sum of weight x demand); the 4-GPU shape expects its share
 * of them and is short when fewer than 20 x that + 1 copies fit.
 * - 4 idle nodes, w4 1: 16000 x 1000 / 1003000 = 15.95 pods, 0.016 of the
 *   4-GPU shape, limit 1.32; 4 copies fit: not short.
 * - 3 nodes with a GPU taken: 13000 free, 12.96 pods, limit 1.26; 1 copy:
 *   short.
 * - all 4 with a GPU taken: no copy fits, nothing to keep: not short.
 * - 4 idle, w4 50: 16000 x 1049 / 1199000 = 14.0 pods, 0.667 of them
 *   4-GPU, limit 14.3; 4 copies: short.
 * - 4 idle, w4 50 but 16 cores per copy and 8 free per node: no copy. */
static const struct {
    int taken; /* nodes with one GPU in use */
    double w4;
    int64_t cpu4;
    bool want;
} press_cases[] = {
    {0, 1, 1000, false}, {3, 1, 1000, true},    {4, 1, 1000, false},
    {0, 50, 1000, true}, {0, 50, 16000, false},
};

START_TEST(pressure_by_hand)
{
    struct tnode t[4];
    const struct policy_node *nodes[4];
    const int idle[] = {1000, 1000, 1000, 1000}, one[] = {0, 1000, 1000, 1000};
    for (int i = 0; i < 4; i++) {
        node(&t[i], "n", i < press_cases[_i].taken ? one : idle, 4, 8000);
        nodes[i] = &t[i].n;
    }
    struct workload *w = workload_create(1.0);
    struct workload_shape whole = shape(1, 100, 1000, NULL),
                          four = shape(4, 100, press_cases[_i].cpu4, NULL);
    workload_add(w, &whole, 999);
    workload_add(w, &four, press_cases[_i].w4);
    struct workload_params par = workload_params_default;
    par.press_rule = 0;
    workload_set_params(w, &par);
    struct workload_press p;
    workload_pressed(w, nodes, 4, &p);
    ck_assert_int_eq((int)(p.mask[0] & 1), 0); /* 1-GPU shapes are never pressed */
    ck_assert_int_eq((int)(p.mask[0] >> 1 & 1), press_cases[_i].want);
    workload_destroy(w);
}
END_TEST

/* Pressure by projection (the default): n4 nodes of 4 GPUs, `lost` of them
 * with one GPU taken (a copy of the 4-GPU shape lost per 1000 milli used),
 * and full2 nodes of 2 GPUs, all taken (2000 used each, no copy lost);
 * a whole-card shape (weight 999) and a 4-GPU shape (weight w4), 1 core
 * each. Short when copies now - (copies lost / capacity used) x free is
 * under the expected arrivals E (free x w4 / sum of weight x demand) + 1.
 * - 8 nodes, 1 lost, 4 full 2-GPU nodes, w4 50: free 31000, used 9000,
 *   7 - 31000/9000 = 3.56 left at full, E = 1.29: not short (the count
 *   rule: 7 copies against 20 x 1.29 + 1: short; gen-multigpu35's case).
 * - 8 nodes, 4 lost, w4 1: free 28000, used 4000, 4 - 28 < 1: short (the
 *   count rule: 20 x 0.028 + 1 = 1.56 <= 4: not; multigpu30's case, others
 *   opening whole nodes).
 * - 8 idle nodes, w4 50: nothing lost yet, 8 left, E = 1.33: not short (the count
 *   rule: 20 x 1.33 + 1: short).
 * - 8 nodes, 1 lost, no 2-GPU node used, w4 50: 7 - 31000/1000 < 1:
 *   short (both rules).
 * - 8 nodes, all lost: no copy fits, nothing to keep (both rules).
 * - The first case beside 4 idle nodes of 4 GPUs, all cordoned: no copy
 *   fits them now or empty, so nothing changes (were they counted as
 *   hosts of the 4-GPU shape, 5 copies lost: short). */
static const struct {
    int n4, lost, full2;
    double w4;
    bool want, want_count;
    int cordoned; /* more 4-GPU nodes, idle, every card cordoned */
} proj_cases[] = {
    {8, 1, 4, 50, false, true, 0}, {8, 4, 0, 1, true, false, 0},  {8, 0, 0, 50, false, true, 0},
    {8, 1, 0, 50, true, true, 0},  {8, 8, 0, 1, false, false, 0}, {8, 1, 4, 50, false, true, 4},
};

/* The pressure tests' cluster from t[0]: n4 nodes of 4 GPUs, the first
 * `lost` with one GPU taken, then full2 nodes of 2 GPUs all taken,
 * cpu_free cores free on each. Returns how many. */
static int press_nodes(struct tnode *t, int n4, int lost, int full2, int64_t cpu_free)
{
    const int idle[] = {1000, 1000, 1000, 1000}, one[] = {0, 1000, 1000, 1000}, full[] = {0, 0};
    int n = 0;
    for (int i = 0; i < n4; i++, n++)
        node(&t[n], "n4", i < lost ? one : idle, 4, cpu_free);
    for (int i = 0; i < full2; i++, n++)
        node(&t[n], "n2", full, 2, cpu_free);
    return n;
}

/* The pressure tests' workload: a whole-card shape (weight 999) and a
 * 4-GPU one (weight w4), 1 core each. */
static struct workload *whole_and_four(double w4)
{
    struct workload *w = workload_create(1.0);
    struct workload_shape whole = shape(1, 100, 1000, NULL), four = shape(4, 100, 1000, NULL);
    workload_add(w, &whole, 999);
    workload_add(w, &four, w4);
    return w;
}

START_TEST(pressure_projected)
{
    struct tnode t[16];
    const struct policy_node *nodes[16];
    const int idle[] = {1000, 1000, 1000, 1000};
    int n = press_nodes(t, proj_cases[_i].n4, proj_cases[_i].lost, proj_cases[_i].full2, 8000);
    for (int i = 0; i < proj_cases[_i].cordoned; i++, n++) {
        node(&t[n], "n4c", idle, 4, 8000);
        for (int g = 0; g < 4; g++)
            t[n].dev[g].cordoned = true;
    }
    for (int i = 0; i < n; i++)
        nodes[i] = &t[i].n;
    struct workload *w = whole_and_four(proj_cases[_i].w4);
    struct workload_press p;
    workload_pressed(w, nodes, n, &p);
    ck_assert_int_eq((int)(p.mask[0] & 1), 0);
    ck_assert_msg((int)(p.mask[0] >> 1 & 1) == proj_cases[_i].want, "case %d: projection", _i);
    struct workload_params par = workload_params_default;
    par.press_rule = 0;
    workload_set_params(w, &par);
    workload_pressed(w, nodes, n, &p);
    ck_assert_msg((int)(p.mask[0] >> 1 & 1) == proj_cases[_i].want_count, "case %d: count", _i);
    workload_destroy(w);
}
END_TEST

/* A pressed shape weighs WORKLOAD_PRESSURE_FLOOR of the total: on {0, 1000,
 * 1000, 1000}, one-copy measure, the 4-GPU shape wastes 3000: F = 3000 x
 * 1/1000 = 3 unpressed, 3000 x m / (999 + m) pressed (weight 1 raised to
 * m = the floor x 1000; 15 at the floor 0.015). */
START_TEST(pressure_weighs)
{
    struct tnode t;
    const int one[] = {0, 1000, 1000, 1000};
    node(&t, "n", one, 4, 8000);
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape whole = shape(1, 100, 1000, NULL), four = shape(4, 100, 1000, NULL);
    workload_add(w, &whole, 999);
    workload_add(w, &four, 1);
    const struct workload_press none = {{0}}, second = {.mask = {2}};
    ck_assert(fabs(workload_fragment(w, &t.n, t.use, 0, 0) - 3) < 1e-9);
    uint64_t epoch = workload_epoch(w);
    ck_assert(workload_set_pressed(w, &second));
    ck_assert(workload_epoch(w) != epoch);
    const double m = WORKLOAD_PRESSURE_FLOOR * 1000;
    ck_assert(m > 1); /* the floor raises this shape's weight of 1 */
    ck_assert(fabs(workload_fragment(w, &t.n, t.use, 0, 0) - 3000 * m / (999 + m)) < 1e-9);
    epoch = workload_epoch(w);
    ck_assert(!workload_set_pressed(w, &second)); /* no change: memos stay valid */
    ck_assert(workload_epoch(w) == epoch);
    ck_assert(workload_set_pressed(w, &none));
    ck_assert(fabs(workload_fragment(w, &t.n, t.use, 0, 0) - 3) < 1e-9);
    workload_destroy(w);
}
END_TEST

/* The host loss of a pressed shape, by hand: 8 nodes of 4 GPUs (16 cores,
 * `cpu_free` of them free), one of them with a GPU taken, and `full2` nodes
 * of 2 GPUs all taken; a whole-card shape (weight 999) and a 4-GPU one
 * (weight 50), 1 core each. Free 31000 milli-GPU of 32000 + 2000 x full2,
 * used U = 1000 + 2000 x full2; copies now 7, lost 1. Expected arrivals E
 * = 31000 x 50 / (999 x 1000 + 50 x 4000); projected left L = 7 - 31000 /
 * U. loss = 4 GPUs x rho x open, rho = min(1, (E + 1 - L) / 7), open the
 * smaller of the free parts of the GPUs and of the CPU. With `dcu` more
 * nodes of 4 DCU cards, every card and core taken, and a whole-card DCU
 * shape of weight 999: the same loss (each pool is measured apart; summed
 * across pools, the DCU cards halve E and lower the open part). */
static const struct {
    int full2;
    int64_t cpu_free;
    double open;
    int dcu;
} loss_cases[] = {
    {1, 16000, 31.0 / 34, 0}, /* rho 0.80: the GPUs' free part */
    {1, 8000, 0.5, 0},        /* half the CPU is used: its part */
    {0, 16000, 31.0 / 32, 0}, /* L = -24: rho 1 */
    {1, 16000, 31.0 / 34, 4}, /* a full DCU pool beside it */
    {1, 8000, 0.5, 4},
};

START_TEST(host_loss_by_hand)
{
    struct tnode t[13];
    const struct policy_node *nodes[13];
    const int taken[] = {0, 0, 0, 0};
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    int n = press_nodes(t, 8, 1, loss_cases[_i].full2, loss_cases[_i].cpu_free);
    for (int i = 0; i < loss_cases[_i].dcu; i++, n++) {
        node(&t[n], "d4", taken, 4, 0);
        for (int g = 0; g < 4; g++)
            t[n].dev[g].backend = dcu;
    }
    for (int i = 0; i < n; i++)
        nodes[i] = &t[i].n;
    struct workload *w = whole_and_four(50);
    struct workload_shape dcu_whole = shape(1, 100, 1000, NULL);
    dcu_whole.backend = dcu;
    if (loss_cases[_i].dcu)
        workload_add(w, &dcu_whole, 999);
    struct workload_press p;
    workload_pressed(w, nodes, n, &p);
    double e = 31000.0 * 50 / (999 * 1000 + 50 * 4000);
    double left = 7 - 31000.0 / (1000 + 2000 * loss_cases[_i].full2);
    double want = 4 * fmin(1, (e + 1 - left) / 7) * loss_cases[_i].open;
    ck_assert_int_eq((int)(p.mask[0] & 7), 2);
    ck_assert(p.loss[0] == 0);
    ck_assert_msg(fabs(p.loss[1] - want) < 1e-9, "case %d: loss %f, want %f", _i, p.loss[1], want);
    workload_destroy(w);
}
END_TEST

/* A lost copy of a shape few nodes are big enough for costs more: the loss
 * is multiplied by (nodes with enough cards of its pool / those also with
 * the CPU and memory) ^ the scarcity exponent, model lists aside (the claim
 * term weighs those). host_loss_by_hand's first case, a 4-GPU shape asking
 * `cpu`, beside `small` idle 4-GPU nodes of 8 cores (of model
 * `small_model`), and the shape bound to `models`: the loss after
 * workload_set_scarcity against the loss before (multiplier 1). */
static const struct {
    int small;
    int64_t cpu;
    const char *small_model, *models;
    double want; /* the multiplier */
} sized_cases[] = {
    {0, 12000, NULL, NULL, 1},                               /* every node big enough */
    {8, 12000, NULL, NULL, 1.4142135623731},                 /* 16 with 4 cards, 8 of them big */
    {4, 12000, NULL, NULL, 1.2247448713916},                 /* 12 and 8 */
    {8, 4000, NULL, NULL, 1},                                /* small nodes big enough for it too */
    {8, 12000, "NVIDIA-T4", "NVIDIA-A100", 1.4142135623731}, /* a list changes nothing */
    {8, 4000, "NVIDIA-T4", "NVIDIA-A100", 1},                /* bound by its list, not its size */
};

START_TEST(host_loss_by_size)
{
    struct tnode t[17];
    const struct policy_node *nodes[17];
    const int idle[] = {1000, 1000, 1000, 1000};
    int n = press_nodes(t, 8, 1, 1, 16000);
    for (int i = 0; i < sized_cases[_i].small; i++, n++) {
        node(&t[n], "s4", idle, 4, 0);
        t[n].n.cpu_milli = 8000;
        t[n].n.cpu_used_milli = 0;
        for (int g = 0; g < 4 && sized_cases[_i].small_model; g++)
            t[n].dev[g].type = sized_cases[_i].small_model;
    }
    for (int i = 0; i < n; i++)
        nodes[i] = &t[i].n;
    struct workload *w = workload_create(1.0);
    struct workload_shape whole = shape(1, 100, 1000, NULL),
                          four = shape(4, 100, sized_cases[_i].cpu, sized_cases[_i].models);
    workload_add(w, &whole, 999);
    workload_add(w, &four, 50);
    struct workload_press before, after;
    workload_pressed(w, nodes, n, &before);
    workload_set_scarcity(w, nodes, n);
    workload_pressed(w, nodes, n, &after);
    ck_assert_msg(before.loss[1] > 0, "case %d: the 4-GPU shape is not pressed", _i);
    ck_assert_msg(fabs(after.loss[1] / before.loss[1] - sized_cases[_i].want) < 1e-9,
                  "case %d: loss x %f, want x %f", _i, after.loss[1] / before.loss[1],
                  sized_cases[_i].want);
    workload_destroy(w);
}
END_TEST

/* The host-loss term in F: a half card (2 cores), a 4-GPU and a 2-GPU shape
 * (1 core each), both pressed, a lost copy failing 2 and 0.5 GPUs. Two
 * nodes of 4 GPUs and 16 cores; F gains WORKLOAD_HOST_LOSS x 1000 x (the
 * largest loss of the copies the node would host empty - of those it hosts
 * now). Empty, each hosts a 4-GPU copy (2) and two 2-GPU copies (1): 2. The
 * idle one hosts them now: nothing. The one with a GPU taken hosts one
 * 2-GPU copy (0.5): 1500. With a CPU-only shape of 4 cores at weight 11 the
 * pool is short of CPU: supply 4 cores per GPU, own ask 4000 / 6500, extra
 * 44000 / 6500, u = 44000 / (26000 - 4000) = 2: no term; at weight 5, u =
 * 20000 / 22000: the term as without it. */
START_TEST(host_loss_in_f)
{
    const int idle[] = {1000, 1000, 1000, 1000}, one[] = {0, 1000, 1000, 1000};
    const double only_w[] = {0, 5, 11}, on[] = {1, 1, 0};
    for (int c = 0; c < 3; c++) {
        struct tnode a, b;
        node(&a, "a", idle, 4, 16000);
        node(&b, "b", one, 4, 16000);
        struct workload *w = workload_create(1.0);
        struct workload_shape half = shape(1, 50, 2000, NULL), four = shape(4, 100, 1000, NULL),
                              two = shape(2, 100, 1000, NULL), cpu_only = {.cpu_milli = 4000};
        half.mem_mib = 8000;
        workload_add(w, &half, 1);
        workload_add(w, &four, 1);
        workload_add(w, &two, 1);
        if (only_w[c] > 0)
            workload_add(w, &cpu_only, only_w[c]);
        const struct policy_node *nodes[] = {&a.n, &b.n};
        workload_set_scarcity(w, nodes, 2);
        double fa = workload_fragment(w, &a.n, a.use, 0, 0);
        double fb = workload_fragment(w, &b.n, b.use, 0, 0);
        struct workload_press p = {.mask = {6}};
        p.loss[1] = 2;
        p.loss[2] = 0.5;
        ck_assert(workload_set_pressed(w, &p));
        double gb = fb + on[c] * WORKLOAD_HOST_LOSS * 1500;
        ck_assert_msg(fabs(workload_fragment(w, &a.n, a.use, 0, 0) - fa) < 1e-6, "case %d", c);
        ck_assert_msg(fabs(workload_fragment(w, &b.n, b.use, 0, 0) - gb) < 1e-6, "case %d", c);
        workload_destroy(w);
    }
}
END_TEST

/* The memo keeps F apart from its host-loss term: a pressure pass that
 * moves only the losses (same shapes pressed) gives a new epoch, and the
 * memo answers with the new term (host_loss_in_f's nodes: the busier one
 * hosts one 2-GPU copy of 2 empty ones, the idle one the 4-GPU copy it
 * could); losses all 0 leave F without the term. Loop 1: the 4-GPU shape
 * weighs nothing, so its loss alone (the last case) weighs the rest of
 * the pool to know F has shapes at all. */
START_TEST(host_loss_memo)
{
    const int idle[] = {1000, 1000, 1000, 1000}, one[] = {0, 1000, 1000, 1000};
    const double four_loss[] = {2, 4, 1, 0, 3}, two_loss[] = {0.5, 0.5, 1.5, 0, 0};
    struct tnode a, b;
    node(&a, "a", idle, 4, 16000);
    node(&b, "b", one, 4, 16000);
    struct workload *w = workload_create(1.0);
    struct workload_shape half = shape(1, 50, 2000, NULL), four = shape(4, 100, 1000, NULL),
                          two = shape(2, 100, 1000, NULL);
    half.mem_mib = 8000;
    workload_add(w, &half, 1);
    workload_add(w, &four, _i == 0 ? 1 : 0);
    workload_add(w, &two, 1);
    const struct policy_node *nodes[] = {&a.n, &b.n};
    workload_set_scarcity(w, nodes, 2);
    double fa = workload_fragment(w, &a.n, a.use, 0, 0);
    double fb = workload_fragment(w, &b.n, b.use, 0, 0);
    struct workload_memo *m = workload_memo_create();
    uint64_t last = workload_epoch(w);
    for (size_t c = 0; c < sizeof four_loss / sizeof four_loss[0]; c++) {
        struct workload_press p = {.mask = {6}};
        p.loss[1] = four_loss[c];
        p.loss[2] = two_loss[c];
        ck_assert(workload_set_pressed(w, &p));
        ck_assert(workload_epoch(w) != last);
        last = workload_epoch(w);
        double want =
            fb + WORKLOAD_HOST_LOSS * 1000 * (fmax(four_loss[c], 2 * two_loss[c]) - two_loss[c]);
        double got = workload_fragment_memo(w, m, &b.n, b.use, 0, 0);
        ck_assert_msg(fabs(got - want) < 1e-6, "case %zu: %f, want %f", c, got, want);
        ck_assert_msg(fabs(workload_fragment_memo(w, m, &a.n, a.use, 0, 0) - fa) < 1e-6, "case %zu",
                      c);
    }
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* ---- the node policy ---- */

static struct policy_pod pod(int pct, int64_t cpu)
{
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.uid = p.name = "p";
    p.nctr = pct ? 1 : 0;
    p.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem_pct = pct, .cores = pct};
    p.w = (struct policy_weights){1, 1, 1};
    p.cpu_milli = cpu;
    p.quota_mem = p.quota_cores = -1;
    return p;
}

static struct policy_opts opts(const char *node_policy, struct workload *w)
{
    struct policy_opts o = {.node_policy = policy_node_policy_find(node_policy),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}},
                            .state = w};
    return o;
}

/* Shapes of a half and of 40 %: a 40 % pod on the busier node would leave
 * 150 that neither can use; on the idle node it leaves 600 both can. Gap
 * term: 550 keeps 50 beside a 500; 150 keeps 150; 600 keeps 100. */
START_TEST(fragment_beats_binpack)
{
    struct tnode x, y;
    const int fx[] = {550}, fy[] = {1000};
    node(&x, "busy", fx, 1, 16000);
    node(&y, "idle", fy, 1, 16000);
    const struct policy_node *nodes[] = {&x.n, &y.n};
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape half = shape(1, 50, 1000, NULL), forty = shape(1, 40, 1000, NULL);
    workload_add(w, &half, 1);
    workload_add(w, &forty, 1);
    struct policy_pod p = pod(40, 1000);
    struct policy_verdict v[2];
    struct policy_placement best;
    struct policy_opts bp = opts("binpack", w), fa = opts("fragment-aware", w);
    ck_assert_int_eq(policy_choose(&p, nodes, 2, &bp, v, &best), 0);
    ck_assert_int_eq(policy_choose(&p, nodes, 2, &fa, v, &best), 1);
    ck_assert(fabs(v[0].score - (150 + G * 100)) < 1e-3); /* busy: 0 -> 150 */
    ck_assert(fabs(v[1].score - G * 100) < 1e-3);         /* idle: 0 -> 0 */
    ck_assert_int_eq(policy_priority(&p, &fa, 0), 10);
    ck_assert_int_eq(policy_priority(&p, &fa, -300), 10); /* filling a fragment */
    ck_assert_int_eq(policy_priority(&p, &fa, 250), 7);
    ck_assert_int_eq(policy_priority(&p, &fa, 5000), 0);
    workload_destroy(w);
}
END_TEST

/* On one node: GPUs free {550, 400}; a 40 % pod fits the 400 exactly. */
START_TEST(fragment_picks_the_gpu)
{
    struct tnode t;
    const int free[] = {550, 400};
    node(&t, "n", free, 2, 16000);
    struct workload *w = workload_create(1.0);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    struct workload_shape half = shape(1, 50, 1000, NULL), forty = shape(1, 40, 1000, NULL);
    workload_add(w, &half, 1);
    workload_add(w, &forty, 1);
    struct policy_pod p = pod(40, 1000);
    struct policy_opts o = opts("fragment-aware", w);
    struct policy_placement pl;
    struct policy_reasons why;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_eq(pl.npick, 1);
    ck_assert_int_eq(pl.pick[0].dev, 1);
    o = opts("binpack", w); /* GPU binpack alone takes the fuller card too */
    o.gpu.keys[0] = POLICY_KEY_SPREAD;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_eq(pl.pick[0].dev, 0);
    workload_destroy(w);
}
END_TEST

/* A CPU-only pod goes where its CPU strands no GPU: the full node. */
/* The host-loss term at work: a whole-card pod asking 3 cores, an idle
 * node of 4 GPUs (16 cores) and one with a GPU taken and 4 cores free.
 * Without the term the pod goes to the idle node: on the other it would
 * leave 2 GPUs with 1 core (the balance). With the 4-GPU shape pressed
 * and a lost copy failing its 4 GPUs, taking the idle node's copy costs
 * more: it goes to the busy node. */
START_TEST(fragment_keeps_last_host)
{
    struct tnode idle, busy;
    const int fi[] = {1000, 1000, 1000, 1000}, fb[] = {0, 1000, 1000, 1000};
    node(&idle, "idle", fi, 4, 16000);
    node(&busy, "busy", fb, 4, 4000);
    const struct policy_node *nodes[] = {&idle.n, &busy.n};
    double idle_score[2];
    for (int loss = 0; loss < 2; loss++) {
        struct workload *w = workload_create(1.0);
        struct workload_shape one = shape(1, 100, 3000, NULL), four = shape(4, 100, 1000, NULL);
        workload_add(w, &one, 10);
        workload_add(w, &four, 1);
        struct workload_press p = {.mask = {2}};
        p.loss[1] = 4.0 * loss;
        workload_set_pressed(w, &p);
        struct policy_pod pd = pod(100, 3000);
        struct policy_verdict v[2];
        struct policy_placement best;
        struct policy_opts o = opts("fragment-aware", w);
        ck_assert_int_eq(policy_choose(&pd, nodes, 2, &o, v, &best), loss);
        idle_score[loss] = v[0].score;
        workload_destroy(w);
    }
    /* the idle node's one copy, 4 GPUs lost */
    ck_assert(fabs(idle_score[1] - idle_score[0] - WORKLOAD_HOST_LOSS * 4000) < 1e-6);
}
END_TEST

START_TEST(cpu_pods_steered)
{
    struct tnode gpus, full;
    const int fg[] = {1000, 1000}, ff[] = {0, 0};
    node(&gpus, "free-gpus", fg, 2, 8000);
    node(&full, "full-gpus", ff, 2, 8000);
    const struct policy_node *nodes[] = {&gpus.n, &full.n};
    struct workload *w = workload_create(1.0);
    struct workload_shape needs_cpu = shape(1, 50, 4000, NULL);
    workload_add(w, &needs_cpu, 1);
    struct policy_pod p = pod(0, 6000);
    struct policy_verdict v[2];
    struct policy_placement best;
    struct policy_opts o = opts("fragment-aware", w);
    ck_assert(policy_node_policy_find("fragment-aware")->cpu_pods);
    ck_assert_int_eq(policy_choose(&p, nodes, 2, &o, v, &best), 1);
    ck_assert(v[0].score > 1000); /* 2000 stranded */
    workload_destroy(w);
}
END_TEST

/* The learner's priors carry the host loss, never the pressure's floor,
 * times the part of the nodes with cards enough for the prior that are too
 * small for it (an unseen pod of a kind most nodes can stand in for fails
 * nothing when one host goes). Six nodes of 4 GPUs and 24 cores and two of
 * 64 cores, `lost` of those with a GPU taken, every core free; 1,000 pods
 * of 1 GPU and 16 cores seen (the priors weigh 3 / 1000: under one arrival
 * expected). Big's prior (4 GPUs, 64 cores): copies 2 - lost of 2, short
 * once one is lost (rho 1: the copies lost per GPU filled, carried on to
 * full, leave none); loss = 4 GPUs x open (31 / 32 of the
 * GPUs free) x sized (sqrt(8 / 2)) x small (6 / 8) = 5.8125. Small's prior
 * (24 cores): every node with 4 cards is big enough, small 0: no loss. */
START_TEST(prior_host_loss)
{
    struct tnode t[8];
    const struct policy_node *nodes[8];
    const int idle[] = {1000, 1000, 1000, 1000}, one[] = {0, 1000, 1000, 1000};
    for (int i = 0; i < 8; i++) {
        bool big = i >= 6;
        node(&t[i], big ? "big" : "small", big && i - 6 < _i ? one : idle, 4, 0);
        t[i].n.cpu_milli = big ? 64000 : 24000;
        t[i].n.cpu_used_milli = 0;
        nodes[i] = &t[i].n;
    }
    struct workload *w = workload_create(1.0);
    struct policy_pod p = pod(100, 16000);
    for (int i = 0; i < 1000; i++)
        workload_observe(w, &p);
    workload_add_prior(w, nodes, 8);
    workload_set_scarcity(w, nodes, 8);
    struct workload_press press;
    workload_pressed(w, nodes, 8, &press);
    ck_assert_uint_eq(press.mask[0], 0); /* priors are never pressed */
    ck_assert(press.loss[0] == 0);       /* the seen 1-GPU shape */
    ck_assert_msg(press.loss[1] == 0, "small's prior: loss %f", press.loss[1]);
    double want = _i ? 4 * 31.0 / 32 * 2 * 0.75 : 0;
    ck_assert_msg(fabs(press.loss[2] - want) < 1e-9, "lost %d: big's prior loss %f, want %f", _i,
                  press.loss[2], want);
    workload_destroy(w);
}
END_TEST

/* What an online learner does not know yet. Two idle kinds of node, 4 GPUs
 * each: "small" with 24 cores, "big" with 64 (the only host of a pod
 * asking more than 24). The learner has seen n pods of one shape, a whole
 * card and 16 cores; one more arrives. Seen alone, big is its home: on
 * small it leaves 8 cores, and 3 free GPUs no such pod can use (F +1500
 * there, 0 on big). With the prior, the unseen 64-core shape, which only
 * big hosts (scarcity sqrt 2), and the unseen 24-core one share
 * WORKLOAD_LEARN_PRIOR pods beside the n seen, and taking a GPU of big
 * wastes its other 3,000: at n = 3 that outweighs the 1500 and the pod goes
 * to small; by 5 pods the shared prior has faded below it and the pod goes
 * to big again. learn_prior 0 is the learner before (big at once). A kind
 * is measured, not assumed, when a seen pod asks all its GPUs and exactly
 * the kinds that could host a pod asking all of it could host that pod.
 * One more pod asking all 4 GPUs and 16 cores: both kinds host it, as both
 * host a pod asking all of small (24 cores), so small is measured; big's
 * prior (64 cores, only big) stays and now has the whole bound to itself,
 * so the pod still goes to small at n = 3 and at n = 5 (where the two
 * priors sharing it sent it to big). One asking 32 cores: only big hosts
 * it, as only big hosts big's prior, so big is measured, small's prior
 * stays (both nodes host it), and the pod goes to big. One asking a model
 * neither node has measures nothing: the priors stay and share. A DCU node
 * beside them (its own pool, its own unseen whole-node shape) takes
 * nothing from the NVIDIA kinds' share: at n = 3 the pod goes to small as
 * without it (shared over all three kinds, big). */
static const struct {
    int seen;
    double prior;
    int64_t whole_cpu;      /* cores of one more pod asking all 4 GPUs; 0: none */
    const char *whole_type; /* its use-gputype; NULL: any */
    int want;               /* 0 small, 1 big */
    bool dcu;               /* a DCU node of 4 cards beside them */
} prior_cases[] = {
    {3, WORKLOAD_LEARN_PRIOR, 0, NULL, 0},
    {5, WORKLOAD_LEARN_PRIOR, 0, NULL, 1},
    {10, WORKLOAD_LEARN_PRIOR, 0, NULL, 1},
    {100, WORKLOAD_LEARN_PRIOR, 0, NULL, 1},
    {3, 0, 0, NULL, 1},
    {3, WORKLOAD_LEARN_PRIOR, 16000, NULL, 0},
    {3, WORKLOAD_LEARN_PRIOR, 32000, NULL, 1},
    {1, WORKLOAD_LEARN_PRIOR, 16000, "H100", 0},
    {5, WORKLOAD_LEARN_PRIOR, 16000, NULL, 0},
    {3, WORKLOAD_LEARN_PRIOR, 0, NULL, 0, true},
};

START_TEST(learner_prior)
{
    struct tnode small, big, dcu;
    const int idle[] = {1000, 1000, 1000, 1000};
    node(&small, "small", idle, 4, 24000);
    node(&big, "big", idle, 4, 64000);
    node(&dcu, "dcu", idle, 4, 16000);
    for (int g = 0; g < 4; g++)
        dcu.dev[g].backend = policy_device_backend_find("hygon");
    small.n.cpu_milli = 24000;
    big.n.cpu_milli = 64000;
    small.n.cpu_used_milli = big.n.cpu_used_milli = 0;
    const struct policy_node *nodes[] = {&small.n, &big.n, &dcu.n};
    int nn = prior_cases[_i].dcu ? 3 : 2;
    struct workload_params par = workload_params_default;
    par.learn_prior = prior_cases[_i].prior;
    par.balance = 1.75; /* the crossings at n = 3 and 5 above are for this balance */
    struct workload *learner = workload_create(1.0);
    workload_set_params(learner, &par);
    struct policy_pod p = pod(100, 16000);
    for (int i = 0; i < prior_cases[_i].seen; i++)
        workload_observe(learner, &p);
    if (prior_cases[_i].whole_cpu) {
        struct policy_pod whole = pod(100, prior_cases[_i].whole_cpu);
        whole.ctr[0].nums = 4;
        whole.use_type = prior_cases[_i].whole_type;
        workload_observe(learner, &whole);
    }
    struct workload *w = workload_copy(learner);
    workload_add_prior(w, nodes, nn);
    workload_set_scarcity(w, nodes, nn);
    /* prior shapes are not counted */
    ck_assert_uint_eq(workload_size(w), prior_cases[_i].whole_cpu ? 2 : 1);
    struct policy_verdict v[3];
    struct policy_placement best;
    struct policy_opts o = opts("fragment-aware", w);
    ck_assert_int_eq(policy_choose(&p, nodes, nn, &o, v, &best), prior_cases[_i].want);
    /* Prior shapes are never pressed, however short their hosts (with no
     * pod seen that needs a whole node, any bit would be a prior's). */
    struct workload_press press;
    workload_pressed(w, nodes, nn, &press);
    if (!prior_cases[_i].whole_cpu)
        ck_assert_uint_eq(press.mask[0], 0);
    workload_destroy(w);
    workload_destroy(learner);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fragment");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, fragment_by_hand, 0, sizeof frag_cases / sizeof frag_cases[0]);
    tcase_add_test(tc, multi_gpu_shape);
    tcase_add_test(tc, memo_keys);
    tcase_add_test(tc, scarcity_alternating_models);
    tcase_add_test(tc, memo_by_stamp);
    tcase_add_test(tc, memo_copies);
    tcase_add_loop_test(tc, items_heaviest_first, 0, sizeof item_cases / sizeof item_cases[0]);
    tcase_add_test(tc, learning);
    tcase_add_test(tc, seed_counts_as_seen);
    tcase_add_test(tc, scarcity);
    tcase_add_loop_test(tc, scarcity_by_kind, 0, sizeof kind_cases / sizeof kind_cases[0]);
    tcase_add_loop_test(tc, balance_by_hand, 0, sizeof balance_cases / sizeof balance_cases[0]);
    tcase_add_loop_test(tc, balance_shortage, 0, sizeof shortage_cases / sizeof shortage_cases[0]);
    tcase_add_loop_test(tc, balance_node_short, 0,
                        sizeof node_short_cases / sizeof node_short_cases[0]);
    tcase_add_loop_test(tc, gap_by_hand, 0, sizeof gap_cases / sizeof gap_cases[0]);
    tcase_add_loop_test(tc, pressure_by_hand, 0, sizeof press_cases / sizeof press_cases[0]);
    tcase_add_loop_test(tc, pressure_projected, 0, sizeof proj_cases / sizeof proj_cases[0]);
    tcase_add_test(tc, pressure_weighs);
    tcase_add_loop_test(tc, host_loss_by_hand, 0, sizeof loss_cases / sizeof loss_cases[0]);
    tcase_add_loop_test(tc, host_loss_by_size, 0, sizeof sized_cases / sizeof sized_cases[0]);
    tcase_add_test(tc, host_loss_in_f);
    tcase_add_loop_test(tc, host_loss_memo, 0, 2);
    tcase_add_test(tc, fragment_beats_binpack);
    tcase_add_test(tc, fragment_picks_the_gpu);
    tcase_add_test(tc, cpu_pods_steered);
    tcase_add_test(tc, fragment_keeps_last_host);
    tcase_add_loop_test(tc, learner_prior, 0, sizeof prior_cases / sizeof prior_cases[0]);
    tcase_add_loop_test(tc, prior_host_loss, 0, 2);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

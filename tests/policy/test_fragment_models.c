/* fragment-aware and GPU-model lists (issue 20): the gap term's common
 * share sizes per model, the claim term, and the tunables' parser.
 * Hand-computed tables. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "tests/support/harness.h"

static const char *const T4 = "T4", *const G2 = "G2";

/* One card of 1000 MiB and 100 cores with `free` milli-GPU free, 16 cores
 * and 64000 MiB all free. */
struct tnode {
    struct policy_node n;
    struct policy_device dev[1];
    struct policy_usage use[1];
};

static void node(struct tnode *t, const char *type, int free)
{
    memset(t, 0, sizeof *t);
    t->dev[0] = (struct policy_device){.uuid = type,
                                       .type = type,
                                       .mode = "hami-core",
                                       .count = 100,
                                       .devcore = 100,
                                       .devmem = 1000,
                                       .health = true};
    int used = 1000 - free;
    t->use[0] = (struct policy_usage){used ? 1 : 0, used / 10, used};
    t->n = (struct policy_node){.name = type,
                                .ndev = 1,
                                .dev = t->dev,
                                .use = t->use,
                                .cpu_milli = 16000,
                                .mem_mib = 64000};
}

static struct workload_shape shape(int pct, const char *models)
{
    struct workload_shape s = {.cpu_milli = 1000, .nums = 1, .mem_pct = pct, .cores = pct};
    snprintf(s.models, sizeof s.models, "%s", models);
    return s;
}

/* Shares of 470 and 320 on any model (weight 10 each) and of 160 bound to
 * T4 (weight 0.7); the cluster: one T4 card and one G2 card. The models'
 * counts come from workload_set_scarcity. */
static struct workload *t4_workload(const struct workload_params *p)
{
    struct workload *w = workload_create(1.0);
    struct workload_shape a = shape(47, ""), b = shape(32, ""), c = shape(16, "T4");
    struct tnode t4, g2;
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    workload_set_params(w, p);
    workload_add(w, &a, 10);
    workload_add(w, &b, 10);
    workload_add(w, &c, 0.7);
    node(&t4, T4, 1000);
    node(&g2, G2, 1000);
    const struct policy_node *nodes[] = {&t4.n, &g2.n};
    workload_set_scarcity(w, nodes, 2);
    return w;
}

/* F's part that one term adds: F with the term's weight 1 minus F with 0. */
static double term(const char *type, int free, double gap_models, bool claim)
{
    struct workload_params p = workload_params_default;
    struct tnode t;
    double f[2];
    node(&t, type, free);
    p.balance = 0;
    p.gap_models = gap_models;
    p.gap_ramp = 0; /* one threshold, 1.2 % (the ramp: gap_by_demand) */
    p.gap_common = 0.012;
    for (int k = 0; k < 2; k++) {
        p.gap_weight = claim ? 0 : k;
        p.claim = claim ? k : 0;
        struct workload *w = t4_workload(&p);
        f[k] = workload_fragment(w, &t.n, t.use, 0, 0);
        /* Through a memo (tables and type masks cached), the same. */
        struct workload_memo *m = workload_memo_create();
        ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, 0, 0) - f[k]) < 1e-9);
        ck_assert(fabs(workload_fragment_memo(w, m, &t.n, t.use, 0, 0) - f[k]) < 1e-9);
        workload_memo_destroy(m);
        workload_destroy(w);
    }
    return f[1] - f[0];
}

/* The gap term per model, by hand. What lands on a model: a shape's weight
 * times the model's part of the GPUs it may use; a size is common when its
 * milli-GPU are at least 1.2 % of all shares' there. On the T4 card: 470
 * and 320 land 10 x 1/2 = 5 each, the T4-bound 160 all its 0.7: 160 brings
 * 112 of 2350 + 1600 + 112 = 4062, 2.8 %, common: a 210 gap keeps 210 -
 * 160 = 50. On the G2 card nothing of the 160 lands: a 210 gap keeps 210.
 * Models ignored (gap_models 0, as before issue 20): 112 of 8012, 1.4 %
 * everywhere, common on G2 too: 50. */
static const struct {
    const char *type;
    int free;
    double gap_models, left;
} gap_cases[] = {
    {"T4", 210, 1, 50}, {"G2", 210, 1, 210}, {"G2", 210, 0, 50},
    {"T4", 210, 0, 50}, {"G2", 530, 1, 60}, /* 470 fills it on either model */
};

START_TEST(gap_per_model)
{
    const char *type = strcmp(gap_cases[_i].type, "T4") == 0 ? T4 : G2;
    double left = term(type, gap_cases[_i].free, gap_cases[_i].gap_models, false);
    ck_assert_msg(fabs(left - gap_cases[_i].left) < 1e-9, "case %d: left %f, want %f", _i, left,
                  gap_cases[_i].left);
}
END_TEST

/* The claim term by hand: of all GPU demand (470 x 10 + 320 x 10 + 160 x
 * 0.7 = 8012) the T4-bound shape's 112 lands on T4 (it may use only T4's
 * one GPU), T4 holds 1 of the 2 GPUs: claim 112 / 8012 x 2 / 1 = 0.02796,
 * in eighth-octave steps 2^(-41/8) = 0.028656 (log2 x 8 = -41.28). F gains
 * claim x the used capacity of the card; G2 claims nothing. */
#define CLAIM_T4 0.028656376350145975
static const struct {
    const char *type;
    int free;
    double part;
} claim_cases[] = {
    {"T4", 210, CLAIM_T4 * 790},
    {"T4", 1000, 0},
    {"T4", 0, CLAIM_T4 * 1000},
    {"G2", 210, 0},
};

START_TEST(claim_by_hand)
{
    const char *type = strcmp(claim_cases[_i].type, "T4") == 0 ? T4 : G2;
    double part = term(type, claim_cases[_i].free, 1, true);
    ck_assert_msg(fabs(part - claim_cases[_i].part) < 1e-9, "case %d: part %f, want %f", _i, part,
                  claim_cases[_i].part);
}
END_TEST

/* The claim steers a pod that may go anywhere off the model others are
 * bound to: an idle T4 and an idle G2 node, whole-card shapes on any model
 * and bound to T4, weight 1 each. Claim of T4: the bound half of the demand
 * over T4's half of the GPUs = 1; a whole card on T4 costs WORKLOAD_CLAIM x
 * 1000 more than without the term, on G2 nothing. */
START_TEST(claim_steers)
{
    struct workload_params p = workload_params_default;
    struct workload *w = workload_create(1.0);
    struct workload_shape any = shape(100, ""), bound = shape(100, "T4");
    struct tnode t4, g2;
    workload_add(w, &any, 1);
    workload_add(w, &bound, 1);
    node(&t4, T4, 1000);
    node(&g2, G2, 1000);
    const struct policy_node *nodes[] = {&t4.n, &g2.n};
    workload_set_params(w, &p);
    workload_set_scarcity(w, nodes, 2);
    struct policy_pod pod = {.uid = "p", .name = "p", .ns = "d", .nctr = 1};
    pod.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem_pct = 100, .cores = 100};
    pod.w = (struct policy_weights){1, 1, 1};
    pod.quota_mem = pod.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find("fragment-aware"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}},
                            .state = w};
    struct policy_verdict v[2];
    struct policy_placement best;
    ck_assert_int_eq(policy_choose(&pod, nodes, 2, &o, v, &best), 1); /* G2 */
    double with = v[0].score - v[1].score;
    p.claim = 0;
    workload_set_params(w, &p);
    ck_assert_int_eq(policy_choose(&pod, nodes, 2, &o, v, &best), 1);
    double without = v[0].score - v[1].score;
    ck_assert_msg(fabs(with - without - WORKLOAD_CLAIM * 1000) < 1e-6, "%f %f", with, without);
    workload_destroy(w);
}
END_TEST

/* The claims follow the free capacity (every pressure pass): the bound
 * demand still to come over what is left of the model that arrivals can
 * use. Shares of 250 on any model and whole cards bound to T4, weight 1
 * each, on one T4 and one G2 card: T4's bound part of the demand is
 * 1000 / 1250, so its claim is 0.8 x the usable free capacity of both
 * cards over T4's, in eighth-octave steps, 0 when T4 has none. Usable: a
 * card's free share down to a multiple of 250 (what 250s fill), a whole
 * card all of it. F's claim part on a T4 card half used: claim x 500.
 * changed: against the claim of the empty cluster, 1.6. */
static const struct {
    int t4_free, g2_free;
    double claim;
    bool changed;
} free_cases[] = {
    {1000, 1000, 1.5422108254079407, false}, /* 1.6: 2^(5/8) */
    {1000, 990, 1.4142135623730951, true},   /* G2 holds 750: 1.4, 2^(4/8); 1.59 raw */
    {990, 800, 1.5422108254079407, false},   /* both hold 750: 1.6 again; 1.45 raw */
    {500, 1000, 2.3784142300054421, true},   /* 2.4: 2^(10/8) */
    {400, 1000, 4, true},                    /* T4 holds 250: 4; 2.8 raw */
    {200, 1000, 0, true},                    /* T4 holds nothing its pods use; 4.8 raw */
    {1000, 0, 0.7711054127039704, true},     /* 0.8: 2^(-3/8) */
    {0, 1000, 0, true},
};

/* An empty workload whose F has, of the extra terms, only the claim at
 * weight `claim`. */
static struct workload *claim_only(double claim)
{
    struct workload_params p = workload_params_default;
    struct workload *w = workload_create(1.0);
    p.balance = 0;
    p.gap_weight = 0;
    p.claim = claim;
    workload_set_params(w, &p);
    return w;
}

/* F's claim part on `probe` after a pressure pass over `nodes`: F with the
 * claim's weight 1 less F with 0; *changed: what workload_set_pressed
 * said. The shapes: any_pct % of a card on any model of their vendor, and
 * a whole card bound to T4 unless bound_vendor names another vendor,
 * weight 1 each. */
static double claim_part(const struct policy_node *const *nodes, int n, const struct tnode *probe,
                         int any_pct, const char *bound_vendor, bool *changed)
{
    double f[2];
    for (int k = 0; k < 2; k++) {
        struct workload *w = claim_only(k);
        struct workload_shape any = shape(any_pct, ""),
                              other = shape(100, bound_vendor ? "" : "T4");
        struct workload_press now;
        other.backend = bound_vendor ? policy_device_backend_find(bound_vendor) : NULL;
        workload_add(w, &any, 1);
        workload_add(w, &other, 1);
        workload_set_scarcity(w, nodes, n);
        workload_pressed(w, nodes, n, &now);
        *changed = workload_set_pressed(w, &now);
        f[k] = workload_fragment(w, &probe->n, probe->use, 0, 0);
        workload_destroy(w);
    }
    return f[1] - f[0];
}

START_TEST(claim_follows_free)
{
    struct tnode t4, g2, probe;
    bool changed;
    node(&t4, T4, free_cases[_i].t4_free);
    node(&g2, G2, free_cases[_i].g2_free);
    node(&probe, T4, 500);
    const struct policy_node *nodes[] = {&t4.n, &g2.n};
    double part = claim_part(nodes, 2, &probe, 25, NULL, &changed);
    ck_assert_msg(fabs(part - free_cases[_i].claim * 500) < 1e-6, "case %d: part %f", _i, part);
    ck_assert_int_eq(changed, free_cases[_i].changed);
}
END_TEST

/* Claims move apart from the rest of F (a pressure pass whose only change
 * is the claims keeps the memo's measure and re-measures the claim term):
 * through free_cases' pressure passes in turn on one workload, F through
 * one memo equals F measured afresh, on a T4 probe and on a probe of two
 * pools (a T4 and a DCU card: its claim is not kept apart). */
START_TEST(claim_memo)
{
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    struct tnode t4, g2, probe;
    struct policy_device two_dev[2];
    struct policy_usage two_use[2];
    struct policy_node two;
    struct workload *w = claim_only(1);
    struct workload_shape any = shape(25, ""), bound = shape(100, "T4");
    struct workload_memo *m = workload_memo_create();
    double last = -1;
    int moved = 0;
    node(&probe, T4, 500);
    two = probe.n;
    two_dev[0] = two_dev[1] = probe.dev[0];
    two_dev[1].backend = dcu;
    two_use[0] = two_use[1] = probe.use[0];
    two.ndev = 2;
    two.dev = two_dev;
    two.use = two_use;
    workload_add(w, &any, 1);
    workload_add(w, &bound, 1);
    for (size_t c = 0; c < sizeof free_cases / sizeof free_cases[0]; c++) {
        struct workload_press now;
        node(&t4, T4, free_cases[c].t4_free);
        node(&g2, G2, free_cases[c].g2_free);
        const struct policy_node *nodes[] = {&t4.n, &g2.n};
        if (c == 0)
            workload_set_scarcity(w, nodes, 2);
        workload_pressed(w, nodes, 2, &now);
        workload_set_pressed(w, &now);
        double f = workload_fragment(w, &probe.n, probe.use, 0, 0);
        double got = workload_fragment_memo(w, m, &probe.n, probe.use, 0, 0);
        ck_assert_msg(fabs(got - f) < 1e-9, "case %zu: %f, want %f", c, got, f);
        got = workload_fragment_memo(w, m, &two, two_use, 0, 0);
        f = workload_fragment(w, &two, two_use, 0, 0);
        ck_assert_msg(fabs(got - f) < 1e-9, "case %zu, two pools: %f, want %f", c, got, f);
        moved += fabs(f - last) > 1e-6;
        last = f;
    }
    ck_assert_int_ge(moved, 4); /* the claims moved F: the memo had to follow */
    workload_memo_destroy(m);
    workload_destroy(w);
}
END_TEST

/* A vendor is not a model list: beside a DCU card, shapes on any NVIDIA
 * model and on any DCU bind no NVIDIA model, so T4 claims nothing (each
 * pool's shapes reach all of it), used or not. */
START_TEST(claim_within_pool)
{
    struct tnode t4, dcu, probe;
    bool changed;
    for (int free = 0; free <= 1000; free += 500) {
        node(&t4, T4, free);
        node(&dcu, G2, 1000);
        dcu.dev[0].backend = policy_device_backend_find("hygon");
        node(&probe, T4, 500);
        const struct policy_node *nodes[] = {&t4.n, &dcu.n};
        ck_assert(fabs(claim_part(nodes, 2, &probe, 100, "hygon", &changed)) < 1e-9);
        ck_assert(!changed);
    }
}
END_TEST

/* Two vendors may name a model alike: NVIDIA T4 and G2 cards with a
 * T4-bound NVIDIA shape beside a DCU card also called T4. NVIDIA's T4
 * claims 1 (the bound half of NVIDIA's demand over T4's half of NVIDIA's
 * GPUs); the DCU T4 claims nothing. F's claim part on a half-used card:
 * 500 on the NVIDIA T4, 0 on the DCU one. */
START_TEST(claim_per_pool_model)
{
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    struct tnode t4, g2, dt4, probe;
    double part[2][2];
    node(&t4, T4, 1000);
    node(&g2, G2, 1000);
    node(&dt4, T4, 1000);
    dt4.dev[0].backend = dcu;
    const struct policy_node *nodes[] = {&t4.n, &g2.n, &dt4.n};
    for (int k = 0; k < 2; k++) {
        struct workload *w = claim_only(k);
        struct workload_shape any = shape(100, ""), bound = shape(100, "T4"),
                              on_dcu = shape(100, "");
        on_dcu.backend = dcu;
        workload_add(w, &any, 1);
        workload_add(w, &bound, 1);
        workload_add(w, &on_dcu, 1);
        workload_set_scarcity(w, nodes, 3);
        for (int v = 0; v < 2; v++) {
            struct workload_memo *m = workload_memo_create();
            node(&probe, T4, 500);
            probe.dev[0].backend = v ? dcu : NULL;
            /* the NVIDIA card first, so a memo keyed by the string alone
             * would hand the DCU card NVIDIA's claim */
            workload_fragment_memo(w, m, &t4.n, t4.use, 0, 0);
            part[v][k] = workload_fragment_memo(w, m, &probe.n, probe.use, 0, 0);
            workload_memo_destroy(m);
        }
        workload_destroy(w);
    }
    ck_assert_msg(fabs(part[0][1] - part[0][0] - 500) < 1e-6, "NVIDIA T4: %f",
                  part[0][1] - part[0][0]);
    ck_assert_msg(fabs(part[1][1] - part[1][0]) < 1e-9, "DCU T4: %f", part[1][1] - part[1][0]);
}
END_TEST

/* Common by demand, not by count: shares of 470 and 320 (weight 10 each)
 * and of 60 (weight 0.5, 2.4 % of the pods but 30 of 7930 milli-GPU, 0.38
 * %). By demand (the default) 60 is not common: a 530 gap keeps 60 beside
 * a 470, a 210 gap all 210. By count (2.4 % of the pods, over the
 * threshold; the rule before issue 20) it is:
 * 470 + 60 fills 530, 60 x 3 leaves 30 of 210.
 * The ramp (gap_ramp 1): every threshold from half to twice gap_common,
 * evenly in log2, the gaps averaged. At gap_common 0.5 % the 60 share
 * (30 / 7930 = 0.378 % of the demand) counts under the thresholds from
 * 0.25 % to 0.378 %: (log2 0.378 - log2 0.25) / 2 = 0.299 of the ramp. A
 * 530 gap keeps 0.701 x 60 = 42.1, a 210 gap 0.299 x 30 + 0.701 x 210 =
 * 156.2 (the table keeps whole milli-GPU: 42, 156); the step at 0.5 %
 * leaves 60 and 210. A ramp twice as wide (gap_ramp 2: 0.125 % to 2 %)
 * counts it under (log2 0.378 - log2 0.125) / 4 = 0.399 of the
 * thresholds: 0.601 x 60 = 36.0 and 0.399 x 30 + 0.601 x 210 = 138.1. */
static const struct {
    double rule, ramp, common;
    int free, left;
} demand_cases[] = {
    {1, 0, WORKLOAD_GAP_COMMON, 530, 60},
    {0, 0, WORKLOAD_GAP_COMMON, 530, 0},
    {1, 0, WORKLOAD_GAP_COMMON, 210, 210},
    {0, 0, WORKLOAD_GAP_COMMON, 210, 30},
    {1, 0, WORKLOAD_GAP_COMMON, 1000, 0},
    {1, 1, 0.005, 530, 42},
    {1, 1, 0.005, 210, 156},
    {1, 1, WORKLOAD_GAP_COMMON, 530, 60}, /* 0.378 % is below the whole ramp */
    {1, 1, 0.0015, 530, 0},               /* and above all of it */
    {1, 1, 0.0015, 210, 30},
    {1, 0, 0.005, 530, 60},
    {1, 0, 0.005, 210, 210},
    {1, 2, 0.005, 530, 36},
    {1, 2, 0.005, 210, 138},
};

START_TEST(gap_by_demand)
{
    struct workload_params p = workload_params_default;
    struct tnode t;
    double f[2];
    node(&t, G2, demand_cases[_i].free);
    p.balance = 0;
    p.gap_rule = demand_cases[_i].rule;
    p.gap_ramp = demand_cases[_i].ramp;
    p.gap_common = demand_cases[_i].common;
    for (int k = 0; k < 2; k++) {
        struct workload *w = workload_create(1.0);
        struct workload_shape a = shape(47, ""), b = shape(32, ""), c = shape(6, "");
        p.gap_weight = k;
        workload_set_params(w, &p);
        workload_set_measure(w, WORKLOAD_ONE_COPY);
        workload_add(w, &a, 10);
        workload_add(w, &b, 10);
        workload_add(w, &c, 0.5);
        f[k] = workload_fragment(w, &t.n, t.use, 0, 0);
        workload_destroy(w);
    }
    ck_assert_msg(fabs(f[1] - f[0] - demand_cases[_i].left) < 1e-9, "case %d: left %f", _i,
                  f[1] - f[0]);
}
END_TEST

static const struct {
    const char *arg;
    int rc;
    double balance, gap_common;
} param_cases[] = {
    {"balance=0.5", 0, 0.5, WORKLOAD_GAP_COMMON},
    {"gap_common=0.02", 0, WORKLOAD_BALANCE, 0.02},
    {"gap_common=0", 0, WORKLOAD_BALANCE, 0},
    {"ask_rule=1", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"gap_ramp=0", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"idle_ramp=0", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance_short=0", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"host_loss=0.75", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"node_short=7.5", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"node_short=1001", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"learn_decay=0.9992", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"press_every=12", 0, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"learn_every=1001", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"ask_rule=2000", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"idle_ramp=-0.25", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance=", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance=1x", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance=-1", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance=nan", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balance=1e999", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"balancex=1", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"=1", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
    {"", ERR_INVAL, WORKLOAD_BALANCE, WORKLOAD_GAP_COMMON},
};

START_TEST(params_parse)
{
    struct workload_params p = workload_params_default;
    char err[160] = "";
    int rc = workload_param_set(&p, param_cases[_i].arg, err, sizeof err);
    ck_assert_int_eq(rc, param_cases[_i].rc);
    ck_assert(p.balance == param_cases[_i].balance);
    ck_assert(p.gap_common == param_cases[_i].gap_common);
    ck_assert(rc == 0 || err[0]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fragment_models");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, gap_per_model, 0, sizeof gap_cases / sizeof gap_cases[0]);
    tcase_add_loop_test(tc, claim_by_hand, 0, sizeof claim_cases / sizeof claim_cases[0]);
    tcase_add_test(tc, claim_steers);
    tcase_add_loop_test(tc, claim_follows_free, 0, sizeof free_cases / sizeof free_cases[0]);
    tcase_add_test(tc, claim_memo);
    tcase_add_test(tc, claim_within_pool);
    tcase_add_test(tc, claim_per_pool_model);
    tcase_add_loop_test(tc, gap_by_demand, 0, sizeof demand_cases / sizeof demand_cases[0]);
    tcase_add_loop_test(tc, params_parse, 0, sizeof param_cases / sizeof param_cases[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

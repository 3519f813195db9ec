/* fragment-aware measures fragmentation per pool of like devices: devices
 * of different vendors never form one pool. On a node carrying two vendors,
 * F is the F of its NVIDIA cards alone plus the F of its DCUs alone (each
 * against the shapes asking that vendor), so no vendor's free capacity ever
 * counts as waste, or as room, for another vendor's shapes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/device.h"
#include "policy/policy.h"
#include "policy/workload.h"
#include "tests/support/harness.h"

#define MAXD 4

/* A device: vendor, MiB used of 1000; a shape: vendor, GPUs, % of a card. */
struct pdev {
    const char *vendor;
    int used;
};
struct pshape {
    const char *vendor;
    int nums, pct;
    double weight;
};

static const struct pool_case {
    const char *name;
    int ndev;
    struct pdev dev[MAXD];
    int nshape;
    struct pshape shape[3];
} cases[] = {
    /* clang-format off */
    {"NVIDIA shapes only; the DCUs half used", 4,
     {{"nvidia", 0}, {"nvidia", 700}, {"hygon", 500}, {"hygon", 0}}, 1,
     {{"nvidia", 1, 50, 1}}},
    {"DCU shapes only; the NVIDIA cards half used", 4,
     {{"nvidia", 500}, {"nvidia", 500}, {"hygon", 300}, {"hygon", 0}}, 1,
     {{"hygon", 1, 60, 1}}},
    {"both vendors' shapes, whole and shared", 4,
     {{"nvidia", 200}, {"hygon", 0}, {"nvidia", 0}, {"hygon", 900}}, 3,
     {{"nvidia", 1, 100, 1}, {"hygon", 1, 30, 2}, {"nvidia", 2, 100, 1}}},
    {"a two-DCU shape beside NVIDIA cards that are free", 4,
     {{"nvidia", 0}, {"nvidia", 0}, {"hygon", 0}, {"hygon", 100}}, 2,
     {{"hygon", 2, 100, 1}, {"nvidia", 1, 50, 1}}},
    /* clang-format on */
};

struct tnode {
    struct policy_node n;
    struct policy_device dev[MAXD];
    struct policy_usage use[MAXD];
};

/* The devices of k whose vendor is `only` (NULL: all) as a node. */
static void build(struct tnode *t, const struct pool_case *k, const char *only)
{
    memset(t, 0, sizeof *t);
    int n = 0;
    for (int i = 0; i < k->ndev; i++) {
        if (only && strcmp(k->dev[i].vendor, only) != 0)
            continue;
        t->dev[n] = (struct policy_device){.uuid = "d",
                                           .type = "T",
                                           .mode = "hami-core",
                                           .index = n,
                                           .count = 10,
                                           .devcore = 100,
                                           .devmem = 1000,
                                           .health = true,
                                           .backend = policy_device_backend_find(k->dev[i].vendor)};
        int used = k->dev[i].used;
        t->use[n] = (struct policy_usage){used ? 1 : 0, used / 10, used};
        n++;
    }
    t->n = (struct policy_node){.name = "n",
                                .ndev = n,
                                .dev = t->dev,
                                .use = t->use,
                                .cpu_milli = 64000,
                                .cpu_used_milli = 8000,
                                .mem_mib = 256000,
                                .id = -1};
}

static struct workload *shapes(const struct pool_case *k)
{
    struct workload *w = workload_create(1.0);
    for (int i = 0; i < k->nshape; i++) {
        struct workload_shape s = {.cpu_milli = 4000,
                                   .mem_mib = 8000,
                                   .nums = k->shape[i].nums,
                                   .mem_pct = k->shape[i].pct,
                                   .cores = k->shape[i].pct,
                                   .backend = policy_device_backend_find(k->shape[i].vendor)};
        workload_add(w, &s, k->shape[i].weight);
    }
    return w;
}

static double frag(const struct workload *w, const struct tnode *t, bool memo)
{
    if (!memo)
        return workload_fragment(w, &t->n, t->use, t->n.cpu_used_milli, t->n.mem_used_mib);
    struct workload_memo *m = workload_memo_create();
    double f = workload_fragment_memo(w, m, &t->n, t->use, t->n.cpu_used_milli, t->n.mem_used_mib);
    workload_memo_destroy(m);
    return f;
}

START_TEST(test_pool_sum)
{
    const struct pool_case *k = &cases[_i];
    static struct tnode mixed, nv, dcu;
    struct workload *w = shapes(k);
    build(&mixed, k, NULL);
    build(&nv, k, "nvidia");
    build(&dcu, k, "hygon");
    for (int memo = 0; memo < 2; memo++) {
        double f = frag(w, &mixed, memo), parts = frag(w, &nv, memo) + frag(w, &dcu, memo);
        ck_assert_msg(fabs(f - parts) < 1e-6, "%s (memo %d): F %.6f, pools %.6f", k->name, memo, f,
                      parts);
    }
    workload_destroy(w);
}
END_TEST

/* A pod's shape keeps its container's vendor, and shapes of two vendors
 * asking the same are two shapes. */
START_TEST(test_shape_vendor)
{
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    static struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem_pct = 50, .backend = dcu};
    struct workload_shape s;
    workload_shape_of(&p, &s);
    ck_assert_ptr_eq(s.backend, dcu);
    struct workload *w = workload_create(1.0);
    workload_add(w, &s, 1);
    s.backend = NULL;
    workload_add(w, &s, 1);
    ck_assert_int_eq((int)workload_size(w), 2);
    workload_destroy(w);
}
END_TEST

/* The balance's supply is counted per pool. A cluster of NVIDIA nodes, and
 * the same cluster with a DCU twin of every node (and of every GPU-less
 * node) whose workload adds the DCU twin of the NVIDIA shape and twice the
 * CPU-only pods: each pool is the first cluster again, so an NVIDIA node's
 * F must not change. Counted over the whole cluster, the CPU-only pods'
 * ask per GPU doubled (all of it fell on each pool). Rows: ask_rule, the
 * nodes' CPU and the measured one's free CPU, a GPU-less node's CPU (0:
 * none), and whether CPU runs short (F > 0). */
static const struct supply_case {
    double rule;
    int64_t cpu, cpu_free, bare;
    bool short_of_cpu;
} supply_cases[] = {
    {0, 64000, 6000, 0, true},     {1, 16000, 6000, 0, true},   {2, 16000, 6000, 0, true},
    {2, 12000, 6000, 40000, true}, {2, 64000, 6000, 0, true},   {1, 64000, 60000, 0, false},
    {2, 8000, 6000, 20000, true},  {0, 64000, 64000, 0, false},
};

/* Two idle cards of `vendor` with c's CPU (free: c->cpu_free). */
static void twin(struct tnode *t, const struct supply_case *c, const char *vendor, int ndev)
{
    static const struct pool_case empty = {"", 2, {{"nvidia", 0}, {"nvidia", 0}}, 0, {{0}}};
    build(t, &empty, NULL);
    for (int i = 0; i < 2; i++)
        t->dev[i].backend = policy_device_backend_find(vendor);
    t->n.ndev = ndev;
    t->n.cpu_milli = ndev ? c->cpu : c->bare;
    t->n.cpu_used_milli = ndev ? c->cpu - c->cpu_free : 0;
}

/* F of nodes[0] on the cluster nodes[0..n), the workload: a half card of
 * each vendor in `vendors` and `cpu_only` weight of a 4-core CPU-only pod. */
static double balance_on(const struct supply_case *c, const struct policy_node *const *nodes, int n,
                         int nvendor, double cpu_only)
{
    static const char *const vendors[] = {"nvidia", "hygon"};
    struct workload *w = workload_create(1.0);
    struct workload_params p = workload_params_default;
    p.ask_rule = c->rule;
    workload_set_params(w, &p);
    workload_set_measure(w, WORKLOAD_ONE_COPY);
    for (int v = 0; v < nvendor; v++) {
        struct workload_shape s = {.cpu_milli = 2000,
                                   .mem_mib = 8000,
                                   .nums = 1,
                                   .mem_pct = 50,
                                   .cores = 50,
                                   .backend = policy_device_backend_find(vendors[v])};
        workload_add(w, &s, 1);
    }
    struct workload_shape only = {.cpu_milli = 4000, .mem_mib = 1000};
    workload_add(w, &only, cpu_only);
    workload_set_scarcity(w, nodes, n);
    const struct policy_node *m = nodes[0];
    double f = workload_fragment(w, m, m->use, m->cpu_used_milli, m->mem_used_mib);
    workload_destroy(w);
    return f;
}

START_TEST(test_supply_per_pool)
{
    const struct supply_case *c = &supply_cases[_i];
    static struct tnode nv[2], dcu[2], bare[2];
    twin(&nv[0], c, "nvidia", 2);
    twin(&nv[1], c, "nvidia", 2);
    nv[1].n.cpu_used_milli = 0;
    twin(&dcu[0], c, "hygon", 2);
    twin(&dcu[1], c, "hygon", 2);
    twin(&bare[0], c, "nvidia", 0);
    twin(&bare[1], c, "nvidia", 0);
    int k = c->bare ? 1 : 0;
    const struct policy_node *alone[] = {&nv[0].n, &nv[1].n, &bare[0].n};
    const struct policy_node *mixed[] = {&nv[0].n,  &nv[1].n,   &dcu[0].n,
                                         &dcu[1].n, &bare[0].n, &bare[1].n};
    double one = balance_on(c, alone, 2 + k, 1, 1);
    double both = balance_on(c, mixed, 4 + 2 * k, 2, 2);
    ck_assert_msg(fabs(one - both) < 1e-9, "case %d: NVIDIA alone F %.6f, beside DCUs %.6f", _i,
                  one, both);
    ck_assert_msg((one > 1e-9) == c->short_of_cpu, "case %d: F %.6f", _i, one);
}
END_TEST

/* On a node of two vendors the pools share its free CPU: two NVIDIA cards
 * and two DCUs, idle, 10000 CPU free, a half card of each vendor asking
 * 4000 CPU (8 CPU per milli-GPU, no supply counted). The 4000 milli-GPU
 * need 32000 CPU; 10000 feeds 1250, so 2750 is stranded, as on a node of
 * four NVIDIA cards asked the same. Each pool counting all the free CPU
 * saw 10000 feed 1250 of its 2000: 1500 stranded in all. */
START_TEST(test_balance_shares_host)
{
    static const struct pool_case two = {"",
                                         4,
                                         {{"nvidia", 0}, {"hygon", 0}, {"nvidia", 0}, {"hygon", 0}},
                                         2,
                                         {{"nvidia", 1, 50, 1}, {"hygon", 1, 50, 1}}};
    static const struct pool_case one = {
        "",
        4,
        {{"nvidia", 0}, {"nvidia", 0}, {"nvidia", 0}, {"nvidia", 0}},
        1,
        {{"nvidia", 1, 50, 2}}};
    const struct pool_case *k[] = {&two, &one};
    for (int i = 0; i < 2; i++) {
        static struct tnode t;
        struct workload *w = shapes(k[i]);
        struct workload_params p = workload_params_default;
        p.ask_rule = 0;
        workload_set_params(w, &p);
        workload_set_measure(w, WORKLOAD_ONE_COPY);
        build(&t, k[i], NULL);
        t.n.cpu_milli = 16000;
        t.n.cpu_used_milli = 6000;
        double f = frag(w, &t, i == 0);
        ck_assert_msg(fabs(f - WORKLOAD_BALANCE * 2750) < 1e-6, "%s: F %.3f", i ? "one" : "two", f);
        workload_destroy(w);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pools");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_pool_sum, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_shape_vendor);
    tcase_add_test(tc, test_balance_shares_host);
    tcase_add_loop_test(tc, test_supply_per_pool, 0,
                        (int)(sizeof supply_cases / sizeof supply_cases[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

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

int main(void)
{
    Suite *s = suite_create("pools");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_pool_sum, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_shape_vendor);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* The placement engine, table by table, with HAMi's own cases. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "policy/codec.h"
#include "policy/policy.h"
#include "tests/support/harness.h"

/* A device row: inventory then usage. */
struct tdev {
    const char *uuid;
    int32_t count;
    int64_t devmem;
    int32_t devcore;
    int32_t used;
    int64_t usedmem;
    int32_t usedcores;
    int32_t numa;
    bool unhealthy;
    bool cordoned;
    const char *type;
};

struct tnode {
    struct policy_node n;
    struct policy_device dev[8];
    struct policy_usage use[8];
};

static void build(struct tnode *t, const char *name, const struct tdev *d, int nd)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < nd; i++) {
        t->dev[i] = (struct policy_device){
            .uuid = d[i].uuid,
            .type = d[i].type ? d[i].type : "NVIDIA-A100",
            .mode = "hami-core",
            .index = i,
            .numa = d[i].numa,
            .count = d[i].count,
            .devcore = d[i].devcore,
            .devmem = d[i].devmem,
            .health = !d[i].unhealthy,
            .cordoned = d[i].cordoned,
        };
        t->use[i] = (struct policy_usage){d[i].used, d[i].usedcores, d[i].usedmem};
    }
    t->n = (struct policy_node){.name = name, .ndev = nd, .dev = t->dev, .use = t->use};
}

/* A pod with one app container asking nums GPUs of mem MiB and cores %. */
static void pod1(struct policy_pod *p, int nums, int mem, int cores)
{
    memset(p, 0, sizeof *p);
    p->name = "p";
    p->nctr = 1;
    p->ctr[0] = (struct policy_ctr){.name = "c", .nums = nums, .mem = mem, .cores = cores};
    if (mem == 0)
        p->ctr[0].mem_pct = 100;
    p->w = (struct policy_weights){1, 1, 1};
    p->quota_mem = p->quota_cores = -1;
}

static struct policy_opts opts_for(const char *node_pol, const char *gpu_pol)
{
    struct policy_opts o = {.node_policy = policy_node_policy_find(node_pol)};
    char err[128];
    ck_assert_int_eq(policy_gpu_policy_parse(gpu_pol, &o.gpu, err, sizeof err), 0);
    return o;
}

/* ---- scores ---- */

START_TEST(device_score_hami)
{
    struct policy_device d = {.count = 10, .devcore = 4, .devmem = 8192};
    struct policy_usage u = {.used = 2, .cores = 1, .mem = 2048};
    struct policy_weights w = {1, 1, 1};
    struct policy_ctr req = {.nums = 1, .mem = 1024, .cores = 1};
    ck_assert(fabs(policy_device_score(&d, &u, NULL, &w) - 7.0) < 1e-9);
    ck_assert(fabs(policy_device_score(&d, &u, &req, &w) - 11.75) < 1e-9);
    struct policy_device zero = {.count = 0, .devcore = 4, .devmem = 8192};
    ck_assert(policy_device_score(&zero, &u, &req, &w) == 0);
    struct policy_weights mem_only = {0, 0, 3};
    ck_assert(fabs(policy_device_score(&d, &u, NULL, &mem_only) - 7.5) < 1e-9);
}
END_TEST

START_TEST(node_score_hami)
{
    struct tnode t;
    struct tdev d[] = {{"a", 100, 100, 100, 50, 100, 100}, {"b", 150, 200, 200, 75, 200, 200}};
    build(&t, "n", d, 2);
    ck_assert(fabs(policy_node_usage_score(&t.n, t.use) - 25.0) < 1e-9);
    struct tdev z[] = {{"z", 0, 0, 0}};
    build(&t, "n", z, 1);
    ck_assert(policy_node_usage_score(&t.n, t.use) == 0);
}
END_TEST

/* HAMi's scheduler test: node1 {dev1 used 2000 MiB/25 cores, dev2 idle},
 * node2 {dev3 idle, dev4 used 6000/75}; request 1 GPU, 1000 MiB, 20 cores. */
static const struct {
    const char *node_pol, *gpu_pol, *node, *dev;
} hami_cases[] = {
    {"binpack", "binpack", "node2", "dev4"},
    {"binpack", "spread", "node2", "dev3"},
    {"spread", "binpack", "node1", "dev1"},
    {"spread", "spread", "node1", "dev2"},
};

START_TEST(hami_choose)
{
    struct tnode n1, n2;
    struct tdev d1[] = {{"dev1", 10, 8000, 100, 1, 2000, 25}, {"dev2", 10, 8000, 100}};
    struct tdev d2[] = {{"dev3", 10, 8000, 100}, {"dev4", 10, 8000, 100, 1, 6000, 75}};
    build(&n1, "node1", d1, 2);
    build(&n2, "node2", d2, 2);
    const struct policy_node *nodes[] = {&n1.n, &n2.n};
    struct policy_pod p;
    pod1(&p, 1, 1000, 20);
    struct policy_opts o = opts_for(hami_cases[_i].node_pol, hami_cases[_i].gpu_pol);
    struct policy_verdict v[2];
    struct policy_placement best;

    int k = policy_choose(&p, nodes, 2, &o, v, &best);
    ck_assert_int_ge(k, 0);
    ck_assert_str_eq(nodes[k]->name, hami_cases[_i].node);
    ck_assert_int_eq(best.npick, 1);
    ck_assert_str_eq(nodes[k]->dev[best.pick[0].dev].uuid, hami_cases[_i].dev);
    ck_assert(fabs(v[0].score - 3.0) < 1e-6 && fabs(v[1].score - 8.0) < 1e-6);
    /* The device scores HAMi's test names. */
    ck_assert(fabs(policy_device_score(&n2.dev[0], &n2.use[0], &p.ctr[0], &p.w) - 4.25) < 1e-9);
    ck_assert(fabs(policy_device_score(&n2.dev[1], &n2.use[1], &p.ctr[0], &p.w) - 20.25) < 1e-9);
    /* after = before + this pod on the chosen device */
    int dv = best.pick[0].dev;
    ck_assert_int_eq(best.after[dv].used, nodes[k]->use[dv].used + 1);
    ck_assert_int_eq(best.after[dv].mem, nodes[k]->use[dv].mem + 1000);
    ck_assert_int_eq(best.after[dv].cores, nodes[k]->use[dv].cores + 20);
}
END_TEST

/* ---- every reason word, one device each ---- */

static const struct {
    struct tdev dev;
    int nums, mem, cores;
    const char *use_type, *nouse_type, *use_uuid, *nouse_uuid, *mode, *gpu_pol;
    int64_t quota_mem;
    const char *want; /* NULL = fits */
} reason_cases[] = {
    {{"g", 10, 8000, 100}, 1, 1000, 10, .want = NULL},
    {{"g", 10, 8000, 100, .unhealthy = true}, 1, 1000, 10, .want = "1/1 CardNotHealth"},
    {{"g", 10, 8000, 100, .cordoned = true}, 1, 1000, 10, .want = "1/1 CardCordoned"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .use_type = "H100", .want = "1/1 CardTypeMismatch"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .use_type = "t4, a100", .want = NULL},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .nouse_type = "a10", .want = "1/1 CardTypeMismatch"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .use_type = " , ", .want = NULL},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .mode = "mig", .want = "1/1 CardTypeMismatch"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .mode = "hami-core,mig", .want = NULL},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .use_uuid = "x, y", .want = "1/1 CardUuidMismatch"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .use_uuid = "x, g ", .want = NULL},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .nouse_uuid = "g", .want = "1/1 CardUuidMismatch"},
    {{"g", 2, 8000, 100, 2, 100, 10}, 1, 1000, 10, .want = "1/1 CardTimeSlicingExhausted"},
    {{"g", 10, 8000, 100, 1, 100, 10},
     1,
     1000,
     10,
     .gpu_pol = "mutex",
     .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {{"g", 10, 8000, 100}, 1, 1000, 10, .quota_mem = 500, .want = "1/1 ResourceQuotaNotFit"},
    {{"g", 10, 8000, 100, 1, 7500, 10}, 1, 1000, 10, .want = "1/1 CardInsufficientMemory"},
    {{"g", 10, 8000, 100, 1, 100, 95}, 1, 1000, 10, .want = "1/1 CardInsufficientCore"},
    {{"g", 10, 8000, 100, 1, 100, 0}, 1, 1000, 100, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {{"g", 10, 8000, 100, 1, 100, 100}, 1, 1000, 0, .want = "1/1 CardComputeUnitsExhausted"},
    {{"g", 10, 8000, 100}, 2, 1000, 10, .want = "NodeInsufficientDevice"},
    {{"g", 10, 8000, 100}, 1, 0, 10, .want = NULL}, /* 100 % of the card */
    {{"g", 10, 8000, 100, 1, 1, 0}, 1, 0, 10, .want = "1/1 CardInsufficientMemory"},
};

START_TEST(reasons)
{
    struct tnode t;
    build(&t, "n", &reason_cases[_i].dev, 1);
    struct policy_pod p;
    pod1(&p, reason_cases[_i].nums, reason_cases[_i].mem, reason_cases[_i].cores);
    p.use_type = reason_cases[_i].use_type;
    p.nouse_type = reason_cases[_i].nouse_type;
    p.use_uuid = reason_cases[_i].use_uuid;
    p.nouse_uuid = reason_cases[_i].nouse_uuid;
    p.vgpu_mode = reason_cases[_i].mode;
    if (reason_cases[_i].quota_mem)
        p.quota_mem = reason_cases[_i].quota_mem;
    const char *gp = reason_cases[_i].gpu_pol;
    struct policy_opts o = opts_for("binpack", gp ? gp : "spread");
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[256];

    bool fits = policy_fit(&p, &t.n, &o, &pl, &why);
    if (!reason_cases[_i].want) {
        ck_assert_msg(fits, "case %d should fit", _i);
        ck_assert_int_eq(pl.npick, 1);
        return;
    }
    ck_assert_msg(!fits, "case %d should not fit", _i);
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, reason_cases[_i].want);
}
END_TEST

START_TEST(reasons_sorted_and_truncated)
{
    struct tnode t;
    struct tdev d[] = {{"a", 10, 8000, 100, .unhealthy = true},
                       {"b", 10, 8000, 100, 1, 7900, 0},
                       {"c", 10, 8000, 100, 1, 7900, 0}};
    build(&t, "n", d, 3);
    struct policy_pod p;
    pod1(&p, 1, 1000, 0);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[128], tiny[8];
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    size_t need = policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, "1/3 CardNotHealth, 2/3 CardInsufficientMemory");
    ck_assert_uint_eq(need, strlen(buf));
    ck_assert_uint_eq(policy_reasons_format(&why, tiny, sizeof tiny), need);
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
}
END_TEST

/* ---- GPU policies ---- */

START_TEST(mutex_policy)
{
    struct tnode t;
    struct tdev d[] = {{"used", 10, 8000, 100, 1, 1000, 10}, {"idle", 10, 8000, 100}};
    build(&t, "n", d, 2);
    struct policy_opts o = opts_for("binpack", "mutex");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[128];

    pod1(&p, 1, 1000, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "idle");
    pod1(&p, 2, 1000, 10);
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, "1/2 AllocatedCardsInsufficientRequest, 1/2 "
                          "ExclusiveDeviceAllocateConflict");
}
END_TEST

static const uint16_t pair3[9] = {0, 100, 200, 100, 0, 150, 200, 150, 0};

START_TEST(topology_pairs)
{
    struct tnode t;
    struct tdev d[] = {{"g0", 10, 8000, 100}, {"g1", 10, 8000, 100}, {"g2", 10, 8000, 100}};
    build(&t, "n", d, 3);
    t.n.pair = pair3;
    struct policy_opts o = opts_for("binpack", "topology-aware");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;

    pod1(&p, 2, 1000, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_eq(pl.npick, 2);
    int a = pl.pick[0].dev, b = pl.pick[1].dev;
    ck_assert((a == 0 && b == 2) || (a == 2 && b == 0));
    /* One GPU: the card least connected to the others (g1: 250). */
    pod1(&p, 1, 1000, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "g1");
}
END_TEST

START_TEST(numa_bind)
{
    struct tnode t;
    /* Device scores under spread: A 5-ish (busy), B 1 (idle), C 3. */
    struct tdev d[] = {{"A", 10, 1000, 100, 4, 400, 40, 0},
                       {"B", 10, 1000, 100, 0, 0, 0, 0},
                       {"C", 10, 1000, 100, 2, 200, 20, 1}};
    build(&t, "n", d, 3);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[128];

    pod1(&p, 2, 100, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why)); /* without numa-bind: B, C */
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "B");
    ck_assert_str_eq(t.dev[pl.pick[1].dev].uuid, "C");
    p.numa_bind = true;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "B");
    ck_assert_str_eq(t.dev[pl.pick[1].dev].uuid, "A");
    pod1(&p, 3, 100, 10);
    p.numa_bind = true;
    struct tdev two_numa[] = {{"A", 10, 1000, 100, 0, 0, 0, 0},
                              {"B", 10, 1000, 100, 0, 0, 0, 0},
                              {"C", 10, 1000, 100, 0, 0, 0, 1},
                              {"D", 10, 1000, 100, 0, 0, 0, 1}};
    build(&t, "n", two_numa, 4);
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, "4/4 NumaNotFit");
}
END_TEST

START_TEST(numa_key_orders_by_numa)
{
    struct tnode t;
    struct tdev d[] = {{"n1", 10, 1000, 100, 0, 0, 0, 1}, {"n0", 10, 1000, 100, 5, 500, 50, 0}};
    build(&t, "n", d, 2);
    struct policy_opts o = opts_for("binpack", "numa,spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    pod1(&p, 1, 100, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "n0");
    o = opts_for("binpack", "spread,numa");
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_str_eq(t.dev[pl.pick[0].dev].uuid, "n1");
}
END_TEST

/* ---- containers ---- */

START_TEST(containers_share_working_copy)
{
    struct tnode t;
    struct tdev d[] = {{"only", 10, 8000, 100}};
    build(&t, "n", d, 1);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    pod1(&p, 1, 3000, 40);
    p.nctr = 3;
    p.ctr[1] = p.ctr[0];
    p.ctr[2] = p.ctr[0];
    /* Two fit (6000 MiB, 80 %), the third does not. */
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    p.nctr = 2;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_eq(pl.after[0].used, 2);
    ck_assert_int_eq(pl.after[0].mem, 6000);
    ck_assert_int_eq(pl.after[0].cores, 80);
}
END_TEST

START_TEST(init_containers_peak)
{
    struct tnode t;
    struct tdev d[] = {{"only", 10, 8000, 100}};
    build(&t, "n", d, 1);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    pod1(&p, 1, 6000, 10);
    p.nctr = 2;
    p.ninit = 1;
    p.ctr[1] = (struct policy_ctr){.name = "app", .nums = 1, .mem = 5000, .cores = 5};
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why)); /* peak, not sum */
    ck_assert_int_eq(pl.npick, 2);
    ck_assert_int_eq(pl.after[0].mem, 6000);
    ck_assert_int_eq(pl.after[0].cores, 10);
    ck_assert_int_eq(pl.after[0].used, 1);
}
END_TEST

/* Sidecars (init containers with restartPolicy Always) add to the app
 * containers; each plain init container fits on top of the sidecars; one
 * GPU of 8000 MiB. Containers: 'i' plain init, 's' sidecar, 'a' app. */
static const struct {
    const char *kinds;
    int mem[3];
    bool fits;
    int64_t after_mem;
    int32_t after_used;
} sidecar_cases[] = {
    {"sa", {5000, 5000}, false},         /* before: max(5000, 5000) fitted */
    {"ia", {5000, 5000}, true, 5000, 1}, /* plain init: peak */
    {"sia", {2000, 5000, 3000}, true, 7000, 2},
    {"isa", {5000, 2000, 3000}, true, 7000, 2},
    {"sia", {3000, 6000, 1000}, false}, /* the init container on top of the sidecar */
    {"ss", {3000, 4000}, true, 7000, 2},
};

#define NSIDECAR ((int)(sizeof sidecar_cases / sizeof sidecar_cases[0]))

START_TEST(sidecars_add_up)
{
    __typeof__(sidecar_cases[0]) *k = &sidecar_cases[_i];
    struct tnode t;
    struct tdev d[] = {{"only", 10, 8000, 100}};
    build(&t, "n", d, 1);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    pod1(&p, 1, 0, 0);
    p.nctr = (int32_t)strlen(k->kinds);
    for (int i = 0; i < p.nctr; i++) {
        p.ctr[i] = (struct policy_ctr){.name = "c",
                                       .nums = 1,
                                       .mem = k->mem[i],
                                       .cores = 1,
                                       .priority = -1,
                                       .sidecar = k->kinds[i] == 's'};
        p.ninit += k->kinds[i] != 'a';
    }
    ck_assert_msg(policy_fit(&p, &t.n, &o, &pl, &why) == k->fits, "%s", k->kinds);
    if (!k->fits)
        return;
    ck_assert_int_eq(pl.after[0].mem, k->after_mem);
    ck_assert_int_eq(pl.after[0].used, k->after_used);
    ck_assert_int_eq(pl.npick, p.nctr);
    for (int i = 0; i < pl.npick; i++) /* in container order, as the annotation is written */
        ck_assert_int_eq(pl.pick[i].ctr, i);
}
END_TEST

START_TEST(container_gpus_distinct)
{
    struct tnode t;
    struct tdev d[] = {{"a", 10, 8000, 100}, {"b", 10, 8000, 100}, {"c", 10, 8000, 100}};
    build(&t, "n", d, 3);
    struct policy_opts o = opts_for("binpack", "binpack");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    pod1(&p, 3, 1000, 10);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_eq(pl.npick, 3);
    ck_assert(pl.pick[0].dev != pl.pick[1].dev && pl.pick[1].dev != pl.pick[2].dev &&
              pl.pick[0].dev != pl.pick[2].dev);
}
END_TEST

START_TEST(host_resources)
{
    struct tnode t;
    struct tdev d[] = {{"a", 10, 8000, 100}};
    build(&t, "n", d, 1);
    t.n.cpu_milli = 4000;
    t.n.cpu_used_milli = 3000;
    t.n.mem_mib = 1000;
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[64];
    pod1(&p, 1, 100, 10);
    p.cpu_milli = 2000;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why)); /* kube-scheduler's job live */
    o.check_host = true;
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, "NodeInsufficientCPU");
    p.cpu_milli = 500;
    p.mem_mib = 2000;
    ck_assert(!policy_fit(&p, &t.n, &o, &pl, &why));
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_str_eq(buf, "NodeInsufficientMemory");
}
END_TEST

START_TEST(unresolvable)
{
    struct tnode t;
    struct tdev d[] = {{"a", 10, 8000, 100, 1, 7000, 50}};
    build(&t, "n", d, 1);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    pod1(&p, 1, 2000, 10);
    ck_assert(!policy_unresolvable(&p, &t.n, &o)); /* evicting would help */
    p.use_type = "H100";
    ck_assert(policy_unresolvable(&p, &t.n, &o));
    pod1(&p, 2, 1000, 10);
    ck_assert(policy_unresolvable(&p, &t.n, &o)); /* too few GPUs */
    pod1(&p, 1, 9000, 10);
    ck_assert(policy_unresolvable(&p, &t.n, &o)); /* bigger than the card */
}
END_TEST

START_TEST(tie_break_seeded)
{
    struct tnode a, b;
    struct tdev d[] = {{"g", 10, 8000, 100}};
    build(&a, "node-a", d, 1);
    build(&b, "node-b", d, 1);
    const struct policy_node *nodes[] = {&a.n, &b.n};
    struct policy_pod p;
    pod1(&p, 1, 100, 1);
    struct policy_verdict v[2];
    struct policy_placement best;
    int seen[2] = {0, 0};
    for (uint64_t seed = 0; seed < 64; seed++) {
        struct policy_opts o = opts_for("binpack", "spread");
        o.seed = seed;
        int k1 = policy_choose(&p, nodes, 2, &o, v, &best);
        int k2 = policy_choose(&p, nodes, 2, &o, v, &best);
        ck_assert_int_eq(k1, k2); /* deterministic */
        seen[k1]++;
    }
    ck_assert(seen[0] > 0 && seen[1] > 0); /* the seed matters */
}
END_TEST

START_TEST(priority_range)
{
    struct policy_pod p;
    pod1(&p, 1, 100, 1);
    struct policy_opts o = opts_for("binpack", "spread");
    ck_assert_int_eq(policy_priority(&p, &o, 0), 0);
    ck_assert_int_eq(policy_priority(&p, &o, 30), 10);
    ck_assert_int_eq(policy_priority(&p, &o, 15), 5);
    p.node_policy = policy_node_policy_find("spread");
    ck_assert_int_eq(policy_priority(&p, &o, 0), 10);
    ck_assert_int_eq(policy_priority(&p, &o, 30), 0);
}
END_TEST

/* ---- parsers ---- */

static const struct {
    const char *in;
    int rc;
    int nkeys;
    int key0;
    bool mutex, topo;
} gpu_cases[] = {
    {"spread", 0, 1, POLICY_KEY_SPREAD, false, false},
    {"binpack", 0, 1, POLICY_KEY_BINPACK, false, false},
    {"numa", 0, 1, POLICY_KEY_NUMA, false, false},
    {"binpack, numa", 0, 2, POLICY_KEY_BINPACK, false, false},
    {"mutex", 0, 1, POLICY_KEY_SPREAD, true, false},
    {"topology-aware,binpack", 0, 1, POLICY_KEY_BINPACK, false, true},
    {"spread,spread", 0, 1, POLICY_KEY_SPREAD, false, false},
    {"binpack,", 0, 1, POLICY_KEY_BINPACK, false, false},
    {"packbin", ERR_INVAL},
    {"", ERR_INVAL},
    {"binpack,,spread", ERR_INVAL},
    {"Binpack", ERR_INVAL},
};

START_TEST(gpu_policy_parse)
{
    struct policy_gpu_policy g;
    char err[160] = "";
    int rc = policy_gpu_policy_parse(gpu_cases[_i].in, &g, err, sizeof err);
    ck_assert_int_eq(rc, gpu_cases[_i].rc);
    if (rc) {
        ck_assert(strstr(err, "unknown GPU policy") != NULL);
        return;
    }
    ck_assert_int_eq(g.nkeys, gpu_cases[_i].nkeys);
    ck_assert_int_eq(g.keys[0], gpu_cases[_i].key0);
    ck_assert_int_eq(g.mutex, gpu_cases[_i].mutex);
    ck_assert_int_eq(g.topology, gpu_cases[_i].topo);
}
END_TEST

static const struct {
    const char *in;
    int rc, slot, core, mem;
} weight_cases[] = {
    {"slot=1,core=1,memory=3", 0, 1, 1, 3},       {" memory = 2 , slot=0, core=5", 0, 0, 5, 2},
    {"slot=0,core=0,memory=0", ERR_INVAL},        {"slot=1,core=1", ERR_INVAL},
    {"slot=1,core=1,memory=1,slot=2", ERR_INVAL}, {"slot=1,slot=1,memory=1", ERR_INVAL},
    {"slot=-1,core=1,memory=1", ERR_INVAL},       {"slot=x,core=1,memory=1", ERR_INVAL},
    {"gpu=1,core=1,memory=1", ERR_INVAL},         {"", ERR_INVAL},
};

START_TEST(weights_parse)
{
    struct policy_weights w;
    char err[128];
    int rc = policy_weights_parse(weight_cases[_i].in, &w, err, sizeof err);
    ck_assert_int_eq(rc, weight_cases[_i].rc);
    if (rc == 0) {
        ck_assert_int_eq(w.slot, weight_cases[_i].slot);
        ck_assert_int_eq(w.core, weight_cases[_i].core);
        ck_assert_int_eq(w.mem, weight_cases[_i].mem);
    }
}
END_TEST

START_TEST(node_policy_table)
{
    ck_assert_ptr_nonnull(policy_node_policy_find("binpack"));
    ck_assert_ptr_nonnull(policy_node_policy_find("spread"));
    ck_assert_ptr_null(policy_node_policy_find("Binpack"));
    ck_assert_ptr_null(policy_node_policy_find(NULL));
    const char *const *names = policy_node_policy_names();
    int n = 0;
    while (names[n])
        ck_assert_ptr_eq(policy_node_policy_find(names[n++]),
                         policy_node_policy_find(names[n - 1]));
    ck_assert_int_ge(n, 2);
}
END_TEST

/* ---- the device annotation ---- */

START_TEST(codec_roundtrip)
{
    struct tnode t;
    struct tdev d[] = {{"GPU-a", 10, 8000, 100}, {"GPU-b", 10, 8000, 100}};
    build(&t, "n", d, 2);
    struct policy_opts o = opts_for("binpack", "spread");
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[256], small[10], err[128];
    pod1(&p, 2, 1000, 30);
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    ck_assert_int_gt(codec_encode(&p, &t.n, &pl, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "GPU-a,NVIDIA,1000,30:GPU-b,NVIDIA,1000,30:;");
    ck_assert_int_eq(codec_encode(&p, &t.n, &pl, small, sizeof small), ERR_TOOBIG);

    /* First container asks nothing. */
    pod1(&p, 1, 1024, 10);
    p.nctr = 2;
    p.ctr[1] = p.ctr[0];
    p.ctr[0].nums = 0;
    ck_assert(policy_fit(&p, &t.n, &o, &pl, &why));
    codec_encode(&p, &t.n, &pl, buf, sizeof buf);
    ck_assert_str_eq(buf, ";GPU-a,NVIDIA,1024,10:;");

    struct codec_devices cd;
    ck_assert_int_eq(codec_decode(buf, &cd, err, sizeof err), 0);
    ck_assert_int_eq(cd.nctr, 2);
    ck_assert_int_eq(cd.n, 1);
    ck_assert_int_eq(cd.e[0].ctr, 1);
    ck_assert_int_eq(cd.e[0].mem, 1024);
    ck_assert_int_eq(cd.e[0].cores, 10);
    ck_assert_int_eq(cd.e[0].uuid_len, 5);
    ck_assert(strncmp(cd.e[0].uuid, "GPU-a", 5) == 0);
}
END_TEST

static const struct {
    const char *in;
    int rc, nctr, n;
} decode_cases[] = {
    {"", 0, 0, 0},
    {";", 0, 1, 0},
    {"GPU-a,NVIDIA,1000,30:GPU-b,NVIDIA,1000,30:;", 0, 1, 2},
    {"GPU-a,NVIDIA,1000,30:;;GPU-b,NVIDIA,5,5:;", 0, 3, 2},
    {"GPU-a,NVIDIA,1000,30", 0, 1, 1}, /* no separators at all */
    {"GPU-a,NVIDIA,1000,30,extra:;", 0, 1, 1},
    {"GPU-a,NVIDIA,1000:;", ERR_INVAL},
    {"GPU-a,NVIDIA,x,30:;", ERR_INVAL},
    {"GPU-a,NVIDIA,-5,30:;", ERR_RANGE},
    {"GPU-a,NVIDIA,99999999999,30:;", ERR_RANGE},
    {",NVIDIA,1,1:;", ERR_INVAL},
};

START_TEST(codec_decode_table)
{
    struct codec_devices cd;
    char err[128] = "";
    int rc = codec_decode(decode_cases[_i].in, &cd, err, sizeof err);
    ck_assert_int_eq(rc, decode_cases[_i].rc);
    if (rc == 0) {
        ck_assert_int_eq(cd.nctr, decode_cases[_i].nctr);
        ck_assert_int_eq(cd.n, decode_cases[_i].n);
    } else {
        ck_assert(err[0] != '\0');
    }
}
END_TEST

START_TEST(codec_decode_limits)
{
    static char big[64 * 1024];
    struct codec_devices cd;
    char err[128];
    size_t len = 0;
    while (len + 30 < sizeof big)
        len += (size_t)snprintf(big + len, sizeof big - len, "GPU-x,NVIDIA,1,1:");
    ck_assert_int_eq(codec_decode(big, &cd, err, sizeof err), ERR_TOOBIG);
    memset(big, ';', 1000);
    big[1000] = '\0';
    ck_assert_int_eq(codec_decode(big, &cd, err, sizeof err), ERR_TOOBIG);
}
END_TEST

/* HAMi's collapse rule: init 20000/10 and app 10000/5 on one GPU -> one
 * slot, 20000 MiB, 10 cores; two app containers on it -> two slots. */
START_TEST(usage_collapse)
{
    struct tnode t;
    struct tdev d[] = {{"GPU-x", 10, 40000, 100}, {"GPU-y", 10, 40000, 100}};
    build(&t, "n", d, 2);
    struct codec_devices cd;
    struct policy_usage u[2];
    char err[128];
    ck_assert_int_eq(
        codec_decode("GPU-x,NVIDIA,20000,10:;GPU-x,NVIDIA,10000,5:;", &cd, err, sizeof err), 0);
    ck_assert_int_eq(codec_usage(&t.n, &cd, 1, u), 0);
    ck_assert_int_eq(u[0].used, 1);
    ck_assert_int_eq(u[0].mem, 20000);
    ck_assert_int_eq(u[0].cores, 10);
    ck_assert_int_eq(u[1].used, 0);
    ck_assert_int_eq(codec_decode("GPU-x,NVIDIA,1000,5:;GPU-x,NVIDIA,2000,5:;GPU-z,NVIDIA,1,1:;",
                                  &cd, err, sizeof err),
                     0);
    ck_assert_int_eq(codec_usage(&t.n, &cd, 0, u), 1); /* GPU-z is not here */
    ck_assert_int_eq(u[0].used, 2);
    ck_assert_int_eq(u[0].mem, 3000);
    ck_assert_int_eq(u[0].cores, 10);
}
END_TEST

/* HAMi's MIG allocations name an instance of a card ("GPU-x[1-0]"): it
 * counts on that card, memory, cores and slot (before: skipped as unknown). */
START_TEST(usage_mig_instance)
{
    struct tnode t;
    struct tdev d[] = {{"GPU-x", 7, 40960, 100}, {"GPU-y", 7, 40960, 100}};
    build(&t, "n", d, 2);
    struct codec_devices cd;
    struct policy_usage u[2];
    char err[128];
    ck_assert_int_eq(codec_decode("GPU-y[1-0],NVIDIA,20480,50:GPU-y[1-1],NVIDIA,10240,25:;", &cd,
                                  err, sizeof err),
                     0);
    ck_assert_int_eq(codec_usage(&t.n, &cd, 0, u), 0);
    ck_assert_int_eq(u[0].used, 0);
    ck_assert_int_eq(u[1].used, 2);
    ck_assert_int_eq(u[1].mem, 30720);
    ck_assert_int_eq(u[1].cores, 75);
    /* A card the node does not have stays unknown, whatever its suffix. */
    ck_assert_int_eq(codec_decode("GPU-z[1-0],NVIDIA,20480,50:;", &cd, err, sizeof err), 0);
    ck_assert_int_eq(codec_usage(&t.n, &cd, 0, u), 1);
    ck_assert_int_eq(u[1].used, 0);
}
END_TEST

/* Cores near INT32_MAX: each entry is in range, their sum is not. Decode
 * refuses the annotation naming the sum; usage built by hand caps the sum
 * (before: an int32 overflow, fatal under UBSan). */
START_TEST(codec_sums_in_range)
{
    struct tnode t;
    struct tdev d[] = {{"GPU-x", 10, 40000, 100}};
    build(&t, "n", d, 1);
    struct codec_devices cd;
    struct policy_usage u[1];
    char err[128] = "";
    const char *two = "GPU-x,NVIDIA,1,2147483647:GPU-x,NVIDIA,1,2147483647:;";
    ck_assert_int_eq(codec_decode(two, &cd, err, sizeof err), ERR_RANGE);
    ck_assert_msg(strstr(err, "cores") && strstr(err, "4294967294"), "%s", err);
    ck_assert_int_eq(
        codec_decode("GPU-x,NVIDIA,2147483647,1:;GPU-x,NVIDIA,1,1:;", &cd, err, sizeof err),
        ERR_RANGE);
    ck_assert_msg(strstr(err, "memory") && strstr(err, "2147483648"), "%s", err);
    ck_assert_int_eq(
        codec_decode("GPU-x,NVIDIA,1,2147483646:GPU-x,NVIDIA,1,1:;", &cd, err, sizeof err), 0);
    ck_assert_int_eq(codec_usage(&t.n, &cd, 0, u), 0);
    ck_assert_int_eq(u[0].cores, INT32_MAX);
    cd.e[1].cores = INT32_MAX; /* as no decode makes it */
    ck_assert_int_eq(codec_usage(&t.n, &cd, 0, u), 0);
    ck_assert_int_eq(u[0].cores, INT32_MAX);
    ck_assert_int_eq(u[0].used, 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, device_score_hami);
    tcase_add_test(tc, node_score_hami);
    tcase_add_loop_test(tc, hami_choose, 0, sizeof hami_cases / sizeof hami_cases[0]);
    tcase_add_loop_test(tc, reasons, 0, sizeof reason_cases / sizeof reason_cases[0]);
    tcase_add_test(tc, reasons_sorted_and_truncated);
    tcase_add_test(tc, mutex_policy);
    tcase_add_test(tc, topology_pairs);
    tcase_add_test(tc, numa_bind);
    tcase_add_test(tc, numa_key_orders_by_numa);
    tcase_add_test(tc, containers_share_working_copy);
    tcase_add_test(tc, init_containers_peak);
    tcase_add_loop_test(tc, sidecars_add_up, 0, NSIDECAR);
    tcase_add_test(tc, container_gpus_distinct);
    tcase_add_test(tc, host_resources);
    tcase_add_test(tc, unresolvable);
    tcase_add_test(tc, tie_break_seeded);
    tcase_add_test(tc, priority_range);
    tcase_add_loop_test(tc, gpu_policy_parse, 0, sizeof gpu_cases / sizeof gpu_cases[0]);
    tcase_add_loop_test(tc, weights_parse, 0, sizeof weight_cases / sizeof weight_cases[0]);
    tcase_add_test(tc, node_policy_table);
    tcase_add_test(tc, codec_roundtrip);
    tcase_add_test(tc, codec_sums_in_range);
    tcase_add_loop_test(tc, codec_decode_table, 0, sizeof decode_cases / sizeof decode_cases[0]);
    tcase_add_test(tc, codec_decode_limits);
    tcase_add_test(tc, usage_collapse);
    tcase_add_test(tc, usage_mig_instance);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

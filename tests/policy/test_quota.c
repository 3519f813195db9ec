/* Namespace quotas in the engine (policy_pod.quota_mem/quota_cores): what a
 * pod takes is counted as HAMi's quota counts it (memory per GPU x GPUs, a
 * percentage resolved on the card, cores likewise; init containers
 * collapsed as usage is), table by table. */
#include <check.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/support/harness.h"

#define NDEV 2

struct qctr {
    int nums, mem, mem_pct, cores;
    bool init, sidecar;
};

static const struct {
    const char *name;
    int64_t quota_mem, quota_cores; /* -1: none */
    struct qctr ctr[3];
    int nctr;
    const char *want; /* NULL: fits */
} cases[] = {
    {"no quota, a big ask", -1, -1, {{2, 40000, 0, 100}}, 1, NULL},
    {"one GPU within", 10000, -1, {{1, 8000, 0, 10}}, 1, NULL},
    {"exactly the quota", 8000, -1, {{1, 8000, 0, 10}}, 1, NULL},
    {"one MiB over", 7999, -1, {{1, 8000, 0, 10}}, 1, "2/2 ResourceQuotaNotFit"},
    {"an explicit 0 blocks", 0, -1, {{1, 1, 0, 0}}, 1, "2/2 ResourceQuotaNotFit"},
    {"memory per GPU x GPUs over", 10000, -1, {{2, 6000, 0, 10}}, 1, "2/2 ResourceQuotaNotFit"},
    {"memory per GPU x GPUs within", 12000, -1, {{2, 6000, 0, 10}}, 1, NULL},
    {"two containers add up",
     12000,
     -1,
     {{1, 7000, 0, 0}, {1, 7000, 0, 0}},
     2,
     "2/2 ResourceQuotaNotFit"},
    {"two containers within", 14000, -1, {{1, 7000, 0, 0}, {1, 7000, 0, 0}}, 2, NULL},
    {"a percentage resolved on the card", 20000, -1, {{1, 0, 50, 0}}, 1, "2/2 ResourceQuotaNotFit"},
    {"a percentage within", 20480, -1, {{1, 0, 50, 0}}, 1, NULL},
    {"cores x GPUs over", -1, 50, {{2, 1000, 0, 30}}, 1, "2/2 ResourceQuotaNotFit"},
    {"cores x GPUs within", -1, 60, {{2, 1000, 0, 30}}, 1, NULL},
    {"cores over, memory fine", 100000, 5, {{1, 1000, 0, 10}}, 1, "2/2 ResourceQuotaNotFit"},
    {"an init container and the app take the larger",
     10000,
     -1,
     {{1, 8000, 0, 0, .init = true}, {1, 8000, 0, 0}},
     2,
     NULL},
    {"a sidecar adds to the app",
     10000,
     -1,
     {{1, 4000, 0, 0, .init = true, .sidecar = true}, {1, 8000, 0, 0}},
     2,
     "2/2 ResourceQuotaNotFit"},
    {"a sidecar plus the larger of init and app",
     10000,
     -1,
     {{1, 4000, 0, 0, .init = true, .sidecar = true},
      {1, 6000, 0, 0, .init = true},
      {1, 6000, 0, 0}},
     3,
     NULL},
};

START_TEST(quota_cases)
{
    struct policy_device dev[NDEV];
    struct policy_usage use[NDEV] = {{0}};
    for (int i = 0; i < NDEV; i++)
        dev[i] = (struct policy_device){.uuid = i ? "GPU-1" : "GPU-0",
                                        .type = "NVIDIA-A100",
                                        .mode = "hami-core",
                                        .index = i,
                                        .count = 10,
                                        .devcore = 100,
                                        .devmem = 40960,
                                        .health = true};
    struct policy_node node = {.name = "n", .ndev = NDEV, .dev = dev, .use = use, .id = -1};
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.ns = "team";
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = cases[_i].quota_mem;
    p.quota_cores = cases[_i].quota_cores;
    p.nctr = cases[_i].nctr;
    for (int i = 0; i < p.nctr; i++) {
        const struct qctr *c = &cases[_i].ctr[i];
        p.ninit += c->init;
        p.ctr[i] = (struct policy_ctr){.name = "c",
                                       .nums = c->nums,
                                       .mem = c->mem,
                                       .mem_pct = c->mem_pct,
                                       .cores = c->cores,
                                       .priority = -1,
                                       .sidecar = c->sidecar};
    }
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[256];
    bool fits = policy_fit(&p, &node, &o, &pl, &why);
    if (!cases[_i].want) {
        ck_assert_msg(fits, "%s: should fit", cases[_i].name);
        int64_t mem = 0;
        for (int i = 0; i < pl.npick; i++)
            mem += pl.pick[i].mem;
        ck_assert_msg(p.quota_mem < 0 || p.ninit > 0 || mem <= p.quota_mem, "%s: over the quota",
                      cases[_i].name);
        return;
    }
    ck_assert_msg(!fits, "%s: should not fit", cases[_i].name);
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_msg(strcmp(buf, cases[_i].want) == 0, "%s: got \"%s\", want \"%s\"", cases[_i].name,
                  buf, cases[_i].want);
    /* Evicting pods frees quota too: a quota alone never makes a node
     * unresolvable. */
    ck_assert(!policy_unresolvable(&p, &node, &o));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy_quota");
    TCase *tc = tcase_create("quota");
    tcase_add_loop_test(tc, quota_cases, 0, sizeof cases / sizeof cases[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

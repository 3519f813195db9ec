/* Priorities on the card (policy_node_policy.priority_cards): with binpack
 * or fragment-aware, a container of runtime priority 0 (high) prefers a
 * device holding no other high-priority container; one of priority 1 (low)
 * a device that holds one; a node where a high-priority container would
 * share comes after every node where it would not. Table by table. */
#include <check.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/support/harness.h"

#define NDEV 3

struct tdev {
    int64_t used_mem; /* MiB in use (one task when > 0) */
    uint16_t high;    /* high-priority containers on it */
};

static const struct {
    const char *what;
    const char *node_pol, *gpu_pol;
    int priority; /* of the pod's container; -1 unset */
    int nums;
    struct tdev dev[NDEV];
    int want[2]; /* devices chosen, in order */
} device_cases[] = {
    {"high avoids the card with a high task",
     "binpack",
     "binpack",
     0,
     1,
     {{20000, 1}, {10000, 0}, {0, 0}},
     {1}},
    {"the same pod without a priority follows the GPU policy",
     "binpack",
     "binpack",
     -1,
     1,
     {{20000, 1}, {10000, 0}, {0, 0}},
     {0}},
    {"low fills around the high task",
     "binpack",
     "binpack",
     1,
     1,
     {{5000, 1}, {20000, 0}, {0, 0}},
     {0}},
    {"low with no high task anywhere: the GPU policy",
     "binpack",
     "binpack",
     1,
     1,
     {{5000, 0}, {20000, 0}, {0, 0}},
     {1}},
    {"high when every card has one: the GPU policy",
     "binpack",
     "binpack",
     0,
     1,
     {{5000, 1}, {20000, 1}, {0, 2}},
     {1}},
    {"high with spread GPUs: the emptiest free of high",
     "binpack",
     "spread",
     0,
     1,
     {{0, 1}, {20000, 0}, {10000, 0}},
     {2}},
    {"spread node policy: no priority rule",
     "spread",
     "binpack",
     0,
     1,
     {{20000, 1}, {10000, 0}, {0, 0}},
     {0}},
    {"fragment-aware chooses among the cards free of high",
     "fragment-aware",
     "binpack",
     0,
     1,
     {{20000, 1}, {0, 0}, {10000, 0}},
     {2}},
    {"fragment-aware, low",
     "fragment-aware",
     "spread",
     1,
     1,
     {{0, 0}, {20000, 1}, {10000, 0}},
     {1}},
    {"two GPUs, one card free of high: it first, then the GPU policy",
     "binpack",
     "binpack",
     0,
     2,
     {{20000, 1}, {0, 0}, {10000, 1}},
     {1, 0}},
    {"two GPUs, two cards free of high",
     "binpack",
     "binpack",
     0,
     2,
     {{20000, 1}, {5000, 0}, {10000, 0}},
     {2, 1}},
};

static void node_of(struct policy_node *n, struct policy_device *dev, struct policy_usage *use,
                    uint16_t *high, const struct tdev *t, const char *name)
{
    for (int i = 0; i < NDEV; i++) {
        dev[i] = (struct policy_device){.uuid = i == 0   ? "G0"
                                                : i == 1 ? "G1"
                                                         : "G2",
                                        .type = "NVIDIA-A100",
                                        .mode = "hami-core",
                                        .index = i,
                                        .count = 10,
                                        .devcore = 100,
                                        .devmem = 40960,
                                        .health = true};
        use[i] = (struct policy_usage){.used = t[i].used_mem > 0 || t[i].high > 0,
                                       .cores = t[i].used_mem > 0 ? 10 : 0,
                                       .mem = t[i].used_mem};
        high[i] = t[i].high;
    }
    *n = (struct policy_node){
        .name = name, .ndev = NDEV, .dev = dev, .use = use, .high = high, .id = -1};
}

static void pod_of(struct policy_pod *p, int priority, int nums)
{
    memset(p, 0, sizeof *p);
    p->name = "p";
    p->ns = "ns";
    p->nctr = 1;
    p->ctr[0] = (struct policy_ctr){
        .name = "c", .nums = nums, .mem = 1000, .cores = 5, .priority = priority};
    p->w = (struct policy_weights){1, 1, 1};
    p->quota_mem = p->quota_cores = -1;
}

static struct policy_opts opts_for(const char *node_pol, const char *gpu_pol)
{
    struct policy_opts o = {.node_policy = policy_node_policy_find(node_pol)};
    char err[128];
    ck_assert_ptr_nonnull(o.node_policy);
    ck_assert_int_eq(policy_gpu_policy_parse(gpu_pol, &o.gpu, err, sizeof err), 0);
    return o;
}

START_TEST(device_choice)
{
    struct policy_device dev[NDEV];
    struct policy_usage use[NDEV];
    uint16_t high[NDEV];
    struct policy_node n;
    struct policy_pod p;
    struct policy_placement pl;
    struct policy_reasons why;
    node_of(&n, dev, use, high, device_cases[_i].dev, "n");
    pod_of(&p, device_cases[_i].priority, device_cases[_i].nums);
    struct policy_opts o = opts_for(device_cases[_i].node_pol, device_cases[_i].gpu_pol);
    ck_assert_msg(policy_fit(&p, &n, &o, &pl, &why), "%s: does not fit", device_cases[_i].what);
    ck_assert_int_eq(pl.npick, device_cases[_i].nums);
    for (int k = 0; k < pl.npick; k++)
        ck_assert_msg(pl.pick[k].dev == device_cases[_i].want[k], "%s: pick %d is G%d, want G%d",
                      device_cases[_i].what, k, pl.pick[k].dev, device_cases[_i].want[k]);
}
END_TEST

/* Node choice: "busy" is fuller (binpack prefers it) but each of its cards
 * holds a high-priority task; "calm" has a card free of one. */
static const struct {
    const char *what, *node_pol;
    int priority;
    const char *want;
} node_cases[] = {
    {"high goes where it shares no card", "binpack", 0, "calm"},
    {"low follows binpack", "binpack", 1, "busy"},
    {"unset follows binpack", "binpack", -1, "busy"},
    {"spread has no priority rule", "spread", 0, "calm"},
    {"fragment-aware: high goes where it shares no card", "fragment-aware", 0, "calm"},
};

START_TEST(node_choice)
{
    static const struct tdev busy[NDEV] = {{30000, 1}, {30000, 1}, {30000, 1}};
    static const struct tdev calm[NDEV] = {{1000, 0}, {0, 0}, {0, 0}};
    struct policy_device d1[NDEV], d2[NDEV];
    struct policy_usage u1[NDEV], u2[NDEV];
    uint16_t h1[NDEV], h2[NDEV];
    struct policy_node a, b;
    node_of(&a, d1, u1, h1, busy, "busy");
    node_of(&b, d2, u2, h2, calm, "calm");
    const struct policy_node *nodes[2] = {&a, &b};
    struct policy_verdict v[2];
    struct policy_placement best;
    struct policy_pod p;
    pod_of(&p, node_cases[_i].priority, 1);
    struct policy_opts o = opts_for(node_cases[_i].node_pol, "binpack");
    int k = policy_choose(&p, nodes, 2, &o, v, &best);
    ck_assert_int_ge(k, 0);
    ck_assert_msg(strcmp(nodes[k]->name, node_cases[_i].want) == 0, "%s: chose %s",
                  node_cases[_i].what, nodes[k]->name);
    /* kube-scheduler's 0..10 ranks the penalised node lowest too. */
    if (node_cases[_i].priority == 0 && strcmp(node_cases[_i].node_pol, "binpack") == 0)
        ck_assert_int_eq(policy_priority(&p, &o, v[0].score), 0);
}
END_TEST

START_TEST(signature_sees_the_priority)
{
    struct policy_pod hi, lo;
    struct policy_opts o = opts_for("binpack", "binpack");
    pod_of(&hi, 0, 1);
    pod_of(&lo, 1, 1);
    ck_assert(policy_pod_signature(&hi, &o) != policy_pod_signature(&lo, &o));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("policy_priority");
    TCase *tc = tcase_create("priority");
    tcase_add_loop_test(tc, device_choice, 0, sizeof device_cases / sizeof device_cases[0]);
    tcase_add_loop_test(tc, node_choice, 0, sizeof node_cases / sizeof node_cases[0]);
    tcase_add_test(tc, signature_sees_the_priority);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* The victims of a preemption on one node (place_preempt_choose), table
 * driven: who may be evicted (lower priority, not system-critical, bound),
 * and the order of what is minimised (budgets, priorities, count, share). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "place/preempt.h"
#include "tests/support/harness.h"

#define PRIO 1000 /* the preemptor's */

struct vpod {
    int prio;
    int dev;  /* -1: holds no GPU */
    int dev2; /* a second GPU, or -1 */
    int pct;  /* % of each GPU's memory and cores */
    int pdb;  /* 0: none; else the budget's index in the case */
    bool proposed;
    bool unbound; /* a reservation: never a victim */
};

struct pcase {
    const char *name;
    int ndev;
    int nums, pct;  /* the preemptor: GPUs and % of each */
    int prio;       /* 0: PRIO */
    int allowed[3]; /* disruptionsAllowed of budgets 1, 2 */
    int npods;
    struct vpod pods[8];
    bool helps;
    const char *victims; /* one character per pod: 'x' victim, '.' stays */
    int violations;
};

#define P(pr, d, pc)                                                                               \
    {                                                                                              \
        .prio = pr, .dev = d, .dev2 = -1, .pct = pc                                                \
    }

static const struct pcase cases[] = {
    {"fits already: nobody evicted", 2, 1, 40, 0, {0}, 1, {P(10, 0, 60)}, true, ".", 0},
    {"the GPU with fewer pods is emptied",
     2,
     1,
     100,
     0,
     {0},
     6,
     {P(10, 0, 25), P(10, 0, 25), P(10, 0, 25), P(10, 0, 25), P(10, 1, 50), P(10, 1, 50)},
     true,
     "....xx",
     0},
    {"higher priority is never evicted",
     2,
     1,
     100,
     0,
     {0},
     2,
     {P(2000, 0, 50), P(10, 1, 100)},
     true,
     ".x",
     0},
    {"equal priority is never evicted", 1, 1, 100, 0, {0}, 1, {P(PRIO, 0, 100)}, false, ".", 0},
    {"system-critical is never evicted",
     1,
     1,
     100,
     2100000000,
     {0},
     1,
     {P(2000000000, 0, 100)},
     false,
     ".",
     0},
    {"lowest priority first", 1, 1, 50, 0, {0}, 2, {P(500, 0, 50), P(100, 0, 50)}, true, ".x", 0},
    {"a budget outweighs priority",
     1,
     1,
     50,
     0,
     {0, 0},
     2,
     {{.prio = 100, .dev = 0, .dev2 = -1, .pct = 50, .pdb = 1}, P(500, 0, 50)},
     true,
     ".x",
     0},
    {"an unavoidable budget violation is counted",
     1,
     1,
     100,
     0,
     {0, 0},
     1,
     {{.prio = 100, .dev = 0, .dev2 = -1, .pct = 100, .pdb = 1}},
     true,
     "x",
     1},
    {"a budget with room is no violation",
     1,
     1,
     100,
     0,
     {0, 1},
     1,
     {{.prio = 100, .dev = 0, .dev2 = -1, .pct = 100, .pdb = 1}},
     true,
     "x",
     0},
    {"two victims of one budget allowing one: one violation",
     1,
     1,
     100,
     0,
     {0, 1},
     2,
     {{.prio = 100, .dev = 0, .dev2 = -1, .pct = 50, .pdb = 1},
      {.prio = 100, .dev = 0, .dev2 = -1, .pct = 50, .pdb = 1}},
     true,
     "xx",
     1},
    {"fewest victims before least share",
     1,
     1,
     50,
     0,
     {0},
     3,
     {P(10, 0, 60), P(10, 0, 20), P(10, 0, 20)},
     true,
     "x..",
     0},
    {"least share among equal counts",
     2,
     1,
     50,
     0,
     {0},
     2,
     {P(10, 0, 70), P(10, 1, 60)},
     true,
     ".x",
     0},
    {"least share among equal counts, larger one first",
     2,
     1,
     50,
     0,
     {0},
     2,
     {P(10, 0, 60), P(10, 1, 70)},
     true,
     "x.",
     0},
    {"fewest victims, pairs against one",
     2,
     1,
     50,
     0,
     {0},
     4,
     {P(10, 0, 30), P(10, 0, 30), P(10, 0, 30), P(10, 1, 80)},
     true,
     "...x",
     0},
    {"a reservation is never a victim",
     1,
     1,
     100,
     0,
     {0},
     1,
     {{.prio = 10, .dev = 0, .dev2 = -1, .pct = 100, .unbound = true}},
     false,
     ".",
     0},
    {"nothing helps: the node is dropped",
     1,
     1,
     100,
     0,
     {0},
     2,
     {P(10, 0, 50), P(3000, 0, 50)},
     false,
     "..",
     0},
    {"a proposed GPU holder that is not needed is taken out",
     2,
     1,
     100,
     0,
     {0},
     2,
     {{.prio = 10, .dev = 0, .dev2 = -1, .pct = 100, .proposed = true}, P(5, 1, 100)},
     true,
     ".x",
     0},
    {"when otherwise equal, kube-scheduler's proposal goes",
     2,
     1,
     100,
     0,
     {0},
     2,
     {P(10, 0, 100), {.prio = 10, .dev = 1, .dev2 = -1, .pct = 100, .proposed = true}},
     true,
     ".x",
     0},
    {"a proposed pod holding no GPU stays",
     1,
     1,
     100,
     0,
     {0},
     2,
     {{.prio = 10, .dev = -1, .dev2 = -1, .pct = 0, .proposed = true}, P(10, 0, 100)},
     true,
     "xx",
     0},
    {"no GPU asked: kube-scheduler's proposal as it is",
     1,
     0,
     0,
     0,
     {0},
     3,
     {{.prio = 10, .dev = 0, .dev2 = -1, .pct = 50, .proposed = true},
      P(10, 0, 50),
      {.prio = 10, .dev = -1, .dev2 = -1, .pct = 0, .proposed = true}},
     true,
     "x.x",
     0},
    {"two GPUs: the two lowest priorities go",
     3,
     2,
     100,
     0,
     {0},
     3,
     {P(30, 0, 100), P(10, 1, 100), P(20, 2, 100)},
     true,
     ".xx",
     0},
    {"a pod across two GPUs frees both",
     3,
     2,
     100,
     0,
     {0},
     3,
     {{.prio = 10, .dev = 0, .dev2 = 1, .pct = 100}, P(5, 2, 100), P(50, 2, 0)},
     true,
     "x..",
     0},
};

#define MEM 40000

START_TEST(choose_cases)
{
    const struct pcase *k = &cases[_i];
    static struct policy_device dev[4];
    static struct policy_usage use[4];
    static struct cache_share sh[16];
    static struct pdb_hit hits[8];
    static struct preempt_pod pods[8];
    static struct preempt_work w;
    static struct policy_pod pod;
    struct preempt_result res;
    int ns = 0;

    memset(use, 0, sizeof use);
    for (int i = 0; i < k->ndev; i++)
        dev[i] = (struct policy_device){.uuid = "GPU-x",
                                        .type = "NVIDIA-A100",
                                        .mode = "hami-core",
                                        .index = i,
                                        .count = 10,
                                        .devcore = 100,
                                        .devmem = MEM,
                                        .health = true};
    for (int i = 0; i < k->npods; i++) {
        const struct vpod *v = &k->pods[i];
        pods[i] = (struct preempt_pod){.priority = v->prio,
                                       .evictable = !v->unbound,
                                       .proposed = v->proposed,
                                       .share = sh + ns};
        for (int d = 0; d < 2; d++) {
            int at = d ? v->dev2 : v->dev;
            if (at < 0)
                continue;
            struct policy_usage u = {1, v->pct, (int64_t)MEM * v->pct / 100, 0};
            sh[ns++] = (struct cache_share){at, u};
            pods[i].nshare++;
            use[at].used += u.used;
            use[at].cores += u.cores;
            use[at].mem += u.mem;
        }
        if (v->pdb) {
            hits[i] = (struct pdb_hit){(uint32_t)v->pdb, k->allowed[v->pdb]};
            pods[i].pdb = &hits[i];
            pods[i].npdb = 1;
        }
    }
    struct policy_node node = {.name = "n", .ndev = k->ndev, .dev = dev, .use = use, .id = -1};
    memset(&pod, 0, sizeof pod);
    pod.uid = "preemptor";
    pod.ns = pod.name = "p";
    pod.nctr = 1;
    pod.ctr[0] = (struct policy_ctr){
        .name = "c", .nums = k->nums, .mem_pct = k->pct, .cores = k->pct, .priority = -1};
    pod.w = (struct policy_weights){1, 1, 1};
    pod.quota_mem = pod.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};

    place_preempt_choose(&pod, k->prio ? k->prio : PRIO, &node, pods, k->npods, &o, &w, &res);
    char got[9] = "";
    for (int i = 0; i < k->npods; i++)
        got[i] = pods[i].victim ? 'x' : '.';
    ck_assert_msg(res.helps == k->helps, "%s: helps %d", k->name, res.helps);
    if (k->helps) {
        ck_assert_msg(strcmp(got, k->victims) == 0, "%s: victims %s, want %s", k->name, got,
                      k->victims);
        ck_assert_msg(res.violations == k->violations, "%s: %d violations, want %d", k->name,
                      res.violations, k->violations);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preempt");
    TCase *tc = tcase_create("preempt");
    tcase_add_loop_test(tc, choose_cases, 0, (int)(sizeof cases / sizeof *cases));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

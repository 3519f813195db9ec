/* The victims of a preemption on one node (place_preempt_choose), table
 * driven: who may be evicted (lower priority, not system-critical, bound),
 * and the order of what is minimised (budgets, priorities, count, share). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/quota.h"
#include "k8s/snapshot.h"
#include "place/preempt.h"
#include "policy/device.h"
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
    bool own;     /* the preemptor's own hold */
    bool mine;    /* of the preemptor's namespace: its eviction gives quota back */
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
    bool quota; /* the preemptor's namespace has a quota leaving it ... */
    int qpct;   /* ... this % of one card's memory and cores */
    bool dcu;   /* Hygon DCUs and a DCU preemptor instead of NVIDIA GPUs */
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
    {"the preemptor's own hold does not count against it",
     1,
     1,
     100,
     0,
     {0},
     3,
     {{.prio = 10, .dev = 0, .dev2 = -1, .pct = 50},
      {.prio = 10, .dev = 0, .dev2 = -1, .pct = 50},
      {.prio = 1000, .dev = 0, .dev2 = -1, .pct = 100, .unbound = true, .own = true}},
     true,
     "xx.",
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
    /* The preemptor's quota: evicting another namespace's pods frees the
     * GPU but not the quota; its own namespace's victims give it back. */
    {.name = "quota spent: another namespace's victims do not help",
     .ndev = 1,
     .nums = 1,
     .pct = 100,
     .npods = 2,
     .pods = {P(10, 0, 50), P(10, 0, 50)},
     .helps = false,
     .victims = "..",
     .quota = true,
     .qpct = 0},
    {.name = "quota spent: its own namespace's victim gives it back",
     .ndev = 2,
     .nums = 1,
     .pct = 100,
     .npods = 2,
     .pods = {P(10, 0, 100), {.prio = 20, .dev = 1, .dev2 = -1, .pct = 100, .mine = true}},
     .helps = true,
     .victims = ".x",
     .quota = true,
     .qpct = 0},
    {.name = "quota half left: half a card of its own namespace is enough",
     .ndev = 2,
     .nums = 1,
     .pct = 100,
     .npods = 3,
     .pods = {P(10, 0, 100),
              {.prio = 20, .dev = 1, .dev2 = -1, .pct = 50, .mine = true},
              P(5, 1, 50)},
     .helps = true,
     .victims = ".xx",
     .quota = true,
     .qpct = 50},
    {.name = "quota with room: the lowest priorities as without one",
     .ndev = 2,
     .nums = 1,
     .pct = 100,
     .npods = 2,
     .pods = {P(10, 0, 100), {.prio = 20, .dev = 1, .dev2 = -1, .pct = 100, .mine = true}},
     .helps = true,
     .victims = "x.",
     .quota = true,
     .qpct = 100},
    {.name = "the preemptor's own hold gives its quota back",
     .ndev = 1,
     .nums = 1,
     .pct = 100,
     .npods = 2,
     .pods = {P(10, 0, 100),
              {.prio = 1000,
               .dev = 0,
               .dev2 = -1,
               .pct = 100,
               .unbound = true,
               .own = true,
               .mine = true}},
     .helps = true,
     .victims = "x.",
     .quota = true,
     .qpct = 0},
    {.name = "DCU: the lowest priority on a Hygon DCU node",
     .ndev = 2,
     .nums = 1,
     .pct = 100,
     .npods = 3,
     .pods = {P(30, 0, 50), P(20, 0, 50), P(10, 1, 100)},
     .helps = true,
     .victims = "..x",
     .dcu = true},
    {.name = "DCU: the quota of the DCU preemptor's namespace",
     .ndev = 2,
     .nums = 1,
     .pct = 100,
     .npods = 3,
     .pods = {P(30, 0, 50),
              {.prio = 20, .dev = 0, .dev2 = -1, .pct = 50, .mine = true},
              P(10, 1, 100)},
     .helps = true,
     .victims = ".xx", /* without the quota: "..x" */
     .quota = true,
     .qpct = 50,
     .dcu = true},
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

    const struct policy_device_backend *row =
        k->dcu ? policy_device_backend_find("hygon") : policy_device_backend_find("nvidia");
    memset(use, 0, sizeof use);
    for (int i = 0; i < k->ndev; i++)
        dev[i] = (struct policy_device){.uuid = "GPU-x",
                                        .type = k->dcu ? "DCU-Z100" : "NVIDIA-A100",
                                        .mode = k->dcu ? NULL : "hami-core",
                                        .backend = row,
                                        .index = i,
                                        .count = 10,
                                        .devcore = 100,
                                        .devmem = MEM,
                                        .health = true};
    for (int i = 0; i < k->npods; i++) {
        const struct vpod *v = &k->pods[i];
        pods[i] = (struct preempt_pod){.priority = v->prio,
                                       .evictable = !v->unbound,
                                       .own = v->own,
                                       .proposed = v->proposed,
                                       .share = sh + ns};
        for (int d = 0; d < 2; d++) {
            int at = d ? v->dev2 : v->dev;
            if (at < 0)
                continue;
            struct policy_usage u = {1, v->pct, (int64_t)MEM * v->pct / 100, 0};
            sh[ns++] = (struct cache_share){at, u};
            pods[i].nshare++;
            if (v->mine) { /* as place_preempt counts it: on devices of the preemptor's row */
                pods[i].qmem += u.mem;
                pods[i].qcores += u.cores;
            }
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
    pod.ctr[0].backend = row;
    pod.w = (struct policy_weights){1, 1, 1};
    pod.quota_mem = k->quota ? (int64_t)MEM * k->qpct / 100 : -1;
    pod.quota_cores = k->quota ? k->qpct : -1;
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

/* The hold on tests/data/e2e/preempt-cluster.json: gpu-a's GPU 0 holds
 * nb-1 and nb-2 (half each), GPU 1 nb-3 (whole). */
static struct cache *cache;
static struct place *placer;
static cJSON *tree;
static struct policy_pod whole; /* one whole GPU, uid-inf */

static void hold_setup(void)
{
    char path[4096], err[512];
    struct snapshot_stats st;
    harness_data_path("e2e/preempt-cluster.json", path, sizeof path);
    cache = cache_create();
    ck_assert_msg(snapshot_load(cache, path, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(st.pdbs, 1); /* the broken one is left out */
    struct place_opts o = {.policy = {.node_policy = policy_node_policy_find("binpack"),
                                      .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
                           .defaults = {.mem_factor = 1},
                           .ttl = 30,
                           .hold_ttl = 60};
    placer = place_create(cache, &o);
    tree =
        cJSON_Parse("{\"metadata\":{\"name\":\"inf\",\"namespace\":\"prod\",\"uid\":\"uid-inf\"},"
                    "\"spec\":{\"priority\":1000,\"containers\":[{\"name\":\"c\",\"resources\":"
                    "{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"40000\","
                    "\"nvidia.com/gpucores\":\"100\"}}}]}}");
    ck_assert_int_eq(model_pod_parse(tree, NULL, &whole, err, sizeof err), 0);
}

static void hold_teardown(void)
{
    place_destroy(placer);
    cache_destroy(cache);
    cJSON_Delete(tree);
}

START_TEST(hold_lifecycle)
{
    static const char *const victims[] = {"uid-nb-1", "uid-nb-2", "uid-gone"};
    struct cache_assumed a;
    char err[512];
    /* Nothing free: without the victims' shares it fits on GPU 0. */
    ck_assert_int_eq(place_hold(placer, &whole, "gpu-a", NULL, 0, 100, 60, err, sizeof err),
                     ERR_NOFIT);
    ck_assert_int_eq(place_hold(placer, &whole, "gpu-a", victims, 3, 100, 60, err, sizeof err), 0);
    ck_assert_int_eq(cache_reservation(cache, "uid-inf", 100, &a), 0);
    ck_assert_str_eq(a.node, "gpu-a");
    ck_assert_msg(strstr(a.devices, "GPU-gpu-a-0") != NULL, "%s", a.devices);
    cache_assumed_free(&a);
    /* The victims go: the held share stays taken for everyone else. */
    cache_pod_del(cache, "uid-nb-1");
    cache_pod_del(cache, "uid-nb-2");
    struct policy_pod other = whole;
    other.uid = "uid-other";
    ck_assert_int_eq(place_hold(placer, &other, "gpu-a", NULL, 0, 100, 60, err, sizeof err),
                     ERR_NOFIT);
    /* Released by the pod's deletion ... */
    cache_pod_del(cache, "uid-inf");
    ck_assert_int_eq(cache_reservation(cache, "uid-inf", 100, &a), ERR_NOTFOUND);
    /* ... and by time. */
    ck_assert_int_eq(place_hold(placer, &whole, "gpu-a", NULL, 0, 100, 60, err, sizeof err), 0);
    ck_assert_int_eq(cache_reservation(cache, "uid-inf", 159, &a), 0);
    cache_assumed_free(&a);
    cache_expire(cache, 161);
    ck_assert_int_eq(cache_reservation(cache, "uid-inf", 161, &a), ERR_NOTFOUND);
    ck_assert_int_eq(place_hold(placer, &other, "gpu-a", NULL, 0, 161, 60, err, sizeof err), 0);
    /* Unknown node. */
    ck_assert_int_eq(place_hold(placer, &whole, "ghost", NULL, 0, 161, 60, err, sizeof err),
                     ERR_NOTFOUND);
}
END_TEST

START_TEST(over_the_cache)
{
    static const char *const proposed[] = {"uid-nb-3", "uid-web-1", "uid-unknown"};
    struct place_preempt_node nodes[] = {{.name = "gpu-a", .proposed = proposed, .nproposed = 3},
                                         {.name = "gpu-b"},
                                         {.name = "gpu-c"},
                                         {.name = "ghost"}};
    struct buf out = BUF_INIT(1 << 20);
    ck_assert_uint_eq(place_preempt(placer, &whole, 1000, nodes, 4, &out), 1);
    ck_assert(nodes[0].keep && !nodes[1].keep && !nodes[2].keep && !nodes[3].keep);
    ck_assert_uint_eq(nodes[0].nvictims, 3); /* nb-1, nb-2 and kube-scheduler's web-1 */
    ck_assert_uint_eq(nodes[0].unknown, 1);
    ck_assert_int_eq(nodes[0].violations, 0);
    bool web = false, nb3 = false;
    struct place_victim v;
    size_t at = 0, k = 0;
    while (place_preempt_victim(&out, &nodes[0], &at, &k, &v)) {
        web = web || strcmp(v.uid, "uid-web-1") == 0;
        nb3 = nb3 || strcmp(v.uid, "uid-nb-3") == 0;
        ck_assert_int_eq(v.priority, 0);
    }
    ck_assert_uint_eq(k, 3);
    ck_assert(web && !nb3);
    buf_free(&out);
}
END_TEST

/* A DCU preemptor on a Hygon DCU node (tests/data/e2e/preempt-dcu.json:
 * dcu-a's DCU 0 holds team-a's nb-a1 and nb-a2, priority 0, half each; DCU
 * 1 prod's job-p1, priority 10, whole; prod's quota of hygon.com/dcumem and
 * dcucores is all taken by job-p1). The preemptor's quota is part of the
 * choice: prod's preemptor must evict its own namespace's job-p1 (the
 * notebooks would free a DCU but no quota), a namespace whose quota is spent
 * with nothing of its own on the node gets no node, and without a quota the
 * lowest priorities go as ever. */
static int victims_of(struct cache *c, const struct policy_pod *pod, char *uids, size_t cap)
{
    struct place_opts o = {.policy = {.node_policy = policy_node_policy_find("binpack"),
                                      .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
                           .defaults = {.mem_factor = 1},
                           .ttl = 30,
                           .hold_ttl = 60};
    struct place *pl = place_create(c, &o);
    struct place_preempt_node nd = {.name = "dcu-a"};
    struct buf out = BUF_INIT(1 << 20);
    struct place_victim v;
    size_t at = 0, k = 0;
    int kept = (int)place_preempt(pl, pod, 1000, &nd, 1, &out);
    uids[0] = '\0';
    while (place_preempt_victim(&out, &nd, &at, &k, &v))
        snprintf(uids + strlen(uids), cap - strlen(uids), "%s%s", k > 1 ? " " : "", v.uid);
    buf_free(&out);
    place_destroy(pl);
    return kept;
}

START_TEST(dcu_preemptor_respects_its_quota)
{
    char path[4096], err[512], uids[256];
    struct snapshot_stats st;
    struct policy_pod pod;
    struct cache *c = cache_create();
    harness_data_path("e2e/preempt-dcu.json", path, sizeof path);
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    cJSON *j = cJSON_Parse("{\"metadata\":{\"name\":\"inf\",\"namespace\":\"prod\",\"uid\":"
                           "\"uid-inf\"},\"spec\":{\"priority\":1000,\"containers\":[{\"name\":"
                           "\"c\",\"resources\":{\"limits\":{\"hygon.com/dcunum\":\"1\","
                           "\"hygon.com/dcumem\":\"16384\",\"hygon.com/dcucores\":\"100\"}}}]}}");
    ck_assert_int_eq(model_pod_parse(j, NULL, &pod, err, sizeof err), 0);
    /* prod's quota is counted under the DCU's names, job-p1 takes it all */
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    int64_t mem, cores;
    cache_rdlock(c);
    cache_quota_left(c, "prod", dcu, &mem, &cores);
    cache_unlock(c);
    ck_assert_int_eq(mem, 0);
    ck_assert_int_eq(cores, 0);
    cJSON *ins = cache_inspect(c, 0);
    char *t = cJSON_PrintUnformatted(cJSON_GetObjectItem(ins, "quotas"));
    ck_assert_msg(
        strstr(t, "{\"resource\":\"hygon.com/dcumem\",\"used\":16384,\"limit\":16384") &&
            strstr(t, "{\"resource\":\"hygon.com/dcucores\",\"used\":100,\"limit\":100") &&
            strstr(t, "{\"resource\":\"nvidia.com/gpumem\",\"used\":0,\"limit\":1"),
        "%s", t);
    free(t);
    cJSON_Delete(ins);
    ck_assert_int_eq(victims_of(c, &pod, uids, sizeof uids), 1);
    ck_assert_str_eq(uids, "uid-job-p1");
    /* the hold counts the quota as /preempt does: job-p1 gives it back */
    static const char *const p1[] = {"uid-job-p1"};
    struct place_opts po = {.policy = {.node_policy = policy_node_policy_find("binpack"),
                                       .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
                            .defaults = {.mem_factor = 1},
                            .ttl = 30,
                            .hold_ttl = 60};
    struct place *pl = place_create(c, &po);
    ck_assert_int_eq(place_hold(pl, &pod, "dcu-a", p1, 1, 100, 60, err, sizeof err), 0);
    ck_assert(cache_forget(c, "uid-inf"));
    place_destroy(pl);
    /* team-b: its quota spent, nothing of its own on dcu-a: no help there */
    struct quota_limits l;
    quota_limits_none(&l);
    l.mem[quota_backend_index(dcu)] = 0;
    cache_quota_put(c, "team-b", "dcu", &l);
    pod.ns = "team-b";
    ck_assert_int_eq(victims_of(c, &pod, uids, sizeof uids), 0);
    /* prod without its quota: the lowest priorities, both notebooks */
    pod.ns = "prod";
    cache_quota_del(c, "prod", "dcu");
    ck_assert_int_eq(victims_of(c, &pod, uids, sizeof uids), 1);
    ck_assert_msg(strcmp(uids, "uid-nb-a1 uid-nb-a2") == 0 ||
                      strcmp(uids, "uid-nb-a2 uid-nb-a1") == 0,
                  "%s", uids);
    /* the notebooks gone, it fits without a victim: the node is left out
     * (kube-scheduler refuses a node without victims in the answer) */
    cache_pod_del(c, "uid-nb-a1");
    cache_pod_del(c, "uid-nb-a2");
    ck_assert_int_eq(victims_of(c, &pod, uids, sizeof uids), 0);
    cJSON_Delete(j);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preempt");
    TCase *tc = tcase_create("preempt");
    tcase_add_loop_test(tc, choose_cases, 0, (int)(sizeof cases / sizeof *cases));
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hold");
    tcase_add_checked_fixture(th, hold_setup, hold_teardown);
    tcase_add_test(th, hold_lifecycle);
    tcase_add_test(th, over_the_cache);
    tcase_add_test(th, dcu_preemptor_respects_its_quota);
    suite_add_tcase(s, th);
    return harness_run_suite(s, false);
}

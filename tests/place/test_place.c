/* The placement layer on a small cache in memory (tests/data/e2e/cluster.json:
 * gpu-a with two 40000 MiB A100s, gpu-b with two 16000 MiB T4s, cpu-1
 * without GPUs): choose and reserve, refusals with reasons, the cache's
 * write lock taken once per filter, the verdict memo, the learner. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/cache.h"
#include "k8s/model.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/workload.h"
#include "tests/support/harness.h"

#define NOW 100.0
#define TTL 30.0

static const char *const names[] = {"gpu-a", "gpu-b", "cpu-1", "ghost"};
#define NNAMES (sizeof names / sizeof *names)

static struct cache *cluster(void)
{
    char path[4096], err[512];
    const char *d = getenv("VS_TEST_DATA");
    snprintf(path, sizeof path, "%s/e2e/cluster.json", d ? d : "tests/data");
    struct cache *c = cache_create();
    struct snapshot_stats st;
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    return c;
}

/* par: the learner's tuned values (NULL: the defaults). */
static struct place *placer_with(struct cache *c, enum place_mode mode,
                                 const struct workload_params *par)
{
    struct place_opts o = {
        .mode = mode,
        .policy = {.node_policy = policy_node_policy_find("binpack"),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
        .defaults = {.mem_factor = 1},
        .ttl = TTL,
        .params = par,
    };
    return place_create(c, &o);
}

static struct place *placer(struct cache *c, enum place_mode mode)
{
    return placer_with(c, mode, NULL);
}

/* The Pod JSON of one container asking one GPU with mem MiB. */
static void pod_json(char *out, size_t cap, const char *uid, int mem)
{
    snprintf(out, cap,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"%d\"}}}]}}",
             uid, uid, mem);
}

static cJSON *tree; /* the parsed pod of the request being made: its strings */

/* A request for pod uid asking mem MiB among `names`; the caller frees with
 * req_done. The pod's JSON goes to json. */
static void req_make(struct place_req *r, const char *uid, int mem, char *json, size_t cap)
{
    char err[256];
    place_req_init(r);
    pod_json(json, cap, uid, mem);
    tree = cJSON_Parse(json);
    struct model_defaults def = {.mem_factor = 1};
    ck_assert_int_eq(model_pod_parse(tree, &def, &r->pod, err, sizeof err), 0);
    r->n = NNAMES;
    r->c = calloc(NNAMES, sizeof *r->c);
    for (size_t i = 0; i < NNAMES; i++)
        r->c[i].name = names[i];
}

static void req_done(struct place_req *r)
{
    cJSON_Delete(tree);
    tree = NULL;
    free(r->c);
    place_req_free(r);
}

/* ---- choose, reserve, refuse: one filter per case ---- */

static const struct {
    const char *what;
    int mem;                    /* MiB the pod asks on one GPU */
    int chosen;                 /* index into names, -1 none */
    uint8_t state[NNAMES];      /* expected per candidate */
    const char *reason[NNAMES]; /* a word the candidate's reason holds (NULL: none) */
} cases[] = {
    {"binpack takes the fuller node",
     1000,
     0,
     {PLACE_FITS, PLACE_FITS, PLACE_UNRESOLVABLE, PLACE_UNKNOWN},
     {NULL, NULL, "NodeInsufficientDevice", "not in the scheduler's cache"}},
    {"a card too small for the T4s leaves the A100s",
     20000,
     0,
     {PLACE_FITS, PLACE_UNRESOLVABLE, PLACE_UNRESOLVABLE, PLACE_UNKNOWN},
     {NULL, "CardInsufficientMemory", "NodeInsufficientDevice", NULL}},
    {"larger than every card: refused everywhere with reasons",
     50000,
     -1,
     {PLACE_UNRESOLVABLE, PLACE_UNRESOLVABLE, PLACE_UNRESOLVABLE, PLACE_UNKNOWN},
     {"CardInsufficientMemory", "CardInsufficientMemory", "NodeInsufficientDevice", NULL}},
};

START_TEST(filter_cases)
{
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_SINGLE);
    struct place_req r;
    char json[1024];
    req_make(&r, "p-case", cases[_i].mem, json, sizeof json);

    int k = place_filter(pl, &r, json, NOW);
    ck_assert_msg(k == cases[_i].chosen, "%s: chose %d", cases[_i].what, k);
    ck_assert_str_eq(r.err, "");
    for (size_t i = 0; i < NNAMES; i++) {
        ck_assert_msg(r.c[i].state == cases[_i].state[i], "%s: %s is %d", cases[_i].what, names[i],
                      r.c[i].state);
        const char *why = place_reason(&r, &r.c[i]);
        if (cases[_i].reason[i])
            ck_assert_msg(strstr(why, cases[_i].reason[i]), "%s: %s: \"%s\"", cases[_i].what,
                          names[i], why);
    }
    struct cache_assumed a;
    int rc = cache_reservation(c, "p-case", NOW, &a);
    if (k >= 0) {
        ck_assert_int_eq(rc, 0);
        ck_assert_str_eq(a.node, names[k]);
        ck_assert_ptr_nonnull(strstr(a.devices, ",NVIDIA,")); /* HAMi's device annotation */
    } else {
        ck_assert_int_eq(rc, ERR_NOTFOUND);
    }
    cache_assumed_free(&a);
    /* bind's view of it: the pending spec was kept either way */
    char *kept = cache_pending_get(c, "p-case", NOW);
    ck_assert_str_eq(kept, json);
    free(kept);
    req_done(&r);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* ---- the cache's write lock, per filter ---- */

START_TEST(one_write_per_filter)
{
    static const enum place_mode modes[] = {PLACE_SINGLE, PLACE_ALL};
    for (size_t m = 0; m < 2; m++) {
        struct cache *c = cluster();
        struct place *pl = placer(c, modes[m]);
        char json[1024], uid[16];
        for (int i = 0; i < 6; i++) {
            struct place_req r;
            snprintf(uid, sizeof uid, "w-%d", i);
            req_make(&r, uid, i == 5 ? 50000 : 1000, json, sizeof json); /* the last fits nowhere */
            unsigned long before = cache_write_locks(c);
            place_filter(pl, &r, json, NOW);
            ck_assert_uint_eq(cache_write_locks(c) - before, 1);
            req_done(&r);
        }
        place_destroy(pl);
        cache_destroy(c);
    }
}
END_TEST

/* A filter again of a pod that holds a reservation drops it first, and a
 * reservation past its time is expired first: evaluation sees neither. */
START_TEST(refilter_and_expiry)
{
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_SINGLE);
    struct place_req r;
    char json[1024];
    struct cache_stats st;

    /* 20000 MiB: two fit GPU-a-1, none fits elsewhere (the busy pod leaves
     * 10000 on GPU-a-0, the T4s have 16000) */
    req_make(&r, "big-1", 20000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), 0);
    req_done(&r);
    req_make(&r, "big-2", 20000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), 0);
    req_done(&r);
    req_make(&r, "big-3", 20000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), -1); /* GPU-a-1 full */
    req_done(&r);

    /* big-1 again: its own reservation does not count against it */
    req_make(&r, "big-1", 20000, json, sizeof json);
    unsigned long before = cache_write_locks(c);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW + 1), 0);
    ck_assert_uint_eq(cache_write_locks(c) - before, 2); /* forget first, then reserve */
    req_done(&r);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.reservations, 2);

    /* past the TTL: both expire before big-3 is judged, with no timer */
    req_make(&r, "big-3", 20000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW + 2 * TTL), 0);
    req_done(&r);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.reservations, 1);
    ck_assert_int_eq(cache_expire(c, NOW + 4 * TTL), 1); /* the explicit call stays */
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* ---- bind's reservation ---- */

START_TEST(bind_reserve)
{
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_SINGLE);
    struct place_req r;
    struct cache_assumed a;
    char json[1024], err[512];
    const char *what;

    req_make(&r, "b-1", 1000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), 0);
    req_done(&r);
    /* the reserved node */
    ck_assert_int_eq(
        place_bind_reserve(pl, "b-1", "default", "b-1", "gpu-a", NOW, &a, err, sizeof err, &what),
        0);
    ck_assert_str_eq(a.node, "gpu-a");
    cache_assumed_free(&a);
    /* another node: fitted again there from the pending spec */
    ck_assert_int_eq(
        place_bind_reserve(pl, "b-1", "default", "b-1", "gpu-b", NOW, &a, err, sizeof err, &what),
        0);
    ck_assert_str_eq(a.node, "gpu-b");
    cache_assumed_free(&a);
    place_bound(pl, "b-1");
    ck_assert_int_eq(cache_reservation(c, "b-1", NOW + 10 * TTL, &a), 0); /* committed */
    cache_assumed_free(&a);
    /* a node without GPUs, a pod never filtered */
    ck_assert_int_eq(
        place_bind_reserve(pl, "b-2", "default", "b-2", "gpu-a", NOW, &a, err, sizeof err, &what),
        ERR_NOTFOUND);
    ck_assert_str_eq(what, "bind_unknown");
    req_make(&r, "b-3", 1000, json, sizeof json);
    place_filter(pl, &r, json, NOW);
    req_done(&r);
    ck_assert_int_ne(
        place_bind_reserve(pl, "b-3", "default", "b-3", "cpu-1", NOW, &a, err, sizeof err, &what),
        0);
    ck_assert_str_eq(what, "bind_no_fit");
    /* a filter of a placed uid is refused with the reason */
    req_make(&r, "b-1", 1000, json, sizeof json);
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), -1);
    ck_assert_ptr_nonnull(strstr(r.err, "already placed"));
    req_done(&r);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* ---- the memo and the learner ---- */

START_TEST(memo_reuse)
{
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_ALL); /* reserves nothing: no node changes */
    struct place_req r;
    struct place_stats st;
    char json[1024];

    req_make(&r, "m-1", 1000, json, sizeof json);
    place_filter(pl, &r, json, NOW);
    req_done(&r);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 3); /* gpu-a, gpu-b, cpu-1; ghost is unknown */
    ck_assert_uint_eq(st.reused, 0);
    /* the same shape again: every verdict from the memo */
    req_make(&r, "m-2", 1000, json, sizeof json);
    place_filter(pl, &r, json, NOW);
    ck_assert_int_eq(r.c[0].state, PLACE_FITS);
    req_done(&r);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 3);
    ck_assert_uint_eq(st.reused, 3);
    /* another shape: judged afresh */
    req_make(&r, "m-3", 2000, json, sizeof json);
    place_filter(pl, &r, json, NOW);
    req_done(&r);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 6);
    /* a node that changed is judged again, the others not (each node's
     * slot holds the last shape judged there: 2000 MiB) */
    struct place_opts o = *place_options(pl);
    struct cache_assumed a;
    char err[256];
    req_make(&r, "m-4", 1000, json, sizeof json);
    ck_assert_int_eq(place_assume(c, &r.pod, "gpu-a", &o.policy, NOW, TTL, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    req_done(&r);
    req_make(&r, "m-5", 2000, json, sizeof json);
    place_filter(pl, &r, json, NOW);
    req_done(&r);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 7);
    ck_assert_uint_eq(st.reused, 5);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* A new learned workload (a snapshot, a pressure change) keeps the
 * verdicts of pods whose policy never reads it and only theirs: a pod of
 * each node policy (its own, as by annotation) is judged, judged again
 * from the memo, then once more after place_set_state. */
static const struct {
    const char *policy;
    unsigned long refits; /* of the 3 known nodes, after the new workload */
} epoch_cases[] = {{"binpack", 0}, {"spread", 0}, {"fragment-aware", 3}};

START_TEST(memo_outlives_workload)
{
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_ALL); /* reserves nothing: no node changes */
    struct place_req r;
    struct place_stats st;
    char json[1024], uid[16];
    for (int i = 0; i < 3; i++) {
        snprintf(uid, sizeof uid, "e-%d", i);
        req_make(&r, uid, 1000, json, sizeof json);
        r.pod.node_policy = policy_node_policy_find(epoch_cases[_i].policy);
        if (i == 2)
            place_set_state(pl, workload_create(1.0));
        place_filter(pl, &r, json, NOW);
        ck_assert_int_eq(r.c[0].state, PLACE_FITS);
        req_done(&r);
    }
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 3 + epoch_cases[_i].refits);
    ck_assert_uint_eq(st.reused, 6 - epoch_cases[_i].refits);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* Pods of other vendors or sharing modes in turn keep each other's
 * verdicts: each kind has a memo table of its own. An NVIDIA pod, a DCU
 * pod (which fits none of the cluster's NVIDIA nodes) and an NVIDIA pod
 * asking MIG (no MIG card there), each judged twice in turn. */
static const char *const kind_pods[] = {
    NULL, /* pod_json's */
    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"%s\"},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
    "\"hygon.com/dcunum\":\"1\",\"hygon.com/dcumem\":\"1000\"}}}]}}",
    "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"%s\","
    "\"annotations\":{\"nvidia.com/vgpu-mode\":\"mig\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
    "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}}",
};

START_TEST(memo_per_kind)
{
    enum { KINDS = sizeof kind_pods / sizeof *kind_pods };
    struct cache *c = cluster();
    struct place *pl = placer(c, PLACE_ALL); /* reserves nothing: no node changes */
    struct place_req r;
    struct place_stats st;
    char json[1024], uid[16], err[256];
    for (int i = 0; i < 2 * KINDS; i++) {
        snprintf(uid, sizeof uid, "v-%d", i);
        req_make(&r, uid, 1000, json, sizeof json);
        if (kind_pods[i % KINDS]) { /* the same request, another pod */
            cJSON_Delete(tree);
            snprintf(json, sizeof json, kind_pods[i % KINDS], uid, uid);
            tree = cJSON_Parse(json);
            struct model_defaults def = {.mem_factor = 1};
            ck_assert_int_eq(model_pod_parse(tree, &def, &r.pod, err, sizeof err), 0);
        }
        place_filter(pl, &r, json, NOW);
        ck_assert_int_eq(r.c[0].state == PLACE_FITS, i % KINDS == 0);
        req_done(&r);
    }
    place_stats(pl, &st);
    ck_assert_uint_eq(st.fitted, 3 * KINDS); /* gpu-a, gpu-b, cpu-1 for each kind once */
    ck_assert_uint_eq(st.reused, 3 * KINDS);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* The learner's first copy comes after learn_first distinct pods, the
 * next after twice as many more, or learn_every if fewer: the defaults
 * (16, then 32; no params given) and values set through the params. */
static const struct {
    double first, every; /* 0, 0: no params */
    unsigned pods, next;
} learner_cases[] = {
    {0, 0, WORKLOAD_LEARN_FIRST, 2 * WORKLOAD_LEARN_FIRST},
    {4, WORKLOAD_LEARN_EVERY, 4, 8},
    {4, 6, 4, 6},
    {WORKLOAD_LEARN_FIRST, WORKLOAD_LEARN_EVERY, 16, 32},
};

START_TEST(learner)
{
    struct cache *c = cluster();
    struct workload_params par = workload_params_default;
    par.learn_first = learner_cases[_i].first;
    par.learn_every = learner_cases[_i].every;
    unsigned n = learner_cases[_i].pods, next = 0;
    struct place *pl = placer_with(c, PLACE_ALL, par.learn_first > 0 ? &par : NULL);
    struct place_req r;
    char json[1024], uid[16];

    ck_assert_uint_eq(place_workload_shapes(pl), 0);
    for (unsigned i = 0; i + 1 < n; i++) {
        snprintf(uid, sizeof uid, "l-%u", i);
        req_make(&r, uid, 1000 * (1 + i % 3), json, sizeof json);
        place_filter(pl, &r, json, NOW);
        req_done(&r);
    }
    /* the same pod again counts once: still no copy after n - 1 */
    for (int i = 0; i < 5; i++) {
        req_make(&r, "l-0", 1000, json, sizeof json);
        place_filter(pl, &r, json, NOW);
        req_done(&r);
    }
    ck_assert_uint_eq(place_workload_shapes(pl), 0);
    struct place_stats st;
    place_stats(pl, &st);
    ck_assert_uint_eq(st.observed, n - 1);
    req_make(&r, "l-last", 1000, json, sizeof json);
    place_filter(pl, &r, json, NOW); /* the nth pod: the first copy */
    req_done(&r);
    ck_assert_uint_eq(place_workload_shapes(pl), 3);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.observed, n);
    /* a fourth shape shows in the next copy */
    while (place_workload_shapes(pl) == 3 && next < 100) {
        snprintf(uid, sizeof uid, "m-%u", next++);
        req_make(&r, uid, 4000, json, sizeof json);
        place_filter(pl, &r, json, NOW);
        req_done(&r);
    }
    ck_assert_uint_eq(place_workload_shapes(pl), 4);
    ck_assert_uint_eq(next, learner_cases[_i].next);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* Node i of split_filter's cluster: 1, 2, 4 or 8 GPUs (A100s of 40000 MiB
 * on every third node, else T4s of 16000), 32 cores, 128 GiB. */
static struct model_inventory *many_node(int i)
{
    static const int gpus[] = {1, 2, 4, 8};
    char json[4096], devs[2048], err[256];
    size_t k = 0;
    int nd = gpus[i % 4];
    bool a100 = i % 3 == 0;
    for (int g = 0; g < nd; g++)
        k += (size_t)snprintf(devs + k, sizeof devs - k,
                              "%s{\\\"id\\\":\\\"n%d-g%d\\\",\\\"count\\\":10,"
                              "\\\"devmem\\\":%d,\\\"devcore\\\":100,\\\"type\\\":"
                              "\\\"%s\\\",\\\"health\\\":true,\\\"index\\\":%d}",
                              g ? "," : "", i, g, a100 ? 40000 : 16000, a100 ? "A100" : "T4", g);
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n%d\",\"resourceVersion\":\"1\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"[%s]\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"32\",\"memory\":\"128Gi\"}}}",
             i, devs);
    cJSON *j = cJSON_Parse(json);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "node %d: %s", i, err);
    cJSON_Delete(j);
    return inv;
}

#define SPLIT_NODES (PLACE_SPLIT_MIN + 88)

/* A placer of node policy `policy` over split_filter's cluster, judging
 * with `threads` threads, its workload the shapes the test places. */
static struct place *split_placer(struct cache **c, int threads, const char *policy)
{
    *c = cache_create();
    for (int i = 0; i < SPLIT_NODES; i++)
        cache_node_put(*c, many_node(i));
    cache_set_ready(*c, true);
    struct place_opts o = {
        .mode = PLACE_SINGLE,
        .policy = {.node_policy = policy_node_policy_find(policy),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}},
                   .check_host = true},
        .defaults = {.mem_factor = 1},
        .ttl = TTL,
        .filter_threads = threads,
    };
    struct place *pl = place_create(*c, &o);
    struct workload *w = workload_create(1.0);
    for (int s = 0; s < 5; s++) {
        struct workload_shape sh = {.cpu_milli = 2000 * (s + 1),
                                    .nums = s == 4 ? 2 : 1,
                                    .mem_pct = s == 4 ? 100 : 25 * (s + 1),
                                    .cores = s == 4 ? 100 : 25 * (s + 1)};
        workload_add(w, &sh, 5 - s);
    }
    place_set_state(pl, w);
    return pl;
}

/* A pod of one container asking nums GPUs of pct % each (memory and
 * cores) and cpu millicores. */
static struct policy_pod split_pod(const char *uid, int nums, int pct, int64_t cpu)
{
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.uid = p.name = uid;
    p.ns = "default";
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){
        .name = "c", .nums = nums, .mem_pct = pct, .cores = pct, .priority = -1};
    p.w = (struct policy_weights){1, 1, 1};
    p.cpu_milli = cpu;
    p.quota_mem = p.quota_cores = -1;
    return p;
}

/* Place p with both placers; they must choose the same node. */
static int place_both(struct place *one, struct place *three, const struct policy_pod *p,
                      const char *const *all)
{
    int k1 = place_pod(one, p, all, SPLIT_NODES, NOW, NULL);
    int k3 = place_pod(three, p, all, SPLIT_NODES, NOW, NULL);
    ck_assert_msg(k1 == k3, "pod %s: %d alone, %d in parts", p->uid, k1, k3);
    if (k1 >= 0) { /* bound, as the service's bind follows its filter */
        place_bound(one, p->uid);
        place_bound(three, p->uid);
    }
    return k1;
}

/* One filter judged by three threads (its own and two helpers, each the
 * nodes its id gives it, with memos of its own) places every pod where
 * one thread does: 400 pods of five shapes on 600 nodes of 1-8 GPUs, until
 * the cluster is full; the placer with helpers split its filters. */
START_TEST(split_filter)
{
    struct cache *c1, *c3;
    struct place *one = split_placer(&c1, 1, "fragment-aware"),
                 *three = split_placer(&c3, 3, "fragment-aware");
    const char *all[SPLIT_NODES];
    char nbuf[SPLIT_NODES][16], uid[32];
    int placed = 0;
    for (int i = 0; i < SPLIT_NODES; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], "n%d", i);
        all[i] = nbuf[i];
    }
    for (int i = 0; i < 400; i++) {
        int s = i % 5;
        snprintf(uid, sizeof uid, "p-%d", i);
        struct policy_pod p =
            split_pod(uid, s == 4 ? 2 : 1, s == 4 ? 100 : 25 * (s + 1), 2000 * (s + 1));
        placed += place_both(one, three, &p, all) >= 0;
    }
    struct place_stats st1, st3;
    place_stats(one, &st1);
    place_stats(three, &st3);
    ck_assert_int_gt(placed, 300);
    ck_assert_uint_eq(st1.split, 0);
    ck_assert_uint_eq(st3.split, 400); /* five shapes in turn: each node's memo misses */
    /* one shape over and over: the memos answer all but the node that
     * changed, so the filter is judged on its own thread, with the helpers'
     * memos for their nodes, and places as before */
    for (int i = 0; i < 20; i++) {
        snprintf(uid, sizeof uid, "q-%d", i);
        struct policy_pod p = split_pod(uid, 1, 5, 0);
        ck_assert_int_ge(place_both(one, three, &p, all), 0);
    }
    place_stats(three, &st3);
    ck_assert_uint_le(st3.split, 401); /* the first of them misses everywhere */
    place_stats(one, &st1);
    ck_assert_uint_eq(st1.fitted + st1.reused, st3.fitted + st3.reused);
    place_destroy(one);
    place_destroy(three);
    cache_destroy(c1);
    cache_destroy(c3);
}
END_TEST

/* Each failing node's reason is the words of its own counts, also where
 * nodes of the same counts follow each other (their text is shared): a
 * 1-GPU pod of 30,000 MiB among T4 nodes of 1, 2, 4 and 8 cards (each
 * "k/k CardInsufficientMemory") in an order that repeats and alternates,
 * one A100 node fitting. */
START_TEST(reasons_per_node)
{
    static const int order[] = {1, 5, 13, 2, 10, 17, 7, 11, 0, 4, 8, 14};
    enum { N = sizeof order / sizeof *order };
    struct cache *c = cache_create();
    for (int i = 0; i < 18; i++)
        cache_node_put(c, many_node(i));
    cache_set_ready(c, true);
    struct place *pl = placer(c, PLACE_ALL);
    char json[1024], nbuf[N][16], err[256], want[1024];
    struct place_req r;
    place_req_init(&r);
    pod_json(json, sizeof json, "r-1", 30000);
    cJSON *pod = cJSON_Parse(json);
    struct model_defaults def = {.mem_factor = 1};
    ck_assert_int_eq(model_pod_parse(pod, &def, &r.pod, err, sizeof err), 0);
    r.n = N;
    r.c = calloc(N, sizeof *r.c);
    for (int i = 0; i < N; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], "n%d", order[i]);
        r.c[i].name = nbuf[i];
    }
    ck_assert_int_eq(place_filter(pl, &r, json, NOW), 8); /* n0, the A100 */
    cache_rdlock(c);
    int failed = 0;
    for (int i = 0; i < N; i++) {
        struct policy_placement best;
        struct policy_reasons why;
        bool fits =
            policy_fit(&r.pod, cache_view(c, nbuf[i]), &place_options(pl)->policy, &best, &why);
        ck_assert_int_eq(r.c[i].state == PLACE_FITS, fits);
        if (fits)
            continue;
        policy_reasons_format(&why, want, sizeof want);
        ck_assert_str_eq(place_reason(&r, &r.c[i]), want);
        failed++;
    }
    cache_unlock(c);
    ck_assert_int_eq(failed, N - 1);
    ck_assert_str_ne(place_reason(&r, &r.c[2]), place_reason(&r, &r.c[3])); /* 2 and 4 cards */
    free(r.c);
    place_req_free(&r);
    cJSON_Delete(pod);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* The pressure pass (every press_every binds, default 16) runs only once
 * some pod was judged by a policy that learns: a binpack placer skips it
 * for 32 binds; after one pod that asks fragment-aware, the next 16 binds
 * run it once. */
START_TEST(pressure_when_learning)
{
    struct cache *c;
    struct place *pl = split_placer(&c, 1, "binpack");
    const char *all[SPLIT_NODES];
    char nbuf[SPLIT_NODES][16], uid[32];
    struct place_stats st;
    for (int i = 0; i < SPLIT_NODES; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], "n%d", i);
        all[i] = nbuf[i];
    }
    for (int i = 0; i < 48; i++) {
        snprintf(uid, sizeof uid, "p-%d", i);
        struct policy_pod p = split_pod(uid, 1, 25, 2000);
        if (i == 32)
            p.node_policy = policy_node_policy_find("fragment-aware");
        ck_assert_int_ge(place_pod(pl, &p, all, SPLIT_NODES, NOW, NULL), 0);
        place_bound(pl, uid);
        place_stats(pl, &st);
        ck_assert_uint_eq(st.pressed, i < 47 ? 0 : 1);
    }
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

/* One container's pod for a seed file: limits (JSON members), requests and
 * annotations (JSON object, or NULL). */
#define SEED_POD(lim, req, ann)                                                                    \
    "{\"weight\": %s, \"pod\": {\"metadata\": {\"name\": \"p\"" ann                                \
    "}, \"spec\": {\"containers\": "                                                               \
    "[{\"name\": \"c\", \"resources\": {\"limits\": {" lim "}, \"requests\": {" req "}}}]}}}"

/* The seed file place_workload_file writes is read back to the same shapes
 * and weights: pods of every device row (NVIDIA by MiB with a model list,
 * by percentage and whole; Hygon; Cambricon in its 256 MiB units; each
 * Ascend chip's template; CPU only), with memoryFactor 4. A
 * shape whose memory today's factor cannot say (1,001 MiB seen under
 * factor 1, written under 4) is left out and counted. */
START_TEST(workload_file_round_trip)
{
    static const char *const seed[] = {
        SEED_POD("\"nvidia.com/gpu\": \"1\", \"nvidia.com/gpumem\": \"750\", "
                 "\"nvidia.com/gpucores\": \"20\"",
                 "\"cpu\": \"2\", \"memory\": \"4Gi\"",
                 ", \"annotations\": {\"nvidia.com/use-gputype\": \"A100,T4\"}"),
        SEED_POD("\"nvidia.com/gpu\": \"1\", \"nvidia.com/gpumem-percentage\": \"25\"",
                 "\"cpu\": \"500m\"", ""),
        SEED_POD("\"nvidia.com/gpu\": \"2\"", "\"memory\": \"8Gi\"", ""),
        SEED_POD("\"hygon.com/dcunum\": \"1\", \"hygon.com/dcumem\": \"2048\", "
                 "\"hygon.com/dcucores\": \"30\"",
                 "\"cpu\": \"1\"", ""),
        SEED_POD("\"cambricon.com/vmlu\": \"1\", \"cambricon.com/mlu.smlu.vmemory\": \"4\", "
                 "\"cambricon.com/mlu.smlu.vcore\": \"20\"",
                 "\"cpu\": \"1\"", ""),
        SEED_POD("\"huawei.com/Ascend910B3\": \"1\", \"huawei.com/Ascend910B3-memory\": \"6000\"",
                 "\"cpu\": \"4\"", ""),
        SEED_POD("\"huawei.com/Ascend910A\": \"1\", \"huawei.com/Ascend910A-memory\": \"2000\"",
                 "\"cpu\": \"2\"", ""),
        SEED_POD("\"huawei.com/Ascend910B2\": \"2\", \"huawei.com/Ascend910B2-memory\": \"3000\"",
                 "\"cpu\": \"3\"", ""),
        SEED_POD(
            "\"huawei.com/Ascend910B4-1\": \"1\", \"huawei.com/Ascend910B4-1-memory\": \"4000\"",
            "\"cpu\": \"4\"", ""),
        SEED_POD("\"huawei.com/Ascend910B4\": \"2\", \"huawei.com/Ascend910B4-memory\": \"5000\"",
                 "\"cpu\": \"5\"", ""),
        SEED_POD("\"huawei.com/Ascend310P\": \"1\", \"huawei.com/Ascend310P-memory\": \"6000\"",
                 "\"cpu\": \"6\"", ""),
        SEED_POD("\"huawei.com/Ascend910C\": \"2\", \"huawei.com/Ascend910C-memory\": \"7000\"",
                 "\"cpu\": \"7\"", ""),
        SEED_POD("", "\"cpu\": \"250m\", \"memory\": \"1Gi\"", ""),
    };
    static const char *const weights[] = {"7",   "0.5", "3",   "2",    "1.25", "1", "4",
                                          "1.5", "2.5", "3.5", "0.25", "0.75", "6", "5"};
    enum { N = sizeof seed / sizeof *seed };
    char dir[] = "/tmp/vs-wl-XXXXXX", path[600], err[256], entry[1024];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    struct buf text = BUF_INIT(1 << 20);
    buf_puts(&text, "[");
    for (int i = 0; i < N; i++) {
        snprintf(entry, sizeof entry, seed[i], weights[i]);
        buf_printf(&text, "%s%s\n", i ? "," : "", entry);
    }
    buf_puts(&text, "]");
    harness_write(dir, "in.json", buf_str(&text), path, sizeof path);
    struct cache *c = cluster();
    struct place *a = placer(c, PLACE_ALL), *b = placer(c, PLACE_ALL);
    struct model_defaults d = {.mem_factor = 4};
    place_set_defaults(a, d);
    place_set_defaults(b, d);
    ck_assert_msg(place_seed_file(a, path, err, sizeof err) == 0, "%s", err);

    struct buf out = BUF_INIT(1 << 20);
    int skipped = -1;
    ck_assert_int_eq(place_workload_file(a, &out, &skipped), 0);
    ck_assert_int_eq(skipped, 0);
    harness_write(dir, "out.json", buf_str(&out), path, sizeof path);
    ck_assert_msg(place_seed_file(b, path, err, sizeof err) == 0, "%s: %s", err, buf_str(&out));
    struct workload_item ia[16], ib[16];
    int na = place_workload_items(a, ia, 16), nb = place_workload_items(b, ib, 16), seen = 0;
    for (int i = 0, j = 0; i < na; i++) {
        if (ia[i].prior)
            continue;
        while (j < nb && ib[j].prior)
            j++;
        ck_assert_int_lt(j, nb);
        ck_assert_msg(memcmp(&ia[i].s, &ib[j].s, sizeof ia[i].s) == 0, "shape %d: %s", i,
                      buf_str(&out));
        ck_assert_double_eq(ia[i].weight, ib[j].weight);
        seen++, j++;
    }
    ck_assert_int_eq(seen, N);
    ck_assert(strstr(buf_str(&out), "\"nvidia.com/gpumem\":\"750\"")); /* 3,000 MiB / 4 */

    /* 1,001 MiB seen under memoryFactor 1 cannot be written under 4 */
    buf_free(&text);
    struct place *m = placer(c, PLACE_ALL);
    snprintf(entry, sizeof entry,
             "[" SEED_POD("\"nvidia.com/gpu\": \"1\", \"nvidia.com/gpumem\": \"1001\"", "", "") "]",
             "1");
    harness_write(dir, "odd.json", entry, path, sizeof path);
    ck_assert_msg(place_seed_file(m, path, err, sizeof err) == 0, "%s", err);
    place_set_defaults(m, d);
    buf_reset(&out);
    ck_assert_int_eq(place_workload_file(m, &out, &skipped), 0);
    ck_assert_int_eq(skipped, 1);
    ck_assert_str_eq(buf_str(&out), "[]\n");

    buf_free(&out);
    place_destroy(m);
    place_destroy(b);
    place_destroy(a);
    cache_destroy(c);
    snprintf(entry, sizeof entry, "rm -rf %s", dir);
    ck_assert_int_eq(system(entry), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("place");
    TCase *tc = tcase_create("place");
    tcase_add_loop_test(tc, filter_cases, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, one_write_per_filter);
    tcase_add_test(tc, workload_file_round_trip);
    tcase_add_test(tc, refilter_and_expiry);
    tcase_add_test(tc, bind_reserve);
    tcase_add_loop_test(tc, memo_outlives_workload, 0,
                        (int)(sizeof epoch_cases / sizeof *epoch_cases));
    tcase_add_test(tc, pressure_when_learning);
    tcase_add_test(tc, reasons_per_node);
    tcase_add_test(tc, memo_per_kind);
    tcase_add_test(tc, memo_reuse);
    tcase_add_loop_test(tc, learner, 0, (int)(sizeof learner_cases / sizeof *learner_cases));
    tcase_add_test(tc, split_filter);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

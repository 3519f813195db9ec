/* What a pod from the source counts (cache.h): bound pods where they are
 * bound, unbound ones only in their bind window, pods asking no GPU no GPU,
 * untrusted annotations by the pod's request; uids already placed are not
 * reserved again; and what model_pod_info reads of a pod owner's
 * annotations. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/cache.h"
#include "k8s/nodelock.h"
#include "place/place.h"
#include "tests/support/harness.h"

#define T0      1800000000.0 /* the fake wall clock */
#define TIMEOUT 300.0

static double now_s = T0;
static double fake_clock(void)
{
    return now_s;
}

/* Node n1: 2 GPUs "n1-g0", "n1-g1" of 10 slots, 10000 MiB, 100 cores; lock
 * "<age s ago>,default,<owner>" when owner is not NULL. */
static struct model_inventory *node(const char *owner, double age)
{
    char lock[NODELOCK_VALUE_MAX + 64] = "", json[8192], err[256];
    if (owner) {
        char v[NODELOCK_VALUE_MAX + 1];
        ck_assert_int_gt(nodelock_format(T0 - age, "default", owner, v, sizeof v), 0);
        snprintf(lock, sizeof lock, ",\"hami.io/mutex.lock\":\"%s\"", v);
    }
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"1\",\"annotations\":{"
             "\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"n1-g0\\\",\\\"count\\\":10,"
             "\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\","
             "\\\"health\\\":true,\\\"index\\\":0},{\\\"id\\\":\\\"n1-g1\\\",\\\"count\\\":10,"
             "\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\","
             "\\\"health\\\":true,\\\"index\\\":1}]\"%s}}}",
             lock);
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

static struct cache *new_cache(const char *owner, double age)
{
    struct cache *c = cache_create();
    now_s = T0;
    cache_set_clock(c, fake_clock);
    cache_set_lock_timeout(c, TIMEOUT);
    cache_node_put(c, node(owner, age));
    return c;
}

/* Memory in use on both GPUs of n1. */
static int64_t used(struct cache *c)
{
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, "n1");
    ck_assert_ptr_nonnull(v);
    int64_t m = v->use[0].mem + v->use[1].mem;
    cache_unlock(c);
    return m;
}

/* A pod "p" asking per container what ask says ({nums, mem}; nums 0: the
 * container asks none). */
static struct model_pod_info pod(const char *node_name, const char *vgpu_node, const char *devices,
                                 double bind_time, int nctr, const int (*ask)[2])
{
    struct model_pod_info pi = {.uid = "uid-p",
                                .ns = "default",
                                .name = "p",
                                .node_name = node_name,
                                .vgpu_node = vgpu_node,
                                .devices = devices,
                                .bind_time = bind_time,
                                .nctr = nctr};
    for (int i = 0; i < nctr; i++)
        if (ask[i][0])
            pi.ask[pi.nask++] = (struct model_gpu_ask){
                .ctr = (uint8_t)i, .nums = (uint8_t)ask[i][0], .mem = ask[i][1], .cores = 10};
    return pi;
}

static const int one_gpu[1][2] = {{1, 3000}}, no_gpu[1][2] = {{0, 0}}, two_gpus[1][2] = {{2, 3000}},
                 sidecar[2][2] = {{0, 0}, {1, 3000}}, big[1][2] = {{2, 9000}},
                 small[1][2] = {{1, 1000}};

#define DEV1  "n1-g0,NVIDIA,3000,10:;"
#define DEV2  "n1-g0,NVIDIA,3000,10:n1-g1,NVIDIA,3000,10:;"
#define FRESH (T0 - 10)
#define STALE (T0 - 400)

static const struct {
    const char *what;
    const char *owner; /* the node lock's pod, NULL: none */
    double lock_age;
    const char *node_name, *vgpu_node, *devices;
    bool devices_bad, terminal;
    double bind_time;
    int nctr;
    const int (*ask)[2];
    int64_t want_mem;
    int want_rc;
    size_t want_bad;
} cases[] = {
    {"bound, annotation agrees", NULL, 0, "n1", "n1", DEV1, false, false, 0, 1, one_gpu, 3000},
    {"bound, vgpu-node elsewhere: counts where bound", NULL, 0, "n1", "n9", DEV1, false, false, 0,
     1, one_gpu, 3000},
    {"bound, sidecar first", NULL, 0, "n1", "n1", ";" DEV1, false, false, 0, 2, sidecar, 3000},
    {"terminal", NULL, 0, "n1", "n1", DEV1, false, true, 0, 1, one_gpu, 0},
    {"unbound, no lock", NULL, 0, NULL, "n1", DEV1, false, false, FRESH, 1, one_gpu, 0},
    {"unbound, forged, asks no GPU", NULL, 0, NULL, "n1", DEV2, false, false, FRESH, 1, no_gpu, 0},
    {"unbound, lock of another pod", "q", 10, NULL, "n1", DEV1, false, false, FRESH, 1, one_gpu, 0},
    {"unbound, own lock, fresh: bind window", "p", 10, NULL, "n1", DEV1, false, false, FRESH, 1,
     one_gpu, 3000},
    {"unbound, own lock, stale", "p", 400, NULL, "n1", DEV1, false, false, FRESH, 1, one_gpu, 0},
    {"unbound, own lock, bind-time stale", "p", 10, NULL, "n1", DEV1, false, false, STALE, 1,
     one_gpu, 0},
    {"unbound, own lock, no bind-time", "p", 10, NULL, "n1", DEV1, false, false, 0, 1, one_gpu, 0},
    {"bound, asks no GPU: no GPU", NULL, 0, "n1", "n1", DEV2, false, false, 0, 1, no_gpu, 0},
    {"bound, no annotation", NULL, 0, "n1", NULL, NULL, false, false, 0, 1, one_gpu, 3000,
     ERR_INVAL, 1},
    {"bound, garbage", NULL, 0, "n1", "n1", "garbage!!", false, false, 0, 1, one_gpu, 3000,
     ERR_INVAL, 1},
    {"bound, annotation too long", NULL, 0, "n1", "n1", NULL, true, false, 0, 1, one_gpu, 3000,
     ERR_INVAL, 1},
    {"bound, unknown GPUs", NULL, 0, "n1", "n1", "GPU-zz,NVIDIA,1,1:;", false, false, 0, 1, one_gpu,
     3000, ERR_INVAL, 1},
    /* HAMi's MIG instance of n1-g0 (its 20 GB slice of a 1000 MiB ask):
     * counted as the annotation says on the card it names, not by the
     * request (before: 1000 MiB, as an unknown GPU). */
    {"bound, MIG instance of a card", NULL, 0, "n1", "n1", "n1-g0[1-0],NVIDIA,3000,10:;", false,
     false, 0, 1, small, 3000},
    {"bound, MIG instance of a card not here", NULL, 0, "n1", "n1", "n9-g0[1-0],NVIDIA,3000,10:;",
     false, false, 0, 1, small, 1000, ERR_INVAL, 1},
    {"bound, fewer GPUs than asked", NULL, 0, "n1", "n1", DEV1, false, false, 0, 1, two_gpus, 6000,
     ERR_INVAL, 1},
    {"bound, GPUs on a container asking none", NULL, 0, "n1", "n1", DEV1 ";", false, false, 0, 2,
     sidecar, 3000, ERR_INVAL, 1},
    {"bound, past its containers", NULL, 0, "n1", "n1", ";;" DEV1, false, false, 0, 2, sidecar,
     3000, ERR_INVAL, 1},
    {"bound, bad, no room: counted anyway", "", 0, "n1", "n1", "x", false, false, 0, 1, big, 18000,
     ERR_INVAL, 1},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(what_counts)
{
    __typeof__(cases[0]) *k = &cases[_i];
    struct cache *c = new_cache(k->owner && *k->owner ? k->owner : NULL, k->lock_age);
    char err[512] = "";
    if (k->owner && !*k->owner) { /* another pod fills 8000 of each GPU first */
        static const int full[1][2] = {{2, 8000}};
        struct model_pod_info f =
            pod("n1", "n1", "n1-g0,NVIDIA,8000,10:n1-g1,NVIDIA,8000,10:;", 0, 1, full);
        f.uid = "uid-full";
        f.name = "full";
        ck_assert_int_eq(cache_pod_put(c, &f, err, sizeof err), 0);
    }
    int64_t before = used(c);
    struct model_pod_info pi =
        pod(k->node_name, k->vgpu_node, k->devices, k->bind_time, k->nctr, k->ask);
    pi.devices_bad = k->devices_bad;
    pi.terminal = k->terminal;
    int rc = cache_pod_put(c, &pi, err, sizeof err);
    ck_assert_msg(rc == k->want_rc, "%s: rc %d (%s)", k->what, rc, err);
    ck_assert_msg(used(c) - before == k->want_mem, "%s: %lld MiB counted, want %lld", k->what,
                  (long long)(used(c) - before), (long long)k->want_mem);
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_msg(st.bad_pods == k->want_bad, "%s: bad_pods %zu", k->what, st.bad_pods);
    if (rc)
        ck_assert_msg(strstr(err, "pod default/p on node n1: "), "%s: %s", k->what, err);
    /* Reported once per distinct annotation, not at every update. */
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c) - before, k->want_mem);
    cache_pod_del(c, "uid-p");
    ck_assert_int_eq(used(c), before);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.bad_pods, 0);
    cache_destroy(c);
}
END_TEST

/* HAMi's collapse rule with sidecars (its sidecar design): per GPU,
 * sidecars + max(peak of plain init containers, sum of app containers);
 * once the plain init containers exited 0, sidecars + app containers. All
 * on n1-g0 (10000 MiB); slots: a plain init container peaks at one. */
static const struct {
    const char *what;
    int nctr, ninit;
    uint64_t sidecars;
    bool init_done;
    const char *devices;
    int64_t want_mem;
    int32_t want_slots;
} collapse_cases[] = {
    {"init running: peak", 2, 1, 0, false, "n1-g0,NVIDIA,6000,10:;n1-g0,NVIDIA,3000,10:;", 6000, 1},
    {"init exited 0: app only", 2, 1, 0, true, "n1-g0,NVIDIA,6000,10:;n1-g0,NVIDIA,3000,10:;", 3000,
     1},
    {"sidecar + app: sum", 2, 1, 1, false, "n1-g0,NVIDIA,4000,10:;n1-g0,NVIDIA,3000,10:;", 7000, 2},
    {"sidecar, init, app; init running", 3, 2, 1, false,
     "n1-g0,NVIDIA,2000,10:;n1-g0,NVIDIA,5000,10:;n1-g0,NVIDIA,3000,10:;", 7000, 2},
    {"init, sidecar, app; init exited 0", 3, 2, 2, true,
     "n1-g0,NVIDIA,5000,10:;n1-g0,NVIDIA,2000,10:;n1-g0,NVIDIA,3000,10:;", 5000, 2},
    {"sidecar only", 2, 1, 1, false, "n1-g0,NVIDIA,4000,10:;;", 4000, 1},
};

#define NCOLLAPSE ((int)(sizeof collapse_cases / sizeof collapse_cases[0]))

START_TEST(collapse_rule)
{
    __typeof__(collapse_cases[0]) *k = &collapse_cases[_i];
    struct cache *c = new_cache(NULL, 0);
    char err[512] = "";
    int ask[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    const char *d = k->devices;
    for (int i = 0; i < k->nctr; i++, d = strchr(d, ';') + 1) /* one GPU where the entry has one */
        if (*d != ';')
            ask[i][0] = 1, ask[i][1] = atoi(strchr(strchr(d, ',') + 1, ',') + 1);
    struct model_pod_info pi = pod("n1", "n1", k->devices, 0, k->nctr, (const int(*)[2])ask);
    pi.ninit = k->ninit;
    pi.sidecars = k->sidecars;
    pi.init_done = k->init_done;
    ck_assert_msg(cache_pod_put(c, &pi, err, sizeof err) == 0, "%s: %s", k->what, err);
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, "n1");
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(v->use[0].mem == k->want_mem, "%s: %lld MiB", k->what, (long long)v->use[0].mem);
    ck_assert_msg(v->use[0].used == k->want_slots, "%s: %d slots", k->what, v->use[0].used);
    cache_unlock(c);
    cache_destroy(c);
}
END_TEST

/* A bind window opens with the node's lock and closes with time. */
START_TEST(window_follows_lock_and_time)
{
    struct cache *c = new_cache(NULL, 0);
    char err[256];
    struct model_pod_info pi = pod(NULL, "n1", DEV1, FRESH, 1, one_gpu);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 0);
    cache_node_put(c, node("p", 10)); /* the watch brings the lock */
    ck_assert_int_eq(used(c), 3000);
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_uint_eq(st.windows, 1);
    /* The device plugin released the lock and the next bind took it before
     * the pod watch brought the bound version: the pod keeps counting, also
     * through another version of the same bind. */
    cache_node_put(c, node("q", 1));
    ck_assert_int_eq(used(c), 3000);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 3000);
    now_s = T0 + 100;
    ck_assert_int_eq(cache_expire(c, now_s), 0);
    ck_assert_int_eq(used(c), 3000);
    now_s = T0 + TIMEOUT;
    cache_expire(c, now_s); /* the lock is now older than the timeout */
    ck_assert_int_eq(used(c), 0);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.windows, 0);
    /* Bound: counts whatever the lock says. */
    pi.node_name = "n1";
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 3000);
    cache_node_put(c, node(NULL, 0));
    ck_assert_int_eq(used(c), 3000);
    cache_destroy(c);
}
END_TEST

/* A pod listed before its node: reported at once, counted when the node
 * comes. */
START_TEST(reported_before_its_node)
{
    struct cache *c = cache_create();
    char err[512] = "";
    cache_set_clock(c, fake_clock);
    struct model_pod_info pi = pod("n1", "n1", "garbage!!", 0, 1, one_gpu);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), ERR_INVAL);
    ck_assert_msg(strstr(err, "pod default/p on node n1: "), "%s", err);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0); /* once */
    cache_node_put(c, node(NULL, 0));
    ck_assert_int_eq(used(c), 3000);
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_uint_eq(st.bad_pods, 1);
    cache_destroy(c);
}
END_TEST

static struct policy_pod request(const char *uid)
{
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.uid = uid;
    p.ns = "default";
    p.name = "p";
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem = 3000, .cores = 10};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    return p;
}

static struct policy_opts opts(void)
{
    return (struct policy_opts){.node_policy = policy_node_policy_find("binpack"),
                                .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
}

/* Our bind: the reservation stays until a version that counts replaces it. */
START_TEST(reservation_until_a_counting_version)
{
    struct cache *c = new_cache(NULL, 0);
    struct policy_pod rq = request("uid-p");
    struct policy_opts o = opts();
    struct cache_assumed a;
    char err[256];
    ck_assert_int_eq(place_assume(c, &rq, "n1", &o, T0, 30, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(cache_commit(c, "uid-p"), 0);
    /* The pod patch arrives before the node's lock: not counting yet, the
     * reservation stands. */
    struct model_pod_info pi = pod(NULL, "n1", DEV1, FRESH, 1, one_gpu);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 3000);
    ck_assert_int_eq(cache_reservation(c, "uid-p", T0, &a), 0);
    cache_assumed_free(&a);
    /* The lock arrives, then the patch again: the window counts. */
    cache_node_put(c, node("p", 1));
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 3000);
    ck_assert_int_eq(cache_reservation(c, "uid-p", T0, &a), ERR_NOTFOUND);
    /* Bound. */
    pi.node_name = "n1";
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(used(c), 3000);
    cache_destroy(c);
}
END_TEST

/* Item 4: a uid already placed is not reserved again; a pending one is. */
START_TEST(placed_uid_is_not_reassumed)
{
    struct cache *c = new_cache("p", 10);
    struct policy_pod rq = request("uid-p");
    struct policy_opts o = opts();
    struct cache_assumed a;
    char err[256];
    /* In its bind window (a restart cut our bind short): a new filter may
     * take it over. */
    struct model_pod_info pi = pod(NULL, "n1", DEV1, FRESH, 1, one_gpu);
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert_int_eq(place_assume(c, &rq, "n1", &o, T0, 30, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(used(c), 3000);
    /* Bound: refused, and its usage stays. */
    pi.node_name = "n1";
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
    ck_assert(!cache_forget(c, "uid-p"));
    ck_assert_int_eq(place_assume(c, &rq, "n1", &o, T0, 30, &a, err, sizeof err), ERR_CONFLICT);
    ck_assert_msg(strstr(err, "pod uid uid-p is already placed on node n1"), "%s", err);
    ck_assert_int_eq(used(c), 3000);
    cache_destroy(c);
}
END_TEST

/* model_pod_info: what a pod owner writes never drops the pod. */
static const struct {
    const char *what, *anns;
    int rc;
    bool has_phase, devices_bad;
    double bind_time;
} info_cases[] = {
    {"plain", "\"hami.io/bind-phase\":\"success\",\"hami.io/bind-time\":\"1700000000\"", 0, true,
     false, 1700000000},
    {"1 KiB bind-phase", "\"hami.io/bind-phase\":\"@1024\"", 0, false, false, 0},
    {"bind-time not a number", "\"hami.io/bind-time\":\"soon\"", 0, false, false, 0},
    {"devices over 64 KiB", "\"hami.io/vgpu-devices-allocated\":\"@70000\"", 0, false, true, 0},
    {"vgpu-node over 253 bytes", "\"hami.io/vgpu-node\":\"@300\"", 0, false, false, 0},
};

START_TEST(pod_info_owner_annotations)
{
    __typeof__(info_cases[0]) *k = &info_cases[_i];
    char *anns = malloc(80000), *json = malloc(90000), err[256];
    const char *at = strchr(k->anns, '@');
    if (at) { /* "@N": N bytes of 'x' */
        int n = atoi(at + 1);
        snprintf(anns, 80000, "%.*s", (int)(at - k->anns), k->anns);
        memset(anns + strlen(anns), 'x', (size_t)n);
        snprintf(anns + (at - k->anns) + n, 80000 - (size_t)((at - k->anns) + n), "\"");
    } else {
        snprintf(anns, 80000, "%s", k->anns);
    }
    snprintf(json, 90000,
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u\","
             "\"annotations\":{%s}},\"spec\":{\"nodeName\":\"n1\",\"initContainers\":[{\"name\":"
             "\"i\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\"}}}],\"containers\":["
             "{\"name\":\"a\"},{\"name\":\"b\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":"
             "\"2\",\"nvidia.com/gpumem\":\"3000\",\"nvidia.com/gpucores\":\"30\"}}},{\"name\":"
             "\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"40\"}}}]}}",
             anns);
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    struct model_pod_info pi;
    int rc = model_pod_info(j, &pi, err, sizeof err);
    ck_assert_msg(rc == k->rc, "%s: %d %s", k->what, rc, err);
    ck_assert_msg((pi.bind_phase != NULL) == k->has_phase, "%s: bind_phase", k->what);
    ck_assert_msg(pi.devices_bad == k->devices_bad, "%s: devices_bad", k->what);
    ck_assert_msg(pi.bind_time == k->bind_time, "%s: bind_time %f", k->what, pi.bind_time);
    ck_assert_str_eq(pi.node_name, "n1");
    /* The request: the init container (whole card by default), b, and c
     * whose count is out of range (whole cards, at most 16). */
    ck_assert_int_eq(pi.nctr, 4);
    ck_assert_int_eq(pi.nask, 3);
    ck_assert_int_eq(pi.ask[0].ctr, 0);
    ck_assert_int_eq(pi.ask[0].mem_pct, 100);
    ck_assert_int_eq(pi.ask[1].ctr, 2);
    ck_assert_int_eq(pi.ask[1].nums, 2);
    ck_assert_int_eq(pi.ask[1].mem, 3000);
    ck_assert_int_eq(pi.ask[1].cores, 30);
    ck_assert_int_eq(pi.ask[2].ctr, 3);
    ck_assert_int_eq(pi.ask[2].nums, POLICY_MAX_GPUS);
    ck_assert_int_eq(pi.ask[2].mem_pct, 100);
    cJSON_Delete(j);
    free(anns);
    free(json);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("accounting");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, what_counts, 0, NCASES);
    tcase_add_loop_test(tc, collapse_rule, 0, NCOLLAPSE);
    tcase_add_test(tc, window_follows_lock_and_time);
    tcase_add_test(tc, reported_before_its_node);
    tcase_add_test(tc, reservation_until_a_counting_version);
    tcase_add_test(tc, placed_uid_is_not_reassumed);
    tcase_add_loop_test(tc, pod_info_owner_annotations, 0,
                        (int)(sizeof info_cases / sizeof info_cases[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

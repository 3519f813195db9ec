/* The cache: usage as the sum of pods and reservations, expiry, the
 * authoritative API version, orphans, pending pods, snapshots; and hmap. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/hmap.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/codec.h"
#include "tests/support/harness.h"

/* A node with n GPUs "<name>-g<i>" of 10 slots, 10000 MiB, 100 cores. */
static struct model_inventory *node(const char *name, const char *rv, int n)
{
    char reg[2048] = "[", json[4096], err[256];
    for (int i = 0; i < n; i++) {
        size_t l = strlen(reg);
        snprintf(reg + l, sizeof reg - l,
                 "%s{\\\"id\\\":\\\"%s-g%d\\\",\\\"count\\\":10,\\\"devmem\\\":10000,"
                 "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\",\\\"health\\\":true,"
                 "\\\"index\\\":%d}",
                 i ? "," : "", name, i, i);
    }
    strcat(reg, "]");
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"%s\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"%s\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"8\",\"memory\":\"32Gi\"}}}",
             name, rv, reg);
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

/* A pod bound to node_name (NULL: pending) whose spec asks what its
 * devices annotation gives it: per container, as many GPUs as it names, of
 * the first one's memory and cores (a malformed annotation: one GPU). */
static struct model_pod_info pod(const char *uid, const char *node_name, const char *devices)
{
    struct model_pod_info pi = {.uid = uid,
                                .ns = "default",
                                .name = uid,
                                .vgpu_node = devices ? node_name : NULL,
                                .node_name = node_name,
                                .devices = devices,
                                .nctr = 1,
                                .cpu_milli = 1000,
                                .mem_mib = 512};
    struct codec_devices *d = malloc(sizeof *d);
    char err[128];
    if (devices && codec_decode(devices, d, err, sizeof err) == 0) {
        pi.nctr = d->nctr > 0 ? d->nctr : 1;
        for (int i = 0; i < d->n; i++) {
            struct model_gpu_ask *a = pi.nask ? &pi.ask[pi.nask - 1] : NULL;
            if (!a || a->ctr != d->e[i].ctr) {
                a = &pi.ask[pi.nask++];
                *a = (struct model_gpu_ask){.ctr = (uint8_t)d->e[i].ctr,
                                            .mem = (int32_t)d->e[i].mem,
                                            .cores = (uint8_t)d->e[i].cores};
            }
            a->nums++;
        }
    } else if (devices) {
        pi.nask = 1;
        pi.ask[0] = (struct model_gpu_ask){.nums = 1, .mem = 500, .cores = 5};
    }
    free(d);
    return pi;
}

/* A request for one GPU with mem MiB and cores %. */
static struct policy_pod req(const char *uid, int mem, int cores)
{
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.uid = uid;
    p.ns = "default";
    p.name = uid;
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem = mem, .cores = cores};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    return p;
}

static struct policy_opts opts(void)
{
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
    return o;
}

/* Usage of GPU i on node name: returns mem; *used and *cores too. */
static int64_t usage(struct cache *c, const char *name, int i, int *used, int *cores)
{
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, name);
    ck_assert_ptr_nonnull(v);
    struct policy_usage u = v->use[i];
    cache_unlock(c);
    if (used)
        *used = u.used;
    if (cores)
        *cores = u.cores;
    return u.mem;
}

START_TEST(hmap_many)
{
    struct hmap *m = hmap_create();
    static char keys[5000][16];
    for (int i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        ck_assert_ptr_null(hmap_put(m, keys[i], keys[i]));
    }
    ck_assert_uint_eq(hmap_count(m), 5000);
    for (int i = 0; i < 5000; i += 3)
        ck_assert_ptr_eq(hmap_del(m, keys[i]), keys[i]);
    for (int i = 0; i < 5000; i++)
        ck_assert_ptr_eq(hmap_get(m, keys[i]), i % 3 ? keys[i] : NULL);
    ck_assert_ptr_null(hmap_del(m, "nope"));
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    while (hmap_next(m, &it, &k, &v)) {
        ck_assert_ptr_eq(k, v);
        n++;
    }
    ck_assert_uint_eq(n, hmap_count(m));
    ck_assert_ptr_eq(hmap_put(m, keys[1], keys[2]), keys[1]); /* replace */
    hmap_destroy(m);
}
END_TEST

START_TEST(usage_from_pods)
{
    struct cache *c = cache_create();
    char err[256];
    cache_node_put(c, node("n1", "1", 2));
    struct model_pod_info a = pod("a", "n1", "n1-g0,NVIDIA,3000,30:;");
    struct model_pod_info b = pod("b", "n1", "n1-g0,NVIDIA,1000,10:n1-g1,NVIDIA,1000,10:;");
    ck_assert_int_eq(cache_pod_put(c, &a, err, sizeof err), 0);
    ck_assert_int_eq(cache_pod_put(c, &b, err, sizeof err), 0);
    int used, cores;
    ck_assert_int_eq(usage(c, "n1", 0, &used, &cores), 4000);
    ck_assert_int_eq(used, 2);
    ck_assert_int_eq(cores, 40);
    ck_assert_int_eq(usage(c, "n1", 1, &used, NULL), 1000);
    /* The same pod again does not count twice. */
    ck_assert_int_eq(cache_pod_put(c, &a, err, sizeof err), 0);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    /* It ends: its share is freed. */
    a.terminal = true;
    ck_assert_int_eq(cache_pod_put(c, &a, err, sizeof err), 0);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 1000);
    cache_pod_del(c, "b");
    ck_assert_int_eq(usage(c, "n1", 0, &used, NULL), 0);
    ck_assert_int_eq(used, 0);
    /* A malformed annotation counts the pod's request instead, and says so. */
    struct model_pod_info bad = pod("bad", "n1", "n1-g0,NVIDIA,x,1:;");
    ck_assert_int_eq(cache_pod_put(c, &bad, err, sizeof err), ERR_INVAL);
    ck_assert(strstr(err, "does not parse") != NULL);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL) + usage(c, "n1", 1, NULL, NULL), 500);
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_uint_eq(st.bad_pods, 1);
    cache_pod_del(c, "bad");
    cache_stats(c, &st);
    ck_assert_uint_eq(st.bad_pods, 0);
    cache_destroy(c);
}
END_TEST

START_TEST(reservations)
{
    struct cache *c = cache_create();
    struct policy_opts o = opts();
    struct cache_assumed a;
    char err[256];
    cache_node_put(c, node("n1", "1", 1));
    struct policy_pod p = req("p1", 4000, 40);

    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 100, 60, &a, err, sizeof err), 0);
    ck_assert_str_eq(a.node, "n1");
    ck_assert_str_eq(a.devices, "n1-g0,NVIDIA,4000,40:;");
    cache_assumed_free(&a);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    /* A second filter of the same pod replaces, never adds. */
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 101, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    /* Others cannot overbook: 4000 + 4000 fits, a third does not. */
    struct policy_pod q = req("p2", 4000, 40), r = req("p3", 4000, 10);
    ck_assert_int_eq(place_assume(c, &q, "n1", &o, 101, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(place_assume(c, &r, "n1", &o, 101, 60, &a, err, sizeof err), ERR_NOFIT);
    ck_assert(strstr(err, "CardInsufficientMemory") != NULL);
    ck_assert_int_eq(place_assume(c, &r, "nx", &o, 101, 60, &a, err, sizeof err), ERR_NOTFOUND);
    /* Lookups honour the time. */
    ck_assert_int_eq(cache_reservation(c, "p1", 150, &a), 0);
    ck_assert_str_eq(a.node, "n1");
    cache_assumed_free(&a);
    ck_assert_int_eq(cache_reservation(c, "p1", 500, &a), ERR_NOTFOUND);
    /* p2 is bound: it stays; p1 expires. */
    ck_assert_int_eq(cache_commit(c, "p2"), 0);
    ck_assert_int_eq(cache_expire(c, 200), 1);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    ck_assert_int_eq(cache_reservation(c, "p2", 1e9, &a), 0);
    cache_assumed_free(&a);
    /* Forget drops an uncommitted reservation and nothing else: the bound
     * p2 stays until the API's version replaces it. */
    ck_assert(!cache_forget(c, "p2"));
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    /* ... and its uid cannot be reserved again. */
    ck_assert_int_eq(place_assume(c, &q, "n1", &o, 300, 60, &a, err, sizeof err), ERR_CONFLICT);
    ck_assert_msg(strstr(err, "uid p2 is already placed on node n1"), "%s", err);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    ck_assert_int_eq(place_assume(c, &r, "n1", &o, 300, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert(cache_forget(c, "p3"));
    ck_assert(!cache_forget(c, "p3"));
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 4000);
    cache_destroy(c);
}
END_TEST

/* Reservations are bounded in bytes: past the bound the oldest
 * uncommitted ones are evicted (their shares freed, counted), a committed
 * one never is; unset, the bound follows the node count. Before: every
 * free share could hold a reservation until its TTL. */
START_TEST(reservations_bounded)
{
    struct cache *c = cache_create();
    struct policy_opts o = opts();
    struct cache_assumed a;
    struct cache_stats st;
    char err[256], uid[32];
    cache_node_put(c, node("n1", "1", 4));
    cache_stats(c, &st);
    ck_assert_uint_eq(st.reservations_bytes_max, CACHE_RESV_BYTES_MIN);
    struct policy_pod p = req("r0", 100, 1);
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 100, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(cache_commit(c, "r0"), 0); /* bound: never evicted */
    p = req("r1", 100, 1);
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 100, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    cache_stats(c, &st);
    size_t one = st.reservations_bytes; /* r1's record */
    cache_reservation_limit(c, 3 * one);
    for (int i = 2; i < 8; i++) {
        snprintf(uid, sizeof uid, "r%d", i);
        p = req(uid, 100, 1);
        ck_assert_int_eq(place_assume(c, &p, "n1", &o, 100 + i, 60, &a, err, sizeof err), 0);
        cache_assumed_free(&a);
    }
    cache_stats(c, &st);
    ck_assert_uint_eq(st.reservations, 3);
    ck_assert_uint_le(st.reservations_bytes, 3 * one);
    ck_assert_uint_eq(st.reservations_evicted, 4);
    ck_assert_int_eq(cache_reservation(c, "r1", 110, &a), ERR_NOTFOUND); /* the oldest went */
    ck_assert_int_eq(cache_reservation(c, "r4", 110, &a), ERR_NOTFOUND);
    ck_assert_int_eq(cache_reservation(c, "r5", 110, &a), 0);
    cache_assumed_free(&a);
    ck_assert_int_eq(cache_reservation(c, "r0", 110, &a), 0); /* committed: kept */
    cache_assumed_free(&a);
    /* the shares of the evicted are free: r0 and r5..r7 count, 100 MiB each */
    int total = 0;
    for (int d = 0; d < 4; d++)
        total += usage(c, "n1", d, NULL, NULL);
    ck_assert_int_eq(total, 400);
    /* expiry after eviction keeps the list whole */
    ck_assert_int_eq(cache_expire(c, 1000), 3);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.reservations, 0);
    ck_assert_uint_eq(st.reservations_bytes, 0);
    p = req("r9", 100, 1);
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 1001, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    cache_reservation_limit(c, 0);
    cache_destroy(c);
}
END_TEST

START_TEST(api_version_is_authoritative)
{
    struct cache *c = cache_create();
    struct policy_opts o = opts();
    struct cache_assumed a;
    char err[256];
    cache_node_put(c, node("n1", "1", 2));
    struct policy_pod p = req("p1", 2000, 20);
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 0, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    /* An update that shows no placement yet leaves the reservation. */
    struct model_pod_info pending = pod("p1", NULL, NULL);
    ck_assert_int_eq(cache_pod_put(c, &pending, err, sizeof err), 0);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL) + usage(c, "n1", 1, NULL, NULL), 2000);
    /* The placed version replaces it: counted once, where the API says. */
    struct model_pod_info placed = pod("p1", "n1", "n1-g1,NVIDIA,2000,20:;");
    ck_assert_int_eq(cache_pod_put(c, &placed, err, sizeof err), 0);
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 0);
    ck_assert_int_eq(usage(c, "n1", 1, NULL, NULL), 2000);
    ck_assert_int_eq(cache_expire(c, 1e9), 0); /* no longer a reservation */
    ck_assert(!cache_forget(c, "p1"));
    cache_destroy(c);
}
END_TEST

START_TEST(nodes_come_and_go)
{
    struct cache *c = cache_create();
    char err[256];
    struct model_pod_info a = pod("a", "n1", "n1-g0,NVIDIA,3000,30:;");
    ck_assert_int_eq(cache_pod_put(c, &a, err, sizeof err), 0); /* before its node */
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_uint_eq(st.orphans, 1);
    cache_node_put(c, node("n1", "1", 1));
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 3000);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.orphans, 0);
    /* A new version of the node: usage rebuilt, not doubled. */
    cache_node_put(c, node("n1", "2", 2));
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 3000);
    ck_assert_int_eq(usage(c, "n1", 1, NULL, NULL), 0);
    ck_assert(cache_node_current(c, "n1", "2"));
    ck_assert(!cache_node_current(c, "n1", "1"));
    ck_assert(!cache_node_current(c, "n1", ""));
    /* Gone and back. */
    cache_node_del(c, "n1");
    cache_rdlock(c);
    ck_assert_ptr_null(cache_view(c, "n1"));
    cache_unlock(c);
    cache_node_put(c, node("n1", "3", 1));
    ck_assert_int_eq(usage(c, "n1", 0, NULL, NULL), 3000);
    cache_stats(c, &st);
    ck_assert_uint_eq(st.nodes, 1);
    ck_assert_uint_eq(st.gpus, 1);
    ck_assert_int_eq(st.max_gpu_mem, 10000);
    cache_destroy(c);
}
END_TEST

START_TEST(pending_pods)
{
    struct cache *c = cache_create();
    char err[256];
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":1}", 100, 10), 0);
    char *s = cache_pending_get(c, "u1", 105);
    ck_assert_str_eq(s, "{\"a\":1}");
    free(s);
    ck_assert_ptr_null(cache_pending_get(c, "u1", 111));
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":2}", 100, 0), 0); /* forever now */
    s = cache_pending_get(c, "u1", 1e9);
    ck_assert_str_eq(s, "{\"a\":2}");
    free(s);
    cache_node_put(c, node("n1", "1", 1));
    struct model_pod_info placed = pod("u1", "n1", "n1-g0,NVIDIA,1,1:;");
    ck_assert_int_eq(cache_pod_put(c, &placed, err, sizeof err), 0);
    ck_assert_ptr_null(cache_pending_get(c, "u1", 0));
    cache_destroy(c);
}
END_TEST

START_TEST(inspect_shows_pods_per_gpu)
{
    struct cache *c = cache_create();
    struct policy_opts o = opts();
    struct cache_assumed a;
    char err[256];
    cache_node_put(c, node("n1", "1", 1));
    struct model_pod_info run = pod("run", "n1", "n1-g0,NVIDIA,1000,10:;");
    ck_assert_int_eq(cache_pod_put(c, &run, err, sizeof err), 0);
    struct policy_pod p = req("res", 2000, 20);
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 0, 60, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    cJSON *j = cache_inspect(c, 10);
    const cJSON *g = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "nodes"), 0), "gpus"), 0);
    ck_assert_int_eq(cJSON_GetObjectItem(g, "memUsedMiB")->valueint, 3000);
    ck_assert_int_eq(cJSON_GetObjectItem(g, "slotsUsed")->valueint, 2);
    const cJSON *pods = cJSON_GetObjectItem(g, "pods");
    ck_assert_int_eq(cJSON_GetArraySize(pods), 2);
    int reserved = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, pods)
    {
        if (strcmp(cJSON_GetObjectItem(it, "state")->valuestring, "reserved") == 0) {
            reserved++;
            ck_assert_int_eq(cJSON_GetObjectItem(it, "expiresInSeconds")->valueint, 50);
        }
    }
    ck_assert_int_eq(reserved, 1);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "reservations")->valueint, 1);
    cJSON_Delete(j);
    cache_destroy(c);
}
END_TEST

static const struct {
    const char *json;
    int rc, nodes, pods, skipped_nodes;
} snapshot_cases[] = {
    {"not json", ERR_INVAL},
    {"{\"kind\":\"List\"}", ERR_INVAL},
    {"[1,2]", ERR_INVAL},
    {"{\"kind\":\"List\",\"items\":[]}", 0, 0, 0, 0},
    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\"}},"
     "{\"kind\":\"Node\",\"metadata\":{\"name\":\"b\",\"annotations\":"
     "{\"hami.io/node-nvidia-register\":\"[{oops\"}}},"
     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"uid\":\"u\"},"
     "\"spec\":{\"nodeName\":\"a\",\"containers\":[{\"name\":\"c\"}]}}]}",
     0, 1, 1, 1},
    {"{\"kind\":\"NodeList\",\"items\":[{\"metadata\":{\"name\":\"a\"}}]}", 0, 1, 0, 0},
};

START_TEST(snapshot_json)
{
    struct cache *c = cache_create();
    struct snapshot_stats st;
    char err[256] = "";
    const char *j = snapshot_cases[_i].json;
    int rc = snapshot_load_json(c, j, strlen(j), &st, err, sizeof err);
    ck_assert_int_eq(rc, snapshot_cases[_i].rc);
    if (rc) {
        ck_assert(err[0] != '\0');
        ck_assert(!cache_ready(c));
    } else {
        ck_assert_int_eq(st.nodes, snapshot_cases[_i].nodes);
        ck_assert_int_eq(st.pods, snapshot_cases[_i].pods);
        ck_assert_int_eq(st.skipped_nodes, snapshot_cases[_i].skipped_nodes);
        ck_assert(cache_ready(c));
    }
    cache_destroy(c);
}
END_TEST

START_TEST(snapshot_missing_file)
{
    struct cache *c = cache_create();
    struct snapshot_stats st;
    char err[256];
    ck_assert_int_eq(snapshot_load(c, "/nonexistent/x.json", &st, err, sizeof err), ERR_IO);
    ck_assert(strstr(err, "/nonexistent/x.json") != NULL);
    cache_destroy(c);
}
END_TEST

/* cache_node_wait: a waiter is woken by a node put or removed, and not
 * before; without a change it returns at its deadline. */
struct node_waiter {
    struct cache *c;
    unsigned long seen;
    atomic_bool back;
};

static void *node_waiter_main(void *arg)
{
    struct node_waiter *w = arg;
    cache_node_wait(w->c, w->seen, clock_mono_s() + 60); /* far past any test's time */
    atomic_store(&w->back, true);
    return NULL;
}

/* Whether w came back within 10 s (polled). */
static bool waiter_back(struct node_waiter *w)
{
    for (int i = 0; i < 1000 && !atomic_load(&w->back); i++)
        clock_sleep_s(0.01);
    return atomic_load(&w->back);
}

START_TEST(node_wait)
{
    struct cache *c = cache_create();
    unsigned long n0 = cache_node_changes(c);
    double t0 = clock_mono_s();
    cache_node_wait(c, n0, t0 + 0.05); /* nothing changes: back at the deadline */
    ck_assert(clock_mono_s() >= t0 + 0.05);
    ck_assert_uint_eq(cache_node_changes(c), n0);

    for (int round = 0; round < 2; round++) { /* a put, then a removal */
        struct node_waiter w = {.c = c, .seen = cache_node_changes(c)};
        pthread_t t;
        ck_assert_int_eq(pthread_create(&t, NULL, node_waiter_main, &w), 0);
        clock_sleep_s(0.05);
        ck_assert(!atomic_load(&w.back)); /* nothing changed yet */
        if (round == 0)
            cache_node_put(c, node("n1", "1", 1));
        else
            cache_node_del(c, "n1");
        ck_assert_msg(waiter_back(&w), "a waiter was not woken by a node %s",
                      round ? "removed" : "put");
        pthread_join(t, NULL);
        ck_assert_uint_eq(cache_node_changes(c), w.seen + 1);
    }
    cache_node_wait(c, n0, clock_mono_s() + 60); /* a count already past: returns at once
                                                    (else the test's time runs out) */
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hmap_many);
    tcase_add_test(tc, usage_from_pods);
    tcase_add_test(tc, reservations);
    tcase_add_test(tc, reservations_bounded);
    tcase_add_test(tc, api_version_is_authoritative);
    tcase_add_test(tc, nodes_come_and_go);
    tcase_add_test(tc, pending_pods);
    tcase_add_test(tc, inspect_shows_pods_per_gpu);
    tcase_add_loop_test(tc, snapshot_json, 0, sizeof snapshot_cases / sizeof snapshot_cases[0]);
    tcase_add_test(tc, snapshot_missing_file);
    tcase_add_test(tc, node_wait);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* The cache against hostile values: core sums near INT32_MAX, NULL uids,
 * and the pending-pod store bounded in entries and bytes (evicting the
 * oldest, the bound following the node count), swept on time. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hmap.h"
#include "k8s/cache.h"
#include "tests/support/harness.h"

/* A node "n1" with one GPU "n1-g0": 10 slots, 10000 MiB, 100 cores. */
static struct model_inventory *node1(void)
{
    const char *json =
        "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"1\","
        "\"annotations\":{\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"n1-g0\\\","
        "\\\"count\\\":10,\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"T4\\\","
        "\\\"health\\\":true,\\\"index\\\":0}]\"}},"
        "\"status\":{\"allocatable\":{\"cpu\":\"8\",\"memory\":\"32Gi\"}}}";
    char err[256];
    cJSON *j = cJSON_Parse(json);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

/* A pod bound to n1 with the given devices annotation; its one container
 * asks `gpus` GPUs (the cache counts only pods whose spec asks GPUs). */
static struct model_pod_info bound(const char *uid, const char *devices, int gpus)
{
    struct model_pod_info pi = {.uid = uid,
                                .ns = "default",
                                .name = uid,
                                .vgpu_node = "n1",
                                .node_name = "n1",
                                .devices = devices,
                                .bind_phase = "success",
                                .nctr = 1,
                                .nask = 1};
    pi.ask[0] = (struct model_gpu_ask){.ctr = 0, .nums = (uint8_t)gpus, .mem = 1};
    return pi;
}

static int32_t cores0(struct cache *c)
{
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, "n1");
    ck_assert_ptr_nonnull(v);
    int32_t cores = v->use[0].cores;
    cache_unlock(c);
    return cores;
}

/* Two pods of INT32_MAX cores each on one GPU: the sum saturates in the
 * view and stays exact underneath (before: an int32 overflow, fatal under
 * UBSan). */
START_TEST(core_sums_across_pods)
{
    struct cache *c = cache_create();
    char err[256];
    cache_node_put(c, node1());
    struct model_pod_info a = bound("a", "n1-g0,NVIDIA,1,2147483647:;", 1);
    struct model_pod_info b = bound("b", "n1-g0,NVIDIA,1,2147483647:;", 1);
    struct model_pod_info s = bound("s", "n1-g0,NVIDIA,1,5:;", 1);
    ck_assert_int_eq(cache_pod_put(c, &a, err, sizeof err), 0);
    ck_assert_int_eq(cache_pod_put(c, &b, err, sizeof err), 0);
    ck_assert_int_eq(cores0(c), INT32_MAX);
    ck_assert_int_eq(cache_pod_put(c, &s, err, sizeof err), 0);
    cache_pod_del(c, "a");
    ck_assert_int_eq(cores0(c), INT32_MAX);
    cache_pod_del(c, "b");
    ck_assert_int_eq(cores0(c), 5);
    cache_pod_del(c, "s");
    ck_assert_int_eq(cores0(c), 0);
    cache_destroy(c);
}
END_TEST

/* An annotation whose cores add up past INT32_MAX is a range error. */
START_TEST(core_sum_annotation_refused)
{
    struct cache *c = cache_create();
    char err[256] = "";
    cache_node_put(c, node1());
    struct model_pod_info a = bound("a", "n1-g0,NVIDIA,1,2147483647:n1-g0,NVIDIA,1,1:;", 2);
    cache_pod_put(c, &a, err, sizeof err);
    struct cache_stats st;
    cache_stats(c, &st);
    ck_assert_uint_eq(st.bad_pods, 1);
    cache_destroy(c);
}
END_TEST

/* NULL keys are absent, not a crash. */
START_TEST(null_uid)
{
    struct cache *c = cache_create();
    struct cache_assumed a;
    ck_assert(!cache_forget(c, NULL));
    ck_assert_int_eq(cache_reservation(c, NULL, 0, &a), ERR_NOTFOUND);
    ck_assert_int_eq(cache_commit(c, NULL), ERR_NOTFOUND);
    cache_pod_del(c, NULL);
    ck_assert_ptr_null(cache_pending_get(c, NULL, 0));
    ck_assert_int_eq(cache_pending_put(c, NULL, "{}", 0, 10), ERR_INVAL);
    struct hmap *m = hmap_create();
    ck_assert_ptr_null(hmap_get(m, NULL));
    ck_assert_ptr_null(hmap_del(m, NULL));
    hmap_destroy(m);
    cache_destroy(c);
}
END_TEST

static size_t pending(struct cache *c)
{
    struct cache_stats st;
    cache_stats(c, &st);
    return st.pending;
}

static size_t pending_bytes(struct cache *c)
{
    struct cache_stats st;
    cache_stats(c, &st);
    return st.pending_bytes;
}

static size_t pending_stat(struct cache *c, int which)
{
    struct cache_stats st;
    cache_stats(c, &st);
    return which == 0 ? st.pending_evicted : st.pending_bytes_max;
}

static bool held(struct cache *c, const char *uid, double now)
{
    char *s = cache_pending_get(c, uid, now);
    free(s);
    return s != NULL;
}

#define E CACHE_PENDING_ENTRY_BYTES

/* The byte count is exact: each entry holds uid and JSON with their NULs
 * and E of bookkeeping; a replacement counts its new size, a drop gives its
 * bytes back. */
START_TEST(pending_bytes_counted)
{
    struct cache *c = cache_create();
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":1}", 0, 10), 0); /* 3 + 8 */
    ck_assert_uint_eq(pending_bytes(c), 11 + E);
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":12}", 0, 10), 0); /* replaced */
    ck_assert_uint_eq(pending_bytes(c), 12 + E);
    ck_assert_int_eq(cache_pending_put(c, "u2", "{\"b\":2}", 0, 0), 0);
    ck_assert_uint_eq(pending_bytes(c), 23 + 2 * E);
    cache_pod_del(c, "u2");
    ck_assert_uint_eq(pending_bytes(c), 12 + E);
    cache_expire(c, 100);
    ck_assert_uint_eq(pending(c), 0);
    ck_assert_uint_eq(pending_bytes(c), 0);
    cache_destroy(c);
}
END_TEST

/* Full, the store evicts the entries put longest ago (a put again counts
 * as new), remembers their uids, and counts them; an entry bigger than the
 * whole bound is refused and evicts nothing. Before: a full store refused
 * every new pod, however stale the ones it held. */
START_TEST(pending_evicts_oldest)
{
    struct cache *c = cache_create();
    cache_pending_limits(c, 0, 3 * (11 + E)); /* three entries of "uN" + 8 bytes */
    ck_assert_uint_eq(pending_stat(c, 1), 3 * (11 + E));
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":1}", 0, 100), 0);
    ck_assert_int_eq(cache_pending_put(c, "u2", "{\"a\":2}", 1, 100), 0);
    ck_assert_int_eq(cache_pending_put(c, "u3", "{\"a\":3}", 2, 0), 0);
    ck_assert_int_eq(cache_pending_put(c, "u4", "{\"a\":4}", 3, 100), 0);
    ck_assert(!held(c, "u1", 3));
    ck_assert(cache_pending_evicted(c, "u1"));
    ck_assert(!cache_pending_evicted(c, "u2"));
    ck_assert(!cache_pending_evicted(c, "never"));
    ck_assert_uint_eq(pending_stat(c, 0), 1);
    ck_assert_uint_eq(pending(c), 3);
    /* u2 put again is the newest: u3 goes next, forever or not */
    ck_assert_int_eq(cache_pending_put(c, "u2", "{\"a\":2}", 4, 100), 0);
    ck_assert_int_eq(cache_pending_put(c, "u5", "{\"a\":5}", 5, 100), 0);
    ck_assert(!held(c, "u3", 5));
    ck_assert(held(c, "u2", 5) && held(c, "u4", 5) && held(c, "u5", 5));
    ck_assert_uint_eq(pending_stat(c, 0), 2);
    /* u1 put again is no longer evicted */
    ck_assert_int_eq(cache_pending_put(c, "u1", "{\"a\":1}", 6, 100), 0);
    ck_assert(!cache_pending_evicted(c, "u1"));
    ck_assert(cache_pending_evicted(c, "u3"));
    ck_assert_uint_le(pending_bytes(c), 3 * (11 + E));
    /* bigger than the bound alone: refused, nothing evicted */
    char big[4 * E];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(cache_pending_put(c, "huge", big, 7, 100), ERR_TOOBIG);
    ck_assert_uint_eq(pending(c), 3);
    ck_assert_uint_eq(pending_stat(c, 0), 3);
    /* a replacement that grows evicts others, never itself */
    ck_assert_int_eq(cache_pending_put(c, "u4", "{\"a\":\"0123456789\"}", 8, 100), 0);
    ck_assert(held(c, "u4", 8));
    ck_assert_uint_le(pending_bytes(c), 3 * (11 + E));
    /* the entry count bound evicts too */
    cache_pending_limits(c, 1, 0);
    ck_assert_int_eq(cache_pending_put(c, "u6", "{}", 9, 0), 0);
    ck_assert_uint_eq(pending(c), 1);
    ck_assert(held(c, "u6", 9));
    cache_destroy(c);
}
END_TEST

/* Node "nI" with one GPU. */
static struct model_inventory *node_i(int i)
{
    char json[1024], err[256];
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"metadata\":{\"name\":\"n%d\",\"resourceVersion\":\"1\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"n%d-g0\\\","
             "\\\"count\\\":10,\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"T4\\\","
             "\\\"health\\\":true,\\\"index\\\":0}]\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"8\",\"memory\":\"32Gi\"}}}",
             i, i);
    cJSON *j = cJSON_Parse(json);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

/* Unset, the bound follows the node count with a floor, and a store
 * filled at the floor is held to it whatever is put. */
START_TEST(pending_bound_follows_nodes)
{
    struct cache *c = cache_create();
    char uid[32], json[600];
    ck_assert_uint_eq(pending_stat(c, 1), CACHE_PENDING_BYTES_MIN);
    memset(json, 'x', sizeof json - 1);
    json[sizeof json - 1] = '\0';
    for (int i = 0; i < 10000; i++) { /* about 7 MB offered */
        snprintf(uid, sizeof uid, "u%d", i);
        ck_assert_int_eq(cache_pending_put(c, uid, json, i, 1e6), 0);
    }
    ck_assert_uint_le(pending_bytes(c), CACHE_PENDING_BYTES_MIN);
    ck_assert_uint_gt(pending_bytes(c), CACHE_PENDING_BYTES_MIN - 1000);
    ck_assert_uint_eq(pending_stat(c, 0), 10000 - pending(c));
    ck_assert(held(c, "u9999", 9999));
    size_t nodes = CACHE_PENDING_BYTES_MIN / CACHE_PENDING_BYTES_PER_NODE + 100;
    for (size_t i = 0; i < nodes; i++)
        cache_node_put(c, node_i((int)i));
    ck_assert_uint_eq(pending_stat(c, 1), nodes * CACHE_PENDING_BYTES_PER_NODE);
    cache_node_del(c, "n0");
    ck_assert_uint_eq(pending_stat(c, 1), (nodes - 1) * CACHE_PENDING_BYTES_PER_NODE);
    cache_destroy(c);
}
END_TEST

/* Entries past their time go as time passes, long before the count cap. */
START_TEST(pending_swept_on_time)
{
    struct cache *c = cache_create();
    char uid[32];
    for (int i = 0; i < 100; i++) {
        snprintf(uid, sizeof uid, "u%d", i);
        ck_assert_int_eq(cache_pending_put(c, uid, "{}", 0, 10), 0);
    }
    ck_assert_int_eq(cache_pending_put(c, "forever", "{}", 0, 0), 0);
    ck_assert_uint_eq(pending(c), 101);
    ck_assert_uint_eq(pending_bytes(c), 10 * 6 + 90 * 7 + 8 + 3 + 101 * E);
    ck_assert_int_eq(cache_pending_put(c, "late", "{}", 100, 10), 0); /* a put sweeps */
    ck_assert_uint_eq(pending(c), 2);
    ck_assert_uint_eq(pending_bytes(c), 8 + 3 + 5 + 3 + 2 * E);
    cache_expire(c, 200); /* so does the expiry of reservations */
    ck_assert_uint_eq(pending(c), 1);
    char *s = cache_pending_get(c, "forever", 1e9);
    ck_assert_str_eq(s, "{}");
    free(s);
    ck_assert_uint_eq(pending_stat(c, 0), 0); /* expiry is not eviction */
    cache_destroy(c);
}
END_TEST

/* Eight 16 MiB pods under a 64 MiB bound: the oldest make room, then all
 * expire: nothing left behind. */
START_TEST(pending_big_pods_expire)
{
    struct cache *c = cache_create();
    size_t len = (size_t)16 << 20;
    char *json = malloc(len + 1), uid[32];
    memset(json, ' ', len);
    json[0] = '{';
    json[len - 1] = '}';
    json[len] = '\0';
    cache_pending_limits(c, 0, (size_t)64 << 20);
    for (int i = 0; i < 8; i++) {
        snprintf(uid, sizeof uid, "big%d", i);
        ck_assert_int_eq(cache_pending_put(c, uid, json, i, 60), 0);
    }
    ck_assert_uint_eq(pending(c), 3);
    ck_assert_uint_eq(pending_stat(c, 0), 5);
    ck_assert_uint_eq(pending_bytes(c), 3 * (5 + len + 1 + E));
    cache_expire(c, 1000);
    ck_assert_uint_eq(pending(c), 0);
    ck_assert_uint_eq(pending_bytes(c), 0);
    free(json);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache-limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, core_sums_across_pods);
    tcase_add_test(tc, core_sum_annotation_refused);
    tcase_add_test(tc, null_uid);
    tcase_add_test(tc, pending_swept_on_time);
    tcase_add_test(tc, pending_bytes_counted);
    tcase_add_test(tc, pending_evicts_oldest);
    tcase_add_test(tc, pending_bound_follows_nodes);
    tcase_add_test(tc, pending_big_pods_expire);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

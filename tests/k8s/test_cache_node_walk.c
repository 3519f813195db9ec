/* The per-node walks (cache_node_gpus, cache_node_pod_ann), which HAMi's
 * metrics use to hold the read lock per node, see exactly what the whole
 * walks (cache_foreach_gpu, cache_foreach_pod_ann) see, node by node; an
 * unknown node gives nothing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "tests/support/harness.h"

/* Node name with two GPUs <name>-g0 and <name>-g1. */
static struct model_inventory *node(const char *name)
{
    char json[2048], err[256];
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"resourceVersion\":\"1\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"%s-g0\\\","
             "\\\"count\\\":10,\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"T4\\\","
             "\\\"health\\\":true,\\\"index\\\":0},{\\\"id\\\":\\\"%s-g1\\\",\\\"count\\\":10,"
             "\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"T4\\\","
             "\\\"health\\\":true,\\\"index\\\":1}]\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"8\",\"memory\":\"32Gi\"}}}",
             name, name, name);
    cJSON *j = cJSON_Parse(json);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

static void put_pod(struct cache *c, const char *uid, const char *node_name, const char *devices)
{
    struct model_pod_info pi = {.uid = uid,
                                .ns = "default",
                                .name = uid,
                                .vgpu_node = node_name,
                                .node_name = node_name,
                                .devices = devices,
                                .bind_phase = "success",
                                .nctr = 1,
                                .nask = 1};
    char err[256];
    pi.ask[0] = (struct model_gpu_ask){.ctr = 0, .nums = 1, .mem = 1};
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
}

static void gpu_text(void *ctx, const char *node_name, const struct policy_device *d,
                     const struct policy_usage *u)
{
    buf_printf(ctx, "%s %s %lld %d\n", node_name, d->uuid, (long long)u->mem, (int)u->used);
}

static void pod_text(void *ctx, const char *ns, const char *name, const char *node_name,
                     const char *value, const struct policy_device *dev, int ndev)
{
    buf_printf(ctx, "%s/%s %s %s %d\n", ns, name, node_name, value, ndev > 0 ? dev[0].index : -1);
}

START_TEST(per_node_walks_match_the_whole)
{
    struct cache *c = cache_create();
    const char *names[] = {"n1", "n2", "n3"};
    for (int i = 0; i < 3; i++)
        cache_node_put(c, node(names[i]));
    put_pod(c, "a", "n1", "n1-g0,NVIDIA,1000,10:;");
    put_pod(c, "b", "n1", "n1-g1,NVIDIA,2000,20:;");
    put_pod(c, "c", "n3", "n3-g0,NVIDIA,3000,30:;");

    struct buf whole = BUF_INIT(1 << 20), each = BUF_INIT(1 << 20);
    cache_foreach_gpu(c, gpu_text, &whole);
    cache_foreach_pod_ann(c, CACHE_POD_DEVICES, pod_text, &whole);
    size_t n = 0;
    char **order = cache_node_names(c, &n);
    ck_assert_uint_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        cache_node_gpus(c, order[i], gpu_text, &each);
    for (size_t i = 0; i < n; i++)
        cache_node_pod_ann(c, order[i], CACHE_POD_DEVICES, pod_text, &each);
    ck_assert_str_eq(buf_str(&each), buf_str(&whole));
    ck_assert_ptr_nonnull(strstr(buf_str(&each), "default/b n1 n1-g1,NVIDIA,2000,20:;"));

    buf_reset(&each);
    cache_node_gpus(c, "no-such-node", gpu_text, &each);
    cache_node_pod_ann(c, "no-such-node", CACHE_POD_DEVICES, pod_text, &each);
    ck_assert_uint_eq(each.len, 0);

    for (size_t i = 0; i < n; i++)
        free(order[i]);
    free(order);
    buf_free(&whole);
    buf_free(&each);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache-node-walk");
    TCase *tc = tcase_create("walk");
    tcase_add_test(tc, per_node_walks_match_the_whole);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

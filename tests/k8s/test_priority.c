/* The cache's high-priority counts per device (policy_node.high): built
 * from the pods the source shows (model_pod_info.high) and from
 * reservations (policy_ctr.priority 0), gone with them. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "k8s/cache.h"
#include "place/place.h"
#include "tests/support/harness.h"

static struct model_inventory *node(void)
{
    char err[256];
    cJSON *j = cJSON_Parse(
        "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"nvidia.com/gpu.memory\":\"10000\"},"
        "\"annotations\":{\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"g0\\\",\\\"count\\\":"
        "10,\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\",\\\"health\\\":"
        "true,\\\"index\\\":0},{\\\"id\\\":\\\"g1\\\",\\\"count\\\":10,\\\"devmem\\\":10000,"
        "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\",\\\"health\\\":true,\\\"index\\\":1}]"
        "\"}}}");
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

static void high(struct cache *c, int *h0, int *h1)
{
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, "n1");
    ck_assert_ptr_nonnull(v->high);
    *h0 = v->high[0];
    *h1 = v->high[1];
    cache_unlock(c);
}

/* A bound pod with one container on g<dev>, high priority or not, plus a
 * plain init container (bit 0) of high priority on the other GPU. */
static void put(struct cache *c, const char *uid, int dev, bool hi)
{
    char devices[128], err[256];
    snprintf(devices, sizeof devices, "g%d,NVIDIA,1000,10:;g%d,NVIDIA,1000,10:;", 1 - dev, dev);
    struct model_pod_info pi = {.uid = uid,
                                .ns = "a",
                                .name = uid,
                                .node_name = "n1",
                                .devices = devices,
                                .ninit = 1,
                                .nctr = 2,
                                .nask = 2,
                                .high = 1 | (hi ? 2u : 0u)};
    pi.ask[0] = (struct model_gpu_ask){.ctr = 0, .nums = 1, .mem = 1000, .cores = 10};
    pi.ask[1] = (struct model_gpu_ask){.ctr = 1, .nums = 1, .mem = 1000, .cores = 10};
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
}

START_TEST(counts_follow_pods_and_reservations)
{
    struct cache *c = cache_create();
    int h0, h1;
    cache_node_put(c, node());
    put(c, "p1", 0, true);
    put(c, "p2", 0, true);
    put(c, "p3", 1, false);
    high(c, &h0, &h1);
    ck_assert_int_eq(h0, 2); /* the init containers do not count: they ran before */
    ck_assert_int_eq(h1, 0);
    /* The node again: rebuilt, not doubled. */
    cache_node_put(c, node());
    high(c, &h0, &h1);
    ck_assert_int_eq(h0, 2);
    cache_pod_del(c, "p1");
    high(c, &h0, &h1);
    ck_assert_int_eq(h0, 1);

    /* A reservation of a high-priority pod counts where it is placed. */
    struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.ns = "a";
    p.name = p.uid = "r1";
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c", .nums = 1, .mem = 1000, .cores = 5, .priority = 0};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    p.use_uuid = "g1";
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
    struct cache_assumed a = {0};
    char err[256];
    ck_assert_int_eq(place_assume(c, &p, "n1", &o, 1000, 30, &a, err, sizeof err), 0);
    cache_assumed_free(&a);
    high(c, &h0, &h1);
    ck_assert_int_eq(h1, 1);
    ck_assert_int_eq(cache_expire(c, 2000), 1);
    high(c, &h0, &h1);
    ck_assert_int_eq(h0, 1);
    ck_assert_int_eq(h1, 0);
    cache_destroy(c);
}
END_TEST

START_TEST(oversubscribed_from_the_label)
{
    static const struct {
        const char *labels;
        bool want;
    } cases[] = {
        {"{\"nvidia.com/gpu.memory\":\"8000\"}", true},   /* registers 10000 of 8000: scaled */
        {"{\"nvidia.com/gpu.memory\":\"10000\"}", false}, /* as the card has */
        {"{}", false},                                    /* nothing said */
        {"{\"nvidia.com/gpu.memory\":\"lots\"}", false},  /* nothing usable said */
        {"{\"nvidia.com/gpu.memory\":\"0\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024], err[256];
        snprintf(json, sizeof json,
                 "{\"metadata\":{\"name\":\"n\",\"labels\":%s,\"annotations\":{"
                 "\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"g0\\\",\\\"count\\\":10,"
                 "\\\"devmem\\\":10000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-T4\\\","
                 "\\\"health\\\":true,\\\"index\\\":0}]\"}}}",
                 cases[i].labels);
        cJSON *j = cJSON_Parse(json);
        struct model_inventory *inv = NULL;
        ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(inv->oversubscribed == cases[i].want, "labels %s", cases[i].labels);
        model_inventory_free(inv);
        cJSON_Delete(j);
    }
}
END_TEST

START_TEST(pod_priority_bits_and_spec_priority)
{
    char err[256];
    cJSON *j = cJSON_Parse(
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"a\",\"uid\":\"u\"},\"spec\":{"
        "\"priority\":1000000,\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{"
        "\"nvidia.com/gpu\":\"1\",\"nvidia.com/priority\":\"1\"}}},{\"name\":\"b\",\"resources\":"
        "{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/priority\":\"0\"}}}]}}");
    struct model_pod_info pi;
    ck_assert_int_eq(model_pod_info(j, &pi, err, sizeof err), 0);
    ck_assert_uint_eq(pi.high, 2);
    struct policy_pod p;
    ck_assert_int_eq(model_pod_parse(j, NULL, &p, err, sizeof err), 0);
    ck_assert_int_eq(p.spec_priority, 1000000);
    cJSON_Delete(j);
    /* A spec.priority that is no int32 is refused, by name. */
    j = cJSON_Parse("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"priority\":1e300,"
                    "\"containers\":[{\"name\":\"a\"}]}}");
    ck_assert_int_ne(model_pod_parse(j, NULL, &p, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "spec.priority"), "%s", err);
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache_priority");
    TCase *tc = tcase_create("priority");
    tcase_add_test(tc, counts_follow_pods_and_reservations);
    tcase_add_test(tc, oversubscribed_from_the_label);
    tcase_add_test(tc, pod_priority_bits_and_spec_priority);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

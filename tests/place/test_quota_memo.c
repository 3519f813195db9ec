/* Quotas and the verdict memo (place/): a quota that leaves more than the
 * pod could take anywhere does not change its verdicts, so they are reused
 * while the namespace's use moves; a quota that binds is checked exactly.
 * On tests/data/e2e/cluster.json (gpu-a: two 40000 MiB A100s, gpu-b: two
 * 16000 MiB T4s, cpu-1). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/device.h"
#include "tests/support/harness.h"

#define NOW 100.0

static const char *const names[] = {"gpu-a", "gpu-b", "cpu-1"};

static struct cache *cluster(int64_t quota_mem)
{
    char path[4096], err[512];
    harness_data_path("e2e/cluster.json", path, sizeof path);
    struct cache *c = cache_create();
    struct snapshot_stats st;
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    struct quota_limits l;
    quota_limits_none(&l);
    l.mem[quota_backend_index(policy_device_backend_default())] = quota_mem;
    cache_quota_put(c, "team", "gpu", &l);
    return c;
}

static struct place *placer(struct cache *c)
{
    struct place_opts o = {
        .mode = PLACE_SINGLE,
        .policy = {.node_policy = policy_node_policy_find("binpack"),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
        .defaults = {.mem_factor = 1},
        .ttl = 30,
    };
    return place_create(c, &o);
}

/* Filter pod uid (one GPU of 1000 MiB, namespace team); the chosen
 * index, and the reason of gpu-b in why. */
static int filter(struct place *pl, const char *uid, char *why, size_t cap)
{
    char json[512], err[256];
    struct place_req r;
    place_req_init(&r);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"team\",\"uid\":\"%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}}",
             uid, uid);
    cJSON *tree = cJSON_Parse(json);
    struct model_defaults def = {.mem_factor = 1};
    ck_assert_int_eq(model_pod_parse(tree, &def, &r.pod, err, sizeof err), 0);
    r.n = 3;
    r.c = calloc(3, sizeof *r.c);
    for (int i = 0; i < 3; i++)
        r.c[i].name = names[i];
    int k = place_filter(pl, &r, json, NOW);
    snprintf(why, cap, "%s", place_reason(&r, &r.c[1]));
    free(r.c);
    place_req_free(&r);
    cJSON_Delete(tree);
    return k;
}

START_TEST(a_roomy_quota_keeps_the_memo)
{
    struct cache *c = cluster(1000000);
    struct place *pl = placer(c);
    struct place_stats st;
    char why[512];
    ck_assert_int_eq(filter(pl, "p1", why, sizeof why), 0); /* reserved on gpu-a */
    place_stats(pl, &st);
    ck_assert_uint_eq(st.reused, 0);
    ck_assert_int_eq(filter(pl, "p2", why, sizeof why), 0);
    place_stats(pl, &st);
    ck_assert_uint_eq(st.reused, 2); /* gpu-b and cpu-1 did not change; gpu-a did */
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

START_TEST(a_binding_quota_is_exact)
{
    struct cache *c = cluster(1500);
    struct place *pl = placer(c);
    char why[512];
    int k = filter(pl, "p1", why, sizeof why);
    ck_assert_msg(k == 0, "p1: %d, gpu-b: %s", k, why);
    ck_assert_int_eq(filter(pl, "p2", why, sizeof why), -1);
    ck_assert_msg(strstr(why, "2/2 ResourceQuotaNotFit; quota of namespace team leaves "
                              "nvidia.com/gpumem 500"),
                  "%s", why);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("place_quota");
    TCase *tc = tcase_create("memo");
    tcase_add_test(tc, a_roomy_quota_keeps_the_memo);
    tcase_add_test(tc, a_binding_quota_is_exact);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

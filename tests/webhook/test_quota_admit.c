/* HAMi's quota check at admission (fitResourceQuota): a GPU pod asking
 * more than its namespace's device quota leaves is denied at creation. On
 * tests/data/e2e/quota.json: team-a has 8000 MiB and 70 % left, team-b 40
 * % of cores (its memory limit is malformed: none), team-c no NVIDIA
 * limit. Table-driven. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "tests/support/harness.h"
#include "webhook/webhook.h"

static const struct {
    const char *what, *ns, *containers;
    const char *scheduler; /* NULL: ours */
    bool denied;
    const char *message; /* a part of the denial */
} cases[] = {
    {"within the memory left", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\","
     "\"nvidia.com/gpumem\":\"4000\",\"nvidia.com/gpucores\":\"10\"}}}]",
     NULL, false, NULL},
    {"memory per GPU x GPUs over", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\","
     "\"nvidia.com/gpumem\":\"4001\"}}}]",
     NULL, true,
     "exceeding resource quota: nvidia.com/gpumem: the pod asks 8002, namespace team-a has 8000 "
     "left"},
    {"cores over", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
     "\"nvidia.com/gpumem\":\"10\",\"nvidia.com/gpucores\":\"71\"}}}]",
     NULL, true, "nvidia.com/gpucores: the pod asks 71, namespace team-a has 70 left"},
    {"a memory percentage counts 0, as in HAMi", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
     "\"nvidia.com/gpumem-percentage\":\"100\",\"nvidia.com/gpucores\":\"10\"}}}]",
     NULL, false, NULL},
    {"an init container and the app: the larger", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
     "\"nvidia.com/gpumem\":\"8000\"}}}],\"initContainers\":[{\"name\":\"i\",\"resources\":{"
     "\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"8000\"}}}]",
     NULL, false, NULL},
    {"cores limited, memory not (malformed limit)", "team-b",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
     "\"nvidia.com/gpumem\":\"40000\",\"nvidia.com/gpucores\":\"41\"}}}]",
     NULL, true, "nvidia.com/gpucores: the pod asks 41, namespace team-b has 40 left"},
    {"no NVIDIA limit", "team-c",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"4\","
     "\"nvidia.com/gpumem\":\"40000\"}}}]",
     NULL, false, NULL},
    {"a pod of another scheduler is not ours", "team-a",
     "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
     "\"nvidia.com/gpumem\":\"40000\"}}}]",
     "other-scheduler", false, NULL},
};

START_TEST(admission)
{
    char path[4096], err[512], body[4096];
    struct snapshot_stats st;
    struct cache *c = cache_create();
    harness_data_path("e2e/quota.json", path, sizeof path);
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    struct webhook_opts o = {.scheduler_name = "vgpu-scheduler", .force_overwrite_default = true};
    struct webhook *w = webhook_create(&o, c);
    char sched[128] = "";
    if (cases[_i].scheduler)
        snprintf(sched, sizeof sched, "\"schedulerName\":\"%s\",", cases[_i].scheduler);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
             "\"uid\":\"u1\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
             "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
             "\"operation\":\"CREATE\",\"namespace\":\"%s\",\"userInfo\":{\"username\":\"u\"},"
             "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},"
             "\"spec\":{%s\"containers\":%s}}}}",
             cases[_i].ns, sched, cases[_i].containers);
    char *out = NULL;
    enum webhook_result res;
    ck_assert_int_eq(webhook_review_handle(w, body, strlen(body), &out, &res), 200);
    ck_assert_msg((res == WEBHOOK_DENIED) == cases[_i].denied, "%s: %s", cases[_i].what, out);
    if (cases[_i].message)
        ck_assert_msg(strstr(out, cases[_i].message), "%s: %s", cases[_i].what, out);
    free(out);
    webhook_destroy(w);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook_quota");
    TCase *tc = tcase_create("admission");
    tcase_add_loop_test(tc, admission, 0, sizeof cases / sizeof cases[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

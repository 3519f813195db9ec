/* webhook/pod: the rules on Pods from tests/data/webhook/pods/: which pods
 * are ours, the defaults, each denial, the warnings. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webhook/patch.h"
#include "tests/support/harness.h"
#include "webhook/pod.h"

static cJSON *load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "webhook/pods/%s.json", name);
    char *s = harness_slurp(rel);
    cJSON *j = cJSON_Parse(s);
    free(s);
    ck_assert_ptr_nonnull(j);
    return j;
}

#define ADMIT  WEBHOOK_POD_ADMITTED
#define DENY   WEBHOOK_POD_DENIED
#define NOTGPU WEBHOOK_POD_NOT_GPU
#define OTHER  WEBHOOK_POD_OTHER_SCHED

static const struct {
    const char *pod;
    const char *sched; /* NULL: vgpu-scheduler */
    bool no_force;     /* --force-overwrite-default-scheduler=false */
    long long max_mem;
    enum webhook_pod_outcome outcome;
    int code;        /* when denied */
    const char *has; /* in the denial, else in the patch */
    int nops;        /* when admitted */
} cases[] = {
    {"gpu-zero", NULL, false, 0, ADMIT, 0, "\"/spec/schedulerName\"", 1},
    {"numbers", NULL, false, 0, ADMIT, 0, "vgpu-scheduler", 1},
    {"numbers", "my-sched", false, 0, ADMIT, 0, "\"value\":\"my-sched\"", 1},
    {"numbers", NULL, true, 0, OTHER, 0, NULL, 0},
    {"env-not-array", NULL, false, 0, ADMIT, 0, NULL, 1},
    {"privileged-false", NULL, false, 0, ADMIT, 0, NULL, 1},
    {"cores-100", NULL, false, 0, ADMIT, 0, NULL, 1},
    {"pct-0", NULL, false, 0, ADMIT, 0, "resources/requests/nvidia.com~1gpu", 3},
    {"requests-only", NULL, false, 0, ADMIT, 0,
     "{\"op\":\"add\",\"path\":\"/spec/containers/0/resources/limits\",\"value\":{"
     "\"nvidia.com/gpucores\":\"100\"}}",
     3},
    {"no-resources-then-gpu", NULL, false, 0, ADMIT, 0,
     "{\"op\":\"add\",\"path\":\"/spec/containers/1/resources/requests\",\"value\":{"
     "\"nvidia.com/gpu\":\"1\"}}",
     3},
    {"mem-40000", NULL, false, 40000, ADMIT, 0, NULL, 1},
    {"mem-40000", NULL, false, 0, ADMIT, 0, NULL, 1},
    {"mem-40000", NULL, false, 39999, DENY, 403,
     "asks for 40000 MiB of memory per GPU (nvidia.com/gpumem), but the largest GPU in the "
     "cluster has 39999 MiB",
     0},
    {"no-spec", NULL, false, 0, NOTGPU, 0, NULL, 0},
    {"containers-not-array", NULL, false, 0, NOTGPU, 0, NULL, 0},
    {"container-not-object", NULL, false, 0, DENY, 400, "spec.containers[0] is not a JSON object",
     0},
    {"too-many-containers", NULL, false, 0, DENY, 400, "more than 64 containers", 0},
    {"annotation-not-string", NULL, false, 0, DENY, 400,
     "annotation hami.io/node-scheduler-policy is not a string", 0},
    {"privileged-init", NULL, false, 0, DENY, 403, "container \"setup\" is privileged", 0},
    {"pct-bad", NULL, false, 0, DENY, 400,
     "nvidia.com/gpumem-percentage \"abc\" is not a valid quantity", 0},
    {"gpu-17", NULL, false, 0, DENY, 400, "nvidia.com/gpu 17 is out of range 0..16", 0},
    {"name-control-chars", NULL, false, 0, DENY, 403,
     "container \"ma?in\": nvidia.com/gpucores 101 is outside 0..100", 0},
};

START_TEST(test_rules)
{
    cJSON *pod = load(cases[_i].pod);
    struct webhook_patch *p = webhook_patch_create(pod);
    struct webhook_pod_verdict v;
    struct webhook_pod_opts o = {.scheduler_name =
                                     cases[_i].sched ? cases[_i].sched : "vgpu-scheduler",
                                 .force_overwrite_default = !cases[_i].no_force,
                                 .max_gpu_mem = cases[_i].max_mem};
    webhook_pod_admit(&o, pod, p, &v);
    char *json = webhook_patch_json(p);
    ck_assert_msg(v.outcome == cases[_i].outcome, "%s: outcome %d, want %d (%s) patch %s",
                  cases[_i].pod, v.outcome, cases[_i].outcome, v.message, json);
    if (v.outcome == DENY) {
        ck_assert_int_eq(v.code, cases[_i].code);
        ck_assert_msg(strstr(v.message, cases[_i].has), "%s: \"%s\" not in \"%s\"", cases[_i].pod,
                      cases[_i].has, v.message);
        for (const char *c = v.message; *c; c++)
            ck_assert_msg(*c >= 0x20 && *c < 0x7f, "control character in the message");
    } else if (v.outcome == ADMIT) {
        ck_assert_msg(webhook_patch_count(p) == cases[_i].nops, "%s: %d operations: %s",
                      cases[_i].pod, webhook_patch_count(p), json);
        if (cases[_i].has)
            ck_assert_msg(strstr(json, cases[_i].has), "%s: \"%s\" not in %s", cases[_i].pod,
                          cases[_i].has, json);
    } else {
        ck_assert_int_eq(webhook_patch_count(p), 0);
    }
    free(json);
    webhook_patch_destroy(p);
    cJSON_Delete(pod);
}
END_TEST

static int calls;

static int64_t count_max(void *ctx)
{
    calls++;
    return *(int64_t *)ctx;
}

/* The largest GPU is asked for only by GPU pods that passed every other
 * rule: creating ordinary pods never reads the cache. */
static const struct {
    const char *pod;
    int calls;
} lazy[] = {
    {"no-spec", 0}, {"privileged-init", 0}, {"pct-bad", 0}, {"numbers", 1}, {"mem-40000", 1},
};

START_TEST(test_lazy_max)
{
    int64_t max = 40000;
    cJSON *pod = load(lazy[_i].pod);
    struct webhook_patch *p = webhook_patch_create(pod);
    struct webhook_pod_verdict v;
    struct webhook_pod_opts o = {.scheduler_name = "vgpu-scheduler",
                                 .force_overwrite_default = true,
                                 .max_gpu_mem = 1, /* ignored when the function is set */
                                 .max_gpu_mem_fn = count_max,
                                 .ctx = &max};
    calls = 0;
    webhook_pod_admit(&o, pod, p, &v);
    ck_assert_int_eq(calls, lazy[_i].calls);
    if (strcmp(lazy[_i].pod, "mem-40000") == 0)
        ck_assert_int_eq(v.outcome, ADMIT);
    webhook_patch_destroy(p);
    cJSON_Delete(pod);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook_pod");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_rules, 0, sizeof cases / sizeof cases[0]);
    tcase_add_loop_test(tc, test_lazy_max, 0, sizeof lazy / sizeof lazy[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* webhook/pod: the rules on Pods from tests/data/webhook/pods/: which pods
 * are ours, the defaults, each denial, the warnings, GPU visibility, the
 * ephemeral containers. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "policy/device_ascend.h"
#include "webhook/patch.h"
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
     "container \"ma?in\": nvidia.com/gpucores 101 is outside 0..100",
     0}, /* Cambricon MLU (HAMi's MutateAdmission): routed to us, nothing added; its
          * defaults (vcore 100, the whole memory) are applied when it is fitted */
    {"mlu", NULL, false, 0, ADMIT, 0,
     "[{\"op\":\"replace\",\"path\":\"/spec/schedulerName\",\"value\":\"vgpu-scheduler\"}]", 1},
    {"mlu-count-only", NULL, false, 0, ADMIT, 0, "vgpu-scheduler", 1},
    {"mlu-too-big", NULL, false, 49152, DENY, 403,
     "asks for 51200 MiB of memory per GPU (cambricon.com/mlu.smlu.vmemory), but the largest GPU "
     "in the cluster has 49152 MiB",
     0},
    {"mlu-too-big", NULL, false, 51200, ADMIT, 0, NULL, 1},
    /* Huawei Ascend (HAMi's MutateAdmission): the memory becomes its template's */
    {"ascend-mem", NULL, false, 0, ADMIT, 0,
     "{\"op\":\"replace\",\"path\":\"/spec/containers/0/resources/limits/"
     "huawei.com~1Ascend910B3-memory\",\"value\":\"16384\"},{\"op\":\"add\",\"path\":\"/spec/"
     "containers/0/resources/requests\",\"value\":{\"huawei.com/Ascend910B3-memory\":\"16384\"}}",
     3},
    {"ascend-910c-1", NULL, false, 0, ADMIT, 0,
     "{\"op\":\"replace\",\"path\":\"/spec/containers/0/resources/requests/"
     "huawei.com~1Ascend910C\",\"value\":\"2\"}",
     5},
    {"ascend-910c-3", NULL, false, 0, DENY, 403, "ask 1 or an even number", 0},
    {"ascend-soft", NULL, false, 0, DENY, 403, "no node would take the pod (ModeNotFit)", 0},
    {"ascend-too-big", NULL, false, 0, DENY, 403,
     "huawei.com/Ascend310P-memory 30000 is more than a Ascend310P has (24576 MiB)", 0},
    {"ascend-multi-vnpu", NULL, false, 0, DENY, 403, "is for one NPU only", 0},
    {"ascend-core", NULL, false, 0, DENY, 403, "huawei.com/Ascend910B4-core 5: a vNPU's AI cores",
     0},
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

/* The visibility rule (overwrite_env on): the whole patch, exactly, and
 * how many warnings. */
#define NONE  "{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"value\":\"none\"}"
#define SCHED "{\"op\":\"replace\",\"path\":\"/spec/schedulerName\",\"value\":\"vgpu-scheduler\"}"
static const struct {
    const char *pod;
    const char *patch;
    int nwarn;
} envs[] = {
    /* no env list: one is made */
    {"env-absent", "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env\",\"value\":[" NONE "]}]",
     0},
    /* the variable twice: both replaced, from the last; one warning */
    {"env-twice",
     "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/env/2\",\"value\":" NONE "},"
     "{\"op\":\"replace\",\"path\":\"/spec/containers/0/env/0\",\"value\":" NONE "}]",
     1},
    /* valueFrom: the whole entry is replaced, so no valueFrom is left */
    {"env-value-from",
     "[{\"op\":\"replace\",\"path\":\"/spec/containers/0/env/0\",\"value\":" NONE "}]", 1},
    /* "none" and "void" show no GPU already */
    {"env-none-already", "[]", 0},
    /* a GPU container loses its own entries, from the last, so indices hold */
    {"env-gpu-twice",
     "[{\"op\":\"remove\",\"path\":\"/spec/containers/0/env/2\"},"
     "{\"op\":\"remove\",\"path\":\"/spec/containers/0/env/0\"}]",
     1},
    /* an init container with an env list: appended */
    {"env-init", "[{\"op\":\"add\",\"path\":\"/spec/initContainers/0/env/-\",\"value\":" NONE "}]",
     0},
    /* another device plugin's nvidia.com/ resource: its plugin sets the variable */
    {"env-mig", "[{\"op\":\"remove\",\"path\":\"/spec/containers/0/env/0\"}]", 1},
    /* nvidia.com/priority alone asks for no GPU */
    {"env-priority-only",
     "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env\",\"value\":[" NONE "]}]", 0},
    /* whatever the scheduler */
    {"env-other-scheduler",
     "[{\"op\":\"replace\",\"path\":\"/spec/containers/1/env/0\",\"value\":" NONE "}]", 1},
    /* malformed env: left to the API server's validation */
    {"env-not-array", "[" SCHED "]", 0},
    /* with HAMi's defaults: escaped resource paths, then the variable */
    {"no-resources-then-gpu",
     "[" SCHED ",{\"op\":\"add\",\"path\":\"/spec/containers/1/resources/limits/"
     "nvidia.com~1gpu\",\"value\":\"1\"},{\"op\":\"add\",\"path\":\"/spec/containers/1/"
     "resources/requests\",\"value\":{\"nvidia.com/gpu\":\"1\"}},{\"op\":\"add\",\"path\":"
     "\"/spec/containers/0/env\",\"value\":[" NONE "]}]",
     0},
    /* denied pods get no patch at all */
    {"privileged-init", NULL, 0},
};

START_TEST(test_visible)
{
    cJSON *pod = load(envs[_i].pod);
    cJSON *orig = cJSON_Duplicate(pod, 1);
    struct webhook_patch *p = webhook_patch_create(pod);
    struct webhook_pod_verdict v;
    struct webhook_pod_opts o = {
        .scheduler_name = "vgpu-scheduler", .force_overwrite_default = true, .overwrite_env = true};
    webhook_pod_admit(&o, pod, p, &v);
    char *json = webhook_patch_json(p);
    if (envs[_i].patch == NULL) {
        ck_assert_int_eq(v.outcome, DENY);
    } else {
        ck_assert_msg(v.outcome != DENY, "%s: %s", envs[_i].pod, v.message);
        ck_assert_msg(strcmp(json, envs[_i].patch) == 0, "%s: patch\n%s\nwant\n%s", envs[_i].pod,
                      json, envs[_i].patch);
        ck_assert_msg(v.nwarn == envs[_i].nwarn, "%s: %d warnings", envs[_i].pod, v.nwarn);
        /* the patch turns the pod as sent into the pod as mutated */
        cJSON *ops = cJSON_Parse(json), *op;
        struct webhook_patch *again = webhook_patch_create(orig);
        cJSON_ArrayForEach(op, ops)
        {
            const char *kind = cJSON_GetObjectItem(op, "op")->valuestring;
            const char *path = cJSON_GetObjectItem(op, "path")->valuestring;
            cJSON *val = cJSON_Duplicate(cJSON_GetObjectItem(op, "value"), 1);
            int rc = strcmp(kind, "remove") == 0 ? webhook_patch_remove(again, path)
                     : strcmp(kind, "add") == 0  ? webhook_patch_add(again, path, val)
                                                 : webhook_patch_replace(again, path, val);
            if (strcmp(kind, "remove") == 0)
                cJSON_Delete(val);
            ck_assert_msg(rc == 0, "%s: %s %s", envs[_i].pod, kind, path);
        }
        ck_assert(cJSON_Compare(orig, pod, 1));
        webhook_patch_destroy(again);
        cJSON_Delete(ops);
    }
    free(json);
    webhook_patch_destroy(p);
    cJSON_Delete(orig);
    cJSON_Delete(pod);
}
END_TEST

/* HAMi's webhook options (defaultGPUNum, gpuCorePolicy, runtimeClassName):
 * the whole patch, exactly, and how many warnings. */
#define OPT_SCHED                                                                                  \
    "{\"op\":\"replace\",\"path\":\"/spec/schedulerName\",\"value\":\"vgpu-scheduler\"}"
#define OPT_GPU(n)                                                                                 \
    "{\"op\":\"add\",\"path\":\"/spec/containers/0/resources/limits/"                              \
    "nvidia.com~1gpu\",\"value\":\"" n                                                             \
    "\"},{\"op\":\"add\",\"path\":\"/spec/containers/0/resources/requests\",\"value\":{"           \
    "\"nvidia.com/gpu\":\"" n "\"}}"
static const struct {
    const char *pod;
    int gpus;
    const char *policy, *runtime;
    const char *patch;
    int nwarn;
} opts[] = {
    /* none set: HAMi's defaults, as before */
    {"opt-mem-only", 0, NULL, NULL, "[" OPT_SCHED "," OPT_GPU("1") "]", 0},
    {"opt-mem-only", 0, "default", "", "[" OPT_SCHED "," OPT_GPU("1") "]", 0},
    /* every option: the count, the policy over the container's own (a
     * warning), the runtime class; the container without a GPU is left alone */
    {"opt-mem-only", 2, "force", "nvidia",
     "[" OPT_SCHED
     "," OPT_GPU("2") ",{\"op\":\"replace\",\"path\":\"/spec/containers/0/env/0\","
                      "\"value\":{\"name\":\"GPU_CORE_UTILIZATION_POLICY\",\"value\":\"force\"}},"
                      "{\"op\":\"add\",\"path\":\"/spec/runtimeClassName\",\"value\":\"nvidia\"}]",
     1},
    /* the container's value already the policy: nothing to change */
    {"opt-mem-only", 1, "disable", NULL, "[" OPT_SCHED "," OPT_GPU("1") "]", 0},
    /* a pod naming a runtime class keeps it; no env list: one is made */
    {"opt-runtime-set", 0, "force", "nvidia",
     "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env\",\"value\":[{\"name\":"
     "\"GPU_CORE_UTILIZATION_POLICY\",\"value\":\"force\"}]}]",
     0},
    /* a pod without GPUs gets none of them */
    {"env-absent", 4, "force", "nvidia", "[]", 0},
};

START_TEST(test_options)
{
    cJSON *pod = load(opts[_i].pod);
    struct webhook_patch *p = webhook_patch_create(pod);
    struct webhook_pod_verdict v;
    struct webhook_pod_opts o = {.scheduler_name = "vgpu-scheduler",
                                 .force_overwrite_default = true,
                                 .default_gpu = opts[_i].gpus,
                                 .core_policy = opts[_i].policy,
                                 .runtime_class = opts[_i].runtime};
    webhook_pod_admit(&o, pod, p, &v);
    char *json = webhook_patch_json(p);
    ck_assert_msg(v.outcome != DENY, "%s: %s", opts[_i].pod, v.message);
    ck_assert_msg(strcmp(json, opts[_i].patch) == 0, "%d %s: patch\n%s\nwant\n%s", _i, opts[_i].pod,
                  json, opts[_i].patch);
    ck_assert_msg(v.nwarn == opts[_i].nwarn, "%s: %d warnings", opts[_i].pod, v.nwarn);
    if (v.nwarn)
        ck_assert_msg(strstr(v.warn[0], "GPU_CORE_UTILIZATION_POLICY set to \"force\""), "%s",
                      v.warn[0]);
    free(json);
    webhook_patch_destroy(p);
    cJSON_Delete(pod);
}
END_TEST

/* An Ascend chip's runtimeClassName (device config vnpus) goes on a pod
 * asking that chip and naming none, over the webhook option (HAMi sets each
 * vendor's own); without one, none: the option is NVIDIA's (HAMi sets it in
 * its NVIDIA backend only). */
START_TEST(test_vnpu_runtime_class)
{
    struct policy_vnpu *v = policy_ascend_find("Ascend910B3")->vnpu;
    const char *chip[] = {"ascend", "ascend", ""}, *option[] = {NULL, "kata", "kata"};
    const char *want[] = {"\"value\":\"ascend\"", "\"value\":\"ascend\"", NULL};
    for (int i = 0; i < 3; i++) {
        snprintf(v->runtime_class, sizeof v->runtime_class, "%s", chip[i]);
        cJSON *pod = load("ascend-mem");
        struct webhook_patch *p = webhook_patch_create(pod);
        struct webhook_pod_verdict vd;
        struct webhook_pod_opts o = {.scheduler_name = "vgpu-scheduler",
                                     .force_overwrite_default = true,
                                     .runtime_class = option[i]};
        webhook_pod_admit(&o, pod, p, &vd);
        char *json = webhook_patch_json(p);
        ck_assert_msg(vd.outcome == ADMIT, "%s", vd.message);
        const char *rc = strstr(json, "\"path\":\"/spec/runtimeClassName\"");
        ck_assert_msg(want[i] ? rc && strstr(rc, want[i]) : !rc, "%s", json);
        free(json);
        webhook_patch_destroy(p);
        cJSON_Delete(pod);
    }
    v->runtime_class[0] = '\0';
}
END_TEST

/* Ephemeral containers: the rule, by pod kind and overwrite_env. The pod
 * gets spec.ephemeralContainers = [old..., new]; "old" ones existed. */
static const struct {
    const char *pod;     /* a pod of pods/ */
    const char *eph;     /* the new ephemeral container, JSON */
    bool overwrite;      /* overwrite_env */
    bool old_privileged; /* an existing privileged one before it */
    enum webhook_pod_outcome outcome;
    const char *has; /* in the denial, else the patch */
} ephs[] = {
    {"numbers", "{\"name\":\"d\",\"securityContext\":{\"privileged\":true}}", true, false, DENY,
     "ephemeral container \"d\" is privileged"},
    {"numbers", "{\"name\":\"d\",\"securityContext\":{\"privileged\":true}}", false, false, DENY,
     "is privileged"},
    /* a privileged one that existed is not looked at again */
    {"numbers", "{\"name\":\"d\"}", false, true, ADMIT, "[]"},
    {"numbers", "{\"name\":\"d\"}", true, true, ADMIT,
     "[{\"op\":\"add\",\"path\":\"/spec/ephemeralContainers/1/env\",\"value\":[" NONE "]}]"},
    {"numbers", "{\"name\":\"d\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}", true, false, ADMIT,
     "[{\"op\":\"add\",\"path\":\"/spec/ephemeralContainers/0/env/-\",\"value\":" NONE "}]"},
    {"numbers", "{\"name\":\"d\",\"env\":[{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"valueFrom\":{}}]}",
     false, false, DENY, "sets NVIDIA_VISIBLE_DEVICES to (valueFrom)"},
    {"numbers",
     "{\"name\":\"d\",\"env\":[{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"value\":\"void\"}]}", true,
     false, ADMIT, "[]"},
    /* a pod without GPUs: privileged is not ours to refuse; the variable is, with overwrite_env */
    {"env-absent", "{\"name\":\"d\",\"securityContext\":{\"privileged\":true}}", false, false,
     ADMIT, "[]"},
    {"env-absent",
     "{\"name\":\"d\",\"env\":[{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"value\":\"all\"}]}", true,
     false, DENY, "sets NVIDIA_VISIBLE_DEVICES to \"all\""},
    {"env-absent",
     "{\"name\":\"d\",\"env\":[{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"value\":\"all\"}]}", false,
     false, ADMIT, "[]"},
    /* a pod of this scheduler without a GPU request yet: ours */
    {"env-priority-only", "{\"name\":\"d\",\"securityContext\":{\"privileged\":true}}", false,
     false, ADMIT, "[]"},
};

START_TEST(test_ephemeral)
{
    cJSON *pod = load(ephs[_i].pod);
    cJSON *spec = cJSON_GetObjectItem(pod, "spec");
    cJSON *list = cJSON_AddArrayToObject(spec, "ephemeralContainers");
    if (ephs[_i].old_privileged)
        cJSON_AddItemToArray(list, cJSON_Parse("{\"name\":\"old\",\"securityContext\":{"
                                               "\"privileged\":true}}"));
    cJSON *old = cJSON_Duplicate(pod, 1);
    cJSON_AddItemToArray(list, cJSON_Parse(ephs[_i].eph));
    struct webhook_patch *p = webhook_patch_create(pod);
    struct webhook_pod_verdict v;
    struct webhook_pod_opts o = {.scheduler_name = "vgpu-scheduler",
                                 .force_overwrite_default = true,
                                 .overwrite_env = ephs[_i].overwrite};
    webhook_pod_ephemeral(&o, pod, old, p, &v);
    char *json = webhook_patch_json(p);
    ck_assert_msg(v.outcome == ephs[_i].outcome, "%d: outcome %d (%s) %s", _i, v.outcome, v.message,
                  json);
    if (v.outcome == DENY)
        ck_assert_msg(strstr(v.message, ephs[_i].has), "%d: %s", _i, v.message);
    else
        ck_assert_msg(strcmp(json, ephs[_i].has) == 0, "%d: %s", _i, json);
    free(json);
    webhook_patch_destroy(p);
    cJSON_Delete(old);
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
    tcase_add_loop_test(tc, test_visible, 0, sizeof envs / sizeof envs[0]);
    tcase_add_loop_test(tc, test_options, 0, sizeof opts / sizeof opts[0]);
    tcase_add_test(tc, test_vnpu_runtime_class);
    tcase_add_loop_test(tc, test_ephemeral, 0, sizeof ephs / sizeof ephs[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

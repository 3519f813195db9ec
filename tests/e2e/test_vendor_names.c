/* Device resource names through the real binary: HAMi's resource-name
 * overrides (issue 19: --resource-name style flags, a device config's
 * resource*Name keys) are read by the filter and the webhook, and the rows'
 * own names then ask nothing; a resource that looks like a vendor's but no
 * row reads (issue 17: "nvidia.com/gpumemory") is a filter error naming it
 * and a webhook warning naming it. Cluster: tests/data/e2e/containers.json
 * (node "solo": one GPU of 81920 MiB). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "tests/webhook/review_cases.h"

static char cluster[4096], names_yaml[4096];

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    d = d ? d : "tests/data";
    snprintf(cluster, sizeof cluster, "%s/e2e/containers.json", d);
    snprintf(names_yaml, sizeof names_yaml, "%s/server/devconfig/resource-names.yaml", d);
}

/* A pod of one container whose limits are `limits` (JSON members). */
static void pod_text(char *out, size_t cap, const char *name, const char *limits)
{
    snprintf(out, cap,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{%s}}}]}}",
             name, name, limits);
}

/* A filter on node: the answer's body (caller frees). */
static char *filter_on(int port, const char *node, const char *name, const char *limits)
{
    char pod[1024], body[2048];
    pod_text(pod, sizeof pod, name, limits);
    snprintf(body, sizeof body, "{\"Pod\":%s,\"NodeNames\":[\"%s\"]}", pod, node);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *text = strdup(buf_str(&r.body));
    harness_reply_free(&r);
    return text;
}

static char *filter(int port, const char *name, const char *limits)
{
    return filter_on(port, "solo", name, limits);
}

static bool chosen(const char *answer)
{
    cJSON *j = cJSON_Parse(answer);
    ck_assert_ptr_nonnull(j);
    bool yes = cJSON_GetArraySize(cJSON_GetObjectItem(j, "NodeNames")) == 1;
    cJSON_Delete(j);
    return yes;
}

/* A pod creation review: the answer's "response" (caller frees the root
 * in *root) and the decoded patch ("" when none; caller frees). */
static cJSON *review(int port, const char *limits, cJSON **root, char **patch)
{
    char pod[1024], body[4096];
    pod_text(pod, sizeof pod, "p", limits);
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
             "\"uid\":\"u-1\",\"kind\":{\"kind\":\"Pod\"},\"resource\":{\"resource\":\"pods\"},"
             "\"namespace\":\"default\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":"
             "\"alice\"},\"object\":%s}}",
             pod);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/webhook", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    *root = cJSON_Parse(buf_str(&r.body));
    harness_reply_free(&r);
    cJSON *resp = cJSON_GetObjectItem(*root, "response");
    ck_assert_ptr_nonnull(resp);
    cJSON *pt = cJSON_GetObjectItem(resp, "patch");
    *patch = pt ? review_unbase64(pt->valuestring) : strdup("");
    return resp;
}

/* The warnings of a response, joined ("" when none). */
static void warnings(const cJSON *resp, char *out, size_t cap)
{
    const cJSON *w;
    size_t n = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(resp, "warnings"))
    {
        if (cJSON_IsString(w) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s\n", w->valuestring);
    }
}

/* NVIDIA's count and memory renamed by HAMi's flags, DCU's count by the
 * device config: the filter and the webhook read the new names, the old
 * ones ask nothing (no error, no warning), /inspect shows them. */
START_TEST(renamed_resources)
{
    const char *args[] = {"--snapshot",
                          cluster,
                          "--device-config-file",
                          names_yaml,
                          "--resource-name=example.com/gpu",
                          NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    char *a;

    /* the flag won over the file's example.com/vgpu; memory is the file's */
    a = filter(port, "big", "\"example.com/gpu\":\"1\",\"example.com/vgpu-memory\":\"90000\"");
    ck_assert_msg(!chosen(a), "%s", a);
    free(a);
    a = filter(port, "fits", "\"example.com/gpu\":\"1\",\"example.com/vgpu-memory\":\"40000\"");
    ck_assert_msg(chosen(a), "%s", a);
    free(a);
    /* usage rebuilt from pods reads the new names: the sidecar pod on "side"
     * (70000 of 81920 MiB under nvidia.com/gpu) holds nothing now */
    a = filter_on(port, "side", "after",
                  "\"example.com/gpu\":\"1\",\"example.com/vgpu-memory\":\"60000\"");
    ck_assert_msg(chosen(a), "%s", a);
    free(a);
    /* the rows' own names ask nothing now: 90000 MiB "fits" a CPU pod */
    a = filter(port, "old", "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"90000\"");
    ck_assert_msg(chosen(a) && !strstr(a, "\"Error\":\"c"), "%s", a);
    free(a);

    cJSON *root;
    char *patch, warns[2048];
    cJSON *resp = review(port, "\"example.com/vgpu-memory\":\"1000\"", &root, &patch);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
    ck_assert_msg(strstr(patch, "limits/example.com~1gpu\",\"value\":\"1\""), "%s", patch);
    ck_assert_msg(strstr(patch, "/spec/schedulerName"), "%s", patch);
    free(patch);
    cJSON_Delete(root);
    resp = review(port, "\"nvidia.com/gpu\":\"1\"", &root, &patch);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
    warnings(resp, warns, sizeof warns);
    ck_assert_msg(!strstr(patch, "schedulerName") && !warns[0], "%s | %s", patch, warns);
    free(patch);
    cJSON_Delete(root);

    cJSON *ins = harness_get_json(port, "/inspect");
    const cJSON *names =
        cJSON_GetObjectItem(cJSON_GetObjectItem(ins, "deviceConfig"), "resourceNames");
    ck_assert_str_eq(cJSON_GetObjectItem(names, "nvidia.com/gpu")->valuestring, "example.com/gpu");
    ck_assert_str_eq(cJSON_GetObjectItem(names, "hygon.com/dcunum")->valuestring, "hygon.com/dcu");
    ck_assert_str_eq(cJSON_GetObjectItem(names, "nvidia.com/gpucores")->valuestring,
                     "nvidia.com/gpucores");
    cJSON_Delete(ins);
    harness_finish(&h);
}
END_TEST

/* Misspelt vendor resources with the default names: filter errors naming
 * the resource, the webhook allows with a warning naming it. */
static const struct {
    const char *limits, *bad;
} misspelt[] = {
    {"\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumemory\":\"1000\"", "nvidia.com/gpumemory"},
    {"\"hygon.com/dcunum\":\"1\",\"hygon.com/dcumemory\":\"1000\"", "hygon.com/dcumemory"},
    {"\"nvidia.com/gpus\":\"1\"", "nvidia.com/gpus"},
};

START_TEST(misspelt_resources)
{
    const char *args[] = {"--snapshot", cluster, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    for (size_t i = 0; i < sizeof misspelt / sizeof misspelt[0]; i++) {
        char want[256], warns[2048], *patch;
        cJSON *root;
        char *a = filter(port, "typo", misspelt[i].limits);
        snprintf(want, sizeof want, "resource \\\"%s\\\" is not read by any device backend",
                 misspelt[i].bad);
        ck_assert_msg(strstr(a, "\"Error\":") && strstr(a, want), "%s", a);
        free(a);
        cJSON *resp = review(port, misspelt[i].limits, &root, &patch);
        ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
        warnings(resp, warns, sizeof warns);
        snprintf(want, sizeof want, "resource \"%s\" is not read by any device backend",
                 misspelt[i].bad);
        ck_assert_msg(strstr(warns, want), "%s", warns);
        free(patch);
        cJSON_Delete(root);
    }
    /* the default names: the sidecar pod holds 70000 MiB on "side" */
    char *held = filter_on(port, "side", "before",
                           "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"60000\"");
    ck_assert_msg(!chosen(held), "%s", held);
    free(held);
    /* spelt right: no warning, no error */
    char warns[2048], *patch;
    cJSON *root, *resp = review(port, "\"nvidia.com/gpu\":\"1\"", &root, &patch);
    warnings(resp, warns, sizeof warns);
    ck_assert_msg(!strstr(warns, "device backend"), "%s", warns);
    free(patch);
    cJSON_Delete(root);
    char *a = filter(port, "right", "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"");
    ck_assert_msg(chosen(a), "%s", a);
    free(a);
    harness_finish(&h);
}
END_TEST

/* HAMi's defaultGPUNum 0: a container asking memory alone gets no count,
 * is not routed here, and is shown no GPU (HAMi's overwriteEnv); one asking
 * a count is routed as always. Before: 0 stopped the start. */
START_TEST(default_gpu_zero)
{
    const char *args[] = {"--snapshot", cluster, "--default-gpu=0", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    cJSON *root;
    char *patch;
    cJSON *resp = review(port, "\"nvidia.com/gpumem\":\"1000\"", &root, &patch);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
    ck_assert_msg(!strstr(patch, "schedulerName") && !strstr(patch, "nvidia.com~1gpu\"") &&
                      strstr(patch, "{\"name\":\"NVIDIA_VISIBLE_DEVICES\",\"value\":\"none\"}"),
                  "%s", patch);
    free(patch);
    cJSON_Delete(root);
    resp = review(port, "\"nvidia.com/gpu\":\"2\",\"nvidia.com/gpumem\":\"1000\"", &root, &patch);
    ck_assert_msg(strstr(patch, "schedulerName") && !strstr(patch, "NVIDIA_VISIBLE_DEVICES"), "%s",
                  patch);
    free(patch);
    cJSON_Delete(root);
    cJSON *ins = harness_get_json(port, "/inspect");
    ck_assert_int_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ins, "deviceConfig"), "defaultGPUNum")->valueint,
        0);
    cJSON_Delete(ins);
    harness_finish(&h);
}
END_TEST

/* The webhook's options are NVIDIA's (its device config section): a DCU
 * pod is routed with the DCU row's defaults (none: HAMi admits it as it
 * is) and without NVIDIA's runtimeClassName or core policy. */
START_TEST(per_vendor_defaults)
{
    const char *args[] = {"--snapshot", cluster, "--runtime-class-name=nvidia",
                          "--gpu-core-policy=force", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    cJSON *root;
    char *patch;
    review(port, "\"hygon.com/dcunum\":\"1\",\"hygon.com/dcumem\":\"2000\"", &root, &patch);
    ck_assert_msg(strstr(patch, "/spec/schedulerName") && !strstr(patch, "runtimeClassName") &&
                      !strstr(patch, "GPU_CORE_UTILIZATION_POLICY") &&
                      !strstr(patch, "hygon.com~1dcucores") && !strstr(patch, "nvidia.com"),
                  "%s", patch);
    free(patch);
    cJSON_Delete(root);
    /* DCU memory alone: no count is added (HAMi's DCU backend adds none) */
    review(port, "\"hygon.com/dcumem\":\"2000\"", &root, &patch);
    ck_assert_msg(!strstr(patch, "dcunum"), "%s", patch);
    free(patch);
    cJSON_Delete(root);
    review(port, "\"nvidia.com/gpumem\":\"2000\"", &root, &patch);
    ck_assert_msg(strstr(patch, "\"/spec/runtimeClassName\",\"value\":\"nvidia\"") &&
                      strstr(patch, "GPU_CORE_UTILIZATION_POLICY") &&
                      strstr(patch, "limits/nvidia.com~1gpu\",\"value\":\"1\""),
                  "%s", patch);
    free(patch);
    cJSON_Delete(root);
    harness_finish(&h);
}
END_TEST

/* The first GPU of node `name` in an /inspect answer. */
static const cJSON *inspect_gpu(const cJSON *ins, const char *name)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetObjectItem(n, "name")->valuestring, name) == 0)
            return cJSON_GetArrayItem(cJSON_GetObjectItem(n, "gpus"), 0);
    }
    return NULL;
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    ck_assert_msg(cJSON_IsString(v), "no %s", k);
    return v->valuestring;
}

/* /inspect: vendor and mode per device and per MIG instance (issue 17). */
START_TEST(inspect_vendor_mode)
{
    struct harness *h = harness_start_snapshot("e2e/dcu.json");
    ck_assert_ptr_nonnull(h);
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_str_eq(field(inspect_gpu(ins, "dcu-node"), "vendor"), "hygon");
    ck_assert_str_eq(field(inspect_gpu(ins, "nv-node"), "vendor"), "nvidia");
    ck_assert_ptr_null(cJSON_GetObjectItem(inspect_gpu(ins, "nv-node"), "migInstances"));
    cJSON_Delete(ins);
    harness_finish(&h);

    h = harness_start_snapshot("e2e/mig-ready.json");
    ck_assert_ptr_nonnull(h);
    ins = harness_get_json(harness_port(h), "/inspect");
    const cJSON *g = inspect_gpu(ins, "mig-held");
    ck_assert_str_eq(field(g, "vendor"), "nvidia");
    ck_assert_str_eq(field(g, "mode"), "mig");
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "migInstances"), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(field(m, "vendor"), "nvidia");
    ck_assert_str_eq(field(m, "mode"), "mig");
    ck_assert_str_eq(field(m, "profile"), "3g.20gb");
    ck_assert_str_eq(field(m, "pod"), "infer");
    ck_assert_str_eq(field(m, "migUUID"), "MIG-7e1f0c2a-0000-4000-8000-000000000001");
    ck_assert_int_eq(cJSON_GetObjectItem(m, "gpuInstanceID")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "placement"), "start")->valueint,
                     4);
    /* not made yet: no runtime ids */
    m = cJSON_GetArrayItem(cJSON_GetObjectItem(inspect_gpu(ins, "mig-split"), "migInstances"), 0);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(cJSON_GetObjectItem(m, "migUUID"));
    cJSON_Delete(ins);
    harness_finish(&h);
}
END_TEST

/* Bad names stop the start naming the flag or the file's line. */
START_TEST(bad_names_stop_start)
{
    const char *a1[] = {"--snapshot", cluster, "--resource-mem=gpumem", NULL};
    const char *a2[] = {"--snapshot", cluster, "--resource-cores=nvidia.com/gpu", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(a1, 10000, &r), 0);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(buf_str(&r.err), "--resource-mem: \"gpumem\" is not a resource name"),
                  "%s", buf_str(&r.err));
    harness_result_free(&r);
    ck_assert_int_eq(harness_run(a2, 10000, &r), 0);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(buf_str(&r.err), "--resource-cores: \"nvidia.com/gpu\" is already the "
                                          "nvidia count resource"),
                  "%s", buf_str(&r.err));
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    setup();
    (void)review_check;
    Suite *s = suite_create("e2e-vendor-names");
    TCase *tc = tcase_create("names");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, renamed_resources);
    tcase_add_test(tc, misspelt_resources);
    tcase_add_test(tc, bad_names_stop_start);
    tcase_add_test(tc, default_gpu_zero);
    tcase_add_test(tc, inspect_vendor_mode);
    tcase_add_test(tc, per_vendor_defaults);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

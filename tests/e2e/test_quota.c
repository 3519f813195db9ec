/* Namespace quotas end to end on the real binary.
 *
 * Snapshot (tests/data/e2e/quota.json): nodes q1 and q2 with two A100 of
 * 40960 MiB each (q2 registers 81920: its plugin scales memory, the
 * nvidia.com/gpu.memory label says 40960); team-a holds 8000 MiB and 30 %
 * on q1 and has two quotas (gpumem 20000 and 16000: 16000 applies; cores
 * 100); team-b holds 4000 MiB and 10 %, its quota's gpumem "lots" is
 * malformed and its gpucores 50 applies; team-c limits only Hygon memory.
 *
 * Fake API server: the same quotas watched, changed and deleted. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

static cJSON *new_pod(const char *ns, const char *name, const char *mem, const char *cores)
{
    char json[1024], uid[96];
    snprintf(uid, sizeof uid, "uid-%s-%s", ns, name);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"%s\"},"
             "\"spec\":{\"schedulerName\":\"vgpu-scheduler\",\"containers\":[{\"name\":\"c\","
             "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"%s\","
             "\"nvidia.com/gpucores\":\"%s\"}}}]}}",
             name, ns, uid, mem, cores);
    cJSON *p = cJSON_Parse(json);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* Filter pod (taken) on q1 and q2 of the server at port; the answer. */
static cJSON *filter(int port, cJSON *pod)
{
    static const char *const nodes[] = {"q1", "q2", NULL};
    return harness_filter(port, pod, nodes);
}

/* The node chosen, or NULL. Borrowed from f. */
static const char *chosen(const cJSON *f)
{
    const cJSON *n = cJSON_GetObjectItem(f, "NodeNames");
    return cJSON_GetArraySize(n) == 1 ? cJSON_GetArrayItem(n, 0)->valuestring : NULL;
}

static void bind(int port, const char *ns, const char *name, const char *node)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"%s\",\"PodUID\":\"uid-%s-%s\","
             "\"Node\":\"%s\"}",
             name, ns, ns, name, node);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/bind", body, strlen(body), &r), 0);
    ck_assert_msg(strstr(buf_str(&r.body), "\"Error\":\"\"") ||
                      !strstr(buf_str(&r.body), "\"Error\""),
                  "bind: %s", buf_str(&r.body));
    harness_reply_free(&r);
}

/* The refusal of node q1 must be the quota, resolvable, with what is left. */
static void refused_by_quota(const cJSON *f, const char *left)
{
    ck_assert_ptr_null(chosen(f));
    const char *why =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "FailedNodes"), "q1"));
    ck_assert_msg(why && strstr(why, "ResourceQuotaNotFit") && strstr(why, left),
                  "q1: %s (want \"%s\")", why ? why : "(not in FailedNodes)", left);
}

/* used and limit of ns's resource in /inspect (limit -1: null). */
static void inspect_quota(int port, const char *ns, const char *res, long *used, long *limit)
{
    cJSON *j = harness_get_json(port, "/inspect"), *q, *e;
    ck_assert_ptr_nonnull(j);
    *used = *limit = -2;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(j, "quotas"))
    {
        if (strcmp(cJSON_GetObjectItem(q, "namespace")->valuestring, ns) != 0)
            continue;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(q, "resources"))
        {
            if (strcmp(cJSON_GetObjectItem(e, "resource")->valuestring, res) != 0)
                continue;
            *used = (long)cJSON_GetObjectItem(e, "used")->valuedouble;
            const cJSON *l = cJSON_GetObjectItem(e, "limit");
            *limit = cJSON_IsNumber(l) ? (long)l->valuedouble : -1;
        }
    }
    cJSON_Delete(j);
}

START_TEST(snapshot_quotas)
{
    struct harness *h = harness_start_snapshot("e2e/quota.json");
    int port = harness_port(h);
    long used, limit;

    /* The malformed limit is logged with its reason; the quota's other one
     * applies (below). */
    ck_assert(harness_wait_log(
        h, "resourcequota team-b/bad: limits.nvidia.com/gpumem \"lots\" is not a valid quantity",
        5000));
    inspect_quota(port, "team-a", "nvidia.com/gpumem", &used, &limit);
    ck_assert_int_eq(used, 8000);
    ck_assert_int_eq(limit, 16000); /* the smaller of its two quotas */
    inspect_quota(port, "team-b", "nvidia.com/gpucores", &used, &limit);
    ck_assert_int_eq(used, 10);
    ck_assert_int_eq(limit, 50);
    inspect_quota(port, "team-b", "nvidia.com/gpumem", &used, &limit);
    ck_assert_int_eq(limit, -1);
    ck_assert_int_eq(harness_metric(port, "hami_resource_quota_used{namespace=\"team-a\","
                                          "quota_name=\"nvidia.com/gpumem\",limit=\"16000\","
                                          "zone=\"vGPU\"}"),
                     8000);
    ck_assert_int_eq(harness_metric(port, "hami_resource_quota_limit{namespace=\"team-a\","
                                          "quota_name=\"nvidia.com/gpucores\",zone=\"vGPU\"}"),
                     100);
    ck_assert_int_eq(harness_metric(port, "QuotaUsed{quotanamespace=\"team-a\","
                                          "quotaName=\"nvidia.com/gpucores\",limit=\"100\","
                                          "zone=\"vGPU\"}"),
                     30);
    ck_assert_int_eq(harness_metric(port, "hami_resource_quota_used{namespace=\"team-b\","
                                          "quota_name=\"nvidia.com/gpumem\",limit=\"0\","
                                          "zone=\"vGPU\"}"),
                     4000);

    /* 10000 MiB more than team-a has left: every node says so. */
    cJSON *f = filter(port, new_pod("team-a", "big", "10000", "10"));
    refused_by_quota(f, "quota of namespace team-a leaves nvidia.com/gpumem 8000, "
                        "nvidia.com/gpucores 70");
    ck_assert_ptr_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "FailedAndUnresolvableNodes"), "q1"));
    cJSON_Delete(f);

    /* Two pods of 5000: the first's reservation counts against the second. */
    f = filter(port, new_pod("team-a", "a1", "5000", "10"));
    ck_assert_ptr_nonnull(chosen(f));
    char node[64];
    snprintf(node, sizeof node, "%s", chosen(f));
    cJSON_Delete(f);
    f = filter(port, new_pod("team-a", "a2", "5000", "10"));
    refused_by_quota(f, "leaves nvidia.com/gpumem 3000, nvidia.com/gpucores 60");
    cJSON_Delete(f);
    inspect_quota(port, "team-a", "nvidia.com/gpumem", &used, &limit);
    ck_assert_int_eq(used, 13000);
    bind(port, "team-a", "a1", node);
    f = filter(port, new_pod("team-a", "a2", "3000", "10"));
    ck_assert_ptr_nonnull(chosen(f));
    cJSON_Delete(f);

    /* team-b: cores limited to 50 (10 held) although its memory limit is
     * malformed; no memory limit applies. */
    f = filter(port, new_pod("team-b", "b1", "30000", "41"));
    refused_by_quota(f, "quota of namespace team-b leaves nvidia.com/gpucores 40");
    cJSON_Delete(f);
    f = filter(port, new_pod("team-b", "b2", "30000", "40"));
    ck_assert_ptr_nonnull(chosen(f));
    cJSON_Delete(f);

    /* team-c limits Hygon memory only: NVIDIA pods are not limited. */
    f = filter(port, new_pod("team-c", "c1", "40000", "100"));
    ck_assert_ptr_nonnull(chosen(f));
    cJSON_Delete(f);
    harness_finish(&h);
}
END_TEST

START_TEST(simulate_uses_quotas)
{
    char snap[4096], pod[] = "/tmp/vs-quota-pod-XXXXXX";
    harness_data_path("e2e/quota.json", snap, sizeof snap);
    int fd = mkstemp(pod);
    ck_assert_int_ge(fd, 0);
    cJSON *p = new_pod("team-a", "sim", "9000", "10");
    char *text = cJSON_PrintUnformatted(p);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const char *args[] = {"simulate", "--snapshot", snap, "--pod", pod, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 20000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(buf_str(&r.out), "\"node\":null") &&
                      strstr(buf_str(&r.out), "2/2 ResourceQuotaNotFit; quota of namespace team-a "
                                              "leaves nvidia.com/gpumem 8000"),
                  "%s", buf_str(&r.out));
    harness_result_free(&r);
    unlink(pod);
    free(text);
    cJSON_Delete(p);
}
END_TEST

/* ---- the fake API server ---- */

static void put_quota(struct fakeapi *f, const char *name, const char *hard)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"team-a\"},\"spec\":{\"hard\":{%s}}}",
             name, hard);
    ck_assert_int_gt(fakeapi_put(f, "resourcequotas", json), 0);
}

/* Wait (bounded) until /inspect shows team-a's gpumem limit as want. */
static bool limit_is(int port, long want)
{
    for (int i = 0; i < 250; i++) {
        long used, limit;
        inspect_quota(port, "team-a", "nvidia.com/gpumem", &used, &limit);
        if (limit == want)
            return true;
        harness_nap_ms(20);
    }
    return false;
}

START_TEST(live_quotas)
{
    char dir[] = "/tmp/vs-quota-XXXXXX", kubeconfig[128], json[4096];
    struct fakeapi *f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(kubeconfig, sizeof kubeconfig, "%s/kubeconfig", dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(f, kubeconfig), 0);
    for (int n = 1; n <= 2; n++) {
        snprintf(json, sizeof json,
                 "{\"kind\":\"Node\",\"metadata\":{\"name\":\"q%d\",\"annotations\":{"
                 "\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"GPU-q%d\\\",\\\"count\\\":"
                 "10,\\\"devmem\\\":40960,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100\\\","
                 "\\\"health\\\":true,\\\"index\\\":0}]\"}},\"status\":{\"allocatable\":{"
                 "\"nvidia.com/gpu\":\"10\"}}}",
                 n, n);
        ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
    }
    /* A pod of team-a holding 6000 MiB on q1, as the API shows it after a restart. */
    ck_assert_int_gt(
        fakeapi_put(f, "pods",
                    "{\"metadata\":{\"name\":\"held\",\"namespace\":\"team-a\",\"uid\":\"uid-h\","
                    "\"annotations\":{\"hami.io/vgpu-devices-allocated\":"
                    "\"GPU-q1,NVIDIA,6000,10:;\"}},\"spec\":{\"nodeName\":\"q1\",\"containers\":"
                    "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
                    "\"nvidia.com/gpumem\":\"6000\",\"nvidia.com/gpucores\":\"10\"}}}]},"
                    "\"status\":{\"phase\":\"Running\"}}"),
        0);
    put_quota(f, "gpu", "\"limits.nvidia.com/gpumem\":\"10000\"");
    const char *args[] = {"--kubeconfig", kubeconfig, "--leader-elect-lease=", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    ck_assert(harness_wait_ready(port, 15000));

    /* Usage rebuilt from the pods: 4000 left. */
    ck_assert(limit_is(port, 10000));
    cJSON *r = filter(port, new_pod("team-a", "p1", "5000", "10"));
    refused_by_quota(r, "leaves nvidia.com/gpumem 4000");
    cJSON_Delete(r);
    /* The quota raised (MODIFIED): it fits. */
    put_quota(f, "gpu", "\"limits.nvidia.com/gpumem\":\"12000\"");
    ck_assert(limit_is(port, 12000));
    r = filter(port, new_pod("team-a", "p2", "5000", "10"));
    ck_assert_ptr_nonnull(chosen(r));
    cJSON_Delete(r);
    /* A second quota that is stricter, one of its limits malformed. */
    put_quota(f, "strict",
              "\"limits.nvidia.com/gpumem\":\"11000\","
              "\"limits.nvidia.com/gpucores\":\"1.5\"");
    ck_assert(limit_is(port, 11000));
    ck_assert(
        harness_wait_log(h, "limits.nvidia.com/gpucores \"1.5\" is not a whole number", 5000));
    ck_assert_int_ge(
        harness_metric(port, "vgpu_scheduler_errors_total{reason=\"quota_malformed\"}"), 1);
    r = filter(port, new_pod("team-a", "p3", "1000", "10"));
    refused_by_quota(r, "leaves nvidia.com/gpumem 0");
    cJSON_Delete(r);
    /* Both deleted: no limit. */
    ck_assert_int_eq(fakeapi_delete(f, "resourcequotas", "team-a", "gpu"), 0);
    ck_assert_int_eq(fakeapi_delete(f, "resourcequotas", "team-a", "strict"), 0);
    ck_assert(limit_is(port, -1));
    r = filter(port, new_pod("team-a", "p4", "30000", "10"));
    ck_assert_ptr_nonnull(chosen(r));
    cJSON_Delete(r);

    ck_assert_int_eq(harness_stop(h, SIGTERM, 10000), 0);
    harness_free(h);
    fakeapi_stop(f);
    unlink(kubeconfig);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e_quota");
    TCase *tc = tcase_create("quota");
    tcase_add_test(tc, snapshot_quotas);
    tcase_add_test(tc, simulate_uses_quotas);
    tcase_add_test(tc, live_quotas);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

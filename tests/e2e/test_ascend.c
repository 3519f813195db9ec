/* Huawei Ascend beside NVIDIA end to end on the real binary
 * (tests/data/e2e/ascend.json): node nv-node has one NVIDIA T4; node
 * npu-node four Ascend 910B3 (64 GB each; NPU-0 and NPU-1 on NetworkID 0,
 * NPU-2 and NPU-3 on 1) registered under HAMi's Ascend keys, where pod
 * "npu-held" holds a vir10_3c_32g vNPU of NPU-0 (32768 MiB in
 * hami.io/Ascend910B3-devices-allocated; it asked 20000, the template's
 * memory is what counts). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

static char cluster[4096];
static struct harness *h; /* one process per test */

static void setup(void)
{
    harness_data_path("e2e/ascend.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/ascend.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* Filter pod (taken) on both nodes; the parsed answer. */
static cJSON *filter(cJSON *pod)
{
    static const char *const nodes[] = {"nv-node", "npu-node", NULL};
    return harness_filter(harness_port(h), pod, nodes);
}

/* A pod of one container asking `count` of resource res (and mem MiB of
 * res-memory when not NULL), with huawei.com/vnpu-mode when mode is set. */
static cJSON *new_pod(const char *name, const char *res, const char *count, const char *mem,
                      const char *mode)
{
    char uid[64], key[128];
    snprintf(uid, sizeof uid, "uid-%s", name);
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    if (mode)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                                "huawei.com/vnpu-mode", mode);
    cJSON *list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(p, "spec"), "containers");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "main");
    cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
    cJSON_AddStringToObject(lim, res, count);
    snprintf(key, sizeof key, "%s-memory", res);
    if (mem)
        cJSON_AddStringToObject(lim, key, mem);
    cJSON_AddItemToArray(list, c);
    return p;
}

/* An Ascend pod lands only on Ascend devices, an NVIDIA pod only on NVIDIA's. */
START_TEST(ascend_pod_on_ascend_node)
{
    cJSON *f = filter(new_pod("a", "huawei.com/Ascend910B3", "1", "5000", NULL));
    ck_assert_str_eq(harness_only_node(f), "npu-node");
    harness_assert_reason(f, "nv-node", "NodeInsufficientDevice");
    cJSON_Delete(f);
    f = filter(new_pod("n", "nvidia.com/gpu", "1", NULL, NULL));
    ck_assert_str_eq(harness_only_node(f), "nv-node");
    harness_assert_reason(f, "npu-node", "NodeInsufficientDevice");
    cJSON_Delete(f);
    /* Another chip's pod finds no device of its chip on the 910B3 node. */
    f = filter(new_pod("p", "huawei.com/Ascend310P", "1", NULL, NULL));
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "npu-node", "NodeInsufficientDevice");
    cJSON_Delete(f);
}
END_TEST

/* The usage of npu-held is rebuilt from its devices annotation: 32768 MiB
 * (its template) on NPU-0, so four whole cards do not fit. */
START_TEST(ascend_usage_from_pods)
{
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *n, *g;
    int seen = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), "npu-node") != 0)
            continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid"));
            double mem = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
            ck_assert_ptr_nonnull(id);
            ck_assert_msg(strcmp(id, "NPU-0") == 0 ? mem == 32768 : mem == 0, "%s: %g MiB", id,
                          mem);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 4);
    cJSON_Delete(ins);
    cJSON *f = filter(new_pod("w", "huawei.com/Ascend910B3", "4", NULL, NULL));
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "npu-node",
                          "1/4 CardInsufficientMemory, 3/4 AllocatedCardsInsufficientRequest");
    cJSON_Delete(f);
    /* 32768 more (the other half of NPU-0) still fits there. */
    f = filter(new_pod("half", "huawei.com/Ascend910B3", "1", "30000", NULL));
    ck_assert_str_eq(harness_only_node(f), "npu-node");
    cJSON_Delete(f);
}
END_TEST

/* Too big for the card: the reason word; the soft split: ModeNotFit. */
START_TEST(ascend_refusals)
{
    cJSON *f = filter(new_pod("big", "huawei.com/Ascend910B3", "1", "70000", NULL));
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "npu-node", "4/4 CardInsufficientMemory");
    cJSON_Delete(f);
    f = filter(new_pod("soft", "huawei.com/Ascend910B3", "1", "8000", "hami-core"));
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "npu-node", "1/4 ModeNotFit");
    cJSON_Delete(f);
}
END_TEST

/* simulate: HAMi's bytes. The memory is its template's (5000 -> 16384),
 * huawei.com/Ascend910B3 names the template for the device plugin, and
 * predicate-time is written beside them. */
static cJSON *simulate(const char *pod_file)
{
    char pod[4096];
    harness_data_path(pod_file, pod, sizeof pod);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod", pod, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_msg(r.status == 0, "%s", buf_str(&r.err));
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    harness_result_free(&r);
    return j;
}

static const char *ann(const cJSON *j, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "annotations"), key));
}

START_TEST(ascend_simulate)
{
    cJSON *j = simulate("e2e/ascend-pod.json");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), "npu-node");
    const char *dev = ann(j, "hami.io/Ascend910B3-devices-allocated");
    ck_assert_ptr_nonnull(dev);
    char uuid[16];
    snprintf(uuid, sizeof uuid, "%.5s", dev);
    char want[256];
    snprintf(want, sizeof want, "%s,Ascend910B3,16384,0:;", uuid);
    ck_assert_str_eq(dev, want);
    ck_assert_str_eq(ann(j, "hami.io/Ascend910B3-devices-to-allocate"), want);
    snprintf(want, sizeof want, "[{\"UUID\":\"%s\",\"temp\":\"vir05_1c_16g\",\"memory\":16384}]",
             uuid);
    ck_assert_str_eq(ann(j, "huawei.com/Ascend910B3"), want);
    ck_assert_str_eq(ann(j, "predicate-time"), ann(j, "hami.io/vgpu-time"));
    ck_assert_ptr_null(ann(j, "hami.io/vgpu-devices-allocated"));
    cJSON_Delete(j);
    /* Two whole cards: the network with both free (NetworkID 1: NPU-2, NPU-3). */
    j = simulate("e2e/ascend-pod-2.json");
    ck_assert_str_eq(ann(j, "hami.io/Ascend910B3-devices-allocated"),
                     "NPU-2,Ascend910B3,65536,0:NPU-3,Ascend910B3,65536,0:;");
    ck_assert_str_eq(
        ann(j, "huawei.com/Ascend910B3"),
        "[{\"UUID\":\"NPU-2\",\"memory\":65536},{\"UUID\":\"NPU-3\",\"memory\":65536}]");
    cJSON_Delete(j);
}
END_TEST

/* The demo cluster's Ascend node takes examples/requests/filter-ascend.json
 * (the README's quickstart), and only it. */
START_TEST(demo_filter_ascend)
{
    char cl[4096], req[4096];
    const char *src = getenv("VS_SOURCE");
    ck_assert_ptr_nonnull(src);
    snprintf(cl, sizeof cl, "%s/examples/demo-cluster.json", src);
    snprintf(req, sizeof req, "%s/examples/requests/filter-ascend.json", src);
    const char *args[] = {"--snapshot", cl, NULL};
    struct harness *d = harness_start(args);
    ck_assert_ptr_nonnull(d);
    char *body = harness_read(req, NULL);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(d), "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    cJSON *f = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(harness_only_node(f), "npu-910b3-1");
    harness_assert_reason(f, "gpu-t4-1", "NodeInsufficientDevice");
    cJSON_Delete(f);
    harness_reply_free(&r);
    free(body);
    harness_finish(&d);
}
END_TEST

/* ---- through a (fake) API server: bind, then a restart ---- */

/* The binary on the fake behind kubeconfig, one replica, ready. */
static struct harness *start_live(const char *kubeconfig)
{
    const char *args[] = {
        "--kubeconfig",          kubeconfig, "--kube-qps", "5000", "--kube-burst", "5000",
        "--leader-elect-lease=", NULL};
    struct harness *l = harness_start(args);
    ck_assert_ptr_nonnull(l);
    ck_assert_msg(harness_wait_ready(harness_port(l), 15000), "not ready after 15 s");
    return l;
}

/* Memory used on NPU uuid, from /inspect. -1 when not shown. */
static double npu_mem(int port, const char *uuid)
{
    cJSON *ins = harness_get_json(port, "/inspect");
    const cJSON *n, *g;
    double mem = -1;
    ck_assert_ptr_nonnull(ins);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid")), uuid) == 0)
            mem = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
    }
    cJSON_Delete(ins);
    return mem;
}

/* kube-scheduler's filter and bind of pod "a" (5000 MiB of a 910B3): the
 * pod gets HAMi's Ascend annotations in the API; a new process rebuilds
 * the NPU's usage from them, the template's 16384 MiB. */
START_TEST(live_bind_and_restart)
{
    char dir[64] = "/tmp/vs-ascend-XXXXXX", kc[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    struct fakeapi *f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fakeapi_write_kubeconfig(f, kc), 0);
    char *text = harness_slurp("e2e/ascend.json");
    cJSON *list = cJSON_Parse(text);
    free(text);
    cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(list, "items"), 1);
    ck_assert_str_eq(harness_meta(node, "name"), "npu-node");
    char *nj = cJSON_PrintUnformatted(node);
    ck_assert_int_gt(fakeapi_put(f, "nodes", nj), 0);
    free(nj);
    cJSON_Delete(list);
    cJSON *pod = new_pod("a", "huawei.com/Ascend910B3", "1", "5000", NULL);
    cJSON_AddStringToObject(cJSON_GetObjectItem(pod, "spec"), "schedulerName", "vgpu-scheduler");
    cJSON_AddObjectToObject(pod, "status");
    char *pj = cJSON_PrintUnformatted(pod);
    ck_assert_int_gt(fakeapi_put(f, "pods", pj), 0);
    free(pj);
    cJSON_Delete(pod);

    struct harness *l = start_live(kc);
    cJSON *p = fakeapi_get(f, "pods", "default", "a");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "Pod", p);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "NodeNames"), cJSON_CreateString("npu-node"));
    char *body = cJSON_PrintUnformatted(a), bind[512];
    cJSON_Delete(a);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(l), "/filter", body, strlen(body), &r), 0);
    ck_assert_msg(strstr(buf_str(&r.body), "\"NodeNames\":[\"npu-node\"]"), "%s", buf_str(&r.body));
    harness_reply_free(&r);
    free(body);
    snprintf(bind, sizeof bind,
             "{\"PodName\":\"a\",\"PodNamespace\":\"default\",\"PodUID\":\"uid-a\","
             "\"Node\":\"npu-node\"}");
    ck_assert_int_eq(harness_post(harness_port(l), "/bind", bind, strlen(bind), &r), 0);
    ck_assert_msg(r.status == 200 && strstr(buf_str(&r.body), "\"Error\":\"\""), "%s",
                  buf_str(&r.body));
    harness_reply_free(&r);

    p = fakeapi_get(f, "pods", "default", "a");
    const char *dev = harness_annotation(p, "hami.io/Ascend910B3-devices-allocated");
    ck_assert_ptr_nonnull(dev);
    char uuid[8], want[128];
    snprintf(uuid, sizeof uuid, "%.5s", dev);
    snprintf(want, sizeof want, "%s,Ascend910B3,16384,0:;", uuid);
    ck_assert_str_eq(dev, want);
    ck_assert_str_eq(harness_annotation(p, "hami.io/Ascend910B3-devices-to-allocate"), want);
    snprintf(want, sizeof want, "[{\"UUID\":\"%s\",\"temp\":\"vir05_1c_16g\",\"memory\":16384}]",
             uuid);
    ck_assert_str_eq(harness_annotation(p, "huawei.com/Ascend910B3"), want);
    ck_assert_ptr_nonnull(harness_annotation(p, "predicate-time"));
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "nodeName")),
        "npu-node");
    cJSON_Delete(p);
    /* The device plugin's part: the pod runs. */
    ck_assert_int_eq(fakeapi_patch(f, "pods", "default", "a",
                                   "{\"metadata\":{\"annotations\":{\"hami.io/bind-phase\":"
                                   "\"success\"}},\"status\":{\"phase\":\"Running\"}}"),
                     200);
    ck_assert_int_eq(harness_stop(l, SIGTERM, 10000), 0);
    harness_free(l);

    l = start_live(kc);
    ck_assert_int_eq(npu_mem(harness_port(l), uuid), 16384);
    ck_assert_int_eq(harness_stop(l, SIGTERM, 10000), 0);
    harness_free(l);
    fakeapi_stop(f);
    unlink(kc);
    rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ascend");
    TCase *tc = tcase_create("ascend");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ascend_pod_on_ascend_node);
    tcase_add_test(tc, ascend_usage_from_pods);
    tcase_add_test(tc, ascend_refusals);
    tcase_add_test(tc, ascend_simulate);
    suite_add_tcase(s, tc);
    TCase *demo = tcase_create("demo");
    tcase_set_timeout(demo, 30);
    tcase_add_test(demo, demo_filter_ascend);
    tcase_add_test(demo, live_bind_and_restart);
    suite_add_tcase(s, demo);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

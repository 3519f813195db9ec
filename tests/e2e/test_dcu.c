/* Hygon DCU beside NVIDIA end to end on the real binary
 * (tests/data/e2e/dcu.json): node nv-node has one NVIDIA T4 (16 GB); node
 * dcu-node two DCU Z100 (16 GB each) registered under HAMi's DCU keys,
 * where pod "dcu-held" holds 8000 MiB and 40 % of DCU-0 through
 * hami.io/dcu-devices-allocated. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

static char cluster[4096];
static struct harness *h; /* one process per test */

static void setup(void)
{
    harness_data_path("e2e/dcu.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/dcu.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* Filter pod (taken) on both nodes; the parsed answer. */
static cJSON *filter(cJSON *pod)
{
    static const char *const nodes[] = {"nv-node", "dcu-node", NULL};
    return harness_filter(harness_port(h), pod, nodes);
}

/* Add a container `name` asking count devices of the resource `count` (with
 * mem and cores when not NULL) to pod. */
static void add_ctr(cJSON *pod, const char *name, const char *count, const char *mem_res,
                    const char *mem, const char *cores_res, const char *cores)
{
    cJSON *spec = cJSON_GetObjectItem(pod, "spec");
    cJSON *list = cJSON_GetObjectItem(spec, "containers");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
    cJSON_AddStringToObject(lim, count, "1");
    if (mem)
        cJSON_AddStringToObject(lim, mem_res, mem);
    if (cores)
        cJSON_AddStringToObject(lim, cores_res, cores);
    cJSON_AddItemToArray(list, c);
}

static cJSON *new_pod(const char *name)
{
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s", name);
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON_AddArrayToObject(cJSON_AddObjectToObject(p, "spec"), "containers");
    return p;
}

/* A DCU pod lands only on the DCU node; a node without devices of the
 * pod's vendor has, as HAMi says, too few devices. */
START_TEST(dcu_pod_on_dcu_node)
{
    cJSON *p = new_pod("d");
    add_ctr(p, "main", "hygon.com/dcunum", "hygon.com/dcumem", "4000", "hygon.com/dcucores", "30");
    cJSON *f = filter(p);
    ck_assert_str_eq(harness_only_node(f), "dcu-node");
    const char *why = harness_failed_reason(f, "nv-node");
    ck_assert_msg(why && strcmp(why, "NodeInsufficientDevice") == 0, "nv-node: %s",
                  why ? why : "(none)");
    cJSON_Delete(f);
}
END_TEST

START_TEST(nvidia_pod_on_nvidia_node)
{
    cJSON *p = new_pod("n");
    add_ctr(p, "main", "nvidia.com/gpu", "nvidia.com/gpumem", "4000", "nvidia.com/gpucores", "30");
    cJSON *f = filter(p);
    ck_assert_str_eq(harness_only_node(f), "nv-node");
    const char *why = harness_failed_reason(f, "dcu-node");
    ck_assert_msg(why && strcmp(why, "NodeInsufficientDevice") == 0, "dcu-node: %s",
                  why ? why : "(none)");
    cJSON_Delete(f);
}
END_TEST

/* Two vendors in one pod (one per container) need a node carrying both:
 * neither node here does, so each has too few devices, as HAMi says. */
START_TEST(two_vendors_need_both)
{
    cJSON *p = new_pod("m");
    add_ctr(p, "gpu", "nvidia.com/gpu", NULL, NULL, NULL, NULL);
    add_ctr(p, "dcu", "hygon.com/dcunum", NULL, NULL, NULL, NULL);
    cJSON *f = filter(p);
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(f, "Error"));
    ck_assert_msg(!e || !*e, "%s", e);
    ck_assert_str_eq(harness_only_node(f), "");
    for (int i = 0; i < 2; i++) {
        const char *node = i ? "dcu-node" : "nv-node";
        const char *why = harness_failed_reason(f, node);
        ck_assert_msg(why && strcmp(why, "NodeInsufficientDevice") == 0, "%s: %s", node,
                      why ? why : "(none)");
    }
    cJSON_Delete(f);
}
END_TEST

/* Steering annotations are read for one vendor per pod: a two-vendor pod
 * carrying one is a clear error, not steered wrongly. */
START_TEST(two_vendors_steered_refused)
{
    cJSON *p = new_pod("s");
    add_ctr(p, "gpu", "nvidia.com/gpu", NULL, NULL, NULL, NULL);
    add_ctr(p, "dcu", "hygon.com/dcunum", NULL, NULL, NULL, NULL);
    cJSON *anns = cJSON_AddObjectToObject(cJSON_GetObjectItem(p, "metadata"), "annotations");
    cJSON_AddStringToObject(anns, "nvidia.com/use-gputype", "T4");
    cJSON *f = filter(p);
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(f, "Error"));
    ck_assert_msg(e && strstr(e, "nvidia.com/use-gputype") && strstr(e, "two vendors") &&
                      strstr(e, "not supported yet"),
                  "%s", e ? e : "(no error)");
    ck_assert_str_eq(harness_only_node(f), "");
    cJSON_Delete(f);
}
END_TEST

/* The DCU pod's usage is rebuilt from hami.io/dcu-devices-allocated. */
START_TEST(dcu_usage_from_pods)
{
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *n, *g;
    int seen = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), "dcu-node") != 0)
            continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid"));
            double mem = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
            double cores = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "coresUsed"));
            ck_assert_ptr_nonnull(id);
            ck_assert_msg(strcmp(id, "DCU-0") == 0 ? mem == 8000 && cores == 40
                                                   : mem == 0 && cores == 0,
                          "%s: %g MiB, %g cores", id, mem, cores);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 2);
    cJSON_Delete(ins);
    /* So a DCU pod asking the whole of a device (HAMi's defaults: all its
     * memory, 100 % of its compute) can only take DCU-1. */
    cJSON *p = new_pod("whole");
    add_ctr(p, "main", "hygon.com/dcunum", NULL, NULL, NULL, NULL);
    cJSON *f = filter(p);
    ck_assert_str_eq(harness_only_node(f), "dcu-node");
    cJSON_Delete(f);
}
END_TEST

/* simulate: the DCU allocation keys and vendor word, HAMi's DCU defaults. */
START_TEST(dcu_simulate)
{
    char pod[4096];
    harness_data_path("e2e/dcu-pod.json", pod, sizeof pod);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod", pod, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), "dcu-node");
    const cJSON *a = cJSON_GetObjectItem(j, "annotations");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/dcu-devices-allocated")),
                     "DCU-1,DCU,16384,100:;");
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/dcu-devices-to-allocate")),
        "DCU-1,DCU,16384,100:;");
    ck_assert_ptr_null(cJSON_GetObjectItem(a, "hami.io/vgpu-devices-allocated"));
    cJSON_Delete(j);
    harness_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("dcu");
    TCase *tc = tcase_create("dcu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dcu_pod_on_dcu_node);
    tcase_add_test(tc, nvidia_pod_on_nvidia_node);
    tcase_add_test(tc, two_vendors_need_both);
    tcase_add_test(tc, two_vendors_steered_refused);
    tcase_add_test(tc, dcu_usage_from_pods);
    tcase_add_test(tc, dcu_simulate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

/* Init containers and sidecars through the real binary (issue 19): a
 * Kubernetes sidecar (an init container with restartPolicy Always) adds to
 * the app containers, and a pod whose init containers exited 0 holds only
 * its sidecars and app containers. Fixture: tests/data/e2e/containers.json,
 * four nodes of one 80 GB GPU (81920 MiB) each: solo (empty), side
 * (a pod with a 40000 MiB sidecar and a 30000 MiB app container), shrink
 * (a 70000 MiB init container exited 0, a 10000 MiB app container), held
 * (the same pod, but its init container exited 1). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static char cluster[4096];

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/e2e/containers.json", d ? d : "tests/data");
}

/* One container asking one GPU of mem MiB (0: no GPU). */
static cJSON *container(const char *name, int mem, bool sidecar)
{
    cJSON *c = cJSON_CreateObject(), *res = cJSON_AddObjectToObject(c, "resources");
    cJSON *lim = cJSON_AddObjectToObject(res, "limits");
    char v[32];
    cJSON_AddStringToObject(c, "name", name);
    if (sidecar)
        cJSON_AddStringToObject(c, "restartPolicy", "Always");
    if (mem) {
        snprintf(v, sizeof v, "%d", mem);
        cJSON_AddStringToObject(lim, "nvidia.com/gpu", "1");
        cJSON_AddStringToObject(lim, "nvidia.com/gpumem", v);
    }
    return c;
}

/* A pod: init containers "name:mem[:sidecar]" then app containers
 * "name:mem", each list NULL-terminated. Caller frees. */
static cJSON *make_pod(const char *name, const char *const *init, const char *const *app)
{
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s", name);
    cJSON_AddStringToObject(p, "kind", "Pod");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON *spec = cJSON_AddObjectToObject(p, "spec");
    const char *const *lists[2] = {init, app};
    static const char *const keys[2] = {"initContainers", "containers"};
    for (int k = 0; k < 2; k++) {
        cJSON *arr = cJSON_AddArrayToObject(spec, keys[k]);
        for (int i = 0; lists[k] && lists[k][i]; i++) {
            char n[32];
            int mem = 0;
            char side[16] = "";
            ck_assert_int_ge(sscanf(lists[k][i], "%31[^:]:%d:%15s", n, &mem, side), 2);
            cJSON_AddItemToArray(arr, container(n, mem, strcmp(side, "sidecar") == 0));
        }
    }
    return p;
}

/* Filter pod (taken) on one node; returns whether the node was chosen, and
 * checks that a refusal names the node. */
static bool fits(int port, cJSON *pod, const char *node)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "Pod", pod);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "NodeNames"), cJSON_CreateString(node));
    char *body = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    free(body);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    const cJSON *names = cJSON_GetObjectItem(j, "NodeNames");
    bool chosen = cJSON_GetArraySize(names) == 1 &&
                  strcmp(cJSON_GetArrayItem(names, 0)->valuestring, node) == 0;
    if (!chosen) {
        const cJSON *failed = cJSON_GetObjectItem(j, "FailedNodes");
        const cJSON *un = cJSON_GetObjectItem(j, "FailedAndUnresolvableNodes");
        ck_assert_msg(cJSON_GetObjectItem(failed, node) || cJSON_GetObjectItem(un, node),
                      "refused without naming %s: %s", node, buf_str(&r.body));
    }
    harness_reply_free(&r);
    cJSON_Delete(j);
    return chosen;
}

/* Memory in use on a GPU per /inspect, -1 when it is not listed. */
static int gpu_mem(int port, const char *uuid)
{
    cJSON *ins = harness_get_json(port, "/inspect");
    const cJSON *n, *g;
    int mem = -1;
    ck_assert_ptr_nonnull(ins);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            if (strcmp(cJSON_GetObjectItem(g, "uuid")->valuestring, uuid) == 0)
                mem = cJSON_GetObjectItem(g, "memUsedMiB")->valueint;
        }
    }
    cJSON_Delete(ins);
    return mem;
}

static struct harness *start(void)
{
    const char *args[] = {"--snapshot", cluster, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    return h;
}

/* A 60000 MiB sidecar and a 60000 MiB app container run together: they
 * cannot share one 80 GB GPU (before: counted as max(60000, 60000) and
 * placed). A plain init container of the same size can, and so can a
 * smaller sidecar. */
START_TEST(sidecar_adds_to_app)
{
    struct harness *h = start();
    int port = harness_port(h);
    const char *side_big[] = {"proxy:60000:sidecar", NULL}, *init_big[] = {"warmup:60000", NULL};
    const char *side_small[] = {"proxy:20000:sidecar", NULL};
    const char *app[] = {"main:60000", NULL};
    ck_assert(!fits(port, make_pod("sc-big", side_big, app), "solo"));
    /* One name: a filter of the same pod replaces its reservation. */
    ck_assert(fits(port, make_pod("probe", init_big, app), "solo"));
    ck_assert(fits(port, make_pod("probe", side_small, app), "solo"));
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* Usage rebuilt from placed pods: the sidecar pod on "side" holds 40000 +
 * 30000 (before: 40000), so a 20000 MiB pod no longer fits there. */
START_TEST(sidecar_usage_from_pods)
{
    struct harness *h = start();
    int port = harness_port(h);
    const char *app[] = {"main:20000", NULL};
    ck_assert_int_eq(gpu_mem(port, "GPU-side"), 70000);
    ck_assert(!fits(port, make_pod("late", NULL, app), "side"));
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* The init container of the pod on "shrink" exited 0: the pod holds its
 * app container's 10000 MiB only (before: 70000), and a 60000 MiB pod fits
 * beside it. On "held" the init container exited 1: it keeps 70000. */
START_TEST(finished_init_gives_back)
{
    struct harness *h = start();
    int port = harness_port(h);
    const char *app[] = {"main:60000", NULL};
    ck_assert_int_eq(gpu_mem(port, "GPU-shrink"), 10000);
    ck_assert_int_eq(gpu_mem(port, "GPU-held"), 70000);
    ck_assert(fits(port, make_pod("after-init", NULL, app), "shrink"));
    ck_assert(!fits(port, make_pod("after-fail", NULL, app), "held"));
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* The device annotation keeps HAMi's container order when a sidecar is
 * fitted first: init containers in spec order (the sidecar in its place),
 * then the app containers. */
START_TEST(annotation_order)
{
    const char *init[] = {"warmup:10000", "proxy:20000:sidecar", NULL},
               *app[] = {"main:30000", NULL};
    cJSON *pod = make_pod("order", init, app);
    char path[] = "/tmp/vs-containers-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char *s = cJSON_PrintUnformatted(pod);
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
    free(s);
    cJSON_Delete(pod);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod",
                          path,       "--nodes",    "solo",  NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 30000, &r), 0);
    unlink(path);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    const cJSON *anns = cJSON_GetObjectItem(j, "annotations");
    const char *dev =
        cJSON_GetStringValue(cJSON_GetObjectItem(anns, "hami.io/vgpu-devices-allocated"));
    ck_assert_ptr_nonnull(dev);
    ck_assert_str_eq(dev,
                     "GPU-solo,NVIDIA,10000,0:;GPU-solo,NVIDIA,20000,0:;GPU-solo,NVIDIA,30000,0:;");
    cJSON_Delete(j);
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    setup();
    Suite *s = suite_create("e2e-containers");
    TCase *tc = tcase_create("containers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sidecar_adds_to_app);
    tcase_add_test(tc, sidecar_usage_from_pods);
    tcase_add_test(tc, finished_init_gives_back);
    tcase_add_test(tc, annotation_order);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* The pending pod store through the real binary against the fake API
 * server (issue 21): what bind fits a pod from when it has no reservation
 * is the compact copy of the pod (model_pod_compact), and it must write
 * the same annotations as a bind that fits the whole pod; a store full of
 * pods never bound evicts the oldest, and a bind whose spec was evicted
 * says so and writes nothing.
 *
 * Every loop is bounded in count and time; nothing asserts timing. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

struct env {
    struct fakeapi *f;
    struct harness *h;
    char dir[64], kubeconfig[128];
    int port;
};

/* Node name with a T4 and two L4s of 10 slots and 24000 MiB each. */
static void put_node(struct fakeapi *f, const char *name)
{
    static const char *const types[] = {"NVIDIA-T4", "NVIDIA-L4", "NVIDIA-L4"};
    char reg[4096] = "[", json[8192];
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(reg);
        snprintf(reg + l, sizeof reg - l,
                 "%s{\\\"id\\\":\\\"%s-g%d\\\",\\\"count\\\":10,\\\"devmem\\\":24000,"
                 "\\\"devcore\\\":100,\\\"type\\\":\\\"%s\\\",\\\"health\\\":true,"
                 "\\\"index\\\":%d,\\\"numa\\\":0,\\\"mode\\\":\\\"hami-core\\\"}",
                 i ? "," : "", name, i, types[i], i);
    }
    strcat(reg, "]");
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"%s\"}},\"status\":{"
             "\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\",\"nvidia.com/gpu\":\"3\"}}}",
             name, reg);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

/* A pod every part of whose request shapes its placement (a GPU type,
 * a GPU policy, a sidecar asking a GPU, two GPUs of an app container,
 * cpu and memory, a priority), among what bind does not read: 100 KiB
 * of annotations and environment, labels, an image per container. */
static void put_rich_pod(struct fakeapi *f, const char *name)
{
    size_t junk = 100 << 10;
    char *big = malloc(junk + 1), *json = malloc(3 * junk);
    memset(big, 'j', junk);
    big[junk] = '\0';
    snprintf(json, 3 * junk,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"labels\":{\"app\":"
             "\"x\"},\"annotations\":{\"nvidia.com/use-gputype\":\"L4\","
             "\"hami.io/gpu-scheduler-policy\":\"binpack\",\"junk\":\"%s\"}},\"spec\":{"
             "\"schedulerName\":\"vgpu-scheduler\",\"priority\":5,\"initContainers\":[{"
             "\"name\":\"side\",\"image\":\"agent:1\",\"restartPolicy\":\"Always\","
             "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":"
             "\"2000\",\"nvidia.com/gpucores\":\"15\"}}}],\"containers\":[{\"name\":\"main\","
             "\"image\":\"cuda:12\",\"env\":[{\"name\":\"JUNK\",\"value\":\"%s\"}],"
             "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\",\"nvidia.com/gpumem\":\"3000\","
             "\"nvidia.com/gpucores\":\"20\"},\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}},"
             "{\"name\":\"plain\",\"image\":\"busybox\"}]},\"status\":{\"phase\":\"Pending\"}}",
             name, big, big);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
    free(big);
    free(json);
}

/* A small pod asking one GPU share. */
static void put_small_pod(struct fakeapi *f, const char *name)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},\"spec\":{"
             "\"schedulerName\":\"vgpu-scheduler\",\"containers\":[{\"name\":\"c\","
             "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":"
             "\"1000\",\"nvidia.com/gpucores\":\"5\"}}}]},\"status\":{\"phase\":\"Pending\"}}",
             name);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
}

static void env_start(struct env *e, const char *const *extra)
{
    memset(e, 0, sizeof *e);
    e->f = fakeapi_start();
    ck_assert_ptr_nonnull(e->f);
    snprintf(e->dir, sizeof e->dir, "/tmp/vs-pend-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s/kubeconfig", e->dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(e->f, e->kubeconfig), 0);
    put_node(e->f, "n1");
    put_node(e->f, "n2");
    put_rich_pod(e->f, "rich");
    put_small_pod(e->f, "first");
    const char *args[16] = {"--kubeconfig", e->kubeconfig, "--leader-elect-lease="};
    int n = 3;
    for (int i = 0; extra[i] && n < 14; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    e->h = harness_start(args);
    ck_assert_ptr_nonnull(e->h);
    e->port = harness_port(e->h);
    ck_assert_msg(harness_wait_ready(e->port, 15000), "not ready after 15 s");
}

static void env_stop(struct env *e)
{
    int st = e->h ? harness_stop(e->h, SIGTERM, 10000) : 0;
    harness_dump(e->h);
    ck_assert_msg(st == 0, "vgpu-scheduler ended with %d after SIGTERM", st);
    harness_free(e->h);
    fakeapi_stop(e->f);
    unlink(e->kubeconfig);
    rmdir(e->dir);
}

/* POST and parse; fails the test unless 200 with JSON. */
static cJSON *post(struct env *e, const char *path, cJSON *body)
{
    struct harness_reply r;
    char *text = cJSON_PrintUnformatted(body);
    ck_assert_int_eq(harness_post(e->port, path, text, strlen(text), &r), 0);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    harness_reply_free(&r);
    free(text);
    return j;
}

/* Filter pod (its JSON, taken) among nodes; the answer's Error is "". */
static void filter_json(struct env *e, cJSON *pod, const char *const *nodes)
{
    cJSON *args = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(args, "NodeNames");
    cJSON_AddItemToObject(args, "Pod", pod);
    for (int i = 0; nodes[i]; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(nodes[i]));
    cJSON *j = post(e, "/filter", args);
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    ck_assert_msg(err && !*err, "filter: %s", err ? err : "(no Error)");
    cJSON_Delete(j);
    cJSON_Delete(args);
}

/* Filter the fake's pod name among nodes. */
static void filter(struct env *e, const char *name, const char *const *nodes)
{
    cJSON *pod = fakeapi_get(e->f, "pods", "default", name);
    ck_assert_ptr_nonnull(pod);
    filter_json(e, pod, nodes);
}

/* Bind the fake's pod name to node: the answer's Error (a new string). */
static char *bind(struct env *e, const char *name, const char *node)
{
    cJSON *pod = fakeapi_get(e->f, "pods", "default", name);
    ck_assert_ptr_nonnull(pod);
    const char *uid =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "uid"));
    cJSON *args = cJSON_CreateObject();
    cJSON_AddStringToObject(args, "PodName", name);
    cJSON_AddStringToObject(args, "PodNamespace", "default");
    cJSON_AddStringToObject(args, "PodUID", uid);
    cJSON_AddStringToObject(args, "Node", node);
    cJSON *j = post(e, "/bind", args);
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    ck_assert_ptr_nonnull(err);
    char *out = strdup(err);
    cJSON_Delete(j);
    cJSON_Delete(args);
    cJSON_Delete(pod);
    return out;
}

/* The pod's annotation key as the fake holds it (a new string or NULL). */
static char *annotation(struct env *e, const char *name, const char *key)
{
    cJSON *pod = fakeapi_get(e->f, "pods", "default", name);
    ck_assert_ptr_nonnull(pod);
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "annotations"), key));
    char *out = v ? strdup(v) : NULL;
    cJSON_Delete(pod);
    return out;
}

static const char *const placed_keys[] = {
    "hami.io/vgpu-node",
    "hami.io/vgpu-devices-to-allocate",
    "hami.io/vgpu-devices-allocated",
};
#define NKEYS (sizeof placed_keys / sizeof placed_keys[0])

/* Bind "rich" to n2 with filter mode `mode`: single reserves at filter
 * from the whole pod; all reserves nothing, so bind fits the pod from the
 * pending store. The annotations written into got. */
static void bind_rich(const char *mode, char *got[NKEYS])
{
    struct env e;
    const char *const flags[] = {"--filter-mode", mode, NULL};
    const char *const only_n2[] = {"n2", NULL}, *const both[] = {"n1", "n2", NULL};
    env_start(&e, flags);
    filter(&e, "rich", strcmp(mode, "single") == 0 ? only_n2 : both);
    /* single: reserved at filter; all: nothing reserved, bind reads the store */
    ck_assert_int_eq(harness_metric(e.port, "vgpu_scheduler_table_entries{table=\"reservations\"}"),
                     strcmp(mode, "single") == 0 ? 1 : 0);
    char *err = bind(&e, "rich", "n2");
    ck_assert_msg(!*err, "bind: %s", err);
    free(err);
    for (size_t k = 0; k < NKEYS; k++)
        got[k] = annotation(&e, "rich", placed_keys[k]);
    env_stop(&e);
}

/* The compact copy places the pod as the whole pod does: the same node,
 * GPUs, memory and cores written, on L4s only (use-gputype), the sidecar's
 * share and the app container's two GPUs included. */
START_TEST(compact_binds_the_same)
{
    char *whole[NKEYS], *compact[NKEYS];
    bind_rich("single", whole);
    bind_rich("all", compact);
    for (size_t k = 0; k < NKEYS; k++) {
        ck_assert_msg(whole[k] && compact[k], "%s missing", placed_keys[k]);
        ck_assert_msg(strcmp(whole[k], compact[k]) == 0, "%s: \"%s\" (whole) against \"%s\"",
                      placed_keys[k], whole[k], compact[k]);
    }
    ck_assert_str_eq(whole[0], "n2");
    ck_assert_ptr_null(strstr(whole[1], "n2-g0"));        /* the T4 is not asked for */
    ck_assert_ptr_nonnull(strstr(whole[1], ",2000,15:")); /* the sidecar's share */
    ck_assert_ptr_nonnull(strstr(whole[1], ",3000,20"));  /* the app container's */
    for (size_t k = 0; k < NKEYS; k++) {
        free(whole[k]);
        free(compact[k]);
    }
}
END_TEST

static long metric(struct env *e, const char *series)
{
    return harness_metric(e->port, series);
}

/* A 4 KiB store and 60 distinct pods filtered, never bound: it holds no
 * more than 4 KiB, evicts the oldest, and counts it; the first pod's bind
 * then fails saying its spec was evicted and writes nothing (no node, no
 * annotation, no lock), and after a new filter it binds. Before: the
 * store refused new pods when full and kept the stale ones. */
START_TEST(evicted_spec_fails_bind_clearly)
{
    struct env e;
    const char *const flags[] = {"--filter-mode", "all", "--pending-store-kib", "4", NULL};
    const char *const both[] = {"n1", "n2", NULL};
    char name[64], uid[64];
    env_start(&e, flags);
    ck_assert_int_eq(metric(&e, "vgpu_scheduler_table_bytes_max{table=\"pending\"}"), 4096);
    /* two nodes: the reservations' floor */
    ck_assert_int_eq(metric(&e, "vgpu_scheduler_table_bytes_max{table=\"reservations\"}"),
                     512 << 10);
    ck_assert_int_eq(metric(&e, "vgpu_scheduler_reservation_evictions_total"), 0);
    filter(&e, "first", both);
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof name, "churn-%d", i);
        snprintf(uid, sizeof uid, "churn-uid-%d", i);
        cJSON *pod = fakeapi_get(e.f, "pods", "default", "first");
        cJSON *meta = cJSON_GetObjectItem(pod, "metadata");
        cJSON_ReplaceItemInObject(meta, "name", cJSON_CreateString(name));
        cJSON_ReplaceItemInObject(meta, "uid", cJSON_CreateString(uid));
        filter_json(&e, pod, both);
    }
    ck_assert_int_le(metric(&e, "vgpu_scheduler_table_bytes{table=\"pending\"}"), 4096);
    ck_assert_int_gt(metric(&e, "vgpu_scheduler_table_bytes{table=\"pending\"}"), 2048);
    long evicted = metric(&e, "vgpu_scheduler_pending_evictions_total");
    ck_assert_int_gt(evicted, 40);
    ck_assert_int_eq(metric(&e, "vgpu_scheduler_table_entries{table=\"reservations\"}"), 0);
    ck_assert_int_gt(metric(&e, "vgpu_scheduler_table_bytes{table=\"pods\"}"), -1);
    ck_assert_int_gt(metric(&e, "vgpu_scheduler_table_bytes{table=\"events\"}"), 0);

    char *err = bind(&e, "first", "n1");
    ck_assert_msg(strstr(err, "its spec was evicted from the pending pod store to make room "
                              "(full at 4096 bytes; --pending-store-kib): nothing was written; "
                              "filter it again"),
                  "%s", err);
    free(err);
    ck_assert_int_eq(metric(&e, "vgpu_scheduler_errors_total{reason=\"bind_evicted\"}"), 1);
    cJSON *pod = fakeapi_get(e.f, "pods", "default", "first");
    ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "nodeName"));
    cJSON_Delete(pod);
    for (size_t k = 0; k < NKEYS; k++)
        ck_assert_ptr_null(annotation(&e, "first", placed_keys[k]));
    cJSON *node = fakeapi_get(e.f, "nodes", "", "n1");
    ck_assert_ptr_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(node, "metadata"), "annotations"),
        "hami.io/mutex.lock"));
    cJSON_Delete(node);

    /* kube-scheduler filters it again: now it binds */
    filter(&e, "first", both);
    err = bind(&e, "first", "n1");
    ck_assert_msg(!*err, "bind after a new filter: %s", err);
    free(err);
    char *at = annotation(&e, "first", "hami.io/vgpu-node");
    ck_assert_str_eq(at, "n1");
    free(at);
    /* a pod filtered last is still held: its bind needs no new filter */
    put_small_pod(e.f, "last");
    filter(&e, "last", both);
    err = bind(&e, "last", "n2");
    ck_assert_msg(!*err, "bind of the newest: %s", err);
    free(err);
    env_stop(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pending-store");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, compact_binds_the_same);
    tcase_add_test(tc, evicted_spec_fails_bind_clearly);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

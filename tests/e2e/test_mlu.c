/* Cambricon MLU beside NVIDIA end to end on the real binary.
 *
 * Snapshot (tests/data/e2e/mlu.json): node nv-node has one NVIDIA T4;
 * node mlu-node carries no register annotation, only the capacity of
 * Cambricon's device plugin (400 smlu.vcore, 768 smlu.vmemory: four MLUs
 * of 49152 MiB), where pod "mlu-held" holds 12800 MiB and 40 % of MLU 0
 * through hami.io/cambricon-mlu-devices-allocated.
 *
 * Live (tests/support/fakeapi.h): bind takes cambricon.com/dsmlu.lock on
 * the node, a bare RFC 3339 time, as HAMi's Cambricon plugin expects, and
 * not hami.io/mutex.lock; a fresh lock refuses the next bind, an expired
 * one is taken over, one that is not a time refuses; a restarted process
 * rebuilds the MLU usage from the bound pods. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

#define MLU_LOCK "cambricon.com/dsmlu.lock"
#define MLU_MEM  "cambricon.com/mlu.smlu.vmemory"
#define MLU_CORE "cambricon.com/mlu.smlu.vcore"

static char cluster[4096];
static struct harness *h; /* one process per test */

static void setup(void)
{
    harness_data_path("e2e/mlu.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/mlu.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* Filter pod (taken) on both nodes; the parsed answer. */
static cJSON *filter(cJSON *pod)
{
    static const char *const nodes[] = {"nv-node", "mlu-node", NULL};
    return harness_filter(harness_port(h), pod, nodes);
}

/* A pod asking one device of `count` (with mem and cores when not NULL). */
static cJSON *new_pod(const char *name, const char *count, const char *mem_res, const char *mem,
                      const char *cores_res, const char *cores)
{
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s", name);
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON *list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(p, "spec"), "containers");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "main");
    cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
    cJSON_AddStringToObject(lim, count, "1");
    if (mem)
        cJSON_AddStringToObject(lim, mem_res, mem);
    if (cores)
        cJSON_AddStringToObject(lim, cores_res, cores);
    cJSON_AddItemToArray(list, c);
    return p;
}

static cJSON *mlu_pod(const char *name, const char *mem, const char *cores)
{
    return new_pod(name, "cambricon.com/vmlu", MLU_MEM, mem, MLU_CORE, cores);
}

/* An MLU pod lands only on the MLU node; an NVIDIA pod only on NVIDIA. */
START_TEST(mlu_pod_on_mlu_node)
{
    cJSON *f = filter(mlu_pod("m", "40", "30"));
    ck_assert_str_eq(harness_only_node(f), "mlu-node");
    harness_assert_reason(f, "nv-node", "NodeInsufficientDevice");
    cJSON_Delete(f);
    f = filter(new_pod("n", "nvidia.com/gpu", "nvidia.com/gpumem", "4000", NULL, NULL));
    ck_assert_str_eq(harness_only_node(f), "nv-node");
    harness_assert_reason(f, "mlu-node", "NodeInsufficientDevice");
    cJSON_Delete(f);
}
END_TEST

/* The usage of MLU 0 is rebuilt from hami.io/cambricon-mlu-devices-allocated;
 * the node's MLUs are derived from its capacity. */
START_TEST(mlu_inventory_and_usage)
{
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *n, *g;
    int seen = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), "mlu-node") != 0)
            continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            char want[64];
            snprintf(want, sizeof want, "mlu-node-cambricon-mlu-%d", seen);
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid"));
            double mem = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
            double cores = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "coresUsed"));
            ck_assert_ptr_nonnull(id);
            ck_assert_str_eq(id, want);
            ck_assert_msg(seen == 0 ? mem == 12800 && cores == 40 : mem == 0 && cores == 0,
                          "%s: %g MiB, %g cores", id, mem, cores);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 4);
    cJSON_Delete(ins);
}
END_TEST

/* More memory than an MLU has (200 x 256 MiB > 49152 MiB): HAMi's reason
 * word for every device; the whole of a device (no vmemory, no vcore) fits
 * only the three unused ones, so four of them do not fit. */
START_TEST(mlu_too_big)
{
    cJSON *f = filter(mlu_pod("big", "200", NULL));
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "mlu-node", "4/4 CardInsufficientMemory");
    cJSON_Delete(f);
    /* Four whole devices: MLU 0 is in use, so one of four is refused. */
    cJSON *p = mlu_pod("four", NULL, NULL);
    cJSON *lim = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "containers"),
                               0),
            "resources"),
        "limits");
    cJSON_ReplaceItemInObject(lim, "cambricon.com/vmlu", cJSON_CreateString("4"));
    f = filter(p);
    ck_assert_str_eq(harness_only_node(f), "");
    harness_assert_reason(f, "mlu-node",
                          "1/4 CardInsufficientMemory, 3/4 AllocatedCardsInsufficientRequest");
    cJSON_Delete(f);
    f = filter(mlu_pod("whole", NULL, NULL));
    ck_assert_str_eq(harness_only_node(f), "mlu-node");
    cJSON_Delete(f);
}
END_TEST

/* HAMi's MLU type check reads no annotation: use-mlutype steers nothing. */
START_TEST(mlu_type_annotation_ignored)
{
    cJSON *p = mlu_pod("typed", "4", "10");
    cJSON *anns = cJSON_AddObjectToObject(cJSON_GetObjectItem(p, "metadata"), "annotations");
    cJSON_AddStringToObject(anns, "cambricon.com/use-mlutype", "MLU590");
    cJSON *f = filter(p);
    ck_assert_str_eq(harness_only_node(f), "mlu-node");
    cJSON_Delete(f);
}
END_TEST

/* simulate: HAMi's bytes, the DSMLU pair included. */
START_TEST(mlu_simulate)
{
    char pod[4096];
    harness_data_path("e2e/mlu-pod.json", pod, sizeof pod);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod", pod, "--gpu-scheduler-policy",
                          "binpack",  NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), "mlu-node");
    const cJSON *a = cJSON_GetObjectItem(j, "annotations");
    /* binpack: the used MLU 0; 40 x 256 MiB, 30 % */
    const char *want = "mlu-node-cambricon-mlu-0,MLU,10240,30:;";
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/cambricon-mlu-devices-allocated")),
        want);
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/cambricon-mlu-devices-to-allocate")),
        want);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "CAMBRICON_DSMLU_ASSIGNED")),
                     "false");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "CAMBRICON_DSMLU_PROFILE")),
                     "0_30_40");
    ck_assert_ptr_null(cJSON_GetObjectItem(a, "hami.io/vgpu-devices-allocated"));
    cJSON_Delete(j);
    harness_result_free(&r);
}
END_TEST

/* The demo cluster's MLU node and examples/requests/filter-mlu.json: the
 * MLU pod passes the MLU node only; every NVIDIA and CPU node has too few
 * devices of its vendor. */
START_TEST(mlu_demo_filter)
{
    char demo[4096], rel[4096];
    const char *src = getenv("VS_SOURCE");
    snprintf(demo, sizeof demo, "%s/examples/demo-cluster.json", src ? src : ".");
    snprintf(rel, sizeof rel, "%s/examples/requests/filter-mlu.json", src ? src : ".");
    const char *args[] = {"--snapshot", demo, NULL};
    struct harness *d = harness_start(args);
    ck_assert_ptr_nonnull(d);
    char *body = harness_read(rel, NULL);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(d), "/filter", body, strlen(body), &r), 0);
    cJSON *f = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(harness_only_node(f), "mlu-370-1");
    harness_assert_reason(f, "gpu-t4-1", "NodeInsufficientDevice");
    harness_assert_reason(f, "cpu-1", "NodeInsufficientDevice");
    cJSON_Delete(f);
    harness_reply_free(&r);
    free(body);
    harness_finish(&d);
}
END_TEST

/* ---- live, on the fake API server ---- */

struct env {
    struct fakeapi *f;
    struct harness *h;
    char dir[64], kubeconfig[128];
    int port;
};

static void put_mlu_node(struct fakeapi *f, const char *lock)
{
    char json[2048], ann[256] = "";
    if (lock)
        snprintf(ann, sizeof ann, "\"%s\":\"%s\"", MLU_LOCK, lock);
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"mlu-node\","
             "\"annotations\":{%s}},\"status\":{\"capacity\":{\"cpu\":\"64\",\"memory\":"
             "\"256Gi\",\"cambricon.com/vmlu\":\"200\",\"" MLU_CORE "\":\"200\",\"" MLU_MEM
             "\":\"384\"},\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"cambricon.com/vmlu\":\"200\"}}}",
             ann);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

static void put_mlu_pending(struct fakeapi *f, const char *name)
{
    cJSON *p = mlu_pod(name, "64", "50");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(p, "metadata"), "uid");
    cJSON_AddStringToObject(p, "kind", "Pod");
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "spec"), "schedulerName", "vgpu-scheduler");
    char *s = cJSON_PrintUnformatted(p);
    ck_assert_int_gt(fakeapi_put(f, "pods", s), 0);
    free(s);
    cJSON_Delete(p);
}

static void env_run(struct env *e)
{
    const char *args[] = {"--kubeconfig", e->kubeconfig, "--leader-elect-lease=", NULL};
    e->h = harness_start(args);
    ck_assert_ptr_nonnull(e->h);
    e->port = harness_port(e->h);
    ck_assert_msg(harness_wait_ready(e->port, 15000), "not ready after 15 s");
}

static void env_start(struct env *e, const char *lock)
{
    memset(e, 0, sizeof *e);
    e->f = fakeapi_start();
    ck_assert_ptr_nonnull(e->f);
    snprintf(e->dir, sizeof e->dir, "/tmp/vs-mlu-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s/kubeconfig", e->dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(e->f, e->kubeconfig), 0);
    put_mlu_node(e->f, lock);
    put_mlu_pending(e->f, "p1");
    put_mlu_pending(e->f, "p2");
    env_run(e);
}

static void env_halt(struct env *e)
{
    int st = e->h ? harness_stop(e->h, SIGTERM, 10000) : 0;
    harness_dump(e->h);
    ck_assert_msg(st == 0, "vgpu-scheduler ended with %d after SIGTERM", st);
    harness_free(e->h);
    e->h = NULL;
}

static void env_stop(struct env *e)
{
    env_halt(e);
    fakeapi_stop(e->f);
    unlink(e->kubeconfig);
    rmdir(e->dir);
}

static cJSON *post_json(int port, const char *path, const char *body)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, path, body, strlen(body), &r), 0);
    ck_assert_msg(r.status == 200, "%s: status %ld", path, r.status);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    harness_reply_free(&r);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* Filter pod on mlu-node (retried while the watch has not brought the node
 * or pod yet, bounded), then bind it; the bind's Error ("" = bound). */
static void place(struct env *e, const char *pod, char *err, size_t cap)
{
    cJSON *p = fakeapi_get(e->f, "pods", "default", pod);
    ck_assert_ptr_nonnull(p);
    char uid[128];
    snprintf(uid, sizeof uid, "%s", harness_meta(p, "uid"));
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "Pod", p);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "NodeNames"), cJSON_CreateString("mlu-node"));
    char *body = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    bool ok = false;
    for (int i = 0; i < 250 && !ok; i++) {
        cJSON *f = post_json(e->port, "/filter", body);
        ok = strcmp(harness_only_node(f), "mlu-node") == 0;
        cJSON_Delete(f);
        if (!ok)
            harness_nap_ms(20);
    }
    free(body);
    ck_assert_msg(ok, "%s never passed mlu-node", pod);
    char bind[512];
    snprintf(bind, sizeof bind,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\","
             "\"Node\":\"mlu-node\"}",
             pod, uid);
    cJSON *j = post_json(e->port, "/bind", bind);
    const char *er = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    snprintf(err, cap, "%s", er ? er : "(no Error key)");
    cJSON_Delete(j);
}

/* The node's MLU lock ("" when none) into out. */
static void node_lock(struct env *e, char *out, size_t cap, bool *mutex)
{
    cJSON *n = fakeapi_get(e->f, "nodes", NULL, "mlu-node");
    const char *l = harness_annotation(n, MLU_LOCK);
    snprintf(out, cap, "%s", l ? l : "");
    *mutex = harness_annotation(n, "hami.io/mutex.lock") != NULL;
    cJSON_Delete(n);
}

/* A bare RFC 3339 UTC time ("2026-12-04T16:05:00Z"), as unix seconds; -1
 * when it is not one. */
static long long rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && !*end && strlen(s) == 20 ? (long long)timegm(&tm) : -1;
}

START_TEST(mlu_bind_takes_dsmlu_lock)
{
    struct env e;
    char err[1024], lock[256];
    bool mutex;
    env_start(&e, NULL);
    place(&e, "p1", err, sizeof err);
    ck_assert_msg(err[0] == '\0', "bind: %s", err);
    node_lock(&e, lock, sizeof lock, &mutex);
    long long t = rfc3339(lock);
    ck_assert_msg(t > 0, "lock \"%s\" is not a bare RFC 3339 time", lock);
    ck_assert_msg(llabs(t - (long long)time(NULL)) < 600, "lock %s is not about now", lock);
    ck_assert_msg(!mutex, "hami.io/mutex.lock was taken for an MLU pod");
    cJSON *p = fakeapi_get(e.f, "pods", "default", "p1");
    const char *cnode =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "nodeName"));
    ck_assert_str_eq(cnode ? cnode : "", "mlu-node");
    const char *alloc = harness_annotation(p, "hami.io/cambricon-mlu-devices-allocated");
    ck_assert_ptr_nonnull(alloc);
    ck_assert_str_eq(alloc, harness_annotation(p, "hami.io/cambricon-mlu-devices-to-allocate"));
    /* 200 vcore, 384 x 256 MiB: two MLUs of 49152 MiB; 64 x 256 = 16384 */
    ck_assert_msg(strcmp(alloc, "mlu-node-cambricon-mlu-0,MLU,16384,50:;") == 0 ||
                      strcmp(alloc, "mlu-node-cambricon-mlu-1,MLU,16384,50:;") == 0,
                  "%s", alloc);
    char want[32];
    snprintf(want, sizeof want, "%c_50_64", alloc[23]);
    ck_assert_str_eq(harness_annotation(p, "CAMBRICON_DSMLU_ASSIGNED"), "false");
    ck_assert_str_eq(harness_annotation(p, "CAMBRICON_DSMLU_PROFILE"), want);
    cJSON_Delete(p);

    /* The lock is fresh and nobody released it: the next MLU bind waits,
     * then is refused naming the lock. */
    place(&e, "p2", err, sizeof err);
    ck_assert_msg(strstr(err, "has been locked within 120s") && strstr(err, MLU_LOCK), "%s", err);
    p = fakeapi_get(e.f, "pods", "default", "p2");
    ck_assert_ptr_null(harness_annotation(p, "hami.io/cambricon-mlu-devices-allocated"));
    ck_assert_ptr_null(harness_annotation(p, "CAMBRICON_DSMLU_PROFILE"));
    cJSON_Delete(p);

    /* The device plugin releases it: the next bind takes it. */
    char patch[128];
    snprintf(patch, sizeof patch, "{\"metadata\":{\"annotations\":{\"%s\":null}}}", MLU_LOCK);
    ck_assert_int_eq(fakeapi_patch(e.f, "nodes", NULL, "mlu-node", patch), 200);
    place(&e, "p2", err, sizeof err);
    ck_assert_msg(err[0] == '\0', "bind after release: %s", err);

    /* A restart rebuilds both pods' MLU usage from their annotations. */
    env_halt(&e);
    env_run(&e);
    long mem = 0, cores = 0;
    for (int i = 0; i < 250 && mem != 32768; i++) {
        cJSON *ins = harness_get_json(e.port, "/inspect");
        const cJSON *n, *g;
        mem = cores = 0;
        cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
            cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            mem += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
            cores += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(g, "coresUsed"));
        }
        cJSON_Delete(ins);
        if (mem != 32768)
            harness_nap_ms(20);
    }
    ck_assert_int_eq(mem, 32768);
    ck_assert_int_eq(cores, 100);
    env_stop(&e);
}
END_TEST

/* A lock older than HAMi's 2 minutes is taken over. */
START_TEST(mlu_bind_expired_lock)
{
    struct env e;
    char err[1024], lock[256];
    bool mutex;
    env_start(&e, "2020-01-01T00:00:00Z");
    place(&e, "p1", err, sizeof err);
    ck_assert_msg(err[0] == '\0', "bind: %s", err);
    node_lock(&e, lock, sizeof lock, &mutex);
    ck_assert_msg(rfc3339(lock) > rfc3339("2020-01-01T00:00:00Z"), "lock %s", lock);
    env_stop(&e);
}
END_TEST

/* A lock that is not a time refuses the bind, as HAMi's does, and stays. */
START_TEST(mlu_bind_malformed_lock)
{
    struct env e;
    char err[1024], lock[256];
    bool mutex;
    env_start(&e, "invalid-format");
    place(&e, "p1", err, sizeof err);
    ck_assert_msg(strstr(err, "is not an RFC 3339 time") && strstr(err, MLU_LOCK), "%s", err);
    node_lock(&e, lock, sizeof lock, &mutex);
    ck_assert_str_eq(lock, "invalid-format");
    cJSON *p = fakeapi_get(e.f, "pods", "default", "p1");
    ck_assert_ptr_null(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "nodeName")));
    cJSON_Delete(p);
    env_stop(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mlu");
    TCase *tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, mlu_pod_on_mlu_node);
    tcase_add_test(tc, mlu_inventory_and_usage);
    tcase_add_test(tc, mlu_too_big);
    tcase_add_test(tc, mlu_type_annotation_ignored);
    tcase_add_test(tc, mlu_simulate);
    tcase_add_test(tc, mlu_demo_filter);
    suite_add_tcase(s, tc);
    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 60);
    tcase_add_test(live, mlu_bind_takes_dsmlu_lock);
    tcase_add_test(live, mlu_bind_expired_lock);
    tcase_add_test(live, mlu_bind_malformed_lock);
    suite_add_tcase(s, live);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

/* Trust boundaries of accounting, end to end on the real binary
 * (tests/data/e2e/trust.json): what a pod owner writes on a pod and what a
 * caller sends in a request never skew the usage the scheduler counts. */
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
    harness_data_path("e2e/trust.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/trust.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* A Pod asking gpu whole GPUs (16000 MiB, 100 % each). Caller frees. */
static cJSON *make_pod(const char *name, const char *uid, int gpu)
{
    char v[16];
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON *spec = cJSON_AddObjectToObject(p, "spec");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "main");
    cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
    snprintf(v, sizeof v, "%d", gpu);
    cJSON_AddStringToObject(lim, "nvidia.com/gpu", v);
    cJSON_AddStringToObject(lim, "nvidia.com/gpumem", "16000");
    cJSON_AddStringToObject(lim, "nvidia.com/gpucores", "100");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
    return p;
}

static cJSON *post_filter(cJSON *args)
{
    char *body = cJSON_PrintUnformatted(args);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(h), "/filter", body, strlen(body), &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, buf_str(&r.body));
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    harness_reply_free(&r);
    free(body);
    cJSON_Delete(args);
    return j;
}

/* Filter pod (taken) on the one node `node` by NodeNames. */
static cJSON *filter_on(cJSON *pod, const char *node)
{
    const char *nodes[] = {node, NULL};
    return harness_filter(harness_port(h), pod, nodes);
}

static const char *error_of(const cJSON *f)
{
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(f, "Error"));
    ck_assert_ptr_nonnull(e);
    return e;
}

/* True when the single-mode filter chose `node`. */
static bool placed_on(const cJSON *f, const char *node)
{
    const cJSON *n = cJSON_GetObjectItem(f, "NodeNames");
    return cJSON_GetArraySize(n) == 1 && strcmp(cJSON_GetArrayItem(n, 0)->valuestring, node) == 0;
}

/* Item 3: a Pending pod with hand-written vgpu-node and
 * vgpu-devices-allocated (a busybox asking nothing, and one asking GPUs but
 * never bound) does not fill its node: a real 8-GPU pod lands there. */
START_TEST(forged_pending_pods_count_nothing)
{
    cJSON *f = filter_on(make_pod("real", "uid-real", 8), "forged");
    ck_assert_str_eq(error_of(f), "");
    ck_assert_msg(placed_on(f, "forged"), "refused: %s", harness_failed_reason(f, "forged"));
    cJSON_Delete(f);
}
END_TEST

/* Item 3: a bound 8-GPU pod whose owner wrote garbage into
 * vgpu-devices-allocated, or a 1 KiB bind-phase, keeps its GPUs: a pod that
 * would need them is refused. */
START_TEST(bound_pods_keep_their_gpus)
{
    static const char *const nodes[] = {"garbage", "phase"};
    for (int i = 0; i < 2; i++) {
        cJSON *f = filter_on(make_pod("greedy", "uid-greedy", 8), nodes[i]);
        ck_assert_msg(!placed_on(f, nodes[i]), "an 8-GPU pod got the GPUs of a pod on %s",
                      nodes[i]);
        ck_assert_ptr_nonnull(harness_failed_reason(f, nodes[i]));
        cJSON_Delete(f);
    }
    /* ... and a pod that asks one GPU still fits nowhere there. */
    cJSON *f = filter_on(make_pod("one", "uid-one", 1), "garbage");
    ck_assert(!placed_on(f, "garbage"));
    cJSON_Delete(f);
}
END_TEST

/* Item 4: a filter naming the uid of a running pod (another body) does not
 * erase that pod's usage; it is answered with an Error. */
START_TEST(uid_of_a_running_pod_is_not_reassumed)
{
    cJSON *f = filter_on(make_pod("impostor", "uid-runner", 1), "spare");
    ck_assert_msg(!placed_on(f, "spare"), "a filter reusing a running pod's uid was placed");
    ck_assert_msg(strstr(error_of(f), "uid-runner") && strstr(error_of(f), "reuse"), "error: %s",
                  error_of(f));
    cJSON_Delete(f);
    f = filter_on(make_pod("big", "uid-big", 8), "reuse");
    ck_assert_msg(!placed_on(f, "reuse"), "the running pod's 4 GPUs were given away");
    cJSON_Delete(f);
    /* The running pod still shows on /inspect. */
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    char *text = cJSON_PrintUnformatted(ins);
    ck_assert_ptr_nonnull(strstr(text, "\"uid\":\"uid-runner\""));
    free(text);
    cJSON_Delete(ins);
}
END_TEST

/* A Node object with n GPUs of 16000 MiB, for Nodes.items. */
static cJSON *node_item(const char *name, int n)
{
    char reg[8192] = "[";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(reg);
        snprintf(reg + l, sizeof reg - l,
                 "%s{\"id\":\"%s-g%d\",\"count\":10,\"devmem\":16000,\"devcore\":100,"
                 "\"type\":\"NVIDIA-A100\",\"health\":true,\"index\":%d}",
                 i ? "," : "", name, i, i);
    }
    strcat(reg, "]");
    cJSON *o = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "resourceVersion", "999999");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                            "hami.io/node-nvidia-register", reg);
    return o;
}

/* Item 5: Nodes.items never overwrite the cache's nodes nor add nodes the
 * cluster source does not know. */
START_TEST(nodes_from_requests_are_candidates_only)
{
    cJSON *a = cJSON_CreateObject(), *items = cJSON_CreateArray();
    cJSON_AddItemToObject(a, "Pod", make_pod("p8", "uid-p8", 8));
    cJSON_AddItemToArray(items, node_item("small", 10)); /* the snapshot says 1 GPU */
    cJSON_AddItemToArray(items, node_item("phantom", 8));
    cJSON_AddItemToObject(cJSON_AddObjectToObject(a, "Nodes"), "items", items);
    cJSON *f = post_filter(a);
    ck_assert_str_eq(error_of(f), "");
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "Nodes"), "items")), 0);
    ck_assert_ptr_nonnull(harness_failed_reason(f, "small"));
    const char *why = harness_failed_reason(f, "phantom");
    ck_assert_msg(why && strstr(why, "unknown"), "phantom: %s", why ? why : "(none)");
    cJSON_Delete(f);
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        const char *name = cJSON_GetObjectItem(n, "name")->valuestring;
        ck_assert_msg(strcmp(name, "phantom") != 0, "a node from a request was created");
        if (strcmp(name, "small") == 0)
            ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(n, "gpus")), 1);
    }
    cJSON_Delete(ins);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trust");
    TCase *tc = tcase_create("accounting");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, forged_pending_pods_count_nothing);
    tcase_add_test(tc, bound_pods_keep_their_gpus);
    tcase_add_test(tc, uid_of_a_running_pod_is_not_reassumed);
    tcase_add_test(tc, nodes_from_requests_are_candidates_only);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

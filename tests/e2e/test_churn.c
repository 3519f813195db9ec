/* The churn driver of vgpu-bench --churn (bench/churn.h) against the real
 * binary, live on the fake API server: after K changes the service has
 * applied exactly the pod events the fake delivered, /inspect shows
 * exactly the pods the driver says exist (on their GPUs, with their
 * memory and cores), and /metrics counts the watch's writes and how long
 * they waited for the cache's write lock. Bounded in count and time; no
 * duration is asserted. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/churn.h"
#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

#define NODES 12
#define GPUS  4
#define PODS  40
#define STEPS 300 /* a multiple of 3: as many deleted as added */

#define APPLIED "vgpu_scheduler_watch_events_total{kind=\"pods\"}"
#define WAITS   "vgpu_scheduler_cache_write_wait_seconds_count{writer=\"source\"}"
#define LONGEST "vgpu_scheduler_cache_write_wait_seconds_max{writer=\"source\"}"

/* The value of series in /metrics as a double; -1 when missing. */
static double metric(int port, const char *series)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    const char *p = strstr(buf_str(&r.body), series);
    while (p && p[strlen(series)] != ' ')
        p = strstr(p + 1, series);
    double v = p ? strtod(p + strlen(series) + 1, NULL) : -1;
    harness_reply_free(&r);
    return v;
}

/* uid -> {node, gpu, memMiB, cores} of the churn's pods, from /inspect. */
static cJSON *seen_pods(int port)
{
    cJSON *j = harness_get_json(port, "/inspect"), *out = cJSON_CreateObject(), *n, *g, *p;
    ck_assert_ptr_nonnull(j);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(j, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
            {
                const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(p, "namespace"));
                const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(p, "uid"));
                if (!ns || strcmp(ns, CHURN_NS) != 0 || !uid)
                    continue;
                ck_assert_msg(!cJSON_GetObjectItem(out, uid), "pod %s counted twice", uid);
                cJSON *o = cJSON_AddObjectToObject(out, uid);
                cJSON_AddStringToObject(o, "node",
                                        cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")));
                cJSON_AddStringToObject(o, "gpu",
                                        cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid")));
                cJSON_AddNumberToObject(o, "memMiB",
                                        cJSON_GetNumberValue(cJSON_GetObjectItem(p, "memMiB")));
                cJSON_AddNumberToObject(o, "cores",
                                        cJSON_GetNumberValue(cJSON_GetObjectItem(p, "cores")));
            }
        }
    }
    cJSON_Delete(j);
    return out;
}

START_TEST(inspect_shows_what_the_driver_wrote)
{
    char dir[] = "/tmp/vs-churn-XXXXXX", kubeconfig[128];
    struct fakeapi *f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(kubeconfig, sizeof kubeconfig, "%s/kubeconfig", dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(f, kubeconfig), 0);
    struct buf b = BUF_INIT(1 << 20);
    for (int i = 0; i < NODES; i++) {
        buf_reset(&b);
        churn_node_json(&b, i, GPUS);
        ck_assert_int_gt(fakeapi_put(f, "nodes", buf_str(&b)), 0);
    }
    buf_free(&b);
    struct churn *c = churn_create(f, &(struct churn_options){NODES, GPUS, PODS, 7});
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(churn_fill(c), 0);

    const char *args[] = {
        "--kubeconfig",          kubeconfig, "--kube-qps", "5000", "--kube-burst", "5000",
        "--leader-elect-lease=", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    ck_assert_msg(harness_wait_ready(port, 15000), "not ready after 15 s");

    struct fakeapi_counts k0, k1;
    fakeapi_counts(f, &k0);
    double applied0 = metric(port, APPLIED), waits0 = metric(port, WAITS);
    ck_assert_msg(applied0 >= 0, "no " APPLIED " in /metrics");
    ck_assert_msg(waits0 >= 0, "no " WAITS " in /metrics");

    ck_assert_uint_eq(churn_run(c, 2000, 0, STEPS, NULL, NULL), STEPS);
    fakeapi_counts(f, &k1);
    long produced = k1.pod_events - k0.pod_events;
    ck_assert_int_eq(produced, STEPS); /* one event per change */

    double applied = 0;
    for (int i = 0; i < 1000; i++) { /* at most 20 s */
        applied = metric(port, APPLIED) - applied0;
        if (applied >= produced)
            break;
        harness_nap_ms(20);
    }
    ck_assert_msg(applied == produced, "the service applied %.0f of %ld pod events", applied,
                  produced);

    struct churn_stats st;
    churn_stats(c, &st);
    ck_assert_uint_eq(st.failed, 0);
    ck_assert_uint_eq(st.added, STEPS / 3);
    ck_assert_uint_eq(st.deleted, STEPS / 3);
    ck_assert_uint_eq(st.modified, STEPS / 3);
    ck_assert_int_eq(st.pods, PODS);

    cJSON *want = churn_expected(c), *got = seen_pods(port), *w;
    ck_assert_int_eq(cJSON_GetArraySize(want), PODS);
    ck_assert_int_eq(cJSON_GetArraySize(got), cJSON_GetArraySize(want));
    cJSON_ArrayForEach(w, want)
    {
        const cJSON *g = cJSON_GetObjectItem(got, w->string);
        ck_assert_msg(g != NULL, "pod %s is not in /inspect", w->string);
        ck_assert_msg(cJSON_Compare(w, g, true), "pod %s: driver %s, /inspect %s", w->string,
                      cJSON_PrintUnformatted(w), cJSON_PrintUnformatted(g));
    }
    cJSON_Delete(want);
    cJSON_Delete(got);

    /* Every applied pod event was one write of the source, counted with
     * its wait; the longest wait is exposed (any value, never negative). */
    ck_assert_msg(metric(port, WAITS) - waits0 >= produced, "%.0f source writes for %ld events",
                  metric(port, WAITS) - waits0, produced);
    ck_assert_msg(metric(port, LONGEST) >= 0, "no " LONGEST " in /metrics");

    ck_assert_int_eq(harness_stop(h, SIGTERM, 10000), 0);
    harness_free(h);
    churn_destroy(c);
    fakeapi_stop(f);
    unlink(kubeconfig);
    rmdir(dir);
}
END_TEST

/* Out-of-range options give no driver. */
static const struct churn_options bad[] = {
    {0, 4, 10, 1},     /* no nodes */
    {10, 0, 10, 1},    /* no GPUs */
    {10, 4, 0, 1},     /* no pods */
    {10, 4, 81, 1},    /* more than 10 nodes x 2 GPUs x 4 */
    {200000, 4, 1, 1}, /* too many nodes */
};

START_TEST(bad_options_refused)
{
    struct fakeapi *f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_null(churn_create(f, &bad[_i]));
    fakeapi_stop(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("churn");
    TCase *tc = tcase_create("churn");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, inspect_shows_what_the_driver_wrote);
    tcase_add_loop_test(tc, bad_options_refused, 0, (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

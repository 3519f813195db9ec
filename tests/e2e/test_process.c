/* e2e: the real binary as a process: start, routes, limits, flags, signals. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define RUN_MS 10000

static struct harness *h;
static char cluster[4096];

/* Every run needs a cluster: the e2e snapshot. */
static const char *snapshot(void)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/e2e/cluster.json", d ? d : "tests/data");
    return cluster;
}

static void start(void)
{
    const char *args[] = {"--snapshot", snapshot(), NULL};
    h = harness_start(args);
    ck_assert_ptr_nonnull(h);
}

static void stop(void)
{
    harness_free(h);
}

static const struct {
    const char *path;
    long status;
    const char *body_has;
} gets[] = {
    {"/healthz", 200, "ok"},
    {"/readyz", 200, "ready"},
    {"/metrics", 200, "# TYPE vgpu_scheduler_request_duration_seconds histogram"},
    {"/metrics", 200, "vgpu_scheduler_request_duration_seconds_bucket{route=\"/healthz\""},
    {"/nope", 404, "not found"},
};

START_TEST(test_get)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(harness_port(h), gets[_i].path, &r), 0);
    ck_assert_int_eq(r.status, gets[_i].status);
    ck_assert_msg(strstr(buf_str(&r.body), gets[_i].body_has), "%s: %s", gets[_i].path,
                  buf_str(&r.body));
    harness_reply_free(&r);
}
END_TEST

/* 100 MiB to a route that takes none: 413, and the process serves on. */
START_TEST(test_huge_body)
{
    size_t len = 100u << 20;
    char *body = malloc(len);
    struct harness_reply r;
    memset(body, ' ', len);
    ck_assert_int_eq(harness_post(harness_port(h), "/healthz", body, len, &r), 0);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "too large"));
    harness_reply_free(&r);
    free(body);

    ck_assert_int_eq(harness_get(harness_port(h), "/healthz", &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_get(harness_port(h), "/metrics", &r), 0);
    ck_assert_ptr_nonnull(strstr(
        buf_str(&r.body), "vgpu_scheduler_requests_total{route=\"/healthz\",code=\"413\"} 1"));
    ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "errors_total{reason=\"body_too_large\"} 1"));
    harness_reply_free(&r);
}
END_TEST

START_TEST(test_sigterm)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(harness_port(h), "/healthz", &r), 0);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_stop(h, _i ? SIGINT : SIGTERM, 5000), 0);
    ck_assert(harness_wait_log(h, "shutting down", 0));
    ck_assert(harness_wait_log(h, "stopped", 0));
}
END_TEST

/* /metrics on its own port with --metrics-bind-address. */
START_TEST(test_metrics_port)
{
    const char *args[] = {
        "--snapshot", snapshot(), "--metrics-bind-address", "127.0.0.1:0", "--threads", "2", NULL};
    struct harness *m = harness_start(args);
    ck_assert_ptr_nonnull(m);
    int port = harness_log_port(m, "serving /metrics on ", RUN_MS);
    ck_assert_int_gt(port, 0);
    ck_assert_int_ne(port, harness_port(m));
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "vgpu_scheduler_request_duration_seconds"));
    harness_reply_free(&r);
    ck_assert_int_eq(harness_get(port, "/healthz", &r), 0);
    ck_assert_int_eq(r.status, 404);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_stop(m, SIGTERM, 5000), 0);
    harness_free(m);
}
END_TEST

/* Command lines run to completion: exit code, and what must be printed. */
static const struct {
    const char *args[6]; /* a leading "SNAPSHOT" becomes --snapshot <the e2e cluster> */
    int status;
    const char *err_has;
} runs[] = {
    {{"--threads", "abc"}, 2, "vgpu-scheduler: --threads: \"abc\" is not an integer"},
    {{"--nope"}, 2, "--nope: unknown flag"},
    {{"--reservation-ttl", "soon"}, 2, "--reservation-ttl: \"soon\""},
    {{"--http_bind", "nowhere"}, 2, "--http_bind: \"nowhere\""},
    {{"SNAPSHOT", "--http_bind", "192.0.2.1:1"}, 1, "cannot listen on 192.0.2.1:1"},
    {{"--threads", "2"}, 1, "no cluster source: give --snapshot FILE"},
    {{"--snapshot", "/nonexistent.json"}, 1, "/nonexistent.json"},
    {{"SNAPSHOT", "--workload-file", "/nonexistent-workload.json"},
     1,
     "/nonexistent-workload.json"},
    {{"simulate", "--threads", "4"}, 2, "--threads: unknown flag"},
};

START_TEST(test_bad_command_line)
{
    struct harness_result r;
    const char *args[8] = {NULL};
    int k = 0;
    for (int i = 0; runs[_i].args[i]; i++) {
        if (strcmp(runs[_i].args[i], "SNAPSHOT") == 0) {
            args[k++] = "--snapshot";
            args[k++] = snapshot();
        } else {
            args[k++] = runs[_i].args[i];
        }
    }
    ck_assert_int_eq(harness_run(args, RUN_MS, &r), 0);
    ck_assert_int_eq(r.status, runs[_i].status);
    ck_assert_msg(strstr(buf_str(&r.err), runs[_i].err_has), "stderr: %s", buf_str(&r.err));
    harness_result_free(&r);
}
END_TEST

START_TEST(test_help)
{
    static const char *const flags[] = {
        "--http_bind",
        "--scheduler-name",
        "--node-scheduler-policy",
        "--gpu-scheduler-policy",
        "--metrics-bind-address",
        "--node-lock-timeout",
        "--debug",
        "--snapshot",
        "--filter-mode",
        "--reservation-ttl",
        "--threads",
        "--seed",
        "--help",
    };
    const char *args[] = {"--help", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, RUN_MS, &r), 0);
    ck_assert_int_eq(r.status, 0);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        ck_assert_msg(strstr(buf_str(&r.out), flags[i]), "%s missing in:\n%s", flags[i],
                      buf_str(&r.out));
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("running");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, start, stop);
    tcase_add_loop_test(tc, test_get, 0, sizeof gets / sizeof gets[0]);
    tcase_add_test(tc, test_huge_body);
    tcase_add_loop_test(tc, test_sigterm, 0, 2);
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("runs");
    tcase_set_timeout(tr, 120);
    tcase_add_test(tr, test_metrics_port);
    tcase_add_loop_test(tr, test_bad_command_line, 0, sizeof runs / sizeof runs[0]);
    tcase_add_test(tr, test_help);
    suite_add_tcase(s, tr);

    return harness_run_suite(s, true);
}

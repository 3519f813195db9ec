/* Smoke test of vgpu-bench --ui-poll: the load runs with a web view
 * polling beside it, every poll answers, and the output parses. Its
 * figures are never checked: timing is not a test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/harness.h"

static char out[1 << 16];

/* Run a command line; its output lands in out (harness_shell). */
static int run(const char *cmd)
{
    return harness_shell(cmd, out, sizeof out);
}

START_TEST(ui_poll_runs)
{
    char cmd[1024];
    const char *b = getenv("VS_BUILD");
    ck_assert_ptr_nonnull(b);
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-bench --nodes 50 --gpus 4 --pods 200 --clients 1 --ui-poll 100 "
             "--bin %s/vgpu-scheduler",
             b, b);
    ck_assert_msg(run(cmd) == 0, "%s", out);
    int nodes = 0, poll_ms = 0, polls = 0;
    double f99 = -1, p99 = -1;
    const char *r = strstr(out, "RESULT_UI ");
    ck_assert_msg(r, "%s", out);
    ck_assert_int_eq(sscanf(r,
                            "RESULT_UI {\"nodes\":%d,\"ui_poll_ms\":%d,\"polls\":%d,"
                            "\"filter_p99_ms\":%lf,\"poll_p99_ms\":%lf}",
                            &nodes, &poll_ms, &polls, &f99, &p99),
                     5);
    ck_assert_int_eq(nodes, 50);
    ck_assert_int_eq(poll_ms, 100);
    ck_assert_int_ge(polls, 1);
    ck_assert_msg(strstr(out, "KiB each, 0 errors"), "%s", out);
    /* without the flag: no poller, no line */
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-bench --nodes 20 --gpus 2 --pods 20 --clients 1 --bin %s/vgpu-scheduler", b,
             b);
    ck_assert_msg(run(cmd) == 0, "%s", out);
    ck_assert_ptr_null(strstr(out, "RESULT_UI"));
    snprintf(cmd, sizeof cmd, "%s/vgpu-bench --nodes 20 --ui-poll -5 2>&1", b);
    ck_assert_int_eq(run(cmd), 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ui_poll");
    TCase *tc = tcase_create("ui_poll");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ui_poll_runs);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

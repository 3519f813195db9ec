/* Smoke test of vgpu-bench --vendors mixed: a cluster of every device row
 * the bench can build (rows without a register annotation, Cambricon's,
 * are named and left out) loads, every pod is placed, and the output
 * parses. Its figures are never checked: timing is not a test. */
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

START_TEST(mixed_runs)
{
    char cmd[1024];
    const char *b = getenv("VS_BUILD");
    ck_assert_ptr_nonnull(b);
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-bench --nodes 40 --gpus 2 --pods 40 --clients 1 --vendors mixed "
             "--bin %s/vgpu-scheduler 2>&1",
             b, b);
    ck_assert_msg(run(cmd) == 0, "%s", out);
    ck_assert_msg(strstr(out, "cambricon left out"), "%s", out);
    const char *r = strstr(out, "RESULT {\"nodes\":40,\"vendors\":");
    ck_assert_msg(r, "%s", out);
    int vendors = atoi(r + strlen("RESULT {\"nodes\":40,\"vendors\":"));
    ck_assert_int_ge(vendors, 4); /* NVIDIA, NVIDIA MIG, DCU, an Ascend chip at least */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("load_vendors");
    TCase *tc = tcase_create("load_vendors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mixed_runs);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

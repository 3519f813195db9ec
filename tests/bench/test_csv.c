/* bench/csv: splitting the traces' lines and finding their columns; and
 * bench/trace's scaling of a loaded trace (vgpu-replay --scale). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bench/csv.h"
#include "bench/trace.h"
#include "tests/support/harness.h"

static const struct {
    const char *line;
    int max;
    int want;           /* fields, or -1 */
    const char *joined; /* the fields joined with '|' (when want > 0) */
} splits[] = {
    {"a,b,c", 8, 3, "a|b|c"}, {"a,b,c\r\n", 8, 3, "a|b|c"},
    {"a,,c\n", 8, 3, "a||c"}, {"", 8, 1, ""},
    {",", 8, 2, "|"},         {"a,b,c", 3, 3, "a|b|c"},
    {"a,b,c,d", 3, -1, NULL}, {"x", 0, -1, NULL},
};

START_TEST(test_split)
{
    char line[64], *f[8], joined[64] = "";
    snprintf(line, sizeof line, "%s", splits[_i].line);
    int n = csv_split(line, f, splits[_i].max);
    ck_assert_int_eq(n, splits[_i].want);
    for (int i = 0; i < n; i++) {
        strcat(joined, i ? "|" : "");
        strcat(joined, f[i]);
    }
    if (n > 0)
        ck_assert_str_eq(joined, splits[_i].joined);
}
END_TEST

START_TEST(test_column)
{
    char line[] = "name,cpu_milli,gpu", *f[4];
    int n = csv_split(line, f, 4);
    ck_assert_int_eq(csv_column(f, n, "name"), 0);
    ck_assert_int_eq(csv_column(f, n, "gpu"), 2);
    ck_assert_int_eq(csv_column(f, n, "gpu_milli"), -1);
    ck_assert_int_eq(csv_column(f, -1, "name"), -1);
}
END_TEST

/* csv_int: a field as an integer in range, or why not. */
static const struct {
    const char *line;
    int col;
    int64_t lo, hi;
    int rc;
    int64_t want;
} ints[] = {
    {"a,42,b", 1, 0, 100, 0, 42},
    {"a,-3,b", 1, -5, 5, 0, -3},
    {"a,101,b", 1, 0, 100, ERR_RANGE, 0},
    {"a,-1,b", 1, 0, 100, ERR_RANGE, 0},
    {"a,4x,b", 1, 0, 100, ERR_INVAL, 0},
    {"a,,b", 1, 0, 100, ERR_INVAL, 0},
    {"a,1.5,b", 1, 0, 100, ERR_INVAL, 0},
    {"a,99999999999999999999,b", 1, 0, INT64_MAX, ERR_RANGE, 0},
    {"a,1", 2, 0, 100, ERR_INVAL, 0},  /* no such field */
    {"a,1", -1, 0, 100, ERR_INVAL, 0}, /* no such column */
};

START_TEST(test_int)
{
    char line[64], *f[8];
    snprintf(line, sizeof line, "%s", ints[_i].line);
    int n = csv_split(line, f, 8);
    int64_t v = -77;
    ck_assert_int_eq(csv_int(f, n, ints[_i].col, ints[_i].lo, ints[_i].hi, &v), ints[_i].rc);
    ck_assert(v == (ints[_i].rc ? -77 : ints[_i].want)); /* untouched on error */
}
END_TEST

/* trace_scale: k copies of 2 nodes and 3 tasks; refusals leave the trace
 * as it was. */
static const struct {
    int k, ntasks, name_len, rc;
} scales[] = {
    {1, 3, 8, 0},
    {3, 3, 8, 0},
    {TRACE_MAX_SCALE, 3, 59, 0},
    {0, 3, 8, ERR_INVAL},
    {TRACE_MAX_SCALE + 1, 3, 8, ERR_INVAL},
    {2, 3, 60, ERR_INVAL},                       /* no room for "#<i>" */
    {2, TRACE_MAX_TASKS / 2 + 1, 8, ERR_TOOBIG}, /* counted before anything is copied */
};

START_TEST(test_scale)
{
    struct trace t = {0};
    char err[256] = "";
    t.nnodes = 2;
    t.nodes = calloc(2, sizeof *t.nodes);
    t.tasks = calloc(3, sizeof *t.tasks);
    t.ntasks = scales[_i].ntasks;
    for (int i = 0; i < 2; i++) {
        memset(t.nodes[i].name, 'a' + i, (size_t)scales[_i].name_len);
        t.nodes[i].gpus = 8;
    }
    for (int i = 0; i < 3; i++)
        t.tasks[i].cpu = 1000 * (i + 1);
    t.capacity = 16000;
    int k = scales[_i].k, rc = trace_scale(&t, k, err, sizeof err);
    ck_assert_int_eq(rc, scales[_i].rc);
    if (rc) {
        ck_assert(err[0] && t.nnodes == 2 && t.ntasks == scales[_i].ntasks && t.capacity == 16000);
    } else {
        ck_assert_int_eq(t.nnodes, 2 * k);
        ck_assert_int_eq(t.ntasks, 3 * k);
        ck_assert(t.capacity == 16000 * (int64_t)k);
        for (int c = 1; c < k; c++) {
            char want[80];
            snprintf(want, sizeof want, "%s#%d", t.nodes[1].name, c);
            ck_assert_str_eq(t.nodes[c * 2 + 1].name, want);
            ck_assert(t.nodes[c * 2 + 1].gpus == 8 && t.tasks[c * 3 + 2].cpu == 3000);
        }
    }
    t.ntasks = 0; /* the refused count was never allocated */
    trace_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("csv");
    tcase_add_loop_test(tc, test_split, 0, sizeof splits / sizeof splits[0]);
    tcase_add_test(tc, test_column);
    tcase_add_loop_test(tc, test_int, 0, sizeof ints / sizeof ints[0]);
    tcase_add_loop_test(tc, test_scale, 0, sizeof scales / sizeof scales[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

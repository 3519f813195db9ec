/* bench/csv: splitting the traces' lines and finding their columns. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "bench/csv.h"
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

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("csv");
    tcase_add_loop_test(tc, test_split, 0, sizeof splits / sizeof splits[0]);
    tcase_add_test(tc, test_column);
    tcase_add_loop_test(tc, test_int, 0, sizeof ints / sizeof ints[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

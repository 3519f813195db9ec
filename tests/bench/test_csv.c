/* bench/csv: splitting the traces' lines and finding their columns. */
#include <check.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("csv");
    tcase_add_loop_test(tc, test_split, 0, sizeof splits / sizeof splits[0]);
    tcase_add_test(tc, test_column);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

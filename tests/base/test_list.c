/* list: the elements list_next gives, trimmed or not. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "base/list.h"
#include "tests/support/harness.h"

/* Each input and its elements joined by '|' ("" when there are none). */
static const struct {
    const char *in, *trim, *want;
    char sep;
} cases[] = {
    {"", LIST_SPACE, "", ','},
    {"a", LIST_SPACE, "a", ','},
    {"a,", LIST_SPACE, "a", ','},
    {"a, ", LIST_SPACE, "a|", ','},
    {"a,,b", LIST_SPACE, "a||b", ','},
    {",a", LIST_SPACE, "|a", ','},
    {" a ,\tb\n", LIST_SPACE, "a|b", ','},
    {" a , b ", " ", "a|b", ','},
    {"a\t", " ", "a\t", ','},
    {" a , b ", NULL, " a | b ", ','},
    {"/x:/y::/z", NULL, "/x|/y||/z", ':'},
    {"   ", LIST_SPACE, "", ','},
};

START_TEST(test_walk)
{
    const char *s = cases[_i].in, *tok;
    char got[128] = "";
    size_t len, k = 0;
    int n = 0;
    while (list_next(&s, cases[_i].sep, cases[_i].trim, &tok, &len))
        k += (size_t)snprintf(got + k, sizeof got - k, "%s%.*s", n++ ? "|" : "", (int)len, tok);
    ck_assert_str_eq(got, cases[_i].want);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(*s, '\0');
}
END_TEST

START_TEST(test_null)
{
    const char *s = NULL, *tok = "kept";
    size_t len = 7;
    ck_assert(!list_next(&s, ',', LIST_SPACE, &tok, &len));
    ck_assert_str_eq(tok, "kept");
    ck_assert_uint_eq(len, 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("list");
    TCase *tc = tcase_create("list");
    tcase_add_loop_test(tc, test_walk, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

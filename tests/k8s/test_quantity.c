/* test_quantity: Kubernetes quantity syntax and exact integer values. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "k8s/quantity.h"
#include "tests/support/harness.h"

#define NA 0 /* value not checked: the call fails */

struct qcase {
    const char *in;
    int int_rc; /* quantity_int */
    int64_t int_v;
    int milli_rc; /* quantity_milli (rounded up) */
    int64_t milli_v;
};

static const struct qcase cases[] = {
    /* plain and signed */
    {"0", 0, 0, 0, 0},
    {"4", 0, 4, 0, 4000},
    {"+7", 0, 7, 0, 7000},
    {"-1", 0, -1, 0, -1000},
    {"-0", 0, 0, 0, 0},
    {"0000000000000000000000001", 0, 1, 0, 1000},
    {"100", 0, 100, 0, 100000},
    /* binary suffixes */
    {"1Ki", 0, 1024, 0, 1024000},
    {"100Mi", 0, 104857600, 0, 104857600000},
    {"1Gi", 0, 1073741824, 0, 1073741824000},
    {"2Gi", 0, 2147483648, 0, 2147483648000},
    {"1Ti", 0, 1099511627776, 0, 1099511627776000},
    {"1Pi", 0, 1125899906842624, 0, 1125899906842624000},
    {"7Ei", 0, 8070450532247928832, ERR_RANGE, NA},
    {"8Ei", ERR_RANGE, NA, ERR_RANGE, NA},
    {"1.5Gi", 0, 1610612736, 0, 1610612736000},
    {"0.5Ki", 0, 512, 0, 512000},
    {"0.001Ki", ERR_INVAL, NA, 0, 1024},
    /* decimal suffixes */
    {"4k", 0, 4000, 0, 4000000},
    {"3M", 0, 3000000, 0, 3000000000},
    {"1G", 0, 1000000000, 0, 1000000000000},
    {"2T", 0, 2000000000000, 0, 2000000000000000},
    {"5P", 0, 5000000000000000, 0, 5000000000000000000},
    {"9E", 0, 9000000000000000000, ERR_RANGE, NA},
    {"12E", ERR_RANGE, NA, ERR_RANGE, NA},
    {"500m", ERR_INVAL, NA, 0, 500},
    {"1000m", 0, 1, 0, 1000},
    {"2500m", ERR_INVAL, NA, 0, 2500},
    {"1m", ERR_INVAL, NA, 0, 1},
    {"1u", ERR_INVAL, NA, 0, 1}, /* rounded up, as MilliValue */
    {"1n", ERR_INVAL, NA, 0, 1},
    {"1000000u", 0, 1, 0, 1000},
    /* decimal exponents */
    {"1e3", 0, 1000, 0, 1000000},
    {"1E3", 0, 1000, 0, 1000000},
    {"1e+3", 0, 1000, 0, 1000000},
    {"2.5e2", 0, 250, 0, 250000},
    {"1e-3", ERR_INVAL, NA, 0, 1},
    {"5e-1", ERR_INVAL, NA, 0, 500},
    {"1e18", 0, 1000000000000000000, ERR_RANGE, NA},
    {"1e19", ERR_RANGE, NA, ERR_RANGE, NA},
    {"1e999999999999", ERR_RANGE, NA, ERR_RANGE, NA},
    {"1e-999999999999", ERR_INVAL, NA, 0, 1},
    {"0e999999999999", 0, 0, 0, 0},
    /* fractions, exact */
    {"0.5", ERR_INVAL, NA, 0, 500},
    {"1.5", ERR_INVAL, NA, 0, 1500},
    {"0.1", ERR_INVAL, NA, 0, 100},
    {"0.0001", ERR_INVAL, NA, 0, 1},
    {"-0.5", ERR_INVAL, NA, 0, -500},
    {"-0.0001", ERR_INVAL, NA, 0, 0}, /* up is toward +inf */
    {"1.", 0, 1, 0, 1000},
    {".5", ERR_INVAL, NA, 0, 500},
    {"1.0000000000000000000", 0, 1, 0, 1000},
    {"3.000", 0, 3, 0, 3000},
    /* int64 edges */
    {"9223372036854775807", 0, INT64_MAX, ERR_RANGE, NA},
    {"9223372036854775808", ERR_RANGE, NA, ERR_RANGE, NA},
    {"-9223372036854775808", 0, INT64_MIN, ERR_RANGE, NA},
    {"9223372036854775", 0, 9223372036854775, 0, 9223372036854775000},
    {"9223372036854776", 0, 9223372036854776, ERR_RANGE, NA},
    {"12345678901234567890", ERR_RANGE, NA, ERR_RANGE, NA}, /* 20 significant digits */
    /* bad syntax */
    {"", ERR_INVAL, NA, ERR_INVAL, NA},
    {" 4", ERR_INVAL, NA, ERR_INVAL, NA},
    {"4 ", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1 Gi", ERR_INVAL, NA, ERR_INVAL, NA},
    {".", ERR_INVAL, NA, ERR_INVAL, NA},
    {"-", ERR_INVAL, NA, ERR_INVAL, NA},
    {"+", ERR_INVAL, NA, ERR_INVAL, NA},
    {"--1", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1..2", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1.2.3", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1Gi1", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1ki", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1K", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1KiB", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1e", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1e+", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1e3.5", ERR_INVAL, NA, ERR_INVAL, NA},
    {"0x10", ERR_INVAL, NA, ERR_INVAL, NA},
    {"Gi", ERR_INVAL, NA, ERR_INVAL, NA},
    {"abc", ERR_INVAL, NA, ERR_INVAL, NA},
    {"1,5", ERR_INVAL, NA, ERR_INVAL, NA},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_quantity)
{
    const struct qcase *c = &cases[_i];
    int64_t v = 12345, m = 12345;
    int rc = quantity_int(c->in, &v);
    ck_assert_msg(rc == c->int_rc, "quantity_int(\"%s\") = %s, want %s", c->in, err_name(rc),
                  err_name(c->int_rc));
    if (!rc)
        ck_assert_msg(v == c->int_v, "quantity_int(\"%s\") = %lld, want %lld", c->in, (long long)v,
                      (long long)c->int_v);
    else
        ck_assert_int_eq(v, 12345); /* untouched on failure */
    rc = quantity_milli(c->in, &m);
    ck_assert_msg(rc == c->milli_rc, "quantity_milli(\"%s\") = %s, want %s", c->in, err_name(rc),
                  err_name(c->milli_rc));
    if (!rc)
        ck_assert_msg(m == c->milli_v, "quantity_milli(\"%s\") = %lld, want %lld", c->in,
                      (long long)m, (long long)c->milli_v);
}
END_TEST

struct mcase {
    const char *in;
    int rc;
    int64_t down, up;
};

static const struct mcase mib_cases[] = {
    {"1Gi", 0, 1024, 1024},
    {"512Mi", 0, 512, 512},
    {"1", 0, 0, 1},
    {"0", 0, 0, 0},
    {"65505556Ki", 0, 63970, 63971},
    {"1e9", 0, 953, 954},
    {"1.5Gi", 0, 1536, 1536},
    {"8Ei", 0, INT64_C(8) << 40, INT64_C(8) << 40}, /* fine in MiB */
    {"16Ei", 0, INT64_C(16) << 40, INT64_C(16) << 40},
    {"10000000Ei", ERR_RANGE, 0, 0},
    {"100m", 0, 0, 1},
    {"1x", ERR_INVAL, 0, 0},
};

#define NMIB ((int)(sizeof mib_cases / sizeof mib_cases[0]))

START_TEST(test_mib)
{
    const struct mcase *c = &mib_cases[_i];
    int64_t down = -1, up = -1;
    ck_assert_msg(quantity_mib(c->in, false, &down) == c->rc, "quantity_mib(\"%s\") rc", c->in);
    ck_assert_msg(quantity_mib(c->in, true, &up) == c->rc, "quantity_mib(\"%s\", up) rc", c->in);
    if (c->rc)
        return;
    ck_assert_msg(down == c->down, "quantity_mib(\"%s\") = %lld, want %lld", c->in, (long long)down,
                  (long long)c->down);
    ck_assert_msg(up == c->up, "quantity_mib(\"%s\", up) = %lld, want %lld", c->in, (long long)up,
                  (long long)c->up);
}
END_TEST

START_TEST(test_null)
{
    int64_t v;
    ck_assert_int_eq(quantity_int(NULL, &v), ERR_INVAL);
    ck_assert_int_eq(quantity_milli(NULL, &v), ERR_INVAL);
    ck_assert_int_eq(quantity_mib(NULL, true, &v), ERR_INVAL);
}
END_TEST

/* A long run of digits is linear work and exact, not an overflow. */
START_TEST(test_long_input)
{
    size_t n = 100000;
    char *s = malloc(n + 8);
    ck_assert_ptr_nonnull(s);
    s[0] = '0';
    s[1] = '.';
    for (size_t i = 2; i < n; i++)
        s[i] = '0';
    s[n] = '5';
    s[n + 1] = '\0';
    int64_t v = 0;
    ck_assert_int_eq(quantity_int(s, &v), ERR_INVAL);
    ck_assert_int_eq(quantity_milli(s, &v), 0);
    ck_assert_int_eq(v, 1);
    for (size_t i = 0; i < n; i++)
        s[i] = i == 0 ? '1' : '0';
    s[n] = '\0';
    ck_assert_int_eq(quantity_int(s, &v), ERR_RANGE);
    free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("quantity");
    TCase *tc = tcase_create("quantity");
    tcase_add_loop_test(tc, test_quantity, 0, NCASES);
    tcase_add_loop_test(tc, test_mib, 0, NMIB);
    tcase_add_test(tc, test_null);
    tcase_add_test(tc, test_long_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

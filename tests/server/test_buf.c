/* buf: growth, the cap, stickiness, reuse. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "tests/support/harness.h"

START_TEST(test_empty)
{
    struct buf b = BUF_INIT(16);
    ck_assert_str_eq(buf_str(&b), "");
    ck_assert_uint_eq(b.len, 0);
    ck_assert_ptr_null(b.data);
    buf_free(&b);
    buf_free(NULL);
}
END_TEST

/* Appends in pieces of a given size up to a cap: what fits is kept whole,
 * the first piece over the cap fails and everything after it too. */
static const struct {
    size_t max, piece, pieces;
    size_t want_len; /* after all pieces */
    int want_rc;     /* of the last append */
} appends[] = {
    {16, 4, 4, 16, 0},          {16, 4, 5, 16, ERR_TOOBIG},        {16, 5, 4, 15, ERR_TOOBIG},
    {16, 17, 1, 0, ERR_TOOBIG}, {1 << 20, 1000, 1000, 1000000, 0}, {0, 1, 1, 0, ERR_TOOBIG},
    {10, 0, 3, 0, 0},
};

START_TEST(test_append)
{
    struct buf b;
    char piece[4096];
    int rc = 0;
    memset(piece, 'x', sizeof piece);
    buf_init(&b, appends[_i].max);
    for (size_t i = 0; i < appends[_i].pieces; i++)
        rc = buf_append(&b, piece, appends[_i].piece);
    ck_assert_int_eq(rc, appends[_i].want_rc);
    ck_assert_uint_eq(b.len, appends[_i].want_len);
    ck_assert_uint_eq(strlen(buf_str(&b)), b.len);
    ck_assert(b.toobig == (rc != 0));
    ck_assert(b.cap <= appends[_i].max + 1);
    buf_free(&b);
}
END_TEST

/* Doubling: a million one-byte appends take few reallocations. */
START_TEST(test_growth)
{
    struct buf b = BUF_INIT(1 << 20);
    int grew = 0, failed = 0;
    for (int i = 0; i < (1 << 20); i++) {
        size_t cap = b.cap;
        failed += buf_append(&b, "y", 1) != 0;
        grew += b.cap != cap;
    }
    ck_assert_int_eq(failed, 0); /* one assertion: a million are slow under ASan */
    ck_assert_int_le(grew, 16);
    ck_assert_uint_eq(b.len, 1 << 20);
    ck_assert_int_eq(buf_append(&b, "y", 1), ERR_TOOBIG);
    buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
    struct buf b = BUF_INIT(1000);
    ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
    ck_assert_int_eq(buf_printf(&b, "%300s|", ""), 0); /* longer than the small stack copy */
    ck_assert_uint_eq(b.len, 4 + 301);
    ck_assert_int_eq(strncmp(buf_str(&b), "42-x ", 5), 0);
    ck_assert_int_eq(buf_str(&b)[b.len - 1], '|');
    size_t len = b.len;
    ck_assert_int_eq(buf_printf(&b, "%800s", ""), ERR_TOOBIG);
    ck_assert_uint_eq(b.len, len);                   /* unchanged */
    ck_assert_int_eq(buf_puts(&b, "z"), ERR_TOOBIG); /* sticky */
    buf_reset(&b);
    ck_assert_int_eq(buf_puts(&b, "z"), 0);
    ck_assert_str_eq(buf_str(&b), "z");
    buf_free(&b);
}
END_TEST

START_TEST(test_reserve_reset)
{
    struct buf b = BUF_INIT(100);
    ck_assert_int_eq(buf_reserve(&b, 50), 0);
    ck_assert_uint_ge(b.cap, 51);
    ck_assert_str_eq(buf_str(&b), "");
    char *p = b.data;
    ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
    ck_assert_ptr_eq(b.data, p); /* reserved room used, no move */
    buf_reset(&b);
    ck_assert_ptr_eq(b.data, p); /* memory kept */
    ck_assert_str_eq(buf_str(&b), "");
    ck_assert_int_eq(buf_reserve(&b, 101), ERR_TOOBIG);
    buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.max, 100);
    ck_assert_int_eq(buf_puts(&b, "again"), 0);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_empty);
    tcase_add_loop_test(tc, test_append, 0, sizeof appends / sizeof appends[0]);
    tcase_add_test(tc, test_growth);
    tcase_add_test(tc, test_printf);
    tcase_add_test(tc, test_reserve_reset);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

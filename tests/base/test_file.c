/* file: whole files under, at and over the limit; missing files; a pipe. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "tests/support/harness.h"

/* A file of size bytes ('x'), read with a limit of max. */
static const struct {
    size_t size, max;
    int want_rc;
} cases[] = {
    {0, 0, 0},
    {0, 10, 0},
    {1, 0, ERR_TOOBIG},
    {10, 10, 0},
    {11, 10, ERR_TOOBIG},
    {5000, 1 << 20, 0},
    {100000, 99999, ERR_TOOBIG},
    {100000, 100000, 0},
};

START_TEST(test_sizes)
{
    char path[] = "/tmp/vs-file-XXXXXX", err[256] = "", *data = NULL;
    size_t len = 99;
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char *fill = malloc(cases[_i].size + 1);
    memset(fill, 'x', cases[_i].size);
    ck_assert_int_eq(write(fd, fill, cases[_i].size), (ssize_t)cases[_i].size);
    close(fd);
    int rc = file_read(path, cases[_i].max, &data, &len, err, sizeof err);
    unlink(path);
    ck_assert_int_eq(rc, cases[_i].want_rc);
    if (rc == 0) {
        ck_assert_uint_eq(len, cases[_i].size);
        ck_assert_int_eq(data[len], '\0');
        ck_assert(memcmp(data, fill, len) == 0);
    } else {
        ck_assert_ptr_null(data);
        ck_assert_uint_eq(len, 0);
        ck_assert_ptr_nonnull(strstr(err, path));
    }
    free(data);
    free(fill);
}
END_TEST

START_TEST(test_missing)
{
    char err[256] = "", *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(file_read("/nonexistent/vs-file", 10, &data, &len, err, sizeof err), ERR_IO);
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/vs-file"));
}
END_TEST

/* A file whose size is not known ahead: /proc reports 0 bytes. */
START_TEST(test_unknown_size)
{
    char err[256] = "", *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(file_read("/proc/self/status", 1 << 20, &data, &len, err, sizeof err), 0);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_eq(strlen(data), len);
    ck_assert_ptr_nonnull(strstr(data, "Name:"));
    free(data);
    ck_assert_int_eq(file_read("/proc/self/status", 8, &data, &len, err, sizeof err), ERR_TOOBIG);
    ck_assert_ptr_null(data);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("file");
    TCase *tc = tcase_create("file");
    tcase_add_loop_test(tc, test_sizes, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_unknown_size);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

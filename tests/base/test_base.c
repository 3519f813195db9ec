/* base/file and base/list: whole files under, at and over the limit,
 * missing files, files of unknown size; the elements of a list, trimmed or
 * not. base/hmap: a batch of look-ups answers as one look-up each. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hmap.h"
#include "base/list.h"
#include "base/mem.h"
#include "tests/support/harness.h"

/* A file of size bytes ('x'), read with a limit of max. */
static const struct {
    size_t size, max;
    int want_rc;
} files[] = {
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
    char *fill = malloc(files[_i].size + 1);
    memset(fill, 'x', files[_i].size);
    ck_assert_int_eq(write(fd, fill, files[_i].size), (ssize_t)files[_i].size);
    close(fd);
    int rc = file_read(path, files[_i].max, &data, &len, err, sizeof err);
    unlink(path);
    ck_assert_int_eq(rc, files[_i].want_rc);
    if (rc == 0) {
        ck_assert_uint_eq(len, files[_i].size);
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

/* Each input and its elements joined by '|' ("" when there are none). */
static const struct {
    const char *in, *trim, *want;
    char sep;
} lists[] = {
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
    const char *s = lists[_i].in, *tok;
    char got[128] = "";
    size_t len, k = 0;
    int n = 0;
    while (list_next(&s, lists[_i].sep, lists[_i].trim, &tok, &len))
        k += (size_t)snprintf(got + k, sizeof got - k, "%s%.*s", n++ ? "|" : "", (int)len, tok);
    ck_assert_str_eq(got, lists[_i].want);
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

/* Maps of n keys, around hmap_get_many's look-ahead (16) and beyond. */
static const size_t map_sizes[] = {0, 1, 15, 16, 17, 300, 1000};

/* Look up, in one batch and one by one, every key stored and as many
 * never stored, in an order that is not the map's, a NULL key among them;
 * again after every third key is deleted. */
START_TEST(test_get_many)
{
    size_t n = map_sizes[_i], q = 2 * n + 1;
    struct hmap *m = hmap_create();
    char(*keys)[32] = calloc(q, sizeof *keys);
    const char **ask = calloc(q, sizeof *ask);
    void **got = calloc(q, sizeof *got);
    int *vals = calloc(n + 1, sizeof *vals);
    for (size_t i = 0; i < 2 * n; i++) {
        snprintf(keys[i], sizeof keys[i], "node-%zu", i);
        if (i < n)
            hmap_put(m, keys[i], &vals[i]);
        ask[(i * 7919) % (2 * n)] = keys[i]; /* 7919 prime: a permutation unless n divides it */
    }
    for (size_t i = 0; i < 2 * n; i++)
        if (!ask[i])
            ask[i] = keys[i];
    ask[2 * n] = NULL;
    for (int round = 0; round < 2; round++) {
        hmap_get_many(m, ask, q, got);
        for (size_t i = 0; i < q; i++)
            ck_assert_msg(got[i] == hmap_get(m, ask[i]), "n %zu, round %d, key %s", n, round,
                          ask[i] ? ask[i] : "NULL");
        for (size_t i = 0; i < n; i += 3)
            hmap_del(m, keys[i]);
    }
    size_t found = 0;
    for (size_t i = 0; i < q; i++)
        found += got[i] != NULL;
    ck_assert_uint_eq(found, n - (n + 2) / 3); /* what the deletes left */
    hmap_destroy(m);
    free(vals);
    free(got);
    free(ask);
    free(keys);
}
END_TEST

/* After mem_policy, a block under MEM_MAP_MIN freed at the top of the heap
 * stays in it (glibc's 128 KiB trim threshold gave it back, and the next
 * filter faulted it in again); more than MEM_TRIM_MIN freed at once goes
 * back. */
START_TEST(test_heap_kept)
{
#ifdef UNDER_ASAN
    return; /* its allocator is not glibc's */
#endif
    static const size_t sizes[] = {MEM_MAP_MIN / 2, MEM_MAP_MIN - 4096};
    mem_policy();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = mem_alloc(sizes[i]);
        memset(p, 1, sizes[i]);
        size_t held = mallinfo2().arena;
        free(p);
        ck_assert_msg(mallinfo2().arena == held, "%zu bytes freed: heap %zu -> %zu bytes", sizes[i],
                      held, mallinfo2().arena);
    }
    /* many blocks at once, past the threshold: the heap shrinks again */
    enum { N = 12 };
    char *q[N];
    for (int i = 0; i < N; i++)
        memset(q[i] = mem_alloc(MEM_MAP_MIN - 4096), 1, MEM_MAP_MIN - 4096);
    size_t held = mallinfo2().arena;
    for (int i = N - 1; i >= 0; i--)
        free(q[i]);
    ck_assert_msg(mallinfo2().arena < held, "heap %zu -> %zu bytes", held, mallinfo2().arena);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("file");
    tcase_add_loop_test(tc, test_sizes, 0, sizeof files / sizeof files[0]);
    tcase_add_test(tc, test_missing);
    tcase_add_test(tc, test_unknown_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("list");
    tcase_add_loop_test(tc, test_walk, 0, sizeof lists / sizeof lists[0]);
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("hmap");
    tcase_add_loop_test(tc, test_get_many, 0, sizeof map_sizes / sizeof map_sizes[0]);
    suite_add_tcase(s, tc);
    tc = tcase_create("mem");
    tcase_add_test(tc, test_heap_kept);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* HAMi's families in pieces (hamimetrics_open/_next, what /metrics streams)
 * are byte for byte the page built whole, and the page built before it was
 * streamed: tests/data/server/hami-page-*.txt are the HAMi part of /metrics
 * as the binary answered it on those fixtures before the change (several
 * vendors, MIG instances, containers, quotas). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "server/hamimetrics.h"
#include "tests/support/harness.h"

struct page_case {
    const char *cluster; /* fixture under tests/data, or under the source tree */
    const char *golden;  /* NULL: compared with the whole page only */
};

static const struct page_case cases[] = {
    {"e2e/mig-ready.json", "server/hami-page-mig-ready.txt"},
    {"e2e/mixed-node.json", "server/hami-page-mixed-node.txt"},
    {"e2e/quota.json", "server/hami-page-quota.txt"},
    {"../../examples/demo-cluster.json", NULL},
};

static const size_t wants[] = {1, 7, 300, 4096, 65536, SIZE_MAX};

static struct cache *load(const char *rel)
{
    char path[4096], err[512];
    struct snapshot_stats st;
    struct cache *c = cache_create();
    harness_data_path(rel, path, sizeof path);
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s: %s", rel, err);
    return c;
}

/* The page by pieces of want bytes; each piece is checked to stay within
 * want plus one node's lines (a few KiB here). */
static void pieces(struct cache *c, size_t want, struct buf *page)
{
    struct hamimetrics_cursor *k = hamimetrics_open(c, true);
    struct buf piece = BUF_INIT(64u << 20);
    bool done = false;
    for (int calls = 0; !done; calls++) {
        ck_assert_int_lt(calls, 1000000);
        buf_reset(&piece);
        done = hamimetrics_next(k, &piece, want);
        ck_assert(done || piece.len > 0);
        if (want < SIZE_MAX)
            ck_assert_msg(piece.len < want + 8192, "a piece of %zu bytes for %zu", piece.len, want);
        buf_append(page, piece.data, piece.len);
    }
    buf_reset(&piece);
    ck_assert(hamimetrics_next(k, &piece, want)); /* ended: nothing more */
    ck_assert_uint_eq(piece.len, 0);
    buf_free(&piece);
    hamimetrics_close(k);
}

START_TEST(pieces_are_the_page)
{
    const struct page_case *pc = &cases[_i];
    struct cache *c = load(pc->cluster);
    struct buf whole = BUF_INIT(64u << 20), got = BUF_INIT(64u << 20);
    hamimetrics_render(c, true, &whole);
    ck_assert_uint_gt(whole.len, 1000);
    if (pc->golden) {
        char *want = harness_slurp(pc->golden);
        ck_assert_msg(strcmp(buf_str(&whole), want) == 0, "%s: the page differs from %s",
                      pc->cluster, pc->golden);
        free(want);
    }
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        buf_reset(&got);
        pieces(c, wants[i], &got);
        ck_assert_msg(got.len == whole.len && memcmp(got.data, whole.data, got.len) == 0,
                      "%s in pieces of %zu: %zu bytes, whole %zu", pc->cluster, wants[i], got.len,
                      whole.len);
    }
    buf_free(&whole);
    buf_free(&got);
    cache_destroy(c);
}
END_TEST

/* A cursor closed half way frees what it holds (ASan), and one opened on
 * an empty cache gives the heads alone. */
START_TEST(closed_mid_way)
{
    struct cache *c = load("e2e/mixed-node.json");
    struct hamimetrics_cursor *k = hamimetrics_open(c, true);
    struct buf piece = BUF_INIT(1u << 20);
    ck_assert(!hamimetrics_next(k, &piece, 1));
    hamimetrics_close(k);
    hamimetrics_close(NULL);
    cache_destroy(c);

    c = cache_create();
    buf_reset(&piece);
    hamimetrics_render(c, false, &piece);
    ck_assert_ptr_nonnull(strstr(buf_str(&piece), "# TYPE hami_gpu_memory_limit_bytes gauge\n"));
    ck_assert_ptr_null(strstr(buf_str(&piece), "\nhami_gpu_memory_limit_bytes{"));
    ck_assert_ptr_null(strstr(buf_str(&piece), "GPUDeviceMemoryLimit"));
    buf_free(&piece);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hamimetrics");
    TCase *tc = tcase_create("pieces");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, pieces_are_the_page, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, closed_mid_way);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

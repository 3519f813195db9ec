/* The cache counts how long its writes waited for the write lock, per
 * writer (cache_write_wait): a write behind a held read lock counts a wait,
 * a write that finds the lock free counts 0, and each writer has its own
 * figures. No duration is asserted beyond "more than nothing". */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/clock.h"
#include "k8s/cache.h"
#include "tests/support/harness.h"

struct writer {
    struct cache *c;
    enum cache_writer who;
};

/* One write of who's kind: the source marks the cache ready, placement
 * runs the expiry (both take the write lock once). */
static void write_once(struct cache *c, enum cache_writer who)
{
    if (who == CACHE_WRITER_SOURCE)
        cache_set_ready(c, true);
    else
        cache_expire(c, clock_wall_s());
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    write_once(w->c, w->who);
    return NULL;
}

/* Hold the read lock while a writer of kind who starts, then let it in;
 * again (at most 5 times) while the writer had not yet begun to wait when
 * the lock was released. Returns the writes made. */
static int write_behind_reader(struct cache *c, enum cache_writer who)
{
    struct writer w = {c, who};
    struct cache_wait cw;
    int writes = 0;
    for (int round = 0; round < 5; round++) {
        pthread_t th;
        cache_rdlock(c);
        ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
        clock_sleep_s(0.1 * (round + 1));
        cache_unlock(c);
        pthread_join(th, NULL);
        writes++;
        cache_write_wait(c, who, &cw);
        if (cw.max_s > 0)
            break;
    }
    return writes;
}

START_TEST(free_lock_waits_nothing)
{
    struct cache *c = cache_create();
    struct cache_wait cw;
    for (int i = 0; i < CACHE_WRITERS; i++) {
        cache_write_wait(c, (enum cache_writer)i, &cw);
        ck_assert_uint_eq(cw.count, 0);
        ck_assert(cw.sum_s == 0 && cw.max_s == 0);
    }
    write_once(c, CACHE_WRITER_SOURCE);
    write_once(c, CACHE_WRITER_SOURCE);
    write_once(c, CACHE_WRITER_PLACEMENT);
    cache_write_wait(c, CACHE_WRITER_SOURCE, &cw);
    ck_assert_uint_eq(cw.count, 2);
    ck_assert(cw.sum_s == 0 && cw.max_s == 0);
    ck_assert_uint_eq(cw.bucket[0], 2);
    cache_write_wait(c, CACHE_WRITER_PLACEMENT, &cw);
    ck_assert_uint_eq(cw.count, 1);
    ck_assert(cw.sum_s == 0 && cw.max_s == 0);
    ck_assert_str_eq(cache_writer_name(CACHE_WRITER_SOURCE), "source");
    ck_assert_str_eq(cache_writer_name(CACHE_WRITER_PLACEMENT), "placement");
    cache_destroy(c);
}
END_TEST

/* Table: which writer waits behind a reader; the other must not move. */
static const enum cache_writer waiting[] = {CACHE_WRITER_SOURCE, CACHE_WRITER_PLACEMENT};

START_TEST(write_behind_reader_counts)
{
    enum cache_writer who = waiting[_i], other = (enum cache_writer)(1 - (int)who);
    struct cache *c = cache_create();
    struct cache_wait cw, ow;
    write_once(c, who); /* a free lock first: 0 */
    int writes = write_behind_reader(c, who);
    cache_write_wait(c, who, &cw);
    ck_assert_uint_eq(cw.count, (unsigned long long)writes + 1);
    ck_assert_msg(cw.max_s > 0, "%s: a write behind a held read lock counted no wait",
                  cache_writer_name(who));
    ck_assert(cw.sum_s >= cw.max_s);
    /* The histogram holds every write, the longest in its own bucket. */
    static const double bounds[] = CACHE_WAIT_BOUNDS;
    unsigned long long in_buckets = 0;
    int longest_at = 0;
    for (int b = 0; b < CACHE_WAIT_BUCKETS; b++)
        in_buckets += cw.bucket[b];
    while (longest_at < CACHE_WAIT_BUCKETS - 1 && cw.max_s > bounds[longest_at])
        longest_at++;
    ck_assert_uint_eq(in_buckets, cw.count);
    ck_assert_uint_ge(cw.bucket[longest_at], 1);
    ck_assert_uint_ge(cw.bucket[0], 1); /* the write that found the lock free */
    cache_write_wait(c, other, &ow);
    ck_assert_uint_eq(ow.count, 0);
    ck_assert(ow.max_s == 0);
    /* The longest stays the longest: a free write after it keeps it. */
    double longest = cw.max_s;
    write_once(c, who);
    cache_write_wait(c, who, &cw);
    ck_assert(cw.max_s == longest);
    ck_assert_uint_eq(cw.count, (unsigned long long)writes + 2);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache-wait");
    TCase *tc = tcase_create("wait");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, free_lock_waits_nothing);
    tcase_add_loop_test(tc, write_behind_reader_counts, 0,
                        (int)(sizeof waiting / sizeof waiting[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* metrics: labels, buckets, the exposition text, concurrent recording. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "server/metrics.h"
#include "tests/support/harness.h"

static struct metrics *m;
static struct buf out;

static void setup(void)
{
    m = metrics_create();
    buf_init(&out, 1 << 20);
}

static void teardown(void)
{
    metrics_destroy(m);
    buf_free(&out);
}

static const char *render(void)
{
    buf_reset(&out);
    ck_assert_int_eq(metrics_render(m, &out, NULL, NULL), 0);
    return buf_str(&out);
}

#define has(text, needle) ck_assert_msg(strstr(text, needle), "no \"%s\" in:\n%s", needle, text)

START_TEST(test_labels)
{
    ck_assert_int_eq(metrics_route_add(m, "/filter"), 0);
    ck_assert_int_eq(metrics_route_add(m, "/bind"), 1);
    ck_assert_int_eq(metrics_route_add(m, "/filter"), 0); /* the same id again */
    ck_assert_int_eq(metrics_route_add(m, ""), ERR_INVAL);
    ck_assert_int_eq(metrics_route_add(m, "a\"b"), ERR_INVAL);
    ck_assert_int_eq(metrics_route_add(m, "a\nb"), ERR_INVAL);
    ck_assert_int_eq(metrics_reason_add(m, "bad_json"), 0);
    ck_assert_int_eq(metrics_reason_add(m, "other"), ERR_INVAL);
    for (int i = 2; i < METRICS_MAX_LABELS; i++) {
        char name[16];
        snprintf(name, sizeof name, "/r%d", i);
        ck_assert_int_eq(metrics_route_add(m, name), i);
    }
    ck_assert_int_eq(metrics_route_add(m, "/one-too-many"), ERR_TOOBIG);
}
END_TEST

/* One observation of `seconds`: the first bucket that counts it. */
static const struct {
    double seconds;
    const char *first_le; /* this bucket holds 1 ... */
    const char *below;    /* ... and the one before holds 0 (NULL: none before) */
} buckets[] = {
    {0, "0.0001", NULL},
    {0.0001, "0.0001", NULL}, /* a bound is inclusive */
    {0.0002, "0.00025", "0.0001"},
    {0.003, "0.005", "0.0025"},
    {0.7, "1", "0.5"},
    {2.5, "2.5", "1"},
    {3, "+Inf", "2.5"},
    {-1, "0.0001", NULL}, /* a clock step back counts as 0 */
};

START_TEST(test_buckets)
{
    char line[160];
    int r = metrics_route_add(m, "/filter");
    metrics_observe(m, r, 200, buckets[_i].seconds);
    const char *text = render();
    snprintf(line, sizeof line,
             "vgpu_scheduler_request_duration_seconds_bucket{route=\"/filter\",le=\"%s\"} 1\n",
             buckets[_i].first_le);
    has(text, line);
    if (buckets[_i].below) {
        snprintf(line, sizeof line,
                 "vgpu_scheduler_request_duration_seconds_bucket{route=\"/filter\",le=\"%s\"} 0\n",
                 buckets[_i].below);
        has(text, line);
    }
    has(text, "vgpu_scheduler_request_duration_seconds_bucket{route=\"/filter\",le=\"+Inf\"} 1\n");
    has(text, "vgpu_scheduler_request_duration_seconds_count{route=\"/filter\"} 1\n");
}
END_TEST

START_TEST(test_render)
{
    int f = metrics_route_add(m, "/filter");
    int b = metrics_route_add(m, "/bind");
    metrics_reason_add(m, "bad_json");
    metrics_observe(m, f, 200, 0.001);
    metrics_observe(m, f, 200, 0.002);
    metrics_observe(m, f, 413, 0.5);
    metrics_observe(m, b, 99, 1);     /* not a status: ignored */
    metrics_observe(m, b, 600, 1);    /* likewise */
    metrics_observe(m, 99, 200, 1);   /* not a route: ignored */
    metrics_observe(NULL, f, 200, 1); /* no metrics: ignored */
    metrics_error(m, "bad_json");
    metrics_error(m, "bad_json");
    metrics_error(m, "never-registered");
    metrics_error(NULL, "bad_json");
    const char *text = render();
    has(text, "# HELP vgpu_scheduler_requests_total ");
    has(text, "# TYPE vgpu_scheduler_requests_total counter\n");
    has(text, "vgpu_scheduler_requests_total{route=\"/filter\",code=\"200\"} 2\n");
    has(text, "vgpu_scheduler_requests_total{route=\"/filter\",code=\"413\"} 1\n");
    ck_assert_ptr_null(strstr(text, "vgpu_scheduler_requests_total{route=\"/bind\""));
    has(text, "# TYPE vgpu_scheduler_request_duration_seconds histogram\n");
    has(text, "vgpu_scheduler_request_duration_seconds_sum{route=\"/filter\"} 0.503000000\n");
    has(text, "vgpu_scheduler_request_duration_seconds_count{route=\"/filter\"} 3\n");
    has(text, "vgpu_scheduler_request_duration_seconds_count{route=\"/bind\"} 0\n");
    has(text, "# TYPE vgpu_scheduler_errors_total counter\n");
    has(text, "vgpu_scheduler_errors_total{reason=\"bad_json\"} 2\n");
    has(text, "vgpu_scheduler_errors_total{reason=\"other\"} 1\n");
    /* Every line is a comment or "name{labels} value". */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1)
        ck_assert(*p == '#' || (strchr(p, '}') && strchr(p, '}') < strchr(p, '\n')));
}
END_TEST

static void extra(void *ctx, struct buf *b)
{
    buf_printf(b, "hami_gpu_shared_count{node=\"%s\"} 3\n", (const char *)ctx);
}

START_TEST(test_extra_and_cap)
{
    buf_reset(&out);
    ck_assert_int_eq(metrics_render(m, &out, extra, "n1"), 0);
    const char *text = buf_str(&out);
    has(text, "hami_gpu_shared_count{node=\"n1\"} 3\n");
    ck_assert(strstr(text, "vgpu_scheduler_errors_total") < strstr(text, "hami_gpu"));

    struct buf small = BUF_INIT(64);
    ck_assert_int_eq(metrics_render(m, &small, NULL, NULL), ERR_TOOBIG);
    buf_free(&small);
}
END_TEST

#define NTHREADS 4
#define NOBS     20000

static void *observe_loop(void *arg)
{
    int route = *(int *)arg;
    for (int i = 0; i < NOBS; i++) {
        metrics_observe(m, route, 200, 0.001);
        metrics_error(m, "bad_json");
    }
    return NULL;
}

START_TEST(test_concurrent)
{
    pthread_t t[NTHREADS];
    int route = metrics_route_add(m, "/filter");
    char line[160];
    metrics_reason_add(m, "bad_json");
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, observe_loop, &route);
    for (int i = 0; i < 50; i++)
        render(); /* renders while others record */
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    const char *text = render();
    snprintf(line, sizeof line,
             "vgpu_scheduler_requests_total{route=\"/filter\",code=\"200\"} %d\n", NTHREADS * NOBS);
    has(text, line);
    snprintf(line, sizeof line, "vgpu_scheduler_errors_total{reason=\"bad_json\"} %d\n",
             NTHREADS * NOBS);
    has(text, line);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_labels);
    tcase_add_loop_test(tc, test_buckets, 0, sizeof buckets / sizeof buckets[0]);
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_extra_and_cap);
    tcase_add_test(tc, test_concurrent);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* A /metrics answer of a few MiB is given back to the system once sent
 * (base/mem.h, mem_policy): scraping it again and again does not leave a
 * copy resident in each worker thread's heap. Found by vgpu-bench --churn,
 * whose scrapes took the service from 18.5 to 25.3 MiB at 200 nodes.
 * And it is streamed in pieces (server/service.c, scrape_next): resident
 * memory does not rise by the page's size while it is made and sent, with
 * one scraper or several at once (at 5,000 nodes the page is ~90 MB and,
 * built whole, took the service from 33 to 119 MiB). A client gone half
 * way leaves nothing behind (ASan: the server's exit status).
 * Asserts resident memory, not time. Under AddressSanitizer (its own
 * allocator keeps freed memory in quarantine) there is nothing to check. */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/churn.h"
#include "bench/stats.h"
#include "tests/support/harness.h"

#define NODES  250 /* 8 GPUs each: /metrics is about 4.5 MB */
#define GPUS   8
#define SCRAPE 12

static void write_snapshot(const char *path)
{
    FILE *f = fopen(path, "w");
    struct buf b = BUF_INIT(1 << 20);
    ck_assert_ptr_nonnull(f);
    fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", f);
    for (int i = 0; i < NODES; i++) {
        buf_reset(&b);
        churn_node_json(&b, i, GPUS);
        fprintf(f, "%s%s", i ? "," : "", buf_str(&b));
    }
    fputs("]}\n", f);
    buf_free(&b);
    ck_assert_int_eq(fclose(f), 0);
}

/* Scrape /metrics on a new connection; returns the answer's size. */
static size_t scrape(int port)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    ck_assert_int_eq(r.status, 200);
    size_t n = r.body.len;
    harness_reply_free(&r);
    return n;
}

/* The service on a fresh snapshot (write_snapshot) in a directory of its
 * own, with `threads` workers, ready. */
struct run {
    char dir[64], path[128];
    struct harness *h;
    int port;
};

static void run_start(struct run *u, const char *threads)
{
    snprintf(u->dir, sizeof u->dir, "/tmp/vs-metrics-mem-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(u->dir));
    snprintf(u->path, sizeof u->path, "%s/cluster.json", u->dir);
    write_snapshot(u->path);
    const char *args[] = {"--snapshot", u->path, "--threads", threads, NULL};
    u->h = harness_start(args);
    ck_assert_ptr_nonnull(u->h);
    u->port = harness_port(u->h);
    ck_assert(harness_wait_ready(u->port, 15000));
}

/* Stop it (a clean exit) and remove its files. */
static void run_stop(struct run *u)
{
    ck_assert_int_eq(harness_stop(u->h, SIGTERM, 10000), 0);
    harness_free(u->h);
    unlink(u->path);
    rmdir(u->dir);
}

START_TEST(scrapes_leave_nothing_resident)
{
#ifdef UNDER_ASAN
    return;
#endif
    struct run u;
    run_start(&u, "2");
    struct harness *h = u.h;
    int port = u.port;

    size_t len = scrape(port);
    ck_assert_msg(len > (size_t)2 << 20, "/metrics is only %zu bytes: too small to tell", len);
    scrape(port); /* every worker thread has answered one */
    double peak, before, after;
    stats_rss(harness_pid(h), &peak, &before);
    for (int i = 0; i < SCRAPE; i++)
        scrape(port);
    /* The last answer's buffer goes when the server sees the request
     * complete, a little after the client has it all: the least of a few
     * looks. */
    after = HUGE_VAL;
    for (int i = 0; i < 10; i++) {
        double now;
        harness_nap_ms(50);
        stats_rss(harness_pid(h), &peak, &now);
        after = now < after ? now : after;
    }
    ck_assert_msg(after - before < (double)len / 2 / (1 << 20),
                  "%d scrapes of %.1f MiB left %.1f MiB more resident (%.1f -> %.1f MiB)", SCRAPE,
                  (double)len / (1 << 20), after - before, before, after);

    run_stop(&u);
}
END_TEST

/* Forget the peak resident size of pid, so VmHWM is the peak from now
 * on (clear_refs 5). False when the kernel does not allow it. */
static bool reset_peak(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", pid);
    FILE *f = fopen(path, "w");
    bool ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

static void *scrape_thread(void *arg)
{
    int *port = arg;
    scrape(*port);
    return NULL;
}

/* The peak during SCRAPERS scrapes at once, over resident memory before. */
static double scrape_rise(struct harness *h, int port, int scrapers)
{
    pthread_t t[8];
    double peak, before;
    ck_assert(scrapers <= 8);
    harness_nap_ms(100);
    stats_rss(harness_pid(h), &peak, &before);
    ck_assert(reset_peak(harness_pid(h)));
    for (int i = 0; i < scrapers; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, scrape_thread, &port), 0);
    for (int i = 0; i < scrapers; i++)
        pthread_join(t[i], NULL);
    double now;
    stats_rss(harness_pid(h), &peak, &now);
    return peak - before;
}

START_TEST(scrape_peak_is_bounded)
{
#ifdef UNDER_ASAN
    return;
#endif
    struct run u;
    run_start(&u, "4");
    struct harness *h = u.h;
    int port = u.port;
    if (!reset_peak(harness_pid(h))) {
        fprintf(stderr, "scrape_peak_is_bounded: /proc/PID/clear_refs refused, nothing checked\n");
        goto out;
    }
    size_t len = scrape(port);
    ck_assert_msg(len > (size_t)2 << 20, "/metrics is only %zu bytes: too small to tell", len);
    for (int i = 0; i < 4; i++)
        scrape(port); /* the threads' first use of their stacks and arenas */
    double mib = (double)len / (1 << 20);
    double one = scrape_rise(h, port, 1);
    ck_assert_msg(one < mib / 4, "a scrape of %.1f MiB raised the peak by %.1f MiB", mib, one);
    double four = scrape_rise(h, port, 4);
    ck_assert_msg(four < mib / 2, "4 scrapes of %.1f MiB at once raised the peak by %.1f MiB", mib,
                  four);
out:
    run_stop(&u);
}
END_TEST

/* Ask for /metrics, read the first few KiB and hang up. */
static void scrape_and_go(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", got[4096];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
    ck_assert_int_gt(recv(fd, got, sizeof got, MSG_WAITALL), 0);
    ck_assert_int_eq(strncmp(got, "HTTP/1.1 200", 12), 0);
    close(fd);
}

/* Clients that hang up mid-answer: the server goes on serving whole pages,
 * counts them, and exits clean (under ASan: nothing leaked). */
START_TEST(client_gone_mid_answer)
{
    struct run u;
    run_start(&u, "2");
    int port = u.port;
    size_t len = scrape(port);
    for (int i = 0; i < 10; i++)
        scrape_and_go(port);
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    ck_assert_int_eq(r.status, 200);
    /* the same page but for a few counters */
    ck_assert_msg(r.body.len + 4096 > len && r.body.len < len + 4096, "%zu bytes, first %zu",
                  r.body.len, len);
    const char *m = buf_str(&r.body);
    ck_assert_ptr_nonnull(
        strstr(m, "\n# TYPE vgpu_scheduler_table_entries gauge\n")); /* the tail */
    harness_reply_free(&r);
    run_stop(&u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics-memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, scrapes_leave_nothing_resident);
    tcase_add_test(tc, scrape_peak_is_bounded);
    tcase_add_test(tc, client_gone_mid_answer);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

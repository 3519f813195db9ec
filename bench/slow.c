/* vgpu-slow: filter latency with and without N slow clients.
 *
 * Starts vgpu-scheduler (--bin) on a snapshot, measures K filters (each on
 * a new connection, as a client that was just cut or restarted makes them),
 * then opens N connections that send half a request and one more byte
 * every 500 ms (re-opened when the server cuts them, so N stay open), and
 * measures K filters again. Prints p50/p99 of both and the server's RSS.
 * Bounded: every filter waits 10 s at most, the run --seconds at most.
 *
 *     build/vgpu-slow --slow 5000 --filters 500
 *
 * A program that prints figures; never a test. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/init.h"
#include "bench/stats.h"

#define SLOW_MAX    18000
#define FILTER_MAX  100000
#define CLIENT_MS   10000L
#define TRICKLE_MS  500
#define REQUEST_MAX ((size_t)64 << 20) /* the --request file */

struct args {
    const char *bin, *snapshot, *request;
    int slow, filters, seconds, threads;
};

/* A free port on 127.0.0.1 (bound and released: good enough for a bench). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && kb < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* One request on a new connection: its status (0 = not answered in time). */
static long request(int port, const char *path, const char *body)
{
    char url[128];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, CLIENT_MS);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    if (body) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

static pid_t start(const struct args *a, int port)
{
    char bind[32], threads[16];
    snprintf(bind, sizeof bind, "127.0.0.1:%d", port);
    snprintf(threads, sizeof threads, "%d", a->threads);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr); /* the slow clients make microhttpd talk */
        execl(a->bin, a->bin, "--snapshot", a->snapshot, "--http_bind", bind, "--threads", threads,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 100; i++) {
        if (request(port, "/healthz", NULL) == 200)
            return pid;
        clock_sleep_s(0.1);
    }
    fprintf(stderr, "vgpu-slow: %s did not start\n", a->bin);
    if (pid > 0)
        kill(pid, SIGKILL);
    return -1;
}

/* ---- the slow clients ---- */

struct slow {
    int port, n;
    int fd[SLOW_MAX];
    atomic_bool stop;
    long opened;
};

static int open_slow(int port)
{
    static const char half[] =
        "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, 50) == 1)
        (void)!send(fd, half, sizeof half - 1, MSG_NOSIGNAL);
    return fd;
}

/* Every TRICKLE_MS: one byte on each; the ones the server closed are opened
 * again, so n stay open. */
static void *slow_main(void *arg)
{
    struct slow *s = arg;
    char junk[64];
    while (!atomic_load(&s->stop)) {
        for (int i = 0; i < s->n && !atomic_load(&s->stop); i++) {
            ssize_t k = s->fd[i] >= 0 ? recv(s->fd[i], junk, sizeof junk, MSG_DONTWAIT) : 0;
            if (s->fd[i] < 0 || k == 0 || (k < 0 && errno != EAGAIN)) {
                if (s->fd[i] >= 0)
                    close(s->fd[i]);
                s->fd[i] = open_slow(s->port);
                s->opened++;
                continue;
            }
            (void)!send(s->fd[i], " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        clock_sleep_s(TRICKLE_MS / 1e3);
    }
    for (int i = 0; i < s->n; i++)
        if (s->fd[i] >= 0)
            close(s->fd[i]);
    return NULL;
}

/* K filters, one after another: p50, p99, failures. */
static void measure(const char *what, int port, const char *body, int k, double end)
{
    double *ms = malloc(sizeof *ms * (size_t)k);
    int n = 0, failed = 0;
    for (int i = 0; i < k && stats_now_ms() < end; i++) {
        double t0 = stats_now_ms();
        long st = request(port, "/filter", body);
        if (st == 200)
            ms[n++] = stats_now_ms() - t0;
        else
            failed++;
    }
    printf("%-28s filters %5d  failed %4d  p50 %8.2f ms  p99 %8.2f ms\n", what, n, failed,
           stats_pct(ms, n, 0.5), stats_pct(ms, n, 0.99));
    free(ms);
}

static int parse(int argc, char **argv, struct args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            return -1;
        if (strcmp(k, "--bin") == 0)
            a->bin = v;
        else if (strcmp(k, "--snapshot") == 0)
            a->snapshot = v;
        else if (strcmp(k, "--request") == 0)
            a->request = v;
        else if (strcmp(k, "--slow") == 0)
            a->slow = atoi(v);
        else if (strcmp(k, "--filters") == 0)
            a->filters = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            a->seconds = atoi(v);
        else if (strcmp(k, "--threads") == 0)
            a->threads = atoi(v);
        else
            return -1;
        i++;
    }
    if (a->slow < 0 || a->slow > SLOW_MAX || a->filters < 1 || a->filters > FILTER_MAX ||
        a->seconds < 1 || a->threads < 1)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    base_init();
    struct args a = {.bin = "build/vgpu-scheduler",
                     .snapshot = "examples/demo-cluster.json",
                     .request = "examples/requests/filter-small.json",
                     .slow = 5000,
                     .filters = 500,
                     .seconds = 60,
                     .threads = 2};
    if (parse(argc, argv, &a)) {
        fprintf(stderr,
                "usage: vgpu-slow [--bin PATH] [--snapshot FILE] [--request FILE] "
                "[--slow N<=%d] [--filters K] [--seconds S] [--threads T]\n",
                SLOW_MAX);
        return 2;
    }
    char *body = NULL, err[512];
    size_t blen = 0;
    if (file_read(a.request, REQUEST_MAX, &body, &blen, err, sizeof err)) {
        fprintf(stderr, "vgpu-slow: cannot read %s\n", err);
        return 1;
    }
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int port = free_port();
    pid_t pid = start(&a, port);
    if (pid < 0)
        return 1;
    double end = stats_now_ms() + a.seconds * 1e3;
    printf("vgpu-slow: %s, %d worker threads, %d filters each on a new connection\n", a.bin,
           a.threads, a.filters);
    measure("no slow clients", port, body, a.filters, end);
    long idle = rss_kb(pid);

    static struct slow s;
    s.port = port;
    s.n = a.slow;
    for (int i = 0; i < s.n; i++)
        s.fd[i] = open_slow(port);
    pthread_t th;
    pthread_create(&th, NULL, slow_main, &s);
    clock_sleep_s(1);
    char what[64];
    snprintf(what, sizeof what, "%d slow clients", a.slow);
    measure(what, port, body, a.filters, end);
    long loaded = rss_kb(pid);
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    printf("server RSS %ld KiB idle, %ld KiB with the slow clients; %ld slow connections "
           "re-opened after the server cut them\n",
           idle, loaded, s.opened);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    curl_global_cleanup();
    free(body);
    return 0;
}

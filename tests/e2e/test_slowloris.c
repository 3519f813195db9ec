/* Slow and half-open connections against the real binary (issue 15, item
 * 2): thousands of connections that send half a request, or nothing, or
 * one byte at a time, spread over every listener (the extender, the
 * webhook, the metrics port), while a client keeps filtering. Every filter
 * answers; the server cuts the slow connections at the request deadline
 * however they trickle; its memory stays bounded; and once a wave of
 * half-open connections closes, every port answers again at once. A client
 * without a certificate that claims a 64 MiB body on a client-certificate
 * route gets 403 from its headers, and the server buffers none of it. */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/harness.h"

#define ATTACK       5000  /* slow connections of the first wave, over every port */
#define WAVE         3000  /* half-open connections of the second wave, closed at once */
#define READ_TIMEOUT "5s"  /* the server's request deadline in this test */
#define CUT_WAIT_MS  25000 /* longest wait for the server to cut every slow connection */
#define TRICKLE_MS   500   /* a slow connection sends one byte this often */
#define CLIENT_MS    10000 /* a filter or probe that takes longer counts as unanswered */
#define FILTER_MAX   100000
#define RSS_SLACK_KB (64 * 1024)
#define CLAIMED      (64u << 20) /* the Content-Length of the unauthenticated bodies */
#define SENT         (48u << 20) /* what each of them tries to send */
#define NO_CERT_CONN 6
#define PER_IP       "8"
#define PER_IP_TRY   20
#define CLUSTER      "e2e/cluster.json"
#define FILTER_POD                                                                                 \
    "{\"Pod\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"slow-1\"},"        \
    "\"spec\":{\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{\"nvidia.com/"        \
    "gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}},\"NodeNames\":[\"gpu-a\",\"gpu-b\"]}"

static char cluster[4096];

/* The server's resident memory in KiB, from /proc/<pid>/status. */
static long rss_kb(struct harness *h)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", harness_pid(h));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (kb < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    fclose(f);
    return kb;
}

/* Every connection here is a file: raise our soft limit to the hard one. */
static void raise_nofile(void)
{
    struct rlimit r;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    r.rlim_cur = r.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
    ck_assert_msg(r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= ATTACK + 500,
                  "open files limit %llu is too low for this test", (unsigned long long)r.rlim_cur);
}

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/%s", d ? d : "tests/data", CLUSTER);
    raise_nofile();
}

/* ---- the attacking connections ---- */

enum style {
    S_SILENT,  /* connects and never sends a byte */
    S_HEADERS, /* half the headers, then one more header byte at a time */
    S_BODY,    /* the headers, then the body one byte at a time */
    S_STYLES
};

static const char *const opening[S_STYLES] = {
    "",
    "POST /filter HTTP/1.1\r\nHost: x\r\nX-Slow: ",
    "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: 100000\r\n\r\n{",
};

struct slow {
    int fd;
    enum style style;
};

/* A non-blocking connection to 127.0.0.1:port, its opening sent; -1 when
 * the connection could not even be started. */
static int open_slow(int port, enum style style)
{
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
    if (*opening[style] && poll(&p, 1, 100) == 1)
        (void)!send(fd, opening[style], strlen(opening[style]), MSG_NOSIGNAL);
    return fd;
}

/* True when the server has closed (or reset) the connection. */
static bool closed_by_server(int fd)
{
    char junk[256];
    ssize_t n = recv(fd, junk, sizeof junk, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* One round: every slow connection still open sends a byte (the silent ones
 * never do); the ones the server closed are closed here too. Returns how
 * many are still open. */
static int trickle(struct slow *v, int n)
{
    int open = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].fd < 0)
            continue;
        if (closed_by_server(v[i].fd)) {
            close(v[i].fd);
            v[i].fd = -1;
            continue;
        }
        if (v[i].style != S_SILENT)
            (void)!send(v[i].fd, v[i].style == S_HEADERS ? "a" : " ", 1,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
        open++;
    }
    return open;
}

static void close_all(struct slow *v, int n)
{
    for (int i = 0; i < n; i++)
        if (v[i].fd >= 0) {
            close(v[i].fd);
            v[i].fd = -1;
        }
}

/* ---- the filtering client ---- */

struct filterer {
    int port;
    atomic_bool stop;
    int ok, failed;
    char first_error[256];
};

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) ? 0 : size * n;
}

/* One request on a new connection, CLIENT_MS at most. Returns the status,
 * 0 when it was not answered in time (why in err). */
static long request(int port, const char *path, const char *body, struct buf *out, char *err)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *e = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    err[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)CLIENT_MS);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    if (body) {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(e);
    return status;
}

static void *filter_main(void *arg)
{
    struct filterer *f = arg;
    char err[CURL_ERROR_SIZE];
    while (!atomic_load(&f->stop) && f->ok + f->failed < FILTER_MAX) {
        struct buf out = BUF_INIT(1u << 20);
        long st = request(f->port, "/filter", FILTER_POD, &out, err);
        if (st == 200 && strstr(buf_str(&out), "\"NodeNames\":[\"")) {
            f->ok++;
        } else if (f->failed++ == 0) {
            snprintf(f->first_error, sizeof f->first_error, "status %ld: %.200s", st,
                     st ? buf_str(&out) : err);
        }
        buf_free(&out);
        harness_nap_ms(20);
    }
    return NULL;
}

/* path on port answers 200 within CLIENT_MS. */
static void assert_answers(int port, const char *path, const char *what)
{
    char err[CURL_ERROR_SIZE];
    struct buf out = BUF_INIT(1u << 20);
    long st = request(port, path, NULL, &out, err);
    ck_assert_msg(st == 200, "%s on the %s port (%d): %s", path, what, port,
                  st ? buf_str(&out) : err);
    buf_free(&out);
}

START_TEST(test_slow_clients)
{
    const char *args[] = {"--snapshot",
                          cluster,
                          "--threads",
                          "2",
                          "--read-timeout",
                          READ_TIMEOUT,
                          "--webhook-bind",
                          "127.0.0.1:0",
                          "--metrics-bind-address",
                          "127.0.0.1:0",
                          NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int ports[3] = {harness_port(h), harness_log_port(h, "serving /webhook on ", 5000),
                    harness_log_port(h, "serving /metrics on ", 5000)};
    static const char *const names[3] = {"extender", "webhook", "metrics"};
    ck_assert_int_gt(ports[1], 0);
    ck_assert_int_gt(ports[2], 0);
    harness_nap_ms(300);
    long idle = rss_kb(h), peak = idle;

    struct filterer f = {.port = ports[0]};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, filter_main, &f), 0);

    /* Wave one: slow connections on every port, trickling until the
     * server cuts them (it must, at its deadline, however they trickle). */
    static struct slow v[ATTACK];
    for (int i = 0; i < ATTACK; i++) {
        v[i].style = (enum style)(i / 3 % S_STYLES);
        v[i].fd = open_slow(ports[i % 3], v[i].style);
    }
    long t0 = harness_now_ms();
    int open = ATTACK;
    while (open > 0 && harness_now_ms() - t0 < CUT_WAIT_MS) {
        harness_nap_ms(TRICKLE_MS);
        open = trickle(v, ATTACK);
        long r = rss_kb(h);
        peak = r > peak ? r : peak;
    }
    long held_ms = harness_now_ms() - t0;
    close_all(v, ATTACK);

    /* Wave two: half-open connections, closed by the client at once. */
    for (int i = 0; i < WAVE; i++)
        v[i].fd = open_slow(ports[i % 3], S_BODY);
    harness_nap_ms(200);
    close_all(v, WAVE);
    for (int p = 0; p < 3; p++) /* the metrics listener serves /metrics alone */
        assert_answers(ports[p], p == 2 ? "/metrics" : "/healthz", names[p]);

    atomic_store(&f.stop, true);
    pthread_join(th, NULL);
    fprintf(stderr,
            "slow clients: %d filters answered, %d not; RSS idle %ld KiB, peak %ld KiB; "
            "slow connections held %ld ms, %d still open\n",
            f.ok, f.failed, idle, peak, held_ms, open);
    ck_assert_msg(f.failed == 0, "%d of %d filters not answered; the first: %s", f.failed,
                  f.ok + f.failed, f.first_error);
    ck_assert_int_gt(f.ok, 0);
    ck_assert_msg(open == 0, "%d slow connections still open after %d ms", open, CUT_WAIT_MS);
    ck_assert_msg(peak - idle < RSS_SLACK_KB, "RSS grew from %ld KiB to %ld KiB", idle, peak);
    char *log = harness_output(h);
    ck_assert_msg(strstr(log, "open files: limit"), "the server did not log its open files limit");
    free(log);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 10000), 0);
    harness_free(h);
}
END_TEST

/* ---- the per-client limit ---- */

/* Of n silent connections to port, how many the server still holds. */
static int held_of(int port, int n)
{
    struct slow v[PER_IP_TRY];
    for (int i = 0; i < n; i++)
        v[i] = (struct slow){open_slow(port, S_SILENT), S_SILENT};
    harness_nap_ms(500);
    int open = 0;
    for (int i = 0; i < n; i++)
        open += v[i].fd >= 0 && !closed_by_server(v[i].fd);
    close_all(v, n);
    return open;
}

START_TEST(test_per_ip)
{
    const char *args[] = {"--snapshot", cluster,          "--max-connections-per-ip",
                          PER_IP,       "--webhook-bind", "127.0.0.1:0",
                          NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int wport = harness_log_port(h, "serving /webhook on ", 5000);
    ck_assert_int_gt(wport, 0);
    /* The webhook listener holds PER_IP connections from 127.0.0.1 ... */
    ck_assert_int_eq(held_of(wport, PER_IP_TRY), atoi(PER_IP));
    /* ... the extender on loopback, where every client is 127.0.0.1, all. */
    ck_assert_int_eq(held_of(harness_port(h), PER_IP_TRY), PER_IP_TRY);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 10000), 0);
    harness_free(h);
}
END_TEST

/* ---- a client without a certificate that claims a large body ---- */

static char dir[64];

static const char *at(const char *name)
{
    static char paths[4][256];
    static int k;
    char *p = paths[k++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* A TLS connection to 127.0.0.1:port presenting no certificate (the
 * server's is not checked: this client only wants to be refused). */
struct tls_conn {
    int fd;
    gnutls_session_t s;
};

static bool tls_open(struct tls_conn *c, int port, gnutls_certificate_credentials_t cred)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return false;
    gnutls_init(&c->s, GNUTLS_CLIENT);
    gnutls_set_default_priority(c->s);
    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_transport_set_int(c->s, c->fd);
    gnutls_handshake_set_timeout(c->s, 10000);
    int rc;
    do
        rc = gnutls_handshake(c->s);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    return rc == 0;
}

static void tls_close(struct tls_conn *c)
{
    gnutls_deinit(c->s);
    close(c->fd);
}

/* Send the headers claiming CLAIMED bytes, then up to `body` bytes of it.
 * Returns the body bytes the server took before it stopped reading. */
static size_t claim(struct tls_conn *c, size_t body)
{
    static char chunk[1 << 20];
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: %u\r\n\r\n",
                     CLAIMED);
    memset(chunk, ' ', sizeof chunk);
    if (gnutls_record_send(c->s, head, (size_t)n) != n)
        return 0;
    size_t sent = 0;
    while (sent < body) {
        ssize_t k = gnutls_record_send(c->s, chunk, sizeof chunk);
        if (k <= 0)
            break;
        sent += (size_t)k;
    }
    return sent;
}

START_TEST(test_no_cert_no_body)
{
    snprintf(dir, sizeof dir, "/tmp/vs-e2e-slow-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *gen[] = {"gen-cert",    "--service",   "vgpu-scheduler",
                         "--namespace", "vgpu-system", "--out",
                         dir,           NULL};
    struct harness_result g;
    ck_assert_int_eq(harness_run(gen, 20000, &g), 0);
    ck_assert_msg(g.status == 0, "gen-cert: %s", buf_str(&g.err));
    harness_result_free(&g);
    const char *args[] = {
        "--snapshot",       cluster,      "--cert_file", at("tls.crt"), "--key_file", at("tls.key"),
        "--client-ca-file", at("ca.crt"), "--threads",   "2",           NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    gnutls_certificate_credentials_t cred;
    gnutls_certificate_allocate_credentials(&cred);
    harness_nap_ms(300);
    long idle = rss_kb(h);

    /* Headers alone: the answer is 403, with no byte of the body sent. */
    struct tls_conn c;
    char reply[512] = "";
    ck_assert(tls_open(&c, port, cred));
    claim(&c, 0);
    ssize_t got = gnutls_record_recv(c.s, reply, sizeof reply - 1);
    reply[got > 0 ? got : 0] = '\0';
    tls_close(&c);
    ck_assert_msg(strncmp(reply, "HTTP/1.1 403", 12) == 0, "got \"%.80s\" (%zd)", reply, got);

    /* Six connections that each claim 64 MiB and send what they can. */
    struct tls_conn v[NO_CERT_CONN];
    size_t sent = 0;
    for (int i = 0; i < NO_CERT_CONN; i++) {
        ck_assert(tls_open(&v[i], port, cred));
        sent += claim(&v[i], SENT);
    }
    harness_nap_ms(300);
    long held = rss_kb(h);
    for (int i = 0; i < NO_CERT_CONN; i++)
        tls_close(&v[i]);
    gnutls_certificate_free_credentials(cred);
    fprintf(stderr, "no certificate: %zu MiB sent, RSS %ld KiB idle, %ld KiB after\n", sent >> 20,
            idle, held);
    ck_assert_msg(held - idle < RSS_SLACK_KB, "RSS grew from %ld KiB to %ld KiB", idle, held);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 10000), 0);
    harness_free(h);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gnutls_global_init();
    Suite *s = suite_create("slowloris");
    TCase *tc = tcase_create("slowloris");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_slow_clients);
    tcase_add_test(tc, test_no_cert_no_body);
    tcase_add_test(tc, test_per_ip);
    suite_add_tcase(s, tc);
    int rc = harness_run_suite(s, true);
    gnutls_global_deinit();
    curl_global_cleanup();
    return rc;
}

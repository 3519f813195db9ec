/* http: an in-process server on 127.0.0.1:0 with test routes. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "server/http.h"
#include "tests/support/harness.h"

#define ECHO_MAX 1024

static struct http_server *srv;
static struct metrics *met;
static int port;

/* POST /echo: the body back, with the content type it came with. */
static int on_echo(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    if (strlen(req->body) != req->body_len)
        return ERR_INVAL; /* the body must arrive NUL-terminated, no NUL inside */
    resp->content_type = "application/octet-stream";
    return buf_append(&resp->body, req->body, req->body_len);
}

static int on_fail(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return ERR_IO;
}

/* GET /info: what the handler saw of the request. */
static int on_info(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *x = http_request_header(req, "X-Test");
    (void)ctx;
    return buf_printf(&resp->body, "%s %s peer=%s x=%s", req->method, req->path, req->peer,
                      x ? x : "-");
}

/* GET /slow: answers after 300 ms, to be in flight during a stop. */
static atomic_int slow_entered;

static int on_slow(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct timespec t = {0, 300 * 1000 * 1000};
    (void)ctx;
    (void)req;
    atomic_store(&slow_entered, 1);
    nanosleep(&t, NULL);
    return buf_puts(&resp->body, "done");
}

/* GET /stream: a streamed answer (http_stream) of PIECES pieces of 4096
 * bytes, piece i all 'a' + i % 26, with an empty piece between each (asked
 * again by the server). ?fail=K: piece K fails (the connection is cut);
 * ?handler=fail: the handler sets a stream and fails (a 500; the stream is
 * freed unread). Counts streams made and freed (done must run once each). */
#define PIECES     20
#define PIECE_SIZE 4096

static atomic_int streams_made, streams_done;

struct test_stream {
    int next, fail;
    bool empty; /* the last piece given was empty */
};

static int stream_next(void *state, struct buf *out)
{
    struct test_stream *t = state;
    if (t->next == PIECES)
        return 1;
    if (!t->empty) {
        t->empty = true;
        return 0;
    }
    t->empty = false;
    if (t->next == t->fail)
        return ERR_IO;
    char piece[PIECE_SIZE];
    memset(piece, 'a' + t->next % 26, sizeof piece);
    t->next++;
    return buf_append(out, piece, sizeof piece);
}

static void stream_done(void *state)
{
    free(state);
    atomic_fetch_add(&streams_done, 1);
}

static int on_stream(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const char *fail = http_request_query(req, "fail"), *h = http_request_query(req, "handler");
    struct test_stream *t = calloc(1, sizeof *t);
    (void)ctx;
    t->fail = fail ? atoi(fail) : -1;
    atomic_fetch_add(&streams_made, 1);
    resp->content_type = "application/octet-stream";
    resp->stream = (struct http_stream){stream_next, stream_done, t};
    return h && strcmp(h, "fail") == 0 ? ERR_IO : 0;
}

static void setup(void)
{
    char err[256];
    struct http_options o = {.bind = "127.0.0.1:0", .threads = 4};
    log_set_level(LOG_LEVEL_ERROR); /* the 413 warnings are expected */
    met = metrics_create();
    srv = http_server_create(&o, met, err, sizeof err);
    ck_assert_ptr_nonnull(srv);
    ck_assert_int_eq(http_route_add(srv, "POST", "/echo", ECHO_MAX, on_echo, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/fail", 0, on_fail, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/info", 0, on_info, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/slow", 0, on_slow, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/stream", 0, on_stream, NULL), 0);
    ck_assert_int_eq(http_server_start(srv, err, sizeof err), 0);
    port = http_server_port(srv);
    ck_assert_int_gt(port, 0);
}

static void teardown(void)
{
    http_server_destroy(srv);
    metrics_destroy(met);
}

/* Requests through libcurl and the status each must get. */
static const struct {
    const char *method, *path;
    size_t body; /* bytes of body; 0 = none */
    long status;
} cases[] = {
    {"POST", "/echo", 1, 200},
    {"POST", "/echo", ECHO_MAX, 200},
    {"POST", "/echo", ECHO_MAX + 1, 413},
    {"GET", "/echo", 0, 405},
    {"POST", "/nope", 10, 404},
    {"GET", "/nope", 0, 404},
    {"POST", "/nope", HTTP_BODY_MAX_DEFAULT + 1, 413}, /* unknown path: the default limit */
    {"POST", "/info", HTTP_BODY_MAX_DEFAULT + 1, 413}, /* wrong method too */
    {"GET", "/fail", 0, 500},
    {"GET", "/info", 0, 200},
    {"HEAD", "/info", 0, 200},
    {"DELETE", "/info", 0, 405},
};

START_TEST(test_status)
{
    char *body = NULL;
    struct harness_reply r;
    if (cases[_i].body) {
        body = malloc(cases[_i].body);
        memset(body, 'a', cases[_i].body);
    }
    struct harness_client *c = harness_client_new();
    int rc =
        harness_client_send(c, cases[_i].method, port, cases[_i].path, body, cases[_i].body, &r);
    ck_assert_msg(rc == 0, "%s %s: %s", cases[_i].method, cases[_i].path, r.error);
    ck_assert_int_eq(r.status, cases[_i].status);
    if (r.status == 200 && body)
        ck_assert(r.body.len == cases[_i].body && memcmp(r.body.data, body, r.body.len) == 0);
    if (r.status == 413)
        ck_assert_ptr_nonnull(strstr(buf_str(&r.body), "too large"));
    harness_reply_free(&r);
    harness_client_free(c);
    free(body);
}
END_TEST

START_TEST(test_request_fields)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/info?a=b", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strncmp(buf_str(&r.body), "GET /info peer=127.0.0.1:", 25) == 0, "%s",
                  buf_str(&r.body));
    harness_reply_free(&r);
}
END_TEST

START_TEST(test_keepalive)
{
    struct harness_client *c = harness_client_new();
    struct harness_reply r;
    ck_assert_int_eq(harness_client_send(c, "POST", port, "/echo", "x", 1, &r), 0);
    ck_assert_int_eq(r.connects, 1);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_client_send(c, "GET", port, "/info", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.connects, 0); /* the same connection */
    harness_reply_free(&r);
    harness_client_free(c);
}
END_TEST

/* After a 413 the server closes: the next request needs a new connection. */
START_TEST(test_toobig_closes)
{
    static char body[ECHO_MAX + 1];
    struct harness_client *c = harness_client_new();
    struct harness_reply r;
    ck_assert_int_eq(harness_client_send(c, "POST", port, "/echo", body, sizeof body, &r), 0);
    ck_assert_int_eq(r.status, 413);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_client_send(c, "GET", port, "/info", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.connects, 1);
    harness_reply_free(&r);
    harness_client_free(c);
}
END_TEST

/* Raw requests: the limit decided from Content-Length before any body, and
 * while a chunked body streams in. */
static const struct {
    const char *req;
    const char *want; /* status line prefix */
    int closed;       /* harness_raw: 0 = the server closed the connection */
} raw[] = {
    {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n", "HTTP/1.1 413", 0},
    {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     "400\r\n%1024s\r\n400\r\n%1024s\r\n0\r\n\r\n",
     "HTTP/1.1 413", 0},
    {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
     "HTTP/1.1 200", 1},
    {"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 404", 1},
    /* past twice the limit: cut off without an answer */
    {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     "800\r\n%2048s\r\n800\r\n%2048s\r\n0\r\n\r\n",
     "", 0},
};

START_TEST(test_raw)
{
    char req[8192];
    struct buf resp = BUF_INIT(1 << 20);
    snprintf(req, sizeof req, raw[_i].req, "", "");
    int rc = harness_raw(port, req, strlen(req), &resp, 1000);
    ck_assert_msg(strncmp(buf_str(&resp), raw[_i].want, strlen(raw[_i].want)) == 0, "got: %s",
                  buf_str(&resp));
    if (raw[_i].want[0] == '\0')
        ck_assert_msg(resp.len == 0, "got: %s", buf_str(&resp));
    ck_assert_int_eq(rc, raw[_i].closed);
    if (strstr(raw[_i].req, "abc"))
        ck_assert_ptr_nonnull(strstr(buf_str(&resp), "\r\n\r\nabcde"));
    buf_free(&resp);
}
END_TEST

#define NTHREADS 4
#define NREQ     50

static void *client_loop(void *arg)
{
    long id = (long)arg, bad = 0;
    struct harness_client *c = harness_client_new();
    for (int i = 0; i < NREQ; i++) {
        char body[64];
        struct harness_reply r;
        int n = snprintf(body, sizeof body, "thread %ld request %d", id, i);
        if (harness_client_send(c, "POST", port, "/echo", body, (size_t)n, &r) || r.status != 200 ||
            strcmp(buf_str(&r.body), body) != 0)
            bad++;
        harness_reply_free(&r);
    }
    harness_client_free(c);
    return (void *)bad;
}

START_TEST(test_concurrent)
{
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, client_loop, (void *)i), 0);
    long bad = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *v;
        pthread_join(t[i], &v);
        bad += (long)v;
    }
    ck_assert_int_eq(bad, 0);

    /* Every request was counted, under its route and status. */
    struct buf out = BUF_INIT(1 << 20);
    char want[128];
    ck_assert_int_eq(metrics_render(met, &out, NULL, NULL), 0);
    snprintf(want, sizeof want, "vgpu_scheduler_requests_total{route=\"/echo\",code=\"200\"} %d\n",
             NTHREADS * NREQ);
    const char *line = strstr(buf_str(&out), "vgpu_scheduler_requests_total{route=\"/echo\"");
    ck_assert_msg(strstr(buf_str(&out), want), "want %s got %.200s", want, line ? line : "none");
    buf_free(&out);
}
END_TEST

/* One request from a thread of its own: GET path, or POST path with send
 * as the body; the status and answer it got. */
struct call {
    const char *path, *send;
    long status;
    char answer[32];
};

static void *call_main(void *arg)
{
    struct call *k = arg;
    struct harness_reply r;
    if (k->send)
        harness_post(port, k->path, k->send, strlen(k->send), &r);
    else
        harness_get(port, k->path, &r);
    k->status = r.status;
    snprintf(k->answer, sizeof k->answer, "%s", buf_str(&r.body));
    harness_reply_free(&r);
    return NULL;
}

/* A request in flight when stop begins still gets its answer; after stop,
 * nobody is listening. */
START_TEST(test_stop_finishes_inflight)
{
    pthread_t t;
    struct call call = {.path = "/slow"};
    struct harness_reply r;
    ck_assert_int_eq(pthread_create(&t, NULL, call_main, &call), 0);
    for (int i = 0; i < 2000 && !atomic_load(&slow_entered); i++) {
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL); /* bounded: at most 10 s */
    }
    ck_assert(atomic_load(&slow_entered));
    http_server_stop(srv);
    pthread_join(t, NULL);
    ck_assert_int_eq(call.status, 200);
    ck_assert_str_eq(call.answer, "done");
    ck_assert_int_ne(harness_get(port, "/info", &r), 0);
    harness_reply_free(&r);
}
END_TEST

START_TEST(test_routes_refused)
{
    ck_assert_int_eq(http_route_add(srv, "GET", "/late", 0, on_info, NULL), ERR_INVAL);
}
END_TEST

START_TEST(test_route_add_errors)
{
    char err[128];
    struct http_options o = {.bind = "127.0.0.1:0", .threads = 1};
    struct http_server *s = http_server_create(&o, NULL, err, sizeof err);
    ck_assert_int_eq(http_route_add(s, "GET", "/a", 0, on_info, NULL), 0);
    ck_assert_int_eq(http_route_add(s, "POST", "/a", 0, on_info, NULL), 0);
    ck_assert_int_eq(http_route_add(s, "GET", "/a", 0, on_info, NULL), ERR_INVAL);
    ck_assert_int_eq(http_route_add(s, "GET", "a", 0, on_info, NULL), ERR_INVAL);
    for (int i = 2; i < HTTP_MAX_ROUTES; i++) {
        char path[16];
        snprintf(path, sizeof path, "/r%d", i);
        ck_assert_int_eq(http_route_add(s, "GET", path, 0, on_info, NULL), 0);
    }
    ck_assert_int_eq(http_route_add(s, "GET", "/full", 0, on_info, NULL), ERR_TOOBIG);
    http_server_destroy(s);
    o.bind = "nonsense";
    ck_assert_ptr_null(http_server_create(&o, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nonsense"));
}
END_TEST

START_TEST(test_bind_in_use)
{
    char err[256], bind[32];
    snprintf(bind, sizeof bind, "127.0.0.1:%d", port);
    struct http_options o = {.bind = bind, .threads = 1};
    struct http_server *s = http_server_create(&o, NULL, err, sizeof err);
    ck_assert_int_eq(http_server_start(s, err, sizeof err), ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, bind));
    http_server_destroy(s);
}
END_TEST

static const struct {
    const char *in;
    int rc;
    const char *host;
    int port;
} hostports[] = {
    {"127.0.0.1:8888", 0, "127.0.0.1", 8888},
    {"localhost:0", 0, "localhost", 0},
    {":9443", 0, "", 9443},
    {"[::1]:80", 0, "::1", 80},
    {"[::]:65535", 0, "::", 65535},
    {"host:65536", ERR_INVAL, NULL, 0},
    {"host:", ERR_INVAL, NULL, 0},
    {"host", ERR_INVAL, NULL, 0},
    {"::1:80", ERR_INVAL, NULL, 0},
    {"[::1]80", ERR_INVAL, NULL, 0},
    {"h:-1", ERR_INVAL, NULL, 0},
    {"h:123456", ERR_INVAL, NULL, 0},
    {"", ERR_INVAL, NULL, 0},
};

START_TEST(test_split_hostport)
{
    char host[64] = "";
    int p = -1;
    ck_assert_int_eq(http_split_hostport(hostports[_i].in, host, sizeof host, &p),
                     hostports[_i].rc);
    if (hostports[_i].rc == 0) {
        ck_assert_str_eq(host, hostports[_i].host);
        ck_assert_int_eq(p, hostports[_i].port);
    }
}
END_TEST

/* ---- the request deadline ---- */

#define DEADLINE_MS 400
#define GIVE_UP_MS  3000 /* the client's patience: far past the deadline */

static struct http_server *dl_srv;
static int dl_port;

static void dl_setup(void)
{
    char err[256];
    struct http_options o = {
        .bind = "127.0.0.1:0", .threads = 2, .read_timeout_ms = DEADLINE_MS, .idle_timeout_s = 1};
    log_set_level(LOG_LEVEL_ERROR);
    dl_srv = http_server_create(&o, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(dl_srv);
    ck_assert_int_eq(http_route_add(dl_srv, "POST", "/echo", ECHO_MAX, on_echo, NULL), 0);
    ck_assert_int_eq(http_route_add(dl_srv, "GET", "/info", 0, on_info, NULL), 0);
    ck_assert_int_eq(http_server_start(dl_srv, err, sizeof err), 0);
    dl_port = http_server_port(dl_srv);
}

static void dl_teardown(void)
{
    http_server_destroy(dl_srv);
}

/* A client script: what it sends first, then one byte of `drip` every 50 ms
 * (or, with `again`, the whole first request again every 100 ms). */
static const struct {
    const char *name, *first, *drip;
    bool again, cut; /* cut: the server must close it before GIVE_UP_MS */
} scripts[] = {
    {"silent", "", NULL, false, true},
    {"headers one byte at a time", "GET /info HTTP/1.1\r\n",
     "X-Test: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     false, true},
    {"body one byte at a time", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n",
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     false, true},
    {"a request, then the next one byte at a time", "GET /info HTTP/1.1\r\nHost: x\r\n\r\n",
     "GET /info HTTP/1.1\r\nX-Test: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     false, true},
    {"whole requests on one connection", "GET /info HTTP/1.1\r\nHost: x\r\n\r\n", NULL, true,
     false},
};

static long ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

START_TEST(test_deadline)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dl_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *first = scripts[_i].first, *drip = scripts[_i].drip;
    size_t k = 0;
    int answers = 0;
    bool closed = false;
    long t0 = ms_now(), last = t0;
    (void)!send(fd, first, strlen(first), MSG_NOSIGNAL);
    while (!closed && ms_now() - t0 < GIVE_UP_MS) {
        struct pollfd p = {fd, POLLIN, 0};
        char got[4096];
        if (poll(&p, 1, 50) == 1) {
            ssize_t n = recv(fd, got, sizeof got, 0);
            closed = n <= 0;
            answers += n > 0 && strncmp(got, "HTTP/1.1 200", 12) == 0;
        }
        if (scripts[_i].again && ms_now() - last >= 100) {
            (void)!send(fd, first, strlen(first), MSG_NOSIGNAL);
            last = ms_now();
        } else if (drip && drip[k] && ms_now() - last >= 50) {
            (void)!send(fd, drip + k++, 1, MSG_NOSIGNAL);
            last = ms_now();
        }
    }
    close(fd);
    ck_assert_msg(closed == scripts[_i].cut, "%s: %s after %ld ms", scripts[_i].name,
                  closed ? "closed" : "still open", ms_now() - t0);
    if (!scripts[_i].cut)
        ck_assert_int_gt(answers, GIVE_UP_MS / 100 / 2);
}
END_TEST

static const struct {
    const char *bind;
    bool loopback;
} binds[] = {
    {"127.0.0.1:8443", true}, {"127.9.9.9:1", true},   {"[::1]:80", true},
    {"localhost:0", true},    {"0.0.0.0:9443", false}, {":9443", false},
    {"10.0.0.1:80", false},   {"[::]:80", false},      {"bad", false},
};

START_TEST(test_loopback)
{
    ck_assert_int_eq(http_bind_is_loopback(binds[_i].bind), binds[_i].loopback);
}
END_TEST

/* Streamed answers: the pieces in order, whole; a piece failing cuts the
 * connection; a handler failing after setting a stream answers 500; HEAD
 * reads none. Each stream is freed exactly once, and counted. */
static const struct {
    const char *method, *path;
    long status;     /* 0: the transfer fails (cut mid-answer) */
    size_t body_max; /* bytes of body at most */
} streams[] = {
    {"GET", "/stream", 200, PIECES *PIECE_SIZE},
    {"GET", "/stream?fail=3", 0, 3 * PIECE_SIZE},
    {"GET", "/stream?fail=0", 0, 0},
    {"GET", "/stream?handler=fail", 500, 100},
    {"HEAD", "/stream", 200, 0},
};

START_TEST(test_stream)
{
    struct harness_reply r;
    struct harness_client *c = harness_client_new();
    int made = atomic_load(&streams_made), done = atomic_load(&streams_done);
    int rc = harness_client_send(c, streams[_i].method, port, streams[_i].path, NULL, 0, &r);
    if (streams[_i].status) {
        ck_assert_msg(rc == 0, "%s: %s", streams[_i].path, r.error);
        ck_assert_int_eq(r.status, streams[_i].status);
    } else {
        ck_assert_msg(rc != 0, "%s: a cut answer came whole (%ld)", streams[_i].path, r.status);
    }
    if (streams[_i].status == 200 && streams[_i].body_max) {
        ck_assert_uint_eq(r.body.len, PIECES * PIECE_SIZE);
        for (size_t i = 0; i < r.body.len; i++)
            ck_assert_int_eq(r.body.data[i], 'a' + (int)(i / PIECE_SIZE) % 26);
    }
    ck_assert_uint_le(r.body.len, streams[_i].body_max);
    harness_reply_free(&r);
    harness_client_free(c);
    ck_assert_int_eq(atomic_load(&streams_made), made + 1);
    for (int i = 0; i < 200 && atomic_load(&streams_done) != done + 1; i++)
        harness_nap_ms(10); /* freed when the server sees the connection done */
    ck_assert_int_eq(atomic_load(&streams_done), done + 1);
    struct buf m = BUF_INIT(1 << 20);
    metrics_render(met, &m, NULL, NULL);
    char want[128];
    snprintf(want, sizeof want, "vgpu_scheduler_requests_total{route=\"/stream\",code=\"%ld\"} 1\n",
             streams[_i].status ? streams[_i].status : 200);
    ck_assert_msg(strstr(buf_str(&m), want), "%s not in\n%s", want, buf_str(&m));
    buf_free(&m);
}
END_TEST

/* ---- offloaded routes (http_route_offload) ---- */

/* POST /gated, offloaded: waits (at most 10 s) until the test opens the
 * gate; counts how many wait at once. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gated_now, gated_most, gated_done;

static int on_gated(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct timespec until;
    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&gate_mu);
    gated_most = ++gated_now > gated_most ? gated_now : gated_most;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open && pthread_cond_timedwait(&gate_cv, &gate_mu, &until) == 0)
        ;
    gated_now--;
    gated_done++;
    pthread_mutex_unlock(&gate_mu);
    return buf_printf(&resp->body, "gated %.*s", (int)req->body_len, req->body);
}

/* Until n handlers wait at the gate (at most 10 s); returns how many do. */
static int gated_wait(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&gate_mu);
    while (gated_now < n && pthread_cond_timedwait(&gate_cv, &gate_mu, &until) == 0)
        ;
    int got = gated_now;
    pthread_mutex_unlock(&gate_mu);
    return got;
}

static void gate_set(bool open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* One worker thread and one offload thread: /gated, /echo and /fail
 * offloaded, /info not. */
static void off_setup(void)
{
    char err[256];
    struct http_options o = {.bind = "127.0.0.1:0", .threads = 1, .offload_threads = 1};
    log_set_level(LOG_LEVEL_ERROR);
    gate_open = false;
    gated_now = gated_most = gated_done = 0;
    met = metrics_create();
    srv = http_server_create(&o, met, err, sizeof err);
    ck_assert_ptr_nonnull(srv);
    ck_assert_int_eq(http_route_add(srv, "POST", "/gated", ECHO_MAX, on_gated, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "POST", "/echo", ECHO_MAX, on_echo, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/fail", 0, on_fail, NULL), 0);
    ck_assert_int_eq(http_route_add(srv, "GET", "/info", 0, on_info, NULL), 0);
    ck_assert_int_eq(http_route_offload(srv, "POST", "/gated"), 0);
    ck_assert_int_eq(http_route_offload(srv, "POST", "/echo"), 0);
    ck_assert_int_eq(http_route_offload(srv, "GET", "/fail"), 0);
    ck_assert_int_eq(http_route_offload(srv, "GET", "/nope"), ERR_NOTFOUND);
    ck_assert_int_eq(http_server_start(srv, err, sizeof err), 0);
    ck_assert_int_eq(http_route_offload(srv, "GET", "/info"), ERR_INVAL);
    port = http_server_port(srv);
}

static void off_teardown(void)
{
    gate_set(true);
    http_server_destroy(srv);
    metrics_destroy(met);
}

/* With the only worker thread's offloaded handler waiting, another
 * request is still answered; the waiting one gets its answer after. */
START_TEST(test_offload_frees_worker)
{
    pthread_t t;
    struct call g = {.path = "/gated", .send = "a"};
    struct harness_reply r;
    ck_assert_int_eq(pthread_create(&t, NULL, call_main, &g), 0);
    ck_assert_int_eq(gated_wait(1), 1);
    ck_assert_int_eq(harness_get(port, "/info", &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);
    pthread_mutex_lock(&gate_mu);
    int waiting = gated_now, done = gated_done;
    pthread_mutex_unlock(&gate_mu);
    ck_assert_msg(waiting == 1 && done == 0, "/info waited for the offloaded handler");
    gate_set(true);
    pthread_join(t, NULL);
    ck_assert_int_eq(g.status, 200);
    ck_assert_str_eq(g.answer, "gated a");
}
END_TEST

/* Offloaded answers and failures reach the client, several in turn on one
 * kept-alive connection (resumed each time), and are counted. */
START_TEST(test_offload_answers)
{
    struct harness_client *c = harness_client_new();
    struct harness_reply r;
    for (int i = 0; i < 3; i++) {
        char body[16];
        int n = snprintf(body, sizeof body, "body-%d", i);
        ck_assert_int_eq(harness_client_send(c, "POST", port, "/echo", body, (size_t)n, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(r.connects, i == 0);
        ck_assert(r.body.len == (size_t)n && memcmp(r.body.data, body, (size_t)n) == 0);
        harness_reply_free(&r);
    }
    ck_assert_int_eq(harness_client_send(c, "GET", port, "/fail", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 500);
    harness_reply_free(&r);
    harness_client_free(c);
    struct buf out = BUF_INIT(1 << 20);
    ck_assert_int_eq(metrics_render(met, &out, NULL, NULL), 0);
    ck_assert_ptr_nonnull(
        strstr(buf_str(&out), "vgpu_scheduler_requests_total{route=\"/echo\",code=\"200\"} 3\n"));
    buf_free(&out);
}
END_TEST

struct stopper {
    atomic_bool stopped;
};

static void *stop_main(void *arg)
{
    struct stopper *st = arg;
    http_server_stop(srv);
    atomic_store(&st->stopped, true);
    return NULL;
}

/* With one offload thread, requests run one at a time, in turn. */
START_TEST(test_offload_queue)
{
    pthread_t t[2];
    struct call g[2] = {{.path = "/gated", .send = "x"}, {.path = "/gated", .send = "y"}};
    ck_assert_int_eq(pthread_create(&t[0], NULL, call_main, &g[0]), 0);
    ck_assert_int_eq(gated_wait(1), 1);
    ck_assert_int_eq(pthread_create(&t[1], NULL, call_main, &g[1]), 0);
    clock_sleep_s(0.1); /* the second is in by now, most likely: it must wait */
    gate_set(true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(gated_most, 1);
    ck_assert_int_eq(gated_done, 2);
    ck_assert_int_eq(g[0].status, 200);
    ck_assert_str_eq(g[0].answer, "gated x");
    ck_assert_int_eq(g[1].status, 200);
    ck_assert_str_eq(g[1].answer, "gated y");
}
END_TEST

/* A stop begun while an offloaded handler runs waits for it (libmicrohttpd
 * must not stop with the connection suspended); the client gets its answer. */
START_TEST(test_offload_stop)
{
    pthread_t t, ts;
    struct call g = {.path = "/gated", .send = "z"};
    struct stopper st = {0};
    ck_assert_int_eq(pthread_create(&t, NULL, call_main, &g), 0);
    ck_assert_int_eq(gated_wait(1), 1);
    ck_assert_int_eq(pthread_create(&ts, NULL, stop_main, &st), 0);
    clock_sleep_s(0.1);
    ck_assert(!atomic_load(&st.stopped));
    gate_set(true);
    pthread_join(t, NULL);
    pthread_join(ts, NULL);
    ck_assert(atomic_load(&st.stopped));
    ck_assert_int_eq(g.status, 200);
    ck_assert_str_eq(g.answer, "gated z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_status, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_request_fields);
    tcase_add_test(tc, test_keepalive);
    tcase_add_test(tc, test_toobig_closes);
    tcase_add_loop_test(tc, test_raw, 0, sizeof raw / sizeof raw[0]);
    tcase_add_test(tc, test_concurrent);
    tcase_add_test(tc, test_stop_finishes_inflight);
    tcase_add_test(tc, test_routes_refused);
    tcase_add_test(tc, test_bind_in_use);
    tcase_add_loop_test(tc, test_stream, 0, sizeof streams / sizeof streams[0]);
    suite_add_tcase(s, tc);

    TCase *tp = tcase_create("parts");
    tcase_add_test(tp, test_route_add_errors);
    tcase_add_loop_test(tp, test_split_hostport, 0, sizeof hostports / sizeof hostports[0]);
    suite_add_tcase(s, tp);

    TCase *td = tcase_create("deadline");
    tcase_set_timeout(td, 60);
    tcase_add_checked_fixture(td, dl_setup, dl_teardown);
    tcase_add_loop_test(td, test_deadline, 0, sizeof scripts / sizeof scripts[0]);
    tcase_add_loop_test(td, test_loopback, 0, sizeof binds / sizeof binds[0]);
    suite_add_tcase(s, td);

    TCase *to = tcase_create("offload");
    tcase_set_timeout(to, 60);
    tcase_add_checked_fixture(to, off_setup, off_teardown);
    tcase_add_test(to, test_offload_frees_worker);
    tcase_add_test(to, test_offload_answers);
    tcase_add_test(to, test_offload_queue);
    tcase_add_test(to, test_offload_stop);
    suite_add_tcase(s, to);

    return harness_run_suite(s, true);
}

#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "server/tls.h"

#define STOP_WAIT_MS    4000      /* how long stop waits for requests in flight */
#define KEEP_BUF_MAX    (1 << 20) /* larger per-connection buffers are freed after use */
#define CONN_MEMORY     (128u << 10)
#define TEXT_PLAIN      "text/plain; charset=utf-8"
#define REASON_TOOBIG   "body_too_large"
#define REASON_HANDLER  "handler_failed"
#define REASON_CERT     "client_cert_refused"
#define REASON_DEADLINE "request_deadline"
#define TLS_RELOAD_MS   1000
#define ROUTE_UNMATCHED "unmatched"
#define IDLE_TIMEOUT_S  60
#define READ_TIMEOUT_MS 10000
#define WATCH_TICK_MS   200         /* how often the watchdog looks at the connections */
#define PRESSURE_MS     1000        /* the read deadline when a listener is 3/4 full */
#define MHD_LOG_PER_S   20          /* microhttpd lines logged per second at most */
#define STREAM_BLOCK    (32u << 10) /* libmicrohttpd's buffer for a streamed answer */
#define STREAM_EMPTY    100000      /* empty pieces in a row before a stream is cut */

struct route {
    char method[16];
    char path[128];
    size_t body_max;
    http_handler fn;
    void *ctx;
    int metric;       /* route id in the metrics, -1 without */
    bool client_cert; /* needs a client certificate signed by the client CA */
    bool offload;     /* the handler runs on the offload threads */
};

/* Where a connection is, for the watchdog (http_server.lock guards it). */
enum phase {
    PH_READING, /* a request is coming in: deadline = its first byte + read timeout */
    PH_BUSY,    /* the request is in: the handler runs or the answer is sent */
    PH_IDLE,    /* between requests: deadline = the last answer + idle timeout */
};

/* Per connection, reused by each of its requests in turn (MHD runs one
 * request of a connection at a time, on one thread). */
struct conn {
    struct http_server *srv;
    char peer[INET6_ADDRSTRLEN + 10];
    /* The watchdog's view, under srv->lock: the socket (valid until the
     * close notification, which unlinks the connection first), the phase,
     * its deadline (monotonic ms; 0 = none), the bytes received when it
     * went idle, and whether it was cut already. */
    struct conn *prev, *next;
    int fd;
    enum phase phase;
    long long deadline;
    unsigned long long rx_mark;
    bool cut;
    /* TLS: the pair this connection's handshake used (one reference), and
     * whether its client certificate verified: 0 not checked yet, 1 yes,
     * -1 no (why in cert_why). A connection has one handshake. */
    struct tls_pair *pair;
    int cert_ok;
    char cert_why[192];
    /* The current request. */
    const struct route *route; /* NULL: answer `miss` (404 or 405) */
    int miss;
    char allow[64]; /* methods of the path, for a 405 */
    int metric;
    int status; /* what was queued; 0 = nothing yet */
    bool toobig;
    size_t limit;   /* the route's body limit (body.max may be lower: the Content-Length) */
    size_t dropped; /* body bytes read, once over the limit or answered */
    struct timespec t0;
    struct buf body;           /* max = the request's body limit */
    struct http_response resp; /* every answer is written here */
    /* An offloaded request: what its handler gets, the connection to
     * resume, the handler's result, whether it is in, and the queue. */
    struct http_request req;
    struct MHD_Connection *mc;
    int rc;
    atomic_bool done;
    bool offloaded;
    struct conn *queued;
};

struct http_server {
    char bind[256];
    struct http_options opt;
    struct metrics *metrics;
    int metric_unmatched;
    int nroutes;
    struct route routes[HTTP_MAX_ROUTES];
    struct MHD_Daemon *daemon;
    struct tls_store *tls; /* NULL: plain HTTP */
    int port;
    atomic_int inflight;
    atomic_bool stopping;
    /* Every open connection, for the watchdog thread. Lock order: this
     * lock is a leaf (nothing else is taken while it is held). */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* signalled to stop the watchdog */
    struct conn *conns;
    int nconns;
    bool watching, unwatch;
    pthread_t watchdog;
    /* The offload threads and their queue of requests (oldest first).
     * off_lock is a leaf too. */
    pthread_mutex_t off_lock;
    pthread_cond_t off_wake;
    struct conn *off_head, *off_tail;
    bool off_stop;
    int noff;
    pthread_t *off;
};

int http_split_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon, *h = s;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return ERR_INVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return ERR_INVAL; /* none, or a bare IPv6 address */
        hlen = (size_t)(colon - s);
    }
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (hlen >= cap || plen == 0 || plen > 5 || strspn(p, "0123456789") != plen)
        return ERR_INVAL;
    int v = atoi(p);
    if (v > 65535)
        return ERR_INVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = v;
    return 0;
}

bool http_bind_is_loopback(const char *bind)
{
    char host[256];
    int port;
    struct in6_addr a6;
    struct in_addr a4;
    if (http_split_hostport(bind, host, sizeof host, &port))
        return false;
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

struct http_server *http_server_create(const struct http_options *o, struct metrics *metrics,
                                       char *err, size_t cap)
{
    char host[256];
    int port;
    if (strlen(o->bind) >= sizeof((struct http_server *)0)->bind ||
        http_split_hostport(o->bind, host, sizeof host, &port)) {
        snprintf(err, cap, "\"%.80s\" is not HOST:PORT", o->bind);
        return NULL;
    }
    bool cert = o->cert_file && o->cert_file[0], key = o->key_file && o->key_file[0];
    bool ca = o->client_ca_file && o->client_ca_file[0];
    if (cert != key || (ca && !cert)) {
        snprintf(err, cap, "TLS needs both a certificate and a key file%s",
                 ca ? " (a client CA needs them too)" : "");
        return NULL;
    }
    struct tls_store *tls = NULL;
    if (cert && (tls = tls_store_create(o->cert_file, o->key_file, ca ? o->client_ca_file : NULL,
                                        err, cap)) == NULL)
        return NULL;
    struct http_server *s = mem_zalloc(sizeof *s);
    strcpy(s->bind, o->bind);
    s->opt = *o;
    s->opt.bind = s->bind;
    s->opt.cert_file = s->opt.key_file = s->opt.client_ca_file = NULL; /* not kept: borrowed */
    s->tls = tls;
    if (s->opt.threads < 1)
        s->opt.threads = 1;
    if (s->opt.idle_timeout_s <= 0)
        s->opt.idle_timeout_s = IDLE_TIMEOUT_S;
    if (s->opt.read_timeout_ms <= 0)
        s->opt.read_timeout_ms = READ_TIMEOUT_MS;
    if (s->opt.max_connections <= 0)
        s->opt.max_connections = HTTP_MAX_CONNECTIONS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->off_lock, NULL);
    pthread_cond_init(&s->off_wake, NULL);
    pthread_condattr_t ca_attr;
    pthread_condattr_init(&ca_attr);
    pthread_condattr_setclock(&ca_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca_attr);
    pthread_condattr_destroy(&ca_attr);
    s->metrics = metrics;
    s->metric_unmatched = metrics ? metrics_route_add(metrics, ROUTE_UNMATCHED) : -1;
    if (metrics) {
        metrics_reason_add(metrics, REASON_TOOBIG);
        metrics_reason_add(metrics, REASON_HANDLER);
        metrics_reason_add(metrics, REASON_DEADLINE);
        if (ca)
            metrics_reason_add(metrics, REASON_CERT);
    }
    return s;
}

int http_route_add(struct http_server *s, const char *method, const char *path, size_t body_max,
                   http_handler fn, void *ctx)
{
    if (s->daemon || path[0] != '/' || strlen(path) >= sizeof s->routes[0].path ||
        strlen(method) >= sizeof s->routes[0].method)
        return ERR_INVAL;
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].path, path) == 0 && strcmp(s->routes[i].method, method) == 0)
            return ERR_INVAL;
    if (s->nroutes == HTTP_MAX_ROUTES)
        return ERR_TOOBIG;
    struct route *r = &s->routes[s->nroutes++];
    strcpy(r->method, method);
    strcpy(r->path, path);
    r->body_max = body_max ? body_max : HTTP_BODY_MAX_DEFAULT;
    r->fn = fn;
    r->ctx = ctx;
    r->metric = s->metrics ? metrics_route_add(s->metrics, path) : -1;
    return 0;
}

/* The route registered for exactly method + path, or NULL. */
static struct route *route_of(struct http_server *s, const char *method, const char *path)
{
    for (int i = 0; i < s->nroutes; i++)
        if (strcmp(s->routes[i].path, path) == 0 && strcmp(s->routes[i].method, method) == 0)
            return &s->routes[i];
    return NULL;
}

int http_route_require_client_cert(struct http_server *s, const char *method, const char *path)
{
    if (s->daemon)
        return ERR_INVAL;
    struct route *r = route_of(s, method, path);
    if (!r)
        return ERR_NOTFOUND;
    r->client_cert = true;
    return 0;
}

int http_route_offload(struct http_server *s, const char *method, const char *path)
{
    if (s->daemon)
        return ERR_INVAL;
    struct route *r = route_of(s, method, path);
    if (!r)
        return ERR_NOTFOUND;
    r->offload = true;
    return 0;
}

/* Find the route for method + path. On a miss, set c->miss to 404 or 405
 * (with c->allow listing the path's methods). */
static const struct route *match(struct http_server *s, struct conn *c, const char *method,
                                 const char *path)
{
    const struct route *found = NULL;
    size_t n = 0;
    c->miss = 404;
    c->allow[0] = '\0';
    for (int i = 0; i < s->nroutes; i++) {
        const struct route *r = &s->routes[i];
        if (strcmp(r->path, path) != 0)
            continue;
        if (strcmp(r->method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            return r;
        if (!found)
            found = r;
        c->miss = 405;
        if (n < sizeof c->allow)
            n += (size_t)snprintf(c->allow + n, sizeof c->allow - n, "%s%s", n ? ", " : "",
                                  r->method);
    }
    c->metric = found ? found->metric : s->metric_unmatched;
    return NULL;
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Bytes the kernel has received on the socket so far (0 when it cannot
 * tell: then an idle connection keeps its idle deadline). */
static unsigned long long rx_bytes(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    return (unsigned long long)ti.tcpi_bytes_received;
}

/* Move c to phase p; a request starting now gets the read deadline, an idle
 * connection the idle one. Takes the server's lock. */
static void set_phase(struct http_server *s, struct conn *c, enum phase p)
{
    pthread_mutex_lock(&s->lock);
    if (p == PH_READING && c->phase != PH_READING)
        c->deadline = now_ms() + s->opt.read_timeout_ms;
    else if (p == PH_BUSY)
        c->deadline = 0;
    else if (p == PH_IDLE) {
        c->deadline = now_ms() + (long long)s->opt.idle_timeout_s * 1000;
        c->rx_mark = rx_bytes(c->fd);
    }
    c->phase = p;
    pthread_mutex_unlock(&s->lock);
}

/* One look at every connection: an idle one that received bytes is reading
 * a request from now on; one past its deadline is shut down (libmicrohttpd
 * then reads the end of the stream and closes it). When the listener is
 * over 3/4 full, a request gets PRESSURE_MS instead of the read timeout: a
 * client that sends its request at once (kube-scheduler, kube-apiserver)
 * is not affected, slow ones make room sooner. Returns how many requests
 * were cut. Called with the lock held. */
static int watch_once(struct http_server *s)
{
    long long now = now_ms();
    long long early =
        s->opt.read_timeout_ms > PRESSURE_MS ? s->opt.read_timeout_ms - PRESSURE_MS : 0;
    bool pressure = s->nconns > s->opt.max_connections / 4 * 3;
    int cut = 0;
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->phase == PH_IDLE && rx_bytes(c->fd) > c->rx_mark) {
            c->phase = PH_READING;
            c->deadline = now + s->opt.read_timeout_ms;
        }
        long long due = c->deadline;
        if (pressure && c->phase == PH_READING)
            due -= early;
        if (c->cut || c->deadline == 0 || now < due)
            continue;
        LOG_DEBUG("closing the connection from %s: %s", c->peer,
                  c->phase == PH_IDLE ? "idle too long" : "request not complete in time");
        shutdown(c->fd, SHUT_RDWR);
        c->cut = true;
        cut += c->phase != PH_IDLE;
    }
    return cut;
}

static void *watchdog_main(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->unwatch) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_nsec += WATCH_TICK_MS * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->wake, &s->lock, &t);
        for (int n = s->unwatch ? 0 : watch_once(s); n > 0; n--)
            metrics_error(s->metrics, REASON_DEADLINE);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* A streamed answer in flight (http_stream): the piece libmicrohttpd is
 * reading, and what to count once it ends. Owned by its libmicrohttpd
 * response, which frees it (stream_free) when the connection is done with
 * it: answer sent, failed, or client gone. */
struct piece_stream {
    struct http_stream st;
    struct buf piece; /* the current piece; sent up to off */
    size_t off;
    bool ended;   /* next returned 1 */
    bool counted; /* in the metrics */
    struct metrics *metrics;
    int metric, status;
    struct timespec t0;
};

static void stream_count(struct piece_stream *p)
{
    if (p->counted)
        return;
    p->counted = true;
    metrics_observe(p->metrics, p->metric, p->status, since(&p->t0));
}

/* libmicrohttpd asks for up to max more bytes: the rest of the piece, or
 * the next piece once it is all sent. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct piece_stream *p = cls;
    (void)pos;
    for (int empty = 0; p->off == p->piece.len; empty++) {
        if (p->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&p->piece);
        p->off = 0;
        int rc = p->st.next(p->st.state, &p->piece);
        if (rc == 0 && p->piece.toobig)
            rc = ERR_TOOBIG;
        if (rc == 0 && empty == STREAM_EMPTY)
            rc = ERR_RANGE; /* a producer that makes no progress */
        if (rc < 0) {
            LOG_ERROR("streamed answer cut: %s", err_name(rc));
            metrics_error(p->metrics, REASON_HANDLER);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (rc == 1) {
            p->ended = true;
            stream_count(p);
        }
    }
    size_t n = p->piece.len - p->off < max ? p->piece.len - p->off : max;
    memcpy(out, p->piece.data + p->off, n);
    p->off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct piece_stream *p = cls;
    stream_count(p); /* cut short or HEAD: counted with the status sent */
    if (p->st.done)
        p->st.done(p->st.state);
    buf_free(&p->piece);
    free(p);
}

/* Drop a stream a handler set but that will not be sent. */
static void stream_drop(struct http_stream *st)
{
    if (st->done)
        st->done(st->state);
    *st = (struct http_stream){0};
}

/* A libmicrohttpd response reading c->resp.stream, which it then owns;
 * NULL when it cannot be made (the stream is freed). */
static struct MHD_Response *stream_response(struct http_server *s, struct conn *c)
{
    struct piece_stream *p = mem_zalloc(sizeof *p);
    p->st = c->resp.stream;
    c->resp.stream = (struct http_stream){0};
    buf_init(&p->piece, HTTP_RESPONSE_MAX);
    p->metrics = s->metrics;
    p->metric = c->metric;
    p->status = c->resp.status;
    p->t0 = c->t0;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                               stream_read, p, stream_free);
    if (r == NULL) {
        p->counted = true;
        stream_free(p);
    }
    return r;
}

/* Queue c->resp as the answer. */
static enum MHD_Result send_resp(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                                 bool close)
{
    struct buf *b = &c->resp.body;
    bool streamed = c->resp.stream.next != NULL;
    struct MHD_Response *r = streamed ? stream_response(s, c)
                                      : MHD_create_response_from_buffer(b->len, (void *)buf_str(b),
                                                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            c->resp.content_type ? c->resp.content_type : TEXT_PLAIN);
    if (c->resp.status == 405)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, c->allow);
    if (c->resp.location)
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, c->resp.location);
    if (c->resp.page) {
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (close || atomic_load(&s->stopping))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(mc, (unsigned)c->resp.status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        c->status = c->resp.status;
        set_phase(s, c, PH_BUSY);
        /* Counted now, not at the completion notification: that comes after
         * the last byte is written, when the client may already have read
         * the answer and asked /metrics on another connection, and must
         * find its request counted. */
        if (!streamed) /* a stream counts itself when it ends (stream_read) */
            metrics_observe(s->metrics, c->metric, c->status, since(&c->t0));
    }
    return ok;
}

/* Answer with a short plain-text message. */
static enum MHD_Result send_text(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                                 int status, bool close, const char *msg)
{
    c->resp.status = status;
    c->resp.content_type = TEXT_PLAIN;
    c->resp.location = NULL;
    c->resp.page = false;
    stream_drop(&c->resp.stream); /* a handler's, when it failed */
    buf_reset(&c->resp.body);
    buf_puts(&c->resp.body, msg);
    return send_resp(s, c, mc, close);
}

static enum MHD_Result send_toobig(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                                   const char *method, const char *path)
{
    char msg[128];
    LOG_WARN("413 %s %s from %s: body over %zu bytes", method, path, c->peer, c->limit);
    metrics_error(s->metrics, REASON_TOOBIG);
    buf_free(&c->body);
    snprintf(msg, sizeof msg, "request body too large: the limit is %zu bytes\n", c->limit);
    return send_text(s, c, mc, 413, true, msg);
}

/* For a route that needs a client certificate: true when the connection's
 * certificate verified (checked once per connection). */
static bool client_cert_ok(struct http_server *s, struct conn *c, struct MHD_Connection *mc)
{
    if (s->tls == NULL || tls_store_client_ca(s->tls) == NULL)
        return true;
    if (c->cert_ok == 0) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        c->cert_ok = tls_verify_client(ci ? ci->tls_session : NULL, c->cert_why, sizeof c->cert_why)
                         ? -1
                         : 1;
    }
    return c->cert_ok > 0;
}

/* 403 for a route that needs a client certificate the connection lacks.
 * Answered from the headers: libmicrohttpd then reads no body and closes. */
static enum MHD_Result send_cert_refused(struct http_server *s, struct conn *c,
                                         struct MHD_Connection *mc, const char *method,
                                         const char *path)
{
    char msg[320];
    LOG_WARN("403 %s %s from %s: %s", method, path, c->peer, c->cert_why);
    metrics_error(s->metrics, REASON_CERT);
    snprintf(msg, sizeof msg,
             "403 client certificate required: %s needs a certificate signed by the "
             "server's client CA (--client-ca-file): %s\n",
             path, c->cert_why);
    return send_text(s, c, mc, 403, true, msg);
}

/* First call of a request: headers are in, no body yet. The client is
 * checked before any body is read, and nothing is reserved for the body:
 * its buffer grows as the body arrives, up to the Content-Length (when
 * given) and never past the route's limit. */
static enum MHD_Result begin(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                             const char *method, const char *path)
{
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    atomic_fetch_add(&s->inflight, 1);
    set_phase(s, c, PH_READING); /* keeps the deadline of a request already started */
    c->status = 0;
    c->toobig = false;
    c->dropped = 0;
    c->route = match(s, c, method, path);
    if (c->route)
        c->metric = c->route->metric;
    c->limit = c->route ? c->route->body_max : HTTP_BODY_MAX_DEFAULT;
    c->body.max = c->limit;
    if (c->route && c->route->client_cert && !client_cert_ok(s, c, mc))
        return send_cert_refused(s, c, mc, method, path);

    const char *cl =
        MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return MHD_YES; /* chunked or no body: checked as it streams */
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno || *end || n > c->limit)
        return send_toobig(s, c, mc, method, path);
    c->body.max = (size_t)n; /* libmicrohttpd reads no more than this */
    return MHD_YES;
}

static enum MHD_Result conclude(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                                int rc);

/* ---- offloaded routes ---- */

/* Hand the request to the offload threads: the connection is suspended
 * first, so that the thread that ends it cannot resume it before. */
static enum MHD_Result offload(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                               const struct http_request *req)
{
    c->req = *req;
    c->mc = mc;
    c->offloaded = true;
    atomic_store(&c->done, false);
    c->queued = NULL;
    MHD_suspend_connection(mc);
    pthread_mutex_lock(&s->off_lock);
    if (s->off_tail)
        s->off_tail->queued = c;
    else
        s->off_head = c;
    s->off_tail = c;
    pthread_cond_signal(&s->off_wake);
    pthread_mutex_unlock(&s->off_lock);
    return MHD_YES;
}

/* An offload thread: runs queued handlers until told to stop and none is
 * left, then returns. */
static void *offload_main(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->off_lock);
    for (;;) {
        while (!s->off_head && !s->off_stop)
            pthread_cond_wait(&s->off_wake, &s->off_lock);
        struct conn *c = s->off_head;
        if (!c)
            break;
        s->off_head = c->queued;
        if (!s->off_head)
            s->off_tail = NULL;
        pthread_mutex_unlock(&s->off_lock);
        c->rc = c->route->fn(c->route->ctx, &c->req, &c->resp);
        atomic_store(&c->done, true);
        MHD_resume_connection(c->mc); /* libmicrohttpd calls on_request again */
        pthread_mutex_lock(&s->off_lock);
    }
    pthread_mutex_unlock(&s->off_lock);
    return NULL;
}

static bool offload_start(struct http_server *s)
{
    int want = 0;
    for (int i = 0; i < s->nroutes; i++)
        want |= s->routes[i].offload;
    if (want)
        want = s->opt.offload_threads > 0 ? s->opt.offload_threads : HTTP_OFFLOAD_THREADS;
    s->off = mem_zalloc(sizeof *s->off * (size_t)(want + 1));
    for (s->noff = 0; s->noff < want; s->noff++)
        if (pthread_create(&s->off[s->noff], NULL, offload_main, s) != 0)
            break;
    return s->noff == want;
}

/* Let the offload threads end what is queued and running, and join them. */
static void offload_stop(struct http_server *s)
{
    pthread_mutex_lock(&s->off_lock);
    s->off_stop = true;
    pthread_cond_broadcast(&s->off_wake);
    pthread_mutex_unlock(&s->off_lock);
    for (int i = 0; i < s->noff; i++)
        pthread_join(s->off[i], NULL);
    s->noff = 0;
}

/* Last call: the whole body is in c->body. */
static enum MHD_Result finish(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                              const char *method, const char *path)
{
    if (c->route == NULL)
        return send_text(s, c, mc, c->miss, false,
                         c->miss == 404 ? "404 page not found\n" : "405 method not allowed\n");
    struct http_request req = {
        .method = method,
        .path = path,
        .body = buf_str(&c->body),
        .body_len = c->body.len,
        .content_type =
            MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .peer = c->peer,
        .conn = mc,
    };
    c->resp.status = 200;
    c->resp.content_type = TEXT_PLAIN;
    c->resp.location = NULL;
    c->resp.page = false;
    c->resp.stream = (struct http_stream){0};
    buf_reset(&c->resp.body);
    if (c->route->offload && s->noff > 0)
        return offload(s, c, mc, &req);
    return conclude(s, c, mc, c->route->fn(c->route->ctx, &req, &c->resp));
}

/* After the handler: its answer, or 500 when it failed. */
static enum MHD_Result conclude(struct http_server *s, struct conn *c, struct MHD_Connection *mc,
                                int rc)
{
    const char *method = c->route->method, *path = c->route->path;
    if (rc == 0 && c->resp.body.toobig)
        rc = ERR_TOOBIG;
    if (rc == 0 && (c->resp.status < 100 || c->resp.status > 599))
        rc = ERR_RANGE;
    if (rc) {
        char msg[128];
        LOG_ERROR("%s %s from %s: handler failed: %s", method, path, c->peer, err_name(rc));
        metrics_error(s->metrics, REASON_HANDLER);
        snprintf(msg, sizeof msg, "internal error: %s\n", err_name(rc));
        return send_text(s, c, mc, 500, false, msg);
    }
    LOG_DEBUG("%s %s from %s: %d, %zu bytes in, %zu out", method, path, c->peer, c->resp.status,
              c->body.len, c->resp.body.len);
    return send_resp(s, c, mc, false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    struct http_server *s = cls;
    struct conn *c = *req_cls;
    (void)version;
    if (c == NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci == NULL || ci->socket_context == NULL)
            return MHD_NO;
        *req_cls = c = ci->socket_context;
        return begin(s, c, mc, method, url);
    }
    if (*size) {
        size_t n = *size;
        *size = 0;
        if (!c->toobig && !c->status) {
            if (buf_append(&c->body, data, n) == 0)
                return MHD_YES;
            c->toobig = true; /* answered at the end: libmicrohttpd cannot mid-body */
            c->dropped = c->body.len;
            buf_free(&c->body);
        }
        c->dropped += n;
        if (c->dropped / 2 > c->limit) {
            LOG_WARN("%s %s from %s: body past twice the limit, closing", method, url, c->peer);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (c->offloaded) { /* resumed: its handler ended on an offload thread */
        if (!atomic_load(&c->done))
            return MHD_YES;
        c->offloaded = false;
        return conclude(s, c, mc, c->rc);
    }
    if (c->status)
        return MHD_YES;       /* answered early */
    set_phase(s, c, PH_BUSY); /* the request is in: no deadline while it is served */
    if (c->toobig)
        return send_toobig(s, c, mc, method, url);
    return finish(s, c, mc, method, url);
}

/* Keep small buffers for the connection's next request, free big ones. */
static void recycle(struct buf *b)
{
    if (b->cap > KEEP_BUF_MAX)
        buf_free(b);
    else
        buf_reset(b);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct conn *c = *req_cls;
    (void)mc;
    if (c == NULL)
        return;
    *req_cls = NULL;
    if (!c->status) /* an answered one was counted when it was queued */
        LOG_DEBUG("request from %s ended unanswered (code %d)", c->peer, (int)toe);
    recycle(&c->body);
    recycle(&c->resp.body);
    set_phase(s, c, PH_IDLE);
    atomic_fetch_sub(&s->inflight, 1);
}

/* "ip:port" or "[ip6]:port" of the peer into buf. */
static void peer_name(struct MHD_Connection *mc, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN], port[8];
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    socklen_t len =
        sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (sa == NULL || getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* Put c on the watchdog's list (reading its first request from now on), or
 * take it off. libmicrohttpd closes the socket only after the close
 * notification, so a connection on the list always has an open socket. */
static void watch(struct http_server *s, struct conn *c, bool on)
{
    pthread_mutex_lock(&s->lock);
    if (on) {
        c->phase = PH_READING;
        c->deadline = now_ms() + s->opt.read_timeout_ms;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
    } else {
        s->nconns--;
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&s->lock);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    struct conn *c = *socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = mem_zalloc(sizeof *c);
        c->srv = s;
        c->fd = fi ? fi->connect_fd : -1;
        buf_init(&c->body, HTTP_BODY_MAX_DEFAULT);
        buf_init(&c->resp.body, HTTP_RESPONSE_MAX);
        peer_name(mc, c->peer, sizeof c->peer);
        *socket_ctx = c;
        if (c->fd >= 0)
            watch(s, c, true);
        return;
    }
    if (c) {
        if (c->fd >= 0)
            watch(s, c, false);
        tls_pair_release(c->pair); /* libmicrohttpd closed the TLS session already */
        buf_free(&c->body);
        buf_free(&c->resp.body);
        free(c);
    }
    *socket_ctx = NULL;
}

/* GnuTLS asks, during each handshake, which certificate to present: the
 * store's current pair, held by the connection until it closes. */
static int on_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                   const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                   gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *key)
{
    struct MHD_Connection *mc = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci =
        mc ? MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    struct conn *c = ci ? ci->socket_context : NULL;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    if (c == NULL || c->srv == NULL || c->srv->tls == NULL)
        return -1; /* fails the handshake */
    struct tls_pair *p = tls_store_acquire(c->srv->tls);
    tls_pair_release(c->pair);
    c->pair = p;
    tls_pair_credentials(p, pcert, pcert_length, key);
    return 0;
}

/* Whether a microhttpd line may be logged now: at most MHD_LOG_PER_S a
 * second (a flood of connections must not become a flood of log lines);
 * *dropped gets the lines held back in the previous second, once. */
static bool mhd_log_allowed(long *dropped)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static long long second;
    static long count, held;
    long long now = now_ms() / 1000;
    pthread_mutex_lock(&lock);
    *dropped = 0;
    if (now != second) {
        *dropped = held;
        second = now;
        count = held = 0;
    }
    bool ok = count++ < MHD_LOG_PER_S;
    held += !ok;
    pthread_mutex_unlock(&lock);
    return ok;
}

/* libmicrohttpd's own complaints go to our log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    long dropped;
    (void)cls;
    bool ok = mhd_log_allowed(&dropped);
    if (dropped)
        LOG_WARN("microhttpd: %ld more messages were not logged", dropped);
    if (!ok)
        return;
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    LOG_WARN("microhttpd: %s", text);
}

int http_server_start(struct http_server *s, char *err, size_t cap)
{
    char host[256], port[8];
    int p, rc = ERR_IO;
    struct addrinfo *ai = NULL;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    http_split_hostport(s->bind, host, sizeof host, &p); /* checked by create */
    snprintf(port, sizeof port, "%d", p);
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai) {
        snprintf(err, cap, "cannot resolve \"%s\": %s", host, gai_strerror(gai));
        goto out;
    }
    /* poll, not epoll: libmicrohttpd's epoll mode is edge-triggered and takes
     * a short read as "nothing more to read", so a connection whose request
     * and FIN both arrived before it was accepted never sees the FIN: it
     * stayed open until the idle timeout, and a few thousand of them held
     * every connection slot (the port looked dead for minutes). poll is
     * level-triggered: the end of stream is read on the next turn. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[4];
    int k = 0;
    if (s->tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
            MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
            snprintf(err, cap, "this libmicrohttpd has no TLS certificate callbacks");
            goto out;
        }
        flags |= MHD_USE_TLS;
        tls_opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)on_cert};
        tls_opts[k++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
        if (tls_store_client_ca(s->tls))
            tls_opts[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                                    (void *)tls_store_client_ca(s->tls)};
    }
    tls_opts[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!offload_start(s)) {
        snprintf(err, cap, "cannot start the offload threads");
        offload_stop(s);
        goto out;
    }
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opt.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->opt.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)s->opt.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(s->opt.max_per_ip > 0 ? s->opt.max_per_ip : 0),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (s->daemon == NULL) {
        snprintf(err, cap, "cannot listen on %s (address in use or not local?)", s->bind);
        offload_stop(s);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
        snprintf(err, cap, "cannot start the connection watchdog thread");
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        goto out;
    }
    s->watching = true;
    if (s->tls && tls_store_watch(s->tls, s->opt.tls_reload_ms > 0 ? s->opt.tls_reload_ms
                                                                   : TLS_RELOAD_MS) != 0) {
        snprintf(err, cap, "cannot start the certificate watch thread");
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        goto out;
    }
    rc = 0;
out:
    if (ai)
        freeaddrinfo(ai);
    return rc;
}

struct tls_store *http_server_tls(const struct http_server *s)
{
    return s ? s->tls : NULL;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

static void wait_idle(struct http_server *s, int ms)
{
    struct timespec t0, nap = {0, 5 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&s->inflight) > 0 && since(&t0) * 1000 < ms)
        nanosleep(&nap, NULL);
    int left = atomic_load(&s->inflight);
    if (left > 0)
        LOG_WARN("%d requests still running after %d ms; closing them", left, ms);
}

void http_server_stop(struct http_server *s)
{
    if (s == NULL || s->daemon == NULL)
        return;
    tls_store_unwatch(s->tls);
    atomic_store(&s->stopping, true); /* answers from now on close their connection */
    /* No new connections: shutting the listening socket down makes the
     * kernel refuse them at once. It is closed only after MHD_stop_daemon
     * (microhttpd.h, MHD_quiesce_daemon): until then a libmicrohttpd thread
     * may still poll or accept on it, and a number closed early goes to the
     * next socket another thread opens (the watch, events and binds keep
     * calling the API server while requests in flight finish). */
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    wait_idle(s, STOP_WAIT_MS);
    offload_stop(s); /* libmicrohttpd must not stop with a connection suspended */
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    if (s->watching) {
        pthread_mutex_lock(&s->lock);
        s->unwatch = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->watchdog, NULL);
        s->watching = false;
    }
}

void http_server_destroy(struct http_server *s)
{
    http_server_stop(s);
    if (s == NULL)
        return;
    tls_store_destroy(s->tls); /* after stop: every connection gave its pair back */
    free(s->off);
    pthread_cond_destroy(&s->off_wake);
    pthread_mutex_destroy(&s->off_lock);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* http: the HTTP server under every route, over libmicrohttpd.
 *
 * A thread pool (poll: see http_server_start for why not epoll) serves HTTP/1.1 with
 * keep-alive. Routes are exact method + path pairs registered before start.
 * The server reads each request body into a buffer kept per connection
 * (reused across its requests, grown by doubling) and enforces the route's
 * body limit: a Content-Length over it is answered 413 at once, before any
 * body is read; a chunked body that streams past it is dropped as it comes
 * and answered 413 at its end (libmicrohttpd cannot answer mid-body), or
 * cut off if it runs past twice the limit. A 413 closes the connection.
 * Unknown paths get 404, a known path with another method 405; for those,
 * and for routes registered with body_max 0, the limit is
 * HTTP_BODY_MAX_DEFAULT.
 *
 * Connections. Each server is one listener with its own worker threads, so a
 * flood on one listener cannot take the threads or connection slots of
 * another. It holds at most max_connections at once (more wait in the
 * kernel's accept queue) and at most max_per_ip from one client address
 * (more are closed at once). A request must be complete, headers and body,
 * within read_timeout_ms of its first byte (for the first request of a
 * connection: of connecting, the TLS handshake included); bytes that
 * trickle in do not extend it (and when the listener is over 3/4 full, the
 * deadline is 1 s, so slow clients make room sooner). A connection idle
 * between requests is closed after idle_timeout_s. A watchdog thread enforces both by shutting the
 * socket down. A route that needs a client certificate answers 403 from the
 * headers alone: no body of an unauthenticated client is read or reserved,
 * and a body buffer grows only as the body arrives.
 *
 * The server counts every answered request (route, status, latency) in the
 * metrics given at creation, so handlers do not. Handlers run on the pool's
 * threads, several at once: whatever their ctx points to must be
 * thread-safe. A worker thread serves many connections, so a handler that
 * blocks (on I/O, a lock) delays the others of its thread: such a route is
 * offloaded (http_route_offload) to threads of its own. */
#ifndef VS_HTTP_H
#define VS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "server/metrics.h"

struct tls_store;

#define HTTP_BODY_MAX_DEFAULT  (64u << 10)  /* unknown routes, GET routes */
#define HTTP_BODY_MAX_EXTENDER (64u << 20)  /* filter, prioritize, bind: full NodeLists */
#define HTTP_BODY_MAX_WEBHOOK  (8u << 20)   /* admission reviews */
#define HTTP_RESPONSE_MAX      (256u << 20) /* cap of a response body */
#define HTTP_MAX_CONNECTIONS   4096         /* default connections per listener */
#define HTTP_OFFLOAD_THREADS   16           /* default threads of offloaded routes */

/* One request as a handler sees it. Everything is borrowed and valid until
 * the handler returns. */
struct http_request {
    const char *method;
    const char *path;         /* without the query string */
    const char *body;         /* NUL-terminated copy; "" when there is none */
    size_t body_len;          /* bytes, the NUL not counted */
    const char *content_type; /* NULL when absent */
    const char *peer;         /* "127.0.0.1:51234", "[::1]:51234" */
    void *conn;               /* private to http.c */
};

/* A body produced piece by piece while it is sent (http_response.stream),
 * so a large answer never sits whole in memory. next appends the body's
 * next piece to out (empty on entry, capped at HTTP_RESPONSE_MAX; an empty
 * piece is asked again) and returns 0 while more is to come, 1 after the
 * last piece, or a negative error code: the connection is then closed,
 * the status line having gone out already. It runs on the connection's
 * worker thread, between writes, and only while the client reads. done
 * frees state; it is called exactly once, when the answer ends, fails, or
 * the client goes away mid-way (also when the handler returns an error).
 * The request is counted in the server's metrics when next returns 1 (or
 * when done runs first), so its latency covers the whole answer. */
struct http_stream {
    int (*next)(void *state, struct buf *out);
    void (*done)(void *state);
    void *state; /* owned: freed by done */
};

/* The answer a handler fills in. On entry: status 200, content_type
 * "text/plain; charset=utf-8", body empty (capped at HTTP_RESPONSE_MAX),
 * no stream. A handler that sets stream.next sends that instead of body,
 * with no Content-Length (chunked over HTTP/1.1). */
struct http_response {
    int status;               /* 100..599 */
    const char *content_type; /* static, or owned by ctx: read after the handler returns */
    struct buf body;          /* owned by the server; reused */
    /* Optional, static or owned by ctx; NULL on entry. location: a Location
     * header (redirects); page: the answer is for a browser (a page or what
     * it fetches), so it also gets a Content-Security-Policy allowing only this origin's
     * scripts, styles and requests, nosniff, no-referrer and no caching. */
    const char *location;
    bool page;
    struct http_stream stream;
};

/* A route's handler. Returns 0 to send *resp, or a negative error code: the
 * client then gets 500 naming the error, and the error is logged. A response
 * body over its cap (body.toobig) is a 500 too. */
typedef int (*http_handler)(void *ctx, const struct http_request *req, struct http_response *resp);

struct http_options {
    const char *bind;    /* "host:port", "[v6]:port", ":port"; port 0 = any free port */
    int threads;         /* worker threads, >= 1 */
    int offload_threads; /* threads of offloaded routes; 0 = HTTP_OFFLOAD_THREADS */
    int idle_timeout_s;  /* close a connection idle this long between requests; 0 = 60 */
    int read_timeout_ms; /* a request's headers and body must be in within this; 0 = 10000 */
    int max_connections; /* connections at once; 0 = HTTP_MAX_CONNECTIONS */
    int max_per_ip;      /* connections at once from one client address; 0 = no limit */
    /* TLS. With cert_file and key_file, every route is served over HTTPS
     * (TLS 1.2 or 1.3 only), and the pair is reloaded when the files change
     * without dropping a connection (tls.h). With client_ca_file too, the
     * TLS handshake asks for a client certificate (optional), and the routes
     * marked with http_route_require_client_cert answer 403 unless the
     * client presented a valid one signed by that CA. */
    const char *cert_file;      /* PEM, leaf then intermediates; NULL or "" = plain HTTP */
    const char *key_file;       /* PEM: its private key, not encrypted */
    const char *client_ca_file; /* PEM; NULL/"" = no client certificates */
    int tls_reload_ms;          /* how often the files are looked at; 0 = 1000 */
};

struct http_server;

/* Returns a new server that does not listen yet, or NULL with err filled
 * when o->bind is not a valid address, or when TLS files are given and the
 * pair does not load (tls_store_create: the message names file and problem). metrics is borrowed
 * (may be NULL) and must outlive the server. Caller frees with http_server_destroy. */
struct http_server *http_server_create(const struct http_options *o, struct metrics *metrics,
                                       char *err, size_t cap);

#define HTTP_MAX_ROUTES 32

/* Add a route: `method` ("GET", "POST") on the exact `path`; HEAD is served
 * by GET routes. body_max 0 means HTTP_BODY_MAX_DEFAULT. Strings are copied;
 * ctx is borrowed. Only before http_server_start. Returns 0, ERR_INVAL for a
 * duplicate, a path not starting with '/' or a call after start, ERR_TOOBIG
 * past HTTP_MAX_ROUTES. */
int http_route_add(struct http_server *s, const char *method, const char *path, size_t body_max,
                   http_handler fn, void *ctx);

/* Mark a route as needing a client certificate signed by the client CA:
 * without one (or with one that does not verify) it answers 403 from the
 * request's headers, reads none of its body, closes the connection, and
 * its handler does not run. Without a client CA the mark has no effect. Only
 * before http_server_start. Returns 0, ERR_NOTFOUND for an unknown route,
 * ERR_INVAL after start. */
int http_route_require_client_cert(struct http_server *s, const char *method, const char *path);

/* Run a route's handler on the server's offload threads instead of the
 * connection's worker thread: for handlers that wait on I/O or locks (the
 * extender's bind: API calls, a node lock), so that they never hold up the
 * other connections of a worker. The connection is suspended meanwhile (no
 * deadline runs); when every offload thread is busy, requests wait in
 * arrival order. Stopping the server waits for offloaded handlers to end
 * (they must be bounded in time). Only before http_server_start. Returns
 * 0, ERR_NOTFOUND for an unknown route, ERR_INVAL after start. */
int http_route_offload(struct http_server *s, const char *method, const char *path);

/* Bind and start serving. Returns 0, or ERR_IO with err filled (address in
 * use, cannot resolve the host, ...). */
int http_server_start(struct http_server *s, char *err, size_t cap);

/* The server's certificate store (for its metrics), or NULL when it serves
 * plain HTTP. Borrowed: valid until http_server_destroy. */
struct tls_store *http_server_tls(const struct http_server *s);

/* The port bound (useful after binding port 0); 0 before start. */
int http_server_port(const struct http_server *s);

/* Stop accepting, let requests in flight finish (up to 4 s), close every
 * connection and join the threads. Idempotent; accepts NULL. */
void http_server_stop(struct http_server *s);

/* Stop if needed and free. Accepts NULL. */
void http_server_destroy(struct http_server *s);

/* A request header's value (case-insensitive name), or NULL. Borrowed,
 * valid until the handler returns. */
const char *http_request_header(const struct http_request *req, const char *name);

/* The value of query parameter name ("?name=value&..."), decoded, or
 * NULL when absent. Borrowed, valid until the handler returns. */
const char *http_request_query(const struct http_request *req, const char *name);

/* True when the host of "host:port" is a loopback address (127.0.0.0/8,
 * ::1, "localhost"); false for any address ("" or 0.0.0.0) and others. */
bool http_bind_is_loopback(const char *bind);

/* Split "host:port", "[v6]:port" or ":port" into host (brackets removed;
 * "" for any address) and a port 0..65535. Returns 0 or ERR_INVAL. */
int http_split_hostport(const char *s, char *host, size_t cap, int *port);

#endif

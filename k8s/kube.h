/* kube: a client for kube-apiserver over libcurl.
 *
 * HTTPS through OpenSSL (HTTP/2 when the server offers it, keep-alive
 * connections, TCP keepalive), or plain http:// for a local test server.
 * Credentials from a struct kubeconfig: a bearer token (a token file is
 * re-read when its modification time changes, checked at most every few
 * seconds and at once after a 401), a client certificate, a CA.
 *
 * Every request passes a token bucket (qps, burst) shared by all threads,
 * has a timeout, and has its response body capped. Requests that failed in
 * transport or got 429/500/502/503/504 are retried up to twice with a short
 * jittered backoff; a timed-out request is not (the caller's budget is
 * gone). Error answers are Status objects: their reason and message are
 * copied into the response.
 *
 * Thread-safe: libcurl easy handles are not, so each request borrows one
 * from a pool (one per concurrent request, kept for reuse with its open
 * connection). */
#ifndef VS_KUBE_H
#define VS_KUBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "k8s/kubeconfig.h"

#define KUBE_BODY_MAX    (64L << 20) /* a response body: one object or list page */
#define KUBE_LINE_MAX    (16L << 20) /* one line of a watch stream (one event) */
#define KUBE_POOL_MAX    32          /* idle easy handles kept */
#define KUBE_RETRIES     2           /* extra attempts after a retryable failure */
#define KUBE_PATH_MAX    8192        /* path + query */
#define KUBE_MESSAGE_MAX 512

struct kube_options {
    double qps;      /* sustained requests per second, > 0 */
    int burst;       /* bucket size, >= 1 */
    long timeout_ms; /* per request (not for streams), > 0 */
};

/* One answer. Open value struct; free with kube_resp_free. */
struct kube_resp {
    long status;                    /* HTTP status; 0 when no answer came */
    char *body;                     /* NUL-terminated; owned; NULL when none */
    size_t len;                     /* bytes in body */
    char reason[64];                /* Status.reason ("Conflict", "Expired"), or "" */
    char message[KUBE_MESSAGE_MAX]; /* Status.message, a transport error, or "" */
};
void kube_resp_free(struct kube_resp *r);

struct kube;

/* Returns 0 and a new client in *out (caller frees with kube_destroy), or
 * ERR_INVAL with err filled (a certificate file that cannot be read, a bad
 * option). cfg is copied. Calls curl_global_init: call it before starting
 * threads. */
int kube_create(const struct kubeconfig *cfg, const struct kube_options *o, struct kube **out,
                char *err, size_t cap);
/* Accepts NULL. Streams in progress must have ended. */
void kube_destroy(struct kube *k);

/* "https://host:port" (borrowed). */
const char *kube_server(const struct kube *k);

/* Send method (GET, POST, PATCH, PUT, DELETE) to path ("/api/v1/nodes?x=y",
 * already escaped) with body (NULL: none) of content_type. Fills r (free
 * it). Returns 0 for a 2xx answer; ERR_NOTFOUND for 404; ERR_CONFLICT for
 * 409; ERR_TIMEOUT when no answer came in time; ERR_IO for a transport
 * failure; ERR_TOOBIG for a body over KUBE_BODY_MAX; ERR_PROTO for any
 * other status (r->status, r->reason, r->message say which). */
int kube_call(struct kube *k, const char *method, const char *path, const char *content_type,
              const char *body, struct kube_resp *r);

/* Called with each piece of an answer's body as it arrives (not
 * NUL-terminated). Return 0 to go on, non-zero to end the request. */
typedef int (*kube_chunk_fn)(void *ctx, const char *p, size_t n);

/* GET path like kube_call, except that a 2xx body is handed to fn piece by
 * piece instead of being held (so it has no KUBE_BODY_MAX; the request's
 * timeout bounds it); a non-2xx body is kept in r as kube_call keeps it.
 * Retried as kube_call is, until fn has been given a byte. Returns 0 once
 * the whole body went to fn, fn's non-zero answer when fn ended it, or an
 * error as kube_call (a transfer cut after fn saw part of the body gives
 * ERR_IO or ERR_TIMEOUT: fn's caller must throw away what it had). */
int kube_get_chunks(struct kube *k, const char *path, kube_chunk_fn fn, void *ctx,
                    struct kube_resp *r);

/* Called with each line of a stream (newline removed, NUL-terminated, may
 * be modified). Return 0 to go on, non-zero to end the stream. */
typedef int (*kube_line_fn)(void *ctx, char *line, size_t len);

/* The line splitter kube_stream runs over the bytes as they arrive, open
 * for tests and fuzzing (a watch stream split at any byte gives the same
 * lines). Zero-initialise; max is the longest line (0: KUBE_LINE_MAX). */
struct kube_lines {
    char *data; /* the line being received; owned */
    size_t len, cap, max;
};

/* Feed n bytes: each complete non-empty line goes to fn. Returns 0, 1 when
 * fn asked to end (the rest of p is dropped), or ERR_TOOBIG for a line
 * over max. A line without its newline waits for the next call. */
int kube_lines_feed(struct kube_lines *l, const char *p, size_t n, kube_line_fn fn, void *ctx);

/* Free what l holds and zero it. Accepts NULL. */
void kube_lines_free(struct kube_lines *l);

/* GET path and hand each line of the answer to fn as it arrives, until the
 * server ends it, fn returns non-zero (then 0 is returned), *stop becomes
 * true (checked at least once a second; 0), or max_ms passes (ERR_TIMEOUT;
 * 0 = no limit). A line longer than KUBE_LINE_MAX ends the stream with
 * ERR_TOOBIG. A non-2xx answer is returned as kube_call does, with its body
 * in r. */
int kube_stream(struct kube *k, const char *path, kube_line_fn fn, void *ctx,
                const atomic_bool *stop, long max_ms, struct kube_resp *r);

/* True when the token bucket holds at least `fraction` of the burst: a
 * background sender (events) waits for that, so it never takes the tokens
 * the verbs need. */
bool kube_spare(struct kube *k, double fraction);

/* Percent-encode s for a query value into out (always NUL-terminated).
 * Returns 0 or ERR_TOOBIG. */
int kube_escape(const char *s, char *out, size_t cap);

/* One line "<what>: <status> <reason>: <message>" into buf, for errors. */
void kube_describe(const struct kube_resp *r, int rc, const char *what, char *buf, size_t cap);

/* Counters since creation, for logs and tests. */
struct kube_stats {
    unsigned long requests, retries, failures, throttled_ms;
};
void kube_stats(struct kube *k, struct kube_stats *out);

#endif

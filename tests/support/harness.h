/* harness: run the real binary and talk to it over HTTP, for e2e tests.
 *
 *     const char *args[] = {"--snapshot", path, NULL};
 *     struct harness *h = harness_start(args);       // NULL: see stderr
 *     struct harness_reply r;
 *     harness_get(harness_port(h), "/healthz", &r);   // r.status, r.body
 *     harness_reply_free(&r);
 *     ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
 *     harness_free(h);
 *
 * The binary is $VS_BIN. Every wait is bounded; nothing here asserts: the
 * functions return what happened and the test decides. */
#ifndef VS_HARNESS_H
#define VS_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

#define HARNESS_START_MS 10000 /* longest wait for the "listening on" line */

/* Defined when built with AddressSanitizer, whose allocator is not glibc's
 * (tests of resident memory or of the heap skip themselves). */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

struct harness;

/* Start $VS_BIN with args (NULL-terminated; NULL = none) followed by
 * --http_bind 127.0.0.1:0, capture its stderr (and stdout), and wait for
 * the "listening on HOST:PORT" line. Returns the running process, or NULL
 * when it could not start or exited first (what it printed is copied to our
 * stderr). Caller frees with harness_free. */
struct harness *harness_start(const char *const *args);

/* The process id of the running binary (to read /proc/<pid>/status). */
int harness_pid(const struct harness *h);

/* The port from the "listening on" line. */
int harness_port(const struct harness *h);

/* Wait until a line of the process's output contains `prefix` followed by
 * HOST:PORT; returns the port, or -1 after timeout_ms or at its exit. */
int harness_log_port(struct harness *h, const char *prefix, int timeout_ms);

/* Wait until the output contains `needle`: true, or false after timeout_ms
 * or when the process exited without printing it. */
bool harness_wait_log(struct harness *h, const char *needle, int timeout_ms);

/* Everything the process printed so far. New string; caller frees. */
char *harness_output(struct harness *h);

/* Send sig and wait up to timeout_ms for the exit; past that, SIGKILL.
 * Returns the exit code, 128 + n when killed by signal n, or -1 when it had
 * to be killed after the timeout. Only the first call waits; later ones
 * return the same value. When the process ends otherwise than asked (an
 * exit code other than 0, another signal than sig, or no exit in time), how
 * it ended and the end of its output go to stderr. */
int harness_stop(struct harness *h, int sig, int timeout_ms);

/* Kill the process if it still runs, reap it, free. Accepts NULL. */
void harness_free(struct harness *h);

/* Run $VS_BIN with args (nothing added) to completion, at most timeout_ms
 * (then SIGKILL). status as harness_stop returns it; out/err hold what it
 * printed. Free with harness_result_free. Returns 0, or -1 when it could
 * not run at all. */
struct harness_result {
    int status;
    struct buf out, err;
};
int harness_run(const char *const *args, int timeout_ms, struct harness_result *r);
void harness_result_free(struct harness_result *r);

/* HTTP through libcurl. A reply holds the status (0 on a transport error,
 * described in `error`), the body, and how many new connections the request
 * opened (0 when it reused a kept-alive one). */
struct harness_reply {
    long status;
    struct buf body;
    long connects;
    char error[256];
};

/* One libcurl handle: consecutive requests reuse its connection. */
struct harness_client;
struct harness_client *harness_client_new(void);
void harness_client_free(struct harness_client *c);

/* Send method to http://127.0.0.1:port/path with body (len bytes; NULL for
 * none) as application/json. Fills r (free with harness_reply_free).
 * Returns 0, or -1 on a transport error. Waits at most 60 s. */
int harness_client_send(struct harness_client *c, const char *method, int port, const char *path,
                        const void *body, size_t len, struct harness_reply *r);

/* One-shot GET and POST on a fresh client. */
int harness_get(int port, const char *path, struct harness_reply *r);
int harness_post(int port, const char *path, const void *body, size_t len, struct harness_reply *r);
void harness_reply_free(struct harness_reply *r);
/* GET path and parse the answer: a new cJSON tree (caller frees with
 * cJSON_Delete) when the status is 200 and the body is JSON, else NULL. */
struct cJSON;
struct cJSON *harness_get_json(int port, const char *path);

/* The value of the /metrics line that starts with series and a space
 * ("vgpu_scheduler_errors_total{reason=\"x\"}"), or -1 when there is none;
 * fails the test when /metrics does not answer. */
long harness_metric(int port, const char *series);

/* The file at path, whole and NUL-terminated (*len its length, len may be
 * NULL); fails the test when it cannot be read. Caller frees. */
char *harness_read(const char *path, size_t *len);
/* Write text to dir/name (its path into path, which may be NULL); fails the
 * test when it cannot. */
void harness_write(const char *dir, const char *name, const char *text, char *path, size_t cap);
/* A fixture file under VS_TEST_DATA (or tests/data), as harness_read.
 * Caller frees. */
char *harness_slurp(const char *rel);

/* The path of fixture rel under VS_TEST_DATA (or tests/data), into path. */
void harness_data_path(const char *rel, char *path, size_t cap);

/* Start $VS_BIN on the snapshot fixture rel (harness_data_path), failing
 * the test when it cannot start. Free with harness_finish. */
struct harness *harness_start_snapshot(const char *rel);
/* Stop *h with SIGTERM, failing the test unless it exits 0, free it and set
 * *h to NULL. Accepts *h NULL. */
void harness_finish(struct harness **h);

/* Why an extender filter answer refused node: its FailedNodes entry, else
 * its FailedAndUnresolvableNodes entry, else NULL. Borrowed from f. */
const char *harness_failed_reason(const struct cJSON *f, const char *node);
/* POST /filter to the server at port with pod (taken) and NodeNames nodes
 * (NULL-terminated); fails the test unless it answers 200 with JSON. The
 * parsed answer; caller frees. */
struct cJSON *harness_filter(int port, struct cJSON *pod, const char *const *nodes);
/* The only node a filter answer passes; "" when none or several. */
const char *harness_only_node(const struct cJSON *answer);
/* Fails the test unless node failed in a filter answer with reason want. */
void harness_assert_reason(const struct cJSON *answer, const char *node, const char *want);

/* Poll /readyz on port every 20 ms for up to ms: true once it answers 200. */
bool harness_wait_ready(int port, int ms);
/* What the process printed, on stderr, when VS_TEST_VERBOSE is set. */
void harness_dump(struct harness *h);

/* ---- API objects (cJSON), for tests against the fake API server ---- */

/* metadata.annotations[key] and metadata[key] of object o, or NULL. */
const char *harness_annotation(const struct cJSON *o, const char *key);
const char *harness_meta(const struct cJSON *o, const char *key);
struct fakeapi;
/* How many nodes of f carry hami.io/mutex.lock; the first as "node: lock"
 * in which. */
int harness_locks_left(struct fakeapi *f, char *which, size_t cap);
/* Put a pending pod default/name asking one GPU with mem MiB and cores %
 * into f; fails the test when f refuses it. */
void harness_put_gpu_pod(struct fakeapi *f, const char *name, int mem, int cores);

/* Sleep ms milliseconds (one nanosleep: a signal may cut it short). */
void harness_nap_ms(long ms);
/* Run a shell command line; what it writes to stdout (stderr too with 2>&1
 * in cmd) lands in out, NUL-terminated, cut at cap - 1 bytes. Returns its
 * exit status, or -1 when it did not exit. Fails the test when it cannot
 * start. */
int harness_shell(const char *cmd, char *out, size_t cap);
/* An environment variable the test needs; fails the test when it is unset. */
const char *harness_env(const char *name);
/* Milliseconds on the monotonic clock, for deadlines. */
long harness_now_ms(void);

/* Run suite s (taking it) and return the process exit status: EXIT_SUCCESS
 * when every test passed. fork false: every test runs in this process
 * (Check's CK_NOFORK). */
int harness_run_suite(Suite *s, bool fork);

/* Write `req` as is on a new connection to 127.0.0.1:port, then read until
 * the server closes it or timeout_ms passes; what came back goes to resp.
 * Returns 0 when the server closed the connection, 1 when it was still open
 * at the timeout, -1 when it could not connect. */
int harness_raw(int port, const void *req, size_t len, struct buf *resp, int timeout_ms);

#endif

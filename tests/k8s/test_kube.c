/* The API client against the fake API server, in process: Status bodies,
 * retries, the token (and its rotation), the rate limit, streams; and the
 * watch: paging, an expired continue token, reconcile after a relist,
 * malformed nodes, pending pods; the upkeep's leader switch. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/buf.h"
#include "base/err.h"
#include "k8s/cache.h"
#include "k8s/events.h"
#include "k8s/kube.h"
#include "k8s/model.h"
#include "k8s/nodelock.h"
#include "k8s/upkeep.h"
#include "k8s/watch.h"
#include "server/certgen.h"
#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

static struct fakeapi *f;
static char dir[64], path[128];

static void setup(void)
{
    f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    snprintf(dir, sizeof dir, "/tmp/vs-kube-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kubeconfig", dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(f, path), 0);
}

static void teardown(void)
{
    char cmd[128];
    fakeapi_stop(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static struct kube *client(double qps, int burst)
{
    struct kubeconfig kc;
    struct kube *k = NULL;
    char err[512];
    ck_assert_msg(kubeconfig_load(path, &kc, err, sizeof err) == 0, "%s", err);
    struct kube_options o = {.qps = qps, .burst = burst, .timeout_ms = 5000};
    ck_assert_msg(kube_create(&kc, &o, &k, err, sizeof err) == 0, "%s", err);
    kubeconfig_free(&kc);
    return k;
}

static void put_node(const char *name, const char *reg)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"annotations\":{\"hami.io/node-nvidia-register\":"
             "\"%s\"}},\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"1\"}}}",
             name, reg);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

#define GOOD_REG "GPU-x,10,8000,100,NVIDIA-T4,0,true:"

START_TEST(test_status)
{
    struct kube *k = client(1000, 1000);
    struct kube_resp r;
    char msg[1024];
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes/nope", NULL, NULL, &r), ERR_NOTFOUND);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(r.reason, "NotFound");
    ck_assert_ptr_nonnull(strstr(r.message, "not found"));
    kube_describe(&r, ERR_NOTFOUND, "read node", msg, sizeof msg);
    ck_assert_ptr_nonnull(strstr(msg, "read node: HTTP 404 NotFound: "));
    kube_resp_free(&r);
    put_node("n1", GOOD_REG);
    ck_assert_int_eq(kube_call(k, "PATCH", "/api/v1/nodes/n1", "application/merge-patch+json",
                               "{\"metadata\":{\"resourceVersion\":\"0\"}}", &r),
                     ERR_CONFLICT);
    ck_assert_str_eq(r.reason, "Conflict");
    kube_resp_free(&r);
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes/n1", NULL, NULL, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\"n1\""));
    kube_resp_free(&r);
    ck_assert_int_eq(kube_call(k, "GET", "no-slash", NULL, NULL, &r), ERR_TOOBIG);
    kube_resp_free(&r);
    kube_destroy(k);
}
END_TEST

START_TEST(test_retries)
{
    struct kube *k = client(1000, 1000);
    struct kube_resp r;
    struct kube_stats st;
    struct fakeapi_faults x = {.fail_every = 2};
    fakeapi_set_faults(f, &x);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), 0);
        kube_resp_free(&r);
    }
    kube_stats(k, &st);
    ck_assert_int_ge(st.retries, 2);
    /* Every call failing: the error comes back, Status and all. */
    x.fail_every = 1;
    fakeapi_set_faults(f, &x);
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), ERR_PROTO);
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_nonnull(strstr(r.message, "fake fault"));
    kube_resp_free(&r);
    kube_destroy(k);
}
END_TEST

START_TEST(test_token_file)
{
    char tok[128], kc_path[128], err[512];
    snprintf(tok, sizeof tok, "%s/token", dir);
    FILE *fp = fopen(tok, "w");
    fputs("old-token\n", fp);
    fclose(fp);
    snprintf(kc_path, sizeof kc_path, "%s/kc-file", dir);
    fp = fopen(kc_path, "w");
    fprintf(fp,
            "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
            "clusters:\n- name: k\n  cluster: {server: 'http://127.0.0.1:%d'}\n"
            "users:\n- name: u\n  user: {tokenFile: token}\n",
            fakeapi_port(f));
    fclose(fp);
    struct kubeconfig kc;
    struct kube *k = NULL;
    struct kube_resp r;
    ck_assert_int_eq(kubeconfig_load(kc_path, &kc, err, sizeof err), 0);
    struct kube_options o = {.qps = 1000, .burst = 1000, .timeout_ms = 5000};
    ck_assert_int_eq(kube_create(&kc, &o, &k, err, sizeof err), 0);
    kubeconfig_free(&kc);
    fakeapi_set_token(f, "old-token");
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), 0);
    kube_resp_free(&r);
    /* The token rotates: the file changes, the server wants the new one. */
    fp = fopen(tok, "w");
    fputs("new-token", fp);
    fclose(fp);
    fakeapi_set_token(f, "new-token");
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), 0);
    kube_resp_free(&r);
    /* A token nobody accepts: 401 comes back. */
    fakeapi_set_token(f, "other");
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), ERR_PROTO);
    ck_assert_int_eq(r.status, 401);
    kube_resp_free(&r);
    kube_destroy(k);
}
END_TEST

START_TEST(test_rate)
{
    struct kube *k = client(50, 1);
    struct kube_resp r;
    struct kube_stats st;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), 0);
        kube_resp_free(&r);
    }
    kube_stats(k, &st);
    ck_assert_int_eq(st.requests, 5);
    ck_assert_int_gt(st.throttled_ms, 0); /* burst 1: the 2nd..5th waited for tokens */
    kube_destroy(k);
}
END_TEST

struct lines {
    int n;
    char last[256];
};

static int on_line(void *ctx, char *line, size_t len)
{
    struct lines *l = ctx;
    (void)len;
    snprintf(l->last, sizeof l->last, "%.255s", line);
    l->n++;
    return strstr(line, "\"stop-here\"") ? 1 : 0;
}

struct streamer {
    struct kube *k;
    atomic_bool stop;
    struct lines l;
    int rc;
};

static void *stream_run(void *arg)
{
    struct streamer *s = arg;
    struct kube_resp r;
    s->rc = kube_stream(s->k, "/api/v1/nodes?watch=1&resourceVersion=0", on_line, &s->l, &s->stop,
                        20000, &r);
    kube_resp_free(&r);
    return NULL;
}

START_TEST(test_stream)
{
    struct streamer s = {.k = client(1000, 1000)};
    pthread_t th;
    pthread_create(&th, NULL, stream_run, &s);
    harness_nap_ms(100);
    put_node("a", GOOD_REG);
    put_node("stop-here", GOOD_REG); /* on_line ends the stream at this one */
    pthread_join(th, NULL);
    ck_assert_int_eq(s.rc, 0);
    ck_assert_int_eq(s.l.n, 2);
    ck_assert_ptr_nonnull(strstr(s.l.last, "\"ADDED\""));
    /* The stop flag ends a quiet stream (checked about once a second). */
    struct streamer q = {.k = s.k};
    pthread_create(&th, NULL, stream_run, &q);
    harness_nap_ms(200);
    atomic_store(&q.stop, true);
    pthread_join(th, NULL);
    ck_assert_int_eq(q.rc, 0);
    /* A stream refused: the Status comes back. */
    struct fakeapi_faults x = {.fail_every = 1};
    fakeapi_set_faults(f, &x);
    struct kube_resp r;
    struct lines l = {0};
    ck_assert_int_eq(kube_stream(s.k, "/api/v1/nodes?watch=1", on_line, &l, NULL, 5000, &r),
                     ERR_PROTO);
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_nonnull(strstr(r.message, "fake fault"));
    kube_resp_free(&r);
    kube_destroy(s.k);
}
END_TEST

static const struct {
    const char *in, *out;
} esc[] = {
    {"abc-1.2_~", "abc-1.2_~"},
    {"a=b,c!=d", "a%3Db%2Cc%21%3Dd"},
    {"k8s.io/x y", "k8s.io%2Fx%20y"},
    {"", ""},
};

/* kube_get_chunks: a 2xx body in pieces, the same bytes kube_call holds
 * whole; fn can end it; an error answer is kept as kube_call keeps it. */
struct pieces {
    struct buf got;
    int calls, stop_at;
};

static int on_piece(void *ctx, const char *p, size_t n)
{
    struct pieces *ps = ctx;
    ck_assert_uint_gt(n, 0);
    buf_append(&ps->got, p, n);
    return ++ps->calls == ps->stop_at ? ERR_CONFLICT : 0;
}

START_TEST(test_chunks)
{
    struct kube *k = client(1000, 1000);
    struct kube_resp r;
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "node-with-a-longer-name-%d", i);
        put_node(name, GOOD_REG);
    }
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, &r), 0);
    struct pieces ps = {BUF_INIT(1 << 24), 0, -1};
    struct kube_resp r2;
    ck_assert_int_eq(kube_get_chunks(k, "/api/v1/nodes", on_piece, &ps, &r2), 0);
    ck_assert_int_eq(r2.status, 200);
    ck_assert_ptr_null(r2.body);
    ck_assert_uint_eq(ps.got.len, r.len);
    ck_assert(memcmp(ps.got.data, r.body, r.len) == 0);
    kube_resp_free(&r);
    kube_resp_free(&r2);
    /* fn ends it at its first piece; the client goes on working */
    buf_reset(&ps.got);
    ps.calls = 0;
    ps.stop_at = 1;
    ck_assert_int_eq(kube_get_chunks(k, "/api/v1/nodes", on_piece, &ps, &r2), ERR_CONFLICT);
    ck_assert_int_eq(ps.calls, 1);
    kube_resp_free(&r2);
    ck_assert_int_eq(kube_call(k, "GET", "/api/v1/nodes/node-with-a-longer-name-7", NULL, NULL, &r),
                     0);
    kube_resp_free(&r);
    /* an error answer: kept in r, never given to fn */
    ps.calls = 0;
    ps.stop_at = -1;
    ck_assert_int_eq(kube_get_chunks(k, "/api/v1/nodes/nope", on_piece, &ps, &r2), ERR_NOTFOUND);
    ck_assert_int_eq(ps.calls, 0);
    ck_assert_int_eq(r2.status, 404);
    ck_assert_str_eq(r2.reason, "NotFound");
    kube_resp_free(&r2);
    /* 500s before any byte are retried */
    struct fakeapi_faults x = {.fail_every = 2};
    fakeapi_set_faults(f, &x);
    for (int i = 0; i < 4; i++) {
        buf_reset(&ps.got);
        ck_assert_int_eq(kube_get_chunks(k, "/api/v1/nodes", on_piece, &ps, &r2), 0);
        ck_assert_ptr_nonnull(strstr(buf_str(&ps.got), "node-with-a-longer-name-199"));
        kube_resp_free(&r2);
    }
    buf_free(&ps.got);
    kube_destroy(k);
}
END_TEST

START_TEST(test_escape)
{
    char out[64];
    ck_assert_int_eq(kube_escape(esc[_i].in, out, sizeof out), 0);
    ck_assert_str_eq(out, esc[_i].out);
    ck_assert_int_eq(kube_escape("=====", out, 8), ERR_TOOBIG);
}
END_TEST

/* ---- HTTPS ---- */

static char *slurp(const char *dir_, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir_, name);
    return harness_read(p, NULL);
}

static char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = calloc(1, 4 * (n / 3 + 2) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/* GET /api/v1/nodes with a kubeconfig of these cluster and user lines. */
static int tls_get(int port, const char *cluster, const char *user, struct kube_resp *r)
{
    char kc_path[128], err[512];
    snprintf(kc_path, sizeof kc_path, "%s/kc-tls", dir);
    FILE *fp = fopen(kc_path, "w");
    fprintf(fp,
            "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
            "clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:%d\n%s"
            "users:\n- name: u\n  user:\n    token: " FAKEAPI_TOKEN "\n%s",
            port, cluster, user);
    fclose(fp);
    struct kubeconfig kc;
    struct kube *k = NULL;
    ck_assert_msg(kubeconfig_load(kc_path, &kc, err, sizeof err) == 0, "%s", err);
    struct kube_options o = {.qps = 1000, .burst = 1000, .timeout_ms = 5000};
    ck_assert_msg(kube_create(&kc, &o, &k, err, sizeof err) == 0, "%s", err);
    kubeconfig_free(&kc);
    int rc = kube_call(k, "GET", "/api/v1/nodes", NULL, NULL, r);
    kube_destroy(k);
    return rc;
}

START_TEST(test_tls)
{
    char certs[128], err[512], line[8192], *bundle = NULL;
    struct kube_resp r;
    snprintf(certs, sizeof certs, "%s/certs", dir);
    struct certgen_opts o = {.service = "fake", .ns = "test", .out_dir = certs, .days = 1};
    ck_assert_msg(certgen_write(&o, &bundle, err, sizeof err) == 0, "%s", err);
    char *crt = slurp(certs, "tls.crt"), *key = slurp(certs, "tls.key"),
         *ca = slurp(certs, "ca.crt");
    struct fakeapi *t = fakeapi_start_tls(crt, key, NULL);
    ck_assert_ptr_nonnull(t);
    int port = fakeapi_port(t);
    /* The CA from a file, from data, none (refused), or no check at all. */
    snprintf(line, sizeof line, "    certificate-authority: certs/ca.crt\n");
    ck_assert_int_eq(tls_get(port, line, "", &r), 0);
    kube_resp_free(&r);
    snprintf(line, sizeof line, "    certificate-authority-data: %s\n", bundle);
    ck_assert_int_eq(tls_get(port, line, "", &r), 0);
    kube_resp_free(&r);
    ck_assert_int_eq(tls_get(port, "", "", &r), ERR_IO);
    ck_assert_msg(strstr(r.message, "SSL") || strstr(r.message, "certificate"), "%s", r.message);
    kube_resp_free(&r);
    ck_assert_int_eq(tls_get(port, "    insecure-skip-tls-verify: true\n", "", &r), 0);
    kube_resp_free(&r);
    fakeapi_stop(t);
    /* A server that wants a client certificate. */
    t = fakeapi_start_tls(crt, key, ca);
    ck_assert_ptr_nonnull(t);
    port = fakeapi_port(t);
    snprintf(line, sizeof line, "    certificate-authority-data: %s\n", bundle);
    ck_assert_int_eq(tls_get(port, line, "", &r), ERR_PROTO);
    ck_assert_int_eq(r.status, 401);
    kube_resp_free(&r);
    char user[16384], *crt64 = b64(crt), *key64 = b64(key);
    snprintf(user, sizeof user, "    client-certificate-data: %s\n    client-key-data: %s\n", crt64,
             key64);
    ck_assert_int_eq(tls_get(port, line, user, &r), 0);
    kube_resp_free(&r);
    ck_assert_int_eq(
        tls_get(port, line,
                "    client-certificate: certs/tls.crt\n    client-key: certs/tls.key\n", &r),
        0);
    kube_resp_free(&r);
    fakeapi_stop(t);
    free(crt64);
    free(key64);
    free(crt);
    free(key);
    free(ca);
    free(bundle);
}
END_TEST

/* ---- events ---- */

static void count_drops(void *ctx, const char *reason)
{
    if (strcmp(reason, "event_dropped") == 0)
        (*(int *)ctx)++;
}

START_TEST(test_events)
{
    struct kube *k = client(1000, 1000);
    int drops = 0, queued = 0;
    struct events_options o = {
        .component = "vgpu-scheduler", .queue_max = 4, .count = count_drops, .count_ctx = &drops};
    struct events *e = events_start(k, &o);
    ck_assert_ptr_nonnull(e);
    ck_assert(events_post(e, "default", "p", "u-1", false, "FilteringSucceed", "fine"));
    cJSON *evs = NULL;
    for (int i = 0; i < 250; i++, harness_nap_ms(20)) {
        cJSON_Delete(evs);
        evs = fakeapi_events(f);
        if (cJSON_GetArraySize(evs) == 1)
            break;
    }
    ck_assert_int_eq(cJSON_GetArraySize(evs), 1);
    const cJSON *ev = cJSON_GetArrayItem(evs, 0), *io = cJSON_GetObjectItem(ev, "involvedObject");
    ck_assert_str_eq(cJSON_GetObjectItem(io, "kind")->valuestring, "Pod");
    ck_assert_str_eq(cJSON_GetObjectItem(io, "name")->valuestring, "p");
    ck_assert_str_eq(cJSON_GetObjectItem(io, "uid")->valuestring, "u-1");
    ck_assert_str_eq(cJSON_GetObjectItem(ev, "reason")->valuestring, "FilteringSucceed");
    ck_assert_str_eq(cJSON_GetObjectItem(ev, "type")->valuestring, "Normal");
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "source"), "component")->valuestring,
        "vgpu-scheduler");
    cJSON_Delete(evs);
    /* A flood against a slow server: the queue holds 4, the rest is dropped
     * and counted; posting never waits. */
    struct fakeapi_faults x = {.delay_ms = 100};
    fakeapi_set_faults(f, &x);
    for (int i = 0; i < 50; i++)
        queued += events_post(e, "default", "p", "u-1", true, "BindingFailed", "flood");
    ck_assert_int_le(queued, 8); /* 4 queued, a few sent meanwhile */
    ck_assert_int_eq(drops, 50 - queued);
    events_stop(e); /* sends what it can for about a second, drops the rest */
    kube_destroy(k);
}
END_TEST

/* ---- the watch ---- */

static void count(void *ctx, const char *reason)
{
    if (strcmp(reason, "node_malformed") == 0)
        (*(int *)ctx)++;
}

/* Poll done(ctx, want) every 20 ms for up to 5 s: true once it holds. */
static bool wait_for(bool (*done)(void *ctx, long want), void *ctx, long want)
{
    for (int i = 0; i < 250; i++, harness_nap_ms(20))
        if (done(ctx, want))
            return true;
    return false;
}

static bool nodes_are(void *ctx, long want)
{
    struct cache_stats st;
    cache_stats(ctx, &st);
    return cache_ready(ctx) && st.nodes == (size_t)want;
}

static bool wait_nodes(struct cache *c, size_t want)
{
    return wait_for(nodes_are, c, (long)want);
}

/* An unplaced pod default/p (uid u-p) that asks for a GPU. */
static void put_gpu_pod(void)
{
    ck_assert_int_gt(
        fakeapi_put(f, "pods",
                    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"u-p\"},"
                    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
                    "\"nvidia.com/gpu\":\"1\"}}}]}}"),
        0);
}

START_TEST(test_watch)
{
    struct kube *k = client(1000, 1000);
    struct cache *c = cache_create();
    struct watch *w = NULL;
    char err[256], name[32];
    int malformed = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "n%d", i);
        put_node(name, GOOD_REG);
    }
    put_node("bad", "nonsense");
    put_gpu_pod();
    /* Pages of 2; the first continue token is refused as expired. */
    struct fakeapi_faults x = {.expire_next = 1};
    fakeapi_set_faults(f, &x);
    struct watch_options o = {.page_size = 2, .count = count, .count_ctx = &malformed};
    ck_assert_int_eq(watch_start(k, c, &o, &w, err, sizeof err), 0);
    ck_assert(wait_nodes(c, 5));
    ck_assert_int_eq(malformed, 1);
    char *pending = cache_pending_get(c, "u-p", 0);
    ck_assert_ptr_nonnull(pending); /* an unplaced GPU pod is kept for bind */
    free(pending);
    struct watch_stats ws;
    watch_stats(w, &ws);
    ck_assert(ws.synced);
    struct fakeapi_counts fc;
    fakeapi_counts(f, &fc);
    ck_assert_int_ge(fc.lists, 4 + 1); /* 1 node page, one refused, 3 again; 1 pod page */
    ck_assert_int_ge(fc.conflicts + fc.requests, 7);
    /* Events go on: a node goes, one comes. */
    ck_assert_int_eq(fakeapi_delete(f, "nodes", NULL, "n0"), 0);
    put_node("n9", GOOD_REG);
    ck_assert(wait_nodes(c, 5));
    /* Held watches, changes, compaction: 410, list again, reconcile. */
    x = (struct fakeapi_faults){.hold_watches = true};
    fakeapi_set_faults(f, &x);
    harness_nap_ms(50);
    ck_assert_int_eq(fakeapi_delete(f, "nodes", NULL, "n1"), 0);
    ck_assert_int_eq(fakeapi_delete(f, "nodes", NULL, "n2"), 0);
    fakeapi_compact(f);
    x.hold_watches = false;
    fakeapi_set_faults(f, &x);
    ck_assert(wait_nodes(c, 3));
    watch_stats(w, &ws);
    ck_assert_int_ge(ws.relists, 1);
    watch_stop(w);
    cache_destroy(c);
    kube_destroy(k);
}
END_TEST

/* ---- the upkeep: the leader switch ---- */

/* Node name's annotation key, as a new string (caller frees), or NULL. */
static char *node_ann(const char *name, const char *key)
{
    cJSON *n = fakeapi_get(f, "nodes", NULL, name);
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(n, "metadata"), "annotations");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(anns, key));
    char *out = v ? strdup(v) : NULL;
    cJSON_Delete(n);
    return out;
}

/* want: handshakes written, with at least one lock released. */
static bool written(void *ctx, long want)
{
    struct fakeapi_counts fc;
    fakeapi_counts(ctx, &fc);
    return fc.handshakes >= want && fc.lock_releases >= 1;
}

/* The upkeep counts a write after the API answered it: wait for its own
 * counters, not the fake API's, before reading them. */
static bool done_by_upkeep(void *ctx, long want)
{
    struct upkeep_stats us;
    upkeep_stats(ctx, &us);
    return us.handshakes >= (unsigned long)want && us.orphans_released >= 1;
}

static bool queued(void *ctx, long want)
{
    struct upkeep_stats us;
    upkeep_stats(ctx, &us);
    return us.queued >= (unsigned long)want;
}

START_TEST(test_upkeep_leading)
{
    struct kube *k = client(1000, 1000);
    struct cache *c = cache_create();
    struct watch *w = NULL;
    struct upkeep_stats us;
    struct fakeapi_counts fc;
    char err[256], lock[NODELOCK_VALUE_MAX], json[1024];
    /* Two nodes without a handshake; one more locked by a pod that does
     * not exist; an unplaced GPU pod. */
    put_node("h1", GOOD_REG);
    put_node("h2", GOOD_REG);
    ck_assert_int_gt(nodelock_format((double)time(NULL), "default", "ghost", lock, sizeof lock), 0);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"locked\",\"annotations\":{\"%s\":\"%s\","
             "\"hami.io/node-nvidia-register\":\"%s\"}},\"status\":{\"allocatable\":{"
             "\"nvidia.com/gpu\":\"1\"}}}",
             MODEL_ANN_LOCK, lock, GOOD_REG);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
    put_gpu_pod();
    struct upkeep_options uo = {0};
    struct upkeep *u = upkeep_start(k, &uo);
    ck_assert_ptr_nonnull(u);
    upkeep_stats(u, &us);
    ck_assert(us.leading); /* a new upkeep leads */
    upkeep_set_leading(u, false);
    struct watch_options o = {.handshake = true, .upkeep = u};
    ck_assert_int_eq(watch_start(k, c, &o, &w, err, sizeof err), 0);
    /* Following: the cache fills, the jobs arrive (3 handshakes, 1 lock)
     * and wait; nothing is written. */
    ck_assert(wait_nodes(c, 3));
    char *pending = cache_pending_get(c, "u-p", 0);
    ck_assert_ptr_nonnull(pending);
    free(pending);
    ck_assert(wait_for(queued, u, 4));
    upkeep_stats(u, &us);
    ck_assert_int_eq(us.queued, 4);
    ck_assert(!us.leading);
    harness_nap_ms(300); /* time for a write that should not happen */
    fakeapi_counts(f, &fc);
    ck_assert_int_eq(fc.node_patches, 0);
    ck_assert_int_eq(fc.handshakes, 0);
    ck_assert_int_eq(fc.lock_releases, 0);
    upkeep_stats(u, &us);
    ck_assert_int_eq(us.handshakes + us.orphans_released, 0);
    char *v = node_ann("locked", MODEL_ANN_LOCK);
    ck_assert_str_eq(v, lock);
    free(v);
    ck_assert_ptr_null(node_ann("h1", MODEL_ANN_HANDSHAKE));
    /* Leading: the waiting jobs are done. */
    upkeep_set_leading(u, true);
    ck_assert(wait_for(written, f, 3));
    ck_assert(wait_for(done_by_upkeep, u, 3));
    ck_assert_ptr_null(node_ann("locked", MODEL_ANN_LOCK));
    v = node_ann("h2", MODEL_ANN_HANDSHAKE);
    ck_assert_msg(v && strncmp(v, "Requesting_", 11) == 0, "h2 handshake %s", v);
    free(v);
    upkeep_stats(u, &us);
    ck_assert_int_eq(us.handshakes, 3);
    ck_assert_int_eq(us.orphans_released, 1);
    ck_assert(wait_nodes(c, 3)); /* the cache went on through the writes */
    watch_stop(w);               /* first: it feeds the upkeep */
    upkeep_stop(u);
    cache_destroy(c);
    kube_destroy(k);
}
END_TEST

/* A DCU node's handshake is written under its own backend's key
 * (hami.io/node-handshake-dcu), never NVIDIA's: before, the writer used the
 * first row's key for every node. */
static bool dcu_shaken(void *ctx, long want)
{
    (void)ctx;
    (void)want;
    char *v = node_ann("d1", "hami.io/node-handshake-dcu");
    bool ok = v && strncmp(v, "Requesting_", 11) == 0;
    free(v);
    return ok;
}

START_TEST(test_upkeep_dcu_handshake)
{
    struct kube *k = client(1000, 1000);
    struct cache *c = cache_create();
    struct watch *w = NULL;
    char err[256], json[1024];
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"d1\",\"annotations\":{"
             "\"hami.io/node-dcu-register\":\"%s\"}},\"status\":{\"allocatable\":{"
             "\"hygon.com/dcunum\":\"1\"}}}",
             GOOD_REG);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
    struct upkeep_options uo = {0};
    struct upkeep *u = upkeep_start(k, &uo);
    ck_assert_ptr_nonnull(u);
    struct watch_options o = {.handshake = true, .upkeep = u};
    ck_assert_int_eq(watch_start(k, c, &o, &w, err, sizeof err), 0);
    ck_assert(wait_nodes(c, 1));
    ck_assert(wait_for(dcu_shaken, NULL, 1));
    ck_assert_ptr_null(node_ann("d1", MODEL_ANN_HANDSHAKE));
    watch_stop(w);
    upkeep_stop(u);
    cache_destroy(c);
    kube_destroy(k);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kube");
    TCase *tc = tcase_create("kube");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_retries);
    tcase_add_test(tc, test_token_file);
    tcase_add_test(tc, test_rate);
    tcase_add_test(tc, test_stream);
    tcase_add_test(tc, test_chunks);
    tcase_add_loop_test(tc, test_escape, 0, sizeof esc / sizeof esc[0]);
    tcase_add_test(tc, test_watch);
    tcase_add_test(tc, test_upkeep_leading);
    tcase_add_test(tc, test_upkeep_dcu_handshake);
    tcase_add_test(tc, test_tls);
    tcase_add_test(tc, test_events);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* The real binary over real TLS: gen-cert makes the CA, the service serves
 * HTTPS, clients verify it (libcurl, CAINFO) as kube-apiserver and
 * kube-scheduler would. Admission reviews with golden patches, certificate
 * rotation with requests flowing, client certificates on the extender. */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/tls.h"
#include "tests/support/harness.h"
#include "tests/webhook/review_cases.h"

#define RUN_MS    20000
#define WAIT_MS   20000 /* longest wait for a reload to show in the log */
#define LOOP_MAX  20000 /* requests the rotation client makes at most */
#define BODY_MAX  (64u << 20)
#define CLUSTER   "e2e/cluster.json"
#define SERVICE   "vgpu-scheduler"
#define NAMESPACE "vgpu-system"
#define FILTER_POD                                                                                 \
    "{\"Pod\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":\"tls-1\"},"         \
    "\"spec\":{\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{\"nvidia.com/"        \
    "gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}},\"NodeNames\":[\"gpu-a\",\"gpu-b\"]}"

static char dir[64]; /* a, b: two gen-cert runs; serve: what the server reads */
static char cluster[4096];

static const char *at(const char *sub, const char *name)
{
    static __thread char paths[8][256];
    static __thread int k;
    char *p = paths[k++ % 8];
    snprintf(p, 256, "%s/%s%s%s", dir, sub, name ? "/" : "", name ? name : "");
    return p;
}

/* Write text to path through a rename: the reader sees the old file or the
 * new one, never a part. */
static void put(const char *path, const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, path), 0);
}

static void copy(const char *from, const char *to)
{
    char *s = harness_read(from, NULL);
    put(to, s);
    free(s);
}

/* Run gen-cert into dir/sub; returns what it printed (new). */
static char *gen_cert(const char *sub)
{
    const char *args[] = {"gen-cert",    "--service",         SERVICE,
                          "--namespace", NAMESPACE,           "--out",
                          at(sub, NULL), "--ca-bundle-patch", at(sub, "patch.json"),
                          NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, RUN_MS, &r), 0);
    ck_assert_msg(r.status == 0, "gen-cert exited %d: %s", r.status, buf_str(&r.err));
    char *out = strdup(buf_str(&r.out));
    harness_result_free(&r);
    return out;
}

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/%s", d ? d : "tests/data", CLUSTER);
    snprintf(dir, sizeof dir, "/tmp/vs-e2e-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    free(gen_cert("a"));
    free(gen_cert("b"));
    ck_assert_int_eq(mkdir(at("serve", NULL), 0755), 0);
    copy(at("a", "tls.key"), at("serve", "tls.key"));
    copy(at("a", "tls.crt"), at("serve", "tls.crt"));
    /* A client that trusts both CAs: it must never fail across a rotation. */
    char *ca = harness_read(at("a", "ca.crt"), NULL), *cb = harness_read(at("b", "ca.crt"), NULL);
    size_t n = strlen(ca) + strlen(cb) + 1;
    char *both = malloc(n);
    snprintf(both, n, "%s%s", ca, cb);
    put(at("both-ca.crt", NULL), both);
    free(both);
    free(ca);
    free(cb);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- an HTTPS client ---- */

struct client {
    CURL *h;
    const char *ca, *cert, *key; /* files; cert/key NULL: no client certificate */
    long sslversion;             /* CURLOPT_SSLVERSION; 0 = default */
    const char *ciphers;         /* CURLOPT_SSL_CIPHER_LIST; NULL = default */
    bool fresh;                  /* a new connection (a new handshake) every time */
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) ? 0 : size * n;
}

/* GET (body NULL) or POST path. Returns 0, or -1 on a transport or TLS
 * error (described in r->error). */
static int send_req(struct client *c, int port, const char *path, const char *body,
                    struct harness_reply *r)
{
    char url[256];
    struct curl_slist *hdrs = NULL;
    memset(r, 0, sizeof *r);
    buf_init(&r->body, BODY_MAX);
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", port, path);
    if (c->h == NULL)
        c->h = curl_easy_init();
    CURL *e = c->h;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L); /* every handshake a full one */
    if (c->cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
    }
    if (c->sslversion)
        curl_easy_setopt(e, CURLOPT_SSLVERSION, c->sslversion);
    if (c->ciphers)
        curl_easy_setopt(e, CURLOPT_SSL_CIPHER_LIST, c->ciphers);
    if (c->fresh) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    CURLcode cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK && r->error[0] == '\0')
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(cc));
    return cc == CURLE_OK ? 0 : -1;
}

static void client_free(struct client *c)
{
    if (c->h)
        curl_easy_cleanup(c->h);
    c->h = NULL;
}

/* One request on a fresh client: the HTTP status, 0 when the transport or
 * TLS failed. body_out (may be NULL) gets a copy of the body. */
static long once(const char *ca, const char *cert, const char *key, int port, const char *path,
                 const char *body, char **body_out)
{
    struct client c = {.ca = ca, .cert = cert, .key = key};
    struct harness_reply r;
    send_req(&c, port, path, body, &r);
    if (body_out)
        *body_out = strdup(r.status ? buf_str(&r.body) : r.error);
    long s = r.status;
    harness_reply_free(&r);
    client_free(&c);
    return s;
}

static struct harness *start(const char *const *extra)
{
    const char *args[24] = {"--snapshot",           cluster,      "--cert_file",
                            at("serve", "tls.crt"), "--key_file", at("serve", "tls.key")};
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    ck_assert(harness_wait_log(h, "TLS: serving", 0));
    return h;
}

/* ---- gen-cert ---- */

START_TEST(test_gen_cert)
{
    char *printed = gen_cert("c");
    size_t n = strcspn(printed, "\n");
    printed[n] = '\0';
    size_t calen;
    char *ca = harness_read(at("c", "ca.crt"), &calen);
    char *decoded = review_unbase64(printed);
    ck_assert_str_eq(decoded, ca); /* the caBundle is ca.crt */
    char *patch = harness_read(at("c", "patch.json"), NULL);
    cJSON *pj = cJSON_Parse(patch), *op = cJSON_GetArrayItem(pj, 0);
    ck_assert_int_eq(cJSON_GetArraySize(pj), 1);
    ck_assert_str_eq(cJSON_GetObjectItem(op, "op")->valuestring, "add");
    ck_assert_str_eq(cJSON_GetObjectItem(op, "path")->valuestring,
                     "/webhooks/0/clientConfig/caBundle");
    ck_assert_str_eq(cJSON_GetObjectItem(op, "value")->valuestring, printed);
    struct stat st;
    ck_assert_int_eq(stat(at("c", "tls.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    cJSON_Delete(pj);
    free(patch);
    free(decoded);
    free(ca);
    free(printed);
}
END_TEST

static const struct {
    const char *args[10];
    int status;
    const char *err_has;
} bad_runs[] = {
    {{"gen-cert", "--service", "s", "--namespace", "n"}, 2, "are required"},
    {{"gen-cert", "--namespace", "n", "--out", "OUT"}, 2, "are required"},
    {{"gen-cert", "--service", "Bad_Name", "--namespace", "n", "--out", "OUT"},
     2,
     "--service: \"Bad_Name\" is not a DNS label"},
    {{"gen-cert", "--service", "s", "--namespace", "n", "--out", "OUT", "--days", "0"},
     2,
     "--days: \"0\" is out of range (1..36500)"},
    {{"gen-cert", "--service", "s", "--namespace", "n", "--out", "OUT", "--days", "x"},
     2,
     "--days: \"x\" is not an integer"},
    {{"gen-cert", "--http_bind", "127.0.0.1:1"}, 2, "--http_bind: unknown flag"},
    {{"gen-cert", "--service", "s", "--namespace", "n", "--out", "/nonexistent-vs/sub"},
     1,
     "cannot create the directory"},
    /* the service refuses TLS flags that cannot work */
    {{"--cert_file", "x.crt"}, 2, "--cert_file: needs --key_file too"},
    {{"--client-ca-file", "ca.crt"}, 2, "--client-ca-file: needs --cert_file"},
    {{"--snapshot", "CLUSTER", "--cert_file", "A_CRT", "--key_file", "B_KEY"},
     1,
     "the key does not match the certificate"},
    {{"--snapshot", "CLUSTER", "--cert_file", "A_CRT", "--key_file", "/nonexistent.key"},
     1,
     "/nonexistent.key: No such file"},
    {{"--snapshot", "CLUSTER", "--cert_file", "A_CRT", "--key_file", "A_KEY", "--client-ca-file",
      "A_KEY"},
     1,
     "no PEM certificate"},
};

START_TEST(test_bad_runs)
{
    const char *args[12] = {NULL};
    for (int i = 0; bad_runs[_i].args[i]; i++) {
        const char *a = bad_runs[_i].args[i];
        args[i] = strcmp(a, "OUT") == 0       ? at("out", NULL)
                  : strcmp(a, "CLUSTER") == 0 ? cluster
                  : strcmp(a, "A_CRT") == 0   ? at("a", "tls.crt")
                  : strcmp(a, "A_KEY") == 0   ? at("a", "tls.key")
                  : strcmp(a, "B_KEY") == 0   ? at("b", "tls.key")
                                              : a;
    }
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, RUN_MS, &r), 0);
    ck_assert_msg(r.status == bad_runs[_i].status, "exit %d, want %d: %s", r.status,
                  bad_runs[_i].status, buf_str(&r.err));
    ck_assert_msg(strstr(buf_str(&r.err), bad_runs[_i].err_has), "\"%s\" not in: %s",
                  bad_runs[_i].err_has, buf_str(&r.err));
    harness_result_free(&r);
}
END_TEST

/* ---- serving ---- */

START_TEST(test_https)
{
    struct harness *h = start(NULL);
    int port = harness_port(h);
    char *body = NULL;
    const char *ca = at("a", "ca.crt");
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/healthz", NULL, &body), 200);
    ck_assert_str_eq(body, "ok");
    free(body);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/readyz", NULL, NULL), 200);
    /* no client CA: the extender is open to any TLS client */
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/filter", FILTER_POD, &body), 200);
    ck_assert_msg(strstr(body, "\"NodeNames\":[\""), "%s", body);
    free(body);

    /* The expiry gauge is the certificate's notAfter. */
    size_t cl, kl;
    char *crt = harness_read(at("a", "tls.crt"), &cl), *key = harness_read(at("a", "tls.key"), &kl),
         err[256];
    struct tls_cert_facts f;
    ck_assert_int_eq(tls_check_pair(crt, cl, key, kl, (double)time(NULL), &f, err, sizeof err), 0);
    char want[128];
    snprintf(want, sizeof want, "vgpu_scheduler_tls_cert_expiry_timestamp_seconds %.0f\n",
             f.not_after);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/metrics", NULL, &body), 200);
    ck_assert_msg(strstr(body, want), "%s not in metrics", want);
    ck_assert_ptr_nonnull(strstr(body, "hami_gpu_memory_limit_bytes{")); /* still there */
    free(body);
    free(crt);
    free(key);

    /* A client that does not trust our CA refuses us; plain HTTP gets no answer. */
    ck_assert_int_eq(once(at("b", "ca.crt"), NULL, NULL, port, "/healthz", NULL, &body), 0);
    ck_assert_msg(strstr(body, "certificate"), "%s", body);
    free(body);
    struct buf raw = BUF_INIT(1 << 16);
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    harness_raw(port, get, sizeof get - 1, &raw, 2000);
    ck_assert_msg(strstr(buf_str(&raw), "200 OK") == NULL, "plain HTTP was served");
    buf_free(&raw);

    /* TLS 1.2 and 1.3 only. The TLS 1.0-1.1 client lowers OpenSSL's own
     * security level, so that it is our server that refuses it. */
    static const long versions[][2] = {
        {CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2, 200},
        {CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3, 200},
        {CURL_SSLVERSION_TLSv1_0 | CURL_SSLVERSION_MAX_TLSv1_1, 0},
    };
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        struct client c = {.ca = ca, .sslversion = versions[i][0], .ciphers = "DEFAULT@SECLEVEL=0"};
        struct harness_reply r;
        send_req(&c, port, "/healthz", NULL, &r);
        ck_assert_msg(r.status == versions[i][1], "TLS version %zu: %ld (%s)", i, r.status,
                      r.error);
        harness_reply_free(&r);
        client_free(&c);
    }
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* Every admission review under tests/data/webhook/, over HTTPS, to one
 * server started by the case's unchecked fixture (each test runs in a
 * child process; only the port is used there). */
static struct harness *review_server;
static int review_port;

static void reviews_setup(void)
{
    setup();
    review_server = start(NULL);
    review_port = harness_port(review_server);
}

static void reviews_teardown(void)
{
    harness_stop(review_server, SIGTERM, 5000);
    harness_free(review_server);
    teardown();
}

START_TEST(test_reviews)
{
    const struct review_case *rc = &review_cases[_i];
    char *body = review_fixture(rc->name, ".json");
    struct client c = {.ca = at("a", "ca.crt")};
    struct harness_reply r;
    ck_assert_msg(send_req(&c, review_port, "/webhook", body, &r) == 0, "%s", r.error);
    review_check(rc, r.status, buf_str(&r.body));
    harness_reply_free(&r);
    client_free(&c);
    free(body);
}
END_TEST

/* After every review: the denials and the bodies that were not reviews
 * were counted. */
START_TEST(test_review_metrics)
{
    char *m = NULL, want[96];
    int denied = 0;
    for (size_t i = 0; i < REVIEW_CASES; i++)
        denied += review_cases[i].status == 200 && !review_cases[i].allowed;
    snprintf(want, sizeof want, "errors_total{reason=\"webhook_denied\"} %d\n", denied);
    ck_assert_int_eq(once(at("a", "ca.crt"), NULL, NULL, review_port, "/metrics", NULL, &m), 200);
    ck_assert_msg(strstr(m, want) && strstr(m, "errors_total{reason=\"webhook_bad_review\"} 6\n"),
                  "%s", m);
    ck_assert_ptr_nonnull(strstr(m, "requests_total{route=\"/webhook\",code=\"400\"} 6\n"));
    free(m);
}
END_TEST

/* ---- rotation ---- */

struct flow {
    int port;
    atomic_bool stop;
    atomic_int done, failed;
    char first_error[320];
};

/* New connections (a full handshake each) in a loop, trusting both CAs,
 * until told to stop or LOOP_MAX. */
static void *flow_main(void *arg)
{
    struct flow *f = arg;
    struct client c = {.ca = at("both-ca.crt", NULL), .fresh = true};
    for (int i = 0; i < LOOP_MAX && !atomic_load(&f->stop); i++) {
        struct harness_reply r;
        send_req(&c, f->port, i % 2 ? "/healthz" : "/filter", i % 2 ? NULL : FILTER_POD, &r);
        if (r.status != 200 && atomic_fetch_add(&f->failed, 1) == 0)
            snprintf(f->first_error, sizeof f->first_error, "%ld %.256s", r.status, r.error);
        atomic_fetch_add(&f->done, 1);
        harness_reply_free(&r);
    }
    client_free(&c);
    return NULL;
}

/* Wait (bounded) until the flow has made `more` requests past `from`. */
static bool flow_progress(struct flow *f, int from, int more)
{
    for (int i = 0; i < WAIT_MS / 10; i++) {
        if (atomic_load(&f->done) >= from + more)
            return true;
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return false;
}

START_TEST(test_rotation)
{
    struct harness *h = start(NULL);
    int port = harness_port(h);
    struct flow f = {.port = port};
    pthread_t t;

    /* A kept-alive connection made with the first certificate. */
    struct client kept = {.ca = at("a", "ca.crt")};
    struct harness_reply r;
    ck_assert_int_eq(send_req(&kept, port, "/healthz", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);

    ck_assert_int_eq(pthread_create(&t, NULL, flow_main, &f), 0);
    ck_assert(flow_progress(&f, 0, 20));

    /* Rotate: the key, then the certificate, each renamed into place. */
    copy(at("b", "tls.key"), at("serve", "tls.key"));
    copy(at("b", "tls.crt"), at("serve", "tls.crt"));
    ck_assert_msg(harness_wait_log(h, "TLS: certificate reloaded", WAIT_MS), "no reload logged");
    int at_reload = atomic_load(&f.done);

    /* New connections get the new certificate: only B's CA verifies it. */
    ck_assert_int_eq(once(at("b", "ca.crt"), NULL, NULL, port, "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(once(at("a", "ca.crt"), NULL, NULL, port, "/healthz", NULL, NULL), 0);
    /* The connection opened before goes on, on the old certificate. */
    ck_assert_int_eq(send_req(&kept, port, "/healthz", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.connects, 0);
    harness_reply_free(&r);

    /* A bad pair (A's certificate with B's key) is refused; B stays. */
    copy(at("a", "tls.crt"), at("serve", "tls.crt"));
    ck_assert_msg(harness_wait_log(h, "TLS: new certificate refused", WAIT_MS), "no refusal");
    ck_assert(harness_wait_log(h, "the key does not match the certificate", 0));
    ck_assert_int_eq(once(at("b", "ca.crt"), NULL, NULL, port, "/healthz", NULL, NULL), 200);

    ck_assert_msg(flow_progress(&f, at_reload, 20), "the flow stalled after the reload");
    atomic_store(&f.stop, true);
    pthread_join(t, NULL);
    ck_assert_msg(atomic_load(&f.failed) == 0, "%d of %d requests failed; first: %s",
                  atomic_load(&f.failed), atomic_load(&f.done), f.first_error);
    fprintf(stderr, "rotation: %d new connections, %d of them after the reload, none failed\n",
            atomic_load(&f.done), atomic_load(&f.done) - at_reload);

    char *m = NULL;
    ck_assert_int_eq(once(at("b", "ca.crt"), NULL, NULL, port, "/metrics", NULL, &m), 200);
    ck_assert_ptr_nonnull(strstr(m, "vgpu_scheduler_tls_cert_reloads_total{result=\"ok\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(m, "vgpu_scheduler_tls_cert_reloads_total{result=\"refused\"} 1\n"));
    free(m);
    client_free(&kept);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* ---- client certificates ---- */

START_TEST(test_client_ca)
{
    const char *extra[] = {
        "--client-ca-file",       at("a", "ca.crt"), "--force-overwrite-default-scheduler=false",
        "--metrics-bind-address", "127.0.0.1:0",     NULL};
    struct harness *h = start(extra);
    int port = harness_port(h);
    int mport = harness_log_port(h, "serving /metrics on ", 5000);
    ck_assert_int_gt(mport, 0);
    const char *ca = at("a", "ca.crt"), *crt = at("a", "tls.crt"), *key = at("a", "tls.key");
    char *body = NULL;

    /* No certificate: refused on the extender routes only. */
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/filter", FILTER_POD, &body), 403);
    ck_assert_msg(strstr(body, "client certificate required") &&
                      strstr(body, "no client certificate was presented"),
                  "%s", body);
    free(body);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/prioritize", FILTER_POD, NULL), 403);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/bind", "{}", NULL), 403);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/inspect", NULL, NULL), 403);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/workload", NULL, NULL), 403);
    /* node names and GPU UUIDs: only for the client CA on the main port */
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/metrics", NULL, NULL), 403);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/readyz", NULL, NULL), 200);
    /* the webhook needs none; with force off a default-scheduler pod is not ours */
    char *review = review_fixture("v1-gpu-mem", ".json");
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/webhook", review, &body), 200);
    ck_assert_msg(strstr(body, "\"allowed\":true") && !strstr(body, "patch"), "%s", body);
    free(body);
    free(review);

    /* A certificate from another CA: refused. */
    ck_assert_int_eq(
        once(ca, at("b", "tls.crt"), at("b", "tls.key"), port, "/filter", FILTER_POD, &body), 403);
    ck_assert_msg(strstr(body, "refused"), "%s", body);
    free(body);

    /* Ours: served, on one connection for several requests. */
    struct client c = {.ca = ca, .cert = crt, .key = key};
    struct harness_reply r;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(send_req(&c, port, "/filter", FILTER_POD, &r), 0);
        ck_assert_msg(r.status == 200 && strstr(buf_str(&r.body), "\"NodeNames\":[\""), "%ld %s",
                      r.status, buf_str(&r.body));
        ck_assert_int_eq(r.connects, i == 0 ? 1 : 0);
        harness_reply_free(&r);
    }
    ck_assert_int_eq(send_req(&c, port, "/inspect", NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);
    client_free(&c);

    ck_assert_int_eq(once(ca, crt, key, port, "/metrics", NULL, &body), 200);
    ck_assert_msg(strstr(body, "errors_total{reason=\"client_cert_refused\"} 7") &&
                      strstr(body, "hami_gpu_memory_limit_bytes{node=\"gpu-a\""),
                  "%s", body);
    free(body);
    /* the web view: /inspect's rules (no client certificate, no page; not on
     * the metrics listener unless --web-ui=metrics) */
    static const char *const ui_paths[] = {
        "/", "/ui/", "/ui/app.js", "/ui/api/view", "/ui/api/pending", "/ui/api/node?name=gpu-a"};
    char bcrt[256], bkey[256], aca[256], acrt[256], akey[256]; /* at()'s buffers rotate */
    snprintf(bcrt, sizeof bcrt, "%s", at("b", "tls.crt"));
    snprintf(bkey, sizeof bkey, "%s", at("b", "tls.key"));
    snprintf(aca, sizeof aca, "%s", at("a", "ca.crt"));
    snprintf(acrt, sizeof acrt, "%s", at("a", "tls.crt"));
    snprintf(akey, sizeof akey, "%s", at("a", "tls.key"));
    ca = aca;
    crt = acrt;
    key = akey;
    for (size_t i = 0; i < sizeof ui_paths / sizeof ui_paths[0]; i++) {
        ck_assert_int_eq(once(ca, NULL, NULL, port, ui_paths[i], NULL, NULL), 403);
        /* another CA's certificate */
        long other = once(ca, bcrt, bkey, port, ui_paths[i], NULL, NULL);
        ck_assert_msg(other == 403, "%s: %ld", ui_paths[i], other);
        char *got = NULL;
        long st = once(ca, crt, key, port, ui_paths[i], NULL, &got);
        ck_assert_msg(st == (i == 0 ? 302 : 200), "%s: %ld %s", ui_paths[i], st, got);
        free(got);
    }
    ck_assert_int_eq(once(ca, NULL, NULL, port, "/ui/api/simulate", "{}", NULL), 403);
    struct harness_reply ur;
    ck_assert_int_eq(harness_get(mport, "/ui/", &ur), 0);
    ck_assert_int_eq(ur.status, 404);
    harness_reply_free(&ur);
    /* the dedicated metrics listener stays plain HTTP, for Prometheus */
    struct harness_reply mr;
    ck_assert_int_eq(harness_get(mport, "/metrics", &mr), 0);
    ck_assert_msg(mr.status == 200 && strstr(buf_str(&mr.body), "hami_gpu_memory_limit_bytes"),
                  "%ld", mr.status);
    harness_reply_free(&mr);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* ---- the webhook on its own listener ---- */

START_TEST(test_webhook_listener)
{
    const char *extra[] = {
        "--client-ca-file", at("a", "ca.crt"), "--force-overwrite-default-scheduler=false",
        "--webhook-bind",   "127.0.0.1:0",     NULL};
    struct harness *h = start(extra);
    int port = harness_port(h), wport = harness_log_port(h, "serving /webhook on ", 5000);
    const char *ca = at("a", "ca.crt"), *crt = at("a", "tls.crt"), *key = at("a", "tls.key");
    char *review = review_fixture("v1-gpu-mem", ".json"), *body = NULL;
    ck_assert_int_gt(wport, 0);
    ck_assert_int_ne(wport, port);

    /* the webhook port: reviews and probes, over the same TLS pair, no client certificate */
    ck_assert_int_eq(once(ca, NULL, NULL, wport, "/webhook", review, &body), 200);
    ck_assert_msg(strstr(body, "\"allowed\":true"), "%s", body);
    free(body);
    ck_assert_int_eq(once(ca, NULL, NULL, wport, "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(once(ca, NULL, NULL, wport, "/readyz", NULL, NULL), 200);
    /* ... and nothing of the extender, even with the client certificate */
    ck_assert_int_eq(once(ca, crt, key, wport, "/filter", FILTER_POD, NULL), 404);
    ck_assert_int_eq(once(ca, crt, key, wport, "/inspect", NULL, NULL), 404);
    ck_assert_int_eq(once(ca, crt, key, wport, "/metrics", NULL, NULL), 404);
    /* the main port no longer reviews */
    ck_assert_int_eq(once(ca, crt, key, port, "/webhook", review, NULL), 404);
    ck_assert_int_eq(once(ca, crt, key, port, "/filter", FILTER_POD, NULL), 200);
    free(review);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* The HAMi part of a /metrics page: from its first family to ours after
 * it. A new string; caller frees. */
static char *hami_part(const char *page)
{
    const char *a = strstr(page, "# HELP hami_gpu_memory_limit_bytes ");
    const char *b = a ? strstr(a, "# HELP vgpu_scheduler_workload_shapes ") : NULL;
    ck_assert_msg(a && b, "no HAMi families in %.300s", page);
    return strndup(a, (size_t)(b - a));
}

/* /metrics is streamed in pieces (about 128 KiB) as it is sent: over TLS
 * the demo cluster's page (about 200 KB, two pieces and more) comes whole,
 * its HAMi part the same bytes as over plain HTTP, its last line (TLS)
 * at the end. */
START_TEST(test_metrics_streamed)
{
    char demo[4096], *body = NULL;
    const char *src = getenv("VS_SOURCE");
    snprintf(demo, sizeof demo, "%s/examples/demo-cluster.json", src ? src : ".");
    const char *args[] = {
        "--snapshot",           demo, "--cert_file", at("serve", "tls.crt"), "--key_file",
        at("serve", "tls.key"), NULL};
    const char *plain_args[] = {"--snapshot", demo, NULL};
    struct harness *h = harness_start(args), *p = harness_start(plain_args);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(p);
    ck_assert(harness_wait_log(h, "TLS: serving", 0));
    ck_assert(harness_wait_ready(harness_port(p), 10000));
    ck_assert_int_eq(once(at("a", "ca.crt"), NULL, NULL, harness_port(h), "/metrics", NULL, &body),
                     200);
    ck_assert_uint_gt(strlen(body), 150000);
    static const char end[] = "\nvgpu_scheduler_tls_cert_reloads_total{result=\"refused\"} 0\n";
    size_t n = strlen(body);
    ck_assert_msg(n > sizeof end && strcmp(body + n - (sizeof end - 1), end) == 0,
                  "the page does not end with the TLS families: %s", body + n - 200);
    struct harness_reply r;
    ck_assert_int_eq(harness_get(harness_port(p), "/metrics", &r), 0);
    char *a = hami_part(body), *b = hami_part(buf_str(&r.body));
    ck_assert_uint_gt(strlen(a), 150000);
    ck_assert_msg(strcmp(a, b) == 0, "HAMi's families differ over TLS (%zu bytes, plain %zu)",
                  strlen(a), strlen(b));
    free(a);
    free(b);
    free(body);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    ck_assert_int_eq(harness_stop(p, SIGTERM, 5000), 0);
    harness_free(h);
    harness_free(p);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_gen_cert);
    tcase_add_loop_test(tc, test_bad_runs, 0, sizeof bad_runs / sizeof bad_runs[0]);
    tcase_add_test(tc, test_https);
    tcase_add_test(tc, test_rotation);
    tcase_add_test(tc, test_client_ca);
    tcase_add_test(tc, test_webhook_listener);
    tcase_add_test(tc, test_metrics_streamed);
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("reviews");
    tcase_add_unchecked_fixture(tr, reviews_setup, reviews_teardown);
    tcase_set_timeout(tr, 240);
    tcase_add_loop_test(tr, test_reviews, 0, REVIEW_CASES);
    tcase_add_test(tr, test_review_metrics);
    suite_add_tcase(s, tr);

    int rc = harness_run_suite(s, true);
    curl_global_cleanup();
    return rc;
}

/* kube.c: the API client: a pool of libcurl easy handles, a token bucket,
 * the bearer token, Status bodies. */
#include "base/clock.h"
#include "k8s/kube.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"

#define TOKEN_CHECK_S 5.0 /* how often the token file's mtime is looked at */

/* An easy handle and what lives with it. */
struct conn {
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
};

struct kube {
    struct kubeconfig cfg;
    struct kube_options o;

    pthread_mutex_t pool_lock; /* guards idle/nidle */
    struct conn *idle[KUBE_POOL_MAX];
    int nidle;

    pthread_mutex_t rate_lock; /* guards tokens/last */
    double tokens, last;

    pthread_mutex_t token_lock; /* guards the bearer token */
    char *token;
    struct timespec token_mtime;
    double token_checked;

    atomic_ulong requests, retries, failures, throttled_ms;
};

/* A growable, capped byte buffer. */
struct dbuf {
    char *data;
    size_t len, cap, max;
    bool toobig;
};

static int dbuf_add(struct dbuf *b, const char *p, size_t n)
{
    if (b->len + n > b->max) {
        b->toobig = true;
        return ERR_TOOBIG;
    }
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + n + 1)
            c *= 2;
        b->data = mem_realloc(b->data, c);
        b->cap = c;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void kube_resp_free(struct kube_resp *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---- the token ---- */

/* Re-read the token file when forced or when its mtime changed (looked at
 * every TOKEN_CHECK_S). Called with token_lock held. */
static void token_refresh(struct kube *k, bool force)
{
    struct stat st;
    char *data = NULL, err[256];
    size_t len = 0;
    double now = clock_mono_s();
    if (!k->cfg.token_file || (!force && now - k->token_checked < TOKEN_CHECK_S && k->token))
        return;
    k->token_checked = now;
    if (stat(k->cfg.token_file, &st) != 0)
        return; /* keep the token we have */
    if (!force && k->token && st.st_mtim.tv_sec == k->token_mtime.tv_sec &&
        st.st_mtim.tv_nsec == k->token_mtime.tv_nsec)
        return;
    if (file_read(k->cfg.token_file, KUBECONFIG_TOKEN_MAX, &data, &len, err, sizeof err) != 0) {
        LOG_WARN("token file: %s", err);
        return;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    if (k->token && strcmp(k->token, data) != 0)
        LOG_INFO("token file %s changed: using the new token", k->cfg.token_file);
    free(k->token);
    k->token = data;
    k->token_mtime = st.st_mtim;
}

/* A new "Authorization: Bearer ..." header line, or NULL without a token. */
static char *auth_header(struct kube *k, bool force)
{
    char *h = NULL;
    pthread_mutex_lock(&k->token_lock);
    token_refresh(k, force);
    if (k->token && *k->token) {
        size_t n = strlen(k->token) + 32;
        h = mem_alloc(n);
        snprintf(h, n, "Authorization: Bearer %s", k->token);
    }
    pthread_mutex_unlock(&k->token_lock);
    return h;
}

/* ---- rate ---- */

/* Take one token; sleep when the bucket is empty (reservations: every
 * caller waits its turn, none starves). */
static void throttle(struct kube *k)
{
    pthread_mutex_lock(&k->rate_lock);
    double now = clock_mono_s();
    k->tokens += (now - k->last) * k->o.qps;
    if (k->tokens > k->o.burst)
        k->tokens = k->o.burst;
    k->last = now;
    k->tokens -= 1;
    double wait = k->tokens < 0 ? -k->tokens / k->o.qps : 0;
    pthread_mutex_unlock(&k->rate_lock);
    if (wait > 0) {
        atomic_fetch_add(&k->throttled_ms, (unsigned long)(wait * 1000));
        clock_sleep_s(wait);
    }
}

bool kube_spare(struct kube *k, double fraction)
{
    pthread_mutex_lock(&k->rate_lock);
    double now = clock_mono_s();
    k->tokens += (now - k->last) * k->o.qps;
    if (k->tokens > k->o.burst)
        k->tokens = k->o.burst;
    k->last = now;
    bool spare = k->tokens >= fraction * k->o.burst;
    pthread_mutex_unlock(&k->rate_lock);
    return spare;
}

/* ---- handles ---- */

static struct conn *conn_new(struct kube *k)
{
    struct conn *c = mem_zalloc(sizeof *c);
    const struct kubeconfig *g = &k->cfg;
    c->h = mem_check(curl_easy_init(), "curl_easy_init");
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     k->o.timeout_ms < 10000 ? k->o.timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vgpu-scheduler");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (g->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (g->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, g->ca_file);
    if (g->ca_data) {
        struct curl_blob b = {g->ca_data, g->ca_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    }
    if (g->cert_file)
        curl_easy_setopt(h, CURLOPT_SSLCERT, g->cert_file);
    if (g->cert_data) {
        struct curl_blob b = {g->cert_data, g->cert_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
    }
    if (g->key_file)
        curl_easy_setopt(h, CURLOPT_SSLKEY, g->key_file);
    if (g->key_data) {
        struct curl_blob b = {g->key_data, g->key_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
    }
    if (g->cert_file || g->cert_data) {
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    return c;
}

static void conn_free(struct conn *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    free(c);
}

static struct conn *conn_get(struct kube *k)
{
    struct conn *c = NULL;
    pthread_mutex_lock(&k->pool_lock);
    if (k->nidle > 0)
        c = k->idle[--k->nidle];
    pthread_mutex_unlock(&k->pool_lock);
    if (!c)
        c = conn_new(k);
    c->errbuf[0] = '\0';
    return c;
}

static void conn_put(struct kube *k, struct conn *c)
{
    pthread_mutex_lock(&k->pool_lock);
    if (k->nidle < KUBE_POOL_MAX) {
        k->idle[k->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&k->pool_lock);
    conn_free(c);
}

/* ---- create ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_blob(const char *p, size_t n)
{
    if (!p)
        return NULL;
    char *s = mem_alloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static int readable(const char *path, const char *what, char *err, size_t cap)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (path && !f) {
        snprintf(err, cap, "%s %s cannot be read", what, path);
        return ERR_INVAL;
    }
    if (f)
        fclose(f);
    return 0;
}

int kube_create(const struct kubeconfig *cfg, const struct kube_options *o, struct kube **out,
                char *err, size_t cap)
{
    int rc;
    *out = NULL;
    if (!cfg->server || o->qps <= 0 || o->burst < 1 || o->timeout_ms <= 0) {
        snprintf(err, cap, "API client: no server, or qps/burst/timeout not positive");
        return ERR_INVAL;
    }
    if ((rc = readable(cfg->ca_file, "certificate-authority", err, cap)) ||
        (rc = readable(cfg->cert_file, "client-certificate", err, cap)) ||
        (rc = readable(cfg->key_file, "client-key", err, cap)))
        return rc;
    char warning[512];
    for (int i = 0; kubeconfig_warning(cfg, i, warning, sizeof warning); i++)
        LOG_WARN("%s", warning);
    pthread_once(&curl_once, curl_init);
    struct kube *k = mem_zalloc(sizeof *k);
    k->cfg = (struct kubeconfig){
        .server = mem_strdup(cfg->server),
        .ca_file = mem_strdup(cfg->ca_file),
        .ca_data = dup_blob(cfg->ca_data, cfg->ca_len),
        .ca_len = cfg->ca_len,
        .insecure = cfg->insecure,
        .token = mem_strdup(cfg->token),
        .token_file = mem_strdup(cfg->token_file),
        .cert_file = mem_strdup(cfg->cert_file),
        .key_file = mem_strdup(cfg->key_file),
        .cert_data = dup_blob(cfg->cert_data, cfg->cert_len),
        .cert_len = cfg->cert_len,
        .key_data = dup_blob(cfg->key_data, cfg->key_len),
        .key_len = cfg->key_len,
        .ns = mem_strdup(cfg->ns ? cfg->ns : "default"),
        .source = mem_strdup(cfg->source),
    };
    k->o = *o;
    pthread_mutex_init(&k->pool_lock, NULL);
    pthread_mutex_init(&k->rate_lock, NULL);
    pthread_mutex_init(&k->token_lock, NULL);
    k->tokens = o->burst;
    k->last = clock_mono_s();
    k->token = mem_strdup(cfg->token);
    if (k->cfg.token_file) {
        free(k->token);
        k->token = NULL;
        pthread_mutex_lock(&k->token_lock);
        token_refresh(k, true);
        pthread_mutex_unlock(&k->token_lock);
        if (!k->token) {
            snprintf(err, cap, "token file %s cannot be read", k->cfg.token_file);
            kube_destroy(k);
            return ERR_INVAL;
        }
    }
    *out = k;
    return 0;
}

void kube_destroy(struct kube *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->nidle; i++)
        conn_free(k->idle[i]);
    free(k->token);
    kubeconfig_free(&k->cfg);
    pthread_mutex_destroy(&k->pool_lock);
    pthread_mutex_destroy(&k->rate_lock);
    pthread_mutex_destroy(&k->token_lock);
    free(k);
}

const char *kube_server(const struct kube *k)
{
    return k->cfg.server;
}

void kube_stats(struct kube *k, struct kube_stats *out)
{
    out->requests = atomic_load(&k->requests);
    out->retries = atomic_load(&k->retries);
    out->failures = atomic_load(&k->failures);
    out->throttled_ms = atomic_load(&k->throttled_ms);
}

/* ---- answers ---- */

/* Copy at most cap-1 bytes of s, control characters as spaces. */
static void copy_clean(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap && s[i]; i++)
        dst[k++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    dst[k] = '\0';
}

/* Fill reason and message from a Status body, else from the body's start. */
static void read_status(struct kube_resp *r)
{
    if (!r->body || r->status / 100 == 2)
        return;
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kind"));
    if (kind && strcmp(kind, "Status") == 0) {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
        const char *rs = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "reason"));
        if (m)
            copy_clean(r->message, sizeof r->message, m, strlen(m));
        if (rs)
            copy_clean(r->reason, sizeof r->reason, rs, strlen(rs));
    } else {
        copy_clean(r->message, sizeof r->message, r->body, r->len < 200 ? r->len : 200);
    }
    cJSON_Delete(j);
}

static int status_rc(long status)
{
    if (status / 100 == 2)
        return 0;
    if (status == 404)
        return ERR_NOTFOUND;
    if (status == 409)
        return ERR_CONFLICT;
    return ERR_PROTO;
}

static int curl_rc(CURLcode cc, const struct conn *c, bool toobig, struct kube_resp *r)
{
    if (toobig) {
        snprintf(r->message, sizeof r->message, "response body over %ld bytes", KUBE_BODY_MAX);
        return ERR_TOOBIG;
    }
    snprintf(r->message, sizeof r->message, "%s%s%s", curl_easy_strerror(cc),
             c->errbuf[0] ? ": " : "", c->errbuf);
    return cc == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : ERR_IO;
}

void kube_describe(const struct kube_resp *r, int rc, const char *what, char *buf, size_t cap)
{
    if (r->status)
        snprintf(buf, cap, "%s: HTTP %ld%s%s%s%s", what, r->status, r->reason[0] ? " " : "",
                 r->reason, r->message[0] ? ": " : "", r->message);
    else
        snprintf(buf, cap, "%s: %s%s%s", what, err_name(rc), r->message[0] ? ": " : "", r->message);
}

/* ---- one request ---- */

/* Where an answer's body goes: whole into b, or a 2xx body to fn in pieces
 * as it arrives (then b keeps only a non-2xx body). */
struct sink {
    struct dbuf b;
    CURL *h;
    kube_chunk_fn fn; /* NULL: all into b */
    void *ctx;
    long status;
    int fn_rc; /* fn's non-zero answer, which ended the transfer */
    bool fed;  /* fn was given bytes: the request cannot be retried */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t total = size * n;
    if (s->fn && s->status == 0)
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (!s->fn || s->status / 100 != 2)
        return dbuf_add(&s->b, p, total) == 0 ? total : 0;
    s->fed = true;
    s->fn_rc = s->fn(s->ctx, p, total);
    return s->fn_rc == 0 ? total : 0;
}

static struct curl_slist *headers(struct kube *k, const char *content_type, bool force_token)
{
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    char *auth = auth_header(k, force_token), line[160];
    if (auth)
        h = curl_slist_append(h, auth);
    free(auth);
    if (content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    return h;
}

static int url_of(struct kube *k, const char *path, char *url, size_t cap)
{
    if (strlen(path) > KUBE_PATH_MAX || path[0] != '/')
        return ERR_TOOBIG;
    snprintf(url, cap, "%s%s", k->cfg.server, path);
    return 0;
}

static int attempt(struct kube *k, const char *method, const char *path, const char *content_type,
                   const char *body, bool force_token, struct sink *sk, struct kube_resp *r)
{
    char url[KUBE_PATH_MAX + 512];
    struct conn *c = NULL;
    struct curl_slist *hs = NULL;
    int rc = url_of(k, path, url, sizeof url);
    if (rc) {
        snprintf(r->message, sizeof r->message, "request path too long");
        return rc;
    }
    throttle(k);
    atomic_fetch_add(&k->requests, 1);
    c = conn_get(k);
    hs = headers(k, body ? content_type : NULL, force_token);
    CURL *h = c->h;
    sk->h = h;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->o.timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sk);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        r->body = sk->b.data;
        r->len = sk->b.len;
        sk->b.data = NULL;
        read_status(r);
        rc = status_rc(r->status);
    } else if (sk->fn_rc) {
        rc = sk->fn_rc; /* the caller ended it */
        r->status = sk->status;
    } else {
        rc = curl_rc(cc, c, sk->b.toobig, r);
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (cc == CURLE_OK || !sk->fed)
        conn_put(k, c);
    else
        conn_free(c); /* a body cut short leaves its connection unusable */
    curl_slist_free_all(hs);
    free(sk->b.data);
    sk->b = (struct dbuf){.max = KUBE_BODY_MAX};
    return rc;
}

static bool retryable(int rc, long status)
{
    if (status == 0)
        return rc == ERR_IO;
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* kube_call, or with fn a GET whose 2xx body goes to fn in pieces. */
static int call(struct kube *k, const char *method, const char *path, const char *content_type,
                const char *body, kube_chunk_fn fn, void *ctx, struct kube_resp *r)
{
    struct sink sk = {.b = {.max = KUBE_BODY_MAX}, .fn = fn, .ctx = ctx};
    int rc = 0;
    bool reauth = false;
    memset(r, 0, sizeof *r);
    for (int i = 0; i <= KUBE_RETRIES; i++) {
        if (i > 0) {
            atomic_fetch_add(&k->retries, 1);
            clock_sleep_s(0.05 * (double)(1 << (i - 1)) * (1.0 + (double)(rand() % 500) / 1000.0));
        }
        kube_resp_free(r);
        sk.status = 0;
        sk.fn_rc = 0;
        rc = attempt(k, method, path, content_type, body, reauth, &sk, r);
        if (rc == 0)
            return 0;
        if (sk.fed || sk.fn_rc)
            break; /* fn has seen part of a body: the caller decides */
        if (r->status == 401 && k->cfg.token_file && !reauth) {
            reauth = true; /* the token may have rotated under us */
            i--;
            continue;
        }
        if (!retryable(rc, r->status))
            break;
    }
    atomic_fetch_add(&k->failures, 1);
    return rc;
}

int kube_call(struct kube *k, const char *method, const char *path, const char *content_type,
              const char *body, struct kube_resp *r)
{
    return call(k, method, path, content_type, body, NULL, NULL, r);
}

int kube_get_chunks(struct kube *k, const char *path, kube_chunk_fn fn, void *ctx,
                    struct kube_resp *r)
{
    return call(k, "GET", path, NULL, NULL, fn, ctx, r);
}

/* ---- streams ---- */

int kube_lines_feed(struct kube_lines *l, const char *p, size_t n, kube_line_fn fn, void *ctx)
{
    size_t max = l->max ? l->max : (size_t)KUBE_LINE_MAX;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(p + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (p + i)) : n - i;
        if (l->len + take > max)
            return ERR_TOOBIG;
        if (l->len + take + 1 > l->cap) {
            size_t c = l->cap ? l->cap : 4096;
            while (c < l->len + take + 1)
                c *= 2;
            l->data = mem_realloc(l->data, c);
            l->cap = c;
        }
        memcpy(l->data + l->len, p + i, take);
        l->len += take;
        l->data[l->len] = '\0';
        i += take;
        if (!nl)
            break;
        i++; /* the newline */
        size_t len = l->len;
        l->len = 0;
        if (len > 0 && fn(ctx, l->data, len) != 0)
            return 1;
        l->data[0] = '\0';
    }
    return 0;
}

void kube_lines_free(struct kube_lines *l)
{
    if (!l)
        return;
    free(l->data);
    memset(l, 0, sizeof *l);
}

struct stream {
    CURL *h;
    struct kube_lines line; /* the line being received */
    struct dbuf err;        /* a non-2xx body */
    long status;
    kube_line_fn fn;
    void *ctx;
    const atomic_bool *stop;
    bool ended; /* fn asked to end */
    bool toobig;
};

static size_t on_stream(char *p, size_t size, size_t n, void *ud)
{
    struct stream *s = ud;
    size_t total = size * n;
    if (s->status == 0)
        curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->status / 100 != 2)
        return dbuf_add(&s->err, p, total) == 0 ? total : 0;
    int rc = kube_lines_feed(&s->line, p, total, s->fn, s->ctx);
    if (rc == ERR_TOOBIG)
        s->toobig = true;
    else if (rc != 0)
        s->ended = true;
    return rc == 0 ? total : 0;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct stream *s = ud;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return s->stop && atomic_load(s->stop) ? 1 : 0;
}

int kube_stream(struct kube *k, const char *path, kube_line_fn fn, void *ctx,
                const atomic_bool *stop, long max_ms, struct kube_resp *r)
{
    char url[KUBE_PATH_MAX + 512];
    struct stream s = {.line = {.max = KUBE_LINE_MAX},
                       .err = {.max = KUBE_BODY_MAX},
                       .fn = fn,
                       .ctx = ctx,
                       .stop = stop};
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = url_of(k, path, url, sizeof url)) != 0) {
        snprintf(r->message, sizeof r->message, "request path too long");
        return rc;
    }
    throttle(k);
    atomic_fetch_add(&k->requests, 1);
    struct conn *c = conn_get(k);
    struct curl_slist *hs = headers(k, NULL, false);
    s.h = c->h;
    curl_easy_setopt(s.h, CURLOPT_URL, url);
    curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(s.h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(s.h, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(s.h, CURLOPT_TIMEOUT_MS, max_ms);
    curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(s.h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(s.h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(s.h, CURLOPT_XFERINFODATA, &s);
    CURLcode cc = curl_easy_perform(s.h);
    r->status = s.status;
    if (s.status == 0)
        curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status && r->status / 100 != 2) {
        r->body = s.err.data;
        r->len = s.err.len;
        s.err.data = NULL;
        read_status(r);
        rc = status_rc(r->status);
    } else if (cc == CURLE_OK || s.ended || (cc == CURLE_ABORTED_BY_CALLBACK)) {
        rc = 0;
    } else if (s.toobig) {
        snprintf(r->message, sizeof r->message, "a stream line over %ld bytes", KUBE_LINE_MAX);
        rc = ERR_TOOBIG;
    } else {
        rc = curl_rc(cc, c, false, r);
    }
    curl_easy_setopt(s.h, CURLOPT_NOPROGRESS, 1L);
    curl_easy_setopt(s.h, CURLOPT_XFERINFOFUNCTION, NULL);
    curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, NULL);
    /* A stream cut short leaves its connection unusable: do not pool it. */
    if (cc == CURLE_OK)
        conn_put(k, c);
    else
        conn_free(c);
    curl_slist_free_all(hs);
    kube_lines_free(&s.line);
    free(s.err.data);
    if (rc)
        atomic_fetch_add(&k->failures, 1);
    return rc;
}

int kube_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (k + (plain ? 1 : 3) >= cap) {
            if (cap)
                out[0] = '\0';
            return ERR_TOOBIG;
        }
        if (plain) {
            out[k++] = (char)ch;
        } else {
            out[k++] = '%';
            out[k++] = hex[ch >> 4];
            out[k++] = hex[ch & 15];
        }
    }
    out[k] = '\0';
    return 0;
}

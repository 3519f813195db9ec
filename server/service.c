#include "base/clock.h"
#include "server/service.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <time.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/device.h"
#include "policy/workload.h"
#include "server/devconfig.h"
#include "server/extender.h"
#include "server/hamimetrics.h"
#include "server/http.h"
#include "server/live.h"
#include "server/metrics.h"
#include "server/tls.h"
#include "server/ui.h"
#include "server/verdicts.h"
#include "webhook/pod.h"
#include "webhook/webhook.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define WEBHOOK_THREADS      2  /* admission reviews are short: no lock waits, no I/O */
#define FD_SPARE             64 /* open files besides the listeners' connections */
#define EXPIRE_EVERY_S       1  /* reservations and bind windows are expired this often */

#define RELOAD_POLL_MS 1000 /* the device config file is looked at this often */

struct service {
    struct config cfg;
    /* HAMi's device configuration in effect: read at start, swapped by a
     * reload (reload_devconfig) under dev_mu, which /inspect takes to show
     * it. Lock order: dev_mu, then nothing (the swap into place and webhook
     * happens before it is taken). */
    struct devconfig dev;
    pthread_mutex_t dev_mu;
    struct stat dev_file; /* the file's identity at the last read (st_ino 0: none) */
    atomic_ulong reloads, reload_failures;
    struct metrics *metrics;
    struct http_server *http;
    struct http_server *metrics_http; /* NULL unless --metrics-bind-address */
    struct http_server *webhook_http; /* NULL unless --webhook-bind */
    struct cache *cache;
    struct place *place;
    struct extender *ext;
    struct webhook *webhook;
    struct live *live;         /* the API server source; NULL with --snapshot */
    struct verdicts *verdicts; /* the last filter verdicts, for the web view */
    struct ui *ui;             /* NULL with --web-ui=off */
    atomic_bool ready;
    sigset_t stop_signals;
    /* The expiry timer: off the request path (filter expires only when it
     * finds expiry due, cache_due). */
    pthread_t expirer;
    bool expiring;
    pthread_mutex_t expire_mu;
    pthread_cond_t expire_cv;
    bool expire_stop; /* under expire_mu */
};

/* Expire reservations and bind windows every EXPIRE_EVERY_S until told to
 * stop. Takes the cache's write lock, nothing else while holding it. */
static void *expire_loop(void *arg)
{
    struct service *s = arg;
    pthread_mutex_lock(&s->expire_mu);
    while (!s->expire_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += EXPIRE_EVERY_S;
        pthread_cond_timedwait(&s->expire_cv, &s->expire_mu, &until);
        if (s->expire_stop)
            break;
        pthread_mutex_unlock(&s->expire_mu);
        cache_expire(s->cache, clock_wall_s());
        pthread_mutex_lock(&s->expire_mu);
    }
    pthread_mutex_unlock(&s->expire_mu);
    return NULL;
}

static void expirer_start(struct service *s)
{
    s->expire_stop = false;
    s->expiring = pthread_create(&s->expirer, NULL, expire_loop, s) == 0;
    if (!s->expiring)
        LOG_WARN("cannot start the expiry timer: reservations expire only at filter");
}

static void expirer_stop(struct service *s)
{
    if (!s->expiring)
        return;
    pthread_mutex_lock(&s->expire_mu);
    s->expire_stop = true;
    pthread_cond_signal(&s->expire_cv);
    pthread_mutex_unlock(&s->expire_mu);
    pthread_join(s->expirer, NULL);
    s->expiring = false;
}

static int on_healthz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    return buf_puts(&resp->body, "ok");
}

static int on_readyz(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct service *s = ctx;
    (void)req;
    if (atomic_load(&s->ready) && cache_ready(s->cache))
        return buf_puts(&resp->body, "ready");
    resp->status = 503;
    return buf_puts(&resp->body, "not ready");
}

/* What the tables that grow with the pods they see hold, each with its
 * bound (issue 21): pods the cache counts, reservations waiting for their
 * bind, pods on nodes not known yet, pending pod specs kept for bind, the
 * verdict memos, the pods recently counted by the learner. */
static void table_gauges(struct service *s, struct buf *out)
{
    struct cache_stats cs;
    struct place_stats ps;
    cache_stats(s->cache, &cs);
    place_stats(s->place, &ps);
    buf_printf(out,
               "# HELP vgpu_scheduler_table_entries Entries held by the service's tables "
               "(pods counted, reservations, pods on unknown nodes, pending pod specs).\n"
               "# TYPE vgpu_scheduler_table_entries gauge\n"
               "vgpu_scheduler_table_entries{table=\"pods\"} %zu\n"
               "vgpu_scheduler_table_entries{table=\"reservations\"} %zu\n"
               "vgpu_scheduler_table_entries{table=\"orphans\"} %zu\n"
               "vgpu_scheduler_table_entries{table=\"pending\"} %zu\n"
               "# HELP vgpu_scheduler_table_bytes Bytes held by the service's tables: pod "
               "records (reservations and orphans among them), pending pod specs, verdict "
               "memos (a slot per node per kind of pod seen per thread), the learner's recent "
               "pods, its workload, the events ring (live source).\n"
               "# TYPE vgpu_scheduler_table_bytes gauge\n"
               "vgpu_scheduler_table_bytes{table=\"pods\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"reservations\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"orphans\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"pending\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"memo\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"seen\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"workload\"} %zu\n"
               "vgpu_scheduler_table_bytes{table=\"events\"} %zu\n"
               "# HELP vgpu_scheduler_table_bytes_max The bound of a table's bytes now (each "
               "follows the node count; the pending store's may be set, --pending-store-kib).\n"
               "# TYPE vgpu_scheduler_table_bytes_max gauge\n"
               "vgpu_scheduler_table_bytes_max{table=\"pending\"} %zu\n"
               "vgpu_scheduler_table_bytes_max{table=\"reservations\"} %zu\n"
               "# HELP vgpu_scheduler_reservation_evictions_total Reservations not bound yet "
               "evicted, oldest first, to make room; a bind of such a pod fits it again.\n"
               "# TYPE vgpu_scheduler_reservation_evictions_total counter\n"
               "vgpu_scheduler_reservation_evictions_total %zu\n"
               "# HELP vgpu_scheduler_pending_evictions_total Pending pod specs evicted, oldest "
               "first, to make room; a bind that needed one fails with a message saying so.\n"
               "# TYPE vgpu_scheduler_pending_evictions_total counter\n"
               "vgpu_scheduler_pending_evictions_total %zu\n",
               cs.pods, cs.reservations, cs.orphans, cs.pending, cs.pods_bytes,
               cs.reservations_bytes, cs.orphans_bytes, cs.pending_bytes, ps.memo_bytes,
               ps.seen_bytes, ps.workload_bytes, live_events_bytes(s->live), cs.pending_bytes_max,
               cs.reservations_bytes_max, cs.reservations_evicted, cs.pending_evicted);
}

/* How long writes to the cache waited for its lock (issue 21: the watch's
 * updates must not starve behind filters' reads), per writer. */
static void lock_gauges(struct service *s, struct buf *out)
{
    static const double bounds[] = CACHE_WAIT_BOUNDS;
    struct cache_wait w[CACHE_WRITERS];
    for (int i = 0; i < CACHE_WRITERS; i++)
        cache_write_wait(s->cache, (enum cache_writer)i, &w[i]);
    buf_puts(out, "# HELP vgpu_scheduler_cache_write_wait_seconds_max The longest a write to the "
                  "cache waited for its lock since start, by writer (source: the watch's or "
                  "snapshot's updates; placement: reservations, commits, expiry).\n"
                  "# TYPE vgpu_scheduler_cache_write_wait_seconds_max gauge\n");
    for (int i = 0; i < CACHE_WRITERS; i++)
        buf_printf(out, "vgpu_scheduler_cache_write_wait_seconds_max{writer=\"%s\"} %.9f\n",
                   cache_writer_name((enum cache_writer)i), w[i].max_s);
    buf_puts(out, "# HELP vgpu_scheduler_cache_write_wait_seconds Time writes to the cache waited "
                  "for its lock, by writer (a write that found it free counts 0).\n"
                  "# TYPE vgpu_scheduler_cache_write_wait_seconds histogram\n");
    for (int i = 0; i < CACHE_WRITERS; i++) {
        const char *name = cache_writer_name((enum cache_writer)i);
        unsigned long long sum = 0;
        for (int b = 0; b < CACHE_WAIT_BUCKETS; b++) {
            sum += w[i].bucket[b];
            if (b < CACHE_WAIT_BUCKETS - 1)
                buf_printf(out,
                           "vgpu_scheduler_cache_write_wait_seconds_bucket{writer=\"%s\","
                           "le=\"%g\"} %llu\n",
                           name, bounds[b], sum);
        }
        buf_printf(out,
                   "vgpu_scheduler_cache_write_wait_seconds_bucket{writer=\"%s\",le=\"+Inf\"} "
                   "%llu\n"
                   "vgpu_scheduler_cache_write_wait_seconds_sum{writer=\"%s\"} %.9f\n"
                   "vgpu_scheduler_cache_write_wait_seconds_count{writer=\"%s\"} %llu\n",
                   name, sum, name, w[i].sum_s, name, w[i].count);
    }
}

/* The families after HAMi's: the workload gauge, reloads, the tables,
 * leadership, then TLS. */
static void tail_metrics(struct service *s, struct buf *out)
{
    buf_printf(out,
               "# HELP vgpu_scheduler_workload_shapes Request shapes in the workload "
               "fragment-aware measures against (0 until the first is learned or seeded).\n"
               "# TYPE vgpu_scheduler_workload_shapes gauge\n"
               "vgpu_scheduler_workload_shapes %zu\n",
               place_workload_shapes(s->place));
    buf_printf(out,
               "# HELP vgpu_scheduler_config_reloads_total Device config reloads (SIGHUP, or "
               "the --device-config-file changed), by result; a failed one keeps the config "
               "in effect.\n"
               "# TYPE vgpu_scheduler_config_reloads_total counter\n"
               "vgpu_scheduler_config_reloads_total{result=\"ok\"} %lu\n"
               "vgpu_scheduler_config_reloads_total{result=\"failed\"} %lu\n",
               atomic_load(&s->reloads), atomic_load(&s->reload_failures));
    table_gauges(s, out);
    live_render_metrics(s->live, out);
    tls_store_render_metrics(http_server_tls(s->http), out);
}

/* A /metrics answer, streamed (http_stream) in pieces of about
 * SCRAPE_PIECE bytes: at 5,000 nodes the page is ~90 MB, and built whole
 * it took the service from 33 to 119 MiB resident while it was made and
 * sent. Parts: the metrics module's own families and the cache's write
 * waits (first: this scrape's own reads of the cache come after), HAMi's
 * families a few nodes at a time, then the rest. */
#define SCRAPE_PIECE (128u << 10)

enum scrape_part { SCRAPE_HEAD, SCRAPE_HAMI, SCRAPE_TAIL };

struct scrape {
    struct service *s;
    enum scrape_part part;
    struct hamimetrics_cursor *hami; /* opened at its first piece */
};

static int scrape_next(void *state, struct buf *out)
{
    struct scrape *sc = state;
    struct service *s = sc->s;
    switch (sc->part) {
    case SCRAPE_HEAD:
        metrics_render(s->metrics, out, NULL, NULL);
        lock_gauges(s, out);
        sc->part = SCRAPE_HAMI;
        return 0;
    case SCRAPE_HAMI:
        if (sc->hami == NULL)
            sc->hami = hamimetrics_open(s->cache, s->cfg.legacy_metrics);
        if (hamimetrics_next(sc->hami, out, SCRAPE_PIECE))
            sc->part = SCRAPE_TAIL;
        return 0;
    case SCRAPE_TAIL:
        break;
    }
    tail_metrics(s, out);
    return 1;
}

static void scrape_done(void *state)
{
    struct scrape *sc = state;
    hamimetrics_close(sc->hami);
    free(sc);
}

static int on_metrics(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct scrape *sc = mem_zalloc(sizeof *sc);
    (void)req;
    sc->s = ctx;
    resp->content_type = METRICS_CONTENT_TYPE;
    resp->stream = (struct http_stream){scrape_next, scrape_done, sc};
    return 0;
}

/* /inspect's "workload": the shapes fragment-aware measures against, as
 * the scheduler reads them (MiB after memoryFactor), heaviest first; []
 * before the learner's first copy. */
static cJSON *workload_json(struct place *pl)
{
    struct workload_item *it = mem_alloc(sizeof *it * WORKLOAD_MAX_SHAPES);
    int n = place_workload_items(pl, it, WORKLOAD_MAX_SHAPES);
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        const struct workload_shape *sh = &it[i].s;
        const struct policy_device_backend *b =
            sh->backend ? sh->backend : policy_device_backend_default();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "share", it[i].share);
        cJSON_AddBoolToObject(o, "prior", it[i].prior);
        cJSON_AddStringToObject(o, "vendor", sh->nums ? b->name : "");
        cJSON_AddNumberToObject(o, "gpus", sh->nums);
        cJSON_AddNumberToObject(o, "gpuMemMiB", sh->mem);
        cJSON_AddNumberToObject(o, "gpuMemPercent", sh->mem_pct);
        cJSON_AddNumberToObject(o, "gpuCores", sh->cores);
        cJSON_AddNumberToObject(o, "cpuMilli", (double)sh->cpu_milli);
        cJSON_AddNumberToObject(o, "memoryMiB", (double)sh->mem_mib);
        cJSON_AddStringToObject(o, "models", sh->models);
        cJSON_AddNumberToObject(o, "pressure", it[i].press);
        cJSON_AddNumberToObject(o, "hostLossGPUs", it[i].loss);
        cJSON_AddItemToArray(a, o);
    }
    free(it);
    return a;
}

/* GET /workload: the workload as a --workload-file (place_workload_file),
 * to seed a restart on an empty cluster or another cluster with it. */
static int on_workload(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct service *s = ctx;
    int skipped;
    (void)req;
    resp->content_type = "application/json";
    int rc = place_workload_file(s->place, &resp->body, &skipped);
    if (rc == 0 && skipped)
        LOG_WARN("/workload left out %d shapes that today's resource names or memory factor "
                 "cannot say (the device config changed since they were seen)",
                 skipped);
    return rc;
}

static int on_inspect(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct service *s = ctx;
    (void)req;
    double now = clock_wall_s();
    cache_expire(s->cache, now);
    cJSON *j = cache_inspect(s->cache, now);
    pthread_mutex_lock(&s->dev_mu);
    cJSON_AddItemToObject(j, "deviceConfig", devconfig_json(&s->dev));
    pthread_mutex_unlock(&s->dev_mu);
    cJSON_AddItemToObject(j, "leadership", live_inspect(s->live, now));
    cJSON_AddItemToObject(j, "workload", workload_json(s->place));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    resp->content_type = "application/json";
    int rc = text ? buf_puts(&resp->body, text) : ERR_TOOBIG;
    cJSON_free(text);
    return rc;
}

typedef int (*verb_fn)(struct extender *, const char *, size_t, double, struct buf *);

/* Run an extender verb; a body that is not a request at all is a 400. */
static int run_verb(struct service *s, verb_fn fn, const struct http_request *req,
                    struct http_response *resp)
{
    resp->content_type = "application/json";
    arena_open(); /* the verb's JSON lives until its answer is written */
    int rc = fn(s->ext, req->body, req->body_len, clock_wall_s(), &resp->body);
    arena_close();
    if (rc == ERR_INVAL) {
        resp->status = 400;
        resp->content_type = "text/plain; charset=utf-8";
        rc = 0;
    }
    return rc;
}

static int on_filter(void *ctx, const struct http_request *req, struct http_response *resp)
{
    return run_verb(ctx, extender_filter, req, resp);
}

static int on_prioritize(void *ctx, const struct http_request *req, struct http_response *resp)
{
    return run_verb(ctx, extender_prioritize, req, resp);
}

static int on_bind(void *ctx, const struct http_request *req, struct http_response *resp)
{
    return run_verb(ctx, extender_bind, req, resp);
}

static int on_preempt(void *ctx, const struct http_request *req, struct http_response *resp)
{
    return run_verb(ctx, extender_preempt, req, resp);
}

/* The watch saw a preemptor nominated to a node (live_set_nominated). */
static void on_nominated(void *ctx, const cJSON *pod, const char *node)
{
    struct service *s = ctx;
    extender_nominated(s->ext, pod, node, clock_wall_s());
}

/* The admission review: 200 with a review, or 400 for a body that is not
 * one (webhook.h says why). */
static int on_webhook(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct service *s = ctx;
    enum webhook_result res;
    char *out = NULL;
    resp->status = webhook_review_handle(s->webhook, req->body, req->body_len, &out, &res);
    resp->content_type = resp->status == 200 ? "application/json" : "text/plain; charset=utf-8";
    if (res == WEBHOOK_DENIED)
        metrics_error(s->metrics, "webhook_denied");
    else if (res == WEBHOOK_BAD_REQUEST)
        metrics_error(s->metrics, "webhook_bad_review");
    int rc = buf_puts(&resp->body, out);
    free(out);
    return rc;
}

/* Every route of the service. */
static int add_routes(struct service *s)
{
    static const struct {
        const char *method, *path;
        size_t body_max;
        http_handler fn;
        bool client_cert; /* needs a client certificate when --client-ca-file is set */
        bool webhook;     /* on --webhook-bind when it is set, and then not on the main port */
        bool probe;       /* on --webhook-bind too: the kubelet's probes reach that port */
        bool offload;     /* waits on the API server and node locks: on --bind-threads */
    } routes[] = {
        {"GET", "/healthz", 0, on_healthz, false, false, true},
        {"GET", "/readyz", 0, on_readyz, false, false, true},
        {"GET", "/metrics", 0, on_metrics, true},
        {"GET", "/inspect", 0, on_inspect, true},
        {"GET", "/workload", 0, on_workload, true},
        {"POST", "/filter", HTTP_BODY_MAX_EXTENDER, on_filter, true},
        {"POST", "/prioritize", HTTP_BODY_MAX_EXTENDER, on_prioritize, true},
        {"POST", "/bind", HTTP_BODY_MAX_EXTENDER, on_bind, true, false, false, true},
        {"POST", "/preempt", HTTP_BODY_MAX_EXTENDER, on_preempt, true},
        {"POST", "/webhook", HTTP_BODY_MAX_WEBHOOK, on_webhook, false, true},
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof routes[0]; i++) {
        if (s->webhook_http && (routes[i].webhook || routes[i].probe))
            rc = http_route_add(s->webhook_http, routes[i].method, routes[i].path,
                                routes[i].body_max, routes[i].fn, s);
        if (rc || (s->webhook_http && routes[i].webhook))
            continue;
        rc = http_route_add(s->http, routes[i].method, routes[i].path, routes[i].body_max,
                            routes[i].fn, s);
        if (rc == 0 && routes[i].client_cert)
            rc = http_route_require_client_cert(s->http, routes[i].method, routes[i].path);
        if (rc == 0 && routes[i].offload)
            rc = http_route_offload(s->http, routes[i].method, routes[i].path);
    }
    if (rc == 0 && s->metrics_http)
        rc = http_route_add(s->metrics_http, "GET", "/metrics", 0, on_metrics, s);
    if (rc == 0 && s->ui && s->cfg.web_ui == CONFIG_UI_METRICS)
        rc = ui_add_routes(s->ui, s->metrics_http, false);
    else if (rc == 0 && s->ui)
        rc = ui_add_routes(s->ui, s->http, true); /* /inspect's access rules */
    return rc;
}

/* One listener's options: the limits every listener shares. */
static struct http_options listener(const struct config *c, const char *bind, int threads)
{
    return (struct http_options){.bind = bind,
                                 .threads = threads,
                                 .max_connections = c->max_connections,
                                 .max_per_ip = c->max_per_ip,
                                 .read_timeout_ms = (int)c->read_timeout_ms,
                                 .idle_timeout_s = (int)((c->idle_timeout_ms + 999) / 1000)};
}

/* The main listener (the extender), and the webhook and metrics listeners
 * when asked for. Each has its own threads and connection slots. */
static int create_listeners(struct service *s, const struct config *c, char *err, size_t cap)
{
    struct http_options o = listener(c, c->http_bind, c->threads);
    o.offload_threads = c->bind_threads;
    o.cert_file = c->cert_file;
    o.key_file = c->key_file;
    o.client_ca_file = c->client_ca_file;
    if (http_bind_is_loopback(c->http_bind))
        o.max_per_ip = 0; /* every client has the same address: only the total applies */
    s->http = http_server_create(&o, s->metrics, err, cap);
    if (s->http == NULL)
        return ERR_INVAL;
    if (c->webhook_bind[0]) {
        struct http_options wo = listener(c, c->webhook_bind, WEBHOOK_THREADS);
        wo.cert_file = c->cert_file; /* the same pair; never a client certificate */
        wo.key_file = c->key_file;
        s->webhook_http = http_server_create(&wo, s->metrics, err, cap);
        if (s->webhook_http == NULL)
            return ERR_INVAL;
    }
    if (c->metrics_bind[0]) {
        struct http_options mo = listener(c, c->metrics_bind, 1);
        s->metrics_http = http_server_create(&mo, s->metrics, err, cap);
        if (s->metrics_http == NULL)
            return ERR_INVAL;
    }
    return 0;
}

/* Raise the soft open-files limit to the hard one: every connection is a
 * file, and each listener may hold --max-connections. */
static void raise_fd_limit(const struct config *c)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return;
    rlim_t was = r.rlim_cur;
    r.rlim_cur = r.rlim_max;
    if (was != r.rlim_max && setrlimit(RLIMIT_NOFILE, &r) != 0)
        r.rlim_cur = was;
    int listeners = 1 + (c->webhook_bind[0] != 0) + (c->metrics_bind[0] != 0);
    unsigned long long need =
        (unsigned long long)listeners * (unsigned)c->max_connections + FD_SPARE;
    LOG_INFO("open files: limit %llu (was %llu)", (unsigned long long)r.rlim_cur,
             (unsigned long long)was);
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < need)
        LOG_WARN("open files limit %llu is below the %llu that %d listeners of "
                 "--max-connections=%d may need: accepting pauses at the limit",
                 (unsigned long long)r.rlim_cur, need, listeners, c->max_connections);
}

/* The cluster source: the snapshot file, else the API server (server/live.h). */
static int load_cluster(struct service *s, char *err, size_t cap)
{
    struct snapshot_stats st;
    if (!s->cfg.snapshot[0]) {
        live_register_metrics(s->metrics);
        return live_start(&s->cfg, s->cache, s->metrics, s->place, &s->live, err, cap);
    }
    int rc = snapshot_load(s->cache, s->cfg.snapshot, &st, err, cap); /* an arena per item */
    if (rc)
        return rc;
    LOG_INFO("snapshot %s: %d nodes, %d pods loaded; %d nodes and %d pods left out; %d "
             "disruption budgets",
             s->cfg.snapshot, st.nodes, st.pods, st.skipped_nodes, st.skipped_pods, st.pdbs);
    if (st.quotas || st.skipped_quotas)
        LOG_INFO("snapshot %s: %d resourcequotas loaded, %d left out", s->cfg.snapshot, st.quotas,
                 st.skipped_quotas);
    return 0;
}

/* The device config file's identity now (st_ino 0 when there is none or
 * it cannot be read). stat follows the symlinks a mounted ConfigMap swaps. */
static struct stat file_id(const char *path)
{
    struct stat st;
    if (!path[0] || stat(path, &st) != 0)
        memset(&st, 0, sizeof st);
    return st;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Read the device config again (why: "SIGHUP", "the file changed") and
 * swap what can change while serving: the request defaults (defaultMemory,
 * defaultCores, memoryFactor) and the webhook options (defaultGPUNum,
 * runtimeClassName, gpuCorePolicy). Resource names and Ascend chips
 * change only at a restart. A config that fails keeps the one in effect: logged and
 * counted. Runs on the main thread only. */
static void reload_devconfig(struct service *s, const char *why)
{
    char err[512];
    struct devconfig *d = mem_alloc(sizeof *d); /* ~27 KiB */
    s->dev_file = file_id(s->cfg.device_config_file);
    int rc = devconfig_from_config(&s->cfg, d, err, sizeof err);
    if (rc == 0)
        rc = devconfig_names_running(d, err, sizeof err);
    if (rc == 0)
        rc = devconfig_chips_running(&s->dev, d, err, sizeof err);
    if (rc) {
        atomic_fetch_add(&s->reload_failures, 1);
        LOG_ERROR("device config reload (%s) failed, the config in effect stays: %s", why, err);
        free(d);
        return;
    }
    place_set_defaults(s->place, devconfig_defaults(d));
    webhook_set_options(s->webhook, d->runtime_class, d->core_policy,
                        d->default_gpu ? d->default_gpu : WEBHOOK_NO_DEFAULT_GPU);
    pthread_mutex_lock(&s->dev_mu);
    s->dev = *d;
    pthread_mutex_unlock(&s->dev_mu);
    atomic_fetch_add(&s->reloads, 1);
    char line[LOG_LINE_MAX];
    devconfig_describe(d, line, sizeof line);
    LOG_INFO("device config reloaded (%s): %s", why, line);
    free(d);
}

int service_create(const struct config *c, struct service **out, char *err, size_t cap)
{
    struct place_opts eo;
    char line[LOG_LINE_MAX];
    int rc;
    struct service *s = mem_zalloc(sizeof *s);
    s->cfg = *c;
    pthread_mutex_init(&s->expire_mu, NULL);
    pthread_mutex_init(&s->dev_mu, NULL);
    pthread_cond_init(&s->expire_cv, NULL);
    sigemptyset(&s->stop_signals);
    sigaddset(&s->stop_signals, SIGTERM);
    sigaddset(&s->stop_signals, SIGINT);
    sigaddset(&s->stop_signals, SIGHUP); /* not a stop: a device config reload */
    pthread_sigmask(SIG_BLOCK, &s->stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an error return, not a death */
    raise_fd_limit(c);

    s->metrics = metrics_create();
    extender_register_metrics(s->metrics);
    s->cache = cache_create();
    cache_set_lock_timeout(s->cache, (double)c->node_lock_timeout_ms / 1000.0);
    cache_pending_limits(s->cache, 0, (size_t)c->pending_kib << 10);
    rc = extender_opts_from_config(c, &eo, err, cap);
    if (rc || (rc = devconfig_from_config(c, &s->dev, err, cap)) ||
        (rc = devconfig_apply_names(&s->dev, err, cap))) /* before any thread */
        goto out;
    s->dev_file = file_id(c->device_config_file);
    eo.defaults = devconfig_defaults(&s->dev);
    cache_set_mem_factor(s->cache, s->dev.mem_factor);
    devconfig_describe(&s->dev, line, sizeof line);
    LOG_INFO("%s", line);
    s->place = place_create(s->cache, &eo); /* before the watch: it learns the first list */
    rc = load_cluster(s, err, cap);
    if (rc)
        goto out;
    s->ext = extender_create(s->place, s->live ? live_binder(s->live) : NULL, s->metrics);
    if (s->cfg.web_ui != CONFIG_UI_OFF) {
        s->verdicts = verdicts_create(VERDICTS_MAX);
        extender_set_verdicts(s->ext, s->verdicts);
        s->ui = ui_create(s->cache, s->place, s->ext, s->verdicts);
    }
    live_set_nominated(s->live, on_nominated, s);
    if (c->workload_file[0] && (rc = place_seed_file(s->place, c->workload_file, err, cap)))
        goto out;
    struct webhook_opts wo = {.scheduler_name = c->scheduler_name,
                              .force_overwrite_default = c->force_overwrite_default,
                              .overwrite_env = c->overwrite_env,
                              .trusted_writers = c->trusted_writers,
                              .runtime_class = s->dev.runtime_class,
                              .core_policy = s->dev.core_policy,
                              .default_gpu =
                                  s->dev.default_gpu ? s->dev.default_gpu : WEBHOOK_NO_DEFAULT_GPU};
    s->webhook = webhook_create(&wo, s->cache);
    metrics_reason_add(s->metrics, "webhook_denied");
    metrics_reason_add(s->metrics, "webhook_bad_review");
    rc = create_listeners(s, c, err, cap);
    if (rc)
        goto out;
    rc = add_routes(s);
    if (rc)
        snprintf(err, cap, "cannot register routes: %s", err_name(rc));
out:
    if (rc) {
        service_destroy(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

/* Log "<what> HOST:PORT" with the port actually bound. */
static void log_bound(const char *what, const char *bind, const struct http_server *h)
{
    char host[CONFIG_ADDR_MAX];
    int port;
    http_split_hostport(bind, host, sizeof host, &port);
    LOG_INFO("%s %s%s%s:%d", what, strchr(host, ':') ? "[" : "", host[0] ? host : "*",
             strchr(host, ':') ? "]" : "", http_server_port(h));
}

/* Wait for SIGTERM or SIGINT (returned); meanwhile reload the device
 * config on SIGHUP, and when its file changed (looked at every
 * RELOAD_POLL_MS: a ConfigMap mounted as a directory is updated in place
 * by the kubelet, without a signal). */
static int wait_stop(struct service *s)
{
    for (;;) {
        struct timespec poll = {RELOAD_POLL_MS / 1000, (RELOAD_POLL_MS % 1000) * 1000000L};
        int sig = sigtimedwait(&s->stop_signals, NULL, &poll);
        if (sig == SIGHUP) {
            reload_devconfig(s, "SIGHUP");
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            return SIGTERM; /* fails only for a bad set: then stop at once */
        struct stat now = file_id(s->cfg.device_config_file);
        if (s->cfg.device_config_file[0] && now.st_ino && !same_file(&now, &s->dev_file))
            reload_devconfig(s, "the file changed");
    }
}

int service_run(struct service *s, char *err, size_t cap)
{
    /* No cache yet: ready from the start. The cache will set this once the
     * cluster is loaded. */
    service_set_ready(s, true);
    expirer_start(s);
    int rc = http_server_start(s->http, err, cap);
    if (rc)
        goto out;
    log_bound("listening on", s->cfg.http_bind, s->http);
    if (s->metrics_http) {
        rc = http_server_start(s->metrics_http, err, cap);
        if (rc)
            goto out;
        log_bound("serving /metrics on", s->cfg.metrics_bind, s->metrics_http);
    }
    if (s->webhook_http) {
        rc = http_server_start(s->webhook_http, err, cap);
        if (rc)
            goto out;
        log_bound("serving /webhook on", s->cfg.webhook_bind, s->webhook_http);
    }
    int sig = wait_stop(s);
    LOG_INFO("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    service_set_ready(s, false);
out:
    http_server_stop(s->webhook_http);
    http_server_stop(s->metrics_http);
    http_server_stop(s->http);
    expirer_stop(s);
    if (rc == 0)
        LOG_INFO("stopped");
    return rc;
}

void service_set_ready(struct service *s, bool ready)
{
    atomic_store(&s->ready, ready);
}

void service_destroy(struct service *s)
{
    if (s == NULL)
        return;
    http_server_destroy(s->webhook_http);
    http_server_destroy(s->metrics_http);
    http_server_destroy(s->http);
    live_set_nominated(s->live, NULL, NULL);
    live_stop(s->live); /* no verb runs any more: stop the watch, binder and events */
    webhook_destroy(s->webhook);
    ui_destroy(s->ui);
    extender_destroy(s->ext);
    verdicts_destroy(s->verdicts);
    place_destroy(s->place);
    cache_destroy(s->cache);
    metrics_destroy(s->metrics);
    pthread_cond_destroy(&s->expire_cv);
    pthread_mutex_destroy(&s->expire_mu);
    pthread_mutex_destroy(&s->dev_mu);
    free(s);
}

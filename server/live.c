/* live.c: the API server source, wired. The upkeep starts before the
 * watch that feeds it; the Lease follower starts after the upkeep and the
 * events (it drives their switches) and before the watch (its first
 * verdict is in before the first list); live_stop joins the Lease, the
 * watch, then the upkeep, then the events, before anything they use
 * (client, cache) is freed. */
#include "server/live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/bind.h"
#include "k8s/events.h"
#include "k8s/kube.h"
#include "k8s/kubeconfig.h"
#include "k8s/lease.h"
#include "k8s/upkeep.h"
#include "k8s/watch.h"
#include "place/place.h"

struct live {
    struct kube *kube;
    struct upkeep *upkeep;
    struct watch *watch;
    struct bind *bind;
    struct events *events;
    struct lease *lease; /* NULL: no --leader-elect-lease, always lead */
    struct metrics *metrics;
    struct extender_binder binder;
    char lease_name[320], identity[LEASE_IDENTITY_MAX];
    atomic_bool leading;
    atomic_ulong transitions;
    pthread_mutex_t nom_mu; /* a leaf: guards nom_fn, nom_ctx */
    live_nominated_fn nom_fn;
    void *nom_ctx;
};

/* The watch saw a nomination: hand it to whoever live_set_nominated named. */
static void nominated(void *ctx, const cJSON *pod, const char *node)
{
    struct live *l = ctx;
    pthread_mutex_lock(&l->nom_mu);
    live_nominated_fn fn = l->nom_fn;
    void *fctx = l->nom_ctx;
    pthread_mutex_unlock(&l->nom_mu);
    if (fn)
        fn(fctx, pod, node);
}

void live_set_nominated(struct live *l, live_nominated_fn fn, void *ctx)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->nom_mu);
    l->nom_fn = fn;
    l->nom_ctx = ctx;
    pthread_mutex_unlock(&l->nom_mu);
}

void live_register_metrics(struct metrics *m)
{
    const char *const *lists[] = {watch_reasons(), upkeep_reasons(), bind_reasons(),
                                  events_reasons(), lease_reasons()};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (int k = 0; lists[i][k]; k++)
            metrics_reason_add(m, lists[i][k]);
}

static void count(void *ctx, const char *reason)
{
    struct live *l = ctx;
    if (l->metrics)
        metrics_error(l->metrics, reason);
}

static int bind(void *ctx, const char *ns, const char *name, const char *uid, const char *node,
                const char *devices, const char *mig, long long now, char *err, size_t cap)
{
    struct live *l = ctx;
    return bind_pod(l->bind, ns, name, uid, node, devices, mig, now, err, cap);
}

static void event(void *ctx, const char *ns, const char *name, const char *uid, bool warning,
                  const char *reason, const char *message)
{
    struct live *l = ctx;
    events_post(l->events, ns, name, uid, warning, reason, message);
}

/* The watch's warnings about pods become Warning events on them. */
static void warn(void *ctx, const char *ns, const char *name, const char *uid, const char *reason,
                 const char *message)
{
    struct live *l = ctx;
    events_post_background(l->events, ns, name, uid, true, reason, message);
}

/* The Lease follower's verdict drives every background writer. */
static void lead(void *ctx, bool leading)
{
    struct live *l = ctx;
    upkeep_set_leading(l->upkeep, leading);
    events_set_leading(l->events, leading);
    atomic_store(&l->leading, leading);
    atomic_fetch_add(&l->transitions, 1);
}

/* Follow --leader-elect-lease, standing by until it names us. */
static int follow(struct live *l, const struct config *c, char *err, size_t cap)
{
    char ns[64];
    const char *slash = strchr(c->leader_lease, '/');
    snprintf(l->identity, sizeof l->identity, "%s", c->leader_identity);
    if (!l->identity[0] && gethostname(l->identity, sizeof l->identity - 1) != 0)
        snprintf(l->identity, sizeof l->identity, "vgpu-scheduler");
    snprintf(ns, sizeof ns, "%.*s", (int)(slash - c->leader_lease), c->leader_lease);
    upkeep_set_leading(l->upkeep, false);
    events_set_leading(l->events, false);
    atomic_store(&l->leading, false);
    struct lease_options lo = {.ns = ns,
                               .name = slash + 1,
                               .identity = l->identity,
                               .on_change = lead,
                               .change_ctx = l,
                               .count = count,
                               .count_ctx = l};
    l->lease = lease_start(l->kube, &lo);
    if (!l->lease) {
        snprintf(err, cap, "cannot follow the Lease %s", c->leader_lease);
        return ERR_IO;
    }
    return 0;
}

/* The watch saw a pod bound: the learner counts it. */
static void bound(void *ctx, const cJSON *pod)
{
    place_observe_bound(ctx, pod);
}

int live_start(const struct config *c, struct cache *cache, struct metrics *metrics,
               struct place *learner, struct live **out, char *err, size_t cap)
{
    struct kubeconfig kc = {0};
    struct live *l = mem_zalloc(sizeof *l);
    pthread_mutex_init(&l->nom_mu, NULL);
    int rc;

    *out = NULL;
    l->metrics = metrics;
    atomic_init(&l->leading, true);
    snprintf(l->lease_name, sizeof l->lease_name, "%s", c->leader_lease);
    rc = kubeconfig_resolve(c->kubeconfig, &kc, err, cap);
    if (rc == ERR_NOTFOUND)
        snprintf(err, cap,
                 "no cluster source: give --snapshot FILE, or --kubeconfig FILE (or set "
                 "$KUBECONFIG), or run in a pod");
    if (rc)
        goto out;
    struct kube_options ko = {
        .qps = c->kube_qps, .burst = c->kube_burst, .timeout_ms = (long)c->kube_timeout_ms};
    rc = kube_create(&kc, &ko, &l->kube, err, cap);
    if (rc)
        goto out;
    LOG_INFO("API server %s (%s); %d requests/s, burst %d, timeout %lld ms%s%s",
             kube_server(l->kube), kc.source, c->kube_qps, c->kube_burst,
             (long long)c->kube_timeout_ms, c->node_selector[0] ? "; nodes matching " : "",
             c->node_selector);
    struct events_options eo = {.component = c->scheduler_name, .count = count, .count_ctx = l};
    l->events = events_start(l->kube, &eo);
    if (!l->events) {
        snprintf(err, cap, "cannot start the event thread");
        rc = ERR_IO;
        goto out;
    }
    struct bind_options bo = {
        .lock_timeout = (double)c->node_lock_timeout_ms / 1000.0, .count = count, .count_ctx = l};
    l->bind = bind_create(l->kube, cache, &bo);
    l->binder = (struct extender_binder){.bind = bind, .event = event, .ctx = l};
    struct upkeep_options uo = {.count = count, .count_ctx = l};
    l->upkeep = upkeep_start(l->kube, &uo);
    if (!l->upkeep) {
        snprintf(err, cap, "cannot start the upkeep thread");
        rc = ERR_IO;
        goto out;
    }
    struct watch_options wo = {.node_selector = c->node_selector,
                               .bound = learner ? bound : NULL,
                               .bound_ctx = learner,
                               .handshake = true,
                               .upkeep = l->upkeep,
                               .count = count,
                               .count_ctx = l,
                               .warn = warn,
                               .warn_ctx = l,
                               .nominated = nominated,
                               .nominated_ctx = l};
    if (c->leader_lease[0]) {
        rc = follow(l, c, err, cap);
        if (rc)
            goto out;
    }
    rc = watch_start(l->kube, cache, &wo, &l->watch, err, cap);
out:
    kubeconfig_free(&kc);
    if (rc) {
        live_stop(l);
        l = NULL;
    }
    *out = l;
    return rc;
}

const struct extender_binder *live_binder(const struct live *l)
{
    return &l->binder;
}

void live_stop(struct live *l)
{
    if (!l)
        return;
    lease_stop(l->lease); /* first: it drives the upkeep's and the events' switches */
    watch_stop(l->watch); /* it feeds the upkeep */
    upkeep_stop(l->upkeep);
    events_stop(l->events);
    bind_destroy(l->bind);
    kube_destroy(l->kube);
    pthread_mutex_destroy(&l->nom_mu);
    free(l);
}

bool live_leading(const struct live *l)
{
    return !l || atomic_load(&l->leading);
}

void live_render_metrics(struct live *l, struct buf *out)
{
    buf_printf(out,
               "# HELP vgpu_scheduler_leader 1 while this replica leads (writes in the "
               "background), 0 while it stands by.\n"
               "# TYPE vgpu_scheduler_leader gauge\n"
               "vgpu_scheduler_leader %d\n"
               "# HELP vgpu_scheduler_leader_transitions_total Changes between leading and "
               "standing by.\n"
               "# TYPE vgpu_scheduler_leader_transitions_total counter\n"
               "vgpu_scheduler_leader_transitions_total %lu\n",
               live_leading(l) ? 1 : 0, l ? atomic_load(&l->transitions) : 0UL);
    size_t n, max;
    events_queued(l ? l->events : NULL, &n, &max);
    buf_printf(out,
               "# HELP vgpu_scheduler_events_queued Events waiting to be sent to the API server "
               "(at most %zu, each cut to %d bytes; past that new ones are dropped).\n"
               "# TYPE vgpu_scheduler_events_queued gauge\n"
               "vgpu_scheduler_events_queued %zu\n",
               max, EVENTS_MESSAGE_MAX, n);
    struct watch_stats ws = {0};
    if (l && l->watch)
        watch_stats(l->watch, &ws);
    buf_puts(out, "# HELP vgpu_scheduler_watch_events_total Watch events applied to the cache "
                  "(added, modified, deleted; not bookmarks nor listed items), by kind.\n"
                  "# TYPE vgpu_scheduler_watch_events_total counter\n");
    for (int i = 0; i < WATCH_KINDS; i++)
        buf_printf(out, "vgpu_scheduler_watch_events_total{kind=\"%s\"} %lu\n", watch_kind_name(i),
                   ws.applied[i]);
}

size_t live_events_bytes(struct live *l)
{
    return events_bytes(l ? l->events : NULL);
}

cJSON *live_inspect(struct live *l, double now)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddBoolToObject(j, "leading", live_leading(l));
    cJSON_AddStringToObject(j, "lease", l ? l->lease_name : "");
    cJSON_AddNumberToObject(j, "transitions", l ? (double)atomic_load(&l->transitions) : 0);
    if (!l || !l->lease)
        return j;
    struct lease_stats st;
    lease_stats(l->lease, &st);
    cJSON_AddStringToObject(j, "identity", l->identity);
    cJSON_AddStringToObject(j, "holder", st.holder);
    if (st.expires > 0)
        cJSON_AddNumberToObject(j, "expires_in_s", st.expires - now);
    if (st.last_read > 0)
        cJSON_AddNumberToObject(j, "last_read_age_s", now - st.last_read);
    cJSON_AddNumberToObject(j, "reads", (double)st.reads);
    cJSON_AddNumberToObject(j, "failed_reads", (double)st.failed_reads);
    cJSON_AddNumberToObject(j, "malformed", (double)st.malformed);
    return j;
}

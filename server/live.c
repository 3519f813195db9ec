/* live.c: the API server source, wired. The upkeep starts before the
 * watch that feeds it; live_stop joins the watch, then the upkeep, then
 * the events, before anything they use (client, cache) is freed. */
#include "server/live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/bind.h"
#include "k8s/events.h"
#include "k8s/kube.h"
#include "k8s/kubeconfig.h"
#include "k8s/upkeep.h"
#include "k8s/watch.h"

struct live {
    struct kube *kube;
    struct upkeep *upkeep;
    struct watch *watch;
    struct bind *bind;
    struct events *events;
    struct metrics *metrics;
    struct extender_binder binder;
};

void live_register_metrics(struct metrics *m)
{
    const char *const *lists[] = {watch_reasons(), upkeep_reasons(), bind_reasons(),
                                  events_reasons()};
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
                const char *devices, long long now, char *err, size_t cap)
{
    struct live *l = ctx;
    return bind_pod(l->bind, ns, name, uid, node, devices, now, err, cap);
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
    event(ctx, ns, name, uid, true, reason, message);
}

int live_start(const struct config *c, struct cache *cache, struct metrics *metrics,
               struct live **out, char *err, size_t cap)
{
    struct kubeconfig kc = {0};
    struct live *l = mem_zalloc(sizeof *l);
    int rc;

    *out = NULL;
    l->metrics = metrics;
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
                               .handshake = true,
                               .upkeep = l->upkeep,
                               .count = count,
                               .count_ctx = l,
                               .warn = warn,
                               .warn_ctx = l};
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
    watch_stop(l->watch); /* first: it feeds the upkeep */
    upkeep_stop(l->upkeep);
    events_stop(l->events);
    bind_destroy(l->bind);
    kube_destroy(l->kube);
    free(l);
}

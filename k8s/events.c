/* events.c: a ring of pending Events and the thread that posts them. */
#include "k8s/events.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"

static const char *const reasons[] = {"event_dropped", "event_failed", NULL};

struct ev {
    char ns[64], name[254], uid[64], reason[64];
    char message[EVENTS_MESSAGE_MAX];
    bool warning;
    struct timespec at;
};

struct events {
    struct kube *k;
    char component[254];
    char host[254];
    events_count_fn count;
    void *count_ctx;
    pthread_t th;
    pthread_mutex_t lock; /* guards the ring and stop */
    pthread_cond_t more;
    struct ev *ring;
    size_t cap, head, n;
    bool stop;
    atomic_bool leading; /* the gate of events_post_background */
};

void events_queued(struct events *e, size_t *n, size_t *max)
{
    *n = *max = 0;
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    *n = e->n;
    *max = e->cap;
    pthread_mutex_unlock(&e->lock);
}

size_t events_bytes(struct events *e)
{
    size_t n, max;
    events_queued(e, &n, &max);
    return max * sizeof(struct ev);
}

const char *const *events_reasons(void)
{
    return reasons;
}

static void copy(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

bool events_post(struct events *e, const char *ns, const char *name, const char *uid, bool warning,
                 const char *reason, const char *message)
{
    if (!e || !name || !*name)
        return false;
    pthread_mutex_lock(&e->lock);
    bool ok = !e->stop && e->n < e->cap;
    if (ok) {
        struct ev *v = &e->ring[(e->head + e->n) % e->cap];
        copy(v->ns, sizeof v->ns, ns && *ns ? ns : "default");
        copy(v->name, sizeof v->name, name);
        copy(v->uid, sizeof v->uid, uid);
        copy(v->reason, sizeof v->reason, reason);
        copy(v->message, sizeof v->message, message);
        v->warning = warning;
        clock_gettime(CLOCK_REALTIME, &v->at);
        e->n++;
        pthread_cond_signal(&e->more);
    }
    pthread_mutex_unlock(&e->lock);
    if (!ok && e->count)
        e->count(e->count_ctx, "event_dropped");
    return ok;
}

void events_set_leading(struct events *e, bool leading)
{
    if (e)
        atomic_store(&e->leading, leading);
}

bool events_post_background(struct events *e, const char *ns, const char *name, const char *uid,
                            bool warning, const char *reason, const char *message)
{
    if (e && !atomic_load(&e->leading))
        return false; /* a standby's background event: the leader sends its own */
    return events_post(e, ns, name, uid, warning, reason, message);
}

static void timestamp(const struct timespec *t, char *buf, size_t cap)
{
    struct tm tm;
    gmtime_r(&t->tv_sec, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void send_one(struct events *e, const struct ev *v)
{
    char name[300], ts[32], path[512], msg[768];
    struct kube_resp r;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "apiVersion", "v1");
    cJSON_AddStringToObject(j, "kind", "Event");
    cJSON *meta = cJSON_AddObjectToObject(j, "metadata");
    /* client-go's name: <object>.<unix nanos in hex> */
    snprintf(name, sizeof name, "%.230s.%llx", v->name,
             (unsigned long long)v->at.tv_sec * 1000000000ULL + (unsigned long long)v->at.tv_nsec);
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", v->ns);
    cJSON *io = cJSON_AddObjectToObject(j, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", "v1");
    cJSON_AddStringToObject(io, "kind", "Pod");
    cJSON_AddStringToObject(io, "name", v->name);
    cJSON_AddStringToObject(io, "namespace", v->ns);
    if (v->uid[0])
        cJSON_AddStringToObject(io, "uid", v->uid);
    cJSON_AddStringToObject(j, "reason", v->reason);
    cJSON_AddStringToObject(j, "message", v->message);
    cJSON_AddStringToObject(j, "type", v->warning ? "Warning" : "Normal");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "source"), "component", e->component);
    timestamp(&v->at, ts, sizeof ts);
    cJSON_AddStringToObject(j, "firstTimestamp", ts);
    cJSON_AddStringToObject(j, "lastTimestamp", ts);
    cJSON_AddNumberToObject(j, "count", 1);
    cJSON_AddStringToObject(j, "reportingComponent", e->component);
    cJSON_AddStringToObject(j, "reportingInstance", e->host);
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    char ns[200];
    if (kube_escape(v->ns, ns, sizeof ns) != 0) {
        cJSON_free(body);
        return;
    }
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
    int rc = kube_call(e->k, "POST", path, "application/json", body, &r);
    if (rc) {
        kube_describe(&r, rc, "post event", msg, sizeof msg);
        LOG_DEBUG("%s %s/%s: %s", v->reason, v->ns, v->name, msg);
        if (e->count)
            e->count(e->count_ctx, "event_failed");
    }
    kube_resp_free(&r);
    cJSON_free(body);
}

static void *run(void *arg)
{
    struct events *e = arg;
    struct ev *v = mem_alloc(sizeof *v);
    struct timespec deadline = {0, 0};
    for (;;) {
        pthread_mutex_lock(&e->lock);
        while (e->n == 0 && !e->stop)
            pthread_cond_wait(&e->more, &e->lock);
        if (e->stop && deadline.tv_sec == 0) {
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += 1;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool late = e->stop && (now.tv_sec > deadline.tv_sec ||
                                (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec));
        if (e->n == 0 || late) {
            e->n = 0;
            pthread_mutex_unlock(&e->lock);
            break;
        }
        if (!e->stop && !kube_spare(e->k, 0.5)) {
            /* The verbs need the rate: wait (the queue may fill and drop). */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 20 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&e->more, &e->lock, &until);
            pthread_mutex_unlock(&e->lock);
            continue;
        }
        *v = e->ring[e->head];
        e->head = (e->head + 1) % e->cap;
        e->n--;
        pthread_mutex_unlock(&e->lock);
        send_one(e, v);
    }
    free(v);
    return NULL;
}

struct events *events_start(struct kube *k, const struct events_options *o)
{
    struct events *e = mem_zalloc(sizeof *e);
    e->k = k;
    copy(e->component, sizeof e->component, o->component ? o->component : "vgpu-scheduler");
    if (gethostname(e->host, sizeof e->host - 1) != 0)
        copy(e->host, sizeof e->host, "vgpu-scheduler");
    e->count = o->count;
    e->count_ctx = o->count_ctx;
    atomic_init(&e->leading, true);
    e->cap = o->queue_max > 0 ? (size_t)o->queue_max : EVENTS_QUEUE_MAX;
    e->ring = mem_alloc(sizeof *e->ring * e->cap);
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->more, NULL);
    if (pthread_create(&e->th, NULL, run, e) != 0) {
        pthread_mutex_destroy(&e->lock);
        pthread_cond_destroy(&e->more);
        free(e->ring);
        free(e);
        return NULL;
    }
    return e;
}

void events_stop(struct events *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_broadcast(&e->more);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->th, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->more);
    free(e->ring);
    free(e);
}

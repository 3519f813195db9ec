/* upkeep.c: the background node writer (handshakes, orphaned lock
 * release) behind the leader switch. Lock discipline: u->lock guards the
 * queues and u->leading, held for in-memory work only, a leaf (upkeep.h). */
#include "k8s/upkeep.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/handshake.h"
#include "k8s/model.h"
#include "k8s/nodelock.h"

static const char *const reasons[] = {"handshake_failed", "lock_orphan_released", NULL};

/* A node to write a handshake on. check: the job waited while this
 * replica stood by, when another replica may have written it: read the
 * node first and write only when it still wants one. */
struct shake {
    bool check;
    const char *key; /* the node's backend's handshake annotation (static) */
    char name[];     /* the key in u->shake */
};

/* A lock to release because its owner is gone. */
struct orphan {
    char *name;
    char *lock;
};

struct upkeep {
    struct kube *k;
    struct upkeep_options o;
    pthread_t th;
    atomic_bool stop;

    pthread_mutex_t lock; /* guards everything below; wake signals the thread */
    pthread_cond_t wake;
    struct hmap *shake;   /* name -> struct shake: handshake to write */
    struct hmap *orphans; /* name -> orphan */
    bool leading;

    atomic_ulong handshakes, orphans_released;
};

const char *const *upkeep_reasons(void)
{
    return reasons;
}

static void count(struct upkeep *u, const char *reason)
{
    if (u->o.count)
        u->o.count(u->o.count_ctx, reason);
}

static void orphan_free(struct orphan *o)
{
    if (!o)
        return;
    free(o->name);
    free(o->lock);
    free(o);
}

/* ---- the queues ---- */

void upkeep_set_leading(struct upkeep *u, bool leading)
{
    size_t it = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&u->lock);
    if (u->leading != leading)
        LOG_INFO("upkeep: %s", leading ? "leading: node writes on" : "following: node writes off");
    while (leading && !u->leading && hmap_next(u->shake, &it, &k, &v))
        ((struct shake *)v)->check = true; /* the old leader may have written them */
    u->leading = leading;
    pthread_cond_broadcast(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

/* Queue a handshake for name (u->lock held). */
static void put_shake(struct upkeep *u, const char *name, const char *key)
{
    if (hmap_get(u->shake, name) || hmap_count(u->shake) >= UPKEEP_QUEUE_MAX)
        return;
    size_t n = strlen(name) + 1;
    struct shake *j = mem_alloc(sizeof *j + n);
    j->check = !u->leading;
    j->key = key;
    memcpy(j->name, name, n);
    hmap_put(u->shake, j->name, j);
    pthread_cond_broadcast(&u->wake);
}

/* Queue o, or free it when one for its node is queued (u->lock held). */
static void put_orphan(struct upkeep *u, struct orphan *o)
{
    if (hmap_get(u->orphans, o->name) || hmap_count(u->orphans) >= UPKEEP_QUEUE_MAX) {
        orphan_free(o);
        return;
    }
    hmap_put(u->orphans, o->name, o);
    pthread_cond_broadcast(&u->wake);
}

void upkeep_handshake(struct upkeep *u, const char *node, const char *key)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    put_shake(u, node, key ? key : MODEL_ANN_HANDSHAKE);
    pthread_mutex_unlock(&u->lock);
}

void upkeep_orphan(struct upkeep *u, const char *node, const char *lock)
{
    if (!u)
        return;
    struct orphan *o = mem_zalloc(sizeof *o);
    o->name = mem_strdup(node);
    o->lock = mem_strdup(lock);
    pthread_mutex_lock(&u->lock);
    put_orphan(u, o);
    pthread_mutex_unlock(&u->lock);
}

/* ---- the writes ---- */

/* For a job that waited while standing by: the node's resourceVersion into
 * rv when it still wants a handshake (its value holds no "Requesting");
 * false when it does not or cannot be read (the watch queues it again when
 * the node changes). */
static bool still_wanted(struct upkeep *u, const char *path, const char *key, char *rv, size_t cap)
{
    struct kube_resp r;
    int rc = kube_call(u->k, "GET", path, NULL, NULL, &r);
    cJSON *node = rc ? NULL : cJSON_ParseWithLength(r.body, r.len);
    kube_resp_free(&r);
    const char *v = model_str(node, "metadata", "annotations", key);
    const char *at = model_str(node, "metadata", "resourceVersion", NULL);
    bool want = node && at && strlen(at) < cap && !(v && strstr(v, HANDSHAKE_REQUESTING));
    if (want)
        snprintf(rv, cap, "%s", at);
    cJSON_Delete(node);
    return want;
}

static void write_handshake(struct upkeep *u, const struct shake *j)
{
    char value[64], esc[1024], path[1200], body[256], msg[768], rv[72] = "", guard[100] = "";
    const char *name = j->name;
    struct kube_resp r;
    handshake_value(clock_wall_s(), value, sizeof value);
    if (kube_escape(name, esc, sizeof esc) != 0)
        return;
    snprintf(path, sizeof path, "/api/v1/nodes/%s", esc);
    if (j->check && !still_wanted(u, path, j->key, rv, sizeof rv)) {
        LOG_DEBUG("node %s: handshake already answered by another replica", name);
        return;
    }
    if (rv[0])
        snprintf(guard, sizeof guard, ",\"resourceVersion\":\"%s\"", rv);
    snprintf(body, sizeof body, "{\"metadata\":{\"annotations\":{\"%s\":\"%s\"}%s}}", j->key, value,
             guard);
    int rc = kube_call(u->k, "PATCH", path, "application/merge-patch+json", body, &r);
    if (rc) {
        kube_describe(&r, rc, "handshake", msg, sizeof msg);
        LOG_WARN("node %s: %s", name, msg);
        count(u, "handshake_failed");
    } else {
        atomic_fetch_add(&u->handshakes, 1);
        LOG_DEBUG("node %s: handshake %s written", name, value);
    }
    kube_resp_free(&r);
}

/* Release o->lock on its node if it is still there and its owner pod is
 * gone according to the API server. */
static void release_orphan(struct upkeep *u, const struct orphan *o)
{
    char esc[1024], path[2048], msg[768], body[512];
    struct kube_resp r;
    struct nodelock l;
    if (kube_escape(o->name, esc, sizeof esc) != 0 || nodelock_parse(o->lock, &l) != 0)
        return;
    snprintf(path, sizeof path, "/api/v1/nodes/%s", esc);
    int rc = kube_call(u->k, "GET", path, NULL, NULL, &r);
    cJSON *node = rc ? NULL : cJSON_ParseWithLength(r.body, r.len);
    kube_resp_free(&r);
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "metadata"), "annotations");
    const char *now = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(anns, MODEL_ANN_LOCK));
    const char *rv = model_str(node, "metadata", "resourceVersion", NULL);
    if (!now || strcmp(now, o->lock) != 0 || !rv || strlen(rv) > 64)
        goto out;
    char ns[768], name[768];
    if (kube_escape(l.ns, ns, sizeof ns) || kube_escape(l.name, name, sizeof name))
        goto out;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
    rc = kube_call(u->k, "GET", path, NULL, NULL, &r);
    cJSON *pod = rc ? NULL : cJSON_ParseWithLength(r.body, r.len);
    kube_resp_free(&r);
    const char *at = model_str(pod, "spec", "nodeName", NULL);
    const char *phase = model_str(pod, "status", "phase", NULL);
    bool ended = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
    const char *why = rc == ERR_NOTFOUND                            ? "is gone"
                      : rc == 0 && at && *at && strcmp(at, o->name) ? "is bound to another node"
                      : rc == 0 && ended                            ? "has ended"
                                                                    : NULL;
    cJSON_Delete(pod);
    if (!why)
        goto out; /* the owner may still need it, or we cannot tell */
    snprintf(path, sizeof path, "/api/v1/nodes/%s", esc);
    snprintf(body, sizeof body,
             "{\"metadata\":{\"annotations\":{\"%s\":null},\"resourceVersion\":\"%s\"}}",
             MODEL_ANN_LOCK, rv);
    rc = kube_call(u->k, "PATCH", path, "application/merge-patch+json", body, &r);
    if (rc == 0) {
        LOG_INFO("node %s: released lock %s: its pod %s/%s %s", o->name, o->lock, l.ns, l.name,
                 why);
        count(u, "lock_orphan_released");
        atomic_fetch_add(&u->orphans_released, 1);
    } else {
        kube_describe(&r, rc, "release orphaned lock", msg, sizeof msg);
        LOG_DEBUG("node %s: %s", o->name, msg);
    }
    kube_resp_free(&r);
out:
    cJSON_Delete(node);
}

/* ---- the thread ---- */

/* Take one job while leading (u->lock held); false when there is none. */
static bool take_job(struct upkeep *u, struct shake **shake, struct orphan **orphan)
{
    size_t it = 0;
    const char *k;
    void *v;
    if (!u->leading)
        return false;
    if (hmap_next(u->shake, &it, &k, &v)) {
        *shake = hmap_del(u->shake, k);
        return true;
    }
    it = 0;
    if (hmap_next(u->orphans, &it, &k, &v)) {
        *orphan = hmap_del(u->orphans, k);
        return true;
    }
    return false;
}

/* True when still leading; otherwise shake goes back in the queue and is
 * taken (set to NULL). */
static bool still_leading(struct upkeep *u, struct shake **shake)
{
    pthread_mutex_lock(&u->lock);
    bool leading = u->leading;
    if (!leading)
        put_shake(u, (*shake)->name, (*shake)->key);
    pthread_mutex_unlock(&u->lock);
    if (!leading) {
        free(*shake);
        *shake = NULL;
    }
    return leading;
}

static void *run(void *arg)
{
    struct upkeep *u = arg;
    while (!atomic_load(&u->stop)) {
        struct shake *shake = NULL;
        struct orphan *orphan = NULL;
        pthread_mutex_lock(&u->lock);
        bool got = take_job(u, &shake, &orphan);
        if (!got && !atomic_load(&u->stop))
            pthread_cond_wait(&u->wake, &u->lock);
        pthread_mutex_unlock(&u->lock);
        /* Handshakes wait for spare rate: thousands of nodes at a first
         * start must not take what binds need. */
        struct timespec nap = {0, 20 * 1000000L};
        for (int i = 0; shake && i < 3000 && !kube_spare(u->k, 0.5) && !atomic_load(&u->stop); i++)
            nanosleep(&nap, NULL);
        if (shake && !atomic_load(&u->stop) && still_leading(u, &shake))
            write_handshake(u, shake);
        if (orphan)
            release_orphan(u, orphan);
        free(shake);
        orphan_free(orphan);
    }
    return NULL;
}

/* ---- start, stop ---- */

static void free_all(struct upkeep *u)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (hmap_next(u->shake, &it, &k, &v))
        free(v);
    it = 0;
    while (hmap_next(u->orphans, &it, &k, &v))
        orphan_free(v);
    hmap_destroy(u->shake);
    hmap_destroy(u->orphans);
    pthread_mutex_destroy(&u->lock);
    pthread_cond_destroy(&u->wake);
    free(u);
}

struct upkeep *upkeep_start(struct kube *k, const struct upkeep_options *o)
{
    struct upkeep *u = mem_zalloc(sizeof *u);
    u->k = k;
    u->o = *o;
    u->leading = true;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->wake, NULL);
    u->shake = hmap_create();
    u->orphans = hmap_create();
    if (pthread_create(&u->th, NULL, run, u) != 0) {
        free_all(u);
        return NULL;
    }
    return u;
}

void upkeep_stop(struct upkeep *u)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    atomic_store(&u->stop, true);
    pthread_cond_broadcast(&u->wake);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->th, NULL);
    free_all(u);
}

void upkeep_stats(struct upkeep *u, struct upkeep_stats *out)
{
    out->handshakes = atomic_load(&u->handshakes);
    out->orphans_released = atomic_load(&u->orphans_released);
    pthread_mutex_lock(&u->lock);
    out->queued = (unsigned long)(hmap_count(u->shake) + hmap_count(u->orphans));
    out->leading = u->leading;
    pthread_mutex_unlock(&u->lock);
}

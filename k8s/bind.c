/* bind.c: lock, patch, bind, and undo on failure. */
#include "base/clock.h"
#include "k8s/bind.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/hmap.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "k8s/nodelock.h"
#include "k8s/placement.h"
#include "policy/device_nvidia_mig.h"

#define MERGE_PATCH   "application/merge-patch+json"
#define OWNER_CHECK_S 1.0 /* a lock younger than this is not checked for a gone owner */
#define RELEASE_TRIES 5
#define UNDO_TRIES    3

static const char *const reasons[] = {
    "lock_contention",
    "lock_conflict",
    "lock_taken_over",
    "lock_release_failed",
    "bind_api_error",
    "bind_undo_failed",
    NULL,
};

/* The in-process queue of binds for one node. */
struct nlock {
    char *name;
    pthread_mutex_t m;
    int refs;
};

struct bind {
    struct kube *k;
    struct cache *c;
    struct bind_options o;
    pthread_mutex_t lock; /* guards nodes */
    struct hmap *nodes;   /* name -> nlock */
};

const char *const *bind_reasons(void)
{
    return reasons;
}

static void count(struct bind *b, const char *reason)
{
    if (b->o.count)
        b->o.count(b->o.count_ctx, reason);
}

/* HAMi's retry backoff: 100 ms doubling, jitter up to +50 %. */
static double backoff(int step)
{
    return 0.1 * (double)(1 << (step < 6 ? step : 6)) * (1.0 + (double)(rand() % 500) / 1000.0);
}

struct bind *bind_create(struct kube *k, struct cache *c, const struct bind_options *o)
{
    struct bind *b = mem_zalloc(sizeof *b);
    b->k = k;
    b->c = c;
    b->o = *o;
    if (b->o.lock_wait <= 0)
        b->o.lock_wait = BIND_LOCK_WAIT_S;
    pthread_mutex_init(&b->lock, NULL);
    b->nodes = hmap_create();
    return b;
}

void bind_destroy(struct bind *b)
{
    if (!b)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (hmap_next(b->nodes, &it, &k, &v)) {
        struct nlock *n = v;
        pthread_mutex_destroy(&n->m);
        free(n->name);
        free(n);
    }
    hmap_destroy(b->nodes);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

/* ---- the in-process queue ---- */

static struct nlock *nlock_get(struct bind *b, const char *node)
{
    pthread_mutex_lock(&b->lock);
    struct nlock *n = hmap_get(b->nodes, node);
    if (!n) {
        n = mem_zalloc(sizeof *n);
        n->name = mem_strdup(node);
        pthread_mutex_init(&n->m, NULL);
        hmap_put(b->nodes, n->name, n);
    }
    n->refs++;
    pthread_mutex_unlock(&b->lock);
    return n;
}

static void nlock_put(struct bind *b, struct nlock *n)
{
    pthread_mutex_lock(&b->lock);
    if (--n->refs == 0) {
        hmap_del(b->nodes, n->name);
        pthread_mutex_destroy(&n->m);
        free(n->name);
        free(n);
    }
    pthread_mutex_unlock(&b->lock);
}

/* Wait for n->m until the monotonic deadline. */
static bool nlock_enter(struct nlock *n, double deadline)
{
    double left = deadline - clock_mono_s();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + (left > 0 ? left : 0);
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    return pthread_mutex_timedlock(&n->m, &until) == 0;
}

/* ---- names ---- */

/* A DNS-1123 subdomain (names of namespaces, pods, nodes). */
static bool dns_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MODEL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !((ch == '-' || ch == '.') && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

static bool uid_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 128 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-") == n;
}

static void node_path(const char *node, char *path, size_t cap)
{
    snprintf(path, cap, "/api/v1/nodes/%s", node);
}

static void pod_path(const char *ns, const char *name, const char *sub, char *path, size_t cap)
{
    snprintf(path, cap, "/api/v1/namespaces/%s/pods/%s%s%s", ns, name, sub ? "/" : "",
             sub ? sub : "");
}

/* ---- the pod ---- */

/* Read the pod from the API: a new tree, or NULL with rc and err set. */
static cJSON *get_pod(struct bind *b, const char *ns, const char *name, int *rc, char *err,
                      size_t cap)
{
    char path[700];
    struct kube_resp r;
    pod_path(ns, name, NULL, path, sizeof path);
    *rc = kube_call(b->k, "GET", path, NULL, NULL, &r);
    cJSON *pod = *rc ? NULL : cJSON_ParseWithLength(r.body, r.len);
    if (*rc)
        kube_describe(&r, *rc, "read pod", err, cap);
    else if (!pod) {
        snprintf(err, cap, "read pod: the answer is not JSON");
        *rc = ERR_PROTO;
    }
    kube_resp_free(&r);
    return pod;
}

/* 1 when the pod's app containers ask for devices (HAMi locks the node
 * only then), with *vendor the backend of the first such container (whose
 * lock is taken); 0 when not, or an error. From the spec the cache keeps
 * for pending pods; else from the API. */
static int wants_lock(struct bind *b, const char *ns, const char *name, const char *uid,
                      const struct policy_device_backend **vendor, char *err, size_t cap)
{
    char *json = cache_pending_get(b->c, uid, clock_wall_s());
    cJSON *pod = json ? cJSON_Parse(json) : NULL;
    struct policy_pod *pp = NULL;
    int rc = 0;
    free(json);
    *vendor = policy_device_backend_default();
    if (!pod) {
        pod = get_pod(b, ns, name, &rc, err, cap);
        if (rc)
            goto out;
        const char *have = model_str(pod, "metadata", "uid", NULL);
        if (!have || strcmp(have, uid) != 0) {
            snprintf(err, cap, "pod %s/%s now has uid %s, not %s: it was recreated", ns, name,
                     have ? have : "(none)", uid);
            rc = ERR_CONFLICT;
            goto out;
        }
    }
    pp = mem_alloc(sizeof *pp);
    char why[256];
    if (model_pod_parse(pod, NULL, pp, why, sizeof why) != 0) {
        rc = 1; /* placed by the extender, so it parsed once: lock to be safe */
        goto out;
    }
    for (int i = pp->ninit; i < pp->nctr; i++)
        if (pp->ctr[i].nums > 0) {
            *vendor = policy_ctr_backend(&pp->ctr[i]);
            rc = 1;
            break;
        }
out:
    free(pp);
    cJSON_Delete(pod);
    return rc;
}

/* ---- the node lock ---- */

/* Which lock a bind takes: HAMi's shared hami.io/mutex.lock naming its pod,
 * or a vendor's own key valued with a bare time (policy/device.h ann_lock). */
struct lockkind {
    const char *key;
    bool bare;
    double timeout; /* seconds after which the lock is stale */
};

static struct lockkind lock_kind(const struct bind *b, const struct policy_device_backend *v)
{
    if (v && v->ann_lock)
        return (struct lockkind){v->ann_lock, true, (double)v->lock_timeout_s};
    return (struct lockkind){MODEL_ANN_LOCK, false, b->o.lock_timeout};
}

/* A vendor's bare-time lock as HAMi's Cambricon LockNode judges it: none
 * is free, an RFC 3339 time older than the timeout expired, a younger (or
 * future) one held; anything else malformed (HAMi refuses the bind). */
static enum nodelock_state bare_state(const char *value, double now, double timeout,
                                      struct nodelock *l)
{
    if (!value || !*value)
        return NODELOCK_FREE;
    if (nodelock_parse(value, l) != 0 || !l->legacy)
        return NODELOCK_MALFORMED;
    return now - l->time > timeout ? NODELOCK_EXPIRED : NODELOCK_HELD;
}

struct node_state {
    char rv[80];
    char lock[NODELOCK_VALUE_MAX + 1]; /* "" = none */
    bool lock_toobig;
};

static int read_node(struct bind *b, const char *node, const char *key, struct node_state *st,
                     char *err, size_t cap)
{
    char path[400];
    struct kube_resp r;
    node_path(node, path, sizeof path);
    int rc = kube_call(b->k, "GET", path, NULL, NULL, &r);
    memset(st, 0, sizeof *st);
    if (rc) {
        kube_describe(&r, rc, "read node", err, cap);
        kube_resp_free(&r);
        return rc;
    }
    cJSON *n = cJSON_ParseWithLength(r.body, r.len);
    kube_resp_free(&r);
    const char *rv = model_str(n, "metadata", "resourceVersion", NULL);
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(n, "metadata"), "annotations");
    const char *lock = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(anns, key));
    if (!rv || strlen(rv) >= sizeof st->rv) {
        snprintf(err, cap, "read node: no usable metadata.resourceVersion");
        cJSON_Delete(n);
        return ERR_PROTO;
    }
    snprintf(st->rv, sizeof st->rv, "%s", rv);
    if (lock && strlen(lock) > NODELOCK_VALUE_MAX)
        st->lock_toobig = true; /* malformed: taken over */
    else if (lock)
        snprintf(st->lock, sizeof st->lock, "%s", lock);
    cJSON_Delete(n);
    return 0;
}

/* Set the lock annotation to value (NULL: remove) with the rv precondition. */
static int patch_lock(struct bind *b, const char *node, const char *key, const char *value,
                      const char *rv, struct kube_resp *r)
{
    char path[400];
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON *anns = cJSON_AddObjectToObject(meta, "annotations");
    if (value)
        cJSON_AddStringToObject(anns, key, value);
    else
        cJSON_AddNullToObject(anns, key);
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
    char *body = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    node_path(node, path, sizeof path);
    int rc = kube_call(b->k, "PATCH", path, MERGE_PATCH, body, r);
    cJSON_free(body);
    return rc;
}

/* Until the cache shows the node's lock changed from `seen`, a second
 * passed, or the deadline. The cache keeps hami.io/mutex.lock only: for a
 * vendor's own lock (bare), a tenth of a second. */
static void wait_release(struct bind *b, const char *node, bool bare, const char *seen,
                         double deadline)
{
    double until = clock_mono_s() + (bare ? 0.1 : 1.0);
    if (until > deadline)
        until = deadline;
    if (bare) {
        if (until > clock_mono_s())
            clock_sleep_s(until - clock_mono_s());
        return;
    }
    while (clock_mono_s() < until) {
        unsigned long changes = cache_node_changes(b->c);
        cache_rdlock(b->c);
        bool known = cache_view(b->c, node) != NULL;
        const char *l = cache_node_lock(b->c, node);
        bool same = l && strcmp(l, seen) == 0;
        cache_unlock(b->c);
        if (known && !same)
            return;
        cache_node_wait(b->c, changes, until); /* woken by the watch's next node */
    }
}

/* True when the lock's owner pod is gone according to the API server. */
static bool owner_gone(struct bind *b, const struct nodelock *l)
{
    char err[256];
    int rc;
    if (!dns_name(l->ns) || !dns_name(l->name))
        return false;
    cJSON *pod = get_pod(b, l->ns, l->name, &rc, err, sizeof err);
    cJSON_Delete(pod);
    return rc == ERR_NOTFOUND;
}

/* Take lock k on node for pod ns/name; the value written goes to value
 * (NODELOCK_VALUE_MAX + 1 bytes). */
static int lock_take(struct bind *b, const char *node, const char *ns, const char *name,
                     const struct lockkind *k, double deadline, char *value, char *err, size_t cap)
{
    char checked[NODELOCK_VALUE_MAX + 1] = "";
    int conflicts = 0, rc;
    struct node_state st;
    double t0 = clock_mono_s();

    for (;;) {
        if ((rc = read_node(b, node, k->key, &st, err, cap)) != 0)
            return rc;
        struct nodelock l = {0};
        double now = clock_wall_s();
        enum nodelock_state s = st.lock_toobig ? NODELOCK_MALFORMED
                                : k->bare      ? bare_state(st.lock, now, k->timeout, &l)
                                          : nodelock_state(st.lock, ns, name, now, k->timeout, &l);
        if (s == NODELOCK_OURS)
            return 0;
        if (s == NODELOCK_MALFORMED && k->bare) {
            snprintf(err, cap,
                     "node %s: annotation %s \"%.64s\" is not an RFC 3339 time, so whether the "
                     "node is locked cannot be told (remove the annotation to unlock it)",
                     node, k->key, st.lock_toobig ? "(too long)" : st.lock);
            return ERR_INVAL;
        }
        bool gone = false;
        if (s == NODELOCK_HELD && !l.legacy && now - l.time >= OWNER_CHECK_S &&
            strcmp(checked, st.lock) != 0) {
            snprintf(checked, sizeof checked, "%s", st.lock);
            gone = owner_gone(b, &l);
        }
        if (s == NODELOCK_HELD && !gone) {
            if (clock_mono_s() >= deadline) {
                char age[32];
                snprintf(age, sizeof age, "%.0fs", now - l.time);
                if (k->bare)
                    snprintf(err, cap,
                             "node %s has been locked within %.0fs: node lock contention (%s "
                             "\"%s\", %s old; waited %.1fs)",
                             node, k->timeout, k->key, st.lock, age, clock_mono_s() - t0);
                else
                    snprintf(err, cap,
                             "node %s has been locked within %.0fs: node lock contention (held by "
                             "%s%s%s for %s; waited %.1fs)",
                             node, k->timeout, l.legacy ? "a legacy lock" : l.ns,
                             l.legacy ? "" : "/", l.legacy ? "" : l.name, age, clock_mono_s() - t0);
                count(b, "lock_contention");
                return ERR_CONFLICT;
            }
            wait_release(b, node, k->bare, st.lock, deadline);
            continue;
        }
        if ((k->bare ? nodelock_format_time(now, value, NODELOCK_VALUE_MAX + 1)
                     : nodelock_format(now, ns, name, value, NODELOCK_VALUE_MAX + 1)) < 0) {
            snprintf(err, cap, "lock value too long");
            return ERR_TOOBIG;
        }
        struct kube_resp r;
        rc = patch_lock(b, node, k->key, value, st.rv, &r);
        if (rc == 0) {
            kube_resp_free(&r);
            if (s != NODELOCK_FREE) {
                LOG_INFO("node %s: took over lock %s \"%.80s\" (%s)", node, k->key, st.lock,
                         gone ? "its pod is gone" : nodelock_state_name(s));
                count(b, "lock_taken_over");
            }
            return 0;
        }
        if (rc == ERR_CONFLICT && ++conflicts < BIND_CONFLICT_STEPS) {
            kube_resp_free(&r);
            count(b, "lock_conflict");
            clock_sleep_s(backoff(conflicts - 1));
            continue;
        }
        kube_describe(&r, rc, "lock node", err, cap);
        if (rc == ERR_CONFLICT) {
            size_t n = strlen(err);
            snprintf(err + n, cap - n, " (%d conflicts in a row)", conflicts);
        }
        kube_resp_free(&r);
        return rc;
    }
}

/* Remove the lock if it is still ours: names this pod, or (a bare lock)
 * still holds the very value taken. */
static void lock_release(struct bind *b, const char *node, const char *ns, const char *name,
                         const struct lockkind *k, const char *taken)
{
    char err[512] = "";
    struct node_state st;
    for (int i = 0; i < RELEASE_TRIES; i++) {
        if (i)
            clock_sleep_s(backoff(i - 1));
        if (read_node(b, node, k->key, &st, err, sizeof err) != 0)
            continue;
        if (k->bare
                ? strcmp(st.lock, taken) != 0
                : nodelock_state(st.lock, ns, name, clock_wall_s(), 1e12, NULL) != NODELOCK_OURS)
            return; /* gone, or not ours: nothing to do */
        struct kube_resp r;
        int rc = patch_lock(b, node, k->key, NULL, st.rv, &r);
        if (rc == 0) {
            kube_resp_free(&r);
            return;
        }
        kube_describe(&r, rc, "release lock", err, sizeof err);
        kube_resp_free(&r);
    }
    LOG_WARN("node %s: could not release the lock %s of %s/%s (%s); it goes stale after %.0fs",
             node, k->key, ns, name, err, k->timeout);
    count(b, "lock_release_failed");
}

/* ---- the pod patch and the binding ---- */

static int patch_pod(struct bind *b, const char *ns, const char *name, const char *uid,
                     cJSON *patch, char *err, size_t cap)
{
    char path[700];
    struct kube_resp r;
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(patch, "metadata");
    cJSON_AddStringToObject(meta, "uid", uid);
    char *body = cJSON_PrintUnformatted(patch);
    pod_path(ns, name, NULL, path, sizeof path);
    int rc = kube_call(b->k, "PATCH", path, MERGE_PATCH, body, &r);
    if (rc)
        kube_describe(&r, rc, "patch pod", err, cap);
    kube_resp_free(&r);
    cJSON_free(body);
    return rc;
}

/* Set our annotations and label back to nothing. */
static void undo_patch(struct bind *b, const char *ns, const char *name, const char *uid)
{
    static const char *const keys[] = {
        MODEL_ANN_VGPU_NODE, MODEL_ANN_VGPU_TIME, MODEL_ANN_BIND_PHASE, MODEL_ANN_BIND_TIME,
        POLICY_MIG_ANN_ALLOCATIONS}; /* and every backend's allocation keys */
    char err[512] = "";
    int rc = 0;
    for (int i = 0; i < UNDO_TRIES; i++) {
        if (i)
            clock_sleep_s(backoff(i - 1));
        cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
        cJSON *anns = cJSON_AddObjectToObject(meta, "annotations");
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            cJSON_AddNullToObject(anns, keys[k]);
        for (const struct policy_device_backend *const *d = policy_device_backends; *d; d++) {
            cJSON_AddNullToObject(anns, (*d)->ann_to_allocate);
            cJSON_AddNullToObject(anns, (*d)->ann_allocated);
            for (int x = 0; x < POLICY_DEVICE_EXTRA_MAX && (*d)->ann_extra[x]; x++)
                if (!cJSON_GetObjectItemCaseSensitive(anns,
                                                      (*d)->ann_extra[x])) /* rows share some */
                    cJSON_AddNullToObject(anns, (*d)->ann_extra[x]);
        }
        cJSON_AddNullToObject(cJSON_AddObjectToObject(meta, "labels"), MODEL_ANN_VGPU_NODE);
        rc = patch_pod(b, ns, name, uid, p, err, sizeof err);
        cJSON_Delete(p);
        if (rc == 0 || rc == ERR_NOTFOUND)
            return;
    }
    LOG_WARN("pod %s/%s: could not undo the placement annotations (%s); the pod keeps counting "
             "until it is filtered again or deleted",
             ns, name, err);
    count(b, "bind_undo_failed");
}

static int post_binding(struct bind *b, const char *ns, const char *name, const char *uid,
                        const char *node, char *err, size_t cap)
{
    char path[700];
    struct kube_resp r;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "apiVersion", "v1");
    cJSON_AddStringToObject(j, "kind", "Binding");
    cJSON *meta = cJSON_AddObjectToObject(j, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", ns);
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON *t = cJSON_AddObjectToObject(j, "target");
    cJSON_AddStringToObject(t, "apiVersion", "v1");
    cJSON_AddStringToObject(t, "kind", "Node");
    cJSON_AddStringToObject(t, "name", node);
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    pod_path(ns, name, "binding", path, sizeof path);
    int rc = kube_call(b->k, "POST", path, "application/json", body, &r);
    cJSON_free(body);
    if (rc == 0) {
        kube_resp_free(&r);
        return 0;
    }
    kube_describe(&r, rc, "bind", err, cap);
    kube_resp_free(&r);
    if (rc == ERR_CONFLICT || rc == ERR_TIMEOUT || rc == ERR_IO) {
        /* Maybe bound after all (an earlier attempt whose answer was lost). */
        int grc;
        char gerr[256];
        cJSON *pod = get_pod(b, ns, name, &grc, gerr, sizeof gerr);
        const char *at = model_str(pod, "spec", "nodeName", NULL);
        const char *have = model_str(pod, "metadata", "uid", NULL);
        if (at && have && strcmp(at, node) == 0 && strcmp(have, uid) == 0) {
            LOG_INFO("pod %s/%s: %s, but it is bound to %s: done", ns, name, err, node);
            rc = 0;
        }
        cJSON_Delete(pod);
    }
    return rc;
}

/* ---- bind ---- */

int bind_pod(void *ctx, const char *ns, const char *name, const char *uid, const char *node,
             const char *devices, const char *mig, long long now, char *err, size_t cap)
{
    struct bind *b = ctx;
    struct nlock *nl = NULL;
    cJSON *patch = NULL;
    const struct policy_device_backend *vendor = NULL;
    struct lockkind lk = {0};
    char taken[NODELOCK_VALUE_MAX + 1] = "";
    bool locked = false, patched = false;
    double t0 = clock_mono_s(), deadline = t0 + b->o.lock_wait;
    int rc = 0;

    if (!dns_name(ns) || !dns_name(name) || !dns_name(node) || !uid_ok(uid)) {
        snprintf(err, cap,
                 "bind: \"%.64s/%.64s\" on node \"%.64s\" (uid \"%.64s\") are not "
                 "valid Kubernetes names",
                 ns, name, node, uid);
        rc = ERR_INVAL;
        goto out;
    }
    rc = wants_lock(b, ns, name, uid, &vendor, err, cap);
    if (rc < 0)
        goto out;
    lk = lock_kind(b, vendor);
    if (rc == 1) {
        nl = nlock_get(b, node);
        if (!nlock_enter(nl, deadline)) {
            snprintf(err, cap,
                     "node %s has been locked within %.0fs: node lock contention (other binds "
                     "to this node waited ahead of this one for %.1fs)",
                     node, lk.timeout, clock_mono_s() - t0);
            count(b, "lock_contention");
            rc = ERR_CONFLICT;
            goto out;
        }
        rc = lock_take(b, node, ns, name, &lk, deadline, taken, err, cap);
        pthread_mutex_unlock(&nl->m);
        if (rc)
            goto out;
        locked = true;
    }
    rc = 0;
    patch = placement_patch(node, devices, mig, now);
    if ((rc = patch_pod(b, ns, name, uid, patch, err, cap)) != 0)
        goto out;
    patched = true;
    rc = post_binding(b, ns, name, uid, node, err, cap);
out:
    if (rc && patched)
        undo_patch(b, ns, name, uid);
    if (rc && locked)
        lock_release(b, node, ns, name, &lk, taken);
    if (nl)
        nlock_put(b, nl);
    cJSON_Delete(patch);
    if (rc) {
        if (rc != ERR_CONFLICT && rc != ERR_INVAL)
            count(b, "bind_api_error");
        LOG_WARN("bind %s/%s to %s failed after %.0f ms: %s", ns, name, node,
                 (clock_mono_s() - t0) * 1000, err);
    } else {
        LOG_DEBUG("bind %s/%s to %s: %.1f ms", ns, name, node, (clock_mono_s() - t0) * 1000);
    }
    return rc;
}

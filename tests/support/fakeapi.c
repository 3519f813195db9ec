/* fakeapi.c: a kube-apiserver stand-in for tests (see fakeapi.h). One
 * mutex guards the whole state; one thread per connection (watches block
 * in their content callback, waiting on a condition variable). */
#include "tests/support/fakeapi.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/mem.h"
#include "k8s/nodelock.h"

#define HIST_MAX     400000    /* events kept for watches */
#define EVENTS_MAX   200000    /* Event objects kept */
#define BODY_MAX     (8 << 20) /* a request body */
#define LOCK_KEY     "hami.io/mutex.lock"
#define SHAKE_KEY    "hami.io/node-handshake"
#define LOCK_TIMEOUT 300.0

enum kind { NODES, PODS, LEASES, QUOTAS, PDBS, NKINDS };

static const char *const kind_names[NKINDS] = {"nodes", "pods", "leases", "resourcequotas",
                                               "poddisruptionbudgets"};
static const char *const list_kinds[NKINDS] = {"NodeList", "PodList", "LeaseList",
                                               "ResourceQuotaList", "PodDisruptionBudgetList"};
static const char *const obj_kinds[NKINDS] = {"Node", "Pod", "Lease", "ResourceQuota",
                                              "PodDisruptionBudget"};

struct obj {
    char key[600]; /* name, or ns/name */
    cJSON *j;
};

struct hev {
    long rv;
    int kind;
    const char *type;
    char *line;    /* the watch event, printed once: {"type","object"} and a newline */
    cJSON *labels; /* a copy of the object's labels then, for label selectors; or NULL */
};

struct fakeapi {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct hmap *objs[NKINDS];
    long rv, compacted, uid_seq;
    struct hev *hist;
    size_t nhist, caphist, hist_max;
    struct fakeapi_faults faults;
    struct fakeapi_counts counts;
    long call_seq, conflict_seq, conflict_left, expire_left;
    char token[256];
    struct client {
        char who[32], token[256], cut[128]; /* cut: "" = connected */
    } clients[FAKEAPI_CLIENTS_MAX];
    int nclients;
    cJSON *events;
    size_t nevents; /* in events: cJSON_GetArraySize walks the list (was 25 % of the bench) */
    struct buf log;
    bool stopping;
    bool want_client_cert;
    char *cert, *key, *trust; /* TLS PEM, kept while the daemon runs */
};

static const char *meta_str(const cJSON *o, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, key));
}

static cJSON *meta_obj(cJSON *o, const char *key)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    if (!cJSON_IsObject(m))
        m = cJSON_AddObjectToObject(o, "metadata");
    cJSON *x = cJSON_GetObjectItemCaseSensitive(m, key);
    if (!cJSON_IsObject(x)) {
        cJSON_DeleteItemFromObjectCaseSensitive(m, key);
        x = cJSON_AddObjectToObject(m, key);
    }
    return x;
}

static void set_str(cJSON *obj, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, v);
}

static void key_of(int kind, const char *ns, const char *name, char *key, size_t cap)
{
    if (kind == NODES)
        snprintf(key, cap, "%s", name);
    else
        snprintf(key, cap, "%s/%s", ns ? ns : "default", name);
}

/* ---- store (lock held) ---- */

static char *event_line(const char *type, const cJSON *obj);

static void hev_free(struct hev *e)
{
    free(e->line);
    cJSON_Delete(e->labels);
}

static void hist_add(struct fakeapi *f, int kind, const char *type, const cJSON *obj)
{
    if (f->nhist >= f->hist_max) {
        size_t drop = f->nhist - f->hist_max / 2;
        for (size_t i = 0; i < drop; i++)
            hev_free(&f->hist[i]);
        f->compacted = f->hist[drop - 1].rv;
        memmove(f->hist, f->hist + drop, (f->nhist - drop) * sizeof *f->hist);
        f->nhist -= drop;
    }
    if (f->nhist == f->caphist) {
        f->caphist = f->caphist ? f->caphist * 2 : 1024;
        f->hist = mem_realloc(f->hist, f->caphist * sizeof *f->hist);
    }
    /* Printed here once, not per watcher: the bench's API server shares the
     * machine with the service it measures (vgpu-bench --churn). */
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
    f->hist[f->nhist++] = (struct hev){f->rv, kind, type, event_line(type, obj),
                                       labels ? cJSON_Duplicate(labels, 1) : NULL};
    if (kind == PODS)
        f->counts.pod_events++;
    pthread_cond_broadcast(&f->changed);
}

/* Store j (owned) under its key with a new resourceVersion. */
static long store(struct fakeapi *f, int kind, cJSON *j, const char *type)
{
    char key[600], rv[32];
    const char *name = meta_str(j, "name"), *ns = meta_str(j, "namespace");
    key_of(kind, ns, name, key, sizeof key);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    snprintf(rv, sizeof rv, "%ld", ++f->rv);
    set_str(meta, "resourceVersion", rv);
    if (kind == PODS && !meta_str(j, "uid")) {
        char uid[48];
        snprintf(uid, sizeof uid, "fake-uid-%ld", ++f->uid_seq);
        set_str(meta, "uid", uid);
    }
    if (kind == PODS && !meta_str(j, "namespace"))
        set_str(meta, "namespace", "default");
    hist_add(f, kind, type, j);
    struct obj *o = hmap_get(f->objs[kind], key);
    if (!o) {
        o = mem_zalloc(sizeof *o);
        snprintf(o->key, sizeof o->key, "%s", key);
        hmap_put(f->objs[kind], o->key, o);
    }
    cJSON_Delete(o->j);
    o->j = j;
    return f->rv;
}

static int unstore(struct fakeapi *f, int kind, const char *key)
{
    char rv[32];
    struct obj *o = hmap_del(f->objs[kind], key);
    if (!o)
        return -1;
    snprintf(rv, sizeof rv, "%ld", ++f->rv);
    set_str(cJSON_GetObjectItemCaseSensitive(o->j, "metadata"), "resourceVersion", rv);
    hist_add(f, kind, "DELETED", o->j);
    cJSON_Delete(o->j);
    free(o);
    return 0;
}

static cJSON *lookup(struct fakeapi *f, int kind, const char *key)
{
    struct obj *o = hmap_get(f->objs[kind], key);
    return o ? o->j : NULL;
}

/* RFC 7386 onto t. */
static void merge(cJSON *t, const cJSON *p)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, p)
    {
        cJSON *cur = cJSON_GetObjectItemCaseSensitive(t, it->string);
        if (cJSON_IsNull(it)) {
            cJSON_DeleteItemFromObjectCaseSensitive(t, it->string);
        } else if (cJSON_IsObject(it)) {
            if (!cJSON_IsObject(cur)) {
                cJSON_DeleteItemFromObjectCaseSensitive(t, it->string);
                cur = cJSON_AddObjectToObject(t, it->string);
            }
            merge(cur, it);
        } else if (cur) {
            cJSON_ReplaceItemInObjectCaseSensitive(t, it->string, cJSON_Duplicate(it, 1));
        } else {
            cJSON_AddItemToObject(t, it->string, cJSON_Duplicate(it, 1));
        }
    }
}

static const char *ann(const cJSON *o, const char *key)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "annotations");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, key));
}

/* Count lock and handshake writes of a node patch, before it applies. */
static void account_node_patch(struct fakeapi *f, const cJSON *cur, const cJSON *patch)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(patch, "metadata");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(m, "annotations");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(a, LOCK_KEY);
    if (cJSON_GetObjectItemCaseSensitive(a, SHAKE_KEY))
        f->counts.handshakes++;
    if (cJSON_IsNull(l) && ann(cur, LOCK_KEY))
        f->counts.lock_releases++;
    if (!cJSON_IsString(l))
        return;
    f->counts.lock_takes++;
    struct nodelock old, neu;
    const char *have = ann(cur, LOCK_KEY);
    if (have && nodelock_parse(have, &old) == 0 && nodelock_parse(l->valuestring, &neu) == 0 &&
        clock_wall_s() - old.time <= LOCK_TIMEOUT &&
        (strcmp(old.ns, neu.ns) != 0 || strcmp(old.name, neu.name) != 0))
        f->counts.lock_overwrites++;
}

/* Apply a merge patch; returns the status; msg says why on failure. */
static int patch_locked(struct fakeapi *f, int kind, const char *key, const char *text, bool faults,
                        char *msg, size_t cap)
{
    cJSON *p = cJSON_Parse(text), *cur = lookup(f, kind, key);
    int status = 200;
    if (!cJSON_IsObject(p)) {
        snprintf(msg, cap, "the patch is not a JSON object");
        status = 400;
        goto out;
    }
    if (!cur) {
        snprintf(msg, cap, "%s \"%s\" not found", kind_names[kind], key);
        status = 404;
        goto out;
    }
    const char *want = meta_str(p, "resourceVersion"), *uid = meta_str(p, "uid");
    if (want && strcmp(want, meta_str(cur, "resourceVersion")) != 0) {
        snprintf(msg, cap,
                 "Operation cannot be fulfilled on %s \"%s\": the object has been modified; "
                 "please apply your changes to the latest version and try again",
                 kind_names[kind], key);
        status = 409;
        goto out;
    }
    if (faults && want && kind == NODES &&
        (f->conflict_left > 0 ||
         (f->faults.conflict_every > 0 && ++f->conflict_seq % f->faults.conflict_every == 0))) {
        if (f->conflict_left > 0)
            f->conflict_left--;
        snprintf(msg, cap, "Operation cannot be fulfilled on nodes \"%s\": fake conflict storm",
                 key);
        status = 409;
        goto out;
    }
    if (uid && kind == PODS && strcmp(uid, meta_str(cur, "uid")) != 0) {
        snprintf(msg, cap,
                 "Pod \"%s\" is invalid: metadata.uid: Invalid value: \"%s\": field is "
                 "immutable",
                 key, uid);
        status = 422;
        goto out;
    }
    if (kind == NODES)
        account_node_patch(f, cur, p);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "resourceVersion");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "uid");
    cJSON *next = cJSON_Duplicate(cur, 1);
    merge(next, p);
    store(f, kind, next, "MODIFIED");
out:
    if (status == 409)
        f->counts.conflicts++;
    cJSON_Delete(p);
    return status;
}

/* ---- the test's side ---- */

static int kind_of(const char *k)
{
    return strcmp(k, "nodes") == 0                  ? NODES
           : strcmp(k, "leases") == 0               ? LEASES
           : strcmp(k, "resourcequotas") == 0       ? QUOTAS
           : strcmp(k, "poddisruptionbudgets") == 0 ? PDBS
                                                    : PODS;
}

long fakeapi_put(struct fakeapi *f, const char *kind, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    if (!cJSON_IsObject(j) || !meta_str(j, "name")) {
        cJSON_Delete(j);
        return -1;
    }
    pthread_mutex_lock(&f->lock);
    char key[600];
    int k = kind_of(kind);
    key_of(k, meta_str(j, "namespace"), meta_str(j, "name"), key, sizeof key);
    long rv = store(f, k, j, lookup(f, k, key) ? "MODIFIED" : "ADDED");
    pthread_mutex_unlock(&f->lock);
    return rv;
}

int fakeapi_delete(struct fakeapi *f, const char *kind, const char *ns, const char *name)
{
    char key[600];
    int k = kind_of(kind);
    key_of(k, ns, name, key, sizeof key);
    pthread_mutex_lock(&f->lock);
    int rc = unstore(f, k, key);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

cJSON *fakeapi_get(struct fakeapi *f, const char *kind, const char *ns, const char *name)
{
    char key[600];
    int k = kind_of(kind);
    key_of(k, ns, name, key, sizeof key);
    pthread_mutex_lock(&f->lock);
    cJSON *j = lookup(f, k, key);
    j = j ? cJSON_Duplicate(j, 1) : NULL;
    pthread_mutex_unlock(&f->lock);
    return j;
}

cJSON *fakeapi_list(struct fakeapi *f, const char *kind)
{
    cJSON *a = cJSON_CreateArray();
    size_t it = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&f->lock);
    while (hmap_next(f->objs[kind_of(kind)], &it, &k, &v))
        cJSON_AddItemToArray(a, cJSON_Duplicate(((struct obj *)v)->j, 1));
    pthread_mutex_unlock(&f->lock);
    return a;
}

int fakeapi_patch(struct fakeapi *f, const char *kind, const char *ns, const char *name,
                  const char *patch)
{
    char key[600], msg[512];
    int k = kind_of(kind);
    key_of(k, ns, name, key, sizeof key);
    pthread_mutex_lock(&f->lock);
    int st = patch_locked(f, k, key, patch, false, msg, sizeof msg);
    pthread_mutex_unlock(&f->lock);
    return st;
}

void fakeapi_set_history(struct fakeapi *f, size_t max)
{
    pthread_mutex_lock(&f->lock);
    f->hist_max = max >= 2 ? max : 2;
    pthread_mutex_unlock(&f->lock);
}

void fakeapi_compact(struct fakeapi *f)
{
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->nhist; i++)
        hev_free(&f->hist[i]);
    f->nhist = 0;
    f->compacted = f->rv;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
}

int fakeapi_play_device_plugin(struct fakeapi *f)
{
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    pthread_mutex_lock(&f->lock);
    size_t cnt = hmap_count(f->objs[PODS]);
    char **keys = mem_alloc(sizeof *keys * (cnt + 1));
    while (hmap_next(f->objs[PODS], &it, &k, &v)) {
        const cJSON *p = ((struct obj *)v)->j;
        const char *phase = ann(p, "hami.io/bind-phase");
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(p, "spec");
        const char *node = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "nodeName"));
        if (node && phase && strcmp(phase, "allocating") == 0)
            keys[n++] = mem_strdup(k);
    }
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_Duplicate(lookup(f, PODS, keys[i]), 1);
        const char *node = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(p, "spec"), "nodeName"));
        char owner[600];
        snprintf(owner, sizeof owner, ",%s,%s", meta_str(p, "namespace"), meta_str(p, "name"));
        cJSON *nd = lookup(f, NODES, node);
        const char *lk = nd ? ann(nd, LOCK_KEY) : NULL;
        if (lk && strlen(lk) > strlen(owner) &&
            strcmp(lk + strlen(lk) - strlen(owner), owner) == 0) {
            cJSON *next = cJSON_Duplicate(nd, 1);
            cJSON_DeleteItemFromObjectCaseSensitive(meta_obj(next, "annotations"), LOCK_KEY);
            f->counts.lock_releases++;
            store(f, NODES, next, "MODIFIED");
        }
        set_str(meta_obj(p, "annotations"), "hami.io/bind-phase", "success");
        store(f, PODS, p, "MODIFIED");
        free(keys[i]);
    }
    free(keys);
    pthread_mutex_unlock(&f->lock);
    return (int)n;
}

void fakeapi_counts(struct fakeapi *f, struct fakeapi_counts *out)
{
    pthread_mutex_lock(&f->lock);
    *out = f->counts;
    pthread_mutex_unlock(&f->lock);
}

cJSON *fakeapi_events(struct fakeapi *f)
{
    pthread_mutex_lock(&f->lock);
    cJSON *e = cJSON_Duplicate(f->events, 1);
    pthread_mutex_unlock(&f->lock);
    return e;
}

char *fakeapi_log(struct fakeapi *f)
{
    pthread_mutex_lock(&f->lock);
    char *s = mem_strdup(buf_str(&f->log));
    pthread_mutex_unlock(&f->lock);
    return s;
}

void fakeapi_set_faults(struct fakeapi *f, const struct fakeapi_faults *x)
{
    pthread_mutex_lock(&f->lock);
    f->faults = *x;
    f->conflict_left = x->conflict_next;
    f->expire_left = x->expire_next;
    pthread_mutex_unlock(&f->lock);
}

int fakeapi_add_client(struct fakeapi *f, const char *who, const char *token)
{
    int rc = -1;
    pthread_mutex_lock(&f->lock);
    if (f->nclients < FAKEAPI_CLIENTS_MAX && strlen(who) < 32 && strlen(token) < 256) {
        struct client *k = &f->clients[f->nclients++];
        snprintf(k->who, sizeof k->who, "%s", who);
        snprintf(k->token, sizeof k->token, "%s", token);
        k->cut[0] = '\0';
        rc = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

void fakeapi_cut_client(struct fakeapi *f, const char *who, const char *path_part)
{
    pthread_mutex_lock(&f->lock);
    for (int i = 0; i < f->nclients; i++)
        if (strcmp(f->clients[i].who, who) == 0)
            snprintf(f->clients[i].cut, sizeof f->clients[i].cut, "%s", path_part ? path_part : "");
    pthread_mutex_unlock(&f->lock);
}

int fakeapi_write_kubeconfig_token(const struct fakeapi *f, const char *path, const char *token)
{
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -1;
    fprintf(fp,
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
            "  cluster:\n    server: http://127.0.0.1:%d\ncontexts:\n- name: fake\n  context:\n"
            "    cluster: fake\n    user: fake\n    namespace: default\nusers:\n- name: fake\n"
            "  user:\n    token: %s\n",
            f->port, token);
    return fclose(fp) == 0 ? 0 : -1;
}

void fakeapi_set_token(struct fakeapi *f, const char *token)
{
    pthread_mutex_lock(&f->lock);
    snprintf(f->token, sizeof f->token, "%s", token);
    pthread_mutex_unlock(&f->lock);
}

int fakeapi_write_kubeconfig(const struct fakeapi *f, const char *path)
{
    return fakeapi_write_kubeconfig_token(f, path, FAKEAPI_TOKEN);
}

/* ---- HTTP ---- */

struct req {
    struct buf body;
};

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static const char *reason_of(int code)
{
    switch (code) {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 404:
        return "NotFound";
    case 409:
        return "Conflict";
    case 410:
        return "Expired";
    case 422:
        return "Invalid";
    case 500:
        return "InternalError";
    case 503:
        return "ServiceUnavailable";
    }
    return "Unknown";
}

static char *status_json(int code, const char *msg)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", code < 300 ? "Success" : "Failure");
    cJSON_AddStringToObject(s, "message", msg);
    cJSON_AddStringToObject(s, "reason", code < 300 ? "" : reason_of(code));
    cJSON_AddNumberToObject(s, "code", code);
    char *t = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return t;
}

static void log_call(struct fakeapi *f, const char *method, const char *url, int status,
                     const char *body)
{
    if (f->log.len > FAKEAPI_LOG_MAX - 1024)
        return;
    buf_printf(&f->log, "%s %s %d %.400s\n", method, url, status, body ? body : "");
}

/* Send a Status answer; counts and logs. Lock not held. */
static enum MHD_Result fail(struct fakeapi *f, struct MHD_Connection *c, const char *method,
                            const char *url, int code, const char *msg, const char *body)
{
    char *t = status_json(code, msg);
    pthread_mutex_lock(&f->lock);
    log_call(f, method, url, code, body);
    if (code == 401)
        f->counts.unauthorized++;
    pthread_mutex_unlock(&f->lock);
    enum MHD_Result ok = reply(c, code, t);
    free(t);
    return ok;
}

static bool labels_match(const cJSON *labels, const char *sel)
{
    char buf[512], *save = NULL;
    if (!sel || !*sel)
        return true;
    snprintf(buf, sizeof buf, "%s", sel);
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        char *ne = strstr(t, "!="), *eq = strchr(t, '=');
        if (t[0] == '!') {
            if (cJSON_GetObjectItemCaseSensitive(labels, t + 1))
                return false;
        } else if (ne) {
            *ne = '\0';
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, t));
            if (v && strcmp(v, ne + 2) == 0)
                return false;
        } else if (eq) {
            *eq = '\0';
            const char *want = eq[1] == '=' ? eq + 2 : eq + 1;
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, t));
            if (!v || strcmp(v, want) != 0)
                return false;
        } else if (!cJSON_GetObjectItemCaseSensitive(labels, t)) {
            return false;
        }
    }
    return true;
}

/* Whether obj's labels satisfy the label selector sel ("" or NULL: all). */
static bool selector_match(const cJSON *obj, const char *sel)
{
    return labels_match(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels"),
                        sel);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list page. Lock held. Returns the status; *out the body. */
static int list_locked(struct fakeapi *f, int kind, const char *ns, const char *limit_s,
                       const char *cont, const char *sel, char **out)
{
    long listrv = f->rv, limit = limit_s ? atol(limit_s) : 0;
    char after[600] = "", msg[256];
    if (cont && *cont) {
        const char *colon = strchr(cont, ':');
        listrv = atol(cont);
        if (!colon || listrv < f->compacted || f->expire_left > 0) {
            if (f->expire_left > 0)
                f->expire_left--;
            snprintf(msg, sizeof msg,
                     "The provided continue parameter is too old to display a consistent list "
                     "result. You can start a new list without the continue parameter.");
            *out = status_json(410, msg);
            return 410;
        }
        snprintf(after, sizeof after, "%s", colon + 1);
    }
    size_t n = 0, it = 0;
    const char *k;
    void *v;
    char **keys = mem_alloc(sizeof *keys * (hmap_count(f->objs[kind]) + 1));
    while (hmap_next(f->objs[kind], &it, &k, &v))
        keys[n++] = ((struct obj *)v)->key;
    qsort(keys, n, sizeof *keys, cmp_str);
    cJSON *list = cJSON_CreateObject(), *items = cJSON_CreateArray();
    cJSON_AddStringToObject(list, "kind", list_kinds[kind]);
    cJSON_AddStringToObject(list, "apiVersion", "v1");
    cJSON *meta = cJSON_AddObjectToObject(list, "metadata");
    char rv[32];
    snprintf(rv, sizeof rv, "%ld", listrv);
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
    long taken = 0;
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        if (after[0] && strcmp(keys[i], after) <= 0)
            continue;
        const cJSON *o = lookup(f, kind, keys[i]);
        if (ns && strcmp(meta_str(o, "namespace"), ns) != 0)
            continue;
        if (!selector_match(o, sel))
            continue;
        if (limit > 0 && taken == limit) {
            more = true;
            break;
        }
        cJSON_AddItemToArray(items, cJSON_Duplicate(o, 1));
        last = keys[i];
        taken++;
    }
    if (more) {
        char c[700];
        snprintf(c, sizeof c, "%ld:%s", listrv, last);
        cJSON_AddStringToObject(meta, "continue", c);
    }
    cJSON_AddItemToObject(list, "items", items);
    *out = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    free(keys);
    f->counts.lists++;
    return 200;
}

/* ---- watches ---- */

struct watcher {
    struct fakeapi *f;
    int kind;
    long rv;
    char sel[256];
    bool bookmarks, end;
    double next_bookmark, start;
    char *out;
    size_t outlen, outpos;
};

static char *event_line(const char *type, const cJSON *obj)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemReferenceToObject(e, "object", (cJSON *)obj); /* not freed with e */
    char *t = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    size_t n = strlen(t);
    t = mem_realloc(t, n + 2);
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

/* The next line for w, or NULL to end the stream. Lock held. */
static char *next_line(struct watcher *w)
{
    struct fakeapi *f = w->f;
    for (;;) {
        double now = clock_wall_s();
        if (f->stopping)
            return NULL;
        if (f->faults.hold_watches)
            goto wait;
        if (w->rv < f->compacted) {
            w->end = true;
            char *text = status_json(410, "too old resource version");
            cJSON *st = cJSON_Parse(text);
            char *t = event_line("ERROR", st);
            cJSON_Delete(st);
            free(text);
            return t;
        }
        /* Binary search for the first event after w->rv. */
        size_t lo = 0, hi = f->nhist;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (f->hist[mid].rv <= w->rv)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < f->nhist; i++) {
            const struct hev *e = &f->hist[i];
            w->rv = e->rv;
            if (e->kind == w->kind && labels_match(e->labels, w->sel))
                return mem_strdup(e->line);
        }
        if (f->faults.drop_watch_ms > 0 && now - w->start >= f->faults.drop_watch_ms / 1000.0)
            return NULL;
        if (w->bookmarks && now >= w->next_bookmark) {
            int ms = f->faults.bookmark_ms > 0 ? f->faults.bookmark_ms : 1000;
            w->next_bookmark = now + ms / 1000.0;
            char b[256];
            snprintf(b, sizeof b,
                     "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"v1\","
                     "\"metadata\":{\"resourceVersion\":\"%ld\"}}}\n",
                     obj_kinds[w->kind], w->rv);
            return mem_strdup(b);
        }
    wait:;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->changed, &f->lock, &until);
    }
}

static ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct watcher *w = cls;
    (void)pos;
    if (w->outpos == w->outlen) {
        free(w->out);
        w->out = NULL;
        w->outlen = w->outpos = 0;
        if (w->end)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&w->f->lock);
        w->out = next_line(w);
        pthread_mutex_unlock(&w->f->lock);
        if (!w->out)
            return MHD_CONTENT_READER_END_OF_STREAM;
        w->outlen = strlen(w->out);
    }
    size_t n = w->outlen - w->outpos < max ? w->outlen - w->outpos : max;
    memcpy(buf, w->out + w->outpos, n);
    w->outpos += n;
    return (ssize_t)n;
}

static void watch_free(void *cls)
{
    struct watcher *w = cls;
    free(w->out);
    free(w);
}

static enum MHD_Result start_watch(struct fakeapi *f, struct MHD_Connection *c, int kind,
                                   const char *rv, const char *bm, const char *sel)
{
    struct watcher *w = mem_zalloc(sizeof *w);
    w->f = f;
    w->kind = kind;
    snprintf(w->sel, sizeof w->sel, "%s", sel ? sel : "");
    w->bookmarks = bm && strcmp(bm, "true") == 0;
    pthread_mutex_lock(&f->lock);
    w->rv = rv && *rv ? atol(rv) : f->rv;
    w->start = clock_wall_s();
    w->next_bookmark =
        clock_wall_s() + (f->faults.bookmark_ms > 0 ? f->faults.bookmark_ms : 1000) / 1e3;
    f->counts.watches++;
    log_call(f, "GET", kind_names[kind], 200, "watch");
    pthread_mutex_unlock(&f->lock);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, watch_read, w, watch_free);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- routes ---- */

static const char *arg(struct MHD_Connection *c, const char *k)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static int do_binding(struct fakeapi *f, const char *ns, const char *name, const char *body,
                      char *msg, size_t cap)
{
    cJSON *b = cJSON_Parse(body);
    char key[600];
    int st = 201;
    const char *bname = meta_str(b, "name"), *uid = meta_str(b, "uid");
    const char *target = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(b, "target"), "name"));
    key_of(PODS, ns, name, key, sizeof key);
    if (!cJSON_IsObject(b) || !target || !*target || !bname || strcmp(bname, name) != 0) {
        snprintf(msg, cap, "Binding is invalid: needs metadata.name = %s and target.name", name);
        st = 400;
        goto out;
    }
    cJSON *p = lookup(f, PODS, key);
    if (!p) {
        snprintf(msg, cap, "pods \"%s\" not found", name);
        st = 404;
        goto out;
    }
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(p, "spec");
    const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "nodeName"));
    if (uid && *uid && strcmp(uid, meta_str(p, "uid")) != 0) {
        snprintf(msg, cap,
                 "Operation cannot be fulfilled on pods/binding \"%s\": Precondition failed: UID "
                 "in precondition: %s, UID in object meta: %s",
                 name, uid, meta_str(p, "uid"));
        st = 409;
        goto out;
    }
    if (have && *have) {
        snprintf(msg, cap,
                 "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already "
                 "assigned to node \"%s\"",
                 name, name, have);
        st = 409;
        goto out;
    }
    cJSON *next = cJSON_Duplicate(p, 1);
    cJSON *s = cJSON_GetObjectItemCaseSensitive(next, "spec");
    if (!cJSON_IsObject(s))
        s = cJSON_AddObjectToObject(next, "spec");
    set_str(s, "nodeName", target);
    store(f, PODS, next, "MODIFIED");
    f->counts.bindings++;
    snprintf(msg, cap, "bound");
out:
    if (st == 409)
        f->counts.conflicts++;
    cJSON_Delete(b);
    return st;
}

/* Route one complete request. Returns the status and *out (new). A call
 * on one stored object, or an event, is logged (as tag) in the same hold
 * of the lock as its change, and *logged set; the caller logs the others. */
static int route(struct fakeapi *f, struct MHD_Connection *c, const char *method, const char *url,
                 const char *body, const char *tag, char **out, bool *watch, bool *logged)
{
    char path[1024], msg[1024], key[600], *parts[12], *save = NULL;
    int n = 0, st = 404;
    snprintf(path, sizeof path, "%s", url);
    for (char *t = strtok_r(path, "/", &save); t && n < 12; t = strtok_r(NULL, "/", &save))
        parts[n++] = t;
    *out = NULL;
    *watch = *logged = false;
    snprintf(msg, sizeof msg, "the server could not find the requested resource");
    bool get = strcmp(method, "GET") == 0;
    int kind = -1;
    const char *ns = NULL, *name = NULL, *sub = NULL;
    if (n == 7 && strcmp(parts[0], "apis") == 0 && strcmp(parts[1], "coordination.k8s.io") == 0 &&
        strcmp(parts[2], "v1") == 0 && strcmp(parts[3], "namespaces") == 0 &&
        strcmp(parts[5], "leases") == 0) {
        kind = LEASES;
        ns = parts[4];
        name = parts[6];
    } else if (n == 4 && strcmp(parts[0], "apis") == 0 && strcmp(parts[1], "policy") == 0 &&
               strcmp(parts[2], "v1") == 0 && strcmp(parts[3], "poddisruptionbudgets") == 0) {
        kind = PDBS; /* list and watch only */
    } else if (n < 3 || strcmp(parts[0], "api") || strcmp(parts[1], "v1")) {
        goto status;
    } else if (n >= 3 && strcmp(parts[2], "nodes") == 0 && n <= 4) {
        kind = NODES;
        name = n == 4 ? parts[3] : NULL;
    } else if (n == 3 && strcmp(parts[2], "pods") == 0) {
        kind = PODS;
    } else if (n == 3 && strcmp(parts[2], "resourcequotas") == 0 && get) {
        kind = QUOTAS;
    } else if (n >= 5 && strcmp(parts[2], "namespaces") == 0 && strcmp(parts[4], "pods") == 0 &&
               n <= 7) {
        kind = PODS;
        ns = parts[3];
        name = n >= 6 ? parts[5] : NULL;
        sub = n == 7 ? parts[6] : NULL;
    } else if (n == 5 && strcmp(parts[2], "namespaces") == 0 && strcmp(parts[4], "events") == 0 &&
               strcmp(method, "POST") == 0) {
        cJSON *e = cJSON_Parse(body);
        if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, "involvedObject")) {
            cJSON_Delete(e);
            snprintf(msg, sizeof msg, "Event is invalid: no involvedObject");
            st = 400;
            goto status;
        }
        pthread_mutex_lock(&f->lock);
        f->counts.events++;
        if (f->nevents < EVENTS_MAX) {
            cJSON_AddItemToArray(f->events, e);
            f->nevents++;
        } else
            cJSON_Delete(e);
        log_call(f, tag, url, 201, body);
        *logged = true;
        pthread_mutex_unlock(&f->lock);
        *out = mem_strdup(body);
        return 201;
    } else {
        goto status;
    }
    if (get && !name && arg(c, "watch") &&
        (strcmp(arg(c, "watch"), "1") == 0 || strcmp(arg(c, "watch"), "true") == 0)) {
        *watch = true;
        return start_watch(f, c, kind, arg(c, "resourceVersion"), arg(c, "allowWatchBookmarks"),
                           arg(c, "labelSelector")) == MHD_YES
                   ? 200
                   : 500;
    }
    pthread_mutex_lock(&f->lock);
    if (get && !name) {
        st = list_locked(f, kind, ns, arg(c, "limit"), arg(c, "continue"), arg(c, "labelSelector"),
                         out);
        pthread_mutex_unlock(&f->lock);
        return st;
    }
    if (name)
        key_of(kind, ns, name, key, sizeof key);
    if (get && name && !sub) {
        cJSON *o = lookup(f, kind, key);
        if (o) {
            *out = cJSON_PrintUnformatted(o);
            st = 200;
        } else {
            snprintf(msg, sizeof msg, "%s \"%s\" not found", kind_names[kind], name);
        }
    } else if (strcmp(method, "PATCH") == 0 && name && !sub) {
        st = patch_locked(f, kind, key, body, true, msg, sizeof msg);
        if (kind == NODES)
            f->counts.node_patches++;
        else
            f->counts.pod_patches++;
        if (st == 200)
            *out = cJSON_PrintUnformatted(lookup(f, kind, key));
    } else if (strcmp(method, "DELETE") == 0 && name && !sub) {
        st = unstore(f, kind, key) == 0 ? 200 : 404;
        snprintf(msg, sizeof msg, st == 200 ? "deleted" : "not found");
    } else if (strcmp(method, "POST") == 0 && kind == PODS && sub && strcmp(sub, "binding") == 0) {
        st = do_binding(f, ns, name, body, msg, sizeof msg);
    } else {
        st = 405;
        snprintf(msg, sizeof msg, "method %s not allowed here", method);
    }
    /* logged with the change: whoever sees the new state sees the call */
    log_call(f, tag, url, st, body);
    *logged = true;
    pthread_mutex_unlock(&f->lock);
status:
    if (!*out)
        *out = status_json(st, msg);
    return st;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct fakeapi *f = cls;
    struct req *r = *con_cls;
    (void)version;
    if (!r) {
        r = mem_zalloc(sizeof *r);
        buf_init(&r->body, BODY_MAX);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        buf_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = buf_str(&r->body);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char want[300], tagged[64], cut[128] = "";
    pthread_mutex_lock(&f->lock);
    snprintf(want, sizeof want, "Bearer %s", f->token);
    snprintf(tagged, sizeof tagged, "%s", method);
    for (int i = 0; auth && i < f->nclients; i++)
        if (strncmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, f->clients[i].token) == 0) {
            snprintf(want, sizeof want, "%s", auth);
            snprintf(tagged, sizeof tagged, "%s:%s", f->clients[i].who, method);
            snprintf(cut, sizeof cut, "%s", f->clients[i].cut);
        }
    f->counts.requests++;
    long seq = ++f->call_seq;
    struct fakeapi_faults x = f->faults;
    pthread_mutex_unlock(&f->lock);
    const char *verb = method; /* routing; the log gets the tagged name */
    method = tagged;
    if (f->want_client_cert) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        unsigned n = 0;
        if (!ci || !gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n) || !n)
            return fail(f, c, method, url, 401, "Unauthorized: no client certificate", body);
    } else if (!auth || strcmp(auth, want) != 0) {
        return fail(f, c, method, url, 401, "Unauthorized", body);
    }
    if (cut[0] && strstr(url, cut))
        return fail(f, c, method, url, 503, "fake partition: this client is cut off", body);
    if (x.delay_ms > 0)
        clock_sleep_s(x.delay_ms / 1e3);
    if ((x.fail_every > 0 && seq % x.fail_every == 0) ||
        (x.fail_path[0] && strstr(url, x.fail_path))) {
        pthread_mutex_lock(&f->lock);
        f->counts.faults++;
        pthread_mutex_unlock(&f->lock);
        return fail(f, c, method, url, 500, "fake fault: injected error", body);
    }
    if (r->body.toobig)
        return fail(f, c, method, url, 413, "request body too large", NULL);
    char *out = NULL;
    bool watch = false, logged = false;
    int st = route(f, c, verb, url, body, method, &out, &watch, &logged);
    if (watch) {
        free(out);
        return st == 200 ? MHD_YES : MHD_NO;
    }
    if (!logged) {
        pthread_mutex_lock(&f->lock);
        log_call(f, method, url, st, body);
        pthread_mutex_unlock(&f->lock);
    }
    enum MHD_Result ok = reply(c, st, out);
    free(out);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)c;
    (void)code;
    if (r) {
        buf_free(&r->body);
        free(r);
        *con_cls = NULL;
    }
}

struct fakeapi *fakeapi_start(void)
{
    return fakeapi_start_tls(NULL, NULL, NULL);
}

struct fakeapi *fakeapi_start_tls(const char *cert_pem, const char *key_pem, const char *trust_pem)
{
    struct fakeapi *f = mem_zalloc(sizeof *f);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->hist_max = HIST_MAX;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
    for (int k = 0; k < NKINDS; k++)
        f->objs[k] = hmap_create();
    f->events = cJSON_CreateArray();
    snprintf(f->token, sizeof f->token, "%s", FAKEAPI_TOKEN);
    buf_init(&f->log, FAKEAPI_LOG_MAX);
    struct MHD_OptionItem tls[4] = {{MHD_OPTION_END, 0, NULL}};
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
    if (cert_pem) {
        int k = 0;
        f->cert = mem_strdup(cert_pem);
        f->key = mem_strdup(key_pem);
        tls[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, f->cert};
        tls[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, f->key};
        if (trust_pem) {
            f->trust = mem_strdup(trust_pem);
            f->want_client_cert = true;
            tls[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, f->trust};
        }
        tls[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        flags |= MHD_USE_TLS;
    }
    f->d = MHD_start_daemon(flags, 0, NULL, NULL, handle, f, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, f, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!f->d) {
        fakeapi_stop(f);
        return NULL;
    }
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    f->port = i ? i->port : 0;
    return f;
}

int fakeapi_port(const struct fakeapi *f)
{
    return f->port;
}

void fakeapi_stop(struct fakeapi *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
    if (f->d)
        MHD_stop_daemon(f->d);
    for (int k = 0; k < NKINDS; k++) {
        size_t it = 0;
        const char *key;
        void *v;
        while (hmap_next(f->objs[k], &it, &key, &v)) {
            cJSON_Delete(((struct obj *)v)->j);
            free(v);
        }
        hmap_destroy(f->objs[k]);
    }
    for (size_t i = 0; i < f->nhist; i++)
        hev_free(&f->hist[i]);
    free(f->hist);
    cJSON_Delete(f->events);
    buf_free(&f->log);
    free(f->cert);
    free(f->key);
    free(f->trust);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->changed);
    free(f);
}

/* watch.c: list + watch of nodes and pods into the cache; what needs a
 * write goes to the upkeep. Lock discipline (watch.h): w->apply, then
 * w->lock, then the upkeep's or the cache's lock. */
#include "k8s/watch.h"

#include <pthread.h>
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
#include "k8s/jsonstream.h"
#include "k8s/model.h"
#include "k8s/nodelock.h"
#include "k8s/pdb.h"
#include "k8s/quota.h"

enum kind { NODES, PODS, QUOTAS, PDBS, NKINDS };
_Static_assert(NKINDS == WATCH_KINDS, "watch.h counts the kinds");

static const char *const kind_path[NKINDS] = {"/api/v1/nodes", "/api/v1/pods",
                                              "/api/v1/resourcequotas",
                                              "/apis/policy/v1/poddisruptionbudgets"};
static const char *const kind_word[NKINDS] = {"nodes", "pods", "resourcequotas",
                                              "poddisruptionbudgets"};

static const char *const reasons[] = {"node_malformed",
                                      "node_unhealthy",
                                      "pod_malformed",
                                      "watch_error",
                                      "watch_relist",
                                      "pod_counted_by_request",
                                      "quota_malformed", /* a ResourceQuota or one of its limits */
                                      "pdb_malformed",
                                      "node_register_malformed",
                                      NULL};

/* A node as the watch last saw it. */
struct tnode {
    char *name;               /* the key */
    char *owner;              /* "ns/name" of its lock's owner, or NULL */
    char *lock;               /* the lock value, or NULL */
    char *bad;                /* the reason it was left out, or NULL */
    char *rowbad;             /* why some of its vendors' devices were left out, or NULL */
    struct tnode *next_owned; /* the next node locked by the same owner */
    uint32_t unhealthy;       /* bit r: inventory row r's handshake is stale */
    bool seen;
};

/* A pod as the watch last saw it. */
struct tpod {
    char *uid;       /* the key of pods */
    char *key;       /* "ns/name": the key of pod_keys */
    char *node;      /* spec.nodeName, or NULL */
    char *nominated; /* status.nominatedNodeName while not bound, or NULL */
    bool ended;      /* Succeeded, Failed or being deleted */
    bool told_bound; /* o.bound was called for it */
    bool seen;
};

/* A ResourceQuota as the watch last saw it. */
struct tquota {
    char *key; /* "ns/name" */
    bool seen;
};

/* A node whose handshake verdict changes with time: its JSON, looked at
 * again at `at`. */
struct recheck {
    char *name;
    char *json;
    double at;
};

struct watch {
    struct kube *k;
    struct cache *c;
    struct watch_options o;
    char *selector;           /* escaped, or NULL */
    pthread_t th[NKINDS + 1]; /* nodes, pods, resourcequotas, budgets, rechecks */
    int nth;
    atomic_bool stop;

    pthread_mutex_t apply; /* serializes node updates; taken before lock */

    pthread_mutex_t lock; /* guards everything below; wake signals the threads */
    pthread_cond_t wake;
    struct hmap *nodes;    /* name -> tnode */
    struct hmap *owners;   /* lock owner "ns/name" -> the tnodes it locks (a list) */
    struct hmap *pods;     /* uid -> tpod */
    struct hmap *pod_keys; /* "ns/name" -> tpod */
    struct hmap *rechecks; /* name -> recheck */
    struct hmap *quotas;   /* "ns/name" -> tquota */
    bool synced[NKINDS], ready;

    atomic_ulong lists, watches, events, relists, errors;
    atomic_ulong applied[NKINDS]; /* ADDED, MODIFIED and DELETED events handled, per kind */
};

const char *watch_kind_name(int kind)
{
    return kind >= 0 && kind < NKINDS ? kind_word[kind] : NULL;
}

const char *const *watch_reasons(void)
{
    return reasons;
}

static void count(struct watch *w, const char *reason)
{
    if (w->o.count)
        w->o.count(w->o.count_ctx, reason);
}

/* Sleep up to s seconds; false when asked to stop. */
static bool doze(struct watch *w, double s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + s;
    until.tv_sec = (time_t)t;
    until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stop)) {
        if (pthread_cond_timedwait(&w->wake, &w->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return !atomic_load(&w->stop);
}

static double jitter(double s)
{
    return s * (0.75 + (double)(rand() % 500) / 1000.0);
}

/* ---- tracking (w->lock held) ---- */

/* The records of kind. */
static struct hmap *kinds_map(struct watch *w, int kind)
{
    return kind == NODES ? w->nodes : kind == PODS ? w->pods : w->quotas;
}

static void tnode_free(struct tnode *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->owner);
    free(t->lock);
    free(t->bad);
    free(t->rowbad);
    free(t);
}

static void tpod_free(struct tpod *t)
{
    if (!t)
        return;
    free(t->uid);
    free(t->key);
    free(t->node);
    free(t->nominated);
    free(t);
}

static void recheck_free(struct recheck *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->json);
    free(r);
}

/* Take t off its owner's list in owners (the key lives in the head). */
static void owner_unlink(struct watch *w, struct tnode *t)
{
    struct tnode *head = t->owner ? hmap_get(w->owners, t->owner) : NULL;
    if (head == t) {
        hmap_del(w->owners, t->owner);
        if (t->next_owned)
            hmap_put(w->owners, t->next_owned->owner, t->next_owned);
    } else {
        for (struct tnode *p = head; p; p = p->next_owned)
            if (p->next_owned == t) {
                p->next_owned = t->next_owned;
                break;
            }
    }
    t->next_owned = NULL;
}

static void set_owner(struct watch *w, struct tnode *t, const char *lock)
{
    struct nodelock l;
    owner_unlink(w, t);
    free(t->owner);
    free(t->lock);
    t->owner = t->lock = NULL;
    if (!lock)
        return;
    t->lock = mem_strdup(lock);
    if (nodelock_parse(lock, &l) != 0 || l.legacy)
        return;
    size_t n = strlen(l.ns) + strlen(l.name) + 2;
    t->owner = mem_alloc(n);
    snprintf(t->owner, n, "%s/%s", l.ns, l.name);
    t->next_owned = hmap_get(w->owners, t->owner);
    hmap_put(w->owners, t->owner, t);
}

/* Hand t's lock to the upkeep to release. */
static void queue_orphan(struct watch *w, const struct tnode *t)
{
    if (t->lock)
        upkeep_orphan(w->o.upkeep, t->name, t->lock);
}

/* True when node t's lock serves nobody: its owner pod is not known (once
 * the pods are listed), is bound to another node, or has ended. */
static bool lock_useless(struct watch *w, const struct tnode *t)
{
    if (!t->owner)
        return false;
    const struct tpod *p = hmap_get(w->pod_keys, t->owner);
    if (!p)
        return w->synced[PODS];
    return p->ended || (p->node && strcmp(p->node, t->name) != 0);
}

/* After the pods are known: the locks that serve nobody. */
static void scan_orphans(struct watch *w)
{
    size_t it = 0;
    const char *k;
    void *v;
    if (!w->synced[PODS])
        return;
    while (hmap_next(w->nodes, &it, &k, &v))
        if (lock_useless(w, v))
            queue_orphan(w, v);
}

static void recheck_set(struct watch *w, const char *name, const cJSON *item, double at)
{
    struct recheck *r = hmap_get(w->rechecks, name);
    if (at <= 0) {
        if (r) {
            hmap_del(w->rechecks, name);
            recheck_free(r);
        }
        return;
    }
    if (!r) {
        r = mem_zalloc(sizeof *r);
        r->name = mem_strdup(name);
        hmap_put(w->rechecks, r->name, r);
    }
    free(r->json);
    r->json = cJSON_PrintUnformatted(item);
    r->at = at;
    pthread_cond_broadcast(&w->wake);
}

/* ---- nodes ---- */

/* HAMi's handshake per device backend of the node (w->lock held): a row
 * whose handshake is stale with nothing allocatable has its devices taken
 * out; the others stay. Returns when a verdict changes with time (0: never). */
static double node_health(struct watch *w, struct tnode *t, const char *name,
                          struct model_inventory *inv)
{
    double until = 0, now = clock_wall_s();
    uint32_t sick = 0;
    if (!inv->has_register || !w->o.handshake)
        return 0;
    for (int r = 0; r < inv->nrow; r++) {
        struct model_row *row = &inv->row[r];
        struct handshake_verdict v;
        if (row->bad)
            continue;
        handshake_check(row->handshake, row->alloc, now, &v);
        if (v.write)
            upkeep_handshake(w->o.upkeep, name, row->backend->ann_handshake);
        if (v.until > 0 && (until == 0 || v.until < until))
            until = v.until;
        if (v.healthy)
            continue;
        sick |= 1u << r;
        if (!(t->unhealthy & (1u << r))) {
            LOG_WARN("node %s: handshake %s %s is stale and nothing is allocatable: its %d %s "
                     "devices are left out until the device plugin reports",
                     name, row->backend->ann_handshake, row->handshake ? row->handshake : "(none)",
                     row->ndev, row->backend->name);
            count(w, "node_unhealthy");
        }
        model_inventory_drop_row(inv, r);
    }
    if (!sick && t->unhealthy)
        LOG_INFO("node %s: healthy again", name);
    t->unhealthy = sick;
    return until;
}

/* Log and count (w->lock held) the rows of the node whose register
 * annotation did not parse, once per distinct set of reasons. */
static void rows_bad(struct watch *w, struct tnode *t, const char *name,
                     const struct model_inventory *inv)
{
    char all[MODEL_ROWS_MAX * MODEL_ROW_BAD_MAX] = "";
    size_t n = 0;
    for (int r = 0; r < inv->nrow && n < sizeof all; r++)
        if (inv->row[r].bad)
            n += (size_t)snprintf(all + n, sizeof all - n, "%s%s", n ? "; " : "", inv->row[r].bad);
    if (!n) {
        free(t->rowbad);
        t->rowbad = NULL;
        return;
    }
    if (t->rowbad && strcmp(t->rowbad, all) == 0)
        return;
    LOG_WARN("node %s: devices left out: %s", name, all);
    count(w, "node_register_malformed");
    free(t->rowbad);
    t->rowbad = mem_strdup(all);
}

static void node_apply(struct watch *w, const cJSON *item)
{
    struct model_inventory *inv = NULL;
    char err[512];
    const char *name = model_str(item, "metadata", "name", NULL);
    if (!name || !*name || strlen(name) > MODEL_NAME_MAX) {
        count(w, "node_malformed");
        LOG_WARN("watch: a node without a usable metadata.name left out");
        return;
    }
    pthread_mutex_lock(&w->apply);
    int rc = model_node_parse(item, &inv, err, sizeof err);
    pthread_mutex_lock(&w->lock);
    struct tnode *t = hmap_get(w->nodes, name);
    if (!t) {
        t = mem_zalloc(sizeof *t);
        t->name = mem_strdup(name);
        hmap_put(w->nodes, t->name, t);
    }
    t->seen = true;
    if (rc) {
        if (!t->bad || strcmp(t->bad, err) != 0) {
            LOG_WARN("node %s left out: %s", name, err);
            count(w, "node_malformed");
            free(t->bad);
            t->bad = mem_strdup(err);
        }
        set_owner(w, t, NULL);
        recheck_set(w, name, NULL, 0);
        pthread_mutex_unlock(&w->lock);
        cache_node_del(w->c, name);
        pthread_mutex_unlock(&w->apply);
        return;
    }
    if (t->bad) {
        LOG_INFO("node %s is usable again", name);
        free(t->bad);
        t->bad = NULL;
    }
    double until = node_health(w, t, name, inv);
    recheck_set(w, name, item, until > 0 ? until + 0.5 : 0);
    rows_bad(w, t, name, inv);
    set_owner(w, t, inv->lock);
    if (lock_useless(w, t))
        queue_orphan(w, t);
    pthread_mutex_unlock(&w->lock);
    cache_node_put(w->c, inv);
    pthread_mutex_unlock(&w->apply);
}

static void node_forget_locked(struct watch *w, struct tnode *t)
{
    recheck_set(w, t->name, NULL, 0);
    set_owner(w, t, NULL);
    hmap_del(w->nodes, t->name);
    tnode_free(t);
}

static void node_delete(struct watch *w, const cJSON *item)
{
    const char *name = model_str(item, "metadata", "name", NULL);
    if (!name)
        return;
    pthread_mutex_lock(&w->apply);
    pthread_mutex_lock(&w->lock);
    struct tnode *t = hmap_get(w->nodes, name);
    if (t)
        node_forget_locked(w, t);
    pthread_mutex_unlock(&w->lock);
    cache_node_del(w->c, name);
    pthread_mutex_unlock(&w->apply);
}

/* ---- pods ---- */

/* Track the pod's nomination (w->lock held); true when it is newly
 * nominated to a node while not bound and not ended. */
static bool nomination(struct tpod *t, const struct model_pod_info *pi)
{
    const char *now = !pi->terminal && !(pi->node_name && *pi->node_name) ? pi->nominated : NULL;
    bool changed = now && (!t->nominated || strcmp(t->nominated, now) != 0);
    if (!now || changed) {
        free(t->nominated);
        t->nominated = now ? mem_strdup(now) : NULL;
    }
    return changed;
}

/* ---- disruption budgets (k8s/pdb.h) ---- */

static void pdb_apply(struct watch *w, const cJSON *item)
{
    char err[512];
    if (pdbs_put(cache_pdbs(w->c), item, err, sizeof err) != 0) {
        LOG_WARN("watch: %s; left out", err);
        count(w, "pdb_malformed");
    }
}

static void pdb_delete(struct watch *w, const cJSON *item)
{
    pdbs_del(cache_pdbs(w->c), model_str(item, "metadata", "namespace", NULL),
             model_str(item, "metadata", "name", NULL));
}

static void pod_apply(struct watch *w, const cJSON *item)
{
    struct model_pod_info pi;
    char err[512];
    if (model_pod_info(item, &pi, err, sizeof err) != 0 || !pi.uid || !*pi.uid || !pi.ns ||
        !pi.name) {
        LOG_WARN("watch: pod left out: %s", err);
        count(w, "pod_malformed");
        return;
    }
    if (cache_pod_put(w->c, &pi, err, sizeof err) != 0) {
        LOG_WARN("watch: %s", err);
        count(w, "pod_counted_by_request");
        if (w->o.warn)
            w->o.warn(w->o.warn_ctx, pi.ns, pi.name, pi.uid, WATCH_REASON_BY_REQUEST, err);
    }
    if (!pi.terminal && !pi.vgpu_node && !pi.node_name) {
        struct policy_pod *pp = mem_alloc(sizeof *pp);
        if (model_pod_parse(item, NULL, pp, err, sizeof err) == 0 && policy_pod_wants_gpu(pp)) {
            char *json = NULL;
            if (model_pod_compact(item, &json, err, sizeof err) != 0 ||
                cache_pending_put(w->c, pi.uid, json, 0, 0) != 0)
                LOG_WARN("pending pod %s/%s not kept for bind: %s", pi.ns, pi.name,
                         json ? "bigger than the store's bound" : err);
            cJSON_free(json);
        }
        free(pp);
    }
    pthread_mutex_lock(&w->lock);
    struct tpod *t = hmap_get(w->pods, pi.uid);
    if (!t) {
        t = mem_zalloc(sizeof *t);
        t->uid = mem_strdup(pi.uid);
        size_t n = strlen(pi.ns) + strlen(pi.name) + 2;
        t->key = mem_alloc(n);
        snprintf(t->key, n, "%s/%s", pi.ns, pi.name);
        hmap_put(w->pods, t->uid, t);
        hmap_put(w->pod_keys, t->key, t);
    }
    t->seen = true;
    t->ended = pi.terminal;
    if (!t->node || !pi.node_name || strcmp(t->node, pi.node_name) != 0) {
        free(t->node);
        t->node = pi.node_name && *pi.node_name ? mem_strdup(pi.node_name) : NULL;
    }
    /* A lock this pod holds on a node it is not bound to, or after it
     * ended, serves nobody (a bind cut short, e.g. by a restart). */
    for (struct tnode *n = hmap_get(w->owners, t->key); n; n = n->next_owned)
        if (lock_useless(w, n))
            queue_orphan(w, n);
    bool nominate = nomination(t, &pi);
    bool bound = !t->told_bound && !pi.terminal && t->node;
    t->told_bound |= bound;
    pthread_mutex_unlock(&w->lock);
    if (nominate && w->o.nominated)
        w->o.nominated(w->o.nominated_ctx, item, pi.nominated);
    if (bound && w->o.bound)
        w->o.bound(w->o.bound_ctx, item);
}

static void pod_forget_locked(struct watch *w, struct tpod *t)
{
    if (hmap_get(w->pod_keys, t->key) == t)
        hmap_del(w->pod_keys, t->key);
    for (struct tnode *n = hmap_get(w->owners, t->key); n && w->synced[PODS]; n = n->next_owned)
        queue_orphan(w, n); /* its owner is gone: release it */
    hmap_del(w->pods, t->uid);
    tpod_free(t);
}

static void pod_delete(struct watch *w, const cJSON *item)
{
    const char *uid = model_str(item, "metadata", "uid", NULL);
    if (!uid)
        return;
    cache_pod_del(w->c, uid);
    pthread_mutex_lock(&w->lock);
    struct tpod *t = hmap_get(w->pods, uid);
    if (t)
        pod_forget_locked(w, t);
    pthread_mutex_unlock(&w->lock);
}

/* ---- resourcequotas ---- */

static void quota_apply(struct watch *w, const cJSON *item)
{
    struct quota_limits l;
    const char *ns, *name;
    char err[512], key[2 * QUOTA_NAME_MAX + 2];
    int ignored = 0;
    if (quota_parse(item, &ns, &name, &l, &ignored, err, sizeof err) != 0) {
        LOG_WARN("watch: resourcequota left out: %s", err);
        count(w, "quota_malformed");
        return;
    }
    if (ignored) {
        LOG_WARN("watch: %s%s", err, ignored > 1 ? " (and more limits of it)" : "");
        count(w, "quota_malformed");
    }
    cache_quota_put(w->c, ns, name, &l);
    snprintf(key, sizeof key, "%s/%s", ns, name);
    pthread_mutex_lock(&w->lock);
    struct tquota *t = hmap_get(w->quotas, key);
    if (!t) {
        t = mem_zalloc(sizeof *t);
        t->key = mem_strdup(key);
        hmap_put(w->quotas, t->key, t);
    }
    t->seen = true;
    pthread_mutex_unlock(&w->lock);
}

/* Forget ResourceQuota key ("ns/name"): the watch's record and the cache's. */
static void quota_forget(struct watch *w, const char *key)
{
    const char *slash = strchr(key, '/');
    pthread_mutex_lock(&w->lock);
    struct tquota *t = hmap_del(w->quotas, key);
    pthread_mutex_unlock(&w->lock);
    if (t) {
        free(t->key);
        free(t);
    }
    if (slash) {
        char ns[QUOTA_NAME_MAX + 1];
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
        cache_quota_del(w->c, ns, slash + 1);
    }
}

static void quota_delete(struct watch *w, const cJSON *item)
{
    const char *ns = model_str(item, "metadata", "namespace", NULL);
    const char *name = model_str(item, "metadata", "name", NULL);
    char key[2 * QUOTA_NAME_MAX + 2];
    if (!ns || !name || strlen(ns) > QUOTA_NAME_MAX || strlen(name) > QUOTA_NAME_MAX)
        return;
    snprintf(key, sizeof key, "%s/%s", ns, name);
    quota_forget(w, key);
}

/* ---- list ---- */

static void mark_unseen(struct watch *w, int kind)
{
    size_t it = 0;
    if (kind == PDBS) {
        pdbs_clear(cache_pdbs(w->c)); /* the list brings every one again */
        return;
    }
    const char *k;
    void *v;
    pthread_mutex_lock(&w->lock);
    while (hmap_next(kinds_map(w, kind), &it, &k, &v)) {
        if (kind == NODES)
            ((struct tnode *)v)->seen = false;
        else if (kind == PODS)
            ((struct tpod *)v)->seen = false;
        else
            ((struct tquota *)v)->seen = false;
    }
    pthread_mutex_unlock(&w->lock);
}

/* Delete what the last list did not show. */
static void reconcile(struct watch *w, int kind)
{
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    if (kind == PDBS)
        return; /* mark_unseen cleared them */
    pthread_mutex_lock(&w->lock);
    struct hmap *m = kinds_map(w, kind);
    char **gone = mem_alloc(sizeof *gone * (hmap_count(m) + 1));
    while (hmap_next(m, &it, &k, &v))
        if (!(kind == NODES  ? ((struct tnode *)v)->seen
              : kind == PODS ? ((struct tpod *)v)->seen
                             : ((struct tquota *)v)->seen))
            gone[n++] = mem_strdup(k);
    for (size_t i = 0; i < n; i++) {
        if (kind == NODES)
            node_forget_locked(w, hmap_get(w->nodes, gone[i]));
        else if (kind == PODS)
            pod_forget_locked(w, hmap_get(w->pods, gone[i]));
    }
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < n; i++) {
        if (kind == NODES)
            cache_node_del(w->c, gone[i]);
        else if (kind == PODS)
            cache_pod_del(w->c, gone[i]);
        else
            quota_forget(w, gone[i]);
        free(gone[i]);
    }
    if (n)
        LOG_INFO("watch: %zu %s gone since the last list, removed", n, kind_word[kind]);
    free(gone);
}

static void apply(struct watch *w, int kind, const cJSON *item)
{
    if (kind == NODES)
        node_apply(w, item);
    else if (kind == PODS)
        pod_apply(w, item);
    else if (kind == QUOTAS)
        quota_apply(w, item);
    else
        pdb_apply(w, item);
}

/* One page of a list, read as it arrives (k8s/jsonstream.h): each item is
 * parsed and applied alone, so a page is never held whole. */
struct page {
    struct watch *w;
    int kind;
    struct jsonstream *js;
    size_t items;
    char err[256];
};

static int on_page_item(void *ctx, const struct jsonstream_item *it)
{
    struct page *pg = ctx;
    cJSON *item = cJSON_ParseWithLength(it->json, it->len);
    if (!item) {
        snprintf(pg->err, sizeof pg->err, "item %zu (byte %zu) is not JSON", it->index, it->offset);
        return ERR_PROTO;
    }
    apply(pg->w, pg->kind, item);
    cJSON_Delete(item);
    pg->items++;
    return 0;
}

static int on_page_bytes(void *ctx, const char *p, size_t n)
{
    struct page *pg = ctx;
    return jsonstream_feed(pg->js, p, n, pg->err, sizeof pg->err);
}

/* One full paged list. Returns 0 with the list's resourceVersion in rv. */
static int list(struct watch *w, int kind, char *rv, size_t cap)
{
    char path[KUBE_PATH_MAX], cont[4096] = "", msg[768];
    int restarts = 0, rc = 0, pages = 0;
    size_t items = 0;
    mark_unseen(w, kind);
    rv[0] = '\0';
    for (;;) {
        struct kube_resp r;
        int n = snprintf(path, sizeof path, "%s?limit=%d", kind_path[kind],
                         w->o.page_size > 0 ? w->o.page_size : WATCH_PAGE_DEFAULT);
        if (kind == NODES && w->selector)
            n += snprintf(path + n, sizeof path - (size_t)n, "&labelSelector=%s", w->selector);
        if (cont[0])
            snprintf(path + n, sizeof path - (size_t)n, "&continue=%s", cont);
        struct page pg = {.w = w, .kind = kind};
        pg.js = jsonstream_create(KUBE_LINE_MAX, on_page_item, &pg);
        rc = kube_get_chunks(w->k, path, on_page_bytes, &pg, &r);
        if (rc == 0)
            rc = jsonstream_end(pg.js, pg.err, sizeof pg.err);
        items += pg.items;
        cJSON *root = jsonstream_head(pg.js);
        jsonstream_destroy(pg.js);
        if (rc && pg.err[0]) {
            LOG_WARN("watch: list of %s: the answer is not a list: %s", kind_word[kind], pg.err);
            cJSON_Delete(root);
            kube_resp_free(&r);
            return ERR_PROTO;
        }
        if (rc && r.status == 410 && cont[0] && restarts++ < 3) {
            LOG_INFO("watch: list of %s: continue token expired; listing again", kind_word[kind]);
            count(w, "watch_relist");
            cJSON_Delete(root);
            kube_resp_free(&r);
            cont[0] = '\0';
            rv[0] = '\0';
            items = 0;
            pages = 0;
            mark_unseen(w, kind);
            continue;
        }
        if (rc) {
            kube_describe(&r, rc, "list", msg, sizeof msg);
            LOG_WARN("watch: %s %s", kind_word[kind], msg);
            cJSON_Delete(root);
            kube_resp_free(&r);
            return rc;
        }
        const char *lrv = model_str(root, "metadata", "resourceVersion", NULL);
        const char *next = model_str(root, "metadata", "continue", NULL);
        if (!lrv || strlen(lrv) >= cap) {
            LOG_WARN("watch: list of %s: the answer is not a list", kind_word[kind]);
            cJSON_Delete(root);
            kube_resp_free(&r);
            return ERR_PROTO;
        }
        if (!rv[0])
            snprintf(rv, cap, "%s", lrv);
        pages++;
        rc = 0;
        if (next && *next && kube_escape(next, cont, sizeof cont) != 0) {
            LOG_WARN("watch: list of %s: continue token too long", kind_word[kind]);
            rc = ERR_TOOBIG;
        }
        bool more = next && *next && rc == 0;
        cJSON_Delete(root);
        kube_resp_free(&r);
        if (rc)
            return rc;
        if (!more)
            break;
        if (atomic_load(&w->stop))
            return ERR_IO;
    }
    reconcile(w, kind);
    atomic_fetch_add(&w->lists, 1);
    LOG_INFO("watch: listed %zu %s in %d page%s at resourceVersion %s", items, kind_word[kind],
             pages, pages == 1 ? "" : "s", rv);
    pthread_mutex_lock(&w->lock);
    w->synced[kind] = true;
    bool now_ready = !w->ready && w->synced[NODES] && w->synced[PODS] && w->synced[QUOTAS];
    w->ready = w->ready || now_ready;
    scan_orphans(w);
    pthread_mutex_unlock(&w->lock);
    if (now_ready) {
        cache_set_ready(w->c, true);
        LOG_INFO("cache synced with the API server: ready");
    }
    return 0;
}

/* ---- watch ---- */

struct stream {
    struct watch *w;
    int kind;
    char *rv;
    size_t cap;
    bool gone;
    unsigned long events;
};

static int on_line(void *ctx, char *line, size_t len)
{
    struct stream *s = ctx;
    cJSON *e = cJSON_ParseWithLength(line, len);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(e, "object");
    int stop = 0;
    if (!type || !cJSON_IsObject(obj)) {
        LOG_WARN("watch: %s: an event that is not {type, object}; reconnecting",
                 kind_word[s->kind]);
        count(s->w, "watch_error");
        stop = 1;
        goto out;
    }
    if (strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "message"));
        s->gone = cJSON_IsNumber(code) && code->valueint == 410;
        if (!s->gone) {
            LOG_WARN("watch: %s: ERROR event: %.200s", kind_word[s->kind], m ? m : "");
            count(s->w, "watch_error");
        }
        stop = 1;
        goto out;
    }
    const char *rv = model_str(obj, "metadata", "resourceVersion", NULL);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        apply(s->w, s->kind, obj);
    else if (strcmp(type, "DELETED") == 0 && s->kind == NODES)
        node_delete(s->w, obj);
    else if (strcmp(type, "DELETED") == 0 && s->kind == PODS)
        pod_delete(s->w, obj);
    else if (strcmp(type, "DELETED") == 0 && s->kind == QUOTAS)
        quota_delete(s->w, obj);
    else if (strcmp(type, "DELETED") == 0)
        pdb_delete(s->w, obj);
    else if (strcmp(type, "BOOKMARK") != 0)
        LOG_DEBUG("watch: %s: event type %.20s ignored", kind_word[s->kind], type);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 || strcmp(type, "DELETED") == 0)
        atomic_fetch_add(&s->w->applied[s->kind], 1);
    if (rv && strlen(rv) < s->cap)
        snprintf(s->rv, s->cap, "%s", rv);
    s->events++;
    atomic_fetch_add(&s->w->events, 1);
    stop = atomic_load(&s->w->stop) ? 1 : 0;
out:
    cJSON_Delete(e);
    return stop;
}

/* Watch from rv until the stream ends. Returns 0 (ended, rv advanced),
 * ERR_NOTFOUND standing for 410 Gone (list again), or an error. */
static int watch_once(struct watch *w, int kind, char *rv, size_t cap, unsigned long *events)
{
    char path[KUBE_PATH_MAX], msg[768];
    struct kube_resp r;
    int timeout = w->o.watch_timeout_s > 0 ? w->o.watch_timeout_s : 300 + rand() % 300;
    int n = snprintf(path, sizeof path,
                     "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d",
                     kind_path[kind], rv, timeout);
    if (kind == NODES && w->selector)
        snprintf(path + n, sizeof path - (size_t)n, "&labelSelector=%s", w->selector);
    struct stream s = {.w = w, .kind = kind, .rv = rv, .cap = cap};
    atomic_fetch_add(&w->watches, 1);
    int rc = kube_stream(w->k, path, on_line, &s, &w->stop, (timeout + 30) * 1000L, &r);
    *events = s.events;
    if (s.gone || r.status == 410) {
        kube_resp_free(&r);
        return ERR_NOTFOUND;
    }
    if (rc && !atomic_load(&w->stop)) {
        kube_describe(&r, rc, "watch", msg, sizeof msg);
        LOG_WARN("watch: %s %s", kind_word[kind], msg);
        count(w, "watch_error");
    }
    kube_resp_free(&r);
    return rc;
}

struct runner {
    struct watch *w;
    int kind;
};

static void *run(void *arg)
{
    struct runner *ru = arg;
    struct watch *w = ru->w;
    int kind = ru->kind;
    char rv[128] = "";
    double backoff = WATCH_BACKOFF_MIN;
    free(ru);
    while (!atomic_load(&w->stop)) {
        if (!rv[0]) {
            if (list(w, kind, rv, sizeof rv) != 0) {
                rv[0] = '\0';
                atomic_fetch_add(&w->errors, 1);
                doze(w, jitter(backoff));
                backoff = backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX : backoff * 2;
                continue;
            }
            backoff = WATCH_BACKOFF_MIN;
        }
        unsigned long events = 0;
        int rc = watch_once(w, kind, rv, sizeof rv, &events);
        if (atomic_load(&w->stop))
            break;
        if (rc == ERR_NOTFOUND) {
            LOG_INFO("watch: %s: resourceVersion %s is gone (410); listing again", kind_word[kind],
                     rv);
            count(w, "watch_relist");
            atomic_fetch_add(&w->relists, 1);
            rv[0] = '\0';
            continue;
        }
        if (rc == 0 && events > 0) {
            backoff = WATCH_BACKOFF_MIN; /* a healthy stream that ended: go on at once */
            continue;
        }
        if (rc)
            atomic_fetch_add(&w->errors, 1);
        doze(w, jitter(backoff));
        backoff = backoff * 2 > WATCH_BACKOFF_MAX ? WATCH_BACKOFF_MAX : backoff * 2;
    }
    return NULL;
}

/* ---- rechecks: a verdict that changes with time ---- */

/* Take the recheck that is due (w->lock held); NULL when none is, with
 * *next the time to look again. */
static struct recheck *take_due(struct watch *w, double *next)
{
    size_t it = 0;
    const char *k;
    void *v;
    double now = clock_wall_s();
    *next = now + 1.0;
    while (hmap_next(w->rechecks, &it, &k, &v)) {
        struct recheck *r = v;
        if (r->at <= now)
            return hmap_del(w->rechecks, k);
        if (r->at < *next)
            *next = r->at;
    }
    return NULL;
}

static void *rechecker(void *arg)
{
    struct watch *w = arg;
    while (!atomic_load(&w->stop)) {
        double next;
        pthread_mutex_lock(&w->lock);
        struct recheck *re = take_due(w, &next);
        if (!re && !atomic_load(&w->stop)) {
            struct timespec until = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
            pthread_cond_timedwait(&w->wake, &w->lock, &until);
        }
        pthread_mutex_unlock(&w->lock);
        if (re) {
            cJSON *item = cJSON_Parse(re->json);
            if (item)
                node_apply(w, item);
            cJSON_Delete(item);
        }
        recheck_free(re);
    }
    return NULL;
}

/* ---- start, stop ---- */

static void free_all(struct watch *w)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (hmap_next(w->nodes, &it, &k, &v))
        tnode_free(v);
    it = 0;
    while (hmap_next(w->pods, &it, &k, &v))
        tpod_free(v);
    it = 0;
    while (hmap_next(w->rechecks, &it, &k, &v))
        recheck_free(v);
    it = 0;
    while (hmap_next(w->quotas, &it, &k, &v)) {
        free(((struct tquota *)v)->key);
        free(v);
    }
    hmap_destroy(w->quotas);
    hmap_destroy(w->nodes);
    hmap_destroy(w->owners);
    hmap_destroy(w->pods);
    hmap_destroy(w->pod_keys);
    hmap_destroy(w->rechecks);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->apply);
    pthread_cond_destroy(&w->wake);
    free(w->selector);
    free(w);
}

static void init_tables(struct watch *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->apply, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->nodes = hmap_create();
    w->owners = hmap_create();
    w->pods = hmap_create();
    w->pod_keys = hmap_create();
    w->rechecks = hmap_create();
    w->quotas = hmap_create();
}

int watch_start(struct kube *k, struct cache *c, const struct watch_options *o, struct watch **out,
                char *err, size_t cap)
{
    struct watch *w = mem_zalloc(sizeof *w);
    *out = NULL;
    w->k = k;
    w->c = c;
    w->o = *o;
    w->o.node_selector = NULL;
    if (o->node_selector && *o->node_selector) {
        size_t n = strlen(o->node_selector) * 3 + 1;
        w->selector = mem_alloc(n);
        if (kube_escape(o->node_selector, w->selector, n) != 0 || n > 4096) {
            snprintf(err, cap, "node label selector too long");
            free(w->selector);
            free(w);
            return ERR_INVAL;
        }
    }
    init_tables(w);
    for (int kind = NODES; kind < NKINDS; kind++) {
        struct runner *ru = mem_alloc(sizeof *ru);
        *ru = (struct runner){w, kind};
        if (pthread_create(&w->th[w->nth], NULL, run, ru) != 0) {
            free(ru);
            snprintf(err, cap, "cannot start the watch threads");
            watch_stop(w);
            return ERR_IO;
        }
        w->nth++;
    }
    if (pthread_create(&w->th[w->nth], NULL, rechecker, w) != 0) {
        snprintf(err, cap, "cannot start the watch threads");
        watch_stop(w);
        return ERR_IO;
    }
    w->nth++;
    *out = w;
    return 0;
}

void watch_stop(struct watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, true);
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->nth; i++)
        pthread_join(w->th[i], NULL);
    free_all(w);
}

void watch_stats(struct watch *w, struct watch_stats *out)
{
    out->lists = atomic_load(&w->lists);
    out->watches = atomic_load(&w->watches);
    out->events = atomic_load(&w->events);
    out->relists = atomic_load(&w->relists);
    out->errors = atomic_load(&w->errors);
    for (int i = 0; i < NKINDS; i++)
        out->applied[i] = atomic_load(&w->applied[i]);
    pthread_mutex_lock(&w->lock);
    out->synced = w->ready;
    pthread_mutex_unlock(&w->lock);
}

struct watch *watch_create_idle(struct cache *c, const struct watch_options *o)
{
    struct watch *w = mem_zalloc(sizeof *w);
    w->c = c;
    w->o = *o;
    w->o.node_selector = NULL;
    init_tables(w);
    return w;
}

int watch_feed(struct watch *w, const char *kind, const char *p, size_t n, struct kube_lines *l,
               char *rv, size_t cap)
{
    int k = 0;
    while (k < NKINDS && strcmp(kind_word[k], kind) != 0)
        k++;
    if (k == NKINDS || cap == 0)
        return ERR_INVAL;
    struct stream s = {.w = w, .kind = k, .rv = rv, .cap = cap};
    int rc = kube_lines_feed(l, p, n, on_line, &s);
    if (rc < 0)
        return rc;
    return s.gone ? ERR_NOTFOUND : rc;
}

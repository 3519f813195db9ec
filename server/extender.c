/* extender.c: filter, prioritize, bind and the dry run. */
#include "server/extender.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/nodelock.h"
#include "k8s/placement.h"
#include "k8s/snapshot.h"
#include "policy/codec.h"
#include "policy/workload.h"
#include "server/config.h"

#define FILTER_TRIES     3 /* choose again when a concurrent filter took the room */
#define DEVICES_MAX      (64 * POLICY_MAX_PICKS + 2 * POLICY_MAX_CONTAINERS + 1)
#define CANDIDATE_MAX    100000  /* nodes in one request */
#define WORKLOAD_THREADS 512     /* threads that may keep a memo */
#define LEARN_DECAY      0.999   /* the online histogram forgets with a ~700-pod half-life */
#define LEARN_EVERY      512     /* observations between snapshots readers see */
#define LEARN_FIRST      16      /* ... the first time; the gap doubles up to LEARN_EVERY */
#define VERDICT_NODES    1000000 /* nodes whose verdicts a thread memoises */
#define SEEN_SLOTS       8192    /* recent pods remembered so re-filters do not count again */
#define PRESS_EVERY      16 /* placements between looks at the hosts multi-GPU shapes have left */

/* A verdict remembered for (pod signature, node, node version). */
struct vslot {
    uint64_t key;
    struct policy_verdict v;
    int8_t unres; /* -1 unknown, else policy_unresolvable() */
};

/* What one HTTP worker thread keeps between requests. */
struct tstate {
    struct workload_memo *frag; /* made on first use */
    struct vslot *slot;         /* indexed by node id */
    int nslot;
};

/* Locks, in the only order one may be taken while holding another:
 *
 *     pub_lock  ->  state_lock  ->  the cache's lock  ->  learn_lock
 *
 * A thread holding one of them takes only locks to its right. So a
 * placement takes state_lock (opts_acquire) before the cache's read lock
 * (evaluate) or write lock (cache_assume), never after; learn_lock is a
 * leaf (the learner, counters, the memo list: nothing is taken under it);
 * publish and placed hold pub_lock, read the cache (cache_with_views) and
 * release it before install takes state_lock for writing. The cache never
 * calls back into the extender under its lock except through
 * cache_with_views' callback, which takes no lock. */
struct extender {
    struct cache *cache;
    struct extender_opts o;
    struct extender_binder binder;
    struct metrics *m;
    /* The workload fragment-aware measures against: swapped under the
     * write side, read for the length of one placement. */
    pthread_rwlock_t state_lock;
    struct workload *state;
    pthread_mutex_t learn_lock; /* the learner, the counters and the memo list */
    pthread_mutex_t pub_lock;   /* one writer of the state at a time */
    struct workload *learner;
    int since;                 /* observations since the last snapshot */
    int publish_at;            /* ... at which the next one is taken */
    unsigned placed;           /* placements, for PRESS_EVERY */
    uint64_t seen[SEEN_SLOTS]; /* uid hashes already counted: a pod counts once */
    pthread_key_t tkey;
    struct tstate *tstates[WORKLOAD_THREADS];
    int ntstates;
};

static const char *const error_reasons[] = {
    "bad_body",     "bad_request", "bad_pod",     "not_synced", "no_fit", "retry",
    "bind_unknown", "bind_no_fit", "bind_failed", "uid_placed", NULL,
};

void extender_register_metrics(struct metrics *m)
{
    for (int i = 0; error_reasons[i]; i++)
        metrics_reason_add(m, error_reasons[i]);
}

int extender_opts_from_config(const struct config *c, struct extender_opts *o, char *err,
                              size_t cap)
{
    memset(o, 0, sizeof *o);
    o->mode = c->filter_mode == CONFIG_FILTER_ALL ? EXTENDER_ALL : EXTENDER_SINGLE;
    o->policy.node_policy = policy_node_policy_find(c->node_policy);
    o->policy.seed = c->seed;
    o->defaults = (struct model_defaults){.mem_factor = 1};
    o->ttl = (double)c->reservation_ttl_ms / 1000.0;
    o->lock_timeout = (double)c->node_lock_timeout_ms / 1000.0;
    if (!o->policy.node_policy) {
        snprintf(err, cap, "--node-scheduler-policy: unknown policy \"%s\"", c->node_policy);
        return ERR_INVAL;
    }
    return policy_gpu_policy_parse(c->gpu_policy, &o->policy.gpu, err, cap);
}

struct extender *extender_create(struct cache *cache, const struct extender_opts *opts,
                                 const struct extender_binder *binder, struct metrics *metrics)
{
    struct extender *x = mem_zalloc(sizeof *x);
    x->cache = cache;
    x->o = *opts;
    if (binder)
        x->binder = *binder;
    x->m = metrics;
    pthread_rwlock_init(&x->state_lock, NULL);
    pthread_mutex_init(&x->learn_lock, NULL);
    pthread_mutex_init(&x->pub_lock, NULL);
    pthread_key_create(&x->tkey, NULL);
    x->learner = workload_create(LEARN_DECAY);
    x->publish_at = LEARN_FIRST;
    return x;
}

void extender_destroy(struct extender *x)
{
    if (!x)
        return;
    for (int i = 0; i < x->ntstates; i++) {
        workload_memo_destroy(x->tstates[i]->frag);
        free(x->tstates[i]->slot);
        free(x->tstates[i]);
    }
    pthread_key_delete(x->tkey);
    workload_destroy(x->state);
    workload_destroy(x->learner);
    pthread_mutex_destroy(&x->learn_lock);
    pthread_mutex_destroy(&x->pub_lock);
    pthread_rwlock_destroy(&x->state_lock);
    free(x);
}

/* ---- the workload fragment-aware learns ---- */

/* Swap the state readers see; the caller holds pub_lock. */
static void install(struct extender *x, struct workload *w)
{
    pthread_rwlock_wrlock(&x->state_lock);
    struct workload *old = x->state;
    x->state = w;
    pthread_rwlock_unlock(&x->state_lock);
    workload_destroy(old);
}

void extender_set_state(struct extender *x, struct workload *w)
{
    pthread_mutex_lock(&x->pub_lock);
    install(x, w);
    pthread_mutex_unlock(&x->pub_lock);
}

void extender_seed(struct extender *x, const struct workload_shape *s, double weight)
{
    pthread_mutex_lock(&x->learn_lock);
    workload_add(x->learner, s, weight);
    pthread_mutex_unlock(&x->learn_lock);
}

static void scarcity(void *ctx, const struct policy_node *const *v, int n)
{
    uint64_t mask[WORKLOAD_MASK_WORDS];
    workload_set_scarcity(ctx, v, n);
    workload_pressed(ctx, v, n, mask);
    workload_set_pressed(ctx, mask);
}

/* Readers get a copy of the learner now, its scarcity and pressure
 * measured on the nodes of now. */
static void publish(struct extender *x)
{
    pthread_mutex_lock(&x->learn_lock);
    struct workload *snap = workload_copy(x->learner);
    x->since = 0;
    x->publish_at = x->publish_at * 2 < LEARN_EVERY ? x->publish_at * 2 : LEARN_EVERY;
    pthread_mutex_unlock(&x->learn_lock);
    pthread_mutex_lock(&x->pub_lock);
    cache_with_views(x->cache, scarcity, snap);
    install(x, snap);
    pthread_mutex_unlock(&x->pub_lock);
}

struct press {
    const struct workload *w;
    uint64_t mask[WORKLOAD_MASK_WORDS];
};

static void pressed(void *ctx, const struct policy_node *const *v, int n)
{
    struct press *p = ctx;
    workload_pressed(p->w, v, n, p->mask);
}

/* Every PRESS_EVERY placements: which multi-GPU shapes run short of hosts
 * now. A new copy of the state only when that changed, so the memos of F
 * stay valid otherwise. */
static void placed(struct extender *x)
{
    pthread_mutex_lock(&x->learn_lock);
    bool due = ++x->placed % PRESS_EVERY == 0;
    pthread_mutex_unlock(&x->learn_lock);
    if (!due)
        return;
    pthread_mutex_lock(&x->pub_lock);
    struct press p = {.w = x->state};
    struct workload *next = NULL;
    if (p.w) { /* only pub_lock's holder replaces the state */
        cache_with_views(x->cache, pressed, &p);
        next = workload_copy(p.w);
        if (!workload_set_pressed(next, p.mask)) {
            workload_destroy(next);
            next = NULL;
        }
    }
    if (next)
        install(x, next);
    pthread_mutex_unlock(&x->pub_lock);
}

#define SEED_FILE_MAX (16L << 20)

int extender_seed_file(struct extender *x, const char *path, char *err, size_t cap)
{
    char *text = NULL, msg[256];
    size_t len = 0, i = 0;
    cJSON *root = NULL, *e;
    struct policy_pod *pod = mem_alloc(sizeof *pod);
    int rc = snapshot_read_file(path, SEED_FILE_MAX, &text, &len, err, cap);
    if (rc)
        goto out;
    root = cJSON_ParseWithLength(text, len);
    rc = ERR_INVAL;
    if (!cJSON_IsArray(root)) {
        snprintf(err, cap, "%s: not a JSON list of {\"weight\": N, \"pod\": <Pod>}", path);
        goto out;
    }
    cJSON_ArrayForEach(e, root)
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "weight");
        struct workload_shape s;
        if (!cJSON_IsNumber(w) || !(w->valuedouble > 0 && w->valuedouble <= 1e9)) {
            snprintf(err, cap, "%s: entry %zu: \"weight\" must be a number in (0, 1e9]", path, i);
            goto out;
        }
        if (model_pod_parse(cJSON_GetObjectItemCaseSensitive(e, "pod"), &x->o.defaults, pod, msg,
                            sizeof msg) != 0) {
            snprintf(err, cap, "%s: entry %zu: %s", path, i, msg);
            goto out;
        }
        workload_shape_of(pod, &s);
        extender_seed(x, &s, w->valuedouble);
        i++;
    }
    publish(x);
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    free(pod);
    return rc;
}

void extender_observe(struct extender *x, const struct policy_pod *pod)
{
    uint64_t h = hash_fnv_str(HASH_FNV_INIT, pod->uid) | 1;
    pthread_mutex_lock(&x->learn_lock);
    bool counted = x->seen[h % SEEN_SLOTS] == h;
    if (!counted) {
        x->seen[h % SEEN_SLOTS] = h;
        workload_observe(x->learner, pod);
    }
    bool due = !counted && ++x->since >= x->publish_at;
    pthread_mutex_unlock(&x->learn_lock);
    if (due)
        publish(x);
}

size_t extender_workload_shapes(struct extender *x)
{
    pthread_rwlock_rdlock(&x->state_lock);
    size_t n = x->state ? workload_size(x->state) : 0;
    pthread_rwlock_unlock(&x->state_lock);
    return n;
}

/* Does the pod's node policy place pods that ask no GPU? */
static bool cpu_pods_matter(const struct extender *x, const struct policy_pod *pod)
{
    const struct policy_node_policy *np =
        pod->node_policy ? pod->node_policy : x->o.policy.node_policy;
    return np && np->cpu_pods;
}

/* This thread's memos (NULL past WORKLOAD_THREADS threads: no memo). */
static struct tstate *thread_state(struct extender *x)
{
    struct tstate *t = pthread_getspecific(x->tkey);
    if (t)
        return t;
    pthread_mutex_lock(&x->learn_lock);
    if (x->ntstates < WORKLOAD_THREADS) {
        t = mem_zalloc(sizeof *t);
        x->tstates[x->ntstates++] = t;
        pthread_setspecific(x->tkey, t);
    }
    pthread_mutex_unlock(&x->learn_lock);
    return t;
}

/* The options of one placement: the workload, read-locked until
 * opts_release, and this thread's memo. */
static void opts_acquire(struct extender *x, struct policy_opts *o)
{
    pthread_rwlock_rdlock(&x->state_lock);
    *o = x->o.policy;
    o->state = x->state;
    o->state_epoch = x->state ? workload_epoch(x->state) : 0;
    o->scratch = NULL;
    struct tstate *t = x->state ? thread_state(x) : NULL;
    if (t && !t->frag)
        t->frag = workload_memo_create();
    if (t)
        o->scratch = t->frag;
}

static void opts_release(struct extender *x)
{
    pthread_rwlock_unlock(&x->state_lock);
}

static void count_error(struct extender *x, const char *reason)
{
    if (x->m)
        metrics_error(x->m, reason);
}

/* Append s as a JSON string literal. */
static void put_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;
    buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        buf_append(b, run, (size_t)(s - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
        if (ch == '"' || ch == '\\')
            buf_append(b, (char[]){'\\', (char)ch}, 2);
        else
            buf_append(b, esc, 6);
        run = s + 1;
    }
    buf_append(b, run, (size_t)(s - run));
    buf_append(b, "\"", 1);
}

/* ---- requests ---- */

enum cand_state { C_NONE, C_UNKNOWN, C_FITS, C_FAILS, C_UNRESOLVABLE };

struct cand {
    const char *name;
    const cJSON *item; /* the Node, in full-Nodes mode: only echoed back, never read */
    uint8_t state;
    double score;
    size_t why; /* offset of a NUL-terminated reason in the request's reasons */
};

struct req {
    cJSON *root;
    const cJSON *pod_json;
    const cJSON *nodes; /* the Nodes object, full-Nodes mode */
    cJSON *dropped;     /* Node items left out of the answer; names point into them */
    struct policy_pod pod;
    bool pod_ok;
    struct cand *c;
    size_t n;
    struct buf why;               /* reasons, NUL-separated */
    char err[512];                /* what is wrong with the request's content */
    struct policy_reasons *tally; /* when set: sum the reasons here, write no text */
    double lock_now;              /* > 0: pass over nodes locked by another pod (node_locked) */
};

static void req_free(struct req *r)
{
    arena_json_delete(r->dropped);
    arena_json_delete(r->root);
    free(r->c);
    buf_free(&r->why);
}

static void add_reason(struct req *r, struct cand *c, const char *text)
{
    c->why = r->why.len;
    buf_append(&r->why, text, strlen(text) + 1);
}

static const char *reason_of(const struct req *r, const struct cand *c)
{
    return c->why < r->why.len ? r->why.data + c->why : "";
}

/* Candidates from NodeNames or Nodes.items. Returns 0 or ERR_PROTO (r->err). */
static int read_candidates(struct req *r)
{
    const cJSON *names = model_get(r->root, "NodeNames"), *nodes = model_get(r->root, "Nodes");
    const cJSON *items = cJSON_IsObject(nodes) ? model_get(nodes, "items") : NULL, *it;
    const cJSON *list = cJSON_IsArray(names) ? names : items;
    size_t i = 0;

    if (!cJSON_IsArray(list)) {
        snprintf(r->err, sizeof r->err, "request has neither NodeNames nor Nodes.items");
        return ERR_PROTO;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n > CANDIDATE_MAX) {
        snprintf(r->err, sizeof r->err, "request offers %zu nodes, over the limit of %d", n,
                 CANDIDATE_MAX);
        return ERR_PROTO;
    }
    r->c = mem_zalloc(sizeof *r->c * (n ? n : 1));
    cJSON_ArrayForEach(it, list)
    {
        const char *name =
            list == names ? cJSON_GetStringValue(it) : model_str(it, "metadata", "name", NULL);
        if (!name || !*name) {
            snprintf(r->err, sizeof r->err, "%s[%zu] has no node name",
                     list == names ? "NodeNames" : "Nodes.items", i);
            return ERR_PROTO;
        }
        r->c[i].name = name;
        r->c[i++].item = list == items ? it : NULL;
    }
    /* Only now: answers walk r->c[0..n), every one named. */
    r->n = n;
    r->nodes = list == items ? nodes : NULL;
    return 0;
}

/* Parse an ExtenderArgs body. Returns 0; ERR_INVAL when the body is not a
 * JSON object; ERR_PROTO when its content is wrong (r->err says how). */
static int read_args(struct extender *x, const char *body, size_t len, struct req *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->why, (size_t)64 << 20);
    r->root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(r->root))
        return ERR_INVAL;
    r->pod_json = model_get(r->root, "Pod");
    if (!cJSON_IsObject(r->pod_json)) {
        snprintf(r->err, sizeof r->err, "request has no Pod object");
        return ERR_PROTO;
    }
    int rc = read_candidates(r);
    if (rc)
        return rc;
    rc = model_pod_parse(r->pod_json, &x->o.defaults, &r->pod, r->err, sizeof r->err);
    if (rc)
        return ERR_PROTO;
    if (!r->pod.uid || !*r->pod.uid) {
        /* Reservations, pending specs and binds are keyed by the uid. */
        snprintf(r->err, sizeof r->err, "pod has no metadata.uid");
        return ERR_PROTO;
    }
    r->pod_ok = true;
    return 0;
}

/* ---- node locks (single filter mode) ---- */

/* A node whose hami.io/mutex.lock another pod holds, younger than the lock
 * timeout, is passed over with reason NodeLocked: its bind could only wait
 * for the lock or fail. Under the cache's read lock. */
static bool node_locked(struct extender *x, struct req *r, struct cand *c,
                        const struct policy_node *view)
{
    if (r->lock_now <= 0 || x->o.lock_timeout <= 0)
        return false;
    const char *lock = cache_view_lock(view);
    if (!lock || !nodelock_blocks(lock, r->pod.ns ? r->pod.ns : "", r->pod.name ? r->pod.name : "",
                                  r->lock_now, x->o.lock_timeout))
        return false;
    c->state = C_UNRESOLVABLE;
    add_reason(r, c, "NodeLocked");
    return true;
}

/* The thread's memo slot of a node: one per node id, the table grown on
 * demand (up to VERDICT_NODES). */
static struct vslot *slot_of(struct tstate *t, const struct policy_node *n)
{
    if (!t || n->id < 0 || n->id >= VERDICT_NODES)
        return NULL;
    if (n->id >= t->nslot) {
        int want = n->id + 1 > 2 * t->nslot ? n->id + 1 : 2 * t->nslot;
        t->slot = mem_realloc(t->slot, sizeof *t->slot * (size_t)want);
        memset(t->slot + t->nslot, 0, sizeof *t->slot * (size_t)(want - t->nslot));
        t->nslot = want;
    }
    return &t->slot[n->id];
}

/* Verdicts for views[0..m), from this thread's memo where the pod's
 * signature and the node's version match what was judged before (only the
 * nodes that changed since are fitted again); then the chosen node. Its
 * placement is left in *best only when `placement` asks for it (simulate:
 * filter reserves by fitting again under the write lock). Under the
 * cache's read lock. */
static int judge(struct extender *x, struct req *r, const struct policy_node **views, size_t m,
                 const struct policy_opts *o, struct policy_verdict *v, bool *unres,
                 struct policy_placement *best, bool placement)
{
    struct tstate *t = thread_state(x);
    uint64_t sig = policy_pod_signature(&r->pod, o);
    for (size_t j = 0; j < m; j++) {
        const struct policy_node *n = views[j];
        struct vslot *sl = n->gen ? slot_of(t, n) : NULL;
        uint64_t key = sig ^ n->gen * 0xff51afd7ed558ccdULL;
        if (sl && sl->key == key && (sl->unres >= 0 || r->tally || sl->v.fits)) {
            v[j] = sl->v;
            unres[j] = sl->unres > 0;
            continue;
        }
        v[j].fits = policy_fit(&r->pod, n, o, best, &v[j].why);
        v[j].score = v[j].fits ? best->score : 0;
        int8_t u = v[j].fits ? 0 : r->tally ? -1 : policy_unresolvable(&r->pod, n, o);
        unres[j] = u > 0;
        if (sl)
            *sl = (struct vslot){key, v[j], u};
    }
    int k = policy_pick_best(&r->pod, views, (int)m, o, v);
    struct policy_reasons why;
    if (k >= 0 && placement && !policy_fit(&r->pod, views[k], o, best, &why))
        k = -1; /* cannot happen: the memo matched this very state */
    return k;
}

/* Place r->pod among the candidates (under the read lock). Fills each
 * candidate's state, score and reason; returns the chosen index or -1.
 * When devices is not NULL, also encodes the chosen placement there. */
static int evaluate(struct extender *x, struct req *r, char *devices, size_t cap)
{
    const struct policy_node **views = mem_alloc(sizeof *views * (r->n + 1));
    struct policy_verdict *v = mem_alloc(sizeof *v * (r->n + 1));
    size_t *map = mem_alloc(sizeof *map * (r->n + 1));
    bool *unres = mem_alloc(sizeof *unres * (r->n + 1));
    struct policy_placement *best = mem_alloc(sizeof *best);
    char text[1024];
    size_t m = 0;
    int k, chosen = -1;
    struct policy_opts o;

    opts_acquire(x, &o); /* state_lock before the cache's lock: see struct extender */
    cache_rdlock(x->cache);
    for (size_t i = 0; i < r->n; i++) {
        /* Candidates are names only, also in full-Nodes mode: the cluster
         * source alone says what a node has. */
        views[m] = cache_view(x->cache, r->c[i].name);
        if (!views[m]) {
            r->c[i].state = C_UNKNOWN;
            add_reason(r, &r->c[i],
                       "node is not in the scheduler's cache: unknown to its cluster view");
            continue;
        }
        if (node_locked(x, r, &r->c[i], views[m]))
            continue;
        map[m++] = i;
    }
    k = judge(x, r, views, m, &o, v, unres, best, devices != NULL);
    for (size_t j = 0; j < m; j++) {
        struct cand *c = &r->c[map[j]];
        if (v[j].fits) {
            c->state = C_FITS;
            c->score = v[j].score;
            continue;
        }
        if (r->tally) {
            c->state = C_FAILS;
            for (int w = 0; w < POLICY_R_COUNT; w++)
                r->tally->cnt[w] += v[j].why.cnt[w];
            continue;
        }
        c->state = unres[j] ? C_UNRESOLVABLE : C_FAILS;
        policy_reasons_format(&v[j].why, text, sizeof text);
        add_reason(r, c, text);
    }
    if (k >= 0) {
        chosen = (int)map[k];
        if (devices && codec_encode(&r->pod, views[k], best, devices, cap) < 0)
            devices[0] = '\0';
    }
    cache_unlock(x->cache);
    opts_release(x);
    free(views);
    free(v);
    free(map);
    free(unres);
    free(best);
    return chosen;
}

/* ---- events (HAMi's: FilteringSucceed/Failed, BindingSucceed/Failed) ---- */

#define EVENT_MSG_MAX 1024

static void event(struct extender *x, const char *ns, const char *name, const char *uid,
                  bool warning, const char *reason, const char *message)
{
    if (x->binder.event && name)
        x->binder.event(x->binder.ctx, ns ? ns : "default", name, uid, warning, reason, message);
}

/* Append to msg (cap EVENT_MSG_MAX), cutting at the end. */
static void msg_add(char *msg, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void msg_add(char *msg, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= EVENT_MSG_MAX - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(msg + *len, EVENT_MSG_MAX - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 ? *len : *len + (size_t)n >= EVENT_MSG_MAX ? EVENT_MSG_MAX - 1 : *len + (size_t)n;
}

/* HAMi's messages: "find fit node(N), k nodes not fit, m nodes fit(a:1.00,...)";
 * on failure the number of nodes per reason word ("2 CardInsufficientMemory"). */
static void event_filter(struct extender *x, const struct req *r, int chosen)
{
    struct {
        char word[64];
        int n;
    } t[16];
    int nt = 0, fit = 0;
    char msg[EVENT_MSG_MAX] = "";
    size_t len = 0;
    if (!x->binder.event)
        return;
    for (size_t i = 0; i < r->n; i++)
        fit += r->c[i].state == C_FITS;
    if (chosen >= 0 || (x->o.mode == EXTENDER_ALL && fit > 0)) {
        msg_add(msg, &len, "find fit node(%s), %zu nodes not fit, %d nodes fit(",
                chosen >= 0 ? r->c[chosen].name : "any", r->n - (size_t)fit, fit);
        for (size_t i = 0, first = 1; i < r->n; i++) {
            if (r->c[i].state != C_FITS)
                continue;
            msg_add(msg, &len, "%s%s:%.2f", first ? "" : ",", r->c[i].name, r->c[i].score);
            first = 0;
        }
        msg_add(msg, &len, ")");
        event(x, r->pod.ns, r->pod.name, r->pod.uid, false, "FilteringSucceed", msg);
        return;
    }
    /* Count nodes per reason: "1/8 A, 7/8 B" gives one A and one B. */
    for (size_t i = 0; i < r->n; i++) {
        if (r->c[i].state == C_FITS || r->c[i].state == C_NONE)
            continue;
        const char *p = reason_of(r, &r->c[i]);
        while (*p) {
            size_t n = strcspn(p, ",");
            const char *w = p, *sp = memchr(p, ' ', n), *sl = memchr(p, '/', n);
            if (sl && sp && sl < sp)
                w = sp + 1; /* drop "k/n " */
            size_t wl = (size_t)(p + n - w);
            int k = 0;
            while (k < nt && (strlen(t[k].word) != wl || strncmp(t[k].word, w, wl) != 0))
                k++;
            if (k == nt && nt < 16) {
                snprintf(t[nt].word, sizeof t[nt].word, "%.*s", (int)wl, w);
                t[nt++].n = 0;
            }
            if (k < nt)
                t[k].n++;
            p += n;
            while (*p == ',' || *p == ' ')
                p++;
        }
    }
    msg_add(msg, &len, "no available node, %zu nodes do not meet", r->n);
    for (int k = 0; k < nt; k++)
        msg_add(msg, &len, "%s%d %s", k ? ", " : ": ", t[k].n, t[k].word);
    event(x, r->pod.ns, r->pod.name, r->pod.uid, true, "FilteringFailed", msg);
}

static void event_bind(struct extender *x, const char *ns, const char *name, const char *uid,
                       const char *node, const char *error)
{
    char msg[EVENT_MSG_MAX];
    if (!x->binder.event)
        return;
    if (error) {
        event(x, ns, name, uid, true, "BindingFailed", error);
        return;
    }
    snprintf(msg, sizeof msg, "Successfully binding node [%s] to %s/%s", node, ns, name);
    event(x, ns, name, uid, false, "BindingSucceed", msg);
}

/* ---- filter ---- */

static bool included(const struct req *r, size_t i, int chosen, enum extender_mode mode)
{
    return mode == EXTENDER_ALL ? r->c[i].state == C_FITS : (int)i == chosen;
}

static void write_failed(struct buf *out, const struct req *r, bool unresolvable)
{
    bool first = true;
    buf_puts(out, "{");
    for (size_t i = 0; i < r->n; i++) {
        uint8_t s = r->c[i].state;
        bool hard = s == C_UNRESOLVABLE || s == C_UNKNOWN;
        if (s == C_NONE || s == C_FITS || hard != unresolvable)
            continue;
        if (!first)
            buf_puts(out, ",");
        first = false;
        put_str(out, r->c[i].name);
        buf_puts(out, ":");
        put_str(out, reason_of(r, &r->c[i]));
    }
    buf_puts(out, "}");
}

/* Keep only the included items in Nodes.items and print Nodes once. The
 * others move to r->dropped: candidate names still point into them. */
static void write_nodes(struct buf *out, struct req *r, int chosen, enum extender_mode mode)
{
    cJSON *items = (cJSON *)model_get(r->nodes, "items");
    if (!r->dropped)
        r->dropped = cJSON_CreateArray();
    for (size_t i = r->n; i-- > 0;)
        if (!included(r, i, chosen, mode))
            cJSON_AddItemToArray(r->dropped,
                                 cJSON_DetachItemViaPointer(items, (cJSON *)r->c[i].item));
    char *text = cJSON_PrintUnformatted(r->nodes);
    buf_puts(out, text ? text : "null");
    cJSON_free(text);
}

static void write_filter(struct buf *out, struct req *r, int chosen, enum extender_mode mode,
                         const char *error)
{
    bool ok = !error || !*error;
    buf_puts(out, "{\"Nodes\":");
    if (ok && r->nodes)
        write_nodes(out, r, chosen, mode);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"NodeNames\":");
    if (ok && !r->nodes) {
        bool first = true;
        buf_puts(out, "[");
        for (size_t i = 0; i < r->n; i++) {
            if (!included(r, i, chosen, mode))
                continue;
            if (!first)
                buf_puts(out, ",");
            first = false;
            put_str(out, r->c[i].name);
        }
        buf_puts(out, "]");
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"FailedNodes\":");
    write_failed(out, r, false);
    buf_puts(out, ",\"FailedAndUnresolvableNodes\":");
    write_failed(out, r, true);
    buf_puts(out, ",\"Error\":");
    put_str(out, ok ? "" : error);
    buf_puts(out, "}");
}

static void remember_pod(struct extender *x, const struct req *r, double now)
{
    char *json = cJSON_PrintUnformatted(r->pod_json);
    if (json && cache_pending_put(x->cache, r->pod.uid, json, now, 2 * x->o.ttl) != 0)
        LOG_WARN("pending pod store full; %s/%s can only bind where it was reserved", r->pod.ns,
                 r->pod.name);
    cJSON_free(json);
}

/* Choose, then reserve on the chosen node; choose again when a concurrent
 * filter took the room first. Returns the chosen index or -1 (with r->err
 * set when the pod's uid is already placed). */
static int choose_and_reserve(struct extender *x, struct req *r, double now)
{
    char err[1024];
    for (int t = 0; t < FILTER_TRIES; t++) {
        buf_reset(&r->why);
        int k = evaluate(x, r, NULL, 0);
        if (k < 0 || x->o.mode == EXTENDER_ALL)
            return k;
        struct cache_assumed a;
        struct policy_opts o;
        opts_acquire(x, &o);
        int rc =
            cache_assume(x->cache, &r->pod, r->c[k].name, &o, now, x->o.ttl, &a, err, sizeof err);
        opts_release(x);
        cache_assumed_free(&a);
        if (rc == 0)
            return k;
        if (rc == ERR_CONFLICT) {
            count_error(x, "uid_placed");
            snprintf(r->err, sizeof r->err, "%.500s", err);
            LOG_WARN("filter %s/%s: %s", r->pod.ns ? r->pod.ns : "", r->pod.name ? r->pod.name : "",
                     err);
            return -1;
        }
        count_error(x, "retry");
        LOG_DEBUG("filter %s/%s: reservation on %s lost a race (%s); choosing again", r->pod.ns,
                  r->pod.name, r->c[k].name, err);
    }
    return -1;
}

int extender_place(struct extender *x, const struct policy_pod *pod, const char *const *names,
                   size_t n, double now, struct policy_reasons *tally)
{
    struct req r;
    memset(&r, 0, sizeof r);
    buf_init(&r.why, 1);
    r.pod = *pod;
    r.tally = tally;
    r.n = n;
    r.c = mem_zalloc(sizeof *r.c * (n + 1));
    for (size_t i = 0; i < n; i++)
        r.c[i].name = names[i];
    cache_forget(x->cache, pod->uid);
    int k = choose_and_reserve(x, &r, now);
    if (k >= 0 && x->o.mode == EXTENDER_SINGLE)
        cache_commit(x->cache, pod->uid);
    if (k >= 0)
        placed(x);
    req_free(&r);
    return k;
}

int extender_filter(struct extender *x, const char *body, size_t len, double now, struct buf *out)
{
    struct req r;
    int rc = read_args(x, body, len, &r), chosen = -1;
    if (rc == ERR_INVAL) {
        count_error(x, "bad_body");
        buf_puts(out, "filter: the request body is not a JSON object\n");
        goto out;
    }
    if (rc) {
        count_error(x, r.pod_ok ? "bad_request" : "bad_pod");
        write_filter(out, &r, -1, x->o.mode, r.err);
        rc = 0;
        goto out;
    }
    if (!policy_pod_wants_gpu(&r.pod)) {
        if (cpu_pods_matter(x, &r.pod))
            extender_observe(x, &r.pod);
        for (size_t i = 0; i < r.n; i++)
            r.c[i].state = C_FITS;
        write_filter(out, &r, -1, EXTENDER_ALL, NULL);
        goto out;
    }
    if (!cache_ready(x->cache)) {
        count_error(x, "not_synced");
        write_filter(out, &r, -1, x->o.mode,
                     "cache not synced: the scheduler is still loading "
                     "the cluster; retry shortly");
        goto out;
    }
    cache_expire(x->cache, now);
    cache_forget(x->cache, r.pod.uid); /* a new filter replaces the old reservation */
    remember_pod(x, &r, now);
    extender_observe(x, &r.pod);
    r.lock_now = x->o.mode == EXTENDER_SINGLE ? now : 0;
    chosen = choose_and_reserve(x, &r, now);
    if (r.err[0]) {
        write_filter(out, &r, -1, x->o.mode, r.err);
        goto out;
    }
    if (chosen < 0)
        count_error(x, "no_fit");
    write_filter(out, &r, chosen, x->o.mode, NULL);
    event_filter(x, &r, chosen);
    LOG_DEBUG("filter %s/%s: %zu nodes offered, chose %s", r.pod.ns, r.pod.name, r.n,
              chosen >= 0 ? r.c[chosen].name : "none");
out:
    req_free(&r);
    return rc;
}

/* ---- prioritize ---- */

int extender_prioritize(struct extender *x, const char *body, size_t len, double now,
                        struct buf *out)
{
    struct req r;
    (void)now;
    int rc = read_args(x, body, len, &r);
    if (rc == ERR_INVAL) {
        count_error(x, "bad_body");
        buf_puts(out, "prioritize: the request body is not a JSON object\n");
        goto out;
    }
    if (rc) {
        count_error(x, r.pod_ok ? "bad_request" : "bad_pod");
        LOG_WARN("prioritize: %s; every node scores 0", r.err);
        rc = 0;
    } else if (policy_pod_wants_gpu(&r.pod) || cpu_pods_matter(x, &r.pod)) {
        /* A pod without GPUs reaches us only when managedResources is empty;
         * a policy that places CPU-only pods steers it here. */
        evaluate(x, &r, NULL, 0);
    }
    buf_puts(out, "[");
    for (size_t i = 0; i < r.n; i++) {
        int score =
            r.c[i].state == C_FITS ? policy_priority(&r.pod, &x->o.policy, r.c[i].score) : 0;
        buf_puts(out, i ? ",{\"Host\":" : "{\"Host\":");
        put_str(out, r.c[i].name);
        buf_printf(out, ",\"Score\":%d}", score);
    }
    buf_puts(out, "]");
out:
    req_free(&r);
    return rc;
}

/* ---- bind ---- */

static void write_bind(struct buf *out, const char *error)
{
    buf_puts(out, "{\"Error\":");
    put_str(out, error ? error : "");
    buf_puts(out, "}");
}

/* No live reservation on this node: fit the pod again there. */
static int reserve_on(struct extender *x, const char *uid, const char *ns, const char *name,
                      const char *node, double now, char *err, size_t cap)
{
    char *json = cache_pending_get(x->cache, uid, now);
    cJSON *pod_json = NULL;
    struct policy_pod *pod = NULL;
    struct cache_assumed a = {0};
    int rc;

    if (!json) {
        count_error(x, "bind_unknown");
        snprintf(err, cap,
                 "pod %s/%s (uid %s) has no reservation and its spec is unknown to this "
                 "scheduler: it was never filtered here, or long ago; filter it again",
                 ns, name, uid);
        return ERR_NOTFOUND;
    }
    pod_json = cJSON_Parse(json);
    pod = mem_alloc(sizeof *pod);
    rc = model_pod_parse(pod_json, &x->o.defaults, pod, err, cap);
    if (rc)
        goto out;
    struct policy_opts o;
    opts_acquire(x, &o);
    rc = cache_assume(x->cache, pod, node, &o, now, x->o.ttl, &a, err, cap);
    opts_release(x);
    if (rc)
        count_error(x, "bind_no_fit");
out:
    cache_assumed_free(&a);
    free(pod);
    cJSON_Delete(pod_json);
    free(json);
    return rc;
}

int extender_bind(struct extender *x, const char *body, size_t len, double now, struct buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    struct cache_assumed a = {0};
    char err[1024] = "";
    int rc = 0;

    if (!cJSON_IsObject(root)) {
        count_error(x, "bad_body");
        buf_puts(out, "bind: the request body is not a JSON object\n");
        rc = ERR_INVAL;
        goto out;
    }
    const char *name = cJSON_GetStringValue(model_get(root, "PodName"));
    const char *ns = cJSON_GetStringValue(model_get(root, "PodNamespace"));
    const char *uid = cJSON_GetStringValue(model_get(root, "PodUID"));
    const char *node = cJSON_GetStringValue(model_get(root, "Node"));
    if (!name || !ns || !uid || !node || !*uid || !*node) {
        count_error(x, "bad_request");
        write_bind(out, "bind request needs string PodName, PodNamespace, PodUID and Node");
        goto out;
    }
    if (cache_reservation(x->cache, uid, now, &a) != 0 || strcmp(a.node, node) != 0) {
        cache_assumed_free(&a);
        if (reserve_on(x, uid, ns, name, node, now, err, sizeof err) != 0 ||
            cache_reservation(x->cache, uid, now, &a) != 0) {
            write_bind(out, err);
            event_bind(x, ns, name, uid, node, err);
            goto out;
        }
    }
    if (x->binder.bind && x->binder.bind(x->binder.ctx, ns, name, uid, node, a.devices,
                                         (long long)now, err, sizeof err) != 0) {
        count_error(x, "bind_failed");
        cache_forget(x->cache, uid);
        write_bind(out, err);
        event_bind(x, ns, name, uid, node, err);
        goto out;
    }
    cache_commit(x->cache, uid);
    placed(x);
    LOG_INFO("bound %s/%s to %s: %s", ns, name, node, a.devices);
    write_bind(out, NULL);
    event_bind(x, ns, name, uid, node, NULL);
out:
    cache_assumed_free(&a);
    cJSON_Delete(root);
    return rc;
}

/* ---- simulate ---- */

int extender_simulate(struct extender *x, const char *pod_json, size_t len,
                      const char *const *names, size_t nnames, double now, struct buf *out)
{
    struct req r;
    char **all = NULL;
    size_t nall = 0;
    char *devices = mem_alloc(DEVICES_MAX);
    int rc = 0;

    memset(&r, 0, sizeof r);
    buf_init(&r.why, (size_t)64 << 20);
    r.root = cJSON_ParseWithLength(pod_json, len);
    if (!cJSON_IsObject(r.root) ||
        model_pod_parse(r.root, &x->o.defaults, &r.pod, r.err, sizeof r.err) != 0) {
        buf_printf(out, "simulate: bad pod: %s\n", r.root ? r.err : "not a JSON object");
        rc = ERR_INVAL;
        goto out;
    }
    if (!names) {
        all = cache_node_names(x->cache, &nall);
        names = (const char *const *)all;
        nnames = nall;
    }
    r.n = nnames;
    r.c = mem_zalloc(sizeof *r.c * (nnames + 1));
    for (size_t i = 0; i < nnames; i++)
        r.c[i].name = names[i];
    int k = evaluate(x, &r, devices, DEVICES_MAX);
    bool gpu = policy_pod_wants_gpu(&r.pod);

    buf_puts(out, "{\"node\":");
    if (k >= 0)
        put_str(out, r.c[k].name);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"annotations\":");
    cJSON *ann = k >= 0 && gpu ? placement_annotations(r.c[k].name, devices, (long long)now)
                               : cJSON_CreateObject();
    char *text = cJSON_PrintUnformatted(ann);
    buf_puts(out, text);
    cJSON_free(text);
    cJSON_Delete(ann);
    buf_puts(out, ",\"failedNodes\":{");
    for (size_t i = 0, first = 1; i < r.n; i++) {
        if (r.c[i].state == C_FITS || r.c[i].state == C_NONE)
            continue;
        buf_puts(out, first ? "" : ",");
        first = 0;
        put_str(out, r.c[i].name);
        buf_puts(out, ":");
        put_str(out, reason_of(&r, &r.c[i]));
    }
    buf_puts(out, "},\"scores\":{");
    for (size_t i = 0, first = 1; i < r.n; i++) {
        if (r.c[i].state != C_FITS)
            continue;
        buf_puts(out, first ? "" : ",");
        first = 0;
        put_str(out, r.c[i].name);
        buf_printf(out, ":%.4f", r.c[i].score);
    }
    buf_puts(out, "}}\n");
out:
    for (size_t i = 0; i < nall; i++)
        free(all[i]);
    free(all);
    free(devices);
    req_free(&r);
    return rc;
}

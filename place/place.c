/* place.c: choose and reserve, the verdict memo, the workload learner. */
#include "place/place.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "k8s/nodelock.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"
#include "place/preempt.h"
#include "policy/workload.h"

#define FILTER_TRIES     3       /* choose again when a concurrent filter took the room */
#define WORKLOAD_THREADS 512     /* threads that may keep a memo */
#define VERDICT_NODES    1000000 /* nodes whose verdicts a thread memoises */
#define SEEN_SLOTS       8192    /* recent pods remembered so re-filters do not count again */

/* A verdict remembered for (pod signature, node, node version). */
struct vslot {
    uint64_t key;
    struct policy_verdict v;
    int8_t unres; /* -1 unknown, else policy_unresolvable() */
};

/* One placement's arrays, an entry per candidate. */
struct work {
    const char **names; /* the candidates' */
    const struct policy_node **views;
    struct policy_verdict *v;
    size_t *map;
    bool *unres;
    struct policy_placement *best; /* one */
    size_t cap;                    /* entries of each array */
};

/* One filter's candidates, judged in parts: a node is judged with the
 * memos of the part (thread) that owns it, by its node id (owner: 0, the
 * filter's own thread; i, helper i - 1), so its memos stay with one
 * thread. */
struct cands {
    struct place_req *r;
    uint64_t sig; /* the pod's signature (the verdict memo's key), once per filter */
    int kind;     /* the pod's table of verdict memos (memo_kind) */
    const struct policy_node *const *views;
    size_t m;
    struct policy_verdict *v; /* each part writes its nodes' entries only */
    bool *unres;              /* likewise */
    int parts;
};

/* A thread that judges a part of a filter beside the filter's own. Its
 * memos (t) are touched by it while it works and by the holder of
 * help_lock (which lends them) otherwise. */
struct helper {
    struct place *pl;
    struct tstate *t; /* NULL past WORKLOAD_THREADS threads: no memo */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    enum { HELPER_IDLE, HELPER_WORK, HELPER_QUIT } st; /* under mu */
    struct cands job;                                  /* when HELPER_WORK */
    int part;                                          /* likewise */
    struct policy_opts o;                              /* likewise: its memo */
    struct policy_placement best;                      /* its scratch */
};

/* Verdict memos per thread: one table per kind of pod (memo_kind: the
 * device backend row its first GPU container asks, and whether it names a
 * sharing mode such as MIG), so pods of different vendors or modes in
 * turn, which fit apart sets of devices, keep each other's verdicts. */
#define MEMO_KINDS 24

/* What one thread (an HTTP worker) keeps between placements. */
struct tstate {
    struct workload_memo *frag;     /* made on first use */
    struct vslot *slot[MEMO_KINDS]; /* each indexed by node id */
    int nslot[MEMO_KINDS];
    struct work work;  /* reused: no allocation per placement once grown */
    size_t work_bytes; /* what work holds */
    /* Verdicts fitted and taken from the memo: written by this thread
     * only, read by place_stats. */
    atomic_ulong fitted, reused;
    atomic_size_t bytes; /* of slot and work, for place_stats */
};

/* Locks, in the only order one may be taken while holding another:
 *
 *     pub_lock  ->  state_lock  ->  the cache's lock  ->  learn_lock
 *
 * A thread holding one of them takes only locks to its right, and none
 * twice (the cache's rwlock prefers writers: a second read lock behind a
 * waiting writer would deadlock). So a placement takes state_lock
 * (opts_acquire) before the cache's read lock (evaluate) or write lock
 * (cache_reserve), never after; learn_lock is a leaf (the learner,
 * counters, the memo list: nothing is taken under it); publish and placed
 * hold pub_lock, read the cache (cache_with_views) and release it before
 * install takes state_lock for writing. The cache calls back into this
 * layer under its lock only through cache_with_views' callback and
 * cache_reserve's fit, which take no lock. help_lock (the filter helpers)
 * is taken by trylock only, under the cache's read lock (judge), and a
 * helper's own mutex under it; the helpers judge under their filter's
 * locks and take none of these.
 *
 * One filter (place_filter), against the cache:
 *  1. cache_due (read lock): only when the pod holds a reservation of its
 *     own or an expiry is due, one cache_reserve that expires, forgets the
 *     old reservation and stores the pending spec (write lock), so that
 *     evaluation sees what it saw when filter expired and forgot first;
 *  2. evaluate (read lock, state_lock around it), its candidates judged
 *     by helper threads too when it runs alone and is large (judge);
 *  3. one cache_reserve (write lock): forget, pending spec, reserve on the
 *     chosen node, refitted there (fit_encode). A reservation that lost
 *     the room to a concurrent filter goes back to 2 (FILTER_TRIES).
 * Expiry otherwise runs on a timer (server/service.c). */
struct place {
    struct cache *cache;
    struct place_opts o;
    /* The request defaults in one word (place_set_defaults): default_mem in
     * the low 32 bits, default_cores in the next 8, mem_factor in the top
     * 24, so a reload swaps them at once without a lock. */
    _Atomic uint64_t defaults;
    /* The workload fragment-aware measures against: swapped under the
     * write side, read for the length of one placement. */
    pthread_rwlock_t state_lock;
    struct workload *state;
    pthread_mutex_t learn_lock; /* the learner, the counters and the memo list */
    pthread_mutex_t pub_lock;   /* one writer of the state at a time */
    struct workload *learner;
    int since;                 /* observations since the last snapshot */
    int publish_at;            /* ... at which the next one is taken */
    int publish_every;         /* ... at most (params' learn_every) */
    unsigned placed;           /* placements, for press_every */
    atomic_bool learned;       /* some pod was judged by a policy that learns: until then
                                  nothing reads the pressure, and its pass is skipped */
    unsigned press_every;      /* params' press_every */
    unsigned long observed;    /* pods counted (place_stats) */
    uint64_t seen[SEEN_SLOTS]; /* uid hashes already counted: a pod counts once */
    pthread_key_t tkey;
    struct tstate *tstates[WORKLOAD_THREADS];
    int ntstates;
    /* The helpers (o.filter_threads - 1), all lent to one filter at a
     * time: the holder of help_lock (taken by trylock only). */
    struct helper *helpers;
    int nhelpers;
    pthread_mutex_t help_lock;
    atomic_int judging;   /* filters judging now: a split waits for one alone */
    atomic_ulong split;   /* filters judged in parts (place_stats) */
    atomic_ulong pressed; /* pressure passes run (place_stats) */
};

static void work_free(struct work *w)
{
    free(w->names);
    free(w->views);
    free(w->v);
    free(w->map);
    free(w->unres);
    free(w->best);
    *w = (struct work){0};
}

/* Room for n candidates; returns the bytes the arrays hold. */
static size_t work_reserve(struct work *w, size_t n)
{
    if (!w->best)
        w->best = mem_alloc(sizeof *w->best);
    if (n > w->cap) {
        size_t want = n > 2 * w->cap ? n : 2 * w->cap;
        w->names = mem_realloc(w->names, sizeof *w->names * want);
        w->views = mem_realloc(w->views, sizeof *w->views * want);
        w->v = mem_realloc(w->v, sizeof *w->v * want);
        w->map = mem_realloc(w->map, sizeof *w->map * want);
        w->unres = mem_realloc(w->unres, sizeof *w->unres * want);
        w->cap = want;
    }
    return sizeof *w->best + w->cap * (sizeof *w->names + sizeof *w->views + sizeof *w->v +
                                       sizeof *w->map + sizeof *w->unres);
}

/* A cadence from the params: at least 1 (0 would act on every pod, and
 * the doubling would never leave 0). */
static int every(double n)
{
    return n >= 1 ? (int)n : 1;
}

static void *helper_main(void *arg);

static struct tstate *tstate_new(struct place *pl);

/* Start o.filter_threads - 1 helpers (fewer when threads run out: a
 * filter is judged by those there are). */
static void helpers_start(struct place *pl)
{
    int want = pl->o.filter_threads - 1;
    want = want < 0 ? 0 : want > PLACE_HELPERS_MAX ? PLACE_HELPERS_MAX : want;
    pthread_mutex_init(&pl->help_lock, NULL);
    pl->helpers = want ? mem_zalloc(sizeof *pl->helpers * (size_t)want) : NULL;
    for (int i = 0; i < want; i++) {
        struct helper *h = &pl->helpers[pl->nhelpers];
        h->pl = pl;
        h->t = tstate_new(pl);
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->cv, NULL);
        if (pthread_create(&h->th, NULL, helper_main, h) != 0) {
            LOG_WARN("place: %d of %d filter helper threads started", pl->nhelpers, want);
            pthread_mutex_destroy(&h->mu);
            pthread_cond_destroy(&h->cv);
            break;
        }
        pl->nhelpers++;
    }
}

static void helpers_stop(struct place *pl)
{
    for (int i = 0; i < pl->nhelpers; i++) {
        struct helper *h = &pl->helpers[i];
        pthread_mutex_lock(&h->mu);
        h->st = HELPER_QUIT;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->th, NULL);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
    }
    free(pl->helpers);
    pthread_mutex_destroy(&pl->help_lock);
}

struct place *place_create(struct cache *cache, const struct place_opts *opts)
{
    struct place *pl = mem_zalloc(sizeof *pl);
    pl->cache = cache;
    pl->o = *opts;
    place_set_defaults(pl, opts->defaults);
    pthread_rwlock_init(&pl->state_lock, NULL);
    pthread_mutex_init(&pl->learn_lock, NULL);
    pthread_mutex_init(&pl->pub_lock, NULL);
    pthread_key_create(&pl->tkey, NULL);
    const struct workload_params *par = opts->params ? opts->params : &workload_params_default;
    pl->learner = workload_create(par->learn_decay);
    workload_set_params(pl->learner, par);
    pl->publish_at = every(par->learn_first);
    pl->publish_every = every(par->learn_every);
    pl->press_every = (unsigned)every(par->press_every);
    helpers_start(pl);
    return pl;
}

void place_destroy(struct place *pl)
{
    if (!pl)
        return;
    helpers_stop(pl);
    for (int i = 0; i < pl->ntstates; i++) {
        workload_memo_destroy(pl->tstates[i]->frag);
        for (int k = 0; k < MEMO_KINDS; k++)
            free(pl->tstates[i]->slot[k]);
        work_free(&pl->tstates[i]->work);
        free(pl->tstates[i]);
    }
    pthread_key_delete(pl->tkey);
    workload_destroy(pl->state);
    workload_destroy(pl->learner);
    pthread_mutex_destroy(&pl->learn_lock);
    pthread_mutex_destroy(&pl->pub_lock);
    pthread_rwlock_destroy(&pl->state_lock);
    free(pl);
}

/* ---- the workload fragment-aware learns ---- */

/* Swap the state readers see; the caller holds pub_lock. */
static void install(struct place *pl, struct workload *w)
{
    pthread_rwlock_wrlock(&pl->state_lock);
    struct workload *old = pl->state;
    pl->state = w;
    pthread_rwlock_unlock(&pl->state_lock);
    workload_destroy(old);
}

void place_set_state(struct place *pl, struct workload *w)
{
    pthread_mutex_lock(&pl->pub_lock);
    install(pl, w);
    pthread_mutex_unlock(&pl->pub_lock);
}

void place_seed(struct place *pl, const struct workload_shape *s, double weight)
{
    pthread_mutex_lock(&pl->learn_lock);
    workload_seed(pl->learner, s, weight);
    pthread_mutex_unlock(&pl->learn_lock);
}

/* A snapshot of the learner meets the nodes: the whole-node shapes it
 * cannot have seen yet, scarcity, pressure and the claims. */
static void meet(void *ctx, const struct policy_node *const *v, int n)
{
    workload_meet(ctx, v, n);
}

/* Readers get a copy of the learner now, with the prior, scarcity and
 * pressure measured on the nodes of now. */
static void publish(struct place *pl)
{
    pthread_mutex_lock(&pl->learn_lock);
    struct workload *snap = workload_copy(pl->learner);
    pl->since = 0;
    pl->publish_at =
        pl->publish_at * 2 < pl->publish_every ? pl->publish_at * 2 : pl->publish_every;
    pthread_mutex_unlock(&pl->learn_lock);
    pthread_mutex_lock(&pl->pub_lock);
    cache_with_views(pl->cache, meet, snap);
    install(pl, snap);
    pthread_mutex_unlock(&pl->pub_lock);
}

struct press {
    const struct workload *w;
    struct workload_press now;
};

static void pressed(void *ctx, const struct policy_node *const *v, int n)
{
    struct press *p = ctx;
    workload_pressed(p->w, v, n, &p->now);
}

/* Every press_every placements: which multi-GPU shapes run short of hosts
 * now. A new copy of the state only when that changed, so the memos of F
 * stay valid otherwise. Skipped while no pod was judged by a policy that
 * learns (binpack or spread alone: nothing reads it; a first such pod
 * finds the pressure of the last snapshot, at most publish_every pods
 * old). */
static void placed(struct place *pl)
{
    pthread_mutex_lock(&pl->learn_lock);
    bool due = ++pl->placed % pl->press_every == 0;
    pthread_mutex_unlock(&pl->learn_lock);
    if (!due || !atomic_load_explicit(&pl->learned, memory_order_relaxed))
        return;
    pthread_mutex_lock(&pl->pub_lock);
    struct press p = {.w = pl->state};
    struct workload *next = NULL;
    if (p.w) { /* only pub_lock's holder replaces the state */
        cache_with_views(pl->cache, pressed, &p);
        atomic_fetch_add_explicit(&pl->pressed, 1, memory_order_relaxed);
        next = workload_copy(p.w);
        if (!workload_set_pressed(next, &p.now)) {
            workload_destroy(next);
            next = NULL;
        }
    }
    if (next)
        install(pl, next);
    pthread_mutex_unlock(&pl->pub_lock);
}

#define SEED_FILE_MAX (16u << 20)

int place_seed_file(struct place *pl, const char *path, char *err, size_t cap)
{
    char *text = NULL, msg[256];
    size_t len = 0, i = 0;
    cJSON *root = NULL, *e;
    struct policy_pod *pod = mem_alloc(sizeof *pod);
    int rc = file_read(path, SEED_FILE_MAX, &text, &len, err, cap);
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
        struct model_defaults d = place_defaults(pl);
        if (model_pod_parse(cJSON_GetObjectItemCaseSensitive(e, "pod"), &d, pod, msg, sizeof msg) !=
            0) {
            snprintf(err, cap, "%s: entry %zu: %s", path, i, msg);
            goto out;
        }
        workload_shape_of(pod, &s);
        place_seed(pl, &s, w->valuedouble);
        i++;
    }
    publish(pl);
    rc = 0;
out:
    cJSON_Delete(root);
    free(text);
    free(pod);
    return rc;
}

/* Sets limits' row-b resource r to v; false when the row has none. */
static bool put_res(cJSON *limits, const struct policy_device_backend *b, enum policy_res r,
                    int64_t v)
{
    const char *name = policy_device_res(b, r);
    char q[24];
    snprintf(q, sizeof q, "%lld", (long long)v);
    return name && cJSON_AddStringToObject(limits, name, q);
}

/* The device limits model_pod_parse reads back as shape s's ask (rd: its
 * row's defaults, model_row_defaults); false when the row's names or the
 * memory factor cannot say it. */
static bool put_gpus(cJSON *limits, const struct workload_shape *s,
                     const struct policy_device_backend *b, const struct model_defaults *rd)
{
    if (!put_res(limits, b, POLICY_RES_COUNT, s->nums))
        return false;
    if (s->mem > 0) {
        if (s->mem % rd->mem_factor || !put_res(limits, b, POLICY_RES_MEM, s->mem / rd->mem_factor))
            return false;
    } else if (!put_res(limits, b, POLICY_RES_MEM_PCT, s->mem_pct) &&
               !(s->mem_pct == 100 && rd->default_mem == 0)) {
        return false; /* no percentage resource, and the default is not the whole card */
    }
    return put_res(limits, b, POLICY_RES_CORES, s->cores) || s->cores == rd->default_cores;
}

/* A Pod, named name, that model_pod_parse with defaults d reads as shape s
 * (its first container's ask, its host requests, its model list); NULL when
 * it cannot be written (put_gpus; a model list on a row without the
 * annotation). Caller frees. */
static cJSON *shape_pod(const struct workload_shape *s, const struct model_defaults *d,
                        const char *name)
{
    const struct policy_device_backend *b =
        s->backend ? s->backend : policy_device_backend_default();
    struct model_defaults rd = model_row_defaults(b, d);
    char q[32];
    cJSON *pod = cJSON_CreateObject(), *c = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(pod, "spec"), "containers"),
                         c);
    cJSON_AddStringToObject(c, "name", "main");
    cJSON *res = cJSON_AddObjectToObject(c, "resources");
    cJSON *limits = cJSON_AddObjectToObject(res, "limits");
    cJSON *requests = cJSON_AddObjectToObject(res, "requests");
    snprintf(q, sizeof q, "%lldm", (long long)s->cpu_milli);
    cJSON_AddStringToObject(requests, "cpu", q);
    snprintf(q, sizeof q, "%lldMi", (long long)s->mem_mib);
    cJSON_AddStringToObject(requests, "memory", q);
    bool ok = s->nums == 0 || put_gpus(limits, s, b, &rd);
    if (ok && s->models[0])
        ok =
            b->ann_use_type && cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                                                       b->ann_use_type, s->models);
    if (!ok) {
        cJSON_Delete(pod);
        return NULL;
    }
    return pod;
}

int place_workload_file(struct place *pl, struct buf *out, int *skipped)
{
    struct workload_item *it = mem_alloc(sizeof *it * WORKLOAD_MAX_SHAPES);
    /* the learner itself (a standby publishes nothing), copied as publish
     * does so that filters, which count their pods under learn_lock, never
     * wait for the sort */
    pthread_mutex_lock(&pl->learn_lock);
    struct workload *snap = workload_copy(pl->learner);
    pthread_mutex_unlock(&pl->learn_lock);
    int n = workload_items(snap, it, WORKLOAD_MAX_SHAPES), rc = 0;
    workload_destroy(snap);
    struct model_defaults d = place_defaults(pl);
    char name[32];
    bool first = true;
    *skipped = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        snprintf(name, sizeof name, "shape-%d", i + 1);
        cJSON *pod = shape_pod(&it[i].s, &d, name), *e;
        if (!pod) {
            (*skipped)++;
            continue;
        }
        e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "weight", it[i].weight < 1e9 ? it[i].weight : 1e9);
        cJSON_AddItemToObject(e, "pod", pod);
        char *text = cJSON_PrintUnformatted(e);
        rc = text ? buf_printf(out, "%s%s\n", first ? "[" : ",", text) : ERR_TOOBIG;
        first = false;
        cJSON_free(text);
        cJSON_Delete(e);
    }
    if (rc == 0)
        rc = buf_puts(out, first ? "[]\n" : "]\n");
    free(it);
    return rc;
}

/* Count pod into the learner once per uid; returns whether a new copy is
 * due. */
static bool learn(struct place *pl, const struct policy_pod *pod)
{
    uint64_t h = hash_fnv_str(HASH_FNV_INIT, pod->uid) | 1;
    pthread_mutex_lock(&pl->learn_lock);
    bool counted = pl->seen[h % SEEN_SLOTS] == h;
    if (!counted) {
        pl->seen[h % SEEN_SLOTS] = h;
        workload_observe(pl->learner, pod);
        pl->observed++;
    }
    bool due = !counted && ++pl->since >= pl->publish_at;
    pthread_mutex_unlock(&pl->learn_lock);
    return due;
}

void place_observe(struct place *pl, const struct policy_pod *pod)
{
    if (learn(pl, pod))
        publish(pl);
}

bool place_observe_bound(struct place *pl, const cJSON *json)
{
    struct policy_pod *pod = mem_alloc(sizeof *pod);
    struct model_defaults d = place_defaults(pl);
    char err[256];
    bool ok = model_pod_parse(json, &d, pod, err, sizeof err) == 0 && pod->uid && *pod->uid &&
              place_pod_matters(pl, pod);
    if (ok)
        learn(pl, pod); /* the next filter publishes: no pass over the nodes per list page */
    free(pod);
    return ok;
}

void place_stats(struct place *pl, struct place_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&pl->learn_lock);
    for (int i = 0; i < pl->ntstates; i++) {
        out->fitted += atomic_load_explicit(&pl->tstates[i]->fitted, memory_order_relaxed);
        out->reused += atomic_load_explicit(&pl->tstates[i]->reused, memory_order_relaxed);
        out->memo_bytes += atomic_load_explicit(&pl->tstates[i]->bytes, memory_order_relaxed);
    }
    out->observed = pl->observed;
    pthread_mutex_unlock(&pl->learn_lock);
    out->split = atomic_load_explicit(&pl->split, memory_order_relaxed);
    out->pressed = atomic_load_explicit(&pl->pressed, memory_order_relaxed);
    out->seen_bytes = sizeof pl->seen;
    pthread_rwlock_rdlock(&pl->state_lock);
    out->workload_bytes = workload_bytes() * (pl->state ? 2 : 1);
    pthread_rwlock_unlock(&pl->state_lock);
}

size_t place_workload_shapes(struct place *pl)
{
    pthread_rwlock_rdlock(&pl->state_lock);
    size_t n = pl->state ? workload_size(pl->state) : 0;
    pthread_rwlock_unlock(&pl->state_lock);
    return n;
}

int place_workload_items(struct place *pl, struct workload_item *out, int max)
{
    pthread_rwlock_rdlock(&pl->state_lock);
    int n = pl->state ? workload_items(pl->state, out, max) : 0;
    pthread_rwlock_unlock(&pl->state_lock);
    return n;
}

int place_node_fragment(struct place *pl, const char *node, double *f)
{
    int rc = ERR_NOTFOUND;
    pthread_rwlock_rdlock(&pl->state_lock); /* the documented order: state, then cache */
    if (pl->state && workload_size(pl->state) > 0) {
        cache_rdlock(pl->cache);
        const struct policy_node *v = cache_view(pl->cache, node);
        if (v) {
            *f = workload_fragment(pl->state, v, v->use, v->cpu_used_milli, v->mem_used_mib);
            rc = 0;
        }
        cache_unlock(pl->cache);
    }
    pthread_rwlock_unlock(&pl->state_lock);
    return rc;
}

void place_set_defaults(struct place *pl, struct model_defaults d)
{
    uint64_t w = (uint64_t)(uint32_t)d.default_mem | (uint64_t)(d.default_cores & 0xff) << 32 |
                 (uint64_t)(d.mem_factor & 0xffffff) << 40;
    atomic_store(&pl->defaults, w);
}

struct model_defaults place_defaults(const struct place *pl)
{
    uint64_t w = atomic_load(&((struct place *)pl)->defaults);
    return (struct model_defaults){.default_mem = (int32_t)(uint32_t)w,
                                   .default_cores = (int32_t)(w >> 32 & 0xff),
                                   .mem_factor = (int32_t)(w >> 40 & 0xffffff)};
}

const struct place_opts *place_options(const struct place *pl)
{
    return &pl->o;
}

bool place_ready(struct place *pl)
{
    return cache_ready(pl->cache);
}

char **place_node_names(struct place *pl, size_t *n)
{
    return cache_node_names(pl->cache, n);
}

bool place_pod_matters(const struct place *pl, const struct policy_pod *pod)
{
    const struct policy_node_policy *np = policy_node_policy_of(pod, &pl->o.policy);
    return policy_pod_wants_gpu(pod) || (np && np->cpu_pods);
}

/* New memos, counted in place_stats and freed with pl (NULL past
 * WORKLOAD_THREADS of them). */
static struct tstate *tstate_new(struct place *pl)
{
    struct tstate *t = NULL;
    pthread_mutex_lock(&pl->learn_lock);
    if (pl->ntstates < WORKLOAD_THREADS) {
        t = mem_zalloc(sizeof *t);
        pl->tstates[pl->ntstates++] = t;
    }
    pthread_mutex_unlock(&pl->learn_lock);
    return t;
}

/* This thread's memos (NULL past WORKLOAD_THREADS threads: no memo). */
static struct tstate *thread_state(struct place *pl)
{
    struct tstate *t = pthread_getspecific(pl->tkey);
    if (!t && (t = tstate_new(pl)))
        pthread_setspecific(pl->tkey, t);
    return t;
}

/* The options of one placement: the workload, read-locked until
 * opts_release, and this thread's memo. */
static void opts_acquire(struct place *pl, struct policy_opts *o)
{
    pthread_rwlock_rdlock(&pl->state_lock);
    *o = pl->o.policy;
    o->state = pl->state;
    o->state_epoch = pl->state ? workload_epoch(pl->state) : 0;
    o->scratch = NULL;
    struct tstate *t = pl->state ? thread_state(pl) : NULL;
    if (t && !t->frag)
        t->frag = workload_memo_create();
    if (t)
        o->scratch = t->frag;
}

static void opts_release(struct place *pl)
{
    pthread_rwlock_unlock(&pl->state_lock);
}

static void add_reason(struct place_req *r, struct place_cand *c, const char *text)
{
    c->why = r->why.len;
    buf_append(&r->why, text, strlen(text) + 1);
}

const char *place_reason(const struct place_req *r, const struct place_cand *c)
{
    return c->why < r->why.len ? r->why.data + c->why : "";
}

void place_req_init(struct place_req *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->why, (size_t)64 << 20);
}

void place_req_free(struct place_req *r)
{
    if (r)
        buf_free(&r->why);
}

/* A node whose hami.io/mutex.lock another pod holds, younger than the lock
 * timeout, is passed over with reason NodeLocked: its bind could only wait
 * for the lock or fail. Under the cache's read lock. */
static bool node_locked(struct place *pl, struct place_req *r, struct place_cand *c,
                        const struct policy_node *view, double lock_now)
{
    if (lock_now <= 0 || pl->o.lock_timeout <= 0)
        return false;
    const char *lock = cache_view_lock(view);
    if (!lock || !nodelock_blocks(lock, r->pod.ns ? r->pod.ns : "", r->pod.name ? r->pod.name : "",
                                  lock_now, pl->o.lock_timeout))
        return false;
    c->state = PLACE_UNRESOLVABLE;
    add_reason(r, c, "NodeLocked");
    return true;
}

/* A GPU pod whose priority is above --oversubscription-priority-threshold
 * is kept off a node whose device plugin registers scaled memory: its
 * memory there may be paged out under pressure. Under the read lock. */
static bool node_oversubscribed(struct place *pl, struct place_req *r, struct place_cand *c,
                                const struct policy_node *view)
{
    char text[256];
    if (!pl->o.oversub_guard || !view->oversubscribed ||
        r->pod.spec_priority <= pl->o.oversub_priority || !policy_pod_wants_gpu(&r->pod))
        return false;
    c->state = PLACE_UNRESOLVABLE;
    snprintf(text, sizeof text,
             "NodeOversubscribed: the node's device plugin registers more GPU memory than its "
             "cards have, and the pod's priority %d is above %d",
             (int)r->pod.spec_priority, (int)pl->o.oversub_priority);
    add_reason(r, c, text);
    return true;
}

/* What the thread keeps, for place_stats. */
static void count_bytes(struct tstate *t)
{
    size_t b = t->work_bytes;
    for (int k = 0; k < MEMO_KINDS; k++)
        b += sizeof *t->slot[k] * (size_t)t->nslot[k];
    atomic_store_explicit(&t->bytes, b, memory_order_relaxed);
}

/* The table of verdict memos of pod's kind (MEMO_KINDS): 0 for a pod
 * asking no device (or of a row past the tables), else 1 + 2 x its row +
 * whether it names a sharing mode (nvidia.com/vgpu-mode). */
static int memo_kind(const struct policy_pod *pod)
{
    int b = policy_device_backend_index(policy_pod_backend(pod));
    int k = b < 0 ? 0 : 1 + 2 * b + (pod->vgpu_mode && *pod->vgpu_mode);
    return k < MEMO_KINDS ? k : 0;
}

/* The thread's memo slot of a node for pods of kind k: one per node id,
 * the table grown on demand (up to VERDICT_NODES). */
static struct vslot *slot_of(struct tstate *t, int k, const struct policy_node *n)
{
    if (!t || n->id < 0 || n->id >= VERDICT_NODES)
        return NULL;
    if (n->id >= t->nslot[k]) {
        int have = t->nslot[k], want = n->id + 1 > 2 * have ? n->id + 1 : 2 * have;
        t->slot[k] = mem_realloc(t->slot[k], sizeof *t->slot[k] * (size_t)want);
        memset(t->slot[k] + have, 0, sizeof *t->slot[k] * (size_t)(want - have));
        t->nslot[k] = want;
        count_bytes(t);
    }
    return &t->slot[k][n->id];
}

/* The verdict memo's key of node n for a pod of signature sig. */
static uint64_t verdict_key(uint64_t sig, const struct policy_node *n)
{
    return sig ^ n->gen * 0xff51afd7ed558ccdULL;
}

/* Which part (thread) owns node n's memos when a filter is judged in parts:
 * its id spread over [0, parts) by a multiply and a shift (no division per
 * node on the filter's path). */
static int owner(const struct policy_node *n, int parts)
{
    if (parts <= 1 || n->id < 0)
        return 0;
    return (int)((uint64_t)((uint32_t)n->id * 2654435761u) * (uint64_t)parts >> 32);
}

/* The verdicts of part `part` of x (-1: all), each node's with the memos
 * t[i] and options o[i] (the filter's, with t[i]'s memo of F) of its owner
 * i (of the part's, t[0] and o[0]): from the verdict memo where the pod's
 * signature and the node's version match what was judged before (only the
 * nodes that changed since are fitted again). best: scratch. */
static void judge_part(const struct cands *x, int part, struct tstate *const *t,
                       const struct policy_opts *o, struct policy_placement *best)
{
    const struct policy_node *const *views = x->views;
    const struct policy_pod *pod = &x->r->pod;
    struct policy_verdict *v = x->v;
    bool tally = x->r->tally != NULL;
    int parts = x->parts;
    uint64_t sig = x->sig;
    unsigned long reused[1 + PLACE_HELPERS_MAX] = {0}, fitted[1 + PLACE_HELPERS_MAX] = {0};
    for (size_t j = 0; j < x->m; j++) {
        const struct policy_node *n = views[j];
        int own = owner(n, parts), i = part < 0 ? own : 0;
        if (part >= 0 && own != part)
            continue;
        struct vslot *sl = n->gen ? slot_of(t[i], x->kind, n) : NULL;
        uint64_t key = verdict_key(sig, n);
        if (sl && sl->key == key && (sl->unres >= 0 || tally || sl->v.fits)) {
            v[j] = sl->v;
            x->unres[j] = sl->unres > 0;
            reused[i]++;
            continue;
        }
        v[j].fits = policy_fit(pod, n, &o[i], best, &v[j].why);
        v[j].score = v[j].fits ? best->score : 0;
        int8_t u = v[j].fits ? 0 : tally ? -1 : policy_unresolvable(pod, n, &o[i]);
        x->unres[j] = u > 0;
        if (sl)
            *sl = (struct vslot){key, v[j], u};
        fitted[i]++;
    }
    for (int i = 0; i < (part < 0 ? parts : 1); i++)
        if (t[i]) {
            atomic_fetch_add_explicit(&t[i]->reused, reused[i], memory_order_relaxed);
            atomic_fetch_add_explicit(&t[i]->fitted, fitted[i], memory_order_relaxed);
        }
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->st == HELPER_IDLE)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->st == HELPER_QUIT)
            break;
        pthread_mutex_unlock(&h->mu);
        judge_part(&h->job, h->part, &h->t, &h->o, &h->best);
        pthread_mutex_lock(&h->mu);
        h->st = HELPER_IDLE;
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* Into how many parts a filter of m candidates is judged: 1, or with every
 * helper when this filter runs alone and is large (help_lock then held). */
static int parts_of(struct place *pl, size_t m)
{
    if (pl->nhelpers == 0 || m < PLACE_SPLIT_MIN || atomic_load(&pl->judging) > 1 ||
        pthread_mutex_trylock(&pl->help_lock) != 0)
        return 1;
    return 1 + pl->nhelpers;
}

/* Each part's memos (t[i]) and options (o[i]: the filter's, with the
 * memo of F of t[i]; made on first use). */
static void owners(struct place *pl, struct tstate *t, const struct policy_opts *o, int parts,
                   struct tstate **ts, struct policy_opts *os)
{
    for (int i = 0; i < parts; i++) {
        ts[i] = i ? pl->helpers[i - 1].t : t;
        os[i] = *o;
        if (i && ts[i] && o->scratch && !ts[i]->frag)
            ts[i]->frag = workload_memo_create();
        if (i)
            os[i].scratch = ts[i] && o->scratch ? ts[i]->frag : NULL;
    }
}

/* Would the verdict memos answer all but a few of x's candidates (fewer
 * than PLACE_SPLIT_WORK, estimated from the first PLACE_SPLIT_SAMPLE)?
 * Then waking the helpers would cost more than it saves. */
static bool memoised(const struct cands *x, struct tstate *const *ts)
{
    size_t n = x->m < PLACE_SPLIT_SAMPLE ? x->m : PLACE_SPLIT_SAMPLE, miss = 0;
    for (size_t j = 0; j < n; j++) {
        const struct policy_node *v = x->views[j];
        struct vslot *sl = v->gen ? slot_of(ts[owner(v, x->parts)], x->kind, v) : NULL;
        miss += !sl || sl->key != verdict_key(x->sig, v);
    }
    return miss * x->m < PLACE_SPLIT_WORK * n;
}

/* Hand the parts 1.. of x to the helpers, judge part 0, wait for them. */
static void judge_apart(struct place *pl, const struct cands *x, struct tstate *const *ts,
                        const struct policy_opts *os, struct policy_placement *best)
{
    for (int i = 1; i < x->parts; i++) {
        struct helper *h = &pl->helpers[i - 1];
        pthread_mutex_lock(&h->mu);
        h->job = *x;
        h->part = i;
        h->o = os[i];
        h->st = HELPER_WORK;
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    judge_part(x, 0, ts, os, best);
    for (int i = 1; i < x->parts; i++) {
        struct helper *h = &pl->helpers[i - 1];
        pthread_mutex_lock(&h->mu);
        while (h->st == HELPER_WORK)
            pthread_cond_wait(&h->cv, &h->mu);
        pthread_mutex_unlock(&h->mu);
    }
    atomic_fetch_add_explicit(&pl->split, 1, memory_order_relaxed);
}

/* Verdicts for views[0..m): with the helpers when the filter runs alone,
 * is large and the memos would not answer it (each part then on its own
 * thread), else on this thread (each part with its owner's memos, lent by
 * the idle helpers). Then the chosen node. Its placement is left in *best
 * only when `placement` asks for it (simulate: filter reserves by fitting
 * again under the write lock). Under the cache's read lock. */
static int judge(struct place *pl, struct tstate *t, struct place_req *r,
                 const struct policy_node **views, size_t m, const struct policy_opts *o,
                 struct policy_verdict *v, bool *unres, struct policy_placement *best,
                 bool placement)
{
    struct tstate *ts[1 + PLACE_HELPERS_MAX];
    struct policy_opts os[1 + PLACE_HELPERS_MAX];
    struct cands x = {r, policy_pod_signature(&r->pod, o), memo_kind(&r->pod), views, m, v, unres,
                      1};
    atomic_fetch_add(&pl->judging, 1);
    x.parts = parts_of(pl, m);
    owners(pl, t, o, x.parts, ts, os);
    if (x.parts > 1 && !memoised(&x, ts))
        judge_apart(pl, &x, ts, os, best);
    else
        judge_part(&x, -1, ts, os, best);
    if (x.parts > 1)
        pthread_mutex_unlock(&pl->help_lock);
    atomic_fetch_sub(&pl->judging, 1);
    int k = policy_pick_best(&r->pod, views, (int)m, o, v);
    struct policy_reasons why;
    if (k >= 0 && placement && !policy_fit(&r->pod, views[k], o, best, &why))
        k = -1; /* cannot happen: the memo matched this very state */
    return k;
}

void place_quota_need(struct place *pl, const struct policy_pod *pod, int64_t *mem, int64_t *cores)
{
    *mem = *cores = 0;
    for (int i = 0; i < pod->nctr && i < POLICY_MAX_CONTAINERS; i++) {
        const struct policy_ctr *c = &pod->ctr[i];
        int64_t m;
        int32_t k;
        if (c->nums <= 0)
            continue;
        cache_gpu_take_max(pl->cache, c->mem, c->cores, &m, &k);
        *mem += c->nums * m;
        *cores += (int64_t)c->nums * k;
    }
}

/* Under the cache's lock: set what the pod's namespace's quota leaves it
 * (k8s/cache.h), and describe it in note ("" when no quota applies). A
 * quota that leaves more than the pod could take anywhere cannot refuse
 * it: it reads as none, so the verdicts memoised for the pod's shape stay
 * good while the namespace's use moves (the reservation's refit under the
 * write lock still checks the exact quota). */
static void quota_apply(struct place *pl, struct policy_pod *pod, char *note, size_t cap)
{
    const struct policy_device_backend *b = policy_pod_backend(pod);
    int64_t mem = -1, cores = -1, need_mem, need_cores;
    note[0] = '\0';
    pod->quota_mem = pod->quota_cores = -1;
    if (b)
        cache_quota_left(pl->cache, pod->ns, b, &mem, &cores);
    if (mem < 0 && cores < 0)
        return;
    size_t k =
        (size_t)snprintf(note, cap, "; quota of namespace %s leaves", pod->ns ? pod->ns : "");
    if (mem >= 0 && k < cap)
        k += (size_t)snprintf(note + k, cap - k, " %s %lld", policy_device_res(b, POLICY_RES_MEM),
                              (long long)mem);
    if (cores >= 0 && k < cap)
        snprintf(note + k, cap - k, "%s %s %lld", mem >= 0 ? "," : "",
                 policy_device_res(b, POLICY_RES_CORES), (long long)cores);
    place_quota_need(pl, pod, &need_mem, &need_cores);
    pod->quota_mem = mem >= need_mem ? -1 : mem;
    pod->quota_cores = cores >= need_cores ? -1 : cores;
}

/* Place r->pod among the candidates (under the read lock). Fills each
 * candidate's state, score and reason; returns the chosen index or -1.
 * When devices is not NULL, also encodes the chosen placement there, and
 * its MIG allocation in mig ("" for none) when mig is not NULL. */
static int evaluate(struct place *pl, struct place_req *r, double lock_now, char *devices,
                    char *mig, size_t cap)
{
    struct tstate *t = thread_state(pl);
    struct work own = {0}, *w = t ? &t->work : &own;
    size_t bytes = work_reserve(w, r->n + 1);
    if (t && bytes != t->work_bytes) {
        t->work_bytes = bytes;
        count_bytes(t);
    }
    char text[1024], note[256];
    size_t m = 0;
    int k, chosen = -1;
    struct policy_opts o;

    const struct policy_node_policy *np = policy_node_policy_of(&r->pod, &pl->o.policy);
    if (np && np->learns && !atomic_load_explicit(&pl->learned, memory_order_relaxed))
        atomic_store(&pl->learned, true);
    opts_acquire(pl, &o); /* state_lock before the cache's lock: see struct place */
    cache_rdlock(pl->cache);
    quota_apply(pl, &r->pod, note, sizeof note);
    /* Candidates are names only, also in full-Nodes mode: the cluster
     * source alone says what a node has. */
    for (size_t i = 0; i < r->n; i++)
        w->names[i] = r->c[i].name;
    cache_views(pl->cache, w->names, r->n, w->views);
    for (size_t i = 0; i < r->n; i++) {
        const struct policy_node *view = w->views[i]; /* kept ones move down to m <= i */
        if (!view) {
            r->c[i].state = PLACE_UNKNOWN;
            add_reason(r, &r->c[i],
                       "node is not in the scheduler's cache: unknown to its cluster view");
            continue;
        }
        if (node_locked(pl, r, &r->c[i], view, lock_now) ||
            node_oversubscribed(pl, r, &r->c[i], view))
            continue;
        w->views[m] = view;
        w->map[m++] = i;
    }
    k = judge(pl, t, r, w->views, m, &o, w->v, w->unres, w->best, devices != NULL);
    const struct policy_reasons *said = NULL; /* the last reason's counts: its text is */
    size_t said_at = 0;                       /* at r->why's said_at */
    for (size_t j = 0; j < m; j++) {
        struct place_cand *c = &r->c[w->map[j]];
        if (w->v[j].fits) {
            c->state = PLACE_FITS;
            c->score = w->v[j].score;
            continue;
        }
        if (r->tally) {
            c->state = PLACE_FAILS;
            for (int q = 0; q < POLICY_R_COUNT; q++)
                r->tally->cnt[q] += w->v[j].why.cnt[q];
            continue;
        }
        c->state = w->unres[j] ? PLACE_UNRESOLVABLE : PLACE_FAILS;
        if (said && memcmp(said, &w->v[j].why, sizeof *said) == 0) {
            c->why = said_at; /* the same counts: the same words (a full cluster's nodes) */
            continue;
        }
        size_t len = policy_reasons_format(&w->v[j].why, text, sizeof text);
        if (w->v[j].why.cnt[POLICY_R_QUOTA_NOT_FIT] && len < sizeof text)
            snprintf(text + len, sizeof text - len, "%s", note);
        add_reason(r, c, text);
        said = &w->v[j].why;
        said_at = c->why;
    }
    if (k >= 0) {
        chosen = (int)w->map[k];
        if (devices && codec_encode(&r->pod, w->views[k], w->best, devices, cap) < 0)
            devices[0] = '\0';
        if (devices && mig && policy_mig_encode(&r->pod, w->views[k], w->best, mig, cap) < 0)
            mig[0] = '\0';
    }
    cache_unlock(pl->cache);
    opts_release(pl);
    work_free(&own);
    return chosen;
}

/* ---- choose and reserve ---- */

/* cache_fit_fn: fit the pod on the node's view of now and encode the
 * placement (HAMi's device annotation). ctx: the placement's policy_opts.
 * Under the cache's write lock; takes no lock. */
static int fit_encode(void *ctx, const struct policy_pod *pod, const struct policy_node *view,
                      char **devices, char **mig, char *err, size_t cap)
{
    const struct policy_opts *opts = ctx;
    struct policy_placement *best = mem_alloc(sizeof *best);
    struct policy_reasons why;
    char *buf = NULL, *mbuf = NULL;
    int rc = 0;

    if (!policy_fit(pod, view, opts, best, &why)) {
        size_t k = (size_t)snprintf(err, cap, "node %s: ", view->name);
        policy_reasons_format(&why, err + (k < cap ? k : cap - 1), k < cap ? cap - k : 1);
        rc = ERR_NOFIT;
        goto out;
    }
    buf = mem_alloc(PLACE_DEVICES_MAX);
    rc = codec_encode(pod, view, best, buf, PLACE_DEVICES_MAX);
    if (rc < 0) {
        snprintf(err, cap, "the device annotation would exceed %d bytes", PLACE_DEVICES_MAX);
        goto out;
    }
    mbuf = mem_alloc(PLACE_DEVICES_MAX);
    rc = policy_mig_encode(pod, view, best, mbuf, PLACE_DEVICES_MAX);
    if (rc < 0) {
        snprintf(err, cap, "the MIG allocation annotation would exceed %d bytes",
                 PLACE_DEVICES_MAX);
        goto out;
    }
    *mig = rc > 0 ? mbuf : NULL;
    mbuf = rc > 0 ? NULL : mbuf;
    rc = 0;
    *devices = buf;
    buf = NULL;
out:
    free(buf);
    free(mbuf);
    free(best);
    return rc;
}

int place_assume(struct cache *c, const struct policy_pod *pod, const char *node,
                 const struct policy_opts *o, double now, double ttl, struct cache_assumed *out,
                 char *err, size_t cap)
{
    struct cache_reserve rq = {
        .pod = pod, .now = now, .node = node, .ttl = ttl, .fit = fit_encode, .ctx = (void *)o};
    return cache_reserve(c, &rq, out, err, cap);
}

struct cache *place_cache(struct place *p)
{
    return p->cache;
}

int place_hold(struct place *p, const struct policy_pod *pod, const char *node,
               const char *const *victims, size_t nvictims, double now, double ttl, char *err,
               size_t cap)
{
    struct cache_assumed a;
    struct policy_opts o = p->o.policy;
    o.state = NULL;
    o.scratch = NULL;
    struct cache_reserve rq = {.pod = pod,
                               .now = now,
                               .node = node,
                               .ttl = ttl,
                               .fit = fit_encode,
                               .ctx = &o,
                               .victims = victims,
                               .nvictims = nvictims};
    int rc = cache_reserve(p->cache, &rq, &a, err, cap);
    cache_assumed_free(&a);
    return rc;
}

/* One cache_reserve with the placement's options (state_lock around it). */
static int reserve(struct place *pl, const struct cache_reserve *rq, char *err, size_t cap)
{
    struct cache_reserve with = *rq;
    struct cache_assumed a;
    struct policy_opts o;
    opts_acquire(pl, &o);
    with.fit = fit_encode;
    with.ctx = &o;
    int rc = cache_reserve(pl->cache, &with, &a, err, cap);
    opts_release(pl);
    cache_assumed_free(&a);
    return rc;
}

/* Choose, then reserve on the chosen node (single mode) in the one write of
 * the filter, which also forgets the pod's old reservation and stores
 * pending_json; choose again when a concurrent filter took the room first.
 * The lock sequence is the one written at struct place. Returns the
 * chosen index or -1 (with r->err set when the pod's uid is already
 * placed). */
static int choose_and_reserve(struct place *pl, struct place_req *r, const char *pending_json,
                              double lock_now, double now)
{
    char err[1024] = "";
    int prc = 0, k = -1;
    struct cache_reserve rq = {.pod = &r->pod,
                               .now = now,
                               .forget = true,
                               .pending_json = pending_json,
                               .pending_ttl = 2 * pl->o.ttl,
                               .pending_rc = &prc,
                               .ttl = pl->o.ttl};
    if (cache_due(pl->cache, r->pod.uid, now)) {
        /* Evaluate on what filter saw when it expired and forgot first. */
        rq.expire = true;
        reserve(pl, &rq, err, sizeof err);
        rq.expire = rq.forget = false;
        rq.pending_json = NULL;
    }
    for (int t = 0; t < FILTER_TRIES; t++) {
        buf_reset(&r->why);
        k = evaluate(pl, r, lock_now, NULL, NULL, 0);
        rq.node = k >= 0 && pl->o.mode == PLACE_SINGLE ? r->c[k].name : NULL;
        if (!rq.node && !rq.forget && !rq.pending_json)
            break;
        int rc = reserve(pl, &rq, err, sizeof err);
        if (rq.pending_json && prc != 0) {
            r->pending_full = true;
            LOG_WARN("pending pod store: %s/%s is bigger than its whole bound; it can only "
                     "bind where it was reserved",
                     r->pod.ns, r->pod.name);
        }
        rq.forget = false;
        rq.pending_json = NULL;
        if (!rq.node || rc == 0)
            break;
        k = -1;
        if (rc == ERR_CONFLICT) {
            snprintf(r->err, sizeof r->err, "%.500s", err);
            LOG_WARN("filter %s/%s: %s", r->pod.ns ? r->pod.ns : "", r->pod.name ? r->pod.name : "",
                     err);
            break;
        }
        r->retries++;
        LOG_DEBUG("filter %s/%s: reservation on %s lost a race (%s); choosing again", r->pod.ns,
                  r->pod.name, rq.node, err);
    }
    return k;
}

int place_filter(struct place *pl, struct place_req *r, const char *pod_json, double now)
{
    place_observe(pl, &r->pod);
    return choose_and_reserve(pl, r, pod_json, pl->o.mode == PLACE_SINGLE ? now : 0, now);
}

int place_evaluate(struct place *pl, struct place_req *r, char *devices, char *mig, size_t cap)
{
    return evaluate(pl, r, 0, devices, mig, cap);
}

int place_pod(struct place *pl, const struct policy_pod *pod, const char *const *names, size_t n,
              double now, struct policy_reasons *tally)
{
    struct place_req r;
    place_req_init(&r);
    r.pod = *pod;
    r.tally = tally;
    r.n = n;
    r.c = mem_zalloc(sizeof *r.c * (n + 1));
    for (size_t i = 0; i < n; i++)
        r.c[i].name = names[i];
    int k = choose_and_reserve(pl, &r, NULL, 0, now);
    free(r.c);
    place_req_free(&r);
    return k;
}

/* ---- bind ---- */

/* No live reservation on this node: fit the pod again there. */
static int reserve_on(struct place *pl, const char *uid, const char *ns, const char *name,
                      const char *node, double now, char *err, size_t cap, const char **what)
{
    char *json = cache_pending_get(pl->cache, uid, now);
    cJSON *pod_json = NULL;
    struct policy_pod *pod = NULL;
    int rc;

    if (!json && cache_pending_evicted(pl->cache, uid)) {
        struct cache_stats st;
        cache_stats(pl->cache, &st);
        *what = "bind_evicted";
        snprintf(err, cap,
                 "pod %s/%s (uid %s) has no reservation on node %s and its spec was evicted "
                 "from the pending pod store to make room (full at %zu bytes; "
                 "--pending-store-kib): nothing was written; filter it again",
                 ns, name, uid, node, st.pending_bytes_max);
        return ERR_NOTFOUND;
    }
    if (!json) {
        *what = "bind_unknown";
        snprintf(err, cap,
                 "pod %s/%s (uid %s) has no reservation and its spec is unknown to this "
                 "scheduler: it was never filtered here, or long ago; filter it again",
                 ns, name, uid);
        return ERR_NOTFOUND;
    }
    pod_json = cJSON_Parse(json);
    pod = mem_alloc(sizeof *pod);
    struct model_defaults d = place_defaults(pl);
    rc = model_pod_parse(pod_json, &d, pod, err, cap);
    if (rc)
        goto out;
    struct cache_reserve rq = {.pod = pod, .now = now, .node = node, .ttl = pl->o.ttl};
    rc = reserve(pl, &rq, err, cap);
    if (rc)
        *what = "bind_no_fit";
out:
    free(pod);
    cJSON_Delete(pod_json);
    free(json);
    return rc;
}

int place_bind_reserve(struct place *pl, const char *uid, const char *ns, const char *name,
                       const char *node, double now, struct cache_assumed *out, char *err,
                       size_t cap, const char **what)
{
    *what = NULL;
    if (cache_reservation(pl->cache, uid, now, out) == 0 && strcmp(out->node, node) == 0)
        return 0;
    cache_assumed_free(out);
    int rc = reserve_on(pl, uid, ns, name, node, now, err, cap, what);
    if (rc == 0)
        rc = cache_reservation(pl->cache, uid, now, out);
    return rc;
}

void place_forget(struct place *pl, const char *uid)
{
    cache_forget(pl->cache, uid);
}

void place_bound(struct place *pl, const char *uid)
{
    cache_commit(pl->cache, uid);
    placed(pl);
}

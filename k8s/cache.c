/* cache.c: nodes, pods, reservations; usage = sum of contributions. */
#include "k8s/cache.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/hash.h"
#include "base/hmap.h"
#include "base/mem.h"
#include "k8s/nodelock.h"
#include "k8s/quota.h"
#include "policy/device.h"
#include "k8s/pdb.h"
#include "policy/codec.h"
#include "policy/device_nvidia_mig.h"

#define INTERN_MAX 4096

enum pod_state { POD_OBSERVED, POD_RESERVED, POD_COMMITTED };

/* Why a pod counts its request (conservatively) instead of its annotation. */
enum bad { BAD_NONE, BAD_MISSING, BAD_TOOBIG, BAD_DECODE, BAD_SPEC, BAD_UUID };

/* One GPU's share of one pod. */
struct contrib {
    int32_t dev;
    int16_t backend; /* the device's backend (quota_backend_index), for the namespace's sums */
    uint16_t high;   /* its containers of runtime priority 0 (high) there */
    struct policy_usage u;
};

struct cnode;

_Static_assert(POLICY_MAX_CONTAINERS <= 64, "cpod.sidecars holds one bit per container");

struct cpod {
    const char *uid, *ns, *name, *node, *devices; /* in the same allocation; devices may be NULL */
    const char *mig;           /* hami.io/vgpu-mig-allocations, in the same allocation, or NULL */
    struct model_gpu_ask *ask; /* nask entries, in the same allocation */
    int32_t ninit, nctr, nask;
    uint64_t sidecars; /* bit i: init container i is a sidecar (adds to the app containers) */
    uint64_t high;     /* bit i: container i asks runtime priority 0 (high) */
    bool init_done;    /* OBSERVED: its plain init containers exited 0 (they count no more) */
    int64_t cpu, mem;
    enum pod_state state;
    bool bound;       /* OBSERVED: spec.nodeName set (else a bind-window candidate) */
    bool open;        /* OBSERVED candidate whose bind window is open: it counts (on c->win) */
    bool seen_open;   /* ... and was open once for this node and bind time: it stays open
                         until the bind time is stale, whatever the lock does next */
    bool devices_bad; /* the annotation was too long to read */
    uint8_t bad;      /* enum bad: counted by its request; then counted in c->nbad */
    uint8_t told;     /* enum bad: what cache_pod_put reported for this annotation */
    double expires;   /* RESERVED */
    double bind_time; /* OBSERVED candidate: hami.io/bind-time */
    struct cnode *on; /* NULL: the node is unknown (an orphan) */
    struct cpod *prev, *next;   /* on on->pods, or on the orphan list */
    struct cpod *rprev, *rnext; /* on c->resv when RESERVED, on c->win when open */
    int32_t ncontrib;
    struct contrib *contrib; /* &one, or owned when more than one */
    struct contrib one;      /* most pods use one GPU */
    int32_t priority;        /* OBSERVED: spec.priority (preemption) */
    char *labels;            /* OBSERVED: flattened labels (k8s/pdb.h), owned, or NULL */
    size_t bytes;            /* this record's allocations, for cache_stats */
};

struct cnode {
    struct policy_node view; /* first: cache_view_lock finds the node from it */
    /* inv->lock, beside the view: a live filter reads it for every node,
     * and through inv it was one more cache miss per node (14 % of the
     * service's time at 5,000 nodes, vgpu-bench --churn). */
    const char *lock;
    struct model_inventory *inv;
    struct policy_usage *use; /* inv->ndev */
    int64_t *cores;           /* inv->ndev exact sums; use[i].cores is this capped at INT32_MAX */
    uint16_t *high;           /* inv->ndev: high-priority containers per device (view.high) */
    struct cpod *pods;
};

/* Per namespace: what its pods' contributions hold and what its quotas
 * allow, per backend (k8s/quota.h). The key lives in ns. */
struct nsq {
    char *ns;
    int64_t mem[QUOTA_BACKENDS_MAX], cores[QUOTA_BACKENDS_MAX]; /* held, MiB and % */
    struct quota_limits lim; /* the smallest of its ResourceQuotas' limits; -1 none */
};

/* One ResourceQuota as last seen. The key ("ns/name") lives in key. */
struct qobj {
    char *key, *ns;
    struct quota_limits l;
};

/* A pod not placed yet: what bind needs of its spec. On the cache's list
 * of entries in the order they were put (pend_old first). */
struct pend {
    char *uid;
    char *json;
    size_t bytes;   /* pend_size(uid, json) */
    double expires; /* 0 = until placed or deleted */
    struct pend *older, *newer;
};

struct cache {
    pthread_rwlock_t lock; /* writer-preferring: readers never starve the source */
    atomic_ulong wrlocks;  /* times the write lock was taken (cache_write_locks) */
    struct hmap *pending;  /* uid -> pend */
    struct hmap *nodes;    /* name -> cnode */
    struct hmap *pods;     /* uid -> cpod */
    struct hmap *intern;   /* string -> the same string */
    struct hmap *nsq;      /* namespace -> nsq: sums of every contribution, quota limits */
    struct hmap *qobjs;    /* "ns/name" -> qobj: the ResourceQuotas */
    int32_t mem_factor;    /* memory limits of config_defaults rows are scaled by it */
    int64_t devmem_max;    /* the largest devmem of any device ever put (a bound) */
    bool has_mig;          /* a MIG card was ever put */
    struct cpod *orphans;
    struct cpod *resv;
    struct cpod *win; /* candidates counted in their bind window: at most one per node lock */
    size_t nresv, norphans, nbad, nwin;
    double lock_timeout;   /* seconds: a node lock or bind-time older than this is stale */
    double (*clock)(void); /* wall-clock seconds, for sources that pass no time */
    uint64_t gens;         /* the last version stamp given to a node view */
    int32_t *free_ids, nfree, next_id; /* dense node ids, reused */
    bool ready;
    struct pdbs *pdbs; /* the disruption budgets (its own lock, a leaf) */

    /* The pending store's limits and bookkeeping. */
    size_t pend_bytes;                            /* the sum of the entries' bytes */
    size_t pend_max, pend_bytes_max;              /* pend_bytes_max 0: follows the node count */
    struct pend *pend_old, *pend_new;             /* the entries in the order put */
    size_t pend_evicted;                          /* entries evicted to make room */
    uint64_t evicted[CACHE_PENDING_EVICTED_KEEP]; /* hashes of the last evicted uids (0: none) */
    size_t evicted_next;
    size_t pod_bytes, resv_bytes, orphan_bytes; /* held by pod records (cpod.bytes) */
    struct cpod *resv_old;                      /* the oldest reservation (c->resv's tail) */
    size_t resv_bytes_max;                      /* 0: follows the node count */
    size_t resv_evicted;                        /* reservations evicted to make room */
    double pend_first;                          /* no entry expires before this (a lower bound) */
    double pend_swept;                          /* when the last sweep ran */

    /* How long writes waited for the lock, per writer (cache_write_wait):
     * written by the writer once it holds the lock (writers are serialized
     * by it), read by anyone with relaxed loads. */
    atomic_ullong wait_n[CACHE_WRITERS], wait_ns[CACHE_WRITERS], wait_max_ns[CACHE_WRITERS];
    atomic_ullong wait_bucket[CACHE_WRITERS][CACHE_WAIT_BUCKETS];

    /* Nodes put or removed (cache_node_changes), and who waits for that
     * (cache_node_wait): a leaf lock, taken under the write lock. */
    pthread_mutex_t change_mu;
    pthread_cond_t change_cv; /* on CLOCK_MONOTONIC */
    unsigned long changes;    /* under change_mu */
};

static void wrlock(struct cache *c, enum cache_writer who);

_Static_assert(sizeof((double[])CACHE_WAIT_BOUNDS) / sizeof(double) == CACHE_WAIT_BUCKETS - 1,
               "one bucket per bound, and one above");

struct cache *cache_create(void)
{
    struct cache *c = mem_zalloc(sizeof *c);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* glibc's default lets a steady stream of filters starve the watch's
     * writes; with writer preference a waiting writer holds new readers
     * back, so no thread may take the read lock twice (cache.h). */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->change_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->change_mu, NULL);
    c->nodes = hmap_create();
    c->pods = hmap_create();
    c->intern = hmap_create();
    c->pending = hmap_create();
    c->nsq = hmap_create();
    c->qobjs = hmap_create();
    c->mem_factor = 1;
    c->pend_max = CACHE_PENDING_MAX;
    c->pend_first = HUGE_VAL;
    c->lock_timeout = CACHE_LOCK_TIMEOUT_DEFAULT;
    c->clock = clock_wall_s;
    c->pdbs = pdbs_create();
    return c;
}

struct pdbs *cache_pdbs(struct cache *c)
{
    return c->pdbs;
}

void cache_set_lock_timeout(struct cache *c, double seconds)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    c->lock_timeout = seconds > 0 ? seconds : CACHE_LOCK_TIMEOUT_DEFAULT;
    cache_unlock(c);
}

void cache_set_clock(struct cache *c, double (*clock)(void))
{
    wrlock(c, CACHE_WRITER_SOURCE);
    c->clock = clock ? clock : clock_wall_s;
    cache_unlock(c);
}

/* ---- namespaces ---- */

static bool nsq_empty(const struct nsq *q)
{
    for (int i = 0; i < QUOTA_BACKENDS_MAX; i++)
        if (q->mem[i] || q->cores[i] || q->lim.mem[i] >= 0 || q->lim.cores[i] >= 0)
            return false;
    return true;
}

/* The namespace's entry, made when missing. */
static struct nsq *nsq_get(struct cache *c, const char *ns)
{
    struct nsq *q = hmap_get(c->nsq, ns);
    if (q)
        return q;
    q = mem_zalloc(sizeof *q);
    q->ns = mem_strdup(ns);
    quota_limits_none(&q->lim);
    hmap_put(c->nsq, q->ns, q);
    return q;
}

/* Drop the namespace's entry when it holds nothing and has no quota. */
static void nsq_tidy(struct cache *c, struct nsq *q)
{
    if (!nsq_empty(q))
        return;
    hmap_del(c->nsq, q->ns);
    free(q->ns);
    free(q);
}

/* Add (sign +1) or take away (-1) p's contributions to its namespace's
 * sums: every contribution counts there for as long as it exists. */
static void ns_add(struct cache *c, const struct cpod *p, int sign)
{
    if (!c || !p->ncontrib)
        return;
    struct nsq *q = nsq_get(c, p->ns);
    for (int i = 0; i < p->ncontrib; i++) {
        const struct contrib *k = &p->contrib[i];
        q->mem[k->backend] += sign * k->u.mem;
        q->cores[k->backend] += sign * (int64_t)k->u.cores;
    }
    if (sign < 0)
        nsq_tidy(c, q);
}

/* c NULL: the cache is going away, no sums to keep. */
static void contrib_drop(struct cache *c, struct cpod *p)
{
    ns_add(c, p, -1);
    if (p->contrib != &p->one)
        free(p->contrib);
    p->contrib = NULL;
    p->ncontrib = 0;
}

static void pend_free(struct pend *p)
{
    if (!p)
        return;
    free(p->uid);
    free(p->json);
    free(p);
}

static void pend_unlink(struct cache *c, struct pend *p)
{
    *(p->older ? &p->older->newer : &c->pend_old) = p->newer;
    *(p->newer ? &p->newer->older : &c->pend_new) = p->older;
    p->older = p->newer = NULL;
}

static void pend_link(struct cache *c, struct pend *p)
{
    p->older = c->pend_new;
    p->newer = NULL;
    *(c->pend_new ? &c->pend_new->newer : &c->pend_old) = p;
    c->pend_new = p;
}

static void pend_drop(struct cache *c, const char *uid)
{
    struct pend *p = hmap_del(c->pending, uid);
    if (p) {
        c->pend_bytes -= p->bytes;
        pend_unlink(c, p);
    }
    pend_free(p);
}

static void pod_free(struct cpod *p)
{
    if (!p)
        return;
    contrib_drop(NULL, p);
    free(p->labels);
    free(p);
}

static void node_free(struct cnode *n)
{
    if (!n)
        return;
    model_inventory_free(n->inv);
    free(n->use);
    free(n->cores);
    free(n->high);
    free(n);
}

void cache_destroy(struct cache *c)
{
    if (!c)
        return;
    size_t it = 0;
    const char *k;
    void *v;
    while (hmap_next(c->pods, &it, &k, &v))
        pod_free(v);
    it = 0;
    while (hmap_next(c->nodes, &it, &k, &v))
        node_free(v);
    it = 0;
    while (hmap_next(c->intern, &it, &k, &v))
        free(v);
    it = 0;
    while (hmap_next(c->pending, &it, &k, &v))
        pend_free(v);
    hmap_destroy(c->pending);
    it = 0;
    while (hmap_next(c->nsq, &it, &k, &v)) {
        free(((struct nsq *)v)->ns);
        free(v);
    }
    it = 0;
    while (hmap_next(c->qobjs, &it, &k, &v)) {
        free(((struct qobj *)v)->key);
        free(((struct qobj *)v)->ns);
        free(v);
    }
    hmap_destroy(c->nsq);
    hmap_destroy(c->qobjs);
    free(c->free_ids);
    hmap_destroy(c->pods);
    hmap_destroy(c->nodes);
    hmap_destroy(c->intern);
    pdbs_destroy(c->pdbs);
    pthread_cond_destroy(&c->change_cv);
    pthread_mutex_destroy(&c->change_mu);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* Take the write lock for who, counting how long it waited: nothing is
 * timed when the lock is free at once. */
static void wrlock(struct cache *c, enum cache_writer who)
{
    unsigned long long waited = 0;
    if (pthread_rwlock_trywrlock(&c->lock) != 0) {
        double t0 = clock_mono_s();
        pthread_rwlock_wrlock(&c->lock);
        waited = (unsigned long long)((clock_mono_s() - t0) * 1e9);
    }
    atomic_fetch_add_explicit(&c->wrlocks, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->wait_n[who], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->wait_ns[who], waited, memory_order_relaxed);
    if (waited > atomic_load_explicit(&c->wait_max_ns[who], memory_order_relaxed))
        atomic_store_explicit(&c->wait_max_ns[who], waited, memory_order_relaxed);
    static const double bounds[] = CACHE_WAIT_BOUNDS;
    int b = 0;
    while (b < CACHE_WAIT_BUCKETS - 1 && (double)waited > bounds[b] * 1e9)
        b++;
    atomic_fetch_add_explicit(&c->wait_bucket[who][b], 1, memory_order_relaxed);
}

void cache_write_wait(struct cache *c, enum cache_writer who, struct cache_wait *out)
{
    out->count = atomic_load_explicit(&c->wait_n[who], memory_order_relaxed);
    out->sum_s = (double)atomic_load_explicit(&c->wait_ns[who], memory_order_relaxed) / 1e9;
    out->max_s = (double)atomic_load_explicit(&c->wait_max_ns[who], memory_order_relaxed) / 1e9;
    for (int b = 0; b < CACHE_WAIT_BUCKETS; b++)
        out->bucket[b] = atomic_load_explicit(&c->wait_bucket[who][b], memory_order_relaxed);
}

const char *cache_writer_name(enum cache_writer who)
{
    return who == CACHE_WRITER_SOURCE ? "source" : "placement";
}

unsigned long cache_write_locks(struct cache *c)
{
    return atomic_load_explicit(&c->wrlocks, memory_order_relaxed);
}

void cache_rdlock(struct cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
}

void cache_unlock(struct cache *c)
{
    pthread_rwlock_unlock(&c->lock);
}

static const char *intern(struct cache *c, const char *s)
{
    if (!s)
        return NULL;
    char *have = hmap_get(c->intern, s);
    if (have || hmap_count(c->intern) >= INTERN_MAX)
        return have ? have : s;
    have = mem_strdup(s);
    hmap_put(c->intern, have, have);
    return have;
}

/* ---- lists ---- */

static void list_add(struct cpod **head, struct cpod *p)
{
    p->prev = NULL;
    p->next = *head;
    if (*head)
        (*head)->prev = p;
    *head = p;
}

static void list_del(struct cpod **head, struct cpod *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* The second list a pod can be on (by rprev/rnext): the reservations or
 * the open bind windows, never both. */
static void rlist_add(struct cpod **head, struct cpod *p)
{
    p->rprev = NULL;
    p->rnext = *head;
    if (*head)
        (*head)->rprev = p;
    *head = p;
}

static void rlist_del(struct cpod **head, struct cpod *p)
{
    if (p->rprev)
        p->rprev->rnext = p->rnext;
    else
        *head = p->rnext;
    if (p->rnext)
        p->rnext->rprev = p->rprev;
    p->rprev = p->rnext = NULL;
}

static void resv_add(struct cache *c, struct cpod *p)
{
    if (!c->resv)
        c->resv_old = p; /* added at the head: the first is the tail */
    rlist_add(&c->resv, p);
    c->nresv++;
    c->resv_bytes += p->bytes;
}

static void resv_del(struct cache *c, struct cpod *p)
{
    if (c->resv_old == p)
        c->resv_old = p->rprev;
    rlist_del(&c->resv, p);
    c->nresv--;
    c->resv_bytes -= p->bytes;
}

/* Put p on or off the list of open bind windows. */
static void win_set(struct cache *c, struct cpod *p, bool open)
{
    if (p->open == open)
        return;
    p->open = open;
    if (open) {
        rlist_add(&c->win, p);
        c->nwin++;
    } else {
        rlist_del(&c->win, p);
        c->nwin--;
    }
}

static void bad_set(struct cache *c, struct cpod *p, enum bad why)
{
    if (p->bad && !why)
        c->nbad--;
    else if (!p->bad && why)
        c->nbad++;
    p->bad = (uint8_t)why;
}

/* ---- contributions ---- */

/* Every change to a node's view gets a new stamp (under the write lock):
 * verdicts memoised against the old one no longer match. */
static void stamp(struct cache *c, struct cnode *n)
{
    n->view.gen = ++c->gens;
}

static void apply(struct cache *c, struct cnode *n, const struct cpod *p, int sign)
{
    stamp(c, n);
    for (int i = 0; i < p->ncontrib; i++) {
        int32_t d = p->contrib[i].dev;
        struct policy_usage *u = &n->use[d];
        u->used += sign * p->contrib[i].u.used;
        /* Each pod's cores fit an int32 (codec_decode); their sum may not. */
        n->cores[d] += sign * (int64_t)p->contrib[i].u.cores;
        u->cores = n->cores[d] > INT32_MAX ? INT32_MAX : (int32_t)n->cores[d];
        u->mem += sign * p->contrib[i].u.mem;
        u->mig = sign > 0 ? u->mig + p->contrib[i].u.mig : u->mig - p->contrib[i].u.mig;
        n->high[d] = (uint16_t)(n->high[d] + sign * p->contrib[i].high);
    }
    n->view.cpu_used_milli += sign * p->cpu;
    n->view.mem_used_mib += sign * p->mem;
}

/* ---- what a pod counts ---- */

/* A candidate (not bound) counts only in its bind window: node lock `lock`
 * names it and is fresh, and so is its bind time. */
static bool window_open(const struct cache *c, const char *lock, const char *ns, const char *name,
                        double bind_time, double now)
{
    return bind_time > 0 && now - bind_time <= c->lock_timeout &&
           nodelock_state(lock, ns, name, now, c->lock_timeout, NULL) == NODELOCK_OURS;
}

/* Is p's window open at now? Once its lock was seen naming it, only its
 * bind time closes it: the node watch may bring the next pod's lock (the
 * device plugin released this one) before the pod watch brings the bound
 * version, and the pod must not stop counting in between. */
static bool window_still(const struct cache *c, const struct cnode *n, const struct cpod *p,
                         double now)
{
    if (p->seen_open)
        return p->bind_time > 0 && now - p->bind_time <= c->lock_timeout;
    return window_open(c, n->inv->lock, p->ns, p->name, p->bind_time, now);
}

/* Does the annotation agree with the spec: no entry past the pod's
 * containers, and per container exactly the GPUs it asks? */
static bool matches_spec(const struct cpod *p, const struct codec_devices *d)
{
    int per[POLICY_MAX_CONTAINERS] = {0}, asked = 0;
    for (int i = 0; i < d->n; i++) {
        if (d->e[i].ctr >= p->nctr)
            return false;
        per[d->e[i].ctr]++;
    }
    for (int k = 0; k < p->nask; k++) {
        if (per[p->ask[k].ctr] != p->ask[k].nums)
            return false;
        asked += p->ask[k].nums;
    }
    return asked == d->n;
}

/* The usage a decoded annotation of p puts on node v, into u (v->ndev
 * entries): HAMi's collapse rule with its sidecar design. Per device,
 * sidecars + max(peak of the plain init containers, sum of the app
 * containers), and, once the plain init containers have exited 0, sidecars
 * + app containers only. Slots alike (a plain init container peaks at one).
 * Returns how many entries named a UUID v does not have. */
static int collapse(const struct policy_node *v, const struct cpod *p,
                    const struct codec_devices *d, struct policy_usage *u)
{
    if (!p->sidecars && !(p->init_done && p->ninit > 0))
        return codec_usage(v, d, p->ninit, u);
    /* One pass per class through codec_usage, so its UUID -> card mapping
     * stays the one place that knows it: 0 sidecars, 1 plain init, 2 app. */
    struct codec_devices *part = mem_alloc(sizeof *part);
    struct policy_usage cls[3][POLICY_MAX_DEVICES];
    int nd = v->ndev < POLICY_MAX_DEVICES ? v->ndev : POLICY_MAX_DEVICES, unknown = 0;
    for (int k = 0; k < 3; k++) {
        part->nctr = d->nctr;
        part->n = 0;
        for (int i = 0; i < d->n; i++) {
            int ctr = d->e[i].ctr;
            bool side = ctr < p->ninit && ctr < POLICY_MAX_CONTAINERS && (p->sidecars >> ctr & 1);
            int which = side ? 0 : ctr < p->ninit ? 1 : 2;
            if (which == k && !(k == 1 && p->init_done))
                part->e[part->n++] = d->e[i];
        }
        /* ninit past every entry: a peak; 0: a sum. */
        unknown += codec_usage(v, part, k == 1 ? INT32_MAX : 0, cls[k]);
    }
    for (int i = 0; i < nd; i++) {
        const struct policy_usage *s = &cls[0][i], *in = &cls[1][i], *a = &cls[2][i];
        int64_t cores = (int64_t)s->cores + (in->cores > a->cores ? in->cores : a->cores);
        u[i].used = s->used + (in->used > a->used ? in->used : a->used);
        u[i].cores = cores > INT32_MAX ? INT32_MAX : (int32_t)cores;
        u[i].mem = s->mem + (in->mem > a->mem ? in->mem : a->mem);
    }
    free(part);
    return unknown;
}

/* What is wrong with the pod's annotation whatever its node; decoded into
 * d when nothing. */
static enum bad annotation_check(const struct cpod *p, struct codec_devices *d)
{
    char err[160];
    if (p->devices_bad)
        return BAD_TOOBIG;
    if (!p->devices)
        return BAD_MISSING;
    if (codec_decode(p->devices, d, err, sizeof err) != 0)
        return BAD_DECODE;
    if (!matches_spec(p, d))
        return BAD_SPEC;
    return BAD_NONE;
}

/* The usage the pod's annotation puts on n, into u; or why it cannot be
 * trusted. */
static enum bad annotation_usage(const struct cnode *n, const struct cpod *p,
                                 struct codec_devices *d, struct policy_usage *u)
{
    enum bad why = annotation_check(p, d);
    if (!why && collapse(&n->view, p, d, u) != 0)
        why = BAD_UUID;
    return why;
}

/* Why a bound pod asking GPUs is (or, on a node not known yet, will be)
 * counted by its request; BAD_NONE when it is not. */
static enum bad untrusted(const struct cpod *p)
{
    if (p->on || !p->bound || !p->nask)
        return (enum bad)p->bad;
    struct codec_devices *d = mem_alloc(sizeof *d);
    enum bad why = annotation_check(p, d);
    free(d);
    return why;
}

/* The pod's request rebuilt from what the cache keeps. */
static void request_of(const struct cpod *p, struct policy_pod *pod)
{
    memset(pod, 0, sizeof *pod);
    pod->uid = p->uid;
    pod->ns = p->ns;
    pod->name = p->name;
    pod->nctr = p->nctr;
    pod->ninit = p->ninit;
    pod->w = (struct policy_weights){1, 1, 1};
    pod->quota_mem = pod->quota_cores = -1;
    for (int i = 0; i < p->nctr; i++)
        pod->ctr[i] =
            (struct policy_ctr){.name = "",
                                .priority = -1,
                                .sidecar = i < POLICY_MAX_CONTAINERS && (p->sidecars >> i & 1)};
    for (int k = 0; k < p->nask; k++) {
        const struct model_gpu_ask *a = &p->ask[k];
        pod->ctr[a->ctr] = (struct policy_ctr){.name = "",
                                               .nums = a->nums,
                                               .mem = a->mem,
                                               .mem_pct = a->mem_pct,
                                               .cores = a->cores,
                                               .priority = -1,
                                               .sidecar = pod->ctr[a->ctr].sidecar};
    }
}

/* No room for the request: put it on the least used GPUs anyway (per
 * container, its GPUs on distinct devices, by memory in use). */
static void least_used(const struct policy_node *v, const struct policy_pod *pod,
                       struct codec_devices *d)
{
    int64_t load[POLICY_MAX_DEVICES];
    int nd = v->ndev < POLICY_MAX_DEVICES ? v->ndev : POLICY_MAX_DEVICES;
    for (int i = 0; i < nd; i++)
        load[i] = v->use[i].mem;
    for (int ci = 0; ci < pod->nctr; ci++) {
        const struct policy_ctr *r = &pod->ctr[ci];
        bool taken[POLICY_MAX_DEVICES] = {false};
        for (int k = 0; k < r->nums && k < nd && d->n < POLICY_MAX_PICKS; k++) {
            int best = -1;
            for (int i = 0; i < nd; i++)
                if (!taken[i] && (best < 0 || load[i] < load[best]))
                    best = i;
            taken[best] = true;
            int64_t mem = policy_ctr_mem(r, &v->dev[best]);
            load[best] += mem;
            d->e[d->n++] =
                (struct codec_entry){v->dev[best].uuid, (uint16_t)strlen(v->dev[best].uuid),
                                     (uint16_t)ci, r->cores, mem};
        }
    }
}

/* What a pod whose annotation cannot be trusted counts on n: its request
 * as binpack fits it on the node's usage; when it does not fit, on the
 * least used GPUs regardless, so that nothing it may hold is freed. */
static void conservative_usage(const struct cnode *n, const struct cpod *p, struct codec_devices *d,
                               struct policy_usage *u)
{
    struct policy_pod *pod = mem_alloc(sizeof *pod);
    struct policy_placement *pl = mem_alloc(sizeof *pl);
    struct policy_reasons why;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
    request_of(p, pod);
    d->n = 0;
    d->nctr = p->nctr;
    if (o.node_policy && policy_fit(pod, &n->view, &o, pl, &why)) {
        for (int i = 0; i < pl->npick; i++) {
            const struct policy_pick *k = &pl->pick[i];
            const char *uuid = n->view.dev[k->dev].uuid;
            d->e[d->n++] =
                (struct codec_entry){uuid, (uint16_t)strlen(uuid), k->ctr, k->cores, k->mem};
        }
    } else {
        least_used(&n->view, pod, d);
    }
    collapse(&n->view, p, d, u);
    free(pod);
    free(pl);
}

/* The placements of the pod's MIG instances (HAMi's MIG allocation
 * annotation) on n's MIG cards, added to u. A card where the annotation
 * claims more instances than the pod's devices annotation puts there keeps
 * none of them: its instances then have no known placement and the card
 * takes nothing more (fit.c), rather than trusting the surplus. */
static void mig_usage(const struct cnode *n, const struct cpod *p, struct policy_usage *u)
{
    char err[160];
    if (!p->mig || policy_mig_usage(&n->view, p->mig, u, err, sizeof err) < 0)
        return;
    for (int i = 0; i < n->inv->ndev; i++) {
        if (policy_mig_known(u[i].mig) > u[i].used)
            u[i].mig = 0;
    }
}

/* Per device of n, how many of p's containers of runtime priority 0 the
 * decoded entries d put there, into hi: sidecars and app containers (a
 * plain init container runs only before them). */
static void high_count(const struct cnode *n, const struct cpod *p, const struct codec_devices *d,
                       uint16_t *hi)
{
    memset(hi, 0, sizeof *hi * (size_t)n->inv->ndev);
    for (int i = 0; p->high && i < d->n; i++) {
        int ctr = d->e[i].ctr;
        if (ctr >= POLICY_MAX_CONTAINERS || !(p->high >> ctr & 1) ||
            (ctr < p->ninit && !(p->sidecars >> ctr & 1)))
            continue;
        int k =
            policy_device_find_card(n->view.dev, n->view.ndev, d->e[i].uuid, d->e[i].uuid_len, i);
        if (k >= 0 && hi[k] < UINT16_MAX)
            hi[k]++;
    }
}

/* Work out what p counts on node n at time now into p->contrib (reservations
 * decode what filter encoded; pods from the source follow the rules of
 * cache.h). */
static void contrib_build(struct cache *c, struct cnode *n, struct cpod *p, double now)
{
    struct codec_devices *d = mem_alloc(sizeof *d);
    struct policy_usage u[POLICY_MAX_DEVICES];
    uint16_t hi[POLICY_MAX_DEVICES];
    char err[160];
    int k = 0;

    contrib_drop(c, p);
    bad_set(c, p, BAD_NONE);
    if (p->state == POD_OBSERVED && !p->bound) {
        win_set(c, p, window_still(c, n, p, now));
        p->seen_open = p->seen_open || p->open;
    }
    if (!n->inv->ndev || (p->state == POD_OBSERVED && ((!p->bound && !p->open) || !p->nask)))
        goto out;
    if (p->state != POD_OBSERVED) {
        if (!p->devices || codec_decode(p->devices, d, err, sizeof err) != 0)
            goto out;
        collapse(&n->view, p, d, u);
        mig_usage(n, p, u);
    } else {
        enum bad why = annotation_usage(n, p, d, u);
        bad_set(c, p, why);
        if (why)
            conservative_usage(n, p, d, u);
        else
            mig_usage(n, p, u);
    }
    high_count(n, p, d, hi);
    for (int i = 0; i < n->inv->ndev; i++)
        k += u[i].used || u[i].mem || u[i].cores || hi[i];
    p->contrib = k <= 1 ? &p->one : mem_alloc(sizeof *p->contrib * (size_t)k);
    for (int i = 0; i < n->inv->ndev; i++)
        if (u[i].used || u[i].mem || u[i].cores || hi[i])
            p->contrib[p->ncontrib++] = (struct contrib){
                i, (int16_t)quota_backend_index(n->view.dev[i].backend), hi[i], u[i]};
    ns_add(c, p, +1);
out:
    free(d);
}

/* p counts nothing (its node went away): no share, no window, not bad. */
static void uncount(struct cache *c, struct cpod *p)
{
    contrib_drop(c, p);
    bad_set(c, p, BAD_NONE);
    win_set(c, p, false);
}

static void attach(struct cache *c, struct cpod *p, double now)
{
    struct cnode *n = p->node ? hmap_get(c->nodes, p->node) : NULL;
    p->on = n;
    if (!n) {
        list_add(&c->orphans, p);
        c->norphans++;
        c->orphan_bytes += p->bytes;
        return;
    }
    contrib_build(c, n, p, now);
    apply(c, n, p, +1);
    list_add(&n->pods, p);
}

static void detach(struct cache *c, struct cpod *p)
{
    if (p->on) {
        apply(c, p->on, p, -1);
        list_del(&p->on->pods, p);
        p->on = NULL;
    } else {
        list_del(&c->orphans, p);
        c->norphans--;
        c->orphan_bytes -= p->bytes;
    }
    if (p->state == POD_RESERVED)
        resv_del(c, p);
    uncount(c, p);
}

static void pod_remove(struct cache *c, struct cpod *p)
{
    detach(c, p);
    hmap_del(c->pods, p->uid);
    c->pod_bytes -= p->bytes;
    pod_free(p);
}

/* Count p again on its node at time now (its window may have closed). */
static void recount(struct cache *c, struct cpod *p, double now)
{
    apply(c, p->on, p, -1);
    contrib_build(c, p->on, p, now);
    apply(c, p->on, p, +1);
}

/* ---- nodes ---- */

static void node_rebuild(struct cache *c, struct cnode *n, double now)
{
    struct model_inventory *inv = n->inv;
    int32_t id = n->view.id;
    free(n->use);
    free(n->cores);
    free(n->high);
    n->use = mem_zalloc(sizeof *n->use * (size_t)(inv->ndev ? inv->ndev : 1));
    n->cores = mem_zalloc(sizeof *n->cores * (size_t)(inv->ndev ? inv->ndev : 1));
    n->high = mem_zalloc(sizeof *n->high * (size_t)(inv->ndev ? inv->ndev : 1));
    n->view = (struct policy_node){
        .name = inv->name,
        .ndev = inv->ndev,
        .dev = inv->dev,
        .use = n->use,
        .high = n->high,
        .oversubscribed = inv->oversubscribed,
        .pair = inv->pair,
        .cpu_milli = inv->cpu_milli,
        .mem_mib = inv->mem_mib,
        .id = id,
        .vendor = policy_node_vendor(inv->dev, inv->ndev),
    };
    stamp(c, n);
    for (struct cpod *p = n->pods; p; p = p->next) {
        contrib_build(c, n, p, now);
        apply(c, n, p, +1);
    }
}

/* A node was put or removed: wake cache_node_wait. */
static void node_changed(struct cache *c)
{
    pthread_mutex_lock(&c->change_mu);
    c->changes++;
    pthread_cond_broadcast(&c->change_cv);
    pthread_mutex_unlock(&c->change_mu);
}

unsigned long cache_node_changes(struct cache *c)
{
    pthread_mutex_lock(&c->change_mu);
    unsigned long n = c->changes;
    pthread_mutex_unlock(&c->change_mu);
    return n;
}

void cache_node_wait(struct cache *c, unsigned long seen, double until)
{
    double secs = floor(until);
    struct timespec t = {(time_t)secs, (long)((until - secs) * 1e9)};
    pthread_mutex_lock(&c->change_mu);
    while (c->changes == seen && pthread_cond_timedwait(&c->change_cv, &c->change_mu, &t) == 0)
        ;
    pthread_mutex_unlock(&c->change_mu);
}

void cache_node_put(struct cache *c, struct model_inventory *inv)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    double now = c->clock();
    for (int i = 0; i < inv->ndev; i++) {
        inv->dev[i].type = intern(c, inv->dev[i].type);
        inv->dev[i].mode = intern(c, inv->dev[i].mode);
        if (inv->dev[i].devmem > c->devmem_max)
            c->devmem_max = inv->dev[i].devmem;
        c->has_mig = c->has_mig || policy_mig_card(&inv->dev[i]);
    }
    struct cnode *n = hmap_get(c->nodes, inv->name);
    if (n) {
        hmap_del(c->nodes, n->inv->name); /* the key lives in the old inventory */
        model_inventory_free(n->inv);
    } else {
        n = mem_zalloc(sizeof *n);
        n->view.id = c->nfree ? c->free_ids[--c->nfree] : c->next_id++;
    }
    n->inv = inv;
    n->lock = inv->lock;
    hmap_put(c->nodes, inv->name, n);
    node_rebuild(c, n, now);
    /* Pods that named this node before it was known. */
    for (struct cpod *p = c->orphans, *next; p; p = next) {
        next = p->next;
        if (p->node && strcmp(p->node, inv->name) == 0) {
            list_del(&c->orphans, p);
            c->norphans--;
            c->orphan_bytes -= p->bytes;
            attach(c, p, now);
        }
    }
    cache_unlock(c);
    node_changed(c);
}

void cache_node_del(struct cache *c, const char *name)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    struct cnode *n = hmap_del(c->nodes, name);
    if (n) {
        for (struct cpod *p = n->pods, *next; p; p = next) {
            next = p->next;
            p->on = NULL;
            uncount(c, p);
            list_add(&c->orphans, p);
            c->norphans++;
            c->orphan_bytes += p->bytes;
        }
        c->free_ids = mem_realloc(c->free_ids, sizeof *c->free_ids * (size_t)(c->nfree + 1));
        c->free_ids[c->nfree++] = n->view.id;
        node_free(n);
    }
    cache_unlock(c);
    node_changed(c);
}

/* ---- pods ---- */

/* Append s to the block at *at; returns where it went. */
static const char *put(char **at, const char *s)
{
    char *d = *at;
    size_t n = strlen(s) + 1;
    memcpy(d, s, n);
    *at += n;
    return d;
}

/* A pod record, its GPU request (nask entries of ask) and its strings in
 * one allocation. */
static struct cpod *pod_new(const char *uid, const char *ns, const char *name, const char *node,
                            const char *devices, const char *mig, const struct model_gpu_ask *ask,
                            int32_t nask)
{
    ns = ns ? ns : "";
    name = name ? name : "";
    size_t asks = sizeof *ask * (size_t)nask;
    size_t len = strlen(uid) + strlen(ns) + strlen(name) + strlen(node) + 4 +
                 (devices ? strlen(devices) + 1 : 0) + (mig ? strlen(mig) + 1 : 0);
    struct cpod *p = mem_zalloc(sizeof *p + asks + len);
    p->bytes = sizeof *p + asks + len;
    char *at = (char *)(p + 1) + asks;
    p->ask = (struct model_gpu_ask *)(void *)(p + 1);
    if (nask)
        memcpy(p->ask, ask, asks);
    p->nask = nask;
    p->uid = put(&at, uid);
    p->ns = put(&at, ns);
    p->name = put(&at, name);
    p->node = put(&at, node);
    p->devices = devices ? put(&at, devices) : NULL;
    p->mig = mig ? put(&at, mig) : NULL;
    return p;
}

/* The allocation annotation of the pod's device backend, in messages. */
#define ALLOCATED_WORD "its allocation annotation (hami.io/vgpu-devices-allocated or its vendor's)"

static const char *bad_text(enum bad why)
{
    switch (why) {
    case BAD_MISSING:
        return "it has no allocation annotation (hami.io/vgpu-devices-allocated or its vendor's)";
    case BAD_TOOBIG:
        return ALLOCATED_WORD " is too long to read";
    case BAD_DECODE:
        return ALLOCATED_WORD " does not parse";
    case BAD_SPEC:
        return ALLOCATED_WORD " disagrees with the pod's spec (containers or GPU counts)";
    case BAD_UUID:
        return ALLOCATED_WORD " names GPUs the node does not have";
    default:
        return "";
    }
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Does this version of the pod count now: bound, or in its bind window? */
static bool counts_now(struct cache *c, const struct model_pod_info *pi, double now)
{
    if (pi->node_name && *pi->node_name)
        return true;
    const struct cnode *n = pi->vgpu_node ? hmap_get(c->nodes, pi->vgpu_node) : NULL;
    return n && window_open(c, n->inv->lock, pi->ns ? pi->ns : "", pi->name ? pi->name : "",
                            pi->bind_time, now);
}

int cache_pod_put(struct cache *c, const struct model_pod_info *pi, char *err, size_t cap)
{
    bool bound = pi->node_name && *pi->node_name;
    bool candidate = !bound && pi->vgpu_node && *pi->vgpu_node;
    const char *node = bound ? pi->node_name : pi->vgpu_node;
    int rc = 0;
    if (!pi->uid || !*pi->uid) {
        snprintf(err, cap, "pod %s/%s has no metadata.uid", pi->ns ? pi->ns : "",
                 pi->name ? pi->name : "");
        return ERR_INVAL;
    }
    /* A pod asking two vendors carries one allocation per vendor: count them as one. */
    char *merged =
        pi->ndevices_rows > 1 ? model_devices_merge(pi->devices_rows, pi->ndevices_rows) : NULL;
    const char *devices = merged ? merged : pi->devices;
    wrlock(c, CACHE_WRITER_SOURCE);
    double now = c->clock();
    struct cpod *p = hmap_get(c->pods, pi->uid);
    if (p && p->state != POD_OBSERVED && !pi->terminal && !counts_now(c, pi, now))
        goto out; /* our reservation stands until the API shows a version that counts */
    /* A pod counted by its request is reported once, not at every update. */
    uint8_t told = p && p->state == POD_OBSERVED && p->devices_bad == pi->devices_bad &&
                           same_str(p->devices, devices) && strcmp(p->node, node ? node : "") == 0
                       ? p->told
                       : BAD_NONE;
    /* A window seen open stays open for the same bind (cache.h). */
    bool seen_open = p && p->state == POD_OBSERVED && p->seen_open && candidate &&
                     strcmp(p->node, node) == 0 && p->bind_time == pi->bind_time;
    if (p)
        pod_remove(c, p);
    if (pi->terminal || bound || candidate)
        pend_drop(c, pi->uid);
    if (pi->terminal || (!bound && !candidate))
        goto out;
    p = pod_new(pi->uid, pi->ns, pi->name, node, devices, pi->mig, pi->ask,
                pi->nask < POLICY_MAX_CONTAINERS ? pi->nask : POLICY_MAX_CONTAINERS);
    p->ninit = pi->ninit;
    p->nctr = pi->nctr < POLICY_MAX_CONTAINERS ? pi->nctr : POLICY_MAX_CONTAINERS;
    p->sidecars = pi->sidecars;
    p->high = pi->high;
    p->init_done = pi->init_done;
    p->cpu = pi->cpu_milli;
    p->mem = pi->mem_mib;
    p->state = POD_OBSERVED;
    p->bound = bound;
    p->devices_bad = pi->devices_bad;
    p->bind_time = pi->bind_time;
    p->seen_open = seen_open;
    p->priority = pi->priority;
    if (pi->labels) {
        char buf[PDB_LABELS_MAX];
        if (pdb_labels_flatten(pi->labels, buf, sizeof buf))
            p->labels = mem_strdup(buf);
        p->bytes += p->labels ? strlen(p->labels) + 1 : 0;
    }
    hmap_put(c->pods, p->uid, p);
    c->pod_bytes += p->bytes;
    attach(c, p, now);
    enum bad why = untrusted(p);
    p->told = (uint8_t)why;
    if (why && why != told) {
        snprintf(err, cap, "pod %s/%s on node %s: %s; its GPU request is counted there instead",
                 p->ns, p->name, p->node, bad_text(why));
        rc = ERR_INVAL;
    }
out:
    cache_unlock(c);
    free(merged);
    return rc;
}

void cache_pod_del(struct cache *c, const char *uid)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    struct cpod *p = hmap_get(c->pods, uid);
    if (p)
        pod_remove(c, p);
    pend_drop(c, uid);
    cache_unlock(c);
}

void cache_set_ready(struct cache *c, bool ready)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    c->ready = ready;
    cache_unlock(c);
}

bool cache_ready(struct cache *c)
{
    cache_rdlock(c);
    bool r = c->ready;
    cache_unlock(c);
    return r;
}

const struct policy_node *cache_view(struct cache *c, const char *name)
{
    struct cnode *n = hmap_get(c->nodes, name);
    return n ? &n->view : NULL;
}

void cache_views(struct cache *c, const char *const *names, size_t n,
                 const struct policy_node **views)
{
    void *got[256]; /* in batches of 256, each starting its look-ahead anew */
    for (size_t at = 0; at < n; at += 256) {
        size_t k = n - at < 256 ? n - at : 256;
        hmap_get_many(c->nodes, names + at, k, got);
        for (size_t i = 0; i < k; i++)
            views[at + i] = got[i] ? &((const struct cnode *)got[i])->view : NULL;
    }
}

const char *cache_view_labels(const struct policy_node *view)
{
    return ((const struct cnode *)(const void *)view)->inv->labels;
}

const char *cache_view_lock(const struct policy_node *view)
{
    return ((const struct cnode *)(const void *)view)->lock;
}

const char *cache_node_lock(struct cache *c, const char *name)
{
    struct cnode *n = hmap_get(c->nodes, name);
    return n ? n->inv->lock : NULL;
}

bool cache_node_current(struct cache *c, const char *name, const char *rv)
{
    bool same = false;
    if (!rv || !*rv)
        return false;
    cache_rdlock(c);
    const struct cnode *n = hmap_get(c->nodes, name);
    same = n && n->inv->resource_version && strcmp(n->inv->resource_version, rv) == 0;
    cache_unlock(c);
    return same;
}

/* ---- reservations ---- */

void cache_assumed_free(struct cache_assumed *a)
{
    if (!a)
        return;
    free(a->node);
    free(a->devices);
    free(a->mig);
    a->node = a->devices = a->mig = NULL;
}

/* Bound per the API, or bound by us: its uid is taken. */
static bool placed(const struct cpod *p)
{
    return p->state == POD_COMMITTED || (p->state == POD_OBSERVED && p->bound);
}

static void copy_out(const struct cpod *p, struct cache_assumed *out)
{
    out->node = mem_strdup(p->node);
    out->devices = mem_strdup(p->devices);
    out->mig = p->mig ? mem_strdup(p->mig) : NULL;
    out->expires = p->expires;
}

/* A copy of pod with what its namespace's quota leaves it now (cache.h),
 * or NULL when no quota applies (then pod's own fields stand). Caller
 * frees. Under the lock. */
static struct policy_pod *with_quota(struct cache *c, const struct policy_pod *pod)
{
    const struct policy_device_backend *b = policy_pod_backend(pod);
    int64_t mem, cores;
    if (!b)
        return NULL;
    cache_quota_left(c, pod->ns, b, &mem, &cores);
    if (mem < 0 && cores < 0)
        return NULL;
    struct policy_pod *q = mem_alloc(sizeof *q);
    *q = *pod;
    q->quota_mem = mem;
    q->quota_cores = cores;
    return q;
}

/* Drop the pod's uncommitted reservation; true if there was one. Under the
 * write lock. */
static bool forget(struct cache *c, const char *uid)
{
    struct cpod *p = hmap_get(c->pods, uid);
    if (!p || p->state != POD_RESERVED)
        return false;
    pod_remove(c, p);
    return true;
}

/* rq->fit on n's view with the shares of rq->victims (pods counted on n;
 * others are passed over) taken away. Under the write lock. */
static int fit_without(struct cache *c, struct cnode *n, const struct cache_reserve *rq,
                       const struct policy_pod *pod, char **devices, char **mig, char *err,
                       size_t cap)
{
    struct policy_usage use[POLICY_MAX_DEVICES];
    struct policy_node v = n->view;
    int nd = v.ndev < POLICY_MAX_DEVICES ? v.ndev : POLICY_MAX_DEVICES;
    memcpy(use, n->use, sizeof *use * (size_t)nd);
    for (size_t k = 0; k < rq->nvictims; k++) {
        const struct cpod *p = hmap_get(c->pods, rq->victims[k]);
        if (!p || p->on != n || p->state != POD_OBSERVED)
            continue;
        for (int i = 0; i < p->ncontrib; i++) {
            struct policy_usage *u = &use[p->contrib[i].dev];
            u->used -= p->contrib[i].u.used;
            u->cores -= p->contrib[i].u.cores;
            u->mem -= p->contrib[i].u.mem;
            u->mig -= p->contrib[i].u.mig;
        }
        v.cpu_used_milli -= p->cpu;
        v.mem_used_mib -= p->mem;
    }
    v.use = use;
    v.gen = 0;
    return rq->fit(rq->ctx, pod, &v, devices, mig, err, cap);
}

/* What rq->victims of own's namespace on n give back to its quota (own:
 * with_quota's copy): their contributions on devices of own's backend, as
 * /preempt counted them (place/preempt.h). Under the lock. */
static void quota_back(struct cache *c, const struct cnode *n, const struct cache_reserve *rq,
                       struct policy_pod *own)
{
    const struct policy_device_backend *b = policy_pod_backend(own);
    for (size_t k = 0; k < rq->nvictims; k++) {
        const struct cpod *p = hmap_get(c->pods, rq->victims[k]);
        if (!p || p->on != n || p->state != POD_OBSERVED || strcmp(p->ns, own->ns) != 0)
            continue;
        for (int i = 0; i < p->ncontrib; i++) {
            int d = p->contrib[i].dev;
            if (d < 0 || d >= n->view.ndev || policy_device_backend_of(&n->view.dev[d]) != b)
                continue;
            if (own->quota_mem >= 0)
                own->quota_mem += p->contrib[i].u.mem;
            if (own->quota_cores >= 0)
                own->quota_cores += p->contrib[i].u.cores;
        }
    }
}

/* Reserve rq->pod on rq->node (see cache_reserve). Under the write lock. */
/* The reservations' byte bound now: set, or following the node count. */
static size_t resv_limit(const struct cache *c)
{
    if (c->resv_bytes_max)
        return c->resv_bytes_max;
    size_t nodes = hmap_count(c->nodes);
    size_t per =
        nodes > SIZE_MAX / CACHE_RESV_BYTES_PER_NODE ? SIZE_MAX : nodes * CACHE_RESV_BYTES_PER_NODE;
    return per > CACHE_RESV_BYTES_MIN ? per : CACHE_RESV_BYTES_MIN;
}

void cache_reservation_limit(struct cache *c, size_t bytes)
{
    wrlock(c, CACHE_WRITER_PLACEMENT);
    c->resv_bytes_max = bytes;
    cache_unlock(c);
}

/* Evict the oldest uncommitted reservations until `bytes` more fit the
 * bound (their shares are freed: a bind of such a pod fits it again from
 * the pending store). Under the write lock. */
static void resv_make_room(struct cache *c, size_t bytes)
{
    size_t max = resv_limit(c);
    while (c->resv_old && (c->resv_bytes > max || bytes > max - c->resv_bytes)) {
        c->resv_evicted++;
        pod_remove(c, c->resv_old);
    }
}

static int assume(struct cache *c, const struct cache_reserve *rq, struct cache_assumed *out,
                  char *err, size_t cap)
{
    const struct policy_pod *pod = rq->pod;
    struct policy_pod *own = NULL;
    char *devices = NULL, *mig = NULL;
    int rc = 0;
    struct cpod *old = hmap_get(c->pods, pod->uid);
    if (old && placed(old)) {
        snprintf(err, cap,
                 "pod uid %s is already placed on node %s; a filter or bind cannot take it over",
                 pod->uid, old->node);
        rc = ERR_CONFLICT;
        goto out;
    }
    if (old)
        pod_remove(c, old); /* its own old share must not count against it */
    struct cnode *n = hmap_get(c->nodes, rq->node);
    if (!n) {
        snprintf(err, cap, "node %s is not in the scheduler's cache", rq->node);
        rc = ERR_NOTFOUND;
        goto out;
    }
    own = with_quota(c, pod); /* what is left now, reservations of concurrent filters counted */
    if (own && rq->nvictims)
        quota_back(c, n, rq, own);
    rc = rq->nvictims ? fit_without(c, n, rq, own ? own : pod, &devices, &mig, err, cap)
                      : rq->fit(rq->ctx, own ? own : pod, &n->view, &devices, &mig, err, cap);
    if (rc)
        goto out;
    struct cpod *p = pod_new(pod->uid, pod->ns, pod->name, rq->node, devices, mig, NULL, 0);
    resv_make_room(c, p->bytes);
    p->ninit = pod->ninit;
    p->nctr = pod->nctr;
    for (int i = 0; i < pod->ninit && i < POLICY_MAX_CONTAINERS; i++)
        p->sidecars |= (uint64_t)pod->ctr[i].sidecar << i;
    for (int i = 0; i < pod->nctr && i < POLICY_MAX_CONTAINERS; i++)
        p->high |= (uint64_t)(pod->ctr[i].priority == 0) << i;
    p->cpu = pod->cpu_milli;
    p->mem = pod->mem_mib;
    p->state = POD_RESERVED;
    p->expires = rq->now + rq->ttl;
    hmap_put(c->pods, p->uid, p);
    c->pod_bytes += p->bytes;
    attach(c, p, rq->now);
    resv_add(c, p);
    copy_out(p, out);
out:
    free(own);
    free(devices);
    free(mig);
    return rc;
}

static int pending_put(struct cache *c, const char *uid, const char *pod_json, double now,
                       double ttl);
static void expire(struct cache *c, double now, int *dropped);

int cache_reserve(struct cache *c, const struct cache_reserve *rq, struct cache_assumed *out,
                  char *err, size_t cap)
{
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (rq->pending_rc)
        *rq->pending_rc = 0;
    wrlock(c, CACHE_WRITER_PLACEMENT);
    if (rq->expire)
        expire(c, rq->now, NULL);
    if (rq->forget)
        forget(c, rq->pod->uid);
    if (rq->pending_json) {
        int prc = pending_put(c, rq->pod->uid, rq->pending_json, rq->now, rq->pending_ttl);
        if (rq->pending_rc)
            *rq->pending_rc = prc;
    }
    if (rq->node)
        rc = assume(c, rq, out, err, cap);
    cache_unlock(c);
    return rc;
}

bool cache_due(struct cache *c, const char *uid, double now)
{
    bool due = false;
    cache_rdlock(c);
    const struct cpod *p = uid ? hmap_get(c->pods, uid) : NULL;
    due = p && p->state == POD_RESERVED;
    for (p = c->resv; p && !due; p = p->rnext)
        due = p->expires <= now;
    for (p = c->win; p && !due; p = p->rnext)
        due = !window_still(c, p->on, p, now);
    cache_unlock(c);
    return due;
}

bool cache_forget(struct cache *c, const char *uid)
{
    wrlock(c, CACHE_WRITER_PLACEMENT);
    bool had = forget(c, uid);
    cache_unlock(c);
    return had;
}

int cache_reservation(struct cache *c, const char *uid, double now, struct cache_assumed *out)
{
    int rc = ERR_NOTFOUND;
    memset(out, 0, sizeof *out);
    cache_rdlock(c);
    struct cpod *p = hmap_get(c->pods, uid);
    if (p && p->state != POD_OBSERVED && (p->state == POD_COMMITTED || p->expires > now)) {
        copy_out(p, out);
        rc = 0;
    }
    cache_unlock(c);
    return rc;
}

int cache_commit(struct cache *c, const char *uid)
{
    int rc = ERR_NOTFOUND;
    wrlock(c, CACHE_WRITER_PLACEMENT);
    struct cpod *p = hmap_get(c->pods, uid);
    if (p && p->state == POD_RESERVED) {
        resv_del(c, p);
        p->state = POD_COMMITTED;
        rc = 0;
    }
    cache_unlock(c);
    return rc;
}

static void pend_maybe_sweep(struct cache *c, double now, bool full);

/* Drop reservations whose time is up, sweep the pending store, close the
 * bind windows whose time is up. Under the write lock. */
static void expire(struct cache *c, double now, int *dropped)
{
    int n = 0;
    for (struct cpod *p = c->resv, *next; p; p = next) {
        next = p->rnext;
        if (p->expires <= now) {
            pod_remove(c, p);
            n++;
        }
    }
    pend_maybe_sweep(c, now, false);
    for (struct cpod *p = c->win, *next; p; p = next) {
        next = p->rnext;
        if (!window_still(c, p->on, p, now))
            recount(c, p, now);
    }
    if (dropped)
        *dropped = n;
}

int cache_expire(struct cache *c, double now)
{
    int n = 0;
    wrlock(c, CACHE_WRITER_PLACEMENT);
    expire(c, now, &n);
    cache_unlock(c);
    return n;
}

/* ---- pending pods ---- */

#define PEND_SWEEP_GAP 1.0 /* seconds between sweeps on time (a full store sweeps at once) */

/* The bytes an entry holds: its two strings with their NULs, and its
 * bookkeeping. */
static size_t pend_size(const char *uid, const char *json)
{
    return strlen(uid) + 1 + strlen(json) + 1 + CACHE_PENDING_ENTRY_BYTES;
}

/* The byte bound now: set, or following the node count. */
static size_t pend_limit(const struct cache *c)
{
    if (c->pend_bytes_max)
        return c->pend_bytes_max;
    size_t nodes = hmap_count(c->nodes);
    size_t per = nodes > SIZE_MAX / CACHE_PENDING_BYTES_PER_NODE
                     ? SIZE_MAX
                     : nodes * CACHE_PENDING_BYTES_PER_NODE;
    return per > CACHE_PENDING_BYTES_MIN ? per : CACHE_PENDING_BYTES_MIN;
}

/* Drop the entries whose time is up; pend_first becomes the earliest
 * expiry left. Under the write lock. */
static void pend_sweep(struct cache *c, double now)
{
    double first = HUGE_VAL;
    for (struct pend *p = c->pend_old, *next; p; p = next) {
        next = p->newer;
        if (p->expires > 0 && p->expires <= now)
            pend_drop(c, p->uid);
        else if (p->expires > 0 && p->expires < first)
            first = p->expires;
    }
    c->pend_first = first;
    c->pend_swept = now;
}

/* Sweep when an entry may have expired: at most every PEND_SWEEP_GAP as
 * time passes, at once when the store is full. */
static void pend_maybe_sweep(struct cache *c, double now, bool full)
{
    if (now < c->pend_first || (!full && now - c->pend_swept < PEND_SWEEP_GAP))
        return;
    pend_sweep(c, now);
}

/* Would storing `bytes` for uid (p: its entry, or NULL) go over a limit? */
static bool pend_full(const struct cache *c, const struct pend *p, size_t bytes)
{
    size_t others = c->pend_bytes - (p ? p->bytes : 0), max = pend_limit(c);
    return (!p && hmap_count(c->pending) >= c->pend_max) || bytes > max || others > max - bytes;
}

static uint64_t uid_hash(const char *uid)
{
    return hash_fnv_str(HASH_FNV_INIT, uid) | 1;
}

/* Evict the oldest entry but `keep`; false when there is none. */
static bool pend_evict(struct cache *c, const struct pend *keep)
{
    struct pend *q = c->pend_old;
    if (q == keep)
        q = q->newer;
    if (!q)
        return false;
    c->evicted[c->evicted_next++ % CACHE_PENDING_EVICTED_KEEP] = uid_hash(q->uid);
    c->pend_evicted++;
    pend_drop(c, q->uid);
    return true;
}

/* Forget that uid was evicted (it is put again). */
static void evicted_clear(struct cache *c, const char *uid)
{
    uint64_t h = uid_hash(uid);
    if (!c->pend_evicted)
        return;
    for (size_t i = 0; i < CACHE_PENDING_EVICTED_KEEP; i++)
        if (c->evicted[i] == h)
            c->evicted[i] = 0;
}

int cache_pending_put(struct cache *c, const char *uid, const char *pod_json, double now,
                      double ttl)
{
    if (!uid || !*uid || !pod_json)
        return ERR_INVAL;
    wrlock(c, CACHE_WRITER_SOURCE);
    int rc = pending_put(c, uid, pod_json, now, ttl);
    cache_unlock(c);
    return rc;
}

/* cache_pending_put under the write lock. */
static int pending_put(struct cache *c, const char *uid, const char *pod_json, double now,
                       double ttl)
{
    double expires = ttl > 0 ? now + ttl : 0;
    if (!uid || !*uid || !pod_json)
        return ERR_INVAL;
    size_t bytes = pend_size(uid, pod_json);
    if (bytes > pend_limit(c))
        return ERR_TOOBIG;
    pend_maybe_sweep(c, now, false);
    struct pend *p = hmap_get(c->pending, uid);
    if (pend_full(c, p, bytes)) {
        pend_maybe_sweep(c, now, true);
        p = hmap_get(c->pending, uid);
    }
    while (pend_full(c, p, bytes) && pend_evict(c, p))
        ;
    if (!p) {
        p = mem_zalloc(sizeof *p);
        p->uid = mem_strdup(uid);
        p->expires = expires;
        hmap_put(c->pending, p->uid, p);
    } else {
        pend_unlink(c, p);
        /* Kept as long as the longer of the two asks; 0 (forever) wins. */
        if (p->expires != 0)
            p->expires = expires == 0 || expires > p->expires ? expires : p->expires;
    }
    pend_link(c, p);
    evicted_clear(c, uid);
    if (p->expires > 0 && p->expires < c->pend_first)
        c->pend_first = p->expires;
    c->pend_bytes = c->pend_bytes - p->bytes + bytes;
    p->bytes = bytes;
    free(p->json);
    p->json = mem_strdup(pod_json);
    return 0;
}

void cache_pending_limits(struct cache *c, size_t entries, size_t bytes)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    c->pend_max = entries ? entries : CACHE_PENDING_MAX;
    c->pend_bytes_max = bytes;
    cache_unlock(c);
}

char *cache_pending_get(struct cache *c, const char *uid, double now)
{
    char *json = NULL;
    cache_rdlock(c);
    const struct pend *p = hmap_get(c->pending, uid);
    if (p && (p->expires == 0 || p->expires > now))
        json = mem_strdup(p->json);
    cache_unlock(c);
    return json;
}

bool cache_pending_evicted(struct cache *c, const char *uid)
{
    bool found = false;
    if (!uid || !*uid)
        return false;
    uint64_t h = uid_hash(uid);
    cache_rdlock(c);
    for (size_t i = 0; i < CACHE_PENDING_EVICTED_KEEP && !found && c->pend_evicted; i++)
        found = c->evicted[i] == h;
    cache_unlock(c);
    return found;
}

/* ---- for operators ---- */

static const char *state_name(const struct cpod *p)
{
    return p->state == POD_RESERVED    ? "reserved"
           : p->state == POD_COMMITTED ? "bound"
           : p->bound                  ? "running"
                                       : "binding";
}

/* The MIG instances on card d, from its pods' hami.io/vgpu-mig-allocations:
 * each with its pod, profile, placement, the card's vendor and mode, and
 * what the device plugin filled in once it made it (migUUID, the GPU and
 * compute instance ids). A value that does not parse shows nothing here
 * (the usage says why). */
static cJSON *mig_json(const struct cnode *n, const struct policy_device *d)
{
    cJSON *out = cJSON_CreateArray(), *e;
    static const char *const ids[] = {"migUUID", "gpuInstanceID", "computeInstanceID"};
    for (const struct cpod *p = n->pods; p; p = p->next) {
        cJSON *all = p->mig ? cJSON_Parse(p->mig) : NULL;
        cJSON *list = cJSON_IsArray(all) ? all : NULL;
        cJSON_ArrayForEach(e, list)
        {
            const char *gpu = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "gpuUUID"));
            if (!gpu || strcmp(gpu, d->uuid) != 0)
                continue;
            cJSON *o = cJSON_CreateObject(), *pl = cJSON_GetObjectItemCaseSensitive(e, "placement");
            cJSON_AddStringToObject(o, "namespace", p->ns);
            cJSON_AddStringToObject(o, "pod", p->name);
            cJSON_AddStringToObject(o, "vendor", policy_device_backend_of(d)->name);
            cJSON_AddStringToObject(o, "mode", d->mode);
            const char *prof = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "profile"));
            cJSON_AddStringToObject(o, "profile", prof ? prof : "");
            if (cJSON_IsObject(pl))
                cJSON_AddItemToObject(o, "placement", cJSON_Duplicate(pl, 1));
            for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
                cJSON *x = cJSON_GetObjectItemCaseSensitive(e, ids[k]);
                if (cJSON_IsString(x) || cJSON_IsNumber(x))
                    cJSON_AddItemToObject(o, ids[k], cJSON_Duplicate(x, 0));
            }
            cJSON_AddItemToArray(out, o);
        }
        cJSON_Delete(all);
    }
    return out;
}

static cJSON *gpu_json(const struct cnode *n, int i, double now)
{
    const struct policy_device *d = &n->inv->dev[i];
    const struct policy_usage *u = &n->use[i];
    cJSON *g = cJSON_CreateObject(), *pods = cJSON_CreateArray();
    cJSON_AddStringToObject(g, "uuid", d->uuid);
    cJSON_AddNumberToObject(g, "index", d->index);
    cJSON_AddStringToObject(g, "type", d->type ? d->type : "");
    cJSON_AddStringToObject(g, "mode", d->mode ? d->mode : "");
    cJSON_AddStringToObject(g, "vendor", policy_device_backend_of(d)->name);
    cJSON_AddNumberToObject(g, "numa", d->numa);
    cJSON_AddBoolToObject(g, "health", d->health);
    cJSON_AddBoolToObject(g, "cordoned", d->cordoned);
    cJSON_AddNumberToObject(g, "slots", d->count);
    cJSON_AddNumberToObject(g, "slotsUsed", u->used);
    cJSON_AddNumberToObject(g, "memMiB", (double)d->devmem);
    cJSON_AddNumberToObject(g, "memUsedMiB", (double)u->mem);
    cJSON_AddNumberToObject(g, "cores", d->devcore);
    cJSON_AddNumberToObject(g, "coresUsed", u->cores);
    for (const struct cpod *p = n->pods; p; p = p->next) {
        for (int k = 0; k < p->ncontrib; k++) {
            if (p->contrib[k].dev != i)
                continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "namespace", p->ns);
            cJSON_AddStringToObject(o, "name", p->name);
            cJSON_AddStringToObject(o, "uid", p->uid);
            cJSON_AddStringToObject(o, "state", state_name(p));
            if (p->bad)
                cJSON_AddStringToObject(o, "countedByRequest", bad_text(p->bad));
            cJSON_AddNumberToObject(o, "memMiB", (double)p->contrib[k].u.mem);
            cJSON_AddNumberToObject(o, "cores", p->contrib[k].u.cores);
            cJSON_AddNumberToObject(o, "slots", p->contrib[k].u.used);
            if (p->state == POD_RESERVED)
                cJSON_AddNumberToObject(o, "expiresInSeconds", p->expires - now);
            cJSON_AddItemToArray(pods, o);
        }
    }
    cJSON_AddItemToObject(g, "pods", pods);
    if (policy_mig_card(d))
        cJSON_AddItemToObject(g, "migInstances", mig_json(n, d));
    return g;
}

static int64_t mem_limit(const struct cache *c, int b, int64_t lim);

static void quota_entry(cJSON *arr, const char *resource, int64_t used, int64_t limit,
                        int64_t counted)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "resource", resource);
    cJSON_AddNumberToObject(e, "used", (double)used);
    if (limit >= 0) {
        cJSON_AddNumberToObject(e, "limit", (double)limit);
        cJSON_AddNumberToObject(e, "left", (double)(counted > used ? counted - used : 0));
    } else {
        cJSON_AddNullToObject(e, "limit");
    }
    cJSON_AddItemToArray(arr, e);
}

/* A namespace's device use and quota limits, per resource: used (MiB or %,
 * reservations included), limit as its ResourceQuotas set it (null: none),
 * and what is left (the limit as usage counts it, memoryFactor applied). */
static cJSON *nsq_json(const struct cache *c, const struct nsq *q)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "namespace", q->ns);
    for (int i = 0; i < QUOTA_BACKENDS_MAX && policy_device_backends[i]; i++) {
        const char *mem = policy_device_res(policy_device_backends[i], POLICY_RES_MEM);
        const char *cores = policy_device_res(policy_device_backends[i], POLICY_RES_CORES);
        if (mem && (q->mem[i] || q->lim.mem[i] >= 0))
            quota_entry(arr, mem, q->mem[i], q->lim.mem[i], mem_limit(c, i, q->lim.mem[i]));
        if (cores && (q->cores[i] || q->lim.cores[i] >= 0))
            quota_entry(arr, cores, q->cores[i], q->lim.cores[i], q->lim.cores[i]);
    }
    cJSON_AddItemToObject(o, "resources", arr);
    return o;
}

/* "devicesLeftOut": the vendors whose devices the node carries but the
 * inventory does not (a register annotation that does not parse, a stale
 * handshake); absent when none. */
static void rows_left_out(const struct model_inventory *inv, cJSON *o)
{
    cJSON *out = NULL;
    for (int r = 0; r < inv->nrow; r++) {
        const struct model_row *row = &inv->row[r];
        if (!row->bad && !row->dropped)
            continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "vendor", row->backend->name);
        if (row->bad) {
            cJSON_AddStringToObject(e, "annotation", row->backend->ann_register);
            cJSON_AddStringToObject(e, "reason", row->bad);
        } else {
            cJSON_AddStringToObject(e, "annotation", row->backend->ann_handshake);
            cJSON_AddStringToObject(e, "reason", "handshake stale and nothing allocatable");
            cJSON_AddNumberToObject(e, "devices", row->dropped);
        }
        if (!out)
            out = cJSON_AddArrayToObject(o, "devicesLeftOut");
        cJSON_AddItemToArray(out, e);
    }
}

/* One node of /inspect. Under the read lock. */
static cJSON *node_json(const struct cnode *n, double now)
{
    cJSON *o = cJSON_CreateObject(), *gpus = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "name", n->inv->name);
    cJSON_AddNumberToObject(o, "cpuMilli", (double)n->view.cpu_milli);
    cJSON_AddNumberToObject(o, "cpuUsedMilli", (double)n->view.cpu_used_milli);
    cJSON_AddNumberToObject(o, "memMiB", (double)n->view.mem_mib);
    cJSON_AddNumberToObject(o, "memUsedMiB", (double)n->view.mem_used_mib);
    cJSON_AddBoolToObject(o, "oversubscribed", n->inv->oversubscribed);
    for (int i = 0; i < n->inv->ndev; i++)
        cJSON_AddItemToArray(gpus, gpu_json(n, i, now));
    cJSON_AddItemToObject(o, "gpus", gpus);
    rows_left_out(n->inv, o);
    return o;
}

cJSON *cache_inspect_node(struct cache *c, const char *name, double now)
{
    cJSON *o = NULL;
    cache_rdlock(c);
    const struct cnode *n = hmap_get(c->nodes, name);
    if (n) {
        o = node_json(n, now);
        if (n->inv->lock)
            cJSON_AddStringToObject(o, "lock", n->inv->lock);
        if (n->inv->labels)
            cJSON_AddStringToObject(o, "labels", n->inv->labels);
        if (n->inv->pair) {
            cJSON *links = cJSON_AddArrayToObject(o, "links");
            for (int i = 0; i < n->inv->ndev * n->inv->ndev; i++)
                cJSON_AddItemToArray(links, cJSON_CreateNumber(n->inv->pair[i]));
        }
    }
    cache_unlock(c);
    return o;
}

cJSON *cache_inspect(struct cache *c, double now)
{
    cJSON *root = cJSON_CreateObject(), *nodes = cJSON_CreateArray();
    size_t it = 0;
    const char *k;
    void *v;
    cache_rdlock(c);
    while (hmap_next(c->nodes, &it, &k, &v)) {
        cJSON_AddItemToArray(nodes, node_json(v, now));
    }
    cJSON_AddNumberToObject(root, "pods", (double)hmap_count(c->pods));
    cJSON_AddNumberToObject(root, "reservations", (double)c->nresv);
    cJSON_AddNumberToObject(root, "podsOnUnknownNodes", (double)c->norphans);
    cJSON_AddNumberToObject(root, "podsCountedByRequest", (double)c->nbad);
    cJSON_AddNumberToObject(root, "podsInBindWindow", (double)c->nwin);
    cJSON_AddBoolToObject(root, "ready", c->ready);
    cJSON *quotas = cJSON_AddArrayToObject(root, "quotas");
    it = 0;
    while (hmap_next(c->nsq, &it, &k, &v))
        cJSON_AddItemToArray(quotas, nsq_json(c, v));
    cache_unlock(c);
    cJSON_AddItemToObject(root, "nodes", nodes);
    return root;
}

void cache_with_views(struct cache *c,
                      void (*fn)(void *ctx, const struct policy_node *const *v, int n), void *ctx)
{
    size_t it = 0, k = 0;
    const char *key;
    void *v;
    cache_rdlock(c);
    const struct policy_node **views = mem_alloc(sizeof *views * (hmap_count(c->nodes) + 1));
    while (hmap_next(c->nodes, &it, &key, &v))
        views[k++] = &((struct cnode *)v)->view;
    fn(ctx, views, (int)k);
    cache_unlock(c);
    free(views);
}

void cache_foreach_gpu(struct cache *c,
                       void (*fn)(void *ctx, const char *node, const struct policy_device *d,
                                  const struct policy_usage *u),
                       void *ctx)
{
    size_t it = 0;
    const char *k;
    void *v;
    cache_rdlock(c);
    while (hmap_next(c->nodes, &it, &k, &v)) {
        const struct cnode *n = v;
        for (int i = 0; i < n->inv->ndev; i++)
            fn(ctx, n->inv->name, &n->inv->dev[i], &n->use[i]);
    }
    cache_unlock(c);
}

/* fn for every pod on node n carrying annotation which (read lock held). */
static void pods_ann(const struct cnode *n, enum cache_pod_ann which,
                     void (*fn)(void *ctx, const char *ns, const char *name, const char *node,
                                const char *value, const struct policy_device *dev, int ndev),
                     void *ctx)
{
    for (const struct cpod *p = n->pods; p; p = p->next) {
        const char *value = which == CACHE_POD_MIG ? p->mig : p->devices_bad ? NULL : p->devices;
        if (value)
            fn(ctx, p->ns, p->name, n->inv->name, value, n->inv->dev, n->inv->ndev);
    }
}

void cache_foreach_pod_ann(struct cache *c, enum cache_pod_ann which,
                           void (*fn)(void *ctx, const char *ns, const char *name, const char *node,
                                      const char *value, const struct policy_device *dev, int ndev),
                           void *ctx)
{
    size_t it = 0;
    const char *k;
    void *v;
    cache_rdlock(c);
    while (hmap_next(c->nodes, &it, &k, &v))
        pods_ann(v, which, fn, ctx);
    cache_unlock(c);
}

void cache_node_pod_ann(struct cache *c, const char *node, enum cache_pod_ann which,
                        void (*fn)(void *ctx, const char *ns, const char *name, const char *node,
                                   const char *value, const struct policy_device *dev, int ndev),
                        void *ctx)
{
    cache_rdlock(c);
    const struct cnode *n = hmap_get(c->nodes, node);
    if (n)
        pods_ann(n, which, fn, ctx);
    cache_unlock(c);
}

void cache_node_gpus(struct cache *c, const char *node,
                     void (*fn)(void *ctx, const char *node, const struct policy_device *d,
                                const struct policy_usage *u),
                     void *ctx)
{
    cache_rdlock(c);
    const struct cnode *n = hmap_get(c->nodes, node);
    for (int i = 0; n && i < n->inv->ndev; i++)
        fn(ctx, n->inv->name, &n->inv->dev[i], &n->use[i]);
    cache_unlock(c);
}

/* The keys of table m, copied under the read lock: a NULL-terminated
 * array, *n of them (caller frees each and the array). */
static char **keys_of(struct cache *c, struct hmap *m, size_t *n)
{
    size_t it = 0, k = 0;
    const char *key;
    void *v;
    cache_rdlock(c);
    char **out = mem_alloc(sizeof *out * (hmap_count(m) + 1));
    while (hmap_next(m, &it, &key, &v))
        out[k++] = mem_strdup(key);
    cache_unlock(c);
    out[k] = NULL;
    *n = k;
    return out;
}

char **cache_node_names(struct cache *c, size_t *n)
{
    return keys_of(c, c->nodes, n);
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
    size_t it = 0;
    const char *k;
    void *v;
    memset(out, 0, sizeof *out);
    cache_rdlock(c);
    while (hmap_next(c->nodes, &it, &k, &v)) {
        const struct cnode *n = v;
        out->gpus += (size_t)n->inv->ndev;
        for (int i = 0; i < n->inv->ndev; i++)
            if (n->inv->dev[i].health && n->inv->dev[i].devmem > out->max_gpu_mem)
                out->max_gpu_mem = n->inv->dev[i].devmem;
    }
    out->nodes = hmap_count(c->nodes);
    out->pods = hmap_count(c->pods);
    out->reservations = c->nresv;
    out->orphans = c->norphans;
    out->bad_pods = c->nbad;
    out->windows = c->nwin;
    out->pending = hmap_count(c->pending);
    out->pending_bytes = c->pend_bytes;
    out->pending_bytes_max = pend_limit(c);
    out->pending_evicted = c->pend_evicted;
    out->pods_bytes = c->pod_bytes;
    out->reservations_bytes = c->resv_bytes;
    out->orphans_bytes = c->orphan_bytes;
    out->reservations_bytes_max = resv_limit(c);
    out->reservations_evicted = c->resv_evicted;
    cache_unlock(c);
}

/* ---- quotas ---- */

void cache_set_mem_factor(struct cache *c, int32_t factor)
{
    wrlock(c, CACHE_WRITER_SOURCE);
    c->mem_factor = factor > 1 ? factor : 1;
    cache_unlock(c);
}

/* The namespace's limits again from its ResourceQuotas: per key the
 * smallest, as Kubernetes enforces every quota of a namespace. */
static void limits_rebuild(struct cache *c, const char *ns)
{
    struct nsq *q = nsq_get(c, ns);
    size_t it = 0;
    const char *k;
    void *v;
    quota_limits_none(&q->lim);
    while (hmap_next(c->qobjs, &it, &k, &v)) {
        const struct qobj *o = v;
        if (strcmp(o->ns, ns) != 0)
            continue;
        for (int i = 0; i < QUOTA_BACKENDS_MAX; i++) {
            if (o->l.mem[i] >= 0 && (q->lim.mem[i] < 0 || o->l.mem[i] < q->lim.mem[i]))
                q->lim.mem[i] = o->l.mem[i];
            if (o->l.cores[i] >= 0 && (q->lim.cores[i] < 0 || o->l.cores[i] < q->lim.cores[i]))
                q->lim.cores[i] = o->l.cores[i];
        }
    }
    nsq_tidy(c, q);
}

static void qobj_free(struct qobj *o)
{
    if (!o)
        return;
    free(o->key);
    free(o->ns);
    free(o);
}

static char *qkey(const char *ns, const char *name)
{
    size_t n = strlen(ns) + strlen(name) + 2;
    char *k = mem_alloc(n);
    snprintf(k, n, "%s/%s", ns, name);
    return k;
}

void cache_quota_put(struct cache *c, const char *ns, const char *name,
                     const struct quota_limits *l)
{
    char *key = qkey(ns, name);
    wrlock(c, CACHE_WRITER_SOURCE);
    struct qobj *o = hmap_get(c->qobjs, key);
    if (!o) {
        o = mem_zalloc(sizeof *o);
        o->key = key;
        o->ns = mem_strdup(ns);
        hmap_put(c->qobjs, o->key, o);
        key = NULL;
    }
    o->l = *l;
    limits_rebuild(c, ns);
    cache_unlock(c);
    free(key);
}

void cache_quota_del(struct cache *c, const char *ns, const char *name)
{
    char *key = qkey(ns, name);
    wrlock(c, CACHE_WRITER_SOURCE);
    struct qobj *o = hmap_del(c->qobjs, key);
    if (o)
        limits_rebuild(c, ns);
    cache_unlock(c);
    qobj_free(o);
    free(key);
}

char **cache_quota_names(struct cache *c, size_t *n)
{
    return keys_of(c, c->qobjs, n);
}

/* The limit as usage counts it (MiB): memory of the rows that take the
 * device config's memoryFactor is held in scaled MiB, and a row with a unit
 * of its own (Cambricon: 256 MiB) writes its limit in that unit (HAMi
 * scales the limit by either). */
static int64_t mem_limit(const struct cache *c, int b, int64_t lim)
{
    const struct policy_device_backend *row = policy_device_backends[b];
    int64_t f = !row ? 1 : row->config_defaults ? c->mem_factor : row->mem_unit;
    if (lim < 0 || f <= 1)
        return lim;
    return lim > INT64_MAX / f ? INT64_MAX : lim * f;
}

void cache_gpu_take_max(struct cache *c, int64_t mem, int32_t cores, int64_t *mem_max,
                        int32_t *cores_max)
{
    /* A MIG instance takes its profile's size, at most its card's. */
    *mem_max = mem > 0 && !c->has_mig ? mem : mem > c->devmem_max ? mem : c->devmem_max;
    *cores_max = c->has_mig && cores < 100 ? 100 : cores;
}

void cache_quota_left(struct cache *c, const char *ns, const struct policy_device_backend *b,
                      int64_t *mem, int64_t *cores)
{
    const struct nsq *q = ns ? hmap_get(c->nsq, ns) : NULL;
    int i = quota_backend_index(b);
    *mem = *cores = -1;
    if (!q)
        return;
    int64_t lm = mem_limit(c, i, q->lim.mem[i]), lc = q->lim.cores[i];
    if (lm >= 0)
        *mem = lm > q->mem[i] ? lm - q->mem[i] : 0;
    if (lc >= 0)
        *cores = lc > q->cores[i] ? lc - q->cores[i] : 0;
}

bool cache_quota_admits(struct cache *c, const char *ns, const struct policy_device_backend *b,
                        int64_t mem, int64_t cores, char *why, size_t cap)
{
    int64_t left_mem, left_cores;
    bool ok = true;
    cache_rdlock(c);
    cache_quota_left(c, ns, b, &left_mem, &left_cores);
    if (b->config_defaults && c->mem_factor > 1)
        mem = mem > INT64_MAX / c->mem_factor ? INT64_MAX : mem * c->mem_factor;
    if (left_mem >= 0 && mem > left_mem) {
        snprintf(why, cap, "%s: the pod asks %lld, namespace %s has %lld left",
                 policy_device_res(b, POLICY_RES_MEM), (long long)mem, ns, (long long)left_mem);
        ok = false;
    } else if (left_cores >= 0 && cores > left_cores) {
        snprintf(why, cap, "%s: the pod asks %lld, namespace %s has %lld left",
                 policy_device_res(b, POLICY_RES_CORES), (long long)cores, ns,
                 (long long)left_cores);
        ok = false;
    }
    cache_unlock(c);
    return ok;
}

void cache_foreach_quota(struct cache *c,
                         void (*fn)(void *ctx, const char *ns, const char *resource, int64_t used,
                                    int64_t limit),
                         void *ctx)
{
    size_t it = 0;
    const char *k;
    void *v;
    cache_rdlock(c);
    while (hmap_next(c->nsq, &it, &k, &v)) {
        const struct nsq *q = v;
        for (int i = 0; i < QUOTA_BACKENDS_MAX && policy_device_backends[i]; i++) {
            const char *mem = policy_device_res(policy_device_backends[i], POLICY_RES_MEM);
            const char *cores = policy_device_res(policy_device_backends[i], POLICY_RES_CORES);
            if (mem && (q->mem[i] || q->lim.mem[i] >= 0))
                fn(ctx, q->ns, mem, q->mem[i], q->lim.mem[i]);
            if (cores && (q->cores[i] || q->lim.cores[i] >= 0))
                fn(ctx, q->ns, cores, q->cores[i], q->lim.cores[i]);
        }
    }
    cache_unlock(c);
}

int cache_node_pods(struct cache *c, const char *node, struct cache_pod_share *pods, int cap,
                    struct cache_share *shares, int scap)
{
    const struct cnode *n = node ? hmap_get(c->nodes, node) : NULL;
    int np = 0, ns = 0;
    for (const struct cpod *p = n ? n->pods : NULL; p; p = p->next, np++) {
        if (np >= cap)
            continue;
        struct cache_pod_share *o = &pods[np];
        *o = (struct cache_pod_share){.uid = p->uid,
                                      .ns = p->ns,
                                      .name = p->name,
                                      .labels = p->labels,
                                      .priority = p->priority,
                                      .evictable = p->state == POD_OBSERVED && p->bound,
                                      .share = shares + ns};
        for (int i = 0; i < p->ncontrib && ns < scap; i++, o->nshare++)
            shares[ns++] = (struct cache_share){p->contrib[i].dev, p->contrib[i].u};
    }
    return np;
}

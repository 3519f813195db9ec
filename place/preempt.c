/* preempt.c: the victims of a preemption per node (the greedy reprieve of
 * preempt.h), and the request over the cache. */
#include "place/preempt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "policy/device.h"

static bool candidate(const struct preempt_pod *q, int32_t prio)
{
    return q->evictable && !q->own && q->priority < prio && q->priority < PREEMPT_CRITICAL &&
           q->nshare > 0;
}

/* Put q's shares back into w->use (sign +1) or take them out (-1), with
 * what it gives back to the preemptor's quota. */
static void add(struct preempt_work *w, const struct preempt_pod *q, int sign)
{
    for (int i = 0; i < q->nshare; i++) {
        struct policy_usage *u = &w->use[q->share[i].dev];
        const struct policy_usage *s = &q->share[i].u;
        u->used += sign * s->used;
        u->cores += sign * s->cores;
        u->mem += sign * s->mem;
        u->mig = sign > 0 ? u->mig + s->mig : u->mig - s->mig;
    }
    w->qmem -= sign * q->qmem;
    w->qcores -= sign * q->qcores;
}

/* Fit on w->use; the placement becomes w->pl[w->cur] when it fits. */
static bool fits(const struct policy_pod *pod, const struct policy_node *node,
                 const struct policy_opts *o, struct preempt_work *w)
{
    struct policy_node v = *node;
    struct policy_reasons why;
    v.use = w->use;
    v.gen = 0;
    w->fits++;
    if (w->quota) {
        w->qpod.quota_mem = pod->quota_mem < 0 ? -1 : pod->quota_mem + w->qmem;
        w->qpod.quota_cores = pod->quota_cores < 0 ? -1 : pod->quota_cores + w->qcores;
        pod = &w->qpod;
    }
    if (!policy_fit(pod, &v, o, &w->pl[1 - w->cur], &why))
        return false;
    w->cur = 1 - w->cur;
    return true;
}

/* Does q hold a share on a GPU the last placement picked? */
static bool touches(const struct policy_placement *pl, const struct preempt_pod *q)
{
    for (int i = 0; i < q->nshare; i++)
        for (int k = 0; k < pl->npick; k++)
            if (pl->pick[k].dev == q->share[i].dev)
                return true;
    return false;
}

static int64_t share_mem(const struct preempt_pod *q)
{
    int64_t m = 0;
    for (int i = 0; i < q->nshare; i++)
        m += q->share[i].u.mem * 1000 + q->share[i].u.cores;
    return m;
}

/* Reprieve order: true when a goes back before b (preempt.h); big: the
 * larger share first (the pass that takes the least share away). */
static bool before(const struct preempt_pod *pods, const struct preempt_work *w, int a, int b,
                   bool big)
{
    const struct preempt_pod *x = &pods[a], *y = &pods[b];
    if (x->violates != y->violates)
        return x->violates;
    if (x->priority != y->priority)
        return x->priority > y->priority;
    if (w->crowd[a] != w->crowd[b])
        return w->crowd[a] > w->crowd[b];
    int64_t sx = share_mem(x), sy = share_mem(y);
    if (sx != sy)
        return big ? sx > sy : sx < sy;
    if (x->proposed != y->proposed)
        return y->proposed; /* otherwise equal: evict what kube-scheduler proposed */
    return a < b;
}

/* Walk pods by priority, highest first (pods[order[0..k)]), each using one
 * disruption of every budget covering it; mark (or count) those that go
 * past one. Returns how many did. */
static int budgets(struct preempt_pod *pods, const int *order, int k, struct preempt_work *w,
                   bool mark)
{
    int nleft = 0, bad = 0;
    for (int j = 0; j < k; j++) {
        struct preempt_pod *q = &pods[order[j]];
        bool over = false;
        for (int h = 0; h < q->npdb; h++) {
            int at = 0;
            while (at < nleft && w->left[at].id != q->pdb[h].id)
                at++;
            if (at == nleft && nleft < PREEMPT_PODS_MAX)
                w->left[nleft++] = q->pdb[h];
            if (at < nleft && --w->left[at].allowed < 0)
                over = true;
        }
        if (mark)
            q->violates = over;
        bad += over;
    }
    return bad;
}

/* pods[order[0..k)] by priority, highest first (insertion sort: k is small). */
static void by_priority(const struct preempt_pod *pods, int *order, int k)
{
    for (int i = 1; i < k; i++) {
        int v = order[i], j = i;
        for (; j > 0 && pods[order[j - 1]].priority < pods[v].priority; j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
}

/* Candidates on their most crowded GPU, for the reprieve order. */
static void crowding(const struct preempt_pod *pods, const int *order, int k,
                     struct preempt_work *w)
{
    int per[POLICY_MAX_DEVICES] = {0};
    for (int j = 0; j < k; j++)
        for (int i = 0; i < pods[order[j]].nshare; i++)
            per[pods[order[j]].share[i].dev]++;
    for (int j = 0; j < k; j++) {
        const struct preempt_pod *q = &pods[order[j]];
        w->crowd[order[j]] = 0;
        for (int i = 0; i < q->nshare; i++)
            if (per[q->share[i].dev] > w->crowd[order[j]])
                w->crowd[order[j]] = per[q->share[i].dev];
    }
}

/* Take back every candidate the pod still fits without, in reprieve
 * order; the others are the victims. w->use holds the usage without all
 * of them and w->pl the last placement that fitted. */
static void reprieve(const struct policy_pod *pod, const struct policy_node *node,
                     struct preempt_pod *pods, int *order, int k, const struct policy_opts *o,
                     struct preempt_work *w, bool big)
{
    for (int i = 1; i < k; i++) {
        int v = order[i], j = i;
        for (; j > 0 && before(pods, w, v, order[j - 1], big); j--)
            order[j] = order[j - 1];
        order[j] = v;
    }
    for (int j = 0; j < k; j++) {
        struct preempt_pod *q = &pods[order[j]];
        q->victim = false;
        add(w, q, +1);
        /* The last placement still holds when q shares none of its GPUs
         * and takes no quota back (host resources are not checked here). */
        if (!o->check_host && !touches(&w->pl[w->cur], q) && !(w->quota && (q->qmem || q->qcores)))
            continue;
        if (fits(pod, node, o, w))
            continue;
        add(w, q, -1);
        q->victim = true;
    }
}

/* Victims' count, then the share they take away: is the current choice
 * (victim flags) better than the first pass's (w->first)? Priorities and
 * budgets are equal by construction of the order; only these differ. */
static bool better(const struct preempt_pod *pods, const int *order, int k,
                   const struct preempt_work *w)
{
    int nc = 0, nf = 0;
    int64_t sc = 0, sf = 0;
    int32_t pc = INT32_MIN, pf = INT32_MIN;
    int bc = 0, bf = 0;
    for (int j = 0; j < k; j++) {
        const struct preempt_pod *q = &pods[order[j]];
        if (q->victim) {
            nc++, sc += share_mem(q), bc += q->violates;
            pc = q->priority > pc ? q->priority : pc;
        }
        if (w->first[order[j]]) {
            nf++, sf += share_mem(q), bf += q->violates;
            pf = q->priority > pf ? q->priority : pf;
        }
    }
    if (bc != bf)
        return bc < bf;
    if (pc != pf)
        return pc < pf;
    return nc != nf ? nc < nf : sc < sf;
}

/* Two greedy passes from every candidate out (w->base, placement pl[cur]):
 * the smaller shares taken back first (fewest victims), then the larger
 * (least share); the better by preempt.h's order stays. */
static void choose(const struct policy_pod *pod, const struct policy_node *node,
                   struct preempt_pod *pods, int *order, int k, const struct policy_opts *o,
                   struct preempt_work *w)
{
    int nd = node->ndev < POLICY_MAX_DEVICES ? node->ndev : POLICY_MAX_DEVICES, start = w->cur;
    int nv = 0;
    reprieve(pod, node, pods, order, k, o, w, false);
    for (int j = 0; j < k; j++) {
        w->first[order[j]] = pods[order[j]].victim;
        nv += pods[order[j]].victim;
    }
    if (nv == 0 || nv == k)
        return; /* none, or every candidate: no other choice to find */
    memcpy(w->use, w->base, sizeof *w->use * (size_t)nd);
    w->qmem = w->qbase_mem;
    w->qcores = w->qbase_cores;
    if (w->cur != start) {
        w->pl[start] = w->pl[w->cur];
        w->cur = start;
    }
    /* pl[start] may have been overwritten by a failed fit: fit again. */
    if (!fits(pod, node, o, w))
        return;
    reprieve(pod, node, pods, order, k, o, w, true);
    if (better(pods, order, k, w))
        return;
    for (int j = 0; j < k; j++)
        pods[order[j]].victim = w->first[order[j]];
}

/* A preemptor that asks no GPU: kube-scheduler's victims as proposed
 * (those of lower priority, not system-critical). */
static void kept_as_proposed(int32_t prio, struct preempt_pod *pods, int n, struct preempt_work *w,
                             struct preempt_result *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        pods[i].violates = false;
        pods[i].victim =
            pods[i].proposed && pods[i].priority < prio && pods[i].priority < PREEMPT_CRITICAL;
        if (pods[i].victim)
            w->order[k++] = i;
    }
    by_priority(pods, w->order, k);
    out->helps = true;
    out->nvictims = k;
    out->violations = budgets(pods, w->order, k, w, true);
}

void place_preempt_choose(const struct policy_pod *pod, int32_t prio,
                          const struct policy_node *node, struct preempt_pod *pods, int n,
                          const struct policy_opts *o, struct preempt_work *w,
                          struct preempt_result *out)
{
    int nd = node->ndev < POLICY_MAX_DEVICES ? node->ndev : POLICY_MAX_DEVICES, k = 0;
    memset(out, 0, sizeof *out);
    w->cur = 0;
    w->qmem = w->qcores = 0;
    w->quota = pod->quota_mem >= 0 || pod->quota_cores >= 0;
    if (w->quota)
        w->qpod = *pod;
    n = n < PREEMPT_PODS_MAX ? n : PREEMPT_PODS_MAX;
    memcpy(w->use, node->use, sizeof *w->use * (size_t)nd);
    for (int i = 0; i < n; i++)
        if (pods[i].own)
            add(w, &pods[i], -1); /* a hold an earlier call made for it */
    if (!policy_pod_wants_gpu(pod)) {
        kept_as_proposed(prio, pods, n, w, out); /* no GPU at stake: kube-scheduler's call */
        return;
    }
    for (int i = 0; i < n; i++) {
        pods[i].victim = pods[i].violates = false;
        if (candidate(&pods[i], prio)) {
            w->order[k++] = i;
            add(w, &pods[i], -1);
        }
    }
    if (!fits(pod, node, o, w))
        return; /* even every candidate out does not help (GPU or quota) */
    out->helps = true;
    memcpy(w->base, w->use, sizeof *w->use * (size_t)nd);
    w->qbase_mem = w->qmem;
    w->qbase_cores = w->qcores;
    by_priority(pods, w->order, k);
    budgets(pods, w->order, k, w, true);
    crowding(pods, w->order, k, w);
    choose(pod, node, pods, w->order, k, o, w);
    /* kube-scheduler's own victims that hold no GPU here stay. */
    for (int i = 0; i < n; i++)
        pods[i].victim =
            pods[i].victim || (pods[i].proposed && pods[i].nshare == 0 && pods[i].priority < prio &&
                               pods[i].priority < PREEMPT_CRITICAL);
    k = 0;
    for (int i = 0; i < n; i++)
        if (pods[i].victim)
            w->order[k++] = i;
    by_priority(pods, w->order, k);
    out->nvictims = k;
    out->violations = budgets(pods, w->order, k, w, true);
}

/* ---- over the cache ---- */

/* Per-request scratch. */
struct scratch {
    struct preempt_work w;
    struct cache_pod_share ps[PREEMPT_PODS_MAX];
    struct cache_share sh[PREEMPT_SHARES_MAX];
    struct preempt_pod pp[PREEMPT_PODS_MAX];
    struct pdb_hit hits[PREEMPT_PODS_MAX][PDB_MATCHES_MAX];
    struct policy_pod pod; /* the preemptor with its namespace's quota left */
};

/* What evicting q gives back to the quota of a preemptor of backend b in
 * its namespace: q's shares on devices of b. */
static void give_back(const struct policy_node *view, const struct policy_device_backend *b,
                      struct preempt_pod *q)
{
    for (int i = 0; i < q->nshare; i++) {
        int d = q->share[i].dev;
        if (d >= 0 && d < view->ndev && policy_device_backend_of(&view->dev[d]) == b) {
            q->qmem += q->share[i].u.mem;
            q->qcores += q->share[i].u.cores;
        }
    }
}

static void one_node(struct cache *c, struct pdbs *b, const struct policy_pod *pod, int32_t prio,
                     const struct policy_opts *o, struct place_preempt_node *nd, struct scratch *s,
                     struct buf *out)
{
    const struct policy_node *view = cache_view(c, nd->name);
    struct preempt_result res;
    bool quota = pod->quota_mem >= 0 || pod->quota_cores >= 0;
    if (!view)
        return;
    int np = cache_node_pods(c, nd->name, s->ps, PREEMPT_PODS_MAX, s->sh, PREEMPT_SHARES_MAX);
    np = np < PREEMPT_PODS_MAX ? np : PREEMPT_PODS_MAX;
    for (int i = 0; i < np; i++) {
        const struct cache_pod_share *q = &s->ps[i];
        s->pp[i] = (struct preempt_pod){.priority = q->priority,
                                        .evictable = q->evictable,
                                        .nshare = q->nshare,
                                        .share = q->share,
                                        .own = strcmp(q->uid, pod->uid) == 0,
                                        .pdb = s->hits[i]};
        if (quota && strcmp(q->ns, pod->ns) == 0)
            give_back(view, policy_pod_backend(pod), &s->pp[i]);
    }
    nd->unknown = 0;
    for (size_t k = 0; k < nd->nproposed; k++) {
        int i = 0;
        while (i < np && strcmp(s->ps[i].uid, nd->proposed[k]) != 0)
            i++;
        if (i < np)
            s->pp[i].proposed = true;
        else
            nd->unknown++;
    }
    for (int i = 0; i < np; i++)
        if (s->pp[i].evictable && s->pp[i].priority < prio &&
            (s->pp[i].nshare > 0 || s->pp[i].proposed))
            s->pp[i].npdb =
                pdbs_match_locked(b, s->ps[i].ns, s->ps[i].labels, s->hits[i], PDB_MATCHES_MAX);
    place_preempt_choose(pod, prio, view, s->pp, np, o, &s->w, &res);
    /* A node that needs no victim is left out too: kube-scheduler refuses
     * an answer naming a node without victims ("expected at least one
     * victim pod on node"), failing the whole preemption; the pod fits
     * there without one and its next filter finds it. */
    if (!res.helps || res.nvictims == 0)
        return;
    nd->keep = true;
    nd->violations = res.violations;
    nd->victims = out->len;
    for (int i = 0; i < np; i++) {
        if (!s->pp[i].victim)
            continue;
        buf_append(out, s->ps[i].uid, strlen(s->ps[i].uid) + 1);
        buf_append(out, s->ps[i].ns, strlen(s->ps[i].ns) + 1);
        buf_append(out, s->ps[i].name, strlen(s->ps[i].name) + 1);
        buf_append(out, &s->ps[i].priority, sizeof s->ps[i].priority);
        nd->nvictims++;
    }
}

size_t place_preempt(struct place *p, const struct policy_pod *pod, int32_t prio,
                     struct place_preempt_node *nodes, size_t n, struct buf *out)
{
    struct cache *c = place_cache(p);
    struct pdbs *b = cache_pdbs(c);
    struct policy_opts o = place_options(p)->policy;
    struct scratch *s = mem_alloc(sizeof *s);
    size_t kept = 0;
    o.state = NULL; /* feasibility only: no score is compared */
    o.scratch = NULL;
    s->w.fits = 0;
    const struct policy_device_backend *dev = policy_pod_backend(pod);
    s->pod = *pod;
    s->pod.quota_mem = s->pod.quota_cores = -1;
    cache_rdlock(c);
    if (dev && policy_pod_wants_gpu(pod)) {
        int64_t need_mem, need_cores;
        cache_quota_left(c, pod->ns, dev, &s->pod.quota_mem, &s->pod.quota_cores);
        place_quota_need(p, pod, &need_mem, &need_cores);
        if (s->pod.quota_mem >= need_mem)
            s->pod.quota_mem = -1; /* cannot refuse it: the fits as without a quota */
        if (s->pod.quota_cores >= need_cores)
            s->pod.quota_cores = -1;
    }
    pdbs_lock(b);
    for (size_t i = 0; i < n; i++) {
        nodes[i].keep = false;
        nodes[i].violations = 0;
        nodes[i].nvictims = 0;
        one_node(c, b, &s->pod, prio, &o, &nodes[i], s, out);
        kept += nodes[i].keep;
    }
    pdbs_unlock(b);
    cache_unlock(c);
    free(s);
    return kept;
}

bool place_preempt_victim(const struct buf *out, const struct place_preempt_node *nd, size_t *at,
                          size_t *k, struct place_victim *v)
{
    if (*k >= nd->nvictims || !out->data)
        return false;
    if (*k == 0)
        *at = nd->victims;
    const char *p = out->data + *at;
    v->uid = p;
    v->ns = v->uid + strlen(v->uid) + 1;
    v->name = v->ns + strlen(v->ns) + 1;
    p = v->name + strlen(v->name) + 1;
    memcpy(&v->priority, p, sizeof v->priority);
    *at = (size_t)(p + sizeof v->priority - out->data);
    (*k)++;
    return true;
}

/* fit.c: fitting a pod on a node (HAMi's checks, in HAMi's order) and
 * choosing among nodes. No allocation: every buffer is on the stack or the
 * caller's. */
#include "policy/policy.h"

#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/hash.h"
#include "base/list.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"

#define TOPOLOGY_MAX_COMBOS 20000 /* past this, topology-aware goes greedy */
/* A node where a high-priority container shares a card with another one
 * scores this much worse (priority_cards): below every node where it does
 * not, whatever the node policy's own score. */
#define PRIORITY_PENALTY 1e9

/* Type checks memoised per type string, for one pod across many nodes:
 * nodes share model names (the cache interns them). */
struct typememo {
    const char *type[8];
    bool ok[8];
    int n;
};

/* Per-call state shared by the containers of one pod on one node. */
struct fitctx {
    const struct policy_pod *pod;
    const struct policy_node *node;
    struct policy_gpu_policy gpu;
    struct policy_weights w;
    int64_t pod_mem, pod_cores; /* taken so far by the containers running together with the
                                   one being fitted, for the quota check */
    struct typememo *memo;
    const struct policy_opts *opts;
    const struct policy_node_policy *np;
    /* The container being fitted's backend, and the first row (a device or
     * container naming none belongs to it): compared inline, per device. */
    const struct policy_device_backend *own, *first;
    bool check_vendor; /* the node's devices are not all of own's row (node->vendor) */
};

static inline bool own_device(const struct fitctx *fc, const struct policy_device *d)
{
    return (d->backend ? d->backend : fc->first) == fc->own;
}

#define LIST_TRIM " \t" /* what HAMi trims from an element of these lists */

/* Does `list` (comma-separated) name `id` exactly (elements trimmed)? */
static bool list_has_exact(const char *list, const char *id)
{
    const char *tok;
    size_t len, idlen = strlen(id);
    while (list_next(&list, ',', LIST_TRIM, &tok, &len))
        if (len == idlen && memcmp(tok, id, len) == 0)
            return true;
    return false;
}

/* Case-insensitive: does some non-empty element of list occur in type? */
bool policy_type_listed(const char *list, const char *type)
{
    const char *tok;
    size_t len, tlen = strlen(type);
    while (list_next(&list, ',', LIST_TRIM, &tok, &len)) {
        len = len < 127 ? len : 127; /* as before: an element is read up to 127 bytes */
        for (size_t i = 0; len && i + len <= tlen; i++)
            if (strncasecmp(type + i, tok, len) == 0)
                return true;
    }
    return false;
}

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != ',')
            return false;
    return true;
}

static bool type_allowed(struct fitctx *fc, const struct policy_device *d)
{
    const struct policy_pod *pod = fc->pod;
    struct typememo *m = fc->memo;
    for (int i = 0; i < m->n; i++)
        if (m->type[i] == d->type)
            return m->ok[i];
    const char *type = d->type ? d->type : "";
    bool ok = true;
    if (!blank(pod->use_type) && !policy_type_listed(pod->use_type, type))
        ok = false;
    if (ok && !blank(pod->nouse_type) && policy_type_listed(pod->nouse_type, type))
        ok = false;
    if (m->n < 8) {
        m->type[m->n] = d->type;
        m->ok[m->n++] = ok;
    }
    return ok;
}

static bool mode_allowed(const struct policy_pod *pod, const struct policy_device *d)
{
    return !pod->vgpu_mode || strstr(pod->vgpu_mode, d->mode ? d->mode : "") != NULL;
}

static bool uuid_allowed(const struct policy_pod *pod, const struct policy_device *d)
{
    const char *id = d->uuid ? d->uuid : "";
    if (!blank(pod->use_uuid) && !list_has_exact(pod->use_uuid, id))
        return false;
    if (!blank(pod->nouse_uuid) && list_has_exact(pod->nouse_uuid, id))
        return false;
    return true;
}

/* A MIG card takes an instance of mem MiB when a profile covering it has a
 * free placement, and when every instance on it has a known placement: one
 * that does not (a pod without HAMi's MIG allocation annotation, or one of
 * HAMi's older "GPU-x[1-0]" instances) could be on any slice, so nothing is
 * placed beside it (HAMi marks such a card unhealthy). */
static bool mig_fits(const struct policy_device *d, const struct policy_usage *u, int64_t mem)
{
    int start;
    return u->used <= policy_mig_known(u->mig) && policy_mig_choose(d, u->mig, mem, &start) >= 0;
}

/* Would the pod's containers that run together take more than the quota
 * left with mem MiB and cores % more? A device is checked with the
 * container's whole ask (its GPUs x what it takes there), so whichever k
 * fitting devices are chosen, their sum is within the quota too. */
static bool over_quota(const struct fitctx *fc, int64_t mem, int64_t cores)
{
    const struct policy_pod *pod = fc->pod;
    return (pod->quota_mem >= 0 && fc->pod_mem + mem > pod->quota_mem) ||
           (pod->quota_cores >= 0 && fc->pod_cores + cores > pod->quota_cores);
}

/* HAMi's checks for one device, in HAMi's order. Returns -1 when the device
 * fits, else the reason. */
static int check_device(struct fitctx *fc, const struct policy_ctr *c,
                        const struct policy_device *d, const struct policy_usage *u)
{
    const struct policy_pod *pod = fc->pod;
    if (fc->check_vendor && !own_device(fc, d))
        return POLICY_R_CARD_TYPE_MISMATCH; /* HAMi fits a request on its vendor's devices only */
    if (!d->health)
        return POLICY_R_CARD_NOT_HEALTH;
    if (d->cordoned)
        return POLICY_R_CARD_CORDONED;
    if (!type_allowed(fc, d) || (!fc->own->mode_not_fit && !mode_allowed(pod, d)))
        return POLICY_R_CARD_TYPE_MISMATCH;
    if (!uuid_allowed(pod, d))
        return POLICY_R_CARD_UUID_MISMATCH;
    if (d->count <= u->used)
        return POLICY_R_CARD_TIME_SLICING_EXHAUSTED;
    if (fc->gpu.mutex && u->used > 0)
        return POLICY_R_EXCLUSIVE_CONFLICT;
    int64_t mem = policy_ctr_mem(c, d);
    if (over_quota(fc, (int64_t)c->nums * mem, (int64_t)c->nums * c->cores))
        return POLICY_R_QUOTA_NOT_FIT;
    if (d->devmem - u->mem < mem)
        return POLICY_R_CARD_INSUFFICIENT_MEMORY;
    if (d->devcore - u->cores < c->cores)
        return POLICY_R_CARD_INSUFFICIENT_CORE;
    if (d->devcore == 100 && c->cores == 100 && u->used > 0)
        return POLICY_R_EXCLUSIVE_CONFLICT;
    if (d->devcore != 0 && u->cores == d->devcore && c->cores == 0)
        return POLICY_R_CARD_COMPUTE_UNITS_EXHAUSTED;
    if (policy_mig_card(d) && !mig_fits(d, u, mem))
        return POLICY_R_CARD_MIG_TOPOLOGY_INFEASIBLE;
    return -1;
}

/* Is device a preferred to device b under the GPU policy's key chain? */
static inline bool prefer(const struct fitctx *fc, const double *score, int a, int b)
{
    const struct policy_device *da = &fc->node->dev[a], *db = &fc->node->dev[b];
    int k = 0;
    if (fc->gpu.nkeys &&
        fc->gpu.keys[0] != POLICY_KEY_NUMA) { /* the common head, without the loop */
        if (score[a] != score[b])
            return (fc->gpu.keys[0] == POLICY_KEY_BINPACK) == (score[a] > score[b]);
        k = 1;
    }
    for (; k < fc->gpu.nkeys; k++) {
        switch (fc->gpu.keys[k]) {
        case POLICY_KEY_BINPACK:
            if (score[a] != score[b])
                return score[a] > score[b];
            break;
        case POLICY_KEY_SPREAD:
            if (score[a] != score[b])
                return score[a] < score[b];
            break;
        case POLICY_KEY_NUMA:
            if (da->numa != db->numa)
                return da->numa < db->numa;
            break;
        }
    }
    if (da->numa != db->numa)
        return da->numa < db->numa;
    if (da->index != db->index)
        return da->index < db->index;
    return a < b;
}

/* Order the fitting devices best first: fully (insertion sort; nodes have
 * few GPUs) when the whole order matters, else only the first k places. */
static void order_devices(const struct fitctx *fc, const double *score, uint8_t *fit, int n, int k)
{
    if (k < n) {
        for (int m = 0; m < k; m++) {
            int b = m;
            for (int i = m + 1; i < n; i++)
                if (prefer(fc, score, fit[i], fit[b]))
                    b = i;
            uint8_t t = fit[m];
            fit[m] = fit[b];
            fit[b] = t;
        }
        return;
    }
    for (int i = 1; i < n; i++) {
        uint8_t v = fit[i];
        int j = i;
        while (j > 0 && prefer(fc, score, v, fit[j - 1])) {
            fit[j] = fit[j - 1];
            j--;
        }
        fit[j] = v;
    }
}

static int pair(const struct policy_node *n, int a, int b)
{
    return n->pair ? n->pair[a * n->ndev + b] : 0;
}

/* topology-aware, one GPU: the fitting card least connected to the others. */
static void topo_single(const struct policy_node *n, const uint8_t *fit, int nfit, uint8_t *out)
{
    long best = 0;
    for (int i = 0; i < nfit; i++) {
        long sum = 0;
        for (int j = 0; j < nfit; j++)
            if (j != i)
                sum += pair(n, fit[i], fit[j]);
        if (i == 0 || sum < best) {
            best = sum;
            out[0] = fit[i];
        }
    }
}

static long set_score(const struct policy_node *n, const uint8_t *set, int k)
{
    long s = 0;
    for (int i = 0; i < k; i++)
        for (int j = i + 1; j < k; j++)
            s += pair(n, set[i], set[j]);
    return s;
}

/* Enumerate k-subsets of fit[] in order; keep the first with the highest
 * summed pair score. */
static void topo_search(const struct policy_node *n, const uint8_t *fit, int nfit, int k, int start,
                        uint8_t *cur, int depth, long *best, uint8_t *out)
{
    if (depth == k) {
        long s = set_score(n, cur, k);
        if (*best < 0 || s > *best) {
            *best = s;
            memcpy(out, cur, (size_t)k);
        }
        return;
    }
    for (int i = start; i <= nfit - (k - depth); i++) {
        cur[depth] = fit[i];
        topo_search(n, fit, nfit, k, i + 1, cur, depth + 1, best, out);
    }
}

static double combinations(int n, int k)
{
    double c = 1;
    for (int i = 1; i <= k; i++)
        c = c * (n - k + i) / i;
    return c;
}

/* Greedy fallback for huge searches: the best pair, then the card adding most. */
static void topo_greedy(const struct policy_node *n, const uint8_t *fit, int nfit, int k,
                        uint8_t *out)
{
    bool used[POLICY_MAX_DEVICES] = {false};
    for (int m = 0; m < k; m++) {
        long best = -1;
        int bi = 0;
        for (int i = 0; i < nfit; i++) {
            if (used[i])
                continue;
            long s = 0;
            for (int j = 0; j < m; j++)
                s += pair(n, fit[i], out[j]);
            if (s > best) {
                best = s;
                bi = i;
            }
        }
        used[bi] = true;
        out[m] = fit[bi];
    }
}

static void topo_multi(const struct policy_node *n, const uint8_t *fit, int nfit, int k,
                       uint8_t *out)
{
    if (combinations(nfit, k) > TOPOLOGY_MAX_COMBOS) {
        topo_greedy(n, fit, nfit, k, out);
        return;
    }
    uint8_t cur[POLICY_MAX_GPUS];
    long best = -1;
    topo_search(n, fit, nfit, k, 0, cur, 0, &best, out);
}

/* numa-bind: the first NUMA node, in preference order, to gather k fitting
 * devices; writes them to out. Returns false when none does. */
static bool numa_pick(const struct policy_node *n, const uint8_t *fit, int nfit, int k,
                      uint8_t *out)
{
    for (int i = 0; i < nfit; i++) {
        int numa = n->dev[fit[i]].numa, m = 0;
        for (int j = 0; j <= i; j++)
            if (n->dev[fit[j]].numa == numa)
                out[m++] = fit[j];
        if (m == k)
            return true;
    }
    return false;
}

/* Does container c's runtime priority prefer device d of the node? High
 * (0): it holds no high-priority container; low (1): it holds one. */
static inline bool priority_prefers(const struct policy_node *node, const struct policy_ctr *c,
                                    int d)
{
    return c->priority == 0 ? node->high[d] == 0 : node->high[d] > 0;
}

/* priority_cards: the devices the container's priority prefers first, each
 * part in the order it had (stable). Returns how many are preferred. */
static int priority_order(const struct policy_node *node, const struct policy_ctr *c, uint8_t *fit,
                          int nfit)
{
    uint8_t rest[POLICY_MAX_DEVICES];
    int np = 0, nr = 0;
    for (int i = 0; i < nfit; i++) {
        if (priority_prefers(node, c, fit[i]))
            fit[np++] = fit[i];
        else
            rest[nr++] = fit[i];
    }
    memcpy(fit + np, rest, (size_t)nr);
    return np;
}

/* Fit one container on usage u. Picks are appended to pl. */
static bool fit_container(struct fitctx *fc, int ci, const struct policy_usage *u,
                          struct policy_placement *pl, struct policy_reasons *why)
{
    const struct policy_node *node = fc->node;
    const struct policy_ctr *c = &fc->pod->ctr[ci];
    int k = c->nums, n = node->ndev, nfit = 0;
    double score[POLICY_MAX_DEVICES];
    uint8_t fit[POLICY_MAX_DEVICES], chosen[POLICY_MAX_GPUS];

    fc->first = policy_device_backends[0];
    fc->own = c->backend ? c->backend : fc->first;
    int nown = 0; /* HAMi counts the devices of the request's vendor only */
    fc->check_vendor = !node->vendor;
    if (node->vendor) /* one vendor: all of the node's devices or none (the NVIDIA path) */
        nown = node->vendor == fc->own ? n : 0;
    for (int i = 0; fc->check_vendor && i < n && k <= n && nown < k; i++)
        nown += own_device(fc, &node->dev[i]);
    if (k > nown || k > POLICY_MAX_GPUS || pl->npick + k > POLICY_MAX_PICKS) {
        why->cnt[POLICY_R_NODE_INSUFFICIENT_DEVICE]++;
        return false;
    }
    if (fc->own->mode_not_fit && fc->pod->vgpu_mode &&
        strcmp(fc->pod->vgpu_mode, fc->own->mode_not_fit) == 0) {
        why->cnt[POLICY_R_MODE_NOT_FIT]++; /* HAMi: before any device, once */
        return false;
    }
    for (int i = 0; i < n; i++) {
        int r = check_device(fc, c, &node->dev[i], &u[i]);
        if (r >= 0) {
            why->cnt[r]++;
            continue;
        }
        score[i] = policy_device_score(&node->dev[i], &u[i], c, &fc->w);
        fit[nfit++] = (uint8_t)i;
    }
    if (nfit < k) {
        if (nfit > 0)
            why->cnt[POLICY_R_ALLOCATED_CARDS_INSUFFICIENT] = (uint16_t)nfit;
        return false;
    }
    bool prio = fc->np->priority_cards && node->high && (c->priority == 0 || c->priority == 1) &&
                !fc->gpu.topology && !fc->pod->numa_bind;
    bool need_all = fc->gpu.topology || fc->pod->numa_bind || fc->np->pick || fc->own->pick || prio;
    order_devices(fc, score, fit, nfit, need_all ? nfit : k);
    int npick = nfit; /* the node policy's pick chooses among the first npick */
    if (prio) {
        int np = priority_order(node, c, fit, nfit);
        npick = np >= k ? np : nfit;
    }
    int got = fc->own->pick ? fc->own->pick(fc->own, node, fit, nfit, k, chosen) : -1;
    if (got >= 0 && got < k) { /* no k of them may go together (Ascend 910C's pairs) */
        why->cnt[POLICY_R_ALLOCATED_CARDS_INSUFFICIENT] = (uint16_t)nfit;
        return false;
    } else if (got >= 0) {
        /* the row chose */
    } else if (fc->pod->numa_bind) {
        if (!numa_pick(node, fit, nfit, k, chosen)) {
            why->cnt[POLICY_R_NUMA_NOT_FIT] += (uint16_t)nfit;
            return false;
        }
    } else if (fc->gpu.topology && nfit > k) {
        if (k == 1)
            topo_single(node, fit, nfit, chosen);
        else
            topo_multi(node, fit, nfit, k, chosen);
    } else if (fc->np->pick && npick > k) {
        fc->np->pick(node, u, fc->pod, ci, fit, npick, k, chosen, fc->opts);
    } else {
        memcpy(chosen, fit, (size_t)k);
    }
    for (int i = 0; i < k; i++) {
        struct policy_pick *p = &pl->pick[pl->npick++];
        const struct policy_device *d = &node->dev[chosen[i]];
        p->ctr = (uint8_t)ci;
        p->dev = chosen[i];
        p->cores = c->cores;
        p->mem = policy_ctr_mem(c, d);
        p->mig = p->mig_start = 0;
        if (policy_mig_card(d)) { /* the instance takes its profile's memory and cores */
            int start, m = policy_mig_choose(d, u[chosen[i]].mig, p->mem, &start);
            VS_ASSERT(m >= 0);
            p->mem = d->mig[m].mem;
            p->cores = d->mig[m].core;
            p->mig = (uint8_t)(m + 1);
            p->mig_start = (uint8_t)start;
        }
        fc->pod_mem += p->mem;
        fc->pod_cores += p->cores;
    }
    if (over_quota(fc, 0, 0)) { /* a MIG instance takes its profile's size */
        why->cnt[POLICY_R_QUOTA_NOT_FIT] = (uint16_t)nfit;
        return false;
    }
    return true;
}

static void add_picks(const struct policy_node *node, struct policy_usage *u,
                      const struct policy_placement *pl, int from)
{
    for (int i = from; i < pl->npick; i++) {
        const struct policy_pick *p = &pl->pick[i];
        u[p->dev].used++;
        u[p->dev].cores += p->cores;
        u[p->dev].mem += p->mem;
        if (p->mig) {
            const struct policy_mig_profile *pr = &node->dev[p->dev].mig[p->mig - 1];
            u[p->dev].mig += policy_mig_instance(p->mig_start, policy_mig_size(pr, p->mig_start));
        }
    }
}

static void take_max(struct policy_usage *dst, const struct policy_usage *src, int n)
{
    for (int i = 0; i < n; i++) {
        if (src[i].used > dst[i].used)
            dst[i].used = src[i].used;
        if (src[i].cores > dst[i].cores)
            dst[i].cores = src[i].cores;
        if (src[i].mem > dst[i].mem)
            dst[i].mem = src[i].mem;
        if (src[i].mig != dst[i].mig) /* 0 on every card but a MIG one */
            dst[i].mig = dst[i].mig && src[i].mig ? policy_mig_max(dst[i].mig, src[i].mig)
                                                  : dst[i].mig | src[i].mig;
    }
}

static bool host_fits(const struct policy_pod *pod, const struct policy_node *node,
                      struct policy_reasons *why)
{
    if (node->cpu_milli > 0 && node->cpu_milli - node->cpu_used_milli < pod->cpu_milli)
        why->cnt[POLICY_R_NODE_INSUFFICIENT_CPU]++;
    else if (node->mem_mib > 0 && node->mem_mib - node->mem_used_mib < pod->mem_mib)
        why->cnt[POLICY_R_NODE_INSUFFICIENT_MEMORY]++;
    else
        return true;
    return false;
}

const struct policy_node_policy *policy_node_policy_of(const struct policy_pod *pod,
                                                       const struct policy_opts *opts)
{
    return pod->node_policy ? pod->node_policy : opts->node_policy;
}

/* Put the picks back in container order (fitting sidecars first moves
 * theirs ahead); stable, so each container's own order stays. */
static void sort_picks(struct policy_placement *pl)
{
    for (int i = 1; i < pl->npick; i++) {
        struct policy_pick p = pl->pick[i];
        int j = i;
        for (; j > 0 && pl->pick[j - 1].ctr > p.ctr; j--)
            pl->pick[j] = pl->pick[j - 1];
        pl->pick[j] = p;
    }
}

/* Fit container i on usage u; when it fits, dst becomes u with its picks
 * (u copied first unless it is dst: a node where it fails copies
 * nothing). */
static bool fit_add(struct fitctx *fc, int i, const struct policy_usage *u,
                    struct policy_usage *dst, struct policy_placement *pl,
                    struct policy_reasons *why)
{
    int from = pl->npick;
    if (!fit_container(fc, i, u, pl, why))
        return false;
    if (u != dst)
        memcpy(dst, u, (size_t)fc->node->ndev * sizeof *dst);
    add_picks(fc->node, dst, pl, from);
    return true;
}

/* Fit every container on usage `base`; fills pl->pick and pl->after.
 * HAMi's rule (its sidecar design): sidecars and app containers run
 * together, so they add up; each plain init container runs alone on top of
 * the sidecars; per device the larger of the two. Sidecars are fitted
 * first, so that every init container sees them. */
static bool fit_on(const struct policy_pod *pod, const struct policy_node *node,
                   const struct policy_opts *opts, const struct policy_usage *base,
                   struct typememo *memo, struct policy_placement *pl, struct policy_reasons *why)
{
    /* Every field set one by one: an initializer zeroes the whole struct
     * first, which past 80 bytes gcc does with a rep stos costing more per
     * node than the rest of the set-up (policy_bench: 5 % on every case). */
    struct fitctx fc;
    fc.memo = memo;
    fc.opts = opts;
    fc.np = policy_node_policy_of(pod, opts);
    fc.pod = pod;
    fc.node = node;
    fc.gpu = pod->gpu_set ? pod->gpu : opts->gpu;
    fc.w = pod->w;
    fc.pod_mem = fc.pod_cores = 0;
    fc.own = fc.first = policy_device_backends[0]; /* per container in fit_container */
    fc.check_vendor = true;
    struct policy_usage work[POLICY_MAX_DEVICES], side[POLICY_MAX_DEVICES];
    size_t bytes = (size_t)node->ndev * sizeof work[0];
    int ninit = pod->ninit < pod->nctr ? pod->ninit : pod->nctr;
    bool moved = false;

    memset(why, 0, sizeof *why);
    why->ndev = (uint16_t)node->ndev;
    pl->npick = 0;
    if (fc.w.slot == 0 && fc.w.core == 0 && fc.w.mem == 0)
        fc.w = (struct policy_weights){1, 1, 1};
    if (opts->check_host && !host_fits(pod, node, why))
        return false;
    const struct policy_usage *start = base; /* base plus the sidecars */
    for (int i = 0; i < ninit; i++) {
        if (!pod->ctr[i].sidecar || pod->ctr[i].nums == 0)
            continue;
        if (start == base) { /* copies only for a pod that has sidecars (not the hot path) */
            memcpy(side, base, bytes);
            start = side;
        }
        moved = moved || i > 0;
        if (!fit_add(&fc, i, side, side, pl, why))
            return false;
    }
    /* The quota counts as usage does (HAMi's collapse): sidecars plus the
     * larger of each plain init container and the app containers. */
    int64_t side_mem = fc.pod_mem, side_cores = fc.pod_cores;
    bool inits = false; /* a plain init container took something */
    for (int i = 0; i < ninit; i++) {
        if (pod->ctr[i].sidecar || pod->ctr[i].nums == 0)
            continue;
        fc.pod_mem = side_mem;
        fc.pod_cores = side_cores;
        if (!inits)
            memcpy(pl->after, start, bytes);
        if (!fit_add(&fc, i, start, work, pl, why))
            return false;
        take_max(pl->after, work, node->ndev);
        inits = true;
    }
    /* Without a plain init container the app containers' usage is the
     * maximum itself: they fit straight into pl->after (the hot path of a
     * filter; on a failure it is left part-filled: policy_fit's *out),
     * from start until the first of them fits. */
    struct policy_usage *apps = inits ? work : pl->after;
    const struct policy_usage *cur = start;
    fc.pod_mem = side_mem;
    fc.pod_cores = side_cores;
    for (int i = ninit; i < pod->nctr; i++) {
        if (pod->ctr[i].nums == 0)
            continue;
        if (!fit_add(&fc, i, cur, apps, pl, why))
            return false;
        cur = apps;
    }
    if (cur != apps) /* no app container asks a device */
        memcpy(apps, cur, bytes);
    if (inits)
        take_max(pl->after, work, node->ndev);
    if (moved)
        sort_picks(pl);
    return true;
}

/* Does the placement put a high-priority container on a device that holds
 * another? */
static bool shares_high(const struct policy_pod *pod, const struct policy_node *node,
                        const struct policy_placement *pl)
{
    for (int i = 0; i < pl->npick; i++)
        if (pod->ctr[pl->pick[i].ctr].priority == 0 && node->high[pl->pick[i].dev] > 0)
            return true;
    return false;
}

static bool fit_scored(const struct policy_pod *pod, const struct policy_node *node,
                       const struct policy_opts *opts, struct typememo *memo,
                       struct policy_placement *out, struct policy_reasons *why)
{
    if (node->ndev > POLICY_MAX_DEVICES || node->ndev < 0) {
        memset(why, 0, sizeof *why);
        why->cnt[POLICY_R_NODE_INSUFFICIENT_DEVICE] = 1;
        return false;
    }
    if (!fit_on(pod, node, opts, node->use, memo, out, why))
        return false;
    const struct policy_node_policy *np = policy_node_policy_of(pod, opts);
    out->score = np->score(node, out, pod, opts);
    if (out->npick && np->score == policy_score_before) { /* HAMi's node score: the row's part */
        const struct policy_device_backend *b = node->dev[out->pick[0].dev].backend;
        if (b && b->node_score)
            out->score += b->node_score(b, node, out);
    }
    if (np->priority_cards && node->high && shares_high(pod, node, out))
        out->score += np->prefer_low ? PRIORITY_PENALTY : -PRIORITY_PENALTY;
    return true;
}

bool policy_fit(const struct policy_pod *pod, const struct policy_node *node,
                const struct policy_opts *opts, struct policy_placement *out,
                struct policy_reasons *why)
{
    struct typememo memo = {.n = 0};
    return fit_scored(pod, node, opts, &memo, out, why);
}

bool policy_unresolvable(const struct policy_pod *pod, const struct policy_node *node,
                         const struct policy_opts *opts)
{
    static const struct policy_usage zero[POLICY_MAX_DEVICES];
    struct policy_placement pl;
    struct policy_reasons why;
    struct typememo memo = {.n = 0};
    struct policy_pod p = *pod;
    p.quota_mem = p.quota_cores = -1; /* evicting pods frees quota too */
    if (node->ndev > POLICY_MAX_DEVICES || node->ndev < 0)
        return true;
    return !fit_on(&p, node, opts, zero, &memo, &pl, &why);
}

static uint64_t tie_key(const char *name, uint64_t seed)
{
    return hash_mix(hash_fnv_str(HASH_FNV_INIT, name) ^ seed);
}

int policy_pick_best(const struct policy_pod *pod, const struct policy_node *const *nodes, int n,
                     const struct policy_opts *opts, const struct policy_verdict *verdicts)
{
    const struct policy_node_policy *np = policy_node_policy_of(pod, opts);
    int bi = -1;
    uint64_t bkey = 0;
    for (int i = 0; i < n; i++) {
        const struct policy_verdict *v = &verdicts[i];
        if (!v->fits)
            continue;
        double bs = bi >= 0 ? verdicts[bi].score : 0;
        bool better = bi < 0;
        uint64_t key = 0;
        if (!better && v->score != bs)
            better = np->prefer_low ? v->score < bs : v->score > bs;
        else if (!better)
            better = (key = tie_key(nodes[i]->name, opts->seed)) < bkey;
        if (better) {
            bi = i;
            bkey = key ? key : tie_key(nodes[i]->name, opts->seed);
        }
    }
    return bi;
}

int policy_choose(const struct policy_pod *pod, const struct policy_node *const *nodes, int n,
                  const struct policy_opts *opts, struct policy_verdict *verdicts,
                  struct policy_placement *best)
{
    struct typememo memo = {.n = 0};
    for (int i = 0; i < n; i++) {
        struct policy_verdict *v = &verdicts[i];
        v->fits = fit_scored(pod, nodes[i], opts, &memo, best, &v->why);
        v->score = v->fits ? best->score : 0;
    }
    int k = policy_pick_best(pod, nodes, n, opts, verdicts);
    if (k >= 0) /* the placement of the chosen node, again */
        fit_scored(pod, nodes[k], opts, &memo, best, &verdicts[k].why);
    return k;
}

/* The string and its NUL, so "ab","c" and "a","bc" differ; NULL differs from "". */
static uint64_t hash_str(uint64_t h, const char *s)
{
    return s ? hash_fnv(h, s, strlen(s) + 1) : hash_fnv(h, "\xff", 1);
}

uint64_t policy_pod_signature(const struct policy_pod *pod, const struct policy_opts *opts)
{
    uint64_t h = HASH_FNV_INIT;
    for (int i = 0; i < pod->nctr && i < POLICY_MAX_CONTAINERS; i++) {
        const struct policy_ctr *c = &pod->ctr[i];
        int32_t v[6] = {c->nums, c->mem, c->mem_pct, c->cores, c->sidecar, c->priority};
        h = hash_fnv(h, v, sizeof v);
        const void *b = policy_ctr_backend(c);
        h = hash_fnv(h, &b, sizeof b);
    }
    int64_t nums[6] = {pod->nctr,    pod->ninit,     pod->cpu_milli,
                       pod->mem_mib, pod->quota_mem, pod->quota_cores};
    h = hash_fnv(h, nums, sizeof nums);
    h = hash_str(h, pod->use_type);
    h = hash_str(h, pod->nouse_type);
    h = hash_str(h, pod->use_uuid);
    h = hash_str(h, pod->nouse_uuid);
    h = hash_str(h, pod->vgpu_mode);
    const struct policy_gpu_policy *g = pod->gpu_set ? &pod->gpu : &opts->gpu;
    uint8_t flags[7] = {pod->numa_bind, g->nkeys, g->keys[0], g->keys[1],
                        g->keys[2],     g->mutex, g->topology};
    h = hash_fnv(h, flags, sizeof flags);
    h = hash_fnv(h, &pod->w, sizeof pod->w);
    const struct policy_node_policy *np = policy_node_policy_of(pod, opts);
    h = hash_fnv(h, &np, sizeof np);
    uint64_t tail[2] = {np && np->learns ? opts->state_epoch : 0, opts->check_host};
    return hash_mix(hash_fnv(h, tail, sizeof tail));
}

int policy_priority(const struct policy_pod *pod, const struct policy_opts *opts, double score)
{
    return policy_node_policy_of(pod, opts)->priority(score);
}

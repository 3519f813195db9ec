/* bound.c: the linear relaxation of bound.h, built and solved. */
#include "bench/bound.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "bench/lp.h"
#include "policy/policy.h"

#define MAX_CLASSES 64
#define NFUNCS      11 /* U_e for e = 0, 0.05, ..., 0.5 (U_0 is the size) */
#define PER_SET     (NFUNCS + 2)
#define MAX_PIVOTS  200000

#define SHARE_SIZES 64 /* share sizes bound_share_floor takes */
/* ... and fullest card contents of them: the LP's rows, whose tableau is
 * rows^2 doubles (136 MB at the limit; the openb traces' 20 sizes make at
 * most 1,871 contents, 28 MB) */
#define SHARE_CONFIGS 4096

struct cls {
    const char *model;
    int64_t cpu, mem;
    int gpus;
    double count;
};

struct kind {
    struct bound_task t;
    uint64_t hosts; /* classes that, empty, could host one */
};

/* Any model, or one the engine's use-gputype rule allows. */
static bool allowed(const char *spec, const char *model)
{
    return !spec || !*spec || policy_type_listed(spec, model);
}

static int classes(const struct bound_node *nodes, int n, struct cls *c)
{
    int nc = 0;
    for (int i = 0; i < n; i++) {
        const struct bound_node *x = &nodes[i];
        int k = 0;
        while (k < nc && !(strcmp(c[k].model, x->model) == 0 && c[k].cpu == x->cpu_milli &&
                           c[k].mem == x->mem_mib && c[k].gpus == x->gpus))
            k++;
        if (k == MAX_CLASSES)
            return -1;
        if (k == nc)
            c[nc++] = (struct cls){x->model, x->cpu_milli, x->mem_mib, x->gpus, 0};
        c[k].count++;
    }
    return nc;
}

static bool same_task(const struct bound_task *a, const struct bound_task *b)
{
    return a->cpu_milli == b->cpu_milli && a->mem_mib == b->mem_mib && a->num_gpu == b->num_gpu &&
           a->milli == b->milli && strcmp(a->spec ? a->spec : "", b->spec ? b->spec : "") == 0;
}

/* Group the GPU tasks into kinds with their host classes; kinds no class
 * can host are left out (they are never placed). */
static int kinds(const struct bound_task *tasks, int n, const struct cls *c, int nc,
                 struct kind *out)
{
    int nk = 0;
    for (int i = 0; i < n; i++) {
        struct bound_task t = tasks[i];
        if (t.num_gpu <= 0 || t.count <= 0)
            continue;
        if (t.num_gpu > 1 || t.milli <= 0 || t.milli > POLICY_MILLI)
            t.milli = POLICY_MILLI;
        int k = 0;
        while (k < nk && !same_task(&out[k].t, &t))
            k++;
        if (k < nk) {
            out[k].t.count += t.count;
            continue;
        }
        uint64_t hosts = 0;
        for (int j = 0; j < nc; j++)
            if (c[j].gpus >= t.num_gpu && c[j].cpu >= t.cpu_milli && c[j].mem >= t.mem_mib &&
                allowed(t.spec, c[j].model))
                hosts |= 1ULL << j;
        if (hosts)
            out[nk++] = (struct kind){t, hosts};
    }
    return nk;
}

/* U_e of one task, in GPUs. */
static double dff(const struct bound_task *t, int f)
{
    if (t->num_gpu > 1 || t->milli >= POLICY_MILLI)
        return t->num_gpu;
    double s = t->milli / (double)POLICY_MILLI, e = 0.05 * f;
    return f == 0 ? s : s > 1 - e ? 1 : s < e ? 0 : s;
}

/* The distinct host sets, and the set of every class. */
static int host_sets(const struct kind *k, int nk, uint64_t *sets)
{
    int ns = 0;
    uint64_t all = 0;
    for (int i = 0; i <= nk; i++) {
        uint64_t h = i < nk ? k[i].hosts : all;
        all |= h;
        int s = 0;
        while (s < ns && sets[s] != h)
            s++;
        if (s == ns)
            sets[ns++] = h;
    }
    return ns;
}

/* Rows PER_SET at a time: tasks that only fit in the set, against its
 * GPUs (under each U_e), CPU and memory; each row scaled to capacity 1. */
static void fill_rows(const struct kind *k, int nk, const struct cls *c, int nc, uint64_t set,
                      double *a)
{
    double gpus = 0, cpu = 0, mem = 0;
    for (int j = 0; j < nc; j++)
        if (set >> j & 1) {
            gpus += c[j].count * c[j].gpus;
            cpu += c[j].count * (double)c[j].cpu;
            mem += c[j].count * (double)c[j].mem;
        }
    for (int i = 0; i < nk; i++) {
        if ((k[i].hosts & ~set) != 0)
            continue;
        for (int f = 0; f < NFUNCS; f++)
            a[(size_t)f * nk + i] = dff(&k[i].t, f) / gpus;
        a[(size_t)NFUNCS * nk + i] = cpu > 0 ? (double)k[i].t.cpu_milli / cpu : 0;
        a[(size_t)(NFUNCS + 1) * nk + i] = mem > 0 ? (double)k[i].t.mem_mib / mem : 0;
    }
}

double bound_allocation(const struct bound_node *nodes, int nnodes, const struct bound_task *tasks,
                        int ntasks)
{
    struct cls c[MAX_CLASSES];
    int nc = nnodes > 0 ? classes(nodes, nnodes, c) : -1;
    if (nc < 0 || ntasks < 0)
        return -1;
    struct kind *k = mem_alloc(sizeof *k * (size_t)(ntasks + 1));
    uint64_t *sets = mem_alloc(sizeof *sets * (size_t)(ntasks + 2));
    int nk = kinds(tasks, ntasks, c, nc, k), ns = host_sets(k, nk, sets);
    double result = 0;
    if (nk > 0) {
        int rows = ns * PER_SET;
        double *a = mem_zalloc(sizeof *a * (size_t)rows * (size_t)nk);
        double *b = mem_alloc(sizeof *b * (size_t)rows), *y = mem_alloc(sizeof *y * (size_t)rows);
        double *cost = mem_alloc(sizeof *cost * (size_t)nk), *u = mem_alloc(sizeof *u * (size_t)nk);
        for (int s = 0; s < ns; s++)
            fill_rows(k, nk, c, nc, sets[s], &a[(size_t)s * PER_SET * nk]);
        for (int r = 0; r < rows; r++)
            b[r] = 1;
        for (int i = 0; i < nk; i++) {
            cost[i] = k[i].t.num_gpu * k[i].t.milli / (double)POLICY_MILLI;
            u[i] = k[i].t.count;
        }
        struct lp p = {rows, nk, a, b, cost, u};
        lp_solve(&p, y, NULL, MAX_PIVOTS);
        result = (double)POLICY_MILLI * lp_dual_bound(&p, y);
        free(a);
        free(b);
        free(y);
        free(cost);
        free(u);
    }
    free(k);
    free(sets);
    return result;
}

/* The arrived one-GPU shares by size (milli-GPU), counts rounded. */
static void shares_wanted(const struct bound_task *tasks, int ntasks, double *want)
{
    for (int i = 0; i < ntasks; i++)
        if (tasks[i].num_gpu == 1 && tasks[i].milli > 0 && tasks[i].milli < POLICY_MILLI &&
            tasks[i].count > 0)
            want[tasks[i].milli] += floor(tasks[i].count + 0.5);
}

double bound_share_waste(const struct bound_task *tasks, int ntasks)
{
    static_assert(POLICY_MILLI == 1000, "the tables below are per milli-GPU");
    double want[POLICY_MILLI] = {0}, room[POLICY_MILLI] = {0}; /* GPUs open with r free */
    shares_wanted(tasks, ntasks, want);
    for (int s = POLICY_MILLI - 1; s > 0; s--) {
        while (want[s] > 0) {
            int r = s;
            while (r < POLICY_MILLI && room[r] == 0)
                r++;
            if (r == POLICY_MILLI) { /* no open GPU holds it: open one (all, past half a card) */
                double k = 2 * s > POLICY_MILLI ? want[s] : 1;
                room[POLICY_MILLI - s] += k;
                want[s] -= k;
                continue;
            }
            /* one at a time while what is left could take another (it is then the best fit) */
            double k = r - s >= s ? 1 : want[s] < room[r] ? want[s] : room[r];
            room[r] -= k;
            room[r - s] += k;
            want[s] -= k;
        }
    }
    double waste = 0;
    for (int r = 1; r < POLICY_MILLI; r++)
        waste += room[r] * r;
    return waste;
}

/* The fullest contents of one card from share sizes size[at..] (largest
 * first) in room milli-GPU, the counts of size[0..at) in cnt: one row of
 * nsz counts each into a from row n on, no size fitting in what is left
 * (a card with less could take one more, so it never prices higher).
 * Returns the rows written so far, or -1 past SHARE_CONFIGS. */
static int fullest(const int *size, int nsz, int at, int room, int *cnt, double *a, int n)
{
    if (at == nsz) {
        if (room >= size[nsz - 1])
            return n;
        if (n == SHARE_CONFIGS)
            return -1;
        for (int j = 0; j < nsz; j++)
            a[(size_t)n * nsz + j] = cnt[j];
        return n + 1;
    }
    for (cnt[at] = room / size[at]; cnt[at] >= 0 && n >= 0; cnt[at]--)
        n = fullest(size, nsz, at + 1, room - cnt[at] * size[at], cnt, a, n);
    return n;
}

/* sum n_j y_j over the largest content price (at least 1) of the rows of
 * a: with y scaled so, every card prices at most 1. */
static double certified(const double *a, int rows, int nsz, const double *n, const double *y)
{
    double worst = 1, sum = 0;
    for (int r = 0; r < rows; r++) {
        double price = 0;
        for (int j = 0; j < nsz; j++)
            price += a[(size_t)r * nsz + j] * fmax(y[j], 0);
        worst = fmax(worst, price);
    }
    for (int j = 0; j < nsz; j++)
        sum += n[j] * fmax(y[j], 0);
    return sum / worst;
}

double bound_share_floor(const struct bound_task *tasks, int ntasks)
{
    double want[POLICY_MILLI] = {0}, n[SHARE_SIZES], sum = 0; /* sum: milli-GPU */
    int size[SHARE_SIZES], cnt[SHARE_SIZES], nsz = 0;
    shares_wanted(tasks, ntasks, want);
    for (int s = POLICY_MILLI - 1; s > 0; s--) {
        if (want[s] == 0)
            continue;
        if (nsz == SHARE_SIZES)
            return -1;
        size[nsz] = s;
        n[nsz++] = want[s];
        sum += want[s] * s;
    }
    if (nsz == 0)
        return 0;
    double *a = mem_alloc(sizeof *a * SHARE_CONFIGS * (size_t)nsz);
    int rows = fullest(size, nsz, 0, POLICY_MILLI, cnt, a, 0);
    double result = -1;
    if (rows > 0) {
        double *b = mem_alloc(sizeof *b * (size_t)rows), *y = mem_alloc(sizeof *y * (size_t)rows);
        double u[SHARE_SIZES], price[SHARE_SIZES];
        for (int r = 0; r < rows; r++)
            b[r] = 1;
        for (int j = 0; j < nsz; j++)
            u[j] = 1; /* a card of one share prices it at most 1 */
        struct lp p = {rows, nsz, a, b, n, u};
        lp_solve(&p, y, price, MAX_PIVOTS);
        /* whole cards, never fewer than the shares' sum fills, less the sum */
        double cards =
            fmax(ceil(certified(a, rows, nsz, n, price) - 1e-6), ceil(sum / POLICY_MILLI - 1e-9));
        result = cards * POLICY_MILLI - sum;
        free(b);
        free(y);
    }
    free(a);
    return result;
}

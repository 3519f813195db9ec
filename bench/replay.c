/* vgpu-replay: placement quality on the openb production trace.
 *
 * The experiment of ../shared/data/openb/README.md (Weng et al., ATC '23):
 * the trace's tasks plus tasks drawn from it until the GPU demand would pass
 * tune x the capacity, shuffled; arrivals only; each task placed or dropped;
 * the share of GPU capacity allocated when the arrived demand reaches
 * 80/90/100/110/120 % of it, averaged over seeds.
 *
 * GPU tasks go through place_pod(): the cache, the engine and the
 * choose-and-reserve path /filter uses; a task placed is then bound with
 * place_bound(), as /bind does. CPU-only tasks are placed the way
 * kube-scheduler's default scoring would (NodeResourcesFit, LeastAllocated
 * over cpu and memory), since they never reach a GPU extender.
 *
 * A program that prints figures; never a test. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/init.h"
#include "base/log.h"
#include "base/mem.h"
#include "bench/bound.h"
#include "bench/stats.h"
#include "bench/trace.h"
#include "k8s/cache.h"
#include "place/place.h"
#include "policy/workload.h"

#define NPOINTS     5
#define GPU_MEM     1000 /* MiB per GPU: a percentage of it is the task's milli-GPU */
#define GPU_SLOTS   100  /* shares per GPU: never the binding limit (gpu_milli >= 10) */
#define CURVE_STEPS 1000

static const int points[NPOINTS] = {80, 90, 100, 110, 120};

enum source { SRC_TRACE, SRC_ONLINE };

/* What a run prints instead of placing (bench/bound.h): nothing (it
 * places), the bound, the packing estimate, the floor of the shares. */
enum limit { LIMIT_NONE, LIMIT_BOUND, LIMIT_PACKING, LIMIT_FLOOR };

struct args {
    const char *nodes, *pods, *policy, *gpu_policy, *curve;
    enum workload_measure measure;
    bool measure_set; /* --measure given: the trace's distribution only */
    enum source source;
    bool dump, fgd; /* fgd: --policy fgd */
    enum limit limit;
    int seeds;
    int scale;   /* --scale: nodes and tasks this many times (trace_scale) */
    int threads; /* --filter-threads: place_opts.filter_threads */
    uint64_t seed;
    double tune;
    double vendors;                /* --vendors: % of nodes and of GPU tasks that are Hygon DCU */
    double restart;                /* --restart[-seeded]: % of arrival; 0: none */
    bool restart_seeded;           /* the new learner counts the pods placed so far */
    const char *seed_file;         /* --workload-file: online, seeded first (the service's) */
    const char *out_file;          /* --workload-out: the learner's workload at the end */
    struct workload_params params; /* --param name=value; the service's defaults */
};

/* ---- the workload of one seed ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int64_t demand(const struct task *k)
{
    return (int64_t)k->num_gpu * k->milli;
}

/* The trace's tasks, plus draws until the demand would pass tune x the
 * capacity, shuffled. Returns a new array of indexes into t->tasks. */
static int *workload(const struct trace *t, double tune, uint64_t seed, int *n)
{
    uint64_t s = seed * 7919 + 1;
    int cap = t->ntasks * 2 + 16, k = 0;
    int *w = mem_alloc(sizeof *w * (size_t)cap);
    int64_t total = 0, limit = (int64_t)(tune * (double)t->capacity);
    for (int i = 0; i < t->ntasks; i++) {
        w[k++] = i;
        total += demand(&t->tasks[i]);
    }
    for (int tries = 0; tries < 10 * TRACE_MAX_TASKS && k < TRACE_MAX_TASKS; tries++) {
        int i = (int)(rng_next(&s) % (uint64_t)t->ntasks);
        if (total + demand(&t->tasks[i]) > limit)
            break;
        if (k == cap) {
            cap *= 2;
            w = mem_realloc(w, sizeof *w * (size_t)cap);
        }
        w[k++] = i;
        total += demand(&t->tasks[i]);
    }
    for (int i = k - 1; i > 0; i--) {
        int j = (int)(rng_next(&s) % (uint64_t)(i + 1)), x = w[i];
        w[i] = w[j];
        w[j] = x;
    }
    *n = k;
    return w;
}

/* ---- the cluster ---- */

/* The vendor of row i (a node of the list, a task of the trace) when pct %
 * of them are Hygon DCU, spread evenly (every other one at 50); NULL:
 * NVIDIA, the first row. A DCU node keeps its model name, so a task bound
 * to models finds them on either vendor. */
static const struct policy_device_backend *vendor_of(int i, double pct)
{
    bool dcu = floor((i + 1) * pct / 100) > floor(i * pct / 100);
    return dcu ? policy_device_backend_find("hygon") : NULL;
}

static struct model_inventory *inventory(const struct node_row *r,
                                         const struct policy_device_backend *b)
{
    struct model_inventory *inv = mem_zalloc(sizeof *inv);
    size_t per = strlen(r->name) + 8, need = (size_t)r->gpus * per + strlen(r->model) + 16;
    char *s = inv->strings = mem_zalloc(need);
    inv->name = mem_strdup(r->name);
    inv->ndev = r->gpus;
    inv->dev = mem_zalloc(sizeof *inv->dev * (size_t)(r->gpus ? r->gpus : 1));
    inv->cpu_milli = r->cpu;
    inv->mem_mib = r->mem;
    inv->has_register = true;
    char *type = s;
    s += sprintf(s, "%s", r->model) + 1;
    char *mode = s;
    s += sprintf(s, "hami-core") + 1;
    for (int i = 0; i < r->gpus; i++) {
        inv->dev[i] = (struct policy_device){.uuid = s,
                                             .type = type,
                                             .mode = mode,
                                             .index = i,
                                             .count = GPU_SLOTS,
                                             .devcore = 100,
                                             .devmem = GPU_MEM,
                                             .health = true,
                                             .backend = b};
        s += sprintf(s, "%s-%d", r->name, i) + 1;
    }
    return inv;
}

/* A GPU task as the pod the README maps it to, asking devices of b. */
static void task_pod(const struct task *k, const char *uid, const struct policy_device_backend *b,
                     struct policy_pod *p)
{
    memset(p, 0, sizeof *p);
    p->uid = p->name = uid;
    p->ns = "openb";
    p->nctr = 1;
    int pct = k->num_gpu == 1 ? k->milli / 10 : 100;
    p->ctr[0] = (struct policy_ctr){.name = "task",
                                    .nums = k->num_gpu,
                                    .mem_pct = pct,
                                    .cores = pct,
                                    .backend = b,
                                    .priority = -1};
    p->use_type = k->spec[0] ? k->spec : NULL;
    p->w = (struct policy_weights){1, 1, 1};
    p->cpu_milli = k->cpu;
    p->mem_mib = k->mem;
    p->quota_mem = p->quota_cores = -1;
}

/* The shape of a task as the workload counts it. */
static void task_shape(const struct task *k, const struct policy_device_backend *b,
                       struct workload_shape *s)
{
    struct policy_pod p;
    task_pod(k, "", b, &p);
    if (k->num_gpu == 0)
        p.nctr = 0;
    workload_shape_of(&p, s);
}

/* The trace's own distribution, as the paper's FGD uses: every task of the
 * trace file, weight 1. */
static struct workload *trace_workload(const struct trace *t, enum workload_measure m,
                                       const struct workload_params *p, double vendors)
{
    struct workload *w = workload_create(1.0);
    struct workload_shape s;
    workload_set_measure(w, m);
    workload_set_params(w, p);
    for (int i = 0; i < t->ntasks; i++) {
        task_shape(&t->tasks[i], vendor_of(i, vendors), &s);
        workload_add(w, &s, 1.0);
    }
    return w;
}

/* Scarcity is measured against the cluster's own nodes. */
static void set_scarcity(struct workload *w, struct cache *c, const struct trace *t)
{
    const struct policy_node **v = mem_alloc(sizeof *v * (size_t)t->nnodes);
    cache_rdlock(c);
    for (int i = 0; i < t->nnodes; i++)
        v[i] = cache_view(c, t->nodes[i].name);
    workload_set_scarcity(w, v, t->nnodes);
    cache_unlock(c);
    free(v);
}

/* kube-scheduler's LeastAllocated for a CPU-only task; returns the node
 * index or -1. Ties go to the lowest seeded hash, like a random pick. */
static int least_allocated(struct cache *c, const struct trace *t, const struct task *k,
                           uint64_t seed)
{
    double best = -1;
    uint64_t bkey = 0;
    int bi = -1;
    cache_rdlock(c);
    for (int i = 0; i < t->nnodes; i++) {
        const struct policy_node *v = cache_view(c, t->nodes[i].name);
        int64_t cpu = v->cpu_milli - v->cpu_used_milli - k->cpu;
        int64_t mem = v->mem_mib - v->mem_used_mib - k->mem;
        if (cpu < 0 || mem < 0)
            continue;
        double s = ((double)cpu / (double)v->cpu_milli + (double)mem / (double)v->mem_mib) / 2;
        s = floor(s * 100); /* kube-scheduler scores are integers 0..100 */
        uint64_t key = rng_next(&(uint64_t){seed ^ (uint64_t)i * 0x9e3779b97f4a7c15ULL});
        if (s > best || (s == best && key < bkey)) {
            best = s;
            bkey = key;
            bi = i;
        }
    }
    cache_unlock(c);
    return bi;
}

/* Diagnostics: does node v lack the host for another pod (under 4 cores or
 * 8 GiB free), so that its free GPUs are stranded? */
static bool host_poor(const struct policy_node *v)
{
    return v->cpu_milli - v->cpu_used_milli < 4000 || v->mem_mib - v->mem_used_mib < 8192;
}

#define DUMP_KINDS 16 /* groups of nodes the dumps tell apart */

/* The dumps' groups of nodes: by model, and by vendor on a mixed cluster
 * (a DCU node keeps its model's name). Past DUMP_KINDS groups the last
 * one, renamed "other", takes the rest. */
struct dump_kinds {
    const char *model[DUMP_KINDS];
    const struct policy_device_backend *vendor[DUMP_KINDS];
    int n;
};

/* The group of node v, listed as row r. */
static int dump_kind(struct dump_kinds *k, const struct node_row *r, const struct policy_node *v)
{
    const struct policy_device_backend *b = v->ndev > 0 ? v->dev[0].backend : NULL;
    for (int m = 0; m < k->n; m++)
        if (k->vendor[m] == b && strcmp(k->model[m], r->model) == 0)
            return m;
    if (k->n == DUMP_KINDS) {
        k->model[DUMP_KINDS - 1] = "other";
        k->vendor[DUMP_KINDS - 1] = NULL;
        return DUMP_KINDS - 1;
    }
    k->model[k->n] = r->model;
    k->vendor[k->n] = b;
    return k->n++;
}

/* Group m's name into buf: "G3", or "G3/hygon" for another vendor's. */
static const char *dump_kind_name(const struct dump_kinds *k, int m, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", k->model[m], k->vendor[m] ? "/" : "",
             k->vendor[m] ? k->vendor[m]->name : "");
    return buf;
}

/* Diagnostics: where the free GPU capacity sits at the end, by model. */
static void dump_state(struct cache *c, const struct trace *t)
{
    double free_by[DUMP_KINDS] = {0}, cpu_by[DUMP_KINDS] = {0}, starved[DUMP_KINDS] = {0};
    struct dump_kinds kinds = {.n = 0};
    char name[64];
    cache_rdlock(c);
    for (int i = 0; i < t->nnodes; i++) {
        const struct policy_node *v = cache_view(c, t->nodes[i].name);
        int m = dump_kind(&kinds, &t->nodes[i], v);
        double f = 0;
        for (int g = 0; g < v->ndev; g++)
            f += GPU_MEM - (double)v->use[g].mem;
        free_by[m] += f;
        cpu_by[m] += (double)(v->cpu_milli - v->cpu_used_milli);
        if (f > 0 && host_poor(v))
            starved[m] += f;
    }
    cache_unlock(c);
    for (int m = 0; m < kinds.n; m++)
        fprintf(stderr,
                "%-8s free GPU %7.1f  on nodes under 4 cores or 8 GiB free %7.1f  free cores "
                "%8.1f\n",
                dump_kind_name(&kinds, m, name, sizeof name), free_by[m] / POLICY_MILLI,
                starved[m] / POLICY_MILLI, cpu_by[m] / 1000);
}

#define DUMP_USED 6 /* the partly used cards' groups dump_used names */

/* Diagnostics (--dump), at 100 % arrival: the partly used cards grouped by
 * the share of a card in use (milli-GPU; cards[u] of them hold u), the
 * DUMP_USED groups with the most free capacity first, then the rest in
 * one sum: which shares the gaps are left beside (a card at 0.81 used
 * keeps a gap only a share of 0.19 or less fits). */
static void dump_used(const int *cards)
{
    bool named[GPU_MEM] = {false};
    double rest = 0;
    fprintf(stderr, "at 100 %%: partly used cards by share used (cards, free GPUs):");
    for (int k = 0; k < DUMP_USED; k++) {
        int best = -1;
        for (int u = 1; u < GPU_MEM; u++)
            if (!named[u] && cards[u] > 0 &&
                (best < 0 || cards[u] * (GPU_MEM - u) > cards[best] * (GPU_MEM - best)))
                best = u;
        if (best < 0)
            break;
        named[best] = true;
        fprintf(stderr, " %.3f: %d, %.2f;", (double)best / GPU_MEM, cards[best],
                (double)cards[best] * (GPU_MEM - best) / GPU_MEM);
    }
    for (int u = 1; u < GPU_MEM; u++)
        rest += named[u] ? 0 : (double)cards[u] * (GPU_MEM - u) / GPU_MEM;
    fprintf(stderr, " the rest %.2f\n", rest);
}

/* Diagnostics (--dump), at 100 % arrival: the cards the placed one-GPU
 * shares take (share_cards: every card in use but those one task holds
 * whole) against the fewest that could hold them (bound_share_floor over
 * the first n arrivals of w that were placed): the cards a better packing
 * of the same shares would have left to whole-GPU tasks. */
static void dump_share_cards(const struct trace *t, const int *w, const bool *placed, int n,
                             int share_cards)
{
    struct bound_task *k = mem_zalloc(sizeof *k * (size_t)t->ntasks);
    double shares = 0;
    for (int i = 0; i < t->ntasks; i++)
        k[i] = (struct bound_task){0, 0, t->tasks[i].num_gpu, t->tasks[i].milli, "", 0};
    for (int i = 0; i < n; i++)
        if (placed[i] && t->tasks[w[i]].num_gpu == 1 && t->tasks[w[i]].milli < POLICY_MILLI) {
            k[w[i]].count++;
            shares += t->tasks[w[i]].milli;
        }
    double room = bound_share_floor(k, t->ntasks), fewest = (room + shares) / POLICY_MILLI;
    free(k);
    fprintf(stderr, "at 100 %%: the one-GPU shares placed (%.1f GPUs) take %d cards; ",
            shares / POLICY_MILLI, share_cards);
    if (room < 0)
        fprintf(stderr, "too many share sizes to say how few could hold them\n");
    else
        fprintf(stderr, "the fewest that hold them: %.0f (%.0f more for whole GPUs)\n", fewest,
                share_cards - fewest);
}

/* Diagnostics (--dump), at 100 % arrival: the free GPU capacity by what
 * could still use it (whole cards, and of them those on nodes with under
 * 4 cores or 8 GiB free; gaps on partly used cards by size), beside the
 * one-GPU shares under 0.2 of a card that arrived (tiny, milli-GPU): only
 * they fit a gap under 0.2; then the partly used cards by share used
 * (dump_used) and the cards the shares placed so far (the first n
 * arrivals of w, placed) take (dump_share_cards). */
static void dump_gaps(struct cache *c, const struct trace *t, int64_t tiny, const int *w,
                      const bool *placed, int n)
{
    double whole = 0, starved = 0, gap[3] = {0};
    int cards[GPU_MEM] = {0}, share_cards = 0;
    cache_rdlock(c);
    for (int i = 0; i < t->nnodes; i++) {
        const struct policy_node *v = cache_view(c, t->nodes[i].name);
        bool poor = host_poor(v);
        for (int g = 0; g < v->ndev; g++) {
            double f = (GPU_MEM - (double)v->use[g].mem) / GPU_MEM;
            if (f >= 1) {
                whole++;
                starved += poor;
            } else if (f > 0) {
                gap[f < 0.2 ? 0 : f < 0.5 ? 1 : 2] += f;
                cards[v->use[g].mem]++;
            }
            share_cards += v->use[g].used > 1 || (v->use[g].used == 1 && f > 0);
        }
    }
    cache_unlock(c);
    fprintf(stderr,
            "at 100 %%: free GPUs %.1f of %.0f: whole cards %.0f (%.0f on nodes under 4 cores or "
            "8 GiB free), gaps under 0.2 %.1f, 0.2-0.5 %.1f, over 0.5 %.1f; shares under 0.2 "
            "arrived %.1f GPUs\n",
            whole + gap[0] + gap[1] + gap[2], (double)t->capacity / POLICY_MILLI, whole, starved,
            gap[0], gap[1], gap[2], (double)tiny / POLICY_MILLI);
    dump_used(cards);
    dump_share_cards(t, w, placed, n, share_cards);
}

/* Diagnostics (--dump), at arrival arr: the nodes of 4 or more GPUs with
 * every GPU free, by model (dump_kind), and of them those the engine would
 * fit task k on (pod, under o); k NULL: a progress line, else k just
 * failed. */
static void dump_idle(struct cache *c, const struct trace *t, const struct task *k,
                      const struct policy_pod *pod, const struct policy_opts *o, double arr)
{
    struct policy_placement *pl = k ? mem_alloc(sizeof *pl) : NULL;
    struct policy_reasons why;
    int idle[DUMP_KINDS] = {0}, fits = 0;
    struct dump_kinds kinds = {.n = 0};
    char name[64];
    cache_rdlock(c);
    for (int i = 0; i < t->nnodes; i++) {
        const struct policy_node *v = cache_view(c, t->nodes[i].name);
        if (t->nodes[i].gpus < 4)
            continue;
        int m = dump_kind(&kinds, &t->nodes[i], v);
        bool used = false;
        for (int g = 0; g < v->ndev; g++)
            used |= v->use[g].used > 0;
        idle[m] += !used;
        fits += !used && pl && policy_fit(pod, v, o, pl, &why);
    }
    cache_unlock(c);
    free(pl);
    if (k)
        fprintf(stderr,
                "failed at %6.2f %%: %d x %4d milli, cpu %lld mem %lld spec '%s'; idle nodes of "
                "4+ GPUs that fit it %d, by model:",
                arr, k->num_gpu, k->milli, (long long)k->cpu, (long long)k->mem, k->spec, fits);
    else
        fprintf(stderr, "arrival %6.2f %%: idle nodes of 4+ GPUs by model:", arr);
    for (int m = 0; m < kinds.n; m++)
        fprintf(stderr, " %s %d", dump_kind_name(&kinds, m, name, sizeof name), idle[m]);
    fprintf(stderr, "\n");
}

/* ---- one seed ---- */

/* Milliseconds each call took, one entry per call. */
struct times {
    double *ms;
    int n;
};

/* Room for n calls' times (at least one entry). */
static struct times times_make(int n)
{
    return (struct times){mem_alloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), 0};
}

struct outcome {
    double at[NPOINTS];
    double curve[CURVE_STEPS + 1]; /* allocation when arrival reaches i/10 % */
    int failed_gpu, failed_cpu, placed;
    int why[POLICY_R_COUNT];        /* failed GPU tasks that some node refused for this reason */
    struct times filter, cpu, bind; /* (run_seed's, owned) */
};

/* Task w[i] as the pod the service would see (uid "task-<i>"; uid is the
 * caller's, at least 32 bytes). */
static void arrival_pod(const struct trace *t, const struct args *a, const int *w, int i, char *uid,
                        struct policy_pod *p)
{
    const struct task *k = &t->tasks[w[i]];
    snprintf(uid, 32, "task-%d", i);
    task_pod(k, uid, vendor_of(w[i], a->vendors), p);
    if (k->num_gpu == 0)
        p->nctr = 0;
}

/* The service restarting at arrival i: a new placer on the same cluster,
 * its learner from nothing or, seeded, first counting the tasks placed so
 * far (placed[j] for j < i), as the watch's first list would hand it the
 * pods running. Returns the new placer; x is destroyed. */
static struct place *restart(struct place *x, struct cache *c, const struct place_opts *eo,
                             const struct trace *t, const struct args *a, const int *w,
                             const bool *placed, int i)
{
    place_destroy(x);
    x = place_create(c, eo);
    for (int j = 0; j < i && a->restart_seeded; j++) {
        char uid[32];
        struct policy_pod p;
        if (!placed[j])
            continue;
        arrival_pod(t, a, w, j, uid, &p);
        if (place_pod_matters(x, &p))
            place_observe(x, &p); /* as place_observe_bound counts the pods running */
    }
    return x;
}

/* --workload-out: x's workload as GET /workload writes it. */
static int write_workload(struct place *x, const char *path)
{
    struct buf b = BUF_INIT(64u << 20);
    int skipped, rc = place_workload_file(x, &b, &skipped);
    FILE *f = rc ? NULL : fopen(path, "w");
    if (!rc && (!f || fwrite(b.data, 1, b.len, f) != b.len))
        rc = ERR_IO;
    if (f && fclose(f))
        rc = ERR_IO;
    if (rc)
        fprintf(stderr, "vgpu-replay: --workload-out %s: %s\n", path,
                rc == ERR_IO ? strerror(errno) : err_name(rc));
    buf_free(&b);
    return rc;
}

/* One seed's run into o. Returns 0, or an error already printed (the
 * --workload-file or --workload-out file). */
static int run_seed(const struct trace *t, const struct args *a, uint64_t seed, struct outcome *o)
{
    struct cache *c = cache_create();
    struct place_opts eo = {.mode = PLACE_SINGLE, .ttl = 1e12, .defaults = {.mem_factor = 1}};
    char err[256];
    int n = 0, *w = workload(t, a->tune, seed, &n), next = 0, step = 0;
    const char **names = mem_alloc(sizeof *names * (size_t)t->nnodes);
    int64_t arrived = 0, allocated = 0, tiny = 0;
    bool restarted = false;

    memset(o, 0, sizeof *o);
    o->filter = times_make(n);
    o->cpu = times_make(n);
    o->bind = times_make(n);
    eo.policy.node_policy = policy_node_policy_find(a->policy);
    eo.policy.seed = seed;
    eo.policy.check_host = true;
    eo.params = &a->params;
    eo.filter_threads = a->threads;
    policy_gpu_policy_parse(a->gpu_policy, &eo.policy.gpu, err, sizeof err);
    for (int i = 0; i < t->nnodes; i++) {
        cache_node_put(c, inventory(&t->nodes[i], vendor_of(i, a->vendors)));
        names[i] = t->nodes[i].name;
    }
    cache_set_ready(c, true);
    struct place *x = place_create(c, &eo);
    int rc = a->seed_file ? place_seed_file(x, a->seed_file, err, sizeof err) : 0;
    if (rc)
        fprintf(stderr, "vgpu-replay: --workload-file %s\n", err);
    if (a->source == SRC_TRACE) {
        struct workload *wl = trace_workload(t, a->measure, &a->params, a->vendors);
        if (a->measure != WORKLOAD_FGD) /* FGD weighs shapes by popularity alone */
            set_scarcity(wl, c, t);
        place_set_state(x, wl); /* the placer owns it now */
    }
    bool *placed = mem_zalloc(sizeof *placed * (size_t)n);
    for (int i = 0; rc == 0 && i < n; i++) {
        const struct task *k = &t->tasks[w[i]];
        char uid[32];
        struct policy_pod p;
        if (a->restart > 0 && arrived * 100 >= (int64_t)(a->restart * (double)t->capacity) &&
            !restarted) {
            x = restart(x, c, &eo, t, a, w, placed, i);
            restarted = true;
        }
        arrival_pod(t, a, w, i, uid, &p);
        double t0 = stats_now_ms();
        if (a->source == SRC_ONLINE) /* learn as filter does, from nothing */
            place_observe(x, &p);
        bool ok;
        if (k->num_gpu > 0 || eo.policy.node_policy->cpu_pods) {
            struct policy_reasons why = {{0}};
            ok = place_pod(x, &p, names, (size_t)t->nnodes, 0, &why) >= 0;
            struct times *took = k->num_gpu > 0 ? &o->filter : &o->cpu;
            took->ms[took->n++] = stats_now_ms() - t0;
            if (ok) { /* the bind that follows a filter's choice */
                t0 = stats_now_ms();
                place_bound(x, uid);
                o->bind.ms[o->bind.n++] = stats_now_ms() - t0;
            }
            if (!ok && k->num_gpu == 0) {
                o->failed_cpu++;
            } else if (!ok) {
                o->failed_gpu++;
                if (a->dump && arrived * 100 < 121 * t->capacity)
                    dump_idle(c, t, k, &p, &eo.policy,
                              100.0 * (double)arrived / (double)t->capacity);
                for (int r = 0; r < POLICY_R_COUNT; r++)
                    o->why[r] += why.cnt[r] ? 1 : 0;
            }
        } else {
            int ni = least_allocated(c, t, k, seed ^ (uint64_t)i);
            ok = ni >= 0;
            if (ok) {
                struct model_pod_info pi = {.uid = uid,
                                            .ns = "openb",
                                            .name = uid,
                                            .node_name = t->nodes[ni].name,
                                            .cpu_milli = k->cpu,
                                            .mem_mib = k->mem};
                cache_pod_put(c, &pi, err, sizeof err);
            } else {
                o->failed_cpu++;
            }
        }
        o->placed += ok;
        placed[i] = ok;
        arrived += demand(k);
        allocated += ok ? demand(k) : 0;
        tiny += k->num_gpu == 1 && k->milli < 200 ? k->milli : 0;
        double arr = 100.0 * (double)arrived / (double)t->capacity;
        double alloc = 100.0 * (double)allocated / (double)t->capacity;
        while (next < NPOINTS && arr >= points[next]) {
            if (a->dump && points[next] == 100)
                dump_gaps(c, t, tiny, w, placed, i + 1);
            o->at[next++] = alloc;
        }
        while (step <= CURVE_STEPS && arr >= step / 10.0) {
            if (a->dump && step % 50 == 0)
                dump_idle(c, t, NULL, NULL, NULL, arr);
            o->curve[step++] = alloc;
        }
    }
    for (; step <= CURVE_STEPS; step++)
        o->curve[step] = NAN;
    for (; next < NPOINTS; next++)
        o->at[next] = NAN;
    if (a->dump)
        dump_state(c, t);
    if (rc == 0 && a->out_file)
        rc = write_workload(x, a->out_file);
    if (rc) { /* no outcome: its times go with it */
        free(o->filter.ms);
        free(o->cpu.ms);
        free(o->bind.ms);
        o->filter = o->cpu = o->bind = (struct times){0};
    }
    place_destroy(x);
    cache_destroy(c);
    free(placed);
    free(names);
    free(w);
    return rc;
}

/* ---- the upper bound ---- */

/* The capacity less the room the shares of tasks (counted as arrived)
 * leave: by a best-fit packing (an estimate) or at least (the floor); -1
 * when the floor has no bound for them. */
static double share_limit(const struct trace *t, const struct bound_task *tasks, enum limit l)
{
    double room = l == LIMIT_PACKING ? bound_share_waste(tasks, t->ntasks)
                                     : bound_share_floor(tasks, t->ntasks);
    return room < 0 ? -1 : (double)t->capacity - room;
}

/* Instead of placing: at each point, what limit l says of the tasks
 * arrived by then: the bound (bench/bound.h) on what any placement of them
 * could allocate, or share_limit's packing or floor, never more than
 * arrived. */
static void bound_seed(const struct trace *t, double tune, uint64_t seed, enum limit l,
                       struct outcome *o)
{
    int n = 0, *w = workload(t, tune, seed, &n), next = 0;
    struct bound_node *nodes = mem_alloc(sizeof *nodes * (size_t)t->nnodes);
    struct bound_task *tasks = mem_alloc(sizeof *tasks * (size_t)t->ntasks);
    int64_t arrived = 0;
    memset(o, 0, sizeof *o);
    for (int i = 0; i < t->nnodes; i++) {
        const struct node_row *r = &t->nodes[i];
        nodes[i] = (struct bound_node){r->model, r->cpu, r->mem, r->gpus};
    }
    for (int i = 0; i < t->ntasks; i++) {
        const struct task *k = &t->tasks[i];
        tasks[i] = (struct bound_task){k->cpu, k->mem, k->num_gpu, k->milli, k->spec, 0};
    }
    for (int i = 0; i < n && next < NPOINTS; i++) {
        tasks[w[i]].count++;
        arrived += demand(&t->tasks[w[i]]);
        while (next < NPOINTS && 100.0 * (double)arrived / (double)t->capacity >= points[next]) {
            double b = l == LIMIT_BOUND ? bound_allocation(nodes, t->nnodes, tasks, t->ntasks)
                                        : share_limit(t, tasks, l);
            if (l != LIMIT_BOUND && b > (double)arrived)
                b = (double)arrived;
            o->at[next++] = b < 0 ? NAN : 100.0 * b / (double)t->capacity;
        }
    }
    for (; next < NPOINTS; next++)
        o->at[next] = NAN;
    for (int s = 0; s <= CURVE_STEPS; s++)
        o->curve[s] = NAN; /* the bound has points, not a curve */
    free(nodes);
    free(tasks);
    free(w);
}

/* ---- main ---- */

static const char *trace_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *p = strstr(b, "pod_list_");
    snprintf(buf, cap, "%s", p ? p + 9 : b);
    char *dot = strrchr(buf, '.');
    if (dot)
        *dot = '\0';
    return buf;
}

static int usage(void)
{
    fprintf(stderr, "usage: vgpu-replay --nodes NODES.csv --pods PODS.csv --policy NAME\n"
                    "         [--gpu-policy P] [--seeds N] [--seed S] [--tune 1.3] [--curve FILE]\n"
                    "         [--scale K] [--filter-threads N]\n"
                    "         [--workload trace|online] [--measure both|one-copy|copies] [--dump]\n"
                    "         [--bound | --packing | --share-floor] [--param NAME=VALUE]...\n"
                    "         [--vendors PCT]\n"
                    "         [--restart PCT | --restart-seeded PCT]\n"
                    "         [--workload-file FILE] [--workload-out FILE]\n"
                    "--policy fgd: the paper's FGD as published, a baseline (fragment-aware\n"
                    "with --measure fgd: one-copy, popularity weights, no extra terms).\n"
                    "policies: every node policy of the engine; the GPU policy follows it\n"
                    "(spread for spread, binpack otherwise) unless --gpu-policy is given.\n"
                    "fragment-aware measures against the trace's own distribution (trace,\n"
                    "as the paper does) or learns it from the arrivals as the service does\n"
                    "(online; --measure is for trace only).\n"
                    "--bound: no placing; what no placement of the arrived tasks could\n"
                    "exceed (a linear relaxation, see bench/bound.h).\n"
                    "--packing: no placing; the capacity less what a best-fit-decreasing\n"
                    "packing of the arrived shares leaves (an estimate of what a scheduler\n"
                    "that places every fitting pod could hold, see bench/bound.h).\n"
                    "--share-floor: no placing; the capacity less the least room any\n"
                    "packing of the arrived shares leaves (the cutting stock bound): what\n"
                    "no scheduler that places every arrived share can exceed; - where the\n"
                    "shares have too many sizes for it.\n"
                    "--dump (stderr): every 5 %% of arrival and at each failed GPU task up\n"
                    "to 121 %%, the idle nodes of 4+ GPUs by model (G3/hygon: another\n"
                    "vendor's) and how many could host the failed task; at 100 %%, the free\n"
                    "GPUs as whole cards and gaps by size, and the partly used cards by\n"
                    "the share in use (the six groups with the most free first); at the\n"
                    "end, where they are.\n"
                    "--scale K: the cluster and the trace K times over (1-64; node copies\n"
                    "named <name>#<i>), the same mix on K times the nodes: how placing\n"
                    "scales (the last lines: what the service's filter took per GPU task,\n"
                    "its prioritize per CPU-only task, its bind per task placed).\n"
                    "--filter-threads N: threads that judge one task's nodes together\n"
                    "(1-16; the service's --filter-threads; 1, the default: one).\n"
                    "--param: one of fragment-aware's tuned values (policy/workload.h,\n"
                    "struct workload_params: balance, gap_weight, gap_common, press_horizon,\n"
                    "press_floor, press_rule, press_reserve, scarcity, blend, gap_models,\n"
                    "claim, gap_rule, learn_prior, gap_ramp, ask_rule, idle_ramp,\n"
                    "balance_short, node_short, host_loss; the service's cadences:\n"
                    "learn_decay, learn_first, learn_every, press_every), for sweeps;\n"
                    "the service always runs the defaults.\n"
                    "--vendors PCT: a mixed-vendor cluster: PCT %% of the nodes (every\n"
                    "other one at 50) carry Hygon DCUs instead, and PCT %% of the trace's\n"
                    "GPU tasks ask DCUs; placing runs only.\n"
                    "--restart PCT (--workload online): when arrival reaches PCT %%, the\n"
                    "service restarts: the placer and its learner start again from nothing\n"
                    "on the cluster as it is. --restart-seeded PCT: the same, the new\n"
                    "learner first counting the pods placed so far, as the service does\n"
                    "with the pods its watch finds running.\n"
                    "--workload-file FILE (--workload online): the learner seeded from\n"
                    "FILE first, as the service's --workload-file. --workload-out FILE\n"
                    "(online, one seed): the learner's workload after the run, as the\n"
                    "service's GET /workload writes it.\n");
    return 2;
}

static bool parse_measure(const char *v, enum workload_measure *m)
{
    static const struct {
        const char *name;
        enum workload_measure m;
    } names[] = {{"both", WORKLOAD_BOTH},
                 {"one-copy", WORKLOAD_ONE_COPY},
                 {"copies", WORKLOAD_COPIES},
                 {"fgd", WORKLOAD_FGD}};
    for (size_t i = 0; v && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(v, names[i].name) == 0) {
            *m = names[i].m;
            return true;
        }
    return false;
}

/* A percentage, or -1 (refused by the range check) when v is not one
 * number alone. */
static double percent(const char *v)
{
    char *end;
    double x = strtod(v, &end);
    return end != v && *end == '\0' ? x : -1;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){.policy = "binpack",
                       .seeds = 1,
                       .scale = 1,
                       .threads = 1,
                       .tune = 1.3,
                       .params = workload_params_default};
    char perr[160];
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--dump") == 0) {
            a->dump = true;
            continue;
        }
        enum limit l = strcmp(k, "--bound") == 0         ? LIMIT_BOUND
                       : strcmp(k, "--packing") == 0     ? LIMIT_PACKING
                       : strcmp(k, "--share-floor") == 0 ? LIMIT_FLOOR
                                                         : LIMIT_NONE;
        if (l != LIMIT_NONE) {
            if (a->limit != LIMIT_NONE && a->limit != l) {
                fprintf(stderr, "vgpu-replay: one of --bound, --packing, --share-floor\n");
                return 2;
            }
            a->limit = l;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(k, "--nodes") == 0)
            a->nodes = v;
        else if (strcmp(k, "--pods") == 0)
            a->pods = v;
        else if (strcmp(k, "--policy") == 0)
            a->policy = v;
        else if (strcmp(k, "--gpu-policy") == 0)
            a->gpu_policy = v;
        else if (strcmp(k, "--curve") == 0)
            a->curve = v;
        else if (strcmp(k, "--seeds") == 0)
            a->seeds = atoi(v);
        else if (strcmp(k, "--seed") == 0)
            a->seed = strtoull(v, NULL, 10);
        else if (strcmp(k, "--scale") == 0) {
            char *end;
            long x = strtol(v, &end, 10);
            a->scale = *end || x < 1 || x > TRACE_MAX_SCALE ? 0 : (int)x;
        } else if (strcmp(k, "--filter-threads") == 0) {
            char *end;
            long x = strtol(v, &end, 10);
            a->threads = *end || end == v || x < 1 || x > PLACE_HELPERS_MAX + 1 ? 0 : (int)x;
        } else if (strcmp(k, "--tune") == 0)
            a->tune = atof(v);
        else if (strcmp(k, "--vendors") == 0)
            a->vendors = percent(v);
        else if (strcmp(k, "--workload-file") == 0)
            a->seed_file = v;
        else if (strcmp(k, "--workload-out") == 0)
            a->out_file = v;
        else if (strcmp(k, "--restart") == 0 || strcmp(k, "--restart-seeded") == 0) {
            a->restart = percent(v);
            a->restart_seeded = strcmp(k, "--restart-seeded") == 0;
        } else if (strcmp(k, "--measure") == 0 && parse_measure(v, &a->measure))
            a->measure_set = true;
        else if (strcmp(k, "--param") == 0 &&
                 workload_param_set(&a->params, v, perr, sizeof perr)) {
            fprintf(stderr, "vgpu-replay: --param %s\n", perr);
            return 2;
        } else if (strcmp(k, "--param") == 0)
            continue;
        else if (strcmp(k, "--workload") == 0 && strcmp(v, "trace") == 0)
            a->source = SRC_TRACE;
        else if (strcmp(k, "--workload") == 0 && strcmp(v, "online") == 0)
            a->source = SRC_ONLINE;
        else
            return usage();
    }
    char err[256];
    struct policy_gpu_policy g;
    if (strcmp(a->policy, "fgd") == 0) { /* the paper's FGD: a baseline, not a product policy */
        a->policy = "fragment-aware";
        a->measure = WORKLOAD_FGD;
        a->measure_set = a->fgd = true;
    }
    if (!a->gpu_policy) /* each node policy with its own GPU policy */
        a->gpu_policy = strcmp(a->policy, "spread") == 0 ? "spread" : "binpack";
    if (!a->nodes || !a->pods || a->seeds < 1 || a->seeds > 1000 || a->scale < 1 ||
        a->threads < 1 || a->tune < 0.1 || a->tune > 10 || !(a->vendors >= 0 && a->vendors <= 100))
        return usage();
    if (a->vendors > 0 && a->limit != LIMIT_NONE) {
        fprintf(stderr, "vgpu-replay: --vendors applies to placing runs; --bound, --packing and "
                        "--share-floor count one pool\n");
        return 2;
    }
    if (a->restart != 0 && (a->source != SRC_ONLINE || a->limit != LIMIT_NONE ||
                            !(a->restart > 0 && a->restart <= 120))) {
        fprintf(stderr, "vgpu-replay: --restart and --restart-seeded take a percentage of "
                        "arrival in (0, 120] and apply to placing runs with --workload online\n");
        return 2;
    }
    if ((a->seed_file || a->out_file) && (a->source != SRC_ONLINE || a->limit != LIMIT_NONE ||
                                          a->restart != 0 || (a->out_file && a->seeds != 1))) {
        fprintf(stderr, "vgpu-replay: --workload-file and --workload-out apply to placing runs "
                        "with --workload online and no --restart; --workload-out to one seed\n");
        return 2;
    }
    if (a->fgd && a->source == SRC_ONLINE) {
        fprintf(stderr, "vgpu-replay: --policy fgd measures against the trace's own "
                        "distribution (--workload trace), as the paper does\n");
        return 2;
    }
    if (a->measure_set && a->source == SRC_ONLINE) {
        fprintf(stderr, "vgpu-replay: --measure applies to --workload trace; online learns "
                        "with the service's own measure\n");
        return 2;
    }
    if (!policy_node_policy_find(a->policy)) {
        fprintf(stderr, "vgpu-replay: unknown policy \"%s\"\n", a->policy);
        return 2;
    }
    if (policy_gpu_policy_parse(a->gpu_policy, &g, err, sizeof err)) {
        fprintf(stderr, "vgpu-replay: --gpu-policy: %s\n", err);
        return 2;
    }
    return 0;
}

static void print_failures(int placed, int failed_gpu, int failed_cpu, const int *why, int seeds)
{
    printf("# per seed: %.1f tasks placed, %.1f GPU tasks and %.1f CPU tasks failed\n",
           (double)placed / seeds, (double)failed_gpu / seeds, (double)failed_cpu / seeds);
    printf("# failed GPU tasks by reason (a task counts once per reason some node gave):");
    for (int r = 0; r < POLICY_R_COUNT; r++)
        if (why[r])
            printf(" %s %.1f", policy_reason_word(r), (double)why[r] / seeds);
    printf("\n");
}

static void write_curve(const char *path, const double *sum, int seeds)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "vgpu-replay: %s: %s\n", path, strerror(errno));
        return;
    }
    fprintf(f, "arrived_pct,alloc_pct\n");
    for (int i = 0; i <= CURVE_STEPS; i++)
        if (!isnan(sum[i]))
            fprintf(f, "%.1f,%.4f\n", i / 10.0, sum[i] / seeds);
    fclose(f);
}

/* Append one seed's times to all's; frees one's. */
static void times_add(struct times *all, struct times *one)
{
    if (one->n > 0) { /* placing runs only */
        all->ms = mem_realloc(all->ms, sizeof *all->ms * (size_t)(all->n + one->n));
        memcpy(all->ms + all->n, one->ms, sizeof *all->ms * (size_t)one->n);
        all->n += one->n;
    }
    free(one->ms);
    *one = (struct times){0};
}

/* What each call took (x->ms, sorted here), in process, without HTTP or
 * JSON: for a GPU task what /filter does (learning the pod, choosing and
 * reserving); for a CPU-only task what /prioritize does for it (the
 * service's filter only learns it: README, "For CPU-only pods to be
 * steered"); for every task placed what /bind does (the commit and, every
 * press_every binds, the pressure pass). */
static void print_times(const char *what, struct times *x, int nodes)
{
    if (x->n <= 0)
        return;
    double p50 = stats_pct(x->ms, x->n, 0.5), p99 = stats_pct(x->ms, x->n, 0.99);
    printf("# %s: p50 %.3f ms, p99 %.3f ms, max %.2f ms (%d tasks, %d nodes)\n", what, p50, p99,
           x->ms[x->n - 1], x->n, nodes);
}

/* The seeds of the replay, their means printed (and the curve written).
 * Returns 0, or 2 when a seed's run failed (it said why). */
static int replay(const struct args *a, const struct trace *t)
{
    char name[128];
    struct outcome *o = mem_alloc(sizeof *o);
    double mean[NPOINTS] = {0}, *curve = mem_zalloc(sizeof *curve * (CURVE_STEPS + 1));
    int failed_gpu = 0, failed_cpu = 0, placed = 0;
    int why[POLICY_R_COUNT] = {0};
    struct times filter = {0}, cpu = {0}, bind = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    for (int s = 0; rc == 0 && s < a->seeds; s++) {
        if (a->limit != LIMIT_NONE)
            bound_seed(t, a->tune, a->seed + (uint64_t)s, a->limit, o);
        else
            rc = run_seed(t, a, a->seed + (uint64_t)s, o) ? 2 : 0;
        if (rc)
            break;
        for (int i = 0; i < NPOINTS; i++)
            mean[i] += o->at[i] / a->seeds;
        for (int i = 0; i <= CURVE_STEPS; i++)
            curve[i] += o->curve[i];
        failed_gpu += o->failed_gpu;
        failed_cpu += o->failed_cpu;
        placed += o->placed;
        for (int r = 0; r < POLICY_R_COUNT; r++)
            why[r] += o->why[r];
        times_add(&filter, &o->filter);
        times_add(&cpu, &o->cpu);
        times_add(&bind, &o->bind);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc)
        goto out;
    printf("trace,policy,seeds,alloc_at_80,alloc_at_90,alloc_at_100,alloc_at_110,alloc_at_120\n");
    printf("%s,%s%s,%d", trace_name(a->pods, name, sizeof name),
           a->limit == LIMIT_PACKING ? "share-packing"
           : a->limit == LIMIT_FLOOR ? "share-floor"
           : a->limit == LIMIT_BOUND ? "upper-bound"
           : a->fgd                  ? "fgd"
                                     : a->policy,
           a->source == SRC_ONLINE && a->limit == LIMIT_NONE ? "-online" : "", a->seeds);
    for (int i = 0; i < NPOINTS; i++)
        printf(",%.2f", mean[i]);
    printf("\n# %d seeds in %.2f s (%.2f s per seed)", a->seeds, secs, secs / a->seeds);
    if (a->limit == LIMIT_PACKING) {
        printf("; capacity less a packing of the arrived shares, an estimate, bench/bound.h\n");
    } else if (a->limit == LIMIT_FLOOR) {
        printf("; capacity less the least room any packing of the arrived shares leaves: a "
               "bound for schedulers that place every share, bench/bound.h\n");
    } else if (a->limit == LIMIT_BOUND) {
        printf("; a linear relaxation, bench/bound.h\n");
    } else {
        printf("; gpu policy %s\n", a->gpu_policy);
        print_failures(placed, failed_gpu, failed_cpu, why, a->seeds);
        print_times("filter per GPU task", &filter, t->nnodes);
        print_times("prioritize per CPU-only task", &cpu, t->nnodes);
        print_times("bind per task placed", &bind, t->nnodes);
    }
    if (a->curve)
        write_curve(a->curve, curve, a->seeds);
out:
    free(filter.ms);
    free(cpu.ms);
    free(bind.ms);
    free(curve);
    free(o);
    return rc;
}

int main(int argc, char **argv)
{
    base_init();
    struct args a;
    struct trace t = {0};
    if (parse_args(argc, argv, &a))
        return 2;
    log_set_level(LOG_LEVEL_WARN);
    char err[256];
    int rc = trace_load_nodes(a.nodes, &t) || trace_load_tasks(a.pods, &t)
                 ? 2
                 : 0; /* the loader said why */
    if (rc == 0 && trace_scale(&t, a.scale, err, sizeof err)) {
        fprintf(stderr, "vgpu-replay: --scale: %s\n", err);
        rc = 2;
    }
    if (rc == 0)
        rc = replay(&a, &t);
    trace_free(&t);
    return rc;
}

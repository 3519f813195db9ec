/* vgpu-tracegen: openb-style pod lists with a mix nobody published.
 *
 * Re-samples a public openb pod list (../shared/data/openb/) to change its
 * mix the way the published trace families do (bench/README.md, "Trace
 * generator", says how each family was found to be built):
 *
 *   --sharing P      sharing tasks (num_gpu 1, gpu_milli < 1000) ask P % of
 *                    the GPU demand (gpushareNN). Whole-GPU tasks are
 *                    replaced, one for one and in place, by sharing tasks
 *                    drawn from the base (or the other way to go lower).
 *   --multi P        multi-GPU tasks ask P % of the GPU demand (multigpuNN):
 *                    multi-GPU tasks drawn from the base are appended (or
 *                    removed at random to go lower).
 *   --constrained P  P % of the GPU tasks carry a gpu_spec (gpuspecNN): the
 *                    same tasks; a spec drawn from the tasks of the same kind
 *                    (share, whole GPU, multi-GPU) in --spec-from, redrawn
 *                    until some node of --nodes could host the task empty.
 *   --cpu P          CPU-only tasks ask P/100 x 17.5 % of all CPU requested
 *                    (cpuNNN; 17.5 % is what they ask in cpu100): CPU-only
 *                    tasks drawn from the base are inserted at random
 *                    places (or removed at random to go lower).
 *
 * Options combine; sharing and multi are balanced against each other
 * (whole single-GPU tasks are then the only ones swapped for shares). All
 * draws come from one seeded generator: the same input, options and --seed
 * give the same bytes. The result goes to stdout (or --out) with the openb
 * columns; the mix reached goes to stderr. Exit status 2 and one line naming
 * the problem on bad input: a missing file, a bad row, a ratio that cannot
 * be reached.
 *
 * A program that writes traces; never a test. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/init.h"
#include "base/mem.h"
#include "base/strconv.h"
#include "bench/csv.h"
#include "bench/trace.h"

#define MAX_FILE   (256u << 20)
#define MAX_TASKS  1000000
#define MAX_NODES  100000
#define MAX_FIELDS 32
#define MAX_ROUNDS 64   /* sharing/multi balancing rounds */
#define SPEC_DRAWS 64   /* redraws of a spec before a task is left unconstrained */
#define CPU_UNIT   17.5 /* % of CPU requests that CPU-only tasks ask in cpu100 */
#define TOLERANCE  0.5  /* points a balanced ratio may miss its target by */

enum kind { K_CPU, K_SHARE, K_WHOLE, K_MULTI, K_COUNT };

/* One pod row. Strings point into the file text (borrowed) or are "". */
struct row {
    const char *spec, *qos, *phase, *created, *deleted, *scheduled;
    int64_t cpu, mem;
    int num_gpu, milli; /* as the replay reads them (trace_task_parse) */
    double key;         /* output order */
    bool gone, nospec;  /* removed; no spec any node satisfies */
};

struct rows {
    struct row *v;
    int n, cap;
};

struct opts {
    const char *pods, *nodes, *spec_from, *out;
    double sharing, multi, constrained, cpu; /* < 0: unchanged */
    uint64_t seed;
};

struct gen {
    struct rows t;              /* the trace being built */
    struct rows pool[K_COUNT];  /* the base's tasks by kind: what draws come from */
    struct rows specs[K_COUNT]; /* tasks with a spec, by kind (--spec-from) */
    struct node_row *nodes;
    int nnodes;
    uint64_t rng;
    char err[512];
};

/* ---- helpers ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int pick(struct gen *g, int n)
{
    return (int)(rng_next(&g->rng) % (uint64_t)n);
}

static enum kind kind_of(const struct row *r)
{
    if (r->num_gpu == 0)
        return K_CPU;
    if (r->num_gpu > 1)
        return K_MULTI;
    return r->milli < 1000 ? K_SHARE : K_WHOLE;
}

static int64_t demand(const struct row *r)
{
    return r->num_gpu > 1 ? (int64_t)r->num_gpu * 1000 : r->milli;
}

static struct row *push(struct rows *rs, const struct row *r)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 1024;
        rs->v = mem_realloc(rs->v, sizeof *rs->v * (size_t)rs->cap);
    }
    rs->v[rs->n] = *r;
    return &rs->v[rs->n++];
}

/* ---- input ---- */

static const char *field_str(char *const *f, int n, int c)
{
    return c >= 0 && c < n ? f[c] : "";
}

/* Each line of text (a CSV file with a header) as fields; calls row() per
 * data line. Returns 0 or an error with err naming path:line. */
typedef int (*row_fn)(struct gen *g, char *const *f, int n, const int *col, const char *where);

static int read_csv(struct gen *g, const char *path, char **text, const char *const *want,
                    int nwant, int nrequired, row_fn fn)
{
    char *f[MAX_FIELDS], where[300];
    int col[16], line = 1, rc;
    size_t len = 0;
    rc = file_read(path, MAX_FILE, text, &len, g->err, sizeof g->err);
    if (rc)
        return rc;
    if (memchr(*text, '\0', len)) {
        snprintf(g->err, sizeof g->err, "%s: a NUL byte at offset %zu: not a CSV file", path,
                 (size_t)((char *)memchr(*text, '\0', len) - *text));
        return ERR_INVAL;
    }
    char *p = *text, *nl = strchr(p, '\n');
    if (nl)
        *nl = '\0';
    int n = csv_split(p, f, MAX_FIELDS);
    for (int i = 0; i < nwant; i++) {
        col[i] = csv_column(f, n, want[i]);
        if (col[i] < 0 && i < nrequired) {
            snprintf(g->err, sizeof g->err, "%s: no column \"%s\" in the header", path, want[i]);
            return ERR_INVAL;
        }
    }
    for (p = nl ? nl + 1 : NULL; p && *p; p = nl ? nl + 1 : NULL) {
        line++;
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (p[strspn(p, "\r")] == '\0')
            continue; /* a blank line */
        n = csv_split(p, f, MAX_FIELDS);
        snprintf(where, sizeof where, "%s:%d", path, line);
        if (n < 0) {
            snprintf(g->err, sizeof g->err, "%s: more than %d fields", where, MAX_FIELDS);
            return ERR_TOOBIG;
        }
        rc = fn(g, f, n, col, where);
        if (rc)
            return rc;
    }
    return 0;
}

static int pod_row(struct gen *g, char *const *f, int n, const int *col, const char *where)
{
    struct task k;
    char err[256];
    if (g->t.n >= MAX_TASKS) {
        snprintf(g->err, sizeof g->err, "%s: more than %d tasks", where, MAX_TASKS);
        return ERR_TOOBIG;
    }
    if (trace_task_parse(f, n, col, &k, err, sizeof err)) { /* the replay's rules */
        snprintf(g->err, sizeof g->err, "%s: %s", where, err);
        return ERR_INVAL;
    }
    struct row r = {.spec = field_str(f, n, col[5]),
                    .qos = field_str(f, n, col[6]),
                    .phase = field_str(f, n, col[7]),
                    .created = field_str(f, n, col[8]),
                    .deleted = field_str(f, n, col[9]),
                    .scheduled = field_str(f, n, col[10]),
                    .cpu = k.cpu,
                    .mem = k.mem,
                    .num_gpu = k.num_gpu,
                    .milli = k.milli,
                    .key = g->t.n};
    push(&g->t, &r);
    return 0;
}

/* --spec-from rows: only their spec and kind matter. */
static int spec_row(struct gen *g, char *const *f, int n, const int *col, const char *where)
{
    struct gen tmp = {0};
    int rc = pod_row(&tmp, f, n, col, where);
    if (rc) {
        snprintf(g->err, sizeof g->err, "%s", tmp.err);
        return rc;
    }
    struct row *r = &tmp.t.v[0];
    if (r->spec[0] && r->num_gpu > 0)
        push(&g->specs[kind_of(r)], r);
    free(tmp.t.v);
    return 0;
}

static int node_row(struct gen *g, char *const *f, int n, const int *col, const char *where)
{
    char err[256];
    if (g->nnodes >= MAX_NODES) {
        snprintf(g->err, sizeof g->err, "%s: more than %d nodes", where, MAX_NODES);
        return ERR_TOOBIG;
    }
    if (g->nnodes % 1024 == 0)
        g->nodes = mem_realloc(g->nodes, sizeof *g->nodes * (size_t)(g->nnodes + 1024));
    if (trace_node_parse(f, n, col, &g->nodes[g->nnodes], err, sizeof err)) {
        snprintf(g->err, sizeof g->err, "%s: %s", where, err);
        return ERR_INVAL;
    }
    g->nnodes++;
    return 0;
}

/* ---- the mix ---- */

struct mix {
    int64_t share, multi, gpu; /* GPU demand, milli */
    int64_t cpu_only, cpu_all; /* CPU requests, milli */
    int tasks, gpu_tasks, constrained;
};

static void measure(const struct rows *t, struct mix *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < t->n; i++) {
        const struct row *r = &t->v[i];
        if (r->gone)
            continue;
        enum kind k = kind_of(r);
        m->tasks++;
        m->cpu_all += r->cpu;
        if (k == K_CPU) {
            m->cpu_only += r->cpu;
            continue;
        }
        m->gpu_tasks++;
        m->gpu += demand(r);
        m->share += k == K_SHARE ? demand(r) : 0;
        m->multi += k == K_MULTI ? demand(r) : 0;
        m->constrained += r->spec[0] != '\0';
    }
}

static double pct(int64_t a, int64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0;
}

/* A random live task of one of the kinds in mask; -1 if none. Rejection
 * first, then a scan from a random start (bounded either way). */
static int random_task(struct gen *g, unsigned mask, bool want_spec)
{
    int n = g->t.n;
    if (n == 0)
        return -1;
    for (int tries = 0; tries < 64; tries++) {
        struct row *r = &g->t.v[pick(g, n)];
        if (!r->gone && (mask >> kind_of(r) & 1) &&
            (want_spec ? r->spec[0] != '\0' : (r->spec[0] == '\0' && !r->nospec)))
            return (int)(r - g->t.v);
    }
    for (int j = 0, s = pick(g, n); j < n; j++) {
        struct row *r = &g->t.v[(s + j) % n];
        if (!r->gone && (mask >> kind_of(r) & 1) &&
            (want_spec ? r->spec[0] != '\0' : (r->spec[0] == '\0' && !r->nospec)))
            return (int)(r - g->t.v);
    }
    return -1;
}

/* Any live task of the kinds in mask, spec or not. */
static int random_any(struct gen *g, unsigned mask)
{
    int i = random_task(g, mask, false);
    if (i < 0)
        i = random_task(g, mask, true);
    if (i < 0) { /* only tasks without a spec that no node satisfies */
        for (int j = 0; j < g->t.n; j++)
            if (!g->t.v[j].gone && (mask >> kind_of(&g->t.v[j]) & 1))
                return j;
    }
    return i;
}

/* Replace task i, in place, by a draw from the base's tasks of kind k. */
static void replace(struct gen *g, int i, enum kind k)
{
    const struct rows *p = &g->pool[k];
    double key = g->t.v[i].key;
    g->t.v[i] = p->v[pick(g, p->n)];
    g->t.v[i].key = key;
}

/* Move the share of sharing tasks in the GPU demand to target %: whole-GPU
 * tasks (single ones only when keep_multi) become shares, or shares whole. */
static int set_sharing(struct gen *g, double target, bool keep_multi)
{
    unsigned whole = 1u << K_WHOLE | (keep_multi ? 0 : 1u << K_MULTI);
    struct mix m;
    measure(&g->t, &m);
    bool up = pct(m.share, m.gpu) < target;
    while (up ? pct(m.share, m.gpu) < target : pct(m.share, m.gpu) > target) {
        enum kind to = up ? K_SHARE : K_WHOLE;
        int i = random_any(g, up ? whole : 1u << K_SHARE);
        if (i < 0 || g->pool[to].n == 0) {
            snprintf(g->err, sizeof g->err, "--sharing %.1f: stuck at %.2f %%: %s", target,
                     pct(m.share, m.gpu),
                     g->pool[to].n ? "no task left to swap" : "the base has none to draw");
            return ERR_RANGE;
        }
        int64_t before = demand(&g->t.v[i]);
        m.share -= up ? 0 : before;
        replace(g, i, to);
        m.share += up ? demand(&g->t.v[i]) : 0;
        m.gpu += demand(&g->t.v[i]) - before;
    }
    return 0;
}

/* Move the share of multi-GPU tasks in the GPU demand to target %. */
static int set_multi(struct gen *g, double target)
{
    struct mix m;
    measure(&g->t, &m);
    while (pct(m.multi, m.gpu) < target) {
        if (g->pool[K_MULTI].n == 0 || g->t.n >= MAX_TASKS) {
            snprintf(g->err, sizeof g->err, "--multi %.1f: %s", target,
                     g->pool[K_MULTI].n ? "too many tasks" : "the base has no multi-GPU task");
            return ERR_RANGE;
        }
        const struct rows *p = &g->pool[K_MULTI];
        struct row *r = push(&g->t, &p->v[pick(g, p->n)]);
        r->key = (double)MAX_TASKS + g->t.n; /* appended, as multigpuNN are */
        m.multi += demand(r);
        m.gpu += demand(r);
    }
    while (pct(m.multi, m.gpu) > target + TOLERANCE / 4) {
        int i = random_any(g, 1u << K_MULTI);
        if (i < 0)
            break;
        g->t.v[i].gone = true;
        m.multi -= demand(&g->t.v[i]);
        m.gpu -= demand(&g->t.v[i]);
    }
    return 0;
}

static bool spec_has(const char *spec, const char *model)
{
    size_t n = strlen(model);
    for (const char *p = spec; *p;) {
        size_t k = strcspn(p, "|");
        if (k == n && strncmp(p, model, n) == 0)
            return true;
        p += k + (p[k] == '|');
    }
    return false;
}

/* Some node of a model in spec hosts task r when empty (or no nodes given). */
static bool spec_feasible(const struct gen *g, const struct row *r, const char *spec)
{
    if (g->nnodes == 0)
        return true;
    for (int i = 0; i < g->nnodes; i++) {
        const struct node_row *n = &g->nodes[i];
        if (n->cpu >= r->cpu && n->mem >= r->mem && n->gpus >= r->num_gpu &&
            spec_has(spec, n->model))
            return true;
    }
    return false;
}

/* Give task i a spec drawn from its kind's specs; false if none fits. */
static bool constrain(struct gen *g, int i)
{
    struct row *r = &g->t.v[i];
    enum kind k = kind_of(r);
    const struct rows *p = g->specs[k].n ? &g->specs[k] : NULL;
    for (int j = 0; !p && j < K_COUNT; j++) /* a kind no task had: any spec */
        p = g->specs[j].n ? &g->specs[j] : NULL;
    for (int d = 0; p && d < SPEC_DRAWS; d++) {
        const char *s = p->v[pick(g, p->n)].spec;
        if (spec_feasible(g, r, s)) {
            r->spec = s; /* borrowed from the text of --spec-from or --pods */
            return true;
        }
    }
    r->nospec = true;
    return false;
}

/* Make target % of the GPU tasks carry a spec (rounded to a task). */
static int set_constrained(struct gen *g, double target)
{
    unsigned gpu = 1u << K_SHARE | 1u << K_WHOLE | 1u << K_MULTI;
    struct mix m;
    measure(&g->t, &m);
    int want = (int)floor(target * m.gpu_tasks / 100.0 + 0.5), have = m.constrained;
    bool any = false;
    for (int k = 0; k < K_COUNT; k++)
        any |= g->specs[k].n > 0;
    if (want > have && !any) {
        snprintf(g->err, sizeof g->err,
                 "--constrained %.1f: no gpu_spec to draw from; pass --spec-from with a "
                 "gpuspec trace",
                 target);
        return ERR_INVAL;
    }
    while (have < want) {
        int i = random_task(g, gpu, false);
        if (i < 0) {
            snprintf(g->err, sizeof g->err,
                     "--constrained %.1f: only %d of %d GPU tasks can carry a spec some node "
                     "satisfies",
                     target, have, m.gpu_tasks);
            return ERR_RANGE;
        }
        have += constrain(g, i);
    }
    for (; have > want; have--) {
        int i = random_task(g, gpu, true);
        g->t.v[i].spec = "";
    }
    return 0;
}

/* Make CPU-only tasks ask target/100 x CPU_UNIT % of all CPU requested. */
static int set_cpu(struct gen *g, double target)
{
    double share = target / 100.0 * CPU_UNIT;
    struct mix m;
    measure(&g->t, &m);
    while (pct(m.cpu_only, m.cpu_all) < share) {
        const struct rows *p = &g->pool[K_CPU];
        if (p->n == 0 || g->t.n >= MAX_TASKS) {
            snprintf(g->err, sizeof g->err, "--cpu %.1f: %s", target,
                     p->n ? "too many tasks" : "the base has no CPU-only task");
            return ERR_RANGE;
        }
        struct row *r = push(&g->t, &p->v[pick(g, p->n)]);
        r->key = (double)(rng_next(&g->rng) >> 11) / (double)(1ull << 53) * (double)g->t.n;
        m.cpu_only += r->cpu;
        m.cpu_all += r->cpu;
    }
    while (pct(m.cpu_only, m.cpu_all) > share) {
        int i = random_any(g, 1u << K_CPU);
        if (i < 0)
            break;
        g->t.v[i].gone = true;
        m.cpu_only -= g->t.v[i].cpu;
        m.cpu_all -= g->t.v[i].cpu;
    }
    return 0;
}

/* The steps that leave the GPU demand as it is. */
static int set_rest(struct gen *g, const struct opts *o)
{
    int rc = 0;
    if (o->constrained >= 0)
        rc = set_constrained(g, o->constrained);
    if (!rc && o->cpu >= 0)
        rc = set_cpu(g, o->cpu);
    return rc;
}

static int generate(struct gen *g, const struct opts *o)
{
    int rc = 0;
    struct mix m;
    bool both = o->sharing >= 0 && o->multi >= 0;
    if (both && o->sharing + o->multi > 100) {
        snprintf(g->err, sizeof g->err,
                 "--sharing %.1f with --multi %.1f: the two shares of the GPU demand pass 100 %%",
                 o->sharing, o->multi);
        return ERR_RANGE;
    }
    /* Together, each moves the other's ratio: multi first, then sharing
     * (whole single-GPU tasks only), until both hold; sharing may get stuck
     * in a round while multi-GPU tasks still hold too much of the demand. */
    for (int round = 0; round < MAX_ROUNDS && !rc; round++) {
        if (o->multi >= 0)
            rc = set_multi(g, o->multi);
        if (!rc && o->sharing >= 0)
            rc = set_sharing(g, o->sharing, both);
        if (!both)
            break;
        measure(&g->t, &m);
        bool held = fabs(pct(m.share, m.gpu) - o->sharing) <= TOLERANCE &&
                    fabs(pct(m.multi, m.gpu) - o->multi) <= TOLERANCE;
        if (held)
            return set_rest(g, o);
        if (round < MAX_ROUNDS - 1) {
            rc = 0;
            continue;
        }
        snprintf(g->err, sizeof g->err,
                 "--sharing %.1f with --multi %.1f: not reached (%.2f %% and %.2f %%)", o->sharing,
                 o->multi, pct(m.share, m.gpu), pct(m.multi, m.gpu));
        rc = ERR_RANGE;
    }
    return rc ? rc : set_rest(g, o);
}

/* ---- output ---- */

static int by_key(const void *a, const void *b)
{
    double x = (*(const struct row *const *)a)->key, y = (*(const struct row *const *)b)->key;
    return (x > y) - (x < y);
}

static int write_trace(struct gen *g, const char *path)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        snprintf(g->err, sizeof g->err, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    struct row **order = mem_alloc(sizeof *order * (size_t)(g->t.n ? g->t.n : 1));
    int n = 0;
    for (int i = 0; i < g->t.n; i++)
        if (!g->t.v[i].gone)
            order[n++] = &g->t.v[i];
    qsort(order, (size_t)n, sizeof *order, by_key);
    fprintf(f, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
               "creation_time,deletion_time,scheduled_time\n");
    for (int i = 0; i < n; i++) {
        const struct row *r = order[i];
        fprintf(f, "gen-pod-%05d,%lld,%lld,%d,%d,%s,%s,%s,%s,%s,%s\n", i, (long long)r->cpu,
                (long long)r->mem, r->num_gpu, r->milli, r->spec, r->qos, r->phase, r->created,
                r->deleted, r->scheduled);
    }
    free(order);
    int bad = ferror(f);
    if (path)
        bad |= fclose(f);
    else
        bad |= fflush(f);
    if (bad) {
        snprintf(g->err, sizeof g->err, "%s: write failed", path ? path : "stdout");
        return ERR_IO;
    }
    return 0;
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr,
            "usage: vgpu-tracegen --pods BASE.csv [--seed S] [--out FILE]\n"
            "         [--sharing P] [--multi P] [--constrained P --nodes NODES.csv\n"
            "          [--spec-from GPUSPEC.csv]] [--cpu P]\n"
            "--sharing P: sharing tasks ask P %% of the GPU demand (gpushareNN)\n"
            "--multi P: multi-GPU tasks ask P %% of the GPU demand (multigpuNN)\n"
            "--constrained P: P %% of the GPU tasks name GPU models (gpuspecNN); specs\n"
            "  drawn from --spec-from (default: the base) that some node could satisfy\n"
            "--cpu P: CPU-only tasks ask P/100 x %.1f %% of the CPU requested (cpuNNN)\n"
            "Writes the trace (openb columns) to stdout or --out, the mix to stderr.\n",
            CPU_UNIT);
    return 2;
}

static int parse_pct(const char *k, const char *v, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double x = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || errno || !(x >= 0 && x <= max)) {
        fprintf(stderr, "vgpu-tracegen: %s \"%s\": want a number 0..%g\n", k, v ? v : "", max);
        return 2;
    }
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.sharing = -1, .multi = -1, .constrained = -1, .cpu = -1};
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!v)
            return usage();
        if (strcmp(k, "--pods") == 0)
            o->pods = v;
        else if (strcmp(k, "--nodes") == 0)
            o->nodes = v;
        else if (strcmp(k, "--spec-from") == 0)
            o->spec_from = v;
        else if (strcmp(k, "--out") == 0)
            o->out = v;
        else if (strcmp(k, "--seed") == 0) {
            int64_t s;
            if (strconv_int(v, strlen(v), 0, INT64_MAX, &s))
                return fprintf(stderr, "vgpu-tracegen: --seed \"%s\": want 0 or more\n", v), 2;
            o->seed = (uint64_t)s;
        } else if (strcmp(k, "--sharing") == 0)
            rc = parse_pct(k, v, 100, &o->sharing);
        else if (strcmp(k, "--multi") == 0)
            rc = parse_pct(k, v, 100, &o->multi);
        else if (strcmp(k, "--constrained") == 0)
            rc = parse_pct(k, v, 100, &o->constrained);
        else if (strcmp(k, "--cpu") == 0) /* 100/CPU_UNIT x 100: all CPU to CPU-only */
            rc = parse_pct(k, v, floor(10000.0 / CPU_UNIT) - 1, &o->cpu);
        else
            return usage();
        if (rc)
            return rc;
    }
    if (!o->pods)
        return usage();
    if (o->constrained > 0 && !o->nodes) {
        fprintf(stderr, "vgpu-tracegen: --constrained needs --nodes (a spec is drawn only "
                        "if some node of its models could host the task)\n");
        return 2;
    }
    return 0;
}

/* The replay's columns (trace_task_cols), then the ones written back. */
static const char *const pod_cols[] = {
    "name", "cpu_milli", "memory_mib",    "num_gpu",       "gpu_milli",     "gpu_spec",
    "qos",  "pod_phase", "creation_time", "deletion_time", "scheduled_time"};

int main(int argc, char **argv)
{
    base_init();
    struct opts o;
    struct gen g = {0};
    char *pods = NULL, *nodes = NULL, *specs = NULL;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    g.rng = o.seed * 7919 + 17;
    rc = read_csv(&g, o.pods, &pods, pod_cols, 11, 5, pod_row);
    if (!rc && g.t.n == 0) {
        snprintf(g.err, sizeof g.err, "%s: no tasks", o.pods);
        rc = ERR_INVAL;
    }
    if (!rc && o.nodes)
        rc = read_csv(&g, o.nodes, &nodes, trace_node_cols, 5, 5, node_row);
    if (!rc && o.spec_from)
        rc = read_csv(&g, o.spec_from, &specs, pod_cols, 11, 5, spec_row);
    if (rc)
        goto out;
    for (int i = 0; i < g.t.n; i++) {
        push(&g.pool[kind_of(&g.t.v[i])], &g.t.v[i]);
        if (!o.spec_from && g.t.v[i].spec[0] && g.t.v[i].num_gpu > 0)
            push(&g.specs[kind_of(&g.t.v[i])], &g.t.v[i]);
    }
    rc = generate(&g, &o);
    if (!rc)
        rc = write_trace(&g, o.out);
    if (!rc) {
        struct mix m;
        measure(&g.t, &m);
        fprintf(stderr,
                "# vgpu-tracegen: %d tasks, %d GPU tasks; sharing %.2f %% and multi-GPU %.2f %% "
                "of the GPU demand; %.2f %% of GPU tasks constrained; CPU-only %.2f %% of the "
                "CPU requested (--cpu %.1f)\n",
                m.tasks, m.gpu_tasks, pct(m.share, m.gpu), pct(m.multi, m.gpu),
                pct(m.constrained, m.gpu_tasks), pct(m.cpu_only, m.cpu_all),
                pct(m.cpu_only, m.cpu_all) / CPU_UNIT * 100);
    }
out:
    if (rc)
        fprintf(stderr, "vgpu-tracegen: %s\n", g.err[0] ? g.err : err_name(rc));
    free(g.t.v);
    for (int k = 0; k < K_COUNT; k++) {
        free(g.pool[k].v);
        free(g.specs[k].v);
    }
    free(g.nodes);
    free(pods);
    free(nodes);
    free(specs);
    return rc ? 2 : 0;
}

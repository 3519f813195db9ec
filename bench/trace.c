#include "bench/trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "bench/csv.h"
#include "policy/policy.h"

#define LINE_MAX_  4096
#define MAX_FIELDS 64
#define CPU_MAX    100000000  /* milli-CPU of one row: 100,000 cores */
#define MEM_MAX    1000000000 /* MiB of one row: about 954 TiB */

/* Open path into *fp and map the wanted columns (the first 5 required).
 * Returns 0, ERR_IO (cannot open) or ERR_INVAL (a column missing), the
 * error printed. */
static int open_csv(const char *path, const char *const *want, int nwant, int *col, FILE **fp)
{
    char line[LINE_MAX_], *hdr[MAX_FIELDS];
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vgpu-replay: %s: %s\n", path, strerror(errno));
        return ERR_IO;
    }
    int n = fgets(line, sizeof line, f) ? csv_split(line, hdr, MAX_FIELDS) : 0;
    for (int i = 0; i < nwant; i++) {
        col[i] = csv_column(hdr, n, want[i]);
        if (col[i] < 0 && i < 5) {
            fprintf(stderr, "vgpu-replay: %s: no column \"%s\"\n", path, want[i]);
            fclose(f);
            return ERR_INVAL;
        }
    }
    *fp = f;
    return 0;
}

/* The next data line of fp, split into f (*n fields): 1, 0 at the end, or
 * -1 after a message naming path:line (a line over LINE_MAX_ bytes or
 * holding a NUL byte, or more than MAX_FIELDS fields). Skips blank lines. */
static int next_row(FILE *fp, const char *path, int *line, char *buf, char **f, int *n)
{
    while (fgets(buf, LINE_MAX_, fp)) {
        size_t len = strlen(buf);
        ++*line;
        if (len > 0 && buf[len - 1] != '\n' && !feof(fp)) {
            fprintf(stderr, "vgpu-replay: %s:%d: a line over %d bytes or with a NUL byte\n", path,
                    *line, LINE_MAX_ - 2);
            return -1;
        }
        if (buf[strspn(buf, "\r\n")] == '\0')
            continue;
        *n = csv_split(buf, f, MAX_FIELDS);
        if (*n >= 0)
            return 1;
        fprintf(stderr, "vgpu-replay: %s:%d: more than %d fields\n", path, *line, MAX_FIELDS);
        return -1;
    }
    return 0;
}

/* After the rows: -1 (a message is out), or whether any row was read. */
static int rows_done(int rc, const char *path, int rows)
{
    if (rc == 0 && rows == 0)
        fprintf(stderr, "vgpu-replay: %s: no rows under the header\n", path);
    return rc < 0 || rows == 0 ? ERR_INVAL : 0;
}

const char *const trace_node_cols[5] = {"sn", "cpu_milli", "memory_mib", "gpu", "model"};
const char *const trace_task_cols[6] = {"name",    "cpu_milli", "memory_mib",
                                        "num_gpu", "gpu_milli", "gpu_spec"};

int trace_node_parse(char *const *f, int n, const int *col, struct node_row *r, char *err,
                     size_t cap)
{
    int64_t cpu, mem, gpus;
    if (col[0] >= n || col[4] >= n || csv_int(f, n, col[1], 0, CPU_MAX, &cpu) ||
        csv_int(f, n, col[2], 0, MEM_MAX, &mem) ||
        csv_int(f, n, col[3], 0, POLICY_MAX_DEVICES, &gpus)) {
        snprintf(err, cap,
                 "needs sn, model, cpu_milli (0..%d), memory_mib (0..%d) and gpu (0..%d) as "
                 "integers",
                 CPU_MAX, MEM_MAX, POLICY_MAX_DEVICES);
        return ERR_INVAL;
    }
    if (strlen(f[col[0]]) >= sizeof r->name || strlen(f[col[4]]) >= sizeof r->model) {
        snprintf(err, cap, "sn \"%.40s\" or model \"%.40s\" longer than %zu / %zu bytes", f[col[0]],
                 f[col[4]], sizeof r->name - 1, sizeof r->model - 1);
        return ERR_INVAL;
    }
    snprintf(r->name, sizeof r->name, "%s", f[col[0]]);
    snprintf(r->model, sizeof r->model, "%s", f[col[4]]);
    r->cpu = cpu;
    r->mem = mem;
    r->gpus = (int)gpus;
    return 0;
}

int trace_task_parse(char *const *f, int n, const int *col, struct task *k, char *err, size_t cap)
{
    int64_t cpu, mem, num, milli;
    const char *spec = col[5] >= 0 && col[5] < n ? f[col[5]] : "";
    size_t len = strlen(spec);
    if (csv_int(f, n, col[1], 0, CPU_MAX, &cpu) || csv_int(f, n, col[2], 0, MEM_MAX, &mem) ||
        csv_int(f, n, col[3], 0, POLICY_MAX_DEVICES, &num) ||
        csv_int(f, n, col[4], 0, POLICY_MILLI, &milli)) {
        snprintf(err, cap,
                 "needs cpu_milli (0..%d), memory_mib (0..%d), num_gpu (0..%d) and gpu_milli "
                 "(0..%d) as integers",
                 CPU_MAX, MEM_MAX, POLICY_MAX_DEVICES, POLICY_MILLI);
        return ERR_INVAL;
    }
    if (num == 1 && milli < 10) { /* its share is counted in whole percent */
        snprintf(err, cap, "a 1-GPU task needs gpu_milli 10..%d, not %lld", POLICY_MILLI,
                 (long long)milli);
        return ERR_INVAL;
    }
    if (len >= sizeof k->spec ||
        strspn(spec, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789|-_.") != len) {
        snprintf(err, cap, "gpu_spec \"%.40s\" is not models joined by | (under %zu bytes)", spec,
                 sizeof k->spec);
        return ERR_INVAL;
    }
    k->cpu = cpu;
    k->mem = mem;
    k->num_gpu = (int)num;
    k->milli = num == 0 ? 0 : num > 1 ? POLICY_MILLI : (int)milli;
    for (size_t i = 0; i <= len; i++)
        k->spec[i] = spec[i] == '|' ? ',' : spec[i];
    return 0;
}

/* Append one row to t: 0, or ERR_* with the reason in err. */
typedef int (*row_fn)(char *const *f, int n, const int *col, struct trace *t, char *err,
                      size_t cap);

static int node_append(char *const *f, int n, const int *col, struct trace *t, char *err,
                       size_t cap)
{
    if (t->nnodes % 1024 == 0)
        t->nodes = mem_realloc(t->nodes, sizeof *t->nodes * (size_t)(t->nnodes + 1024));
    int rc = trace_node_parse(f, n, col, &t->nodes[t->nnodes], err, cap);
    if (!rc)
        t->capacity += t->nodes[t->nnodes++].gpus * POLICY_MILLI;
    return rc;
}

static int task_append(char *const *f, int n, const int *col, struct trace *t, char *err,
                       size_t cap)
{
    if (t->ntasks == TRACE_MAX_TASKS) {
        snprintf(err, cap, "more than %d tasks", TRACE_MAX_TASKS);
        return ERR_TOOBIG;
    }
    if (t->ntasks % 4096 == 0)
        t->tasks = mem_realloc(t->tasks, sizeof *t->tasks * (size_t)(t->ntasks + 4096));
    int rc = trace_task_parse(f, n, col, &t->tasks[t->ntasks], err, cap);
    t->ntasks += !rc;
    return rc;
}

/* Every row of path (columns cols) through row(); *rows counts them. */
static int load(const char *path, const char *const *cols, int ncols, row_fn row, struct trace *t,
                const int *rows)
{
    char line[LINE_MAX_], *f[MAX_FIELDS], err[256];
    int col[6], at = 1, n, rc;
    FILE *fp = NULL;
    if ((rc = open_csv(path, cols, ncols, col, &fp)))
        return rc;
    while ((rc = next_row(fp, path, &at, line, f, &n)) > 0) {
        if (row(f, n, col, t, err, sizeof err)) {
            fprintf(stderr, "vgpu-replay: %s:%d: %s\n", path, at, err);
            rc = -1;
            break;
        }
    }
    fclose(fp);
    return rows_done(rc, path, *rows);
}

int trace_load_nodes(const char *path, struct trace *t)
{
    return load(path, trace_node_cols, 5, node_append, t, &t->nnodes);
}

int trace_load_tasks(const char *path, struct trace *t)
{
    return load(path, trace_task_cols, 6, task_append, t, &t->ntasks);
}

int trace_scale(struct trace *t, int k, char *err, size_t cap)
{
    if (k < 1 || k > TRACE_MAX_SCALE) {
        snprintf(err, cap, "scale %d: from 1 to %d", k, TRACE_MAX_SCALE);
        return ERR_INVAL;
    }
    if ((int64_t)t->ntasks * k > TRACE_MAX_TASKS) {
        snprintf(err, cap, "%d tasks x %d: more than %d", t->ntasks, k, TRACE_MAX_TASKS);
        return ERR_TOOBIG;
    }
    for (int i = 0; i < t->nnodes; i++)
        if (strlen(t->nodes[i].name) > 59) {
            snprintf(err, cap, "node %s: name too long to copy", t->nodes[i].name);
            return ERR_INVAL;
        }
    int n = t->nnodes, m = t->ntasks;
    t->nodes = mem_realloc(t->nodes, sizeof *t->nodes * (size_t)(n * k + 1));
    t->tasks = mem_realloc(t->tasks, sizeof *t->tasks * (size_t)(m * k + 1));
    for (int c = 1; c < k; c++) {
        for (int i = 0; i < n; i++) {
            const struct node_row *o = &t->nodes[i];
            struct node_row r = *o;
            snprintf(r.name, sizeof r.name, "%.59s#%d", o->name, c % 100); /* c < 64 */
            t->nodes[c * n + i] = r;
        }
        memcpy(t->tasks + (size_t)c * (size_t)m, t->tasks, sizeof *t->tasks * (size_t)m);
    }
    t->nnodes = n * k;
    t->ntasks = m * k;
    t->capacity *= k;
    return 0;
}

void trace_free(struct trace *t)
{
    free(t->nodes);
    free(t->tasks);
    t->nodes = NULL;
    t->tasks = NULL;
    t->nnodes = t->ntasks = 0;
}

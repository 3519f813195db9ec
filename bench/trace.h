/* trace: the openb CSV files vgpu-replay reads (a node list and a task
 * list), checked row by row. */
#ifndef VS_BENCH_TRACE_H
#define VS_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_MAX_TASKS 1000000 /* rows one task list may hold (the replay draws no more) */

struct node_row {
    char name[64], model[32];
    int64_t cpu, mem;
    int gpus;
};

struct task {
    int64_t cpu, mem;
    int num_gpu, milli;
    char spec[96]; /* comma list of models; "" = any */
};

struct trace {
    struct node_row *nodes;
    int nnodes;
    struct task *tasks;
    int ntasks;
    int64_t capacity; /* milli-GPU */
};

/* The columns each list must have, in the order the col arrays below use
 * (trace_task_cols' gpu_spec is optional: col[5] -1). */
extern const char *const trace_node_cols[5]; /* sn, cpu_milli, memory_mib, gpu, model */
extern const char *const trace_task_cols[6]; /* name, cpu_milli, memory_mib, num_gpu,
                                                gpu_milli, gpu_spec */

/* One row's rules, shared by vgpu-replay and vgpu-tracegen: fields
 * f[0..n), col[i] the field of column i above. Fill r (or k) and return
 * 0, or return ERR_INVAL with the reason in err (the caller names the file
 * and line). A task of several GPUs takes them whole (k->milli 1000), a
 * CPU-only task none; gpu_spec is models joined by '|' (k->spec has them
 * joined by ','). */
int trace_node_parse(char *const *f, int n, const int *col, struct node_row *r, char *err,
                     size_t cap);
int trace_task_parse(char *const *f, int n, const int *col, struct task *k, char *err, size_t cap);

/* Append the rows of the node list at path to t (columns sn, cpu_milli,
 * memory_mib, gpu, model). Returns 0, ERR_IO when it cannot be opened, or
 * ERR_INVAL for a missing column, no rows or a row it cannot read; each
 * error is printed to stderr with the file (and line). t keeps what was
 * read either way: trace_free releases it. */
int trace_load_nodes(const char *path, struct trace *t);
/* The same for the task list (name, cpu_milli, memory_mib, num_gpu,
 * gpu_milli; gpu_spec optional). */
int trace_load_tasks(const char *path, struct trace *t);
/* A cluster k times as large (1 <= k <= TRACE_MAX_SCALE): every node
 * k times (copy i > 0 named "<name>#<i>", which no node list's name can
 * be) and every task k times, so the mix stays the trace's. 0, or ERR_INVAL
 * / ERR_TOOBIG with the reason in err; t is unchanged then. */
#define TRACE_MAX_SCALE 64
int trace_scale(struct trace *t, int k, char *err, size_t cap);
/* Release what the loaders read (t itself is the caller's). */
void trace_free(struct trace *t);

#endif

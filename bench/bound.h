/* bound: what no placement of a set of arrived tasks could exceed.
 *
 * An upper bound on the GPU capacity (milli-GPU) that any placement of the
 * given tasks onto the given nodes can allocate, under the rules of the
 * openb experiment (../shared/data/openb/README.md): a shared task takes
 * gpu_milli of one GPU, an N-GPU task N whole GPUs of one node, CPU and
 * memory fit the node, the node's model is in gpu_spec when set.
 *
 * It is the optimum of a linear relaxation (bench/lp.h, certified by weak
 * duality). Every task may be placed in part (x between 0 and its count);
 * for each set H of node classes that is the exact host set of some task,
 * the tasks that can only go to H must fit in H's
 *   - GPUs, counted by sizes and by the dual feasible functions U_e of
 *     Fekete and Schepers for e in 0.05..0.5 (a share s counts 1 when
 *     s > 1 - e, 0 when s < e, s otherwise; a whole GPU counts 1): no GPU
 *     holds shares whose U_e sum past 1, which is what makes two 0.6 shares
 *     need two GPUs;
 *   - CPU and memory, in total.
 * Per-node CPU against GPU (a node whose CPU runs out before its GPUs) is
 * not modelled, so the bound is loose where that is what strands GPUs.
 *
 * Pure: no I/O. */
#ifndef VS_BENCH_BOUND_H
#define VS_BENCH_BOUND_H

#include <stdint.h>

/* One node. Strings are borrowed for the call. */
struct bound_node {
    const char *model;
    int64_t cpu_milli, mem_mib;
    int gpus;
};

/* One kind of task and how many of it arrived. milli: the share of one GPU
 * when num_gpu == 1 (POLICY_MILLI = the whole card); ignored otherwise. spec: ""
 * or NULL for any model, else models separated by ',' (use-gputype's
 * rule: a node's model matches when it contains one of them). */
struct bound_task {
    int64_t cpu_milli, mem_mib;
    int num_gpu, milli;
    const char *spec;
    double count;
};

/* The bound in milli-GPU, or -1 on bad input (no nodes, more than 64 node
 * classes). Tasks asking no GPU do not count (they can always be left out). */
double bound_allocation(const struct bound_node *nodes, int nnodes, const struct bound_task *tasks,
                        int ntasks);

/* What a best-fit-decreasing packing of the arrived one-GPU shares
 * (num_gpu == 1, 0 < milli < POLICY_MILLI; counts rounded) leaves unused on
 * the GPUs it opens, in milli-GPU: each share, largest first, goes to the
 * open GPU with the least room that holds it, or opens one. Nodes, models,
 * CPU and memory play no part.
 *
 * An estimate, not a bound either way: a scheduler places every pod that
 * fits, so the shares that arrive take GPUs and leave these remainders
 * (an 0.81 share's 0.19 that only shares of 0.19 or less can use); capacity
 * minus this waste is what an offline packer of the shares would hold if
 * every other task filled whole GPUs exactly. bound_allocation instead may
 * leave shares out, which a scheduler may not. vgpu-replay --packing prints
 * it per point (bench/README.md, issue 20's multi-GPU variants). */
double bound_share_waste(const struct bound_task *tasks, int ntasks);

/* The least room any packing of the arrived one-GPU shares (as
 * bound_share_waste counts them) leaves on the GPUs it takes, in
 * milli-GPU: a lower bound on the GPUs that hold them all, times
 * POLICY_MILLI, less the shares' sum. The bound on the GPUs is the cutting
 * stock relaxation, certified by weak duality: prices y_s >= 0 per share
 * size such that no card's contents price above 1 make sum n_s y_s a bound
 * on the cards (bench/lp.h finds the prices; they are checked and scaled
 * here against every fullest card content, so an unfinished solve only
 * weakens it). Exact on the openb share sizes so far: it equals an integer
 * optimum of the cutting stock problem (glpsol) on every arrival checked.
 * Capacity less this room is what no scheduler that places every arrived
 * share can exceed (vgpu-replay --share-floor). -1 past SHARE_SIZES share
 * sizes or SHARE_CONFIGS fullest card contents (the work is per content). */
double bound_share_floor(const struct bound_task *tasks, int ntasks);

#endif

/* node_fragment.c: fragmentation-aware placement.
 *
 * The idea of Fragmentation Gradient Descent (Weng et al., USENIX ATC '23):
 * place each pod on the node and GPUs where its arrival increases the
 * node's fragmentation (workload.h) the least, measured against the
 * workload the cluster expects (opts->state, a struct workload). Ties go
 * toward packing: the node already fuller by HAMi's score. Pods that ask no
 * GPU are placed too: the CPU and memory they take can make a node's GPUs
 * unusable for the shapes that need that CPU.
 *
 * opts->scratch, when set, is the calling thread's workload memo. */
#include "policy/policy.h"
#include "policy/workload.h"

#include <string.h>

#define PACK_WEIGHT 1e-6 /* far below any difference in fragmentation */

static double frag(const struct policy_opts *o, const struct policy_node *node,
                   const struct policy_usage *u, const struct policy_pod *pod, bool with_pod)
{
    if (!o->state)
        return 0;
    int64_t cpu = node->cpu_used_milli + (with_pod ? pod->cpu_milli : 0);
    int64_t mem = node->mem_used_mib + (with_pod ? pod->mem_mib : 0);
    return workload_fragment_memo(o->state, o->scratch, node, u, cpu, mem);
}

static double score(const struct policy_node *node, const struct policy_placement *pl,
                    const struct policy_pod *pod, const struct policy_opts *opts)
{
    double delta = frag(opts, node, pl->after, pod, true) - frag(opts, node, node->use, pod, false);
    return delta - PACK_WEIGHT * policy_node_usage_score(node, node->use);
}

/* 0 fragmentation added (or removed) -> 10; each tenth of a GPU one less;
 * a whole GPU's worth -> 0. */
static int priority(double s)
{
    int p = 10 - (int)(s / (POLICY_MILLI / 10.0) + 0.5);
    return p < 0 ? 0 : p > 10 ? 10 : p;
}

static bool same_state(const struct policy_node *n, const struct policy_usage *u, int a, int b)
{
    const struct policy_device *x = &n->dev[a], *y = &n->dev[b];
    return x->type == y->type && x->devmem == y->devmem && x->devcore == y->devcore &&
           x->count == y->count && u[a].used == u[b].used && u[a].mem == u[b].mem &&
           u[a].cores == u[b].cores;
}

static void add(struct policy_usage *u, const struct policy_ctr *c, const struct policy_device *d,
                int sign)
{
    u->used += sign;
    u->cores += sign * c->cores;
    u->mem += sign * policy_ctr_mem(c, d);
}

/* Greedy: each GPU in turn where it leaves the least fragmentation; among
 * equals the GPU policy's order decides. Devices in equal states are
 * evaluated once. */
static void pick(const struct policy_node *node, const struct policy_usage *u,
                 const struct policy_pod *pod, int ci, const uint8_t *fit, int nfit, int k,
                 uint8_t *out, const struct policy_opts *opts)
{
    struct policy_usage work[POLICY_MAX_DEVICES];
    bool taken[POLICY_MAX_DEVICES] = {false};
    const struct policy_ctr *c = &pod->ctr[ci];
    memcpy(work, u, sizeof work[0] * (size_t)node->ndev);
    for (int m = 0; m < k; m++) {
        int best = -1;
        double bf = 0;
        for (int i = 0; i < nfit; i++) {
            bool seen = taken[i];
            for (int j = 0; j < i && !seen; j++)
                seen = !taken[j] && same_state(node, work, fit[i], fit[j]);
            if (seen)
                continue;
            add(&work[fit[i]], c, &node->dev[fit[i]], +1);
            double f = frag(opts, node, work, pod, true);
            add(&work[fit[i]], c, &node->dev[fit[i]], -1);
            if (best < 0 || f < bf - 1e-9) {
                best = i;
                bf = f;
            }
        }
        taken[best] = true;
        out[m] = fit[best];
        add(&work[fit[best]], c, &node->dev[fit[best]], +1);
    }
}

const struct policy_node_policy policy_fragment = {
    .name = "fragment-aware",
    .prefer_low = true,
    .cpu_pods = true,
    .learns = true,
    .score = score,
    .priority_cards = true,
    .priority = priority,
    .pick = pick,
};

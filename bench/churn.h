/* churn: running pods that change at a steady rate, written to a fake API
 * server (tests/support/fakeapi.h) the way other clients write them, so
 * that a service watching it sees a stream of pod events (issue 21: filter
 * under churn). Used by vgpu-bench --churn and by its test.
 *
 * The cluster's nodes are the caller's, named node-%05d (0..nodes-1), each
 * with GPUs GPU-%05d-%02d (0..gpus-1) of at least 16 GiB (churn_node_json
 * writes such a node). The driver keeps `pods` running pods in namespace
 * "churn", each bound (spec.nodeName, bind-phase success) to one GPU of the
 * first half of a node's GPUs with HAMi's allocation annotation of 1-4 GiB
 * and 5-20 % (at most 4 pods per GPU, so any of them fits on the node),
 * and asking the same in its spec. Each step is one change, in turn: a pod
 * deleted, a new one added (so the count stays within one of `pods`), and
 * another pod's allocation modified (its memory and cores).
 *
 * Not thread-safe: one thread drives a churn. */
#ifndef VS_BENCH_CHURN_H
#define VS_BENCH_CHURN_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/buf.h"

struct fakeapi;

#define CHURN_NS "churn"

struct churn_options {
    int nodes, gpus; /* the cluster's, as above */
    int pods;        /* the steady count, 1..nodes * (gpus / 2 or 1) * 4 */
    unsigned seed;
};

struct churn;

/* A churn over f (borrowed; outlives it). NULL when the options are out of
 * range. Free with churn_destroy (accepts NULL). */
struct churn *churn_create(struct fakeapi *f, const struct churn_options *o);
void churn_destroy(struct churn *c);

/* Put the steady count of pods (not counted as changes). 0, or -1 when the
 * fake refused one. */
int churn_fill(struct churn *c);
/* One change (delete, add, modify in turn). 0, or -1 when the fake refused
 * it (counted in failed). */
int churn_step(struct churn *c);
/* Steps at `rate` per second, paced on the monotonic clock, until `max`
 * steps (0: no limit), `seconds` (0: no limit) or *stop (may be NULL). A
 * driver that falls behind catches up at once, at most one second's worth
 * at a time. Returns the steps made; progress (may be NULL) gets them
 * added as they are made, for another thread to read. */
unsigned long churn_run(struct churn *c, double rate, double seconds, unsigned long max,
                        atomic_bool *stop, atomic_ulong *progress);

struct churn_stats {
    unsigned long added, modified, deleted, failed; /* changes since churn_fill */
    int pods;                                       /* running now */
};
void churn_stats(const struct churn *c, struct churn_stats *out);

/* The pods that exist as the driver wrote them: a new object (caller frees)
 * uid -> {"node": name, "gpu": uuid, "memMiB": n, "cores": n}. */
cJSON *churn_expected(const struct churn *c);

/* A plain NVIDIA node as the churn expects: node-%05d with `gpus` GPUs of
 * 10 slots, 81920 MiB and 100 cores, HAMi's register annotation. Appends
 * to b. */
void churn_node_json(struct buf *b, int i, int gpus);

#endif

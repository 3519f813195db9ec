/* policy_bench: the engine alone, on one core. Prints ns per node evaluation
 * and the time to choose among N nodes x G GPUs with half the GPUs partly
 * used, and the time of the pass the service runs on every copy of the
 * learner it publishes (prior, scarcity, pressure: place.c holds the
 * cache's read lock for it). A program that prints figures, never a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/init.h"
#include "base/mem.h"
#include "policy/device.h"
#include "policy/policy.h"
#include "policy/workload.h"

static const char *const models[] = {"NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB",
                                     "NVIDIA-Tesla-T4"};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct cluster {
    int n, g;
    struct policy_node *nodes;
    const struct policy_node **ptrs;
    struct policy_device *dev;
    struct policy_usage *use;
    char *names;
};

static void cluster_make(struct cluster *c, int n, int g, unsigned seed)
{
    c->n = n;
    c->g = g;
    c->nodes = mem_zalloc(sizeof *c->nodes * (size_t)n);
    c->ptrs = mem_zalloc(sizeof *c->ptrs * (size_t)n);
    c->dev = mem_zalloc(sizeof *c->dev * (size_t)(n * g));
    c->use = mem_zalloc(sizeof *c->use * (size_t)(n * g));
    c->names = mem_zalloc((size_t)n * 32 + (size_t)(n * g) * 16);
    char *uuids = c->names + (size_t)n * 32;
    srand(seed);
    for (int i = 0; i < n; i++) {
        char *name = c->names + (size_t)i * 32;
        snprintf(name, 32, "gpu-node-%05d", i);
        const char *model = models[i % 3];
        for (int j = 0; j < g; j++) {
            int k = i * g + j;
            char *uuid = uuids + (size_t)k * 16;
            snprintf(uuid, 16, "GPU-%d-%d", i, j);
            c->dev[k] = (struct policy_device){.uuid = uuid,
                                               .type = model,
                                               .mode = "hami-core",
                                               .index = j,
                                               .numa = j * 2 / g,
                                               .count = 10,
                                               .devcore = 100,
                                               .devmem = 81920,
                                               .health = true};
            if (rand() % 2) {
                int pods = 1 + rand() % 4;
                c->use[k] = (struct policy_usage){pods, pods * (5 + rand() % 20),
                                                  (int64_t)pods * (2048 + rand() % 16384)};
            }
        }
        c->nodes[i] = (struct policy_node){
            .name = name, .ndev = g, .dev = &c->dev[i * g], .use = &c->use[i * g]};
        c->nodes[i].vendor = policy_node_vendor(c->nodes[i].dev, g); /* as the cache sets it */
        c->ptrs[i] = &c->nodes[i];
    }
}

static void cluster_free(struct cluster *c)
{
    free(c->nodes);
    free(c->ptrs);
    free(c->dev);
    free(c->use);
    free(c->names);
}

static void make_pod(struct policy_pod *p, int nums, int mem, int cores)
{
    memset(p, 0, sizeof *p);
    p->name = "bench";
    p->nctr = 1;
    p->ctr[0] = (struct policy_ctr){.name = "main", .nums = nums, .mem = mem, .cores = cores};
    p->w = (struct policy_weights){1, 1, 1};
    p->quota_mem = p->quota_cores = -1;
}

static void run(const char *label, struct cluster *c, const struct policy_pod *pod,
                const struct policy_opts *o, int reps)
{
    struct policy_verdict *v = mem_alloc(sizeof *v * (size_t)c->n);
    struct policy_placement *best = mem_alloc(sizeof *best);
    double *t = mem_alloc(sizeof *t * (size_t)reps);
    int chosen = -1, fits = 0;
    for (int r = 0; r < reps / 5 + 1; r++) /* warm caches and the branch predictor */
        policy_choose(pod, c->ptrs, c->n, o, v, best);
    for (int r = 0; r < reps; r++) {
        double t0 = now_ns();
        chosen = policy_choose(pod, c->ptrs, c->n, o, v, best);
        t[r] = now_ns() - t0;
    }
    for (int i = 0; i < c->n; i++)
        fits += v[i].fits;
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("%-34s nodes=%d gpus=%d fit=%d chosen=%d  choose p50 %.3f ms  p99 %.3f ms  "
           "per node %.0f ns\n",
           label, c->n, c->g, fits, chosen, t[reps / 2] / 1e6, t[reps * 99 / 100] / 1e6,
           t[reps / 2] / c->n);
    free(v);
    free(best);
    free(t);
}

/* A learner full of shapes (WORKLOAD_MAX_SHAPES, 1 to g GPUs, cores and
 * CPU varied, none asking a whole node) meets the nodes as place.c's
 * publish does: the prior's whole-node shapes, scarcity, pressure. */
static void run_publish(struct cluster *c, int reps)
{
    for (int i = 0; i < c->n; i++) { /* three host sizes per model: nine kinds for the prior */
        c->nodes[i].cpu_milli = 64000 + 32000 * (i / 3 % 3);
        c->nodes[i].mem_mib = 4 * c->nodes[i].cpu_milli;
    }
    struct workload *learner = workload_create(1.0);
    for (int i = 0; i < WORKLOAD_MAX_SHAPES; i++) {
        struct policy_pod p;
        make_pod(&p, 1 + i % (c->g > 1 ? c->g - 1 : 1), 0, 5 + i % 96);
        p.ctr[0].mem_pct = p.ctr[0].cores;
        p.cpu_milli = 1000 * (1 + i / 96);
        workload_observe(learner, &p);
    }
    double *t = mem_alloc(sizeof *t * (size_t)reps), *tp = mem_alloc(sizeof *tp * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        struct workload_press press;
        struct workload *w = workload_copy(learner);
        double t0 = now_ns();
        workload_meet(w, c->ptrs, c->n);
        t[r] = now_ns() - t0;
        t0 = now_ns(); /* the pressure alone, as place.c runs it every 16 binds */
        workload_pressed(w, c->ptrs, c->n, &press);
        tp[r] = now_ns() - t0;
        workload_destroy(w);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    qsort(tp, (size_t)reps, sizeof *tp, cmp_double);
    printf("%-34s nodes=%d gpus=%d shapes=%zu  pass p50 %.3f ms  p99 %.3f ms  "
           "pressure alone p50 %.3f ms\n",
           "publish: prior, scarcity, pressure", c->n, c->g, workload_size(learner),
           t[reps / 2] / 1e6, t[reps * 99 / 100] / 1e6, tp[reps / 2] / 1e6);
    free(t);
    free(tp);
    workload_destroy(learner);
}

int main(int argc, char **argv)
{
    base_init();
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    int g = argc > 2 ? atoi(argv[2]) : 8;
    int reps = argc > 3 ? atoi(argv[3]) : 200;
    if (n < 1 || n > 100000 || g < 1 || g > 16 || reps < 1 || reps > 100000) {
        fprintf(stderr, "usage: policy_bench [nodes 1..100000] [gpus 1..16] [reps]\n");
        return 2;
    }
    struct cluster c;
    cluster_make(&c, n, g, 42);
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_SPREAD}}};
    struct policy_pod p;

    make_pod(&p, 1, 10240, 30);
    run("1 GPU 10GiB 30% binpack/spread", &c, &p, &o, reps);
    o.node_policy = policy_node_policy_find("spread");
    o.gpu.keys[0] = POLICY_KEY_BINPACK;
    run("1 GPU 10GiB 30% spread/binpack", &c, &p, &o, reps);
    make_pod(&p, 4, 20480, 50);
    run("4 GPUs 20GiB 50% spread/binpack", &c, &p, &o, reps);
    make_pod(&p, 1, 10240, 30);
    p.use_type = "H100,A100";
    run("1 GPU use-gputype H100,A100", &c, &p, &o, reps);
    make_pod(&p, 2, 10240, 30);
    o.gpu.topology = true;
    run("2 GPUs topology-aware", &c, &p, &o, reps);
    run_publish(&c, reps / 10 + 1);
    cluster_free(&c);
    return 0;
}

/* vgpu-preempt-bench: the preempt verb's speed, in-process.
 *
 * Builds a cluster of N nodes (default 500), each with 8 GPUs of 81920 MiB
 * filled by P pods (default 20) of priorities 0..99 (every GPU full: the
 * first GPUs hold three pods, the others two), one pod per node covered by
 * a PodDisruptionBudget that allows no disruption; loads it into the cache
 * as a snapshot does, then times extender_preempt (parse the
 * ExtenderPreemptionArgs, choose the victims on every node, write the
 * ExtenderPreemptionResult) for a preemptor of priority 1000 asking one
 * whole GPU, offered every node with two victims proposed on each (as
 * kube-scheduler's NodeNameToMetaVictims). Prints p50, p99 and max in ms,
 * the fits per call, and `RESULT {json}`. HTTP is not included (vgpu-bench
 * measures the transport). A program that prints figures; never a test.
 *
 *     vgpu-preempt-bench [--nodes N] [--pods P] [--calls C] [--seconds S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/init.h"
#include "base/log.h"
#include "base/mem.h"
#include "bench/stats.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "server/extender.h"

#define GPUS 8
#define MEM  81920

static void node_json(struct buf *b, int n)
{
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
               "\"resourceVersion\":\"1\",\"annotations\":{\"hami.io/node-nvidia-register\":\"[",
               n);
    for (int g = 0; g < GPUS; g++)
        buf_printf(b,
                   "%s{\\\"id\\\":\\\"GPU-%05d-%d\\\",\\\"count\\\":10,\\\"devmem\\\":%d,"
                   "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100-SXM4-80GB\\\","
                   "\\\"health\\\":true,\\\"index\\\":%d,\\\"numa\\\":%d,"
                   "\\\"mode\\\":\\\"hami-core\\\"}",
                   g ? "," : "", n, g, MEM, g, g / 4);
    buf_printf(b, "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1Ti\","
                  "\"nvidia.com/gpu\":\"80\"}}},");
}

static void pod_json(struct buf *b, int n, int k, int pods, unsigned *seed)
{
    int g = k % GPUS, on = pods / GPUS + (g < pods % GPUS);
    int pct = 100 / (on ? on : 1), mem = MEM * pct / 100;
    *seed = *seed * 1103515245u + 12345u;
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"nb-%05d-%02d\","
               "\"namespace\":\"team-%d\",\"uid\":\"uid-%05d-%02d\",\"resourceVersion\":\"1\","
               "\"labels\":{\"app\":\"%s\"},\"annotations\":{"
               "\"hami.io/vgpu-devices-allocated\":\"GPU-%05d-%d,NVIDIA,%d,%d:;\"}},"
               "\"spec\":{\"nodeName\":\"node-%05d\",\"priority\":%u,\"containers\":[{\"name\":"
               "\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":"
               "\"%d\",\"nvidia.com/gpucores\":\"%d\"}}}]},\"status\":{\"phase\":\"Running\"}},",
               n, k, n % 4, n, k, k == 0 ? "protected" : "notebook", n, g, mem, pct, n,
               (*seed >> 16) % 100, mem, pct);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int nodes = 500, pods = 20, calls = 200, seconds = 20, quota = 0, rc = 1;
    unsigned seed = 7;
    struct buf snap = BUF_INIT((size_t)1 << 30), body = BUF_INIT((size_t)1 << 28);
    struct buf out = BUF_INIT((size_t)1 << 28);
    char err[512];
    base_init();
    log_set_level(LOG_LEVEL_WARN);
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--nodes") == 0 && v > 0 && v <= 100000)
            nodes = v;
        else if (strcmp(argv[i], "--pods") == 0 && v > 0 && v <= 200)
            pods = v;
        else if (strcmp(argv[i], "--calls") == 0 && v > 0 && v <= 1000000)
            calls = v;
        else if (strcmp(argv[i], "--seconds") == 0 && v > 0 && v <= 600)
            seconds = v;
        else if (strcmp(argv[i], "--quota") == 0 && (v == 0 || v == 1))
            quota = v;
        else {
            fprintf(stderr,
                    "usage: %s [--nodes N] [--pods P] [--calls C] [--seconds S] [--quota 0|1]\n",
                    argv[0]);
            return 2;
        }
    }
    buf_puts(&snap, "{\"kind\":\"List\",\"items\":[");
    for (int n = 0; n < nodes; n++)
        node_json(&snap, n);
    for (int n = 0; n < nodes; n++)
        for (int k = 0; k < pods; k++)
            pod_json(&snap, n, k, pods, &seed);
    for (int t = 0; t < 4; t++)
        buf_printf(&snap,
                   "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{"
                   "\"name\":\"keep\",\"namespace\":\"team-%d\"},\"spec\":{\"selector\":{"
                   "\"matchLabels\":{\"app\":\"protected\"}}},\"status\":{\"disruptionsAllowed\":"
                   "0}}%s",
                   t, t < 3 ? "," : "");
    /* --quota 1: the preemptor is of team-0, whose quota leaves room: the
     * quota is part of every fit, team-0's victims give it back. */
    if (quota)
        buf_puts(&snap, ",{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{"
                        "\"name\":\"gpu\",\"namespace\":\"team-0\"},\"spec\":{\"hard\":{"
                        "\"limits.nvidia.com/gpumem\":\"1000000000\","
                        "\"limits.nvidia.com/gpucores\":\"100000000\"}}}");
    buf_puts(&snap, "]}");

    struct cache *c = cache_create();
    struct snapshot_stats st;
    if (snap.toobig || snapshot_load_json(c, snap.data, snap.len, &st, err, sizeof err) != 0) {
        fprintf(stderr, "vgpu-preempt-bench: cluster: %s\n", snap.toobig ? "too big" : err);
        goto out_cache;
    }
    struct place_opts po = {.mode = PLACE_SINGLE,
                            .policy = {.node_policy = policy_node_policy_find("binpack"),
                                       .gpu = {.nkeys = 1, .keys = {POLICY_KEY_SPREAD}}},
                            .defaults = {.mem_factor = 1},
                            .ttl = 60,
                            .hold_ttl = 120};
    struct place *pl = place_create(c, &po);
    struct extender *x = extender_create(pl, NULL, NULL);
    buf_printf(&body,
               "{\"Pod\":{\"metadata\":{\"name\":\"inf\",\"namespace\":\"%s\",\"uid\":"
               "\"uid-inf\"},\"spec\":{\"priority\":1000,\"containers\":[{\"name\":\"c\",",
               quota ? "team-0" : "prod");
    buf_puts(&body, "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":"
                    "\"81920\",\"nvidia.com/gpucores\":\"100\"}}}]}},\"NodeNameToMetaVictims\":{");
    for (int n = 0; n < nodes; n++)
        buf_printf(
            &body,
            "%s\"node-%05d\":{\"Pods\":[{\"UID\":\"uid-%05d-00\"},{\"UID\":\"uid-%05d-%02d\"}"
            "],\"NumPDBViolations\":1}",
            n ? "," : "", n, n, n, pods - 1);
    buf_puts(&body, "}}");

    double *t = mem_alloc(sizeof *t * (size_t)calls), start = stats_now_ms();
    int done = 0;
    size_t kept = 0;
    for (; done < calls && stats_now_ms() - start < seconds * 1000.0; done++) {
        buf_reset(&out);
        double t0 = stats_now_ms();
        extender_preempt(x, body.data, body.len, 0, &out);
        t[done] = stats_now_ms() - t0;
    }
    const char *m = strstr(out.data ? out.data : "", "\"NumPDBViolations\"");
    for (const char *p = m; p; p = strstr(p + 1, "\"NumPDBViolations\""))
        kept++;
    qsort(t, (size_t)done, sizeof *t, cmp);
    double p50 = done ? t[done / 2] : 0,
           p99 = done ? t[(done * 99) / 100 < done ? (done * 99) / 100 : done - 1] : 0;
    double max = done ? t[done - 1] : 0;
    printf("preempt: %d nodes x %d GPUs x %d pods, %d PDBs; %d calls; %zu nodes answered\n", nodes,
           GPUS, pods, st.pdbs, done, kept);
    printf("preempt: p50 %.3f ms, p99 %.3f ms, max %.3f ms (in-process, one thread)\n", p50, p99,
           max);
    printf("RESULT {\"nodes\":%d,\"pods_per_node\":%d,\"calls\":%d,\"kept\":%zu,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
           nodes, pods, done, kept, p50, p99, max);
    rc = 0;
    free(t);
    extender_destroy(x);
    place_destroy(pl);
out_cache:
    cache_destroy(c);
    buf_free(&snap);
    buf_free(&body);
    buf_free(&out);
    return rc;
}

/* hamimetrics.c: HAMi's scheduler metrics (see hamimetrics.h). */
#include "server/hamimetrics.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "policy/codec.h"

#define MIB  1048576.0
#define ZONE "vGPU" /* HAMi's constant label zone */

/* Which labels a family has, in HAMi's order. */
enum labels {
    L_GPU,      /* node, device_uuid, device_index, device_type */
    L_GPU_CORE, /* node, device_uuid, device_index, device_cores, device_type */
    L_OVERVIEW, /* ... device_cores, device_memory_limit, device_type */
    L_RATIO,    /* node, device_uuid, device_index */
    L_CTR,      /* namespace, node, pod, container_index, device_uuid */
};

/* What a per-GPU or per-container family shows. */
enum value {
    V_MEM_LIMIT,  /* bytes */
    V_CORE_LIMIT, /* 100 when the GPU has cores (HAMi's normalised limit) */
    V_CORE_RAW,   /* the GPU's devcore as registered */
    V_MEM_ALLOC,  /* bytes */
    V_SHARED,     /* containers on it */
    V_CORE_PCT,   /* cores used, % of the GPU's, rounded up */
    V_CORE_USED,  /* cores used as counted */
    V_MEM_RATIO,  /* used / total memory, 0..1 */
};

struct family {
    const char *name, *help;
    bool legacy; /* HAMi's legacy label names (nodeid, deviceuuid, ...) */
    enum labels labels;
    enum value value;
};

static const struct family gpu_families[] = {
    {"hami_gpu_memory_limit_bytes", "Device memory limit for a certain GPU", false, L_GPU,
     V_MEM_LIMIT},
    {"hami_gpu_core_limit_ratio", "Device core limit for a certain GPU", false, L_GPU,
     V_CORE_LIMIT},
    {"hami_gpu_memory_allocated_bytes", "Device memory allocated for a certain GPU", false,
     L_GPU_CORE, V_MEM_ALLOC},
    {"hami_gpu_shared_count", "Number of containers sharing this GPU", false, L_GPU, V_SHARED},
    {"hami_gpu_core_allocated_ratio", "Device core allocated for a certain GPU", false, L_GPU,
     V_CORE_PCT},
    {"hami_node_gpu_overview", "GPU overview on a certain node", false, L_OVERVIEW, V_MEM_ALLOC},
    {"hami_node_gpu_memory_allocated_ratio", "GPU Memory Allocated Percentage on a certain GPU",
     false, L_RATIO, V_MEM_RATIO},
    {"GPUDeviceMemoryLimit", "Device memory limit for a certain GPU", true, L_GPU, V_MEM_LIMIT},
    {"GPUDeviceCoreLimit", "Device memory core limit for a certain GPU", true, L_GPU, V_CORE_RAW},
    {"GPUDeviceMemoryAllocated", "Device memory allocated for a certain GPU", true, L_GPU_CORE,
     V_MEM_ALLOC},
    {"GPUDeviceSharedNum", "Number of containers sharing this GPU", true, L_GPU, V_SHARED},
    {"GPUDeviceCoreAllocated", "Device core allocated for a certain GPU", true, L_GPU, V_CORE_USED},
    {"nodeGPUOverview", "GPU overview on a certain node", true, L_OVERVIEW, V_MEM_ALLOC},
    {"nodeGPUMemoryPercentage", "GPU Memory Allocated Percentage on a certain GPU", true, L_RATIO,
     V_MEM_RATIO},
};

static const struct family ctr_families[] = {
    {"hami_vgpu_memory_allocated_bytes", "vGPU memory allocated from a container", false, L_CTR,
     V_MEM_ALLOC},
    {"hami_vgpu_core_allocated_ratio", "vGPU core allocated from a container", false, L_CTR,
     V_CORE_PCT},
    {"vGPUMemoryAllocated", "vGPU memory allocated from a container", true, L_CTR, V_MEM_ALLOC},
    {"vGPUCoreAllocated", "vGPU core allocated from a container", true, L_CTR, V_CORE_USED},
};

/* Label names: [legacy][k]. */
enum { N_NODE, N_UUID, N_INDEX, N_CORES, N_MEMLIMIT, N_TYPE, N_NS, N_CNODE, N_POD, N_CTR, N_N };
static const char *const names[2][N_N] = {
    {"node", "device_uuid", "device_index", "device_cores", "device_memory_limit", "device_type",
     "namespace", "node", "pod", "container_index"},
    {"nodeid", "deviceuuid", "deviceidx", "devicecores", "devicememorylimit", "devicetype",
     "podnamespace", "nodename", "podname", "containeridx"},
};

/* A Prometheus label value: backslash, quote and newline escaped; n bytes
 * (or up to the NUL when n is SIZE_MAX). */
static void value_of(struct buf *b, const char *v, size_t n)
{
    for (size_t i = 0; v && i < n && v[i]; i++) {
        if (v[i] == '\\' || v[i] == '"')
            buf_printf(b, "\\%c", v[i]);
        else if (v[i] == '\n')
            buf_puts(b, "\\n");
        else
            buf_append(b, v + i, 1);
    }
}

static void pair(struct buf *b, bool first, const char *name, const char *v, size_t n)
{
    buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    value_of(b, v, n);
    buf_puts(b, "\"");
}

static void pair_int(struct buf *b, const char *name, long long v)
{
    buf_printf(b, ",%s=\"%lld\"", name, v);
}

/* cores used as a percentage of total, rounded up (HAMi's normalisation). */
static double core_pct(double used, double total)
{
    if (total <= 0)
        return 0;
    double x = used / total * 100.0;
    long long k = (long long)x;
    return (double)k < x ? (double)(k + 1) : (double)k;
}

static void sample(struct buf *b, const struct family *f, double v)
{
    buf_printf(b, ",zone=\"" ZONE "\"} ");
    if (f->value == V_MEM_RATIO)
        buf_printf(b, "%.6g\n", v);
    else
        buf_printf(b, "%.0f\n", v);
}

struct gpu_ctx {
    struct buf *out;
    const struct family *f;
};

static void gpu_line(void *ctx, const char *node, const struct policy_device *d,
                     const struct policy_usage *u)
{
    struct gpu_ctx *g = ctx;
    const struct family *f = g->f;
    const char *const *n = names[f->legacy];
    struct buf *b = g->out;
    double v = 0;
    switch (f->value) {
    case V_MEM_LIMIT:
        v = (double)d->devmem * MIB;
        break;
    case V_CORE_LIMIT:
        v = d->devcore > 0 ? 100 : 0;
        break;
    case V_CORE_RAW:
        v = d->devcore;
        break;
    case V_MEM_ALLOC:
        v = (double)u->mem * MIB;
        break;
    case V_SHARED:
        v = u->used;
        break;
    case V_CORE_PCT:
        v = core_pct(u->cores, d->devcore);
        break;
    case V_CORE_USED:
        v = u->cores;
        break;
    case V_MEM_RATIO:
        if (d->devmem <= 0)
            return; /* HAMi leaves it out */
        v = (double)u->mem / (double)d->devmem;
        break;
    }
    buf_printf(b, "%s{", f->name);
    pair(b, true, n[N_NODE], node, SIZE_MAX);
    pair(b, false, n[N_UUID], d->uuid, SIZE_MAX);
    pair_int(b, n[N_INDEX], d->index);
    if (f->labels == L_GPU_CORE || f->labels == L_OVERVIEW)
        pair_int(b, n[N_CORES], d->devcore);
    if (f->labels == L_OVERVIEW)
        pair_int(b, n[N_MEMLIMIT], (long long)d->devmem);
    if (f->labels != L_RATIO)
        pair(b, false, n[N_TYPE], d->type, SIZE_MAX);
    sample(b, f, v);
}

struct ctr_ctx {
    struct buf *out;
    const struct family *f;
    struct codec_devices *dec; /* reused for every pod */
};

/* The registered cores of the GPU named by e, 0 when not on the node. */
static double gpu_cores(const struct codec_entry *e, const struct policy_device *dev, int ndev)
{
    for (int i = 0; i < ndev; i++)
        if (dev[i].uuid && strlen(dev[i].uuid) == e->uuid_len &&
            memcmp(dev[i].uuid, e->uuid, e->uuid_len) == 0)
            return dev[i].devcore;
    return 0;
}

static void ctr_lines(void *ctx, const char *ns, const char *name, const char *node,
                      const char *devices, const struct policy_device *dev, int ndev)
{
    struct ctr_ctx *c = ctx;
    const struct family *f = c->f;
    const char *const *n = names[f->legacy];
    struct buf *b = c->out;
    char err[160];
    if (codec_decode(devices, c->dec, err, sizeof err) != 0)
        return; /* counted by its request: /inspect says why */
    for (int i = 0; i < c->dec->n; i++) {
        const struct codec_entry *e = &c->dec->e[i];
        double v = f->value == V_MEM_ALLOC  ? (double)e->mem * MIB
                   : f->value == V_CORE_PCT ? core_pct(e->cores, gpu_cores(e, dev, ndev))
                                            : e->cores;
        if (e->uuid_len == 0)
            continue; /* HAMi leaves out a device without a UUID */
        buf_printf(b, "%s{", f->name);
        pair(b, true, n[N_NS], ns, SIZE_MAX);
        pair(b, false, n[N_CNODE], node, SIZE_MAX);
        pair(b, false, n[N_POD], name, SIZE_MAX);
        pair_int(b, n[N_CTR], e->ctr);
        pair(b, false, n[N_UUID], e->uuid, e->uuid_len);
        sample(b, f, v);
    }
}

static void head(struct buf *b, const char *name, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

void hamimetrics_render(struct cache *c, bool legacy, struct buf *out)
{
    for (size_t i = 0; i < sizeof gpu_families / sizeof gpu_families[0]; i++) {
        struct gpu_ctx g = {out, &gpu_families[i]};
        if (g.f->legacy && !legacy)
            continue;
        head(out, g.f->name, g.f->help);
        cache_foreach_gpu(c, gpu_line, &g);
    }
    struct codec_devices *dec = mem_zalloc(sizeof *dec);
    for (size_t i = 0; i < sizeof ctr_families / sizeof ctr_families[0]; i++) {
        struct ctr_ctx x = {out, &ctr_families[i], dec};
        if (x.f->legacy && !legacy)
            continue;
        head(out, x.f->name, x.f->help);
        cache_foreach_pod_devices(c, ctr_lines, &x);
    }
    free(dec);
    head(out, "hami_resource_quota_used", "resourcequota usage for a certain device");
    if (legacy)
        head(out, "QuotaUsed", "resourcequota usage for a certain device");
}

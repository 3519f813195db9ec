/* hamimetrics.c: HAMi's scheduler metrics (see hamimetrics.h). */
#include "server/hamimetrics.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/mem.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"

#define MIB  1048576.0
#define ZONE "vGPU" /* HAMi's constant label zone */

/* Which labels a family has, in HAMi's order. */
enum labels {
    L_GPU,      /* node, device_uuid, device_index, device_type */
    L_GPU_CORE, /* node, device_uuid, device_index, device_cores, device_type */
    L_OVERVIEW, /* ... device_cores, device_memory_limit, device_type */
    L_RATIO,    /* node, device_uuid, device_index (+ device_type unless legacy) */
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
    if (f->labels != L_RATIO || !f->legacy) /* HAMi since 4707fb02: the ratio has a type */
        pair(b, false, n[N_TYPE], d->type, SIZE_MAX);
    if (!f->legacy) /* ours, beside HAMi's labels: the device's row */
        pair(b, false, "vendor", policy_device_backend_of(d)->name, SIZE_MAX);
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

/* The quota families: what each shows, under which label names. */
enum quota_family { Q_USED, Q_LIMIT, Q_LEGACY_USED };

struct quota_ctx {
    struct buf *out;
    enum quota_family f;
};

/* One namespace's use of one device resource (cache_foreach_quota): HAMi's
 * hami_resource_quota_used{namespace, quota_name, limit} (limit "0" when no
 * quota sets one, as HAMi prints it), hami_resource_quota_limit{namespace,
 * quota_name} only where a quota sets one, legacy QuotaUsed{quotanamespace,
 * quotaName, limit}. */
static void quota_line(void *ctx, const char *ns, const char *resource, int64_t used, int64_t limit)
{
    struct quota_ctx *q = ctx;
    struct buf *b = q->out;
    bool legacy = q->f == Q_LEGACY_USED;
    if (q->f == Q_LIMIT && limit < 0)
        return;
    buf_puts(b, q->f == Q_USED    ? "hami_resource_quota_used{"
                : q->f == Q_LIMIT ? "hami_resource_quota_limit{"
                                  : "QuotaUsed{");
    pair(b, true, legacy ? "quotanamespace" : "namespace", ns, SIZE_MAX);
    pair(b, false, legacy ? "quotaName" : "quota_name", resource, SIZE_MAX);
    if (q->f != Q_LIMIT)
        buf_printf(b, ",limit=\"%lld\"", (long long)(limit < 0 ? 0 : limit));
    buf_printf(b, ",zone=\"" ZONE "\"} %lld\n", (long long)(q->f == Q_LIMIT ? limit : used));
}

static void head(struct buf *b, const char *name, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* HAMi's MIG instance families: hami_node_gpu_mig_instance_info (node,
 * device_uuid, device_index, mig_uuid, profile, gpu_instance_id,
 * compute_instance_id, placement_start, placement_size) and the legacy
 * nodeGPUMigInstance (nodeid, deviceuuid, deviceidx, migname =
 * profile-gpuInstanceID), value 1, for each instance the device plugin made
 * (migUUID and both ids filled in: HAMi's RuntimeReady) on a MIG card. */
struct mig_ctx {
    struct buf *out;
    bool legacy;
};

/* A JSON number or numeric string as text into buf; false when neither. */
static bool id_text(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 4294967296.0)
        snprintf(buf, cap, "%.0f", v->valuedouble);
    else
        return false;
    return true;
}

static void mig_lines(void *ctx, const char *ns, const char *name, const char *node,
                      const char *mig, const struct policy_device *dev, int ndev)
{
    struct mig_ctx *m = ctx;
    cJSON *all = cJSON_Parse(mig), *e;
    cJSON *list = cJSON_IsArray(all) ? all : NULL;
    char gi[16], ci[16], start[16], size[16], migname[160];
    (void)ns;
    (void)name;
    cJSON_ArrayForEach(e, list)
    {
        const char *gpu = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "gpuUUID"));
        const char *uuid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "migUUID"));
        const char *prof = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "profile"));
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(e, "placement");
        int k = gpu ? policy_device_find(dev, ndev, gpu, strlen(gpu), 0) : -1;
        if (k < 0 || !policy_mig_card(&dev[k]) || !uuid || !*uuid || !prof ||
            !id_text(cJSON_GetObjectItemCaseSensitive(e, "gpuInstanceID"), gi, sizeof gi) ||
            !id_text(cJSON_GetObjectItemCaseSensitive(e, "computeInstanceID"), ci, sizeof ci))
            continue; /* not made yet, or not on a MIG card of the node */
        if (!id_text(cJSON_GetObjectItemCaseSensitive(pl, "start"), start, sizeof start))
            snprintf(start, sizeof start, "0");
        if (!id_text(cJSON_GetObjectItemCaseSensitive(pl, "size"), size, sizeof size))
            snprintf(size, sizeof size, "0");
        if (!m->legacy) {
            buf_puts(m->out, "hami_node_gpu_mig_instance_info{");
            pair(m->out, true, "node", node, SIZE_MAX);
            pair(m->out, false, "device_uuid", dev[k].uuid, SIZE_MAX);
            pair_int(m->out, "device_index", dev[k].index);
            pair(m->out, false, "mig_uuid", uuid, SIZE_MAX);
            pair(m->out, false, "profile", prof, SIZE_MAX);
            pair(m->out, false, "gpu_instance_id", gi, SIZE_MAX);
            pair(m->out, false, "compute_instance_id", ci, SIZE_MAX);
            pair(m->out, false, "placement_start", start, SIZE_MAX);
            pair(m->out, false, "placement_size", size, SIZE_MAX);
        } else {
            snprintf(migname, sizeof migname, "%.120s-%s", prof, gi);
            buf_puts(m->out, "nodeGPUMigInstance{");
            pair(m->out, true, "nodeid", node, SIZE_MAX);
            pair(m->out, false, "deviceuuid", dev[k].uuid, SIZE_MAX);
            pair_int(m->out, "deviceidx", dev[k].index);
            pair(m->out, false, "migname", migname, SIZE_MAX);
        }
        buf_puts(m->out, ",zone=\"" ZONE "\"} 1\n");
    }
    cJSON_Delete(all);
}

/* Totals per device row (vendor): ours, vgpu_scheduler_vendor_*. */
struct vendor_sums {
    double devices[POLICY_DEVICE_ROWS_MAX], mem[POLICY_DEVICE_ROWS_MAX],
        mem_used[POLICY_DEVICE_ROWS_MAX], cores[POLICY_DEVICE_ROWS_MAX],
        cores_used[POLICY_DEVICE_ROWS_MAX];
};

static void vendor_add(void *ctx, const char *node, const struct policy_device *d,
                       const struct policy_usage *u)
{
    struct vendor_sums *v = ctx;
    int i = policy_device_backend_index(policy_device_backend_of(d));
    (void)node;
    if (i < 0)
        return;
    v->devices[i] += 1;
    v->mem[i] += (double)d->devmem * MIB;
    v->mem_used[i] += (double)u->mem * MIB;
    v->cores[i] += d->devcore;
    v->cores_used[i] += u->cores;
}

static void vendor_family(struct buf *out, const char *name, const char *help, const double *v)
{
    buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int i = 0; i < POLICY_DEVICE_ROWS_MAX && policy_device_backends[i]; i++)
        buf_printf(out, "%s{vendor=\"%s\"} %.0f\n", name, policy_device_backends[i]->name, v[i]);
}

static void vendor_totals(struct cache *c, struct buf *out)
{
    struct vendor_sums *v = mem_zalloc(sizeof *v);
    cache_foreach_gpu(c, vendor_add, v);
    vendor_family(out, "vgpu_scheduler_vendor_devices", "Devices of each vendor (device row).",
                  v->devices);
    vendor_family(out, "vgpu_scheduler_vendor_memory_bytes",
                  "Device memory of each vendor, all its devices.", v->mem);
    vendor_family(out, "vgpu_scheduler_vendor_memory_allocated_bytes",
                  "Device memory allocated on each vendor's devices.", v->mem_used);
    vendor_family(out, "vgpu_scheduler_vendor_cores",
                  "Compute of each vendor's devices, in % of a device (100 each).", v->cores);
    vendor_family(out, "vgpu_scheduler_vendor_cores_allocated",
                  "Compute allocated on each vendor's devices, in % of a device.", v->cores_used);
    free(v);
}

/* One section of the page, in order: a per-GPU, per-container or MIG
 * family (one node's lines at a time), the vendor totals, or a quota
 * family (one read of the cache each). */
enum step_kind { K_GPU, K_CTR, K_MIG, K_VENDOR, K_QUOTA };

struct step {
    enum step_kind kind;
    const struct family *f; /* K_GPU, K_CTR */
    bool legacy;            /* K_MIG */
    enum quota_family q;    /* K_QUOTA */
};

#define STEPS_MAX                                                                                  \
    (sizeof gpu_families / sizeof gpu_families[0] + sizeof ctr_families / sizeof ctr_families[0] + \
     6)

struct hamimetrics_cursor {
    struct cache *cache;
    char **nodes; /* the node names when opened */
    size_t nn;
    struct codec_devices *dec; /* reused for every pod */
    struct step step[STEPS_MAX];
    size_t nsteps, at; /* the step being written */
    size_t node;       /* its next node (per-node steps) */
    bool headed;       /* its HELP and TYPE lines are written */
};

struct hamimetrics_cursor *hamimetrics_open(struct cache *c, bool legacy)
{
    struct hamimetrics_cursor *k = mem_zalloc(sizeof *k);
    k->cache = c;
    k->nodes = cache_node_names(c, &k->nn);
    k->dec = mem_zalloc(sizeof *k->dec);
    for (size_t i = 0; i < sizeof gpu_families / sizeof gpu_families[0]; i++)
        if (legacy || !gpu_families[i].legacy)
            k->step[k->nsteps++] = (struct step){.kind = K_GPU, .f = &gpu_families[i]};
    for (size_t i = 0; i < sizeof ctr_families / sizeof ctr_families[0]; i++)
        if (legacy || !ctr_families[i].legacy)
            k->step[k->nsteps++] = (struct step){.kind = K_CTR, .f = &ctr_families[i]};
    k->step[k->nsteps++] = (struct step){.kind = K_MIG};
    if (legacy)
        k->step[k->nsteps++] = (struct step){.kind = K_MIG, .legacy = true};
    k->step[k->nsteps++] = (struct step){.kind = K_VENDOR};
    k->step[k->nsteps++] = (struct step){.kind = K_QUOTA, .q = Q_USED};
    k->step[k->nsteps++] = (struct step){.kind = K_QUOTA, .q = Q_LIMIT};
    if (legacy)
        k->step[k->nsteps++] = (struct step){.kind = K_QUOTA, .q = Q_LEGACY_USED};
    return k;
}

void hamimetrics_close(struct hamimetrics_cursor *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->nn; i++)
        free(k->nodes[i]);
    free(k->nodes);
    free(k->dec);
    free(k);
}

/* A family's HELP and TYPE lines. */
static void step_head(const struct step *st, struct buf *out)
{
    static const char *const quota[][2] = {
        [Q_USED] = {"hami_resource_quota_used", "resourcequota usage for a certain device"},
        [Q_LIMIT] = {"hami_resource_quota_limit", "resourcequota limit for a certain device"},
        [Q_LEGACY_USED] = {"QuotaUsed", "resourcequota usage for a certain device"},
    };
    if (st->kind == K_GPU || st->kind == K_CTR)
        head(out, st->f->name, st->f->help);
    else if (st->kind == K_MIG && !st->legacy)
        head(out, "hami_node_gpu_mig_instance_info",
             "Realized MIG instance identity and scheduler placement");
    else if (st->kind == K_MIG)
        head(out, "nodeGPUMigInstance", "GPU Sharing mode. 0 for hami-core, 1 for mig, 2 for mps");
    else if (st->kind == K_QUOTA)
        head(out, quota[st->q][0], quota[st->q][1]);
}

/* One node's lines of a per-node step. */
static void step_node(struct hamimetrics_cursor *k, const struct step *st, struct buf *out,
                      const char *node)
{
    if (st->kind == K_GPU) {
        struct gpu_ctx g = {out, st->f};
        cache_node_gpus(k->cache, node, gpu_line, &g);
    } else if (st->kind == K_CTR) {
        struct ctr_ctx x = {out, st->f, k->dec};
        cache_node_pod_ann(k->cache, node, CACHE_POD_DEVICES, ctr_lines, &x);
    } else {
        struct mig_ctx mc = {out, st->legacy};
        cache_node_pod_ann(k->cache, node, CACHE_POD_MIG, mig_lines, &mc);
    }
}

/* The per-GPU, per-container and MIG families read the cache one node at
 * a time (its read lock held for that node only): at 5,000 nodes a family
 * is 40,000 lines, and one pass under one hold kept the watch's writes and
 * the filters' reservations waiting 50-190 ms per family (vgpu-bench
 * --churn). Each line is consistent; lines of different nodes may be of
 * different moments, as between two scrapes. */
bool hamimetrics_next(struct hamimetrics_cursor *k, struct buf *out, size_t want)
{
    while (k->at < k->nsteps && out->len < want && !out->toobig) {
        const struct step *st = &k->step[k->at];
        if (!k->headed)
            step_head(st, out);
        k->headed = true;
        if (st->kind == K_VENDOR) {
            vendor_totals(k->cache, out);
        } else if (st->kind == K_QUOTA) {
            struct quota_ctx q = {out, st->q};
            cache_foreach_quota(k->cache, quota_line, &q);
        } else {
            for (; k->node < k->nn && out->len < want; k->node++)
                step_node(k, st, out, k->nodes[k->node]);
            if (k->node < k->nn)
                break; /* out is full: this family goes on at k->node */
        }
        k->at++;
        k->node = 0;
        k->headed = false;
    }
    return k->at == k->nsteps;
}

void hamimetrics_render(struct cache *c, bool legacy, struct buf *out)
{
    struct hamimetrics_cursor *k = hamimetrics_open(c, legacy);
    hamimetrics_next(k, out, SIZE_MAX);
    hamimetrics_close(k);
}

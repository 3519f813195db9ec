/* hamimetrics: the metrics HAMi's scheduler exports (its cmd/scheduler/
 * metrics.go), same names, labels and units, so HAMi's Grafana dashboards
 * read this scheduler unchanged:
 *   - per GPU: hami_gpu_memory_limit_bytes, hami_gpu_core_limit_ratio,
 *     hami_gpu_memory_allocated_bytes, hami_gpu_shared_count,
 *     hami_gpu_core_allocated_ratio, hami_node_gpu_overview,
 *     hami_node_gpu_memory_allocated_ratio, and the legacy GPUDevice*,
 *     nodeGPUOverview, nodeGPUMemoryPercentage;
 *   - per container and GPU, from each pod's hami.io/vgpu-devices-allocated:
 *     hami_vgpu_memory_allocated_bytes, hami_vgpu_core_allocated_ratio and
 *     the legacy vGPUMemoryAllocated, vGPUCoreAllocated (the legacy names
 *     only with HAMi's --legacy-metrics);
 *   - per namespace and device resource (nvidia.com/gpumem, .../gpucores,
 *     every backend's): hami_resource_quota_used{namespace, quota_name,
 *     limit} for every namespace holding some or limited by a ResourceQuota
 *     (memory in MiB, cores in %, as HAMi counts; limit "0" when none is
 *     set), hami_resource_quota_limit{namespace, quota_name} where a quota
 *     sets one, and the legacy QuotaUsed{quotanamespace, quotaName, limit}.
 * Every series carries zone="vGPU", the constant label HAMi's registry adds.
 * HAMi's "ratio" gauges of cores are percentages (0..100, rounded up), its
 * memory ratio a fraction (0..1), as there. MIG instances have their own
 * families, hami_node_gpu_mig_instance_info and the legacy
 * nodeGPUMigInstance (hamimetrics.c). */
#ifndef VS_HAMIMETRICS_H
#define VS_HAMIMETRICS_H

#include <stdbool.h>

#include "base/buf.h"
#include "k8s/cache.h"

/* Append the families above, in the Prometheus text format, to out; the
 * legacy names only when legacy (HAMi's --legacy-metrics). The whole page
 * at once: hamimetrics_open and _next give the same text in pieces. */
void hamimetrics_render(struct cache *c, bool legacy, struct buf *out);

/* A walk over the same page in pieces, for an answer streamed while it is
 * made (a 5,000-node page is ~90 MB). Opened, it holds the node names of
 * that moment (~30 bytes a node) and one decode buffer; it holds no lock
 * between calls. c is borrowed and must outlive it. Returns a new cursor;
 * caller frees with hamimetrics_close (accepts NULL). */
struct hamimetrics_cursor;
struct hamimetrics_cursor *hamimetrics_open(struct cache *c, bool legacy);

/* Append the next lines to out until it holds want bytes or more (it may
 * pass want by one node's lines of one family, or by one whole small
 * family: vendor totals, a quota family), or the page ends. Returns true
 * once the whole page is appended (then appends nothing more). Each
 * node's lines of a family are read under the cache's read lock for that
 * node only; different nodes, and different families, may show different
 * moments (a scrape spans cache changes, as HAMi's own does). */
bool hamimetrics_next(struct hamimetrics_cursor *k, struct buf *out, size_t want);
void hamimetrics_close(struct hamimetrics_cursor *k);

#endif

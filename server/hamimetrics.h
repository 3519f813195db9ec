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
 * memory ratio a fraction (0..1), as there. Not exported: the MIG instance
 * gauges (hami_node_gpu_mig_instance_info, nodeGPUMigInstance), as MIG
 * instances are not tracked here. */
#ifndef VS_HAMIMETRICS_H
#define VS_HAMIMETRICS_H

#include <stdbool.h>

#include "base/buf.h"
#include "k8s/cache.h"

/* Append the families above, in the Prometheus text format, to out; the
 * legacy names only when legacy (HAMi's --legacy-metrics). Takes
 * the cache's read lock once per family; allocates one decode buffer per
 * call. */
void hamimetrics_render(struct cache *c, bool legacy, struct buf *out);

#endif

/* placement: what the scheduler writes on a pod it places (hami-protocol.md
 * section 3), in one place for every writer: bind (in memory or through the
 * API) and simulate. */
#ifndef VS_PLACEMENT_H
#define VS_PLACEMENT_H

#include <cjson/cJSON.h>

/* A new object (caller frees) of every annotation bind writes:
 * hami.io/vgpu-node, hami.io/vgpu-time, both device annotations and the
 * vendor's further ones (policy/device.h ann_extra: Cambricon's DSMLU pair,
 * Ascend's huawei.com/<chip> and predicate-time),
 * hami.io/vgpu-mig-allocations when mig is not NULL nor empty (the MIG
 * instances the device plugin creates), hami.io/bind-phase "allocating" and
 * hami.io/bind-time. `now` is unix seconds. */
cJSON *placement_annotations(const char *node, const char *devices, const char *mig, long long now);
/* A new merge patch for the pod: {"metadata":{"annotations":{...},
 * "labels":{"hami.io/vgpu-node":node}}}. Caller frees. */
cJSON *placement_patch(const char *node, const char *devices, const char *mig, long long now);

#endif

/* placement: what the scheduler writes on a pod it places (hami-protocol.md
 * section 3), in one place for every writer: bind (in memory or through the
 * API) and simulate. */
#ifndef VS_PLACEMENT_H
#define VS_PLACEMENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct policy_device_backend;

/* Row b's part of an allocation string (policy codec form, one segment per
 * container): each container's entries whose vendor word is b's, the other
 * containers' segments left empty ("GPU-0,NVIDIA,10,0:;;"), as HAMi encodes
 * one vendor of a pod. Writes at most cap bytes, NUL-terminated; returns the
 * length it needs (0 when no entry is b's, out then holds only empty
 * segments). */
size_t placement_row_part(const char *devices, const struct policy_device_backend *b, char *out,
                          size_t cap);

/* A new object (caller frees) of every annotation bind writes:
 * hami.io/vgpu-node, hami.io/vgpu-time, the device annotations and the
 * vendor's further ones (policy/device.h ann_extra: Cambricon's DSMLU pair,
 * Ascend's huawei.com/<chip> and predicate-time),
 * hami.io/vgpu-mig-allocations when mig is not NULL nor empty (the MIG
 * instances the device plugin creates), hami.io/bind-phase "allocating" and
 * hami.io/bind-time. `now` is unix seconds. An allocation holding devices
 * of several rows (one vendor per container) writes each of those rows'
 * device annotations and extras with its placement_row_part. */
cJSON *placement_annotations(const char *node, const char *devices, const char *mig, long long now);
/* A new merge patch for the pod: {"metadata":{"annotations":{...},
 * "labels":{"hami.io/vgpu-node":node}}}. Caller frees. */
cJSON *placement_patch(const char *node, const char *devices, const char *mig, long long now);

#endif

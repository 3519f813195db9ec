#include "k8s/placement.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "policy/device_nvidia_mig.h"

cJSON *placement_annotations(const char *node, const char *devices, const char *mig, long long now)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", now);
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, MODEL_ANN_VGPU_NODE, node);
    cJSON_AddStringToObject(a, MODEL_ANN_VGPU_TIME, ts);
    const struct policy_device_backend *b = policy_device_backend_of_word(devices);
    cJSON_AddStringToObject(a, b->ann_to_allocate, devices);
    cJSON_AddStringToObject(a, b->ann_allocated, devices);
    char *v = b->ann_extra[0] ? mem_alloc(MODEL_POD_ANN_MAX) : NULL, err[256];
    for (int k = 0; k < POLICY_DEVICE_EXTRA_MAX && b->ann_extra[k]; k++) {
        if (b->extra_encode(b, k, devices, now, v, MODEL_POD_ANN_MAX, err, sizeof err) == 0)
            cJSON_AddStringToObject(a, b->ann_extra[k], v);
        else
            LOG_WARN("%s not written: %s", b->ann_extra[k], err);
    }
    free(v);
    if (mig && *mig)
        cJSON_AddStringToObject(a, POLICY_MIG_ANN_ALLOCATIONS, mig);
    cJSON_AddStringToObject(a, MODEL_ANN_BIND_PHASE, "allocating");
    cJSON_AddStringToObject(a, MODEL_ANN_BIND_TIME, ts);
    return a;
}

cJSON *placement_patch(const char *node, const char *devices, const char *mig, long long now)
{
    cJSON *patch = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(patch, "metadata");
    cJSON_AddItemToObject(meta, "annotations", placement_annotations(node, devices, mig, now));
    cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
    cJSON_AddStringToObject(labels, MODEL_ANN_VGPU_NODE, node);
    return patch;
}

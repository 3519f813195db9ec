#include "k8s/placement.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "policy/device_ascend.h"
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
    char vals[POLICY_DEVICE_EXTRA_MAX][POLICY_DEVICE_EXTRA_VALUE];
    if (b->extra_values && b->extra_values(devices, vals) == 0)
        for (int i = 0; i < POLICY_DEVICE_EXTRA_MAX && b->ann_extra[i]; i++)
            cJSON_AddStringToObject(a, b->ann_extra[i], vals[i]);
    if (b->ann_runtime && b->runtime_encode) { /* Ascend: huawei.com/<chip>, and HAMi's time */
        char *v = mem_alloc(MODEL_POD_ANN_MAX), err[256] = "";
        if (b->runtime_encode(b, devices, v, MODEL_POD_ANN_MAX, err, sizeof err) == 0) {
            cJSON_AddStringToObject(a, b->ann_runtime, v);
            cJSON_AddStringToObject(a, POLICY_VNPU_PREDICATE, ts);
        } else {
            LOG_WARN("%s not written: %s", b->ann_runtime, err);
        }
        free(v);
    }
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

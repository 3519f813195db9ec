#include "k8s/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"

size_t placement_row_part(const char *devices, const struct policy_device_backend *b, char *out,
                          size_t cap)
{
    size_t n = 0, kept = 0;
    const char *s = devices ? devices : "";
    while (*s) {
        size_t seg = strcspn(s, ";");
        for (const char *e = s; e < s + seg;) {
            size_t len = strcspn(e, ":;");
            if (len > (size_t)(s + seg - e))
                len = (size_t)(s + seg - e);
            if (len && policy_device_backend_of_word(e) == b) {
                if (n + len + 1 < cap) {
                    memcpy(out + n, e, len);
                    out[n + len] = ':';
                }
                n += len + 1;
                kept++;
            }
            e += len;
            if (e < s + seg && *e == ':')
                e++;
        }
        if (n + 1 < cap)
            out[n] = ';';
        n++;
        s += seg;
        if (*s == ';')
            s++;
    }
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return kept ? n : 0;
}

/* Row b's annotations for its part of the allocation. */
static void add_row(cJSON *a, const struct policy_device_backend *b, const char *part,
                    long long now)
{
    cJSON_AddStringToObject(a, b->ann_to_allocate, part);
    cJSON_AddStringToObject(a, b->ann_allocated, part);
    char *v = b->ann_extra[0] ? mem_alloc(MODEL_POD_ANN_MAX) : NULL, err[256];
    for (int k = 0; k < POLICY_DEVICE_EXTRA_MAX && b->ann_extra[k]; k++) {
        if (b->extra_encode(b, k, part, now, v, MODEL_POD_ANN_MAX, err, sizeof err) == 0)
            cJSON_AddStringToObject(a, b->ann_extra[k], v);
        else
            LOG_WARN("%s not written: %s", b->ann_extra[k], err);
    }
    free(v);
}

cJSON *placement_annotations(const char *node, const char *devices, const char *mig, long long now)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", now);
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, MODEL_ANN_VGPU_NODE, node);
    cJSON_AddStringToObject(a, MODEL_ANN_VGPU_TIME, ts);
    /* One row's allocation (the common case) is written as it is; a pod
     * whose containers ask two vendors gets each row's part, one segment
     * per container, empty for the containers of the other vendor (HAMi's
     * EncodePodSingleDevice). */
    const struct policy_device_backend *first = policy_device_backend_of_word(devices);
    size_t len = (devices ? strlen(devices) : 0) * 2 + 4; /* room for added ':' ';' */
    char *part = mem_alloc(len);
    bool several = false;
    for (int i = 0; !several && policy_device_backends[i]; i++)
        several = policy_device_backends[i] != first &&
                  placement_row_part(devices, policy_device_backends[i], part, len) > 0;
    if (!several)
        add_row(a, first, devices ? devices : "", now);
    else
        for (int i = 0; policy_device_backends[i]; i++)
            if (placement_row_part(devices, policy_device_backends[i], part, len) > 0)
                add_row(a, policy_device_backends[i], part, now);
    free(part);
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

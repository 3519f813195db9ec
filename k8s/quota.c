/* quota.c: HAMi's extended ResourceQuota keys. */
#include "k8s/quota.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "k8s/json.h"
#include "k8s/quantity.h"
#include "policy/device.h"

#define LIMITS "limits."

_Static_assert(QUOTA_BACKENDS_MAX < 128, "backend indexes fit an int8");

void quota_limits_none(struct quota_limits *l)
{
    for (int i = 0; i < QUOTA_BACKENDS_MAX; i++)
        l->mem[i] = l->cores[i] = -1;
}

int quota_backend_index(const struct policy_device_backend *b)
{
    for (int i = 0; b && policy_device_backends[i] && i < QUOTA_BACKENDS_MAX; i++)
        if (policy_device_backends[i] == b)
            return i;
    return 0;
}

/* The limit slot a "limits.<resource>" key names, or NULL. */
static int64_t *slot_of(struct quota_limits *l, const char *key)
{
    if (strncmp(key, LIMITS, sizeof LIMITS - 1) != 0)
        return NULL;
    key += sizeof LIMITS - 1;
    for (int i = 0; policy_device_backends[i] && i < QUOTA_BACKENDS_MAX; i++) {
        const char *mem = policy_device_res(policy_device_backends[i], POLICY_RES_MEM);
        const char *cores = policy_device_res(policy_device_backends[i], POLICY_RES_CORES);
        if (mem && strcmp(mem, key) == 0)
            return &l->mem[i];
        if (cores && strcmp(cores, key) == 0)
            return &l->cores[i];
    }
    return NULL;
}

/* One device key of spec.hard into *slot; 0, or an error with the reason. */
static int read_limit(const cJSON *hard, const char *key, int64_t *slot, char *err, size_t cap)
{
    char text[JSON_QTY_MAX + 1];
    bool present = false;
    int64_t v = 0;
    int rc = json_qty(hard, key, text, sizeof text, &present, err, cap);
    if (rc)
        return rc;
    rc = quantity_int(text, &v);
    if (rc) {
        json_qty_err(err, cap, key, text, rc, true);
        return rc;
    }
    if (v < 0) {
        json_err(err, cap, "%s: %s is negative", key, text);
        return ERR_RANGE;
    }
    *slot = v;
    return 0;
}

int quota_parse(const cJSON *obj, const char **ns, const char **name, struct quota_limits *l,
                int *ignored, char *err, size_t cap)
{
    const cJSON *meta = NULL, *spec = NULL, *hard = NULL, *e;
    char why[256];
    int rc;

    quota_limits_none(l);
    *ignored = 0;
    *ns = *name = NULL;
    if (cap)
        err[0] = '\0';
    if ((rc = json_obj(obj, "metadata", "metadata", &meta, err, cap)) ||
        (rc = json_str(meta, "namespace", QUOTA_NAME_MAX, "metadata.namespace", ns, err, cap)) ||
        (rc = json_str(meta, "name", QUOTA_NAME_MAX, "metadata.name", name, err, cap)))
        return ERR_INVAL;
    if (!*ns || !**ns || !*name || !**name) {
        json_err(err, cap, "a ResourceQuota without metadata.namespace or metadata.name");
        return ERR_INVAL;
    }
    if ((rc = json_obj(obj, "spec", "spec", &spec, err, cap)) ||
        (rc = json_obj(spec, "hard", "spec.hard", &hard, err, cap))) {
        json_err_prefix(err, cap, "resourcequota %s/%s", *ns, *name);
        return ERR_INVAL;
    }
    cJSON_ArrayForEach(e, hard)
    {
        int64_t *slot = e->string ? slot_of(l, e->string) : NULL;
        if (!slot)
            continue;
        if (read_limit(hard, e->string, slot, why, sizeof why) != 0) {
            if ((*ignored)++ == 0)
                snprintf(err, cap, "resourcequota %s/%s: %s: this limit is ignored", *ns, *name,
                         why);
        }
    }
    return 0;
}

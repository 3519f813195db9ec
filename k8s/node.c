/* node.c: Node JSON -> inventory. The device annotations are the node's
 * device backend's (policy/device.h); this file reads the rest (name,
 * cordons, allocatable, lock) and what every backend shares.
 *
 * Every string and number read here comes from the network: each has a
 * limit, and anything malformed is an error naming the node, the field and
 * the bad value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/list.h"
#include "base/mem.h"
#include "base/strconv.h"
#include "k8s/json.h"
#include "k8s/model.h"
#include "k8s/quantity.h"
#include "policy/device.h"

#define RV_MAX 64

/* hami.io/device-cordon: a comma list of UUIDs, trimmed; unknown ones ignored. */
static void apply_cordon(const char *v, struct model_inventory *inv)
{
    const char *uuid;
    size_t len;
    while (list_next(&v, ',', LIST_SPACE, &uuid, &len)) {
        int i = len && inv->ndev > 0 ? policy_device_find(inv->dev, inv->ndev, uuid, len, 0) : -1;
        if (i >= 0)
            inv->dev[i].cordoned = true;
    }
}

enum qty_kind { QTY_MILLI, QTY_MIB, QTY_WHOLE };

/* One quantity of status.allocatable into *v (untouched when absent). */
static int alloc_qty(const cJSON *alloc, const char *key, enum qty_kind kind, int64_t *v, char *err,
                     size_t cap)
{
    char buf[JSON_QTY_MAX + 1];
    bool present;
    int rc = json_qty(alloc, key, buf, sizeof buf, &present, err, cap);
    if (rc) {
        json_err_prefix(err, cap, "status.allocatable");
        return rc;
    }
    if (!present)
        return 0;
    rc = kind == QTY_MILLI ? quantity_milli(buf, v)
         : kind == QTY_MIB ? quantity_mib(buf, false, v)
                           : quantity_int(buf, v);
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "status.allocatable %s", key);
        json_qty_err(err, cap, what, buf, rc, kind == QTY_WHOLE);
    }
    return rc;
}

static int node_allocatable(const cJSON *node, struct model_inventory *inv, char *err, size_t cap)
{
    const cJSON *status, *alloc;
    int rc;

    if ((rc = json_obj(node, "status", "status", &status, err, cap)) ||
        (rc = json_obj(status, "allocatable", "status.allocatable", &alloc, err, cap)) ||
        (rc = alloc_qty(alloc, "cpu", QTY_MILLI, &inv->cpu_milli, err, cap)) ||
        (rc = alloc_qty(alloc, "memory", QTY_MIB, &inv->mem_mib, err, cap)) ||
        (rc = alloc_qty(alloc, policy_device_res(inv->backend, POLICY_RES_COUNT), QTY_WHOLE,
                        &inv->alloc_gpus, err, cap)))
        return rc;
    if (inv->cpu_milli < 0 || inv->mem_mib < 0 || inv->alloc_gpus < 0) {
        json_err(err, cap, "status.allocatable has a negative quantity");
        return ERR_RANGE;
    }
    return 0;
}

/* One whole-number quantity of status.capacity into *v (0 when absent). */
static int capacity_qty(const cJSON *capacity, const char *key, int64_t *v, char *err, size_t cap)
{
    char buf[JSON_QTY_MAX + 1], what[128];
    bool present;
    *v = 0;
    int rc = key ? json_qty(capacity, key, buf, sizeof buf, &present, err, cap) : 0;
    if (rc)
        json_err_prefix(err, cap, "status.capacity");
    if (rc || !key || !present)
        return rc;
    if ((rc = quantity_int(buf, v)) != 0) {
        snprintf(what, sizeof what, "status.capacity %s", key);
        json_qty_err(err, cap, what, buf, rc, true);
    }
    return rc;
}

/* A node carrying no register annotation: the devices of the first row
 * that reads its inventory from status.capacity and whose core resource
 * the node has (Cambricon). None: no devices. */
static int node_capacity_devices(const cJSON *node, struct model_inventory *inv, char *err,
                                 size_t cap)
{
    const cJSON *capacity = json_field(json_field(node, "status"), "capacity");
    int64_t cores, mem;
    int rc;
    if (!cJSON_IsObject(capacity))
        return 0;
    for (const struct policy_device_backend *const *b = policy_device_backends; *b; b++) {
        if (!(*b)->capacity_parse)
            continue;
        if ((rc =
                 capacity_qty(capacity, policy_device_res(*b, POLICY_RES_CORES), &cores, err, cap)))
            return rc;
        if (cores <= 0)
            continue;
        if ((rc = capacity_qty(capacity, policy_device_res(*b, POLICY_RES_MEM), &mem, err, cap)))
            return rc;
        inv->backend = *b;
        rc = (*b)->capacity_parse(inv->name, cores, mem, &inv->dev, &inv->ndev, &inv->strings, err,
                                  cap);
        if (rc)
            json_err_prefix(err, cap, "status.capacity");
        return rc;
    }
    return 0;
}

/* The backend whose register annotation the node carries (the first row
 * when none: its score and handshake annotations are still read). */
static int node_backend(const cJSON *anns, struct model_inventory *inv, const char **reg, char *err,
                        size_t cap)
{
    const struct policy_device_backend *const *b;
    int rc;
    *reg = NULL;
    inv->backend = policy_device_backend_default();
    for (b = policy_device_backends; *b; b++) {
        if ((rc = json_ann(anns, (*b)->ann_register, MODEL_NODE_ANN_MAX, reg, err, cap)))
            return rc;
        if (*reg) {
            inv->backend = *b;
            break;
        }
    }
    return 0;
}

/* The node's devices, pair scores and cordons. */
static int node_devices(const cJSON *node, const cJSON *anns, struct model_inventory *inv,
                        char *err, size_t cap)
{
    const struct policy_device_backend *b;
    const char *v;
    int rc;

    if ((rc = node_backend(anns, inv, &v, err, cap)))
        return rc;
    if (!v && (rc = node_capacity_devices(node, inv, err, cap)))
        return rc;
    b = inv->backend;
    if (v) {
        inv->has_register = true;
        rc = b->register_parse(v, &inv->dev, &inv->ndev, &inv->strings, err, cap);
        if (rc) {
            json_err_prefix(err, cap, "annotation %s", b->ann_register);
            return rc;
        }
    }
    if ((rc = json_ann(anns, b->ann_score, MODEL_NODE_ANN_MAX, &v, err, cap)))
        return rc;
    if (v && (rc = b->score_parse(v, inv->dev, inv->ndev, &inv->pair, err, cap))) {
        json_err_prefix(err, cap, "annotation %s", b->ann_score);
        return rc;
    }
    if ((rc = json_ann(anns, MODEL_ANN_CORDON, MODEL_NODE_ANN_MAX, &v, err, cap)))
        return rc;
    if (v)
        apply_cordon(v, inv);
    return 0;
}

/* A device registering more memory than its backend's physical memory
 * label says the node's cards have marks the node oversubscribed. A label
 * that is absent or not a positive whole number says nothing. */
static void node_oversubscribed(const cJSON *meta, struct model_inventory *inv)
{
    const cJSON *labels = json_field(meta, "labels");
    for (int i = 0; i < inv->ndev && !inv->oversubscribed; i++) {
        const char *key = policy_device_backend_of(&inv->dev[i])->label_mem;
        const cJSON *v = key ? json_field(labels, key) : NULL;
        int64_t phys;
        if (cJSON_IsString(v) && v->valuestring &&
            strconv_int(v->valuestring, strlen(v->valuestring), 1, INT32_MAX, &phys) == 0)
            inv->oversubscribed = inv->dev[i].devmem > phys;
    }
}

int model_node_parse(const cJSON *node, struct model_inventory **out, char *err, size_t cap)
{
    struct model_inventory *inv = NULL;
    const cJSON *meta, *anns;
    const char *name = NULL, *rv, *v;
    int rc;

    *out = NULL;
    if (!cJSON_IsObject(node)) {
        json_err(err, cap, "node is not a JSON object");
        return ERR_INVAL;
    }
    if ((rc = json_obj(node, "metadata", "metadata", &meta, err, cap)) ||
        (rc = json_str(meta, "name", MODEL_NAME_MAX, "metadata.name", &name, err, cap)))
        goto out;
    if (!name || !*name) {
        json_err(err, cap, "node has no metadata.name");
        rc = ERR_INVAL;
        goto out;
    }
    inv = mem_zalloc(sizeof *inv);
    inv->name = mem_strdup(name);
    if ((rc = json_str(meta, "resourceVersion", RV_MAX, "metadata.resourceVersion", &rv, err,
                       cap)) ||
        (rc = json_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)) ||
        (rc = node_devices(node, anns, inv, err, cap)))
        goto out;
    inv->resource_version = mem_strdup(rv);
    node_oversubscribed(meta, inv);
    if ((rc = json_ann(anns, inv->backend->ann_handshake, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->handshake = mem_strdup(v);
    if ((rc = json_ann(anns, MODEL_ANN_LOCK, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->lock = mem_strdup(v);
    rc = node_allocatable(node, inv, err, cap);

out:
    if (rc) {
        if (name)
            json_err_prefix(err, cap, "node \"%s\"", name);
        model_inventory_free(inv);
        return rc;
    }
    *out = inv;
    return 0;
}

void model_inventory_free(struct model_inventory *inv)
{
    if (!inv)
        return;
    free(inv->name);
    free(inv->resource_version);
    free(inv->dev);
    free(inv->strings);
    free(inv->pair);
    free(inv->handshake);
    free(inv->lock);
    free(inv);
}

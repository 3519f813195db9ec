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
#include "k8s/pdb.h"
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

/* Does inv->dev point at a row's decoded allocation (not its own)? */
static bool dev_is_a_row(const struct model_inventory *inv)
{
    for (int r = 0; r < inv->nrow; r++)
        if (inv->row[r].decoded && inv->row[r].decoded == inv->dev)
            return true;
    return false;
}

/* Append a row's devices (d, nd: register_parse's allocation, which the
 * row keeps: MIG profiles live after the devices) to the node's. The first
 * row's devices are used in place, as on a node of one vendor; a second
 * row's make a copy of the union. */
static void add_row_devices(struct model_inventory *inv, struct model_row *row,
                            struct policy_device *d, int32_t nd)
{
    row->first = inv->ndev;
    row->ndev = nd;
    if (nd == 0)
        return;
    if (!inv->dev) {
        inv->dev = d;
    } else {
        struct policy_device *u = mem_alloc(sizeof *u * (size_t)(inv->ndev + nd));
        memcpy(u, inv->dev, sizeof *u * (size_t)inv->ndev);
        memcpy(u + inv->ndev, d, sizeof *d * (size_t)nd);
        if (!dev_is_a_row(inv))
            free(inv->dev);
        inv->dev = u;
    }
    inv->ndev += nd;
}

/* One row's register annotation value v: its devices join the node's, or
 * the row is marked bad with the reason (it then has none) and the error
 * is returned. */
static int read_row(struct model_inventory *inv, struct model_row *row, const char *v)
{
    struct policy_device *d = NULL;
    int32_t nd = 0;
    char why[MODEL_ROW_BAD_MAX];
    int rc = row->backend->register_parse(v, &d, &nd, &row->strings, why, sizeof why);
    if (!rc && inv->ndev + nd > POLICY_MAX_DEVICES) {
        snprintf(why, sizeof why, "%d devices with the node's other vendors' %d: more than %d",
                 (int)nd, (int)inv->ndev, POLICY_MAX_DEVICES);
        free(row->strings);
        row->strings = NULL;
        rc = ERR_TOOBIG;
    }
    if (rc) {
        json_err_prefix(why, sizeof why, "annotation %s", row->backend->ann_register);
        row->bad = mem_strdup(why);
        free(d);
        return rc;
    }
    add_row_devices(inv, row, d, nd);
    row->decoded = d;
    return 0;
}

/* Every row whose register annotation the node carries, in table order:
 * the node's devices are the union of theirs. inv->backend is the first
 * such row (the first row of the table when none). A malformed annotation
 * leaves its row's devices out (row->bad says why); it is an error only
 * when no row could be read, as on a node of one vendor. */
static int node_rows(const cJSON *anns, struct model_inventory *inv, char *err, size_t cap)
{
    const struct policy_device_backend *const *b;
    const char *v;
    int rc, nbad = 0, first_rc = 0;
    inv->backend = policy_device_backend_default();
    for (b = policy_device_backends; *b && inv->nrow < MODEL_ROWS_MAX; b++) {
        char why[MODEL_ROW_BAD_MAX];
        if (!(*b)->ann_register)
            continue; /* its inventory is in status.capacity (node_capacity_devices) */
        rc = json_ann(anns, (*b)->ann_register, MODEL_NODE_ANN_MAX, &v, why, sizeof why);
        if (!rc && !v)
            continue;
        inv->row = mem_realloc(inv->row, sizeof *inv->row * (size_t)(inv->nrow + 1));
        memset(&inv->row[inv->nrow], 0, sizeof *inv->row);
        struct model_row *row = &inv->row[inv->nrow++];
        row->backend = *b;
        if (!inv->has_register)
            inv->backend = *b;
        inv->has_register = true;
        if (rc)
            row->bad = mem_strdup(why);
        else
            rc = read_row(inv, row, v);
        if (rc && !nbad++) {
            first_rc = rc;
            snprintf(err, cap, "%s", row->bad);
        }
    }
    return nbad && nbad == inv->nrow ? first_rc : 0; /* nothing readable: the node is left out */
}

/* Each row's pair scores over the node's devices (the first that has any;
 * a later row's scores fill in pairs the earlier left at 0). */
static int node_scores(const cJSON *anns, struct model_inventory *inv, char *err, size_t cap)
{
    for (int r = 0; r < inv->nrow; r++) {
        const struct policy_device_backend *b = inv->row[r].backend;
        uint16_t *pair = NULL;
        const char *v;
        int rc;
        if (inv->row[r].bad || !b->score_parse)
            continue;
        if ((rc = json_ann(anns, b->ann_score, MODEL_NODE_ANN_MAX, &v, err, cap)))
            return rc;
        if (v && (rc = b->score_parse(v, inv->dev, inv->ndev, &pair, err, cap))) {
            json_err_prefix(err, cap, "annotation %s", b->ann_score);
            return rc;
        }
        if (pair && inv->pair) {
            for (int i = 0; i < inv->ndev * inv->ndev; i++)
                if (!inv->pair[i])
                    inv->pair[i] = pair[i];
            free(pair);
        } else if (pair) {
            inv->pair = pair;
        }
    }
    return 0;
}

/* Each row's handshake and allocatable device count. */
static int node_row_health(const cJSON *node, const cJSON *anns, struct model_inventory *inv,
                           char *err, size_t cap)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(node, "status");
    const cJSON *alloc = cJSON_GetObjectItemCaseSensitive(status, "allocatable");
    for (int r = 0; r < inv->nrow; r++) {
        struct model_row *row = &inv->row[r];
        const char *v;
        int rc;
        if ((rc = json_ann(anns, row->backend->ann_handshake, MODEL_POD_ANN_MAX, &v, err, cap)))
            return rc;
        row->handshake = mem_strdup(v);
        if (row->backend == inv->backend) {
            row->alloc = inv->alloc_gpus;
            continue;
        }
        if ((rc = alloc_qty(alloc, policy_device_res(row->backend, POLICY_RES_COUNT), QTY_WHOLE,
                            &row->alloc, err, cap)))
            return rc;
        if (row->alloc < 0) {
            json_err(err, cap, "status.allocatable has a negative quantity");
            return ERR_RANGE;
        }
    }
    return 0;
}

/* The node's devices, pair scores and cordons. */
static int node_devices(const cJSON *node, const cJSON *anns, struct model_inventory *inv,
                        char *err, size_t cap)
{
    const char *v;
    int rc;

    if ((rc = node_rows(anns, inv, err, cap)) || (rc = node_scores(anns, inv, err, cap)))
        return rc;
    if (!inv->has_register && (rc = node_capacity_devices(node, inv, err, cap)))
        return rc;
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
    char labels[PDB_LABELS_MAX];
    if (pdb_labels_flatten(json_field(meta, "labels"), labels, sizeof labels) > 0)
        inv->labels = mem_strdup(labels);
    if ((rc = json_ann(anns, inv->backend->ann_handshake, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->handshake = mem_strdup(v);
    if ((rc = json_ann(anns, MODEL_ANN_LOCK, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->lock = mem_strdup(v);
    if ((rc = node_allocatable(node, inv, err, cap)))
        goto out;
    rc = node_row_health(node, anns, inv, err, cap);

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

void model_inventory_drop_row(struct model_inventory *inv, int r)
{
    struct model_row *row = &inv->row[r];
    int32_t a = row->first, k = row->ndev, n = inv->ndev;
    if (k <= 0)
        return;
    memmove(inv->dev + a, inv->dev + a + k, sizeof *inv->dev * (size_t)(n - a - k));
    if (inv->pair) { /* drop rows and columns a..a+k-1 of the n x n matrix */
        int32_t m = 0;
        for (int32_t i = 0; i < n; i++)
            for (int32_t j = 0; j < n; j++)
                if ((i < a || i >= a + k) && (j < a || j >= a + k))
                    inv->pair[m++] = inv->pair[i * n + j];
    }
    inv->ndev = n - k;
    for (int q = 0; q < inv->nrow; q++)
        if (inv->row[q].first > a)
            inv->row[q].first -= k;
    row->ndev = 0;
    row->dropped = k;
}

void model_inventory_free(struct model_inventory *inv)
{
    if (!inv)
        return;
    free(inv->name);
    free(inv->resource_version);
    if (!dev_is_a_row(inv))
        free(inv->dev);
    free(inv->strings);
    free(inv->pair);
    free(inv->handshake);
    for (int r = 0; r < inv->nrow; r++) {
        free(inv->row[r].strings);
        free(inv->row[r].decoded);
        free(inv->row[r].handshake);
        free(inv->row[r].bad);
    }
    free(inv->row);
    free(inv->lock);
    free(inv->labels);
    free(inv);
}

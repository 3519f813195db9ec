#include "k8s/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "k8s/quota.h"
#include "k8s/pdb.h"

static void load_node(struct cache *c, const cJSON *item, struct snapshot_stats *st)
{
    struct model_inventory *inv = NULL;
    char err[512];
    if (model_node_parse(item, &inv, err, sizeof err) != 0) {
        LOG_WARN("snapshot: node left out: %s", err);
        st->skipped_nodes++;
        return;
    }
    cache_node_put(c, inv);
    st->nodes++;
}

static void load_pod(struct cache *c, const cJSON *item, struct snapshot_stats *st)
{
    struct model_pod_info pi;
    char err[512];
    if (model_pod_info(item, &pi, err, sizeof err) != 0) {
        LOG_WARN("snapshot: pod left out: %s", err);
        st->skipped_pods++;
        return;
    }
    if (cache_pod_put(c, &pi, err, sizeof err) != 0)
        LOG_WARN("snapshot: %s", err);
    if (!pi.terminal && !pi.vgpu_node && !pi.node_name && pi.uid) {
        char *json = cJSON_PrintUnformatted(item); /* bind may fit it later */
        if (json && cache_pending_put(c, pi.uid, json, 0, 0) != 0)
            LOG_WARN("snapshot: pending pod %s/%s not kept: store full", pi.ns, pi.name);
        cJSON_free(json);
    }
    st->pods++;
}

/* A ResourceQuota: its device limits (k8s/quota.h). A malformed limit is
 * left out with a logged reason, the quota's others still apply. */
static void load_quota(struct cache *c, const cJSON *item, struct snapshot_stats *st)
{
    struct quota_limits l;
    const char *ns, *name;
    char err[512];
    int ignored = 0;
    if (quota_parse(item, &ns, &name, &l, &ignored, err, sizeof err) != 0) {
        LOG_WARN("snapshot: resourcequota left out: %s", err);
        st->skipped_quotas++;
        return;
    }
    if (ignored)
        LOG_WARN("snapshot: %s%s", err, ignored > 1 ? " (and more limits of it)" : "");
    cache_quota_put(c, ns, name, &l);
    st->quotas++;
}

/* A PodDisruptionBudget: preemption respects it (k8s/pdb.h). */
static void load_pdb(struct cache *c, const cJSON *item, struct snapshot_stats *st)
{
    char err[512];
    if (pdbs_put(cache_pdbs(c), item, err, sizeof err) != 0) {
        LOG_WARN("snapshot: %s; left out", err);
        st->other++;
        return;
    }
    st->pdbs++;
}

/* The item's kind, or dflt when it names none (borrowed). */
static const char *kind_of(const cJSON *item, const char *dflt)
{
    const char *kind = model_str(item, "kind", NULL, NULL);
    return kind ? kind : dflt;
}

int snapshot_load_json(struct cache *c, const char *json, size_t len, struct snapshot_stats *st,
                       char *err, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *items, *item;
    int rc = 0;

    memset(st, 0, sizeof *st);
    if (!root) {
        snprintf(err, cap, "not JSON (near byte %ld)", (long)(cJSON_GetErrorPtr() - json));
        return ERR_INVAL;
    }
    items = cJSON_GetObjectItemCaseSensitive(root, "items");
    if (!cJSON_IsArray(items)) {
        snprintf(err, cap, "not a List: want {\"kind\":\"List\",\"items\":[...]}");
        rc = ERR_INVAL;
        goto out;
    }
    /* Items of a NodeList or PodList from the API carry no kind. */
    const char *list = model_str(root, "kind", NULL, NULL);
    const char *dflt = list && strcmp(list, "NodeList") == 0            ? "Node"
                       : list && strcmp(list, "PodList") == 0           ? "Pod"
                       : list && strcmp(list, "ResourceQuotaList") == 0 ? "ResourceQuota"
                                                                        : NULL;
    /* Nodes first, so pods find their node. */
    cJSON_ArrayForEach(item, items)
    {
        const char *kind = kind_of(item, dflt);
        if (kind && strcmp(kind, "Node") == 0)
            load_node(c, item, st);
    }
    cJSON_ArrayForEach(item, items)
    {
        const char *kind = kind_of(item, dflt);
        if (kind && strcmp(kind, "Pod") == 0)
            load_pod(c, item, st);
        else if (kind && strcmp(kind, "ResourceQuota") == 0)
            load_quota(c, item, st);
        else if (kind && strcmp(kind, "PodDisruptionBudget") == 0)
            load_pdb(c, item, st);
        else if (!kind || strcmp(kind, "Node") != 0)
            st->other++;
    }
    cache_set_ready(c, true);
out:
    cJSON_Delete(root);
    return rc;
}

int snapshot_load(struct cache *c, const char *path, struct snapshot_stats *st, char *err,
                  size_t cap)
{
    char *data = NULL;
    size_t len = 0;
    int rc = file_read(path, SNAPSHOT_MAX_BYTES, &data, &len, err, cap);
    if (!rc)
        rc = snapshot_load_json(c, data, len, st, err, cap);
    free(data);
    return rc;
}

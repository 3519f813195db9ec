#include "k8s/snapshot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/jsonstream.h"
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
        char *json = NULL; /* what bind needs of it, should it fit it later */
        if (model_pod_compact(item, &json, err, sizeof err) != 0 ||
            cache_pending_put(c, pi.uid, json, 0, 0) != 0)
            LOG_WARN("snapshot: pending pod %s/%s not kept for bind: %s", pi.ns, pi.name,
                     json ? "bigger than the store's bound" : err);
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

/* ---- reading the items one at a time ---- */

/* A load in two passes over the document (k8s/jsonstream.h): nodes first,
 * so pods find their node, then everything else. Each item is parsed in the
 * pass that loads it; the other pass skips it on the kind the scanner read
 * (only an item whose kind it could not read plainly is parsed twice). */
struct load {
    struct cache *c;
    struct snapshot_stats *st;
    struct jsonstream *js;
    int pass;           /* 1: nodes; 2: the rest; 0: all at once (input that cannot be re-read) */
    bool kindless_only; /* pass 1 again, for kind-less items read before the List's kind */
    bool deferred;      /* pass 1 met such items */
    bool list_known;    /* the List's kind was read (or there is none) */
    char list[64];      /* the List's kind ("" none) */
    char *err;
    size_t cap;
};

/* The kind of the List's items that name none: Node for a NodeList... */
static const char *default_kind(const char *list)
{
    return strcmp(list, "NodeList") == 0            ? "Node"
           : strcmp(list, "PodList") == 0           ? "Pod"
           : strcmp(list, "ResourceQuotaList") == 0 ? "ResourceQuota"
                                                    : NULL;
}

/* Read the List's kind from what the scanner kept, if it is there yet (or
 * the whole document was read: at_end). */
static void learn_list(struct load *l, bool at_end)
{
    cJSON *h = jsonstream_head(l->js);
    const char *k = model_str(h, "kind", NULL, NULL);
    if (k || at_end) {
        snprintf(l->list, sizeof l->list, "%s", k ? k : "");
        l->list_known = true;
    }
    cJSON_Delete(h);
}

/* The item's kind (borrowed from it or from the stream), parsing it into
 * *tree when the scanner could not read it. NULL: none. */
static const char *item_kind(struct load *l, const struct jsonstream_item *it, cJSON **tree)
{
    if (it->kind_is == JSONSTREAM_KIND_PLAIN)
        return it->kind;
    if (it->kind_is == JSONSTREAM_KIND_PARSE) {
        *tree = cJSON_ParseWithLength(it->json, it->len);
        const char *k = model_str(*tree, "kind", NULL, NULL);
        if (k || !*tree)
            return k;
    }
    return default_kind(l->list);
}

/* Whether this pass loads an item that is (not) a node. */
static bool wanted(const struct load *l, bool node)
{
    return l->pass == 0 || node == (l->pass == 1);
}

static void load_one(struct load *l, const char *kind, const cJSON *item)
{
    if (kind && strcmp(kind, "Node") == 0)
        load_node(l->c, item, l->st);
    else if (kind && strcmp(kind, "Pod") == 0)
        load_pod(l->c, item, l->st);
    else if (kind && strcmp(kind, "ResourceQuota") == 0)
        load_quota(l->c, item, l->st);
    else if (kind && strcmp(kind, "PodDisruptionBudget") == 0)
        load_pdb(l->c, item, l->st);
    else
        l->st->other++;
}

static int on_item(void *ctx, const struct jsonstream_item *it)
{
    struct load *l = ctx;
    cJSON *tree = NULL;
    int rc = 0;
    if (it->kind_is == JSONSTREAM_KIND_NONE && !l->list_known)
        learn_list(l, false);
    if (l->kindless_only && it->kind_is != JSONSTREAM_KIND_NONE)
        return 0;
    if (it->kind_is == JSONSTREAM_KIND_NONE && !l->list_known) {
        if (l->pass == 0 && !l->deferred)
            LOG_WARN("snapshot: items without a kind before the List's kind, in input that "
                     "cannot be read twice: left out");
        l->deferred = true; /* pass 1 again once the List's kind is known */
        if (l->pass == 0)
            l->st->other++;
        return 0;
    }
    arena_open(); /* the item's tree goes back in one piece */
    const char *kind = item_kind(l, it, &tree);
    bool node = kind && strcmp(kind, "Node") == 0;
    if (wanted(l, node) && (tree || it->kind_is != JSONSTREAM_KIND_PARSE)) {
        if (!tree)
            tree = cJSON_ParseWithLength(it->json, it->len);
        if (tree)
            load_one(l, kind, tree);
    }
    if (!tree && (wanted(l, node) || it->kind_is == JSONSTREAM_KIND_PARSE)) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= it->json && at <= it->json + it->len ? (size_t)(at - it->json) : 0;
        snprintf(l->err, l->cap, "item %zu is not JSON (near byte %zu)", it->index,
                 it->offset + off);
        rc = ERR_INVAL;
    }
    arena_json_delete(tree);
    arena_close();
    return rc;
}

/* One pass over the document: from f (rewound) or from mem. */
static int pass(struct load *l, FILE *f, const char *mem, size_t len)
{
    static const size_t chunk = (size_t)1 << 20;
    char *buf = f ? mem_alloc(chunk) : NULL;
    size_t total = 0;
    int rc = 0;
    l->js = jsonstream_create(SNAPSHOT_ITEM_MAX, on_item, l);
    if (!f) {
        rc = jsonstream_feed(l->js, mem, len, l->err, l->cap);
    } else {
        if (l->pass != 0)
            rewind(f);
        for (size_t n; rc == 0 && (n = fread(buf, 1, chunk, f)) > 0;) {
            total += n;
            if (total > SNAPSHOT_MAX_BYTES) {
                snprintf(l->err, l->cap, "over %ld bytes", SNAPSHOT_MAX_BYTES);
                rc = ERR_TOOBIG;
                break;
            }
            rc = jsonstream_feed(l->js, buf, n, l->err, l->cap);
        }
        if (rc == 0 && ferror(f)) {
            snprintf(l->err, l->cap, "cannot read: %s", strerror(errno));
            rc = ERR_IO;
        }
    }
    if (rc == 0)
        rc = jsonstream_end(l->js, l->err, l->cap);
    if (rc == 0 && !l->list_known)
        learn_list(l, true);
    jsonstream_destroy(l->js);
    l->js = NULL;
    free(buf);
    return rc;
}

/* Nodes, then (for kind-less items read before the List's kind) the nodes
 * among those, then the rest. Input that cannot be read twice (a pipe) is
 * loaded in one pass: pods that come before their node wait for it in the
 * cache. */
static int load(struct cache *c, FILE *f, const char *mem, size_t len, struct snapshot_stats *st,
                char *err, size_t cap)
{
    struct load l = {.c = c, .st = st, .pass = 1, .err = err, .cap = cap};
    struct stat sb;
    memset(st, 0, sizeof *st);
    if (f && (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))) {
        l.pass = 0;
        int rc = pass(&l, f, NULL, 0);
        if (rc == 0)
            cache_set_ready(c, true);
        return rc;
    }
    int rc = pass(&l, f, mem, len);
    if (rc == 0 && l.deferred && default_kind(l.list) && !strcmp(default_kind(l.list), "Node")) {
        l.kindless_only = true;
        rc = pass(&l, f, mem, len);
        l.kindless_only = false;
    }
    l.pass = 2;
    if (rc == 0)
        rc = pass(&l, f, mem, len);
    if (rc == 0)
        cache_set_ready(c, true);
    return rc;
}

int snapshot_load_json(struct cache *c, const char *json, size_t len, struct snapshot_stats *st,
                       char *err, size_t cap)
{
    return load(c, NULL, json, len, st, err, cap);
}

int snapshot_load(struct cache *c, const char *path, struct snapshot_stats *st, char *err,
                  size_t cap)
{
    char detail[512] = "";
    FILE *f = fopen(path, "rb");
    int rc;
    if (!f) {
        memset(st, 0, sizeof *st);
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    rc = load(c, f, NULL, 0, st, detail, sizeof detail);
    fclose(f);
    if (rc)
        snprintf(err, cap, "%s: %s", path, detail);
    return rc;
}

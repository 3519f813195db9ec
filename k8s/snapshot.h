/* snapshot: the cluster from a file instead of an API server.
 *
 * The file is what `kubectl get nodes,pods,resourcequotas,pdb -A -o json`
 * prints: a List (or a NodeList / PodList / ResourceQuotaList) of Node,
 * Pod, ResourceQuota and PodDisruptionBudget objects. Nodes become
 * inventory, pods placed on a node become usage, ResourceQuotas namespace
 * limits (k8s/quota.h), PodDisruptionBudgets the cache's budgets
 * (k8s/pdb.h). A malformed node, pod, quota or budget is left out with a
 * logged reason; the rest loads.
 *
 * The document is never held whole: it is scanned twice in pieces
 * (k8s/jsonstream.h), nodes first, then the rest, and each item is parsed
 * alone, so memory stays that of one item on top of the cache. Items come in
 * any order, and the List's "kind" may come after its "items". Input that
 * cannot be read twice (a pipe) is read once: nodes and the rest as they
 * come (a pod before its node waits for it in the cache), and items without
 * a kind before the List's kind are left out. */
#ifndef VS_SNAPSHOT_H
#define VS_SNAPSHOT_H

#include <stddef.h>

#include "k8s/cache.h"

#define SNAPSHOT_MAX_BYTES (1024L * 1024 * 1024) /* 1 GiB */
#define SNAPSHOT_ITEM_MAX  (16L << 20)           /* one node, pod, quota or budget */

struct snapshot_stats {
    int nodes, pods, skipped_nodes, skipped_pods, other;
    int quotas, skipped_quotas; /* ResourceQuota objects (k8s/quota.h) */
    int pdbs;                   /* PodDisruptionBudgets loaded (k8s/pdb.h) */
};

/* Load path into c and mark it ready. Returns 0, ERR_IO (cannot read),
 * ERR_TOOBIG (over SNAPSHOT_MAX_BYTES, an item over SNAPSHOT_ITEM_MAX) or
 * ERR_INVAL (not JSON, not a List); detail in err, naming path and the
 * byte. On an error the cache may hold part of the file and is not ready.
 * Opens and closes this thread's arena (base/arena.h) for each item: call
 * it with none open. */
int snapshot_load(struct cache *c, const char *path, struct snapshot_stats *st, char *err,
                  size_t cap);
/* The same from a string already in memory. */
int snapshot_load_json(struct cache *c, const char *json, size_t len, struct snapshot_stats *st,
                       char *err, size_t cap);

#endif

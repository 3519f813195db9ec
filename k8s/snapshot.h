/* snapshot: the cluster from a file instead of an API server.
 *
 * The file is what `kubectl get nodes,pods,resourcequotas,pdb -A -o json`
 * prints: a List (or a NodeList / PodList / ResourceQuotaList) of Node,
 * Pod, ResourceQuota and PodDisruptionBudget objects. Nodes become
 * inventory, pods placed on a node become usage, ResourceQuotas namespace
 * limits (k8s/quota.h), PodDisruptionBudgets the cache's budgets
 * (k8s/pdb.h). A malformed node, pod, quota or budget is left out with a
 * logged reason; the rest loads. */
#ifndef VS_SNAPSHOT_H
#define VS_SNAPSHOT_H

#include <stddef.h>

#include "k8s/cache.h"

#define SNAPSHOT_MAX_BYTES (1024L * 1024 * 1024) /* 1 GiB */

struct snapshot_stats {
    int nodes, pods, skipped_nodes, skipped_pods, other;
    int quotas, skipped_quotas; /* ResourceQuota objects (k8s/quota.h) */
    int pdbs;                   /* PodDisruptionBudgets loaded (k8s/pdb.h) */
};

/* Load path into c and mark it ready. Returns 0, ERR_IO (cannot read),
 * ERR_TOOBIG (over SNAPSHOT_MAX_BYTES) or ERR_INVAL (not JSON, not a List);
 * detail in err. */
int snapshot_load(struct cache *c, const char *path, struct snapshot_stats *st, char *err,
                  size_t cap);
/* The same from a string already in memory. */
int snapshot_load_json(struct cache *c, const char *json, size_t len, struct snapshot_stats *st,
                       char *err, size_t cap);

#endif

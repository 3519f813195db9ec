/* pdb: the PodDisruptionBudgets preemption respects (place/preempt.h).
 *
 * Fed like the cache, by one source: the snapshot file's
 * PodDisruptionBudget items (k8s/snapshot.c) or the API watch of
 * policy/v1 poddisruptionbudgets (k8s/watch.c). Each budget keeps its
 * namespace, its selector (matchLabels and matchExpressions with In, NotIn,
 * Exists, DoesNotExist) and status.disruptionsAllowed. A pod is covered by
 * a budget of its namespace whose selector matches its labels; an empty
 * selector ({}) covers every pod of the namespace, a missing one none (as
 * policy/v1). Evicting a covered pod uses one of the budget's allowed
 * disruptions; an eviction past them violates the budget.
 *
 * Labels are passed flattened (pdb_labels_flatten): "key=value\n" per
 * label, the form the cache keeps for each pod.
 *
 * Thread-safe: one mutex, a leaf (taken after the cache's lock, never
 * before it; it calls nothing). */
#ifndef VS_PDB_H
#define VS_PDB_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define PDB_MAX         100000 /* budgets held; more are refused */
#define PDB_REQ_MAX     32     /* selector requirements of one budget */
#define PDB_VALUES_MAX  64     /* values of one requirement */
#define PDB_LABELS_MAX  4096   /* bytes of a pod's flattened labels */
#define PDB_MATCHES_MAX 16     /* budgets one pod is counted against */

struct pdbs;

/* Returns a new empty set; free with pdbs_destroy (accepts NULL). */
struct pdbs *pdbs_create(void);
void pdbs_destroy(struct pdbs *s);
/* Parse a PodDisruptionBudget object and insert or replace it (by
 * namespace and name). Returns 0; ERR_INVAL (no name, a selector that
 * does not parse) or ERR_TOOBIG (past a limit) with the reason in err:
 * then the budget is left out and an older version of it removed, and
 * the caller logs why. */
int pdbs_put(struct pdbs *s, const cJSON *obj, char *err, size_t cap);
void pdbs_del(struct pdbs *s, const char *ns, const char *name);
/* Drop every budget (a new full list follows). */
void pdbs_clear(struct pdbs *s);
size_t pdbs_count(struct pdbs *s);

/* One budget covering a pod: a serial unique among the budgets held, and
 * its disruptions allowed. */
struct pdb_hit {
    uint32_t id;
    int32_t allowed;
};
/* The budgets of namespace ns covering a pod with flattened labels
 * (NULL: none), up to cap of them into out. Returns how many. Takes the
 * lock. */
int pdbs_match(struct pdbs *s, const char *ns, const char *labels, struct pdb_hit *out, int cap);
/* Lock once around many pdbs_match_locked calls (a whole preemption). */
void pdbs_lock(struct pdbs *s);
void pdbs_unlock(struct pdbs *s);
int pdbs_match_locked(struct pdbs *s, const char *ns, const char *labels, struct pdb_hit *out,
                      int cap);

/* Flatten a metadata.labels object into buf ("k=v\n" each, NUL-ended).
 * Labels whose key or value holds '=' or a newline, or that do not fit
 * in cap, are left out. Returns the length written (0: no labels). */
size_t pdb_labels_flatten(const cJSON *labels, char *buf, size_t cap);

#endif

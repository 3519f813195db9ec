/* verdicts: a bounded ring of the last filter verdicts, for the web view's
 * "Pending and refused" panel (server/ui.h).
 *
 * Each filter of a GPU pod records one entry: the pod, when, how many nodes
 * were offered and fitted, the node chosen (none: the pod stays pending),
 * and for a refused pod the number of nodes per reason word in HAMi's
 * words ("CardInsufficientMemory") with the first few nodes and their full
 * reason. Every field has a fixed size (longer strings are cut), so the
 * ring holds at most VERDICTS_MAX entries of sizeof(struct verdict) bytes
 * whatever the pods: the oldest entry makes room. A pod filtered again gets
 * a new entry; readers show the newest per pod.
 *
 * Thread-safe: one mutex, a leaf (taken after any other lock, never held
 * across anything but a copy). The filter path's cost is one copy of an
 * entry under it. */
#ifndef VS_VERDICTS_H
#define VS_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

#define VERDICTS_MAX        128 /* entries in the ring */
#define VERDICT_REASONS_MAX 16  /* distinct reason words per entry */
#define VERDICT_NODES_MAX   8   /* example nodes with their reason per entry */

/* One entry. Open value struct; strings NUL-terminated, cut to size. */
struct verdict {
    uint64_t seq; /* 1, 2, ... in recording order */
    double at;    /* unix seconds */
    char ns[64], name[254], uid[64];
    char node[254]; /* chosen; "" = none fitted */
    int32_t offered, fitted;
    int32_t nreason; /* entries in reason[] */
    struct verdict_reason {
        char word[64];
        int32_t nodes;
    } reason[VERDICT_REASONS_MAX];
    int32_t nexample; /* entries in example[] */
    struct verdict_example {
        char node[128];
        char why[192];
    } example[VERDICT_NODES_MAX];
};

struct verdicts;

/* Returns a new empty ring of cap entries (1..VERDICTS_MAX; else
 * VERDICTS_MAX). Free with verdicts_destroy (accepts NULL). */
struct verdicts *verdicts_create(size_t cap);
void verdicts_destroy(struct verdicts *v);

/* Record e (copied; its seq is set here). Accepts v NULL (does nothing). */
void verdicts_add(struct verdicts *v, const struct verdict *e);

/* Copy the entries out, newest first, one per pod uid (its newest), at
 * most cap into out. Returns how many were copied. */
size_t verdicts_read(struct verdicts *v, struct verdict *out, size_t cap);

/* How many entries were ever recorded (older ones dropped out). */
uint64_t verdicts_total(struct verdicts *v);

/* Add one node's reason text ("1/8 CardInsufficientMemory, 7/8
 * CardTypeMismatch" or "NodeUnfitPod") to e's tally: each word counts the
 * node once; "k/n " before a word is dropped. Words past
 * VERDICT_REASONS_MAX distinct ones are counted under "other". */
void verdict_tally(struct verdict *e, const char *why);

/* Copy s into dst (cap bytes), cut to fit, always NUL-terminated. */
void verdict_copy(char *dst, size_t cap, const char *s);

#endif

/* lease: whether this replica leads, read from a coordination.k8s.io/v1
 * Lease that another process (the kube-scheduler beside us) holds.
 *
 * This module never writes the Lease: it follows it. It leads while the
 * last Lease it read names it (holderIdentity is the identity, or begins
 * with "<identity>_", as kube-scheduler writes "<hostname>_<uuid>") and
 * renewTime + leaseDurationSeconds, less a margin (LEASE_MARGIN_S, at most
 * a fifth of the duration), is still ahead of this process's clock. So a
 * leader that cannot read the Lease any more (the API server is gone)
 * stops before the Lease could be taken by another replica's
 * kube-scheduler, which waits the whole duration from the last renewal it
 * observed. A Lease that is missing, malformed or held by another
 * identity makes a standby at once; a read that fails in transport keeps
 * the last view until it expires.
 *
 * lease_decide is the pure rule (no I/O, no clock); lease_start reads the
 * Lease once and decides before it returns (on_change(true) from the
 * caller's thread when it leads at once), then a thread GETs the Lease
 * every LEASE_POLL_MS and another tells on_change (from that thread) each
 * time leading changes.
 * Thread-safe. */
#ifndef VS_LEASE_H
#define VS_LEASE_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/kube.h"

#define LEASE_POLL_MS      1000 /* between two reads of the Lease */
#define LEASE_MARGIN_S     2.0  /* stop this long before the Lease runs out */
#define LEASE_HOLDER_MAX   256  /* bytes of a holderIdentity kept for display */
#define LEASE_IDENTITY_MAX 254

enum lease_verdict {
    LEASE_OURS,      /* held by us; valid until *expires */
    LEASE_OTHER,     /* held by another identity, or by nobody */
    LEASE_MALFORMED, /* not a Lease we can read: no spec, bad times, bad duration */
};

/* Judge a Lease's JSON text (len bytes) for identity. Fills holder (cap
 * bytes; "" when none) and *expires (renewTime + leaseDurationSeconds, unix
 * seconds; 0 when unknown) and *duration (seconds; 0 when unknown). Pure. */
enum lease_verdict lease_decide(const char *json, size_t len, const char *identity, char *holder,
                                size_t cap, double *expires, double *duration);

/* The margin for a Lease of duration seconds: LEASE_MARGIN_S, or a fifth
 * of the duration when that is less. */
double lease_margin(double duration);

typedef void (*lease_change_fn)(void *ctx, bool leading);
typedef void (*lease_count_fn)(void *ctx, const char *reason);

struct lease_options {
    const char *ns, *name; /* the Lease; copied */
    const char *identity;  /* ours; copied */
    long poll_ms;          /* 0: LEASE_POLL_MS */
    lease_change_fn on_change;
    void *change_ctx;
    lease_count_fn count; /* may be NULL */
    void *count_ctx;
};

struct lease;

/* Start following: standing by until a read says otherwise; the first read
 * is done before this returns (it may take the client's timeout). k is
 * borrowed and must outlive it. NULL when the threads cannot start. */
struct lease *lease_start(struct kube *k, const struct lease_options *o);
/* Stop the threads (at once, or when a read under way ends: within the
 * client's timeout) and free. on_change is not called any more once this
 * returns. Accepts NULL. */
void lease_stop(struct lease *l);

/* Open value struct: a copy of the follower's state. */
struct lease_stats {
    bool leading;
    unsigned long transitions;         /* changes of leading, both ways */
    unsigned long reads, failed_reads; /* GETs answered, GETs that failed */
    unsigned long malformed;           /* reads that gave a malformed Lease */
    char holder[LEASE_HOLDER_MAX];     /* from the last good read; "" when none */
    double expires;                    /* renew + duration of the last good read; 0: none */
    double last_read;                  /* unix time of the last answered GET; 0: never */
};
void lease_stats(struct lease *l, struct lease_stats *out);

/* The reasons this module counts, NULL-terminated. */
const char *const *lease_reasons(void);

#endif

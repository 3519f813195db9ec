/* nodelock: HAMi's node lock value (hami-protocol.md section 4) and the
 * decision a binder makes on it. Pure: no I/O, no clock (the caller passes
 * the time), no allocation.
 *
 * The value is "<RFC3339 time>,<namespace>,<pod name>"; the legacy form is
 * a bare RFC3339 time with no owner. The device plugin finds the pod being
 * allocated through this value, so nodelock_format writes it exactly as
 * HAMi does (UTC, "2026-01-02T03:04:05Z"). */
#ifndef VS_NODELOCK_H
#define VS_NODELOCK_H

#include <stdbool.h>
#include <stddef.h>

#define NODELOCK_VALUE_MAX 600 /* 20 + 1 + 63 + 1 + 253, rounded up */

/* A parsed value. Open value struct. */
struct nodelock {
    double time;  /* unix seconds */
    char ns[256]; /* "" for the legacy form */
    char name[256];
    bool legacy;
};

/* Parse value. Returns 0, or ERR_INVAL (not 1 or 3 comma fields, a bad
 * time, an owner too long) or ERR_TOOBIG (over NODELOCK_VALUE_MAX). */
int nodelock_parse(const char *value, struct nodelock *out);

/* Write "<time>,<ns>,<name>" for unix time now into buf. Returns the
 * length, or ERR_TOOBIG when it does not fit in cap. */
int nodelock_format(double now, const char *ns, const char *name, char *buf, size_t cap);
/* Write the bare "<time>" (the legacy form, and the form of a vendor's own
 * lock such as Cambricon's cambricon.com/dsmlu.lock) for unix time now.
 * Returns the length, or ERR_TOOBIG. */
int nodelock_format_time(double now, char *buf, size_t cap);

enum nodelock_state {
    NODELOCK_FREE,      /* no lock: take it */
    NODELOCK_OURS,      /* held by this very pod: already taken */
    NODELOCK_HELD,      /* held by another pod (or a legacy lock) within the timeout */
    NODELOCK_EXPIRED,   /* older than the timeout: take it over */
    NODELOCK_MALFORMED, /* not a lock value anyone can release: take it over */
};

/* What value (NULL or "": no lock) means for pod ns/name at time now, with
 * locks older than timeout seconds stale. parsed (may be NULL) gets the
 * parsed value when there is one. A lock dated in the future counts as
 * fresh (clock skew between nodes), not as stale. */
enum nodelock_state nodelock_state(const char *value, const char *ns, const char *name, double now,
                                   double timeout, struct nodelock *parsed);

/* True when filter should pass over the node: a lock held by another pod
 * and younger than timeout (NODELOCK_HELD). */
bool nodelock_blocks(const char *value, const char *ns, const char *name, double now,
                     double timeout);

/* A static name for a state ("held"). */
const char *nodelock_state_name(enum nodelock_state s);

#endif

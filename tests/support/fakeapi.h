/* fakeapi: a small kube-apiserver for tests, in-process, over
 * libmicrohttpd, on 127.0.0.1 and a free port.
 *
 * It behaves like kube-apiserver where the scheduler depends on it:
 *  - nodes, pods and resourcequotas stored as JSON objects, each write bumping one global
 *    resourceVersion; pods get a metadata.uid when they have none;
 *  - paged lists (limit / continue; a continue token older than the kept
 *    history is 410 Expired), labelSelector (k=v, k!=v, k, !k);
 *  - watches (?watch=1&resourceVersion=RV): a chunked stream, kept open,
 *    of the events after RV as they happen, BOOKMARKs when asked for, an
 *    ERROR event with code 410 for a resourceVersion older than the kept
 *    history;
 *  - merge patches (RFC 7386) with a metadata.resourceVersion
 *    precondition (409 Conflict) and a metadata.uid check (422);
 *  - coordination.k8s.io/v1 Leases (GET, PATCH; put them with kind
 *    "leases"), no lists or watches of them;
 *  - the binding subresource (sets spec.nodeName; 409 when already bound
 *    or for another uid), events (recorded), Status error bodies, a bearer
 *    token (401 without it).
 *
 * Faults can be switched on at any time (fakeapi_set_faults): every Nth
 * call answers 500, every answer waits, watches are dropped after a while,
 * node patches with a precondition answer 409 (a conflict storm).
 *
 * The test side (fakeapi_put, _patch, _get, ...) bypasses faults: it is
 * what other clients (the device plugin, kubectl) do. Thread-safe. */
#ifndef VS_FAKEAPI_H
#define VS_FAKEAPI_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#define FAKEAPI_TOKEN "fake-token"

struct fakeapi;

/* Start serving; NULL when it cannot. Free with fakeapi_stop. */
struct fakeapi *fakeapi_start(void);
/* The same over HTTPS with this PEM certificate and key; with trust_pem
 * (NULL: none), a client certificate is asked for and a request without
 * one gets 401. */
struct fakeapi *fakeapi_start_tls(const char *cert_pem, const char *key_pem, const char *trust_pem);
int fakeapi_port(const struct fakeapi *f);
/* End every watch, stop serving, free. Accepts NULL. */
void fakeapi_stop(struct fakeapi *f);

/* Write a kubeconfig for http://127.0.0.1:<port> with the token. 0 or -1. */
int fakeapi_write_kubeconfig(const struct fakeapi *f, const char *path);
/* The bearer token it accepts from now on (FAKEAPI_TOKEN at start). */
void fakeapi_set_token(struct fakeapi *f, const char *token);

/* More clients, each with its own token, so a test can tell processes
 * apart: calls made with token are accepted too and logged as
 * "<who>:METHOD /path ..." (fakeapi_log). 0, or -1 past
 * FAKEAPI_CLIENTS_MAX or for a who of 32 bytes or more. */
#define FAKEAPI_CLIENTS_MAX 8
int fakeapi_add_client(struct fakeapi *f, const char *who, const char *token);
/* A partition: from now on, who's calls whose path contains path_part
 * ("/" for all; "" or NULL: none) answer 503 (logged, and counted in
 * requests). */
void fakeapi_cut_client(struct fakeapi *f, const char *who, const char *path_part);
/* fakeapi_write_kubeconfig with another token. */
int fakeapi_write_kubeconfig_token(const struct fakeapi *f, const char *path, const char *token);

/* ---- objects, as other clients change them (no faults) ---- */

/* kind: "nodes", "pods", "leases", "resourcequotas" (listed and watched
 * at /api/v1/resourcequotas, read-only to clients) or "poddisruptionbudgets"
 * (listed and watched at /apis/policy/v1/poddisruptionbudgets). Add or
 * replace the object given as JSON text;
 * returns its new resourceVersion, or -1 for bad JSON or a missing name. */
long fakeapi_put(struct fakeapi *f, const char *kind, const char *json);
/* Delete; 0, or -1 when there is no such object. ns is ignored for nodes. */
int fakeapi_delete(struct fakeapi *f, const char *kind, const char *ns, const char *name);
/* A copy of the object (caller frees), or NULL. */
cJSON *fakeapi_get(struct fakeapi *f, const char *kind, const char *ns, const char *name);
/* A copy of every object of kind, as an array (caller frees). */
cJSON *fakeapi_list(struct fakeapi *f, const char *kind);
/* Apply a merge patch; returns the HTTP status it would answer. */
int fakeapi_patch(struct fakeapi *f, const char *kind, const char *ns, const char *name,
                  const char *patch);
/* Forget the event history: older resourceVersions and continue tokens
 * get 410 from now on. */
void fakeapi_compact(struct fakeapi *f);
/* Keep at most max events for watches (default 400,000; at least 2): past
 * it the older half is forgotten, as fakeapi_compact does. Each kept event
 * is a copy of its object, so a long churn wants a smaller history. */
void fakeapi_set_history(struct fakeapi *f, size_t max);

/* Play HAMi's device plugin once: every pod bound to a node (spec.nodeName)
 * whose hami.io/bind-phase is "allocating" gets "success", and the node
 * lock naming that pod is released. Returns how many pods it handled. */
int fakeapi_play_device_plugin(struct fakeapi *f);

/* ---- what it saw ---- */

struct fakeapi_counts {
    long requests;       /* every API call, faults included */
    long faults;         /* answered 500 by the fault switch */
    long lists, watches; /* list pages and watch streams started */
    long node_patches, pod_patches, bindings, events;
    long conflicts;       /* 409 answered (precondition, conflict storm, bound) */
    long lock_takes;      /* node patches that set hami.io/mutex.lock */
    long lock_releases;   /* node patches that removed it */
    long lock_overwrites; /* a lock set over a different, fresh owner's lock */
    long handshakes;      /* node patches that set hami.io/node-handshake */
    long unauthorized;    /* 401 answered */
    long pod_events;      /* pod changes a watch delivers (ADDED, MODIFIED, DELETED) */
};
void fakeapi_counts(struct fakeapi *f, struct fakeapi_counts *out);
/* Events received, as an array of the posted objects (caller frees). */
cJSON *fakeapi_events(struct fakeapi *f);
/* Every call so far, one "METHOD /path STATUS body" line each (bodies cut
 * at 400 bytes), as a new string (caller frees). Bounded: at most
 * FAKEAPI_LOG_MAX bytes are kept. */
#define FAKEAPI_LOG_MAX (16 << 20)
char *fakeapi_log(struct fakeapi *f);

/* ---- faults ---- */

struct fakeapi_faults {
    int fail_every;      /* every Nth API call answers 500; 0: never */
    int delay_ms;        /* wait this long before each answer */
    int drop_watch_ms;   /* end every watch stream after this long; 0: never */
    int conflict_every;  /* every Nth node patch with a resourceVersion answers 409; 0: never */
    int conflict_next;   /* the next N node patches with a resourceVersion answer 409 */
    int expire_next;     /* the next N list pages asked with a continue token answer 410 */
    int bookmark_ms;     /* BOOKMARK interval when asked for; 0: 1000 */
    bool hold_watches;   /* open watches deliver nothing (no event, no 410) while set */
    char fail_path[128]; /* calls whose path contains this answer 500; "": none */
};
void fakeapi_set_faults(struct fakeapi *f, const struct fakeapi_faults *x);

#endif

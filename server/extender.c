/* extender.c: the wire of filter, prioritize, bind and the dry run: parse,
 * call the placement layer, answer. */
#include "server/extender.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/placement.h"
#include "place/preempt.h"
#include "server/config.h"
#include "server/verdicts.h"

#define CANDIDATE_MAX 100000 /* nodes in one request */

struct extender {
    struct place *pl;
    const struct place_opts *o; /* the placer's */
    struct extender_binder binder;
    struct metrics *m;
    struct verdicts *verdicts; /* may be NULL */
};

static const char *const error_reasons[] = {
    "bad_body",     "bad_request", "bad_pod",     "not_synced", "no_fit",       "retry",
    "bind_unknown", "bind_no_fit", "bind_failed", "uid_placed", "bind_evicted", NULL,
};

void extender_register_metrics(struct metrics *m)
{
    for (int i = 0; error_reasons[i]; i++)
        metrics_reason_add(m, error_reasons[i]);
    metrics_reason_add(m, "preempt_no_node"); /* /preempt: no node could make room */
}

int extender_opts_from_config(const struct config *c, struct place_opts *o, char *err, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->mode = c->filter_mode == CONFIG_FILTER_ALL ? PLACE_ALL : PLACE_SINGLE;
    o->policy.node_policy = policy_node_policy_find(c->node_policy);
    o->policy.seed = c->seed;
    o->defaults = (struct model_defaults){.mem_factor = 1};
    o->ttl = (double)c->reservation_ttl_ms / 1000.0;
    o->hold_ttl = (double)c->nomination_hold_ms / 1000.0;
    o->lock_timeout = (double)c->node_lock_timeout_ms / 1000.0;
    o->oversub_guard = c->oversub_priority[0] != '\0';
    o->oversub_priority = o->oversub_guard ? (int32_t)strtol(c->oversub_priority, NULL, 10) : 0;
    o->filter_threads = c->filter_threads;
    if (!o->policy.node_policy) {
        snprintf(err, cap, "--node-scheduler-policy: unknown policy \"%s\"", c->node_policy);
        return ERR_INVAL;
    }
    return policy_gpu_policy_parse(c->gpu_policy, &o->policy.gpu, err, cap);
}

struct extender *extender_create(struct place *pl, const struct extender_binder *binder,
                                 struct metrics *metrics)
{
    struct extender *x = mem_zalloc(sizeof *x);
    x->pl = pl;
    x->o = place_options(pl);
    if (binder)
        x->binder = *binder;
    x->m = metrics;
    return x;
}

void extender_set_verdicts(struct extender *x, struct verdicts *v)
{
    x->verdicts = v;
}

void extender_destroy(struct extender *x)
{
    free(x);
}

static void count_error(struct extender *x, const char *reason)
{
    if (x->m)
        metrics_error(x->m, reason);
}

/* Does byte ch go into a JSON string literal as it is? */
static bool plain(char ch)
{
    return (unsigned char)ch >= 0x20 && ch != '"' && ch != '\\';
}

/* Append s as a JSON string literal. */
static void put_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char lit[128]; /* a short string that needs no escape: one append */
    size_t n = 0;
    while (n < sizeof lit - 2 && s[n] && plain(s[n]))
        n++;
    if (!s[n]) {
        lit[0] = '"';
        memcpy(lit + 1, s, n);
        lit[n + 1] = '"';
        buf_append(b, lit, n + 2);
        return;
    }
    const char *run = s;
    buf_append(b, "\"", 1);
    for (s += n; *s; s++) { /* the n before are plain: not asked again */
        if (plain(*s))
            continue;
        unsigned char ch = (unsigned char)*s;
        buf_append(b, run, (size_t)(s - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
        if (ch == '"' || ch == '\\')
            buf_append(b, (char[]){'\\', (char)ch}, 2);
        else
            buf_append(b, esc, 6);
        run = s + 1;
    }
    buf_append(b, run, (size_t)(s - run));
    buf_append(b, "\"", 1);
}

/* ---- requests ---- */

/* One ExtenderArgs. Each candidate's tag is its Node item in full-Nodes
 * mode (only echoed back, never read); p.err also says what is wrong with
 * the request's content. */
struct req {
    cJSON *root;
    const cJSON *pod_json;
    const cJSON *nodes; /* the Nodes object, full-Nodes mode */
    cJSON *dropped;     /* Node items left out of the answer; names point into them */
    bool pod_ok;
    struct place_req p;
};

static void req_free(struct req *r)
{
    arena_json_delete(r->dropped);
    arena_json_delete(r->root);
    free(r->p.c);
    place_req_free(&r->p);
}

/* Candidates from NodeNames or Nodes.items. Returns 0 or ERR_PROTO (r->p.err). */
static int read_candidates(struct req *r)
{
    const cJSON *names = model_get(r->root, "NodeNames"), *nodes = model_get(r->root, "Nodes");
    const cJSON *items = cJSON_IsObject(nodes) ? model_get(nodes, "items") : NULL, *it;
    const cJSON *list = cJSON_IsArray(names) ? names : items;
    size_t i = 0;

    if (!cJSON_IsArray(list)) {
        snprintf(r->p.err, sizeof r->p.err, "request has neither NodeNames nor Nodes.items");
        return ERR_PROTO;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n > CANDIDATE_MAX) {
        snprintf(r->p.err, sizeof r->p.err, "request offers %zu nodes, over the limit of %d", n,
                 CANDIDATE_MAX);
        return ERR_PROTO;
    }
    r->p.c = mem_zalloc(sizeof *r->p.c * (n ? n : 1));
    cJSON_ArrayForEach(it, list)
    {
        const char *name =
            list == names ? cJSON_GetStringValue(it) : model_str(it, "metadata", "name", NULL);
        if (!name || !*name) {
            snprintf(r->p.err, sizeof r->p.err, "%s[%zu] has no node name",
                     list == names ? "NodeNames" : "Nodes.items", i);
            return ERR_PROTO;
        }
        r->p.c[i].name = name;
        r->p.c[i++].tag = list == items ? it : NULL;
    }
    /* Only now: answers walk r->p.c[0..n), every one named. */
    r->p.n = n;
    r->nodes = list == items ? nodes : NULL;
    return 0;
}

/* Parse an ExtenderArgs body. Returns 0; ERR_INVAL when the body is not a
 * JSON object; ERR_PROTO when its content is wrong (r->p.err says how). */
static int read_args(struct extender *x, const char *body, size_t len, struct req *r)
{
    memset(r, 0, sizeof *r);
    place_req_init(&r->p);
    r->root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(r->root))
        return ERR_INVAL;
    r->pod_json = model_get(r->root, "Pod");
    if (!cJSON_IsObject(r->pod_json)) {
        snprintf(r->p.err, sizeof r->p.err, "request has no Pod object");
        return ERR_PROTO;
    }
    int rc = read_candidates(r);
    if (rc)
        return rc;
    struct model_defaults d = place_defaults(x->pl);
    rc = model_pod_parse(r->pod_json, &d, &r->p.pod, r->p.err, sizeof r->p.err);
    if (!rc)
        rc = model_pod_unknown_resource(r->pod_json, r->p.err, sizeof r->p.err);
    if (rc)
        return ERR_PROTO;
    if (!r->p.pod.uid || !*r->p.pod.uid) {
        /* Reservations, pending specs and binds are keyed by the uid. */
        snprintf(r->p.err, sizeof r->p.err, "pod has no metadata.uid");
        return ERR_PROTO;
    }
    r->pod_ok = true;
    return 0;
}

/* ---- node locks (single filter mode) ---- */

#define EVENT_MSG_MAX 1024

static void event(struct extender *x, const char *ns, const char *name, const char *uid,
                  bool warning, const char *reason, const char *message)
{
    if (x->binder.event && name)
        x->binder.event(x->binder.ctx, ns ? ns : "default", name, uid, warning, reason, message);
}

/* Append to msg (cap EVENT_MSG_MAX), cutting at the end. */
static void msg_add(char *msg, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void msg_add(char *msg, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= EVENT_MSG_MAX - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(msg + *len, EVENT_MSG_MAX - *len, fmt, ap);
    va_end(ap);
    *len = n < 0 ? *len : *len + (size_t)n >= EVENT_MSG_MAX ? EVENT_MSG_MAX - 1 : *len + (size_t)n;
}

/* HAMi's messages: "find fit node(N), k nodes not fit, m nodes fit(a:1.00,...)";
 * on failure the number of nodes per reason word ("2 CardInsufficientMemory"). */
static void event_filter(struct extender *x, const struct req *r, int chosen)
{
    struct {
        char word[64];
        int n;
    } t[16];
    int nt = 0, fit = 0;
    char msg[EVENT_MSG_MAX] = "";
    size_t len = 0;
    if (!x->binder.event)
        return;
    for (size_t i = 0; i < r->p.n; i++)
        fit += r->p.c[i].state == PLACE_FITS;
    if (chosen >= 0 || (x->o->mode == PLACE_ALL && fit > 0)) {
        msg_add(msg, &len, "find fit node(%s), %zu nodes not fit, %d nodes fit(",
                chosen >= 0 ? r->p.c[chosen].name : "any", r->p.n - (size_t)fit, fit);
        for (size_t i = 0, first = 1; i < r->p.n; i++) {
            if (r->p.c[i].state != PLACE_FITS)
                continue;
            msg_add(msg, &len, "%s%s:%.2f", first ? "" : ",", r->p.c[i].name, r->p.c[i].score);
            first = 0;
        }
        msg_add(msg, &len, ")");
        event(x, r->p.pod.ns, r->p.pod.name, r->p.pod.uid, false, "FilteringSucceed", msg);
        return;
    }
    /* Count nodes per reason: "1/8 A, 7/8 B" gives one A and one B. */
    for (size_t i = 0; i < r->p.n; i++) {
        if (r->p.c[i].state == PLACE_FITS || r->p.c[i].state == PLACE_NONE)
            continue;
        const char *p = place_reason(&r->p, &r->p.c[i]);
        while (*p) {
            size_t n = strcspn(p, ",");
            const char *w = p, *sp = memchr(p, ' ', n), *sl = memchr(p, '/', n);
            if (sl && sp && sl < sp)
                w = sp + 1; /* drop "k/n " */
            size_t wl = (size_t)(p + n - w);
            int k = 0;
            while (k < nt && (strlen(t[k].word) != wl || strncmp(t[k].word, w, wl) != 0))
                k++;
            if (k == nt && nt < 16) {
                snprintf(t[nt].word, sizeof t[nt].word, "%.*s", (int)wl, w);
                t[nt++].n = 0;
            }
            if (k < nt)
                t[k].n++;
            p += n;
            while (*p == ',' || *p == ' ')
                p++;
        }
    }
    msg_add(msg, &len, "no available node, %zu nodes do not meet", r->p.n);
    for (int k = 0; k < nt; k++)
        msg_add(msg, &len, "%s%d %s", k ? ", " : ": ", t[k].n, t[k].word);
    event(x, r->p.pod.ns, r->p.pod.name, r->p.pod.uid, true, "FilteringFailed", msg);
}

static void event_bind(struct extender *x, const char *ns, const char *name, const char *uid,
                       const char *node, const char *error)
{
    char msg[EVENT_MSG_MAX];
    if (!x->binder.event)
        return;
    if (error) {
        event(x, ns, name, uid, true, "BindingFailed", error);
        return;
    }
    snprintf(msg, sizeof msg, "Successfully binding node [%s] to %s/%s", node, ns, name);
    event(x, ns, name, uid, false, "BindingSucceed", msg);
}

/* ---- filter ---- */

static bool included(const struct req *r, size_t i, int chosen, enum place_mode mode)
{
    return mode == PLACE_ALL ? r->p.c[i].state == PLACE_FITS : (int)i == chosen;
}

/* The reason put_failed wrote last: where its literal is in the answer. */
struct said {
    const char *text;
    size_t at, len;
};

/* Append "name":"reason" for candidate c, a reason the candidate before
 * shared (place/: equal counts, one text) copied from the answer. */
static void put_failed(struct buf *out, const struct place_req *p, const struct place_cand *c,
                       struct said *last)
{
    const char *why = place_reason(p, c);
    put_str(out, c->name);
    buf_puts(out, ":");
    if (why == last->text && buf_reserve(out, last->len) == 0) {
        buf_append(out, out->data + last->at, last->len); /* reserved: data stays */
        return;
    }
    *last = (struct said){why, out->len, 0};
    put_str(out, why);
    last->len = out->len - last->at;
}

static void write_failed(struct buf *out, const struct req *r, bool unresolvable)
{
    bool first = true;
    struct said last = {0};
    buf_puts(out, "{");
    for (size_t i = 0; i < r->p.n; i++) {
        uint8_t s = r->p.c[i].state;
        bool hard = s == PLACE_UNRESOLVABLE || s == PLACE_UNKNOWN;
        if (s == PLACE_NONE || s == PLACE_FITS || hard != unresolvable)
            continue;
        if (!first)
            buf_puts(out, ",");
        first = false;
        put_failed(out, &r->p, &r->p.c[i], &last);
    }
    buf_puts(out, "}");
}

/* Keep only the included items in Nodes.items and print Nodes once. The
 * others move to r->dropped: candidate names still point into them. */
static void write_nodes(struct buf *out, struct req *r, int chosen, enum place_mode mode)
{
    cJSON *items = (cJSON *)model_get(r->nodes, "items");
    if (!r->dropped)
        r->dropped = cJSON_CreateArray();
    for (size_t i = r->p.n; i-- > 0;)
        if (!included(r, i, chosen, mode))
            cJSON_AddItemToArray(r->dropped,
                                 cJSON_DetachItemViaPointer(items, (cJSON *)r->p.c[i].tag));
    char *text = cJSON_PrintUnformatted(r->nodes);
    buf_puts(out, text ? text : "null");
    cJSON_free(text);
}

static void write_filter(struct buf *out, struct req *r, int chosen, enum place_mode mode,
                         const char *error)
{
    bool ok = !error || !*error;
    buf_puts(out, "{\"Nodes\":");
    if (ok && r->nodes)
        write_nodes(out, r, chosen, mode);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"NodeNames\":");
    if (ok && !r->nodes) {
        bool first = true;
        buf_puts(out, "[");
        for (size_t i = 0; i < r->p.n; i++) {
            if (!included(r, i, chosen, mode))
                continue;
            if (!first)
                buf_puts(out, ",");
            first = false;
            put_str(out, r->p.c[i].name);
        }
        buf_puts(out, "]");
    } else {
        buf_puts(out, "null");
    }
    buf_puts(out, ",\"FailedNodes\":");
    write_failed(out, r, false);
    buf_puts(out, ",\"FailedAndUnresolvableNodes\":");
    write_failed(out, r, true);
    buf_puts(out, ",\"Error\":");
    put_str(out, ok ? "" : error);
    buf_puts(out, "}");
}

/* Record the verdict for the web view: who, where; for a pod no node
 * fitted, the nodes per reason word and the first few nodes' reasons. */
static void record_verdict(struct extender *x, const struct req *r, int chosen, double now)
{
    struct verdict e;
    if (!x->verdicts)
        return;
    memset(&e, 0, offsetof(struct verdict, reason)); /* the lists start empty */
    e.nexample = 0;
    e.at = now;
    verdict_copy(e.ns, sizeof e.ns, r->p.pod.ns ? r->p.pod.ns : "default");
    verdict_copy(e.name, sizeof e.name, r->p.pod.name);
    verdict_copy(e.uid, sizeof e.uid, r->p.pod.uid);
    verdict_copy(e.node, sizeof e.node, chosen >= 0 ? r->p.c[chosen].name : "");
    e.offered = (int32_t)r->p.n;
    for (size_t i = 0; i < r->p.n; i++)
        e.fitted += r->p.c[i].state == PLACE_FITS;
    if (e.fitted > 0)
        goto out; /* placed: the reasons are not looked at */
    for (size_t i = 0; i < r->p.n; i++) {
        const struct place_cand *c = &r->p.c[i];
        if (c->state == PLACE_FITS || c->state == PLACE_NONE)
            continue;
        verdict_tally(&e, place_reason(&r->p, c));
        if (e.nexample < VERDICT_NODES_MAX) {
            struct verdict_example *ex = &e.example[e.nexample++];
            verdict_copy(ex->node, sizeof ex->node, c->name);
            verdict_copy(ex->why, sizeof ex->why, place_reason(&r->p, c));
        }
    }
out:
    verdicts_add(x->verdicts, &e);
}

int extender_filter(struct extender *x, const char *body, size_t len, double now, struct buf *out)
{
    struct req r;
    int rc = read_args(x, body, len, &r), chosen = -1;
    if (rc == ERR_INVAL) {
        count_error(x, "bad_body");
        buf_puts(out, "filter: the request body is not a JSON object\n");
        goto out;
    }
    if (rc) {
        count_error(x, r.pod_ok ? "bad_request" : "bad_pod");
        write_filter(out, &r, -1, x->o->mode, r.p.err);
        rc = 0;
        goto out;
    }
    if (!policy_pod_wants_gpu(&r.p.pod)) {
        if (place_pod_matters(x->pl, &r.p.pod))
            place_observe(x->pl, &r.p.pod);
        for (size_t i = 0; i < r.p.n; i++)
            r.p.c[i].state = PLACE_FITS;
        write_filter(out, &r, -1, PLACE_ALL, NULL);
        goto out;
    }
    if (!place_ready(x->pl)) {
        count_error(x, "not_synced");
        write_filter(out, &r, -1, x->o->mode,
                     "cache not synced: the scheduler is still loading "
                     "the cluster; retry shortly");
        goto out;
    }
    /* A new filter replaces the old reservation. */
    /* What bind needs of the pod, kept until it binds (k8s/cache.h). */
    char *json = NULL, why[256];
    if (model_pod_compact(r.pod_json, &json, why, sizeof why) != 0)
        LOG_WARN("filter %s/%s: not kept for bind: %s", r.p.pod.ns, r.p.pod.name, why);
    chosen = place_filter(x->pl, &r.p, json, now);
    cJSON_free(json);
    for (int i = 0; i < r.p.retries; i++)
        count_error(x, "retry");
    if (r.p.err[0]) {
        count_error(x, "uid_placed");
        write_filter(out, &r, -1, x->o->mode, r.p.err);
        goto out;
    }
    if (chosen < 0)
        count_error(x, "no_fit");
    write_filter(out, &r, chosen, x->o->mode, NULL);
    event_filter(x, &r, chosen);
    record_verdict(x, &r, chosen, now);
    LOG_DEBUG("filter %s/%s: %zu nodes offered, chose %s", r.p.pod.ns, r.p.pod.name, r.p.n,
              chosen >= 0 ? r.p.c[chosen].name : "none");
out:
    req_free(&r);
    return rc;
}

/* ---- prioritize ---- */

int extender_prioritize(struct extender *x, const char *body, size_t len, double now,
                        struct buf *out)
{
    struct req r;
    (void)now;
    int rc = read_args(x, body, len, &r);
    if (rc == ERR_INVAL) {
        count_error(x, "bad_body");
        buf_puts(out, "prioritize: the request body is not a JSON object\n");
        goto out;
    }
    if (rc) {
        count_error(x, r.pod_ok ? "bad_request" : "bad_pod");
        LOG_WARN("prioritize: %s; every node scores 0", r.p.err);
        rc = 0;
    } else if (place_pod_matters(x->pl, &r.p.pod)) {
        /* A pod without GPUs reaches us only when managedResources is empty;
         * a policy that places CPU-only pods steers it here. */
        place_evaluate(x->pl, &r.p, NULL, NULL, 0);
    }
    buf_puts(out, "[");
    for (size_t i = 0; i < r.p.n; i++) {
        int score = r.p.c[i].state == PLACE_FITS
                        ? policy_priority(&r.p.pod, &x->o->policy, r.p.c[i].score)
                        : 0;
        buf_puts(out, i ? ",{\"Host\":" : "{\"Host\":");
        put_str(out, r.p.c[i].name);
        buf_printf(out, ",\"Score\":%d}", score);
    }
    buf_puts(out, "]");
out:
    req_free(&r);
    return rc;
}

/* ---- bind ---- */

static void write_bind(struct buf *out, const char *error)
{
    buf_puts(out, "{\"Error\":");
    put_str(out, error ? error : "");
    buf_puts(out, "}");
}

int extender_bind(struct extender *x, const char *body, size_t len, double now, struct buf *out)
{
    cJSON *root = cJSON_ParseWithLength(body, len);
    struct cache_assumed a = {0};
    char err[1024] = "";
    int rc = 0;

    if (!cJSON_IsObject(root)) {
        count_error(x, "bad_body");
        buf_puts(out, "bind: the request body is not a JSON object\n");
        rc = ERR_INVAL;
        goto out;
    }
    const char *name = cJSON_GetStringValue(model_get(root, "PodName"));
    const char *ns = cJSON_GetStringValue(model_get(root, "PodNamespace"));
    const char *uid = cJSON_GetStringValue(model_get(root, "PodUID"));
    const char *node = cJSON_GetStringValue(model_get(root, "Node"));
    if (!name || !ns || !uid || !node || !*uid || !*node) {
        count_error(x, "bad_request");
        write_bind(out, "bind request needs string PodName, PodNamespace, PodUID and Node");
        goto out;
    }
    const char *what = NULL;
    if (place_bind_reserve(x->pl, uid, ns, name, node, now, &a, err, sizeof err, &what) != 0) {
        if (what)
            count_error(x, what);
        write_bind(out, err);
        event_bind(x, ns, name, uid, node, err);
        goto out;
    }
    if (x->binder.bind && x->binder.bind(x->binder.ctx, ns, name, uid, node, a.devices, a.mig,
                                         (long long)now, err, sizeof err) != 0) {
        count_error(x, "bind_failed");
        place_forget(x->pl, uid);
        write_bind(out, err);
        event_bind(x, ns, name, uid, node, err);
        goto out;
    }
    place_bound(x->pl, uid);
    LOG_INFO("bound %s/%s to %s: %s", ns, name, node, a.devices);
    write_bind(out, NULL);
    event_bind(x, ns, name, uid, node, NULL);
out:
    cache_assumed_free(&a);
    cJSON_Delete(root);
    return rc;
}

/* ---- simulate ---- */

int extender_simulate(struct extender *x, const char *pod_json, size_t len,
                      const char *const *names, size_t nnames, double now, struct buf *out)
{
    struct req r;
    char **all = NULL;
    size_t nall = 0;
    char *devices = mem_alloc(PLACE_DEVICES_MAX), *mig = mem_zalloc(PLACE_DEVICES_MAX);
    int rc = 0;

    memset(&r, 0, sizeof r);
    place_req_init(&r.p);
    r.root = cJSON_ParseWithLength(pod_json, len);
    struct model_defaults d = place_defaults(x->pl);
    if (!cJSON_IsObject(r.root) ||
        model_pod_parse(r.root, &d, &r.p.pod, r.p.err, sizeof r.p.err) != 0) {
        buf_printf(out, "simulate: bad pod: %s\n", r.root ? r.p.err : "not a JSON object");
        rc = ERR_INVAL;
        goto out;
    }
    if (!names) {
        all = place_node_names(x->pl, &nall);
        names = (const char *const *)all;
        nnames = nall;
    }
    r.p.n = nnames;
    r.p.c = mem_zalloc(sizeof *r.p.c * (nnames + 1));
    for (size_t i = 0; i < nnames; i++)
        r.p.c[i].name = names[i];
    int k = place_evaluate(x->pl, &r.p, devices, mig, PLACE_DEVICES_MAX);
    bool gpu = policy_pod_wants_gpu(&r.p.pod);

    buf_puts(out, "{\"node\":");
    if (k >= 0)
        put_str(out, r.p.c[k].name);
    else
        buf_puts(out, "null");
    buf_puts(out, ",\"annotations\":");
    cJSON *ann = k >= 0 && gpu ? placement_annotations(r.p.c[k].name, devices, mig, (long long)now)
                               : cJSON_CreateObject();
    char *text = cJSON_PrintUnformatted(ann);
    buf_puts(out, text);
    cJSON_free(text);
    cJSON_Delete(ann);
    buf_puts(out, ",\"failedNodes\":{");
    struct said last = {0};
    for (size_t i = 0, first = 1; i < r.p.n; i++) {
        if (r.p.c[i].state == PLACE_FITS || r.p.c[i].state == PLACE_NONE)
            continue;
        buf_puts(out, first ? "" : ",");
        first = 0;
        put_failed(out, &r.p, &r.p.c[i], &last);
    }
    buf_puts(out, "},\"scores\":{");
    for (size_t i = 0, first = 1; i < r.p.n; i++) {
        if (r.p.c[i].state != PLACE_FITS)
            continue;
        buf_puts(out, first ? "" : ",");
        first = 0;
        put_str(out, r.p.c[i].name);
        buf_printf(out, ":%.4f", r.p.c[i].score);
    }
    buf_puts(out, "}}\n");
out:
    for (size_t i = 0; i < nall; i++)
        free(all[i]);
    free(all);
    free(devices);
    free(mig);
    req_free(&r);
    return rc;
}

/* ---- preempt ---- */

/* One ExtenderPreemptionArgs. */
struct preq {
    cJSON *root;
    struct policy_pod pod;
    int32_t prio;
    struct place_preempt_node *nodes;
    const char **uids; /* every node's proposed uids, one array */
    size_t n;
    char err[512];
};

static void preq_free(struct preq *r)
{
    arena_json_delete(r->root);
    free(r->nodes);
    free(r->uids);
}

/* The uid of one proposed victim: {"UID"} (meta) or a Pod. */
static const char *victim_uid(const cJSON *v, bool meta)
{
    return meta ? cJSON_GetStringValue(model_get(v, "UID")) : model_str(v, "metadata", "uid", NULL);
}

/* Candidates and their proposed victims from NodeNameToMetaVictims (sent
 * when nodeCacheCapable) or NodeNameToVictims. Returns 0 or ERR_PROTO. */
static int read_victims(struct preq *r)
{
    const cJSON *meta = model_get(r->root, "NodeNameToMetaVictims");
    const cJSON *full = model_get(r->root, "NodeNameToVictims"), *it, *v;
    bool is_meta = cJSON_IsObject(meta) && (meta->child || !cJSON_IsObject(full));
    const cJSON *map = is_meta ? meta : full;
    size_t total = 0, i = 0;
    if (!cJSON_IsObject(map)) {
        snprintf(r->err, sizeof r->err,
                 "request has neither NodeNameToMetaVictims nor NodeNameToVictims");
        return ERR_PROTO;
    }
    size_t n = (size_t)cJSON_GetArraySize(map);
    if (n > CANDIDATE_MAX) {
        snprintf(r->err, sizeof r->err, "request offers %zu nodes, over the limit of %d", n,
                 CANDIDATE_MAX);
        return ERR_PROTO;
    }
    cJSON_ArrayForEach(it, map)
    {
        const cJSON *pods = model_get(it, "Pods");
        if (!cJSON_IsObject(it) || (pods && !cJSON_IsArray(pods) && !cJSON_IsNull(pods))) {
            snprintf(r->err, sizeof r->err, "victims of node \"%.200s\" are not {Pods: [...]}",
                     it->string);
            return ERR_PROTO;
        }
        size_t k = (size_t)cJSON_GetArraySize(pods);
        if (k > PREEMPT_PROPOSE_MAX) {
            snprintf(r->err, sizeof r->err, "node \"%.200s\" has %zu victims, over the limit of %d",
                     it->string, k, PREEMPT_PROPOSE_MAX);
            return ERR_PROTO;
        }
        total += k;
    }
    r->nodes = mem_zalloc(sizeof *r->nodes * (n ? n : 1));
    r->uids = mem_zalloc(sizeof *r->uids * (total ? total : 1));
    total = 0;
    cJSON_ArrayForEach(it, map)
    {
        const cJSON *pods = model_get(it, "Pods");
        struct place_preempt_node *nd = &r->nodes[i++];
        nd->name = it->string;
        nd->proposed = r->uids + total;
        pods = cJSON_IsArray(pods) ? pods : NULL;
        cJSON_ArrayForEach(v, pods)
        {
            const char *uid = victim_uid(v, is_meta);
            if (uid && *uid) /* one without a uid names nothing we hold */
                r->uids[total + nd->nproposed++] = uid;
        }
        total += nd->nproposed;
    }
    r->n = n;
    return 0;
}

/* Parse an ExtenderPreemptionArgs body: ERR_INVAL when not a JSON object,
 * ERR_PROTO when its content is wrong (r->err). */
static int read_preempt(struct extender *x, const char *body, size_t len, struct preq *r)
{
    struct model_pod_info pi;
    memset(r, 0, sizeof *r);
    r->root = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(r->root))
        return ERR_INVAL;
    const cJSON *pod = model_get(r->root, "Pod");
    if (!cJSON_IsObject(pod)) {
        snprintf(r->err, sizeof r->err, "request has no Pod object");
        return ERR_PROTO;
    }
    if (model_pod_parse(pod, &x->o->defaults, &r->pod, r->err, sizeof r->err) != 0 ||
        model_pod_info(pod, &pi, r->err, sizeof r->err) != 0)
        return ERR_PROTO;
    if (!r->pod.uid || !*r->pod.uid) {
        snprintf(r->err, sizeof r->err, "pod has no metadata.uid");
        return ERR_PROTO;
    }
    r->prio = pi.priority;
    return read_victims(r);
}

/* The answer: every kept node and its victims' uids. */
static void write_preempt(struct buf *out, const struct preq *r, const struct buf *names,
                          const char *error)
{
    bool first = true;
    buf_puts(out, "{\"NodeNameToMetaVictims\":{");
    for (size_t i = 0; !error && i < r->n; i++) {
        const struct place_preempt_node *nd = &r->nodes[i];
        if (!nd->keep)
            continue;
        buf_puts(out, first ? "" : ",");
        first = false;
        put_str(out, nd->name);
        buf_puts(out, ":{\"Pods\":[");
        struct place_victim v;
        size_t at = 0, k = 0;
        while (place_preempt_victim(names, nd, &at, &k, &v)) {
            buf_puts(out, k > 1 ? ",{\"UID\":" : "{\"UID\":");
            put_str(out, v.uid);
            buf_puts(out, "}");
        }
        buf_printf(out, "],\"NumPDBViolations\":%d}", nd->violations);
    }
    buf_puts(out, "}");
    if (error) {
        buf_puts(out, ",\"Error\":");
        put_str(out, error);
    }
    buf_puts(out, "}");
}

/* An event naming, per kept node (as many as fit), the victims and why. */
static void event_preempt(struct extender *x, const struct preq *r, const struct buf *names,
                          size_t kept, const char *held)
{
    char msg[EVENT_MSG_MAX] = "";
    size_t len = 0;
    if (!x->binder.event)
        return;
    if (!kept) {
        msg_add(msg, &len,
                "no GPU preemption helps on the %zu nodes offered: evicting every pod of "
                "priority below %d would not free the GPUs asked, or not within what the GPU "
                "quota of namespace %s leaves it",
                r->n, (int)r->prio, r->pod.ns ? r->pod.ns : "");
        event(x, r->pod.ns, r->pod.name, r->pod.uid, true, "PreemptionNotHelpful", msg);
        return;
    }
    msg_add(msg, &len, "to free the GPUs asked (priority %d), on %zu of %zu nodes evict",
            (int)r->prio, kept, r->n);
    for (size_t i = 0; i < r->n; i++) {
        const struct place_preempt_node *nd = &r->nodes[i];
        if (!nd->keep)
            continue;
        msg_add(msg, &len, "; %s (%d PDB violations):", nd->name, nd->violations);
        if (!nd->nvictims)
            msg_add(msg, &len, " none");
        struct place_victim v;
        size_t at = 0, k = 0;
        while (place_preempt_victim(names, nd, &at, &k, &v))
            msg_add(msg, &len, "%s %s/%s (priority %d)", k > 1 ? "," : "", v.ns, v.name,
                    (int)v.priority);
    }
    if (held)
        msg_add(msg, &len, "; GPUs held on %s for this pod", held);
    event(x, r->pod.ns, r->pod.name, r->pod.uid, false, "PreemptionVictims", msg);
}

/* One node answered: hold the room it frees for the pod (place_hold). */
static const char *hold_single(struct extender *x, const struct preq *r, const struct buf *names,
                               double now)
{
    const struct place_preempt_node *nd = NULL;
    const char **uids = NULL;
    char err[512];
    for (size_t i = 0; i < r->n; i++)
        if (r->nodes[i].keep)
            nd = &r->nodes[i];
    if (!nd || !policy_pod_wants_gpu(&r->pod))
        return NULL;
    uids = mem_zalloc(sizeof *uids * (nd->nvictims + 1));
    struct place_victim v;
    size_t at = 0, k = 0;
    while (place_preempt_victim(names, nd, &at, &k, &v))
        uids[k - 1] = v.uid;
    int rc = place_hold(x->pl, &r->pod, nd->name, uids, nd->nvictims, now, x->o->hold_ttl, err,
                        sizeof err);
    free(uids);
    if (rc) {
        LOG_INFO("preempt %s/%s: no hold on %s: %s", r->pod.ns, r->pod.name, nd->name, err);
        return NULL;
    }
    return nd->name;
}

int extender_preempt(struct extender *x, const char *body, size_t len, double now, struct buf *out)
{
    struct preq r;
    struct buf names;
    size_t kept = 0, unknown = 0;
    buf_init(&names, (size_t)256 << 20); /* victims of every node: never reached */
    int rc = read_preempt(x, body, len, &r);
    if (rc == ERR_INVAL) {
        count_error(x, "bad_body");
        buf_puts(out, "preempt: the request body is not a JSON object\n");
        goto out;
    }
    if (rc) {
        count_error(x, "bad_request");
        LOG_WARN("preempt: %s; no node answered", r.err);
        write_preempt(out, &r, &names, r.err);
        rc = 0;
        goto out;
    }
    if (!place_ready(x->pl)) {
        count_error(x, "not_synced");
        write_preempt(out, &r, &names,
                      "cache not synced: the scheduler is still loading the cluster; retry "
                      "shortly");
        goto out;
    }
    kept = place_preempt(x->pl, &r.pod, r.prio, r.nodes, r.n, &names);
    for (size_t i = 0; i < r.n; i++)
        unknown += r.nodes[i].unknown;
    if (!kept)
        count_error(x, "preempt_no_node");
    const char *held = kept == 1 ? hold_single(x, &r, &names, now) : NULL;
    write_preempt(out, &r, &names, NULL);
    event_preempt(x, &r, &names, kept, held);
    LOG_INFO("preempt %s/%s (priority %d): %zu of %zu nodes kept; %zu proposed victims unknown "
             "to the cache%s%s",
             r.pod.ns, r.pod.name, (int)r.prio, kept, r.n, unknown, held ? "; held on " : "",
             held ? held : "");
out:
    buf_free(&names);
    preq_free(&r);
    return rc;
}

void extender_nominated(struct extender *x, const cJSON *pod, const char *node, double now)
{
    struct policy_pod *pp = mem_alloc(sizeof *pp);
    char err[512], msg[EVENT_MSG_MAX];
    if (model_pod_parse(pod, &x->o->defaults, pp, err, sizeof err) != 0 || !pp->uid ||
        !policy_pod_wants_gpu(pp))
        goto out;
    if (place_hold(x->pl, pp, node, NULL, 0, now, x->o->hold_ttl, err, sizeof err) != 0) {
        LOG_INFO("nominated %s/%s on %s: no hold: %s", pp->ns, pp->name, node, err);
        goto out;
    }
    LOG_INFO("nominated %s/%s on %s: its GPUs held for %.0f s", pp->ns, pp->name, node,
             x->o->hold_ttl);
    snprintf(msg, sizeof msg,
             "nominated to %s: the GPU share preemption freed there is held for this pod for "
             "%.0f s, or until it is bound, scheduled elsewhere or deleted",
             node, x->o->hold_ttl);
    event(x, pp->ns, pp->name, pp->uid, false, "NominationHeld", msg);
out:
    free(pp);
}

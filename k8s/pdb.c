/* pdb.c: PodDisruptionBudgets by namespace, their selectors, matching. */
#include "k8s/pdb.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hmap.h"
#include "base/mem.h"

enum op { OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS };

struct req {
    char *key;
    enum op op;
    int nval;
    char **val;
};

struct pdb {
    char *key; /* "ns/name": the key of by_key */
    char *ns;
    uint32_t id;
    int32_t allowed;
    bool none; /* no selector: covers no pod */
    int nreq;
    struct req *req;
    struct pdb *next; /* the next budget of the same namespace */
};

/* The budgets of one namespace. */
struct nsl {
    char *ns;
    struct pdb *head;
};

struct pdbs {
    pthread_mutex_t mu;  /* a leaf: guards everything below */
    struct hmap *by_key; /* "ns/name" -> pdb */
    struct hmap *by_ns;  /* ns -> nsl */
    uint32_t serial;
};

struct pdbs *pdbs_create(void)
{
    struct pdbs *s = mem_zalloc(sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->by_key = hmap_create();
    s->by_ns = hmap_create();
    return s;
}

static void pdb_free(struct pdb *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nreq; i++) {
        for (int k = 0; k < p->req[i].nval; k++)
            free(p->req[i].val[k]);
        free(p->req[i].val);
        free(p->req[i].key);
    }
    free(p->req);
    free(p->key);
    free(p->ns);
    free(p);
}

/* Unlink and free the budget under key (s->mu held). */
static void drop(struct pdbs *s, const char *key)
{
    struct pdb *p = hmap_del(s->by_key, key);
    if (!p)
        return;
    struct nsl *l = hmap_get(s->by_ns, p->ns);
    for (struct pdb **at = l ? &l->head : NULL; at && *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    if (l && !l->head) {
        hmap_del(s->by_ns, l->ns);
        free(l->ns);
        free(l);
    }
    pdb_free(p);
}

void pdbs_clear(struct pdbs *s)
{
    size_t it = 0, n = 0;
    const char *k;
    void *v;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    char **keys = mem_alloc(sizeof *keys * (hmap_count(s->by_key) + 1));
    while (hmap_next(s->by_key, &it, &k, &v))
        keys[n++] = mem_strdup(k);
    for (size_t i = 0; i < n; i++) {
        drop(s, keys[i]);
        free(keys[i]);
    }
    free(keys);
    pthread_mutex_unlock(&s->mu);
}

void pdbs_destroy(struct pdbs *s)
{
    if (!s)
        return;
    pdbs_clear(s);
    hmap_destroy(s->by_key);
    hmap_destroy(s->by_ns);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static bool plain(const char *t)
{
    return t && !strpbrk(t, "=\n");
}

/* One requirement from matchLabels (key: value) or matchExpressions. */
static int req_add(struct pdb *p, const char *key, enum op op, const cJSON *vals, const char *one,
                   char *err, size_t cap)
{
    if (p->nreq >= PDB_REQ_MAX) {
        snprintf(err, cap, "selector has more than %d requirements", PDB_REQ_MAX);
        return ERR_TOOBIG;
    }
    if (!plain(key) || !*key) {
        snprintf(err, cap, "selector has a key that is not a label key");
        return ERR_INVAL;
    }
    int n = one ? 1 : vals ? cJSON_GetArraySize(vals) : 0;
    if (n > PDB_VALUES_MAX) {
        snprintf(err, cap, "selector key \"%.64s\" has more than %d values", key, PDB_VALUES_MAX);
        return ERR_TOOBIG;
    }
    if ((op == OP_IN || op == OP_NOTIN) && n == 0) {
        snprintf(err, cap, "selector key \"%.64s\": In and NotIn need values", key);
        return ERR_INVAL;
    }
    struct req *r = &p->req[p->nreq++];
    r->key = mem_strdup(key);
    r->op = op;
    r->val = mem_zalloc(sizeof *r->val * (size_t)(n ? n : 1));
    if (one)
        r->val[r->nval++] = mem_strdup(one);
    const cJSON *v, *list = one ? NULL : vals;
    cJSON_ArrayForEach(v, list)
    {
        const char *t = cJSON_GetStringValue(v);
        if (!t) {
            snprintf(err, cap, "selector key \"%.64s\" has a value that is not a string", key);
            return ERR_INVAL;
        }
        r->val[r->nval++] = mem_strdup(t);
    }
    return 0;
}

static int parse_expr(struct pdb *p, const cJSON *e, char *err, size_t cap)
{
    static const char *const ops[] = {"In", "NotIn", "Exists", "DoesNotExist"};
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "key"));
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "operator"));
    const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values");
    for (int i = 0; op && i < 4; i++)
        if (strcmp(op, ops[i]) == 0)
            return req_add(p, key, (enum op)i, cJSON_IsArray(vals) ? vals : NULL, NULL, err, cap);
    snprintf(err, cap, "selector operator \"%.32s\" is not In, NotIn, Exists or DoesNotExist",
             op ? op : "(none)");
    return ERR_INVAL;
}

static int parse_selector(struct pdb *p, const cJSON *sel, char *err, size_t cap)
{
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(sel, "matchLabels");
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions"), *it;
    int rc = 0;
    if (!cJSON_IsObject(sel)) {
        p->none = true;
        return 0;
    }
    if ((ml && !cJSON_IsObject(ml) && !cJSON_IsNull(ml)) ||
        (me && !cJSON_IsArray(me) && !cJSON_IsNull(me))) {
        snprintf(err, cap, "selector: matchLabels is not an object or matchExpressions not a list");
        return ERR_INVAL;
    }
    p->req = mem_zalloc(sizeof *p->req * PDB_REQ_MAX);
    ml = cJSON_IsObject(ml) ? ml : NULL;
    me = cJSON_IsArray(me) ? me : NULL;
    cJSON_ArrayForEach(it, ml)
    {
        const char *v = cJSON_GetStringValue(it);
        rc = v ? req_add(p, it->string, OP_IN, NULL, v, err, cap) : ERR_INVAL;
        if (!v)
            snprintf(err, cap, "selector: matchLabels value is not a string");
        if (rc)
            return rc;
    }
    cJSON_ArrayForEach(it, me)
    {
        if ((rc = parse_expr(p, it, err, cap)))
            return rc;
    }
    return 0;
}

int pdbs_put(struct pdbs *s, const cJSON *obj, char *err, size_t cap)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name"));
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(status, "disruptionsAllowed");
    char key[600];
    int rc = 0;
    struct pdb *p = NULL;

    ns = ns && *ns ? ns : "default";
    if (!name || !*name || strlen(name) > 253 || strlen(ns) > 253) {
        snprintf(err, cap, "PodDisruptionBudget without a usable metadata.name");
        return ERR_INVAL;
    }
    snprintf(key, sizeof key, "%s/%s", ns, name);
    p = mem_zalloc(sizeof *p);
    /* No status yet (just created): nothing may be disrupted, as the
     * eviction API answers until the controller has counted. */
    p->allowed = cJSON_IsNumber(allowed) && allowed->valuedouble > 0
                     ? (allowed->valuedouble > 1e6 ? 1000000 : (int32_t)allowed->valuedouble)
                     : 0;
    rc = parse_selector(p, cJSON_GetObjectItemCaseSensitive(spec, "selector"), err, cap);
    if (rc) {
        char tail[256];
        snprintf(tail, sizeof tail, "%s", err);
        snprintf(err, cap, "PodDisruptionBudget %s: %s", key, tail);
    }
    pthread_mutex_lock(&s->mu);
    drop(s, key);
    if (!rc && hmap_count(s->by_key) >= PDB_MAX) {
        snprintf(err, cap, "PodDisruptionBudget %s: over the limit of %d budgets", key, PDB_MAX);
        rc = ERR_TOOBIG;
    }
    if (!rc) {
        p->key = mem_strdup(key);
        p->ns = mem_strdup(ns);
        p->id = ++s->serial;
        hmap_put(s->by_key, p->key, p);
        struct nsl *l = hmap_get(s->by_ns, ns);
        if (!l) {
            l = mem_zalloc(sizeof *l);
            l->ns = mem_strdup(ns);
            hmap_put(s->by_ns, l->ns, l);
        }
        p->next = l->head;
        l->head = p;
        p = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    pdb_free(p);
    return rc;
}

void pdbs_del(struct pdbs *s, const char *ns, const char *name)
{
    char key[600];
    if (!s || !name)
        return;
    snprintf(key, sizeof key, "%s/%s", ns && *ns ? ns : "default", name);
    pthread_mutex_lock(&s->mu);
    drop(s, key);
    pthread_mutex_unlock(&s->mu);
}

size_t pdbs_count(struct pdbs *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = hmap_count(s->by_key);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The value of label key in flattened labels, or NULL; *len its length. */
static const char *label(const char *labels, const char *key, size_t *len)
{
    size_t kl = strlen(key);
    for (const char *at = labels; at && *at;) {
        const char *eol = strchr(at, '\n');
        size_t n = eol ? (size_t)(eol - at) : strlen(at);
        if (n > kl && at[kl] == '=' && strncmp(at, key, kl) == 0) {
            *len = n - kl - 1;
            return at + kl + 1;
        }
        at += n + (eol != NULL);
    }
    return NULL;
}

static bool req_ok(const struct req *r, const char *labels)
{
    size_t len = 0;
    const char *v = label(labels, r->key, &len);
    bool in = false;
    for (int i = 0; v && i < r->nval && !in; i++)
        in = strlen(r->val[i]) == len && strncmp(r->val[i], v, len) == 0;
    switch (r->op) {
    case OP_IN:
        return in;
    case OP_NOTIN:
        return !in;
    case OP_EXISTS:
        return v != NULL;
    default:
        return v == NULL;
    }
}

int pdbs_match_locked(struct pdbs *s, const char *ns, const char *labels, struct pdb_hit *out,
                      int cap)
{
    int n = 0;
    const struct nsl *l = s && ns ? hmap_get(s->by_ns, ns) : NULL;
    for (const struct pdb *p = l ? l->head : NULL; p && n < cap; p = p->next) {
        bool ok = !p->none;
        for (int i = 0; ok && i < p->nreq; i++)
            ok = req_ok(&p->req[i], labels);
        if (ok)
            out[n++] = (struct pdb_hit){p->id, p->allowed};
    }
    return n;
}

void pdbs_lock(struct pdbs *s)
{
    pthread_mutex_lock(&s->mu);
}

void pdbs_unlock(struct pdbs *s)
{
    pthread_mutex_unlock(&s->mu);
}

int pdbs_match(struct pdbs *s, const char *ns, const char *labels, struct pdb_hit *out, int cap)
{
    if (!s)
        return 0;
    pdbs_lock(s);
    int n = pdbs_match_locked(s, ns, labels, out, cap);
    pdbs_unlock(s);
    return n;
}

size_t pdb_labels_flatten(const cJSON *labels, char *buf, size_t cap)
{
    const cJSON *it;
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    labels = cJSON_IsObject(labels) ? labels : NULL;
    cJSON_ArrayForEach(it, labels)
    {
        const char *v = cJSON_GetStringValue(it);
        if (!plain(it->string) || !plain(v))
            continue;
        size_t n = strlen(it->string) + strlen(v) + 2;
        if (len + n + 1 > cap)
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s=%s\n", it->string, v);
    }
    return len;
}

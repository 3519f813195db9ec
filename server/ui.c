/* ui.c: the web view's routes and the JSON its page polls. */
#include "server/ui.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "k8s/cache.h"
#include "place/place.h"
#include "policy/device.h"
#include "policy/policy.h"
#include "server/extender.h"
#include "server/http.h"
#include "server/verdicts.h"

#define MODELS_MAX 256 /* distinct (vendor, model) pools; more share the last */
#define JSON_TYPE  "application/json"

/* ---- writing JSON ---- */

/* Append s as a JSON string literal; every control character, quote,
 * backslash, '<', '>' and '&' escaped, so no answer can close a tag. */
static void put_str(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s ? s : "";
    s = run;
    buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != '<' && ch != '>' && ch != '&')
            continue;
        buf_append(b, run, (size_t)(s - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
        buf_append(b, esc, 6);
        run = s + 1;
    }
    buf_append(b, run, (size_t)(s - run));
    buf_append(b, "\"", 1);
}

static void put_key(struct buf *b, const char *k)
{
    put_str(b, k);
    buf_append(b, ":", 1);
}

/* ---- the snapshot: numbers copied out under the read lock ---- */

enum { GPU_SICK = 1, GPU_CORDONED = 2, GPU_STRANDED = 4 };

struct sgpu {
    int64_t devmem, mem;
    int32_t devcore, cores, count, used;
    uint16_t pool;
    uint8_t flags;
};

struct snode {
    const char *name; /* into snap.names */
    int32_t first, ndev;
    bool label_ok; /* has the label asked for (or none was) */
};

struct pool {
    char vendor[32], model[96];
    int32_t backend;
    long nodes, gpus, sick, cordoned;
    int64_t mem, mem_used, stranded;
    long cores, cores_used, slots, slots_used;
    double frag; /* sum of its nodes' fragmentation (milli-GPU); < 0: no workload learned */
};

/* The numbers of every node, copied under the cache's read lock into
 * buffers kept from one request to the next (grown, never shrunk), so
 * the copy touches no fresh memory while it holds the lock. */
struct snap {
    struct snode *node;
    struct sgpu *gpu;
    char *names;
    int nnode, ngpu;
    size_t cap_node, cap_gpu, cap_names;
    const char *label; /* the page's label filter ("k" or "k=v"), or NULL */
    struct pool pool[MODELS_MAX];
    const char *pool_type[MODELS_MAX]; /* the cache's string, compared by pointer first */
    int npool;
};

/* Lock order: mu, then the cache's lock. mu serialises the view requests
 * (a page polls once a second) over the one snapshot. */
struct ui {
    struct cache *cache;
    struct place *pl;
    struct extender *x;
    struct verdicts *v;
    pthread_mutex_t mu;
    struct snap snap; /* under mu */
};

struct ui *ui_create(struct cache *cache, struct place *pl, struct extender *x, struct verdicts *v)
{
    struct ui *u = mem_zalloc(sizeof *u);
    u->cache = cache;
    u->pl = pl;
    u->x = x;
    u->v = v;
    pthread_mutex_init(&u->mu, NULL);
    return u;
}

void ui_destroy(struct ui *u)
{
    if (u == NULL)
        return;
    free(u->snap.node);
    free(u->snap.gpu);
    free(u->snap.names);
    pthread_mutex_destroy(&u->mu);
    free(u);
}

/* Room for n items of size sz in *p (capacity *cap), with slack. */
static void grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return;
    *cap = n + n / 4 + 64;
    *p = mem_realloc(*p, *cap * sz);
    memset(*p, 0, *cap * sz); /* touch every page now */
}

static int pool_of(struct snap *s, const struct policy_device *d)
{
    const struct policy_device_backend *b = policy_device_backend_of(d);
    int bi = policy_device_backend_index(b);
    const char *type = d->type ? d->type : "";
    for (int i = 0; i < s->npool; i++)
        if (s->pool[i].backend == bi &&
            (s->pool_type[i] == type || strcmp(s->pool[i].model, type) == 0)) {
            s->pool_type[i] = type;
            return i;
        }
    if (s->npool == MODELS_MAX)
        return MODELS_MAX - 1;
    struct pool *p = &s->pool[s->npool];
    memset(p, 0, sizeof *p);
    p->backend = bi;
    verdict_copy(p->vendor, sizeof p->vendor, b->name);
    verdict_copy(p->model, sizeof p->model, type);
    s->pool_type[s->npool] = type;
    return s->npool++;
}

/* The same model string and backend as the GPU before: the same pool. */
static bool same_pool(const struct policy_device *prev, const struct policy_device *d)
{
    return prev && prev->type == d->type && prev->backend == d->backend;
}

/* Do flattened labels ("k=v\n" each) hold want: "k=v" exactly, or "k"
 * with any value? */
static bool has_label(const char *labels, const char *want)
{
    size_t n = strlen(want);
    bool key_only = !strchr(want, '=');
    for (const char *p = labels; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
        if (strncmp(p, want, n) == 0 && p[n] == (key_only ? '=' : '\n'))
            return true;
    }
    return false;
}

/* Under the read lock: copy every node's name and its GPUs' numbers. */
static void copy_views(void *ctx, const struct policy_node *const *v, int n)
{
    struct snap *s = ctx;
    size_t bytes = 0;
    int ngpu = 0, last = -1;
    const struct policy_device *prev = NULL;
    for (int i = 0; i < n; i++) {
        bytes += strlen(v[i]->name) + 1;
        ngpu += v[i]->ndev;
    }
    /* Only when the cluster grew past the room made before the lock. */
    grow((void **)&s->node, &s->cap_node, (size_t)n + 1, sizeof *s->node);
    grow((void **)&s->gpu, &s->cap_gpu, (size_t)ngpu + 1, sizeof *s->gpu);
    grow((void **)&s->names, &s->cap_names, bytes + 1, 1);
    s->ngpu = 0;
    s->npool = 0;
    char *w = s->names;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]->name) + 1;
        memcpy(w, v[i]->name, len);
        s->node[i] =
            (struct snode){.name = w,
                           .first = s->ngpu,
                           .ndev = v[i]->ndev,
                           .label_ok = !s->label || has_label(cache_view_labels(v[i]), s->label)};
        w += len;
        for (int k = 0; k < v[i]->ndev; k++) {
            const struct policy_device *d = &v[i]->dev[k];
            const struct policy_usage *u = &v[i]->use[k];
            s->gpu[s->ngpu++] = (struct sgpu){
                .devmem = d->devmem,
                .mem = u->mem,
                .devcore = d->devcore,
                .cores = u->cores,
                .count = d->count,
                .used = u->used,
                .pool = (uint16_t)(last = same_pool(prev, d) ? last : pool_of(s, d)),
                .flags = (uint8_t)((d->health ? 0 : GPU_SICK) | (d->cordoned ? GPU_CORDONED : 0))};
            prev = d;
        }
    }
    s->nnode = n;
}

/* Stranded: memory free on a usable GPU that no pod can take, because its
 * slots or its cores are all taken. */
static bool stranded(const struct sgpu *g)
{
    return !(g->flags & (GPU_SICK | GPU_CORDONED)) && g->mem < g->devmem &&
           (g->used >= g->count || (g->devcore > 0 && g->cores >= g->devcore));
}

static void snap_sum(struct snap *s)
{
    for (int i = 0; i < s->nnode; i++) {
        int last = -1;
        for (int k = 0; k < s->node[i].ndev; k++) {
            struct sgpu *g = &s->gpu[s->node[i].first + k];
            struct pool *p = &s->pool[g->pool];
            if (stranded(g))
                g->flags |= GPU_STRANDED;
            p->nodes += last != g->pool;
            last = g->pool;
            p->gpus++;
            p->sick += (g->flags & GPU_SICK) != 0;
            p->cordoned += (g->flags & GPU_CORDONED) != 0;
            p->mem += g->devmem;
            p->mem_used += g->mem;
            p->stranded += g->flags & GPU_STRANDED ? g->devmem - g->mem : 0;
            p->cores += g->devcore;
            p->cores_used += g->cores;
            p->slots += g->count;
            p->slots_used += g->used;
        }
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct snode *)a)->name, ((const struct snode *)b)->name);
}

/* Each pool's fragmentation as fragment-aware measures it: the sum over
 * the nodes whose first GPU is of the pool (a node of several models or
 * vendors counts whole in its first GPU's pool). One node at a time, each
 * under the placement state's and the cache's read locks, after the copy:
 * a filter's write waits for one node, never for the whole sum. */
static void snap_fragment(struct ui *u, struct snap *s)
{
    for (int i = 0; i < s->npool; i++)
        s->pool[i].frag = -1;
    for (int i = 0; i < s->nnode; i++) {
        double f;
        if (s->node[i].ndev == 0 || place_node_fragment(u->pl, s->node[i].name, &f) != 0)
            continue;
        struct pool *p = &s->pool[s->gpu[s->node[i].first].pool];
        p->frag = (p->frag < 0 ? 0 : p->frag) + f;
    }
}

static void put_pool(struct buf *b, const struct pool *p, bool named)
{
    buf_append(b, "{", 1);
    if (named) {
        put_key(b, "vendor");
        put_str(b, p->vendor);
        buf_append(b, ",", 1);
        put_key(b, "model");
        put_str(b, p->model);
        buf_append(b, ",", 1);
    }
    buf_printf(b,
               "\"nodes\":%ld,\"gpus\":%ld,\"unhealthy\":%ld,\"cordoned\":%ld,"
               "\"memMiB\":%lld,\"memUsedMiB\":%lld,\"strandedMiB\":%lld,"
               "\"cores\":%ld,\"coresUsed\":%ld,\"slots\":%ld,\"slotsUsed\":%ld,"
               "\"allocation\":%.4f,",
               p->nodes, p->gpus, p->sick, p->cordoned, (long long)p->mem, (long long)p->mem_used,
               (long long)p->stranded, p->cores, p->cores_used, p->slots, p->slots_used,
               p->mem > 0 ? (double)p->mem_used / (double)p->mem : 0.0);
    if (p->frag >= 0)
        buf_printf(b, "\"fragmentMilliGpu\":%.1f}", p->frag);
    else
        buf_puts(b, "\"fragmentMilliGpu\":null}");
}

/* Does node i pass the page's filters? */
static bool matches(const struct snap *s, int i, const char *q, const char *model,
                    const char *vendor)
{
    if ((q && *q && !strstr(s->node[i].name, q)) || !s->node[i].label_ok)
        return false;
    if ((!model || !*model) && (!vendor || !*vendor))
        return true;
    for (int k = 0; k < s->node[i].ndev; k++) {
        const struct pool *p = &s->pool[s->gpu[s->node[i].first + k].pool];
        if ((!model || !*model || strcmp(p->model, model) == 0) &&
            (!vendor || !*vendor || strcmp(p->vendor, vendor) == 0))
            return true;
    }
    return false;
}

static long query_long(const struct http_request *req, const char *name, long def, long lo, long hi)
{
    const char *v = http_request_query(req, name);
    char *end;
    if (!v || !*v)
        return def;
    long n = strtol(v, &end, 10);
    if (*end)
        return -1;
    return n < lo ? lo : n > hi ? hi : n;
}

static void put_totals(struct buf *b, const struct snap *s)
{
    struct pool t;
    memset(&t, 0, sizeof t);
    t.frag = -1;
    for (int i = 0; i < s->npool; i++) {
        const struct pool *p = &s->pool[i];
        if (p->frag >= 0)
            t.frag = (t.frag < 0 ? 0 : t.frag) + p->frag;
        t.gpus += p->gpus;
        t.sick += p->sick;
        t.cordoned += p->cordoned;
        t.mem += p->mem;
        t.mem_used += p->mem_used;
        t.stranded += p->stranded;
        t.cores += p->cores;
        t.cores_used += p->cores_used;
        t.slots += p->slots;
        t.slots_used += p->slots_used;
    }
    t.nodes = s->nnode;
    put_key(b, "totals");
    put_pool(b, &t, false);
}

static void put_vendors(struct buf *b, const struct snap *s)
{
    buf_puts(b, ",\"vendors\":[");
    for (int r = 0; policy_device_backends[r]; r++) {
        long gpus = 0;
        for (int i = 0; i < s->npool; i++)
            gpus += s->pool[i].backend == r ? s->pool[i].gpus : 0;
        buf_puts(b, r ? ",{" : "{");
        put_key(b, "name");
        put_str(b, policy_device_backends[r]->name);
        buf_puts(b, ",");
        put_key(b, "word");
        put_str(b, policy_device_backends[r]->vendor_word);
        buf_printf(b, ",\"gpus\":%ld}", gpus);
    }
    buf_puts(b, "]");
}

static void put_page(struct buf *b, const struct snap *s, const struct http_request *req,
                     long offset, long limit)
{
    const char *q = http_request_query(req, "q"), *model = http_request_query(req, "model");
    const char *vendor = http_request_query(req, "vendor");
    long match = 0, shown = 0;
    buf_puts(b, ",\"nodes\":[");
    for (int i = 0; i < s->nnode; i++) {
        if (!matches(s, i, q, model, vendor) || match++ < offset || shown >= limit)
            continue;
        buf_puts(b, shown++ ? ",{" : "{");
        put_key(b, "name");
        put_str(b, s->node[i].name);
        buf_puts(b, ",\"gpus\":[");
        for (int k = 0; k < s->node[i].ndev; k++) {
            const struct sgpu *g = &s->gpu[s->node[i].first + k];
            buf_printf(b, "%s[%lld,%lld,%d,%d,%d,%d,%d,%d]", k ? "," : "", (long long)g->mem,
                       (long long)g->devmem, g->cores, g->devcore, g->used, g->count, g->flags,
                       g->pool);
        }
        buf_puts(b, "]}");
    }
    buf_printf(b, "],\"match\":%ld,\"offset\":%ld,\"limit\":%ld", match, offset, limit);
}

static int on_view(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct ui *u = ctx;
    resp->page = true; /* nosniff, no caching, the page's CSP: on every answer */
    struct snap *s = &u->snap;
    struct cache_stats st;
    long offset = query_long(req, "offset", 0, 0, 1L << 30);
    long limit = query_long(req, "limit", UI_PAGE_DEFAULT, 1, UI_PAGE_MAX);
    if (offset < 0 || limit < 0) {
        resp->status = 400;
        return buf_puts(&resp->body, "offset and limit must be whole numbers\n");
    }
    cache_stats(u->cache, &st);
    pthread_mutex_lock(&u->mu);
    grow((void **)&s->node, &s->cap_node, st.nodes + 1, sizeof *s->node);
    grow((void **)&s->gpu, &s->cap_gpu, st.gpus + 1, sizeof *s->gpu);
    grow((void **)&s->names, &s->cap_names, 64 * st.nodes + 1, 1);
    s->label = http_request_query(req, "label");
    s->label = s->label && *s->label ? s->label : NULL; /* matched under the lock: only then */
    cache_with_views(u->cache, copy_views, s);
    snap_sum(s);
    snap_fragment(u, s);
    qsort(s->node, (size_t)s->nnode, sizeof *s->node, by_name);
    struct buf *b = &resp->body;
    resp->content_type = JSON_TYPE;
    buf_printf(b,
               "{\"time\":%.3f,\"ready\":%s,\"pods\":%zu,\"reservations\":%zu,"
               "\"pendingSpecs\":%zu,",
               clock_wall_s(), cache_ready(u->cache) ? "true" : "false", st.pods, st.reservations,
               st.pending);
    put_totals(b, s);
    buf_puts(b, ",\"pools\":[");
    for (int i = 0; i < s->npool; i++) {
        if (i)
            buf_puts(b, ",");
        put_pool(b, &s->pool[i], true);
    }
    buf_puts(b, "]");
    put_vendors(b, s);
    put_page(b, s, req, offset, limit);
    buf_puts(b, "}\n");
    pthread_mutex_unlock(&u->mu);
    return 0;
}

/* ---- one node ---- */

static int put_json(struct http_response *resp, cJSON *j)
{
    char *text = cJSON_PrintUnformatted(j);
    int rc = text ? 0 : ERR_TOOBIG;
    resp->content_type = JSON_TYPE;
    /* cJSON escapes only what JSON needs: escape '<', '>', '&' too. */
    for (const char *p = text; rc == 0 && *p; p++) {
        if (*p == '<' || *p == '>' || *p == '&')
            rc = buf_printf(&resp->body, "\\u%04x", (unsigned)*p);
        else
            rc = buf_append(&resp->body, p, 1);
    }
    cJSON_free(text);
    return rc;
}

static int on_node(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct ui *u = ctx;
    resp->page = true; /* nosniff, no caching, the page's CSP: on every answer */
    const char *name = http_request_query(req, "name");
    if (!name || !*name) {
        resp->status = 400;
        return buf_puts(&resp->body, "name: which node (?name=NODE)\n");
    }
    cJSON *j = cache_inspect_node(u->cache, name, clock_wall_s());
    if (!j) {
        resp->status = 404;
        return buf_puts(&resp->body, "no such node\n");
    }
    double f;
    if (place_node_fragment(u->pl, name, &f) == 0)
        cJSON_AddNumberToObject(j, "fragmentMilliGpu", f);
    else
        cJSON_AddNullToObject(j, "fragmentMilliGpu");
    int rc = put_json(resp, j);
    cJSON_Delete(j);
    return rc;
}

/* ---- pending and refused ---- */

static void put_verdict(struct buf *b, const struct verdict *e, double now)
{
    buf_puts(b, "{\"namespace\":");
    put_str(b, e->ns);
    buf_puts(b, ",\"name\":");
    put_str(b, e->name);
    buf_puts(b, ",\"uid\":");
    put_str(b, e->uid);
    buf_puts(b, ",\"node\":");
    put_str(b, e->node);
    buf_printf(b, ",\"agoSeconds\":%.1f,\"offered\":%d,\"fitted\":%d,\"reasons\":[", now - e->at,
               e->offered, e->fitted);
    for (int k = 0; k < e->nreason; k++) {
        buf_puts(b, k ? ",{\"word\":" : "{\"word\":");
        put_str(b, e->reason[k].word);
        buf_printf(b, ",\"nodes\":%d}", e->reason[k].nodes);
    }
    buf_puts(b, "],\"examples\":[");
    for (int k = 0; k < e->nexample; k++) {
        buf_puts(b, k ? ",{\"node\":" : "{\"node\":");
        put_str(b, e->example[k].node);
        buf_puts(b, ",\"why\":");
        put_str(b, e->example[k].why);
        buf_puts(b, "}");
    }
    buf_puts(b, "]}");
}

static int on_pending(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct ui *u = ctx;
    resp->page = true; /* nosniff, no caching, the page's CSP: on every answer */
    (void)req;
    struct verdict *e = mem_alloc(sizeof *e * VERDICTS_MAX);
    size_t n = verdicts_read(u->v, e, VERDICTS_MAX);
    double now = clock_wall_s();
    struct buf *b = &resp->body;
    resp->content_type = JSON_TYPE;
    buf_printf(b, "{\"recorded\":%llu,\"ring\":%d,\"pods\":[",
               (unsigned long long)verdicts_total(u->v), VERDICTS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ",");
        put_verdict(b, &e[i], now);
    }
    buf_puts(b, "]}\n");
    free(e);
    return 0;
}

/* ---- where would it go ---- */

static cJSON *yaml_node(yaml_document_t *d, yaml_node_t *n, int depth, long *items, char *err,
                        size_t cap)
{
    if (++*items > UI_YAML_ITEMS_MAX || depth > 64) {
        snprintf(err, cap, "%s", depth > 64 ? "nested deeper than 64" : "too many values");
        return NULL;
    }
    if (n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        char *end;
        if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
            return cJSON_CreateString(v);
        if (!strcmp(v, "true") || !strcmp(v, "false"))
            return cJSON_CreateBool(v[0] == 't');
        if (!*v || !strcmp(v, "null") || !strcmp(v, "~"))
            return cJSON_CreateNull();
        double x = strtod(v, &end); /* "nan", "inf", 1e999: not numbers JSON can carry */
        return *end || end == v || !isfinite(x) ? cJSON_CreateString(v) : cJSON_CreateNumber(x);
    }
    bool map = n->type == YAML_MAPPING_NODE;
    cJSON *o = map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (map) {
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(d, p->key);
            yaml_node_t *v = yaml_document_get_node(d, p->value);
            const char *key =
                k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : NULL;
            if (key && cJSON_GetObjectItemCaseSensitive(o, key)) {
                snprintf(err, cap, "the key \"%.80s\" appears twice in one mapping", key);
                cJSON_Delete(o);
                return NULL;
            }
            cJSON *c = key && v ? yaml_node(d, v, depth + 1, items, err, cap) : NULL;
            if (!c) {
                if (!*err)
                    snprintf(err, cap, "a mapping key that is not a plain string");
                cJSON_Delete(o);
                return NULL;
            }
            cJSON_AddItemToObject(o, key, c);
        }
        return o;
    }
    for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
        yaml_node_t *v = yaml_document_get_node(d, *i);
        cJSON *c = v ? yaml_node(d, v, depth + 1, items, err, cap) : NULL;
        if (!c) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToArray(o, c);
    }
    return o;
}

cJSON *ui_yaml_to_json(const char *text, size_t len, char *err, size_t cap)
{
    yaml_parser_t p;
    yaml_document_t d;
    cJSON *out = NULL;
    long items = 0;
    err[0] = '\0';
    if (!yaml_parser_initialize(&p)) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, cap, "line %zu: %s", p.problem_mark.line + 1,
                 p.problem ? p.problem : "malformed YAML");
        yaml_parser_delete(&p);
        return NULL;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (!root)
        snprintf(err, cap, "empty document");
    else
        out = yaml_node(&d, root, 0, &items, err, cap);
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    return out;
}

/* The words of simulate's failedNodes, counted per node. */
static void put_failed(struct buf *b, const cJSON *failed)
{
    struct verdict *e = mem_zalloc(sizeof *e);
    const cJSON *f;
    int n = 0;
    buf_puts(b, ",\"failed\":[");
    cJSON_ArrayForEach(f, failed)
    {
        verdict_tally(e, cJSON_GetStringValue(f));
        if (n >= UI_LIST_MAX)
            continue;
        buf_puts(b, n++ ? ",{\"node\":" : "{\"node\":");
        put_str(b, f->string);
        buf_puts(b, ",\"why\":");
        put_str(b, cJSON_GetStringValue(f));
        buf_puts(b, "}");
    }
    buf_printf(b, "],\"failedCount\":%d,\"reasons\":[", cJSON_GetArraySize(failed));
    for (int k = 0; k < e->nreason; k++) {
        buf_puts(b, k ? ",{\"word\":" : "{\"word\":");
        put_str(b, e->reason[k].word);
        buf_printf(b, ",\"nodes\":%d}", e->reason[k].nodes);
    }
    buf_puts(b, "]");
    free(e);
}

static int by_score(const void *a, const void *b)
{
    double x = (*(const cJSON *const *)a)->valuedouble, y = (*(const cJSON *const *)b)->valuedouble;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The other fitting nodes, highest score first (the score simulate
 * printed; under spread the lowest wins, so the page says "score"). */
static void put_runners(struct buf *b, const cJSON *scores, const char *chosen)
{
    int n = cJSON_GetArraySize(scores), k = 0;
    const cJSON **v = mem_alloc(sizeof *v * (size_t)(n + 1)), *it;
    cJSON_ArrayForEach(it, scores) v[k++] = it;
    qsort(v, (size_t)k, sizeof *v, by_score);
    buf_printf(b, ",\"fitted\":%d,\"others\":[", n);
    for (int i = 0, shown = 0; i < k && shown < UI_LIST_MAX; i++) {
        if (chosen && strcmp(v[i]->string, chosen) == 0)
            continue;
        buf_puts(b, shown++ ? ",{\"node\":" : "{\"node\":");
        put_str(b, v[i]->string);
        buf_printf(b, ",\"score\":%.4f}", v[i]->valuedouble);
    }
    buf_puts(b, "]");
    free(v);
}

/* The pod of the body: JSON when it starts with '{', else YAML. */
static char *pod_text(const struct http_request *req, char *err, size_t cap)
{
    const char *p = req->body;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (*p == '{')
        return mem_strdup(req->body);
    cJSON *j = ui_yaml_to_json(req->body, req->body_len, err, cap);
    if (!j)
        return NULL;
    char *text = NULL;
    if (cJSON_IsObject(j))
        text = cJSON_PrintUnformatted(j);
    else
        snprintf(err, cap, "not a mapping (a Pod object)");
    cJSON_Delete(j);
    return text;
}

static int on_simulate(void *ctx, const struct http_request *req, struct http_response *resp)
{
    struct ui *u = ctx;
    resp->page = true; /* nosniff, no caching, the page's CSP: on every answer */
    char err[256] = "";
    struct buf sim = BUF_INIT(HTTP_RESPONSE_MAX);
    cJSON *j = NULL;
    int rc = 0;
    char *pod = pod_text(req, err, sizeof err);
    if (!pod) {
        resp->status = 400;
        rc = buf_printf(&resp->body, "simulate: bad pod: YAML: %s\n", err);
        goto out;
    }
    rc = extender_simulate(u->x, pod, strlen(pod), NULL, 0, clock_wall_s(), &sim);
    free(pod);
    if (rc == ERR_INVAL) {
        resp->status = 400;
        rc = buf_puts(&resp->body, buf_str(&sim));
        goto out;
    }
    j = cJSON_Parse(buf_str(&sim));
    if (rc || !j) {
        rc = rc ? rc : ERR_PROTO;
        goto out;
    }
    struct buf *b = &resp->body;
    const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(j, "node"));
    resp->content_type = JSON_TYPE;
    buf_puts(b, "{\"node\":");
    if (node)
        put_str(b, node);
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"annotations\":{");
    const cJSON *a;
    int k = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "annotations"))
    {
        buf_puts(b, k++ ? "," : "");
        put_key(b, a->string);
        put_str(b, cJSON_GetStringValue(a));
    }
    buf_puts(b, "}");
    put_runners(b, cJSON_GetObjectItem(j, "scores"), node);
    put_failed(b, cJSON_GetObjectItem(j, "failedNodes"));
    buf_puts(b, "}\n");
out:
    cJSON_Delete(j);
    buf_free(&sim);
    return rc;
}

/* ---- the page ---- */

static int on_root(void *ctx, const struct http_request *req, struct http_response *resp)
{
    (void)ctx;
    (void)req;
    resp->status = 302;
    resp->location = "/ui/";
    resp->page = true;
    return buf_puts(&resp->body, "the web view is at /ui/\n");
}

static int on_asset(void *ctx, const struct http_request *req, struct http_response *resp)
{
    const struct ui_asset *a = NULL;
    const char *want = strcmp(req->path, "/ui/") == 0 ? "index.html" : req->path + 4;
    (void)ctx;
    for (int i = 0; ui_assets[i].name && !a; i++)
        if (strcmp(ui_assets[i].name, want) == 0)
            a = &ui_assets[i];
    if (!a) {
        resp->status = 404;
        return buf_puts(&resp->body, "404 page not found\n");
    }
    resp->content_type = a->type;
    resp->page = true;
    return buf_append(&resp->body, a->data, a->len);
}

int ui_add_routes(struct ui *u, struct http_server *s, bool client_cert)
{
    static const struct {
        const char *method, *path;
        size_t body_max;
        http_handler fn;
    } routes[] = {
        {"GET", "/", 0, on_root},
        {"GET", "/ui", 0, on_root},
        {"GET", "/ui/", 0, on_asset},
        {"GET", "/ui/api/view", 0, on_view},
        {"GET", "/ui/api/node", 0, on_node},
        {"GET", "/ui/api/pending", 0, on_pending},
        {"POST", "/ui/api/simulate", UI_POD_BODY_MAX, on_simulate},
    };
    char path[128];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof routes / sizeof routes[0]; i++) {
        rc = http_route_add(s, routes[i].method, routes[i].path, routes[i].body_max, routes[i].fn,
                            u);
        if (rc == 0 && client_cert)
            rc = http_route_require_client_cert(s, routes[i].method, routes[i].path);
    }
    for (int i = 0; rc == 0 && ui_assets[i].name; i++) {
        if (strcmp(ui_assets[i].name, "index.html") == 0)
            continue;
        snprintf(path, sizeof path, "/ui/%s", ui_assets[i].name);
        rc = http_route_add(s, "GET", path, 0, on_asset, u);
        if (rc == 0 && client_cert)
            rc = http_route_require_client_cert(s, "GET", path);
    }
    return rc;
}

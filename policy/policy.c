/* policy.c: the policy tables, annotation value parsers, HAMi's scores and
 * the reason words. */
#include "policy/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/list.h"

extern const struct policy_node_policy policy_binpack;
extern const struct policy_node_policy policy_spread;
extern const struct policy_node_policy policy_fragment;

/* Every node policy; a new policy is one new file and one row here. */
static const struct policy_node_policy *const node_policies[] = {
    &policy_binpack,
    &policy_spread,
    &policy_fragment,
};

#define NPOLICIES (sizeof node_policies / sizeof node_policies[0])

const struct policy_node_policy *policy_node_policy_find(const char *name)
{
    for (size_t i = 0; name && i < NPOLICIES; i++)
        if (strcmp(node_policies[i]->name, name) == 0)
            return node_policies[i];
    return NULL;
}

const char *const *policy_node_policy_names(void)
{
    static const char *names[NPOLICIES + 1];
    for (size_t i = 0; i < NPOLICIES; i++)
        names[i] = node_policies[i]->name;
    return names;
}

/* The next element of the comma list at *p, trimmed, copied into tok (cut
 * to cap - 1 bytes). Returns false at the end of the list. */
static bool next_token(const char **p, char *tok, size_t cap)
{
    const char *t;
    size_t n;
    if (!list_next(p, ',', LIST_SPACE, &t, &n))
        return false;
    snprintf(tok, cap, "%.*s", (int)(n < cap ? n : cap - 1), t);
    return true;
}

static void add_key(struct policy_gpu_policy *g, enum policy_gpu_key k)
{
    for (int i = 0; i < g->nkeys; i++)
        if (g->keys[i] == k)
            return;
    g->keys[g->nkeys++] = (uint8_t)k;
}

/* Add the GPU policy word tok to g. Returns 0, or ERR_INVAL naming it. */
static int add_word(struct policy_gpu_policy *g, const char *tok, char *err, size_t cap)
{
    if (strcmp(tok, "binpack") == 0)
        add_key(g, POLICY_KEY_BINPACK);
    else if (strcmp(tok, "spread") == 0)
        add_key(g, POLICY_KEY_SPREAD);
    else if (strcmp(tok, "numa") == 0)
        add_key(g, POLICY_KEY_NUMA);
    else if (strcmp(tok, "mutex") == 0)
        g->mutex = true;
    else if (strcmp(tok, "topology-aware") == 0)
        g->topology = true;
    else {
        snprintf(err, cap,
                 "unknown GPU policy \"%s\" (want binpack, spread, numa, mutex, "
                 "topology-aware, or a comma list of them)",
                 tok);
        return ERR_INVAL;
    }
    return 0;
}

int policy_gpu_policy_parse(const char *s, struct policy_gpu_policy *out, char *err, size_t cap)
{
    struct policy_gpu_policy g = {0};
    char tok[64];
    const char *p = s ? s : "";
    int nelem = 0, rc;

    while (next_token(&p, tok, sizeof tok)) {
        nelem++;
        if (!tok[0] && !*p && nelem > 1)
            break; /* trailing comma */
        if ((rc = add_word(&g, tok, err, cap)))
            return rc;
    }
    if (nelem == 0 && (rc = add_word(&g, "", err, cap)))
        return rc; /* "" names no policy */
    if (g.nkeys == 0)
        add_key(&g, POLICY_KEY_SPREAD); /* HAMi: spread when no score key */
    *out = g;
    return 0;
}

int policy_weights_parse(const char *s, struct policy_weights *out, char *err, size_t cap)
{
    struct policy_weights w = {-1, -1, -1};
    char tok[64];
    const char *p = s ? s : "";
    int n = 0;

    while (n < 4 && next_token(&p, tok, sizeof tok)) {
        n++;
        char *eq = strchr(tok, '=');
        char *end = NULL;
        long v = eq ? strtol(eq + 1, &end, 10) : -1;
        if (!eq || end == eq + 1 || *end || v < 0 || v > POLICY_WEIGHT_MAX) {
            snprintf(err, cap, "weight \"%s\" is not key=integer (0..%d)", tok, POLICY_WEIGHT_MAX);
            return ERR_INVAL;
        }
        *eq = '\0';
        for (char *k = eq - 1; k >= tok && isspace((unsigned char)*k); k--)
            *k = '\0';
        int32_t *slot = strcmp(tok, "slot") == 0     ? &w.slot
                        : strcmp(tok, "core") == 0   ? &w.core
                        : strcmp(tok, "memory") == 0 ? &w.mem
                                                     : NULL;
        if (!slot || *slot >= 0) {
            snprintf(err, cap, "weight key \"%s\" is unknown or repeated (want slot, core, memory)",
                     tok);
            return ERR_INVAL;
        }
        *slot = (int32_t)v;
    }
    if (n != 3 || w.slot < 0 || w.core < 0 || w.mem < 0) {
        snprintf(err, cap, "want all three of slot=N,core=N,memory=N");
        return ERR_INVAL;
    }
    if (w.slot == 0 && w.core == 0 && w.mem == 0) {
        snprintf(err, cap, "at least one weight must be positive");
        return ERR_INVAL;
    }
    *out = w;
    return 0;
}

int64_t policy_ctr_mem(const struct policy_ctr *c, const struct policy_device *d)
{
    if (c->mem > 0)
        return c->mem;
    return d->devmem * c->mem_pct / 100;
}

bool policy_pod_wants_gpu(const struct policy_pod *pod)
{
    for (int i = 0; i < pod->nctr; i++)
        if (pod->ctr[i].nums > 0)
            return true;
    return false;
}

double policy_device_score(const struct policy_device *d, const struct policy_usage *u,
                           const struct policy_ctr *req, const struct policy_weights *w)
{
    if (d->count == 0 || d->devcore == 0 || d->devmem == 0)
        return 0;
    double nreq = req ? 1 : 0;
    double core = req ? req->cores : 0;
    double mem = req ? (double)policy_ctr_mem(req, d) : 0;
    double slot = (nreq + u->used) / d->count;
    double cores = (core + u->cores) / d->devcore;
    double memory = (mem + (double)u->mem) / (double)d->devmem;
    return 10.0 * (w->slot * slot + w->core * cores + w->mem * memory);
}

double policy_node_usage_score(const struct policy_node *node, const struct policy_usage *u)
{
    int64_t used = 0, cores = 0, mem = 0, count = 0, devcore = 0, devmem = 0;
    for (int i = 0; i < node->ndev; i++) {
        used += u[i].used;
        cores += u[i].cores;
        mem += u[i].mem;
        count += node->dev[i].count;
        devcore += node->dev[i].devcore;
        devmem += node->dev[i].devmem;
    }
    if (count == 0 || devcore == 0 || devmem == 0)
        return 0;
    return 10.0 * ((double)used / (double)count + (double)cores / (double)devcore +
                   (double)mem / (double)devmem);
}

double policy_score_before(const struct policy_node *node, const struct policy_placement *pl,
                           const struct policy_pod *pod, const struct policy_opts *opts)
{
    (void)pl;
    (void)pod;
    (void)opts;
    return policy_node_usage_score(node, node->use);
}

static const char *const reason_words[POLICY_R_COUNT] = {
    [POLICY_R_CARD_NOT_HEALTH] = "CardNotHealth",
    [POLICY_R_CARD_CORDONED] = "CardCordoned",
    [POLICY_R_CARD_TYPE_MISMATCH] = "CardTypeMismatch",
    [POLICY_R_NUMA_NOT_FIT] = "NumaNotFit",
    [POLICY_R_CARD_UUID_MISMATCH] = "CardUuidMismatch",
    [POLICY_R_CARD_TIME_SLICING_EXHAUSTED] = "CardTimeSlicingExhausted",
    [POLICY_R_EXCLUSIVE_CONFLICT] = "ExclusiveDeviceAllocateConflict",
    [POLICY_R_QUOTA_NOT_FIT] = "ResourceQuotaNotFit",
    [POLICY_R_CARD_INSUFFICIENT_MEMORY] = "CardInsufficientMemory",
    [POLICY_R_CARD_INSUFFICIENT_CORE] = "CardInsufficientCore",
    [POLICY_R_CARD_COMPUTE_UNITS_EXHAUSTED] = "CardComputeUnitsExhausted",
    [POLICY_R_CARD_MIG_TOPOLOGY_INFEASIBLE] = "CardMigTopologyInfeasible",
    [POLICY_R_MODE_NOT_FIT] = "ModeNotFit",
    [POLICY_R_ALLOCATED_CARDS_INSUFFICIENT] = "AllocatedCardsInsufficientRequest",
    [POLICY_R_NODE_INSUFFICIENT_DEVICE] = "NodeInsufficientDevice",
    [POLICY_R_NODE_INSUFFICIENT_CPU] = "NodeInsufficientCPU",
    [POLICY_R_NODE_INSUFFICIENT_MEMORY] = "NodeInsufficientMemory",
};

const char *policy_reason_word(enum policy_reason r)
{
    return (unsigned)r < POLICY_R_COUNT ? reason_words[r] : "Unknown";
}

/* Node-level reasons are written as a bare word, as HAMi does. */
static bool node_level(int r)
{
    return r >= POLICY_R_NODE_INSUFFICIENT_DEVICE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

size_t policy_reasons_format(const struct policy_reasons *r, char *buf, size_t cap)
{
    char parts[POLICY_R_COUNT][64];
    int n = 0;
    for (int i = 0; i < POLICY_R_COUNT; i++) {
        if (!r->cnt[i])
            continue;
        if (node_level(i))
            snprintf(parts[n++], sizeof parts[0], "%s", reason_words[i]);
        else
            snprintf(parts[n++], sizeof parts[0], "%u/%u %s", r->cnt[i], r->ndev, reason_words[i]);
    }
    qsort(parts, (size_t)n, sizeof parts[0], cmp_str);
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s",
                         i ? ", " : "", parts[i]);
        len += (size_t)w;
    }
    return len;
}

/* device_nvidia_mig.c: NVIDIA MIG profiles, placements and HAMi's MIG
 * allocation annotation (device_nvidia_mig.h). */
#include "policy/device_nvidia_mig.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"

#define VALUE_MAX   (256 * 1024)
#define ENTRIES_MAX POLICY_MAX_PICKS
#define SHOW_MAX    64

uint64_t policy_mig_slices(int start, int size)
{
    uint64_t m = 0;
    if (start < 0 || size <= 0 || start + size > POLICY_MIG_SLICES)
        return 0;
    for (int i = start; i < start + size; i++)
        m |= (uint64_t)1 << (7 * i);
    return m;
}

uint64_t policy_mig_instance(int start, int size)
{
    uint64_t m = policy_mig_slices(start, size);
    return m ? m + POLICY_MIG_ONE : 0;
}

static int counter(uint64_t v, int i)
{
    return (int)((v >> (7 * i)) & 0x7f);
}

uint64_t policy_mig_max(uint64_t a, uint64_t b)
{
    uint64_t m = 0;
    for (int i = 0; i < POLICY_MIG_SLICES; i++) {
        int x = counter(a, i), y = counter(b, i);
        m |= (uint64_t)(x > y ? x : y) << (7 * i);
    }
    int x = policy_mig_known(a), y = policy_mig_known(b);
    return m | (uint64_t)(x > y ? x : y) << 56;
}

int policy_mig_size(const struct policy_mig_profile *p, int start)
{
    for (int i = 0; i < p->nplace; i++)
        if (p->place[i].start == start)
            return p->place[i].size;
    return 0;
}

/* Is any slice of [start, start+size) held? */
static bool overlaps(uint64_t held, int start, int size)
{
    for (int i = start; i < start + size && i < POLICY_MIG_SLICES; i++)
        if (counter(held, i))
            return true;
    return false;
}

/* HAMi packs 1g and 3g instances from the top of the card, the others from
 * the bottom, so that the large placements (which start low) stay free. */
static bool prefer_high(const char *name)
{
    return name && (strncmp(name, "1g.", 3) == 0 || strncmp(name, "3g.", 3) == 0);
}

/* The free placement of p HAMi takes, or -1. */
static int free_placement(const struct policy_mig_profile *p, uint64_t held)
{
    int best = -1;
    bool high = prefer_high(p->name);
    for (int i = 0; i < p->nplace; i++) {
        const struct policy_mig_placement *c = &p->place[i];
        if (overlaps(held, c->start, c->size))
            continue;
        /* HAMi's stable sort by start: among equal starts the first listed. */
        if (best < 0 || (high ? c->start > p->place[best].start : c->start < p->place[best].start))
            best = i;
    }
    return best < 0 ? -1 : p->place[best].start;
}

/* Does profile a come before b (memory, then slice count; HAMi's stable
 * sort keeps the listed order among equals)? */
static bool before(const struct policy_mig_profile *a, int ia, const struct policy_mig_profile *b,
                   int ib)
{
    if (a->mem != b->mem)
        return a->mem < b->mem;
    if (a->slices != b->slices)
        return a->slices < b->slices;
    return ia < ib;
}

int policy_mig_choose(const struct policy_device *d, uint64_t held, int64_t mem, int *start)
{
    bool tried[POLICY_MIG_PROFILES] = {false};
    int n = d->nmig < POLICY_MIG_PROFILES ? d->nmig : POLICY_MIG_PROFILES;
    for (int round = 0; round < n; round++) {
        int k = -1; /* the next profile in HAMi's order */
        for (int i = 0; i < n; i++)
            if (!tried[i] && (k < 0 || before(&d->mig[i], i, &d->mig[k], k)))
                k = i;
        tried[k] = true;
        if (d->mig[k].mem < mem)
            continue;
        int s = free_placement(&d->mig[k], held);
        if (s >= 0) {
            *start = s;
            return k;
        }
    }
    return -1;
}

/* Append s to buf as JSON string content (quotes and control bytes
 * escaped). Returns false when it does not fit. */
static bool append_escaped(char *buf, size_t cap, size_t *len, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int w = c == '"' || c == '\\' ? snprintf(buf + *len, cap - *len, "\\%c", c)
                : c < 0x20            ? snprintf(buf + *len, cap - *len, "\\u%04x", c)
                                      : snprintf(buf + *len, cap - *len, "%c", c);
        if (w < 0 || (size_t)w >= cap - *len)
            return false;
        *len += (size_t)w;
    }
    return true;
}

int policy_mig_encode(const struct policy_pod *pod, const struct policy_node *node,
                      const struct policy_placement *pl, char *buf, size_t cap)
{
    size_t len = 0;
    int n = 0, prev_ctr = -1, dev_index = 0;
    if (cap == 0)
        return ERR_TOOBIG;
    buf[0] = '\0';
    for (int i = 0; i < pl->npick; i++) {
        const struct policy_pick *p = &pl->pick[i];
        dev_index = p->ctr == prev_ctr ? dev_index + 1 : 0;
        prev_ctr = p->ctr;
        const struct policy_device *d = &node->dev[p->dev];
        if (!p->mig || p->mig > d->nmig || p->ctr >= pod->nctr)
            continue;
        const struct policy_mig_profile *pr = &d->mig[p->mig - 1];
        int w = snprintf(buf + len, cap - len,
                         "%s{\"containerIndex\":%d,\"deviceIndex\":%d,\"gpuUUID\":\"",
                         n ? "," : "[", p->ctr, dev_index);
        if (w < 0 || (size_t)w >= cap - len)
            return ERR_TOOBIG;
        len += (size_t)w;
        if (!append_escaped(buf, cap, &len, d->uuid ? d->uuid : ""))
            return ERR_TOOBIG;
        w = snprintf(buf + len, cap - len, "\",\"profile\":\"");
        if (w < 0 || (size_t)w >= cap - len)
            return ERR_TOOBIG;
        len += (size_t)w;
        if (!append_escaped(buf, cap, &len, pr->name ? pr->name : ""))
            return ERR_TOOBIG;
        w = snprintf(buf + len, cap - len, "\",\"placement\":{\"start\":%d,\"size\":%d}}",
                     p->mig_start, policy_mig_size(pr, p->mig_start));
        if (w < 0 || (size_t)w >= cap - len)
            return ERR_TOOBIG;
        len += (size_t)w;
        n++;
    }
    if (n == 0)
        return 0;
    if (len + 2 > cap)
        return ERR_TOOBIG;
    buf[len++] = ']';
    buf[len] = '\0';
    return (int)len;
}

/* A non-negative integer member of o, or -1. */
static int member_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e6))
        return -1;
    return (int)v->valuedouble;
}

/* One entry: 0 when added, 1 when it adds nothing, ERR_INVAL when it is not
 * an allocation object; adds only when out is not NULL. */
static int usage_entry(const struct policy_node *node, const cJSON *e, struct policy_usage *out,
                       int i, char *err, size_t cap)
{
    const char *uuid = cJSON_GetStringValue(cJSON_GetObjectItem(e, "gpuUUID"));
    const char *prof = cJSON_GetStringValue(cJSON_GetObjectItem(e, "profile"));
    const cJSON *place = cJSON_GetObjectItem(e, "placement");
    int start = member_int(place, "start"), size = member_int(place, "size");
    if (!cJSON_IsObject(e) || !uuid || !prof || !cJSON_IsObject(place) || start < 0 || size <= 0) {
        snprintf(err, cap, "MIG allocation %d is incomplete (gpuUUID, profile, placement)", i);
        return ERR_INVAL;
    }
    if (!out)
        return 0;
    int k = policy_device_find(node->dev, node->ndev, uuid, strlen(uuid), 0);
    if (k < 0 || k >= POLICY_MAX_DEVICES || !policy_mig_card(&node->dev[k]))
        return 1;
    const struct policy_device *d = &node->dev[k];
    for (int j = 0; j < d->nmig; j++) {
        if (!d->mig[j].name || strcmp(d->mig[j].name, prof) != 0 ||
            policy_mig_size(&d->mig[j], start) != size)
            continue;
        for (int s = start; s < start + size; s++)
            if (counter(out[k].mig, s) >= POLICY_MIG_FIELD_MAX)
                return 1;
        if (policy_mig_known(out[k].mig) >= POLICY_MIG_FIELD_MAX)
            return 1;
        out[k].mig += policy_mig_instance(start, size);
        return 0;
    }
    return 1;
}

int policy_mig_usage(const struct policy_node *node, const char *value, struct policy_usage *out,
                     char *err, size_t cap)
{
    cJSON *root = NULL;
    int rc = 0, skipped = 0, i = 0;
    size_t len = value ? strnlen(value, (size_t)VALUE_MAX + 1) : 0;

    if (!value || len == 0)
        return 0;
    if (len > VALUE_MAX) {
        snprintf(err, cap, "value longer than %d bytes", VALUE_MAX);
        return ERR_TOOBIG;
    }
    root = cJSON_ParseWithLength(value, len);
    if (!cJSON_IsArray(root)) {
        snprintf(err, cap, "not a JSON array of MIG allocations");
        rc = ERR_INVAL;
        goto out;
    }
    if (cJSON_GetArraySize(root) > ENTRIES_MAX) {
        snprintf(err, cap, "more than %d MIG allocations", ENTRIES_MAX);
        rc = ERR_TOOBIG;
        goto out;
    }
    for (const cJSON *e = root->child; e; e = e->next, i++) { /* all valid, or none added */
        rc = usage_entry(node, e, NULL, i, err, cap);
        if (rc)
            goto out;
    }
    for (const cJSON *e = root->child; e; e = e->next, i++)
        skipped += usage_entry(node, e, out, i, err, cap);
    rc = skipped;
out:
    cJSON_Delete(root);
    return rc;
}

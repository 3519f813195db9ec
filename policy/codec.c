/* codec.c: HAMi's pod device annotation, exactly. */
#include "policy/codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"

#define UUID_MAX 255

int codec_encode(const struct policy_pod *pod, const struct policy_node *node,
                 const struct policy_placement *pl, char *buf, size_t cap)
{
    size_t len = 0;
    int k = 0;
    for (int c = 0; c < pod->nctr; c++) {
        for (; k < pl->npick && pl->pick[k].ctr == c; k++) {
            const struct policy_pick *p = &pl->pick[k];
            const struct policy_device *d = &node->dev[p->dev];
            int w = snprintf(buf + len, cap - len, "%s,%s,%lld,%d:", d->uuid,
                             policy_device_backend_of(d)->vendor_word, (long long)p->mem, p->cores);
            if (w < 0 || (size_t)w >= cap - len)
                return ERR_TOOBIG;
            len += (size_t)w;
        }
        if (len + 2 > cap)
            return ERR_TOOBIG;
        buf[len++] = ';';
        buf[len] = '\0';
    }
    if (cap)
        buf[len] = '\0';
    return (int)len;
}

/* Parse a base-10 integer field [s, e) into 0..max. */
static int parse_num(const char *s, const char *e, int64_t max, int64_t *out)
{
    char tmp[24];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof tmp)
        return ERR_INVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (*end)
        return ERR_INVAL;
    if (errno || v < 0 || v > max)
        return ERR_RANGE;
    *out = v;
    return 0;
}

/* One "uuid,type,mem,cores" device entry in [s, e). */
static int decode_entry(const char *s, const char *e, struct codec_entry *out, char *err,
                        size_t cap)
{
    const char *f[5];
    int nf = 0;
    f[nf++] = s;
    for (const char *p = s; p < e && nf < 5; p++)
        if (*p == ',')
            f[nf++] = p + 1;
    if (nf < 4) {
        snprintf(err, cap, "device entry \"%.*s\" has %d fields, want 4", (int)(e - s), s, nf);
        return ERR_INVAL;
    }
    size_t ulen = (size_t)(f[1] - 1 - s);
    if (ulen == 0 || ulen > UUID_MAX) {
        snprintf(err, cap, "device entry has a UUID of %zu bytes", ulen);
        return ERR_INVAL;
    }
    const char *cend = nf == 5 ? f[4] - 1 : e;
    int64_t mem, cores;
    int rc = parse_num(f[2], f[3] - 1, INT32_MAX, &mem);
    if (!rc)
        rc = parse_num(f[3], cend, INT32_MAX, &cores);
    if (rc) {
        snprintf(err, cap, "device entry \"%.*s\": memory and cores must be integers 0..%d",
                 (int)(e - s) > 80 ? 80 : (int)(e - s), s, INT32_MAX);
        return rc;
    }
    out->uuid = s;
    out->uuid_len = (uint16_t)ulen;
    out->mem = mem;
    out->cores = (int32_t)cores;
    return 0;
}

/* The pod's totals must fit an int32 usage (summed in int64, so the check
 * itself cannot overflow): per device they are at most these. */
static int check_sums(const struct codec_devices *d, char *err, size_t cap)
{
    int64_t cores = 0, mem = 0;
    for (int i = 0; i < d->n; i++) {
        cores += d->e[i].cores;
        mem += d->e[i].mem;
    }
    if (cores > INT32_MAX || mem > INT32_MAX) {
        bool c = cores > INT32_MAX;
        snprintf(err, cap, "the devices' %s add up to %lld, over %d", c ? "cores" : "memory",
                 (long long)(c ? cores : mem), INT32_MAX);
        return ERR_RANGE;
    }
    return 0;
}

int codec_decode(const char *s, struct codec_devices *out, char *err, size_t cap)
{
    out->nctr = 0;
    out->n = 0;
    if (!s)
        return 0;
    const char *p = s;
    for (;;) {
        const char *end = strchr(p, ';');
        if (!end && !*p)
            break; /* the empty entry after the trailing ';' */
        if (!end)
            end = p + strlen(p);
        if (out->nctr >= POLICY_MAX_CONTAINERS) {
            snprintf(err, cap, "more than %d containers", POLICY_MAX_CONTAINERS);
            return ERR_TOOBIG;
        }
        for (const char *d = p; d < end;) {
            const char *de = memchr(d, ':', (size_t)(end - d));
            if (!de)
                de = end;
            if (memchr(d, ',', (size_t)(de - d))) {
                if (out->n >= POLICY_MAX_PICKS) {
                    snprintf(err, cap, "more than %d devices", POLICY_MAX_PICKS);
                    return ERR_TOOBIG;
                }
                struct codec_entry *ce = &out->e[out->n];
                int rc = decode_entry(d, de, ce, err, cap);
                if (rc)
                    return rc;
                ce->ctr = (uint16_t)out->nctr;
                out->n++;
            }
            d = de + (de < end ? 1 : 0);
        }
        out->nctr++;
        if (!*end)
            break;
        p = end + 1;
    }
    return check_sums(out, err, cap);
}

/* a + b for cores, capped at INT32_MAX (b >= 0): a codec_devices not from
 * codec_decode may sum past it. */
static int32_t cores_add(int32_t a, int32_t b)
{
    int64_t v = (int64_t)a + b;
    return v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

int codec_usage(const struct policy_node *node, const struct codec_devices *d, int32_t ninit,
                struct policy_usage *out)
{
    struct policy_usage init[POLICY_MAX_DEVICES];
    int nd = node->ndev > POLICY_MAX_DEVICES ? POLICY_MAX_DEVICES : node->ndev;
    int unknown = 0;
    memset(init, 0, sizeof init);
    memset(out, 0, (size_t)nd * sizeof *out);
    for (int i = 0; i < d->n; i++) {
        const struct codec_entry *e = &d->e[i];
        int k = policy_device_find_card(node->dev, node->ndev, e->uuid, e->uuid_len, 0);
        if (k < 0 || k >= nd) {
            unknown++;
            continue;
        }
        if (e->ctr < ninit) {
            init[k].used = 1;
            if (e->cores > init[k].cores)
                init[k].cores = e->cores;
            if (e->mem > init[k].mem)
                init[k].mem = e->mem;
        } else {
            out[k].used++;
            out[k].cores = cores_add(out[k].cores, e->cores);
            out[k].mem += e->mem;
        }
    }
    for (int k = 0; k < nd; k++) {
        if (init[k].cores > out[k].cores)
            out[k].cores = init[k].cores;
        if (init[k].mem > out[k].mem)
            out[k].mem = init[k].mem;
        if (init[k].used > out[k].used)
            out[k].used = init[k].used;
    }
    return unknown;
}

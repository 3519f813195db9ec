/* device_nvidia.c: NVIDIA's row of the device backends (hami-protocol.md
 * 1, 2, 3): nvidia.com/ resources and annotations, the register annotation
 * in both encodings (JSON since v2.8, the legacy string before), pair
 * scores, and the vendor word of the allocation annotation.
 *
 * The register and score values come from the network: each has a limit,
 * and anything malformed is an error naming the device, the field and the
 * bad value (cut to SHOW_MAX bytes). JSON is read with cJSON from the
 * string alone: no I/O, no clock, so the backend stays in policy/. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/strconv.h"
#include "policy/device.h"

#define SHOW_MAX         64  /* bytes of a bad value quoted in a message */
#define UUID_MAX         255 /* as the pod device codec allows */
#define TYPE_MAX         255
#define MODE_MAX         64
#define DEV_COUNT_MAX    10000
#define DEV_MEM_MAX      (INT64_C(1) << 40) /* MiB */
#define DEV_CORE_MAX     100000
#define DEV_NUMA_MIN     (-1)
#define DEV_NUMA_MAX     1024
#define DEV_INDEX_MAX    1024
#define PAIR_SCORE_MAX   65535
#define LEGACY_FIELDS_A  7
#define LEGACY_FIELDS_B  9
#define LEGACY_MODE      "hami-core" /* the mode of a 7-field legacy device */
#define MIG_NAME_MAX     32
#define MIG_PROFILES_MAX (POLICY_MAX_DEVICES * POLICY_MIG_PROFILES)

extern const struct policy_device_backend policy_device_nvidia;

static bool is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

/* Devices being built; their strings collected in one buffer, each
 * NUL-terminated, and referred to by offset until the buffer stops moving. */
struct regbuild {
    int n;
    struct policy_device dev[POLICY_MAX_DEVICES];
    size_t uuid_off[POLICY_MAX_DEVICES], type_off[POLICY_MAX_DEVICES];
    size_t mode_off[POLICY_MAX_DEVICES];
    struct buf sb;
    /* MIG profiles of every device, device i's at prof[prof_first[i]..+prof_n[i]). */
    int nprof;
    int prof_first[POLICY_MAX_DEVICES], prof_n[POLICY_MAX_DEVICES];
    struct policy_mig_profile prof[MIG_PROFILES_MAX];
    size_t prof_name_off[MIG_PROFILES_MAX];
};

static size_t sb_add(struct regbuild *b, const char *s, size_t n)
{
    size_t off = b->sb.len;
    buf_append(&b->sb, s, n); /* no cap: the value's length bounds it */
    buf_append(&b->sb, "", 1);
    return off;
}

/* Add s, or reuse an equal string among offs[0..n) so equal strings share
 * one pointer (the engine memoises type checks by pointer). */
static size_t sb_intern(struct regbuild *b, const char *s, size_t n, const size_t *offs, int noffs)
{
    for (int i = 0; i < noffs; i++) {
        const char *t = b->sb.data + offs[i];
        if (strlen(t) == n && memcmp(t, s, n) == 0)
            return offs[i];
    }
    return sb_add(b, s, n);
}

/* Append device b->n with its strings; checks the UUID. */
static int reg_add(struct regbuild *b, const struct policy_device *d, const char *uuid, size_t ulen,
                   const char *type, size_t tlen, const char *mode, size_t mlen, char *err,
                   size_t cap)
{
    int i = b->n;
    if (i >= POLICY_MAX_DEVICES) {
        snprintf(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
        return ERR_TOOBIG;
    }
    if (ulen == 0) {
        snprintf(err, cap, "device %d has an empty id", i);
        return ERR_INVAL;
    }
    if (ulen > UUID_MAX || tlen > TYPE_MAX || mlen > MODE_MAX) {
        snprintf(err, cap, "device %d: id, type or mode too long (at most %d, %d, %d bytes)", i,
                 UUID_MAX, TYPE_MAX, MODE_MAX);
        return ERR_TOOBIG;
    }
    for (int j = 0; j < i; j++) {
        const char *u = b->sb.data + b->uuid_off[j];
        if (strlen(u) == ulen && memcmp(u, uuid, ulen) == 0) {
            snprintf(err, cap, "duplicate device id \"%.*s\" (devices %d and %d)", (int)ulen, uuid,
                     j, i);
            return ERR_INVAL;
        }
    }
    b->dev[i] = *d;
    b->dev[i].backend = &policy_device_nvidia;
    b->dev[i].nmig = 0; /* json_device attaches the profiles */
    b->uuid_off[i] = sb_add(b, uuid, ulen);
    b->type_off[i] = sb_intern(b, type, tlen, b->type_off, i);
    b->mode_off[i] = sb_intern(b, mode, mlen, b->mode_off, i);
    b->n++;
    return 0;
}

/* Upper bound on the elements of the JSON array at s (s[0] == '['): commas
 * at depth 1, plus one. Stops as soon as the count passes max. */
static int json_array_count(const char *s, size_t len, int max)
{
    int depth = 0, commas = 0;
    bool in_str = false, esc = false, any = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            any = any || depth >= 1;
        } else if (c == '[' || c == '{') {
            any = any || depth >= 1;
            depth++;
        } else if (c == ']' || c == '}') {
            if (--depth <= 0)
                break;
        } else if (depth == 1 && c == ',') {
            if (++commas + 1 > max)
                return commas + 1;
        } else if (depth >= 1 && !is_space(c)) {
            any = true;
        }
    }
    return any ? commas + 1 : 0;
}

/* An optional integer key of a JSON device (case-insensitive, as Go). */
static int json_int(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out,
                    const char *dev, char *err, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v)) {
        snprintf(err, cap, "device %s: field \"%s\" is not a number", dev, key);
        return ERR_INVAL;
    }
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi)) {
        snprintf(err, cap, "device %s: field \"%s\" = %g is out of range %lld..%lld", dev, key, d,
                 (long long)lo, (long long)hi);
        return ERR_RANGE;
    }
    if ((double)(int64_t)d != d) {
        snprintf(err, cap, "device %s: field \"%s\" = %g is not an integer", dev, key, d);
        return ERR_INVAL;
    }
    *out = (int64_t)d;
    return 0;
}

/* An optional string key of a JSON device: absent -> "". */
static int json_strf(const cJSON *o, const char *key, const char **out, const char *dev, char *err,
                     size_t cap)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    *out = "";
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(err, cap, "device %s: field \"%s\" is not a string", dev, key);
        return ERR_INVAL;
    }
    *out = v->valuestring;
    return 0;
}

/* A MIG profile name: 1..MIG_NAME_MAX bytes of [A-Za-z0-9._+-] ("1g.5gb",
 * "1g.10gb+me"). */
static bool mig_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MIG_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
            return false;
    return true;
}

/* placements: [{"start","size"}], each within the card's slices. */
static int mig_placements(const cJSON *a, struct policy_mig_profile *p, const char *lbl, char *err,
                          size_t cap)
{
    int i = 0;
    if (a && !cJSON_IsNull(a) && !cJSON_IsArray(a)) {
        snprintf(err, cap, "%s: field \"placements\" is not an array", lbl);
        return ERR_INVAL;
    }
    for (const cJSON *e = cJSON_IsArray(a) ? a->child : NULL; e; e = e->next, i++) {
        int64_t start, size;
        int rc;
        if (i >= POLICY_MIG_SLICES) {
            snprintf(err, cap, "%s: more than %d placements", lbl, POLICY_MIG_SLICES);
            return ERR_TOOBIG;
        }
        if (!cJSON_IsObject(e)) {
            snprintf(err, cap, "%s: placement %d is not a JSON object", lbl, i);
            return ERR_INVAL;
        }
        if ((rc = json_int(e, "start", 0, POLICY_MIG_SLICES - 1, &start, lbl, err, cap)) ||
            (rc = json_int(e, "size", 1, POLICY_MIG_SLICES, &size, lbl, err, cap)))
            return rc;
        if (start + size > POLICY_MIG_SLICES) {
            snprintf(err, cap, "%s: placement %d (start %lld, size %lld) passes slice %d", lbl, i,
                     (long long)start, (long long)size, POLICY_MIG_SLICES);
            return ERR_RANGE;
        }
        p->place[i] = (struct policy_mig_placement){(uint8_t)start, (uint8_t)size};
    }
    p->nplace = i;
    return 0;
}

/* migProfiles of device dev (HAMi v2.10, pkg/device/devices.go MigProfile):
 * [{"name","memoryMB","core","sliceCount","placements"}], appended to
 * b->prof. */
static int mig_profiles(const cJSON *o, struct regbuild *b, const char *dev, char *err, size_t cap)
{
    const cJSON *a = cJSON_GetObjectItem(o, "migProfiles");
    int first = b->nprof, i = 0;
    b->prof_first[b->n] = first;
    b->prof_n[b->n] = 0;
    if (!a || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a)) {
        snprintf(err, cap, "device %s: field \"migProfiles\" is not an array", dev);
        return ERR_INVAL;
    }
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        char lbl[UUID_MAX + 64];
        const char *name;
        int64_t mem, core, slices;
        int rc;
        snprintf(lbl, sizeof lbl, "device %s migProfiles[%d]", dev, i);
        if (i >= POLICY_MIG_PROFILES) {
            snprintf(err, cap, "device %s: more than %d MIG profiles", dev, POLICY_MIG_PROFILES);
            return ERR_TOOBIG;
        }
        if (!cJSON_IsObject(e)) {
            snprintf(err, cap, "%s is not a JSON object", lbl);
            return ERR_INVAL;
        }
        struct policy_mig_profile *p = &b->prof[first + i];
        memset(p, 0, sizeof *p);
        if ((rc = json_strf(e, "name", &name, lbl, err, cap)) ||
            (rc = json_int(e, "memoryMB", 0, INT32_MAX, &mem, lbl, err, cap)) ||
            (rc = json_int(e, "core", 0, DEV_CORE_MAX, &core, lbl, err, cap)) ||
            (rc = json_int(e, "sliceCount", 0, POLICY_MIG_SLICES, &slices, lbl, err, cap)) ||
            (rc = mig_placements(cJSON_GetObjectItem(e, "placements"), p, lbl, err, cap)))
            return rc;
        if (!mig_name_ok(name)) {
            snprintf(err, cap, "%s: name \"%.*s\" is not a MIG profile name", lbl, SHOW_MAX, name);
            return ERR_INVAL;
        }
        p->mem = (int32_t)mem;
        p->core = (int32_t)core;
        p->slices = (int32_t)slices;
        b->prof_name_off[first + i] = sb_add(b, name, strlen(name));
    }
    b->prof_n[b->n] = i;
    return 0;
}

static int json_device(const cJSON *o, struct regbuild *b, char *err, size_t cap)
{
    char dev[UUID_MAX + 16];
    const char *id, *type, *mode;
    int64_t count, devmem, devcore, numa, index;
    struct policy_device d = {0};
    int rc;

    snprintf(dev, sizeof dev, "%d", b->n);
    if (!cJSON_IsObject(o)) {
        snprintf(err, cap, "device %d is not a JSON object", b->n);
        return ERR_INVAL;
    }
    rc = json_strf(o, "id", &id, dev, err, cap);
    if (rc)
        return rc;
    if (*id)
        snprintf(dev, sizeof dev, "\"%.*s\"", SHOW_MAX, id);
    if ((rc = json_int(o, "count", 0, DEV_COUNT_MAX, &count, dev, err, cap)) ||
        (rc = json_int(o, "devmem", 0, DEV_MEM_MAX, &devmem, dev, err, cap)) ||
        (rc = json_int(o, "devcore", 0, DEV_CORE_MAX, &devcore, dev, err, cap)) ||
        (rc = json_int(o, "numa", DEV_NUMA_MIN, DEV_NUMA_MAX, &numa, dev, err, cap)) ||
        (rc = json_int(o, "index", 0, DEV_INDEX_MAX, &index, dev, err, cap)) ||
        (rc = json_strf(o, "type", &type, dev, err, cap)) ||
        (rc = json_strf(o, "mode", &mode, dev, err, cap)))
        return rc;
    if (b->n < POLICY_MAX_DEVICES && (rc = mig_profiles(o, b, dev, err, cap)))
        return rc;
    const cJSON *h = cJSON_GetObjectItem(o, "health");
    if (h && !cJSON_IsNull(h) && !cJSON_IsBool(h)) {
        snprintf(err, cap, "device %s: field \"health\" is not a boolean", dev);
        return ERR_INVAL;
    }
    d.health = cJSON_IsTrue(h);
    d.count = (int32_t)count;
    d.devmem = devmem;
    d.devcore = (int32_t)devcore;
    d.numa = (int32_t)numa;
    d.index = (int32_t)index;
    int i = b->n;
    rc = reg_add(b, &d, id, strlen(id), type, strlen(type), mode, strlen(mode), err, cap);
    if (!rc)
        b->nprof += b->prof_n[i];
    return rc;
}

static int json_register(const char *s, size_t len, struct regbuild *b, char *err, size_t cap)
{
    cJSON *root = NULL;
    int rc = 0;

    int n = json_array_count(s, len, POLICY_MAX_DEVICES);
    if (n > POLICY_MAX_DEVICES) {
        snprintf(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
        rc = ERR_TOOBIG;
        goto out;
    }
    root = cJSON_ParseWithLength(s, len);
    if (!root || !cJSON_IsArray(root)) {
        snprintf(err, cap, "not a valid JSON array");
        rc = ERR_INVAL;
        goto out;
    }
    for (const cJSON *o = root->child; o; o = o->next) {
        rc = json_device(o, b, err, cap);
        if (rc)
            goto out;
    }
out:
    cJSON_Delete(root);
    return rc;
}

/* The numeric fields of a legacy device: field index, name, bounds. */
static const struct {
    int field;
    const char *name;
    int64_t lo, hi;
} legacy_nums[] = {
    {1, "count", 0, DEV_COUNT_MAX},  {2, "devmem", 0, DEV_MEM_MAX},
    {3, "devcore", 0, DEV_CORE_MAX}, {5, "numa", DEV_NUMA_MIN, DEV_NUMA_MAX},
    {7, "index", 0, DEV_INDEX_MAX},
};

/* Split [s, e) at commas into f/fl; the caller checked the field count. */
static int legacy_split(const char *s, const char *e, const char **f, size_t *fl)
{
    int nf = 0;
    for (const char *p = s;; p++) {
        if (p == e || *p == ',') {
            f[nf] = s;
            fl[nf++] = (size_t)(p - s);
            s = p + 1;
            if (p == e)
                break;
        }
    }
    return nf;
}

/* One legacy device "uuid,count,devmem,devcore,type,numa,health[,index,mode]"
 * in [s, e). */
static int legacy_device(const char *s, const char *e, struct regbuild *b, char *err, size_t cap)
{
    const char *f[LEGACY_FIELDS_B + 1];
    size_t fl[LEGACY_FIELDS_B + 1];
    int ncomma = 0;
    for (const char *p = s; p < e; p++)
        ncomma += *p == ',';
    if (ncomma + 1 != LEGACY_FIELDS_A && ncomma + 1 != LEGACY_FIELDS_B) {
        snprintf(err, cap, "device %d \"%.*s\" has %d comma fields, want 7 or 9", b->n,
                 (int)((e - s) < SHOW_MAX ? (e - s) : SHOW_MAX), s, ncomma + 1);
        return ERR_INVAL;
    }
    int nf = legacy_split(s, e, f, fl);

    struct policy_device d = {0};
    int64_t v[LEGACY_FIELDS_B] = {0};
    int id = b->n;
    int ulen = (int)(fl[0] < SHOW_MAX ? fl[0] : SHOW_MAX);
    for (size_t i = 0; i < sizeof legacy_nums / sizeof legacy_nums[0]; i++) {
        int k = legacy_nums[i].field;
        if (k >= nf)
            continue;
        int rc = strconv_int(f[k], fl[k], legacy_nums[i].lo, legacy_nums[i].hi, &v[k]);
        if (rc == ERR_RANGE && k == 2 && fl[k] && f[k][0] == '-') {
            snprintf(err, cap, "device %d \"%.*s\": negative memory \"%.*s\"", id, ulen, f[0],
                     (int)(fl[k] < SHOW_MAX ? fl[k] : SHOW_MAX), f[k]);
            return ERR_RANGE;
        }
        if (rc) {
            snprintf(err, cap, "device %d \"%.*s\": %s \"%.*s\" %s %lld..%lld", id, ulen, f[0],
                     legacy_nums[i].name, (int)(fl[k] < SHOW_MAX ? fl[k] : SHOW_MAX), f[k],
                     rc == ERR_RANGE ? "is out of range" : "is not an integer in",
                     (long long)legacy_nums[i].lo, (long long)legacy_nums[i].hi);
            return rc;
        }
    }
    if (strconv_bool(f[6], fl[6], &d.health)) {
        snprintf(err, cap, "device %d \"%.*s\": health \"%.*s\" is not a boolean", id, ulen, f[0],
                 (int)(fl[6] < SHOW_MAX ? fl[6] : SHOW_MAX), f[6]);
        return ERR_INVAL;
    }
    d.count = (int32_t)v[1];
    d.devmem = v[2];
    d.devcore = (int32_t)v[3];
    d.numa = (int32_t)v[5];
    d.index = nf == LEGACY_FIELDS_B ? (int32_t)v[7] : 0; /* HAMi: 7 fields -> index 0 */
    const char *mode = nf == LEGACY_FIELDS_B ? f[8] : LEGACY_MODE;
    size_t mlen = nf == LEGACY_FIELDS_B ? fl[8] : strlen(LEGACY_MODE);
    return reg_add(b, &d, f[0], fl[0], f[4], fl[4], mode, mlen, err, cap);
}

static int legacy_register(const char *s, size_t len, struct regbuild *b, char *err, size_t cap)
{
    const char *end = s + len;
    while (end > s && is_space(end[-1]))
        end--;
    if (!memchr(s, ':', (size_t)(end - s))) {
        snprintf(err, cap,
                 "neither a JSON array nor legacy \"uuid,count,...:\" devices "
                 "(no ':' separator)");
        return ERR_INVAL;
    }
    for (const char *p = s; p < end;) {
        const char *e = memchr(p, ':', (size_t)(end - p));
        if (!e)
            e = end;
        if (e > p) {
            if (b->n >= POLICY_MAX_DEVICES) {
                snprintf(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
                return ERR_TOOBIG;
            }
            int rc = legacy_device(p, e, b, err, cap);
            if (rc)
                return rc;
        }
        p = e + 1;
    }
    return 0;
}

/* Hand the built devices over: *dev points into *strings; the MIG profiles
 * follow the devices in the same allocation. */
static void reg_finish(struct regbuild *b, struct policy_device **dev, int32_t *ndev,
                       char **strings)
{
    if (b->n == 0)
        return;
    *dev = mem_alloc((size_t)b->n * sizeof **dev + (size_t)b->nprof * sizeof b->prof[0]);
    struct policy_mig_profile *prof = (struct policy_mig_profile *)(*dev + b->n);
    for (int k = 0; k < b->nprof; k++) {
        prof[k] = b->prof[k];
        prof[k].name = b->sb.data + b->prof_name_off[k];
    }
    for (int i = 0; i < b->n; i++) {
        (*dev)[i] = b->dev[i];
        (*dev)[i].uuid = b->sb.data + b->uuid_off[i];
        (*dev)[i].type = b->sb.data + b->type_off[i];
        (*dev)[i].mode = b->sb.data + b->mode_off[i];
        (*dev)[i].nmig = b->prof_n[i];
        (*dev)[i].mig = b->prof_n[i] ? prof + b->prof_first[i] : NULL;
    }
    *ndev = b->n;
    *strings = b->sb.data;
    b->sb.data = NULL;
}

static int register_parse(const char *value, struct policy_device **dev, int32_t *ndev,
                          char **strings, char *err, size_t cap)
{
    struct regbuild *b = NULL;
    int rc = 0;

    *dev = NULL;
    *ndev = 0;
    *strings = NULL;
    if (!value) {
        snprintf(err, cap, "no value");
        return ERR_INVAL;
    }
    size_t len = strnlen(value, (size_t)POLICY_DEVICE_ANN_MAX + 1);
    if (len > POLICY_DEVICE_ANN_MAX) {
        snprintf(err, cap, "value longer than %d bytes", POLICY_DEVICE_ANN_MAX);
        return ERR_TOOBIG;
    }
    const char *s = value;
    while (is_space(*s))
        s++;
    len -= (size_t)(s - value);
    if (len == 0) {
        snprintf(err, cap, "empty value");
        return ERR_INVAL;
    }
    b = mem_zalloc(sizeof *b);
    b->sb = BUF_INIT(SIZE_MAX);
    rc = *s == '[' ? json_register(s, len, b, err, cap) : legacy_register(s, len, b, err, cap);
    if (!rc)
        reg_finish(b, dev, ndev, strings);
    buf_free(&b->sb);
    free(b);
    return rc;
}

/* One entry {"uuid":"GPU-a","score":{"GPU-b":160}} of the score array, as
 * row `row` of pair (row -1: an unknown device, checked and skipped). */
static int score_entry(const cJSON *e, int i, const struct policy_device *dev, int32_t ndev,
                       uint16_t *pair, char *err, size_t cap)
{
    if (!cJSON_IsObject(e)) {
        snprintf(err, cap, "entry %d is not a JSON object", i);
        return ERR_INVAL;
    }
    const cJSON *u = cJSON_GetObjectItem(e, "uuid");
    const cJSON *sc = cJSON_GetObjectItem(e, "score");
    if (u && !cJSON_IsNull(u) && !cJSON_IsString(u)) {
        snprintf(err, cap, "entry %d: \"uuid\" is not a string", i);
        return ERR_INVAL;
    }
    if (sc && !cJSON_IsNull(sc) && !cJSON_IsObject(sc)) {
        snprintf(err, cap, "entry %d: \"score\" is not a JSON object", i);
        return ERR_INVAL;
    }
    const char *us = cJSON_IsString(u) ? u->valuestring : "";
    int row = ndev ? policy_device_find(dev, ndev, us, strlen(us), i % ndev) : -1;
    int hint = 0;
    for (const cJSON *x = cJSON_IsObject(sc) ? sc->child : NULL; x; x = x->next) {
        double d = x->valuedouble;
        if (!cJSON_IsNumber(x) || (d > -1e18 && d < 1e18 && (double)(int64_t)d != d)) {
            snprintf(err, cap, "entry %d: score for \"%.*s\" is not an integer", i, SHOW_MAX,
                     x->string ? x->string : "");
            return ERR_INVAL;
        }
        if (row < 0 || !x->string)
            continue;
        int col = policy_device_find(dev, ndev, x->string, strlen(x->string), hint);
        if (col < 0 || col == row)
            continue;
        hint = col + 1;
        pair[row * ndev + col] = (uint16_t)(d < 0 ? 0 : d > PAIR_SCORE_MAX ? PAIR_SCORE_MAX : d);
    }
    return 0;
}

/* hami.io/node-nvidia-score: rows as given (HAMi reads the score of a from
 * a's entry); scores clamp to 0..65535. */
static int score_parse(const char *value, const struct policy_device *dev, int32_t ndev,
                       uint16_t **pair, char *err, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(value, strlen(value));
    int rc = 0, i = 0;

    *pair = NULL;
    if (!root || (!cJSON_IsArray(root) && !cJSON_IsNull(root))) {
        snprintf(err, cap, "not a valid JSON array");
        rc = ERR_INVAL;
        goto out;
    }
    if (ndev > 0)
        *pair = mem_zalloc((size_t)ndev * (size_t)ndev * sizeof **pair);
    for (const cJSON *e = cJSON_IsArray(root) ? root->child : NULL; e && !rc; e = e->next, i++)
        rc = score_entry(e, i, dev, ndev, *pair, err, cap);
out:
    if (rc) {
        free(*pair);
        *pair = NULL;
    }
    cJSON_Delete(root);
    return rc;
}

/* NVIDIA's own device plugin's MIG resources (its "mixed" strategy). */
static const char *const foreign[] = {"nvidia.com/mig-", NULL};

const struct policy_device_backend policy_device_nvidia = {
    .name = "nvidia",
    .vendor_word = "NVIDIA",
    .res =
        {
            [POLICY_RES_COUNT] = "nvidia.com/gpu",
            [POLICY_RES_MEM] = "nvidia.com/gpumem",
            [POLICY_RES_MEM_PCT] = "nvidia.com/gpumem-percentage",
            [POLICY_RES_CORES] = "nvidia.com/gpucores",
            [POLICY_RES_PRIORITY] = "nvidia.com/priority",
        },
    .res_prefix = "nvidia.com/",
    .res_flag =
        {
            [POLICY_RES_COUNT] = "resource-name",
            [POLICY_RES_MEM] = "resource-mem",
            [POLICY_RES_MEM_PCT] = "resource-mem-percentage",
            [POLICY_RES_CORES] = "resource-cores",
            [POLICY_RES_PRIORITY] = "resource-priority",
        },
    .config_section = "nvidia",
    .res_foreign = foreign,
    .env_visible = "NVIDIA_VISIBLE_DEVICES",
    .env_priority = "CUDA_TASK_PRIORITY",
    .ann_register = "hami.io/node-nvidia-register",
    .ann_handshake = "hami.io/node-handshake",
    .ann_score = "hami.io/node-nvidia-score",
    .ann_use_type = "nvidia.com/use-gputype",
    .ann_nouse_type = "nvidia.com/nouse-gputype",
    .ann_use_uuid = "nvidia.com/use-gpuuuid",
    .ann_nouse_uuid = "nvidia.com/nouse-gpuuuid",
    .ann_numa_bind = "nvidia.com/numa-bind",
    .ann_vgpu_mode = "nvidia.com/vgpu-mode",
    .ann_to_allocate = "hami.io/vgpu-devices-to-allocate",
    .ann_allocated = "hami.io/vgpu-devices-allocated",
    .config_defaults = true,
    .default_cores = 0,
    .register_parse = register_parse,
    .score_parse = score_parse,
    .label_mem = "nvidia.com/gpu.memory", /* NVIDIA GPU feature discovery */
};

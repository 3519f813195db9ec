/* model.c: Node and Pod JSON -> policy values, HAMi's way.
 *
 * Every string and number read here comes from the network: each has a
 * limit, and anything malformed is an error naming the object, the field and
 * the bad value (values are cut to SHOW_MAX bytes in messages). */
#include "k8s/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "k8s/quantity.h"

#define SHOW_MAX  64  /* bytes of a bad value quoted in a message */
#define UUID_MAX  255 /* as the pod device codec allows */
#define TYPE_MAX  255
#define MODE_MAX  64
#define UID_MAX   128
#define NS_MAX    253
#define RV_MAX    64
#define PHASE_MAX 64
#define TIME_MAX  32 /* hami.io/bind-time: unix seconds */
#define QTY_MAX   64 /* a quantity's text */

#define DEV_COUNT_MAX   10000
#define DEV_MEM_MAX     (INT64_C(1) << 40) /* MiB */
#define DEV_CORE_MAX    100000
#define DEV_NUMA_MIN    (-1)
#define DEV_NUMA_MAX    1024
#define DEV_INDEX_MAX   1024
#define PAIR_SCORE_MAX  65535
#define LEGACY_FIELDS_A 7
#define LEGACY_FIELDS_B 9

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t cap, const char *fmt,
                                                         ...)
{
    if (!err || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Put "<fmt>: " in front of the message already in err. */
__attribute__((format(printf, 3, 4))) static void preerr(char *err, size_t cap, const char *fmt,
                                                         ...)
{
    if (!err || !cap)
        return;
    char tail[1024];
    snprintf(tail, sizeof tail, "%s", err);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < cap)
        snprintf(err + n, cap - (size_t)n, ": %s", tail);
}

/* ---- JSON access (exact keys: Kubernetes object fields are case-sensitive) ---- */

static const cJSON *field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

/* An optional object member: absent or null -> *out NULL. */
static int get_obj(const cJSON *obj, const char *key, const char *what, const cJSON **out,
                   char *err, size_t cap)
{
    const cJSON *v = field(obj, key);
    *out = NULL;
    if (v && !cJSON_IsObject(v)) {
        seterr(err, cap, "%s is not a JSON object", what);
        return ERR_INVAL;
    }
    *out = v;
    return 0;
}

/* An optional array member: absent or null -> *out NULL. */
static int get_arr(const cJSON *obj, const char *key, const char *what, const cJSON **out,
                   char *err, size_t cap)
{
    const cJSON *v = field(obj, key);
    *out = NULL;
    if (v && !cJSON_IsArray(v)) {
        seterr(err, cap, "%s is not a JSON array", what);
        return ERR_INVAL;
    }
    *out = v;
    return 0;
}

/* An optional string member of at most max bytes: absent or null -> NULL. */
static int get_str(const cJSON *obj, const char *key, size_t max, const char *what,
                   const char **out, char *err, size_t cap)
{
    const cJSON *v = field(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring) {
        seterr(err, cap, "%s is not a string", what);
        return ERR_INVAL;
    }
    size_t n = strnlen(v->valuestring, max + 1);
    if (n > max) {
        seterr(err, cap, "%s is longer than %zu bytes", what, max);
        return ERR_TOOBIG;
    }
    *out = v->valuestring;
    return 0;
}

/* An annotation value (annotations may be NULL). */
static int ann_str(const cJSON *anns, const char *key, size_t max, const char **out, char *err,
                   size_t cap)
{
    char what[128];
    snprintf(what, sizeof what, "annotation %s", key);
    return get_str(anns, key, max, what, out, err, cap);
}

/* Count the elements of a JSON array, stopping past max. */
static int count_bounded(const cJSON *arr, int max)
{
    int n = 0;
    for (const cJSON *c = arr ? arr->child : NULL; c && n <= max; c = c->next)
        n++;
    return n;
}

/* ---- small parsers ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, size_t n, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0) {
            *out = true;
            return 0;
        }
        if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0) {
            *out = false;
            return 0;
        }
    }
    return ERR_INVAL;
}

/* A base-10 integer in [s, s+n) with an optional sign (Go's ParseInt):
 * ERR_INVAL if it is not one, ERR_RANGE outside lo..hi. */
static int parse_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return ERR_INVAL;
    int64_t v = 0;
    bool big = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_INVAL;
        if (v > (INT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (big || v < lo || v > hi)
        return ERR_RANGE;
    *out = v;
    return 0;
}

/* ---- the register annotation ---- */

/* Devices being built; strings collected in one growing block and referred
 * to by offset until the block stops moving. */
struct regbuild {
    int n;
    struct policy_device dev[POLICY_MAX_DEVICES];
    size_t uuid_off[POLICY_MAX_DEVICES], type_off[POLICY_MAX_DEVICES];
    size_t mode_off[POLICY_MAX_DEVICES];
    char *buf;
    size_t len, cap;
};

static size_t sb_add(struct regbuild *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        b->buf = mem_realloc(b->buf, ncap);
        b->cap = ncap;
    }
    size_t off = b->len;
    memcpy(b->buf + off, s, n);
    b->buf[off + n] = '\0';
    b->len += n + 1;
    return off;
}

/* Add s, or reuse an equal string among offs[0..n) so equal strings share
 * one pointer (the engine memoises type checks by pointer). */
static size_t sb_intern(struct regbuild *b, const char *s, size_t n, const size_t *offs, int noffs)
{
    for (int i = 0; i < noffs; i++) {
        const char *t = b->buf + offs[i];
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
        seterr(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
        return ERR_TOOBIG;
    }
    if (ulen == 0) {
        seterr(err, cap, "device %d has an empty id", i);
        return ERR_INVAL;
    }
    if (ulen > UUID_MAX || tlen > TYPE_MAX || mlen > MODE_MAX) {
        seterr(err, cap, "device %d: id, type or mode too long (at most %d, %d, %d bytes)", i,
               UUID_MAX, TYPE_MAX, MODE_MAX);
        return ERR_TOOBIG;
    }
    for (int j = 0; j < i; j++) {
        const char *u = b->buf + b->uuid_off[j];
        if (strlen(u) == ulen && memcmp(u, uuid, ulen) == 0) {
            seterr(err, cap, "duplicate device id \"%.*s\" (devices %d and %d)", (int)ulen, uuid, j,
                   i);
            return ERR_INVAL;
        }
    }
    b->dev[i] = *d;
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
        seterr(err, cap, "device %s: field \"%s\" is not a number", dev, key);
        return ERR_INVAL;
    }
    double d = v->valuedouble;
    if (!(d >= (double)lo && d <= (double)hi)) {
        seterr(err, cap, "device %s: field \"%s\" = %g is out of range %lld..%lld", dev, key, d,
               (long long)lo, (long long)hi);
        return ERR_RANGE;
    }
    if ((double)(int64_t)d != d) {
        seterr(err, cap, "device %s: field \"%s\" = %g is not an integer", dev, key, d);
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
        seterr(err, cap, "device %s: field \"%s\" is not a string", dev, key);
        return ERR_INVAL;
    }
    *out = v->valuestring;
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
        seterr(err, cap, "device %d is not a JSON object", b->n);
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
    const cJSON *h = cJSON_GetObjectItem(o, "health");
    if (h && !cJSON_IsNull(h) && !cJSON_IsBool(h)) {
        seterr(err, cap, "device %s: field \"health\" is not a boolean", dev);
        return ERR_INVAL;
    }
    d.health = cJSON_IsTrue(h);
    d.count = (int32_t)count;
    d.devmem = devmem;
    d.devcore = (int32_t)devcore;
    d.numa = (int32_t)numa;
    d.index = (int32_t)index;
    return reg_add(b, &d, id, strlen(id), type, strlen(type), mode, strlen(mode), err, cap);
}

static int json_register(const char *s, size_t len, struct regbuild *b, char *err, size_t cap)
{
    cJSON *root = NULL;
    int rc = 0;

    int n = json_array_count(s, len, POLICY_MAX_DEVICES);
    if (n > POLICY_MAX_DEVICES) {
        seterr(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
        rc = ERR_TOOBIG;
        goto out;
    }
    root = cJSON_ParseWithLength(s, len);
    if (!root || !cJSON_IsArray(root)) {
        seterr(err, cap, "not a valid JSON array");
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

/* One legacy device "uuid,count,devmem,devcore,type,numa,health[,index,mode]"
 * in [s, e). */
static int legacy_device(const char *s, const char *e, struct regbuild *b, char *err, size_t cap)
{
    const char *f[LEGACY_FIELDS_B + 1];
    size_t fl[LEGACY_FIELDS_B + 1];
    int nf = 0, ncomma = 0;
    for (const char *p = s; p < e; p++)
        ncomma += *p == ',';
    if (ncomma + 1 != LEGACY_FIELDS_A && ncomma + 1 != LEGACY_FIELDS_B) {
        seterr(err, cap, "device %d \"%.*s\" has %d comma fields, want 7 or 9", b->n,
               (int)((e - s) < SHOW_MAX ? (e - s) : SHOW_MAX), s, ncomma + 1);
        return ERR_INVAL;
    }
    for (const char *p = s;; p++) {
        if (p == e || *p == ',') {
            f[nf] = s;
            fl[nf++] = (size_t)(p - s);
            s = p + 1;
            if (p == e)
                break;
        }
    }

    struct policy_device d = {0};
    int64_t v[LEGACY_FIELDS_B] = {0};
    static const struct {
        int field;
        const char *name;
        int64_t lo, hi;
    } nums[] = {
        {1, "count", 0, DEV_COUNT_MAX},  {2, "devmem", 0, DEV_MEM_MAX},
        {3, "devcore", 0, DEV_CORE_MAX}, {5, "numa", DEV_NUMA_MIN, DEV_NUMA_MAX},
        {7, "index", 0, DEV_INDEX_MAX},
    };
    int id = b->n;
    int ulen = (int)(fl[0] < SHOW_MAX ? fl[0] : SHOW_MAX);
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        int k = nums[i].field;
        if (k >= nf)
            continue;
        int rc = parse_int(f[k], fl[k], nums[i].lo, nums[i].hi, &v[k]);
        if (rc == ERR_RANGE && k == 2 && fl[k] && f[k][0] == '-') {
            seterr(err, cap, "device %d \"%.*s\": negative memory \"%.*s\"", id, ulen, f[0],
                   (int)(fl[k] < SHOW_MAX ? fl[k] : SHOW_MAX), f[k]);
            return ERR_RANGE;
        }
        if (rc) {
            seterr(err, cap, "device %d \"%.*s\": %s \"%.*s\" %s %lld..%lld", id, ulen, f[0],
                   nums[i].name, (int)(fl[k] < SHOW_MAX ? fl[k] : SHOW_MAX), f[k],
                   rc == ERR_RANGE ? "is out of range" : "is not an integer in",
                   (long long)nums[i].lo, (long long)nums[i].hi);
            return rc;
        }
    }
    if (parse_bool(f[6], fl[6], &d.health)) {
        seterr(err, cap, "device %d \"%.*s\": health \"%.*s\" is not a boolean", id, ulen, f[0],
               (int)(fl[6] < SHOW_MAX ? fl[6] : SHOW_MAX), f[6]);
        return ERR_INVAL;
    }
    d.count = (int32_t)v[1];
    d.devmem = v[2];
    d.devcore = (int32_t)v[3];
    d.numa = (int32_t)v[5];
    d.index = nf == LEGACY_FIELDS_B ? (int32_t)v[7] : 0; /* HAMi: 7 fields -> index 0 */
    const char *mode = nf == LEGACY_FIELDS_B ? f[8] : "hami-core";
    size_t mlen = nf == LEGACY_FIELDS_B ? fl[8] : strlen("hami-core");
    return reg_add(b, &d, f[0], fl[0], f[4], fl[4], mode, mlen, err, cap);
}

static int legacy_register(const char *s, size_t len, struct regbuild *b, char *err, size_t cap)
{
    const char *end = s + len;
    while (end > s && is_space(end[-1]))
        end--;
    if (!memchr(s, ':', (size_t)(end - s))) {
        seterr(err, cap,
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
                seterr(err, cap, "more than %d devices", POLICY_MAX_DEVICES);
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

int model_register_parse(const char *value, struct policy_device **dev, int32_t *ndev,
                         char **strings, char *err, size_t cap)
{
    struct regbuild *b = NULL;
    int rc = 0;

    *dev = NULL;
    *ndev = 0;
    *strings = NULL;
    if (!value) {
        seterr(err, cap, "no value");
        return ERR_INVAL;
    }
    size_t len = strnlen(value, (size_t)MODEL_NODE_ANN_MAX + 1);
    if (len > MODEL_NODE_ANN_MAX) {
        seterr(err, cap, "value longer than %d bytes", MODEL_NODE_ANN_MAX);
        return ERR_TOOBIG;
    }
    const char *s = value;
    while (is_space(*s))
        s++;
    len -= (size_t)(s - value);
    if (len == 0) {
        seterr(err, cap, "empty value");
        return ERR_INVAL;
    }
    b = mem_zalloc(sizeof *b);
    rc = *s == '[' ? json_register(s, len, b, err, cap) : legacy_register(s, len, b, err, cap);
    if (rc)
        goto out;
    if (b->n > 0) {
        *dev = mem_alloc((size_t)b->n * sizeof **dev);
        for (int i = 0; i < b->n; i++) {
            (*dev)[i] = b->dev[i];
            (*dev)[i].uuid = b->buf + b->uuid_off[i];
            (*dev)[i].type = b->buf + b->type_off[i];
            (*dev)[i].mode = b->buf + b->mode_off[i];
        }
        *ndev = b->n;
        *strings = b->buf;
        b->buf = NULL;
    }
out:
    if (b)
        free(b->buf);
    free(b);
    return rc;
}

/* ---- nodes ---- */

/* Index of the device with this UUID, trying `hint` first; -1 if none. */
static int find_dev(const struct model_inventory *inv, const char *uuid, size_t n, int hint)
{
    for (int k = 0; k < inv->ndev; k++) {
        int i = (hint + k) % inv->ndev;
        const char *u = inv->dev[i].uuid;
        if (strncmp(u, uuid, n) == 0 && u[n] == '\0')
            return i;
    }
    return -1;
}

/* hami.io/node-nvidia-score: [{"uuid":"GPU-a","score":{"GPU-b":160}}] ->
 * inv->pair[row*ndev + col], rows as given (HAMi reads the score of a from
 * a's entry). Unknown UUIDs are ignored; scores clamp to 0..65535. */
static int parse_scores(const char *v, struct model_inventory *inv, char *err, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(v, strlen(v));
    int rc = 0, i = 0;

    if (!root || (!cJSON_IsArray(root) && !cJSON_IsNull(root))) {
        seterr(err, cap, "not a valid JSON array");
        rc = ERR_INVAL;
        goto out;
    }
    if (inv->ndev > 0)
        inv->pair = mem_zalloc((size_t)inv->ndev * (size_t)inv->ndev * sizeof *inv->pair);
    for (const cJSON *e = cJSON_IsArray(root) ? root->child : NULL; e; e = e->next, i++) {
        if (!cJSON_IsObject(e)) {
            seterr(err, cap, "entry %d is not a JSON object", i);
            rc = ERR_INVAL;
            goto out;
        }
        const cJSON *u = cJSON_GetObjectItem(e, "uuid");
        const cJSON *sc = cJSON_GetObjectItem(e, "score");
        if (u && !cJSON_IsNull(u) && !cJSON_IsString(u)) {
            seterr(err, cap, "entry %d: \"uuid\" is not a string", i);
            rc = ERR_INVAL;
            goto out;
        }
        if (sc && !cJSON_IsNull(sc) && !cJSON_IsObject(sc)) {
            seterr(err, cap, "entry %d: \"score\" is not a JSON object", i);
            rc = ERR_INVAL;
            goto out;
        }
        const char *us = cJSON_IsString(u) ? u->valuestring : "";
        int row = inv->ndev ? find_dev(inv, us, strlen(us), i % inv->ndev) : -1;
        int hint = 0;
        for (const cJSON *x = cJSON_IsObject(sc) ? sc->child : NULL; x; x = x->next) {
            double d = x->valuedouble;
            if (!cJSON_IsNumber(x) || (d > -1e18 && d < 1e18 && (double)(int64_t)d != d)) {
                seterr(err, cap, "entry %d: score for \"%.*s\" is not an integer", i, SHOW_MAX,
                       x->string ? x->string : "");
                rc = ERR_INVAL;
                goto out;
            }
            if (row < 0 || !x->string)
                continue;
            int col = find_dev(inv, x->string, strlen(x->string), hint);
            if (col < 0 || col == row)
                continue;
            hint = col + 1;
            inv->pair[row * inv->ndev + col] = (uint16_t)(d < 0                ? 0
                                                          : d > PAIR_SCORE_MAX ? PAIR_SCORE_MAX
                                                                               : d);
        }
    }
out:
    cJSON_Delete(root);
    return rc;
}

/* hami.io/device-cordon: a comma list of UUIDs, trimmed; unknown ones ignored. */
static void apply_cordon(const char *v, struct model_inventory *inv)
{
    for (const char *p = v; *p;) {
        const char *e = strchr(p, ',');
        if (!e)
            e = p + strlen(p);
        const char *a = p, *z = e;
        while (a < z && is_space(*a))
            a++;
        while (z > a && is_space(z[-1]))
            z--;
        if (z > a && inv->ndev > 0) {
            int i = find_dev(inv, a, (size_t)(z - a), 0);
            if (i >= 0)
                inv->dev[i].cordoned = true;
        }
        p = *e ? e + 1 : e;
    }
}

/* The text of a quantity in a resource list: a JSON string (trimmed, as
 * Go's Quantity.UnmarshalJSON does) or a JSON number. */
static int qty_text(const cJSON *list, const char *key, char *buf, size_t bufcap, bool *present,
                    char *err, size_t cap)
{
    const cJSON *v = field(list, key);
    *present = false;
    if (!v)
        return 0;
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d > -1e18 && d < 1e18 && (double)(int64_t)d == d)
            snprintf(buf, bufcap, "%lld", (long long)d);
        else
            snprintf(buf, bufcap, "%.15g", d);
        *present = true;
        return 0;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        seterr(err, cap, "%s is not a quantity string", key);
        return ERR_INVAL;
    }
    const char *s = v->valuestring;
    size_t n = strlen(s);
    while (n && is_space(*s)) {
        s++;
        n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    if (n >= bufcap || n > QTY_MAX) {
        seterr(err, cap, "%s \"%.*s...\" is longer than %d bytes", key, SHOW_MAX, s, QTY_MAX);
        return ERR_TOOBIG;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *present = true;
    return 0;
}

/* Explain a failed quantity parse of `text` for resource `key`. */
static void qty_err(char *err, size_t cap, const char *key, const char *text, int rc, bool whole)
{
    int64_t m;
    if (rc == ERR_RANGE)
        seterr(err, cap, "%s \"%s\" is out of range", key, text);
    else if (whole && quantity_milli(text, &m) == 0)
        seterr(err, cap, "%s \"%s\" is not a whole number", key, text);
    else
        seterr(err, cap, "%s \"%s\" is not a valid quantity", key, text);
}

static int node_allocatable(const cJSON *node, struct model_inventory *inv, char *err, size_t cap)
{
    const cJSON *status, *alloc;
    char buf[QTY_MAX + 1];
    bool present;
    int rc;

    if ((rc = get_obj(node, "status", "status", &status, err, cap)) ||
        (rc = get_obj(status, "allocatable", "status.allocatable", &alloc, err, cap)))
        return rc;
    if ((rc = qty_text(alloc, "cpu", buf, sizeof buf, &present, err, cap))) {
        preerr(err, cap, "status.allocatable");
        return rc;
    }
    if (present && (rc = quantity_milli(buf, &inv->cpu_milli))) {
        qty_err(err, cap, "status.allocatable cpu", buf, rc, false);
        return rc;
    }
    if ((rc = qty_text(alloc, "memory", buf, sizeof buf, &present, err, cap))) {
        preerr(err, cap, "status.allocatable");
        return rc;
    }
    if (present && (rc = quantity_mib(buf, false, &inv->mem_mib))) {
        qty_err(err, cap, "status.allocatable memory", buf, rc, false);
        return rc;
    }
    if ((rc = qty_text(alloc, MODEL_RES_GPU, buf, sizeof buf, &present, err, cap))) {
        preerr(err, cap, "status.allocatable");
        return rc;
    }
    if (present && (rc = quantity_int(buf, &inv->alloc_gpus))) {
        qty_err(err, cap, "status.allocatable " MODEL_RES_GPU, buf, rc, true);
        return rc;
    }
    if (inv->cpu_milli < 0 || inv->mem_mib < 0 || inv->alloc_gpus < 0) {
        seterr(err, cap, "status.allocatable has a negative quantity");
        return ERR_RANGE;
    }
    return 0;
}

int model_node_parse(const cJSON *node, struct model_inventory **out, char *err, size_t cap)
{
    struct model_inventory *inv = NULL;
    const cJSON *meta, *anns;
    const char *name = NULL, *rv, *v;
    int rc;

    *out = NULL;
    if (!cJSON_IsObject(node)) {
        seterr(err, cap, "node is not a JSON object");
        return ERR_INVAL;
    }
    if ((rc = get_obj(node, "metadata", "metadata", &meta, err, cap)) ||
        (rc = get_str(meta, "name", MODEL_NAME_MAX, "metadata.name", &name, err, cap)))
        goto out;
    if (!name || !*name) {
        seterr(err, cap, "node has no metadata.name");
        rc = ERR_INVAL;
        goto out;
    }
    inv = mem_zalloc(sizeof *inv);
    inv->name = mem_strdup(name);
    if ((rc =
             get_str(meta, "resourceVersion", RV_MAX, "metadata.resourceVersion", &rv, err, cap)) ||
        (rc = get_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)))
        goto out;
    inv->resource_version = mem_strdup(rv);

    if ((rc = ann_str(anns, MODEL_ANN_REGISTER, MODEL_NODE_ANN_MAX, &v, err, cap)))
        goto out;
    if (v) {
        inv->has_register = true;
        rc = model_register_parse(v, &inv->dev, &inv->ndev, &inv->strings, err, cap);
        if (rc) {
            preerr(err, cap, "annotation %s", MODEL_ANN_REGISTER);
            goto out;
        }
    }
    if ((rc = ann_str(anns, MODEL_ANN_SCORE, MODEL_NODE_ANN_MAX, &v, err, cap)))
        goto out;
    if (v && (rc = parse_scores(v, inv, err, cap))) {
        preerr(err, cap, "annotation %s", MODEL_ANN_SCORE);
        goto out;
    }
    if ((rc = ann_str(anns, MODEL_ANN_CORDON, MODEL_NODE_ANN_MAX, &v, err, cap)))
        goto out;
    if (v)
        apply_cordon(v, inv);
    if ((rc = ann_str(anns, MODEL_ANN_HANDSHAKE, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->handshake = mem_strdup(v);
    if ((rc = ann_str(anns, MODEL_ANN_LOCK, MODEL_POD_ANN_MAX, &v, err, cap)))
        goto out;
    inv->lock = mem_strdup(v);
    rc = node_allocatable(node, inv, err, cap);

out:
    if (rc) {
        if (name)
            preerr(err, cap, "node \"%s\"", name);
        model_inventory_free(inv);
        return rc;
    }
    *out = inv;
    return 0;
}

void model_inventory_free(struct model_inventory *inv)
{
    if (!inv)
        return;
    free(inv->name);
    free(inv->resource_version);
    free(inv->dev);
    free(inv->strings);
    free(inv->pair);
    free(inv->handshake);
    free(inv->lock);
    free(inv);
}

/* ---- pods ---- */

static const struct model_defaults hami_defaults = {0, 0, 1};

/* A container's resource: limits first, then requests (HAMi's order). */
static int ctr_res(const cJSON *limits, const cJSON *requests, const char *key, char *buf,
                   size_t bufcap, bool *present, char *err, size_t cap)
{
    int rc = qty_text(limits, key, buf, bufcap, present, err, cap);
    if (!rc && !*present)
        rc = qty_text(requests, key, buf, bufcap, present, err, cap);
    return rc;
}

/* A whole-number resource of a container: 0 with *present false if absent. */
static int ctr_int(const cJSON *limits, const cJSON *requests, const char *key, int64_t *v,
                   bool *present, char *err, size_t cap)
{
    char buf[QTY_MAX + 1];
    int rc = ctr_res(limits, requests, key, buf, sizeof buf, present, err, cap);
    *v = 0;
    if (rc || !*present)
        return rc;
    rc = quantity_int(buf, v);
    if (rc)
        qty_err(err, cap, key, buf, rc, true);
    return rc;
}

static int ctr_parse(const cJSON *c, const struct model_defaults *d, struct policy_ctr *out,
                     char *err, size_t cap)
{
    const cJSON *res, *limits, *requests;
    int64_t nums, mem, pct, cores, prio;
    bool has_gpu, has_mem, has_pct, has_cores, has_prio;
    int rc;

    if ((rc = get_obj(c, "resources", "resources", &res, err, cap)) ||
        (rc = get_obj(res, "limits", "resources.limits", &limits, err, cap)) ||
        (rc = get_obj(res, "requests", "resources.requests", &requests, err, cap)) ||
        (rc = ctr_int(limits, requests, MODEL_RES_GPU, &nums, &has_gpu, err, cap)))
        return rc;
    out->priority = -1;
    if (!has_gpu)
        return 0; /* HAMi: no count, no request (the webhook adds the count) */
    if (nums < 0 || nums > POLICY_MAX_GPUS) {
        seterr(err, cap, "%s %lld is out of range 0..%d", MODEL_RES_GPU, (long long)nums,
               POLICY_MAX_GPUS);
        return ERR_RANGE;
    }
    if ((rc = ctr_int(limits, requests, MODEL_RES_MEM, &mem, &has_mem, err, cap)) ||
        (rc = ctr_int(limits, requests, MODEL_RES_MEM_PCT, &pct, &has_pct, err, cap)) ||
        (rc = ctr_int(limits, requests, MODEL_RES_CORES, &cores, &has_cores, err, cap)) ||
        (rc = ctr_int(limits, requests, MODEL_RES_PRIORITY, &prio, &has_prio, err, cap)))
        return rc;

    int32_t factor = d->mem_factor > 1 ? d->mem_factor : 1;
    if (mem < 0 || mem > INT32_MAX / factor) {
        seterr(err, cap, "%s %lld is out of range 0..%d", MODEL_RES_MEM, (long long)mem,
               INT32_MAX / factor);
        return ERR_RANGE;
    }
    mem *= factor;
    if (pct > 100)
        pct = 100;
    if (pct <= 0)
        has_pct = false; /* HAMi: a non-positive percentage is unset */
    if (mem == 0 && !has_pct) {
        if (d->default_mem)
            mem = d->default_mem;
        else
            pct = 100, has_pct = true;
    }
    out->nums = (int32_t)nums;
    out->mem = (int32_t)mem;
    out->mem_pct = mem > 0 ? 0 : (int32_t)pct; /* gpumem wins over a percentage */

    if (cores < 0) {
        seterr(err, cap, "%s %lld is negative", MODEL_RES_CORES, (long long)cores);
        return ERR_RANGE;
    }
    out->cores = has_cores ? (int32_t)(cores > 100 ? 100 : cores) : d->default_cores;
    if (has_prio && prio != 0 && prio != 1) {
        seterr(err, cap, "%s %lld is not 0 (high) or 1 (low)", MODEL_RES_PRIORITY, (long long)prio);
        return ERR_RANGE;
    }
    out->priority = has_prio ? (int32_t)prio : -1;
    return 0;
}

/* A host resource of a container for kube-scheduler's sums: requests first,
 * then limits (the API server defaults requests to limits). */
/* One host quantity of a container: requests first, then limits. Sets *v to
 * 0 when absent or malformed. */
static int host_qty(const cJSON *requests, const cJSON *limits, const char *key, bool mib,
                    int64_t *v, char *err, size_t cap)
{
    char buf[QTY_MAX + 1];
    bool present;
    int rc = ctr_res(requests, limits, key, buf, sizeof buf, &present, err, cap);
    *v = 0;
    if (rc || !present)
        return rc;
    rc = mib ? quantity_mib(buf, true, v) : quantity_milli(buf, v);
    if (!rc && *v < 0)
        rc = ERR_RANGE;
    if (rc) {
        qty_err(err, cap, key, buf, rc, false);
        *v = 0;
    }
    return rc;
}

/* A container's cpu (milli) and memory (MiB) for kube-scheduler's sums:
 * requests first, then limits (the API server defaults requests to limits).
 * Each is computed even when the other fails; the first error is returned. */
static int host_res(const cJSON *c, int64_t *cpu, int64_t *mem, char *err, size_t cap)
{
    const cJSON *res, *limits, *requests;
    int rc;

    *cpu = *mem = 0;
    if ((rc = get_obj(c, "resources", "resources", &res, err, cap)) ||
        (rc = get_obj(res, "limits", "resources.limits", &limits, err, cap)) ||
        (rc = get_obj(res, "requests", "resources.requests", &requests, err, cap)))
        return rc;
    rc = host_qty(requests, limits, "cpu", false, cpu, err, cap);
    int rc2 = host_qty(requests, limits, "memory", true, mem, rc ? NULL : err, cap);
    return rc ? rc : rc2;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Name of container i for messages. */
static const char *ctr_name(const cJSON *c)
{
    const cJSON *n = field(c, "name");
    return cJSON_IsString(n) && n->valuestring ? n->valuestring : "";
}

/* The pod's containers: init containers then app containers. Checks shape
 * and the count; *ninit and *napp are set. */
static int pod_containers(const cJSON *pod, const cJSON **init, const cJSON **app, int *ninit,
                          int *napp, char *err, size_t cap)
{
    const cJSON *spec;
    int rc;

    *init = *app = NULL;
    *ninit = *napp = 0;
    if ((rc = get_obj(pod, "spec", "spec", &spec, err, cap)) ||
        (rc = get_arr(spec, "initContainers", "spec.initContainers", init, err, cap)) ||
        (rc = get_arr(spec, "containers", "spec.containers", app, err, cap)))
        return rc;
    *ninit = count_bounded(*init, POLICY_MAX_CONTAINERS);
    *napp = count_bounded(*app, POLICY_MAX_CONTAINERS);
    if (*ninit + *napp > POLICY_MAX_CONTAINERS) {
        seterr(err, cap, "pod has more than %d containers", POLICY_MAX_CONTAINERS);
        return ERR_TOOBIG;
    }
    const cJSON *lists[2] = {*init, *app};
    static const char *const what[2] = {"spec.initContainers", "spec.containers"};
    for (int k = 0; k < 2; k++) {
        int i = 0;
        for (const cJSON *c = lists[k] ? lists[k]->child : NULL; c; c = c->next, i++) {
            const char *name;
            if (!cJSON_IsObject(c)) {
                seterr(err, cap, "%s[%d] is not a JSON object", what[k], i);
                return ERR_INVAL;
            }
            if ((rc = get_str(c, "name", MODEL_NAME_MAX, "container name", &name, err, cap)))
                return rc;
        }
    }
    return 0;
}

/* cpu/memory the pod asks of the host: max(peak init, sum of app). Not
 * strict: a container whose cpu or memory does not parse counts 0. */
static int pod_host(const cJSON *init, const cJSON *app, bool strict, int64_t *cpu, int64_t *mem,
                    char *err, size_t cap)
{
    int64_t icpu = 0, imem = 0, acpu = 0, amem = 0, c, m;
    int rc;
    for (const cJSON *x = init ? init->child : NULL; x; x = x->next) {
        if ((rc = host_res(x, &c, &m, err, cap)) && strict) {
            preerr(err, cap, "container \"%s\"", ctr_name(x));
            return rc;
        }
        icpu = c > icpu ? c : icpu;
        imem = m > imem ? m : imem;
    }
    for (const cJSON *x = app ? app->child : NULL; x; x = x->next) {
        if ((rc = host_res(x, &c, &m, err, cap)) && strict) {
            preerr(err, cap, "container \"%s\"", ctr_name(x));
            return rc;
        }
        acpu = sat_add(acpu, c);
        amem = sat_add(amem, m);
    }
    *cpu = icpu > acpu ? icpu : acpu;
    *mem = imem > amem ? imem : amem;
    return 0;
}

/* metadata.namespace/name/uid, checked. */
static int pod_ids(const cJSON *pod, const cJSON **meta, const char **ns, const char **name,
                   const char **uid, char *err, size_t cap)
{
    int rc;
    if (!cJSON_IsObject(pod)) {
        seterr(err, cap, "pod is not a JSON object");
        return ERR_INVAL;
    }
    if ((rc = get_obj(pod, "metadata", "metadata", meta, err, cap)) ||
        (rc = get_str(*meta, "namespace", NS_MAX, "metadata.namespace", ns, err, cap)) ||
        (rc = get_str(*meta, "name", MODEL_NAME_MAX, "metadata.name", name, err, cap)) ||
        (rc = get_str(*meta, "uid", UID_MAX, "metadata.uid", uid, err, cap)))
        return rc;
    return 0;
}

static int pod_node_policy(const char *v, struct policy_pod *out, char *err, size_t cap)
{
    out->node_policy = policy_node_policy_find(v);
    if (out->node_policy)
        return 0;
    char known[256] = "";
    size_t len = 0;
    for (const char *const *n = policy_node_policy_names(); *n; n++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", *n);
        if (w < 0 || (size_t)w >= sizeof known - len)
            break;
        len += (size_t)w;
    }
    seterr(err, cap, "annotation %s: unknown policy \"%.*s\" (known: %s)", MODEL_ANN_NODE_POL,
           SHOW_MAX, v, known);
    return ERR_INVAL;
}

static int pod_annotations(const cJSON *anns, struct policy_pod *out, char *err, size_t cap)
{
    char detail[256];
    const char *v;
    int rc;

    if ((rc = ann_str(anns, MODEL_ANN_NODE_POL, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v && *v && (rc = pod_node_policy(v, out, err, cap)))
        return rc;
    if ((rc = ann_str(anns, MODEL_ANN_GPU_POL, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v && *v) {
        detail[0] = '\0';
        if ((rc = policy_gpu_policy_parse(v, &out->gpu, detail, sizeof detail))) {
            seterr(err, cap, "annotation %s: \"%.*s\": %s", MODEL_ANN_GPU_POL, SHOW_MAX, v, detail);
            return rc;
        }
        out->gpu_set = true;
    }
    out->w = (struct policy_weights){1, 1, 1};
    if ((rc = ann_str(anns, MODEL_ANN_WEIGHTS, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v) {
        detail[0] = '\0';
        if ((rc = policy_weights_parse(v, &out->w, detail, sizeof detail))) {
            seterr(err, cap, "annotation %s: \"%.*s\": %s", MODEL_ANN_WEIGHTS, SHOW_MAX, v, detail);
            return rc;
        }
    }
    if ((rc = ann_str(anns, MODEL_ANN_USE_TYPE, MODEL_POD_ANN_MAX, &out->use_type, err, cap)) ||
        (rc = ann_str(anns, MODEL_ANN_NOUSE_TYPE, MODEL_POD_ANN_MAX, &out->nouse_type, err, cap)) ||
        (rc = ann_str(anns, MODEL_ANN_USE_UUID, MODEL_POD_ANN_MAX, &out->use_uuid, err, cap)) ||
        (rc = ann_str(anns, MODEL_ANN_NOUSE_UUID, MODEL_POD_ANN_MAX, &out->nouse_uuid, err, cap)) ||
        (rc = ann_str(anns, MODEL_ANN_VGPU_MODE, MODEL_POD_ANN_MAX, &out->vgpu_mode, err, cap)) ||
        (rc = ann_str(anns, MODEL_ANN_NUMA_BIND, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    bool numa = false;
    if (v && parse_bool(v, strlen(v), &numa))
        numa = false; /* HAMi: an unparsable value is false */
    out->numa_bind = numa;
    return 0;
}

int model_pod_parse(const cJSON *pod, const struct model_defaults *d, struct policy_pod *out,
                    char *err, size_t cap)
{
    const cJSON *meta = NULL, *anns, *init, *app;
    int ninit, napp, rc;

    memset(out, 0, sizeof *out);
    if (!d)
        d = &hami_defaults;
    if ((rc = pod_ids(pod, &meta, &out->ns, &out->name, &out->uid, err, cap)) ||
        (rc = pod_containers(pod, &init, &app, &ninit, &napp, err, cap)))
        return rc;
    if (ninit + napp == 0) {
        seterr(err, cap, "pod has no containers");
        return ERR_INVAL;
    }
    out->ninit = ninit;
    out->nctr = ninit + napp;
    int i = 0;
    for (int k = 0; k < 2; k++) {
        for (const cJSON *c = k ? (app ? app->child : NULL) : (init ? init->child : NULL); c;
             c = c->next, i++) {
            out->ctr[i].name = ctr_name(c);
            if ((rc = ctr_parse(c, d, &out->ctr[i], err, cap))) {
                preerr(err, cap, "container \"%s\"", out->ctr[i].name);
                return rc;
            }
        }
    }
    if ((rc = pod_host(init, app, true, &out->cpu_milli, &out->mem_mib, err, cap)) ||
        (rc = get_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)) ||
        (rc = pod_annotations(anns, out, err, cap)))
        return rc;
    out->quota_mem = -1;
    out->quota_cores = -1;
    return 0;
}

/* An annotation a pod owner may write: as ann_str, but a value over max
 * reads as absent and sets *toolong (when not NULL) instead of failing. */
static int ann_owned(const cJSON *anns, const char *key, size_t max, const char **out,
                     bool *toolong, char *err, size_t cap)
{
    int rc = ann_str(anns, key, max, out, err, cap);
    if (rc != ERR_TOOBIG)
        return rc;
    *out = NULL;
    if (toolong)
        *toolong = true;
    seterr(err, cap, "%s", "");
    return 0;
}

/* hami.io/bind-time: unix seconds; 0 when absent or not a whole number. */
static double bind_time(const char *v)
{
    int64_t t;
    if (!v || parse_int(v, strlen(v), 1, INT64_C(1) << 40, &t) != 0)
        return 0;
    return (double)t;
}

/* Container i's GPU request into out->ask, when it asks any. A request
 * that does not parse asks whole GPUs, as many as it names (1..max). */
static void pod_ask(const cJSON *c, int i, struct model_pod_info *out)
{
    struct policy_ctr pc;
    char err[256];
    memset(&pc, 0, sizeof pc);
    if (ctr_parse(c, &hami_defaults, &pc, err, sizeof err) != 0) {
        const cJSON *res = NULL, *limits = NULL, *requests = NULL;
        int64_t nums = 0;
        bool has = false;
        if (get_obj(c, "resources", "resources", &res, err, sizeof err) == 0 &&
            get_obj(res, "limits", "limits", &limits, err, sizeof err) == 0 &&
            get_obj(res, "requests", "requests", &requests, err, sizeof err) == 0)
            ctr_int(limits, requests, MODEL_RES_GPU, &nums, &has, err, sizeof err);
        if (!has)
            return;
        pc.nums = nums < 1 ? 1 : nums > POLICY_MAX_GPUS ? POLICY_MAX_GPUS : (int32_t)nums;
        pc.mem = 0;
        pc.mem_pct = 100;
        pc.cores = 100;
    }
    if (pc.nums <= 0)
        return;
    out->ask[out->nask++] = (struct model_gpu_ask){(uint8_t)i, (uint8_t)pc.nums,
                                                   (uint8_t)pc.mem_pct, (uint8_t)pc.cores, pc.mem};
}

int model_pod_info(const cJSON *pod, struct model_pod_info *out, char *err, size_t cap)
{
    const cJSON *meta = NULL, *anns, *spec, *status, *init, *app;
    const char *phase, *bt;
    int ninit, napp, rc;

    memset(out, 0, sizeof *out);
    if ((rc = pod_ids(pod, &meta, &out->ns, &out->name, &out->uid, err, cap)) ||
        (rc = get_str(meta, "resourceVersion", RV_MAX, "metadata.resourceVersion",
                      &out->resource_version, err, cap)) ||
        (rc = get_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)) ||
        (rc = get_obj(pod, "spec", "spec", &spec, err, cap)) ||
        (rc = get_str(spec, "nodeName", MODEL_NAME_MAX, "spec.nodeName", &out->node_name, err,
                      cap)) ||
        (rc = get_str(spec, "schedulerName", MODEL_NAME_MAX, "spec.schedulerName",
                      &out->scheduler_name, err, cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_VGPU_NODE, MODEL_NAME_MAX, &out->vgpu_node, NULL, err,
                        cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_ALLOCATED, MODEL_POD_ANN_MAX, &out->devices,
                        &out->devices_bad, err, cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_BIND_PHASE, PHASE_MAX, &out->bind_phase, NULL, err, cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_BIND_TIME, TIME_MAX, &bt, NULL, err, cap)) ||
        (rc = get_obj(pod, "status", "status", &status, err, cap)) ||
        (rc = get_str(status, "phase", PHASE_MAX, "status.phase", &phase, err, cap)) ||
        (rc = pod_containers(pod, &init, &app, &ninit, &napp, err, cap)) ||
        (rc = pod_host(init, app, false, &out->cpu_milli, &out->mem_mib, err, cap)))
        goto out;
    out->ninit = ninit;
    out->nctr = ninit + napp;
    out->bind_time = bind_time(bt);
    int i = 0;
    for (const cJSON *c = init ? init->child : NULL; c; c = c->next)
        pod_ask(c, i++, out);
    for (const cJSON *c = app ? app->child : NULL; c; c = c->next)
        pod_ask(c, i++, out);
    out->terminal = field(meta, "deletionTimestamp") != NULL ||
                    (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
out:
    if (rc && out->name)
        preerr(err, cap, "pod \"%s/%s\"", out->ns ? out->ns : "", out->name);
    return rc;
}

const cJSON *model_get(const cJSON *obj, const char *key)
{
    /* cJSON_GetObjectItem compares keys case-insensitively */
    return cJSON_IsObject(obj) && key ? cJSON_GetObjectItem(obj, key) : NULL;
}

const char *model_str(const cJSON *obj, const char *k1, const char *k2, const char *k3)
{
    const char *keys[3] = {k1, k2, k3};
    const cJSON *v = obj;
    for (int i = 0; i < 3 && keys[i]; i++)
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, keys[i]) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

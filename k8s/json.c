/* json.c: safe reads of Kubernetes objects, and the extender's lookups. */
#include "k8s/json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "k8s/quantity.h"

void json_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

void json_err_prefix(char *err, size_t cap, const char *fmt, ...)
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

const cJSON *json_field(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) && key ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

/* An optional member of the type `is` tests: absent or null -> *out NULL. */
static int typed(const cJSON *obj, const char *key, const char *what, const char *kind,
                 cJSON_bool (*is)(const cJSON *), const cJSON **out, char *err, size_t cap)
{
    const cJSON *v = json_field(obj, key);
    *out = NULL;
    if (v && !is(v)) {
        json_err(err, cap, "%s is not a JSON %s", what, kind);
        return ERR_INVAL;
    }
    *out = v;
    return 0;
}

int json_obj(const cJSON *obj, const char *key, const char *what, const cJSON **out, char *err,
             size_t cap)
{
    return typed(obj, key, what, "object", cJSON_IsObject, out, err, cap);
}

int json_arr(const cJSON *obj, const char *key, const char *what, const cJSON **out, char *err,
             size_t cap)
{
    return typed(obj, key, what, "array", cJSON_IsArray, out, err, cap);
}

int json_str(const cJSON *obj, const char *key, size_t max, const char *what, const char **out,
             char *err, size_t cap)
{
    const cJSON *v = json_field(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring) {
        json_err(err, cap, "%s is not a string", what);
        return ERR_INVAL;
    }
    size_t n = strnlen(v->valuestring, max + 1);
    if (n > max) {
        json_err(err, cap, "%s is longer than %zu bytes", what, max);
        return ERR_TOOBIG;
    }
    *out = v->valuestring;
    return 0;
}

int json_ann(const cJSON *anns, const char *key, size_t max, const char **out, char *err,
             size_t cap)
{
    char what[128];
    if (!key) { /* a key the vendor does not have: absent */
        *out = NULL;
        return 0;
    }
    snprintf(what, sizeof what, "annotation %s", key);
    return json_str(anns, key, max, what, out, err, cap);
}

int json_count(const cJSON *arr, int max)
{
    int n = 0;
    for (const cJSON *c = arr ? arr->child : NULL; c && n <= max; c = c->next)
        n++;
    return n;
}

int json_qty(const cJSON *list, const char *key, char *buf, size_t bufcap, bool *present, char *err,
             size_t cap)
{
    const cJSON *v = json_field(list, key);
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
        json_err(err, cap, "%s is not a quantity string", key);
        return ERR_INVAL;
    }
    const char *s = v->valuestring;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= bufcap || n > JSON_QTY_MAX) {
        json_err(err, cap, "%s \"%.*s...\" is longer than %d bytes", key, JSON_SHOW_MAX, s,
                 JSON_QTY_MAX);
        return ERR_TOOBIG;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *present = true;
    return 0;
}

void json_qty_err(char *err, size_t cap, const char *key, const char *text, int rc, bool whole)
{
    int64_t m;
    if (rc == ERR_RANGE)
        json_err(err, cap, "%s \"%s\" is out of range", key, text);
    else if (whole && quantity_milli(text, &m) == 0)
        json_err(err, cap, "%s \"%s\" is not a whole number", key, text);
    else
        json_err(err, cap, "%s \"%s\" is not a valid quantity", key, text);
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

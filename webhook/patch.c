/* patch.c: JSON Patch (RFC 6902) add/replace over cJSON, JSON Pointer
 * (RFC 6901), base64 (RFC 4648). */
#include "webhook/patch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

struct webhook_patch {
    cJSON *doc; /* borrowed */
    cJSON *ops; /* owned: the array of operations */
    int n;
};

struct webhook_patch *webhook_patch_create(cJSON *doc)
{
    struct webhook_patch *p = mem_zalloc(sizeof *p);
    p->doc = doc;
    p->ops = mem_check(cJSON_CreateArray(), "JSON patch");
    return p;
}

void webhook_patch_destroy(struct webhook_patch *p)
{
    if (p == NULL)
        return;
    cJSON_Delete(p->ops);
    free(p);
}

int webhook_patch_pointer(char *out, size_t cap, const char *const *tokens)
{
    size_t k = 0;
    if (cap == 0)
        return ERR_TOOBIG;
    out[0] = '\0';
    for (int i = 0; tokens && tokens[i]; i++) {
        if (k + 2 > cap)
            return ERR_TOOBIG;
        out[k++] = '/';
        for (const char *c = tokens[i]; *c; c++) {
            const char *esc = *c == '~' ? "~0" : *c == '/' ? "~1" : NULL;
            size_t n = esc ? 2 : 1;
            if (k + n + 1 > cap) {
                out[0] = '\0';
                return ERR_TOOBIG;
            }
            memcpy(out + k, esc ? esc : c, n);
            k += n;
        }
        out[k] = '\0';
    }
    return 0;
}

/* Read the token after the '/' at *pp into tok, unescaped; advance *pp to
 * the next '/' or the end. Returns 0, ERR_INVAL (bad escape), ERR_TOOBIG. */
static int next_token(const char **pp, char *tok, size_t cap)
{
    const char *p = *pp + 1; /* past '/' */
    size_t k = 0;
    for (; *p && *p != '/'; p++) {
        char c = *p;
        if (c == '~') {
            if (p[1] != '0' && p[1] != '1')
                return ERR_INVAL;
            c = p[1] == '0' ? '~' : '/';
            p++;
        }
        if (k + 1 >= cap)
            return ERR_TOOBIG;
        tok[k++] = c;
    }
    tok[k] = '\0';
    *pp = p;
    return 0;
}

/* An array index token: "0", "12" (no leading zeros), or "-" (= size) when
 * allowed. -1 when malformed or past max. */
static int array_index(const char *tok, int size, bool dash, int max)
{
    if (dash && strcmp(tok, "-") == 0)
        return size;
    size_t n = strlen(tok);
    if (n == 0 || n > 9 || strspn(tok, "0123456789") != n || (tok[0] == '0' && n > 1))
        return -1;
    int i = atoi(tok);
    return i <= max ? i : -1;
}

static cJSON *child(cJSON *cur, const char *tok)
{
    if (cJSON_IsObject(cur))
        return cJSON_GetObjectItemCaseSensitive(cur, tok);
    if (cJSON_IsArray(cur)) {
        int size = cJSON_GetArraySize(cur);
        int i = array_index(tok, size, false, size - 1);
        return i < 0 ? NULL : cJSON_GetArrayItem(cur, i);
    }
    return NULL;
}

/* The parent of the pointer's target and the target's last token. */
static int locate(cJSON *doc, const char *ptr, cJSON **parent, char *last, size_t cap)
{
    cJSON *cur = doc;
    int rc;
    if (ptr == NULL || ptr[0] != '/' || strlen(ptr) >= WEBHOOK_POINTER_MAX)
        return ERR_INVAL; /* "" (the whole document) is not patched here */
    for (const char *p = ptr;;) {
        if ((rc = next_token(&p, last, cap)))
            return rc;
        if (*p == '\0')
            break;
        if ((cur = child(cur, last)) == NULL)
            return ERR_NOTFOUND;
    }
    *parent = cur;
    return 0;
}

cJSON *webhook_patch_get(cJSON *doc, const char *ptr)
{
    char tok[WEBHOOK_POINTER_MAX];
    cJSON *parent;
    if (ptr && ptr[0] == '\0')
        return doc;
    if (locate(doc, ptr, &parent, tok, sizeof tok))
        return NULL;
    return child(parent, tok);
}

static int record(struct webhook_patch *p, const char *op, const char *ptr, const cJSON *value)
{
    cJSON *o = mem_check(cJSON_CreateObject(), "JSON patch");
    cJSON *v = mem_check(value ? cJSON_Duplicate(value, 1) : cJSON_CreateNull(), "JSON patch");
    mem_check(cJSON_AddStringToObject(o, "op", op), "JSON patch");
    mem_check(cJSON_AddStringToObject(o, "path", ptr), "JSON patch");
    if (value == NULL)
        cJSON_Delete(v); /* "remove" has no value */
    else
        cJSON_AddItemToObject(o, "value", v);
    cJSON_AddItemToArray(p->ops, o);
    p->n++;
    return 0;
}

static int apply(struct webhook_patch *p, bool add, const char *ptr, cJSON *value)
{
    char last[WEBHOOK_POINTER_MAX];
    cJSON *parent = NULL;
    int rc = ERR_TOOBIG;
    if (value == NULL)
        return ERR_INVAL;
    if (p->n >= WEBHOOK_PATCH_OPS_MAX)
        goto fail;
    if ((rc = locate(p->doc, ptr, &parent, last, sizeof last)))
        goto fail;
    rc = ERR_INVAL;
    if (cJSON_IsObject(parent)) {
        bool exists = cJSON_GetObjectItemCaseSensitive(parent, last) != NULL;
        if (!exists && !add) {
            rc = ERR_NOTFOUND;
            goto fail;
        }
        record(p, add ? "add" : "replace", ptr, value);
        if (exists)
            cJSON_ReplaceItemInObjectCaseSensitive(parent, last, value);
        else
            cJSON_AddItemToObject(parent, last, value);
        return 0;
    }
    if (cJSON_IsArray(parent)) {
        int size = cJSON_GetArraySize(parent);
        int i = array_index(last, size, add, add ? size : size - 1);
        if (i < 0) {
            rc = ERR_NOTFOUND;
            goto fail;
        }
        record(p, add ? "add" : "replace", ptr, value);
        if (!add)
            cJSON_ReplaceItemInArray(parent, i, value);
        else if (i == size)
            cJSON_AddItemToArray(parent, value);
        else
            cJSON_InsertItemInArray(parent, i, value);
        return 0;
    }
fail:
    cJSON_Delete(value);
    return rc;
}

int webhook_patch_add(struct webhook_patch *p, const char *ptr, cJSON *value)
{
    return apply(p, true, ptr, value);
}

int webhook_patch_replace(struct webhook_patch *p, const char *ptr, cJSON *value)
{
    return apply(p, false, ptr, value);
}

int webhook_patch_remove(struct webhook_patch *p, const char *ptr)
{
    char last[WEBHOOK_POINTER_MAX];
    cJSON *parent = NULL, *gone = NULL;
    int rc;
    if (p->n >= WEBHOOK_PATCH_OPS_MAX)
        return ERR_TOOBIG;
    if ((rc = locate(p->doc, ptr, &parent, last, sizeof last)))
        return rc;
    if (cJSON_IsObject(parent)) {
        gone = cJSON_DetachItemFromObjectCaseSensitive(parent, last);
    } else if (cJSON_IsArray(parent)) {
        int size = cJSON_GetArraySize(parent);
        int i = array_index(last, size, false, size - 1);
        gone = i < 0 ? NULL : cJSON_DetachItemFromArray(parent, i);
    } else {
        return ERR_INVAL;
    }
    if (gone == NULL)
        return ERR_NOTFOUND;
    cJSON_Delete(gone);
    return record(p, "remove", ptr, NULL);
}

int webhook_patch_count(const struct webhook_patch *p)
{
    return p->n;
}

char *webhook_patch_json(const struct webhook_patch *p)
{
    return mem_check(cJSON_PrintUnformatted(p->ops), "JSON patch");
}

char *webhook_patch_base64(const void *data, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *in = data;
    char *out = mem_alloc(4 * ((n + 2) / 3) + 1), *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = abc[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        *o++ = abc[v >> 18];
        *o++ = abc[(v >> 12) & 63];
        *o++ = abc[(v >> 6) & 63];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

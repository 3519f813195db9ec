#include "fuzz/jsonpatch.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 512

/* The next reference token of pointer *p (after its '/') into tok,
 * unescaped. Returns 0, or -1 for a bad escape or a token too long. */
static int next_token(const char **p, char *tok)
{
    const char *s = *p + 1; /* past the '/' */
    size_t n = 0;
    for (; *s && *s != '/'; s++) {
        char c = *s;
        if (c == '~') {
            if (s[1] == '0')
                c = '~';
            else if (s[1] == '1')
                c = '/';
            else
                return -1;
            s++;
        }
        if (n + 1 >= TOKEN_MAX)
            return -1;
        tok[n++] = c;
    }
    tok[n] = '\0';
    *p = s;
    return 0;
}

/* An array index: "0" or digits without a leading zero, below limit. */
static int index_of(const char *tok, int limit)
{
    if (!tok[0] || (tok[0] == '0' && tok[1]) || strlen(tok) > 9)
        return -1;
    for (const char *c = tok; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    int i = atoi(tok);
    return i < limit ? i : -1;
}

static cJSON *child(cJSON *v, const char *tok)
{
    if (cJSON_IsObject(v))
        return cJSON_GetObjectItemCaseSensitive(v, tok);
    if (cJSON_IsArray(v)) {
        int i = index_of(tok, cJSON_GetArraySize(v));
        return i < 0 ? NULL : cJSON_GetArrayItem(v, i);
    }
    return NULL;
}

/* Resolve path to its parent and last token. path "" gives *parent NULL. */
static int locate(cJSON *doc, const char *path, cJSON **parent, char *last)
{
    *parent = NULL;
    last[0] = '\0';
    if (!path[0])
        return 0;
    if (path[0] != '/')
        return -1;
    cJSON *cur = doc;
    const char *p = path;
    char tok[TOKEN_MAX];
    if (next_token(&p, tok) != 0)
        return -1;
    while (*p) {
        cur = child(cur, tok);
        if (!cur || next_token(&p, tok) != 0)
            return -1;
    }
    *parent = cur;
    memcpy(last, tok, strlen(tok) + 1);
    return 0;
}

static cJSON *get(cJSON *doc, const char *path)
{
    cJSON *parent;
    char last[TOKEN_MAX];
    if (locate(doc, path, &parent, last) != 0)
        return NULL;
    return parent ? child(parent, last) : doc;
}

/* Insert v (owned) at path. */
static int add(cJSON **doc, const char *path, cJSON *v)
{
    cJSON *parent;
    char last[TOKEN_MAX];
    if (locate(*doc, path, &parent, last) != 0)
        goto bad;
    if (!path[0]) {
        cJSON_Delete(*doc);
        *doc = v;
        return 0;
    }
    if (cJSON_IsObject(parent)) {
        if (cJSON_GetObjectItemCaseSensitive(parent, last))
            cJSON_ReplaceItemInObjectCaseSensitive(parent, last, v);
        else
            cJSON_AddItemToObject(parent, last, v);
        return 0;
    }
    if (cJSON_IsArray(parent)) {
        int n = cJSON_GetArraySize(parent);
        if (strcmp(last, "-") == 0) {
            cJSON_AddItemToArray(parent, v);
            return 0;
        }
        int i = index_of(last, n + 1);
        if (i < 0)
            goto bad;
        if (i == n)
            cJSON_AddItemToArray(parent, v);
        else
            cJSON_InsertItemInArray(parent, i, v);
        return 0;
    }
bad:
    cJSON_Delete(v);
    return -1;
}

/* Take the value at path out of the document; NULL if there is none. */
static cJSON *take(cJSON **doc, const char *path)
{
    cJSON *parent;
    char last[TOKEN_MAX];
    if (locate(*doc, path, &parent, last) != 0)
        return NULL;
    if (!path[0]) {
        cJSON *v = *doc;
        *doc = cJSON_CreateNull();
        return v;
    }
    if (cJSON_IsObject(parent))
        return cJSON_DetachItemFromObjectCaseSensitive(parent, last);
    if (cJSON_IsArray(parent)) {
        int i = index_of(last, cJSON_GetArraySize(parent));
        return i < 0 ? NULL : cJSON_DetachItemFromArray(parent, i);
    }
    return NULL;
}

static int apply_one(cJSON **doc, const cJSON *op, char *err, size_t cap)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "op"));
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "path"));
    const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(op, "from"));
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(op, "value");
    if (!name || !path) {
        snprintf(err, cap, "an operation without op or path");
        return -1;
    }
    bool needs_value = !strcmp(name, "add") || !strcmp(name, "replace") || !strcmp(name, "test");
    if (needs_value && !value) {
        snprintf(err, cap, "%s %s: no value", name, path);
        return -1;
    }
    if (!strcmp(name, "add")) {
        if (add(doc, path, cJSON_Duplicate(value, 1)) == 0)
            return 0;
    } else if (!strcmp(name, "remove")) {
        cJSON *v = take(doc, path);
        if (v) {
            cJSON_Delete(v);
            return 0;
        }
    } else if (!strcmp(name, "replace")) {
        cJSON *v = take(doc, path);
        if (v) {
            cJSON_Delete(v);
            if (add(doc, path, cJSON_Duplicate(value, 1)) == 0)
                return 0;
        }
    } else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
        size_t fl = from ? strlen(from) : 0;
        if (from && !strcmp(name, "move") && !strncmp(path, from, fl) &&
            (path[fl] == '/' || !path[fl]) && path[fl]) {
            snprintf(err, cap, "move %s into itself", from);
            return -1;
        }
        cJSON *v = NULL;
        if (from && !strcmp(name, "move"))
            v = take(doc, from);
        else if (from && get(*doc, from))
            v = cJSON_Duplicate(get(*doc, from), 1);
        if (v && add(doc, path, v) == 0)
            return 0;
    } else if (!strcmp(name, "test")) {
        const cJSON *v = get(*doc, path);
        if (v && cJSON_Compare(v, value, 1))
            return 0;
    } else {
        snprintf(err, cap, "unknown op \"%.32s\"", name);
        return -1;
    }
    snprintf(err, cap, "%s %.200s: no such location", name, path);
    return -1;
}

int jsonpatch_apply(cJSON **doc, const cJSON *patch, char *err, size_t cap)
{
    const cJSON *op;
    if (!cJSON_IsArray(patch)) {
        snprintf(err, cap, "the patch is not an array");
        return -1;
    }
    cJSON_ArrayForEach(op, patch)
    {
        if (!cJSON_IsObject(op)) {
            snprintf(err, cap, "an operation that is not an object");
            return -1;
        }
        if (apply_one(doc, op, err, cap) != 0)
            return -1;
    }
    return 0;
}

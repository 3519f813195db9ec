#include "k8s/jsonstream.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#define KEY_MAX     16
#define ITEM_SHRINK ((size_t)1 << 20) /* an item buffer grown past this is given back */

/* Where the scanner is in the document. */
enum state {
    T_START,   /* before the top-level object */
    T_KEY0,    /* after '{': a key or '}' */
    T_KEY,     /* after ',': a key */
    T_KEYSTR,  /* inside a top-level key */
    T_COLON,   /* after a top-level key */
    T_VAL,     /* after ':': the member's value */
    T_NEXT,    /* after a member: ',' or '}' */
    T_ARR0,    /* after "items":[ : an item or ']' */
    T_ARR,     /* after ',' in items: an item */
    T_ARRNEXT, /* after an item: ',' or ']' */
    T_VALUE,   /* inside a value (an item or a member's): struct value */
    T_END,     /* after the top-level object: whitespace only */
};

enum role { R_NONE, R_KEY, R_KIND }; /* what a string at an item's depth 1 is */

/* The value being scanned: an element of items, or a top-level member's. */
struct value {
    int depth;
    bool in_str, esc, scalar;
    bool item; /* an element of items; else a member's value */
    bool keep; /* its bytes go to `to` */
    struct buf *to;
    size_t start;  /* where its bytes begin in the current piece */
    size_t offset; /* of its first byte in the document */
    /* An object item's own "kind" (strings at depth 1). */
    bool want_key, last_kind, kind_pending;
    enum role role;
    char s[JSONSTREAM_KIND_MAX + 1];
    size_t slen;
    bool s_esc, s_long;
    enum jsonstream_kind kind_is;
    char kind[JSONSTREAM_KIND_MAX + 1]; /* when kind_is is PLAIN */
    char stack[JSONSTREAM_DEPTH_MAX];
};

struct jsonstream {
    jsonstream_fn fn;
    void *ctx;
    enum state state;
    int rc;        /* sticky error */
    char err[256]; /* its message */
    size_t off;    /* bytes fed before the current piece */
    size_t items;
    bool items_seen;
    char key[KEY_MAX + 1]; /* the top-level key being read (cut at KEY_MAX) */
    size_t klen;
    bool key_esc, key_long, key_in_esc;
    struct value v;
    struct buf item, head;
};

struct jsonstream *jsonstream_create(size_t item_max, jsonstream_fn fn, void *ctx)
{
    struct jsonstream *js = mem_zalloc(sizeof *js);
    js->fn = fn;
    js->ctx = ctx;
    js->state = T_START;
    buf_init(&js->item, item_max);
    buf_init(&js->head, JSONSTREAM_HEAD_MAX);
    return js;
}

void jsonstream_destroy(struct jsonstream *js)
{
    if (!js)
        return;
    buf_free(&js->item);
    buf_free(&js->head);
    free(js);
}

size_t jsonstream_count(const struct jsonstream *js)
{
    return js->items;
}

cJSON *jsonstream_head(const struct jsonstream *js)
{
    size_t n = js->head.len;
    char *s = mem_alloc(n + 3);
    s[0] = '{';
    memcpy(s + 1, js->head.data ? js->head.data : "", n);
    s[n + 1] = '}';
    s[n + 2] = '\0';
    cJSON *j = cJSON_ParseWithLength(s, n + 2);
    free(s);
    return j;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Record an error at byte `at` of the document, naming the byte c found
 * there (0: none); returns rc. */
static int fail(struct jsonstream *js, int rc, size_t at, char c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(struct jsonstream *js, int rc, size_t at, char c, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c == 0)
        snprintf(js->err, sizeof js->err, "byte %zu: %s", at, what);
    else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
        snprintf(js->err, sizeof js->err, "byte %zu: %s, found '%c'", at, what, c);
    else
        snprintf(js->err, sizeof js->err, "byte %zu: %s, found byte 0x%02x", at, what,
                 (unsigned char)c);
    js->rc = rc;
    return rc;
}

static int sticky(const struct jsonstream *js, char *err, size_t cap)
{
    if (cap && js->err[0]) /* else the callback stopped the scan and said why */
        snprintf(err, cap, "%s", js->err);
    return js->rc;
}

/* ---- a value ---- */

/* Start the value whose first byte is p[*i]; consumes it. */
static int value_begin(struct jsonstream *js, const char *p, size_t *i, bool item, bool keep)
{
    struct value *v = &js->v;
    char c = p[*i];
    size_t at = js->off + *i;
    if (!(c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' ||
          c == 'f' || c == 'n'))
        return fail(js, ERR_INVAL, at, c, "%s", item ? "want an item" : "want a value");
    v->depth = 0;
    v->in_str = v->esc = v->scalar = false;
    v->item = item;
    v->keep = keep;
    v->to = item ? &js->item : &js->head;
    v->start = *i;
    v->offset = at;
    v->want_key = v->last_kind = v->kind_pending = false;
    v->role = R_NONE;
    v->kind_is = JSONSTREAM_KIND_NONE;
    if (c == '{' || c == '[') {
        v->stack[v->depth++] = c;
        v->want_key = c == '{';
    } else if (c == '"') {
        v->in_str = true;
    } else {
        v->scalar = true;
    }
    (*i)++;
    js->state = T_VALUE;
    return 0;
}

static bool in_item_object(const struct value *v)
{
    return v->item && v->depth == 1 && v->stack[0] == '{';
}

static void string_end(struct value *v)
{
    if (v->role == R_KEY) {
        v->last_kind = !v->s_esc && !v->s_long && v->slen == 4 && memcmp(v->s, "kind", 4) == 0;
        if (v->s_esc && v->kind_is == JSONSTREAM_KIND_NONE)
            v->kind_is = JSONSTREAM_KIND_PARSE; /* an escaped key may spell "kind" */
    } else if (v->role == R_KIND) {
        v->kind_is = v->s_esc || v->s_long ? JSONSTREAM_KIND_PARSE : JSONSTREAM_KIND_PLAIN;
        memcpy(v->kind, v->s, v->slen);
        v->kind[v->slen] = '\0';
    }
    v->role = R_NONE;
}

/* Bytes inside a string from p[*i]. Returns 1 when the value ended with it. */
static int scan_string(struct value *v, const char *p, size_t n, size_t *i)
{
    while (*i < n) {
        if (v->esc) {
            v->esc = false;
            (*i)++;
            continue;
        }
        if (v->role == R_NONE) {
            const char *q = p + *i;
            while (q < p + n && *q != '"' && *q != '\\')
                q++;
            *i = (size_t)(q - p);
            if (*i == n)
                return 0;
        }
        char c = p[(*i)++];
        if (c == '\\') {
            v->esc = true;
            v->s_esc = true;
        } else if (c == '"') {
            v->in_str = false;
            string_end(v);
            return v->depth == 0;
        } else if (v->slen < JSONSTREAM_KIND_MAX) {
            v->s[v->slen++] = c;
        } else {
            v->s_long = true;
        }
    }
    return 0;
}

/* One structural byte c at p[*i] outside strings; consumes it. Returns 1
 * when the value ended with it, 0 to go on, or an error. */
static int scan_byte(struct jsonstream *js, char c, size_t *i)
{
    struct value *v = &js->v;
    size_t at = js->off + *i;
    (*i)++;
    switch (c) {
    case '"':
        v->in_str = true;
        if (in_item_object(v)) {
            v->role = v->want_key ? R_KEY : v->kind_pending ? R_KIND : R_NONE;
            v->slen = 0;
            v->s_esc = v->s_long = false;
        }
        v->kind_pending = false;
        return 0;
    case '{':
    case '[':
        if (v->depth >= JSONSTREAM_DEPTH_MAX)
            return fail(js, ERR_TOOBIG, at, 0, "nested deeper than %d levels",
                        JSONSTREAM_DEPTH_MAX);
        v->kind_pending = false;
        v->stack[v->depth++] = c;
        return 0;
    case '}':
    case ']':
        if (v->stack[v->depth - 1] != (c == '}' ? '{' : '['))
            return fail(js, ERR_INVAL, at, c, "a bracket that does not match its opening");
        v->depth--;
        return v->depth == 0;
    case ':':
        if (in_item_object(v)) {
            v->want_key = false;
            if (v->last_kind && v->kind_is == JSONSTREAM_KIND_NONE) {
                v->kind_is = JSONSTREAM_KIND_PARSE; /* until it proves a plain string */
                v->kind_pending = true;
            }
        }
        return 0;
    case ',':
        if (in_item_object(v)) {
            v->want_key = true;
            v->kind_pending = false;
        }
        return 0;
    default:
        if (!is_ws(c))
            v->kind_pending = false;
        return 0;
    }
}

/* Scan the current value from p[*i]. Returns 1 when it ended (*i past its
 * last byte), 0 when the piece ended inside it, or an error. */
static int scan_value(struct jsonstream *js, const char *p, size_t n, size_t *i)
{
    struct value *v = &js->v;
    while (*i < n) {
        if (v->in_str) {
            int end = scan_string(v, p, n, i);
            if (end)
                return 1;
            continue;
        }
        char c = p[*i];
        if (v->scalar) {
            if (is_ws(c) || c == ',' || c == ']' || c == '}')
                return 1; /* the delimiter belongs to the level above */
            if (c == '"' || c == '{' || c == '[' || c == ':')
                return fail(js, ERR_INVAL, js->off + *i, c, "a number or literal cut short");
            (*i)++;
            continue;
        }
        int rc = scan_byte(js, c, i);
        if (rc)
            return rc;
    }
    return 0;
}

/* Keep p[v->start, end) of the value being scanned. */
static int keep_bytes(struct jsonstream *js, const char *p, size_t end)
{
    struct value *v = &js->v;
    if (!v->keep || end <= v->start)
        return 0;
    if (buf_append(v->to, p + v->start, end - v->start) == 0)
        return 0;
    if (v->item) {
        return fail(js, ERR_TOOBIG, js->off + end, 0, "item %zu (from byte %zu) is over %zu bytes",
                    js->items, v->offset, js->item.max);
    }
    return fail(js, ERR_TOOBIG, js->off + end, 0,
                "the List's kind, apiVersion and metadata are over %d bytes", JSONSTREAM_HEAD_MAX);
}

/* The value ended at p[end]: hand an item out, or note a member. */
static int value_end(struct jsonstream *js, const char *p, size_t end)
{
    struct value *v = &js->v;
    int rc = keep_bytes(js, p, end);
    if (rc)
        return rc;
    if (!v->item) {
        js->state = T_NEXT;
        return 0;
    }
    struct jsonstream_item it = {.json = buf_str(&js->item),
                                 .len = js->item.len,
                                 .offset = v->offset,
                                 .index = js->items,
                                 .kind_is = v->kind_is};
    if (v->kind_is == JSONSTREAM_KIND_PLAIN)
        memcpy(it.kind, v->kind, sizeof it.kind);
    js->items++;
    js->state = T_ARRNEXT;
    rc = js->fn ? js->fn(js->ctx, &it) : 0;
    if (js->item.cap > ITEM_SHRINK)
        buf_free(&js->item);
    else
        buf_reset(&js->item);
    if (rc) {
        js->rc = rc;
        js->err[0] = '\0';
    }
    return rc;
}

/* ---- the top level ---- */

static bool key_is(const struct jsonstream *js, const char *k)
{
    return !js->key_esc && !js->key_long && strcmp(js->key, k) == 0;
}

/* A byte of a top-level key (whitespace included). */
static void key_byte(struct jsonstream *js, char c)
{
    if (js->key_in_esc) {
        js->key_in_esc = false;
    } else if (c == '\\') {
        js->key_in_esc = js->key_esc = true;
    } else if (c == '"') {
        js->key[js->klen] = '\0';
        js->state = T_COLON;
    } else if (js->klen < KEY_MAX) {
        js->key[js->klen++] = c;
    } else {
        js->key_long = true;
    }
}

/* The value of the member just named starts at p[*i]. */
static int member_value(struct jsonstream *js, const char *p, size_t *i)
{
    size_t at = js->off + *i;
    if (key_is(js, "items")) {
        if (js->items_seen)
            return fail(js, ERR_INVAL, at, 0, "\"items\" given twice");
        if (p[*i] != '[')
            return fail(js, ERR_INVAL, at, p[*i], "not a List: \"items\" is not an array");
        js->items_seen = true;
        js->state = T_ARR0;
        (*i)++;
        return 0;
    }
    bool keep = key_is(js, "kind") || key_is(js, "apiVersion") || key_is(js, "metadata");
    if (keep) {
        buf_printf(&js->head, "%s\"%s\":", js->head.len ? "," : "", js->key);
        if (js->head.toobig)
            return fail(js, ERR_TOOBIG, at, 0,
                        "the List's kind, apiVersion and metadata are over %d bytes",
                        JSONSTREAM_HEAD_MAX);
    }
    return value_begin(js, p, i, false, keep);
}

/* One byte at p[*i] outside any value, not whitespace. */
static int top_byte(struct jsonstream *js, const char *p, size_t *i)
{
    char c = p[*i];
    size_t at = js->off + *i;
    switch (js->state) {
    case T_START:
        if (c != '{')
            return fail(js, ERR_INVAL, at, c, "not a List: want '{'");
        js->state = T_KEY0;
        break;
    case T_KEY0:
    case T_KEY:
        if (c == '}' && js->state == T_KEY0) {
            js->state = T_END;
            break;
        }
        if (c != '"')
            return fail(js, ERR_INVAL, at, c, "want a member's name");
        js->klen = 0;
        js->key_esc = js->key_long = js->key_in_esc = false;
        js->state = T_KEYSTR;
        break;
    case T_COLON:
        if (c != ':')
            return fail(js, ERR_INVAL, at, c, "want ':' after a member's name");
        js->state = T_VAL;
        break;
    case T_VAL:
        return member_value(js, p, i);
    case T_NEXT:
        if (c != ',' && c != '}')
            return fail(js, ERR_INVAL, at, c, "want ',' or '}' after a member");
        js->state = c == ',' ? T_KEY : T_END;
        break;
    case T_ARR0:
    case T_ARR:
        if (c == ']' && js->state == T_ARR0) {
            js->state = T_NEXT;
            break;
        }
        return value_begin(js, p, i, true, true);
    case T_ARRNEXT:
        if (c != ',' && c != ']')
            return fail(js, ERR_INVAL, at, c, "want ',' or ']' after an item");
        js->state = c == ',' ? T_ARR : T_NEXT;
        break;
    case T_END:
        return fail(js, ERR_INVAL, at, c, "bytes after the end of the document");
    default:
        return fail(js, ERR_INVAL, at, 0, "scanner state");
    }
    (*i)++;
    return 0;
}

int jsonstream_feed(struct jsonstream *js, const char *p, size_t n, char *err, size_t cap)
{
    int rc = 0;
    size_t i = 0;
    if (js->rc)
        return sticky(js, err, cap);
    js->v.start = 0;
    while (i < n && rc == 0) {
        if (js->state == T_VALUE) {
            rc = scan_value(js, p, n, &i);
            if (rc == 1)
                rc = value_end(js, p, i);
        } else if (js->state == T_KEYSTR) {
            key_byte(js, p[i++]);
        } else if (is_ws(p[i])) {
            i++;
        } else {
            rc = top_byte(js, p, &i);
        }
    }
    if (rc == 0 && js->state == T_VALUE)
        rc = keep_bytes(js, p, n); /* the piece ended inside a value */
    js->off += n;
    if (rc && js->rc == 0)
        js->rc = rc;
    return rc ? sticky(js, err, cap) : 0;
}

int jsonstream_end(struct jsonstream *js, char *err, size_t cap)
{
    if (js->rc)
        return sticky(js, err, cap);
    if (js->state != T_END) {
        fail(js, ERR_INVAL, js->off, 0, "%s",
             js->state == T_START ? "empty: no JSON object" : "the document ends early");
        return sticky(js, err, cap);
    }
    if (!js->items_seen) {
        fail(js, ERR_INVAL, js->off, 0, "not a List: no \"items\" array");
        return sticky(js, err, cap);
    }
    return 0;
}

/* jsonstream: the items of a Kubernetes List, one at a time, without
 * holding the whole document.
 *
 * A byte-level scanner fed the document in pieces of any size (a file read
 * in chunks, an HTTP body as it arrives). It walks the top-level object,
 * finds its "items" array and hands each element's bytes, whole and
 * contiguous, to a callback, which parses just that element (cJSON). Only
 * one element is held at a time, bounded by item_max bytes. The top-level
 * members kind, apiVersion and metadata are kept (bounded, in any order,
 * before or after "items") for jsonstream_head().
 *
 *     struct jsonstream *js = jsonstream_create(16 << 20, on_item, ctx);
 *     while ((n = read(fd, chunk, sizeof chunk)) > 0)
 *         if ((rc = jsonstream_feed(js, chunk, n, err, sizeof err)) != 0)
 *             break;
 *     if (!rc)
 *         rc = jsonstream_end(js, err, sizeof err);
 *     jsonstream_destroy(js);
 *
 * The scanner checks the structure (strings and their escapes, brackets
 * that match, commas and colons of the top level and of the items array,
 * nothing after the document); what is inside an item is checked by
 * whoever parses it. Top-level keys are compared as written (an escaped
 * "items" is some other key). Bad input gives ERR_INVAL (ERR_TOOBIG for an
 * item over item_max, a head over JSONSTREAM_HEAD_MAX, nesting deeper than
 * JSONSTREAM_DEPTH_MAX) with a message naming the byte offset; the error
 * sticks: later feeds return it again.
 *
 * Not thread-safe: one owner at a time. */
#ifndef VS_JSONSTREAM_H
#define VS_JSONSTREAM_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define JSONSTREAM_DEPTH_MAX 512        /* nesting inside an item or head value */
#define JSONSTREAM_HEAD_MAX  (64 << 10) /* kind + apiVersion + metadata */
#define JSONSTREAM_KIND_MAX  63

/* What the scanner saw of an item's own "kind" member (the first one). */
enum jsonstream_kind {
    JSONSTREAM_KIND_NONE,  /* an object without "kind", or not an object */
    JSONSTREAM_KIND_PLAIN, /* a string without escapes: in item->kind */
    JSONSTREAM_KIND_PARSE, /* anything else (escaped, long, not a string): parse to know */
};

/* One element of "items". Open value struct; everything borrowed, valid
 * until the callback returns. */
struct jsonstream_item {
    const char *json; /* the element's bytes, NUL-terminated */
    size_t len;
    size_t offset; /* of its first byte in the document */
    size_t index;  /* 0 for the first element */
    enum jsonstream_kind kind_is;
    char kind[JSONSTREAM_KIND_MAX + 1]; /* "" unless kind_is is PLAIN */
};

/* Called for each element in order. Return 0 to go on; anything else stops
 * the scan and jsonstream_feed returns it (err untouched). */
typedef int (*jsonstream_fn)(void *ctx, const struct jsonstream_item *item);

struct jsonstream;

/* A new scanner (caller destroys) handing elements of at most item_max
 * bytes to fn. */
struct jsonstream *jsonstream_create(size_t item_max, jsonstream_fn fn, void *ctx);
/* Accepts NULL. */
void jsonstream_destroy(struct jsonstream *js);

/* Scan the next n bytes of the document, calling fn for each element that
 * ends in them. Returns 0, the callback's non-zero answer, or ERR_INVAL /
 * ERR_TOOBIG with err filled ("byte 1234: ..."). */
int jsonstream_feed(struct jsonstream *js, const char *p, size_t n, char *err, size_t cap);

/* The document has ended: returns 0 when it was one complete object with an
 * "items" array, else ERR_INVAL with err filled (or the sticky error). */
int jsonstream_end(struct jsonstream *js, char *err, size_t cap);

/* A new object holding the top-level kind, apiVersion and metadata seen so
 * far (caller deletes; allocated through cJSON's hooks), or NULL when what
 * was kept does not parse. */
cJSON *jsonstream_head(const struct jsonstream *js);

/* Elements handed out so far. */
size_t jsonstream_count(const struct jsonstream *js);

#endif

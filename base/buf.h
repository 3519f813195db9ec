/* buf: a growable byte buffer with a hard cap (like curl's dynbuf).
 *
 * Open value struct: embed it, set it up with buf_init() or BUF_INIT, append,
 * read `data`/`len`, release with buf_free(). The contents are always
 * NUL-terminated (buf_str() gives "" for an empty buffer), so a body read
 * into a buf can be handed to a string parser as is.
 *
 * Growth is geometric (doubling), so appending n bytes in any number of
 * pieces costs O(n). `max` bounds `len`: an append that would go past it
 * fails with ERR_TOOBIG, leaves the contents as they were, and makes the
 * buffer refuse every later append until buf_reset() ("sticky", so a writer
 * may append many pieces and check once at the end).
 *
 * Not thread-safe: one owner at a time. */
#ifndef VS_BUF_H
#define VS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;  /* owned; NULL until the first append; NUL-terminated */
    size_t len;  /* bytes in use, the NUL not counted */
    size_t cap;  /* bytes allocated */
    size_t max;  /* hard cap on len */
    bool toobig; /* an append went over max; cleared by buf_reset/buf_free */
};

/* An empty buffer holding at most max_len bytes, as an expression. */
#define BUF_INIT(max_len) ((struct buf){.max = (max_len)})

/* Set up an empty buffer holding at most max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Append n bytes. Returns 0, or ERR_TOOBIG (contents unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
/* Append a NUL-terminated string. Returns 0 or ERR_TOOBIG. */
int buf_puts(struct buf *b, const char *s);
/* Append formatted text. Returns 0, ERR_TOOBIG (contents unchanged) or
 * ERR_INVAL for a format vsnprintf rejects. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Make room for n more bytes at once (e.g. a known Content-Length).
 * Returns 0 or ERR_TOOBIG when len + n would exceed max. */
int buf_reserve(struct buf *b, size_t n);

/* The contents as a string; "" when empty. Borrowed: valid until the next
 * call that changes b. */
const char *buf_str(const struct buf *b);

/* Empty the buffer, keep its memory for reuse, clear toobig. */
void buf_reset(struct buf *b);
/* Release the memory; b stays usable (empty, same max). Accepts NULL. */
void buf_free(struct buf *b);

#endif

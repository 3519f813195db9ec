#include "base/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

#define MIN_CAP 256

void buf_init(struct buf *b, size_t max)
{
    *b = BUF_INIT(max);
}

/* Grow so that n more bytes and the NUL fit; doubling, capped at max + 1. */
static int grow(struct buf *b, size_t n)
{
    if (b->toobig || n > b->max - b->len) {
        b->toobig = true;
        return ERR_TOOBIG;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1)
        cap = b->max + 1;
    b->data = mem_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    int rc = grow(b, n);
    if (rc == 0 && b->len == 0)
        b->data[0] = '\0';
    return rc;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc = grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc = ERR_INVAL;
    if (n < 0)
        goto out;
    if ((size_t)n < sizeof small) {
        rc = buf_append(b, small, (size_t)n);
        goto out;
    }
    rc = grow(b, (size_t)n);
    if (rc)
        goto out;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    b->len += (size_t)n;
out:
    va_end(again);
    return rc;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *buf_str(const struct buf *b)
{
    return b->data ? b->data : "";
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    b->toobig = false;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    buf_init(b, b->max);
}

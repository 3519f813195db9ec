#include "base/mem.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *p, size_t n)
{
    if (p == NULL && n != 0) {
        fprintf(stderr, "fatal: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void mem_policy(void)
{
    mallopt(M_MMAP_THRESHOLD, (int)MEM_MAP_MIN);
    mallopt(M_TRIM_THRESHOLD, (int)MEM_TRIM_MIN);
}

void *mem_alloc(size_t n)
{
    return check(malloc(n ? n : 1), n ? n : 1);
}

void *mem_zalloc(size_t n)
{
    return check(calloc(1, n ? n : 1), n ? n : 1);
}

void *mem_realloc(void *p, size_t n)
{
    return check(realloc(p, n ? n : 1), n ? n : 1);
}

void *mem_check(void *p, const char *what)
{
    if (p == NULL) {
        fprintf(stderr, "fatal: out of memory: %s\n", what);
        abort();
    }
    return p;
}

char *mem_strdup(const char *s)
{
    return s ? mem_strndup(s, strlen(s)) : NULL;
}

char *mem_strndup(const char *s, size_t n)
{
    char *d = mem_alloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

#include "base/arena.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/mem.h"

#define CHUNK_MIN ((size_t)64 << 10)

struct chunk {
    struct chunk *next;
    size_t size, used;
    max_align_t data[]; /* aligned for anything */
};

/* A thread's arena: its chunks, the newest first. Found through a key whose
 * destructor frees it when the thread ends. */
struct arena {
    struct chunk *chunks;
    bool open;
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void drop(struct chunk *c)
{
    for (struct chunk *next; c; c = next) {
        next = c->next;
        free(c);
    }
}

static void destroy(void *p)
{
    struct arena *a = p;
    drop(a->chunks);
    free(a);
}

static void make_key(void)
{
    pthread_key_create(&key, destroy);
}

static struct arena *mine(void)
{
    pthread_once(&once, make_key);
    struct arena *a = pthread_getspecific(key);
    if (!a) {
        a = mem_zalloc(sizeof *a);
        pthread_setspecific(key, a);
    }
    return a;
}

static bool inside(const struct arena *a, const void *p)
{
    for (const struct chunk *c = a->chunks; c; c = c->next) {
        const char *d = (const char *)c->data;
        if ((const char *)p >= d && (const char *)p < d + c->size)
            return true;
    }
    return false;
}

static void *arena_malloc(size_t n)
{
    struct arena *a = pthread_getspecific(key);
    if (!a || !a->open)
        return mem_alloc(n);
    n = (n + 15) & ~(size_t)15;
    struct chunk *c = a->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = c && 2 * c->size > CHUNK_MIN ? 2 * c->size : CHUNK_MIN;
        if (size < n)
            size = n;
        c = mem_alloc(sizeof *c + size);
        c->size = size;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void arena_free(void *p)
{
    struct arena *a = pthread_getspecific(key);
    if (p && !(a && a->open && inside(a, p)))
        free(p);
}

void arena_json_delete(void *json)
{
    pthread_once(&once, make_key); /* callers need not have installed the hooks */
    struct arena *a = pthread_getspecific(key);
    if (!(a && a->open && inside(a, json)))
        cJSON_Delete(json);
}

void arena_install(void)
{
    pthread_once(&once, make_key);
    cJSON_Hooks h = {arena_malloc, arena_free};
    cJSON_InitHooks(&h);
}

void arena_open(void)
{
    mine()->open = true;
}

void arena_close(void)
{
    struct arena *a = mine();
    struct chunk *keep = NULL, *rest = NULL;
    a->open = false;
    /* Keep the first chunk no larger than ARENA_KEEP, emptied. */
    for (struct chunk *c = a->chunks, *next; c; c = next) {
        next = c->next;
        if (!keep && c->size <= ARENA_KEEP) {
            keep = c;
        } else {
            c->next = rest;
            rest = c;
        }
    }
    drop(rest);
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->chunks = keep;
}

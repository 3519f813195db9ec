#include "base/hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/mem.h"

struct slot {
    const char *key; /* NULL = empty */
    uint64_t hash;
    void *val;
};

struct hmap {
    struct slot *s;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t hash_str(const char *k)
{
    uint64_t h = hash_fnv_str(HASH_FNV_INIT, k);
    return h ^ (h >> 29);
}

struct hmap *hmap_create(void)
{
    struct hmap *m = mem_zalloc(sizeof *m);
    m->cap = 16;
    m->s = mem_zalloc(m->cap * sizeof *m->s);
    return m;
}

void hmap_destroy(struct hmap *m)
{
    if (!m)
        return;
    free(m->s);
    free(m);
}

static size_t find(const struct hmap *m, const char *key, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->s[i].key && (m->s[i].hash != h || strcmp(m->s[i].key, key) != 0))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void grow(struct hmap *m)
{
    struct slot *old = m->s;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->s = mem_zalloc(m->cap * sizeof *m->s);
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key)
            continue;
        size_t j = old[i].hash & (m->cap - 1);
        while (m->s[j].key)
            j = (j + 1) & (m->cap - 1);
        m->s[j] = old[i];
    }
    free(old);
}

void *hmap_get(const struct hmap *m, const char *key)
{
    if (!key)
        return NULL;
    return m->s[find(m, key, hash_str(key))].val;
}

/* hmap_get_many's look-ahead: a key's slot is fetched AHEAD look-ups
 * before its own, its key string (the string compare's) half as many. */
#define AHEAD 16

void hmap_get_many(const struct hmap *m, const char *const *keys, size_t n, void **vals)
{
    uint64_t h[AHEAD]; /* of keys i - AHEAD .. i - 1, key j's at j % AHEAD */
    for (size_t i = 0; i < n + AHEAD; i++) {
        size_t k = i - AHEAD; /* looked up now, its place in h then reused */
        if (i >= AHEAD)
            vals[k] = keys[k] ? m->s[find(m, keys[k], h[k % AHEAD])].val : NULL;
        k = i - AHEAD / 2;
        if (i >= AHEAD / 2 && k < n)
            __builtin_prefetch(m->s[h[k % AHEAD] & (m->cap - 1)].key);
        if (i < n) {
            h[i % AHEAD] = keys[i] ? hash_str(keys[i]) : 0;
            __builtin_prefetch(&m->s[h[i % AHEAD] & (m->cap - 1)]);
        }
    }
}

void *hmap_put(struct hmap *m, const char *key, void *val)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = hash_str(key);
    size_t i = find(m, key, h);
    void *old = m->s[i].val;
    if (!m->s[i].key)
        m->n++;
    m->s[i] = (struct slot){key, h, val};
    return old;
}

void *hmap_del(struct hmap *m, const char *key)
{
    if (!key)
        return NULL;
    size_t i = find(m, key, hash_str(key));
    if (!m->s[i].key)
        return NULL;
    void *old = m->s[i].val;
    /* Backward shift: pull later entries of the run into the hole. */
    size_t j = i;
    for (;;) {
        m->s[i].key = NULL;
        m->s[i].val = NULL;
        for (;;) {
            j = (j + 1) & (m->cap - 1);
            if (!m->s[j].key)
                goto out;
            size_t home = m->s[j].hash & (m->cap - 1);
            /* Move j to i unless its home lies cyclically in (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        m->s[i] = m->s[j];
        i = j;
    }
out:
    m->n--;
    return old;
}

size_t hmap_count(const struct hmap *m)
{
    return m->n;
}

bool hmap_next(const struct hmap *m, size_t *it, const char **key, void **val)
{
    while (*it < m->cap) {
        const struct slot *s = &m->s[(*it)++];
        if (s->key) {
            *key = s->key;
            *val = s->val;
            return true;
        }
    }
    return false;
}

/* hmap: string-keyed hash map (open addressing, linear probing, backward
 * shift deletion). Keys are borrowed: each must stay valid and unchanged
 * while its entry is in the map (store the key inside the value). Not
 * thread-safe: the owner's lock covers it. */
#ifndef VS_HMAP_H
#define VS_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

/* Returns a new empty map; free with hmap_destroy (values are not freed). */
struct hmap *hmap_create(void);
void hmap_destroy(struct hmap *m);
/* The value under key, or NULL (also for a NULL key). */
void *hmap_get(const struct hmap *m, const char *key);
/* vals[i] = hmap_get(m, keys[i]) for i < n, each key's slot and stored
 * key fetched from memory while earlier keys are looked up: a batch of
 * look-ups in a map larger than the caches waits on memory once per batch
 * rather than once per key. */
void hmap_get_many(const struct hmap *m, const char *const *keys, size_t n, void **vals);
/* Insert or replace; returns the value replaced, or NULL. key must not be
 * NULL (callers check what they take from the network). */
void *hmap_put(struct hmap *m, const char *key, void *val);
/* Remove; returns the value removed, or NULL (also for a NULL key). */
void *hmap_del(struct hmap *m, const char *key);
size_t hmap_count(const struct hmap *m);
/* Iterate: start with *it = 0; returns false at the end. The map must not
 * change during an iteration. */
bool hmap_next(const struct hmap *m, size_t *it, const char **key, void **val);

#endif

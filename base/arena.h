/* arena: per-request memory for cJSON (h2o's pool, in effect).
 *
 * Parsing an extender request with 5,000 node names makes about 10,000
 * small allocations; freeing them one by one cost a third of the server's
 * time. Once arena_install() has run, cJSON allocates from the calling
 * thread's arena while one is open, and cJSON's frees of arena memory do
 * nothing: arena_close() releases it all at once. Outside an open arena
 * cJSON uses malloc and free as usual.
 *
 * Rule: nothing allocated by cJSON inside an open arena may outlive
 * arena_close() (copy what must stay). Each thread has its own arena (the
 * one piece of per-thread state here); it keeps up to ARENA_KEEP bytes for
 * the next request. */
#ifndef VS_ARENA_H
#define VS_ARENA_H

#include <stddef.h>

#define ARENA_KEEP ((size_t)8 << 20)

/* Route cJSON's allocations through the arenas. Once, before threads. */
void arena_install(void);
/* Open this thread's arena (nesting is not supported). */
void arena_open(void);
/* Release everything cJSON allocated since arena_open. */
void arena_close(void);
/* cJSON_Delete, except when this thread's arena is open: then the tree goes
 * with the arena, and walking it to free nothing is skipped. */
void arena_json_delete(void *json);

#endif

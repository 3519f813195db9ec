/* init: what every binary and test runs first.
 *
 * Sets the allocator's policy (mem_policy, base/mem.h) and installs
 * cJSON's allocation hooks (base/arena.h: per-request arenas, plain malloc
 * outside one), so the whole process allocates the same way whatever its
 * entry point. Call it once from main (or from the test
 * runner) before any thread starts; later calls do nothing. */
#ifndef VS_INIT_H
#define VS_INIT_H

void base_init(void);

#endif

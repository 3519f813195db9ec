/* init: what every binary and test runs first.
 *
 * Installs cJSON's allocation hooks (base/arena.h: per-request arenas,
 * plain malloc outside one), so the whole process allocates JSON the same
 * way whatever its entry point. Call it once from main (or from the test
 * runner) before any thread starts; later calls do nothing. */
#ifndef VS_INIT_H
#define VS_INIT_H

void base_init(void);

#endif

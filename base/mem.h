/* mem: allocation with the project's one out-of-memory policy.
 *
 * The service runs as a pod that Kubernetes restarts, and a restart loses
 * nothing (usage is rebuilt from pods). So running out of memory is not
 * handled locally: these functions print one line to stderr and abort().
 * Every allocation in the project goes through them. */
#ifndef VS_MEM_H
#define VS_MEM_H

#include <stddef.h>

/* Blocks of MEM_MAP_MIN bytes and more are mapped on their own and given
 * back to the system when freed. glibc's default raises that threshold to
 * the size of the first such block freed, after which every block up to
 * 32 MiB comes from the heap of the thread that asked and stays resident
 * when freed: a /metrics answer of a few MiB (200 nodes: 3.6 MB; it grows
 * with the GPUs) then stayed in each worker thread's heap after it was
 * sent. 1 MiB is above a filter's arrays at 5,000 nodes (the verdicts take
 * 280 KB), which would otherwise be mapped and faulted in on every filter.
 * Setting that threshold also fixes the trim threshold at glibc's 128 KiB:
 * a heap whose free top passed it was shrunk after each filter (the
 * candidates' 200 KB at 5,000 nodes, the reasons' text), and grown and
 * faulted in again by the next (a tenth of a production-mix replay's time,
 * the shrink a TLB shootdown on every core). So a heap keeps up to
 * MEM_TRIM_MIN free at its top. Called by base_init, before any thread
 * starts. */
#define MEM_MAP_MIN  ((size_t)1 << 20)
#define MEM_TRIM_MIN ((size_t)4 << 20)
void mem_policy(void);

/* Return new memory; caller frees with free(). Never return NULL. */
void *mem_alloc(size_t n);
void *mem_zalloc(size_t n);
void *mem_realloc(void *p, size_t n);
/* Return a new copy of s (NULL for NULL); caller frees. */
char *mem_strdup(const char *s);
/* Return a new NUL-terminated copy of the first n bytes of s; caller frees. */
char *mem_strndup(const char *s, size_t n);
/* For what a library allocated (cJSON, curl): return p; when p is NULL,
 * print "fatal: out of memory: <what>" and abort. */
void *mem_check(void *p, const char *what);

#endif

/* hash: the project's one string hash (FNV-1a, 64 bit) and one integer
 * mixer (the splitmix64 finalizer). Not for anything an attacker could use
 * to pick collisions on purpose where that matters: the hash map bounds its
 * chains by resizing, the memo keys are verified. */
#ifndef VS_HASH_H
#define VS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HASH_FNV_INIT 1469598103934665603ULL

/* Continue an FNV-1a hash h over n bytes at p. */
static inline uint64_t hash_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

/* Continue h over the string s, its NUL excluded ("" for NULL). */
static inline uint64_t hash_fnv_str(uint64_t h, const char *s)
{
    return s ? hash_fnv(h, s, strlen(s)) : h;
}

/* Spread the bits of x (splitmix64's finalizer): equal in, equal out. */
static inline uint64_t hash_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

#endif

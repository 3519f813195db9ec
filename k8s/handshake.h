/* handshake: HAMi's node handshake and node health (hami-protocol.md 1.3).
 * Pure: no I/O, no clock (the caller passes the time).
 *
 * The scheduler writes the backend's handshake annotation (NVIDIA's is
 * hami.io/node-handshake): Requesting_<YYYY-MM-DD HH:MM:SS> (local time, as
 * HAMi's scheduler does) when the value does not contain "Requesting". A
 * "Requesting" value younger than 60 s means healthy; older, healthy only
 * while the node's allocatable device count (status.allocatable of its
 * backend's count resource, nvidia.com/gpu for NVIDIA) is > 0. Any other
 * value (none, "Reported <time>" from old plugins, "Deleted_<time>" from old
 * schedulers) is replaced by a fresh request and the node counts as healthy:
 * a stale Deleted_ never blocks a node whose plugin is alive (the fix of HAMi
 * #1839). A "Requesting" value without a readable time counts as healthy, as
 * HAMi does. */
#ifndef VS_HANDSHAKE_H
#define VS_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HANDSHAKE_EXPIRY_S   60.0
#define HANDSHAKE_REQUESTING "Requesting"

struct handshake_verdict {
    bool healthy; /* false: the node's devices leave the inventory */
    bool write;   /* write a fresh Requesting_<now> */
    double until; /* > 0: the verdict changes at this unix time unless the
                     node changes first (a fresh request with nothing
                     allocatable); look again then */
};

/* The verdict for a node with handshake value (NULL: none) and
 * allocatable GPUs alloc_gpus, at unix time now. */
void handshake_check(const char *value, int64_t alloc_gpus, double now,
                     struct handshake_verdict *out);

/* Write "Requesting_<local time of now>" into buf (cap >= 32). */
void handshake_value(double now, char *buf, size_t cap);

#endif

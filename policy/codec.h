/* codec: HAMi's pod device annotation (hami.io/vgpu-devices-allocated and
 * ...-to-allocate), encoded and decoded exactly, and the usage a decoded pod
 * puts on a node (the init/app collapse rule, hami-protocol.md 3.1).
 * Pure: no allocation, no I/O. */
#ifndef VS_CODEC_H
#define VS_CODEC_H

#include "policy/policy.h"

/* One device of one container, as written in the annotation. */
struct codec_entry {
    const char *uuid; /* borrowed from the decoded string, NOT NUL-terminated */
    uint16_t uuid_len;
    uint16_t ctr; /* container index: init containers first */
    int32_t cores;
    int64_t mem; /* MiB */
};

/* A whole decoded annotation. */
struct codec_devices {
    int32_t nctr; /* container entries, the empty trailing one excluded */
    int32_t n;
    struct codec_entry e[POLICY_MAX_PICKS];
};

/* Encode a placement: containers in pod order, each device
 * "UUID,<vendor word>,<mem>,<cores>:" (the device's backend's word, e.g.
 * NVIDIA), each container closed by ";". Writes a
 * NUL-terminated string into buf. Returns its length, or ERR_TOOBIG. */
int codec_encode(const struct policy_pod *pod, const struct policy_node *node,
                 const struct policy_placement *pl, char *buf, size_t cap);

/* Decode an annotation value. Entries borrow from s, which must outlive
 * out. Returns 0, or ERR_INVAL / ERR_TOOBIG / ERR_RANGE with detail in err.
 * ERR_RANGE: a value outside 0..INT32_MAX, or the cores (or memory) of all
 * entries adding up past INT32_MAX (err names the sum). */
int codec_decode(const char *s, struct codec_devices *out, char *err, size_t cap);

/* The usage a decoded pod with `ninit` init containers puts on `node`: per
 * device, memory and cores = max(peak of init containers, sum of app
 * containers), slots = app containers on it (at least 1). Writes node->ndev
 * entries into out (zeroed first); cores are capped at INT32_MAX. An entry
 * naming a MIG instance of a card ("GPU-x[1-0]", policy_device_card_len)
 * counts on that card. Returns how many entries named a UUID the node does
 * not have (those are skipped; the caller decides what they count). */
int codec_usage(const struct policy_node *node, const struct codec_devices *d, int32_t ninit,
                struct policy_usage *out);

#endif

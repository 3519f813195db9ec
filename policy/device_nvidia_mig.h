/* device_nvidia_mig: NVIDIA MIG as HAMi's scheduler does it (v2.10,
 * pkg/device/nvidia/device.go and mig_*.go): a card registered with mode
 * "mig" and migProfiles is cut into instances; a request takes the smallest
 * profile whose memory covers it that still has a free placement, at the
 * placement HAMi prefers; the instance's profile and placement are written in
 * hami.io/vgpu-mig-allocations for the device plugin to create.
 *
 * Occupancy of a card lives in struct policy_usage .mig, one word: a 7-bit
 * counter per slice (instances of known placement holding it, slice i at
 * bits 7i..7i+6) and the count of such instances in bits 56..63. Words add
 * and subtract field by field as long as no field passes its width, which
 * the decoder keeps to (POLICY_MIG_FIELD_MAX). Pure: no I/O, no clock. */
#ifndef VS_DEVICE_NVIDIA_MIG_H
#define VS_DEVICE_NVIDIA_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define POLICY_MIG_ANN_ALLOCATIONS "hami.io/vgpu-mig-allocations"
#define POLICY_MIG_MODE            "mig"

/* Is d a card in MIG mode (mode exactly "mig")? Inline: the fit asks it of
 * every device of every node. */
static inline bool policy_mig_card(const struct policy_device *d)
{
    const char *m = d->mode;
    return m && m[0] == 'm' && m[1] == 'i' && m[2] == 'g' && m[3] == '\0';
}

#define POLICY_MIG_ONE       (UINT64_C(1) << 56) /* one instance of known placement */
#define POLICY_MIG_FIELD_MAX 100                 /* a field never passes this */

/* The slice counters one instance at [start, start+size) holds (0 when the
 * range leaves the card's POLICY_MIG_SLICES). */
uint64_t policy_mig_slices(int start, int size);

/* What one instance at [start, start+size) adds to a usage's .mig: its
 * slices and one to the count; 0 when the range leaves the card. */
uint64_t policy_mig_instance(int start, int size);

/* How many instances of known placement .mig holds. */
static inline int policy_mig_known(uint64_t mig)
{
    return (int)(mig >> 56);
}

/* Field by field, the larger of two .mig values (init containers' peak). */
uint64_t policy_mig_max(uint64_t a, uint64_t b);

/* The size of profile p's placement starting at start; 0 if none. */
int policy_mig_size(const struct policy_mig_profile *p, int start);

/* HAMi's choice for an instance of at least mem MiB on card d whose slices
 * are held as .mig says: profiles by memory, then slice count, ascending;
 * the first whose memory covers mem and that has a placement overlapping no
 * held slice, tried highest start first for 1g and 3g profiles and lowest
 * first for the others. Returns the profile's index in d->mig and sets
 * *start, or -1 when none fits (CardMigTopologyInfeasible). */
int policy_mig_choose(const struct policy_device *d, uint64_t held, int64_t mem, int *start);

/* HAMi's hami.io/vgpu-mig-allocations for placement pl of pod on node:
 * [{"containerIndex","deviceIndex","gpuUUID","profile","placement":{"start",
 * "size"}}] for each MIG pick, deviceIndex counting the container's devices.
 * Writes a NUL-terminated string into buf; returns its length, 0 when no
 * pick is a MIG instance (buf is then ""), or ERR_TOOBIG. */
int policy_mig_encode(const struct policy_pod *pod, const struct policy_node *node,
                      const struct policy_placement *pl, char *buf, size_t cap);

/* Add the instances a pod's hami.io/vgpu-mig-allocations value names to the
 * usage of node's MIG cards (out: node->ndev entries, as codec_usage built
 * them): each one's policy_mig_instance to .mig. Instances naming a
 * card the node does not have, or not in MIG mode, or a placement its
 * profile does not list, add nothing. Returns how many added nothing, or
 * ERR_INVAL/ERR_TOOBIG with the reason in err for a value that is not such
 * a JSON array. */
int policy_mig_usage(const struct policy_node *node, const char *value, struct policy_usage *out,
                     char *err, size_t cap);

#endif

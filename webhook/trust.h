/* trust: who may write a pod's accounting annotations.
 *
 * The scheduler and the device plugin record a pod's GPUs in annotations
 * (and one label) that the scheduler's cache counts as used GPUs:
 *
 *   annotations hami.io/vgpu-node, hami.io/vgpu-time,
 *               hami.io/vgpu-devices-to-allocate,
 *               hami.io/vgpu-devices-allocated, hami.io/bind-phase,
 *               hami.io/bind-time, hami.io/vgpu-mig-allocations
 *   label       hami.io/vgpu-node
 *
 * A pod owner who could write them could fill a node's GPUs with a pod that
 * asks for none, or free the GPUs of a running pod. So only the users of a
 * list (--trusted-annotation-writers: kube-apiserver's userInfo.username,
 * e.g. "system:serviceaccount:vgpu-system:vgpu-scheduler") may set, change
 * or remove them. On a pod's creation none may be present unless a trusted
 * user creates it; on an update the keys are compared with the old object,
 * so an owner may edit any other label or annotation of a placed pod. The
 * steering annotations (hami.io/node-scheduler-policy,
 * hami.io/gpu-scheduler-policy, hami.io/device-scoring-weights,
 * nvidia.com/...) are not in the list: anyone may write them.
 *
 * The list also says whose pods keep their own GPU visibility variables
 * (webhook.h): a pod that runs as a trusted service account, e.g. the device
 * plugin's DaemonSet, which needs NVIDIA_VISIBLE_DEVICES=all.
 *
 * Immutable after creation: safe to read from many threads. */
#ifndef VS_WEBHOOK_TRUST_H
#define VS_WEBHOOK_TRUST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define WEBHOOK_TRUST_MAX      32  /* users in the list */
#define WEBHOOK_TRUST_USER_MAX 256 /* bytes of one username */

struct webhook_trust;

/* Check a comma list of usernames (spaces around names ignored): 1 to
 * WEBHOOK_TRUST_MAX names of 1 to WEBHOOK_TRUST_USER_MAX - 1 printable,
 * non-space bytes. Returns 0, or ERR_INVAL / ERR_TOOBIG with one line in err.
 * Has the signature of a config check. */
int webhook_trust_validate(const char *list, char *err, size_t cap);

/* The users of list (as webhook_trust_validate accepts; a bad entry is
 * skipped). NULL or "": nobody. Free with webhook_trust_destroy. */
struct webhook_trust *webhook_trust_create(const char *list);
/* Accepts NULL. */
void webhook_trust_destroy(struct webhook_trust *t);

/* Whether user (NULL: nobody) is in the list. */
bool webhook_trust_has(const struct webhook_trust *t, const char *user);

/* Whether user may make the change from old (NULL: the pod is being
 * created) to pod, as far as the accounting keys go. When not, a message
 * for the person (which key, what was done, who may) goes into msg. */
bool webhook_trust_allows(const struct webhook_trust *t, const char *user, const cJSON *pod,
                          const cJSON *old, char *msg, size_t cap);

#endif

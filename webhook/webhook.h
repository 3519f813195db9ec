/* webhook: kube-apiserver's mutating admission review, POST /webhook.
 *
 * Takes an AdmissionReview (admission.k8s.io/v1 or v1beta1) and answers one
 * in the same version with the request's uid. The pod rules are pod.h's;
 * the changes go back as a base64 JSON Patch (patchType JSONPatch), a denial
 * as allowed false with a Status (code 403 for a rule, 400 for a request
 * that cannot be read) whose message says what to change, and warnings for
 * annotations the scheduler will refuse.
 *
 * What is reviewed (manifests/base/webhook.yaml sends exactly these):
 *   - CREATE of a Pod: the accounting keys (trust.h), then pod.h's rules:
 *     routing, HAMi's defaults, denials, GPU visibility; then, for a GPU
 *     pod of ours once the cache is ready, HAMi's quota check
 *     (cache_quota_admits: "exceeding resource quota", 403);
 *   - UPDATE of a Pod: only the accounting keys, compared with oldObject.
 *     Allowed or denied, never patched: spec.schedulerName and the
 *     containers cannot change after the creation, so a patch would fail
 *     the update;
 *   - UPDATE of its ephemeralcontainers subresource: the new ephemeral
 *     containers (pod.h); the one patch an update can get, on them only.
 * Anything else (another kind, operation or subresource) is allowed
 * untouched: refusing it would block work that is not ours.
 *
 * GPU visibility is not changed in the pods that run as a trusted service
 * account (system:serviceaccount:<namespace>:<spec.serviceAccountName>, in
 * trusted_writers): the device plugin's own DaemonSet needs every GPU, and
 * only who may create pods in its namespace can run one as it.
 *
 * A body that is not an AdmissionReview with a request and a uid gets HTTP
 * 400 with one line of text, not a review: without a uid no answer can be
 * valid, and kube-apiserver treats a non-200 as a failed call, so the
 * webhook's failurePolicy decides and its log shows our text. (Only a
 * misconfigured client sends such a body; kube-apiserver never does.)
 *
 * The largest GPU (for the memory rule) comes from the cache, read at most
 * once a second, and only once the cache is ready: before that, unknown.
 *
 * Thread-safe: reviews may run on many threads at once. */
#ifndef VS_WEBHOOK_H
#define VS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/cache.h"

#define WEBHOOK_UID_MAX 128 /* bytes of a request uid */

struct webhook_opts {
    const char *scheduler_name;   /* copied */
    bool force_overwrite_default; /* HAMi's --force-overwrite-default-scheduler */
    bool overwrite_env;           /* HAMi's overwriteEnv: NVIDIA_VISIBLE_DEVICES=none (pod.h) */
    /* Comma list of the usernames that may write the accounting annotations
     * (trust.h); copied. NULL or "": nobody. */
    const char *trusted_writers;
    /* HAMi's webhook options (pod.h), from its device config or our flags. */
    const char *runtime_class; /* runtimeClassName; NULL or "": none; copied */
    const char *core_policy;   /* gpuCorePolicy: NULL, "", default, force, disable; copied */
    int default_gpu;           /* as webhook_pod_opts.default_gpu */
};

/* What a review came to, for metrics and logs. */
enum webhook_result {
    WEBHOOK_ALLOWED,    /* allowed, nothing to change */
    WEBHOOK_PATCHED,    /* allowed with a patch */
    WEBHOOK_DENIED,     /* allowed false */
    WEBHOOK_BAD_REQUEST /* HTTP 400: not a review */
};

struct webhook;

/* A new webhook. cache is borrowed (may be NULL: the largest GPU is then
 * unknown) and must outlive it. Free with webhook_destroy. */
struct webhook *webhook_create(const struct webhook_opts *o, struct cache *cache);
/* Accepts NULL. */
void webhook_destroy(struct webhook *w);

/* A runtimeClassName (a DNS subdomain) or gpuCorePolicy, NUL included. */
#define WEBHOOK_OPT_MAX 256

/* Swap HAMi's webhook options (webhook_opts' runtime_class, core_policy,
 * default_gpu; copied, cut at WEBHOOK_OPT_MAX) at once: a review in flight
 * keeps the set it took. For a device config reload. */
void webhook_set_options(struct webhook *w, const char *runtime_class, const char *core_policy,
                         int default_gpu);

/* Answer the review in body (len bytes). Returns the HTTP status: 200 with
 * the AdmissionReview answer as JSON in *out, or 400 with one line of text.
 * *out is new; caller frees. result may be NULL. */
int webhook_review_handle(struct webhook *w, const char *body, size_t len, char **out,
                          enum webhook_result *result);

#endif

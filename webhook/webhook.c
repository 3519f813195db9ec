/* webhook.c: AdmissionReview in, AdmissionReview out. */
#include "base/clock.h"
#include "webhook/webhook.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "policy/device.h"
#include "webhook/patch.h"
#include "webhook/pod.h"
#include "webhook/trust.h"

#define API_V1      "admission.k8s.io/v1"
#define API_V1BETA1 "admission.k8s.io/v1beta1"
#define REVIEW      "AdmissionReview"
#define MAX_MEM_TTL 1.0 /* seconds the largest GPU size is reused */
#define NAME_SHOW   128 /* bytes of a pod name in a log line */
#define SA_PREFIX   "system:serviceaccount:"

struct webhook {
    char *scheduler_name;
    bool force;
    bool overwrite_env;
    /* HAMi's webhook options; "" = none. A reload swaps them
     * (webhook_set_options) under lock; a review copies them once. */
    char runtime_class[WEBHOOK_OPT_MAX], core_policy[WEBHOOK_OPT_MAX];
    int default_gpu;
    struct webhook_trust *trust;
    struct cache *cache; /* borrowed */
    /* The largest GPU, read from the cache at most once a second. Guarded
     * by lock (held for the copy only; cache_stats runs outside it). */
    pthread_mutex_t lock;
    double max_mem_at; /* monotonic seconds; 0 = never */
    int64_t max_mem;
};

struct webhook *webhook_create(const struct webhook_opts *o, struct cache *cache)
{
    struct webhook *w = mem_zalloc(sizeof *w);
    w->scheduler_name = mem_strdup(o->scheduler_name);
    w->force = o->force_overwrite_default;
    w->overwrite_env = o->overwrite_env;
    w->trust = webhook_trust_create(o->trusted_writers);
    w->cache = cache;
    pthread_mutex_init(&w->lock, NULL);
    webhook_set_options(w, o->runtime_class, o->core_policy, o->default_gpu);
    return w;
}

void webhook_set_options(struct webhook *w, const char *runtime_class, const char *core_policy,
                         int default_gpu)
{
    pthread_mutex_lock(&w->lock);
    snprintf(w->runtime_class, sizeof w->runtime_class, "%s", runtime_class ? runtime_class : "");
    snprintf(w->core_policy, sizeof w->core_policy, "%s", core_policy ? core_policy : "");
    w->default_gpu = default_gpu;
    pthread_mutex_unlock(&w->lock);
}

void webhook_destroy(struct webhook *w)
{
    if (w == NULL)
        return;
    pthread_mutex_destroy(&w->lock);
    webhook_trust_destroy(w->trust);
    free(w->scheduler_name);
    free(w);
}

/* MiB of the largest healthy GPU; 0 = unknown (no cache, not synced). */
static int64_t max_gpu_mem(void *ctx)
{
    struct webhook *w = ctx;
    if (w->cache == NULL || !cache_ready(w->cache))
        return 0;
    double now = clock_mono_s();
    pthread_mutex_lock(&w->lock);
    bool fresh = w->max_mem_at > 0 && now - w->max_mem_at < MAX_MEM_TTL;
    int64_t v = w->max_mem;
    pthread_mutex_unlock(&w->lock);
    if (fresh)
        return v;
    struct cache_stats st;
    cache_stats(w->cache, &st);
    pthread_mutex_lock(&w->lock);
    w->max_mem = st.max_gpu_mem;
    w->max_mem_at = now;
    pthread_mutex_unlock(&w->lock);
    return st.max_gpu_mem;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *obj(const cJSON *o, const char *k)
{
    cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsObject(v) ? v : NULL;
}

/* One line of text for an HTTP 400; new. The values it quotes come from
 * the request: control characters (a newline in a string) become '?', so
 * that kube-apiserver's log of it stays one line. */
__attribute__((format(printf, 1, 2))) static char *text(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    char *s = mem_alloc(n + 2);
    memcpy(s, line, n);
    s[n] = '\n';
    s[n + 1] = '\0';
    return s;
}

static char *print(cJSON *j)
{
    return mem_check(cJSON_PrintUnformatted(j), "webhook answer");
}

/* "ns/name" of the pod for logs (generateName + "*" before it has a name). */
static void pod_label(const cJSON *req, const cJSON *pod, char *buf, size_t cap)
{
    const cJSON *meta = obj(pod, "metadata");
    const char *ns = str(req, "namespace"), *name = str(meta, "name");
    const char *gen = str(meta, "generateName");
    if (!ns)
        ns = str(meta, "namespace");
    snprintf(buf, cap, "%.64s/%.*s%s", ns ? ns : "", NAME_SHOW,
             name && *name ? name
             : gen         ? gen
                           : "?",
             name && *name ? "" : "*");
}

/* The review answer: allowed (with the patch when it holds operations),
 * or denied with a Status. */
static char *answer(const char *api, const char *uid, const struct webhook_pod_verdict *v,
                    const struct webhook_patch *p)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "apiVersion", api);
    cJSON_AddStringToObject(r, "kind", REVIEW);
    cJSON *resp = cJSON_AddObjectToObject(r, "response");
    cJSON_AddStringToObject(resp, "uid", uid);
    bool denied = v && v->outcome == WEBHOOK_POD_DENIED;
    cJSON_AddBoolToObject(resp, "allowed", !denied);
    if (denied) {
        cJSON *st = cJSON_AddObjectToObject(resp, "status");
        cJSON_AddObjectToObject(st, "metadata");
        cJSON_AddStringToObject(st, "status", "Failure");
        cJSON_AddStringToObject(st, "message", v->message);
        cJSON_AddStringToObject(st, "reason", v->code == 400 ? "BadRequest" : "Forbidden");
        cJSON_AddNumberToObject(st, "code", v->code);
    } else if (p && webhook_patch_count(p) > 0) {
        char *json = webhook_patch_json(p);
        char *b64 = webhook_patch_base64(json, strlen(json));
        cJSON_AddStringToObject(resp, "patchType", "JSONPatch");
        cJSON_AddStringToObject(resp, "patch", b64);
        free(b64);
        free(json);
    }
    if (v && v->nwarn > 0) {
        cJSON *warns = cJSON_AddArrayToObject(resp, "warnings");
        for (int i = 0; i < v->nwarn; i++)
            cJSON_AddItemToArray(warns, cJSON_CreateString(v->warn[i]));
    }
    char *s = print(r);
    cJSON_Delete(r);
    return s;
}

/* What a review asks about. */
enum review { REVIEW_CREATE, REVIEW_UPDATE, REVIEW_EPHEMERAL, REVIEW_OTHER };
static const char *const review_names[] = {"creation", "update", "ephemeral containers", "other"};

/* A missing kind, resource or operation reads as a pod's creation (as
 * before the webhook reviewed anything else). */
static enum review review_kind(const char *rkind, const char *resource, const char *sub,
                               const char *op)
{
    if ((rkind && strcmp(rkind, "Pod") != 0) || (resource && strcmp(resource, "pods") != 0))
        return REVIEW_OTHER;
    bool update = op && strcmp(op, "UPDATE") == 0;
    if (sub && *sub)
        return update && strcmp(sub, "ephemeralcontainers") == 0 ? REVIEW_EPHEMERAL : REVIEW_OTHER;
    if (update)
        return REVIEW_UPDATE;
    return !op || strcmp(op, "CREATE") == 0 ? REVIEW_CREATE : REVIEW_OTHER;
}

/* Whether the pod runs as a trusted service account (trust.h): its own
 * visibility variables are then left alone. */
static bool runs_trusted(const struct webhook *w, const cJSON *req, const cJSON *pod)
{
    char user[WEBHOOK_TRUST_USER_MAX];
    const char *ns = str(req, "namespace"), *sa = str(obj(pod, "spec"), "serviceAccountName");
    if (!ns || !*ns)
        ns = str(obj(pod, "metadata"), "namespace");
    if (!ns || !*ns)
        return false;
    int n = snprintf(user, sizeof user, SA_PREFIX "%s:%s", ns, sa && *sa ? sa : "default");
    return n > 0 && (size_t)n < sizeof user && webhook_trust_has(w->trust, user);
}

/* HAMi's admission check of a GPU pod against its namespace's device
 * quotas (k8s/quota.h): what it asks (MiB written per GPU x GPUs, a
 * percentage counting 0 as in HAMi; cores x GPUs; sidecars and app
 * containers summed, a plain init container alone) on top of what the
 * namespace holds now. Denied (403) when over; not looked at before the
 * cache is ready. */
static void quota_admit(struct webhook *w, const cJSON *req, const cJSON *pod,
                        struct webhook_pod_verdict *v)
{
    char err[256], why[256];
    if (!w->cache || v->outcome != WEBHOOK_POD_ADMITTED || !cache_ready(w->cache))
        return;
    struct policy_pod *pp = mem_alloc(sizeof *pp);
    const struct policy_device_backend *b = NULL;
    int64_t app_mem = 0, app_cores = 0, init_mem = 0, init_cores = 0;
    if (model_pod_parse(pod, NULL, pp, err, sizeof err) == 0)
        b = policy_pod_backend(pp);
    for (int i = 0; b && i < pp->nctr; i++) {
        const struct policy_ctr *c = &pp->ctr[i];
        int64_t mem = (int64_t)c->nums * c->mem, cores = (int64_t)c->nums * c->cores;
        bool plain_init = i < pp->ninit && !c->sidecar;
        app_mem += plain_init ? 0 : mem;
        app_cores += plain_init ? 0 : cores;
        init_mem = plain_init && mem > init_mem ? mem : init_mem;
        init_cores = plain_init && cores > init_cores ? cores : init_cores;
    }
    const char *ns = str(req, "namespace");
    if (!ns || !*ns)
        ns = pp->ns;
    if (b && ns &&
        !cache_quota_admits(w->cache, ns, b, app_mem > init_mem ? app_mem : init_mem,
                            app_cores > init_cores ? app_cores : init_cores, why, sizeof why)) {
        v->outcome = WEBHOOK_POD_DENIED;
        v->code = 403;
        snprintf(v->message, sizeof v->message, "exceeding resource quota: %s", why);
    }
    free(pp);
}

/* The verdict on a pod review; changes go through p. An update is only
 * allowed or denied: spec.schedulerName and the containers cannot change
 * after the creation, so a patch would fail it. */
static void review_pod(struct webhook *w, enum review what, const cJSON *req, cJSON *pod,
                       struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    const char *user = str(obj(req, "userInfo"), "username");
    const cJSON *old = obj(req, "oldObject");
    char runtime_class[WEBHOOK_OPT_MAX], core_policy[WEBHOOK_OPT_MAX];
    pthread_mutex_lock(&w->lock); /* one set of options for the whole review */
    memcpy(runtime_class, w->runtime_class, sizeof runtime_class);
    memcpy(core_policy, w->core_policy, sizeof core_policy);
    int default_gpu = w->default_gpu;
    pthread_mutex_unlock(&w->lock);
    struct webhook_pod_opts po = {.scheduler_name = w->scheduler_name,
                                  .force_overwrite_default = w->force,
                                  .max_gpu_mem_fn = max_gpu_mem,
                                  .ctx = w,
                                  .overwrite_env = w->overwrite_env && !runs_trusted(w, req, pod),
                                  .runtime_class = runtime_class,
                                  .core_policy = core_policy,
                                  .default_gpu = default_gpu};
    v->outcome = WEBHOOK_POD_ADMITTED;
    switch (what) {
    case REVIEW_CREATE:
        if (!webhook_trust_allows(w->trust, user, pod, NULL, v->message, sizeof v->message))
            break;
        webhook_pod_admit(&po, pod, p, v);
        quota_admit(w, req, pod, v);
        return;
    case REVIEW_UPDATE:
        if (!webhook_trust_allows(w->trust, user, pod, old, v->message, sizeof v->message))
            break;
        return;
    case REVIEW_EPHEMERAL:
        webhook_pod_ephemeral(&po, pod, old, p, v);
        return;
    case REVIEW_OTHER:
        return;
    }
    v->outcome = WEBHOOK_POD_DENIED;
    v->code = 403;
}

int webhook_review_handle(struct webhook *w, const char *body, size_t len, char **out,
                          enum webhook_result *result)
{
    char who[NAME_SHOW + 80];
    enum webhook_result res = WEBHOOK_BAD_REQUEST;
    int status = 400;
    struct webhook_patch *p = NULL;
    struct webhook_pod_verdict v;
    cJSON *review = cJSON_ParseWithLength(body, len);

    *out = NULL;
    if (!cJSON_IsObject(review)) {
        *out = text("not an AdmissionReview: the body is not a JSON object");
        goto out;
    }
    const char *api = str(review, "apiVersion"), *kind = str(review, "kind");
    if (!kind || strcmp(kind, REVIEW) != 0) {
        *out = text("not an AdmissionReview: kind is \"%.64s\"", kind ? kind : "");
        goto out;
    }
    if (!api || (strcmp(api, API_V1) != 0 && strcmp(api, API_V1BETA1) != 0)) {
        *out = text("apiVersion \"%.64s\" is not %s or %s", api ? api : "", API_V1, API_V1BETA1);
        goto out;
    }
    cJSON *req = obj(review, "request");
    const char *uid = str(req, "uid");
    if (req == NULL) {
        *out = text("the AdmissionReview has no request");
        goto out;
    }
    if (!uid || !*uid || strlen(uid) > WEBHOOK_UID_MAX) {
        *out = text("the AdmissionReview's request has no uid (a string of 1..%d bytes)",
                    WEBHOOK_UID_MAX);
        goto out;
    }
    status = 200;

    const char *rkind = str(obj(req, "kind"), "kind"),
               *resource = str(obj(req, "resource"), "resource");
    const char *sub = str(req, "subResource"), *op = str(req, "operation");
    enum review what = review_kind(rkind, resource, sub, op);
    if (what == REVIEW_OTHER) {
        LOG_DEBUG("webhook: review %s of %s %s/%s: not ours, allowed as is", uid, op ? op : "?",
                  resource ? resource : "?", sub ? sub : "");
        res = WEBHOOK_ALLOWED;
        *out = answer(api, uid, NULL, NULL);
        goto out;
    }
    cJSON *pod = obj(req, "object");
    pod_label(req, pod, who, sizeof who);
    memset(&v, 0, sizeof v);
    if (pod == NULL) {
        v.outcome = WEBHOOK_POD_DENIED;
        v.code = 400;
        snprintf(v.message, sizeof v.message, "the review's request has no Pod object");
    } else {
        p = webhook_patch_create(pod);
        review_pod(w, what, req, pod, p, &v);
    }
    int nops = p ? webhook_patch_count(p) : 0;
    res = v.outcome == WEBHOOK_POD_DENIED ? WEBHOOK_DENIED
          : nops > 0                      ? WEBHOOK_PATCHED
                                          : WEBHOOK_ALLOWED;
    if (res == WEBHOOK_DENIED)
        LOG_INFO("webhook: %s of pod %s denied (%d): %s", review_names[what], who, v.code,
                 v.message);
    else if (v.nwarn == 0 && (what == REVIEW_UPDATE || v.outcome == WEBHOOK_POD_NOT_GPU))
        LOG_DEBUG("webhook: %s of pod %s allowed, %d changes", review_names[what], who, nops);
    else
        LOG_INFO("webhook: %s of pod %s allowed%s, %d changes, %d warnings", review_names[what],
                 who, v.outcome == WEBHOOK_POD_OTHER_SCHED ? " (another scheduler's)" : "", nops,
                 v.nwarn);
    *out = answer(api, uid, &v, res == WEBHOOK_PATCHED ? p : NULL);
out:
    webhook_patch_destroy(p);
    cJSON_Delete(review);
    if (result)
        *result = res;
    return status;
}

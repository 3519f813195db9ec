/* Admission reviews through the webhook (webhook/webhook.h) over a small
 * ready cache: every answer is a review (or one line of text for 400);
 * every JSON Patch it emits applies, by fuzz/jsonpatch.c (not the
 * webhook's own code), to the pod it reviewed; and a patched pod that
 * parsed before (model_pod_parse) still parses. */
#include <cjson/cJSON.h>
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "fuzz/jsonpatch.h"
#include "k8s/cache.h"
#include "k8s/kubeconfig.h"
#include "k8s/model.h"
#include "k8s/snapshot.h"
#include "webhook/webhook.h"

static struct webhook *hook;

static void setup(void)
{
    char err[512];
    size_t len;
    struct snapshot_stats st;
    struct cache *c = cache_create(); /* lives as long as the process */
    char *json = fuzz_data("cluster.json", &len);
    FUZZ_CHECK(snapshot_load_json(c, json, len, &st, err, sizeof err) == 0, "%s", err);
    free(json);
    cache_set_ready(c, true);
    struct webhook_opts o = {
        .scheduler_name = "vgpu-scheduler",
        .trusted_writers = "system:serviceaccount:kube-system:vgpu-scheduler",
        .default_gpu = 1,
    };
    hook = webhook_create(&o, c);
}

static void check_patch(const cJSON *req, const cJSON *resp)
{
    const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "patch"));
    if (!b64)
        return;
    FUZZ_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "allowed")),
               "a patch on a denial");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resp, "patchType"));
    FUZZ_CHECK(type && !strcmp(type, "JSONPatch"), "patchType %s", type ? type : "(none)");
    char *raw = NULL, err[512] = "", perr[512] = "";
    size_t len = 0;
    FUZZ_CHECK(kubeconfig_base64(b64, &raw, &len) == 0, "the patch is not base64");
    cJSON *patch = cJSON_ParseWithLength(raw, len);
    FUZZ_CHECK(cJSON_IsArray(patch) && cJSON_GetArraySize(patch) > 0, "the patch is not an array");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(req, "object");
    FUZZ_CHECK(cJSON_IsObject(obj), "a patch for a request without an object");
    struct policy_pod *before = calloc(2, sizeof *before);
    int rc_before = model_pod_parse(obj, NULL, &before[0], perr, sizeof perr);
    cJSON *doc = cJSON_Duplicate(obj, 1);
    int rc = jsonpatch_apply(&doc, patch, err, sizeof err);
    FUZZ_CHECK(rc == 0, "the webhook's patch does not apply: %s\npatch: %.*s", err, (int)len, raw);
    FUZZ_CHECK(cJSON_IsObject(doc), "the patched pod is not an object");
    int rc_after = model_pod_parse(doc, NULL, &before[1], err, sizeof err);
    FUZZ_CHECK(rc_before != 0 || rc_after == 0,
               "the pod parsed before the patch, not after: %s\npatch: %.*s", err, (int)len, raw);
    free(before);
    cJSON_Delete(doc);
    cJSON_Delete(patch);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (!hook)
        setup();
    if (size > (1u << 20))
        return 0;
    char *out = NULL;
    enum webhook_result res;
    int status = webhook_review_handle(hook, (const char *)data, size, &out, &res);
    FUZZ_CHECK(out, "no answer");
    if (status == 400) {
        FUZZ_CHECK(res == WEBHOOK_BAD_REQUEST, "400 with result %d", res);
        const char *nl = strchr(out, '\n');
        FUZZ_CHECK(out[0] && (!nl || !nl[1]), "the 400 answer is not one line: %s", out);
        free(out);
        return 0;
    }
    FUZZ_CHECK(status == 200, "status %d", status);
    cJSON *a = cJSON_Parse(out);
    FUZZ_CHECK(cJSON_IsObject(a), "the answer is not JSON");
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(a, "response");
    FUZZ_CHECK(cJSON_IsObject(resp), "no response");
    FUZZ_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(resp, "uid")), "no uid");
    FUZZ_CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(resp, "allowed")), "no allowed");
    FUZZ_CHECK((res == WEBHOOK_PATCHED) ==
                   (cJSON_GetObjectItemCaseSensitive(resp, "patch") != NULL),
               "result %d and the patch disagree", res);
    cJSON *review = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(review, "request");
    check_patch(req, resp);
    cJSON_Delete(review);
    cJSON_Delete(a);
    free(out);
    return 0;
}

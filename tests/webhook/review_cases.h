/* The admission reviews under tests/data/webhook/ and what the webhook must
 * answer, shared by the in-process suite (tests/webhook/test_review.c) and
 * the one over TLS (tests/e2e/test_tls.c). A case NAME reads NAME.json and,
 * when it expects a patch, compares the decoded patch with NAME.patch.json.
 * The largest GPU of tests/data/e2e/cluster.json is 40000 MiB. */
#ifndef VS_TEST_REVIEW_CASES_H
#define VS_TEST_REVIEW_CASES_H

#include <stdbool.h>

struct review_case {
    const char *name;
    int status;           /* HTTP */
    bool allowed;         /* when 200 */
    bool patch;           /* NAME.patch.json holds the expected patch */
    int code;             /* when denied: the Status code */
    const char *has;      /* a substring of the denial or of the 400 text */
    const char *warns[4]; /* substrings, one per expected warning, in order */
};

static const struct review_case review_cases[] = {
    /* allowed, patched */
    {"v1-gpu-mem", 200, true, true, 0, NULL, {NULL}},
    {"v1beta1-bare-gpu", 200, true, true, 0, NULL, {NULL}},
    {"v1-mem-only", 200, true, true, 0, NULL, {NULL}},
    {"v1-pct-100", 200, true, true, 0, NULL, {NULL}},
    {"v1beta1-cores-only", 200, true, true, 0, NULL, {NULL}},
    {"v1-pct-50", 200, true, true, 0, NULL, {NULL}},
    {"v1-init-and-sidecar", 200, true, true, 0, NULL, {NULL}},
    {"v1-no-scheduler-name", 200, true, true, 0, NULL, {NULL}},
    {"v1-limits-only", 200, true, true, 0, NULL, {NULL}},
    {"v1-priority", 200, true, true, 0, NULL, {NULL}},
    {"v1-priority-set", 200, true, true, 0, NULL, {NULL}},
    {"v1-mem-largest", 200, true, true, 0, NULL, {NULL}},
    /* the pod label hami.io/webhook=ignore is no opt-out: routed all the same */
    {"v1-labelled-ignore", 200, true, true, 0, NULL, {NULL}},
    /* a pod running as the device plugin's account keeps its variables, only in its namespace */
    {"v1-plugin-pod", 200, true, false, 0, NULL, {NULL}},
    {"v1-plugin-pod-elsewhere",
     200,
     true,
     true,
     0,
     NULL,
     {"container \"vgpu-monitor\": NVIDIA_VISIBLE_DEVICES \"all\" replaced"}},
    /* GPU visibility: none for containers without GPUs, the device plugin's for the others */
    {"v1-no-gpu", 200, true, true, 0, NULL, {NULL}},
    {"v1-no-gpu-env-all",
     200,
     true,
     true,
     0,
     NULL,
     {"container \"nginx\": NVIDIA_VISIBLE_DEVICES \"all\" replaced by \"none\""}},
    {"v1-gpu-env-set",
     200,
     true,
     true,
     0,
     NULL,
     {"container \"main\": NVIDIA_VISIBLE_DEVICES \"all\" removed",
      "container \"log\": NVIDIA_VISIBLE_DEVICES (valueFrom) replaced by \"none\""}},
    /* accounting annotations from the scheduler; steering ones from anyone */
    {"v1-trusted-create", 200, true, true, 0, NULL, {NULL}},
    {"v1-steering-create", 200, true, true, 0, NULL, {NULL}},
    /* a new debugging container on a GPU pod sees no GPU */
    {"v1-ephemeral-debug", 200, true, true, 0, NULL, {NULL}},
    {"v1-warnings",
     200,
     true,
     true,
     0,
     NULL,
     {"hami.io/node-scheduler-policy: unknown policy \"tightest\"",
      "hami.io/gpu-scheduler-policy: unknown GPU policy \"fastest\"",
      "hami.io/device-scoring-weights: \"slot=1\""}},
    /* allowed as they are */
    {"v1-ours-already", 200, true, false, 0, NULL, {NULL}},
    {"v1-other-scheduler", 200, true, false, 0, NULL, {NULL}},
    {"v1-update", 200, true, false, 0, NULL, {NULL}},
    {"v1-not-a-pod", 200, true, false, 0, NULL, {NULL}},
    {"v1-ephemeral", 200, true, false, 0, NULL, {NULL}},
    {"v1-ephemeral-plain-privileged", 200, true, false, 0, NULL, {NULL}},
    /* updates are allowed or denied, never patched */
    {"v1-update-owner-label", 200, true, false, 0, NULL, {NULL}},
    {"v1-update-plugin-bind-phase", 200, true, false, 0, NULL, {NULL}},
    {"v1-update-scheduler-places", 200, true, false, 0, NULL, {NULL}},
    /* denied */
    {"v1-privileged",
     200,
     false,
     false,
     403,
     "container \"debug\" is privileged and the pod asks for GPUs",
     {NULL}},
    {"v1-node-name", 200, false, false, 403, "spec.nodeName is already \"gpu-a\"", {NULL}},
    {"v1-pct-150",
     200,
     false,
     false,
     403,
     "nvidia.com/gpumem-percentage 150 is outside 0..100",
     {NULL}},
    {"v1beta1-pct-negative",
     200,
     false,
     false,
     403,
     "nvidia.com/gpumem-percentage -5 is outside 0..100",
     {NULL}},
    {"v1-cores-150", 200, false, false, 403, "nvidia.com/gpucores 150 is outside 0..100", {NULL}},
    {"v1-labelled-ignore-invalid",
     200,
     false,
     false,
     403,
     "nvidia.com/gpumem-percentage 150 is outside 0..100",
     {NULL}},
    {"v1-mem-too-big",
     200,
     false,
     false,
     403,
     "asks for 50000 MiB of memory per GPU (nvidia.com/gpumem), but the largest GPU in the "
     "cluster has 40000 MiB",
     {NULL}},
    {"v1-fractional-gpu",
     200,
     false,
     false,
     400,
     "nvidia.com/gpu \"1.5\" is not a whole number",
     {NULL}},
    {"v1-no-object", 200, false, false, 400, "has no Pod object", {NULL}},
    /* accounting annotations written by a pod owner */
    {"v1-forged-create",
     200,
     false,
     false,
     403,
     "annotation hami.io/vgpu-node is set by \"alice\": only the scheduler and the device plugin "
     "may write it",
     {NULL}},
    {"v1-forged-label",
     200,
     false,
     false,
     403,
     "label hami.io/vgpu-node is set by \"alice\"",
     {NULL}},
    {"v1-forged-mig",
     200,
     false,
     false,
     403,
     "annotation hami.io/vgpu-mig-allocations is set by \"alice\"",
     {NULL}},
    {"v1-forged-dcu",
     200,
     false,
     false,
     403,
     "annotation hami.io/dcu-devices-allocated is set by \"alice\"",
     {NULL}},
    {"v1-forged-ascend",
     200,
     false,
     false,
     403,
     "annotation huawei.com/Ascend910B3 is set by \"alice\"",
     {NULL}},
    {"v1-forged-mlu",
     200,
     false,
     false,
     403,
     "annotation CAMBRICON_DSMLU_PROFILE is set by \"alice\"",
     {NULL}},
    {"v1-update-owner-allocated",
     200,
     false,
     false,
     403,
     "annotation hami.io/vgpu-devices-allocated is changed by \"alice\"",
     {NULL}},
    {"v1-update-owner-removes",
     200,
     false,
     false,
     403,
     "annotation hami.io/bind-phase is removed by \"alice\"",
     {NULL}},
    {"v1-update-owner-node-label",
     200,
     false,
     false,
     403,
     "label hami.io/vgpu-node is changed by \"alice\"",
     {NULL}},
    /* not a string (only a caller other than kube-apiserver sends one): it
     * counts as changed, and is not compared (cJSON_Compare takes time
     * exponential in the depth of nested objects) */
    {"v1-update-owner-deep-value",
     200,
     false,
     false,
     403,
     "annotation hami.io/vgpu-node is changed by \"alice\"",
     {NULL}},
    /* ephemeral containers that would see every GPU */
    {"v1-ephemeral-privileged",
     200,
     false,
     false,
     403,
     "ephemeral container \"debugger\" is privileged",
     {NULL}},
    {"v1-ephemeral-env",
     200,
     false,
     false,
     403,
     "ephemeral container \"debugger\" sets NVIDIA_VISIBLE_DEVICES to \"all\"",
     {NULL}},
    /* not reviews: HTTP 400 with a line of text */
    {"bad-not-json",
     400,
     false,
     false,
     0,
     "not an AdmissionReview: the body is not a JSON object",
     {NULL}},
    {"bad-array", 400, false, false, 0, "not an AdmissionReview", {NULL}},
    {"bad-kind", 400, false, false, 0, "kind is \"Pod\"", {NULL}},
    {"bad-no-request", 400, false, false, 0, "has no request", {NULL}},
    {"bad-no-uid", 400, false, false, 0, "has no uid", {NULL}},
    {"bad-version", 400, false, false, 0, "apiVersion \"admission.k8s.io/v2\"", {NULL}},
};

#define REVIEW_CASES (sizeof review_cases / sizeof review_cases[0])

/* ---- checking an answer (for both suites) ---- */

#include <check.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "webhook/patch.h"

/* A fixture's text (tests/data/webhook/<name><suffix>); caller frees. */
static char *review_fixture(const char *name, const char *suffix)
{
    char rel[512];
    snprintf(rel, sizeof rel, "webhook/%s%s", name, suffix);
    return harness_slurp(rel);
}

/* Decode standard base64 (with padding); caller frees. */
static char *review_unbase64(const char *b64)
{
    size_t n = strlen(b64);
    ck_assert_msg(n % 4 == 0, "base64 length %zu is not a multiple of 4", n);
    char *out = malloc(n / 4 * 3 + 1);
    int len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)b64, (int)n);
    ck_assert_int_ge(len, 0);
    while (n > 0 && b64[n - 1] == '=') {
        len--;
        n--;
    }
    out[len] = '\0';
    return out;
}

/* Check one answer (HTTP status and body) against the case. */
static void review_check(const struct review_case *c, long status, const char *body)
{
    ck_assert_msg(status == c->status, "%s: HTTP %ld, want %d: %s", c->name, status, c->status,
                  body);
    if (c->status != 200) {
        ck_assert_msg(strstr(body, c->has), "%s: \"%s\" not in %s", c->name, c->has, body);
        return;
    }
    char *req_text = review_fixture(c->name, ".json");
    cJSON *req = cJSON_Parse(req_text), *ans = cJSON_Parse(body);
    ck_assert_ptr_nonnull(req);
    ck_assert_msg(ans != NULL, "%s: answer is not JSON: %s", c->name, body);
    ck_assert_str_eq(cJSON_GetObjectItem(ans, "apiVersion")->valuestring,
                     cJSON_GetObjectItem(req, "apiVersion")->valuestring);
    ck_assert_str_eq(cJSON_GetObjectItem(ans, "kind")->valuestring, "AdmissionReview");
    cJSON *r = cJSON_GetObjectItem(ans, "response");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(cJSON_GetObjectItem(r, "uid")->valuestring,
                     cJSON_GetObjectItem(cJSON_GetObjectItem(req, "request"), "uid")->valuestring);
    ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(r, "allowed")) == c->allowed,
                  "%s: allowed should be %d: %s", c->name, c->allowed, body);
    cJSON *pt = cJSON_GetObjectItem(r, "patchType"), *pb = cJSON_GetObjectItem(r, "patch");
    if (c->patch) {
        ck_assert_ptr_nonnull(pt);
        ck_assert_str_eq(pt->valuestring, "JSONPatch");
        ck_assert_ptr_nonnull(pb);
        char *decoded = review_unbase64(pb->valuestring);
        char *want_text = review_fixture(c->name, ".patch.json");
        cJSON *got = cJSON_Parse(decoded), *want = cJSON_Parse(want_text);
        ck_assert_msg(got && want && cJSON_Compare(got, want, 1), "%s: patch %s, want %s", c->name,
                      decoded, want_text);
        /* The patch applies to the object as sent (RFC 6902: each operation in turn). */
        cJSON *pod = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "request"), "object");
        struct webhook_patch *p = webhook_patch_create(pod);
        cJSON *op;
        cJSON_ArrayForEach(op, got)
        {
            const char *kind = cJSON_GetObjectItem(op, "op")->valuestring;
            const char *path = cJSON_GetObjectItem(op, "path")->valuestring;
            cJSON *v = cJSON_Duplicate(cJSON_GetObjectItem(op, "value"), 1);
            int rc = strcmp(kind, "add") == 0       ? webhook_patch_add(p, path, v)
                     : strcmp(kind, "replace") == 0 ? webhook_patch_replace(p, path, v)
                                                    : webhook_patch_remove(p, path);
            if (strcmp(kind, "remove") == 0)
                cJSON_Delete(v);
            ck_assert_msg(rc == 0, "%s: %s %s does not apply", c->name, kind, path);
        }
        webhook_patch_destroy(p);
        cJSON_Delete(got);
        cJSON_Delete(want);
        free(want_text);
        free(decoded);
    } else {
        ck_assert_msg(pt == NULL && pb == NULL, "%s: no patch expected: %s", c->name, body);
    }
    cJSON *st = cJSON_GetObjectItem(r, "status");
    if (!c->allowed) {
        ck_assert_ptr_nonnull(st);
        ck_assert_int_eq(cJSON_GetObjectItem(st, "code")->valueint, c->code);
        const char *msg = cJSON_GetObjectItem(st, "message")->valuestring;
        ck_assert_msg(strstr(msg, c->has), "%s: \"%s\" not in \"%s\"", c->name, c->has, msg);
    } else {
        ck_assert_ptr_null(st);
    }
    cJSON *w = cJSON_GetObjectItem(r, "warnings");
    int nw = 0;
    while (nw < 4 && c->warns[nw])
        nw++;
    ck_assert_msg(cJSON_GetArraySize(w) == nw, "%s: %d warnings, want %d: %s", c->name,
                  cJSON_GetArraySize(w), nw, body);
    for (int i = 0; i < nw; i++)
        ck_assert_msg(strstr(cJSON_GetArrayItem(w, i)->valuestring, c->warns[i]),
                      "%s: warning %d \"%s\" lacks \"%s\"", c->name, i,
                      cJSON_GetArrayItem(w, i)->valuestring, c->warns[i]);
    cJSON_Delete(ans);
    cJSON_Delete(req);
    free(req_text);
}

#endif

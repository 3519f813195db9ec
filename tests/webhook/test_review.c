/* webhook: AdmissionReview in, AdmissionReview out, in process, on the e2e
 * cluster (largest GPU 40000 MiB). */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "tests/support/harness.h"
#include "tests/webhook/review_cases.h"
#include "webhook/webhook.h"

/* The service's default --trusted-annotation-writers. */
#define TRUSTED                                                                                    \
    "system:serviceaccount:vgpu-system:vgpu-scheduler,"                                            \
    "system:serviceaccount:kube-system:hami-device-plugin"

static struct cache *cache;

static void setup(void)
{
    char path[4096], err[256];
    struct snapshot_stats st;
    const char *d = getenv("VS_TEST_DATA");
    log_set_level(LOG_LEVEL_ERROR);
    snprintf(path, sizeof path, "%s/e2e/cluster.json", d ? d : "tests/data");
    cache = cache_create();
    ck_assert_msg(snapshot_load(cache, path, &st, err, sizeof err) == 0, "%s", err);
}

static void teardown(void)
{
    cache_destroy(cache);
}

static struct webhook *make(bool force, struct cache *c)
{
    struct webhook_opts o = {.scheduler_name = "vgpu-scheduler",
                             .force_overwrite_default = force,
                             .overwrite_env = true,
                             .trusted_writers = TRUSTED};
    return webhook_create(&o, c);
}

static int handle(struct webhook *w, const char *name, char **out, enum webhook_result *res)
{
    char *body = review_fixture(name, ".json");
    int status = webhook_review_handle(w, body, strlen(body), out, res);
    free(body);
    return status;
}

START_TEST(test_cases)
{
    struct webhook *w = make(true, cache);
    const struct review_case *c = &review_cases[_i];
    char *out = NULL;
    enum webhook_result res;
    int status = handle(w, c->name, &out, &res);
    review_check(c, status, out);
    enum webhook_result want = c->status != 200 ? WEBHOOK_BAD_REQUEST
                               : !c->allowed    ? WEBHOOK_DENIED
                               : c->patch       ? WEBHOOK_PATCHED
                                                : WEBHOOK_ALLOWED;
    ck_assert_int_eq(res, want);
    free(out);
    webhook_destroy(w);
}
END_TEST

/* Answers that depend on the options or the cache: case, force, cache
 * (0 the loaded one, 1 none, 2 an empty one not ready), whether a patch
 * comes back, and a substring of the patch or denial. */
static const struct {
    const char *name;
    bool force;
    int cache;
    bool allowed, patch;
    const char *has;
} variants[] = {
    /* --force-overwrite-default-scheduler=false: default-scheduler pods stay theirs */
    {"v1-gpu-mem", false, 0, true, false, NULL},
    {"v1-no-scheduler-name", false, 0, true, true, "schedulerName"},
    {"v1-ours-already", false, 0, true, false, NULL},
    /* no largest GPU known: not denied on memory */
    {"v1-mem-too-big", true, 1, true, true, "vgpu-scheduler"},
    {"v1-mem-too-big", true, 2, true, true, "vgpu-scheduler"},
    /* the other rules need no cache */
    {"v1-pct-150", true, 1, false, false, "outside 0..100"},
};

START_TEST(test_variants)
{
    struct cache *empty = cache_create();
    struct cache *c = variants[_i].cache == 0 ? cache : variants[_i].cache == 1 ? NULL : empty;
    struct webhook *w = make(variants[_i].force, c);
    char *out = NULL;
    enum webhook_result res;
    ck_assert_int_eq(handle(w, variants[_i].name, &out, &res), 200);
    cJSON *a = cJSON_Parse(out), *r = cJSON_GetObjectItem(a, "response");
    ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(r, "allowed")), variants[_i].allowed);
    cJSON *p = cJSON_GetObjectItem(r, "patch");
    ck_assert_int_eq(p != NULL, variants[_i].patch);
    if (variants[_i].has) {
        char *text = p ? review_unbase64(p->valuestring) : strdup(out);
        ck_assert_msg(strstr(text, variants[_i].has), "%s: %s", variants[_i].name, text);
        free(text);
    }
    cJSON_Delete(a);
    free(out);
    webhook_destroy(w);
    cache_destroy(empty);
}
END_TEST

/* Every prefix of every review, and bytes flipped in it: an answer (200 or
 * 400), never a crash (the suite also runs under ASan and UBSan). */
START_TEST(test_truncated)
{
    struct webhook *w = make(true, cache);
    const char *name = review_cases[_i].name;
    char *body = review_fixture(name, ".json");
    size_t n = strlen(body);
    for (size_t len = 0; len <= n; len += len < 64 ? 1 : 13) {
        char *out = NULL;
        int status = webhook_review_handle(w, body, len, &out, NULL);
        ck_assert_msg(status == 200 || status == 400, "%s[:%zu]: %d", name, len, status);
        ck_assert_ptr_nonnull(out);
        free(out);
    }
    for (size_t i = 0; i < n; i += 29) {
        char *copy = strdup(body), *out = NULL;
        copy[i] = copy[i] == '"' ? '{' : '"';
        int status = webhook_review_handle(w, copy, n, &out, NULL);
        ck_assert(status == 200 || status == 400);
        free(out);
        free(copy);
    }
    free(body);
    webhook_destroy(w);
}
END_TEST

/* Limits on what comes in. */
START_TEST(test_limits)
{
    struct webhook *w = make(true, cache);
    char uid[WEBHOOK_UID_MAX + 2], body[512], *out = NULL;
    memset(uid, 'u', sizeof uid - 1);
    uid[sizeof uid - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
             "\"request\":{\"uid\":\"%s\"}}",
             uid);
    ck_assert_int_eq(webhook_review_handle(w, body, strlen(body), &out, NULL), 400);
    ck_assert_ptr_nonnull(strstr(out, "uid"));
    free(out);
    uid[WEBHOOK_UID_MAX] = '\0'; /* exactly the limit: fine */
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
             "\"request\":{\"uid\":\"%s\",\"operation\":\"DELETE\"}}",
             uid);
    ck_assert_int_eq(webhook_review_handle(w, body, strlen(body), &out, NULL), 200);
    free(out);
    /* deep nesting: cJSON refuses it, we answer 400 */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    ck_assert_int_eq(webhook_review_handle(w, deep, 2 * depth, &out, NULL), 400);
    free(out);
    free(deep);
    webhook_destroy(w);
    webhook_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook_review");
    TCase *tc = tcase_create("review");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_cases, 0, REVIEW_CASES);
    tcase_add_loop_test(tc, test_variants, 0, sizeof variants / sizeof variants[0]);
    tcase_add_loop_test(tc, test_truncated, 0, REVIEW_CASES);
    tcase_add_test(tc, test_limits);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

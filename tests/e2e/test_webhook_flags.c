/* The webhook's trust flags, through the real binary: who may write the
 * accounting annotations (--trusted-annotation-writers) and GPU visibility
 * (--overwrite-env). The answers with the default flags are checked, over
 * TLS, by tests/e2e/test_tls.c for every case of review_cases.h. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"
#include "tests/webhook/review_cases.h"

/* One review and what comes back: allowed or not, a patch or not. */
struct want {
    const char *review; /* a fixture of tests/data/webhook/ */
    bool allowed, patch;
    const char *has;       /* in the answer (NULL: not checked) */
    const char *patch_has; /* in the decoded patch (NULL: not checked) */
};

static const struct {
    const char *flags[3];
    struct want w[4];
} runs[] = {
    /* another trusted list: alice may write, the scheduler's account may not */
    {{"--trusted-annotation-writers", " alice ,bob", NULL},
     {{"v1-forged-create", true, true, NULL},
      {"v1-update-owner-allocated", true, false, NULL},
      {"v1-trusted-create", false, false,
       "is set by \\\"system:serviceaccount:vgpu-system:vgpu-scheduler\\\""},
      {"v1-update-plugin-bind-phase", false, false, "--trusted-annotation-writers: alice, bob"}}},
    /* visibility left alone; the ephemeral denials on a GPU pod stay */
    {{"--overwrite-env=false", NULL},
     {{"v1-no-gpu-env-all", true, false, NULL},
      {"v1-ephemeral-debug", true, false, NULL},
      {"v1-ephemeral-env", false, false, "sets NVIDIA_VISIBLE_DEVICES to \\\"all\\\""},
      {"v1-gpu-env-set", true, true, NULL}}},
    /* HAMi's webhook options, by flag and by its device config (an "@" path
     * is under tests/data/) */
    {{"--runtime-class-name=nvidia", NULL},
     {{"v1-mem-only", true, true, NULL,
       "{\"op\":\"add\",\"path\":\"/spec/runtimeClassName\",\"value\":\"nvidia\"}"},
      {"v1-no-gpu", true, true, NULL, NULL}}},
    {{"--gpu-core-policy=force", NULL},
     {{"v1-mem-only", true, true, NULL,
       "\"value\":[{\"name\":\"GPU_CORE_UTILIZATION_POLICY\",\"value\":\"force\"}]"}}},
    {{"--default-gpu=2", NULL},
     {{"v1-mem-only", true, true, NULL,
       "{\"op\":\"add\",\"path\":\"/spec/containers/0/resources/limits/nvidia.com~1gpu\","
       "\"value\":\"2\"}"}}},
    {{"--device-config-file", "@server/devconfig/webhook-options.yaml", NULL},
     {{"v1-mem-only", true, true, NULL, "limits/nvidia.com~1gpu\",\"value\":\"3\"}"},
      {"v1-mem-only", true, true, NULL, "\"value\":\"disable\"}"},
      {"v1-mem-only", true, true, NULL, "\"/spec/runtimeClassName\",\"value\":\"kata-gpu\"}"}}},
    /* the defaults */
    {{NULL},
     {{"v1-forged-create", false, false, "annotation hami.io/vgpu-node is set by \\\"alice\\\""},
      {"v1-no-gpu-env-all", true, true, NULL},
      {"v1-update-owner-label", true, false, NULL},
      {"v1-labelled-ignore", true, true, NULL}}},
};

START_TEST(test_flags)
{
    char cluster[4096], at[4096];
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/e2e/cluster.json", d ? d : "tests/data");
    const char *args[8] = {"--snapshot", cluster};
    int n = 2;
    for (int i = 0; runs[_i].flags[i]; i++) {
        const char *f = runs[_i].flags[i];
        if (f[0] == '@') {
            snprintf(at, sizeof at, "%s/%s", d ? d : "tests/data", f + 1);
            f = at;
        }
        args[n++] = f;
    }
    args[n] = NULL;
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < 4 && runs[_i].w[i].review; i++) {
        const struct want *w = &runs[_i].w[i];
        char rel[256];
        snprintf(rel, sizeof rel, "webhook/%s.json", w->review);
        char *body = harness_slurp(rel);
        struct harness_reply r;
        ck_assert_int_eq(harness_post(harness_port(h), "/webhook", body, strlen(body), &r), 0);
        const char *text = buf_str(&r.body);
        ck_assert_msg(r.status == 200, "%s: %ld %s", w->review, r.status, text);
        cJSON *a = cJSON_Parse(text), *resp = cJSON_GetObjectItem(a, "response");
        ck_assert_msg(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")) == w->allowed, "%s: %s",
                      w->review, text);
        ck_assert_msg((cJSON_GetObjectItem(resp, "patch") != NULL) == w->patch, "%s: %s", w->review,
                      text);
        if (w->has)
            ck_assert_msg(strstr(text, w->has), "%s: \"%s\" not in %s", w->review, w->has, text);
        if (w->patch_has) {
            char *patch = review_unbase64(cJSON_GetObjectItem(resp, "patch")->valuestring);
            ck_assert_msg(strstr(patch, w->patch_has), "%s: \"%s\" not in %s", w->review,
                          w->patch_has, patch);
            free(patch);
        }
        cJSON_Delete(a);
        harness_reply_free(&r);
        free(body);
    }
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* A bad list stops the start with a line naming the flag. */
START_TEST(test_bad_list)
{
    const char *args[] = {"--snapshot", "unused.json", "--trusted-annotation-writers=a,,b", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(buf_str(&r.err), "--trusted-annotation-writers: \"a,,b\" is not a comma "
                                          "list of usernames"),
                  "%s", buf_str(&r.err));
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    (void)review_cases; /* review_cases.h: only its base64 decoder is used here */
    (void)review_fixture;
    (void)review_check;
    Suite *s = suite_create("webhook_flags");
    TCase *tc = tcase_create("flags");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_flags, 0, sizeof runs / sizeof runs[0]);
    tcase_add_test(tc, test_bad_list);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* A device config reload through the real binary (issue 19: "a running
 * process keeps its config when a reload fails"): SIGHUP, or the file
 * changing, swaps the request defaults and webhook options; a file that
 * does not parse, or renames resources, keeps the config in effect, logged
 * and counted. Cluster: tests/data/e2e/containers.json (node "solo": one
 * GPU of 81920 MiB). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"
#include "tests/webhook/review_cases.h"

#define WAIT_MS 10000 /* a reload is due within a second; bounded wait */

static char cluster[4096], dir[64], file[128];

/* Replace the config file at once (a new inode, as a ConfigMap swap). */
static void put(const char *yaml)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/next.yaml", dir);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(yaml, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, file), 0);
}

/* Wait until the series reaches want; its value then. */
static long wait_metric(int port, const char *series, long want)
{
    long v = -1, until = harness_now_ms() + WAIT_MS;
    while ((v = harness_metric(port, series)) < want && harness_now_ms() < until)
        harness_nap_ms(50);
    return v;
}

/* Does a filter on "solo" choose it for one GPU of mem MiB? One pod (one
 * uid): each filter replaces the reservation the last one made. */
static bool fits(int port, int mem)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"Pod\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"uid\":"
             "\"u\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"%d\"}}}]}},\"NodeNames\":"
             "[\"solo\"]}",
             mem);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    bool yes = cJSON_GetArraySize(cJSON_GetObjectItem(j, "NodeNames")) == 1;
    cJSON_Delete(j);
    harness_reply_free(&r);
    return yes;
}

/* The decoded patch of a creation review of a pod asking GPU memory alone
 * ("" when none; caller frees). */
static char *review_patch(int port)
{
    const char *body =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u-1\",\"kind\":{\"kind\":\"Pod\"},\"resource\":{\"resource\":\"pods\"},"
        "\"namespace\":\"default\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":"
        "\"alice\"},\"object\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},"
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
        "\"nvidia.com/gpumem\":\"1000\"}}}]}}}}";
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/webhook", body, strlen(body), &r), 0);
    cJSON *a = cJSON_Parse(buf_str(&r.body));
    const char *b64 =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "response"), "patch"));
    char *patch = b64 ? review_unbase64(b64) : strdup("");
    cJSON_Delete(a);
    harness_reply_free(&r);
    return patch;
}

static int factor(int port)
{
    cJSON *ins = harness_get_json(port, "/inspect");
    ck_assert_ptr_nonnull(ins);
    int f = cJSON_GetObjectItem(cJSON_GetObjectItem(ins, "deviceConfig"), "memoryFactor")->valueint;
    cJSON_Delete(ins);
    return f;
}

#define OK     "vgpu_scheduler_config_reloads_total{result=\"ok\"}"
#define FAILED "vgpu_scheduler_config_reloads_total{result=\"failed\"}"

START_TEST(reload)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/e2e/containers.json", d ? d : "tests/data");
    snprintf(dir, sizeof dir, "/tmp/vs-reload-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/device-config.yaml", dir);
    put("nvidia:\n  memoryFactor: 1\n");
    const char *args[] = {"--snapshot", cluster, "--device-config-file", file, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h), pid = harness_pid(h);
    ck_assert(fits(port, 45000));

    char *patch = review_patch(port);
    ck_assert_msg(!strstr(patch, "runtimeClassName") && strstr(patch, "\"value\":\"1\""), "%s",
                  patch);
    free(patch);

    /* SIGHUP: memoryFactor 2, so 45000 MiB asks 90000; the webhook's
     * options change too */
    put("nvidia:\n  memoryFactor: 2\n  runtimeClassName: kata\n  defaultGPUNum: 2\n");
    kill(pid, SIGHUP);
    ck_assert_int_eq(wait_metric(port, OK, 1), 1);
    ck_assert_int_eq(factor(port), 2);
    ck_assert(!fits(port, 45000));
    ck_assert(fits(port, 40000));
    patch = review_patch(port);
    ck_assert_msg(strstr(patch, "\"/spec/runtimeClassName\",\"value\":\"kata\"") &&
                      strstr(patch, "limits/nvidia.com~1gpu\",\"value\":\"2\""),
                  "%s", patch);
    free(patch);

    /* a file that does not parse: kept, logged, counted */
    put("nvidia:\n  memoryFactr: 1\n");
    kill(pid, SIGHUP);
    ck_assert_int_eq(wait_metric(port, FAILED, 1), 1);
    ck_assert(harness_wait_log(h, "memoryFactr: unknown key", WAIT_MS));
    ck_assert(harness_wait_log(h, "the config in effect stays", WAIT_MS));
    ck_assert_int_eq(factor(port), 2);
    ck_assert(!fits(port, 45000));
    patch = review_patch(port);
    ck_assert_msg(strstr(patch, "\"value\":\"kata\""), "%s", patch);
    free(patch);

    /* renamed resources: only at a restart */
    put("nvidia:\n  memoryFactor: 1\n  resourceCountName: nvidia.com/vgpu\n");
    kill(pid, SIGHUP);
    ck_assert_int_eq(wait_metric(port, FAILED, 2), 2);
    ck_assert(harness_wait_log(h, "resource names change only at a restart", WAIT_MS));
    ck_assert_int_eq(factor(port), 2);

    /* no signal: the file changing is enough */
    put("nvidia:\n  memoryFactor: 1\n");
    ck_assert_int_eq(wait_metric(port, OK, 2), 2);
    ck_assert(harness_wait_log(h, "device config reloaded (the file changed)", WAIT_MS));
    ck_assert(fits(port, 45000));
    ck_assert_int_eq(harness_metric(port, FAILED), 2);

    harness_finish(&h);
    unlink(file);
    rmdir(dir);
}
END_TEST

int main(void)
{
    (void)review_check;
    Suite *s = suite_create("e2e-reload");
    TCase *tc = tcase_create("reload");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reload);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* HAMi's device configuration through the real binary (issue 19):
 * --device-config-file (HAMi's device ConfigMap) and --default-mem change
 * how requests are read, are logged once at start and shown in /inspect; a
 * file with an unknown key stops the start naming file, line and key.
 * Cluster: tests/data/e2e/containers.json (node "solo": one GPU of 81920
 * MiB). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static char cluster[4096], custom[4096], unknown[4096];

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    d = d ? d : "tests/data";
    snprintf(cluster, sizeof cluster, "%s/e2e/containers.json", d);
    snprintf(custom, sizeof custom, "%s/server/devconfig/custom.yaml", d);
    snprintf(unknown, sizeof unknown, "%s/server/devconfig/unknown-key.yaml", d);
}

/* A pod asking one GPU of mem MiB (0: names no memory). New text. */
static char *pod_text(const char *name, int mem)
{
    char *s = malloc(1024);
    char m[64] = "";
    if (mem)
        snprintf(m, sizeof m, ",\"nvidia.com/gpumem\":\"%d\"", mem);
    snprintf(s, 1024,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"uid-%s\"},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\"%s}}}]}}",
             name, name, m);
    return s;
}

/* Does a filter on "solo" choose it? */
static bool fits(int port, const char *name, int mem)
{
    char *pod = pod_text(name, mem), body[2048];
    snprintf(body, sizeof body, "{\"Pod\":%s,\"NodeNames\":[\"solo\"]}", pod);
    free(pod);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    bool yes = cJSON_GetArraySize(cJSON_GetObjectItem(j, "NodeNames")) == 1;
    cJSON_Delete(j);
    harness_reply_free(&r);
    return yes;
}

/* memoryFactor 2 from the file: 40000 asks 80000 and fits the 81920 MiB
 * GPU, 45000 asks 90000 and does not (before: no such flag, and the
 * factor hard-coded to 1). */
START_TEST(file_read_and_shown)
{
    const char *args[] = {"--snapshot", cluster, "--device-config-file", custom, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    ck_assert(harness_wait_log(h, "device config: file ", 5000));
    ck_assert(harness_wait_log(h,
                               "defaultMemory 2048 MiB, defaultCores 20, defaultGPUNum 1, "
                               "memoryFactor 2",
                               5000));
    cJSON *ins = harness_get_json(port, "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *dc = cJSON_GetObjectItem(ins, "deviceConfig");
    ck_assert_ptr_nonnull(dc);
    ck_assert_int_eq(cJSON_GetObjectItem(dc, "memoryFactor")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(dc, "defaultMemory")->valueint, 2048);
    ck_assert_str_eq(cJSON_GetObjectItem(dc, "file")->valuestring, custom);
    cJSON_Delete(ins);
    ck_assert(!fits(port, "big", 45000));
    ck_assert(fits(port, "ok", 40000));
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    char *out = harness_output(h); /* logged once */
    const char *first = strstr(out, "device config: ");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "device config: "));
    free(out);
    harness_free(h);
}
END_TEST

/* An unknown key stops the start: file, line and key. */
START_TEST(unknown_key_stops_start)
{
    const char *args[] = {"--snapshot",  cluster, "--device-config-file", unknown, "--http_bind",
                          "127.0.0.1:0", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_ne(r.status, 0);
    char want[4200];
    snprintf(want, sizeof want, "%s:4: nvidia.defaultMemroy: unknown key", unknown);
    ck_assert_msg(strstr(buf_str(&r.err), want) || strstr(buf_str(&r.out), want), "%s",
                  buf_str(&r.err));
    ck_assert_ptr_null(strstr(buf_str(&r.err), "listening on"));
    harness_result_free(&r);
}
END_TEST

/* HAMi's --default-mem: a container naming no memory gets it (simulate
 * takes the flag too). */
START_TEST(default_mem_flag)
{
    char path[] = "/tmp/vs-devconfig-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char *pod = pod_text("plain", 0);
    ck_assert_int_eq(write(fd, pod, strlen(pod)), (ssize_t)strlen(pod));
    close(fd);
    free(pod);
    const char *args[] = {"simulate", "--snapshot", cluster,         "--pod", path,
                          "--nodes",  "solo",       "--default-mem", "1000",  NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 30000, &r), 0);
    unlink(path);
    ck_assert_msg(r.status == 0, "%s", buf_str(&r.err));
    ck_assert_msg(strstr(buf_str(&r.out), "\"hami.io/vgpu-devices-allocated\":\"GPU-solo,NVIDIA,"
                                          "1000,0:;\""),
                  "%s", buf_str(&r.out));
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    setup();
    Suite *s = suite_create("e2e-devconfig");
    TCase *tc = tcase_create("devconfig");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, file_read_and_shown);
    tcase_add_test(tc, unknown_key_stops_start);
    tcase_add_test(tc, default_mem_flag);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

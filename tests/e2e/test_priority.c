/* Priorities on the card end to end on the real binary, on
 * tests/data/e2e/quota.json: q1 (two A100) holds a high-priority task on
 * GPU-q1-0 and a low one on GPU-q1-1; q3 (one A100) is fuller, its only
 * card holding a high-priority task; q2 registers 81920 MiB per card where
 * its nvidia.com/gpu.memory label says 40960 (oversubscribed). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

/* A pod of team-d asking one GPU at runtime priority prio ("0", "1" or
 * NULL), of spec.priority spec. */
static cJSON *new_pod(const char *name, const char *prio, int spec)
{
    char json[1024], extra[64] = "";
    if (prio)
        snprintf(extra, sizeof extra, ",\"nvidia.com/priority\":\"%s\"", prio);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"team-d\",\"uid\":\"uid-%s\"},"
             "\"spec\":{\"priority\":%d,\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":"
             "{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\",\"nvidia.com/gpucores\":"
             "\"5\"%s}}}]}}",
             name, name, spec, extra);
    cJSON *p = cJSON_Parse(json);
    ck_assert_ptr_nonnull(p);
    return p;
}

static cJSON *call(int port, const char *verb, cJSON *pod, const char *const *nodes)
{
    cJSON *a = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(a, "NodeNames");
    cJSON_AddItemToObject(a, "Pod", pod);
    for (int i = 0; nodes[i]; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(nodes[i]));
    char *body = cJSON_PrintUnformatted(a);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, verb, body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    harness_reply_free(&r);
    free(body);
    cJSON_Delete(a);
    return j;
}

static int score_of(const cJSON *list, const char *host)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (strcmp(cJSON_GetObjectItem(e, "Host")->valuestring, host) == 0)
            return cJSON_GetObjectItem(e, "Score")->valueint;
    }
    ck_abort_msg("no score for %s", host);
    return -1;
}

/* simulate the pod on q1,q3: the devices annotation it prints. */
static void simulate(const char *prio, const char *want)
{
    char snap[4096], pod[] = "/tmp/vs-prio-pod-XXXXXX";
    harness_data_path("e2e/quota.json", snap, sizeof snap);
    int fd = mkstemp(pod);
    ck_assert_int_ge(fd, 0);
    cJSON *p = new_pod("sim", prio, 0);
    char *text = cJSON_PrintUnformatted(p);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const char *args[] = {"simulate", "--snapshot", snap, "--pod", pod, "--nodes", "q1,q3", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 20000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(buf_str(&r.out), want), "priority %s: %s (want %s)", prio ? prio : "unset",
                  buf_str(&r.out), want);
    harness_result_free(&r);
    unlink(pod);
    free(text);
    cJSON_Delete(p);
}

START_TEST(cards_by_priority)
{
    /* binpack chooses the fuller q3 unless the pod is high priority: then
     * q1, on the card without a high-priority task. A low one on q1's
     * other card would fill around it, but binpack prefers q3. */
    simulate("0", "\"hami.io/vgpu-devices-allocated\":\"GPU-q1-1,NVIDIA,1000,5:;\"");
    simulate("1", "\"hami.io/vgpu-devices-allocated\":\"GPU-q3-0,NVIDIA,1000,5:;\"");
    simulate(NULL, "\"hami.io/vgpu-devices-allocated\":\"GPU-q3-0,NVIDIA,1000,5:;\"");
}
END_TEST

START_TEST(filter_and_prioritize)
{
    char snap[4096];
    harness_data_path("e2e/quota.json", snap, sizeof snap);
    const char *args[] = {"--snapshot", snap, "--filter-mode", "all", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    static const char *const nodes[] = {"q1", "q3", NULL};

    cJSON *f = call(port, "/filter", new_pod("hi", "0", 0), nodes);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "NodeNames")), 2);
    cJSON_Delete(f);
    cJSON *pr = call(port, "/prioritize", new_pod("hi", "0", 0), nodes);
    ck_assert_int_eq(score_of(pr, "q3"), 0); /* it would share q3's card with a high task */
    ck_assert_int_ge(score_of(pr, "q1"), 1);
    cJSON_Delete(pr);
    pr = call(port, "/prioritize", new_pod("lo", "1", 0), nodes);
    ck_assert_int_gt(score_of(pr, "q3"), score_of(pr, "q1")); /* binpack: the fuller */
    cJSON_Delete(pr);
    harness_finish(&h);
}
END_TEST

START_TEST(oversubscribed_nodes)
{
    char snap[4096];
    harness_data_path("e2e/quota.json", snap, sizeof snap);
    const char *args[] = {"--snapshot", snap, "--oversubscription-priority-threshold", "1000",
                          NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    static const char *const nodes[] = {"q1", "q2", NULL}, *const q2[] = {"q2", NULL};

    cJSON *in = harness_get_json(port, "/inspect"), *n;
    ck_assert_ptr_nonnull(in);
    int seen = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(in, "nodes"))
    {
        const char *name = cJSON_GetObjectItem(n, "name")->valuestring;
        bool over = cJSON_IsTrue(cJSON_GetObjectItem(n, "oversubscribed"));
        ck_assert_msg(over == (strcmp(name, "q2") == 0), "%s oversubscribed: %d", name, over);
        seen++;
    }
    ck_assert_int_eq(seen, 3);
    cJSON_Delete(in);

    /* Above the threshold: never q2, which is unresolvable for it. */
    cJSON *f = call(port, "/filter", new_pod("vip", NULL, 2000), q2);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "NodeNames")), 0);
    const char *why = cJSON_GetStringValue(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "FailedAndUnresolvableNodes"), "q2"));
    ck_assert_msg(why && strstr(why, "NodeOversubscribed") &&
                      strstr(why, "priority 2000 is "
                                  "above 1000"),
                  "%s", why ? why : "(q2 not unresolvable)");
    cJSON_Delete(f);
    f = call(port, "/filter", new_pod("vip2", NULL, 2000), nodes);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(f, "NodeNames"), 0)->valuestring, "q1");
    cJSON_Delete(f);
    /* At or below it: q2 is fine. */
    f = call(port, "/filter", new_pod("batch", NULL, 1000), q2);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(f, "NodeNames"), 0)->valuestring, "q2");
    cJSON_Delete(f);
    harness_finish(&h);
}
END_TEST

START_TEST(threshold_flag_bad_input)
{
    const char *args[] = {"--oversubscription-priority-threshold", "high", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(buf_str(&r.err), "--oversubscription-priority-threshold: not a whole "
                                          "number"),
                  "%s", buf_str(&r.err));
    harness_result_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e_priority");
    TCase *tc = tcase_create("priority");
    tcase_add_test(tc, cards_by_priority);
    tcase_add_test(tc, filter_and_prioritize);
    tcase_add_test(tc, oversubscribed_nodes);
    tcase_add_test(tc, threshold_flag_bad_input);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

/* POST /preempt through the real binary on a snapshot
 * (tests/data/e2e/preempt-cluster.json): gpu-a holds three notebooks of
 * priority 0 (nb-1 and nb-2 halve GPU 0, nb-3 fills GPU 1 and is covered
 * by a PodDisruptionBudget allowing no disruption) and a CPU-only web pod;
 * gpu-b is full with a pod of priority 1000000, gpu-c with a
 * system-critical one. The preemptor (priority 1000) asks one whole GPU.
 * Both wire forms, unknown nodes and pods, malformed bodies, the hold. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define PREEMPTOR                                                                                  \
    "{\"metadata\":{\"name\":\"inf-new\",\"namespace\":\"prod\",\"uid\":\"uid-inf-new\"},"         \
    "\"spec\":{\"priority\":1000,\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"      \
    "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"40000\",\"nvidia.com/"                       \
    "gpucores\":\"100\"}}}]}}"

static struct harness *h;

static void setup(void)
{
    h = harness_start_snapshot("e2e/preempt-cluster.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* POST body to /preempt; the answer's JSON (caller frees), status in *st. */
static cJSON *preempt(const char *body, int *st, char **text)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(h), "/preempt", body, strlen(body), &r), 0);
    *st = (int)r.status;
    const char *b = r.body.data ? r.body.data : "";
    cJSON *j = cJSON_Parse(b);
    if (text)
        *text = strdup(b);
    harness_reply_free(&r);
    return j;
}

/* The victims' uids answered for node, comma-joined, into out; false when
 * the node is not answered. */
static bool victims(const cJSON *ans, const char *node, char *out, size_t cap, int *pdb)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(ans, "NodeNameToMetaVictims");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, node), *it;
    out[0] = '\0';
    if (!n)
        return false;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(n, "Pods"))
    {
        const char *uid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "UID"));
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", uid);
    }
    *pdb = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "NumPDBViolations"));
    return true;
}

START_TEST(meta_victims)
{
    int st, pdb = -1;
    char v[512];
    /* kube-scheduler proposed nb-3 (covered by a budget), a pod it alone
     * knows, and nothing on gpu-b and gpu-c; ghost is unknown. */
    const char *body = "{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":{"
                       "\"gpu-a\":{\"Pods\":[{\"UID\":\"uid-nb-3\"},{\"UID\":\"uid-gone\"}],"
                       "\"NumPDBViolations\":1},"
                       "\"gpu-b\":{\"Pods\":[],\"NumPDBViolations\":0},"
                       "\"gpu-c\":{\"Pods\":[{\"UID\":\"uid-sys-0\"}],\"NumPDBViolations\":0},"
                       "\"ghost\":{\"Pods\":[{\"UID\":\"uid-x\"}],\"NumPDBViolations\":0}}}";
    cJSON *ans = preempt(body, &st, NULL);
    ck_assert_int_eq(st, 200);
    ck_assert_ptr_nonnull(ans);
    ck_assert(victims(ans, "gpu-a", v, sizeof v, &pdb));
    ck_assert_str_eq(v, "uid-nb-2,uid-nb-1");
    ck_assert_int_eq(pdb, 0);
    ck_assert(!victims(ans, "gpu-b", v, sizeof v, &pdb)); /* only higher priority there */
    ck_assert(!victims(ans, "gpu-c", v, sizeof v, &pdb)); /* system-critical */
    ck_assert(!victims(ans, "ghost", v, sizeof v, &pdb));
    cJSON_Delete(ans);
    /* One node answered: its room is held for the preemptor. */
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    char *text = cJSON_PrintUnformatted(ins);
    ck_assert_msg(strstr(text, "uid-inf-new") || strstr(text, "inf-new"), "no hold: %.2000s", text);
    free(text);
    cJSON_Delete(ins);
}
END_TEST

START_TEST(full_victims)
{
    int st, pdb = -1;
    char v[512];
    /* nodeCacheCapable false: whole Pods; the CPU-only web-1 kube-scheduler
     * proposed stays (its own call), the budget-covered nb-3 is taken out. */
    const char *body = "{\"Pod\":" PREEMPTOR ",\"NodeNameToVictims\":{"
                       "\"gpu-a\":{\"Pods\":[{\"metadata\":{\"uid\":\"uid-nb-3\"}},"
                       "{\"metadata\":{\"uid\":\"uid-web-1\"}}],\"NumPDBViolations\":1}},"
                       "\"NodeNameToMetaVictims\":null}";
    cJSON *ans = preempt(body, &st, NULL);
    ck_assert_int_eq(st, 200);
    ck_assert(victims(ans, "gpu-a", v, sizeof v, &pdb));
    ck_assert_msg(strstr(v, "uid-nb-1") && strstr(v, "uid-nb-2") && strstr(v, "uid-web-1") &&
                      !strstr(v, "uid-nb-3"),
                  "victims %s", v);
    ck_assert_int_eq(pdb, 0);
    cJSON_Delete(ans);
}
END_TEST

START_TEST(budget_forced)
{
    int st, pdb = -1;
    char v[512];
    /* Two GPUs asked: nb-3's GPU too, against its budget. */
    const char *body =
        "{\"Pod\":{\"metadata\":{\"name\":\"big\",\"namespace\":\"prod\",\"uid\":\"uid-big\"},"
        "\"spec\":{\"priority\":1000,\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
        "\"nvidia.com/gpu\":\"2\",\"nvidia.com/gpumem\":\"40000\"}}}]}},"
        "\"NodeNameToMetaVictims\":{\"gpu-a\":{\"Pods\":[]},\"gpu-b\":{\"Pods\":[]}}}";
    cJSON *ans = preempt(body, &st, NULL);
    ck_assert(victims(ans, "gpu-a", v, sizeof v, &pdb));
    ck_assert_msg(strstr(v, "uid-nb-3") && strstr(v, "uid-nb-1") && strstr(v, "uid-nb-2"), "%s", v);
    ck_assert_int_eq(pdb, 1);
    ck_assert(!victims(ans, "gpu-b", v, sizeof v, &pdb)); /* one GPU: cannot help */
    cJSON_Delete(ans);
}
END_TEST

/* Malformed bodies: 400 for what is not an object, else 200 with no node
 * and an Error naming what is wrong; the process stays up. */
static const struct {
    const char *body;
    int status;
    const char *want;
} bad[] = {
    {"null", 400, NULL},
    {"[1]", 400, NULL},
    {"{\"Pod\"", 400, NULL},
    {"{}", 200, "no Pod"},
    {"{\"Pod\":5,\"NodeNameToMetaVictims\":{}}", 200, "no Pod"},
    {"{\"Pod\":" PREEMPTOR "}", 200, "neither NodeNameToMetaVictims"},
    {"{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":[]}", 200, "neither"},
    {"{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":{\"gpu-a\":5}}", 200, "gpu-a"},
    {"{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":{\"gpu-a\":{\"Pods\":{}}}}", 200, "gpu-a"},
    {"{\"Pod\":{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"containers\":[{"
     "\"name\":\"c\"}]}},\"NodeNameToMetaVictims\":{}}",
     200, "metadata.uid"},
    {"{\"Pod\":{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"},\"spec\":{\"containers\":[{\"name\":"
     "\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1e99\"}}}]}},"
     "\"NodeNameToMetaVictims\":{}}",
     200, "nvidia.com/gpu"},
    /* not errors: odd victims are passed over */
    {"{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":{\"gpu-a\":{\"Pods\":[5,{},{\"UID\":7},"
     "null]}}}",
     200, NULL},
    {"{\"Pod\":" PREEMPTOR ",\"NodeNameToMetaVictims\":{\"gpu-a\":{}}}", 200, NULL},
};

START_TEST(malformed)
{
    int st;
    char *text = NULL;
    cJSON *ans = preempt(bad[_i].body, &st, &text);
    ck_assert_msg(st == bad[_i].status, "case %d: status %d: %s", _i, st, text);
    if (bad[_i].want) {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ans, "Error"));
        ck_assert_msg(e && strstr(e, bad[_i].want), "case %d: %s", _i, text);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ans, "NodeNameToMetaVictims");
        ck_assert(cJSON_IsObject(m) && !m->child);
    } else if (st == 200) {
        ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(ans, "Error"));
    }
    free(text);
    cJSON_Delete(ans);
    struct harness_reply r;
    ck_assert_int_eq(harness_get(harness_port(h), "/healthz", &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preempt_e2e");
    TCase *tc = tcase_create("preempt_e2e");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, meta_victims);
    tcase_add_test(tc, full_victims);
    tcase_add_test(tc, budget_forced);
    tcase_add_loop_test(tc, malformed, 0, (int)(sizeof bad / sizeof *bad));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

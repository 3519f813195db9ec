/* model_pod_compact: what the pending store keeps of a pod for bind. Its
 * parse must give the same request as the whole pod's (errors included),
 * for every pod in tests/data and for hostile shapes, while keeping
 * nothing the parse does not read. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "tests/support/harness.h"

/* p with its borrowed strings compared to q's and then cleared, so the
 * rest compares as memory (model_pod_parse zeroes the struct first). */
static void same_strings(const char **a, const char **b, const char *what, const char *where)
{
    ck_assert_msg((*a == NULL) == (*b == NULL), "%s: %s present in one parse only", where, what);
    if (*a)
        ck_assert_msg(strcmp(*a, *b) == 0, "%s: %s \"%s\" against \"%s\"", where, what, *a, *b);
    *a = *b = NULL;
}

static void same_pod(struct policy_pod *a, struct policy_pod *b, const char *where)
{
    same_strings(&a->ns, &b->ns, "namespace", where);
    same_strings(&a->name, &b->name, "name", where);
    same_strings(&a->uid, &b->uid, "uid", where);
    same_strings(&a->use_type, &b->use_type, "use_type", where);
    same_strings(&a->nouse_type, &b->nouse_type, "nouse_type", where);
    same_strings(&a->use_uuid, &b->use_uuid, "use_uuid", where);
    same_strings(&a->nouse_uuid, &b->nouse_uuid, "nouse_uuid", where);
    same_strings(&a->vgpu_mode, &b->vgpu_mode, "vgpu_mode", where);
    for (int i = 0; i < POLICY_MAX_CONTAINERS; i++)
        same_strings(&a->ctr[i].name, &b->ctr[i].name, "container name", where);
    ck_assert_msg(memcmp(a, b, sizeof *a) == 0, "%s: the two parses differ", where);
}

/* Parse pod whole and compacted, with defaults d: the same outcome. */
static void check_pod(const cJSON *pod, const struct model_defaults *d, const char *where)
{
    char *text = NULL, err1[512] = "", err2[512] = "", cerr[256] = "";
    struct policy_pod *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    int rc1 = model_pod_parse(pod, d, a, err1, sizeof err1);
    int crc = model_pod_compact(pod, &text, cerr, sizeof cerr);
    if (crc != 0) { /* only a pod the parse refuses may fail to compact */
        ck_assert_msg(rc1 != 0, "%s: parses, but does not compact: %s", where, cerr);
        goto out;
    }
    cJSON *c = cJSON_Parse(text);
    ck_assert_ptr_nonnull(c);
    int rc2 = model_pod_parse(c, d, b, err2, sizeof err2);
    ck_assert_msg(rc1 == rc2, "%s: rc %d whole, %d compact (%s / %s)", where, rc1, rc2, err1, err2);
    if (rc1)
        ck_assert_msg(strcmp(err1, err2) == 0, "%s: \"%s\" against \"%s\"", where, err1, err2);
    else
        same_pod(a, b, where);
    /* compacting twice changes nothing */
    char *again = NULL;
    ck_assert_int_eq(model_pod_compact(c, &again, cerr, sizeof cerr), 0);
    ck_assert_str_eq(again, text);
    cJSON_free(again);
    cJSON_Delete(c);
out:
    cJSON_free(text);
    free(a);
    free(b);
}

static int npods;

/* Every object with metadata and spec under j is a pod to check. */
static void walk(const cJSON *j, const char *where)
{
    if (cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "metadata") &&
        cJSON_GetObjectItemCaseSensitive(j, "spec")) {
        struct model_defaults d = {2000, 30, 2};
        check_pod(j, NULL, where);
        check_pod(j, &d, where);
        npods++;
    }
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next)
        walk(c, where);
}

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (type != FTW_F || n < 5 || strcmp(path + n - 5, ".json") != 0)
        return 0;
    char *text = harness_read(path, NULL);
    cJSON *j = cJSON_Parse(text);
    walk(j, path);
    cJSON_Delete(j);
    free(text);
    return 0;
}

/* Every pod of every fixture. */
START_TEST(fixtures_parse_the_same)
{
    char root[4096];
    harness_data_path("", root, sizeof root);
    npods = 0;
    ck_assert_int_eq(nftw(root, visit, 16, FTW_PHYS), 0);
    ck_assert_int_gt(npods, 100);
}
END_TEST

/* Hostile and edge shapes: each parses (or fails) the same compacted. */
static const char *const shapes[] = {
    /* steering annotations of every kind, init containers, a sidecar, priority */
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\",\"annotations\":{"
    "\"nvidia.com/use-gputype\":\"A100\",\"nvidia.com/nouse-gputype\":\"T4\","
    "\"nvidia.com/use-gpuuuid\":\"GPU-1\",\"hami.io/gpu-scheduler-policy\":\"binpack\","
    "\"hami.io/node-scheduler-policy\":\"spread\",\"nvidia.com/numa-bind\":\"true\","
    "\"hami.io/device-scoring-weights\":\"1,2,3\",\"other\":\"x\"}},\"spec\":{\"priority\":7,"
    "\"initContainers\":[{\"name\":\"i\",\"restartPolicy\":\"Always\",\"resources\":{"
    "\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}],"
    "\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}],\"resources\":{"
    "\"requests\":{\"cpu\":\"2\",\"memory\":\"1Gi\",\"nvidia.com/gpu\":\"2\","
    "\"nvidia.com/gpucores\":\"30\",\"example.com/foo\":\"1\"}}}]}}",
    /* a key twice: the first counts */
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpu\":"
    "\"3\"}}}]}}",
    /* nulls and wrong types */
    "{\"metadata\":{\"name\":\"p\",\"namespace\":null,\"uid\":\"u\",\"annotations\":null},"
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":null}]}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\",\"annotations\":[]},"
    "\"spec\":{\"containers\":[{\"name\":\"c\"}]}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "{\"name\":\"c\"}}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":{\"a\":1}}}}]}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "[7,{\"name\":\"c\"}]}}",
    "{\"metadata\":\"m\",\"spec\":{}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"priority\":"
    "1e300,\"containers\":[{\"name\":\"c\"}]}}",
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "[{\"name\":\"c\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1.5\"}}}]}}",
    /* other vendors' resources */
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\"},\"spec\":{\"containers\":"
    "[{\"name\":\"c\",\"resources\":{\"limits\":{\"hygon.com/dcunum\":\"1\","
    "\"hygon.com/dcumem\":\"2000\"}}},{\"name\":\"d\",\"resources\":{\"limits\":{"
    "\"cambricon.com/mlu\":\"1\",\"cambricon.com/mlu.smlu.vmemory\":\"4\"}}}]}}",
};

START_TEST(shapes_parse_the_same)
{
    char where[64];
    snprintf(where, sizeof where, "shape %d", _i);
    cJSON *j = cJSON_Parse(shapes[_i]);
    ck_assert_ptr_nonnull(j);
    struct model_defaults d = {2000, 30, 2};
    check_pod(j, NULL, where);
    check_pod(j, &d, where);
    cJSON_Delete(j);
}
END_TEST

/* A pod of 64 containers with long names, 240 KiB of annotations and env:
 * the compact copy keeps the names and requests, nothing else. One
 * container more than the parse takes: still refused the same way. */
START_TEST(huge_pod_kept_small)
{
    cJSON *pod = cJSON_Parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\","
                             "\"annotations\":{}},\"spec\":{\"containers\":[]}}");
    cJSON *anns = cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "annotations");
    cJSON *ctrs = cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "containers");
    char *big = malloc(60 << 10), name[300], key[32];
    memset(big, 'a', (60 << 10) - 1);
    big[(60 << 10) - 1] = '\0';
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "bench/a%d", i);
        cJSON_AddStringToObject(anns, key, big);
    }
    for (int i = 0; i < POLICY_MAX_CONTAINERS; i++) {
        snprintf(name, sizeof name, "c%03d-%0240d", i, 0);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddStringToObject(c, "image", big); /* not read */
        cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
        cJSON_AddStringToObject(lim, "nvidia.com/gpu", i == 0 ? "1" : "0");
        cJSON_AddItemToArray(ctrs, c);
    }
    char *text = NULL, err[256];
    ck_assert_int_eq(model_pod_compact(pod, &text, err, sizeof err), 0);
    ck_assert_uint_lt(strlen(text), (size_t)POLICY_MAX_CONTAINERS * 320);
    ck_assert_ptr_null(strstr(text, "bench/a0"));
    ck_assert_ptr_null(strstr(text, "aaaa"));
    cJSON_free(text);
    check_pod(pod, NULL, "64 containers");
    for (int i = 0; i < 5; i++)
        cJSON_AddItemToArray(ctrs, cJSON_Duplicate(cJSON_GetArrayItem(ctrs, 0), true));
    check_pod(pod, NULL, "69 containers");
    ck_assert_int_eq(model_pod_compact(pod, &text, err, sizeof err), 0);
    cJSON *c = cJSON_Parse(text);
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "spec"), "containers")),
        POLICY_MAX_CONTAINERS + 1);
    cJSON_Delete(c);
    cJSON_free(text);
    free(big);
    cJSON_Delete(pod);
}
END_TEST

/* Bad input: not an object; a value the parse reads past its limit. */
START_TEST(refused_with_reason)
{
    char *text = NULL, err[256] = "";
    cJSON *j = cJSON_Parse("[1]");
    ck_assert_int_eq(model_pod_compact(j, &text, err, sizeof err), ERR_INVAL);
    ck_assert_ptr_null(text);
    ck_assert_str_eq(err, "pod is not a JSON object");
    cJSON_Delete(j);
    j = cJSON_Parse("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u\","
                    "\"annotations\":{}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
    char *v = malloc(MODEL_POD_ANN_MAX + 2);
    memset(v, 'T', MODEL_POD_ANN_MAX + 1);
    v[MODEL_POD_ANN_MAX + 1] = '\0';
    cJSON_AddStringToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "annotations"),
                            "nvidia.com/use-gputype", v);
    ck_assert_int_eq(model_pod_compact(j, &text, err, sizeof err), ERR_TOOBIG);
    ck_assert_ptr_null(text);
    ck_assert_msg(strstr(err, "longer than 65536 bytes"), "%s", err);
    check_pod(j, NULL, "a steering annotation too long"); /* the parse refuses it too */
    free(v);
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pod-compact");
    TCase *tc = tcase_create("compact");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fixtures_parse_the_same);
    tcase_add_loop_test(tc, shapes_parse_the_same, 0, (int)(sizeof shapes / sizeof shapes[0]));
    tcase_add_test(tc, huge_pod_kept_small);
    tcase_add_test(tc, refused_with_reason);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

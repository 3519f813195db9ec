/* webhook/patch: JSON Pointer escaping, add/replace/remove as RFC 6902 says, the
 * recorded patch, base64. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "tests/support/harness.h"
#include "webhook/patch.h"

static cJSON *doc(void)
{
    char *text = harness_slurp("webhook/patch/doc.json");
    cJSON *d = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Tokens -> pointer (RFC 6901 section 3 escaping). */
static const struct {
    const char *tokens[4];
    const char *want;
} pointers[] = {
    {{NULL}, ""},
    {{"spec", "schedulerName"}, "/spec/schedulerName"},
    {{"limits", "nvidia.com/gpu"}, "/limits/nvidia.com~1gpu"},
    {{"a~b"}, "/a~0b"},
    {{"~/"}, "/~0~1"},
    {{"~1"}, "/~01"}, /* a literal "~1" must not read back as "/" */
    {{""}, "/"},
    {{"", ""}, "//"},
};

START_TEST(test_pointer)
{
    char out[128];
    ck_assert_int_eq(webhook_patch_pointer(out, sizeof out, pointers[_i].tokens), 0);
    ck_assert_str_eq(out, pointers[_i].want);
}
END_TEST

START_TEST(test_pointer_toobig)
{
    char out[8];
    const char *t[] = {"abcdefgh", NULL};
    ck_assert_int_eq(webhook_patch_pointer(out, sizeof out, t), ERR_TOOBIG);
    const char *t2[] = {"ab/c", NULL}; /* "/ab~1c" is 6 + NUL: fits */
    ck_assert_int_eq(webhook_patch_pointer(out, sizeof out, t2), 0);
    ck_assert_str_eq(out, "/ab~1c");
}
END_TEST

/* Reading doc.json by pointer: the value's JSON, or NULL for none. */
static const struct {
    const char *ptr;
    const char *want; /* compact JSON */
} gets[] = {
    {"/metadata/name", "\"p\""},
    {"/metadata/annotations/a~1b", "\"slash\""},
    {"/metadata/annotations/c~0d", "\"tilde\""},
    {"/metadata/annotations/~01", "\"literal\""},
    {"/spec/containers/1/name", "\"two\""},
    {"/spec/containers/0/env/0", "{\"name\":\"A\"}"},
    {"/", "\"empty key\""},
    {"/spec/containers/2", NULL},
    {"/spec/containers/-", NULL},
    {"/spec/containers/01", NULL}, /* leading zero */
    {"/spec/containers/x", NULL},
    {"/metadata/annotations/a/b", NULL},
    {"/metadata/name/x", NULL},
    {"/bad~2escape", NULL},
    {"no-slash", NULL},
};

START_TEST(test_get)
{
    cJSON *d = doc();
    cJSON *v = webhook_patch_get(d, gets[_i].ptr);
    if (gets[_i].want == NULL) {
        ck_assert_msg(v == NULL, "%s should not resolve", gets[_i].ptr);
    } else {
        ck_assert_msg(v != NULL, "%s should resolve", gets[_i].ptr);
        char *s = cJSON_PrintUnformatted(v);
        ck_assert_str_eq(s, gets[_i].want);
        free(s);
    }
    ck_assert_ptr_eq(webhook_patch_get(d, ""), d);
    cJSON_Delete(d);
}
END_TEST

/* One operation on doc.json: its result code, then the value found at
 * `check` (NULL: not checked) and the recorded patch. */
static const struct {
    const char *op; /* "add", "replace" or "remove" (value unused) */
    const char *ptr;
    const char *value;
    int rc;
    const char *check, *check_want;
    const char *patch; /* what webhook_patch_json gives after it; NULL: "[]" */
} ops[] = {
    {"replace", "/spec/schedulerName", "\"vgpu\"", 0, "/spec/schedulerName", "\"vgpu\"",
     "[{\"op\":\"replace\",\"path\":\"/spec/schedulerName\",\"value\":\"vgpu\"}]"},
    {"add", "/spec/schedulerName", "\"vgpu\"", 0, "/spec/schedulerName", "\"vgpu\"",
     "[{\"op\":\"add\",\"path\":\"/spec/schedulerName\",\"value\":\"vgpu\"}]"},
    {"add", "/spec/nodeSelector", "{\"k\":\"v\"}", 0, "/spec/nodeSelector/k", "\"v\"",
     "[{\"op\":\"add\",\"path\":\"/spec/nodeSelector\",\"value\":{\"k\":\"v\"}}]"},
    {"add", "/metadata/annotations/nvidia.com~1gpu", "\"1\"", 0,
     "/metadata/annotations/nvidia.com~1gpu", "\"1\"",
     "[{\"op\":\"add\",\"path\":\"/metadata/annotations/nvidia.com~1gpu\",\"value\":\"1\"}]"},
    {"add", "/spec/containers/0/env/-", "{\"name\":\"B\"}", 0, "/spec/containers/0/env/1",
     "{\"name\":\"B\"}",
     "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env/-\",\"value\":{\"name\":\"B\"}}]"},
    {"add", "/spec/containers/0/env/0", "{\"name\":\"Z\"}", 0, "/spec/containers/0/env/1",
     "{\"name\":\"A\"}", /* inserted before */
     "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env/0\",\"value\":{\"name\":\"Z\"}}]"},
    {"add", "/spec/containers/0/env/1", "{\"name\":\"Z\"}", 0, "/spec/containers/0/env/1",
     "{\"name\":\"Z\"}", /* index == size: appended */
     "[{\"op\":\"add\",\"path\":\"/spec/containers/0/env/1\",\"value\":{\"name\":\"Z\"}}]"},
    {"replace", "/spec/containers/1", "{\"name\":\"three\"}", 0, "/spec/containers/1/name",
     "\"three\"",
     "[{\"op\":\"replace\",\"path\":\"/spec/containers/1\",\"value\":{\"name\":\"three\"}}]"},
    /* refused: nothing recorded, nothing changed */
    {"add", "/spec/containers/0/env/2", "{}", ERR_NOTFOUND, "/spec/containers/0/env/1", NULL, NULL},
    {"add", "/spec/containers/0/env/01", "{}", ERR_NOTFOUND, NULL, NULL, NULL},
    {"add", "/spec/missing/x", "1", ERR_NOTFOUND, "/spec/missing", NULL, NULL},
    {"add", "/metadata/name/x", "1", ERR_INVAL, "/metadata/name", "\"p\"", NULL},
    {"add", "", "{}", ERR_INVAL, NULL, NULL, NULL},
    {"add", "spec", "{}", ERR_INVAL, NULL, NULL, NULL},
    {"add", "/spec/a~2b", "1", ERR_INVAL, NULL, NULL, NULL},
    {"replace", "/spec/nodeName", "\"n\"", ERR_NOTFOUND, "/spec/nodeName", NULL, NULL},
    {"replace", "/spec/containers/-", "{}", ERR_NOTFOUND, NULL, NULL, NULL},
    {"replace", "/spec/containers/2", "{}", ERR_NOTFOUND, "/spec/containers/2", NULL, NULL},
    /* remove: no value recorded; from an array the later items move down */
    {"remove", "/spec/containers/0", "0", 0, "/spec/containers/0/name", "\"two\"",
     "[{\"op\":\"remove\",\"path\":\"/spec/containers/0\"}]"},
    {"remove", "/spec/containers/0/env/0", "0", 0, "/spec/containers/0/env", "[]",
     "[{\"op\":\"remove\",\"path\":\"/spec/containers/0/env/0\"}]"},
    {"remove", "/metadata/annotations/a~1b", "0", 0, "/metadata/annotations/a~1b", NULL,
     "[{\"op\":\"remove\",\"path\":\"/metadata/annotations/a~1b\"}]"},
    {"remove", "/spec/containers/2", "0", ERR_NOTFOUND, "/spec/containers/1/name", "\"two\"", NULL},
    {"remove", "/spec/containers/-", "0", ERR_NOTFOUND, NULL, NULL, NULL},
    {"remove", "/spec/nodeName", "0", ERR_NOTFOUND, NULL, NULL, NULL},
    {"remove", "/metadata/name/x", "0", ERR_INVAL, "/metadata/name", "\"p\"", NULL},
    {"remove", "", "0", ERR_INVAL, NULL, NULL, NULL},
};

START_TEST(test_ops)
{
    cJSON *d = doc();
    struct webhook_patch *p = webhook_patch_create(d);
    cJSON *v = cJSON_Parse(ops[_i].value);
    ck_assert_ptr_nonnull(v);
    int rc;
    if (strcmp(ops[_i].op, "remove") == 0) {
        rc = webhook_patch_remove(p, ops[_i].ptr);
        cJSON_Delete(v);
    } else {
        rc = strcmp(ops[_i].op, "add") == 0 ? webhook_patch_add(p, ops[_i].ptr, v)
                                            : webhook_patch_replace(p, ops[_i].ptr, v);
    }
    ck_assert_int_eq(rc, ops[_i].rc);
    if (ops[_i].check) {
        cJSON *got = webhook_patch_get(d, ops[_i].check);
        if (ops[_i].check_want == NULL) {
            ck_assert_msg(got == NULL, "%s should be absent", ops[_i].check);
        } else {
            ck_assert_ptr_nonnull(got);
            char *s = cJSON_PrintUnformatted(got);
            ck_assert_str_eq(s, ops[_i].check_want);
            free(s);
        }
    }
    char *json = webhook_patch_json(p);
    ck_assert_str_eq(json, ops[_i].patch ? ops[_i].patch : "[]");
    ck_assert_int_eq(webhook_patch_count(p), ops[_i].patch ? 1 : 0);
    free(json);
    webhook_patch_destroy(p);
    cJSON_Delete(d);
}
END_TEST

/* Operations build on each other, and the recorded value is a copy: later
 * changes to the document do not alter the patch. */
START_TEST(test_sequence)
{
    cJSON *d = doc();
    struct webhook_patch *p = webhook_patch_create(d);
    ck_assert_int_eq(webhook_patch_add(p, "/spec/containers/1/resources", cJSON_CreateObject()), 0);
    ck_assert_int_eq(
        webhook_patch_add(p, "/spec/containers/1/resources/limits", cJSON_CreateObject()), 0);
    ck_assert_int_eq(webhook_patch_add(p, "/spec/containers/1/resources/limits/nvidia.com~1gpu",
                                       cJSON_CreateString("1")),
                     0);
    ck_assert_int_eq(webhook_patch_count(p), 3);
    char *json = webhook_patch_json(p);
    ck_assert_str_eq(json,
                     "[{\"op\":\"add\",\"path\":\"/spec/containers/1/resources\",\"value\":{}},"
                     "{\"op\":\"add\",\"path\":\"/spec/containers/1/resources/limits\","
                     "\"value\":{}},"
                     "{\"op\":\"add\",\"path\":\"/spec/containers/1/resources/limits/"
                     "nvidia.com~1gpu\",\"value\":\"1\"}]");
    free(json);
    webhook_patch_destroy(p);
    webhook_patch_destroy(NULL);
    cJSON_Delete(d);
}
END_TEST

START_TEST(test_ops_max)
{
    cJSON *d = cJSON_CreateObject();
    struct webhook_patch *p = webhook_patch_create(d);
    for (int i = 0; i < WEBHOOK_PATCH_OPS_MAX; i++)
        ck_assert_int_eq(webhook_patch_add(p, "/k", cJSON_CreateNumber(i)), 0);
    ck_assert_int_eq(webhook_patch_add(p, "/k", cJSON_CreateNumber(-1)), ERR_TOOBIG);
    ck_assert_int_eq(webhook_patch_count(p), WEBHOOK_PATCH_OPS_MAX);
    webhook_patch_destroy(p);
    cJSON_Delete(d);
}
END_TEST

/* RFC 4648 section 10, and bytes that use the last two letters. */
static const struct {
    const char *in;
    size_t n;
    const char *want;
} b64[] = {
    {"", 0, ""},
    {"f", 1, "Zg=="},
    {"fo", 2, "Zm8="},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg=="},
    {"fooba", 5, "Zm9vYmE="},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xff\xfe\xfd", 3, "//79"},
    {"\xfb\xff", 2, "+/8="},
    {"[{\"op\":\"add\"}]", 14, "W3sib3AiOiJhZGQifV0="},
};

START_TEST(test_base64)
{
    char *s = webhook_patch_base64(b64[_i].in, b64[_i].n);
    ck_assert_str_eq(s, b64[_i].want);
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("webhook_patch");
    TCase *tc = tcase_create("patch");
    tcase_add_loop_test(tc, test_pointer, 0, sizeof pointers / sizeof pointers[0]);
    tcase_add_test(tc, test_pointer_toobig);
    tcase_add_loop_test(tc, test_get, 0, sizeof gets / sizeof gets[0]);
    tcase_add_loop_test(tc, test_ops, 0, sizeof ops / sizeof ops[0]);
    tcase_add_test(tc, test_sequence);
    tcase_add_test(tc, test_ops_max);
    tcase_add_loop_test(tc, test_base64, 0, sizeof b64 / sizeof b64[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

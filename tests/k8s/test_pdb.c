/* PodDisruptionBudgets (k8s/pdb.h), table driven: which pods a budget's
 * selector covers, budgets that do not parse, labels flattened. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "k8s/pdb.h"
#include "tests/support/harness.h"

static const struct {
    const char *name;
    const char *spec;   /* the budget's spec */
    const char *ns;     /* the pod's namespace */
    const char *labels; /* the pod's labels, as a JSON object */
    int rc;             /* pdbs_put */
    int hits;           /* budgets covering the pod */
} cases[] = {
    {"matchLabels", "{\"selector\":{\"matchLabels\":{\"app\":\"nb\"}}}", "a", "{\"app\":\"nb\"}", 0,
     1},
    {"matchLabels, other value", "{\"selector\":{\"matchLabels\":{\"app\":\"nb\"}}}", "a",
     "{\"app\":\"web\"}", 0, 0},
    {"another namespace", "{\"selector\":{\"matchLabels\":{\"app\":\"nb\"}}}", "b",
     "{\"app\":\"nb\"}", 0, 0},
    {"every label must match", "{\"selector\":{\"matchLabels\":{\"app\":\"nb\",\"t\":\"x\"}}}", "a",
     "{\"app\":\"nb\"}", 0, 0},
    {"In",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"In\",\"values\":[\"x\","
     "\"y\"]}]}}",
     "a", "{\"t\":\"y\"}", 0, 1},
    {"NotIn, absent key",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"NotIn\",\"values\":[\"x\"]"
     "}]}}",
     "a", "{}", 0, 1},
    {"NotIn, listed",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"NotIn\",\"values\":[\"x\"]"
     "}]}}",
     "a", "{\"t\":\"x\"}", 0, 0},
    {"Exists", "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"Exists\"}]}}",
     "a", "{\"t\":\"\"}", 0, 1},
    {"DoesNotExist",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"DoesNotExist\"}]}}", "a",
     "{\"t\":\"1\"}", 0, 0},
    {"a key that is a prefix of another", "{\"selector\":{\"matchLabels\":{\"ap\":\"nb\"}}}", "a",
     "{\"app\":\"nb\"}", 0, 0},
    {"empty selector: every pod of the namespace", "{\"selector\":{}}", "a", "{\"x\":\"y\"}", 0, 1},
    {"no selector: no pod", "{}", "a", "{\"x\":\"y\"}", 0, 0},
    {"unknown operator",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"Near\"}]}}", "a", "{}",
     ERR_INVAL, 0},
    {"In without values",
     "{\"selector\":{\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"In\"}]}}", "a",
     "{\"t\":\"x\"}", ERR_INVAL, 0},
    {"matchLabels not an object", "{\"selector\":{\"matchLabels\":[1]}}", "a", "{}", ERR_INVAL, 0},
    {"a value that is not a string", "{\"selector\":{\"matchLabels\":{\"app\":5}}}", "a",
     "{\"app\":\"5\"}", ERR_INVAL, 0},
};

START_TEST(selector_cases)
{
    char json[2048], err[256] = "", flat[PDB_LABELS_MAX];
    struct pdb_hit hits[4];
    struct pdbs *s = pdbs_create();
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"b\",\"namespace\":\"a\"},\"spec\":%s,"
             "\"status\":{\"disruptionsAllowed\":2}}",
             cases[_i].spec);
    cJSON *b = cJSON_Parse(json), *l = cJSON_Parse(cases[_i].labels);
    ck_assert_ptr_nonnull(b);
    int rc = pdbs_put(s, b, err, sizeof err);
    ck_assert_msg(rc == cases[_i].rc, "%s: rc %d (%s)", cases[_i].name, rc, err);
    if (rc)
        ck_assert_msg(strstr(err, "a/b") != NULL, "%s: %s", cases[_i].name, err);
    pdb_labels_flatten(l, flat, sizeof flat);
    int n = pdbs_match(s, cases[_i].ns, flat, hits, 4);
    ck_assert_msg(n == cases[_i].hits, "%s: %d budgets", cases[_i].name, n);
    if (n)
        ck_assert_int_eq(hits[0].allowed, 2);
    ck_assert_uint_eq(pdbs_count(s), rc ? 0 : 1);
    cJSON_Delete(b);
    cJSON_Delete(l);
    pdbs_destroy(s);
}
END_TEST

START_TEST(replace_and_delete)
{
    char err[256];
    struct pdb_hit hits[4];
    struct pdbs *s = pdbs_create();
    cJSON *b = cJSON_Parse("{\"metadata\":{\"name\":\"b\",\"namespace\":\"a\"},\"spec\":{"
                           "\"selector\":{}},\"status\":{\"disruptionsAllowed\":1}}");
    cJSON *bad = cJSON_Parse("{\"metadata\":{\"name\":\"b\",\"namespace\":\"a\"},\"spec\":{"
                             "\"selector\":{\"matchLabels\":5}}}");
    ck_assert_int_eq(pdbs_put(s, b, err, sizeof err), 0);
    ck_assert_int_eq(pdbs_put(s, b, err, sizeof err), 0); /* replaced, not added */
    ck_assert_uint_eq(pdbs_count(s), 1);
    /* a broken new version removes the old one rather than keeping it */
    ck_assert_int_eq(pdbs_put(s, bad, err, sizeof err), ERR_INVAL);
    ck_assert_int_eq(pdbs_match(s, "a", "", hits, 4), 0);
    ck_assert_int_eq(pdbs_put(s, b, err, sizeof err), 0);
    pdbs_del(s, "a", "b");
    ck_assert_uint_eq(pdbs_count(s), 0);
    pdbs_del(s, "a", "none");
    pdbs_clear(s);
    cJSON_Delete(b);
    cJSON_Delete(bad);
    pdbs_destroy(s);
    pdbs_destroy(NULL);
}
END_TEST

START_TEST(flatten)
{
    char flat[32];
    cJSON *l = cJSON_Parse("{\"a\":\"1\",\"b=c\":\"2\",\"d\":\"x\\ny\",\"e\":5,\"long\":"
                           "\"0123456789012345678901234567890123456789\"}");
    ck_assert_uint_eq(pdb_labels_flatten(l, flat, sizeof flat), 4);
    ck_assert_str_eq(flat, "a=1\n");
    ck_assert_uint_eq(pdb_labels_flatten(NULL, flat, sizeof flat), 0);
    ck_assert_str_eq(flat, "");
    cJSON_Delete(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pdb");
    TCase *tc = tcase_create("pdb");
    tcase_add_loop_test(tc, selector_cases, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_test(tc, replace_and_delete);
    tcase_add_test(tc, flatten);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* verdicts: the ring of the last filter verdicts stays bounded, reads
 * newest first and once per pod, and tallies HAMi's reason words; and the
 * web view's YAML reader. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/ui.h"
#include "server/verdicts.h"
#include "tests/support/harness.h"

static struct verdict *entry(const char *uid, double at)
{
    static struct verdict e;
    memset(&e, 0, sizeof e);
    verdict_copy(e.uid, sizeof e.uid, uid);
    verdict_copy(e.name, sizeof e.name, uid);
    e.at = at;
    return &e;
}

/* cap, pods added (distinct uids, then uid "p0" again), entries read. */
static const struct {
    size_t cap;
    int add;
    bool again;
    size_t want;
    const char *newest;
} rings[] = {
    {8, 0, false, 0, NULL},
    {8, 3, false, 3, "p2"},
    {8, 1000, false, 8, "p999"},
    {8, 5, true, 5, "p0"},
    {1, 10, false, 1, "p9"},
    {0, 300, false, VERDICTS_MAX, "p299"},
    {VERDICTS_MAX + 1, 300, false, VERDICTS_MAX, "p299"},
};

START_TEST(test_ring)
{
    struct verdicts *v = verdicts_create(rings[_i].cap);
    struct verdict *out = calloc(VERDICTS_MAX + 8, sizeof *out);
    char uid[32];
    for (int i = 0; i < rings[_i].add; i++) {
        snprintf(uid, sizeof uid, "p%d", i);
        verdicts_add(v, entry(uid, i));
    }
    if (rings[_i].again)
        verdicts_add(v, entry("p0", 1e6));
    size_t n = verdicts_read(v, out, VERDICTS_MAX + 8);
    ck_assert_uint_eq(n, rings[_i].want);
    ck_assert_uint_eq(verdicts_total(v), (uint64_t)rings[_i].add + rings[_i].again);
    if (n)
        ck_assert_str_eq(out[0].uid, rings[_i].newest);
    for (size_t i = 1; i < n; i++) {
        ck_assert(out[i].seq < out[i - 1].seq); /* newest first */
        for (size_t k = 0; k < i; k++)
            ck_assert_str_ne(out[i].uid, out[k].uid); /* one per pod */
    }
    /* a short reader gets the newest only */
    if (n > 2)
        ck_assert_uint_eq(verdicts_read(v, out, 2), 2);
    free(out);
    verdicts_destroy(v);
    verdicts_destroy(NULL);
    verdicts_add(NULL, entry("x", 0));
}
END_TEST

/* Reason texts of several nodes -> words and node counts. */
static const struct {
    const char *why[4];
    const char *want; /* "word=nodes;..." in first-seen order */
} tallies[] = {
    {{"8/8 CardInsufficientMemory", "4/4 CardInsufficientMemory"}, "CardInsufficientMemory=2;"},
    {{"1/8 CardCordoned, 1/8 CardNotHealth, 6/8 CardInsufficientMemory", "NodeInsufficientDevice"},
     "CardCordoned=1;CardNotHealth=1;CardInsufficientMemory=1;NodeInsufficientDevice=1;"},
    {{"", NULL}, "Unknown=1;"},
    {{"CardTypeMismatch", "2/2 CardTypeMismatch", " , CardTypeMismatch"}, "CardTypeMismatch=3;"},
};

static void tally_text(const struct verdict *e, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int k = 0; k < e->nreason; k++)
        len +=
            (size_t)snprintf(out + len, cap - len, "%s=%d;", e->reason[k].word, e->reason[k].nodes);
}

START_TEST(test_tally)
{
    struct verdict *e = calloc(1, sizeof *e);
    char got[512];
    for (int i = 0; i < 4 && (tallies[_i].why[i] || i == 0); i++)
        verdict_tally(e, tallies[_i].why[i]);
    tally_text(e, got, sizeof got);
    ck_assert_str_eq(got, tallies[_i].want);
    free(e);
}
END_TEST

/* More distinct words than slots: the last slot counts the rest as "other". */
START_TEST(test_tally_bounded)
{
    struct verdict *e = calloc(1, sizeof *e);
    char why[64], longword[300];
    for (int i = 0; i < 40; i++) {
        snprintf(why, sizeof why, "Reason%d", i);
        verdict_tally(e, why);
    }
    ck_assert_int_eq(e->nreason, VERDICT_REASONS_MAX);
    ck_assert_str_eq(e->reason[VERDICT_REASONS_MAX - 1].word, "other");
    ck_assert_int_eq(e->reason[VERDICT_REASONS_MAX - 1].nodes, 40 - (VERDICT_REASONS_MAX - 1));
    memset(e, 0, sizeof *e);
    memset(longword, 'w', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    verdict_tally(e, longword);
    ck_assert_uint_eq(strlen(e->reason[0].word), sizeof e->reason[0].word - 1);
    verdict_copy(e->name, 4, "abcdef");
    ck_assert_str_eq(e->name, "abc");
    verdict_copy(e->name, 4, NULL);
    ck_assert_str_eq(e->name, "");
    free(e);
}
END_TEST

/* YAML in, JSON (printed unformatted) or an error naming the problem out. */
static const struct {
    const char *yaml;
    const char *json; /* NULL: an error containing err */
    const char *err;
} yamls[] = {
    {"kind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n    resources:\n"
     "      limits:\n        nvidia.com/gpu: 1\n        nvidia.com/gpumem: \"3000\"\n",
     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{\"name\":\"c\","
     "\"resources\":{\"limits\":{\"nvidia.com/gpu\":1,\"nvidia.com/gpumem\":\"3000\"}}}]}}",
     NULL},
    {"a: true\nb: ~\nc: 1.5\nd: '1'\ne: x1\n",
     "{\"a\":true,\"b\":null,\"c\":1.5,\"d\":\"1\",\"e\":\"x1\"}", NULL},
    {"a: [1, 2\n", NULL, "line"},
    {"", NULL, "empty"},
    {"? [a]\n: b\n", NULL, "key"},
    /* one key twice: refused (a JSON object has each key once; found by fuzz/uiyaml) */
    {"kind: Pod\nspec: {}\nkind: Node\n", NULL, "the key \"kind\" appears twice"},
    /* plain scalars strtod reads but JSON cannot carry stay strings */
    {"a: nan\nb: inf\nc: 1e999\n", "{\"a\":\"nan\",\"b\":\"inf\",\"c\":\"1e999\"}", NULL},
    /* a billion laughs: aliases expand past the bound, not the memory */
    {"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, "
     "*c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, "
     "*e, *e]\n",
     NULL, "too many values"},
};

START_TEST(test_yaml)
{
    char err[256];
    cJSON *j = ui_yaml_to_json(yamls[_i].yaml, strlen(yamls[_i].yaml), err, sizeof err);
    if (yamls[_i].json) {
        ck_assert_msg(j != NULL, "%s", err);
        char *s = cJSON_PrintUnformatted(j);
        ck_assert_str_eq(s, yamls[_i].json);
        cJSON_free(s);
    } else {
        ck_assert_ptr_null(j);
        ck_assert_msg(strstr(err, yamls[_i].err), "%s", err);
    }
    cJSON_Delete(j);
}
END_TEST

/* Nested deeper than the bound: an error, not a stack overflow. */
START_TEST(test_yaml_deep)
{
    char *y = malloc(20000), err[256];
    size_t n = 0;
    for (int i = 0; i < 5000; i++)
        y[n++] = '[';
    for (int i = 0; i < 5000; i++)
        y[n++] = ']';
    y[n] = '\0';
    cJSON *j = ui_yaml_to_json(y, n, err, sizeof err);
    ck_assert_ptr_null(j);
    ck_assert_msg(err[0], "no reason given");
    free(y);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verdicts");
    TCase *tc = tcase_create("verdicts");
    tcase_add_loop_test(tc, test_ring, 0, sizeof rings / sizeof rings[0]);
    tcase_add_loop_test(tc, test_tally, 0, sizeof tallies / sizeof tallies[0]);
    tcase_add_test(tc, test_tally_bounded);
    tcase_add_loop_test(tc, test_yaml, 0, sizeof yamls / sizeof yamls[0]);
    tcase_add_test(tc, test_yaml_deep);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

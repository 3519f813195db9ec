/* Malformed bodies for /filter, /prioritize and /bind through the real
 * binary: nulls and wrong types at every level of ExtenderArgs and
 * ExtenderBindingArgs. Each is answered (200 with an Error, 200 with a
 * priority list, or 400) and the process stays up (/healthz after each). */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

/* A pod asking one GPU, put together from its parts. */
#define CTR(res)      "{\"name\":\"c\",\"resources\":" res "}"
#define GPU1          "{\"limits\":{\"nvidia.com/gpu\":\"1\"}}"
#define SPEC(ctrs)    "\"spec\":{\"containers\":" ctrs "}"
#define SPEC_OK       SPEC("[" CTR(GPU1) "]")
#define META(fields)  "\"metadata\":{" fields "}"
#define IDS           "\"name\":\"p\",\"namespace\":\"default\""
#define META_OK       META(IDS ",\"uid\":\"u-1\"")
#define POD(m, s)     "{" m "," s "}"
#define POD_OK        POD(META_OK, SPEC_OK)
#define NAMES         "\"NodeNames\":[\"gpu-a\",\"gpu-b\"]"
#define ARGS(p, n)    "{\"Pod\":" p "," n "}"
#define WITH_POD(p)   ARGS(p, NAMES)
#define WITH_NODES(n) ARGS(POD_OK, n)
#define BIND(f)       "{" f "}"
#define BIND_IDS      "\"PodName\":\"p\",\"PodNamespace\":\"default\""

enum { F = 1, P = 2, B = 4 };

/* Where want is set, /filter (or /bind) must answer 200 with an Error
 * containing it; otherwise any well-formed answer will do. */
static const struct {
    int verbs;
    const char *body;
    const char *want;
} cases[] = {
    /* the body */
    {F | P | B, "null", NULL},
    {F | P | B, "5", NULL},
    {F | P | B, "\"s\"", NULL},
    {F | P | B, "[]", NULL},
    {F | P, "{}", "no Pod"},
    /* Pod */
    {F | P, WITH_POD("null"), "no Pod"},
    {F | P, WITH_POD("5"), "no Pod"},
    {F | P, WITH_POD("[]"), "no Pod"},
    {F | P, WITH_POD("{}"), NULL},
    /* Pod.metadata and its fields */
    {F | P, WITH_POD(POD("\"metadata\":null", SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD("\"metadata\":5", SPEC_OK)), "metadata"},
    {F | P, WITH_POD(POD("\"metadata\":[]", SPEC_OK)), "metadata"},
    {F | P, WITH_POD(POD(META(""), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":null"), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":5"), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":\"\""), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":{}"), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":[]"), SPEC_OK)), "metadata.uid"},
    {F | P, WITH_POD(POD(META("\"uid\":\"u-2\""), SPEC_OK)), NULL},
    {F | P, WITH_POD(POD(META("\"name\":null,\"namespace\":null,\"uid\":\"u-3\""), SPEC_OK)), NULL},
    {F | P, WITH_POD(POD(META("\"name\":5,\"uid\":\"u-4\""), SPEC_OK)), "metadata.name"},
    {F | P, WITH_POD(POD(META("\"namespace\":[],\"uid\":\"u-5\""), SPEC_OK)), "metadata.namespace"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":\"u-6\",\"annotations\":null"), SPEC_OK)), NULL},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":\"u-7\",\"annotations\":5"), SPEC_OK)), "annotations"},
    {F | P, WITH_POD(POD(META(IDS ",\"uid\":\"u-8\",\"annotations\":[]"), SPEC_OK)), "annotations"},
    {F | P,
     WITH_POD(
         POD(META(IDS ",\"uid\":\"u-9\",\"annotations\":{\"hami.io/node-scheduler-policy\":5}"),
             SPEC_OK)),
     "hami.io/node-scheduler-policy"},
    {F | P,
     WITH_POD(POD(META(IDS ",\"uid\":\"u-10\",\"annotations\":{\"hami.io/gpu-scheduler-policy\":"
                           "null}"),
                  SPEC_OK)),
     NULL},
    /* Pod.spec and its containers */
    {F | P, WITH_POD("{" META_OK "}"), "no containers"},
    {F | P, WITH_POD(POD(META_OK, "\"spec\":null")), "no containers"},
    {F | P, WITH_POD(POD(META_OK, "\"spec\":5")), "spec"},
    {F | P, WITH_POD(POD(META_OK, SPEC("null"))), "no containers"},
    {F | P, WITH_POD(POD(META_OK, SPEC("5"))), "containers"},
    {F | P, WITH_POD(POD(META_OK, SPEC("{}"))), "containers"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[null]"))), "containers"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[5]"))), "containers"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[{}]"))), NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[{\"name\":null}]"))), NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[{\"name\":5}]"))), "name"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("null") "]"))), NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("5") "]"))), "resources"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"limits\":null}") "]"))), NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"limits\":5}") "]"))), "limits"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"limits\":{\"nvidia.com/gpu\":null}}") "]"))),
     NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"limits\":{\"nvidia.com/gpu\":5}}") "]"))), NULL},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"limits\":{\"nvidia.com/gpu\":[]}}") "]"))),
     "nvidia.com/gpu"},
    {F | P, WITH_POD(POD(META_OK, SPEC("[" CTR("{\"requests\":5}") "]"))), "requests"},
    {F | P, WITH_POD(POD(META_OK, "\"spec\":{\"initContainers\":5}")), "initContainers"},
    {F | P, WITH_POD(POD(META_OK, "\"spec\":{\"initContainers\":[null]}")), "initContainers"},
    /* NodeNames */
    {F | P, ARGS(POD_OK, "\"NodeNames\":null"), "neither NodeNames nor Nodes"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":5"), "neither NodeNames nor Nodes"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":{}"), "neither NodeNames nor Nodes"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[null]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[5]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[\"\"]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[[]]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[{}]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[true]"), "NodeNames[0]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[\"gpu-a\",null]"), "NodeNames[1]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[\"gpu-a\",5,\"gpu-b\"]"), "NodeNames[1]"},
    {F | P, ARGS(POD_OK, "\"NodeNames\":[]"), NULL},
    /* Nodes */
    {F | P, WITH_NODES("\"Nodes\":null"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":5"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":[]"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":{}"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":null}"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":5}"), "neither NodeNames nor Nodes"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[null]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[5]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{}]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":null}]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":5}]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":{\"name\":5}}]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":{\"name\":null}}]}"), "Nodes.items[0]"},
    {F | P, WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"gpu-a\"}},{}]}"),
     "Nodes.items[1]"},
    {F | P,
     WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"gpu-a\",\"resourceVersion\":5,"
                "\"annotations\":5},\"status\":null}]}"),
     NULL},
    {F | P,
     WITH_NODES("\"Nodes\":{\"items\":[{\"metadata\":{\"name\":\"new-1\",\"annotations\":{"
                "\"hami.io/node-nvidia-register\":5}},\"status\":{\"allocatable\":5}}]}"),
     NULL},
    /* ExtenderBindingArgs */
    {B, "{}", "PodUID"},
    {B, BIND("\"PodName\":null,\"PodNamespace\":null,\"PodUID\":null,\"Node\":null"), "PodUID"},
    {B, BIND(BIND_IDS ",\"PodUID\":5,\"Node\":\"gpu-a\""), "PodUID"},
    {B, BIND(BIND_IDS ",\"PodUID\":\"u-1\",\"Node\":[]"), "Node"},
    {B, BIND(BIND_IDS ",\"PodUID\":\"u-1\",\"Node\":\"\""), "Node"},
    {B, BIND(BIND_IDS ",\"PodUID\":\"\",\"Node\":\"gpu-a\""), "PodUID"},
    {B, BIND("\"PodName\":{},\"PodNamespace\":\"d\",\"PodUID\":\"u-1\",\"Node\":\"gpu-a\""),
     "PodName"},
    {B, BIND(BIND_IDS ",\"PodUID\":\"u-none\",\"Node\":\"ghost\""), "filter it again"},
};

static const char *const paths[] = {"/filter", "/prioritize", "/bind"};

static struct harness *h; /* one process, started again after a death */

static void teardown(void)
{
    if (h)
        ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
    h = NULL;
}

static int port(void)
{
    if (!h) {
        char cluster[4096];
        const char *d = getenv("VS_TEST_DATA");
        snprintf(cluster, sizeof cluster, "%s/e2e/cluster.json", d ? d : "tests/data");
        const char *args[] = {"--snapshot", cluster, NULL};
        h = harness_start(args);
        ck_assert_ptr_nonnull(h);
    }
    return harness_port(h);
}

/* After a request: the process still answers /healthz. When it does not,
 * it is reaped (the next case starts another) and the test fails. */
static void still_alive(const char *what)
{
    struct harness_reply r;
    int rc = harness_get(port(), "/healthz", &r);
    long status = r.status;
    harness_reply_free(&r);
    if (rc == 0 && status == 200)
        return;
    int code = harness_stop(h, SIGKILL, 5000);
    harness_free(h);
    h = NULL;
    ck_abort_msg("%s: the process died (status %d)", what, code);
}

/* The answer is one of the protocol's: 400, or 200 with JSON of the verb's
 * shape; want (when set) in the Error of /filter and /bind. */
static void check_answer(const char *path, const char *want, const struct harness_reply *r,
                         const char *what)
{
    ck_assert_msg(r->status == 200 || r->status == 400, "%s: status %ld", what, r->status);
    if (r->status == 400) {
        ck_assert_msg(want == NULL, "%s: 400, want an Error with \"%s\"", what, want);
        return;
    }
    cJSON *j = cJSON_Parse(buf_str(&r->body));
    ck_assert_msg(j != NULL, "%s: answer is not JSON: %.200s", what, buf_str(&r->body));
    if (strcmp(path, "/prioritize") == 0) {
        ck_assert_msg(cJSON_IsArray(j), "%s: not a priority list", what);
    } else {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
        ck_assert_msg(e != NULL, "%s: no Error field", what);
        ck_assert_msg(!want || strstr(e, want) != NULL, "%s: Error \"%s\" lacks \"%s\"", what, e,
                      want);
    }
    cJSON_Delete(j);
}

START_TEST(sweep)
{
    for (int v = 0; v < 3; v++) {
        if (!(cases[_i].verbs & (1 << v)))
            continue;
        char what[160];
        snprintf(what, sizeof what, "case %d %s %.80s", _i, paths[v], cases[_i].body);
        struct harness_reply r;
        const char *b = cases[_i].body;
        int rc = harness_post(port(), paths[v], b, strlen(b), &r);
        if (rc == 0)
            check_answer(paths[v], cases[_i].want, &r, what);
        harness_reply_free(&r);
        still_alive(what);
        ck_assert_msg(rc == 0, "%s: no answer", what);
    }
}
END_TEST

/* NodeNames past the limit of 100,000 candidates: refused with an Error. */
START_TEST(too_many_names)
{
    size_t n = 100001;
    struct buf b;
    buf_init(&b, (size_t)16 << 20);
    buf_puts(&b, "{\"Pod\":" POD_OK ",\"NodeNames\":[");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s\"n%zu\"", i ? "," : "", i);
    buf_puts(&b, "]}");
    for (int v = 0; v < 2; v++) {
        struct harness_reply r;
        int rc = harness_post(port(), paths[v], buf_str(&b), b.len, &r);
        if (rc == 0 && v == 0)
            check_answer(paths[v], "over the limit", &r, "100,001 NodeNames");
        if (rc == 0 && v == 1)
            check_answer(paths[v], NULL, &r, "100,001 NodeNames");
        harness_reply_free(&r);
        still_alive(paths[v]);
        ck_assert_int_eq(rc, 0);
    }
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e-malformed");
    TCase *tc = tcase_create("malformed");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, teardown);
    tcase_add_loop_test(tc, sweep, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, too_many_names);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

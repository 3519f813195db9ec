/* e2e: the web view's routes through the real binary on the demo cluster:
 * the page and its redirect, numbers equal to /inspect's, paging, one
 * node, the bounded ring of filter verdicts with user input escaped, the
 * dry run (the same answer as `simulate`, nothing reserved), and where
 * --web-ui serves it. */
#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/device.h"
#include "server/verdicts.h"
#include "tests/support/harness.h"

#define RUN_MS 10000

static char demo[4096];
static struct harness *h;
static int port;

static const char *demo_path(void)
{
    const char *src = getenv("VS_SOURCE");
    snprintf(demo, sizeof demo, "%s/examples/demo-cluster.json", src ? src : ".");
    return demo;
}

static void start(void)
{
    const char *args[] = {"--snapshot", demo_path(), NULL};
    h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    port = harness_port(h);
}

static void stop(void)
{
    harness_finish(&h);
}

/* ---- HTTP with headers ---- */

struct reply {
    long status;
    struct buf body, head;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) ? 0 : size * n;
}

static void get(int p, const char *path, struct reply *r)
{
    char url[512];
    memset(r, 0, sizeof *r);
    buf_init(&r->body, 64u << 20);
    buf_init(&r->head, 1u << 16);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p, path);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r->head);
    ck_assert_int_eq(curl_easy_perform(e), CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(e);
}

static void reply_free(struct reply *r)
{
    buf_free(&r->body);
    buf_free(&r->head);
}

static cJSON *get_json(const char *path)
{
    cJSON *j = harness_get_json(port, path);
    ck_assert_msg(j != NULL, "GET %s: no JSON", path);
    return j;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    ck_assert_msg(cJSON_IsNumber(v), "no number %s", k);
    return v->valuedouble;
}

/* ---- the page ---- */

static const struct {
    const char *path;
    long status;
    const char *head_has; /* case as sent */
    const char *body_has;
} pages[] = {
    {"/", 302, "Location: /ui/", "/ui/"},
    {"/ui", 302, "Location: /ui/", "/ui/"},
    {"/ui/", 200, "Content-Security-Policy: default-src 'none'; script-src 'self'",
     "<script src=\"/ui/app.js\""},
    {"/ui/", 200, "Content-Type: text/html", "Pending and refused"},
    {"/ui/app.js", 200, "Content-Type: text/javascript", "textContent"},
    {"/ui/style.css", 200, "Content-Type: text/css", ".cell"},
    {"/ui/nope.js", 404, "", "not found"},
    {"/ui/api/view", 200, "Content-Type: application/json", "\"totals\""},
    {"/ui/api/pending", 200, "X-Content-Type-Options: nosniff", "\"pods\""},
    {"/ui/api/node?name=nope", 404, "X-Content-Type-Options: nosniff", "no such node"},
};

START_TEST(test_pages)
{
    struct reply r;
    get(port, pages[_i].path, &r);
    ck_assert_int_eq(r.status, pages[_i].status);
    ck_assert_msg(strstr(buf_str(&r.head), pages[_i].head_has), "%s", buf_str(&r.head));
    ck_assert_msg(strstr(buf_str(&r.body), pages[_i].body_has), "%s", buf_str(&r.body));
    reply_free(&r);
}
END_TEST

/* The page never builds HTML from data: no innerHTML, outerHTML,
 * insertAdjacentHTML, document.write or eval in its script. */
START_TEST(test_script_uses_text_only)
{
    static const char *const banned[] = {"innerHTML",      "outerHTML", "insertAdjacentHTML",
                                         "document.write", "eval(",     "new Function"};
    struct reply r;
    get(port, "/ui/app.js", &r);
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        ck_assert_msg(!strstr(buf_str(&r.body), banned[i]), "app.js uses %s", banned[i]);
    reply_free(&r);
}
END_TEST

/* ---- pools: the same numbers as /inspect ---- */

START_TEST(test_view_equals_inspect)
{
    static const char *const keys[] = {"memMiB",    "memUsedMiB", "cores",
                                       "coresUsed", "slots",      "slotsUsed"};
    static const char *const gkeys[] = {"memMiB",    "memUsedMiB", "cores",
                                        "coresUsed", "slots",      "slotsUsed"};
    double want[6] = {0}, gpus = 0, sick = 0, cordoned = 0, sum[6] = {0}, pgpus = 0;
    cJSON *in = get_json("/inspect"), *v = get_json("/ui/api/view"), *n, *g, *p;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(in, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            for (int k = 0; k < 6; k++)
                want[k] += num(g, gkeys[k]);
            gpus++;
            sick += !cJSON_IsTrue(cJSON_GetObjectItem(g, "health"));
            cordoned += cJSON_IsTrue(cJSON_GetObjectItem(g, "cordoned"));
        }
    }
    const cJSON *t = cJSON_GetObjectItem(v, "totals");
    ck_assert_int_eq((int)num(t, "nodes"), cJSON_GetArraySize(cJSON_GetObjectItem(in, "nodes")));
    ck_assert_int_eq((int)num(t, "gpus"), (int)gpus);
    ck_assert_int_eq((int)num(t, "unhealthy"), (int)sick);
    ck_assert_int_eq((int)num(t, "cordoned"), (int)cordoned);
    ck_assert_int_gt((int)sick, 0); /* the demo cluster has one of each */
    ck_assert_int_gt((int)cordoned, 0);
    for (int k = 0; k < 6; k++)
        ck_assert_msg(num(t, keys[k]) == want[k], "%s: %f, /inspect %f", keys[k], num(t, keys[k]),
                      want[k]);
    ck_assert_int_eq((int)num(v, "pods"), (int)num(in, "pods"));
    /* pools add up to the totals; each names a device backend row */
    int rows = 0;
    while (policy_device_backends[rows])
        rows++;
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "vendors")), rows);
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(v, "pools"))
    {
        bool known = false;
        for (int r = 0; r < rows; r++)
            known |= strcmp(policy_device_backends[r]->name,
                            cJSON_GetStringValue(cJSON_GetObjectItem(p, "vendor"))) == 0;
        ck_assert(known);
        for (int k = 0; k < 6; k++)
            sum[k] += num(p, keys[k]);
        pgpus += num(p, "gpus");
    }
    for (int k = 0; k < 6; k++)
        ck_assert(sum[k] == want[k]);
    ck_assert(pgpus == gpus);
    cJSON_Delete(in);
    cJSON_Delete(v);
}
END_TEST

/* ---- paging and filters ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_paging)
{
    cJSON *in = get_json("/inspect"), *v, *n;
    int total = cJSON_GetArraySize(cJSON_GetObjectItem(in, "nodes")), k = 0;
    char **want = calloc((size_t)total, sizeof *want), path[256];
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(in, "nodes")) want[k++] =
        cJSON_GetStringValue(cJSON_GetObjectItem(n, "name"));
    qsort(want, (size_t)total, sizeof *want, cmp_str);
    /* pages of 2 walk every node once, in name order */
    k = 0;
    for (int off = 0; off < total + 2; off += 2) {
        snprintf(path, sizeof path, "/ui/api/view?limit=2&offset=%d", off);
        v = get_json(path);
        ck_assert_int_eq((int)num(v, "match"), total);
        ck_assert_int_eq((int)num(v, "limit"), 2);
        cJSON_ArrayForEach(n, cJSON_GetObjectItem(v, "nodes"))
        {
            ck_assert_int_lt(k, total);
            ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), want[k++]);
        }
        cJSON_Delete(v);
    }
    ck_assert_int_eq(k, total);
    /* the limit is clamped */
    v = get_json("/ui/api/view?limit=999999");
    ck_assert_int_eq((int)num(v, "limit"), 1000);
    cJSON_Delete(v);
    v = get_json("/ui/api/view?limit=0");
    ck_assert_int_eq((int)num(v, "limit"), 1);
    cJSON_Delete(v);
    free(want);
    cJSON_Delete(in);
}
END_TEST

static const struct {
    const char *query;
    int match;
    const char *first;
} filters[] = {
    {"q=h100", 2, "gpu-h100-1"},
    {"q=nothing-like-this", 0, NULL},
    {"model=NVIDIA-Tesla%20T4", 1, "gpu-t4-1"},
    {"vendor=cambricon", 1, "mlu-370-1"},
    {"vendor=nvidia&q=a100-40", 1, "gpu-a100-40g-1"},
    {"q=%3Cscript%3E", 0, NULL},
    {"label=nvidia.com%2Fgpu.product%3DNVIDIA-H100-80GB-HBM3", 2, "gpu-h100-1"},
    {"label=node-role.kubernetes.io%2Fworker", 2, "cpu-1"},
    {"label=node-role.kubernetes.io%2Fworker%3D", 2, "cpu-1"},
    {"label=ascend%3Doff", 0, NULL},
    {"label=ascen", 0, NULL},
    {"label=gpu%3Don&q=t4", 1, "gpu-t4-1"},
    {"label=", 11, "cpu-1"}, /* every node of the demo cluster */
};

START_TEST(test_filters)
{
    char path[256];
    snprintf(path, sizeof path, "/ui/api/view?%s", filters[_i].query);
    cJSON *v = get_json(path);
    ck_assert_int_eq((int)num(v, "match"), filters[_i].match);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(v, "nodes"), 0);
    if (filters[_i].first)
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(first, "name")),
                         filters[_i].first);
    else
        ck_assert_ptr_null(first);
    cJSON_Delete(v);
}
END_TEST

static const struct {
    const char *path;
    long status;
    const char *body_has;
} bad_gets[] = {
    {"/ui/api/view?offset=abc", 400, "whole numbers"},
    {"/ui/api/view?limit=1x", 400, "whole numbers"},
    {"/ui/api/node", 400, "which node"},
    {"/ui/api/node?name=", 400, "which node"},
    {"/ui/api/node?name=%3Cscript%3E", 404, "no such node"},
    {"/ui/api/node?name=gpu-h100-2", 200, "\"cordoned\":true"},
    {"/ui/api/node?name=gpu-h100-2", 200, "\"health\":false"},
    {"/ui/api/node?name=gpu-a100-80g-1", 200, "\"links\":["},
    {"/ui/api/node?name=gpu-t4-1", 200, "kubernetes.io/hostname=gpu-t4-1\\n"},
    {"/ui/api/simulate", 405, "method not allowed"},
};

START_TEST(test_bad_gets)
{
    struct reply r;
    get(port, bad_gets[_i].path, &r);
    ck_assert_int_eq(r.status, bad_gets[_i].status);
    ck_assert_msg(strstr(buf_str(&r.body), bad_gets[_i].body_has), "%s", buf_str(&r.body));
    reply_free(&r);
}
END_TEST

/* ---- pending and refused ---- */

/* A pod asking one GPU with mem MiB. New string. */
static char *pod_json(const char *name, const char *uid, int mem)
{
    cJSON *p = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(p, "kind", "Pod");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", "default");
    cJSON_AddStringToObject(md, "uid", uid);
    cJSON *c = cJSON_CreateObject(), *lim = cJSON_CreateObject(), *res = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "c");
    cJSON_AddStringToObject(lim, "nvidia.com/gpu", "1");
    char m[32];
    snprintf(m, sizeof m, "%d", mem);
    cJSON_AddStringToObject(lim, "nvidia.com/gpumem", m);
    cJSON_AddItemToObject(res, "limits", lim);
    cJSON_AddItemToObject(c, "resources", res);
    cJSON *spec = cJSON_AddObjectToObject(p, "spec");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
    char *s = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    return s;
}

/* Filter the pod on every demo node; returns the answer (new). */
static char *filter(const char *name, const char *uid, int mem)
{
    static const char *const nodes = "[\"gpu-a100-80g-1\",\"gpu-a100-80g-2\",\"gpu-a100-40g-1\","
                                     "\"gpu-h100-1\",\"gpu-h100-2\",\"gpu-t4-1\",\"cpu-1\"]";
    char *pod = pod_json(name, uid, mem);
    size_t n = strlen(pod) + strlen(nodes) + 64;
    char *body = malloc(n);
    snprintf(body, n, "{\"Pod\":%s,\"NodeNames\":%s}", pod, nodes);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *out = strdup(buf_str(&r.body));
    harness_reply_free(&r);
    free(pod);
    free(body);
    return out;
}

START_TEST(test_pending_escaped)
{
    free(filter("<script>alert(1)</script>", "xss-uid", 100000));
    free(filter("fits", "fits-uid", 1000));
    struct reply r;
    get(port, "/ui/api/pending", &r);
    const char *b = buf_str(&r.body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(!strstr(b, "<script>") && !strstr(b, "</script>"), "%s", b);
    ck_assert_msg(strstr(b, "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"), "%s", b);
    cJSON *j = cJSON_Parse(b), *p, *x = NULL, *ok = NULL;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "pods"))
    {
        const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(p, "uid"));
        if (!strcmp(uid, "xss-uid"))
            x = p;
        if (!strcmp(uid, "fits-uid"))
            ok = p;
    }
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(ok);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(x, "name")),
                     "<script>alert(1)</script>");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(x, "node")), "");
    ck_assert_int_eq((int)num(x, "offered"), 7);
    ck_assert_int_eq((int)num(x, "fitted"), 0);
    /* HAMi's words, nodes counted per word: 6 GPU nodes too small, the
     * H100 node's cordoned and unhealthy cards, the CPU node */
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(x, "reasons"), 0);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "word")),
                     "CardInsufficientMemory");
    ck_assert_int_eq((int)num(r0, "nodes"), 6);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(x, "reasons")), 4);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(x, "examples")), 7);
    ck_assert_str_ne(cJSON_GetStringValue(cJSON_GetObjectItem(ok, "node")), "");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ok, "reasons")), 0);
    cJSON_Delete(j);
    reply_free(&r);
}
END_TEST

/* Many pods: the ring keeps the newest VERDICTS_MAX, one per pod. */
START_TEST(test_pending_bounded)
{
    char name[32];
    int total = VERDICTS_MAX + 40;
    for (int i = 0; i < total; i++) {
        snprintf(name, sizeof name, "p%03d", i);
        free(filter(name, name, 100000));
    }
    free(filter("p000", "p000", 100000)); /* again: its newest verdict only */
    cJSON *j = get_json("/ui/api/pending");
    ck_assert_int_eq((int)num(j, "recorded"), total + 1);
    cJSON *pods = cJSON_GetObjectItem(j, "pods");
    ck_assert_int_le(cJSON_GetArraySize(pods), VERDICTS_MAX);
    ck_assert_int_ge(cJSON_GetArraySize(pods), VERDICTS_MAX - 1);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(pods, 0), "uid")),
                     "p000");
    cJSON_Delete(j);
}
END_TEST

/* ---- where would it go ---- */

static cJSON *post_json(const char *path, const char *body, long want_status, char **text)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, path, body, strlen(body), &r), 0);
    ck_assert_msg(r.status == want_status, "%ld: %s", r.status, buf_str(&r.body));
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    if (text)
        *text = strdup(buf_str(&r.body));
    harness_reply_free(&r);
    return j;
}

/* The node `vgpu-scheduler simulate` chooses for pod (new string). */
static char *cli_simulate(const char *pod)
{
    char file[] = "/tmp/vs-ui-pod-XXXXXX";
    int fd = mkstemp(file);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, pod, strlen(pod)), (ssize_t)strlen(pod));
    close(fd);
    const char *args[] = {"simulate", "--snapshot", demo_path(), "--pod", file, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, RUN_MS, &r), 0);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    char *node = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")));
    cJSON_Delete(j);
    harness_result_free(&r);
    unlink(file);
    return node;
}

START_TEST(test_simulate)
{
    char *pod = pod_json("where", "where-uid", 20000), *want = cli_simulate(pod);
    cJSON *before = get_json("/inspect");
    cJSON *j = post_json("/ui/api/simulate", pod, 200, NULL);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), want);
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "annotations"),
                                              "hami.io/vgpu-devices-allocated"));
    /* the non-GPU nodes fail with HAMi's word; the others are listed */
    ck_assert_int_gt((int)num(j, "fitted"), 1);
    ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(j, "others")), 1);
    ck_assert_int_ge((int)num(j, "failedCount"), 1);
    cJSON_Delete(j);
    /* nothing changed: no reservation, the same usage */
    cJSON *after = get_json("/inspect");
    ck_assert_int_eq((int)num(after, "reservations"), 0);
    char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(before, "nodes"));
    char *b = cJSON_PrintUnformatted(cJSON_GetObjectItem(after, "nodes"));
    ck_assert_str_eq(a, b);
    /* the same pod as YAML: the same answer */
    const char *yaml =
        "kind: Pod\nmetadata:\n  name: where\n  namespace: default\n"
        "  uid: where-uid\nspec:\n  containers:\n  - name: c\n    resources:\n"
        "      limits:\n        nvidia.com/gpu: 1\n        nvidia.com/gpumem: 20000\n";
    j = post_json("/ui/api/simulate", yaml, 200, NULL);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")), want);
    cJSON_Delete(j);
    /* a pod nothing fits: no node, reasons summarised */
    free(pod);
    pod = pod_json("huge", "huge-uid", 100000);
    j = post_json("/ui/api/simulate", pod, 200, NULL);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "node")));
    ck_assert_int_eq((int)num(j, "fitted"), 0);
    ck_assert_int_le(cJSON_GetArraySize(cJSON_GetObjectItem(j, "failed")), 20);
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "reasons"), 0);
    ck_assert_ptr_nonnull(r0);
    cJSON_Delete(j);
    free(a);
    free(b);
    free(pod);
    free(want);
    cJSON_Delete(before);
    cJSON_Delete(after);
}
END_TEST

static const struct {
    const char *body;
    const char *has;
} bad_pods[] = {
    {"{\"kind\":\"Pod\"", "bad pod"},
    {"[1,2]", "bad pod"},
    {"- a\n- b\n", "not a mapping"},
    {"a: [1, 2\n", "YAML: line"},
    {"", "YAML: empty"},
    {"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":"
     "{\"limits\":{\"nvidia.com/gpu\":\"-3\"}}}]}}",
     "bad pod"},
};

START_TEST(test_simulate_bad)
{
    char *text = NULL;
    cJSON_Delete(post_json("/ui/api/simulate", bad_pods[_i].body, 400, &text));
    ck_assert_msg(strstr(text, bad_pods[_i].has), "%s", text);
    free(text);
}
END_TEST

/* A pod over the body limit is refused before it is read. */
START_TEST(test_simulate_too_big)
{
    size_t n = (1u << 20) + 10;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/ui/api/simulate", big, n, &r), 0);
    ck_assert_int_eq(r.status, 413);
    harness_reply_free(&r);
    free(big);
    ck_assert(harness_wait_ready(port, 2000)); /* still serving */
}
END_TEST

/* ---- a node's fragmentation as fragment-aware measures it ---- */

START_TEST(test_node_fragment)
{
    /* no workload learned yet: null */
    cJSON *j = get_json("/ui/api/node?name=gpu-a100-80g-1");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "fragmentMilliGpu")));
    cJSON_Delete(j);
    j = get_json("/ui/api/view");
    ck_assert(
        cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "totals"), "fragmentMilliGpu")));
    cJSON_Delete(j);
    /* a seeded workload: a number, more on a partly used node than none */
    char wl[4096];
    const char *src = getenv("VS_SOURCE");
    snprintf(wl, sizeof wl, "%s/examples/workload.json", src ? src : ".");
    const char *args[] = {"--snapshot", demo_path(), "--workload-file", wl, NULL};
    struct harness *w = harness_start(args);
    ck_assert_ptr_nonnull(w);
    cJSON *a = harness_get_json(harness_port(w), "/ui/api/node?name=gpu-a100-80g-1");
    ck_assert_ptr_nonnull(a);
    const cJSON *f = cJSON_GetObjectItem(a, "fragmentMilliGpu");
    ck_assert_msg(cJSON_IsNumber(f) && f->valuedouble >= 0, "no fragmentation");
    cJSON_Delete(a);
    /* the pools: each the sum of its nodes', the totals the sum of all */
    cJSON *v = harness_get_json(harness_port(w), "/ui/api/view?limit=1000");
    ck_assert_ptr_nonnull(v);
    double pools = 0, nodes = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(v, "pools"))
    {
        const cJSON *pf = cJSON_GetObjectItem(p, "fragmentMilliGpu");
        ck_assert_msg(cJSON_IsNumber(pf) && pf->valuedouble >= 0, "a pool without fragmentation");
        pools += pf->valuedouble;
    }
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(v, "nodes"))
    {
        char path[256];
        snprintf(path, sizeof path, "/ui/api/node?name=%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")));
        cJSON *one = harness_get_json(harness_port(w), path);
        const cJSON *nf = cJSON_GetObjectItem(one, "fragmentMilliGpu");
        nodes += cJSON_IsNumber(nf) ? nf->valuedouble : 0;
        cJSON_Delete(one);
    }
    const cJSON *t = cJSON_GetObjectItem(cJSON_GetObjectItem(v, "totals"), "fragmentMilliGpu");
    ck_assert(cJSON_IsNumber(t));
    ck_assert_msg(pools > 0 && fabs(pools - nodes) < 0.5 && fabs(t->valuedouble - pools) < 0.5,
                  "pools %.1f, nodes %.1f, totals %.1f", pools, nodes, t->valuedouble);
    cJSON_Delete(v);
    harness_finish(&w);
}
END_TEST

/* ---- --web-ui ---- */

START_TEST(test_web_ui_flag)
{
    struct reply r;
    const char *off[] = {"--snapshot", demo_path(), "--web-ui", "off", NULL};
    struct harness *o = harness_start(off);
    ck_assert_ptr_nonnull(o);
    get(harness_port(o), "/ui/", &r);
    ck_assert_int_eq(r.status, 404);
    reply_free(&r);
    get(harness_port(o), "/", &r);
    ck_assert_int_eq(r.status, 404);
    reply_free(&r);
    harness_finish(&o);

    const char *met[] = {
        "--snapshot",  demo_path(), "--web-ui", "metrics", "--metrics-bind-address",
        "127.0.0.1:0", NULL};
    o = harness_start(met);
    ck_assert_ptr_nonnull(o);
    int mport = harness_log_port(o, "serving /metrics on ", 5000);
    ck_assert_int_gt(mport, 0);
    get(harness_port(o), "/ui/api/view", &r);
    ck_assert_int_eq(r.status, 404);
    reply_free(&r);
    get(mport, "/ui/", &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    get(mport, "/ui/api/view", &r);
    ck_assert_msg(r.status == 200 && strstr(buf_str(&r.body), "\"totals\""), "%ld", r.status);
    reply_free(&r);
    get(mport, "/metrics", &r);
    ck_assert_int_eq(r.status, 200);
    reply_free(&r);
    harness_finish(&o);

    const char *bad[] = {"--snapshot", demo_path(), "--web-ui", "metrics", NULL};
    struct harness_result res;
    ck_assert_int_eq(harness_run(bad, RUN_MS, &res), 0);
    ck_assert_int_eq(res.status, 2);
    ck_assert_msg(strstr(buf_str(&res.err), "--web-ui=metrics: needs --metrics-bind-address"), "%s",
                  buf_str(&res.err));
    harness_result_free(&res);
    const char *typo[] = {"--snapshot", demo_path(), "--web-ui", "yes", NULL};
    ck_assert_int_eq(harness_run(typo, RUN_MS, &res), 0);
    ck_assert_int_eq(res.status, 2);
    ck_assert_msg(strstr(buf_str(&res.err), "--web-ui"), "%s", buf_str(&res.err));
    harness_result_free(&res);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ui");
    TCase *tc = tcase_create("ui");
    tcase_add_checked_fixture(tc, start, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_pages, 0, sizeof pages / sizeof pages[0]);
    tcase_add_test(tc, test_script_uses_text_only);
    tcase_add_test(tc, test_view_equals_inspect);
    tcase_add_test(tc, test_paging);
    tcase_add_loop_test(tc, test_filters, 0, sizeof filters / sizeof filters[0]);
    tcase_add_loop_test(tc, test_bad_gets, 0, sizeof bad_gets / sizeof bad_gets[0]);
    tcase_add_test(tc, test_pending_escaped);
    tcase_add_test(tc, test_pending_bounded);
    tcase_add_test(tc, test_simulate);
    tcase_add_loop_test(tc, test_simulate_bad, 0, sizeof bad_pods / sizeof bad_pods[0]);
    tcase_add_test(tc, test_simulate_too_big);
    tcase_add_test(tc, test_node_fragment);
    suite_add_tcase(s, tc);
    TCase *flags = tcase_create("flags");
    tcase_set_timeout(flags, 60);
    tcase_add_test(flags, test_web_ui_flag);
    suite_add_tcase(s, flags);
    return harness_run_suite(s, true);
}

/* The real binary on a snapshot, driven as kube-scheduler drives it. */
#include <check.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/harness.h"

static char cluster[4096];

static void setup(void)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(cluster, sizeof cluster, "%s/e2e/cluster.json", d ? d : "tests/data");
}

/* A Pod asking gpu GPUs (0: none) of mem MiB and cores %. ann: extra
 * annotations as "key","value",...,NULL. Caller frees. */
static cJSON *make_pod(const char *name, const char *uid, int gpu, int mem, int cores,
                       const char *const *ann)
{
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(p, "kind", "Pod");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    cJSON *a = cJSON_AddObjectToObject(meta, "annotations");
    for (int i = 0; ann && ann[i]; i += 2)
        cJSON_AddStringToObject(a, ann[i], ann[i + 1]);
    cJSON *c = cJSON_CreateObject(), *lim = cJSON_CreateObject(), *res = cJSON_CreateObject();
    char v[32];
    cJSON_AddStringToObject(c, "name", "main");
    if (gpu) {
        snprintf(v, sizeof v, "%d", gpu);
        cJSON_AddStringToObject(lim, "nvidia.com/gpu", v);
        snprintf(v, sizeof v, "%d", mem);
        cJSON_AddStringToObject(lim, "nvidia.com/gpumem", v);
        snprintf(v, sizeof v, "%d", cores);
        cJSON_AddStringToObject(lim, "nvidia.com/gpucores", v);
    }
    cJSON_AddItemToObject(res, "limits", lim);
    cJSON_AddItemToObject(c, "resources", res);
    cJSON *spec = cJSON_AddObjectToObject(p, "spec");
    cJSON *ctrs = cJSON_AddArrayToObject(spec, "containers");
    cJSON_AddItemToArray(ctrs, c);
    return p;
}

static const char *const all_nodes[] = {"gpu-a", "gpu-b", "cpu-1", "ghost", NULL};

/* ExtenderArgs with NodeNames; takes pod. Returns new text. */
static char *args_names(cJSON *pod, const char *const *names)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "Pod", pod);
    cJSON *n = cJSON_AddArrayToObject(a, "NodeNames");
    for (int i = 0; names[i]; i++)
        cJSON_AddItemToArray(n, cJSON_CreateString(names[i]));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* POST body to path; returns the parsed JSON answer (caller frees) and
 * checks the status. */
static cJSON *post(int port, const char *path, const char *body, long want_status)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, path, body, strlen(body), &r), 0);
    ck_assert_msg(r.status == want_status, "%s: status %ld, body %s", path, r.status,
                  buf_str(&r.body));
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    harness_reply_free(&r);
    return j;
}

static cJSON *filter(int port, const char *name, const char *uid, int gpu, int mem, int cores)
{
    char *body = args_names(make_pod(name, uid, gpu, mem, cores, NULL), all_nodes);
    cJSON *j = post(port, "/filter", body, 200);
    free(body);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *err_of(const cJSON *j)
{
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    ck_assert_ptr_nonnull(e);
    return e;
}

/* The one node a single-mode filter chose. */
static const char *chosen(const cJSON *j)
{
    const cJSON *n = cJSON_GetObjectItem(j, "NodeNames");
    ck_assert_int_eq(cJSON_GetArraySize(n), 1);
    return cJSON_GetArrayItem(n, 0)->valuestring;
}

static char *bind(int port, const char *name, const char *uid, const char *node)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\",\"Node\":\"%s\"}",
             name, uid, node);
    cJSON *j = post(port, "/bind", body, 200);
    char *e = strdup(err_of(j));
    cJSON_Delete(j);
    return e;
}

static cJSON *inspect(int port)
{
    cJSON *j = harness_get_json(port, "/inspect");
    ck_assert_ptr_nonnull(j);
    return j;
}

/* Memory in use on a node's GPU (by uuid) per /inspect, and whether the pod
 * uid is listed on it (its state copied to state). */
static int gpu_mem(const cJSON *ins, const char *uuid, const char *uid, char *state)
{
    const cJSON *n, *g, *p;
    if (state)
        state[0] = '\0';
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            if (strcmp(cJSON_GetObjectItem(g, "uuid")->valuestring, uuid) != 0)
                continue;
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
            {
                if (uid && state && strcmp(cJSON_GetObjectItem(p, "uid")->valuestring, uid) == 0)
                    strcpy(state, cJSON_GetObjectItem(p, "state")->valuestring);
            }
            return cJSON_GetObjectItem(g, "memUsedMiB")->valueint;
        }
    }
    return -1;
}

static int reservations(int port)
{
    cJSON *ins = inspect(port);
    int n = cJSON_GetObjectItem(ins, "reservations")->valueint;
    cJSON_Delete(ins);
    return n;
}

static struct harness *start(const char *extra1, const char *extra2)
{
    const char *args[] = {"--snapshot", cluster, extra1, extra2, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    return h;
}

START_TEST(filter_then_bind)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    cJSON *f = filter(port, "p1", "u-1", 1, 8000, 20);
    ck_assert_str_eq(err_of(f), "");
    /* binpack: the busier node; spread: its idle GPU. */
    ck_assert_str_eq(chosen(f), "gpu-a");
    const cJSON *hard = cJSON_GetObjectItem(f, "FailedAndUnresolvableNodes");
    ck_assert_str_eq(cJSON_GetObjectItem(hard, "cpu-1")->valuestring, "NodeInsufficientDevice");
    ck_assert(strstr(cJSON_GetObjectItem(hard, "ghost")->valuestring, "not in the") != NULL);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "FailedNodes")), 0);
    cJSON_Delete(f);
    char *e = bind(port, "p1", "u-1", "gpu-a");
    ck_assert_str_eq(e, "");
    free(e);
    char state[32];
    cJSON *ins = inspect(port);
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-1", "u-1", state), 8000);
    ck_assert_str_eq(state, "bound");
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-0", NULL, NULL), 30000); /* the running pod */
    ck_assert_int_eq(gpu_mem(ins, "GPU-b-0", NULL, NULL), 0);     /* Succeeded: nothing */
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(refilter_replaces)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    cJSON_Delete(filter(port, "p2", "u-2", 1, 8000, 20));
    cJSON_Delete(filter(port, "p2", "u-2", 1, 8000, 20));
    ck_assert_int_eq(reservations(port), 1);
    cJSON *ins = inspect(port);
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-1", NULL, NULL), 8000);
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(bind_elsewhere)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    cJSON *f = filter(port, "p3", "u-3", 1, 8000, 20);
    ck_assert_str_eq(chosen(f), "gpu-a");
    cJSON_Delete(f);
    /* kube-scheduler may bind elsewhere: fit again there. */
    char *e = bind(port, "p3", "u-3", "gpu-b");
    ck_assert_str_eq(e, "");
    free(e);
    char state[32];
    cJSON *ins = inspect(port);
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-1", NULL, NULL), 0);
    ck_assert_int_eq(gpu_mem(ins, "GPU-b-0", "u-3", state) + gpu_mem(ins, "GPU-b-1", NULL, NULL),
                     8000);
    cJSON_Delete(ins);
    /* Where it cannot fit: refused with the reason, reservation dropped. */
    f = filter(port, "p4", "u-4", 1, 20000, 20);
    ck_assert_str_eq(chosen(f), "gpu-a");
    cJSON_Delete(f);
    e = bind(port, "p4", "u-4", "gpu-b");
    ck_assert_msg(strstr(e, "CardInsufficientMemory") != NULL, "%s", e);
    free(e);
    ck_assert_int_eq(reservations(port), 0);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(bind_after_restart)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    /* "waiting" is a pending pod of the snapshot; u-5 is known only here. */
    char *body = args_names(make_pod("waiting", "uid-waiting", 1, 12000, 20, NULL), all_nodes);
    cJSON *f = post(port, "/filter", body, 200);
    free(body);
    ck_assert_str_eq(chosen(f), "gpu-a");
    cJSON_Delete(f);
    cJSON_Delete(filter(port, "p5", "u-5", 1, 1000, 5));
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);

    h = start(NULL, NULL);
    port = harness_port(h);
    char *e = bind(port, "waiting", "uid-waiting", "gpu-a");
    ck_assert_str_eq(e, "");
    free(e);
    e = bind(port, "p5", "u-5", "gpu-a");
    ck_assert_msg(strstr(e, "filter it again") != NULL, "%s", e);
    free(e);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(unbound_reservation_expires)
{
    struct harness *h = start("--reservation-ttl", "1s");
    int port = harness_port(h);
    cJSON_Delete(filter(port, "p6", "u-6", 1, 8000, 20));
    ck_assert_int_eq(reservations(port), 1);
    int left = 1;
    for (int i = 0; i < 50 && left; i++) { /* at most 5 s */
        usleep(100 * 1000);
        left = reservations(port);
    }
    ck_assert_int_eq(left, 0);
    cJSON *ins = inspect(port);
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-1", NULL, NULL), 0);
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* The reason of a failed node in either map of a filter's answer. */
static const char *failed_reason(const cJSON *f, const char *node)
{
    const char *maps[] = {"FailedNodes", "FailedAndUnresolvableNodes"};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(f, maps[i]), node);
        if (v)
            return cJSON_GetStringValue(v);
    }
    return NULL;
}

/* Nodes failing with equal counts share one reason text (written once,
 * copied after); every failed node is listed with its own reason, a name
 * that needs escaping too: 50,000 MiB fits neither gpu-a's two A100s nor
 * gpu-b's two T4s (2/2 CardInsufficientMemory each). */
START_TEST(failed_reasons)
{
    struct harness *h = start(NULL, NULL);
    char longer[160]; /* a plain run past the writer's 126-byte fast path, then a quote */
    memset(longer, 'n', 140);
    memcpy(longer + 140, "\"q", 3);
    const char *const names[] = {"gpu-a", "gpu-b", "cpu-1", "x\"y\\z", longer, NULL};
    char *body = args_names(make_pod("p9", "u-9", 1, 50000, 20, NULL), names);
    cJSON *f = post(harness_port(h), "/filter", body, 200);
    free(body);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "NodeNames")), 0);
    const char *a = failed_reason(f, "gpu-a"), *b = failed_reason(f, "gpu-b");
    const char *c = failed_reason(f, "cpu-1"), *x = failed_reason(f, "x\"y\\z");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_nonnull(x);
    ck_assert_str_eq(a, "2/2 CardInsufficientMemory");
    ck_assert_str_eq(b, a);
    ck_assert_str_ne(c, a);
    ck_assert_ptr_nonnull(strstr(x, "not in the scheduler's cache"));
    const char *l = failed_reason(f, longer);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l, x);
    cJSON_Delete(f);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(filter_mode_all)
{
    struct harness *h = start("--filter-mode", "all");
    int port = harness_port(h);
    cJSON *f = filter(port, "p7", "u-7", 1, 8000, 20);
    const cJSON *n = cJSON_GetObjectItem(f, "NodeNames");
    ck_assert_int_eq(cJSON_GetArraySize(n), 2);
    cJSON_Delete(f);
    ck_assert_int_eq(reservations(port), 0);
    const char *const fit[] = {"gpu-a", "gpu-b", NULL};
    char *body = args_names(make_pod("p7", "u-7", 1, 8000, 20, NULL), fit);
    cJSON *pr = post(port, "/prioritize", body, 200);
    free(body);
    ck_assert_int_eq(cJSON_GetArraySize(pr), 2);
    int score[2];
    for (int i = 0; i < 2; i++) {
        const cJSON *hp = cJSON_GetArrayItem(pr, i);
        const char *host = cJSON_GetObjectItem(hp, "Host")->valuestring;
        int s = cJSON_GetObjectItem(hp, "Score")->valueint;
        ck_assert(s >= 0 && s <= 10);
        score[strcmp(host, "gpu-a") == 0 ? 0 : 1] = s;
    }
    ck_assert_int_gt(score[0], score[1]); /* binpack: the busier node */
    cJSON_Delete(pr);
    char *e = bind(port, "p7", "u-7", "gpu-b");
    ck_assert_str_eq(e, "");
    free(e);
    char state[32];
    cJSON *ins = inspect(port);
    gpu_mem(ins, "GPU-b-0", "u-7", state);
    if (!state[0])
        gpu_mem(ins, "GPU-b-1", "u-7", state);
    ck_assert_str_eq(state, "bound");
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(full_nodes_mode)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    FILE *fp = fopen(cluster, "r");
    ck_assert_ptr_nonnull(fp);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    cJSON *list = cJSON_Parse(text), *items = cJSON_CreateArray(), *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "kind")->valuestring, "Node") == 0)
            cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
    }
    cJSON_Delete(list);
    cJSON *args = cJSON_CreateObject(), *nodes = cJSON_CreateObject();
    cJSON_AddItemToObject(nodes, "items", items);
    cJSON_AddItemToObject(args, "Pod", make_pod("p8", "u-8", 1, 8000, 20, NULL));
    cJSON_AddItemToObject(args, "Nodes", nodes);
    char *body = cJSON_PrintUnformatted(args);
    cJSON_Delete(args);
    cJSON *f = post(port, "/filter", body, 200);
    free(body);
    ck_assert_str_eq(err_of(f), "");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(f, "NodeNames")));
    const cJSON *got = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "Nodes"), "items");
    ck_assert_int_eq(cJSON_GetArraySize(got), 1);
    const cJSON *meta = cJSON_GetObjectItem(cJSON_GetArrayItem(got, 0), "metadata");
    ck_assert_str_eq(cJSON_GetObjectItem(meta, "name")->valuestring, "gpu-a");
    ck_assert_ptr_nonnull(
        cJSON_GetObjectItem(cJSON_GetObjectItem(f, "FailedAndUnresolvableNodes"), "cpu-1"));
    cJSON_Delete(f);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(gpuless_pod_passes)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    cJSON *f = filter(port, "web", "u-web", 0, 0, 0);
    ck_assert_str_eq(err_of(f), "");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f, "NodeNames")), 4);
    cJSON_Delete(f);
    ck_assert_int_eq(reservations(port), 0);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* Bad input: each answered clearly; the process stays up. */
static const struct {
    const char *path, *body;
    long status;
    const char *want; /* in Error (200) or in the body (400) */
} bad_cases[] = {
    {"/filter", "not json", 400, "not a JSON object"},
    {"/filter", "[1,2]", 400, "not a JSON object"},
    {"/filter", "{}", 200, "no Pod"},
    {"/filter", "{\"Pod\":{\"metadata\":{\"uid\":\"x\"}},\"NodeNames\":[\"gpu-a\"]}", 200,
     "no containers"},
    {"/filter", "{\"Pod\":{\"spec\":{\"containers\":[]}},\"NodeNames\":7}", 200,
     "neither NodeNames nor Nodes"},
    {"/filter", "{\"Pod\":{\"spec\":{\"containers\":[]}},\"NodeNames\":[3]}", 200, "NodeNames[0]"},
    {"/filter",
     "{\"Pod\":{\"metadata\":{\"uid\":\"x\",\"annotations\":{\"hami.io/node-scheduler-policy\":"
     "\"foo\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
     "\"nvidia.com/gpu\":\"1\"}}}]}},\"NodeNames\":[\"gpu-a\"]}",
     200, "hami.io/node-scheduler-policy"},
    {"/filter",
     "{\"Pod\":{\"metadata\":{\"uid\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"c\","
     "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1.5\"}}}]}},\"NodeNames\":[\"gpu-a\"]}",
     200, "nvidia.com/gpu"},
    {"/prioritize", "{,", 400, "not a JSON object"},
    {"/bind", "nope", 400, "not a JSON object"},
    {"/bind", "{\"PodName\":1}", 200, "PodUID"},
    {"/bind", "{\"PodName\":\"a\",\"PodNamespace\":\"d\",\"PodUID\":\"nobody\",\"Node\":\"gpu-a\"}",
     200, "filter it again"},
};

static struct harness *bad_h; /* one process for every bad-input case */

static void bad_teardown(void)
{
    if (bad_h)
        ck_assert_int_eq(harness_stop(bad_h, SIGTERM, 5000), 0);
    harness_free(bad_h);
    bad_h = NULL;
}

START_TEST(bad_input)
{
    if (!bad_h)
        bad_h = start(NULL, NULL);
    int port = harness_port(bad_h);
    struct harness_reply r;
    const char *b = bad_cases[_i].body;
    ck_assert_int_eq(harness_post(port, bad_cases[_i].path, b, strlen(b), &r), 0);
    ck_assert_int_eq(r.status, bad_cases[_i].status);
    if (r.status == 200) {
        cJSON *j = cJSON_Parse(buf_str(&r.body));
        ck_assert_ptr_nonnull(j);
        const char *e = err_of(j);
        ck_assert_msg(strstr(e, bad_cases[_i].want) != NULL, "case %d: %s", _i, e);
        if (strstr(bad_cases[_i].want, "policy"))
            ck_assert(strstr(e, "\"foo\"") != NULL);
        cJSON_Delete(j);
    } else {
        ck_assert(strstr(buf_str(&r.body), bad_cases[_i].want) != NULL);
    }
    harness_reply_free(&r);
    ck_assert_int_eq(harness_get(port, "/healthz", &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);
}
END_TEST

/* ---- 8 clients x 500 pods at once ---- */

#define CLIENTS 8
#define PODS    500

struct worker {
    int port, id, bound, refused, errors;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct harness_client *c = harness_client_new();
    unsigned seed = (unsigned)w->id * 7919u;
    const char *const names[] = {"n0", "n1",  "n2",  "n3",  "n4",  "n5",  "n6",  "n7", "n8",
                                 "n9", "n10", "n11", "n12", "n13", "n14", "n15", NULL};
    for (int i = 0; i < PODS; i++) {
        char name[32], uid[32], body[512];
        snprintf(name, sizeof name, "w%d-p%d", w->id, i);
        snprintf(uid, sizeof uid, "uid-%d-%d", w->id, i);
        int mem = 1000 + (int)(rand_r(&seed) % 8000), cores = 5 + (int)(rand_r(&seed) % 30);
        char *args = args_names(make_pod(name, uid, 1, mem, cores, NULL), names);
        struct harness_reply r;
        harness_client_send(c, "POST", w->port, "/filter", args, strlen(args), &r);
        free(args);
        cJSON *j = r.status == 200 ? cJSON_Parse(buf_str(&r.body)) : NULL;
        harness_reply_free(&r);
        const cJSON *nn = cJSON_GetObjectItem(j, "NodeNames");
        if (!j || !cJSON_IsArray(nn)) {
            w->errors++;
        } else if (cJSON_GetArraySize(nn) == 0) {
            w->refused++;
        } else {
            snprintf(body, sizeof body,
                     "{\"PodName\":\"%s\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\","
                     "\"Node\":\"%s\"}",
                     name, uid, cJSON_GetArrayItem(nn, 0)->valuestring);
            harness_client_send(c, "POST", w->port, "/bind", body, strlen(body), &r);
            cJSON *b = r.status == 200 ? cJSON_Parse(buf_str(&r.body)) : NULL;
            const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(b, "Error"));
            if (e && !*e)
                w->bound++;
            else
                w->errors++;
            cJSON_Delete(b);
            harness_reply_free(&r);
        }
        cJSON_Delete(j);
    }
    harness_client_free(c);
    return NULL;
}

/* 16 nodes x 8 GPUs of 10 slots, 24000 MiB, 100 cores: room for about
 * 550 of the 4,000 pods (5,500 MiB on average), so many are refused. */
static void write_big_cluster(const char *path)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"kind\":\"List\",\"items\":[");
    for (int n = 0; n < 16; n++) {
        fprintf(f,
                "%s{\"kind\":\"Node\",\"metadata\":{\"name\":\"n%d\",\"annotations\":{"
                "\"hami.io/node-nvidia-register\":\"[",
                n ? "," : "", n);
        for (int g = 0; g < 8; g++)
            fprintf(f,
                    "%s{\\\"id\\\":\\\"GPU-%d-%d\\\",\\\"count\\\":10,\\\"devmem\\\":24000,"
                    "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-L4\\\",\\\"health\\\":true,"
                    "\\\"index\\\":%d,\\\"numa\\\":%d}",
                    g ? "," : "", n, g, g, g / 4);
        fprintf(f, "]\"}}}");
    }
    fprintf(f, "]}");
    fclose(f);
}

START_TEST(concurrent_filter_bind)
{
    char dir[] = "/tmp/vs-e2e-XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/big.json", dir);
    write_big_cluster(path);
    const char *args[] = {"--snapshot", path, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    struct worker w[CLIENTS];
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        w[i] = (struct worker){.port = harness_port(h), .id = i};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int bound = 0, refused = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].errors, 0);
        bound += w[i].bound;
        refused += w[i].refused;
    }
    ck_assert_int_eq(bound + refused, CLIENTS * PODS);
    ck_assert_int_gt(bound, 400); /* memory allows about 550 */
    ck_assert_int_gt(refused, 0);

    /* No GPU over capacity; every GPU's usage is the sum of its pods. */
    cJSON *ins = inspect(harness_port(h)), *n, *g, *p;
    int pods_seen = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            int mem = 0, cores = 0, slots = 0;
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
            {
                mem += cJSON_GetObjectItem(p, "memMiB")->valueint;
                cores += cJSON_GetObjectItem(p, "cores")->valueint;
                slots += cJSON_GetObjectItem(p, "slots")->valueint;
                ck_assert_str_eq(cJSON_GetObjectItem(p, "state")->valuestring, "bound");
                pods_seen++;
            }
            ck_assert_int_eq(mem, cJSON_GetObjectItem(g, "memUsedMiB")->valueint);
            ck_assert_int_eq(cores, cJSON_GetObjectItem(g, "coresUsed")->valueint);
            ck_assert_int_eq(slots, cJSON_GetObjectItem(g, "slotsUsed")->valueint);
            ck_assert_int_le(mem, cJSON_GetObjectItem(g, "memMiB")->valueint);
            ck_assert_int_le(cores, cJSON_GetObjectItem(g, "cores")->valueint);
            ck_assert_int_le(slots, cJSON_GetObjectItem(g, "slots")->valueint);
        }
    }
    ck_assert_int_eq(pods_seen, bound);
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* /inspect's "workload": checks that every entry's share is in (0, 1],
 * that they come heaviest first and sum to 1; puts the entries that are not
 * priors (those the pods or the file gave) in out, up to max, and returns
 * how many there are. */
static int learned(const cJSON *ins, const cJSON **out, int max)
{
    const cJSON *a = cJSON_GetObjectItem(ins, "workload"), *e;
    ck_assert(cJSON_IsArray(a));
    double sum = 0, last = 2;
    int n = 0;
    cJSON_ArrayForEach(e, a)
    {
        double share = cJSON_GetObjectItem(e, "share")->valuedouble;
        ck_assert(share > 0 && share <= last);
        sum += last = share;
        if (cJSON_IsFalse(cJSON_GetObjectItem(e, "prior")) && n < max)
            out[n++] = e;
    }
    if (cJSON_GetArraySize(a) > 0)
        ck_assert_double_eq_tol(sum, 1, 1e-9);
    return n;
}

/* A number of a /inspect "workload" entry. */
static double field(const cJSON *e, const char *name)
{
    const cJSON *v = cJSON_GetObjectItem(e, name);
    ck_assert_msg(cJSON_IsNumber(v), "%s", name);
    return v->valuedouble;
}

/* fragment-aware, seeded from a workload file: the 40 % pod goes where it
 * fills a gap (GPU-a-0 has 10,000 MiB and 50 % cores left) rather than
 * breaking a whole card, and binds. */
START_TEST(fragment_aware_serves)
{
    char wl[4096];
    const char *src = getenv("VS_SOURCE");
    snprintf(wl, sizeof wl, "%s/examples/workload.json", src ? src : ".");
    const char *args[] = {
        "--snapshot", cluster, "--node-scheduler-policy", "fragment-aware", "--workload-file",
        wl,           NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    /* /inspect lists the file's four shapes, heaviest first, in its
     * proportions (60 : 25 : 10 : 5), as the scheduler reads them. */
    cJSON *ins = inspect(port);
    const cJSON *w[8];
    ck_assert_int_eq(learned(ins, w, 8), 4);
    ck_assert_str_eq(cJSON_GetObjectItem(w[0], "vendor")->valuestring, "nvidia");
    ck_assert_int_eq(field(w[0], "gpus"), 1);
    ck_assert_int_eq(field(w[0], "gpuMemMiB"), 10240);
    ck_assert_int_eq(field(w[0], "gpuCores"), 30);
    ck_assert_int_eq(field(w[0], "cpuMilli"), 4000);
    ck_assert_int_eq(field(w[0], "memoryMiB"), 16384);
    ck_assert_int_eq(field(w[1], "gpuMemPercent"), 50);
    ck_assert_int_eq(field(w[2], "gpus"), 4);
    ck_assert_int_eq(field(w[3], "gpus"), 8);
    ck_assert_double_eq_tol(field(w[0], "share") / field(w[1], "share"), 60.0 / 25, 1e-9);
    ck_assert_double_eq_tol(field(w[2], "share") / field(w[3], "share"), 10.0 / 5, 1e-9);
    cJSON_Delete(ins);
    /* /workload writes them back as a workload file, heaviest first, in
     * the file's weights (tests/place: read back to the same shapes) */
    cJSON *file = harness_get_json(port, "/workload"), *entry;
    ck_assert_int_eq(cJSON_GetArraySize(file), 4);
    double want[] = {60, 25, 10, 5};
    int k = 0;
    cJSON_ArrayForEach(entry, file)
    {
        ck_assert_double_eq(field(entry, "weight"), want[k++]);
        ck_assert(cJSON_IsObject(cJSON_GetObjectItem(entry, "pod")));
    }
    cJSON_Delete(file);
    cJSON *f = filter(port, "frag", "u-frag", 1, 10000, 40);
    ck_assert_str_eq(err_of(f), "");
    ck_assert_str_eq(chosen(f), "gpu-a");
    cJSON_Delete(f);
    char *e = bind(port, "frag", "u-frag", "gpu-a");
    ck_assert_str_eq(e, "");
    free(e);
    char state[32];
    ins = inspect(port);
    ck_assert_int_eq(gpu_mem(ins, "GPU-a-0", "u-frag", state), 40000);
    ck_assert_str_eq(state, "bound");
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

START_TEST(metrics_and_demo)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    cJSON_Delete(filter(port, "p9", "u-9", 1, 8000, 20));
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    const char *m = buf_str(&r.body);
    ck_assert(strstr(m, "hami_gpu_memory_limit_bytes{") != NULL);
    ck_assert(strstr(m, "device_uuid=\"GPU-a-1\"") != NULL);
    ck_assert(strstr(m, "hami_gpu_memory_allocated_bytes{") != NULL);
    ck_assert(strstr(m, "hami_gpu_shared_count{") != NULL);
    ck_assert(strstr(m, "vgpu_scheduler_request_duration_seconds_bucket{route=\"/filter\"") !=
              NULL);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

/* The gauge line's value, -1 when absent. */
static long workload_shapes(int port)
{
    return harness_metric(port, "vgpu_scheduler_workload_shapes");
}

/* The learned workload is first published after 16 pods (then after 32
 * more, doubling): 15 pods of two shapes, two of them filtered again
 * (counted once), leave it empty; the 16th publishes both shapes. */
START_TEST(learned_workload_published)
{
    struct harness *h = start(NULL, NULL);
    int port = harness_port(h);
    char name[32], uid[32];
    ck_assert_int_eq(workload_shapes(port), 0);
    for (int i = 0; i < 15; i++) {
        snprintf(name, sizeof name, "w%d", i);
        snprintf(uid, sizeof uid, "u-w%d", i);
        cJSON_Delete(filter(port, name, uid, 1, i % 2 ? 1000 : 2000, 10));
    }
    cJSON_Delete(filter(port, "w0", "u-w0", 1, 2000, 10)); /* the same pod again */
    cJSON_Delete(filter(port, "w1", "u-w1", 1, 1000, 10));
    ck_assert_int_eq(workload_shapes(port), 0);
    const cJSON *e[4];
    cJSON *ins = inspect(port);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ins, "workload")), 0);
    cJSON_Delete(ins);
    /* /workload is the learner's own: its 15 pods before any copy */
    ins = harness_get_json(port, "/workload");
    ck_assert_int_eq(cJSON_GetArraySize(ins), 2);
    ck_assert_double_eq_tol(field(cJSON_GetArrayItem(ins, 0), "weight") +
                                field(cJSON_GetArrayItem(ins, 1), "weight"),
                            15, 0.2);
    cJSON_Delete(ins);
    cJSON_Delete(filter(port, "w15", "u-w15", 1, 1000, 10));
    ck_assert_int_eq(workload_shapes(port), 2);
    /* /inspect shows the two shapes learned, 8 pods each */
    ins = inspect(port);
    ck_assert_int_eq(learned(ins, e, 4), 2);
    ck_assert_int_eq(field(e[0], "gpuMemMiB") + field(e[1], "gpuMemMiB"), 3000);
    ck_assert_double_eq_tol(field(e[0], "share") / field(e[1], "share"), 1, 0.01);
    cJSON_Delete(ins);
    ins = harness_get_json(port, "/workload"); /* in pods seen, older ones decayed */
    ck_assert_int_eq(cJSON_GetArraySize(ins), 2);
    ck_assert_double_eq_tol(field(cJSON_GetArrayItem(ins, 0), "weight") +
                                field(cJSON_GetArrayItem(ins, 1), "weight"),
                            16, 0.2);
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

int main(void)
{
    setup();
    Suite *s = suite_create("e2e-extender");
    TCase *tc = tcase_create("extender");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, filter_then_bind);
    tcase_add_test(tc, failed_reasons);
    tcase_add_test(tc, refilter_replaces);
    tcase_add_test(tc, bind_elsewhere);
    tcase_add_test(tc, bind_after_restart);
    tcase_add_test(tc, unbound_reservation_expires);
    tcase_add_test(tc, filter_mode_all);
    tcase_add_test(tc, full_nodes_mode);
    tcase_add_test(tc, gpuless_pod_passes);
    tcase_add_test(tc, concurrent_filter_bind);
    tcase_add_test(tc, metrics_and_demo);
    tcase_add_test(tc, fragment_aware_serves);
    tcase_add_test(tc, learned_workload_published);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("bad-input");
    tcase_set_timeout(bad, 60);
    tcase_add_unchecked_fixture(bad, NULL, bad_teardown);
    tcase_add_loop_test(bad, bad_input, 0, sizeof bad_cases / sizeof bad_cases[0]);
    suite_add_tcase(s, bad);
    return harness_run_suite(s, false);
}

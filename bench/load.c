/* vgpu-bench: the service's speed under load, with its floors.
 *
 * Writes a synthetic cluster (N nodes x G GPUs: mixed models, 2 NUMA
 * nodes, NVLink pair scores, about half the GPUs partly used), starts
 * vgpu-scheduler on it (or targets --url), and drives filter+bind cycles
 * for new pods from C concurrent keep-alive clients, bounded in count and
 * time. Measured in the same run: the /healthz round trip (HTTP floor), the
 * time cJSON alone takes to parse the same filter body (JSON floor), and
 * the engine's choice in-process (policy time). With --quota MIB the
 * pods' namespace has a ResourceQuota (HAMi's limits.<gpumem> of MIB and
 * limits.<gpucores> of MIB too), so every filter checks and reserves
 * against it: set it above what the run takes to measure what the check
 * costs, not refusals. The last line is `RESULT {json}`.
 *
 * --vendors mixed: the nodes take turns among kinds: NVIDIA time-sliced,
 * NVIDIA MIG (A100 40 GB cards in "mig" mode), and one kind per other row
 * of the device backend table whose register decoder reads the encoding
 * HAMi's plugins share (a row that does not is named and left out); the
 * pods take turns the same way, each asking its kind's vendor (MIG pods
 * with the row's vgpu-mode annotation set to "mig"). Running pods sit on
 * the time-sliced and other vendors' nodes, under each vendor's keys.
 *
 * A program that prints figures; never a test. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/init.h"
#include "base/log.h"
#include "base/mem.h"
#include "bench/churn.h"
#include "bench/stats.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "policy/device.h"
#include "tests/support/fakeapi.h"

#define MAX_CLIENTS 64
#define START_MS    120000 /* loading 100,000 pods takes a while */

struct args {
    int nodes, gpus, clients, pods, seconds, existing, threads;
    int filter_threads; /* the service's --filter-threads (0: its default) */
    long long quota;    /* MiB (and %) the pods' namespace may hold; 0: no ResourceQuota */
    int ui_poll_ms;     /* > 0: a web view open, polling this often (server/ui.h) */
    double churn;       /* > 0: live on an in-process API server, pods changing this often per s */
    int churn_pods;     /* --churn: the running pods kept changing; -1: nodes x gpus / 4 */
    int duration;       /* --churn: one phase this long (s), resident memory every rss_every s */
    int rss_every;
    const char *mode, *url, *bin, *policy, *vendors;
};

/* One kind of node (and of pod) in the cluster. */
struct kind {
    const struct policy_device_backend *b;
    bool mig;
    char type[64]; /* device model, for the other vendors' rows */
};

#define MAX_KINDS 16
static struct kind kinds[MAX_KINDS];
static int nkinds = 1; /* --vendors nvidia: time-sliced NVIDIA only */

/* A100 40 GB MIG profiles as HAMi's device plugin registers them, escaped
 * to sit inside the register annotation's JSON string. */
#define MIG_PROFILES                                                                               \
    "[{\\\"name\\\":\\\"1g.5gb\\\",\\\"memoryMB\\\":4864,\\\"core\\\":15,"                         \
    "\\\"sliceCount\\\":1,\\\"placements\\\":[{\\\"start\\\":0,\\\"size\\\":1},"                   \
    "{\\\"start\\\":1,\\\"size\\\":1},{\\\"start\\\":2,\\\"size\\\":1},"                           \
    "{\\\"start\\\":3,\\\"size\\\":1},{\\\"start\\\":4,\\\"size\\\":1},"                           \
    "{\\\"start\\\":5,\\\"size\\\":1},{\\\"start\\\":6,\\\"size\\\":1}]},"                         \
    "{\\\"name\\\":\\\"2g.10gb\\\",\\\"memoryMB\\\":9856,\\\"core\\\":29,"                         \
    "\\\"sliceCount\\\":2,\\\"placements\\\":[{\\\"start\\\":0,\\\"size\\\":2},"                   \
    "{\\\"start\\\":2,\\\"size\\\":2},{\\\"start\\\":4,\\\"size\\\":2}]},"                         \
    "{\\\"name\\\":\\\"3g.20gb\\\",\\\"memoryMB\\\":19968,\\\"core\\\":43,"                        \
    "\\\"sliceCount\\\":3,\\\"placements\\\":[{\\\"start\\\":0,\\\"size\\\":4},"                   \
    "{\\\"start\\\":4,\\\"size\\\":4}]},{\\\"name\\\":\\\"7g.40gb\\\","                            \
    "\\\"memoryMB\\\":40192,\\\"core\\\":100,\\\"sliceCount\\\":7,"                                \
    "\\\"placements\\\":[{\\\"start\\\":0,\\\"size\\\":8}]}]"

/* The kinds of --vendors mixed, derived from the backend table. */
static void mixed_kinds(void)
{
    const struct policy_device_backend *nv = policy_device_backend_default();
    kinds[0] = (struct kind){.b = nv};
    kinds[1] = (struct kind){.b = nv, .mig = true};
    nkinds = 2;
    for (int i = 1; policy_device_backends[i] && nkinds < MAX_KINDS; i++) {
        const struct policy_device_backend *b = policy_device_backends[i];
        struct kind *k = &kinds[nkinds];
        if (!b->register_parse) {
            printf("vendors: %s left out of the mix (no register annotation: its inventory is "
                   "the node's capacity)\n",
                   b->name);
            continue;
        }
        const char *res = strchr(b->res[POLICY_RES_COUNT], '/');
        snprintf(k->type, sizeof k->type, "%s-%s", b->vendor_word, res ? res + 1 : "bench");
        char probe[512], err[256] = "", *strings = NULL;
        struct policy_device *dev = NULL;
        int32_t ndev = 0;
        snprintf(probe, sizeof probe,
                 "[{\"id\":\"X-0\",\"count\":10,\"devmem\":32768,\"devcore\":100,"
                 "\"type\":\"%s\",\"numa\":0,\"health\":true,\"index\":0}]",
                 k->type);
        int rc = b->register_parse(probe, &dev, &ndev, &strings, err, sizeof err);
        free(dev);
        free(strings);
        if (rc || ndev != 1) {
            printf("vendors: %s left out of the mix (its register annotation is not the shared "
                   "encoding: %s)\n",
                   b->name, err);
            continue;
        }
        k->b = b;
        nkinds++;
    }
    printf("vendors: %d kinds of node and pod:", nkinds);
    for (int i = 0; i < nkinds; i++)
        printf(" %s%s", kinds[i].b->name, kinds[i].mig ? "-mig" : "");
    printf("\n");
}

/* ---- the cluster ---- */

static const struct {
    const char *type;
    int mem;
} models[] = {
    {"NVIDIA-A100-SXM4-80GB", 81920}, {"NVIDIA-H100-80GB-HBM3", 81920}, {"NVIDIA-L4", 23034}};

/* A node of another vendor's row (the shared encoding, no pair scores). */
static void vendor_node_json(struct buf *b, int i, int g, const struct kind *k)
{
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
               "\"resourceVersion\":\"1\",\"labels\":{\"kubernetes.io/hostname\":\"node-%05d\"},"
               "\"annotations\":{\"%s\":\"Requesting_2026-11-22 00:00:00\",\"%s\":\"[",
               i, i, k->b->ann_handshake, k->b->ann_register);
    for (int d = 0; d < g; d++)
        buf_printf(b,
                   "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":10,\\\"devmem\\\":32768,"
                   "\\\"devcore\\\":100,\\\"type\\\":\\\"%s\\\",\\\"numa\\\":%d,"
                   "\\\"health\\\":true,\\\"index\\\":%d}",
                   d ? "," : "", i, d, k->type, d * 2 / g, d);
    buf_printf(b,
               "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1024Gi\","
               "\"%s\":\"%d\"}}}",
               k->b->res[POLICY_RES_COUNT], g * 10);
}

/* An NVIDIA node whose cards are A100 40 GB in MIG mode. */
static void mig_node_json(struct buf *b, int i, int g)
{
    const struct policy_device_backend *dv = policy_device_backend_default();
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
               "\"resourceVersion\":\"1\",\"labels\":{\"kubernetes.io/hostname\":\"node-%05d\"},"
               "\"annotations\":{\"%s\":\"Requesting_2026-11-22 00:00:00\",\"%s\":\"[",
               i, i, dv->ann_handshake, dv->ann_register);
    for (int d = 0; d < g; d++)
        buf_printf(b,
                   "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":7,\\\"devmem\\\":40960,"
                   "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100-SXM4-40GB\\\",\\\"numa\\\":%d,"
                   "\\\"health\\\":true,\\\"index\\\":%d,\\\"mode\\\":\\\"mig\\\","
                   "\\\"migProfiles\\\":" MIG_PROFILES "}",
                   d ? "," : "", i, d, d * 2 / g, d);
    buf_printf(b,
               "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1024Gi\","
               "\"%s\":\"%d\"}}}",
               dv->res[POLICY_RES_COUNT], g * 7);
}

static void node_json(struct buf *b, int i, int g)
{
    const struct policy_device_backend *dv = policy_device_backend_default();
    int m = i % 3;
    const struct kind *k = &kinds[i % nkinds];
    if (k->mig) {
        mig_node_json(b, i, g);
        return;
    }
    if (k->b != dv) {
        vendor_node_json(b, i, g, k);
        return;
    }
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
               "\"resourceVersion\":\"1\",\"labels\":{\"kubernetes.io/hostname\":\"node-%05d\"},"
               "\"annotations\":{\"%s\":\"Requesting_2026-11-22 00:00:00\","
               "\"%s\":\"[",
               i, i, dv->ann_handshake, dv->ann_register);
    for (int d = 0; d < g; d++)
        buf_printf(b,
                   "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":10,\\\"devmem\\\":%d,"
                   "\\\"devcore\\\":100,\\\"type\\\":\\\"%s\\\",\\\"numa\\\":%d,"
                   "\\\"health\\\":true,\\\"index\\\":%d,\\\"mode\\\":\\\"hami-core\\\"}",
                   d ? "," : "", i, d, models[m].mem, models[m].type, d * 2 / g, d);
    buf_printf(b, "]\",\"%s\":\"[", dv->ann_score);
    for (int d = 0; d < g; d++) {
        buf_printf(b, "%s{\\\"uuid\\\":\\\"GPU-%05d-%02d\\\",\\\"score\\\":{", d ? "," : "", i, d);
        for (int e = 0; e < g; e++)
            if (e != d)
                buf_printf(b, "%s\\\"GPU-%05d-%02d\\\":%d",
                           (e == 0 || (d == 0 && e == 1)) ? "" : ",", i, e,
                           (d / 2 == e / 2)           ? 600
                           : (d * 2 / g == e * 2 / g) ? 20
                                                      : 10);
        buf_puts(b, "}}");
    }
    buf_printf(b,
               "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1024Gi\","
               "\"%s\":\"%d\"}}}",
               dv->res[POLICY_RES_COUNT], g * 10);
}

/* The snapshot: nodes, then `existing` running pods, each on one GPU of
 * the first half of each node's GPUs (so about half the GPUs are used). */
static int write_cluster(const char *path, const struct args *a, struct buf *items)
{
    FILE *f = fopen(path, "w");
    struct buf b = BUF_INIT((size_t)1 << 30);
    unsigned seed = 42;
    if (!f)
        return -1;
    fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", f);
    for (int i = 0; i < a->nodes; i++) {
        buf_reset(&b);
        node_json(&b, i, a->gpus);
        fprintf(f, "%s%s", i ? "," : "", buf_str(&b));
        if (items) {
            buf_puts(items, i ? "," : "");
            buf_append(items, b.data, b.len);
        }
    }
    int per = a->gpus / 2 > 0 ? a->gpus / 2 : 1;
    for (int k = 0; k < a->existing; k++) {
        int n = k % a->nodes, d = (k / a->nodes) % per;
        int mem = 1024 * (1 + (int)(rand_r(&seed) % 4)), cores = 5 * (1 + (int)(rand_r(&seed) % 4));
        const struct policy_device_backend *dv = kinds[n % nkinds].b;
        if (kinds[n % nkinds].mig)
            continue; /* MIG nodes start empty */
        fprintf(f,
                ",{\"kind\":\"Pod\",\"metadata\":{\"name\":\"run-%d\",\"namespace\":\"bench\","
                "\"uid\":\"run-uid-%d\",\"annotations\":{\"hami.io/vgpu-node\":\"node-%05d\","
                "\"%s\":\"GPU-%05d-%02d,%s,%d,%d:;\","
                "\"hami.io/bind-phase\":\"success\"}},\"spec\":{\"nodeName\":\"node-%05d\","
                "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"%s\":"
                "\"1\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}}}]},"
                "\"status\":{\"phase\":\"Running\"}}",
                k, k, n, dv->ann_allocated, n, d, dv->vendor_word, mem, cores, n,
                dv->res[POLICY_RES_COUNT]);
    }
    if (a->quota > 0)
        fprintf(f,
                ",{\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"gpu\",\"namespace\":"
                "\"bench\"},\"spec\":{\"hard\":{\"limits.%s\":\"%lld\",\"limits.%s\":"
                "\"%lld\"}}}",
                policy_device_res(policy_device_backend_default(), POLICY_RES_MEM), a->quota,
                policy_device_res(policy_device_backend_default(), POLICY_RES_CORES), a->quota);
    fputs("]}\n", f);
    buf_free(&b);
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- the server ---- */

/* Start the service on the snapshot snap, or live on the API server of
 * kubeconfig when snap is NULL (one replica, always leading). */
static pid_t start_server(const struct args *a, const char *snap, const char *kubeconfig,
                          const char *log, int *port)
{
    char threads[16], filter_threads[16];
    const char *argv[24];
    int n = 0;
    snprintf(threads, sizeof threads, "%d", a->threads);
    snprintf(filter_threads, sizeof filter_threads, "%d", a->filter_threads);
    argv[n++] = a->bin;
    if (snap) {
        argv[n++] = "--snapshot";
        argv[n++] = snap;
    } else {
        const char *live[] = {"--kubeconfig", kubeconfig, "--kube-qps",           "5000",
                              "--kube-burst", "5000",     "--leader-elect-lease="};
        for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
            argv[n++] = live[i];
    }
    const char *rest[] = {
        "--http_bind", "127.0.0.1:0", "--threads", threads, "--node-scheduler-policy", a->policy};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
        argv[n++] = rest[i];
    if (a->filter_threads) { /* only when asked: a --bin older than the flag runs too */
        argv[n++] = "--filter-threads";
        argv[n++] = filter_threads;
    }
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execv(a->bin, (char *const *)argv);
        _exit(127);
    }
    for (double t0 = stats_now_ms(); pid > 0 && stats_now_ms() - t0 < START_MS;) {
        char line[512];
        FILE *f = fopen(log, "r");
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "listening on ");
            if (p && (p = strrchr(p, ':')) && (*port = atoi(p + 1)) > 0) {
                fclose(f);
                return pid;
            }
        }
        if (f)
            fclose(f);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* CPU seconds (user + system) a process has used so far. */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- clients ---- */

struct shared {
    const struct args *a;
    const char *base;  /* http://127.0.0.1:PORT */
    const char *nodes; /* ,"NodeNames":[...] or ,"Nodes":{"items":[...]} */
    pthread_mutex_t lock;
    int next, done_pods, limit; /* pods are numbered next.. below limit */
    double t_end;
    struct fakeapi *f; /* --churn: the API server the pods live in; NULL otherwise */
};

struct client {
    struct shared *sh;
    int id;
    double *filter_ms, *bind_ms;
    int nf, nb, errors, refused;
    char error[160]; /* the first error, for the report */
};

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    buf_append(ud, p, s * n);
    return s * n;
}

static int post(CURL *c, const char *url, const char *body, size_t len, struct buf *out, double *ms)
{
    long code = 0;
    buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    double t0 = stats_now_ms();
    CURLcode rc = curl_easy_perform(c);
    *ms = stats_now_ms() - t0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return rc == CURLE_OK && code == 200 ? 0 : -1;
}

static int claim(struct shared *sh)
{
    pthread_mutex_lock(&sh->lock);
    int k = sh->next < sh->limit && stats_now_ms() < sh->t_end ? sh->next++ : -1;
    pthread_mutex_unlock(&sh->lock);
    return k;
}

/* The chosen node of a filter answer, in either mode. */
static const char *chosen(const cJSON *j)
{
    const cJSON *n = cJSON_GetObjectItem(j, "NodeNames");
    if (cJSON_GetArraySize(n) > 0)
        return cJSON_GetStringValue(cJSON_GetArrayItem(n, 0));
    const cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Nodes"), "items");
    const cJSON *meta = cJSON_GetObjectItem(cJSON_GetArrayItem(items, 0), "metadata");
    return cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name"));
}

/* Pod k asks 1 device of 4096 MiB and 10 % of its kind's vendor (the
 * resources the row has; a MIG pod asks mode "mig"). Appends its JSON. */
static void pod_obj(struct buf *b, int k)
{
    const struct kind *kd = &kinds[k % nkinds];
    const struct policy_device_backend *dv = kd->b;
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
               "\"bench-%d\",\"namespace\":\"bench\",\"uid\":\"bench-uid-%d\"",
               k, k);
    if (kd->mig && dv->ann_vgpu_mode)
        buf_printf(b, ",\"annotations\":{\"%s\":\"mig\"}", dv->ann_vgpu_mode);
    buf_printf(b,
               "},\"spec\":{\"schedulerName\":\"vgpu-scheduler\",\"containers\":[{\"name\":"
               "\"main\",\"image\":\"inference:1\",\"resources\":{\"limits\":{\"%s\":\"1\"",
               dv->res[POLICY_RES_COUNT]);
    if (dv->res[POLICY_RES_MEM])
        buf_printf(b, ",\"%s\":\"4096\"", dv->res[POLICY_RES_MEM]);
    if (dv->res[POLICY_RES_CORES])
        buf_printf(b, ",\"%s\":\"10\"", dv->res[POLICY_RES_CORES]);
    buf_puts(b, "}}}]}}");
}

/* The filter body for pod k: ExtenderArgs with the pod and the nodes. */
static void pod_body(struct buf *b, const struct shared *sh, int k)
{
    buf_reset(b);
    buf_puts(b, "{\"Pod\":");
    pod_obj(b, k);
    buf_puts(b, sh->nodes);
    buf_puts(b, "}");
}

static void client_error(struct client *cl, const char *verb, const struct buf *out)
{
    if (!cl->errors++)
        snprintf(cl->error, sizeof cl->error, "%s: %.140s", verb, out->data ? out->data : "");
}

/* --churn: pod k is created in the API server before its filter, as
 * kube-scheduler sees pods (b is scratch). */
static void api_pod_add(struct fakeapi *f, struct buf *b, int k)
{
    buf_reset(b);
    pod_obj(b, k);
    fakeapi_put(f, "pods", buf_str(b));
}

/* --churn: after pod k's cycle. Bound (node not ""): play HAMi's device
 * plugin for it (bind-phase success, the node lock released, as after
 * Allocate). Then the pod goes, so that the pods of the cluster and their
 * GPU shares stay as many. */
static void api_pod_done(struct fakeapi *f, int k, const char *node)
{
    char name[64];
    snprintf(name, sizeof name, "bench-%d", k);
    if (node[0]) {
        fakeapi_patch(f, "pods", "bench", name,
                      "{\"metadata\":{\"annotations\":{\"hami.io/bind-phase\":\"success\"}}}");
        fakeapi_patch(f, "nodes", NULL, node,
                      "{\"metadata\":{\"annotations\":{\"hami.io/mutex.lock\":null}}}");
    }
    fakeapi_delete(f, "pods", "bench", name);
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct shared *sh = cl->sh;
    CURL *c = curl_easy_init();
    struct buf body = BUF_INIT((size_t)1 << 30), out = BUF_INIT((size_t)1 << 30);
    char url[256], burl[256], bind[512];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(url, sizeof url, "%s/filter", sh->base);
    snprintf(burl, sizeof burl, "%s/bind", sh->base);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    for (int k; (k = claim(sh)) >= 0;) {
        double ms;
        char node[64] = "";
        if (sh->f)
            api_pod_add(sh->f, &body, k);
        pod_body(&body, sh, k);
        if (post(c, url, body.data, body.len, &out, &ms) != 0) {
            client_error(cl, "filter", &out);
            goto next;
        }
        cl->filter_ms[cl->nf++] = ms;
        cJSON *j = cJSON_Parse(buf_str(&out));
        const char *chose = chosen(j);
        snprintf(node, sizeof node, "%s", chose ? chose : "");
        cJSON_Delete(j);
        if (!node[0]) {
            cl->refused++;
            goto next;
        }
        int n = snprintf(bind, sizeof bind,
                         "{\"PodName\":\"bench-%d\",\"PodNamespace\":\"bench\",\"PodUID\":"
                         "\"bench-uid-%d\",\"Node\":\"%s\"}",
                         k, k, node);
        if (post(c, burl, bind, (size_t)n, &out, &ms) != 0 ||
            !strstr(buf_str(&out), "\"Error\":\"\"")) {
            client_error(cl, "bind", &out);
            node[0] = '\0';
            goto next;
        }
        cl->bind_ms[cl->nb++] = ms;
    next:
        if (sh->f)
            api_pod_done(sh->f, k, node);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&body);
    buf_free(&out);
    return NULL;
}

/* ---- floors ---- */

static double healthz_p50(const char *base, int n)
{
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT(1 << 20);
    char url[256];
    double *t = mem_alloc(sizeof *t * (size_t)n);
    snprintf(url, sizeof url, "%s/healthz", base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    for (int i = 0; i < n; i++) {
        buf_reset(&out);
        double t0 = stats_now_ms();
        curl_easy_perform(c);
        t[i] = stats_now_ms() - t0;
    }
    double p = stats_pct(t, n, 0.5);
    free(t);
    buf_free(&out);
    curl_easy_cleanup(c);
    return p;
}

/* ---- an open web view ---- */

/* What one open page asks each time it refreshes: the view page, the
 * pending verdicts and one node. Polls every a->ui_poll_ms until stop. */
struct ui_poller {
    const struct shared *sh;
    atomic_bool stop;
    double *ms; /* one per poll: the three requests together */
    int n, cap, errors;
    size_t bytes;
};

static void *ui_poll_main(void *arg)
{
    struct ui_poller *u = arg;
    static const char *const paths[] = {"/ui/api/view?offset=0&limit=200", "/ui/api/pending",
                                        "/ui/api/node?name=node-00000"};
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT((size_t)64 << 20);
    char url[512];
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    do { /* at least once, however short the run */
        double t0 = stats_now_ms();
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            long code = 0;
            buf_reset(&out);
            snprintf(url, sizeof url, "%s%s", u->sh->base, paths[i]);
            curl_easy_setopt(c, CURLOPT_URL, url);
            if (curl_easy_perform(c) != CURLE_OK)
                code = 0;
            else
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            u->errors += code != 200;
            u->bytes += out.len;
        }
        double took = stats_now_ms() - t0;
        u->ms[u->n++] = took;
        for (double left = u->sh->a->ui_poll_ms - took; left > 0 && !atomic_load(&u->stop);
             left -= 10)
            usleep(left < 10 ? (useconds_t)(left * 1000) : 10000);
    } while (!atomic_load(&u->stop) && u->n < u->cap);
    buf_free(&out);
    curl_easy_cleanup(c);
    return NULL;
}

static double parse_p50(const struct shared *sh, int n)
{
    struct buf body = BUF_INIT((size_t)1 << 30);
    double *t = mem_alloc(sizeof *t * (size_t)n);
    pod_body(&body, sh, 0);
    for (int i = 0; i < n; i++) {
        double t0 = stats_now_ms();
        cJSON_Delete(cJSON_ParseWithLength(body.data, body.len));
        t[i] = stats_now_ms() - t0;
    }
    double p = stats_pct(t, n, 0.5);
    free(t);
    buf_free(&body);
    return p;
}

struct policy_run {
    int n;
    double *t;
    long long quota; /* what the namespace may hold; 0: no quota */
};

static void choose_all(void *ctx, const struct policy_node *const *v, int n)
{
    struct policy_run *r = ctx;
    struct policy_pod p;
    struct policy_verdict *verdicts = mem_alloc(sizeof *verdicts * (size_t)(n + 1));
    struct policy_placement *best = mem_alloc(sizeof *best);
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_SPREAD}}};
    memset(&p, 0, sizeof p);
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "main", .nums = 1, .mem = 4096, .cores = 10};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = r->quota > 0 ? r->quota : -1;
    for (int i = 0; i < r->n; i++) {
        double t0 = stats_now_ms();
        policy_choose(&p, v, n, &o, verdicts, best);
        r->t[i] = stats_now_ms() - t0;
    }
    free(verdicts);
    free(best);
}

/* The engine alone on the same cluster, loaded in-process. */
static double policy_p50(const char *snap, int n, long long quota)
{
    struct cache *c = cache_create();
    struct snapshot_stats st;
    char err[256];
    struct policy_run r = {n, mem_alloc(sizeof(double) * (size_t)n), quota};
    double p = -1;
    if (snapshot_load(c, snap, &st, err, sizeof err) == 0) {
        cache_with_views(c, choose_all, &r);
        p = stats_pct(r.t, n, 0.5);
    }
    free(r.t);
    cache_destroy(c);
    return p;
}

/* ---- filter under churn (issue 21 item 4) ---- */

static void node_list(struct shared *sh, const struct args *a, struct buf *items, struct buf *out);

/* What the service's /metrics says about the watch and the cache's lock. */
struct live_figures {
    double applied;                    /* pod watch events applied */
    double relists;                    /* the watch's lists again after 410 */
    double src_n, src_sum, src_max;    /* the source's writes: count, seconds waited, longest */
    double plc_n, plc_sum, plc_max;    /* the placement's writes */
    double src_le[CACHE_WAIT_BUCKETS]; /* the source's writes that waited at most each bound */
    double ms, mb;                     /* how long the scrape took, its size */
};

/* The value of the line `series value` in text; -1 when missing. */
static double series_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

static int live_figures(const char *base, struct live_figures *lf)
{
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT((size_t)512 << 20); /* HAMi's GPU series: ~18 kB per node */
    char url[256];
    long code = 0;
    snprintf(url, sizeof url, "%s/metrics", base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    double t0 = stats_now_ms();
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    double ms = stats_now_ms() - t0;
    const char *t = buf_str(&out);
#define W "vgpu_scheduler_cache_write_wait_seconds"
    *lf = (struct live_figures){
        .applied = series_value(t, "vgpu_scheduler_watch_events_total{kind=\"pods\"}"),
        .relists = series_value(t, "vgpu_scheduler_errors_total{reason=\"watch_relist\"}"),
        .src_n = series_value(t, W "_count{writer=\"source\"}"),
        .src_sum = series_value(t, W "_sum{writer=\"source\"}"),
        .src_max = series_value(t, W "_max{writer=\"source\"}"),
        .plc_n = series_value(t, W "_count{writer=\"placement\"}"),
        .plc_sum = series_value(t, W "_sum{writer=\"placement\"}"),
        .plc_max = series_value(t, W "_max{writer=\"placement\"}"),
        .ms = ms,
        .mb = (double)out.len / 1e6};
    static const double bounds[] = CACHE_WAIT_BOUNDS;
    for (int b = 0; b < CACHE_WAIT_BUCKETS; b++) {
        char series[160], le[32];
        if (b < CACHE_WAIT_BUCKETS - 1)
            snprintf(le, sizeof le, "%g", bounds[b]);
        else
            snprintf(le, sizeof le, "+Inf");
        snprintf(series, sizeof series, W "_bucket{writer=\"source\",le=\"%s\"}", le);
        lf->src_le[b] = series_value(t, series);
    }
#undef W
    buf_free(&out);
    curl_easy_cleanup(c);
    return code == 200 && lf->applied >= 0 && lf->src_n >= 0 ? 0 : -1;
}

static bool wait_ready(const char *base, double ms)
{
    CURL *c = curl_easy_init();
    struct buf out = BUF_INIT(1 << 20);
    char url[256];
    long code = 0;
    snprintf(url, sizeof url, "%s/readyz", base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    for (double t0 = stats_now_ms(); code != 200 && stats_now_ms() - t0 < ms; usleep(50 * 1000)) {
        buf_reset(&out);
        if (curl_easy_perform(c) != CURLE_OK ||
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
            code = 0;
    }
    buf_free(&out);
    curl_easy_cleanup(c);
    return code == 200;
}

/* The churn, in a thread of its own. */
struct churner {
    struct churn *c;
    double rate;
    atomic_bool stop;
    atomic_ulong done; /* changes written so far */
};

static void *churner_main(void *arg)
{
    struct churner *ch = arg;
    churn_run(ch->c, ch->rate, 0, 0, &ch->stop, &ch->done);
    return NULL;
}

/* The service's resident memory, every `every` seconds until stop. */
struct rss_watch {
    pid_t pid;
    int every;
    double t0, start, max, first; /* first: the first sample, once the churn runs */
    atomic_bool stop;
};

static void *rss_main(void *arg)
{
    struct rss_watch *r = arg;
    for (int k = 1; !atomic_load(&r->stop); k++) {
        while (!atomic_load(&r->stop) && stats_now_ms() - r->t0 < k * r->every * 1e3)
            usleep(100 * 1000);
        if (atomic_load(&r->stop))
            break;
        double peak, cur;
        stats_rss(r->pid, &peak, &cur);
        if (cur > r->max)
            r->max = cur;
        if (k == 1)
            r->first = cur;
        printf("rss: %5d s  service VmRSS %.1f MiB (%.2fx the start), VmHWM %.1f MiB\n",
               k * r->every, cur, r->start > 0 ? cur / r->start : 0, peak);
        fflush(stdout);
    }
    return NULL;
}

/* Source writes of the phase (between l0 and l1) that waited longer than
 * bound i of CACHE_WAIT_BOUNDS. */
static double waits_over(const struct live_figures *l0, const struct live_figures *l1, int i)
{
    double all = l1->src_le[CACHE_WAIT_BUCKETS - 1] - l0->src_le[CACHE_WAIT_BUCKETS - 1];
    return all - (l1->src_le[i] - l0->src_le[i]);
}

/* The bucket of the phase's longest source wait, as text ("<= 2 ms"). */
static void waits_longest(const struct live_figures *l0, const struct live_figures *l1, char *out,
                          size_t cap)
{
    static const double bounds[] = CACHE_WAIT_BOUNDS;
    int top = -1;
    for (int b = 0; b < CACHE_WAIT_BUCKETS; b++) {
        double below = b ? l1->src_le[b - 1] - l0->src_le[b - 1] : 0;
        if (l1->src_le[b] - l0->src_le[b] - below > 0)
            top = b;
    }
    if (top < 0)
        snprintf(out, cap, "(no writes)");
    else if (top == CACHE_WAIT_BUCKETS - 1)
        snprintf(out, cap, "> %g ms", 1e3 * bounds[top - 1]);
    else
        snprintf(out, cap, "<= %g ms", 1e3 * bounds[top]);
}

/* One phase: `clients` clients filter and bind (while the churn runs) for
 * at most `seconds` and `pods` pods; prints its figures. Returns the
 * clients' errors. */
static int churn_phase(struct shared *sh, int clients, int seconds, int pods, struct churner *ch,
                       pid_t pid)
{
    struct client cl[MAX_CLIENTS];
    pthread_t th[MAX_CLIENTS];
    struct live_figures l0, l1;
    struct fakeapi_counts k0, k1;
    int nf = 0, nb = 0, errors = 0, refused = 0;
    double *f = mem_alloc(sizeof(double) * (size_t)pods + 8),
           *b = mem_alloc(sizeof(double) * (size_t)pods + 8);
    live_figures(sh->base, &l0);
    fakeapi_counts(sh->f, &k0);
    unsigned long c0 = atomic_load(&ch->done);
    double cpu0 = cpu_seconds(pid), t0 = stats_now_ms();
    pthread_mutex_lock(&sh->lock);
    sh->limit = sh->next + pods;
    sh->t_end = t0 + seconds * 1e3;
    pthread_mutex_unlock(&sh->lock);
    for (int i = 0; i < clients; i++) {
        cl[i] = (struct client){.sh = sh, .id = i};
        cl[i].filter_ms = mem_alloc(sizeof(double) * (size_t)pods);
        cl[i].bind_ms = mem_alloc(sizeof(double) * (size_t)pods);
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    if (clients == 0)
        while (stats_now_ms() < sh->t_end)
            usleep(100 * 1000);
    const char *first_error = NULL;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        memcpy(f + nf, cl[i].filter_ms, sizeof(double) * (size_t)cl[i].nf);
        memcpy(b + nb, cl[i].bind_ms, sizeof(double) * (size_t)cl[i].nb);
        nf += cl[i].nf;
        nb += cl[i].nb;
        errors += cl[i].errors;
        refused += cl[i].refused;
        if (cl[i].errors && !first_error)
            first_error = cl[i].error;
        free(cl[i].filter_ms);
        free(cl[i].bind_ms);
    }
    double secs = (stats_now_ms() - t0) / 1e3, cpu = cpu_seconds(pid) - cpu0;
    unsigned long changes = atomic_load(&ch->done) - c0;
    live_figures(sh->base, &l1);
    fakeapi_counts(sh->f, &k1);
    double f50 = stats_pct(f, nf, 0.5), f99 = stats_pct(f, nf, 0.99), fmax = stats_pct(f, nf, 1);
    double b50 = stats_pct(b, nb, 0.5), b99 = stats_pct(b, nb, 0.99);
    double src_n = l1.src_n - l0.src_n, applied = l1.applied - l0.applied;
    printf("phase: %d client%s, %.1f s, churn %.0f changes/s: %d pods bound (%.0f/s), %d "
           "refused, %d errors%s%s\n",
           clients, clients == 1 ? "" : "s", secs, changes / secs, nb, nb / secs, refused, errors,
           first_error ? "; first: " : "", first_error ? first_error : "");
    if (clients > 0) {
        printf("  filter  p50 %.3f  p99 %.3f  max %.3f ms\n", f50, f99, fmax);
        printf("  bind    p50 %.3f  p99 %.3f ms (4 API calls each)\n", b50, b99);
    }
    printf("  watch   pod events delivered %.0f/s, applied by the service %.0f/s (churn and "
           "the clients' pods), %.0f lists again after 410\n",
           (k1.pod_events - k0.pod_events) / secs, applied / secs, l1.relists - l0.relists);
    char longest[64];
    waits_longest(&l0, &l1, longest, sizeof longest);
    printf("  lock    source writes %.0f, mean wait %.1f us, over 1 ms %.0f, over 10 ms %.0f, "
           "longest in the phase %s; longest since start: source %.3f ms, placement %.3f ms\n",
           src_n, src_n > 0 ? 1e6 * (l1.src_sum - l0.src_sum) / src_n : 0, waits_over(&l0, &l1, 2),
           waits_over(&l0, &l1, 5), longest, 1e3 * l1.src_max, 1e3 * l1.plc_max);
    printf("  scrape  /metrics (the bench's, at the start and the end of the phase) %.1f MB in "
           "%.1f ms\n",
           l1.mb, l1.ms);
    printf("  server  CPU %.0f%% of one core\n", 100 * cpu / secs);
    printf("RESULT_CHURN {\"nodes\":%d,\"clients\":%d,\"churn_per_s\":%.1f,\"pods\":%d,"
           "\"filter_p50_ms\":%.3f,\"filter_p99_ms\":%.3f,\"filter_max_ms\":%.3f,"
           "\"bind_p50_ms\":%.3f,\"bind_p99_ms\":%.3f,\"applied_per_s\":%.1f,"
           "\"source_wait_max_ms\":%.3f,\"source_wait_mean_us\":%.2f,"
           "\"source_waits_over_10ms\":%.0f,\"relists\":%.0f}\n",
           sh->a->nodes, clients, changes / secs, nb, f50, f99, fmax, b50, b99, applied / secs,
           1e3 * l1.src_max, src_n > 0 ? 1e6 * (l1.src_sum - l0.src_sum) / src_n : 0,
           waits_over(&l0, &l1, 5), l1.relists - l0.relists);
    fflush(stdout);
    free(f);
    free(b);
    return errors;
}

/* The cluster into the fake API server: the nodes, then the running pods
 * the churn keeps changing. */
static struct churn *churn_cluster(struct fakeapi *f, const struct args *a)
{
    struct buf b = BUF_INIT((size_t)1 << 26);
    for (int i = 0; i < a->nodes; i++) {
        buf_reset(&b);
        node_json(&b, i, a->gpus);
        if (fakeapi_put(f, "nodes", buf_str(&b)) < 0) {
            buf_free(&b);
            return NULL;
        }
    }
    buf_free(&b);
    struct churn_options o = {a->nodes, a->gpus, a->churn_pods, 42};
    struct churn *c = churn_create(f, &o);
    if (c && churn_fill(c) != 0) {
        churn_destroy(c);
        c = NULL;
    }
    return c;
}

/* Forget pid's peak resident size (clear_refs 5): VmHWM is the peak from
 * now on. False when the kernel refuses. */
static bool reset_peak(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
    FILE *f = fopen(path, "w");
    bool ok = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    return ok;
}

/* One /metrics scrape alone, and the service's peak resident memory while
 * it is made and sent against its VmRSS just before (the peak is reset
 * first, so VmHWM afterwards is the peak since this scrape). */
static void scrape_peak(const char *base, pid_t pid, const char *when)
{
    struct live_figures lf;
    double peak, before, after;
    usleep(200 * 1000); /* the last answer's blocks given back */
    stats_rss(pid, &peak, &before);
    bool reset = reset_peak(pid);
    live_figures(base, &lf);
    stats_rss(pid, &peak, &after);
    if (!reset) {
        printf("scrape: %s: %.1f MB in %.0f ms (the kernel refused to reset VmHWM: no peak)\n",
               when, lf.mb, lf.ms);
        return;
    }
    printf("scrape: %s: /metrics %.1f MB in %.0f ms; service VmRSS %.1f MiB before, peak during "
           "%.1f MiB (+%.1f MiB, %.2fx)\n",
           when, lf.mb, lf.ms, before, peak, peak - before, before > 0 ? peak / before : 0);
    printf("RESULT_SCRAPE {\"when\":\"%s\",\"mb\":%.1f,\"ms\":%.0f,\"rss_before_mib\":%.1f,"
           "\"peak_mib\":%.1f}\n",
           when, lf.mb, lf.ms, before, peak);
}

/* After the churn stopped: how long until the service applied every pod
 * event delivered (at most 30 s). */
static void catch_up(struct shared *sh, double applied0, long produced0)
{
    struct live_figures lf;
    struct fakeapi_counts k;
    fakeapi_counts(sh->f, &k);
    double t0 = stats_now_ms(), want = (double)(k.pod_events - produced0), got = 0;
    while (stats_now_ms() - t0 < 30000) {
        if (live_figures(sh->base, &lf) == 0 && (got = lf.applied - applied0) >= want)
            break;
        usleep(100 * 1000); /* a scrape is large: not too often */
    }
    if (got >= want)
        printf("watch: every pod event applied within %.0f ms of the churn stopping (%.0f events "
               "since ready; each look is a /metrics scrape of %.0f ms)\n",
               stats_now_ms() - t0, want, lf.ms);
    else
        printf("watch: %.0f of %.0f pod events applied 30 s after the churn stopped\n", got, want);
}

/* vgpu-bench --churn: the service live on an API server served here
 * (tests/support/fakeapi, in this process), the pods changing at a->churn
 * per second through its watch while clients filter and bind. */
static int run_churn(struct args *a, const char *dir)
{
    char kubeconfig[256], log[256], base[128];
    struct buf nodes = BUF_INIT((size_t)1 << 31);
    struct shared sh = {.lock = PTHREAD_MUTEX_INITIALIZER, .a = a};
    struct churner ch = {.rate = a->churn};
    struct rss_watch rw = {.every = a->rss_every};
    pthread_t cth, rth;
    bool churning = false, watching = false;
    pid_t pid = -1;
    int port = 0, rc = 1;
    snprintf(kubeconfig, sizeof kubeconfig, "%s/kubeconfig", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    sh.f = fakeapi_start();
    if (!sh.f) {
        fprintf(stderr, "vgpu-bench: cannot start the API server\n");
        goto out;
    }
    /* Each event kept is a copy of its object: 30,000 is about 30 s of
     * churn, far more than the service's watch lags. */
    fakeapi_set_history(sh.f, 30000);
    double t0 = stats_now_ms();
    ch.c = churn_cluster(sh.f, a);
    if (!ch.c || fakeapi_write_kubeconfig(sh.f, kubeconfig) != 0) {
        fprintf(stderr,
                "vgpu-bench: cannot build the cluster (--churn-pods %d at most %d x %d "
                "x 4)\n",
                a->churn_pods, a->nodes, a->gpus / 2 > 0 ? a->gpus / 2 : 1);
        goto out;
    }
    printf("api: %d nodes x %d GPUs, %d running pods, in-process fake API server on port %d "
           "(written in %.1f s)\n",
           a->nodes, a->gpus, a->churn_pods, fakeapi_port(sh.f), (stats_now_ms() - t0) / 1e3);
    t0 = stats_now_ms();
    pid = start_server(a, NULL, kubeconfig, log, &port);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    if (pid < 0 || !wait_ready(base, START_MS)) {
        fprintf(stderr, "vgpu-bench: %s did not get ready; see %s\n", a->bin, log);
        goto out;
    }
    sh.base = base;
    node_list(&sh, a, NULL, &nodes);
    struct live_figures l0;
    struct fakeapi_counts k0;
    live_figures(base, &l0);
    fakeapi_counts(sh.f, &k0);
    double peak;
    stats_rss(pid, &peak, &rw.start);
    printf("server: %s live (listed and watching), ready in %.1f s; resident memory at start "
           "%.1f MiB (VmRSS of the service process, pid %d)\n",
           a->bin, (stats_now_ms() - t0) / 1e3, rw.start, (int)pid);
    scrape_peak(base, pid, "ready"); /* also resets VmHWM: from here it is the run's */
    rw.pid = pid;
    rw.max = rw.start;
    rw.t0 = stats_now_ms();
    churning = pthread_create(&cth, NULL, churner_main, &ch) == 0;
    if (a->duration > 0)
        watching = pthread_create(&rth, NULL, rss_main, &rw) == 0;
    sleep(2); /* the churn reaches its pace before anything is measured */
    int errors = 0;
    if (a->duration > 0) {
        int pods = a->pods > 2000 * a->duration ? a->pods : 2000 * a->duration;
        errors +=
            churn_phase(&sh, a->clients, a->duration, pods > 10000000 ? 10000000 : pods, &ch, pid);
    } else {
        errors += churn_phase(&sh, 1, a->seconds, a->pods, &ch, pid);
        if (a->clients > 1)
            errors += churn_phase(&sh, a->clients, a->seconds, a->pods, &ch, pid);
    }
    atomic_store(&ch.stop, true);
    pthread_join(cth, NULL);
    churning = false;
    if (watching) {
        atomic_store(&rw.stop, true);
        pthread_join(rth, NULL);
        watching = false;
    }
    struct churn_stats cs;
    churn_stats(ch.c, &cs);
    printf("churn: %lu added, %lu modified, %lu deleted (%lu refused by the API server), %d "
           "running\n",
           cs.added, cs.modified, cs.deleted, cs.failed, cs.pods);
    catch_up(&sh, l0.applied, k0.pod_events);
    double cur;
    stats_rss(pid, &peak, &cur);
    if (cur > rw.max)
        rw.max = cur;
    printf("rss: end  service VmRSS %.1f MiB, VmHWM since ready %.1f MiB (its /metrics answers "
           "included); "
           "start %.1f MiB; largest sample %.1f MiB = %.2fx the start",
           cur, peak, rw.start, rw.max, rw.start > 0 ? rw.max / rw.start : 0);
    if (rw.first > 0)
        printf(", %.2fx the first sample (%.1f MiB)", rw.max / rw.first, rw.first);
    printf("\n");
    printf("RESULT_CHURN_RSS {\"nodes\":%d,\"churn_per_s\":%.0f,\"seconds\":%d,\"rss_start_mib\":"
           "%.1f,\"rss_first_mib\":%.1f,\"rss_end_mib\":%.1f,\"rss_max_mib\":%.1f,"
           "\"hwm_mib\":%.1f}\n",
           a->nodes, a->churn, a->duration, rw.start, rw.first, cur, rw.max, peak);
    scrape_peak(base, pid, "end");
    rc = errors || cs.failed ? 1 : 0;
out:
    if (churning) {
        atomic_store(&ch.stop, true);
        pthread_join(cth, NULL);
    }
    if (watching) {
        atomic_store(&rw.stop, true);
        pthread_join(rth, NULL);
    }
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    churn_destroy(ch.c);
    fakeapi_stop(sh.f);
    unlink(kubeconfig);
    unlink(log);
    buf_free(&nodes);
    return rc;
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr,
            "usage: vgpu-bench --nodes N [--gpus 8] [--mode names|nodes] [--clients C]\n"
            "         [--pods P] [--seconds S] [--existing-pods K] [--threads T]\n"
            "         [--filter-threads F]\n"
            "         [--policy binpack] [--vendors nvidia|mixed] [--url URL] [--bin PATH]\n"
            "         [--quota MIB] [--ui-poll MS]\n"
            "       vgpu-bench --churn RATE [--churn-pods K] [--duration S] [--rss-every S]\n"
            "         [--nodes N] [--clients C] [--pods P] [--seconds S] ...\n");
    return 2;
}

/* Why the --churn options cannot run together; NULL when they can. */
static const char *churn_refused(const struct args *a)
{
    if (a->churn < 0 || a->churn > 100000)
        return "--churn: a rate of 0 (off) to 100000 changes per second";
    if (a->duration < 0 || a->duration > 86400 || a->rss_every < 1 || a->rss_every > 3600)
        return "--duration: 0 to 86400 seconds; --rss-every: 1 to 3600";
    if (a->churn == 0)
        return a->duration ? "--duration needs --churn" : NULL;
    if (a->url)
        return "--churn starts its own service: not with --url";
    if (strcmp(a->vendors, "nvidia") || strcmp(a->mode, "names"))
        return "--churn: NVIDIA nodes named in the filter (--vendors nvidia, --mode names) only";
    if (a->clients == 0 && !a->duration)
        return "--clients 0: only with --duration (the churn alone)";
    return NULL;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static char bin[PATH_MAX];
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(bin, sizeof bin, "%s/vgpu-scheduler", dirname(self));
    *a = (struct args){.nodes = 1000,
                       .gpus = 8,
                       .clients = 4,
                       .pods = 2000,
                       .seconds = 60,
                       .existing = -1,
                       .threads = 2,
                       .mode = "names",
                       .bin = bin,
                       .policy = "binpack",
                       .vendors = "nvidia",
                       .churn_pods = -1,
                       .rss_every = 60};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--nodes"))
            a->nodes = atoi(v);
        else if (!strcmp(k, "--gpus"))
            a->gpus = atoi(v);
        else if (!strcmp(k, "--mode"))
            a->mode = v;
        else if (!strcmp(k, "--clients"))
            a->clients = atoi(v);
        else if (!strcmp(k, "--pods"))
            a->pods = atoi(v);
        else if (!strcmp(k, "--seconds"))
            a->seconds = atoi(v);
        else if (!strcmp(k, "--existing-pods"))
            a->existing = atoi(v);
        else if (!strcmp(k, "--threads"))
            a->threads = atoi(v);
        else if (!strcmp(k, "--filter-threads"))
            a->filter_threads = atoi(v);
        else if (!strcmp(k, "--policy"))
            a->policy = v;
        else if (!strcmp(k, "--vendors"))
            a->vendors = v;
        else if (!strcmp(k, "--url"))
            a->url = v;
        else if (!strcmp(k, "--bin"))
            a->bin = v;
        else if (!strcmp(k, "--quota"))
            a->quota = atoll(v);
        else if (!strcmp(k, "--ui-poll"))
            a->ui_poll_ms = atoi(v);
        else if (!strcmp(k, "--churn"))
            a->churn = atof(v);
        else if (!strcmp(k, "--churn-pods"))
            a->churn_pods = atoi(v);
        else if (!strcmp(k, "--duration"))
            a->duration = atoi(v);
        else if (!strcmp(k, "--rss-every"))
            a->rss_every = atoi(v);
        else
            return usage();
    }
    if (a->existing < 0)
        a->existing = a->nodes * a->gpus / 4;
    if (a->churn_pods < 0)
        a->churn_pods = a->nodes * a->gpus / 4 > 0 ? a->nodes * a->gpus / 4 : 1;
    const char *why = churn_refused(a);
    if (why) {
        fprintf(stderr, "vgpu-bench: %s\n", why);
        return usage();
    }
    if ((argc - 1) % 2 || a->nodes < 1 || a->nodes > 100000 || a->gpus < 1 || a->gpus > 16 ||
        a->clients < (a->churn > 0 ? 0 : 1) || a->clients > MAX_CLIENTS || a->pods < 1 ||
        a->pods > 10000000 || a->seconds < 1 || a->seconds > 3600 || a->threads < 1 ||
        a->threads > 256 || a->filter_threads < 0 || a->filter_threads > 16 || a->quota < 0 ||
        a->quota > (1LL << 50) || a->ui_poll_ms < 0 || a->ui_poll_ms > 60000 ||
        (strcmp(a->mode, "names") && strcmp(a->mode, "nodes")) ||
        (strcmp(a->vendors, "nvidia") && strcmp(a->vendors, "mixed")))
        return usage();
    return 0;
}

static void node_list(struct shared *sh, const struct args *a, struct buf *items, struct buf *out)
{
    if (!strcmp(a->mode, "nodes")) {
        buf_puts(out, ",\"Nodes\":{\"apiVersion\":\"v1\",\"kind\":\"NodeList\",\"items\":[");
        buf_append(out, items->data, items->len);
        buf_puts(out, "]}");
    } else {
        buf_puts(out, ",\"NodeNames\":[");
        for (int i = 0; i < a->nodes; i++)
            buf_printf(out, "%s\"node-%05d\"", i ? "," : "", i);
        buf_puts(out, "]");
    }
    sh->nodes = buf_str(out);
}

int main(int argc, char **argv)
{
    base_init();
    struct args a;
    char dir[] = "/tmp/vgpu-bench-XXXXXX", snap[256] = "", log[256] = "", base[128];
    struct buf items = BUF_INIT((size_t)1 << 31), nodes = BUF_INIT((size_t)1 << 31);
    struct shared sh = {.lock = PTHREAD_MUTEX_INITIALIZER};
    pid_t pid = -1;
    int port = 0, rc = 1;

    if (parse_args(argc, argv, &a))
        return 2;
    kinds[0] = (struct kind){.b = policy_device_backend_default()};
    if (!strcmp(a.vendors, "mixed"))
        mixed_kinds();
    log_set_level(LOG_LEVEL_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mkdtemp(dir))
        return 1;
    if (a.churn > 0) {
        rc = run_churn(&a, dir);
        goto out;
    }
    snprintf(snap, sizeof snap, "%s/cluster.json", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    if (write_cluster(snap, &a, &items) != 0) {
        fprintf(stderr, "vgpu-bench: cannot write %s\n", snap);
        goto out;
    }
    if (a.url) {
        snprintf(base, sizeof base, "%s", a.url);
    } else {
        double t0 = stats_now_ms();
        pid = start_server(&a, snap, NULL, log, &port);
        if (pid < 0) {
            fprintf(stderr, "vgpu-bench: %s did not start; see %s\n", a.bin, log);
            goto out;
        }
        printf("server: %s, %d nodes x %d GPUs, %d running pods, loaded in %.1f s\n", a.bin,
               a.nodes, a.gpus, a.existing, (stats_now_ms() - t0) / 1e3);
        if (a.quota > 0)
            printf("quota: namespace bench may hold %lld MiB and %lld %% (a ResourceQuota)\n",
                   a.quota, a.quota);
        snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    }
    sh.a = &a;
    sh.base = base;
    sh.limit = a.pods;
    node_list(&sh, &a, &items, &nodes);
    double healthz = healthz_p50(base, 2000), parse = parse_p50(&sh, 20);
    double policy = policy_p50(snap, 20, a.quota);

    struct client cl[MAX_CLIENTS];
    pthread_t th[MAX_CLIENTS], ui_th;
    struct ui_poller ui = {.sh = &sh, .cap = 100000};
    if (a.ui_poll_ms > 0) {
        ui.ms = mem_alloc(sizeof *ui.ms * (size_t)ui.cap);
        pthread_create(&ui_th, NULL, ui_poll_main, &ui);
    }
    double cpu0 = pid > 0 ? cpu_seconds(pid) : 0;
    double t0 = stats_now_ms();
    sh.t_end = t0 + a.seconds * 1e3;
    for (int i = 0; i < a.clients; i++) {
        cl[i] = (struct client){.sh = &sh, .id = i};
        cl[i].filter_ms = mem_alloc(sizeof(double) * (size_t)a.pods);
        cl[i].bind_ms = mem_alloc(sizeof(double) * (size_t)a.pods);
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    }
    double *f = mem_alloc(sizeof(double) * (size_t)a.pods),
           *b = mem_alloc(sizeof(double) * (size_t)a.pods);
    int nf = 0, nb = 0, errors = 0, refused = 0;
    for (int i = 0; i < a.clients; i++) {
        pthread_join(th[i], NULL);
        memcpy(f + nf, cl[i].filter_ms, sizeof(double) * (size_t)cl[i].nf);
        memcpy(b + nb, cl[i].bind_ms, sizeof(double) * (size_t)cl[i].nb);
        nf += cl[i].nf;
        nb += cl[i].nb;
        errors += cl[i].errors;
        refused += cl[i].refused;
        free(cl[i].filter_ms);
        free(cl[i].bind_ms);
    }
    double secs = (stats_now_ms() - t0) / 1e3, peak = 0, cur = 0;
    if (a.ui_poll_ms > 0) {
        atomic_store(&ui.stop, true);
        pthread_join(ui_th, NULL);
    }
    double cpu = pid > 0 ? cpu_seconds(pid) - cpu0 : 0;
    if (pid > 0)
        stats_rss(pid, &peak, &cur);
    double f50 = stats_pct(f, nf, 0.5), f90 = stats_pct(f, nf, 0.9), f99 = stats_pct(f, nf, 0.99),
           fmax = stats_pct(f, nf, 1);
    double b50 = stats_pct(b, nb, 0.5), b90 = stats_pct(b, nb, 0.9), b99 = stats_pct(b, nb, 0.99),
           bmax = stats_pct(b, nb, 1);
    printf("mode %s, %d clients, %d pods in %.2f s: %.0f filter+bind pods/s; %d refused, %d "
           "errors\n",
           a.mode, a.clients, nb, secs, nb / secs, refused, errors);
    printf("filter  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms  (%.0f/s)\n", f50, f90, f99, fmax,
           nf / secs);
    printf("bind    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms  (%.0f/s)\n", b50, b90, b99, bmax,
           nb / secs);
    printf("floors: healthz p50 %.3f ms; cJSON parse of the filter body (%zu bytes) p50 %.3f ms; "
           "engine choice in-process p50 %.3f ms\n",
           healthz, nodes.len + 400, parse, policy);
    printf("ratios: filter p50 / healthz %.1fx; filter p50 / parse floor %.1fx\n",
           healthz > 0 ? f50 / healthz : 0, parse > 0 ? f50 / parse : 0);
    printf("server RSS: peak %.1f MiB, now %.1f MiB; server CPU %.3f ms per filter+bind "
           "(%.0f%% of %.2f s on %ld cores)\n",
           peak, cur, nb ? 1e3 * cpu / nb : 0, 100 * cpu / secs, secs,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("RESULT "
           "{\"nodes\":%d,\"vendors\":%d,\"mode\":\"%s\",\"clients\":%d,\"pods\":%d,\"pods_per_s\":"
           "%.1f,"
           "\"filter_p50_ms\":%.3f,\"filter_p99_ms\":%.3f,\"bind_p99_ms\":%.3f,"
           "\"healthz_p50_ms\":%.3f,\"parse_floor_ms\":%.3f,\"policy_ms\":%.3f,"
           "\"rss_mib\":%.1f,\"quota_mib\":%lld}\n",
           a.nodes, nkinds, a.mode, a.clients, nb, nb / secs, f50, f99, b99, healthz, parse, policy,
           cur, a.quota);
    if (a.ui_poll_ms > 0) {
        printf("web view open, polling every %d ms: %d polls (view page of 200 nodes, pending, "
               "one node), p50 %.3f p99 %.3f max %.3f ms, %.0f KiB each, %d errors\n",
               a.ui_poll_ms, ui.n, stats_pct(ui.ms, ui.n, 0.5), stats_pct(ui.ms, ui.n, 0.99),
               stats_pct(ui.ms, ui.n, 1), ui.n ? (double)ui.bytes / ui.n / 1024 : 0, ui.errors);
        printf("RESULT_UI {\"nodes\":%d,\"ui_poll_ms\":%d,\"polls\":%d,\"filter_p99_ms\":%.3f,"
               "\"poll_p99_ms\":%.3f}\n",
               a.nodes, a.ui_poll_ms, ui.n, f99, stats_pct(ui.ms, ui.n, 0.99));
        errors += ui.errors;
        free(ui.ms);
    }
    free(f);
    free(b);
    rc = errors ? 1 : 0;
out:
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    unlink(snap);
    unlink(log);
    rmdir(dir);
    buf_free(&items);
    buf_free(&nodes);
    curl_global_cleanup();
    return rc;
}

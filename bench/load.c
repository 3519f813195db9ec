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
#include "bench/stats.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "policy/device.h"

#define MAX_CLIENTS 64
#define START_MS    120000 /* loading 100,000 pods takes a while */

struct args {
    int nodes, gpus, clients, pods, seconds, existing, threads;
    long long quota; /* MiB (and %) the pods' namespace may hold; 0: no ResourceQuota */
    int ui_poll_ms;  /* > 0: a web view open, polling this often (server/ui.h) */
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

static pid_t start_server(const struct args *a, const char *snap, const char *log, int *port)
{
    char threads[16];
    snprintf(threads, sizeof threads, "%d", a->threads);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(a->bin, a->bin, "--snapshot", snap, "--http_bind", "127.0.0.1:0", "--threads",
              threads, "--node-scheduler-policy", a->policy, (char *)NULL);
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
    int next, done_pods;
    double t_end;
};

struct client {
    struct shared *sh;
    int id;
    double *filter_ms, *bind_ms;
    int nf, nb, errors, refused;
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
    int k = sh->next < sh->a->pods && stats_now_ms() < sh->t_end ? sh->next++ : -1;
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
 * resources the row has; a MIG pod asks mode "mig"). */
static void pod_body(struct buf *b, const struct shared *sh, int k)
{
    const struct kind *kd = &kinds[k % nkinds];
    const struct policy_device_backend *dv = kd->b;
    buf_reset(b);
    buf_printf(b,
               "{\"Pod\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
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
    buf_puts(b, sh->nodes);
    buf_puts(b, "}");
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
        pod_body(&body, sh, k);
        if (post(c, url, body.data, body.len, &out, &ms) != 0) {
            cl->errors++;
            continue;
        }
        cl->filter_ms[cl->nf++] = ms;
        cJSON *j = cJSON_Parse(buf_str(&out));
        const char *node = chosen(j);
        if (!node) {
            cl->refused++;
            cJSON_Delete(j);
            continue;
        }
        int n = snprintf(bind, sizeof bind,
                         "{\"PodName\":\"bench-%d\",\"PodNamespace\":\"bench\",\"PodUID\":"
                         "\"bench-uid-%d\",\"Node\":\"%s\"}",
                         k, k, node);
        cJSON_Delete(j);
        if (post(c, burl, bind, (size_t)n, &out, &ms) != 0 ||
            !strstr(buf_str(&out), "\"Error\":\"\"")) {
            cl->errors++;
            continue;
        }
        cl->bind_ms[cl->nb++] = ms;
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

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr,
            "usage: vgpu-bench --nodes N [--gpus 8] [--mode names|nodes] [--clients C]\n"
            "         [--pods P] [--seconds S] [--existing-pods K] [--threads T]\n"
            "         [--policy binpack] [--vendors nvidia|mixed] [--url URL] [--bin PATH]\n"
            "         [--quota MIB] [--ui-poll MS]\n");
    return 2;
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
                       .vendors = "nvidia"};
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
        else
            return usage();
    }
    if (a->existing < 0)
        a->existing = a->nodes * a->gpus / 4;
    if ((argc - 1) % 2 || a->nodes < 1 || a->nodes > 100000 || a->gpus < 1 || a->gpus > 16 ||
        a->clients < 1 || a->clients > MAX_CLIENTS || a->pods < 1 || a->pods > 10000000 ||
        a->seconds < 1 || a->seconds > 3600 || a->threads < 1 || a->threads > 256 || a->quota < 0 ||
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
    char dir[] = "/tmp/vgpu-bench-XXXXXX", snap[256], log[256], base[128];
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
        pid = start_server(&a, snap, log, &port);
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

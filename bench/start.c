/* vgpu-start-bench: how fast and in how much memory the service starts on
 * a large snapshot.
 *
 * Writes a seeded synthetic `kubectl get nodes,pods,... -o json` snapshot
 * (N nodes x G GPUs with HAMi register annotations, P running pods placed
 * on them with allocation annotations, a pending pod per 100, a
 * ResourceQuota and a PodDisruptionBudget), starts vgpu-scheduler on it and
 * prints the time from exec to listening (the snapshot is loaded before the
 * service listens, so that is time-to-ready; /readyz is checked once), the
 * peak resident memory (VmHWM) and the resident memory once ready (VmRSS).
 * --items-first writes the List's kind after its items; --pretty indents
 * like kubectl does. With --filters N it then filters N distinct pods that
 * are never bound (--huge: at the limits of names, annotations and
 * containers; --huge-filters: that many more such after the plain ones)
 * and prints RSS against the steady figure (after --warm filters of one
 * pod) and the tables' gauges from /metrics along the way, and a
 * RESULT_BOUND line (issue 21's bounded memory). --bin runs another build
 * (the one before a change).
 * The last line is `RESULT {json}`.
 *
 * A program that prints figures; never a test. */
#include <curl/curl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/stats.h"

#define START_MS 120000

struct args {
    int nodes, gpus, pods, seed, pad;
    long filters;      /* then this many distinct pods filtered, never bound */
    int huge;          /* their names, annotations and container lists at the limits */
    long huge_filters; /* then this many more, at the limits */
    int warm;          /* filters of one pod before the steady figure */
    int candidates;    /* nodes named per filter (a window moving over them); 0: all */
    int items_first, pretty, keep;
    const char *bin, *out;
};

/* What the bench keeps of an answer: the vgpu_scheduler_ lines of a
 * /metrics page (the HAMi per-container series of 100,000 pods make it
 * over 100 MB). */
struct filter_out {
    size_t len, linelen;
    char line[4096];    /* the line being read */
    char text[4 << 20]; /* the lines kept */
};

static int churn(const struct args *a, pid_t pid, int port);

static const char *const models[] = {"NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4"};

/* One item written to f; with pretty, newlines and indentation between its
 * members as kubectl prints them (a cheap approximation: after , { [). */
static void put(FILE *f, const char *s, int pretty)
{
    if (!pretty) {
        fputs(s, f);
        return;
    }
    int depth = 2, in_str = 0, esc = 0;
    for (const char *p = s; *p; p++) {
        fputc(*p, f);
        if (in_str) {
            esc = !esc && *p == '\\';
            in_str = esc || *p != '"';
            continue;
        }
        if (*p == '"')
            in_str = 1;
        else if (*p == '{' || *p == '[' || *p == ',') {
            depth += *p != ',';
            fprintf(f, "\n%*s", depth * 4, "");
        } else if (*p == ':')
            fputc(' ', f);
    }
}

static void node_item(char *b, size_t cap, int i, int g)
{
    size_t n = (size_t)snprintf(
        b, cap,
        "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
        "\"resourceVersion\":\"1\",\"labels\":{\"kubernetes.io/hostname\":\"node-%05d\","
        "\"gpu\":\"on\"},\"annotations\":{\"hami.io/node-handshake\":\"Requesting_2026-11-22 "
        "00:00:00\",\"hami.io/node-nvidia-register\":\"[",
        i, i);
    for (int d = 0; d < g; d++)
        n += (size_t)snprintf(b + n, cap - n,
                              "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":10,"
                              "\\\"devmem\\\":81920,\\\"devcore\\\":100,\\\"type\\\":\\\"%s\\\","
                              "\\\"numa\\\":%d,\\\"health\\\":true,\\\"index\\\":%d}",
                              d ? "," : "", i, d, models[i % 3], d * 2 / g, d);
    snprintf(b + n, cap - n,
             "]\"}},\"spec\":{\"podCIDR\":\"10.%d.%d.0/24\"},\"status\":{\"allocatable\":{"
             "\"cpu\":\"128\",\"memory\":\"1024Gi\",\"nvidia.com/gpu\":\"%d\"},\"capacity\":{"
             "\"cpu\":\"128\",\"memory\":\"1024Gi\",\"nvidia.com/gpu\":\"%d\"}}}",
             i / 256, i % 256, g * 10, g * 10);
}

/* A running pod on node n, GPU d; every 100th is pending (no node). */
static void pod_item(char *b, size_t cap, const struct args *a, int k, unsigned *seed)
{
    int n = k % a->nodes, d = (k / a->nodes) % a->gpus;
    int mem = 1024 * (1 + (int)(rand_r(seed) % 8)), cores = 5 * (1 + (int)(rand_r(seed) % 4));
    char placed[512] = "", pad[4096] = "", node[64] = "";
    if (k % 100 != 99)
        snprintf(placed, sizeof placed,
                 "\"hami.io/vgpu-node\":\"node-%05d\",\"hami.io/vgpu-devices-allocated\":"
                 "\"GPU-%05d-%02d,NVIDIA,%d,%d:;\",\"hami.io/bind-phase\":\"success\",",
                 n, n, d, mem, cores);
    if (k % 100 != 99)
        snprintf(node, sizeof node, "\"nodeName\":\"node-%05d\",", n);
    if (a->pad > 0) {
        int w = a->pad < (int)sizeof pad - 32 ? a->pad : (int)sizeof pad - 32;
        int m = snprintf(pad, sizeof pad, "\"bench/pad\":\"");
        memset(pad + m, 'x', (size_t)w);
        snprintf(pad + m + w, sizeof pad - (size_t)(m + w), "\",");
    }
    snprintf(b, cap,
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"run-%d\","
             "\"namespace\":\"ns-%d\",\"uid\":\"0000%04x-run-uid-%d\",\"labels\":{\"app\":"
             "\"train-%d\",\"tier\":\"gpu\"},\"annotations\":{%s%s\"note\":\"quote \\\" "
             "backslash \\\\ brace { bracket [ \\u00e9\"},\"ownerReferences\":[{\"kind\":"
             "\"ReplicaSet\",\"name\":\"train-%d-5d8f\",\"uid\":\"rs-%d\"}]},\"spec\":{%s"
             "\"schedulerName\":\"vgpu-scheduler\",\"containers\":[{\"name\":\"main\",\"image\":"
             "\"cuda:12\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}],\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"%d\",\"nvidia.com/gpucores\":"
             "\"%d\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}}}]},\"status\":{"
             "\"phase\":\"%s\"}}",
             k, k % 50, k & 0xffff, k, k % 500, placed, pad, k % 500, k % 500, node, mem, cores,
             k % 100 == 99 ? "Pending" : "Running");
}

static int write_snapshot(const char *path, const struct args *a)
{
    FILE *f = fopen(path, "w");
    static char b[1 << 16];
    unsigned seed = (unsigned)a->seed;
    const char *head =
        "\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"}";
    if (!f)
        return -1;
    fprintf(f, "{%s%s\"items\":[", a->items_first ? "" : head, a->items_first ? "" : ",");
    for (int i = 0; i < a->nodes; i++) {
        node_item(b, sizeof b, i, a->gpus);
        fputs(i ? "," : "", f);
        put(f, b, a->pretty);
    }
    for (int k = 0; k < a->pods; k++) {
        pod_item(b, sizeof b, a, k, &seed);
        fputs(",", f);
        put(f, b, a->pretty);
    }
    fputs(",{\"apiVersion\":\"v1\",\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"gpu\","
          "\"namespace\":\"ns-1\"},\"spec\":{\"hard\":{\"limits.nvidia.com/gpumem\":"
          "\"100000000\"}}}",
          f);
    fputs(",{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{"
          "\"name\":\"train\",\"namespace\":\"ns-1\"},\"spec\":{\"minAvailable\":1,\"selector\":{"
          "\"matchLabels\":{\"tier\":\"gpu\"}}}}",
          f);
    fprintf(f, "]%s%s}\n", a->items_first ? "," : "", a->items_first ? head : "");
    return fclose(f) == 0 ? 0 : -1;
}

/* The port from "listening on ...:PORT" in the log, or 0. */
static int listening(const char *log, char *loaded, size_t cap)
{
    char line[1024];
    int port = 0;
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) {
        char *p;
        if ((p = strstr(line, "nodes, ")) && strstr(line, "snapshot"))
            snprintf(loaded, cap, "%s", strstr(line, "snapshot"));
        if ((p = strstr(line, "listening on ")) && (p = strrchr(p, ':')))
            port = atoi(p + 1);
    }
    if (f)
        fclose(f);
    return port;
}

static long readyz(int port)
{
    char url[64];
    long code = 0;
    CURL *h = curl_easy_init();
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    return code;
}

/* ---- bounded memory: distinct pods filtered, never bound ---- */

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    struct filter_out *o = ud;
    size_t total = size * n;
    for (size_t i = 0; i < total; i++) {
        if (p[i] != '\n') {
            if (o->linelen < sizeof o->line - 1)
                o->line[o->linelen++] = p[i];
            continue;
        }
        o->line[o->linelen] = '\0';
        if (strncmp(o->line, "vgpu_scheduler_", 15) == 0 &&
            o->len + o->linelen + 1 < sizeof o->text) {
            memcpy(o->text + o->len, o->line, o->linelen);
            o->len += o->linelen;
            o->text[o->len++] = '\n';
            o->text[o->len] = '\0';
        }
        o->linelen = 0;
    }
    return total;
}

/* Pod k's filter body into b (cap bytes): a new name and uid; with huge, a
 * 253-character name, four 60 KiB annotations and 64 containers. */
static size_t filter_body(char *b, size_t cap, int huge, long k, const char *names)
{
    size_t n = 0;
    char name[300];
    if (huge)
        snprintf(name, sizeof name, "p%ld-%0*d", k, 240, 0);
    else
        snprintf(name, sizeof name, "p%ld", k);
    n += (size_t)snprintf(b + n, cap - n,
                          "{\"Pod\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
                          "\"name\":\"%s\",\"namespace\":\"churn\",\"uid\":\"churn-%ld\","
                          "\"annotations\":{",
                          name, k);
    for (int i = 0; huge && i < 4; i++) {
        n += (size_t)snprintf(b + n, cap - n, "%s\"bench/a%d\":\"", i ? "," : "", i);
        memset(b + n, 'a' + i, 60 << 10);
        n += 60 << 10;
        b[n++] = '"';
    }
    n += (size_t)snprintf(b + n, cap - n,
                          "}},\"spec\":{\"schedulerName\":\"vgpu-scheduler\",\"containers\":[");
    for (int c = 0; c < (huge ? 64 : 1); c++) /* the first asks a GPU share */
        n += (size_t)snprintf(b + n, cap - n,
                              c ? ",{\"name\":\"c%d\",\"image\":\"side:1\"}"
                                : "{\"name\":\"c%d\",\"image\":\"cuda:12\",\"resources\":{"
                                  "\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":"
                                  "\"%d\",\"nvidia.com/gpucores\":\"%d\"}}}",
                              c, 1024 + (int)(k % 7) * 512, 5 + (int)(k % 5));
    n += (size_t)snprintf(b + n, cap - n, "]}},%s}", names);
    return n;
}

/* The value of a series in a /metrics page, or -1. */
static double series(const char *page, const char *name)
{
    const char *p = page;
    size_t n = strlen(name);
    while ((p = strstr(p, name)) != NULL) {
        if ((p == page || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
        p += n;
    }
    return -1;
}

/* RSS (read before /metrics was asked for: its page is transient) and the
 * tables from page. Returns RSS in MiB. */
static double print_tables(const char *when, double peak, double cur, const char *page,
                           double steady)
{
    static const char *const names[] = {
        "vgpu_scheduler_table_entries{table=\"pods\"}",
        "vgpu_scheduler_table_entries{table=\"reservations\"}",
        "vgpu_scheduler_table_entries{table=\"orphans\"}",
        "vgpu_scheduler_table_entries{table=\"pending\"}",
        "vgpu_scheduler_table_bytes{table=\"pods\"}",
        "vgpu_scheduler_table_bytes{table=\"reservations\"}",
        "vgpu_scheduler_table_bytes{table=\"pending\"}",
        "vgpu_scheduler_table_bytes_max{table=\"pending\"}",
        "vgpu_scheduler_pending_evictions_total",
        "vgpu_scheduler_table_bytes{table=\"memo\"}",
        "vgpu_scheduler_workload_shapes",
    };
    printf("%s: RSS %.1f MiB (peak %.1f)", when, cur, peak);
    if (steady > 0)
        printf(" = %.2f x steady", cur / steady);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        printf("; %s %.0f", names[i] + strlen("vgpu_scheduler_"), series(page, names[i]));
    printf("\n");
    fflush(stdout);
    return cur;
}

static int get_metrics(CURL *h, int port, struct filter_out *o)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    o->len = o->linelen = 0;
    o->text[0] = '\0';
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_URL, url);
    return curl_easy_perform(h) == CURLE_OK ? 0 : -1;
}

/* The NodeNames member for filter k into names: every node, or a window of
 * a->candidates nodes that moves by that much each filter. */
static void node_names(char *names, const struct args *a, long k)
{
    int n = a->candidates > 0 && a->candidates < a->nodes ? a->candidates : a->nodes;
    int first = n < a->nodes ? (int)((k * n) % a->nodes) : 0;
    size_t len = (size_t)sprintf(names, "\"NodeNames\":[");
    for (int i = 0; i < n; i++)
        len +=
            (size_t)sprintf(names + len, "%s\"node-%05d\"", i ? "," : "", (first + i) % a->nodes);
    sprintf(names + len, "]");
}

struct run {
    const struct args *a;
    pid_t pid;
    int port;
    CURL *h;
    struct curl_slist *hs;
    char url[64], *names, *body;
    size_t cap;
    long errors;
    double steady; /* MiB */
};

static struct filter_out page;

/* One filter of pod k; an error unless 200. */
static void filter_one(struct run *r, int huge, long k)
{
    long code = 0;
    if (r->a->candidates > 0 && r->a->candidates < r->a->nodes)
        node_names(r->names, r->a, k);
    size_t len = filter_body(r->body, r->cap, huge, k, r->names);
    curl_easy_setopt(r->h, CURLOPT_URL, r->url);
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, r->hs);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE, (long)len);
    page.len = page.linelen = 0;
    if (curl_easy_perform(r->h) != CURLE_OK ||
        (curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &code), code != 200))
        r->errors++;
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, NULL);
}

/* Print RSS (and its ratio to the steady figure, once there is one) and
 * the tables as `when`; returns RSS in MiB. */
static double report(struct run *r, const char *when)
{
    double peak, cur;
    stats_rss(r->pid, &peak, &cur);
    get_metrics(r->h, r->port, &page);
    return print_tables(when, peak, cur, page.text, r->steady);
}

/* Filter n distinct pods from pod first on; a report every tenth of the
 * way. Returns RSS at the end (MiB); *rate gets filters per second. */
static double phase(struct run *r, int huge, long first, long n, double *rate)
{
    char when[96];
    double t0 = stats_now_ms();
    long tenth = n / 10 > 0 ? n / 10 : 1;
    for (long k = 0; k < n; k++) {
        filter_one(r, huge, first + k);
        if ((k + 1) % tenth == 0 && k + 1 < n) {
            snprintf(when, sizeof when, "after %ld %s filters", k + 1, huge ? "huge" : "plain");
            report(r, when);
        }
    }
    double s = (stats_now_ms() - t0) / 1000;
    *rate = s > 0 ? (double)n / s : 0;
    snprintf(when, sizeof when, "after %ld %s filters", n, huge ? "huge" : "plain");
    return report(r, when);
}

/* Warm up on one pod (memos, arenas and buffers at their working size),
 * take the steady figure, then filter a->filters distinct pods and
 * a->huge_filters huge ones, never bound, over one keep-alive connection;
 * print RSS against steady and the tables' gauges along the way, and a
 * RESULT_BOUND line. */
static int churn(const struct args *a, pid_t pid, int port)
{
    struct run r = {.a = a, .pid = pid, .port = port};
    double rate_plain = 0, rate_huge = 0, plain = 0, huge = 0, peak, cur;
    r.cap = ((size_t)a->nodes * 24 + 64) + ((a->huge || a->huge_filters) ? (300 << 10) : 4096);
    r.names = malloc((size_t)a->nodes * 24 + 64);
    r.body = malloc(r.cap);
    r.hs = curl_slist_append(NULL, "Content-Type: application/json");
    r.h = curl_easy_init();
    node_names(r.names, a, 0);
    snprintf(r.url, sizeof r.url, "http://127.0.0.1:%d/filter", port);
    curl_easy_setopt(r.h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(r.h, CURLOPT_WRITEDATA, &page);
    curl_easy_setopt(r.h, CURLOPT_TIMEOUT, 30L);
    report(&r, "before filters");
    for (int i = 0; i < a->warm; i++)
        filter_one(&r, 0, 0);
    char when[64];
    snprintf(when, sizeof when, "steady (after %d filters of one pod)", a->warm);
    r.steady = report(&r, when);
    long first = 1;
    if (a->filters > 0) {
        plain = phase(&r, a->huge, first, a->filters, &rate_plain);
        printf("filters: %ld distinct pods%s at %.0f/s\n", a->filters,
               a->huge ? " (253-character names, 240 KiB of annotations, 64 containers)" : "",
               rate_plain);
        first += a->filters;
    }
    if (a->huge_filters > 0) {
        huge = phase(&r, 1, first, a->huge_filters, &rate_huge);
        printf("filters: %ld distinct pods (253-character names, 240 KiB of annotations, 64 "
               "containers) at %.0f/s\n",
               a->huge_filters, rate_huge);
    }
    stats_rss(pid, &peak, &cur);
    printf("errors: %ld (the peak includes the /metrics pages the bench asked for)\n", r.errors);
    printf("RESULT_BOUND {\"nodes\":%d,\"pods\":%d,\"steady_mib\":%.1f,\"plain\":%ld,"
           "\"plain_mib\":%.1f,\"plain_ratio\":%.2f,\"plain_per_s\":%.0f,\"huge\":%ld,"
           "\"huge_mib\":%.1f,\"huge_ratio\":%.2f,\"huge_per_s\":%.0f,\"peak_mib\":%.1f,"
           "\"errors\":%ld}\n",
           a->nodes, a->pods, r.steady, a->filters, plain, r.steady > 0 ? plain / r.steady : 0,
           rate_plain, a->huge_filters, huge, r.steady > 0 ? huge / r.steady : 0, rate_huge, peak,
           r.errors);
    curl_easy_cleanup(r.h);
    curl_slist_free_all(r.hs);
    free(r.names);
    free(r.body);
    return r.errors ? -1 : 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: vgpu-start-bench [--nodes 5000] [--gpus 8] [--pods 100000] [--seed 1]\n"
            "         [--pad BYTES] [--items-first 1] [--pretty 1] [--bin PATH]\n"
            "         [--out FILE (write the snapshot only)] [--keep 1]\n"
            "         [--filters N [--huge 1]] (then N distinct pods filtered, never bound)\n"
            "         [--huge-filters M] (then M more at the limits of names, annotations and\n"
            "         containers) [--warm 200] (filters of one pod before the steady figure)\n"
            "         [--candidates K] (nodes named per filter; 0: all)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static char bin[PATH_MAX];
    char self[PATH_MAX];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(bin, sizeof bin, "%s/vgpu-scheduler", dirname(self));
    *a =
        (struct args){.nodes = 5000, .gpus = 8, .pods = 100000, .seed = 1, .warm = 200, .bin = bin};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--nodes"))
            a->nodes = atoi(v);
        else if (!strcmp(k, "--gpus"))
            a->gpus = atoi(v);
        else if (!strcmp(k, "--pods"))
            a->pods = atoi(v);
        else if (!strcmp(k, "--seed"))
            a->seed = atoi(v);
        else if (!strcmp(k, "--pad"))
            a->pad = atoi(v);
        else if (!strcmp(k, "--items-first"))
            a->items_first = atoi(v);
        else if (!strcmp(k, "--pretty"))
            a->pretty = atoi(v);
        else if (!strcmp(k, "--keep"))
            a->keep = atoi(v);
        else if (!strcmp(k, "--filters"))
            a->filters = atol(v);
        else if (!strcmp(k, "--huge"))
            a->huge = atoi(v);
        else if (!strcmp(k, "--huge-filters"))
            a->huge_filters = atol(v);
        else if (!strcmp(k, "--warm"))
            a->warm = atoi(v);
        else if (!strcmp(k, "--candidates"))
            a->candidates = atoi(v);
        else if (!strcmp(k, "--bin"))
            a->bin = v;
        else if (!strcmp(k, "--out"))
            a->out = v;
        else
            return usage();
    }
    if ((argc - 1) % 2 || a->nodes < 1 || a->nodes > 100000 || a->gpus < 1 || a->gpus > 16 ||
        a->pods < 0 || a->pods > 10000000 || a->pad < 0 || a->pad > 4000 || a->filters < 0 ||
        a->filters > 100000000 || a->huge_filters < 0 || a->huge_filters > 100000000 ||
        a->warm < 0 || a->warm > 1000000 || a->candidates < 0)
        return usage();
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    char dir[] = "/tmp/vgpu-start-XXXXXX", snap[256], log[256], loaded[512] = "";
    struct stat sb;
    int rc = 1, port = 0, status = 0;
    pid_t pid = -1;
    double peak = 0, cur = 0, ready_ms = -1;
    struct rusage ru = {0};

    if (parse_args(argc, argv, &a))
        return 2;
    if (a.out) {
        if (write_snapshot(a.out, &a) != 0) {
            fprintf(stderr, "vgpu-start-bench: cannot write %s\n", a.out);
            return 1;
        }
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!mkdtemp(dir))
        return 1;
    snprintf(snap, sizeof snap, "%s/cluster.json", dir);
    snprintf(log, sizeof log, "%s/server.log", dir);
    if (write_snapshot(snap, &a) != 0 || stat(snap, &sb) != 0) {
        fprintf(stderr, "vgpu-start-bench: cannot write %s\n", snap);
        goto out;
    }
    double t0 = stats_now_ms();
    pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execl(a.bin, a.bin, "--snapshot", snap, "--http_bind", "127.0.0.1:0", "--threads", "2",
              (char *)NULL);
        _exit(127);
    }
    while (pid > 0 && stats_now_ms() - t0 < START_MS) {
        if ((port = listening(log, loaded, sizeof loaded)) > 0)
            break;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        usleep(2000);
    }
    if (port <= 0) {
        fprintf(stderr, "vgpu-start-bench: %s did not start; see %s\n", a.bin, log);
        goto out;
    }
    ready_ms = stats_now_ms() - t0;
    stats_rss(pid, &peak, &cur);
    long code = readyz(port);
    if ((a.filters > 0 || a.huge_filters > 0) && churn(&a, pid, port) != 0)
        code = -1;
    kill(pid, SIGTERM);
    if (wait4(pid, &status, 0, &ru) == pid)
        pid = -1;
    loaded[strcspn(loaded, "\n")] = '\0';
    printf("snapshot: %d nodes x %d GPUs, %d pods, %.1f MB%s%s\n", a.nodes, a.gpus, a.pods,
           (double)sb.st_size / 1e6, a.items_first ? ", kind after items" : "",
           a.pretty ? ", indented" : "");
    printf("server: %s\n", loaded);
    printf("ready in %.0f ms (/readyz %ld); peak RSS %.1f MiB (ru_maxrss %.1f MiB); RSS when "
           "ready %.1f MiB\n",
           ready_ms, code, peak, (double)ru.ru_maxrss / 1024, cur);
    printf("RESULT {\"nodes\":%d,\"pods\":%d,\"bytes\":%lld,\"ready_ms\":%.0f,\"readyz\":%ld,"
           "\"peak_mib\":%.1f,\"maxrss_mib\":%.1f,\"rss_mib\":%.1f}\n",
           a.nodes, a.pods, (long long)sb.st_size, ready_ms, code, peak,
           (double)ru.ru_maxrss / 1024, cur);
    rc = code == 200 ? 0 : 1;
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (!a.keep) {
        unlink(snap);
        unlink(log);
        rmdir(dir);
    }
    curl_global_cleanup();
    return rc;
}

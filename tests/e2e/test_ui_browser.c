/* e2e: the web view in a real browser. Headless Chromium (Debian's
 * `chromium`, installed by `make test`) loads /ui/ from the real binary on
 * the demo cluster and on a generated 5,000-node cluster; the test reads
 * the DOM the page built and checks it against /inspect: the totals, a
 * pending pod's reasons in HAMi's words, the dry run of a pod given in the
 * page's address (#pod=...), and a pod whose name is markup shown as text.
 * Screenshots go to build/ui-demo.png and build/ui-5000.png. When Chromium
 * cannot run, the test fails: it does not skip. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/device.h"
#include "tests/support/harness.h"

#define BROWSER_MS  60000  /* one Chromium run at most */
#define BUDGET_MS   "4000" /* virtual time the page gets: its first polls */
#define BIG_NODES   5000
#define BIG_GPUS    8
#define XSS_NAME    "<img src=x onerror=alert(1)><script>alert(2)</script>"
#define XSS_AS_TEXT "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"

static char profile[64]; /* Chromium's user data directory, one per run of this test */

static const char *chromium(void)
{
    const char *c = getenv("VS_CHROMIUM");
    return c && *c ? c : "chromium";
}

/* Run Chromium headless on url with one more flag (--dump-dom or
 * --screenshot=...); its stdout into out. Fails the test when it cannot
 * start or does not finish in BROWSER_MS. */
static void browse(const char *url, const char *flag, struct buf *out)
{
    char dir[128];
    int fds[2];
    snprintf(dir, sizeof dir, "--user-data-dir=%s", profile);
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setpgid(0, 0); /* its helpers too are ended together on a timeout */
        dup2(fds[1], 1);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        close(fds[0]);
        close(fds[1]);
        execlp(chromium(), chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
               "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
               "--window-size=1280,1500", "--virtual-time-budget=" BUDGET_MS, dir, flag, url,
               (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    close(fds[1]);
    long end = harness_now_ms() + BROWSER_MS;
    char chunk[65536];
    for (;;) {
        long left = end - harness_now_ms();
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (left <= 0)
            break;
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ssize_t r = read(fds[0], chunk, sizeof chunk);
        if (r <= 0)
            break;
        buf_append(out, chunk, (size_t)r);
    }
    close(fds[0]);
    int status = 0;
    bool done = false;
    while (!done && harness_now_ms() < end + 2000) {
        done = waitpid(pid, &status, WNOHANG) == pid;
        if (!done)
            harness_nap_ms(20);
    }
    if (!done) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ck_assert_msg(done, "%s did not finish within %d ms", chromium(), BROWSER_MS);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s could not run (status %d): install Debian's chromium package "
                  "(make test does)",
                  chromium(), status);
}

static void setup(void)
{
    snprintf(profile, sizeof profile, "/tmp/vs-chromium-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(profile));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", profile);
    ck_assert_int_eq(system(cmd), 0);
}

/* The text of the element with id (its first text up to '<'), or "". */
static void text_of(const char *dom, const char *id, char *out, size_t cap)
{
    char needle[96];
    snprintf(needle, sizeof needle, "id=\"%s\"", id);
    const char *p = strstr(dom, needle);
    out[0] = '\0';
    if (!p || !(p = strchr(p, '>')))
        return;
    p++;
    size_t n = strcspn(p, "<");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

static long long dom_number(const char *dom, const char *id)
{
    char t[64];
    text_of(dom, id, t, sizeof t);
    ck_assert_msg(t[0], "no #%s in the page", id);
    return atoll(t);
}

/* GPUs and their memory per /inspect. */
static void inspect_totals(int port, long long *gpus, long long *mem, long long *used)
{
    cJSON *in = harness_get_json(port, "/inspect"), *n, *g;
    ck_assert_ptr_nonnull(in);
    *gpus = *mem = *used = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(in, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            (*gpus)++;
            *mem += (long long)cJSON_GetObjectItem(g, "memMiB")->valuedouble;
            *used += (long long)cJSON_GetObjectItem(g, "memUsedMiB")->valuedouble;
        }
    }
    cJSON_Delete(in);
}

static void check_totals(const char *dom, int port)
{
    long long gpus, mem, used;
    inspect_totals(port, &gpus, &mem, &used);
    ck_assert_int_eq(dom_number(dom, "t-gpus"), gpus);
    ck_assert_int_eq(dom_number(dom, "t-mem"), mem);
    ck_assert_int_eq(dom_number(dom, "t-memUsed"), used);
}

static const char *build_dir(void)
{
    const char *b = getenv("VS_BUILD");
    return b && *b ? b : ".";
}

/* Percent-encode s for the page's address. New string. */
static char *url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *w = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.') {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        }
    }
    *w = '\0';
    return out;
}

static const char *const POD =
    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"where\",\"namespace\":\"default\",\"uid\":"
    "\"where-1\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
    "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"20000\"}}}]}}";

/* What `simulate` chooses for POD on the demo cluster. New string. */
static char *cli_node(const char *cluster)
{
    char file[] = "/tmp/vs-ui-pod-XXXXXX";
    int fd = mkstemp(file);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, POD, strlen(POD)), (ssize_t)strlen(POD));
    close(fd);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod", file, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    char *node = strdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "node")));
    cJSON_Delete(j);
    harness_result_free(&r);
    unlink(file);
    return node;
}

START_TEST(test_demo)
{
    char cluster[4096], url[8192], shot[4200], t[512];
    const char *src = getenv("VS_SOURCE");
    snprintf(cluster, sizeof cluster, "%s/examples/demo-cluster.json", src ? src : ".");
    const char *args[] = {"--snapshot", cluster, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    /* a pod whose name is markup, too big for every node: pending */
    const char *body =
        "{\"Pod\":{\"metadata\":{\"name\":\"" XSS_NAME "\",\"namespace\":\"default\","
        "\"uid\":\"xss-1\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":"
        "{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"100000\"}}}]}},\"NodeNames\":["
        "\"gpu-a100-80g-1\",\"gpu-a100-80g-2\",\"gpu-a100-40g-1\",\"gpu-h100-1\",\"gpu-h100-2\","
        "\"gpu-t4-1\",\"cpu-1\"]}";
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    harness_reply_free(&r);

    char *pod = url_encode(POD), *want = cli_node(cluster);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ui/#node=gpu-h100-2&pod=%s", port, pod);
    struct buf dom = BUF_INIT(64u << 20);
    browse(url, "--dump-dom", &dom);
    const char *d = buf_str(&dom);
    check_totals(d, port);
    /* the pending pod: its name as text, never as markup */
    ck_assert_msg(strstr(d, XSS_AS_TEXT), "the pod's name is not shown as text");
    ck_assert_msg(!strstr(d, "<img") && !strstr(d, "<script>alert"), "markup from a pod name");
    /* its reasons, counted per node in HAMi's words */
    ck_assert_msg(strstr(d, "6 nodes: CardInsufficientMemory, 1: CardCordoned, 1: CardNotHealth, "
                            "1: NodeInsufficientDevice"),
                  "no reasons in the page");
    /* the dry run of the pod in the address: simulate's node */
    text_of(d, "sim-node", t, sizeof t);
    char expect[300];
    snprintf(expect, sizeof expect, "node: %s", want);
    ck_assert_str_eq(t, expect);
    /* the node asked for: its cordoned and unhealthy GPUs */
    text_of(d, "node-name", t, sizeof t);
    ck_assert_str_eq(t, "gpu-h100-2");
    ck_assert(strstr(d, ">cordoned<") && strstr(d, ">unhealthy<"));
    /* nothing was reserved by the page */
    cJSON *in = harness_get_json(port, "/inspect");
    ck_assert_int_eq((int)cJSON_GetObjectItem(in, "reservations")->valuedouble, 0);
    cJSON_Delete(in);

    snprintf(shot, sizeof shot, "--screenshot=%s/ui-demo.png", build_dir());
    buf_reset(&dom);
    browse(url, shot, &dom);
    struct stat st;
    ck_assert_int_eq(stat(shot + strlen("--screenshot="), &st), 0);
    ck_assert_int_gt(st.st_size, 1000);
    buf_free(&dom);
    free(pod);
    free(want);
    harness_finish(&h);
}
END_TEST

/* ---- 5,000 nodes ---- */

static const struct {
    const char *type;
    int mem;
} models[] = {
    {"NVIDIA-A100-SXM4-80GB", 81920}, {"NVIDIA-H100-80GB-HBM3", 81920}, {"NVIDIA-L4", 23034}};

/* A snapshot of BIG_NODES nodes of BIG_GPUS GPUs, one pod on every second
 * (every tenth node's takes a whole card's cores: memory stranded). */
static void write_big(const char *path)
{
    const struct policy_device_backend *dv = policy_device_backend_default();
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", f);
    for (int i = 0; i < BIG_NODES; i++) {
        int m = i % 3;
        fprintf(f,
                "%s{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\",\"resourceVersion\":"
                "\"1\",\"annotations\":{\"%s\":\"Requesting_2026-11-22 00:00:00\",\"%s\":\"[",
                i ? "," : "", i, dv->ann_handshake, dv->ann_register);
        for (int g = 0; g < BIG_GPUS; g++)
            fprintf(f,
                    "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":10,\\\"devmem\\\":%d,"
                    "\\\"devcore\\\":100,\\\"type\\\":\\\"%s\\\",\\\"numa\\\":%d,"
                    "\\\"health\\\":true,\\\"index\\\":%d,\\\"mode\\\":\\\"hami-core\\\"}",
                    g ? "," : "", i, g, models[m].mem, models[m].type, g / 4, g);
        fprintf(f,
                "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1024Gi\","
                "\"%s\":\"%d\"}}}",
                dv->res[POLICY_RES_COUNT], BIG_GPUS * 10);
    }
    for (int i = 0; i < BIG_NODES; i += 2)
        fprintf(f,
                ",{\"kind\":\"Pod\",\"metadata\":{\"name\":\"run-%d\",\"namespace\":\"bench\","
                "\"uid\":\"run-%d\",\"annotations\":{\"hami.io/vgpu-devices-allocated\":"
                "\"GPU-%05d-%02d,%s,%d,%d:;\",\"hami.io/bind-phase\":\"success\"}},\"spec\":{"
                "\"nodeName\":\"node-%05d\",\"containers\":[{\"name\":\"c\",\"resources\":{"
                "\"limits\":{\"%s\":\"1\"}}}]},\"status\":{\"phase\":\"Running\"}}",
                i, i, i, i % BIG_GPUS, dv->vendor_word, 4096 * (1 + i % 5),
                i % 10 ? 10 * (1 + i % 4) : 100, i, dv->res[POLICY_RES_COUNT]);
    fputs("]}\n", f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_big)
{
    char snap[] = "/tmp/vs-ui-big-XXXXXX", url[256], shot[4200], t[128];
    int fd = mkstemp(snap);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_big(snap);
    const char *args[] = {"--snapshot", snap, NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    int port = harness_port(h);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ui/", port);
    struct buf dom = BUF_INIT(64u << 20);
    browse(url, "--dump-dom", &dom);
    const char *d = buf_str(&dom);
    check_totals(d, port);
    ck_assert_int_eq(dom_number(d, "t-gpus"), BIG_NODES * BIG_GPUS);
    ck_assert_int_eq(dom_number(d, "t-nodes"), BIG_NODES);
    /* one page of the heat map, not every node */
    text_of(d, "page", t, sizeof t);
    ck_assert_msg(strstr(t, "nodes 1-200 of 5000"), "%s", t);
    int boxes = 0;
    for (const char *p = d; (p = strstr(p, "class=\"node")); p++)
        boxes++;
    ck_assert_int_eq(boxes, 200);
    snprintf(shot, sizeof shot, "--screenshot=%s/ui-5000.png", build_dir());
    buf_reset(&dom);
    browse(url, shot, &dom);
    buf_free(&dom);
    harness_finish(&h);
    unlink(snap);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ui_browser");
    TCase *tc = tcase_create("ui_browser");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_demo);
    tcase_add_test(tc, test_big);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

#include "tests/support/harness.h"

#include <check.h>
#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/file.h"
#include "base/init.h"
#include "base/mem.h"
#include "tests/support/fakeapi.h"

#define OUTPUT_MAX (64u << 20) /* what we keep of a process's output */
#define REPLY_MAX  (256u << 20)
#define FILE_MAX   ((size_t)256 << 20) /* a file harness_read reads */

struct harness {
    pid_t pid;
    int fd; /* read end of the process's stdout+stderr */
    int port;
    int status; /* once reaped */
    bool reaped;
    bool reported; /* its output went to stderr already */
    pthread_t reader;
    pthread_mutex_t lock;
    pthread_cond_t grew;
    bool eof;
    struct buf out;
};

long harness_now_ms(void)
{
    return (long)(clock_mono_s() * 1000);
}

void harness_nap_ms(long ms)
{
    clock_sleep_s(ms / 1e3);
}

/* Fork and exec $VS_BIN with args (+ extra, both NULL-terminated); its
 * stdout goes to out_fd[1] and stderr to err_fd[1]. Returns the pid or -1. */
static pid_t spawn(const char *const *args, const char *const *extra, int out_fd, int err_fd)
{
    const char *bin = getenv("VS_BIN");
    const char *argv[64];
    int n = 0;
    if (bin == NULL) {
        fprintf(stderr, "harness: VS_BIN is not set\n");
        return -1;
    }
    argv[n++] = bin;
    for (int i = 0; args && args[i] && n < 60; i++)
        argv[n++] = args[i];
    for (int i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execv(bin, (char *const *)argv);
    static const char msg[] = "harness: cannot run $VS_BIN\n"; /* no stdio after fork */
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
}

static int decode_status(int ws)
{
    if (WIFEXITED(ws))
        return WEXITSTATUS(ws);
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
}

/* Wait up to timeout_ms for pid; then SIGKILL it. Returns as harness_stop. */
static int reap(pid_t pid, int timeout_ms)
{
    int ws = 0;
    long end = harness_now_ms() + timeout_ms;
    while (harness_now_ms() < end) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid)
            return decode_status(ws);
        if (r < 0 && errno != EINTR)
            return -1;
        harness_nap_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &ws, 0);
    return -1;
}

static void *read_output(void *arg)
{
    struct harness *h = arg;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(h->fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        pthread_mutex_lock(&h->lock);
        if (n > 0)
            buf_append(&h->out, chunk, (size_t)n); /* past OUTPUT_MAX: dropped */
        else
            h->eof = true;
        pthread_cond_broadcast(&h->grew);
        pthread_mutex_unlock(&h->lock);
        if (n <= 0)
            return NULL;
    }
}

/* The port on the line containing prefix, or -1. Called with the lock held. */
static int find_port(const struct harness *h, const char *prefix)
{
    const char *p = strstr(buf_str(&h->out), prefix);
    if (p == NULL)
        return -1;
    const char *eol = strchr(p, '\n');
    if (eol == NULL)
        return -1; /* the line is not complete yet */
    const char *colon = eol;
    while (colon > p && *colon != ':')
        colon--;
    return colon > p ? atoi(colon + 1) : -1;
}

static void deadline(struct timespec *t, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += timeout_ms / 1000;
    t->tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int harness_log_port(struct harness *h, const char *prefix, int timeout_ms)
{
    struct timespec end;
    deadline(&end, timeout_ms);
    pthread_mutex_lock(&h->lock);
    int port = find_port(h, prefix);
    while (port < 0 && !h->eof && pthread_cond_timedwait(&h->grew, &h->lock, &end) != ETIMEDOUT)
        port = find_port(h, prefix);
    pthread_mutex_unlock(&h->lock);
    return port;
}

bool harness_wait_log(struct harness *h, const char *needle, int timeout_ms)
{
    struct timespec end;
    deadline(&end, timeout_ms);
    pthread_mutex_lock(&h->lock);
    bool found = strstr(buf_str(&h->out), needle) != NULL;
    while (!found && !h->eof && pthread_cond_timedwait(&h->grew, &h->lock, &end) != ETIMEDOUT)
        found = strstr(buf_str(&h->out), needle) != NULL;
    pthread_mutex_unlock(&h->lock);
    return found;
}

char *harness_output(struct harness *h)
{
    pthread_mutex_lock(&h->lock);
    char *s = mem_strdup(buf_str(&h->out));
    pthread_mutex_unlock(&h->lock);
    return s;
}

struct harness *harness_start(const char *const *args)
{
    static const char *const bind[] = {"--http_bind", "127.0.0.1:0", NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return NULL;
    struct harness *h = mem_zalloc(sizeof *h);
    buf_init(&h->out, OUTPUT_MAX);
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->grew, &ca);
    pthread_condattr_destroy(&ca);
    h->fd = fds[0];
    h->pid = spawn(args, bind, fds[1], fds[1]);
    close(fds[1]);
    if (h->pid < 0) {
        h->eof = true;
        harness_free(h);
        return NULL;
    }
    pthread_create(&h->reader, NULL, read_output, h);
    h->port = harness_log_port(h, "listening on ", HARNESS_START_MS);
    if (h->port <= 0) {
        char *out = harness_output(h);
        fprintf(stderr, "harness: %s did not start; it printed:\n%s\n", getenv("VS_BIN"), out);
        free(out);
        h->reported = true;
        harness_free(h);
        return NULL;
    }
    return h;
}

int harness_pid(const struct harness *h)
{
    return (int)h->pid;
}

int harness_port(const struct harness *h)
{
    return h->port;
}

/* Wait up to timeout_ms for the reader to see the end of the output (the
 * process is gone: only a child it left holding the pipe delays that). */
static void wait_eof(struct harness *h, int timeout_ms)
{
    struct timespec end;
    deadline(&end, timeout_ms);
    pthread_mutex_lock(&h->lock);
    while (!h->eof && pthread_cond_timedwait(&h->grew, &h->lock, &end) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&h->lock);
}

#define TAIL_MAX 16384 /* how much of a dead process's output is printed */

/* The process ended otherwise than asked (an exit code other than 0, a
 * signal other than sig, or no exit in time): say how, with the end of what
 * it printed, so that a rare failure explains itself. */
static void report_stop(struct harness *h, int sig, int timeout_ms)
{
    char how[128];
    if (h->status == -1)
        snprintf(how, sizeof how, "did not exit within %d ms of signal %d (%s): killed", timeout_ms,
                 sig, strsignal(sig));
    else if (h->status > 128)
        snprintf(how, sizeof how, "died of signal %d (%s) after signal %d (%s)", h->status - 128,
                 strsignal(h->status - 128), sig, strsignal(sig));
    else
        snprintf(how, sizeof how, "exited with status %d after signal %d (%s)", h->status, sig,
                 strsignal(sig));
    wait_eof(h, 2000);
    char *out = harness_output(h);
    size_t n = strlen(out);
    const char *tail = n > TAIL_MAX ? out + n - TAIL_MAX : out;
    fprintf(stderr, "harness: %s (pid %d) %s; its output%s:\n%s%s---- end of its output ----\n",
            getenv("VS_BIN"), (int)h->pid, how, n > TAIL_MAX ? " (the end)" : "", tail,
            n && out[n - 1] != '\n' ? "\n" : "");
    free(out);
}

int harness_stop(struct harness *h, int sig, int timeout_ms)
{
    if (!h->reaped) {
        kill(h->pid, sig);
        h->status = reap(h->pid, timeout_ms);
        h->reaped = true;
        if (h->status != 0 && h->status != 128 + sig && !h->reported)
            report_stop(h, sig, timeout_ms);
    }
    return h->status;
}

void harness_free(struct harness *h)
{
    if (h == NULL)
        return;
    if (h->pid > 0 && !h->reaped)
        harness_stop(h, SIGKILL, HARNESS_START_MS);
    if (h->pid > 0)
        pthread_join(h->reader, NULL); /* the pipe hits EOF once the process is gone */
    close(h->fd);
    pthread_cond_destroy(&h->grew);
    pthread_mutex_destroy(&h->lock);
    buf_free(&h->out);
    free(h);
}

/* Read both pipes until EOF or the deadline. */
static void drain(int out, int err, struct harness_result *r, long end)
{
    struct pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    char chunk[4096];
    while ((p[0].fd >= 0 || p[1].fd >= 0) && harness_now_ms() < end) {
        if (poll(p, 2, 50) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n > 0)
                buf_append(i ? &r->err : &r->out, chunk, (size_t)n);
            else if (n == 0 || errno != EINTR)
                p[i].fd = -1;
        }
    }
}

int harness_run(const char *const *args, int timeout_ms, struct harness_result *r)
{
    int o[2] = {-1, -1}, e[2] = {-1, -1}, rc = -1;
    memset(r, 0, sizeof *r);
    buf_init(&r->out, OUTPUT_MAX);
    buf_init(&r->err, OUTPUT_MAX);
    if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
        goto out;
    long end = harness_now_ms() + timeout_ms;
    pid_t pid = spawn(args, NULL, o[1], e[1]);
    close(o[1]);
    close(e[1]);
    o[1] = e[1] = -1;
    if (pid < 0)
        goto out;
    drain(o[0], e[0], r, end);
    long left = end - harness_now_ms();
    r->status = reap(pid, left > 0 ? (int)left : 0);
    rc = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (o[i] >= 0)
            close(o[i]);
        if (e[i] >= 0)
            close(e[i]);
    }
    return rc;
}

void harness_result_free(struct harness_result *r)
{
    buf_free(&r->out);
    buf_free(&r->err);
}

struct harness_client {
    CURL *curl;
};

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct harness_client *harness_client_new(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    struct harness_client *c = mem_zalloc(sizeof *c);
    c->curl = curl_easy_init();
    return c;
}

void harness_client_free(struct harness_client *c)
{
    if (c == NULL)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    return buf_append(arg, p, size * n) ? 0 : size * n;
}

int harness_client_send(struct harness_client *c, const char *method, int port, const char *path,
                        const void *body, size_t len, struct harness_reply *r)
{
    char url[512];
    CURL *e = c->curl;
    struct curl_slist *hdrs = NULL;
    memset(r, 0, sizeof *r);
    buf_init(&r->body, REPLY_MAX);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);

    curl_easy_reset(e); /* options only: the connection stays cached */
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);

    CURLcode cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK && r->error[0] == '\0')
        snprintf(r->error, sizeof r->error, "%s", curl_easy_strerror(cc));
    return cc == CURLE_OK ? 0 : -1;
}

int harness_get(int port, const char *path, struct harness_reply *r)
{
    struct harness_client *c = harness_client_new();
    int rc = harness_client_send(c, "GET", port, path, NULL, 0, r);
    harness_client_free(c);
    return rc;
}

int harness_post(int port, const char *path, const void *body, size_t len, struct harness_reply *r)
{
    struct harness_client *c = harness_client_new();
    int rc = harness_client_send(c, "POST", port, path, body ? body : "", len, r);
    harness_client_free(c);
    return rc;
}

void harness_reply_free(struct harness_reply *r)
{
    buf_free(&r->body);
}

int harness_raw(int port, const void *req, size_t len, struct buf *resp, int timeout_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int rc = -1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    const char *p = req;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early (a 413): read what it said */
        p += n;
        len -= (size_t)n;
    }
    long end = harness_now_ms() + timeout_ms;
    rc = 1;
    char chunk[4096];
    struct pollfd pf = {fd, POLLIN, 0};
    while (harness_now_ms() < end) {
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            buf_append(resp, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        rc = 0; /* EOF or reset: closed */
        break;
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

struct cJSON *harness_get_json(int port, const char *path)
{
    struct harness_reply r;
    cJSON *j = NULL;
    if (harness_get(port, path, &r) == 0 && r.status == 200)
        j = cJSON_Parse(buf_str(&r.body));
    harness_reply_free(&r);
    return j;
}

int harness_run_suite(Suite *s, bool fork)
{
    base_init(); /* as every binary does */
    /* Check carries an assertion's message to the runner in a message of at
     * most 4 KiB by default; a longer one (a whole /metrics page) made the
     * test's process exit(2), reported as "Early exit with return value 2"
     * instead of the failure. Messages are formatted into BUFSIZ bytes: let
     * every one through. */
    check_set_max_msg_size(4 * BUFSIZ);
    SRunner *sr = srunner_create(s);
    if (!fork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *harness_read(const char *path, size_t *len)
{
    char err[512], *s = NULL;
    size_t n = 0;
    ck_assert_msg(file_read(path, FILE_MAX, &s, &n, err, sizeof err) == 0, "%s", err);
    if (len)
        *len = n;
    return s;
}

void harness_write(const char *dir, const char *name, const char *text, char *path, size_t cap)
{
    char own[1024];
    if (!path) {
        path = own;
        cap = sizeof own;
    }
    ck_assert_int_lt(snprintf(path, cap, "%s/%s", dir, name), (int)cap);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

void harness_data_path(const char *rel, char *path, size_t cap)
{
    const char *d = getenv("VS_TEST_DATA");
    snprintf(path, cap, "%s/%s", d ? d : "tests/data", rel);
}

char *harness_slurp(const char *rel)
{
    char path[4096];
    harness_data_path(rel, path, sizeof path);
    return harness_read(path, NULL);
}

struct harness *harness_start_snapshot(const char *rel)
{
    char path[4096];
    harness_data_path(rel, path, sizeof path);
    const char *args[] = {"--snapshot", path, NULL};
    struct harness *h = harness_start(args);
    ck_assert_msg(h != NULL, "vgpu-scheduler did not start on %s", path);
    return h;
}

void harness_finish(struct harness **h)
{
    if (*h)
        ck_assert_int_eq(harness_stop(*h, SIGTERM, 5000), 0);
    harness_free(*h);
    *h = NULL;
}

const char *harness_failed_reason(const struct cJSON *f, const char *node)
{
    const char *why =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "FailedNodes"), node));
    return why ? why
               : cJSON_GetStringValue(cJSON_GetObjectItem(
                     cJSON_GetObjectItem(f, "FailedAndUnresolvableNodes"), node));
}

struct cJSON *harness_filter(int port, struct cJSON *pod, const char *const *nodes)
{
    cJSON *a = cJSON_CreateObject(), *names = cJSON_AddArrayToObject(a, "NodeNames");
    cJSON_AddItemToObject(a, "Pod", pod);
    for (int i = 0; nodes[i]; i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(nodes[i]));
    char *body = cJSON_PrintUnformatted(a);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, buf_str(&r.body));
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_msg(j != NULL, "not JSON: %s", buf_str(&r.body));
    harness_reply_free(&r);
    free(body);
    cJSON_Delete(a);
    return j;
}

const char *harness_only_node(const struct cJSON *answer)
{
    const cJSON *n = cJSON_GetObjectItem(answer, "NodeNames");
    return cJSON_GetArraySize(n) == 1 ? cJSON_GetStringValue(cJSON_GetArrayItem(n, 0)) : "";
}

void harness_assert_reason(const struct cJSON *answer, const char *node, const char *want)
{
    const char *why = harness_failed_reason(answer, node);
    ck_assert_msg(why && strcmp(why, want) == 0, "%s: \"%s\", want \"%s\"", node,
                  why ? why : "(none)", want);
}

long harness_metric(int port, const char *series)
{
    struct harness_reply r;
    ck_assert_int_eq(harness_get(port, "/metrics", &r), 0);
    const char *p = buf_str(&r.body);
    size_t n = strlen(series);
    while (p && !(strncmp(p, series, n) == 0 && p[n] == ' ')) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    long v = p ? strtol(p + n + 1, NULL, 10) : -1;
    harness_reply_free(&r);
    return v;
}

bool harness_wait_ready(int port, int ms)
{
    for (long end = harness_now_ms() + ms; harness_now_ms() < end; harness_nap_ms(20)) {
        struct harness_reply r;
        harness_get(port, "/readyz", &r);
        long st = r.status;
        harness_reply_free(&r);
        if (st == 200)
            return true;
    }
    return false;
}

void harness_dump(struct harness *h)
{
    if (!h || !getenv("VS_TEST_VERBOSE"))
        return;
    char *out = harness_output(h);
    fprintf(stderr, "---- vgpu-scheduler output ----\n%s---- end ----\n", out);
    free(out);
}

const char *harness_annotation(const struct cJSON *o, const char *key)
{
    const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "annotations");
    return cJSON_GetStringValue(cJSON_GetObjectItem(a, key));
}

const char *harness_meta(const struct cJSON *o, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), key));
}

int harness_locks_left(struct fakeapi *f, char *which, size_t cap)
{
    cJSON *nodes = fakeapi_list(f, "nodes"), *n;
    int k = 0;
    which[0] = '\0';
    cJSON_ArrayForEach(n, nodes)
    {
        const char *l = harness_annotation(n, "hami.io/mutex.lock");
        if (l && !k++)
            snprintf(which, cap, "%s: %s", harness_meta(n, "name"), l);
    }
    cJSON_Delete(nodes);
    return k;
}

void harness_put_gpu_pod(struct fakeapi *f, const char *name, int mem, int cores)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"default\"},\"spec\":{\"schedulerName\":\"vgpu-scheduler\","
             "\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{"
             "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"%d\",\"nvidia.com/gpucores\":"
             "\"%d\"}}}]},\"status\":{\"phase\":\"Pending\"}}",
             name, mem, cores);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
}

int harness_shell(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *harness_env(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v != NULL, "%s is not set", name);
    return v;
}

/* The real binary against the fake API server (tests/support/fakeapi.h),
 * driven as kube-scheduler drives it; the test plays HAMi's device plugin.
 *
 * Every loop here is bounded in count and time; nothing asserts timing
 * (figures are printed, not checked). */
#include <check.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "k8s/handshake.h"
#include "policy/codec.h"
#include "tests/support/fakeapi.h"
#include "base/clock.h"
#include "tests/support/harness.h"

/* ---- helpers ---- */

struct env {
    struct fakeapi *f;
    struct harness *h;
    char dir[64];
    char kubeconfig[128];
    int port;
};

/* A node with n GPUs "<name>-g<i>" of `slots` slots and mem MiB. extra:
 * more annotations as a JSON fragment (",\"k\":\"v\"") or "". */
static void put_node(struct fakeapi *f, const char *name, int n, int slots, int mem,
                     const char *labels, const char *extra, int alloc_gpus)
{
    char reg[8192] = "[", json[16384];
    for (int i = 0; i < n; i++) {
        size_t l = strlen(reg);
        snprintf(reg + l, sizeof reg - l,
                 "%s{\\\"id\\\":\\\"%s-g%d\\\",\\\"count\\\":%d,\\\"devmem\\\":%d,"
                 "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-L4\\\",\\\"health\\\":true,"
                 "\\\"index\\\":%d,\\\"numa\\\":0,\\\"mode\\\":\\\"hami-core\\\"}",
                 i ? "," : "", name, i, slots, mem, i);
    }
    strcat(reg, "]");
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{%s},\"annotations\":{\"hami.io/node-nvidia-register\":\"%s\"%s}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"nvidia.com/gpu\":\"%d\"}}}",
             name, labels ? labels : "", reg, extra ? extra : "", alloc_gpus);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

static const char *node_of(const cJSON *pod)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "spec"), "nodeName"));
}

static void env_start(struct env *e)
{
    memset(e, 0, sizeof *e);
    e->f = fakeapi_start();
    ck_assert_ptr_nonnull(e->f);
    snprintf(e->dir, sizeof e->dir, "/tmp/vs-live-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s/kubeconfig", e->dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(e->f, e->kubeconfig), 0);
}

/* Start the binary on the fake with extra flags (NULL-terminated). */
static void env_run(struct env *e, const char *const *extra)
{
    /* One replica, always leading (tests/e2e/test_ha.c follows a Lease). */
    const char *args[32] = {"--kubeconfig", e->kubeconfig, "--kube-qps",           "5000",
                            "--kube-burst", "5000",        "--leader-elect-lease="};
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    e->h = harness_start(args);
    ck_assert_ptr_nonnull(e->h);
    e->port = harness_port(e->h);
    ck_assert_msg(harness_wait_ready(e->port, 15000), "not ready after 15 s");
}

static void env_stop(struct env *e)
{
    /* How it stopped, and its output then, reach stderr (harness.h). */
    int st = e->h ? harness_stop(e->h, SIGTERM, 10000) : 0;
    harness_dump(e->h);
    ck_assert_msg(st == 0, "vgpu-scheduler ended with %d after SIGTERM", st);
    harness_free(e->h);
    fakeapi_stop(e->f);
    unlink(e->kubeconfig);
    rmdir(e->dir);
}

/* ExtenderArgs for pod (from the fake, with its uid) and names. */
static char *filter_args(struct fakeapi *f, const char *pod, const char *const *names, int n)
{
    cJSON *p = fakeapi_get(f, "pods", "default", pod);
    ck_assert_ptr_nonnull(p);
    cJSON *a = cJSON_CreateObject();
    cJSON_AddItemToObject(a, "Pod", p);
    cJSON *arr = cJSON_AddArrayToObject(a, "NodeNames");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* POST on client c (NULL: a fresh one); the parsed answer, or NULL. */
static cJSON *post(struct harness_client *c, int port, const char *path, const char *body)
{
    struct harness_reply r;
    int rc = c ? harness_client_send(c, "POST", port, path, body, strlen(body), &r)
               : harness_post(port, path, body, strlen(body), &r);
    cJSON *j = rc == 0 && r.status == 200 ? cJSON_Parse(buf_str(&r.body)) : NULL;
    harness_reply_free(&r);
    return j;
}

/* Filter pod among names: the chosen node (copied into node) or "" with
 * the reasons in why. Returns false on a transport error. */
static bool do_filter(struct harness_client *c, struct env *e, const char *pod,
                      const char *const *names, int n, char *node, size_t ncap, char *why,
                      size_t wcap)
{
    char *args = filter_args(e->f, pod, names, n);
    cJSON *j = post(c, e->port, "/filter", args);
    free(args);
    node[0] = why[0] = '\0';
    if (!j)
        return false;
    const cJSON *nn = cJSON_GetObjectItem(j, "NodeNames");
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    if (cJSON_GetArraySize(nn) > 0) {
        snprintf(node, ncap, "%s", cJSON_GetArrayItem(nn, 0)->valuestring);
    } else {
        size_t len = 0;
        if (err && *err)
            len += (size_t)snprintf(why, wcap, "%s", err);
        const char *maps[] = {"FailedNodes", "FailedAndUnresolvableNodes"};
        for (int m = 0; m < 2; m++) {
            const cJSON *it;
            cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, maps[m]))
            {
                if (len < wcap)
                    len += (size_t)snprintf(why + len, wcap - len, "%s=%s; ", it->string,
                                            it->valuestring);
            }
        }
        if (!why[0])
            snprintf(why, wcap, "no node and no reason");
    }
    cJSON_Delete(j);
    return true;
}

/* do_filter, again while the only reason is a lock the watch has not yet
 * seen released (bounded: 5 s). */
static void place(struct env *e, const char *pod, const char *const *names, int n, char *node,
                  size_t ncap, char *why, size_t wcap)
{
    for (int i = 0; i < 250; i++) {
        ck_assert(do_filter(NULL, e, pod, names, n, node, ncap, why, wcap));
        if (node[0] || !strstr(why, "NodeLocked"))
            return;
        harness_nap_ms(20);
    }
}

/* Bind; returns the Error ("" = bound) in err; false on a transport error. */
static bool do_bind(struct harness_client *c, struct env *e, const char *pod, const char *node,
                    char *err, size_t cap)
{
    cJSON *p = fakeapi_get(e->f, "pods", "default", pod);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\","
             "\"Node\":\"%s\"}",
             pod, harness_meta(p, "uid"), node);
    cJSON_Delete(p);
    cJSON *j = post(c, e->port, "/bind", body);
    if (!j)
        return false;
    const char *er = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    snprintf(err, cap, "%s", er ? er : "no Error key");
    cJSON_Delete(j);
    return true;
}

static cJSON *inspect(int port)
{
    cJSON *j = harness_get_json(port, "/inspect");
    ck_assert_ptr_nonnull(j);
    return j;
}

/* vgpu_scheduler_errors_total{reason="<reason>"} */
static long error_count(int port, const char *reason)
{
    char key[128];
    snprintf(key, sizeof key, "vgpu_scheduler_errors_total{reason=\"%s\"}", reason);
    return harness_metric(port, key);
}

/* Usage per GPU uuid, from the API objects or from /inspect. */
struct gpu_use {
    char uuid[64];
    long mem, cores, slots, cap_mem, cap_cores, cap_slots;
    char node[64];
};

struct usage {
    struct gpu_use g[512];
    int n;
};

static struct gpu_use *use_of(struct usage *u, const char *uuid)
{
    for (int i = 0; i < u->n; i++)
        if (strcmp(u->g[i].uuid, uuid) == 0)
            return &u->g[i];
    ck_assert_int_lt(u->n, 512);
    struct gpu_use *g = &u->g[u->n++];
    memset(g, 0, sizeof *g);
    snprintf(g->uuid, sizeof g->uuid, "%s", uuid);
    return g;
}

/* hami-protocol.md 3.1 for one-container pods: every non-terminal pod with
 * hami.io/vgpu-node counts its hami.io/vgpu-devices-allocated. */
static void usage_from_api(struct fakeapi *f, struct usage *u)
{
    cJSON *pods = fakeapi_list(f, "pods"), *p;
    struct codec_devices *d = malloc(sizeof *d);
    char err[256];
    memset(u, 0, sizeof *u);
    cJSON_ArrayForEach(p, pods)
    {
        const char *phase =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "phase"));
        const char *dev = harness_annotation(p, "hami.io/vgpu-devices-allocated");
        if (!harness_annotation(p, "hami.io/vgpu-node") || !dev ||
            (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
            continue;
        ck_assert_int_eq(codec_decode(dev, d, err, sizeof err), 0);
        for (int i = 0; i < d->n; i++) {
            char uuid[64];
            snprintf(uuid, sizeof uuid, "%.*s", d->e[i].uuid_len, d->e[i].uuid);
            struct gpu_use *g = use_of(u, uuid);
            g->mem += (long)d->e[i].mem;
            g->cores += d->e[i].cores;
            g->slots++;
        }
    }
    free(d);
    cJSON_Delete(pods);
}

static void usage_from_inspect(int port, struct usage *u)
{
    cJSON *ins = inspect(port), *n, *g;
    memset(u, 0, sizeof *u);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            struct gpu_use *x = use_of(u, cJSON_GetObjectItem(g, "uuid")->valuestring);
            x->mem = (long)cJSON_GetObjectItem(g, "memUsedMiB")->valuedouble;
            x->cores = cJSON_GetObjectItem(g, "coresUsed")->valueint;
            x->slots = cJSON_GetObjectItem(g, "slotsUsed")->valueint;
            x->cap_mem = (long)cJSON_GetObjectItem(g, "memMiB")->valuedouble;
            x->cap_cores = cJSON_GetObjectItem(g, "cores")->valueint;
            x->cap_slots = cJSON_GetObjectItem(g, "slots")->valueint;
            snprintf(x->node, sizeof x->node, "%s", cJSON_GetObjectItem(n, "name")->valuestring);
        }
    }
    cJSON_Delete(ins);
}

/* Compare: every GPU of /inspect against the API's usage. Returns the
 * number of differences, describing the first in why. */
static int usage_diff(const struct usage *api, const struct usage *ins, char *why, size_t cap)
{
    int diffs = 0;
    why[0] = '\0';
    for (int i = 0; i < ins->n; i++) {
        const struct gpu_use *x = &ins->g[i], *a = NULL;
        for (int k = 0; k < api->n; k++)
            if (strcmp(api->g[k].uuid, x->uuid) == 0)
                a = &api->g[k];
        long am = a ? a->mem : 0, ac = a ? a->cores : 0, as = a ? a->slots : 0;
        if (am != x->mem || ac != x->cores || as != x->slots) {
            if (!diffs++)
                snprintf(why, cap, "%s: inspect %ld MiB %ld%% %ld slots, API %ld MiB %ld%% %ld",
                         x->uuid, x->mem, x->cores, x->slots, am, ac, as);
        }
    }
    for (int k = 0; k < api->n; k++) {
        bool found = false;
        for (int i = 0; i < ins->n; i++)
            found = found || strcmp(api->g[k].uuid, ins->g[i].uuid) == 0;
        if (!found && !diffs++)
            snprintf(why, cap, "%s used per the API, unknown to /inspect", api->g[k].uuid);
    }
    return diffs;
}

/* Poll (bounded) until /inspect equals the API's usage. */
static int wait_usage_equal(struct env *e, int ms, char *why, size_t cap)
{
    struct usage *api = malloc(sizeof *api), *ins = malloc(sizeof *ins);
    int diffs = -1;
    for (double end = clock_mono_s() + ms / 1000.0; diffs != 0 && clock_mono_s() < end;
         harness_nap_ms(50)) {
        usage_from_api(e->f, api);
        usage_from_inspect(e->port, ins);
        diffs = usage_diff(api, ins, why, cap);
    }
    free(api);
    free(ins);
    return diffs;
}

/* The device plugin: a thread that keeps playing until told to stop. */
struct plugin {
    struct fakeapi *f;
    atomic_bool stop;
    atomic_long handled;
    pthread_t th;
};

static void *plugin_run(void *arg)
{
    struct plugin *p = arg;
    for (int i = 0; i < 600000 && !atomic_load(&p->stop); i++) { /* bounded: 10 min at most */
        atomic_fetch_add(&p->handled, fakeapi_play_device_plugin(p->f));
        harness_nap_ms(1);
    }
    return NULL;
}

static void plugin_start(struct plugin *p, struct fakeapi *f)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    pthread_create(&p->th, NULL, plugin_run, p);
}

static void plugin_stop(struct plugin *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    atomic_fetch_add(&p->handled, fakeapi_play_device_plugin(p->f));
}

/* Poll (bounded) until no node carries a lock: locks of failed binds and
 * of cut-short binds are released in the background. */
static int wait_no_locks(struct fakeapi *f, int ms, char *which, size_t cap)
{
    int n = harness_locks_left(f, which, cap);
    for (double end = clock_mono_s() + ms / 1000.0; n && clock_mono_s() < end; harness_nap_ms(20))
        n = harness_locks_left(f, which, cap);
    return n;
}

/* The events the fake got for pod `name` with `reason`. */
static int events_for(struct fakeapi *f, const char *name, const char *reason, char *msg,
                      size_t cap)
{
    cJSON *evs = fakeapi_events(f), *e;
    int k = 0;
    cJSON_ArrayForEach(e, evs)
    {
        const cJSON *io = cJSON_GetObjectItem(e, "involvedObject");
        if (strcmp(cJSON_GetObjectItem(io, "name")->valuestring, name) == 0 &&
            strcmp(cJSON_GetObjectItem(e, "reason")->valuestring, reason) == 0) {
            if (msg && !k)
                snprintf(msg, cap, "%s", cJSON_GetObjectItem(e, "message")->valuestring);
            k++;
        }
    }
    cJSON_Delete(evs);
    return k;
}

static int wait_events(struct fakeapi *f, const char *name, const char *reason, char *msg,
                       size_t cap)
{
    int k = 0;
    for (int i = 0; i < 250 && !(k = events_for(f, name, reason, msg, cap)); i++)
        harness_nap_ms(20);
    return k;
}

/* A handshake request an hour old. */
static void handshake_old(char *buf, size_t cap)
{
    handshake_value((double)time(NULL) - 3600, buf, cap);
}

/* ---- filter and bind as kube-scheduler would; the device plugin's part ---- */

START_TEST(live_filter_bind)
{
    struct env e;
    env_start(&e);
    put_node(e.f, "n1", 2, 10, 24000, NULL, "", 2);
    put_node(e.f, "n2", 2, 10, 24000, NULL, "", 2);
    harness_put_gpu_pod(e.f, "p1", 8000, 20);
    harness_put_gpu_pod(e.f, "p2", 8000, 20);
    env_run(&e, NULL);

    const char *const both[] = {"n1", "n2"};
    char node[64], why[2048], err[1024];
    ck_assert(do_filter(NULL, &e, "p1", both, 2, node, sizeof node, why, sizeof why));
    ck_assert_msg(node[0], "p1 not placed: %s", why);
    ck_assert(do_bind(NULL, &e, "p1", node, err, sizeof err));
    ck_assert_msg(err[0] == '\0', "bind p1: %s", err);

    /* The fake saw the lock, the pod patch and the binding. */
    cJSON *n = fakeapi_get(e.f, "nodes", NULL, node),
          *p = fakeapi_get(e.f, "pods", "default", "p1");
    const char *lock = harness_annotation(n, "hami.io/mutex.lock");
    ck_assert_ptr_nonnull(lock);
    ck_assert_msg(strstr(lock, ",default,p1") && strlen(lock) == 20 + strlen(",default,p1"),
                  "lock %s", lock);
    ck_assert_str_eq(harness_annotation(p, "hami.io/vgpu-node"), node);
    ck_assert_str_eq(harness_annotation(p, "hami.io/bind-phase"), "allocating");
    ck_assert_ptr_nonnull(harness_annotation(p, "hami.io/bind-time"));
    ck_assert_str_eq(harness_annotation(p, "hami.io/vgpu-devices-allocated"),
                     harness_annotation(p, "hami.io/vgpu-devices-to-allocate"));
    ck_assert_msg(
        strstr(harness_annotation(p, "hami.io/vgpu-devices-allocated"), ",NVIDIA,8000,20:;"), "%s",
        harness_annotation(p, "hami.io/vgpu-devices-allocated"));
    const cJSON *labels = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "labels");
    ck_assert_str_eq(cJSON_GetObjectItem(labels, "hami.io/vgpu-node")->valuestring, node);
    ck_assert_str_eq(node_of(p), node);
    cJSON_Delete(n);
    cJSON_Delete(p);
    /* ... in that order: lock, pod patch, binding. */
    char *log = fakeapi_log(e.f);
    const char *lk = strstr(log, "PATCH /api/v1/nodes/"), *pp = NULL, *bd = NULL;
    for (const char *s = lk; s && (s = strstr(s, "PATCH /api/v1/nodes/")); s++)
        if (strstr(s, "hami.io/mutex.lock\":\"") && s < strstr(s, "\n")) {
            lk = s;
            break;
        }
    pp = strstr(log, "PATCH /api/v1/namespaces/default/pods/p1 200");
    bd = strstr(log, "POST /api/v1/namespaces/default/pods/p1/binding 201");
    ck_assert_msg(lk && pp && bd && lk < pp && pp < bd, "order wrong:\n%s", log);
    free(log);

    /* HAMi's events. */
    char msg[1100];
    ck_assert_int_ge(wait_events(e.f, "p1", "FilteringSucceed", msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "find fit node("), "%s", msg);
    ck_assert_int_ge(wait_events(e.f, "p1", "BindingSucceed", msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "Successfully binding node ["), "%s", msg);

    /* Single filter mode: the locked node is passed over. */
    const char *const one[] = {node};
    char node2[64];
    bool locked_seen = false;
    for (int i = 0; i < 250 && !locked_seen; i++) { /* the watch brings the lock: <= 5 s */
        ck_assert(do_filter(NULL, &e, "p2", one, 1, node2, sizeof node2, why, sizeof why));
        locked_seen = node2[0] == '\0' && strstr(why, "NodeLocked") != NULL;
        if (!locked_seen)
            harness_nap_ms(20);
    }
    ck_assert_msg(locked_seen, "filter p2 on %s: %s %s", node, node2, why);
    ck_assert_int_ge(wait_events(e.f, "p2", "FilteringFailed", msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "1 NodeLocked"), "%s", msg);

    /* The device plugin's part; then the next pod lands on the node. */
    ck_assert_int_eq(fakeapi_play_device_plugin(e.f), 1);
    for (int i = 0; i < 250; i++) {
        ck_assert(do_filter(NULL, &e, "p2", one, 1, node2, sizeof node2, why, sizeof why));
        if (node2[0])
            break;
        harness_nap_ms(20);
    }
    ck_assert_msg(node2[0], "p2 still not placed: %s", why);
    ck_assert(do_bind(NULL, &e, "p2", node2, err, sizeof err));
    ck_assert_msg(err[0] == '\0', "bind p2: %s", err);
    ck_assert_int_eq(fakeapi_play_device_plugin(e.f), 1);
    char which[256];
    ck_assert_int_eq(harness_locks_left(e.f, which, sizeof which), 0);
    ck_assert_int_eq(wait_usage_equal(&e, 5000, why, sizeof why), 0);

    /* A deleted pod frees its share. */
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "default", "p1"), 0);
    ck_assert_int_eq(wait_usage_equal(&e, 5000, why, sizeof why), 0);
    struct fakeapi_counts c;
    fakeapi_counts(e.f, &c);
    ck_assert_int_ge(c.handshakes, 2); /* both nodes got Requesting_ */
    ck_assert_int_eq(c.bindings, 2);
    ck_assert_int_eq(c.lock_takes, 2);
    env_stop(&e);
}
END_TEST

/* ---- the watch: selector, malformed and unhealthy nodes, 410 and relist ---- */

static bool inspect_has(int port, const char *node, int *ngpu)
{
    cJSON *ins = inspect(port), *n;
    bool found = false;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetObjectItem(n, "name")->valuestring, node) == 0) {
            found = true;
            if (ngpu)
                *ngpu = cJSON_GetArraySize(cJSON_GetObjectItem(n, "gpus"));
        }
    }
    cJSON_Delete(ins);
    return found;
}

/* Poll (bounded) until node's presence in /inspect is `want`. */
static bool wait_node(int port, const char *node, bool want)
{
    for (int i = 0; i < 250; i++, harness_nap_ms(20))
        if (inspect_has(port, node, NULL) == want)
            return true;
    return false;
}

START_TEST(live_watch)
{
    struct env e;
    char old[64], extra[256], why[512];
    env_start(&e);
    handshake_old(old, sizeof old);
    put_node(e.f, "n1", 2, 10, 24000, "\"pool\":\"a\"", "", 2);
    put_node(e.f, "n2", 2, 10, 24000, "\"pool\":\"b\"", "", 2); /* not selected */
    ck_assert_int_gt(
        fakeapi_put(e.f, "nodes",
                    "{\"metadata\":{\"name\":\"n3\",\"labels\":{\"pool\":\"a\"},"
                    "\"annotations\":{\"hami.io/node-nvidia-register\":\"garbage\"}}}"),
        0);
    snprintf(extra, sizeof extra, ",\"hami.io/node-handshake\":\"%s\"", old);
    put_node(e.f, "n4", 2, 10, 24000, "\"pool\":\"a\"", extra, 0); /* plugin gone */
    put_node(e.f, "n5", 2, 10, 24000, "\"pool\":\"a\"",
             ",\"hami.io/node-handshake\":\"Deleted_2024-01-02 00:00:00\"", 2);
    ck_assert_int_gt(fakeapi_put(e.f, "pods",
                                 "{\"metadata\":{\"name\":\"running\",\"namespace\":\"default\","
                                 "\"annotations\":{\"hami.io/vgpu-node\":\"n5\","
                                 "\"hami.io/vgpu-devices-allocated\":\"n5-g0,NVIDIA,1000,10:;\"}},"
                                 "\"spec\":{\"nodeName\":\"n5\",\"containers\":[{\"name\":\"c\","
                                 "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
                                 "\"nvidia.com/gpumem\":\"1000\"}}}]},"
                                 "\"status\":{\"phase\":\"Running\"}}"),
                     0);
    const char *const flags[] = {"--node-label-selector", "pool=a", NULL};
    env_run(&e, flags);

    int ngpu = -1;
    ck_assert(inspect_has(e.port, "n1", &ngpu) && ngpu == 2);
    ck_assert(!inspect_has(e.port, "n2", NULL));              /* the selector */
    ck_assert(!inspect_has(e.port, "n3", NULL));              /* malformed: left out */
    ck_assert(inspect_has(e.port, "n4", &ngpu) && ngpu == 0); /* unhealthy: no devices */
    ck_assert(inspect_has(e.port, "n5", &ngpu) && ngpu == 2); /* a stale Deleted_ never blocks */
    ck_assert_int_ge(error_count(e.port, "node_malformed"), 1);
    ck_assert_int_ge(error_count(e.port, "node_unhealthy"), 1);
    ck_assert_int_eq(wait_usage_equal(&e, 5000, why, sizeof why), 0);
    /* n5's stale Deleted_ was replaced by a fresh request; n4's Requesting stays. */
    const char *hs = NULL;
    cJSON *n5 = NULL;
    for (int i = 0; i < 250; i++, harness_nap_ms(20)) {
        cJSON_Delete(n5);
        n5 = fakeapi_get(e.f, "nodes", NULL, "n5");
        hs = harness_annotation(n5, "hami.io/node-handshake");
        if (hs && strncmp(hs, "Requesting_", 11) == 0)
            break;
    }
    ck_assert_msg(hs && strncmp(hs, "Requesting_", 11) == 0, "n5 handshake %s", hs);
    cJSON_Delete(n5);
    cJSON *n4 = fakeapi_get(e.f, "nodes", NULL, "n4");
    ck_assert_str_eq(harness_annotation(n4, "hami.io/node-handshake"), old);
    cJSON_Delete(n4);
    /* n3 repaired: it comes in. */
    put_node(e.f, "n3", 1, 10, 24000, "\"pool\":\"a\"", "", 1);
    ck_assert(wait_node(e.port, "n3", true));

    /* While the watches are held: n1 and the running pod go, n6 comes; the
     * history is compacted, so the watches get 410 and list again. */
    struct fakeapi_faults x = {.hold_watches = true};
    fakeapi_set_faults(e.f, &x);
    harness_nap_ms(100);
    ck_assert_int_eq(fakeapi_delete(e.f, "nodes", NULL, "n1"), 0);
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "default", "running"), 0);
    put_node(e.f, "n6", 1, 10, 24000, "\"pool\":\"a\"", "", 1);
    fakeapi_compact(e.f);
    x.hold_watches = false;
    fakeapi_set_faults(e.f, &x);
    ck_assert(wait_node(e.port, "n1", false));
    ck_assert(wait_node(e.port, "n6", true));
    ck_assert_int_eq(wait_usage_equal(&e, 5000, why, sizeof why), 0);
    ck_assert_int_ge(error_count(e.port, "watch_relist"), 1);
    env_stop(&e);
}
END_TEST

/* ---- init containers: their share given back when they finish ---- */

/* Memory in use on a GPU per /inspect; -1 when not listed. */
static int gpu_mem(int port, const char *uuid)
{
    cJSON *ins = inspect(port), *n, *g;
    int mem = -1;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            if (strcmp(cJSON_GetObjectItem(g, "uuid")->valuestring, uuid) == 0)
                mem = cJSON_GetObjectItem(g, "memUsedMiB")->valueint;
        }
    }
    cJSON_Delete(ins);
    return mem;
}

/* Poll (bounded) until the GPU's memory in use is want; returns the last. */
static int wait_gpu_mem(int port, const char *uuid, int want)
{
    int mem = -1;
    for (int i = 0; i < 250 && (mem = gpu_mem(port, uuid)) != want; i++)
        harness_nap_ms(20);
    return mem;
}

/* A pod on n1-g0: a 20000 MiB init container "warmup", a 2000 MiB app
 * container, the init container's state as given. */
static void put_init_pod(struct fakeapi *f, const char *phase, const char *state)
{
    char json[2048];
    snprintf(
        json, sizeof json,
        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"warm\",\"uid\":\"uid-"
        "warm\","
        "\"namespace\":\"default\",\"annotations\":{\"hami.io/vgpu-node\":\"n1\","
        "\"hami.io/vgpu-devices-allocated\":\"n1-g0,NVIDIA,20000,0:;n1-g0,NVIDIA,2000,0:;\"}},"
        "\"spec\":{\"nodeName\":\"n1\",\"initContainers\":[{\"name\":\"warmup\","
        "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"20000\"}}}],"
        "\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{"
        "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"2000\"}}}]},"
        "\"status\":{\"phase\":\"%s\",\"initContainerStatuses\":[{\"name\":\"warmup\","
        "\"state\":%s}]}}",
        phase, state);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
}

/* The watch brings the pod's status: while its init container runs it
 * holds the init peak; once it exited 0, only its app container (before:
 * the peak for the pod's whole life). */
START_TEST(live_init_gives_back)
{
    struct env e;
    env_start(&e);
    put_node(e.f, "n1", 1, 10, 24000, "", "", 1);
    put_init_pod(e.f, "Pending", "{\"running\":{}}");
    env_run(&e, NULL);
    ck_assert_int_eq(wait_gpu_mem(e.port, "n1-g0", 20000), 20000);
    put_init_pod(e.f, "Running", "{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}");
    ck_assert_int_eq(wait_gpu_mem(e.port, "n1-g0", 2000), 2000);
    env_stop(&e);
}
END_TEST

/* ---- the node lock: stale, orphaned, 409 storms, failures undone ---- */

START_TEST(live_lock_cases)
{
    struct env e;
    char node[64], why[2048], err[1024], extra[256], now_lock[64], which[256];
    env_start(&e);
    put_node(e.f, "stale", 2, 10, 24000, NULL,
             ",\"hami.io/mutex.lock\":\"2020-01-01T00:00:00Z,default,holder\"", 2);
    harness_put_gpu_pod(e.f, "holder", 1000,
                        10); /* the owner exists: only its age makes it stale */
    time_t t = time(NULL);
    strftime(now_lock, sizeof now_lock, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    snprintf(extra, sizeof extra, ",\"hami.io/mutex.lock\":\"%s,default,ghost\"", now_lock);
    put_node(e.f, "orphan", 2, 10, 24000, NULL, extra, 2);
    snprintf(extra, sizeof extra, ",\"hami.io/mutex.lock\":\"%s,default,z\"", now_lock);
    put_node(e.f, "x1", 2, 10, 24000, NULL, extra, 2); /* z's bind there was cut short */
    put_node(e.f, "c1", 2, 10, 24000, NULL, "", 2);
    put_node(e.f, "f1", 2, 10, 24000, NULL, "", 2);
    const char *pods[] = {"a", "b", "c", "d", "e", "z"};
    for (int i = 0; i < 6; i++)
        harness_put_gpu_pod(e.f, pods[i], 1000, 10);
    env_run(&e, NULL);

    /* A lock older than --node-lock-timeout is taken over. */
    const char *const stale[] = {"stale"};
    place(&e, "a", stale, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "a: %s", why);
    ck_assert(do_bind(NULL, &e, "a", "stale", err, sizeof err));
    ck_assert_msg(!err[0], "bind a: %s", err);
    cJSON *n = fakeapi_get(e.f, "nodes", NULL, "stale");
    ck_assert_ptr_nonnull(strstr(harness_annotation(n, "hami.io/mutex.lock"), ",default,a"));
    cJSON_Delete(n);
    ck_assert_int_ge(error_count(e.port, "lock_taken_over"), 1);

    /* A fresh lock whose pod does not exist is released by the watch. */
    bool released = false;
    for (int i = 0; i < 250 && !released; i++, harness_nap_ms(20)) {
        n = fakeapi_get(e.f, "nodes", NULL, "orphan");
        released = harness_annotation(n, "hami.io/mutex.lock") == NULL;
        cJSON_Delete(n);
    }
    ck_assert(released);
    ck_assert_int_ge(error_count(e.port, "lock_orphan_released"), 1);

    /* A 409 storm on node patches: the lock is retried with backoff. */
    struct fakeapi_faults x = {.conflict_next = 3};
    fakeapi_set_faults(e.f, &x);
    const char *const c1[] = {"c1"};
    place(&e, "b", c1, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "b: %s", why);
    ck_assert(do_bind(NULL, &e, "b", "c1", err, sizeof err));
    ck_assert_msg(!err[0], "bind b: %s", err);
    /* The three injected 409s, plus any real one: a background node patch
     * (handshake, lock cleanup) may change the resourceVersion in between. */
    ck_assert_int_ge(error_count(e.port, "lock_conflict"), 3);
    x.conflict_next = 0;

    /* The binding fails: the pod patch is undone, the lock released, the
     * reservation dropped, and the answer says why. */
    snprintf(x.fail_path, sizeof x.fail_path, "/binding");
    fakeapi_set_faults(e.f, &x);
    const char *const f1[] = {"f1"};
    place(&e, "c", f1, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "c: %s", why);
    ck_assert(do_bind(NULL, &e, "c", "f1", err, sizeof err));
    ck_assert_msg(strstr(err, "HTTP 500"), "bind c: %s", err);
    x.fail_path[0] = '\0';
    fakeapi_set_faults(e.f, &x);
    cJSON *p = fakeapi_get(e.f, "pods", "default", "c");
    ck_assert_ptr_null(harness_annotation(p, "hami.io/vgpu-node"));
    ck_assert_ptr_null(harness_annotation(p, "hami.io/vgpu-devices-allocated"));
    ck_assert_ptr_null(node_of(p));
    cJSON_Delete(p);
    n = fakeapi_get(e.f, "nodes", NULL, "f1");
    ck_assert_ptr_null(harness_annotation(n, "hami.io/mutex.lock"));
    cJSON_Delete(n);
    char msg[1100];
    ck_assert_int_ge(wait_events(e.f, "c", "BindingFailed", msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "HTTP 500"), "%s", msg);

    /* The pod was recreated under the same name between filter and bind. */
    place(&e, "d", f1, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "d: %s", why);
    cJSON *old = fakeapi_get(e.f, "pods", "default", "d");
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "default", "d"), 0);
    harness_put_gpu_pod(e.f, "d", 1000, 10);
    char body[512];
    snprintf(body, sizeof body,
             "{\"PodName\":\"d\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\",\"Node\":\"f1\"}",
             harness_meta(old, "uid"));
    cJSON_Delete(old);
    cJSON *j = post(NULL, e.port, "/bind", body);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(cJSON_GetObjectItem(j, "Error")->valuestring[0],
                  "bind of a recreated pod passed");
    cJSON_Delete(j);
    p = fakeapi_get(e.f, "pods", "default", "d");
    ck_assert_ptr_null(harness_annotation(p, "hami.io/vgpu-node"));
    ck_assert_ptr_null(node_of(p));
    cJSON_Delete(p);

    /* The pod was deleted between filter and bind. */
    place(&e, "e", f1, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "e: %s", why);
    cJSON *pe = fakeapi_get(e.f, "pods", "default", "e");
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "default", "e"), 0);
    snprintf(body, sizeof body,
             "{\"PodName\":\"e\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\",\"Node\":\"f1\"}",
             harness_meta(pe, "uid"));
    cJSON_Delete(pe);
    j = post(NULL, e.port, "/bind", body);
    ck_assert_ptr_nonnull(j);
    ck_assert(cJSON_GetObjectItem(j, "Error")->valuestring[0]);
    cJSON_Delete(j);

    /* z, whose lock on x1 is fresh, is bound on c1: the lock on x1 serves
     * nobody any more and is released by the watch. */
    const char *const fits[] = {"c1", "f1"};
    place(&e, "z", fits, 2, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "z: %s", why);
    ck_assert(do_bind(NULL, &e, "z", node, err, sizeof err));
    ck_assert_msg(!err[0], "bind z: %s", err);
    released = false;
    for (int i = 0; i < 250 && !released; i++, harness_nap_ms(20)) {
        n = fakeapi_get(e.f, "nodes", NULL, "x1");
        released = harness_annotation(n, "hami.io/mutex.lock") == NULL;
        cJSON_Delete(n);
    }
    ck_assert_msg(released, "the lock z held on x1 stayed");

    /* The device plugin releases the locks of the bound pods: none is left,
     * no reservation either. */
    ck_assert_int_eq(fakeapi_play_device_plugin(e.f), 3);
    ck_assert_msg(wait_no_locks(e.f, 5000, which, sizeof which) == 0, "%s", which);
    cJSON *ins = inspect(e.port);
    ck_assert_int_eq(cJSON_GetObjectItem(ins, "reservations")->valueint, 0);
    cJSON_Delete(ins);
    ck_assert_int_eq(wait_usage_equal(&e, 5000, why, sizeof why), 0);
    env_stop(&e);
}
END_TEST

/* ---- many pods, as kube-scheduler sends them ---- */

struct job {
    char name[32];
    int mem, cores;
    int state; /* 0 to do, 1 bound, 2 refused */
    char why[512];
};

struct crowd {
    struct env *e;
    struct job *jobs;
    int njobs, tries;
    const char *const *names;
    int nnames;
    atomic_int next;
    atomic_bool dead;
    atomic_int bound, bind_errors, transport_errors;
    pthread_mutex_t lock; /* guards the figures below */
    double bind_ms_sum, bind_ms_max;
    long binds;
};

static void *crowd_run(void *arg)
{
    struct crowd *cr = arg;
    struct harness_client *c = harness_client_new();
    char node[64], why[2048], err[1024];
    for (;;) {
        int i = atomic_fetch_add(&cr->next, 1);
        if (i >= cr->njobs || atomic_load(&cr->dead))
            break;
        struct job *j = &cr->jobs[i];
        if (j->state)
            continue;
        for (int t = 0, waits = 0; t < cr->tries && !j->state; t++) {
            if (!do_filter(c, cr->e, j->name, cr->names, cr->nnames, node, sizeof node, why,
                           sizeof why)) {
                atomic_store(&cr->dead, true);
                atomic_fetch_add(&cr->transport_errors, 1);
                break;
            }
            if (!node[0]) {
                snprintf(j->why, sizeof j->why, "filter: %.490s", why);
                if ((strstr(why, "not synced") || strstr(why, "NodeLocked")) && waits++ < 250) {
                    harness_nap_ms(20); /* kube-scheduler retries on the node's update */
                    t--;                /* bounded by waits: 5 s */
                    continue;
                }
                j->state = 2;
                break;
            }
            double t0 = clock_mono_s();
            if (!do_bind(c, cr->e, j->name, node, err, sizeof err)) {
                atomic_store(&cr->dead, true);
                atomic_fetch_add(&cr->transport_errors, 1);
                break;
            }
            double ms = (clock_mono_s() - t0) * 1000;
            pthread_mutex_lock(&cr->lock);
            cr->bind_ms_sum += ms;
            cr->bind_ms_max = ms > cr->bind_ms_max ? ms : cr->bind_ms_max;
            cr->binds++;
            pthread_mutex_unlock(&cr->lock);
            if (!err[0]) {
                j->state = 1;
                atomic_fetch_add(&cr->bound, 1);
            } else {
                snprintf(j->why, sizeof j->why, "bind: %.500s", err);
                atomic_fetch_add(&cr->bind_errors, 1);
            }
        }
        if (!j->state && !atomic_load(&cr->dead))
            j->state = 2; /* refused: j->why says why */
    }
    harness_client_free(c);
    return NULL;
}

/* Run `workers` threads over the jobs to the end (or the process's death). */
static void crowd_go(struct crowd *cr, int workers, pthread_t *th)
{
    atomic_store(&cr->next, 0);
    atomic_store(&cr->dead, false);
    for (int i = 0; i < workers; i++)
        pthread_create(&th[i], NULL, crowd_run, cr);
}

static void crowd_join(int workers, pthread_t *th)
{
    for (int i = 0; i < workers; i++)
        pthread_join(th[i], NULL);
}

static struct job *make_jobs(struct fakeapi *f, int n, int mem_lo, int mem_span, int cores_lo,
                             int cores_span, unsigned seed)
{
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    for (int i = 0; i < n; i++) {
        snprintf(jobs[i].name, sizeof jobs[i].name, "pod-%04d", i);
        jobs[i].mem = mem_lo + (int)(rand_r(&seed) % (unsigned)mem_span);
        jobs[i].cores = cores_lo + (int)(rand_r(&seed) % (unsigned)cores_span);
        harness_put_gpu_pod(f, jobs[i].name, jobs[i].mem, jobs[i].cores);
    }
    return jobs;
}

/* Every bound pod is bound where its annotations say, on its node's GPUs;
 * every other pod carries no placement; no GPU is over capacity. */
static void check_consistent(struct env *e, struct job *jobs, int n, int *bound)
{
    struct usage *api = malloc(sizeof *api), *ins = malloc(sizeof *ins);
    struct codec_devices *d = malloc(sizeof *d);
    char err[256];
    *bound = 0;
    for (int i = 0; i < n; i++) {
        cJSON *p = fakeapi_get(e->f, "pods", "default", jobs[i].name);
        const char *at = node_of(p), *vn = harness_annotation(p, "hami.io/vgpu-node");
        const char *dev = harness_annotation(p, "hami.io/vgpu-devices-allocated");
        ck_assert_msg((jobs[i].state == 1) == (at != NULL), "%s: state %d, nodeName %s (%s)",
                      jobs[i].name, jobs[i].state, at ? at : "-", jobs[i].why);
        if (at) {
            (*bound)++;
            ck_assert_msg(vn && strcmp(vn, at) == 0, "%s bound to %s, annotated %s", jobs[i].name,
                          at, vn ? vn : "-");
            ck_assert_int_eq(codec_decode(dev, d, err, sizeof err), 0);
            ck_assert_int_eq(d->n, 1);
            ck_assert_msg(strncmp(d->e[0].uuid, at, strlen(at)) == 0 &&
                              d->e[0].uuid[strlen(at)] == '-',
                          "%s on %s got %.*s", jobs[i].name, at, d->e[0].uuid_len, d->e[0].uuid);
            ck_assert_int_eq(d->e[0].mem, jobs[i].mem);
            ck_assert_int_eq(d->e[0].cores, jobs[i].cores);
        } else {
            ck_assert_msg(jobs[i].state == 2 && jobs[i].why[0], "%s: no reason", jobs[i].name);
            ck_assert_msg(!vn && !dev, "%s refused but annotated (%s)", jobs[i].name, jobs[i].why);
        }
        cJSON_Delete(p);
    }
    usage_from_api(e->f, api);
    usage_from_inspect(e->port, ins);
    for (int k = 0; k < api->n; k++) {
        const struct gpu_use *cap = NULL;
        for (int i = 0; i < ins->n; i++)
            if (strcmp(ins->g[i].uuid, api->g[k].uuid) == 0)
                cap = &ins->g[i];
        ck_assert_ptr_nonnull(cap);
        ck_assert_msg(api->g[k].mem <= cap->cap_mem && api->g[k].cores <= cap->cap_cores &&
                          api->g[k].slots <= cap->cap_slots,
                      "%s over capacity: %ld/%ld MiB %ld/%ld%% %ld/%ld slots", api->g[k].uuid,
                      api->g[k].mem, cap->cap_mem, api->g[k].cores, cap->cap_cores, api->g[k].slots,
                      cap->cap_slots);
    }
    free(d);
    free(api);
    free(ins);
}

static void print_figures(const char *what, struct crowd *cr, double seconds, struct env *e)
{
    struct fakeapi_counts c;
    fakeapi_counts(e->f, &c);
    fprintf(stderr,
            "%s: %.1f s; %d bound; binds: %ld calls, mean %.1f ms, max %.1f ms, %d answered an "
            "error; API: %ld requests, %ld faults, %ld watches, %ld conflicts, %ld lock takes\n",
            what, seconds, atomic_load(&cr->bound), cr->binds,
            cr->binds ? cr->bind_ms_sum / (double)cr->binds : 0.0, cr->bind_ms_max,
            atomic_load(&cr->bind_errors), c.requests, c.faults, c.watches, c.conflicts,
            c.lock_takes);
}

static const char *const eight[] = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"};

/* kill -9 in the middle of 200 pods; the restarted process rebuilds exactly
 * the usage the API objects say, and finishes the run. */
START_TEST(live_kill_restart)
{
    struct env e;
    struct plugin pl;
    struct crowd cr = {.tries = 5, .names = eight, .nnames = 4};
    pthread_t th[2];
    char why[512], which[256];
    env_start(&e);
    for (int i = 0; i < 4; i++)
        put_node(e.f, eight[i], 8, 10, 32000, NULL, "", 8);
    cr.e = &e;
    cr.njobs = 200;
    cr.jobs = make_jobs(e.f, 200, 1000, 3000, 5, 6, 7);
    pthread_mutex_init(&cr.lock, NULL);
    plugin_start(&pl, e.f);
    env_run(&e, NULL);
    double t0 = clock_mono_s();
    crowd_go(&cr, 2, th);
    for (int i = 0; i < 3000 && atomic_load(&cr.bound) < 100; i++) /* at most 30 s */
        harness_nap_ms(10);
    ck_assert_int_eq(harness_stop(e.h, SIGKILL, 5000), 128 + SIGKILL);
    crowd_join(2, th);
    int before = atomic_load(&cr.bound);
    harness_free(e.h);
    e.h = NULL;
    fprintf(stderr, "kill -9 after %d of 200 pods bound\n", before);

    env_run(&e, NULL);
    ck_assert_msg(wait_usage_equal(&e, 10000, why, sizeof why) == 0, "after restart: %s", why);
    /* Pods the API shows bound (a bind answered just before the kill) are done. */
    for (int i = 0; i < cr.njobs; i++) {
        cJSON *p = fakeapi_get(e.f, "pods", "default", cr.jobs[i].name);
        if (node_of(p) && cr.jobs[i].state != 1) {
            cr.jobs[i].state = 1;
            atomic_fetch_add(&cr.bound, 1);
        }
        cJSON_Delete(p);
    }
    crowd_go(&cr, 2, th);
    crowd_join(2, th);
    plugin_stop(&pl);
    print_figures("kill -9 and restart, 200 pods", &cr, clock_mono_s() - t0, &e);
    int bound;
    check_consistent(&e, cr.jobs, cr.njobs, &bound);
    for (int i = 0; i < cr.njobs; i++) /* there is room for all */
        ck_assert_msg(cr.jobs[i].state == 1, "%s: %s", cr.jobs[i].name, cr.jobs[i].why);
    ck_assert_int_eq(bound, 200);
    ck_assert_msg(wait_usage_equal(&e, 10000, why, sizeof why) == 0, "at the end: %s", why);
    if (wait_no_locks(e.f, 5000, which, sizeof which))
        harness_dump(e.h);
    ck_assert_msg(wait_no_locks(e.f, 0, which, sizeof which) == 0, "%s", which);
    free(cr.jobs);
    pthread_mutex_destroy(&cr.lock);
    env_stop(&e);
}
END_TEST

/* Faults on: every 10th API call fails, watches drop every 2.5 s; 1,000
 * pods: each bound consistently or refused with a reason, no GPU over
 * capacity, no lock or reservation left. */
START_TEST(live_faults)
{
    struct env e;
    struct plugin pl;
    struct crowd cr = {.tries = 4, .names = eight, .nnames = 8};
    pthread_t th[4];
    char why[512], which[256];
    env_start(&e);
    for (int i = 0; i < 8; i++)
        put_node(e.f, eight[i], 8, 10, 24000, NULL, "", 8);
    cr.e = &e;
    cr.njobs = 1000;
    cr.jobs = make_jobs(e.f, 1000, 1000, 4000, 5, 20, 11);
    pthread_mutex_init(&cr.lock, NULL);
    plugin_start(&pl, e.f);
    env_run(&e, NULL);
    struct fakeapi_faults x = {.fail_every = 10, .drop_watch_ms = 2500};
    fakeapi_set_faults(e.f, &x);
    double t0 = clock_mono_s();
    crowd_go(&cr, 4, th);
    crowd_join(4, th);
    double secs = clock_mono_s() - t0;
    memset(&x, 0, sizeof x);
    fakeapi_set_faults(e.f, &x);
    plugin_stop(&pl);
    print_figures("faults on, 1000 pods", &cr, secs, &e);
    ck_assert_int_eq(atomic_load(&cr.transport_errors), 0);
    int bound;
    check_consistent(&e, cr.jobs, cr.njobs, &bound);
    ck_assert_int_gt(bound, 250); /* cores allow about 430 */
    ck_assert_int_lt(bound, 1000);
    ck_assert_msg(wait_no_locks(e.f, 5000, which, sizeof which) == 0, "%s", which);
    ck_assert_msg(wait_usage_equal(&e, 10000, why, sizeof why) == 0, "%s", why);
    cJSON *ins = inspect(e.port);
    ck_assert_int_eq(cJSON_GetObjectItem(ins, "reservations")->valueint, 0);
    cJSON_Delete(ins);
    struct fakeapi_counts c;
    fakeapi_counts(e.f, &c);
    ck_assert_int_gt(c.faults, 100);
    ck_assert_int_gt(c.watches, 4);
    free(cr.jobs);
    pthread_mutex_destroy(&cr.lock);
    env_stop(&e);
}
END_TEST

/* 100 pods for one node, 8 at a time: the binds queue on the node lock and
 * every one succeeds at its first try (HAMi #1367). */
START_TEST(live_contention)
{
    struct env e;
    struct plugin pl;
    const char *const big[] = {"big"};
    struct crowd cr = {.tries = 1, .names = big, .nnames = 1};
    pthread_t th[8];
    char why[512], which[256];
    env_start(&e);
    put_node(e.f, "big", 16, 10, 80000, NULL, "", 16);
    cr.e = &e;
    cr.njobs = 100;
    cr.jobs = make_jobs(e.f, 100, 1000, 1, 5, 1, 3);
    pthread_mutex_init(&cr.lock, NULL);
    plugin_start(&pl, e.f);
    const char *const flags[] = {"--filter-mode", "all", NULL};
    env_run(&e, flags);
    double t0 = clock_mono_s();
    crowd_go(&cr, 8, th);
    crowd_join(8, th);
    double secs = clock_mono_s() - t0;
    plugin_stop(&pl);
    print_figures("100 pods contending for one node", &cr, secs, &e);
    for (int i = 0; i < cr.njobs; i++)
        ck_assert_msg(cr.jobs[i].state == 1, "%s: %s", cr.jobs[i].name, cr.jobs[i].why);
    ck_assert_int_eq(atomic_load(&cr.bind_errors), 0);
    struct fakeapi_counts c;
    fakeapi_counts(e.f, &c);
    ck_assert_int_eq(c.lock_takes, 100);    /* each pod took the lock once */
    ck_assert_int_eq(c.lock_overwrites, 0); /* never over another pod's fresh lock */
    int bound;
    check_consistent(&e, cr.jobs, cr.njobs, &bound);
    ck_assert_int_eq(bound, 100);
    ck_assert_msg(wait_no_locks(e.f, 5000, which, sizeof which) == 0, "%s", which);
    ck_assert_msg(wait_usage_equal(&e, 10000, why, sizeof why) == 0, "%s", why);
    free(cr.jobs);
    pthread_mutex_destroy(&cr.lock);
    env_stop(&e);
}
END_TEST

/* Until the first lists are done: /readyz 503, filter "cache not synced". */
START_TEST(live_not_synced)
{
    struct env e;
    char node[64], why[1024];
    env_start(&e);
    put_node(e.f, "n1", 1, 10, 24000, NULL, "", 1);
    harness_put_gpu_pod(e.f, "p", 1000, 10);
    struct fakeapi_faults x = {.delay_ms = 1500}; /* slow answers */
    fakeapi_set_faults(e.f, &x);
    const char *args[] = {"--kubeconfig", e.kubeconfig, "--leader-elect-lease=", NULL};
    e.h = harness_start(args);
    ck_assert_ptr_nonnull(e.h);
    e.port = harness_port(e.h);
    struct harness_reply r;
    ck_assert_int_eq(harness_get(e.port, "/readyz", &r), 0);
    ck_assert_int_eq(r.status, 503);
    harness_reply_free(&r);
    const char *const one[] = {"n1"};
    char *args_json = filter_args(e.f, "p", one, 1);
    cJSON *j = post(NULL, e.port, "/filter", args_json);
    free(args_json);
    ck_assert_ptr_nonnull(j);
    ck_assert_msg(strstr(cJSON_GetObjectItem(j, "Error")->valuestring, "cache not synced"), "%s",
                  cJSON_GetObjectItem(j, "Error")->valuestring);
    cJSON_Delete(j);
    x.delay_ms = 0;
    fakeapi_set_faults(e.f, &x);
    ck_assert(harness_wait_ready(e.port, 15000));
    place(&e, "p", one, 1, node, sizeof node, why, sizeof why);
    ck_assert_msg(node[0], "%s", why);
    env_stop(&e);
}
END_TEST

/* ---- what pod owners write ---- */

/* A bound pod whose owner wrote garbage into its allocation keeps its GPUs
 * (counted by its request), and its owner hears of it (a Warning event,
 * pod_counted_by_request); a Pending pod with a forged placement and no
 * GPU request fills nothing. */
START_TEST(live_untrusted_annotations)
{
    struct env e;
    char node[64], why[2048], msg[1100];
    env_start(&e);
    put_node(e.f, "n1", 2, 10, 24000, NULL, "", 2);
    put_node(e.f, "n2", 2, 10, 24000, NULL, "", 2);
    ck_assert_int_gt(
        fakeapi_put(e.f, "pods",
                    "{\"metadata\":{\"name\":\"garbled\",\"namespace\":\"default\","
                    "\"annotations\":{\"hami.io/vgpu-node\":\"n1\","
                    "\"hami.io/vgpu-devices-allocated\":\"garbage\"}},\"spec\":{\"nodeName\":"
                    "\"n1\",\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
                    "\"nvidia.com/gpu\":\"2\",\"nvidia.com/gpumem\":\"24000\"}}}]},"
                    "\"status\":{\"phase\":\"Running\"}}"),
        0);
    ck_assert_int_gt(
        fakeapi_put(e.f, "pods",
                    "{\"metadata\":{\"name\":\"forger\",\"namespace\":\"default\","
                    "\"annotations\":{\"hami.io/vgpu-node\":\"n2\",\"hami.io/bind-time\":"
                    "\"9999999999\",\"hami.io/vgpu-devices-allocated\":"
                    "\"n2-g0,NVIDIA,24000,100:n2-g1,NVIDIA,24000,100:;\"}},\"spec\":{"
                    "\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Pending\"}}"),
        0);
    harness_put_gpu_pod(e.f, "p1", 8000, 20);
    env_run(&e, NULL);
    if (wait_events(e.f, "garbled", "GPUAllocationNotTrusted", msg, sizeof msg) < 1)
        harness_dump(e.h);
    ck_assert_int_ge(events_for(e.f, "garbled", "GPUAllocationNotTrusted", msg, sizeof msg), 1);
    ck_assert_msg(strstr(msg, "counted there instead"), "%s", msg);
    ck_assert_int_ge(error_count(e.port, "pod_counted_by_request"), 1);
    const char *const n1[] = {"n1"}, *const n2[] = {"n2"};
    ck_assert(do_filter(NULL, &e, "p1", n1, 1, node, sizeof node, why, sizeof why));
    ck_assert_msg(!node[0], "p1 got a GPU of the garbled pod");
    ck_assert(do_filter(NULL, &e, "p1", n2, 1, node, sizeof node, why, sizeof why));
    ck_assert_msg(node[0], "the forged placement filled n2: %s", why);
    env_stop(&e);
}
END_TEST

/* ---- the command line ---- */

START_TEST(live_bad_source)
{
    char dir[] = "/tmp/vs-live-XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/kc", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
          "clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n"
          "users:\n- name: u\n  user:\n    exec: {command: aws}\n",
          f);
    fclose(f);
    const char *const args[] = {"--kubeconfig", path, "--http_bind", "127.0.0.1:0", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(buf_str(&r.err), "exec is not supported"), "%s", buf_str(&r.err));
    harness_result_free(&r);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* A node with one A100 40GB in MIG mode (HAMi's default A100 profiles). */
static void put_mig_node(struct fakeapi *f, const char *name, const char *gpu)
{
    static const char *const profiles =
        "[{\"name\":\"1g.5gb\",\"memoryMB\":4864,\"core\":15,\"sliceCount\":1,"
        "\"placements\":[{\"start\":0,\"size\":1},{\"start\":6,\"size\":1}]},"
        "{\"name\":\"2g.10gb\",\"memoryMB\":9856,\"core\":29,\"sliceCount\":2,"
        "\"placements\":[{\"start\":0,\"size\":2},{\"start\":2,\"size\":2},"
        "{\"start\":4,\"size\":2}]}]";
    char reg[1024];
    snprintf(reg, sizeof reg,
             "[{\"id\":\"%s\",\"count\":7,\"devmem\":40960,\"devcore\":100,"
             "\"type\":\"NVIDIA-A100-SXM4-40GB\",\"health\":true,\"mode\":\"mig\","
             "\"migProfiles\":%s}]",
             gpu, profiles);
    cJSON *n = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(n, "metadata");
    cJSON_AddStringToObject(n, "kind", "Node");
    cJSON_AddStringToObject(n, "apiVersion", "v1");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "annotations"),
                            "hami.io/node-nvidia-register", reg);
    cJSON *a = cJSON_AddObjectToObject(cJSON_AddObjectToObject(n, "status"), "allocatable");
    cJSON_AddStringToObject(a, "cpu", "64");
    cJSON_AddStringToObject(a, "memory", "256Gi");
    cJSON_AddStringToObject(a, "nvidia.com/gpu", "7");
    char *json = cJSON_PrintUnformatted(n);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
    free(json);
    cJSON_Delete(n);
}

/* A pod placed on a MIG card gets, in bind's one patch, the card's UUID with
 * the profile's memory and cores and HAMi's MIG allocation annotation (the
 * profile and placement the device plugin creates); the next pod's
 * instance goes beside it. */
START_TEST(live_mig)
{
    struct env e;
    env_start(&e);
    put_mig_node(e.f, "m1", "GPU-m0");
    harness_put_gpu_pod(e.f, "p1", 8000, 0);
    harness_put_gpu_pod(e.f, "p2", 8000, 0);
    env_run(&e, NULL);

    const char *const one[] = {"m1"};
    char node[64], why[2048], err[1024];
    ck_assert(do_filter(NULL, &e, "p1", one, 1, node, sizeof node, why, sizeof why));
    ck_assert_msg(strcmp(node, "m1") == 0, "p1 not placed: %s", why);
    ck_assert(do_bind(NULL, &e, "p1", node, err, sizeof err));
    ck_assert_msg(err[0] == '\0', "bind p1: %s", err);
    cJSON *p = fakeapi_get(e.f, "pods", "default", "p1");
    ck_assert_str_eq(harness_annotation(p, "hami.io/vgpu-devices-allocated"),
                     "GPU-m0,NVIDIA,9856,29:;");
    const char *mig = harness_annotation(p, "hami.io/vgpu-mig-allocations");
    ck_assert_ptr_nonnull(mig);
    ck_assert_str_eq(mig, "[{\"containerIndex\":0,\"deviceIndex\":0,\"gpuUUID\":\"GPU-m0\","
                          "\"profile\":\"2g.10gb\",\"placement\":{\"start\":0,\"size\":2}}]");
    cJSON_Delete(p);
    ck_assert_int_eq(fakeapi_play_device_plugin(e.f), 1); /* releases the node lock */

    place(&e, "p2", one, 1, node, sizeof node, why, sizeof why); /* the watch sees the lock go */
    ck_assert_msg(strcmp(node, "m1") == 0, "p2 not placed: %s", why);
    ck_assert(do_bind(NULL, &e, "p2", node, err, sizeof err));
    ck_assert_msg(err[0] == '\0', "bind p2: %s", err);
    p = fakeapi_get(e.f, "pods", "default", "p2");
    ck_assert_msg(strstr(harness_annotation(p, "hami.io/vgpu-mig-allocations"),
                         "\"placement\":{\"start\":2,\"size\":2}"),
                  "%s", harness_annotation(p, "hami.io/vgpu-mig-allocations"));
    cJSON_Delete(p);
    env_stop(&e);
}
END_TEST

/* ---- the learner starts from the pods already running ---- */

/* A pod ns/name asking one GPU of mem MiB; bound to node n1's card card
 * when card >= 0, else pending; phase as given. */
static void put_gpu_pod(struct fakeapi *f, const char *name, int mem, int card, const char *phase)
{
    char json[2048], bound[512] = "";
    if (card >= 0)
        snprintf(bound, sizeof bound,
                 "\"annotations\":{\"hami.io/vgpu-node\":\"n1\","
                 "\"hami.io/vgpu-devices-allocated\":\"n1-g%d,NVIDIA,%d,0:;\"},",
                 card, mem);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",%s"
             "\"uid\":\"uid-%s\"},\"spec\":{%s\"containers\":[{\"name\":\"c\","
             "\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
             "\"nvidia.com/gpumem\":\"%d\"}}}]},\"status\":{\"phase\":\"%s\"}}",
             name, bound, name, card >= 0 ? "\"nodeName\":\"n1\"," : "", mem, phase);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
}

/* A service (re)started on a cluster that already runs GPU pods learns
 * them from the first list: its first filter, of one new pod, publishes
 * the workload fragment-aware measures against (due after 16 pods), and it
 * holds the running pods' two shapes. Alone, the new pod would publish
 * nothing. Pods that ended and pods not bound yet do not count: they ask
 * a third shape. */
START_TEST(live_learns_running_pods)
{
    struct env e;
    char name[32];
    env_start(&e);
    put_node(e.f, "n1", 2, 20, 24000, "", "", 2);
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "a-ended-%d", i);
        put_gpu_pod(e.f, name, 3000, i % 2, "Succeeded");
        snprintf(name, sizeof name, "a-pending-%d", i);
        put_gpu_pod(e.f, name, 3000, -1, "Pending");
    }
    for (int i = 0; i < 20; i++) { /* two shapes, 1000 and 2000 MiB, on both cards */
        snprintf(name, sizeof name, "run-%02d", i);
        put_gpu_pod(e.f, name, 1000 * (1 + i % 2), (i / 2) % 2, "Running");
    }
    put_gpu_pod(e.f, "new", 1000, -1, "Pending");
    const char *const flags[] = {"--node-scheduler-policy", "fragment-aware", NULL};
    env_run(&e, flags);
    ck_assert_int_eq(harness_metric(e.port, "vgpu_scheduler_workload_shapes"), 0);
    const char *names[] = {"n1"};
    char node[64], why[512];
    ck_assert(do_filter(NULL, &e, "new", names, 1, node, sizeof node, why, sizeof why));
    ck_assert_msg(node[0], "new pod not placed: %s", why);
    long shapes = harness_metric(e.port, "vgpu_scheduler_workload_shapes");
    ck_assert_msg(shapes == 2, "%ld shapes learned from the running pods, want 2", shapes);
    env_stop(&e);
}
END_TEST

int main(void)
{
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"basic", live_filter_bind},
        {"watch", live_watch},
        {"locks", live_lock_cases},
        {"not-synced", live_not_synced},
        {"source", live_bad_source},
        {"contention", live_contention},
        {"restart", live_kill_restart},
        {"faults", live_faults},
        {"untrusted", live_untrusted_annotations},
        {"init-done", live_init_gives_back},
        {"mig", live_mig},
        {"learns-running", live_learns_running_pods},
    };
    Suite *s = suite_create("e2e-live");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name); /* CK_RUN_CASE=<name> runs one */
        tcase_set_timeout(tc, 240);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return harness_run_suite(s, false);
}

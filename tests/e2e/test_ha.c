/* Two replicas, one writer (issue 22): two real binaries against one fake
 * API server, each with its own token so the fake's log tells their calls
 * apart ("A:PATCH ..."); the test plays kube-scheduler's leader election
 * (it holds, renews, releases and hands over the Lease), the device plugin
 * and kube-scheduler's extender calls.
 *
 * Every loop is bounded in count and time; figures are printed, never
 * asserted. */
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

#include "policy/codec.h"
#include "tests/support/fakeapi.h"
#include "base/clock.h"
#include "tests/support/harness.h"

#define LEASE_NS   "vgpu-system"
#define LEASE_NAME "vgpu-scheduler"
#define LEASE_S    4 /* leaseDurationSeconds of the test's Lease */
#define NODES      8
#define SLOTS      40 /* per GPU */
#define SHAKE      "hami.io/node-handshake"

/* ---- helpers ---- */

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* A node "n<i>" with 4 GPUs "n<i>-g<k>" of SLOTS slots and 24000 MiB. */
static void put_node(struct fakeapi *f, int i)
{
    char reg[4096] = "[", json[8192];
    for (int k = 0; k < 4; k++) {
        size_t l = strlen(reg);
        snprintf(reg + l, sizeof reg - l,
                 "%s{\\\"id\\\":\\\"n%d-g%d\\\",\\\"count\\\":%d,\\\"devmem\\\":24000,"
                 "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-L4\\\",\\\"health\\\":true,"
                 "\\\"index\\\":%d,\\\"numa\\\":0,\\\"mode\\\":\\\"hami-core\\\"}",
                 k ? "," : "", i, k, SLOTS, k);
    }
    strcat(reg, "]");
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"n%d\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"%s\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"nvidia.com/gpu\":\"4\"}}}",
             i, reg);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

/* The Lease as kube-scheduler writes it; holder "" = released. */
static void put_lease(struct fakeapi *f, const char *holder, double renew)
{
    char ts[64], json[1024];
    time_t s = (time_t)renew;
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%06dZ", (int)((renew - (double)s) * 1e6));
    snprintf(json, sizeof json,
             "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{"
             "\"name\":\"" LEASE_NAME "\",\"namespace\":\"" LEASE_NS "\"},\"spec\":{"
             "\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%d,\"acquireTime\":\"%s\","
             "\"renewTime\":\"%s\",\"leaseTransitions\":1}}",
             holder, LEASE_S, ts, ts);
    ck_assert_int_gt(fakeapi_put(f, "leases", json), 0);
}

/* kube-scheduler's leader election, played: the holder renews every
 * 250 ms while alive. */
struct elector {
    struct fakeapi *f;
    pthread_mutex_t lock;
    char holder[64];
    bool alive;
    double renewed; /* wall time of the last renewal */
    atomic_bool stop;
    pthread_t th;
};

static void *elector_run(void *arg)
{
    struct elector *e = arg;
    for (int i = 0; i < 4 * 600 && !atomic_load(&e->stop); i++) { /* bounded: 10 min */
        pthread_mutex_lock(&e->lock);
        if (e->alive) {
            e->renewed = wall();
            put_lease(e->f, e->holder, e->renewed);
        }
        pthread_mutex_unlock(&e->lock);
        nap_ms(250);
    }
    return NULL;
}

static void elector_start(struct elector *e, struct fakeapi *f)
{
    memset(e, 0, sizeof *e);
    e->f = f;
    pthread_mutex_init(&e->lock, NULL);
    pthread_create(&e->th, NULL, elector_run, e);
}

/* holder takes the Lease now and keeps renewing it. */
static void elector_hold(struct elector *e, const char *holder)
{
    pthread_mutex_lock(&e->lock);
    snprintf(e->holder, sizeof e->holder, "%s", holder);
    e->alive = true;
    e->renewed = wall();
    put_lease(e->f, e->holder, e->renewed);
    pthread_mutex_unlock(&e->lock);
}

/* The holder dies (kill -9, a partition): no more renewals. Returns the
 * wall time at which the Lease runs out. */
static double elector_freeze(struct elector *e)
{
    pthread_mutex_lock(&e->lock);
    e->alive = false;
    double end = e->renewed + LEASE_S;
    pthread_mutex_unlock(&e->lock);
    return end;
}

/* The holder stops cleanly: ReleaseOnCancel empties holderIdentity. */
static void elector_release(struct elector *e)
{
    pthread_mutex_lock(&e->lock);
    e->alive = false;
    put_lease(e->f, "", wall());
    pthread_mutex_unlock(&e->lock);
}

static void elector_stop(struct elector *e)
{
    atomic_store(&e->stop, true);
    pthread_join(e->th, NULL);
    pthread_mutex_destroy(&e->lock);
}

struct env {
    struct fakeapi *f;
    char dir[64];
    char kc[2][128];
    struct harness *h[2];
    int port[2];
};

static const char *const who[2] = {"A", "B"};
static const char *const ident[2] = {"vs-a", "vs-b"};

static void env_start(struct env *e)
{
    memset(e, 0, sizeof *e);
    e->f = fakeapi_start();
    ck_assert_ptr_nonnull(e->f);
    snprintf(e->dir, sizeof e->dir, "/tmp/vs-ha-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    for (int i = 0; i < 2; i++) {
        char token[32];
        snprintf(token, sizeof token, "token-%s", who[i]);
        ck_assert_int_eq(fakeapi_add_client(e->f, who[i], token), 0);
        snprintf(e->kc[i], sizeof e->kc[i], "%s/kubeconfig-%s", e->dir, who[i]);
        ck_assert_int_eq(fakeapi_write_kubeconfig_token(e->f, e->kc[i], token), 0);
    }
    for (int i = 0; i < NODES; i++)
        put_node(e->f, i);
}

/* Start replica i (0: A, 1: B) following the Lease. */
static void env_run(struct env *e, int i)
{
    const char *args[] = {"--kubeconfig",
                          e->kc[i],
                          "--kube-qps",
                          "5000",
                          "--kube-burst",
                          "5000",
                          "--leader-elect-lease",
                          LEASE_NS "/" LEASE_NAME,
                          "--leader-identity",
                          ident[i],
                          NULL};
    e->h[i] = harness_start(args);
    ck_assert_ptr_nonnull(e->h[i]);
    e->port[i] = harness_port(e->h[i]);
    ck_assert_msg(harness_wait_ready(e->port[i], 15000), "%s not ready after 15 s", who[i]);
}

static void env_stop(struct env *e)
{
    for (int i = 0; i < 2; i++) {
        harness_dump(e->h[i]);
        if (e->h[i])
            ck_assert_msg(harness_stop(e->h[i], SIGTERM, 10000) == 0, "%s: no clean exit", who[i]);
        harness_free(e->h[i]);
        unlink(e->kc[i]);
    }
    fakeapi_stop(e->f);
    rmdir(e->dir);
}

/* The value of a metric line "<name> <v>" on port's /metrics; -1: none. */
static long metric(int port, const char *name)
{
    struct harness_reply r;
    char key[160];
    if (harness_get(port, "/metrics", &r) != 0 || r.status != 200) {
        harness_reply_free(&r);
        return -1;
    }
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(buf_str(&r.body), key);
    long v = p ? atol(p + strlen(key)) : -1;
    harness_reply_free(&r);
    return v;
}

/* Poll (bounded) until replica i's vgpu_scheduler_leader is want. */
static bool wait_leader(struct env *e, int i, long want, int ms)
{
    for (double end = clock_mono_s() + ms / 1000.0; clock_mono_s() < end; nap_ms(50))
        if (metric(e->port[i], "vgpu_scheduler_leader") == want)
            return true;
    return false;
}

/* Handshake patches each replica made, from the fake's log: lines
 * "<who>:PATCH /api/v1/nodes/<n> 200 ...node-handshake...". */
static void shakes(struct fakeapi *f, long out[2])
{
    char *log = fakeapi_log(f), *save = NULL;
    out[0] = out[1] = 0;
    for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        for (int i = 0; i < 2; i++) {
            char pre[32];
            snprintf(pre, sizeof pre, "%s:PATCH /api/v1/nodes/", who[i]);
            if (strncmp(l, pre, strlen(pre)) == 0 && strstr(l, " 200 ") && strstr(l, SHAKE))
                out[i]++;
        }
    free(log);
}

/* The device plugin's side of the handshake on every node: Reported_. */
static void report_all(struct fakeapi *f)
{
    for (int i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        ck_assert_int_eq(fakeapi_patch(f, "nodes", NULL, name,
                                       "{\"metadata\":{\"annotations\":{\"" SHAKE
                                       "\":\"Reported_2026-12-04 10:00:00\"}}}"),
                         200);
    }
}

/* Nodes whose handshake is not (yet) a request. */
static int unanswered(struct fakeapi *f)
{
    int k = 0;
    for (int i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        cJSON *n = fakeapi_get(f, "nodes", NULL, name);
        const char *v = harness_annotation(n, SHAKE);
        k += !(v && strstr(v, "Requesting"));
        cJSON_Delete(n);
    }
    return k;
}

static bool wait_answered(struct fakeapi *f, int ms)
{
    for (double end = clock_mono_s() + ms / 1000.0; clock_mono_s() < end; nap_ms(20))
        if (unanswered(f) == 0)
            return true;
    return false;
}

/* ---- extender calls, as kube-scheduler makes them ---- */

static cJSON *post(int port, const char *path, const char *body)
{
    struct harness_reply r;
    int rc = harness_post(port, path, body, strlen(body), &r);
    cJSON *j = rc == 0 && r.status == 200 ? cJSON_Parse(buf_str(&r.body)) : NULL;
    harness_reply_free(&r);
    return j;
}

/* Filter pod on every node through port: 1 and the node, 0 and the reason
 * in why, -1 on a transport error. */
static int do_filter(struct fakeapi *f, int port, const char *pod, char *node, size_t ncap,
                     char *why, size_t wcap)
{
    cJSON *p = fakeapi_get(f, "pods", "default", pod), *a = cJSON_CreateObject();
    ck_assert_ptr_nonnull(p);
    cJSON_AddItemToObject(a, "Pod", p);
    cJSON *arr = cJSON_AddArrayToObject(a, "NodeNames");
    for (int i = 0; i < NODES; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        cJSON_AddItemToArray(arr, cJSON_CreateString(name));
    }
    char *body = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    cJSON *j = post(port, "/filter", body);
    free(body);
    node[0] = why[0] = '\0';
    if (!j)
        return -1;
    const cJSON *nn = cJSON_GetObjectItem(j, "NodeNames");
    int ok = cJSON_GetArraySize(nn) > 0;
    if (ok) {
        snprintf(node, ncap, "%s", cJSON_GetArrayItem(nn, 0)->valuestring);
    } else {
        char *t = cJSON_PrintUnformatted(j);
        snprintf(why, wcap, "%s", t);
        free(t);
    }
    cJSON_Delete(j);
    return ok;
}

/* Bind: 1 bound, 0 refused (err), -1 transport error. */
static int do_bind(struct fakeapi *f, int port, const char *pod, const char *node, char *err,
                   size_t cap)
{
    cJSON *p = fakeapi_get(f, "pods", "default", pod);
    char body[1024];
    snprintf(body, sizeof body,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"default\",\"PodUID\":\"%s\","
             "\"Node\":\"%s\"}",
             pod, harness_meta(p, "uid"), node);
    cJSON_Delete(p);
    cJSON *j = post(port, "/bind", body);
    if (!j)
        return -1;
    const char *er = cJSON_GetStringValue(cJSON_GetObjectItem(j, "Error"));
    snprintf(err, cap, "%s", er ? er : "no Error key");
    cJSON_Delete(j);
    return err[0] == '\0';
}

/* Filter pod through port, and bind it there when bind, as kube-scheduler
 * does, retrying a refusal that is only a lock not yet released: HAMi's
 * device plugin (played here) releases a node's lock once the pod bound
 * there is allocated (bounded: 5 s). 1 passed (and bound), the node in
 * node; 0 refused with the reason in why; -1 transport error. */
static int place(struct fakeapi *f, int port, const char *pod, bool bind, char *node, size_t ncap,
                 char *why, size_t cap)
{
    for (int i = 0; i < 250; i++) {
        int rc = do_filter(f, port, pod, node, ncap, why, cap);
        if (rc < 0 || (rc == 1 && !bind))
            return rc;
        if (rc == 1) {
            rc = do_bind(f, port, pod, node, why, cap);
            if (rc != 0)
                return rc;
        }
        if (!strstr(why, "ock")) /* NodeLocked, "lock" in a bind's error */
            return 0;
        fakeapi_play_device_plugin(f);
        nap_ms(20);
    }
    return 0;
}

static int schedule(struct fakeapi *f, int port, const char *pod, char *why, size_t cap)
{
    char node[64];
    return place(f, port, pod, true, node, sizeof node, why, cap);
}

/* ---- usage: no GPU share counted twice ---- */

/* Per GPU "n<i>-g<k>": MiB and slots used by every non-terminal pod with
 * hami.io/vgpu-node (hami-protocol.md 3.1), from the API. */
static void usage_api(struct fakeapi *f, long mem[NODES][4], long slots[NODES][4])
{
    cJSON *pods = fakeapi_list(f, "pods"), *p;
    struct codec_devices *d = malloc(sizeof *d);
    char err[256];
    memset(mem, 0, sizeof(long) * NODES * 4);
    memset(slots, 0, sizeof(long) * NODES * 4);
    cJSON_ArrayForEach(p, pods)
    {
        const char *dev = harness_annotation(p, "hami.io/vgpu-devices-allocated");
        if (!harness_annotation(p, "hami.io/vgpu-node") || !dev)
            continue;
        ck_assert_int_eq(codec_decode(dev, d, err, sizeof err), 0);
        for (int i = 0; i < d->n; i++) {
            int n, g;
            ck_assert_int_eq(sscanf(d->e[i].uuid, "n%d-g%d", &n, &g), 2);
            mem[n][g] += (long)d->e[i].mem;
            slots[n][g]++;
        }
    }
    free(d);
    cJSON_Delete(pods);
}

/* GPUs whose use differs between the API and port's /inspect, or is over
 * capacity; the first in why. */
static int usage_wrong(struct fakeapi *f, int port, char *why, size_t cap)
{
    long mem[NODES][4], slots[NODES][4];
    int bad = 0;
    usage_api(f, mem, slots);
    cJSON *ins = harness_get_json(port, "/inspect"), *n, *g;
    ck_assert_ptr_nonnull(ins);
    why[0] = '\0';
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
        {
            int ni, gi;
            const char *uuid = cJSON_GetObjectItem(g, "uuid")->valuestring;
            ck_assert_int_eq(sscanf(uuid, "n%d-g%d", &ni, &gi), 2);
            long m = (long)cJSON_GetObjectItem(g, "memUsedMiB")->valuedouble;
            long s = cJSON_GetObjectItem(g, "slotsUsed")->valueint;
            if (m != mem[ni][gi] || s != slots[ni][gi] || m > 24000 || s > SLOTS ||
                mem[ni][gi] > 24000 || slots[ni][gi] > SLOTS) {
                if (!bad++)
                    snprintf(why, cap, "%s: inspect %ld MiB %ld slots, API %ld MiB %ld slots", uuid,
                             m, s, mem[ni][gi], slots[ni][gi]);
            }
        }
    }
    cJSON_Delete(ins);
    return bad;
}

static int wait_usage_right(struct fakeapi *f, int port, int ms, char *why, size_t cap)
{
    int bad = -1;
    for (double end = clock_mono_s() + ms / 1000.0; bad != 0 && clock_mono_s() < end; nap_ms(50))
        bad = usage_wrong(f, port, why, cap);
    return bad;
}

static int wait_no_locks(struct fakeapi *f, int ms, char *which, size_t cap)
{
    int n = harness_locks_left(f, which, cap);
    for (double end = clock_mono_s() + ms / 1000.0; n && clock_mono_s() < end; nap_ms(20)) {
        fakeapi_play_device_plugin(f);
        n = harness_locks_left(f, which, cap);
    }
    return n;
}

/* A pod whose placement the watch refuses to trust: the watch warns about
 * it with a GPUAllocationNotTrusted event, an event nobody asked for. */
static void put_garbled(struct fakeapi *f)
{
    ck_assert_int_gt(
        fakeapi_put(f, "pods",
                    "{\"metadata\":{\"name\":\"garbled\",\"namespace\":\"default\","
                    "\"annotations\":{\"hami.io/vgpu-node\":\"n3\","
                    "\"hami.io/vgpu-devices-allocated\":\"garbage\"}},\"spec\":{\"nodeName\":"
                    "\"n3\",\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
                    "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]},"
                    "\"status\":{\"phase\":\"Running\"}}"),
        0);
}

static int warnings(struct fakeapi *f)
{
    cJSON *evs = fakeapi_events(f), *e;
    int k = 0;
    cJSON_ArrayForEach(e, evs)
    {
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason"));
        k += r && strcmp(r, "GPUAllocationNotTrusted") == 0;
    }
    cJSON_Delete(evs);
    return k;
}

/* ---- one Lease, two replicas: only its holder writes ---- */

START_TEST(ha_one_writer)
{
    struct env e;
    struct elector el;
    long n[2], before[2];
    char why[2048];
    env_start(&e);
    put_garbled(e.f);
    elector_start(&el, e.f);
    elector_hold(&el, "vs-a_0b6e5d2c"); /* kube-scheduler's <hostname>_<uuid> */
    env_run(&e, 0);
    env_run(&e, 1);
    ck_assert(wait_leader(&e, 0, 1, 5000));
    ck_assert_int_eq(metric(e.port[1], "vgpu_scheduler_leader"), 0);

    /* The first handshakes, then three rounds of the device plugin's. */
    ck_assert_msg(wait_answered(e.f, 5000), "no handshake requests");
    for (int r = 0; r < 3; r++) {
        report_all(e.f);
        ck_assert_msg(wait_answered(e.f, 5000), "round %d unanswered", r);
    }
    /* The standby answers verbs (a bind is the answer to a call). */
    harness_put_gpu_pod(e.f, "p1", 2000, 10);
    ck_assert_msg(schedule(e.f, e.port[1], "p1", why, sizeof why) == 1, "p1 via B: %s", why);
    nap_ms(500);
    shakes(e.f, n);
    ck_assert_msg(n[0] == NODES * 4 && n[1] == 0, "handshakes A %ld B %ld, want %d and 0", n[0],
                  n[1], NODES * 4);
    /* The watch's warning about the garbled pod: once, from the leader. */
    for (int i = 0; i < 100 && warnings(e.f) < 1; i++)
        nap_ms(20);
    ck_assert_int_eq(warnings(e.f), 1);
    cJSON *ins = harness_get_json(e.port[1], "/inspect");
    const cJSON *ld = cJSON_GetObjectItem(ins, "leadership");
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(ld, "leading")));
    ck_assert_str_eq(cJSON_GetObjectItem(ld, "holder")->valuestring, "vs-a_0b6e5d2c");
    ck_assert_str_eq(cJSON_GetObjectItem(ld, "identity")->valuestring, "vs-b");
    cJSON_Delete(ins);
    /* The webhook does not depend on leadership: the same answers. */
    const char *const reviews[] = {"v1-gpu-mem", "v1-forged-create", "v1-no-gpu-env-all"};
    for (size_t k = 0; k < sizeof reviews / sizeof reviews[0]; k++) {
        char rel[128];
        struct harness_reply r[2];
        snprintf(rel, sizeof rel, "webhook/%s.json", reviews[k]);
        char *body = harness_slurp(rel);
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(harness_post(e.port[i], "/webhook", body, strlen(body), &r[i]), 0);
        ck_assert_msg(r[0].status == 200 && r[1].status == 200, "%s: %ld %ld", reviews[k],
                      r[0].status, r[1].status);
        ck_assert_str_eq(buf_str(&r[0].body), buf_str(&r[1].body));
        free(body);
        harness_reply_free(&r[0]);
        harness_reply_free(&r[1]);
    }

    /* Hand over to B: B writes, A stops; B's jobs queued while it stood by
     * were answered by A already and are not written twice. */
    elector_hold(&el, "vs-b_77f1");
    ck_assert(wait_leader(&e, 1, 1, 5000));
    ck_assert(wait_leader(&e, 0, 0, 5000));
    nap_ms(500);
    shakes(e.f, before);
    ck_assert_msg(before[0] == NODES * 4 && before[1] == 0, "after the handover: A %ld B %ld",
                  before[0], before[1]);
    for (int r = 0; r < 3; r++) {
        report_all(e.f);
        ck_assert_msg(wait_answered(e.f, 5000), "round %d unanswered by B", r);
    }
    nap_ms(500);
    shakes(e.f, n);
    ck_assert_msg(n[0] == NODES * 4 && n[1] == NODES * 3, "A %ld B %ld, want %d and %d", n[0], n[1],
                  NODES * 4, NODES * 3);
    ck_assert_int_eq(metric(e.port[0], "vgpu_scheduler_leader_transitions_total"), 2);
    ck_assert_int_eq(metric(e.port[1], "vgpu_scheduler_leader_transitions_total"), 1);
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

/* ---- a Lease nobody here holds, or that cannot be read: no writer ---- */

START_TEST(ha_bad_lease)
{
    struct env e;
    struct elector el;
    long n[2];
    env_start(&e);
    put_garbled(e.f);
    /* malformed: a renewTime that is no time */
    ck_assert_int_gt(fakeapi_put(e.f, "leases",
                                 "{\"metadata\":{\"name\":\"" LEASE_NAME
                                 "\",\"namespace\":\"" LEASE_NS "\"},\"spec\":{"
                                 "\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":15,"
                                 "\"renewTime\":\"soon\"}}"),
                     0);
    env_run(&e, 0);
    env_run(&e, 1);
    char key[128];
    snprintf(key, sizeof key, "vgpu_scheduler_errors_total{reason=\"lease_malformed\"}");
    for (int i = 0; i < 100 && metric(e.port[0], key) < 1; i++)
        nap_ms(20);
    ck_assert_int_ge(metric(e.port[0], key), 1);
    ck_assert_int_ge(metric(e.port[1], key), 1);
    nap_ms(1500);
    shakes(e.f, n);
    ck_assert_msg(n[0] == 0 && n[1] == 0, "malformed Lease: A %ld B %ld handshakes", n[0], n[1]);
    ck_assert_int_eq(metric(e.port[0], "vgpu_scheduler_leader"), 0);
    ck_assert_int_eq(metric(e.port[1], "vgpu_scheduler_leader"), 0);

    /* held by an identity neither has (a prefix of A's without the _) */
    elector_start(&el, e.f);
    elector_hold(&el, "vs-ab_1");
    nap_ms(2500);
    shakes(e.f, n);
    ck_assert_msg(n[0] == 0 && n[1] == 0, "unknown holder: A %ld B %ld handshakes", n[0], n[1]);
    ck_assert_int_eq(warnings(e.f), 0);

    /* a Lease that is gone: still nobody */
    elector_stop(&el);
    ck_assert_int_eq(fakeapi_delete(e.f, "leases", LEASE_NS, LEASE_NAME), 0);
    nap_ms(1500);
    shakes(e.f, n);
    ck_assert_msg(n[0] == 0 && n[1] == 0, "no Lease: A %ld B %ld handshakes", n[0], n[1]);

    /* The control: the writes were waiting; A's Lease lets them happen. */
    elector_start(&el, e.f);
    elector_hold(&el, "vs-a");
    ck_assert_msg(wait_answered(e.f, 5000), "A did not write when it got the Lease");
    shakes(e.f, n);
    ck_assert_msg(n[0] == NODES && n[1] == 0, "A %ld B %ld", n[0], n[1]);
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

/* Start the elector holding the Lease for `holder` (A's), then both
 * replicas; A leads and has asked the nodes' handshakes. */
static void run_a_leading(struct env *e, struct elector *el, const char *holder)
{
    elector_start(el, e->f);
    elector_hold(el, holder);
    env_run(e, 0);
    env_run(e, 1);
    ck_assert(wait_leader(e, 0, 1, 5000));
    ck_assert_msg(wait_answered(e->f, 5000), "no handshake requests");
}

/* ---- SIGTERM of the leader: kube-scheduler releases, B takes over ---- */

START_TEST(ha_sigterm)
{
    struct env e;
    struct elector el;
    char why[2048];
    long n[2];
    env_start(&e);
    run_a_leading(&e, &el, "vs-a_1");
    harness_put_gpu_pod(e.f, "p1", 2000, 10);
    ck_assert_msg(schedule(e.f, e.port[0], "p1", why, sizeof why) == 1, "p1 via A: %s", why);

    ck_assert_int_eq(harness_stop(e.h[0], SIGTERM, 10000), 0);
    double t0 = clock_mono_s();
    elector_release(&el);        /* A's kube-scheduler releases on its way out */
    elector_hold(&el, "vs-b_2"); /* B's acquires at its next try */
    harness_put_gpu_pod(e.f, "p2", 2000, 10);
    ck_assert_msg(schedule(e.f, e.port[1], "p2", why, sizeof why) == 1, "p2 via B: %s", why);
    double bound = clock_mono_s() - t0;
    ck_assert(wait_leader(&e, 1, 1, 5000));
    double leading = clock_mono_s() - t0;
    report_all(e.f);
    ck_assert_msg(wait_answered(e.f, 5000), "B does not write");
    shakes(e.f, n);
    ck_assert_int_eq(n[1], NODES);
    printf("ha_sigterm: release -> bind via B %.3f s, -> B leading %.3f s\n", bound, leading);
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

/* ---- the standby learns what the leader binds ---- */

/* A binds 20 pods of two shapes; B is never asked about them but counts
 * them as its watch sees them bound, so its first filter (one new pod of
 * one of those shapes) publishes a workload of both: it would take over
 * warm. Without that, one pod alone publishes nothing (0 shapes). */
START_TEST(ha_standby_learns)
{
    struct env e;
    struct elector el;
    char why[2048], name[16], node[64];
    env_start(&e);
    run_a_leading(&e, &el, "vs-a_1");
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "p%d", i);
        harness_put_gpu_pod(e.f, name, 1000 * (1 + i % 2), 10);
        ck_assert_msg(schedule(e.f, e.port[0], name, why, sizeof why) == 1, "%s via A: %s", name,
                      why);
    }
    ck_assert_msg(wait_usage_right(e.f, e.port[1], 5000, why, sizeof why) == 0, "B: %s", why);
    ck_assert_int_eq(metric(e.port[1], "vgpu_scheduler_workload_shapes"), 0);
    /* published nothing, yet B's /workload holds the two shapes its watch counted */
    cJSON *wl = harness_get_json(e.port[1], "/workload");
    ck_assert_int_eq(cJSON_GetArraySize(wl), 2);
    cJSON_Delete(wl);
    harness_put_gpu_pod(e.f, "new", 1000, 10);
    /* A's last binds (up to one per node) still hold their node locks */
    ck_assert_msg(place(e.f, e.port[1], "new", false, node, sizeof node, why, sizeof why) == 1,
                  "new via B: %s", why);
    ck_assert_int_eq(metric(e.port[1], "vgpu_scheduler_workload_shapes"), 2);
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

/* ---- kill -9 of the leader mid-run; its Lease runs out; B takes over ---- */

#define RUN_PODS 500

/* A bind the old leader left half-done on node: the lock taken, the pod's
 * annotations written, no binding (k8s/bind.c's order). */
static void half_done(struct fakeapi *f, const char *pod, const char *node)
{
    char lock[128], patch[1024], ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(lock, sizeof lock, "%s,default,%s", ts, pod);
    snprintf(patch, sizeof patch,
             "{\"metadata\":{\"annotations\":{\"hami.io/mutex.lock\":\"%s\"}}}", lock);
    ck_assert_int_eq(fakeapi_patch(f, "nodes", NULL, node, patch), 200);
    snprintf(patch, sizeof patch,
             "{\"metadata\":{\"labels\":{\"hami.io/vgpu-node\":\"%s\"},\"annotations\":{"
             "\"hami.io/vgpu-node\":\"%s\",\"hami.io/bind-phase\":\"allocating\","
             "\"hami.io/bind-time\":\"%lld\",\"hami.io/vgpu-devices-allocated\":"
             "\"%s-g0,NVIDIA,3000,10:;\",\"hami.io/vgpu-devices-to-allocate\":"
             "\"%s-g0,NVIDIA,3000,10:;\"}}}",
             node, node, (long long)now, node, node);
    ck_assert_int_eq(fakeapi_patch(f, "pods", "default", pod, patch), 200);
}

START_TEST(ha_kill9)
{
    struct env e;
    struct elector el;
    char why[2048], name[32], node[64], which[256];
    int bound = 0, refused = 0, port = 0;
    unsigned seed = (unsigned)(_i + 1) * 2654435761u;
    int kill_at = 20 + (int)(seed % (RUN_PODS - 40));
    double t_kill = 0, first_bind = -1;
    env_start(&e);
    for (int i = 0; i < RUN_PODS; i++) {
        snprintf(name, sizeof name, "p%03d", i);
        harness_put_gpu_pod(e.f, name, 500 + (int)((seed >> (i % 16)) % 3) * 500, 1 + (i % 5));
    }
    harness_put_gpu_pod(e.f, "half", 3000, 10);
    elector_start(&el, e.f);
    elector_hold(&el, "vs-a_9");
    env_run(&e, 0);
    env_run(&e, 1);
    ck_assert(wait_leader(&e, 0, 1, 5000));
    port = e.port[0];
    for (int i = 0; i < RUN_PODS; i++) {
        if (i == kill_at) {
            /* A was binding "half" when it died. */
            ck_assert_int_eq(do_filter(e.f, port, "half", node, sizeof node, why, sizeof why), 1);
            half_done(e.f, "half", node);
            ck_assert_int_eq(harness_stop(e.h[0], SIGKILL, 5000), 128 + SIGKILL);
            t_kill = clock_mono_s();
            double end = elector_freeze(&el);
            /* kube-scheduler B takes the Lease once it ran out. */
            for (int k = 0; k < 400 && wall() < end; k++)
                nap_ms(25);
            elector_hold(&el, "vs-b_9");
            port = e.port[1];
            /* kube-scheduler retries the pod it could not bind. */
            ck_assert_msg(schedule(e.f, port, "half", why, sizeof why) == 1, "half: %s", why);
            first_bind = clock_mono_s() - t_kill;
        }
        snprintf(name, sizeof name, "p%03d", i);
        int rc = schedule(e.f, port, name, why, sizeof why);
        ck_assert_msg(rc >= 0, "%s: transport error", name);
        if (rc == 1) {
            bound++;
        } else {
            ck_assert_msg(why[0], "%s refused without a reason", name);
            refused++;
        }
        fakeapi_play_device_plugin(e.f);
    }
    ck_assert_int_eq(bound + refused, RUN_PODS);
    ck_assert_msg(wait_no_locks(e.f, 10000, which, sizeof which) == 0, "stale lock %s", which);
    ck_assert_msg(wait_usage_right(e.f, e.port[1], 5000, why, sizeof why) == 0, "%s", why);
    ck_assert(wait_leader(&e, 1, 1, 5000));
    long n[2];
    shakes(e.f, n);
    ck_assert_msg(n[0] == NODES && n[1] == 0, "handshakes A %ld B %ld", n[0], n[1]);
    cJSON *half = fakeapi_get(e.f, "pods", "default", "half");
    const char *at =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(half, "spec"), "nodeName"));
    ck_assert_msg(at && *at, "half is not bound");
    cJSON_Delete(half);
    printf("ha_kill9 seed %u: killed at pod %d; kill -> first bind via B %.3f s (Lease %d s); "
           "%d bound, %d refused\n",
           seed, kill_at, first_bind, LEASE_S, bound, refused);
    harness_free(e.h[0]); /* killed */
    e.h[0] = NULL;
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

/* ---- a partition: A loses the Lease's reads; it stops before B starts ---- */

struct reporter {
    struct fakeapi *f;
    atomic_bool stop;
    pthread_t th;
};

static void *reporter_run(void *arg)
{
    struct reporter *r = arg;
    for (int i = 0; i < 3000 && !atomic_load(&r->stop); i++) { /* bounded: 10 min */
        char name[16];
        snprintf(name, sizeof name, "n%d", i % NODES);
        fakeapi_patch(r->f, "nodes", NULL, name,
                      "{\"metadata\":{\"annotations\":{\"" SHAKE
                      "\":\"Reported_2026-12-04 10:00:00\"}}}");
        nap_ms(50);
    }
    return NULL;
}

START_TEST(ha_partition)
{
    struct env e;
    struct elector el;
    struct reporter rep = {0};
    env_start(&e);
    run_a_leading(&e, &el, "vs-a_5");
    rep.f = e.f;
    pthread_create(&rep.th, NULL, reporter_run, &rep);
    nap_ms(500);

    /* A (and its kube-scheduler) can no longer read or renew the Lease;
     * A's node writes still reach the server, so a late one would show. */
    fakeapi_cut_client(e.f, "A", "/leases/");
    double end = elector_freeze(&el);
    for (int k = 0; k < 400 && wall() < end; k++)
        nap_ms(25);
    char *log = fakeapi_log(e.f);
    size_t expired_at = strlen(log); /* the log up to the Lease running out */
    free(log);
    elector_hold(&el, "vs-b_5");
    ck_assert(wait_leader(&e, 1, 1, 5000));
    nap_ms(1000);
    atomic_store(&rep.stop, true);
    pthread_join(rep.th, NULL);

    /* From the request log: A wrote nothing after its Lease ran out, and
     * nothing after B's first write; B did write. */
    log = fakeapi_log(e.f);
    const char *b_first = strstr(log, "B:PATCH /api/v1/nodes/");
    ck_assert_msg(b_first, "B never wrote");
    const char *a_late = strstr(log + expired_at, "A:PATCH /api/v1/nodes/");
    ck_assert_msg(!a_late, "A wrote after its Lease ran out: %.200s", a_late);
    ck_assert_msg((size_t)(b_first - log) >= expired_at, "B wrote before the Lease ran out");
    ck_assert_int_eq(metric(e.port[0], "vgpu_scheduler_leader"), 0);
    ck_assert_int_ge(metric(e.port[0], "vgpu_scheduler_errors_total{reason=\"lease_read_failed\"}"),
                     1);
    free(log);
    elector_stop(&el);
    env_stop(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ha");
    TCase *tc = tcase_create("ha");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ha_one_writer);
    tcase_add_test(tc, ha_bad_lease);
    tcase_add_test(tc, ha_sigterm);
    tcase_add_test(tc, ha_standby_learns);
    tcase_add_loop_test(tc, ha_kill9, 0, 3);
    tcase_add_test(tc, ha_partition);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

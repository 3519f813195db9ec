/* Issue 18's scenario against the fake API server, through the real
 * binary: notebooks of priority 0 in namespace team-a fill a pool of two
 * nodes (two 40000 MiB GPUs each, two notebooks per GPU), then inference
 * pods of priority 1000 in namespace prod asking a whole GPU arrive one by
 * one. Each is refused by filter, /preempt
 * answers the fewest notebooks per node (the two of one GPU; one notebook
 * is covered by a PodDisruptionBudget allowing nothing, watched live),
 * kube-scheduler's part is played here (delete the victims, set
 * status.nominatedNodeName), the freed GPU is held for the nominee (a
 * notebook offered only that node is refused), then the inference pod is
 * placed there and bound. At every step no GPU holds more than its
 * capacity (pods placed, holds aside); at the end no reservation or hold is
 * left and no node lock.
 *
 * Both namespaces have ResourceQuotas (limits.nvidia.com/gpumem and
 * gpucores), served and changed through the fake API server. At every step
 * the test sums what each namespace's bound pods hold, from the pods the
 * fake API server holds, and checks it against the quota and against
 * /inspect's quotas (whose used counts the scheduler's reservations and
 * holds too). team-a's quota first leaves room for seven notebooks: the
 * eighth is refused by the quota (ResourceQuotaNotFit with what is left)
 * while a GPU still has room, and placed once the quota is raised. prod's
 * quota covers three inference pods: the fourth is refused by the quota, and
 * /preempt answers no node for it (evicting team-a's notebooks would free a
 * GPU but not prod's quota), and holds nothing. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

#define GPU_MEM 40000
#define NODES   2
#define GPUS    2
#define ROUNDS  3

static const char *const pool[NODES] = {"pool-1", "pool-2"};

/* The namespaces' quotas as last put (MiB, % of a card). */
static struct {
    const char *ns;
    long mem, cores;
} quotas[] = {{"team-a", 0, 0}, {"prod", 0, 0}};
#define NQUOTAS (int)(sizeof quotas / sizeof quotas[0])

struct env {
    struct fakeapi *f;
    struct harness *h;
    char dir[64], kubeconfig[128];
    int port;
};

static void put_node(struct fakeapi *f, const char *name)
{
    char reg[4096] = "[", json[8192];
    for (int i = 0; i < GPUS; i++)
        snprintf(reg + strlen(reg), sizeof reg - strlen(reg),
                 "%s{\\\"id\\\":\\\"%s-g%d\\\",\\\"count\\\":10,\\\"devmem\\\":%d,"
                 "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-L4\\\",\\\"health\\\":true,"
                 "\\\"index\\\":%d,\\\"numa\\\":0,\\\"mode\\\":\\\"hami-core\\\"}",
                 i ? "," : "", name, i, GPU_MEM, i);
    strcat(reg, "]");
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"%s\"}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"nvidia.com/gpu\":\"%d\"}}}",
             name, reg, GPUS * 10);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

/* A pending pod of one GPU with pct % of its memory and cores. */
static void put_pod(struct fakeapi *f, const char *ns, const char *name, int prio, int pct,
                    const char *labels)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"%s\",\"uid\":\"uid-%s\",\"labels\":{%s}},\"spec\":{"
             "\"schedulerName\":\"vgpu-scheduler\",\"priority\":%d,\"containers\":[{\"name\":"
             "\"main\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"1\","
             "\"nvidia.com/gpumem\":\"%d\",\"nvidia.com/gpucores\":\"%d\"}}}]},"
             "\"status\":{\"phase\":\"Pending\"}}",
             name, ns, name, labels, prio, GPU_MEM * pct / 100, pct);
    ck_assert_int_gt(fakeapi_put(f, "pods", json), 0);
}

/* POST body to path; the answer's JSON (caller frees). */
static cJSON *post(struct env *e, const char *path, const char *body)
{
    struct harness_reply r;
    if (harness_post(e->port, path, body, strlen(body), &r) != 0)
        harness_dump(e->h); /* with VS_TEST_VERBOSE: what it printed */
    ck_assert_msg(r.status != 0, "POST %s: %s", path, r.error);
    ck_assert_int_eq(r.status, 200);
    cJSON *j = cJSON_Parse(r.body.data ? r.body.data : "");
    harness_reply_free(&r);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* The body of an extender verb for pod ns/name (as the fake holds it):
 * {"Pod": ..., key: more}. Caller frees. */
static char *args_for(struct env *e, const char *ns, const char *name, const char *key, cJSON *more)
{
    cJSON *a = cJSON_CreateObject();
    cJSON *p = fakeapi_get(e->f, "pods", ns, name);
    ck_assert_ptr_nonnull(p);
    cJSON_AddItemToObject(a, "Pod", p);
    cJSON_AddItemToObject(a, key, more);
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

static char last_failed[2048]; /* the last filter's FailedNodes */

/* Filter pod ns/name over nodes[0..n); the chosen node into out ("" none).
 * A node still locked by the last bind (until the watch brings the device
 * plugin's release) is waited for, a bounded while. */
static void filter(struct env *e, const char *ns, const char *name, const char *const *nodes, int n,
                   char *out, size_t cap)
{
    cJSON *names = cJSON_CreateStringArray(nodes, n);
    char *body = args_for(e, ns, name, "NodeNames", names);
    for (int tries = 0; tries < 250; tries++) {
        cJSON *ans = post(e, "/filter", body);
        const cJSON *got = cJSON_GetArrayItem(cJSON_GetObjectItem(ans, "NodeNames"), 0);
        char *failed = cJSON_PrintUnformatted(ans);
        bool locked = failed && strstr(failed, "NodeLocked");
        snprintf(last_failed, sizeof last_failed, "%s", failed ? failed : "");
        snprintf(out, cap, "%s", got ? cJSON_GetStringValue(got) : "");
        free(failed);
        cJSON_Delete(ans);
        if (out[0] || !locked)
            break;
        usleep(20 * 1000);
    }
    free(body);
}

static void bind(struct env *e, const char *ns, const char *name, const char *node)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"PodName\":\"%s\",\"PodNamespace\":\"%s\",\"PodUID\":\"uid-%s\",\"Node\":\"%s\"}",
             name, ns, name, node);
    cJSON *ans = post(e, "/bind", body);
    const char *err = cJSON_GetStringValue(cJSON_GetObjectItem(ans, "Error"));
    ck_assert_msg(err && !*err, "bind %s/%s to %s: %s", ns, name, node, err ? err : "?");
    cJSON_Delete(ans);
    fakeapi_play_device_plugin(e->f);
}

/* Place a pending pod through filter and bind on any pool node. */
static void place(struct env *e, const char *ns, const char *name, char *node, size_t cap)
{
    filter(e, ns, name, pool, NODES, node, cap);
    ck_assert_msg(node[0], "%s/%s placed nowhere: %s", ns, name, last_failed);
    bind(e, ns, name, node);
}

/* The pod with uid in /inspect: its state ("running", "reserved", ...)
 * into state, "" when absent. */
static void pod_state(const cJSON *ins, const char *uid, char *state, size_t cap)
{
    const cJSON *n, *g, *p;
    state[0] = '\0';
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "uid")), uid) == 0)
            snprintf(state, cap, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(p, "state")));
    }
}

/* Put namespace quotas[i]'s ResourceQuota with these limits. */
static void put_quota(struct env *e, int i, long mem, long cores)
{
    char json[1024];
    quotas[i].mem = mem;
    quotas[i].cores = cores;
    snprintf(json, sizeof json,
             "{\"kind\":\"ResourceQuota\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":"
             "\"gpu\",\"namespace\":\"%s\"},\"spec\":{\"hard\":{\"limits.nvidia.com/gpumem\":"
             "\"%ld\",\"limits.nvidia.com/gpucores\":\"%ld\",\"pods\":\"100\"}}}",
             quotas[i].ns, mem, cores);
    ck_assert_int_gt(fakeapi_put(e->f, "resourcequotas", json), 0);
}

/* A whole-number resource of a container's limits ("20000"); 0 absent. */
static long limit_of(const cJSON *ctr, const char *res)
{
    const cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(ctr, "resources"), "limits");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(l, res));
    return v ? atol(v) : 0;
}

/* What namespace ns holds, counted independently of the scheduler: every
 * pod the fake API server holds bound to a node (spec.nodeName), GPUs x
 * memory and GPUs x cores of each container. */
static void held_by_api(struct env *e, const char *ns, long *mem, long *cores)
{
    cJSON *pods = fakeapi_list(e->f, "pods"), *p, *c;
    *mem = *cores = 0;
    cJSON_ArrayForEach(p, pods)
    {
        const char *pns = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(p, "metadata"), "namespace"));
        const cJSON *spec = cJSON_GetObjectItem(p, "spec");
        const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "nodeName"));
        if (!pns || strcmp(pns, ns) != 0 || !node || !*node)
            continue;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(spec, "containers"))
        {
            long n = limit_of(c, "nvidia.com/gpu");
            *mem += n * limit_of(c, "nvidia.com/gpumem");
            *cores += n * limit_of(c, "nvidia.com/gpucores");
        }
    }
    cJSON_Delete(pods);
}

/* /inspect's row of namespace ns and resource: used, limit (-1: none or
 * absent). */
static void inspect_quota(const cJSON *ins, const char *ns, const char *res, long *used,
                          long *limit)
{
    const cJSON *q, *r;
    *used = 0;
    *limit = -1;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(ins, "quotas"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(q, "namespace")), ns) != 0)
            continue;
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(q, "resources"))
        {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "resource")), res) != 0)
                continue;
            const cJSON *l = cJSON_GetObjectItem(r, "limit");
            *used = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "used"));
            *limit = cJSON_IsNumber(l) ? (long)cJSON_GetNumberValue(l) : -1;
        }
    }
}

/* What the scheduler's reservations and holds of namespace ns take in
 * /inspect (they count against the quota, not yet in the API). */
static void reserved_in(const cJSON *ins, const char *ns, long *mem, long *cores)
{
    const cJSON *n, *g, *p;
    *mem = *cores = 0;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
            cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "state")), "reserved") != 0 ||
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "namespace")), ns) != 0)
            continue;
        *mem += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "memMiB"));
        *cores += (long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "cores"));
    }
}

/* No quota overrun: per namespace, what its bound pods hold by the API is
 * within its quota, and is what /inspect counts once the scheduler's own
 * reservations are taken out; /inspect's count, those included, is within
 * the quota too. */
static void check_quotas(struct env *e, const cJSON *ins, const char *when)
{
    for (int i = 0; i < NQUOTAS; i++) {
        long mem, cores, umem, ucores, lmem, lcores, rmem, rcores;
        held_by_api(e, quotas[i].ns, &mem, &cores);
        inspect_quota(ins, quotas[i].ns, "nvidia.com/gpumem", &umem, &lmem);
        inspect_quota(ins, quotas[i].ns, "nvidia.com/gpucores", &ucores, &lcores);
        reserved_in(ins, quotas[i].ns, &rmem, &rcores);
        ck_assert_msg(mem <= quotas[i].mem && cores <= quotas[i].cores,
                      "%s: %s holds %ld MiB, %ld %% over its quota %ld, %ld", when, quotas[i].ns,
                      mem, cores, quotas[i].mem, quotas[i].cores);
        ck_assert_msg(lmem == quotas[i].mem && lcores == quotas[i].cores,
                      "%s: %s: /inspect's limits %ld, %ld, not %ld, %ld", when, quotas[i].ns, lmem,
                      lcores, quotas[i].mem, quotas[i].cores);
        ck_assert_msg(umem - rmem == mem && ucores - rcores == cores,
                      "%s: %s: /inspect counts %ld MiB, %ld %% (%ld, %ld reserved), the API %ld, "
                      "%ld",
                      when, quotas[i].ns, umem, ucores, rmem, rcores, mem, cores);
        ck_assert_msg(umem <= lmem && ucores <= lcores, "%s: %s: /inspect over quota: %ld, %ld",
                      when, quotas[i].ns, umem, ucores);
    }
}

/* Wait (bounded) until /inspect shows namespace quotas[i]'s limits. */
static bool quota_seen(struct env *e, int i)
{
    for (int waited = 0; waited <= 5000; waited += 20) {
        long used, mem, cores;
        cJSON *ins = harness_get_json(e->port, "/inspect");
        inspect_quota(ins, quotas[i].ns, "nvidia.com/gpumem", &used, &mem);
        inspect_quota(ins, quotas[i].ns, "nvidia.com/gpucores", &used, &cores);
        cJSON_Delete(ins);
        if (mem == quotas[i].mem && cores == quotas[i].cores)
            return true;
        usleep(20 * 1000);
    }
    return false;
}

/* No GPU holds more than its capacity in pods placed (holds and
 * reservations are the scheduler's own and may overlap the victims while
 * those terminate), and no quota is overrun (check_quotas). */
static void check_step(struct env *e, const char *when)
{
    cJSON *ins = harness_get_json(e->port, "/inspect");
    const cJSON *n, *g, *p;
    ck_assert_ptr_nonnull(ins);
    check_quotas(e, ins, when);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
    {
        double mem = 0, cores = 0;
        cJSON_ArrayForEach(p, cJSON_GetObjectItem(g, "pods"))
        {
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "state")), "reserved") == 0)
                continue;
            mem += cJSON_GetNumberValue(cJSON_GetObjectItem(p, "memMiB"));
            cores += cJSON_GetNumberValue(cJSON_GetObjectItem(p, "cores"));
        }
        ck_assert_msg(mem <= cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memMiB")) &&
                          cores <= cJSON_GetNumberValue(cJSON_GetObjectItem(g, "cores")),
                      "%s: GPU %s over capacity: %.0f MiB, %.0f cores", when,
                      cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid")), mem, cores);
    }
    cJSON_Delete(ins);
}

/* Wait (bounded) until /inspect shows uid in state; true when it did. */
static bool wait_state(struct env *e, const char *uid, const char *state, int ms)
{
    char got[32] = "";
    for (int waited = 0; waited <= ms; waited += 20) {
        cJSON *ins = harness_get_json(e->port, "/inspect");
        pod_state(ins, uid, got, sizeof got);
        cJSON_Delete(ins);
        if (strcmp(got, state) == 0)
            return true;
        usleep(20 * 1000);
    }
    return false;
}

static void env_start(struct env *e)
{
    memset(e, 0, sizeof *e);
    e->f = fakeapi_start();
    ck_assert_ptr_nonnull(e->f);
    snprintf(e->dir, sizeof e->dir, "/tmp/vs-preempt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(e->dir));
    snprintf(e->kubeconfig, sizeof e->kubeconfig, "%s/kubeconfig", e->dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(e->f, e->kubeconfig), 0);
    for (int i = 0; i < NODES; i++)
        put_node(e->f, pool[i]);
    /* notebook nb-0 may not be disrupted */
    ck_assert_int_gt(
        fakeapi_put(e->f, "poddisruptionbudgets",
                    "{\"kind\":\"PodDisruptionBudget\",\"apiVersion\":\"policy/v1\",\"metadata\":{"
                    "\"name\":\"keep-nb-0\",\"namespace\":\"team-a\"},\"spec\":{\"selector\":{"
                    "\"matchLabels\":{\"keep\":\"yes\"}}},\"status\":{\"disruptionsAllowed\":0}}"),
        0);
    put_quota(e, 0, 7 * GPU_MEM / 2, 400); /* seven notebooks of half a GPU */
    put_quota(e, 1, 3 * GPU_MEM, 300);     /* three inference pods of a whole GPU */
    const char *args[] = {
        "--kubeconfig", e->kubeconfig,           "--kube-qps", "5000", "--kube-burst",
        "5000",         "--leader-elect-lease=", NULL};
    e->h = harness_start(args);
    ck_assert_ptr_nonnull(e->h);
    e->port = harness_port(e->h);
    ck_assert_msg(harness_wait_ready(e->port, 15000), "not ready after 15 s");
    for (int i = 0; i < NQUOTAS; i++)
        ck_assert_msg(quota_seen(e, i), "%s's quota not seen", quotas[i].ns);
}

static void env_stop(struct env *e)
{
    int st = harness_stop(e->h, SIGTERM, 10000);
    harness_dump(e->h);
    ck_assert_int_eq(st, 0);
    harness_free(e->h);
    fakeapi_stop(e->f);
    unlink(e->kubeconfig);
    rmdir(e->dir);
}

/* /preempt for ns/name offering every pool node with no victims proposed
 * (kube-scheduler sees no GPU: ignoredByScheduler). Returns the answer. */
static cJSON *preempt(struct env *e, const char *ns, const char *name)
{
    cJSON *m = cJSON_CreateObject();
    for (int i = 0; i < NODES; i++)
        cJSON_AddItemToObject(cJSON_AddObjectToObject(m, pool[i]), "Pods", cJSON_CreateArray());
    char *body = args_for(e, ns, name, "NodeNameToMetaVictims", m);
    cJSON *ans = post(e, "/preempt", body);
    free(body);
    return ans;
}

START_TEST(notebooks_then_inference)
{
    struct env e;
    char node[64], name[64], state[32];
    env_start(&e);
    /* Two notebooks per GPU fill the pool; team-a's quota stops the last
     * one while a GPU still has room for it, until it is raised. */
    for (int i = 0; i < NODES * GPUS * 2; i++) {
        snprintf(name, sizeof name, "nb-%d", i);
        put_pod(e.f, "team-a", name, 0, 50, i == 0 ? "\"keep\":\"yes\"" : "\"app\":\"nb\"");
        if (i == NODES * GPUS * 2 - 1) {
            filter(&e, "team-a", name, pool, NODES, node, sizeof node);
            ck_assert_msg(!node[0], "%s placed past team-a's quota on %s", name, node);
            ck_assert_msg(strstr(last_failed, "ResourceQuotaNotFit") &&
                              strstr(last_failed, "quota of namespace team-a leaves "
                                                  "nvidia.com/gpumem 0, nvidia.com/gpucores 50"),
                          "%s: %s", name, last_failed);
            check_step(&e, "the quota refused a notebook");
            put_quota(&e, 0, 8 * GPU_MEM / 2, 400);
            ck_assert(quota_seen(&e, 0));
        }
        place(&e, "team-a", name, node, sizeof node);
        check_step(&e, name);
    }
    for (int r = 0; r < ROUNDS; r++) {
        char inf[32];
        snprintf(inf, sizeof inf, "inf-%d", r);
        put_pod(e.f, "prod", inf, 1000, 100, "");
        filter(&e, "prod", inf, pool, NODES, node, sizeof node);
        ck_assert_msg(!node[0], "%s fitted before any preemption", inf);

        cJSON *ans = preempt(&e, "prod", inf);
        const cJSON *m = cJSON_GetObjectItem(ans, "NodeNameToMetaVictims"), *nd, *v;
        const cJSON *chosen = NULL;
        ck_assert_msg(cJSON_GetArraySize(m) > 0, "round %d: no node answered", r);
        cJSON_ArrayForEach(nd, m)
        {
            /* the fewest notebooks: the two of one GPU, never the kept one */
            const cJSON *pods = cJSON_GetObjectItem(nd, "Pods");
            ck_assert_msg(cJSON_GetArraySize(pods) == 2, "round %d: %s: %d victims", r, nd->string,
                          cJSON_GetArraySize(pods));
            ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(nd, "NumPDBViolations")), 0);
            cJSON_ArrayForEach(v, pods)
            {
                const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(v, "UID"));
                ck_assert_msg(strncmp(uid, "uid-nb-", 7) == 0 && strcmp(uid, "uid-nb-0") != 0,
                              "round %d: victim %s", r, uid);
            }
            if (!chosen)
                chosen = nd;
        }
        /* kube-scheduler: evict the first node's victims, nominate it. */
        snprintf(node, sizeof node, "%s", chosen->string);
        char gone[2][64];
        int ngone = 0;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(chosen, "Pods"))
        {
            const char *uid = cJSON_GetStringValue(cJSON_GetObjectItem(v, "UID"));
            ck_assert_int_eq(fakeapi_delete(e.f, "pods", "team-a", uid + 4), 0);
            snprintf(gone[ngone++ % 2], sizeof gone[0], "%s", uid);
        }
        cJSON_Delete(ans);
        char patch[256];
        snprintf(patch, sizeof patch, "{\"status\":{\"nominatedNodeName\":\"%s\"}}", node);
        ck_assert_int_eq(fakeapi_patch(e.f, "pods", "prod", inf, patch), 200);
        snprintf(name, sizeof name, "uid-%s", inf);
        /* The watch has seen the victims go (a hold made by /preempt itself
         * may be there before that) and the nominee's hold. */
        for (int k = 0; k < 2; k++)
            ck_assert_msg(wait_state(&e, gone[k], "", 5000), "round %d: %s still counted", r,
                          gone[k]);
        ck_assert_msg(wait_state(&e, name, "reserved", 5000), "round %d: no hold for %s", r, inf);
        check_step(&e, "after the eviction");

        /* The freed GPU is held: a notebook offered only that node gets nothing. */
        char sneak[32], got[64];
        snprintf(sneak, sizeof sneak, "sneak-%d", r);
        put_pod(e.f, "team-a", sneak, 0, 50, "\"app\":\"nb\"");
        const char *only[] = {node};
        filter(&e, "team-a", sneak, only, 1, got, sizeof got);
        ck_assert_msg(!got[0], "round %d: %s took the GPU held on %s", r, sneak, node);
        ck_assert_int_eq(fakeapi_delete(e.f, "pods", "team-a", sneak), 0);

        /* The nominee is placed there. */
        filter(&e, "prod", inf, pool, NODES, got, sizeof got);
        if (strcmp(got, node) != 0) {
            cJSON *ins = harness_get_json(e.port, "/inspect");
            char *t = cJSON_PrintUnformatted(ins);
            fprintf(stderr, "inspect: %s\n", t);
            free(t);
            cJSON_Delete(ins);
            harness_dump(e.h);
        }
        ck_assert_msg(strcmp(got, node) == 0, "round %d: %s went to \"%s\", not %s: %s", r, inf,
                      got, node, last_failed);
        bind(&e, "prod", inf, node);
        ck_assert_msg(wait_state(&e, name, "running", 5000), "round %d: %s not running", r, inf);
        check_step(&e, inf);
    }
    /* Nothing left behind: no reservation, no hold, no node lock. */
    cJSON *ins = harness_get_json(e.port, "/inspect");
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(ins, "reservations")), 0);
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(name, sizeof name, "uid-inf-%d", r);
        pod_state(ins, name, state, sizeof state);
        ck_assert_str_eq(state, "running");
    }
    pod_state(ins, "uid-nb-0", state, sizeof state);
    ck_assert_str_eq(state, "running"); /* its budget kept it */
    cJSON_Delete(ins);
    char which[256];
    ck_assert_int_eq(harness_locks_left(e.f, which, sizeof which), 0);
    /* prod's quota is full: the quota refuses one more inference pod, and
     * preemption does not help it (the notebooks' eviction would free a GPU,
     * not prod's quota): no node answered, nothing held. */
    put_pod(e.f, "prod", "inf-over", 1000, 100, "");
    filter(&e, "prod", "inf-over", pool, NODES, node, sizeof node);
    ck_assert_msg(!node[0], "inf-over placed past prod's quota on %s", node);
    ck_assert_msg(strstr(last_failed, "ResourceQuotaNotFit") &&
                      strstr(last_failed, "quota of namespace prod leaves nvidia.com/gpumem 0, "
                                          "nvidia.com/gpucores 0"),
                  "inf-over: %s", last_failed);
    cJSON *over = preempt(&e, "prod", "inf-over");
    ck_assert_msg(cJSON_GetArraySize(cJSON_GetObjectItem(over, "NodeNameToMetaVictims")) == 0,
                  "preemption answered a node for a pod its quota refuses");
    cJSON_Delete(over);
    ck_assert(wait_state(&e, "uid-inf-over", "", 0));
    bool told = false; /* the event says why (posted in the background) */
    for (int waited = 0; !told && waited < 5000; waited += 20) {
        cJSON *evs = fakeapi_events(e.f), *ev;
        cJSON_ArrayForEach(ev, evs)
        {
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "message"));
            told = told || (msg && strstr(msg, "not within what the GPU quota of namespace prod"));
        }
        cJSON_Delete(evs);
        if (!told)
            usleep(20 * 1000);
    }
    ck_assert_msg(told, "no PreemptionNotHelpful event naming prod's quota");
    check_step(&e, "prod's quota full");
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "prod", "inf-over"), 0);
    put_quota(&e, 1, 4 * GPU_MEM, 400);
    ck_assert(quota_seen(&e, 1));
    /* One more: only nb-0's GPU is left, against its budget; the budget's
     * deletion reaches the scheduler through the watch. */
    put_pod(e.f, "prod", "inf-last", 1000, 100, "");
    int violations = -1;
    for (int waited = 0; violations != 0 && waited < 5000; waited += 20) {
        cJSON *ans = preempt(&e, "prod", "inf-last");
        const cJSON *m = cJSON_GetObjectItem(ans, "NodeNameToMetaVictims");
        ck_assert_int_eq(cJSON_GetArraySize(m), 1);
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m->child, "Pods")), 2);
        violations = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(m->child, "NumPDBViolations"));
        cJSON_Delete(ans);
        if (waited == 0) {
            ck_assert_int_eq(violations, 1);
            ck_assert_int_eq(fakeapi_delete(e.f, "poddisruptionbudgets", "team-a", "keep-nb-0"), 0);
        }
        if (violations)
            usleep(20 * 1000);
    }
    ck_assert_int_eq(violations, 0);
    /* One node answered: /preempt held it; deleting the pod releases it. */
    ck_assert(wait_state(&e, "uid-inf-last", "reserved", 5000));
    ck_assert_int_eq(fakeapi_delete(e.f, "pods", "prod", "inf-last"), 0);
    ck_assert_msg(wait_state(&e, "uid-inf-last", "", 5000), "the hold outlived its pod");
    check_step(&e, "the end");
    ins = harness_get_json(e.port, "/inspect");
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(ins, "reservations")), 0);
    cJSON_Delete(ins);
    ck_assert_int_eq(harness_locks_left(e.f, which, sizeof which), 0);
    /* The events name the victims (posted in the background: wait a while). */
    int named = 0;
    for (int waited = 0; named < ROUNDS && waited < 5000; waited += 20) {
        cJSON *evs = fakeapi_events(e.f), *ev;
        named = 0;
        cJSON_ArrayForEach(ev, evs)
        {
            const char *reason = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "reason"));
            const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "message"));
            named += reason && strcmp(reason, "PreemptionVictims") == 0 && msg &&
                     strstr(msg, "team-a/nb-");
        }
        if (named < ROUNDS && waited + 20 >= 5000) {
            char *t = cJSON_PrintUnformatted(evs);
            fprintf(stderr, "events: %.6000s\n", t);
            free(t);
        }
        cJSON_Delete(evs);
        if (named < ROUNDS)
            usleep(20 * 1000);
    }
    ck_assert_int_ge(named, ROUNDS);
    env_stop(&e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("preempt_live");
    TCase *tc = tcase_create("preempt_live");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, notebooks_then_inference);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

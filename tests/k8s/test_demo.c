/* test_demo: examples/demo-cluster.json and examples/requests/ parse
 * cleanly and are consistent: every node is what the table below says
 * (vendor, mode, devices), every pod parses, every placed pod's devices
 * exist on its node, no device is over its memory, cores or slots, and
 * each request in examples/requests/ gets the answer it should from the
 * real binary serving its cluster. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "tests/support/harness.h"

#define DEMO_PODS   11
#define DEMO_PLACED 9 /* with hami.io/vgpu-node and not terminal */

/* What each demo node is: its vendor (device backend), the mode of every
 * device, how many, how many slots each, whether it has pair scores. A node
 * not in this table must still parse and keep the per-vendor invariants. */
static const struct demo_node {
    const char *name, *vendor, *mode;
    int ndev, count, devcore;
    bool pair;
} demo_nodes[] = {
    {"gpu-a100-80g-1", "nvidia", "hami-core", 8, 10, 100, true},
    {"gpu-a100-80g-2", "nvidia", "hami-core", 8, 10, 100, true},
    {"gpu-a100-40g-1", "nvidia", "hami-core", 8, 10, 100, true},
    {"gpu-h100-1", "nvidia", "hami-core", 8, 10, 100, true},
    {"gpu-h100-2", "nvidia", "hami-core", 8, 10, 100, true},
    {"gpu-t4-1", "nvidia", "hami-core", 4, 10, 100, true},
    {"cpu-1", NULL, NULL, 0, 0, 0, false},
    {"gpu-a100-mig-1", "nvidia", "mig", 2, 7, 100, false},
    {"dcu-z100l-1", "hygon", "", 4, 10, 100, false},
    {"mlu-370-1", "cambricon", "", 4, 100, 100, false},
    {"npu-910b3-1", "ascend910b3", "", 8, 4, 20, false},
};
#define NDEMO ((int)(sizeof demo_nodes / sizeof demo_nodes[0]))

static const struct demo_node *demo_node(const char *name)
{
    for (int i = 0; i < NDEMO; i++)
        if (strcmp(demo_nodes[i].name, name) == 0)
            return &demo_nodes[i];
    return NULL;
}

/* Every node: each vendor row's allocatable count is the sum of its
 * devices' slots, its handshake is the demo's, its devices are indexed from
 * 0; a node in the table is what the table says. */
static void check_node(const struct model_inventory *n)
{
    const struct demo_node *want = demo_node(n->name);
    /* devices come from a register annotation, or (Cambricon) the capacity */
    ck_assert_int_eq(n->has_register || n->backend->capacity_parse, n->ndev > 0);
    ck_assert_int_gt(n->cpu_milli, 0);
    ck_assert_int_gt(n->mem_mib, 0);
    for (int r = 0; r < n->nrow; r++) {
        const struct model_row *row = &n->row[r];
        int64_t slots = 0;
        ck_assert_msg(!row->bad, "%s: %s", n->name, row->bad);
        ck_assert_str_eq(row->handshake, "Requesting_2026-11-22 01:00:00");
        for (int i = 0; i < row->ndev; i++) {
            const struct policy_device *d = &n->dev[row->first + i];
            ck_assert_ptr_eq(policy_device_backend_of(d), row->backend);
            ck_assert_int_eq(d->index, i);
            ck_assert_int_gt(d->devcore, 0);
            slots += d->count;
        }
        ck_assert_msg(row->alloc == slots, "%s: %s allocatable %lld, slots %lld", n->name,
                      row->backend->res[POLICY_RES_COUNT], (long long)row->alloc, (long long)slots);
    }
    if (!want)
        return;
    ck_assert_msg(n->ndev == want->ndev, "%s: %d devices", n->name, n->ndev);
    ck_assert_int_eq(n->pair != NULL, want->pair);
    for (int i = 0; i < n->ndev; i++) {
        ck_assert_str_eq(policy_device_backend_of(&n->dev[i])->name, want->vendor);
        ck_assert_str_eq(n->dev[i].mode ? n->dev[i].mode : "", want->mode);
        ck_assert_int_eq(n->dev[i].count, want->count);
        ck_assert_int_eq(n->dev[i].devcore, want->devcore);
        ck_assert_int_eq(n->dev[i].nmig > 0, strcmp(want->mode, "mig") == 0);
    }
}

static cJSON *load(const char *rel)
{
    const char *src = getenv("VS_SOURCE");
    char path[1024];
    ck_assert_msg(src != NULL, "VS_SOURCE is not set");
    snprintf(path, sizeof path, "%s/%s", src, rel);
    char *buf = harness_read(path, NULL);
    cJSON *j = cJSON_Parse(buf);
    ck_assert_msg(j != NULL, "%s is not valid JSON", path);
    free(buf);
    return j;
}

static bool is_kind(const cJSON *o, const char *kind)
{
    const char *k = model_str(o, "kind", NULL, NULL);
    return k && strcmp(k, kind) == 0;
}

START_TEST(test_cluster)
{
    cJSON *list = load("examples/demo-cluster.json");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    struct model_inventory *inv[32] = {0};
    int nnodes = 0, nknown = 0, npods = 0, nplaced = 0, nterminal = 0;
    int ncordoned = 0, nunhealthy = 0;
    char err[512];

    ck_assert_str_eq(model_str(list, "kind", NULL, NULL), "List");
    ck_assert(cJSON_IsArray(items));
    for (const cJSON *o = items->child; o; o = o->next) {
        if (!is_kind(o, "Node"))
            continue;
        ck_assert_int_lt(nnodes, 32);
        int rc = model_node_parse(o, &inv[nnodes], err, sizeof err);
        ck_assert_msg(rc == 0, "node: %s", err);
        struct model_inventory *n = inv[nnodes++];
        check_node(n);
        nknown += demo_node(n->name) != NULL;
        for (int i = 0; i < n->ndev; i++) {
            ncordoned += n->dev[i].cordoned;
            nunhealthy += !n->dev[i].health;
        }
    }
    ck_assert_int_eq(nknown, NDEMO); /* every node of the table is there */
    ck_assert_int_eq(ncordoned, 1);
    ck_assert_int_eq(nunhealthy, 1);

    /* usage per node, rebuilt from the placed pods */
    struct policy_usage use[16][POLICY_MAX_DEVICES];
    memset(use, 0, sizeof use);
    for (const cJSON *o = items->child; o; o = o->next) {
        if (!is_kind(o, "Pod"))
            continue;
        struct model_pod_info in;
        struct policy_pod *req = malloc(sizeof *req);
        ck_assert_ptr_nonnull(req);
        npods++;
        int rc = model_pod_info(o, &in, err, sizeof err);
        ck_assert_msg(rc == 0, "pod info: %s", err);
        rc = model_pod_parse(o, NULL, req, err, sizeof err);
        ck_assert_msg(rc == 0, "pod %s: %s", in.name, err);
        ck_assert_int_eq(req->ninit, in.ninit);
        nterminal += in.terminal;
        if (in.vgpu_node && !in.terminal) {
            nplaced++;
            ck_assert_str_eq(in.vgpu_node, in.node_name);
            ck_assert_str_eq(in.bind_phase, "success");
            int k = 0;
            while (k < nnodes && strcmp(inv[k]->name, in.vgpu_node) != 0)
                k++;
            ck_assert_msg(k < nnodes, "pod %s on unknown node %s", in.name, in.vgpu_node);
            struct codec_devices *d = malloc(sizeof *d);
            ck_assert_ptr_nonnull(d);
            ck_assert_msg(codec_decode(in.devices, d, err, sizeof err) == 0, "%s: %s", in.name,
                          err);
            ck_assert_int_eq(d->nctr, req->nctr);
            struct policy_node pn = {
                .name = inv[k]->name, .ndev = inv[k]->ndev, .dev = inv[k]->dev};
            struct policy_usage u[POLICY_MAX_DEVICES];
            ck_assert_int_eq(codec_usage(&pn, d, in.ninit, u), 0); /* every UUID known */
            for (int i = 0; i < pn.ndev; i++) {
                use[k][i].used += u[i].used;
                use[k][i].cores += u[i].cores;
                use[k][i].mem += u[i].mem;
            }
            /* the annotation matches what the pod asks */
            for (int e = 0; e < d->n; e++) {
                const struct policy_ctr *c = &req->ctr[d->e[e].ctr];
                int i = 0;
                while (i < pn.ndev && (strlen(pn.dev[i].uuid) != d->e[e].uuid_len ||
                                       memcmp(pn.dev[i].uuid, d->e[e].uuid, d->e[e].uuid_len)))
                    i++;
                ck_assert_int_lt(i, pn.ndev);
                ck_assert_int_gt(c->nums, 0);
                ck_assert_int_eq(d->e[e].cores, c->cores);
                ck_assert_int_eq(d->e[e].mem, policy_ctr_mem(c, &pn.dev[i]));
            }
            free(d);
        }
        free(req);
    }
    ck_assert_int_eq(npods, DEMO_PODS);
    ck_assert_int_eq(nplaced, DEMO_PLACED);
    ck_assert_int_eq(nterminal, 1);

    int busy = 0;
    for (int k = 0; k < nnodes; k++) {
        for (int i = 0; i < inv[k]->ndev; i++) {
            const struct policy_device *dv = &inv[k]->dev[i];
            const struct policy_usage *u = &use[k][i];
            ck_assert_msg(u->mem <= dv->devmem && u->cores <= dv->devcore && u->used <= dv->count,
                          "%s GPU %d over capacity", inv[k]->name, i);
            if (u->used && (!dv->health || dv->cordoned))
                ck_abort_msg("%s GPU %d is unavailable but used", inv[k]->name, i);
            busy += u->used > 0;
        }
        model_inventory_free(inv[k]);
    }
    ck_assert_int_eq(busy, 12); /* partly used, not empty, not full */
    cJSON_Delete(list);
}
END_TEST

/* The extender request bodies in examples/requests/, and the answer each
 * gets from the binary serving its cluster: the nodes that pass (a comma
 * list, in order) and, for one node, the reason it fails. */
struct req_case {
    const char *file;
    const char *cluster; /* examples/demo-cluster.json unless set */
    bool node_names;     /* NodeNames mode (else full Nodes) */
    const char *count;   /* the device count resource the container asks */
    int32_t nums, mem, mem_pct, cores;
    const char *use_type;
    bool topology;
    const char *pass;             /* the nodes that pass */
    const char *fail_node, *fail; /* a node that fails, and its reason */
};

static const struct req_case req_cases[] = {
    /* clang-format off */
    {"examples/requests/filter-small.json", NULL, true, "nvidia.com/gpu", 1, 10240, 0, 30, NULL,
     false, "gpu-h100-1", "cpu-1", "NodeInsufficientDevice"},
    {"examples/requests/filter-nodes-mode.json", NULL, false, "nvidia.com/gpu", 1, 10240, 0, 30,
     NULL, false, "gpu-h100-1", NULL, NULL},
    {"examples/requests/filter-a100x2.json", NULL, true, "nvidia.com/gpu", 2, 20000, 0, 50, "A100",
     true, "gpu-a100-80g-1", "gpu-t4-1", "4/4 CardTypeMismatch"},
    {"examples/requests/filter-too-big.json", NULL, true, "nvidia.com/gpu", 1, 100000, 0, 100,
     NULL, false, "", "gpu-t4-1", "4/4 CardInsufficientMemory"},
    {"examples/requests/filter-cpu-only.json", NULL, true, NULL, 0, 0, 0, 0, NULL, false,
     "gpu-a100-80g-1,gpu-a100-80g-2,gpu-a100-40g-1,gpu-h100-1,gpu-h100-2,gpu-t4-1,cpu-1"},
    {"examples/requests/filter-mig.json", "examples/mig-cluster.json", true, "nvidia.com/gpu", 1,
     8000, 0, 0, NULL, false, "gpu-mig-a100", "gpu-t4", "1/1 CardTypeMismatch"},
    {"examples/requests/filter-mig-demo.json", NULL, true, "nvidia.com/gpu", 1, 8000, 0, 0, NULL,
     false, "gpu-a100-mig-1", "gpu-t4-1", "4/4 CardTypeMismatch"},
    {"examples/requests/filter-dcu.json", NULL, true, "hygon.com/dcunum", 1, 16384, 0, 50, NULL,
     false, "dcu-z100l-1", "gpu-a100-mig-1", "NodeInsufficientDevice"},
    {"examples/requests/filter-ascend.json", NULL, true, "huawei.com/Ascend910B3", 1, 16384, 0, 0,
     NULL, false, "npu-910b3-1", "gpu-h100-1", "NodeInsufficientDevice"},
    {"examples/requests/filter-mlu.json", NULL, true, "cambricon.com/vmlu", 1, 16384, 0, 50, NULL,
     false, "mlu-370-1", "gpu-h100-1", "NodeInsufficientDevice"},
    /* clang-format on */
};

#define NREQ ((int)(sizeof req_cases / sizeof req_cases[0]))

/* The nodes of the cluster file rel (a List), by name. */
static bool cluster_has(const char *rel, const char *name)
{
    cJSON *list = load(rel);
    bool found = false;
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        const char *n = model_str(o, "metadata", "name", NULL);
        found = found || (is_kind(o, "Node") && n && strcmp(n, name) == 0);
    }
    cJSON_Delete(list);
    return found;
}

/* POST the request file to the binary serving its cluster: the answer. */
static cJSON *answer(const struct req_case *c)
{
    const char *src = getenv("VS_SOURCE");
    char cluster[1024], file[1024];
    snprintf(cluster, sizeof cluster, "%s/%s", src,
             c->cluster ? c->cluster : "examples/demo-cluster.json");
    snprintf(file, sizeof file, "%s/%s", src, c->file);
    const char *args[] = {"--snapshot", cluster, NULL};
    struct harness *h = harness_start(args);
    ck_assert_msg(h != NULL, "vgpu-scheduler did not start on %s", cluster);
    size_t len = 0;
    char *body = harness_read(file, &len);
    struct harness_reply r;
    ck_assert_int_eq(harness_post(harness_port(h), "/filter", body, len, &r), 0);
    ck_assert_msg(r.status == 200, "%s: status %ld", c->file, r.status);
    cJSON *j = cJSON_Parse(buf_str(&r.body));
    ck_assert_ptr_nonnull(j);
    harness_reply_free(&r);
    free(body);
    harness_finish(&h);
    return j;
}

/* The names an answer passes, comma-separated (either mode). */
static void passed(const cJSON *a, char *buf, size_t cap)
{
    const cJSON *names = cJSON_GetObjectItem(a, "NodeNames"), *o;
    const cJSON *items = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "Nodes"), "items");
    buf[0] = '\0';
    const cJSON *list = cJSON_IsArray(names) ? names : items;
    cJSON_ArrayForEach(o, list)
    {
        const char *n = cJSON_IsString(o) ? o->valuestring : model_str(o, "metadata", "name", NULL);
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "," : "", n ? n : "?");
    }
}

START_TEST(test_request)
{
    const struct req_case *c = &req_cases[_i];
    const char *cl = c->cluster ? c->cluster : "examples/demo-cluster.json";
    cJSON *j = load(c->file);
    struct policy_pod *p = malloc(sizeof *p);
    char err[512], got[1024];

    ck_assert_ptr_nonnull(p);
    const cJSON *pod = model_get(j, "pod");
    ck_assert_int_eq(model_pod_parse(pod, NULL, p, err, sizeof err), 0);
    ck_assert_ptr_nonnull(p->uid);
    ck_assert_int_eq(p->nctr, 1);
    ck_assert_int_eq(p->ctr[0].nums, c->nums);
    ck_assert_int_eq(p->ctr[0].mem, c->mem);
    ck_assert_int_eq(p->ctr[0].mem_pct, c->mem_pct);
    ck_assert_int_eq(p->ctr[0].cores, c->cores);
    if (c->count)
        ck_assert_str_eq(policy_ctr_backend(&p->ctr[0])->res[POLICY_RES_COUNT], c->count);
    if (c->use_type)
        ck_assert_str_eq(p->use_type, c->use_type);
    ck_assert_int_eq(p->gpu_set, c->topology);
    ck_assert_int_eq(p->gpu.topology, c->topology);

    const cJSON *names = model_get(j, "nodenames");
    const cJSON *nodes = model_get(j, "nodes"), *o;
    if (c->node_names) {
        ck_assert(cJSON_IsArray(names));
        ck_assert(!nodes || cJSON_IsNull(nodes));
        cJSON_ArrayForEach(o, names)
        {
            ck_assert_msg(cluster_has(cl, o->valuestring), "%s: %s is not a node of %s", c->file,
                          o->valuestring, cl);
        }
    } else {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(nodes, "items");
        ck_assert(cJSON_IsNull(names));
        for (o = items ? items->child : NULL; o; o = o->next) {
            struct model_inventory *inv = NULL;
            ck_assert_msg(model_node_parse(o, &inv, err, sizeof err) == 0, "%s", err);
            ck_assert(cluster_has(cl, inv->name));
            model_inventory_free(inv);
        }
    }
    cJSON *a = answer(c);
    passed(a, got, sizeof got);
    ck_assert_msg(strcmp(got, c->pass) == 0, "%s: passes \"%s\", want \"%s\"", c->file, got,
                  c->pass);
    if (c->fail_node) {
        const char *why = harness_failed_reason(a, c->fail_node);
        ck_assert_msg(why && strcmp(why, c->fail) == 0, "%s: %s fails with \"%s\", want \"%s\"",
                      c->file, c->fail_node, why ? why : "(nothing)", c->fail);
    }
    cJSON_Delete(a);
    free(p);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_bind)
{
    cJSON *j = load("examples/requests/bind-small.json");
    cJSON *f = load("examples/requests/filter-small.json");
    ck_assert_str_eq(model_str(j, "PodName", NULL, NULL), "small-infer");
    ck_assert_str_eq(model_str(j, "PodNamespace", NULL, NULL), "default");
    ck_assert_str_eq(model_str(j, "PodUID", NULL, NULL),
                     model_str(model_get(f, "Pod"), "metadata", "uid", NULL));
    ck_assert_ptr_nonnull(model_str(j, "Node", NULL, NULL));
    cJSON_Delete(f);
    cJSON_Delete(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("demo");
    tcase_add_test(tc, test_cluster);
    tcase_add_loop_test(tc, test_request, 0, NREQ);
    tcase_add_test(tc, test_bind);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

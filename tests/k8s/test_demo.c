/* test_demo: examples/demo-cluster.json and examples/requests/ parse
 * cleanly and are consistent: every node and pod parses, every placed pod's
 * devices exist on its node, and no GPU is over its memory, cores or slots. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "tests/support/harness.h"

#define DEMO_NODES       7
#define DEMO_OTHER_NODES 2 /* mlu-370-1 (four MLU370-X8), npu-910b3-1 (eight Ascend 910B3) */
#define DEMO_GPU_NODES   6
#define DEMO_GPUS        44 /* 5 x 8 + 4 */
#define DEMO_PODS        11
#define DEMO_PLACED      9 /* with hami.io/vgpu-node and not terminal */

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
    struct model_inventory *inv[16] = {0};
    int nnodes = 0, ngpunodes = 0, ngpus = 0, npods = 0, nplaced = 0, nterminal = 0;
    int ncordoned = 0, nunhealthy = 0, npair = 0, nother = 0;
    char err[512];

    ck_assert_str_eq(model_str(list, "kind", NULL, NULL), "List");
    ck_assert(cJSON_IsArray(items));
    for (const cJSON *o = items->child; o; o = o->next) {
        if (!is_kind(o, "Node"))
            continue;
        ck_assert_int_lt(nnodes, 16);
        int rc = model_node_parse(o, &inv[nnodes], err, sizeof err);
        ck_assert_msg(rc == 0, "node: %s", err);
        struct model_inventory *n = inv[nnodes++];
        if (n->backend != policy_device_backend_default()) {
            nother++; /* another vendor's node (Ascend): its own suites check it */
            continue;
        }
        ngpunodes += n->ndev > 0;
        ngpus += n->ndev;
        npair += n->pair != NULL;
        ck_assert_int_eq(n->has_register, n->ndev > 0);
        ck_assert_int_gt(n->cpu_milli, 0);
        ck_assert_int_gt(n->mem_mib, 0);
        ck_assert_int_eq(n->alloc_gpus, n->ndev * 10);
        if (n->ndev)
            ck_assert_str_eq(n->handshake, "Requesting_2026-11-22 01:00:00");
        for (int i = 0; i < n->ndev; i++) {
            ncordoned += n->dev[i].cordoned;
            nunhealthy += !n->dev[i].health;
            ck_assert_int_eq(n->dev[i].index, i);
            ck_assert_int_eq(n->dev[i].count, 10);
            ck_assert_int_eq(n->dev[i].devcore, 100);
            ck_assert_str_eq(n->dev[i].mode, "hami-core");
        }
    }
    ck_assert_int_eq(nnodes - nother, DEMO_NODES);
    ck_assert_int_eq(nother, DEMO_OTHER_NODES);
    ck_assert_int_eq(ngpunodes, DEMO_GPU_NODES);
    ck_assert_int_eq(ngpus, DEMO_GPUS);
    ck_assert_int_eq(npair, DEMO_GPU_NODES);
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

/* The extender request bodies in examples/requests/. */
struct req_case {
    const char *file;
    bool node_names; /* NodeNames mode (else full Nodes) */
    int32_t nums, mem, mem_pct, cores;
    const char *use_type;
    bool topology;
};

static const struct req_case req_cases[] = {
    {"examples/requests/filter-small.json", true, 1, 10240, 0, 30, NULL, false},
    {"examples/requests/filter-nodes-mode.json", false, 1, 10240, 0, 30, NULL, false},
    {"examples/requests/filter-a100x2.json", true, 2, 20000, 0, 50, "A100", true},
    {"examples/requests/filter-too-big.json", true, 1, 100000, 0, 100, NULL, false},
    {"examples/requests/filter-cpu-only.json", true, 0, 0, 0, 0, NULL, false},
};

#define NREQ ((int)(sizeof req_cases / sizeof req_cases[0]))

START_TEST(test_request)
{
    const struct req_case *c = &req_cases[_i];
    cJSON *j = load(c->file);
    struct policy_pod *p = malloc(sizeof *p);
    char err[512];

    ck_assert_ptr_nonnull(p);
    const cJSON *pod = model_get(j, "pod");
    ck_assert_int_eq(model_pod_parse(pod, NULL, p, err, sizeof err), 0);
    ck_assert_ptr_nonnull(p->uid);
    ck_assert_int_eq(p->nctr, 1);
    ck_assert_int_eq(p->ctr[0].nums, c->nums);
    ck_assert_int_eq(p->ctr[0].mem, c->mem);
    ck_assert_int_eq(p->ctr[0].mem_pct, c->mem_pct);
    ck_assert_int_eq(p->ctr[0].cores, c->cores);
    if (c->use_type)
        ck_assert_str_eq(p->use_type, c->use_type);
    ck_assert_int_eq(p->gpu_set, c->topology);
    ck_assert_int_eq(p->gpu.topology, c->topology);

    const cJSON *names = model_get(j, "nodenames");
    const cJSON *nodes = model_get(j, "nodes");
    if (c->node_names) {
        ck_assert(cJSON_IsArray(names));
        ck_assert_int_eq(cJSON_GetArraySize(names), DEMO_NODES);
        ck_assert(cJSON_IsNull(nodes));
    } else {
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(nodes, "items");
        int n = 0;
        ck_assert(cJSON_IsNull(names));
        for (const cJSON *o = items ? items->child : NULL; o; o = o->next, n++) {
            struct model_inventory *inv = NULL;
            ck_assert_msg(model_node_parse(o, &inv, err, sizeof err) == 0, "%s", err);
            model_inventory_free(inv);
        }
        ck_assert_int_eq(n, DEMO_NODES);
    }
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

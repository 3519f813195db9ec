/* pod.c: Pod JSON -> the request the engine fits (model_pod_parse) and the
 * facts the cache keeps about a placed pod (model_pod_info). Resource and
 * steering annotation names are the device backend's (policy/device.h).
 *
 * Every string and number read here comes from the network: each has a
 * limit, and anything malformed is an error naming the container or
 * annotation and the bad value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/strconv.h"
#include "k8s/json.h"
#include "k8s/model.h"
#include "k8s/quantity.h"
#include "policy/device_nvidia_mig.h"

#define UID_MAX   128
#define NS_MAX    253
#define RV_MAX    64
#define PHASE_MAX 64
#define TIME_MAX  32 /* hami.io/bind-time: unix seconds */

static const struct model_defaults hami_defaults = {0, 0, 1};

_Static_assert(POLICY_MAX_CONTAINERS <= 64, "model_pod_info.sidecars holds one bit per container");

/* A container's resource: limits first, then requests (HAMi's order). */
static int ctr_res(const cJSON *limits, const cJSON *requests, const char *key, char *buf,
                   size_t bufcap, bool *present, char *err, size_t cap)
{
    int rc = json_qty(limits, key, buf, bufcap, present, err, cap);
    if (!rc && !*present)
        rc = json_qty(requests, key, buf, bufcap, present, err, cap);
    return rc;
}

/* A whole-number resource of a container: 0 with *present false if absent. */
static int ctr_int(const cJSON *limits, const cJSON *requests, const char *key, int64_t *v,
                   bool *present, char *err, size_t cap)
{
    char buf[JSON_QTY_MAX + 1];
    int rc = ctr_res(limits, requests, key, buf, sizeof buf, present, err, cap);
    *v = 0;
    if (rc || !*present)
        return rc;
    rc = quantity_int(buf, v);
    if (rc)
        json_qty_err(err, cap, key, buf, rc, true);
    return rc;
}

/* The backend whose device count the resource lists name (limits, then
 * requests), or NULL. */
static const struct policy_device_backend *named_backend(const cJSON *limits, const cJSON *requests)
{
    for (const struct policy_device_backend *const *b = policy_device_backends; *b; b++)
        if (json_field(limits, policy_device_res(*b, POLICY_RES_COUNT)) ||
            json_field(requests, policy_device_res(*b, POLICY_RES_COUNT)))
            return *b;
    return NULL;
}

/* A container's limits and requests, wrong types read as absent. */
static void ctr_lists(const cJSON *c, const cJSON **limits, const cJSON **requests)
{
    const cJSON *res = json_field(c, "resources");
    *limits = json_field(res, "limits");
    *requests = json_field(res, "requests");
}

/* The backend a container asks devices of (the first row when none). */
static const struct policy_device_backend *ctr_backend(const cJSON *limits, const cJSON *requests)
{
    const struct policy_device_backend *b = named_backend(limits, requests);
    return b ? b : policy_device_backend_default();
}

/* A pod whose containers ask devices of two vendors is placed as HAMi
 * places it (each container on its own row's devices, each row's
 * allocation under its own annotations), but the steering annotations are
 * read for one row per pod: such a pod carrying any of its rows' steering
 * annotations (use/nouse type and uuid, vgpu-mode, numa-bind) is ERR_INVAL
 * naming it, not steered wrongly. Bind takes one node lock per pod, so two
 * vendors whose locks differ (Cambricon's own beside HAMi's shared one) are
 * ERR_INVAL too. */
static int pod_vendors_steered(const struct policy_pod *pod, const cJSON *anns, char *err,
                               size_t cap)
{
    const struct policy_ctr *first = NULL, *other = NULL;
    for (int i = 0; i < pod->nctr && !other; i++) {
        const struct policy_ctr *c = &pod->ctr[i];
        if (c->nums <= 0)
            continue;
        if (!first)
            first = c;
        else if (policy_ctr_backend(c) != policy_ctr_backend(first))
            other = c;
    }
    if (!other)
        return 0;
    for (int i = 0; i < pod->nctr; i++) {
        const struct policy_device_backend *b = policy_ctr_backend(&pod->ctr[i]);
        const struct policy_device_backend *f = policy_ctr_backend(first);
        if (pod->ctr[i].nums > 0 && b->ann_lock != f->ann_lock &&
            !(b->ann_lock && f->ann_lock && strcmp(b->ann_lock, f->ann_lock) == 0)) {
            json_err(err, cap,
                     "containers \"%s\" (%s) and \"%s\" (%s) ask devices of two vendors whose "
                     "binds take different node locks (%s, %s): not supported yet",
                     first->name, policy_device_res(f, POLICY_RES_COUNT), pod->ctr[i].name,
                     policy_device_res(b, POLICY_RES_COUNT),
                     f->ann_lock ? f->ann_lock : MODEL_ANN_LOCK,
                     b->ann_lock ? b->ann_lock : MODEL_ANN_LOCK);
            return ERR_INVAL;
        }
    }
    for (int i = 0; i < pod->nctr; i++) {
        const struct policy_device_backend *b = policy_ctr_backend(&pod->ctr[i]);
        const char *keys[] = {b->ann_use_type,   b->ann_nouse_type, b->ann_use_uuid,
                              b->ann_nouse_uuid, b->ann_vgpu_mode,  b->ann_numa_bind};
        if (pod->ctr[i].nums <= 0)
            continue;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (keys[k] && json_field(anns, keys[k])) {
                json_err(err, cap,
                         "annotation %s on a pod whose containers \"%s\" (%s) and \"%s\" (%s) "
                         "ask devices of two vendors: steering such a pod is not supported yet",
                         keys[k], first->name,
                         policy_device_res(policy_ctr_backend(first), POLICY_RES_COUNT),
                         other->name,
                         policy_device_res(policy_ctr_backend(other), POLICY_RES_COUNT));
                return ERR_INVAL;
            }
    }
    return 0;
}

/* The backend of a pod: its first container's that names one, else the
 * first row. Its annotations steer the pod. */
static const struct policy_device_backend *pod_backend(const cJSON *init, const cJSON *app)
{
    const cJSON *lists[2] = {init, app}, *limits, *requests;
    for (int k = 0; k < 2; k++)
        for (const cJSON *c = lists[k] ? lists[k]->child : NULL; c; c = c->next) {
            ctr_lists(c, &limits, &requests);
            const struct policy_device_backend *b = named_backend(limits, requests);
            if (b)
                return b;
        }
    return policy_device_backend_default();
}

struct model_defaults model_row_defaults(const struct policy_device_backend *b,
                                         const struct model_defaults *d)
{
    if (!b->config_defaults) /* the device config's defaults are NVIDIA's */
        return (struct model_defaults){hami_defaults.default_mem, b->default_cores,
                                       b->mem_unit > 1 ? b->mem_unit : 1};
    return (struct model_defaults){d->default_mem, d->default_cores,
                                   d->mem_factor > 1 ? d->mem_factor : 1};
}

static int ctr_parse(const cJSON *c, const struct model_defaults *d, struct policy_ctr *out,
                     char *err, size_t cap)
{
    const struct policy_device_backend *b;
    const cJSON *res, *limits, *requests;
    int64_t nums, mem, pct, cores, prio;
    bool has_gpu, has_mem, has_pct, has_cores, has_prio;
    int rc;

    if ((rc = json_obj(c, "resources", "resources", &res, err, cap)) ||
        (rc = json_obj(res, "limits", "resources.limits", &limits, err, cap)) ||
        (rc = json_obj(res, "requests", "resources.requests", &requests, err, cap)))
        return rc;
    b = ctr_backend(limits, requests);
    out->backend = b;
    if ((rc = ctr_int(limits, requests, policy_device_res(b, POLICY_RES_COUNT), &nums, &has_gpu,
                      err, cap)))
        return rc;
    out->priority = -1;
    if (!has_gpu)
        return 0; /* HAMi: no count, no request (the webhook adds the count) */
    if (nums < 0 || nums > POLICY_MAX_GPUS) {
        json_err(err, cap, "%s %lld is out of range 0..%d", policy_device_res(b, POLICY_RES_COUNT),
                 (long long)nums, POLICY_MAX_GPUS);
        return ERR_RANGE;
    }
    if ((rc = ctr_int(limits, requests, policy_device_res(b, POLICY_RES_MEM), &mem, &has_mem, err,
                      cap)) ||
        (rc = ctr_int(limits, requests, policy_device_res(b, POLICY_RES_MEM_PCT), &pct, &has_pct,
                      err, cap)) ||
        (rc = ctr_int(limits, requests, policy_device_res(b, POLICY_RES_CORES), &cores, &has_cores,
                      err, cap)) ||
        (rc = ctr_int(limits, requests, policy_device_res(b, POLICY_RES_PRIORITY), &prio, &has_prio,
                      err, cap)))
        return rc;

    struct model_defaults rd = model_row_defaults(b, d);
    int32_t factor = rd.mem_factor; /* memoryFactor, or the vendor's unit (Cambricon: 256 MiB) */
    if (mem < 0 || mem > INT32_MAX / factor) {
        json_err(err, cap, "%s %lld is out of range 0..%d", policy_device_res(b, POLICY_RES_MEM),
                 (long long)mem, INT32_MAX / factor);
        return ERR_RANGE;
    }
    mem *= factor;
    if (mem > 0 && b->mem_request) /* a template row: the template's memory */
        mem = b->mem_request(b, mem);
    if (mem > INT32_MAX) {
        json_err(err, cap, "%s %lld is out of range 0..%d", policy_device_res(b, POLICY_RES_MEM),
                 (long long)mem, INT32_MAX);
        return ERR_RANGE;
    }
    if (pct > 100)
        pct = 100;
    if (pct <= 0)
        has_pct = false; /* HAMi: a non-positive percentage is unset */
    if (mem == 0 && !has_pct) {
        if (rd.default_mem)
            mem = rd.default_mem;
        else
            pct = 100, has_pct = true;
    }
    out->nums = (int32_t)nums;
    out->mem = (int32_t)mem;
    out->mem_pct = mem > 0 ? 0 : (int32_t)pct; /* gpumem wins over a percentage */

    if (cores < 0) {
        json_err(err, cap, "%s %lld is negative", policy_device_res(b, POLICY_RES_CORES),
                 (long long)cores);
        return ERR_RANGE;
    }
    out->cores = has_cores ? (int32_t)(cores > 100 ? 100 : cores) : rd.default_cores;
    if (has_prio && prio != 0 && prio != 1) {
        json_err(err, cap, "%s %lld is not 0 (high) or 1 (low)",
                 policy_device_res(b, POLICY_RES_PRIORITY), (long long)prio);
        return ERR_RANGE;
    }
    out->priority = has_prio ? (int32_t)prio : -1;
    return 0;
}

/* A host resource of a container for kube-scheduler's sums: requests first,
 * then limits (the API server defaults requests to limits). */
/* One host quantity of a container: requests first, then limits. Sets *v to
 * 0 when absent or malformed. */
static int host_qty(const cJSON *requests, const cJSON *limits, const char *key, bool mib,
                    int64_t *v, char *err, size_t cap)
{
    char buf[JSON_QTY_MAX + 1];
    bool present;
    int rc = ctr_res(requests, limits, key, buf, sizeof buf, &present, err, cap);
    *v = 0;
    if (rc || !present)
        return rc;
    rc = mib ? quantity_mib(buf, true, v) : quantity_milli(buf, v);
    if (!rc && *v < 0)
        rc = ERR_RANGE;
    if (rc) {
        json_qty_err(err, cap, key, buf, rc, false);
        *v = 0;
    }
    return rc;
}

/* A container's cpu (milli) and memory (MiB) for kube-scheduler's sums:
 * requests first, then limits (the API server defaults requests to limits).
 * Each is computed even when the other fails; the first error is returned. */
static int host_res(const cJSON *c, int64_t *cpu, int64_t *mem, char *err, size_t cap)
{
    const cJSON *res, *limits, *requests;
    int rc;

    *cpu = *mem = 0;
    if ((rc = json_obj(c, "resources", "resources", &res, err, cap)) ||
        (rc = json_obj(res, "limits", "resources.limits", &limits, err, cap)) ||
        (rc = json_obj(res, "requests", "resources.requests", &requests, err, cap)))
        return rc;
    rc = host_qty(requests, limits, "cpu", false, cpu, err, cap);
    int rc2 = host_qty(requests, limits, "memory", true, mem, rc ? NULL : err, cap);
    return rc ? rc : rc2;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Name of container i for messages. */
static const char *ctr_name(const cJSON *c)
{
    const cJSON *n = json_field(c, "name");
    return cJSON_IsString(n) && n->valuestring ? n->valuestring : "";
}

/* The pod's containers: init containers then app containers. Checks shape
 * and the count; *ninit and *napp are set. */
static int pod_containers(const cJSON *pod, const cJSON **init, const cJSON **app, int *ninit,
                          int *napp, char *err, size_t cap)
{
    const cJSON *spec;
    int rc;

    *init = *app = NULL;
    *ninit = *napp = 0;
    if ((rc = json_obj(pod, "spec", "spec", &spec, err, cap)) ||
        (rc = json_arr(spec, "initContainers", "spec.initContainers", init, err, cap)) ||
        (rc = json_arr(spec, "containers", "spec.containers", app, err, cap)))
        return rc;
    *ninit = json_count(*init, POLICY_MAX_CONTAINERS);
    *napp = json_count(*app, POLICY_MAX_CONTAINERS);
    if (*ninit + *napp > POLICY_MAX_CONTAINERS) {
        json_err(err, cap, "pod has more than %d containers", POLICY_MAX_CONTAINERS);
        return ERR_TOOBIG;
    }
    const cJSON *lists[2] = {*init, *app};
    static const char *const what[2] = {"spec.initContainers", "spec.containers"};
    for (int k = 0; k < 2; k++) {
        int i = 0;
        for (const cJSON *c = lists[k] ? lists[k]->child : NULL; c; c = c->next, i++) {
            const char *name;
            if (!cJSON_IsObject(c)) {
                json_err(err, cap, "%s[%d] is not a JSON object", what[k], i);
                return ERR_INVAL;
            }
            if ((rc = json_str(c, "name", MODEL_NAME_MAX, "container name", &name, err, cap)))
                return rc;
        }
    }
    return 0;
}

/* An init container with restartPolicy Always: a Kubernetes sidecar. */
static bool is_sidecar(const cJSON *c)
{
    const cJSON *r = json_field(c, "restartPolicy");
    return cJSON_IsString(r) && r->valuestring && strcmp(r->valuestring, "Always") == 0;
}

/* cpu/memory the pod asks of the host, as Kubernetes charges it: the
 * larger of each plain init container plus the sidecars started before
 * it, and the app containers plus every sidecar. Not strict: a container
 * whose cpu or memory does not parse counts 0. */
static int pod_host(const cJSON *init, const cJSON *app, bool strict, int64_t *cpu, int64_t *mem,
                    char *err, size_t cap)
{
    int64_t icpu = 0, imem = 0, scpu = 0, smem = 0, acpu = 0, amem = 0, c, m;
    int rc;
    for (const cJSON *x = init ? init->child : NULL; x; x = x->next) {
        if ((rc = host_res(x, &c, &m, err, cap)) && strict) {
            json_err_prefix(err, cap, "container \"%s\"", ctr_name(x));
            return rc;
        }
        if (is_sidecar(x)) {
            scpu = sat_add(scpu, c);
            smem = sat_add(smem, m);
            continue;
        }
        icpu = sat_add(scpu, c) > icpu ? sat_add(scpu, c) : icpu;
        imem = sat_add(smem, m) > imem ? sat_add(smem, m) : imem;
    }
    for (const cJSON *x = app ? app->child : NULL; x; x = x->next) {
        if ((rc = host_res(x, &c, &m, err, cap)) && strict) {
            json_err_prefix(err, cap, "container \"%s\"", ctr_name(x));
            return rc;
        }
        acpu = sat_add(acpu, c);
        amem = sat_add(amem, m);
    }
    acpu = sat_add(acpu, scpu);
    amem = sat_add(amem, smem);
    *cpu = icpu > acpu ? icpu : acpu;
    *mem = imem > amem ? imem : amem;
    return 0;
}

/* metadata.namespace/name/uid, checked. */
static int pod_ids(const cJSON *pod, const cJSON **meta, const char **ns, const char **name,
                   const char **uid, char *err, size_t cap)
{
    int rc;
    if (!cJSON_IsObject(pod)) {
        json_err(err, cap, "pod is not a JSON object");
        return ERR_INVAL;
    }
    if ((rc = json_obj(pod, "metadata", "metadata", meta, err, cap)) ||
        (rc = json_str(*meta, "namespace", NS_MAX, "metadata.namespace", ns, err, cap)) ||
        (rc = json_str(*meta, "name", MODEL_NAME_MAX, "metadata.name", name, err, cap)) ||
        (rc = json_str(*meta, "uid", UID_MAX, "metadata.uid", uid, err, cap)))
        return rc;
    return 0;
}

static int pod_node_policy(const char *v, struct policy_pod *out, char *err, size_t cap)
{
    out->node_policy = policy_node_policy_find(v);
    if (out->node_policy)
        return 0;
    char known[256] = "";
    size_t len = 0;
    for (const char *const *n = policy_node_policy_names(); *n; n++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", len ? ", " : "", *n);
        if (w < 0 || (size_t)w >= sizeof known - len)
            break;
        len += (size_t)w;
    }
    json_err(err, cap, "annotation %s: unknown policy \"%.*s\" (known: %s)", MODEL_ANN_NODE_POL,
             JSON_SHOW_MAX, v, known);
    return ERR_INVAL;
}

static int pod_annotations(const cJSON *anns, const struct policy_device_backend *b,
                           struct policy_pod *out, char *err, size_t cap)
{
    char detail[256];
    const char *v;
    int rc;

    if ((rc = json_ann(anns, MODEL_ANN_NODE_POL, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v && *v && (rc = pod_node_policy(v, out, err, cap)))
        return rc;
    if ((rc = json_ann(anns, MODEL_ANN_GPU_POL, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v && *v) {
        detail[0] = '\0';
        if ((rc = policy_gpu_policy_parse(v, &out->gpu, detail, sizeof detail))) {
            json_err(err, cap, "annotation %s: \"%.*s\": %s", MODEL_ANN_GPU_POL, JSON_SHOW_MAX, v,
                     detail);
            return rc;
        }
        out->gpu_set = true;
    }
    out->w = (struct policy_weights){1, 1, 1};
    if ((rc = json_ann(anns, MODEL_ANN_WEIGHTS, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    if (v) {
        detail[0] = '\0';
        if ((rc = policy_weights_parse(v, &out->w, detail, sizeof detail))) {
            json_err(err, cap, "annotation %s: \"%.*s\": %s", MODEL_ANN_WEIGHTS, JSON_SHOW_MAX, v,
                     detail);
            return rc;
        }
    }
    if ((rc = json_ann(anns, b->ann_use_type, MODEL_POD_ANN_MAX, &out->use_type, err, cap)) ||
        (rc = json_ann(anns, b->ann_nouse_type, MODEL_POD_ANN_MAX, &out->nouse_type, err, cap)) ||
        (rc = json_ann(anns, b->ann_use_uuid, MODEL_POD_ANN_MAX, &out->use_uuid, err, cap)) ||
        (rc = json_ann(anns, b->ann_nouse_uuid, MODEL_POD_ANN_MAX, &out->nouse_uuid, err, cap)) ||
        (rc = json_ann(anns, b->ann_vgpu_mode, MODEL_POD_ANN_MAX, &out->vgpu_mode, err, cap)) ||
        (rc = json_ann(anns, b->ann_numa_bind, MODEL_POD_ANN_MAX, &v, err, cap)))
        return rc;
    bool numa = false;
    if (v && strconv_bool(v, strlen(v), &numa))
        numa = false; /* HAMi: an unparsable value is false */
    out->numa_bind = numa;
    return 0;
}

const char *model_ctr_unknown_resource(const cJSON *c, const struct policy_device_backend **row)
{
    const cJSON *limits, *requests, *e;
    ctr_lists(c, &limits, &requests);
    const cJSON *lists[2] = {cJSON_IsObject(limits) ? limits : NULL,
                             cJSON_IsObject(requests) ? requests : NULL};
    for (int k = 0; k < 2; k++)
        for (e = lists[k] ? lists[k]->child : NULL; e; e = e->next) {
            const struct policy_device_backend *b =
                e->string ? policy_device_res_unknown(e->string) : NULL;
            if (b) {
                if (row)
                    *row = b;
                return e->string;
            }
        }
    return NULL;
}

/* The names row b reads, comma list, into buf. */
static void row_names(const struct policy_device_backend *b, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int r = 0; r < POLICY_RES_N && n < cap; r++)
        if (policy_device_res(b, (enum policy_res)r))
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "",
                                  policy_device_res(b, (enum policy_res)r));
}

int model_pod_unknown_resource(const cJSON *pod, char *err, size_t cap)
{
    const cJSON *spec = json_field(pod, "spec");
    const char *lists[2] = {"initContainers", "containers"};
    const struct policy_device_backend *b = NULL;
    char names[512];
    for (int k = 0; k < 2; k++) {
        const cJSON *arr = json_field(spec, lists[k]);
        for (const cJSON *c = cJSON_IsArray(arr) ? arr->child : NULL; c; c = c->next) {
            const char *res = model_ctr_unknown_resource(c, &b);
            if (!res)
                continue;
            row_names(b, names, sizeof names);
            json_err(err, cap,
                     "container \"%.64s\": resource \"%.80s\" is not read by any device "
                     "backend (%s reads %s): fix the name",
                     ctr_name(c), res, b->name, names);
            return ERR_INVAL;
        }
    }
    return 0;
}

/* spec.priority (the value of the pod's PriorityClass, set at admission):
 * absent or null 0; not a whole number in int32's range ERR_RANGE. */
static int pod_priority(const cJSON *pod, int32_t *out, char *err, size_t cap)
{
    const cJSON *v = json_field(json_field(pod, "spec"), "priority");
    *out = 0;
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT32_MIN && v->valuedouble <= INT32_MAX) ||
        v->valuedouble != (double)(int32_t)v->valuedouble) {
        json_err(err, cap, "spec.priority is not a whole number in %d..%d", INT32_MIN, INT32_MAX);
        return ERR_RANGE;
    }
    *out = (int32_t)v->valuedouble;
    return 0;
}

int model_pod_parse(const cJSON *pod, const struct model_defaults *d, struct policy_pod *out,
                    char *err, size_t cap)
{
    const cJSON *meta = NULL, *anns, *init, *app;
    int ninit, napp, rc;

    memset(out, 0, sizeof *out);
    if (!d)
        d = &hami_defaults;
    if ((rc = pod_ids(pod, &meta, &out->ns, &out->name, &out->uid, err, cap)) ||
        (rc = pod_containers(pod, &init, &app, &ninit, &napp, err, cap)))
        return rc;
    if (ninit + napp == 0) {
        json_err(err, cap, "pod has no containers");
        return ERR_INVAL;
    }
    out->ninit = ninit;
    out->nctr = ninit + napp;
    int i = 0;
    for (int k = 0; k < 2; k++) {
        for (const cJSON *c = k ? (app ? app->child : NULL) : (init ? init->child : NULL); c;
             c = c->next, i++) {
            out->ctr[i].name = ctr_name(c);
            if ((rc = ctr_parse(c, d, &out->ctr[i], err, cap))) {
                json_err_prefix(err, cap, "container \"%s\"", out->ctr[i].name);
                return rc;
            }
            out->ctr[i].sidecar = k == 0 && is_sidecar(c);
        }
    }
    if ((rc = pod_host(init, app, true, &out->cpu_milli, &out->mem_mib, err, cap)) ||
        (rc = json_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)) ||
        (rc = pod_vendors_steered(out, anns, err, cap)) ||
        (rc = pod_annotations(anns, pod_backend(init, app), out, err, cap)))
        return rc;
    out->quota_mem = -1;
    out->quota_cores = -1;
    return pod_priority(pod, &out->spec_priority, err, cap);
}

/* An annotation a pod owner may write: as ann_str, but a value over max
 * reads as absent and sets *toolong (when not NULL) instead of failing. */
static int ann_owned(const cJSON *anns, const char *key, size_t max, const char **out,
                     bool *toolong, char *err, size_t cap)
{
    int rc = json_ann(anns, key, max, out, err, cap);
    if (rc != ERR_TOOBIG)
        return rc;
    *out = NULL;
    if (toolong)
        *toolong = true;
    json_err(err, cap, "%s", "");
    return 0;
}

/* hami.io/bind-time: unix seconds; 0 when absent or not a whole number. */
static double bind_time(const char *v)
{
    int64_t t;
    if (!v || strconv_int(v, strlen(v), 1, INT64_C(1) << 40, &t) != 0)
        return 0;
    return (double)t;
}

/* Container i's GPU request into out->ask, when it asks any. A request
 * that does not parse asks whole GPUs, as many as it names (1..max). */
static void pod_ask(const cJSON *c, int i, struct model_pod_info *out)
{
    struct policy_ctr pc;
    char err[256];
    memset(&pc, 0, sizeof pc);
    if (ctr_parse(c, &hami_defaults, &pc, err, sizeof err) != 0) {
        const cJSON *res = NULL, *limits = NULL, *requests = NULL;
        int64_t nums = 0;
        bool has = false;
        if (json_obj(c, "resources", "resources", &res, err, sizeof err) == 0 &&
            json_obj(res, "limits", "limits", &limits, err, sizeof err) == 0 &&
            json_obj(res, "requests", "requests", &requests, err, sizeof err) == 0)
            ctr_int(limits, requests,
                    policy_device_res(ctr_backend(limits, requests), POLICY_RES_COUNT), &nums, &has,
                    err, sizeof err);
        if (!has)
            return;
        pc.nums = nums < 1 ? 1 : nums > POLICY_MAX_GPUS ? POLICY_MAX_GPUS : (int32_t)nums;
        pc.mem = 0;
        pc.mem_pct = 100;
        pc.cores = 100;
    }
    if (pc.nums <= 0)
        return;
    if (pc.priority == 0)
        out->high |= UINT64_C(1) << i;
    out->ask[out->nask++] = (struct model_gpu_ask){(uint8_t)i, (uint8_t)pc.nums,
                                                   (uint8_t)pc.mem_pct, (uint8_t)pc.cores, pc.mem};
}

/* Did init container c (not a sidecar) exit 0, per status.initContainerStatuses? */
static bool init_exited_ok(const cJSON *statuses, const cJSON *c)
{
    const char *name = ctr_name(c);
    int seen = 0;
    for (const cJSON *s = statuses ? statuses->child : NULL; s && seen < POLICY_MAX_CONTAINERS;
         s = s->next, seen++) {
        const cJSON *n = json_field(s, "name");
        if (!cJSON_IsString(n) || !n->valuestring || strcmp(n->valuestring, name) != 0)
            continue;
        const cJSON *t = json_field(json_field(s, "state"), "terminated");
        const cJSON *code = json_field(t, "exitCode");
        return cJSON_IsNumber(code) && code->valuedouble == 0;
    }
    return false;
}

/* Sidecars (bit i: container i) and whether every plain init container
 * has exited 0 (HAMi's gate for giving their share back; sidecars never
 * exit, so they are left out of it). A status of any other shape reads as
 * not done. */
static void pod_init_state(const cJSON *init, const cJSON *status, struct model_pod_info *out)
{
    const cJSON *statuses = json_field(status, "initContainerStatuses");
    int i = 0, plain = 0, done = 0;
    if (!cJSON_IsArray(statuses))
        statuses = NULL;
    for (const cJSON *c = init ? init->child : NULL; c && i < POLICY_MAX_CONTAINERS;
         c = c->next, i++) {
        if (is_sidecar(c)) {
            out->sidecars |= UINT64_C(1) << i;
            continue;
        }
        plain++;
        done += init_exited_ok(statuses, c);
    }
    out->init_done = plain > 0 && done == plain;
}

/* What preemption reads: priority, labels, the nominated node. Never an
 * error (model.h). */
static void pod_preemption(const cJSON *meta, const cJSON *spec, const cJSON *status,
                           struct model_pod_info *out)
{
    const cJSON *prio = json_field(spec, "priority"), *labels = json_field(meta, "labels");
    const char *nom = cJSON_GetStringValue(json_field(status, "nominatedNodeName"));
    if (cJSON_IsNumber(prio) && prio->valuedouble >= INT32_MIN && prio->valuedouble <= INT32_MAX &&
        prio->valuedouble == (double)(int32_t)prio->valuedouble)
        out->priority = (int32_t)prio->valuedouble;
    out->labels = cJSON_IsObject(labels) ? labels : NULL;
    out->nominated = nom && *nom && strlen(nom) <= MODEL_NAME_MAX ? nom : NULL;
}

/* Every row's allocation annotation the pod carries, in table order (a pod
 * whose containers ask two vendors carries one per vendor). */
static int pod_rows_allocated(const cJSON *anns, struct model_pod_info *out, char *err, size_t cap)
{
    for (int i = 0; policy_device_backends[i]; i++) {
        const char *key = policy_device_backends[i]->ann_allocated, *v = NULL;
        bool toolong = false, seen = false;
        for (int k = 0; k < i; k++)
            seen |= strcmp(policy_device_backends[k]->ann_allocated, key) == 0;
        int rc = seen ? 0 : ann_owned(anns, key, MODEL_POD_ANN_MAX, &v, &toolong, err, cap);
        if (rc)
            return rc;
        out->devices_bad |= toolong;
        if (v && out->ndevices_rows < POLICY_DEVICE_ROWS_MAX)
            out->devices_rows[out->ndevices_rows++] = v;
    }
    return 0;
}

char *model_devices_merge(const char *const *parts, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(parts[i]) + 1;
    char *out = mem_alloc(len), *at = out;
    const char *cur[POLICY_DEVICE_ROWS_MAX];
    n = n < POLICY_DEVICE_ROWS_MAX ? n : POLICY_DEVICE_ROWS_MAX;
    for (int i = 0; i < n; i++)
        cur[i] = parts[i];
    for (;;) {
        bool more = false;
        for (int i = 0; i < n; i++)
            more |= *cur[i] != '\0';
        if (!more)
            break;
        for (int i = 0; i < n; i++) {
            size_t seg = strcspn(cur[i], ";");
            memcpy(at, cur[i], seg);
            at += seg;
            cur[i] += seg;
            if (*cur[i] == ';')
                cur[i]++;
        }
        *at++ = ';';
    }
    *at = '\0';
    return out;
}

int model_pod_info(const cJSON *pod, struct model_pod_info *out, char *err, size_t cap)
{
    const cJSON *meta = NULL, *anns, *spec, *status, *init, *app;
    const char *phase, *bt;
    int ninit, napp, rc;

    memset(out, 0, sizeof *out);
    if ((rc = pod_ids(pod, &meta, &out->ns, &out->name, &out->uid, err, cap)) ||
        (rc = json_str(meta, "resourceVersion", RV_MAX, "metadata.resourceVersion",
                       &out->resource_version, err, cap)) ||
        (rc = json_obj(meta, "annotations", "metadata.annotations", &anns, err, cap)) ||
        (rc = json_obj(pod, "spec", "spec", &spec, err, cap)) ||
        (rc = json_str(spec, "nodeName", MODEL_NAME_MAX, "spec.nodeName", &out->node_name, err,
                       cap)) ||
        (rc = json_str(spec, "schedulerName", MODEL_NAME_MAX, "spec.schedulerName",
                       &out->scheduler_name, err, cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_VGPU_NODE, MODEL_NAME_MAX, &out->vgpu_node, NULL, err,
                        cap)) ||
        (rc = ann_owned(anns, POLICY_MIG_ANN_ALLOCATIONS, MODEL_POD_ANN_MAX, &out->mig, NULL, err,
                        cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_BIND_PHASE, PHASE_MAX, &out->bind_phase, NULL, err, cap)) ||
        (rc = ann_owned(anns, MODEL_ANN_BIND_TIME, TIME_MAX, &bt, NULL, err, cap)) ||
        (rc = json_obj(pod, "status", "status", &status, err, cap)) ||
        (rc = json_str(status, "phase", PHASE_MAX, "status.phase", &phase, err, cap)) ||
        (rc = pod_containers(pod, &init, &app, &ninit, &napp, err, cap)) ||
        (rc = pod_host(init, app, false, &out->cpu_milli, &out->mem_mib, err, cap)) ||
        (rc = ann_owned(anns, pod_backend(init, app)->ann_allocated, MODEL_POD_ANN_MAX,
                        &out->devices, &out->devices_bad, err, cap)) ||
        (rc = pod_rows_allocated(anns, out, err, cap)))
        goto out;
    out->ninit = ninit;
    out->nctr = ninit + napp;
    out->bind_time = bind_time(bt);
    pod_init_state(init, status, out);
    int i = 0;
    for (const cJSON *c = init ? init->child : NULL; c; c = c->next)
        pod_ask(c, i++, out);
    for (const cJSON *c = app ? app->child : NULL; c; c = c->next)
        pod_ask(c, i++, out);
    out->terminal = json_field(meta, "deletionTimestamp") != NULL ||
                    (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
    pod_preemption(meta, spec, status, out);
out:
    if (rc && out->name)
        json_err_prefix(err, cap, "pod \"%s/%s\"", out->ns ? out->ns : "", out->name);
    return rc;
}

/* ---- the compact copy kept for bind ---- */

/* A copy of leaf v for the compact pod: a string of at most
 * MODEL_POD_ANN_MAX bytes, a number, a boolean or null as it is; an object
 * or array becomes an empty one of its kind (the parser refuses it the same
 * way it refuses the original). NULL when a string is longer. */
static cJSON *compact_leaf(const cJSON *v)
{
    if (cJSON_IsString(v))
        return v->valuestring && strlen(v->valuestring) <= MODEL_POD_ANN_MAX
                   ? cJSON_CreateString(v->valuestring)
                   : NULL;
    if (cJSON_IsObject(v))
        return cJSON_CreateObject();
    if (cJSON_IsArray(v))
        return cJSON_CreateArray();
    return cJSON_Duplicate(v, false);
}

/* out[key] = a compact copy of obj[key] (its first occurrence, which is the
 * one the parser reads), when present. ERR_TOOBIG when it is too long. */
static int compact_keep(cJSON *out, const cJSON *obj, const char *key)
{
    const cJSON *v = key && cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v)
        return 0;
    cJSON *c = compact_leaf(v);
    if (!c)
        return ERR_TOOBIG;
    cJSON_AddItemToObject(out, key, c);
    return 0;
}

/* out[key] = an object to copy members of obj[key] into; NULL when obj[key]
 * is absent or not an object (then it is copied as a leaf: *rc set on a
 * string too long). */
static cJSON *compact_obj(cJSON *out, const cJSON *obj, const char *key, int *rc)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (!v)
        return NULL;
    if (!cJSON_IsObject(v)) {
        *rc = compact_keep(out, obj, key);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(out, key, o);
    return o;
}

/* A resource list (limits or requests): cpu, memory and every name a
 * device backend reads (as renamed now, and its own name). */
static int compact_res(cJSON *out, const cJSON *from)
{
    int rc = compact_keep(out, from, "cpu");
    if (!rc)
        rc = compact_keep(out, from, "memory");
    for (const struct policy_device_backend *const *b = policy_device_backends; *b && !rc; b++)
        for (int r = 0; r < POLICY_RES_N && !rc; r++) {
            const char *now = policy_device_res(*b, (enum policy_res)r);
            if (now && !cJSON_GetObjectItemCaseSensitive(out, now))
                rc = compact_keep(out, from, now);
            const char *own = (*b)->res[r];
            if (!rc && own && !cJSON_GetObjectItemCaseSensitive(out, own))
                rc = compact_keep(out, from, own);
        }
    return rc;
}

/* One container: its name, restartPolicy and resources' limits and requests. */
static int compact_ctr(cJSON *arr, const cJSON *c)
{
    if (!cJSON_IsObject(c)) {
        cJSON *l = compact_leaf(c);
        if (!l)
            return ERR_TOOBIG;
        cJSON_AddItemToArray(arr, l);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    int rc = 0;
    cJSON_AddItemToArray(arr, o);
    if ((rc = compact_keep(o, c, "name")) || (rc = compact_keep(o, c, "restartPolicy")))
        return rc;
    cJSON *res = compact_obj(o, c, "resources", &rc);
    const cJSON *from = json_field(c, "resources");
    static const char *const lists[] = {"limits", "requests"};
    for (int k = 0; k < 2 && res && !rc; k++) {
        cJSON *l = compact_obj(res, from, lists[k], &rc);
        if (l)
            rc = compact_res(l, json_field(from, lists[k]));
    }
    return rc;
}

/* spec.initContainers or spec.containers: at most one container past
 * POLICY_MAX_CONTAINERS (so the parser still finds too many). */
static int compact_ctrs(cJSON *spec, const cJSON *from, const char *key)
{
    const cJSON *v = cJSON_IsObject(from) ? cJSON_GetObjectItemCaseSensitive(from, key) : NULL;
    int rc = 0, n = 0;
    if (!v)
        return 0;
    if (!cJSON_IsArray(v))
        return compact_keep(spec, from, key);
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToObject(spec, key, arr);
    for (const cJSON *c = v->child; c && !rc && n <= POLICY_MAX_CONTAINERS; c = c->next, n++)
        rc = compact_ctr(arr, c);
    return rc;
}

/* The annotations a pod's parse reads: HAMi's three policy keys and every
 * backend's steering keys. */
static int compact_anns(cJSON *out, const cJSON *from)
{
    static const char *const hami[] = {MODEL_ANN_NODE_POL, MODEL_ANN_GPU_POL, MODEL_ANN_WEIGHTS};
    int rc = 0;
    for (size_t i = 0; i < sizeof hami / sizeof hami[0] && !rc; i++)
        rc = compact_keep(out, from, hami[i]);
    for (const struct policy_device_backend *const *b = policy_device_backends; *b && !rc; b++) {
        const char *keys[] = {(*b)->ann_use_type,   (*b)->ann_nouse_type, (*b)->ann_use_uuid,
                              (*b)->ann_nouse_uuid, (*b)->ann_vgpu_mode,  (*b)->ann_numa_bind};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !rc; k++)
            if (keys[k] && !cJSON_GetObjectItemCaseSensitive(out, keys[k]))
                rc = compact_keep(out, from, keys[k]);
    }
    return rc;
}

int model_pod_compact(const cJSON *pod, char **out, char *err, size_t cap)
{
    cJSON *c = cJSON_CreateObject(), *meta, *anns, *spec;
    int rc = 0;
    *out = NULL;
    if (!cJSON_IsObject(pod)) {
        json_err(err, cap, "pod is not a JSON object");
        rc = ERR_INVAL;
        goto out;
    }
    const cJSON *m = json_field(pod, "metadata"), *s = json_field(pod, "spec");
    if ((meta = compact_obj(c, pod, "metadata", &rc)) &&
        !(rc = compact_keep(meta, m, "namespace")) && !(rc = compact_keep(meta, m, "name")) &&
        !(rc = compact_keep(meta, m, "uid")) && (anns = compact_obj(meta, m, "annotations", &rc)))
        rc = compact_anns(anns, json_field(m, "annotations"));
    if (!rc && (spec = compact_obj(c, pod, "spec", &rc)) &&
        !(rc = compact_ctrs(spec, s, "initContainers")) &&
        !(rc = compact_ctrs(spec, s, "containers")))
        rc = compact_keep(spec, s, "priority");
    if (rc) {
        json_err(err, cap, "a value the pod's parse reads is longer than %d bytes",
                 MODEL_POD_ANN_MAX);
        goto out;
    }
    *out = cJSON_PrintUnformatted(c);
out:
    cJSON_Delete(c);
    return rc;
}

/* pod.c: the webhook's rules for a Pod: route, default, deny, warn. */
#include "webhook/pod.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "k8s/quantity.h"
#include "policy/device.h"
#include "policy/device_ascend.h"
#include "policy/policy.h"

#define SHOW_MAX 64 /* bytes of a value from the pod quoted in a message */
#define QTY_MAX  64 /* a quantity's text */

static const char *const lists[2] = {"initContainers", "containers"};

/* The resources the webhook reads (the container's device backend names
 * them), and which of them make a GPU pod. */
enum res {
    R_GPU = POLICY_RES_COUNT,
    R_MEM = POLICY_RES_MEM,
    R_PCT = POLICY_RES_MEM_PCT,
    R_CORES = POLICY_RES_CORES,
    R_PRIO = POLICY_RES_PRIORITY,
    R_COUNT = POLICY_RES_N
};

/* The name of resource r of row b (the operator's, else the row's own). */
static const char *rname(const struct policy_device_backend *b, int r)
{
    return policy_device_res(b, (enum policy_res)r);
}

/* ---- JSON access: exact keys, wrong types read as absent ---- */

static cJSON *member(const cJSON *o, const char *k)
{
    cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

static cJSON *obj(const cJSON *o, const char *k)
{
    cJSON *v = member(o, k);
    return cJSON_IsObject(v) ? v : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    cJSON *v = member(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- messages ---- */

/* Messages go back to people through kube-apiserver (and its Warning
 * headers): printable ASCII only. */
static void clean(char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s >= 0x7f)
            *s = '?';
}

__attribute__((format(printf, 3, 4))) static void deny(struct webhook_pod_verdict *v, int code,
                                                       const char *fmt, ...)
{
    va_list ap;
    v->outcome = WEBHOOK_POD_DENIED;
    v->code = code;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    clean(v->message);
}

__attribute__((format(printf, 2, 3))) static void warn(struct webhook_pod_verdict *v,
                                                       const char *fmt, ...)
{
    va_list ap;
    if (v->nwarn >= WEBHOOK_WARN_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(v->warn[v->nwarn], WEBHOOK_WARN_LEN, fmt, ap);
    va_end(ap);
    clean(v->warn[v->nwarn++]);
}

/* A value from the pod made safe to quote: printable ASCII, at most
 * SHOW_MAX bytes, "..." when cut. */
static const char *show(const char *s, char *buf, size_t cap)
{
    size_t k = 0, i = 0;
    for (; s && s[i] && k + 4 < cap && i < SHOW_MAX; i++)
        buf[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s && s[i])
        k += (size_t)snprintf(buf + k, cap - k, "...");
    buf[k < cap ? k : cap - 1] = '\0';
    return buf;
}

/* ---- containers ---- */

/* One container as the rules see it. */
struct ctr {
    cJSON *c;
    const struct policy_device_backend *b; /* whose resources it names (else the first row) */
    const char *list;                      /* "initContainers" or "containers" */
    int index;
    char name[SHOW_MAX + 8];
    bool has[R_COUNT];
    bool in_limits[R_COUNT];
    const char *text[R_COUNT]; /* the quantity's text (a JSON string); NULL for a number */
    double num[R_COUNT];       /* a JSON number's value */
};

/* The first backend any of whose resources is in the lists, else the
 * first row. */
static const struct policy_device_backend *lists_backend(cJSON *const lists2[2])
{
    for (const struct policy_device_backend *const *b = policy_device_backends; *b; b++)
        for (int r = 0; r < R_COUNT; r++)
            for (int k = 0; k < 2; k++)
                if (rname(*b, r) && member(lists2[k], rname(*b, r)))
                    return *b;
    return policy_device_backend_default();
}

/* Where resource r of a container is: limits first, then requests (HAMi). */
static void ctr_scan(struct ctr *x)
{
    cJSON *res = obj(x->c, "resources");
    cJSON *lists2[2] = {obj(res, "limits"), obj(res, "requests")};
    char buf[SHOW_MAX + 8];
    snprintf(x->name, sizeof x->name, "%s", show(str(x->c, "name"), buf, sizeof buf));
    x->b = lists_backend(lists2);
    for (int r = 0; r < R_COUNT; r++)
        for (int k = 0; k < 2 && !x->has[r] && rname(x->b, r); k++) {
            cJSON *v = member(lists2[k], rname(x->b, r));
            if (v == NULL)
                continue;
            x->has[r] = true;
            x->in_limits[r] = k == 0;
            x->text[r] = cJSON_IsString(v) ? v->valuestring : NULL;
            x->num[r] = cJSON_IsNumber(v) ? v->valuedouble : 0;
            if (!cJSON_IsString(v) && !cJSON_IsNumber(v))
                x->text[r] = ""; /* neither: reads as a bad quantity */
        }
}

/* A container of the row HAMi's defaultGPUNum is for, asking memory or
 * cores without a count, under defaultGPUNum 0: it asks no device (HAMi). */
static bool ctr_countless(const struct webhook_pod_opts *o, const struct ctr *x)
{
    return o && o->default_gpu == WEBHOOK_NO_DEFAULT_GPU && x->b->config_defaults && !x->has[R_GPU];
}

static bool ctr_gpu(const struct webhook_pod_opts *o, const struct ctr *x)
{
    return x->has[R_GPU] ||
           (!ctr_countless(o, x) && (x->has[R_MEM] || x->has[R_PCT] || x->has[R_CORES]));
}

/* The whole-number value of resource r. Returns 0, or ERR_INVAL/ERR_RANGE
 * with a denial message. */
static int ctr_int(const struct ctr *x, enum res r, int64_t *out, struct webhook_pod_verdict *v)
{
    char text[QTY_MAX + 1], shown[SHOW_MAX + 8];
    if (x->text[r] == NULL) {
        double d = x->num[r];
        if (d >= -1e15 && d <= 1e15 && (double)(int64_t)d == d) {
            *out = (int64_t)d;
            return 0;
        }
        snprintf(text, sizeof text, "%g", d);
    } else {
        const char *s = x->text[r];
        size_t n = strlen(s);
        while (n && (*s == ' ' || *s == '\t')) /* Go's Quantity trims spaces */
            s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n > QTY_MAX)
            n = QTY_MAX + 1; /* too long: fails below */
        snprintf(text, sizeof text, "%.*s", (int)(n > QTY_MAX ? QTY_MAX : n), s);
        if (n > QTY_MAX)
            text[0] = '!';
    }
    int rc = quantity_int(text, out);
    if (rc) {
        int64_t milli;
        deny(v, 400, "container \"%s\": %s \"%s\" is %s", x->name, rname(x->b, r),
             show(text, shown, sizeof shown),
             rc == ERR_RANGE                     ? "out of range"
             : quantity_milli(text, &milli) == 0 ? "not a whole number"
                                                 : "not a valid quantity");
    }
    return rc;
}

/* The pointer /spec/<list>/<index>/<a>/<b>/<c> (unused tails NULL). */
static void ctr_ptr(const struct ctr *x, char *out, size_t cap, const char *a, const char *b,
                    const char *c)
{
    char idx[16];
    snprintf(idx, sizeof idx, "%d", x->index);
    const char *tokens[] = {"spec", x->list, idx, a, b, c, NULL};
    if (webhook_patch_pointer(out, cap, tokens))
        out[0] = '\0'; /* cannot happen with these lengths; an empty pointer fails to apply */
}

/* Add resource `name` = value to the container's limits and requests. */
static int ctr_add_resource(const struct ctr *x, struct webhook_patch *p, const char *name,
                            const char *value)
{
    char ptr[WEBHOOK_POINTER_MAX];
    cJSON *res = obj(x->c, "resources");
    int rc = 0;
    if (res == NULL) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "limits"), name, value);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "requests"), name, value);
        ctr_ptr(x, ptr, sizeof ptr, "resources", NULL, NULL);
        return webhook_patch_add(p, ptr, r);
    }
    static const char *const kinds[2] = {"limits", "requests"};
    for (int k = 0; k < 2 && rc == 0; k++) {
        cJSON *m = obj(res, kinds[k]);
        if (m == NULL) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, name, value);
            ctr_ptr(x, ptr, sizeof ptr, "resources", kinds[k], NULL);
            rc = webhook_patch_add(p, ptr, o);
        } else if (member(m, name) == NULL) {
            ctr_ptr(x, ptr, sizeof ptr, "resources", kinds[k], name);
            rc = webhook_patch_add(p, ptr, cJSON_CreateString(value));
        }
    }
    return rc;
}

static cJSON *env_var(const char *name, const char *value)
{
    cJSON *var = cJSON_CreateObject();
    cJSON_AddStringToObject(var, "name", name);
    cJSON_AddStringToObject(var, "value", value);
    return var;
}

/* Set the container's variable name = value. Appended when the container
 * has no entry of that name (the env list made when absent). Otherwise the
 * container's own entry wins, unless force: then each entry of that name
 * with another value (or a valueFrom) is replaced, and *replaced set. */
static int ctr_set_env(const struct ctr *x, struct webhook_patch *p, const char *name,
                       const char *value, bool force, bool *replaced)
{
    char ptr[WEBHOOK_POINTER_MAX], idx[16];
    cJSON *env = member(x->c, "env");
    int found = 0, rc = 0;
    if (env && !cJSON_IsArray(env))
        return 0; /* malformed: the API server's validation says so */
    for (int i = cJSON_GetArraySize(env) - 1; i >= 0 && rc == 0; i--) {
        cJSON *e = cJSON_GetArrayItem(env, i);
        const char *n = str(e, "name"), *v = str(e, "value");
        if (n == NULL || strcmp(n, name) != 0)
            continue;
        found++;
        if (!force || (v && !member(e, "valueFrom") && strcmp(v, value) == 0))
            continue;
        snprintf(idx, sizeof idx, "%d", i);
        ctr_ptr(x, ptr, sizeof ptr, "env", idx, NULL);
        rc = webhook_patch_replace(p, ptr, env_var(name, value));
        *replaced = true;
    }
    if (rc || found)
        return rc;
    if (env == NULL) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, env_var(name, value));
        ctr_ptr(x, ptr, sizeof ptr, "env", NULL, NULL);
        return webhook_patch_add(p, ptr, a);
    }
    ctr_ptr(x, ptr, sizeof ptr, "env", "-", NULL);
    return webhook_patch_add(p, ptr, env_var(name, value));
}

/* Give HAMi-core the priority in the backend's variable (env_priority),
 * unless the container sets that variable itself. */
static int ctr_add_priority(const struct ctr *x, struct webhook_patch *p, int64_t prio)
{
    char val[24];
    bool replaced = false;
    snprintf(val, sizeof val, "%lld", (long long)prio);
    return ctr_set_env(x, p, x->b->env_priority, val, false, &replaced);
}

/* HAMi's gpuCorePolicy (pod.h): "force" or "disable" goes to HAMi-core,
 * over the container's own value. */
static int ctr_core_policy(const struct webhook_pod_opts *o, const struct ctr *x,
                           struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    bool replaced = false;
    if (!o->core_policy || !*o->core_policy || strcmp(o->core_policy, "default") == 0)
        return 0;
    int rc = ctr_set_env(x, p, WEBHOOK_CORE_POLICY_ENV, o->core_policy, true, &replaced);
    if (rc == 0 && replaced)
        warn(v,
             "container \"%s\": %s set to \"%s\", the cluster's GPU core policy "
             "(gpuCorePolicy)",
             x->name, WEBHOOK_CORE_POLICY_ENV, o->core_policy);
    return rc;
}

/* ---- GPU visibility ---- */

/* Whether the container asks for any resource of its backend (res_prefix,
 * e.g. nvidia.com/) but the priority: a device plugin then sets its
 * visibility variable (env_visible, e.g. NVIDIA_VISIBLE_DEVICES). */
static bool ctr_device(const struct webhook_pod_opts *o, const struct ctr *x)
{
    const char *prefix = x->b->res_prefix, *prio = rname(x->b, R_PRIO);
    cJSON *res = obj(x->c, "resources"), *e;
    const char *kinds[2] = {"limits", "requests"};
    bool countless = ctr_countless(o, x), role;
    for (int r = 0; r < R_COUNT && !countless; r++) /* a renamed one may be outside the prefix */
        if (r != R_PRIO && x->has[r])
            return true;
    for (int k = 0; k < 2; k++)
        cJSON_ArrayForEach(e, obj(res, kinds[k]))
        {
            role = false;
            for (int r = 0; r < R_COUNT && countless && e->string; r++)
                role |= rname(x->b, r) && strcmp(e->string, rname(x->b, r)) == 0;
            if (e->string && strncmp(e->string, prefix, strlen(prefix)) == 0 && !role &&
                !(prio && strcmp(e->string, prio) == 0))
                return true;
        }
    return false;
}

/* A value that shows no GPU: "none", "void", "". */
static bool visible_none(const cJSON *e)
{
    const char *v = str(e, "value");
    if (member(e, "valueFrom"))
        return false;
    return v == NULL || *v == '\0' || strcmp(v, WEBHOOK_VISIBLE_NONE) == 0 ||
           strcmp(v, "void") == 0;
}

/* The entry's value for a message: "\"all\"" or "(valueFrom)". */
static const char *visible_shown(const cJSON *e, char *buf, size_t cap)
{
    char shown[SHOW_MAX + 8];
    if (member(e, "valueFrom"))
        return "(valueFrom)";
    snprintf(buf, cap, "\"%s\"", show(str(e, "value"), shown, sizeof shown));
    return buf;
}

static cJSON *visible_var(const struct ctr *x)
{
    cJSON *var = cJSON_CreateObject();
    cJSON_AddStringToObject(var, "name", x->b->env_visible);
    cJSON_AddStringToObject(var, "value", WEBHOOK_VISIBLE_NONE);
    return var;
}

/* Append <env_visible>=none to the container's env (made when absent). */
static int ctr_add_visible(const struct ctr *x, cJSON *env, struct webhook_patch *p)
{
    char ptr[WEBHOOK_POINTER_MAX];
    if (env == NULL) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, visible_var(x));
        ctr_ptr(x, ptr, sizeof ptr, "env", NULL, NULL);
        return webhook_patch_add(p, ptr, a);
    }
    ctr_ptr(x, ptr, sizeof ptr, "env", "-", NULL);
    return webhook_patch_add(p, ptr, visible_var(x));
}

/* The visibility rule on one container (pod.h). Entries are walked from the
 * last, so a removal leaves the indices still to come valid; one warning
 * per container, naming the value that was in effect (the last). */
static int ctr_visible(const struct webhook_pod_opts *o, const struct ctr *x,
                       struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    char ptr[WEBHOOK_POINTER_MAX], idx[16], val[SHOW_MAX + 16];
    cJSON *env = member(x->c, "env");
    bool device, warned = false;
    int found = 0, rc = 0;
    if (!x->b->env_visible || (env && !cJSON_IsArray(env)))
        return 0; /* a vendor without one, or malformed (the API server's validation says so) */
    device = ctr_device(o, x);
    for (int i = cJSON_GetArraySize(env) - 1; i >= 0 && rc == 0; i--) {
        cJSON *e = cJSON_GetArrayItem(env, i);
        const char *n = str(e, "name");
        if (n == NULL || strcmp(n, x->b->env_visible) != 0)
            continue;
        found++;
        if (!device && visible_none(e))
            continue;
        if (!warned && device)
            warn(v,
                 "container \"%s\": %s %s removed: the device plugin sets it to the GPUs it "
                 "allocates",
                 x->name, x->b->env_visible, visible_shown(e, val, sizeof val));
        else if (!warned)
            warn(v,
                 "container \"%s\": %s %s replaced by \"none\": the container asks for no GPU "
                 "(%s*)",
                 x->name, x->b->env_visible, visible_shown(e, val, sizeof val), x->b->res_prefix);
        warned = true;
        snprintf(idx, sizeof idx, "%d", i);
        ctr_ptr(x, ptr, sizeof ptr, "env", idx, NULL);
        rc = device ? webhook_patch_remove(p, ptr) : webhook_patch_replace(p, ptr, visible_var(x));
    }
    if (rc == 0 && !device && found == 0)
        rc = ctr_add_visible(x, env, p);
    return rc;
}

/* ---- the rules ---- */

/* Checks on one container of a GPU pod that need no cluster knowledge. */
static int ctr_check(const struct ctr *x, struct webhook_pod_verdict *v)
{
    int64_t n;
    cJSON *sc = obj(x->c, "securityContext");
    if (cJSON_IsTrue(member(sc, "privileged"))) {
        deny(v, 403,
             "container \"%s\" is privileged and the pod asks for GPUs: a privileged container "
             "sees every GPU of its node, so its GPU share cannot be enforced. Remove "
             "securityContext.privileged, or the %s* resources",
             x->name, x->b->res_prefix);
        return ERR_INVAL;
    }
    if (x->has[R_PCT]) {
        if (ctr_int(x, R_PCT, &n, v))
            return ERR_INVAL;
        if (n < 0 || n > 100) {
            deny(v, 403,
                 "container \"%s\": %s %lld is outside 0..100 (a percentage of each GPU's "
                 "memory)",
                 x->name, rname(x->b, R_PCT), (long long)n);
            return ERR_RANGE;
        }
    }
    if (x->has[R_CORES]) {
        if (ctr_int(x, R_CORES, &n, v))
            return ERR_INVAL;
        if (n < 0 || n > 100) {
            deny(v, 403,
                 "container \"%s\": %s %lld is outside 0..100 (a percentage of each GPU's "
                 "compute; 100 = a whole GPU)",
                 x->name, rname(x->b, R_CORES), (long long)n);
            return ERR_RANGE;
        }
    }
    for (int r = R_GPU; r <= R_MEM; r++)
        if (x->has[r] && ctr_int(x, (enum res)r, &n, v))
            return ERR_INVAL;
    return 0;
}

/* Set resource name = value in the container's list kind ("limits" or
 * "requests"): added when absent, replaced when different. */
static int ctr_put(const struct ctr *x, struct webhook_patch *p, const char *kind, const char *name,
                   const char *value)
{
    char ptr[WEBHOOK_POINTER_MAX];
    cJSON *m = obj(obj(x->c, "resources"), kind), *cur = member(m, name);
    if (m == NULL) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, name, value);
        ctr_ptr(x, ptr, sizeof ptr, "resources", kind, NULL);
        return webhook_patch_add(p, ptr, o);
    }
    ctr_ptr(x, ptr, sizeof ptr, "resources", kind, name);
    if (cur == NULL)
        return webhook_patch_add(p, ptr, cJSON_CreateString(value));
    if (cJSON_IsString(cur) && strcmp(cur->valuestring, value) == 0)
        return 0;
    return webhook_patch_replace(p, ptr, cJSON_CreateString(value));
}

/* HAMi's Ascend admission (policy_vnpu_admit) on a container asking NPUs of
 * a template row: the memory becomes its template's (or the whole card's)
 * in limits and requests, a 910C superPod ask of 1 becomes 2; the soft split
 * (huawei.com/vnpu-mode: hami-core) is refused, as no node here takes it. */
static int ctr_vnpu(const struct ctr *x, const char *mode, struct webhook_patch *p,
                    struct webhook_pod_verdict *v)
{
    int64_t count = 0, mem = 0, cores = 0, count_out, mem_out;
    char why[400], val[24];
    int rc;
    if (!x->has[R_GPU])
        return 0; /* HAMi: memory without a count asks nothing */
    if (mode && strcmp(mode, POLICY_VNPU_SOFT) == 0) {
        deny(v, 403,
             "container \"%s\" asks %s with %s \"%s\" (the soft split): this scheduler places "
             "vNPU templates only, so no node would take the pod (ModeNotFit). Remove the "
             "annotation",
             x->name, policy_device_res(x->b, POLICY_RES_COUNT), POLICY_VNPU_MODE_ANN,
             POLICY_VNPU_SOFT);
        return ERR_UNSUPPORTED;
    }
    if (ctr_int(x, R_GPU, &count, v) || (x->has[R_MEM] && ctr_int(x, R_MEM, &mem, v)) ||
        (x->has[R_CORES] && ctr_int(x, R_CORES, &cores, v)))
        return ERR_INVAL;
    if (count <= 0)
        return 0;
    if (policy_vnpu_admit(x->b, count, x->has[R_MEM], mem, cores, &count_out, &mem_out, why,
                          sizeof why)) {
        deny(v, 403, "container \"%s\": %s", x->name, why);
        return ERR_INVAL;
    }
    if (count_out != count) {
        snprintf(val, sizeof val, "%lld", (long long)count_out);
        if ((rc = ctr_put(x, p, "limits", policy_device_res(x->b, POLICY_RES_COUNT), val)) ||
            (member(obj(obj(x->c, "resources"), "requests"),
                    policy_device_res(x->b, POLICY_RES_COUNT)) &&
             (rc = ctr_put(x, p, "requests", policy_device_res(x->b, POLICY_RES_COUNT), val))))
            return rc;
    }
    snprintf(val, sizeof val, "%lld", (long long)mem_out);
    if ((rc = ctr_put(x, p, "limits", policy_device_res(x->b, POLICY_RES_MEM), val)) ||
        (rc = ctr_put(x, p, "requests", policy_device_res(x->b, POLICY_RES_MEM), val)))
        return rc;
    return 0;
}

/* HAMi's defaults for one container, then the priority and core policy
 * variables. */
static int ctr_mutate(const struct webhook_pod_opts *o, struct ctr *x, const char *mode,
                      struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    int64_t gpus = o->default_gpu > 0 ? o->default_gpu : 1, pct = 0, prio;
    char count[24];
    int rc = 0;
    if (x->b->vnpu)
        return ctr_vnpu(x, mode, p, v);
    if (!x->b->config_defaults)
        return 0; /* HAMi's other vendors admit the request as it is */
    if (!x->has[R_GPU] && (x->has[R_MEM] || x->has[R_PCT] || x->has[R_CORES])) {
        snprintf(count, sizeof count, "%lld", (long long)gpus);
        if ((rc = ctr_add_resource(x, p, rname(x->b, R_GPU), count)))
            return rc;
        x->has[R_GPU] = true;
    } else if (x->has[R_GPU] && (rc = ctr_int(x, R_GPU, &gpus, v))) {
        return rc;
    }
    if (x->has[R_PCT] && (rc = ctr_int(x, R_PCT, &pct, v)))
        return rc;
    bool exclusive = x->has[R_PCT] ? pct == 100 : !x->has[R_MEM];
    if (x->has[R_GPU] && gpus > 0 && !x->has[R_CORES] && exclusive) {
        if ((rc = ctr_add_resource(x, p, rname(x->b, R_CORES), "100")))
            return rc;
        x->has[R_CORES] = true;
    }
    if (x->has[R_PRIO] && x->in_limits[R_PRIO]) {
        if ((rc = ctr_int(x, R_PRIO, &prio, v)))
            return rc;
        if ((rc = ctr_add_priority(x, p, prio)))
            return rc;
    }
    return ctr_core_policy(o, x, p, v);
}

/* Warn about our annotations with values the scheduler will refuse; list
 * them in bad (NULL-terminated) so the request can be read without them. */
static void check_annotations(const cJSON *anns, struct webhook_pod_verdict *v, const char **bad)
{
    char why[256], shown[SHOW_MAX + 8];
    const char *s;
    int nbad = 0;
    struct policy_gpu_policy g;
    struct policy_weights w;
    bad[0] = NULL;
    if ((s = str(anns, MODEL_ANN_NODE_POL)) && *s && !policy_node_policy_find(s)) {
        char known[128] = "";
        size_t k = 0;
        for (const char *const *n = policy_node_policy_names(); *n && k < sizeof known; n++)
            k += (size_t)snprintf(known + k, sizeof known - k, "%s%s", k ? ", " : "", *n);
        warn(v,
             "annotation %s: unknown policy \"%s\" (want %s); the scheduler will not place "
             "this pod until it is fixed",
             MODEL_ANN_NODE_POL, show(s, shown, sizeof shown), known);
        bad[nbad++] = MODEL_ANN_NODE_POL;
    }
    if ((s = str(anns, MODEL_ANN_GPU_POL)) && *s &&
        policy_gpu_policy_parse(s, &g, why, sizeof why)) {
        warn(v, "annotation %s: %s; the scheduler will not place this pod until it is fixed",
             MODEL_ANN_GPU_POL, why);
        bad[nbad++] = MODEL_ANN_GPU_POL;
    }
    if ((s = str(anns, MODEL_ANN_WEIGHTS)) && policy_weights_parse(s, &w, why, sizeof why)) {
        warn(v,
             "annotation %s: \"%s\": %s; the scheduler will not place this pod until it is "
             "fixed",
             MODEL_ANN_WEIGHTS, show(s, shown, sizeof shown), why);
        bad[nbad++] = MODEL_ANN_WEIGHTS;
    }
    bad[nbad] = NULL;
}

/* Read the request as the extender will (model_pod_parse) and check the
 * memory per GPU against the largest GPU. */
static void check_request(const struct webhook_pod_opts *o, cJSON *pod, const char *const *bad,
                          struct webhook_pod_verdict *v)
{
    struct policy_pod *pp = mem_zalloc(sizeof *pp); /* ~2 KiB: not on a worker's stack */
    char err[512];
    cJSON *copy = NULL, *target = pod;
    if (bad[0]) { /* warned about already: read the rest without them */
        copy = cJSON_Duplicate(pod, 1);
        cJSON *anns = obj(obj(copy, "metadata"), "annotations");
        for (int i = 0; bad[i]; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(anns, bad[i]);
        target = copy;
    }
    err[0] = '\0';
    if (target == NULL || model_pod_parse(target, NULL, pp, err, sizeof err)) {
        deny(v, 400, "the pod's GPU request cannot be read: %s", err[0] ? err : "out of memory");
        goto out;
    }
    int64_t max = o->max_gpu_mem_fn ? o->max_gpu_mem_fn(o->ctx) : o->max_gpu_mem;
    for (int i = 0; max > 0 && i < pp->nctr; i++) {
        const struct policy_ctr *c = &pp->ctr[i];
        const struct policy_device_backend *b =
            c->backend ? c->backend : policy_device_backend_default();
        if (c->nums > 0 && c->mem > max) {
            deny(v, 403,
                 "container \"%.64s\" asks for %d MiB of memory per GPU (%s), but the largest "
                 "GPU in the cluster has %lld MiB: the pod could never run. Ask for at most "
                 "%lld MiB, or for a share with %s",
                 c->name, (int)c->mem, rname(b, R_MEM), (long long)max, (long long)max,
                 rname(b, R_PCT) ? rname(b, R_PCT) : rname(b, R_MEM));
            goto out;
        }
    }
out:
    cJSON_Delete(copy);
    free(pp);
}

/* Call step on every container (init containers first), its resources
 * scanned, until a step returns true; returns whether one did. */
static bool walk(cJSON *spec, bool (*step)(struct ctr *x, void *ctx), void *ctx)
{
    struct ctr x;
    for (int l = 0; l < 2; l++) {
        cJSON *arr = member(spec, lists[l]), *c;
        int i = 0;
        if (!cJSON_IsArray(arr))
            continue;
        cJSON_ArrayForEach(c, arr)
        {
            memset(&x, 0, sizeof x);
            x.c = c;
            x.list = lists[l];
            x.index = i++;
            ctr_scan(&x);
            if (step(&x, ctx))
                return true;
        }
    }
    return false;
}

/* ctx: the webhook_pod_opts. */
static bool any_gpu(struct ctr *x, void *ctx)
{
    return ctr_gpu(ctx, x);
}

static bool check(struct ctr *x, void *verdict)
{
    return ctr_check(x, verdict) != 0;
}

struct mutation {
    const struct webhook_pod_opts *o;
    struct webhook_patch *p;
    struct webhook_pod_verdict *v;
    const char *vnpu_mode;  /* the pod's huawei.com/vnpu-mode, or NULL */
    const char *vnpu_class; /* a template row's runtimeClassName, or NULL */
};

/* HAMi's defaults on a GPU container; true (stop) once the pod is denied. */
static bool mutate(struct ctr *x, void *ctx)
{
    struct mutation *m = ctx;
    if (!cJSON_IsObject(x->c) || !ctr_gpu(m->o, x))
        return false;
    int rc = ctr_mutate(m->o, x, m->vnpu_mode, m->p, m->v);
    if (x->b->vnpu && x->b->vnpu->runtime_class[0] && !m->vnpu_class)
        m->vnpu_class = x->b->vnpu->runtime_class;
    if (m->v->outcome == WEBHOOK_POD_DENIED)
        return true;
    if (rc) {
        deny(m->v, 400, "container \"%s\": cannot apply the GPU defaults: %s", x->name,
             err_name(rc));
        return true;
    }
    return false;
}

/* The visibility rule on every container; true (stop) once denied. */
static bool visible(struct ctr *x, void *ctx)
{
    struct mutation *m = ctx;
    if (!cJSON_IsObject(x->c))
        return false;
    int rc = ctr_visible(m->o, x, m->p, m->v);
    if (rc)
        deny(m->v, 400, "container \"%s\": cannot set %s: %s", x->name, x->b->env_visible,
             err_name(rc));
    return rc != 0;
}

/* A device container of the row the device config's options are for
 * (config_defaults: HAMi's nvidia section). ctx: the webhook_pod_opts. */
static bool config_row_gpu(struct ctr *x, void *ctx)
{
    return x->b->config_defaults && ctr_gpu(ctx, x);
}

/* HAMi's runtimeClassName (pod.h): on a pod that names none and has a
 * device container of the row the option is for (HAMi sets it from its
 * NVIDIA backend only: a DCU pod keeps its runtime). Returns true (stop)
 * once denied. */
static bool set_runtime_class(const struct webhook_pod_opts *o, const char *vnpu_class, cJSON *spec,
                              struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    char ptr[WEBHOOK_POINTER_MAX];
    const char *tokens[] = {"spec", "runtimeClassName", NULL};
    const char *cls = vnpu_class; /* the chip's wins, as HAMi sets each vendor's own */
    if (!cls && o->runtime_class && *o->runtime_class && walk(spec, config_row_gpu, (void *)o))
        cls = o->runtime_class;
    if (!cls || !*cls || member(spec, "runtimeClassName"))
        return false;
    webhook_patch_pointer(ptr, sizeof ptr, tokens);
    int rc = webhook_patch_add(p, ptr, cJSON_CreateString(cls));
    if (rc)
        deny(v, 400, "cannot set spec.runtimeClassName: %s", err_name(rc));
    return rc != 0;
}

/* Routing, defaults and denials for a GPU pod (pod.h), before the
 * visibility rule. */
static void route(const struct webhook_pod_opts *o, cJSON *pod, struct webhook_patch *p,
                  struct webhook_pod_verdict *v)
{
    char ptr[WEBHOOK_POINTER_MAX], shown[SHOW_MAX + 8];
    const char *bad[4];
    v->outcome = WEBHOOK_POD_NOT_GPU;

    cJSON *spec = obj(pod, "spec");
    if (!walk(spec, any_gpu, (void *)o))
        return;

    const char *sched = str(spec, "schedulerName");
    if (sched && *sched && strcmp(sched, o->scheduler_name) != 0 &&
        (strcmp(sched, WEBHOOK_DEFAULT_SCHEDULER) != 0 || !o->force_overwrite_default)) {
        v->outcome = WEBHOOK_POD_OTHER_SCHED;
        return;
    }
    v->outcome = WEBHOOK_POD_ADMITTED;

    const char *node = str(spec, "nodeName");
    if (node && *node) {
        deny(v, 403,
             "spec.nodeName is already \"%s\": a GPU pod must be placed by the scheduler \"%s\", "
             "which allocates its GPUs. Remove spec.nodeName (choose nodes with a nodeSelector "
             "or node affinity)",
             show(node, shown, sizeof shown), o->scheduler_name);
        return;
    }
    /* Every container: privileged ones see all GPUs, whichever asks for them. */
    if (walk(spec, check, v))
        return;

    if (!sched || strcmp(sched, o->scheduler_name) != 0) {
        const char *tokens[] = {"spec", "schedulerName", NULL};
        webhook_patch_pointer(ptr, sizeof ptr, tokens);
        cJSON *name = cJSON_CreateString(o->scheduler_name);
        int rc = sched ? webhook_patch_replace(p, ptr, name) : webhook_patch_add(p, ptr, name);
        if (rc) {
            deny(v, 400, "cannot set spec.schedulerName: %s", err_name(rc));
            return;
        }
    }
    struct mutation m = {o, p, v,
                         str(obj(obj(pod, "metadata"), "annotations"), POLICY_VNPU_MODE_ANN), NULL};
    if (walk(spec, mutate, &m) || set_runtime_class(o, m.vnpu_class, spec, p, v))
        return;
    check_annotations(obj(obj(pod, "metadata"), "annotations"), v, bad);
    check_request(o, pod, bad, v);
}

/* A resource that looks like a device backend's but none reads
 * ("nvidia.com/gpumemory"): a warning naming it (issue 17; the filter
 * refuses the pod while it names one). Never stops the walk. */
static bool unknown_resource(struct ctr *x, void *verdict)
{
    const struct policy_device_backend *b = NULL;
    const char *res = cJSON_IsObject(x->c) ? model_ctr_unknown_resource(x->c, &b) : NULL;
    char shown[SHOW_MAX + 8], names[256] = "";
    size_t n = 0;
    if (!res)
        return false;
    for (int r = 0; r < R_COUNT && n < sizeof names; r++)
        if (rname(b, r))
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", rname(b, r));
    warn(verdict,
         "container \"%s\": resource \"%s\" is not read by any device backend (%s reads %s): "
         "it asks for no device here, and the scheduler refuses the pod while it names it; fix "
         "the name",
         x->name, show(res, shown, sizeof shown), b->name, names);
    return false;
}

void webhook_pod_admit(const struct webhook_pod_opts *o, cJSON *pod, struct webhook_patch *p,
                       struct webhook_pod_verdict *v)
{
    memset(v, 0, sizeof *v);
    route(o, pod, p, v);
    if (v->outcome != WEBHOOK_POD_DENIED)
        walk(obj(pod, "spec"), unknown_resource, v);
    if (v->outcome == WEBHOOK_POD_DENIED || !o->overwrite_env)
        return;
    struct mutation m = {o, p, v, NULL, NULL};
    walk(obj(pod, "spec"), visible, &m);
}

/* ---- ephemeral containers ---- */

/* Whether an ephemeral container of this name was there before. */
static bool existed(const cJSON *old, const char *name)
{
    cJSON *list = member(obj(old, "spec"), "ephemeralContainers"), *e;
    if (!cJSON_IsArray(list))
        return false;
    cJSON_ArrayForEach(e, list)
    {
        const char *n = str(e, "name");
        if (n && name && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* The rules on one new ephemeral container (pod.h). */
static void ephemeral_one(const struct webhook_pod_opts *o, bool gpu_pod, struct ctr *x,
                          struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    char val[SHOW_MAX + 16];
    cJSON *env = member(x->c, "env"), *e;
    bool found = false;
    if (gpu_pod && cJSON_IsTrue(member(obj(x->c, "securityContext"), "privileged"))) {
        deny(v, 403,
             "ephemeral container \"%s\" is privileged and the pod uses GPUs: a privileged "
             "container sees every GPU of its node, past the pod's share. Debug without "
             "securityContext.privileged",
             x->name);
        return;
    }
    if (!x->b->env_visible || (env && !cJSON_IsArray(env)))
        return; /* a vendor without one, or malformed (the API server's validation says so) */
    cJSON_ArrayForEach(e, env)
    {
        const char *n = str(e, "name");
        if (n == NULL || strcmp(n, x->b->env_visible) != 0)
            continue;
        found = true;
        if (visible_none(e) || !(gpu_pod || o->overwrite_env))
            continue;
        deny(v, 403,
             "ephemeral container \"%s\" sets %s to %s: an ephemeral container has no GPU of "
             "its own, and this would show it GPUs of the node outside any pod's share. Remove "
             "the variable (or set it to \"none\")",
             x->name, x->b->env_visible, visible_shown(e, val, sizeof val));
        return;
    }
    if (!found && o->overwrite_env) {
        int rc = ctr_add_visible(x, env, p);
        if (rc)
            deny(v, 400, "ephemeral container \"%s\": cannot set %s: %s", x->name,
                 x->b->env_visible, err_name(rc));
    }
}

void webhook_pod_ephemeral(const struct webhook_pod_opts *o, cJSON *pod, const cJSON *old,
                           struct webhook_patch *p, struct webhook_pod_verdict *v)
{
    struct ctr x;
    cJSON *spec = obj(pod, "spec"), *list = member(spec, "ephemeralContainers"), *c;
    const char *sched = str(spec, "schedulerName");
    memset(v, 0, sizeof *v);
    v->outcome = WEBHOOK_POD_ADMITTED;
    bool gpu_pod =
        walk(spec, any_gpu, (void *)o) || (sched && strcmp(sched, o->scheduler_name) == 0);
    int i = 0;
    if (!cJSON_IsArray(list))
        return;
    cJSON_ArrayForEach(c, list)
    {
        int index = i++;
        if (!cJSON_IsObject(c) || existed(old, str(c, "name")))
            continue;
        memset(&x, 0, sizeof x);
        x.c = c;
        x.list = "ephemeralContainers";
        x.index = index;
        ctr_scan(&x);
        ephemeral_one(o, gpu_pod, &x, p, v);
        if (v->outcome == WEBHOOK_POD_DENIED)
            return;
    }
}

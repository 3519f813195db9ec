/* devconfig.c: HAMi's device ConfigMap and default flags -> the request
 * defaults (see devconfig.h). Keys are HAMi's (pkg/device/nvidia
 * NvidiaConfig, pkg/scheduler/config Config), matched exactly. */
#include "server/devconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/err.h"
#include "base/file.h"
#include "base/strconv.h"
#include "policy/device.h"

/* Sections of vendors without a device backend here (HAMi's Config). */
static const char *const other_vendors[] = {"metax",     "hygon",   "cambricon", "mthreads",
                                            "iluvatars", "enflame", "kunlun",    "awsneuron",
                                            "amd",       "vastai",  "biren",     NULL};

/* nvidia keys the device plugin reads (node side); the scheduler leaves
 * them to it, as HAMi's does. */
static const char *const plugin_keys[] = {
    "deviceSplitCount",          "deviceMemoryScaling", "deviceCoreScaling",
    "preConfiguredDeviceMemory", "libCudaLogLevel",     "enableNumaTopology",
    "migProfileAllowlist",       "knownMigGeometries",  NULL};

/* nvidia.resource*Name -> the backend's resource of that role. */
static const struct {
    const char *key;
    int res;
} res_keys[] = {
    {"resourceCountName", POLICY_RES_COUNT},
    {"resourceMemoryName", POLICY_RES_MEM},
    {"resourceMemoryPercentageName", POLICY_RES_MEM_PCT},
    {"resourceCoreName", POLICY_RES_CORES},
    {"resourcePriorityName", POLICY_RES_PRIORITY},
};

/* One file being read. */
struct reader {
    const char *file;
    yaml_document_t *doc;
    const struct config *cfg;
    struct devconfig *out;
    char *err;
    size_t cap;
};

static bool in(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void add_to(char *list, size_t cap, const char *s)
{
    size_t n = strlen(list);
    snprintf(list + n, cap - n, "%s%s", n ? "," : "", s);
}

static int fail(const struct reader *r, const yaml_node_t *n, const char *key, int rc,
                const char *why)
{
    snprintf(r->err, r->cap, "%s:%zu: %s: %s", r->file, n ? n->start_mark.line + 1 : 0, key, why);
    return rc;
}

/* A scalar's text, or NULL when n is not a scalar. */
static const char *text(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_int(const struct reader *r, const yaml_node_t *v, const char *key, int64_t lo,
                   int64_t hi, int32_t *out)
{
    const char *s = text(v);
    int64_t x;
    char why[128];
    if (!s || strconv_int(s, strlen(s), lo, hi, &x) != 0) {
        snprintf(why, sizeof why, "\"%.40s\" is not an integer in %lld..%lld",
                 s ? s : "(not a scalar)", (long long)lo, (long long)hi);
        return fail(r, v, key, ERR_RANGE, why);
    }
    *out = (int32_t)x;
    return 0;
}

static int get_bool(const struct reader *r, const yaml_node_t *v, const char *key, bool *out)
{
    const char *s = text(v);
    if (!s || strconv_bool(s, strlen(s), out) != 0)
        return fail(r, v, key, ERR_INVAL, "not true or false");
    return 0;
}

/* <section>.resource*Name: the row's resource of that role, by name. */
static int res_name(const struct reader *r, const yaml_node_t *v, const char *key, int row, int res)
{
    const char *s = text(v);
    char why[256];
    if (!s)
        return fail(r, v, key, ERR_INVAL, "not a string");
    if (*s && !policy_device_res_name_ok(s, why, sizeof why))
        return fail(r, v, key, ERR_INVAL, why);
    snprintf(r->out->res[row * POLICY_RES_N + res], POLICY_RES_NAME_MAX, "%s", s);
    r->out->res_line[row * POLICY_RES_N + res] = (int)v->start_mark.line + 1;
    return 0;
}

int devconfig_check_runtime_class(const char *v, char *err, size_t cap)
{
    size_t n = strlen(v);
    bool ok = n < DEVCONFIG_NAME_MAX;
    for (const char *l = v;
         ok && n && *l;) { /* each label: 1..63 of a-z 0-9 -, alphanumeric ends */
        size_t k = strcspn(l, ".");
        ok = k > 0 && k <= 63 && strspn(l, "abcdefghijklmnopqrstuvwxyz0123456789-") == k &&
             l[0] != '-' && l[k - 1] != '-' && !(l[k] == '.' && l[k + 1] == '\0');
        l += k + (l[k] == '.');
    }
    if (!ok) {
        snprintf(err, cap,
                 "\"%.80s\" is not a RuntimeClass name (a DNS subdomain: at most 253 of a-z, "
                 "0-9, '-' and '.', each label starting and ending with a letter or digit)",
                 v);
        return ERR_INVAL;
    }
    return 0;
}

int devconfig_check_core_policy(const char *v, char *err, size_t cap)
{
    static const char *const ok[] = {"", "default", "force", "disable", NULL};
    if (!in(ok, v)) {
        snprintf(err, cap, "\"%.80s\" is not a GPU core policy (default, force or disable)", v);
        return ERR_INVAL;
    }
    return 0;
}

/* A string key checked by check and copied into out (cap bytes). */
static int get_str(const struct reader *r, const yaml_node_t *v, const char *key,
                   int (*check)(const char *, char *, size_t), char *out, size_t cap)
{
    const char *s = text(v);
    char why[320];
    if (!s)
        return fail(r, v, key, ERR_INVAL, "not a string");
    if (check(s, why, sizeof why))
        return fail(r, v, key, ERR_INVAL, why);
    snprintf(out, cap, "%s", s);
    return 0;
}

/* A key of the section of the row the device config's defaults are for
 * (nvidia), but its resource names. */
static int nvidia_key(struct reader *r, const char *k, const yaml_node_t *v, const char *key)
{
    struct devconfig *d = r->out;
    bool b;
    int rc;
    if (strcmp(k, "defaultMemory") == 0)
        return get_int(r, v, key, 0, INT32_MAX, &d->default_mem);
    if (strcmp(k, "defaultCores") == 0)
        return get_int(r, v, key, 0, 100, &d->default_cores);
    if (strcmp(k, "defaultGPUNum") == 0)
        return get_int(r, v, key, 0, 64, &d->default_gpu);
    if (strcmp(k, "memoryFactor") == 0) {
        rc = get_int(r, v, key, 0, 1 << 20, &d->mem_factor);
        if (!rc && d->mem_factor == 0)
            d->mem_factor = 1; /* HAMi: max(memoryFactor, 1) */
        return rc;
    }
    if (strcmp(k, "overwriteEnv") == 0) {
        if ((rc = get_bool(r, v, key, &b)))
            return rc;
        if (b != r->cfg->overwrite_env)
            return fail(r, v, key, ERR_UNSUPPORTED,
                        b ? "true disagrees with --overwrite-env=false; set the flag to match"
                          : "false disagrees with --overwrite-env=true (this scheduler's "
                            "default); set --overwrite-env=false to match");
        return 0;
    }
    if (strcmp(k, "runtimeClassName") == 0)
        return get_str(r, v, key, devconfig_check_runtime_class, d->runtime_class,
                       sizeof d->runtime_class);
    if (strcmp(k, "gpuCorePolicy") == 0)
        return get_str(r, v, key, devconfig_check_core_policy, d->core_policy,
                       sizeof d->core_policy);
    if (strcmp(k, "disableCoreLimit") == 0) {
        if ((rc = get_bool(r, v, key, &b)))
            return rc;
        return b ? fail(r, v, key, ERR_UNSUPPORTED, "true is not supported yet") : 0;
    }
    if (in(plugin_keys, k)) {
        add_to(d->plugin_keys, sizeof d->plugin_keys, k);
        return 0;
    }
    return fail(r, v, key, ERR_INVAL, "unknown key (not one of HAMi's nvidia keys)");
}

/* A key of another row's section: memoryFactor 1 is HAMi's default (its
 * DCU backend would scale memory by another value: not supported yet). */
static int row_key(struct reader *r, const char *k, const yaml_node_t *v, const char *key)
{
    int32_t f;
    int rc;
    if (strcmp(k, "memoryFactor") != 0)
        return fail(r, v, key, ERR_INVAL, "unknown key (not one this scheduler reads here)");
    if ((rc = get_int(r, v, key, 0, 1 << 20, &f)))
        return rc;
    return f > 1 ? fail(r, v, key, ERR_UNSUPPORTED, "a value over 1 is not supported yet") : 0;
}

/* The section of device row `row` (its config_section). */
static int section(struct reader *r, int row, const yaml_node_t *map)
{
    const struct policy_device_backend *b = policy_device_backends[row];
    char key[160];
    if (map->type == YAML_SCALAR_NODE && !*text(map))
        return 0; /* "nvidia:" with nothing under it */
    if (map->type != YAML_MAPPING_NODE)
        return fail(r, map, b->config_section, ERR_INVAL, "not a mapping");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        int rc = 0;
        bool matched = false;
        if (!text(k))
            return fail(r, k, b->config_section, ERR_INVAL, "a key that is not a string");
        snprintf(key, sizeof key, "%s.%.120s", b->config_section, text(k));
        for (size_t i = 0; i < sizeof res_keys / sizeof res_keys[0]; i++)
            if (b->res[res_keys[i].res] && strcmp(text(k), res_keys[i].key) == 0) {
                rc = res_name(r, v, key, row, res_keys[i].res);
                matched = true;
            }
        if (!matched)
            rc = b->config_defaults ? nvidia_key(r, text(k), v, key) : row_key(r, text(k), v, key);
        if (rc)
            return rc;
    }
    return 0;
}

/* The row whose config section is called name, else -1. */
static int section_row(const char *name)
{
    for (int i = 0; name && policy_device_backends[i]; i++)
        if (policy_device_backends[i]->config_section &&
            strcmp(policy_device_backends[i]->config_section, name) == 0)
            return i;
    return -1;
}

/* ---- vnpus (Huawei Ascend, policy/device_ascend.h) ---- */

_Static_assert(POLICY_VNPU_TEMPLATES == 16 && DEVCONFIG_VNPU_MAX == 16, "the messages say 16");

/* A vNPU template name: 1..63 bytes of [A-Za-z0-9_.-]. */
static int check_template_name(const char *v, char *err, size_t cap)
{
    size_t n = strlen(v);
    if (n == 0 || n >= POLICY_VNPU_NAME_MAX ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
        snprintf(err, cap, "\"%.80s\" is not a template name (1 to %d of A-Z a-z 0-9 _ . -)", v,
                 POLICY_VNPU_NAME_MAX - 1);
        return ERR_INVAL;
    }
    return 0;
}

static int vnpu_template(struct reader *r, const yaml_node_t *m, struct policy_vnpu *v,
                         const char *key)
{
    char k2[224];
    int32_t x;
    int rc = 0;
    if (v->ntemplates >= POLICY_VNPU_TEMPLATES)
        return fail(r, m, key, ERR_TOOBIG, "more than 16 templates");
    if (m->type != YAML_MAPPING_NODE)
        return fail(r, m, key, ERR_INVAL, "not a mapping (name, memory, aiCore, aiCPU)");
    struct policy_vnpu_template *t = &v->t[v->ntemplates];
    memset(t, 0, sizeof *t);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; !rc && p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(r->doc, p->value);
        const char *k = text(kn) ? text(kn) : "(not a string)";
        snprintf(k2, sizeof k2, "%.120s.%.80s", key, k);
        if (strcmp(k, "name") == 0)
            rc = get_str(r, vn, k2, check_template_name, t->name, sizeof t->name);
        else if (strcmp(k, "memory") == 0 && !(rc = get_int(r, vn, k2, 1, INT32_MAX, &x)))
            t->mem = x;
        else if (strcmp(k, "aiCore") == 0)
            rc = get_int(r, vn, k2, 0, 100000, &t->aicore);
        else if (strcmp(k, "aiCPU") == 0)
            rc = get_int(r, vn, k2, 0, 100000, &t->aicpu);
        else if (strcmp(k, "memory") != 0)
            rc = fail(r, kn, k2, ERR_INVAL, "unknown key (not one of HAMi's template keys)");
    }
    if (!rc && (!t->name[0] || t->mem <= 0))
        rc = fail(r, m, key, ERR_INVAL, "a template needs a name and a memory");
    if (!rc)
        v->ntemplates++;
    return rc;
}

/* The keys of one vnpus.configs entry whose row b is known. */
static int vnpu_key(struct reader *r, const struct policy_device_backend *b, struct policy_vnpu *v,
                    const char *k, const yaml_node_t *val, const char *key)
{
    static const struct {
        const char *key;
        int res;
    } names[] = {{"resourceName", POLICY_RES_COUNT},
                 {"resourceMemoryName", POLICY_RES_MEM},
                 {"resourceCoreName", POLICY_RES_CORES}};
    char why[256], k2[224];
    int32_t x;
    bool on;
    int rc;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(k, names[i].key) != 0)
            continue;
        const char *s = text(val), *want = b->res[names[i].res];
        if (!s)
            return fail(r, val, key, ERR_INVAL, "not a string");
        if (*s && strcmp(s, want) != 0) {
            snprintf(why, sizeof why, "\"%.80s\" is not supported yet (this scheduler reads %s)", s,
                     want);
            return fail(r, val, key, ERR_UNSUPPORTED, why);
        }
        return 0;
    }
    if (strcmp(k, "commonWord") == 0 || strcmp(k, "chipName") == 0)
        return text(val) ? 0 : fail(r, val, key, ERR_INVAL, "not a string");
    if (strcmp(k, "memoryAllocatable") == 0 || strcmp(k, "memoryCapacity") == 0) {
        if ((rc = get_int(r, val, key, 1, INT32_MAX, &x)))
            return rc;
        *(k[6] == 'A' ? &v->mem_allocatable : &v->mem_capacity) = x;
        return 0;
    }
    if (strcmp(k, "memoryFactor") == 0)
        return get_int(r, val, key, 0, 1 << 20, &v->mem_factor);
    if (strcmp(k, "aiCore") == 0)
        return get_int(r, val, key, 0, 100000, &v->aicore);
    if (strcmp(k, "aiCPU") == 0)
        return get_int(r, val, key, 0, 100000, &v->aicpu);
    if (strcmp(k, "runtimeClassName") == 0)
        return get_str(r, val, key, devconfig_check_runtime_class, v->runtime_class,
                       sizeof v->runtime_class);
    if (strcmp(k, "superPod") == 0)
        return get_bool(r, val, key, &v->super_pod);
    if (strcmp(k, "overwriteEnv") == 0) {
        if ((rc = get_bool(r, val, key, &on)))
            return rc;
        return on ? fail(r, val, key, ERR_UNSUPPORTED,
                         "true is not supported yet (the webhook does not set "
                         "ASCEND_VISIBLE_DEVICES on containers asking no NPU)")
                  : 0;
    }
    if (strcmp(k, "templates") == 0) {
        if (val->type == YAML_SCALAR_NODE && !*text(val))
            return 0; /* "templates:" with nothing under it */
        if (val->type != YAML_SEQUENCE_NODE)
            return fail(r, val, key, ERR_INVAL, "not a list");
        int i = 0;
        for (yaml_node_item_t *it = val->data.sequence.items.start;
             it < val->data.sequence.items.top; it++, i++) {
            snprintf(k2, sizeof k2, "%.120s[%d]", key, i);
            if ((rc = vnpu_template(r, yaml_document_get_node(r->doc, *it), v, k2)))
                return rc;
        }
        return 0;
    }
    return fail(r, val, key, ERR_INVAL, "unknown key (not one of HAMi's vnpus.configs keys)");
}

/* The value of key k in mapping m, or NULL. */
static const yaml_node_t *lookup(const struct reader *r, const yaml_node_t *m, const char *k)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *t = text(yaml_document_get_node(r->doc, p->key));
        if (t && strcmp(t, k) == 0)
            return yaml_document_get_node(r->doc, p->value);
    }
    return NULL;
}

/* One vnpus.configs entry: a whole chip, as HAMi reads it (absent keys are
 * zero there too), for the Ascend row of its commonWord. */
static int vnpu_config(struct reader *r, const yaml_node_t *m, const char *key)
{
    char k2[224];
    struct devconfig *d = r->out;
    if (m->type != YAML_MAPPING_NODE)
        return fail(r, m, key, ERR_INVAL, "not a mapping");
    const yaml_node_t *cw = lookup(r, m, "commonWord");
    const char *word = text(cw);
    const struct policy_device_backend *b = policy_ascend_find(word);
    snprintf(k2, sizeof k2, "%.120s.commonWord", key);
    if (!word || !*word)
        return fail(r, cw ? cw : m, k2, ERR_INVAL, "missing (it names the chip)");
    if (!b) {
        char why[400];
        snprintf(why, sizeof why,
                 "\"%.60s\" has no Ascend row here (known: Ascend910A, Ascend910B2, Ascend910B3, "
                 "Ascend910B4-1, Ascend910B4, Ascend310P, Ascend910C)",
                 word);
        return fail(r, cw, k2, ERR_UNSUPPORTED, why);
    }
    for (int i = 0; i < d->nvnpu; i++)
        if (strcmp(d->vnpu[i].common_word, word) == 0)
            return fail(r, cw, k2, ERR_INVAL, "configured twice");
    if (d->nvnpu >= DEVCONFIG_VNPU_MAX)
        return fail(r, m, key, ERR_TOOBIG, "more than 16 chips");
    struct policy_vnpu *v = &d->vnpu[d->nvnpu];
    const struct policy_vnpu *row = b->vnpu;
    *v = (struct policy_vnpu){.common_word = row->common_word,
                              .chip = row->chip,
                              .pairs = row->pairs,
                              .network = row->network};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = yaml_document_get_node(r->doc, p->key);
        const char *k = text(kn);
        snprintf(k2, sizeof k2, "%.120s.%.80s", key, k ? k : "(not a string)");
        if (!k)
            return fail(r, kn, k2, ERR_INVAL, "a key that is not a string");
        int rc = vnpu_key(r, b, v, k, yaml_document_get_node(r->doc, p->value), k2);
        if (rc)
            return rc;
    }
    if (v->mem_allocatable <= 0 || v->mem_capacity <= 0)
        return fail(r, m, key, ERR_INVAL, "memoryAllocatable and memoryCapacity are required");
    policy_vnpu_sort(v);
    d->nvnpu++;
    return 0;
}

static int vnpus(struct reader *r, const yaml_node_t *map)
{
    char key[160];
    bool on;
    int rc = 0;
    if (map->type == YAML_SCALAR_NODE && !*text(map))
        return 0;
    if (map->type != YAML_MAPPING_NODE)
        return fail(r, map, "vnpus", ERR_INVAL, "not a mapping");
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         !rc && p < map->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        const char *name = text(k) ? text(k) : "(not a string)";
        snprintf(key, sizeof key, "vnpus.%.120s", name);
        if (strcmp(name, "hamiVnpuCore") == 0) {
            if (!(rc = get_bool(r, v, key, &on)) && on)
                rc = fail(r, v, key, ERR_UNSUPPORTED,
                          "true is not supported yet (the hami-core soft split; pods asking "
                          "huawei.com/vnpu-mode: hami-core get ModeNotFit)");
        } else if (strcmp(name, "configs") == 0) {
            if (v->type == YAML_SCALAR_NODE && !*text(v))
                continue;
            if (v->type != YAML_SEQUENCE_NODE)
                return fail(r, v, key, ERR_INVAL, "not a list");
            int i = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 !rc && it < v->data.sequence.items.top; it++, i++) {
                snprintf(key, sizeof key, "vnpus.configs[%d]", i);
                rc = vnpu_config(r, yaml_document_get_node(r->doc, *it), key);
            }
        } else {
            rc = fail(r, k, key, ERR_INVAL, "unknown key (not one of HAMi's vnpus keys)");
        }
    }
    return rc;
}

/* The chips read replace their rows' (at start: nothing reads them yet). */
static void vnpus_apply(const struct devconfig *d)
{
    for (int i = 0; i < d->nvnpu; i++) {
        const struct policy_device_backend *b = policy_ascend_find(d->vnpu[i].common_word);
        if (b)
            *b->vnpu = d->vnpu[i];
    }
}

static int read_root(struct reader *r, const yaml_node_t *root)
{
    if (!root || (root->type == YAML_SCALAR_NODE && !*text(root)))
        return 0; /* empty: HAMi's defaults */
    if (root->type != YAML_MAPPING_NODE)
        return fail(r, root, "(top level)", ERR_INVAL, "not a mapping of vendor sections");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
        const yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
        const char *name = text(k);
        int rc = 0;
        char key[128];
        snprintf(key, sizeof key, "%.120s", name ? name : "(not a string)");
        if (section_row(name) >= 0)
            rc = section(r, section_row(name), v);
        else if (name && strcmp(name, "vnpus") == 0)
            rc = vnpus(r, v);
        else if (name && in(other_vendors, name))
            add_to(r->out->other_vendors, sizeof r->out->other_vendors, name);
        else
            rc = fail(r, k, key, ERR_INVAL, "unknown key (not one of HAMi's device sections)");
        if (rc)
            return rc;
    }
    return 0;
}

static int load(const char *path, struct reader *r)
{
    char *data = NULL;
    size_t len = 0;
    yaml_parser_t p;
    yaml_document_t doc;
    bool loaded = false;
    int rc = file_read(path, DEVCONFIG_MAX_BYTES, &data, &len, r->err, r->cap);
    if (rc)
        return rc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(r->err, r->cap, "%s:%zu: not YAML: %s", path, p.problem_mark.line + 1,
                 p.problem ? p.problem : "parse error");
        rc = ERR_INVAL;
        goto out;
    }
    loaded = true;
    r->doc = &doc;
    rc = read_root(r, yaml_document_get_root_node(&doc));
out:
    if (loaded)
        yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    free(data);
    return rc;
}

/* A flag over the file's value: --name N when N >= 0. */
static void flag_over(int flag, int32_t *v, const char *what, char *from, size_t cap)
{
    if (flag < 0)
        return;
    *v = flag;
    add_to(from, cap, what);
}

int devconfig_from_config(const struct config *c, struct devconfig *out, char *err, size_t cap)
{
    struct reader r = {.file = c->device_config_file, .cfg = c, .out = out, .err = err, .cap = cap};
    int rc = 0;
    memset(out, 0, sizeof *out);
    out->default_gpu = 1;
    out->mem_factor = 1;
    snprintf(out->file, sizeof out->file, "%s", c->device_config_file);
    if (c->device_config_file[0] && (rc = load(c->device_config_file, &r)))
        return rc;
    flag_over(c->default_mem, &out->default_mem, "--default-mem", out->from, sizeof out->from);
    flag_over(c->default_cores, &out->default_cores, "--default-cores", out->from,
              sizeof out->from);
    flag_over(c->default_gpu, &out->default_gpu, "--default-gpu", out->from, sizeof out->from);
    for (int i = 0; i < POLICY_DEVICE_ROWS_MAX * POLICY_RES_N; i++)
        if (c->res_names[i][0]) {
            const struct policy_device_backend *b = policy_device_backends[i / POLICY_RES_N];
            snprintf(out->res[i], sizeof out->res[i], "%s", c->res_names[i]);
            out->res_line[i] = 0;
            char flag[64];
            snprintf(flag, sizeof flag, "--%s", b->res_flag[i % POLICY_RES_N]);
            add_to(out->from, sizeof out->from, flag);
        }
    if (c->runtime_class[0]) {
        snprintf(out->runtime_class, sizeof out->runtime_class, "%s", c->runtime_class);
        add_to(out->from, sizeof out->from, "--runtime-class-name");
    }
    if (c->gpu_core_policy[0]) {
        snprintf(out->core_policy, sizeof out->core_policy, "%s", c->gpu_core_policy);
        add_to(out->from, sizeof out->from, "--gpu-core-policy");
    }
    if (!out->core_policy[0])
        snprintf(out->core_policy, sizeof out->core_policy, "default");
    return 0;
}

/* Where resource name i came from, for a message: "--flag" or "FILE:LINE: sec.key". */
static void name_origin(const struct devconfig *d, int i, char *buf, size_t cap)
{
    const struct policy_device_backend *b = policy_device_backends[i / POLICY_RES_N];
    int r = i % POLICY_RES_N;
    const char *key = "";
    for (size_t k = 0; k < sizeof res_keys / sizeof res_keys[0]; k++)
        if (res_keys[k].res == r)
            key = res_keys[k].key;
    if (d->res_line[i] == 0)
        snprintf(buf, cap, "--%s", b->res_flag[r] ? b->res_flag[r] : "?");
    else
        snprintf(buf, cap, "%s:%d: %s.%s", d->file, d->res_line[i], b->config_section, key);
}

int devconfig_apply_names(const struct devconfig *d, char *err, size_t cap)
{
    char why[320], origin[CONFIG_PATH_MAX + 96];
    for (int i = 0; policy_device_backends[i]; i++) /* back to the rows' own first */
        for (int r = 0; r < POLICY_RES_N; r++)
            if (policy_device_backends[i]->res[r])
                policy_device_res_set(policy_device_backends[i], (enum policy_res)r, NULL, why,
                                      sizeof why);
    for (int i = 0;
         i < POLICY_DEVICE_ROWS_MAX * POLICY_RES_N && policy_device_backends[i / POLICY_RES_N];
         i++) {
        const struct policy_device_backend *b = policy_device_backends[i / POLICY_RES_N];
        if (!d->res[i][0])
            continue;
        int rc = policy_device_res_set(b, (enum policy_res)(i % POLICY_RES_N), d->res[i], why,
                                       sizeof why);
        if (rc) {
            name_origin(d, i, origin, sizeof origin);
            snprintf(err, cap, "%s: %s", origin, why);
            return rc;
        }
    }
    vnpus_apply(d);
    return 0;
}

int devconfig_names_running(const struct devconfig *d, char *err, size_t cap)
{
    char origin[CONFIG_PATH_MAX + 96];
    for (int i = 0; policy_device_backends[i]; i++)
        for (int r = 0; r < POLICY_RES_N; r++) {
            const struct policy_device_backend *b = policy_device_backends[i];
            const char *want =
                d->res[i * POLICY_RES_N + r][0] ? d->res[i * POLICY_RES_N + r] : b->res[r];
            const char *now = policy_device_res(b, (enum policy_res)r);
            if (!b->res[r] || strcmp(want, now) == 0)
                continue;
            name_origin(d, i * POLICY_RES_N + r, origin, sizeof origin);
            snprintf(err, cap,
                     "%s: \"%.80s\" differs from the running \"%.80s\": resource names change "
                     "only at a restart",
                     origin, want, now);
            return ERR_UNSUPPORTED;
        }
    return 0;
}

/* Whether chips a and b are configured alike (the keys vnpus reads). */
static bool vnpu_same(const struct policy_vnpu *a, const struct policy_vnpu *b)
{
    bool same = a->common_word == b->common_word && a->mem_allocatable == b->mem_allocatable &&
                a->mem_capacity == b->mem_capacity && a->mem_factor == b->mem_factor &&
                a->aicore == b->aicore && a->aicpu == b->aicpu && a->super_pod == b->super_pod &&
                strcmp(a->runtime_class, b->runtime_class) == 0 && a->ntemplates == b->ntemplates;
    for (int k = 0; same && k < a->ntemplates; k++)
        same = strcmp(a->t[k].name, b->t[k].name) == 0 && a->t[k].mem == b->t[k].mem &&
               a->t[k].aicore == b->t[k].aicore && a->t[k].aicpu == b->t[k].aicpu;
    return same;
}

int devconfig_chips_running(const struct devconfig *running, const struct devconfig *d, char *err,
                            size_t cap)
{
    const struct devconfig *x[2] = {running, d};
    for (int side = 0; side < 2; side++) /* every chip of either, found alike in the other */
        for (int i = 0; i < x[side]->nvnpu; i++) {
            const struct policy_vnpu *v = &x[side]->vnpu[i], *o = NULL;
            for (int k = 0; k < x[!side]->nvnpu && !o; k++)
                if (x[!side]->vnpu[k].common_word == v->common_word)
                    o = &x[!side]->vnpu[k];
            if (o && vnpu_same(v, o))
                continue;
            snprintf(err, cap,
                     "vnpus: %s differs from the running configuration: Ascend chips change "
                     "only at a restart",
                     v->common_word);
            return ERR_UNSUPPORTED;
        }
    return 0;
}

struct model_defaults devconfig_defaults(const struct devconfig *d)
{
    return (struct model_defaults){.default_mem = d->default_mem,
                                   .default_cores = d->default_cores,
                                   .mem_factor = d->mem_factor > 1 ? d->mem_factor : 1};
}

void devconfig_describe(const struct devconfig *d, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "device config: file %s; defaultMemory %d MiB, defaultCores %d, defaultGPUNum %d, "
             "memoryFactor %d, runtimeClassName %s, gpuCorePolicy %s; set by flags: %s; left to "
             "the device plugin: %s; vendors without "
             "a device backend here: %s",
             d->file[0] ? d->file : "(none: HAMi's defaults)", d->default_mem, d->default_cores,
             d->default_gpu, d->mem_factor, d->runtime_class[0] ? d->runtime_class : "(none)",
             d->core_policy, d->from[0] ? d->from : "none",
             d->plugin_keys[0] ? d->plugin_keys : "none",
             d->other_vendors[0] ? d->other_vendors : "none");
    for (int i = 0; i < POLICY_DEVICE_ROWS_MAX * POLICY_RES_N; i++) {
        size_t n = strlen(buf);
        if (d->res[i][0] && policy_device_backends[i / POLICY_RES_N] && n < cap)
            snprintf(buf + n, cap - n, "; resource %s read as %s",
                     policy_device_backends[i / POLICY_RES_N]->res[i % POLICY_RES_N], d->res[i]);
    }
}

cJSON *devconfig_json(const struct devconfig *d)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "file", d->file);
    cJSON_AddNumberToObject(j, "defaultMemory", d->default_mem);
    cJSON_AddNumberToObject(j, "defaultCores", d->default_cores);
    cJSON_AddNumberToObject(j, "defaultGPUNum", d->default_gpu);
    cJSON_AddNumberToObject(j, "memoryFactor", d->mem_factor);
    cJSON_AddStringToObject(j, "runtimeClassName", d->runtime_class);
    cJSON_AddStringToObject(j, "gpuCorePolicy", d->core_policy);
    cJSON_AddStringToObject(j, "setByFlags", d->from);
    cJSON_AddStringToObject(j, "leftToDevicePlugin", d->plugin_keys);
    cJSON_AddStringToObject(j, "vendorsWithoutBackend", d->other_vendors);
    cJSON *names = cJSON_AddObjectToObject(j, "resourceNames"); /* row's own name -> in effect */
    for (int i = 0; policy_device_backends[i]; i++)
        for (int r = 0; r < POLICY_RES_N; r++) {
            const struct policy_device_backend *b = policy_device_backends[i];
            const char *now = d->res[i * POLICY_RES_N + r];
            if (b->res[r])
                cJSON_AddStringToObject(names, b->res[r], now[0] ? now : b->res[r]);
        }
    cJSON *chips = cJSON_AddArrayToObject(j, "vnpus"); /* the Ascend chips the file set */
    for (int i = 0; i < d->nvnpu; i++) {
        const struct policy_vnpu *v = &d->vnpu[i];
        cJSON *c = cJSON_CreateObject(), *t = NULL;
        cJSON_AddItemToArray(chips, c);
        cJSON_AddStringToObject(c, "commonWord", v->common_word);
        cJSON_AddNumberToObject(c, "memoryAllocatable", (double)v->mem_allocatable);
        cJSON_AddNumberToObject(c, "memoryCapacity", (double)v->mem_capacity);
        t = cJSON_AddArrayToObject(c, "templates");
        for (int k = 0; k < v->ntemplates; k++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToArray(t, o);
            cJSON_AddStringToObject(o, "name", v->t[k].name);
            cJSON_AddNumberToObject(o, "memory", (double)v->t[k].mem);
        }
    }
    return j;
}

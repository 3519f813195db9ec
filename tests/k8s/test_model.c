/* test_model: Node and Pod JSON -> policy values.
 *
 * Inputs are files under tests/data/k8s/{nodes,pods}/; the expected values
 * are in the tables below. Register annotation values (strings, not JSON
 * objects) and the generated giant inputs are in the tables inline. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "tests/support/harness.h"

/* The backend these cases are written for. */
static const struct policy_device_backend *nvidia(void)
{
    return policy_device_backend_find("nvidia");
}

/* ---- helpers ---- */

static cJSON *load(const char *dir, const char *file)
{
    const char *data = getenv("VS_TEST_DATA");
    char path[1024];
    ck_assert_msg(data != NULL, "VS_TEST_DATA is not set");
    snprintf(path, sizeof path, "%s/k8s/%s/%s", data, dir, file);
    char *text = harness_read(path, NULL);
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "%s is not valid JSON", path);
    free(text);
    return j;
}

static void assert_err(int rc, int want_rc, const char *err, const char *want, const char *what)
{
    ck_assert_msg(rc == want_rc, "%s: rc %s, want %s (err: %s)", what, err_name(rc),
                  err_name(want_rc), err);
    if (want)
        ck_assert_msg(strstr(err, want) != NULL, "%s: error \"%s\" lacks \"%s\"", what, err, want);
}

/* ---- register annotation values ---- */

struct dev_exp {
    const char *uuid, *type, *mode;
    int32_t index, numa, count, devcore;
    int64_t devmem;
    bool health, cordoned;
};

/* A giant register value: `n` devices, JSON or legacy. Caller frees. */
static char *gen_devices(int n, bool json)
{
    size_t cap = (size_t)n * 96 + 16, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    if (json)
        s[len++] = '[';
    for (int i = 0; i < n; i++) {
        if (json)
            len += (size_t)sprintf(s + len, "%s{\"id\":\"GPU-%d\",\"count\":10}", i ? "," : "", i);
        else
            len += (size_t)sprintf(s + len, "GPU-%d,10,1024,100,T4,0,true:", i);
    }
    if (json)
        s[len++] = ']';
    s[len] = '\0';
    return s;
}

struct reg_case {
    const char *name;
    const char *value; /* or NULL: generated */
    int gen_n;         /* with value NULL: devices to generate */
    bool gen_json;
    int rc;
    const char *err_has;
    int ndev;
    struct dev_exp dev[3];
};

static const struct reg_case reg_cases[] = {
    {"json, all keys",
     "[{\"id\":\"GPU-0\",\"count\":10,\"devmem\":8192,\"devcore\":100,\"type\":\"NVIDIA-A100\","
     "\"numa\":1,\"health\":true,\"index\":3,\"mode\":\"hami-core\"}]",
     .ndev = 1, .dev = {{"GPU-0", "NVIDIA-A100", "hami-core", 3, 1, 10, 100, 8192, true, false}}},
    {"json, leading whitespace, empty array", " \n []", .ndev = 0},
    {"json, every key omitted but id", "[{\"id\":\"GPU-0\"}]", .ndev = 1,
     .dev = {{"GPU-0", "", "", 0, 0, 0, 0, 0, false, false}}},
    {"json, numa -1, keys in any case", "[{\"ID\":\"GPU-0\",\"Numa\":-1,\"HEALTH\":false}]",
     .ndev = 1, .dev = {{"GPU-0", "", "", 0, -1, 0, 0, 0, false, false}}},
    {"legacy 7 fields",
     "GPU-a,10,7680,100,NVIDIA-Tesla P4,0,true:GPU-b,5,7680,100,x,1,0:", .ndev = 2,
     .dev = {{"GPU-a", "NVIDIA-Tesla P4", "hami-core", 0, 0, 10, 100, 7680, true, false},
             {"GPU-b", "x", "hami-core", 0, 1, 5, 100, 7680, false, false}}},
    {"legacy 9 fields", "GPU-a,10,15360,100,T4,0,TRUE,4,mig:", .ndev = 1,
     .dev = {{"GPU-a", "T4", "mig", 4, 0, 10, 100, 15360, true, false}}},
    {"legacy, no trailing colon, blank segments", "GPU-a,1,1,1,T,0,t::GPU-b,1,1,1,T,0,f", .ndev = 2,
     .dev = {{"GPU-a", "T", "hami-core", 0, 0, 1, 1, 1, true, false},
             {"GPU-b", "T", "hami-core", 0, 0, 1, 1, 1, false, false}}},
    /* malformed */
    {"bad JSON", "[{\"id\":\"GPU-0\",", .rc = ERR_INVAL, .err_has = "not a valid JSON array"},
    {"JSON not array of objects", "[1]", .rc = ERR_INVAL, .err_has = "device 0 is not a JSON"},
    {"wrong type count", "[{\"id\":\"GPU-0\",\"count\":\"10\"}]", .rc = ERR_INVAL,
     .err_has = "device \"GPU-0\": field \"count\" is not a number"},
    {"wrong type type", "[{\"id\":\"GPU-0\",\"type\":5}]", .rc = ERR_INVAL,
     .err_has = "field \"type\" is not a string"},
    {"wrong type health", "[{\"id\":\"GPU-0\",\"health\":1}]", .rc = ERR_INVAL,
     .err_has = "field \"health\" is not a boolean"},
    {"negative devmem json", "[{\"id\":\"GPU-0\",\"devmem\":-1}]", .rc = ERR_RANGE,
     .err_has = "field \"devmem\" = -1 is out of range"},
    {"index out of range", "[{\"id\":\"GPU-0\",\"index\":5000}]", .rc = ERR_RANGE,
     .err_has = "\"index\""},
    {"empty id", "[{\"id\":\"\",\"count\":1}]", .rc = ERR_INVAL, .err_has = "empty id"},
    {"duplicate uuid", "[{\"id\":\"GPU-0\"},{\"id\":\"GPU-0\"}]", .rc = ERR_INVAL,
     .err_has = "duplicate device id \"GPU-0\""},
    {"duplicate uuid legacy", "GPU-0,1,1,1,T,0,t:GPU-0,1,1,1,T,0,t:", .rc = ERR_INVAL,
     .err_has = "duplicate device id"},
    {"legacy 6 fields", "GPU-0,10,7680,100,T4,0:", .rc = ERR_INVAL,
     .err_has = "has 6 comma fields, want 7 or 9"},
    {"legacy 8 fields", "GPU-0,10,7680,100,T4,0,true,1:", .rc = ERR_INVAL,
     .err_has = "has 8 comma fields"},
    {"legacy negative memory", "GPU-0,10,-7680,100,T4,0,true:", .rc = ERR_RANGE,
     .err_has = "negative memory \"-7680\""},
    {"legacy bad count", "GPU-0,ten,7680,100,T4,0,true:", .rc = ERR_INVAL,
     .err_has = "count \"ten\" is not an integer"},
    {"legacy bad health", "GPU-0,10,7680,100,T4,0,yes:", .rc = ERR_INVAL,
     .err_has = "health \"yes\" is not a boolean"},
    {"legacy negative index", "GPU-0,10,7680,100,T4,0,true,-1,hami-core:", .rc = ERR_RANGE,
     .err_has = "index \"-1\" is out of range"},
    {"legacy spaces in numbers", "GPU-0, 10,7680,100,T4,0,true:", .rc = ERR_INVAL,
     .err_has = "count"},
    {"neither encoding", "GPU-0,10,7680,100,T4,0,true", .rc = ERR_INVAL,
     .err_has = "no ':' separator"},
    {"empty", "   ", .rc = ERR_INVAL, .err_has = "empty value"},
    /* too many */
    {"65 devices json", NULL, 65, true, .rc = ERR_TOOBIG, .err_has = "more than 64 devices"},
    {"65 devices legacy", NULL, 65, false, .rc = ERR_TOOBIG, .err_has = "more than 64 devices"},
    {"64 devices json", NULL, 64, true, .ndev = 64,
     .dev = {{"GPU-0", "", "", 0, 0, 10, 0, 0, false, false}}},
    {"64 devices legacy", NULL, 64, false, .ndev = 64,
     .dev = {{"GPU-0", "T4", "hami-core", 0, 0, 10, 100, 1024, true, false}}},
    {"a million devices json", NULL, 1000000, true, .rc = ERR_TOOBIG, .err_has = NULL},
    {"a million devices legacy", NULL, 1000000, false, .rc = ERR_TOOBIG, .err_has = NULL},
};

#define NREG ((int)(sizeof reg_cases / sizeof reg_cases[0]))

static void assert_dev(const struct policy_device *d, const struct dev_exp *e, const char *what,
                       int i)
{
    ck_assert_msg(strcmp(d->uuid, e->uuid) == 0, "%s dev %d uuid %s", what, i, d->uuid);
    ck_assert_msg(strcmp(d->type, e->type) == 0, "%s dev %d type %s", what, i, d->type);
    ck_assert_msg(strcmp(d->mode, e->mode) == 0, "%s dev %d mode %s", what, i, d->mode);
    ck_assert_msg(d->index == e->index, "%s dev %d index %d", what, i, d->index);
    ck_assert_msg(d->numa == e->numa, "%s dev %d numa %d", what, i, d->numa);
    ck_assert_msg(d->count == e->count, "%s dev %d count %d", what, i, d->count);
    ck_assert_msg(d->devcore == e->devcore, "%s dev %d devcore %d", what, i, d->devcore);
    ck_assert_msg(d->devmem == e->devmem, "%s dev %d devmem %lld", what, i, (long long)d->devmem);
    ck_assert_msg(d->health == e->health, "%s dev %d health", what, i);
    ck_assert_msg(d->cordoned == e->cordoned, "%s dev %d cordoned", what, i);
}

START_TEST(test_register)
{
    const struct reg_case *c = &reg_cases[_i];
    char *gen = c->value ? NULL : gen_devices(c->gen_n, c->gen_json);
    struct policy_device *dev = (void *)1;
    int32_t ndev = -1;
    char *strings = (void *)1;
    char err[512] = "";

    int rc =
        nvidia()->register_parse(c->value ? c->value : gen, &dev, &ndev, &strings, err, sizeof err);
    assert_err(rc, c->rc, err, c->err_has, c->name);
    if (rc) {
        ck_assert_ptr_null(dev);
        ck_assert_ptr_null(strings);
        ck_assert_int_eq(ndev, 0);
    } else {
        ck_assert_msg(ndev == c->ndev, "%s: ndev %d, want %d", c->name, ndev, c->ndev);
        for (int i = 0; i < ndev && i < 3 && c->dev[i].uuid; i++)
            assert_dev(&dev[i], &c->dev[i], c->name, i);
        /* equal type and mode strings share one pointer */
        for (int i = 1; i < ndev; i++) {
            if (strcmp(dev[i].type, dev[0].type) == 0)
                ck_assert_ptr_eq(dev[i].type, dev[0].type);
            if (strcmp(dev[i].mode, dev[0].mode) == 0)
                ck_assert_ptr_eq(dev[i].mode, dev[0].mode);
        }
    }
    free(dev == (void *)1 ? NULL : dev);
    free(strings == (void *)1 ? NULL : strings);
    free(gen);
}
END_TEST

/* ---- nodes ---- */

struct pair_exp {
    int i, j;
    uint16_t score;
};

struct node_case {
    const char *file;
    int rc;
    const char *err_has;
    const char *name;
    bool has_register;
    int ndev;
    struct dev_exp dev[3];
    bool has_pair;
    struct pair_exp pair[9]; /* every listed entry is checked; the others must be 0 */
    int64_t cpu_milli, mem_mib, alloc_gpus;
    const char *handshake, *lock, *rv;
};

static const struct node_case node_cases[] = {
    {"json-register.json", .name = "a100-node", .has_register = true, .ndev = 3,
     .dev = {{"GPU-a100-0", "NVIDIA-A100-SXM4-80GB", "hami-core", 0, 0, 10, 100, 81920, true,
              false},
             {"GPU-a100-1", "NVIDIA-A100-SXM4-80GB", "hami-core", 1, 1, 10, 100, 81920, false,
              false},
             {"GPU-a100-2", "NVIDIA-A100-SXM4-80GB", "mig", 2, 1, 4, 200, 40960, true, true}},
     .has_pair = true, .pair = {{0, 1, 200}, {0, 2, 60}, {1, 0, 200}, {1, 2, 65535}, {2, 0, 0}},
     .cpu_milli = 64000, .mem_mib = 257735, .alloc_gpus = 30,
     .handshake = "Requesting_2026-11-22 01:00:00", .lock = "2026-11-22T01:00:00Z,default,train-0",
     .rv = "12345"},
    {"json-omitted.json", .name = "sparse-node", .has_register = true, .ndev = 2,
     .dev = {{"GPU-only-id", "", "", 0, 0, 0, 0, 0, false, false},
             {"GPU-typed", "NVIDIA-X", "", 0, 0, 0, 0, 0, false, false}},
     .cpu_milli = 3500, .mem_mib = 16384, .rv = "12345"},
    {"legacy-7.json", .name = "p4-node", .has_register = true, .ndev = 2,
     .dev = {{"GPU-ebe7c3f7-303d-558d-435e-99a160631fe4", "NVIDIA-Tesla P4", "hami-core", 0, 0, 10,
              100, 7680, true, false},
             {"GPU-p4-b", "NVIDIA-Tesla P4", "hami-core", 0, 1, 5, 100, 7680, false, false}},
     .cpu_milli = 8000, .mem_mib = 32768, .alloc_gpus = 15, .rv = "12345"},
    {"legacy-9.json", .name = "t4-node", .has_register = true, .ndev = 2,
     .dev = {{"GPU-t4-0", "NVIDIA-Tesla T4", "hami-core", 0, 0, 10, 100, 15360, true, false},
             {"GPU-t4-1", "NVIDIA-Tesla T4", "mig", 3, 0, 10, 100, 15360, true, false}},
     .cpu_milli = 16000, .mem_mib = 65536, .alloc_gpus = 20, .rv = "12345"},
    {"no-register.json", .name = "cpu-node", .cpu_milli = 32000, .mem_mib = 131072, .rv = "12345"},
    {"no-annotations.json", .name = "bare-node", .rv = "12345"},
    /* malformed: the message names the node, the annotation and the problem */
    {"bad-json.json", .rc = ERR_INVAL,
     .err_has =
         "node \"bad-json\": annotation hami.io/node-nvidia-register: not a valid JSON array"},
    {"wrong-type.json", .rc = ERR_INVAL,
     .err_has =
         "node \"wrong-type\": annotation hami.io/node-nvidia-register: device \"GPU-0\": field "
         "\"count\" is not a number"},
    {"wrong-type-health.json", .rc = ERR_INVAL, .err_has = "field \"health\" is not a boolean"},
    {"wrong-type-id.json", .rc = ERR_INVAL, .err_has = "device 0: field \"id\" is not a string"},
    {"not-integer.json", .rc = ERR_INVAL, .err_has = "field \"devmem\" = 1024.5 is not an integer"},
    {"out-of-range.json", .rc = ERR_RANGE,
     .err_has = "field \"count\" = 20000 is out of range 0..10000"},
    {"legacy-6.json", .rc = ERR_INVAL,
     .err_has = "node \"legacy-6\": annotation hami.io/node-nvidia-register: device 0 "
                "\"GPU-0,10,7680,100,NVIDIA-Tesla P4,0\" has 6 comma fields, want 7 or 9"},
    {"negative-mem.json", .rc = ERR_RANGE, .err_has = "negative memory \"-7680\""},
    {"dup-uuid.json", .rc = ERR_INVAL,
     .err_has = "duplicate device id \"GPU-0\" (devices 0 and 2)"},
    {"empty-id.json", .rc = ERR_INVAL, .err_has = "device 1 has an empty id"},
    {"non-string-annotation.json", .rc = ERR_INVAL,
     .err_has = "node \"non-string\": annotation hami.io/node-nvidia-register is not a string"},
    {"bad-score.json", .rc = ERR_INVAL,
     .err_has = "node \"bad-score\": annotation hami.io/node-nvidia-score: not a valid JSON array"},
    {"bad-score-type.json", .rc = ERR_INVAL, .err_has = "score for \"GPU-1\" is not an integer"},
    {"bad-health.json", .rc = ERR_INVAL, .err_has = "health \"yes\" is not a boolean"},
    {"bad-allocatable.json", .rc = ERR_INVAL,
     .err_has = "node \"bad-alloc\": status.allocatable cpu \"lots\" is not a valid quantity"},
    {"no-name.json", .rc = ERR_INVAL, .err_has = "node has no metadata.name"},
    {"not-object.json", .rc = ERR_INVAL, .err_has = "node is not a JSON object"},
};

#define NNODE ((int)(sizeof node_cases / sizeof node_cases[0]))

START_TEST(test_node)
{
    const struct node_case *c = &node_cases[_i];
    cJSON *j = load("nodes", c->file);
    struct model_inventory *inv = (void *)1;
    char err[512] = "";

    int rc = model_node_parse(j, &inv, err, sizeof err);
    assert_err(rc, c->rc, err, c->err_has, c->file);
    if (rc) {
        ck_assert_ptr_null(inv);
        goto out;
    }
    ck_assert_str_eq(inv->name, c->name);
    ck_assert_msg(inv->has_register == c->has_register, "%s: has_register", c->file);
    ck_assert_msg(inv->ndev == c->ndev, "%s: ndev %d want %d", c->file, inv->ndev, c->ndev);
    for (int i = 0; i < inv->ndev && i < 3; i++)
        assert_dev(&inv->dev[i], &c->dev[i], c->file, i);
    if (inv->ndev >= 2 && strcmp(inv->dev[0].type, inv->dev[1].type) == 0)
        ck_assert_ptr_eq(inv->dev[0].type, inv->dev[1].type); /* interned */
    ck_assert_msg((inv->pair != NULL) == c->has_pair, "%s: pair matrix presence", c->file);
    if (inv->pair) {
        int n = inv->ndev;
        uint16_t want[POLICY_MAX_DEVICES * 2] = {0};
        for (int k = 0; k < 9 && c->pair[k].i + c->pair[k].j + c->pair[k].score; k++)
            want[c->pair[k].i * n + c->pair[k].j] = c->pair[k].score;
        for (int k = 0; k < n * n; k++)
            ck_assert_msg(inv->pair[k] == want[k], "%s: pair[%d][%d] = %u, want %u", c->file, k / n,
                          k % n, inv->pair[k], want[k]);
    }
    ck_assert_msg(inv->cpu_milli == c->cpu_milli, "%s: cpu %lld", c->file,
                  (long long)inv->cpu_milli);
    ck_assert_msg(inv->mem_mib == c->mem_mib, "%s: mem %lld", c->file, (long long)inv->mem_mib);
    ck_assert_msg(inv->alloc_gpus == c->alloc_gpus, "%s: gpus %lld", c->file,
                  (long long)inv->alloc_gpus);
    if (c->handshake)
        ck_assert_str_eq(inv->handshake, c->handshake);
    else
        ck_assert_ptr_null(inv->handshake);
    if (c->lock)
        ck_assert_str_eq(inv->lock, c->lock);
    else
        ck_assert_ptr_null(inv->lock);
    ck_assert_str_eq(inv->resource_version, c->rv);
out:
    model_inventory_free(rc ? NULL : inv);
    cJSON_Delete(j);
}
END_TEST

/* A register annotation past the size limit is refused before any parsing. */
START_TEST(test_node_huge_annotation)
{
    char *dev = gen_devices(1000000, true);
    cJSON *j = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(j, "metadata");
    cJSON_AddStringToObject(meta, "name", "huge");
    cJSON *anns = cJSON_AddObjectToObject(meta, "annotations");
    cJSON_AddStringToObject(anns, nvidia()->ann_register, dev);
    struct model_inventory *inv = NULL;
    char err[256] = "";
    int rc = model_node_parse(j, &inv, err, sizeof err);
    assert_err(rc, ERR_TOOBIG, err,
               "node \"huge\": annotation hami.io/node-nvidia-register is longer than", "huge");
    ck_assert_ptr_null(inv);
    cJSON_Delete(j);
    free(dev);
}
END_TEST

/* ---- pods ---- */

struct ctr_exp {
    const char *name;
    int32_t nums, mem, mem_pct, cores, priority;
};

#define DEF_HAMI                                                                                   \
    {                                                                                              \
        0, 0, 1                                                                                    \
    }

struct pod_case {
    const char *file;
    struct model_defaults d;
    int rc;
    const char *err_has;
    int nctr, ninit;
    struct ctr_exp ctr[6];
    int64_t cpu_milli, mem_mib;
    const char *node_policy; /* expected policy name, NULL = none */
    const char *gpu;         /* expected GPU policy (parsed to compare), NULL = unset */
    struct policy_weights w; /* {0,0,0} = the default 1,1,1 */
    const char *use_type, *nouse_type, *use_uuid, *nouse_uuid, *vgpu_mode;
    bool numa_bind;
};

static const struct pod_case pod_cases[] = {
    {"gpu1.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 1, 0, 100, 0, -1}}, .cpu_milli = 500,
     .mem_mib = 1024},
    {"gpu2-mem.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 4096, 0, 0, -1}}},
    {"percentage.json", DEF_HAMI, .nctr = 6,
     .ctr = {{"over", 1, 0, 100, 100, -1},
             {"thirty", 1, 0, 30, 30, -1},
             {"zero", 1, 0, 100, 0, -1},
             {"negative", 1, 0, 100, 0, -1},
             {"both", 1, 2000, 0, 0, -1},
             {"zero-mem-pct", 1, 0, 40, 0, -1}}},
    {"percentage.json",
     {2048, 10, 1},
     .nctr = 6,
     .ctr = {{"over", 1, 0, 100, 100, -1},
             {"thirty", 1, 0, 30, 30, -1},
             {"zero", 1, 2048, 0, 10, -1},
             {"negative", 1, 2048, 0, 10, -1},
             {"both", 1, 2000, 0, 10, -1},
             {"zero-mem-pct", 1, 0, 40, 10, -1}}},
    {"defaults.json", DEF_HAMI, .nctr = 4,
     .ctr = {{"bare", 1, 0, 100, 0, -1},
             {"mem", 1, 1000, 0, 0, -1},
             {"cores", 1, 0, 100, 60, -1},
             {"pct", 1, 0, 25, 0, -1}}},
    {"defaults.json",
     {2048, 25, 2},
     .nctr = 4,
     .ctr = {{"bare", 1, 2048, 0, 25, -1},
             {"mem", 1, 2000, 0, 25, -1},
             {"cores", 1, 2048, 0, 60, -1},
             {"pct", 1, 0, 25, 25, -1}}},
    {"limits-requests.json", DEF_HAMI, .nctr = 4,
     .ctr = {{"mixed", 1, 3000, 0, 0, -1},
             {"limits-win", 2, 1000, 0, 0, -1},
             {"no-gpu-mem", 0, 0, 0, 0, -1},
             {"plain", 0, 0, 0, 0, -1}},
     .cpu_milli = 1250, .mem_mib = 2560},
    {"init-app.json", DEF_HAMI, .nctr = 4, .ninit = 2,
     .ctr = {{"init-gpu", 1, 20000, 0, 10, 0},
             {"init-cpu", 0, 0, 0, 0, -1},
             {"app-1", 1, 10000, 0, 5, -1},
             {"app-2", 0, 0, 0, 0, -1}},
     .cpu_milli = 4000, .mem_mib = 8192},
    {"numbers.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 1024, 0, 30, 1}}, .cpu_milli = 500},
    {"containers-64.json", DEF_HAMI, .nctr = 64, .ninit = 4,
     .ctr = {{"i0", 1, 100, 0, 0, -1}, {"i1", 0, 0, 0, 0, -1}}},
    {"policies.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 0, 100, 0, -1}},
     .node_policy = "spread", .gpu = "binpack,numa", .w = {1, 2, 3}, .use_type = "A100,H100",
     .nouse_type = "T4", .use_uuid = "GPU-a, GPU-b", .nouse_uuid = "GPU-c",
     .vgpu_mode = "hami-core", .numa_bind = true},
    {"topology.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 4, 0, 100, 0, -1}},
     .node_policy = "binpack", .gpu = "mutex,topology-aware"},
    {"numa-bind-1.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 0, 100, 0, -1}},
     .numa_bind = true},
    {"numa-bind-False.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 0, 100, 0, -1}}},
    {"numa-bind-yes.json", DEF_HAMI, .nctr = 1, .ctr = {{"main", 2, 0, 100, 0, -1}}},
    /* errors */
    {"fractional.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "container \"train\": nvidia.com/gpu \"1.5\" is not a whole number"},
    {"bad-quantity.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "container \"main\": nvidia.com/gpumem \"lots\" is not a valid quantity"},
    {"gpumem-fraction.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "container \"main\": nvidia.com/gpumem \"100.5\" is not a whole number"},
    {"gpu-range.json", DEF_HAMI, .rc = ERR_RANGE,
     .err_has = "container \"main\": nvidia.com/gpu 17 is out of range 0..16"},
    {"gpu-negative.json", DEF_HAMI, .rc = ERR_RANGE,
     .err_has = "nvidia.com/gpu -1 is out of range"},
    {"gpumem-range.json", DEF_HAMI, .rc = ERR_RANGE,
     .err_has = "container \"main\": nvidia.com/gpumem 3000000000 is out of range 0..2147483647"},
    {"gpumem-factor.json",
     {0, 0, 2},
     .rc = ERR_RANGE,
     .err_has = "nvidia.com/gpumem 1073741824 is out of range 0..1073741823"},
    {"cores-negative.json", DEF_HAMI, .rc = ERR_RANGE,
     .err_has = "nvidia.com/gpucores -10 is negative"},
    {"priority-range.json", DEF_HAMI, .rc = ERR_RANGE, .err_has = "nvidia.com/priority 2 is not 0"},
    {"unknown-policy.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "annotation hami.io/node-scheduler-policy: unknown policy \"foo\" (known: binpack, "
                "spread, fragment-aware)"},
    {"unknown-gpu-policy.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "annotation hami.io/gpu-scheduler-policy: \"spread,fastest\": unknown GPU policy "
                "\"fastest\""},
    {"bad-weights.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "annotation hami.io/device-scoring-weights: \"slot=1,core=x\""},
    {"zero-weights.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has =
         "annotation hami.io/device-scoring-weights: \"slot=0,core=0,memory=0\": at least one"},
    {"non-string-annotation.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "annotation nvidia.com/use-gputype is not a string"},
    {"bad-cpu.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "container \"main\": cpu \"lots\" is not a valid quantity"},
    {"no-containers.json", DEF_HAMI, .rc = ERR_INVAL, .err_has = "pod has no containers"},
    {"empty-containers.json", DEF_HAMI, .rc = ERR_INVAL, .err_has = "pod has no containers"},
    {"containers-65.json", DEF_HAMI, .rc = ERR_TOOBIG,
     .err_has = "pod has more than 64 containers"},
    {"containers-not-array.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "spec.containers is not a JSON array"},
    {"resources-not-object.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "container \"main\": resources is not a JSON object"},
    /* one vendor per container, as HAMi places it on a node carrying both */
    {"two-vendors.json", DEF_HAMI, .nctr = 2,
     .ctr = {{"gpu", 1, 4000, 0, 10, -1}, {"dcu", 1, 3000, 0, 20, -1}}},
    /* steering is read for one row per pod: refused rather than misapplied */
    {"two-vendors-steered.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "annotation hygon.com/use-dcutype on a pod whose containers \"gpu\" "
                "(nvidia.com/gpu) and \"dcu\" (hygon.com/dcunum) ask devices of two vendors: "
                "steering such a pod is not supported yet"},
    /* bind takes one node lock: Cambricon's own beside HAMi's shared one is refused */
    {"two-vendors-locks.json", DEF_HAMI, .rc = ERR_INVAL,
     .err_has = "containers \"gpu\" (nvidia.com/gpu) and \"mlu\" (cambricon.com/vmlu) ask "
                "devices of two vendors whose binds take different node locks "
                "(hami.io/mutex.lock, cambricon.com/dsmlu.lock): not supported yet"},
};

#define NPOD ((int)(sizeof pod_cases / sizeof pod_cases[0]))

static void assert_opt_str(const char *got, const char *want, const char *what, const char *file)
{
    if (!want)
        ck_assert_msg(got == NULL, "%s: %s = \"%s\", want none", file, what, got);
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "%s: %s = \"%s\", want \"%s\"", file, what,
                      got ? got : "(null)", want);
}

START_TEST(test_pod)
{
    const struct pod_case *c = &pod_cases[_i];
    cJSON *j = load("pods", c->file);
    struct policy_pod *p = malloc(sizeof *p);
    char err[512] = "";

    ck_assert_ptr_nonnull(p);
    int rc = model_pod_parse(j, &c->d, p, err, sizeof err);
    assert_err(rc, c->rc, err, c->err_has, c->file);
    if (rc)
        goto out;
    ck_assert_msg(p->nctr == c->nctr, "%s: nctr %d", c->file, p->nctr);
    ck_assert_msg(p->ninit == c->ninit, "%s: ninit %d", c->file, p->ninit);
    for (int i = 0; i < 6 && c->ctr[i].name; i++) {
        const struct policy_ctr *g = &p->ctr[i];
        const struct ctr_exp *e = &c->ctr[i];
        ck_assert_str_eq(g->name, e->name);
        ck_assert_msg(g->nums == e->nums && g->mem == e->mem && g->mem_pct == e->mem_pct &&
                          g->cores == e->cores && g->priority == e->priority,
                      "%s: container %s = {nums %d, mem %d, pct %d, cores %d, prio %d}, want "
                      "{%d, %d, %d, %d, %d}",
                      c->file, e->name, g->nums, g->mem, g->mem_pct, g->cores, g->priority, e->nums,
                      e->mem, e->mem_pct, e->cores, e->priority);
    }
    ck_assert_msg(p->cpu_milli == c->cpu_milli, "%s: cpu %lld", c->file, (long long)p->cpu_milli);
    ck_assert_msg(p->mem_mib == c->mem_mib, "%s: mem %lld", c->file, (long long)p->mem_mib);
    ck_assert_ptr_eq(p->node_policy,
                     c->node_policy ? policy_node_policy_find(c->node_policy) : NULL);
    ck_assert_msg(p->gpu_set == (c->gpu != NULL), "%s: gpu_set", c->file);
    if (c->gpu) {
        struct policy_gpu_policy want;
        char e2[128];
        ck_assert_int_eq(policy_gpu_policy_parse(c->gpu, &want, e2, sizeof e2), 0);
        ck_assert_msg(memcmp(&want, &p->gpu, sizeof want) == 0, "%s: gpu policy", c->file);
    }
    struct policy_weights w =
        c->w.slot || c->w.core || c->w.mem ? c->w : (struct policy_weights){1, 1, 1};
    ck_assert_msg(p->w.slot == w.slot && p->w.core == w.core && p->w.mem == w.mem,
                  "%s: weights %d,%d,%d", c->file, p->w.slot, p->w.core, p->w.mem);
    assert_opt_str(p->use_type, c->use_type, "use_type", c->file);
    assert_opt_str(p->nouse_type, c->nouse_type, "nouse_type", c->file);
    assert_opt_str(p->use_uuid, c->use_uuid, "use_uuid", c->file);
    assert_opt_str(p->nouse_uuid, c->nouse_uuid, "nouse_uuid", c->file);
    assert_opt_str(p->vgpu_mode, c->vgpu_mode, "vgpu_mode", c->file);
    ck_assert_msg(p->numa_bind == c->numa_bind, "%s: numa_bind", c->file);
    ck_assert_int_eq(p->quota_mem, -1);
    ck_assert_int_eq(p->quota_cores, -1);
    ck_assert_str_eq(p->ns, "default");
    ck_assert_ptr_nonnull(p->name);
    ck_assert_ptr_nonnull(p->uid);
out:
    free(p);
    cJSON_Delete(j);
}
END_TEST

/* An annotation value past the limit is ERR_TOOBIG naming the key. */
START_TEST(test_pod_long_annotation)
{
    cJSON *j = load("pods", "gpu1.json");
    cJSON *meta = cJSON_GetObjectItem(j, "metadata");
    cJSON *anns = cJSON_AddObjectToObject(meta, "annotations");
    char *v = malloc(MODEL_POD_ANN_MAX + 2);
    ck_assert_ptr_nonnull(v);
    memset(v, 'a', MODEL_POD_ANN_MAX + 1);
    v[MODEL_POD_ANN_MAX + 1] = '\0';
    cJSON_AddStringToObject(anns, nvidia()->ann_use_type, v);
    struct policy_pod *p = malloc(sizeof *p);
    char err[256] = "";
    int rc = model_pod_parse(j, NULL, p, err, sizeof err);
    assert_err(rc, ERR_TOOBIG, err, "annotation nvidia.com/use-gputype is longer than", "long");
    free(p);
    free(v);
    cJSON_Delete(j);
}
END_TEST

#define DEV3 "GPU-x,NVIDIA,2000,0:;GPU-x,NVIDIA,5000,0:;GPU-x,NVIDIA,3000,0:;"

struct info_case {
    const char *file;
    int rc;
    const char *err_has;
    const char *name, *node_name, *vgpu_node, *devices, *bind_phase;
    bool terminal;
    int32_t ninit;
    int64_t cpu_milli, mem_mib;
    uint64_t sidecars;
    bool init_done;
};

static const struct info_case info_cases[] = {
    {"info-running.json", 0, NULL, "running", "gpu-a100-1", "gpu-a100-1",
     "GPU-x,NVIDIA,20000,0:;GPU-x,NVIDIA,10000,30:;", "success", false, 1, 2000, 8192},
    {"info-succeeded.json", 0, NULL, "succeeded", "n1", "n1", "GPU-y,NVIDIA,100,0:;", NULL, true, 0,
     0, 0},
    {"info-failed.json", 0, NULL, "failed", NULL, NULL, NULL, NULL, true, 0, 0, 0},
    {"info-deleting.json", 0, NULL, "deleting", NULL, NULL, NULL, NULL, true, 0, 0, 0},
    {"gpu1.json", 0, NULL, "gpu1", NULL, NULL, NULL, NULL, false, 0, 500, 1024},
    /* host quantities that do not parse count 0 here: the pod's GPUs still count */
    {"bad-cpu.json", 0, NULL, "bad-cpu", NULL, NULL, NULL, NULL, false, 0, 0, 1024},
    {"info-bad-node-name.json", .rc = ERR_INVAL,
     .err_has = "pod \"default/bad-node-name\": spec.nodeName is not"},
    {"info-bad-devices.json", .rc = ERR_INVAL,
     .err_has = "annotation hami.io/vgpu-devices-allocated is not a string"},
    {"containers-65.json", .rc = ERR_TOOBIG, .err_has = "more than 64 containers"},
    /* a sidecar (restartPolicy Always) adds to the app containers on the
     * host too: max(1 + 4, 2 + 1) cpu, max(512 + 1024, 1024 + 512) MiB */
    {"info-sidecar-done.json", 0, NULL, "info-sidecar-done", "n1", "n1", DEV3, "success", false, 2,
     5000, 1536, .sidecars = 1, .init_done = true},
    {"info-init-failed.json", 0, NULL, "info-init-failed", "n1", "n1", DEV3, "success", false, 2,
     5000, 1536, .sidecars = 1},
    {"info-init-odd.json", 0, NULL, "info-init-odd", "n1", "n1", DEV3, "success", false, 2, 5000,
     1536, .sidecars = 1},
};

#define NINFO ((int)(sizeof info_cases / sizeof info_cases[0]))

/* A pod asking two vendors carries one allocation per vendor: both are read,
 * in table order, and merged into one segment per container. */
START_TEST(test_pod_info_two_vendors)
{
    cJSON *j = load("pods", "info-two-vendors.json");
    struct model_pod_info in;
    char err[512] = "";
    ck_assert_int_eq(model_pod_info(j, &in, err, sizeof err), 0);
    ck_assert_int_eq(in.ndevices_rows, 2);
    ck_assert_str_eq(in.devices_rows[0], "GPU-a,NVIDIA,4000,10:;;");
    ck_assert_str_eq(in.devices_rows[1], ";DCU-x,DCU,3000,20:;");
    char *m = model_devices_merge(in.devices_rows, in.ndevices_rows);
    ck_assert_str_eq(m, "GPU-a,NVIDIA,4000,10:;DCU-x,DCU,3000,20:;");
    free(m);
    const char *uneven[] = {"a,NVIDIA,1,0:b,NVIDIA,1,0:;", ";;c,DCU,1,0:;", ""};
    m = model_devices_merge(uneven, 3);
    ck_assert_str_eq(m, "a,NVIDIA,1,0:b,NVIDIA,1,0:;;c,DCU,1,0:;");
    free(m);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_pod_info)
{
    const struct info_case *c = &info_cases[_i];
    cJSON *j = load("pods", c->file);
    struct model_pod_info in;
    char err[512] = "";

    int rc = model_pod_info(j, &in, err, sizeof err);
    assert_err(rc, c->rc, err, c->err_has, c->file);
    if (!rc) {
        ck_assert_str_eq(in.name, c->name);
        ck_assert_str_eq(in.ns, "default");
        ck_assert_ptr_nonnull(in.uid);
        ck_assert_str_eq(in.resource_version, "4242");
        ck_assert_str_eq(in.scheduler_name, "vgpu-scheduler");
        assert_opt_str(in.node_name, c->node_name, "node_name", c->file);
        assert_opt_str(in.vgpu_node, c->vgpu_node, "vgpu_node", c->file);
        assert_opt_str(in.devices, c->devices, "devices", c->file);
        assert_opt_str(in.bind_phase, c->bind_phase, "bind_phase", c->file);
        ck_assert_msg(in.terminal == c->terminal, "%s: terminal", c->file);
        ck_assert_int_eq(in.ninit, c->ninit);
        ck_assert_int_eq(in.cpu_milli, c->cpu_milli);
        ck_assert_int_eq(in.mem_mib, c->mem_mib);
        ck_assert_msg(in.sidecars == c->sidecars, "%s: sidecars %llx", c->file,
                      (unsigned long long)in.sidecars);
        ck_assert_msg(in.init_done == c->init_done, "%s: init_done", c->file);
    }
    cJSON_Delete(j);
}
END_TEST

/* The request marks the sidecar, in its place among the init containers. */
START_TEST(test_pod_sidecar)
{
    cJSON *j = load("pods", "info-sidecar-done.json");
    struct policy_pod *p = malloc(sizeof *p);
    char err[512] = "";
    ck_assert_msg(model_pod_parse(j, NULL, p, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(p->ninit, 2);
    ck_assert(p->ctr[0].sidecar);
    ck_assert(!p->ctr[1].sidecar);
    ck_assert(!p->ctr[2].sidecar);
    ck_assert_int_eq(p->cpu_milli, 5000);
    free(p);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_get_str)
{
    cJSON *j = cJSON_Parse("{\"Pod\":{\"metadata\":{\"name\":\"p\",\"Name\":\"q\"}},"
                           "\"nodenames\":[\"a\"],\"n\":5}");
    ck_assert_ptr_nonnull(j);
    /* model_get: any case */
    ck_assert_ptr_nonnull(model_get(j, "pod"));
    ck_assert_ptr_nonnull(model_get(j, "POD"));
    ck_assert_ptr_eq(model_get(j, "NodeNames"), cJSON_GetObjectItemCaseSensitive(j, "nodenames"));
    ck_assert_ptr_null(model_get(j, "Nodes"));
    ck_assert_ptr_null(model_get(NULL, "Pod"));
    ck_assert_ptr_null(model_get(cJSON_GetObjectItem(j, "n"), "x"));
    /* model_str: exact keys */
    const cJSON *pod = model_get(j, "pod");
    ck_assert_str_eq(model_str(pod, "metadata", "name", NULL), "p");
    ck_assert_str_eq(model_str(pod, "metadata", "Name", NULL), "q");
    ck_assert_ptr_null(model_str(pod, "Metadata", "name", NULL));
    ck_assert_ptr_null(model_str(pod, "metadata", NULL, NULL)); /* an object, not a string */
    ck_assert_ptr_null(model_str(j, "n", NULL, NULL));
    ck_assert_ptr_null(model_str(NULL, "a", "b", "c"));
    cJSON_Delete(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("model");
    tcase_add_loop_test(tc, test_register, 0, NREG);
    tcase_add_loop_test(tc, test_node, 0, NNODE);
    tcase_add_test(tc, test_node_huge_annotation);
    tcase_add_loop_test(tc, test_pod, 0, NPOD);
    tcase_add_test(tc, test_pod_long_annotation);
    tcase_add_loop_test(tc, test_pod_info, 0, NINFO);
    tcase_add_test(tc, test_pod_info_two_vendors);
    tcase_add_test(tc, test_pod_sidecar);
    tcase_add_test(tc, test_get_str);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

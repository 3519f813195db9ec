/* Quotas in the object model and the cache: what a ResourceQuota sets
 * (k8s/quota.h), what a namespace holds (every contribution, reservations
 * included), and that reservations, concurrent ones too, never overrun it. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/cache.h"
#include "k8s/quota.h"
#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/device.h"
#include "tests/support/harness.h"

#define T0 1800000000.0

/* ---- quota_parse ---- */

static const struct {
    const char *what, *json;
    int rc, ignored;
    int64_t nv_mem, nv_cores, dcu_mem; /* -1: no limit */
    const char *err;                   /* a part of the message, or NULL */
} parse_cases[] = {
    {"nvidia memory and cores",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpumem\":\"20000\",\"limits.nvidia.com/gpucores\":\"150\"}}}",
     0, 0, 20000, 150, -1, NULL},
    {"other backends' keys by their row",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.hygon.com/dcumem\":\"1k\"}}}",
     0, 0, -1, -1, 1000, NULL},
    {"a number, not a string",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpumem\":4096}}}",
     0, 0, 4096, -1, -1, NULL},
    {"keys that are not device limits are ignored silently",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpu\":\"2\",\"requests.nvidia.com/gpumem\":\"5\",\"pods\":\"x\","
     "\"nvidia.com/gpumem\":\"7\"}}}",
     0, 0, -1, -1, -1, NULL},
    {"a malformed quantity is left out, the rest applies",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpumem\":\"lots\",\"limits.nvidia.com/gpucores\":\"50\"}}}",
     0, 1, -1, 50, -1, "limits.nvidia.com/gpumem \"lots\" is not a valid quantity"},
    {"a fraction is not a whole number",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpucores\":\"1.5\",\"limits.nvidia.com/gpumem\":\"100\"}}}",
     0, 1, 100, -1, -1, "not a whole number"},
    {"negative",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpumem\":\"-5\"}}}",
     0, 1, -1, -1, -1, "negative"},
    {"absurd",
     "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
     "\"limits.nvidia.com/gpumem\":\"99999999999999999999999\","
     "\"limits.nvidia.com/gpucores\":true}}}",
     0, 2, -1, -1, -1, "out of range"},
    {"no namespace", "{\"metadata\":{\"name\":\"q\"},\"spec\":{\"hard\":{}}}", ERR_INVAL, 0, -1, -1,
     -1, "metadata.namespace"},
    {"spec not an object", "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":[]}",
     ERR_INVAL, 0, -1, -1, -1, "resourcequota a/q"},
    {"no spec: no limits", "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"}}", 0, 0, -1, -1, -1,
     NULL},
};

static int backend(const char *name)
{
    return quota_backend_index(policy_device_backend_find(name));
}

START_TEST(parse)
{
    cJSON *j = cJSON_Parse(parse_cases[_i].json);
    ck_assert_ptr_nonnull(j);
    struct quota_limits l;
    const char *ns, *name;
    char err[512];
    int ignored = -1;
    int rc = quota_parse(j, &ns, &name, &l, &ignored, err, sizeof err);
    ck_assert_msg(rc == parse_cases[_i].rc, "%s: rc %d (%s)", parse_cases[_i].what, rc, err);
    if (parse_cases[_i].err)
        ck_assert_msg(strstr(err, parse_cases[_i].err), "%s: \"%s\"", parse_cases[_i].what, err);
    if (rc == 0) {
        int nv = backend("nvidia"), dcu = backend("hygon");
        ck_assert_int_eq(ignored, parse_cases[_i].ignored);
        ck_assert_str_eq(ns, "a");
        ck_assert_int_eq(l.mem[nv], parse_cases[_i].nv_mem);
        ck_assert_int_eq(l.cores[nv], parse_cases[_i].nv_cores);
        ck_assert_int_eq(l.mem[dcu], parse_cases[_i].dcu_mem);
        ck_assert_int_eq(l.cores[dcu], -1);
        if (!parse_cases[_i].err)
            ck_assert_str_eq(err, "");
    }
    cJSON_Delete(j);
}
END_TEST

/* ---- the cache ---- */

/* Node `name`: ngpu GPUs of 40 slots, 100000 MiB, 100 cores. */
static struct model_inventory *node(const char *name, int ngpu)
{
    char json[16384], reg[12000] = "", err[256];
    size_t k = 0;
    for (int i = 0; i < ngpu; i++)
        k += (size_t)snprintf(reg + k, sizeof reg - k,
                              "%s{\\\"id\\\":\\\"%s-g%d\\\",\\\"count\\\":40,"
                              "\\\"devmem\\\":100000,\\\"devcore\\\":100,\\\"type\\\":"
                              "\\\"NVIDIA-A100\\\",\\\"health\\\":true,\\\"index\\\":%d}",
                              i ? "," : "", name, i, i);
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"%s\",\"annotations\":{"
             "\"hami.io/node-nvidia-register\":\"[%s]\"}}}",
             name, reg);
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    struct model_inventory *inv = NULL;
    ck_assert_msg(model_node_parse(j, &inv, err, sizeof err) == 0, "%s", err);
    cJSON_Delete(j);
    return inv;
}

static void limit(struct cache *c, const char *ns, const char *name, int64_t mem, int64_t cores)
{
    struct quota_limits l;
    quota_limits_none(&l);
    l.mem[0] = mem;
    l.cores[0] = cores;
    cache_quota_put(c, ns, name, &l);
}

static void left(struct cache *c, const char *ns, int64_t *mem, int64_t *cores)
{
    cache_rdlock(c);
    cache_quota_left(c, ns, policy_device_backend_default(), mem, cores);
    cache_unlock(c);
}

/* A pod in ns asking one GPU of mem MiB and cores %. */
static void gpu_pod(struct policy_pod *p, const char *ns, const char *uid, int mem, int cores)
{
    memset(p, 0, sizeof *p);
    p->ns = ns;
    p->name = uid;
    p->uid = uid;
    p->nctr = 1;
    p->ctr[0] =
        (struct policy_ctr){.name = "c", .nums = 1, .mem = mem, .cores = cores, .priority = -1};
    p->w = (struct policy_weights){1, 1, 1};
    p->quota_mem = p->quota_cores = -1; /* the cache puts what is left */
}

static struct policy_opts opts(void)
{
    return (struct policy_opts){.node_policy = policy_node_policy_find("binpack"),
                                .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
}

static int reserve(struct cache *c, const char *ns, const char *uid, int mem, int cores, double now,
                   char *err, size_t cap)
{
    struct policy_pod p;
    struct policy_opts o = opts();
    struct cache_assumed a = {0};
    gpu_pod(&p, ns, uid, mem, cores);
    int rc = place_assume(c, &p, "n1", &o, now, 30, &a, err, cap);
    cache_assumed_free(&a);
    return rc;
}

/* A bound pod of ns holding mem MiB and cores % on n1's first GPU. */
static void bound(struct cache *c, const char *ns, const char *uid, int mem, int cores)
{
    char dev[128], err[256];
    snprintf(dev, sizeof dev, "n1-g0,NVIDIA,%d,%d:;", mem, cores);
    struct model_pod_info pi = {
        .uid = uid, .ns = ns, .name = uid, .node_name = "n1", .devices = dev, .nctr = 1, .nask = 1};
    pi.ask[0] = (struct model_gpu_ask){.ctr = 0, .nums = 1, .mem = mem, .cores = (uint8_t)cores};
    ck_assert_int_eq(cache_pod_put(c, &pi, err, sizeof err), 0);
}

START_TEST(bound_pods_count_and_free)
{
    struct cache *c = cache_create();
    int64_t mem, cores;
    cache_node_put(c, node("n1", 2));
    limit(c, "a", "q", 10000, 100);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 10000);
    ck_assert_int_eq(cores, 100);
    bound(c, "a", "p1", 3000, 20);
    bound(c, "b", "p2", 5000, 50); /* another namespace's */
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 7000);
    ck_assert_int_eq(cores, 80);
    left(c, "b", &mem, &cores);
    ck_assert_int_eq(mem, -1); /* no quota there */
    /* The node's inventory again (usage rebuilt): counted once, not twice. */
    cache_node_put(c, node("n1", 2));
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 7000);
    /* The node gone: its pods hold nothing; back: they do again. */
    cache_node_del(c, "n1");
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 10000);
    cache_node_put(c, node("n1", 2));
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 7000);
    cache_pod_del(c, "p1");
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 10000);
    ck_assert_int_eq(cores, 100);
    cache_destroy(c);
}
END_TEST

START_TEST(smallest_limit_wins)
{
    struct cache *c = cache_create();
    int64_t mem, cores;
    limit(c, "a", "big", 20000, -1);
    limit(c, "a", "small", 16000, 50);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 16000);
    ck_assert_int_eq(cores, 50);
    cache_quota_del(c, "a", "small");
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 20000);
    ck_assert_int_eq(cores, -1);
    limit(c, "a", "big", 0, -1); /* replaced: an explicit 0 blocks */
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 0);
    cache_quota_del(c, "a", "big");
    cache_quota_del(c, "a", "never-there");
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, -1);
    size_t n = 1;
    char **names = cache_quota_names(c, &n);
    ck_assert_int_eq(n, 0);
    free(names);
    cache_destroy(c);
}
END_TEST

START_TEST(memory_factor_scales_the_limit)
{
    struct cache *c = cache_create();
    int64_t mem, cores;
    cache_set_mem_factor(c, 4);
    limit(c, "a", "q", 1000, -1);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 4000); /* requests are scaled by memoryFactor, so is the limit */
    cache_destroy(c);
}
END_TEST

START_TEST(reservations_count_until_they_expire)
{
    struct cache *c = cache_create();
    char err[512];
    int64_t mem, cores;
    cache_node_put(c, node("n1", 2));
    limit(c, "a", "q", 10000, -1);
    ck_assert_int_eq(reserve(c, "a", "r1", 6000, 10, T0, err, sizeof err), 0);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 4000);
    /* A second pod of the namespace: the reservation holds its share. */
    ck_assert_int_eq(reserve(c, "a", "r2", 6000, 10, T0 + 1, err, sizeof err), ERR_NOFIT);
    ck_assert_msg(strstr(err, "ResourceQuotaNotFit"), "%s", err);
    /* Another namespace is not limited by it. */
    ck_assert_int_eq(reserve(c, "b", "r3", 60000, 10, T0 + 1, err, sizeof err), 0);
    /* r1's own filter again: its old share does not count against it. */
    ck_assert_int_eq(reserve(c, "a", "r1", 9000, 10, T0 + 2, err, sizeof err), 0);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 1000);
    /* Bound (committed): still counted. Expired: freed. */
    ck_assert_int_eq(cache_expire(c, T0 + 31), 1); /* r3, of 30 s, is gone */
    ck_assert_int_eq(cache_expire(c, T0 + 40), 1); /* r1 */
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 10000);
    ck_assert_int_eq(reserve(c, "a", "r2", 6000, 10, T0 + 41, err, sizeof err), 0);
    ck_assert_int_eq(cache_commit(c, "r2"), 0);
    ck_assert_int_eq(cache_expire(c, T0 + 1000), 0);
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 4000);
    cache_destroy(c);
}
END_TEST

/* ---- concurrent reservations ---- */

#define THREADS 8
#define PER     40 /* pods each thread tries */

struct racer {
    struct cache *c;
    int id, won;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char uid[32], err[512];
    for (int i = 0; i < PER; i++) {
        snprintf(uid, sizeof uid, "t%d-%d", r->id, i);
        if (reserve(r->c, "a", uid, 1000, 1, T0, err, sizeof err) == 0)
            r->won++;
        int64_t mem, cores;
        left(r->c, "a", &mem, &cores);
        ck_assert_int_ge(mem, 0);
    }
    return NULL;
}

START_TEST(concurrent_reservations_never_overrun)
{
    struct cache *c = cache_create();
    struct racer r[THREADS];
    pthread_t th[THREADS];
    int won = 0;
    cache_node_put(c, node("n1", 8)); /* room for 320 such pods; the quota allows 25 */
    limit(c, "a", "q", 25000, -1);
    for (int i = 0; i < THREADS; i++) {
        r[i] = (struct racer){c, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        won += r[i].won;
    }
    ck_assert_int_eq(won, 25);
    int64_t mem, cores;
    left(c, "a", &mem, &cores);
    ck_assert_int_eq(mem, 0);
    /* The GPUs agree with the namespace's sum. */
    cache_rdlock(c);
    const struct policy_node *v = cache_view(c, "n1");
    int64_t sum = 0;
    for (int i = 0; i < v->ndev; i++)
        sum += v->use[i].mem;
    cache_unlock(c);
    ck_assert_int_eq(sum, 25000);
    cache_destroy(c);
}
END_TEST

/* Another backend's devices count in its own slot (tests/data/e2e/dcu.json:
 * default/dcu-held holds 8000 MiB and 40 % of a Hygon DCU). */
START_TEST(each_backend_counts_apart)
{
    char path[4096], err[512];
    struct snapshot_stats st;
    struct cache *c = cache_create();
    harness_data_path("e2e/dcu.json", path, sizeof path);
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    struct quota_limits l;
    quota_limits_none(&l);
    l.mem[quota_backend_index(dcu)] = 10000;
    l.cores[quota_backend_index(dcu)] = 100;
    l.mem[0] = 5000;
    cache_quota_put(c, "default", "q", &l);
    int64_t mem, cores;
    cache_rdlock(c);
    cache_quota_left(c, "default", dcu, &mem, &cores);
    ck_assert_int_eq(mem, 2000);
    ck_assert_int_eq(cores, 60);
    cache_quota_left(c, "default", policy_device_backend_default(), &mem, &cores);
    ck_assert_int_eq(mem, 5000); /* the DCU pod holds no NVIDIA memory */
    ck_assert_int_eq(cores, -1);
    cache_unlock(c);
    cache_destroy(c);
}
END_TEST

START_TEST(inspect_shows_used_and_limit)
{
    struct cache *c = cache_create();
    cache_node_put(c, node("n1", 1));
    limit(c, "a", "q", 10000, -1);
    bound(c, "a", "p1", 3000, 20);
    cJSON *j = cache_inspect(c, T0);
    cJSON *q = cJSON_GetObjectItem(j, "quotas"), *e;
    ck_assert_int_eq(cJSON_GetArraySize(q), 1);
    e = cJSON_GetArrayItem(q, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(e, "namespace")->valuestring, "a");
    cJSON *res = cJSON_GetObjectItem(e, "resources");
    ck_assert_int_eq(cJSON_GetArraySize(res), 2);
    cJSON *m = cJSON_GetArrayItem(res, 0), *k = cJSON_GetArrayItem(res, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(m, "resource")->valuestring, "nvidia.com/gpumem");
    ck_assert_int_eq(cJSON_GetObjectItem(m, "used")->valueint, 3000);
    ck_assert_int_eq(cJSON_GetObjectItem(m, "limit")->valueint, 10000);
    ck_assert_int_eq(cJSON_GetObjectItem(m, "left")->valueint, 7000);
    ck_assert_str_eq(cJSON_GetObjectItem(k, "resource")->valuestring, "nvidia.com/gpucores");
    ck_assert_int_eq(cJSON_GetObjectItem(k, "used")->valueint, 20);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(k, "limit")));
    cJSON_Delete(j);
    cache_destroy(c);
}
END_TEST

/* Every backend's quota keys, by the names its row reads now: NVIDIA,
 * Hygon, Cambricon and each Huawei Ascend chip ("limits.huawei.com/
 * Ascend910B3-memory") land in that row's slot and no other. */
START_TEST(every_backend_by_its_names)
{
    for (int i = 0; policy_device_backends[i] && i < QUOTA_BACKENDS_MAX; i++) {
        const struct policy_device_backend *b = policy_device_backends[i];
        const char *mem = policy_device_res(b, POLICY_RES_MEM);
        const char *cores = policy_device_res(b, POLICY_RES_CORES);
        char json[1024], err[256];
        snprintf(json, sizeof json,
                 "{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{\"hard\":{"
                 "\"limits.%s\":\"123\",\"limits.%s\":\"45\"}}}",
                 mem ? mem : "x/none", cores ? cores : "x/none");
        cJSON *j = cJSON_Parse(json);
        struct quota_limits l;
        const char *ns, *name;
        int ignored;
        ck_assert_int_eq(quota_parse(j, &ns, &name, &l, &ignored, err, sizeof err), 0);
        for (int k = 0; k < QUOTA_BACKENDS_MAX; k++) {
            ck_assert_msg(l.mem[k] == (k == i && mem ? 123 : -1), "%s: mem of row %d", b->name, k);
            ck_assert_msg(l.cores[k] == (k == i && cores ? 45 : -1), "%s: cores of row %d", b->name,
                          k);
        }
        cJSON_Delete(j);
    }
    const struct policy_device_backend *b3 = policy_device_backend_find("ascend910b3");
    ck_assert_ptr_nonnull(b3); /* the example */
    if (b3)
        ck_assert_str_eq(policy_device_res(b3, POLICY_RES_MEM), "huawei.com/Ascend910B3-memory");
}
END_TEST

/* A resource the operator renamed (--dcu-memory style flags, the device
 * config's resource*Name keys) names its quota key, /inspect's and the
 * metrics' resource and the admission refusal; the row's own name then
 * limits nothing. */
static void note_resource(void *ctx, const char *ns, const char *resource, int64_t used,
                          int64_t limit)
{
    (void)ns, (void)used, (void)limit;
    char *seen = ctx;
    snprintf(seen + strlen(seen), 256 - strlen(seen), "%s;", resource);
}

START_TEST(renamed_resources_name_the_quota)
{
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    char err[256], why[256], seen[256] = "";
    ck_assert_int_eq(
        policy_device_res_set(dcu, POLICY_RES_MEM, "example.com/dcu-mem", err, sizeof err), 0);
    cJSON *j = cJSON_Parse("{\"metadata\":{\"namespace\":\"a\",\"name\":\"q\"},\"spec\":{"
                           "\"hard\":{\"limits.example.com/dcu-mem\":\"1000\","
                           "\"limits.hygon.com/dcumem\":\"5\"}}}");
    struct quota_limits l;
    const char *ns, *name;
    int ignored;
    ck_assert_int_eq(quota_parse(j, &ns, &name, &l, &ignored, err, sizeof err), 0);
    ck_assert_int_eq(l.mem[quota_backend_index(dcu)], 1000);
    struct cache *c = cache_create();
    cache_quota_put(c, "a", "q", &l);
    cache_foreach_quota(c, note_resource, seen);
    ck_assert_str_eq(seen, "example.com/dcu-mem;");
    ck_assert(!cache_quota_admits(c, "a", dcu, 2000, 0, why, sizeof why));
    ck_assert_msg(strstr(why, "example.com/dcu-mem: the pod asks 2000") != NULL, "%s", why);
    cJSON *ins = cache_inspect(c, T0);
    char *t = cJSON_PrintUnformatted(cJSON_GetObjectItem(ins, "quotas"));
    ck_assert_msg(strstr(t, "\"resource\":\"example.com/dcu-mem\"") != NULL, "%s", t);
    free(t);
    cJSON_Delete(ins);
    cache_destroy(c);
    cJSON_Delete(j);
    ck_assert_int_eq(policy_device_res_set(dcu, POLICY_RES_MEM, NULL, err, sizeof err), 0);
}
END_TEST

/* Cambricon's memory limit is written in its own unit, as its pods ask
 * (256 MiB, HAMi's memory factor for it): a limit of 4 leaves 1024 MiB. */
START_TEST(cambricon_limit_in_its_unit)
{
    const struct policy_device_backend *mlu = policy_device_backend_find("cambricon");
    struct quota_limits l;
    int64_t mem, cores;
    char why[256];
    quota_limits_none(&l);
    l.mem[quota_backend_index(mlu)] = 4;
    struct cache *c = cache_create();
    cache_quota_put(c, "a", "q", &l);
    cache_rdlock(c);
    cache_quota_left(c, "a", mlu, &mem, &cores);
    cache_unlock(c);
    ck_assert_int_eq(mem, 1024);
    ck_assert(cache_quota_admits(c, "a", mlu, 1024, 0, why, sizeof why));
    ck_assert(!cache_quota_admits(c, "a", mlu, 1280, 0, why, sizeof why));
    cJSON *ins = cache_inspect(c, T0);
    char *t = cJSON_PrintUnformatted(cJSON_GetObjectItem(ins, "quotas"));
    ck_assert_msg(strstr(t, "\"limit\":4,\"left\":1024") != NULL, "%s", t);
    free(t);
    cJSON_Delete(ins);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("quota");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, parse, 0, sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(tc, every_backend_by_its_names);
    tcase_add_test(tc, renamed_resources_name_the_quota);
    tcase_add_test(tc, cambricon_limit_in_its_unit);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_add_test(tc, bound_pods_count_and_free);
    tcase_add_test(tc, smallest_limit_wins);
    tcase_add_test(tc, memory_factor_scales_the_limit);
    tcase_add_test(tc, reservations_count_until_they_expire);
    tcase_add_test(tc, concurrent_reservations_never_overrun);
    tcase_add_test(tc, inspect_shows_used_and_limit);
    tcase_add_test(tc, each_backend_counts_apart);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

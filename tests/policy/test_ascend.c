/* test_ascend: Huawei Ascend's rows, the behaviour HAMi's own tests of
 * pkg/device/ascend pin down (device_test.go, device_910c_pairing_test.go),
 * in this suite's table format: the fit over every chip, 910C's whole
 * modules, the NetworkID preference, the templates, the huawei.com/<chip>
 * annotation, the webhook's rules and the register annotation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"
#include "policy/device_ascend.h"
#include "tests/support/harness.h"

static const char *const chips[] = {"Ascend910A",  "Ascend910B2", "Ascend910B3", "Ascend910B4-1",
                                    "Ascend910B4", "Ascend310P",  "Ascend910C"};
#define NCHIPS ((int)(sizeof chips / sizeof chips[0]))

/* HAMi's TestDevices_Fit, run on every chip. */
static const struct fit_case {
    const char *name;
    int ndev;
    struct {
        const char *id;
        int32_t index, count, used, cores, devcore, netid;
        int64_t mem, devmem;
        bool unhealthy;
        const char *mode; /* the register annotation's mode */
    } dev[6];
    int32_t nums, mem, pct, cores;
    const char *use_uuid, *nouse_uuid, *mode;
    bool mutex, network_chips;
    const char *want; /* the devices picked, or the reasons */
} fit_cases[] = {
    /* clang-format off */
    {"fits", 2, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 128}, {"dev-1", 1, 100, 0, 0, 100, 0, 0, 128}},
     1, 64, 0, 50, .want = "dev-0"},
    {"memory not enough", 1, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 128}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientMemory"},
    {"cores not enough", 1, {{"dev-0", 0, 100, 0, 100, 100, 0, 0, 1024}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientCore"},
    {"use-uuid names another NPU", 1, {{"dev-1", 0, 100, 0, 0, 100, 0, 0, 1280}},
     1, 512, 0, 50, .use_uuid = "dev-0", .want = "1/1 CardUuidMismatch"},
    {"no-use-uuid names the NPU", 1, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 1280}},
     1, 512, 0, 50, .nouse_uuid = "dev-0", .want = "1/1 CardUuidMismatch"},
    {"card overused", 1, {{"dev-0", 0, 100, 100, 0, 100, 0, 0, 1280}},
     1, 512, 0, 50, .want = "1/1 CardTimeSlicingExhausted"},
    {"100 cores wants the NPU alone", 1, {{"dev-0", 0, 100, 20, 0, 100, 0, 0, 1280}},
     1, 512, 0, 100, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {"no cores on a full NPU", 1, {{"dev-0", 0, 100, 20, 100, 100, 0, 0, 1280}},
     1, 512, 0, 0, .want = "1/1 CardComputeUnitsExhausted"},
    {"two asked, one NPU (the node's check)", 1, {{"dev-0", 0, 100, 20, 10, 100, 0, 0, 1280}},
     2, 512, 0, 20, .want = "NodeInsufficientDevice"},
    {"three asked, two NPUs", 2,
     {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 1280}, {"dev-1", 1, 100, 0, 0, 100, 0, 0, 1280}},
     3, 512, 0, 20, .want = "NodeInsufficientDevice"},
    {"a memory percentage", 1, {{"dev-0", 0, 100, 20, 10, 100, 0, 0, 1280}},
     1, 0, 10, 20, .want = "dev-0"},
    {"hami-core soft split", 1, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 32768}},
     1, 15360, 0, 20, .mode = "hami-core", .want = "1/1 ModeNotFit"},
    {"another vnpu-mode value is the template mode", 1, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 32768}},
     1, 8738, 0, 0, .mode = "vnpu", .want = "dev-0"},
    {"vnpu-mode is not matched against a device's mode", 1,
     {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 32768, false, "hami-core"}},
     1, 8738, 0, 0, .mode = "vnpu", .want = "dev-0"},
    {"mutex: not a used NPU", 1, {{"dev-0", 0, 100, 1, 0, 100, 0, 0, 128}},
     1, 64, 0, 50, .mutex = true, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {"unhealthy", 1, {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 1280, true}},
     1, 512, 0, 50, .want = "1/1 CardNotHealth"},
    /* HAMi's "schedule by NetworkID": two of network 1 rather than one of each. */
    {"NetworkID: the network with most fitting NPUs", 3,
     {{"dev-0", 0, 100, 0, 0, 100, 1, 0, 128}, {"dev-1", 4, 100, 0, 0, 100, 2, 0, 128},
      {"dev-2", 5, 100, 0, 0, 100, 2, 0, 128}},
     2, 64, 0, 50, .network_chips = true, .want = "dev-1,dev-2"},
    {"NetworkID: without one on every NPU, the engine's order", 3,
     {{"dev-0", 0, 100, 0, 0, 100, 1, 0, 128}, {"dev-1", 4, 100, 0, 0, 100, 2, 0, 128},
      {"dev-2", 5, 100, 0, 0, 100, 0, 0, 128}},
     2, 64, 0, 50, .network_chips = true, .want = "dev-0,dev-1"},
    /* clang-format on */
};

static bool run_fit(const struct policy_device_backend *b, const struct fit_case *k, char *got,
                    size_t cap)
{
    struct policy_device d[6];
    struct policy_usage u[6];
    for (int i = 0; i < k->ndev; i++) {
        d[i] = (struct policy_device){.uuid = k->dev[i].id,
                                      .type = b->vendor_word,
                                      .index = k->dev[i].index,
                                      .count = k->dev[i].count,
                                      .devcore = k->dev[i].devcore,
                                      .devmem = k->dev[i].devmem,
                                      .health = !k->dev[i].unhealthy,
                                      .netid = k->dev[i].netid,
                                      .mode = k->dev[i].mode,
                                      .backend = b};
        u[i] = (struct policy_usage){
            .used = k->dev[i].used, .cores = k->dev[i].cores, .mem = k->dev[i].mem};
    }
    struct policy_node n = {.name = "n", .ndev = k->ndev, .dev = d, .use = u, .id = -1};
    static struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c",
                                   .nums = k->nums,
                                   .mem = k->mem,
                                   .mem_pct = k->pct,
                                   .cores = k->cores,
                                   .backend = b,
                                   .priority = -1};
    p.use_uuid = k->use_uuid;
    p.nouse_uuid = k->nouse_uuid;
    p.vgpu_mode = k->mode;
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_SPREAD}, .mutex = k->mutex}};
    static struct policy_placement pl;
    struct policy_reasons r;
    got[0] = '\0';
    bool fits = policy_fit(&p, &n, &o, &pl, &r);
    if (fits)
        for (int i = 0; i < pl.npick; i++)
            snprintf(got + strlen(got), cap - strlen(got), "%s%s", i ? "," : "",
                     d[pl.pick[i].dev].uuid);
    else
        policy_reasons_format(&r, got, cap);
    return fits;
}

START_TEST(test_fit)
{
    const struct fit_case *k = &fit_cases[_i];
    for (int c = 0; c < NCHIPS; c++) {
        const struct policy_device_backend *b = policy_ascend_find(chips[c]);
        ck_assert_ptr_nonnull(b);
        if (k->network_chips && (b->vnpu->pairs || !b->vnpu->network))
            continue;
        char got[256];
        run_fit(b, k, got, sizeof got);
        ck_assert_msg(strcmp(got, k->want) == 0, "%s: %s: got \"%s\", want \"%s\"", chips[c],
                      k->name, got, k->want);
    }
}
END_TEST

/* 910C: more than one NPU only as whole modules (NPUs 2m, 2m+1). */
static const struct fit_case pair_cases[] = {
    /* clang-format off */
    {"two of three: the whole module", 3,
     {{"dev-0", 0, 100, 0, 0, 100, 1, 0, 128}, {"dev-1", 1, 100, 0, 0, 100, 1, 0, 128},
      {"dev-2", 2, 100, 0, 0, 100, 1, 0, 128}},
     2, 128, 0, 100, .want = "dev-0,dev-1"},
    {"two: the module whose both NPUs fit", 3,
     {{"dev-0", 0, 100, 1, 0, 100, 0, 0, 128}, {"dev-1", 1, 100, 0, 0, 100, 0, 0, 128},
      {"dev-2", 2, 100, 0, 0, 100, 0, 0, 128}},
     2, 128, 0, 100, .want = "1/3 ExclusiveDeviceAllocateConflict, 2/3 AllocatedCardsInsufficientRequest"},
    {"two: modules 1 and 0, 0 half used", 3,
     {{"dev-2", 2, 100, 0, 0, 100, 0, 0, 128}, {"dev-3", 3, 100, 0, 0, 100, 0, 0, 128},
      {"dev-0", 0, 100, 0, 0, 100, 0, 100, 128}},
     2, 128, 0, 0, .want = "dev-2,dev-3"},
    {"three: never whole modules", 3,
     {{"dev-0", 0, 100, 0, 0, 100, 0, 0, 128}, {"dev-1", 1, 100, 0, 0, 100, 0, 0, 128},
      {"dev-2", 2, 100, 0, 0, 100, 0, 0, 128}},
     3, 64, 0, 0, .want = "3/3 AllocatedCardsInsufficientRequest"},
    {"one: any NPU", 1, {{"dev-5", 5, 100, 0, 0, 100, 0, 0, 128}},
     1, 64, 0, 0, .want = "dev-5"},
    /* device_910c_pairing_test.go */
    {"four of modules 0, 1, 2, 3 with only module 0 whole", 5,
     {{"dev-0", 0, 1, 0, 0, 100, 1, 0, 32000}, {"dev-1", 1, 1, 0, 0, 100, 1, 0, 32000},
      {"dev-2", 2, 1, 0, 0, 100, 1, 0, 32000}, {"dev-4", 4, 1, 0, 0, 100, 1, 0, 32000},
      {"dev-6", 6, 1, 0, 0, 100, 1, 0, 32000}},
     4, 1000, 0, 0, .want = "5/5 AllocatedCardsInsufficientRequest"},
    {"two of two half modules", 2,
     {{"dev-0", 0, 1, 0, 0, 100, 1, 0, 32000}, {"dev-2", 2, 1, 0, 0, 100, 1, 0, 32000}},
     2, 1000, 0, 0, .want = "2/2 AllocatedCardsInsufficientRequest"},
    {"two of one whole module", 2,
     {{"dev-0", 0, 1, 0, 0, 100, 1, 0, 32000}, {"dev-1", 1, 1, 0, 0, 100, 1, 0, 32000}},
     2, 1000, 0, 0, .want = "dev-0,dev-1"},
    {"two of one whole module, no NetworkID", 2,
     {{"dev-0", 0, 1, 0, 0, 100, 0, 0, 32000}, {"dev-1", 1, 1, 0, 0, 100, 0, 0, 32000}},
     2, 1000, 0, 0, .want = "dev-0,dev-1"},
    {"four of four half modules, no NetworkID", 4,
     {{"dev-0", 0, 1, 0, 0, 100, 0, 0, 32000}, {"dev-2", 2, 1, 0, 0, 100, 0, 0, 32000},
      {"dev-4", 4, 1, 0, 0, 100, 0, 0, 32000}, {"dev-6", 6, 1, 0, 0, 100, 0, 0, 32000}},
     4, 1000, 0, 0, .want = "4/4 AllocatedCardsInsufficientRequest"},
    /* clang-format on */
};

START_TEST(test_pairs)
{
    const struct fit_case *k = &pair_cases[_i];
    char got[256];
    run_fit(policy_ascend_find("Ascend910C"), k, got, sizeof got);
    ck_assert_msg(strcmp(got, k->want) == 0, "%s: got \"%s\", want \"%s\"", k->name, got, k->want);
}
END_TEST

/* HAMi's ScoreNode for 910 chips, added to HAMi's node score (binpack and
 * spread alike, as HAMi adds it): 10 x the share of a container's NPUs on
 * its most used NetworkID; nothing when an NPU has none, nothing for 310P,
 * nothing under fragment-aware (not HAMi's score). */
static const struct {
    const char *chip, *policy;
    int32_t netid[4];
    int32_t used[4]; /* slots taken: count 1, so 1 = full */
    double bonus;
} score_cases[] = {
    {"Ascend910B3", "binpack", {1, 1, 2, 2}, {0, 0, 0, 0}, 10},
    {"Ascend910B3", "binpack", {1, 1, 2, 2}, {0, 1, 0, 1}, 5},
    {"Ascend910B3", "spread", {1, 1, 2, 2}, {0, 0, 0, 0}, 10},
    {"Ascend910B3", "binpack", {0, 1, 2, 2}, {0, 0, 1, 1}, 0}, /* a picked NPU has none */
    {"Ascend910C", "binpack", {1, 1, 2, 2}, {0, 0, 0, 0}, 10},
    {"Ascend310P", "binpack", {1, 1, 2, 2}, {0, 0, 0, 0}, 0},
    {"Ascend910B3", "fragment-aware", {1, 1, 2, 2}, {0, 0, 0, 0}, 0},
};

static double score_on(const struct policy_device_backend *b, const char *policy,
                       const int32_t *netid, const int32_t *used)
{
    struct policy_device d[4];
    struct policy_usage u[4];
    static char ids[4][8];
    for (int i = 0; i < 4; i++) {
        snprintf(ids[i], sizeof ids[i], "n-%d", i);
        d[i] = (struct policy_device){.uuid = ids[i],
                                      .index = i,
                                      .count = 1,
                                      .devcore = 20,
                                      .devmem = 65536,
                                      .health = true,
                                      .netid = netid[i],
                                      .backend = b};
        u[i] = (struct policy_usage){.used = used[i]};
    }
    struct policy_node n = {.name = "n", .ndev = 4, .dev = d, .use = u, .id = -1};
    static struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.nctr = 1;
    p.ctr[0] =
        (struct policy_ctr){.name = "c", .nums = 2, .mem_pct = 100, .backend = b, .priority = -1};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find(policy)};
    static struct policy_placement pl;
    struct policy_reasons r;
    ck_assert(policy_fit(&p, &n, &o, &pl, &r));
    return pl.score;
}

START_TEST(test_node_score)
{
    const struct policy_device_backend *b = policy_ascend_find(score_cases[_i].chip);
    const int32_t none[4] = {0, 0, 0, 0};
    double with = score_on(b, score_cases[_i].policy, score_cases[_i].netid, score_cases[_i].used);
    double without = score_on(b, score_cases[_i].policy, none, score_cases[_i].used);
    ck_assert_msg(with - without == score_cases[_i].bonus, "case %d: %g - %g, want %g", _i, with,
                  without, score_cases[_i].bonus);
}
END_TEST

/* The memory a request takes: the smallest template covering it, the whole
 * card past the largest, the ask itself past the card (then the fit says
 * CardInsufficientMemory). */
static const struct {
    const char *chip;
    int64_t ask, want;
} mem_cases[] = {
    {"Ascend910B3", 1, 16384},     {"Ascend910B3", 5000, 16384},    {"Ascend910B3", 16384, 16384},
    {"Ascend910B3", 16385, 32768}, {"Ascend910B3", 40000, 65536},   {"Ascend910B3", 65536, 65536},
    {"Ascend910B3", 65537, 65537}, {"Ascend910A", 8738, 8738},      {"Ascend910A", 8739, 17476},
    {"Ascend910A", 20000, 32768},  {"Ascend310P", 3000, 3072},      {"Ascend310P", 20000, 21527},
    {"Ascend310P", 24576, 21527},  {"Ascend310P", 24577, 24577},    {"Ascend910B4", 8193, 16384},
    {"Ascend910B2", 8192, 8192},   {"Ascend910B4-1", 16385, 32768}, {"Ascend910C", 10, 16384},
};

START_TEST(test_mem)
{
    const struct policy_device_backend *b = policy_ascend_find(mem_cases[_i].chip);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(b->mem_request(b, mem_cases[_i].ask), mem_cases[_i].want);
}
END_TEST

/* huawei.com/<chip>: HAMi's PatchAnnotations bytes. */
static const struct {
    const char *chip, *devices, *want;
} runtime_cases[] = {
    {"Ascend910A", "device-0,Ascend910A,8738,1:;",
     "[{\"UUID\":\"device-0\",\"temp\":\"vir08\",\"memory\":8738,\"core\":1}]"},
    {"Ascend910A", "device-zero-core,Ascend910A,8738,0:;",
     "[{\"UUID\":\"device-zero-core\",\"temp\":\"vir08\",\"memory\":8738}]"},
    {"Ascend910B3", "n-0,Ascend910B3,65536,0:n-1,Ascend910B3,65536,0:;",
     "[{\"UUID\":\"n-0\",\"memory\":65536},{\"UUID\":\"n-1\",\"memory\":65536}]"},
    {"Ascend910B3", ";n-2,Ascend910B3,16384,0:;n-3,Ascend910B3,32768,0:;",
     "[{\"UUID\":\"n-2\",\"temp\":\"vir05_1c_16g\",\"memory\":16384},"
     "{\"UUID\":\"n-3\",\"temp\":\"vir10_3c_32g\",\"memory\":32768}]"},
    {"Ascend310P", "p-0,Ascend310P,3072,0:;",
     "[{\"UUID\":\"p-0\",\"temp\":\"vir01\",\"memory\":3072}]"},
};

START_TEST(test_runtime)
{
    const struct policy_device_backend *b = policy_ascend_find(runtime_cases[_i].chip);
    char buf[512], err[256] = "";
    ck_assert_int_eq(
        b->extra_encode(b, 0, runtime_cases[_i].devices, 7, buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(buf, runtime_cases[_i].want);
    ck_assert_int_eq(strncmp(b->ann_extra[0], "huawei.com/Ascend", 17), 0);
    ck_assert_int_eq(
        b->extra_encode(b, 1, runtime_cases[_i].devices, 7, buf, sizeof buf, err, sizeof err), 0);
    ck_assert_str_eq(buf, "7"); /* predicate-time: when it was written */
    ck_assert_str_eq(b->ann_extra[1], "predicate-time");
    /* Bad input: a message, never a crash; too small a buffer: ERR_TOOBIG. */
    ck_assert_int_ne(b->extra_encode(b, 0, "x,y", 7, buf, sizeof buf, err, sizeof err), 0);
    ck_assert(err[0]);
    ck_assert_int_eq(b->extra_encode(b, 0, runtime_cases[_i].devices, 7, buf, 8, err, sizeof err),
                     ERR_TOOBIG);
}
END_TEST

/* The webhook's rules (HAMi's MutateAdmission tests). */
static const struct {
    const char *chip;
    int64_t count;
    bool has_mem;
    int64_t mem, cores;
    int rc;
    int64_t count_out, mem_out;
    const char *msg; /* a word the refusal names */
} admit_cases[] = {
    {"Ascend910A", 2, true, 8738, 0, ERR_INVAL, 0, 0, "one NPU only"},
    {"Ascend910A", 2, true, 40000, 0, ERR_INVAL, 0, 0, "more than"},
    {"Ascend910A", 1, true, 20000, 0, 0, 1, 32768, NULL},
    {"Ascend910A", 1, true, 8738, 0, 0, 1, 8738, NULL},
    {"Ascend910A", 1, false, 0, 0, 0, 1, 32768, NULL},
    {"Ascend910A", 2, false, 0, 0, 0, 2, 32768, NULL},
    {"Ascend910B3", 1, true, 15360, 0, 0, 1, 16384, NULL},
    {"Ascend910B3", 1, true, 8738, 10, ERR_INVAL, 0, 0, "AI cores"},
    {"Ascend910B3", 1, true, 8738, 0, 0, 1, 16384, NULL},
    {"Ascend910C", 1, false, 0, 0, 0, 2, 65536, NULL},
    {"Ascend910C", 3, false, 0, 0, ERR_INVAL, 0, 0, "even"},
    {"Ascend910C", 4, false, 0, 0, 0, 4, 65536, NULL},
    /* HAMi checks the count asked, not the 2 it became: two 16 GiB vNPUs */
    {"Ascend910C", 1, true, 16384, 0, 0, 2, 16384, NULL},
};

START_TEST(test_admit)
{
    const struct policy_device_backend *b = policy_ascend_find(admit_cases[_i].chip);
    int64_t count = -1, mem = -1;
    char err[512] = "";
    int rc =
        policy_vnpu_admit(b, admit_cases[_i].count, admit_cases[_i].has_mem, admit_cases[_i].mem,
                          admit_cases[_i].cores, &count, &mem, err, sizeof err);
    ck_assert_msg(rc == admit_cases[_i].rc, "case %d: rc %d (%s)", _i, rc, err);
    if (rc == 0) {
        ck_assert_int_eq(count, admit_cases[_i].count_out);
        ck_assert_int_eq(mem, admit_cases[_i].mem_out);
    } else {
        ck_assert_msg(strstr(err, admit_cases[_i].msg), "case %d: %s", _i, err);
    }
}
END_TEST

/* The register annotation: HAMi's capitalised keys, custominfo.NetworkID,
 * JSON only, no MIG, a bad NetworkID refused with the device named. */
START_TEST(test_register)
{
    const struct policy_device_backend *b = policy_ascend_find("Ascend910B3");
    struct policy_device *dev;
    int32_t ndev;
    char *strings, err[256] = "";
    const char *v = "[{\"ID\":\"GPU-0\",\"Count\":4,\"Devmem\":8738,\"Devcore\":8,"
                    "\"Type\":\"huawei.com/Ascend910\",\"Numa\":0,\"Health\":true},"
                    "{\"id\":\"n-1\",\"index\":1,\"count\":4,\"devmem\":65536,\"devcore\":20,"
                    "\"health\":true,\"custominfo\":{\"NetworkID\":3,\"Other\":\"x\"}}]";
    ck_assert_msg(b->register_parse(v, &dev, &ndev, &strings, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ndev, 2);
    ck_assert_str_eq(dev[0].uuid, "GPU-0");
    ck_assert_int_eq(dev[0].count, 4);
    ck_assert_int_eq(dev[0].devmem, 8738);
    ck_assert_int_eq(dev[0].devcore, 8);
    ck_assert(dev[0].health);
    ck_assert_int_eq(dev[0].netid, 0);
    ck_assert_int_eq(dev[1].netid, 4);
    ck_assert_ptr_eq(dev[1].backend, b);
    free(dev);
    free(strings);
    const char *bad[] = {
        "GPU-0,4,8738,8,Ascend,0,true:",
        "[{\"id\":\"n-0\",\"count\":1,\"devmem\":1,\"health\":true,\"mode\":\"mig\"}]",
        "[{\"id\":\"n-0\",\"count\":1,\"devmem\":1,\"custominfo\":{\"NetworkID\":\"a\"}}]",
        "[{\"id\":\"n-0\",\"count\":1,\"devmem\":1,\"custominfo\":{\"NetworkID\":-1}}]",
        "[{\"id\":\"n-0\",\"count\":1,\"devmem\":1,\"custominfo\":{\"NetworkID\":1.5}}]",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        err[0] = '\0';
        ck_assert_int_eq(b->register_parse(bad[k], &dev, &ndev, &strings, err, sizeof err),
                         ERR_INVAL);
        ck_assert_ptr_null(dev);
        ck_assert_ptr_null(strings);
        ck_assert_msg(err[0], "no message for %s", bad[k]);
    }
}
END_TEST

/* HAMi's names, built from the commonWord (Test_InitDevices). */
START_TEST(test_words)
{
    const struct policy_device_backend *b = policy_ascend_find("Ascend910A");
    ck_assert_str_eq(b->vendor_word, "Ascend910A");
    ck_assert_str_eq(b->res[POLICY_RES_COUNT], "huawei.com/Ascend910A");
    ck_assert_str_eq(b->res[POLICY_RES_MEM], "huawei.com/Ascend910A-memory");
    ck_assert_str_eq(b->res[POLICY_RES_CORES], "huawei.com/Ascend910A-core");
    ck_assert_str_eq(b->ann_register, "hami.io/node-register-Ascend910A");
    ck_assert_str_eq(b->ann_handshake, "hami.io/node-handshake-Ascend910A");
    ck_assert_str_eq(b->ann_use_uuid, "hami.io/use-Ascend910A-uuid");
    ck_assert_str_eq(b->ann_nouse_uuid, "hami.io/no-use-Ascend910A-uuid");
    ck_assert_str_eq(b->ann_to_allocate, "hami.io/Ascend910A-devices-to-allocate");
    ck_assert_str_eq(b->ann_allocated, "hami.io/Ascend910A-devices-allocated");
    ck_assert_str_eq(b->ann_extra[0], "huawei.com/Ascend910A");
    ck_assert_str_eq(b->ann_vgpu_mode, "huawei.com/vnpu-mode");
    ck_assert_ptr_null(b->ann_use_type);
    ck_assert_ptr_eq(policy_device_backend_of_word("x,Ascend910B4-1,1,0:;"),
                     policy_ascend_find("Ascend910B4-1"));
    ck_assert_ptr_null(policy_ascend_find("Ascend999"));
    ck_assert_ptr_null(policy_ascend_find(NULL));
    for (int c = 0; c < NCHIPS; c++) { /* templates ascending, HAMi's order */
        const struct policy_vnpu *v = policy_ascend_find(chips[c])->vnpu;
        for (int i = 1; i < v->ntemplates; i++)
            ck_assert_int_lt(v->t[i - 1].mem, v->t[i].mem);
        ck_assert_int_le(v->mem_allocatable, v->mem_capacity);
    }
    struct policy_vnpu v = {.ntemplates = 3,
                            .t = {{"c", 30, 0, 0}, {"a", 10, 0, 0}, {"b", 20, 0, 0}}};
    policy_vnpu_sort(&v);
    ck_assert_str_eq(v.t[0].name, "a");
    ck_assert_str_eq(v.t[2].name, "c");
    ck_assert_int_eq(policy_vnpu_template(&v, 11), 1);
    ck_assert_int_eq(policy_vnpu_template(&v, 31), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ascend");
    TCase *tc = tcase_create("ascend");
    tcase_add_loop_test(tc, test_fit, 0, (int)(sizeof fit_cases / sizeof fit_cases[0]));
    tcase_add_loop_test(tc, test_pairs, 0, (int)(sizeof pair_cases / sizeof pair_cases[0]));
    tcase_add_loop_test(tc, test_mem, 0, (int)(sizeof mem_cases / sizeof mem_cases[0]));
    tcase_add_loop_test(tc, test_runtime, 0, (int)(sizeof runtime_cases / sizeof runtime_cases[0]));
    tcase_add_loop_test(tc, test_admit, 0, (int)(sizeof admit_cases / sizeof admit_cases[0]));
    tcase_add_loop_test(tc, test_node_score, 0, (int)(sizeof score_cases / sizeof score_cases[0]));
    tcase_add_test(tc, test_register);
    tcase_add_test(tc, test_words);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

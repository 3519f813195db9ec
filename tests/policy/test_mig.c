/* NVIDIA MIG in the engine (policy/device_nvidia_mig.h): the profile and
 * placement HAMi would choose, the checks and reason words, the MIG
 * allocation annotation both ways, and the register's migProfiles. Cases
 * derived from what HAMi's own tests pin down (pkg/device/nvidia/
 * mig_topology_test.go, mig_capability_test.go, pkg/scheduler/
 * mig_allocation_test.go): the behaviour, in our table format. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"
#include "tests/support/harness.h"

/* HAMi's A100 profiles of mig_capability_test.go (memory, cores as there). */
static const struct policy_mig_profile a100[] = {
    {"1g.5gb", 5120, 14, 1, 7, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}},
    {"2g.10gb", 10240, 28, 2, 3, {{0, 2}, {2, 2}, {4, 2}}},
    {"3g.20gb", 20480, 42, 3, 2, {{0, 4}, {4, 4}}},
};

#define MAXHELD 4
#define MAXCTR  4

/* One card GPU-a of 40960 MiB, 7 slots, in mode `mode` with the profiles
 * above (none when noprof), holding the instances `held` (start, size; size
 * 0 ends) plus `unknown` instances of no known placement; a pod whose app
 * containers ask one GPU of mem[i] MiB (or pct[i] %) each. */
static const struct {
    const char *what;
    const char *mode; /* NULL: "mig" */
    bool noprof;
    int held[MAXHELD][2];
    int unknown;
    int mem[MAXCTR];
    int pct[MAXCTR];
    const char *vgpu_mode;
    const char *want; /* NULL: fits */
    struct {
        int mem, cores, start;
        const char *profile;
    } pick[MAXCTR];
} cases[] = {
    /* mig_capability_test: a request takes the reported profile's memory
     * and cores, at its placement; the UUID stays the card's. */
    {"10000 MiB -> 2g.10gb at 0", .mem = {10000}, .pick = {{10240, 28, 0, "2g.10gb"}}},
    /* mig_topology_test, balanced packing: 3g from the top, 2g from the
     * bottom, 1g from the top of what is left. */
    {"3g, 2g, 1g, 1g in turn", .mem = {20000, 10000, 5000, 5000},
     .pick = {{20480, 42, 4, "3g.20gb"},
              {10240, 28, 0, "2g.10gb"},
              {5120, 14, 3, "1g.5gb"},
              {5120, 14, 2, "1g.5gb"}}},
    {"the smallest covering profile", .mem = {1}, .pick = {{5120, 14, 6, "1g.5gb"}}},
    /* Three 2g instances: a fourth 2g does not fit, a 1g does. */
    {"fourth 2g", .held = {{0, 2}, {2, 2}, {4, 2}}, .mem = {10000},
     .want = "1/1 CardMigTopologyInfeasible"},
    {"1g beside three 2g", .held = {{0, 2}, {2, 2}, {4, 2}}, .mem = {5000},
     .pick = {{5120, 14, 6, "1g.5gb"}}},
    /* ... and a second container cannot take the one placement left. */
    {"two 1g, one placement left", .held = {{0, 2}, {2, 2}, {4, 2}}, .mem = {5000, 5000},
     .want = "1/1 CardMigTopologyInfeasible"},
    /* Both 3g placements held: nothing fits between them (and the memory
     * check, which comes first, says so already). */
    {"two 3g held", .held = {{0, 4}, {4, 4}}, .mem = {1}, .want = "1/1 CardInsufficientMemory"},
    {"3g and 4 slices of 1g held", .held = {{0, 4}, {4, 1}, {5, 1}, {6, 1}}, .mem = {1},
     .want = "1/1 CardMigTopologyInfeasible"},
    {"remaining balanced placements", .held = {{4, 4}}, .mem = {10000, 5000, 5000},
     .pick = {{10240, 28, 0, "2g.10gb"}, {5120, 14, 3, "1g.5gb"}, {5120, 14, 2, "1g.5gb"}}},
    /* A percentage is resolved on the card's memory first (25 % = 10240). */
    {"25 % with a 1g placement left", .held = {{0, 2}, {2, 2}, {4, 2}}, .pct = {25},
     .want = "1/1 CardMigTopologyInfeasible"},
    {"25 % on an empty card", .pct = {25}, .pick = {{10240, 28, 0, "2g.10gb"}}},
    /* No profile covers the whole card's memory. */
    {"a whole card", .pct = {100}, .want = "1/1 CardMigTopologyInfeasible"},
    {"more than any profile", .mem = {30000}, .want = "1/1 CardMigTopologyInfeasible"},
    /* Fail closed, as HAMi marks the card unhealthy: an instance of no known
     * placement (no MIG allocation annotation, or "GPU-a[1-0]"). */
    {"an instance of unknown placement", .unknown = 1, .mem = {5000},
     .want = "1/1 CardMigTopologyInfeasible"},
    /* A MIG card that reports no profile (older plugins) takes nothing. */
    {"no profiles", .noprof = true, .mem = {5000}, .want = "1/1 CardMigTopologyInfeasible"},
    /* HAMi's checks come first, in their order. */
    {"memory before topology", .unknown = 1, .mem = {40000}, .want = "1/1 CardInsufficientMemory"},
    /* nvidia.com/vgpu-mode: a device's mode must be in it; no annotation,
     * any mode. */
    {"vgpu-mode hami-core on a MIG card", .mem = {5000}, .vgpu_mode = "hami-core",
     .want = "1/1 CardTypeMismatch"},
    {"vgpu-mode mig on a MIG card", .mem = {5000}, .vgpu_mode = "mig",
     .pick = {{5120, 14, 6, "1g.5gb"}}},
    {"vgpu-mode mig on a hami-core card", .mode = "hami-core", .mem = {5000}, .vgpu_mode = "mig",
     .want = "1/1 CardTypeMismatch"},
    {"a hami-core card: no instance", .mode = "hami-core", .mem = {5000},
     .pick = {{5000, 0, 0, NULL}}},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(mig_fit)
{
    __typeof__(cases[0]) *k = &cases[_i];
    struct policy_device d = {.uuid = "GPU-a",
                              .type = "NVIDIA-A100-SXM4-40GB",
                              .mode = k->mode ? k->mode : "mig",
                              .count = 7,
                              .devcore = 100,
                              .devmem = 40960,
                              .health = true,
                              .nmig = k->noprof ? 0 : 3,
                              .mig = a100};
    struct policy_usage u = {0};
    for (int i = 0; i < MAXHELD && k->held[i][1]; i++) {
        const struct policy_mig_profile *p = k->held[i][1] == 4   ? &a100[2]
                                             : k->held[i][1] == 2 ? &a100[1]
                                                                  : &a100[0];
        u.used++;
        u.mem += p->mem;
        u.cores += p->core;
        u.mig += policy_mig_instance(k->held[i][0], k->held[i][1]);
    }
    u.used += k->unknown;
    u.mem += 5120 * k->unknown;
    struct policy_node n = {.name = "n", .ndev = 1, .dev = &d, .use = &u};
    struct policy_pod p = {.name = "p", .w = {1, 1, 1}, .quota_mem = -1, .quota_cores = -1};
    p.vgpu_mode = k->vgpu_mode;
    for (int i = 0; i < MAXCTR && (k->mem[i] || k->pct[i]); i++)
        p.ctr[p.nctr++] = (struct policy_ctr){
            .name = "c", .nums = 1, .mem = k->mem[i], .mem_pct = k->pct[i], .priority = -1};
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_SPREAD}}};
    struct policy_placement pl;
    struct policy_reasons why;
    char buf[256];

    bool fits = policy_fit(&p, &n, &o, &pl, &why);
    if (k->want) {
        ck_assert_msg(!fits, "%s: fits", k->what);
        policy_reasons_format(&why, buf, sizeof buf);
        ck_assert_msg(strcmp(buf, k->want) == 0, "%s: %s", k->what, buf);
        return;
    }
    policy_reasons_format(&why, buf, sizeof buf);
    ck_assert_msg(fits, "%s: %s", k->what, buf);
    ck_assert_int_eq(pl.npick, p.nctr);
    for (int i = 0; i < pl.npick; i++) {
        const struct policy_pick *q = &pl.pick[i];
        ck_assert_msg(q->mem == k->pick[i].mem && q->cores == k->pick[i].cores,
                      "%s: pick %d: %lld MiB %d cores", k->what, i, (long long)q->mem, q->cores);
        if (!k->pick[i].profile) {
            ck_assert_int_eq(q->mig, 0);
            continue;
        }
        ck_assert_msg(q->mig && strcmp(a100[q->mig - 1].name, k->pick[i].profile) == 0 &&
                          q->mig_start == k->pick[i].start,
                      "%s: pick %d: profile %d at %d", k->what, i, q->mig, q->mig_start);
    }
    /* The usage after holds every instance, each on its own slices. */
    ck_assert_int_eq(policy_mig_known(pl.after[0].mig),
                     policy_mig_known(u.mig) + (k->pick[0].profile ? pl.npick : 0));
    for (int s = 0; s < POLICY_MIG_SLICES; s++)
        ck_assert_int_le((int)((pl.after[0].mig >> (7 * s)) & 0x7f), 1);
}
END_TEST

/* What HAMi's device plugin reads: containerIndex counts init containers
 * first, deviceIndex the container's devices; only MIG picks are listed. */
START_TEST(mig_encode)
{
    struct policy_device d[2] = {
        {.uuid = "GPU-a", .mode = "mig", .nmig = 3, .mig = a100},
        {.uuid = "GPU-b", .mode = "hami-core"},
    };
    struct policy_node n = {.name = "n", .ndev = 2, .dev = d};
    struct policy_pod p = {.nctr = 3};
    struct policy_placement pl = {.npick = 4};
    pl.pick[0] = (struct policy_pick){.ctr = 1, .dev = 1, .mem = 100};
    pl.pick[1] = (struct policy_pick){.ctr = 1, .dev = 0, .mig = 3, .mig_start = 4};
    pl.pick[2] = (struct policy_pick){.ctr = 2, .dev = 0, .mig = 1, .mig_start = 2};
    pl.pick[3] = (struct policy_pick){.ctr = 2, .dev = 1, .mem = 100};
    char buf[512];
    int len = policy_mig_encode(&p, &n, &pl, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    ck_assert_str_eq(buf, "[{\"containerIndex\":1,\"deviceIndex\":1,\"gpuUUID\":\"GPU-a\","
                          "\"profile\":\"3g.20gb\",\"placement\":{\"start\":4,\"size\":4}},"
                          "{\"containerIndex\":2,\"deviceIndex\":0,\"gpuUUID\":\"GPU-a\","
                          "\"profile\":\"1g.5gb\",\"placement\":{\"start\":2,\"size\":1}}]");
    ck_assert_int_eq(policy_mig_encode(&p, &n, &pl, buf, 40), ERR_TOOBIG);
    pl.npick = 1;
    ck_assert_int_eq(policy_mig_encode(&p, &n, &pl, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    /* Round trip: what was encoded is what the usage reads back. */
    struct policy_usage u[2] = {{0}};
    char err[128];
    pl.npick = 4;
    ck_assert_int_gt(policy_mig_encode(&p, &n, &pl, buf, sizeof buf), 0);
    ck_assert_int_eq(policy_mig_usage(&n, buf, u, err, sizeof err), 0);
    ck_assert_int_eq(policy_mig_known(u[0].mig), 2);
    ck_assert(u[0].mig == policy_mig_instance(4, 4) + policy_mig_instance(2, 1));
    ck_assert(u[1].mig == 0);
}
END_TEST

/* pkg/scheduler/mig_allocation_test.go: instances are restored by profile
 * and placement from the pod's annotation; malformed ones are an error. */
static const struct {
    const char *what, *value;
    int want_rc, want_n;
    uint64_t want_mig;
} usage_cases[] = {
    {"restored",
     "[{\"containerIndex\":0,\"deviceIndex\":0,\"gpuUUID\":\"GPU-a\",\"profile\":"
     "\"1g.5gb\",\"placement\":{\"start\":6,\"size\":1},\"migUUID\":\"MIG-a\","
     "\"gpuInstanceID\":7,\"computeInstanceID\":0}]",
     0, 1, POLICY_MIG_ONE + (UINT64_C(1) << 42)},
    {"two of one container",
     "[{\"gpuUUID\":\"GPU-a\",\"profile\":\"1g.5gb\",\"placement\":{"
     "\"start\":6,\"size\":1}},{\"gpuUUID\":\"GPU-a\",\"profile\":\"1g.5gb\","
     "\"placement\":{\"start\":5,\"size\":1}}]",
     0, 2, 2 * POLICY_MIG_ONE + (UINT64_C(1) << 42) + (UINT64_C(1) << 35)},
    {"unknown card",
     "[{\"gpuUUID\":\"GPU-z\",\"profile\":\"1g.5gb\",\"placement\":{\"start\":6,"
     "\"size\":1}}]",
     1, 0, 0},
    {"placement the profile lacks",
     "[{\"gpuUUID\":\"GPU-a\",\"profile\":\"3g.20gb\",\"placement\":"
     "{\"start\":2,\"size\":4}}]",
     1, 0, 0},
    {"hami-core card",
     "[{\"gpuUUID\":\"GPU-b\",\"profile\":\"1g.5gb\",\"placement\":{\"start\":6,"
     "\"size\":1}}]",
     1, 0, 0},
    {"incomplete", "[{\"gpuUUID\":\"GPU-a\",\"profile\":\"1g.5gb\"}]", ERR_INVAL, 0, 0},
    {"valid then incomplete: nothing added",
     "[{\"gpuUUID\":\"GPU-a\",\"profile\":\"1g.5gb\","
     "\"placement\":{\"start\":6,\"size\":1}},{}]",
     ERR_INVAL, 0, 0},
    {"not an array", "{}", ERR_INVAL, 0, 0},
    {"garbage", "[{", ERR_INVAL, 0, 0},
    {"empty", "", 0, 0, 0},
};

START_TEST(mig_usage)
{
    struct policy_device d[2] = {
        {.uuid = "GPU-a", .mode = "mig", .nmig = 3, .mig = a100},
        {.uuid = "GPU-b", .mode = "hami-core"},
    };
    struct policy_node n = {.name = "n", .ndev = 2, .dev = d};
    struct policy_usage u[2] = {{0}};
    char err[128] = "";
    int rc = policy_mig_usage(&n, usage_cases[_i].value, u, err, sizeof err);
    ck_assert_msg(rc == usage_cases[_i].want_rc, "%s: rc %d (%s)", usage_cases[_i].what, rc, err);
    ck_assert_int_eq(policy_mig_known(u[0].mig), usage_cases[_i].want_n);
    ck_assert(u[0].mig == usage_cases[_i].want_mig);
    ck_assert(u[1].mig == 0);
}
END_TEST

/* The register annotation's migProfiles, as HAMi's device plugin writes
 * them; bad ones refuse the annotation naming the device and field. */
static const struct {
    const char *what, *value;
    int want_rc;
    const char *err_has;
} reg_cases[] = {
    {"A100",
     "[{\"id\":\"GPU-a\",\"count\":7,\"devmem\":40960,\"devcore\":100,\"mode\":\"mig\","
     "\"health\":true,\"migProfiles\":[{\"name\":\"1g.5gb\",\"memoryMB\":4864,\"core\":15,"
     "\"sliceCount\":1,\"placements\":[{\"start\":6,\"size\":1},{\"start\":0,\"size\":1}]},"
     "{\"name\":\"7g.40gb\",\"memoryMB\":40192,\"core\":100,\"sliceCount\":7,"
     "\"placements\":[{\"start\":0,\"size\":8}]}],\"someNewField\":1},"
     "{\"id\":\"GPU-b\",\"mode\":\"hami-core\"}]",
     0, NULL},
    {"start past the card",
     "[{\"id\":\"GPU-a\",\"migProfiles\":[{\"name\":\"1g.5gb\","
     "\"placements\":[{\"start\":8,\"size\":1}]}]}]",
     ERR_RANGE, "\"GPU-a\" migProfiles[0]"},
    {"size past the card",
     "[{\"id\":\"GPU-a\",\"migProfiles\":[{\"name\":\"4g.20gb\","
     "\"placements\":[{\"start\":6,\"size\":4}]}]}]",
     ERR_RANGE, "passes slice 8"},
    {"bad name", "[{\"id\":\"GPU-a\",\"migProfiles\":[{\"name\":\"1g\\\"x\"}]}]", ERR_INVAL,
     "not a MIG profile name"},
    {"not an array", "[{\"id\":\"GPU-a\",\"migProfiles\":{}}]", ERR_INVAL, "migProfiles"},
    {"memory not a number",
     "[{\"id\":\"GPU-a\",\"migProfiles\":[{\"name\":\"1g.5gb\","
     "\"memoryMB\":\"5\"}]}]",
     ERR_INVAL, "memoryMB"},
};

START_TEST(mig_register)
{
    const struct policy_device_backend *b = policy_device_backend_find("nvidia");
    struct policy_device *dev = NULL;
    int32_t ndev = 0;
    char *strings = NULL, err[256] = "";
    int rc = b->register_parse(reg_cases[_i].value, &dev, &ndev, &strings, err, sizeof err);
    ck_assert_msg(rc == reg_cases[_i].want_rc, "%s: rc %d (%s)", reg_cases[_i].what, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, reg_cases[_i].err_has), "%s: %s", reg_cases[_i].what, err);
        ck_assert_ptr_null(dev);
        return;
    }
    ck_assert_int_eq(ndev, 2);
    ck_assert(policy_mig_card(&dev[0]) && !policy_mig_card(&dev[1]));
    ck_assert_int_eq(dev[0].nmig, 2);
    ck_assert_int_eq(dev[1].nmig, 0);
    const struct policy_mig_profile *p = &dev[0].mig[0];
    ck_assert_str_eq(p->name, "1g.5gb");
    ck_assert_int_eq(p->mem, 4864);
    ck_assert_int_eq(p->core, 15);
    ck_assert_int_eq(p->slices, 1);
    ck_assert_int_eq(p->nplace, 2);
    ck_assert_int_eq(p->place[0].start, 6);
    ck_assert_str_eq(dev[0].mig[1].name, "7g.40gb");
    ck_assert_int_eq(dev[0].mig[1].place[0].size, 8);
    /* HAMi's order: 1g from the top. */
    int start;
    ck_assert_int_eq(policy_mig_choose(&dev[0], 0, 4000, &start), 0);
    ck_assert_int_eq(start, 6);
    ck_assert_int_eq(policy_mig_choose(&dev[0], 0, 5000, &start), 1);
    ck_assert_int_eq(policy_mig_choose(&dev[0], policy_mig_slices(0, 1), 5000, &start), -1);
    free(dev);
    free(strings);
}
END_TEST

/* Slice counters: one instance per slice; the peak per slice. */
START_TEST(mig_slices)
{
    ck_assert(policy_mig_slices(0, 1) == 1);
    ck_assert(policy_mig_slices(6, 2) == ((UINT64_C(1) << 42) | (UINT64_C(1) << 49)));
    ck_assert(policy_mig_instance(6, 2) == policy_mig_slices(6, 2) + POLICY_MIG_ONE);
    ck_assert(policy_mig_instance(7, 2) == 0);
    ck_assert_int_eq(policy_mig_known(3 * POLICY_MIG_ONE + policy_mig_slices(0, 8)), 3);
    ck_assert(policy_mig_slices(7, 2) == 0);
    ck_assert(policy_mig_slices(-1, 1) == 0);
    uint64_t s0 = policy_mig_slices(0, 1), s1 = policy_mig_slices(1, 1);
    ck_assert(policy_mig_max(2 * s0 + s1 + POLICY_MIG_ONE, s0 + 3 * s1 + 2 * POLICY_MIG_ONE) ==
              2 * s0 + 3 * s1 + 2 * POLICY_MIG_ONE);
    ck_assert_int_eq(policy_mig_size(&a100[2], 4), 4);
    ck_assert_int_eq(policy_mig_size(&a100[2], 2), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mig");
    TCase *tc = tcase_create("mig");
    tcase_add_loop_test(tc, mig_fit, 0, NCASES);
    tcase_add_test(tc, mig_encode);
    tcase_add_loop_test(tc, mig_usage, 0, (int)(sizeof usage_cases / sizeof usage_cases[0]));
    tcase_add_loop_test(tc, mig_register, 0, (int)(sizeof reg_cases / sizeof reg_cases[0]));
    tcase_add_test(tc, mig_slices);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

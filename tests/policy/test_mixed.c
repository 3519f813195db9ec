/* Nodes carrying devices of several vendors: a container is fitted on its
 * own vendor's devices only, with HAMi's reasons, and the node's .vendor
 * (policy_node_vendor) changes no verdict, only how fast it is reached. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/device.h"
#include "policy/policy.h"
#include "tests/support/harness.h"

#define MAX_DEV 4

/* A device: vendor row name, used slots; 2 slots, 1000 MiB, 100 % each. */
struct mdev {
    const char *vendor;
    int used;
};

/* A container: vendor row name, devices asked, MiB each. */
struct mctr {
    const char *vendor;
    int nums, mem;
};

static const struct mixed_case {
    const char *name;
    int ndev;
    struct mdev dev[MAX_DEV];
    int nctr;
    struct mctr ctr[2];
    const char *want; /* "dev,dev" (indexes picked, container order) or the reasons */
} cases[] = {
    /* clang-format off */
    {"DCU container on an NVIDIA+DCU node takes a DCU", 4,
     {{"nvidia", 0}, {"nvidia", 0}, {"hygon", 0}, {"hygon", 1}}, 1, {{"hygon", 1, 100}}, "3"},
    {"NVIDIA container on an NVIDIA+DCU node takes an NVIDIA card", 4,
     {{"hygon", 0}, {"hygon", 0}, {"nvidia", 1}, {"nvidia", 0}}, 1, {{"nvidia", 1, 100}}, "2"},
    {"more DCUs than the node has: NodeInsufficientDevice", 4,
     {{"nvidia", 0}, {"nvidia", 0}, {"hygon", 0}, {"hygon", 0}}, 1, {{"hygon", 3, 100}},
     "NodeInsufficientDevice"},
    {"DCU container on an NVIDIA-only node: NodeInsufficientDevice", 2,
     {{"nvidia", 0}, {"nvidia", 0}}, 1, {{"hygon", 1, 100}}, "NodeInsufficientDevice"},
    {"NVIDIA container on a DCU-only node: NodeInsufficientDevice", 2,
     {{"hygon", 0}, {"hygon", 0}}, 1, {{"nvidia", 1, 100}}, "NodeInsufficientDevice"},
    {"DCUs full, NVIDIA free: the other vendor's cards are CardTypeMismatch", 4,
     {{"nvidia", 0}, {"nvidia", 0}, {"hygon", 2}, {"hygon", 2}}, 1, {{"hygon", 1, 100}},
     "2/4 CardTimeSlicingExhausted, 2/4 CardTypeMismatch"},
    {"two DCUs on a mixed node", 4,
     {{"hygon", 0}, {"nvidia", 0}, {"hygon", 0}, {"nvidia", 0}}, 1, {{"hygon", 2, 100}}, "0,2"},
    {"one container per vendor, each on its own", 4,
     {{"nvidia", 0}, {"hygon", 0}, {"nvidia", 1}, {"hygon", 1}}, 2,
     {{"nvidia", 1, 100}, {"hygon", 1, 100}}, "2,3"},
    /* clang-format on */
};

static void run(const struct mixed_case *k, bool set_vendor, char *got, size_t cap)
{
    static struct policy_device d[MAX_DEV];
    static struct policy_usage u[MAX_DEV];
    static struct policy_pod p;
    static struct policy_placement pl;
    static const char *const uuids[MAX_DEV] = {"d0", "d1", "d2", "d3"};
    struct policy_reasons r;
    for (int i = 0; i < k->ndev; i++) {
        d[i] = (struct policy_device){.uuid = uuids[i],
                                      .type = "T",
                                      .mode = "hami-core",
                                      .index = i,
                                      .count = 2,
                                      .devcore = 100,
                                      .devmem = 1000,
                                      .health = true,
                                      .backend = policy_device_backend_find(k->dev[i].vendor)};
        ck_assert_ptr_nonnull(d[i].backend);
        u[i] = (struct policy_usage){.used = k->dev[i].used};
    }
    struct policy_node n = {.name = "n", .ndev = k->ndev, .dev = d, .use = u, .id = -1};
    if (set_vendor)
        n.vendor = policy_node_vendor(d, k->ndev);
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.nctr = k->nctr;
    for (int i = 0; i < k->nctr; i++)
        p.ctr[i] = (struct policy_ctr){.name = "c",
                                       .nums = k->ctr[i].nums,
                                       .mem = k->ctr[i].mem,
                                       .priority = -1,
                                       .backend = policy_device_backend_find(k->ctr[i].vendor)};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}};
    got[0] = '\0';
    if (!policy_fit(&p, &n, &o, &pl, &r)) {
        policy_reasons_format(&r, got, cap);
        return;
    }
    for (int i = 0; i < pl.npick; i++)
        snprintf(got + strlen(got), cap - strlen(got), "%s%d", i ? "," : "", pl.pick[i].dev);
}

START_TEST(test_mixed_fit)
{
    const struct mixed_case *k = &cases[_i];
    char got[256], fast[256];
    run(k, false, got, sizeof got);
    ck_assert_msg(strcmp(got, k->want) == 0, "%s: got \"%s\", want \"%s\"", k->name, got, k->want);
    run(k, true, fast, sizeof fast);
    ck_assert_msg(strcmp(fast, k->want) == 0, "%s (node .vendor set): got \"%s\", want \"%s\"",
                  k->name, fast, k->want);
}
END_TEST

/* policy_node_vendor: the one vendor of every device, else NULL; a device
 * naming none is the first row's. */
START_TEST(test_node_vendor)
{
    const struct policy_device_backend *nv = policy_device_backend_find("nvidia"),
                                       *dcu = policy_device_backend_find("hygon");
    struct policy_device d[3] = {{.backend = nv}, {.backend = NULL}, {.backend = dcu}};
    ck_assert_ptr_eq(policy_node_vendor(d, 0), NULL);
    ck_assert_ptr_eq(policy_node_vendor(d, 1), nv);
    ck_assert_ptr_eq(policy_node_vendor(d, 2), nv);
    ck_assert_ptr_eq(policy_node_vendor(d, 3), NULL);
    ck_assert_ptr_eq(policy_node_vendor(&d[2], 1), dcu);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mixed");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_mixed_fit, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_node_vendor);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

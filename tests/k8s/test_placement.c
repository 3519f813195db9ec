/* What placement_annotations writes for an allocation: one row's
 * annotations as the string is, or, for a pod whose containers ask two
 * vendors, each row's part under its own keys with one segment per
 * container (empty for the other vendor's containers, as HAMi's
 * EncodePodSingleDevice). */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/placement.h"
#include "policy/device.h"
#include "tests/support/harness.h"

#define NV_ALLOC  "hami.io/vgpu-devices-allocated"
#define NV_TO     "hami.io/vgpu-devices-to-allocate"
#define DCU_ALLOC "hami.io/dcu-devices-allocated"
#define DCU_TO    "hami.io/dcu-devices-to-allocate"
#define MLU_ALLOC "hami.io/cambricon-mlu-devices-allocated"

struct kv {
    const char *key, *val; /* val NULL: the key is absent */
};

static const struct placement_case {
    const char *devices;
    struct kv want[8];
} cases[] = {
    /* one vendor: written as it is, no other vendor's key */
    {"GPU-0,NVIDIA,4000,10:;",
     {{NV_ALLOC, "GPU-0,NVIDIA,4000,10:;"}, {NV_TO, "GPU-0,NVIDIA,4000,10:;"}, {DCU_ALLOC, NULL}}},
    {"DCU-0,DCU,3000,20:;", {{DCU_ALLOC, "DCU-0,DCU,3000,20:;"}, {NV_ALLOC, NULL}}},
    /* NVIDIA container first, DCU second */
    {"GPU-0,NVIDIA,4000,10:;DCU-1,DCU,3000,20:;",
     {{NV_ALLOC, "GPU-0,NVIDIA,4000,10:;;"},
      {NV_TO, "GPU-0,NVIDIA,4000,10:;;"},
      {DCU_ALLOC, ";DCU-1,DCU,3000,20:;"},
      {DCU_TO, ";DCU-1,DCU,3000,20:;"}}},
    /* a container without devices between them, two DCUs in one container */
    {"DCU-0,DCU,100,0:DCU-1,DCU,100,0:;;GPU-0,NVIDIA,1,0:;",
     {{DCU_ALLOC, "DCU-0,DCU,100,0:DCU-1,DCU,100,0:;;;"}, {NV_ALLOC, ";;GPU-0,NVIDIA,1,0:;"}}},
    /* a row with extras: Cambricon's DSMLU pair from its own part */
    {";n-cambricon-mlu-2,MLU,2560,10:;GPU-0,NVIDIA,1,0:;",
     {{MLU_ALLOC, ";n-cambricon-mlu-2,MLU,2560,10:;;"},
      {"CAMBRICON_DSMLU_ASSIGNED", "false"},
      {"CAMBRICON_DSMLU_PROFILE", "2_10_10"},
      {NV_ALLOC, ";;GPU-0,NVIDIA,1,0:;"}}},
};

#define NCASE ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_annotations)
{
    const struct placement_case *c = &cases[_i];
    cJSON *a = placement_annotations("node-1", c->devices, NULL, 7);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/vgpu-node")), "node-1");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/bind-phase")),
                     "allocating");
    for (int k = 0; k < 8 && c->want[k].key; k++) {
        const char *got = cJSON_GetStringValue(cJSON_GetObjectItem(a, c->want[k].key));
        if (!c->want[k].val)
            ck_assert_msg(!cJSON_GetObjectItem(a, c->want[k].key), "%s: %s written", c->devices,
                          c->want[k].key);
        else
            ck_assert_msg(got && strcmp(got, c->want[k].val) == 0, "%s: %s = \"%s\", want \"%s\"",
                          c->devices, c->want[k].key, got ? got : "(absent)", c->want[k].val);
    }
    cJSON_Delete(a);
}
END_TEST

/* A row's part: its length, empty segments kept, a small buffer cut. */
START_TEST(test_row_part)
{
    const struct policy_device_backend *dcu = policy_device_backend_find("hygon");
    char buf[64];
    ck_assert_ptr_nonnull(dcu);
    ck_assert_uint_eq(placement_row_part("GPU-0,NVIDIA,1,0:;;", dcu, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, ";;");
    ck_assert_uint_eq(placement_row_part("GPU-0,NVIDIA,1,0:;D,DCU,1,0:;", dcu, buf, sizeof buf),
                      strlen(";D,DCU,1,0:;"));
    ck_assert_str_eq(buf, ";D,DCU,1,0:;");
    ck_assert_uint_eq(placement_row_part("GPU-0,NVIDIA,1,0:;D,DCU,1,0:;", dcu, buf, 4),
                      strlen(";D,DCU,1,0:;"));
    ck_assert_uint_lt(strlen(buf), 4);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_annotations, 0, NCASE);
    tcase_add_test(tc, test_row_part);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

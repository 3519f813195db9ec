/* The device rows' resource names: what the operator renames
 * (policy_device_res_set) and which names look like a vendor's but no row
 * reads (policy_device_res_unknown). Table-driven. */
#include <check.h>
#include <string.h>

#include "base/err.h"
#include "policy/device.h"
#include "tests/support/harness.h"

/* Names against the rows' own names; then with NVIDIA's count renamed. */
static const struct {
    const char *name;
    const char *like_default; /* row it looks like, NULL: none (read, or not a vendor's) */
    const char *like_renamed; /* the same with nvidia.com/gpu -> example.com/gpu */
} unknown_cases[] = {
    {"nvidia.com/gpumemory", "nvidia", "nvidia"},
    {"nvidia.com/gpus", "nvidia", "nvidia"},
    {"nvidia.com/gpu", NULL, NULL}, /* renamed away: another plugin may serve it */
    {"nvidia.com/gpumem", NULL, NULL},
    {"nvidia.com/priority", NULL, NULL},
    {"nvidia.com/mig-1g.5gb", NULL, NULL}, /* NVIDIA's own plugin's */
    {"example.com/gpu", NULL, NULL},
    {"hygon.com/dcumemory", "hygon", "hygon"},
    {"hygon.com/dcunum", NULL, NULL},
    {"cpu", NULL, NULL},
    {"memory", NULL, NULL},
};

START_TEST(unknown)
{
    char err[256];
    const struct policy_device_backend *nv = policy_device_backend_find("nvidia");
    for (int pass = 0; pass < 2; pass++) {
        const char *want = pass ? unknown_cases[_i].like_renamed : unknown_cases[_i].like_default;
        const struct policy_device_backend *b = policy_device_res_unknown(unknown_cases[_i].name);
        ck_assert_msg(want ? b && strcmp(b->name, want) == 0 : b == NULL, "%s pass %d: %s",
                      unknown_cases[_i].name, pass, b ? b->name : "(none)");
        ck_assert_int_eq(
            policy_device_res_set(nv, POLICY_RES_COUNT, "example.com/gpu", err, sizeof err), 0);
    }
    ck_assert_int_eq(policy_device_res_set(nv, POLICY_RES_COUNT, NULL, err, sizeof err), 0);
    ck_assert_str_eq(policy_device_res(nv, POLICY_RES_COUNT), "nvidia.com/gpu");
}
END_TEST

static const struct {
    const char *row;
    int role;
    const char *name;
    int rc;
    const char *err;
} set_cases[] = {
    {"nvidia", POLICY_RES_MEM, "example.com/mem", 0, NULL},
    {"nvidia", POLICY_RES_MEM, "", 0, NULL}, /* back to the row's own */
    {"nvidia", POLICY_RES_MEM, "nvidia.com/gpucores", ERR_CONFLICT, "already the nvidia cores"},
    {"hygon", POLICY_RES_COUNT, "nvidia.com/gpu", ERR_CONFLICT, "already the nvidia count"},
    {"hygon", POLICY_RES_MEM_PCT, "hygon.com/pct", ERR_INVAL, "hygon has no resource"},
    {"nvidia", POLICY_RES_COUNT, "gpu", ERR_INVAL, "is not a resource name"},
    {"nvidia", POLICY_RES_COUNT, "Example.com/gpu", ERR_INVAL, "is not a resource name"},
    {"nvidia", POLICY_RES_COUNT, "example.com/-gpu", ERR_INVAL, "is not a resource name"},
    {"nvidia", POLICY_RES_COUNT, "example.com/g_p.u-1", 0, NULL},
};

START_TEST(set)
{
    char err[256] = "";
    const struct policy_device_backend *b = policy_device_backend_find(set_cases[_i].row);
    int rc = policy_device_res_set(b, (enum policy_res)set_cases[_i].role, set_cases[_i].name, err,
                                   sizeof err);
    ck_assert_msg(rc == set_cases[_i].rc, "case %d: %d %s", _i, rc, err);
    if (rc)
        ck_assert_msg(strstr(err, set_cases[_i].err), "case %d: %s", _i, err);
    else
        ck_assert_str_eq(policy_device_res(b, (enum policy_res)set_cases[_i].role),
                         set_cases[_i].name[0] ? set_cases[_i].name : b->res[set_cases[_i].role]);
    policy_device_res_set(b, (enum policy_res)set_cases[_i].role, NULL, err, sizeof err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("device-names");
    TCase *tc = tcase_create("names");
    tcase_add_loop_test(tc, unknown, 0, (int)(sizeof unknown_cases / sizeof unknown_cases[0]));
    tcase_add_loop_test(tc, set, 0, (int)(sizeof set_cases / sizeof set_cases[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* devconfig: HAMi's device ConfigMap and default flags (issue 19). Inputs
 * are files under tests/data/server/devconfig/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "server/config.h"
#include "policy/device_ascend.h"
#include "server/devconfig.h"
#include "tests/support/harness.h"

static struct config cfg; /* large: not on the stack */
static struct devconfig dc;

static const struct {
    const char *file; /* under devconfig/; NULL: no file */
    const char *flags[4];
    int rc;
    const char *err_has;
    int32_t mem, cores, factor;
    const char *vendors_has, *plugin_has, *from;
    int32_t gpu;                  /* 0: HAMi's 1; -1: 0 */
    const char *runtime, *policy; /* NULL: "" and "default" */
} cases[] = {
    {NULL, {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, ""},
    {"empty.yaml", {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, ""},
    /* HAMi's chart as rendered: overwriteEnv false there */
    {"hami-chart.yaml",
     {"--overwrite-env=false"},
     0,
     NULL,
     0,
     0,
     1,
     "metax,mthreads,iluvatars,enflame,kunlun,awsneuron,amd,vastai,biren",
     "deviceSplitCount,deviceMemoryScaling,deviceCoreScaling",
     ""},
    {"hami-chart.yaml",
     {NULL},
     ERR_UNSUPPORTED,
     "hami-chart.yaml:9: nvidia.overwriteEnv: false disagrees with --overwrite-env=true"},
    {"custom.yaml", {NULL}, 0, NULL, 2048, 20, 2, NULL, NULL, ""},
    {"custom.yaml",
     {"--default-mem", "1000", "--default-cores=0"},
     0,
     NULL,
     1000,
     0,
     2,
     NULL,
     NULL,
     "--default-mem,--default-cores"},
    {NULL, {"--default-mem=512"}, 0, NULL, 512, 0, 1, NULL, NULL, "--default-mem"},
    {"unknown-key.yaml",
     {NULL},
     ERR_INVAL,
     "unknown-key.yaml:4: nvidia.defaultMemroy: unknown key"},
    {"unknown-section.yaml", {NULL}, ERR_INVAL, "unknown-section.yaml:1: nvidai: unknown key"},
    {"bad-yaml.yaml", {NULL}, ERR_INVAL, "bad-yaml.yaml:3: not YAML"},
    {"resource-name-bad.yaml",
     {NULL},
     ERR_INVAL,
     "resource-name-bad.yaml:3: nvidia.resourceMemoryName: \"nvidia.com/\" is not a resource name"},
    {"hygon-factor.yaml",
     {NULL},
     ERR_UNSUPPORTED,
     "hygon-factor.yaml:2: hygon.memoryFactor: a value over 1 is not supported yet"},
    /* HAMi's webhook options: read, and the flags win */
    {"default-gpu-2.yaml", {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, "", 2},
    {"default-gpu-2.yaml", {"--default-gpu=3"}, 0, NULL, 0, 0, 1, NULL, NULL, "--default-gpu", 3},
    /* defaultGPUNum 0: HAMi's webhook then adds no count (webhook/pod.h) */
    {NULL, {"--default-gpu=0"}, 0, NULL, 0, 0, 1, NULL, NULL, "--default-gpu", -1},
    {"default-gpu-0.yaml", {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, "", -1},
    {"runtime-class.yaml", {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, "", 0, "nvidia"},
    {"runtime-class.yaml",
     {"--runtime-class-name=kata.gpu"},
     0,
     NULL,
     0,
     0,
     1,
     NULL,
     NULL,
     "--runtime-class-name",
     0,
     "kata.gpu"},
    {"runtime-class-bad.yaml",
     {NULL},
     ERR_INVAL,
     "runtime-class-bad.yaml:2: nvidia.runtimeClassName: \"Nvidia_GPU\" is not a RuntimeClass "
     "name"},
    {"core-policy.yaml", {NULL}, 0, NULL, 0, 0, 1, NULL, NULL, "", 0, NULL, "force"},
    {"core-policy.yaml",
     {"--gpu-core-policy", "disable"},
     0,
     NULL,
     0,
     0,
     1,
     NULL,
     NULL,
     "--gpu-core-policy",
     0,
     NULL,
     "disable"},
    {"core-policy-bad.yaml",
     {NULL},
     ERR_INVAL,
     "core-policy-bad.yaml:2: nvidia.gpuCorePolicy: \"strict\" is not a GPU core policy"},
    {"cores-range.yaml",
     {NULL},
     ERR_RANGE,
     "cores-range.yaml:2: nvidia.defaultCores: \"150\" is not an integer in 0..100"},
    {"missing.yaml", {NULL}, ERR_IO, "missing.yaml"},
    /* Cambricon: HAMi's section is read (its names rename the MLU row) */
    {"cambricon.yaml", {NULL}, 0, NULL, 0, 0, 1, "", NULL, ""},
    {"cambricon-unknown.yaml",
     {NULL},
     ERR_INVAL,
     "cambricon-unknown.yaml:4: cambricon.resourceCoreNam: unknown key"},
};

#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(device_config)
{
    __typeof__(cases[0]) *k = &cases[_i];
    char path[4096], err[512] = "";
    const char *d = getenv("VS_TEST_DATA");
    char *argv[8] = {"vgpu-scheduler"};
    int argc = 1;
    if (k->file) {
        snprintf(path, sizeof path, "%s/server/devconfig/%s", d ? d : "tests/data", k->file);
        argv[argc++] = "--device-config-file";
        argv[argc++] = path;
    }
    for (int i = 0; i < 4 && k->flags[i]; i++)
        argv[argc++] = (char *)k->flags[i];
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, argc, argv, err, sizeof err), 0);
    int rc = devconfig_from_config(&cfg, &dc, err, sizeof err);
    const char *name = k->file ? k->file : "(no file)";
    ck_assert_msg(rc == k->rc, "%s: rc %d (%s)", name, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, k->err_has), "%s: %s", name, err);
        return;
    }
    ck_assert_int_eq(dc.default_mem, k->mem);
    ck_assert_int_eq(dc.default_cores, k->cores);
    ck_assert_int_eq(dc.mem_factor, k->factor);
    ck_assert_int_eq(dc.default_gpu, k->gpu < 0 ? 0 : k->gpu ? k->gpu : 1);
    ck_assert_str_eq(dc.runtime_class, k->runtime ? k->runtime : "");
    ck_assert_str_eq(dc.core_policy, k->policy ? k->policy : "default");
    ck_assert_str_eq(dc.from, k->from);
    if (k->vendors_has)
        ck_assert_str_eq(dc.other_vendors, k->vendors_has);
    if (k->plugin_has)
        ck_assert_msg(strstr(dc.plugin_keys, k->plugin_has), "%s", dc.plugin_keys);
    struct model_defaults md = devconfig_defaults(&dc);
    ck_assert_int_eq(md.default_mem, k->mem);
    ck_assert_int_eq(md.mem_factor, k->factor);
}
END_TEST

/* The flags are checked as the file's keys are. */
START_TEST(bad_flags)
{
    char err[512] = "";
    char *a1[] = {"vgpu-scheduler", "--gpu-core-policy=strict"};
    char *a2[] = {"vgpu-scheduler", "--runtime-class-name=-x"};
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 2, a1, err, sizeof err), ERR_INVAL);
    ck_assert_msg(strstr(err, "--gpu-core-policy: \"strict\" is not a GPU core policy"), "%s", err);
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 2, a2, err, sizeof err), ERR_INVAL);
    ck_assert_msg(strstr(err, "--runtime-class-name: \"-x\" is not a RuntimeClass name"), "%s",
                  err);
}
END_TEST

/* Resource names (HAMi's resource*Name keys and --resource-name style
 * flags): what each row reads after devconfig_apply_names. */
static const struct {
    const char *file; /* under devconfig/; NULL: no file */
    const char *flags[3];
    int rc;          /* of config_parse, devconfig_from_config or _apply_names */
    const char *err; /* a part of the message */
    const char *row;
    int role;
    const char *name; /* what the row reads then */
} name_cases[] = {
    {"resource-name.yaml", {NULL}, 0, NULL, "nvidia", POLICY_RES_COUNT, "nvidia.com/vgpu"},
    {"resource-name.yaml", {NULL}, 0, NULL, "nvidia", POLICY_RES_MEM, "nvidia.com/gpumem"},
    {"resource-names.yaml", {NULL}, 0, NULL, "nvidia", POLICY_RES_MEM, "example.com/vgpu-memory"},
    {"resource-names.yaml", {NULL}, 0, NULL, "hygon", POLICY_RES_COUNT, "hygon.com/dcu"},
    {"resource-names.yaml", {NULL}, 0, NULL, "hygon", POLICY_RES_CORES, "hygon.com/dcucores"},
    {"cambricon-name.yaml", {NULL}, 0, NULL, "cambricon", POLICY_RES_COUNT, "cambricon.com/mlu"},
    /* the flag wins over the file */
    {"resource-name.yaml",
     {"--resource-name=example.com/gpu"},
     0,
     NULL,
     "nvidia",
     POLICY_RES_COUNT,
     "example.com/gpu"},
    {NULL, {"--dcu-memory", "hygon.com/mem"}, 0, NULL, "hygon", POLICY_RES_MEM, "hygon.com/mem"},
    {NULL, {"--resource-priority=x.io/prio"}, 0, NULL, "nvidia", POLICY_RES_PRIORITY, "x.io/prio"},
    /* no file, no flag: the rows' own */
    {NULL, {NULL}, 0, NULL, "nvidia", POLICY_RES_COUNT, "nvidia.com/gpu"},
    {NULL, {"--resource-name=gpu"}, ERR_INVAL, "--resource-name: \"gpu\" is not a resource name"},
    {NULL, {"--dcu-name="}, 0, NULL, "hygon", POLICY_RES_COUNT, "hygon.com/dcunum"},
    /* two roles, one name */
    {NULL,
     {"--resource-mem=nvidia.com/gpu"},
     ERR_CONFLICT,
     "--resource-mem: \"nvidia.com/gpu\" is already the nvidia count resource"},
    {NULL,
     {"--dcu-name=example.com/vgpu"},
     ERR_CONFLICT,
     "--dcu-name: \"example.com/vgpu\" is already the nvidia count resource"}, /* + the file */
};

START_TEST(resource_names)
{
    __typeof__(name_cases[0]) *k = &name_cases[_i];
    char path[4096], err[512] = "";
    const char *d = getenv("VS_TEST_DATA");
    char *argv[8] = {"vgpu-scheduler"};
    int argc = 1, rc;
    if (k->file) {
        snprintf(path, sizeof path, "%s/server/devconfig/%s", d ? d : "tests/data", k->file);
        argv[argc++] = "--device-config-file";
        argv[argc++] = path;
    }
    if (_i == (int)(sizeof name_cases / sizeof name_cases[0]) - 1) { /* file and flag clash */
        snprintf(path, sizeof path, "%s/server/devconfig/resource-names.yaml",
                 d ? d : "tests/data");
        argv[argc++] = "--device-config-file";
        argv[argc++] = path;
    }
    for (int i = 0; i < 3 && k->flags[i]; i++)
        argv[argc++] = (char *)k->flags[i];
    rc = config_parse(&cfg, CONFIG_SERVE, argc, argv, err, sizeof err);
    if (!rc)
        rc = devconfig_from_config(&cfg, &dc, err, sizeof err);
    if (!rc)
        rc = devconfig_apply_names(&dc, err, sizeof err);
    ck_assert_msg(rc == k->rc, "case %d: rc %d (%s)", _i, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, k->err), "case %d: %s", _i, err);
        return;
    }
    const struct policy_device_backend *b = policy_device_backend_find(k->row);
    ck_assert_ptr_nonnull(b);
    const char *eq = k->flags[0] ? strchr(k->flags[0], '=') : NULL;
    if (k->flags[0] && (!eq || eq[1])) { /* a flag with a value is named among those set */
        char flag[64];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(k->flags[0], "="), k->flags[0]);
        ck_assert_msg(strstr(dc.from, flag), "%s: %s", flag, dc.from);
    }
    ck_assert_str_eq(policy_device_res(b, (enum policy_res)k->role), k->name);
    /* the same names again: running; the rows' own: a change */
    ck_assert_int_eq(devconfig_names_running(&dc, err, sizeof err), 0);
    char *plain[] = {"vgpu-scheduler"};
    static struct devconfig other;
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 1, plain, err, sizeof err), 0);
    ck_assert_int_eq(devconfig_from_config(&cfg, &other, err, sizeof err), 0);
    bool renamed = false;
    for (int i = 0; i < POLICY_DEVICE_ROWS_MAX * POLICY_RES_N; i++)
        renamed |=
            dc.res[i][0] && policy_device_backends[i / POLICY_RES_N] &&
            strcmp(dc.res[i], policy_device_backends[i / POLICY_RES_N]->res[i % POLICY_RES_N]);
    int want = renamed ? ERR_UNSUPPORTED : 0;
    ck_assert_int_eq(devconfig_names_running(&other, err, sizeof err), want);
    if (renamed)
        ck_assert_msg(strstr(err, "resource names change only at a restart"), "%s", err);
}
END_TEST

/* vnpus: the operator's chips replace HAMi's defaults; anything this
 * scheduler would read differently stops the start naming file, line, key. */
static const struct {
    const char *file;
    int rc;
    const char *err_has;
} vnpu_cases[] = {
    {"vnpus-hami-chart.yaml", 0, NULL},
    {"vnpus-custom.yaml", 0, NULL},
    {"vnpus-unknown-key.yaml", ERR_INVAL,
     "vnpus-unknown-key.yaml:8: vnpus.configs[0].templates[0].memroy: unknown key"},
    {"vnpus-unknown-chip.yaml", ERR_UNSUPPORTED,
     "vnpus-unknown-chip.yaml:3: vnpus.configs[0].commonWord: \"Ascend910B9\" has no Ascend row"},
    {"vnpus-soft.yaml", ERR_UNSUPPORTED, "vnpus-soft.yaml:2: vnpus.hamiVnpuCore: true is not"},
    {"vnpus-resource.yaml", ERR_UNSUPPORTED,
     "vnpus-resource.yaml:4: vnpus.configs[0].resourceName: \"huawei.com/npu\" is not supported"},
};

START_TEST(vnpus)
{
    char path[4096], err[512] = "";
    const char *d = getenv("VS_TEST_DATA");
    snprintf(path, sizeof path, "%s/server/devconfig/%s", d ? d : "tests/data",
             vnpu_cases[_i].file);
    char *argv[] = {"vgpu-scheduler", "--device-config-file", path};
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 3, argv, err, sizeof err), 0);
    const struct policy_device_backend *b3 = policy_ascend_find("Ascend910B3");
    int64_t before = b3->mem_request(b3, 5000);
    int rc = devconfig_from_config(&cfg, &dc, err, sizeof err);
    if (!rc)
        rc = devconfig_apply_names(&dc, err, sizeof err);
    ck_assert_msg(rc == vnpu_cases[_i].rc, "%s: rc %d (%s)", vnpu_cases[_i].file, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, vnpu_cases[_i].err_has), "%s", err);
        ck_assert_int_eq(b3->mem_request(b3, 5000), before); /* a refused file changes nothing */
        return;
    }
    if (strcmp(vnpu_cases[_i].file, "vnpus-custom.yaml") == 0) {
        ck_assert_int_eq(dc.nvnpu, 1);
        ck_assert_int_eq(b3->mem_request(b3, 5000), 8192); /* the operator's, sorted */
        ck_assert_int_eq(b3->mem_request(b3, 9000), 32768);
        ck_assert_int_eq(b3->mem_request(b3, 40000), 60000); /* the whole card: allocatable */
        ck_assert_str_eq(b3->vnpu->t[0].name, "vir02_1c_8g");
        ck_assert_str_eq(b3->vnpu->runtime_class, "ascend");
        const struct policy_device_backend *p = policy_ascend_find("Ascend310P");
        ck_assert_int_eq(p->mem_request(p, 3000), 3072); /* a chip not listed keeps HAMi's */
    } else {                                             /* HAMi's chart: the defaults again */
        ck_assert_int_eq(dc.nvnpu, 7);
        ck_assert_int_eq(b3->mem_request(b3, 5000), 16384);
        const struct policy_device_backend *c = policy_ascend_find("Ascend910C");
        ck_assert(c->vnpu->super_pod && c->vnpu->pairs);
        ck_assert_int_eq(c->vnpu->ntemplates, 2);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("devconfig");
    TCase *tc = tcase_create("devconfig");
    tcase_add_loop_test(tc, device_config, 0, NCASES);
    tcase_add_test(tc, bad_flags);
    tcase_add_loop_test(tc, resource_names, 0, (int)(sizeof name_cases / sizeof name_cases[0]));
    tcase_add_loop_test(tc, vnpus, 0, (int)(sizeof vnpu_cases / sizeof vnpu_cases[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

/* test_cambricon: HAMi's Cambricon MLU request and inventory rules as the
 * object model reads them (pkg/device/cambricon GenerateResourceRequests and
 * GetNodeDevices): vmemory in 256 MiB units, vcore 100 by default and
 * clamped at 100, no vmemory the whole device; the node's MLUs from its
 * smlu capacity. Bad numbers are errors naming the resource. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "policy/device.h"
#include "tests/support/harness.h"

/* One container's limits and requests (JSON objects as text; NULL: none). */
static const struct req_case {
    const char *name, *limits, *requests;
    int rc;          /* 0, or the error */
    const char *err; /* a part of the message */
    int32_t nums, mem, pct, cores;
} req_cases[] = {
    {"nothing asked", "{}", "{}", 0, NULL, 0, 0, 0, 0},
    {"HAMi: count, 1000 vmemory, 2 vcore",
     "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vmemory\":\"1000\","
     "\"cambricon.com/mlu.smlu.vcore\":\"2\"}",
     NULL, 0, NULL, 1, 256000, 0, 2},
    {"HAMi: no vcore takes 100",
     "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vmemory\":\"1000\"}", NULL, 0, NULL, 1,
     256000, 0, 100},
    {"HAMi: no vmemory takes the whole memory",
     "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vcore\":\"2\"}", NULL, 0, NULL, 1, 0,
     100, 2},
    {"vmemory 0 is the whole memory",
     "{\"cambricon.com/vmlu\":2,\"cambricon.com/mlu.smlu.vmemory\":0}", NULL, 0, NULL, 2, 0, 100,
     100},
    {"requests when no limits", NULL,
     "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vmemory\":\"4\"}", 0, NULL, 1, 1024, 0,
     100},
    {"vcore above 100 reads as 100",
     "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vcore\":\"120\"}", NULL, 0, NULL, 1, 0,
     100, 100},
    {"a memory resource without the count asks nothing",
     "{\"cambricon.com/mlu.smlu.vmemory\":\"4\"}", NULL, 0, NULL, 0, 0, 0, 0},
    {"HAMi: 16Gi of vmemory overflows int32 MiB",
     "{\"cambricon.com/vmlu\":\"1\","
     "\"cambricon.com/mlu.smlu.vmemory\":\"16Gi\"}",
     NULL, ERR_RANGE, "cambricon.com/mlu.smlu.vmemory"},
    {"the largest vmemory",
     "{\"cambricon.com/vmlu\":\"1\","
     "\"cambricon.com/mlu.smlu.vmemory\":\"8388607\"}",
     NULL, 0, NULL, 1, 2147483392, 0, 100},
    {"one past it",
     "{\"cambricon.com/vmlu\":\"1\","
     "\"cambricon.com/mlu.smlu.vmemory\":\"8388608\"}",
     NULL, ERR_RANGE, "out of range 0..8388607"},
    {"HAMi: a decimal vmemory is refused",
     "{\"cambricon.com/vmlu\":\"1\","
     "\"cambricon.com/mlu.smlu.vmemory\":\"16.5\"}",
     NULL, ERR_INVAL, "cambricon.com/mlu.smlu.vmemory"},
    {"a negative vmemory",
     "{\"cambricon.com/vmlu\":\"1\","
     "\"cambricon.com/mlu.smlu.vmemory\":\"-1\"}",
     NULL, ERR_RANGE, "cambricon.com/mlu.smlu.vmemory"},
    {"a negative vcore", "{\"cambricon.com/vmlu\":\"1\",\"cambricon.com/mlu.smlu.vcore\":\"-5\"}",
     NULL, ERR_RANGE, "cambricon.com/mlu.smlu.vcore -5 is negative"},
    {"too many MLUs", "{\"cambricon.com/vmlu\":\"17\"}", NULL, ERR_RANGE, "cambricon.com/vmlu 17"},
};

START_TEST(test_request)
{
    const struct req_case *k = &req_cases[_i];
    char json[1024], err[512] = "";
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\",\"uid\":\"u\"},\"spec\":{"
             "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":%s,\"requests\":%s}}]}}",
             k->limits ? k->limits : "{}", k->requests ? k->requests : "{}");
    cJSON *j = cJSON_Parse(json);
    ck_assert_ptr_nonnull(j);
    static struct policy_pod p;
    /* The device config's NVIDIA defaults and factor never reach an MLU. */
    struct model_defaults d = {.default_mem = 1000, .default_cores = 7, .mem_factor = 1024};
    int rc = model_pod_parse(j, &d, &p, err, sizeof err);
    ck_assert_msg(rc == k->rc, "%s: rc %d (%s)", k->name, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, k->err), "%s: %s", k->name, err);
    } else {
        const struct policy_ctr *c = &p.ctr[0];
        ck_assert_msg(c->nums == k->nums && c->mem == k->mem && c->mem_pct == k->pct &&
                          (k->nums == 0 || c->cores == k->cores),
                      "%s: %d MLUs, %d MiB, %d %%, %d cores", k->name, c->nums, c->mem, c->mem_pct,
                      c->cores);
        if (k->nums)
            ck_assert_str_eq(policy_ctr_backend(c)->name, "cambricon");
    }
    cJSON_Delete(j);
}
END_TEST

/* A node's status.capacity and annotations (JSON fragments). */
static const struct node_case {
    const char *name, *capacity, *annotations;
    int rc;
    const char *err;
    const char *backend; /* the node's row */
    int32_t ndev;
    int64_t devmem;
} node_cases[] = {
    {"HAMi's case: 1 vcore, 1 vmemory",
     "{\"cambricon.com/mlu.smlu.vcore\":\"1\",\"cambricon.com/mlu.smlu.vmemory\":\"1\"}", "{}", 0,
     NULL, "cambricon", 1, 25600},
    {"4x MLU370-X8",
     "{\"cambricon.com/mlu.smlu.vcore\":\"400\","
     "\"cambricon.com/mlu.smlu.vmemory\":768}",
     "{}", 0, NULL, "cambricon", 4, 49152},
    {"no vmemory: devices without memory", "{\"cambricon.com/mlu.smlu.vcore\":\"200\"}", "{}", 0,
     NULL, "cambricon", 2, 0},
    {"no vcore: no MLUs", "{\"cambricon.com/mlu.smlu.vmemory\":\"768\"}", "{}", 0, NULL, "nvidia",
     0, 0},
    {"vcore 0: no MLUs", "{\"cambricon.com/mlu.smlu.vcore\":\"0\"}", "{}", 0, NULL, "nvidia", 0, 0},
    {"no capacity at all", NULL, "{}", 0, NULL, "nvidia", 0, 0},
    {"a register annotation wins",
     "{\"cambricon.com/mlu.smlu.vcore\":\"400\",\"cambricon.com/mlu.smlu.vmemory\":\"768\"}",
     "{\"hami.io/node-dcu-register\":\"[{\\\"id\\\":\\\"DCU-0\\\",\\\"count\\\":10,"
     "\\\"devmem\\\":16384,\\\"devcore\\\":100,\\\"type\\\":\\\"Z100\\\",\\\"health\\\":true}]\"}",
     0, NULL, "hygon", 1, 16384},
    {"a bad vcore quantity", "{\"cambricon.com/mlu.smlu.vcore\":\"lots\"}", "{}", ERR_INVAL,
     "status.capacity cambricon.com/mlu.smlu.vcore"},
    {"a fractional vcore", "{\"cambricon.com/mlu.smlu.vcore\":\"1.5\"}", "{}", ERR_INVAL,
     "status.capacity cambricon.com/mlu.smlu.vcore"},
    {"too many MLUs", "{\"cambricon.com/mlu.smlu.vcore\":\"100000\"}", "{}", ERR_RANGE,
     "status.capacity"},
    {"a negative vmemory",
     "{\"cambricon.com/mlu.smlu.vcore\":\"100\",\"cambricon.com/mlu.smlu.vmemory\":\"-3\"}", "{}",
     ERR_RANGE, "cambricon.com/mlu.smlu.vmemory -3"},
    {"capacity not an object", "[]", "{}", 0, NULL, "nvidia", 0, 0},
};

START_TEST(test_node)
{
    const struct node_case *k = &node_cases[_i];
    char json[2048], err[512] = "";
    snprintf(json, sizeof json,
             "{\"metadata\":{\"name\":\"mlu-a\",\"resourceVersion\":\"1\",\"annotations\":%s},"
             "\"status\":{%s%s%s\"allocatable\":{}}}",
             k->annotations, k->capacity ? "\"capacity\":" : "", k->capacity ? k->capacity : "",
             k->capacity ? "," : "");
    cJSON *j = cJSON_Parse(json);
    ck_assert_msg(j != NULL, "%s: fixture is not JSON", k->name);
    struct model_inventory *inv = NULL;
    int rc = model_node_parse(j, &inv, err, sizeof err);
    ck_assert_msg(rc == k->rc, "%s: rc %d (%s)", k->name, rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, k->err) && strstr(err, "mlu-a"), "%s: %s", k->name, err);
        ck_assert_ptr_null(inv);
    } else {
        ck_assert_str_eq(inv->backend->name, k->backend);
        ck_assert_int_eq(inv->ndev, k->ndev);
        for (int i = 0; i < inv->ndev; i++)
            ck_assert_int_eq(inv->dev[i].devmem, k->devmem);
        if (k->ndev && strcmp(k->backend, "cambricon") == 0) {
            ck_assert_str_eq(inv->dev[k->ndev - 1].uuid,
                             k->ndev == 4 ? "mlu-a-cambricon-mlu-3" : inv->dev[k->ndev - 1].uuid);
            ck_assert(!inv->has_register); /* no handshake to keep */
        }
    }
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cambricon");
    TCase *tc = tcase_create("cambricon");
    tcase_add_loop_test(tc, test_request, 0, (int)(sizeof req_cases / sizeof req_cases[0]));
    tcase_add_loop_test(tc, test_node, 0, (int)(sizeof node_cases / sizeof node_cases[0]));
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

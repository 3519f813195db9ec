/* A node carrying several vendors' register annotations: its inventory is
 * the union of every row's devices (each keeping its vendor); a row whose
 * annotation does not parse is left out with its reason, the node only when
 * no row parses; a row's devices can be taken out alone (stale handshake). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "k8s/model.h"
#include "tests/support/harness.h"

#define NV_REG                                                                                     \
    "\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"GPU-a\\\",\\\"count\\\":10,"              \
    "\\\"devmem\\\":1000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100\\\",\\\"numa\\\":0,"     \
    "\\\"health\\\":true,\\\"index\\\":0,\\\"mode\\\":\\\"hami-core\\\"},{\\\"id\\\":\\\"GPU-"     \
    "b\\\","                                                                                       \
    "\\\"count\\\":10,\\\"devmem\\\":1000,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100\\\","   \
    "\\\"numa\\\":0,\\\"health\\\":true,\\\"index\\\":1,\\\"mode\\\":\\\"hami-core\\\"}]\""
#define DCU_REG                                                                                    \
    "\"hami.io/node-dcu-register\":\"[{\\\"id\\\":\\\"DCU-x\\\",\\\"count\\\":4,"                  \
    "\\\"devmem\\\":65520,\\\"devcore\\\":100,\\\"type\\\":\\\"DCU-Z100L\\\",\\\"numa\\\":0,"      \
    "\\\"health\\\":true,\\\"index\\\":0}]\""
#define NV_BAD  "\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\""
#define DCU_BAD "\"hami.io/node-dcu-register\":\"not json\""

static const struct mixed_node_case {
    const char *name;
    const char *anns; /* inside metadata.annotations */
    int rc;
    int ndev;
    const char *uuids;   /* devices in order, with vendor: "GPU-a/nvidia,DCU-x/hygon" */
    const char *backend; /* inv->backend */
    int nrow;
    const char *bad; /* a substring of the bad row's reason, or NULL */
    int bad_row;
    const char *cordoned; /* the device's UUID, or NULL */
} cases[] = {
    /* clang-format off */
    {"NVIDIA and DCU: the union", NV_REG "," DCU_REG, 0, 3,
     "GPU-a/nvidia,GPU-b/nvidia,DCU-x/hygon", "nvidia", 2},
    {"DCU only", DCU_REG, 0, 1, "DCU-x/hygon", "hygon", 1},
    {"NVIDIA only", NV_REG, 0, 2, "GPU-a/nvidia,GPU-b/nvidia", "nvidia", 1},
    {"a malformed DCU annotation leaves the NVIDIA cards", NV_REG "," DCU_BAD, 0, 2,
     "GPU-a/nvidia,GPU-b/nvidia", "nvidia", 2, "hami.io/node-dcu-register", 1},
    {"a malformed NVIDIA annotation leaves the DCU", NV_BAD "," DCU_REG, 0, 1, "DCU-x/hygon",
     "nvidia", 2, "hami.io/node-nvidia-register", 0},
    {"both malformed: the node is an error", NV_BAD "," DCU_BAD, ERR_INVAL},
    {"a malformed DCU annotation alone: the node is an error, as before", DCU_BAD, ERR_INVAL},
    {"a cordon names a DCU", NV_REG "," DCU_REG ",\"hami.io/device-cordon\":\"DCU-x\"", 0, 3,
     "GPU-a/nvidia,GPU-b/nvidia,DCU-x/hygon", "nvidia", 2, .cordoned = "DCU-x"},
    /* clang-format on */
};

static cJSON *node_json(const char *anns)
{
    static char buf[80 * 1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"n1\",\"resourceVersion\":\"1\",\"annotations\":{%s}},"
             "\"status\":{\"allocatable\":{\"nvidia.com/gpu\":\"20\",\"hygon.com/dcunum\":\"4\"}}}",
             anns);
    cJSON *j = cJSON_Parse(buf);
    ck_assert_msg(j != NULL, "fixture does not parse: %s", buf);
    return j;
}

START_TEST(test_mixed_node)
{
    const struct mixed_node_case *k = &cases[_i];
    struct model_inventory *inv = NULL;
    char err[512] = "", got[256] = "";
    cJSON *j = node_json(k->anns);
    int rc = model_node_parse(j, &inv, err, sizeof err);
    ck_assert_msg(rc == k->rc, "%s: rc %d, want %d (%s)", k->name, rc, k->rc, err);
    if (rc) {
        ck_assert_msg(strstr(err, "hami.io/node-") != NULL, "%s: err %s", k->name, err);
        goto out;
    }
    ck_assert_msg(inv->ndev == k->ndev, "%s: ndev %d", k->name, inv->ndev);
    for (int i = 0; i < inv->ndev; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s/%s", i ? "," : "",
                 inv->dev[i].uuid, policy_device_backend_of(&inv->dev[i])->name);
    ck_assert_msg(strcmp(got, k->uuids) == 0, "%s: devices %s", k->name, got);
    ck_assert_str_eq(inv->backend->name, k->backend);
    ck_assert_int_eq(inv->nrow, k->nrow);
    for (int r = 0; r < inv->nrow; r++) {
        const struct model_row *row = &inv->row[r];
        if (k->bad && r == k->bad_row) {
            ck_assert_msg(row->bad && strstr(row->bad, k->bad), "%s: row %d bad %s", k->name, r,
                          row->bad ? row->bad : "(none)");
            ck_assert_int_eq(row->ndev, 0);
        } else {
            ck_assert_msg(!row->bad, "%s: row %d bad %s", k->name, r, row->bad);
        }
    }
    for (int i = 0; i < inv->ndev; i++)
        ck_assert_int_eq(inv->dev[i].cordoned,
                         k->cordoned && strcmp(inv->dev[i].uuid, k->cordoned) == 0);
out:
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

/* Each row's handshake and allocatable count are its own. */
START_TEST(test_row_health)
{
    struct model_inventory *inv = NULL;
    char err[512];
    cJSON *j = node_json(NV_REG "," DCU_REG ",\"hami.io/node-handshake\":\"Requesting_a\","
                                "\"hami.io/node-handshake-dcu\":\"Requesting_b\"");
    ck_assert_int_eq(model_node_parse(j, &inv, err, sizeof err), 0);
    ck_assert_int_eq(inv->nrow, 2);
    ck_assert_str_eq(inv->row[0].handshake, "Requesting_a");
    ck_assert_str_eq(inv->row[1].handshake, "Requesting_b");
    ck_assert_int_eq(inv->row[0].alloc, 20);
    ck_assert_int_eq(inv->row[1].alloc, 4);
    ck_assert_str_eq(inv->handshake, "Requesting_a");
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

/* Dropping a row takes out its devices only; the rows after it move up. */
START_TEST(test_drop_row)
{
    struct model_inventory *inv = NULL;
    char err[512];
    cJSON *j = node_json(NV_REG "," DCU_REG);
    ck_assert_int_eq(model_node_parse(j, &inv, err, sizeof err), 0);
    inv->pair = calloc(9, sizeof *inv->pair);
    for (int i = 0; i < 9; i++)
        inv->pair[i] = (uint16_t)(i + 1);
    model_inventory_drop_row(inv, 0);
    ck_assert_int_eq(inv->ndev, 1);
    ck_assert_str_eq(inv->dev[0].uuid, "DCU-x");
    ck_assert_int_eq(inv->row[1].first, 0);
    ck_assert_int_eq(inv->row[0].ndev, 0);
    ck_assert_int_eq(inv->row[0].dropped, 2);
    ck_assert_int_eq(inv->pair[0], 9); /* the DCU's own entry, (2,2) of the 3x3 */
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

/* A MIG card's profiles stay readable in the union (they live in the
 * row's decoded allocation; under ASan a copy that lost them fails). */
START_TEST(test_mig_row)
{
    struct model_inventory *inv = NULL;
    char err[512];
    cJSON *j =
        node_json("\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"GPU-m\\\",\\\"count\\\":7,"
                  "\\\"devmem\\\":40960,\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100\\\","
                  "\\\"numa\\\":0,\\\"health\\\":true,\\\"index\\\":0,\\\"mode\\\":\\\"mig\\\","
                  "\\\"migProfiles\\\":[{\\\"name\\\":\\\"1g.5gb\\\",\\\"memoryMB\\\":4864,"
                  "\\\"core\\\":15,\\\"sliceCount\\\":1,\\\"placements\\\":[{\\\"start\\\":0,"
                  "\\\"size\\\":1}]}]}]\"," DCU_REG);
    ck_assert_int_eq(model_node_parse(j, &inv, err, sizeof err), 0);
    ck_assert_int_eq(inv->ndev, 2);
    ck_assert_int_eq(inv->dev[0].nmig, 1);
    ck_assert_str_eq(inv->dev[0].mig[0].name, "1g.5gb");
    ck_assert_int_eq(inv->dev[0].mig[0].mem, 4864);
    model_inventory_drop_row(inv, 1);
    ck_assert_int_eq(inv->ndev, 1);
    ck_assert_str_eq(inv->dev[0].mig[0].name, "1g.5gb");
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

/* Past POLICY_MAX_DEVICES on one node: the row that would overflow is left
 * out with the reason, the devices before it stay. */
START_TEST(test_too_many)
{
    static char anns[64 * 1024];
    size_t n = (size_t)snprintf(anns, sizeof anns, "\"hami.io/node-nvidia-register\":\"[");
    for (int i = 0; i < POLICY_MAX_DEVICES; i++)
        n += (size_t)snprintf(anns + n, sizeof anns - n,
                              "%s{\\\"id\\\":\\\"GPU-%d\\\",\\\"count\\\":10,\\\"devmem\\\":1000,"
                              "\\\"devcore\\\":100,\\\"type\\\":\\\"T\\\",\\\"numa\\\":0,"
                              "\\\"health\\\":true,\\\"index\\\":%d}",
                              i ? "," : "", i, i);
    snprintf(anns + n, sizeof anns - n, "]\"," DCU_REG);
    struct model_inventory *inv = NULL;
    char err[512];
    cJSON *j = node_json(anns);
    ck_assert_int_eq(model_node_parse(j, &inv, err, sizeof err), 0);
    ck_assert_int_eq(inv->ndev, POLICY_MAX_DEVICES);
    ck_assert_int_eq(inv->nrow, 2);
    ck_assert_ptr_nonnull(inv->row[1].bad);
    ck_assert_msg(strstr(inv->row[1].bad, "more than 64"), "%s", inv->row[1].bad);
    model_inventory_free(inv);
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mixed_node");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_mixed_node, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, test_row_health);
    tcase_add_test(tc, test_drop_row);
    tcase_add_test(tc, test_mig_row);
    tcase_add_test(tc, test_too_many);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

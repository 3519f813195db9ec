/* NVIDIA MIG end to end on the real binary (tests/data/e2e/mig.json): node
 * mig-a100 has one A100 40GB in MIG mode whose pod "holder" holds a 20 GB
 * instance HAMi named "GPU-mig0[1-0]" (its request asks 4000 MiB); node
 * mig-empty the same card with nothing on it; mig-held one whose pod
 * "infer" holds a 3g.20gb instance at slices 4-7 (HAMi's MIG allocation
 * annotation says where); mig-split one whose two pods hold 1g.5gb
 * instances at slices 0 and 4; node core-a100 one A100 40GB in hami-core
 * mode, empty. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

static char cluster[4096];
static struct harness *h; /* one process per test */

static void setup(void)
{
    harness_data_path("e2e/mig.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/mig.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* A Pod asking one GPU with `mem` MiB; mode, when not NULL, as its
 * nvidia.com/vgpu-mode annotation. Caller frees. */
static cJSON *make_pod(const char *name, const char *mem, const char *mode)
{
    char uid[64];
    snprintf(uid, sizeof uid, "uid-%s", name);
    cJSON *p = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(p, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", "default");
    cJSON_AddStringToObject(meta, "uid", uid);
    if (mode)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(meta, "annotations"),
                                "nvidia.com/vgpu-mode", mode);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "main");
    cJSON *lim = cJSON_AddObjectToObject(cJSON_AddObjectToObject(c, "resources"), "limits");
    cJSON_AddStringToObject(lim, "nvidia.com/gpu", "1");
    cJSON_AddStringToObject(lim, "nvidia.com/gpumem", mem);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(p, "spec"), "containers"),
                         c);
    return p;
}

/* Filter pod (taken) on the one node `node`; the parsed answer. */
static cJSON *filter_on(cJSON *pod, const char *node)
{
    const char *nodes[] = {node, NULL};
    return harness_filter(harness_port(h), pod, nodes);
}

static const struct {
    const char *what;
    const char *node, *mem, *mode;
    const char *want_reason; /* NULL: placed on node */
    int64_t mem_used;        /* placed: the node's GPU's memUsedMiB on /inspect after */
    int64_t cores_used;
} cases[] = {
    /* The hazard: the holder's instance "GPU-mig0[1-0]" counted for nothing
     * (it was an unknown GPU, so the 4000 MiB it asks counted instead), and
     * a 30 GB pod was accepted on the 40 GB card holding 20 GB. */
    {"30 GB on the MIG card holding 20 GB", "mig-a100", "30720", NULL, "CardInsufficientMemory"},
    {"30 GB on the empty hami-core card", "core-a100", "30720", NULL, NULL, 30720, 0},
    /* Where HAMi's instance sits is unknown ("[1-0]" names no placement):
     * nothing more goes on that card, as HAMi fails such a card closed. */
    {"4 GB beside an instance of unknown placement", "mig-a100", "4000", NULL,
     "CardMigTopologyInfeasible"},
    /* An empty MIG card: the smallest profile covering the request, its
     * memory and cores (3g.20gb: 19968 MiB, 43 %; 7g.40gb: 40192, 100). */
    {"16 GB on the empty MIG card", "mig-empty", "16000", NULL, NULL, 19968, 43},
    {"30 GB on the empty MIG card", "mig-empty", "30720", NULL, NULL, 40192, 100},
    {"40 GB on the empty MIG card: no profile covers it", "mig-empty", "40960", NULL,
     "CardMigTopologyInfeasible"},
    /* Instances whose placement the pods' MIG allocation annotation gives:
     * a 3g fits beside a 3g at 4-7 (at 0-3), not between 1g at 0 and 4. */
    {"16 GB beside a 3g instance at slices 4-7", "mig-held", "16000", NULL, NULL, 39936, 86},
    {"16 GB between 1g instances at slices 0 and 4", "mig-split", "16000", NULL,
     "CardMigTopologyInfeasible"},
    {"8 GB between 1g instances at slices 0 and 4", "mig-split", "8000", NULL, NULL, 19584, 59},
    /* nvidia.com/vgpu-mode keeps MIG and hami-core apart, as HAMi. */
    {"vgpu-mode mig on the hami-core card", "core-a100", "4000", "mig", "CardTypeMismatch"},
    {"vgpu-mode hami-core on the MIG card", "mig-empty", "4000", "hami-core", "CardTypeMismatch"},
    {"vgpu-mode mig on the MIG card", "mig-empty", "4000", "mig", NULL, 4864, 15},
};

/* memUsedMiB and coresUsed of the first GPU of node on /inspect. */
static void inspect_gpu(const char *node, int64_t *mem, int64_t *cores)
{
    cJSON *ins = harness_get_json(harness_port(h), "/inspect");
    ck_assert_ptr_nonnull(ins);
    const cJSON *n;
    *mem = *cores = -1;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(ins, "nodes"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), node) != 0)
            continue;
        const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(n, "gpus"), 0);
        *mem = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
        *cores = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(g, "coresUsed"));
    }
    cJSON_Delete(ins);
}

START_TEST(mig_filter)
{
    __typeof__(cases[0]) *k = &cases[_i];
    cJSON *f = filter_on(make_pod("p", k->mem, k->mode), k->node);
    const char *why = harness_failed_reason(f, k->node);
    if (!k->want_reason) {
        ck_assert_msg(!why, "%s: refused: %s", k->what, why);
        int64_t mem, cores;
        inspect_gpu(k->node, &mem, &cores);
        ck_assert_msg(mem == k->mem_used && cores == k->cores_used, "%s: %lld MiB, %lld cores",
                      k->what, (long long)mem, (long long)cores);
    } else {
        ck_assert_msg(why, "%s: placed", k->what);
        ck_assert_msg(strstr(why, k->want_reason), "%s: %s", k->what, why);
    }
    cJSON_Delete(f);
}
END_TEST

/* Filter pods one after another on mig-empty: each reservation keeps its
 * instance's placement (the MIG allocation annotation bind will write), so
 * the card takes a second 3g beside the first; a third has no room. Before
 * the reservation carried it, the first instance had no known placement
 * and closed the card. */
START_TEST(mig_reservations_keep_placements)
{
    static const char *const names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        cJSON *f = filter_on(make_pod(names[i], "16000", NULL), "mig-empty");
        const char *why = harness_failed_reason(f, "mig-empty");
        if (i < 2)
            ck_assert_msg(!why, "pod %s refused: %s", names[i], why);
        else
            ck_assert_msg(why && strstr(why, "CardInsufficientMemory"), "pod c: %s",
                          why ? why : "placed");
        cJSON_Delete(f);
    }
    int64_t mem, cores;
    inspect_gpu("mig-empty", &mem, &cores);
    ck_assert_int_eq(mem, 2 * 19968);
    ck_assert_int_eq(cores, 2 * 43);
}
END_TEST

/* simulate prints the MIG allocation annotation bind would write. */
START_TEST(mig_simulate)
{
    char pod[4096];
    const char *d = getenv("VS_TEST_DATA");
    snprintf(pod, sizeof pod, "%s/e2e/mig-pod.json", d ? d : "tests/data");
    const char *args[] = {"simulate", "--snapshot", cluster,     "--pod",
                          pod,        "--nodes",    "mig-empty", NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_eq(r.status, 0);
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    const cJSON *a = cJSON_GetObjectItem(j, "annotations");
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/vgpu-mig-allocations")),
        "[{\"containerIndex\":0,\"deviceIndex\":0,\"gpuUUID\":\"GPU-mig1\",\"profile\":"
        "\"3g.20gb\",\"placement\":{\"start\":4,\"size\":4}}]");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(a, "hami.io/vgpu-devices-allocated")),
                     "GPU-mig1,NVIDIA,19968,43:;");
    cJSON_Delete(j);
    harness_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("mig");
    TCase *tc = tcase_create("mig");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, mig_filter, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, mig_reservations_keep_placements);
    tcase_add_test(tc, mig_simulate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

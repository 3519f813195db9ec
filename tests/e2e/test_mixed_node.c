/* A node carrying NVIDIA and Hygon DCU devices, end to end on the real
 * binary. Snapshot (tests/data/e2e/mixed-node.json): mix-node has one
 * NVIDIA T4 (GPU-mix0, 6000 MiB and 20 % held by nv-held) and two DCU Z100
 * (DCU-mix0 holds 8000 MiB and 40 % of dcu-held); two-held asks both
 * vendors, one per container (GPU-mix0: 2000 MiB, 10 %; DCU-mix0: 3000 MiB,
 * 20 %, each under its own vendor's key); bad-dcu-node has one T4 and a DCU
 * register annotation cut short. Live (a fake API server): each
 * vendor's handshake is its own, and a stale one takes out that vendor's
 * devices only. */
#include <check.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "k8s/handshake.h"
#include "tests/support/fakeapi.h"
#include "tests/support/harness.h"

static char cluster[4096];
static struct harness *h;

static void setup(void)
{
    harness_data_path("e2e/mixed-node.json", cluster, sizeof cluster);
    h = harness_start_snapshot("e2e/mixed-node.json");
}

static void teardown(void)
{
    harness_finish(&h);
}

/* The node object named `name` in /inspect (NULL when absent); *ins owns it. */
static const cJSON *inspect_node(int port, const char *name, cJSON **ins)
{
    const cJSON *n;
    *ins = harness_get_json(port, "/inspect");
    ck_assert_ptr_nonnull(*ins);
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(*ins, "nodes"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(n, "name")), name) == 0)
            return n;
    }
    return NULL;
}

/* simulate the pod file (tests/data/e2e/) on the snapshot: the node and the
 * value of annotation key, copied into node/val. */
static void simulate(const char *podfile, const char *key, char *node, char *val, size_t cap)
{
    char pod[4096];
    harness_data_path(podfile, pod, sizeof pod);
    const char *args[] = {"simulate", "--snapshot", cluster, "--pod", pod, NULL};
    struct harness_result r;
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_msg(r.status == 0, "simulate %s: %s", podfile, buf_str(&r.err));
    cJSON *j = cJSON_Parse(buf_str(&r.out));
    ck_assert_ptr_nonnull(j);
    const char *n = cJSON_GetStringValue(cJSON_GetObjectItem(j, "node"));
    const char *v =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "annotations"), key));
    snprintf(node, cap, "%s", n ? n : "");
    snprintf(val, cap, "%s", v ? v : "");
    cJSON_Delete(j);
    harness_result_free(&r);
}

/* A DCU pod asking a whole device lands on the mixed node's free DCU. */
START_TEST(dcu_pod_on_its_dcu)
{
    char node[256], val[256];
    simulate("e2e/mixed-dcu-pod.json", "hami.io/dcu-devices-allocated", node, val, sizeof node);
    ck_assert_str_eq(node, "mix-node");
    ck_assert_str_eq(val, "DCU-mix1,DCU,16384,100:;");
}
END_TEST

/* An NVIDIA pod lands on an NVIDIA card, recorded under NVIDIA's key. */
START_TEST(nvidia_pod_on_its_gpu)
{
    char node[256], val[256];
    simulate("e2e/mixed-nv-pod.json", "hami.io/vgpu-devices-allocated", node, val, sizeof node);
    ck_assert_msg(strcmp(val, "GPU-mix0,NVIDIA,4000,10:;") == 0 ||
                      strcmp(val, "GPU-bad0,NVIDIA,4000,10:;") == 0,
                  "%s: %s", node, val);
}
END_TEST

/* A pod with an NVIDIA container and a DCU container passes only the node
 * carrying both vendors (bad-dcu-node's DCUs are left out). */
START_TEST(two_vendor_pod_filter)
{
    char pod[4096];
    harness_data_path("e2e/mixed-two-pod.json", pod, sizeof pod);
    char *text = NULL, err[256];
    size_t len = 0;
    ck_assert_int_eq(file_read(pod, 1 << 16, &text, &len, err, sizeof err), 0);
    cJSON *p = cJSON_ParseWithLength(text, len);
    free(text);
    ck_assert_ptr_nonnull(p);
    static const char *const nodes[] = {"mix-node", "bad-dcu-node", NULL};
    cJSON *f = harness_filter(harness_port(h), p, nodes);
    const char *e = cJSON_GetStringValue(cJSON_GetObjectItem(f, "Error"));
    ck_assert_msg(!e || !*e, "%s", e);
    ck_assert_str_eq(harness_only_node(f), "mix-node");
    const char *why = harness_failed_reason(f, "bad-dcu-node");
    ck_assert_msg(why && strcmp(why, "NodeInsufficientDevice") == 0, "bad-dcu-node: %s",
                  why ? why : "(none)");
    cJSON_Delete(f);
}
END_TEST

/* Its allocation is written under each vendor's keys, one segment per
 * container, the other vendor's container left empty (as HAMi). */
START_TEST(two_vendor_pod_annotations)
{
    char node[256], val[256];
    simulate("e2e/mixed-two-pod.json", "hami.io/vgpu-devices-allocated", node, val, sizeof node);
    ck_assert_str_eq(node, "mix-node");
    ck_assert_str_eq(val, "GPU-mix0,NVIDIA,4000,10:;;");
    simulate("e2e/mixed-two-pod.json", "hami.io/vgpu-devices-to-allocate", node, val, sizeof node);
    ck_assert_str_eq(val, "GPU-mix0,NVIDIA,4000,10:;;");
    static const char *const keys[] = {"hami.io/dcu-devices-allocated",
                                       "hami.io/dcu-devices-to-allocate"};
    for (int k = 0; k < 2; k++) {
        simulate("e2e/mixed-two-pod.json", keys[k], node, val, sizeof node);
        ck_assert_msg(strcmp(val, ";DCU-mix0,DCU,4000,30:;") == 0 ||
                          strcmp(val, ";DCU-mix1,DCU,4000,30:;") == 0,
                      "%s: %s", keys[k], val);
    }
}
END_TEST

/* The usage rebuilt from the pods at start: each vendor's pod on its own
 * device, read from its own vendor's key; the two-vendor pod's from both. */
START_TEST(usage_after_restart)
{
    cJSON *ins;
    const cJSON *n = inspect_node(harness_port(h), "mix-node", &ins), *g;
    ck_assert_ptr_nonnull(n);
    int seen = 0;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(n, "gpus"))
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(g, "uuid"));
        double mem = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "memUsedMiB"));
        double cores = cJSON_GetNumberValue(cJSON_GetObjectItem(g, "coresUsed"));
        double want_mem = strcmp(id, "DCU-mix0") == 0   ? 8000 + 3000
                          : strcmp(id, "GPU-mix0") == 0 ? 6000 + 2000
                                                        : 0;
        double want_cores = strcmp(id, "DCU-mix0") == 0   ? 40 + 20
                            : strcmp(id, "GPU-mix0") == 0 ? 20 + 10
                                                          : 0;
        ck_assert_msg(mem == want_mem && cores == want_cores, "%s: %g MiB, %g cores", id, mem,
                      cores);
        seen++;
    }
    ck_assert_int_eq(seen, 3);
    ck_assert_ptr_null(cJSON_GetObjectItem(n, "devicesLeftOut"));
    cJSON_Delete(ins);
}
END_TEST

/* A DCU register annotation that does not parse leaves the node's DCUs
 * out, with the reason in /inspect; its NVIDIA card stays usable. */
START_TEST(malformed_row_left_out)
{
    cJSON *ins;
    const cJSON *n = inspect_node(harness_port(h), "bad-dcu-node", &ins);
    ck_assert_ptr_nonnull(n);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(n, "gpus")), 1);
    const cJSON *out = cJSON_GetArrayItem(cJSON_GetObjectItem(n, "devicesLeftOut"), 0);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "vendor")), "hygon");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(out, "annotation")),
                     "hami.io/node-dcu-register");
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(out, "reason"));
    ck_assert_msg(why && strstr(why, "hami.io/node-dcu-register"), "%s", why ? why : "(none)");
    cJSON_Delete(ins);
}
END_TEST

/* ---- live: per-vendor handshakes ---- */

static void put_mixed(struct fakeapi *f, const char *name, const char *dcu_reg, const char *nv_hs,
                      const char *dcu_hs, int dcunum)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
             "\"annotations\":{\"hami.io/node-nvidia-register\":\"[{\\\"id\\\":\\\"%s-g0\\\","
             "\\\"count\\\":10,\\\"devmem\\\":16384,\\\"devcore\\\":100,\\\"type\\\":"
             "\\\"NVIDIA-L4\\\",\\\"health\\\":true,\\\"index\\\":0,\\\"numa\\\":0,\\\"mode\\\":"
             "\\\"hami-core\\\"}]\",\"hami.io/node-dcu-register\":\"%s\"%s%s%s%s%s%s}},"
             "\"status\":{\"allocatable\":{\"cpu\":\"64\",\"memory\":\"256Gi\","
             "\"nvidia.com/gpu\":\"10\",\"hygon.com/dcunum\":\"%d\"}}}",
             name, name, dcu_reg, nv_hs ? ",\"hami.io/node-handshake\":\"" : "", nv_hs ? nv_hs : "",
             nv_hs ? "\"" : "", dcu_hs ? ",\"hami.io/node-handshake-dcu\":\"" : "",
             dcu_hs ? dcu_hs : "", dcu_hs ? "\"" : "", dcunum);
    ck_assert_int_gt(fakeapi_put(f, "nodes", json), 0);
}

#define DCU_ONE                                                                                    \
    "[{\\\"id\\\":\\\"DCU-l0\\\",\\\"count\\\":10,\\\"devmem\\\":16384,\\\"devcore\\\":100,"       \
    "\\\"type\\\":\\\"DCU-Z100\\\",\\\"health\\\":true,\\\"index\\\":0,\\\"numa\\\":0}]"

static int ngpus(int port, const char *node)
{
    cJSON *ins;
    const cJSON *n = inspect_node(port, node, &ins);
    int k = n ? cJSON_GetArraySize(cJSON_GetObjectItem(n, "gpus")) : -1;
    cJSON_Delete(ins);
    return k;
}

/* Poll (bounded) until node's annotation key starts with "Requesting_". */
static bool wait_requesting(struct fakeapi *f, const char *node, const char *key)
{
    for (int i = 0; i < 250; i++, harness_nap_ms(20)) {
        cJSON *n = fakeapi_get(f, "nodes", NULL, node);
        const char *v = harness_annotation(n, key);
        bool ok = v && strncmp(v, "Requesting_", 11) == 0;
        cJSON_Delete(n);
        if (ok)
            return true;
    }
    return false;
}

START_TEST(live_row_handshakes)
{
    char dir[] = "/tmp/vs-mixed-XXXXXX", kc[128], old[64];
    struct fakeapi *f = fakeapi_start();
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(kc, sizeof kc, "%s/kubeconfig", dir);
    ck_assert_int_eq(fakeapi_write_kubeconfig(f, kc), 0);
    handshake_value((double)time(NULL) - 3600, old, sizeof old);
    /* fresh: no handshake yet on either row: both get written */
    put_mixed(f, "fresh", DCU_ONE, NULL, NULL, 10);
    /* the DCU plugin is gone (stale request, nothing allocatable): DCUs out */
    put_mixed(f, "dcu-gone", DCU_ONE, NULL, old, 0);
    /* the DCU annotation is cut short: DCUs out, counted */
    put_mixed(f, "dcu-bad", "[{", NULL, NULL, 10);
    const char *args[] = {"--kubeconfig", kc, "--leader-elect-lease=", NULL};
    struct harness *lh = harness_start(args);
    ck_assert_ptr_nonnull(lh);
    int port = harness_port(lh);
    ck_assert_msg(harness_wait_ready(port, 15000), "not ready after 15 s");

    ck_assert_int_eq(ngpus(port, "fresh"), 2);
    ck_assert_int_eq(ngpus(port, "dcu-gone"), 1);
    ck_assert_int_eq(ngpus(port, "dcu-bad"), 1);
    ck_assert(wait_requesting(f, "fresh", "hami.io/node-handshake"));
    ck_assert(wait_requesting(f, "fresh", "hami.io/node-handshake-dcu"));
    ck_assert(wait_requesting(f, "dcu-gone", "hami.io/node-handshake"));
    cJSON *n = fakeapi_get(f, "nodes", NULL, "dcu-gone");
    ck_assert_str_eq(harness_annotation(n, "hami.io/node-handshake-dcu"), old);
    cJSON_Delete(n);
    ck_assert_int_ge(
        harness_metric(port, "vgpu_scheduler_errors_total{reason=\"node_register_malformed\"}"), 1);
    ck_assert_int_ge(harness_metric(port, "vgpu_scheduler_errors_total{reason=\"node_unhealthy\"}"),
                     1);
    /* The DCU plugin comes back on dcu-gone: its DCU joins again. */
    put_mixed(f, "dcu-gone", DCU_ONE, NULL, old, 10);
    int k = -1;
    for (int i = 0; i < 250 && k != 2; i++, harness_nap_ms(20))
        k = ngpus(port, "dcu-gone");
    ck_assert_int_eq(k, 2);

    int st = harness_stop(lh, SIGTERM, 10000);
    harness_dump(lh);
    ck_assert_int_eq(st, 0);
    harness_free(lh);
    fakeapi_stop(f);
    unlink(kc);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mixed_node");
    TCase *tc = tcase_create("snapshot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dcu_pod_on_its_dcu);
    tcase_add_test(tc, nvidia_pod_on_its_gpu);
    tcase_add_test(tc, two_vendor_pod_filter);
    tcase_add_test(tc, two_vendor_pod_annotations);
    tcase_add_test(tc, usage_after_restart);
    tcase_add_test(tc, malformed_row_left_out);
    suite_add_tcase(s, tc);
    TCase *live = tcase_create("live");
    tcase_set_timeout(live, 60);
    tcase_add_test(live, live_row_handshakes);
    suite_add_tcase(s, live);
    return harness_run_suite(s, true);
}

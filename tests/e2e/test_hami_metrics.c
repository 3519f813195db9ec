/* HAMi's scheduler metrics, through the real binary on the demo cluster:
 * every name and label set of tests/data/server/hami-metrics.txt (taken
 * from HAMi's source; the file says where) is in /metrics, so HAMi's
 * dashboards find their series. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/harness.h"

#define LABELS_MAX 512

static int cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, comma-separated label names of one sample line
 * "name{a=\"x\",b=\"y\"} v" into out. Values hold no '"' unescaped. */
static void label_set(const char *line, char *out, size_t cap)
{
    char names[16][64];
    const char *p[16];
    int n = 0;
    const char *s = strchr(line, '{');
    out[0] = '\0';
    while (s && *s != '}' && n < 16) {
        s++;
        const char *eq = strchr(s, '=');
        if (!eq)
            break;
        snprintf(names[n], sizeof names[n], "%.*s", (int)(eq - s), s);
        p[n] = names[n];
        n++;
        s = eq + 2; /* past =" */
        while (*s && !(*s == '"' && s[-1] != '\\'))
            s++;
        s++; /* past the closing quote: ',' or '}' */
    }
    qsort(p, (size_t)n, sizeof p[0], cmp);
    for (int i = 0; i < n; i++) {
        size_t k = strlen(out);
        if (strcmp(p[i], "vendor") == 0)
            continue; /* ours, beside HAMi's (hami-metrics.txt) */
        snprintf(out + k, cap - k, "%s%s", k ? "," : "", p[i]);
    }
}

/* Whether metrics has a sample of name with exactly the label set want. */
static bool has_series(const char *metrics, const char *name, const char *want)
{
    char prefix[160], got[LABELS_MAX];
    snprintf(prefix, sizeof prefix, "\n%s{", name);
    for (const char *s = strstr(metrics, prefix); s; s = strstr(s + 1, prefix)) {
        const char *eol = strchr(s + 1, '\n');
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(eol ? eol - s - 1 : (long)strlen(s + 1)), s + 1);
        label_set(line, got, sizeof got);
        if (strcmp(got, want) == 0)
            return true;
    }
    return false;
}

START_TEST(test_hami_names_and_labels)
{
    char demo[4096], type[160], migc[4096];
    const char *src = getenv("VS_SOURCE");
    snprintf(demo, sizeof demo, "%s/examples/demo-cluster.json", src ? src : ".");
    harness_data_path("e2e/mig-ready.json", migc, sizeof migc);
    const char *args[] = {"--snapshot", demo, NULL}, *args2[] = {"--snapshot", migc, NULL};
    struct harness *h = harness_start(args), *h2 = harness_start(args2);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(h2);
    struct harness_reply r, r2;
    ck_assert_int_eq(harness_get(harness_port(h), "/metrics", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(harness_get(harness_port(h2), "/metrics", &r2), 0);
    const char *m = buf_str(&r.body), *mig = buf_str(&r2.body);
    /* HAMi's per-device families carry the device's vendor; the legacy ones
     * keep HAMi's labels only */
    ck_assert_msg(strstr(m, ",vendor=\"nvidia\",zone=\"vGPU\"}"), "%.2000s", m);
    ck_assert(strstr(m, "\nvgpu_scheduler_vendor_memory_bytes{vendor=\"nvidia\"} "));
    ck_assert(strstr(m, "\nvgpu_scheduler_vendor_cores_allocated{vendor=\"hygon\"} "));
    const char *legacy = strstr(m, "\nGPUDeviceMemoryLimit{");
    ck_assert_ptr_nonnull(legacy);
    ck_assert_ptr_null(memmem(legacy, (size_t)(strchr(legacy + 1, '\n') - legacy), "vendor=", 7));
    /* one MIG instance made (gpuInstanceID 2), one not yet: one series */
    ck_assert_msg(strstr(mig, "hami_node_gpu_mig_instance_info{node=\"mig-held\","
                              "device_uuid=\"GPU-mig2\",device_index=\"0\",mig_uuid=\"MIG-"),
                  "%.3000s", mig);
    ck_assert(strstr(mig, "nodeGPUMigInstance{nodeid=\"mig-held\",deviceuuid=\"GPU-mig2\","
                          "deviceidx=\"0\",migname=\"3g.20gb-2\",zone=\"vGPU\"} 1\n"));
    ck_assert_ptr_null(strstr(mig, "device_uuid=\"GPU-mig3\",device_index=\"0\",mig_uuid"));
    char *list = harness_slurp("server/hami-metrics.txt");
    int checked = 0;
    for (char *save = NULL, *line = strtok_r(list, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char name[128], labels[LABELS_MAX];
        if (line[0] == '#' || sscanf(line, "%127s %511s", name, labels) != 2)
            continue;
        snprintf(type, sizeof type, "# TYPE %s gauge\n", name);
        ck_assert_msg(strstr(m, type), "%s: no TYPE line", name);
        if (strcmp(labels, "-") != 0)
            ck_assert_msg(has_series(m, name, labels) || has_series(mig, name, labels),
                          "%s{%s}: no such series in\n%.2000s", name, labels, m);
        checked++;
    }
    ck_assert_int_eq(checked, 22);
    free(list);
    harness_reply_free(&r);
    harness_reply_free(&r2);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    ck_assert_int_eq(harness_stop(h2, SIGTERM, 5000), 0);
    harness_free(h);
    harness_free(h2);
}
END_TEST

/* --legacy-metrics=false (HAMi's default): the hami_* names only. */
START_TEST(test_no_legacy)
{
    char demo[4096];
    const char *src = getenv("VS_SOURCE");
    snprintf(demo, sizeof demo, "%s/examples/demo-cluster.json", src ? src : ".");
    const char *args[] = {"--snapshot", demo, "--legacy-metrics=false", NULL};
    struct harness *h = harness_start(args);
    ck_assert_ptr_nonnull(h);
    struct harness_reply r;
    ck_assert_int_eq(harness_get(harness_port(h), "/metrics", &r), 0);
    const char *m = buf_str(&r.body);
    ck_assert(strstr(m, "\nhami_vgpu_memory_allocated_bytes{"));
    ck_assert(strstr(m, "\nhami_node_gpu_overview{"));
    static const char *const legacy[] = {"GPUDeviceMemoryLimit", "nodeGPUOverview",
                                         "vGPUMemoryAllocated", "QuotaUsed"};
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
        ck_assert_msg(!strstr(m, legacy[i]), "%s exported", legacy[i]);
    harness_reply_free(&r);
    ck_assert_int_eq(harness_stop(h, SIGTERM, 5000), 0);
    harness_free(h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hami_metrics");
    TCase *tc = tcase_create("hami_metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hami_names_and_labels);
    tcase_add_test(tc, test_no_legacy);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

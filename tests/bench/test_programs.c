/* Smoke tests of the measurement programs: each runs on a tiny input and its
 * output must parse. Their figures are never checked: timing is not a test. */
#include <check.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tests/support/harness.h"

#define PAPER_HEADER                                                                               \
    "trace,policy,seeds,alloc_at_80,alloc_at_90,alloc_at_100,alloc_at_110,alloc_at_120"

static char out[1 << 16];

/* Run a command line; its output lands in out (harness_shell). */
static int run(const char *cmd)
{
    return harness_shell(cmd, out, sizeof out);
}

/* The first row of vgpu-replay's output: the paper's header, then trace,
 * policy, seeds and five allocations. Returns a pointer to the row. */
static const char *parse_row(const char *text, char *policy, double *at)
{
    char trace[64];
    int seeds;
    ck_assert_msg(strncmp(text, PAPER_HEADER "\n", strlen(PAPER_HEADER) + 1) == 0, "%s", text);
    const char *row = text + strlen(PAPER_HEADER) + 1;
    ck_assert_int_eq(sscanf(row, "%63[^,],%63[^,],%d,%lf,%lf,%lf,%lf,%lf", trace, policy, &seeds,
                            &at[0], &at[1], &at[2], &at[3], &at[4]),
                     8);
    ck_assert_str_eq(trace, "pods");
    return row;
}

static const char *const replay_args[] = {
    "--policy binpack",
    "--policy spread --seeds 2",
    "--policy fragment-aware",
    "--policy fragment-aware --workload online",
    "--policy fragment-aware --measure one-copy --gpu-policy spread",
    "--policy fgd",
    "--policy fragment-aware --vendors 50",
    "--policy fragment-aware --workload online --restart 50",
    "--policy fragment-aware --workload online --restart-seeded 50",
    "--policy fragment-aware --workload online --scale 3",
};

START_TEST(replay_output_parses)
{
    char cmd[2048], curve[256];
    snprintf(curve, sizeof curve, "/tmp/vs-curve-%d.csv", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv %s "
             "--curve %s",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
             replay_args[_i], curve);
    ck_assert_int_eq(run(cmd), 0);
    char policy[64];
    double at[5];
    const char *row = parse_row(out, policy, at);
    ck_assert(strstr(replay_args[_i], policy) != NULL || strstr(policy, "online"));
    for (int i = 0; i < 5; i++) {
        ck_assert(at[i] >= 0 && at[i] <= 100); /* a share of the capacity */
        if (i)
            ck_assert(at[i] >= at[i - 1]); /* arrivals only: allocation never falls */
    }
    ck_assert_ptr_nonnull(strstr(row, "\n# "));
    ck_assert_ptr_nonnull(strstr(row, "seeds in"));
    /* what placing took, on the sample's 24 nodes (--scale 3: 72) */
    const char *times = strstr(row, "# filter per GPU task: p50 ");
    int tasks = 0, nodes = 0;
    ck_assert_ptr_nonnull(times);
    ck_assert_int_eq(sscanf(strchr(times, '('), "(%d tasks, %d nodes)", &tasks, &nodes), 2);
    ck_assert_int_eq(nodes, strstr(replay_args[_i], "--scale 3") ? 72 : 24);
    ck_assert_int_gt(tasks, 0);
    /* the binds that followed, timed apart: one per task placed */
    const char *binds = strstr(row, "# bind per task placed: p50 ");
    int bound = 0;
    ck_assert_ptr_nonnull(binds);
    ck_assert_int_eq(sscanf(strchr(binds, '('), "(%d tasks, %d nodes)", &bound, &nodes), 2);
    ck_assert_int_gt(bound, 0);
    ck_assert_int_le(bound, tasks);
    FILE *f = fopen(curve, "r");
    ck_assert_ptr_nonnull(f);
    char line[128];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "arrived_pct,alloc_pct\n");
    fclose(f);
    remove(curve);
}
END_TEST

/* No placement can beat the upper bound: every policy, every point. */
START_TEST(replay_bound_holds)
{
    static const char *const policies[] = {"binpack", "spread", "fragment-aware"};
    char cmd[2048], policy[64];
    double bound[5], at[5];
    const char *fmt = "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv "
                      "--seeds 3 --tune 1.6 %s %s";
    snprintf(cmd, sizeof cmd, fmt, harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"),
             harness_env("VS_TEST_DATA"), "--bound", "");
    ck_assert_int_eq(run(cmd), 0);
    parse_row(out, policy, bound);
    ck_assert_str_eq(policy, "upper-bound");
    for (int i = 0; i < 5; i++)
        ck_assert(bound[i] > 0 && bound[i] <= 100.0001);
    for (size_t p = 0; p < sizeof policies / sizeof policies[0]; p++) {
        snprintf(cmd, sizeof cmd, fmt, harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"),
                 harness_env("VS_TEST_DATA"), "--policy", policies[p]);
        ck_assert_int_eq(run(cmd), 0);
        parse_row(out, policy, at);
        for (int i = 0; i < 5; i++)
            ck_assert_msg(at[i] <= bound[i] + 0.005, "%s at point %d: %.2f above the bound %.2f",
                          policies[p], i, at[i], bound[i]);
    }
}
END_TEST

/* --packing: a row like the others, a share of the capacity at each point,
 * and the note that it is an estimate. */
START_TEST(replay_packing_parses)
{
    char cmd[2048], policy[64];
    double at[5];
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv --seeds 3 "
             "--tune 1.6 --packing",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"));
    ck_assert_int_eq(run(cmd), 0);
    const char *row = parse_row(out, policy, at);
    ck_assert_str_eq(policy, "share-packing");
    for (int i = 0; i < 5; i++)
        ck_assert(at[i] > 0 && at[i] <= 100.0001);
    ck_assert_ptr_nonnull(strstr(row, "an estimate"));
}
END_TEST

/* --share-floor: the least room any packing leaves is at most what best
 * fit leaves, so the floor lies at or above the packing estimate at every
 * point of the same arrivals, and within the capacity. */
START_TEST(replay_share_floor_above_packing)
{
    char cmd[2048], policy[64];
    double packing[5], floor[5];
    const char *fmt = "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv "
                      "--seeds 3 --tune 1.6 %s";
    snprintf(cmd, sizeof cmd, fmt, harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"),
             harness_env("VS_TEST_DATA"), "--packing");
    ck_assert_int_eq(run(cmd), 0);
    parse_row(out, policy, packing);
    snprintf(cmd, sizeof cmd, fmt, harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"),
             harness_env("VS_TEST_DATA"), "--share-floor");
    ck_assert_int_eq(run(cmd), 0);
    const char *row = parse_row(out, policy, floor);
    ck_assert_str_eq(policy, "share-floor");
    ck_assert_ptr_nonnull(strstr(row, "place every share"));
    for (int i = 0; i < 5; i++)
        ck_assert_msg(floor[i] >= packing[i] - 0.005 && floor[i] <= 100.0001,
                      "point %d: floor %.2f, packing %.2f", i, floor[i], packing[i]);
}
END_TEST

/* --dump at 100 % arrival: the free GPUs split into whole cards and gaps
 * by size add up to the free total, and that total is what the row's
 * allocation at 100 % leaves of the capacity (the line is printed at that
 * same instant). */
START_TEST(replay_dump_adds_up)
{
    static const char *const args[] = {"--policy fgd", "--policy fragment-aware",
                                       "--policy fragment-aware --workload online"};
    char cmd[2048], policy[64];
    double at[5], free, cap, whole, poor, gap[3], tiny;
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv %s --dump 2>&1",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
             args[_i]);
    ck_assert_int_eq(run(cmd), 0);
    const char *line = strstr(out, "at 100 %: ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(
        sscanf(line,
               "at 100 %%: free GPUs %lf of %lf: whole cards %lf (%lf on nodes under 4 "
               "cores or 8 GiB free), gaps under 0.2 %lf, 0.2-0.5 %lf, over 0.5 %lf; "
               "shares under 0.2 arrived %lf GPUs",
               &free, &cap, &whole, &poor, &gap[0], &gap[1], &gap[2], &tiny),
        8);
    const char *header = strstr(out, PAPER_HEADER);
    ck_assert_ptr_nonnull(header);
    parse_row(header, policy, at);
    ck_assert_double_eq_tol(whole + gap[0] + gap[1] + gap[2], free, 0.2);
    ck_assert_double_eq_tol(free, cap * (100 - at[2]) / 100, 0.06);
    ck_assert(poor <= whole && tiny >= 0 && free > 0);
    /* the partly used cards by share used, most free first: their free
     * capacity is what whole cards leave of the free total */
    const char *used = strstr(out, "at 100 %: partly used cards by share used (cards, free GPUs):");
    ck_assert_ptr_nonnull(used);
    used = strchr(used, ':') + 1;
    used = strchr(used, ':') + 1;
    double share, gaps = 0, f, rest, last = 1e9;
    int cards, n = 0, k;
    while (sscanf(used, " %lf: %d, %lf;%n", &share, &cards, &f, &k) == 3) {
        ck_assert(share > 0 && share < 1 && cards > 0 && f <= last + 0.005);
        ck_assert_double_eq_tol(f, cards * (1 - share), 0.006);
        gaps += f;
        last = f;
        used += k;
        n++;
    }
    ck_assert_int_eq(sscanf(used, " the rest %lf", &rest), 1);
    ck_assert(n >= 1 && n <= 6 && rest >= 0);
    ck_assert_double_eq_tol(gaps + rest, free - whole, 0.09); /* free to 0.1, the rest to 0.01 */
    /* the cards the shares take hold them and the gaps; no fewer could */
    double shares, taken, fewest;
    const char *sc = strstr(out, "at 100 %: the one-GPU shares placed (");
    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(sscanf(sc,
                            "at 100 %%: the one-GPU shares placed (%lf GPUs) take %lf cards; the "
                            "fewest that hold them: %lf",
                            &shares, &taken, &fewest),
                     3);
    ck_assert_double_eq_tol(taken - shares, free - whole, 0.11);
    ck_assert(fewest <= taken && fewest >= shares - 0.05);
}
END_TEST

/* --dump at each failed GPU task: an idle node that could host it (its
 * GPUs, CPU, memory, vendor and model list) would have taken it, so every
 * such line counts none; the idle nodes are grouped by vendor as well as
 * model on a mixed cluster. Before the fix the count ignored the vendor
 * and the model list (10 of fgd's 15 lines at --vendors 50 named hosts). */
static const struct {
    const char *args;
    bool mixed;
} dump_fail_rows[] = {
    {"--policy fgd", false},
    {"--policy fgd --vendors 50", true},
    {"--policy fragment-aware --vendors 50", true},
};

START_TEST(replay_dump_failed_fit_none)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv %s --dump 2>&1",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
             dump_fail_rows[_i].args);
    ck_assert_int_eq(run(cmd), 0);
    int lines = 0;
    for (const char *l = strstr(out, "failed at"); l; l = strstr(l + 1, "failed at")) {
        const char *n = strstr(l, "that fit it ");
        ck_assert_ptr_nonnull(n);
        ck_assert_msg(strtol(n + strlen("that fit it "), NULL, 10) == 0, "%.200s", l);
        lines++;
    }
    ck_assert_int_gt(lines, 0);
    ck_assert_int_eq(strstr(out, "G2/hygon ") != NULL, dump_fail_rows[_i].mixed);
}
END_TEST

/* --dump on a cluster of more models than it tells apart: the rest are
 * counted as "other" (past 16 the end-of-run table wrote past its arrays). */
START_TEST(replay_dump_many_models)
{
    char dir[] = "/tmp/vs-models-XXXXXX", nodes[600], cmd[2048];
    char text[4096] = "sn,cpu_milli,memory_mib,gpu,model\n";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    for (int i = 0; i < 24; i++) {
        size_t k = strlen(text);
        snprintf(text + k, sizeof text - k, "n%02d,96000,393216,8,M%02d\n", i, i);
    }
    harness_write(dir, "nodes.csv", text, nodes, sizeof nodes);
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s --pods %s/replay/pods.csv --policy binpack --dump 2>&1; "
             "rc=$?; rm -rf %s; exit $rc",
             harness_env("VS_BUILD"), nodes, harness_env("VS_TEST_DATA"), dir);
    ck_assert_int_eq(run(cmd), 0);
    ck_assert_ptr_nonnull(strstr(out, "\nM00 "));
    ck_assert_ptr_nonnull(strstr(out, "\nother "));
    ck_assert_ptr_null(strstr(out, "\nM20 "));
}
END_TEST

/* vgpu-replay on the small sample with `args` exits 2 naming `want`. */
static void replay_refuses(const char *args, const char *want)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv %s 2>&1",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
             args);
    ck_assert_int_eq(run(cmd), 2);
    ck_assert_msg(strstr(out, want) != NULL, "%s: %s", args, out);
}

START_TEST(replay_bad_input)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/vgpu-replay --nodes /nonexistent.csv --pods x 2>&1",
             harness_env("VS_BUILD"));
    ck_assert_int_eq(run(cmd), 2);
    replay_refuses("--policy packbin", "packbin");
    /* online learns with the service's own measure: --measure is refused */
    replay_refuses("--policy fragment-aware --measure one-copy --workload online",
                   "--measure applies to --workload trace");
    replay_refuses("--policy fgd --workload online", "--policy fgd measures against the trace");
    replay_refuses("--policy binpack --vendors 101", "usage");
    replay_refuses("--policy binpack --vendors abc", "usage");
    replay_refuses("--policy binpack --vendors 50x", "usage");
    replay_refuses("--policy binpack --vendors nan", "usage");
    replay_refuses("--bound --vendors 50", "--vendors applies to placing runs");
    replay_refuses("--share-floor --vendors 50", "--vendors applies to placing runs");
    replay_refuses("--bound --share-floor", "one of --bound, --packing, --share-floor");
    replay_refuses("--policy fragment-aware --restart 50",
                   "apply to placing runs with --workload online");
    replay_refuses("--policy fragment-aware --workload online --restart-seeded 121",
                   "a percentage of arrival in (0, 120]");
    replay_refuses("--policy fragment-aware --workload online --restart -5", "(0, 120]");
    replay_refuses("--policy fragment-aware --workload online --restart 5x", "(0, 120]");
    replay_refuses("--bound --workload online --restart 50", "placing runs");
    replay_refuses("--policy binpack --scale 0", "usage");
    replay_refuses("--policy binpack --scale 65", "usage");
    replay_refuses("--policy binpack --scale 2x", "usage");
    replay_refuses("--policy binpack --filter-threads 0", "usage");
    replay_refuses("--policy binpack --filter-threads 17", "usage");
    replay_refuses("--policy binpack --filter-threads 2x", "usage");
    replay_refuses("--policy fragment-aware --workload-file /dev/null",
                   "apply to placing runs with --workload online");
    replay_refuses("--policy fragment-aware --workload online --seeds 2 --workload-out /tmp/x",
                   "--workload-out to one seed");
    replay_refuses("--policy fragment-aware --workload online --workload-file /nonexistent.json",
                   "--workload-file /nonexistent.json");
    replay_refuses("--policy fragment-aware --workload online --workload-out /nonexistent/w.json",
                   "--workload-out /nonexistent/w.json: No such file");
}
END_TEST

/* --workload-out writes the learner's workload as GET /workload does, and
 * --workload-file reads it back into the next run's learner. */
START_TEST(replay_workload_out_and_in)
{
    char dir[] = "/tmp/vs-replay-wl-XXXXXX", cmd[2048], path[600];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/w.json", dir);
    for (int i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv "
                 "--policy fragment-aware --workload online --seeds 1 --workload-%s %s",
                 harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
                 i ? "file" : "out", path);
        ck_assert_msg(run(cmd) == 0, "%s", out);
    }
    char *text = harness_read(path, NULL);
    cJSON *list = cJSON_Parse(text);
    ck_assert_msg(cJSON_IsArray(list) && cJSON_GetArraySize(list) > 0, "%s", text);
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "weight")));
    cJSON_Delete(list);
    free(text);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A restart acts from its point on: at 120 % (after the last point is
 * taken) the row is the run's without one, cold or seeded. */
START_TEST(replay_restart_from_its_point)
{
    static const char *const how[] = {"", "--restart 120", "--restart-seeded 120"};
    double base[5];
    for (int i = 0; i < 3; i++) {
        char cmd[1024], policy[64];
        double at[5];
        snprintf(cmd, sizeof cmd,
                 "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv "
                 "--policy fragment-aware --workload online --seeds 2 %s",
                 harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
                 how[i]);
        ck_assert_int_eq(run(cmd), 0);
        parse_row(out, policy, at);
        for (int p = 0; p < 5 && i == 0; p++)
            base[p] = at[p];
        for (int p = 0; p < 5; p++)
            ck_assert_msg(at[p] == base[p], "%s: point %d %f, want %f", how[i], p, at[p], base[p]);
    }
}
END_TEST

/* --vendors 100: every node and task Hygon DCU, one pool again; it places
 * exactly as the all-NVIDIA cluster does, with either workload. */
START_TEST(replay_vendors_one_pool)
{
    static const char *const wl[] = {"trace", "online"};
    for (int i = 0; i < 2; i++) {
        char cmd[1024], rows[2][256];
        for (int v = 0; v < 2; v++) {
            snprintf(cmd, sizeof cmd,
                     "%s/vgpu-replay --nodes %s/replay/nodes.csv --pods %s/replay/pods.csv "
                     "--policy fragment-aware --workload %s --seeds 2 --vendors %d",
                     harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"),
                     harness_env("VS_TEST_DATA"), wl[i], v * 100);
            ck_assert_int_eq(run(cmd), 0);
            char policy[64];
            double at[5];
            const char *row = parse_row(out, policy, at);
            snprintf(rows[v], sizeof rows[v], "%.*s", (int)strcspn(row, "\n"), row);
        }
        ck_assert_str_eq(rows[0], rows[1]);
    }
}
END_TEST

/* A bad row in either file: exit 2, a message naming the file and line,
 * and no figures. The other file is the good sample. */
#define NODES_HDR "sn,cpu_milli,memory_mib,gpu,model\n"
#define PODS_HDR  "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
static const struct {
    bool pods;        /* the bad file is the pods' (else the nodes') */
    const char *text; /* its content (after printf: %s is 5000 x's) */
    const char *want; /* in the message */
} bad_rows[] = {
    {false, NODES_HDR "n0,96000,393216,8,G2\nn1,96000,393216,many,G2\n", "nodes.csv:3: needs"},
    {false, NODES_HDR "n0,96000,393216,65,G2\n", "nodes.csv:2: needs"},
    {false, NODES_HDR "n0,-1,393216,8,G2\n", "nodes.csv:2: needs"},
    {false, NODES_HDR "n0,96000,393216\n", "nodes.csv:2: needs"},
    {false, NODES_HDR "n0,96000,393216,8,NVIDIA-GeForce-RTX-4090-24GB-Laptop\n",
     "nodes.csv:2: sn \"n0\" or model \"NVIDIA-GeForce-RTX-4090-24GB-Laptop\" longer"},
    {false, NODES_HDR "\n\n", "nodes.csv: no rows under the header"},
    {false, NODES_HDR "n0,96000,393216,8,%s\n", "nodes.csv:2: a line over"},
    {true, PODS_HDR "p0,2000,8192,1,250,\np1,2000,8192,1,1001,\n", "pods.csv:3: needs"},
    {true, PODS_HDR "p0,2000,8192,1,5,\n",
     "pods.csv:2: a 1-GPU task needs gpu_milli 10..1000, not 5"},
    {true, PODS_HDR "p0,2000,8192,99999999999999999999,1000,\n", "pods.csv:2: needs"},
    {true, PODS_HDR "p0,2000,8192,1,250,T4|V100;rm\n", "pods.csv:2: gpu_spec \"T4|V100;rm\""},
    {true,
     PODS_HDR "p0,2000,8192,1,250,T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4"
              "|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4|T4\n",
     "pods.csv:2: gpu_spec \"T4|T4"},
    {true, PODS_HDR "p0,2000,8192,1,250,%s\n", "pods.csv:2: a line over"},
    {true,
     PODS_HDR "p0,2000,8192,1,250"
              ",x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x"
              ",x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x,x"
              ",x,x,x,x,x,x,x,x,x,x\n",
     "pods.csv:2: more than 64 fields"},
};

START_TEST(replay_bad_rows)
{
    char path[128], cmd[2048], good[512], *xs = malloc(5001);
    memset(xs, 'x', 5000);
    xs[5000] = '\0';
    snprintf(path, sizeof path, "/tmp/vs-bad-%d-%s", (int)getpid(),
             bad_rows[_i].pods ? "pods.csv" : "nodes.csv");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, bad_rows[_i].text, xs);
    fclose(f);
    free(xs);
    snprintf(good, sizeof good, "%s/replay/%s.csv", harness_env("VS_TEST_DATA"),
             bad_rows[_i].pods ? "nodes" : "pods");
    snprintf(cmd, sizeof cmd, "%s/vgpu-replay --nodes %s --pods %s --policy fragment-aware 2>&1",
             harness_env("VS_BUILD"), bad_rows[_i].pods ? good : path,
             bad_rows[_i].pods ? path : good);
    int rc = run(cmd);
    remove(path);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(out, bad_rows[_i].want) != NULL, "row %d: %s", _i, out);
    ck_assert_ptr_null(strstr(out, "alloc_at_80"));
}
END_TEST

/* vgpu-start-bench on a small cluster: the server loaded it all and
 * answered /readyz; the RESULT line parses. */
START_TEST(start_bench_output_parses)
{
    char cmd[1024];
    int nodes = 0, pods = 0, readyz = 0;
    double ready = -1, peak = -1;
    snprintf(cmd, sizeof cmd, "%s/vgpu-start-bench --nodes 20 --pods 300 --items-first 1",
             harness_env("VS_BUILD"));
    ck_assert_int_eq(run(cmd), 0);
    const char *res = strstr(out, "RESULT {");
    ck_assert_msg(res != NULL, "%s", out);
    ck_assert_int_eq(sscanf(res,
                            "RESULT {\"nodes\":%d,\"pods\":%d,\"bytes\":%*d,\"ready_ms\":%lf,"
                            "\"readyz\":%d,\"peak_mib\":%lf",
                            &nodes, &pods, &ready, &readyz, &peak),
                     5);
    ck_assert_int_eq(nodes, 20);
    ck_assert_int_eq(pods, 300);
    ck_assert_int_eq(readyz, 200);
    ck_assert_msg(strstr(out, "20 nodes, 300 pods loaded; 0 nodes and 0 pods left out"), "%s", out);
    ck_assert(ready >= 0 && peak > 0);
    /* with filters: the gauges are read before, at the steady figure (one
     * pod filtered 5 times) and after; the huge pods after the plain ones */
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-start-bench --nodes 20 --pods 100 --warm 5 --filters 30 --huge-filters 10",
             harness_env("VS_BUILD"));
    ck_assert_int_eq(run(cmd), 0);
    ck_assert_msg(strstr(out, "before filters: RSS ") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "table_entries{table=\"pending\"} 1;"), "%s", out);
    ck_assert_msg(strstr(out, "steady (after 5 filters of one pod): RSS "), "%s", out);
    ck_assert_msg(strstr(out, "table_entries{table=\"pending\"} 2;"), "%s", out);
    ck_assert_msg(strstr(out, "after 30 plain filters: RSS "), "%s", out);
    ck_assert_msg(strstr(out, "table_entries{table=\"pending\"} 32;"), "%s", out);
    ck_assert_msg(strstr(out, "after 10 huge filters: RSS "), "%s", out);
    ck_assert_msg(strstr(out, "table_entries{table=\"pending\"} 42;"), "%s", out);
    ck_assert_msg(strstr(out, "10 distinct pods (253-character names"), "%s", out);
    int plain = 0, huge = 0;
    double steady = 0, ratio = 0;
    res = strstr(out, "RESULT_BOUND {");
    ck_assert_msg(res != NULL, "%s", out);
    ck_assert_int_eq(sscanf(res,
                            "RESULT_BOUND {\"nodes\":%*d,\"pods\":%*d,\"steady_mib\":%lf,"
                            "\"plain\":%d,\"plain_mib\":%*f,\"plain_ratio\":%lf,"
                            "\"plain_per_s\":%*f,\"huge\":%d",
                            &steady, &plain, &ratio, &huge),
                     4);
    ck_assert(steady > 0 && ratio > 0);
    ck_assert_int_eq(plain, 30);
    ck_assert_int_eq(huge, 10);
    /* absurd arguments: the usage, exit 2 */
    snprintf(cmd, sizeof cmd, "%s/vgpu-start-bench --huge-filters -5 2>&1",
             harness_env("VS_BUILD"));
    ck_assert_int_eq(run(cmd), 2);
    ck_assert_msg(strstr(out, "usage: vgpu-start-bench"), "%s", out);
}
END_TEST

/* bench/fragment-eval.sh --report judges the goal (100 % >= FGD + 0.5) on
 * the unrounded means: 97.138 against 96.644 is +0.494, short, though the
 * means rounded first would read 97.14 - 96.64 = +0.50; the share floor
 * gets a row of its own, unjudged. One seed each, a stand-in replay (the
 * report runs nothing; it only names the results' folder by the binary's
 * checksum). */
static const struct {
    double fgd, fa; /* allocation at 100 % */
    const char *want;
} eval_rows[] = {
    {96.644, 97.138, "| t | trace workload | +0.00 | +0.00 | +0.49 | +0.00 | +0.00 | **no** |"},
    {96.644, 97.145, "| t | trace workload | +0.00 | +0.00 | +0.50 | +0.00 | +0.00 | yes |"},
    {96.640, 97.140, "| t | trace workload | +0.00 | +0.00 | +0.50 | +0.00 | +0.00 | yes |"},
};

START_TEST(fragment_eval_judges_unrounded)
{
    char dir[] = "/tmp/vs-eval-XXXXXX", sub[600], cmd[2048], text[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(sub, sizeof sub, "%s/data", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    harness_write(sub, "openb_node_list_gpu_node.csv", "unused\n", NULL, 0);
    harness_write(sub, "paper_results.csv", "trace,policy,seeds,a,b,c,d,e\n", NULL, 0);
    snprintf(sub, sizeof sub, "%s/build", dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    harness_write(sub, "vgpu-replay", "#!/bin/sh\nexit 1\n", cmd, sizeof cmd);
    ck_assert_int_eq(chmod(cmd, 0755), 0);
    harness_write(dir, "t.csv", "unused\n", NULL, 0);
    /* the report's folder: OUT/<cksum of the replay binary> */
    snprintf(cmd, sizeof cmd, "cksum <%s/build/vgpu-replay", dir);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(sub, sizeof sub, "%s/out/%lu", dir, strtoul(out, NULL, 10));
    snprintf(cmd, sizeof cmd, "mkdir -p %s", sub);
    ck_assert_int_eq(run(cmd), 0);
    snprintf(text, sizeof text, PAPER_HEADER "\nt,fgd,1,80,90,%.3f,97,97\n", eval_rows[_i].fgd);
    harness_write(sub, "t.fgd.0", text, NULL, 0);
    snprintf(text, sizeof text, PAPER_HEADER "\nt,fragment-aware,1,80,90,%.3f,97,97\n",
             eval_rows[_i].fa);
    harness_write(sub, "t.trace.0", text, NULL, 0);
    harness_write(sub, "t.floor.0", PAPER_HEADER "\nt,share-floor,1,80,90,97.5,97,96\n", NULL, 0);
    snprintf(cmd, sizeof cmd,
             "%s/bench/fragment-eval.sh --report --seeds 1 --build %s/build --data %s/data "
             "--out %s/out --variants 'fgd trace floor' %s/t.csv 2>&1; rc=$?; rm -rf %s; exit $rc",
             harness_env("VS_SOURCE"), dir, dir, dir, dir, dir);
    int rc = run(cmd);
    ck_assert_msg(rc == 0, "%d: %s", rc, out);
    ck_assert_msg(strstr(out, eval_rows[_i].want) != NULL, "want %s in %s", eval_rows[_i].want,
                  out);
    /* the share floor: a row of its own, not judged */
    ck_assert_ptr_nonnull(strstr(out, "| t | share floor (`--share-floor`; read at 80-100 %) | "
                                      "80.00 | 90.00 | 97.50 | 97.00 | 96.00 |"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bench-programs");
    TCase *tc = tcase_create("smoke");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, replay_output_parses, 0, sizeof replay_args / sizeof replay_args[0]);
    tcase_add_test(tc, replay_bound_holds);
    tcase_add_test(tc, replay_share_floor_above_packing);
    tcase_add_loop_test(tc, replay_dump_adds_up, 0, 3);
    tcase_add_loop_test(tc, replay_dump_failed_fit_none, 0,
                        sizeof dump_fail_rows / sizeof dump_fail_rows[0]);
    tcase_add_test(tc, replay_dump_many_models);
    tcase_add_test(tc, replay_packing_parses);
    tcase_add_test(tc, replay_bad_input);
    tcase_add_test(tc, replay_restart_from_its_point);
    tcase_add_test(tc, replay_workload_out_and_in);
    tcase_add_test(tc, replay_vendors_one_pool);
    tcase_add_loop_test(tc, replay_bad_rows, 0, sizeof bad_rows / sizeof bad_rows[0]);
    tcase_add_test(tc, start_bench_output_parses);
    tcase_add_loop_test(tc, fragment_eval_judges_unrounded, 0,
                        sizeof eval_rows / sizeof eval_rows[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

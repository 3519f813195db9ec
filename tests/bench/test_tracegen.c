/* vgpu-tracegen: the mix it writes is the mix asked for (counted here, from
 * its output, independently of the program), the same seed gives the same
 * bytes, and bad input is refused with a reason. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/harness.h"

#define CPU_UNIT 17.5 /* --cpu 100: CPU-only tasks ask 17.5 % of the CPU requested */

static char out[1 << 20];

/* Run a command line; its output lands in out (harness_shell). */
static int run(const char *cmd)
{
    return harness_shell(cmd, out, sizeof out);
}

/* vgpu-tracegen on the tiny trace with args; its CSV lands in out. */
static int gen(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-tracegen --pods %s/replay/pods.csv --nodes %s/replay/nodes.csv %s "
             "2>/dev/null",
             harness_env("VS_BUILD"), harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"),
             args);
    return run(cmd);
}

struct mix {
    double share, multi, gpu, cpu_only, cpu_all, max_share, max_multi, max_cpu;
    int tasks, gpu_tasks, constrained;
};

/* Count the mix of the CSV in out, checking each row has the 11 columns. */
static void count(struct mix *m)
{
    memset(m, 0, sizeof *m);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    ck_assert_str_eq(line, "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
                           "creation_time,deletion_time,scheduled_time");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char name[64], spec[128] = "";
        double cpu, mem;
        int num, milli, commas = 0;
        for (const char *p = line; *p; p++)
            commas += *p == ',';
        ck_assert_int_eq(commas, 10);
        ck_assert_int_eq(sscanf(line, "%63[^,],%lf,%lf,%d,%d,%127[^,]", name, &cpu, &mem, &num,
                                &milli, spec) >= 5,
                         1);
        m->tasks++;
        m->cpu_all += cpu;
        if (num == 0) {
            m->cpu_only += cpu;
            m->max_cpu = fmax(m->max_cpu, cpu);
            continue;
        }
        double d = num > 1 ? num * 1000.0 : milli;
        m->gpu_tasks++;
        m->gpu += d;
        if (num == 1 && milli < 1000) {
            m->share += d;
            m->max_share = fmax(m->max_share, d);
        }
        if (num > 1) {
            m->multi += d;
            m->max_multi = fmax(m->max_multi, d);
        }
        /* the spec field: the 6th; empty when the 5th comma is followed by one */
        const char *p = line;
        for (int c = 0; c < 5; c++)
            p = strchr(p, ',') + 1;
        m->constrained += *p != ',';
    }
}

static const struct {
    const char *args;
    double sharing, multi, constrained, cpu; /* < 0: not asked */
} mixes[] = {
    {"--sharing 60", 60, -1, -1, -1},
    {"--sharing 100", 100, -1, -1, -1},
    {"--sharing 10", 10, -1, -1, -1}, /* lower than the base's */
    {"--multi 70", -1, 70, -1, -1},
    {"--multi 20", -1, 20, -1, -1},
    {"--constrained 33", -1, -1, 33, -1},
    {"--constrained 0", -1, -1, 0, -1},
    {"--cpu 250", -1, -1, -1, 250},
    {"--cpu 30", -1, -1, -1, 30},
    {"--sharing 50 --multi 30 --constrained 25 --cpu 200 --seed 7", 50, 30, 25, 200},
};

/* Each asked ratio is met to within one task of the kind moved. */
START_TEST(mix_is_what_was_asked)
{
    struct mix m;
    ck_assert_int_eq(gen(mixes[_i].args), 0);
    count(&m);
    ck_assert_int_gt(m.gpu_tasks, 0);
    double share = 100 * m.share / m.gpu, multi = 100 * m.multi / m.gpu;
    double task = 100 * 8000 / m.gpu; /* the largest task, as a share of the demand */
    if (mixes[_i].sharing >= 0)
        ck_assert_msg(fabs(share - mixes[_i].sharing) <= fmax(task, 0.5), "%s: sharing %.2f",
                      mixes[_i].args, share);
    if (mixes[_i].multi >= 0)
        ck_assert_msg(fabs(multi - mixes[_i].multi) <= task, "%s: multi %.2f", mixes[_i].args,
                      multi);
    if (mixes[_i].constrained >= 0) {
        double want = mixes[_i].constrained * m.gpu_tasks / 100.0;
        ck_assert_msg(fabs(m.constrained - want) <= 0.5, "%s: %d of %d constrained", mixes[_i].args,
                      m.constrained, m.gpu_tasks);
    }
    if (mixes[_i].cpu >= 0) {
        double got = 100 * m.cpu_only / m.cpu_all, want = mixes[_i].cpu / 100 * CPU_UNIT;
        ck_assert_msg(fabs(got - want) <= 100 * m.max_cpu / m.cpu_all, "%s: CPU-only %.2f %%",
                      mixes[_i].args, got);
    }
}
END_TEST

/* The same seed gives the same bytes; another seed another trace; no
 * option reproduces the base's mix (all its rows, renamed). */
START_TEST(seeded)
{
    static char a[1 << 20];
    const char *args = "--sharing 70 --constrained 20 --cpu 150";
    char buf[256];
    ck_assert_int_eq(gen(args), 0);
    memcpy(a, out, sizeof a);
    ck_assert_int_eq(gen(args), 0);
    ck_assert_str_eq(a, out);
    snprintf(buf, sizeof buf, "%s --seed 1", args);
    ck_assert_int_eq(gen(buf), 0);
    ck_assert_str_ne(a, out);
    ck_assert_int_eq(gen(""), 0);
    struct mix m;
    count(&m);
    ck_assert_int_eq(m.tasks, 300);
    ck_assert_int_eq(m.constrained, 27);
}
END_TEST

static const struct {
    const char *args, *says;
} bad[] = {
    {"--pods /nonexistent/pods.csv", "/nonexistent/pods.csv"},
    {"--pods @bad --cpu 100", "bad.csv:3: needs cpu_milli"},
    {"--pods @nohdr", "no column \"num_gpu\""},
    {"--pods @pods --sharing 60 --multi 50", "pass 100"},
    {"--pods @pods --sharing 101", "--sharing \"101\""},
    {"--pods @pods --cpu -5", "--cpu \"-5\""},
    {"--pods @pods --cpu 600", "--cpu \"600\""},
    {"--pods @pods --multi x", "--multi \"x\""},
    {"--pods @pods --constrained 20", "needs --nodes"},
    {"--pods @pods --constrained 100 --nodes @nodes --spec-from @nospec", "--constrained 100"},
    {"--pods @cpuonly --sharing 50", "--sharing 50.0"},
    {"--pods @pods --seed -1", "--seed"},
    {"--pods", "usage"},
    {"--pods @nul", "a NUL byte at offset 14"},
    /* the replay's row rules (trace_task_parse), not a copy of them */
    {"--pods @low", "low.csv:2: a 1-GPU task needs gpu_milli 10..1000, not 5"},
    {"--pods @pods --constrained 20 --nodes @nosn", "no column \"sn\""},
};

/* Bad input: exit status 2 and a line that names the problem. */
START_TEST(bad_input_refused)
{
    char dir[64], args[512], cmd[2048];
    snprintf(dir, sizeof dir, "/tmp/vs-tracegen-%d", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && cp %s/replay/pods.csv %s/replay/nodes.csv %s/ && "
             "printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\\na,1000,10,1,500\\n"
             "b,lots,10,0,0\\n' > %s/bad.csv && "
             "printf 'name,cpu_milli,memory_mib\\na,1,1\\n' > %s/nohdr.csv && "
             "printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\\na,1000,10,0,0\\n' "
             "> %s/cpuonly.csv && "
             "printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\\n"
             "a,1000,10,1,500,H100\\nb,1000,10,1,1000,H100\\nc,1000,10,8,1000,H100\\n' "
             "> %s/nospec.csv && printf 'name,cpu_milli\\000\\n' > %s/nul.csv && "
             "printf 'name,cpu_milli,memory_mib,num_gpu,gpu_milli\\na,1000,10,1,5\\n' > "
             "%s/low.csv && printf 'cpu_milli,memory_mib,gpu,model\\n8000,1,8,G2\\n' > "
             "%s/nosn.csv",
             dir, harness_env("VS_TEST_DATA"), harness_env("VS_TEST_DATA"), dir, dir, dir, dir, dir,
             dir, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* @name -> the file in dir */
    const char *in = bad[_i].args;
    size_t k = 0;
    for (const char *p = in; *p && k < sizeof args - 80; p++) {
        if (*p == '@') {
            const char *e = p + 1 + strcspn(p + 1, " ");
            k += (size_t)snprintf(args + k, sizeof args - k, "%s/%.*s.csv", dir, (int)(e - p - 1),
                                  p + 1);
            p = e - 1;
        } else {
            args[k++] = *p;
        }
    }
    args[k] = '\0';
    snprintf(cmd, sizeof cmd, "%s/vgpu-tracegen %s 2>&1 >/dev/null", harness_env("VS_BUILD"), args);
    ck_assert_int_eq(run(cmd), 2);
    ck_assert_msg(strstr(out, bad[_i].says) != NULL, "%s: said %s", args, out);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bench-tracegen");
    TCase *tc = tcase_create("tracegen");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, mix_is_what_was_asked, 0, sizeof mixes / sizeof mixes[0]);
    tcase_add_test(tc, seeded);
    tcase_add_loop_test(tc, bad_input_refused, 0, sizeof bad / sizeof bad[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

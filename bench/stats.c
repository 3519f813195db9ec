#include "bench/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

double stats_now_ms(void)
{
    return clock_mono_s() * 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_pct(double *v, int n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[(int)(p * (n - 1) + 0.5)];
}

void stats_rss(pid_t pid, double *peak, double *cur)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    *peak = *cur = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "VmHWM:", 6) == 0)
            *peak = atof(line + 6) / 1024;
        if (strncmp(line, "VmRSS:", 6) == 0)
            *cur = atof(line + 6) / 1024;
    }
    if (f)
        fclose(f);
}

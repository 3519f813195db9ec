/* stats: what the measurement programs print about a list of timings. */
#ifndef VS_BENCH_STATS_H
#define VS_BENCH_STATS_H

#include <sys/types.h>

/* Milliseconds on the monotonic clock (base/clock). */
double stats_now_ms(void);

/* The p-quantile (0..1) of v[0..n), nearest rank; 0 when n is 0. Sorts v
 * in place. */
double stats_pct(double *v, int n, double p);

/* VmHWM (peak) and VmRSS (now) of process pid, in MiB; 0 when unknown. */
void stats_rss(pid_t pid, double *peak, double *cur);

#endif

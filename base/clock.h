/* clock: seconds as doubles, and a sleep. The one place the project reads
 * the time (policy/ never does: callers pass `now` in). */
#ifndef VS_CLOCK_H
#define VS_CLOCK_H

/* Unix time in seconds (CLOCK_REALTIME): for annotations, expiry of
 * reservations, lock ages written by other processes. */
double clock_wall_s(void);
/* Seconds since an arbitrary start (CLOCK_MONOTONIC): for intervals. */
double clock_mono_s(void);
/* Sleep s seconds (nothing for s <= 0). */
void clock_sleep_s(double s);

#endif

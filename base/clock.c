#include "base/clock.h"

#include <time.h>

static double read_clock(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double clock_wall_s(void)
{
    return read_clock(CLOCK_REALTIME);
}

double clock_mono_s(void)
{
    return read_clock(CLOCK_MONOTONIC);
}

void clock_sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

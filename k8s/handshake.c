/* handshake.c: hami.io/node-handshake values and node health. */
#include "k8s/handshake.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* "YYYY-MM-DD HH:MM:SS" in local time (Go's time.DateTime, ParseInLocation
 * time.Local) into unix seconds; false when it is not that. */
static bool parse_local(const char *s, double *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!end || *end)
        return false;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return false;
    *out = (double)t;
    return true;
}

void handshake_check(const char *value, int64_t alloc_gpus, double now,
                     struct handshake_verdict *out)
{
    double t;
    memset(out, 0, sizeof *out);
    out->healthy = true;
    if (!value || !strstr(value, HANDSHAKE_REQUESTING)) {
        out->write = true; /* none, Reported, Deleted_, anything else */
        return;
    }
    const char *us = strchr(value, '_');
    if (!us || !parse_local(us + 1, &t))
        return; /* HAMi: a request without a readable time is healthy */
    if (now < t + HANDSHAKE_EXPIRY_S) {
        if (alloc_gpus <= 0)
            out->until = t + HANDSHAKE_EXPIRY_S;
        return;
    }
    out->healthy = alloc_gpus > 0;
}

void handshake_value(double now, char *buf, size_t cap)
{
    time_t t = (time_t)now;
    struct tm tm;
    char ts[32];
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, cap, "%s_%s", HANDSHAKE_REQUESTING, ts);
}

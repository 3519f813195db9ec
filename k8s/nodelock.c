/* nodelock.c: parse, format and judge hami.io/mutex.lock values. */
#include "k8s/nodelock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

/* n decimal digits at s into *v; false when any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* RFC 3339 as Go's time.Parse(time.RFC3339) reads it:
 * YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM), the whole of s[0..len). */
static int parse_time(const char *s, size_t len, double *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    size_t i = 19;
    double frac = 0, scale = 0.1;
    if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return ERR_INVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return ERR_INVAL;
    if (s[i] == '.') {
        size_t start = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (s[i] - '0') * scale;
        if (i == start || i - start > 9)
            return ERR_INVAL;
    }
    int sign = 0;
    if (i + 1 == len && s[i] == 'Z') {
        sign = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2, &oh) &&
               s[i + 3] == ':' && digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
        sign = s[i] == '+' ? 1 : -1;
    } else {
        return ERR_INVAL;
    }
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    *out = (double)t + frac - sign * (oh * 3600.0 + om * 60.0);
    return 0;
}

int nodelock_parse(const char *value, struct nodelock *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(value);
    if (len > NODELOCK_VALUE_MAX)
        return ERR_TOOBIG;
    const char *c1 = strchr(value, ',');
    if (!c1) {
        out->legacy = true;
        return parse_time(value, len, &out->time);
    }
    const char *c2 = strchr(c1 + 1, ',');
    if (!c2 || strchr(c2 + 1, ','))
        return ERR_INVAL; /* HAMi: exactly 3 parts */
    size_t nl = (size_t)(c2 - c1 - 1), ml = strlen(c2 + 1);
    if (nl >= sizeof out->ns || ml >= sizeof out->name)
        return ERR_INVAL;
    memcpy(out->ns, c1 + 1, nl);
    memcpy(out->name, c2 + 1, ml);
    return parse_time(value, (size_t)(c1 - value), &out->time);
}

int nodelock_format_time(double now, char *buf, size_t cap)
{
    time_t t = (time_t)now;
    struct tm tm;
    char ts[32];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(buf, cap, "%s", ts);
    return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : n;
}

int nodelock_format(double now, const char *ns, const char *name, char *buf, size_t cap)
{
    char ts[32];
    if (nodelock_format_time(now, ts, sizeof ts) < 0)
        return ERR_TOOBIG;
    int n = snprintf(buf, cap, "%s,%s,%s", ts, ns, name);
    return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : n;
}

enum nodelock_state nodelock_state(const char *value, const char *ns, const char *name, double now,
                                   double timeout, struct nodelock *parsed)
{
    struct nodelock l;
    if (!value || !*value)
        return NODELOCK_FREE;
    if (nodelock_parse(value, &l) != 0)
        return NODELOCK_MALFORMED;
    if (parsed)
        *parsed = l;
    if (now - l.time > timeout)
        return NODELOCK_EXPIRED;
    if (!l.legacy && strcmp(l.ns, ns) == 0 && strcmp(l.name, name) == 0)
        return NODELOCK_OURS;
    return NODELOCK_HELD;
}

bool nodelock_blocks(const char *value, const char *ns, const char *name, double now,
                     double timeout)
{
    return nodelock_state(value, ns, name, now, timeout, NULL) == NODELOCK_HELD;
}

const char *nodelock_state_name(enum nodelock_state s)
{
    static const char *const names[] = {"free", "ours", "held", "expired", "malformed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

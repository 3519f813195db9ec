/* strconv.c: Go's ParseBool and ParseInt. */
#include "base/strconv.h"

#include <string.h>

#include "base/err.h"

int strconv_bool(const char *s, size_t n, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == n && memcmp(yes[i], s, n) == 0) {
            *out = true;
            return 0;
        }
        if (strlen(no[i]) == n && memcmp(no[i], s, n) == 0) {
            *out = false;
            return 0;
        }
    }
    return ERR_INVAL;
}

int strconv_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return ERR_INVAL;
    int64_t v = 0;
    bool big = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ERR_INVAL;
        if (v > (INT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (big || v < lo || v > hi)
        return ERR_RANGE;
    *out = v;
    return 0;
}

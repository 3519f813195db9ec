/* quantity.c: Kubernetes quantities, exact, in integer arithmetic.
 *
 * A parsed quantity is sign * d * 10^e10 * 2^e2 with d the significant
 * digits (leading and trailing zeros stripped, at most 19 of them, so d fits
 * a uint64). Scaling it to an integer unit is one 128-bit division. */
#include "k8s/quantity.h"

#include <string.h>

#include "base/err.h"

#define SIG_DIGITS_MAX 19
#define EXP_SATURATE   1000000000LL /* exponents past this are all "huge" */

__extension__ typedef unsigned __int128 u128;

struct qty {
    bool neg;
    bool too_many_digits;
    uint64_t d;
    int64_t e10;
    int e2;
};

struct suffix {
    const char *s;
    int e10, e2;
};

static const struct suffix suffixes[] = {
    {"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},  {"k", 3, 0},   {"M", 6, 0},
    {"G", 9, 0},   {"T", 12, 0},  {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
    {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
};

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t v = a + b; /* both operands are bounded by 2*EXP_SATURATE */
    if (v > EXP_SATURATE)
        return EXP_SATURATE;
    if (v < -EXP_SATURATE)
        return -EXP_SATURATE;
    return v;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The suffix at p: one of the table, or e/E with a signed integer. */
static int parse_suffix(const char *p, struct qty *q)
{
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(p, suffixes[i].s) == 0) {
            q->e10 = sat_add(q->e10, suffixes[i].e10);
            q->e2 = suffixes[i].e2;
            return 0;
        }
    }
    if (*p != 'e' && *p != 'E')
        return ERR_INVAL;
    p++;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    if (!is_digit(*p))
        return ERR_INVAL;
    int64_t x = 0;
    for (; is_digit(*p); p++)
        if (x < EXP_SATURATE)
            x = x * 10 + (*p - '0');
    if (*p)
        return ERR_INVAL;
    q->e10 = sat_add(q->e10, neg ? -x : x);
    return 0;
}

static int parse(const char *s, struct qty *q)
{
    memset(q, 0, sizeof *q);
    if (!s)
        return ERR_INVAL;
    const char *p = s;
    if (*p == '+' || *p == '-')
        q->neg = *p++ == '-';

    int ndig = 0, nsig = 0;
    int64_t zeros = 0; /* zeros seen since the last non-zero significant digit */
    bool frac = false;
    for (;; p++) {
        if (*p == '.' && !frac) {
            frac = true;
            continue;
        }
        if (!is_digit(*p))
            break;
        ndig++;
        if (frac)
            q->e10 = sat_add(q->e10, -1);
        if (*p == '0') {
            if (nsig > 0 && zeros < EXP_SATURATE)
                zeros++;
            continue;
        }
        /* a non-zero digit: the pending zeros become significant */
        if (nsig + zeros + 1 > SIG_DIGITS_MAX) {
            q->too_many_digits = true;
            continue;
        }
        for (int64_t i = 0; i < zeros; i++)
            q->d *= 10;
        q->d = q->d * 10 + (uint64_t)(*p - '0');
        nsig += (int)zeros + 1;
        zeros = 0;
    }
    if (ndig == 0)
        return ERR_INVAL;
    q->e10 = sat_add(q->e10, zeros); /* trailing zeros move into the exponent */
    int rc = parse_suffix(p, q);
    if (rc)
        return rc;
    return q->too_many_digits ? ERR_RANGE : 0;
}

static u128 pow10_u128(int k)
{
    u128 v = 1;
    while (k-- > 0)
        v *= 10;
    return v;
}

/* out = q * 10^pow10 * 2^pow2 rounded up (toward +inf) or down; *exact says
 * whether no rounding happened. pow2 is in -20..0. */
static int scale(const struct qty *q, int pow10, int pow2, bool up, int64_t *out, bool *exact)
{
    const u128 two63 = (u128)1 << 63;
    int64_t e = sat_add(q->e10, pow10);
    int s = q->e2 + pow2; /* -20..60 */
    u128 num = q->d, den = 1;

    *exact = true;
    if (q->d == 0) {
        *out = 0;
        return 0;
    }
    if (e > 0) {
        /* den stays <= 2^20 below, so a numerator past 2^84 overflows */
        if (e > 25 || num > (((u128)1 << 84) / pow10_u128((int)e)))
            return ERR_RANGE;
        num *= pow10_u128((int)e);
    } else if (e < 0) {
        /* num < 2^124 (shifted) or < 2^64 (not shifted); past these the
         * value is below 1 */
        int64_t kmax = s > 0 ? 38 : 20;
        if (-e > kmax) {
            num = 0;
            den = 1;
            *exact = false;
            goto round;
        }
        den = pow10_u128((int)-e);
    }
    if (s > 0) {
        if (den == 1 && num > (two63 >> s))
            return ERR_RANGE;
        num <<= s;
    } else if (s < 0) {
        den <<= -s;
    }

round:;
    u128 quot = num / den;
    if (num % den)
        *exact = false;
    if (!q->neg) {
        if (!*exact && up)
            quot++;
        if (quot >= two63)
            return ERR_RANGE;
        *out = (int64_t)quot;
    } else {
        if (!*exact && !up)
            quot++;
        if (quot > two63)
            return ERR_RANGE;
        *out = quot == two63 ? INT64_MIN : -(int64_t)quot;
    }
    return 0;
}

int quantity_milli(const char *s, int64_t *milli)
{
    struct qty q;
    bool exact;
    int rc = parse(s, &q);
    if (rc)
        return rc;
    return scale(&q, 3, 0, true, milli, &exact);
}

int quantity_int(const char *s, int64_t *v)
{
    struct qty q;
    bool exact;
    int64_t x;
    int rc = parse(s, &q);
    if (!rc)
        rc = scale(&q, 0, 0, false, &x, &exact);
    if (rc)
        return rc;
    if (!exact)
        return ERR_INVAL;
    *v = x;
    return 0;
}

int quantity_mib(const char *s, bool round_up, int64_t *mib)
{
    struct qty q;
    bool exact;
    int rc = parse(s, &q);
    if (rc)
        return rc;
    return scale(&q, 0, -20, round_up, mib, &exact);
}

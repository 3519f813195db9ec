/* The node lock value (parse, format, what a binder does with it) and the
 * node handshake (health, when to write), as tables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "k8s/handshake.h"
#include "k8s/nodelock.h"
#include "tests/support/harness.h"

/* 2026-01-02T03:04:05Z */
#define T0 1767323045.0

static const struct {
    const char *value;
    int rc;
    double time;
    const char *ns, *name;
    bool legacy;
} parse_cases[] = {
    {"2026-01-02T03:04:05Z,default,p1", 0, T0, "default", "p1", false},
    {"2026-01-02T03:04:05Z", 0, T0, "", "", true},
    {"2026-01-02T03:04:05.5Z,ns,pod", 0, T0 + 0.5, "ns", "pod", false},
    {"2026-01-02T11:04:05+08:00,a,b", 0, T0, "a", "b", false},
    {"2026-01-01T22:04:05-05:00,a,b", 0, T0, "a", "b", false},
    {"2026-01-02T03:04:05Z,a", ERR_INVAL, 0, "", "", false},     /* 2 parts */
    {"2026-01-02T03:04:05Z,a,b,c", ERR_INVAL, 0, "", "", false}, /* 4 parts */
    {"2026-01-02 03:04:05,a,b", ERR_INVAL, 0, "", "", false},    /* not RFC 3339 */
    {"2026-13-02T03:04:05Z,a,b", ERR_INVAL, 0, "", "", false},   /* month 13 */
    {"2026-01-02T03:04:05,a,b", ERR_INVAL, 0, "", "", false},    /* no zone */
    {"2026-01-02T03:04:05Zjunk", ERR_INVAL, 0, "", "", false},
    {"2026-01-02T03:04:05+8:00", ERR_INVAL, 0, "", "", false},
    {"2026-01-02T03:04:05.Z", ERR_INVAL, 0, "", "", false},
    {"", ERR_INVAL, 0, "", "", false},
    {"garbage", ERR_INVAL, 0, "", "", false},
};

START_TEST(test_parse)
{
    struct nodelock l;
    int rc = nodelock_parse(parse_cases[_i].value, &l);
    ck_assert_msg(rc == parse_cases[_i].rc, "case %d \"%s\": rc %d", _i, parse_cases[_i].value, rc);
    if (rc)
        return;
    ck_assert_msg(l.time == parse_cases[_i].time, "case %d: time %f", _i, l.time);
    ck_assert_str_eq(l.ns, parse_cases[_i].ns);
    ck_assert_str_eq(l.name, parse_cases[_i].name);
    ck_assert_int_eq(l.legacy, parse_cases[_i].legacy);
}
END_TEST

START_TEST(test_format)
{
    char buf[NODELOCK_VALUE_MAX + 1], small[20];
    ck_assert_int_gt(nodelock_format(T0 + 0.9, "default", "p1", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "2026-01-02T03:04:05Z,default,p1");
    ck_assert_int_eq(nodelock_format(T0, "default", "p1", small, sizeof small), ERR_TOOBIG);
    /* Round trip. */
    struct nodelock l;
    ck_assert_int_eq(nodelock_parse(buf, &l), 0);
    ck_assert(l.time == T0);
    /* Over the value limit. */
    char big[NODELOCK_VALUE_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(nodelock_parse(big, &l), ERR_TOOBIG);
    /* The bare time (Cambricon's cambricon.com/dsmlu.lock): parses back as
     * the ownerless legacy form; another zone's offset is the same time. */
    ck_assert_int_eq(nodelock_format_time(T0 + 0.9, buf, sizeof buf), 20);
    ck_assert_str_eq(buf, "2026-01-02T03:04:05Z");
    ck_assert_int_eq(nodelock_format_time(T0, small, 20), ERR_TOOBIG);
    ck_assert_int_eq(nodelock_parse(buf, &l), 0);
    ck_assert(l.legacy && l.time == T0);
    ck_assert_int_eq(nodelock_parse("2026-01-02T11:04:05+08:00", &l), 0);
    ck_assert(l.legacy && l.time == T0);
}
END_TEST

static const struct {
    const char *value;
    double now;
    enum nodelock_state want;
    bool blocks; /* filter passes the node over */
} state_cases[] = {
    {NULL, T0, NODELOCK_FREE, false},
    {"", T0, NODELOCK_FREE, false},
    {"2026-01-02T03:04:05Z,default,me", T0 + 10, NODELOCK_OURS, false},
    {"2026-01-02T03:04:05Z,default,other", T0 + 10, NODELOCK_HELD, true},
    {"2026-01-02T03:04:05Z,other-ns,me", T0 + 10, NODELOCK_HELD, true},
    {"2026-01-02T03:04:05Z,default,other", T0 + 300, NODELOCK_HELD, true}, /* = timeout */
    {"2026-01-02T03:04:05Z,default,other", T0 + 301, NODELOCK_EXPIRED, false},
    {"2026-01-02T03:04:05Z,default,me", T0 + 301, NODELOCK_EXPIRED, false},
    {"2026-01-02T03:04:05Z", T0 + 10, NODELOCK_HELD, true}, /* legacy: no owner */
    {"2026-01-02T03:04:05Z", T0 + 400, NODELOCK_EXPIRED, false},
    {"2026-01-02T03:04:05Z,default,other", T0 - 60, NODELOCK_HELD, true}, /* clock skew */
    {"nonsense", T0, NODELOCK_MALFORMED, false},
    {"2026-01-02T03:04:05Z,a,b,c", T0, NODELOCK_MALFORMED, false},
};

START_TEST(test_state)
{
    enum nodelock_state s =
        nodelock_state(state_cases[_i].value, "default", "me", state_cases[_i].now, 300, NULL);
    ck_assert_msg(s == state_cases[_i].want, "case %d: %s, want %s", _i, nodelock_state_name(s),
                  nodelock_state_name(state_cases[_i].want));
    ck_assert_int_eq(
        nodelock_blocks(state_cases[_i].value, "default", "me", state_cases[_i].now, 300),
        state_cases[_i].blocks);
}
END_TEST

/* ---- handshake ---- */

/* Requesting_<local time of t> */
static void requesting(double t, char *buf, size_t cap)
{
    handshake_value(t, buf, cap);
}

enum when { NONE, FRESH, STALE, LITERAL };

static const struct {
    enum when when;
    const char *value; /* LITERAL */
    long long alloc;
    bool healthy, write, until;
} shake_cases[] = {
    {NONE, NULL, 8, true, true, false}, /* none yet: request */
    {NONE, NULL, 0, true, true, false}, /* HAMi: healthy while asking */
    {LITERAL, "Reported 2024-01-02 00:00:00", 0, true, true, false}, /* old plugins */
    {LITERAL, "Deleted_2024-01-02 00:00:00", 8, true, true, false},  /* fix: never blocks */
    {LITERAL, "Deleted_2024-01-02 00:00:00", 0, true, true, false},
    {FRESH, NULL, 8, true, false, false},
    {FRESH, NULL, 0, true, false, true},  /* healthy now, changes at expiry */
    {STALE, NULL, 8, true, false, false}, /* the plugin is alive: allocatable */
    {STALE, NULL, 0, false, false, false},
    {LITERAL, "Requesting_2024-01-02 00:00:00", 0, false, false, false},
    {LITERAL, "Requesting_2024-01-02 00:00:00", 4, true, false, false},
    {LITERAL, "Requesting", 0, true, false, false}, /* no time: as HAMi */
    {LITERAL, "Requesting_not-a-time", 0, true, false, false},
    {LITERAL, "Requesting_2128-12-02 00:00:00", 0, true, false, true}, /* future */
    {LITERAL, "", 0, true, true, false},
};

START_TEST(test_handshake)
{
    char v[64];
    double now = (double)time(NULL);
    const char *value = shake_cases[_i].value;
    if (shake_cases[_i].when == FRESH) {
        requesting(now - 10, v, sizeof v);
        value = v;
    } else if (shake_cases[_i].when == STALE) {
        requesting(now - 61, v, sizeof v);
        value = v;
    }
    struct handshake_verdict hv;
    handshake_check(value, shake_cases[_i].alloc, now, &hv);
    ck_assert_msg(hv.healthy == shake_cases[_i].healthy, "case %d (%s): healthy %d", _i,
                  value ? value : "(none)", hv.healthy);
    ck_assert_msg(hv.write == shake_cases[_i].write, "case %d: write %d", _i, hv.write);
    ck_assert_msg((hv.until > 0) == shake_cases[_i].until, "case %d: until %f", _i, hv.until);
    if (shake_cases[_i].when == FRESH && hv.until > 0)
        ck_assert(hv.until > now && hv.until <= now + 51);
}
END_TEST

START_TEST(test_handshake_value)
{
    char v[64];
    handshake_value(0, v, sizeof v);
    ck_assert(strncmp(v, "Requesting_", 11) == 0);
    ck_assert_int_eq(strlen(v), strlen("Requesting_2026-01-02 03:04:05"));
    /* What we write reads back as fresh. */
    double now = (double)time(NULL);
    handshake_value(now, v, sizeof v);
    struct handshake_verdict hv;
    handshake_check(v, 0, now + 1, &hv);
    ck_assert(hv.healthy && !hv.write && hv.until > now);
    handshake_check(v, 0, now + 61, &hv);
    ck_assert(!hv.healthy);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nodelock");
    TCase *tc = tcase_create("nodelock");
    tcase_add_loop_test(tc, test_parse, 0, sizeof parse_cases / sizeof parse_cases[0]);
    tcase_add_test(tc, test_format);
    tcase_add_loop_test(tc, test_state, 0, sizeof state_cases / sizeof state_cases[0]);
    tcase_add_loop_test(tc, test_handshake, 0, sizeof shake_cases / sizeof shake_cases[0]);
    tcase_add_test(tc, test_handshake_value);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

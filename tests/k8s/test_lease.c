/* k8s/lease.h: the rule that decides whether a replica leads, on Lease
 * objects as kube-scheduler writes them and on broken ones. */
#include <check.h>
#include <string.h>

#include "k8s/lease.h"
#include "tests/support/harness.h"

#define RENEW   "2026-12-04T14:40:22.123456Z"
#define RENEW_S 1796395222.123456 /* RENEW as unix seconds */

struct lease_case {
    const char *json, *identity;
    enum lease_verdict want;
    const char *holder;
    double expires; /* 0: not checked */
};

static const struct lease_case cases[] = {
    /* kube-scheduler's holder: <hostname>_<uuid> */
    {"{\"spec\":{\"holderIdentity\":\"vs-a_0f4e\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_OURS, "vs-a_0f4e", RENEW_S + 15},
    {"{\"spec\":{\"holderIdentity\":\"vs-a\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_OURS, "vs-a", RENEW_S + 15},
    /* a prefix that is not followed by _ is another host */
    {"{\"spec\":{\"holderIdentity\":\"vs-ab_0f4e\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_OTHER, "vs-ab_0f4e", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-b_77\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_OTHER, "vs-b_77", 0},
    /* released (kube-scheduler's ReleaseOnCancel empties the holder) */
    {"{\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_OTHER, "", 0},
    {"{\"spec\":{\"leaseDurationSeconds\":15}}", "vs-a", LEASE_OTHER, "", 0},
    {"{\"spec\":{\"holderIdentity\":null}}", "vs-a", LEASE_OTHER, "", 0},
    /* an empty identity names nobody */
    {"{\"spec\":{\"holderIdentity\":\"_x\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "", LEASE_OTHER, "_x", 0},
    /* malformed: never a leader */
    {"", "vs-a", LEASE_MALFORMED, "", 0},
    {"not json", "vs-a", LEASE_MALFORMED, "", 0},
    {"[]", "vs-a", LEASE_MALFORMED, "", 0},
    {"{}", "vs-a", LEASE_MALFORMED, "", 0},
    {"{\"spec\":\"x\"}", "vs-a", LEASE_MALFORMED, "", 0},
    {"{\"spec\":{\"holderIdentity\":7,\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_MALFORMED, "", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":15}}", "vs-a",
     LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"renewTime\":\"" RENEW "\"}}", "vs-a",
     LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":\"15\","
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":0,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":-5,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":1e300,"
     "\"renewTime\":\"" RENEW "\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"yesterday\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
    {"{\"spec\":{\"holderIdentity\":\"vs-a_1\",\"leaseDurationSeconds\":15,"
     "\"renewTime\":\"2026-12-04T14:40:22Z,default,p\"}}",
     "vs-a", LEASE_MALFORMED, "vs-a_1", 0},
};

START_TEST(test_decide)
{
    const struct lease_case *c = &cases[_i];
    char holder[LEASE_HOLDER_MAX];
    double expires = -1, duration = -1;
    enum lease_verdict v = lease_decide(c->json, strlen(c->json), c->identity, holder,
                                        sizeof holder, &expires, &duration);
    ck_assert_msg(v == c->want, "case %d: %d, want %d", _i, v, c->want);
    ck_assert_str_eq(holder, c->holder);
    if (c->expires > 0)
        ck_assert_double_eq_tol(expires, c->expires, 1e-3);
    if (v == LEASE_MALFORMED)
        ck_assert(expires == 0 && duration == 0);
}
END_TEST

START_TEST(test_margin)
{
    ck_assert_double_eq(lease_margin(15), LEASE_MARGIN_S);
    ck_assert_double_eq(lease_margin(5), 1.0);
    ck_assert_double_eq(lease_margin(1), 0.2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("lease");
    tcase_add_loop_test(tc, test_decide, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_margin);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

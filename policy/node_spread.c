/* node_spread.c: HAMi's spread node policy: the emptiest node wins. Same
 * score as binpack, lowest first. */
#include "policy/policy.h"

static int priority(double s)
{
    int p = 10 - (int)(s / 3.0 + 0.5);
    return p < 0 ? 0 : p > 10 ? 10 : p;
}

const struct policy_node_policy policy_spread = {
    .name = "spread",
    .prefer_low = true,
    .score = policy_score_before,
    .priority = priority,
};

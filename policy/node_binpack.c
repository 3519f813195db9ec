/* node_binpack.c: HAMi's binpack node policy: the fullest node wins. The
 * score is HAMi's node score on the usage before this pod (0..30). */
#include "policy/policy.h"

static int priority(double s)
{
    int p = (int)(s / 3.0 + 0.5);
    return p < 0 ? 0 : p > 10 ? 10 : p;
}

const struct policy_node_policy policy_binpack = {
    .name = "binpack",
    .prefer_low = false,
    .score = policy_score_before,
    .priority_cards = true,
    .priority = priority,
};

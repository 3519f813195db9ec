/* node_spread.c: HAMi's spread node policy: the emptiest node wins. Same
 * score as binpack, lowest first. */
#include "policy.h"

static double score(const struct policy_node *node, const struct policy_placement *pl,
                    const struct policy_pod *pod, const struct policy_opts *opts)
{
    (void)pl;
    (void)pod;
    (void)opts;
    return policy_node_usage_score(node, node->use);
}

static int priority(double s)
{
    int p = 10 - (int)(s / 3.0 + 0.5);
    return p < 0 ? 0 : p > 10 ? 10 : p;
}

const struct policy_node_policy policy_spread = {
    .name = "spread",
    .prefer_low = true,
    .score = score,
    .priority = priority,
};

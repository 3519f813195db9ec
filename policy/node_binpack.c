/* node_binpack.c: HAMi's binpack node policy: the fullest node wins. The
 * score is HAMi's node score on the usage before this pod (0..30). */
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
    int p = (int)(s / 3.0 + 0.5);
    return p < 0 ? 0 : p > 10 ? 10 : p;
}

const struct policy_node_policy policy_binpack = {
    .name = "binpack",
    .prefer_low = false,
    .score = score,
    .priority = priority,
};

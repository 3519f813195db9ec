/* The upper bound of vgpu-replay --bound: the LP solver against optima
 * worked out by hand and against random feasible points, and the bound on
 * small clusters whose best placement is known. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "bench/bound.h"
#include "bench/lp.h"
#include "tests/support/harness.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-6)

/* maximise c.x, A x <= b, 0 <= x <= u; two variables, optimum by hand. */
static const struct {
    double a[4], b[2], c[2], u[2], best;
} lps[] = {
    {{1, 1, 1, 3}, {4, 6}, {3, 2}, {3, 10}, 11},     /* x=3 (its bound), y=1 */
    {{1, 1, 1, 3}, {4, 6}, {1, 1}, {10, 10}, 4},     /* degenerate: a whole edge */
    {{2, 1, 1, 2}, {0, 5}, {1, 1}, {10, 10}, 0},     /* b = 0 pins x = 0 */
    {{1, 0, 0, 1}, {10, 10}, {1, -1}, {2, 5}, 2},    /* a cost below 0 stays at 0 */
    {{1, 2, 3, 1}, {14, 12}, {2, 3}, {100, 100}, 22} /* vertex x=2, y=6 */
};

START_TEST(lp_hand_optima)
{
    struct lp p = {2, 2, lps[_i].a, lps[_i].b, lps[_i].c, lps[_i].u};
    double y[2], x[2];
    double v = lp_solve(&p, y, x, 1000);
    ck_assert_msg(NEAR(v, lps[_i].best), "case %d: %g, want %g", _i, v, lps[_i].best);
    ck_assert(y[0] >= 0 && y[1] >= 0);
    /* The point reached: within its bounds and the rows, worth the optimum. */
    ck_assert(NEAR(lps[_i].c[0] * x[0] + lps[_i].c[1] * x[1], v));
    for (int j = 0; j < 2; j++)
        ck_assert(x[j] >= 0 && x[j] <= lps[_i].u[j] + 1e-9);
    for (int r = 0; r < 2; r++)
        ck_assert(lps[_i].a[2 * r] * x[0] + lps[_i].a[2 * r + 1] * x[1] <= lps[_i].b[r] + 1e-9);
    /* At the optimum the certificate is tight. */
    ck_assert_msg(NEAR(lp_dual_bound(&p, y), lps[_i].best), "bound %g", lp_dual_bound(&p, y));
}
END_TEST

START_TEST(lp_bad_input)
{
    double a[1] = {1}, b[1] = {-1}, c[1] = {1}, u[1] = {1}, y[1];
    struct lp p = {1, 1, a, b, c, u};
    ck_assert(lp_solve(&p, y, NULL, 10) < 0); /* b < 0: x = 0 not feasible */
    p.rows = 0;
    ck_assert(lp_solve(&p, y, NULL, 10) < 0);
}
END_TEST

/* Random small problems: no random feasible point beats the bound, and the
 * bound equals the value the simplex reached (it solved them). */
START_TEST(lp_random_problems)
{
    unsigned seed = 7;
    for (int t = 0; t < 200; t++) {
        int m = 1 + rand_r(&seed) % 5, n = 1 + rand_r(&seed) % 6;
        double a[30], b[5], c[6], u[6], y[5], x[6];
        for (int i = 0; i < m * n; i++)
            a[i] = (rand_r(&seed) % 5) * 0.5;
        for (int i = 0; i < m; i++)
            b[i] = rand_r(&seed) % 10;
        for (int j = 0; j < n; j++) {
            c[j] = rand_r(&seed) % 7 - 1;
            u[j] = rand_r(&seed) % 5;
        }
        struct lp p = {m, n, a, b, c, u};
        double v = lp_solve(&p, y, NULL, 1000), bound = lp_dual_bound(&p, y);
        ck_assert_msg(NEAR(v, bound), "problem %d: solved %g, certified %g", t, v, bound);
        for (int s = 0; s < 2000; s++) {
            double val = 0;
            int ok = 1;
            for (int j = 0; j < n; j++) {
                x[j] = u[j] * rand_r(&seed) / RAND_MAX;
                val += c[j] * x[j];
            }
            for (int i = 0; i < m && ok; i++) {
                double lhs = 0;
                for (int j = 0; j < n; j++)
                    lhs += a[i * n + j] * x[j];
                ok = lhs <= b[i];
            }
            ck_assert_msg(!ok || val <= bound + 1e-9, "problem %d: %g above %g", t, val, bound);
        }
    }
}
END_TEST

/* Small clusters; the relaxation's value worked out by hand (milli-GPU),
 * and where it is above the best placement, that one too. */
static const struct bound_node g2[] = {{"G2", 96000, 393216, 8}};
static const struct bound_node mixed[] = {{"T4", 104000, 524288, 2}, {"G2", 96000, 393216, 8}};
static const struct bound_node p100[] = {{"P100", 16000, 122880, 2}, {"P100", 16000, 122880, 2}};

static const struct {
    const char *why;
    const struct bound_node *nodes;
    int nnodes;
    struct bound_task tasks[3];
    int ntasks;
    double best;
} cases[] = {
    {"everything fits", g2, 1, {{1000, 1000, 1, 500, "", 4}, {1000, 1000, 2, 0, "", 3}}, 2, 8000},
    /* 0.6 + 0.6 > 1: each needs its own GPU, 10 asked, 8 GPUs */
    {"two 0.6 shares never share", g2, 1, {{1000, 1000, 1, 600, "", 10}}, 1, 4800},
    /* 0.81 leaves 0.19 that only 0.1 can use. Best placement 7,460
     * (6 x {0.81, 0.1}, 2 x {0.3, 0.3, 0.3, 0.1}); the relaxation: all 0.1
     * and 0.3, and 0.81 up to U_0.2 (0.81 counts 1, 0.3 counts 0.3): 5.6 */
    {"slivers only small shares fill",
     g2,
     1,
     {{1000, 1000, 1, 810, "", 8}, {1000, 1000, 1, 300, "", 8}, {1000, 1000, 1, 100, "", 8}},
     3,
     7736},
    {"too much CPU for any node", g2, 1, {{120000, 1000, 8, 0, "", 1}}, 1, 0},
    /* whole T4 tasks only on the T4 node's 2 GPUs */
    {"models", mixed, 2, {{1000, 1000, 1, 1000, "T4", 5}, {1000, 1000, 1, 1000, "", 1}}, 2, 3000},
    {"model list", mixed, 2, {{1000, 1000, 1, 1000, "A10,t4", 3}}, 1, 2000},
    /* 16 cores per node, 11 per task: CPU allows 32/11 = 2.9 tasks in
     * total (the relaxation does not see that 2 is the truth) */
    {"CPU in total", p100, 2, {{11000, 1000, 1, 1000, "", 4}}, 1, 32000.0 / 11},
    {"no GPU tasks", g2, 1, {{1000, 1000, 0, 0, "", 5}}, 1, 0},
};

START_TEST(bound_small_clusters)
{
    double b =
        bound_allocation(cases[_i].nodes, cases[_i].nnodes, cases[_i].tasks, cases[_i].ntasks);
    ck_assert_msg(NEAR(b, cases[_i].best), "%s: %g, want %g", cases[_i].why, b, cases[_i].best);
}
END_TEST

/* What a best-fit-decreasing packing of the shares leaves (milli-GPU), and
 * the fewest cards any packing of them takes, worked out by hand. */
static const struct {
    const char *why;
    struct bound_task tasks[4];
    int ntasks;
    double waste, cards;
} packings[] = {
    {"an 0.81 share and an 0.19 one fill a card",
     {{0, 0, 1, 810, "", 1}, {0, 0, 1, 190, "", 1}},
     2,
     0,
     1},
    {"each 0.81 share leaves 0.19", {{0, 0, 1, 810, "", 3}}, 1, 570, 3},
    {"two 0.47 shares leave 0.06", {{0, 0, 1, 470, "", 2}}, 1, 60, 1},
    {"three 0.32 shares leave 0.04", {{0, 0, 1, 320, "", 3}}, 1, 40, 1},
    /* the 0.16 joins one 0.81 share (best fit), the other keeps its 0.19 */
    {"a small share fills one sliver", {{0, 0, 1, 810, "", 2}, {0, 0, 1, 160, "", 1}}, 2, 220, 2},
    /* 0.7 opens a card (0.3 left), 0.6 another (0.4 left); 0.4 takes the
     * 0.4 (the least room that holds it), 0.3 the 0.3 */
    {"best fit, largest first",
     {{0, 0, 1, 300, "", 1}, {0, 0, 1, 400, "", 1}, {0, 0, 1, 600, "", 1}, {0, 0, 1, 700, "", 1}},
     4,
     0,
     2},
    /* 0.55 x 2: rooms 0.45, 0.45; the second 0.2 goes where the first
     * left 0.25 (the least room that holds it): 0.45, 0.05; then the 0.15
     * shares fill the 0.45. Filling both rooms to 0.25 instead would have
     * opened a card for the third 0.15. */
    {"one at a time while a card could take another",
     {{0, 0, 1, 550, "", 2}, {0, 0, 1, 200, "", 2}, {0, 0, 1, 150, "", 3}},
     3,
     50,
     2},
    /* best fit: 0.45 + 0.45, 0.35 + 0.35 + 0.2, the last 0.2 alone (3
     * cards); 0.45 + 0.35 + 0.2 twice fills 2 */
    {"best fit is not the fewest cards",
     {{0, 0, 1, 450, "", 2}, {0, 0, 1, 350, "", 2}, {0, 0, 1, 200, "", 2}},
     3,
     1000,
     2},
    {"three halves: two cards", {{0, 0, 1, 500, "", 3}}, 1, 500, 2},
    {"whole cards, multi-GPU and CPU-only tasks do not count",
     {{0, 0, 1, 1000, "", 5}, {0, 0, 8, 0, "", 2}, {0, 0, 0, 0, "", 4}},
     3,
     0,
     0},
    {"nothing arrived", {{0, 0, 1, 470, "", 0}}, 1, 0, 0},
};

START_TEST(share_waste_by_hand)
{
    double w = bound_share_waste(packings[_i].tasks, packings[_i].ntasks);
    ck_assert_msg(NEAR(w, packings[_i].waste), "%s: %g, want %g", packings[_i].why, w,
                  packings[_i].waste);
}
END_TEST

/* The shares' sum in milli-GPU. */
static double shares_sum(const struct bound_task *k, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += k[i].num_gpu == 1 && k[i].milli < 1000 ? k[i].count * k[i].milli : 0;
    return sum;
}

START_TEST(share_floor_by_hand)
{
    double room = bound_share_floor(packings[_i].tasks, packings[_i].ntasks);
    double want = packings[_i].cards * 1000 - shares_sum(packings[_i].tasks, packings[_i].ntasks);
    ck_assert_msg(NEAR(room, want), "%s: %g, want %g (%g cards)", packings[_i].why, room, want,
                  packings[_i].cards);
}
END_TEST

/* Random sets of shares: the fewest cards (the floor's room plus the
 * shares) lie between what their sum fills and what best fit opens, and
 * count every share over half a card (no two share one). */
START_TEST(share_floor_between)
{
    unsigned seed = 11;
    static const int sizes[] = {50, 110, 160, 230, 320, 370, 470, 550, 650, 810};
    for (int t = 0; t < 100; t++) {
        struct bound_task k[10];
        double vol = 0, big = 0;
        for (int i = 0; i < 10; i++) {
            k[i] = (struct bound_task){0, 0, 1, sizes[i], "", rand_r(&seed) % 12};
            vol += k[i].count * sizes[i] / 1000.0;
            big += sizes[i] > 500 ? k[i].count : 0;
        }
        double c = vol + bound_share_floor(k, 10) / 1000,
               bfd = vol + bound_share_waste(k, 10) / 1000;
        ck_assert_msg(c >= ceil(vol - 1e-9) - 1e-6 && c >= big - 1e-6 && c <= bfd + 1e-6 &&
                          NEAR(c, round(c)),
                      "set %d: %g cards, sum %g, best fit %g", t, c, vol, bfd);
    }
}
END_TEST

/* Past 64 share sizes, or past the fullest contents the bound works
 * through: no bound (-1) rather than a slow one. */
START_TEST(share_floor_too_many)
{
    struct bound_task k[65];
    for (int i = 0; i < 65; i++)
        k[i] = (struct bound_task){0, 0, 1, 300 + i, "", 1};
    ck_assert(bound_share_floor(k, 65) < 0);
    for (int i = 0; i < 40; i++) /* 0.01 to 0.4: far more than 4,096 fullest cards */
        k[i] = (struct bound_task){0, 0, 1, 10 * (i + 1), "", 1};
    ck_assert(bound_share_floor(k, 40) < 0);
    ck_assert(NEAR(bound_share_floor(k, 1), 990)); /* one size alone: one content */
}
END_TEST

START_TEST(bound_bad_input)
{
    struct bound_task t = {1000, 1000, 1, 500, "", 1};
    ck_assert(bound_allocation(g2, 0, &t, 1) < 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bound");
    TCase *tc = tcase_create("lp");
    tcase_add_loop_test(tc, lp_hand_optima, 0, sizeof lps / sizeof lps[0]);
    tcase_add_test(tc, lp_bad_input);
    tcase_add_test(tc, lp_random_problems);
    tcase_add_loop_test(tc, bound_small_clusters, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, bound_bad_input);
    tcase_add_loop_test(tc, share_waste_by_hand, 0, sizeof packings / sizeof packings[0]);
    tcase_add_loop_test(tc, share_floor_by_hand, 0, sizeof packings / sizeof packings[0]);
    tcase_add_test(tc, share_floor_between);
    tcase_add_test(tc, share_floor_too_many);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

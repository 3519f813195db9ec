/* lp: a small dense linear program, for upper bounds in the benchmarks.
 *
 *   maximise   c.x   subject to   A x <= b,   0 <= x <= u
 *
 * with b >= 0 (so x = 0 is feasible). Solved by the bounded-variable primal
 * simplex; the answer that matters is lp_dual_bound(), which is an upper
 * bound on c.x for every feasible x whatever multipliers it is given (weak
 * duality), so a wrong or unfinished solve can only make the bound weaker,
 * never invalid.
 *
 * Pure: no I/O. Sizes: a few hundred rows and columns. */
#ifndef VS_BENCH_LP_H
#define VS_BENCH_LP_H

#include <stddef.h>

/* The problem, owned by the caller. a is row-major, rows x cols. */
struct lp {
    int rows, cols;
    const double *a, *b, *c, *u;
};

/* Solve; y (rows entries, caller's) receives the multipliers of A's rows,
 * each >= 0, and x (cols entries, caller's; NULL: not wanted) the point
 * the simplex reached (within 0..u; A x <= b up to rounding: a caller
 * that relies on it checks). Returns the optimum c.x the simplex reached,
 * or -1 when the problem is malformed (b < 0, u < 0, sizes < 1).
 * max_pivots bounds the work; on reaching it the multipliers and the point
 * are those of the last basis. */
double lp_solve(const struct lp *p, double *y, double *x, int max_pivots);

/* sum_r y_r b_r + sum_j u_j max(0, c_j - sum_r y_r A_rj) for y >= 0 (negative
 * entries count as 0): no feasible x has c.x above it. */
double lp_dual_bound(const struct lp *p, const double *y);

#endif

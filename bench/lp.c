/* lp.c: bounded-variable primal simplex on a dense tableau. */
#include "bench/lp.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#define EPS        1e-9
#define BLAND_FROM 50 /* degenerate pivots in a row before Bland's rule */

/* Columns 0..cols-1 are x, cols..cols+rows-1 the slacks of A's rows. */
struct tab {
    int m, n;
    double *t;    /* m x n: B^-1 [A | I] */
    double *beta; /* values of the basic variables */
    double *d;    /* reduced costs */
    double *ub;   /* upper bounds; HUGE_VAL for slacks */
    int *basis;
    bool *upper; /* nonbasic at its upper bound */
};

static bool tab_init(struct tab *s, const struct lp *p)
{
    s->m = p->rows;
    s->n = p->cols + p->rows;
    s->t = mem_zalloc(sizeof *s->t * (size_t)s->m * (size_t)s->n);
    s->beta = mem_alloc(sizeof *s->beta * (size_t)s->m);
    s->d = mem_zalloc(sizeof *s->d * (size_t)s->n);
    s->ub = mem_alloc(sizeof *s->ub * (size_t)s->n);
    s->basis = mem_alloc(sizeof *s->basis * (size_t)s->m);
    s->upper = mem_zalloc(sizeof *s->upper * (size_t)s->n);
    bool ok = true;
    for (int j = 0; j < p->cols; j++) {
        s->d[j] = p->c[j];
        s->ub[j] = p->u[j];
        ok &= p->u[j] >= 0;
    }
    for (int r = 0; r < s->m; r++) {
        memcpy(&s->t[(size_t)r * s->n], &p->a[(size_t)r * p->cols], sizeof(double) * p->cols);
        s->t[(size_t)r * s->n + p->cols + r] = 1;
        s->ub[p->cols + r] = HUGE_VAL;
        s->beta[r] = p->b[r];
        s->basis[r] = p->cols + r;
        ok &= p->b[r] >= 0;
    }
    return ok;
}

static void tab_free(struct tab *s)
{
    free(s->t);
    free(s->beta);
    free(s->d);
    free(s->ub);
    free(s->basis);
    free(s->upper);
}

/* The nonbasic column whose move gains the most (or, under Bland's rule,
 * the first that gains at all); -1 at the optimum. */
static int entering(const struct tab *s, const bool *basic, bool bland)
{
    int best = -1;
    double gain = EPS;
    for (int j = 0; j < s->n; j++) {
        if (basic[j])
            continue;
        double g = s->upper[j] ? -s->d[j] : s->d[j];
        if (g > gain) {
            best = j;
            gain = g;
            if (bland)
                break;
        }
    }
    return best;
}

/* Ratio test for moving column e by dir (+1 up, -1 down): the row that
 * blocks first (or -1 when the column's own bound does), and the step. */
static int blocking(const struct tab *s, int e, int dir, double *step)
{
    int r = -1;
    *step = s->ub[e];
    for (int i = 0; i < s->m; i++) {
        double rate = -dir * s->t[(size_t)i * s->n + e]; /* change of basic i per unit */
        double room = rate < -EPS  ? s->beta[i] / -rate
                      : rate > EPS ? (s->ub[s->basis[i]] - s->beta[i]) / rate
                                   : HUGE_VAL;
        if (room < *step - EPS || (r < 0 && room < *step)) {
            *step = room < 0 ? 0 : room;
            r = i;
        }
    }
    return r;
}

static void pivot(struct tab *s, int r, int e)
{
    double *row = &s->t[(size_t)r * s->n], pv = row[e];
    for (int j = 0; j < s->n; j++)
        row[j] /= pv;
    for (int i = 0; i < s->m; i++) {
        double *o = &s->t[(size_t)i * s->n], f = o[e];
        if (i == r || f == 0)
            continue;
        for (int j = 0; j < s->n; j++)
            o[j] -= f * row[j];
    }
    double f = s->d[e];
    for (int j = 0; j < s->n; j++)
        s->d[j] -= f * row[j];
}

/* The structural variables' values at the tableau's basis. */
static void point(const struct tab *s, int cols, double *x)
{
    for (int j = 0; j < cols; j++)
        x[j] = s->upper[j] ? s->ub[j] : 0;
    for (int r = 0; r < s->m; r++)
        if (s->basis[r] < cols)
            x[s->basis[r]] = s->beta[r];
}

double lp_solve(const struct lp *p, double *y, double *x, int max_pivots)
{
    if (p->rows < 1 || p->cols < 1)
        return -1;
    struct tab s;
    bool ok = tab_init(&s, p);
    bool *basic = mem_zalloc(sizeof *basic * (size_t)s.n);
    double value = 0;
    int degenerate = 0;
    for (int r = 0; r < s.m; r++)
        basic[s.basis[r]] = true;
    for (int it = 0; ok && it < max_pivots; it++) {
        int e = entering(&s, basic, degenerate > BLAND_FROM);
        if (e < 0)
            break;
        int dir = s.upper[e] ? -1 : 1;
        double step;
        int r = blocking(&s, e, dir, &step);
        if (step == HUGE_VAL) { /* unbounded: cannot happen with finite u */
            ok = false;
            break;
        }
        for (int i = 0; i < s.m; i++)
            s.beta[i] -= dir * s.t[(size_t)i * s.n + e] * step;
        value += fabs(s.d[e]) * step;
        degenerate = step > EPS ? 0 : degenerate + 1;
        if (r < 0) { /* the entering column reached its other bound */
            s.upper[e] = !s.upper[e];
            continue;
        }
        int l = s.basis[r];
        s.upper[l] = s.beta[r] > EPS; /* it left at its upper bound */
        s.beta[r] = (dir > 0 ? 0 : s.ub[e]) + dir * step;
        pivot(&s, r, e);
        basic[l] = false;
        basic[e] = true;
        s.basis[r] = e;
    }
    for (int r = 0; r < s.m; r++)
        y[r] = ok && -s.d[p->cols + r] > 0 ? -s.d[p->cols + r] : 0;
    if (x)
        point(&s, p->cols, x);
    free(basic);
    tab_free(&s);
    return ok ? value : -1;
}

double lp_dual_bound(const struct lp *p, const double *y)
{
    double bound = 0;
    for (int r = 0; r < p->rows; r++)
        bound += (y[r] > 0 ? y[r] : 0) * p->b[r];
    for (int j = 0; j < p->cols; j++) {
        double rc = p->c[j];
        for (int r = 0; r < p->rows; r++)
            rc -= (y[r] > 0 ? y[r] : 0) * p->a[(size_t)r * p->cols + j];
        if (rc > 0)
            bound += p->u[j] * rc;
    }
    return bound;
}

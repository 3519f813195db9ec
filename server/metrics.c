#include "server/metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* Upper bounds of the latency buckets in seconds; +Inf follows. */
static const double bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])

#define CODE_MIN 100
#define NCODES   500 /* statuses 100..599 */

/* One route's series. Buckets hold plain (not cumulative) counts. */
struct series {
    char name[METRICS_LABEL_MAX];
    _Atomic uint64_t code[NCODES];
    _Atomic uint64_t bucket[NBOUNDS + 1];
    _Atomic uint64_t sum_ns;
};

struct reason {
    char name[METRICS_LABEL_MAX];
    _Atomic uint64_t n;
};

/* A label is published by writing its row, then raising the count with
 * release order; readers load the count with acquire and see whole rows. */
struct metrics {
    atomic_int nroutes;
    atomic_int nreasons;
    _Atomic uint64_t other; /* errors with an unregistered reason */
    struct series route[METRICS_MAX_LABELS];
    struct reason reason[METRICS_MAX_LABELS];
};

struct metrics *metrics_create(void)
{
    return mem_zalloc(sizeof(struct metrics)); /* all-zero is a valid empty state */
}

void metrics_destroy(struct metrics *m)
{
    free(m);
}

static bool label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= METRICS_LABEL_MAX)
        return false;
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

/* Find or append `name` in a table of rows of `size` bytes whose first
 * member is the name. */
static int label_add(atomic_int *count, void *rows, size_t size, const char *name)
{
    if (!label_ok(name))
        return ERR_INVAL;
    int n = atomic_load_explicit(count, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (strcmp((char *)rows + (size_t)i * size, name) == 0)
            return i;
    if (n == METRICS_MAX_LABELS)
        return ERR_TOOBIG;
    strcpy((char *)rows + (size_t)n * size, name);
    atomic_store_explicit(count, n + 1, memory_order_release);
    return n;
}

int metrics_route_add(struct metrics *m, const char *route)
{
    return label_add(&m->nroutes, m->route, sizeof m->route[0], route);
}

int metrics_reason_add(struct metrics *m, const char *reason)
{
    if (strcmp(reason, "other") == 0)
        return ERR_INVAL; /* always present; see metrics_error */
    return label_add(&m->nreasons, m->reason, sizeof m->reason[0], reason);
}

static void add(_Atomic uint64_t *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_observe(struct metrics *m, int route, int status, double seconds)
{
    if (m == NULL || route < 0 ||
        route >= atomic_load_explicit(&m->nroutes, memory_order_acquire) || status < CODE_MIN ||
        status >= CODE_MIN + NCODES)
        return;
    struct series *s = &m->route[route];
    if (!(seconds >= 0))
        seconds = 0; /* NaN or a clock step back */
    if (seconds > 1e6)
        seconds = 1e6; /* keeps the conversion to ns defined */
    size_t b = 0;
    while (b < NBOUNDS && seconds > bounds[b])
        b++;
    add(&s->code[status - CODE_MIN], 1);
    add(&s->bucket[b], 1);
    add(&s->sum_ns, (uint64_t)(seconds * 1e9));
}

void metrics_error(struct metrics *m, const char *reason)
{
    if (m == NULL)
        return;
    int n = atomic_load_explicit(&m->nreasons, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (strcmp(m->reason[i].name, reason) == 0) {
            add(&m->reason[i].n, 1);
            return;
        }
    add(&m->other, 1);
}

static void render_requests(struct metrics *m, struct buf *out, int nroutes)
{
    buf_puts(out, "# HELP vgpu_scheduler_requests_total HTTP requests answered, by route and "
                  "status code.\n"
                  "# TYPE vgpu_scheduler_requests_total counter\n");
    for (int r = 0; r < nroutes; r++)
        for (int c = 0; c < NCODES; c++) {
            uint64_t v = get(&m->route[r].code[c]);
            if (v)
                buf_printf(out, "vgpu_scheduler_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                           m->route[r].name, c + CODE_MIN, (unsigned long long)v);
        }
}

static void render_histogram(struct series *s, struct buf *out)
{
    const char *name = "vgpu_scheduler_request_duration_seconds";
    uint64_t total = 0;
    for (size_t b = 0; b <= NBOUNDS; b++) {
        total += get(&s->bucket[b]);
        if (b < NBOUNDS)
            buf_printf(out, "%s_bucket{route=\"%s\",le=\"%g\"} %llu\n", name, s->name, bounds[b],
                       (unsigned long long)total);
        else
            buf_printf(out, "%s_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", name, s->name,
                       (unsigned long long)total);
    }
    buf_printf(out, "%s_sum{route=\"%s\"} %.9f\n", name, s->name, (double)get(&s->sum_ns) / 1e9);
    buf_printf(out, "%s_count{route=\"%s\"} %llu\n", name, s->name, (unsigned long long)total);
}

static void render_errors(struct metrics *m, struct buf *out)
{
    int n = atomic_load_explicit(&m->nreasons, memory_order_acquire);
    buf_puts(out, "# HELP vgpu_scheduler_errors_total Errors, by reason.\n"
                  "# TYPE vgpu_scheduler_errors_total counter\n");
    for (int i = 0; i < n; i++)
        buf_printf(out, "vgpu_scheduler_errors_total{reason=\"%s\"} %llu\n", m->reason[i].name,
                   (unsigned long long)get(&m->reason[i].n));
    buf_printf(out, "vgpu_scheduler_errors_total{reason=\"other\"} %llu\n",
               (unsigned long long)get(&m->other));
}

int metrics_render(struct metrics *m, struct buf *out, metrics_extra_fn extra, void *ctx)
{
    int nroutes = atomic_load_explicit(&m->nroutes, memory_order_acquire);
    render_requests(m, out, nroutes);
    buf_puts(out, "# HELP vgpu_scheduler_request_duration_seconds Time from a request's "
                  "headers to its answer, by route.\n"
                  "# TYPE vgpu_scheduler_request_duration_seconds histogram\n");
    for (int r = 0; r < nroutes; r++)
        render_histogram(&m->route[r], out);
    render_errors(m, out);
    if (extra)
        extra(ctx, out);
    return out->toobig ? ERR_TOOBIG : 0;
}

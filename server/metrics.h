/* metrics: the service's own counters, in Prometheus text format.
 *
 *   vgpu_scheduler_requests_total{route,code}          counter
 *   vgpu_scheduler_request_duration_seconds{route}     histogram
 *   vgpu_scheduler_errors_total{reason}                counter
 *
 * Routes and error reasons are labels registered up front (at most
 * METRICS_MAX_LABELS each); an error with a reason nobody registered counts
 * under "other". The http layer records every request itself, so handlers
 * only count errors.
 *
 * Threads: recording (metrics_observe, metrics_error) is lock-free (relaxed
 * atomic adds) and may run on any thread. Registration (metrics_route_add,
 * metrics_reason_add) must come from one thread at a time, normally at
 * startup; it may overlap recording and rendering. A render taken while
 * requests run may see a request in one series and not yet in another. */
#ifndef VS_METRICS_H
#define VS_METRICS_H

#include "base/buf.h"

#define METRICS_MAX_LABELS 64 /* routes; likewise reasons */
#define METRICS_LABEL_MAX  64 /* bytes in a label value, NUL included */

struct metrics;

/* Returns a new, empty set of metrics; caller frees with metrics_destroy. */
struct metrics *metrics_create(void);
/* Accepts NULL. */
void metrics_destroy(struct metrics *m);

/* Register a route label ("/filter"). Returns its id (>= 0; the same id for
 * a name registered before), ERR_INVAL for an empty label or one with '"',
 * '\\' or control characters, ERR_TOOBIG when the table is full. */
int metrics_route_add(struct metrics *m, const char *route);
/* Register an error reason label ("bad_json"). Same returns; "other" is
 * built in and refused with ERR_INVAL. */
int metrics_reason_add(struct metrics *m, const char *reason);

/* Count one answered request of route id `route` with HTTP `status`, which
 * took `seconds`. An unknown id or a status outside 100..599 is ignored. */
void metrics_observe(struct metrics *m, int route, int status, double seconds);
/* Count one error under its registered reason, or under "other". */
void metrics_error(struct metrics *m, const char *reason);

/* Appends more exposition text, e.g. the cache's hami_gpu_* gauges. */
typedef void (*metrics_extra_fn)(void *ctx, struct buf *out);

/* Append every metric, with # HELP and # TYPE lines, to out; then call
 * extra(ctx, out) when extra is not NULL. Returns 0, or ERR_TOOBIG when out
 * reached its cap (then out holds a truncated text). */
int metrics_render(struct metrics *m, struct buf *out, metrics_extra_fn extra, void *ctx);

#endif

/* service: the running extender: config, metrics, HTTP server(s), routes.
 *
 * Every route is registered in one place, add_routes() in service.c.
 * service_run() blocks until SIGTERM or SIGINT, then shuts down gracefully:
 * stop accepting, let requests in flight finish, return. */
#ifndef VS_SERVICE_H
#define VS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "server/config.h"

struct service;

/* Build the service from a validated config (copied). Blocks SIGTERM and
 * SIGINT in the calling thread, so call it before starting any thread: every
 * thread created after inherits the mask and only service_run takes the
 * signals. Returns 0 and *out (caller frees with service_destroy), or an
 * error with err filled. */
int service_create(const struct config *c, struct service **out, char *err, size_t cap);

/* Listen, log "listening on HOST:PORT", serve until SIGTERM/SIGINT, then
 * stop gracefully. Returns 0 after a signal, or ERR_IO with err filled when
 * it cannot listen. */
int service_run(struct service *s, char *err, size_t cap);

/* /readyz answers 200 once ready is set, 503 before. Thread-safe. */
void service_set_ready(struct service *s, bool ready);

/* Accepts NULL. */
void service_destroy(struct service *s);

#endif

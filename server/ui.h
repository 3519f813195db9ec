/* ui: the web view served by the scheduler itself (GET /ui/, and /
 * redirecting to it): a page (ui/index.html, app.js, style.css, compiled
 * into the binary by cmake/embed.cmake) and the JSON it polls, at most
 * once a second:
 *
 *   GET  /ui/api/view?offset=&limit=&q=&label=&model=&vendor=
 *        totals and pools per vendor and GPU model (memory, cores, slots,
 *        allocation, stranded memory, fragmentMilliGpu: the sum of its
 *        nodes' fragmentation as fragment-aware measures it, null before a
 *        workload is learned), every device backend row, and one
 *        page of nodes (sorted by name, filtered by a name substring, a
 *        label "key" or "key=value", a model and a vendor) with one cell
 *        per GPU. limit <= UI_PAGE_MAX.
 *   GET  /ui/api/node?name=      one node as /inspect shows it, plus its
 *        node lock, labels and GPU pair scores (cache_inspect_node), and
 *        "fragmentMilliGpu": its fragmentation as fragment-aware measures
 *        it (place_node_fragment; null before a workload is learned); 404
 *        unknown.
 *   GET  /ui/api/pending         the last filter verdicts (server/verdicts.h),
 *        newest first, one per pod.
 *   POST /ui/api/simulate        a Pod (JSON or YAML): where simulate would
 *        place it, the other fitting nodes, and why the rest failed,
 *        summarised per reason. Reserves nothing, learns nothing.
 *
 * Nothing here changes state. A view request takes the cache's read lock
 * once, only to copy the numbers out into buffers kept between requests
 * (about 1 ms at 5,000 nodes x 8 GPUs on a busy 2-core machine); sorting,
 * filtering and writing happen after it is released. A filter's one write
 * waits at most that long, once a second per open page: the filter p99 does
 * not move (vgpu-bench --ui-poll, bench/README.md). Every answer is bounded: a view page holds at
 * most UI_PAGE_MAX nodes, simulate's lists UI_LIST_MAX entries.
 *
 * Thread-safe; handlers run on the HTTP threads. */
#ifndef VS_UI_H
#define VS_UI_H

#include <stdbool.h>
#include <stddef.h>

struct cache;
struct place;
struct extender;
struct verdicts;
struct http_server;

#define UI_PAGE_MAX       1000 /* nodes in one view page */
#define UI_PAGE_DEFAULT   200
#define UI_LIST_MAX       20         /* runner-up and failed nodes simulate lists */
#define UI_POD_BODY_MAX   (1u << 20) /* bytes of a pod posted to simulate */
#define UI_YAML_ITEMS_MAX 100000     /* JSON values a YAML pod may expand to */

/* One file of the page, compiled in (the generated ui_assets.c). */
struct ui_asset {
    const char *name; /* "index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
};
/* Ends with an entry whose name is NULL. */
extern const struct ui_asset ui_assets[];

struct ui;

/* Returns a new web view over cache, place, extender and verdicts (all
 * borrowed, must outlive it). Free with ui_destroy (accepts NULL). */
struct ui *ui_create(struct cache *cache, struct place *pl, struct extender *x, struct verdicts *v);
void ui_destroy(struct ui *u);

/* Register the page's routes on s; with client_cert, each needs a client
 * certificate as /inspect does (http_route_require_client_cert). Returns 0
 * or the error of http_route_add. */
int ui_add_routes(struct ui *u, struct http_server *s, bool client_cert);

/* A YAML document (len bytes) as JSON: mappings to objects, sequences to
 * arrays, plain scalars true/false/null/numbers typed, everything else a
 * string. Returns a new tree (caller frees), or NULL with the reason in
 * err (malformed, empty, more than UI_YAML_ITEMS_MAX values, deeper than
 * 64). */
struct cJSON;
struct cJSON *ui_yaml_to_json(const char *text, size_t len, char *err, size_t cap);

#endif

/* jsonpatch: RFC 6902 JSON Patch, written apart from the webhook's own
 * (webhook/patch.c) so the webhook fuzz target can check what the webhook
 * emits with an implementation that does not share its mistakes. Strict:
 * every path must exist as the RFC says (add: its parent), array indexes
 * are decimal without leading zeros, "-" appends. */
#ifndef VS_FUZZ_JSONPATCH_H
#define VS_FUZZ_JSONPATCH_H
#include <cjson/cJSON.h>
#include <stddef.h>

/* Apply patch (a JSON array of operations) to *doc, which it may replace
 * (an operation on the root). Returns 0, or -1 with why in err; *doc is
 * then partly patched. */
int jsonpatch_apply(cJSON **doc, const cJSON *patch, char *err, size_t cap);

#endif

/* patch: an RFC 6902 JSON Patch, built against the document it patches.
 *
 * Every operation is applied to the document (a cJSON tree the caller owns)
 * as it is recorded, so later operations see what earlier ones made (an
 * "add" of resources.limits, then an "add" inside it), and the recorded
 * patch turns the original document into the current one. Only "add",
 * "replace" and "remove": what an admission webhook needs. Debian's cJSON has no
 * cJSON_Utils, so this is the small subset written out.
 *
 * Paths are RFC 6901 JSON Pointers. webhook_patch_pointer builds one from
 * plain tokens, escaping "~" as "~0" and "/" as "~1" (an annotation key such
 * as "nvidia.com/gpu" becomes "nvidia.com~1gpu").
 *
 * Not thread-safe: one patch, one thread. */
#ifndef VS_WEBHOOK_PATCH_H
#define VS_WEBHOOK_PATCH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define WEBHOOK_PATCH_OPS_MAX 4096 /* operations in one patch */
#define WEBHOOK_POINTER_MAX   2048 /* bytes of a pointer, NUL included */

struct webhook_patch;

/* A new empty patch over doc (borrowed; the operations modify it; it must
 * outlive the patch). Free with webhook_patch_destroy. */
struct webhook_patch *webhook_patch_create(cJSON *doc);
/* Accepts NULL. */
void webhook_patch_destroy(struct webhook_patch *p);

/* Write the pointer of tokens (NULL-terminated; none = "" = the whole
 * document) into out, each token escaped. Returns 0 or ERR_TOOBIG. */
int webhook_patch_pointer(char *out, size_t cap, const char *const *tokens);

/* The value at a pointer in doc, or NULL when there is none (or the pointer
 * is malformed). Borrowed. */
cJSON *webhook_patch_get(cJSON *doc, const char *pointer);

/* Add value at pointer (RFC 6902 "add"): into an object it sets the member
 * (replacing one of that name); into an array it inserts at the index, or
 * appends for "-". The parent must exist. value is taken in every case.
 * Returns 0, ERR_NOTFOUND (no parent, index out of range), ERR_INVAL (bad
 * pointer, parent is not a container, the whole document), ERR_TOOBIG (too
 * many operations). */
int webhook_patch_add(struct webhook_patch *p, const char *pointer, cJSON *value);
/* Replace the existing value at pointer ("replace"); value is taken.
 * Returns 0, ERR_NOTFOUND when there is no such value, ERR_INVAL, ERR_TOOBIG. */
int webhook_patch_replace(struct webhook_patch *p, const char *pointer, cJSON *value);

/* Remove the existing value at pointer ("remove"); from an array the later
 * items move down one. Returns 0, ERR_NOTFOUND when there is no such value,
 * ERR_INVAL, ERR_TOOBIG. */
int webhook_patch_remove(struct webhook_patch *p, const char *pointer);

/* Operations recorded so far. */
int webhook_patch_count(const struct webhook_patch *p);
/* The patch as compact JSON (an array of operations): a new string, caller
 * frees. Never NULL. */
char *webhook_patch_json(const struct webhook_patch *p);

/* Standard base64 (RFC 4648, with padding, one line) of n bytes: a new
 * string, caller frees. */
char *webhook_patch_base64(const void *data, size_t n);

#endif

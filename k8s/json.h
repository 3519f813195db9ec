/* json: reading Kubernetes objects (cJSON trees) safely, for the model's
 * node and pod readers (k8s/node.c, k8s/pod.c). Internal to k8s/.
 *
 * Object fields are read with exact keys (Kubernetes' fields are
 * case-sensitive); absent and null read the same. Every string has a limit.
 * Messages go to a caller-provided err of cap bytes (err may be NULL). */
#ifndef VS_JSON_H
#define VS_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_SHOW_MAX 64 /* bytes of a bad value quoted in a message */
#define JSON_QTY_MAX  64 /* a quantity's text */

/* Write a message into err. */
__attribute__((format(printf, 3, 4))) void json_err(char *err, size_t cap, const char *fmt, ...);
/* Put "<fmt>: " in front of the message already in err. */
__attribute__((format(printf, 3, 4))) void json_err_prefix(char *err, size_t cap, const char *fmt,
                                                           ...);

/* A member of obj: NULL when obj is not an object, or it is absent or null.
 * Borrowed. */
const cJSON *json_field(const cJSON *obj, const char *key);
/* An optional object (json_arr: array) member: absent or null -> *out NULL;
 * another type is ERR_INVAL naming `what`. */
int json_obj(const cJSON *obj, const char *key, const char *what, const cJSON **out, char *err,
             size_t cap);
int json_arr(const cJSON *obj, const char *key, const char *what, const cJSON **out, char *err,
             size_t cap);
/* An optional string member of at most max bytes: absent or null -> NULL;
 * not a string ERR_INVAL, longer ERR_TOOBIG. *out borrows from obj. */
int json_str(const cJSON *obj, const char *key, size_t max, const char *what, const char **out,
             char *err, size_t cap);
/* An annotation value (anns may be NULL), as json_str. */
int json_ann(const cJSON *anns, const char *key, size_t max, const char **out, char *err,
             size_t cap);
/* The elements of a JSON array, counted up to max + 1. */
int json_count(const cJSON *arr, int max);

/* The text of a quantity in a resource list into buf: a JSON string
 * (trimmed, as Go's Quantity.UnmarshalJSON does) or a JSON number.
 * *present false when absent. ERR_INVAL for another type, ERR_TOOBIG past
 * JSON_QTY_MAX. */
int json_qty(const cJSON *list, const char *key, char *buf, size_t bufcap, bool *present, char *err,
             size_t cap);
/* Explain a failed quantity parse (rc) of `text` for resource `key`; whole:
 * the resource wants a whole number. */
void json_qty_err(char *err, size_t cap, const char *key, const char *text, int rc, bool whole);

#endif

/* list: walk a separated list ("binpack, spread") in place, without
 * copying it or writing to it.
 *
 *     const char *s = "a, b,,c", *tok;
 *     size_t len;
 *     while (list_next(&s, ',', LIST_SPACE, &tok, &len))
 *         ...   // "a" "b" "" "c", each tok[0..len), not NUL-terminated
 *
 * An empty element between two separators is returned (len 0): the caller
 * skips or rejects it. Nothing is returned for an empty string or after a
 * last separator ("a," gives "a" only). */
#ifndef VS_LIST_H
#define VS_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define LIST_SPACE " \t\n\v\f\r" /* what isspace() matches in the C locale */

/* The next element at *s: *tok gets its start and *len its length, the
 * bytes of trim (NULL: none) cut from both ends; *s moves past the
 * separator, or to the end. Returns false, leaving *tok and *len alone,
 * when *s is NULL or points at the end of the string. *tok points into the
 * string (borrowed). */
bool list_next(const char **s, char sep, const char *trim, const char **tok, size_t *len);

#endif

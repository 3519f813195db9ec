/* strconv: Go's strconv.ParseBool and ParseInt on a counted string, for
 * values HAMi's Go code reads that way (annotations, legacy registers). */
#ifndef VS_STRCONV_H
#define VS_STRCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Go's strconv.ParseBool on [s, s+n): "1 t T TRUE true True" and
 * "0 f F FALSE false False". Returns 0 or ERR_INVAL (*out untouched). */
int strconv_bool(const char *s, size_t n, bool *out);

/* A base-10 integer on [s, s+n) with an optional sign (Go's ParseInt):
 * returns 0, ERR_INVAL if it is not one, ERR_RANGE outside lo..hi (*out
 * untouched on error). */
int strconv_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out);

#endif

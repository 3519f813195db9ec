/* quantity: Kubernetes resource quantities ("4", "500m", "1Gi", "1.5", "2e3").
 *
 * The syntax is Kubernetes' (resource.ParseQuantity): an optional sign,
 * digits with an optional decimal point ("1.", ".5" are fine, "." is not),
 * then one suffix: binary (Ki Mi Gi Ti Pi Ei), decimal (n u m "" k M G T P
 * E) or a decimal exponent (e/E and an optionally signed integer). No
 * whitespace. Values are computed exactly with integer arithmetic ("0.1" is
 * exact); more than 19 significant digits is ERR_RANGE.
 * Pure; no allocation. */
#ifndef VS_QUANTITY_H
#define VS_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

/* Parse s into milli-units (e.g. "1.5" -> 1500, "2Gi" -> 2147483648000),
 * rounded up like Kubernetes' MilliValue ("0.0001" -> 1).
 * Returns 0, ERR_INVAL for bad syntax, ERR_RANGE past int64 milli-units. */
int quantity_milli(const char *s, int64_t *milli);
/* Parse s as a whole number (Kubernetes AsInt64): "4", "4k", "1Gi".
 * ERR_INVAL for bad syntax or a fractional value, ERR_RANGE on overflow. */
int quantity_int(const char *s, int64_t *v);
/* Parse a byte quantity into MiB ("1Gi" -> 1024, "65505556Ki" -> 63970),
 * rounded up (round_up) or down. ERR_INVAL for bad syntax, ERR_RANGE on
 * overflow. */
int quantity_mib(const char *s, bool round_up, int64_t *mib);

#endif

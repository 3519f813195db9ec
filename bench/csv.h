/* csv: the comma-separated lines of the openb traces (no quoting), shared
 * by vgpu-replay and vgpu-tracegen. */
#ifndef VS_BENCH_CSV_H
#define VS_BENCH_CSV_H

#include <stdint.h>

/* Split line at commas into f, in place (NUL-terminating each field; a
 * '\r' or '\n' ends the line). Returns the number of fields, or -1 when
 * there are more than max (f then holds the first max). */
int csv_split(char *line, char **f, int max);

/* The index of the field hdr[i] equal to name among hdr[0..n), or -1 (also
 * for n < 0). */
int csv_column(char *const *hdr, int n, const char *name);

/* Field c of f[0..n) as a base-10 integer in [lo, hi] (strconv_int's
 * rules). Returns 0, or ERR_INVAL when the field is missing (c < 0 or
 * c >= n) or not a number, ERR_RANGE outside lo..hi (*v untouched then). */
int csv_int(char *const *f, int n, int c, int64_t lo, int64_t hi, int64_t *v);

#endif

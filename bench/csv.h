/* csv: the comma-separated lines of the openb traces (no quoting), shared
 * by vgpu-replay and vgpu-tracegen. */
#ifndef VS_BENCH_CSV_H
#define VS_BENCH_CSV_H

/* Split line at commas into f, in place (NUL-terminating each field; a
 * '\r' or '\n' ends the line). Returns the number of fields, or -1 when
 * there are more than max (f then holds the first max). */
int csv_split(char *line, char **f, int max);

/* The index of the field hdr[i] equal to name among hdr[0..n), or -1 (also
 * for n < 0). */
int csv_column(char *const *hdr, int n, const char *name);

#endif

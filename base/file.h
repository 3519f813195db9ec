/* file: read a whole file, bounded.
 *
 *     char *text = NULL, err[256];
 *     size_t len = 0;
 *     int rc = file_read(path, 1 << 20, &text, &len, err, sizeof err);
 *     ...
 *     free(text);
 *
 * The one place the project reads a file whole (snapshots, kubeconfigs,
 * tokens, certificates, pods for `simulate`). */
#ifndef VS_FILE_H
#define VS_FILE_H

#include <stddef.h>

/* Read the file at path, of at most max bytes, into *out: new and
 * NUL-terminated (caller frees); *len gets its length without the NUL.
 * Works on files whose size is not known ahead (pipes, /proc). Returns 0,
 * ERR_IO (cannot open or read) or ERR_TOOBIG (over max); *out is NULL and
 * the detail, naming path, is in err on failure. */
int file_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t cap);

#endif

#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"

#define FILE_CHUNK 4096 /* first buffer when the size is not known ahead */

/* How large a buffer to start with: the file's size when it is a regular
 * file (plus one byte to see the end), else one chunk; never over max + 1. */
static size_t first_cap(int fd, size_t max)
{
    struct stat st;
    size_t want = FILE_CHUNK;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
        want = (size_t)st.st_size + 1;
    return want > max + 1 ? max + 1 : want;
}

int file_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t cap)
{
    int rc = ERR_IO, fd = open(path, O_RDONLY | O_CLOEXEC);
    char *p = NULL;
    size_t n = 0, size = 0;

    *out = NULL;
    *len = 0;
    if (fd < 0) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        goto out;
    }
    size = first_cap(fd, max);
    p = mem_alloc(size + 1);
    for (;;) {
        if (n == size) {
            size = size > (max + 1) / 2 ? max + 1 : size * 2;
            p = mem_realloc(p, size + 1);
        }
        ssize_t r = read(fd, p + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, cap, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            snprintf(err, cap, "%s: larger than %zu bytes", path, max);
            rc = ERR_TOOBIG;
            goto out;
        }
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    p = NULL;
    rc = 0;
out:
    free(p);
    if (fd >= 0)
        close(fd);
    return rc;
}

#include "bench/csv.h"

#include <string.h>

#include "base/err.h"
#include "base/strconv.h"

int csv_split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line;;) {
        if (n == max)
            return -1;
        f[n++] = p;
        p = strchr(p, ',');
        if (!p)
            return n;
        *p++ = '\0';
    }
}

int csv_column(char *const *hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return i;
    return -1;
}

int csv_int(char *const *f, int n, int c, int64_t lo, int64_t hi, int64_t *v)
{
    if (c < 0 || c >= n)
        return ERR_INVAL;
    return strconv_int(f[c], strlen(f[c]), lo, hi, v);
}

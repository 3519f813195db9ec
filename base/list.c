#include "base/list.h"

#include <string.h>

static bool trimmed(const char *trim, char c)
{
    return trim && c != '\0' && strchr(trim, c);
}

bool list_next(const char **s, char sep, const char *trim, const char **tok, size_t *len)
{
    const char *p = *s;
    if (!p || !*p)
        return false;
    const char *end = strchr(p, sep);
    if (!end)
        end = p + strlen(p);
    *s = *end ? end + 1 : end;
    while (p < end && trimmed(trim, *p))
        p++;
    while (end > p && trimmed(trim, end[-1]))
        end--;
    *tok = p;
    *len = (size_t)(end - p);
    return true;
}

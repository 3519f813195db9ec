#include "base/assert.h"

#include <stdlib.h>

void assert_fail(const char *expr, const char *file, int line)
{
    log_msg(LOG_LEVEL_ERROR, file, line, "assertion failed: %s", expr);
    abort();
}

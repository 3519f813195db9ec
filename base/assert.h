/* assert: invariants, checked in every build.
 *
 *     VS_ASSERT(n <= cap);
 *
 * A broken invariant is a bug, never bad input (input is checked and
 * answered with an error): it logs "assertion failed: <expr>" with the
 * file and line, and aborts. Unlike <assert.h>, NDEBUG does not remove it. */
#ifndef VS_ASSERT_H
#define VS_ASSERT_H

#include "base/log.h"

/* Log the failed assertion at file:line and abort. */
_Noreturn void assert_fail(const char *expr, const char *file, int line);

#define VS_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            assert_fail(#cond, __FILE__, __LINE__);                                                \
    } while (0)

#endif

/* log: one line per event on stderr.
 *
 *     2026-11-22T01:02:03.456Z INFO http.c:123 listening on 127.0.0.1:8888
 *
 * UTC time with milliseconds, level, source file:line, message. Each line
 * goes out in one write(), so lines from concurrent threads never mix.
 * Control characters in the message become spaces (a value from the network
 * cannot forge a second line) and a line is cut at LOG_LINE_MAX bytes. Log
 * names and sizes, never whole request bodies: pods carry secrets in env.
 *
 * The one global of the project: the level (and the output descriptor, for
 * tests). Set it once at startup, before threads start; reading it is an
 * atomic load, so a LOG_DEBUG below the level costs one comparison.
 *
 * Do not include <syslog.h> next to this header: it defines LOG_DEBUG and
 * LOG_INFO too. */
#ifndef VS_LOG_H
#define VS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

#define LOG_LINE_MAX 2048 /* bytes per line, newline included */

/* Lines below `level` are dropped. Default LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);
/* Write lines to fd instead of stderr (2); for tests. */
void log_set_fd(int fd);

/* Write one line. `file` may be a path; only its last part is printed. Use
 * the macros below, which fill in file and line. */
void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if (log_enabled(level))                                                                    \
            log_msg(level, __FILE__, __LINE__, __VA_ARGS__);                                       \
    } while (0)
#define LOG_DEBUG(...) LOG_AT(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define LOG_INFO(...)  LOG_AT(LOG_LEVEL_INFO, __VA_ARGS__)
#define LOG_WARN(...)  LOG_AT(LOG_LEVEL_WARN, __VA_ARGS__)
#define LOG_ERROR(...) LOG_AT(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif

#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The process-wide level and output; see log.h for why this is global. */
static atomic_int min_level = LOG_LEVEL_INFO;
static atomic_int out_fd = 2;

static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

bool log_enabled(enum log_level level)
{
    return (int)level >= atomic_load_explicit(&min_level, memory_order_relaxed);
}

void log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}

/* "2026-11-22T01:02:03.456Z" into p (at least 32 bytes); returns its length. */
static int timestamp(char *p, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(p, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    return (int)n + snprintf(p + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere to report a failing log */
        p += w;
        n -= (size_t)w;
    }
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
    char text[LOG_LINE_MAX];
    size_t cap = sizeof text - 1; /* room for the newline */
    if ((unsigned)level > LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;

    size_t n = (size_t)timestamp(text, cap);
    n += (size_t)snprintf(text + n, cap - n, " %s %s:%d ", names[level], base, line);
    size_t start = n < cap ? n : cap;

    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(text + start, cap - start, fmt, ap);
    va_end(ap);
    n = start + (m < 0 ? 0 : (size_t)m);
    if (n > cap - 1)
        n = cap - 1; /* truncated by vsnprintf */
    for (size_t i = start; i < n; i++)
        if ((unsigned char)text[i] < 0x20)
            text[i] = ' ';
    text[n++] = '\n';
    write_all(atomic_load(&out_fd), text, n);
}

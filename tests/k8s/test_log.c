/* log: the line format, levels, sanitising, whole lines under threads. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "tests/support/harness.h"

static int fds[2];

static void setup(void)
{
    ck_assert_int_eq(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* room for the thread test */
    log_set_fd(fds[1]);
    log_set_level(LOG_LEVEL_INFO);
}

static void teardown(void)
{
    log_set_fd(2);
    close(fds[0]);
    close(fds[1]);
}

/* Everything written so far; static buffer. */
static const char *drain(void)
{
    static char text[1 << 20];
    ssize_t n = read(fds[0], text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static const struct {
    enum log_level level;
    const char *msg;
    const char *pattern; /* POSIX extended regex of the whole output */
} lines[] = {
    {LOG_LEVEL_INFO, "listening on 127.0.0.1:8888",
     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z INFO test_log\\.c:[0-9]+ "
     "listening on 127\\.0\\.0\\.1:8888\n$"},
    {LOG_LEVEL_WARN, "w", "Z WARN test_log\\.c:[0-9]+ w\n$"},
    {LOG_LEVEL_ERROR, "e", "Z ERROR test_log\\.c:[0-9]+ e\n$"},
    {LOG_LEVEL_DEBUG, "hidden", "^$"}, /* below the level */
    {LOG_LEVEL_INFO, "two\nlines\r\tand\x1b", " two lines  and \n$"},
};

START_TEST(test_line)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, lines[_i].pattern, REG_EXTENDED), 0);
    LOG_AT(lines[_i].level, "%s", lines[_i].msg);
    const char *text = drain();
    ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "\"%s\" !~ /%s/", text, lines[_i].pattern);
    regfree(&re);
}
END_TEST

START_TEST(test_levels)
{
    log_set_level(LOG_LEVEL_DEBUG);
    ck_assert(log_enabled(LOG_LEVEL_DEBUG));
    LOG_DEBUG("d %d", 1);
    ck_assert_ptr_nonnull(strstr(drain(), " DEBUG test_log.c:"));
    log_set_level(LOG_LEVEL_ERROR);
    ck_assert(!log_enabled(LOG_LEVEL_WARN));
    LOG_WARN("w");
    LOG_INFO("i");
    ck_assert_str_eq(drain(), "");
}
END_TEST

START_TEST(test_long_line)
{
    static char big[3 * LOG_LINE_MAX];
    memset(big, 'b', sizeof big - 1);
    LOG_INFO("%s", big);
    const char *text = drain();
    ck_assert_uint_eq(strlen(text), LOG_LINE_MAX - 1);
    ck_assert_int_eq(text[strlen(text) - 1], '\n');
    ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
}
END_TEST

#define NTHREADS 4
#define NLINES   200

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < NLINES; i++)
        LOG_INFO("thread %ld line %d %s", id, i, "padding-padding-padding-padding");
    return NULL;
}

/* Lines from several threads never interleave. */
START_TEST(test_threads)
{
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             "^[0-9T:.-]+Z INFO test_log\\.c:[0-9]+ thread [0-9]+ line [0-9]+ "
                             "padding-padding-padding-padding$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    char *text = strdup(drain()), *save = NULL;
    int n = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
        ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "mixed line: %s", line);
    ck_assert_int_eq(n, NTHREADS * NLINES);
    regfree(&re);
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_line, 0, sizeof lines / sizeof lines[0]);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_long_line);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

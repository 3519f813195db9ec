/* fuzz: what every fuzz target shares.
 *
 * Each fuzz/fuzz_<target>.c defines LLVMFuzzerTestOneInput and drives one
 * parser through its real entry point. Built two ways: with clang and
 * libFuzzer (`make fuzz`, -DVS_FUZZ=ON) to search, and with the normal
 * compiler and fuzz/replay.c's main to replay fuzz/corpus/<target>/ and
 * fuzz/regressions/<target>/ as a ctest test (make test, CI).
 *
 * A target checks what must hold for every input with FUZZ_CHECK, which
 * aborts with a message: the fuzzer records the input as a crash. */
#ifndef VS_FUZZ_H
#define VS_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Once per process: base_init, logs below errors dropped and the rest
 * written to /dev/null (the parsers still format them). */
void fuzz_setup(void);

/* A new NUL-terminated copy of data (caller frees). */
char *fuzz_cstr(const uint8_t *data, size_t size);

/* The fixtures of fuzz/data (FUZZ_DATA, set by CMake): a new NUL-terminated
 * copy of file `name` and its length; aborts when it cannot be read. */
char *fuzz_data(const char *name, size_t *len);

/* Write data into this process's scratch file (in $TMPDIR, else /dev/shm
 * or /tmp; removed at exit) and return its path (static; the same every call). */
const char *fuzz_file(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

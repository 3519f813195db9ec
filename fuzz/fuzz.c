#include "fuzz/fuzz.h"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "base/file.h"
#include "base/init.h"
#include "base/log.h"

void fuzz_setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    base_init();
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0)
        log_set_fd(fd);
    log_set_level(LOG_LEVEL_WARN);
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

char *fuzz_data(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", FUZZ_DATA, name);
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    FUZZ_CHECK(n >= 0, "cannot size %s", path);
    char *s = malloc((size_t)n + 1);
    FUZZ_CHECK(s && fread(s, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    fclose(f);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static char scratch[4096];

static void scratch_remove(void)
{
    if (scratch[0])
        unlink(scratch);
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
    if (!scratch[0]) {
        /* /dev/shm first: a file written per input is slow on a disk. */
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/vs-fuzz-%ld.input", dir, (long)getpid());
        atexit(scratch_remove);
    }
    FILE *f = fopen(scratch, "wb");
    FUZZ_CHECK(f, "cannot write %s", scratch);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", scratch);
    return scratch;
}

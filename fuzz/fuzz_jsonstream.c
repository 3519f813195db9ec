/* The List scanner (k8s/jsonstream.h): whatever the bytes, the scan ends
 * in 0 or an error, and where it is cut does not change what it finds: the
 * document fed whole and fed in two pieces (cut at the first byte's value)
 * hands the same items, with the same bytes, and ends the same way. */
#include <string.h>
#include "base/err.h"
#include "base/hash.h"
#include "fuzz/fuzz.h"
#include "k8s/jsonstream.h"

struct seen {
    size_t n;
    uint64_t h; /* of every item's bytes and offset, in order */
};

static int on_item(void *ctx, const struct jsonstream_item *it)
{
    struct seen *s = ctx;
    FUZZ_CHECK(it->index == s->n, "item %zu after %zu", it->index, s->n);
    /* NUL-terminated at len (a raw NUL inside is the item parser's to refuse) */
    FUZZ_CHECK(it->json[it->len] == '\0', "item %zu: not terminated at %zu", it->index, it->len);
    s->h = hash_mix(hash_fnv(s->h, it->json, it->len) ^ it->offset);
    s->n++;
    return 0;
}

static int scan(const char *p, size_t n, size_t cut, struct seen *s)
{
    char err[256];
    struct jsonstream *js = jsonstream_create(1 << 16, on_item, s);
    int rc = jsonstream_feed(js, p, cut, err, sizeof err);
    if (!rc)
        rc = jsonstream_feed(js, p + cut, n - cut, err, sizeof err);
    if (!rc)
        rc = jsonstream_end(js, err, sizeof err);
    jsonstream_destroy(js);
    FUZZ_CHECK(rc == 0 || rc == ERR_INVAL || rc == ERR_TOOBIG, "rc %d", rc);
    FUZZ_CHECK(rc == 0 || strstr(err, "byte "), "an error without its offset: %s", err);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size < 1 || size > (1 << 18))
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1, cut = n ? data[0] % (n + 1) : 0;
    struct seen whole = {0, 0}, split = {0, 0};
    int a = scan(p, n, n, &whole), b = scan(p, n, cut, &split);
    FUZZ_CHECK(a == b, "whole rc %d, cut at %zu rc %d", a, cut, b);
    FUZZ_CHECK(whole.n == split.n && whole.h == split.h, "cut at %zu: %zu items, whole %zu", cut,
               split.n, whole.n);
    return 0;
}

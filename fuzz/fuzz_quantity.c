/* Kubernetes quantities (k8s/quantity.h): every parse ends in 0 or an
 * error, and the three readings of one string agree with each other. */
#include <stdint.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 4096)
        return 0;
    char *s = fuzz_cstr(data, size);
    int64_t milli = 0, v = 0, up = 0, down = 0;
    int rm = quantity_milli(s, &milli);
    int ri = quantity_int(s, &v);
    int ru = quantity_mib(s, true, &up);
    int rd = quantity_mib(s, false, &down);
    FUZZ_CHECK(rm == 0 || rm == ERR_INVAL || rm == ERR_RANGE, "milli rc %d", rm);
    FUZZ_CHECK(ri == 0 || ri == ERR_INVAL || ri == ERR_RANGE, "int rc %d", ri);
    FUZZ_CHECK(ru == 0 || ru == ERR_INVAL || ru == ERR_RANGE, "mib rc %d", ru);
    /* A whole number is also a quantity, and the milli-units say it. */
    if (ri == 0 && rm == 0)
        FUZZ_CHECK(milli == v * 1000, "\"%s\": milli %lld, int %lld", s, (long long)milli,
                   (long long)v);
    if (ri == 0)
        FUZZ_CHECK(rm != ERR_INVAL, "\"%s\": a whole number but no quantity", s);
    /* Rounding up and down differ by at most one MiB. */
    FUZZ_CHECK(ru == rd || (ru == ERR_RANGE || rd == ERR_RANGE), "\"%s\": mib rc %d vs %d", s, ru,
               rd);
    if (ru == 0 && rd == 0)
        FUZZ_CHECK(up >= down && up - down <= 1, "\"%s\": mib up %lld down %lld", s, (long long)up,
                   (long long)down);
    free(s);
    return 0;
}

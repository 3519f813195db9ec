/* kubeconfig files (k8s/kubeconfig.h, libyaml): the input is one file;
 * loading it ends in a config or an error with a message, and what loads
 * has a server and a namespace. The base64 decoder gets the input too. */
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 65536)
        return 0;
    const char *path = fuzz_file(data, size);
    struct kubeconfig kc;
    char err[1024] = "";
    memset(&kc, 0, sizeof kc);
    int rc = kubeconfig_load(path, &kc, err, sizeof err);
    if (rc == 0) {
        FUZZ_CHECK(kc.server && kc.ns && kc.source, "loaded without server, namespace or source");
        char w[512];
        for (int i = 0; i < 8 && kubeconfig_warning(&kc, i, w, sizeof w); i++)
            FUZZ_CHECK(w[0], "an empty warning");
        if (kc.ca_data)
            FUZZ_CHECK(kc.ca_data[kc.ca_len] == '\0', "ca data not terminated");
    } else {
        FUZZ_CHECK(rc == ERR_IO || rc == ERR_TOOBIG || rc == ERR_INVAL || rc == ERR_UNSUPPORTED,
                   "rc %d", rc);
        FUZZ_CHECK(err[0], "error %d without a message", rc);
    }
    kubeconfig_free(&kc);

    char *s = fuzz_cstr(data, size), *out = NULL;
    size_t len = 0;
    if (kubeconfig_base64(s, &out, &len) == 0) {
        FUZZ_CHECK(out && out[len] == '\0', "base64 result not terminated");
        FUZZ_CHECK(len <= size, "base64 grew: %zu of %zu", len, size);
    }
    free(out);
    free(s);
    return 0;
}

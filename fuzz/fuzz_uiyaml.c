/* The web view's YAML reader (server/ui.h ui_yaml_to_json, for a pasted
 * pod): whatever the text, it ends in a tree or NULL with the reason, and a
 * tree printed as JSON parses back to a tree that prints the same. */
#include <cjson/cJSON.h>
#include <string.h>
#include "fuzz/fuzz.h"
#include "server/ui.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > (1 << 16))
        return 0;
    char err[512] = "";
    cJSON *t = ui_yaml_to_json((const char *)data, size, err, sizeof err);
    FUZZ_CHECK(t || err[0], "no tree and no reason");
    if (t) {
        char *s = cJSON_PrintUnformatted(t);
        FUZZ_CHECK(s, "a tree that does not print");
        /* Printed again, the same text: cJSON_Compare would do, but its
         * time doubles with each level of nested objects (up to 64 here). */
        cJSON *back = cJSON_Parse(s);
        char *again = back ? cJSON_PrintUnformatted(back) : NULL;
        FUZZ_CHECK(again && strcmp(s, again) == 0, "printed tree does not read back: %.200s", s);
        cJSON_free(again);
        cJSON_Delete(back);
        cJSON_free(s);
    }
    cJSON_Delete(t);
    return 0;
}

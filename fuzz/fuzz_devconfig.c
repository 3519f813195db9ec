/* HAMi's device config (server/devconfig.h, libyaml): the input is the
 * file --device-config-file names; reading it ends in a config or one
 * error line, and what is read describes itself. The rows' names are
 * process state set once at start, so only the read-only checks run. */
#include <string.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "server/config.h"
#include "server/devconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > 65536)
        return 0;
    static struct config cfg;
    static struct devconfig dc, running;
    static int ready;
    char err[1024] = "";
    if (!ready) {
        char *argv[] = {"vgpu-scheduler", NULL};
        FUZZ_CHECK(config_parse(&cfg, CONFIG_SERVE, 1, argv, err, sizeof err) == 0, "%s", err);
        FUZZ_CHECK(devconfig_from_config(&cfg, &running, err, sizeof err) == 0, "defaults: %s",
                   err);
        ready = 1;
    }
    const char *path = fuzz_file(data, size);
    snprintf(cfg.device_config_file, sizeof cfg.device_config_file, "%s", path);
    int rc = devconfig_from_config(&cfg, &dc, err, sizeof err);
    if (rc == 0) {
        char line[2048];
        devconfig_describe(&dc, line, sizeof line);
        cJSON *j = devconfig_json(&dc);
        FUZZ_CHECK(j, "no JSON for a config that was read");
        char *txt = cJSON_PrintUnformatted(j);
        FUZZ_CHECK(txt, "the JSON does not print");
        free(txt);
        cJSON_Delete(j);
        struct model_defaults d = devconfig_defaults(&dc);
        FUZZ_CHECK(d.mem_factor >= 1 && d.default_mem >= 0 && d.default_cores >= 0 &&
                       d.default_cores <= 100,
                   "defaults mem %d cores %d factor %d", d.default_mem, d.default_cores,
                   d.mem_factor);
        (void)devconfig_names_running(&dc, err, sizeof err);
        (void)devconfig_chips_running(&running, &dc, err, sizeof err);
        FUZZ_CHECK(memchr(dc.runtime_class, '\0', sizeof dc.runtime_class) &&
                       memchr(dc.core_policy, '\0', sizeof dc.core_policy),
                   "unterminated option");
    } else {
        FUZZ_CHECK(rc == ERR_IO || rc == ERR_TOOBIG || rc == ERR_INVAL || rc == ERR_RANGE ||
                       rc == ERR_UNSUPPORTED,
                   "rc %d", rc);
        FUZZ_CHECK(err[0], "error %d without a message", rc);
    }
    return 0;
}

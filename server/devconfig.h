/* devconfig: HAMi's device configuration (issue 19), so an operator
 * switching from HAMi keeps theirs: the device ConfigMap HAMi's chart
 * mounts at /device-config.yaml (`--device-config-file`, read with libyaml)
 * and HAMi's scheduler flags `--default-mem`, `--default-cores`,
 * `--default-gpu` and each device row's resource-name flags
 * (`--resource-name`, `--dcu-name`, ...), which win over the file.
 *
 * Every key of HAMi's format is known. A device row's section (its
 * config_section) renames the row's resources (resource*Name); its nvidia
 * section's request
 * defaults and memoryFactor are used; the device plugin's own keys
 * (deviceSplitCount, deviceMemoryScaling, ...) are read and left to it,
 * as HAMi's scheduler leaves them; the sections of other vendors are read
 * and listed as having no device backend here. A value this scheduler
 * would treat differently from HAMi (a defaultGPUNum of 0, overwriteEnv disagreeing with
 * --overwrite-env, disableCoreLimit true) is refused, never ignored; the
 * webhook options runtimeClassName, gpuCorePolicy and defaultGPUNum go to
 * the webhook (flags --runtime-class-name, --gpu-core-policy and
 * --default-gpu win over them); so are an unknown key and a
 * file that does not parse. Errors name the file, the line and the key. */
#ifndef VS_DEVCONFIG_H
#define VS_DEVCONFIG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s/model.h"
#include "policy/device_ascend.h"
#include "server/config.h"

#define DEVCONFIG_MAX_BYTES (4u << 20) /* the file; a ConfigMap holds at most 1 MiB */
#define DEVCONFIG_NAME_MAX  254        /* a RuntimeClass name (a DNS subdomain), NUL included */
#define DEVCONFIG_VNPU_MAX  16         /* entries of vnpus.configs */

/* What was read. Open value struct. */
struct devconfig {
    char file[CONFIG_PATH_MAX]; /* "" = no file */
    int32_t default_mem;        /* nvidia.defaultMemory, MiB (HAMi: 0 = the whole card) */
    int32_t default_cores;      /* nvidia.defaultCores, % (HAMi: 0) */
    int32_t default_gpu;        /* nvidia.defaultGPUNum (HAMi: 1) */
    int32_t mem_factor;         /* nvidia.memoryFactor (HAMi: 1) */
    char from[128];             /* the flags that set a value over the file's, comma list */
    char plugin_keys[1024];     /* nvidia keys read and left to the device plugin, comma list */
    char other_vendors[512];    /* sections of vendors without a device backend here */
    char runtime_class[DEVCONFIG_NAME_MAX]; /* nvidia.runtimeClassName; "" = none */
    char core_policy[16];                   /* nvidia.gpuCorePolicy: default, force, disable */
    /* Resource names, at [row * POLICY_RES_N + role] (policy/device.h):
     * <section>.resource*Name, then the row's flags; "" = the row's own.
     * res_line: the file's line of each (0 = a flag or not set). */
    char res[POLICY_DEVICE_ROWS_MAX * POLICY_RES_N][POLICY_RES_NAME_MAX];
    int res_line[POLICY_DEVICE_ROWS_MAX * POLICY_RES_N];
    /* vnpus.configs: each replaces the sizes and templates of the Ascend row
     * of its commonWord (policy/device_ascend.h); chips it does not list
     * keep HAMi's defaults. */
    int nvnpu;
    struct policy_vnpu vnpu[DEVCONFIG_VNPU_MAX];
};

/* HAMi's defaults, then the file of c->device_config_file (if any), then
 * the flags c->default_mem / default_cores / default_gpu (when >= 0).
 * Returns 0, or ERR_INVAL / ERR_RANGE / ERR_TOOBIG / ERR_IO with one line
 * in err: "FILE:LINE: nvidia.KEY: why". Changes nothing outside out. */
int devconfig_from_config(const struct config *c, struct devconfig *out, char *err, size_t cap);

/* Make d's resource names the ones every row reads (policy_device_res_set);
 * names d leaves "" go back to the rows' own; d's vnpus.configs replace
 * their Ascend rows' sizes and templates. Only at start, before any thread
 * reads the rows. Returns 0, or ERR_INVAL / ERR_CONFLICT with
 * "ORIGIN: why" in err (ORIGIN the flag, or FILE:LINE: section.key). */
int devconfig_apply_names(const struct devconfig *d, char *err, size_t cap);

/* Whether d names the resources the rows read now. Returns 0, or
 * ERR_UNSUPPORTED with the first difference in err (names change only at
 * a restart: pods already placed were read with the old ones). */
int devconfig_names_running(const struct devconfig *d, char *err, size_t cap);

/* Whether d configures the Ascend chips (vnpus.configs) as running does.
 * Returns 0, or ERR_UNSUPPORTED naming the first chip that differs (the
 * rows' templates are read without a lock: they change only at a restart). */
int devconfig_chips_running(const struct devconfig *running, const struct devconfig *d, char *err,
                            size_t cap);

/* Whether v is a RuntimeClass name (a DNS subdomain; "" = none) / one of
 * HAMi's GPU core policies (default, force, disable; "" = default).
 * Returns 0, or ERR_INVAL with why in err. Usable as config checks. */
int devconfig_check_runtime_class(const char *v, char *err, size_t cap);
int devconfig_check_core_policy(const char *v, char *err, size_t cap);

/* The request defaults the pod parser takes. */
struct model_defaults devconfig_defaults(const struct devconfig *d);

/* One line describing d, for the start log. */
void devconfig_describe(const struct devconfig *d, char *buf, size_t cap);

/* d as a JSON object for /inspect. New; caller frees with cJSON_Delete. */
cJSON *devconfig_json(const struct devconfig *d);

#endif

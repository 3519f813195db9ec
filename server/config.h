/* config: the command line, validated, in one read-only struct.
 *
 * Every flag is one row of the table in config.c (name, type, bounds,
 * default, help text, where it goes in struct config), like redis's
 * static_configs[]. Parsing, defaults, error messages and --help all come
 * from that table. Flags are written `--name=value` or `--name value`;
 * booleans `--name` or `--name=true|false`. The last occurrence wins.
 *
 * A row belongs to one or more scopes: the service (CONFIG_SERVE) and the
 * `simulate` subcommand (CONFIG_SIMULATE) share the flags they have in
 * common; a flag of another scope is unknown. `gen-cert` (CONFIG_GENCERT) has
 * flags of its own. */
#ifndef VS_CONFIG_H
#define VS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/device.h"

enum config_scope { CONFIG_SERVE = 1, CONFIG_SIMULATE = 2, CONFIG_GENCERT = 4 };

enum config_filter_mode { CONFIG_FILTER_SINGLE, CONFIG_FILTER_ALL };
/* Where the web view (server/ui.h) is served. */
enum config_web_ui { CONFIG_UI_MAIN, CONFIG_UI_METRICS, CONFIG_UI_OFF };

#define CONFIG_ADDR_MAX  256
#define CONFIG_NAME_MAX  254 /* a DNS subdomain, NUL included */
#define CONFIG_PATH_MAX  4096
#define CONFIG_NODES_MAX 65536

/* Open value struct, filled by config_parse and read-only after. Strings are
 * NUL-terminated arrays; durations are milliseconds. */
struct config {
    char http_bind[CONFIG_ADDR_MAX]; /* "host:port"; port 0 = any free port */
    char scheduler_name[CONFIG_NAME_MAX];
    char node_policy[64];               /* a name policy_node_policy_find() knows */
    char gpu_policy[128];               /* accepted by policy_gpu_policy_parse() */
    char metrics_bind[CONFIG_ADDR_MAX]; /* "" = /metrics on the main port */
    char webhook_bind[CONFIG_ADDR_MAX]; /* "" = /webhook on the main port */
    int max_connections;                /* per listener */
    int max_per_ip;                     /* per client address and listener; 0 = none */
    int64_t read_timeout_ms;            /* a request's headers and body */
    int64_t idle_timeout_ms;            /* between requests */
    int64_t node_lock_timeout_ms;
    bool debug;
    char snapshot[CONFIG_PATH_MAX];      /* "" = none */
    char workload_file[CONFIG_PATH_MAX]; /* "" = none: learn from pods alone */
    int filter_mode;                     /* enum config_filter_mode */
    int64_t reservation_ttl_ms;
    int threads;        /* 1..256; "0" on the command line becomes the online cores */
    int bind_threads;   /* 1..1024: threads of /bind (http_route_offload) */
    int filter_threads; /* 1..16; "0" becomes the online cores, at most 4 */
    uint64_t seed;
    char pod[CONFIG_PATH_MAX];    /* simulate: the pod's JSON file */
    char nodes[CONFIG_NODES_MAX]; /* simulate: "a,b,c"; "" = every node */
    bool help;                    /* --help was given: print config_usage, exit 0 */
    /* TLS (server/tls.h) and the admission webhook (webhook/) */
    char cert_file[CONFIG_PATH_MAX];      /* "" = plain HTTP; set with key_file */
    char key_file[CONFIG_PATH_MAX];       /* "" = plain HTTP */
    char client_ca_file[CONFIG_PATH_MAX]; /* "" = no client certificates; needs cert_file */
    bool force_overwrite_default;         /* the webhook replaces "default-scheduler" */
    bool overwrite_env;                   /* webhook/pod.h: NVIDIA_VISIBLE_DEVICES */
    char trusted_writers[2048];           /* usernames, comma list (webhook/trust.h) */
    /* gen-cert */
    char gen_service[64];   /* a DNS label */
    char gen_namespace[64]; /* a DNS label */
    char gen_out[CONFIG_PATH_MAX];
    int gen_days;
    char gen_patch[CONFIG_PATH_MAX]; /* "" = no caBundle JSON patch file */
    /* the API server (k8s/kube.h, k8s/watch.h), when there is no --snapshot */
    char kubeconfig[CONFIG_PATH_MAX]; /* "" = $KUBECONFIG, else the pod's service account */
    int kube_qps;                     /* requests per second to the API server */
    int kube_burst;
    int64_t kube_timeout_ms;  /* per API request */
    char node_selector[1024]; /* labelSelector of the nodes considered; "" = all */
    /* HAMi's device configuration (server/devconfig.h) */
    char device_config_file[CONFIG_PATH_MAX]; /* "" = HAMi's defaults */
    int default_mem;                          /* MiB; -1 = the file's, else HAMi's 0 */
    int default_cores;                        /* %; -1 = the file's, else HAMi's 0 */
    int default_gpu;                          /* -1 = the file's, else HAMi's 1 */
    char runtime_class[254];                  /* "" = the file's runtimeClassName, else none */
    char gpu_core_policy[16];                 /* "" = the file's gpuCorePolicy, else default */
    bool legacy_metrics;                      /* HAMi's legacy metric names too (hamimetrics.h) */
    /* Resource names from the device rows' flags (res_flag: HAMi's
     * --resource-name, --dcu-name, ...), at [row * POLICY_RES_N + role];
     * "" = not given. */
    char res_names[POLICY_DEVICE_ROWS_MAX * POLICY_RES_N][POLICY_RES_NAME_MAX];
    bool enable_ascend; /* HAMi's --enable-ascend: accepted; Ascend rows are always active */
    int64_t nomination_hold_ms; /* place/preempt.h: the hold for a nominated preemptor */
    /* high availability (k8s/lease.h) */
    char leader_lease[320];                /* "ns/name" of the Lease followed; "" = always lead */
    char leader_identity[CONFIG_NAME_MAX]; /* "" = the hostname */
    /* priorities (docs/quotas-and-priorities.md) */
    char oversub_priority[16]; /* "" = off; else pods above this priority avoid oversubscribed
                                  nodes */
    int web_ui;                /* enum config_web_ui */
    int pending_kib;           /* the pending pod store's bound; 0 = follows the node count */
};

/* Fill c with every default (all scopes). */
void config_defaults(struct config *c);

/* Fill c from defaults, then from argv[1..argc) with the flags of `scope`
 * (argv[0] is the program or subcommand name and is skipped). Returns 0, or
 * ERR_INVAL / ERR_RANGE / ERR_TOOBIG with one line in err naming the flag and
 * the bad value ("--threads: \"abc\" is not an integer (0..256)"); the
 * caller prints it and exits 2. When --help is given, parsing stops, c->help
 * is true and 0 is returned. */
int config_parse(struct config *c, enum config_scope scope, int argc, char **argv, char *err,
                 size_t cap);

/* Write the usage text of `scope`: every flag with its type, default and
 * help, generated from the table. */
void config_usage(FILE *out, enum config_scope scope);

/* Format a duration the way flags take it ("5m", "1500ms") into buf. */
void config_duration_format(int64_t ms, char *buf, size_t cap);

#endif

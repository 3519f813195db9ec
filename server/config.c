#include "server/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/err.h"
#include "policy/policy.h"
#include "server/devconfig.h"
#include "server/http.h"
#include "webhook/trust.h"

enum type { T_STR, T_INT, T_U64, T_BOOL, T_DURATION, T_ENUM, T_ADDR };

#define NONEMPTY 1u /* a string that may not be "" */

/* One flag. Defaults are text parsed like a command-line value, so a default
 * obeys the same bounds. min/max bound T_INT values and T_DURATION ms. */
struct option {
    const char *name;
    enum type type;
    unsigned scope;
    size_t off, size;
    const char *def;
    long long min, max;
    unsigned flags;
    const char *const *choices;        /* T_ENUM, NULL-terminated */
    const char *const *(*names)(void); /* T_STR: the valid values, for --help */
    int (*check)(const char *value, char *err, size_t cap);
    const char *arg; /* placeholder in --help */
    const char *help;
};

#define FIELD(f) .off = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)
#define BOTH     (CONFIG_SERVE | CONFIG_SIMULATE)
#define SEC      1000LL
#define HOUR     (3600 * SEC)

static int check_node_policy(const char *v, char *err, size_t cap);
static int check_gpu_policy(const char *v, char *err, size_t cap);
static int check_dns_label(const char *v, char *err, size_t cap);
static int check_lease(const char *v, char *err, size_t cap);
static int check_priority(const char *v, char *err, size_t cap);

static const char *const filter_modes[] = {"single", "all", NULL};
static const char *const web_ui_places[] = {"main", "metrics", "off", NULL};

/* clang-format off */
static const struct option options[] = {
    {.name = "http_bind", .type = T_ADDR, .scope = CONFIG_SERVE, FIELD(http_bind),
     .def = "127.0.0.1:8888", .flags = NONEMPTY, .arg = "HOST:PORT",
     .help = "Address to serve the extender on; port 0 picks a free port."},
    {.name = "scheduler-name", .type = T_STR, .scope = CONFIG_SERVE, FIELD(scheduler_name),
     .def = "vgpu-scheduler", .flags = NONEMPTY, .arg = "NAME",
     .help = "spec.schedulerName of the pods this scheduler places."},
    {.name = "node-scheduler-policy", .type = T_STR, .scope = BOTH, FIELD(node_policy),
     .def = "binpack", .flags = NONEMPTY, .check = check_node_policy,
     .names = policy_node_policy_names, .arg = "POLICY",
     .help = "How to choose among nodes, for pods that name no policy."},
    {.name = "gpu-scheduler-policy", .type = T_STR, .scope = BOTH, FIELD(gpu_policy),
     .def = "spread", .flags = NONEMPTY, .check = check_gpu_policy, .arg = "POLICY",
     .help = "How to choose GPUs on a node, for pods that name no policy: a comma list of "
             "binpack, spread, numa, mutex, topology-aware."},
    {.name = "metrics-bind-address", .type = T_ADDR, .scope = CONFIG_SERVE, FIELD(metrics_bind),
     .def = "", .arg = "HOST:PORT",
     .help = "Serve /metrics on this address too (plain HTTP, no client certificate); empty: "
             "only on the main port."},
    {.name = "webhook-bind", .type = T_ADDR, .scope = CONFIG_SERVE, FIELD(webhook_bind),
     .def = "", .arg = "HOST:PORT",
     .help = "Serve /webhook (and /healthz, /readyz) on this address, with the same TLS pair "
             "and no client certificate, and no longer on --http_bind; empty: /webhook is on "
             "--http_bind."},
    {.name = "max-connections", .type = T_INT, .scope = CONFIG_SERVE, FIELD(max_connections),
     .def = "4096", .min = 16, .max = 1000000, .arg = "N",
     .help = "Connections each listener holds at once; more wait in the accept queue."},
    {.name = "max-connections-per-ip", .type = T_INT, .scope = CONFIG_SERVE, FIELD(max_per_ip),
     .def = "64", .min = 0, .max = 1000000, .arg = "N",
     .help = "Connections from one client address on each listener; more are closed at once. "
             "Not applied on --http_bind when it is a loopback address (every client there is "
             "127.0.0.1: --max-connections bounds it). 0: no limit."},
    {.name = "read-timeout", .type = T_DURATION, .scope = CONFIG_SERVE, FIELD(read_timeout_ms),
     .def = "10s", .min = 100, .max = 10 * 60 * SEC, .arg = "DURATION",
     .help = "A request's headers and body must be in within this of its first byte (of "
             "connecting, for a connection's first request); slow senders cannot extend it."},
    {.name = "idle-timeout", .type = T_DURATION, .scope = CONFIG_SERVE, FIELD(idle_timeout_ms),
     .def = "60s", .min = SEC, .max = HOUR, .arg = "DURATION",
     .help = "Close a keep-alive connection idle this long between requests."},
    {.name = "node-lock-timeout", .type = T_DURATION, .scope = CONFIG_SERVE,
     FIELD(node_lock_timeout_ms), .def = "5m", .min = 100, .max = 24 * HOUR, .arg = "DURATION",
     .help = "Age after which a node lock counts as stale."},
    {.name = "debug", .type = T_BOOL, .scope = BOTH, FIELD(debug), .def = "false",
     .help = "Log at debug level."},
    {.name = "snapshot", .type = T_STR, .scope = BOTH, FIELD(snapshot), .def = "", .arg = "FILE",
     .help = "Load the cluster from this file (kubectl get nodes,pods -A -o json) instead of "
             "the API server."},
    {.name = "workload-file", .type = T_STR, .scope = BOTH, FIELD(workload_file), .def = "",
     .arg = "FILE",
     .help = "Seed the workload fragment-aware measures against: a JSON list of "
             "{\"weight\": N, \"pod\": <Pod>}. It keeps learning from the pods it sees."},
    {.name = "filter-mode", .type = T_ENUM, .scope = CONFIG_SERVE, FIELD(filter_mode),
     .def = "single", .choices = filter_modes, .arg = "MODE",
     .help = "single: filter answers the one node it chose (HAMi's way); all: every node that "
             "fits, ranked by prioritize."},
    {.name = "reservation-ttl", .type = T_DURATION, .scope = CONFIG_SERVE,
     FIELD(reservation_ttl_ms), .def = "60s", .min = 100, .max = 24 * HOUR, .arg = "DURATION",
     .help = "How long a filter's choice is held for the bind that should follow."},
    {.name = "threads", .type = T_INT, .scope = CONFIG_SERVE, FIELD(threads), .def = "0",
     .min = 0, .max = 256, .arg = "N", .help = "HTTP worker threads; 0: one per online core."},
    {.name = "bind-threads", .type = T_INT, .scope = CONFIG_SERVE, FIELD(bind_threads),
     .def = "16", .min = 1, .max = 1024, .arg = "N",
     .help = "Threads that serve /bind apart from the HTTP workers: a bind waits on the API "
             "server and on node locks, and must not hold up filters. More wait in order."},
    {.name = "filter-threads", .type = T_INT, .scope = CONFIG_SERVE, FIELD(filter_threads),
     .def = "0", .min = 0, .max = 16, .arg = "N",
     .help = "Threads that judge one filter's nodes together (its own HTTP worker and "
             "helpers), when it is the only filter running, has 512 nodes or more and about 128 "
             "or more of them to judge afresh (not from its memos); 0: the online cores, at most 4."},
    {.name = "seed", .type = T_U64, .scope = BOTH, FIELD(seed), .def = "0", .arg = "N",
     .help = "Seed for breaking ties between equally good nodes."},
    {.name = "kubeconfig", .type = T_STR, .scope = CONFIG_SERVE, FIELD(kubeconfig), .def = "",
     .arg = "FILE",
     .help = "Without --snapshot: the API server from this kubeconfig (current context; a "
             "colon list merges like kubectl); empty: $KUBECONFIG, else the pod's service "
             "account."},
    {.name = "kube-qps", .type = T_INT, .scope = CONFIG_SERVE, FIELD(kube_qps), .def = "50",
     .min = 1, .max = 100000, .arg = "N",
     .help = "Requests per second to the API server, sustained (all requests share it)."},
    {.name = "kube-burst", .type = T_INT, .scope = CONFIG_SERVE, FIELD(kube_burst), .def = "100",
     .min = 1, .max = 100000, .arg = "N",
     .help = "Requests to the API server allowed at once above --kube-qps."},
    {.name = "kube-timeout", .type = T_DURATION, .scope = CONFIG_SERVE, FIELD(kube_timeout_ms),
     .def = "10s", .min = 100, .max = 10 * 60 * SEC, .arg = "DURATION",
     .help = "Timeout of one API request (watches excepted)."},
    {.name = "node-label-selector", .type = T_STR, .scope = CONFIG_SERVE, FIELD(node_selector),
     .def = "", .arg = "SELECTOR",
     .help = "Only nodes matching this label selector (k=v,k!=v,k,!k) are watched and "
             "considered; empty: every node."},
    {.name = "leader-elect-lease", .type = T_STR, .scope = CONFIG_SERVE, FIELD(leader_lease),
     .def = "vgpu-system/vgpu-scheduler", .check = check_lease, .arg = "NAMESPACE/NAME",
     .help = "Without --snapshot: write in the background (node handshakes, orphaned lock "
             "release, events nobody asked for) only while this coordination.k8s.io/v1 Lease, "
             "held by the kube-scheduler beside us, names --leader-identity and has not run "
             "out; stand by otherwise (verbs and the webhook are answered either way). Empty: "
             "always lead."},
    {.name = "leader-identity", .type = T_STR, .scope = CONFIG_SERVE, FIELD(leader_identity),
     .def = "", .arg = "ID",
     .help = "Who we are in the Lease: we lead while its holderIdentity is ID or begins with "
             "ID_ (kube-scheduler writes <hostname>_<uuid>). Empty: the hostname."},
    {.name = "pod", .type = T_STR, .scope = CONFIG_SIMULATE, FIELD(pod), .def = "",
     .arg = "FILE", .help = "The pod to place, as JSON."},
    {.name = "nodes", .type = T_STR, .scope = CONFIG_SIMULATE, FIELD(nodes), .def = "",
     .arg = "A,B,...", .help = "Only consider these nodes; empty: every node."},
    {.name = "cert_file", .type = T_STR, .scope = CONFIG_SERVE, FIELD(cert_file), .def = "",
     .arg = "FILE",
     .help = "Serve every route over HTTPS (TLS 1.2+) with this PEM certificate (then any "
             "intermediates); reloaded when the file changes. Needs --key_file."},
    {.name = "key_file", .type = T_STR, .scope = CONFIG_SERVE, FIELD(key_file), .def = "",
     .arg = "FILE", .help = "The PEM private key of --cert_file (not encrypted)."},
    {.name = "client-ca-file", .type = T_STR, .scope = CONFIG_SERVE, FIELD(client_ca_file),
     .def = "", .arg = "FILE",
     .help = "Require a client certificate signed by this PEM CA on /filter, /prioritize, "
             "/bind, /inspect and /metrics of --http_bind (not on /webhook, /healthz, /readyz, "
             "nor on --metrics-bind-address). Needs --cert_file."},
    {.name = "force-overwrite-default-scheduler", .type = T_BOOL, .scope = CONFIG_SERVE,
     FIELD(force_overwrite_default), .def = "true",
     .help = "The webhook gives GPU pods that name default-scheduler this scheduler too (pods "
             "naming another scheduler are always left alone)."},
    {.name = "overwrite-env", .type = T_BOOL, .scope = CONFIG_SERVE, FIELD(overwrite_env),
     .def = "true",
     .help = "The webhook gives containers that ask for no nvidia.com/ resource "
             "NVIDIA_VISIBLE_DEVICES=none (replacing theirs) and removes the variable from those "
             "that do (the device plugin sets it): HAMi's overwriteEnv."},
    {.name = "trusted-annotation-writers", .type = T_STR, .scope = CONFIG_SERVE,
     FIELD(trusted_writers), .flags = NONEMPTY, .check = webhook_trust_validate,
     .def = "system:serviceaccount:vgpu-system:vgpu-scheduler,"
            "system:serviceaccount:kube-system:hami-device-plugin",
     .arg = "USER,...",
     .help = "The only users (kube-apiserver usernames) the webhook lets set, change or remove "
             "a pod's hami.io/vgpu-* and hami.io/bind-* annotations and hami.io/vgpu-node label: "
             "the scheduler's and the device plugin's service accounts. Pods running as one "
             "keep their NVIDIA_VISIBLE_DEVICES."},
    {.name = "service", .type = T_STR, .scope = CONFIG_GENCERT, FIELD(gen_service), .def = "",
     .check = check_dns_label, .arg = "NAME",
     .help = "The Service's name: the certificate is for NAME, NAME.NS, NAME.NS.svc, "
             "NAME.NS.svc.cluster.local, localhost and 127.0.0.1."},
    {.name = "namespace", .type = T_STR, .scope = CONFIG_GENCERT, FIELD(gen_namespace),
     .def = "", .check = check_dns_label, .arg = "NS", .help = "The Service's namespace."},
    {.name = "out", .type = T_STR, .scope = CONFIG_GENCERT, FIELD(gen_out), .def = "",
     .arg = "DIR", .help = "Write ca.crt, tls.crt and tls.key here (created if missing)."},
    {.name = "days", .type = T_INT, .scope = CONFIG_GENCERT, FIELD(gen_days), .def = "3650",
     .min = 1, .max = 36500, .arg = "N", .help = "Validity of the CA and the certificate."},
    {.name = "ca-bundle-patch", .type = T_STR, .scope = CONFIG_GENCERT, FIELD(gen_patch),
     .def = "", .arg = "FILE",
     .help = "Also write a JSON Patch setting webhooks[0].clientConfig.caBundle, for "
             "kubectl patch --type=json --patch-file FILE."},
    {.name = "device-config-file", .type = T_STR, .scope = BOTH, FIELD(device_config_file),
     .def = "", .arg = "FILE",
     .help = "HAMi's device ConfigMap (device-config.yaml, as HAMi's chart mounts it): the "
             "nvidia section's request defaults and memoryFactor are used; an unknown key, a "
             "value handled differently here, or a file that does not parse stops the start."},
    {.name = "default-mem", .type = T_INT, .scope = BOTH, FIELD(default_mem), .def = "-1",
     .min = -1, .max = 2147483647, .arg = "MIB",
     .help = "HAMi's flag: GPU memory of a container that asks GPUs but names no memory; 0: the "
             "whole card; -1: the file's defaultMemory, else 0."},
    {.name = "default-cores", .type = T_INT, .scope = BOTH, FIELD(default_cores), .def = "-1",
     .min = -1, .max = 100, .arg = "PERCENT",
     .help = "HAMi's flag: GPU cores of a container that names none; -1: the file's "
             "defaultCores, else 0."},
    {.name = "default-gpu", .type = T_INT, .scope = BOTH, FIELD(default_gpu), .def = "-1",
     .min = -1, .max = 64, .arg = "N",
     .help = "HAMi's flag: GPUs the webhook gives a container that asks GPU memory or cores "
             "but no count (1 or more); -1: the file's defaultGPUNum, else 1."},
    {.name = "runtime-class-name", .type = T_STR, .scope = CONFIG_SERVE, FIELD(runtime_class),
     .def = "", .check = devconfig_check_runtime_class, .arg = "NAME",
     .help = "HAMi's runtimeClassName: the webhook sets spec.runtimeClassName of GPU pods that "
             "name none; empty: the device config's, else none."},
    {.name = "gpu-core-policy", .type = T_STR, .scope = CONFIG_SERVE, FIELD(gpu_core_policy),
     .def = "", .check = devconfig_check_core_policy, .arg = "POLICY",
     .help = "HAMi's gpuCorePolicy: force or disable is given to HAMi-core in "
             "GPU_CORE_UTILIZATION_POLICY of every GPU container; default: nothing; empty: the "
             "device config's, else default."},
    {.name = "legacy-metrics", .type = T_BOOL, .scope = CONFIG_SERVE, FIELD(legacy_metrics),
     .def = "true",
     .help = "HAMi's flag: /metrics also carries HAMi's legacy names (GPUDevice*, nodeGPU*, "
             "vGPU*Allocated, QuotaUsed) for older dashboards. HAMi's default is false; true "
             "here, as HAMi releases before the hami_* names exported only these."},
    {.name = "enable-ascend", .type = T_BOOL, .scope = CONFIG_SERVE, FIELD(enable_ascend),
     .def = "false",
     .help = "HAMi's flag, accepted and changing nothing: Huawei Ascend NPUs are scheduled on "
             "every node carrying their register annotation (hami.io/node-register-<chip>)."},
    {.name = "nomination-hold", .type = T_DURATION, .scope = CONFIG_SERVE,
     FIELD(nomination_hold_ms), .def = "2m", .min = 1000, .max = 24 * HOUR, .arg = "DURATION",
     .help = "How long the GPU share preemption freed on a node is held for the preemptor "
             "nominated there (docs/preemption.md)."},
    {.name = "help", .type = T_BOOL, .scope = BOTH | CONFIG_GENCERT, FIELD(help), .def = "false",
     .help = "Print this help and exit."},
    {.name = "oversubscription-priority-threshold", .type = T_STR, .scope = BOTH,
     FIELD(oversub_priority), .def = "", .check = check_priority, .arg = "N",
     .help = "GPU pods whose priority (spec.priority, from their PriorityClass) is above N are "
             "not placed on oversubscribed nodes: nodes whose device plugin registers more GPU "
             "memory than the cards have (HAMi's deviceMemoryScaling > 1; seen from the "
             "nvidia.com/gpu.memory label). Empty: every pod may go there."},
    {.name = "web-ui", .type = T_ENUM, .scope = CONFIG_SERVE, FIELD(web_ui), .def = "main",
     .choices = web_ui_places, .arg = "WHERE",
     .help = "Where the web view (/ui/, and / redirecting to it) is served: main (--http_bind, "
             "with /inspect's access rules: a client certificate when --client-ca-file is "
             "set), metrics (--metrics-bind-address, plain HTTP, for a proxy of your own), or "
             "off."},
    {.name = "pending-store-kib", .type = T_INT, .scope = CONFIG_SERVE, FIELD(pending_kib),
     .def = "0", .min = 0, .max = 16 * 1024 * 1024, .arg = "KIB",
     .help = "Bytes (in KiB) the pending pod store may hold: what bind needs of pods filtered "
             "and not bound yet. 0: 2 KiB per node, at least 1 MiB. When full the entries "
             "put longest ago are evicted (vgpu_scheduler_pending_evictions_total)."},
};
/* clang-format on */

#define NOPTIONS (sizeof options / sizeof options[0])

/* "one of a, b, c" into buf. */
static void list(const char *const *names, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "one of");
    for (int i = 0; names[i] && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s %s", i ? "," : "", names[i]);
}

static int check_node_policy(const char *v, char *err, size_t cap)
{
    char want[256];
    if (policy_node_policy_find(v))
        return 0;
    list(policy_node_policy_names(), want, sizeof want);
    snprintf(err, cap, "\"%.80s\" is not %s", v, want);
    return ERR_INVAL;
}

/* "" or NAMESPACE/NAME: a DNS label, a slash, 1..253 of [a-z0-9.-]. */
/* Empty, or a whole number in int32's range (a PriorityClass value). */
static int check_priority(const char *v, char *err, size_t cap)
{
    char *end = NULL;
    if (!*v)
        return 0;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < INT32_MIN || x > INT32_MAX) {
        snprintf(err, cap, "not a whole number in %d..%d", INT32_MIN, INT32_MAX);
        return ERR_INVAL;
    }
    return 0;
}

static int check_lease(const char *v, char *err, size_t cap)
{
    char ns[64], why[128];
    const char *slash = strchr(v, '/');
    size_t nl = slash ? (size_t)(slash - v) : 0, n = slash ? strlen(slash + 1) : 0;
    if (!*v)
        return 0;
    if (!slash || nl < 1 || nl >= sizeof ns || n < 1 || n > 253 ||
        strspn(slash + 1, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n) {
        snprintf(err, cap, "\"%.80s\" is not NAMESPACE/NAME", v);
        return ERR_INVAL;
    }
    memcpy(ns, v, nl);
    ns[nl] = '\0';
    if (check_dns_label(ns, why, sizeof why)) {
        snprintf(err, cap, "\"%.80s\": the namespace %s", v, why);
        return ERR_INVAL;
    }
    return 0;
}

/* A DNS-1123 label: 1..63 of [a-z0-9-], starting and ending alphanumeric. */
static int check_dns_label(const char *v, char *err, size_t cap)
{
    size_t n = strlen(v);
    if (n == 0)
        return 0; /* required-ness is the subcommand's to check */
    if (n > 63 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n || v[0] == '-' ||
        v[n - 1] == '-') {
        snprintf(err, cap,
                 "\"%.80s\" is not a DNS label (1 to 63 of a-z, 0-9 and '-', starting and "
                 "ending with a letter or digit)",
                 v);
        return ERR_INVAL;
    }
    return 0;
}

static int check_gpu_policy(const char *v, char *err, size_t cap)
{
    struct policy_gpu_policy g;
    return policy_gpu_policy_parse(v, &g, err, cap);
}

void config_duration_format(int64_t ms, char *buf, size_t cap)
{
    if (ms != 0 && ms % HOUR == 0)
        snprintf(buf, cap, "%lldh", (long long)(ms / HOUR));
    else if (ms != 0 && ms % (60 * SEC) == 0)
        snprintf(buf, cap, "%lldm", (long long)(ms / (60 * SEC)));
    else if (ms != 0 && ms % SEC == 0)
        snprintf(buf, cap, "%llds", (long long)(ms / SEC));
    else
        snprintf(buf, cap, "%lldms", (long long)ms);
}

/* Go-style durations of whole numbers: "60s", "5m", "1500ms", "1h30m", "0".
 * Returns 0 or ERR_INVAL. */
static int parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", SEC}, {"m", 60 * SEC}, {"h", HOUR}};
    int64_t total = 0;
    if (strcmp(s, "0") == 0)
        s = ""; /* Go's one unitless duration */
    else if (*s == '\0')
        return ERR_INVAL;
    while (*s) {
        if (*s < '0' || *s > '9')
            return ERR_INVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        size_t i = 0, len = 0;
        for (; i < sizeof units / sizeof units[0]; i++) {
            len = strlen(units[i].unit);
            if (strncmp(end, units[i].unit, len) == 0) /* "ms" is tried before "m" */
                break;
        }
        if (i == sizeof units / sizeof units[0] || errno || v > (unsigned long long)1e12)
            return ERR_INVAL;
        total += (int64_t)v * units[i].ms;
        if (total > 1000 * 24 * HOUR)
            return ERR_INVAL; /* past any sane bound; also keeps the sum from overflowing */
        s = end + len;
    }
    *ms = total;
    return 0;
}

static int parse_bool(const char *s, bool *b)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        *b = true;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        *b = false;
    else
        return ERR_INVAL;
    return 0;
}

static int parse_int(const struct option *o, const char *v, void *dst, char *err, size_t cap)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end || errno == ERANGE) {
        snprintf(err, cap, "--%s: \"%.80s\" is not an integer (%lld..%lld)", o->name, v, o->min,
                 o->max);
        return ERR_INVAL;
    }
    if (x < o->min || x > o->max) {
        snprintf(err, cap, "--%s: \"%.80s\" is out of range (%lld..%lld)", o->name, v, o->min,
                 o->max);
        return ERR_RANGE;
    }
    *(int *)dst = (int)x;
    return 0;
}

static int parse_u64(const struct option *o, const char *v, void *dst, char *err, size_t cap)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || errno == ERANGE) {
        snprintf(err, cap, "--%s: \"%.80s\" is not an unsigned 64-bit integer", o->name, v);
        return ERR_INVAL;
    }
    *(uint64_t *)dst = (uint64_t)x;
    return 0;
}

static int parse_dur(const struct option *o, const char *v, void *dst, char *err, size_t cap)
{
    int64_t ms;
    char lo[32], hi[32];
    config_duration_format(o->min, lo, sizeof lo);
    config_duration_format(o->max, hi, sizeof hi);
    if (parse_duration(v, &ms)) {
        snprintf(err, cap, "--%s: \"%.80s\" is not a duration like 60s, 5m or 1500ms (%s..%s)",
                 o->name, v, lo, hi);
        return ERR_INVAL;
    }
    if (ms < o->min || ms > o->max) {
        snprintf(err, cap, "--%s: \"%.80s\" is out of range (%s..%s)", o->name, v, lo, hi);
        return ERR_RANGE;
    }
    *(int64_t *)dst = ms;
    return 0;
}

static int parse_enum(const struct option *o, const char *v, void *dst, char *err, size_t cap)
{
    for (int i = 0; o->choices[i]; i++)
        if (strcmp(o->choices[i], v) == 0) {
            *(int *)dst = i;
            return 0;
        }
    char want[256];
    list(o->choices, want, sizeof want);
    snprintf(err, cap, "--%s: \"%.80s\" is not %s", o->name, v, want);
    return ERR_INVAL;
}

/* Strings and addresses: length, emptiness, syntax, the row's own check. */
static int parse_str(const struct option *o, const char *v, void *dst, char *err, size_t cap)
{
    char why[256], host[CONFIG_ADDR_MAX];
    int port;
    if (strlen(v) >= o->size) {
        snprintf(err, cap, "--%s: value is too long (at most %zu bytes)", o->name, o->size - 1);
        return ERR_TOOBIG;
    }
    if (*v == '\0' && (o->flags & NONEMPTY)) {
        snprintf(err, cap, "--%s: must not be empty", o->name);
        return ERR_INVAL;
    }
    if (o->type == T_ADDR && *v && http_split_hostport(v, host, sizeof host, &port)) {
        snprintf(err, cap, "--%s: \"%.80s\" is not HOST:PORT with a port in 0..65535", o->name, v);
        return ERR_INVAL;
    }
    if (o->check && o->check(v, why, sizeof why)) {
        snprintf(err, cap, "--%s: %s", o->name, why);
        return ERR_INVAL;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int set_value(struct config *c, const struct option *o, const char *v, char *err, size_t cap)
{
    void *dst = (char *)c + o->off;
    switch (o->type) {
    case T_INT:
        return parse_int(o, v, dst, err, cap);
    case T_U64:
        return parse_u64(o, v, dst, err, cap);
    case T_DURATION:
        return parse_dur(o, v, dst, err, cap);
    case T_ENUM:
        return parse_enum(o, v, dst, err, cap);
    case T_BOOL:
        if (parse_bool(v, dst)) {
            snprintf(err, cap, "--%s: \"%.80s\" is not a boolean (true or false)", o->name, v);
            return ERR_INVAL;
        }
        return 0;
    case T_STR:
    case T_ADDR:
        return parse_str(o, v, dst, err, cap);
    }
    return ERR_INVAL;
}

void config_defaults(struct config *c)
{
    char err[256];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NOPTIONS; i++) {
        int rc = set_value(c, &options[i], options[i].def, err, sizeof err);
        VS_ASSERT(rc == 0); /* a default that fails its own row: a bug in the table */
    }
}

static const struct option *find(const char *name, size_t len, unsigned scope)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if ((options[i].scope & scope) && strlen(options[i].name) == len &&
            strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

/* The device row flag --name (a row's res_flag, policy/device.h) at
 * argv[*i]: its value into c->res_names. ERR_INVAL when no row has it. */
static int parse_res_flag(struct config *c, const char *name, size_t len, int argc, char **argv,
                          int *i, char *err, size_t cap)
{
    const char *eq = name[len] == '=' ? name + len + 1 : NULL;
    char why[256];
    for (int b = 0; b < POLICY_DEVICE_ROWS_MAX && policy_device_backends[b]; b++)
        for (int r = 0; r < POLICY_RES_N; r++) {
            const char *f = policy_device_backends[b]->res_flag[r];
            if (!f || strlen(f) != len || strncmp(f, name, len) != 0)
                continue;
            const char *v = eq;
            if (!v && *i + 1 >= argc) {
                snprintf(err, cap, "--%s: needs a value", f);
                return ERR_INVAL;
            }
            v = v ? v : argv[++*i];
            ++*i;
            if (*v && !policy_device_res_name_ok(v, why, sizeof why)) {
                snprintf(err, cap, "--%s: %s", f, why);
                return ERR_INVAL;
            }
            snprintf(c->res_names[b * POLICY_RES_N + r], POLICY_RES_NAME_MAX, "%s", v);
            return 0;
        }
    snprintf(err, cap, "--%.*s: unknown flag (see --help)", (int)(len > 80 ? 80 : len), name);
    return ERR_INVAL;
}

/* Parse argv[*i] (and maybe argv[*i + 1]); advance *i past what it used. */
static int parse_arg(struct config *c, unsigned scope, int argc, char **argv, int *i, char *err,
                     size_t cap)
{
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
        snprintf(err, cap, "\"%.80s\": unexpected argument (flags start with --)", a);
        return ERR_INVAL;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const struct option *o = find(name, len, scope);
    if (o == NULL && (scope & BOTH))
        return parse_res_flag(c, name, len, argc, argv, i, err, cap);
    if (o == NULL) {
        snprintf(err, cap, "--%.*s: unknown flag (see --help)", (int)(len > 80 ? 80 : len), name);
        return ERR_INVAL;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (v == NULL && o->type == T_BOOL)
        v = "true";
    if (v == NULL) {
        if (*i + 1 >= argc) {
            snprintf(err, cap, "--%s: needs a value", o->name);
            return ERR_INVAL;
        }
        v = argv[++*i];
    }
    ++*i;
    return set_value(c, o, v, err, cap);
}

int config_parse(struct config *c, enum config_scope scope, int argc, char **argv, char *err,
                 size_t cap)
{
    int rc = 0;
    config_defaults(c);
    for (int i = 1; i < argc && !c->help;) {
        rc = parse_arg(c, scope, argc, argv, &i, err, cap);
        if (rc)
            goto out;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (c->threads == 0)
        c->threads = cores < 1 ? 1 : cores > 256 ? 256 : (int)cores;
    if (c->filter_threads == 0)
        c->filter_threads = cores < 1 ? 1 : cores > 4 ? 4 : (int)cores;
    if (!c->help && (!c->cert_file[0] != !c->key_file[0])) {
        snprintf(err, cap, "--%s: needs --%s too", c->cert_file[0] ? "cert_file" : "key_file",
                 c->cert_file[0] ? "key_file" : "cert_file");
        rc = ERR_INVAL;
    } else if (!c->help && c->client_ca_file[0] && !c->cert_file[0]) {
        snprintf(err, cap, "--client-ca-file: needs --cert_file and --key_file (TLS)");
        rc = ERR_INVAL;
    } else if (!c->help && c->web_ui == CONFIG_UI_METRICS && !c->metrics_bind[0]) {
        snprintf(err, cap, "--web-ui=metrics: needs --metrics-bind-address");
        rc = ERR_INVAL;
    }
out:
    return rc;
}

/* The type column of --help. */
static void describe(const struct option *o, char *buf, size_t cap)
{
    char lo[32], hi[32];
    switch (o->type) {
    case T_INT:
        snprintf(buf, cap, "integer %lld..%lld", o->min, o->max);
        break;
    case T_U64:
        snprintf(buf, cap, "unsigned integer");
        break;
    case T_BOOL:
        snprintf(buf, cap, "boolean");
        break;
    case T_DURATION:
        config_duration_format(o->min, lo, sizeof lo);
        config_duration_format(o->max, hi, sizeof hi);
        snprintf(buf, cap, "duration %s..%s", lo, hi);
        break;
    case T_ENUM:
        list(o->choices, buf, cap);
        break;
    case T_ADDR:
        snprintf(buf, cap, "host:port");
        break;
    case T_STR:
        if (o->names)
            list(o->names(), buf, cap);
        else
            snprintf(buf, cap, "string");
        break;
    }
}

void config_usage(FILE *out, enum config_scope scope)
{
    if (scope == CONFIG_SIMULATE)
        fprintf(out, "usage: vgpu-scheduler simulate --snapshot FILE --pod FILE [flags]\n\n"
                     "Place one pod on a cluster read from a file and print the decision "
                     "as JSON.\n\nflags:\n");
    else if (scope == CONFIG_GENCERT)
        fprintf(out, "usage: vgpu-scheduler gen-cert --service NAME --namespace NS --out DIR "
                     "[flags]\n\n"
                     "Make a CA and a serving certificate for the Service (ca.crt, tls.crt, "
                     "tls.key) and print the caBundle (base64 of ca.crt).\n\nflags:\n");
    else
        fprintf(out, "usage: vgpu-scheduler [flags]\n"
                     "       vgpu-scheduler simulate --help\n"
                     "       vgpu-scheduler gen-cert --help\n\n"
                     "A Kubernetes scheduler extender for fractional GPUs (HAMi-compatible).\n\n"
                     "flags:\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        const struct option *o = &options[i];
        if (!(o->scope & scope))
            continue;
        char type[128];
        describe(o, type, sizeof type);
        fprintf(out, "  --%s%s%s  (%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "", type);
        if (o->type != T_BOOL)
            fprintf(out, "; default \"%s\"", o->def);
        fprintf(out, ")\n        %s\n", o->help);
    }
    if (!(scope & BOTH))
        return;
    for (int b = 0; policy_device_backends[b]; b++) /* the device rows' flags */
        for (int r = 0; r < POLICY_RES_N; r++)
            if (policy_device_backends[b]->res_flag[r])
                fprintf(out,
                        "  --%s NAME  (resource name; default \"%s\")\n        HAMi's flag: "
                        "the name %s containers ask this resource with; wins over the device "
                        "config's.\n",
                        policy_device_backends[b]->res_flag[r], policy_device_backends[b]->res[r],
                        policy_device_backends[b]->name);
}

/* config: flags, defaults, bounds, messages, --help. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "server/config.h"
#include "tests/support/harness.h"

static struct config cfg; /* large: not on the stack */

/* The value of one field as text, for the table below: a string field
 * itself, a number formatted into out. */
static const char *show(const struct config *c, const char *field, char *out, size_t cap)
{
    if (strcmp(field, "http_bind") == 0)
        return c->http_bind;
    else if (strcmp(field, "scheduler_name") == 0)
        return c->scheduler_name;
    else if (strcmp(field, "node_policy") == 0)
        return c->node_policy;
    else if (strcmp(field, "gpu_policy") == 0)
        return c->gpu_policy;
    else if (strcmp(field, "metrics_bind") == 0)
        return c->metrics_bind;
    else if (strcmp(field, "node_lock_timeout_ms") == 0)
        snprintf(out, cap, "%lld", (long long)c->node_lock_timeout_ms);
    else if (strcmp(field, "reservation_ttl_ms") == 0)
        snprintf(out, cap, "%lld", (long long)c->reservation_ttl_ms);
    else if (strcmp(field, "debug") == 0)
        snprintf(out, cap, "%d", c->debug);
    else if (strcmp(field, "help") == 0)
        snprintf(out, cap, "%d", c->help);
    else if (strcmp(field, "snapshot") == 0)
        return c->snapshot;
    else if (strcmp(field, "filter_mode") == 0)
        snprintf(out, cap, "%d", c->filter_mode);
    else if (strcmp(field, "threads") == 0)
        snprintf(out, cap, "%d", c->threads);
    else if (strcmp(field, "bind_threads") == 0)
        snprintf(out, cap, "%d", c->bind_threads);
    else if (strcmp(field, "filter_threads") == 0)
        snprintf(out, cap, "%d", c->filter_threads);
    else if (strcmp(field, "seed") == 0)
        snprintf(out, cap, "%llu", (unsigned long long)c->seed);
    else if (strcmp(field, "pod") == 0)
        return c->pod;
    else if (strcmp(field, "nodes") == 0)
        return c->nodes;
    else if (strcmp(field, "cert_file") == 0)
        return c->cert_file;
    else if (strcmp(field, "client_ca_file") == 0)
        return c->client_ca_file;
    else if (strcmp(field, "force_overwrite_default") == 0)
        snprintf(out, cap, "%d", c->force_overwrite_default);
    else if (strcmp(field, "overwrite_env") == 0)
        snprintf(out, cap, "%d", c->overwrite_env);
    else if (strcmp(field, "enable_ascend") == 0)
        snprintf(out, cap, "%d", c->enable_ascend);
    else if (strcmp(field, "trusted_writers") == 0)
        return c->trusted_writers;
    else if (strcmp(field, "webhook_bind") == 0)
        return c->webhook_bind;
    else if (strcmp(field, "leader_lease") == 0)
        return c->leader_lease;
    else if (strcmp(field, "leader_identity") == 0)
        return c->leader_identity;
    else if (strcmp(field, "max_connections") == 0)
        snprintf(out, cap, "%d", c->max_connections);
    else if (strcmp(field, "max_per_ip") == 0)
        snprintf(out, cap, "%d", c->max_per_ip);
    else if (strcmp(field, "read_timeout_ms") == 0)
        snprintf(out, cap, "%lld", (long long)c->read_timeout_ms);
    else if (strcmp(field, "idle_timeout_ms") == 0)
        snprintf(out, cap, "%lld", (long long)c->idle_timeout_ms);
    else if (strcmp(field, "gen_service") == 0)
        return c->gen_service;
    else if (strcmp(field, "gen_days") == 0)
        snprintf(out, cap, "%d", c->gen_days);
    else if (strcmp(field, "pending_kib") == 0)
        snprintf(out, cap, "%d", c->pending_kib);
    else
        ck_abort_msg("unknown field %s", field);
    return out;
}

/* argv after the program name; on success `field` must read `want`, on
 * failure the message must be exactly `want`. */
static const struct {
    enum config_scope scope;
    const char *args[4];
    int rc;
    const char *field, *want;
} cases[] = {
    /* defaults */
    {CONFIG_SERVE, {NULL}, 0, "http_bind", "127.0.0.1:8888"},
    {CONFIG_SERVE, {NULL}, 0, "scheduler_name", "vgpu-scheduler"},
    {CONFIG_SERVE, {NULL}, 0, "node_policy", "binpack"},
    {CONFIG_SERVE, {NULL}, 0, "gpu_policy", "spread"},
    {CONFIG_SERVE, {NULL}, 0, "metrics_bind", ""},
    {CONFIG_SERVE, {NULL}, 0, "node_lock_timeout_ms", "300000"},
    {CONFIG_SERVE, {NULL}, 0, "reservation_ttl_ms", "60000"},
    {CONFIG_SERVE, {NULL}, 0, "debug", "0"},
    {CONFIG_SERVE, {NULL}, 0, "filter_mode", "0"},
    {CONFIG_SERVE, {NULL}, 0, "seed", "0"},
    {CONFIG_SERVE, {"--enable-ascend=true"}, 0, "enable_ascend", "1"}, /* HAMi's chart passes it */
    {CONFIG_SERVE, {NULL}, 0, "snapshot", ""},
    /* both spellings */
    {CONFIG_SERVE, {"--http_bind=0.0.0.0:0"}, 0, "http_bind", "0.0.0.0:0"},
    {CONFIG_SERVE, {"--http_bind", "[::1]:9443"}, 0, "http_bind", "[::1]:9443"},
    {CONFIG_SERVE, {"--http_bind", ":80"}, 0, "http_bind", ":80"},
    {CONFIG_SERVE, {"--scheduler-name", "a", "--scheduler-name=b"}, 0, "scheduler_name", "b"},
    {CONFIG_SERVE, {"--snapshot", "x.json"}, 0, "snapshot", "x.json"},
    {CONFIG_SERVE, {"--metrics-bind-address=:9395"}, 0, "metrics_bind", ":9395"},
    /* listeners and connections */
    {CONFIG_SERVE, {NULL}, 0, "webhook_bind", ""},
    {CONFIG_SERVE, {NULL}, 0, "max_connections", "4096"},
    {CONFIG_SERVE, {NULL}, 0, "max_per_ip", "64"},
    {CONFIG_SERVE, {NULL}, 0, "read_timeout_ms", "10000"},
    {CONFIG_SERVE, {NULL}, 0, "idle_timeout_ms", "60000"},
    {CONFIG_SERVE, {"--webhook-bind=0.0.0.0:9443"}, 0, "webhook_bind", "0.0.0.0:9443"},
    {CONFIG_SERVE, {"--max-connections-per-ip=0"}, 0, "max_per_ip", "0"},
    {CONFIG_SERVE, {"--read-timeout", "2500ms"}, 0, "read_timeout_ms", "2500"},
    {CONFIG_SERVE,
     {"--webhook-bind", "9443"},
     ERR_INVAL,
     NULL,
     "--webhook-bind: \"9443\" is not HOST:PORT with a port in 0..65535"},
    /* the pending pod store's bound (issue 21) */
    {CONFIG_SERVE, {NULL}, 0, "pending_kib", "0"},
    {CONFIG_SERVE, {"--pending-store-kib=4096"}, 0, "pending_kib", "4096"},
    {CONFIG_SERVE,
     {"--pending-store-kib", "-1"},
     ERR_RANGE,
     NULL,
     "--pending-store-kib: \"-1\" is out of range (0..16777216)"},
    {CONFIG_SERVE,
     {"--pending-store-kib", "99999999999999999999"},
     ERR_INVAL,
     NULL,
     "--pending-store-kib: \"99999999999999999999\" is not an integer (0..16777216)"},
    {CONFIG_SERVE,
     {"--pending-store-kib", "1e9"},
     ERR_INVAL,
     NULL,
     "--pending-store-kib: \"1e9\" is not an integer (0..16777216)"},
    /* booleans */
    {CONFIG_SERVE, {"--debug"}, 0, "debug", "1"},
    {CONFIG_SERVE, {"--debug=true"}, 0, "debug", "1"},
    {CONFIG_SERVE, {"--debug", "--debug=false"}, 0, "debug", "0"},
    {CONFIG_SERVE,
     {"--debug=maybe"},
     ERR_INVAL,
     NULL,
     "--debug: \"maybe\" is not a boolean (true or false)"},
    {CONFIG_SERVE,
     {"--debug", "false"},
     ERR_INVAL,
     NULL,
     "\"false\": unexpected argument (flags start with --)"},
    /* integers */
    {CONFIG_SERVE, {"--threads", "4"}, 0, "threads", "4"},
    {CONFIG_SERVE, {"--threads", "4"}, 0, "bind_threads", "16"},
    {CONFIG_SERVE, {"--bind-threads=1"}, 0, "bind_threads", "1"},
    {CONFIG_SERVE,
     {"--bind-threads", "0"},
     ERR_RANGE,
     NULL,
     "--bind-threads: \"0\" is out of range (1..1024)"},
    {CONFIG_SERVE,
     {"--bind-threads", "99999999999999999999"},
     ERR_INVAL,
     NULL,
     "--bind-threads: \"99999999999999999999\" is not an integer (1..1024)"},
    {CONFIG_SERVE,
     {"--bind-threads", "many"},
     ERR_INVAL,
     NULL,
     "--bind-threads: \"many\" is not an integer (1..1024)"},
    {CONFIG_SERVE, {"--filter-threads", "2"}, 0, "filter_threads", "2"},
    {CONFIG_SERVE,
     {"--filter-threads", "17"},
     ERR_RANGE,
     NULL,
     "--filter-threads: \"17\" is out of range (0..16)"},
    {CONFIG_SERVE,
     {"--filter-threads", "-1"},
     ERR_RANGE,
     NULL,
     "--filter-threads: \"-1\" is out of range (0..16)"},
    {CONFIG_SERVE, {"--threads=256"}, 0, "threads", "256"},
    {CONFIG_SERVE,
     {"--threads", "abc"},
     ERR_INVAL,
     NULL,
     "--threads: \"abc\" is not an integer (0..256)"},
    {CONFIG_SERVE,
     {"--threads", "257"},
     ERR_RANGE,
     NULL,
     "--threads: \"257\" is out of range (0..256)"},
    {CONFIG_SERVE,
     {"--threads", "-1"},
     ERR_RANGE,
     NULL,
     "--threads: \"-1\" is out of range (0..256)"},
    {CONFIG_SERVE,
     {"--threads", "4x"},
     ERR_INVAL,
     NULL,
     "--threads: \"4x\" is not an integer (0..256)"},
    {CONFIG_SERVE, {"--threads="}, ERR_INVAL, NULL, "--threads: \"\" is not an integer (0..256)"},
    {CONFIG_SERVE, {"--threads"}, ERR_INVAL, NULL, "--threads: needs a value"},
    {CONFIG_SERVE, {"--seed", "18446744073709551615"}, 0, "seed", "18446744073709551615"},
    {CONFIG_SERVE,
     {"--seed", "18446744073709551616"},
     ERR_INVAL,
     NULL,
     "--seed: \"18446744073709551616\" is not an unsigned 64-bit integer"},
    {CONFIG_SERVE,
     {"--seed", "-1"},
     ERR_INVAL,
     NULL,
     "--seed: \"-1\" is not an unsigned 64-bit integer"},
    /* durations */
    {CONFIG_SERVE, {"--reservation-ttl", "1500ms"}, 0, "reservation_ttl_ms", "1500"},
    {CONFIG_SERVE, {"--reservation-ttl", "5m"}, 0, "reservation_ttl_ms", "300000"},
    {CONFIG_SERVE, {"--reservation-ttl", "1h30m"}, 0, "reservation_ttl_ms", "5400000"},
    {CONFIG_SERVE, {"--reservation-ttl", "1m1s1ms"}, 0, "reservation_ttl_ms", "61001"},
    {CONFIG_SERVE, {"--node-lock-timeout=24h"}, 0, "node_lock_timeout_ms", "86400000"},
    {CONFIG_SERVE,
     {"--reservation-ttl", "5"},
     ERR_INVAL,
     NULL,
     "--reservation-ttl: \"5\" is not a duration like 60s, 5m or 1500ms (100ms..24h)"},
    {CONFIG_SERVE,
     {"--reservation-ttl", "5d"},
     ERR_INVAL,
     NULL,
     "--reservation-ttl: \"5d\" is not a duration like 60s, 5m or 1500ms (100ms..24h)"},
    {CONFIG_SERVE,
     {"--reservation-ttl", "1.5s"},
     ERR_INVAL,
     NULL,
     "--reservation-ttl: \"1.5s\" is not a duration like 60s, 5m or 1500ms (100ms..24h)"},
    {CONFIG_SERVE,
     {"--reservation-ttl", "s"},
     ERR_INVAL,
     NULL,
     "--reservation-ttl: \"s\" is not a duration like 60s, 5m or 1500ms (100ms..24h)"},
    {CONFIG_SERVE,
     {"--reservation-ttl", "0"},
     ERR_RANGE,
     NULL,
     "--reservation-ttl: \"0\" is out of range (100ms..24h)"},
    {CONFIG_SERVE,
     {"--node-lock-timeout", "25h"},
     ERR_RANGE,
     NULL,
     "--node-lock-timeout: \"25h\" is out of range (100ms..24h)"},
    {CONFIG_SERVE,
     {"--node-lock-timeout", "99999999999999h"},
     ERR_INVAL,
     NULL,
     "--node-lock-timeout: \"99999999999999h\" is not a duration like 60s, 5m or 1500ms "
     "(100ms..24h)"},
    /* choices */
    {CONFIG_SERVE, {"--filter-mode", "all"}, 0, "filter_mode", "1"},
    {CONFIG_SERVE,
     {"--filter-mode", "some"},
     ERR_INVAL,
     NULL,
     "--filter-mode: \"some\" is not one of single, all"},
    {CONFIG_SERVE, {"--node-scheduler-policy=spread"}, 0, "node_policy", "spread"},
    {CONFIG_SERVE,
     {"--node-scheduler-policy=best"},
     ERR_INVAL,
     NULL,
     "--node-scheduler-policy: \"best\" is not one of binpack, spread, fragment-aware"},
    {CONFIG_SERVE, {"--gpu-scheduler-policy=binpack,numa"}, 0, "gpu_policy", "binpack,numa"},
    {CONFIG_SERVE,
     {"--gpu-scheduler-policy=mutex,topology-aware"},
     0,
     "gpu_policy",
     "mutex,topology-aware"},
    /* addresses and strings */
    {CONFIG_SERVE,
     {"--http_bind", "localhost"},
     ERR_INVAL,
     NULL,
     "--http_bind: \"localhost\" is not HOST:PORT with a port in 0..65535"},
    {CONFIG_SERVE,
     {"--http_bind", "h:65536"},
     ERR_INVAL,
     NULL,
     "--http_bind: \"h:65536\" is not HOST:PORT with a port in 0..65535"},
    {CONFIG_SERVE, {"--http_bind="}, ERR_INVAL, NULL, "--http_bind: must not be empty"},
    {CONFIG_SERVE, {"--scheduler-name="}, ERR_INVAL, NULL, "--scheduler-name: must not be empty"},
    /* unknown, positional, other scope */
    {CONFIG_SERVE, {"--nope"}, ERR_INVAL, NULL, "--nope: unknown flag (see --help)"},
    {CONFIG_SERVE, {"--nope=1"}, ERR_INVAL, NULL, "--nope: unknown flag (see --help)"},
    {CONFIG_SERVE,
     {"-debug"},
     ERR_INVAL,
     NULL,
     "\"-debug\": unexpected argument (flags start with --)"},
    {CONFIG_SERVE, {"--"}, ERR_INVAL, NULL, "\"--\": unexpected argument (flags start with --)"},
    {CONFIG_SERVE, {"--pod", "p.json"}, ERR_INVAL, NULL, "--pod: unknown flag (see --help)"},
    {CONFIG_SIMULATE, {"--threads", "4"}, ERR_INVAL, NULL, "--threads: unknown flag (see --help)"},
    {CONFIG_SIMULATE, {"--pod", "p.json", "--nodes=a,b"}, 0, "pod", "p.json"},
    {CONFIG_SIMULATE, {"--nodes=a,b"}, 0, "nodes", "a,b"},
    {CONFIG_SIMULATE, {"--snapshot", "s.json"}, 0, "snapshot", "s.json"},
    /* --help stops parsing: what follows is not looked at */
    {CONFIG_SERVE, {"--help", "--threads", "abc"}, 0, "help", "1"},
    {CONFIG_SIMULATE, {"--help"}, 0, "help", "1"},
    /* TLS and the webhook: the pair goes together; a client CA needs TLS */
    {CONFIG_SERVE, {NULL}, 0, "force_overwrite_default", "1"},
    {CONFIG_SERVE,
     {"--force-overwrite-default-scheduler=false"},
     0,
     "force_overwrite_default",
     "0"},
    /* the webhook's trust in pods: GPU visibility, who writes the accounting */
    {CONFIG_SERVE, {NULL}, 0, "overwrite_env", "1"},
    {CONFIG_SERVE, {"--overwrite-env=false"}, 0, "overwrite_env", "0"},
    {CONFIG_SERVE,
     {NULL},
     0,
     "trusted_writers",
     "system:serviceaccount:vgpu-system:vgpu-scheduler,"
     "system:serviceaccount:kube-system:hami-device-plugin"},
    {CONFIG_SERVE, {"--trusted-annotation-writers", "a, b"}, 0, "trusted_writers", "a, b"},
    {CONFIG_SERVE,
     {"--trusted-annotation-writers=a,,b"},
     ERR_INVAL,
     NULL,
     "--trusted-annotation-writers: \"a,,b\" is not a comma list of usernames (entry 2: 1 to "
     "255 printable bytes, no spaces)"},
    {CONFIG_SERVE,
     {"--trusted-annotation-writers= , "},
     ERR_INVAL,
     NULL,
     "--trusted-annotation-writers: \" , \" is not a comma list of usernames (entry 1: 1 to 255 "
     "printable bytes, no spaces)"},
    {CONFIG_SERVE, {"--cert_file", "c.crt", "--key_file=k.key"}, 0, "cert_file", "c.crt"},
    {CONFIG_SERVE,
     {"--cert_file=c", "--key_file=k", "--client-ca-file=ca"},
     0,
     "client_ca_file",
     "ca"},
    {CONFIG_SERVE, {"--cert_file", "c.crt"}, ERR_INVAL, NULL, "--cert_file: needs --key_file too"},
    {CONFIG_SERVE, {"--key_file", "k.key"}, ERR_INVAL, NULL, "--key_file: needs --cert_file too"},
    {CONFIG_SERVE,
     {"--client-ca-file", "ca"},
     ERR_INVAL,
     NULL,
     "--client-ca-file: needs --cert_file and --key_file (TLS)"},
    {CONFIG_SIMULATE,
     {"--cert_file", "c"},
     ERR_INVAL,
     NULL,
     "--cert_file: unknown flag (see --help)"},
    /* gen-cert */
    {CONFIG_GENCERT, {NULL}, 0, "gen_days", "3650"},
    {CONFIG_GENCERT, {"--service", "vgpu-scheduler"}, 0, "gen_service", "vgpu-scheduler"},
    {CONFIG_GENCERT,
     {"--service", "-x"},
     ERR_INVAL,
     NULL,
     "--service: \"-x\" is not a DNS label (1 to 63 of a-z, 0-9 and '-', starting and ending "
     "with a letter or digit)"},
    {CONFIG_GENCERT,
     {"--days", "36501"},
     ERR_RANGE,
     NULL,
     "--days: \"36501\" is out of range (1..36500)"},
    /* high availability */
    {CONFIG_SERVE, {NULL}, 0, "leader_lease", "vgpu-system/vgpu-scheduler"},
    {CONFIG_SERVE, {NULL}, 0, "leader_identity", ""},
    {CONFIG_SERVE, {"--leader-elect-lease="}, 0, "leader_lease", ""},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "kube-system/kube-scheduler"},
     0,
     "leader_lease",
     "kube-system/kube-scheduler"},
    {CONFIG_SERVE, {"--leader-identity", "vs-a"}, 0, "leader_identity", "vs-a"},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "vgpu-scheduler"},
     ERR_INVAL,
     NULL,
     "--leader-elect-lease: \"vgpu-scheduler\" is not NAMESPACE/NAME"},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "/x"},
     ERR_INVAL,
     NULL,
     "--leader-elect-lease: \"/x\" is not NAMESPACE/NAME"},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "ns/"},
     ERR_INVAL,
     NULL,
     "--leader-elect-lease: \"ns/\" is not NAMESPACE/NAME"},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "ns/a/b"},
     ERR_INVAL,
     NULL,
     "--leader-elect-lease: \"ns/a/b\" is not NAMESPACE/NAME"},
    {CONFIG_SERVE,
     {"--leader-elect-lease", "NS/x"},
     ERR_INVAL,
     NULL,
     "--leader-elect-lease: \"NS/x\": the namespace \"NS\" is not a DNS label (1 to 63 of a-z, "
     "0-9 and '-', starting and ending with a letter or digit)"},
    {CONFIG_SIMULATE,
     {"--leader-identity", "x"},
     ERR_INVAL,
     NULL,
     "--leader-identity: unknown flag (see --help)"},
    {CONFIG_GENCERT, {"--snapshot", "s"}, ERR_INVAL, NULL, "--snapshot: unknown flag (see --help)"},
    {CONFIG_GENCERT, {"--help"}, 0, "help", "1"},
};

START_TEST(test_parse)
{
    char *argv[8] = {"vgpu-scheduler"};
    int argc = 1;
    char err[512] = "", got[256];
    for (int i = 0; cases[_i].args[i]; i++)
        argv[argc++] = (char *)cases[_i].args[i];
    int rc = config_parse(&cfg, cases[_i].scope, argc, argv, err, sizeof err);
    ck_assert_msg(rc == cases[_i].rc, "case %d: rc %d, want %d (%s)", _i, rc, cases[_i].rc, err);
    if (rc) {
        ck_assert_str_eq(err, cases[_i].want);
        return;
    }
    ck_assert_str_eq(show(&cfg, cases[_i].field, got, sizeof got), cases[_i].want);
}
END_TEST

START_TEST(test_threads_default)
{
    char *argv[] = {"x", "--threads=0"};
    char err[256];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 1, argv, err, sizeof err), 0);
    ck_assert_int_eq(cfg.threads, cores < 1 ? 1 : cores > 256 ? 256 : cores);
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 2, argv, err, sizeof err), 0);
    ck_assert_int_eq(cfg.threads, cores < 1 ? 1 : cores > 256 ? 256 : cores);
}
END_TEST

START_TEST(test_too_long)
{
    static char arg[CONFIG_PATH_MAX + 16];
    char *argv[] = {"x", arg};
    char err[256];
    int n = snprintf(arg, sizeof arg, "--snapshot=");
    memset(arg + n, 'a', sizeof arg - (size_t)n - 1);
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 2, argv, err, sizeof err), ERR_TOOBIG);
    ck_assert_str_eq(err, "--snapshot: value is too long (at most 4095 bytes)");
    /* one byte less fits */
    arg[CONFIG_PATH_MAX - 1 + n] = '\0';
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 2, argv, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(cfg.snapshot), CONFIG_PATH_MAX - 1);
}
END_TEST

/* An error message never overflows the caller's buffer. */
START_TEST(test_small_err)
{
    char *argv[] = {"x", "--threads", "a-rather-long-value-to-report"};
    char err[16];
    memset(err, 'z', sizeof err);
    ck_assert_int_eq(config_parse(&cfg, CONFIG_SERVE, 3, argv, err, sizeof err), ERR_INVAL);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);
}
END_TEST

static const struct {
    enum config_scope scope;
    const char *flag;
    int shown;
} usage_flags[] = {
    {CONFIG_SERVE, "--http_bind HOST:PORT", 1},
    {CONFIG_SERVE, "--scheduler-name", 1},
    {CONFIG_SERVE, "--node-scheduler-policy", 1},
    {CONFIG_SERVE, "--gpu-scheduler-policy", 1},
    {CONFIG_SERVE, "--metrics-bind-address", 1},
    {CONFIG_SERVE, "--node-lock-timeout", 1},
    {CONFIG_SERVE, "--debug", 1},
    {CONFIG_SERVE, "--snapshot FILE", 1},
    {CONFIG_SERVE, "--filter-mode", 1},
    {CONFIG_SERVE, "--reservation-ttl", 1},
    {CONFIG_SERVE, "--threads", 1},
    {CONFIG_SERVE, "--seed", 1},
    {CONFIG_SERVE, "--help", 1},
    {CONFIG_SERVE, "--pod", 0},
    {CONFIG_SERVE, "default \"127.0.0.1:8888\"", 1},
    {CONFIG_SERVE, "one of single, all; default \"single\"", 1},
    {CONFIG_SERVE, "duration 100ms..24h; default \"60s\"", 1},
    {CONFIG_SERVE, "one of binpack, spread, fragment-aware; default \"binpack\"", 1},
    {CONFIG_SIMULATE, "--pod FILE", 1},
    {CONFIG_SIMULATE, "--nodes", 1},
    {CONFIG_SIMULATE, "--node-scheduler-policy", 1},
    {CONFIG_SIMULATE, "--threads", 0},
    {CONFIG_SIMULATE, "--http_bind", 0},
    {CONFIG_SERVE, "--cert_file FILE", 1},
    {CONFIG_SERVE, "--key_file FILE", 1},
    {CONFIG_SERVE, "--client-ca-file FILE", 1},
    {CONFIG_SERVE, "--force-overwrite-default-scheduler", 1},
    {CONFIG_SERVE, "--overwrite-env", 1},
    {CONFIG_SERVE, "--trusted-annotation-writers USER,...", 1},
    {CONFIG_SERVE, "vgpu-scheduler gen-cert --help", 1},
    {CONFIG_SERVE, "--days", 0},
    {CONFIG_GENCERT, "usage: vgpu-scheduler gen-cert --service NAME --namespace NS --out DIR", 1},
    {CONFIG_GENCERT, "--ca-bundle-patch FILE", 1},
    {CONFIG_GENCERT, "--days N  (integer 1..36500; default \"3650\")", 1},
    {CONFIG_GENCERT, "--cert_file", 0},
};

START_TEST(test_usage)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_usage(f, usage_flags[_i].scope);
    fclose(f);
    ck_assert_msg((strstr(text, usage_flags[_i].flag) != NULL) == usage_flags[_i].shown,
                  "\"%s\" in:\n%s", usage_flags[_i].flag, text);
    free(text);
}
END_TEST

static const struct {
    int64_t ms;
    const char *text;
} durations[] = {
    {0, "0ms"}, {1500, "1500ms"}, {1000, "1s"}, {60000, "1m"}, {90000, "90s"}, {7200000, "2h"},
};

START_TEST(test_duration_format)
{
    char buf[32];
    config_duration_format(durations[_i].ms, buf, sizeof buf);
    ck_assert_str_eq(buf, durations[_i].text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_loop_test(tc, test_parse, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_threads_default);
    tcase_add_test(tc, test_too_long);
    tcase_add_test(tc, test_small_err);
    tcase_add_loop_test(tc, test_usage, 0, sizeof usage_flags / sizeof usage_flags[0]);
    tcase_add_loop_test(tc, test_duration_format, 0, sizeof durations / sizeof durations[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

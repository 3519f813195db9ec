/* kubeconfig files, the in-pod config and base64, as tables. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "k8s/kube.h"
#include "k8s/kubeconfig.h"
#include "tests/support/harness.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/vs-kc-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
    harness_write(dir, name, text, path, cap);
}

#define HEAD                                                                                       \
    "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n"         \
    "    cluster: k\n    user: u\n"
#define CLUSTER(x) "clusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443\n" x
#define USER(x)    "users:\n- name: u\n  user:\n" x

/* "aGVsbG8=" is "hello". */
static const struct {
    const char *yaml;
    int rc;
    const char *err; /* in the message, or the expected field values below */
    const char *server, *token, *ca_data, *ca_file_end, *cert_end, *key_data, *ns, *token_file_end;
    bool insecure;
} cases[] = {
    {HEAD CLUSTER("    certificate-authority-data: aGVsbG8=\n") USER("    token: abc\n"), 0, NULL,
     "https://10.0.0.1:6443", "abc", "hello", NULL, NULL, NULL, "default", NULL, false},
    {HEAD CLUSTER("    certificate-authority: ca.crt\n")
         USER("    client-certificate: certs/c.crt\n    client-key-data: aGVsbG8=\n"),
     0, NULL, "https://10.0.0.1:6443", NULL, NULL, "/ca.crt", "/certs/c.crt", "hello", "default",
     NULL, false},
    {HEAD CLUSTER("    insecure-skip-tls-verify: true\n") USER("    tokenFile: tok\n"), 0, NULL,
     "https://10.0.0.1:6443", NULL, NULL, NULL, NULL, NULL, "default", "/tok", true},
    {"current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n    namespace: gpu\n"
     "clusters:\n- name: k\n  cluster:\n    server: http://127.0.0.1:8080/\n",
     0, NULL, "http://127.0.0.1:8080", NULL, NULL, NULL, NULL, NULL, "gpu", NULL, false},
    {HEAD CLUSTER("") USER("    exec:\n      command: aws\n"), ERR_UNSUPPORTED,
     "exec is not supported"},
    {HEAD CLUSTER("") USER("    auth-provider:\n      name: gcp\n"), ERR_UNSUPPORTED,
     "auth-provider is not supported"},
    {HEAD CLUSTER("") USER("    username: a\n    password: b\n"), ERR_UNSUPPORTED, "username"},
    {HEAD CLUSTER("    proxy-url: http://proxy:3128\n") USER(""), ERR_UNSUPPORTED, "proxy-url"},
    {"apiVersion: v1\nkind: Config\n", ERR_INVAL, "no current-context"},
    {"", ERR_INVAL, "no current-context"},
    {"current-context: nope\ncontexts: []\n", ERR_INVAL, "context \"nope\" not found"},
    {HEAD USER("    token: t\n"), ERR_INVAL, "cluster \"k\" not found"},
    {HEAD CLUSTER(""), ERR_INVAL, "user \"u\" not found"},
    {"current-context: c\ncontexts:\n- name: c\n  context:\n    user: u\n", ERR_INVAL,
     "names no cluster"},
    {HEAD CLUSTER("    certificate-authority-data: '***'\n") USER(""), ERR_INVAL,
     "certificate-authority-data is not valid base64"},
    {HEAD CLUSTER("    insecure-skip-tls-verify: maybe\n") USER(""), ERR_INVAL,
     "\"maybe\" is not a boolean"},
    {HEAD CLUSTER("    insecure-skip-tls-verify: true\n    certificate-authority: x\n") USER(""),
     ERR_INVAL, "insecure-skip-tls-verify together"},
    {HEAD CLUSTER("") USER("    client-certificate: c.crt\n"), ERR_INVAL, "both the certificate"},
    {HEAD "clusters:\n- name: k\n  cluster:\n    server: ftp://x\n" USER(""), ERR_INVAL,
     "\"ftp://x\" is not an http"},
    {HEAD "clusters:\n- name: k\n  cluster: {}\n" USER(""), ERR_INVAL, "server \"\""},
    {HEAD CLUSTER("") "users:\n- name: u\n  user:\n    token: [1, 2]\n", ERR_INVAL,
     "token is not a string"},
    {"key: [unclosed\n", ERR_INVAL, "not YAML"},
    {"- a\n- b\n", ERR_INVAL, "not a kubeconfig"},
    {HEAD CLUSTER("    tls-server-name: x\n") USER(""), ERR_UNSUPPORTED, "tls-server-name"},
};

static bool ends(const char *s, const char *end)
{
    return s && strlen(s) >= strlen(end) && strcmp(s + strlen(s) - strlen(end), end) == 0;
}

START_TEST(test_load)
{
    char path[256], err[1024] = "";
    struct kubeconfig c;
    write_file("config", cases[_i].yaml, path, sizeof path);
    int rc = kubeconfig_load(path, &c, err, sizeof err);
    ck_assert_msg(rc == cases[_i].rc, "case %d: rc %s (%s)", _i, err_name(rc), err);
    if (rc) {
        ck_assert_msg(strstr(err, cases[_i].err), "case %d: \"%s\" lacks \"%s\"", _i, err,
                      cases[_i].err);
        ck_assert_msg(strstr(err, path), "case %d: \"%s\" does not name the file", _i, err);
        return;
    }
    ck_assert_str_eq(c.server, cases[_i].server);
    ck_assert_pstr_eq(c.token, cases[_i].token);
    ck_assert_pstr_eq(c.ca_data, cases[_i].ca_data);
    ck_assert_pstr_eq(c.key_data, cases[_i].key_data);
    ck_assert_str_eq(c.ns, cases[_i].ns);
    ck_assert_int_eq(c.insecure, cases[_i].insecure);
    if (cases[_i].ca_data)
        ck_assert_uint_eq(c.ca_len, strlen(cases[_i].ca_data));
    if (cases[_i].ca_file_end) {
        ck_assert_msg(ends(c.ca_file, cases[_i].ca_file_end), "%s", c.ca_file);
        ck_assert(strncmp(c.ca_file, dir, strlen(dir)) == 0); /* relative to the file */
    } else {
        ck_assert_ptr_null(c.ca_file);
    }
    if (cases[_i].cert_end)
        ck_assert_msg(ends(c.cert_file, cases[_i].cert_end), "%s", c.cert_file);
    if (cases[_i].token_file_end)
        ck_assert_msg(ends(c.token_file, cases[_i].token_file_end), "%s", c.token_file);
    ck_assert_ptr_nonnull(strstr(c.source, "context c"));
    kubeconfig_free(&c);
}
END_TEST

/* A colon list: the first file that sets a value wins. */
START_TEST(test_merge)
{
    char a[256], b[256], list[600], err[512] = "";
    struct kubeconfig c;
    write_file("a",
               "current-context: c\ncontexts:\n- name: c\n  context:\n    cluster: k\n"
               "    user: u\nusers:\n- name: u\n  user:\n    token: from-a\n",
               a, sizeof a);
    write_file("b",
               "current-context: other\nclusters:\n- name: k\n  cluster:\n"
               "    server: https://b:6443\nusers:\n- name: u\n  user:\n    token: from-b\n",
               b, sizeof b);
    snprintf(list, sizeof list, "%s:%s", a, b);
    ck_assert_msg(kubeconfig_load(list, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.server, "https://b:6443");
    ck_assert_str_eq(c.token, "from-a");
    kubeconfig_free(&c);
    /* A missing file of the list is an error naming it. */
    snprintf(list, sizeof list, "%s:%s/nope", a, dir);
    ck_assert_int_eq(kubeconfig_load(list, &c, err, sizeof err), ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nope"));
}
END_TEST

START_TEST(test_limits)
{
    char path[256], err[512] = "";
    struct kubeconfig c;
    /* Over the size limit. */
    size_t n = (size_t)KUBECONFIG_MAX_BYTES + 10;
    char *big = malloc(n + 1);
    memset(big, '#', n);
    big[n] = '\0';
    write_file("big", big, path, sizeof path);
    free(big);
    ck_assert_int_eq(kubeconfig_load(path, &c, err, sizeof err), ERR_TOOBIG);
    /* Too many files in a list. */
    char list[2048] = "";
    write_file("one", HEAD CLUSTER("") USER(""), path, sizeof path);
    for (int i = 0; i <= KUBECONFIG_FILES_MAX; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ":" : "", path);
    ck_assert_int_eq(kubeconfig_load(list, &c, err, sizeof err), ERR_TOOBIG);
    /* A billion laughs is only a graph of references: it loads, bounded. */
    write_file("laughs",
               "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
               path, sizeof path);
    ck_assert_int_eq(kubeconfig_load(path, &c, err, sizeof err), ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err, "no current-context"));
}
END_TEST

START_TEST(test_in_cluster)
{
    char path[256], err[512] = "";
    struct kubeconfig c;
    unsetenv("KUBERNETES_SERVICE_HOST");
    ck_assert_int_eq(kubeconfig_in_cluster(dir, &c, err, sizeof err), ERR_NOTFOUND);
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    ck_assert_int_eq(kubeconfig_in_cluster(dir, &c, err, sizeof err), ERR_IO); /* no token */
    write_file("token", "tok-1\n", path, sizeof path);
    write_file("ca.crt", "PEM", path, sizeof path);
    write_file("namespace", "gpu-system\n", path, sizeof path);
    ck_assert_msg(kubeconfig_in_cluster(dir, &c, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.server, "https://10.96.0.1:443");
    ck_assert(ends(c.token_file, "/token"));
    ck_assert(ends(c.ca_file, "/ca.crt"));
    ck_assert_str_eq(c.ns, "gpu-system");
    kubeconfig_free(&c);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    ck_assert_int_eq(kubeconfig_in_cluster(dir, &c, err, sizeof err), 0);
    ck_assert_str_eq(c.server, "https://[fd00::1]:443");
    kubeconfig_free(&c);
    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    ck_assert_int_eq(kubeconfig_in_cluster(dir, &c, err, sizeof err), ERR_INVAL);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}
END_TEST

START_TEST(test_resolve)
{
    char path[256], err[512] = "";
    struct kubeconfig c;
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBECONFIG");
    ck_assert_int_eq(kubeconfig_resolve("", &c, err, sizeof err), ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "no API server"));
    write_file("env", HEAD CLUSTER("") USER("    token: from-env\n"), path, sizeof path);
    setenv("KUBECONFIG", path, 1);
    ck_assert_int_eq(kubeconfig_resolve(NULL, &c, err, sizeof err), 0);
    ck_assert_str_eq(c.token, "from-env");
    kubeconfig_free(&c);
    write_file("flag", HEAD CLUSTER("") USER("    token: from-flag\n"), path, sizeof path);
    ck_assert_int_eq(kubeconfig_resolve(path, &c, err, sizeof err), 0); /* the flag wins */
    ck_assert_str_eq(c.token, "from-flag");
    kubeconfig_free(&c);
    unsetenv("KUBECONFIG");
}
END_TEST

static const struct {
    const char *in, *out;
} b64[] = {
    {"aGVsbG8=", "hello"},
    {"aGVsbG8", "hello"},
    {"aGVs\nbG8=\n", "hello"},
    {"YQ==", "a"},
    {"", ""},
    {"a", NULL},
    {"****", NULL},
    {"YQ==YQ==", NULL},
    {"YR==", NULL}, /* non-zero padding bits */
};

START_TEST(test_base64)
{
    char *out = NULL;
    size_t len = 0;
    int rc = kubeconfig_base64(b64[_i].in, &out, &len);
    if (!b64[_i].out) {
        ck_assert_msg(rc == ERR_INVAL, "case %d accepted", _i);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(len, strlen(b64[_i].out));
    ck_assert_str_eq(out, b64[_i].out);
    free(out);
}
END_TEST

/* Risky ways to reach the API server: one WARN line each when the client
 * is made, naming the risk and never the token. */
static const struct {
    const char *server;
    bool insecure;
    const char *token, *cert;
    const char *want[2]; /* in the log; NULL: no warning */
} warn_cases[] = {
    {"https://10.0.0.1:6443", true, "s3cr3t-token", NULL, {"insecure-skip-tls-verify", NULL}},
    {"http://10.0.0.1:8080", false, "s3cr3t-token", NULL, {"http://", "bearer token"}},
    {"http://10.0.0.1:8080", false, NULL, "PEM", {"http://", "client certificate"}},
    {"https://10.0.0.1:6443", false, "s3cr3t-token", NULL, {NULL, NULL}},
    {"http://127.0.0.1:8080", false, NULL, NULL, {NULL, NULL}}, /* no credentials to leak */
};

START_TEST(test_warnings)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    log_set_fd(fds[1]);
    struct kubeconfig kc = {
        .server = (char *)warn_cases[_i].server,
        .insecure = warn_cases[_i].insecure,
        .token = (char *)warn_cases[_i].token,
        .cert_data = (char *)warn_cases[_i].cert,
        .cert_len = warn_cases[_i].cert ? 3 : 0,
        .key_data = (char *)warn_cases[_i].cert,
        .key_len = warn_cases[_i].cert ? 3 : 0,
        .source = (char *)"test",
    };
    struct kube_options o = {.qps = 10, .burst = 10, .timeout_ms = 1000};
    struct kube *k = NULL;
    char err[256], text[8192];
    ck_assert_msg(kube_create(&kc, &o, &k, err, sizeof err) == 0, "%s", err);
    kube_destroy(k);
    log_set_fd(2);
    ssize_t n = read(fds[0], text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    close(fds[1]);
    ck_assert_msg(strstr(text, "s3cr3t") == NULL, "the token was logged: %s", text);
    if (!warn_cases[_i].want[0]) {
        ck_assert_msg(strstr(text, " WARN ") == NULL, "unexpected: %s", text);
        return;
    }
    ck_assert_msg(strstr(text, " WARN ") != NULL, "no warning: \"%s\"", text);
    for (int i = 0; i < 2 && warn_cases[_i].want[i]; i++)
        ck_assert_msg(strstr(text, warn_cases[_i].want[i]) != NULL, "\"%s\" lacks %s", text,
                      warn_cases[_i].want[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kubeconfig");
    TCase *tc = tcase_create("kubeconfig");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_load, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_in_cluster);
    tcase_add_test(tc, test_resolve);
    tcase_add_loop_test(tc, test_base64, 0, sizeof b64 / sizeof b64[0]);
    tcase_add_loop_test(tc, test_warnings, 0, sizeof warn_cases / sizeof warn_cases[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

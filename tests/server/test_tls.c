/* tls and certgen: checking pairs with OpenSSL, the store's reloads
 * (polled by hand, so nothing depends on timing), gen-cert's certificates. */
#include <check.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "server/certgen.h"
#include "server/tls.h"
#include "tests/support/harness.h"

static char dir[64];

static void path_of(char *out, size_t cap, const char *sub, const char *name)
{
    snprintf(out, cap, "%s/%s/%s", dir, sub, name);
}

static char *slurp(const char *sub, const char *name, size_t *len)
{
    char p[256];
    path_of(p, sizeof p, sub, name);
    return harness_read(p, len);
}

/* Write text to dir/sub/name through a rename, as Secret volumes and
 * careful writers do. */
static void put(const char *sub, const char *name, const char *text)
{
    char p[256], tmp[300];
    path_of(p, sizeof p, sub, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, p), 0);
}

static void gen(const char *sub, const char *service)
{
    char out[256], err[256], *bundle = NULL;
    snprintf(out, sizeof out, "%s/%s", dir, sub);
    struct certgen_opts o = {.service = service, .ns = "vgpu-system", .out_dir = out, .days = 30};
    ck_assert_msg(certgen_write(&o, &bundle, err, sizeof err) == 0, "%s", err);
    free(bundle);
}

/* A self-signed certificate + key, valid from nb to na days from now, and
 * the key encrypted with a password when encrypt. PEM texts are new. */
static void self_signed(int nb, int na, bool encrypt, char **cert, char **key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), (long)nb * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), (long)na * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, x);
    if (encrypt)
        PEM_write_bio_PrivateKey(kb, k, EVP_aes_256_cbc(), (unsigned char *)"pw", 2, NULL, NULL);
    else
        PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL);
    char *d;
    long n = BIO_get_mem_data(cb, &d);
    *cert = strndup(d, (size_t)n);
    n = BIO_get_mem_data(kb, &d);
    *key = strndup(d, (size_t)n);
    BIO_free(cb);
    BIO_free(kb);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void setup(void)
{
    char p[128];
    static int null_fd = -1;
    if (null_fd < 0)
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_set_fd(null_fd); /* the refusals below are expected */
    snprintf(dir, sizeof dir, "/tmp/vs-test-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    gen("a", "vgpu-scheduler");
    gen("b", "other");
    snprintf(p, sizeof p, "%s/serve", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- tls_check_pair ---- */

enum material { GOOD, MISMATCH, EXPIRED, NOT_YET, ENCRYPTED, GARBAGE_CERT, GARBAGE_KEY, EMPTY };

static const struct {
    enum material m;
    int rc;
    const char *has;
} checks[] = {
    {GOOD, 0, NULL},
    {NOT_YET, 0, NULL}, /* a clock behind is a warning, not a refusal */
    {MISMATCH, ERR_INVAL, "the key does not match the certificate"},
    {EXPIRED, ERR_RANGE, "expired at"},
    {ENCRYPTED, ERR_INVAL, "encrypted"},
    {GARBAGE_CERT, ERR_INVAL, "holds no PEM certificate"},
    {GARBAGE_KEY, ERR_INVAL, "holds no PEM private key"},
    {EMPTY, ERR_INVAL, "holds no PEM certificate"},
};

START_TEST(test_check_pair)
{
    char *cert = NULL, *key = NULL, err[512] = "";
    struct tls_cert_facts f;
    switch (checks[_i].m) {
    case GOOD:
        cert = slurp("a", "tls.crt", NULL);
        key = slurp("a", "tls.key", NULL);
        break;
    case MISMATCH:
        cert = slurp("a", "tls.crt", NULL);
        key = slurp("b", "tls.key", NULL);
        break;
    case EXPIRED:
        self_signed(-10, -1, false, &cert, &key);
        break;
    case NOT_YET:
        self_signed(1, 10, false, &cert, &key);
        break;
    case ENCRYPTED:
        self_signed(0, 10, true, &cert, &key);
        break;
    case GARBAGE_CERT:
        cert = strdup("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        key = slurp("a", "tls.key", NULL);
        break;
    case GARBAGE_KEY:
        cert = slurp("a", "tls.crt", NULL);
        key = strdup("hello");
        break;
    case EMPTY:
        cert = strdup("");
        key = strdup("");
        break;
    }
    int rc = tls_check_pair(cert, strlen(cert), key, strlen(key), (double)time(NULL), &f, err,
                            sizeof err);
    ck_assert_msg(rc == checks[_i].rc, "case %d: rc %d (%s)", _i, rc, err);
    if (rc == 0) {
        ck_assert_double_gt(f.not_after, (double)time(NULL));
        ck_assert_int_eq(strlen(f.sha256), 16);
    } else {
        ck_assert_msg(strstr(err, checks[_i].has), "\"%s\" not in \"%s\"", checks[_i].has, err);
    }
    free(cert);
    free(key);
}
END_TEST

/* ---- the store ---- */

static void serve(const char *from)
{
    char *c = slurp(from, "tls.crt", NULL), *k = slurp(from, "tls.key", NULL);
    put("serve", "tls.key", k);
    put("serve", "tls.crt", c);
    free(c);
    free(k);
}

static struct tls_store *open_store(void)
{
    char c[256], k[256], err[512];
    path_of(c, sizeof c, "serve", "tls.crt");
    path_of(k, sizeof k, "serve", "tls.key");
    struct tls_store *s = tls_store_create(c, k, NULL, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    return s;
}

static const char *subject(struct tls_store *s, struct tls_info *i)
{
    tls_store_info(s, i);
    return i->cert.subject;
}

START_TEST(test_store_reload)
{
    struct tls_info i;
    serve("a");
    struct tls_store *s = open_store();
    ck_assert_str_eq(subject(s, &i), "CN=vgpu-scheduler.vgpu-system.svc");
    ck_assert_int_eq(tls_store_poll(s), 0);

    /* A connection holds the old pair across the rotation. */
    struct tls_pair *held = tls_store_acquire(s);
    serve("b");
    ck_assert_int_eq(tls_store_poll(s), 0); /* changed: wait one look for it to settle */
    ck_assert_int_eq(tls_store_poll(s), 1);
    ck_assert_str_eq(subject(s, &i), "CN=other.vgpu-system.svc");
    ck_assert_int_eq(i.reloads, 1);
    gnutls_pcert_st *pc;
    unsigned int n;
    gnutls_privkey_t key;
    tls_pair_credentials(held, &pc, &n, &key); /* still valid: ASan would say otherwise */
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(gnutls_privkey_get_pk_algorithm(key, NULL), GNUTLS_PK_ECDSA);
    tls_pair_release(held);

    /* A mismatched pair is refused once; the pair in use stays. */
    char *c = slurp("a", "tls.crt", NULL);
    put("serve", "tls.crt", c);
    free(c);
    ck_assert_int_eq(tls_store_poll(s), 0);
    ck_assert_int_lt(tls_store_poll(s), 0);
    ck_assert_int_eq(tls_store_poll(s), 0); /* the same refused files: not tried again */
    ck_assert_str_eq(subject(s, &i), "CN=other.vgpu-system.svc");
    ck_assert_int_eq(i.refused, 1);

    /* Files rewritten with the pair in use: nothing to do. */
    serve("b");
    ck_assert_int_eq(tls_store_poll(s), 0);
    ck_assert_int_eq(tls_store_poll(s), 0);
    tls_store_info(s, &i);
    ck_assert_int_eq(i.reloads, 1);

    /* Files gone: refused, still serving. */
    char p[256];
    path_of(p, sizeof p, "serve", "tls.key");
    unlink(p);
    ck_assert_int_eq(tls_store_poll(s), 0);
    ck_assert_int_eq(tls_store_poll(s), ERR_IO);
    ck_assert_str_eq(subject(s, &i), "CN=other.vgpu-system.svc");

    /* Back: loaded again. */
    serve("a");
    ck_assert_int_eq(tls_store_poll(s), 0);
    ck_assert_int_eq(tls_store_poll(s), 1);
    ck_assert_str_eq(subject(s, &i), "CN=vgpu-scheduler.vgpu-system.svc");

    struct buf m = BUF_INIT(1 << 16);
    tls_store_render_metrics(s, &m);
    char want[128];
    snprintf(want, sizeof want, "vgpu_scheduler_tls_cert_expiry_timestamp_seconds %.0f\n",
             i.cert.not_after);
    ck_assert_msg(strstr(buf_str(&m), want), "%s", buf_str(&m));
    ck_assert_ptr_nonnull(strstr(buf_str(&m), "reloads_total{result=\"ok\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(buf_str(&m), "reloads_total{result=\"refused\"} 2\n"));
    buf_free(&m);
    tls_store_render_metrics(NULL, &m);
    ck_assert_uint_eq(m.len, 0);
    tls_store_destroy(s);
    tls_store_destroy(NULL);
}
END_TEST

/* The watch thread starts and stops cleanly (what it does is tested above). */
START_TEST(test_store_watch)
{
    serve("a");
    struct tls_store *s = open_store();
    ck_assert_int_eq(tls_store_watch(s, 10), 0);
    ck_assert_int_eq(tls_store_watch(s, 10), 0); /* already running */
    tls_store_unwatch(s);
    tls_store_unwatch(s);
    ck_assert_int_eq(tls_store_watch(s, 10), 0);
    tls_store_destroy(s); /* stops it */
}
END_TEST

START_TEST(test_store_refused_at_start)
{
    char c[256], k[256], ca[256], err[512];
    path_of(c, sizeof c, "a", "tls.crt");
    path_of(k, sizeof k, "b", "tls.key");
    ck_assert_ptr_null(tls_store_create(c, k, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "does not match") && strstr(err, c), "%s", err);
    path_of(k, sizeof k, "a", "nope.key");
    ck_assert_ptr_null(tls_store_create(c, k, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "nope.key: No such file"), "%s", err);
    path_of(k, sizeof k, "a", "tls.key");
    path_of(ca, sizeof ca, "a", "tls.key"); /* a key is not a CA certificate */
    ck_assert_ptr_null(tls_store_create(c, k, ca, err, sizeof err));
    ck_assert_msg(strstr(err, "no PEM certificate"), "%s", err);
    path_of(ca, sizeof ca, "a", "ca.crt");
    struct tls_store *s = tls_store_create(c, k, ca, err, sizeof err);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(tls_store_client_ca(s), "BEGIN CERTIFICATE"));
    tls_store_destroy(s);
}
END_TEST

/* ---- gen-cert ---- */

START_TEST(test_certgen)
{
    char p[256];
    X509 *ca, *crt;
    FILE *f;
    path_of(p, sizeof p, "a", "ca.crt");
    ck_assert_ptr_nonnull(f = fopen(p, "r"));
    ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    path_of(p, sizeof p, "a", "tls.crt");
    ck_assert_ptr_nonnull(f = fopen(p, "r"));
    crt = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(ca);
    ck_assert_ptr_nonnull(crt);

    X509_STORE *st = X509_STORE_new();
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, crt, NULL);
    ck_assert_int_eq(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);

    static const char *const names[] = {
        "vgpu-scheduler", "vgpu-scheduler.vgpu-system", "vgpu-scheduler.vgpu-system.svc",
        "vgpu-scheduler.vgpu-system.svc.cluster.local", "localhost"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_assert_msg(X509_check_host(crt, names[i], 0, 0, NULL) == 1, "%s", names[i]);
    ck_assert_int_eq(X509_check_host(crt, "evil.example.com", 0, 0, NULL), 0);
    ck_assert_int_eq(X509_check_ip_asc(crt, "127.0.0.1", 0), 1);
    ck_assert_int_eq(X509_check_purpose(crt, X509_PURPOSE_SSL_SERVER, 0), 1);
    ck_assert_int_eq(X509_check_purpose(crt, X509_PURPOSE_SSL_CLIENT, 0), 1);
    ck_assert_int_eq(X509_check_ca(crt), 0);
    ck_assert_int_ge(X509_check_ca(ca), 1);

    struct stat sb;
    path_of(p, sizeof p, "a", "tls.key");
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    X509_free(ca);
    X509_free(crt);
}
END_TEST

/* Bad options: nothing written. */
START_TEST(test_certgen_bad)
{
    char err[256], *bundle = (char *)1;
    struct certgen_opts o = {.service = "", .ns = "x", .out_dir = "/tmp", .days = 1};
    ck_assert_int_eq(certgen_write(&o, &bundle, err, sizeof err), ERR_INVAL);
    ck_assert_ptr_null(bundle);
    o.service = "s";
    o.days = 0;
    ck_assert_int_eq(certgen_write(&o, &bundle, err, sizeof err), ERR_INVAL);
    o.days = 1;
    o.out_dir = "/nonexistent-dir/sub";
    ck_assert_int_eq(certgen_write(&o, &bundle, err, sizeof err), ERR_IO);
    ck_assert_msg(strstr(err, "cannot create the directory"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_check_pair, 0, sizeof checks / sizeof checks[0]);
    tcase_add_test(tc, test_store_reload);
    tcase_add_test(tc, test_store_watch);
    tcase_add_test(tc, test_store_refused_at_start);
    tcase_add_test(tc, test_certgen);
    tcase_add_test(tc, test_certgen_bad);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

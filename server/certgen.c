/* certgen.c: CA + serving certificate with OpenSSL 3. */
#include "server/certgen.h"
#include "server/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"

#define SKEW_S    300 /* validity starts this long before now */
#define NAME_MAX_ 63  /* a DNS label */

/* One extension: NID and its value in OpenSSL's config syntax. */
struct ext {
    int nid;
    const char *value;
};

/* A new certificate for `cn` with public key `pub`, signed by `sign` as
 * `issuer` (NULL: self-signed). NULL on failure. */
static X509 *make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *sign, int days,
                       const struct ext *exts, size_t nexts)
{
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    X509 *x = X509_new();
    bool ok = false;
    if (x == NULL || RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f; /* positive, as RFC 5280 wants */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_NAME *name = X509_get_subject_name(x);
    if (bn == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
        X509_gmtime_adj(X509_getm_notBefore(x), -SKEW_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(x, pub) != 1)
        goto out;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < nexts; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
        int added = e ? X509_add_ext(x, e, -1) : 0;
        X509_EXTENSION_free(e);
        if (added != 1)
            goto out;
    }
    ok = X509_sign(x, sign, EVP_sha256()) > 0;
out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* PEM text of a certificate (key NULL) or of a key, new; *len its length. */
static char *pem(X509 *x, EVP_PKEY *key, size_t *len)
{
    char *data, *out = NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    int ok =
        x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    long n = BIO_get_mem_data(b, &data);
    if (ok == 1 && n > 0) {
        out = mem_strndup(data, (size_t)n);
        *len = (size_t)n;
    }
    BIO_free(b);
    return out;
}

/* Write data to dir/name through a temporary file renamed into place. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len,
                        mode_t mode, char *err, size_t cap)
{
    char path[4096 + 64], tmp[4096 + 64];
    int rc = ERR_IO;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, cap, "%s: %s", tmp, strerror(errno));
        return ERR_IO;
    }
    if (fchmod(fd, mode) != 0)
        goto fail;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    return 0;
fail:
    snprintf(err, cap, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

static int ensure_dir(const char *dir, char *err, size_t cap)
{
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, cap, "%s: cannot create the directory: %s", dir, strerror(errno));
        return ERR_IO;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, cap, "%s: not a directory", dir);
        return ERR_IO;
    }
    return 0;
}

/* base64 of data, one line, new. */
static char *base64(const char *data, size_t len)
{
    char *out = mem_alloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

int certgen_write(const struct certgen_opts *o, char **ca_bundle, char *err, size_t cap)
{
    char why[256], cn[2 * NAME_MAX_ + 8], san[1024], ca_cn[NAME_MAX_ + 8];
    char *ca_pem = NULL, *crt_pem = NULL, *key_pem = NULL, *bundle = NULL, *patch = NULL;
    size_t ca_len = 0, crt_len = 0, key_len = 0;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    int rc = ERR_INVAL;

    *ca_bundle = NULL;
    if (!o->service || !o->service[0] || !o->ns || !o->ns[0] || !o->out_dir || !o->out_dir[0] ||
        strlen(o->service) > NAME_MAX_ || strlen(o->ns) > NAME_MAX_ || strlen(o->out_dir) > 4000 ||
        o->days < 1 || o->days > 36500) {
        snprintf(err, cap,
                 "gen-cert needs --service, --namespace (DNS labels), --out and "
                 "--days 1..36500");
        goto out;
    }
    const char *n = o->service, *ns = o->ns;
    snprintf(cn, sizeof cn, "%s.%s.svc", n, ns);
    snprintf(ca_cn, sizeof ca_cn, "%s-ca", n);
    snprintf(san, sizeof san,
             "DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local,DNS:localhost,"
             "IP:127.0.0.1",
             n, n, ns, n, ns, n, ns);
    const struct ext ca_exts[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
        {NID_subject_key_identifier, "hash"},
    };
    const struct ext crt_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, "serverAuth,clientAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
        {NID_subject_alt_name, san},
    };
    rc = ERR_IO;
    ca_key = EVP_EC_gen("P-256");
    key = EVP_EC_gen("P-256");
    if (ca_key == NULL || key == NULL) {
        snprintf(err, cap, "cannot make ECDSA keys: %s", tls_ssl_error(why, sizeof why));
        goto out;
    }
    ca = make_cert(ca_cn, ca_key, NULL, ca_key, o->days, ca_exts, sizeof ca_exts / sizeof *ca_exts);
    crt = ca ? make_cert(cn, key, ca, ca_key, o->days, crt_exts, sizeof crt_exts / sizeof *crt_exts)
             : NULL;
    if (crt == NULL) {
        snprintf(err, cap, "cannot make the certificates: %s", tls_ssl_error(why, sizeof why));
        goto out;
    }
    ca_pem = pem(ca, NULL, &ca_len);
    crt_pem = pem(crt, NULL, &crt_len);
    key_pem = pem(NULL, key, &key_len);
    if (!ca_pem || !crt_pem || !key_pem) {
        snprintf(err, cap, "cannot write PEM: %s", tls_ssl_error(why, sizeof why));
        goto out;
    }
    bundle = base64(ca_pem, ca_len);
    /* The key first: a watcher that sees the new certificate finds its key. */
    if ((rc = ensure_dir(o->out_dir, err, cap)) ||
        (rc = write_atomic(o->out_dir, "tls.key", key_pem, key_len, 0600, err, cap)) ||
        (rc = write_atomic(o->out_dir, "tls.crt", crt_pem, crt_len, 0644, err, cap)) ||
        (rc = write_atomic(o->out_dir, "ca.crt", ca_pem, ca_len, 0644, err, cap)))
        goto out;
    if (o->patch_file && o->patch_file[0]) {
        size_t plen = strlen(bundle) + 128;
        patch = mem_alloc(plen);
        snprintf(patch, plen,
                 "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\","
                 "\"value\":\"%s\"}]\n",
                 bundle);
        FILE *f = fopen(o->patch_file, "w");
        bool bad = f == NULL || fputs(patch, f) < 0;
        if (f && fclose(f) != 0)
            bad = true;
        if (bad) {
            snprintf(err, cap, "%s: %s", o->patch_file, strerror(errno));
            rc = ERR_IO;
            goto out;
        }
    }
    *ca_bundle = bundle;
    bundle = NULL;
    rc = 0;
out:
    if (key_pem)
        memset(key_pem, 0, key_len);
    free(key_pem);
    free(crt_pem);
    free(ca_pem);
    free(bundle);
    free(patch);
    X509_free(ca);
    X509_free(crt);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* tls.c: certificate pairs checked with OpenSSL, served with GnuTLS. */
#include "base/clock.h"
#include "server/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/err.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"

struct tls_pair {
    atomic_int refs;
    unsigned int npcert;
    gnutls_pcert_st pcert[TLS_CHAIN_MAX];
    gnutls_privkey_t key;
    struct tls_cert_facts facts;
    unsigned char digest[2][EVP_MAX_MD_SIZE]; /* of the certificate and key files */
};

/* What stat says of a file: a change in any field is a change of the file. */
struct sig {
    bool ok; /* stat succeeded */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
};

struct tls_store {
    char *cert_file, *key_file;
    char *client_ca; /* PEM text or NULL */

    /* Lock discipline: `lock` guards cur and loaded_at, held only to read or
     * swap them (never across file I/O or parsing). */
    pthread_mutex_t lock;
    struct tls_pair *cur;
    double loaded_at;
    atomic_uint_fast64_t reloads, refused;

    /* Poll state: only the polling thread touches these. */
    struct sig loaded[2]; /* the files as they were when cur was read */
    struct sig seen[2];   /* at the previous poll */
    struct sig bad[2];    /* the last version refused */
    bool has_bad;

    /* The watch thread. */
    pthread_mutex_t wlock;
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stop;
    int interval_ms;
};

/* ---- helpers ---- */

/* "2027-01-31T12:00:00Z" into buf. */
static void rfc3339(double t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "%.0f", t);
}

/* The oldest OpenSSL error as text, and clear the queue. */
const char *tls_ssl_error(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_error();
    if (e == 0)
        snprintf(buf, cap, "no detail");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* Never ask for a password: an encrypted key is an error, not a prompt. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static double asn1_time(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    return (double)timegm(&tm);
}

/* ---- checking a pair ---- */

static void facts_of(X509 *leaf, struct tls_cert_facts *f)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    memset(f, 0, sizeof *f);
    f->not_before = asn1_time(X509_get0_notBefore(leaf));
    f->not_after = asn1_time(X509_get0_notAfter(leaf));
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(leaf), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, f->subject, (int)sizeof f->subject - 1);
        f->subject[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
    if (X509_digest(leaf, EVP_sha256(), md, &mdlen) == 1)
        for (unsigned i = 0; i < 8 && i < mdlen; i++)
            snprintf(f->sha256 + 2 * i, sizeof f->sha256 - 2 * i, "%02x", md[i]);
    ERR_clear_error();
}

int tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                   double now, struct tls_cert_facts *facts, char *err, size_t cap)
{
    char why[256], when[32];
    int rc = ERR_INVAL;
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    BIO *cb = NULL, *kb = NULL;
    struct tls_cert_facts f;

    if (cert_len > TLS_FILE_MAX || key_len > TLS_FILE_MAX) {
        snprintf(err, cap, "certificate or key larger than %u bytes", TLS_FILE_MAX);
        rc = ERR_TOOBIG;
        goto out;
    }
    cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
    kb = BIO_new_mem_buf(key_pem, (int)key_len);
    if (cb == NULL || kb == NULL) {
        snprintf(err, cap, "out of memory");
        goto out;
    }
    leaf = PEM_read_bio_X509(cb, NULL, no_password, NULL);
    if (leaf == NULL) {
        snprintf(err, cap, "the certificate file holds no PEM certificate (%s)",
                 tls_ssl_error(why, sizeof why));
        goto out;
    }
    key = PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL);
    if (key == NULL) {
        snprintf(err, cap, "the key file holds no PEM private key, or an encrypted one (%s)",
                 tls_ssl_error(why, sizeof why));
        goto out;
    }
    if (X509_check_private_key(leaf, key) != 1) {
        ERR_clear_error();
        snprintf(err, cap, "the key does not match the certificate (the first one in the file)");
        goto out;
    }
    facts_of(leaf, &f);
    if (f.not_after <= now) {
        rfc3339(f.not_after, when, sizeof when);
        snprintf(err, cap, "the certificate (%s) expired at %s", f.subject, when);
        rc = ERR_RANGE;
        goto out;
    }
    if (facts)
        *facts = f;
    rc = 0;
out:
    X509_free(leaf);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return rc;
}

/* ---- pairs ---- */

static void pair_free(struct tls_pair *p)
{
    if (p == NULL)
        return;
    for (unsigned int i = 0; i < p->npcert; i++)
        gnutls_pcert_deinit(&p->pcert[i]);
    gnutls_privkey_deinit(p->key);
    free(p);
}

static void digest(const char *data, size_t len, unsigned char *md)
{
    unsigned int n = 0;
    memset(md, 0, EVP_MAX_MD_SIZE);
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
}

/* Read, check and import the pair in the two files. */
static int pair_load(const char *cert_file, const char *key_file, struct tls_pair **out, char *err,
                     size_t cap)
{
    char *cert = NULL, *key = NULL, why[256];
    size_t clen, klen;
    struct tls_pair *p = NULL;
    int rc;

    *out = NULL;
    if ((rc = file_read(cert_file, TLS_FILE_MAX, &cert, &clen, err, cap)) ||
        (rc = file_read(key_file, TLS_FILE_MAX, &key, &klen, err, cap)))
        goto out;
    p = mem_zalloc(sizeof *p);
    atomic_init(&p->refs, 1);
    rc = tls_check_pair(cert, clen, key, klen, clock_wall_s(), &p->facts, why, sizeof why);
    if (rc) {
        snprintf(err, cap, "%s + %s: %s", cert_file, key_file, why);
        goto out;
    }
    gnutls_datum_t cd = {(unsigned char *)cert, (unsigned int)clen};
    gnutls_datum_t kd = {(unsigned char *)key, (unsigned int)klen};
    unsigned int n = TLS_CHAIN_MAX;
    int g = gnutls_pcert_list_import_x509_raw(p->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (g < 0) {
        snprintf(err, cap, "%s: GnuTLS cannot use the certificates (at most %d): %s", cert_file,
                 TLS_CHAIN_MAX, gnutls_strerror(g));
        rc = ERR_INVAL;
        goto out;
    }
    p->npcert = n;
    if ((g = gnutls_privkey_init(&p->key)) < 0 ||
        (g = gnutls_privkey_import_x509_raw(p->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, cap, "%s: GnuTLS cannot use the key: %s", key_file, gnutls_strerror(g));
        rc = ERR_INVAL;
        goto out;
    }
    digest(cert, clen, p->digest[0]);
    digest(key, klen, p->digest[1]);
    *out = p;
    p = NULL;
out:
    pair_free(p);
    if (key)
        memset(key, 0, klen); /* no key material left in freed memory */
    free(key);
    free(cert);
    return rc;
}

struct tls_pair *tls_store_acquire(struct tls_store *s)
{
    pthread_mutex_lock(&s->lock);
    struct tls_pair *p = s->cur;
    atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&s->lock);
    return p;
}

void tls_pair_release(struct tls_pair *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        pair_free(p);
}

void tls_pair_credentials(struct tls_pair *p, gnutls_pcert_st **pcert, unsigned int *n,
                          gnutls_privkey_t *key)
{
    *pcert = p->pcert;
    *n = p->npcert;
    *key = p->key;
}

/* ---- the store ---- */

static struct sig stat_sig(const char *path)
{
    struct stat st;
    struct sig g;
    memset(&g, 0, sizeof g);
    if (stat(path, &st) != 0)
        return g;
    g.ok = true;
    g.dev = st.st_dev;
    g.ino = st.st_ino;
    g.size = st.st_size;
    g.mtim = st.st_mtim;
    g.ctim = st.st_ctim;
    return g;
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Both files (a[0..1], b[0..1]) look the same. */
static bool sig_eq(const struct sig *a, const struct sig *b)
{
    for (int i = 0; i < 2; i++)
        if (a[i].ok != b[i].ok || a[i].dev != b[i].dev || a[i].ino != b[i].ino ||
            a[i].size != b[i].size || !ts_eq(&a[i].mtim, &b[i].mtim) ||
            !ts_eq(&a[i].ctim, &b[i].ctim))
            return false;
    return true;
}

static void log_pair(const char *what, const char *file, const struct tls_pair *p)
{
    char until[32];
    rfc3339(p->facts.not_after, until, sizeof until);
    LOG_INFO("TLS: %s %s: %s (sha256 %s), valid until %s", what, file, p->facts.subject,
             p->facts.sha256, until);
    if (p->facts.not_before > clock_wall_s())
        LOG_WARN("TLS: %s is not valid yet (notBefore in the future): is the clock right?", file);
}

/* Read the client CA file: PEM with at least one certificate. */
static int load_client_ca(const char *path, char **out, char *err, size_t cap)
{
    char *pem = NULL, why[256];
    size_t len;
    int rc = file_read(path, TLS_FILE_MAX, &pem, &len, err, cap);
    if (rc)
        return rc;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, no_password, NULL) : NULL;
    if (x == NULL) {
        snprintf(err, cap, "%s: no PEM certificate (%s)", path, tls_ssl_error(why, sizeof why));
        rc = ERR_INVAL;
    } else if (asn1_time(X509_get0_notAfter(x)) <= clock_wall_s()) {
        LOG_WARN("TLS: the client CA in %s has expired: no client certificate will verify", path);
    }
    X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    if (rc)
        free(pem);
    else
        *out = pem;
    return rc;
}

struct tls_store *tls_store_create(const char *cert_file, const char *key_file,
                                   const char *client_ca_file, char *err, size_t cap)
{
    struct tls_store *s = mem_zalloc(sizeof *s);
    pthread_condattr_t ca;
    s->cert_file = mem_strdup(cert_file);
    s->key_file = mem_strdup(key_file);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->reloads, 0);
    atomic_init(&s->refused, 0);

    s->loaded[0] = stat_sig(cert_file); /* before reading: a change during the read is seen */
    s->loaded[1] = stat_sig(key_file);
    memcpy(s->seen, s->loaded, sizeof s->seen);
    if (pair_load(cert_file, key_file, &s->cur, err, cap))
        goto fail;
    if (client_ca_file && client_ca_file[0] &&
        load_client_ca(client_ca_file, &s->client_ca, err, cap))
        goto fail;
    s->loaded_at = clock_wall_s();
    log_pair("serving", cert_file, s->cur);
    if (s->client_ca)
        LOG_INFO("TLS: extender routes need a client certificate signed by %s", client_ca_file);
    return s;
fail:
    tls_store_destroy(s);
    return NULL;
}

void tls_store_destroy(struct tls_store *s)
{
    if (s == NULL)
        return;
    tls_store_unwatch(s);
    tls_pair_release(s->cur);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->lock);
    free(s->client_ca);
    free(s->cert_file);
    free(s->key_file);
    free(s);
}

int tls_store_poll(struct tls_store *s)
{
    char err[512], until[32];
    struct sig now[2] = {stat_sig(s->cert_file), stat_sig(s->key_file)};
    struct tls_pair *p = NULL;

    if (sig_eq(now, s->loaded)) {
        memcpy(s->seen, now, sizeof now);
        return 0;
    }
    if (!sig_eq(now, s->seen)) {
        memcpy(s->seen, now, sizeof now); /* changed since the last look: let it settle */
        return 0;
    }
    if (s->has_bad && sig_eq(now, s->bad))
        return 0; /* refused already; wait for the next change */
    int rc = pair_load(s->cert_file, s->key_file, &p, err, sizeof err);
    if (rc) {
        memcpy(s->bad, now, sizeof now);
        s->has_bad = true;
        atomic_fetch_add(&s->refused, 1);
        pthread_mutex_lock(&s->lock);
        rfc3339(s->cur->facts.not_after, until, sizeof until);
        LOG_ERROR("TLS: new certificate refused: %s; still serving the previous one (sha256 %s, "
                  "valid until %s)",
                  err, s->cur->facts.sha256, until);
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    memcpy(s->loaded, now, sizeof now);
    s->has_bad = false;
    pthread_mutex_lock(&s->lock);
    struct tls_pair *old = s->cur;
    bool same = memcmp(old->digest, p->digest, sizeof p->digest) == 0;
    if (!same) {
        s->cur = p;
        s->loaded_at = clock_wall_s();
    }
    pthread_mutex_unlock(&s->lock);
    if (same) {
        LOG_DEBUG("TLS: %s and %s changed on disk but hold the same pair", s->cert_file,
                  s->key_file);
        pair_free(p); /* never shared */
        return 0;
    }
    tls_pair_release(old); /* connections that use it hold their own references */
    atomic_fetch_add(&s->reloads, 1);
    log_pair("certificate reloaded from", s->cert_file, p);
    return 1;
}

static void *watch_main(void *arg)
{
    struct tls_store *s = arg;
    pthread_mutex_lock(&s->wlock);
    while (!s->stop) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += s->interval_ms / 1000;
        t.tv_nsec += (long)(s->interval_ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        while (!s->stop && pthread_cond_timedwait(&s->wake, &s->wlock, &t) != ETIMEDOUT)
            ;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->wlock);
        tls_store_poll(s);
        pthread_mutex_lock(&s->wlock);
    }
    pthread_mutex_unlock(&s->wlock);
    return NULL;
}

int tls_store_watch(struct tls_store *s, int interval_ms)
{
    if (s->running)
        return 0;
    s->interval_ms = interval_ms < 10 ? 10 : interval_ms;
    s->stop = false;
    if (pthread_create(&s->thread, NULL, watch_main, s) != 0)
        return ERR_IO;
    s->running = true;
    return 0;
}

void tls_store_unwatch(struct tls_store *s)
{
    if (s == NULL || !s->running)
        return;
    pthread_mutex_lock(&s->wlock);
    s->stop = true;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->wlock);
    pthread_join(s->thread, NULL);
    s->running = false;
}

const char *tls_store_client_ca(const struct tls_store *s)
{
    return s ? s->client_ca : NULL;
}

void tls_store_info(struct tls_store *s, struct tls_info *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    out->cert = s->cur->facts;
    out->loaded_at = s->loaded_at;
    pthread_mutex_unlock(&s->lock);
    out->reloads = atomic_load(&s->reloads);
    out->refused = atomic_load(&s->refused);
}

void tls_store_render_metrics(struct tls_store *s, struct buf *out)
{
    struct tls_info i;
    if (s == NULL)
        return;
    tls_store_info(s, &i);
    buf_printf(out,
               "# HELP vgpu_scheduler_tls_cert_expiry_timestamp_seconds Expiry (notAfter) of the "
               "serving certificate, in Unix seconds.\n"
               "# TYPE vgpu_scheduler_tls_cert_expiry_timestamp_seconds gauge\n"
               "vgpu_scheduler_tls_cert_expiry_timestamp_seconds %.0f\n"
               "# HELP vgpu_scheduler_tls_cert_not_before_timestamp_seconds Start of validity "
               "(notBefore) of the serving certificate, in Unix seconds.\n"
               "# TYPE vgpu_scheduler_tls_cert_not_before_timestamp_seconds gauge\n"
               "vgpu_scheduler_tls_cert_not_before_timestamp_seconds %.0f\n"
               "# HELP vgpu_scheduler_tls_cert_reloads_total New certificate pairs found on disk, "
               "by result.\n"
               "# TYPE vgpu_scheduler_tls_cert_reloads_total counter\n"
               "vgpu_scheduler_tls_cert_reloads_total{result=\"ok\"} %llu\n"
               "vgpu_scheduler_tls_cert_reloads_total{result=\"refused\"} %llu\n",
               i.cert.not_after, i.cert.not_before, (unsigned long long)i.reloads,
               (unsigned long long)i.refused);
}

int tls_verify_client(void *session, char *why, size_t cap)
{
    gnutls_session_t ss = session;
    unsigned int n = 0, status = 0;
    if (ss == NULL) {
        snprintf(why, cap, "the connection does not use TLS");
        return ERR_NOTFOUND;
    }
    if (gnutls_certificate_type_get(ss) != GNUTLS_CRT_X509 ||
        gnutls_certificate_get_peers(ss, &n) == NULL || n == 0) {
        snprintf(why, cap, "no client certificate was presented");
        return ERR_NOTFOUND;
    }
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    int g = gnutls_certificate_verify_peers(ss, &purpose, 1, &status);
    if (g < 0) {
        snprintf(why, cap, "the client certificate cannot be verified: %s", gnutls_strerror(g));
        return ERR_INVAL;
    }
    if (status != 0) {
        gnutls_datum_t text = {NULL, 0};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0 &&
            text.data) {
            snprintf(why, cap, "the client certificate was refused: %s", (const char *)text.data);
            gnutls_free(text.data);
        } else {
            snprintf(why, cap, "the client certificate was refused (status 0x%x)", status);
        }
        return ERR_INVAL;
    }
    return 0;
}

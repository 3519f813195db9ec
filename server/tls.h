/* tls: the server's certificate and key, checked with OpenSSL, served through
 * GnuTLS (which libmicrohttpd uses), reloaded when the files change.
 *
 * A store holds the pair being served. A pair is reference-counted: each TLS
 * handshake takes a reference (tls_store_acquire) that the connection gives
 * back when it closes (tls_pair_release). So a rotation never frees a pair
 * a connection still uses; new handshakes get the new pair at once, and
 * connections already open keep theirs until they close.
 *
 * Every load (at start and at each change) reads both files (at most
 * TLS_FILE_MAX bytes each) and checks with OpenSSL that the certificate and
 * key parse (an encrypted key is refused, never prompted for), that the key
 * matches the first certificate, and that this certificate has not expired.
 * A bad new pair is refused and logged once; the pair in use stays.
 *
 * The files are polled (stat: device, inode, size, mtime, ctime) by a watch
 * thread. A change is loaded only once the files have looked the same for
 * one whole interval, so a writer caught half-way (a certificate renamed in
 * and its key not yet) is not loaded. Kubernetes Secret volumes (a symlink
 * swap) and atomic renames are seen as changes; so is an edit in place.
 *
 * The optional client CA is read once at creation; it is not reloaded.
 *
 * Threads: tls_store_acquire, tls_pair_release, tls_store_info and
 * tls_store_render_metrics may run on any thread at any time. tls_store_poll
 * runs on one thread at a time (the watch thread once it is started). */
#ifndef VS_TLS_H
#define VS_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define TLS_FILE_MAX  (1u << 20) /* bytes of a certificate, key or CA file */
#define TLS_CHAIN_MAX 16         /* certificates in the served chain */
/* GnuTLS priorities: GnuTLS's defaults, TLS 1.2 and 1.3 only. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* What a certificate says, as OpenSSL read it. Open value struct. */
struct tls_cert_facts {
    double not_before, not_after; /* Unix seconds */
    char subject[256];            /* one line, RFC 2253 */
    char sha256[20];              /* first 8 bytes of the DER digest, hex */
};

/* Check a pair as the store does before serving it: cert_pem holds one or
 * more PEM certificates (the first is the server's), key_pem its private key.
 * `now` in Unix seconds. Returns 0 and fills facts (may be NULL), or ERR_INVAL
 * (does not parse, key does not match, encrypted key) or ERR_RANGE (expired)
 * with one line in err. Thread-safe. */
int tls_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                   double now, struct tls_cert_facts *facts, char *err, size_t cap);

struct tls_store;
struct tls_pair;

/* Load and check cert_file + key_file (and client_ca_file when not NULL or
 * "": PEM, at least one certificate). Returns a new store, or NULL with err
 * naming the file and the problem. Paths are copied. Caller frees with
 * tls_store_destroy. */
struct tls_store *tls_store_create(const char *cert_file, const char *key_file,
                                   const char *client_ca_file, char *err, size_t cap);

/* Stop watching (if started) and free. Pairs still held by connections stay
 * valid until released. Accepts NULL. */
void tls_store_destroy(struct tls_store *s);

/* Look at the files once; load them when they changed and have been stable
 * since the previous call. Returns 1 when a new pair is now served, 0 when
 * nothing changed (or a change is waiting to settle, or was refused
 * before), or a negative error when a new pair was refused (logged). */
int tls_store_poll(struct tls_store *s);

/* Start the watch thread: tls_store_poll every interval_ms (>= 10). Returns
 * 0 or ERR_IO. Stopped by tls_store_destroy or tls_store_unwatch. */
int tls_store_watch(struct tls_store *s, int interval_ms);
/* Stop the watch thread, if any; returns when it has ended. */
void tls_store_unwatch(struct tls_store *s);

/* The pair to serve now, with a reference the caller gives back with
 * tls_pair_release. Never NULL. */
struct tls_pair *tls_store_acquire(struct tls_store *s);
/* Give a reference back; the last one frees the pair. Accepts NULL. */
void tls_pair_release(struct tls_pair *p);
/* The pair's credentials for GnuTLS's certificate retrieve function.
 * Borrowed: valid while the reference is held. */
void tls_pair_credentials(struct tls_pair *p, gnutls_pcert_st **pcert, unsigned int *n,
                          gnutls_privkey_t *key);

/* The client CA file's PEM text, or NULL when there is none. Borrowed:
 * valid until tls_store_destroy. */
const char *tls_store_client_ca(const struct tls_store *s);

/* The served pair's facts and the reload counters. */
struct tls_info {
    struct tls_cert_facts cert;
    uint64_t reloads; /* new pairs served since start */
    uint64_t refused; /* new pairs refused since start */
    double loaded_at; /* Unix seconds the served pair was loaded */
};
void tls_store_info(struct tls_store *s, struct tls_info *out);

/* Append the Prometheus text of the store's gauges and counters:
 *   vgpu_scheduler_tls_cert_expiry_timestamp_seconds   gauge
 *   vgpu_scheduler_tls_cert_not_before_timestamp_seconds gauge
 *   vgpu_scheduler_tls_cert_reloads_total{result="ok|refused"} counter
 * Nothing when s is NULL. */
void tls_store_render_metrics(struct tls_store *s, struct buf *out);

/* Check the client certificate of a TLS session (a gnutls_session_t) against
 * the trusted client CA set for that session, for the TLS client purpose.
 * Returns 0 when it is valid, or ERR_NOTFOUND (no certificate presented) or
 * ERR_INVAL (not signed by the CA, expired, wrong purpose) with the reason in
 * why. */
int tls_verify_client(void *session, char *why, size_t cap);

/* The oldest OpenSSL error as text in buf (returned), and clear OpenSSL's
 * error queue. */
const char *tls_ssl_error(char *buf, size_t cap);

#endif

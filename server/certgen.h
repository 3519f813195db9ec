/* certgen: a CA and a serving certificate for a Kubernetes Service, with
 * OpenSSL, behind `vgpu-scheduler gen-cert`.
 *
 * The CA is self-signed (CN "<service>-ca", basicConstraints CA:TRUE); its
 * key is not kept. The certificate it signs is for the Service as
 * kube-apiserver and kube-scheduler reach it: DNS names NAME, NAME.NS,
 * NAME.NS.svc, NAME.NS.svc.cluster.local and localhost, IP 127.0.0.1;
 * extended key usage serverAuth and clientAuth (so kube-scheduler may
 * present the same pair as its client certificate when --client-ca-file is
 * set). Keys are ECDSA P-256; signatures SHA-256; validity starts 5 minutes
 * before now (clock skew) and lasts `days`. */
#ifndef VS_CERTGEN_H
#define VS_CERTGEN_H

#include <stddef.h>

struct certgen_opts {
    const char *service;    /* a DNS label */
    const char *ns;         /* a DNS label */
    const char *out_dir;    /* created (0755) when missing; its parent must exist */
    int days;               /* 1..36500 */
    const char *patch_file; /* NULL or "": none; else a JSON Patch setting
                               /webhooks/0/clientConfig/caBundle is written there */
};

/* Write ca.crt, tls.crt (mode 0644) and tls.key (0600, PKCS#8) into
 * o->out_dir, each atomically (a temporary file renamed over the old one), so
 * a server watching the files never reads half of one. On success
 * *ca_bundle is a new string, the base64 of ca.crt as caBundle wants it
 * (caller frees). Returns 0, ERR_INVAL (bad options) or ERR_IO, with one
 * line in err. */
int certgen_write(const struct certgen_opts *o, char **ca_bundle, char *err, size_t cap);

#endif

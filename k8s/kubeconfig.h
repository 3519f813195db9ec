/* kubeconfig: where the API server is and how to prove who we are.
 *
 * Two sources, as client-go has them:
 *  - a kubeconfig file (YAML, read with libyaml): the current context's
 *    cluster (`server`, `certificate-authority(-data)`,
 *    `insecure-skip-tls-verify`) and user (`token`,
 *    `tokenFile`, `client-certificate(-data)`, `client-key(-data)`), and the
 *    context's `namespace`. A colon-separated list of files is merged as
 *    kubectl does: the first file that sets a value wins. Relative paths are
 *    relative to the file that names them. Credential plugins (`exec`,
 *    `auth-provider`), basic auth, impersonation, `proxy-url` and
 *    `tls-server-name` are refused with a clear error;
 *  - the pod's service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 *    the token file (the client re-reads it: it rotates), ca.crt, namespace.
 *
 * The file is untrusted input: its size, the number of files and every
 * value have limits, and a malformed file is an error naming what is wrong,
 * never a crash. */
#ifndef VS_KUBECONFIG_H
#define VS_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define KUBECONFIG_MAX_BYTES (4L << 20) /* one kubeconfig file */
#define KUBECONFIG_FILES_MAX 8          /* entries of a colon-separated list */
#define KUBECONFIG_VALUE_MAX (1L << 20) /* one scalar (certificate data is long) */
#define KUBECONFIG_SA_DIR    "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBECONFIG_TOKEN_MAX (64L << 10) /* a token file */
#define KUBECONFIG_NS_MAX    1024        /* the service account's namespace file */

/* Where and how to connect. Open value struct; owns every string; free with
 * kubeconfig_free. Absent values are NULL. *_data fields hold decoded PEM
 * bytes of *_len bytes (NUL-terminated too). */
struct kubeconfig {
    char *server;  /* "https://10.0.0.1:6443", no trailing slash */
    char *ca_file; /* absolute path */
    char *ca_data;
    size_t ca_len;
    bool insecure;    /* insecure-skip-tls-verify */
    char *token;      /* bearer token */
    char *token_file; /* re-read when it changes; wins over token */
    char *cert_file, *key_file;
    char *cert_data, *key_data;
    size_t cert_len, key_len;
    char *ns;     /* the namespace; "default" when none is set */
    char *source; /* for logs: "kubeconfig /path, context ctx" or "in-cluster" */
};

/* Load `paths` (one file, or a colon-separated list as in $KUBECONFIG).
 * Returns 0 and fills out (free with kubeconfig_free), or ERR_IO (a file
 * cannot be read), ERR_TOOBIG, ERR_INVAL (not YAML, missing context,
 * cluster or server, bad base64, bad boolean) or ERR_UNSUPPORTED (exec or
 * auth-provider plugins, basic auth, proxy-url, tls-server-name) with a
 * message in err. */
int kubeconfig_load(const char *paths, struct kubeconfig *out, char *err, size_t cap);

/* The in-pod config: the environment plus sa_dir (NULL: the standard
 * service account directory). Returns 0, ERR_NOTFOUND when
 * KUBERNETES_SERVICE_HOST is unset (not in a pod), or ERR_IO / ERR_INVAL
 * with err filled. */
int kubeconfig_in_cluster(const char *sa_dir, struct kubeconfig *out, char *err, size_t cap);

/* The source the service uses: flag_path when not empty, else $KUBECONFIG
 * when set, else the in-pod config. ERR_NOTFOUND when there is none. */
int kubeconfig_resolve(const char *flag_path, struct kubeconfig *out, char *err, size_t cap);

/* The risks of how c reaches the API server, one sentence each, never a
 * credential: insecure-skip-tls-verify; a bearer token or a client
 * certificate given for a plain http:// server. Writes the i-th (from 0)
 * into buf and returns true; false past the last. */
bool kubeconfig_warning(const struct kubeconfig *c, int i, char *buf, size_t cap);

/* Free what c owns and zero it. Accepts NULL. */
void kubeconfig_free(struct kubeconfig *c);

/* Decode standard base64 (padding optional, whitespace ignored) into a new
 * NUL-terminated buffer (caller frees) of *len bytes. Returns 0 or
 * ERR_INVAL. */
int kubeconfig_base64(const char *in, char **out, size_t *len);

#endif

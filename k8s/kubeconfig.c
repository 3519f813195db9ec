/* kubeconfig.c: kubeconfig files (libyaml's document API) and the in-pod
 * service account. */
#include "k8s/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "base/err.h"
#include "base/file.h"
#include "base/list.h"
#include "base/mem.h"

/* One loaded file of the list. */
struct kfile {
    char path[4096];
    char dir[4096]; /* with a trailing '/', or "" */
    yaml_document_t doc;
    yaml_node_t *root; /* NULL: empty file */
    bool loaded;
};

struct files {
    struct kfile f[KUBECONFIG_FILES_MAX];
    int n;
};

bool kubeconfig_warning(const struct kubeconfig *c, int i, char *buf, size_t cap)
{
    bool http = c->server && strncmp(c->server, "http://", 7) == 0;
    bool token = c->token || c->token_file, cert = c->cert_file || c->cert_data;
    const char *server = c->server ? c->server : "";
    if (c->insecure && i-- == 0) {
        snprintf(buf, cap,
                 "API server %.200s: insecure-skip-tls-verify is set: its certificate is not "
                 "checked, so anyone on the network path can pose as the API server and take "
                 "this scheduler's credentials",
                 server);
        return true;
    }
    if (http && token && i-- == 0) {
        snprintf(buf, cap,
                 "API server %.200s is plain http://: the bearer token goes over the network "
                 "unencrypted; use https://",
                 server);
        return true;
    }
    if (http && cert && i-- == 0) {
        snprintf(buf, cap,
                 "API server %.200s is plain http://: the client certificate is never presented "
                 "(no TLS) and nothing is encrypted; use https://",
                 server);
        return true;
    }
    return false;
}

void kubeconfig_free(struct kubeconfig *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->ca_file);
    free(c->ca_data);
    free(c->token);
    free(c->token_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->cert_data);
    free(c->key_data);
    free(c->ns);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* ---- base64 ---- */

static int b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

int kubeconfig_base64(const char *in, char **out, size_t *len)
{
    size_t n = strlen(in), k = 0;
    char *buf = mem_alloc(n / 4 * 3 + 4);
    unsigned acc = 0;
    int bits = 0, pad = 0;

    for (const char *p = in; *p; p++) {
        int ch = (unsigned char)*p;
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        int v = b64_value(ch);
        if (v < 0 || pad) /* a bad character, or data after padding */
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* Leftover bits must be the zero padding of a 2- or 3-char tail. */
    if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)) != 0)
        goto bad;
    buf[k] = '\0';
    *out = buf;
    *len = k;
    return 0;
bad:
    free(buf);
    return ERR_INVAL;
}

/* ---- YAML helpers ---- */

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(yaml_document_t *d, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = scalar(yaml_document_get_node(d, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

/* In the sequence root[list], the entry whose `name` is name: its `field`
 * (e.g. clusters[].cluster). *found says whether the name was there at all. */
static yaml_node_t *named(yaml_document_t *d, const yaml_node_t *root, const char *list,
                          const char *name, const char *field, bool *found)
{
    yaml_node_t *seq = get(d, root, list);
    *found = false;
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return NULL;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(d, *it);
        const char *n = scalar(get(d, e, "name"));
        if (n && strcmp(n, name) == 0) {
            *found = true;
            return get(d, e, field);
        }
    }
    return NULL;
}

/* A string value of map[key]: NULL when absent or empty; ERR_INVAL when it
 * is not a scalar or is too long. */
static int str_at(yaml_document_t *d, const yaml_node_t *map, const char *key, const char *where,
                  const char **out, char *err, size_t cap)
{
    yaml_node_t *n = get(d, map, key);
    *out = NULL;
    if (!n)
        return 0;
    if (n->type != YAML_SCALAR_NODE) {
        snprintf(err, cap, "%s: %s is not a string", where, key);
        return ERR_INVAL;
    }
    if (n->data.scalar.length > (size_t)KUBECONFIG_VALUE_MAX) {
        snprintf(err, cap, "%s: %s is longer than %ld bytes", where, key, KUBECONFIG_VALUE_MAX);
        return ERR_TOOBIG;
    }
    if (n->data.scalar.length > 0)
        *out = (const char *)n->data.scalar.value;
    return 0;
}

/* YAML 1.1 booleans, as Go's yaml reads them. */
static int bool_at(yaml_document_t *d, const yaml_node_t *map, const char *key, const char *where,
                   bool *out, char *err, size_t cap)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    const char *v;
    int rc = str_at(d, map, key, where, &v, err, cap);
    if (rc || !v)
        return rc;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    snprintf(err, cap, "%s: %s: \"%.40s\" is not a boolean", where, key, v);
    return ERR_INVAL;
}

/* A path as the file names it, made absolute against the file's folder. */
static char *path_of(const struct kfile *f, const char *p)
{
    size_t n = strlen(f->dir) + strlen(p) + 1;
    char *s = mem_alloc(n);
    snprintf(s, n, "%s%s", p[0] == '/' ? "" : f->dir, p);
    return s;
}

static int decode(const char *v, const char *where, const char *key, char **out, size_t *len,
                  char *err, size_t cap)
{
    if (kubeconfig_base64(v, out, len) != 0) {
        snprintf(err, cap, "%s: %s is not valid base64", where, key);
        return ERR_INVAL;
    }
    return 0;
}

/* ---- files ---- */

static int load_one(const char *path, struct kfile *f, char *err, size_t cap)
{
    char *data = NULL;
    size_t len = 0;
    yaml_parser_t p;
    int rc = file_read(path, KUBECONFIG_MAX_BYTES, &data, &len, err, cap);
    if (rc)
        return rc;
    snprintf(f->path, sizeof f->path, "%s", path);
    const char *slash = strrchr(f->path, '/');
    size_t dl = slash ? (size_t)(slash - f->path + 1) : 0;
    memcpy(f->dir, f->path, dl);
    f->dir[dl] = '\0';
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &f->doc)) {
        snprintf(err, cap, "%s: not YAML: %s at line %zu", path,
                 p.problem ? p.problem : "parse error", p.problem_mark.line + 1);
        rc = ERR_INVAL;
        goto out;
    }
    f->loaded = true;
    f->root = yaml_document_get_root_node(&f->doc);
    if (f->root && f->root->type != YAML_MAPPING_NODE) {
        snprintf(err, cap, "%s: not a kubeconfig (the top level is not a mapping)", path);
        rc = ERR_INVAL;
    }
out:
    yaml_parser_delete(&p);
    free(data);
    return rc;
}

static void files_free(struct files *fs)
{
    for (int i = 0; i < fs->n; i++)
        if (fs->f[i].loaded)
            yaml_document_delete(&fs->f[i].doc);
    free(fs);
}

/* The first file that has `list` entry `name`: its `field` node. */
static yaml_node_t *find_named(struct files *fs, const char *list, const char *name,
                               const char *field, struct kfile **in)
{
    for (int i = 0; i < fs->n; i++) {
        bool found;
        yaml_node_t *n = named(&fs->f[i].doc, fs->f[i].root, list, name, field, &found);
        if (found) {
            *in = &fs->f[i];
            return n;
        }
    }
    return NULL;
}

static int read_cluster(struct kfile *f, yaml_node_t *cl, const char *name, struct kubeconfig *c,
                        char *err, size_t cap)
{
    yaml_document_t *d = &f->doc;
    char where[512];
    const char *server, *ca, *ca_data, *tsn, *proxy;
    int rc;
    snprintf(where, sizeof where, "%.280s: cluster \"%.200s\"", f->path, name);
    if (!cl || cl->type != YAML_MAPPING_NODE) {
        snprintf(err, cap, "%s has no cluster mapping", where);
        return ERR_INVAL;
    }
    if ((rc = str_at(d, cl, "server", where, &server, err, cap)) ||
        (rc = str_at(d, cl, "certificate-authority", where, &ca, err, cap)) ||
        (rc = str_at(d, cl, "certificate-authority-data", where, &ca_data, err, cap)) ||
        (rc = str_at(d, cl, "tls-server-name", where, &tsn, err, cap)) ||
        (rc = str_at(d, cl, "proxy-url", where, &proxy, err, cap)) ||
        (rc = bool_at(d, cl, "insecure-skip-tls-verify", where, &c->insecure, err, cap)))
        return rc;
    if (proxy || tsn) {
        snprintf(err, cap, "%s: %s is not supported", where,
                 proxy ? "proxy-url" : "tls-server-name");
        return ERR_UNSUPPORTED;
    }
    if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)) {
        snprintf(err, cap, "%s: server \"%.200s\" is not an http:// or https:// URL", where,
                 server ? server : "");
        return ERR_INVAL;
    }
    if (c->insecure && (ca || ca_data)) {
        snprintf(err, cap,
                 "%s: insecure-skip-tls-verify together with a certificate authority is not "
                 "allowed",
                 where);
        return ERR_INVAL;
    }
    c->server = mem_strdup(server);
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    if (ca_data)
        rc =
            decode(ca_data, where, "certificate-authority-data", &c->ca_data, &c->ca_len, err, cap);
    else if (ca)
        c->ca_file = path_of(f, ca);
    return rc;
}

static int read_user(struct kfile *f, yaml_node_t *u, const char *name, struct kubeconfig *c,
                     char *err, size_t cap)
{
    static const char *const refused[] = {"exec", "auth-provider", "username", "password", "as"};
    yaml_document_t *d = &f->doc;
    char where[512];
    const char *token, *token_file, *cert, *cert_data, *key, *key_data;
    int rc;
    snprintf(where, sizeof where, "%.280s: user \"%.200s\"", f->path, name);
    if (!u)
        return 0; /* an entry with no user mapping: anonymous */
    if (u->type != YAML_MAPPING_NODE) {
        snprintf(err, cap, "%s: user is not a mapping", where);
        return ERR_INVAL;
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (get(d, u, refused[i])) {
            snprintf(err, cap,
                     "%s: %s is not supported (credential plugins and basic auth are not "
                     "implemented): give the scheduler a token, tokenFile or client certificate",
                     where, refused[i]);
            return ERR_UNSUPPORTED;
        }
    }
    if ((rc = str_at(d, u, "token", where, &token, err, cap)) ||
        (rc = str_at(d, u, "tokenFile", where, &token_file, err, cap)) ||
        (rc = str_at(d, u, "client-certificate", where, &cert, err, cap)) ||
        (rc = str_at(d, u, "client-certificate-data", where, &cert_data, err, cap)) ||
        (rc = str_at(d, u, "client-key", where, &key, err, cap)) ||
        (rc = str_at(d, u, "client-key-data", where, &key_data, err, cap)))
        return rc;
    if (!(cert || cert_data) != !(key || key_data)) {
        snprintf(err, cap, "%s: a client certificate needs both the certificate and the key",
                 where);
        return ERR_INVAL;
    }
    c->token = mem_strdup(token);
    if (token_file)
        c->token_file = path_of(f, token_file);
    if (cert_data)
        rc = decode(cert_data, where, "client-certificate-data", &c->cert_data, &c->cert_len, err,
                    cap);
    else if (cert)
        c->cert_file = path_of(f, cert);
    if (rc)
        return rc;
    if (key_data)
        rc = decode(key_data, where, "client-key-data", &c->key_data, &c->key_len, err, cap);
    else if (key)
        c->key_file = path_of(f, key);
    return rc;
}

int kubeconfig_load(const char *paths, struct kubeconfig *out, char *err, size_t cap)
{
    struct files *fs = mem_zalloc(sizeof *fs);
    char *list = mem_strdup(paths ? paths : "");
    const char *rest = list, *path;
    size_t len;
    const char *ctx_name = NULL, *cluster_name = NULL, *user_name = NULL, *ns = NULL;
    struct kfile *in = NULL;
    char where[512];
    int rc = 0;

    memset(out, 0, sizeof *out);
    while (list_next(&rest, ':', NULL, &path, &len)) {
        if (len == 0)
            continue; /* "a::b" */
        list[path - list + len] = '\0';
        if (fs->n == KUBECONFIG_FILES_MAX) {
            snprintf(err, cap, "more than %d kubeconfig files", KUBECONFIG_FILES_MAX);
            rc = ERR_TOOBIG;
            goto out;
        }
        rc = load_one(path, &fs->f[fs->n], err, cap);
        fs->n++;
        if (rc)
            goto out;
    }
    if (fs->n == 0) {
        snprintf(err, cap, "no kubeconfig file given");
        rc = ERR_INVAL;
        goto out;
    }
    for (int i = 0; i < fs->n && !ctx_name; i++) {
        rc = str_at(&fs->f[i].doc, fs->f[i].root, "current-context", fs->f[i].path, &ctx_name, err,
                    cap);
        if (rc)
            goto out;
    }
    if (!ctx_name) {
        snprintf(err, cap, "%s: no current-context", fs->f[0].path);
        rc = ERR_INVAL;
        goto out;
    }
    yaml_node_t *ctx = find_named(fs, "contexts", ctx_name, "context", &in);
    if (!in) {
        snprintf(err, cap, "%s: context \"%.200s\" not found", fs->f[0].path, ctx_name);
        rc = ERR_INVAL;
        goto out;
    }
    snprintf(where, sizeof where, "%.280s: context \"%.200s\"", in->path, ctx_name);
    if ((rc = str_at(&in->doc, ctx, "cluster", where, &cluster_name, err, cap)) ||
        (rc = str_at(&in->doc, ctx, "user", where, &user_name, err, cap)) ||
        (rc = str_at(&in->doc, ctx, "namespace", where, &ns, err, cap)))
        goto out;
    if (!cluster_name) {
        snprintf(err, cap, "%s names no cluster", where);
        rc = ERR_INVAL;
        goto out;
    }
    in = NULL;
    yaml_node_t *cl = find_named(fs, "clusters", cluster_name, "cluster", &in);
    if (!in) {
        snprintf(err, cap, "%s: cluster \"%.200s\" not found", where, cluster_name);
        rc = ERR_INVAL;
        goto out;
    }
    if ((rc = read_cluster(in, cl, cluster_name, out, err, cap)))
        goto out;
    if (user_name) {
        in = NULL;
        yaml_node_t *u = find_named(fs, "users", user_name, "user", &in);
        if (!in) {
            snprintf(err, cap, "%s: user \"%.200s\" not found", where, user_name);
            rc = ERR_INVAL;
            goto out;
        }
        if ((rc = read_user(in, u, user_name, out, err, cap)))
            goto out;
    }
    out->ns = mem_strdup(ns ? ns : "default");
    size_t n = strlen(paths) + strlen(ctx_name) + 40;
    out->source = mem_alloc(n);
    snprintf(out->source, n, "kubeconfig %s, context %s", paths, ctx_name);
out:
    if (rc)
        kubeconfig_free(out);
    files_free(fs);
    free(list);
    return rc;
}

/* ---- in a pod ---- */

static char *join(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *s = mem_alloc(n);
    snprintf(s, n, "%s/%s", dir, file);
    return s;
}

int kubeconfig_in_cluster(const char *sa_dir, struct kubeconfig *out, char *err, size_t cap)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    char *token = NULL, *ns = NULL;
    size_t len = 0;
    struct stat st;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (!sa_dir)
        sa_dir = KUBECONFIG_SA_DIR;
    if (!host || !*host)
        return ERR_NOTFOUND;
    if (!port || !*port || strlen(host) > 255 || strlen(port) > 5 ||
        strspn(port, "0123456789") != strlen(port)) {
        snprintf(err, cap, "in a pod: KUBERNETES_SERVICE_PORT \"%.20s\" is not a port",
                 port ? port : "");
        return ERR_INVAL;
    }
    size_t n = strlen(host) + strlen(port) + 16;
    out->server = mem_alloc(n);
    snprintf(out->server, n, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    out->token_file = join(sa_dir, "token");
    rc = file_read(out->token_file, KUBECONFIG_TOKEN_MAX, &token, &len, err, cap);
    if (rc)
        goto out;
    char *ca = join(sa_dir, "ca.crt");
    if (stat(ca, &st) == 0)
        out->ca_file = ca;
    else
        free(ca);
    char *ns_path = join(sa_dir, "namespace");
    char e2[64];
    if (file_read(ns_path, KUBECONFIG_NS_MAX, &ns, &len, e2, sizeof e2) == 0) {
        while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == ' ' || ns[len - 1] == '\r'))
            ns[--len] = '\0';
    }
    free(ns_path);
    out->ns = mem_strdup(ns && *ns ? ns : "default");
    out->source = mem_strdup("in-cluster service account");
out:
    free(token);
    free(ns);
    if (rc)
        kubeconfig_free(out);
    return rc;
}

int kubeconfig_resolve(const char *flag_path, struct kubeconfig *out, char *err, size_t cap)
{
    const char *env = getenv("KUBECONFIG");
    if (flag_path && *flag_path)
        return kubeconfig_load(flag_path, out, err, cap);
    if (env && *env)
        return kubeconfig_load(env, out, err, cap);
    int rc = kubeconfig_in_cluster(NULL, out, err, cap);
    if (rc == ERR_NOTFOUND)
        snprintf(err, cap, "no API server: not in a pod, no --kubeconfig, no $KUBECONFIG");
    return rc;
}

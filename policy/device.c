/* device.c: the device backend table and what every backend shares. */
#include "policy/device.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

extern const struct policy_device_backend policy_device_nvidia;
extern const struct policy_device_backend policy_device_hygon;
extern const struct policy_device_backend policy_device_cambricon;
extern const struct policy_device_backend policy_device_910a, policy_device_910b2,
    policy_device_910b3, policy_device_910b4_1, policy_device_910b4, policy_device_310p,
    policy_device_910c; /* Huawei Ascend, one row per chip (device_ascend.c) */

/* Every backend; a new vendor is one new file and one row here. */
const struct policy_device_backend *const policy_device_backends[] = {
    &policy_device_nvidia,
    &policy_device_hygon,
    &policy_device_cambricon,
    &policy_device_910a,
    &policy_device_910b2,
    &policy_device_910b3,
    &policy_device_910b4_1,
    &policy_device_910b4,
    &policy_device_310p,
    &policy_device_910c,
    NULL,
};

/* The operator's resource names, per row (its index in the table) and
 * role; "" = the row's own. Written only by policy_device_res_set at start,
 * before any thread; read without a lock after. */
static char res_names[POLICY_DEVICE_ROWS_MAX][POLICY_RES_N][POLICY_RES_NAME_MAX];

static const char *const role_names[POLICY_RES_N] = {"count", "memory", "memory percentage",
                                                     "cores", "priority"};

static int row_index(const struct policy_device_backend *b)
{
    for (int i = 0; b && i < POLICY_DEVICE_ROWS_MAX && policy_device_backends[i]; i++)
        if (policy_device_backends[i] == b)
            return i;
    return -1;
}

int policy_device_backend_index(const struct policy_device_backend *b)
{
    return row_index(b);
}

const char *policy_device_res(const struct policy_device_backend *b, enum policy_res r)
{
    int i = row_index(b);
    if (i < 0 || r < 0 || r >= POLICY_RES_N)
        return NULL;
    return res_names[i][r][0] && b->res[r] ? res_names[i][r] : b->res[r];
}

/* A DNS subdomain of 1..253: labels of a-z 0-9 '-', alphanumeric ends. */
static bool dns_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        while (i + k < n && s[i + k] != '.')
            k++;
        if (k == 0 || k > 63 || s[i] == '-' || s[i + k - 1] == '-')
            return false;
        for (size_t j = i; j < i + k; j++)
            if (!((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= '0' && s[j] <= '9') || s[j] == '-'))
                return false;
        i += k + 1;
        if (i == n) /* a trailing dot */
            return false;
    }
    return true;
}

static bool alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool policy_device_res_name_ok(const char *name, char *err, size_t cap)
{
    const char *slash = name ? strchr(name, '/') : NULL;
    bool ok = slash && dns_subdomain(name, (size_t)(slash - name));
    size_t n = ok ? strlen(slash + 1) : 0;
    ok = ok && n >= 1 && n <= 63 && alnum(slash[1]) && alnum(slash[n]);
    for (size_t i = 1; ok && i <= n; i++)
        ok = alnum(slash[i]) || slash[i] == '-' || slash[i] == '_' || slash[i] == '.';
    if (!ok)
        snprintf(err, cap,
                 "\"%.80s\" is not a resource name (a DNS subdomain, '/', then 1..63 letters, "
                 "digits, '-', '_' or '.': \"example.com/gpu\")",
                 name ? name : "");
    return ok;
}

int policy_device_res_set(const struct policy_device_backend *b, enum policy_res r,
                          const char *name, char *err, size_t cap)
{
    int i = row_index(b);
    if (i < 0 || r < 0 || r >= POLICY_RES_N || !b->res[r]) {
        snprintf(err, cap, "%s has no resource of that role", b ? b->name : "(no row)");
        return ERR_INVAL;
    }
    if (!name || !*name || strcmp(name, b->res[r]) == 0) {
        res_names[i][r][0] = '\0';
        return 0;
    }
    if (!policy_device_res_name_ok(name, err, cap))
        return ERR_INVAL;
    for (int k = 0; policy_device_backends[k]; k++)
        for (int q = 0; q < POLICY_RES_N; q++) {
            const char *other = policy_device_res(policy_device_backends[k], (enum policy_res)q);
            if ((k != i || q != (int)r) && other && strcmp(other, name) == 0) {
                snprintf(err, cap, "\"%.80s\" is already the %s %s resource", name,
                         policy_device_backends[k]->name, role_names[q]);
                return ERR_CONFLICT;
            }
        }
    snprintf(res_names[i][r], sizeof res_names[i][r], "%s", name);
    return 0;
}

const struct policy_device_backend *policy_device_res_unknown(const char *name)
{
    const struct policy_device_backend *like = NULL;
    for (int i = 0; name && policy_device_backends[i]; i++) {
        const struct policy_device_backend *b = policy_device_backends[i];
        for (int r = 0; r < POLICY_RES_N; r++) {
            const char *now = policy_device_res(b, (enum policy_res)r);
            /* a role's name, or a row's own name the operator renamed away
             * (another device plugin may serve it: it asks nothing here) */
            if ((now && strcmp(now, name) == 0) || (b->res[r] && strcmp(b->res[r], name) == 0))
                return NULL;
        }
        for (int k = 0; b->res_foreign && b->res_foreign[k]; k++)
            if (strncmp(name, b->res_foreign[k], strlen(b->res_foreign[k])) == 0)
                return NULL;
        if (!like && b->res_prefix && strncmp(name, b->res_prefix, strlen(b->res_prefix)) == 0)
            like = b;
    }
    return like;
}

const struct policy_device_backend *policy_device_backend_find(const char *name)
{
    for (int i = 0; name && policy_device_backends[i]; i++)
        if (strcmp(policy_device_backends[i]->name, name) == 0)
            return policy_device_backends[i];
    return NULL;
}

const struct policy_device_backend *policy_device_backend_default(void)
{
    return policy_device_backends[0];
}

const struct policy_device_backend *policy_device_backend_of_word(const char *devices)
{
    const char *w = devices ? strchr(devices, ',') : NULL;
    if (!w)
        return policy_device_backends[0];
    w++;
    size_t n = strcspn(w, ",:;");
    for (int i = 0; policy_device_backends[i]; i++) {
        const char *v = policy_device_backends[i]->vendor_word;
        if (strlen(v) == n && strncmp(v, w, n) == 0)
            return policy_device_backends[i];
    }
    return policy_device_backends[0];
}

const struct policy_device_backend *policy_ctr_backend(const struct policy_ctr *c)
{
    return c && c->backend ? c->backend : policy_device_backends[0];
}

const struct policy_device_backend *policy_device_backend_of(const struct policy_device *d)
{
    return d && d->backend ? d->backend : policy_device_backends[0];
}

const struct policy_device_backend *policy_node_vendor(const struct policy_device *dev,
                                                       int32_t ndev)
{
    const struct policy_device_backend *b = ndev > 0 ? policy_device_backend_of(&dev[0]) : NULL;
    for (int32_t i = 1; b && i < ndev; i++)
        if (policy_device_backend_of(&dev[i]) != b)
            return NULL;
    return b;
}

int policy_device_find(const struct policy_device *dev, int32_t ndev, const char *uuid, size_t n,
                       int hint)
{
    for (int k = 0; k < ndev; k++) {
        int i = (hint + k) % ndev;
        const char *u = dev[i].uuid;
        if (u && strncmp(u, uuid, n) == 0 && u[n] == '\0')
            return i;
    }
    return -1;
}

/* n bytes of digits at s, at least one. */
static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

size_t policy_device_card_len(const char *uuid, size_t n)
{
    if (n < 5 || uuid[n - 1] != ']')
        return n;
    size_t open = n - 1;
    while (open > 0 && uuid[open - 1] != '[')
        open--;
    if (open < 2) /* no '[', or nothing before it */
        return n;
    const char *in = uuid + open, *dash = memchr(in, '-', n - 1 - open);
    if (!dash || !all_digits(in, (size_t)(dash - in)) ||
        !all_digits(dash + 1, (size_t)(uuid + n - 1 - (dash + 1))))
        return n;
    return open - 1;
}

int policy_device_find_card(const struct policy_device *dev, int32_t ndev, const char *uuid,
                            size_t n, int hint)
{
    int k = policy_device_find(dev, ndev, uuid, n, hint);
    size_t card = policy_device_card_len(uuid, n);
    if (k < 0 && card < n)
        k = policy_device_find(dev, ndev, uuid, card, hint);
    return k;
}

const struct policy_device_backend *policy_pod_backend(const struct policy_pod *pod)
{
    for (int i = 0; i < pod->nctr && i < POLICY_MAX_CONTAINERS; i++)
        if (pod->ctr[i].nums > 0)
            return policy_ctr_backend(&pod->ctr[i]);
    return NULL;
}

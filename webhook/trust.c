/* trust.c: the accounting keys and the users who may write them. */
#include "webhook/trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/list.h"
#include "base/mem.h"
#include "k8s/model.h"
#include "policy/device.h"
#include "policy/device_nvidia_mig.h"

#define SHOW_MAX 64 /* bytes of a username quoted in a message */

struct webhook_trust {
    int n;
    char *user[WEBHOOK_TRUST_MAX];
    char shown[512]; /* "a, b" for messages, cut when long */
};

/* The keys only trusted users may write. */
static const struct {
    const char *where; /* "annotations" or "labels" */
    const char *key;
} keys[] = {
    {"annotations", MODEL_ANN_VGPU_NODE},        {"annotations", MODEL_ANN_VGPU_TIME},
    {"annotations", MODEL_ANN_BIND_PHASE},       {"annotations", MODEL_ANN_BIND_TIME},
    {"annotations", POLICY_MIG_ANN_ALLOCATIONS}, {"labels", MODEL_ANN_VGPU_NODE},
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* The pod annotations of row b that record or carry its allocation: the
 * two devices annotations and the extras written with them (ann_extra);
 * NULL in the slots a row leaves empty. */
#define ROW_KEYS (2 + POLICY_DEVICE_EXTRA_MAX)
static const char *row_key(const struct policy_device_backend *b, size_t k)
{
    return k == 0 ? b->ann_to_allocate : k == 1 ? b->ann_allocated : b->ann_extra[k - 2];
}

/* Key i of the protected ones: the table above, then each device row's
 * keys (row_key; an empty slot repeats the row's allocated annotation).
 * False past the last. */
static bool key_at(size_t i, const char **where, const char **key)
{
    if (i < NKEYS) {
        *where = keys[i].where;
        *key = keys[i].key;
        return true;
    }
    i -= NKEYS;
    for (size_t n = 0; policy_device_backends[n]; n++)
        if (i / ROW_KEYS == n) {
            const struct policy_device_backend *b = policy_device_backends[n];
            const char *k = row_key(b, i % ROW_KEYS);
            *where = "annotations";
            *key = k ? k : b->ann_allocated;
            return true;
        }
    return false;
}

static bool printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

int webhook_trust_validate(const char *list, char *err, size_t cap)
{
    const char *s = list, *name;
    size_t len;
    int n = 0;
    while (list_next(&s, ',', " ", &name, &len)) {
        if (len == 0 || len >= WEBHOOK_TRUST_USER_MAX || !printable(name, len)) {
            snprintf(err, cap,
                     "\"%.80s\" is not a comma list of usernames (entry %d: 1 to %d printable "
                     "bytes, no spaces)",
                     list, n + 1, WEBHOOK_TRUST_USER_MAX - 1);
            return ERR_INVAL;
        }
        if (++n > WEBHOOK_TRUST_MAX) {
            snprintf(err, cap, "more than %d usernames", WEBHOOK_TRUST_MAX);
            return ERR_TOOBIG;
        }
    }
    if (n == 0) {
        snprintf(err, cap, "no username: the scheduler itself could not write its annotations");
        return ERR_INVAL;
    }
    return 0;
}

struct webhook_trust *webhook_trust_create(const char *list)
{
    struct webhook_trust *t = mem_zalloc(sizeof *t);
    const char *s = list, *name;
    size_t len, k = 0;
    while (t->n < WEBHOOK_TRUST_MAX && list_next(&s, ',', " ", &name, &len)) {
        if (len == 0 || len >= WEBHOOK_TRUST_USER_MAX || !printable(name, len))
            continue;
        t->user[t->n] = mem_alloc(len + 1);
        memcpy(t->user[t->n], name, len);
        t->user[t->n][len] = '\0';
        if (k < sizeof t->shown)
            k += (size_t)snprintf(t->shown + k, sizeof t->shown - k, "%s%s", t->n ? ", " : "",
                                  t->user[t->n]);
        t->n++;
    }
    if (t->n == 0)
        snprintf(t->shown, sizeof t->shown, "nobody");
    return t;
}

void webhook_trust_destroy(struct webhook_trust *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->n; i++)
        free(t->user[i]);
    free(t);
}

bool webhook_trust_has(const struct webhook_trust *t, const char *user)
{
    for (int i = 0; t && user && i < t->n; i++)
        if (strcmp(t->user[i], user) == 0)
            return true;
    return false;
}

/* The value of metadata.<where>.<key>, or NULL (absent or null). */
static const cJSON *meta_value(const cJSON *pod, const char *where, const char *key)
{
    const cJSON *meta =
        cJSON_IsObject(pod) ? cJSON_GetObjectItemCaseSensitive(pod, "metadata") : NULL;
    const cJSON *m = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, where) : NULL;
    const cJSON *v = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

/* user made printable for a message. */
static void show_user(const char *user, char *buf, size_t cap)
{
    size_t k = 0;
    for (const char *c = user ? user : ""; *c && k + 4 < cap && k < SHOW_MAX; c++)
        buf[k++] = *c >= 0x20 && *c < 0x7f && *c != '"' ? *c : '?';
    buf[k] = '\0';
}

/* Annotation and label values are strings; any other value (only a
 * caller other than kube-apiserver sends one) counts as changed. Not
 * cJSON_Compare: its time doubles with each level of nested objects. */
static bool same_string(const cJSON *a, const cJSON *b)
{
    const char *x = cJSON_GetStringValue(a), *y = cJSON_GetStringValue(b);
    return x && y && strcmp(x, y) == 0;
}

bool webhook_trust_allows(const struct webhook_trust *t, const char *user, const cJSON *pod,
                          const cJSON *old, char *msg, size_t cap)
{
    char who[SHOW_MAX + 8];
    if (webhook_trust_has(t, user))
        return true;
    const char *where, *key;
    for (size_t i = 0; key_at(i, &where, &key); i++) {
        const cJSON *now = meta_value(pod, where, key);
        const cJSON *before = old ? meta_value(old, where, key) : NULL;
        if (now == NULL && before == NULL)
            continue;
        if (now && before && same_string(now, before))
            continue;
        const char *did = old == NULL      ? "set"
                          : before == NULL ? "added"
                          : now == NULL    ? "removed"
                                           : "changed";
        show_user(user, who, sizeof who);
        snprintf(msg, cap,
                 "%s %s is %s by \"%s\": only the scheduler and the device plugin may write it "
                 "(it records which GPUs the pod holds; --trusted-annotation-writers: %s). %s",
                 where[0] == 'a' ? "annotation" : "label", key, did,
                 who[0] ? who : "an anonymous user", t ? t->shown : "nobody",
                 old == NULL ? "Remove it from the pod (or its template)"
                             : "Leave the hami.io/* accounting keys as they are");
        return false;
    }
    return true;
}

/* device.c: the device backend table and what every backend shares. */
#include "policy/device.h"

#include <stdbool.h>
#include <string.h>

extern const struct policy_device_backend policy_device_nvidia;
extern const struct policy_device_backend policy_device_hygon;
extern const struct policy_device_backend policy_device_cambricon;

/* Every backend; a new vendor is one new file and one row here. */
const struct policy_device_backend *const policy_device_backends[] = {
    &policy_device_nvidia,
    &policy_device_hygon,
    &policy_device_cambricon,
    NULL,
};

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

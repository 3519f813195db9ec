/* device.c: the device backend table and what every backend shares. */
#include "policy/device.h"

#include <string.h>

extern const struct policy_device_backend policy_device_nvidia;

/* Every backend; a new vendor is one new file and one row here. */
const struct policy_device_backend *const policy_device_backends[] = {
    &policy_device_nvidia,
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

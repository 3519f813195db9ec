/* The cluster objects read besides nodes and pods: a ResourceQuota
 * (k8s/quota.h) and a PodDisruptionBudget (k8s/pdb.h), as the watch and the
 * snapshot hand them over (one JSON object). Whatever the object, parsing
 * ends in 0 or an error with a message; a quota's limits are never negative
 * but for "none"; a budget refused is not kept. */
#include <cjson/cJSON.h>
#include "base/err.h"
#include "fuzz/fuzz.h"
#include "k8s/pdb.h"
#include "k8s/quota.h"

static void quota(const cJSON *o)
{
    const char *ns = NULL, *name = NULL;
    struct quota_limits l;
    char err[512] = "";
    int ignored = 0;
    int rc = quota_parse(o, &ns, &name, &l, &ignored, err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0], "quota refused without a reason (rc %d)", rc);
    if (rc)
        return;
    FUZZ_CHECK(ns && name, "a quota without its namespace or name");
    FUZZ_CHECK(ignored == 0 || err[0], "%d limits left out without a reason", ignored);
    for (int i = 0; i < QUOTA_BACKENDS_MAX; i++)
        FUZZ_CHECK(l.mem[i] >= -1 && l.cores[i] >= -1, "limit %d: %lld / %lld", i,
                   (long long)l.mem[i], (long long)l.cores[i]);
}

static void budget(const cJSON *o)
{
    struct pdbs *s = pdbs_create();
    char err[512] = "";
    int rc = pdbs_put(s, o, err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0], "budget refused without a reason (rc %d)", rc);
    FUZZ_CHECK(rc == 0 || pdbs_count(s) == 0, "a refused budget was kept");
    pdbs_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > (1 << 16))
        return 0;
    cJSON *o = cJSON_ParseWithLength((const char *)data, size);
    if (o) {
        quota(o);
        budget(o);
    }
    cJSON_Delete(o);
    return 0;
}

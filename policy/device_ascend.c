/* device_ascend.c: Huawei Ascend's rows (device_ascend.h), as HAMi's
 * pkg/device/ascend does it. Every name of a chip comes from its
 * commonWord: resources huawei.com/<word>, -memory and -core; the register
 * annotation hami.io/node-register-<word> (a JSON array in the encoding
 * every HAMi device plugin shares, plus custominfo.NetworkID on 910 chips);
 * the handshake hami.io/node-handshake-<word>; the device filters
 * hami.io/use-<word>-uuid and hami.io/no-use-<word>-uuid; the allocation
 * hami.io/<word>-devices-to-allocate and -allocated (vendor word <word>)
 * and, for the device plugin, huawei.com/<word>: a JSON array of
 * {"UUID","temp","memory","core"}, one element per NPU, "temp" the
 * template the memory names (absent for a whole card), zero fields left
 * out (Go's omitempty). The node lock is the shared hami.io/mutex.lock.
 *
 * Requests take the rows' own defaults (a count alone: the whole card's
 * memory; cores 0) and their memory is rounded up to a template. The 910C
 * gives more than one NPU only in whole modules (NPUs 2m and 2m+1); the
 * other 910 chips prefer NPUs of one NetworkID when every NPU has one. */
#include "policy/device_ascend.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "policy/codec.h"

#define NETWORK_ID_MAX (1 << 20) /* a custominfo.NetworkID */
#define MODULE_NPUS    2         /* NPUs of one 910C module */
#define NETWORK_WEIGHT 10        /* HAMi's Ascend910NetworkWeight */

extern const struct policy_device_backend policy_device_nvidia;

/* ---- the default configuration (HAMi's chart, device-configmap.yaml) ---- */

#define T(n, m, c, p)                                                                              \
    {                                                                                              \
        .name = n, .mem = m, .aicore = c, .aicpu = p                                               \
    }

static struct policy_vnpu vnpu_910a = {
    .common_word = "Ascend910A",
    .chip = "910A",
    .mem_allocatable = 32768,
    .mem_capacity = 32768,
    .mem_factor = 1,
    .aicore = 30,
    .network = true,
    .ntemplates = 4,
    .t = {T("vir02", 2184, 2, 0), T("vir04", 4369, 4, 0), T("vir08", 8738, 8, 0),
          T("vir16", 17476, 16, 0)},
};

static struct policy_vnpu vnpu_910b2 = {
    .common_word = "Ascend910B2",
    .chip = "910B2",
    .mem_allocatable = 65536,
    .mem_capacity = 65536,
    .mem_factor = 1,
    .aicore = 24,
    .aicpu = 6,
    .network = true,
    .ntemplates = 3,
    .t = {T("vir03_1c_8g", 8192, 3, 1), T("vir06_1c_16g", 16384, 6, 1),
          T("vir12_3c_32g", 32768, 12, 3)},
};

static struct policy_vnpu vnpu_910b3 = {
    .common_word = "Ascend910B3",
    .chip = "910B3",
    .mem_allocatable = 65536,
    .mem_capacity = 65536,
    .mem_factor = 1,
    .aicore = 20,
    .aicpu = 7,
    .network = true,
    .ntemplates = 2,
    .t = {T("vir05_1c_16g", 16384, 5, 1), T("vir10_3c_32g", 32768, 10, 3)},
};

static struct policy_vnpu vnpu_910b4_1 = {
    .common_word = "Ascend910B4-1",
    .chip = "910B4-1",
    .mem_allocatable = 65536,
    .mem_capacity = 65536,
    .mem_factor = 1,
    .aicore = 20,
    .aicpu = 7,
    .network = true,
    .ntemplates = 2,
    .t = {T("vir05_1c_16g", 16384, 5, 1), T("vir10_3c_32g", 32768, 10, 3)},
};

static struct policy_vnpu vnpu_910b4 = {
    .common_word = "Ascend910B4",
    .chip = "910B4",
    .mem_allocatable = 32768,
    .mem_capacity = 32768,
    .mem_factor = 1,
    .aicore = 20,
    .aicpu = 7,
    .network = true,
    .ntemplates = 2,
    .t = {T("vir05_1c_8g", 8192, 5, 1), T("vir10_3c_16g", 16384, 10, 3)},
};

static struct policy_vnpu vnpu_310p = {
    .common_word = "Ascend310P",
    .chip = "310P3",
    .mem_allocatable = 21527,
    .mem_capacity = 24576,
    .mem_factor = 1,
    .aicore = 8,
    .aicpu = 7,
    .ntemplates = 3,
    .t = {T("vir01", 3072, 1, 1), T("vir02", 6144, 2, 2), T("vir04", 12288, 4, 4)},
};

static struct policy_vnpu vnpu_910c = {
    .common_word = "Ascend910C",
    .chip = "Ascend910",
    .mem_allocatable = 65536,
    .mem_capacity = 65536,
    .mem_factor = 1,
    .aicore = 20,
    .aicpu = 7,
    .pairs = true,
    .super_pod = true,
    .network = true,
    .ntemplates = 2,
    .t = {T("vir05_1c_16g", 16384, 5, 1), T("vir10_3c_32g", 32768, 10, 3)},
};

#undef T

/* ---- templates ---- */

int policy_vnpu_template(const struct policy_vnpu *v, int64_t mem)
{
    for (int i = 0; i < v->ntemplates; i++)
        if (mem <= v->t[i].mem)
            return i;
    return -1;
}

void policy_vnpu_sort(struct policy_vnpu *v)
{
    for (int i = 1; i < v->ntemplates; i++) { /* stable, as few as they are */
        struct policy_vnpu_template t = v->t[i];
        int j = i;
        for (; j > 0 && v->t[j - 1].mem > t.mem; j--)
            v->t[j] = v->t[j - 1];
        v->t[j] = t;
    }
}

/* HAMi's trimMemory: the template covering mem, else the whole card up to
 * the card's capacity; 0 past it. */
static int64_t trim(const struct policy_vnpu *v, int64_t mem)
{
    int t = policy_vnpu_template(v, mem);
    if (t >= 0)
        return v->t[t].mem;
    return mem <= v->mem_capacity ? v->mem_allocatable : 0;
}

static int64_t mem_request(const struct policy_device_backend *b, int64_t mem)
{
    const struct policy_vnpu *v = b->vnpu;
    if (v->mem_factor > 1)
        mem *= v->mem_factor;
    int64_t t = trim(v, mem);
    return t > 0 ? t : mem; /* past the card: kept, so the fit says CardInsufficientMemory */
}

int policy_vnpu_admit(const struct policy_device_backend *b, int64_t count, bool has_mem,
                      int64_t mem, int64_t cores, int64_t *count_out, int64_t *mem_out, char *err,
                      size_t cap)
{
    const struct policy_vnpu *v = b->vnpu;
    *count_out = count;
    *mem_out = v->mem_allocatable;
    if (v->pairs && v->super_pod && count == 1) {
        *count_out = MODULE_NPUS; /* the smallest unit is one module */
    } else if (v->pairs && v->super_pod && count % MODULE_NPUS) {
        snprintf(err, cap,
                 "%s %lld: a %s is given as whole modules of two NPUs; ask 1 or an even "
                 "number",
                 policy_device_res(b, POLICY_RES_COUNT), (long long)count, v->common_word);
        return ERR_INVAL;
    }
    if (cores > 0) {
        snprintf(err, cap,
                 "%s %lld: a vNPU's AI cores come from its template (the memory "
                 "asked); the %s soft split that takes AI cores is not supported here",
                 policy_device_res(b, POLICY_RES_CORES), (long long)cores, POLICY_VNPU_SOFT);
        return ERR_INVAL;
    }
    if (has_mem) {
        *mem_out = trim(v, mem);
        if (*mem_out <= 0) {
            snprintf(err, cap, "%s %lld is more than a %s has (%lld MiB)",
                     policy_device_res(b, POLICY_RES_MEM), (long long)mem, v->common_word,
                     (long long)v->mem_capacity);
            return ERR_INVAL;
        }
    }
    if (count > 1 && *mem_out != v->mem_allocatable) {
        snprintf(err, cap,
                 "%s %lld with %s %lld: a vNPU template (%lld MiB) is for one NPU only; "
                 "ask one NPU, or whole cards (no memory, or %lld)",
                 policy_device_res(b, POLICY_RES_COUNT), (long long)count,
                 policy_device_res(b, POLICY_RES_MEM), (long long)mem, (long long)*mem_out,
                 (long long)v->mem_allocatable);
        return ERR_INVAL;
    }
    return 0;
}

/* ---- the register annotation ---- */

/* custominfo.NetworkID of each device (JSON element i is device i). */
static int network_ids(const char *value, struct policy_device *dev, int32_t ndev, char *err,
                       size_t cap)
{
    cJSON *root = cJSON_Parse(value);
    int rc = 0, i = 0;
    for (const cJSON *o = root ? root->child : NULL; o && i < ndev; o = o->next, i++) {
        const cJSON *ci = cJSON_GetObjectItem(o, "custominfo");
        const cJSON *id =
            cJSON_IsObject(ci) ? cJSON_GetObjectItemCaseSensitive(ci, "NetworkID") : NULL;
        if (!id || cJSON_IsNull(id))
            continue;
        double d = cJSON_IsNumber(id) ? id->valuedouble : -1;
        if (!(d >= 0 && d <= NETWORK_ID_MAX) || (double)(int32_t)d != d) {
            snprintf(err, cap, "device \"%.64s\": custominfo.NetworkID is not an integer in 0..%d",
                     dev[i].uuid, NETWORK_ID_MAX);
            rc = ERR_INVAL;
            break;
        }
        dev[i].netid = (int32_t)d + 1;
    }
    cJSON_Delete(root);
    return rc;
}

static int register_parse_as(const struct policy_device_backend *b, const char *value,
                             struct policy_device **dev, int32_t *ndev, char **strings, char *err,
                             size_t cap)
{
    const char *s = value;
    while (s && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    if (s && *s && *s != '[') { /* HAMi reads Ascend's as JSON only */
        *dev = NULL;
        *strings = NULL;
        *ndev = 0;
        snprintf(err, cap, "not a JSON array of devices");
        return ERR_INVAL;
    }
    int rc = policy_device_nvidia.register_parse(value, dev, ndev, strings, err, cap);
    for (int32_t i = 0; !rc && i < *ndev; i++) {
        struct policy_device *d = &(*dev)[i];
        if (d->mode && strcmp(d->mode, "mig") == 0) {
            snprintf(err, cap, "device %d (%s): mode \"mig\" is not an NPU mode", (int)i, d->uuid);
            rc = ERR_INVAL;
            break;
        }
        d->backend = b;
        d->nmig = 0;
        d->mig = NULL;
        d->netid = 0;
    }
    if (!rc && *ndev > 0)
        rc = network_ids(value, *dev, *ndev, err, cap);
    if (rc) {
        free(*dev);
        free(*strings);
        *dev = NULL;
        *strings = NULL;
        *ndev = 0;
    }
    return rc;
}

/* ---- choosing NPUs ---- */

/* 910C, more than one NPU: whole modules (both NPUs fit), in the order of
 * their first NPU among fit[], until k; HAMi's computeBestCombination910C. */
static int pick_modules(const struct policy_node *n, const uint8_t *fit, int nfit, int k,
                        uint8_t *out)
{
    int got = 0;
    bool taken[POLICY_MAX_DEVICES] = {false};
    if (k % MODULE_NPUS)
        return 0; /* an odd count never is whole modules */
    for (int i = 0; i < nfit && got < k; i++) {
        int module = n->dev[fit[i]].index / MODULE_NPUS, mate = -1, members = 0;
        if (taken[i])
            continue;
        for (int j = 0; j < nfit; j++)
            if (n->dev[fit[j]].index / MODULE_NPUS == module) {
                members++;
                if (j != i)
                    mate = j;
            }
        if (members != MODULE_NPUS) /* half a module, or indexes HAMi would not pair either */
            continue;
        taken[i] = taken[mate] = true;
        out[got++] = fit[i < mate ? i : mate];
        out[got++] = fit[i < mate ? mate : i];
    }
    return got;
}

/* Every device of the row on n has a NetworkID. */
static bool all_networked(const struct policy_device_backend *b, const struct policy_node *n)
{
    bool any = false;
    for (int i = 0; i < n->ndev; i++) {
        if (policy_device_backend_of(&n->dev[i]) != b)
            continue;
        if (!n->dev[i].netid)
            return false;
        any = true;
    }
    return any;
}

/* More than one NPU with NetworkIDs: the network with the most fitting NPUs
 * first (ties: the one met first among fit[]), NPUs in fit[]'s order;
 * HAMi's computeBestCombination. */
static int pick_network(const struct policy_node *n, const uint8_t *fit, int nfit, int k,
                        uint8_t *out)
{
    int32_t id[POLICY_MAX_DEVICES];
    int cnt[POLICY_MAX_DEVICES], nid = 0, got = 0;
    bool used[POLICY_MAX_DEVICES] = {false};
    for (int i = 0; i < nfit; i++) {
        int j = 0;
        while (j < nid && id[j] != n->dev[fit[i]].netid)
            j++;
        if (j == nid) {
            id[nid] = n->dev[fit[i]].netid;
            cnt[nid++] = 0;
        }
        cnt[j]++;
    }
    while (got < k) {
        int best = -1;
        for (int j = 0; j < nid; j++)
            if (!used[j] && (best < 0 || cnt[j] > cnt[best]))
                best = j;
        if (best < 0)
            break;
        used[best] = true;
        for (int i = 0; i < nfit && got < k; i++)
            if (n->dev[fit[i]].netid == id[best])
                out[got++] = fit[i];
    }
    return got;
}

static int pick(const struct policy_device_backend *b, const struct policy_node *n,
                const uint8_t *fit, int nfit, int k, uint8_t *out)
{
    const struct policy_vnpu *v = b->vnpu;
    if (k <= 1)
        return -1;
    if (v->pairs)
        return pick_modules(n, fit, nfit, k, out);
    if (v->network && all_networked(b, n))
        return pick_network(n, fit, nfit, k, out);
    return -1;
}

/* HAMi's ScoreNode for 910 chips: per container, the share of its NPUs on
 * its most used NetworkID; 0 when an NPU has none; times 10. */
static double node_score(const struct policy_device_backend *b, const struct policy_node *n,
                         const struct policy_placement *pl)
{
    double score = 0;
    if (!b->vnpu->network)
        return 0;
    for (int i = 0, j; i < pl->npick; i = j) {
        int best = 0;
        for (j = i; j < pl->npick && pl->pick[j].ctr == pl->pick[i].ctr; j++)
            if (!n->dev[pl->pick[j].dev].netid)
                return 0;
        for (int a = i; a < j; a++) {
            int cnt = 0;
            for (int c = i; c < j; c++)
                cnt += n->dev[pl->pick[c].dev].netid == n->dev[pl->pick[a].dev].netid;
            best = cnt > best ? cnt : best;
        }
        score += (double)best / (j - i);
    }
    return score * NETWORK_WEIGHT;
}

/* ---- huawei.com/<word> ---- */

static int runtime_encode(const struct policy_device_backend *b, const char *devices, char *buf,
                          size_t cap, char *err, size_t errcap)
{
    struct codec_devices *d = mem_alloc(sizeof *d); /* 6 KiB: not on a worker's stack */
    cJSON *a = cJSON_CreateArray();
    char *s = NULL;
    int rc = codec_decode(devices, d, err, errcap);
    if (cap)
        buf[0] = '\0';
    for (int i = 0; !rc && i < d->n; i++) {
        const struct codec_entry *e = &d->e[i];
        char uuid[256];
        snprintf(uuid, sizeof uuid, "%.*s", (int)e->uuid_len, e->uuid);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(a, o);
        cJSON_AddStringToObject(o, "UUID", uuid);
        int t = policy_vnpu_template(b->vnpu, e->mem);
        if (t >= 0 && b->vnpu->t[t].name[0])
            cJSON_AddStringToObject(o, "temp", b->vnpu->t[t].name);
        if (e->mem)
            cJSON_AddNumberToObject(o, "memory", (double)e->mem);
        if (e->cores)
            cJSON_AddNumberToObject(o, "core", e->cores);
    }
    if (!rc)
        s = cJSON_PrintUnformatted(a);
    if (!rc && (!s || strlen(s) >= cap)) {
        snprintf(err, errcap, "%s would be longer than %zu bytes", b->ann_extra[0], cap);
        rc = ERR_TOOBIG;
    }
    if (!rc)
        memcpy(buf, s, strlen(s) + 1);
    cJSON_free(s);
    cJSON_Delete(a);
    free(d);
    return rc;
}

/* huawei.com/<chip> (runtime_encode), and HAMi's predicate-time: `now`. */
static int extra_encode(const struct policy_device_backend *b, int k, const char *devices,
                        long long now, char *buf, size_t cap, char *err, size_t errcap)
{
    if (k == 0)
        return runtime_encode(b, devices, buf, cap, err, errcap);
    snprintf(buf, cap, "%lld", now);
    return 0;
}

/* ---- the rows ---- */

/* One function per row for register_parse (it takes no row). */
#define ROW_PARSE(id)                                                                              \
    extern const struct policy_device_backend policy_device_##id;                                  \
    static int parse_##id(const char *value, struct policy_device **dev, int32_t *ndev,            \
                          char **strings, char *err, size_t cap)                                   \
    {                                                                                              \
        return register_parse_as(&policy_device_##id, value, dev, ndev, strings, err, cap);        \
    }

#define ROW(id, lower, word)                                                                       \
    const struct policy_device_backend policy_device_##id = {                                      \
        .name = lower,                                                                             \
        .vendor_word = word,                                                                       \
        .res =                                                                                     \
            {                                                                                      \
                [POLICY_RES_COUNT] = "huawei.com/" word,                                           \
                [POLICY_RES_MEM] = "huawei.com/" word "-memory",                                   \
                [POLICY_RES_CORES] = "huawei.com/" word "-core",                                   \
            },                                                                                     \
        .res_prefix = "huawei.com/",                                                               \
        .ann_register = "hami.io/node-register-" word,                                             \
        .ann_handshake = "hami.io/node-handshake-" word,                                           \
        .ann_use_uuid = "hami.io/use-" word "-uuid",                                               \
        .ann_nouse_uuid = "hami.io/no-use-" word "-uuid",                                          \
        .ann_vgpu_mode = POLICY_VNPU_MODE_ANN,                                                     \
        .ann_to_allocate = "hami.io/" word "-devices-to-allocate",                                 \
        .ann_allocated = "hami.io/" word "-devices-allocated",                                     \
        .config_defaults = false,                                                                  \
        .default_cores = 0,                                                                        \
        .register_parse = parse_##id,                                                              \
        .vnpu = &vnpu_##id,                                                                        \
        .mem_request = mem_request,                                                                \
        .pick = pick,                                                                              \
        .mode_not_fit = POLICY_VNPU_SOFT,                                                          \
        .ann_extra = {"huawei.com/" word, POLICY_VNPU_PREDICATE, NULL},                            \
        .extra_encode = extra_encode,                                                              \
        .node_score = node_score,                                                                  \
    };

ROW_PARSE(910a)
ROW_PARSE(910b2)
ROW_PARSE(910b3)
ROW_PARSE(910b4_1)
ROW_PARSE(910b4)
ROW_PARSE(310p)
ROW_PARSE(910c)

ROW(910a, "ascend910a", "Ascend910A")
ROW(910b2, "ascend910b2", "Ascend910B2")
ROW(910b3, "ascend910b3", "Ascend910B3")
ROW(910b4_1, "ascend910b4-1", "Ascend910B4-1")
ROW(910b4, "ascend910b4", "Ascend910B4")
ROW(310p, "ascend310p", "Ascend310P")
ROW(910c, "ascend910c", "Ascend910C")

const struct policy_device_backend *policy_ascend_find(const char *word)
{
    for (int i = 0; word && policy_device_backends[i]; i++) {
        const struct policy_device_backend *b = policy_device_backends[i];
        if (b->vnpu && strcmp(b->vnpu->common_word, word) == 0)
            return b;
    }
    return NULL;
}

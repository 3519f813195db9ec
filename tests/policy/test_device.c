/* test_device: the contract every device backend row keeps (policy/device.h),
 * run over every row of the table, and the table's own lookups. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "policy/codec.h"
#include "policy/device.h"
#include "tests/support/harness.h"

static int nrows(void)
{
    int n = 0;
    while (policy_device_backends[n])
        n++;
    return n;
}

static void assert_name(const char *s, const char *what, const char *row)
{
    ck_assert_msg(s && *s, "%s: %s is missing", row, what);
}

/* Names: the ones every row needs present, the optional ones (a vendor
 * without pair scores, NUMA binding, a memory percentage, a type filter...)
 * either absent or well formed, and every resource under the vendor's
 * prefix. A row reads its inventory from a register annotation (with a
 * handshake) or from the node's capacity (Cambricon), never both. */
START_TEST(test_row_names)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    assert_name(b->name, "name", "row");
    ck_assert_ptr_eq(policy_device_backend_find(b->name), b);
    const char *names[] = {
        b->vendor_word,           b->res_prefix,          b->ann_use_uuid,
        b->ann_nouse_uuid,        b->ann_to_allocate,     b->ann_allocated,
        b->res[POLICY_RES_COUNT], b->res[POLICY_RES_MEM], b->res[POLICY_RES_CORES]};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        assert_name(names[k], "a name", b->name);
    ck_assert_msg(!b->register_parse != !b->capacity_parse, "%s: one inventory reader", b->name);
    if (b->register_parse) {
        assert_name(b->ann_register, "register", b->name);
        assert_name(b->ann_handshake, "handshake", b->name);
    } else {
        ck_assert_ptr_null(b->ann_register);
        ck_assert_ptr_null(b->ann_score);
    }
    ck_assert_msg(!b->ann_use_type == !b->ann_nouse_type, "%s: type filters", b->name);
    ck_assert_msg(!b->ann_lock == (b->lock_timeout_s == 0), "%s: a lock key needs its timeout",
                  b->name);
    ck_assert_msg(!b->ann_extra[0] == !b->extra_encode, "%s: extra keys need values", b->name);
    ck_assert_int_ge(b->mem_unit, 0);
    for (int r = 0; r < POLICY_RES_N; r++)
        ck_assert_msg(!b->res[r] || strncmp(b->res[r], b->res_prefix, strlen(b->res_prefix)) == 0,
                      "%s: resource %s is not under %s", b->name, b->res[r], b->res_prefix);
    ck_assert_msg(!b->ann_score == !b->score_parse, "%s: a score key needs its decoder", b->name);
    ck_assert_msg(!b->ann_use_type == !b->ann_nouse_type, "%s: type filters come in pairs",
                  b->name); /* Ascend has none: its chip is its row */
    ck_assert_msg(!b->mode_not_fit || b->ann_vgpu_mode, "%s: a refused mode needs its key",
                  b->name);
    ck_assert_msg(!b->mem_request == !b->vnpu, "%s: templates and their rounding", b->name);
    ck_assert_msg(!b->env_priority || b->res[POLICY_RES_PRIORITY], "%s: priority", b->name);
    ck_assert_int_ge(b->default_cores, 0);
    ck_assert_int_le(b->default_cores, 100);
    /* No two rows share a key: a node's or a pod's annotations name one vendor. */
    for (int j = 0; policy_device_backends[j]; j++) {
        const struct policy_device_backend *o = policy_device_backends[j];
        if (o == b)
            continue;
        if (o->ann_register && b->ann_register)
            ck_assert_str_ne(o->ann_register, b->ann_register);
        if (o->ann_handshake && b->ann_handshake)
            ck_assert_str_ne(o->ann_handshake, b->ann_handshake);
        ck_assert_str_ne(o->ann_allocated, b->ann_allocated);
        ck_assert_str_ne(o->vendor_word, b->vendor_word);
        ck_assert_str_ne(o->res[POLICY_RES_COUNT], b->res[POLICY_RES_COUNT]);
    }
}
END_TEST

/* Decoders: a missing, empty or malformed value fails with a message and
 * leaves nothing allocated; scores over no devices are no matrix. */
/* A capacity row's reader: no cores, a bad node name or absurd numbers fail
 * with a message and leave nothing allocated. */
static void capacity_decoders(const struct policy_device_backend *b)
{
    const struct {
        const char *node;
        int64_t cores, mem;
    } bad[] = {{"n", 0, 10},          {"n", -100, 10},   {NULL, 100, 10},
               {"", 100, 10},         {"n", 6401, 1},    {"n", 100, -1},
               {"n", 100, INT64_MAX}, {"n", 1, 8388607}, {"n", INT64_MAX, 1}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct policy_device *dev = (void *)1;
        int32_t ndev = -1;
        char *strings = (void *)1, err[256] = "";
        ck_assert_int_ne(b->capacity_parse(bad[k].node, bad[k].cores, bad[k].mem, &dev, &ndev,
                                           &strings, err, sizeof err),
                         0);
        ck_assert_ptr_null(dev);
        ck_assert_ptr_null(strings);
        ck_assert_int_eq(ndev, 0);
        ck_assert_msg(err[0], "%s: no message for case %zu", b->name, k);
    }
}

START_TEST(test_row_decoders)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    if (b->capacity_parse) {
        capacity_decoders(b);
        return;
    }
    const char *bad[] = {NULL, "", "[", "{}", "[{\"id\":5}]", "x,1", "[1,2]"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct policy_device *dev = (void *)1;
        int32_t ndev = -1;
        char *strings = (void *)1, err[256] = "";
        ck_assert_int_ne(b->register_parse(bad[k], &dev, &ndev, &strings, err, sizeof err), 0);
        ck_assert_ptr_null(dev);
        ck_assert_ptr_null(strings);
        ck_assert_int_eq(ndev, 0);
        ck_assert_msg(err[0], "%s: no message for %s", b->name, bad[k] ? bad[k] : "NULL");
    }
    if (!b->score_parse)
        return;
    char err[256];
    uint16_t *pair = (void *)1;
    ck_assert_int_eq(b->score_parse("[]", NULL, 0, &pair, err, sizeof err), 0);
    ck_assert_ptr_null(pair);
    ck_assert_int_ne(b->score_parse("{", NULL, 0, &pair, err, sizeof err), 0);
    ck_assert_ptr_null(pair);
}
END_TEST

/* A register value every HAMi device plugin writes parses into devices of
 * the row itself. */
START_TEST(test_row_register)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    const char *v = "[{\"id\":\"d-0\",\"count\":10,\"devmem\":16384,\"devcore\":100,"
                    "\"type\":\"T\",\"numa\":0,\"health\":true,\"index\":0},"
                    "{\"id\":\"d-1\",\"count\":10,\"devmem\":16384,\"devcore\":100,"
                    "\"type\":\"T\",\"numa\":0,\"health\":true,\"index\":1,\"future\":1}]";
    struct policy_device *dev;
    int32_t ndev;
    char *strings, err[256] = "";
    if (b->capacity_parse) { /* 2 devices' cores, 128 units of memory */
        ck_assert_msg(b->capacity_parse("n", 200, 128, &dev, &ndev, &strings, err, sizeof err) == 0,
                      "%s: %s", b->name, err);
        ck_assert_int_eq(ndev, 2);
        for (int i = 0; i < ndev; i++)
            ck_assert_ptr_eq(policy_device_backend_of(&dev[i]), b);
        ck_assert_str_ne(dev[0].uuid, dev[1].uuid);
        ck_assert_int_eq(dev[0].devmem, dev[1].devmem);
        ck_assert_int_gt(dev[1].devmem, 0);
        free(dev);
        free(strings);
        return;
    }
    ck_assert_msg(b->register_parse(v, &dev, &ndev, &strings, err, sizeof err) == 0, "%s: %s",
                  b->name, err);
    ck_assert_int_eq(ndev, 2);
    for (int i = 0; i < ndev; i++)
        ck_assert_ptr_eq(policy_device_backend_of(&dev[i]), b);
    ck_assert_str_eq(dev[1].uuid, "d-1");
    ck_assert_int_eq(dev[1].devmem, 16384);
    free(dev);
    free(strings);
}
END_TEST

/* The fit contract on one node of the row's devices: what fits stays in
 * every total, the order of the devices does not change whether it fits, a
 * refusal names a reason word the formatter reads, a container asking none
 * asks nothing, and another row's container never lands on these devices
 * (a node without devices of its vendor: HAMi's NodeInsufficientDevice). */
static bool fit_row(const struct policy_device_backend *b, const struct policy_device_backend *ask,
                    int32_t nums, int32_t mem, int32_t cores, bool reverse,
                    struct policy_placement *pl, char *why, size_t cap)
{
    struct policy_device d[3];
    struct policy_usage u[3] = {{.used = 1, .cores = 30, .mem = 4000}, {0}, {.used = 9, .mem = 1}};
    for (int i = 0; i < 3; i++)
        d[i] = (struct policy_device){.uuid = i == 0   ? "a"
                                              : i == 1 ? "b"
                                                       : "c",
                                      .type = "T",
                                      .count = 10,
                                      .devcore = 100,
                                      .devmem = 8000,
                                      .health = true,
                                      .backend = b,
                                      .index = i};
    if (reverse) {
        struct policy_device td = d[0];
        struct policy_usage tu = u[0];
        d[0] = d[2], u[0] = u[2], d[2] = td, u[2] = tu;
    }
    struct policy_node n = {.name = "n", .ndev = 3, .dev = d, .use = u, .id = -1};
    static struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.nctr = 2;
    p.ctr[0] = (struct policy_ctr){.name = "none", .backend = NULL, .priority = -1};
    p.ctr[1] = (struct policy_ctr){
        .name = "c", .nums = nums, .mem = mem, .cores = cores, .backend = ask, .priority = -1};
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack")};
    struct policy_reasons r;
    bool fits = policy_fit(&p, &n, &o, pl, &r);
    if (fits) {
        for (int i = 0; i < 3; i++) {
            ck_assert_int_le(pl->after[i].used, d[i].count);
            ck_assert_int_le(pl->after[i].cores, d[i].devcore);
            ck_assert_int_le(pl->after[i].mem, d[i].devmem);
        }
        for (int i = 0; i < pl->npick; i++)
            ck_assert_int_eq(pl->pick[i].ctr, 1); /* the container asking none got nothing */
    } else {
        ck_assert_uint_gt(policy_reasons_format(&r, why, cap), 0);
    }
    return fits;
}

START_TEST(test_row_fit)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    static struct policy_placement pl;
    char why[256] = "";
    const int32_t asks[][3] = {{1, 4000, 50}, {2, 4000, 0}, {3, 100, 10}, {1, 9000, 0},
                               {2, 7000, 80}, {1, 0, 100},  {3, 0, 0}};
    for (size_t k = 0; k < sizeof asks / sizeof asks[0]; k++) {
        bool f = fit_row(b, b, asks[k][0], asks[k][1], asks[k][2], false, &pl, why, sizeof why);
        bool g = fit_row(b, b, asks[k][0], asks[k][1], asks[k][2], true, &pl, why, sizeof why);
        ck_assert_msg(f == g, "%s: case %zu fits in one device order only", b->name, k);
        if (!f)
            ck_assert_msg(strstr(why, "Card") || strstr(why, "Node") || strstr(why, "Allocated"),
                          "%s: case %zu: %s", b->name, k, why);
    }
    for (int j = 0; policy_device_backends[j]; j++) {
        const struct policy_device_backend *o = policy_device_backends[j];
        if (o == b)
            continue;
        ck_assert(!fit_row(b, o, 1, 100, 0, false, &pl, why, sizeof why));
        ck_assert_msg(strcmp(why, "NodeInsufficientDevice") == 0, "%s on %s: %s", o->name, b->name,
                      why);
    }
}
END_TEST

/* The allocation annotation carries the device's own vendor word. */
START_TEST(test_row_codec)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    struct policy_device d = {
        .uuid = "dev-0", .count = 10, .devcore = 100, .devmem = 1000, .health = true, .backend = b};
    struct policy_usage use = {0};
    struct policy_node n = {.name = "n", .ndev = 1, .dev = &d, .use = &use, .id = -1};
    static struct policy_pod p;
    static struct policy_placement pl;
    memset(&p, 0, sizeof p);
    memset(&pl, 0, sizeof pl);
    p.nctr = 1;
    pl.npick = 1;
    pl.pick[0] = (struct policy_pick){.ctr = 0, .dev = 0, .cores = 30, .mem = 500};
    char buf[128], want[128];
    snprintf(want, sizeof want, "dev-0,%s,500,30:;", b->vendor_word);
    ck_assert_int_gt(codec_encode(&p, &n, &pl, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, want);
    ck_assert_ptr_eq(policy_device_backend_of(&d), b);
}
END_TEST

START_TEST(test_table)
{
    ck_assert_int_ge(nrows(), 1);
    ck_assert_ptr_eq(policy_device_backend_default(), policy_device_backends[0]);
    ck_assert_ptr_null(policy_device_backend_find("no-such-vendor"));
    ck_assert_ptr_null(policy_device_backend_find(NULL));
    struct policy_device plain = {.uuid = "x"};
    ck_assert_ptr_eq(policy_device_backend_of(&plain), policy_device_backends[0]);
    ck_assert_ptr_eq(policy_device_backend_of(NULL), policy_device_backends[0]);
    struct policy_device devs[3] = {{.uuid = "a"}, {.uuid = "bb"}, {.uuid = "b"}};
    ck_assert_int_eq(policy_device_find(devs, 3, "b", 1, 0), 2);
    ck_assert_int_eq(policy_device_find(devs, 3, "bbx", 2, 5), 1); /* counted, hint wraps */
    ck_assert_int_eq(policy_device_find(devs, 3, "c", 1, 0), -1);
    ck_assert_int_eq(policy_device_find(devs, 0, "a", 1, 0), -1);
}
END_TEST

/* HAMi's MIG instance names: the card's UUID and "[<geometry>-<position>]". */
static const struct {
    const char *uuid;
    size_t card; /* the card UUID's length */
} card_cases[] = {
    {"GPU-x[1-0]", 5},
    {"GPU-x[12-34]", 5},
    {"GPU-ebe7c3f7-303d[0-6]", 17},
    {"GPU-x", 5},
    {"GPU-x[1-0", 9},   /* not closed */
    {"GPU-x[]", 7},     /* nothing inside */
    {"GPU-x[1]", 8},    /* no position */
    {"GPU-x[-0]", 9},   /* no geometry */
    {"GPU-x[1-]", 9},   /* no position */
    {"GPU-x[a-0]", 10}, /* not a number */
    {"[1-0]", 5},       /* no card */
    {"x[1-2-3]", 8},    /* one dash only */
    {"", 0},
};

START_TEST(test_card_len)
{
    const char *u = card_cases[_i].uuid;
    ck_assert_msg(policy_device_card_len(u, strlen(u)) == card_cases[_i].card, "%s: %zu", u,
                  policy_device_card_len(u, strlen(u)));
}
END_TEST

/* An instance entry finds its card; an exact UUID wins over a card. */
START_TEST(test_find_card)
{
    struct policy_device devs[3] = {{.uuid = "GPU-a"}, {.uuid = "GPU-b"}, {.uuid = "GPU-b[1-0]"}};
    ck_assert_int_eq(policy_device_find_card(devs, 3, "GPU-a[1-0]", 10, 0), 0);
    ck_assert_int_eq(policy_device_find_card(devs, 3, "GPU-b[1-0]", 10, 0), 2);
    ck_assert_int_eq(policy_device_find_card(devs, 3, "GPU-b[2-3]", 10, 0), 1);
    ck_assert_int_eq(policy_device_find_card(devs, 3, "GPU-c[1-0]", 10, 0), -1);
    ck_assert_int_eq(policy_device_find_card(devs, 3, "GPU-a[x-0]", 10, 0), -1);
}
END_TEST

/* Hygon DCU: the behaviour HAMi's own DCU fit tests pin down
 * (pkg/device/hygon/device_test.go), in this table's terms. Requests are
 * already normalised (k8s/pod.c: cores above 100 clamp there). */
static const struct dcu_case {
    const char *name;
    int ndev;
    struct {
        const char *id;
        int32_t count, used, cores, devcore;
        int64_t mem, devmem;
        bool unhealthy;
    } dev[2];
    int32_t nums, mem, pct, cores;
    const char *use_type, *nouse_type, *use_uuid, *nouse_uuid;
    bool mutex;
    const char *want;  /* the devices picked ("dev-1"), or the reasons */
    int64_t quota_mem; /* the namespace's memory quota left, MiB; 0: none */
} dcu_cases[] = {
    /* clang-format off */
    {"fits: binpack takes the fuller device", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 128}, {"dev-1", 100, 1, 10, 100, 10, 128}},
     1, 64, 0, 50, .want = "dev-1"},
    {"memory not enough", 1, {{"dev-0", 100, 0, 0, 100, 0, 128}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientMemory"},
    {"cores not enough", 1, {{"dev-0", 100, 0, 100, 100, 0, 1024}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientCore"},
    {"use-dcutype names another type", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .use_type = "Z100", .want = "1/1 CardTypeMismatch"},
    {"use-dcutype matches case-insensitively", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .use_type = "k100,dcu", .want = "dev-0"},
    {"nouse-dcutype excludes the type", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .nouse_type = "dcu", .want = "1/1 CardTypeMismatch"},
    {"use-gpuuuid names another device", 2,
     {{"dev-1", 100, 0, 0, 100, 0, 1280}, {"dev-2", 100, 0, 0, 100, 0, 1280}},
     2, 512, 0, 50, .use_uuid = "dev-0", .want = "2/2 CardUuidMismatch"},
    {"use-gpuuuid takes the listed ones", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 1280}, {"dev-1", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .use_uuid = "x,dev-1", .want = "dev-1"},
    {"nouse-gpuuuid names a device", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 1280}, {"dev-1", 100, 0, 0, 100, 0, 1280}},
     2, 512, 0, 50, .nouse_uuid = "dev-0",
     .want = "1/2 AllocatedCardsInsufficientRequest, 1/2 CardUuidMismatch"},
    {"card overused", 1, {{"dev-0", 100, 100, 0, 100, 0, 1280}},
     1, 512, 0, 50, .want = "1/1 CardTimeSlicingExhausted"},
    {"100 cores wants the card alone", 1, {{"dev-0", 100, 20, 0, 100, 0, 1280}},
     1, 512, 0, 100, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {"no cores on a full card", 1, {{"dev-0", 100, 20, 100, 100, 0, 1280}},
     1, 512, 0, 0, .want = "1/1 CardComputeUnitsExhausted"},
    {"two asked, one device (the node's check)", 1, {{"dev-0", 100, 20, 10, 100, 0, 1280}},
     2, 512, 0, 20, .want = "NodeInsufficientDevice"},
    {"two asked, one fits", 2,
     {{"dev-0", 100, 20, 10, 100, 0, 1280}, {"dev-1", 100, 100, 0, 100, 0, 1280}},
     2, 512, 0, 20, .want = "1/2 AllocatedCardsInsufficientRequest, 1/2 CardTimeSlicingExhausted"},
    {"the default: the whole memory", 1, {{"dev-0", 100, 20, 10, 100, 0, 1280}},
     1, 0, 100, 20, .want = "dev-0"},
    {"the whole memory of a used card", 1, {{"dev-0", 100, 1, 10, 100, 1, 1280}},
     1, 0, 100, 20, .want = "1/1 CardInsufficientMemory"},
    {"unhealthy", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280, true}},
     1, 512, 0, 0, .want = "1/1 CardNotHealth"},
    {"mutex: only an unused device", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 1280}, {"dev-1", 100, 1, 0, 100, 0, 1280}},
     1, 512, 0, 0, .mutex = true, .want = "dev-0"},
    /* clang-format on */
};

/* Cambricon MLU: the behaviour HAMi's own MLU fit tests pin down
 * (pkg/device/cambricon/device_test.go), in this table's terms. As for DCU:
 * a container asking more MLUs than the node has is the node's check
 * (NodeInsufficientDevice, where HAMi says AllocatedCardsInsufficientRequest);
 * cores above 100 clamp when the request is read (k8s/pod.c); ties between
 * equal devices go by the GPU policy (HAMi walks the list backwards). */
static const struct dcu_case mlu_cases[] = {
    /* clang-format off */
    {"fits: binpack takes the fuller device", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 128}, {"dev-1", 100, 1, 10, 100, 10, 128}},
     1, 64, 0, 50, .want = "dev-1"},
    {"memory not enough", 1, {{"dev-0", 100, 0, 0, 100, 0, 128}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientMemory"},
    {"cores not enough", 1, {{"dev-0", 100, 0, 100, 100, 0, 1024}},
     1, 512, 0, 50, .want = "1/1 CardInsufficientCore"},
    {"use-gpuuuid names another device", 1, {{"dev-1", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .use_uuid = "dev-0", .want = "1/1 CardUuidMismatch"},
    {"nouse-gpuuuid names the device", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 50, .nouse_uuid = "dev-0", .want = "1/1 CardUuidMismatch"},
    {"card overused", 1, {{"dev-0", 100, 100, 0, 100, 0, 1280}},
     1, 512, 0, 50, .want = "1/1 CardTimeSlicingExhausted"},
    {"120 cores read as 100: fits an unused device", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 512, 0, 100, .want = "dev-0"},
    {"100 cores wants the card alone", 1, {{"dev-0", 100, 20, 0, 100, 0, 1280}},
     1, 512, 0, 100, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {"no cores on a full card", 1, {{"dev-0", 100, 20, 100, 100, 0, 1280}},
     1, 512, 0, 0, .want = "1/1 CardComputeUnitsExhausted"},
    {"two asked, one device (the node's check)", 1, {{"dev-0", 100, 20, 10, 100, 0, 1280}},
     2, 512, 0, 20, .want = "NodeInsufficientDevice"},
    {"three asked, two devices", 2,
     {{"dev-0", 100, 0, 0, 100, 0, 1280}, {"dev-1", 100, 0, 0, 100, 0, 1280}},
     3, 512, 0, 20, .want = "NodeInsufficientDevice"},
    {"two asked, one fits", 2,
     {{"dev-0", 100, 20, 10, 100, 0, 1280}, {"dev-1", 100, 100, 0, 100, 0, 1280}},
     2, 512, 0, 20, .want = "1/2 AllocatedCardsInsufficientRequest, 1/2 CardTimeSlicingExhausted"},
    {"10 % of the memory", 1, {{"dev-0", 100, 20, 10, 100, 0, 1280}},
     1, 0, 10, 20, .want = "dev-0"},
    {"no vmemory: the whole memory of a used card", 1, {{"dev-0", 100, 1, 10, 100, 1, 1280}},
     1, 0, 100, 20, .want = "1/1 CardInsufficientMemory"},
    {"mutex: a used device is refused", 1, {{"dev-0", 100, 1, 0, 100, 0, 128}},
     1, 64, 0, 50, .mutex = true, .want = "1/1 ExclusiveDeviceAllocateConflict"},
    {"unhealthy", 1, {{"dev-0", 100, 0, 0, 100, 0, 128, true}},
     1, 64, 0, 50, .want = "1/1 CardNotHealth"},
    {"the whole card over the namespace's quota", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 0, 100, 100, .quota_mem = 1024, .want = "1/1 ResourceQuotaNotFit"},
    {"the whole card within the quota", 1, {{"dev-0", 100, 0, 0, 100, 0, 1280}},
     1, 0, 100, 100, .quota_mem = 1280, .want = "dev-0"},
    /* clang-format on */
};

static void run_case(const char *row, const struct dcu_case *k)
{
    const struct policy_device_backend *b = policy_device_backend_find(row);
    ck_assert_ptr_nonnull(b);
    struct policy_device d[2];
    struct policy_usage u[2];
    for (int i = 0; i < k->ndev; i++) {
        d[i] = (struct policy_device){.uuid = k->dev[i].id,
                                      .type = "DCU",
                                      .index = i,
                                      .count = k->dev[i].count,
                                      .devcore = k->dev[i].devcore,
                                      .devmem = k->dev[i].devmem,
                                      .health = !k->dev[i].unhealthy,
                                      .backend = b};
        u[i] = (struct policy_usage){
            .used = k->dev[i].used, .cores = k->dev[i].cores, .mem = k->dev[i].mem};
    }
    struct policy_node n = {.name = "n", .ndev = k->ndev, .dev = d, .use = u, .id = -1};
    static struct policy_pod p;
    memset(&p, 0, sizeof p);
    p.name = "p";
    p.nctr = 1;
    p.ctr[0] = (struct policy_ctr){.name = "c",
                                   .nums = k->nums,
                                   .mem = k->mem,
                                   .mem_pct = k->pct,
                                   .cores = k->cores,
                                   .backend = b,
                                   .priority = -1};
    p.use_type = k->use_type;
    p.nouse_type = k->nouse_type;
    p.use_uuid = k->use_uuid;
    p.nouse_uuid = k->nouse_uuid;
    p.w = (struct policy_weights){1, 1, 1};
    p.quota_mem = p.quota_cores = -1;
    if (k->quota_mem)
        p.quota_mem = k->quota_mem;
    struct policy_opts o = {.node_policy = policy_node_policy_find("binpack"),
                            .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}, .mutex = k->mutex}};
    static struct policy_placement pl;
    struct policy_reasons r;
    char got[256] = "";
    if (policy_fit(&p, &n, &o, &pl, &r)) {
        for (int i = 0; i < pl.npick; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
                     d[pl.pick[i].dev].uuid);
    } else {
        policy_reasons_format(&r, got, sizeof got);
    }
    ck_assert_msg(strcmp(got, k->want) == 0, "%s: got \"%s\", want \"%s\"", k->name, got, k->want);
}

START_TEST(test_dcu_fit)
{
    run_case("hygon", &dcu_cases[_i]);
}
END_TEST

START_TEST(test_mlu_fit)
{
    run_case("cambricon", &mlu_cases[_i]);
}
END_TEST

/* HAMi's MLU inventory (GetNodeDevices): one device per started 100 of
 * smlu.vcore, each an equal share of smlu.vmemory in 256 MiB units. */
static const struct {
    const char *node;
    int64_t cores, mem;
    int32_t ndev;
    int64_t devmem;
} mlu_nodes[] = {
    {"test", 1, 1, 1, 25600},        /* HAMi's own case */
    {"mlu-a", 400, 768, 4, 49152},   /* 4x MLU370-X8: 48 GiB each */
    {"mlu-b", 200, 4096, 2, 524288}, /* HAMi's lock test node */
    {"mlu-c", 250, 100, 3, 10240},   /* a started 100 is a device */
    {"mlu-d", 6400, 64, 64, 256},    /* the most devices a node may have */
};

START_TEST(test_mlu_inventory)
{
    const struct policy_device_backend *b = policy_device_backend_find("cambricon");
    struct policy_device *dev;
    int32_t ndev;
    char *strings, err[256] = "", id[128];
    ck_assert_msg(b->capacity_parse(mlu_nodes[_i].node, mlu_nodes[_i].cores, mlu_nodes[_i].mem,
                                    &dev, &ndev, &strings, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_int_eq(ndev, mlu_nodes[_i].ndev);
    for (int i = 0; i < ndev; i++) {
        snprintf(id, sizeof id, "%s-cambricon-mlu-%d", mlu_nodes[_i].node, i);
        ck_assert_str_eq(dev[i].uuid, id);
        ck_assert_str_eq(dev[i].type, "MLU");
        ck_assert_int_eq(dev[i].index, i);
        ck_assert_int_eq(dev[i].count, 100);
        ck_assert_int_eq(dev[i].devcore, 100);
        ck_assert_int_eq(dev[i].devmem, mlu_nodes[_i].devmem);
        ck_assert_int_eq(dev[i].numa, 0);
        ck_assert(dev[i].health);
        ck_assert_ptr_eq(dev[i].backend, b);
    }
    free(dev);
    free(strings);
}
END_TEST

/* HAMi's MLU protocol words, and the annotations its device plugin reads
 * beside the allocation (PatchAnnotations). */
START_TEST(test_mlu_words)
{
    const struct policy_device_backend *b = policy_device_backend_find("cambricon");
    ck_assert_str_eq(b->vendor_word, "MLU");
    ck_assert_str_eq(b->res[POLICY_RES_COUNT], "cambricon.com/vmlu");
    ck_assert_str_eq(b->res[POLICY_RES_MEM], "cambricon.com/mlu.smlu.vmemory");
    ck_assert_str_eq(b->res[POLICY_RES_CORES], "cambricon.com/mlu.smlu.vcore");
    ck_assert_ptr_null(b->res[POLICY_RES_MEM_PCT]);
    ck_assert_ptr_null(b->res[POLICY_RES_PRIORITY]);
    ck_assert_ptr_null(b->ann_register);
    ck_assert_ptr_null(b->ann_handshake);
    ck_assert_ptr_null(b->ann_use_type); /* HAMi's MLU type check reads no annotation */
    ck_assert_str_eq(b->ann_use_uuid, "cambricon.com/use-gpuuuid");
    ck_assert_str_eq(b->ann_nouse_uuid, "cambricon.com/nouse-gpuuuid");
    ck_assert_str_eq(b->ann_to_allocate, "hami.io/cambricon-mlu-devices-to-allocate");
    ck_assert_str_eq(b->ann_allocated, "hami.io/cambricon-mlu-devices-allocated");
    ck_assert_str_eq(b->ann_lock, "cambricon.com/dsmlu.lock");
    ck_assert_int_eq(b->lock_timeout_s, 120);
    ck_assert_int_eq(b->mem_unit, 256);
    ck_assert_int_eq(b->default_cores, 100);
    ck_assert(!b->config_defaults);
    ck_assert_ptr_eq(policy_device_backend_of_word("n-cambricon-mlu-0,MLU,256000,1:;"), b);
    ck_assert_str_eq(b->ann_extra[0], "CAMBRICON_DSMLU_ASSIGNED");
    ck_assert_str_eq(b->ann_extra[1], "CAMBRICON_DSMLU_PROFILE");
    ck_assert_ptr_null(b->ann_extra[2]);
    const struct {
        const char *devices, *profile; /* NULL: refused */
    } cases[] = {
        {"n-cambricon-mlu-0,MLU,256000,1:;", "0_1_1000"},  /* HAMi's case */
        {";n-cambricon-mlu-0,MLU,256000,1:;", "0_1_1000"}, /* a leading container without */
        {"n-cambricon-mlu-3,MLU,1000,30:n-cambricon-mlu-1,MLU,512,30:;", "3_30_3"},
        {";;n-cambricon-mlu-12,MLU,49152,100:;n-cambricon-mlu-0,MLU,256,5:;", "12_100_192"},
        {";;", NULL},
        {"", NULL},
        {NULL, NULL},
        {"GPU-0,NVIDIA,100,20:;", NULL}, /* not an MLU's name */
        {"n-cambricon-mlu-,MLU,1,1:;", NULL},
        {"garbage", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char vals[2][64], err[256] = "";
        int rc = 0;
        for (int x = 0; x < 2; x++)
            rc |= b->extra_encode(b, x, cases[k].devices, 0, vals[x], sizeof vals[x], err,
                                  sizeof err);
        if (!cases[k].profile) {
            ck_assert_msg(rc != 0 && err[0], "case %zu accepted", k);
            continue;
        }
        ck_assert_msg(rc == 0, "case %zu refused: %s", k, err);
        ck_assert_str_eq(vals[0], "false");
        ck_assert_str_eq(vals[1], cases[k].profile);
    }
}
END_TEST

/* HAMi's DCU protocol words. */
START_TEST(test_dcu_words)
{
    const struct policy_device_backend *b = policy_device_backend_find("hygon");
    ck_assert_str_eq(b->vendor_word, "DCU");
    ck_assert_str_eq(b->res[POLICY_RES_COUNT], "hygon.com/dcunum");
    ck_assert_str_eq(b->res[POLICY_RES_MEM], "hygon.com/dcumem");
    ck_assert_str_eq(b->res[POLICY_RES_CORES], "hygon.com/dcucores");
    ck_assert_ptr_null(b->res[POLICY_RES_MEM_PCT]);
    ck_assert_str_eq(b->ann_register, "hami.io/node-dcu-register");
    ck_assert_str_eq(b->ann_handshake, "hami.io/node-handshake-dcu");
    ck_assert_str_eq(b->ann_to_allocate, "hami.io/dcu-devices-to-allocate");
    ck_assert_str_eq(b->ann_allocated, "hami.io/dcu-devices-allocated");
    ck_assert_int_eq(b->default_cores, 100);
    ck_assert_ptr_eq(policy_device_backend_of_word("d-0,DCU,100,20:;"), b);
    ck_assert_ptr_eq(policy_device_backend_of_word("GPU-0,NVIDIA,100,20:;"),
                     policy_device_backend_default());
    ck_assert_ptr_eq(policy_device_backend_of_word(""), policy_device_backend_default());
    ck_assert_ptr_eq(policy_device_backend_of_word(NULL), policy_device_backend_default());
    /* A DCU register value naming a MIG card is refused. */
    struct policy_device *dev;
    int32_t ndev;
    char *strings, err[256] = "";
    ck_assert_int_eq(b->register_parse("[{\"id\":\"d\",\"count\":1,\"devmem\":1,\"devcore\":100,"
                                       "\"type\":\"DCU\",\"numa\":0,\"health\":true,"
                                       "\"mode\":\"mig\"}]",
                                       &dev, &ndev, &strings, err, sizeof err),
                     ERR_INVAL);
    ck_assert_ptr_null(dev);
    ck_assert(strstr(err, "mig"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("device");
    tcase_add_loop_test(tc, test_row_names, 0, nrows());
    tcase_add_loop_test(tc, test_row_decoders, 0, nrows());
    tcase_add_loop_test(tc, test_row_codec, 0, nrows());
    tcase_add_loop_test(tc, test_row_register, 0, nrows());
    tcase_add_loop_test(tc, test_row_fit, 0, nrows());
    tcase_add_loop_test(tc, test_dcu_fit, 0, (int)(sizeof dcu_cases / sizeof dcu_cases[0]));
    tcase_add_test(tc, test_dcu_words);
    tcase_add_loop_test(tc, test_mlu_fit, 0, (int)(sizeof mlu_cases / sizeof mlu_cases[0]));
    tcase_add_loop_test(tc, test_mlu_inventory, 0, (int)(sizeof mlu_nodes / sizeof mlu_nodes[0]));
    tcase_add_test(tc, test_mlu_words);
    tcase_add_test(tc, test_table);
    tcase_add_loop_test(tc, test_card_len, 0, (int)(sizeof card_cases / sizeof card_cases[0]));
    tcase_add_test(tc, test_find_card);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return harness_run_suite(suite(), true);
}

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

/* Names: present, and every resource under the vendor's prefix. */
START_TEST(test_row_names)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    assert_name(b->name, "name", "row");
    ck_assert_ptr_eq(policy_device_backend_find(b->name), b);
    const char *names[] = {b->vendor_word,    b->res_prefix,    b->env_visible,    b->env_priority,
                           b->ann_register,   b->ann_handshake, b->ann_score,      b->ann_use_type,
                           b->ann_nouse_type, b->ann_use_uuid,  b->ann_nouse_uuid, b->ann_numa_bind,
                           b->ann_vgpu_mode};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        assert_name(names[k], "a name", b->name);
    for (int r = 0; r < POLICY_RES_N; r++) {
        assert_name(b->res[r], "a resource", b->name);
        ck_assert_msg(strncmp(b->res[r], b->res_prefix, strlen(b->res_prefix)) == 0,
                      "%s: resource %s is not under %s", b->name, b->res[r], b->res_prefix);
    }
    ck_assert_ptr_nonnull(b->register_parse);
    ck_assert_ptr_nonnull(b->score_parse);
}
END_TEST

/* Decoders: a missing value fails and leaves nothing allocated; scores
 * over no devices are no matrix. */
START_TEST(test_row_decoders)
{
    const struct policy_device_backend *b = policy_device_backends[_i];
    struct policy_device *dev = (void *)1;
    int32_t ndev = -1;
    char *strings = (void *)1, err[256] = "";
    ck_assert_int_eq(b->register_parse(NULL, &dev, &ndev, &strings, err, sizeof err), ERR_INVAL);
    ck_assert_ptr_null(dev);
    ck_assert_ptr_null(strings);
    ck_assert_int_eq(ndev, 0);
    ck_assert_msg(err[0], "%s: no message", b->name);
    uint16_t *pair = (void *)1;
    ck_assert_int_eq(b->score_parse("[]", NULL, 0, &pair, err, sizeof err), 0);
    ck_assert_ptr_null(pair);
    ck_assert_int_ne(b->score_parse("{", NULL, 0, &pair, err, sizeof err), 0);
    ck_assert_ptr_null(pair);
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

static Suite *suite(void)
{
    Suite *s = suite_create("device");
    TCase *tc = tcase_create("device");
    tcase_add_loop_test(tc, test_row_names, 0, nrows());
    tcase_add_loop_test(tc, test_row_decoders, 0, nrows());
    tcase_add_loop_test(tc, test_row_codec, 0, nrows());
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

/* jsonstream: a List's items one at a time from pieces of any size. Every
 * good document, split at every byte and fed byte by byte, gives the same
 * items as cJSON parsing it whole; bad ones give errors naming the byte. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "k8s/jsonstream.h"
#include "tests/support/harness.h"

/* What the callback saw: each item printed by cJSON, then "|" and its kind
 * as the scanner read it ("-" none, "?" parse, else the kind). */
struct seen {
    struct buf out;
    int stop_at; /* answer ERR_CONFLICT at this index; -1 never */
};

static int on_item(void *ctx, const struct jsonstream_item *it)
{
    struct seen *s = ctx;
    ck_assert_uint_eq(strlen(it->json), it->len);
    cJSON *j = cJSON_ParseWithLength(it->json, it->len);
    char *p = j ? cJSON_PrintUnformatted(j) : NULL;
    buf_printf(&s->out, "%s|%s\n", p ? p : "<bad>",
               it->kind_is == JSONSTREAM_KIND_NONE    ? "-"
               : it->kind_is == JSONSTREAM_KIND_PARSE ? "?"
                                                      : it->kind);
    cJSON_free(p);
    cJSON_Delete(j);
    return (int)it->index == s->stop_at ? ERR_CONFLICT : 0;
}

/* Feed doc in pieces cut at the given points (sorted, within len). */
static int feed(const char *doc, const size_t *cuts, int ncuts, size_t item_max, struct seen *s,
                char *err, size_t cap, cJSON **head)
{
    struct jsonstream *js = jsonstream_create(item_max, on_item, s);
    size_t len = strlen(doc), from = 0;
    int rc = 0;
    for (int k = 0; k <= ncuts && rc == 0; k++) {
        size_t to = k < ncuts ? cuts[k] : len;
        char *piece = malloc(to - from + 1); /* exactly the piece: ASan sees overreads */
        memcpy(piece, doc + from, to - from);
        rc = jsonstream_feed(js, piece, to - from, err, cap);
        free(piece);
        from = to;
    }
    if (rc == 0)
        rc = jsonstream_end(js, err, cap);
    if (head)
        *head = jsonstream_head(js);
    jsonstream_destroy(js);
    return rc;
}

/* ---- good documents ---- */

static const struct good {
    const char *doc;
    const char *kinds; /* the kinds seen, one per item, joined by ',' */
    const char *head_kind;
} goods[] = {
    {"{\"kind\":\"List\",\"items\":[]}", "", "List"},
    {"{\"items\":[]}", "", NULL},
    {" \n{ \"apiVersion\" : \"v1\" , \"kind\" : \"NodeList\" , \"items\" : [ { \"metadata\" : "
     "{ \"name\" : \"a\" } } , { \"kind\" : \"Node\" } ] } \n",
     "-,Node", "NodeList"},
    /* items before kind; metadata after */
    {"{\"items\":[{\"kind\":\"Pod\",\"a\":[1,2,{\"b\":\"]}\"}]}],\"kind\":\"PodList\","
     "\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"x\"}}",
     "Pod", "PodList"},
    /* strings with escapes, brackets and quotes inside */
    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"s\":\"a\\\"b\\\\\",\"t\":\"{[\\\\\\\"]}\"},"
     "{\"x\":\"\\u0041\\n\",\"kind\":\"Node\"}]}",
     "Pod,Node", "List"},
    /* the first kind counts; nested kinds do not */
    {"{\"items\":[{\"spec\":{\"kind\":\"Deep\"},\"kind\":\"Pod\",\"kind\":\"Other\"},"
     "{\"owner\":[{\"kind\":\"ReplicaSet\"}]}]}",
     "Pod,-", NULL},
    /* kinds the scanner cannot read plainly */
    {"{\"items\":[{\"kind\":\"N\\u006fde\"},{\"kind\":7},{\"ki\\u006ed\":\"Pod\"},"
     "{\"kind\":\""
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "\"}]}",
     "?,?,?,?", NULL},
    /* items that are not objects */
    {"{\"items\":[1,-2.5e3,true,false,null,\"s\",[],[{\"kind\":\"Pod\"}],{}]}", "-,-,-,-,-,-,-,-,-",
     NULL},
    /* unknown members of any shape are skipped */
    {"{\"x\":{\"items\":[9]},\"y\":[\"]\"],\"z\":12,\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\"}"
     "],"
     "\"w\":null}",
     "Pod", "List"},
    {"{\"items\":[{\"kind\":\"Pod\",\"n\":\"\xc3\xa9\\ud83d\\ude00\"}]}", "Pod", NULL},
};

/* The items cJSON finds in doc, printed as on_item prints them (kinds from
 * the case). */
static void expected(const struct good *g, struct buf *out)
{
    cJSON *root = cJSON_Parse(g->doc), *it;
    const char *k = g->kinds;
    ck_assert_msg(root != NULL, "case is not JSON: %s", g->doc);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "items"))
    {
        char *p = cJSON_PrintUnformatted(it);
        size_t n = strcspn(k, ",");
        buf_printf(out, "%s|%.*s\n", p, (int)n, k);
        k += n + (k[n] == ',');
        cJSON_free(p);
    }
    cJSON_Delete(root);
}

START_TEST(every_split_gives_the_same_items)
{
    const struct good *g = &goods[_i];
    struct buf want = BUF_INIT(1 << 20);
    size_t len = strlen(g->doc);
    char err[256];
    expected(g, &want);
    for (size_t cut = 0; cut <= len; cut++) {
        struct seen s = {BUF_INIT(1 << 20), -1};
        cJSON *head = NULL;
        int rc = feed(g->doc, &cut, 1, 1 << 20, &s, err, sizeof err, &head);
        ck_assert_msg(rc == 0, "cut %zu: %s", cut, err);
        ck_assert_msg(strcmp(buf_str(&s.out), buf_str(&want)) == 0, "cut %zu: %s", cut,
                      buf_str(&s.out));
        const char *hk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(head, "kind"));
        if (g->head_kind)
            ck_assert_str_eq(hk ? hk : "(none)", g->head_kind);
        else
            ck_assert_ptr_null(hk);
        cJSON_Delete(head);
        buf_free(&s.out);
    }
    /* and one byte at a time */
    size_t *cuts = malloc(sizeof *cuts * len);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    struct seen s = {BUF_INIT(1 << 20), -1};
    ck_assert_int_eq(feed(g->doc, cuts, (int)len - 1, 1 << 20, &s, err, sizeof err, NULL), 0);
    ck_assert_str_eq(buf_str(&s.out), buf_str(&want));
    free(cuts);
    buf_free(&s.out);
    buf_free(&want);
}
END_TEST

/* ---- bad documents ---- */

static const struct bad {
    const char *doc;
    size_t item_max;
    int rc;
    const char *err; /* a part of the message */
} bads[] = {
    {"", 64, ERR_INVAL, "byte 0: empty"},
    {"   ", 64, ERR_INVAL, "byte 3: empty"},
    {"[1,2]", 64, ERR_INVAL, "byte 0: not a List: want '{', found '['"},
    {"{\"kind\":\"List\"}", 64, ERR_INVAL, "no \"items\" array"},
    {"{\"items\":{}}", 64, ERR_INVAL, "byte 9: not a List: \"items\" is not an array"},
    {"{\"items\":null}", 64, ERR_INVAL, "\"items\" is not an array"},
    {"{\"items\":[],\"items\":[]}", 64, ERR_INVAL, "byte 20: \"items\" given twice"},
    {"{\"items\":[1,]}", 64, ERR_INVAL, "byte 12: want an item, found ']'"},
    {"{\"items\":[1 2]}", 64, ERR_INVAL, "byte 12: want ',' or ']' after an item, found '2'"},
    {"{\"items\":[{\"a\":[1}]}", 64, ERR_INVAL, "byte 17: a bracket that does not match"},
    {"{\"items\":[{\"a\":\"x}]}", 64, ERR_INVAL, "ends early"},
    {"{\"items\":[{}]", 64, ERR_INVAL, "byte 13: the document ends early"},
    {"{\"items\":[]} x", 64, ERR_INVAL, "byte 13: bytes after the end of the document"},
    {"{\"items\":[]}{}", 64, ERR_INVAL, "byte 12: bytes after the end"},
    {"{\"items\" []}", 64, ERR_INVAL, "byte 9: want ':'"},
    {"{\"items\":[],}", 64, ERR_INVAL, "byte 12: want a member's name, found '}'"},
    {"{items:[]}", 64, ERR_INVAL, "byte 1: want a member's name, found 'i'"},
    {"{\"items\":[tru\"e\"]}", 64, ERR_INVAL, "byte 13: a number or literal cut short"},
    {"{\"items\":[\x01]}", 64, ERR_INVAL, "found byte 0x01"},
    {"{\"items\":[{\"a\":\"0123456789012345678901234567890123456789\"}]}", 32, ERR_TOOBIG,
     "item 0 (from byte 10) is over 32 bytes"},
    {"{\"kind\":\""
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "\"",
     64, ERR_INVAL, "ends early"},
};

START_TEST(bad_input_names_the_byte)
{
    const struct bad *b = &bads[_i];
    size_t len = strlen(b->doc);
    char err[256];
    for (size_t cut = 0; cut <= len; cut++) {
        struct seen s = {BUF_INIT(1 << 20), -1};
        err[0] = '\0';
        int rc = feed(b->doc, &cut, 1, b->item_max, &s, err, sizeof err, NULL);
        ck_assert_msg(rc == b->rc, "%s cut %zu: rc %d (%s)", b->doc, cut, rc, err);
        ck_assert_msg(strstr(err, b->err) != NULL, "%s cut %zu: \"%s\" lacks \"%s\"", b->doc, cut,
                      err, b->err);
        buf_free(&s.out);
    }
}
END_TEST

START_TEST(too_deep_and_too_big_a_head)
{
    struct buf d = BUF_INIT(1 << 20);
    char err[256];
    struct seen s = {BUF_INIT(1 << 20), -1};
    buf_puts(&d, "{\"items\":[");
    for (int i = 0; i < JSONSTREAM_DEPTH_MAX + 1; i++)
        buf_puts(&d, "[");
    ck_assert_int_eq(feed(buf_str(&d), NULL, 0, 1 << 20, &s, err, sizeof err, NULL), ERR_TOOBIG);
    ck_assert_msg(strstr(err, "byte 522: nested deeper than 512 levels"), "%s", err);
    buf_reset(&d);
    buf_puts(&d, "{\"metadata\":\"");
    for (int i = 0; i < JSONSTREAM_HEAD_MAX; i++)
        buf_puts(&d, "x");
    buf_puts(&d, "\",\"items\":[]}");
    ck_assert_int_eq(feed(buf_str(&d), NULL, 0, 1 << 20, &s, err, sizeof err, NULL), ERR_TOOBIG);
    ck_assert_msg(strstr(err, "over 65536 bytes"), "%s", err);
    /* a member the head does not keep may be of any size */
    buf_reset(&d);
    buf_puts(&d, "{\"other\":\"");
    for (int i = 0; i < JSONSTREAM_HEAD_MAX; i++)
        buf_puts(&d, "x");
    buf_puts(&d, "\",\"items\":[]}");
    ck_assert_int_eq(feed(buf_str(&d), NULL, 0, 1 << 20, &s, err, sizeof err, NULL), 0);
    buf_free(&d);
    buf_free(&s.out);
}
END_TEST

START_TEST(the_callback_stops_the_scan)
{
    const char *doc = "{\"items\":[{\"kind\":\"A\"},{\"kind\":\"B\"},{\"kind\":\"C\"}]}";
    struct seen s = {BUF_INIT(1 << 20), 1};
    char err[256];
    struct jsonstream *js = jsonstream_create(1024, on_item, &s);
    ck_assert_int_eq(jsonstream_feed(js, doc, strlen(doc), err, sizeof err), ERR_CONFLICT);
    ck_assert_str_eq(buf_str(&s.out), "{\"kind\":\"A\"}|A\n{\"kind\":\"B\"}|B\n");
    ck_assert_uint_eq(jsonstream_count(js), 2);
    /* the stop sticks */
    ck_assert_int_eq(jsonstream_feed(js, "", 0, err, sizeof err), ERR_CONFLICT);
    ck_assert_int_eq(jsonstream_end(js, err, sizeof err), ERR_CONFLICT);
    jsonstream_destroy(js);
    jsonstream_destroy(NULL);
    buf_free(&s.out);
}
END_TEST

/* Every good document with one byte replaced (by each structural byte,
 * a letter, a space) or deleted, fed in two pieces: the scan ends in 0 or
 * in an error naming the byte, never a crash (the suite runs under ASan);
 * and when cJSON takes the whole mutated document as a List, the scanner
 * gives the same items. */
START_TEST(mutations_never_crash)
{
    static const char subst[] = "\"\\{}[],: x0";
    const struct good *g = &goods[_i];
    size_t len = strlen(g->doc);
    char *doc = malloc(len + 1), err[256];
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t k = 0; k <= sizeof subst - 1; k++) {
            if (k < sizeof subst - 1) { /* replace */
                memcpy(doc, g->doc, len + 1);
                doc[pos] = subst[k];
            } else { /* delete */
                memcpy(doc, g->doc, pos);
                memcpy(doc + pos, g->doc + pos + 1, len - pos);
            }
            size_t cut = strlen(doc) / 2;
            struct seen s = {BUF_INIT(1 << 20), -1};
            err[0] = '\0';
            int rc = feed(doc, &cut, 1, 1 << 20, &s, err, sizeof err, NULL);
            ck_assert_msg(rc == 0 || (rc < 0 && strncmp(err, "byte ", 5) == 0), "%s: rc %d, %s",
                          doc, rc, err);
            cJSON *whole = cJSON_ParseWithOpts(doc, NULL, 1);
            if (whole && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(whole, "items")) &&
                !strstr(err, "given twice")) {
                ck_assert_msg(rc == 0, "%s: cJSON takes it, the scanner says %s", doc, err);
                struct buf want = BUF_INIT(1 << 20);
                const cJSON *it;
                cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(whole, "items"))
                {
                    char *p = cJSON_PrintUnformatted(it);
                    buf_printf(&want, "%s|", p);
                    cJSON_free(p);
                }
                /* the items only: drop the kinds from what was seen */
                struct buf got = BUF_INIT(1 << 20);
                for (const char *l = buf_str(&s.out); *l;) {
                    const char *end = strchr(l, '\n'), *sep = end;
                    while (sep > l && *sep != '|')
                        sep--;
                    buf_append(&got, l, (size_t)(sep - l) + 1);
                    l = end + 1;
                }
                ck_assert_msg(strcmp(buf_str(&got), buf_str(&want)) == 0, "%s:\n%s\nwant\n%s", doc,
                              buf_str(&got), buf_str(&want));
                buf_free(&got);
                buf_free(&want);
            }
            cJSON_Delete(whole);
            buf_free(&s.out);
        }
    }
    free(doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsonstream");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, every_split_gives_the_same_items, 0, sizeof goods / sizeof goods[0]);
    tcase_add_loop_test(tc, bad_input_names_the_byte, 0, sizeof bads / sizeof bads[0]);
    tcase_add_loop_test(tc, mutations_never_crash, 0, sizeof goods / sizeof goods[0]);
    tcase_add_test(tc, too_deep_and_too_big_a_head);
    tcase_add_test(tc, the_callback_stops_the_scan);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

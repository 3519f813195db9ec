/* The snapshot read as a stream (k8s/jsonstream.h) loads the same cluster
 * whatever the document's layout: indented or not, the List's kind after
 * its items, pods before their nodes, a NodeList whose items name no kind,
 * files larger than one read. /inspect of each variant must equal /inspect
 * of the plain file. A malformed snapshot stops the start with an error
 * naming the file and the byte. The tables that grow with the pods seen
 * are counted in /metrics. */
#include <check.h>
#include <pthread.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/harness.h"

/* Write text to a new temporary file; its path into path. */
static void write_tmp(const char *text, char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/vs-snapstream-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* /inspect of the service started on the snapshot at path (new string). */
static char *inspect(const char *path)
{
    const char *args[] = {"--snapshot", path, NULL};
    struct harness *h = harness_start(args);
    struct harness_reply r;
    ck_assert_msg(h != NULL, "did not start on %s", path);
    ck_assert_int_eq(harness_get(harness_port(h), "/inspect", &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *out = strdup(buf_str(&r.body));
    harness_reply_free(&r);
    harness_finish(&h);
    return out;
}

static void same_as(const char *want, cJSON *doc, bool formatted, const char *what)
{
    char path[64];
    char *text = formatted ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    write_tmp(text, path, sizeof path);
    char *got = inspect(path);
    ck_assert_msg(strcmp(got, want) == 0, "%s: /inspect differs:\n%.600s\nwant\n%.600s", what, got,
                  want);
    unlink(path);
    free(got);
    cJSON_free(text);
}

/* The List with its head members moved after items. */
static cJSON *items_first(const cJSON *doc)
{
    cJSON *out = cJSON_CreateObject(), *m;
    cJSON_AddItemToObject(out, "items", cJSON_Duplicate(cJSON_GetObjectItem(doc, "items"), true));
    cJSON_ArrayForEach(m, doc) if (strcmp(m->string, "items") != 0)
        cJSON_AddItemToObject(out, m->string, cJSON_Duplicate(m, true));
    return out;
}

/* Everything else before the nodes (each in its order: /inspect lists
 * nodes in the order they came). */
static cJSON *nodes_last(const cJSON *doc)
{
    cJSON *out = cJSON_Duplicate(doc, true), *moved = cJSON_CreateArray();
    const cJSON *it;
    for (int pass = 0; pass < 2; pass++)
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "items"))
        {
            bool node = strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "kind")), "Node") == 0;
            if (node == (pass == 1))
                cJSON_AddItemToArray(moved, cJSON_Duplicate(it, true));
        }
    cJSON_ReplaceItemInObject(out, "items", moved);
    return out;
}

START_TEST(demo_cluster_in_every_layout)
{
    char path[4096];
    harness_data_path("../../examples/demo-cluster.json", path, sizeof path);
    char *text = harness_read(path, NULL);
    cJSON *doc = cJSON_Parse(text);
    ck_assert_ptr_nonnull(doc);
    char *want = inspect(path);
    ck_assert_msg(strstr(want, "\"pods\":") != NULL, "%.200s", want);

    same_as(want, doc, false, "unformatted");
    same_as(want, doc, true, "indented");
    cJSON *f = items_first(doc);
    same_as(want, f, true, "kind after items");
    cJSON *r = nodes_last(doc);
    ck_assert_str_ne(cJSON_GetStringValue(cJSON_GetObjectItem(
                         cJSON_GetArrayItem(cJSON_GetObjectItem(r, "items"), 0), "kind")),
                     "Node");
    same_as(want, r, false, "pods before nodes");
    cJSON_Delete(r);
    cJSON_Delete(f);
    cJSON_Delete(doc);
    free(want);
    free(text);
}
END_TEST

/* A NodeList whose items carry no kind, its kind after them: the nodes are
 * found once the List's kind is read. */
START_TEST(nodelist_kind_after_kindless_items)
{
    char path[4096];
    harness_data_path("../../examples/demo-cluster.json", path, sizeof path);
    char *text = harness_read(path, NULL);
    cJSON *doc = cJSON_Parse(text), *it;
    cJSON *nodes = cJSON_CreateArray();
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "items"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "kind")), "Node") != 0)
            continue;
        cJSON *n = cJSON_Duplicate(it, true);
        cJSON_DeleteItemFromObject(n, "kind");
        cJSON_AddItemToArray(nodes, n);
    }
    ck_assert_int_gt(cJSON_GetArraySize(nodes), 1);
    cJSON *head = cJSON_CreateObject();
    cJSON_AddStringToObject(head, "kind", "NodeList");
    cJSON_AddItemToObject(head, "items", cJSON_Duplicate(nodes, true));
    char p1[64], *s1 = cJSON_PrintUnformatted(head);
    write_tmp(s1, p1, sizeof p1);
    char *want = inspect(p1);
    ck_assert_msg(strstr(want, "\"nodes\":\t[{") || strstr(want, "\"nodes\":[{"), "%.300s", want);

    cJSON *tail = cJSON_CreateObject();
    cJSON_AddItemToObject(tail, "items", nodes);
    cJSON_AddStringToObject(tail, "kind", "NodeList");
    same_as(want, tail, false, "NodeList, kind last");

    unlink(p1);
    cJSON_free(s1);
    free(want);
    cJSON_Delete(head);
    cJSON_Delete(tail);
    cJSON_Delete(doc);
    free(text);
}
END_TEST

/* Generated clusters larger than one 1 MiB read: plain, indented with the
 * kind last. */
START_TEST(large_generated_cluster)
{
    char cmd[4096], a[64], b[64];
    const char *build = getenv("VS_BUILD");
    ck_assert_ptr_nonnull(build);
    snprintf(a, sizeof a, "/tmp/vs-snapstream-a-%d.json", (int)getpid());
    snprintf(b, sizeof b, "/tmp/vs-snapstream-b-%d.json", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "%s/vgpu-start-bench --nodes 200 --pods 3000 --out %s && "
             "%s/vgpu-start-bench --nodes 200 --pods 3000 --pretty 1 --items-first 1 --out %s",
             build, a, build, b);
    ck_assert_int_eq(system(cmd), 0);
    char *want = inspect(a), *got = inspect(b);
    ck_assert_msg(strstr(want, "\"pods\":\t2970") != NULL, "%.200s", want);
    ck_assert(strcmp(want, got) == 0);
    free(want);
    free(got);
    unlink(a);
    unlink(b);
}
END_TEST

static const struct {
    const char *doc, *err;
} bad_files[] = {
    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Node\"} {}]}", "byte 40: want ',' or ']'"},
    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"x\":tru}]}", "item 0 is not JSON"},
    {"{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\"}", "the document ends early"},
    {"{\"kind\":\"List\"}", "not a List"},
};

START_TEST(malformed_snapshot_names_the_byte)
{
    char path[64];
    struct harness_result r;
    write_tmp(bad_files[_i].doc, path, sizeof path);
    const char *args[] = {"--snapshot", path, "--http_bind", "127.0.0.1:0", NULL};
    ck_assert_int_eq(harness_run(args, 10000, &r), 0);
    ck_assert_int_ne(r.status, 0);
    ck_assert_msg(strstr(buf_str(&r.err), bad_files[_i].err) != NULL, "%s", buf_str(&r.err));
    ck_assert_msg(strstr(buf_str(&r.err), path) != NULL, "%s", buf_str(&r.err));
    harness_result_free(&r);
    unlink(path);
}
END_TEST

/* A snapshot from a pipe (`--snapshot <(kubectl get ...)`) cannot be read
 * twice: it loads in one pass, pods before their nodes included. */
struct fifo_writer {
    char path[64];
    char *text;
};

static void *write_fifo(void *arg)
{
    struct fifo_writer *fw = arg;
    FILE *f = fopen(fw->path, "w"); /* blocks until the service opens it */
    if (f) {
        fputs(fw->text, f);
        fclose(f);
    }
    return NULL;
}

static char *inspect_via_fifo(char *text)
{
    struct fifo_writer fw = {.text = text};
    pthread_t th;
    snprintf(fw.path, sizeof fw.path, "/tmp/vs-snapstream-fifo-%d", (int)getpid());
    unlink(fw.path);
    ck_assert_int_eq(mkfifo(fw.path, 0600), 0);
    ck_assert_int_eq(pthread_create(&th, NULL, write_fifo, &fw), 0);
    char *got = inspect(fw.path);
    pthread_join(th, NULL);
    unlink(fw.path);
    return got;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* text's lines sorted, joined again (text is cut up; returns a new string):
 * the same /inspect whatever order a GPU lists its pods in. */
static char *sorted_lines(char *text)
{
    size_t n = 0, cap = 1024, len = 0;
    char **lines = malloc(sizeof *lines * cap);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap)
            lines = realloc(lines, sizeof *lines * (cap *= 2));
        lines[n++] = l;
        len += strlen(l) + 1;
    }
    qsort(lines, n, sizeof *lines, cmp_line);
    char *out = malloc(len + 1), *p = out;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", lines[i]);
    *p = '\0';
    free(lines);
    return out;
}

START_TEST(snapshot_from_a_pipe)
{
    char path[4096];
    harness_data_path("../../examples/demo-cluster.json", path, sizeof path);
    char *text = harness_read(path, NULL), *want = inspect(path);
    cJSON *doc = cJSON_Parse(text), *r = nodes_last(doc);
    char *rtext = cJSON_PrintUnformatted(r);
    char *got = inspect_via_fifo(text);
    ck_assert_msg(strcmp(got, want) == 0, "from a pipe: %.300s", got);
    free(got);
    /* the pods waited for their nodes: each GPU lists them in another order */
    got = inspect_via_fifo(rtext);
    char *a = sorted_lines(got), *b = sorted_lines(want);
    ck_assert_msg(strcmp(a, b) == 0, "from a pipe, nodes last: %.300s", got);
    free(a);
    free(b);
    free(got);
    cJSON_free(rtext);
    cJSON_Delete(r);
    cJSON_Delete(doc);
    free(want);
    free(text);
}
END_TEST

/* The tables that grow with the pods seen are counted in /metrics: a
 * filter adds a reservation, a pod counted on its node and a pending spec. */
START_TEST(tables_counted_in_metrics)
{
    struct harness *h = harness_start_snapshot("e2e/cluster.json");
    int port = harness_port(h);
    const char *res = "vgpu_scheduler_table_entries{table=\"reservations\"}";
    const char *pend = "vgpu_scheduler_table_entries{table=\"pending\"}";
    const char *bytes = "vgpu_scheduler_table_bytes{table=\"pending\"}";
    long pods0 = harness_metric(port, "vgpu_scheduler_table_entries{table=\"pods\"}");
    long pend0 = harness_metric(port, pend), bytes0 = harness_metric(port, bytes);
    ck_assert_int_ge(pods0, 1);
    ck_assert_int_eq(harness_metric(port, res), 0);
    ck_assert_int_ge(pend0, 0);
    ck_assert_int_eq(harness_metric(port, "vgpu_scheduler_events_queued"), 0); /* none sent */
    const char *body =
        "{\"Pod\":{\"metadata\":{\"name\":\"m\",\"namespace\":\"d\",\"uid\":\"u-metrics\"},"
        "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
        "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}},"
        "\"NodeNames\":[\"gpu-a\",\"gpu-b\"]}";
    struct harness_reply r;
    ck_assert_int_eq(harness_post(port, "/filter", body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(buf_str(&r.body), "gpu-") != NULL, "%s", buf_str(&r.body));
    harness_reply_free(&r);
    ck_assert_int_eq(harness_metric(port, res), 1);
    ck_assert_int_eq(harness_metric(port, "vgpu_scheduler_table_entries{table=\"pods\"}"),
                     pods0 + 1);
    ck_assert_int_eq(harness_metric(port, pend), pend0 + 1);
    ck_assert_int_gt(harness_metric(port, bytes), bytes0 + 100);
    /* the filter's thread memoised a verdict per node */
    ck_assert_int_gt(harness_metric(port, "vgpu_scheduler_table_bytes{table=\"memo\"}"), 0);
    harness_finish(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot_stream");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demo_cluster_in_every_layout);
    tcase_add_test(tc, nodelist_kind_after_kindless_items);
    tcase_add_test(tc, large_generated_cluster);
    tcase_add_test(tc, snapshot_from_a_pipe);
    tcase_add_test(tc, tables_counted_in_metrics);
    tcase_add_loop_test(tc, malformed_snapshot_names_the_byte, 0,
                        sizeof bad_files / sizeof bad_files[0]);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

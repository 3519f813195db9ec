/* The placement layer's lock order (written next to struct place):
 * state_lock before the cache's lock, never the other way. This program wraps the
 * rwlock calls (its definitions win over libc's for the code linked into
 * it), names the two locks when they are made, and records every time one
 * is taken while a lock to its right is held. Filter, prioritize, bind (the
 * extender over the placer) and the replay's place_pod then run on the
 * test cluster. */
#include <check.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/snapshot.h"
#include "place/place.h"
#include "policy/workload.h"
#include "server/extender.h"
#include "tests/support/harness.h"

enum { R_NONE, R_STATE, R_CACHE }; /* the order: state_lock, then the cache's */

#define TRACKED 8

static int naming;                        /* the rank of the next rwlock made */
static pthread_rwlock_t *ranked[TRACKED]; /* lock -> rank (index + 1 in rank_of) */
static int rank_at[TRACKED], nranked;
static __thread int held[16], nheld; /* ranks this thread holds, in order */
static int inversions, nested;
static char first_inversion[128];

static int rank_of(pthread_rwlock_t *l)
{
    for (int i = 0; i < nranked; i++)
        if (ranked[i] == l)
            return rank_at[i];
    return R_NONE;
}

static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f)
        abort();
    return f;
}

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
    static int (*f)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
    if (!f)
        f = real("pthread_rwlock_init");
    if (naming && nranked < TRACKED) {
        ranked[nranked] = l;
        rank_at[nranked++] = naming;
        naming = R_NONE;
    }
    return f(l, a);
}

/* Before taking l: is a lock of a higher rank held? */
static void taking(pthread_rwlock_t *l, const char *how)
{
    int r = rank_of(l);
    if (r == R_NONE)
        return;
    for (int i = 0; i < nheld; i++) {
        if (held[i] > r && !inversions++)
            snprintf(first_inversion, sizeof first_inversion, "%s %s while holding %s", how,
                     r == R_CACHE ? "the cache's lock" : "state_lock",
                     held[i] == R_CACHE ? "the cache's lock" : "state_lock");
        if (held[i] < r)
            nested++;
    }
    if (nheld < 16)
        held[nheld++] = r;
}

int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    static int (*f)(pthread_rwlock_t *);
    if (!f)
        f = real("pthread_rwlock_rdlock");
    taking(l, "read-locking");
    return f(l);
}

int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    static int (*f)(pthread_rwlock_t *);
    if (!f)
        f = real("pthread_rwlock_wrlock");
    taking(l, "write-locking");
    return f(l);
}

int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    static int (*f)(pthread_rwlock_t *);
    if (!f)
        f = real("pthread_rwlock_unlock");
    int r = rank_of(l);
    for (int i = nheld - 1; r != R_NONE && i >= 0; i--) {
        if (held[i] == r) {
            memmove(held + i, held + i + 1, sizeof *held * (size_t)(nheld - i - 1));
            nheld--;
            break;
        }
    }
    return f(l);
}

#define POD(uid)                                                                                   \
    "{\"metadata\":{\"name\":\"" uid "\",\"namespace\":\"default\",\"uid\":\"" uid "\"},"          \
    "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"                        \
    "\"nvidia.com/gpu\":\"1\",\"nvidia.com/gpumem\":\"1000\"}}}]}}"
#define ARGS(uid) "{\"Pod\":" POD(uid) ",\"NodeNames\":[\"gpu-a\",\"gpu-b\",\"cpu-1\"]}"

static void verb(struct extender *x,
                 int (*fn)(struct extender *, const char *, size_t, double, struct buf *),
                 const char *body)
{
    struct buf out;
    buf_init(&out, (size_t)1 << 20);
    ck_assert_int_eq(fn(x, body, strlen(body), 100, &out), 0);
    buf_free(&out);
}

START_TEST(state_before_cache)
{
    char path[4096], err[512];
    const char *d = getenv("VS_TEST_DATA");
    snprintf(path, sizeof path, "%s/e2e/cluster.json", d ? d : "tests/data");
    naming = R_CACHE;
    struct cache *c = cache_create();
    ck_assert_int_eq(nranked, 1);
    struct snapshot_stats st;
    ck_assert_msg(snapshot_load(c, path, &st, err, sizeof err) == 0, "%s", err);
    struct place_opts o = {
        .mode = PLACE_SINGLE,
        .policy = {.node_policy = policy_node_policy_find("binpack"),
                   .gpu = {.nkeys = 1, .keys = {POLICY_KEY_BINPACK}}},
        .defaults = {.mem_factor = 1},
        .ttl = 30,
    };
    naming = R_STATE;
    struct place *pl = place_create(c, &o);
    ck_assert_int_eq(nranked, 2);
    naming = R_NONE;
    struct extender *x = extender_create(pl, NULL, NULL);
    verb(x, extender_filter, ARGS("u-1"));
    verb(x, extender_prioritize, ARGS("u-1"));
    verb(
        x, extender_bind,
        "{\"PodName\":\"u-1\",\"PodNamespace\":\"default\",\"PodUID\":\"u-1\",\"Node\":\"gpu-a\"}");
    /* bind on another node than reserved: fitted again there */
    verb(x, extender_filter, ARGS("u-2"));
    verb(
        x, extender_bind,
        "{\"PodName\":\"u-2\",\"PodNamespace\":\"default\",\"PodUID\":\"u-2\",\"Node\":\"gpu-b\"}");
    const char *names[] = {"gpu-a", "gpu-b"};
    struct policy_pod *p = calloc(1, sizeof *p);
    cJSON *j = cJSON_Parse(POD("u-3"));
    ck_assert_int_eq(model_pod_parse(j, &o.defaults, p, err, sizeof err), 0);
    ck_assert_int_ge(place_pod(pl, p, names, 2, 100, NULL), 0);
    place_bound(pl, p->uid); /* the commit's locks */
    /* the pressure pass's: it runs every 16 binds once a pod was judged by
     * fragment-aware, on a learned workload */
    struct workload *w = workload_create(1.0);
    struct workload_shape sh = {.cpu_milli = 1000, .nums = 2, .mem_pct = 100, .cores = 100};
    workload_add(w, &sh, 1);
    place_set_state(pl, w);
    p->node_policy = policy_node_policy_find("fragment-aware");
    p->ctr[0].mem = 100;
    char uid[16];
    struct place_stats ps;
    for (int i = 0; i < 16; i++) {
        snprintf(uid, sizeof uid, "f-%d", i);
        p->uid = uid;
        ck_assert_int_ge(place_pod(pl, p, names, 2, 100, NULL), 0);
        place_bound(pl, uid);
    }
    place_stats(pl, &ps);
    ck_assert_uint_ge(ps.pressed, 1);
    ck_assert_msg(inversions == 0, "%d inversions, the first: %s", inversions, first_inversion);
    ck_assert_int_gt(nested, 0); /* the wrapper saw the locks nest the right way */
    cJSON_Delete(j);
    free(p);
    extender_destroy(x);
    place_destroy(pl);
    cache_destroy(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lockorder");
    TCase *tc = tcase_create("lockorder");
    tcase_add_test(tc, state_before_cache);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, false);
}

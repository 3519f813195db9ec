/* lease.c: the rule (lease_decide) and two threads: the reader GETs the
 * Lease every poll; the judge applies the rule to the last view every
 * JUDGE_MS, so a leader stops on time even while a read hangs. */
#include "k8s/lease.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/nodelock.h"

#define JUDGE_MS     100
#define DURATION_MAX 86400.0 /* a leaseDurationSeconds above a day is malformed */

static const char *const reasons[] = {"lease_read_failed", "lease_malformed", NULL};

/* Lock order: l->lock is a leaf, held for in-memory work only (never
 * across the GET, never across on_change). */
struct lease {
    struct kube *k;
    char path[1024];
    char what[600]; /* "ns/name", for logs */
    char identity[LEASE_IDENTITY_MAX];
    long poll_ms;
    lease_change_fn on_change;
    void *change_ctx;
    lease_count_fn count;
    void *count_ctx;
    pthread_t reader, judge;
    bool reader_up, judge_up;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    bool stop;
    bool ours; /* the last definite answer named us */
    double expires, duration;
    bool leading;                     /* what on_change was last told */
    char seen[LEASE_HOLDER_MAX + 32]; /* the last state logged */
    struct lease_stats st;
};

const char *const *lease_reasons(void)
{
    return reasons;
}

double lease_margin(double duration)
{
    return duration / 5.0 < LEASE_MARGIN_S ? duration / 5.0 : LEASE_MARGIN_S;
}

static bool names_us(const char *holder, const char *id)
{
    size_t n = strlen(id);
    return n > 0 && strncmp(holder, id, n) == 0 && (holder[n] == '\0' || holder[n] == '_');
}

enum lease_verdict lease_decide(const char *json, size_t len, const char *identity, char *holder,
                                size_t cap, double *expires, double *duration)
{
    struct nodelock t;
    enum lease_verdict v = LEASE_MALFORMED;
    cJSON *j = json ? cJSON_ParseWithLength(json, len) : NULL;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(j, "spec");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(spec, "holderIdentity");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(spec, "renewTime");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
    snprintf(holder, cap, "%s", "");
    *expires = *duration = 0;
    if (!cJSON_IsObject(j) || !cJSON_IsObject(spec))
        goto out;
    if (h && !cJSON_IsNull(h) && !cJSON_IsString(h))
        goto out;
    const char *hs = cJSON_GetStringValue(h);
    snprintf(holder, cap, "%s", hs ? hs : "");
    if (!hs || !*hs) {
        v = LEASE_OTHER; /* released: nobody holds it */
        goto out;
    }
    if (!cJSON_IsNumber(d) || !isfinite(d->valuedouble) || d->valuedouble < 1 ||
        d->valuedouble > DURATION_MAX || !cJSON_IsString(r) || strchr(r->valuestring, ',') ||
        nodelock_parse(r->valuestring, &t) != 0)
        goto out; /* renewTime parses as a bare RFC3339 time, as a legacy lock does */
    *duration = d->valuedouble;
    *expires = t.time + d->valuedouble;
    v = names_us(hs, identity) ? LEASE_OURS : LEASE_OTHER;
out:
    cJSON_Delete(j);
    return v;
}

static void count(struct lease *l, const char *reason)
{
    if (l->count)
        l->count(l->count_ctx, reason);
}

/* Log a state once, when it differs from the last one logged (lock held). */
static void tell(struct lease *l, const char *state, const char *holder)
{
    char now[sizeof l->seen];
    snprintf(now, sizeof now, "%s %.255s", state, holder);
    if (strcmp(now, l->seen) == 0)
        return;
    snprintf(l->seen, sizeof l->seen, "%s", now);
    LOG_INFO("Lease %s: %s%s%s", l->what, state, holder[0] ? " by " : "", holder);
}

/* One read of the Lease and what it means for the view. */
static void read_once(struct lease *l)
{
    struct kube_resp r;
    char holder[LEASE_HOLDER_MAX], msg[768];
    double expires = 0, duration = 0;
    int rc = kube_call(l->k, "GET", l->path, NULL, NULL, &r);
    enum lease_verdict v = LEASE_MALFORMED;
    if (rc == 0)
        v = lease_decide(r.body, r.len, l->identity, holder, sizeof holder, &expires, &duration);
    else
        kube_describe(&r, rc, "read", msg, sizeof msg);
    /* A definite answer (the Lease, 401/403/404) settles the view; a read
     * lost in transport or a 5xx leaves the last view to run out. */
    bool definite = rc == 0 || rc == ERR_NOTFOUND || r.status == 401 || r.status == 403;
    kube_resp_free(&r);
    pthread_mutex_lock(&l->lock);
    if (rc == 0) {
        l->st.reads++;
        l->st.last_read = clock_wall_s();
    } else {
        l->st.failed_reads++;
    }
    if (rc == 0 && v == LEASE_MALFORMED)
        l->st.malformed++;
    if (definite) {
        l->ours = rc == 0 && v == LEASE_OURS;
        l->expires = l->ours ? expires : 0;
        l->duration = duration;
        snprintf(l->st.holder, sizeof l->st.holder, "%s", rc == 0 ? holder : "");
        l->st.expires = expires;
    }
    if (rc)
        tell(l, "cannot be read:", msg);
    else if (v == LEASE_MALFORMED)
        tell(l, "malformed, standing by", "");
    else if (v == LEASE_OTHER)
        tell(l, holder[0] ? "held by another replica" : "released", holder);
    else
        tell(l, "ours", holder);
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    if (rc)
        count(l, "lease_read_failed");
    else if (v == LEASE_MALFORMED)
        count(l, "lease_malformed");
}

/* Wait ms or until stop (lock held). Returns stop. */
static bool wait_ms(struct lease *l, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (!l->stop)
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
    return l->stop;
}

static void *reader(void *arg)
{
    struct lease *l = arg;
    for (;;) {
        pthread_mutex_lock(&l->lock);
        bool stop = wait_ms(l, l->poll_ms);
        pthread_mutex_unlock(&l->lock);
        if (stop)
            break;
        read_once(l);
    }
    return NULL;
}

/* Apply the rule to the view; tell on_change when leading changes (lock
 * held on entry and on return, dropped around on_change). */
static void judge_once(struct lease *l)
{
    bool want = l->ours && clock_wall_s() < l->expires - lease_margin(l->duration);
    if (want == l->leading)
        return;
    l->leading = want;
    l->st.leading = want;
    l->st.transitions++;
    pthread_mutex_unlock(&l->lock);
    LOG_INFO("Lease %s: %s", l->what,
             want ? "leading: background writes on" : "standing by: background writes off");
    l->on_change(l->change_ctx, want);
    pthread_mutex_lock(&l->lock);
}

static void *judge(void *arg)
{
    struct lease *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        judge_once(l);
        wait_ms(l, JUDGE_MS);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

struct lease *lease_start(struct kube *k, const struct lease_options *o)
{
    char ns[300], name[300];
    if (kube_escape(o->ns, ns, sizeof ns) || kube_escape(o->name, name, sizeof name))
        return NULL;
    struct lease *l = mem_zalloc(sizeof *l);
    l->k = k;
    snprintf(l->path, sizeof l->path, "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", ns,
             name);
    snprintf(l->what, sizeof l->what, "%s/%s", o->ns, o->name);
    snprintf(l->identity, sizeof l->identity, "%s", o->identity);
    l->poll_ms = o->poll_ms > 0 ? o->poll_ms : LEASE_POLL_MS;
    l->on_change = o->on_change;
    l->change_ctx = o->change_ctx;
    l->count = o->count;
    l->count_ctx = o->count_ctx;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->wake, NULL);
    /* The first verdict before anything runs: a leader's watch must not
     * start as a standby and drop the warnings of its first list. */
    read_once(l);
    pthread_mutex_lock(&l->lock);
    judge_once(l);
    pthread_mutex_unlock(&l->lock);
    l->reader_up = pthread_create(&l->reader, NULL, reader, l) == 0;
    l->judge_up = l->reader_up && pthread_create(&l->judge, NULL, judge, l) == 0;
    if (!l->judge_up) {
        lease_stop(l);
        return NULL;
    }
    LOG_INFO("following Lease %s as %s (read every %ld ms)", l->what, l->identity, l->poll_ms);
    return l;
}

void lease_stop(struct lease *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stop = true;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    if (l->judge_up)
        pthread_join(l->judge, NULL);
    if (l->reader_up)
        pthread_join(l->reader, NULL);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->wake);
    free(l);
}

void lease_stats(struct lease *l, struct lease_stats *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->st;
    pthread_mutex_unlock(&l->lock);
}

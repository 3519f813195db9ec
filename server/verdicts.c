/* verdicts.c: the ring of the last filter verdicts. */
#include "server/verdicts.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

struct verdicts {
    pthread_mutex_t mu; /* a leaf: guards everything below */
    size_t cap;
    uint64_t seq;      /* entries ever recorded */
    struct verdict *e; /* cap entries; e[(seq - 1) % cap] is the newest */
};

struct verdicts *verdicts_create(size_t cap)
{
    struct verdicts *v = mem_zalloc(sizeof *v);
    v->cap = cap >= 1 && cap <= VERDICTS_MAX ? cap : VERDICTS_MAX;
    v->e = mem_zalloc(sizeof *v->e * v->cap);
    pthread_mutex_init(&v->mu, NULL);
    return v;
}

void verdicts_destroy(struct verdicts *v)
{
    if (v == NULL)
        return;
    pthread_mutex_destroy(&v->mu);
    free(v->e);
    free(v);
}

void verdicts_add(struct verdicts *v, const struct verdict *e)
{
    if (v == NULL)
        return;
    pthread_mutex_lock(&v->mu);
    struct verdict *slot = &v->e[v->seq % v->cap];
    *slot = *e;
    slot->seq = ++v->seq;
    pthread_mutex_unlock(&v->mu);
}

static bool seen(const struct verdict *out, size_t n, const char *uid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(out[i].uid, uid) == 0)
            return true;
    return false;
}

size_t verdicts_read(struct verdicts *v, struct verdict *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&v->mu);
    size_t held = v->seq < v->cap ? (size_t)v->seq : v->cap;
    for (size_t k = 0; k < held && n < cap; k++) {
        const struct verdict *e = &v->e[(v->seq - 1 - k) % v->cap];
        if (!seen(out, n, e->uid))
            out[n++] = *e;
    }
    pthread_mutex_unlock(&v->mu);
    return n;
}

uint64_t verdicts_total(struct verdicts *v)
{
    pthread_mutex_lock(&v->mu);
    uint64_t n = v->seq;
    pthread_mutex_unlock(&v->mu);
    return n;
}

void verdict_copy(char *dst, size_t cap, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s ? s : "", n);
    dst[n] = '\0';
}

/* Count word w (wl bytes) once. */
static void count_word(struct verdict *e, const char *w, size_t wl)
{
    int k = 0;
    if (wl >= sizeof e->reason[0].word)
        wl = sizeof e->reason[0].word - 1;
    while (k < e->nreason &&
           (strlen(e->reason[k].word) != wl || strncmp(e->reason[k].word, w, wl) != 0))
        k++;
    if (k == e->nreason && k == VERDICT_REASONS_MAX) {
        k = VERDICT_REASONS_MAX - 1; /* the last slot becomes "other" */
        verdict_copy(e->reason[k].word, sizeof e->reason[k].word, "other");
    } else if (k == e->nreason) {
        memcpy(e->reason[k].word, w, wl);
        e->reason[k].word[wl] = '\0';
        e->reason[k].nodes = 0;
        e->nreason++;
    }
    e->reason[k].nodes++;
}

void verdict_tally(struct verdict *e, const char *why)
{
    const char *p = why ? why : "";
    while (*p == ',' || *p == ' ')
        p++;
    if (!*p) {
        count_word(e, "Unknown", 7);
        return;
    }
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *w = p, *sp = memchr(p, ' ', n), *sl = memchr(p, '/', n);
        if (sl && sp && sl < sp)
            w = sp + 1; /* drop "k/n " */
        count_word(e, w, (size_t)(p + n - w));
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
}

/* churn.c: running pods changing at a steady rate (churn.h). */
#include "bench/churn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "policy/device.h"
#include "tests/support/fakeapi.h"

#define PER_GPU_MAX 4 /* churn pods on one GPU: 4 x 4 GiB fits every model */
#define PICK_TRIES  16

/* One running pod (alive) or a free place for one. */
struct slot {
    bool alive;
    unsigned long id; /* churn-<id>, uid churn-uid-<id> */
    int node, gpu, mem, cores;
};

struct churn {
    struct fakeapi *f;
    struct churn_options o;
    struct slot *slots;     /* o.pods */
    unsigned char *per_gpu; /* churn pods per GPU: nodes x gpus */
    unsigned long next_id, steps;
    int alive, last_freed;
    struct churn_stats st;
    struct buf json;
};

struct churn *churn_create(struct fakeapi *f, const struct churn_options *o)
{
    int half = o->gpus / 2 > 0 ? o->gpus / 2 : 1;
    if (!f || o->nodes < 1 || o->nodes > 100000 || o->gpus < 1 || o->gpus > 64 || o->pods < 1 ||
        (long)o->pods > (long)o->nodes * half * PER_GPU_MAX)
        return NULL;
    struct churn *c = mem_zalloc(sizeof *c);
    c->f = f;
    c->o = *o;
    c->slots = mem_zalloc(sizeof *c->slots * (size_t)o->pods);
    c->per_gpu = mem_zalloc((size_t)o->nodes * (size_t)o->gpus);
    c->last_freed = -1;
    c->json = BUF_INIT(1 << 20);
    return c;
}

void churn_destroy(struct churn *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c->per_gpu);
    buf_free(&c->json);
    free(c);
}

static unsigned rnd(struct churn *c)
{
    return (unsigned)rand_r(&c->o.seed);
}

/* A GPU of the first half of a node's with room; the last one tried when
 * none is found in a few tries (the bound is then passed by one). */
static void pick_gpu(struct churn *c, struct slot *s)
{
    int half = c->o.gpus / 2 > 0 ? c->o.gpus / 2 : 1;
    for (int t = 0; t < PICK_TRIES; t++) {
        s->node = (int)(rnd(c) % (unsigned)c->o.nodes);
        s->gpu = (int)(rnd(c) % (unsigned)half);
        if (c->per_gpu[s->node * c->o.gpus + s->gpu] < PER_GPU_MAX)
            break;
    }
    c->per_gpu[s->node * c->o.gpus + s->gpu]++;
}

static void pick_size(struct churn *c, struct slot *s)
{
    s->mem = 1024 * (1 + (int)(rnd(c) % 4));
    s->cores = 5 * (1 + (int)(rnd(c) % 4));
}

/* The pod of slot s as the API shows a running one HAMi placed. */
static void pod_json(struct churn *c, const struct slot *s)
{
    const struct policy_device_backend *dv = policy_device_backend_default();
    buf_reset(&c->json);
    buf_printf(&c->json,
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"churn-%lu\","
               "\"namespace\":\"" CHURN_NS "\",\"uid\":\"churn-uid-%lu\",\"labels\":{\"app\":"
               "\"churn\"},\"annotations\":{\"hami.io/vgpu-node\":\"node-%05d\",\"%s\":"
               "\"GPU-%05d-%02d,%s,%d,%d:;\",\"hami.io/bind-phase\":\"success\"}},\"spec\":{"
               "\"nodeName\":\"node-%05d\",\"schedulerName\":\"vgpu-scheduler\",\"containers\":[{"
               "\"name\":\"c\",\"image\":\"inference:1\",\"resources\":{\"limits\":{\"%s\":\"1\","
               "\"%s\":\"%d\",\"%s\":\"%d\"},\"requests\":{\"cpu\":\"100m\",\"memory\":"
               "\"128Mi\"}}}]},\"status\":{\"phase\":\"Running\"}}",
               s->id, s->id, s->node, dv->ann_allocated, s->node, s->gpu, dv->vendor_word, s->mem,
               s->cores, s->node, dv->res[POLICY_RES_COUNT], dv->res[POLICY_RES_MEM], s->mem,
               dv->res[POLICY_RES_CORES], s->cores);
}

static int put(struct churn *c, const struct slot *s)
{
    pod_json(c, s);
    return fakeapi_put(c->f, "pods", buf_str(&c->json)) > 0 ? 0 : -1;
}

/* A new pod in free slot i. */
static int add(struct churn *c, int i)
{
    struct slot *s = &c->slots[i];
    s->id = c->next_id++;
    pick_gpu(c, s);
    pick_size(c, s);
    s->alive = true;
    c->alive++;
    return put(c, s);
}

int churn_fill(struct churn *c)
{
    for (int i = 0; i < c->o.pods; i++)
        if (!c->slots[i].alive && add(c, i) != 0)
            return -1;
    return 0;
}

/* A random live slot; -1 when there is none. */
static int live_slot(struct churn *c)
{
    if (c->alive == 0)
        return -1;
    for (int t = 0; t < 4 * c->o.pods; t++) {
        int i = (int)(rnd(c) % (unsigned)c->o.pods);
        if (c->slots[i].alive)
            return i;
    }
    for (int i = 0; i < c->o.pods; i++)
        if (c->slots[i].alive)
            return i;
    return -1;
}

static int del(struct churn *c)
{
    int i = live_slot(c);
    if (i < 0)
        return 0;
    struct slot *s = &c->slots[i];
    char name[64];
    snprintf(name, sizeof name, "churn-%lu", s->id);
    s->alive = false;
    c->alive--;
    c->per_gpu[s->node * c->o.gpus + s->gpu]--;
    c->last_freed = i;
    c->st.deleted++;
    return fakeapi_delete(c->f, "pods", CHURN_NS, name);
}

static int readd(struct churn *c)
{
    int i = c->last_freed;
    for (int k = 0; i < 0 && k < c->o.pods; k++)
        if (!c->slots[k].alive)
            i = k;
    if (i < 0)
        return 0; /* full: nothing was deleted */
    c->last_freed = -1;
    c->st.added++;
    return add(c, i);
}

static int modify(struct churn *c)
{
    int i = live_slot(c);
    if (i < 0)
        return 0;
    struct slot *s = &c->slots[i];
    int mem = s->mem, cores = s->cores;
    while (s->mem == mem && s->cores == cores) /* a change the cache has to count */
        pick_size(c, s);
    c->st.modified++;
    return put(c, s);
}

int churn_step(struct churn *c)
{
    int rc;
    switch (c->steps++ % 3) {
    case 0:
        rc = del(c);
        break;
    case 1:
        rc = readd(c);
        break;
    default:
        rc = modify(c);
        break;
    }
    if (rc)
        c->st.failed++;
    return rc ? -1 : 0;
}

unsigned long churn_run(struct churn *c, double rate, double seconds, unsigned long max,
                        atomic_bool *stop, atomic_ulong *progress)
{
    double t0 = clock_mono_s(), skipped = 0;
    unsigned long made = 0;
    while (!(stop && atomic_load(stop)) && (max == 0 || made < max)) {
        double el = clock_mono_s() - t0;
        if (seconds > 0 && el >= seconds)
            break;
        double due = rate * el - skipped;
        if (due - (double)made > rate) { /* more than a second behind: let it go */
            skipped += due - (double)made - rate;
            due = (double)made + rate;
        }
        while ((double)made < due && (max == 0 || made < max)) {
            churn_step(c);
            made++;
            if (progress)
                atomic_fetch_add(progress, 1);
        }
        clock_sleep_s(0.002);
    }
    return made;
}

void churn_stats(const struct churn *c, struct churn_stats *out)
{
    *out = c->st;
    out->pods = c->alive;
}

cJSON *churn_expected(const struct churn *c)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < c->o.pods; i++) {
        const struct slot *s = &c->slots[i];
        char uid[64], node[32], gpu[32];
        if (!s->alive)
            continue;
        snprintf(uid, sizeof uid, "churn-uid-%lu", s->id);
        snprintf(node, sizeof node, "node-%05d", s->node);
        snprintf(gpu, sizeof gpu, "GPU-%05d-%02d", s->node, s->gpu);
        cJSON *p = cJSON_AddObjectToObject(o, uid);
        cJSON_AddStringToObject(p, "node", node);
        cJSON_AddStringToObject(p, "gpu", gpu);
        cJSON_AddNumberToObject(p, "memMiB", s->mem);
        cJSON_AddNumberToObject(p, "cores", s->cores);
    }
    return o;
}

void churn_node_json(struct buf *b, int i, int gpus)
{
    const struct policy_device_backend *dv = policy_device_backend_default();
    buf_printf(b,
               "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-%05d\","
               "\"labels\":{\"kubernetes.io/hostname\":\"node-%05d\"},\"annotations\":{\"%s\":\"[",
               i, i, dv->ann_register);
    for (int d = 0; d < gpus; d++)
        buf_printf(b,
                   "%s{\\\"id\\\":\\\"GPU-%05d-%02d\\\",\\\"count\\\":10,\\\"devmem\\\":81920,"
                   "\\\"devcore\\\":100,\\\"type\\\":\\\"NVIDIA-A100-SXM4-80GB\\\",\\\"numa\\\":0,"
                   "\\\"health\\\":true,\\\"index\\\":%d,\\\"mode\\\":\\\"hami-core\\\"}",
                   d ? "," : "", i, d, d);
    buf_printf(b,
               "]\"}},\"status\":{\"allocatable\":{\"cpu\":\"128\",\"memory\":\"1024Gi\","
               "\"%s\":\"%d\"}}}",
               dv->res[POLICY_RES_COUNT], gpus * 10);
}

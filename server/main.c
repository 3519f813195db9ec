/* vgpu-scheduler: parse the command line, then serve (or run a subcommand).
 * Exit codes: 0 done, 1 failed, 2 bad command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/file.h"
#include "base/init.h"
#include "base/list.h"
#include "base/log.h"
#include "base/mem.h"
#include "k8s/cache.h"
#include "k8s/snapshot.h"
#include "server/certgen.h"
#include "server/config.h"
#include "server/devconfig.h"
#include "server/extender.h"
#include "server/service.h"

#define SIMULATE_POD_MAX ((size_t)8 << 20)   /* the --pod file */
#define SIMULATE_OUT_MAX ((size_t)256 << 20) /* the JSON it prints */

/* Split "a,b,c" in place into a NULL-terminated array, empty names left
 * out (caller frees the array; the strings live in s). *n gets the count. */
static const char **split_names(char *s, size_t *n)
{
    size_t k = 1;
    for (const char *p = s; *p; p++)
        k += *p == ',';
    const char **v = mem_alloc(sizeof *v * (k + 1)), *p = s, *tok;
    size_t len;
    *n = 0;
    while (list_next(&p, ',', NULL, &tok, &len)) {
        if (len == 0)
            continue; /* "a,,b": no empty name */
        s[tok - s + len] = '\0';
        v[(*n)++] = tok;
    }
    v[*n] = NULL;
    return v;
}

/* `simulate`: one placement, printed as JSON; exit 0 whether it fits or
 * not, 2 for bad input. */
static int simulate(struct config *c)
{
    char err[512], *pod = NULL;
    size_t len = 0, nnames = 0;
    const char **names = NULL;
    struct cache *cache = cache_create();
    struct place *pl = NULL;
    struct extender *x = NULL;
    struct place_opts eo;
    struct devconfig dev;
    struct snapshot_stats st;
    struct buf out = BUF_INIT(SIMULATE_OUT_MAX);
    int rc = 2;

    if (!c->snapshot[0] || !c->pod[0]) {
        fprintf(stderr, "vgpu-scheduler simulate: --snapshot FILE and --pod FILE are required\n");
        goto out;
    }
    if (extender_opts_from_config(c, &eo, err, sizeof err) ||
        devconfig_from_config(c, &dev, err, sizeof err) ||
        devconfig_apply_names(&dev, err, sizeof err) ||
        snapshot_load(cache, c->snapshot, &st, err, sizeof err) ||
        file_read(c->pod, SIMULATE_POD_MAX, &pod, &len, err, sizeof err)) {
        fprintf(stderr, "vgpu-scheduler simulate: %s\n", err);
        goto out;
    }
    eo.defaults = devconfig_defaults(&dev);
    cache_set_mem_factor(cache, dev.mem_factor);
    if (c->nodes[0])
        names = split_names(c->nodes, &nnames);
    pl = place_create(cache, &eo);
    x = extender_create(pl, NULL, NULL);
    if (c->workload_file[0] && place_seed_file(pl, c->workload_file, err, sizeof err)) {
        fprintf(stderr, "vgpu-scheduler simulate: %s\n", err);
        goto out;
    }
    if (extender_simulate(x, pod, len, names, nnames, clock_wall_s(), &out) != 0) {
        fprintf(stderr, "vgpu-scheduler %s", buf_str(&out));
        goto out;
    }
    fputs(buf_str(&out), stdout);
    rc = 0;
out:
    buf_free(&out);
    extender_destroy(x);
    place_destroy(pl);
    cache_destroy(cache);
    free(names);
    free(pod);
    return rc;
}

/* `gen-cert`: a CA and a serving certificate; prints the caBundle. Exit 0,
 * 1 when it cannot write, 2 for missing flags. */
static int gen_cert(const struct config *c)
{
    char err[512], *bundle = NULL;
    if (!c->gen_service[0] || !c->gen_namespace[0] || !c->gen_out[0]) {
        fprintf(stderr, "vgpu-scheduler gen-cert: --service NAME, --namespace NS and --out DIR "
                        "are required (see gen-cert --help)\n");
        return 2;
    }
    struct certgen_opts o = {.service = c->gen_service,
                             .ns = c->gen_namespace,
                             .out_dir = c->gen_out,
                             .days = c->gen_days,
                             .patch_file = c->gen_patch};
    int rc = certgen_write(&o, &bundle, err, sizeof err);
    if (rc) {
        fprintf(stderr, "vgpu-scheduler gen-cert: %s\n", err);
        return rc == ERR_INVAL ? 2 : 1;
    }
    fprintf(stderr,
            "vgpu-scheduler gen-cert: wrote ca.crt, tls.crt and tls.key to %s for %s.%s.svc "
            "(valid %d days); the caBundle follows on stdout\n",
            c->gen_out, c->gen_service, c->gen_namespace, c->gen_days);
    printf("%s\n", bundle);
    free(bundle);
    return 0;
}

static int serve(const struct config *c)
{
    char err[512] = "";
    struct service *s = NULL;
    int rc = service_create(c, &s, err, sizeof err);
    if (rc == 0)
        rc = service_run(s, err, sizeof err);
    if (rc)
        LOG_ERROR("%s", err);
    service_destroy(s);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct config cfg; /* large (path buffers): not on the stack */
    char err[512];

    base_init(); /* cJSON allocates from per-request arenas (base/arena.h) */
    enum config_scope scope = CONFIG_SERVE;

    /* Subcommands come first; their flags follow them. */
    if (argc > 1 && strcmp(argv[1], "simulate") == 0) {
        scope = CONFIG_SIMULATE;
        argc--;
        argv++;
    } else if (argc > 1 && strcmp(argv[1], "gen-cert") == 0) {
        scope = CONFIG_GENCERT;
        argc--;
        argv++;
    }
    if (config_parse(&cfg, scope, argc, argv, err, sizeof err)) {
        fprintf(stderr, "vgpu-scheduler: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        config_usage(stdout, scope);
        return 0;
    }
    log_set_level(cfg.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
    if (scope == CONFIG_SIMULATE)
        return simulate(&cfg);
    if (scope == CONFIG_GENCERT)
        return gen_cert(&cfg);
    return serve(&cfg);
}

/* manifests/: `kubectl kustomize` renders the bundle (and the cert-manager
 * overlay) offline, and the output holds every object the deployment needs
 * with the fields that matter. Skipped, with a message, without kubectl. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <yaml.h>

#include "tests/support/harness.h"
#include "webhook/patch.h"

#define OUT_MAX (4 << 20)

static cJSON *base, *certmgr, *hamidev; /* arrays of objects, rendered once */

/* ---- YAML -> JSON (every scalar a string) ---- */

static cJSON *node_json(yaml_document_t *d, yaml_node_t *n, int depth)
{
    if (n == NULL || depth > 64)
        return cJSON_CreateNull();
    if (n->type == YAML_SCALAR_NODE) {
        char *s = strndup((const char *)n->data.scalar.value, n->data.scalar.length);
        cJSON *j = cJSON_CreateString(s);
        free(s);
        return j;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        cJSON *a = cJSON_CreateArray();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            cJSON_AddItemToArray(a, node_json(d, yaml_document_get_node(d, *i), depth + 1));
        return a;
    }
    cJSON *o = cJSON_CreateObject();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE)
            continue;
        char *key = strndup((const char *)k->data.scalar.value, k->data.scalar.length);
        cJSON_AddItemToObject(o, key, node_json(d, yaml_document_get_node(d, p->value), depth + 1));
        free(key);
    }
    return o;
}

/* Every document of a YAML stream, as a JSON array; NULL if it does not parse. */
static cJSON *yaml_docs(const char *text, size_t len)
{
    yaml_parser_t p;
    cJSON *docs = cJSON_CreateArray();
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        yaml_document_t d;
        if (!yaml_parser_load(&p, &d)) {
            cJSON_Delete(docs);
            docs = NULL;
            break;
        }
        yaml_node_t *root = yaml_document_get_root_node(&d);
        if (root == NULL) {
            yaml_document_delete(&d);
            break;
        }
        cJSON_AddItemToArray(docs, node_json(&d, root, 0));
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    return docs;
}

/* ---- rendering ---- */

/* Run a shell command, at most OUT_MAX bytes of its output into *out (new).
 * Returns its exit status, or -1. */
static int run(const char *cmd, char **out)
{
    FILE *f = popen(cmd, "r");
    size_t n = 0;
    *out = malloc(OUT_MAX + 1);
    if (f == NULL)
        return -1;
    for (size_t r; n < OUT_MAX && (r = fread(*out + n, 1, OUT_MAX - n, f)) > 0;)
        n += r;
    (*out)[n] = '\0';
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_kubectl(void)
{
    char *out;
    int st = run("kubectl version --client >/dev/null 2>&1", &out);
    free(out);
    return st == 0;
}

/* `kubectl kustomize <source>/<dir>` as JSON documents. The KubeScheduler-
 * Configuration inside the ConfigMap is parsed and added as one more. */
static cJSON *render(const char *dir)
{
    char cmd[4096], *out;
    const char *src = getenv("VS_SOURCE");
    snprintf(cmd, sizeof cmd, "timeout 120 kubectl kustomize '%s/%s' 2>&1", src ? src : ".", dir);
    int st = run(cmd, &out);
    ck_assert_msg(st == 0, "%s failed (%d):\n%s", cmd, st, out);
    cJSON *docs = yaml_docs(out, strlen(out));
    ck_assert_msg(docs != NULL, "kustomize output is not YAML:\n%s", out);
    free(out);
    cJSON *o;
    cJSON *extra = NULL;
    cJSON_ArrayForEach(o, docs)
    {
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind"));
        cJSON *cfg = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "data"), "config.yaml");
        if (kind && strcmp(kind, "ConfigMap") == 0 && cJSON_IsString(cfg)) {
            extra = yaml_docs(cfg->valuestring, strlen(cfg->valuestring));
            ck_assert_msg(extra && cJSON_GetArraySize(extra) == 1, "config.yaml is not one YAML");
        }
    }
    if (extra) {
        cJSON_AddItemToArray(docs, cJSON_DetachItemFromArray(extra, 0));
        cJSON_Delete(extra);
    }
    return docs;
}

static bool skipped(void)
{
    static int have = -1;
    if (have < 0) {
        have = have_kubectl();
        if (!have)
            fprintf(stderr, "SKIP: kubectl is not installed: manifests/ was not rendered\n");
    }
    return !have;
}

static void setup(void)
{
    if (skipped())
        return;
    base = render("manifests");
    certmgr = render("manifests/overlays/cert-manager");
    hamidev = render("manifests/overlays/hami-device-config");
}

static void teardown(void)
{
    cJSON_Delete(base);
    cJSON_Delete(certmgr);
    cJSON_Delete(hamidev);
    base = certmgr = hamidev = NULL;
}

/* The object of a kind whose name is `name` (or starts with it, for
 * generated names ending in "*"); NULL name: the only one of the kind. */
static cJSON *find(cJSON *docs, const char *kind, const char *name)
{
    cJSON *o, *found = NULL;
    size_t n = name ? strlen(name) : 0;
    bool prefix = n && name[n - 1] == '*';
    cJSON_ArrayForEach(o, docs)
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind"));
        const char *m =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "name"));
        if (!k || strcmp(k, kind) != 0)
            continue;
        if (name && !(m && (prefix ? strncmp(m, name, n - 1) == 0 : strcmp(m, name) == 0)))
            continue;
        ck_assert_msg(found == NULL, "more than one %s %s", kind, name ? name : "");
        found = o;
    }
    return found;
}

/* ---- the bundle ---- */

/* A field of an object, by JSON pointer, and what it must be: the string
 * itself, or with a trailing "*" a prefix of it, or NULL: absent. */
static const struct {
    const char *kind, *name, *ptr, *want;
} fields[] = {
    {"Namespace", "vgpu-system", "/metadata/labels/hami.io~1webhook", "ignore"},
    {"ServiceAccount", "vgpu-scheduler", "/metadata/namespace", "vgpu-system"},
    {"ClusterRoleBinding", "vgpu-scheduler", "/roleRef/name", "vgpu-scheduler"},
    {"ClusterRoleBinding", "vgpu-scheduler", "/subjects/0/name", "vgpu-scheduler"},
    {"ClusterRoleBinding", "vgpu-scheduler", "/subjects/0/namespace", "vgpu-system"},
    {"ClusterRoleBinding", "vgpu-scheduler-kube-scheduler", "/roleRef/name",
     "system:kube-scheduler"},
    /* the Deployment: two containers, TLS from the Secret, probes, non-root */
    {"Deployment", "vgpu-scheduler", "/metadata/namespace", "vgpu-system"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/serviceAccountName", "vgpu-scheduler"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/securityContext/runAsNonRoot", "true"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/0/name", "kube-scheduler"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/0/image",
     "registry.k8s.io/kube-scheduler:v1.31.*"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/0/command/1",
     "--config=/etc/vgpu-scheduler/config.yaml"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem", "true"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/name", "vgpu-scheduler"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/image", "vgpu-scheduler:*"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/0",
     "--http_bind=127.0.0.1:8443"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/1",
     "--cert_file=/certs/tls.crt"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/2",
     "--key_file=/certs/tls.key"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/3",
     "--client-ca-file=/certs/ca.crt"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/4",
     "--scheduler-name=vgpu-scheduler"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/5",
     "--webhook-bind=0.0.0.0:9443"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/6",
     "--metrics-bind-address=0.0.0.0:9395"},
    /* the ports: the webhook and metrics only; the extender is loopback */
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/ports/0/name", "webhook"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/ports/0/containerPort",
     "9443"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/ports/1/containerPort",
     "9395"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/ports/2", NULL},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/livenessProbe/httpGet/port",
     "webhook"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/readinessProbe/httpGet/port",
     "webhook"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/livenessProbe/httpGet/path",
     "/healthz"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/containers/1/livenessProbe/httpGet/scheme", "HTTPS"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/readinessProbe/httpGet/path",
     "/readyz"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/containers/1/securityContext/readOnlyRootFilesystem", "true"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/containers/1/securityContext/runAsNonRoot", "true"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/volumeMounts/0/mountPath",
     "/certs"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/volumes/0/configMap/name",
     "vgpu-scheduler-config-*"}, /* the generated name, hash included */
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/volumes/1/secret/secretName",
     "vgpu-scheduler-tls"},
    /* two replicas on two nodes, one at a time through a rollout or a drain */
    {"Deployment", "vgpu-scheduler", "/spec/replicas", "2"},
    {"Deployment", "vgpu-scheduler", "/spec/strategy/rollingUpdate/maxSurge", "0"},
    {"Deployment", "vgpu-scheduler", "/spec/strategy/rollingUpdate/maxUnavailable", "1"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
     "0/topologyKey",
     "kubernetes.io/hostname"},
    {"Deployment", "vgpu-scheduler",
     "/spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/"
     "0/labelSelector/matchLabels/app.kubernetes.io~1name",
     "vgpu-scheduler"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/containers/1/args/11",
     "--leader-elect-lease=vgpu-system/vgpu-scheduler"},
    {"PodDisruptionBudget", "vgpu-scheduler", "/metadata/namespace", "vgpu-system"},
    {"PodDisruptionBudget", "vgpu-scheduler", "/spec/maxUnavailable", "1"},
    {"PodDisruptionBudget", "vgpu-scheduler", "/spec/selector/matchLabels/app.kubernetes.io~1name",
     "vgpu-scheduler"},
    {"ConfigMap", "vgpu-scheduler-config-*", "/metadata/namespace", "vgpu-system"},
    /* the Service for the webhook */
    {"Service", "vgpu-scheduler", "/spec/ports/0/port", "443"},
    {"Service", "vgpu-scheduler", "/spec/ports/0/targetPort", "webhook"},
    {"Service", "vgpu-scheduler", "/spec/ports/1/port", "9395"},
    {"Service", "vgpu-scheduler", "/spec/ports/2", NULL}, /* not the extender's 8443 */
    {"Service", "vgpu-scheduler", "/spec/selector/app.kubernetes.io~1name", "vgpu-scheduler"},
    /* the webhook */
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/failurePolicy", "Ignore"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/sideEffects", "None"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/timeoutSeconds", "10"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/admissionReviewVersions/0",
     "v1"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/admissionReviewVersions/1",
     "v1beta1"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler",
     "/webhooks/0/namespaceSelector/matchExpressions/0/key", "hami.io/webhook"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler",
     "/webhooks/0/namespaceSelector/matchExpressions/0/operator", "NotIn"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler",
     "/webhooks/0/namespaceSelector/matchExpressions/0/values/0", "ignore"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/clientConfig/service/name",
     "vgpu-scheduler"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/clientConfig/service/namespace",
     "vgpu-system"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/clientConfig/service/path",
     "/webhook"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/clientConfig/service/port",
     "443"},
    /* kube-scheduler's configuration */
    {"KubeSchedulerConfiguration", NULL, "/apiVersion", "kubescheduler.config.k8s.io/v1"},
    {"KubeSchedulerConfiguration", NULL, "/profiles/0/schedulerName", "vgpu-scheduler"},
    {"KubeSchedulerConfiguration", NULL, "/leaderElection/resourceNamespace", "vgpu-system"},
    {"KubeSchedulerConfiguration", NULL, "/leaderElection/leaderElect", "true"},
    {"KubeSchedulerConfiguration", NULL, "/leaderElection/resourceName", "vgpu-scheduler"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/urlPrefix", "https://127.0.0.1:8443"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/filterVerb", "filter"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/prioritizeVerb", "prioritize"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/bindVerb", "bind"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/preemptVerb", "preempt"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/weight", "1"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/enableHTTPS", "true"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/tlsConfig/caFile", "/certs/ca.crt"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/tlsConfig/certFile", "/certs/tls.crt"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/tlsConfig/keyFile", "/certs/tls.key"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/tlsConfig/insecure", NULL},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/nodeCacheCapable", "true"},
    {"KubeSchedulerConfiguration", NULL, "/extenders/0/httpTimeout", "30s"},
    /* the certificate Job */
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/serviceAccountName",
     "vgpu-scheduler-certgen"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/initContainers/0/args/0", "gen-cert"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/initContainers/0/args/1",
     "--service=vgpu-scheduler"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/initContainers/0/args/2",
     "--namespace=vgpu-system"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/initContainers/2/args/3",
     "vgpu-scheduler-tls"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/containers/0/args/0", "patch"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/containers/0/args/2", "vgpu-scheduler"},
    {"Job", "vgpu-scheduler-certgen", "/spec/template/spec/containers/0/args/4",
     "--patch-file=/certs/webhook-patch.json"},
    {"ClusterRole", "vgpu-scheduler-certgen", "/rules/0/resourceNames/0", "vgpu-scheduler"},
};

static void check_field(cJSON *docs, const char *kind, const char *name, const char *ptr,
                        const char *want)
{
    cJSON *o = find(docs, kind, name);
    ck_assert_msg(o != NULL, "no %s %s", kind, name ? name : "");
    cJSON *v = webhook_patch_get(o, ptr);
    if (want == NULL) {
        ck_assert_msg(v == NULL, "%s %s %s should be absent", kind, name ? name : "", ptr);
        return;
    }
    ck_assert_msg(cJSON_IsString(v), "%s %s: %s is missing or not a scalar", kind, name ? name : "",
                  ptr);
    size_t n = strlen(want);
    bool ok = want[n - 1] == '*' ? strncmp(v->valuestring, want, n - 1) == 0
                                 : strcmp(v->valuestring, want) == 0;
    ck_assert_msg(ok, "%s %s %s: \"%s\", want \"%s\"", kind, name ? name : "", ptr, v->valuestring,
                  want);
}

START_TEST(test_fields)
{
    if (skipped())
        return;
    check_field(base, fields[_i].kind, fields[_i].name, fields[_i].ptr, fields[_i].want);
}
END_TEST

/* The ClusterRole is exactly what the brief of the service needs. */
static const struct {
    const char *group, *resource, *verbs;
} rules[] = {
    {"", "nodes", "get,list,watch,patch"},
    {"", "pods", "get,list,watch,patch"},
    {"", "pods/binding", "create"},
    {"", "events", "create"},
    {"coordination.k8s.io", "leases", "get,create,update,list,watch"},
    {"", "resourcequotas", "list,watch"},
    {"policy", "poddisruptionbudgets", "list,watch"},
};

static char *joined(cJSON *arr)
{
    static char buf[256];
    cJSON *v;
    size_t k = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(v, arr) k +=
        (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", k ? "," : "",
                         cJSON_GetStringValue(v) ? cJSON_GetStringValue(v) : "?");
    return buf;
}

START_TEST(test_cluster_role)
{
    if (skipped())
        return;
    cJSON *role = find(base, "ClusterRole", "vgpu-scheduler"), *r;
    ck_assert_ptr_nonnull(role);
    cJSON *list = cJSON_GetObjectItem(role, "rules");
    ck_assert_int_eq(cJSON_GetArraySize(list), sizeof rules / sizeof rules[0]);
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        bool found = false;
        cJSON_ArrayForEach(r, list)
        {
            cJSON *groups = cJSON_GetObjectItem(r, "apiGroups");
            cJSON *res = cJSON_GetObjectItem(r, "resources");
            ck_assert_int_eq(cJSON_GetArraySize(groups), 1);
            ck_assert_int_eq(cJSON_GetArraySize(res), 1);
            if (strcmp(cJSON_GetArrayItem(groups, 0)->valuestring, rules[i].group) == 0 &&
                strcmp(cJSON_GetArrayItem(res, 0)->valuestring, rules[i].resource) == 0) {
                ck_assert_str_eq(joined(cJSON_GetObjectItem(r, "verbs")), rules[i].verbs);
                found = true;
            }
        }
        ck_assert_msg(found, "no rule for %s", rules[i].resource);
    }
}
END_TEST

/* Every resource the extender reads is managed and ignored by kube-scheduler,
 * and the extender port and scheduler name agree with the container's. */
START_TEST(test_scheduler_config)
{
    static const char *const managed[] = {"nvidia.com/gpu", "nvidia.com/gpumem",
                                          "nvidia.com/gpumem-percentage", "nvidia.com/gpucores",
                                          "nvidia.com/priority"};
    if (skipped())
        return;
    cJSON *cfg = find(base, "KubeSchedulerConfiguration", NULL);
    ck_assert_ptr_nonnull(cfg);
    cJSON *list = webhook_patch_get(cfg, "/extenders/0/managedResources"), *m;
    ck_assert_int_eq(cJSON_GetArraySize(list), 5);
    for (size_t i = 0; i < 5; i++) {
        bool found = false;
        cJSON_ArrayForEach(m, list)
        {
            if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, managed[i]) == 0) {
                ck_assert_str_eq(cJSON_GetObjectItem(m, "ignoredByScheduler")->valuestring, "true");
                found = true;
            }
        }
        ck_assert_msg(found, "%s is not managed", managed[i]);
    }
    /* the volume the kube-scheduler container mounts is the generated ConfigMap */
    cJSON *cm = find(base, "ConfigMap", "vgpu-scheduler-config-*");
    cJSON *dep = find(base, "Deployment", "vgpu-scheduler");
    ck_assert_str_eq(
        webhook_patch_get(dep, "/spec/template/spec/volumes/0/configMap/name")->valuestring,
        webhook_patch_get(cm, "/metadata/name")->valuestring);
}
END_TEST

/* The webhook reviews what a pod owner could use to get past it (the
 * rules: webhook/webhook.h), and only a namespace label opts out: no
 * objectSelector, which any pod owner could satisfy. In the overlay too. */
START_TEST(test_webhook_scope)
{
    if (skipped())
        return;
    cJSON *bundles[2] = {base, certmgr};
    for (int b = 0; b < 2; b++) {
        cJSON *w = find(bundles[b], "MutatingWebhookConfiguration", "vgpu-scheduler");
        ck_assert_ptr_nonnull(w);
        ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(w, "webhooks")), 1);
        ck_assert_msg(webhook_patch_get(w, "/webhooks/0/objectSelector") == NULL,
                      "the webhook has an objectSelector: a pod label would skip it");
        cJSON *list = webhook_patch_get(w, "/webhooks/0/rules");
        ck_assert_int_eq(cJSON_GetArraySize(list), 1);
        ck_assert_str_eq(joined(webhook_patch_get(w, "/webhooks/0/rules/0/operations")),
                         "CREATE,UPDATE");
        ck_assert_str_eq(joined(webhook_patch_get(w, "/webhooks/0/rules/0/resources")),
                         "pods,pods/ephemeralcontainers");
        ck_assert_str_eq(joined(webhook_patch_get(w, "/webhooks/0/rules/0/apiGroups")), "");
        cJSON *ns = webhook_patch_get(w, "/webhooks/0/namespaceSelector/matchExpressions");
        ck_assert_int_eq(cJSON_GetArraySize(ns), 1);
        ck_assert_str_eq(webhook_patch_get(ns, "/0/key")->valuestring, "hami.io/webhook");
        ck_assert_str_eq(webhook_patch_get(ns, "/0/operator")->valuestring, "NotIn");
        ck_assert_str_eq(joined(webhook_patch_get(ns, "/0/values")), "ignore");
    }
}
END_TEST

/* The NetworkPolicy lets in the webhook's port from anywhere and the
 * metrics port from labelled namespaces, nothing else, on the scheduler's
 * pod. */
START_TEST(test_network_policy)
{
    if (skipped())
        return;
    cJSON *np = find(base, "NetworkPolicy", "vgpu-scheduler"), *rule;
    ck_assert_msg(np != NULL, "no NetworkPolicy vgpu-scheduler");
    ck_assert_str_eq(webhook_patch_get(np, "/metadata/namespace")->valuestring, "vgpu-system");
    cJSON *dep = find(base, "Deployment", "vgpu-scheduler");
    ck_assert_str_eq(
        webhook_patch_get(np, "/spec/podSelector/matchLabels/app.kubernetes.io~1name")->valuestring,
        webhook_patch_get(dep, "/spec/template/metadata/labels/app.kubernetes.io~1name")
            ->valuestring);
    ck_assert_int_eq(cJSON_GetArraySize(webhook_patch_get(np, "/spec/podSelector/matchLabels")), 1);
    ck_assert_str_eq(joined(webhook_patch_get(np, "/spec/policyTypes")), "Ingress");
    cJSON *ingress = webhook_patch_get(np, "/spec/ingress");
    ck_assert_int_eq(cJSON_GetArraySize(ingress), 2);
    bool webhook = false, metrics = false;
    cJSON_ArrayForEach(rule, ingress)
    {
        cJSON *ports = cJSON_GetObjectItem(rule, "ports");
        ck_assert_msg(cJSON_GetArraySize(ports) == 1, "a rule without exactly one port");
        const char *port = webhook_patch_get(ports, "/0/port")->valuestring;
        ck_assert_str_eq(webhook_patch_get(ports, "/0/protocol")->valuestring, "TCP");
        cJSON *from = cJSON_GetObjectItem(rule, "from");
        if (strcmp(port, "9443") == 0) {
            ck_assert_msg(from == NULL, "9443: kube-apiserver's addresses differ per cluster");
            webhook = true;
        } else if (strcmp(port, "9395") == 0) {
            ck_assert_int_eq(cJSON_GetArraySize(from), 1);
            cJSON *sel = webhook_patch_get(from, "/0/namespaceSelector/matchLabels");
            ck_assert_int_eq(cJSON_GetArraySize(sel), 1);
            ck_assert_str_eq(
                cJSON_GetStringValue(cJSON_GetObjectItem(sel, "vgpu-scheduler/metrics")),
                "allowed");
            ck_assert_ptr_null(webhook_patch_get(from, "/0/podSelector"));
            metrics = true;
        } else {
            ck_abort_msg("port %s is open", port);
        }
    }
    ck_assert(webhook && metrics);
    ck_assert_ptr_nonnull(find(certmgr, "NetworkPolicy", "vgpu-scheduler"));
}
END_TEST

/* The cert-manager overlay: certificates instead of the Job, the CA
 * injected into the webhook, the same Secret and names. */
static const struct {
    const char *kind, *name, *ptr, *want;
} cm_fields[] = {
    {"Certificate", "vgpu-scheduler-serving", "/spec/secretName", "vgpu-scheduler-tls"},
    {"Certificate", "vgpu-scheduler-serving", "/spec/issuerRef/name", "vgpu-scheduler-ca"},
    {"Certificate", "vgpu-scheduler-serving", "/spec/ipAddresses/0", "127.0.0.1"},
    {"Certificate", "vgpu-scheduler-serving", "/spec/dnsNames/2", "vgpu-scheduler.vgpu-system.svc"},
    {"Certificate", "vgpu-scheduler-serving", "/spec/usages/2", "client auth"},
    {"Certificate", "vgpu-scheduler-ca", "/spec/isCA", "true"},
    {"Issuer", "vgpu-scheduler-ca", "/spec/ca/secretName", "vgpu-scheduler-ca"},
    {"Issuer", "vgpu-scheduler-selfsigned", "/metadata/namespace", "vgpu-system"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler",
     "/metadata/annotations/cert-manager.io~1inject-ca-from", "vgpu-system/vgpu-scheduler-serving"},
    {"MutatingWebhookConfiguration", "vgpu-scheduler", "/webhooks/0/failurePolicy", "Ignore"},
    {"Deployment", "vgpu-scheduler", "/spec/template/spec/volumes/1/secret/secretName",
     "vgpu-scheduler-tls"},
};

START_TEST(test_cert_manager)
{
    if (skipped())
        return;
    check_field(certmgr, cm_fields[_i].kind, cm_fields[_i].name, cm_fields[_i].ptr,
                cm_fields[_i].want);
    ck_assert_ptr_null(find(certmgr, "Job", NULL));
    ck_assert_ptr_null(find(certmgr, "ClusterRole", "vgpu-scheduler-certgen"));
}
END_TEST

#define HAMI_DEVCONFIG_DIR "/etc/vgpu-scheduler/hami-device-config"

/* The HAMi device config overlay: HAMi's chart's ConfigMap
 * (hami-scheduler-device, key device-config.yaml) mounted as a directory,
 * read with --device-config-file, the overwriteEnv the
 * chart renders (false) matched; the rest of the bundle as in base. */
START_TEST(test_hami_device_config)
{
    if (skipped())
        return;
    cJSON *d = find(hamidev, "Deployment", "vgpu-scheduler"), *c, *a, *vol = NULL, *m = NULL;
    cJSON *spec = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(d, "spec"), "template"), "spec");
    bool file = false, env = false;
    ck_assert_ptr_nonnull(spec);
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(spec, "containers"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")), "vgpu-scheduler") != 0)
            continue;
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(c, "args"))
        {
            file |= strcmp(a->valuestring,
                           "--device-config-file=" HAMI_DEVCONFIG_DIR "/device-config.yaml") == 0;
            env |= strcmp(a->valuestring, "--overwrite-env=false") == 0;
        }
        cJSON_ArrayForEach(
            a,
            cJSON_GetObjectItem(
                c, "volumeMounts")) if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")),
                                               "hami-device-config") == 0) m = a;
    }
    ck_assert(file && env);
    ck_assert_ptr_nonnull(m);
    /* a directory, no subPath: the kubelet updates the file when the
     * ConfigMap changes, and the scheduler reloads it */
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(m, "mountPath")), HAMI_DEVCONFIG_DIR);
    ck_assert_ptr_null(cJSON_GetObjectItem(m, "subPath"));
    cJSON_ArrayForEach(
        a, cJSON_GetObjectItem(
               spec, "volumes")) if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(a, "name")),
                                            "hami-device-config") == 0) vol = a;
    ck_assert_ptr_nonnull(vol);
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(vol, "configMap"), "name")),
        "hami-scheduler-device");
    /* everything else of the bundle is there */
    ck_assert_int_eq(cJSON_GetArraySize(hamidev), cJSON_GetArraySize(base));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("manifests");
    TCase *tc = tcase_create("kustomize");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_loop_test(tc, test_fields, 0, sizeof fields / sizeof fields[0]);
    tcase_add_test(tc, test_cluster_role);
    tcase_add_test(tc, test_scheduler_config);
    tcase_add_loop_test(tc, test_cert_manager, 0, sizeof cm_fields / sizeof cm_fields[0]);
    tcase_add_test(tc, test_webhook_scope);
    tcase_add_test(tc, test_network_policy);
    tcase_add_test(tc, test_hami_device_config);
    suite_add_tcase(s, tc);
    return harness_run_suite(s, true);
}

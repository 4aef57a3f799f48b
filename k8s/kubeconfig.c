/* k8s/kubeconfig.c: kubeconfig (libyaml document API) and in-cluster service-account creds.
 * Follows client-go clientcmd loader/validation and rest.InClusterConfig, as Multus
 * pkg/k8sclient/k8sclient.go GetK8sClient uses them. */
#include "k8s/kubeconfig.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "cni/base64.h"
#include "cni/log.h"
#include "k8s/file.h"

/* Kubeconfigs and PEM bundles are small; anything bigger is a mistake or an attack. */
#define CRED_FILE_MAX (4u << 20)

struct kc {
	yaml_document_t doc;
	const char *path; /* the kubeconfig, for messages */
	char *dir;	  /* its directory, for relative paths */
	struct cni_err *err;
};

/* Reads a credential file, wiped when freed (cni_file_free_secret): it may hold a token or a
 * key. Follows symlinks on purpose: Secret and projected service-account volumes are symlink
 * farms (token -> ..data/token). Messages read "<what> <path>: <why>". */
static char *read_cred_file(const char *path, size_t *len, struct cni_err *err, const char *what)
{
	char *data =
	    k8s_read_file(what, path, CRED_FILE_MAX, CNI_FILE_FOLLOW | CNI_FILE_WIPE, len, err);

	if (!data && errno == ENOENT)
		cni_err_set(err, CNI_ERR_IO, "%s %s: %s", what, path, strerror(ENOENT));
	return data;
}

/* Tokens are read from files that usually end in a newline; client-go trims whitespace. */
static void trim_token(char *t)
{
	size_t n = strlen(t);

	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
		t[--n] = '\0';
}

static yaml_node_t *node(struct kc *k, int idx)
{
	return yaml_document_get_node(&k->doc, idx);
}

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
	       memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* A YAML null: "~", "null" or nothing, when not quoted. */
static bool is_null(const yaml_node_t *n)
{
	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
	    n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		return false;
	return n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
	       scalar_is(n, "Null") || scalar_is(n, "NULL");
}

/* mapping[key], or NULL when absent or null. */
static yaml_node_t *map_get(struct kc *k, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		if (scalar_is(node(k, p->key), key)) {
			yaml_node_t *v = node(k, p->value);

			return is_null(v) ? NULL : v;
		}
	}
	return NULL;
}

/* A string value. Absent -> 0 with *out NULL; not a scalar -> -1 naming ctx.key. The value is
 * copied (NUL-terminated); scalars holding a NUL byte are refused. */
static int get_str(struct kc *k, const yaml_node_t *map, const char *ctx, const char *key,
		   char **out)
{
	yaml_node_t *v = map_get(k, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (v->type != YAML_SCALAR_NODE ||
	    memchr(v->data.scalar.value, '\0', v->data.scalar.length))
		return cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
				   "kubeconfig %s: %s.%s must be a string", k->path, ctx, key);
	*out = strndup((const char *)v->data.scalar.value, v->data.scalar.length);
	if (!*out)
		return cni_err_oom(k->err);
	return 0;
}

/* YAML 1.1 booleans as go-yaml v2 reads them (what sigs.k8s.io/yaml uses). */
static int get_bool(struct kc *k, const yaml_node_t *map, const char *ctx, const char *key,
		    bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	yaml_node_t *v = map_get(k, map, key);
	char buf[8];

	*out = false;
	if (!v)
		return 0;
	if (v->type == YAML_SCALAR_NODE && v->data.scalar.length < sizeof(buf)) {
		memcpy(buf, v->data.scalar.value, v->data.scalar.length);
		buf[v->data.scalar.length] = '\0';
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (strcasecmp(buf, yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcasecmp(buf, no[i]) == 0)
				return 0;
		}
	}
	return cni_err_set(k->err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: %s.%s must be a boolean",
			   k->path, ctx, key);
}

/* The entry named name in the list under key (clusters, users, contexts), and its inner
 * object (cluster, user, context). */
static yaml_node_t *find_named(struct kc *k, const yaml_node_t *root, const char *list,
			       const char *inner, const char *name)
{
	yaml_node_t *seq = map_get(k, root, list);

	if (seq && seq->type != YAML_SEQUENCE_NODE) {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: %s must be a list",
			    k->path, list);
		return NULL;
	}
	for (yaml_node_item_t *it = seq ? seq->data.sequence.items.start : NULL;
	     seq && it < seq->data.sequence.items.top; it++) {
		yaml_node_t *e = node(k, *it), *n = map_get(k, e, "name");

		if (e && e->type == YAML_MAPPING_NODE && scalar_is(n, name)) {
			yaml_node_t *in = map_get(k, e, inner);

			if (!in || in->type != YAML_MAPPING_NODE) {
				cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
					    "kubeconfig %s: %s[\"%s\"].%s must be a map", k->path,
					    list, name, inner);
				return NULL;
			}
			return in;
		}
	}
	cni_err_set(k->err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: no %s entry named \"%s\"",
		    k->path, list, name);
	return NULL;
}

/* client-go resolves relative file references against the kubeconfig's directory. */
static char *resolve(struct kc *k, const char *p)
{
	char *r = NULL;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&r, "%s/%s", k->dir, p) < 0)
		return NULL;
	return r;
}

/* One credential that may come as <key> (a file) or <key>-data (base64). Both set is an error,
 * as client-go's validation says. secret: wipe the intermediate copies. */
static int get_blob(struct kc *k, const yaml_node_t *map, const char *ctx, const char *file_key,
		    const char *data_key, char **out, size_t *out_len)
{
	char *file = NULL, *data = NULL, *path = NULL, *what = NULL;
	int ret = -1;

	*out = NULL;
	*out_len = 0;
	if (get_str(k, map, ctx, file_key, &file) < 0 || get_str(k, map, ctx, data_key, &data) < 0)
		goto out;
	if (file && data) {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: %s: %s and %s are both set; use one", k->path, ctx,
			    file_key, data_key);
		goto out;
	}
	if (data) {
		*out = cni_base64_decode(data, out_len);
		if (!*out) {
			cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
				    "kubeconfig %s: %s.%s is not valid base64", k->path, ctx,
				    data_key);
			goto out;
		}
	} else if (file && file[0]) {
		path = resolve(k, file);
		if (!path || asprintf(&what, "kubeconfig %s: %s.%s", k->path, ctx, file_key) < 0) {
			cni_err_oom(k->err);
			goto out;
		}
		*out = read_cred_file(path, out_len, k->err, what);
		if (!*out)
			goto out;
	}
	ret = 0;
out:
	free(file);
	free(path);
	free(what);
	if (data)
		cni_file_free_secret(data, strlen(data));
	return ret;
}

static int refuse(struct kc *k, const yaml_node_t *map, const char *ctx, const char *key,
		  const char *why)
{
	if (!map_get(k, map, key))
		return 0;
	return cni_err_set(k->err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: %s.%s: %s", k->path, ctx,
			   key, why);
}

static int load_cluster(struct kc *k, const yaml_node_t *root, const char *name,
			struct k8s_creds *out)
{
	yaml_node_t *c = find_named(k, root, "clusters", "cluster", name);
	char *ctx = NULL;
	size_t n;
	int ret = -1;

	if (!c)
		return -1;
	if (asprintf(&ctx, "clusters[\"%s\"].cluster", name) < 0)
		return cni_err_oom(k->err);
	if (get_str(k, c, ctx, "server", &out->server) < 0 ||
	    get_bool(k, c, ctx, "insecure-skip-tls-verify", &out->insecure) < 0 ||
	    get_blob(k, c, ctx, "certificate-authority", "certificate-authority-data", &out->ca,
		     &out->ca_len) < 0 ||
	    refuse(k, c, ctx, "proxy-url", "proxies are not supported") < 0 ||
	    refuse(k, c, ctx, "tls-server-name", "a TLS server name override is not supported") < 0)
		goto out;
	if (!out->server || !out->server[0]) {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: %s.server is missing",
			    k->path, ctx);
		goto out;
	}
	if (strncmp(out->server, "https://", 8) != 0 && strncmp(out->server, "http://", 7) != 0) {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: %s.server \"%s\" must be an https:// or http:// URL",
			    k->path, ctx, out->server);
		goto out;
	}
	/* "https://" alone would be trimmed to "https:", a URL without a host. */
	n = strncmp(out->server, "https://", 8) == 0 ? 8 : 7;
	if (out->server[n] == '\0' || out->server[n] == '/') {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: %s.server \"%s\" has no host", k->path, ctx,
			    out->server);
		goto out;
	}
	n = strlen(out->server);
	while (n > 0 && out->server[n - 1] == '/')
		out->server[--n] = '\0';
	if (out->insecure && out->ca) {
		/* client-go refuses the combination: verification off with a CA is a mistake. */
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: %s: specifying a root certificates file with the "
			    "insecure flag is not allowed",
			    k->path, ctx);
		goto out;
	}
	ret = 0;
out:
	free(ctx);
	return ret;
}

static int load_user(struct kc *k, const yaml_node_t *root, const char *name, struct k8s_creds *out)
{
	yaml_node_t *u = find_named(k, root, "users", "user", name);
	char *ctx = NULL, *token_file = NULL, *path = NULL, *what = NULL;
	size_t len = 0;
	int ret = -1;

	if (!u)
		return -1;
	if (asprintf(&ctx, "users[\"%s\"].user", name) < 0)
		return cni_err_oom(k->err);
	if (refuse(k, u, ctx, "exec", "exec credential plugins are not supported") < 0 ||
	    refuse(k, u, ctx, "auth-provider", "auth providers are not supported") < 0 ||
	    refuse(k, u, ctx, "username", "basic authentication is not supported") < 0 ||
	    refuse(k, u, ctx, "password", "basic authentication is not supported") < 0 ||
	    get_blob(k, u, ctx, "client-certificate", "client-certificate-data", &out->cert,
		     &out->cert_len) < 0 ||
	    get_blob(k, u, ctx, "client-key", "client-key-data", &out->key, &out->key_len) < 0 ||
	    get_str(k, u, ctx, "token", &out->token) < 0 ||
	    get_str(k, u, ctx, "tokenFile", &token_file) < 0)
		goto out;
	if (!out->cert != !out->key) {
		cni_err_set(k->err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: %s: client-certificate and client-key must be given "
			    "together",
			    k->path, ctx);
		goto out;
	}
	if (token_file && token_file[0]) {
		/* rest.Config: the token file, read afresh, takes precedence over token. */
		path = resolve(k, token_file);
		if (!path || asprintf(&what, "kubeconfig %s: %s.tokenFile", k->path, ctx) < 0) {
			cni_err_oom(k->err);
			goto out;
		}
		if (out->token)
			cni_file_free_secret(out->token, strlen(out->token));
		out->token = read_cred_file(path, &len, k->err, what);
		if (!out->token)
			goto out;
		trim_token(out->token);
	}
	if (out->token && !out->token[0]) {
		free(out->token);
		out->token = NULL;
	}
	ret = 0;
out:
	free(ctx);
	free(token_file);
	free(path);
	free(what);
	return ret;
}

/* The kubeconfig's directory, which relative paths in it are resolved against (clientcmd
 * ResolveLocalPaths). */
static char *dir_of(const char *path)
{
	char *copy = strdup(path), *dir;

	if (!copy)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

int k8s_kubeconfig_load(const char *path, struct k8s_creds *out, struct cni_err *err)
{
	struct kc k = { .path = path, .err = err };
	yaml_parser_t parser;
	yaml_node_t *root, *ctxn;
	char *data, *cur = NULL, *cluster = NULL, *user = NULL, *ctxkey = NULL;
	size_t len = 0;
	struct stat st;
	bool have_doc = false;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	data = read_cred_file(path, &len, err, "kubeconfig");
	if (!data)
		return -1;
	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		log_error("kubeconfig %s is readable by every user; it holds credentials", path);
	k.dir = dir_of(path);
	if (!k.dir) {
		cni_err_oom(err);
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		cni_err_oom(err);
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &k.doc)) {
		/* libyaml's problem texts name the construct, never the scalar's value. */
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: line %zu column %zu: %s",
			    path, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			    parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		goto out;
	}
	yaml_parser_delete(&parser);
	have_doc = true;
	root = yaml_document_get_root_node(&k.doc);
	if (!root || is_null(root)) {
		cni_err_set(
		    err, CNI_ERR_INVALID_CONFIG,
		    "kubeconfig %s: invalid configuration: no configuration has been provided",
		    path);
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: must be a YAML map", path);
		goto out;
	}
	if (get_str(&k, root, "kubeconfig", "current-context", &cur) < 0)
		goto out;
	if (!cur || !cur[0]) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "kubeconfig %s: current-context is not set", path);
		goto out;
	}
	ctxn = find_named(&k, root, "contexts", "context", cur);
	if (!ctxn)
		goto out;
	if (asprintf(&ctxkey, "contexts[\"%s\"].context", cur) < 0) {
		cni_err_oom(err);
		goto out;
	}
	if (get_str(&k, ctxn, ctxkey, "cluster", &cluster) < 0 ||
	    get_str(&k, ctxn, ctxkey, "user", &user) < 0 ||
	    get_str(&k, ctxn, ctxkey, "namespace", &out->namespace) < 0)
		goto out;
	if (!cluster || !cluster[0]) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "kubeconfig %s: %s.cluster is not set",
			    path, ctxkey);
		goto out;
	}
	if (load_cluster(&k, root, cluster, out) < 0)
		goto out;
	/* A context without a user is anonymous access: legal, and the server decides. */
	if (user && user[0] && load_user(&k, root, user, out) < 0)
		goto out;
	if (asprintf(&out->source, "kubeconfig %s", path) < 0) {
		out->source = NULL;
		cni_err_oom(err);
		goto out;
	}
	ret = 0;
out:
	if (have_doc)
		yaml_document_delete(&k.doc);
	cni_file_free_secret(data, len);
	free(k.dir);
	free(cur);
	free(cluster);
	free(user);
	free(ctxkey);
	if (ret < 0)
		k8s_creds_free(out);
	return ret;
}

int k8s_incluster_load(const char *sa_dir, struct k8s_creds *out, struct cni_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *path = NULL;
	size_t len = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!sa_dir)
		sa_dir = K8S_SA_DIR;
	if (!host || !host[0] || !port || !port[0])
		return cni_err_set(
		    err, CNI_ERR_INVALID_ENV,
		    "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
		    "and KUBERNETES_SERVICE_PORT must be defined");
	if (asprintf(&out->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0 ||
	    asprintf(&out->source, "in-cluster service account %s", sa_dir) < 0) {
		out->server = NULL;
		out->source = NULL;
		cni_err_oom(err);
		goto out;
	}
	if (asprintf(&path, "%s/token", sa_dir) < 0) {
		path = NULL;
		cni_err_oom(err);
		goto out;
	}
	out->token = read_cred_file(path, &len, err, "service account token");
	if (!out->token)
		goto out;
	trim_token(out->token);
	if (!out->token[0]) {
		cni_err_set(err, CNI_ERR_IO, "service account token %s is empty", path);
		goto out;
	}
	free(path);
	if (asprintf(&path, "%s/ca.crt", sa_dir) < 0) {
		path = NULL;
		cni_err_oom(err);
		goto out;
	}
	if (access(path, F_OK) == 0) {
		out->ca = read_cred_file(path, &out->ca_len, err, "service account CA");
		if (!out->ca)
			goto out;
	} else {
		log_error("service account CA %s: %s; verifying the API server with the system "
			  "certificate store",
			  path, strerror(errno));
	}
	free(path);
	if (asprintf(&path, "%s/namespace", sa_dir) < 0) {
		path = NULL;
		cni_err_oom(err);
		goto out;
	}
	if (access(path, F_OK) == 0) {
		struct cni_err ignored = { 0 };

		out->namespace = read_cred_file(path, &len, &ignored, "namespace");
		if (out->namespace)
			trim_token(out->namespace);
		cni_err_clear(&ignored);
	}
	ret = 0;
out:
	free(path);
	if (ret < 0)
		k8s_creds_free(out);
	return ret;
}

int k8s_creds_load(const char *kubeconfig, const char *sa_dir, struct k8s_creds *out,
		   struct cni_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");

	memset(out, 0, sizeof(*out));
	if (kubeconfig && kubeconfig[0])
		return k8s_kubeconfig_load(kubeconfig, out, err) < 0 ? -1 : 1;
	if (host && host[0] && port && port[0])
		return k8s_incluster_load(sa_dir, out, err) < 0 ? -1 : 1;
	return 0;
}

void k8s_creds_free(struct k8s_creds *c)
{
	free(c->server);
	free(c->ca);
	free(c->cert);
	cni_file_free_secret(c->key, c->key_len);
	if (c->token)
		cni_file_free_secret(c->token, strlen(c->token));
	free(c->namespace);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

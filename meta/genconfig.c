/* meta/genconfig.c: `plexus generate-config`: the primary CNI config wrapped, and a kubeconfig.
 * Follows Multus's thin entrypoint (multus.md §1.4) minus §6.2/§6.6: never empty, kept on exit. */
#include "meta/genconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/log.h"
#include "cni/spec.h"
#include "meta/netconf.h"

#define CONF_MAX_BYTES	(1u << 20)
#define TOKEN_MAX_BYTES (1u << 20)
/* inotify can overflow or miss a change through a bind mount: look again now and then */
#define RESYNC_MS 60000
/* editors and kubelet's atomic writer make bursts of events: act once they settle */
#define SETTLE_MS 150

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool meta_gen_is_candidate(const char *name)
{
	if (name[0] == '.' || strncmp(name, "00-plexus.", 10) == 0 ||
	    strncmp(name, "00-multus", 9) == 0)
		return false;
	return has_suffix(name, ".conf") || has_suffix(name, ".conflist");
}

/* What libcni's ConfFiles would consider, for the "sorts before ours" warning. */
static bool runtime_candidate(const char *name)
{
	return name[0] != '.' && (has_suffix(name, ".conf") || has_suffix(name, ".conflist") ||
				  has_suffix(name, ".json"));
}

static int by_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static bool is_dir_at(const char *dir, const char *name)
{
	char *path = NULL;
	struct stat st;
	bool ret;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return false;
	/* a dangling symlink stays a candidate: reading it then fails loudly */
	ret = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	free(path);
	return ret;
}

static int scan(const char *dir, struct dirent ***list, struct cni_err *err)
{
	int n = scandir(dir, list, NULL, by_bytes);

	if (n < 0)
		return cni_err_set(err, CNI_ERR_IO, "CNI conf dir %s: %s", dir, strerror(errno));
	return n;
}

static void free_scan(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

char *meta_gen_find_primary(const char *dir, struct cni_err *err)
{
	struct dirent **list = NULL;
	char *found = NULL;
	int n = scan(dir, &list, err);

	if (n < 0)
		return NULL;
	for (int i = 0; i < n && !found; i++)
		if (meta_gen_is_candidate(list[i]->d_name) && !is_dir_at(dir, list[i]->d_name))
			found = strdup(list[i]->d_name);
	free_scan(list, n);
	if (!found)
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "no CNI network config (.conf or .conflist) in %s", dir);
	return found;
}

cJSON *meta_gen_capabilities(const struct cni_conflist *primary)
{
	cJSON *caps = cJSON_CreateObject(), *sorted;
	const cJSON *c;

	if (!caps)
		return NULL;
	for (size_t i = 0; i < primary->nplugins; i++)
		cJSON_ArrayForEach(
		    c, cJSON_GetObjectItemCaseSensitive(primary->plugins[i], "capabilities"))
		{
			if (cJSON_IsTrue(c) && !cJSON_HasObjectItem(caps, c->string))
				cJSON_AddTrueToObject(caps, c->string);
		}
	/* sorted, so the output does not change with the order plugins list them in */
	sorted = cJSON_CreateObject();
	while (sorted && caps->child) {
		cJSON *min = caps->child;

		for (cJSON *k = min->next; k; k = k->next)
			if (strcmp(k->string, min->string) < 0)
				min = k;
		cJSON_AddItemToObject(sorted, min->string, cJSON_DetachItemViaPointer(caps, min));
	}
	cJSON_Delete(caps);
	return sorted;
}

static int add_str(cJSON *o, const char *key, const char *value)
{
	if (!value)
		return 0;
	return cJSON_AddStringToObject(o, key, value) ? 0 : -1;
}

/* plexus's own reading of the plugin object, as the runtime will hand it over */
static int self_check(const char *text, const char *primary_path, struct cni_err *err)
{
	struct cni_conflist list;
	struct meta_netconf nc;
	cJSON *plugin = NULL;
	char *stdin_text = NULL;
	int ret = -1;

	if (cni_conflist_parse(text, strlen(text), &list, err) < 0)
		goto out;
	plugin = cJSON_Duplicate(list.plugins[0], true);
	if (!plugin || !cJSON_AddStringToObject(plugin, "name", list.name) ||
	    !cJSON_AddStringToObject(plugin, "cniVersion", list.cni_version) ||
	    !(stdin_text = cJSON_PrintUnformatted(plugin))) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto free_list;
	}
	if (meta_netconf_parse(stdin_text, strlen(stdin_text), &nc, err) < 0)
		goto free_list;
	meta_netconf_free(&nc);
	ret = 0;
free_list:
	cni_conflist_free(&list);
out:
	if (ret < 0)
		cni_err_prefix(err, "config generated from %s fails plexus's validation",
			       primary_path);
	cJSON_Delete(plugin);
	free(stdin_text);
	return ret;
}

/* Compact JSON re-indented by two spaces, for the person who opens the file. */
static char *pretty(const char *in)
{
	size_t cap = strlen(in) * 3 + 64, n = 0;
	char *out = malloc(cap);
	bool str = false, esc = false;
	int depth = 0;

	if (!out)
		return NULL;
	for (const char *p = in; *p; p++) {
		/* worst case per byte: ",\n" and the indent of the depth reached */
		if (n + 2 * (size_t)depth + 8 >= cap) {
			char *g = realloc(out, cap *= 2);

			if (!g) {
				free(out);
				return NULL;
			}
			out = g;
		}
		if (str) {
			out[n++] = *p;
			str = esc || *p != '"';
			esc = !esc && *p == '\\';
			continue;
		}
		switch (*p) {
		case '"':
			str = true;
			out[n++] = *p;
			break;
		case '{':
		case '[':
			out[n++] = *p;
			if (p[1] == '}' || p[1] == ']') {
				out[n++] = *++p;
				break;
			}
			out[n++] = '\n';
			depth++;
			for (int i = 0; i < 2 * depth; i++)
				out[n++] = ' ';
			break;
		case '}':
		case ']':
			out[n++] = '\n';
			depth--;
			for (int i = 0; i < 2 * depth; i++)
				out[n++] = ' ';
			out[n++] = *p;
			break;
		case ',':
			out[n++] = ',';
			out[n++] = '\n';
			for (int i = 0; i < 2 * depth; i++)
				out[n++] = ' ';
			break;
		case ':':
			out[n++] = ':';
			out[n++] = ' ';
			break;
		default:
			out[n++] = *p;
		}
	}
	out[n++] = '\n';
	out[n] = '\0';
	return out;
}

char *meta_gen_netconf(const struct cni_conflist *primary, const char *primary_path,
		       const struct meta_gen_opts *o, struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(primary->root, "cniVersion");
	const char *version = o->cni_version;
	cJSON *root = NULL, *plugins, *plugin, *caps, *delegates;
	char *text = NULL, *out = NULL;

	if (!version) {
		if (!cJSON_IsString(v) || !*v->valuestring) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "primary CNI config %s has no cniVersion: give --cni-version",
				    primary_path);
			return NULL;
		}
		version = v->valuestring;
	}
	if (!cni_version_supported(version)) {
		cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
			    "%s: cniVersion \"%s\" is not one plexus supports (%s..%s)",
			    o->cni_version ? "--cni-version" : primary_path, version,
			    cni_versions[0], CNI_VERSION_LATEST);
		return NULL;
	}
	for (size_t i = 0; i < primary->nplugins; i++) {
		const char *type = cni_plugin_type(primary->plugins[i]);

		if (strcmp(type, "plexus") == 0 || strcmp(type, "multus") == 0 ||
		    strcmp(type, "multus-shim") == 0) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "primary CNI config %s is itself a \"%s\" config: refusing to "
				    "wrap a meta-plugin (give --master-cni-file)",
				    primary_path, type);
			return NULL;
		}
	}

	root = cJSON_CreateObject();
	if (!root || add_str(root, "cniVersion", version) < 0 ||
	    add_str(root, "name", META_GEN_NETWORK) < 0 ||
	    !(plugins = cJSON_AddArrayToObject(root, "plugins")) ||
	    !(plugin = cJSON_CreateObject()))
		goto oom;
	cJSON_AddItemToArray(plugins, plugin);
	if (add_str(plugin, "type", "plexus") < 0 ||
	    add_str(plugin, "logLevel", o->log_level) < 0 ||
	    add_str(plugin, "logFile", o->log_file) < 0 ||
	    (o->namespace_isolation && !cJSON_AddTrueToObject(plugin, "namespaceIsolation")) ||
	    add_str(plugin, "globalNamespaces", o->global_namespaces) < 0 ||
	    add_str(plugin, "readinessindicatorfile", o->readiness_file) < 0 ||
	    add_str(plugin, "cniDir", o->cni_dir) < 0 ||
	    add_str(plugin, "binDir", o->bin_dir) < 0 ||
	    add_str(plugin, "kubeconfig", o->no_kubeconfig ? NULL : o->kubeconfig_host) < 0)
		goto oom;
	caps = meta_gen_capabilities(primary);
	if (!caps)
		goto oom;
	/* libcni passes runtimeConfig only for declared capabilities: an empty map says nothing */
	if (caps->child)
		cJSON_AddItemToObject(plugin, "capabilities", caps);
	else
		cJSON_Delete(caps);
	delegates = cJSON_AddArrayToObject(plugin, "delegates");
	if (!delegates)
		goto oom;
	cJSON_AddItemToArray(delegates, cJSON_Duplicate(primary->root, true));
	text = cJSON_PrintUnformatted(root);
	if (!text || !(out = pretty(text)))
		goto oom;
	free(text);
	cJSON_Delete(root);
	if (self_check(out, primary_path, err) < 0) {
		free(out);
		return NULL;
	}
	return out;
oom:
	free(text);
	cJSON_Delete(root);
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	return NULL;
}

char *meta_gen_server_url(const char *host, const char *port)
{
	char *url = NULL;
	bool v6 = strchr(host, ':') && host[0] != '[';

	if (asprintf(&url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
		return NULL;
	return url;
}

char *meta_gen_kubeconfig(const char *server, bool with_ca)
{
	cJSON *s = cJSON_CreateString(server);
	char *quoted = s ? cJSON_PrintUnformatted(s) : NULL, *out = NULL;

	cJSON_Delete(s);
	if (!quoted)
		return NULL;
	/* a JSON string is a valid YAML double-quoted scalar: no hand-made escaping */
	if (asprintf(&out,
		     "# Written by plexus generate-config: the plexus service account, for the\n"
		     "# plugin on this node. The token and CA are the files next to this one.\n"
		     "apiVersion: v1\n"
		     "kind: Config\n"
		     "clusters:\n"
		     "- name: local\n"
		     "  cluster:\n"
		     "    server: %s\n"
		     "%s"
		     "users:\n"
		     "- name: plexus\n"
		     "  user:\n"
		     "    tokenFile: token\n"
		     "contexts:\n"
		     "- name: plexus-context\n"
		     "  context:\n"
		     "    cluster: local\n"
		     "    user: plexus\n"
		     "current-context: plexus-context\n",
		     quoted, with_ca ? "    certificate-authority: ca.crt\n" : "") < 0)
		out = NULL;
	free(quoted);
	return out;
}

/* Reads a file, following symlinks (kubelet's projected volumes and configmaps are symlinks).
 * NULL with errno ENOENT and err untouched when it does not exist. */
static char *slurp(const char *path, const char *what, size_t max, size_t *len, struct cni_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	struct stat st;
	char *buf = NULL;

	if (fd < 0) {
		int e = errno;

		if (e != ENOENT)
			cni_err_set(err, CNI_ERR_IO, "%s %s: %s", what, path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		cni_err_set(err, CNI_ERR_IO, "%s %s: %s", what, path,
			    !S_ISREG(st.st_mode) ? "not a regular file" : "too big");
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto fail;
	}
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cni_err_set(err, CNI_ERR_IO, "%s %s: %s", what, path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	errno = 0;
	return buf;
fail:
	close(fd);
	free(buf);
	errno = EIO;
	return NULL;
}

/* 1 written, 0 unchanged (same bytes and mode 0600), -1 with err. Never writes nothing. */
static int write_if_changed(const char *path, const char *data, size_t len,
			    const struct meta_gen_opts *o, struct cni_err *err)
{
	struct cni_err ignored = { 0 };
	size_t old_len = 0;
	char *old = cni_read_file(path, CONF_MAX_BYTES, CNI_FILE_NOFOLLOW, &old_len, &ignored);
	struct stat st;
	bool same = old && old_len == len && memcmp(old, data, len) == 0 && lstat(path, &st) == 0 &&
		    (st.st_mode & 07777) == 0600;

	/* an unreadable old file is simply replaced; an old token is wiped like the new one */
	cni_err_clear(&ignored);
	if (old)
		explicit_bzero(old, old_len);
	free(old);
	if (same) {
		if (o->report && o->report_unchanged)
			fprintf(o->report, "unchanged %s\n", path);
		return 0;
	}
	if (len == 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, "refusing to write an empty %s", path);
	if (cni_write_atomic(path, data, len, 0600, err) < 0)
		return -1;
	if (o->report)
		fprintf(o->report, "wrote %s\n", path);
	return 1;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int gen_kubeconfig(const struct meta_gen_opts *o, struct cni_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"),
		   *port = getenv("KUBERNETES_SERVICE_PORT");
	char *token_path = NULL, *ca_path = NULL, *dir = NULL, *out_token = NULL, *out_ca = NULL;
	char *token = NULL, *ca = NULL, *server = NULL, *kc = NULL;
	size_t token_len = 0, ca_len = 0;
	int ret = -1, changed = 0, r;

	if (!host || !*host || !port || !*port)
		return cni_err_set(
		    err, CNI_ERR_INVALID_ENV,
		    "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
		    "to build the kubeconfig (run in the plexus pod, or give "
		    "--no-kubeconfig)");
	if (asprintf(&token_path, "%s/token", o->sa_dir) < 0 ||
	    asprintf(&ca_path, "%s/ca.crt", o->sa_dir) < 0 || !(dir = dir_of(o->kubeconfig_out)) ||
	    asprintf(&out_token, "%s/token", dir) < 0 || asprintf(&out_ca, "%s/ca.crt", dir) < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	token = slurp(token_path, "service-account token", TOKEN_MAX_BYTES, &token_len, err);
	if (!token) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO,
				    "service-account token %s: No such file or directory (give "
				    "--sa-dir, or --no-kubeconfig)",
				    token_path);
		goto out;
	}
	if (token_len == 0 || strspn(token, " \t\r\n") == token_len) {
		cni_err_set(err, CNI_ERR_IO, "service-account token %s is empty", token_path);
		goto out;
	}
	ca = slurp(ca_path, "service-account CA", TOKEN_MAX_BYTES, &ca_len, err);
	if (!ca && cni_err_isset(err))
		goto out;
	server = meta_gen_server_url(host, port);
	kc = server ? meta_gen_kubeconfig(server, ca != NULL) : NULL;
	if (!kc) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	/* an existing directory may be reached through a symlink; a new one is ours: 0700 */
	if (!is_dir(dir) && cni_mkdir_p(dir, 0700, err) < 0)
		goto out;
	/* the files the kubeconfig names exist before it does */
	if ((r = write_if_changed(out_token, token, token_len, o, err)) < 0)
		goto out;
	changed |= r;
	if (ca) {
		if ((r = write_if_changed(out_ca, ca, ca_len, o, err)) < 0)
			goto out;
		changed |= r;
	}
	if ((r = write_if_changed(o->kubeconfig_out, kc, strlen(kc), o, err)) < 0)
		goto out;
	ret = changed | r;
out:
	if (token)
		explicit_bzero(token, token_len);
	free(token);
	free(ca);
	free(server);
	free(kc);
	free(token_path);
	free(ca_path);
	free(dir);
	free(out_token);
	free(out_ca);
	return ret;
}

static char *primary_path(const struct meta_gen_opts *o, struct cni_err *err)
{
	char *name = NULL, *path = NULL;

	if (o->master && strchr(o->master, '/'))
		return strdup(o->master);
	name = o->master ? strdup(o->master) : meta_gen_find_primary(o->conf_dir, err);
	if (!name)
		return NULL;
	if (asprintf(&path, "%s/%s", o->conf_dir, name) < 0)
		path = NULL;
	free(name);
	return path;
}

/* Reads and parses a config; its bytes go to *bytes when asked for (else they are freed). */
static int load_conf(const char *path, const char *what, struct cni_conflist *list, char **bytes,
		     struct cni_err *err)
{
	size_t len = 0;
	char *data = slurp(path, what, CONF_MAX_BYTES, &len, err);
	int ret;

	if (!data) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO, "%s %s: No such file or directory", what,
				    path);
		return -1;
	}
	if (len == 0 || strspn(data, " \t\r\n") == len) {
		free(data);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s %s is empty", what, path);
	}
	ret = cni_conflist_parse(data, len, list, err);
	if (ret < 0)
		cni_err_prefix(err, "%s %s", what, path);
	if (ret == 0 && bytes)
		*bytes = data;
	else
		free(data);
	return ret;
}

/* Any file the runtime would pick before ours makes plexus silently unused. */
static void warn_shadowing(const char *dir, const char *ours, FILE *warn)
{
	struct cni_err ignored = { 0 };
	struct dirent **list = NULL;
	int n = scan(dir, &list, &ignored);

	cni_err_clear(&ignored);
	for (int i = 0; i < n && warn; i++) {
		const char *name = list[i]->d_name;

		if (strcmp(name, ours) >= 0)
			break;
		if (runtime_candidate(name) && !is_dir_at(dir, name))
			fprintf(warn,
				"plexus generate-config: warning: %s/%s sorts before %s: the "
				"runtime uses it instead, so pods get no plexus networks\n",
				dir, name, ours);
	}
	if (n > 0)
		free_scan(list, n);
}

static int gen_netconf(const struct meta_gen_opts *o, FILE *warn, struct cni_err *err)
{
	struct cni_conflist primary = { 0 };
	char *path = NULL, *text = NULL, *out = NULL;
	const char *name = META_GEN_OUTPUT;
	int ret = -1;

	if (o->conf_file) {
		/* a hand-written plexus config: checked, then copied as it is */
		if (load_conf(o->conf_file, "plexus config", &primary, &text, err) < 0)
			return -1;
		name = primary.is_list ? META_GEN_OUTPUT : META_GEN_OUTPUT_CONF;
		cni_conflist_free(&primary);
	} else {
		path = primary_path(o, err);
		if (!path)
			return -1;
		if (load_conf(path, "primary CNI config", &primary, NULL, err) < 0)
			goto out;
		text = meta_gen_netconf(&primary, path, o, err);
		cni_conflist_free(&primary);
		if (!text)
			goto out;
	}
	if (asprintf(&out, "%s/%s", o->conf_dir, name) < 0) {
		out = NULL;
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	ret = write_if_changed(out, text, strlen(text), o, err);
	warn_shadowing(o->conf_dir, name, warn);
out:
	if (ret < 0)
		cni_err_prefix(err, "%s/%s kept as it was", o->conf_dir, name);
	free(path);
	free(text);
	free(out);
	return ret;
}

int meta_gen_once(const struct meta_gen_opts *o, FILE *warn, struct cni_err *err)
{
	struct stat st;
	int k = 0, n;

	if (stat(o->conf_dir, &st) < 0)
		return cni_err_set(err, CNI_ERR_IO, "CNI conf dir %s: %s", o->conf_dir,
				   strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cni_err_set(err, CNI_ERR_IO, "CNI conf dir %s: not a directory",
				   o->conf_dir);
	if (!o->no_kubeconfig && (k = gen_kubeconfig(o, err)) < 0)
		return -1;
	n = gen_netconf(o, warn, err);
	if (n < 0)
		return -1;
	return k | n;
}

/* ---- the command ---- */

void meta_genconfig_usage(FILE *out)
{
	fputs(
	    "Usage: plexus generate-config [OPTION]...\n"
	    "Wrap the node's primary CNI config into 00-plexus.conflist and write a kubeconfig\n"
	    "for the plugin. Files are written atomically, mode 0600, only when they change.\n"
	    "\n"
	    "  --cni-conf-dir DIR         the runtime's CNI conf dir (" META_GEN_CONF_DIR ")\n"
	    "  --plexus-conf-file auto|F  auto: generate (default); F: check F and copy it\n"
	    "  --master-cni-file NAME     the primary config (a name in the conf dir or a path);\n"
	    "                             default: the first .conf/.conflist by name\n"
	    "  --kubeconfig-out PATH      where to write the kubeconfig\n"
	    "                             (default: CONF-DIR/" META_GEN_KUBECONFIG ")\n"
	    "  --kubeconfig-host PATH     the kubeconfig path as the host sees it, written into\n"
	    "                             the config (default: --kubeconfig-out)\n"
	    "  --no-kubeconfig            no kubeconfig: plexus runs without API access\n"
	    "  --sa-dir DIR               service-account token and CA\n"
	    "                             (" META_GEN_SA_DIR ")\n"
	    "  --namespace-isolation      pods may only use networks of their own namespace\n"
	    "  --global-namespaces LIST   namespaces any pod may use (comma-separated)\n"
	    "  --log-level LEVEL          panic, error, verbose or debug\n"
	    "  --log-file FILE            the plugin's log file\n"
	    "  --readiness-indicator-file FILE\n"
	    "                             ADD waits for FILE (the cluster network is ready)\n"
	    "  --cni-version V            cniVersion of the config (default: the primary's)\n"
	    "  --cni-dir DIR              the plugin's cniDir, for its caches\n"
	    "                             (plexus's default: " META_DEFAULT_CNI_DIR ")\n"
	    "  --bin-dir DIR              the plugin's binDir\n"
	    "                             (plexus's default: " META_DEFAULT_BIN_DIR ")\n"
	    "  --once                     generate once and exit (default)\n"
	    "  --watch                    keep running: regenerate when the primary config, the\n"
	    "                             conf dir or the token change; SIGTERM exits and leaves\n"
	    "                             the last good config in place\n"
	    "  -h, --help                 this help\n"
	    "\n"
	    "Exit status: 0 written or up to date, 1 an error (the old files stay), 2 usage.\n"
	    "See plexus-generate-config(1).\n",
	    out);
}

enum {
	OPT_CONF_DIR = 256,
	OPT_CONF_FILE,
	OPT_MASTER,
	OPT_KC_OUT,
	OPT_KC_HOST,
	OPT_NO_KC,
	OPT_SA_DIR,
	OPT_ISOLATION,
	OPT_GLOBAL_NS,
	OPT_LOG_LEVEL,
	OPT_LOG_FILE,
	OPT_READINESS,
	OPT_CNI_VERSION,
	OPT_CNI_DIR,
	OPT_BIN_DIR,
	OPT_ONCE,
	OPT_WATCH,
};

static const struct option gen_options[] = {
	{ "cni-conf-dir", required_argument, NULL, OPT_CONF_DIR },
	{ "plexus-conf-file", required_argument, NULL, OPT_CONF_FILE },
	{ "master-cni-file", required_argument, NULL, OPT_MASTER },
	{ "kubeconfig-out", required_argument, NULL, OPT_KC_OUT },
	{ "kubeconfig-host", required_argument, NULL, OPT_KC_HOST },
	{ "no-kubeconfig", no_argument, NULL, OPT_NO_KC },
	{ "sa-dir", required_argument, NULL, OPT_SA_DIR },
	{ "namespace-isolation", no_argument, NULL, OPT_ISOLATION },
	{ "global-namespaces", required_argument, NULL, OPT_GLOBAL_NS },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "readiness-indicator-file", required_argument, NULL, OPT_READINESS },
	{ "cni-version", required_argument, NULL, OPT_CNI_VERSION },
	{ "cni-dir", required_argument, NULL, OPT_CNI_DIR },
	{ "bin-dir", required_argument, NULL, OPT_BIN_DIR },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, const char *arg)
{
	fputs("plexus generate-config: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see plexus generate-config --help)\n", stderr);
	return 2;
}

/* The runtime resolves paths from its own working directory: make every one absolute. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

struct watch {
	int ifd;
	int sfd;
	const char *dirs[4];
	int wd[4];
	size_t n;
};

static void watch_dirs(struct watch *w)
{
	const uint32_t mask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
			      IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

	/* a directory that appears later (or was replaced) is picked up on the next pass */
	for (size_t i = 0; i < w->n; i++)
		if (w->wd[i] < 0)
			w->wd[i] = inotify_add_watch(w->ifd, w->dirs[i], mask);
}

/* Drains what is queued; forgets watches whose directory went away. */
static void drain(struct watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				for (size_t i = 0; i < w->n; i++)
					if (w->wd[i] == ev->wd) {
						inotify_rm_watch(w->ifd, w->wd[i]);
						w->wd[i] = -1;
					}
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* One pass in watch mode: a warning is said once, an error every time (it is still wrong). */
static void watch_pass(const struct meta_gen_opts *o, char **last_warn)
{
	struct cni_err err = { 0 };
	char *warn_text = NULL;
	size_t warn_len = 0;
	FILE *warn = open_memstream(&warn_text, &warn_len);

	if (meta_gen_once(o, warn, &err) < 0)
		fprintf(stderr, "plexus generate-config: %s\n", err.msg);
	cni_err_clear(&err);
	if (warn)
		fclose(warn);
	if (warn_text && (!*last_warn || strcmp(*last_warn, warn_text) != 0))
		fputs(warn_text, stderr);
	free(*last_warn);
	*last_warn = warn_text;
	fflush(stdout);
	fflush(stderr);
}

static int watch_loop(struct meta_gen_opts *o, const char *master_dir, const char *file_dir)
{
	struct watch w = { .ifd = -1, .sfd = -1 };
	char *last_warn = NULL;
	sigset_t mask;
	int ret = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (w.sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    (w.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		fprintf(stderr, "plexus generate-config: cannot watch: %s\n", strerror(errno));
		goto out;
	}
	w.dirs[w.n++] = o->conf_dir;
	if (!o->no_kubeconfig)
		w.dirs[w.n++] = o->sa_dir;
	if (master_dir)
		w.dirs[w.n++] = master_dir;
	if (file_dir)
		w.dirs[w.n++] = file_dir;
	for (size_t i = 0; i < w.n; i++)
		w.wd[i] = -1;
	o->report_unchanged = false;
	printf("plexus generate-config: watching %s%s%s\n", o->conf_dir,
	       o->no_kubeconfig ? "" : " and ", o->no_kubeconfig ? "" : o->sa_dir);
	for (;;) {
		struct pollfd p[2] = { { .fd = w.sfd, .events = POLLIN },
				       { .fd = w.ifd, .events = POLLIN } };
		int r;

		watch_dirs(&w);
		watch_pass(o, &last_warn);
		r = poll(p, 2, RESYNC_MS);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "plexus generate-config: poll: %s\n", strerror(errno));
			goto out;
		}
		if (r > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(w.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    si.ssi_signo != SIGHUP) {
				/* Multus deletes its config here; then pods scheduled while we are
				 * away silently get only the cluster network. The last good config
				 * stays: plexus keeps working without this process. */
				printf(
				    "plexus generate-config: %s: exiting; the last good config in "
				    "%s stays in place\n",
				    strsignal((int)si.ssi_signo), o->conf_dir);
				ret = 0;
				goto out;
			}
		}
		if (r > 0 && (p[1].revents & POLLIN)) {
			struct pollfd q = { .fd = w.ifd, .events = POLLIN };

			int rounds = 0;

			/* a writer that never stops must not starve regeneration: 2 s at most */
			do
				drain(&w);
			while (++rounds < 2000 / SETTLE_MS && poll(&q, 1, SETTLE_MS) > 0);
		}
	}
out:
	free(last_warn);
	if (w.ifd >= 0)
		close(w.ifd);
	if (w.sfd >= 0)
		close(w.sfd);
	return ret;
}

int meta_genconfig_cmd(int argc, char **argv)
{
	struct meta_gen_opts o = { .sa_dir = META_GEN_SA_DIR,
				   .report = stdout,
				   .report_unchanged = true };
	const char *conf_dir = META_GEN_CONF_DIR, *kc_out = NULL, *kc_host = NULL;
	char *abs_dir = NULL, *abs_kc = NULL, *abs_host = NULL, *abs_file = NULL;
	char *abs_master = NULL, *abs_sa = NULL, *master_dir = NULL, *file_dir = NULL;
	struct cni_err err = { 0 };
	bool watch = false, once = false;
	int c, ret = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", gen_options, NULL)) != -1) {
		switch (c) {
		case OPT_CONF_DIR:
			conf_dir = optarg;
			break;
		case OPT_CONF_FILE:
			o.conf_file = strcmp(optarg, "auto") == 0 ? NULL : optarg;
			break;
		case OPT_MASTER:
			o.master = optarg;
			break;
		case OPT_KC_OUT:
			kc_out = optarg;
			break;
		case OPT_KC_HOST:
			kc_host = optarg;
			break;
		case OPT_NO_KC:
			o.no_kubeconfig = true;
			break;
		case OPT_SA_DIR:
			o.sa_dir = optarg;
			break;
		case OPT_ISOLATION:
			o.namespace_isolation = true;
			break;
		case OPT_GLOBAL_NS:
			o.global_namespaces = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (cni_log_level_parse(optarg) < 0)
				return usage_error("--log-level \"%s\": use panic, error, verbose "
						   "or debug",
						   optarg);
			o.log_level = optarg;
			break;
		case OPT_LOG_FILE:
			o.log_file = optarg;
			break;
		case OPT_READINESS:
			o.readiness_file = optarg;
			break;
		case OPT_CNI_VERSION:
			if (!cni_version_supported(optarg))
				return usage_error("--cni-version \"%s\" is not a supported CNI "
						   "version",
						   optarg);
			o.cni_version = optarg;
			break;
		case OPT_CNI_DIR:
			o.cni_dir = optarg;
			break;
		case OPT_BIN_DIR:
			o.bin_dir = optarg;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_WATCH:
			watch = true;
			break;
		case 'h':
			meta_genconfig_usage(stdout);
			return 0;
		case ':':
			return usage_error("option \"%s\" needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument \"%s\"", argv[optind]);
	if (once && watch)
		return usage_error("%s", "--once and --watch exclude each other");
	if (!*conf_dir || (kc_out && !*kc_out) || (o.master && !*o.master) ||
	    (o.conf_file && !*o.conf_file) || !*o.sa_dir)
		return usage_error("%s", "an option has an empty value");
	if (kc_host && kc_host[0] != '/')
		return usage_error("--kubeconfig-host \"%s\" must be an absolute path", kc_host);
	if (o.log_file && o.log_file[0] != '/')
		return usage_error("--log-file \"%s\" must be an absolute path", o.log_file);
	if (o.readiness_file && o.readiness_file[0] != '/')
		return usage_error("--readiness-indicator-file \"%s\" must be an absolute path",
				   o.readiness_file);
	if (o.cni_dir && o.cni_dir[0] != '/')
		return usage_error("--cni-dir \"%s\" must be an absolute path", o.cni_dir);
	if (o.bin_dir && o.bin_dir[0] != '/')
		return usage_error("--bin-dir \"%s\" must be an absolute path", o.bin_dir);

	abs_dir = absolute(conf_dir);
	abs_sa = absolute(o.sa_dir);
	if (kc_out)
		abs_kc = absolute(kc_out);
	else if (abs_dir && asprintf(&abs_kc, "%s/%s", abs_dir, META_GEN_KUBECONFIG) < 0)
		abs_kc = NULL;
	if (o.conf_file)
		abs_file = absolute(o.conf_file);
	if (o.master && strchr(o.master, '/'))
		abs_master = absolute(o.master);
	abs_host = strdup(kc_host ? kc_host : abs_kc ? abs_kc : "");
	if (!abs_dir || !abs_sa || !abs_kc || !abs_host || (o.conf_file && !abs_file) ||
	    (o.master && strchr(o.master, '/') && !abs_master)) {
		fprintf(stderr, "plexus generate-config: out of memory\n");
		goto out;
	}
	o.conf_dir = abs_dir;
	o.sa_dir = abs_sa;
	o.kubeconfig_out = abs_kc;
	o.kubeconfig_host = abs_host;
	if (abs_file)
		o.conf_file = abs_file;
	if (abs_master)
		o.master = abs_master;

	if (watch) {
		/* the primary or the hand-written file may live outside the conf dir */
		if (abs_master)
			master_dir = dir_of(abs_master);
		if (abs_file)
			file_dir = dir_of(abs_file);
		ret = watch_loop(&o, master_dir, file_dir);
		goto out;
	}
	if (meta_gen_once(&o, stderr, &err) < 0) {
		fprintf(stderr, "plexus generate-config: %s\n", err.msg);
		goto out;
	}
	ret = 0;
out:
	cni_err_clear(&err);
	free(abs_dir);
	free(abs_sa);
	free(abs_kc);
	free(abs_host);
	free(abs_file);
	free(abs_master);
	free(master_dir);
	free(file_dir);
	return ret;
}

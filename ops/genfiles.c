/* ops/genfiles.c: one pass of generate-config: the primary chosen as libcni would choose it,
 * the inputs read, the outputs written atomically and only when their bytes change. */
#include "ops/genfiles.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cni/file.h"
#include "cni/log.h"

#define CONF_MAX_BYTES	(1u << 20)
#define TOKEN_MAX_BYTES (1u << 20)

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool ops_gen_is_candidate(const char *name)
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

char *ops_gen_find_primary(const char *dir, struct cni_err *err)
{
	struct dirent **list = NULL;
	char *found = NULL;
	int n = scan(dir, &list, err);

	if (n < 0)
		return NULL;
	for (int i = 0; i < n && !found; i++)
		if (ops_gen_is_candidate(list[i]->d_name) && !is_dir_at(dir, list[i]->d_name))
			found = strdup(list[i]->d_name);
	free_scan(list, n);
	if (!found)
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "no CNI network config (.conf or .conflist) in %s", dir);
	return found;
}

/* Reads a file, following symlinks (kubelet's projected volumes and configmaps are symlinks),
 * its errors named by what ("service-account token: open <path>: ..."). NULL with errno ENOENT
 * and err untouched when it does not exist. */
static char *slurp(const char *path, const char *what, size_t max, unsigned flags, size_t *len,
		   struct cni_err *err)
{
	char *data = cni_read_file(path, max, CNI_FILE_FOLLOW | flags, len, err);

	if (!data && cni_err_isset(err))
		cni_err_prefix(err, "%s", what);
	return data;
}

/* 1 written, 0 unchanged (same bytes and mode 0600), -1 with err. Never writes nothing. */
static int write_if_changed(const char *path, const char *data, size_t len,
			    const struct ops_gen_opts *o, struct cni_err *err)
{
	struct cni_err ignored = { 0 };
	size_t old_len = 0;
	char *old = cni_read_file(path, CONF_MAX_BYTES, CNI_FILE_NOFOLLOW | CNI_FILE_WIPE, &old_len,
				  &ignored);
	struct stat st;
	bool same = old && old_len == len && memcmp(old, data, len) == 0 && lstat(path, &st) == 0 &&
		    (st.st_mode & 07777) == 0600;

	/* an unreadable old file is simply replaced; an old token is wiped like the new one */
	cni_err_clear(&ignored);
	cni_file_free_secret(old, old_len);
	if (same) {
		if (o->report && o->report_unchanged)
			fprintf(o->report, "unchanged %s\n", path);
		return 0;
	}
	if (len == 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, "refusing to write an empty %s", path);
	if (cni_write_atomic(path, data, len, 0600, CNI_WRITE_SHARED, err) < 0)
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

char *ops_gen_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static int gen_kubeconfig(const struct ops_gen_opts *o, struct cni_err *err)
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
	    asprintf(&ca_path, "%s/ca.crt", o->sa_dir) < 0 ||
	    !(dir = ops_gen_dir_of(o->kubeconfig_out)) ||
	    asprintf(&out_token, "%s/token", dir) < 0 || asprintf(&out_ca, "%s/ca.crt", dir) < 0) {
		cni_err_oom(err);
		goto out;
	}
	token = slurp(token_path, "service-account token", TOKEN_MAX_BYTES, CNI_FILE_WIPE,
		      &token_len, err);
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
	ca = slurp(ca_path, "service-account CA", TOKEN_MAX_BYTES, 0, &ca_len, err);
	if (!ca && cni_err_isset(err))
		goto out;
	server = ops_gen_server_url(host, port);
	kc = server ? ops_gen_kubeconfig(server, ca != NULL) : NULL;
	if (!kc) {
		cni_err_oom(err);
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
	cni_file_free_secret(token, token_len);
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

static char *primary_path(const struct ops_gen_opts *o, struct cni_err *err)
{
	char *name = NULL, *path = NULL;

	if (o->master && strchr(o->master, '/'))
		return strdup(o->master);
	name = o->master ? strdup(o->master) : ops_gen_find_primary(o->conf_dir, err);
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
	char *data = slurp(path, what, CONF_MAX_BYTES, 0, &len, err);

	if (!data) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO, "%s %s: No such file or directory", what,
				    path);
		return -1;
	}
	if (len == 0 || strspn(data, " \t\r\n") == len) {
		free(data);
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s %s is empty", what, path);
		return -1;
	}
	if (cni_conflist_parse(data, len, list, err) < 0) {
		free(data);
		cni_err_prefix(err, "%s %s", what, path);
		return -1;
	}
	if (bytes)
		*bytes = data;
	else
		free(data);
	return 0;
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

static int gen_netconf(const struct ops_gen_opts *o, FILE *warn, struct cni_err *err)
{
	struct cni_conflist primary = { 0 };
	char *path = NULL, *text = NULL, *out = NULL;
	const char *name = OPS_GEN_OUTPUT;
	int ret = -1;

	if (o->conf_file) {
		/* a hand-written plexus config: checked, then copied as it is */
		if (load_conf(o->conf_file, "plexus config", &primary, &text, err) < 0)
			return -1;
		name = primary.is_list ? OPS_GEN_OUTPUT : OPS_GEN_OUTPUT_CONF;
		cni_conflist_free(&primary);
	} else {
		path = primary_path(o, err);
		if (!path)
			return -1;
		if (load_conf(path, "primary CNI config", &primary, NULL, err) < 0)
			goto out;
		text = ops_gen_netconf(&primary, path, o, err);
		cni_conflist_free(&primary);
		if (!text)
			goto out;
	}
	if (asprintf(&out, "%s/%s", o->conf_dir, name) < 0) {
		out = NULL;
		cni_err_oom(err);
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

int ops_gen_once(const struct ops_gen_opts *o, FILE *warn, struct cni_err *err)
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

/* delegates/confdir.c: network configurations from files and directories.
 * Follows libcni ConfFiles (extensions .conf .conflist .json, sorted by name) and Multus's
 * clusterNetwork resolution (a value containing '/' is a path). */
#include "delegates/confdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cni/file.h"

#define CONF_MAX_BYTES (1u << 20)

static bool conf_ext(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot && (strcmp(dot, ".conf") == 0 || strcmp(dot, ".conflist") == 0 ||
		       strcmp(dot, ".json") == 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted malloc'd list of config file names in dir. */
static char **list_confs(const char *dir, size_t *n, struct cni_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;

	*n = 0;
	if (!d) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "cannot read directory %s: %s", dir,
			    strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		char **g;

		if (de->d_name[0] == '.' || !conf_ext(de->d_name))
			continue;
		g = realloc(names, (*n + 2) * sizeof(*names));
		if (!g)
			break;
		names = g;
		names[*n] = strdup(de->d_name);
		if (names[*n])
			(*n)++;
		names[*n] = NULL;
	}
	closedir(d);
	if (!names) {
		names = calloc(1, sizeof(*names));
		if (!names)
			cni_err_oom(err);
	}
	if (names)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int load_file(const char *path, struct cni_conflist *out, struct cni_err *err)
{
	size_t len = 0;
	char *data;
	int ret;

	errno = 0;
	data = cni_read_file(path, CONF_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	if (!data) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: no such file", path);
		err->code = CNI_ERR_INVALID_CONFIG;
		return -1;
	}
	ret = cni_conflist_parse(data, len, out, err);
	free(data);
	if (ret < 0)
		cni_err_prefix(err, "%s", path);
	return ret;
}

static int load_path(const char *path, struct cni_conflist *out, struct cni_err *err)
{
	struct stat st;
	char **names, *file = NULL;
	size_t n;
	int ret;

	if (stat(path, &st) < 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return load_file(path, out, err);
	names = list_confs(path, &n, err);
	if (!names)
		return -1;
	if (n == 0) {
		free_list(names, n);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no network configuration in %s",
				   path);
	}
	if (asprintf(&file, "%s/%s", path, names[0]) < 0) {
		free_list(names, n);
		return cni_err_oom(err);
	}
	free_list(names, n);
	ret = load_file(file, out, err);
	free(file);
	return ret;
}

int dlg_confdir_load(const char *ref, const char *conf_dir, struct cni_conflist *out,
		     struct cni_err *err)
{
	char **names;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!ref || !*ref)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "empty network reference");
	if (strchr(ref, '/'))
		return load_path(ref, out, err);
	names = list_confs(conf_dir, &n, err);
	if (!names)
		return cni_err_prefix(err, "network \"%s\"", ref);
	for (size_t i = 0; i < n; i++) {
		struct cni_err ignored = { 0 };
		char *file = NULL;

		if (asprintf(&file, "%s/%s", conf_dir, names[i]) < 0)
			continue;
		if (load_file(file, out, &ignored) == 0) {
			if (out->name && strcmp(out->name, ref) == 0) {
				free(file);
				free_list(names, n);
				return 0;
			}
			cni_conflist_free(out);
		}
		cni_err_clear(&ignored);
		free(file);
	}
	free_list(names, n);
	return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no network named \"%s\" in %s", ref,
			   conf_dir);
}

/* meta/auxchain.c: the auxiliary CNI chain, built from its directory into one attachment.
 * Follows Multus pkg/multus/multus.go CmdAdd (a passthru conflist named after the chain, its
 * plugins from the clusterNetwork's directory, added only when more than passthru was found)
 * and libcni ConfFiles (".conf" files only, sorted by name; a missing directory is empty). */
#include "meta/auxchain.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/log.h"

#define AUX_CONF_MAX_BYTES (1u << 20)

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the ".conf" files in dir (none when dir is missing), NULL-terminated. */
static char **conf_files(const char *dir, size_t *n, struct cni_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = calloc(1, sizeof(*names));

	*n = 0;
	if (!names) {
		if (d)
			closedir(d);
		cni_err_oom(err);
		return NULL;
	}
	if (!d) {
		if (errno == ENOENT)
			return names;
		free(names);
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "auxiliary chain: cannot read %s: %s", dir,
			    strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char **g;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		g = realloc(names, (*n + 2) * sizeof(*names));
		if (!g || !(g[*n] = strdup(de->d_name))) {
			names = g ? g : names;
			names[*n] = NULL;
			closedir(d);
			for (size_t i = 0; i < *n; i++)
				free(names[i]);
			free(names);
			cni_err_oom(err);
			return NULL;
		}
		names = g;
		names[++(*n)] = NULL;
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), by_name);
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* Appends the plugin configuration in file to plugins. */
static int add_plugin(cJSON *plugins, const char *file, struct cni_err *err)
{
	size_t len = 0;
	char *text;
	cJSON *p;
	const cJSON *type;

	errno = 0;
	text = cni_read_file(file, AUX_CONF_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	if (!text)
		return cni_err_isset(err)
			   ? -1
			   : cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: no such file", file);
	p = cni_json_parse(text, len, file, err);
	free(text);
	if (!p)
		return -1;
	type = cJSON_GetObjectItemCaseSensitive(p, "type");
	if (!cJSON_IsObject(p) || !cJSON_IsString(type) || !*type->valuestring) {
		cJSON_Delete(p);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "auxiliary chain: %s: a plugin configuration needs a \"type\"",
				   file);
	}
	return cJSON_AddItemToArray(plugins, p) ? 0 : cni_err_oom(err);
}

int meta_aux_chain_add(struct meta_plan *plan, const struct meta_netconf *nc, struct cni_err *err)
{
	const char *chain = nc->aux_chain_name, *cn = nc->cluster_network, *slash;
	cJSON *list = NULL, *plugins, *passthru;
	char *dir = NULL, *text = NULL;
	char **names = NULL;
	size_t n = 0;
	int ret = -1;

	if (!chain || !*chain)
		return 0;
	slash = cn ? strrchr(cn, '/') : NULL;
	if (!slash) {
		log_verbose("auxiliaryCNIChainName \"%s\" without a clusterNetwork path: no "
			    "auxiliary chain",
			    chain);
		return 0;
	}
	/* Go's filepath.Dir: "/x" is in "/" */
	if (asprintf(&dir, "%.*s/%s", (int)(slash - cn), cn, chain) < 0)
		return cni_err_oom(err);
	names = conf_files(dir, &n, err);
	if (!names)
		goto out;
	if (n == 0) {
		log_verbose("auxiliary chain %s: no plugin in %s", chain, dir);
		ret = 0;
		goto out;
	}
	list = cJSON_CreateObject();
	if (!list || !cJSON_AddStringToObject(list, "cniVersion", nc->cni_version) ||
	    !cJSON_AddStringToObject(list, "name", chain) ||
	    !(plugins = cJSON_AddArrayToObject(list, "plugins")) ||
	    !(passthru = cJSON_CreateObject()) || !cJSON_AddItemToArray(plugins, passthru) ||
	    !cJSON_AddStringToObject(passthru, "type", "passthru")) {
		cni_err_oom(err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *file = NULL;

		if (asprintf(&file, "%s/%s", dir, names[i]) < 0) {
			cni_err_oom(err);
			goto out;
		}
		ret = add_plugin(plugins, file, err);
		free(file);
		if (ret < 0)
			goto out;
	}
	text = cJSON_PrintUnformatted(list);
	ret = text ? meta_plan_add(plan, text, strlen(text), NULL, err) : cni_err_oom(err);
out:
	free(text);
	cJSON_Delete(list);
	free_names(names, n);
	free(dir);
	return ret;
}

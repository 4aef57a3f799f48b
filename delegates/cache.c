/* delegates/cache.c: libcni's cniCacheV1 result cache.
 * Follows libcni api.go cacheAdd/getCachedResult (layout and JSON), written by cni/file.c. */
#include "delegates/cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/base64.h"
#include "cni/file.h"
#include "cni/json.h"

#define CACHE_MAX_BYTES (16u << 20)

char *dlg_cache_path(const char *cache_dir, const char *net, const char *container_id,
		     const char *ifname)
{
	char *p = NULL;

	if (asprintf(&p, "%s/results/%s-%s-%s", cache_dir, net, container_id, ifname) < 0)
		return NULL;
	return p;
}

int dlg_cache_entry_make(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const char *netns, const struct cni_kv *args,
			 size_t nargs, const cJSON *cap_args, const char *config, size_t config_len,
			 const cJSON *result, struct dlg_cache_entry *out, struct cni_err *err)
{
	cJSON *doc = cJSON_CreateObject(), *a;
	char *b = NULL;

	memset(out, 0, sizeof(*out));
	if (!doc)
		goto oom;
	b = cni_base64_encode(config, config_len);
	if (!b)
		goto oom;
	/* libcni's field order: kind, containerId, config, ifName, networkName, netns, cniArgs,
	 * capabilityArgs, result */
	cJSON_AddStringToObject(doc, "kind", "cniCacheV1");
	cJSON_AddStringToObject(doc, "containerId", container_id);
	cJSON_AddStringToObject(doc, "config", b);
	cJSON_AddStringToObject(doc, "ifName", ifname);
	cJSON_AddStringToObject(doc, "networkName", net);
	if (netns && *netns)
		cJSON_AddStringToObject(doc, "netns", netns);
	if (nargs) {
		a = cJSON_AddArrayToObject(doc, "cniArgs");
		for (size_t i = 0; a && i < nargs; i++) {
			const char *kv[2] = { args[i].key, args[i].value };

			cJSON_AddItemToArray(a, cJSON_CreateStringArray(kv, 2));
		}
	}
	if (cJSON_IsObject(cap_args) && cap_args->child)
		cJSON_AddItemToObject(doc, "capabilityArgs", cJSON_Duplicate(cap_args, true));
	if (result)
		cJSON_AddItemToObject(doc, "result", cJSON_Duplicate(result, true));
	out->text = cni_json_print_go(doc, false);
	out->path = dlg_cache_path(cache_dir, net, container_id, ifname);
	if (!out->text || !out->path || asprintf(&out->dir, "%s/results", cache_dir) < 0) {
		out->dir = NULL;
		dlg_cache_entry_free(out);
		goto oom;
	}
	cJSON_Delete(doc);
	free(b);
	return 0;
oom:
	cJSON_Delete(doc);
	free(b);
	cni_err_oom(err);
	return -1;
}

int dlg_cache_entry_write(const struct dlg_cache_entry *e, struct cni_err *err)
{
	if (cni_mkdir_p(e->dir, 0700, err) < 0)
		return -1;
	/* libcni's own WriteFile is not synced either; losing it only costs DEL its prevResult */
	return cni_write_replace(e->path, e->text, strlen(e->text), 0600, CNI_WRITE_LOCKED, err);
}

void dlg_cache_entry_free(struct dlg_cache_entry *e)
{
	free(e->dir);
	free(e->path);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

int dlg_cache_write(const char *cache_dir, const char *net, const char *container_id,
		    const char *ifname, const char *netns, const struct cni_kv *args, size_t nargs,
		    const cJSON *cap_args, const char *config, size_t config_len,
		    const cJSON *result, struct cni_err *err)
{
	struct dlg_cache_entry e;
	int ret;

	if (dlg_cache_entry_make(cache_dir, net, container_id, ifname, netns, args, nargs, cap_args,
				 config, config_len, result, &e, err) < 0)
		return -1;
	ret = dlg_cache_entry_write(&e, err);
	dlg_cache_entry_free(&e);
	return ret;
}

static const char *str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills out from a file's text; 0 when it is a valid entry, -1 otherwise. */
static int parse_entry(char *path, const char *text, size_t len, struct dlg_cached *out,
		       struct cni_err *err)
{
	const char *kind, *config;
	cJSON *doc = cni_json_parse(text, len, path, err);

	memset(out, 0, sizeof(*out));
	if (!doc)
		return -1;
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return cni_err_set(err, CNI_ERR_DECODE, "%s: not a JSON object", path);
	}
	out->doc = doc;
	out->path = path;
	kind = str_field(doc, "kind");
	if (!kind) { /* legacy: the bare result */
		out->result = doc;
		return 0;
	}
	if (strcmp(kind, "cniCacheV1") != 0) {
		cni_err_set(err, CNI_ERR_DECODE, "%s: cache entry has wrong kind: %s", path, kind);
		goto bad;
	}
	out->container_id = str_field(doc, "containerId");
	out->ifname = str_field(doc, "ifName");
	out->network_name = str_field(doc, "networkName");
	out->netns = str_field(doc, "netns");
	config = str_field(doc, "config");
	if (config) {
		out->config = cni_base64_decode(config, &out->config_len);
		if (!out->config) {
			cni_err_set(err, CNI_ERR_DECODE, "%s: config is not base64", path);
			goto bad;
		}
	}
	out->cni_args = cJSON_GetObjectItemCaseSensitive(doc, "cniArgs");
	out->capability_args = cJSON_GetObjectItemCaseSensitive(doc, "capabilityArgs");
	out->result = cJSON_GetObjectItemCaseSensitive(doc, "result");
	if (out->result && !cJSON_IsObject(out->result))
		out->result = NULL;
	return 0;
bad:
	/* on failure path stays the caller's to free */
	out->path = NULL;
	dlg_cached_free(out);
	return -1;
}

int dlg_cache_read(const char *cache_dir, const char *net, const char *container_id,
		   const char *ifname, struct dlg_cached *out, struct cni_err *err)
{
	char *path = dlg_cache_path(cache_dir, net, container_id, ifname), *text;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (!path)
		return cni_err_oom(err);
	errno = 0;
	text = cni_read_file(path, CACHE_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	if (!text) {
		free(path);
		return errno == ENOENT && !cni_err_isset(err) ? 0 : -1;
	}
	if (parse_entry(path, text, len, out, err) < 0) {
		free(path);
		free(text);
		return -1;
	}
	free(text);
	return 1;
}

int dlg_cache_list(const char *cache_dir, const char *net, struct dlg_cached **out, size_t *n,
		   struct cni_err *err)
{
	char *dir = NULL;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (asprintf(&dir, "%s/results", cache_dir) < 0)
		return cni_err_oom(err);
	d = opendir(dir);
	if (!d) {
		int e = errno;

		free(dir);
		if (e == ENOENT)
			return 0;
		return cni_err_set(err, CNI_ERR_IO, "open %s/results: %s", cache_dir, strerror(e));
	}
	while ((de = readdir(d))) {
		struct cni_err ignored = { 0 };
		struct dlg_cached c, *grown;
		char *path = NULL, *text;
		size_t len = 0;

		if (de->d_name[0] == '.' || cni_is_temporary_name(de->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			continue;
		text = cni_read_file(path, CACHE_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, &ignored);
		if (!text || parse_entry(path, text, len, &c, &ignored) < 0) {
			free(path);
			free(text);
			cni_err_clear(&ignored);
			continue;
		}
		free(text);
		if (!c.container_id || !c.ifname || !c.network_name ||
		    (net && strcmp(c.network_name, net) != 0)) {
			dlg_cached_free(&c);
			continue;
		}
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown) {
			dlg_cached_free(&c);
			break;
		}
		*out = grown;
		(*out)[(*n)++] = c;
	}
	closedir(d);
	free(dir);
	return 0;
}

const char *dlg_cached_arg(const struct dlg_cached *c, const char *key)
{
	const cJSON *kv;

	if (!cJSON_IsArray(c->cni_args))
		return NULL;
	cJSON_ArrayForEach(kv, c->cni_args)
	{
		const cJSON *k = cJSON_GetArrayItem(kv, 0), *v = cJSON_GetArrayItem(kv, 1);

		if (cJSON_IsArray(kv) && cJSON_GetArraySize(kv) == 2 && cJSON_IsString(k) &&
		    cJSON_IsString(v) && strcmp(k->valuestring, key) == 0)
			return v->valuestring;
	}
	return NULL;
}

/* An entry's document with its result replaced, printed as written; NULL out of memory. */
static char *with_result(cJSON *doc, const cJSON *result)
{
	if (cni_json_set(doc, "result", cJSON_Duplicate(result, true)) < 0)
		return NULL;
	return cni_json_print_go(doc, false);
}

int dlg_cache_set_result(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const cJSON *result, struct cni_err *err)
{
	struct dlg_cached c;
	char *text;
	int found, ret;

	found = dlg_cache_read(cache_dir, net, container_id, ifname, &c, err);
	if (found <= 0)
		return found == 0 ? cni_err_set(err, CNI_ERR_IO, "no cached result for %s-%s-%s",
						net, container_id, ifname)
				  : -1;
	text = with_result(c.doc, result);
	ret = text ? cni_write_replace(c.path, text, strlen(text), 0600, CNI_WRITE_LOCKED, err)
		   : cni_err_oom(err);
	free(text);
	dlg_cached_free(&c);
	return ret;
}

int dlg_cache_entry_set_result(struct dlg_cache_entry *e, const cJSON *result, struct cni_err *err)
{
	cJSON *doc = cni_json_parse(e->text, strlen(e->text), e->path, err);
	char *text;

	if (!doc)
		return -1;
	text = with_result(doc, result);
	cJSON_Delete(doc);
	if (!text)
		return cni_err_oom(err);
	free(e->text);
	e->text = text;
	return 0;
}

void dlg_cached_free(struct dlg_cached *c)
{
	free(c->path);
	free(c->config);
	cJSON_Delete(c->doc);
	memset(c, 0, sizeof(*c));
}

void dlg_cached_free_all(struct dlg_cached *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dlg_cached_free(&c[i]);
	free(c);
}

/* cni/config.c: conf and conflist loading, and libcni's per-plugin config derivation.
 * Follows libcni conf.go/api.go: injected name, cniVersion, prevResult, capability runtimeConfig. */
#include "cni/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/spec.h"

static int check_plugin(const cJSON *p, size_t idx, bool is_list, struct cni_err *err)
{
	const char *type = NULL, *s = NULL;
	const cJSON *caps = NULL, *ipam = NULL, *c;
	char ctx[64];

	if (is_list)
		snprintf(ctx, sizeof(ctx), "plugins[%zu]", idx);
	else
		snprintf(ctx, sizeof(ctx), "network configuration");
	if (!cJSON_IsObject(p))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s must be an object", ctx);
	if (cni_json_get_string(p, "type", &type, ctx, err) < 0)
		return -1;
	if (!type || !*type)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: missing 'type'", ctx);
	if (!is_list && (cni_json_get_string(p, "name", &s, ctx, err) < 0 ||
			 cni_json_get_string(p, "cniVersion", &s, ctx, err) < 0))
		return -1;
	if (cni_json_get_object(p, "capabilities", &caps, ctx, err) < 0)
		return -1;
	cJSON_ArrayForEach(c, caps)
	{
		if (!cJSON_IsBool(c))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: capabilities.\"%s\" must be a boolean", ctx,
					   c->string);
	}
	if (cni_json_get_object(p, "ipam", &ipam, ctx, err) < 0)
		return -1;
	if (ipam && cni_json_get_string(ipam, "type", &s, ctx, err) < 0)
		return cni_err_prefix(err, "ipam");
	return 0;
}

/* libcni ignores cniVersions entries it does not implement and picks the highest. */
static char *choose_version(const char *version, const cJSON *versions)
{
	const char *best = NULL;
	const cJSON *v;

	if (version && cni_version_supported(version))
		best = version;
	cJSON_ArrayForEach(v, versions)
	{
		if (!cni_version_supported(v->valuestring))
			continue;
		if (!best || cni_version_cmp(v->valuestring, best, NULL) > 0)
			best = v->valuestring;
	}
	if (!best)
		best = version ? version : "";
	return strdup(best);
}

int cni_conflist_parse(const char *data, size_t len, struct cni_conflist *out, struct cni_err *err)
{
	const cJSON *plugins = NULL, *versions = NULL, *v;
	const char *version = NULL;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	out->root = cni_json_parse(data, len, "error parsing configuration", err);
	if (!out->root)
		return -1;
	if (!cJSON_IsObject(out->root)) {
		cni_err_set(err, CNI_ERR_DECODE, "error parsing configuration: not a JSON object");
		goto fail;
	}
	out->bytes = malloc(len + 1);
	if (!out->bytes) {
		cni_err_oom(err);
		goto fail;
	}
	memcpy(out->bytes, data, len);
	out->bytes[len] = '\0';
	out->len = len;
	out->is_list = cJSON_HasObjectItem(out->root, "plugins");

	if (cni_json_get_string(out->root, "name", &out->name, "network configuration", err) < 0 ||
	    cni_json_get_string(out->root, "cniVersion", &version, "network configuration", err) <
		0 ||
	    cni_json_get_bool(out->root, "disableCheck", &out->disable_check,
			      "network configuration", err) < 0 ||
	    cni_json_get_bool(out->root, "disableGC", &out->disable_gc, "network configuration",
			      err) < 0 ||
	    cni_json_get_array(out->root, "cniVersions", &versions, "network configuration", err) <
		0)
		goto fail;
	cJSON_ArrayForEach(v, versions)
	{
		if (!cJSON_IsString(v)) {
			cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "network configuration: \"cniVersions\" must be an array of strings");
			goto fail;
		}
	}
	out->cni_version = choose_version(version, versions);
	if (!out->cni_version) {
		cni_err_oom(err);
		goto fail;
	}

	if (!out->is_list) {
		if (check_plugin(out->root, 0, false, err) < 0)
			goto fail;
		out->plugins = malloc(sizeof(*out->plugins));
		if (!out->plugins) {
			cni_err_oom(err);
			goto fail;
		}
		out->plugins[0] = out->root;
		out->nplugins = 1;
		return 0;
	}

	if (!out->name) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "error parsing configuration list: no name");
		goto fail;
	}
	if (cni_json_get_array(out->root, "plugins", &plugins, "network configuration list", err) <
	    0)
		goto fail;
	if (!plugins || cJSON_GetArraySize(plugins) == 0) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "error parsing configuration list: no plugins in list");
		goto fail;
	}
	out->nplugins = (size_t)cJSON_GetArraySize(plugins);
	out->plugins = calloc(out->nplugins, sizeof(*out->plugins));
	if (!out->plugins) {
		cni_err_oom(err);
		goto fail;
	}
	cJSON_ArrayForEach(v, plugins)
	{
		if (check_plugin(v, i, true, err) < 0)
			goto fail;
		out->plugins[i++] = v;
	}
	return 0;
fail:
	cni_conflist_free(out);
	return -1;
}

void cni_conflist_free(struct cni_conflist *list)
{
	cJSON_Delete(list->root);
	free(list->bytes);
	free(list->cni_version);
	free(list->plugins);
	memset(list, 0, sizeof(*list));
}

const char *cni_plugin_type(const cJSON *plugin)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(plugin, "type");

	return cJSON_IsString(t) ? t->valuestring : "";
}

cJSON *cni_plugin_runtime_config(const cJSON *plugin, const cJSON *cap_args)
{
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(plugin, "capabilities"), *c;
	cJSON *rc = NULL;

	if (!cJSON_IsObject(caps) || !cJSON_IsObject(cap_args))
		return NULL;
	cJSON_ArrayForEach(c, caps)
	{
		const cJSON *v;

		if (!cJSON_IsTrue(c) || !c->string)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(cap_args, c->string);
		if (!v || cJSON_GetObjectItemCaseSensitive(rc, c->string))
			continue;
		if (!rc)
			rc = cJSON_CreateObject();
		if (!rc || !cJSON_AddItemToObject(rc, c->string, cJSON_Duplicate(v, true))) {
			cJSON_Delete(rc);
			return NULL;
		}
	}
	return rc;
}

char *cni_conflist_plugin_stdin(const struct cni_conflist *list, size_t i, const cJSON *prev_result,
				const cJSON *cap_args, const cJSON *extra, struct cni_err *err)
{
	const char *name = list->name ? list->name : "";
	cJSON *conf, *rc;
	const cJSON *e;
	char *out = NULL;

	if (i >= list->nplugins) {
		cni_err_set(err, CNI_ERR_INTERNAL, "plugin index %zu out of range", i);
		return NULL;
	}
	conf = cJSON_Duplicate(list->plugins[i], true);
	if (!conf)
		goto oom;
	if (cni_json_set(conf, "name", cJSON_CreateString(name)) < 0 ||
	    cni_json_set(conf, "cniVersion", cJSON_CreateString(list->cni_version)) < 0)
		goto oom;
	if (prev_result && cni_json_set(conf, "prevResult", cJSON_Duplicate(prev_result, true)) < 0)
		goto oom;
	rc = cni_plugin_runtime_config(list->plugins[i], cap_args);
	if (rc && cni_json_set(conf, "runtimeConfig", rc) < 0)
		goto oom;
	cJSON_ArrayForEach(e, extra)
	{
		if (cni_json_set(conf, e->string, cJSON_Duplicate(e, true)) < 0)
			goto oom;
	}
	/* libcni re-decodes the config into a map when it injects runtimeConfig, so the typed
	 * prevResult loses its field order and comes out sorted like everything else. */
	out = rc ? cni_json_print_go(conf, true) : cni_json_print_conf(conf);
	if (!out)
		goto oom;
	cJSON_Delete(conf);
	return out;
oom:
	cJSON_Delete(conf);
	cni_err_oom(err);
	return NULL;
}

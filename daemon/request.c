/* daemon/request.c: the body of a /cni or /delegate request, parsed and bounded before anything
 * acts on it. Follows Multus pkg/server/api/api.go Request (env, config, interfaceAttributes). */
#include "daemon/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/base64.h"
#include "cni/json.h"

static bool env_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PXD_ENV_NAME_MAX)
		return false;
	return strchr(s, '=') == NULL;
}

static int parse_env(const cJSON *env, struct pxd_request *req, struct cni_err *err)
{
	const cJSON *e;
	size_t n = (size_t)cJSON_GetArraySize(env);

	if (n > PXD_ENV_MAX_ENTRIES)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "request: \"env\" has %zu entries, at most %d allowed", n,
				   PXD_ENV_MAX_ENTRIES);
	req->env = calloc(n + 1, sizeof(*req->env));
	if (!req->env)
		return cni_err_oom(err);
	cJSON_ArrayForEach(e, env)
	{
		if (!env_name_ok(e->string))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "request: \"env\" key \"%.64s\" is not a variable name",
					   e->string);
		if (!cJSON_IsString(e))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "request: \"env.%s\" must be a string", e->string);
		if (strlen(e->valuestring) > PXD_ENV_VALUE_MAX)
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "request: \"env.%s\" longer than %u bytes", e->string,
					   PXD_ENV_VALUE_MAX);
		for (size_t i = 0; i < req->nenv; i++) {
			const char *have = req->env[i];
			size_t klen = strlen(e->string);

			if (have && strncmp(have, e->string, klen) == 0 && have[klen] == '=')
				return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
						   "request: \"env.%s\" given twice", e->string);
		}
		if (asprintf(&req->env[req->nenv], "%s=%s", e->string, e->valuestring) < 0) {
			req->env[req->nenv] = NULL;
			return cni_err_oom(err);
		}
		if (strcmp(e->string, "CNI_COMMAND") == 0)
			req->command = req->env[req->nenv] + strlen("CNI_COMMAND=");
		req->nenv++;
	}
	return 0;
}

int pxd_request_parse(const char *body, size_t len, struct pxd_request *req, struct cni_err *err)
{
	const cJSON *k, *env = NULL, *config = NULL, *attrs = NULL;
	cJSON *root;

	memset(req, 0, sizeof(*req));
	if (len > PXD_BODY_MAX_BYTES)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "request: body of %zu bytes, at most %u allowed", len,
				   PXD_BODY_MAX_BYTES);
	root = cni_json_parse(body, len, "request: body", err);
	if (!root)
		return -1;
	if (!cJSON_IsObject(root)) {
		cni_err_set(err, CNI_ERR_DECODE, "request: body is not a JSON object");
		goto fail;
	}
	cJSON_ArrayForEach(k, root)
	{
		if (strcmp(k->string, "env") == 0)
			env = k;
		else if (strcmp(k->string, "config") == 0)
			config = k;
		else if (strcmp(k->string, "interfaceAttributes") == 0)
			attrs = k;
		else {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG, "request: unknown field \"%.64s\"",
				    k->string);
			goto fail;
		}
	}
	if (!env || !cJSON_IsObject(env)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "request: \"env\" %s",
			    env ? "must be an object" : "missing");
		goto fail;
	}
	if (!config || !cJSON_IsString(config)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "request: \"config\" %s",
			    config ? "must be a base64 string" : "missing");
		goto fail;
	}
	if (attrs && !cJSON_IsNull(attrs) && !cJSON_IsObject(attrs)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "request: \"interfaceAttributes\" must be an object");
		goto fail;
	}
	if (parse_env(env, req, err) < 0)
		goto fail;
	req->config = cni_base64_decode(config->valuestring, &req->config_len);
	if (!req->config) {
		cni_err_set(err, CNI_ERR_DECODE, "request: \"config\" is not valid base64");
		goto fail;
	}
	if (req->config_len > PXD_CONFIG_MAX_BYTES_DECODED) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "request: \"config\" of %zu bytes, at most %u allowed", req->config_len,
			    PXD_CONFIG_MAX_BYTES_DECODED);
		goto fail;
	}
	if (attrs && cJSON_IsObject(attrs)) {
		req->iface_attrs = cJSON_DetachItemViaPointer(root, (cJSON *)attrs);
	}
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(root);
	pxd_request_free(req);
	return -1;
}

void pxd_request_free(struct pxd_request *req)
{
	for (size_t i = 0; req->env && req->env[i]; i++)
		free(req->env[i]);
	free(req->env);
	free(req->config);
	cJSON_Delete(req->iface_attrs);
	memset(req, 0, sizeof(*req));
}

char *pxd_delegate_netconf(const struct pxd_request *req, size_t *len, struct cni_err *err)
{
	cJSON *cfg = cni_json_parse(req->config, req->config_len, "/delegate: config", err);
	cJSON *nc = NULL, *arr, *v;
	char *out = NULL;

	if (!cfg)
		return NULL;
	if (!cJSON_IsObject(cfg)) {
		cni_err_set(err, CNI_ERR_DECODE, "/delegate: config: not a JSON object");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(cfg, "cniVersion");
	nc = cJSON_CreateObject();
	if (!nc ||
	    !cJSON_AddStringToObject(nc, "cniVersion",
				     cJSON_IsString(v) ? v->valuestring : "1.0.0") ||
	    !cJSON_AddStringToObject(nc, "name", "plexus-delegate") ||
	    !cJSON_AddStringToObject(nc, "type", "plexus") ||
	    !(arr = cJSON_AddArrayToObject(nc, "delegates")))
		goto oom;
	cJSON_AddItemToArray(arr, cfg);
	cfg = NULL;
	if (req->iface_attrs && !cJSON_AddItemToObject(nc, "interfaceAttributes",
						       cJSON_Duplicate(req->iface_attrs, true)))
		goto oom;
	out = cJSON_PrintUnformatted(nc);
	if (!out)
		goto oom;
	*len = strlen(out);
	goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(cfg);
	cJSON_Delete(nc);
	return out;
}

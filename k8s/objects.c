/* k8s/objects.c: pod and NetworkAttachmentDefinition objects: metadata, isolation, UID rule, a
 * NAD's delegate config. Follows Multus pkg/k8sclient/k8sclient.go and the NAD client's
 * pkg/utils/cniconfig.go GetCNIConfigFromSpec; the confDir fallback for an empty spec.config is the
 * caller's (meta/nadconf.c). */
#include "k8s/objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"

#define SPEC_CONFIG_MAX (1u << 20)

/* --- pods: isolation, UID -------------------------------------------------------------- */

int k8s_check_namespace_isolation(const char *pod_ns, const char *target_ns,
				  const char *const *global, size_t n, struct cni_err *err)
{
	static const char *const implicit[] = { "default" };

	if (strcmp(pod_ns, target_ns) == 0)
		return 0;
	if (!global) {
		global = implicit;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (global[i] && strcmp(global[i], target_ns) == 0)
			return 0;
	return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			   "namespace isolation enabled, annotation violates permission, pod is in "
			   "namespace %s but refers to target namespace %s",
			   pod_ns, target_ns);
}

const char *k8s_object_meta(const cJSON *obj, const char *field)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *k8s_object_annotation(const cJSON *obj, const char *key)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(an, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool k8s_pod_is_static(const cJSON *pod)
{
	const char *src = k8s_object_annotation(pod, K8S_ANNOT_CONFIG_SOURCE);

	return src && strcmp(src, "api") != 0;
}

int k8s_pod_check_uid(const cJSON *pod, const char *want_uid, struct cni_err *err)
{
	const char *got = k8s_object_meta(pod, "uid");
	const char *ns = k8s_object_meta(pod, "namespace"), *name = k8s_object_meta(pod, "name");

	if (!want_uid || !want_uid[0] || (got && strcmp(got, want_uid) == 0) ||
	    k8s_pod_is_static(pod))
		return 0;
	return cni_err_set(err, CNI_ERR_INVALID_ENV,
			   "pod %s/%s: expected pod UID \"%s\" but got \"%s\" from Kube API",
			   ns ? ns : "", name ? name : "", want_uid, got ? got : "");
}

/* --- NADs ------------------------------------------------------------------------------ */

void k8s_nad_config_free(struct k8s_nad_config *c)
{
	free(c->config);
	free(c->resource_name);
	memset(c, 0, sizeof(*c));
}

int k8s_nad_delegate_config(const cJSON *nad, struct k8s_nad_config *out, struct cni_err *err)
{
	const char *name = k8s_object_meta(nad, "name"), *ns = k8s_object_meta(nad, "namespace");
	const char *rn = k8s_object_annotation(nad, K8S_ANNOT_RESOURCE_NAME);
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(nad, "spec");
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(spec, "config");
	const cJSON *cname;
	cJSON *conf = NULL;
	char ctx[600];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!name || !name[0] || strchr(name, '/'))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "network-attachment-definition: metadata.name is missing or "
				   "invalid");
	snprintf(ctx, sizeof(ctx), "network-attachment-definition %.253s/%.253s", ns ? ns : "",
		 name);
	if (config && !cJSON_IsString(config) && !cJSON_IsNull(config))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: spec.config must be a string",
				   ctx);
	if (rn && rn[0] && !(out->resource_name = strdup(rn)))
		goto oom;
	if (!config || !cJSON_IsString(config) || !config->valuestring[0]) {
		ret = 0; /* out->config NULL: no spec, the caller looks elsewhere */
		goto out;
	}
	if (strlen(config->valuestring) > SPEC_CONFIG_MAX) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: spec.config is bigger than %u bytes",
			    ctx, SPEC_CONFIG_MAX);
		goto out;
	}
	conf = cni_json_parse(config->valuestring, strlen(config->valuestring), "spec.config", err);
	if (!conf || !cJSON_IsObject(conf)) {
		if (conf)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "spec.config is not a JSON object");
		err->code = CNI_ERR_INVALID_CONFIG;
		cni_err_prefix(err, "%s: failed to unmarshal Spec.Config", ctx);
		goto out;
	}
	if (!cJSON_GetObjectItemCaseSensitive(conf, "type") &&
	    !cJSON_GetObjectItemCaseSensitive(conf, "plugins")) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: delegate must have the 'type' or 'plugin' field", ctx);
		goto out;
	}
	cname = cJSON_GetObjectItemCaseSensitive(conf, "name");
	if (cname && !cJSON_IsString(cname) && !cJSON_IsNull(cname)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: spec.config: \"name\" must be a string", ctx);
		goto out;
	}
	if (cname && cJSON_IsString(cname) && cname->valuestring[0]) {
		/* Kept byte for byte: the delegate gets exactly what the NAD says. */
		out->config = strdup(config->valuestring);
		if (!out->config)
			goto oom;
	} else {
		/* The NAD client re-marshals the map, so Go's sorted keys. */
		cJSON *n = cJSON_CreateString(name);

		if (!n || cni_json_set(conf, "name", n) < 0)
			goto oom;
		out->config = cni_json_print_go(conf, true);
		if (!out->config)
			goto oom;
	}
	out->len = strlen(out->config);
	ret = 0;
	goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(conf);
	if (ret < 0)
		k8s_nad_config_free(out);
	return ret;
}

cJSON *k8s_object_new(const char *api_version, const char *kind, const char *ns, const char *name,
		      const char *rv)
{
	cJSON *o = cJSON_CreateObject(), *md = NULL;

	if (o && cJSON_AddStringToObject(o, "apiVersion", api_version) &&
	    cJSON_AddStringToObject(o, "kind", kind) &&
	    (md = cJSON_AddObjectToObject(o, "metadata")) &&
	    (!ns || !*ns || cJSON_AddStringToObject(md, "namespace", ns)) &&
	    cJSON_AddStringToObject(md, "name", name) &&
	    (!rv || cJSON_AddStringToObject(md, "resourceVersion", rv)))
		return o;
	cJSON_Delete(o);
	return NULL;
}

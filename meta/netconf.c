/* meta/netconf.c: parse the plexus (Multus) netconf with Multus's defaults.
 * Follows Multus pkg/types/conf.go LoadNetConf: delegates or clusterNetwork required;
 * globalNamespaces split on ','. */
#include "meta/netconf.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/log.h"
#include "cni/result.h"
#include "cni/spec.h"

#define CTX "plexus netconf"

static int string_array(const cJSON *root, const char *key, const char ***out, size_t *n,
			struct cni_err *err)
{
	const cJSON *arr = NULL, *v;
	size_t i = 0;

	if (cni_json_get_array(root, key, &arr, CTX, err) < 0)
		return -1;
	if (!arr)
		return 0;
	*out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
	if (!*out)
		return cni_err_oom(err);
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   CTX ": \"%s\"[%zu] must be a string", key, i);
		(*out)[i++] = v->valuestring;
	}
	*n = i;
	return 0;
}

static int split_namespaces(const char *list, struct meta_netconf *nc, struct cni_err *err)
{
	const char *p = list;
	size_t cap = 4;

	nc->global_namespaces = calloc(cap + 1, sizeof(char *));
	if (!nc->global_namespaces)
		return cni_err_oom(err);
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *s = p;

		while (len && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (len) {
			if (nc->nglobal_namespaces == cap) {
				char **g =
				    realloc(nc->global_namespaces, (cap * 2 + 1) * sizeof(char *));

				if (!g)
					return cni_err_oom(err);
				nc->global_namespaces = g;
				cap *= 2;
			}
			nc->global_namespaces[nc->nglobal_namespaces] = strndup(s, len);
			if (!nc->global_namespaces[nc->nglobal_namespaces])
				return cni_err_oom(err);
			nc->global_namespaces[++nc->nglobal_namespaces] = NULL;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static int get_int(const cJSON *root, const char *key, int min, int max, int *out,
		   struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < min || v->valuedouble > max)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   CTX ": \"%s\" must be an integer from %d to %d", key, min, max);
	*out = (int)v->valuedouble;
	return 0;
}

/* ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$, the same as a CNI network name */
static int check_chain_name(const char *s, struct cni_err *err)
{
	struct cni_err e = { 0 };

	if (cni_validate_network_name(s, &e) < 0) {
		cni_err_clear(&e);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   CTX ": \"auxiliaryCNIChainName\" %s does not match "
				       "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$",
				   s);
	}
	return 0;
}

int meta_netconf_require_networks(const struct meta_netconf *nc, struct cni_err *err)
{
	if ((!nc->cluster_network || !*nc->cluster_network) &&
	    (!nc->delegates || cJSON_GetArraySize(nc->delegates) == 0))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "at least one delegate/clusterNetwork must be specified");
	return 0;
}

int meta_netconf_parse(const char *data, size_t len, struct meta_netconf *nc, struct cni_err *err)
{
	const char *global = NULL;
	const cJSON *type;
	cJSON *root;

	memset(nc, 0, sizeof(*nc));
	root = cni_json_parse(data, len, "LoadNetConf: failed to load netconf", err);
	if (!root)
		return -1;
	nc->root = root;
	if (!cJSON_IsObject(root)) {
		cni_err_set(err, CNI_ERR_DECODE,
			    "LoadNetConf: failed to load netconf: not an object");
		goto fail;
	}
	nc->cni_version = "";
	nc->conf_dir = META_DEFAULT_CONF_DIR;
	nc->cni_dir = META_DEFAULT_CNI_DIR;
	nc->bin_dir = META_DEFAULT_BIN_DIR;
	nc->log_to_stderr = true;
	nc->multus_namespace = META_DEFAULT_NAMESPACE;
	nc->readiness_timeout_s = META_DEFAULT_READINESS_TIMEOUT_S;
	nc->delegate_timeout_s = META_DEFAULT_DELEGATE_TIMEOUT_S;
	nc->pod_resources_socket = "/var/lib/kubelet/pod-resources/kubelet.sock";
	nc->device_info_dir = "/var/run/k8s.cni.cncf.io/devinfo";

	if (cni_json_get_string(root, "name", &nc->name, CTX, err) < 0 ||
	    cni_json_get_string(root, "cniVersion", &nc->cni_version, CTX, err) < 0 ||
	    cni_json_get_string(root, "kubeconfig", &nc->kubeconfig, CTX, err) < 0 ||
	    cni_json_get_string(root, "clusterNetwork", &nc->cluster_network, CTX, err) < 0 ||
	    string_array(root, "defaultNetworks", &nc->default_networks, &nc->ndefault_networks,
			 err) < 0 ||
	    cni_json_get_array(root, "delegates", &nc->delegates, CTX, err) < 0 ||
	    cni_json_get_string(root, "confDir", &nc->conf_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "cniDir", &nc->cni_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "binDir", &nc->bin_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "logFile", &nc->log_file, CTX, err) < 0 ||
	    cni_json_get_string(root, "logLevel", &nc->log_level, CTX, err) < 0 ||
	    cni_json_get_bool(root, "logToStderr", &nc->log_to_stderr, CTX, err) < 0 ||
	    cni_json_get_object(root, "logOptions", &nc->log_options, CTX, err) < 0 ||
	    cni_json_get_bool(root, "namespaceIsolation", &nc->namespace_isolation, CTX, err) < 0 ||
	    cni_json_get_string(root, "globalNamespaces", &global, CTX, err) < 0 ||
	    string_array(root, "systemNamespaces", &nc->system_namespaces, &nc->nsystem_namespaces,
			 err) < 0 ||
	    cni_json_get_string(root, "multusNamespace", &nc->multus_namespace, CTX, err) < 0 ||
	    cni_json_get_string(root, "readinessindicatorfile", &nc->readiness_file, CTX, err) <
		0 ||
	    cni_json_get_bool(root, "retryDeleteOnError", &nc->retry_delete_on_error, CTX, err) <
		0 ||
	    cni_json_get_string(root, "auxiliaryCNIChainName", &nc->aux_chain_name, CTX, err) < 0 ||
	    cni_json_get_object(root, "capabilities", &nc->capabilities, CTX, err) < 0 ||
	    cni_json_get_object(root, "runtimeConfig", &nc->runtime_config, CTX, err) < 0 ||
	    cni_json_get_object(root, "prevResult", &nc->prev_result, CTX, err) < 0 ||
	    get_int(root, "readinessTimeoutSeconds", 0, 3600, &nc->readiness_timeout_s, err) < 0 ||
	    get_int(root, "delegateTimeoutSeconds", 1, 3600, &nc->delegate_timeout_s, err) < 0 ||
	    cni_json_get_string(root, "podResourcesSocket", &nc->pod_resources_socket, CTX, err) <
		0 ||
	    cni_json_get_string(root, "deviceInfoDir", &nc->device_info_dir, CTX, err) < 0 ||
	    cni_json_get_bool(root, "addedInterfaceEvents", &nc->added_interface_events, CTX, err) <
		0)
		goto fail;

	if (!nc->system_namespaces) {
		nc->system_namespaces = calloc(2, sizeof(char *));
		if (!nc->system_namespaces) {
			cni_err_oom(err);
			goto fail;
		}
		nc->system_namespaces[0] = META_DEFAULT_NAMESPACE;
		nc->nsystem_namespaces = 1;
	}
	if (global && split_namespaces(global, nc, err) < 0)
		goto fail;
	if (nc->log_options) {
		int ignored = 0;
		bool b = false;

		if (get_int(nc->log_options, "maxAge", 0, 36500, &ignored, err) < 0 ||
		    get_int(nc->log_options, "maxSize", 0, 1 << 20, &ignored, err) < 0 ||
		    get_int(nc->log_options, "maxBackups", 0, 1000, &ignored, err) < 0 ||
		    cni_json_get_bool(nc->log_options, "compress", &b, CTX ": logOptions", err) <
			0) {
			cni_err_prefix(err, "logOptions");
			goto fail;
		}
	}
	if (nc->aux_chain_name && *nc->aux_chain_name &&
	    check_chain_name(nc->aux_chain_name, err) < 0)
		goto fail;
	if (nc->prev_result) {
		/* Multus converts prevResult to its result model; a bad one is fatal */
		/* read in the netconf's version when it names none, as Multus does */
		cJSON *prev = cJSON_Duplicate(nc->prev_result, true), *conv = NULL;

		if (prev && !cJSON_HasObjectItem(prev, "cniVersion"))
			cJSON_AddStringToObject(prev, "cniVersion", nc->cni_version);
		if (prev)
			conv = cni_result_convert(prev, "1.0.0", err);
		cJSON_Delete(prev);

		if (!conv) {
			cni_err_prefix(err, CTX ": prevResult");
			err->code = CNI_ERR_INVALID_CONFIG;
			goto fail;
		}
		cJSON_Delete(conv);
	}
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	nc->shim = cJSON_IsString(type) && strcmp(type->valuestring, "plexus-shim") == 0;
	/* a Multus thick 00-multus.conf names no network: the daemon's config does */
	if (!nc->shim && meta_netconf_require_networks(nc, err) < 0)
		goto fail;
	if (nc->delegates) {
		const cJSON *d;
		size_t i = 0;

		cJSON_ArrayForEach(d, nc->delegates)
		{
			if (!cJSON_IsObject(d)) {
				cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					    CTX ": \"delegates\"[%zu] must be an object", i);
				goto fail;
			}
			i++;
		}
	}
	return 0;
fail:
	meta_netconf_free(nc);
	return -1;
}

void meta_netconf_free(struct meta_netconf *nc)
{
	free(nc->default_networks);
	free(nc->system_namespaces);
	for (size_t i = 0; i < nc->nglobal_namespaces; i++)
		free(nc->global_namespaces[i]);
	free(nc->global_namespaces);
	cJSON_Delete(nc->root);
	memset(nc, 0, sizeof(*nc));
}

void meta_netconf_apply_logging(const struct meta_netconf *nc)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(nc->log_options, "maxSize");
	const cJSON *backups = cJSON_GetObjectItemCaseSensitive(nc->log_options, "maxBackups");
	const cJSON *age = cJSON_GetObjectItemCaseSensitive(nc->log_options, "maxAge");

	/* lumberjack's defaults as Multus sets them: 100 MB, 5 backups, 5 days */
	cni_log_set_rotation((cJSON_IsNumber(size) ? (long long)size->valuedouble : 100) << 20,
			     cJSON_IsNumber(backups) ? (int)backups->valuedouble : 5,
			     cJSON_IsNumber(age) ? (int)age->valuedouble : 5);
	cni_log_set_stderr(nc->log_to_stderr);
	if (nc->log_level && *nc->log_level)
		cni_log_set_level_name(nc->log_level);
	if (nc->log_file && *nc->log_file) {
		int rc = cni_log_set_file(nc->log_file);

		if (rc < 0)
			log_error("cannot open logFile %s: %s", nc->log_file, strerror(-rc));
	}
}

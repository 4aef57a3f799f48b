/* daemon/config.c: the daemon config file: Multus's keys with Multus's defaults, plexus's own
 * keys, and the overlay onto each request. Follows Multus pkg/server/config/manager.go
 * (ControllerNetConf) and pkg/server/server.go overrideCNIConfigWithServerConfig. */
#include "daemon/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/file.h"
#include "cni/json.h"

#define CTX "daemon config"

/* An integer key in [min, max]; absent leaves *out alone. */
static int get_int(const cJSON *root, const char *key, int min, int max, int *out,
		   struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, CTX ": \"%s\" must be an integer",
				   key);
	if (v->valuedouble < min || v->valuedouble > max)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   CTX ": \"%s\" %.0f out of range %d..%d", key, v->valuedouble,
				   min, max);
	*out = (int)v->valuedouble;
	return 0;
}

static int default_workers(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	long w = cores > 0 ? 2 * cores : 4;

	return w < 4 ? 4 : (w > 256 ? 256 : (int)w);
}

int pxd_config_parse(const char *data, size_t len, struct pxd_config *cfg, struct cni_err *err)
{
	const cJSON *obj = NULL;
	cJSON *root;

	memset(cfg, 0, sizeof(*cfg));
	root = cni_json_parse(data, len, CTX, err);
	if (!root)
		return -1;
	cfg->root = root;
	if (!cJSON_IsObject(root)) {
		cni_err_set(err, CNI_ERR_DECODE, CTX ": not a JSON object");
		goto fail;
	}
	cfg->chroot_dir = "";
	cfg->socket_dir = "";
	cfg->cni_version = "";
	cfg->log_file = "";
	cfg->log_level = "";
	cfg->log_to_stderr = false;
	cfg->cni_config_dir = "/etc/cni/net.d";
	cfg->multus_autoconfig_dir = "";
	cfg->multus_config_file = "auto";
	cfg->multus_master_cni = "";
	cfg->readiness_file = "";
	cfg->daemon_socket_dir = "";
	cfg->bin_dir = "/opt/cni/bin";
	cfg->cni_dir = "/var/lib/cni/multus";
	cfg->conf_dir = "/etc/cni/multus/net.d";
	cfg->global_namespaces = "default";
	cfg->kubeconfig = "";
	cfg->workers = default_workers();
	cfg->queue_limit = PXD_DEFAULT_QUEUE_LIMIT;
	cfg->request_timeout_s = PXD_DEFAULT_TIMEOUT_S;
	cfg->metrics_bind_address = "";
	cfg->cache_sync_timeout_s = PXD_DEFAULT_CACHE_SYNC_S;
	cfg->pod_cache_wait_ms = PXD_DEFAULT_POD_WAIT_MS;
	cfg->watch_stall_s = PXD_DEFAULT_WATCH_STALL_S;
	cfg->watch_timeout_s = PXD_DEFAULT_WATCH_TIMEOUT_S;
	cfg->dra_reprobe_s = PXD_DEFAULT_DRA_REPROBE_S;

	if (cni_json_get_string(root, "chrootDir", &cfg->chroot_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "socketDir", &cfg->socket_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "cniVersion", &cfg->cni_version, CTX, err) < 0 ||
	    cni_json_get_string(root, "logFile", &cfg->log_file, CTX, err) < 0 ||
	    cni_json_get_string(root, "logLevel", &cfg->log_level, CTX, err) < 0 ||
	    cni_json_get_bool(root, "logToStderr", &cfg->log_to_stderr, CTX, err) < 0 ||
	    cni_json_get_object(root, "logOptions", &obj, CTX, err) < 0 ||
	    get_int(root, "metricsPort", 0, 65535, &cfg->metrics_port, err) < 0 ||
	    cni_json_get_string(root, "cniConfigDir", &cfg->cni_config_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "multusAutoconfigDir", &cfg->multus_autoconfig_dir, CTX,
				err) < 0 ||
	    cni_json_get_string(root, "multusConfigFile", &cfg->multus_config_file, CTX, err) < 0 ||
	    cni_json_get_string(root, "multusMasterCNI", &cfg->multus_master_cni, CTX, err) < 0 ||
	    cni_json_get_string(root, "readinessindicatorfile", &cfg->readiness_file, CTX, err) <
		0 ||
	    cni_json_get_string(root, "daemonSocketDir", &cfg->daemon_socket_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "binDir", &cfg->bin_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "cniDir", &cfg->cni_dir, CTX, err) < 0 ||
	    cni_json_get_string(root, "confDir", &cfg->conf_dir, CTX, err) < 0 ||
	    cni_json_get_bool(root, "namespaceIsolation", &cfg->namespace_isolation, CTX, err) <
		0 ||
	    cni_json_get_string(root, "globalNamespaces", &cfg->global_namespaces, CTX, err) < 0 ||
	    cni_json_get_string(root, "kubeconfig", &cfg->kubeconfig, CTX, err) < 0 ||
	    cni_json_get_string(root, "forceCNIVersion", &(const char *){ NULL }, CTX, err) < 0 ||
	    cni_json_get_string(root, "overrideNetworkName", &(const char *){ NULL }, CTX, err) <
		0 ||
	    cni_json_get_object(root, "perNodeCertificate", &obj, CTX, err) < 0 ||
	    get_int(root, "workers", 1, 4096, &cfg->workers, err) < 0 ||
	    get_int(root, "queueLimit", 0, 1 << 20, &cfg->queue_limit, err) < 0 ||
	    get_int(root, "requestTimeoutSeconds", 1, 86400, &cfg->request_timeout_s, err) < 0 ||
	    get_int(root, "cacheSyncTimeoutSeconds", 0, 86400, &cfg->cache_sync_timeout_s, err) <
		0 ||
	    get_int(root, "podCacheWaitMilliseconds", 0, 60000, &cfg->pod_cache_wait_ms, err) < 0 ||
	    get_int(root, "watchStallSeconds", 1, 86400, &cfg->watch_stall_s, err) < 0 ||
	    get_int(root, "watchTimeoutSeconds", 1, 86400, &cfg->watch_timeout_s, err) < 0 ||
	    get_int(root, "draReprobeSeconds", 1, 86400, &cfg->dra_reprobe_s, err) < 0 ||
	    cni_json_get_bool(root, "dynamicNetworks", &cfg->dynamic_networks, CTX, err) < 0 ||
	    cni_json_get_string(root, "metricsBindAddress", &cfg->metrics_bind_address, CTX, err) <
		0)
		goto fail;
	/* Multus's socket name under its socketDir keeps installed multus-shim binaries working */
	if (asprintf(&cfg->socket_path, "%s/%s",
		     *cfg->socket_dir ? cfg->socket_dir : PXD_DEFAULT_SOCKET_DIR,
		     *cfg->socket_dir ? PXD_MULTUS_SOCKET_NAME : PXD_DEFAULT_SOCKET_NAME) < 0) {
		cfg->socket_path = NULL;
		cni_err_oom(err);
		goto fail;
	}
	return 0;
fail:
	pxd_config_free(cfg);
	return -1;
}

int pxd_config_load(const char *path, struct pxd_config *cfg, struct cni_err *err)
{
	size_t len = 0;
	char *data = cni_read_file(path, PXD_CONFIG_MAX_BYTES, CNI_FILE_FOLLOW, &len, err);
	int rc;

	if (!data) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO, "daemon config %s: not found", path);
		return -1;
	}
	rc = pxd_config_parse(data, len, cfg, err);
	free(data);
	if (rc < 0)
		cni_err_prefix(err, "%s", path);
	return rc;
}

void pxd_config_free(struct pxd_config *cfg)
{
	cJSON_Delete(cfg->root);
	free(cfg->socket_path);
	memset(cfg, 0, sizeof(*cfg));
}

char *pxd_config_overlay(const struct pxd_config *cfg, const char *netconf, size_t len,
			 size_t *out_len, struct cni_err *err)
{
	cJSON *conf = cni_json_parse(netconf, len, "error unmarshalling network config", err);
	const cJSON *k;
	char *s = NULL;

	if (!conf)
		return NULL;
	if (!cJSON_IsObject(conf)) {
		cni_err_set(err, CNI_ERR_DECODE,
			    "error unmarshalling network config: not a JSON object");
		goto out;
	}
	cJSON_ArrayForEach(k, cfg->root)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, "cniVersion");
		cJSON *copy;

		/* the version the runtime and the shim agreed on stays: the verbs' version rules
		 * (CHECK >= 0.4.0, STATUS >= 1.1.0) apply to it, as Multus's shim applies them to
		 * 00-multus.conf before it calls the daemon */
		if (strcmp(k->string, "cniVersion") == 0 && cJSON_IsString(v) && *v->valuestring)
			continue;
		copy = cJSON_Duplicate(k, true);

		if (!copy || cni_json_set(conf, k->string, copy) < 0) {
			cni_err_oom(err);
			goto out;
		}
	}
	s = cJSON_PrintUnformatted(conf);
	if (!s)
		cni_err_oom(err);
	else
		*out_len = strlen(s);
out:
	cJSON_Delete(conf);
	return s;
}

/* daemon/config.h: plexusd's daemon config: every key of Multus's daemon-config.json with its
 * meaning and default, plexus's own keys, and the overlay of the file onto each request's netconf.
 * Follows Multus pkg/server/config (ControllerNetConf) and pkg/server/server.go
 * overrideCNIConfigWithServerConfig. */
#ifndef PLEXUS_DAEMON_CONFIG_H
#define PLEXUS_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define PXD_DEFAULT_CONFIG	    "/etc/cni/net.d/plexus.d/daemon-config.json"
#define PXD_DEFAULT_SOCKET_DIR	    "/run/plexus"
#define PXD_DEFAULT_SOCKET_NAME	    "plexus.sock"
#define PXD_MULTUS_SOCKET_NAME	    "multus.sock"
#define PXD_CONFIG_MAX_BYTES	    (1u << 20)
#define PXD_DEFAULT_QUEUE_LIMIT	    1024
#define PXD_DEFAULT_TIMEOUT_S	    120
#define PXD_DEFAULT_CACHE_SYNC_S    60	 /* /readyz waits this long for the caches' first sync */
#define PXD_DEFAULT_POD_WAIT_MS	    1000 /* an ADD waits this long on the watch for its pod */
#define PXD_DEFAULT_WATCH_STALL_S   90	 /* a watch silent this long (no bookmark) is restarted */
#define PXD_DEFAULT_WATCH_TIMEOUT_S 300	 /* WATCH timeoutSeconds */
#define PXD_DEFAULT_DRA_REPROBE_S   300	 /* DRA group absent or forbidden: asked again */

/* Strings are borrowed from root ("" when absent unless a default is named). */
struct pxd_config {
	cJSON *root; /* the whole file: what is laid over every request's netconf */
	/* Multus's keys */
	const char *chroot_dir;		   /* "": delegates run in the daemon's own root */
	const char *socket_dir;		   /* "": not set, the socket is PXD_DEFAULT_SOCKET_DIR's */
	const char *cni_version;	   /* overlaid like every key */
	const char *log_file;		   /* "": none */
	const char *log_level;		   /* "": panic, as Multus */
	bool log_to_stderr;		   /* false */
	int metrics_port;		   /* 0: no metrics (Multus: unset) */
	const char *cni_config_dir;	   /* "/etc/cni/net.d" */
	const char *multus_autoconfig_dir; /* "" */
	const char *multus_config_file;	   /* "auto" */
	const char *multus_master_cni;	   /* "" */
	const char *readiness_file;	   /* readinessindicatorfile, "" */
	const char *daemon_socket_dir;	   /* the shim's side, "" */
	const char *bin_dir;		   /* "/opt/cni/bin" */
	const char *cni_dir;		   /* "/var/lib/cni/multus" */
	const char *conf_dir;		   /* "/etc/cni/multus/net.d" */
	bool namespace_isolation;	   /* false */
	const char *global_namespaces;	   /* "default" */
	const char *kubeconfig;		   /* "": in-cluster service account */
	/* plexus's keys */
	int workers;			  /* requests in the core at once: 2 x cores, at least 4 */
	int queue_limit;		  /* requests waiting beyond that: 1024 */
	int request_timeout_s;		  /* how long a request may wait for a worker: 120 */
	const char *metrics_bind_address; /* "": loopback (PXD_METRICS_DEFAULT_BIND) */
	int cache_sync_timeout_s;	  /* cacheSyncTimeoutSeconds: then serve with live GETs */
	int pod_cache_wait_ms;		  /* podCacheWaitMilliseconds (0: no wait) */
	int watch_stall_s;		  /* watchStallSeconds */
	int watch_timeout_s;		  /* watchTimeoutSeconds */
	int dra_reprobe_s;		  /* draReprobeSeconds */
	bool dynamic_networks;		  /* dynamicNetworks: hot-plug from the annotation */
	char *socket_path;		  /* derived: where plexusd listens (owned) */
};

/* Parses a daemon config (a JSON object). A key with the wrong type or out of range is an error
 * naming it (code 7); unknown keys are kept (they are overlaid like the others, as Multus
 * does). On success cfg owns a copy of the tree; free it with pxd_config_free(). */
int pxd_config_parse(const char *data, size_t len, struct pxd_config *cfg, struct cni_err *err)
    __attribute__((warn_unused_result));

/* Reads and parses a file (at most PXD_CONFIG_MAX_BYTES). */
int pxd_config_load(const char *path, struct pxd_config *cfg, struct cni_err *err)
    __attribute__((warn_unused_result));

void pxd_config_free(struct pxd_config *cfg);

/* Lays every key of the daemon config over the netconf (a JSON object): the node's settings
 * win, but for a cniVersion the netconf has (see docs/COMPATIBILITY.md). Returns the new netconf as malloc'd bytes (*out_len set) or NULL with err set (code 6
 * when the netconf is not a JSON object). */
char *pxd_config_overlay(const struct pxd_config *cfg, const char *netconf, size_t len,
			 size_t *out_len, struct cni_err *err) __attribute__((warn_unused_result));

#endif

/* meta/netconf.h: the plexus netconf: every key of Multus's thin-plugin netconf, with Multus's
 * defaults and stricter type checks. Follows Multus pkg/types/conf.go LoadNetConf. */
#ifndef PLEXUS_META_NETCONF_H
#define PLEXUS_META_NETCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define META_DEFAULT_CONF_DIR		 "/etc/cni/multus/net.d"
#define META_DEFAULT_CNI_DIR		 "/var/lib/cni/multus"
#define META_DEFAULT_BIN_DIR		 "/opt/cni/bin"
#define META_DEFAULT_NAMESPACE		 "kube-system"
#define META_DEFAULT_READINESS_TIMEOUT_S 45
#define META_DEFAULT_DELEGATE_TIMEOUT_S	 120

/* Strings are borrowed from root; arrays are owned NULL-terminated vectors of borrowed strings. */
struct meta_netconf {
	cJSON *root;
	const char *name;
	const char *cni_version; /* "" when absent */
	const char *kubeconfig;
	const char *cluster_network;
	const char **default_networks;
	size_t ndefault_networks;
	const cJSON *delegates; /* array of conf/conflist objects, or NULL */
	const char *conf_dir;
	const char *cni_dir;
	const char *bin_dir;
	const char *log_file;
	const char *log_level;
	const cJSON *log_options;
	char **global_namespaces; /* owned strings: "a, b" split and trimmed; NULL when unset */
	size_t nglobal_namespaces;
	const char **system_namespaces;
	size_t nsystem_namespaces;
	const char *multus_namespace;
	const char *readiness_file;
	const char *aux_chain_name;
	const cJSON *capabilities;
	const cJSON *runtime_config;
	const cJSON *prev_result;
	/* plexus extensions (unknown to Multus, ignored by it) */
	const char *pod_resources_socket; /* podResourcesSocket */
	const char *device_info_dir;	  /* deviceInfoDir */
	int readiness_timeout_s;	  /* readinessTimeoutSeconds */
	int delegate_timeout_s;		  /* delegateTimeoutSeconds */
	bool added_interface_events;	  /* addedInterfaceEvents: thin mode, default false */
	bool log_to_stderr;
	bool namespace_isolation;
	bool retry_delete_on_error;
	/* "type" is "plexus-shim": thick mode's netconf, whose networks the daemon may hold; with
	 * it bin/plexus only deletes (the shim's fallback when the daemon is down) */
	bool shim;
};

/* Parses and validates (code 6 for JSON, code 7 naming the key for a wrong type or value,
 * including "at least one delegate/clusterNetwork must be specified", which a plexus-shim
 * netconf may leave to meta_netconf_require_networks). Unknown keys are ignored. Returns 0 or
 * -1; nc is zeroed on failure. */
int meta_netconf_parse(const char *data, size_t len, struct meta_netconf *nc,
		       struct cni_err *err) CNI_MUST_CHECK;

void meta_netconf_free(struct meta_netconf *nc);

/* Code 7 "at least one delegate/clusterNetwork must be specified" when nc names no network.
 * Returns 0 or -1. */
int meta_netconf_require_networks(const struct meta_netconf *nc,
				  struct cni_err *err) CNI_MUST_CHECK;

/* Applies logFile, logLevel and logToStderr to the logger. */
void meta_netconf_apply_logging(const struct meta_netconf *nc);

#endif

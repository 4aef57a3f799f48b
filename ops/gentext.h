/* ops/gentext.h: the texts `plexus generate-config` writes: 00-plexus.conflist wrapping the
 * primary CNI config, and the plugin's kubeconfig. Pure: inputs in, text out, nothing read or
 * written. Follows Multus cmd/thin_entrypoint/main.go (the generated multus config). */
#ifndef PLEXUS_OPS_GENTEXT_H
#define PLEXUS_OPS_GENTEXT_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/err.h"

#define OPS_GEN_CONF_DIR    "/etc/cni/net.d"
#define OPS_GEN_OUTPUT	    "00-plexus.conflist"
#define OPS_GEN_OUTPUT_CONF "00-plexus.conf"
#define OPS_GEN_NETWORK	    "plexus-cni-network"
#define OPS_GEN_KUBECONFIG  "plexus.d/plexus.kubeconfig" /* under the conf dir */
#define OPS_GEN_SA_DIR	    "/var/run/secrets/kubernetes.io/serviceaccount"
/* plexusd's socket when its config sets no socketDir */
#define OPS_GEN_DAEMON_SOCKET "/run/plexus/plexus.sock"

/* Every option of the command; strings are borrowed (argv or literals). */
struct ops_gen_opts {
	const char *conf_dir;	     /* absolute */
	const char *conf_file;	     /* NULL: generate ("auto"); else a file copied as it is */
	const char *master;	     /* primary: a name in conf_dir or a path; NULL: the first */
	const char *kubeconfig_out;  /* where the kubeconfig is written (absolute) */
	const char *kubeconfig_host; /* the path the netconf names (the host's view of it) */
	bool no_kubeconfig;
	const char *sa_dir;
	bool namespace_isolation;
	const char *global_namespaces;
	const char *log_level;
	const char *log_file;
	const char *readiness_file;
	const char *cni_version;   /* NULL: the primary's */
	const char *cni_dir;	   /* the plugin's cniDir, or NULL for its default */
	const char *bin_dir;	   /* the plugin's binDir, or NULL for its default */
	bool thick;		   /* plexus-shim forwarding to plexusd; implies no_kubeconfig */
	const char *daemon_socket; /* thick: the daemon's socket (NULL: OPS_GEN_DAEMON_SOCKET) */
	FILE *report;		   /* "wrote"/"unchanged" lines go here; NULL: silent */
	bool report_unchanged;
};

/* The union of the capabilities the primary's plugins enable ({"portMappings": true, ...}),
 * keys sorted; an empty object when none. NULL only on OOM. */
cJSON *ops_gen_capabilities(const struct cni_conflist *primary);

/* The text of 00-plexus.conflist wrapping primary (read from primary_path, named in
 * messages), checked by plexus's own netconf parser before it is returned. With o->thick the
 * plugin is plexus-shim, naming daemonSocketPath, and always cniDir and binDir: all the shim
 * needs to delete through bin/plexus on its own when the daemon is down. The primary must
 * have a supported cniVersion unless o->cni_version is given (code 7 naming the file). */
char *ops_gen_netconf(const struct cni_conflist *primary, const char *primary_path,
		      const struct ops_gen_opts *o, struct cni_err *err);

/* "https://host:port", an IPv6 host bracketed. NULL on OOM. */
char *ops_gen_server_url(const char *host, const char *port);

/* A kubeconfig (YAML) for server whose token and CA are the files "token" and "ca.crt"
 * next to it (client-go resolves them relative to the kubeconfig), so a rotated token needs
 * only the token file rewritten. NULL on OOM. */
char *ops_gen_kubeconfig(const char *server, bool with_ca);
#endif

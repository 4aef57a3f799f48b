/* ops/genconfig.h: `plexus generate-config`: wrap the primary CNI config into 00-plexus.conflist.
 * Follows Multus's thin entrypoint (multus.md §1.4) minus its bugs (§6 items 2 and 6). */
#ifndef PLEXUS_OPS_GENCONFIG_H
#define PLEXUS_OPS_GENCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/err.h"

#define OPS_GEN_CONF_DIR    "/etc/cni/net.d"
#define OPS_GEN_OUTPUT	     "00-plexus.conflist"
#define OPS_GEN_OUTPUT_CONF "00-plexus.conf"
#define OPS_GEN_NETWORK     "plexus-cni-network"
#define OPS_GEN_KUBECONFIG  "plexus.d/plexus.kubeconfig" /* under the conf dir */
#define OPS_GEN_SA_DIR	     "/var/run/secrets/kubernetes.io/serviceaccount"

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
	const char *cni_version; /* NULL: the primary's */
	const char *cni_dir;	 /* the plugin's cniDir, or NULL for its default */
	const char *bin_dir;	 /* the plugin's binDir, or NULL for its default */
	FILE *report;		 /* "wrote"/"unchanged" lines go here; NULL: silent */
	bool report_unchanged;
};

/* True for a file name the runtime could take for its network config and we may wrap: a
 * non-hidden .conf or .conflist that is not plexus's own (00-plexus.*) nor Multus's
 * (00-multus*: wrapping a meta-plugin in a meta-plugin is never what anyone wants). */
bool ops_gen_is_candidate(const char *name);

/* The alphabetically (byte order, as libcni sorts) first candidate in dir that is not a
 * directory. Returns a malloc'd name, or NULL with err (code 7 "no CNI network config (.conf
 * or .conflist) in <dir>", code 5 when dir cannot be read). */
char *ops_gen_find_primary(const char *dir, struct cni_err *err);

/* The union of the capabilities the primary's plugins enable ({"portMappings": true, ...}),
 * keys sorted; an empty object when none. NULL only on OOM. */
cJSON *ops_gen_capabilities(const struct cni_conflist *primary);

/* The text of 00-plexus.conflist wrapping primary (read from primary_path, named in
 * messages), checked by plexus's own netconf parser before it is returned. The primary must
 * have a supported cniVersion unless o->cni_version is given (code 7 naming the file). */
char *ops_gen_netconf(const struct cni_conflist *primary, const char *primary_path,
		       const struct ops_gen_opts *o, struct cni_err *err);

/* "https://host:port", an IPv6 host bracketed. NULL on OOM. */
char *ops_gen_server_url(const char *host, const char *port);

/* A kubeconfig (YAML) for server whose token and CA are the files "token" and "ca.crt"
 * next to it (client-go resolves them relative to the kubeconfig), so a rotated token needs
 * only the token file rewritten. NULL on OOM. */
char *ops_gen_kubeconfig(const char *server, bool with_ca);

/* One pass: kubeconfig (unless no_kubeconfig), then the netconf. Files are written only when
 * their content changes, atomically, mode 0600; on any error nothing after it is written and
 * what was there stays. Warnings (files the runtime would prefer to ours) go to warn (may be
 * NULL). Returns 1 when something was written, 0 when all was up to date, -1 with err. */
int ops_gen_once(const struct ops_gen_opts *o, FILE *warn, struct cni_err *err);

/* `plexus generate-config ARGS`: argv[0] is "generate-config". Returns the exit status. */
int ops_genconfig_cmd(int argc, char **argv);
void ops_genconfig_usage(FILE *out);

#endif

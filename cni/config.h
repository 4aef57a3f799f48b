/* cni/config.h: network configurations (legacy conf or conflist) and the per-plugin stdin
 * derived from them. Follows libcni conf.go (ConfListFromBytes, ConfFromBytes) and api.go
 * (buildOneConfig, injectRuntimeConfig), CNI SPEC.md, Section 3 'Deriving execution configuration
 * from plugin configuration'. */
#ifndef PLEXUS_CNI_CONFIG_H
#define PLEXUS_CNI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

/* A network: a conflist, or a legacy single conf seen as a one-plugin list. */
struct cni_conflist {
	cJSON *root; /* owned parse of bytes */
	char *bytes; /* owned copy of the raw bytes, exactly as given */
	size_t len;
	bool is_list;	   /* false for a legacy conf (root is the one plugin) */
	const char *name;  /* borrowed from root; may be NULL for a conf without name */
	char *cni_version; /* owned: the version chosen (highest of cniVersion + cniVersions
				* that this code supports; cniVersion as written otherwise) */
	bool disable_check;
	bool disable_gc;
	size_t nplugins;
	const cJSON **plugins; /* owned array of borrowed plugin objects */
};

/* Parses a conf or conflist (a top-level "plugins" key makes it a list). Checks what libcni
 * checks: JSON (code 6), name a string (required for a list), cniVersion a string, cniVersions
 * an array of strings, disableCheck/disableGC booleans (or "true"/"false"), plugins a non-empty
 * array of objects each with a non-empty string "type", capabilities an object of booleans,
 * ipam an object with a string type (code 7, the message names the plugin index and key).
 * Returns 0 or -1 with err set; out is zeroed on failure. */
int cni_conflist_parse(const char *data, size_t len, struct cni_conflist *out,
		       struct cni_err *err) CNI_MUST_CHECK;

void cni_conflist_free(struct cni_conflist *list);

/* The "type" of a plugin object (never NULL after a successful parse). */
const char *cni_plugin_type(const cJSON *plugin);

/* runtimeConfig for a plugin: each capability the plugin declares true and cap_args supplies,
 * or NULL when none applies (libcni then adds no runtimeConfig key). */
cJSON *cni_plugin_runtime_config(const cJSON *plugin, const cJSON *cap_args);

/* The stdin bytes libcni sends to list->plugins[i]: the plugin object with name and cniVersion
 * injected, prevResult when given, runtimeConfig (replacing any present) when a declared
 * capability is supplied; printed as Go prints it (cni_json_print_conf). Extra top-level keys
 * (e.g. cni.dev/valid-attachments for GC) may be passed in extra (copied in, may be NULL).
 * Returns a malloc'd NUL-terminated string or NULL with err set. */
char *cni_conflist_plugin_stdin(const struct cni_conflist *list, size_t i, const cJSON *prev_result,
				const cJSON *cap_args, const cJSON *extra, struct cni_err *err);

#endif

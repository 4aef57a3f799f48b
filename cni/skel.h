/* cni/skel.h: being a CNI plugin: read env and stdin, dispatch the verb, print one JSON document.
 * Follows libcni pkg/skel (env per verb, version gates, error codes) and CNI SPEC.md,
 * Section 2 'Execution Protocol'. */
#ifndef PLEXUS_CNI_SKEL_H
#define PLEXUS_CNI_SKEL_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/spec.h"

/* Work a plugin leaves until its answer is out: the bookkeeping of a successful ADD that nothing
 * reads before the next call on the same container (which waits for it: the plugin holds that
 * container's lock until fn has run). Set by the plugin through its request's later; run once by
 * the caller with cni_later_run, whatever became of the answer. */
struct cni_later {
	void (*fn)(void *arg);
	void *arg;
};

/* Runs l's work, once (NULL, or nothing left: nothing). */
void cni_later_run(struct cni_later *l);

/* One invocation, as the runtime made it. Empty environment variables read as NULL. */
struct cni_request {
	enum cni_verb verb;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args_str; /* CNI_ARGS as given */
	const char *path;     /* CNI_PATH as given */
	struct cni_args args; /* CNI_ARGS parsed (IgnoreUnknown semantics left to the plugin) */
	char *stdin_data;     /* NUL-terminated */
	size_t stdin_len;
	cJSON *conf;		 /* stdin parsed; an object */
	const char *cni_version; /* conf's cniVersion, "" when absent (meaning 0.1.0) */
	const char *name;	 /* conf's name, never NULL after validation (except VERSION) */
	/* where the plugin may leave work for after its answer; NULL: the caller has nothing to
	 * run it after (a plugin process: its answer counts only once it has exited) */
	struct cni_later *later;
};

struct cni_plugin {
	const char *about;	     /* printed to stderr on a bare run; may be NULL */
	const char *const *versions; /* supported, oldest first */
	size_t nversions;
	/* ADD fills *result (any version; skel converts it to the conf's cniVersion). */
	int (*add)(const struct cni_request *req, cJSON **result, struct cni_err *err);
	int (*del)(const struct cni_request *req, struct cni_err *err);
	int (*check)(const struct cni_request *req, struct cni_err *err);
	int (*gc)(const struct cni_request *req, struct cni_err *err);
	int (*status)(const struct cni_request *req, struct cni_err *err);
};

/* Handles one request without touching the process's environment, stdin or stdout: envkv is a
 * NULL-terminated array of "K=V" strings (NULL: the process environment), data/len the netconf
 * (NULL: stdin could not be read). Does exactly what cni_skel_run does: env and version checks,
 * dispatch, and conversion of the ADD result, to want_version when not NULL (else the netconf's
 * cniVersion). Returns 0 with *out_json the result or VERSION document (NULL for the other
 * verbs), or -1 with err set and *out_json the error object as cni_skel_run prints it (may be
 * NULL when out of memory). *out_json is malloc'd; the caller frees it. With later (cleared here),
 * the plugin may leave work in it, which the caller runs with cni_later_run once the answer is
 * out, whatever this returned; NULL: the plugin does all its work before it returns. */
int cni_skel_handle(const struct cni_plugin *plugin, const char *const *envkv, const char *data,
		    size_t len, const char *want_version, struct cni_later *later, char **out_json,
		    struct cni_err *err) CNI_MUST_CHECK;

/* Runs one invocation from the process environment and stdin, printing to out: the result or
 * VERSION info on success (nothing for DEL/CHECK/GC/STATUS), one error object otherwise.
 * Returns the exit status (0 or 1). A NULL callback answers with "unknown CNI_COMMAND". */
int cni_skel_run(const struct cni_plugin *plugin, FILE *in, FILE *out) CNI_MUST_CHECK;

/* Reads a whole stream (any size). Returns a malloc'd NUL-terminated buffer or NULL. */
char *cni_read_all(FILE *in, size_t *len);

/* Prints an error object (with cniVersion when known) followed by a newline. */
void cni_print_error(FILE *out, const struct cni_err *err, const char *cni_version);

#endif

/* delegates/invoke.h: ADD/DEL/CHECK/GC/STATUS of a conf or conflist, as libcni runs them.
 * Follows libcni api.go: prevResult threading, reverse DEL with the cached result, version gates. */
#ifndef PLEXUS_DLG_INVOKE_H
#define PLEXUS_DLG_INVOKE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/err.h"
#include "cni/spec.h"

/* libcni's RuntimeConf plus where to look for plugins and how long they may take. */
struct dlg_rt {
	const char *container_id;
	const char *netns;
	const char *ifname;
	const struct cni_kv *args; /* CNI_ARGS pairs, sent as "K=V;K=V" */
	size_t nargs;
	const char *const *path; /* plugin directories in search order (CNI_PATH) */
	size_t npath;
	const cJSON *cap_args; /* capability args for runtimeConfig; NULL for none */
	int timeout_ms;	       /* per plugin exec; <= 0 for none */
	const char *cache_dir; /* libcni result cache root; NULL to keep no cache */
};

/* The environment libcni gives a plugin: ours with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS,
 * CNI_ARGS, CNI_IFNAME and CNI_PATH replaced. NULL-terminated, free with dlg_env_free(). */
char **dlg_env(const char *verb, const struct dlg_rt *rt);
void dlg_env_free(char **envp);

/* Runs one plugin with stdin and verb. On exit 0, returns 0 and *out (may be NULL) gets stdout;
 * on failure -1 with the plugin's error object as err (code passed through) or libcni's
 * fallback texts, prefixed "plugin type=\"T\" [name=\"N\"] failed (verb)". */
int dlg_exec_plugin(const char *verb, const cJSON *plugin, const char *stdin_data,
		    const struct dlg_rt *rt, char **out, struct cni_err *err) CNI_MUST_CHECK;

/* ADD every plugin in order, threading prevResult; validates container ID, network name and
 * ifname first (libcni addNetwork). Caches the final result when rt->cache_dir is set. Returns
 * the final result (in the list's version) or NULL with err. Nothing is rolled back here. */
cJSON *dlg_add(const struct cni_conflist *list, const struct dlg_rt *rt, struct cni_err *err);

/* dlg_add in two steps, for a caller with work to do while the first plugin starts that must be
 * done before it may act (meta/plugin.c: the plan on disk). dlg_add_start checks what dlg_add
 * checks and spawns the first plugin without its stdin (delegates/exec.h dlg_exec_start);
 * *first is NULL for a list without plugins. dlg_add_started then gives it its config and
 * goes on as dlg_add; dlg_add_cancel kills it before it has read anything. Each consumes
 * first; rt and list as given to dlg_add_start. With later (and rt->cache_dir), the final
 * result's cache entry is built into *later instead of written: the caller writes it
 * (delegates/cache.h dlg_cache_entry_write) before anything may read it, and frees it; on failure
 * *later is left empty. */
struct dlg_started;
struct dlg_cache_entry;

int dlg_add_start(const struct cni_conflist *list, const struct dlg_rt *rt,
		  struct dlg_started **first, struct cni_err *err) CNI_MUST_CHECK;
cJSON *dlg_add_started(const struct cni_conflist *list, const struct dlg_rt *rt,
		       struct dlg_started *first, struct dlg_cache_entry *later,
		       struct cni_err *err);
void dlg_add_cancel(struct dlg_started *first); /* NULL: nothing */
/* fn(arg) once the first plugin has its config (delegates/exec.h dlg_exec_when_fed); first
 * NULL: nothing. */
void dlg_add_when_fed(struct dlg_started *first, void (*fn)(void *arg), void *arg);

/* DEL every plugin in reverse order, each with the cached result as prevResult when the list
 * is 0.4.0 or later and a cache entry exists (prev_result, when not NULL, is used instead).
 * Stops at the first failure, as libcni does; removes the cache entry after success. */
int dlg_del(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *prev_result,
	    struct cni_err *err) CNI_MUST_CHECK;

/* CHECK (0.4.0 or later; nothing when disableCheck) with the cached result as prevResult. */
int dlg_check(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *prev_result,
	      struct cni_err *err) CNI_MUST_CHECK;

/* GC: nothing when disableGC; DEL of every cached attachment of this network not in valid
 * ([{"containerID","ifname"}...]), then GC to every plugin (1.1.0 or later) with
 * cni.dev/valid-attachments and cni.dev/attachments injected. Continues past failures and
 * reports them all. */
int dlg_gc(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *valid,
	   struct cni_err *err) CNI_MUST_CHECK;

/* True when valid ([{"containerID","ifname"}...], as in cni.dev/valid-attachments) lists the
 * attachment. */
bool dlg_attachment_valid(const cJSON *valid, const char *cid, const char *ifname);

/* STATUS to every plugin (1.1.0 or later), stopping at the first failure. */
int dlg_status(const struct cni_conflist *list, const struct dlg_rt *rt,
	       struct cni_err *err) CNI_MUST_CHECK;

#endif

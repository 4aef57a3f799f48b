/* delegates/cache.h: libcni's result cache (results/<net>-<cid>-<if>, kind cniCacheV1).
 * Follows libcni api.go cacheAdd/getCachedResult; files are written through cni/file.h. */
#ifndef PLEXUS_DLG_CACHE_H
#define PLEXUS_DLG_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/spec.h"

/* One libcni result cache entry (cniCacheV1). */
struct dlg_cached {
	char *path;						  /* the file */
	const char *container_id, *ifname, *network_name, *netns; /* borrowed from doc */
	char *config; /* decoded config bytes (NUL-terminated) or NULL */
	size_t config_len;
	const cJSON *cni_args;	      /* [[k,v],...] or NULL */
	const cJSON *capability_args; /* object or NULL */
	const cJSON *result;	      /* object or NULL */
	cJSON *doc;		      /* owned */
};

/* <cache_dir>/results/<net>-<cid>-<ifname> */
char *dlg_cache_path(const char *cache_dir, const char *net, const char *container_id,
		     const char *ifname);

/* Writes an entry (dirs 0700, file 0600, atomic). args are the CNI_ARGS pairs. */
int dlg_cache_write(const char *cache_dir, const char *net, const char *container_id,
		    const char *ifname, const char *netns, const struct cni_kv *args, size_t nargs,
		    const cJSON *cap_args, const char *config, size_t config_len,
		    const cJSON *result, struct cni_err *err) CNI_MUST_CHECK;

/* dlg_cache_write in two steps, for a caller that writes the entry later than it has the result
 * (delegates/invoke.h dlg_add_started): dlg_cache_entry_make builds the file's path and text
 * (0, or -1 with err and nothing to free), dlg_cache_entry_write writes it as dlg_cache_write
 * does, dlg_cache_entry_free frees it (zeroed: nothing). */
struct dlg_cache_entry {
	char *dir;  /* <cache_dir>/results */
	char *path; /* the file */
	char *text; /* its content */
};

int dlg_cache_entry_make(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const char *netns, const struct cni_kv *args,
			 size_t nargs, const cJSON *cap_args, const char *config, size_t config_len,
			 const cJSON *result, struct dlg_cache_entry *out,
			 struct cni_err *err) CNI_MUST_CHECK;
int dlg_cache_entry_write(const struct dlg_cache_entry *e, struct cni_err *err) CNI_MUST_CHECK;
/* dlg_cache_set_result for an entry not written yet: its text gets result instead. */
int dlg_cache_entry_set_result(struct dlg_cache_entry *e, const cJSON *result,
			       struct cni_err *err) CNI_MUST_CHECK;
void dlg_cache_entry_free(struct dlg_cache_entry *e);

/* Replaces the result of an existing entry (a meta-plugin that edits what its delegate set up,
 * such as default routes, keeps prevResult truthful). Returns 0, or -1 with err (code 5/6). */
int dlg_cache_set_result(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const cJSON *result,
			 struct cni_err *err) CNI_MUST_CHECK;

/* Reads an entry. Returns 1 and fills out when present and valid, 0 when absent, -1 with err
 * (code 5/6) when unreadable, unparsable or of the wrong kind. A legacy entry (a bare result)
 * reads with only result set. */
int dlg_cache_read(const char *cache_dir, const char *net, const char *container_id,
		   const char *ifname, struct dlg_cached *out, struct cni_err *err) CNI_MUST_CHECK;

/* Every valid entry under <cache_dir>/results whose networkName is net (all when NULL).
 * Unparsable files are skipped. Returns 0 and a malloc'd array (free with dlg_cached_free_all). */
int dlg_cache_list(const char *cache_dir, const char *net, struct dlg_cached **out, size_t *n,
		   struct cni_err *err) CNI_MUST_CHECK;

/* The value of CNI_ARGS key in an entry's cniArgs (libcni keeps them as [[key, value], ...]),
 * borrowed from the entry; NULL when it has none. */
const char *dlg_cached_arg(const struct dlg_cached *c, const char *key);

void dlg_cached_free(struct dlg_cached *c);

void dlg_cached_free_all(struct dlg_cached *c, size_t n);

#endif

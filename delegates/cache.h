/* delegates/cache.h: durable files: atomic writes, safe reads, and libcni's result cache.
 * Follows libcni api.go cacheAdd/getCachedResult (kind cniCacheV1, results/<net>-<cid>-<if>). */
#ifndef PLEXUS_DLG_CACHE_H
#define PLEXUS_DLG_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/spec.h"

/* mkdir -p with mode for every directory it creates (existing ones are left as they are, but
 * must be directories, not symlinks). Returns 0 or -1 with err (code 5, naming the path). */
int dlg_mkdir_p(const char *path, mode_t mode, struct cni_err *err);

/* Writes path atomically and durably: a temporary file in the same directory opened
 * O_EXCL|O_NOFOLLOW with mode, write, fsync, rename over path, fsync the directory. The parent
 * directory must exist. A failure leaves no temporary file. Code 5 naming the path. */
int dlg_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     struct cni_err *err);

/* Like dlg_write_atomic, but without the fsyncs: readers see the old or the new content,
 * never a mix, yet a power cut may lose the file. For state whose loss is tolerated (libcni's
 * result cache: DEL goes on without prevResult). Code 5 naming the path. */
int dlg_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		      struct cni_err *err);

/* Reads a regular file without following a symlink in the last component, up to max bytes
 * (bigger is an error). Returns a malloc'd NUL-terminated buffer; NULL with errno ENOENT and
 * err untouched when the file does not exist; NULL with err set (code 5) otherwise. */
char *dlg_read_file(const char *path, size_t max, size_t *len, struct cni_err *err);

/* Removes path; a missing file is success. Not synced (see cache.c). Code 5 otherwise. */
int dlg_remove_file(const char *path, struct cni_err *err);

/* Removes what a writer killed between creating its temporary file and renaming it left next
 * to path ("<path>.tmp.<pid>"). Best effort, returns nothing. */
void dlg_remove_temporaries(const char *path);

/* base64 (standard alphabet, padded), as Go encodes []byte in JSON. */
char *dlg_base64_encode(const void *data, size_t len);
/* Returns a malloc'd NUL-terminated buffer or NULL for invalid input. */
char *dlg_base64_decode(const char *s, size_t *len);

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
		    const cJSON *result, struct cni_err *err);

/* Replaces the result of an existing entry (a meta-plugin that edits what its delegate set up,
 * such as default routes, keeps prevResult truthful). Returns 0, or -1 with err (code 5/6). */
int dlg_cache_set_result(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const cJSON *result, struct cni_err *err);

/* Reads an entry. Returns 1 and fills out when present and valid, 0 when absent, -1 with err
 * (code 5/6) when unreadable, unparsable or of the wrong kind. A legacy entry (a bare result)
 * reads with only result set. */
int dlg_cache_read(const char *cache_dir, const char *net, const char *container_id,
		   const char *ifname, struct dlg_cached *out, struct cni_err *err);

/* Every valid entry under <cache_dir>/results whose networkName is net (all when NULL).
 * Unparsable files are skipped. Returns 0 and a malloc'd array (free with dlg_cached_free_all). */
int dlg_cache_list(const char *cache_dir, const char *net, struct dlg_cached **out, size_t *n,
		   struct cni_err *err);

void dlg_cached_free(struct dlg_cached *c);

/* Takes an exclusive flock on path (created 0600, not following symlinks), waiting for another
 * holder at most timeout_ms (<= 0: as long as it takes; then code 11 "... is busy"). Robust
 * against a holder that removed the file: the lock is retaken until the locked inode is the one
 * at path. With inherit, the descriptor stays open across exec, so the plugins spawned while it
 * is held hold it too: when the caller is killed mid-operation, the next operation on the same
 * lock still waits for the orphaned plugin to finish. Returns the fd or -1 with err. */
int dlg_lock(const char *path, int timeout_ms, bool inherit, struct cni_err *err);

/* Releases a lock from dlg_lock; with remove, unlinks path first (while still holding it). */
void dlg_unlock(int fd, const char *path, bool remove);
void dlg_cached_free_all(struct dlg_cached *c, size_t n);

#endif

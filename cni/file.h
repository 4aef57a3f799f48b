/* cni/file.h: the file layer: mkdir -p, atomic durable writes, one reader with options, removals.
 * Atomic by rename(2) (POSIX), durable by fsync of the file and then of its directory. */
#ifndef PLEXUS_CNI_FILE_H
#define PLEXUS_CNI_FILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cni/err.h"

/* mkdir -p with mode for every directory it creates (existing ones are left as they are, but
 * must be directories, not symlinks). A path this process walked before is taken at one
 * lstat() while it still ends on the same directory inode (plexusd asks for the same few on
 * every request); otherwise it is walked again. Thread-safe. Returns 0 or -1 with err (code 5,
 * naming the path). */
int cni_mkdir_p(const char *path, mode_t mode, struct cni_err *err) CNI_MUST_CHECK;

/* Who else writes the path a write replaces, which names its temporary file. */
enum cni_write_who {
	/* anyone, at any time: "<path>.tmp.<pid>", one per writer; what a writer killed
	 * mid-write left is found by reading the directory (cni_remove_temporaries) */
	CNI_WRITE_SHARED = 0,
	/* only holders of one lock (plexus's per-container lock): "<path>.tmp", so what a
	 * killed writer left is removed with one unlink, however big the directory */
	CNI_WRITE_LOCKED = 1,
};

/* Writes path atomically and durably: a temporary file (who names it) in the same directory
 * opened O_EXCL|O_NOFOLLOW with mode, write, fsync, rename over path, fsync the directory. The
 * parent directory must exist. A failure leaves no temporary file. Code 5 naming the path. */
int cni_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     enum cni_write_who who, struct cni_err *err) CNI_MUST_CHECK;

/* Like cni_write_atomic, but without the fsyncs: readers see the old or the new content,
 * never a mix, yet a power cut may lose the file. For state whose loss is tolerated (libcni's
 * result cache: DEL goes on without prevResult). Code 5 naming the path. */
int cni_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		      enum cni_write_who who, struct cni_err *err) CNI_MUST_CHECK;

/* A cni_write_atomic whose fsyncs come later, when the caller has started the work they are to
 * overlap. */
struct cni_flush;

/* Writes path atomically as cni_write_replace does (every reader, a process started after a
 * crash of this one included, sees the new content from the return on); making it durable (fsync
 * of the file, then of its directory) is left to cni_flush_run, on the caller's thread at the
 * moment it chooses, or at the latest to cni_flush_wait, which says whether it is. For an intent
 * written before slow work that it must outlive a power cut only if the work succeeds: the
 * caller starts the work (meta/plugin.c: feeds its first delegate, which then runs in its own
 * process), runs the fsyncs while it goes on, and fails it when they fail. No thread: one made
 * for the fsyncs was often scheduled behind the very process it was to overlap. Returns 0 with
 * *flush (to be waited for) or -1 with err, as cni_write_atomic (then *flush is NULL). */
int cni_write_atomic_begin(const char *path, const void *data, size_t len, mode_t mode,
			   enum cni_write_who who, struct cni_flush **flush,
			   struct cni_err *err) CNI_MUST_CHECK;

/* Runs the fsyncs of cni_write_atomic_begin now, on this thread, once (again, or NULL: nothing);
 * their outcome is kept for cni_flush_wait. */
void cni_flush_run(struct cni_flush *flush);

/* Runs the fsyncs unless cni_flush_run has, and frees flush (NULL: nothing to wait for, 0).
 * 0 when the file is durable; -1 with err (code 5: "sync <path>: <why>" or "sync directory of
 * <path>: <why>") when it may not be. */
int cni_flush_wait(struct cni_flush *flush, struct cni_err *err) CNI_MUST_CHECK;

/* cni_read_file flags. */
enum cni_file_flags {
	/* Refuse (ELOOP, code 5) a symlink in the last component: the default, for files plexus
	 * itself writes. */
	CNI_FILE_NOFOLLOW = 0,
	/* Follow a symlink in the last component: files others manage (kubeconfig, the mounted
	 * service-account files, which are symlinks into a ..data directory). */
	CNI_FILE_FOLLOW = 1 << 0,
	/* A secret (token, key): every copy the reader makes is zeroed before it is freed; free
	 * the result with cni_file_free_secret. */
	CNI_FILE_WIPE = 1 << 1,
};

/* Reads a regular file of at most max bytes (bigger is an error) as flags say. The file is
 * fstat'ed before its type is looked at. Returns a malloc'd NUL-terminated buffer and its
 * length in *len (may be NULL).
 * Not found, as cni/err.h says: NULL with errno ENOENT and err untouched. Any other failure:
 * NULL with err set (code 5: "open <path>: <why>", "<path>: not a regular file",
 * "<path>: larger than <max> bytes", "read <path>: <why>"; 999 out of memory). */
char *cni_read_file(const char *path, size_t max, unsigned flags, size_t *len,
		    struct cni_err *err) CNI_MUST_CHECK;

/* A JSON document in a file, read as cni_read_file reads it (max, flags) and parsed: 1 with
 * *doc (the caller's); 0 when there is no such file (err untouched); -1 with err (the reader's
 * errors, or the parser's naming path). */
int cni_read_json(const char *path, size_t max, unsigned flags, cJSON **doc,
		  struct cni_err *err) CNI_MUST_CHECK;

/* Frees what cni_read_file returned with CNI_FILE_WIPE (len as it returned), zeroed first. */
void cni_file_free_secret(char *data, size_t len);

/* Removes path; a missing file is success. Not synced: a removal lost in a power cut brings back
 * a file whose consumers must cope anyway (a cache whose DEL is idempotent). Code 5 otherwise. */
int cni_remove_file(const char *path, struct cni_err *err) CNI_MUST_CHECK;

/* Removes what a writer killed between creating its temporary file and renaming it left next
 * to path: CNI_WRITE_LOCKED unlinks "<path>.tmp"; CNI_WRITE_SHARED reads the directory and
 * removes both kinds ("<path>.tmp" and every "<path>.tmp.<pid>"). Best effort, returns
 * nothing. */
void cni_remove_temporaries(const char *path, enum cni_write_who who);

/* Whether name (a directory entry) is a temporary file a write went through: "<path>.tmp" or
 * "<path>.tmp.<pid>" (see enum cni_write_who), so a reader of the directory skips it. */
bool cni_is_temporary_name(const char *name);

#endif

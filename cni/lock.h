/* cni/lock.h: the per-container and per-VF locks: an exclusive flock on a file.
 * flock(2) semantics; meta/main.c locks each container with it (issue 12: sriov's VF lock next). */
#ifndef PLEXUS_CNI_LOCK_H
#define PLEXUS_CNI_LOCK_H

#include <stdbool.h>

#include "cni/err.h"

/* Takes an exclusive flock on path (created 0600, not following symlinks), waiting for another
 * holder at most timeout_ms (<= 0: as long as it takes; then code 11 "... is busy"). Robust
 * against a holder that removed the file: the lock is retaken until the locked inode is the one
 * at path. With inherit, the descriptor stays open across exec, so the plugins spawned while it
 * is held hold it too: when the caller is killed mid-operation, the next operation on the same
 * lock still waits for the orphaned plugin to finish. Returns the fd or -1 with err (code 5 or
 * 11). */
int cni_lock(const char *path, int timeout_ms, bool inherit, struct cni_err *err) CNI_MUST_CHECK;

/* Releases a lock from cni_lock; with remove, unlinks path first (while still holding it). */
void cni_unlock(int fd, const char *path, bool remove);

#endif

/* delegates/exec.h: run a plugin binary with posix_spawn and collect what it says.
 * Follows libcni pkg/invoke RawExec (stdin piped, stdout/stderr captured, ETXTBSY retried). */
#ifndef PLEXUS_DLG_EXEC_H
#define PLEXUS_DLG_EXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

#define DLG_EXEC_MAX_OUTPUT_DEFAULT (64u << 20) /* 64 MiB per stream */

struct dlg_exec_req {
	const char *path;  /* absolute path of the executable */
	char *const *argv; /* NULL -> { path, NULL } */
	char *const *envp; /* complete environment, NULL-terminated; NULL -> empty */
	const char *input; /* written to the child's stdin, then closed */
	size_t input_len;
	int timeout_ms;	     /* <= 0: no deadline */
	size_t max_output;   /* per stream; 0 -> DLG_EXEC_MAX_OUTPUT_DEFAULT */
	bool forward_stderr; /* also copy the child's stderr to ours once it exits */
};

struct dlg_exec_res {
	int exit_code; /* exit status, or 128+signal when killed */
	bool signaled;
	bool timed_out; /* killed at the deadline */
	char *out;	/* NUL-terminated stdout; never NULL after success */
	size_t out_len;
	char *errout; /* NUL-terminated stderr; never NULL after success */
	size_t err_len;
};

/* Spawns the child in its own process group, feeds input while reading stdout and stderr
 * (poll, no deadlock whatever the sizes), and waits for it. At the deadline the whole process
 * group is killed (SIGKILL) and timed_out set. Once the child has exited, pipes still held
 * open by a grandchild are drained of what is already there and closed (never waited on).
 * A stream over max_output is an error (code 5, "output of <path> exceeds N bytes") and the
 * group is killed. ETXTBSY at spawn is retried 5 times, 1 s apart. A child that runs and
 * exits non-zero is NOT an error here: returns 0 and the caller reads exit_code. Neither is
 * the deadline: returns 0 with timed_out, signaled and exit_code 137, plus what was said before.
 * Returns 0, or -1 with err set, code 5 (spawn failure "exec <path>: <strerror>", I/O failure,
 * output cap), res freed. SIGPIPE is blocked in the calling thread only while this runs. */
int dlg_exec(const struct dlg_exec_req *req, struct dlg_exec_res *res,
	     struct cni_err *err) CNI_MUST_CHECK;

/* dlg_exec in two steps, for a caller with work to do while the child starts (its exec, its
 * loader, its libc's start: half a millisecond for a small static glibc program here), work
 * that must be done before the child may act. dlg_exec_start spawns the child as dlg_exec does,
 * with its stdin still open and nothing written to it (a CNI plugin reads its config before it
 * does anything); the deadline runs from here. dlg_exec_finish gives it input (the request's
 * input is ignored) and does the rest of dlg_exec, the same returns; dlg_exec_cancel instead
 * kills its process group and reaps it. Each consumes the child; req->path must live until
 * then (errors name it). */
struct dlg_exec_child;

int dlg_exec_start(const struct dlg_exec_req *req, struct dlg_exec_child **child,
		   struct cni_err *err) CNI_MUST_CHECK;
int dlg_exec_finish(struct dlg_exec_child *child, const char *input, size_t input_len,
		    struct dlg_exec_res *res, struct cni_err *err) CNI_MUST_CHECK;
void dlg_exec_cancel(struct dlg_exec_child *child); /* NULL: nothing */

/* Has dlg_exec_finish call fn(arg) once, on its thread, as soon as the child has all its input
 * (its stdin closed: written in full, or closed by the child) and before anything more of it is
 * waited for: for work that may overlap the child's run but not come before its feeding
 * (meta/plugin.c: the plan's fsyncs). Not called when the child is cancelled, or ends or fails
 * before it has its input. */
void dlg_exec_when_fed(struct dlg_exec_child *child, void (*fn)(void *arg), void *arg);

void dlg_exec_res_free(struct dlg_exec_res *res);

/* Multus's host-root trick (its daemon's chrootDir): from now on every delegate runs chroot()ed
 * in root (fork, chroot, execve: chroot is per process, so it cannot be a posix_spawn), its
 * path taken inside root, and dlg_find looks for binaries under root. NULL or "" turns it off.
 * Process-wide: plexusd sets it once at start, before any thread; bin/plexus never does. */
void dlg_exec_set_root(const char *root);

/* The root set above, or NULL. */
const char *dlg_exec_root(void);

#endif

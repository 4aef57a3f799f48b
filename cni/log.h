/* cni/log.h: the one global: a logger with Multus's levels, to stderr and/or a file; settings
 * per process, the request prefix per thread.
 * Follows Multus pkg/logging: panic < error < verbose < debug; default panic, stderr on. */
#ifndef PLEXUS_CNI_LOG_H
#define PLEXUS_CNI_LOG_H

#include <stdbool.h>
#include <time.h>

#include "cni/err.h"

/* The one clock format: t in UTC as RFC 3339 to the second, "2026-12-06T05:00:00Z" (Kubernetes's
 * metav1.Time: events, plan stamps); with usec >= 0, "2026-12-06T05:00:00.123456Z" (the log's
 * stamps). Returns buf (CNI_RFC3339_MAX bytes), or NULL for a time it cannot show. */
#define CNI_RFC3339_MAX 32
const char *cni_rfc3339(time_t t, long usec, char buf[CNI_RFC3339_MAX]);

enum cni_log_level {
	CNI_LOG_PANIC = 0,
	CNI_LOG_ERROR = 1,
	CNI_LOG_VERBOSE = 2,
	CNI_LOG_DEBUG = 3,
};

/* "panic"|"error"|"verbose"|"debug", case-insensitive; -1 for anything else. */
int cni_log_level_parse(const char *s) CNI_MUST_CHECK;

/* Sets the level; stays at the previous one (and warns) for an unknown name, as Multus does. */
void cni_log_set_level_name(const char *name);
void cni_log_set_level(enum cni_log_level level);
enum cni_log_level cni_log_get_level(void);
void cni_log_set_stderr(bool on);
/* Appends to path (created 0600). Returns 0 or -errno; a failure keeps logging to stderr. */
int cni_log_set_file(const char *path) CNI_MUST_CHECK;
/* Size-based rotation of the log file, checked when the file is opened (each invocation is
 * short): a file of max_bytes or more is renamed to <path>.1 (older backups shift to .2 ...,
 * at most max_backups are kept, and backups older than max_age_days are removed). 0 turns a
 * limit off. Follows Multus's logOptions (lumberjack's maxSize/maxBackups/maxAge); call it
 * before cni_log_set_file. */
void cni_log_set_rotation(long long max_bytes, int max_backups, int max_age_days);

/* Fixes the settings made so far for the life of the process (until cni_log_close): the
 * setters above then change nothing. A host process serving many requests from many threads
 * (plexusd) calls it once, so that a request's netconf log keys neither race nor reopen the
 * file; its own config decides, as Multus's daemon config overlay makes them equal anyway. */
void cni_log_fix(void);

/* The request prefix of the calling thread, e.g. "[ns/pod/uid:net]" or "<containerID>:<ifname>";
 * copied. Each thread has its own (free it with cni_log_set_prefix(NULL) before the thread
 * ends). */
void cni_log_set_prefix(const char *prefix);
/* Closes the file, unfixes the settings and frees the calling thread's prefix. */
void cni_log_close(void);

void cni_log(enum cni_log_level level, const char *fmt, ...) CNI_PRINTF(2, 3);

#define log_error(...)	 cni_log(CNI_LOG_ERROR, __VA_ARGS__)
#define log_verbose(...) cni_log(CNI_LOG_VERBOSE, __VA_ARGS__)
#define log_debug(...)	 cni_log(CNI_LOG_DEBUG, __VA_ARGS__)

#endif

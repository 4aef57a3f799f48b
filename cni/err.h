/* cni/err.h: the one error type that travels up the stack (code, message, details).
 * Follows CNI SPEC.md, Section 5 'Error' (object and well-known codes) and libcni's extra codes 8
 * and 999. */
#ifndef PLEXUS_CNI_ERR_H
#define PLEXUS_CNI_ERR_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* A status the caller must look at: every public function that returns one is marked, so a
 * forgotten check is a compile error (-Werror), as iproute2's libnetlink.h does. */
#define CNI_MUST_CHECK __attribute__((warn_unused_result))

/* A printf-like function: the compiler checks its format against its arguments. */
#define CNI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* "Not found" is an answer, not an error, wherever the caller may go on without the thing
 * (a cache entry, a state file, an optional config):
 *   - a lookup returns 1 when found (out filled), 0 when absent (err untouched), -1 with err set
 *     when it could not tell (unreadable, unparsable); e.g. dlg_cache_read, sriov_state_load_path;
 *   - a reader that returns a pointer returns NULL with errno ENOENT and err untouched when the
 *     thing is absent, NULL with err set on any other failure; e.g. cni_read_file. The caller
 *     tells them apart with cni_err_isset(err).
 * Where absence is itself the failure the caller reports (a plugin binary, a network by name),
 * the function sets err like any other error (dlg_find, with libcni FindInPath's message). */
enum cni_code {
	CNI_ERR_UNKNOWN = 0,
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_INVALID_NETNS = 8,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_NOT_AVAILABLE_DEGRADED = 51,
	CNI_ERR_INTERNAL = 999,
};

/* Caller-owned. Zero-initialise ({0}); cni_err_clear() frees the strings. */
struct cni_err {
	unsigned code;
	char *msg;
	char *details;
};

/* Sets code and msg (printf format); details cleared. Returns -1 so callers can
 * `return cni_err_set(...)`. A previous message is replaced. */
int cni_err_set(struct cni_err *err, unsigned code, const char *fmt, ...) CNI_PRINTF(3, 4);

/* Sets details (printf format) without touching code or msg. Returns -1. */
int cni_err_details(struct cni_err *err, const char *fmt, ...) CNI_PRINTF(2, 3);

/* Prefixes the message: "<prefix>: <old msg>". Returns -1. */
int cni_err_prefix(struct cni_err *err, const char *fmt, ...) CNI_PRINTF(2, 3);

/* Collects one more failure into err: the first is moved in, later ones have their message
 * appended after sep ("a / b"); one is left empty. */
void cni_err_join(struct cni_err *err, struct cni_err *one, const char *sep);

/* Moves src into dst (dst cleared first, src left empty). */
void cni_err_move(struct cni_err *dst, struct cni_err *src);

void cni_err_clear(struct cni_err *err);

/* Sets err to code 999 "out of memory" (the one message for an allocation failure anywhere).
 * Returns -1 so callers can `return cni_err_oom(err);`. */
int cni_err_oom(struct cni_err *err);

/* Outside text made safe for a message or a log line, as Go's %q writes it: wrapped in double
 * quotes, '"' and '\\' escaped, \a \b \f \n \r \t \v by letter, other control bytes and
 * DEL as \xNN; other bytes (UTF-8 included) as they are. With max > 0 at most max bytes of s
 * are quoted and "..." follows a cut. Returns a malloc'd string, NULL only when out of memory. */
char *cni_quote(const char *s, size_t max);

/* True once an error has been set. */
static inline int cni_err_isset(const struct cni_err *err)
{
	return err->msg != NULL;
}

/* The error object {"cniVersion", "code", "msg", "details"?}; NULL only on OOM. */
cJSON *cni_err_to_json(const struct cni_err *err, const char *cni_version);

/* Parses a plugin's error object. Returns 0 and fills err when the text is an error
 * object with a numeric code, -1 otherwise (err untouched). */
int cni_err_from_json(const char *text, struct cni_err *err) CNI_MUST_CHECK;

#endif

/* shim/http.h: one HTTP/1.1 request over a unix socket, and its reply: all plexus-shim needs of
 * HTTP. Follows Multus pkg/server/api/api.go DoCNI (POST, Connection: close, any host). */
#ifndef PLEXUS_SHIM_HTTP_H
#define PLEXUS_SHIM_HTTP_H

#include <stddef.h>

#include "cni/err.h"

/* The most a reply may hold: headers, and body (a CNI result or error object is a few KiB). */
#define SHIM_HTTP_MAX_HEADER (16 * 1024)
#define SHIM_HTTP_MAX_BODY   (4 * 1024 * 1024)

/* How a request ended short of a reply: the caller tells "nobody listens" (the shim's DEL
 * then falls back to the plan on disk) from a daemon that went away mid-request. */
enum shim_http_fail {
	SHIM_HTTP_OK = 0,
	SHIM_HTTP_CONNECT,   /* no socket, refused, not a socket: nothing was sent */
	SHIM_HTTP_TRANSPORT, /* connected, then a write/read failed, timed out, or closed early */
	SHIM_HTTP_PROTOCOL,  /* a reply that is not HTTP/1.x or breaks a cap */
};

struct shim_http_reply {
	int status; /* e.g. 200 */
	char *body; /* malloc'd, NUL-terminated; "" when empty */
	size_t len;
};

/* Sends `method path` with body (len bytes, may be 0; Content-Type application/json when len >
 * 0) to the unix socket at socket_path, and reads the whole reply: a Content-Length, chunked
 * or close-delimited body. Everything (connect included) must finish within timeout_ms.
 * Returns SHIM_HTTP_OK with reply filled (free with shim_http_reply_free), or another value with
 * err set (code 999, naming the socket and what failed). */
enum shim_http_fail shim_http_request(const char *socket_path, const char *method, const char *path,
				      const char *body, size_t len, int timeout_ms,
				      struct shim_http_reply *reply,
				      struct cni_err *err) CNI_MUST_CHECK;

/* Reads one whole reply from fd, as shim_http_request does after sending (its parser of what
 * the daemon sends, exposed for test/fuzz/fuzz_shim_reply.c); peer names the other end in
 * errors. */
enum shim_http_fail shim_http_read_reply(int fd, int timeout_ms, const char *peer,
					 struct shim_http_reply *reply,
					 struct cni_err *err) CNI_MUST_CHECK;

void shim_http_reply_free(struct shim_http_reply *reply);

#endif

/* k8s/grpc.h: unary gRPC calls over a unix socket: HTTP/2 with prior knowledge through libcurl
 * (k8s/curl.h), one deadline for the whole call, transient failures retried with backoff.
 * Follows gRPC's doc/PROTOCOL-HTTP2.md (length-prefixed messages, grpc-status in trailers). */
#ifndef PLEXUS_K8S_GRPC_H
#define PLEXUS_K8S_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "cni/buf.h"
#include "cni/err.h"
#include "k8s/curl.h"

#define K8S_GRPC_PREFIX 5 /* before each message: flag 0 (uncompressed), big-endian length */

/* The gRPC status codes plexus acts on (the others are only named in messages). */
enum k8s_grpc_code {
	K8S_GRPC_OK = 0,
	K8S_GRPC_UNKNOWN = 2,
	K8S_GRPC_DEADLINE_EXCEEDED = 4,
	K8S_GRPC_RESOURCE_EXHAUSTED = 8,
	K8S_GRPC_UNIMPLEMENTED = 12,
	K8S_GRPC_UNAVAILABLE = 14,
};

/* One reply. Zero it with .grpc_status = -1; free with k8s_grpc_reply_reset(). */
struct k8s_grpc_reply {
	struct cni_buf body; /* the whole body: one length-prefixed message at most */
	size_t max;	     /* the call's msg_max, set by each attempt */
	bool too_big;
	long http_status;
	int grpc_status;    /* -1 until seen */
	char *grpc_message; /* percent-decoded, control bytes as '?', or NULL */
};

/* Calls to one service on one socket within one deadline. The caller fills the members up to
 * deadline and zeroes the rest; k8s_grpc_close() frees what k8s_grpc_open() made. */
struct k8s_grpc_call {
	const char *socket;   /* unix socket path */
	const char *service;  /* e.g. "v1.PodResourcesLister" */
	const char *what;     /* names the server in log lines, e.g. "kubelet pod-resources" */
	size_t msg_max;	      /* largest reply message accepted */
	int max_attempts;     /* per method, for UNAVAILABLE/RESOURCE_EXHAUSTED/connect refused */
	long backoff_ms;      /* first pause between attempts, doubled up to 1 s */
	long start, deadline; /* monotonic ms (k8s_now_ms) */
	CURL *h;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

/* Loads libcurl (k8s_curl_load) and prepares the handle. Returns 0 or -1 (code 5, or 999 when
 * out of memory); call k8s_grpc_close() either way. */
CNI_MUST_CHECK int k8s_grpc_open(struct k8s_grpc_call *x, struct cni_err *err);
void k8s_grpc_close(struct k8s_grpc_call *x);

/* POSTs req (reqlen bytes, framed by k8s_grpc_frame) to /<service>/<method>, with grpc-timeout
 * the time left, and retries UNAVAILABLE, RESOURCE_EXHAUSTED and a refused connection while
 * attempts and the deadline allow. Returns 0 with r holding a gRPC status: OK (err clear) or
 * not (err "<CODE>: <grpc-message>", code 5); or -1 with err: the deadline passing ("deadline
 * of N ms exceeded", code 11), retries exhausted ("... (gave up after N attempts in M ms)",
 * code 11), a reply over msg_max ("reply exceeds the N MiB limit", code 6), a transport or
 * HTTP failure (libcurl's words, code 5). */
CNI_MUST_CHECK int k8s_grpc_invoke(struct k8s_grpc_call *x, const char *method, const uint8_t *req,
				   size_t reqlen, struct k8s_grpc_reply *r, struct cni_err *err);

void k8s_grpc_reply_reset(struct k8s_grpc_reply *r);

/* Packs m behind the 5-byte prefix into buf. Returns the framed length, 0 when cap is too
 * small. */
size_t k8s_grpc_frame(uint8_t *buf, size_t cap, const ProtobufCMessage *m) CNI_MUST_CHECK;

#endif

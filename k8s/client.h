/* k8s/client.h: REST to the Kubernetes API over one kept-alive connection: requests with
 * deadlines and bounded retries, Status bodies as errors, streamed GETs for watches. Follows the
 * Kubernetes API conventions; the objects plexus asks for are in k8s/api.h. */
#ifndef PLEXUS_K8S_CLIENT_H
#define PLEXUS_K8S_CLIENT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/kubeconfig.h"

/* Limits of one call. A call makes attempts until one succeeds, a non-transient failure
 * occurs, max_attempts is reached or budget_ms has passed since the call began; each attempt
 * has its own deadline of min(attempt_timeout_ms, what is left of the budget). Transient:
 * connection refused, reset or closed without a reply, an attempt deadline, 429, 500, 503.
 * Between attempts: backoff_ms, doubled each time up to 1 s, or the server's Retry-After when
 * larger; never past the budget. Zero members take the defaults below. */
struct k8s_client_opts {
	long attempt_timeout_ms; /* default 2500 */
	long budget_ms;		 /* default 5000 */
	int max_attempts;	 /* default 8 */
	long backoff_ms;	 /* default 100 */
};

struct k8s_client;

/* Copies creds (secrets included) and opts (NULL for the defaults). Cheap: libcurl is neither
 * loaded nor touched until the first request, so a client may be created on paths that
 * usually make no call (DEL from the cache). Returns NULL only on OOM (err set). */
struct k8s_client *k8s_client_new(const struct k8s_creds *creds, const struct k8s_client_opts *opts,
				  struct cni_err *err);

/* Closes the connection and wipes the copied secrets. NULL is fine. */
void k8s_client_free(struct k8s_client *c);

/* True once this process has loaded libcurl (tests check that only API paths pay for it). */
bool k8s_client_curl_loaded(void);

/* Every request goes over the client's one libcurl easy handle, so consecutive calls reuse one
 * TLS connection (keep-alive). TLS peer and host verification are on unless the kubeconfig
 * says insecure-skip-tls-verify; the CA, client certificate and key are handed to libcurl as
 * in-memory blobs. The bearer token is sent in an Authorization header and never logged.
 *
 * Failures fill err with a message naming the call, "<METHOD> <what>: ...":
 *  - the server answered with an error status: "<code> <reason>: <Status.message>", e.g.
 *    `GET pods/ns/x: 403 Forbidden: pods "x" is forbidden: User ...`; code 5;
 *  - transport or TLS failure: libcurl's description; code 5;
 *  - transient failures left after the retry budget: the last one, followed by
 *    "(gave up after N attempts in M ms)"; code 11 (try again later);
 *  - libcurl cannot be loaded: "cannot load libcurl.so.4: ..."; code 5.
 * Return values: 0 on success, -ENOENT when the server said 404 (err set too, so the caller
 * may log it), -1 for every other failure. */

/* Generic call: method, an absolute API path (query allowed), what (for messages, e.g.
 * "pods/ns/name"), an optional body with its content type, retry (false makes one attempt).
 * On success *out (when out is non-NULL) is the parsed JSON reply, or NULL for an empty one;
 * replies over 16 MiB are refused. */
CNI_MUST_CHECK int k8s_request(struct k8s_client *c, const char *method, const char *path,
			       const char *what, const char *content_type, const char *body,
			       bool retry, cJSON **out, struct cni_err *err);

/* A streamed GET, for LIST pages and WATCH streams: the body of a 2xx reply is handed over as
 * it arrives. */
struct k8s_stream {
	/* Gets the body in pieces; a nonzero return aborts the transfer (-ECANCELED). */
	int (*on_data)(const char *data, size_t n, void *arg);
	void *arg;
	long idle_ms; /* abort when no byte arrives for this long (0: never) */
	long status;  /* out: the reply's HTTP status, 0 when none came */
};

/* GET path (absolute, query allowed) over c's connection, one attempt, no overall deadline
 * (the connection must be made within attempt_timeout_ms). Returns 0 when a 2xx reply has
 * ended (the server closed the stream); -ECANCELED when on_data or k8s_client_interrupt
 * stopped it; -ETIMEDOUT when idle_ms passed without a byte; -1 with err (messages as
 * k8s_request's: "GET <what>: 410 Gone: <Status.message>", st->status set) for an error
 * status, a transport failure or libcurl not loading. */
CNI_MUST_CHECK int k8s_stream_get(struct k8s_client *c, const char *path, const char *what,
				  struct k8s_stream *st, struct cni_err *err);

/* Process-wide, set once before any thread: fn is told of every request attempt as it ends,
 * its method and HTTP status (0: no answer), streamed GETs included (for a daemon's metrics;
 * fn must be thread-safe). NULL: none. */
void k8s_client_set_observer(void (*fn)(const char *method, long status));

/* Whether c was made from exactly these credentials (server, CA, client certificate and key,
 * token, insecure): a pool of clients hands one out again only to the same identity. */
bool k8s_client_uses(const struct k8s_client *c, const struct k8s_creds *creds);

/* Thread-safe: ends the k8s_stream_get running on c at once, and every later one, with
 * -ECANCELED (how a watch thread is stopped promptly). */
void k8s_client_interrupt(struct k8s_client *c);

#endif

/* k8s/client.h: the few Kubernetes REST calls plexus makes, over one kept-alive connection.
 * Follows the Kubernetes API conventions (Status bodies, JSON merge patch) and Multus
 * pkg/k8sclient/k8sclient.go (GetPod, getKubernetesDelegate, SetNetworkStatus). */
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

/* Thread-safe: ends the k8s_stream_get running on c at once, and every later one, with
 * -ECANCELED (how a watch thread is stopped promptly). */
void k8s_client_interrupt(struct k8s_client *c);

/* GET /api/v1/namespaces/<ns>/pods/<name> -> *pod (caller deletes). ns and name must be
 * DNS-1123 subdomains (code 7 otherwise, before any request). */
CNI_MUST_CHECK int k8s_get_pod(struct k8s_client *c, const char *ns, const char *name, cJSON **pod,
			       struct cni_err *err);

/* GET /apis/k8s.cni.cncf.io/v1/namespaces/<ns>/network-attachment-definitions/<name>. */
CNI_MUST_CHECK int k8s_get_nad(struct k8s_client *c, const char *ns, const char *name, cJSON **nad,
			       struct cni_err *err);

/* GET /apis/resource.k8s.io/v1/namespaces/<ns>/resourceclaims/<name> (Dynamic Resource
 * Allocation, Kubernetes 1.34+). */
CNI_MUST_CHECK int k8s_get_resource_claim(struct k8s_client *c, const char *ns, const char *name,
					  cJSON **claim, struct cni_err *err);

/* GET /apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName=<node>,spec.driver=
 * <driver> -> *list, a ResourceSliceList (caller deletes). node and driver must be DNS-1123
 * subdomains (code 7 otherwise, before any request). */
CNI_MUST_CHECK int k8s_list_resource_slices(struct k8s_client *c, const char *node,
					    const char *driver, cJSON **list, struct cni_err *err);

/* PATCH /api/v1/namespaces/<ns>/pods/<name>/status with Content-Type
 * application/merge-patch+json and the body {"metadata":{"annotations":<annotations>}}: keys
 * with string values are set, keys with null are removed, every other annotation and every
 * other field stays as it is (RFC 7386). No resourceVersion is sent, so there is no conflict
 * to retry. The status subresource is used because it is what Multus writes through (its RBAC
 * and admission policies already cover it) and it cannot change the pod's spec, unlike a
 * patch of the pod itself; it is never a PUT, which would wipe concurrently written status.
 * annotations must be an object of strings or nulls (code 7 otherwise). */
CNI_MUST_CHECK int k8s_patch_pod_annotations(struct k8s_client *c, const char *ns, const char *name,
					     const cJSON *annotations, struct cni_err *err);

/* A core/v1 Event about a pod, as client-go's recorder would send it. */
struct k8s_event {
	const char *namespace, *pod_name, *pod_uid; /* the involved pod (uid may be NULL) */
	const char *type;			    /* "Normal" or "Warning" */
	const char *reason;			    /* e.g. "AddedInterface", "NoNetworkFound" */
	const char *message;
	const char *component; /* source.component; NULL means "plexus" */
};

/* POST /api/v1/namespaces/<ns>/events: one attempt (events are best effort and not
 * idempotent), with the attempt timeout. Callers log a failure and carry on. */
CNI_MUST_CHECK int k8s_post_event(struct k8s_client *c, const struct k8s_event *ev,
				  struct cni_err *err);

/* True for a DNS-1123 subdomain: 1..253 of [a-z0-9.-], starting and ending alphanumeric.
 * Namespaces, pods and NADs are all named so; anything else cannot reach a URL path. */
bool k8s_valid_subdomain(const char *s);

#endif

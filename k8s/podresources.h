/* k8s/podresources.h: which devices kubelet allocated to a pod, per resource name, from kubelet's
 * pod-resources v1 gRPC service or, when its socket is absent, kubelet's checkpoint file.
 * Follows Multus pkg/kubeletclient (List, sorted IDs) and pkg/checkpoint (matched by pod UID);
 * Get is preferred where kubelet offers it (the KubeletPodResourcesGet feature gate). */
#ifndef PLEXUS_K8S_PODRESOURCES_H
#define PLEXUS_K8S_PODRESOURCES_H

#include <stddef.h>

#include "cni/err.h"

/* Defaults of the netconf keys podResourcesSocket and (plexus only) podResourcesCheckpoint. */
#define K8S_PODRES_DEFAULT_SOCKET     "/var/lib/kubelet/pod-resources/kubelet.sock"
#define K8S_PODRES_DEFAULT_CHECKPOINT "/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint"
#define K8S_PODRES_MSG_MAX	      (16u << 20) /* kubelet's clients' max receive message size */

/* Limits of one k8s_podres_get(). Zero members (or a NULL opts) take the defaults. */
struct k8s_podres_opts {
	const char *socket;	/* default K8S_PODRES_DEFAULT_SOCKET */
	const char *checkpoint; /* default K8S_PODRES_DEFAULT_CHECKPOINT */
	long deadline_ms;	/* the whole call, Get + List fallback + retries; default 10000 */
	int max_attempts;	/* per method, for UNAVAILABLE/RESOURCE_EXHAUSTED; default 5 */
	long backoff_ms;	/* first pause between attempts, doubled up to 1 s; default 100 */
};

/* Where a device map came from. */
enum k8s_podres_source {
	K8S_PODRES_FROM_GET = 1,  /* v1.PodResourcesLister/Get */
	K8S_PODRES_FROM_LIST = 2, /* v1.PodResourcesLister/List, filtered by namespace and name */
	K8S_PODRES_FROM_CHECKPOINT = 3, /* kubelet_internal_checkpoint, filtered by pod UID */
};

/* The device IDs of one resource name, over all of the pod's containers. */
struct k8s_devres {
	char *resource; /* e.g. "intel.com/sriov_a" */
	char **ids;	/* sorted by strcmp (Go's sort.Strings); never empty strings */
	size_t nids;
	size_t next; /* how many k8s_devmap_assign() has handed out */
};

/* A pod's devices: one k8s_devres per resource name, sorted by resource name. */
struct k8s_devmap {
	struct k8s_devres *res;
	size_t n;
	enum k8s_podres_source source;
	/* kubelet's DRA devices (ContainerResources.dynamic_resources, kubelet's
	 * KubeletPodResourcesDynamicResources gate): one k8s_devres per ResourceClaim name, the
	 * part after '=' of each CDI device name as ID, as Multus v4.1-v4.3 read them; NULL when
	 * kubelet reported none (always from the checkpoint). */
	struct k8s_devmap *claims;
};

/* The devices allocated to pod ns/name (uid is used only by the checkpoint fallback and may be
 * NULL or "" otherwise). On success *out is a new map (caller frees; it may have n == 0: a pod
 * without devices is not an error) and 0 is returned.
 *
 * Which source: when the socket path does not exist (stat ENOENT), the checkpoint file,
 * matched by uid (entries of every container, the DeviceIDs as a list or as a map NUMA node ->
 * list); otherwise gRPC over the unix socket (HTTP/2 prior knowledge, libcurl loaded on demand
 * through k8s/curl.h): Get{pod_name, pod_namespace}, then List when kubelet answers Get with
 * UNIMPLEMENTED (kubelet < 1.27) or UNKNOWN "PodResources API Get method disabled" (the
 * KubeletPodResourcesGet gate off). The call carries grpc-timeout; replies over
 * K8S_PODRES_MSG_MAX are refused.
 *
 * Retried within the deadline: UNAVAILABLE, RESOURCE_EXHAUSTED (kubelet's rate limit) and a
 * refused connection (a socket file with nobody listening: kubelet restarting).
 *
 * Errors, all prefixed "kubelet pod-resources <Get|List> (<socket>): " or
 * "kubelet checkpoint <path>: ":
 *  - gRPC status: "<CODE>: <grpc-message>", e.g. kubelet's "UNKNOWN: pod p1 in namespace ns1
 *    not found"; code 5;
 *  - retryable failures left after max_attempts or the deadline: the last one followed by
 *    " (gave up after N attempts in M ms)"; code 11;
 *  - the deadline passing during an attempt: "deadline of N ms exceeded"; code 11;
 *  - transport or HTTP/2 failure (not a gRPC server, connection reset): libcurl's words;
 *    code 5;
 *  - an undecodable reply: "reply: <what is wrong>"; code 6; oversize: "reply exceeds the 16
 *    MiB limit"; code 6;
 *  - checkpoint unreadable or not JSON: code 5 or 6; no uid: code 7;
 *  - libcurl cannot be loaded: see k8s/curl.h; code 5.
 * Returns -1 on any failure (*out NULL); err is left unset on success. Blocks for at most
 * deadline_ms (plus the checkpoint read). */
CNI_MUST_CHECK int k8s_podres_get(const struct k8s_podres_opts *opts, const char *ns,
				  const char *name, const char *uid, struct k8s_devmap **out,
				  struct cni_err *err);

void k8s_devmap_free(struct k8s_devmap *m);

/* The entry for resource, or NULL when the pod has no device of it. */
struct k8s_devres *k8s_devmap_find(const struct k8s_devmap *m, const char *resource);

/* Hands out the next device ID of resource, for the attachment of network (a name used in the
 * message only, e.g. "ns1/sriov-a"): the k-th call for the same resource gets the k-th ID, in
 * sorted order, as Multus does across defaultNetworks, annotation networks and the
 * default-network annotation. *id is borrowed from the map. Fails (-1, code 7, *id untouched)
 * with messages naming both:
 *  - `network "ns1/sriov-a": the pod has no device of resource "intel.com/sriov_a" (does the
 *    pod request it in its resources?)`;
 *  - `network "ns1/sriov-b": not enough devices of resource "intel.com/sriov_a": the pod has
 *    1, all taken by earlier attachments`. */
CNI_MUST_CHECK int k8s_devmap_assign(struct k8s_devmap *m, const char *resource,
				     const char *network, const char **id, struct cni_err *err);

/* The decoders k8s_podres_get() uses, exposed for tests and fuzzing.
 *
 * body is a whole gRPC reply body of method (K8S_PODRES_FROM_GET or K8S_PODRES_FROM_LIST): exactly one
 * uncompressed length-prefixed message (5-byte prefix: flag 0, big-endian length) holding a
 * GetPodResourcesResponse or ListPodResourcesResponse. Only the pod ns/name is kept (a Get
 * reply for another pod is an error). Code 6 on anything malformed. */
CNI_MUST_CHECK int k8s_podres_decode(enum k8s_podres_source method, const void *body, size_t len,
				     const char *ns, const char *name, struct k8s_devmap **out,
				     struct cni_err *err);

/* text (len bytes, no NUL needed) is a kubelet checkpoint; the entries with PodUID == uid are
 * kept. Code 6 when it is not JSON or Data.PodDeviceEntries is malformed. */
CNI_MUST_CHECK int k8s_podres_parse_checkpoint(const char *text, size_t len, const char *uid,
					       struct k8s_devmap **out, struct cni_err *err);

#endif

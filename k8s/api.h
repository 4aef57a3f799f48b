/* k8s/api.h: the Kubernetes objects plexus reads and writes, one call each over k8s/client.
 * Follows Multus pkg/k8sclient/k8sclient.go (GetPod, getKubernetesDelegate, SetNetworkStatus). */
#ifndef PLEXUS_K8S_API_H
#define PLEXUS_K8S_API_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/client.h"

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

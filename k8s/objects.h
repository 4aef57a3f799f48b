/* k8s/objects.h: what plexus reads from pod and NetworkAttachmentDefinition objects: metadata,
 * namespace isolation, the pod UID rule, a NAD's delegate config. Follows Multus
 * pkg/k8sclient/k8sclient.go (getKubernetesDelegate, IsStaticPod) and the NAD client's
 * pkg/utils/cniconfig.go GetCNIConfigFromSpec. */
#ifndef PLEXUS_K8S_OBJECTS_H
#define PLEXUS_K8S_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define K8S_ANNOT_RESOURCE_NAME "k8s.v1.cni.cncf.io/resourceName"
#define K8S_ANNOT_CONFIG_SOURCE "kubernetes.io/config.source"

/* Namespace isolation (Multus pkg/k8sclient/k8sclient.go GetNetworkDelegates with
 * isValidNamespaceReference; netconf namespaceIsolation, globalNamespaces): a pod may use a NAD in
 * its own namespace, or in one of global (n entries); global == NULL means the implicit {"default"}
 * (a configured list replaces it). Returns 0, or -1 with code 7: "namespace isolation enabled,
 * annotation violates permission, pod is in namespace A but refers to target namespace B". */
CNI_MUST_CHECK int k8s_check_namespace_isolation(const char *pod_ns, const char *target_ns,
						 const char *const *global, size_t n,
						 struct cni_err *err);

/* metadata.annotations[key] of an object when it is a string, else NULL (borrowed). */
const char *k8s_object_annotation(const cJSON *obj, const char *key);
/* metadata.<field> ("name", "namespace", "uid") when a string, else NULL (borrowed). */
const char *k8s_object_meta(const cJSON *obj, const char *field);

/* A bare API object: {"apiVersion", "kind", "metadata": {"namespace", "name",
 * "resourceVersion"}}; the namespace is left out when NULL or "" (cluster-scoped), the
 * resourceVersion when NULL. NULL on OOM. */
cJSON *k8s_object_new(const char *api_version, const char *kind, const char *ns, const char *name,
		      const char *rv);

/* A static (kubelet file/http) pod: kubernetes.io/config.source present and not "api". */
bool k8s_pod_is_static(const cJSON *pod);

/* The ADD rule for K8S_POD_UID (Multus pkg/multus/multus.go cmdAdd, after GetPod): fine when
 * want_uid is NULL or empty, equal to metadata.uid, or the pod is static; otherwise -1 with code 4
 * `pod ns/name: expected pod UID "<want>" but got "<got>" from Kube API`. On DEL callers only log
 * this. */
CNI_MUST_CHECK int k8s_pod_check_uid(const cJSON *pod, const char *want_uid, struct cni_err *err);

/* What a NAD contributes to a delegate. Owned members; free with k8s_nad_config_free(). */
struct k8s_nad_config {
	char *config; /* conf or conflist bytes (NUL-terminated) */
	size_t len;
	char *resource_name; /* k8s.v1.cni.cncf.io/resourceName annotation, or NULL */
};

/* From a NAD object (as the API returns it): spec.config as written when it has a non-empty
 * "name"; otherwise re-printed with "name": metadata.name injected (Go's key order, as the NAD
 * client's json.Marshal). It must be a JSON object with "type" or "plugins" ("delegate must
 * have the 'type' or 'plugin' field"); bad JSON is "failed to unmarshal Spec.Config". An empty
 * or missing spec.config gives 0 with out->config NULL (resource_name still filled): where such
 * a network comes from is the caller's policy (plexus: meta_nad_delegate_config, confDir by
 * name). Errors (code 7) start with `network-attachment-definition ns/name: `.
 * Returns 0 or -1; out is zeroed on failure. */
CNI_MUST_CHECK int k8s_nad_delegate_config(const cJSON *nad, struct k8s_nad_config *out,
					   struct cni_err *err);
void k8s_nad_config_free(struct k8s_nad_config *c);

#endif

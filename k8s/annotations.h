/* k8s/annotations.h: network selection, NAD delegate configs, isolation, UID rule, network-status.
 * Follows Multus pkg/k8sclient and the NAD client's CreateNetworkStatuses (multus.md §2, §3.1). */
#ifndef PLEXUS_K8S_ANNOTATIONS_H
#define PLEXUS_K8S_ANNOTATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define K8S_ANNOT_NETWORKS	  "k8s.v1.cni.cncf.io/networks"
#define K8S_ANNOT_DEFAULT_NETWORK "v1.multus-cni.io/default-network"
#define K8S_ANNOT_NETWORK_STATUS  "k8s.v1.cni.cncf.io/network-status"
#define K8S_ANNOT_RESOURCE_NAME	  "k8s.v1.cni.cncf.io/resourceName"
#define K8S_ANNOT_CONFIG_SOURCE	  "kubernetes.io/config.source"

/* Hostile-input limits for a selection annotation. Kubernetes caps all of a pod's annotations
 * at 256 KiB together, so no honest value is bigger. */
#define K8S_ANNOT_MAX_BYTES    (256u * 1024)
#define K8S_ANNOT_MAX_ELEMENTS 1024
#define K8S_ANNOT_MAX_DEPTH    32

/* One network selection element (multus NetworkSelectionElement). Every member is owned. */
struct k8s_net_selection {
	char *name;	       /* NAD name: never empty */
	char *namespace;       /* as given, else the default namespace passed to the parser */
	char *ifname;	       /* "@ifname", "interface" or "interfaceRequest", or NULL */
	cJSON *ips;	       /* array of IP or CIDR strings, or NULL */
	char *mac;	       /* validated as Go's net.ParseMAC, or NULL */
	char *infiniband_guid; /* likewise, or NULL */
	cJSON *port_mappings;  /* [{hostPort, containerPort, protocol?, hostIP?}], or NULL */
	cJSON *bandwidth;      /* {ingressRate, ingressBurst, egressRate, egressBurst}, or NULL */
	cJSON *cni_args;       /* object merged into the delegate's args.cni, or NULL */
	cJSON *default_route;  /* array of IP strings, possibly EMPTY (which still means "filter
				* default routes", §3.6), or NULL when the key is absent */
	char *device_id;       /* deviceID, or NULL */
};

struct k8s_net_selections {
	struct k8s_net_selection *el;
	size_t n;
};

/* Parses a k8s.v1.cni.cncf.io/networks value (NULL or "" -> no elements, 0). A value holding
 * any of '[', '{', '"' is JSON and must be a list of objects; otherwise it is the comma form
 * "[ns/]name[@ifname], ..." with Multus's rules and error texts ("Invalid network object
 * (failed at '/')", DNS-1123 label mismatch, interface name rule). Both forms, beyond Multus:
 *  - names must be DNS-1123 (comma form: labels, as Multus; JSON: namespace a label, name a
 *    subdomain), so control characters, '/', "..", uppercase never get through;
 *  - an empty name is refused here rather than at the NAD lookup;
 *  - the interface (either form) must pass libcni's ifname rule (<= 15 bytes, not "."/"..",
 *    no '/', ':', whitespace) and hold no control character;
 *  - ips (IP or CIDR: "failed to parse CIDR %q" / "failed to parse IP address %q"), mac and
 *    infiniband-guid (net.ParseMAC forms), default-route (IPs), and the types of every known
 *    key are checked as Go's encoding/json would; unknown keys are ignored; null means absent;
 *  - more than K8S_ANNOT_MAX_BYTES, nesting deeper than K8S_ANNOT_MAX_DEPTH or more than
 *    K8S_ANNOT_MAX_ELEMENTS elements are refused before parsing.
 * annotation names the annotation in messages; errors are code 7 and read
 * `annotation "k8s.v1.cni.cncf.io/networks": element 2: failed to parse IP address "x"`.
 * Elements without a namespace get default_ns (the pod's namespace). Free with
 * k8s_net_selections_free(); out is zeroed on failure. */
int k8s_parse_networks(const char *value, const char *annotation, const char *default_ns,
		       struct k8s_net_selections *out, struct cni_err *err);

/* v1.multus-cni.io/default-network: the same parser, default_ns being multusNamespace; it must
 * yield exactly one element ("more than one default network is specified: ...", or "is empty"
 * for an empty value). Free with k8s_net_selection_free(). */
int k8s_parse_default_network(const char *value, const char *default_ns,
			      struct k8s_net_selection *out, struct cni_err *err);

void k8s_net_selection_free(struct k8s_net_selection *s);
void k8s_net_selections_free(struct k8s_net_selections *s);

/* The capability args Multus derives from an element (mergeCNIRuntimeConfig): portMappings,
 * bandwidth, ips, mac, infinibandGUID, deviceID, each only when requested. device_id, when
 * non-NULL, overrides the element's own deviceID (a device from the resourceName lookup wins).
 * Returns a new object (possibly empty), NULL on OOM. */
cJSON *k8s_net_selection_cap_args(const struct k8s_net_selection *s, const char *device_id);

/* Namespace isolation (multus.md §1.1, §6.13): a pod may use a NAD in its own namespace, or in
 * one of global (n entries); global == NULL means the implicit {"default"} (a configured list
 * replaces it). Returns 0, or -1 with code 7: "namespace isolation enabled, annotation violates
 * permission, pod is in namespace A but refers to target namespace B". */
int k8s_check_namespace_isolation(const char *pod_ns, const char *target_ns,
				  const char *const *global, size_t n, struct cni_err *err);

/* metadata.annotations[key] of an object when it is a string, else NULL (borrowed). */
const char *k8s_object_annotation(const cJSON *obj, const char *key);
/* metadata.<field> ("name", "namespace", "uid") when a string, else NULL (borrowed). */
const char *k8s_object_meta(const cJSON *obj, const char *field);

/* A static (kubelet file/http) pod: kubernetes.io/config.source present and not "api". */
bool k8s_pod_is_static(const cJSON *pod);

/* The ADD rule for K8S_POD_UID (multus.md §3.1, §6.7): fine when want_uid is NULL or empty,
 * equal to metadata.uid, or the pod is static; otherwise -1 with code 4 `pod ns/name: expected
 * pod UID "<want>" but got "<got>" from Kube API`. On DEL callers only log this. */
int k8s_pod_check_uid(const cJSON *pod, const char *want_uid, struct cni_err *err);

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
 * or missing spec.config looks up conf_dir for the file whose CNI name is metadata.name
 * (delegates/confdir). Errors (code 7) start with `network-attachment-definition ns/name: `.
 * Returns 0 or -1; out is zeroed on failure. */
int k8s_nad_delegate_config(const cJSON *nad, const char *conf_dir, struct k8s_nad_config *out,
			    struct cni_err *err);
void k8s_nad_config_free(struct k8s_nad_config *c);

/* Appends to statuses (a JSON array) the network-status entries for one delegate's result, as
 * the NAD client's CreateNetworkStatuses does (multus.md §2.3): the result (any CNI version)
 * is converted to 1.1.0; exactly one interface -> one entry (interface, mac, mtu from it when
 * it has a sandbox; all IPs; default = is_default); otherwise one entry per sandbox interface
 * in result order, IPs with an interface index on their entry, IPs without one on the last
 * entry, host-side interfaces skipped, and for the default network the entry of the first
 * interface that an IP with a gateway names is marked default (the first sandbox interface
 * when no IP names one); zero interfaces -> nothing. IPs are printed without prefix length;
 * "dns" is always there; "gateway" lists the gateways of default routes (dst 0.0.0.0 or ::),
 * skipping routes without a gateway (Multus would print "<nil>"); device_info (may be NULL) is
 * copied as the device-info-spec fields. Keys are in the NAD client's order. Returns the
 * number of entries appended, or -1 with err (code 6 for a result that does not convert). */
int k8s_network_status_append(cJSON *statuses, const char *name, bool is_default,
			      const cJSON *result, const cJSON *device_info, struct cni_err *err);

/* The annotation value exactly as Multus writes it: each entry marshalled by Go's
 * json.MarshalIndent(entry, "", "    "), joined by "," inside "[" "]". Returns a malloc'd
 * string, NULL on OOM. */
char *k8s_network_status_render(const cJSON *statuses);

#endif

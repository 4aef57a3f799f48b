/* k8s/selection.h: the pod's network selection annotations (k8s.v1.cni.cncf.io/networks and
 * v1.multus-cni.io/default-network) parsed into elements. Follows Multus
 * pkg/k8sclient/k8sclient.go parsePodNetworkAnnotation and pkg/types/types.go
 * NetworkSelectionElement; stricter on hostile input (docs/SECURITY.md). */
#ifndef PLEXUS_K8S_SELECTION_H
#define PLEXUS_K8S_SELECTION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define K8S_ANNOT_NETWORKS	  "k8s.v1.cni.cncf.io/networks"
#define K8S_ANNOT_DEFAULT_NETWORK "v1.multus-cni.io/default-network"

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
				* default routes", Multus pkg/types/conf.go
				* CheckGatewayConfig), or NULL when the key is absent */
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
CNI_MUST_CHECK int k8s_parse_networks(const char *value, const char *annotation,
				      const char *default_ns, struct k8s_net_selections *out,
				      struct cni_err *err);

/* v1.multus-cni.io/default-network: the same parser, default_ns being multusNamespace; it must
 * yield exactly one element ("more than one default network is specified: ...", or "is empty"
 * for an empty value). Free with k8s_net_selection_free(). */
CNI_MUST_CHECK int k8s_parse_default_network(const char *value, const char *default_ns,
					     struct k8s_net_selection *out, struct cni_err *err);

void k8s_net_selection_free(struct k8s_net_selection *s);
void k8s_net_selections_free(struct k8s_net_selections *s);

/* The capability args Multus derives from an element (mergeCNIRuntimeConfig): portMappings,
 * bandwidth, ips, mac, infinibandGUID, deviceID, each only when requested. device_id, when
 * non-NULL, overrides the element's own deviceID (a device from the resourceName lookup wins).
 * Returns a new object (possibly empty), NULL on OOM. */
cJSON *k8s_net_selection_cap_args(const struct k8s_net_selection *s, const char *device_id);

#endif

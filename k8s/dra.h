/* k8s/dra.h: which devices Dynamic Resource Allocation (resource.k8s.io/v1) gave a pod, per
 * network resourceName, from the pod's status, its ResourceClaims and the node's ResourceSlices.
 * Follows Multus pkg/draclient (GetPodResourceMap): pure parsing, the caller does the requests. */
#ifndef PLEXUS_K8S_DRA_H
#define PLEXUS_K8S_DRA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/podresources.h"

/* The device attributes a DRA driver publishes for CNI meta-plugins (Multus draclient.go). */
#define K8S_DRA_ATTR_RESOURCE  "k8s.cni.cncf.io/resourceName"
#define K8S_DRA_ATTR_DEVICE_ID "k8s.cni.cncf.io/deviceID"

/* One ResourceClaim the pod uses, named in its status. */
struct k8s_dra_claim_ref {
	const char *name;      /* borrowed from the pod */
	bool extended;	       /* the claim of status.extendedResourceClaimStatus */
	const cJSON *mappings; /* its requestMappings (borrowed; NULL: none) */
};

/* One allocated device, after k8s_dra_resolve: its place in the claim and what its slice says. */
struct k8s_dra_dev {
	char *claim, *request, *driver, *pool, *device;
	char *want;	     /* extended resources: the resourceName the pod maps the request to */
	char *resource, *id; /* the two attributes; NULL until resolved, NULL when absent */
};

/* What DRA gave one pod. Build with k8s_dra_add_claim (every claim), then k8s_dra_add_slices
 * (once per driver of k8s_dra_drivers), then k8s_dra_resolve. Free with k8s_dra_free. */
struct k8s_dra {
	struct k8s_dra_dev *dev; /* in the order of the pod's claims and of each claim's results */
	size_t n;
	char **drivers; /* distinct drivers of dev, in order of first use */
	size_t ndrivers;
	struct k8s_dra_dev
	    *pub; /* devices the node's slices publish (driver, pool, device, attrs) */
	size_t npub;
};

/* The ResourceClaims pod names: status.resourceClaimStatuses[].resourceClaimName (entries
 * without one are skipped, as kubelet leaves it unset when no claim is needed), then
 * status.extendedResourceClaimStatus.resourceClaimName with its requestMappings; each name
 * once. *refs is a new array (caller frees; NULL with *n == 0 when the pod uses no claim).
 * Code 6 when these fields have the wrong JSON types. */
CNI_MUST_CHECK int k8s_dra_pod_claims(const cJSON *pod, struct k8s_dra_claim_ref **refs, size_t *n,
				      struct cni_err *err);

/* Adds the devices of claim (a ResourceClaim object named ns/ref->name): every entry of
 * status.allocation.devices.results, or for the extended claim only the results whose request
 * a mapping names. Errors: `ResourceClaim "ns/name" is not allocated (no
 * status.allocation.devices.results)` (code 7); a result without driver, pool or device (code
 * 6). */
CNI_MUST_CHECK int k8s_dra_add_claim(struct k8s_dra *d, const char *ns,
				     const struct k8s_dra_claim_ref *ref, const cJSON *claim,
				     struct cni_err *err);

/* Adds the devices of list (a ResourceSliceList of driver on node: items[].spec.pool.name,
 * items[].spec.devices[].name and .attributes). Attribute values are read as resource.k8s.io/v1
 * serves them, {"string": "..."}; any other shape counts as absent. Items of another driver are
 * ignored. Errors: `no ResourceSlice of driver "d" on node "n"` when none is left (code 7);
 * malformed items (code 6). */
CNI_MUST_CHECK int k8s_dra_add_slices(struct k8s_dra *d, const char *driver, const char *node,
				      const cJSON *list, struct cni_err *err);

/* Looks every allocated device up in the slices added. A device that is not published, or
 * lacks either attribute, is skipped (a claim may hold a GPU and a VF). For a request mapped to
 * an extended resource the device must carry that resourceName: `ResourceClaim "ns/c" request
 * "r": device "pool/dev" of driver "d" has resourceName "x", not the extended resource "y"`
 * (code 7). */
CNI_MUST_CHECK int k8s_dra_resolve(struct k8s_dra *d, const char *ns, struct cni_err *err);

/* Appends the resolved DRA device IDs to m: for each resourceName, after the device-plugin IDs
 * kubelet reported (sorted), in the order of the pod's claims and their results; a new
 * resourceName gets its own entry in m's sorted place. */
CNI_MUST_CHECK int k8s_dra_merge(struct k8s_devmap *m, const struct k8s_dra *d,
				 struct cni_err *err);

/* The distinct resourceNames of the resolved devices, as `"a", "b"`, or "none" (caller frees;
 * NULL on OOM). For messages. */
char *k8s_dra_resource_names(const struct k8s_dra *d);

void k8s_dra_free(struct k8s_dra *d);

#endif

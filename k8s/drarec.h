/* k8s/drarec.h: the watch caches' ResourceClaims and ResourceSlices: which claims a node keeps
 * and the subtrees k8s/dra reads, cut down and kept as compact JSON text (k8s/store.h has the
 * records). Follows the resource.k8s.io/v1 types (AllocationResult, ResourceSliceSpec). */
#ifndef PLEXUS_K8S_DRAREC_H
#define PLEXUS_K8S_DRAREC_H

#include <stdbool.h>

#include <cjson/cJSON.h>

/* Whether claim's status.allocation.nodeSelector has a term whose matchFields require
 * metadata.name In [.., node, ..]: what the scheduler's allocator writes for devices of a
 * ResourceSlice with spec.nodeName. NULL node: true. */
bool k8s_drarec_claim_on_node(const cJSON *claim, const char *node);

/* status.allocation.devices.results with each result cut to its request, driver, pool and
 * device strings, as compact JSON text in *out (caller frees; NULL when the claim has no
 * results array). 0, or -ENOMEM. */
int k8s_drarec_claim_results(const cJSON *claim, char **out);

/* spec.devices cut to the devices with a name and both k8s.cni.cncf.io string attributes, each
 * to {"name", "attributes": {those two}}, as compact JSON text in *out (caller frees). 0, or
 * -ENOMEM. */
int k8s_drarec_slice_devices(const cJSON *slice, char **out);

#endif

/* meta/dra.h: the pod's Dynamic Resource Allocation devices, fetched for one ADD and merged
 * into kubelet's device map. Follows Multus pkg/draclient (GetPodResourceMap) and
 * pkg/k8sclient/k8sclient.go (the DRA map after kubelet's). */
#ifndef PLEXUS_META_DRA_H
#define PLEXUS_META_DRA_H

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/api.h"
#include "k8s/dra.h"
#include "k8s/podresources.h"

/* Where a claim or a driver's slices came from, with a daemon's caches: the cache, or the API
 * (not cached, or the cache not synced: the DRA group is not served, or not yet listed). */
enum meta_dra_source { META_DRA_CACHED, META_DRA_LIVE, META_DRA_SOURCE_N };

/* "cache", "live": the source label of the metrics. */
const char *meta_dra_source_name(enum meta_dra_source s);

struct meta_kube_cache; /* meta/kube.h */

/* For a pod whose status names ResourceClaims: reads each claim once, the ResourceSlices of
 * the pod's node (spec.nodeName) once per driver the claims use, resolves the devices
 * (k8s/dra.h) into *dra (caller frees with k8s_dra_free) and appends their IDs to devices
 * (k8s_dra_merge: after kubelet's device-plugin IDs of the same resourceName). With cache
 * (a daemon's, NULL: none) holding claims and slices, a claim is read from it when it is
 * synced and has it, a driver's slices when it is synced and has one of that driver, else
 * they are fetched live (GET of the claim, LIST with field selectors), each counted in
 * claims_by and slices_by; without a cache they are fetched live. A pod without claims makes
 * no request and leaves *dra empty. Errors are k8s/dra.h's and k8s/client.h's, and
 * `pod "ns/name" uses ResourceClaims but has no spec.nodeName` (code 7). */
CNI_MUST_CHECK int meta_dra_load(struct k8s_client *c, struct meta_kube_cache *cache,
				 const cJSON *pod, struct k8s_devmap *devices, struct k8s_dra *dra,
				 struct cni_err *err);

#endif

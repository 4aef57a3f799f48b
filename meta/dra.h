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

/* For a pod whose status names ResourceClaims: GETs each claim once, LISTs the ResourceSlices
 * of the pod's node (spec.nodeName) once per driver the claims use, resolves the devices
 * (k8s/dra.h) into *dra (caller frees with k8s_dra_free) and appends their IDs to devices
 * (k8s_dra_merge: after kubelet's device-plugin IDs of the same resourceName). A pod without
 * claims makes no request and leaves *dra empty. Errors are k8s/dra.h's and k8s/client.h's,
 * and `pod "ns/name" uses ResourceClaims but has no spec.nodeName` (code 7). */
CNI_MUST_CHECK int meta_dra_load(struct k8s_client *c, const cJSON *pod, struct k8s_devmap *devices,
				 struct k8s_dra *dra, struct cni_err *err);

#endif

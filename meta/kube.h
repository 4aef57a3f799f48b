/* meta/kube.h: what plexus asks Kubernetes during one invocation: the pod, its network
 * selections, the NADs they name, and the network-status written back. Follows Multus
 * pkg/k8sclient/k8sclient.go (GetK8sArgs, GetNetworkDelegates) with one GET per distinct NAD
 * and one PATCH per ADD. */
#ifndef PLEXUS_META_KUBE_H
#define PLEXUS_META_KUBE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/api.h"
#include "k8s/netstatus.h"
#include "k8s/objects.h"
#include "k8s/podresources.h"
#include "k8s/selection.h"
#include "k8s/store.h"
#include "meta/dra.h"
#include "meta/netconf.h"
#include "meta/plan.h"

struct meta_kube {
	struct k8s_client *client; /* NULL: no API configured (no kubeconfig, not in a cluster) */
	cJSON *pod;		   /* the pod once fetched, or NULL */
	cJSON *nads;		   /* "ns/name" -> NAD object or null (not found), per invocation */
	struct k8s_devmap *devices; /* the pod's devices from kubelet, fetched once when needed */
	struct k8s_dra dra;	    /* what the pod's ResourceClaims allocate (meta/dra.h) */
};

/* Where a pod came from, for an ADD (or a DEL without cache) that asked for it with a cache. */
enum meta_pod_source {
	META_POD_CACHED,	    /* in the cache with the runtime's UID */
	META_POD_CACHED_AFTER_WAIT, /* not at first: the watch brought it within the wait */
	META_POD_LIVE_UNSYNCED,	    /* live GET: the cache has not synced yet */
	META_POD_LIVE_NOT_CACHED,   /* live GET: still not cached after the wait */
	META_POD_LIVE_UID_MISMATCH, /* live GET: cached under another UID after the wait */
	META_POD_SOURCE_N,
};
enum meta_nad_source { META_NAD_CACHED, META_NAD_LIVE, META_NAD_SOURCE_N };

/* The watch caches a daemon keeps (plexusd: daemon/caches.c), consulted before the API. The
 * counters are the cache's hits and live-GET fallbacks, by source. */
struct meta_kube_cache {
	struct k8s_store *pods; /* the node's pods (NULL: not cached) */
	struct k8s_store *nads; /* NADs (NULL: not cached) */
	long pod_wait_ms;	/* how long an ADD waits on the watch for a pod not cached yet */
	atomic_ullong pods_by[META_POD_SOURCE_N];
	atomic_ullong nads_by[META_NAD_SOURCE_N];
	struct k8s_store *claims; /* ResourceClaims allocated to the node (NULL: not cached) */
	struct k8s_store *slices; /* the node's ResourceSlices (NULL: not cached) */
	atomic_ullong claims_by[META_DRA_SOURCE_N]; /* meta/dra.h */
	atomic_ullong slices_by[META_DRA_SOURCE_N];
};

/* Label values of the sources: "cache", "cache_after_wait", "live_unsynced",
 * "live_not_cached", "live_uid_mismatch"; "cache", "live". */
const char *meta_pod_source_name(enum meta_pod_source s);
const char *meta_nad_source_name(enum meta_nad_source s);

/* Process-wide, set once before any request (NULL: none, as in thin mode). With a cache, a pod
 * is looked up there first: with the runtime's UID it is used as is, zero GETs; otherwise an
 * ADD waits up to pod_wait_ms on the watch (woken by it, not polling), then GETs it live. A NAD
 * is looked up there first and GET live when the cache lacks it. An unsynced cache is not
 * consulted (an empty cache must never read as "no networks"). */
void meta_kube_set_cache(struct meta_kube_cache *c);

/* A process serving many calls (plexusd) keeps the clients meta_kube_close gives back and hands
 * them out again to meta_kube_open for the same credentials, so an ADD reuses a connection
 * (TLS included) instead of making one. Credentials are still loaded afresh by every open: a
 * rotated token or certificate gets a new client. off: the pool is emptied and no longer kept
 * (the default; bin/plexus runs once). */
void meta_kube_pool(bool on);

/* Loads credentials afresh (kubeconfig, else the in-cluster service account, else no API:
 * client stays NULL) and creates the client; libcurl is loaded only by a first request.
 * sa_dir NULL means the standard service-account directory. */
int meta_kube_open(struct meta_kube *k, const struct meta_netconf *nc, const char *sa_dir,
		   struct cni_err *err) CNI_MUST_CHECK;
void meta_kube_close(struct meta_kube *k);

/* Static delegates of the netconf: `delegates` (the first is the cluster network), or
 * clusterNetwork followed by defaultNetworks (skipped for pods in systemNamespaces), each
 * resolved as a NAD in multusNamespace when kube has an API client and the name has no '/',
 * otherwise (or when there is no such NAD) from confDir, a directory or a file. kube may be
 * NULL. */
int meta_plan_add_static(struct meta_plan *plan, const struct meta_netconf *nc,
			 const struct meta_k8s_args *k8s, struct meta_kube *kube,
			 struct cni_err *err) CNI_MUST_CHECK;

/* The pod named by K8S_POD_NAMESPACE/K8S_POD_NAME, from the cache when there is one (waiting
 * for it when wait is true, see meta_kube_set_cache), else GET. Returns 1 (k->pod set), 0 when
 * the API says it does not exist, -1 with err. */
int meta_kube_get_pod(struct meta_kube *k, const struct meta_k8s_args *a, bool wait,
		      struct cni_err *err) CNI_MUST_CHECK;

/* The delegate config of NAD ns/name (from the cache, else GET; once per invocation). Returns 1 with out filled, 0
 * when not found (err says so), -1 with err. */
int meta_kube_nad(struct meta_kube *k, const char *ns, const char *name, const char *conf_dir,
		  struct k8s_nad_config *out, struct cni_err *err) CNI_MUST_CHECK;

/* From the fetched pod: v1.multus-cni.io/default-network replaces the cluster network (the
 * first attachment), then every element of k8s.v1.cni.cncf.io/networks is appended, each with
 * its NAD, namespace isolation, requests (interface, ips, mac, infiniband-guid, portMappings,
 * bandwidth, cni-args, default-route, deviceID) and resourceName. Errors (code 7) name the
 * annotation, the element and the NAD; a NAD that does not exist is "cannot find a
 * network-attachment-definition (name) in namespace (ns)". */
int meta_kube_add_pod_networks(struct meta_plan *plan, const struct meta_netconf *nc,
			       struct meta_kube *k, const struct meta_k8s_args *a,
			       struct cni_err *err) CNI_MUST_CHECK;

/* Devices for every attachment whose NAD names a resource (k8s.v1.cni.cncf.io/resourceName):
 * kubelet's pod-resources (podResourcesSocket) is asked once, then, for a pod whose status
 * names ResourceClaims, the API (meta/dra.h); the device IDs of one resourceName are kubelet's
 * device-plugin IDs (sorted) followed by the DRA IDs (in claim and result order). A resourceName
 * with no such ID is looked up among kubelet's DRA claims by claim name (Multus v4.1-v4.3). The
 * k-th attachment of a resource gets its k-th device, which is injected as "deviceID" and
 * "pciBusID" into the delegate config (every plugin of a conflist) and, for a secondary
 * network, into its runtimeConfig. Errors name the resource and the network: a resource
 * without a device for an attachment (for a pod with ResourceClaims: "matches no allocated
 * device", listing the resourceNames the claims do allocate), and two attachments given one
 * device. */
int meta_kube_assign_devices(struct meta_plan *plan, const struct meta_netconf *nc,
			     struct meta_kube *k, const struct meta_k8s_args *a,
			     struct cni_err *err) CNI_MUST_CHECK;

/* After interface names are known: CNIDeviceInfoFile for every secondary attachment with a
 * device (Multus's name: <deviceInfoDir>/cni/<network>-<containerID>_<ifname>). */
int meta_kube_devinfo_paths(struct meta_plan *plan, const struct meta_netconf *nc,
			    struct cni_err *err) CNI_MUST_CHECK;

/* PATCHes k8s.v1.cni.cncf.io/network-status onto the pod. Returns 0, 1 when the pod is gone
 * (not an error for ADD), -1 with err. */
int meta_kube_write_status(struct meta_kube *k, const struct meta_k8s_args *a,
			   const cJSON *statuses, struct cni_err *err) CNI_MUST_CHECK;

/* Multus addCNIArgsInConfig: cni_args go into args.cni of the conf, or of every plugin of a
 * conflist; cni_args' values win. Returns the new config (malloc'd) or NULL with err. */
char *meta_merge_cni_args(const char *config, size_t len, const cJSON *cni_args,
			  struct cni_err *err);

/* A selection element's requests on a secondary attachment a, as Multus mergeCNIRuntimeConfig
 * and the legacy CNI_ARGS give them: runtimeConfig capability args (the runtime's, then the
 * element's ips, mac, portMappings, bandwidth...), MAC/IP for CNI_ARGS, deviceID, default-route
 * gateways; origin META_ORIGIN_ANNOTATION unless a has one. */
int meta_attachment_apply_selection(struct meta_attachment *a, const struct meta_netconf *nc,
				    const struct k8s_net_selection *sel,
				    struct cni_err *err) CNI_MUST_CHECK;

/* Multus's answer to an ADD for a pod the API does not know: one interface, 0.0.0.0/0. */
cJSON *meta_kube_empty_result(const char *cni_version, const char *ifname, const char *netns);

#endif

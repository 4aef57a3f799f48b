/* daemon/caches.h: plexusd's watch caches: the node's pods (fieldSelector spec.nodeName), every
 * NetworkAttachmentDefinition and, where the API serves resource.k8s.io/v1 and lets plexusd list
 * it, the ResourceClaims allocated to the node and the node's ResourceSlices; each a k8s/store
 * kept by a k8s/reflector, handed to the ADD path through meta/kube.h's cache. Unlike Multus's daemon (pkg/server/server.go informers,
 * whole objects, the whole cluster's pods without MULTUS_NODE_NAME, serving unsynced after
 * 20 s), a node name is required and /readyz waits for both first syncs, for a bounded time. */
#ifndef PLEXUS_DAEMON_CACHES_H
#define PLEXUS_DAEMON_CACHES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "cni/err.h"
#include "daemon/config.h"
#include "k8s/kubeconfig.h"
#include "k8s/reflector.h"
#include "meta/kube.h"

#define PXD_PODS_PATH	"/api/v1/pods"
#define PXD_NADS_PATH	"/apis/k8s.cni.cncf.io/v1/network-attachment-definitions"
#define PXD_CLAIMS_PATH "/apis/resource.k8s.io/v1/resourceclaims"
#define PXD_SLICES_PATH "/apis/resource.k8s.io/v1/resourceslices"

/* The longest wait between DRA probes that failed other than absent or forbidden (those are
 * asked again every draReprobeSeconds: a cluster upgraded to 1.34, RBAC granted later). */
#define PXD_DRA_RETRY_MAX_S 60

enum pxd_cache_kind {
	PXD_CACHE_PODS,
	PXD_CACHE_NADS,
	PXD_CACHE_CLAIMS,
	PXD_CACHE_SLICES,
	PXD_CACHE_N,
};

/* Whether the DRA caches run: the probe (a LIST of one claim and one of the node's slices)
 * decides; until it has, /readyz waits (within cacheSyncTimeoutSeconds). */
enum pxd_dra_state {
	PXD_DRA_PROBING,   /* no answer yet (the API unreachable, 5xx): asked again, backing off */
	PXD_DRA_ABSENT,	   /* 404: the API does not serve resource.k8s.io/v1 */
	PXD_DRA_FORBIDDEN, /* 403: no list permission (deploy/rbac-dra.yaml not applied) */
	PXD_DRA_WATCHING,  /* the claim and slice reflectors run */
	PXD_DRA_STATE_N,
};

struct pxd_caches {
	struct meta_kube_cache cache; /* the stores and the lookup counters */
	struct k8s_reflector *reflector[PXD_CACHE_N];
	atomic_bool wait_expired; /* ready before both synced: serving with live GETs */
	char selector[300];	  /* spec.nodeName=<node> */
	/* the DRA probe: a thread that starts the claim and slice reflectors once both lists are
	 * allowed, and asks again every dra_reprobe_s while they are absent or forbidden */
	struct k8s_client *dra_client;
	pthread_t dra_thread;
	bool dra_started;
	pthread_mutex_t dra_mu;
	pthread_cond_t dra_wake;
	bool dra_stopping;
	atomic_int dra_state; /* enum pxd_dra_state */
	int dra_reprobe_s;    /* draReprobeSeconds */
	char dra_slices_url[400];
};

/* "probing", "absent", "forbidden", "watching". */
const char *pxd_dra_state_name(enum pxd_dra_state s);

/* "pods", "network-attachment-definitions", "resourceclaims", "resourceslices": the resource
 * label of the metrics. */
const char *pxd_cache_name(enum pxd_cache_kind k);

/* Makes the stores and reflectors from creds, starts those of pods and NADs and the DRA probe,
 * and installs the cache for the ADD path (meta_kube_set_cache). node is required (code 7 naming PLEXUS_NODE_NAME and
 * MULTUS_NODE_NAME without it: plexusd does not watch every pod of the cluster). Returns 0, or
 * -1 with err; on failure nothing is left running. */
int pxd_caches_start(struct pxd_caches *c, const struct k8s_creds *creds, const char *node,
		     const struct pxd_config *cfg, struct cni_err *err) CNI_MUST_CHECK;

/* The pod and NAD stores have completed a first LIST, and the DRA probe has found the group
 * absent or forbidden, or its two stores have completed a first LIST too. */
bool pxd_caches_synced(struct pxd_caches *c);

/* The bounded wait for the first syncs ran out: say so in the log and the metrics. */
void pxd_caches_wait_expired(struct pxd_caches *c, int waited_s);

/* Uninstalls the cache, stops the reflectors, frees everything. Safe on a zeroed c. */
void pxd_caches_stop(struct pxd_caches *c);

/* What /metrics shows, read now (thread-safe). */
struct pxd_caches_stats {
	bool running; /* the caches exist (plexusd has API credentials) */
	bool wait_expired;
	enum pxd_dra_state dra;
	struct {
		size_t objects;
		bool synced;
		struct k8s_reflector_stats r;
	} kind[PXD_CACHE_N];
	unsigned long long pods_by[META_POD_SOURCE_N], nads_by[META_NAD_SOURCE_N];
	unsigned long long claims_by[META_DRA_SOURCE_N], slices_by[META_DRA_SOURCE_N];
};
void pxd_caches_stats(struct pxd_caches *c, struct pxd_caches_stats *out);

#endif

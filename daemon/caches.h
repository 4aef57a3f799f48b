/* daemon/caches.h: plexusd's watch caches: the node's pods (fieldSelector spec.nodeName) and
 * every NetworkAttachmentDefinition, each a k8s/store kept by a k8s/reflector, handed to the ADD
 * path through meta/kube.h's cache. Unlike Multus's daemon (pkg/server/server.go informers,
 * whole objects, the whole cluster's pods without MULTUS_NODE_NAME, serving unsynced after
 * 20 s), a node name is required and /readyz waits for both first syncs, for a bounded time. */
#ifndef PLEXUS_DAEMON_CACHES_H
#define PLEXUS_DAEMON_CACHES_H

#include <stdatomic.h>
#include <stdbool.h>

#include "cni/err.h"
#include "daemon/config.h"
#include "k8s/kubeconfig.h"
#include "k8s/reflector.h"
#include "meta/kube.h"

#define PXD_PODS_PATH "/api/v1/pods"
#define PXD_NADS_PATH "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions"

enum pxd_cache_kind { PXD_CACHE_PODS, PXD_CACHE_NADS, PXD_CACHE_N };

struct pxd_caches {
	struct meta_kube_cache cache; /* the stores and the lookup counters */
	struct k8s_reflector *reflector[PXD_CACHE_N];
	atomic_bool wait_expired; /* ready before both synced: serving with live GETs */
	char selector[300];	  /* spec.nodeName=<node> */
};

/* "pods", "network-attachment-definitions": the resource label of the metrics. */
const char *pxd_cache_name(enum pxd_cache_kind k);

/* Makes both stores and reflectors from creds and starts them, and installs the cache for the ADD
 * path (meta_kube_set_cache). node is required (code 7 naming PLEXUS_NODE_NAME and
 * MULTUS_NODE_NAME without it: plexusd does not watch every pod of the cluster). Returns 0, or
 * -1 with err; on failure nothing is left running. */
int pxd_caches_start(struct pxd_caches *c, const struct k8s_creds *creds, const char *node,
		     const struct pxd_config *cfg, struct cni_err *err) CNI_MUST_CHECK;

/* Both stores have completed a first LIST. */
bool pxd_caches_synced(struct pxd_caches *c);

/* The bounded wait for the first syncs ran out: say so in the log and the metrics. */
void pxd_caches_wait_expired(struct pxd_caches *c, int waited_s);

/* Uninstalls the cache, stops the reflectors, frees everything. Safe on a zeroed c. */
void pxd_caches_stop(struct pxd_caches *c);

/* What /metrics shows, read now (thread-safe). */
struct pxd_caches_stats {
	bool running; /* the caches exist (plexusd has API credentials) */
	bool wait_expired;
	struct {
		size_t objects;
		bool synced;
		struct k8s_reflector_stats r;
	} kind[PXD_CACHE_N];
	unsigned long long pods_by[META_POD_SOURCE_N], nads_by[META_NAD_SOURCE_N];
};
void pxd_caches_stats(struct pxd_caches *c, struct pxd_caches_stats *out);

#endif

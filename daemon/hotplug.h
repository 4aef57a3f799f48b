/* daemon/hotplug.h: plexusd's dynamic networks (daemon config "dynamicNetworks": true): one
 * thread follows the pod cache and, for each pod of the node whose networks annotation changed
 * (and once for every pod at start), reconciles its attachments with it (meta/hotplug.h).
 * Follows multus-dynamic-networks-controller (one worker, an update of the annotation string
 * enqueues the pod, every listed pod once at start) without a second daemon, CRI lookups or its
 * retry limit: a failed change is retried with backoff while the annotation still asks for it. */
#ifndef PLEXUS_DAEMON_HOTPLUG_H
#define PLEXUS_DAEMON_HOTPLUG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "daemon/caches.h"
#include "daemon/config.h"

#define PXD_HOTPLUG_BACKOFF_MS	   1000	 /* the first retry of a failed reconcile */
#define PXD_HOTPLUG_BACKOFF_MAX_MS 60000 /* doubling up to this */
#define PXD_HOTPLUG_TICK_MS	   250	 /* the longest sleep between passes */
/* a pod found with no plan: looked at again on its own next change, or on any after this long */
#define PXD_HOTPLUG_RECHECK_MS 60000

struct pxd_hotplug_pod;

struct pxd_hotplug {
	const struct pxd_config *cfg;
	struct pxd_caches *caches;
	char *netconf, *netconf_force; /* the node's plexus netconf; the second also rewrites
					  network-status */
	size_t netconf_len, netconf_force_len;
	struct pxd_hotplug_pod *pods; /* what each pod's last reconcile applied */
	size_t npods;
	atomic_bool stop;
	bool running;
	pthread_t thread;
};

/* Starts the thread when cfg->dynamic_networks and the caches run (else does nothing: 0).
 * Returns 0, or -1 with err. */
int pxd_hotplug_start(struct pxd_hotplug *h, const struct pxd_config *cfg,
		      struct pxd_caches *caches, struct cni_err *err)
    __attribute__((warn_unused_result));

/* Stops the thread after the reconcile in progress; frees everything. Safe on a zeroed h. */
void pxd_hotplug_stop(struct pxd_hotplug *h);

#endif

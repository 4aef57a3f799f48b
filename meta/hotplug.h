/* meta/hotplug.h: networks attached to and detached from a running pod that plexus attached,
 * through its plan on disk: the reconcile of the networks annotation (plexusd's
 * dynamicNetworks) and Multus's /delegate requests (multus-dynamic-networks-controller). Both
 * take the pod's per-container lock, so they never run with its ADD or DEL, and write the plan
 * durably before every change: an attachment is written "pending" before its ADD runs, so a
 * crash leaves it for the next reconcile or the pod's DEL to delete, never a leak.
 * Follows multus-dynamic-networks-controller pkg/controller/pod.go (the diff, events) and
 * Multus pkg/server/server.go (the /delegate handler), without their bugs: an element without
 * "interface" keeps its netN (dnc#63), a status write that fails never wedges the pod
 * (dnc#235), hot-plugged networks are in the plan, so the pod's DEL removes them. */
#ifndef PLEXUS_META_HOTPLUG_H
#define PLEXUS_META_HOTPLUG_H

#include <stddef.h>

#include "cni/err.h"
#include "cni/skel.h"

/* The reconcile, as a plugin whose CHECK is "make the pod's attachments match its networks
 * annotation". The request is the pod's: CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME as its plan
 * has them, CNI_ARGS with its K8S_* values; the netconf is the node's plexus netconf (binDir,
 * cniDir, namespace isolation...); "writeNetworkStatus": true writes network-status even when
 * nothing changed (a retry after a write that failed). Annotation elements are matched to the
 * plan's by network and interface: with "interface", by that name; without, by position among
 * the elements of that network without one, so an element keeps the netN it was given. New
 * elements are attached (a free netN each), removed ones detached, an element whose ips, mac,
 * default-route or other requests changed is detached and attached again on its interface. The
 * cluster network and the netconf's networks are never touched, nor networks added through
 * /delegate. Errors: code 7 for an annotation that cannot be applied (nothing changed, a
 * Warning event says why); code 11 when an attachment failed (rolled back alone, the others
 * done, a Warning FailedAddingInterface event) or network-status could not be written: try
 * again. A pod that is gone, being deleted, of another UID, or without a plan is left alone.
 * A pod Multus attached (no plan, Multus's cache) is read from Multus's cache, its elements
 * with a NAD's "namespace/name" (but the netconf's defaultNetworks) taken as the annotation's,
 * and its plan written (with Multus's cache, as /delegate adopts one) only by a change. */
extern const struct cni_plugin meta_reconcile_plugin;

/* Multus's /delegate: the netconf's one delegate ("delegates": [config]) attached on
 * CNI_IFNAME (ADD, into the pod's plan with origin "delegate"), or detached (DEL), checked
 * (CHECK) or asked for its status (STATUS). "interfaceAttributes" in the netconf ({"ips",
 * "mac", "cni-args"}) reach the delegate as a network selection element's would: runtimeConfig
 * ips/mac, CNI_ARGS IP/MAC, cni-args merged into args.cni. */
extern const struct cni_plugin meta_delegate_plugin;

/* The pods with a plan under <cniDir>/plexus, or Multus's cache: one per sandbox. */
struct meta_pod_plan {
	char *container_id, *netns, *ifname;
	char *pod_namespace, *pod_name, *pod_uid;
};

/* Every plan of pod ns/name (any UID; ns and name NULL: of every pod) under cni_dir, then every
 * sandbox of such a pod that Multus attached before plexus replaced it on the node (Multus's
 * cache <cniDir>/<containerID> and no plan; its netns and pod from libcni's result cache of the
 * cluster network on META_POD_IFNAME), which the reconcile adopts. Returns 0 with *out (free
 * with meta_pod_plans_free) and *n; unreadable plans are skipped and logged. A directory that
 * cannot be read is -1 with err (a missing one has no plans). */
int meta_hotplug_find(const char *cni_dir, const char *ns, const char *name,
		      struct meta_pod_plan **out, size_t *n, struct cni_err *err) CNI_MUST_CHECK;
void meta_pod_plans_free(struct meta_pod_plan *p, size_t n);

#endif

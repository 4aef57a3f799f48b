/* k8s/netstatus.h: the k8s.v1.cni.cncf.io/network-status annotation built from delegate results.
 * Follows the NAD client's pkg/utils/net-attach-def.go CreateNetworkStatuses and
 * SetNetworkStatus, as Multus pkg/multus/multus.go cmdAdd calls them. */
#ifndef PLEXUS_K8S_NETSTATUS_H
#define PLEXUS_K8S_NETSTATUS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define K8S_ANNOT_NETWORK_STATUS "k8s.v1.cni.cncf.io/network-status"

/* Appends to statuses (a JSON array) the network-status entries for one delegate's result, as
 * the NAD client's CreateNetworkStatuses does: the result (any CNI version)
 * is converted to 1.1.0; exactly one interface -> one entry (interface, mac, mtu from it when
 * it has a sandbox; all IPs; default = is_default); otherwise one entry per sandbox interface
 * in result order, IPs with an interface index on their entry, IPs without one on the last
 * entry, host-side interfaces skipped, and for the default network the entry of the first
 * interface that an IP with a gateway names is marked default (the first sandbox interface
 * when no IP names one); zero interfaces -> nothing. IPs are printed without prefix length;
 * "dns" is always there; "gateway" lists the gateways of default routes (dst 0.0.0.0 or ::),
 * skipping routes without a gateway (Multus would print "<nil>"); device_info (may be NULL) is
 * copied as the device-info-spec fields. Keys are in the NAD client's order. Returns the
 * number of entries appended, or -1 with err (code 6 for a result that does not convert). */
CNI_MUST_CHECK int k8s_network_status_append(cJSON *statuses, const char *name, bool is_default,
					     const cJSON *result, const cJSON *device_info,
					     struct cni_err *err);

/* The annotation value exactly as Multus writes it: each entry marshalled by Go's
 * json.MarshalIndent(entry, "", "    "), joined by "," inside "[" "]". Returns a malloc'd
 * string, NULL on OOM. */
char *k8s_network_status_render(const cJSON *statuses);

#endif

/* cni/ipconfig.h: apply a result's addresses and routes to a link inside a netns (libnl-route).
 * Follows containernetworking/plugins pkg/ipam ConfigureIface. */
#ifndef PLEXUS_CNI_IPCONFIG_H
#define PLEXUS_CNI_IPCONFIG_H

#include <cjson/cJSON.h>

#include "cni/err.h"

/* Inside the netns at netns_path: sets ifname up, adds every ips[] entry meant for it, then
 * every routes[] entry via it. An ips[] entry is meant for ifname when its "interface" index
 * names ifname in interfaces[], or when it has no index or the result has no interfaces[]
 * (a delegated IPAM result). A route without gw takes the first gateway of its family among
 * those ips; mtu/advmss/priority/table/scope are honoured when present (0 included). result
 * must be in 0.3.0 or later shape; it is only read.
 * The whole result is checked before the netns is entered, so an unusable one (code 7: bad
 * CIDR, IP, index or route field) changes nothing; a bad ifname is code 4, a netns that cannot
 * be entered code 5. Kernel refusals are code 999, naming the interface and the address or
 * route with the kernel's errno text ("interface "net1": add address 10.1.2.3/24: File
 * exists"), plus the kernel's extended-ack text in details when it gave one. An existing
 * address is an error, an existing route is not (the first one wins, as in ConfigureIface).
 * Work done before an error is not undone. Returns 0 or -1. */
int cni_ipconfig_apply(const char *netns_path, const char *ifname, const cJSON *result,
		       struct cni_err *err) CNI_MUST_CHECK;

/* Inside the netns at netns_path: deletes every default route (dst 0.0.0.0/0 or ::/0, main
 * table) of family (AF_INET or AF_INET6) that leaves through ifname, then, when gw is not NULL,
 * adds "default via gw dev ifname". Errors name the interface and the route (code 999 from the
 * kernel, code 7 for a gw that is not an address of that family). Returns 0 or -1. */
int cni_ipconfig_set_default_route(const char *netns_path, const char *ifname, int family,
				   const char *gw, struct cni_err *err) CNI_MUST_CHECK;

#endif

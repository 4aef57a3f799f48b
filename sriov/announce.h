/* sriov/announce.h: tell the segment where the pod's addresses live now (GARP, unsolicited NA).
 * Follows sriov-cni AnnounceIPs (pkg/utils/packet.go): best effort, after IPAM. */
#ifndef PLEXUS_SRIOV_ANNOUNCE_H
#define PLEXUS_SRIOV_ANNOUNCE_H

#include <cjson/cJSON.h>

/* Inside netns_path: waits up to 200 ms for ifname to be up and running, then sends one
 * gratuitous ARP per IPv4 and one unsolicited neighbour advertisement per IPv6 address in
 * result's ips[], from mac. Nothing is sent for an all-zero or multicast mac; failures are
 * only logged (a switch that learns late is no reason to fail an ADD). */
void sriov_announce(const char *netns_path, const char *ifname, const unsigned char mac[6],
		    const cJSON *result);

#endif

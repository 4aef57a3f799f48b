/* sriov/netdev.h: the VF's netdev: move into the pod through a private netns, rename, MAC, MTU,
 * and back. Follows sriov-cni pkg/sriov SetupVF/ReleaseVF (temporary netns; altnames share the
 * kernel's name space, so the old host name is dropped: net/core/dev.c netdev_name_in_use). */
#ifndef PLEXUS_SRIOV_NETDEV_H
#define PLEXUS_SRIOV_NETDEV_H

#include <net/if.h>
#include <stdbool.h>

#include "cni/err.h"
#include "cni/nl.h"

struct sriov_link {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned mtu;
	unsigned char mac[6];
	bool up; /* IFF_UP */
};

/* Looks name up in nl's netns. Returns 0 and fills out, 1 when there is no such link (err
 * untouched), -1 on any other failure. */
int sriov_link_get(struct cni_nl *nl, const char *name, struct sriov_link *out,
		   struct cni_err *err) CNI_MUST_CHECK;

/* Single requests on ifindex in nl's netns; errors name the interface and the kernel's reason
 * (nl->errnum keeps the errno, so callers can react to EADDRNOTAVAIL or EEXIST). */
int sriov_link_set_up(struct cni_nl *nl, int ifindex, bool up, struct cni_err *err) CNI_MUST_CHECK;
int sriov_link_rename(struct cni_nl *nl, int ifindex, const char *name,
		      struct cni_err *err) CNI_MUST_CHECK;
int sriov_link_set_mtu(struct cni_nl *nl, int ifindex, unsigned mtu,
		       struct cni_err *err) CNI_MUST_CHECK;
/* Moves the link into the netns behind ns_fd, renamed to name (NULL: keep) in the same
 * request, so it never shows up there under a name that could clash. */
int sriov_link_move(struct cni_nl *nl, int ifindex, int ns_fd, const char *name,
		    struct cni_err *err) CNI_MUST_CHECK;
/* Sets the link's own MAC and reads it back, retrying 20 x 100 ms (iavf applies it late). */
int sriov_link_set_mac(struct cni_nl *nl, int ifindex, const unsigned char mac[6],
		       struct cni_err *err) CNI_MUST_CHECK;
/* Removes the altname name from the link (RTM_DELLINKPROP, libnl has no API for it). An
 * absent altname, or a kernel without altnames, is success. */
int sriov_link_del_altname(struct cni_nl *nl, int ifindex, const char *name,
			   struct cni_err *err) CNI_MUST_CHECK;

/* A new, empty netns that only *fd keeps alive. The calling thread stays where it was. */
int sriov_netns_private(int *fd, struct cni_err *err) CNI_MUST_CHECK;

/* ADD: orig (looked up in host's netns) is set down, moved into a private netns under
 * ifname in one request, its altname orig->name dropped there, then moved into the netns
 * behind pod_fd. On failure the link is put back in the host netns under orig->name (up
 * again when it was) and -1 returned with the first error. */
int sriov_netdev_move_in(struct cni_nl *host, int pod_fd, const struct sriov_link *orig,
			 const char *ifname, struct cni_err *err) CNI_MUST_CHECK;

/* DEL: when pod (may be NULL) holds ifname, sets it down, moves it into a private netns,
 * renames it host_name there, drops the altname ifname, and moves it into the calling
 * thread's netns (as "dev%d" if host_name is taken there). Returns 0 when moved, 1 when pod
 * has no ifname, -1 on error. The caller then finds it in the host by PCI address (sriov_netdev_restore). */
int sriov_netdev_move_out(struct cni_nl *pod, const char *ifname, const char *host_name,
			  struct cni_err *err) CNI_MUST_CHECK;

/* Sets a link's MAC; the plugin's version knows how to talk an untrusted VF into it. */
typedef int (*sriov_mac_setter)(void *ctx, struct cni_nl *nl, int ifindex,
				const unsigned char mac[6], struct cni_err *err);

/* DEL in the host netns: the link now called cur_name gets orig's name (kept when taken, as
 * that is not worth failing a DEL for), loses the altname pod_ifname, gets orig's MTU and MAC
 * (through set_mac(ctx, ...) when not NULL, else sriov_link_set_mac; a zero MAC in orig means
 * unknown and keeps the link's), and ends up as orig->up says. */
int sriov_netdev_restore(struct cni_nl *host, const char *cur_name, const char *pod_ifname,
			 const struct sriov_link *orig, sriov_mac_setter set_mac, void *ctx,
			 struct cni_err *err) CNI_MUST_CHECK;

/* Inside netns_path: arp_notify and ndisc_notify = 1 so address and MAC changes are announced,
 * optimistic_dad = 1 so IPv6 addresses are usable at once. Best effort, as in sriov-cni. */
void sriov_netdev_notify_sysctls(const char *netns_path, const char *ifname);

#endif

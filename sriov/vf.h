/* sriov/vf.h: a VF's settings as its PF holds them (IFLA_VFINFO_LIST): read, apply, restore.
 * Follows sriov-cni ApplyVFConfig/ResetVFConfig order, one netlink request per attribute. */
#ifndef PLEXUS_SRIOV_VF_H
#define PLEXUS_SRIOV_VF_H

#include <stdbool.h>
#include <stdint.h>

#include "cni/err.h"
#include "cni/nl.h"

/* Which attributes a request or a saved state covers. */
enum sriov_vf_attr {
	SRIOV_VF_VLAN = 1 << 0, /* vlan, qos and proto together */
	SRIOV_VF_MAC = 1 << 1,	/* the administrative MAC */
	SRIOV_VF_RATE = 1 << 2, /* min and max together */
	SRIOV_VF_SPOOFCHK = 1 << 3,
	SRIOV_VF_TRUST = 1 << 4,
	SRIOV_VF_LINK_STATE = 1 << 5,
};

struct sriov_vf_state {
	unsigned char mac[6];
	unsigned vlan, qos;
	uint16_t proto; /* host order, 0x8100 or 0x88a8 */
	int spoofchk;	/* -1 when the driver does not report it */
	int trust;	/* -1 when the driver does not report it */
	unsigned link_state;
	uint32_t min_rate, max_rate;
};

/* Reads VF idx of PF pf (a netdev name) in nl's netns. Errors: PF not found ("failed to lookup
 * master \"x\""), PF without VF list or without that VF ("failed to find vf N"). */
int sriov_vf_read(struct cni_nl *nl, const char *pf, unsigned idx, struct sriov_vf_state *st,
		  struct cni_err *err) CNI_MUST_CHECK;

/* Sets every attribute in mask to want's value, in sriov-cni's order (vlan, mac, rate,
 * spoofchk, trust, link state), one request each, skipping those that already hold the wanted
 * value (so a driver that cannot change link state is not asked to set it to what it is).
 * The MAC is read back and the request retried (20 x 100 ms) because drivers apply it
 * asynchronously. Stops at the first failure: the error names the PF, the VF, the attribute,
 * the value and the kernel's reason ("PF \"eth0\" VF 3: set vlan 100 qos 0 proto 802.1ad:
 * Protocol not supported"); *done (may be NULL) gets the attributes changed so far. */
int sriov_vf_apply(struct cni_nl *nl, const char *pf, unsigned idx, unsigned mask,
		   const struct sriov_vf_state *want, unsigned *done,
		   struct cni_err *err) CNI_MUST_CHECK;

/* Sets only trust (no skip); used around a VF netdev MAC change the driver refuses untrusted. */
int sriov_vf_set_trust(struct cni_nl *nl, const char *pf, unsigned idx, bool on,
		       struct cni_err *err) CNI_MUST_CHECK;

/* Compares cur with want for the attributes in mask; returns 0 when equal, else -1 with a
 * code 999 error naming the first difference ("VF 3 of PF \"eth0\": vlan is 0, want 100"). */
int sriov_vf_compare(const char *pf, unsigned idx, unsigned mask, const struct sriov_vf_state *cur,
		     const struct sriov_vf_state *want, struct cni_err *err) CNI_MUST_CHECK;

#endif

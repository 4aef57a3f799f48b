/* sriov/statejson.h: the state file's JSON, both ways, in sriov-cni's layout and bin/sriov's.
 * Follows sriov-cni pkg/types NetConf and VfState. */
#ifndef PLEXUS_SRIOV_STATEJSON_H
#define PLEXUS_SRIOV_STATEJSON_H

#include "cni/err.h"

struct sriov_state;

/* JSON round trip (the file format). to_json writes sriov-cni's NetConf (OrigVfState, Master,
 * VFID, MAC, vlan..., null or omitted for what ADD did not set, as sriov-cni writes it) with
 * bin/sriov's own record under SRIOV_STATE_OWN_KEY; NULL out of memory. from_json reads that,
 * a file sriov-cni wrote (no owner: container_id, ifname and netns stay NULL, see
 * sriov_state_adopt; DPDK mode when OrigVfState.HostIFName is empty) and the layout of earlier
 * bin/sriov releases; code 6 for anything that is not a state. */
char *sriov_state_to_json(const struct sriov_state *st);
CNI_MUST_CHECK int sriov_state_from_json(const char *text, struct sriov_state *st,
					 struct cni_err *err);

/* Gives a state read from sriov-cni's file the attachment it is released for: fills the owner
 * fields that are NULL (an empty netns stays NULL). Returns 0, or -1 out of memory. */
CNI_MUST_CHECK int sriov_state_adopt(struct sriov_state *st, const char *container_id,
				     const char *ifname, const char *netns, struct cni_err *err);

#endif

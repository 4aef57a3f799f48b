/* sriov/devlink.h: the PF's eswitch mode, read through devlink over generic netlink.
 * Follows iproute2 devlink/devlink.c (`devlink dev eswitch show pci/<addr>`). */
#ifndef PLEXUS_SRIOV_DEVLINK_H
#define PLEXUS_SRIOV_DEVLINK_H

#include "cni/err.h"

/* Sets *mode to the PF's eswitch mode (DEVLINK_ESWITCH_MODE_LEGACY or _SWITCHDEV from
 * linux/devlink.h). A kernel or PF without devlink (igb), or a driver without eswitch support,
 * counts as legacy. Returns 0, or -1 with err set (code 999, "devlink: ..."). */
int sriov_devlink_eswitch_mode(const char *pf_pci_addr, int *mode,
			       struct cni_err *err) CNI_MUST_CHECK;

#endif

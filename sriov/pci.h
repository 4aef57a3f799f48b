/* sriov/pci.h: from a VF's PCI address to its PF, VF index, netdev and driver.
 * Follows sriov-cni pkg/utils/utils.go (sysfs layout) with libpci for the identity. */
#ifndef PLEXUS_SRIOV_PCI_H
#define PLEXUS_SRIOV_PCI_H

#include <stdbool.h>

#include "cni/err.h"

/* What sysfs says about one VF. Strings are malloc'd; free with sriov_pci_free(). */
struct sriov_pci {
	char *vf_addr;	 /* "0000:af:06.0" */
	char *pf_addr;	 /* from the physfn link */
	char *pf_netdev; /* the PF's netdev (see sriov_pci_lookup for the choice) */
	unsigned vf_index;
	char *vf_netdev;	 /* first entry of <vf>/net/ in our netns; NULL when none */
	char *driver;		 /* basename of <vf>/driver; NULL when unbound */
	bool dpdk;		 /* driver is vfio-pci, uio_pci_generic or igb_uio */
	unsigned vendor, device; /* PCI IDs through libpci */
};

/* True for "DDDD:BB:DD.F" in sysfs form: a 4 to 8 digit hex domain, 2-digit bus, device up to
 * 1f, function 0-7 (hex digits in either case). Anything else, "../x" included, is false. */
bool sriov_pci_addr_valid(const char *addr);

/* Resolves vf_addr under <sysfs_root>/bus/pci/devices. Every symlink followed (the device
 * entry, physfn, virtfnN) must resolve inside <sysfs_root>/devices and end in a valid PCI
 * address, so a hostile or broken tree cannot steer the plugin elsewhere. The PF netdev is the
 * one entry of <pf>/net, or with several (mlx4 dual port, switchdev representors) the lowest
 * dev_port among those that are not representors (phys_port_name "pfXvfY"), ties by name.
 * Errors (code 7 unless the tree is unreadable, code 5) name the address: not found, not a
 * VF, PF without netdev, index not found ("unable to get VF ID with PF: ..."), and "the VF X
 * does not have a interface name or a dpdk driver". Returns 0 or -1; out is freed on error. */
CNI_MUST_CHECK int sriov_pci_lookup(const char *sysfs_root, const char *vf_addr,
				    struct sriov_pci *out, struct cni_err *err);

/* The VF's netdev in the caller's netns now (first entry of <vf>/net/), NULL in *name when it
 * has none. DEL uses it to find a VF the kernel returned from a dead netns under another name.
 * Returns 0, or -1 with err set when the device itself is missing or unreadable. */
CNI_MUST_CHECK int sriov_pci_vf_netdev(const char *sysfs_root, const char *vf_addr, char **name,
				       struct cni_err *err);

void sriov_pci_free(struct sriov_pci *p);

#endif

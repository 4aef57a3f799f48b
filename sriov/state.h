/* sriov/state.h: what a VF looked like before ADD and what ADD did to it, plus who holds it.
 * Follows sriov-cni pkg/config LoadConfFromCache, pkg/utils/pci_allocator.go; saved first, in
 * sriov-cni's layout so either plugin can release what the other attached (docs/sriov.md). */
#ifndef PLEXUS_SRIOV_STATE_H
#define PLEXUS_SRIOV_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"
#include "sriov/netdev.h"
#include "sriov/statejson.h"
#include "sriov/vf.h"

/* One attachment. Strings are malloc'd; free with sriov_state_free(). */
struct sriov_state {
	char *container_id, *ifname, *netns, *network;
	char *device_id; /* the VF's PCI address: DEL finds the VF by it */
	char *pf_name;
	unsigned vf_index;
	bool dpdk;		    /* no netdev: nothing moved */
	struct sriov_link host;	    /* the VF netdev before ADD (kernel mode) */
	struct sriov_vf_state orig; /* PF side before ADD */
	struct sriov_vf_state want; /* PF side as ADD sets it */
	unsigned pf_mask;	    /* SRIOV_VF_* that ADD sets */
	bool has_mac;
	unsigned char mac[6];	/* the MAC ADD gave the pod's netdev */
	char *device_info_file; /* written by ADD, removed by DEL when device_info_created */
	bool device_info_created;
	bool del_failed;	       /* a DEL already failed once: the next one reports success */
	char *cni_version, *ipam_type; /* the netconf's, for sriov-cni's layout; may be NULL */
};

/* The key of sriov-cni's layout under which bin/sriov keeps its own record of the attachment.
 * sriov-cni's Go decoder ignores it (it matches no NetConf field, in any case). */
#define SRIOV_STATE_OWN_KEY "plexus"

/* <dir>/<containerID>-<ifname>, sriov-cni's cache path. NULL when out of memory. */
char *sriov_state_path(const char *dir, const char *container_id, const char *ifname);

/* Creates dir, dir/pci and dir/pci/vf_lock (0700). */
CNI_MUST_CHECK int sriov_state_dirs(const char *dir, struct cni_err *err);

/* Writes the state durably and atomically (tmp + fsync + rename, 0600). */
CNI_MUST_CHECK int sriov_state_save(const char *dir, const struct sriov_state *st,
				    struct cni_err *err);

/* Returns 1 and fills st, 0 when there is no state file, -1 with err when it is unreadable or
 * not a state (code 5/6). */
CNI_MUST_CHECK int sriov_state_load(const char *dir, const char *container_id, const char *ifname,
				    struct sriov_state *st, struct cni_err *err);
CNI_MUST_CHECK int sriov_state_load_path(const char *path, struct sriov_state *st,
					 struct cni_err *err);

CNI_MUST_CHECK int sriov_state_remove(const char *dir, const char *container_id, const char *ifname,
				      struct cni_err *err);

/* Paths of every state file in dir (regular files whose name has a '-'); *n gets the count.
 * A missing dir gives none. Free with sriov_state_paths_free(). */
CNI_MUST_CHECK int sriov_state_list(const char *dir, char ***paths, size_t *n, struct cni_err *err);
void sriov_state_paths_free(char **paths, size_t n);

void sriov_state_free(struct sriov_state *st);

/* Takes the per-VF lock <dir>/pci/vf_lock/<pci>.lock with cni_lock (not inherited), waiting up
 * to timeout_ms (> 0): "time out while waiting to acquire exclusive lock on [path]" (code 11).
 * Returns an fd (the lock lives until it is closed) or -1. */
CNI_MUST_CHECK int sriov_alloc_lock(const char *dir, const char *pci, int timeout_ms,
				    struct cni_err *err);

/* The allocation record <dir>/pci/<pci>: the holder's netns path alone, as sriov-cni writes and
 * reads it; the container ID and interface are in <dir>/pci/<pci>.owner (JSON), which counts
 * only while it names the record's netns. */
#define SRIOV_ALLOC_OWNER_SUFFIX ".owner"
struct sriov_alloc {
	char *netns;
	char *container_id; /* NULL in a record written by sriov-cni (no owner file) */
	char *ifname;
};

/* Returns 1 and fills a when a record exists, 0 when not, -1 on error. Also reads the JSON
 * record {"netns","containerID","ifname"} of earlier releases. */
CNI_MUST_CHECK int sriov_alloc_read(const char *dir, const char *pci, struct sriov_alloc *a,
				    struct cni_err *err);
void sriov_alloc_free(struct sriov_alloc *a);

/* For ADD, under the lock: fails with "pci address X is already allocated" (code 11, details
 * naming the holder) while the recorded netns still exists; a record whose netns is gone is
 * stale and removed. */
CNI_MUST_CHECK int sriov_alloc_check(const char *dir, const char *pci, struct cni_err *err);

/* True when the record (if any) names this attachment, or has no owner to compare. */
bool sriov_alloc_is_ours(const struct sriov_alloc *a, const char *container_id, const char *ifname,
			 const char *netns);

/* Writes the owner file, then the record (both atomically). */
CNI_MUST_CHECK int sriov_alloc_write(const char *dir, const char *pci, const char *netns,
				     const char *container_id, const char *ifname,
				     struct cni_err *err);
/* Removes the record and its owner file; missing ones are success. */
CNI_MUST_CHECK int sriov_alloc_remove(const char *dir, const char *pci, struct cni_err *err);

#endif

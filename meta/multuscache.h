/* meta/multuscache.h: Multus's per-container cache <cniDir>/<containerID>, both ways: plexus
 * deletes a pod Multus attached from it, and writes it next to its own plan so that a Multus
 * put back on the node deletes a pod plexus attached. Follows Multus pkg/multus/multus.go
 * saveDelegates/consumeScratchNetConf and CmdDel, over pkg/types DelegateNetConf. */
#ifndef PLEXUS_META_MULTUSCACHE_H
#define PLEXUS_META_MULTUSCACHE_H

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "meta/netconf.h"
#include "meta/plan.h"

/* <cni_dir>/<container_id>, malloc'd; NULL out of memory. */
char *meta_multus_cache_path(const char *cni_dir, const char *container_id);

/* Appends to plan (whose header the caller filled) one attachment per delegate of the Multus
 * cache at path, in its order: the delegate's original bytes ("Bytes"), its network-status name
 * ("Name"), ifnameRequest, macRequest, ipRequest, infinibandGUIDRequest, deviceID and
 * resourceName. As Multus's DEL: the first delegate is the master, and every delegate but the
 * master gets its requests as capability args on top of the netconf's runtimeConfig. The
 * caller then names the interfaces with meta_plan_finish (Multus getIfname).
 * Returns 1 (read), 0 (no file) or -1 (unreadable, not Multus's layout: err set, code 3). */
int meta_multus_cache_read(const char *path, const struct meta_netconf *nc, struct meta_plan *plan,
			   struct cni_err *err) CNI_MUST_CHECK;

/* The plan in Multus's layout (a JSON array of DelegateNetConf, as Go's json.Marshal writes
 * it): what Multus's DEL needs to delete every attachment by its own rules; an interface name
 * Multus would not compute itself is written as ifnameRequest. NULL out of memory. */
cJSON *meta_multus_cache_from_plan(const struct meta_plan *plan);

/* meta_multus_cache_from_plan written to path atomically (rename) but not synced, as Multus
 * writes its own, mode 0600 in a 0700 directory. */
int meta_multus_cache_write(const char *path, const struct meta_plan *plan,
			    struct cni_err *err) CNI_MUST_CHECK;

#endif

/* meta/auxchain.h: Multus's auxiliary CNI chain (auxiliaryCNIChainName): plugin configurations
 * dropped in <dir(clusterNetwork)>/<chain>/ run, after a passthru, as one extra attachment after
 * all others. Follows Multus pkg/multus/multus.go CmdAdd and libcni conf.go
 * NetworkPluginConfsFromFiles (the .conf files of a network's subdirectory, by name). */
#ifndef PLEXUS_META_AUXCHAIN_H
#define PLEXUS_META_AUXCHAIN_H

#include "cni/err.h"
#include "meta/netconf.h"
#include "meta/plan.h"

/* When nc names an auxiliary chain and clusterNetwork is a path, appends to plan the conflist
 * {"cniVersion": <netconf's>, "name": <chain>, "plugins": [{"type": "passthru"}, <each .conf of
 * <dir(clusterNetwork)>/<chain>/ by name>...]}, the plugins inline so that DEL needs nothing
 * on disk; nothing when the directory is missing or empty (only passthru: Multus adds no
 * delegate). A file that is not a plugin configuration is code 7 naming it. Returns 0 or -1. */
int meta_aux_chain_add(struct meta_plan *plan, const struct meta_netconf *nc,
		       struct cni_err *err) CNI_MUST_CHECK;

#endif

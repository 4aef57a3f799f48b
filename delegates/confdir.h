/* delegates/confdir.h: find a network configuration by CNI name or by path.
 * Follows libcni conf.go (ConfFiles, LoadConfList) and Multus getDelegateNetConf. */
#ifndef PLEXUS_DLG_CONFDIR_H
#define PLEXUS_DLG_CONFDIR_H

#include "cni/config.h"
#include "cni/err.h"

/* Loads ref into out:
 *  - ref containing '/': a file (.conf, .conflist or .json), or a directory, whose first such
 *    file by name is used;
 *  - otherwise a CNI network name: the first file by name in conf_dir whose "name" is ref
 *    (files that do not parse are skipped, as libcni does).
 * Files bigger than 1 MiB are refused. Errors (code 7) name the ref and the directory.
 * Returns 0 or -1. */
int dlg_confdir_load(const char *ref, const char *conf_dir, struct cni_conflist *out,
		     struct cni_err *err) CNI_MUST_CHECK;

#endif

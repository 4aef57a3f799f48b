/* ops/genfiles.h: one pass of `plexus generate-config`: find the primary CNI config, read it
 * and the service-account files, write 00-plexus.conflist and the kubeconfig when they change.
 * Unlike Multus cmd/thin_entrypoint/main.go, never writes an empty config and keeps it on exit. */
#ifndef PLEXUS_OPS_GENFILES_H
#define PLEXUS_OPS_GENFILES_H

#include <stdbool.h>
#include <stdio.h>

#include "cni/err.h"
#include "ops/gentext.h"

/* True for a file name the runtime could take for its network config and we may wrap: a
 * non-hidden .conf or .conflist that is not plexus's own (00-plexus.*) nor Multus's
 * (00-multus*: wrapping a meta-plugin in a meta-plugin is never what anyone wants). */
bool ops_gen_is_candidate(const char *name);

/* The alphabetically (byte order, as libcni sorts) first candidate in dir that is not a
 * directory. Returns a malloc'd name, or NULL with err (code 7 "no CNI network config (.conf
 * or .conflist) in <dir>", code 5 when dir cannot be read). */
char *ops_gen_find_primary(const char *dir, struct cni_err *err);

/* The directory part of path ("." without a slash, "/" for a top-level name); NULL on OOM. */
char *ops_gen_dir_of(const char *path);

/* One pass: kubeconfig (unless no_kubeconfig), then the netconf. Files are written only when
 * their content changes, atomically, mode 0600; on any error nothing after it is written and
 * what was there stays. Warnings (files the runtime would prefer to ours) go to warn (may be
 * NULL). Returns 1 when something was written, 0 when all was up to date, -1 with err. */
int ops_gen_once(const struct ops_gen_opts *o, FILE *warn, struct cni_err *err) CNI_MUST_CHECK;
#endif

/* meta/check.h: CHECK and STATUS of bin/plexus (cni/skel calls them). */
#ifndef PLEXUS_META_CHECK_H
#define PLEXUS_META_CHECK_H

#include "cni/err.h"
#include "cni/skel.h"

/* CHECK: every attachment of the container's cache, in order; no cache is code 3. */
int meta_cmd_check(const struct cni_request *req, struct cni_err *err) CNI_MUST_CHECK;

/* STATUS: the readiness file must exist, then the cluster network's STATUS answers. */
int meta_cmd_status(const struct cni_request *req, struct cni_err *err) CNI_MUST_CHECK;

#endif

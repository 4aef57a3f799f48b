/* meta/gc.h: GC of bin/plexus (cni/skel calls it). */
#ifndef PLEXUS_META_GC_H
#define PLEXUS_META_GC_H

#include "cni/err.h"
#include "cni/skel.h"

/* GC: deletes the cached containers not in cni.dev/valid-attachments (a cache that cannot be
 * read is kept and logged), then runs every delegate network's GC. Without the key nothing is
 * deleted. Errors of every part are joined into err. */
int meta_cmd_gc(const struct cni_request *req, struct cni_err *err) CNI_MUST_CHECK;

#endif

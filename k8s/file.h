/* k8s/file.h: cni_read_file with the k8s/ modules' messages, "<what> <path>: <why>". */
#ifndef PLEXUS_K8S_FILE_H
#define PLEXUS_K8S_FILE_H

#include <stddef.h>

#include "cni/err.h"
#include "cni/file.h"

/* cni_read_file(path, max, flags, len) whose failures read "<what> <path>: <why>": <why> is
 * strerror's text, "not a regular file" or "larger than <max>" (in MiB when max is a whole
 * number of them). Not found, as cni/err.h says: NULL with errno ENOENT and err untouched. */
CNI_MUST_CHECK char *k8s_read_file(const char *what, const char *path, size_t max, unsigned flags,
				   size_t *len, struct cni_err *err);

#endif

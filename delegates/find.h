/* delegates/find.h: find a plugin binary by its CNI type.
 * Follows libcni pkg/invoke FindInPath (CVE-2021-20206: no path separators in a type). */
#ifndef PLEXUS_DLG_FIND_H
#define PLEXUS_DLG_FIND_H

#include <stddef.h>

#include "cni/err.h"

/* Looks for type in dirs[0..ndirs) in order; the first regular, executable file wins (a
 * symlink to one counts; directories, sockets and non-executables do not). Empty (or NULL) dir
 * entries are skipped; a relative dir is taken from the working directory. Errors (code 7 for
 * a bad name, code 999 for no dirs or not found, matching libcni texts):
 * "no plugin name provided", "invalid plugin name: <type>" for '/', '\\' or "..",
 * "no paths provided", "failed to find plugin \"<type>\" in path [<dirs>]" (type quoted as
 * Go's %q does, the non-empty dirs separated by spaces as Go prints a []string).
 * Returns a malloc'd absolute path or NULL with err set. */
char *dlg_find(const char *type, const char *const *dirs, size_t ndirs, struct cni_err *err);

/* Splits a ':'-separated CNI_PATH into a NULL-terminated array of malloc'd strings (empty
 * entries dropped; a NULL path gives an empty list); *n gets the count. NULL only when out of
 * memory. Free with dlg_path_free(). */
char **dlg_path_split(const char *path, size_t *n);
void dlg_path_free(char **dirs);

#endif

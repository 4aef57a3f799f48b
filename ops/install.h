/* ops/install.h: `plexus install`: the binaries into the host's CNI bin dir, atomically.
 * Replaces Multus's init-container cp, which fails with "text file busy"
 * while the old binary runs (deployments/multus-daemonset.yml, the install-multus-binary step). */
#ifndef PLEXUS_OPS_INSTALL_H
#define PLEXUS_OPS_INSTALL_H

#include <stdio.h>

#include "cni/err.h"

#define OPS_INSTALL_BIN_DIR "/opt/cni/bin"
/* The bundled libraries of a `make dist` build, next to the binaries (rpath $ORIGIN/...). */
#define OPS_INSTALL_LIB_DIR "plexus-lib"

/* Installs the executable src as <dir>/<name>: a temporary file in dir, written, fsync'd,
 * mode 0755, renamed over the target (a running copy keeps its old inode), dir fsync'd. A
 * target with the same bytes and mode 0755 is left alone. Reports "installed"/"unchanged" to
 * report (may be NULL). Returns 1 installed, 0 unchanged, -1 with err (code 5 naming the file). */
int ops_install_file(const char *src, const char *dir, const char *name, FILE *report,
		     struct cni_err *err) CNI_MUST_CHECK;

/* Installs every file of <from>/plexus-lib (when that directory exists) into
 * <bin_dir>/plexus-lib, each as ops_install_file does but with mode 0644. Returns 0 or -1 with
 * err. */
int ops_install_libs(const char *from, const char *bin_dir, FILE *report,
		     struct cni_err *err) CNI_MUST_CHECK;

/* `plexus install ARGS`: argv[0] is "install". Returns the exit status. */
int ops_install_cmd(int argc, char **argv) CNI_MUST_CHECK;
void ops_install_usage(FILE *out);

#endif

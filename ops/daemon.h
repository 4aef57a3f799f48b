/* ops/daemon.h: `plexus daemon`: the container entrypoint of the plexus DaemonSet: install,
 * then generate-config --watch. Replaces Multus's init container + thin_entrypoint pair. */
#ifndef PLEXUS_OPS_DAEMON_H
#define PLEXUS_OPS_DAEMON_H

#include <stdio.h>

#include "cni/err.h"

/* Where the DaemonSet mounts the host's root (only the parts plexus writes are mounted). */
#define OPS_DAEMON_HOST_ROOT "/host"

/* `plexus daemon ARGS`: argv[0] is "daemon". Returns the exit status. */
int ops_daemon_cmd(int argc, char **argv) CNI_MUST_CHECK;
void ops_daemon_usage(FILE *out);

#endif

/* meta/daemon.h: `plexus daemon`: the container entrypoint of the plexus DaemonSet: install,
 * then generate-config --watch. Replaces Multus's init container + thin_entrypoint pair. */
#ifndef PLEXUS_META_DAEMON_H
#define PLEXUS_META_DAEMON_H

#include <stdio.h>

/* Where the DaemonSet mounts the host's root (only the parts plexus writes are mounted). */
#define META_DAEMON_HOST_ROOT "/host"

/* `plexus daemon ARGS`: argv[0] is "daemon". Returns the exit status. */
int meta_daemon_cmd(int argc, char **argv);
void meta_daemon_usage(FILE *out);

#endif

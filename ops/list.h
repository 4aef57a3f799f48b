/* ops/list.h: `plexus list`: what plexus attached on this node, read from its caches
 * (<cniDir>/plexus/<containerID>, the plan ADD wrote before running anything). */
#ifndef PLEXUS_OPS_LIST_H
#define PLEXUS_OPS_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

/* {"containers":[...]} sorted by container ID: each {"containerID", "file", "podNamespace",
 * "podName", "podUID", "sandboxID", "netns", "ifname", "cniVersion", "attachments":[{"ifname",
 * "network", "statusName", "master", "types":[...], "deviceID"?, "resourceName"?,
 * "deviceInfoFile"?}]}, or {"containerID", "file", "error"} for a cache that cannot be read
 * or parsed. A missing <cni_dir>/plexus is an empty list; a directory that cannot be read is
 * NULL with err (code 5 naming it). */
cJSON *ops_list_collect(const char *cni_dir, struct cni_err *err);

/* The table: one row per attachment; container IDs cut to 12 characters unless no_trunc. */
void ops_list_table(const cJSON *doc, bool no_trunc, FILE *out);

/* `plexus list ARGS`: argv[0] is "list". Returns the exit status. */
int ops_list_cmd(int argc, char **argv) CNI_MUST_CHECK;
void ops_list_usage(FILE *out);

#endif

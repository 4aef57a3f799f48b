/* ops/genconfig.h: `plexus generate-config`: its options, and --watch, which runs a pass
 * (ops/genfiles.h) whenever an input changes. Replaces Multus cmd/thin_entrypoint/main.go. */
#ifndef PLEXUS_OPS_GENCONFIG_H
#define PLEXUS_OPS_GENCONFIG_H

#include <stdio.h>

#include "cni/err.h"
#include "ops/genfiles.h"

/* `plexus generate-config ARGS`: argv[0] is "generate-config". Returns the exit status. */
int ops_genconfig_cmd(int argc, char **argv) CNI_MUST_CHECK;
void ops_genconfig_usage(FILE *out);
#endif

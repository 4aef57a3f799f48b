/* ops/cli.h: the operator's side of bin/plexus: subcommands run by a person or the DaemonSet,
 * never by a container runtime (which runs plugins without arguments). */
#ifndef PLEXUS_OPS_CLI_H
#define PLEXUS_OPS_CLI_H

#include "cni/err.h"

/* Dispatches argv[1] (--version, --help, generate-config, install, list); returns the exit
 * status. */
int ops_cli_main(int argc, char **argv) CNI_MUST_CHECK;

/* A command's usage error: prints "plexus <cmd>: <message> (see plexus <cmd> --help)" on stderr
 * and returns 2, the exit status of every usage error. */
int ops_usage_error(const char *cmd, const char *fmt, ...) CNI_PRINTF(2, 3);

/* The usage error for what getopt_long returned as opt (':' a missing value, anything else an
 * unknown option) about arg (argv[optind - 1]); returns 2. */
int ops_getopt_error(const char *cmd, int opt, const char *arg);

#endif

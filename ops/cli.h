/* ops/cli.h: the operator's side of bin/plexus: subcommands run by a person or the DaemonSet,
 * never by a container runtime (which runs plugins without arguments). */
#ifndef PLEXUS_OPS_CLI_H
#define PLEXUS_OPS_CLI_H

/* Dispatches argv[1] (--version, --help, generate-config, install, list); returns the exit
 * status. */
int ops_cli_main(int argc, char **argv);

#endif

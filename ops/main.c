/* ops/main.c: bin/plexus. A runtime runs it without arguments: it is the plugin (meta/plugin.h);
 * an operator runs it with a command (ops/cli.h). The one place that sees both sides. */
#include <stdio.h>

#include "cni/log.h"
#include "cni/skel.h"
#include "meta/plugin.h"
#include "ops/cli.h"

int main(int argc, char **argv)
{
	int rc;

	/* a runtime runs plugins without arguments; an operator runs subcommands */
	if (argc > 1)
		return ops_cli_main(argc, argv);
	rc = cni_skel_run(&meta_plugin, stdin, stdout);

	cni_log_close();
	return rc;
}

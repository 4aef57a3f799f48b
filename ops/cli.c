/* ops/cli.c: plexus's operator subcommands, dispatched when bin/plexus has arguments (a
 * runtime never passes any). Exit status: 0 done, 1 an error (one line on stderr), 2 usage. */
#include "ops/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/spec.h"
#include "ops/daemon.h"
#include "ops/genconfig.h"
#include "ops/install.h"
#include "ops/list.h"
#include "ops/validate.h"
#include "meta/version.h"

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
};

static const struct command commands[] = {
	{ "generate-config", "wrap the primary CNI config into 00-plexus.conflist, kubeconfig",
	  ops_genconfig_cmd, ops_genconfig_usage },
	{ "install", "copy the binaries into the CNI bin dir atomically", ops_install_cmd,
	  ops_install_usage },
	{ "list", "what plexus attached on this node (table or JSON)", ops_list_cmd,
	  ops_list_usage },
	{ "daemon", "the DaemonSet entrypoint: install, then generate-config --watch",
	  ops_daemon_cmd, ops_daemon_usage },
	{ "validate", "check a netconf, NADs and a pod offline, as ADD would", ops_validate_cmd,
	  ops_validate_usage },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fputs("Usage: plexus                     (run by a container runtime: CNI_COMMAND etc.)\n"
	      "       plexus COMMAND [OPTION]...\n"
	      "       plexus --version | --help | help COMMAND\n"
	      "\n"
	      "plexus is a Multus-compatible CNI meta-plugin. Without arguments it is the plugin\n"
	      "(ADD, DEL, CHECK, GC, STATUS, VERSION). The commands are for operators:\n"
	      "\n",
	      out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-17s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "  -v, --version     version, CNI versions supported, build information\n"
	      "  -h, --help        this help; COMMAND --help for a command's options\n"
	      "\n"
	      "See plexus(1).\n",
	      out);
}

static void version(void)
{
	printf("plexus %s%s%s\n", PLEXUS_VERSION, *PLEXUS_GIT_DESCRIBE ? " " : "",
	       PLEXUS_GIT_DESCRIBE);
	fputs("CNI spec versions:", stdout);
	for (size_t i = 0; i < cni_nversions; i++)
		printf(" %s", cni_versions[i]);
	printf("\nbuilt with: "
#ifdef __clang__
	       "clang "
#else
	       "gcc "
#endif
	       "%s, cJSON %s\n",
	       __VERSION__, cJSON_Version());
}

int ops_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plexus %s: ", cmd);
	/* ap is started just above: clang-tidy 14 forgets va_start in every translation unit
	 * after the first of a run (LLVM bug 41311, llvm-project#40656). */
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	fprintf(stderr, " (see plexus %s --help)\n", cmd);
	return 2;
}

int ops_getopt_error(const char *cmd, int opt, const char *arg)
{
	if (opt == ':')
		return ops_usage_error(cmd, "option \"%s\" needs a value", arg);
	return ops_usage_error(cmd, "unknown option \"%s\"", arg);
}

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int ops_cli_main(int argc, char **argv)
{
	const char *arg = argv[1];
	const struct command *cmd;

	if (strcmp(arg, "--version") == 0 || strcmp(arg, "-v") == 0 ||
	    strcmp(arg, "version") == 0) {
		version();
		return 0;
	}
	if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
	    (strcmp(arg, "help") == 0 && argc == 2)) {
		usage(stdout);
		return 0;
	}
	if (strcmp(arg, "help") == 0) {
		cmd = find(argv[2]);
		if (!cmd) {
			fprintf(stderr, "plexus: no command \"%s\" (see plexus --help)\n", argv[2]);
			return 2;
		}
		cmd->usage(stdout);
		return 0;
	}
	cmd = find(arg);
	if (!cmd) {
		fprintf(stderr, "plexus: unknown command \"%s\" (see plexus --help)\n", arg);
		return 2;
	}
	return cmd->run(argc - 1, argv + 1);
}

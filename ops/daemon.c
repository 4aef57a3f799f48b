/* ops/daemon.c: `plexus daemon`: the image's entrypoint. `plexus install` into the host's CNI
 * bin dir, then `plexus generate-config --watch` on the host's CNI conf dir, in one process
 * that needs no shell: the image holds nothing but plexus, sriov and their libraries. */
#include "ops/daemon.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ops/genconfig.h"
#include "ops/install.h"
#include "ops/cli.h"

void ops_daemon_usage(FILE *out)
{
	fputs("Usage: plexus daemon [OPTION]... [GENERATE-CONFIG OPTION]...\n"
	      "The entrypoint of the plexus DaemonSet: install the binaries into the host's CNI\n"
	      "bin dir (plexus install), then keep 00-plexus.conflist and the kubeconfig up to\n"
	      "date (plexus generate-config --watch) until SIGTERM.\n"
	      "\n"
	      "  --host-root DIR      where the host's directories are mounted\n"
	      "                       (" OPS_DAEMON_HOST_ROOT "; environment PLEXUS_HOST_ROOT)\n"
	      "  --cni-bin-dir DIR    install into DIR (default HOST-ROOT" OPS_INSTALL_BIN_DIR ")\n"
	      "  --skip-install       do not install, only generate the config\n"
	      "  --once               generate once and exit instead of watching\n"
	      "  -h, --help           this help\n"
	      "\n"
	      "Every other option goes to plexus generate-config. Unless given there:\n"
	      "--cni-conf-dir is HOST-ROOT" OPS_GEN_CONF_DIR ", and --kubeconfig-host is\n"
	      "the kubeconfig's path with HOST-ROOT removed (the path the host's runtime sees).\n"
	      "\n"
	      "Exit status: 0 stopped by SIGTERM (or --once done), 1 an error, 2 usage.\n"
	      "See plexus(1).\n",
	      out);
}

/* arg is OPT or OPT=VALUE: the value (next for the first form, *used set to 1), or NULL when
 * arg is not OPT. *missing is set when OPT has no value. */
static const char *opt_value(const char *arg, const char *next, const char *opt, int *used,
			     bool *missing)
{
	size_t n = strlen(opt);

	if (strncmp(arg, opt, n) != 0)
		return NULL;
	if (arg[n] == '=')
		return arg + n + 1;
	if (arg[n] != '\0')
		return NULL;
	if (!next) {
		*missing = true;
		return NULL;
	}
	*used = 1;
	return next;
}

/* True when the generate-config arguments set OPT (either form). */
static bool has_opt(char **args, int n, const char *opt)
{
	size_t len = strlen(opt);

	for (int i = 0; i < n; i++)
		if (strncmp(args[i], opt, len) == 0 &&
		    (args[i][len] == '\0' || args[i][len] == '='))
			return true;
	return false;
}

/* The value generate-config will see for OPT, or NULL. */
static const char *gen_value(char **args, int n, const char *opt)
{
	size_t len = strlen(opt);
	const char *v = NULL;

	for (int i = 0; i < n; i++) {
		if (strncmp(args[i], opt, len) != 0)
			continue;
		if (args[i][len] == '=')
			v = args[i] + len + 1;
		else if (args[i][len] == '\0' && i + 1 < n)
			v = args[i + 1];
	}
	return v;
}

int ops_daemon_cmd(int argc, char **argv)
{
	const char *root = getenv("PLEXUS_HOST_ROOT"), *bin_dir = NULL, *v;
	char *own_bin = NULL, *conf_dir = NULL, *kc_out = NULL, *kc_host = NULL;
	char **gen = calloc((size_t)argc + 8, sizeof(*gen));
	bool skip_install = false, once = false, missing = false;
	int ngen = 0, ret = 1;

	if (!gen) {
		fputs("plexus daemon: out of memory\n", stderr);
		return 1;
	}
	if (!root || !*root)
		root = OPS_DAEMON_HOST_ROOT;
	gen[ngen++] = "generate-config";
	for (int i = 1; i < argc && argv[i]; i++) {
		const char *arg = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		int used = 0;

		if ((v = opt_value(arg, next, "--host-root", &used, &missing)))
			root = v;
		else if ((v = opt_value(arg, next, "--cni-bin-dir", &used, &missing)))
			bin_dir = v;
		else if (missing)
			break;
		else if (strcmp(arg, "--skip-install") == 0)
			skip_install = true;
		else if (strcmp(arg, "--once") == 0)
			once = true;
		else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			ops_daemon_usage(stdout);
			free(gen);
			return 0;
		} else if (strcmp(arg, "--watch") != 0)
			gen[ngen++] = argv[i];
		i += used;
	}
	if (missing) {
		free(gen);
		return ops_usage_error("daemon", "--host-root and --cni-bin-dir need a value");
	}
	if (!*root || root[0] != '/' || (bin_dir && !*bin_dir)) {
		free(gen);
		return ops_usage_error("daemon", "--host-root \"%s\" must be an absolute path",
				       root);
	}
	/* "/" means the host's directories are mounted where the host has them */
	if (strcmp(root, "/") == 0)
		root = "";
	if (!bin_dir && asprintf(&own_bin, "%s%s", root, OPS_INSTALL_BIN_DIR) < 0)
		goto oom;
	if (!has_opt(gen, ngen, "--cni-conf-dir")) {
		if (asprintf(&conf_dir, "--cni-conf-dir=%s%s", root, OPS_GEN_CONF_DIR) < 0)
			goto oom;
		gen[ngen++] = conf_dir;
	}
	/* thick mode writes no kubeconfig: the daemon holds the credentials */
	if (!has_opt(gen, ngen, "--kubeconfig-host") && !has_opt(gen, ngen, "--no-kubeconfig") &&
	    !has_opt(gen, ngen, "--thick")) {
		const char *out = gen_value(gen, ngen, "--kubeconfig-out"), *host;
		size_t rlen = strlen(root);

		if (!out) {
			if (asprintf(&kc_out, "%s/%s", gen_value(gen, ngen, "--cni-conf-dir"),
				     OPS_GEN_KUBECONFIG) < 0)
				goto oom;
			out = kc_out;
		}
		host = out;
		if (rlen && strncmp(out, root, rlen) == 0 && out[rlen] == '/')
			host = out + rlen;
		if (asprintf(&kc_host, "--kubeconfig-host=%s", host) < 0)
			goto oom;
		gen[ngen++] = kc_host;
	}
	gen[ngen++] = once ? "--once" : "--watch";
	gen[ngen] = NULL;

	if (!skip_install) {
		char *inst[] = { "install", "--bin-dir", (char *)(bin_dir ? bin_dir : own_bin),
				 NULL };

		printf("plexus daemon: installing into %s\n", inst[2]);
		fflush(stdout);
		if (ops_install_cmd(3, inst) != 0) {
			fputs("plexus daemon: install failed; not generating the config\n", stderr);
			goto out;
		}
	}
	fflush(stdout);
	ret = ops_genconfig_cmd(ngen, gen);
	goto out;
oom:
	fputs("plexus daemon: out of memory\n", stderr);
out:
	free(gen);
	free(own_bin);
	free(conf_dir);
	free(kc_out);
	free(kc_host);
	return ret;
}

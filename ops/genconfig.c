/* ops/genconfig.c: `plexus generate-config`: options, --once, and --watch (inotify on the conf
 * dir, the primary's and the token's directories, a periodic resync, SIGTERM keeps the config). */
#include "ops/genconfig.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cni/log.h"
#include "cni/spec.h"
#include "meta/netconf.h"
#include "ops/cli.h"

/* inotify can overflow or miss a change through a bind mount: look again now and then */
#define RESYNC_MS 60000
/* editors and kubelet's atomic writer make bursts of events: act once they settle */
#define SETTLE_MS 150

void ops_genconfig_usage(FILE *out)
{
	fputs(
	    "Usage: plexus generate-config [OPTION]...\n"
	    "Wrap the node's primary CNI config into 00-plexus.conflist and write a kubeconfig\n"
	    "for the plugin. Files are written atomically, mode 0600, only when they change.\n"
	    "\n"
	    "  --cni-conf-dir DIR         the runtime's CNI conf dir (" OPS_GEN_CONF_DIR ")\n"
	    "  --plexus-conf-file auto|F  auto: generate (default); F: check F and copy it\n"
	    "  --master-cni-file NAME     the primary config (a name in the conf dir or a path);\n"
	    "                             default: the first .conf/.conflist by name\n"
	    "  --kubeconfig-out PATH      where to write the kubeconfig\n"
	    "                             (default: CONF-DIR/" OPS_GEN_KUBECONFIG ")\n"
	    "  --kubeconfig-host PATH     the kubeconfig path as the host sees it, written into\n"
	    "                             the config (default: --kubeconfig-out)\n"
	    "  --no-kubeconfig            no kubeconfig: plexus runs without API access\n"
	    "  --sa-dir DIR               service-account token and CA\n"
	    "                             (" OPS_GEN_SA_DIR ")\n"
	    "  --namespace-isolation      pods may only use networks of their own namespace\n"
	    "  --global-namespaces LIST   namespaces any pod may use (comma-separated)\n"
	    "  --log-level LEVEL          panic, error, verbose or debug\n"
	    "  --log-file FILE            the plugin's log file\n"
	    "  --readiness-indicator-file FILE\n"
	    "                             ADD waits for FILE (the cluster network is ready)\n"
	    "  --cni-version V            cniVersion of the config (default: the primary's)\n"
	    "  --cni-dir DIR              the plugin's cniDir, for its caches\n"
	    "                             (plexus's default: " META_DEFAULT_CNI_DIR ")\n"
	    "  --bin-dir DIR              the plugin's binDir\n"
	    "                             (plexus's default: " META_DEFAULT_BIN_DIR ")\n"
	    "  --thick                    thick mode: the plugin is plexus-shim, which forwards\n"
	    "                             to plexusd; no kubeconfig is written (the daemon\n"
	    "                             holds the credentials)\n"
	    "  --daemon-socket PATH       thick: plexusd's socket\n"
	    "                             (default: " OPS_GEN_DAEMON_SOCKET ")\n"
	    "  --once                     generate once and exit (default)\n"
	    "  --watch                    keep running: regenerate when the primary config, the\n"
	    "                             conf dir or the token change; SIGTERM exits and leaves\n"
	    "                             the last good config in place\n"
	    "  -h, --help                 this help\n"
	    "\n"
	    "Exit status: 0 written or up to date, 1 an error (the old files stay), 2 usage.\n"
	    "See plexus-generate-config(1).\n",
	    out);
}

enum {
	OPT_CONF_DIR = 256,
	OPT_CONF_FILE,
	OPT_MASTER,
	OPT_KC_OUT,
	OPT_KC_HOST,
	OPT_NO_KC,
	OPT_SA_DIR,
	OPT_ISOLATION,
	OPT_GLOBAL_NS,
	OPT_LOG_LEVEL,
	OPT_LOG_FILE,
	OPT_READINESS,
	OPT_CNI_VERSION,
	OPT_CNI_DIR,
	OPT_BIN_DIR,
	OPT_THICK,
	OPT_DAEMON_SOCKET,
	OPT_ONCE,
	OPT_WATCH,
};

static const struct option gen_options[] = {
	{ "cni-conf-dir", required_argument, NULL, OPT_CONF_DIR },
	{ "plexus-conf-file", required_argument, NULL, OPT_CONF_FILE },
	{ "master-cni-file", required_argument, NULL, OPT_MASTER },
	{ "kubeconfig-out", required_argument, NULL, OPT_KC_OUT },
	{ "kubeconfig-host", required_argument, NULL, OPT_KC_HOST },
	{ "no-kubeconfig", no_argument, NULL, OPT_NO_KC },
	{ "sa-dir", required_argument, NULL, OPT_SA_DIR },
	{ "namespace-isolation", no_argument, NULL, OPT_ISOLATION },
	{ "global-namespaces", required_argument, NULL, OPT_GLOBAL_NS },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "readiness-indicator-file", required_argument, NULL, OPT_READINESS },
	{ "cni-version", required_argument, NULL, OPT_CNI_VERSION },
	{ "cni-dir", required_argument, NULL, OPT_CNI_DIR },
	{ "bin-dir", required_argument, NULL, OPT_BIN_DIR },
	{ "thick", no_argument, NULL, OPT_THICK },
	{ "daemon-socket", required_argument, NULL, OPT_DAEMON_SOCKET },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The runtime resolves paths from its own working directory: make every one absolute. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out = NULL;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

struct watch {
	int ifd;
	int sfd;
	const char *dirs[4];
	int wd[4];
	size_t n;
};

static void watch_dirs(struct watch *w)
{
	const uint32_t mask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
			      IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

	/* a directory that appears later (or was replaced) is picked up on the next pass */
	for (size_t i = 0; i < w->n; i++)
		if (w->wd[i] < 0)
			w->wd[i] = inotify_add_watch(w->ifd, w->dirs[i], mask);
}

/* Drains what is queued; forgets watches whose directory went away. */
static void drain(struct watch *w)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				for (size_t i = 0; i < w->n; i++)
					if (w->wd[i] == ev->wd) {
						inotify_rm_watch(w->ifd, w->wd[i]);
						w->wd[i] = -1;
					}
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* One pass in watch mode: a warning is said once, an error every time (it is still wrong). */
static void watch_pass(const struct ops_gen_opts *o, char **last_warn)
{
	struct cni_err err = { 0 };
	char *warn_text = NULL;
	size_t warn_len = 0;
	FILE *warn = open_memstream(&warn_text, &warn_len);

	if (ops_gen_once(o, warn, &err) < 0)
		fprintf(stderr, "plexus generate-config: %s\n", err.msg);
	cni_err_clear(&err);
	if (warn)
		fclose(warn);
	if (warn_text && (!*last_warn || strcmp(*last_warn, warn_text) != 0))
		fputs(warn_text, stderr);
	free(*last_warn);
	*last_warn = warn_text;
	fflush(stdout);
	fflush(stderr);
}

static int watch_loop(struct ops_gen_opts *o, const char *master_dir, const char *file_dir)
{
	struct watch w = { .ifd = -1, .sfd = -1 };
	char *last_warn = NULL;
	sigset_t mask;
	int ret = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (w.sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0 ||
	    (w.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0) {
		fprintf(stderr, "plexus generate-config: cannot watch: %s\n", strerror(errno));
		goto out;
	}
	w.dirs[w.n++] = o->conf_dir;
	if (!o->no_kubeconfig)
		w.dirs[w.n++] = o->sa_dir;
	if (master_dir)
		w.dirs[w.n++] = master_dir;
	if (file_dir)
		w.dirs[w.n++] = file_dir;
	for (size_t i = 0; i < w.n; i++)
		w.wd[i] = -1;
	o->report_unchanged = false;
	printf("plexus generate-config: watching %s%s%s\n", o->conf_dir,
	       o->no_kubeconfig ? "" : " and ", o->no_kubeconfig ? "" : o->sa_dir);
	for (;;) {
		struct pollfd p[2] = { { .fd = w.sfd, .events = POLLIN },
				       { .fd = w.ifd, .events = POLLIN } };
		int r;

		watch_dirs(&w);
		watch_pass(o, &last_warn);
		r = poll(p, 2, RESYNC_MS);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "plexus generate-config: poll: %s\n", strerror(errno));
			goto out;
		}
		if (r > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(w.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
			    si.ssi_signo != SIGHUP) {
				/* Multus deletes its config here; then pods scheduled while we are
				 * away silently get only the cluster network. The last good config
				 * stays: plexus keeps working without this process. */
				printf(
				    "plexus generate-config: %s: exiting; the last good config in "
				    "%s stays in place\n",
				    strsignal((int)si.ssi_signo), o->conf_dir);
				ret = 0;
				goto out;
			}
		}
		if (r > 0 && (p[1].revents & POLLIN)) {
			struct pollfd q = { .fd = w.ifd, .events = POLLIN };

			int rounds = 0;

			/* a writer that never stops must not starve regeneration: 2 s at most */
			do
				drain(&w);
			while (++rounds < 2000 / SETTLE_MS && poll(&q, 1, SETTLE_MS) > 0);
		}
	}
out:
	free(last_warn);
	if (w.ifd >= 0)
		close(w.ifd);
	if (w.sfd >= 0)
		close(w.sfd);
	return ret;
}

int ops_genconfig_cmd(int argc, char **argv)
{
	struct ops_gen_opts o = { .sa_dir = OPS_GEN_SA_DIR,
				  .report = stdout,
				  .report_unchanged = true };
	const char *conf_dir = OPS_GEN_CONF_DIR, *kc_out = NULL, *kc_host = NULL;
	char *abs_dir = NULL, *abs_kc = NULL, *abs_host = NULL, *abs_file = NULL;
	char *abs_master = NULL, *abs_sa = NULL, *master_dir = NULL, *file_dir = NULL;
	struct cni_err err = { 0 };
	bool watch = false, once = false;
	int c, ret = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", gen_options, NULL)) != -1) {
		switch (c) {
		case OPT_CONF_DIR:
			conf_dir = optarg;
			break;
		case OPT_CONF_FILE:
			o.conf_file = strcmp(optarg, "auto") == 0 ? NULL : optarg;
			break;
		case OPT_MASTER:
			o.master = optarg;
			break;
		case OPT_KC_OUT:
			kc_out = optarg;
			break;
		case OPT_KC_HOST:
			kc_host = optarg;
			break;
		case OPT_NO_KC:
			o.no_kubeconfig = true;
			break;
		case OPT_SA_DIR:
			o.sa_dir = optarg;
			break;
		case OPT_ISOLATION:
			o.namespace_isolation = true;
			break;
		case OPT_GLOBAL_NS:
			o.global_namespaces = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (cni_log_level_parse(optarg) < 0)
				return ops_usage_error(
				    "generate-config",
				    "--log-level \"%s\": use panic, error, verbose "
				    "or debug",
				    optarg);
			o.log_level = optarg;
			break;
		case OPT_LOG_FILE:
			o.log_file = optarg;
			break;
		case OPT_READINESS:
			o.readiness_file = optarg;
			break;
		case OPT_CNI_VERSION:
			if (!cni_version_supported(optarg))
				return ops_usage_error(
				    "generate-config",
				    "--cni-version \"%s\" is not a supported CNI "
				    "version",
				    optarg);
			o.cni_version = optarg;
			break;
		case OPT_CNI_DIR:
			o.cni_dir = optarg;
			break;
		case OPT_BIN_DIR:
			o.bin_dir = optarg;
			break;
		case OPT_THICK:
			o.thick = true;
			break;
		case OPT_DAEMON_SOCKET:
			o.daemon_socket = optarg;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_WATCH:
			watch = true;
			break;
		case 'h':
			ops_genconfig_usage(stdout);
			return 0;
		default:
			return ops_getopt_error("generate-config", c, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ops_usage_error("generate-config", "unexpected argument \"%s\"",
				       argv[optind]);
	if (once && watch)
		return ops_usage_error("generate-config", "--once and --watch exclude each other");
	/* getopt_long sets optarg for every required_argument: no option is NULL here */
	if (!*conf_dir || (kc_out && !*kc_out) || (o.master && !*o.master) ||
	    // NOLINTNEXTLINE(clang-analyzer-core.NullDereference)
	    (o.conf_file && !*o.conf_file) || !*o.sa_dir)
		return ops_usage_error("generate-config", "an option has an empty value");
	if (kc_host && kc_host[0] != '/')
		return ops_usage_error("generate-config",
				       "--kubeconfig-host \"%s\" must be an absolute path",
				       kc_host);
	if (o.log_file && o.log_file[0] != '/')
		return ops_usage_error("generate-config",
				       "--log-file \"%s\" must be an absolute path", o.log_file);
	if (o.readiness_file && o.readiness_file[0] != '/')
		return ops_usage_error("generate-config",
				       "--readiness-indicator-file \"%s\" must be an absolute path",
				       o.readiness_file);
	if (o.cni_dir && o.cni_dir[0] != '/')
		return ops_usage_error("generate-config",
				       "--cni-dir \"%s\" must be an absolute path", o.cni_dir);
	if (o.bin_dir && o.bin_dir[0] != '/')
		return ops_usage_error("generate-config",
				       "--bin-dir \"%s\" must be an absolute path", o.bin_dir);
	if (o.daemon_socket && !o.thick)
		return ops_usage_error("generate-config", "--daemon-socket needs --thick");
	if (o.daemon_socket && o.daemon_socket[0] != '/')
		return ops_usage_error("generate-config",
				       "--daemon-socket \"%s\" must be an absolute path",
				       o.daemon_socket);
	if (o.thick && (kc_out || kc_host))
		return ops_usage_error("generate-config",
				       "--thick writes no kubeconfig: drop --kubeconfig-out and "
				       "--kubeconfig-host");
	if (o.thick)
		o.no_kubeconfig = true;

	abs_dir = absolute(conf_dir);
	abs_sa = absolute(o.sa_dir);
	if (kc_out)
		abs_kc = absolute(kc_out);
	else if (abs_dir && asprintf(&abs_kc, "%s/%s", abs_dir, OPS_GEN_KUBECONFIG) < 0)
		abs_kc = NULL;
	if (o.conf_file)
		abs_file = absolute(o.conf_file);
	if (o.master && strchr(o.master, '/'))
		abs_master = absolute(o.master);
	abs_host = strdup(kc_host ? kc_host : abs_kc ? abs_kc : "");
	if (!abs_dir || !abs_sa || !abs_kc || !abs_host || (o.conf_file && !abs_file) ||
	    (o.master && strchr(o.master, '/') && !abs_master)) {
		fprintf(stderr, "plexus generate-config: out of memory\n");
		goto out;
	}
	o.conf_dir = abs_dir;
	o.sa_dir = abs_sa;
	o.kubeconfig_out = abs_kc;
	o.kubeconfig_host = abs_host;
	if (abs_file)
		o.conf_file = abs_file;
	if (abs_master)
		o.master = abs_master;

	if (watch) {
		/* the primary or the hand-written file may live outside the conf dir */
		if (abs_master)
			master_dir = ops_gen_dir_of(abs_master);
		if (abs_file)
			file_dir = ops_gen_dir_of(abs_file);
		ret = watch_loop(&o, master_dir, file_dir);
		goto out;
	}
	if (ops_gen_once(&o, stderr, &err) < 0) {
		fprintf(stderr, "plexus generate-config: %s\n", err.msg);
		goto out;
	}
	ret = 0;
out:
	cni_err_clear(&err);
	free(abs_dir);
	free(abs_sa);
	free(abs_kc);
	free(abs_host);
	free(abs_file);
	free(abs_master);
	free(master_dir);
	free(file_dir);
	return ret;
}

/* daemon/main.c: plexusd, the node daemon of thick mode: config, credentials, socket, serve,
 * and a clean stop on SIGTERM. Follows Multus cmd/multus-daemon/main.go (flags, startup order:
 * readiness indicator, API client, socket, ready) without its exit path that deletes the CNI
 * config (Multus #1527). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/log.h"
#include "daemon/caches.h"
#include "daemon/config.h"
#include "daemon/events.h"
#include "daemon/hotplug.h"
#include "daemon/metrics.h"
#include "daemon/server.h"
#include "delegates/exec.h"
#include "k8s/client.h"
#include "k8s/curl.h"
#include "k8s/kubeconfig.h"
#include "meta/kube.h"

#define READINESS_POLL_S 1

/* plexus_api_requests_total: every API request the daemon's clients make. */
static void observe_api(const char *method, long status)
{
	pxd_metrics_api(method, (int)status);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: plexusd [--config FILE]\n"
		   "  --config FILE, -config FILE  the daemon config (default " PXD_DEFAULT_CONFIG
		   ")\n");
}

static void apply_logging(const struct pxd_config *cfg)
{
	cni_log_set_stderr(cfg->log_to_stderr);
	if (*cfg->log_level)
		cni_log_set_level_name(cfg->log_level);
	if (*cfg->log_file) {
		int rc = cni_log_set_file(cfg->log_file);

		if (rc < 0)
			log_error("cannot open logFile %s: %s", cfg->log_file, strerror(-rc));
	}
	/* the node's settings hold for every request, whatever its netconf says */
	cni_log_fix();
}

/* Multus waits for the default network before it serves; a signal ends the wait. */
static int wait_readiness(const char *file, const sigset_t *sigs)
{
	const struct timespec poll = { READINESS_POLL_S, 0 };
	bool said = false;

	while (*file && access(file, F_OK) < 0) {
		if (!said)
			log_verbose("waiting for readinessindicatorfile %s", file);
		said = true;
		if (sigtimedwait(sigs, NULL, &poll) > 0)
			return -1;
	}
	return 0;
}

/* The API client is checked once, before the socket: credentials that cannot work are an error
 * at startup, not at the first pod. libcurl is loaded here, before any thread; the events
 * thread and both watch caches get the same credentials. */
static int start_api(const struct pxd_config *cfg, const char *node, struct pxd_events *events,
		     struct pxd_caches *caches, struct cni_err *err)
{
	struct k8s_creds creds;
	int found = k8s_creds_load(cfg->kubeconfig, NULL, &creds, err), ret;

	if (found < 0)
		return -1;
	if (found == 0 && cfg->dynamic_networks)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "dynamicNetworks: no kubeconfig and not in a cluster: the "
				   "networks annotation cannot be followed");
	if (found == 0) {
		log_verbose("no kubeconfig and not in a cluster: static delegates only");
		return 0;
	}
	ret = k8s_curl_load(err);
	if (ret == 0)
		ret = pxd_caches_start(caches, &creds, node, cfg, err);
	if (ret == 0)
		ret = pxd_events_start(events, &creds, err);
	k8s_creds_free(&creds);
	return ret;
}

/* /readyz waits for both caches' first sync, at most cacheSyncTimeoutSeconds (then plexusd is
 * ready and asks the API live until they sync). Returns the signal that ended the wait, or 0. */
static int wait_synced(struct pxd_caches *caches, const struct pxd_config *cfg,
		       const sigset_t *sigs)
{
	const struct timespec tick = { 0, 50 * 1000 * 1000 };
	long start = k8s_now_ms(), limit = cfg->cache_sync_timeout_s * 1000L;
	int sig;

	if (!caches->reflector[PXD_CACHE_PODS])
		return 0;
	while (!pxd_caches_synced(caches)) {
		if (k8s_now_ms() - start >= limit) {
			pxd_caches_wait_expired(caches, cfg->cache_sync_timeout_s);
			return 0;
		}
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig > 0)
			return sig;
	}
	log_verbose("caches synced in %ld ms", k8s_now_ms() - start);
	return 0;
}

/* /metrics on TCP when metricsPort is set (as Multus: not served otherwise). A port that cannot
 * be served is a startup error: an operator who asked for metrics gets them or a failed pod. */
static int start_metrics(const struct pxd_config *cfg, struct pxd_server *srv, struct cni_err *err)
{
	struct cni_err why = { 0 };

	if (cfg->metrics_port <= 0)
		return 0;
	if (pxd_metrics_serve(cfg->metrics_bind_address, cfg->metrics_port, &why) == 0)
		return 0;
	cni_err_set(err, why.code, "metricsPort %d: %s", cfg->metrics_port,
		    why.msg ? why.msg : "cannot serve /metrics");
	cni_err_clear(&why);
	pxd_server_stop(srv);
	return -1;
}

int main(int argc, char **argv)
{
	const char *config_path = PXD_DEFAULT_CONFIG;
	const char *node = getenv("PLEXUS_NODE_NAME");
	struct pxd_config cfg;
	struct pxd_server srv;
	struct pxd_events events = { 0 };
	static struct pxd_caches caches; /* read by /metrics until it stops */
	struct pxd_hotplug hotplug = { 0 };
	struct cni_err err = { 0 };
	sigset_t sigs;
	int sig;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-config") == 0) &&
		    i + 1 < argc) {
			config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strncmp(argv[i], "-config=", 8) == 0) {
			config_path = argv[i] + 8;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "plexusd: must run as root (it creates network interfaces)\n");
		return 1;
	}
	if (pxd_config_load(config_path, &cfg, &err) < 0) {
		fprintf(stderr, "plexusd: %s\n", err.msg);
		cni_err_clear(&err);
		return 1;
	}
	apply_logging(&cfg);
	pxd_metrics_init();
	if (!node || !*node)
		node = getenv("MULTUS_NODE_NAME");
	/* every thread inherits this mask: only the main thread takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (wait_readiness(cfg.readiness_file, &sigs) < 0)
		goto out;
	/* Multus's host-root trick: delegates exec'd in chroot(chrootDir) */
	dlg_exec_set_root(cfg.chroot_dir);
	k8s_client_set_observer(observe_api);
	meta_kube_pool(true);
	pxd_metrics_set_caches(&caches);
	if (start_api(&cfg, node, &events, &caches, &err) < 0 ||
	    pxd_server_start(&srv, &cfg, &err) < 0 || start_metrics(&cfg, &srv, &err) < 0) {
		pxd_events_stop(&events, 0);
		pxd_caches_stop(&caches);
		log_error("plexusd: %s", err.msg);
		fprintf(stderr, "plexusd: %s\n", err.msg);
		cni_err_clear(&err);
		pxd_config_free(&cfg);
		cni_log_close();
		return 1;
	}
	sig = wait_synced(&caches, &cfg, &sigs);
	if (!sig && pxd_hotplug_start(&hotplug, &cfg, &caches, &err) < 0) {
		log_error("plexusd: %s", err.msg);
		cni_err_clear(&err);
		sig = SIGTERM;
	}
	if (!sig) {
		pxd_server_set_ready(&srv, true);
		log_verbose("plexusd serving on %s (node %s, %d workers, queue %d)",
			    cfg.socket_path, node && *node ? node : "unnamed", cfg.workers,
			    cfg.queue_limit);
	}
	while (!sig && (sigwait(&sigs, &sig) != 0 || (sig != SIGTERM && sig != SIGINT)))
		sig = 0;
	log_verbose("plexusd: signal %d: draining", sig);
	pxd_hotplug_stop(&hotplug);
	if (pxd_server_drain(&srv, cfg.request_timeout_s * 1000L)) {
		pxd_server_stop(&srv);
		pxd_metrics_stop();
		/* every ADD has answered: what they queued is sent now, briefly */
		pxd_events_stop(&events, PXD_EVENTS_DRAIN_MS);
		pxd_caches_stop(&caches);
		meta_kube_pool(false);
	} else {
		/* a request stuck past its bound: leave it to the process exit */
		log_error("plexusd: requests still running after %d s; exiting anyway",
			  cfg.request_timeout_s);
	}
out:
	pxd_config_free(&cfg);
	cni_log_close();
	return 0;
}

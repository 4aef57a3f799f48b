/* test/tools/metrics-serve.c: serves plexusd's metrics module (daemon/metrics.h) after a fixed
 * set of recordings, with the watch caches (daemon/caches.h) running against an API that is not
 * there (every family they export is present, their counters at what failing LISTs give), so
 * that test/integration/metrics.sh can scrape it with an independent parser.
 * Usage: metrics-serve BIND PORT ("" BIND for the default); prints "listening PORT", serves until
 * its stdin closes. Not shipped. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/metrics.h"

int main(int argc, char **argv)
{
	static struct pxd_caches caches;
	struct k8s_creds creds = { .server = "https://127.0.0.1:1", .token = "t" };
	struct cni_err err = { 0 };
	struct pxd_config cfg;
	char c;

	if (argc != 3) {
		fprintf(stderr, "usage: metrics-serve BIND PORT\n");
		return 2;
	}
	pxd_metrics_init();
	pxd_metrics_request("/cni", 200, "post");
	pxd_metrics_request("/cni", 400, "post");
	pxd_metrics_request("/healthz", 200, "get");
	pxd_metrics_request("NotFound", 404, "get");
	pxd_metrics_verb("ADD", 0.003, true);
	pxd_metrics_verb("ADD", 0.7, true);
	pxd_metrics_verb("DEL", 0.002, false);
	pxd_metrics_delegate("bridge", "ADD", 0.02, true);
	pxd_metrics_delegate("od\"d\\ty\npe", "DEL", 120, false);
	pxd_metrics_api("GET", 200);
	pxd_metrics_api("PATCH", 0);
	pxd_metrics_reconcile("success");
	pxd_metrics_queue(4, 2);
	pxd_metrics_attachments(9);
	if (pxd_config_parse("{}", 2, &cfg, &err) < 0 ||
	    pxd_caches_start(&caches, &creds, "node-1", &cfg, &err) < 0) {
		fprintf(stderr, "metrics-serve: %s\n", err.msg);
		return 1;
	}
	pxd_metrics_set_caches(&caches);
	if (pxd_metrics_serve(argv[1], atoi(argv[2]), &err) < 0) {
		fprintf(stderr, "metrics-serve: %s\n", err.msg);
		cni_err_clear(&err);
		return 1;
	}
	printf("listening %d\n", pxd_metrics_port());
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	pxd_metrics_stop();
	pxd_caches_stop(&caches);
	pxd_config_free(&cfg);
	return 0;
}

/* daemon/metrics.h: plexusd's Prometheus metrics, kept in process and served on TCP /metrics.
 * Follows Multus pkg/server/server.go (multus_server_request_total{handler,code,method}, as
 * client_golang's promhttp labels it) and the Prometheus text exposition format 0.0.4. */
#ifndef PLEXUS_DAEMON_METRICS_H
#define PLEXUS_DAEMON_METRICS_H

#include <stdbool.h>

#include "cni/err.h"
#include "daemon/caches.h"

/* Where /metrics listens when the daemon config names no address: the node's loopback only.
 * Multus listens on every address of a hostNetwork pod (":<metricsPort>"); plexus serves its
 * metrics to the world only when the operator says so (metricsBindAddress "0.0.0.0"). */
#define PXD_METRICS_DEFAULT_BIND "127.0.0.1"

/* Every recording function below is safe from any thread, costs one mutex round trip, and never
 * fails: a series that cannot be allocated is not recorded. Label values are copied as valid
 * UTF-8 (a run of invalid bytes becomes one U+FFFD) of at most PXD_METRICS_LABEL_MAX bytes, cut
 * at a whole character; NULL is "". A family holds at most PXD_METRICS_SERIES_MAX label sets,
 * and observations with new label values past that go to one series whose every label is
 * "other", so a hostile netconf (a delegate type per request) cannot grow the daemon. */
#define PXD_METRICS_LABEL_MAX  128
#define PXD_METRICS_SERIES_MAX 256

/* Resets every metric (process start, and between unit tests) and records the start time.
 * Returns 0. */
int pxd_metrics_init(void);

/* One HTTP request on the daemon's socket, as Multus counts it: handler "/cni", "/delegate",
 * "/healthz", "/readyz" or "NotFound"; code the HTTP status; method lower-case ("post").
 * multus_server_request_total{handler,code,method}. */
void pxd_metrics_request(const char *handler, int code, const char *method);

/* One CNI request's duration, from the socket read to the answer written: verb "ADD", "DEL",
 * "CHECK", "GC", "STATUS"; ok false when a CNI error was answered.
 * plexus_cni_request_duration_seconds{verb,result="success"|"error"}. */
void pxd_metrics_verb(const char *verb, double seconds, bool ok);

/* One delegate exec: type the plugin binary's name ("bridge"), verb the CNI verb.
 * plexus_delegate_exec_duration_seconds{type,verb,result}. */
void pxd_metrics_delegate(const char *type, const char *verb, double seconds, bool ok);

/* One Kubernetes API request: verb the HTTP method ("GET", "PATCH"), status its HTTP status,
 * 0 when no answer came (connection refused, timeout). plexus_api_requests_total{verb,status}. */
void pxd_metrics_api(const char *verb, int status);

/* One reconcile of a pod's networks annotation by the hot-plug thread: result "success",
 * "retry" or "refused". plexus_hotplug_reconciles_total{result}. */
void pxd_metrics_reconcile(const char *result);

/* The requests waiting for a worker and those being served now: plexus_queue_depth,
 * plexus_requests_in_flight (gauges, the last values given). */
void pxd_metrics_queue(int depth, int inflight);

/* The attachments (container, interface) held in the cache: plexus_attachments (gauge). */
void pxd_metrics_attachments(long held);

/* The watch caches, read at every scrape from then on (set before serving; NULL: none):
 * plexus_cache_objects, plexus_cache_synced, plexus_cache_lists_total,
 * plexus_watch_relists_gone_total, plexus_watch_gap_deletions_total (each by resource),
 * plexus_cache_sync_wait_expired, plexus_watch_restarts_total{resource,reason},
 * plexus_watch_last_event_age_seconds{resource}, plexus_pod_lookups_total{source},
 * plexus_nad_lookups_total{source} (docs/METRICS.md). */
void pxd_metrics_set_caches(struct pxd_caches *c);

/* Every metric in the Prometheus text format 0.0.4, the process's resident memory, CPU
 * seconds, open and maximum fds and start time read from /proc/self now. A malloc'd string
 * (caller frees); NULL only when out of memory. */
char *pxd_metrics_render(void);

/* Serves GET /metrics on bind_addr:port (an IPv4 or IPv6 literal; NULL or "" for
 * PXD_METRICS_DEFAULT_BIND; port 0 for one the kernel picks, see pxd_metrics_port) from
 * libmicrohttpd's own thread: 404 for other paths, 405 for methods other than GET and HEAD.
 * Returns 0, or -1 with err set (code 7 for a bad address or port, 5 when it cannot listen,
 * naming the address); -1 too when it is already serving. */
int pxd_metrics_serve(const char *bind_addr, int port, struct cni_err *err) CNI_MUST_CHECK;

/* The TCP port /metrics listens on (useful after port 0), 0 when not serving. */
int pxd_metrics_port(void);

/* Stops serving (waits for the server's thread); nothing when not serving. The metrics stay. */
void pxd_metrics_stop(void);

#endif

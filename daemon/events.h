/* daemon/events.h: plexusd's AddedInterface events, sent after the ADD's reply by one thread.
 * Follows Multus pkg/multus/multus.go delegateAdd (thick mode sends them for every ADD), with the
 * POSTs taken off the ADD's latency: the ADD queues them (meta/events.h's sink) and returns. */
#ifndef PLEXUS_DAEMON_EVENTS_H
#define PLEXUS_DAEMON_EVENTS_H

#include <pthread.h>
#include <stdbool.h>

#include "cni/err.h"
#include "k8s/api.h"
#include "k8s/kubeconfig.h"

#define PXD_EVENTS_QUEUE_MAX  1024 /* ADDs whose events wait; past that they are dropped */
#define PXD_EVENTS_ATTEMPTS   3	   /* POSTs of one event at most */
#define PXD_EVENTS_BACKOFF_MS 500  /* before the second attempt, doubled for the next */
#define PXD_EVENTS_TIMEOUT_MS 5000 /* one POST's deadline */
#define PXD_EVENTS_DRAIN_MS   2000 /* on SIGTERM: how long the queue may still be sent */

struct pxd_events_batch;

struct pxd_events {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	struct k8s_client *client;
	struct pxd_events_batch *head, *tail;
	int queued;
	unsigned long dropped; /* ADDs whose events were dropped: queue full or stopping */
	bool stopping;
	long deadline_ms; /* once stopping: nothing is sent after this */
	pthread_t thread;
};

/* Starts the sending thread with its own client made from creds (the daemon's credentials) and
 * installs the sink in meta/events.h, so every ADD from now on hands its events to ev. Call it
 * before the socket serves. Returns 0, or -1 with err (out of memory, no thread). */
int pxd_events_start(struct pxd_events *ev, const struct k8s_creds *creds, struct cni_err *err)
    __attribute__((warn_unused_result));

/* SIGTERM, after the server drained: removes the sink, lets the thread send what is queued for
 * at most drain_ms (plus the POST in progress), then stops it; what is left is dropped and
 * counted. Frees everything. Safe on an ev that was never started (zeroed). */
void pxd_events_stop(struct pxd_events *ev, long drain_ms);

#endif

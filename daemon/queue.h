/* daemon/queue.h: bounded concurrency in front of the meta-plugin core: at most `workers`
 * requests inside, DEL admitted before anything else, a cap on waiting requests, a deadline.
 * Follows the need Multus meets only from 4.3 on (connectionLimit): a pod burst is queued, a
 * node after reboot can always tear down, and no burst makes the daemon grow without bound. */
#ifndef PLEXUS_DAEMON_QUEUE_H
#define PLEXUS_DAEMON_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include "cni/err.h"

struct pxd_queue {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	int workers, limit;
	int inflight, waiting_del, waiting_other;
	bool closed;
};

int pxd_queue_init(struct pxd_queue *q, int workers, int limit);
void pxd_queue_destroy(struct pxd_queue *q);

/* Waits for a worker slot until deadline_ms (CLOCK_MONOTONIC, milliseconds). A DEL goes in
 * whenever a slot is free; any other verb only when no DEL waits. Returns 0 once admitted
 * (pair it with pxd_queue_leave), or -1 with code 11 (try again) when limit requests already
 * wait, when the deadline passes, or once the queue is closed. */
int pxd_queue_enter(struct pxd_queue *q, bool del, long deadline_ms, struct cni_err *err)
    __attribute__((warn_unused_result));
void pxd_queue_leave(struct pxd_queue *q);

/* Shutting down: every waiting and later request gets code 11; those inside finish. */
void pxd_queue_close(struct pxd_queue *q);

/* Waits until no request is inside, at most timeout_ms. Returns true when idle. */
bool pxd_queue_wait_idle(struct pxd_queue *q, long timeout_ms);

/* Requests waiting and inside right now. */
void pxd_queue_depth(struct pxd_queue *q, int *waiting, int *inflight);

/* CLOCK_MONOTONIC in milliseconds. */
long pxd_now_ms(void);

#endif

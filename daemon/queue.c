/* daemon/queue.c: the admission gate of plexusd's workers (see daemon/queue.h).
 * One mutex and one condition variable: a handful of waiters per slot, so a broadcast is cheap. */
#include "daemon/queue.h"

#include <errno.h>
#include <time.h>

long pxd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int pxd_queue_init(struct pxd_queue *q, int workers, int limit)
{
	pthread_condattr_t a;
	int rc;

	q->workers = workers > 0 ? workers : 1;
	q->limit = limit >= 0 ? limit : 0;
	q->inflight = q->waiting_del = q->waiting_other = 0;
	q->closed = false;
	rc = pthread_mutex_init(&q->mu, NULL);
	if (rc)
		return -rc;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&q->cv, &a);
	pthread_condattr_destroy(&a);
	if (rc) {
		pthread_mutex_destroy(&q->mu);
		return -rc;
	}
	return 0;
}

void pxd_queue_destroy(struct pxd_queue *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

static bool may_enter(const struct pxd_queue *q, bool del)
{
	return q->inflight < q->workers && (del || q->waiting_del == 0);
}

int pxd_queue_enter(struct pxd_queue *q, bool del, long deadline_ms, struct cni_err *err)
{
	struct timespec ts = { deadline_ms / 1000, (deadline_ms % 1000) * 1000000L };
	int rc = 0;

	pthread_mutex_lock(&q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return cni_err_set(err, CNI_ERR_TRY_AGAIN, "plexusd is shutting down");
	}
	if (!may_enter(q, del)) {
		if (q->waiting_del + q->waiting_other >= q->limit) {
			int waiting = q->waiting_del + q->waiting_other;

			pthread_mutex_unlock(&q->mu);
			return cni_err_set(err, CNI_ERR_TRY_AGAIN,
					   "plexusd is busy: %d requests already wait for a worker "
					   "(queueLimit %d)",
					   waiting, q->limit);
		}
		if (del)
			q->waiting_del++;
		else
			q->waiting_other++;
		while (!q->closed && !may_enter(q, del) && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&q->cv, &q->mu, &ts);
		if (del)
			q->waiting_del--;
		else
			q->waiting_other--;
		if (q->closed || !may_enter(q, del)) {
			bool closed = q->closed;

			/* another waiter may now be first in line */
			pthread_cond_broadcast(&q->cv);
			pthread_mutex_unlock(&q->mu);
			if (closed)
				return cni_err_set(err, CNI_ERR_TRY_AGAIN,
						   "plexusd is shutting down");
			return cni_err_set(err, CNI_ERR_TRY_AGAIN,
					   "plexusd is busy: no worker became free within the "
					   "request timeout");
		}
	}
	q->inflight++;
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void pxd_queue_leave(struct pxd_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->inflight--;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void pxd_queue_close(struct pxd_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

bool pxd_queue_wait_idle(struct pxd_queue *q, long timeout_ms)
{
	long deadline = pxd_now_ms() + timeout_ms;
	struct timespec ts = { deadline / 1000, (deadline % 1000) * 1000000L };
	bool idle;

	pthread_mutex_lock(&q->mu);
	while (q->inflight > 0 && pthread_cond_timedwait(&q->cv, &q->mu, &ts) != ETIMEDOUT)
		;
	idle = q->inflight == 0;
	pthread_mutex_unlock(&q->mu);
	return idle;
}

void pxd_queue_depth(struct pxd_queue *q, int *waiting, int *inflight)
{
	pthread_mutex_lock(&q->mu);
	*waiting = q->waiting_del + q->waiting_other;
	*inflight = q->inflight;
	pthread_mutex_unlock(&q->mu);
}

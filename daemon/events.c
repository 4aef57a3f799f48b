/* daemon/events.c: the queue between the ADDs' sink and the thread that posts their events
 * (see daemon/events.h). One mutex, one condition variable; the thread owns the client. */
#include "daemon/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/log.h"
#include "daemon/queue.h"
#include "meta/events.h"

struct pxd_events_batch {
	struct pxd_events_batch *next;
	char *namespace, *name, *uid;
	cJSON *events;
};

static void batch_free(struct pxd_events_batch *b)
{
	if (!b)
		return;
	free(b->namespace);
	free(b->name);
	free(b->uid);
	cJSON_Delete(b->events);
	free(b);
}

/* Called with ev->mu held. */
static void drop(struct pxd_events *ev, const char *namespace, const char *name, const char *why)
{
	ev->dropped++;
	log_error("AddedInterface events of pod %s/%s dropped: %s (%lu ADDs' events dropped)",
		  namespace, name, why, ev->dropped);
}

/* meta's sink: runs in the ADD's worker, never blocks on the API. */
static void sink(const char *namespace, const char *name, const char *uid, cJSON *events, void *arg)
{
	struct pxd_events *ev = arg;
	struct pxd_events_batch *b = NULL;

	if (!events || !events->child) {
		cJSON_Delete(events);
		return;
	}
	pthread_mutex_lock(&ev->mu);
	if (ev->stopping || ev->queued >= PXD_EVENTS_QUEUE_MAX) {
		drop(ev, namespace, name, ev->stopping ? "plexusd is stopping" : "queue full");
		goto out;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->namespace = strdup(namespace)) || !(b->name = strdup(name)) ||
	    !(b->uid = strdup(uid ? uid : ""))) {
		drop(ev, namespace, name, "out of memory");
		goto out;
	}
	b->events = events;
	events = NULL;
	if (ev->tail)
		ev->tail->next = b;
	else
		ev->head = b;
	ev->tail = b;
	ev->queued++;
	b = NULL;
	pthread_cond_signal(&ev->cv);
out:
	pthread_mutex_unlock(&ev->mu);
	batch_free(b);
	cJSON_Delete(events);
}

static bool past_deadline(const struct pxd_events *ev)
{
	return ev->stopping && pxd_now_ms() >= ev->deadline_ms;
}

/* Sleeps ms unless the drain's deadline comes first. False when it did: give up. */
static bool backoff(struct pxd_events *ev, long ms)
{
	long until = pxd_now_ms() + ms;
	struct timespec ts;
	bool go_on;

	pthread_mutex_lock(&ev->mu);
	while (!past_deadline(ev) && pxd_now_ms() < until) {
		long wake = ev->stopping && ev->deadline_ms < until ? ev->deadline_ms : until;

		ts.tv_sec = wake / 1000;
		ts.tv_nsec = (wake % 1000) * 1000000L;
		pthread_cond_timedwait(&ev->cv, &ev->mu, &ts);
	}
	go_on = !past_deadline(ev);
	pthread_mutex_unlock(&ev->mu);
	return go_on;
}

static bool too_late(struct pxd_events *ev)
{
	bool late;

	pthread_mutex_lock(&ev->mu);
	late = past_deadline(ev);
	pthread_mutex_unlock(&ev->mu);
	return late;
}

/* Each event of one ADD, in order; an event that fails every attempt is logged and skipped, and
 * once the drain's deadline has passed the rest are. */
static void send_batch(struct pxd_events *ev, const struct pxd_events_batch *b)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, b->events)
	{
		struct k8s_event e = meta_event_of(o, b->namespace, b->name, b->uid);
		long wait = PXD_EVENTS_BACKOFF_MS;

		if (too_late(ev)) {
			log_error("event %s of pod %s/%s not sent before plexusd stopped", e.reason,
				  b->namespace, b->name);
			continue;
		}
		for (int attempt = 1;; attempt++) {
			struct cni_err err = { 0 };
			int rc = k8s_post_event(ev->client, &e, &err);

			if (rc == 0)
				break;
			/* a namespace that is gone or a refused event will not get better */
			if (rc == -ENOENT || err.code == CNI_ERR_INVALID_CONFIG ||
			    attempt >= PXD_EVENTS_ATTEMPTS || !backoff(ev, wait)) {
				log_error("event %s of pod %s/%s not sent: %s", e.reason,
					  b->namespace, b->name, err.msg);
				cni_err_clear(&err);
				break;
			}
			log_verbose("event %s of pod %s/%s: attempt %d failed (%s)", e.reason,
				    b->namespace, b->name, attempt, err.msg);
			cni_err_clear(&err);
			wait *= 2;
		}
	}
}

static void *run(void *arg)
{
	struct pxd_events *ev = arg;

	for (;;) {
		struct pxd_events_batch *b;

		pthread_mutex_lock(&ev->mu);
		while (!ev->head && !ev->stopping)
			pthread_cond_wait(&ev->cv, &ev->mu);
		if (!ev->head || past_deadline(ev)) {
			pthread_mutex_unlock(&ev->mu);
			return NULL;
		}
		b = ev->head;
		ev->head = b->next;
		if (!ev->head)
			ev->tail = NULL;
		ev->queued--;
		pthread_mutex_unlock(&ev->mu);
		send_batch(ev, b);
		batch_free(b);
	}
}

int pxd_events_start(struct pxd_events *ev, const struct k8s_creds *creds, struct cni_err *err)
{
	const struct k8s_client_opts opts = { .attempt_timeout_ms = PXD_EVENTS_TIMEOUT_MS };
	pthread_condattr_t a;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->client = k8s_client_new(creds, &opts, err);
	if (!ev->client)
		return -1;
	pthread_mutex_init(&ev->mu, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->cv, &a);
	pthread_condattr_destroy(&a);
	rc = pthread_create(&ev->thread, NULL, run, ev);
	if (rc) {
		pthread_cond_destroy(&ev->cv);
		pthread_mutex_destroy(&ev->mu);
		k8s_client_free(ev->client);
		ev->client = NULL;
		return cni_err_set(err, CNI_ERR_IO, "events thread: %s", strerror(rc));
	}
	meta_events_set_sink(sink, ev);
	return 0;
}

void pxd_events_stop(struct pxd_events *ev, long drain_ms)
{
	struct pxd_events_batch *b;

	if (!ev->client)
		return;
	meta_events_set_sink(NULL, NULL);
	pthread_mutex_lock(&ev->mu);
	ev->stopping = true;
	ev->deadline_ms = pxd_now_ms() + drain_ms;
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
	pthread_join(ev->thread, NULL);
	while ((b = ev->head)) {
		ev->head = b->next;
		drop(ev, b->namespace, b->name, "not sent before plexusd stopped");
		batch_free(b);
	}
	ev->tail = NULL;
	ev->queued = 0;
	k8s_client_free(ev->client);
	ev->client = NULL;
	pthread_cond_destroy(&ev->cv);
	pthread_mutex_destroy(&ev->mu);
}

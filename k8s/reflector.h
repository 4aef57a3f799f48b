/* k8s/reflector.h: keeps a k8s/store in step with the API server, in a thread of its own: LIST
 * (paginated), then WATCH from the list's resourceVersion with bookmarks, again and again.
 * Follows client-go tools/cache/reflector.go (ListAndWatch, watchHandler, the 410 "too old
 * resource version" re-list) with plexus's additions: a stall deadline, counters by reason. */
#ifndef PLEXUS_K8S_REFLECTOR_H
#define PLEXUS_K8S_REFLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cni/err.h"
#include "k8s/client.h"
#include "k8s/kubeconfig.h"
#include "k8s/store.h"

/* Zero members take the defaults. */
struct k8s_reflector_opts {
	const char *name;	       /* for logs: "pods", "nads" (default: the path) */
	const char *path;	       /* the collection, e.g. "/api/v1/pods" (required) */
	const char *field_selector;    /* e.g. "spec.nodeName=node-1"; NULL: none */
	const char *label_selector;    /* NULL: none */
	long page_size;		       /* LIST limit; default 500 */
	long watch_timeout_s;	       /* WATCH timeoutSeconds; default 300 */
	long stall_ms;		       /* no event nor bookmark this long: restart; default 90000 */
	long backoff_ms;	       /* first delay after a failure; default 250 */
	long backoff_max_ms;	       /* the delay doubles up to this; default 30000 */
	size_t event_max;	       /* largest event line; default K8S_WATCH_EVENT_MAX */
	size_t page_max;	       /* largest LIST page; default 64 MiB */
	struct k8s_client_opts client; /* connect timeout (attempt_timeout_ms) and LIST retries */
};

/* Why a watch ended; each is counted. */
enum k8s_watch_end {
	K8S_WATCH_END_CLOSED, /* the server ended the stream (timeoutSeconds): watch again at once */
	K8S_WATCH_END_DROPPED, /* the connection failed (reset, refused, cut mid-event): backoff */
	K8S_WATCH_END_STALLED, /* no event nor bookmark for stall_ms: watch again at once */
	K8S_WATCH_END_GONE,    /* 410 Gone, as a status or an ERROR event: re-LIST at once */
	K8S_WATCH_END_ERROR,   /* another error status or ERROR event, an undecodable or too
				  large event: backoff, then re-LIST */
	K8S_WATCH_END_N,
};

/* "closed", "dropped", "stalled", "gone", "error": metric label values. */
const char *k8s_watch_end_name(enum k8s_watch_end e);

struct k8s_reflector_stats {
	uint64_t lists;		/* complete LISTs (the first sync and every re-list) */
	uint64_t list_pages;	/* pages fetched */
	uint64_t list_failures; /* LISTs that failed (retried after a backoff) */
	uint64_t watches;	/* WATCH requests made */
	uint64_t added, modified, deleted, bookmarks;
	uint64_t relists_gone;	/* re-LISTs because of 410 */
	uint64_t gap_deletions; /* objects a re-LIST found deleted while no watch ran */
	uint64_t rejected;	/* objects the store refused (no uid, ...) */
	uint64_t restarts[K8S_WATCH_END_N];
	long last_event_ms; /* k8s_now_ms() of the newest event or bookmark; 0: none yet */
	bool synced;	    /* the first LIST has completed */
	bool watching;	    /* a WATCH is open right now */
};

struct k8s_reflector;

/* Copies creds and opts; the store is borrowed and must outlive the reflector. Nothing runs
 * until k8s_reflector_start. NULL on OOM or without opts->path (err set, code 7). */
struct k8s_reflector *k8s_reflector_new(const struct k8s_creds *creds, struct k8s_store *store,
					const struct k8s_reflector_opts *opts, struct cni_err *err);

/* Starts the thread. Returns 0, or -1 with err (pthread_create failed). */
CNI_MUST_CHECK int k8s_reflector_start(struct k8s_reflector *r, struct cni_err *err);

/* Stops the thread and waits for it: an open LIST or WATCH is interrupted at once, a backoff
 * wait is cut short. Idempotent; a reflector that never started is fine. */
void k8s_reflector_stop(struct k8s_reflector *r);

/* Stops it (if running) and frees it. NULL is fine. */
void k8s_reflector_free(struct k8s_reflector *r);

/* A consistent copy of the counters (thread-safe). */
void k8s_reflector_stats(struct k8s_reflector *r, struct k8s_reflector_stats *out);

/* The resourceVersion the next WATCH starts from (malloc'd), or NULL before the first LIST. */
char *k8s_reflector_resource_version(struct k8s_reflector *r);

#endif

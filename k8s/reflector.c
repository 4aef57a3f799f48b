/* k8s/reflector.c: LIST then WATCH in a thread, into a k8s/store (see k8s/reflector.h).
 * Follows client-go tools/cache/reflector.go: a 410 means re-LIST, bookmarks only move the
 * resourceVersion, a watch that the server closes is reopened from where it stopped. */
#include "k8s/reflector.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/buf.h"
#include "cni/log.h"
#include "k8s/curl.h"
#include "k8s/watch.h"

/* A sanitizer's allocator in place of glibc's (ASan, TSan): gcc says so with
 * __SANITIZE_ADDRESS__ or __SANITIZE_THREAD__, clang with __has_feature */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZER_MALLOC 1
#endif
#endif
#ifndef SANITIZER_MALLOC
#define SANITIZER_MALLOC 0
#endif
/* glibc's malloc_trim, where there is one to call: musl's allocator (the static bin/plexus, which
 * compiles this module without running it) unmaps freed memory by itself and has none */
#if defined(__GLIBC__) && !SANITIZER_MALLOC
#define TRIM_HEAP() malloc_trim(0)
#else
#define TRIM_HEAP() ((void)0)
#endif

#define DEF_PAGE	   500
#define DEF_TIMEOUT_S	   300
#define DEF_STALL_MS	   90000
#define DEF_BACKOFF_MS	   250
#define DEF_BACKOFF_MAX_MS 30000
#define DEF_PAGE_MAX	   (64u << 20)

struct k8s_reflector {
	struct k8s_reflector_opts o; /* with the strings below */
	char *name, *path, *fsel, *lsel;
	struct k8s_store *store;
	struct k8s_client *client;
	pthread_t thread;
	bool started;
	unsigned int seed;  /* jitter */
	pthread_mutex_t mu; /* everything below */
	pthread_cond_t wake;
	bool stopping;
	char *rv;
	struct k8s_reflector_stats st;
};

static const char *const end_names[] = { "closed", "dropped", "stalled", "gone", "error" };

const char *k8s_watch_end_name(enum k8s_watch_end e)
{
	return (unsigned)e < K8S_WATCH_END_N ? end_names[e] : "?";
}

struct k8s_reflector *k8s_reflector_new(const struct k8s_creds *creds, struct k8s_store *store,
					const struct k8s_reflector_opts *opts, struct cni_err *err)
{
	struct k8s_reflector *r;
	pthread_condattr_t ca;

	if (!opts || !opts->path || opts->path[0] != '/') {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "reflector: no collection path");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	r->o = *opts;
	r->store = store;
	r->path = strdup(opts->path);
	r->name = strdup(opts->name ? opts->name : opts->path);
	r->fsel = opts->field_selector ? strdup(opts->field_selector) : NULL;
	r->lsel = opts->label_selector ? strdup(opts->label_selector) : NULL;
	if (!r->path || !r->name || (opts->field_selector && !r->fsel) ||
	    (opts->label_selector && !r->lsel))
		goto oom;
	if (r->o.page_size <= 0)
		r->o.page_size = DEF_PAGE;
	if (r->o.watch_timeout_s <= 0)
		r->o.watch_timeout_s = DEF_TIMEOUT_S;
	if (r->o.stall_ms <= 0)
		r->o.stall_ms = DEF_STALL_MS;
	if (r->o.backoff_ms <= 0)
		r->o.backoff_ms = DEF_BACKOFF_MS;
	if (r->o.backoff_max_ms <= 0)
		r->o.backoff_max_ms = DEF_BACKOFF_MAX_MS;
	if (!r->o.event_max)
		r->o.event_max = K8S_WATCH_EVENT_MAX;
	if (!r->o.page_max)
		r->o.page_max = DEF_PAGE_MAX;
	r->client = k8s_client_new(creds, &opts->client, err);
	if (!r->client) {
		k8s_reflector_free(r);
		return NULL;
	}
	r->seed = (unsigned int)k8s_now_ms() ^ (unsigned int)(uintptr_t)r;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	return r;
oom:
	if (r) {
		free(r->path);
		free(r->name);
		free(r->fsel);
		free(r->lsel);
		free(r);
	}
	cni_err_oom(err);
	return NULL;
}

static bool stopping(struct k8s_reflector *r)
{
	bool v;

	pthread_mutex_lock(&r->mu);
	v = r->stopping;
	pthread_mutex_unlock(&r->mu);
	return v;
}

/* Sleeps the backoff of the nth failure in a row (jittered: half of it plus up to half
 * again, so that many nodes do not come back in step), or until stop. */
static void backoff(struct k8s_reflector *r, int failures)
{
	long d = r->o.backoff_ms;
	struct timespec ts;

	for (int i = 1; i < failures && d < r->o.backoff_max_ms; i++)
		d *= 2;
	if (d > r->o.backoff_max_ms)
		d = r->o.backoff_max_ms;
	d = d / 2 + (long)(rand_r(&r->seed) % (unsigned long)(d / 2 + 1));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += d / 1000;
	ts.tv_nsec += (d % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&r->mu);
	while (!r->stopping && pthread_cond_timedwait(&r->wake, &r->mu, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&r->mu);
}

/* Query values are percent-encoded but for RFC 3986's unreserved characters. */
static int add_param(struct cni_buf *b, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	int ret = cni_buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', key);

	for (const unsigned char *p = (const unsigned char *)value; !ret && *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			ret = cni_buf_add(b, p, 1);
		else
			ret = cni_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	return ret;
}

/* The collection's URL path with the selectors and the extra parameters (key, value pairs,
 * NULL-terminated; a NULL value skips its pair). NULL on OOM. */
static char *url_of(struct k8s_reflector *r, const char *const *params)
{
	struct cni_buf b;
	int ret;

	cni_buf_init(&b, SIZE_MAX, false);
	ret = cni_buf_adds(&b, r->path);
	for (; !ret && params[0]; params += 2)
		if (params[1])
			ret = add_param(&b, params[0], params[1]);
	if (!ret && r->fsel)
		ret = add_param(&b, "fieldSelector", r->fsel);
	if (!ret && r->lsel)
		ret = add_param(&b, "labelSelector", r->lsel);
	if (ret) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_take(&b, NULL);
}

/* With r->mu held. */
static void set_rv_locked(struct k8s_reflector *r, const char *rv)
{
	char *copy = rv ? strdup(rv) : NULL;

	if (!copy)
		return; /* the previous one stays: a later event or a re-list corrects it */
	free(r->rv);
	r->rv = copy;
}

static void set_rv(struct k8s_reflector *r, const char *rv)
{
	pthread_mutex_lock(&r->mu);
	set_rv_locked(r, rv);
	pthread_mutex_unlock(&r->mu);
}

#define COUNT(r, field, n)                                                                         \
	do {                                                                                       \
		pthread_mutex_lock(&(r)->mu);                                                      \
		(r)->st.field += (n);                                                              \
		pthread_mutex_unlock(&(r)->mu);                                                    \
	} while (0)

static int on_page_data(const char *data, size_t n, void *arg)
{
	return cni_buf_add(arg, data, n) < 0;
}

/* Puts a page's items; returns its continue token (malloc'd, NULL at the last page) and sets
 * the list's resourceVersion. Returns -1 with err when the page is not a list. */
static int apply_page(struct k8s_reflector *r, const struct cni_buf *body, char **cont,
		      struct cni_err *err)
{
	cJSON *page = cJSON_ParseWithLength(body->data, body->len);
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(page, "metadata");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
	const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(md, "continue");
	const cJSON *it;
	uint64_t rejected = 0;

	*cont = NULL;
	if (!cJSON_IsString(rv) || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
		cJSON_Delete(page);
		return cni_err_set(err, CNI_ERR_DECODE,
				   "LIST %s: reply is not a list with a resourceVersion", r->name);
	}
	cJSON_ArrayForEach(it, items)
	{
		struct cni_err e = { 0 };

		if (k8s_store_put(r->store, it, &e) < 0) {
			log_verbose("LIST %s: item skipped: %s", r->name, e.msg);
			rejected++;
		}
		cni_err_clear(&e);
	}
	set_rv(r, rv->valuestring);
	if (cJSON_IsString(c) && c->valuestring[0] && !(*cont = strdup(c->valuestring))) {
		cJSON_Delete(page);
		return cni_err_oom(err);
	}
	COUNT(r, rejected, rejected);
	COUNT(r, list_pages, 1);
	cJSON_Delete(page);
	return 0;
}

/* A full LIST, page by page, replacing the store's content (deletions made while no watch
 * ran are found here). Returns 0, -ECANCELED on stop, -1 with err. */
static int list_all(struct k8s_reflector *r, struct cni_err *err)
{
	char limit[24], *cont = NULL, *url;
	struct cni_buf body;
	int ret = 0;
	size_t removed;

	snprintf(limit, sizeof(limit), "%ld", r->o.page_size);
	k8s_store_relist_begin(r->store);
	do {
		struct k8s_stream s = { .on_data = on_page_data,
					.arg = &body,
					.idle_ms = r->o.stall_ms };
		char *next = NULL;

		url = url_of(r, (const char *const[]){ "limit", limit, "continue", cont, NULL });
		free(cont);
		cont = NULL;
		if (!url) {
			ret = cni_err_oom(err);
			break;
		}
		cni_buf_init(&body, r->o.page_max, false);
		ret = k8s_stream_get(r->client, url, r->name, &s, err);
		if (ret == -ETIMEDOUT)
			ret = cni_err_set(err, CNI_ERR_IO, "LIST %s: no reply in %ld ms", r->name,
					  r->o.stall_ms);
		else if (ret == -ECANCELED && body.status)
			ret = cni_err_set(err, CNI_ERR_IO, "LIST %s: page larger than %zu bytes",
					  r->name, r->o.page_max);
		if (ret == 0)
			ret = apply_page(r, &body, &next, err);
		cni_buf_free(&body);
		free(url);
		cont = next;
	} while (ret == 0 && cont);
	free(cont);
	if (ret < 0) {
		k8s_store_relist_abort(r->store);
		return ret;
	}
	/* under r->mu, so that whoever the change wakes reads counters that include it */
	pthread_mutex_lock(&r->mu);
	removed = k8s_store_relist_end(r->store);
	r->st.lists++;
	r->st.gap_deletions += removed;
	r->st.synced = true;
	pthread_mutex_unlock(&r->mu);
	if (removed)
		log_verbose("LIST %s: %zu objects were deleted while not watching", r->name,
			    removed);
	/* the pages' parse trees are freed, but glibc keeps their memory for the process: a
	 * node's 1,000 pods left ~17 MiB resident after the first LIST (make bench). Not under
	 * a sanitizer, whose allocator replaces glibc's: glibc's malloc_trim would walk arenas
	 * never set up (a SEGV in mtrim, make integration-asan). */
	TRIM_HEAP();
	return 0;
}

struct watch_ctx {
	struct k8s_reflector *r;
	struct k8s_watch_lines lines;
	enum k8s_watch_end end; /* set when an event ends the watch */
	bool ended, any;
};

static int on_event_line(const char *line, size_t n, void *arg)
{
	struct watch_ctx *w = arg;
	struct k8s_reflector *r = w->r;
	struct k8s_watch_event ev;
	struct cni_err e = { 0 };
	const cJSON *md;
	const char *ns, *name;

	if (k8s_watch_decode(line, n, &ev, &e) < 0) {
		log_error("WATCH %s: %s", r->name, e.msg);
		cni_err_clear(&e);
		w->end = K8S_WATCH_END_ERROR;
		w->ended = true;
		return 1;
	}
	w->any = true;
	if (ev.type == K8S_WATCH_ERROR) {
		log_verbose("WATCH %s: ERROR event %d: %s", r->name, ev.code,
			    ev.message ? ev.message : "");
		w->end = ev.code == 410 ? K8S_WATCH_END_GONE : K8S_WATCH_END_ERROR;
		w->ended = true;
		k8s_watch_event_clear(&ev);
		return 1;
	}
	/* the store changes under r->mu, so that whoever it wakes reads counters (and the
	 * resourceVersion) that include the change */
	pthread_mutex_lock(&r->mu);
	r->st.last_event_ms = k8s_now_ms();
	switch (ev.type) {
	case K8S_WATCH_ADDED:
	case K8S_WATCH_MODIFIED:
		if (k8s_store_put(r->store, ev.object, &e) < 0) {
			log_verbose("WATCH %s: object skipped: %s", r->name, e.msg);
			r->st.rejected++;
			cni_err_clear(&e);
		} else if (ev.type == K8S_WATCH_ADDED) {
			r->st.added++;
		} else {
			r->st.modified++;
		}
		break;
	case K8S_WATCH_DELETED:
		md = cJSON_GetObjectItemCaseSensitive(ev.object, "metadata");
		ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
		name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
		if (ns && name)
			k8s_store_delete(r->store, ns, name);
		r->st.deleted++;
		break;
	default:
		r->st.bookmarks++;
		break;
	}
	set_rv_locked(r, ev.rv);
	pthread_mutex_unlock(&r->mu);
	k8s_watch_event_clear(&ev);
	return 0;
}

static int on_watch_data(const char *data, size_t n, void *arg)
{
	struct watch_ctx *w = arg;
	int ret = k8s_watch_lines_feed(&w->lines, data, n, on_event_line, w);

	if (ret < 0) {
		log_error("WATCH %s: event larger than %zu bytes", w->r->name, w->r->o.event_max);
		w->end = K8S_WATCH_END_ERROR;
		w->ended = true;
	}
	return ret != 0;
}

/* One WATCH from the current resourceVersion. Returns why it ended, or -1 on stop. */
static int watch_once(struct k8s_reflector *r, bool *any)
{
	struct watch_ctx w = { .r = r };
	struct k8s_stream s = { .on_data = on_watch_data, .arg = &w, .idle_ms = r->o.stall_ms };
	struct cni_err err = { 0 };
	char tmo[24], *rv, *url;
	int ret;

	snprintf(tmo, sizeof(tmo), "%ld", r->o.watch_timeout_s);
	rv = k8s_reflector_resource_version(r);
	url =
	    url_of(r, (const char *const[]){ "watch", "1", "allowWatchBookmarks", "true",
					     "resourceVersion", rv, "timeoutSeconds", tmo, NULL });
	free(rv);
	if (!url)
		return K8S_WATCH_END_ERROR;
	k8s_watch_lines_init(&w.lines, r->o.event_max);
	pthread_mutex_lock(&r->mu);
	r->st.watches++;
	r->st.watching = true;
	pthread_mutex_unlock(&r->mu);
	ret = k8s_stream_get(r->client, url, r->name, &s, &err);
	pthread_mutex_lock(&r->mu);
	r->st.watching = false;
	pthread_mutex_unlock(&r->mu);
	*any = w.any;
	if (ret == -ECANCELED && w.ended)
		ret = (int)w.end;
	else if (ret == -ECANCELED)
		ret = -1;
	else if (ret == -ETIMEDOUT)
		ret = K8S_WATCH_END_STALLED;
	else if (ret < 0)
		ret = s.status == 410 ? K8S_WATCH_END_GONE
		      : s.status != 0 ? K8S_WATCH_END_ERROR
				      : K8S_WATCH_END_DROPPED;
	else
		ret = k8s_watch_lines_pending(&w.lines) ? K8S_WATCH_END_DROPPED
							: K8S_WATCH_END_CLOSED;
	if (ret >= 0 && ret != K8S_WATCH_END_CLOSED)
		log_verbose("WATCH %s: %s%s%s", r->name, k8s_watch_end_name(ret),
			    err.msg ? ": " : "", err.msg ? err.msg : "");
	cni_err_clear(&err);
	k8s_watch_lines_free(&w.lines);
	free(url);
	return ret;
}

static void *run(void *arg)
{
	struct k8s_reflector *r = arg;
	bool need_list = true, any = false;
	int failures = 0, end;

	while (!stopping(r)) {
		if (need_list) {
			struct cni_err err = { 0 };
			int ret = list_all(r, &err);

			if (ret == -ECANCELED)
				break;
			if (ret < 0) {
				log_error("LIST %s: %s", r->name, err.msg);
				cni_err_clear(&err);
				COUNT(r, list_failures, 1);
				backoff(r, ++failures);
				continue;
			}
			need_list = false;
			failures = 0;
		}
		end = watch_once(r, &any);
		if (end < 0)
			break;
		COUNT(r, restarts[end], 1);
		if (any)
			failures = 0;
		switch ((enum k8s_watch_end)end) {
		case K8S_WATCH_END_GONE:
			COUNT(r, relists_gone, 1);
			need_list = true;
			break;
		case K8S_WATCH_END_ERROR:
			need_list = true;
			backoff(r, ++failures);
			break;
		case K8S_WATCH_END_DROPPED:
			backoff(r, ++failures);
			break;
		default:
			break;
		}
	}
	return NULL;
}

int k8s_reflector_start(struct k8s_reflector *r, struct cni_err *err)
{
	int rc;

	if (r->started)
		return 0;
	/* libcurl is loaded here, in the caller's thread, so a missing library is told at once */
	if (k8s_curl_load(err) < 0)
		return -1;
	rc = pthread_create(&r->thread, NULL, run, r);
	if (rc)
		return cni_err_set(err, CNI_ERR_INTERNAL, "reflector %s: cannot start a thread: %s",
				   r->name, strerror(rc));
	r->started = true;
	return 0;
}

void k8s_reflector_stop(struct k8s_reflector *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->mu);
	k8s_client_interrupt(r->client);
	pthread_join(r->thread, NULL);
	r->started = false;
}

void k8s_reflector_free(struct k8s_reflector *r)
{
	if (!r)
		return;
	k8s_reflector_stop(r);
	k8s_client_free(r->client);
	if (r->client) {
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->wake);
	}
	free(r->rv);
	free(r->path);
	free(r->name);
	free(r->fsel);
	free(r->lsel);
	free(r);
}

void k8s_reflector_stats(struct k8s_reflector *r, struct k8s_reflector_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	pthread_mutex_unlock(&r->mu);
}

char *k8s_reflector_resource_version(struct k8s_reflector *r)
{
	char *rv;

	pthread_mutex_lock(&r->mu);
	rv = r->rv ? strdup(r->rv) : NULL;
	pthread_mutex_unlock(&r->mu);
	return rv;
}

/* test/unit/test_k8s_reflector.c: LIST+WATCH into a store against the kube-apiserver stand-in
 * (test/stand-ins/apiserver.py), over real TLS: pagination, events, bookmarks, 410 re-lists,
 * dropped and stalled watches, selectors, and a prompt stop. Each test uses its own node name
 * (a field selector), so the stand-in's objects of one test are invisible to the others. */
#include <limits.h>
#include <pthread.h>
#include <time.h>

#include "k8s/client.h"
#include "k8s/curl.h"
#include "k8s/reflector.h"
#include "k8s/store.h"
#include "test/unit/unit.h"

static char dir[64];
static char server[64];
static pid_t standin = -1;

static void creds(struct k8s_creds *c)
{
	unit_api_creds(dir, server, "good-token", c);
}

static cJSON *control(const char *method, const char *path, const char *body)
{
	return unit_api_control(dir, server, method, path, body);
}

static void ctl(const char *method, const char *path, const char *body)
{
	cJSON_Delete(control(method, path, body));
}

static void put_pod(const char *ns, const char *name, const char *node, const char *networks)
{
	char body[8192];

	snprintf(body, sizeof(body),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\",\"annotations\":{\"k8s.v1.cni.cncf.io/networks\":\"%s\"}},"
		 "\"spec\":{\"nodeName\":\"%s\",\"containers\":[{\"name\":\"c\"}]}}",
		 name, ns, networks, node);
	ctl("POST", "/_standin/objects", body);
}

static void del_pod(const char *ns, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/_standin/objects/pods/%s/%s", ns, name);
	ctl("DELETE", path, NULL);
}

/* The stand-in's newest resourceVersion. */
static long server_rv(void)
{
	cJSON *w = control("GET", "/_standin/watch", NULL);
	long rv = (long)cJSON_GetObjectItem(w, "resourceVersion")->valuedouble;

	cJSON_Delete(w);
	return rv;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

struct fixture {
	struct k8s_store *store;
	struct k8s_reflector *r;
	char fsel[128];
	long served0; /* watches the stand-in had served before this reflector started */
};

/* Watch requests the stand-in has served. */
static long server_watches(void)
{
	cJSON *w = control("GET", "/_standin/watch", NULL);
	long n = (long)cJSON_GetObjectItem(w, "watches")->valuedouble;

	cJSON_Delete(w);
	return n;
}

/* A pod reflector for node, started, its first sync awaited. */
static void start(struct fixture *f, const char *node, struct k8s_reflector_opts *o)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };

	snprintf(f->fsel, sizeof(f->fsel), "spec.nodeName=%s", node);
	f->store = k8s_store_new(K8S_KIND_POD, &err);
	ck_assert_ptr_nonnull(f->store);
	o->path = "/api/v1/pods";
	o->name = "pods";
	o->field_selector = f->fsel;
	if (!o->stall_ms)
		o->stall_ms = 5000;
	if (!o->backoff_ms)
		o->backoff_ms = 50;
	creds(&c);
	f->served0 = server_watches();
	f->r = k8s_reflector_new(&c, f->store, o, &err);
	k8s_creds_free(&c);
	ck_assert_msg(f->r != NULL, "%s", err.msg);
	ck_assert_msg(k8s_reflector_start(f->r, &err) == 0, "%s", err.msg);
	ck_assert_msg(k8s_store_wait_synced(f->store, 10000), "no sync in 10 s");
}

static void finish(struct fixture *f)
{
	k8s_reflector_free(f->r);
	k8s_store_free(f->store);
}

static struct k8s_reflector_stats stats(struct fixture *f)
{
	struct k8s_reflector_stats s;

	k8s_reflector_stats(f->r, &s);
	return s;
}

/* Waits up to 10 s for a condition on the counters (the test's own loop: the reflector has no
 * event to wake a test on its counters). */
#define WAIT_STATS(f, cond)                                                                        \
	do {                                                                                       \
		long t0_ = now_ms();                                                               \
		struct k8s_reflector_stats s_ = stats(f);                                          \
		while (!(cond) && now_ms() - t0_ < 10000) {                                        \
			sleep_ms(20);                                                              \
			s_ = stats(f);                                                             \
		}                                                                                  \
		ck_assert_msg(cond, "after 10 s: %s is false (lists %llu, watches %llu)", #cond,   \
			      (unsigned long long)s_.lists, (unsigned long long)s_.watches);       \
	} while (0)

/* The reflector is watching and the stand-in has taken its watch: a fault posted now reaches
 * that stream ("watching" is set as the request leaves, before the server has it). */
static void await_watching(struct fixture *f)
{
	long t0 = now_ms();

	WAIT_STATS(f, s_.watching);
	while (server_watches() - f->served0 < (long)stats(f).watches && now_ms() - t0 < 10000)
		sleep_ms(20);
	ck_assert_msg(server_watches() - f->served0 >= (long)stats(f).watches,
		      "the stand-in never received the reflector's watch");
}

/* The pod is cached (with a new resourceVersion when rv is given) within 10 s. */
static void await_pod(struct fixture *f, const char *ns, const char *name, const char *rv)
{
	ck_assert_msg(k8s_store_wait_change(f->store, ns, name, rv, 10000) == 1,
		      "pod %s/%s not cached (changed from %s) within 10 s", ns, name,
		      rv ? rv : "-");
}

static void await_gone(struct fixture *f, const char *ns, const char *name)
{
	struct k8s_pod *p = k8s_store_get_pod(f->store, ns, name);

	if (p) {
		ck_assert_msg(
		    k8s_store_wait_change(f->store, ns, name, p->resource_version, 10000) == 0,
		    "pod %s/%s still cached after 10 s", ns, name);
		free(p);
	}
}

static void standin_start(void)
{
	standin =
	    unit_apiserver("watch-fixture.json", "refl", dir, sizeof(dir), server, sizeof(server));
}

static void standin_stop(void)
{
	unit_standin_stop(standin);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void reset(void)
{
	ctl("POST", "/_standin/faults", "{}");
	ctl("POST", "/_standin/reset-log", "{}");
}

START_TEST(initial_sync_lists_every_page)
{
	struct k8s_reflector_opts o = { .page_size = 10 };
	struct fixture f = { 0 };
	char name[32];
	struct k8s_pod *p;
	char *rv;

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		put_pod(i % 2 ? "sync-a" : "sync-b", name, "n-sync", name);
	}
	put_pod("sync-a", "elsewhere", "n-other", "x");
	start(&f, "n-sync", &o);
	ck_assert_uint_eq(k8s_store_size(f.store), 25);
	ck_assert_uint_eq(stats(&f).list_pages, 3);
	ck_assert_uint_eq(stats(&f).lists, 1);
	p = k8s_store_get_pod(f.store, "sync-a", "p13");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->networks, "p13");
	ck_assert_str_eq(p->node, "n-sync");
	free(p);
	rv = k8s_reflector_resource_version(f.r);
	ck_assert_ptr_nonnull(rv);
	ck_assert_int_ge(atol(rv), 1000);
	free(rv);
	finish(&f);
}
END_TEST

START_TEST(events_are_applied_in_order)
{
	struct k8s_reflector_opts o = { 0 };
	struct fixture f = { 0 };
	struct k8s_pod *p;
	char rv[32];

	start(&f, "n-events", &o);
	await_watching(&f);
	put_pod("ev", "a", "n-events", "net1");
	await_pod(&f, "ev", "a", NULL);
	p = k8s_store_get_pod(f.store, "ev", "a");
	snprintf(rv, sizeof(rv), "%s", p->resource_version);
	ck_assert_str_eq(p->networks, "net1");
	free(p);
	put_pod("ev", "a", "n-events", "net2");
	await_pod(&f, "ev", "a", rv);
	p = k8s_store_get_pod(f.store, "ev", "a");
	ck_assert_str_eq(p->networks, "net2");
	free(p);
	del_pod("ev", "a");
	await_gone(&f, "ev", "a");
	ck_assert_uint_eq(stats(&f).added, 1);
	ck_assert_uint_eq(stats(&f).modified, 1);
	ck_assert_uint_eq(stats(&f).deleted, 1);
	ck_assert_uint_eq(stats(&f).lists, 1);
	ck_assert_uint_eq(stats(&f).restarts[K8S_WATCH_END_STALLED], 0);
	finish(&f);
}
END_TEST

START_TEST(field_selector_is_honoured)
{
	struct k8s_reflector_opts o = { 0 };
	struct fixture f = { 0 };
	cJSON *log, *e;
	bool seen = false;

	put_pod("fs", "mine", "n-fs", "x");
	put_pod("fs", "theirs", "n-fs-other", "x");
	start(&f, "n-fs", &o);
	ck_assert_uint_eq(k8s_store_size(f.store), 1);
	await_watching(&f);
	put_pod("fs", "theirs2", "n-fs-other", "x");
	put_pod("fs", "mine2", "n-fs", "x");
	await_pod(&f, "fs", "mine2", NULL);
	ck_assert_ptr_null(k8s_store_get_pod(f.store, "fs", "theirs"));
	ck_assert_ptr_null(k8s_store_get_pod(f.store, "fs", "theirs2"));
	ck_assert_uint_eq(k8s_store_size(f.store), 2);
	/* the selector travels to the server, encoded, on the LIST and the WATCH */
	log = control("GET", "/_standin/requests", NULL);
	cJSON_ArrayForEach(e, log)
	{
		const cJSON *q = cJSON_GetObjectItem(e, "query");

		ck_assert_msg(cJSON_IsString(q) &&
				  strstr(q->valuestring, "fieldSelector=spec.nodeName%3Dn-fs"),
			      "request without the selector: %s",
			      cJSON_IsString(q) ? q->valuestring : "(no query)");
		seen = seen || strstr(q->valuestring, "watch=1");
	}
	ck_assert(seen);
	cJSON_Delete(log);
	finish(&f);
}
END_TEST

START_TEST(bookmarks_advance_the_resource_version)
{
	struct k8s_reflector_opts o = { 0 };
	struct fixture f = { 0 };
	char want[32];
	char *rv;
	long t0;
	bool ok = false;

	start(&f, "n-bm", &o);
	await_watching(&f);
	/* changes the reflector does not see (another node) move the server's version */
	put_pod("bm", "other1", "n-bm-other", "x");
	put_pod("bm", "other2", "n-bm-other", "x");
	snprintf(want, sizeof(want), "%ld", server_rv());
	for (t0 = now_ms(); !ok && now_ms() - t0 < 10000; sleep_ms(20)) {
		rv = k8s_reflector_resource_version(f.r);
		ok = rv && strcmp(rv, want) == 0;
		free(rv);
	}
	ck_assert_msg(ok, "the reflector's resourceVersion never reached %s", want);
	ck_assert_uint_gt(stats(&f).bookmarks, 0);
	ck_assert_uint_eq(k8s_store_size(f.store), 0);
	ck_assert_uint_gt(stats(&f).last_event_ms, 0);
	finish(&f);
}
END_TEST

START_TEST(gone_relists_and_applies_deletions_from_the_gap)
{
	struct k8s_reflector_opts o = { .backoff_ms = 100 };
	struct fixture f = { 0 };
	struct k8s_pod *p;

	put_pod("gap", "stays", "n-gap", "x");
	put_pod("gap", "goes", "n-gap", "x");
	start(&f, "n-gap", &o);
	await_watching(&f);
	/* the watch is dropped and cannot come back while "goes" is deleted and the history
	 * compacted: its next watch starts from a version the server has forgotten */
	ctl("POST", "/_standin/faults", "{\"rules\":[\"GET pods drop x1000\"]}");
	ctl("POST", "/_standin/watch", "{\"drop\":true}");
	WAIT_STATS(&f, s_.restarts[K8S_WATCH_END_DROPPED] >= 1 && !s_.watching);
	del_pod("gap", "goes");
	put_pod("gap", "new", "n-gap", "x");
	ctl("POST", "/_standin/watch", "{\"compact\":true}");
	ctl("POST", "/_standin/faults", "{}");
	await_gone(&f, "gap", "goes");
	await_pod(&f, "gap", "new", NULL);
	p = k8s_store_get_pod(f.store, "gap", "stays");
	ck_assert_ptr_nonnull(p);
	free(p);
	WAIT_STATS(&f, s_.relists_gone == 1);
	ck_assert_uint_eq(stats(&f).restarts[K8S_WATCH_END_GONE], 1);
	ck_assert_uint_eq(stats(&f).gap_deletions, 1);
	ck_assert_uint_eq(stats(&f).lists, 2);
	ck_assert_uint_eq(k8s_store_size(f.store), 2);
	finish(&f);
}
END_TEST

START_TEST(dropped_watch_reconnects_without_relisting)
{
	struct k8s_reflector_opts o = { 0 };
	struct fixture f = { 0 };

	start(&f, "n-drop", &o);
	await_watching(&f);
	ctl("POST", "/_standin/watch", "{\"drop\":true}");
	WAIT_STATS(&f, s_.restarts[K8S_WATCH_END_DROPPED] == 1);
	put_pod("drop", "after", "n-drop", "x");
	await_pod(&f, "drop", "after", NULL);
	ck_assert_uint_eq(stats(&f).lists, 1);
	ck_assert_uint_eq(stats(&f).relists_gone, 0);
	ck_assert_uint_ge(stats(&f).watches, 2);
	finish(&f);
}
END_TEST

START_TEST(stalled_watch_is_restarted)
{
	struct k8s_reflector_opts o = { .stall_ms = 1500 };
	struct fixture f = { 0 };

	start(&f, "n-stall", &o);
	await_watching(&f);
	/* bookmarks every 200 ms keep a healthy watch well inside its 1.5 s deadline */
	sleep_ms(2000);
	ck_assert_uint_eq(stats(&f).restarts[K8S_WATCH_END_STALLED], 0);
	ctl("POST", "/_standin/watch", "{\"stall\":true}");
	put_pod("stall", "during", "n-stall", "x");
	await_pod(&f, "stall", "during", NULL);
	ck_assert_uint_eq(stats(&f).restarts[K8S_WATCH_END_STALLED], 1);
	ck_assert_uint_eq(stats(&f).lists, 1);
	finish(&f);
}
END_TEST

START_TEST(oversized_event_restarts_with_a_relist)
{
	struct k8s_reflector_opts o = { .event_max = 2048 };
	struct fixture f = { 0 };
	char big[4096];

	start(&f, "n-big", &o);
	await_watching(&f);
	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put_pod("big", "huge", "n-big", big);
	/* the re-list brings it, as a LIST page has its own, larger cap */
	await_pod(&f, "big", "huge", NULL);
	WAIT_STATS(&f, s_.lists == 2);
	ck_assert_uint_eq(stats(&f).restarts[K8S_WATCH_END_ERROR], 1);
	finish(&f);
}
END_TEST

struct creator {
	long delay_ms;
};

static void *create_later(void *arg)
{
	struct creator *c = arg;

	sleep_ms(c->delay_ms);
	put_pod("wait", "late", "n-wait", "x");
	return NULL;
}

START_TEST(store_wait_wakes_on_the_watch_event)
{
	struct k8s_reflector_opts o = { 0 };
	struct creator c = { 300 };
	struct fixture f = { 0 };
	struct k8s_pod *p = NULL;
	pthread_t t;
	long t0;

	start(&f, "n-wait", &o);
	await_watching(&f);
	ck_assert_int_eq(pthread_create(&t, NULL, create_later, &c), 0);
	t0 = now_ms();
	ck_assert_int_eq(k8s_store_wait_pod(f.store, "wait", "late", NULL, 10000, &p), 0);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_str_eq(p->name, "late");
	free(p);
	pthread_join(t, NULL);
	finish(&f);
}
END_TEST

START_TEST(stop_is_prompt_while_watching_and_in_backoff)
{
	struct k8s_reflector_opts o = { 0 };
	struct k8s_reflector_opts dead = { .path = "/api/v1/pods", .backoff_ms = 20000 };
	struct k8s_creds c = { .server = "https://127.0.0.1:1" };
	struct cni_err err = { 0 };
	struct k8s_store *s;
	struct k8s_reflector *r;
	struct fixture f = { 0 };
	long t0;

	start(&f, "n-stop", &o);
	await_watching(&f);
	t0 = now_ms();
	k8s_reflector_stop(f.r);
	ck_assert_int_lt(now_ms() - t0, 2000);
	finish(&f);
	/* a server that refuses: the reflector sleeps a 10-20 s backoff, cut short by stop */
	s = k8s_store_new(K8S_KIND_POD, &err);
	r = k8s_reflector_new(&c, s, &dead, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(k8s_reflector_start(r, &err), 0);
	sleep_ms(300);
	t0 = now_ms();
	k8s_reflector_free(r);
	ck_assert_int_lt(now_ms() - t0, 2000);
	ck_assert(!k8s_store_synced(s));
	k8s_store_free(s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_reflector");
	TCase *tc = tcase_create("reflector");

	tcase_add_unchecked_fixture(tc, standin_start, standin_stop);
	tcase_add_checked_fixture(tc, reset, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, initial_sync_lists_every_page);
	tcase_add_test(tc, events_are_applied_in_order);
	tcase_add_test(tc, field_selector_is_honoured);
	tcase_add_test(tc, bookmarks_advance_the_resource_version);
	tcase_add_test(tc, gone_relists_and_applies_deletions_from_the_gap);
	tcase_add_test(tc, dropped_watch_reconnects_without_relisting);
	tcase_add_test(tc, stalled_watch_is_restarted);
	tcase_add_test(tc, oversized_event_restarts_with_a_relist);
	tcase_add_test(tc, store_wait_wakes_on_the_watch_event);
	tcase_add_test(tc, stop_is_prompt_while_watching_and_in_backoff);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

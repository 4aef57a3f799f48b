/* test/unit/test_k8s_store.c: the watch caches' store: trimmed pods, NADs, ResourceClaims and
 * ResourceSlices, copies out, re-list diffs, waits woken by changes, and the memory a cached
 * object costs. */
#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include "k8s/dra.h"
#include "k8s/objects.h"
#include "k8s/store.h"
#include "test/unit/unit.h"

static cJSON *json(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	ck_assert_msg(j != NULL, "test JSON does not parse: %s", text);
	return j;
}

/* A pod as the API returns it, with much that the store must drop. */
static cJSON *pod(const char *ns, const char *name, const char *uid, const char *rv,
		  const char *networks)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"%s\",\"uid\":\"%s\",\"resourceVersion\":\"%s\","
		 "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"5d8f7c9b4\"},"
		 "\"annotations\":{\"k8s.v1.cni.cncf.io/networks\":\"%s\","
		 "\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"},"
		 "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		 "\"name\":\"web-5d8f7c9b4\",\"uid\":\"a\"}]},"
		 "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"web\","
		 "\"image\":\"nginx:1.25\",\"ports\":[{\"containerPort\":80}],"
		 "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"}}}]},"
		 "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.7\","
		 "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		 name, ns, uid, rv, networks);
	return json(text);
}

static cJSON *nad(const char *ns, const char *name, const char *rv, const char *resource)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"k8s.cni.cncf.io/v1\",\"kind\":\"NetworkAttachmentDefinition\","
		 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"u\","
		 "\"resourceVersion\":\"%s\"%s%s%s},\"spec\":{\"config\":"
		 "\"{\\\"cniVersion\\\":\\\"1.0.0\\\",\\\"type\\\":\\\"macvlan\\\","
		 "\\\"master\\\":\\\"eth0\\\",\\\"ipam\\\":{\\\"type\\\":\\\"host-local\\\","
		 "\\\"subnet\\\":\\\"10.1.0.0/16\\\"}}\"}}",
		 name, ns, rv,
		 resource ? ",\"annotations\":{\"k8s.v1.cni.cncf.io/resourceName\":\"" : "",
		 resource ? resource : "", resource ? "\"}" : "");
	return json(text);
}

static struct k8s_store *store(enum k8s_kind k)
{
	struct cni_err err = { 0 };
	struct k8s_store *s = k8s_store_new(k, &err);

	ck_assert_ptr_nonnull(s);
	return s;
}

static void put(struct k8s_store *s, cJSON *obj)
{
	struct cni_err err = { 0 };

	ck_assert_msg(k8s_store_put(s, obj, &err) == 0, "put: %s", err.msg);
	cJSON_Delete(obj);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(pod_is_trimmed_to_what_plexus_reads)
{
	cJSON *o = json("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\","
			"\"resourceVersion\":\"7\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
			"\"annotations\":{\"k8s.v1.cni.cncf.io/networks\":\"a,b\","
			"\"v1.multus-cni.io/default-network\":\"ns/def\","
			"\"kubernetes.io/config.source\":\"file\",\"other\":\"x\"}},"
			"\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"resourceClaimStatuses\":"
			"[{\"name\":\"gpu\",\"resourceClaimName\":\"p-gpu\"}]}}");
	struct cni_err err = { 0 };
	struct k8s_pod *p = k8s_pod_from_json(o, &err);

	ck_assert_msg(p != NULL, "%s", err.msg);
	ck_assert_str_eq(p->namespace, "ns");
	ck_assert_str_eq(p->name, "p");
	ck_assert_str_eq(p->uid, "u1");
	ck_assert_str_eq(p->node, "n1");
	ck_assert_str_eq(p->resource_version, "7");
	ck_assert_str_eq(p->networks, "a,b");
	ck_assert_str_eq(p->default_network, "ns/def");
	ck_assert_str_eq(p->config_source, "file");
	ck_assert_str_eq(p->deletion_timestamp, "2026-01-01T00:00:00Z");
	ck_assert_json_eq(p->dra_status,
			  "{\"resourceClaimStatuses\":[{\"name\":\"gpu\",\"resourceClaimName\":"
			  "\"p-gpu\"}]}");
	free(p);
	cJSON_Delete(o);
}
END_TEST

START_TEST(pod_without_optional_fields_has_nulls_and_an_empty_node)
{
	cJSON *o = json("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\","
			"\"resourceVersion\":\"7\"}}");
	struct cni_err err = { 0 };
	struct k8s_pod *p = k8s_pod_from_json(o, &err);

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->node, "");
	ck_assert_ptr_null(p->networks);
	ck_assert_ptr_null(p->default_network);
	ck_assert_ptr_null(p->config_source);
	ck_assert_ptr_null(p->deletion_timestamp);
	ck_assert_ptr_null(p->dra_status);
	free(p);
	cJSON_Delete(o);
}
END_TEST

START_TEST(nad_keeps_config_bytes_and_resource_name)
{
	cJSON *o = nad("ns", "sriov-a", "9", "intel.com/sriov");
	struct cni_err err = { 0 };
	struct k8s_nad *n = k8s_nad_from_json(o, &err);
	const char *want =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(o, "spec"), "config")->valuestring;

	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->namespace, "ns");
	ck_assert_str_eq(n->name, "sriov-a");
	ck_assert_str_eq(n->resource_version, "9");
	ck_assert_str_eq(n->config, want);
	ck_assert_uint_eq(n->config_len, strlen(want));
	ck_assert_str_eq(n->resource_name, "intel.com/sriov");
	free(n);
	cJSON_Delete(o);
}
END_TEST

/* The readers plexus runs on an API object (k8s/objects.h, k8s/dra.h) read a rebuilt record as
 * they read the original: what the daemon hands its ADD path from the cache is the pod and NAD
 * the API would have returned, for every field plexus looks at. */
static void same_pod_reading(const cJSON *a, const cJSON *b)
{
	static const char *const md[] = { "namespace", "name", "uid", "resourceVersion",
					  "deletionTimestamp" };
	static const char *const an[] = { "k8s.v1.cni.cncf.io/networks",
					  "v1.multus-cni.io/default-network",
					  "kubernetes.io/config.source" };
	struct k8s_dra_claim_ref *ra, *rb;
	struct cni_err err = { 0 };
	size_t na, nb;
	char *ta, *tb;

	for (size_t i = 0; i < sizeof(md) / sizeof(*md); i++)
		ck_assert_pstr_eq(k8s_object_meta(b, md[i]), k8s_object_meta(a, md[i]));
	for (size_t i = 0; i < sizeof(an) / sizeof(*an); i++)
		ck_assert_pstr_eq(k8s_object_annotation(b, an[i]), k8s_object_annotation(a, an[i]));
	ck_assert_int_eq(k8s_pod_is_static(b), k8s_pod_is_static(a));
	ta =
	    cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "spec"), "nodeName"));
	tb =
	    cJSON_PrintUnformatted(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "spec"), "nodeName"));
	ck_assert_pstr_eq(tb, ta);
	free(ta);
	free(tb);
	ck_assert_int_eq(k8s_dra_pod_claims(a, &ra, &na, &err), 0);
	ck_assert_int_eq(k8s_dra_pod_claims(b, &rb, &nb, &err), 0);
	ck_assert_uint_eq(nb, na);
	for (size_t i = 0; i < na; i++) {
		ck_assert_str_eq(rb[i].name, ra[i].name);
		ck_assert_int_eq(rb[i].extended, ra[i].extended);
		ta = cJSON_PrintUnformatted(ra[i].mappings);
		tb = cJSON_PrintUnformatted(rb[i].mappings);
		ck_assert_pstr_eq(tb, ta);
		free(ta);
		free(tb);
	}
	free(ra);
	free(rb);
}

START_TEST(rebuilt_objects_read_as_the_originals)
{
	static const char *const pods[] = {
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u1\","
		"\"resourceVersion\":\"7\",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\","
		"\"annotations\":{\"k8s.v1.cni.cncf.io/networks\":\"[{\\\"name\\\":\\\"a\\\"}]\","
		"\"v1.multus-cni.io/default-network\":\"ns/def\","
		"\"kubernetes.io/config.source\":\"file\",\"other\":\"x\"}},"
		"\"spec\":{\"nodeName\":\"n1\",\"containers\":[]},\"status\":{\"phase\":"
		"\"Running\","
		"\"resourceClaimStatuses\":[{\"name\":\"gpu\",\"resourceClaimName\":\"p-gpu\"}],"
		"\"extendedResourceClaimStatus\":{\"resourceClaimName\":\"p-ext\","
		"\"requestMappings\":[{\"containerName\":\"c\",\"resourceName\":\"r/x\","
		"\"requestName\":\"q\"}]}}}",
		"{\"metadata\":{\"name\":\"bare\",\"namespace\":\"ns\",\"uid\":\"u2\","
		"\"resourceVersion\":\"8\"}}",
		"{\"metadata\":{\"name\":\"api\",\"namespace\":\"ns\",\"uid\":\"u3\","
		"\"resourceVersion\":\"9\",\"annotations\":{\"kubernetes.io/"
		"config.source\":\"api\"}},"
		"\"status\":{\"resourceClaimStatuses\":null}}",
	};
	struct cni_err err = { 0 };

	for (size_t i = 0; i < sizeof(pods) / sizeof(*pods); i++) {
		cJSON *o = json(pods[i]), *back;
		struct k8s_pod *p = k8s_pod_from_json(o, &err), *again;

		ck_assert_msg(p != NULL, "%s", err.msg);
		back = k8s_pod_to_json(p);
		ck_assert_ptr_nonnull(back);
		same_pod_reading(o, back);
		again = k8s_pod_from_json(back, &err);
		ck_assert_msg(again != NULL, "%s", err.msg);
		ck_assert_pstr_eq(again->dra_status, p->dra_status);
		free(again);
		free(p);
		cJSON_Delete(back);
		cJSON_Delete(o);
	}
	for (int with = 0; with < 2; with++) {
		cJSON *o = with ? nad("ns", "sriov-a", "9", "intel.com/sriov")
				: json("{\"metadata\":{\"name\":\"e\",\"namespace\":\"ns\","
				       "\"resourceVersion\":\"3\"},\"spec\":{}}");
		struct k8s_nad *n = k8s_nad_from_json(o, &err);
		struct k8s_nad_config ca, cb;
		cJSON *back;

		ck_assert_ptr_nonnull(n);
		back = k8s_nad_to_json(n);
		ck_assert_ptr_nonnull(back);
		ck_assert_pstr_eq(k8s_object_meta(back, "name"), k8s_object_meta(o, "name"));
		ck_assert_pstr_eq(k8s_object_meta(back, "namespace"),
				  k8s_object_meta(o, "namespace"));
		ck_assert_int_eq(k8s_nad_delegate_config(o, &ca, &err), 0);
		ck_assert_int_eq(k8s_nad_delegate_config(back, &cb, &err), 0);
		ck_assert_pstr_eq(cb.config, ca.config);
		ck_assert_uint_eq(cb.len, ca.len);
		ck_assert_pstr_eq(cb.resource_name, ca.resource_name);
		k8s_nad_config_free(&ca);
		k8s_nad_config_free(&cb);
		free(n);
		cJSON_Delete(back);
		cJSON_Delete(o);
	}
}
END_TEST

START_TEST(objects_without_identity_are_refused)
{
	const char *bad[] = {
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"resourceVersion\":\"1\"}}",
		"{\"metadata\":{\"name\":\"p\",\"uid\":\"u\",\"resourceVersion\":\"1\"}}",
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"u\"}}",
		"[]",
		/* what was decoded before the refusal is freed (unit-asan) */
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"resourceVersion\":\"1\"},"
		"\"status\":{\"resourceClaimStatuses\":[{\"name\":\"gpu\"}]}}",
	};
	const char *want[] = { "pod: no metadata.uid",
			       "pod: no metadata.namespace and metadata.name",
			       "pod: no metadata.resourceVersion",
			       "pod: no metadata.namespace and metadata.name",
			       "pod: no metadata.uid" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *o = json(bad[i]);
		struct cni_err err = { 0 };

		ck_assert_ptr_null(k8s_pod_from_json(o, &err));
		ck_assert_str_eq(err.msg, want[i]);
		ck_assert_int_eq(err.code, CNI_ERR_DECODE);
		cni_err_clear(&err);
		cJSON_Delete(o);
	}
}
END_TEST

START_TEST(get_returns_a_copy_that_outlives_changes)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	struct k8s_pod *p;

	put(s, pod("ns", "a", "u1", "1", "net1"));
	p = k8s_store_get_pod(s, "ns", "a");
	ck_assert_ptr_nonnull(p);
	put(s, pod("ns", "a", "u1", "2", "net2"));
	ck_assert(k8s_store_delete(s, "ns", "a"));
	ck_assert_str_eq(p->networks, "net1");
	ck_assert_str_eq(p->resource_version, "1");
	free(p);
	errno = 0;
	ck_assert_ptr_null(k8s_store_get_pod(s, "ns", "a"));
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_ptr_null(k8s_store_get_nad(s, "ns", "a"));
	ck_assert_int_eq(errno, EINVAL);
	k8s_store_free(s);
}
END_TEST

struct putter {
	struct k8s_store *s;
	long ms;
};

static void *put_later(void *arg)
{
	struct putter *p = arg;
	struct timespec ts = { p->ms / 1000, (p->ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	put(p->s, pod("ns", "late", "u9", "1", "x"));
	return NULL;
}

/* What plexusd's hot-plug thread sleeps on and reads: any change wakes it (a put from another
 * thread), nothing does not (it times out), and the list is a copy of every pod. */
START_TEST(wait_any_wakes_on_a_change_and_list_copies_every_pod)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	struct putter p = { s, 200 };
	struct k8s_pod **pods;
	uint64_t seen, now;
	pthread_t t;
	size_t n;
	bool late = false;

	put(s, pod("ns", "a", "u1", "1", "x"));
	put(s, pod("other", "b", "u2", "1", "y"));
	seen = k8s_store_wait_any(s, 0, 0);
	ck_assert_uint_gt(seen, 0);
	ck_assert_uint_eq(k8s_store_wait_any(s, seen, 100), seen); /* nothing changed */
	ck_assert_int_eq(pthread_create(&t, NULL, put_later, &p), 0);
	now = k8s_store_wait_any(s, seen, 10000);
	pthread_join(t, NULL);
	ck_assert_uint_gt(now, seen);
	ck_assert_int_eq(k8s_store_list_pods(s, &pods, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		late = late || strcmp(pods[i]->name, "late") == 0;
		free(pods[i]);
	}
	free(pods);
	ck_assert(late);
	k8s_store_free(s);
	s = store(K8S_KIND_NAD);
	ck_assert_int_eq(k8s_store_list_pods(s, &pods, &n), -EINVAL);
	k8s_store_free(s);
}
END_TEST

START_TEST(put_replaces_and_delete_removes_among_many)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	char name[32], uid[32];

	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(uid, sizeof(uid), "u%d", i);
		put(s, pod(i % 2 ? "odd" : "even", name, uid, "1", name));
	}
	ck_assert_uint_eq(k8s_store_size(s), 3000);
	put(s, pod("odd", "p7", "u7-new", "2", "changed"));
	ck_assert_uint_eq(k8s_store_size(s), 3000);
	for (int i = 0; i < 3000; i += 3) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_assert(k8s_store_delete(s, i % 2 ? "odd" : "even", name));
	}
	ck_assert(!k8s_store_delete(s, "even", "p0"));
	ck_assert_uint_eq(k8s_store_size(s), 2000);
	for (int i = 0; i < 3000; i++) {
		struct k8s_pod *p;

		snprintf(name, sizeof(name), "p%d", i);
		p = k8s_store_get_pod(s, i % 2 ? "odd" : "even", name);
		ck_assert_msg((p != NULL) == (i % 3 != 0), "p%d: cached %d", i, p != NULL);
		if (p && i == 7) {
			ck_assert_str_eq(p->uid, "u7-new");
			ck_assert_str_eq(p->networks, "changed");
		} else if (p) {
			ck_assert_str_eq(p->networks, name);
		}
		free(p);
	}
	/* the same name in another namespace is another object */
	ck_assert_ptr_null(k8s_store_get_pod(s, "odd", "p2"));
	k8s_store_free(s);
}
END_TEST

START_TEST(relist_removes_what_the_list_no_longer_has)
{
	struct k8s_store *s = store(K8S_KIND_NAD);
	struct k8s_nad *n;

	put(s, nad("ns", "keep", "1", NULL));
	put(s, nad("ns", "gone", "2", NULL));
	put(s, nad("ns", "changed", "3", NULL));
	ck_assert(!k8s_store_synced(s));
	k8s_store_relist_begin(s);
	put(s, nad("ns", "keep", "1", NULL));
	put(s, nad("ns", "changed", "5", "r/x"));
	put(s, nad("ns", "new", "6", NULL));
	/* nothing disappears before the list is complete */
	ck_assert_uint_eq(k8s_store_size(s), 4);
	ck_assert_uint_eq(k8s_store_relist_end(s), 1);
	ck_assert(k8s_store_synced(s));
	ck_assert_uint_eq(k8s_store_size(s), 3);
	ck_assert_ptr_null(k8s_store_get_nad(s, "ns", "gone"));
	n = k8s_store_get_nad(s, "ns", "changed");
	ck_assert_str_eq(n->resource_name, "r/x");
	free(n);
	/* a list that fails half-way removes nothing */
	k8s_store_relist_begin(s);
	put(s, nad("ns", "keep", "1", NULL));
	k8s_store_relist_abort(s);
	ck_assert_uint_eq(k8s_store_size(s), 3);
	k8s_store_relist_begin(s);
	ck_assert_uint_eq(k8s_store_relist_end(s), 3);
	ck_assert_uint_eq(k8s_store_size(s), 0);
	k8s_store_free(s);
}
END_TEST

struct later {
	struct k8s_store *s;
	long delay_ms;
	cJSON *obj;		       /* put after delay_ms, or */
	const char *del_ns, *del_name; /* deleted, or */
	bool relist;		       /* an empty re-list (sets synced) */
};

static void *do_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { l->delay_ms / 1000, (l->delay_ms % 1000) * 1000000 };
	struct cni_err err = { 0 };

	nanosleep(&ts, NULL);
	if (l->obj && k8s_store_put(l->s, l->obj, &err) < 0)
		abort();
	if (l->del_name)
		k8s_store_delete(l->s, l->del_ns, l->del_name);
	if (l->relist) {
		k8s_store_relist_begin(l->s);
		k8s_store_relist_end(l->s);
	}
	cJSON_Delete(l->obj);
	return NULL;
}

START_TEST(wait_for_a_pod_wakes_when_it_is_put)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	struct later l = { .s = s, .delay_ms = 200, .obj = pod("ns", "late", "u2", "3", "n") };
	struct k8s_pod *p = NULL;
	pthread_t t;
	long t0;

	put(s, pod("ns", "late", "u1", "1", "old")); /* same name, the previous pod's UID */
	ck_assert_int_eq(pthread_create(&t, NULL, do_later, &l), 0);
	t0 = now_ms();
	ck_assert_int_eq(k8s_store_wait_pod(s, "ns", "late", "u2", 10000, &p), 0);
	ck_assert_int_lt(now_ms() - t0, 5000);
	ck_assert_str_eq(p->uid, "u2");
	free(p);
	pthread_join(t, NULL);
	k8s_store_free(s);
}
END_TEST

START_TEST(wait_for_a_pod_times_out_with_what_is_cached)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	struct k8s_pod *p = NULL;
	long t0 = now_ms();

	ck_assert_int_eq(k8s_store_wait_pod(s, "ns", "none", NULL, 150, &p), -ETIMEDOUT);
	ck_assert_ptr_null(p);
	ck_assert_int_ge(now_ms() - t0, 140);
	put(s, pod("ns", "other", "u1", "1", "n"));
	ck_assert_int_eq(k8s_store_wait_pod(s, "ns", "other", "u2", 100, &p), -ETIMEDOUT);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->uid, "u1");
	free(p);
	ck_assert_int_eq(k8s_store_wait_pod(s, "ns", "other", "", 0, &p), 0);
	free(p);
	k8s_store_free(s);
}
END_TEST

START_TEST(wait_for_a_change_wakes_on_update_and_delete)
{
	struct k8s_store *s = store(K8S_KIND_NAD);
	struct later upd = { .s = s, .delay_ms = 100, .obj = nad("ns", "n", "2", NULL) };
	struct later del = { .s = s, .delay_ms = 100, .del_ns = "ns", .del_name = "n" };
	pthread_t t;
	long t0;

	put(s, nad("ns", "n", "1", NULL));
	ck_assert_int_eq(k8s_store_wait_change(s, "ns", "n", "1", 50), -ETIMEDOUT);
	ck_assert_int_eq(pthread_create(&t, NULL, do_later, &upd), 0);
	t0 = now_ms();
	ck_assert_int_eq(k8s_store_wait_change(s, "ns", "n", "1", 10000), 1);
	ck_assert_int_lt(now_ms() - t0, 5000);
	pthread_join(t, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, do_later, &del), 0);
	ck_assert_int_eq(k8s_store_wait_change(s, "ns", "n", "2", 10000), 0);
	pthread_join(t, NULL);
	k8s_store_free(s);
}
END_TEST

START_TEST(wait_for_sync_wakes_on_the_first_list)
{
	struct k8s_store *s = store(K8S_KIND_POD);
	struct later l = { .s = s, .delay_ms = 100, .relist = true };
	pthread_t t;

	ck_assert(!k8s_store_wait_synced(s, 30));
	ck_assert_int_eq(pthread_create(&t, NULL, do_later, &l), 0);
	ck_assert(k8s_store_wait_synced(s, 10000));
	pthread_join(t, NULL);
	k8s_store_free(s);
}
END_TEST

/* The figures for docs/DESIGN.md: heap bytes per cached object (mallinfo2 before and after
 * 1000 puts), printed; the only assertion is a generous sanity bound. */
START_TEST(memory_per_cached_pod_and_nad)
{
	struct k8s_store *pods = store(K8S_KIND_POD), *nads = store(K8S_KIND_NAD);
	char name[32], uid[48];
	size_t before, per_pod, per_nad;

	before = mallinfo2().uordblks;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "web-5d8f7c9b4-%05d", i);
		snprintf(uid, sizeof(uid), "6f1c7b0e-0000-4000-8000-%012d", i);
		put(pods, pod("production", name, uid, "123456789", "sriov-a,sriov-b@net2"));
	}
	per_pod = (mallinfo2().uordblks - before) / 1000;
	before = mallinfo2().uordblks;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "sriov-net-%04d", i);
		put(nads, nad("production", name, "123456789", "intel.com/sriov_netdevice"));
	}
	per_nad = (mallinfo2().uordblks - before) / 1000;
	printf("store memory: %zu bytes per cached pod, %zu bytes per cached NAD "
	       "(1000 each, heap in use, table included)\n",
	       per_pod, per_nad);
	ck_assert_uint_lt(per_pod, 4096);
	ck_assert_uint_lt(per_nad, 4096);
	k8s_store_free(pods);
	k8s_store_free(nads);
}
END_TEST

/* A ResourceClaim as the API returns it, allocated to node (NULL: no nodeSelector) with the
 * device dev of pool "node-1" of driver sriov.dra.example.com. */
static cJSON *claim(const char *ns, const char *name, const char *rv, const char *node,
		    const char *dev)
{
	char text[2048], sel[300] = "";

	if (node)
		snprintf(sel, sizeof(sel),
			 "\"nodeSelector\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":"
			 "\"metadata.name\",\"operator\":\"In\",\"values\":[\"%s\"]}]}]},",
			 node);
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"resource.k8s.io/v1\",\"kind\":\"ResourceClaim\","
		 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"c-%s\","
		 "\"resourceVersion\":\"%s\",\"generateName\":\"web-vf-\","
		 "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"web\","
		 "\"uid\":\"p\"}]},\"spec\":{\"devices\":{\"requests\":[{\"name\":\"vf\","
		 "\"exactly\":{\"deviceClassName\":\"sriov-vf\",\"allocationMode\":\"ExactCount\","
		 "\"count\":1}}]}},\"status\":{\"allocation\":{%s\"devices\":{\"results\":[{"
		 "\"request\":\"vf\",\"driver\":\"sriov.dra.example.com\",\"pool\":\"node-1\","
		 "\"device\":\"%s\",\"adminAccess\":null}],\"config\":[{\"source\":\"FromClass\","
		 "\"requests\":[\"vf\"],\"opaque\":{\"driver\":\"sriov.dra.example.com\","
		 "\"parameters\":{\"vlan\":100}}}]}},\"reservedFor\":[{\"resource\":\"pods\","
		 "\"name\":\"web\",\"uid\":\"p\"}]}}",
		 name, ns, name, rv, sel, dev);
	return json(text);
}

/* A ResourceSlice of node-1 with two VFs (both attributes each) and a GPU without them. */
static cJSON *slice(const char *name, const char *driver, const char *rv)
{
	char text[3072];

	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"resource.k8s.io/v1\",\"kind\":\"ResourceSlice\","
		 "\"metadata\":{\"name\":\"%s\",\"uid\":\"s\",\"resourceVersion\":\"%s\","
		 "\"generateName\":\"node-1-sriov-\",\"ownerReferences\":[{\"apiVersion\":\"v1\","
		 "\"kind\":\"Node\",\"name\":\"node-1\",\"uid\":\"n\"}]},\"spec\":{\"driver\":"
		 "\"%s\",\"nodeName\":\"node-1\",\"pool\":{\"name\":\"node-1\",\"generation\":1,"
		 "\"resourceSliceCount\":1},\"devices\":["
		 "{\"name\":\"vf-0\",\"attributes\":{\"k8s.cni.cncf.io/resourceName\":{\"string\":"
		 "\"intel.com/sriov\"},\"k8s.cni.cncf.io/deviceID\":{\"string\":\"0000:03:10.0\"},"
		 "\"sriov.dra.example.com/pfName\":{\"string\":\"enp3s0f0\"},"
		 "\"sriov.dra.example.com/vfIndex\":{\"int\":0}},\"capacity\":{\"bandwidth\":"
		 "{\"value\":\"10G\"}}},"
		 "{\"name\":\"vf-1\",\"attributes\":{\"k8s.cni.cncf.io/resourceName\":{\"string\":"
		 "\"intel.com/sriov\"},\"k8s.cni.cncf.io/deviceID\":{\"string\":\"0000:03:10.2\"},"
		 "\"sriov.dra.example.com/pfName\":{\"string\":\"enp3s0f0\"}}},"
		 "{\"name\":\"gpu-0\",\"attributes\":{\"model\":{\"string\":\"a100\"}}}]}}",
		 name, rv, driver);
	return json(text);
}

/* What k8s/dra reads of a claim and the driver's slices: "claim/request/pool/device=id ..." */
static char *dra_reading(const cJSON *c, const cJSON *slice_list)
{
	struct k8s_dra_claim_ref ref = { .name = "web-vf" };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	char *out = calloc(1, 1024);

	ck_assert_msg(k8s_dra_add_claim(&d, "ns", &ref, c, &err) == 0, "%s", err.msg);
	ck_assert_msg(k8s_dra_add_slices(&d, "sriov.dra.example.com", "node-1", slice_list, &err) ==
			  0,
		      "%s", err.msg);
	ck_assert_int_eq(k8s_dra_resolve(&d, "ns", &err), 0);
	for (size_t i = 0; i < d.n; i++)
		snprintf(out + strlen(out), 1024 - strlen(out), "%s/%s/%s/%s=%s:%s ",
			 d.dev[i].claim, d.dev[i].request, d.dev[i].pool, d.dev[i].device,
			 d.dev[i].resource ? d.dev[i].resource : "-",
			 d.dev[i].id ? d.dev[i].id : "-");
	k8s_dra_free(&d);
	return out;
}

START_TEST(claim_and_slice_are_trimmed_and_read_by_dra_as_the_originals)
{
	cJSON *c = claim("ns", "web-vf", "11", "node-1", "vf-1"),
	      *s = slice("sl", "sriov.dra.example.com", "12");
	cJSON *list = json("{\"items\":[]}"), *back_c, *back_list = json("{\"items\":[]}");
	struct cni_err err = { 0 };
	struct k8s_claim *rc = k8s_claim_from_json(c, &err);
	struct k8s_slice *rs = k8s_slice_from_json(s, &err);
	char *want, *got;

	ck_assert_msg(rc && rs, "%s", err.msg);
	ck_assert_str_eq(rc->results, "[{\"request\":\"vf\",\"driver\":\"sriov.dra.example.com\","
				      "\"pool\":\"node-1\",\"device\":\"vf-1\"}]");
	ck_assert_str_eq(rs->namespace, "");
	ck_assert_str_eq(rs->driver, "sriov.dra.example.com");
	ck_assert_str_eq(rs->node, "node-1");
	ck_assert_str_eq(rs->pool, "node-1");
	ck_assert_ptr_null(strstr(rs->devices, "gpu-0")); /* neither attribute: dropped */
	ck_assert_ptr_null(strstr(rs->devices, "pfName"));
	ck_assert_ptr_nonnull(strstr(rs->devices, "0000:03:10.2"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(list, "items"), cJSON_Duplicate(s, true));
	back_c = k8s_claim_to_json(rc);
	cJSON_AddItemToArray(cJSON_GetObjectItem(back_list, "items"), k8s_slice_to_json(rs));
	want = dra_reading(c, list);
	got = dra_reading(back_c, back_list);
	ck_assert_str_eq(want, "web-vf/vf/node-1/vf-1=intel.com/sriov:0000:03:10.2 ");
	ck_assert_str_eq(got, want);
	free(want);
	free(got);
	free(rc);
	free(rs);
	cJSON_Delete(c);
	cJSON_Delete(s);
	cJSON_Delete(list);
	cJSON_Delete(back_c);
	cJSON_Delete(back_list);
}
END_TEST

START_TEST(malformed_slice_is_refused_as_dra_would_refuse_it)
{
	cJSON *s = json("{\"metadata\":{\"name\":\"sl\",\"resourceVersion\":\"1\"},\"spec\":{"
			"\"driver\":\"d\",\"pool\":{\"name\":\"p\"},\"devices\":{}}}");
	struct cni_err err = { 0 };

	ck_assert_ptr_null(k8s_slice_from_json(s, &err));
	ck_assert_int_eq(err.code, CNI_ERR_DECODE);
	ck_assert_str_eq(err.msg, "resourceslice: no spec.driver, spec.pool.name or spec.devices");
	cni_err_clear(&err);
	cJSON_Delete(s);
}
END_TEST

START_TEST(claim_store_of_a_node_keeps_only_claims_allocated_to_it)
{
	struct k8s_store *s = store(K8S_KIND_CLAIM);
	struct k8s_claim *c;

	ck_assert_int_eq(k8s_store_set_node(s, "node-1"), 0);
	put(s, claim("ns", "mine", "1", "node-1", "vf-0"));
	put(s, claim("ns", "other", "2", "node-2", "vf-0"));
	put(s, claim("ns", "unallocated", "3", NULL, "vf-0"));
	ck_assert_uint_eq(k8s_store_size(s), 1);
	c = k8s_store_get_claim(s, "ns", "mine");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->resource_version, "1");
	free(c);
	ck_assert_ptr_null(k8s_store_get_claim(s, "ns", "other"));
	ck_assert_int_eq(errno, ENOENT);
	/* deallocated (or moved): the claim's next version removes it */
	put(s, claim("ns", "mine", "4", NULL, "vf-0"));
	ck_assert_uint_eq(k8s_store_size(s), 0);
	ck_assert_ptr_null(k8s_store_get_pod(s, "ns", "mine"));
	ck_assert_int_eq(errno, EINVAL);
	k8s_store_free(s);
}
END_TEST

START_TEST(slice_list_holds_the_slices_of_one_driver)
{
	struct k8s_store *s = store(K8S_KIND_SLICE);
	size_t n = 9;
	cJSON *l;

	ck_assert_int_eq(k8s_store_set_node(s, "node-1"), -EINVAL);
	put(s, slice("a", "sriov.dra.example.com", "1"));
	put(s, slice("b", "gpu.example.com", "2"));
	put(s, slice("c", "sriov.dra.example.com", "3"));
	l = k8s_store_slice_list(s, "sriov.dra.example.com", &n);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 2);
	cJSON_Delete(l);
	l = k8s_store_slice_list(s, "none.example.com", &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(l, "items")), 0);
	cJSON_Delete(l);
	ck_assert_int_eq(k8s_store_wait_change(s, "", "a", "0", 0), 1); /* rv of a slice read */
	k8s_store_free(s);
}
END_TEST

/* Bytes per cached claim and slice, as memory_per_cached_pod_and_nad. */
START_TEST(memory_per_cached_claim_and_slice)
{
	struct k8s_store *claims = store(K8S_KIND_CLAIM), *slices = store(K8S_KIND_SLICE);
	char name[48];
	size_t before, per_claim, per_slice;

	ck_assert_int_eq(k8s_store_set_node(claims, "node-1"), 0);
	before = mallinfo2().uordblks;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "web-5d8f7c9b4-%05d-vf-x7k2p", i);
		put(claims, claim("production", name, "123456789", "node-1", "vf-0"));
	}
	per_claim = (mallinfo2().uordblks - before) / 1000;
	before = mallinfo2().uordblks;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "node-1-sriov.dra.example.com-%05d", i);
		put(slices, slice(name, "sriov.dra.example.com", "123456789"));
	}
	per_slice = (mallinfo2().uordblks - before) / 1000;
	printf("store memory: %zu bytes per cached ResourceClaim (one device), %zu bytes per "
	       "cached ResourceSlice (two VFs kept of three devices) (1000 each, heap in use, "
	       "table included)\n",
	       per_claim, per_slice);
	ck_assert_uint_lt(per_claim, 4096);
	ck_assert_uint_lt(per_slice, 4096);
	k8s_store_free(claims);
	k8s_store_free(slices);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_store");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, pod_is_trimmed_to_what_plexus_reads);
	tcase_add_test(tc, pod_without_optional_fields_has_nulls_and_an_empty_node);
	tcase_add_test(tc, nad_keeps_config_bytes_and_resource_name);
	tcase_add_test(tc, rebuilt_objects_read_as_the_originals);
	tcase_add_test(tc, objects_without_identity_are_refused);
	tcase_add_test(tc, get_returns_a_copy_that_outlives_changes);
	tcase_add_test(tc, put_replaces_and_delete_removes_among_many);
	tcase_add_test(tc, wait_any_wakes_on_a_change_and_list_copies_every_pod);
	tcase_add_test(tc, relist_removes_what_the_list_no_longer_has);
	tcase_add_test(tc, wait_for_a_pod_wakes_when_it_is_put);
	tcase_add_test(tc, wait_for_a_pod_times_out_with_what_is_cached);
	tcase_add_test(tc, wait_for_a_change_wakes_on_update_and_delete);
	tcase_add_test(tc, wait_for_sync_wakes_on_the_first_list);
	tcase_add_test(tc, memory_per_cached_pod_and_nad);
	tcase_add_test(tc, claim_and_slice_are_trimmed_and_read_by_dra_as_the_originals);
	tcase_add_test(tc, malformed_slice_is_refused_as_dra_would_refuse_it);
	tcase_add_test(tc, claim_store_of_a_node_keeps_only_claims_allocated_to_it);
	tcase_add_test(tc, slice_list_holds_the_slices_of_one_driver);
	tcase_add_test(tc, memory_per_cached_claim_and_slice);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

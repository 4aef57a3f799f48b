/* test/unit/test_meta_kubecache.c: meta/kube with a daemon's watch caches (meta_kube_set_cache):
 * a pod cached with the runtime's UID costs no API request; one that is not there yet is
 * awaited on the store (woken by a put, not a poll), then fetched live once; a UID mismatch
 * always goes to a live GET; an unsynced cache is never read; a NAD missing from the cache is
 * fetched live; a ResourceClaim and a driver's ResourceSlices likewise (meta/dra). The stores
 * are filled by hand; the API is the kube-apiserver stand-in (test/stand-ins/apiserver.py),
 * whose request log is the oracle for "no request". The cached objects differ on purpose from
 * the API's, so each answer shows where it came from. */
#include <pthread.h>
#include <time.h>

#include "k8s/objects.h"
#include "k8s/selection.h"
#include "k8s/store.h"
#include "meta/dra.h"
#include "meta/kube.h"
#include "meta/netconf.h"
#include "test/unit/unit.h"

#define API_UID	     "6f1c7b0e-0000-4000-8000-000000000001" /* pod ns1/p1 in the stand-in */
#define API_NETWORKS "net-a,net-b@eth9"

static char dir[64];
static char server[64];
static pid_t standin = -1;

static struct meta_kube_cache cache;
static struct meta_kube k;
static struct cni_err err;

static void standin_start(void)
{
	standin = unit_apiserver("apiserver-fixture.json", "kcache", dir, sizeof(dir), server,
				 sizeof(server));
}

static void standin_stop(void)
{
	unit_standin_stop(standin);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* GETs the stand-in has served since the last setup. */
static int gets(void)
{
	cJSON *log = unit_api_control(dir, server, "GET", "/_standin/requests", NULL), *e;
	int n = 0;

	cJSON_ArrayForEach(e, log)
	{
		n += strcmp(cJSON_GetObjectItem(e, "method")->valuestring, "GET") == 0;
	}
	cJSON_Delete(log);
	return n;
}

static void put(struct k8s_store *s, const char *text)
{
	cJSON *o = cJSON_Parse(text);

	ck_assert_ptr_nonnull(o);
	ck_assert_msg(k8s_store_put(s, o, &err) == 0, "%s", err.msg);
	cJSON_Delete(o);
}

static void put_pod(const char *uid, const char *networks)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p1\",\"uid\":\"%s\","
		 "\"resourceVersion\":\"5\",\"annotations\":{\"" K8S_ANNOT_NETWORKS "\":\"%s\"}},"
		 "\"spec\":{\"nodeName\":\"node-1\"}}",
		 uid, networks);
	put(cache.pods, text);
}

static void sync_store(struct k8s_store *s)
{
	k8s_store_relist_begin(s);
	k8s_store_relist_end(s);
}

static void setup(void)
{
	struct k8s_creds c;

	memset(&err, 0, sizeof(err));
	memset(&cache, 0, sizeof(cache));
	cache.pods = k8s_store_new(K8S_KIND_POD, &err);
	cache.nads = k8s_store_new(K8S_KIND_NAD, &err);
	ck_assert_ptr_nonnull(cache.pods);
	ck_assert_ptr_nonnull(cache.nads);
	cache.pod_wait_ms = 300;
	meta_kube_set_cache(&cache);
	memset(&k, 0, sizeof(k));
	unit_api_creds(dir, server, "good-token", &c);
	k.client = k8s_client_new(&c, NULL, &err);
	k8s_creds_free(&c);
	ck_assert_ptr_nonnull(k.client);
	k.nads = cJSON_CreateObject();
	cJSON_Delete(unit_api_control(dir, server, "POST", "/_standin/reset-log", "{}"));
}

static void teardown(void)
{
	meta_kube_set_cache(NULL);
	meta_kube_close(&k);
	k8s_store_free(cache.pods);
	k8s_store_free(cache.nads);
	cni_err_clear(&err);
}

static const struct meta_k8s_args args = { "ns1", "p1", API_UID, "sandbox-1" };

static const char *networks(void)
{
	return k8s_object_annotation(k.pod, K8S_ANNOT_NETWORKS);
}

START_TEST(cached_pod_with_the_runtimes_uid_makes_no_request)
{
	sync_store(cache.pods);
	put_pod(API_UID, "from-cache");
	ck_assert_int_eq(meta_kube_get_pod(&k, &args, true, &err), 1);
	ck_assert_str_eq(networks(), "from-cache");
	ck_assert_str_eq(k8s_object_meta(k.pod, "uid"), API_UID);
	ck_assert_int_eq(gets(), 0);
	ck_assert_uint_eq(cache.pods_by[META_POD_CACHED], 1);
}
END_TEST

struct later {
	long ms;
};

static void *put_later(void *arg)
{
	struct later *l = arg;
	struct timespec ts = { l->ms / 1000, (l->ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
	put_pod(API_UID, "from-the-watch");
	return NULL;
}

START_TEST(pod_put_while_an_add_waits_is_taken_from_the_store)
{
	struct later l = { 200 };
	pthread_t t;

	cache.pod_wait_ms = 10000;
	sync_store(cache.pods);
	ck_assert_int_eq(pthread_create(&t, NULL, put_later, &l), 0);
	ck_assert_int_eq(meta_kube_get_pod(&k, &args, true, &err), 1);
	pthread_join(t, NULL);
	ck_assert_str_eq(networks(), "from-the-watch");
	ck_assert_int_eq(gets(), 0);
	ck_assert_uint_eq(cache.pods_by[META_POD_CACHED_AFTER_WAIT], 1);
}
END_TEST

START_TEST(uid_mismatch_waits_then_asks_the_api)
{
	sync_store(cache.pods);
	put_pod("an-older-pod-of-that-name", "stale");
	ck_assert_int_eq(meta_kube_get_pod(&k, &args, true, &err), 1);
	ck_assert_str_eq(networks(), API_NETWORKS);
	ck_assert_int_eq(gets(), 1);
	ck_assert_uint_eq(cache.pods_by[META_POD_LIVE_UID_MISMATCH], 1);
	ck_assert_uint_eq(cache.pods_by[META_POD_CACHED], 0);
}
END_TEST

START_TEST(pod_not_cached_is_fetched_live_and_del_does_not_wait)
{
	struct timespec t0, t1;

	/* wait false (a DEL without cache) must not sit out pod_wait_ms */
	cache.pod_wait_ms = 60000;
	sync_store(cache.pods);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(meta_kube_get_pod(&k, &args, false, &err), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 30);
	ck_assert_str_eq(networks(), API_NETWORKS);
	ck_assert_int_eq(gets(), 1);
	ck_assert_uint_eq(cache.pods_by[META_POD_LIVE_NOT_CACHED], 1);
}
END_TEST

START_TEST(pod_absent_from_cache_and_api_is_gone)
{
	const struct meta_k8s_args ghost = { "ns1", "ghost", "u", "sandbox-1" };

	sync_store(cache.pods);
	ck_assert_int_eq(meta_kube_get_pod(&k, &ghost, true, &err), 0);
	ck_assert_ptr_null(k.pod);
	ck_assert_int_eq(gets(), 1);
	ck_assert_uint_eq(cache.pods_by[META_POD_LIVE_NOT_CACHED], 1);
}
END_TEST

START_TEST(unsynced_cache_is_not_read)
{
	/* what an unsynced cache holds may be a part of the truth: the API answers */
	put_pod(API_UID, "half-listed");
	ck_assert_int_eq(meta_kube_get_pod(&k, &args, true, &err), 1);
	ck_assert_str_eq(networks(), API_NETWORKS);
	ck_assert_int_eq(gets(), 1);
	ck_assert_uint_eq(cache.pods_by[META_POD_LIVE_UNSYNCED], 1);
}
END_TEST

START_TEST(cached_nad_makes_no_request_and_a_missing_one_is_fetched_live)
{
	struct k8s_nad_config out;

	sync_store(cache.nads);
	put(cache.nads, "{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"net-a\","
			"\"resourceVersion\":\"3\",\"annotations\":{\"" K8S_ANNOT_RESOURCE_NAME
			"\":\"example.com/cached\"}},\"spec\":{\"config\":\"{\\\"cniVersion\\\":"
			"\\\"1.0.0\\\",\\\"type\\\":\\\"bridge\\\"}\"}}");
	ck_assert_int_eq(meta_kube_nad(&k, "ns1", "net-a", "/nonexistent", &out, &err), 1);
	/* the API's net-a is an sriov network: this one came from the cache */
	ck_assert_json_eq(out.config,
			  "{\"cniVersion\":\"1.0.0\",\"name\":\"net-a\",\"type\":\"bridge\"}");
	ck_assert_str_eq(out.resource_name, "example.com/cached");
	k8s_nad_config_free(&out);
	ck_assert_int_eq(gets(), 0);
	/* not cached: one live GET, and the API does not know it either */
	ck_assert_int_eq(meta_kube_nad(&k, "ns1", "net-zz", "/nonexistent", &out, &err), 0);
	ck_assert_ptr_nonnull(
	    strstr(err.msg, "cannot find a network-attachment-definition (net-zz)"));
	cni_err_clear(&err);
	/* asked again in the same call: remembered, no second request */
	ck_assert_int_eq(meta_kube_nad(&k, "ns1", "net-zz", "/nonexistent", &out, &err), 0);
	ck_assert_int_eq(gets(), 1);
	ck_assert_uint_eq(cache.nads_by[META_NAD_CACHED], 1);
	ck_assert_uint_eq(cache.nads_by[META_NAD_LIVE], 1);
}
END_TEST

/* With the pool on, the next open with the same credentials gets the same client back, and so
 * the same connection (the stand-in numbers connections); other credentials get another. */
START_TEST(pooled_clients_keep_their_connection_for_the_same_credentials)
{
	struct meta_netconf nc = { 0 };
	struct meta_kube a, b;
	cJSON *log, *e;
	double conn[2];
	int n = 0;
	char kc[128];
	FILE *f;

	snprintf(kc, sizeof(kc), "%s/kubeconfig", dir);
	f = fopen(kc, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(
	    f,
	    "apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  "
	    "context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: {server: \"%s\", "
	    "certificate-authority: %s/ca.crt}\nusers:\n- name: u\n  user: {token: good-token}\n",
	    server, dir);
	fclose(f);
	nc.kubeconfig = kc;
	meta_kube_pool(true);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(meta_kube_open(&a, &nc, NULL, &err), 0);
		ck_assert_int_eq(meta_kube_get_pod(&a, &args, false, &err), 1);
		if (i == 1)
			ck_assert_ptr_eq(a.client, b.client);
		b.client = a.client;
		meta_kube_close(&a);
	}
	log = unit_api_control(dir, server, "GET", "/_standin/requests", NULL);
	cJSON_ArrayForEach(e, log)
	{
		if (n < 2)
			conn[n] = cJSON_GetObjectItem(e, "conn")->valuedouble;
		n++;
	}
	cJSON_Delete(log);
	ck_assert_int_eq(n, 2);
	ck_assert_double_eq(conn[0], conn[1]);
	meta_kube_pool(false);
}
END_TEST

/* -- meta/dra with the claim and slice caches (meta_dra_load's cache): a claim and a driver's
 * slices in synced stores cost no request; a claim missing from its store is fetched live, a
 * driver with no cached slice is listed live, an unsynced store is never read, each counted.
 * The cached slice gives another deviceID than the API's, so each answer shows its source. */
#define DRIVER	  "sriov.dra.example.com"
#define RESOURCE  "intel.com/sriov"
#define API_ID	  "0000:03:10.2"
#define CACHED_ID "0000:07:00.4"
#define NODE	  "node-1"
#define SELECTOR                                                                                   \
	"\"nodeSelector\":{\"nodeSelectorTerms\":[{\"matchFields\":[{\"key\":"                     \
	"\"metadata.name\",\"operator\":\"In\",\"values\":[\"" NODE "\"]}]}]},"
#define CLAIM(rv)                                                                                  \
	"{\"apiVersion\":\"resource.k8s.io/v1\",\"kind\":\"ResourceClaim\",\"metadata\":{"         \
	"\"namespace\":\"ns1\",\"name\":\"p1-vf\",\"resourceVersion\":\"" rv "\"},"                \
	"\"status\":{\"allocation\":{" SELECTOR "\"devices\":{\"results\":[{\"request\":\"vf\","   \
	"\"driver\":\"" DRIVER "\",\"pool\":\"" NODE "\",\"device\":\"vf-1\"}]}}}}"
#define SLICE(name, driver, id)                                                                    \
	"{\"apiVersion\":\"resource.k8s.io/v1\",\"kind\":\"ResourceSlice\",\"metadata\":{"         \
	"\"name\":\"" name "\",\"resourceVersion\":\"7\"},\"spec\":{\"driver\":\"" driver "\","    \
	"\"nodeName\":\"" NODE "\",\"pool\":{\"name\":\"" NODE "\"},\"devices\":[{\"name\":"       \
	"\"vf-1\",\"attributes\":{\"k8s.cni.cncf.io/resourceName\":{\"string\":\"" RESOURCE        \
	"\"},\"k8s.cni.cncf.io/deviceID\":{\"string\":\"" id "\"}}}]}}"

static struct k8s_devmap *devices;
static struct k8s_dra dra;
static cJSON *pod;

static void dra_standin_start(void)
{
	standin_start();
	cJSON_Delete(unit_api_control(dir, server, "POST", "/_standin/objects",
				      "[" CLAIM("1") "," SLICE("n1-sriov", DRIVER, API_ID) "]"));
}

static void dra_setup(void)
{
	setup();
	cache.claims = k8s_store_new(K8S_KIND_CLAIM, &err);
	cache.slices = k8s_store_new(K8S_KIND_SLICE, &err);
	ck_assert_ptr_nonnull(cache.claims);
	ck_assert_ptr_nonnull(cache.slices);
	ck_assert_int_eq(k8s_store_set_node(cache.claims, NODE), 0);
	devices = calloc(1, sizeof(*devices));
	ck_assert_ptr_nonnull(devices);
	memset(&dra, 0, sizeof(dra));
	pod = cJSON_Parse("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p1\"},\"spec\":{"
			  "\"nodeName\":\"" NODE "\"},\"status\":{\"resourceClaimStatuses\":[{"
			  "\"name\":\"vf\",\"resourceClaimName\":\"p1-vf\"}]}}");
	ck_assert_ptr_nonnull(pod);
}

static void dra_teardown(void)
{
	k8s_store_free(cache.claims);
	k8s_store_free(cache.slices);
	k8s_dra_free(&dra);
	k8s_devmap_free(devices);
	cJSON_Delete(pod);
	teardown();
}

/* The one device ID meta_dra_load gave RESOURCE. */
static const char *device_id(void)
{
	const struct k8s_devres *r = k8s_devmap_find(devices, RESOURCE);

	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->nids, 1);
	return r->ids[0];
}

START_TEST(cached_claim_and_slices_make_no_request)
{
	sync_store(cache.claims);
	sync_store(cache.slices);
	put(cache.claims, CLAIM("1"));
	put(cache.slices, SLICE("n1-sriov", DRIVER, CACHED_ID));
	ck_assert_msg(meta_dra_load(k.client, &cache, pod, devices, &dra, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(device_id(), CACHED_ID);
	ck_assert_int_eq(gets(), 0);
	ck_assert_uint_eq(cache.claims_by[META_DRA_CACHED], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_CACHED], 1);
	ck_assert_uint_eq(cache.claims_by[META_DRA_LIVE] + cache.slices_by[META_DRA_LIVE], 0);
}
END_TEST

START_TEST(claim_missing_from_the_cache_is_fetched_live)
{
	sync_store(cache.claims);
	sync_store(cache.slices);
	put(cache.slices, SLICE("n1-sriov", DRIVER, CACHED_ID));
	ck_assert_msg(meta_dra_load(k.client, &cache, pod, devices, &dra, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(device_id(), CACHED_ID);
	ck_assert_int_eq(gets(), 1); /* the claim's GET */
	ck_assert_uint_eq(cache.claims_by[META_DRA_LIVE], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_CACHED], 1);
}
END_TEST

START_TEST(driver_without_a_cached_slice_is_listed_live)
{
	sync_store(cache.claims);
	sync_store(cache.slices);
	put(cache.claims, CLAIM("1"));
	put(cache.slices, SLICE("n1-gpu", "gpu.example.com", CACHED_ID));
	ck_assert_msg(meta_dra_load(k.client, &cache, pod, devices, &dra, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(gets(), 1); /* the slices' LIST */
	ck_assert_uint_eq(cache.claims_by[META_DRA_CACHED], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_LIVE], 1);
}
END_TEST

START_TEST(unsynced_stores_are_not_read)
{
	put(cache.claims, CLAIM("1"));
	put(cache.slices, SLICE("n1-sriov", DRIVER, CACHED_ID));
	ck_assert_msg(meta_dra_load(k.client, &cache, pod, devices, &dra, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(gets(), 2);
	ck_assert_uint_eq(cache.claims_by[META_DRA_LIVE], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_LIVE], 1);
}
END_TEST

START_TEST(without_a_cache_everything_is_fetched_live)
{
	ck_assert_msg(meta_dra_load(k.client, NULL, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(gets(), 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("meta_kubecache");
	TCase *tc = tcase_create("kubecache");

	tcase_add_unchecked_fixture(tc, standin_start, standin_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cached_pod_with_the_runtimes_uid_makes_no_request);
	tcase_add_test(tc, pod_put_while_an_add_waits_is_taken_from_the_store);
	tcase_add_test(tc, uid_mismatch_waits_then_asks_the_api);
	tcase_add_test(tc, pod_not_cached_is_fetched_live_and_del_does_not_wait);
	tcase_add_test(tc, pod_absent_from_cache_and_api_is_gone);
	tcase_add_test(tc, unsynced_cache_is_not_read);
	tcase_add_test(tc, cached_nad_makes_no_request_and_a_missing_one_is_fetched_live);
	tcase_add_test(tc, pooled_clients_keep_their_connection_for_the_same_credentials);
	suite_add_tcase(s, tc);
	tc = tcase_create("dracache");
	tcase_add_unchecked_fixture(tc, dra_standin_start, standin_stop);
	tcase_add_checked_fixture(tc, dra_setup, dra_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, cached_claim_and_slices_make_no_request);
	tcase_add_test(tc, claim_missing_from_the_cache_is_fetched_live);
	tcase_add_test(tc, driver_without_a_cached_slice_is_listed_live);
	tcase_add_test(tc, unsynced_stores_are_not_read);
	tcase_add_test(tc, without_a_cache_everything_is_fetched_live);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

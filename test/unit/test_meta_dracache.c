/* test/unit/test_meta_dracache.c: meta/dra with a daemon's watch caches (meta_dra_load's
 * cache): a claim and a driver's slices in synced stores cost no API request; a claim missing
 * from its store is fetched live, a driver with no cached slice is listed live, an unsynced
 * store is never read, each counted. The API is the kube-apiserver stand-in, whose request log
 * is the oracle for "no request"; the cached slice gives another deviceID than the API's, so
 * each answer shows where it came from. */
#include "k8s/store.h"
#include "meta/dra.h"
#include "meta/kube.h"
#include "test/unit/unit.h"

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

static char dir[64];
static char server[64];
static pid_t standin = -1;

static struct meta_kube_cache cache;
static struct k8s_client *client;
static struct k8s_devmap *devices;
static struct k8s_dra dra;
static cJSON *pod;
static struct cni_err err;

static void standin_start(void)
{
	standin = unit_apiserver("apiserver-fixture.json", "dracache", dir, sizeof(dir), server,
				 sizeof(server));
	cJSON_Delete(unit_api_control(dir, server, "POST", "/_standin/objects",
				      "[" CLAIM("1") "," SLICE("n1-sriov", DRIVER, API_ID) "]"));
}

static void standin_stop(void)
{
	unit_standin_stop(standin);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Requests the stand-in has served since the last setup. */
static int requests(void)
{
	cJSON *log = unit_api_control(dir, server, "GET", "/_standin/requests", NULL);
	int n = cJSON_GetArraySize(log);

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
	devices = calloc(1, sizeof(*devices));
	ck_assert_ptr_nonnull(devices);
	memset(&dra, 0, sizeof(dra));
	cache.claims = k8s_store_new(K8S_KIND_CLAIM, &err);
	cache.slices = k8s_store_new(K8S_KIND_SLICE, &err);
	ck_assert_ptr_nonnull(cache.claims);
	ck_assert_ptr_nonnull(cache.slices);
	ck_assert_int_eq(k8s_store_set_node(cache.claims, NODE), 0);
	unit_api_creds(dir, server, "good-token", &c);
	client = k8s_client_new(&c, NULL, &err);
	k8s_creds_free(&c);
	ck_assert_ptr_nonnull(client);
	pod = cJSON_Parse("{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"p1\"},\"spec\":{"
			  "\"nodeName\":\"" NODE "\"},\"status\":{\"resourceClaimStatuses\":[{"
			  "\"name\":\"vf\",\"resourceClaimName\":\"p1-vf\"}]}}");
	ck_assert_ptr_nonnull(pod);
	cJSON_Delete(unit_api_control(dir, server, "POST", "/_standin/reset-log", "{}"));
}

static void teardown(void)
{
	k8s_client_free(client);
	k8s_store_free(cache.claims);
	k8s_store_free(cache.slices);
	k8s_dra_free(&dra);
	k8s_devmap_free(devices);
	cJSON_Delete(pod);
	cni_err_clear(&err);
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
	ck_assert_msg(meta_dra_load(client, &cache, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), CACHED_ID);
	ck_assert_int_eq(requests(), 0);
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
	ck_assert_msg(meta_dra_load(client, &cache, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), CACHED_ID);
	ck_assert_int_eq(requests(), 1); /* the claim's GET */
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
	ck_assert_msg(meta_dra_load(client, &cache, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(requests(), 1); /* the slices' LIST */
	ck_assert_uint_eq(cache.claims_by[META_DRA_CACHED], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_LIVE], 1);
}
END_TEST

START_TEST(unsynced_stores_are_not_read)
{
	put(cache.claims, CLAIM("1"));
	put(cache.slices, SLICE("n1-sriov", DRIVER, CACHED_ID));
	ck_assert_msg(meta_dra_load(client, &cache, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(requests(), 2);
	ck_assert_uint_eq(cache.claims_by[META_DRA_LIVE], 1);
	ck_assert_uint_eq(cache.slices_by[META_DRA_LIVE], 1);
}
END_TEST

START_TEST(without_a_cache_everything_is_fetched_live)
{
	ck_assert_msg(meta_dra_load(client, NULL, pod, devices, &dra, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(device_id(), API_ID);
	ck_assert_int_eq(requests(), 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("meta_dracache");
	TCase *tc = tcase_create("dracache");

	tcase_add_unchecked_fixture(tc, standin_start, standin_stop);
	tcase_add_checked_fixture(tc, setup, teardown);
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

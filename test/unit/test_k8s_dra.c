/* test/unit/test_k8s_dra.c: reading a pod's ResourceClaims and its node's ResourceSlices into
 * device IDs per resourceName (k8s/dra.h), as Multus pkg/draclient does; JSON in, map out. */
#include <stdbool.h>

#include "k8s/dra.h"
#include "test/unit/unit.h"
#include "test/unit/unit_devmap.h"

#define DRV "sriovnetwork.k8snetworkplumbingwg.io"
#define GPU "gpu.example.com"

static cJSON *js(const char *text)
{
	char *t = strdup(text), *p;
	cJSON *j;

	ck_assert_ptr_nonnull(t);
	for (p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(t);
	ck_assert_msg(j != NULL, "test JSON does not parse: %s", t);
	free(t);
	return j;
}

/* Fixtures are written with ' for " and turned into JSON by js(). */

/* The node n1's slices: two VFs with both attributes, one without resourceName; a GPU. */
static const char sriov_slices[] =
    "{'kind':'ResourceSliceList','items':[{'spec':{'driver':'" DRV "','nodeName':'n1',"
    "'pool':{'name':'n1'},'devices':["
    "{'name':'vf-0','attributes':{'k8s.cni.cncf.io/resourceName':{'string':'intel.com/vf'},"
    " 'k8s.cni.cncf.io/deviceID':{'string':'0000:00:06.1'}}},"
    "{'name':'vf-1','attributes':{'k8s.cni.cncf.io/resourceName':{'string':'intel.com/vf'},"
    " 'k8s.cni.cncf.io/deviceID':{'string':'0000:00:06.2'}}},"
    "{'name':'vf-2','attributes':{'k8s.cni.cncf.io/deviceID':{'string':'0000:00:06.3'}}}]}}]}";
static const char gpu_slices[] =
    "{'items':[{'spec':{'driver':'" GPU "','pool':{'name':'n1'},'devices':["
    "{'name':'gpu-0','attributes':{'dra.net/numaNode':{'int':0}}}]}}]}";

static const char *result(const char *request, const char *driver, const char *device)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]),
		 "{\"request\":\"%s\",\"driver\":\"%s\",\"pool\":\"n1\",\"device\":\"%s\"}",
		 request, driver, device);
	return buf[i];
}

static cJSON *claim_with(const char *results)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"c1\",\"namespace\":\"ns1\"},"
		 "\"status\":{\"allocation\":{\"devices\":{\"results\":[%s]}}}}",
		 results);
	return js(text);
}

/* Runs the whole parse: claim c1 (with mappings, or none), the slices of each driver. Returns
 * what the last step returned; err keeps its message. */
static int build(struct k8s_dra *d, const char *results, const cJSON *mappings,
		 const char *const *slices, struct cni_err *err)
{
	struct k8s_dra_claim_ref ref = { .name = "c1",
					 .extended = mappings != NULL,
					 .mappings = mappings };
	cJSON *claim = claim_with(results);
	int ret = k8s_dra_add_claim(d, "ns1", &ref, claim, err);

	cJSON_Delete(claim);
	for (size_t i = 0; ret == 0 && i < d->ndrivers; i++) {
		const char *text = strcmp(d->drivers[i], GPU) == 0 ? slices[1] : slices[0];
		cJSON *list = js(text);

		ret = k8s_dra_add_slices(d, d->drivers[i], "n1", list, err);
		cJSON_Delete(list);
	}
	return ret ? ret : k8s_dra_resolve(d, "ns1", err);
}

/* d merged into an empty device map, as "res=id,id;res=id". */
static const char *merged(const struct k8s_dra *d)
{
	struct k8s_devmap *m = calloc(1, sizeof(*m));
	struct cni_err err = { 0 };
	const char *s;

	ck_assert_ptr_nonnull(m);
	ck_assert_msg(k8s_dra_merge(m, d, &err) == 0, "%s", err.msg);
	s = unit_devmap_dump(m);
	k8s_devmap_free(m);
	return s;
}

START_TEST(pod_claims_are_named_once_and_the_extended_claim_carries_its_mappings)
{
	cJSON *pod = js("{\"status\":{\"resourceClaimStatuses\":["
			"{\"name\":\"vf\",\"resourceClaimName\":\"p1-vf\"},"
			"{\"name\":\"none\"},"
			"{\"name\":\"again\",\"resourceClaimName\":\"p1-vf\"},"
			"{\"name\":\"gpu\",\"resourceClaimName\":\"p1-gpu\"}],"
			"\"extendedResourceClaimStatus\":{\"resourceClaimName\":\"p1-ext\","
			"\"requestMappings\":[{\"containerName\":\"c\",\"resourceName\":\"x/y\","
			"\"requestName\":\"r0\"}]}}}");
	struct k8s_dra_claim_ref *refs;
	struct cni_err err = { 0 };
	size_t n;

	ck_assert_int_eq(k8s_dra_pod_claims(pod, &refs, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(refs[0].name, "p1-vf");
	ck_assert(!refs[0].extended);
	ck_assert_ptr_null(refs[0].mappings);
	ck_assert_str_eq(refs[1].name, "p1-gpu");
	ck_assert_str_eq(refs[2].name, "p1-ext");
	ck_assert(refs[2].extended);
	ck_assert_int_eq(cJSON_GetArraySize(refs[2].mappings), 1);
	free(refs);
	cJSON_Delete(pod);
}
END_TEST

START_TEST(pod_without_claims_names_none_and_wrong_types_are_decode_errors)
{
	cJSON *pod = js("{\"status\":{\"phase\":\"Pending\"}}");
	cJSON *bad = js("{\"status\":{\"resourceClaimStatuses\":{}}}");
	struct k8s_dra_claim_ref *refs;
	struct cni_err err = { 0 };
	size_t n;

	ck_assert_int_eq(k8s_dra_pod_claims(pod, &refs, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(refs);
	ck_assert_int_eq(k8s_dra_pod_claims(bad, &refs, &n, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_DECODE);
	ck_assert_ptr_nonnull(strstr(err.msg, "resourceClaimStatuses"));
	cJSON_Delete(pod);
	cJSON_Delete(bad);
	cni_err_clear(&err);
}
END_TEST

START_TEST(claim_device_gets_the_attributes_of_its_slice_and_the_gpu_is_skipped)
{
	const char *slices[] = { sriov_slices, gpu_slices };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	char results[512], *names;

	snprintf(results, sizeof(results), "%s,%s,%s", result("gpu", GPU, "gpu-0"),
		 result("vf", DRV, "vf-1"), result("vf", DRV, "vf-2"));
	ck_assert_msg(build(&d, results, NULL, slices, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(d.ndrivers, 2);
	ck_assert_str_eq(d.drivers[0], GPU);
	ck_assert_str_eq(merged(&d), "intel.com/vf=0000:00:06.2");
	names = k8s_dra_resource_names(&d);
	ck_assert_str_eq(names, "\"intel.com/vf\"");
	free(names);
	k8s_dra_free(&d);
}
END_TEST

START_TEST(only_string_attribute_values_count)
{
	/* a bare string, an int, a version and an empty string do not count */
	static const char shapes[] =
	    "{'items':[{'spec':{'driver':'" DRV "','pool':{'name':'n1'},'devices':["
	    "{'name':'vf-0','attributes':{'k8s.cni.cncf.io/resourceName':'intel.com/vf',"
	    " 'k8s.cni.cncf.io/deviceID':{'string':'a'}}},"
	    "{'name':'vf-1','attributes':{'k8s.cni.cncf.io/resourceName':{'int':3},"
	    " 'k8s.cni.cncf.io/deviceID':{'string':'b'}}},"
	    "{'name':'vf-2','attributes':{'k8s.cni.cncf.io/resourceName':{'string':'intel.com/vf'},"
	    " 'k8s.cni.cncf.io/deviceID':{'version':'1.0.0'}}},"
	    "{'name':'vf-3','attributes':{'k8s.cni.cncf.io/resourceName':{'string':'intel.com/vf'},"
	    " 'k8s.cni.cncf.io/deviceID':{'string':''}}},"
	    "{'name':'vf-4','attributes':{'k8s.cni.cncf.io/resourceName':{'string':'intel.com/vf'},"
	    " 'k8s.cni.cncf.io/deviceID':{'string':'e'}}}]}}]}";
	const char *slices[] = { shapes, gpu_slices };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	char results[1024];

	snprintf(results, sizeof(results), "%s,%s,%s,%s,%s", result("a", DRV, "vf-0"),
		 result("a", DRV, "vf-1"), result("a", DRV, "vf-2"), result("a", DRV, "vf-3"),
		 result("a", DRV, "vf-4"));
	ck_assert_msg(build(&d, results, NULL, slices, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(merged(&d), "intel.com/vf=e");
	k8s_dra_free(&d);
}
END_TEST

START_TEST(a_device_no_slice_publishes_is_skipped)
{
	const char *slices[] = { sriov_slices, gpu_slices };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	char results[512], *names;

	snprintf(results, sizeof(results), "%s", result("vf", DRV, "vf-9"));
	ck_assert_msg(build(&d, results, NULL, slices, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(merged(&d), "");
	names = k8s_dra_resource_names(&d);
	ck_assert_str_eq(names, "none");
	free(names);
	k8s_dra_free(&d);
}
END_TEST

START_TEST(device_plugin_ids_come_first_then_dra_ids_in_claim_order)
{
	static const char checkpoint[] =
	    "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"u\",\"ResourceName\":\"intel.com/vf\","
	    "\"DeviceIDs\":[\"0000:00:07.2\",\"0000:00:07.1\"]},{\"PodUID\":\"u\","
	    "\"ResourceName\":\"z.com/other\",\"DeviceIDs\":[\"z\"]}]}}";
	const char *slices[] = { sriov_slices, gpu_slices };
	struct k8s_dra d = { 0 };
	struct k8s_devmap *m = NULL;
	struct cni_err err = { 0 };
	char results[512];

	snprintf(results, sizeof(results), "%s,%s", result("vf", DRV, "vf-1"),
		 result("vf", DRV, "vf-0"));
	ck_assert_msg(build(&d, results, NULL, slices, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(k8s_podres_parse_checkpoint(checkpoint, strlen(checkpoint), "u", &m, &err),
			 0);
	ck_assert_msg(k8s_dra_merge(m, &d, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(unit_devmap_dump(m),
			 "intel.com/vf=0000:00:07.1,0000:00:07.2,0000:00:06.2,0000:00:06.1;"
			 "z.com/other=z");
	k8s_devmap_free(m);
	/* a resourceName kubelet does not know gets its own entry, in sorted place */
	ck_assert_int_eq(
	    k8s_podres_parse_checkpoint(checkpoint, strlen(checkpoint), "none", &m, &err), 0);
	ck_assert_msg(k8s_dra_merge(m, &d, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(unit_devmap_dump(m), "intel.com/vf=0000:00:06.2,0000:00:06.1");
	k8s_devmap_free(m);
	k8s_dra_free(&d);
}
END_TEST

START_TEST(extended_resource_requests_are_mapped_by_request_name)
{
	cJSON *maps = js("[{\"containerName\":\"c\",\"resourceName\":\"intel.com/vf\","
			 "\"requestName\":\"container-0-request-0\"}]");
	const char *slices[] = { sriov_slices, gpu_slices };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	char results[512];

	snprintf(results, sizeof(results), "%s,%s", result("unmapped", DRV, "vf-0"),
		 result("container-0-request-0", DRV, "vf-1"));
	ck_assert_msg(build(&d, results, maps, slices, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(merged(&d), "intel.com/vf=0000:00:06.2");
	k8s_dra_free(&d);
	cJSON_Delete(maps);
	cni_err_clear(&err);
}
END_TEST

START_TEST(extended_resource_mapped_to_another_resource_name_is_an_error)
{
	cJSON *maps = js("[{\"resourceName\":\"example.com/vf\",\"requestName\":\"r0\"}]");
	const char *slices[] = { sriov_slices, gpu_slices };
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(build(&d, result("r0", DRV, "vf-0"), maps, slices, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INVALID_CONFIG);
	ck_assert_str_eq(err.msg, "ResourceClaim \"ns1/c1\" request \"r0\": device \"n1/vf-0\" of "
				  "driver \"" DRV "\" has resourceName \"intel.com/vf\", not the "
				  "extended resource \"example.com/vf\"");
	k8s_dra_free(&d);
	cJSON_Delete(maps);
	cni_err_clear(&err);
}
END_TEST

START_TEST(claim_not_allocated_is_an_error_naming_it)
{
	static const char *const claims[] = {
		"{\"metadata\":{\"name\":\"c1\"},\"spec\":{}}",
		"{\"status\":{\"allocation\":{\"devices\":{}}}}",
		"{\"status\":{\"allocation\":{\"devices\":{\"results\":[]}}}}",
		"{\"status\":{\"allocation\":{\"devices\":{\"results\":{}}}}}",
	};
	struct k8s_dra_claim_ref ref = { .name = "c1" };

	for (size_t i = 0; i < sizeof(claims) / sizeof(*claims); i++) {
		struct k8s_dra d = { 0 };
		struct cni_err err = { 0 };
		cJSON *c = js(claims[i]);

		ck_assert_int_eq(k8s_dra_add_claim(&d, "ns1", &ref, c, &err), -1);
		ck_assert_uint_eq(err.code, CNI_ERR_INVALID_CONFIG);
		ck_assert_str_eq(err.msg, "ResourceClaim \"ns1/c1\" is not allocated (no "
					  "status.allocation.devices.results)");
		cJSON_Delete(c);
		k8s_dra_free(&d);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(result_without_its_device_is_a_decode_error)
{
	struct k8s_dra_claim_ref ref = { .name = "c1" };
	cJSON *c = claim_with("{\"request\":\"vf\",\"driver\":\"" DRV "\",\"pool\":\"n1\"}");
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_dra_add_claim(&d, "ns1", &ref, c, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_DECODE);
	ck_assert_str_eq(err.msg, "ResourceClaim \"ns1/c1\": status.allocation.devices.results[0] "
				  "lacks driver, pool or device");
	cJSON_Delete(c);
	k8s_dra_free(&d);
	cni_err_clear(&err);
}
END_TEST

START_TEST(no_slice_of_the_driver_on_the_node_is_an_error_naming_both)
{
	static const char *const lists[] = {
		"{\"items\":[]}",
		"{\"items\":null}",
		"{\"items\":[{\"spec\":{\"driver\":\"" GPU "\",\"pool\":{\"name\":\"n1\"}}}]}",
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		struct k8s_dra d = { 0 };
		struct cni_err err = { 0 };
		cJSON *l = js(lists[i]);

		ck_assert_int_eq(k8s_dra_add_slices(&d, DRV, "n1", l, &err), -1);
		ck_assert_uint_eq(err.code, CNI_ERR_INVALID_CONFIG);
		ck_assert_str_eq(err.msg, "no ResourceSlice of driver \"" DRV "\" on node \"n1\"");
		cJSON_Delete(l);
		k8s_dra_free(&d);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(malformed_slice_lists_are_decode_errors)
{
	static const char *const lists[] = {
		"[]",
		"{\"items\":{}}",
		"{\"items\":[{\"spec\":{\"driver\":\"" DRV "\",\"devices\":[]}}]}",
		"{\"items\":[{\"spec\":{\"driver\":\"" DRV "\",\"pool\":{\"name\":\"p\"},"
		"\"devices\":{}}}]}",
	};

	for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		struct k8s_dra d = { 0 };
		struct cni_err err = { 0 };
		cJSON *l = js(lists[i]);

		ck_assert_int_eq(k8s_dra_add_slices(&d, DRV, "n1", l, &err), -1);
		ck_assert_msg(err.code == CNI_ERR_DECODE, "%s: code %d: %s", lists[i], err.code,
			      err.msg);
		cJSON_Delete(l);
		k8s_dra_free(&d);
		cni_err_clear(&err);
	}
}
END_TEST

static Suite *dra_suite(void)
{
	Suite *s = suite_create("k8s_dra");
	TCase *tc = tcase_create("dra");

	tcase_add_test(tc, pod_claims_are_named_once_and_the_extended_claim_carries_its_mappings);
	tcase_add_test(tc, pod_without_claims_names_none_and_wrong_types_are_decode_errors);
	tcase_add_test(tc, claim_device_gets_the_attributes_of_its_slice_and_the_gpu_is_skipped);
	tcase_add_test(tc, only_string_attribute_values_count);
	tcase_add_test(tc, a_device_no_slice_publishes_is_skipped);
	tcase_add_test(tc, device_plugin_ids_come_first_then_dra_ids_in_claim_order);
	tcase_add_test(tc, extended_resource_requests_are_mapped_by_request_name);
	tcase_add_test(tc, extended_resource_mapped_to_another_resource_name_is_an_error);
	tcase_add_test(tc, claim_not_allocated_is_an_error_naming_it);
	tcase_add_test(tc, result_without_its_device_is_a_decode_error);
	tcase_add_test(tc, no_slice_of_the_driver_on_the_node_is_an_error_naming_both);
	tcase_add_test(tc, malformed_slice_lists_are_decode_errors);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(dra_suite)

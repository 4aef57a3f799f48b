/* test/unit/test_k8s_netstatus.c: network-status entries from delegate results, and the annotation.
 * Golden texts: what the NAD client's CreateNetworkStatuses + SetNetworkStatus print. */
#include <stdio.h>

#include "k8s/netstatus.h"
#include "test/unit/unit.h"

/* Appends the entries of one result to a fresh array and renders it; *n gets the count. */
static char *render_one(const char *name, bool is_default, const char *result, const char *dev,
			int *n)
{
	cJSON *st = cJSON_CreateArray(), *r = cJSON_Parse(result),
	      *d = dev ? cJSON_Parse(dev) : NULL;
	struct cni_err err = { 0 };
	char *out;

	ck_assert_msg(r != NULL, "bad test result JSON: %s", result);
	*n = k8s_network_status_append(st, name, is_default, r, d, &err);
	ck_assert_msg(*n >= 0, "append: %s", err.msg);
	out = k8s_network_status_render(st);
	cJSON_Delete(st);
	cJSON_Delete(r);
	cJSON_Delete(d);
	return out;
}

static void golden(const char *name, bool is_default, const char *result, const char *dev,
		   int want_n, const char *want)
{
	int n;
	char *got = render_one(name, is_default, result, dev, &n);

	ck_assert_msg(n == want_n, "%d entries, want %d", n, want_n);
	ck_assert_msg(strcmp(got, want) == 0, "\n--- got\n%s\n--- want\n%s", got, want);
	free(got);
}

START_TEST(one_interface_default_network)
{
	golden("cbr0", true,
	       "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":"
	       "\"0a:58:0a:01:01:05\",\"mtu\":1450,\"sandbox\":\"/var/run/netns/x\"}],\"ips\":"
	       "[{\"address\":\"10.1.1.5/24\",\"gateway\":\"10.1.1.1\",\"interface\":0}],"
	       "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.1.1\"}],\"dns\":{\"nameservers\":"
	       "[\"10.96.0.10\"],\"search\":[\"svc.cluster.local\"]}}",
	       NULL, 1,
	       "[{\n"
	       "    \"name\": \"cbr0\",\n"
	       "    \"interface\": \"eth0\",\n"
	       "    \"ips\": [\n"
	       "        \"10.1.1.5\"\n"
	       "    ],\n"
	       "    \"mac\": \"0a:58:0a:01:01:05\",\n"
	       "    \"mtu\": 1450,\n"
	       "    \"default\": true,\n"
	       "    \"dns\": {\n"
	       "        \"nameservers\": [\n"
	       "            \"10.96.0.10\"\n"
	       "        ],\n"
	       "        \"search\": [\n"
	       "            \"svc.cluster.local\"\n"
	       "        ]\n"
	       "    },\n"
	       "    \"gateway\": [\n"
	       "        \"10.1.1.1\"\n"
	       "    ]\n"
	       "}]");
}
END_TEST

START_TEST(host_side_interfaces_are_skipped)
{
	/* bridge: the bridge and the host veth have no sandbox; only eth0 gets an entry. */
	golden(
	    "ns1/net-a", false,
	    "{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"cni0\",\"mac\":"
	    "\"aa:00:00:00:00:01\"},{\"name\":\"veth1\",\"mac\":\"aa:00:00:00:00:02\"},"
	    "{\"name\":\"net1\",\"mac\":\"02:00:00:00:00:03\",\"sandbox\":\"/proc/1/ns/net\"}],"
	    "\"ips\":[{\"address\":\"10.10.0.7/16\",\"gateway\":\"10.10.0.1\",\"interface\":2}]}",
	    NULL, 1,
	    "[{\n"
	    "    \"name\": \"ns1/net-a\",\n"
	    "    \"interface\": \"net1\",\n"
	    "    \"ips\": [\n"
	    "        \"10.10.0.7\"\n"
	    "    ],\n"
	    "    \"mac\": \"02:00:00:00:00:03\",\n"
	    "    \"dns\": {}\n"
	    "}]");
}
END_TEST

static const char *several =
    "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\",\"sandbox\":\"/ns\"},"
    "{\"name\":\"host0\"},{\"name\":\"net2\",\"sandbox\":\"/ns\",\"mtu\":9000}],\"ips\":["
    "{\"address\":\"10.0.0.1/24\",\"interface\":0},"
    "{\"address\":\"fd00::2/64\",\"interface\":2%s},"
    "{\"address\":\"10.0.0.3/24\"},"
    "{\"address\":\"10.0.0.4/24\",\"interface\":1}],"
    "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.254\"},{\"dst\":\"::/0\",\"gw\":"
    "\"fd00::1\"},{\"dst\":\"10.9.0.0/16\",\"gw\":\"10.0.0.253\"},{\"dst\":\"0.0.0.0/0\"}]}";

START_TEST(several_sandbox_interfaces_ips_by_index_and_unindexed_to_last)
{
	char result[1024];

	snprintf(result, sizeof(result), several, "");
	/* Not the default network: nothing is marked. The IP of the host interface is dropped,
	 * the unindexed one goes to the last sandbox entry, gateways are shared. */
	golden("ns/multi", false, result, NULL, 2,
	       "[{\n"
	       "    \"name\": \"ns/multi\",\n"
	       "    \"interface\": \"net1\",\n"
	       "    \"ips\": [\n"
	       "        \"10.0.0.1\"\n"
	       "    ],\n"
	       "    \"dns\": {},\n"
	       "    \"gateway\": [\n"
	       "        \"10.0.0.254\",\n"
	       "        \"fd00::1\"\n"
	       "    ]\n"
	       "},{\n"
	       "    \"name\": \"ns/multi\",\n"
	       "    \"interface\": \"net2\",\n"
	       "    \"ips\": [\n"
	       "        \"fd00::2\",\n"
	       "        \"10.0.0.3\"\n"
	       "    ],\n"
	       "    \"mtu\": 9000,\n"
	       "    \"dns\": {},\n"
	       "    \"gateway\": [\n"
	       "        \"10.0.0.254\",\n"
	       "        \"fd00::1\"\n"
	       "    ]\n"
	       "}]");
}
END_TEST

START_TEST(default_marks_the_interface_of_the_first_gateway_ip)
{
	char result[1024], *got;
	cJSON *j;
	int n;

	snprintf(result, sizeof(result), several, ",\"gateway\":\"fd00::1\"");
	got = render_one("cbr0", true, result, NULL, &n);
	j = cJSON_Parse(got);
	ck_assert_int_eq(n, 2);
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "default"));
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "default")));
	cJSON_Delete(j);
	free(got);
	/* No IP names a gateway interface: the first sandbox interface is the default. */
	snprintf(result, sizeof(result), several, "");
	got = render_one("cbr0", true, result, NULL, &n);
	j = cJSON_Parse(got);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "default")));
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "default"));
	cJSON_Delete(j);
	free(got);
}
END_TEST

START_TEST(zero_interfaces_give_no_entry_even_for_the_default_network)
{
	golden(
	    "cbr0", true,
	    "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/24\",\"gateway\":\"10.0.0.1\"}}",
	    NULL, 0, "[]");
	golden("cbr0", true, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.5/24\"}]}",
	       NULL, 0, "[]");
}
END_TEST

START_TEST(one_interface_without_sandbox_still_gives_an_entry)
{
	/* cilium-style: a host-side interface only; name and IPs, no interface. */
	golden("cilium", true,
	       "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"lxc123\",\"mac\":\"aa:bb:cc:"
	       "dd:ee:ff\"}],\"ips\":[{\"version\":\"4\",\"address\":\"10.0.1.9/32\"},{\"version\":"
	       "\"6\",\"address\":\"fd00:0:0::9/128\"}]}",
	       NULL, 1,
	       "[{\n"
	       "    \"name\": \"cilium\",\n"
	       "    \"ips\": [\n"
	       "        \"10.0.1.9\",\n"
	       "        \"fd00::9\"\n"
	       "    ],\n"
	       "    \"default\": true,\n"
	       "    \"dns\": {}\n"
	       "}]");
}
END_TEST

START_TEST(device_info_is_copied_in_spec_order)
{
	golden(
	    "ns1/sriov-a", false,
	    "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\",\"sandbox\":\"/ns\","
	    "\"pciID\":\"0000:03:00.1\"}]}",
	    "{\"version\":\"1.1.0\",\"unknown\":1,\"pci\":{\"rdma-device\":\"\",\"pf-pci-address\":"
	    "\"0000:03:00.0\",\"pci-address\":\"0000:03:00.1\",\"x\":2},\"type\":\"pci\"}",
	    1,
	    "[{\n"
	    "    \"name\": \"ns1/sriov-a\",\n"
	    "    \"interface\": \"net1\",\n"
	    "    \"dns\": {},\n"
	    "    \"device-info\": {\n"
	    "        \"type\": \"pci\",\n"
	    "        \"version\": \"1.1.0\",\n"
	    "        \"pci\": {\n"
	    "            \"pci-address\": \"0000:03:00.1\",\n"
	    "            \"pf-pci-address\": \"0000:03:00.0\"\n"
	    "        }\n"
	    "    }\n"
	    "}]");
}
END_TEST

START_TEST(several_delegates_render_joined_and_go_escaped)
{
	cJSON *st = cJSON_CreateArray();
	cJSON *a = cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\","
			       "\"sandbox\":\"/ns\"}],\"ips\":[{\"address\":\"10.0.0.2/24\"}]}");
	cJSON *b = cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\","
			       "\"sandbox\":\"/ns\"}],\"dns\":{\"domain\":\"a&b\"}}");
	struct cni_err err = { 0 };
	char *got;

	ck_assert_int_eq(k8s_network_status_append(st, "cbr0", true, a, NULL, &err), 1);
	ck_assert_int_eq(k8s_network_status_append(st, "ns/<b>", false, b, NULL, &err), 1);
	got = k8s_network_status_render(st);
	ck_assert_str_eq(got, "[{\n"
			      "    \"name\": \"cbr0\",\n"
			      "    \"interface\": \"eth0\",\n"
			      "    \"ips\": [\n"
			      "        \"10.0.0.2\"\n"
			      "    ],\n"
			      "    \"default\": true,\n"
			      "    \"dns\": {}\n"
			      "},{\n"
			      "    \"name\": \"ns/\\u003cb\\u003e\",\n"
			      "    \"interface\": \"net1\",\n"
			      "    \"dns\": {\n"
			      "        \"domain\": \"a\\u0026b\"\n"
			      "    }\n"
			      "}]");
	free(got);
	cJSON_Delete(st);
	cJSON_Delete(a);
	cJSON_Delete(b);
}
END_TEST

START_TEST(bad_result_is_a_decode_error)
{
	cJSON *st = cJSON_CreateArray();
	cJSON *r = cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"nope\"}]}");
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_network_status_append(st, "x", false, r, NULL, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_int_eq(cJSON_GetArraySize(st), 0);
	cni_err_clear(&err);
	cJSON_Delete(st);
	cJSON_Delete(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_netstatus");
	TCase *tc = tcase_create("network-status");

	tcase_add_test(tc, one_interface_default_network);
	tcase_add_test(tc, host_side_interfaces_are_skipped);
	tcase_add_test(tc, several_sandbox_interfaces_ips_by_index_and_unindexed_to_last);
	tcase_add_test(tc, default_marks_the_interface_of_the_first_gateway_ip);
	tcase_add_test(tc, zero_interfaces_give_no_entry_even_for_the_default_network);
	tcase_add_test(tc, one_interface_without_sandbox_still_gives_an_entry);
	tcase_add_test(tc, device_info_is_copied_in_spec_order);
	tcase_add_test(tc, several_delegates_render_joined_and_go_escaped);
	tcase_add_test(tc, bad_result_is_a_decode_error);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

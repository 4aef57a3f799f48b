/* test/unit/test_k8s_annotations.c: network selection annotations (both forms, every parser rule,
 * hostile values), default-network, cap args, isolation, the UID rule and NAD delegate configs. */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/objects.h"
#include "k8s/selection.h"
#include "meta/nadconf.h"
#include "test/unit/unit.h"

#define NETS "annotation \"k8s.v1.cni.cncf.io/networks\": "

static struct k8s_net_selections parse_ok(const char *value)
{
	struct k8s_net_selections s;
	struct cni_err err = { 0 };

	ck_assert_msg(k8s_parse_networks(value, NULL, "pod-ns", &s, &err) == 0, "%s: %s", value,
		      err.msg);
	return s;
}

/* Expects value to be refused with exactly want (code 7). */
static void parse_fails(const char *value, const char *want)
{
	struct k8s_net_selections s;
	struct cni_err err = { 0 };

	ck_assert_msg(k8s_parse_networks(value, NULL, "pod-ns", &s, &err) == -1, "accepted: %s",
		      value);
	ck_assert_msg(strcmp(err.msg, want) == 0, "value %s\n  got  %s\n  want %s", value, err.msg,
		      want);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_uint_eq(s.n, 0);
	cni_err_clear(&err);
}

/* Like parse_fails, for a message that starts with want. */
static void parse_fails_with(const char *value, const char *want)
{
	struct k8s_net_selections s;
	struct cni_err err = { 0 };

	ck_assert_msg(k8s_parse_networks(value, NULL, "pod-ns", &s, &err) == -1, "accepted: %s",
		      value);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got  %s\nwant %s...", err.msg,
		      want);
	ck_assert_uint_eq(err.code, 7);
	cni_err_clear(&err);
}

static void expect_el(const struct k8s_net_selection *e, const char *ns, const char *name,
		      const char *ifname)
{
	ck_assert_str_eq(e->namespace, ns);
	ck_assert_str_eq(e->name, name);
	if (ifname)
		ck_assert_str_eq(e->ifname, ifname);
	else
		ck_assert_ptr_null(e->ifname);
}

static void expect_json(const cJSON *j, const char *want)
{
	char *got = j ? cJSON_PrintUnformatted(j) : NULL;

	ck_assert_msg(got != NULL, "expected %s, got nothing", want);
	ck_assert_json_eq(got, want);
	free(got);
}

START_TEST(empty_or_missing_annotation_means_no_networks)
{
	struct k8s_net_selections s = parse_ok("");

	ck_assert_uint_eq(s.n, 0);
	s = parse_ok(NULL);
	ck_assert_uint_eq(s.n, 0);
	s = parse_ok("[]");
	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(comma_form_namespace_name_ifname)
{
	struct k8s_net_selections s = parse_ok("net-a, ns2/net-b@eth1 ,  ns3 / net-c @ x9 ,n@");

	ck_assert_uint_eq(s.n, 4);
	expect_el(&s.el[0], "pod-ns", "net-a", NULL);
	expect_el(&s.el[1], "ns2", "net-b", "eth1");
	expect_el(&s.el[2], "ns3", "net-c", "x9");
	expect_el(&s.el[3], "pod-ns", "n", NULL);
	k8s_net_selections_free(&s);
}
END_TEST

START_TEST(comma_form_ifname_is_not_dns_checked_but_bounded)
{
	struct k8s_net_selections s = parse_ok("net1@my_interface,net2@123456789012345");

	expect_el(&s.el[0], "pod-ns", "net1", "my_interface");
	expect_el(&s.el[1], "pod-ns", "net2", "123456789012345");
	k8s_net_selections_free(&s);
	parse_fails("net2@1234567890123456", NETS
		    "element 0: Failed to parse interface name: must be less than 15 chars and "
		    "not contain '/' or spaces. interface name \"1234567890123456\"");
	parse_fails("a,net2@eth 0", NETS
		    "element 1: Failed to parse interface name: must be less than 15 chars and "
		    "not contain '/' or spaces. interface name \"eth 0\"");
	parse_fails_with("a@..", NETS "element 0: Failed to parse interface name");
	parse_fails_with("a@x:y", NETS "element 0: Failed to parse interface name");
	parse_fails_with("a@x\x01y", NETS "element 0: Failed to parse interface name");
}
END_TEST

START_TEST(comma_form_separators_fail_like_multus)
{
	parse_fails("a/b/c", NETS "element 0: Invalid network object (failed at '/')");
	parse_fails("ok,../etc/passwd", NETS "element 1: Invalid network object (failed at '/')");
	parse_fails("a@b@c", NETS "element 0: Invalid network object (failed at '@')");
}
END_TEST

START_TEST(comma_form_names_must_be_dns1123_labels)
{
	static const char *const bad[] = { "Net-A", "-a", "a-", "a_b", "a.b", "..", "a\x7f" };
	char value[64], want[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(value, sizeof(value), "ok,%s", bad[i]);
		snprintf(want, sizeof(want),
			 NETS "element 1: Failed to parse: one or more items did not match "
			      "comma-delimited format (must consist of lower case alphanumeric "
			      "characters). Must start and end with an alphanumeric character), "
			      "mismatch @ \"%s\"",
			 strcmp(bad[i], "a\x7f") == 0 ? "a\\x7f" : bad[i]);
		parse_fails(value, want);
	}
	parse_fails_with("Kube_System/net", NETS "element 0: Failed to parse: one or more items");
	parse_fails_with("a\tb", NETS "element 0: Failed to parse: one or more items");
}
END_TEST

START_TEST(empty_names_are_refused_at_parse_time)
{
	parse_fails("net1,,net2", NETS "element 1: empty network name");
	parse_fails("net1,", NETS "element 1: empty network name");
	parse_fails(" ", NETS "element 0: empty network name");
	parse_fails("ns/@eth1", NETS "element 0: empty network name");
	parse_fails("[{\"namespace\":\"x\"}]", NETS "element 0: empty network name");
	parse_fails("[{\"name\":\"\"}]", NETS "element 0: empty network name");
}
END_TEST

START_TEST(json_form_every_key)
{
	struct k8s_net_selections s = parse_ok(
	    "[{\"name\":\"sriov-a\",\"namespace\":\"ns2\",\"interface\":\"net9\","
	    "\"ips\":[\"10.1.1.5/24\",\"fd00::5\"],\"mac\":\"02:00:00:00:00:01\","
	    "\"infiniband-guid\":\"c2:11:22:33:44:55:66:77\","
	    "\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\","
	    "\"extra\":1},{\"containerPort\":53}],"
	    "\"bandwidth\":{\"ingressRate\":1000,\"egressBurst\":5},"
	    "\"cni-args\":{\"foo\":{\"bar\":[1,2]}},\"default-route\":[\"10.1.1.1\"],"
	    "\"deviceID\":\"0000:03:00.1\",\"ipam-claim-reference\":\"ignored\","
	    "\"ipRequest\":\"ignored\"},"
	    "{\"name\":\"b.c\",\"interfaceRequest\":\"old1\",\"default-route\":[]},"
	    "{\"name\":\"d\",\"interface\":\"new\",\"interfaceRequest\":\"old\","
	    "\"ips\":null,\"mac\":null,\"cni-args\":null}]");

	ck_assert_uint_eq(s.n, 3);
	expect_el(&s.el[0], "ns2", "sriov-a", "net9");
	expect_json(s.el[0].ips, "[\"10.1.1.5/24\",\"fd00::5\"]");
	ck_assert_str_eq(s.el[0].mac, "02:00:00:00:00:01");
	ck_assert_str_eq(s.el[0].infiniband_guid, "c2:11:22:33:44:55:66:77");
	expect_json(s.el[0].port_mappings, "[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":"
					   "\"tcp\"},{\"hostPort\":0,\"containerPort\":53}]");
	expect_json(s.el[0].bandwidth, "{\"ingressRate\":1000,\"ingressBurst\":0,\"egressRate\":0,"
				       "\"egressBurst\":5}");
	expect_json(s.el[0].cni_args, "{\"foo\":{\"bar\":[1,2]}}");
	expect_json(s.el[0].default_route, "[\"10.1.1.1\"]");
	ck_assert_str_eq(s.el[0].device_id, "0000:03:00.1");
	/* interfaceRequest only when interface is empty; default-route [] is kept (not NULL). */
	expect_el(&s.el[1], "pod-ns", "b.c", "old1");
	expect_json(s.el[1].default_route, "[]");
	ck_assert_ptr_null(s.el[1].ips);
	expect_el(&s.el[2], "pod-ns", "d", "new");
	ck_assert_ptr_null(s.el[2].default_route);
	ck_assert_ptr_null(s.el[2].ips);
	ck_assert_ptr_null(s.el[2].mac);
	ck_assert_ptr_null(s.el[2].cni_args);
	k8s_net_selections_free(&s);
}
END_TEST

START_TEST(json_form_must_be_a_list_of_objects)
{
	parse_fails("{\"name\":\"a\"}", NETS
		    "failed to parse pod Network Attachment Selection Annotation JSON format: must "
		    "be a list of network selection elements");
	parse_fails("[\"a\"]", NETS "element 0: must be an object (a network selection element)");
	parse_fails("[{\"name\":\"a\"},null]",
		    NETS "element 1: must be an object (a network selection element)");
	parse_fails_with("[{\"name\":\"a\"", NETS "failed to parse pod Network Attachment "
						  "Selection Annotation JSON format: ");
	parse_fails_with("\"a\"", NETS "failed to parse pod Network Attachment Selection");
}
END_TEST

START_TEST(json_form_wrong_types_name_the_key)
{
	parse_fails("[{\"name\":7}]", NETS "element 0: \"name\" must be a string");
	parse_fails("[{\"name\":\"a\",\"namespace\":[]}]",
		    NETS "element 0: \"namespace\" must be a string");
	parse_fails("[{\"name\":\"a\",\"interface\":1}]",
		    NETS "element 0: \"interface\" must be a string");
	parse_fails("[{\"name\":\"a\",\"ips\":\"10.0.0.1\"}]",
		    NETS "element 0: \"ips\" must be an array");
	parse_fails("[{\"name\":\"a\",\"ips\":[1]}]",
		    NETS "element 0: \"ips\" must be an array of strings");
	parse_fails("[{\"name\":\"a\",\"cni-args\":[]}]",
		    NETS "element 0: \"cni-args\" must be an object");
	parse_fails("[{\"name\":\"a\",\"bandwidth\":{\"ingressRate\":1.5}}]",
		    NETS "element 0: bandwidth.ingressRate must be an integer");
	parse_fails("[{\"name\":\"a\",\"portMappings\":[{\"hostPort\":\"80\"}]}]",
		    NETS "element 0: portMappings[0]: \"hostPort\" and \"containerPort\" must be "
			 "integers");
	parse_fails("[{\"name\":\"a\",\"portMappings\":[7]}]",
		    NETS "element 0: portMappings[0] must be an object");
	parse_fails("[{\"name\":\"a\",\"default-route\":[\"\"]}]",
		    NETS "element 0: default-route: invalid IP address \"\"");
	parse_fails("[{\"name\":\"a\",\"mac\":true}]", NETS "element 0: \"mac\" must be a string");
}
END_TEST

START_TEST(json_form_ips_are_validated)
{
	struct k8s_net_selections s =
	    parse_ok("[{\"name\":\"a\",\"ips\":[\"10.0.0.1\",\"::1\","
		     "\"10.0.0.0/8\",\"fd00::/64\",\"::ffff:1.2.3.4\"]}]");

	k8s_net_selections_free(&s);
	parse_fails("[{\"name\":\"a\",\"ips\":[\"10.0.0.1\",\"10.0.0.256\"]}]",
		    NETS "element 0: failed to parse IP address \"10.0.0.256\"");
	parse_fails("[{\"name\":\"a\",\"ips\":[\"10.0.0.0/33\"]}]",
		    NETS "element 0: failed to parse CIDR \"10.0.0.0/33\"");
	parse_fails("[{\"name\":\"a\",\"ips\":[\"fd00::/129\"]}]",
		    NETS "element 0: failed to parse CIDR \"fd00::/129\"");
	parse_fails("[{\"name\":\"a\",\"ips\":[\"10.0.0.1/\"]}]",
		    NETS "element 0: failed to parse CIDR \"10.0.0.1/\"");
	parse_fails("[{\"name\":\"a\",\"ips\":[\"fe80::1%eth0\"]}]",
		    NETS "element 0: failed to parse IP address \"fe80::1%eth0\"");
	parse_fails("[{\"name\":\"a\",\"default-route\":[\"10.0.0.0/8\"]}]",
		    NETS "element 0: default-route: invalid IP address \"10.0.0.0/8\"");
}
END_TEST

START_TEST(json_form_mac_and_guid_follow_go_parsemac)
{
	static const char *const good[] = {
		"02:00:00:00:00:01",
		"02-00-00-00-00-0a",
		"0200.0000.00AB",
		"02:00:00:00:00:00:00:01",
		"00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01",
	};
	static const char *const bad[] = { "02:00:00:00:00",	"02:00:00:00:00:0g",
					   "02:00-00:00:00:01", "0200.0000.00AB.",
					   "020000000001",	"02:00:00:00:00:01:" };
	char v[256], want[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct k8s_net_selections s;

		snprintf(v, sizeof(v),
			 "[{\"name\":\"a\",\"mac\":\"%s\",\"infiniband-guid\":\"%s\"}]", good[i],
			 good[i]);
		s = parse_ok(v);
		k8s_net_selections_free(&s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(v, sizeof(v), "[{\"name\":\"a\",\"mac\":\"%s\"}]", bad[i]);
		snprintf(want, sizeof(want),
			 NETS "element 0: failed to parse mac \"%s\": invalid MAC "
			      "address",
			 bad[i]);
		parse_fails(v, want);
	}
	parse_fails("[{\"name\":\"a\",\"infiniband-guid\":\"zz\"}]", NETS
		    "element 0: failed to validate infiniband GUID \"zz\": invalid MAC address");
}
END_TEST

START_TEST(json_form_names_and_interfaces_are_checked)
{
	parse_fails("[{\"name\":\"../etc\"}]", NETS
		    "element 0: network name \"../etc\" is not a valid Kubernetes object name");
	parse_fails("[{\"name\":\"UPPER\"}]",
		    NETS "element 0: network name \"UPPER\" is not a valid Kubernetes object name");
	parse_fails("[{\"name\":\"a\\u0000b\"}]", NETS "JSON strings may not hold NUL (\\u0000)");
	parse_fails("[{\"name\":\"a\\nb\"}]",
		    NETS "element 0: network name \"a\\nb\" is not a valid Kubernetes object name");
	parse_fails("[{\"name\":\"a\",\"namespace\":\"a.b\"}]",
		    NETS "element 0: namespace \"a.b\" is not a valid Kubernetes namespace");
	parse_fails("[{\"name\":\"a\",\"namespace\":\"../x\"}]",
		    NETS "element 0: namespace \"../x\" is not a valid Kubernetes namespace");
	parse_fails("[{\"name\":\"a\",\"interface\":\"0123456789abcdef\"}]",
		    NETS "element 0: interface name \"0123456789abcdef\" is longer than 15 bytes");
	parse_fails("[{\"name\":\"a\",\"interface\":\"../x\"}]",
		    NETS "element 0: interface name \"../x\" may not contain '/', ':', whitespace "
			 "or control characters");
	parse_fails("[{\"name\":\"a\",\"interface\":\"..\"}]",
		    NETS "element 0: interface name \"..\" may not be '.' or '..'");
	parse_fails("[{\"name\":\"a\",\"interfaceRequest\":\"a\\tb\"}]",
		    NETS "element 0: interface name \"a\\tb\" may not contain '/', ':', "
			 "whitespace or control characters");
}
END_TEST

START_TEST(hostile_values_are_refused_before_parsing)
{
	size_t big = K8S_ANNOT_MAX_BYTES + 1;
	char *v = malloc(big + 1), want[200];

	/* Too big, in either form. */
	memset(v, 'a', big);
	v[big] = '\0';
	snprintf(want, sizeof(want), NETS "%zu bytes is more than the 262144 allowed", big);
	parse_fails(v, want);
	v[0] = '[';
	parse_fails(v, want);
	/* Too deep. */
	{
		char deep[200] = "[{\"name\":\"a\",\"cni-args\":";
		size_t n = strlen(deep);

		for (int i = 0; i < 40; i++)
			deep[n++] = '[';
		for (int i = 0; i < 40; i++)
			deep[n++] = ']';
		strcpy(deep + n, "}]");
		parse_fails(deep, NETS "JSON nested deeper than 32 levels");
	}
	/* Brackets inside strings do not count. */
	{
		struct k8s_net_selections s = parse_ok(
		    "[{\"name\":\"a\",\"cni-args\":{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
		    "[[[[[[[[[[\\\"[[[[\"}}]");

		k8s_net_selections_free(&s);
	}
	/* Too many elements, in either form. */
	{
		size_t n = 0;

		for (int i = 0; i <= K8S_ANNOT_MAX_ELEMENTS; i++)
			n += (size_t)sprintf(v + n, "%sa", i ? "," : "");
		parse_fails(v, NETS "1025 elements is more than the 1024 allowed");
		n = 0;
		v[n++] = '[';
		for (int i = 0; i <= K8S_ANNOT_MAX_ELEMENTS; i++)
			n += (size_t)sprintf(v + n, "%s{\"name\":\"a\"}", i ? "," : "");
		strcpy(v + n, "]");
		parse_fails(v, NETS "1025 elements is more than the 1024 allowed");
	}
	/* Exactly the limit is fine. */
	{
		struct k8s_net_selections s;
		size_t n = 0;

		for (int i = 0; i < K8S_ANNOT_MAX_ELEMENTS; i++)
			n += (size_t)sprintf(v + n, "%sa", i ? "," : "");
		s = parse_ok(v);
		ck_assert_uint_eq(s.n, 1024);
		k8s_net_selections_free(&s);
	}
	/* A long hostile value is quoted short in the message. */
	memset(v, 'A', 5000);
	v[5000] = '\0';
	{
		struct k8s_net_selections s;
		struct cni_err err = { 0 };

		ck_assert_int_eq(k8s_parse_networks(v, NULL, "ns", &s, &err), -1);
		ck_assert_uint_lt(strlen(err.msg), 400);
		cni_err_clear(&err);
	}
	free(v);
}
END_TEST

START_TEST(annotation_name_is_used_in_messages)
{
	struct k8s_net_selections s;
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_parse_networks("a/b/c", "custom/key", "ns", &s, &err), -1);
	ck_assert_str_eq(err.msg, "annotation \"custom/key\": element 0: Invalid network object "
				  "(failed at '/')");
	cni_err_clear(&err);
}
END_TEST

START_TEST(default_network_is_exactly_one_element_in_multus_namespace)
{
	struct k8s_net_selection s;
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_parse_default_network("cluster-net@eth0", "kube-system", &s, &err), 0);
	expect_el(&s, "kube-system", "cluster-net", "eth0");
	k8s_net_selection_free(&s);
	ck_assert_int_eq(k8s_parse_default_network("[{\"name\":\"x\",\"namespace\":\"o\"}]",
						   "kube-system", &s, &err),
			 0);
	expect_el(&s, "o", "x", NULL);
	k8s_net_selection_free(&s);
	ck_assert_int_eq(k8s_parse_default_network("a,b", "kube-system", &s, &err), -1);
	ck_assert_str_eq(err.msg, "annotation \"v1.multus-cni.io/default-network\": more than one "
				  "default network is specified: \"a,b\"");
	ck_assert_int_eq(k8s_parse_default_network("[]", "kube-system", &s, &err), -1);
	ck_assert_str_eq(err.msg, "annotation \"v1.multus-cni.io/default-network\": no default "
				  "network is specified: \"[]\"");
	ck_assert_int_eq(k8s_parse_default_network("", "kube-system", &s, &err), -1);
	ck_assert_str_eq(err.msg, "annotation \"v1.multus-cni.io/default-network\" is empty");
	ck_assert_int_eq(k8s_parse_default_network("A", "kube-system", &s, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "annotation \"v1.multus-cni.io/default-network\": "
					      "element 0: Failed to parse"));
	cni_err_clear(&err);
}
END_TEST

START_TEST(cap_args_carry_what_was_requested)
{
	struct k8s_net_selections s =
	    parse_ok("[{\"name\":\"a\",\"ips\":[\"10.0.0.2/24\"],\"mac\":\"02:00:00:00:00:01\","
		     "\"infiniband-guid\":\"02:00:00:00:00:02\",\"portMappings\":[{\"hostPort\":1,"
		     "\"containerPort\":2}],\"bandwidth\":{\"egressRate\":3},\"deviceID\":\"own\"},"
		     "{\"name\":\"b\"}]");
	cJSON *c = k8s_net_selection_cap_args(&s.el[0], NULL);

	expect_json(c, "{\"portMappings\":[{\"hostPort\":1,\"containerPort\":2}],\"bandwidth\":"
		       "{\"ingressRate\":0,\"ingressBurst\":0,\"egressRate\":3,\"egressBurst\":0},"
		       "\"ips\":[\"10.0.0.2/24\"],\"mac\":\"02:00:00:00:00:01\",\"infinibandGUID\":"
		       "\"02:00:00:00:00:02\",\"deviceID\":\"own\"}");
	cJSON_Delete(c);
	c = k8s_net_selection_cap_args(&s.el[0], "0000:03:00.2");
	ck_assert_str_eq(cJSON_GetObjectItem(c, "deviceID")->valuestring, "0000:03:00.2");
	cJSON_Delete(c);
	c = k8s_net_selection_cap_args(&s.el[1], NULL);
	expect_json(c, "{}");
	cJSON_Delete(c);
	k8s_net_selections_free(&s);
}
END_TEST

START_TEST(namespace_isolation_with_implicit_and_configured_global_namespaces)
{
	static const char *const shared[] = { "shared", "infra" };
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "team-a", NULL, 0, &err), 0);
	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "default", NULL, 0, &err), 0);
	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "team-b", NULL, 0, &err), -1);
	ck_assert_str_eq(err.msg,
			 "namespace isolation enabled, annotation violates permission, pod "
			 "is in namespace team-a but refers to target namespace team-b");
	ck_assert_uint_eq(err.code, 7);
	/* A configured list replaces the implicit "default". */
	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "infra", shared, 2, &err), 0);
	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "default", shared, 2, &err), -1);
	ck_assert_int_eq(k8s_check_namespace_isolation("team-a", "default", shared, 0, &err), -1);
	cni_err_clear(&err);
}
END_TEST

static cJSON *pod(const char *uid, const char *source)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"%s\","
		 "\"annotations\":{%s%s%s}}}",
		 uid, source ? "\"kubernetes.io/config.source\":\"" : "", source ? source : "",
		 source ? "\"" : "");
	return cJSON_Parse(buf);
}

START_TEST(uid_mismatch_fails_unless_static_pod)
{
	struct cni_err err = { 0 };
	cJSON *api = pod("uid-2", NULL), *api2 = pod("uid-2", "api"), *file = pod("mirror", "file");

	ck_assert_int_eq(k8s_pod_check_uid(api, "uid-2", &err), 0);
	ck_assert_int_eq(k8s_pod_check_uid(api, "", &err), 0);
	ck_assert_int_eq(k8s_pod_check_uid(api, NULL, &err), 0);
	ck_assert_int_eq(k8s_pod_check_uid(api, "uid-1", &err), -1);
	ck_assert_str_eq(err.msg,
			 "pod ns/p: expected pod UID \"uid-1\" but got \"uid-2\" from Kube "
			 "API");
	ck_assert_int_eq(k8s_pod_check_uid(api2, "uid-1", &err), -1);
	ck_assert(!k8s_pod_is_static(api2));
	ck_assert(k8s_pod_is_static(file));
	ck_assert_int_eq(k8s_pod_check_uid(file, "real-uid", &err), 0);
	ck_assert_str_eq(k8s_object_meta(api, "uid"), "uid-2");
	ck_assert_str_eq(k8s_object_annotation(file, K8S_ANNOT_CONFIG_SOURCE), "file");
	ck_assert_ptr_null(k8s_object_annotation(api, K8S_ANNOT_CONFIG_SOURCE));
	cni_err_clear(&err);
	cJSON_Delete(api);
	cJSON_Delete(api2);
	cJSON_Delete(file);
}
END_TEST

/* A NAD object as the API returns it; config is the raw spec.config text (or NULL). */
static cJSON *nad(const char *name, const char *config, const char *resource)
{
	cJSON *n = cJSON_Parse("{\"apiVersion\":\"k8s.cni.cncf.io/v1\",\"kind\":"
			       "\"NetworkAttachmentDefinition\",\"metadata\":{\"namespace\":"
			       "\"ns1\",\"annotations\":{}},\"spec\":{}}");

	cJSON_AddStringToObject(cJSON_GetObjectItem(n, "metadata"), "name", name);
	if (config)
		cJSON_AddStringToObject(cJSON_GetObjectItem(n, "spec"), "config", config);
	if (resource)
		cJSON_AddStringToObject(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(n, "metadata"), "annotations"),
		    K8S_ANNOT_RESOURCE_NAME, resource);
	return n;
}

static void nad_gives(const char *config, const char *want)
{
	struct k8s_nad_config out;
	struct cni_err err = { 0 };
	cJSON *n = nad("net-a", config, NULL);

	ck_assert_msg(k8s_nad_delegate_config(n, &out, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(out.config, want);
	ck_assert_uint_eq(out.len, strlen(want));
	ck_assert_ptr_null(out.resource_name);
	k8s_nad_config_free(&out);
	cJSON_Delete(n);
}

static void nad_fails(const char *config, const char *want)
{
	struct k8s_nad_config out;
	struct cni_err err = { 0 };
	cJSON *n = nad("net-a", config, NULL);

	ck_assert_int_eq(k8s_nad_delegate_config(n, &out, &err), -1);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got  %s\nwant %s...", err.msg,
		      want);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_ptr_null(out.config);
	cni_err_clear(&err);
	cJSON_Delete(n);
}

START_TEST(nad_config_with_a_name_is_kept_byte_for_byte)
{
	nad_gives("{ \"cniVersion\": \"1.0.0\", \"name\": \"mine\", \"type\": \"bridge\" }",
		  "{ \"cniVersion\": \"1.0.0\", \"name\": \"mine\", \"type\": \"bridge\" }");
	nad_gives("{\"name\":\"l\",\"plugins\":[{\"type\":\"a\"}]}",
		  "{\"name\":\"l\",\"plugins\":[{\"type\":\"a\"}]}");
}
END_TEST

START_TEST(nad_config_without_a_name_gets_metadata_name)
{
	nad_gives(
	    "{\"type\":\"bridge\",\"cniVersion\":\"1.0.0\",\"ipam\":{\"type\":\"x\",\"a\":1}}",
	    "{\"cniVersion\":\"1.0.0\",\"ipam\":{\"a\":1,\"type\":\"x\"},\"name\":\"net-a\","
	    "\"type\":\"bridge\"}");
	nad_gives("{\"name\":\"\",\"type\":\"b\"}", "{\"name\":\"net-a\",\"type\":\"b\"}");
	nad_gives("{\"cniVersion\":\"0.4.0\",\"plugins\":[{\"type\":\"a\"},{\"type\":\"b\"}]}",
		  "{\"cniVersion\":\"0.4.0\",\"name\":\"net-a\",\"plugins\":[{\"type\":\"a\"},"
		  "{\"type\":\"b\"}]}");
}
END_TEST

START_TEST(nad_config_errors_name_the_nad)
{
	nad_fails("{\"type\":", "network-attachment-definition ns1/net-a: failed to unmarshal "
				"Spec.Config: ");
	nad_fails("[1]", "network-attachment-definition ns1/net-a: failed to unmarshal "
			 "Spec.Config: spec.config is not a JSON object");
	nad_fails("{\"cniVersion\":\"1.0.0\"}", "network-attachment-definition ns1/net-a: delegate "
						"must have the 'type' or 'plugin' field");
	nad_fails("{\"type\":\"a\",\"name\":5}", "network-attachment-definition ns1/net-a: "
						 "spec.config: \"name\" must be a string");
	{
		struct k8s_nad_config out;
		struct cni_err err = { 0 };
		cJSON *n = nad("net-a", NULL, NULL);

		cJSON_AddNumberToObject(cJSON_GetObjectItem(n, "spec"), "config", 1);
		ck_assert_int_eq(k8s_nad_delegate_config(n, &out, &err), -1);
		ck_assert_str_eq(err.msg,
				 "network-attachment-definition ns1/net-a: spec.config must "
				 "be a string");
		cni_err_clear(&err);
		cJSON_Delete(n);
	}
}
END_TEST

START_TEST(nad_resource_name_is_kept)
{
	struct k8s_nad_config out;
	struct cni_err err = { 0 };
	cJSON *n =
	    nad("sriov-a", "{\"name\":\"x\",\"type\":\"sriov\"}", "intel.com/sriov_netdevice");

	ck_assert_int_eq(k8s_nad_delegate_config(n, &out, &err), 0);
	ck_assert_str_eq(out.resource_name, "intel.com/sriov_netdevice");
	k8s_nad_config_free(&out);
	cJSON_Delete(n);
}
END_TEST

START_TEST(nad_with_empty_spec_uses_the_conf_dir_file_of_that_name)
{
	char dir[64], path[PATH_MAX];
	const char *conflist =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"net-a\",\"plugins\":[{\"type\":"
	    "\"bridge\"}]}\n";
	struct k8s_nad_config out;
	struct cni_err err = { 0 };
	cJSON *n = nad("net-a", "", NULL), *m = nad("net-z", NULL, NULL);
	FILE *f;

	unit_tmpdir(dir, sizeof(dir), "nad");
	snprintf(path, sizeof(path), "%s/10-other.conf", dir);
	f = fopen(path, "w");
	fputs("{\"cniVersion\":\"1.0.0\",\"name\":\"other\",\"type\":\"x\"}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/20-a.conflist", dir);
	f = fopen(path, "w");
	fputs(conflist, f);
	fclose(f);
	/* k8s/ leaves the fallback to its caller: no config, no error. */
	ck_assert_msg(k8s_nad_delegate_config(n, &out, &err) == 0, "%s", err.msg);
	ck_assert_ptr_null(out.config);
	k8s_nad_config_free(&out);
	ck_assert_msg(meta_nad_delegate_config(n, dir, &out, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(out.config, conflist);
	ck_assert_uint_eq(out.len, strlen(conflist));
	k8s_nad_config_free(&out);
	ck_assert_int_eq(meta_nad_delegate_config(m, dir, &out, &err), -1);
	ck_assert_msg(
	    strstr(err.msg, "network-attachment-definition ns1/net-z: empty spec.config: ") ==
		err.msg,
	    "got %s", err.msg);
	cni_err_clear(&err);
	ck_assert_int_eq(unit_rmtree(dir), 0);
	cJSON_Delete(n);
	cJSON_Delete(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_annotations");
	TCase *sel = tcase_create("selection");
	TCase *pods = tcase_create("pods");
	TCase *nads = tcase_create("nads");

	tcase_add_test(sel, empty_or_missing_annotation_means_no_networks);
	tcase_add_test(sel, comma_form_namespace_name_ifname);
	tcase_add_test(sel, comma_form_ifname_is_not_dns_checked_but_bounded);
	tcase_add_test(sel, comma_form_separators_fail_like_multus);
	tcase_add_test(sel, comma_form_names_must_be_dns1123_labels);
	tcase_add_test(sel, empty_names_are_refused_at_parse_time);
	tcase_add_test(sel, json_form_every_key);
	tcase_add_test(sel, json_form_must_be_a_list_of_objects);
	tcase_add_test(sel, json_form_wrong_types_name_the_key);
	tcase_add_test(sel, json_form_ips_are_validated);
	tcase_add_test(sel, json_form_mac_and_guid_follow_go_parsemac);
	tcase_add_test(sel, json_form_names_and_interfaces_are_checked);
	tcase_add_test(sel, hostile_values_are_refused_before_parsing);
	tcase_add_test(sel, annotation_name_is_used_in_messages);
	tcase_add_test(sel, default_network_is_exactly_one_element_in_multus_namespace);
	tcase_add_test(sel, cap_args_carry_what_was_requested);
	suite_add_tcase(s, sel);
	tcase_add_test(pods, namespace_isolation_with_implicit_and_configured_global_namespaces);
	tcase_add_test(pods, uid_mismatch_fails_unless_static_pod);
	suite_add_tcase(s, pods);
	tcase_add_test(nads, nad_config_with_a_name_is_kept_byte_for_byte);
	tcase_add_test(nads, nad_config_without_a_name_gets_metadata_name);
	tcase_add_test(nads, nad_config_errors_name_the_nad);
	tcase_add_test(nads, nad_resource_name_is_kept);
	tcase_add_test(nads, nad_with_empty_spec_uses_the_conf_dir_file_of_that_name);
	suite_add_tcase(s, nads);
	return s;
}

UNIT_MAIN(suite)

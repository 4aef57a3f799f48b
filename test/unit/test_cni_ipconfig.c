/* test/unit/test_cni_ipconfig.c: cni/ipconfig on a veth pair inside a real netns (needs root).
 * Follows pkg/ipam ConfigureIface; every effect is read back independently with `ip -j`. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/ipconfig.h"
#include "cni/netns.h"
#include "unit.h"

/* Set once by the unchecked fixture in the runner; each forked test inherits them. */
static char ns_name[64];
static char ns_path[128];
static char link_a[16]; /* the interface under test */
static char link_b[16]; /* its peer, up so that link_a gets a carrier */

/* argv as JSON; the test fails when ip fails or prints no JSON. */
static cJSON *ip_json_argv(const char *const *argv)
{
	char *out = NULL;
	cJSON *j;
	int rc = unit_run(&out, argv);

	ck_assert_msg(rc == 0, "ip -n %s -j %s %s ... exited %d", argv[2], argv[4], argv[5], rc);
	j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "ip printed no JSON: %s", out);
	free(out);
	return j;
}

/* `ip -n <ns> -j <args...>`, parsed. */
#define ip_json(...)                                                                               \
	ip_json_argv(                                                                              \
	    (const char *const[]){ "/usr/sbin/ip", "-n", ns_name, "-j", __VA_ARGS__, NULL })

static void ns_create(void)
{
	int pid = (int)getpid();

	unit_netns_add(ns_name, sizeof(ns_name), ns_path, sizeof(ns_path), "ip");
	snprintf(link_a, sizeof(link_a), "pxv%da", pid);
	snprintf(link_b, sizeof(link_b), "pxv%db", pid);
}

/* Removing the netns also destroys the veth pair inside it, whatever a test left behind. */
static void ns_destroy(void)
{
	unit_netns_del(ns_name);
}

/* A fresh veth pair per test, created inside the netns so that nothing ever sits in the
 * host's; a pair a crashed test left behind is removed first. */
static void veth_create(void)
{
	unit_ip(NULL, "-n", ns_name, "link", "del", link_a);
	ck_assert_int_eq(unit_ip(NULL, "-n", ns_name, "link", "add", link_a, "type", "veth", "peer",
				 "name", link_b),
			 0);
	ck_assert_int_eq(unit_ip(NULL, "-n", ns_name, "link", "set", link_b, "up"), 0);
}

static void veth_destroy(void)
{
	unit_ip(NULL, "-n", ns_name, "link", "del", link_a);
}

/* Parses a test result, replacing each "IF" placeholder (which keeps the literal results
 * readable) with link_a. */
static cJSON *result_for(const char *json)
{
	char *text = strdup(json), *at;
	cJSON *r;

	ck_assert(text != NULL);
	while ((at = strstr(text, "\"IF\"")) != NULL) {
		char *grown = NULL;

		*at = '\0';
		ck_assert(asprintf(&grown, "%s\"%s\"%s", text, link_a, at + 4) >= 0);
		free(text);
		text = grown;
	}
	r = cJSON_Parse(text);
	ck_assert_msg(r != NULL, "test result does not parse: %s", text);
	free(text);
	return r;
}

static int apply(const char *json, struct cni_err *err)
{
	cJSON *r = result_for(json);
	int ret = cni_ipconfig_apply(ns_path, link_a, r, err);

	cJSON_Delete(r);
	return ret;
}

static void apply_ok(const char *json)
{
	struct cni_err err = { 0 };
	int ret = apply(json, &err);

	ck_assert_msg(ret == 0, "apply failed: code %u: %s (%s)", err.code, err.msg,
		      err.details ? err.details : "");
}

/* True when o[key] is the string want, or a number that prints as want. */
static bool field_is(const cJSON *o, const char *key, const char *want)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char num[32];

	if (cJSON_IsString(v))
		return strcmp(v->valuestring, want) == 0;
	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.0f", v->valuedouble);
		return strcmp(num, want) == 0;
	}
	return false;
}

static bool has_addr(const char *local, const char *prefixlen)
{
	cJSON *links = ip_json("addr", "show", "dev", link_a);
	const cJSON *a;
	bool found = false;

	cJSON_ArrayForEach(a, cJSON_GetObjectItem(cJSON_GetArrayItem(links, 0), "addr_info"))
	{
		if (field_is(a, "local", local) && field_is(a, "prefixlen", prefixlen))
			found = true;
	}
	cJSON_Delete(links);
	return found;
}

/* IFF_UP as the kernel reports it (operstate would also need the peer's carrier). */
static bool link_is_up(void)
{
	cJSON *links = ip_json("link", "show", "dev", link_a);
	const cJSON *flag;
	bool up = false;

	cJSON_ArrayForEach(flag, cJSON_GetObjectItem(cJSON_GetArrayItem(links, 0), "flags"))
	{
		if (cJSON_IsString(flag) && strcmp(flag->valuestring, "UP") == 0)
			up = true;
	}
	cJSON_Delete(links);
	return up;
}

/* The route to dst in the given table ("main" or a number) on link_a, as JSON text; "" when
 * there is none. `ip route show table T` leaves out "table"; "flags" and "pref" are dropped. */
static char *route_to(const char *family, const char *table, const char *dst)
{
	cJSON *routes = ip_json(family, "route", "show", "table", table, "dev", link_a);
	cJSON *r, *found = NULL;
	char *text;

	cJSON_ArrayForEach(r, routes)
	{
		if (field_is(r, "dst", dst))
			found = r;
	}
	if (found) {
		cJSON_DeleteItemFromObject(found, "flags");
		cJSON_DeleteItemFromObject(found, "pref");
	}
	text = found ? cJSON_PrintUnformatted(found) : strdup("");
	cJSON_Delete(routes);
	return text;
}

#define ck_assert_route(family, table, dst, want)                                                  \
	do {                                                                                       \
		char *got_ = route_to(family, table, dst);                                         \
		ck_assert_msg(*got_, "no route to %s in table %s", dst, table);                    \
		ck_assert_json_eq(got_, want);                                                     \
		free(got_);                                                                        \
	} while (0)

#define ck_assert_no_route(family, table, dst)                                                     \
	do {                                                                                       \
		char *got_ = route_to(family, table, dst);                                         \
		ck_assert_msg(!*got_, "unexpected route: %s", got_);                               \
		free(got_);                                                                        \
	} while (0)

START_TEST(applies_ipv4_and_ipv6_addresses_and_sets_the_link_up)
{
	apply_ok("{\"cniVersion\":\"0.4.0\","
		 " \"interfaces\":[{\"name\":\"IF\",\"sandbox\":\"/x\"}],"
		 " \"ips\":[{\"version\":\"4\",\"address\":\"10.1.2.3/24\",\"interface\":0},"
		 "          {\"version\":\"6\",\"address\":\"fd00:1::3/64\",\"interface\":0}]}");
	ck_assert(has_addr("10.1.2.3", "24"));
	ck_assert(has_addr("fd00:1::3", "64"));
	ck_assert(link_is_up());
}
END_TEST

START_TEST(default_route_goes_via_its_own_gw)
{
	apply_ok(
	    "{\"cniVersion\":\"1.0.0\","
	    " \"interfaces\":[{\"name\":\"IF\"}],"
	    " \"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\",\"interface\":0}],"
	    " \"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.2.254\"}]}");
	ck_assert_route("-4", "main", "default",
			"{\"dst\":\"default\",\"gateway\":\"10.1.2.254\"}");
}
END_TEST

START_TEST(route_without_gw_takes_the_gateway_of_the_first_ip_of_its_family)
{
	apply_ok(
	    "{\"cniVersion\":\"0.3.1\","
	    " \"interfaces\":[{\"name\":\"IF\"}],"
	    " \"ips\":[{\"version\":\"6\",\"address\":\"fd00:1::3/64\",\"gateway\":\"fd00:1::1\","
	    "           \"interface\":0},"
	    "          {\"version\":\"4\",\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\","
	    "           \"interface\":0},"
	    "          {\"version\":\"4\",\"address\":\"10.1.3.3/24\",\"gateway\":\"10.1.3.1\","
	    "           \"interface\":0}],"
	    " \"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"fd00:20::/48\"}]}");
	ck_assert_route("-4", "main", "default", "{\"dst\":\"default\",\"gateway\":\"10.1.2.1\"}");
	ck_assert_route("-6", "main", "fd00:20::/48",
			"{\"dst\":\"fd00:20::/48\",\"gateway\":\"fd00:1::1\",\"metric\":1024}");
}
END_TEST

START_TEST(route_without_any_gateway_is_a_link_route)
{
	apply_ok("{\"cniVersion\":\"1.0.0\","
		 " \"ips\":[{\"address\":\"10.1.2.3/24\"}],"
		 " \"routes\":[{\"dst\":\"10.30.0.0/16\"}]}");
	ck_assert_route("-4", "main", "10.30.0.0/16",
			"{\"dst\":\"10.30.0.0/16\",\"scope\":\"link\"}");
}
END_TEST

START_TEST(ipam_result_without_interfaces_applies_every_ip_to_ifname)
{
	apply_ok("{\"cniVersion\":\"1.1.0\","
		 " \"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\"},"
		 "          {\"address\":\"fd00:1::3/64\"}]}");
	ck_assert(has_addr("10.1.2.3", "24"));
	ck_assert(has_addr("fd00:1::3", "64"));
}
END_TEST

START_TEST(only_ips_whose_interface_index_names_ifname_are_applied)
{
	/* Index 0 is ifname here: a present 0 is a real index, not "unset". */
	apply_ok("{\"cniVersion\":\"1.0.0\","
		 " \"interfaces\":[{\"name\":\"IF\"},{\"name\":\"cni0\"}],"
		 " \"ips\":[{\"address\":\"10.1.2.3/24\",\"interface\":0},"
		 "          {\"address\":\"10.9.9.9/24\",\"interface\":1},"
		 "          {\"address\":\"10.1.4.4/24\"}]}");
	ck_assert(has_addr("10.1.2.3", "24"));
	ck_assert(!has_addr("10.9.9.9", "24"));
	ck_assert(has_addr("10.1.4.4", "24"));
}
END_TEST

START_TEST(ips_of_a_host_side_interface_at_index_0_are_skipped)
{
	apply_ok(
	    "{\"cniVersion\":\"1.0.0\","
	    " \"interfaces\":[{\"name\":\"cni0\"},{\"name\":\"IF\",\"sandbox\":\"/x\"}],"
	    " \"ips\":[{\"address\":\"10.9.9.1/24\",\"gateway\":\"10.9.9.254\",\"interface\":0},"
	    "          {\"address\":\"10.1.2.3/24\",\"interface\":1}],"
	    " \"routes\":[{\"dst\":\"10.50.0.0/16\"}]}");
	ck_assert(!has_addr("10.9.9.1", "24"));
	ck_assert(has_addr("10.1.2.3", "24"));
	/* The skipped ip's gateway is not this link's: the route stays on-link. */
	ck_assert_route("-4", "main", "10.50.0.0/16",
			"{\"dst\":\"10.50.0.0/16\",\"scope\":\"link\"}");
}
END_TEST

START_TEST(route_table_priority_mtu_and_advmss_are_honoured)
{
	apply_ok("{\"cniVersion\":\"1.1.0\","
		 " \"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\"}],"
		 " \"routes\":[{\"dst\":\"10.40.0.0/16\",\"table\":100,\"priority\":50,"
		 "             \"mtu\":1400,\"advmss\":1360}]}");
	ck_assert_route("-4", "100", "10.40.0.0/16",
			"{\"dst\":\"10.40.0.0/16\",\"gateway\":\"10.1.2.1\",\"metric\":50,"
			"\"metrics\":[{\"mtu\":1400,\"advmss\":1360}]}");
	ck_assert_no_route("-4", "main", "10.40.0.0/16");
}
END_TEST

START_TEST(present_scope_0_makes_a_route_without_gateway_global)
{
	apply_ok("{\"cniVersion\":\"1.1.0\","
		 " \"ips\":[{\"address\":\"10.1.2.3/24\"}],"
		 " \"routes\":[{\"dst\":\"10.60.0.0/16\",\"scope\":0},"
		 "            {\"dst\":\"10.61.0.0/16\",\"scope\":253}]}");
	ck_assert_route("-4", "main", "10.60.0.0/16", "{\"dst\":\"10.60.0.0/16\"}");
	ck_assert_route("-4", "main", "10.61.0.0/16",
			"{\"dst\":\"10.61.0.0/16\",\"scope\":\"link\"}");
}
END_TEST

START_TEST(a_duplicate_route_is_not_an_error)
{
	apply_ok(
	    "{\"cniVersion\":\"1.0.0\","
	    " \"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2.1\"}],"
	    " \"routes\":[{\"dst\":\"0.0.0.0/0\"},{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.2.1\"}]}");
	ck_assert_route("-4", "main", "default", "{\"dst\":\"default\",\"gateway\":\"10.1.2.1\"}");
}
END_TEST

START_TEST(applying_twice_fails_with_file_exists_naming_the_address)
{
	const char *json = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.2.3/24\"}]}";
	struct cni_err err = { 0 };
	char want[128];

	apply_ok(json);
	ck_assert_int_eq(apply(json, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INTERNAL);
	snprintf(want, sizeof(want), "interface \"%s\": add address 10.1.2.3/24: File exists",
		 link_a);
	ck_assert_str_eq(err.msg, want);
	cni_err_clear(&err);
}
END_TEST

START_TEST(unreachable_gateway_fails_naming_the_route_and_the_kernel_reason)
{
	struct cni_err err = { 0 };
	char want[160];

	ck_assert_int_eq(apply("{\"cniVersion\":\"1.0.0\","
			       " \"ips\":[{\"address\":\"10.1.2.3/24\"}],"
			       " \"routes\":[{\"dst\":\"10.70.0.0/16\",\"gw\":\"192.168.77.1\"}]}",
			       &err),
			 -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INTERNAL);
	snprintf(
	    want, sizeof(want),
	    "interface \"%s\": add route 10.70.0.0/16 via 192.168.77.1: Network is unreachable",
	    link_a);
	ck_assert_str_eq(err.msg, want);
	/* The kernel's extended ack ("Nexthop has invalid gateway") travels as details. */
	ck_assert_msg(err.details && *err.details, "no kernel explanation in details");
	cni_err_clear(&err);
}
END_TEST

START_TEST(missing_interface_fails_naming_it_and_the_netns)
{
	cJSON *r = result_for("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.2.3/24\"}]}");
	struct cni_err err = { 0 };
	char want[200];

	ck_assert_int_eq(cni_ipconfig_apply(ns_path, "pxvnope", r, &err), -1);
	snprintf(want, sizeof(want), "interface \"pxvnope\" not found in netns %s", ns_path);
	ck_assert_str_eq(err.msg, want);
	cJSON_Delete(r);
	cni_err_clear(&err);
}
END_TEST

START_TEST(bad_cidr_is_code_7_and_changes_nothing)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{\"ips\":[{\"address\":\"10.1.2.3/24\"},{\"address\":\"10.1.2.300/24\"}]}",
		  "address \"10.1.2.300/24\" is not valid" },
		{ "{\"ips\":[{\"address\":\"10.1.2.3\"}]}", "address \"10.1.2.3\" is not valid" },
		{ "{\"ips\":[{\"address\":\"10.1.2.3/33\"}]}",
		  "address \"10.1.2.3/33\" is not valid" },
		{ "{\"ips\":[{\"address\":\"10.1.2.3/24\",\"gateway\":\"10.1.2\"}]}",
		  "gateway \"10.1.2\" is not valid" },
		{ "{\"routes\":[{\"dst\":\"default\"}]}", "route dst \"default\" is not valid" },
		{ "{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"fd00::1\"}]}",
		  "route 10.0.0.0/8 via fd00::1 mixes address families" },
		{ "{\"routes\":[{\"dst\":\"10.0.0.0/8\",\"table\":-1}]}",
		  "route 10.0.0.0/8: mtu, advmss, priority, table and scope must be unsigned "
		  "integers "
		  "(scope at most 255)" },
		{ "{\"interfaces\":[{\"name\":\"IF\"}],\"ips\":[{\"address\":\"10.1.2.3/24\","
		  "\"interface\":1}]}",
		  "ips[0]: interface index is not one of the 1 interfaces[]" },
	};
	struct cni_err err = { 0 };
	char want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(apply(cases[i].json, &err), -1);
		ck_assert_uint_eq(err.code, CNI_ERR_INVALID_CONFIG);
		snprintf(want, sizeof(want), "interface \"%s\": %s", link_a, cases[i].msg);
		ck_assert_str_eq(err.msg, want);
		cni_err_clear(&err);
	}
	ck_assert(!has_addr("10.1.2.3", "24"));
	ck_assert(!link_is_up());
}
END_TEST

START_TEST(missing_netns_is_code_5_and_bad_ifname_is_code_4)
{
	cJSON *r = result_for("{\"ips\":[]}");
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_ipconfig_apply("/run/netns/pxnsT-missing", link_a, r, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert_str_eq(err.msg,
			 "netns /run/netns/pxnsT-missing: open: No such file or directory");
	ck_assert_int_eq(cni_ipconfig_apply(ns_path, "a-name-of-16-chr", r, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INVALID_ENV);
	ck_assert_int_eq(cni_ipconfig_apply(ns_path, "", r, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INVALID_ENV);
	cJSON_Delete(r);
	cni_err_clear(&err);
}
END_TEST

START_TEST(apply_leaves_the_caller_in_its_own_netns)
{
	apply_ok("{\"ips\":[{\"address\":\"10.1.2.3/24\"}]}");
	ck_assert(cni_netns_is_current("/proc/self/ns/net"));
	ck_assert(!cni_netns_is_current(ns_path));
}
END_TEST

static Suite *ipconfig_suite(void)
{
	Suite *s = suite_create("ipconfig");
	TCase *tc = tcase_create("ipconfig");

	/* The netns belongs to the runner, so a test that crashes still gets it removed. */
	tcase_add_unchecked_fixture(tc, ns_create, ns_destroy);
	tcase_add_checked_fixture(tc, veth_create, veth_destroy);
	tcase_add_test(tc, applies_ipv4_and_ipv6_addresses_and_sets_the_link_up);
	tcase_add_test(tc, default_route_goes_via_its_own_gw);
	tcase_add_test(tc, route_without_gw_takes_the_gateway_of_the_first_ip_of_its_family);
	tcase_add_test(tc, route_without_any_gateway_is_a_link_route);
	tcase_add_test(tc, ipam_result_without_interfaces_applies_every_ip_to_ifname);
	tcase_add_test(tc, only_ips_whose_interface_index_names_ifname_are_applied);
	tcase_add_test(tc, ips_of_a_host_side_interface_at_index_0_are_skipped);
	tcase_add_test(tc, route_table_priority_mtu_and_advmss_are_honoured);
	tcase_add_test(tc, present_scope_0_makes_a_route_without_gateway_global);
	tcase_add_test(tc, a_duplicate_route_is_not_an_error);
	tcase_add_test(tc, applying_twice_fails_with_file_exists_naming_the_address);
	tcase_add_test(tc, unreachable_gateway_fails_naming_the_route_and_the_kernel_reason);
	tcase_add_test(tc, missing_interface_fails_naming_it_and_the_netns);
	tcase_add_test(tc, bad_cidr_is_code_7_and_changes_nothing);
	tcase_add_test(tc, missing_netns_is_code_5_and_bad_ifname_is_code_4);
	tcase_add_test(tc, apply_leaves_the_caller_in_its_own_netns);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ipconfig_suite)

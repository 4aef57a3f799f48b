/* test/unit/test_cni_result.c: result parsing and conversion among all seven CNI versions.
 * Follows libcni pkg/types/{020,040,100}: every *.want.json is what libcni prints for *.in.json. */
#include "test/unit/unit.h"

#include <stdio.h>

#include "cni/result.h"

#define GOLDEN "test/unit/golden/result/"

static const char *const versions[] = { "0.1.0", "0.2.0", "0.3.0", "0.3.1",
					"0.4.0", "1.0.0", "1.1.0" };
#define NVERSIONS ((int)(sizeof(versions) / sizeof(versions[0])))

static char *slurp(const char *name)
{
	char *path = NULL, *buf = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int c;

	ck_assert(asprintf(&path, GOLDEN "%s", name) > 0);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
	mem = open_memstream(&buf, &len);
	ck_assert(mem != NULL);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(f);
	fclose(mem);
	free(path);
	return buf;
}

/* Parses <name>.in.json, converts it to `to` and compares with `want` (a file name), also
 * checking that the input tree is left as it was. */
static void expect_convert(const char *name, const char *to, const char *want_file)
{
	struct cni_err err = { 0 };
	char *in_file = NULL, *in, *want, *got, *before, *after;
	cJSON *res, *out;

	ck_assert(asprintf(&in_file, "%s.in.json", name) > 0);
	in = slurp(in_file);
	want = slurp(want_file);
	res = cni_result_parse(in, "0.1.0", &err);
	ck_assert_msg(res != NULL, "%s: parse failed: %s", in_file, err.msg);
	before = cJSON_PrintUnformatted(res);
	out = cni_result_convert(res, to, &err);
	ck_assert_msg(out != NULL, "%s -> %s: convert failed (code %u): %s", in_file, to, err.code,
		      err.msg);
	got = cJSON_PrintUnformatted(out);
	after = cJSON_PrintUnformatted(res);
	ck_assert_json_eq(got, want);
	ck_assert_str_eq(after, before);
	free(in_file);
	free(in);
	free(want);
	free(got);
	free(before);
	free(after);
	cJSON_Delete(res);
	cJSON_Delete(out);
}

/* expect_convert() with the golden file named <name>-to-<to>.want.json. */
static void expect_golden(const char *name, const char *to)
{
	char *want_file = NULL;

	ck_assert(asprintf(&want_file, "%s-to-%s.want.json", name, to) > 0);
	expect_convert(name, to, want_file);
	free(want_file);
}

/* Parses text (which must parse) and converts it, expecting failure with code and msg. */
static void expect_convert_error(const char *text, const char *to, unsigned code, const char *msg)
{
	struct cni_err err = { 0 };
	cJSON *res = cni_result_parse(text, "0.1.0", &err), *out;

	ck_assert_msg(res != NULL, "parse failed: %s", err.msg);
	out = cni_result_convert(res, to, &err);
	ck_assert_msg(out == NULL, "expected a failure converting to %s", to);
	ck_assert_uint_eq(err.code, code);
	ck_assert_str_eq(err.msg, msg);
	cni_err_clear(&err);
	cJSON_Delete(res);
}

static void expect_parse_error(const char *text, unsigned code, const char *msg)
{
	struct cni_err err = { 0 };
	cJSON *res = cni_result_parse(text, "1.1.0", &err);

	ck_assert_msg(res == NULL, "expected %s to be refused", text);
	ck_assert_msg(err.code == code, "%s: code %u, want %u (%s)", text, err.code, code, err.msg);
	ck_assert_msg(err.msg && strcmp(err.msg, msg) == 0, "%s:\n  got:  %s\n  want: %s", text,
		      err.msg, msg);
	cni_err_clear(&err);
}

/* --- conversion ------------------------------------------------------------------------------ */

START_TEST(every_version_pair_converts_as_libcni_does)
{
	const char *from = versions[_i / NVERSIONS], *to = versions[_i % NVERSIONS];
	char *name = NULL;

	ck_assert(asprintf(&name, "matrix-from-%s", from) > 0);
	expect_golden(name, to);
	free(name);
}
END_TEST

START_TEST(present_index_0_table_0_scope_0_are_kept_and_zero_mtu_advmss_priority_dropped)
{
	expect_golden("index0-scope0-kept", "1.1.0");
	expect_golden("index0-scope0-kept", "0.4.0");
}
END_TEST

START_TEST(interface_mtu_socketpath_pciid_stay_in_100_and_are_dropped_going_to_03x)
{
	expect_golden("v11-interface-fields", "1.0.0");
	expect_golden("v11-interface-fields", "0.3.1");
}
END_TEST

START_TEST(conversion_to_020_or_010_without_any_ip_fails_with_code_1)
{
	char *in = slurp("no-ip.in.json");

	expect_convert_error(in, "0.2.0", 1,
			     "cannot convert result from 1.0.0 to 0.2.0: no valid IP addresses");
	expect_convert_error(in, "0.1.0", 1,
			     "cannot convert result from 1.0.0 to 0.1.0: no valid IP addresses");
	free(in);
}
END_TEST

START_TEST(ipv6_only_result_reaches_020_as_ip6_alone_and_its_ipv4_route_is_dropped)
{
	expect_golden("ipv6-only", "0.2.0");
}
END_TEST

START_TEST(ipv4_only_result_loses_its_ipv6_routes_going_to_010)
{
	expect_golden("ipv4-only", "0.1.0");
}
END_TEST

START_TEST(only_the_first_ip_of_each_family_reaches_020)
{
	expect_golden("multiple-ips-per-family", "0.2.0");
}
END_TEST

START_TEST(empty_dns_is_printed_as_an_empty_object_in_every_shape)
{
	expect_golden("empty-dns", "0.4.0");
	expect_golden("empty-dns", "0.2.0");
	expect_golden("empty-dns-fields", "0.2.0");
	expect_golden("empty-dns-fields", "1.1.0");
}
END_TEST

START_TEST(keys_unknown_to_the_version_are_dropped_by_conversion)
{
	expect_golden("unknown-keys", "1.1.0");
}
END_TEST

START_TEST(addresses_are_printed_in_go_canonical_form)
{
	expect_golden("canonical-addresses", "1.1.0");
	expect_golden("canonical-addresses", "0.4.0");
}
END_TEST

START_TEST(ips_version_of_a_040_result_is_trusted_not_recomputed)
{
	expect_golden("v040-version-field-trusted", "0.2.0");
	expect_golden("v040-version-field-trusted", "0.3.1");
	expect_golden("v040-version-field-trusted", "1.0.0");
}
END_TEST

START_TEST(nested_020_routes_move_to_top_level_routes_whole)
{
	expect_golden("v020-routes-kept-whole", "1.0.0");
	expect_golden("v020-routes-kept-whole", "0.1.0");
}
END_TEST

START_TEST(null_fields_and_empty_gateway_read_as_absent)
{
	struct cni_err err = { 0 };
	cJSON *res, *out;
	char *got;

	expect_golden("nulls-as-absent", "1.1.0");
	res = cni_result_parse("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
			       "\"address\":\"10.1.0.5/16\",\"gateway\":\"\"}],"
			       "\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"\"}]}",
			       NULL, &err);
	ck_assert_msg(res != NULL, "parse failed: %s", err.msg);
	out = cni_result_convert(res, "1.0.0", &err);
	ck_assert_msg(out != NULL, "convert failed: %s", err.msg);
	got = cJSON_PrintUnformatted(out);
	ck_assert_json_eq(got, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.0.5/16\"}],"
			       "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}");
	free(got);
	cJSON_Delete(res);
	cJSON_Delete(out);
}
END_TEST

START_TEST(empty_or_null_target_version_means_010)
{
	expect_convert("matrix-from-1.1.0", "", "matrix-from-1.1.0-to-0.1.0.want.json");
	expect_convert("matrix-from-1.1.0", NULL, "matrix-from-1.1.0-to-0.1.0.want.json");
}
END_TEST

START_TEST(conversion_to_an_unknown_version_fails_with_code_1)
{
	char *in = slurp("matrix-from-1.0.0.in.json");

	expect_convert_error(in, "0.5.0", 1,
			     "cannot convert result from 1.0.0 to 0.5.0: unsupported version "
			     "\"0.5.0\"");
	expect_convert_error(
	    in, "1.1", 1, "cannot convert result from 1.0.0 to 1.1: unsupported version \"1.1\"");
	free(in);
}
END_TEST

START_TEST(conversion_rechecks_the_shape_of_a_tree_built_in_code)
{
	struct cni_err err = { 0 };
	cJSON *res = cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1\"}]}");
	cJSON *out = cni_result_convert(res, "0.4.0", &err);

	ck_assert_ptr_null(out);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_str_eq(err.msg, "ips[0].address: \"10.0.0.1\" is not a CIDR");
	cni_err_clear(&err);
	cJSON_Delete(res);
}
END_TEST

START_TEST(a_tree_without_cniversion_converts_as_010)
{
	struct cni_err err = { 0 };
	cJSON *res = cJSON_Parse("{\"ip4\":{\"ip\":\"10.0.0.1/8\"},\"ips\":[{\"address\":\"x\"}]}");
	cJSON *out = cni_result_convert(res, "1.0.0", &err);
	char *got = cJSON_PrintUnformatted(out);

	ck_assert_json_eq(got, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.0.0.1/8\"}],"
			       "\"dns\":{}}");
	free(got);
	cJSON_Delete(res);
	cJSON_Delete(out);
}
END_TEST

/* --- parsing --------------------------------------------------------------------------------- */

static void expect_parsed_version(const char *text, const char *def, const char *want)
{
	struct cni_err err = { 0 };
	cJSON *res = cni_result_parse(text, def, &err);

	ck_assert_msg(res != NULL, "%s: parse failed: %s", text, err.msg);
	ck_assert_str_eq(cni_result_version(res, "none"), want);
	cJSON_Delete(res);
}

START_TEST(parse_gives_a_result_without_cniversion_the_default_version)
{
	const char *ips = "\"ips\":[{\"address\":\"10.0.0.1/8\"}]";
	char *text = NULL;

	ck_assert(asprintf(&text, "{%s}", ips) > 0);
	expect_parsed_version(text, "1.0.0", "1.0.0");
	free(text);
	ck_assert(asprintf(&text, "{\"cniVersion\":\"\",%s}", ips) > 0);
	expect_parsed_version(text, "0.4.0", "0.4.0");
	free(text);
	ck_assert(asprintf(&text, "{\"cniVersion\":1,%s}", ips) > 0);
	expect_parsed_version(text, "1.1.0", "1.1.0");
	free(text);
	expect_parsed_version("{}", NULL, "0.1.0");
	expect_parsed_version("{}", "", "0.1.0");
}
END_TEST

START_TEST(parse_keeps_the_result_own_cniversion_over_the_default)
{
	expect_parsed_version("{\"cniVersion\":\"0.3.1\"}", "1.1.0", "0.3.1");
}
END_TEST

START_TEST(parse_returns_the_tree_as_written)
{
	const char *text = "{\"cniVersion\":\"1.1.0\",\"x-vendor\":[1],\"ips\":[{\"address\":"
			   "\"2001:DB8::1/64\",\"version\":\"6\"}],\"dns\":{}}";
	struct cni_err err = { 0 };
	cJSON *res = cni_result_parse(text, "1.0.0", &err);
	char *got = cJSON_PrintUnformatted(res);

	ck_assert_json_eq(got, text);
	free(got);
	cJSON_Delete(res);
}
END_TEST

START_TEST(parse_refuses_an_unsupported_cniversion_with_code_1)
{
	expect_parse_error("{\"cniVersion\":\"0.5.0\"}", 1,
			   "unsupported CNI result version \"0.5.0\"");
	expect_parse_error("{\"cniVersion\":\"v1.0.0\"}", 1,
			   "unsupported CNI result version \"v1.0.0\"");

	struct cni_err err = { 0 };

	ck_assert_ptr_null(cni_result_parse("{}", "2.0.0", &err));
	ck_assert_uint_eq(err.code, 1);
	ck_assert_str_eq(err.msg, "unsupported CNI result version \"2.0.0\"");
	cni_err_clear(&err);
}
END_TEST

START_TEST(parse_refuses_text_that_is_not_a_json_object_with_code_6)
{
	expect_parse_error("", 6, "result is not valid JSON (at byte 0)");
	expect_parse_error("{\"cniVersion\":", 6, "result is not valid JSON (at byte 14)");
	expect_parse_error("{} {}", 6, "result is not valid JSON (at byte 3)");
	expect_parse_error("[]", 6, "result must be a JSON object");
	expect_parse_error("\"1.0.0\"", 6, "result must be a JSON object");
	expect_parse_error("null", 6, "result must be a JSON object");

	struct cni_err err = { 0 };

	ck_assert_ptr_null(cni_result_parse(NULL, "1.0.0", &err));
	ck_assert_uint_eq(err.code, 6);
	cni_err_clear(&err);
}
END_TEST

/* One bad field per row; every message names the field. */
static const struct {
	const char *text, *msg;
} bad_fields[] = {
	{ "{\"interfaces\":{}}", "interfaces: must be an array" },
	{ "{\"interfaces\":[{\"name\":\"a\"},1]}", "interfaces[1]: must be an object" },
	{ "{\"interfaces\":[null]}", "interfaces[0]: must be an object" },
	{ "{\"interfaces\":[{\"name\":5}]}", "interfaces[0].name: must be a string" },
	{ "{\"interfaces\":[{\"mac\":[]}]}", "interfaces[0].mac: must be a string" },
	{ "{\"interfaces\":[{\"sandbox\":true}]}", "interfaces[0].sandbox: must be a string" },
	{ "{\"interfaces\":[{\"mtu\":\"9000\"}]}",
	  "interfaces[0].mtu: must be an integer in -2147483648..4294967295" },
	{ "{\"interfaces\":[{\"socketPath\":1}]}", "interfaces[0].socketPath: must be a string" },
	{ "{\"interfaces\":[{\"pciID\":{}}]}", "interfaces[0].pciID: must be a string" },
	{ "{\"ips\":\"10.0.0.1/8\"}", "ips: must be an array" },
	{ "{\"ips\":[\"10.0.0.1/8\"]}", "ips[0]: must be an object" },
	{ "{\"ips\":[{\"address\":\"10.0.0.2/8\"},{\"address\":\"10.0.0.1\"}]}",
	  "ips[1].address: \"10.0.0.1\" is not a CIDR" },
	{ "{\"ips\":[{\"gateway\":\"10.0.0.1\"}]}", "ips[0].address: is required" },
	{ "{\"ips\":[{\"address\":null}]}", "ips[0].address: is required" },
	{ "{\"ips\":[{\"address\":167772161}]}", "ips[0].address: must be a string" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/33\"}]}",
	  "ips[0].address: \"10.0.0.1/33\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"fd00::1/129\"}]}",
	  "ips[0].address: \"fd00::1/129\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/-1\"}]}",
	  "ips[0].address: \"10.0.0.1/-1\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/\"}]}",
	  "ips[0].address: \"10.0.0.1/\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"010.0.0.1/8\"}]}",
	  "ips[0].address: \"010.0.0.1/8\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"fe80::1%eth0/64\"}]}",
	  "ips[0].address: \"fe80::1%eth0/64\" is not a CIDR" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"gateway\":\"10.0.0.256\"}]}",
	  "ips[0].gateway: \"10.0.0.256\" is not an IP address" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"gateway\":\"10.0.0.0/8\"}]}",
	  "ips[0].gateway: \"10.0.0.0/8\" is not an IP address" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"gateway\":1}]}",
	  "ips[0].gateway: must be a string" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":\"0\"}]}",
	  "ips[0].interface: must be an integer in -2147483648..4294967295" },
	{ "{\"ips\":[{\"address\":\"10.0.0.1/8\",\"interface\":0.5}]}",
	  "ips[0].interface: must be an integer in -2147483648..4294967295" },
	{ "{\"routes\":{\"dst\":\"0.0.0.0/0\"}}", "routes: must be an array" },
	{ "{\"routes\":[{\"gw\":\"10.0.0.1\"}]}", "routes[0].dst: is required" },
	{ "{\"routes\":[{\"dst\":\"default\"}]}", "routes[0].dst: \"default\" is not a CIDR" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"gw\"}]}",
	  "routes[0].gw: \"gw\" is not an IP address" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"mtu\":\"1500\"}]}",
	  "routes[0].mtu: must be an integer in -2147483648..4294967295" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"advmss\":true}]}",
	  "routes[0].advmss: must be an integer in -2147483648..4294967295" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"priority\":1e10}]}",
	  "routes[0].priority: must be an integer in -2147483648..4294967295" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"table\":[]}]}",
	  "routes[0].table: must be an integer in -2147483648..4294967295" },
	{ "{\"routes\":[{\"dst\":\"0.0.0.0/0\",\"scope\":\"link\"}]}",
	  "routes[0].scope: must be an integer in -2147483648..4294967295" },
	{ "{\"dns\":[]}", "dns: must be an object" },
	{ "{\"dns\":{\"nameservers\":\"10.0.0.1\"}}",
	  "dns.nameservers: must be an array of strings" },
	{ "{\"dns\":{\"domain\":[\"x\"]}}", "dns.domain: must be a string" },
	{ "{\"dns\":{\"search\":[\"a\",3]}}", "dns.search[1]: must be a string" },
	{ "{\"dns\":{\"options\":[true]}}", "dns.options[0]: must be a string" },
	{ "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":4,\"address\":\"10.0.0.1/8\"}]}",
	  "ips[0].version: must be a string" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip4\":\"10.0.0.1/8\"}", "ip4: must be an object" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"gateway\":\"10.0.0.1\"}}", "ip4.ip: is required" },
	{ "{\"cniVersion\":\"0.1.0\",\"ip6\":{\"ip\":\"fd00::1\"}}",
	  "ip6.ip: \"fd00::1\" is not a CIDR" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\",\"gateway\":\"x\"}}",
	  "ip4.gateway: \"x\" is not an IP address" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\",\"routes\":{}}}",
	  "ip4.routes: must be an array" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip6\":{\"ip\":\"fd00::1/"
	  "64\",\"routes\":[{},{\"dst\":\"::\"}]}}",
	  "ip6.routes[0].dst: is required" },
	{ "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\",\"routes\":[{\"dst\":\"0.0.0.0/"
	  "0\",\"table\":\"main\"}]}}",
	  "ip4.routes[0].table: must be an integer in -2147483648..4294967295" },
};

START_TEST(parse_refuses_a_bad_field_with_code_6_naming_it)
{
	expect_parse_error(bad_fields[_i].text, 6, bad_fields[_i].msg);
}
END_TEST

START_TEST(parse_does_not_check_fields_the_version_does_not_have)
{
	/* Go ignores keys its type lacks: 040 interfaces have no mtu, 020 has no ips, 1.x no ip4. */
	expect_parsed_version("{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"a\","
			      "\"mtu\":\"big\",\"pciID\":1}]}",
			      NULL, "0.4.0");
	expect_parsed_version("{\"cniVersion\":\"0.2.0\",\"ips\":\"x\",\"routes\":1}", NULL,
			      "0.2.0");
	expect_parsed_version("{\"cniVersion\":\"1.0.0\",\"ip4\":\"x\"}", NULL, "1.0.0");
}
END_TEST

static Suite *result_suite(void)
{
	Suite *s = suite_create("result");
	TCase *conv = tcase_create("convert"), *parse = tcase_create("parse");

	tcase_add_loop_test(conv, every_version_pair_converts_as_libcni_does, 0,
			    NVERSIONS * NVERSIONS);
	tcase_add_test(
	    conv, present_index_0_table_0_scope_0_are_kept_and_zero_mtu_advmss_priority_dropped);
	tcase_add_test(conv,
		       interface_mtu_socketpath_pciid_stay_in_100_and_are_dropped_going_to_03x);
	tcase_add_test(conv, conversion_to_020_or_010_without_any_ip_fails_with_code_1);
	tcase_add_test(conv,
		       ipv6_only_result_reaches_020_as_ip6_alone_and_its_ipv4_route_is_dropped);
	tcase_add_test(conv, ipv4_only_result_loses_its_ipv6_routes_going_to_010);
	tcase_add_test(conv, only_the_first_ip_of_each_family_reaches_020);
	tcase_add_test(conv, empty_dns_is_printed_as_an_empty_object_in_every_shape);
	tcase_add_test(conv, keys_unknown_to_the_version_are_dropped_by_conversion);
	tcase_add_test(conv, addresses_are_printed_in_go_canonical_form);
	tcase_add_test(conv, ips_version_of_a_040_result_is_trusted_not_recomputed);
	tcase_add_test(conv, nested_020_routes_move_to_top_level_routes_whole);
	tcase_add_test(conv, null_fields_and_empty_gateway_read_as_absent);
	tcase_add_test(conv, empty_or_null_target_version_means_010);
	tcase_add_test(conv, conversion_to_an_unknown_version_fails_with_code_1);
	tcase_add_test(conv, conversion_rechecks_the_shape_of_a_tree_built_in_code);
	tcase_add_test(conv, a_tree_without_cniversion_converts_as_010);
	suite_add_tcase(s, conv);

	tcase_add_test(parse, parse_gives_a_result_without_cniversion_the_default_version);
	tcase_add_test(parse, parse_keeps_the_result_own_cniversion_over_the_default);
	tcase_add_test(parse, parse_returns_the_tree_as_written);
	tcase_add_test(parse, parse_refuses_an_unsupported_cniversion_with_code_1);
	tcase_add_test(parse, parse_refuses_text_that_is_not_a_json_object_with_code_6);
	tcase_add_loop_test(parse, parse_refuses_a_bad_field_with_code_6_naming_it, 0,
			    (int)(sizeof(bad_fields) / sizeof(bad_fields[0])));
	tcase_add_test(parse, parse_does_not_check_fields_the_version_does_not_have);
	suite_add_tcase(s, parse);
	return s;
}

UNIT_MAIN(result_suite)

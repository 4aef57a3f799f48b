/* test/unit/test_cni_json.c: Go-compatible printing (what libcni puts on a plugin's stdin) and typed
 * getters. Expected strings are what Go's encoding/json prints for the same values. */
#include "cni/json.h"
#include "cni/skel.h"
#include "test/unit/unit.h"

static void expect_go(const char *in, bool sort, const char *want)
{
	cJSON *j = cJSON_Parse(in);
	char *got;

	ck_assert_msg(j != NULL, "input does not parse: %s", in);
	got = cni_json_print_go(j, sort);
	ck_assert_msg(strcmp(got, want) == 0, "print_go(%s)\n  got:  %s\n  want: %s", in, got,
		      want);
	free(got);
	cJSON_Delete(j);
}

START_TEST(objects_sorted_by_key_bytes)
{
	expect_go("{\"b\":1,\"a\":{\"z\":1,\"B\":2,\"_\":3},\"A\":[]}", true,
		  "{\"A\":[],\"a\":{\"B\":2,\"_\":3,\"z\":1},\"b\":1}");
	expect_go("{\"b\":1,\"a\":2}", false, "{\"b\":1,\"a\":2}");
	expect_go("{}", true, "{}");
}
END_TEST

START_TEST(strings_escaped_as_go)
{
	expect_go("[\"<a&b>\"]", true, "[\"\\u003ca\\u0026b\\u003e\"]");
	expect_go("[\"q\\\"b\\\\s/\"]", true, "[\"q\\\"b\\\\s/\"]");
	expect_go("[\"\\n\\r\\t\\u0001\\u001f\"]", true, "[\"\\n\\r\\t\\u0001\\u001f\"]");
	expect_go("[\"\\u2028\\u2029\"]", true, "[\"\\u2028\\u2029\"]");
	expect_go("[\"caf\\u00e9 \\u65e5\"]", true, "[\"caf\xc3\xa9 \xe6\x97\xa5\"]");
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement_char)
{
	cJSON *s = cJSON_CreateString("a\xff"
				      "b\xc3");
	char *got = cni_json_print_go(s, true);

	ck_assert_str_eq(got, "\"a\\ufffdb\\ufffd\"");
	free(got);
	cJSON_Delete(s);
}
END_TEST

/* Valid UTF-8 by the same rules as Go's utf8.Valid. */
static bool valid_utf8(const char *s)
{
	cJSON *j = cJSON_CreateString(s);
	char *go = cni_json_print_go(j, false);
	bool ok = go && !strstr(go, "\\ufffd");

	free(go);
	cJSON_Delete(j);
	return ok;
}

START_TEST(printed_documents_are_valid_utf8_whatever_the_input)
{
	cJSON *o = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(o, "name", "\xff\xfe");
	cJSON_AddStringToObject(o, "ok", "h\xc3\xa9 \xe2\x82\xac");
	cJSON_AddStringToObject(o, "k\xc0\xaf", "overlong key");
	cJSON_AddStringToObject(o, "cut", "a\xe2\x82");
	out = cni_json_print_utf8(o, false);
	ck_assert_str_eq(out,
			 "{\"name\":\"\xef\xbf\xbd\xef\xbf\xbd\",\"ok\":\"h\xc3\xa9 \xe2\x82\xac\","
			 "\"k\xef\xbf\xbd\xef\xbf\xbd\":\"overlong key\",\"cut\":\"a\xef\xbf\xbd"
			 "\xef\xbf\xbd\"}");
	free(out);
	/* the tree printed is left as it was */
	ck_assert_str_eq(cJSON_GetObjectItem(o, "name")->valuestring, "\xff\xfe");
	cJSON_Delete(o);
}
END_TEST

START_TEST(error_objects_are_printed_as_valid_utf8)
{
	struct cni_err err = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cni_err_set(&err, 7, "ARGS: unknown args [\"FOO=\xff\xfe\"]");
	cni_err_details(&err, "%s", "\xff\xfe");
	cni_print_error(f, &err, "1.0.0");
	fclose(f);
	ck_assert_msg(valid_utf8(buf), "not UTF-8: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "FOO=\xef\xbf\xbd\xef\xbf\xbd"));
	free(buf);
	cni_err_clear(&err);
}
END_TEST

START_TEST(numbers_as_go_float64)
{
	expect_go("[0,1,-1,1.5,-0.25,100,1500]", true, "[0,1,-1,1.5,-0.25,100,1500]");
	expect_go("[1e20,1e21,123456789.125]", true, "[100000000000000000000,1e+21,123456789.125]");
	expect_go("[0.000001,1e-7,1.5e-10,2.5e300]", true, "[0.000001,1e-7,1.5e-10,2.5e+300]");
	expect_go("[12345678901234567890]", true, "[12345678901234567000]");
	expect_go("[4294967296,9007199254740993]", true, "[4294967296,9007199254740992]");
	expect_go("[0.1,0.30000000000000004]", true, "[0.1,0.30000000000000004]");
}
END_TEST

START_TEST(conf_keeps_prev_result_field_order)
{
	cJSON *j = cJSON_Parse("{\"type\":\"x\",\"prevResult\":{\"cniVersion\":\"1.0.0\","
			       "\"interfaces\":[{\"name\":\"e\",\"mac\":\"m\"}],\"ips\":[]},"
			       "\"cniVersion\":\"1.0.0\",\"ipam\":{\"type\":\"h\",\"a\":1}}");
	char *got = cni_json_print_conf(j);

	ck_assert_str_eq(got, "{\"cniVersion\":\"1.0.0\",\"ipam\":{\"a\":1,\"type\":\"h\"},"
			      "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":"
			      "\"e\",\"mac\":\"m\"}],\"ips\":[]},\"type\":\"x\"}");
	free(got);
	cJSON_Delete(j);
}
END_TEST

START_TEST(parse_reports_offset_and_trailing_data)
{
	struct cni_err err = { 0 };
	cJSON *j;

	ck_assert_ptr_null(cni_json_parse("{\"a\":", 5, "netconf", &err));
	ck_assert_uint_eq(err.code, 6);
	ck_assert_msg(strstr(err.msg, "netconf: invalid JSON at byte") != NULL, "%s", err.msg);
	cni_err_clear(&err);
	ck_assert_ptr_null(cni_json_parse("{} {}", 5, "netconf", &err));
	ck_assert_str_eq(err.msg, "netconf: invalid JSON at byte 3: trailing data");
	cni_err_clear(&err);
	ck_assert_ptr_null(cni_json_parse("{}\0", 3, "netconf", &err));
	ck_assert_str_eq(err.msg, "netconf: NUL byte in JSON input");
	cni_err_clear(&err);
	ck_assert_ptr_null(cni_json_parse("", 0, "netconf", &err));
	ck_assert_uint_eq(err.code, 6);
	cni_err_clear(&err);
	j = cni_json_parse("{\"a\":1}\n ", 9, "netconf", &err);
	ck_assert_ptr_nonnull(j);
	cJSON_Delete(j);
}
END_TEST

START_TEST(deep_nesting_is_rejected_not_crashing)
{
	struct cni_err err = { 0 };
	size_t n = 200000;
	char *deep = malloc(2 * n + 1);

	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	ck_assert_ptr_null(cni_json_parse(deep, 2 * n, "annotation", &err));
	ck_assert_uint_eq(err.code, 6);
	cni_err_clear(&err);
	free(deep);
}
END_TEST

START_TEST(typed_getters_name_the_key)
{
	struct cni_err err = { 0 };
	cJSON *j = cJSON_Parse("{\"s\":\"x\",\"n\":1,\"b\":\"true\",\"o\":{},\"a\":[],\"z\":null}");
	const char *s = NULL;
	const cJSON *o = NULL;
	bool b = false;

	ck_assert_int_eq(cni_json_get_string(j, "s", &s, "netconf", &err), 0);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(cni_json_get_string(j, "n", &s, "netconf", &err), -1);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "netconf: \"n\" must be a string");
	cni_err_clear(&err);
	ck_assert_int_eq(cni_json_get_bool(j, "b", &b, NULL, &err), 0);
	ck_assert(b);
	ck_assert_int_eq(cni_json_get_bool(j, "s", &b, NULL, &err), -1);
	ck_assert_str_eq(err.msg, "\"s\" must be a boolean");
	cni_err_clear(&err);
	ck_assert_int_eq(cni_json_get_object(j, "a", &o, "x", &err), -1);
	cni_err_clear(&err);
	ck_assert_int_eq(cni_json_get_array(j, "o", &o, "x", &err), -1);
	cni_err_clear(&err);
	s = "unchanged";
	ck_assert_int_eq(cni_json_get_string(j, "z", &s, "x", &err), 0); /* null = absent */
	ck_assert_int_eq(cni_json_get_string(j, "missing", &s, "x", &err), 0);
	ck_assert_str_eq(s, "unchanged");
	cJSON_Delete(j);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, objects_sorted_by_key_bytes);
	tcase_add_test(tc, strings_escaped_as_go);
	tcase_add_test(tc, invalid_utf8_becomes_replacement_char);
	tcase_add_test(tc, printed_documents_are_valid_utf8_whatever_the_input);
	tcase_add_test(tc, error_objects_are_printed_as_valid_utf8);
	tcase_add_test(tc, numbers_as_go_float64);
	tcase_add_test(tc, conf_keeps_prev_result_field_order);
	tcase_add_test(tc, parse_reports_offset_and_trailing_data);
	tcase_add_test(tc, deep_nesting_is_rejected_not_crashing);
	tcase_add_test(tc, typed_getters_name_the_key);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(json_suite)

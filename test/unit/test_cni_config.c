/* test/unit/test_cni_config.c: conf/conflist loading and the per-plugin stdin libcni derives.
 * Expected stdin strings are libcni's (keys sorted, name/cniVersion injected, runtimeConfig
 * filtered by declared capabilities). */
#include "cni/config.h"
#include "test/unit/unit.h"

static int parse(const char *s, struct cni_conflist *l, struct cni_err *err)
{
	return cni_conflist_parse(s, strlen(s), l, err);
}

static void expect_parse_error(const char *conf, unsigned code, const char *msg)
{
	struct cni_conflist l;
	struct cni_err err = { 0 };

	ck_assert_msg(parse(conf, &l, &err) == -1, "accepted: %s", conf);
	ck_assert_msg(err.code == code, "code %u, want %u (%s) for %s", err.code, code, err.msg,
		      conf);
	ck_assert_msg(strstr(err.msg, msg) != NULL, "message \"%s\" lacks \"%s\"", err.msg, msg);
	cni_err_clear(&err);
}

START_TEST(conflist_and_conf_shapes)
{
	struct cni_conflist l;
	struct cni_err err = { 0 };

	ck_assert_int_eq(
	    parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},"
		  "{\"type\":\"b\"}]}",
		  &l, &err),
	    0);
	ck_assert(l.is_list);
	ck_assert_uint_eq(l.nplugins, 2);
	ck_assert_str_eq(cni_plugin_type(l.plugins[1]), "b");
	ck_assert_str_eq(l.cni_version, "1.0.0");
	cni_conflist_free(&l);
	ck_assert_int_eq(
	    parse("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"bridge\"}", &l, &err), 0);
	ck_assert(!l.is_list);
	ck_assert_uint_eq(l.nplugins, 1);
	ck_assert_str_eq(cni_plugin_type(l.plugins[0]), "bridge");
	cni_conflist_free(&l);
}
END_TEST

START_TEST(highest_supported_of_cni_versions_wins)
{
	struct cni_conflist l;
	struct cni_err err = { 0 };

	ck_assert_int_eq(
	    parse("{\"cniVersion\":\"0.4.0\",\"cniVersions\":[\"1.0.0\",\"9.9.9\","
		  "\"1.1.0\",\"0.3.1\"],\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}",
		  &l, &err),
	    0);
	ck_assert_str_eq(l.cni_version, "1.1.0");
	cni_conflist_free(&l);
	ck_assert_int_eq(
	    parse("{\"cniVersion\":\"7.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"}]}", &l,
		  &err),
	    0);
	ck_assert_str_eq(l.cni_version, "7.0.0"); /* kept; refused when a plugin is asked */
	cni_conflist_free(&l);
}
END_TEST

START_TEST(booleans_accept_go_strings)
{
	struct cni_conflist l;
	struct cni_err err = { 0 };

	ck_assert_int_eq(parse("{\"name\":\"n\",\"disableCheck\":\"true\",\"disableGC\":true,"
			       "\"plugins\":[{\"type\":\"a\"}]}",
			       &l, &err),
			 0);
	ck_assert(l.disable_check);
	ck_assert(l.disable_gc);
	cni_conflist_free(&l);
}
END_TEST

START_TEST(bad_configs_name_the_field)
{
	expect_parse_error("{", 6, "invalid JSON");
	expect_parse_error("[]", 6, "not a JSON object");
	expect_parse_error("{\"plugins\":[{\"type\":\"a\"}]}", 7, "no name");
	expect_parse_error("{\"name\":1,\"plugins\":[]}", 7, "\"name\" must be a string");
	expect_parse_error("{\"name\":\"n\",\"plugins\":[]}", 7, "no plugins in list");
	expect_parse_error("{\"name\":\"n\",\"plugins\":{}}", 7, "\"plugins\" must be an array");
	expect_parse_error("{\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},{}]}", 7,
			   "plugins[1]: missing 'type'");
	expect_parse_error("{\"name\":\"n\",\"plugins\":[{\"type\":\"\"}]}", 7, "missing 'type'");
	expect_parse_error("{\"name\":\"n\",\"plugins\":[3]}", 7, "plugins[0] must be an object");
	expect_parse_error(
	    "{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"capabilities\":{\"mac\":1}}]}", 7,
	    "capabilities.\"mac\" must be a boolean");
	expect_parse_error("{\"name\":\"n\",\"plugins\":[{\"type\":\"a\",\"ipam\":[]}]}", 7,
			   "\"ipam\" must be an object");
	expect_parse_error(
	    "{\"name\":\"n\",\"disableCheck\":\"yes\",\"plugins\":[{\"type\":\"a\"}]}", 7,
	    "\"disableCheck\" must be a boolean");
	expect_parse_error("{\"name\":\"n\",\"cniVersions\":[1],\"plugins\":[{\"type\":\"a\"}]}", 7,
			   "cniVersions");
	expect_parse_error("{\"name\":\"n\",\"cniVersion\":1,\"type\":\"a\"}", 7,
			   "\"cniVersion\" must be a string");
	expect_parse_error("{\"name\":\"n\",\"type\":7}", 7, "\"type\" must be a string");
}
END_TEST

static char *stdin_for(const char *conf, size_t i, const char *prev, const char *caps)
{
	struct cni_conflist l;
	struct cni_err err = { 0 };
	cJSON *p = prev ? cJSON_Parse(prev) : NULL, *c = caps ? cJSON_Parse(caps) : NULL;
	char *out;

	ck_assert_int_eq(parse(conf, &l, &err), 0);
	out = cni_conflist_plugin_stdin(&l, i, p, c, NULL, &err);
	ck_assert_ptr_nonnull(out);
	cni_conflist_free(&l);
	cJSON_Delete(p);
	cJSON_Delete(c);
	return out;
}

START_TEST(stdin_injects_name_version_and_sorts)
{
	char *s = stdin_for(
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[{\"type\":\"bridge\","
	    "\"name\":\"other\",\"cniVersion\":\"0.3.1\",\"zeta\":{\"b\":1,\"a\":2}}]}",
	    0, NULL, NULL);

	ck_assert_str_eq(s, "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":\"bridge\","
			    "\"zeta\":{\"a\":2,\"b\":1}}");
	free(s);
}
END_TEST

START_TEST(runtime_config_filtered_by_declared_capabilities)
{
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\","
			   "\"capabilities\":{\"mac\":true,\"ips\":false,\"portMappings\":true},"
			   "\"runtimeConfig\":{\"stale\":1}}]}";
	char *s =
	    stdin_for(conf, 0, NULL,
		      "{\"mac\":\"c2:00:00:00:00:01\",\"ips\":[\"10.0.0.1/24\"],\"bandwidth\":{}}");

	ck_assert_str_eq(s, "{\"capabilities\":{\"ips\":false,\"mac\":true,\"portMappings\":true},"
			    "\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"runtimeConfig\":{\"mac\":"
			    "\"c2:00:00:00:00:01\"},\"type\":\"a\"}");
	free(s);
	/* no declared capability supplied: no runtimeConfig injected, the original one stays */
	s = stdin_for(conf, 0, NULL, "{\"ips\":[\"10.0.0.1/24\"]}");
	ck_assert_ptr_nonnull(strstr(s, "\"runtimeConfig\":{\"stale\":1}"));
	free(s);
}
END_TEST

START_TEST(prev_result_injected_in_place)
{
	char *s = stdin_for(
	    "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"a\"},"
	    "{\"type\":\"tuning\"}]}",
	    1, "{\"cniVersion\":\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[]}", NULL);

	ck_assert_str_eq(s,
			 "{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"prevResult\":{\"cniVersion\":"
			 "\"0.4.0\",\"interfaces\":[{\"name\":\"eth0\"}],\"ips\":[]},\"type\":"
			 "\"tuning\"}");
	free(s);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, conflist_and_conf_shapes);
	tcase_add_test(tc, highest_supported_of_cni_versions_wins);
	tcase_add_test(tc, booleans_accept_go_strings);
	tcase_add_test(tc, bad_configs_name_the_field);
	tcase_add_test(tc, stdin_injects_name_version_and_sorts);
	tcase_add_test(tc, runtime_config_filtered_by_declared_capabilities);
	tcase_add_test(tc, prev_result_injected_in_place);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(config_suite)

/* test/unit/test_cni_spec.c: verbs, versions, name validation and CNI_ARGS at their boundaries.
 * Expected codes and texts are libcni's (pkg/utils, pkg/types/args.go). */
#include "cni/spec.h"
#include "test/unit/unit.h"

static void expect_err(int rc, struct cni_err *err, unsigned code, const char *msg)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_uint_eq(err->code, code);
	ck_assert_str_eq(err->msg, msg);
	cni_err_clear(err);
}

START_TEST(container_id_accepts_libcni_charset)
{
	struct cni_err err = { 0 };
	static const char *ok[] = {
		"a",   "0",
		"Z9",  "abc-def_ghi.jkl",
		"a..", "a-",
		"a_",  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(cni_validate_container_id(ok[i], &err) == 0, "rejected %s", ok[i]);
}
END_TEST

START_TEST(container_id_empty_is_code_3_bad_chars_code_4)
{
	struct cni_err err = { 0 };
	static const char *bad[] = { "-a", "_a", ".a", "a/b", "a b", "a:b", "a;b", "é", "../x" };

	expect_err(cni_validate_container_id("", &err), &err, 3, "missing containerID");
	expect_err(cni_validate_container_id(NULL, &err), &err, 3, "missing containerID");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(cni_validate_container_id(bad[i], &err), -1);
		ck_assert_uint_eq(err.code, 4);
		ck_assert_str_eq(err.msg, "invalid characters in containerID");
		ck_assert_str_eq(err.details, bad[i]);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(network_name_errors_are_code_7)
{
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_validate_network_name("net-1.a_b", &err), 0);
	expect_err(cni_validate_network_name("", &err), &err, 7, "missing network name:");
	expect_err(cni_validate_network_name("a/b", &err), &err, 7,
		   "invalid characters found in network name");
	expect_err(cni_validate_network_name("-a", &err), &err, 7,
		   "invalid characters found in network name");
}
END_TEST

START_TEST(ifname_boundaries)
{
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_validate_ifname("eth0", &err), 0);
	ck_assert_int_eq(cni_validate_ifname("123456789012345", &err), 0); /* 15 bytes */
	ck_assert_int_eq(cni_validate_ifname("-weird.name_", &err), 0);
	ck_assert_int_eq(cni_validate_ifname("...", &err), 0);
	expect_err(cni_validate_ifname("1234567890123456", &err), &err, 4,
		   "interface name is too long");
	expect_err(cni_validate_ifname("", &err), &err, 4, "interface name is empty");
	expect_err(cni_validate_ifname(".", &err), &err, 4, "interface name is . or ..");
	expect_err(cni_validate_ifname("..", &err), &err, 4, "interface name is . or ..");
	expect_err(cni_validate_ifname("a/b", &err), &err, 4,
		   "interface name contains / or : or whitespace characters");
	expect_err(cni_validate_ifname("a:b", &err), &err, 4,
		   "interface name contains / or : or whitespace characters");
	expect_err(cni_validate_ifname("a b", &err), &err, 4,
		   "interface name contains / or : or whitespace characters");
	expect_err(cni_validate_ifname("a\tb", &err), &err, 4,
		   "interface name contains / or : or whitespace characters");
	/* U+00A0 NO-BREAK SPACE and U+3000 are whitespace to Go */
	expect_err(cni_validate_ifname("a\xc2\xa0"
				       "b",
				       &err),
		   &err, 4, "interface name contains / or : or whitespace characters");
	expect_err(cni_validate_ifname("a\xe3\x80\x80", &err), &err, 4,
		   "interface name contains / or : or whitespace characters");
	/* 15 bytes of UTF-8 are fine, 16 are not, whatever the rune count */
	ck_assert_int_eq(
	    cni_validate_ifname("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", &err),
	    0);
	expect_err(cni_validate_ifname(
		       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", &err),
		   &err, 4, "interface name is too long");
}
END_TEST

START_TEST(versions_compare_numerically)
{
	bool bad = false;

	ck_assert_int_lt(cni_version_cmp("0.3.1", "0.4.0", &bad), 0);
	ck_assert_int_gt(cni_version_cmp("1.10.0", "1.9.0", &bad), 0);
	ck_assert_int_eq(cni_version_cmp("", "0.1.0", &bad), 0);
	ck_assert_int_eq(cni_version_cmp(NULL, "0.1.0", &bad), 0);
	ck_assert(!bad);
	cni_version_cmp("1.0", "1.0.0", &bad);
	ck_assert(bad);
	bad = false;
	cni_version_cmp("1.0.0-rc1", "1.0.0", &bad);
	ck_assert(bad);
	ck_assert(cni_version_ge("1.1.0", "0.4.0"));
	ck_assert(!cni_version_ge("0.3.1", "0.4.0"));
	ck_assert(!cni_version_ge("x", "0.1.0"));
	ck_assert(cni_version_supported("0.3.1"));
	ck_assert(!cni_version_supported("0.3.2"));
	ck_assert(!cni_version_supported("1.1"));
	ck_assert(!cni_version_supported(NULL));
}
END_TEST

START_TEST(verbs_parse_exactly)
{
	ck_assert_int_eq(cni_verb_parse("ADD"), CNI_VERB_ADD);
	ck_assert_int_eq(cni_verb_parse("STATUS"), CNI_VERB_STATUS);
	ck_assert_int_eq(cni_verb_parse("add"), CNI_VERB_NONE);
	ck_assert_int_eq(cni_verb_parse(""), CNI_VERB_NONE);
	ck_assert_str_eq(cni_verb_name(CNI_VERB_GC), "GC");
}
END_TEST

START_TEST(cni_args_kubernetes_form)
{
	struct cni_args a;
	struct cni_err err = { 0 };
	static const char *const known[] = { "K8S_POD_NAME", NULL };

	ck_assert_int_eq(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;"
					"K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=1-2-3",
					&a, &err),
			 0);
	ck_assert_uint_eq(a.n, 5);
	ck_assert(a.ignore_unknown);
	ck_assert_str_eq(cni_args_get(&a, "K8S_POD_UID"), "1-2-3");
	ck_assert_ptr_null(cni_args_get(&a, "nope"));
	ck_assert_int_eq(cni_args_check_known(&a, known, &err), 0);
	cni_args_free(&a);
}
END_TEST

START_TEST(cni_args_edge_cases)
{
	struct cni_args a;
	struct cni_err err = { 0 };
	static const char *const known[] = { "IP", NULL };

	ck_assert_int_eq(cni_args_parse("", &a, &err), 0);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_int_eq(cni_args_parse(NULL, &a, &err), 0);
	/* empty value and empty key split into two parts: accepted, as in Go */
	ck_assert_int_eq(cni_args_parse("A=;=b", &a, &err), 0);
	ck_assert_str_eq(cni_args_get(&a, "A"), "");
	ck_assert_str_eq(cni_args_get(&a, ""), "b");
	cni_args_free(&a);
	expect_err(cni_args_parse("K:V", &a, &err), &err, 4, "ARGS: invalid pair \"K:V\"");
	expect_err(cni_args_parse("A=1;B=2=3", &a, &err), &err, 4, "ARGS: invalid pair \"B=2=3\"");
	expect_err(cni_args_parse("A=1;", &a, &err), &err, 4, "ARGS: invalid pair \"\"");
	ck_assert_int_eq(cni_args_parse("IgnoreUnknown=TRUE", &a, &err), 0);
	ck_assert(a.ignore_unknown);
	cni_args_free(&a);
	ck_assert_int_eq(cni_args_parse("IgnoreUnknown=0;X=1", &a, &err), 0);
	ck_assert(!a.ignore_unknown);
	expect_err(cni_args_check_known(&a, known, &err), &err, 4, "ARGS: unknown args [\"X=1\"]");
	cni_args_free(&a);
	ck_assert_int_eq(cni_args_parse("IgnoreUnknown=yes", &a, &err), -1);
	ck_assert_uint_eq(err.code, 4);
	cni_err_clear(&err);
	ck_assert_int_eq(cni_args_parse("IP=10.0.0.1/24;X=1;Y=2", &a, &err), 0);
	expect_err(cni_args_check_known(&a, known, &err), &err, 4,
		   "ARGS: unknown args [\"X=1\" \"Y=2\"]");
	cni_args_free(&a);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, container_id_accepts_libcni_charset);
	tcase_add_test(tc, container_id_empty_is_code_3_bad_chars_code_4);
	tcase_add_test(tc, network_name_errors_are_code_7);
	tcase_add_test(tc, ifname_boundaries);
	tcase_add_test(tc, versions_compare_numerically);
	tcase_add_test(tc, verbs_parse_exactly);
	tcase_add_test(tc, cni_args_kubernetes_form);
	tcase_add_test(tc, cni_args_edge_cases);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(spec_suite)

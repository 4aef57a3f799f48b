/* test/unit/test_meta_defroute.c: default-route requests: ECMP refusal, which attachment filters,
 * and result edits in every result shape (Multus pkg/multus/multus.go cmdAdd's default-route
 * handling, without its bugs #1011 and "::/0"). */
#include <sys/socket.h>

#include "meta/defroute.h"
#include "test/unit/unit.h"

static void plan_of(struct meta_plan *p, const char *const *gws, size_t n)
{
	memset(p, 0, sizeof(*p));
	p->att = calloc(n, sizeof(*p->att));
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		p->att[i].status_name = strdup(i ? "ns/net" : "cluster");
		p->att[i].gateways = gws[i] ? cJSON_Parse(gws[i]) : NULL;
	}
}

START_TEST(one_gateway_per_family_is_fine_two_are_ecmp)
{
	static const char *const ok[] = { NULL, "[\"10.0.0.1\",\"fd00::1\"]", "[]" };
	static const char *const ecmp[] = { NULL, "[\"10.0.0.1\"]", "[\"10.1.0.1\"]" };
	static const char *const bad[] = { NULL, "[\"not-an-ip\"]" };
	struct cni_err err = { 0 };
	struct meta_plan p;

	plan_of(&p, ok, 3);
	ck_assert_int_eq(meta_defroute_check(&p, &err), 0);
	meta_plan_free(&p);
	plan_of(&p, ecmp, 3);
	ck_assert_int_eq(meta_defroute_check(&p, &err), -1);
	ck_assert_str_eq(err.msg, "multus does not support ECMP for default-route");
	cni_err_clear(&err);
	meta_plan_free(&p);
	plan_of(&p, bad, 2);
	ck_assert_int_eq(meta_defroute_check(&p, &err), -1);
	ck_assert_uint_eq(err.code, 7);
	cni_err_clear(&err);
	meta_plan_free(&p);
}
END_TEST

START_TEST(others_filter_only_the_family_that_was_requested)
{
	static const char *const gws[] = { NULL, "[\"10.0.0.1\"]" };
	struct meta_plan p;
	const char *gw;
	bool filter;

	plan_of(&p, gws, 2);
	meta_defroute_for(&p, 0, AF_INET, &gw, &filter);
	ck_assert_ptr_null(gw);
	ck_assert(filter);
	meta_defroute_for(&p, 0, AF_INET6, &gw, &filter);
	ck_assert(!filter);
	meta_defroute_for(&p, 1, AF_INET, &gw, &filter);
	ck_assert_str_eq(gw, "10.0.0.1");
	ck_assert(!filter);
	meta_plan_free(&p);
}
END_TEST

START_TEST(empty_request_filters_nothing)
{
	static const char *const gws[] = { NULL, "[]" };
	struct meta_plan p;
	const char *gw;
	bool filter;

	plan_of(&p, gws, 2);
	for (size_t i = 0; i < 2; i++) {
		meta_defroute_for(&p, i, AF_INET, &gw, &filter);
		ck_assert(!filter);
		ck_assert_ptr_null(gw);
	}
	meta_plan_free(&p);
}
END_TEST

static void expect_edit(const char *in, int family, const char *gw, const char *want)
{
	cJSON *r = cJSON_Parse(in);
	char *got;

	ck_assert_int_eq(meta_defroute_result(r, family, gw), 0);
	got = cJSON_PrintUnformatted(r);
	ck_assert_json_eq(got, want);
	free(got);
	cJSON_Delete(r);
}

START_TEST(result_edits_in_every_shape)
{
	/* every spelling of a default destination goes, other routes stay */
	expect_edit(
	    "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"},"
	    "{\"dst\":\"10.9.0.0/16\"},{\"dst\":\"::/0\"},{\"dst\":\"::0/0\"}]}",
	    AF_INET6, NULL,
	    "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"},"
	    "{\"dst\":\"10.9.0.0/16\"}]}");
	expect_edit(
	    "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.0.0.1\"}]}",
	    AF_INET, "10.1.0.1",
	    "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\"}]}");
	expect_edit(
	    "{\"cniVersion\":\"1.0.0\"}", AF_INET, "10.1.0.1",
	    "{\"cniVersion\":\"1.0.0\",\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.0.1\"}]}");
	expect_edit(
	    "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/24\",\"routes\":[{\"dst\":"
	    "\"0.0.0.0/0\"},{\"dst\":\"10.8.0.0/16\"}]}}",
	    AF_INET, NULL,
	    "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.5/24\",\"routes\":[{\"dst\":"
	    "\"10.8.0.0/16\"}]}}");
}
END_TEST

static Suite *defroute_suite(void)
{
	Suite *s = suite_create("defroute");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, one_gateway_per_family_is_fine_two_are_ecmp);
	tcase_add_test(tc, others_filter_only_the_family_that_was_requested);
	tcase_add_test(tc, empty_request_filters_nothing);
	tcase_add_test(tc, result_edits_in_every_shape);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(defroute_suite)

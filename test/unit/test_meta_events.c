/* test/unit/test_meta_events.c: AddedInterface events as Multus words them (Multus
 * pkg/multus/multus.go delegateAdd: "Add %s %v from %s"). */
#include "meta/events.h"
#include "meta/plan.h"
#include "test/unit/unit.h"

static struct meta_attachment att(const char *ifname, const char *status)
{
	struct meta_attachment a = { 0 };

	a.ifname = (char *)ifname;
	a.status_name = (char *)status;
	a.network = (char *)"net";
	return a;
}

static void expect_message(const char *result, const char *ifname, const char *status,
			   const char *want)
{
	cJSON *r = cJSON_Parse(result);
	struct meta_attachment a = att(ifname, status);
	char *got = meta_added_interface_message(&a, r);

	if (!want)
		ck_assert_msg(got == NULL, "want no event, got \"%s\"", got);
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "got \"%s\", want \"%s\"", got, want);
	free(got);
	cJSON_Delete(r);
}

START_TEST(message_lists_the_results_addresses_and_the_network)
{
	expect_message(
	    "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net1\"}],\"ips\":["
	    "{\"address\":\"10.1.1.2/24\",\"interface\":0},{\"address\":\"fd00::2/64\"}]}",
	    "net1", "ns1/blue", "Add net1 [10.1.1.2/24 fd00::2/64] from ns1/blue");
}
END_TEST

START_TEST(older_results_are_read_as_the_current_version)
{
	expect_message("{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.9.0.5/16\"}}", "eth0",
		       "cluster", "Add eth0 [10.9.0.5/16] from cluster");
}
END_TEST

START_TEST(interface_without_addresses_still_gets_its_event)
{
	expect_message("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net2\"}]}", "net2",
		       "ns1/l2", "Add net2 [] from ns1/l2");
	/* a network without a name: Multus drops the "from" part */
	expect_message("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"net2\"}]}", "net2",
		       "", "Add net2 []");
}
END_TEST

START_TEST(empty_result_gets_no_event)
{
	expect_message("{\"cniVersion\":\"1.0.0\"}", "net3", "ns1/x", NULL);
}
END_TEST

START_TEST(events_of_an_add_skip_attachments_without_result)
{
	struct meta_plan plan = { 0 };
	struct meta_attachment a[2] = { att("eth0", "cluster"), att("net1", "ns1/blue") };
	cJSON *results[2] = { cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
					  "\"10.0.0.2/24\"}]}"),
			      NULL };
	cJSON *ev;
	char *text;

	plan.att = a;
	plan.n = 2;
	ev = meta_added_interface_events(&plan, results);
	text = cJSON_PrintUnformatted(ev);
	ck_assert_json_eq(text, "[{\"type\":\"Normal\",\"reason\":\"AddedInterface\","
				"\"message\":\"Add eth0 [10.0.0.2/24] from cluster\"}]");
	free(text);
	cJSON_Delete(ev);
	cJSON_Delete(results[0]);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, message_lists_the_results_addresses_and_the_network);
	tcase_add_test(tc, older_results_are_read_as_the_current_version);
	tcase_add_test(tc, interface_without_addresses_still_gets_its_event);
	tcase_add_test(tc, empty_result_gets_no_event);
	tcase_add_test(tc, events_of_an_add_skip_attachments_without_result);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(events_suite)

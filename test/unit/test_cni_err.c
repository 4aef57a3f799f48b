/* test/unit/test_cni_err.c: cni/err: set, details, prefix, join, move, the out-of-memory error,
 * the CNI error object both ways (CNI spec 1.1 "Error" section), and cni_quote. The quoting
 * expectations are Go's %q (strconv.Quote) written from the Go spec and strconv's documentation,
 * not from cni/err.c: "\"" and "\\" escaped, \a \b \f \n \r \t \v by letter, other control
 * bytes as \x with two lower-case hex digits, printable UTF-8 as it is. */
#include "cni/err.h"
#include "test/unit/unit.h"

START_TEST(set_replaces_message_and_clears_details)
{
	struct cni_err err = { 0 };

	ck_assert(!cni_err_isset(&err));
	ck_assert_int_eq(cni_err_set(&err, CNI_ERR_IO, "open %s: %d", "/x", 2), -1);
	ck_assert(cni_err_isset(&err));
	ck_assert_uint_eq(err.code, 5);
	ck_assert_str_eq(err.msg, "open /x: 2");
	ck_assert_int_eq(cni_err_details(&err, "detail %c", 'd'), -1);
	ck_assert_str_eq(err.details, "detail d");
	ck_assert_int_eq(cni_err_set(&err, CNI_ERR_DECODE, "second"), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_str_eq(err.msg, "second");
	ck_assert_ptr_null(err.details);
	cni_err_clear(&err);
	ck_assert_ptr_null(err.msg);
	ck_assert_uint_eq(err.code, 0);
	cni_err_clear(&err); /* twice is harmless */
	ck_assert_int_eq(cni_err_set(NULL, 1, "x"), -1);
}
END_TEST

START_TEST(details_keep_code_and_message)
{
	struct cni_err err = { 0 };

	cni_err_set(&err, CNI_ERR_INVALID_CONFIG, "bad");
	cni_err_details(&err, "one");
	cni_err_details(&err, "two");
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "bad");
	ck_assert_str_eq(err.details, "two");
	cni_err_clear(&err);
}
END_TEST

START_TEST(prefix_goes_before_the_message)
{
	struct cni_err err = { 0 };

	cni_err_set(&err, CNI_ERR_IO, "no such file");
	ck_assert_int_eq(cni_err_prefix(&err, "delegate %s", "net1"), -1);
	ck_assert_str_eq(err.msg, "delegate net1: no such file");
	cni_err_prefix(&err, "ADD");
	ck_assert_str_eq(err.msg, "ADD: delegate net1: no such file");
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
	/* nothing set yet: the prefix alone, with its separator */
	cni_err_prefix(&err, "p");
	ck_assert_str_eq(err.msg, "p: ");
	cni_err_clear(&err);
}
END_TEST

START_TEST(join_moves_the_first_and_appends_the_rest)
{
	struct cni_err all = { 0 }, one = { 0 };

	cni_err_set(&one, CNI_ERR_IO, "a");
	cni_err_details(&one, "why a");
	cni_err_join(&all, &one, " / ");
	ck_assert_ptr_null(one.msg);
	ck_assert_uint_eq(all.code, 5);
	ck_assert_str_eq(all.msg, "a");
	ck_assert_str_eq(all.details, "why a");
	cni_err_set(&one, CNI_ERR_INTERNAL, "b");
	cni_err_join(&all, &one, " / ");
	cni_err_set(&one, CNI_ERR_DECODE, "c");
	cni_err_join(&all, &one, "; ");
	ck_assert_ptr_null(one.msg);
	ck_assert_uint_eq(all.code, 5); /* the first failure's code stands */
	ck_assert_str_eq(all.msg, "a / b; c");
	cni_err_clear(&all);
}
END_TEST

START_TEST(move_clears_the_destination_and_empties_the_source)
{
	struct cni_err dst = { 0 }, src = { 0 };

	cni_err_set(&dst, CNI_ERR_IO, "old");
	cni_err_details(&dst, "old details");
	cni_err_set(&src, CNI_ERR_TRY_AGAIN, "new");
	cni_err_move(&dst, &src);
	ck_assert_uint_eq(dst.code, 11);
	ck_assert_str_eq(dst.msg, "new");
	ck_assert_ptr_null(dst.details);
	ck_assert_ptr_null(src.msg);
	ck_assert_uint_eq(src.code, 0);
	cni_err_clear(&dst);
}
END_TEST

START_TEST(oom_is_code_999_out_of_memory)
{
	struct cni_err err = { 0 };

	cni_err_set(&err, CNI_ERR_IO, "earlier");
	ck_assert_int_eq(cni_err_oom(&err), -1);
	ck_assert_uint_eq(err.code, 999);
	ck_assert_str_eq(err.msg, "out of memory");
	cni_err_clear(&err);
}
END_TEST

static char *print(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);

	cJSON_Delete(j);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(error_object_to_json)
{
	struct cni_err err = { 0 };
	char *s;

	cni_err_set(&err, CNI_ERR_INVALID_NETNS, "netns \"x\" gone");
	s = print(cni_err_to_json(&err, "1.0.0"));
	ck_assert_json_eq(s,
			  "{\"cniVersion\":\"1.0.0\",\"code\":8,\"msg\":\"netns \\\"x\\\" gone\"}");
	free(s);
	cni_err_details(&err, "d");
	s = print(cni_err_to_json(&err, NULL));
	ck_assert_json_eq(s, "{\"code\":8,\"msg\":\"netns \\\"x\\\" gone\",\"details\":\"d\"}");
	free(s);
	cni_err_details(&err, "%s", ""); /* empty details are left out */
	s = print(cni_err_to_json(&err, ""));
	ck_assert_json_eq(s, "{\"code\":8,\"msg\":\"netns \\\"x\\\" gone\"}");
	free(s);
	cni_err_clear(&err);
}
END_TEST

START_TEST(error_object_from_json)
{
	struct cni_err err = { 0 };

	ck_assert_int_eq(
	    cni_err_from_json(
		"{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"m\",\"details\":\"d\"}", &err),
	    0);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "m");
	ck_assert_str_eq(err.details, "d");
	/* a missing msg reads as empty, empty details as none */
	ck_assert_int_eq(cni_err_from_json("{\"code\":100,\"details\":\"\"}", &err), 0);
	ck_assert_uint_eq(err.code, 100);
	ck_assert_str_eq(err.msg, "");
	ck_assert_ptr_null(err.details);
	/* not an error object: err untouched */
	static const char *const not_errors[] = {
		"",
		"not json",
		"[]",
		"{\"msg\":\"no code\"}",
		"{\"code\":\"7\",\"msg\":\"m\"}",
		"{\"code\":-1}",
		"null",
	};
	for (size_t i = 0; i < sizeof(not_errors) / sizeof(not_errors[0]); i++) {
		ck_assert_msg(cni_err_from_json(not_errors[i], &err) == -1, "accepted %s",
			      not_errors[i]);
		ck_assert_uint_eq(err.code, 100);
		ck_assert_str_eq(err.msg, "");
	}
	ck_assert_int_eq(cni_err_from_json(NULL, &err), -1);
	cni_err_clear(&err);
}
END_TEST

static void quoted(const char *in, size_t max, const char *want)
{
	char *got = cni_quote(in, max);

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got, want) == 0, "cni_quote(max %zu): got %s, want %s", max, got,
		      want);
	free(got);
}

START_TEST(quote_as_go_percent_q)
{
	/* fmt.Sprintf("%q", s) for each of these */
	quoted("", 0, "\"\"");
	quoted("plain text", 0, "\"plain text\"");
	quoted("a\"b\\c", 0, "\"a\\\"b\\\\c\"");
	quoted("\a\b\f\n\r\t\v", 0, "\"\\a\\b\\f\\n\\r\\t\\v\"");
	quoted("\x01\x1b[31m\x1f\x7f", 0, "\"\\x01\\x1b[31m\\x1f\\x7f\"");
	quoted("it's 'fine'", 0, "\"it's 'fine'\"");
	quoted("caf\xc3\xa9 \xe2\x9c\x93", 0, "\"caf\xc3\xa9 \xe2\x9c\x93\"");
}
END_TEST

START_TEST(quote_cap_counts_input_bytes_and_marks_the_cut)
{
	quoted("abcdef", 3, "\"abc\"...");
	quoted("abc", 3, "\"abc\"");
	quoted("abc", 0, "\"abc\"");
	quoted("abcdef", 100, "\"abcdef\"");
	/* the cut falls after an escaped byte: it is escaped whole */
	quoted("a\nbc", 2, "\"a\\n\"...");
	quoted("\x01\x02\x03", 1, "\"\\x01\"...");
}
END_TEST

static Suite *err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, set_replaces_message_and_clears_details);
	tcase_add_test(tc, details_keep_code_and_message);
	tcase_add_test(tc, prefix_goes_before_the_message);
	tcase_add_test(tc, join_moves_the_first_and_appends_the_rest);
	tcase_add_test(tc, move_clears_the_destination_and_empties_the_source);
	tcase_add_test(tc, oom_is_code_999_out_of_memory);
	tcase_add_test(tc, error_object_to_json);
	tcase_add_test(tc, error_object_from_json);
	tcase_add_test(tc, quote_as_go_percent_q);
	tcase_add_test(tc, quote_cap_counts_input_bytes_and_marks_the_cut);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(err_suite)

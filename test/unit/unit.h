/* test/unit/unit.h: shared helpers for the Check suites: one binary per module.
 * Each test file defines its suite and ends with UNIT_MAIN(suite_fn). */
#ifndef PLEXUS_TEST_UNIT_H
#define PLEXUS_TEST_UNIT_H

#include <check.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Compares two JSON texts structurally (key order ignored), failing with both texts. */
#define ck_assert_json_eq(got, want)                                                               \
	do {                                                                                       \
		cJSON *g_ = cJSON_Parse(got), *w_ = cJSON_Parse(want);                             \
		ck_assert_msg(w_ != NULL, "expected JSON does not parse: %s", want);               \
		ck_assert_msg(g_ != NULL, "got JSON does not parse: %s",                           \
			      (got) ? (got) : "(null)");                                           \
		int eq_ = cJSON_Compare(g_, w_, 1);                                                \
		cJSON_Delete(g_);                                                                  \
		cJSON_Delete(w_);                                                                  \
		ck_assert_msg(eq_, "JSON differs\n  got:  %s\n  want: %s", got, want);             \
	} while (0)

#define UNIT_MAIN(suite_fn)                                                                        \
	int main(void)                                                                             \
	{                                                                                          \
		SRunner *sr = srunner_create(suite_fn());                                          \
		srunner_run_all(sr, CK_NORMAL);                                                    \
		int failed_ = srunner_ntests_failed(sr);                                           \
		srunner_free(sr);                                                                  \
		return failed_ ? EXIT_FAILURE : EXIT_SUCCESS;                                      \
	}

#endif

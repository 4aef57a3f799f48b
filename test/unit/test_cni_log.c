/* test/unit/test_cni_log.c: the logger's clock format (cni/log.h cni_rfc3339) and the stamp of
 * its lines. The expected stamps come from date(1): `date -u -d @T +%Y-%m-%dT%H:%M:%SZ`. */
#include <regex.h>
#include <sys/stat.h>

#include "cni/file.h"
#include "cni/log.h"
#include "test/unit/unit.h"

START_TEST(rfc3339_to_the_second_and_to_the_microsecond)
{
	char buf[CNI_RFC3339_MAX];

	ck_assert_str_eq(cni_rfc3339(0, -1, buf), "1970-01-01T00:00:00Z");
	ck_assert_str_eq(cni_rfc3339(1796533200, -1, buf), "2026-12-06T05:00:00Z");
	ck_assert_str_eq(cni_rfc3339(951782400, -1, buf), "2000-02-29T00:00:00Z");
	ck_assert_str_eq(cni_rfc3339(253402300799, -1, buf), "9999-12-31T23:59:59Z");
	ck_assert_str_eq(cni_rfc3339(1796533200, 7, buf), "2026-12-06T05:00:00.000007Z");
	ck_assert_str_eq(cni_rfc3339(1796533200, 999999, buf), "2026-12-06T05:00:00.999999Z");
}
END_TEST

START_TEST(rfc3339_refuses_years_of_five_digits)
{
	char buf[CNI_RFC3339_MAX];

	ck_assert_ptr_null(cni_rfc3339(253402300800, -1, buf)); /* 10000-01-01 */
	ck_assert_ptr_null(cni_rfc3339(253402300800, 0, buf));
}
END_TEST

/* A line in the log file: "<stamp to the microsecond> [<level>] <message>" */
START_TEST(log_lines_carry_a_utc_stamp_to_the_microsecond)
{
	char dir[64], path[128], *text;
	struct cni_err err = { 0 };
	regex_t re;
	size_t len;

	unit_tmpdir(dir, sizeof(dir), "log");
	snprintf(path, sizeof(path), "%s/plexus.log", dir);
	cni_log_set_stderr(false);
	cni_log_set_level(CNI_LOG_ERROR);
	ck_assert_int_eq(cni_log_set_file(path), 0);
	log_error("the %s", "message");
	cni_log_close();
	text = cni_read_file(path, 4096, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(
	    regcomp(&re,
		    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z "
		    "\\[error\\] the message\n$",
		    REG_EXTENDED),
	    0);
	ck_assert_msg(regexec(&re, text, 0, NULL, 0) == 0, "log line: %s", text);
	regfree(&re);
	free(text);
	ck_assert_int_eq(unit_rmtree(dir), 0);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("cni_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, rfc3339_to_the_second_and_to_the_microsecond);
	tcase_add_test(tc, rfc3339_refuses_years_of_five_digits);
	tcase_add_test(tc, log_lines_carry_a_utc_stamp_to_the_microsecond);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(log_suite)

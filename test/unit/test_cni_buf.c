/* test/unit/test_cni_buf.c: the growable capped buffer (cni/buf.h).
 * As curl's dynbuf: appends up to the cap, one past it is a distinct error that sticks. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "cni/buf.h"
#include "test/unit/unit.h"

START_TEST(appends_up_to_the_cap_exactly)
{
	struct cni_buf b;
	size_t len = 99;
	char *got;

	cni_buf_init(&b, 8, false);
	ck_assert_int_eq(cni_buf_add(&b, "abcd", 4), 0);
	ck_assert_int_eq(cni_buf_adds(&b, "ef"), 0);
	ck_assert_int_eq(cni_buf_printf(&b, "%d", 78), 0);
	ck_assert_str_eq(b.data, "abcdef78");
	got = cni_buf_take(&b, &len);
	ck_assert_str_eq(got, "abcdef78");
	ck_assert_uint_eq(len, 8);
	ck_assert_ptr_null(b.data);
	free(got);
	/* reusable after take, with the same cap */
	ck_assert_int_eq(cni_buf_add(&b, "12345678", 8), 0);
	ck_assert_int_eq(cni_buf_add(&b, "9", 1), -EFBIG);
	cni_buf_free(&b);
}
END_TEST

START_TEST(exceeding_the_cap_is_its_own_error_and_sticks)
{
	struct cni_buf b;

	cni_buf_init(&b, 8, false);
	ck_assert_int_eq(cni_buf_add(&b, "abcde", 5), 0);
	ck_assert_int_eq(cni_buf_add(&b, "wxyz", 4), -EFBIG);
	/* nothing of the refused append went in */
	ck_assert_str_eq(b.data, "abcde");
	ck_assert_int_eq(cni_buf_add(&b, "z", 1), -EFBIG);
	ck_assert_int_eq(cni_buf_printf(&b, "%s", "z"), -EFBIG);
	ck_assert_ptr_null(cni_buf_take(&b, NULL));
	cni_buf_free(&b);

	cni_buf_init(&b, 4, false);
	b.status = -ENOMEM; /* as after a failed allocation */
	ck_assert_int_eq(cni_buf_add(&b, "a", 1), -ENOMEM);
	ck_assert_int_eq(cni_buf_printf(&b, "x"), -ENOMEM);
	ck_assert_ptr_null(cni_buf_take(&b, NULL));
	cni_buf_free(&b);
}
END_TEST

START_TEST(cut_removes_the_bytes_named_and_keeps_the_rest)
{
	struct cni_buf b;

	cni_buf_init(&b, 16, true);
	cni_buf_cut(&b, 0, 3); /* nothing held: nothing to do */
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(cni_buf_adds(&b, "head:used|rest"), 0);
	cni_buf_cut(&b, 5, 5);
	ck_assert_str_eq(b.data, "head:rest");
	ck_assert_uint_eq(b.len, 9);
	/* the tail moved out is zeroed in a wiping buffer, past the NUL */
	ck_assert_int_eq(b.data[10], 0);
	ck_assert_int_eq(b.data[13], 0);
	/* clamped: past the end, more than is held */
	cni_buf_cut(&b, 9, 4);
	ck_assert_str_eq(b.data, "head:rest");
	cni_buf_cut(&b, 4, 100);
	ck_assert_str_eq(b.data, "head");
	/* what was cut makes room under the cap again */
	ck_assert_int_eq(cni_buf_adds(&b, "0123456789ab"), 0);
	ck_assert_int_eq(cni_buf_adds(&b, "c"), -EFBIG);
	cni_buf_free(&b);
}
END_TEST

START_TEST(take_of_nothing_is_an_empty_string)
{
	struct cni_buf b;
	size_t len = 99;
	char *got;

	cni_buf_init(&b, SIZE_MAX, false);
	got = cni_buf_take(&b, &len);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(len, 0);
	free(got);
}
END_TEST

START_TEST(grows_past_many_blocks)
{
	struct cni_buf b;
	char *got;

	cni_buf_init(&b, SIZE_MAX, false);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(cni_buf_printf(&b, "%04d", i), 0);
	ck_assert_uint_eq(b.len, 40000);
	got = cni_buf_take(&b, NULL);
	ck_assert_int_eq(strncmp(got, "000000010002", 12), 0);
	ck_assert_str_eq(got + 39996, "9999");
	free(got);
}
END_TEST

/* A pipe holding text, its write end closed. */
static int pipe_with(const char *text)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

START_TEST(read_sees_the_cap_crossed_by_one_byte)
{
	struct cni_buf b;
	int fd = pipe_with("0123456789");
	ssize_t n;

	cni_buf_init(&b, 9, false);
	while ((n = cni_buf_read(&b, fd, 4)) > 0)
		;
	ck_assert_int_eq(n, -EFBIG);
	ck_assert_int_eq(cni_buf_read(&b, fd, 4), -EFBIG);
	cni_buf_free(&b);
	close(fd);

	fd = pipe_with("0123456789");
	cni_buf_init(&b, 10, false);
	while ((n = cni_buf_read(&b, fd, 4)) > 0)
		;
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(b.data, "0123456789");
	cni_buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(read_passes_eagain_up)
{
	struct cni_buf b;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	cni_buf_init(&b, 100, false);
	ck_assert_int_eq(cni_buf_read(&b, p[0], 10), -EAGAIN);
	cni_buf_free(&b);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("cni_buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, appends_up_to_the_cap_exactly);
	tcase_add_test(tc, exceeding_the_cap_is_its_own_error_and_sticks);
	tcase_add_test(tc, cut_removes_the_bytes_named_and_keeps_the_rest);
	tcase_add_test(tc, take_of_nothing_is_an_empty_string);
	tcase_add_test(tc, grows_past_many_blocks);
	tcase_add_test(tc, read_sees_the_cap_crossed_by_one_byte);
	tcase_add_test(tc, read_passes_eagain_up);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(buf_suite)

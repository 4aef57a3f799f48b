/* test/unit/test_delegates_find.c: dlg_find and dlg_path_split against directories made at test time.
 * Follows delegates/find.h and libcni FindInPath (order, error texts, CVE-2021-20206). */
#include "delegates/find.h"
#include "test/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static char *dir_a, *dir_b, *dir_c;

static char *at(const char *rel)
{
	char *p;

	ck_assert(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	return p;
}

static void setup(void)
{
	unit_tmpdir(tmpdir, sizeof(tmpdir), "find");
	dir_a = at("a");
	dir_b = at("b");
	dir_c = at("c");
	ck_assert_int_eq(mkdir(dir_a, 0755), 0);
	ck_assert_int_eq(mkdir(dir_b, 0755), 0);
	ck_assert_int_eq(mkdir(dir_c, 0755), 0);
}

static void teardown(void)
{
	unit_rmtree(tmpdir);
	free(dir_a);
	free(dir_b);
	free(dir_c);
}

/* Creates tmpdir/rel with the given mode and returns its path (caller frees). */
static char *file(const char *rel, mode_t mode)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	ck_assert_int_eq(chmod(p, mode), 0);
	return p;
}

static void assert_found(const char *type, const char *const *dirs, size_t n, const char *want)
{
	struct cni_err err = { 0 };
	char *got = dlg_find(type, dirs, n, &err);

	ck_assert_msg(got != NULL, "dlg_find(%s) failed: %s", type, err.msg ? err.msg : "");
	ck_assert_str_eq(got, want);
	ck_assert(!cni_err_isset(&err));
	free(got);
}

static void assert_fails(const char *type, const char *const *dirs, size_t n, unsigned code,
			 const char *msg)
{
	struct cni_err err = { 0 };
	char *got = dlg_find(type, dirs, n, &err);

	ck_assert_msg(got == NULL, "expected an error, found %s", got);
	ck_assert_uint_eq(err.code, code);
	ck_assert_str_eq(err.msg, msg);
	cni_err_clear(&err);
}

START_TEST(first_directory_holding_the_plugin_wins)
{
	char *pa = file("a/bridge", 0755), *pb = file("b/bridge", 0755);
	const char *abc[] = { dir_a, dir_b, dir_c };
	const char *cba[] = { dir_c, dir_b, dir_a };

	assert_found("bridge", abc, 3, pa);
	assert_found("bridge", cba, 3, pb);
	free(pa);
	free(pb);
}
END_TEST

START_TEST(symlink_to_an_executable_counts_and_keeps_the_link_path)
{
	char *real = file("b/real", 0755), *link = at("a/bridge");
	const char *dirs[] = { dir_a };

	ck_assert_int_eq(symlink(real, link), 0);
	assert_found("bridge", dirs, 1, link);
	free(real);
	free(link);
}
END_TEST

START_TEST(directory_named_like_the_plugin_is_skipped)
{
	char *sub = at("a/bridge"), *pb = file("b/bridge", 0755);
	const char *dirs[] = { dir_a, dir_b };

	ck_assert_int_eq(mkdir(sub, 0755), 0);
	assert_found("bridge", dirs, 2, pb);
	free(sub);
	free(pb);
}
END_TEST

START_TEST(non_executable_file_is_skipped)
{
	char *pa = file("a/bridge", 0644), *pb = file("b/bridge", 0755);
	const char *dirs[] = { dir_a, dir_b };

	assert_found("bridge", dirs, 2, pb);
	free(pa);
	free(pb);
}
END_TEST

START_TEST(dangling_symlink_and_symlink_to_directory_are_skipped)
{
	char *dangling = at("a/bridge"), *todir = at("b/bridge"), *pc = file("c/bridge", 0755);
	const char *dirs[] = { dir_a, dir_b, dir_c };

	ck_assert_int_eq(symlink("/nonexistent/plexus", dangling), 0);
	ck_assert_int_eq(symlink(dir_a, todir), 0);
	assert_found("bridge", dirs, 3, pc);
	free(dangling);
	free(todir);
	free(pc);
}
END_TEST

START_TEST(empty_directory_entries_are_skipped_and_trailing_slashes_dropped)
{
	char *pb = file("b/bridge", 0755), *slashed;
	const char *dirs[3] = { "", NULL, NULL };

	ck_assert(asprintf(&slashed, "%s//", dir_b) > 0);
	dirs[2] = slashed;
	assert_found("bridge", dirs, 3, pb);
	free(slashed);
	free(pb);
}
END_TEST

START_TEST(relative_directory_is_resolved_against_the_working_directory)
{
	char *pa = file("a/bridge", 0755);
	const char *dirs[] = { "a" };

	ck_assert_int_eq(chdir(tmpdir), 0);
	assert_found("bridge", dirs, 1, pa);
	free(pa);
}
END_TEST

START_TEST(names_with_slash_backslash_or_dotdot_are_invalid)
{
	static const char *bad[] = { "../bridge", "a/b", "/bin/sh", "a\\b", "..", "x..y" };
	const char *dirs[] = { dir_a };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *want;

		ck_assert(asprintf(&want, "invalid plugin name: %s", bad[i]) > 0);
		assert_fails(bad[i], dirs, 1, CNI_ERR_INVALID_CONFIG, want);
		free(want);
	}
}
END_TEST

START_TEST(empty_or_missing_name_is_refused)
{
	const char *dirs[] = { dir_a };

	assert_fails("", dirs, 1, CNI_ERR_INVALID_CONFIG, "no plugin name provided");
	assert_fails(NULL, dirs, 1, CNI_ERR_INVALID_CONFIG, "no plugin name provided");
}
END_TEST

START_TEST(no_directories_is_refused)
{
	const char *empties[] = { "", "" };

	assert_fails("bridge", NULL, 0, CNI_ERR_INTERNAL, "no paths provided");
	assert_fails("bridge", empties, 2, CNI_ERR_INTERNAL, "no paths provided");
}
END_TEST

START_TEST(not_found_names_the_plugin_and_the_directories_like_libcni)
{
	const char *dirs[] = { "/nonexistent/one", "", "/nonexistent/two" };

	assert_fails(
	    "bridge", dirs, 3, CNI_ERR_INTERNAL,
	    "failed to find plugin \"bridge\" in path [/nonexistent/one /nonexistent/two]");
	assert_fails("a\"b\tc", dirs, 1, CNI_ERR_INTERNAL,
		     "failed to find plugin \"a\\\"b\\tc\" in path [/nonexistent/one]");
}
END_TEST

static void assert_split(const char *path, const char *const *want, size_t nwant)
{
	size_t n = 99;
	char **got = dlg_path_split(path, &n);

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(n == nwant, "split(\"%s\"): %zu entries, want %zu", path ? path : "(null)", n,
		      nwant);
	for (size_t i = 0; i < nwant; i++)
		ck_assert_str_eq(got[i], want[i]);
	ck_assert_ptr_null(got[n]);
	dlg_path_free(got);
}

START_TEST(path_split_drops_empty_entries)
{
	const char *three[] = { "/opt/cni/bin", "/usr/lib/cni", "rel" };
	const char *one[] = { "/only" };

	assert_split("/opt/cni/bin:/usr/lib/cni:rel", three, 3);
	assert_split("::/opt/cni/bin:::/usr/lib/cni:rel:", three, 3);
	assert_split("/only", one, 1);
	assert_split("", NULL, 0);
	assert_split(":::", NULL, 0);
	assert_split(NULL, NULL, 0);
	dlg_path_free(NULL);
}
END_TEST

START_TEST(path_split_feeds_find)
{
	char *pb = file("b/bridge", 0755), *cni_path;
	size_t n;
	char **dirs;

	ck_assert(asprintf(&cni_path, "%s::%s:", dir_a, dir_b) > 0);
	dirs = dlg_path_split(cni_path, &n);
	ck_assert_uint_eq(n, 2);
	assert_found("bridge", (const char *const *)dirs, n, pb);
	dlg_path_free(dirs);
	free(cni_path);
	free(pb);
}
END_TEST

static Suite *find_suite(void)
{
	Suite *s = suite_create("find");
	TCase *tc = tcase_create("find");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_directory_holding_the_plugin_wins);
	tcase_add_test(tc, symlink_to_an_executable_counts_and_keeps_the_link_path);
	tcase_add_test(tc, directory_named_like_the_plugin_is_skipped);
	tcase_add_test(tc, non_executable_file_is_skipped);
	tcase_add_test(tc, dangling_symlink_and_symlink_to_directory_are_skipped);
	tcase_add_test(tc, empty_directory_entries_are_skipped_and_trailing_slashes_dropped);
	tcase_add_test(tc, relative_directory_is_resolved_against_the_working_directory);
	tcase_add_test(tc, names_with_slash_backslash_or_dotdot_are_invalid);
	tcase_add_test(tc, empty_or_missing_name_is_refused);
	tcase_add_test(tc, no_directories_is_refused);
	tcase_add_test(tc, not_found_names_the_plugin_and_the_directories_like_libcni);
	tcase_add_test(tc, path_split_drops_empty_entries);
	tcase_add_test(tc, path_split_feeds_find);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(find_suite)

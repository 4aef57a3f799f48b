/* test/unit/test_delegates_cache.c: atomic durable files and libcni's cniCacheV1 result cache.
 * Layout and JSON follow libcni api.go; modes are 0600 files in 0700 directories. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delegates/cache.h"
#include "test/unit/unit.h"

static char dir[64];

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "cache");
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

START_TEST(base64_round_trips_every_length)
{
	static const char *const want[] = { "", "YQ==", "YWI=", "YWJj", "YWJjZA==" };
	const char *in = "abcd";

	for (size_t n = 0; n <= 4; n++) {
		char *e = dlg_base64_encode(in, n), *d;
		size_t len = 99;

		ck_assert_str_eq(e, want[n]);
		d = dlg_base64_decode(e, &len);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(d, in, n), 0);
		free(e);
		free(d);
	}
	size_t len;
	ck_assert_ptr_null(dlg_base64_decode("YQ=", &len));
	ck_assert_ptr_null(dlg_base64_decode("Y===", &len));
	ck_assert_ptr_null(dlg_base64_decode("YQ=a", &len));
	ck_assert_ptr_null(dlg_base64_decode("Y!Q=", &len));
}
END_TEST

START_TEST(atomic_write_is_0600_and_leaves_no_temporary)
{
	struct cni_err err = { 0 };
	char path[128], sub[96];
	struct stat st;
	size_t len;
	char *back;

	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	ck_assert_int_eq(dlg_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/file", sub);
	ck_assert_int_eq(dlg_write_atomic(path, "one", 3, 0600, &err), 0);
	ck_assert_int_eq(dlg_write_atomic(path, "two!", 4, 0600, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	back = dlg_read_file(path, 100, &len, &err);
	ck_assert_str_eq(back, "two!");
	free(back);
	/* only the file itself in the directory */
	DIR *d = opendir(sub);
	int entries = 0;
	ck_assert_ptr_nonnull(d);
	for (struct dirent *e; (e = readdir(d));)
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(entries, 1);
}
END_TEST

START_TEST(read_refuses_symlink_and_oversize_and_reports_missing)
{
	struct cni_err err = { 0 };
	char path[128], link[128];
	size_t len;

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	ck_assert_int_eq(dlg_write_atomic(path, "0123456789", 10, 0600, &err), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_ptr_null(dlg_read_file(link, 100, &len, &err));
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
	ck_assert_ptr_null(dlg_read_file(path, 9, &len, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than 9 bytes"));
	cni_err_clear(&err);
	errno = 0;
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_ptr_null(dlg_read_file(path, 9, &len, &err));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!cni_err_isset(&err));
	ck_assert_int_eq(dlg_remove_file(path, &err), 0);
}
END_TEST

START_TEST(write_refuses_symlinked_directory_component)
{
	struct cni_err err = { 0 };
	char target[96], link[96];

	snprintf(target, sizeof(target), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(dlg_mkdir_p(link, 0700, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a directory"));
	cni_err_clear(&err);
}
END_TEST

START_TEST(result_cache_round_trip_in_libcni_format)
{
	struct cni_err err = { 0 };
	struct cni_kv args[] = { { "IgnoreUnknown", "1" }, { "K8S_POD_NAME", "p" } };
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[]}";
	cJSON *cap = cJSON_Parse("{\"mac\":\"c2:00:00:00:00:01\"}");
	cJSON *res =
	    cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.1.2/24\"}]}");
	struct dlg_cached c;
	char *path, *text;
	size_t len;

	ck_assert_int_eq(dlg_cache_write(dir, "net", "c1", "eth0", "/run/netns/x", args, 2, cap,
					 conf, strlen(conf), res, &err),
			 0);
	path = dlg_cache_path(dir, "net", "c1", "eth0");
	text = dlg_read_file(path, 1 << 20, &len, &err);
	ck_assert_json_eq(text,
			  "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":"
			  "\"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibmV0IiwicGx1Z2lucyI6W119\","
			  "\"ifName\":\"eth0\",\"networkName\":\"net\",\"netns\":\"/run/netns/x\","
			  "\"cniArgs\":[[\"IgnoreUnknown\",\"1\"],[\"K8S_POD_NAME\",\"p\"]],"
			  "\"capabilityArgs\":{\"mac\":\"c2:00:00:00:00:01\"},\"result\":"
			  "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.1.2/24\"}]}}");
	/* libcni's field order, so a diff against a libcni-written file is clean */
	ck_assert_ptr_nonnull(
	    strstr(text, "{\"kind\":\"cniCacheV1\",\"containerId\":\"c1\",\"config\":"));
	free(text);
	ck_assert_int_eq(dlg_cache_read(dir, "net", "c1", "eth0", &c, &err), 1);
	ck_assert_str_eq(c.config, conf);
	ck_assert_str_eq(c.netns, "/run/netns/x");
	ck_assert(cJSON_Compare(c.result, res, 1));
	dlg_cached_free(&c);
	ck_assert_int_eq(dlg_cache_read(dir, "net", "c2", "eth0", &c, &err), 0);
	free(path);
	cJSON_Delete(cap);
	cJSON_Delete(res);
}
END_TEST

START_TEST(result_cache_list_filters_by_network_and_skips_junk)
{
	struct cni_err err = { 0 };
	struct dlg_cached *all;
	char path[160];
	size_t n;

	ck_assert_int_eq(
	    dlg_cache_write(dir, "a", "c1", "eth0", NULL, NULL, 0, NULL, "{}", 2, NULL, &err), 0);
	ck_assert_int_eq(
	    dlg_cache_write(dir, "a", "c2", "net1", NULL, NULL, 0, NULL, "{}", 2, NULL, &err), 0);
	ck_assert_int_eq(
	    dlg_cache_write(dir, "b", "c1", "eth0", NULL, NULL, 0, NULL, "{}", 2, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/results/junk", dir);
	ck_assert_int_eq(dlg_write_atomic(path, "not json", 8, 0600, &err), 0);
	ck_assert_int_eq(dlg_cache_list(dir, "a", &all, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	dlg_cached_free_all(all, n);
	ck_assert_int_eq(dlg_cache_list(dir, NULL, &all, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	dlg_cached_free_all(all, n);
	struct dlg_cached c;
	ck_assert_int_eq(dlg_cache_read(dir, "x", "y", "z", &c, &err), 0);
	snprintf(path, sizeof(path), "%s/results/x-y-z", dir);
	ck_assert_int_eq(dlg_write_atomic(path, "{\"kind\":\"other\"}", 16, 0600, &err), 0);
	ck_assert_int_eq(dlg_cache_read(dir, "x", "y", "z", &c, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "wrong kind"));
	cni_err_clear(&err);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, base64_round_trips_every_length);
	tcase_add_test(tc, atomic_write_is_0600_and_leaves_no_temporary);
	tcase_add_test(tc, read_refuses_symlink_and_oversize_and_reports_missing);
	tcase_add_test(tc, write_refuses_symlinked_directory_component);
	tcase_add_test(tc, result_cache_round_trip_in_libcni_format);
	tcase_add_test(tc, result_cache_list_filters_by_network_and_skips_junk);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(cache_suite)

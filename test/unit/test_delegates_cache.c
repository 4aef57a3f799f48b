/* test/unit/test_delegates_cache.c: libcni's cniCacheV1 result cache (files: test_cni_file.c).
 * Layout and JSON follow libcni api.go; modes are 0600 files in 0700 directories. */
#include <stdio.h>

#include "cni/file.h"
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
	text = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, &len, &err);
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

/* An entry built and written later (plexusd writes it after its reply) is the file
 * dlg_cache_write writes; its result replaced before the write (default-route) is the file
 * dlg_cache_set_result leaves. */
START_TEST(an_entry_written_later_is_the_same_file)
{
	struct cni_err err = { 0 };
	const char *conf = "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"plugins\":[]}";
	cJSON *res =
	    cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.1.2/24\"}],"
			"\"routes\":[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.1.1.1\"}]}");
	cJSON *moved =
	    cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.1.1.2/24\"}]}");
	struct dlg_cache_entry e;
	char *path = dlg_cache_path(dir, "net", "c1", "eth0"), *direct, *later;
	size_t len;

	ck_assert_int_eq(dlg_cache_write(dir, "net", "c1", "eth0", "/run/netns/x", NULL, 0, NULL,
					 conf, strlen(conf), res, &err),
			 0);
	ck_assert_int_eq(dlg_cache_set_result(dir, "net", "c1", "eth0", moved, &err), 0);
	direct = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_ptr_nonnull(direct);
	ck_assert_int_eq(unlink(path), 0);

	ck_assert_int_eq(dlg_cache_entry_make(dir, "net", "c1", "eth0", "/run/netns/x", NULL, 0,
					      NULL, conf, strlen(conf), res, &e, &err),
			 0);
	ck_assert_str_eq(e.path, path);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(dlg_cache_entry_set_result(&e, moved, &err), 0);
	ck_assert_int_eq(dlg_cache_entry_write(&e, &err), 0);
	dlg_cache_entry_free(&e);
	later = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_ptr_nonnull(later);
	ck_assert_str_eq(later, direct);
	ck_assert_ptr_null(strstr(later, "0.0.0.0/0"));
	free(direct);
	free(later);
	free(path);
	cJSON_Delete(res);
	cJSON_Delete(moved);
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
	ck_assert_int_eq(cni_write_atomic(path, "not json", 8, 0600, CNI_WRITE_SHARED, &err), 0);
	/* what writers killed mid-write left: whole entries under temporary names, skipped */
	const char *temps[] = { "a-c9-eth0.tmp", "a-c9-eth0.tmp.4242" };
	for (size_t i = 0; i < 2; i++) {
		char from[160];

		snprintf(from, sizeof(from), "%s/results/a-c1-eth0", dir);
		snprintf(path, sizeof(path), "%s/results/%s", dir, temps[i]);
		ck_assert_int_eq(link(from, path), 0);
	}
	ck_assert_int_eq(dlg_cache_list(dir, "a", &all, &n, &err), 0);
	ck_assert_uint_eq(n, 2);
	dlg_cached_free_all(all, n);
	ck_assert_int_eq(dlg_cache_list(dir, NULL, &all, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	dlg_cached_free_all(all, n);
	struct dlg_cached c;
	ck_assert_int_eq(dlg_cache_read(dir, "x", "y", "z", &c, &err), 0);
	snprintf(path, sizeof(path), "%s/results/x-y-z", dir);
	ck_assert_int_eq(
	    cni_write_atomic(path, "{\"kind\":\"other\"}", 16, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(dlg_cache_read(dir, "x", "y", "z", &c, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "wrong kind"));
	cni_err_clear(&err);
}
END_TEST

/* libcni keeps CNI_ARGS as [[key, value], ...]; the real Multus 4.2.2 entry
 * (test/fixtures/multus) has the kubelet's keys with empty values */
START_TEST(result_cache_arg_reads_libcni_cni_args)
{
	struct cni_err err = { 0 };
	char root[PATH_MAX], fixture[PATH_MAX + 80], results[96], *text, *path;
	struct dlg_cached c;
	size_t len;

	unit_repo_root(root, sizeof(root));
	snprintf(fixture, sizeof(fixture),
		 "%s/test/fixtures/multus/multus-4.2.2-results-cluster-eth0.json", root);
	text = cni_read_file(fixture, 1 << 20, 0, &len, &err);
	ck_assert_msg(text, "%s", err.msg);
	snprintf(results, sizeof(results), "%s/results", dir);
	ck_assert_int_eq(cni_mkdir_p(results, 0700, &err), 0);
	path = dlg_cache_path(dir, "cluster", "0a1b2c3d4e5f", "eth0");
	ck_assert_int_eq(cni_write_atomic(path, text, len, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(dlg_cache_read(dir, "cluster", "0a1b2c3d4e5f", "eth0", &c, &err), 1);
	ck_assert_str_eq(dlg_cached_arg(&c, "IgnoreUnknown"), "true");
	ck_assert_str_eq(dlg_cached_arg(&c, "K8S_POD_NAME"), "");
	ck_assert_ptr_null(dlg_cached_arg(&c, "K8S_POD"));
	ck_assert_ptr_null(dlg_cached_arg(&c, "MAC"));
	dlg_cached_free(&c);
	free(text);
	/* what is not a [key, value] pair of strings is no argument */
	text =
	    strdup("{\"kind\":\"cniCacheV1\",\"containerId\":\"c\",\"ifName\":\"eth0\","
		   "\"networkName\":\"cluster\",\"cniArgs\":[[\"A\"],[\"B\",1],[\"C\",\"c\",\"x\"],"
		   "\"D\",{\"E\":\"e\"},[\"F\",\"f\"]]}");
	ck_assert_int_eq(cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, &err),
			 0);
	ck_assert_int_eq(dlg_cache_read(dir, "cluster", "0a1b2c3d4e5f", "eth0", &c, &err), 1);
	for (const char *k = "ABCDE"; *k; k++)
		ck_assert_ptr_null(dlg_cached_arg(&c, (char[]){ *k, 0 }));
	ck_assert_str_eq(dlg_cached_arg(&c, "F"), "f");
	dlg_cached_free(&c);
	free(text);
	free(path);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, result_cache_round_trip_in_libcni_format);
	tcase_add_test(tc, an_entry_written_later_is_the_same_file);
	tcase_add_test(tc, result_cache_list_filters_by_network_and_skips_junk);
	tcase_add_test(tc, result_cache_arg_reads_libcni_cni_args);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(cache_suite)

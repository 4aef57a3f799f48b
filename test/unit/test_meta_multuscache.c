/* test/unit/test_meta_multuscache.c: Multus's per-container cache, read as the files Multus
 * 4.2.2 wrote (test/fixtures/multus/) and written back in exactly that layout. */
#include "cni/base64.h"
#include "cni/file.h"
#include "meta/multuscache.h"
#include "meta/netconf.h"
#include "meta/plan.h"
#include "test/unit/unit.h"

static const struct meta_k8s_args k8s = { "mig", "pod1", "uid-1", "0a1b2c3d4e5f" };

static void fixture(const char *name, char *path, size_t size)
{
	char root[PATH_MAX];

	unit_repo_root(root, sizeof(root));
	ck_assert_int_lt(snprintf(path, size, "%s/test/fixtures/multus/%s", root, name), (int)size);
}

static void netconf(const char *text, struct meta_netconf *nc)
{
	struct cni_err err = { 0 };

	ck_assert_msg(meta_netconf_parse(text, strlen(text), nc, &err) == 0, "%s", err.msg);
}

#define NETCONF                                                                                    \
	"{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"plexus\",\"runtimeConfig\":{\"mac\":" \
	"\"02:00:00:00:00:01\"},\"delegates\":[{\"name\":\"x\",\"type\":\"bridge\"}]}"

/* The plan DEL builds from a Multus cache: header as plexus fills it, then the delegates. */
static int read_plan(const char *path, struct meta_plan *plan, struct cni_err *err)
{
	struct meta_netconf nc;
	int found;

	netconf(NETCONF, &nc);
	memset(plan, 0, sizeof(*plan));
	plan->container_id = strdup("0a1b2c3d4e5f");
	plan->ifname = strdup("eth0");
	plan->cni_version = strdup("1.0.0");
	found = meta_multus_cache_read(path, &nc, plan, err);
	if (found == 1 && meta_plan_finish(plan, &nc, NULL, &k8s, err) < 0)
		found = -1;
	meta_netconf_free(&nc);
	return found;
}

static char *decoded_bytes(const char *path, int idx, size_t *len)
{
	size_t n = 0;
	char *text = cni_read_file(path, 1 << 20, 0, &n, NULL);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	const cJSON *b = cJSON_GetObjectItem(cJSON_GetArrayItem(j, idx), "Bytes");
	char *out = cJSON_IsString(b) ? cni_base64_decode(b->valuestring, len) : NULL;

	cJSON_Delete(j);
	free(text);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(multus_cache_gives_multus_ifnames_and_original_bytes)
{
	char path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };
	size_t len;
	char *want;

	fixture("multus-4.2.2-cache.json", path, sizeof(path));
	ck_assert_int_eq(read_plan(path, &plan, &err), 1);
	ck_assert_uint_eq(plan.n, 2);
	ck_assert_str_eq(plan.att[0].network, "cluster");
	ck_assert_str_eq(plan.att[0].ifname, "eth0");
	ck_assert(plan.att[0].master);
	ck_assert_str_eq(plan.att[1].network, "tenant-net");
	ck_assert_str_eq(plan.att[1].ifname, "net1");
	ck_assert(!plan.att[1].master);
	for (int i = 0; i < 2; i++) {
		want = decoded_bytes(path, i, &len);
		ck_assert_uint_eq(plan.att[i].config_len, len);
		ck_assert_mem_eq(plan.att[i].config, want, len);
		free(want);
	}
	/* every delegate gets the runtime's CNI_ARGS, as Multus builds them */
	ck_assert_str_eq(plan.att[1].args[0].key, "IgnoreUnknown");
	ck_assert_str_eq(plan.att[1].args[4].value, "uid-1");
	meta_plan_free(&plan);
}
END_TEST

START_TEST(multus_cache_from_annotations_keeps_names_and_interface_requests)
{
	char path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };

	fixture("multus-4.2.2-cache-annotations.json", path, sizeof(path));
	ck_assert_int_eq(read_plan(path, &plan, &err), 1);
	ck_assert_uint_eq(plan.n, 3);
	ck_assert_str_eq(plan.att[0].status_name, "mig-cluster");
	ck_assert_str_eq(plan.att[0].ifname, "eth0");
	ck_assert_str_eq(plan.att[1].status_name, "mig/mig-br");
	ck_assert_str_eq(plan.att[1].network, "mig-br");
	ck_assert_str_eq(plan.att[1].ifname, "net1");
	ck_assert_str_eq(plan.att[2].status_name, "mig/mig-mv");
	ck_assert_str_eq(plan.att[2].ifname, "ext1");
	meta_plan_free(&plan);
}
END_TEST

START_TEST(requests_of_secondary_delegates_become_capability_args)
{
	char dir[128], path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };
	char *cap;
	const char *text =
	    "[{\"Name\":\"a\",\"Bytes\":\"eyJuYW1lIjoiYSIsInR5cGUiOiJicmlkZ2UifQ==\"},"
	    "{\"Name\":\"ns/b\",\"macRequest\":\"02:00:00:00:00:02\",\"ipRequest\":[\"10.1.1.5/"
	    "24\","
	    "\"fd00::5/64\"],\"deviceID\":\"0000:01:10.0\",\"resourceName\":\"r/x\","
	    "\"Bytes\":\"eyJuYW1lIjoiYiIsInR5cGUiOiJicmlkZ2UifQ==\"}]";

	unit_tmpdir(dir, sizeof(dir), "mc");
	snprintf(path, sizeof(path), "%s/cid", dir);
	ck_assert_int_eq(cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, &err),
			 0);
	ck_assert_int_eq(read_plan(path, &plan, &err), 1);
	/* the master keeps the runtime's runtimeConfig only */
	cap = cJSON_PrintUnformatted(plan.att[0].cap_args);
	ck_assert_json_eq(cap, "{\"mac\":\"02:00:00:00:00:01\"}");
	free(cap);
	ck_assert_str_eq(plan.att[1].mac_request, "02:00:00:00:00:02");
	ck_assert_str_eq(plan.att[1].ip_request, "10.1.1.5/24,fd00::5/64");
	ck_assert_str_eq(plan.att[1].device_id, "0000:01:10.0");
	cap = cJSON_PrintUnformatted(plan.att[1].cap_args);
	ck_assert_json_eq(cap, "{\"mac\":\"02:00:00:00:00:02\",\"deviceID\":\"0000:01:10.0\","
			       "\"ips\":[\"10.1.1.5/24\",\"fd00::5/64\"]}");
	free(cap);
	meta_plan_free(&plan);
	unit_rmtree(dir);
}
END_TEST

START_TEST(absent_cache_is_not_an_error_and_foreign_files_are_refused)
{
	static const char *const bad[] = { "{\"kind\":\"plexusCacheV1\"}", "[]",
					   "[{\"Name\":\"a\"}]",
					   "[{\"Name\":\"a\",\"Bytes\":\"!!\"}]",
					   "[{\"Name\":1,\"Bytes\":\"e30=\"}]", "[1]",
					   /* bytes that are no network configuration */
					   "[{\"Name\":\"a\",\"Bytes\":\"e30=\"}]" };
	char dir[128], path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };

	unit_tmpdir(dir, sizeof(dir), "mc");
	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(read_plan(path, &plan, &err), 0);
	ck_assert(!cni_err_isset(&err));
	meta_plan_free(&plan);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/bad%zu", dir, i);
		ck_assert_int_eq(
		    cni_write_atomic(path, bad[i], strlen(bad[i]), 0600, CNI_WRITE_SHARED, &err),
		    0);
		ck_assert_msg(read_plan(path, &plan, &err) == -1, "accepted %s", bad[i]);
		ck_assert_msg(err.msg && strstr(err.msg, path), "error does not name the file: %s",
			      err.msg);
		cni_err_clear(&err);
		meta_plan_free(&plan);
	}
	unit_rmtree(dir);
}
END_TEST

/* What plexus writes for a rollback is what Multus 4.2.2 itself wrote for the same delegates,
 * key for key. */
static void written_equals_fixture(const char *name)
{
	char path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };
	size_t n = 0;
	char *want, *got;
	cJSON *j;

	fixture(name, path, sizeof(path));
	ck_assert_int_eq(read_plan(path, &plan, &err), 1);
	j = meta_multus_cache_from_plan(&plan);
	got = cJSON_PrintUnformatted(j);
	want = cni_read_file(path, 1 << 20, 0, &n, &err);
	ck_assert_json_eq(got, want);
	cJSON_Delete(j);
	free(got);
	free(want);
	meta_plan_free(&plan);
}

START_TEST(plan_written_in_multus_layout_equals_what_multus_wrote)
{
	written_equals_fixture("multus-4.2.2-cache.json");
	written_equals_fixture("multus-4.2.2-cache-annotations.json");
}
END_TEST

START_TEST(interface_multus_would_not_compute_is_written_as_a_request)
{
	char path[PATH_MAX];
	struct meta_plan plan;
	struct cni_err err = { 0 };
	cJSON *j;

	fixture("multus-4.2.2-cache.json", path, sizeof(path));
	ck_assert_int_eq(read_plan(path, &plan, &err), 1);
	free(plan.att[1].ifname);
	plan.att[1].ifname = strdup("tenant0");
	j = meta_multus_cache_from_plan(&plan);
	ck_assert_ptr_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "ifnameRequest"));
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(j, 1), "ifnameRequest")->valuestring, "tenant0");
	cJSON_Delete(j);
	meta_plan_free(&plan);
}
END_TEST

START_TEST(written_cache_is_private_and_reads_back)
{
	char dir[128], path[PATH_MAX], fx[PATH_MAX];
	struct meta_plan plan, back;
	struct cni_err err = { 0 };
	struct stat st;

	fixture("multus-4.2.2-cache-annotations.json", fx, sizeof(fx));
	ck_assert_int_eq(read_plan(fx, &plan, &err), 1);
	unit_tmpdir(dir, sizeof(dir), "mc");
	snprintf(path, sizeof(path), "%s/multus/0a1b2c3d4e5f", dir);
	ck_assert_msg(meta_multus_cache_write(path, &plan, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(read_plan(path, &back, &err), 1);
	ck_assert_uint_eq(back.n, 3);
	ck_assert_str_eq(back.att[2].ifname, "ext1");
	meta_plan_free(&back);
	meta_plan_free(&plan);
	unit_rmtree(dir);
}
END_TEST

static Suite *multuscache_suite(void)
{
	Suite *s = suite_create("multuscache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, multus_cache_gives_multus_ifnames_and_original_bytes);
	tcase_add_test(tc, multus_cache_from_annotations_keeps_names_and_interface_requests);
	tcase_add_test(tc, requests_of_secondary_delegates_become_capability_args);
	tcase_add_test(tc, absent_cache_is_not_an_error_and_foreign_files_are_refused);
	tcase_add_test(tc, plan_written_in_multus_layout_equals_what_multus_wrote);
	tcase_add_test(tc, interface_multus_would_not_compute_is_written_as_a_request);
	tcase_add_test(tc, written_cache_is_private_and_reads_back);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(multuscache_suite)

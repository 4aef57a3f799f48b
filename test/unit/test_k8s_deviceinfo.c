/* test/unit/test_k8s_deviceinfo.c: device-info file names, hostile names, save/copy/read/remove
 * in a scratch directory, and deviceID/pciBusID injection golden outputs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/deviceinfo.h"
#include "test/unit/unit.h"

#define DIR  "/var/run/k8s.cni.cncf.io/devinfo"
#define DP_A "{\"type\":\"pci\",\"version\":\"1.1.0\",\"pci\":{\"pci-address\":\"0000:00:05.1\"}}"

static char tmp[64]; /* a scratch devinfo root, made per test */

static void scratch_make(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "di");
}

static void scratch_remove(void)
{
	if (unit_rmtree(tmp) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_gt(fread(buf, 1, (1 << 16) - 1, f) + 1, 0);
	fclose(f);
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* ---- names ---- */

START_TEST(dp_path_replaces_slashes_in_every_part)
{
	struct cni_err err = { 0 };
	char *p = k8s_devinfo_dp_path(DIR, "intel.com/sriov_a", "0000:00:05.1", &err);

	ck_assert_str_eq(p, DIR "/dp/intel.com-sriov_a-0000:00:05.1-device.json");
	free(p);
	p = k8s_devinfo_dp_path(DIR "//", "example.com/vdpa", "vdpa/0", &err);
	ck_assert_str_eq(p, DIR "/dp/example.com-vdpa-vdpa-0-device.json");
	free(p);
}
END_TEST

START_TEST(cni_path_is_multus_name_container_and_ifname)
{
	struct cni_err err = { 0 };
	char *p = k8s_devinfo_cni_path(DIR, "ns1/sriov-a", "3f9c0e1d", "net1", &err);

	ck_assert_str_eq(p, DIR "/cni/ns1-sriov-a-3f9c0e1d_net1");
	free(p);
}
END_TEST

START_TEST(hostile_names_never_leave_the_directory)
{
	static const struct {
		const char *dir, *net, *cid, *ifname, *msg;
	} cases[] = {
		{ DIR, "..", "c", "net1",
		  "device-info: network name \"..\" contains \"..\" or is \".\"" },
		{ DIR, "ns/../../etc", "c", "net1",
		  "device-info: network name \"ns/../../etc\" contains \"..\" or is \".\"" },
		{ DIR, "n", ".", "net1",
		  "device-info: container ID \".\" contains \"..\" or is \".\"" },
		{ DIR, "n", "c", "", "device-info: empty interface name" },
		{ DIR, "n", "c\n", "net1",
		  "device-info: container ID contains a control character" },
		{ "relative/dir", "n", "c", "net1",
		  "device-info: directory \"relative/dir\" is not an absolute path" },
		{ "/var/../etc", "n", "c", "net1",
		  "device-info: directory \"/var/../etc\" contains \"..\"" },
		{ "", "n", "c", "net1", "device-info: directory \"\" is not an absolute path" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cni_err err = { 0 };
		char *p = k8s_devinfo_cni_path(cases[i].dir, cases[i].net, cases[i].cid,
					       cases[i].ifname, &err);

		ck_assert_msg(p == NULL, "case %zu: got path %s", i, p);
		ck_assert_uint_eq(err.code, 7);
		ck_assert_str_eq(err.msg, cases[i].msg);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(overlong_names_are_refused)
{
	struct cni_err err = { 0 };
	char part[300], half[200];

	memset(part, 'a', sizeof(part) - 1);
	part[sizeof(part) - 1] = '\0';
	ck_assert_ptr_null(k8s_devinfo_dp_path(DIR, part, "0000:00:05.1", &err));
	ck_assert_str_eq(err.msg, "device-info: resource name longer than 253 bytes");
	/* Each part fits, the file name does not (NAME_MAX). */
	memset(half, 'b', sizeof(half) - 1);
	half[sizeof(half) - 1] = '\0';
	ck_assert_ptr_null(k8s_devinfo_cni_path(DIR, half, half, "net1", &err));
	ck_assert(strstr(err.msg, "longer than 255 bytes") != NULL);
	ck_assert_uint_eq(err.code, 7);
	cni_err_clear(&err);
}
END_TEST

START_TEST(dotdot_inside_a_device_id_is_refused)
{
	struct cni_err err = { 0 };

	ck_assert_ptr_null(k8s_devinfo_dp_path(DIR, "intel.com/sriov_a", "x/../../y", &err));
	ck_assert_str_eq(err.msg,
			 "device-info: device ID \"x/../../y\" contains \"..\" or is \".\"");
	cni_err_clear(&err);
}
END_TEST

/* ---- files ---- */

START_TEST(copy_writes_the_dp_bytes_0444_creating_directories)
{
	struct cni_err err = { 0 };
	char *dp = k8s_devinfo_dp_path(tmp, "intel.com/sriov_a", "0000:00:05.1", &err);
	char *cni = k8s_devinfo_cni_path(tmp, "ns1/sriov-a", "3f9c0e1d", "net1", &err);
	char *got, sub[128];
	struct stat st;

	/* The device plugin's own write goes through the same no-overwrite saver. */
	ck_assert_int_eq(k8s_devinfo_save(dp, DP_A, strlen(DP_A), &err), 0);
	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), 1);
	got = slurp(cni);
	ck_assert_str_eq(got, DP_A);
	ck_assert_int_eq(stat(cni, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0444);
	snprintf(sub, sizeof(sub), "%s/cni", tmp);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert(!cni_err_isset(&err));
	free(got);
	free(dp);
	free(cni);
}
END_TEST

START_TEST(copy_without_a_dp_file_writes_nothing)
{
	struct cni_err err = { 0 };
	char *dp = k8s_devinfo_dp_path(tmp, "intel.com/sriov_a", "0000:00:05.1", &err);
	char *cni = k8s_devinfo_cni_path(tmp, "ns1/sriov-a", "3f9c0e1d", "net1", &err);

	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), 0);
	ck_assert_int_eq(access(cni, F_OK), -1);
	ck_assert(!cni_err_isset(&err));
	free(dp);
	free(cni);
}
END_TEST

START_TEST(copy_refuses_an_invalid_dp_file)
{
	struct cni_err err = { 0 };
	char dp[128], cni[128];

	snprintf(dp, sizeof(dp), "%s/dp.json", tmp);
	snprintf(cni, sizeof(cni), "%s/cni/x", tmp);
	put(dp, "{\"version\":\"1.1.0\"}");
	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert(strstr(err.msg, "not an object with string \"type\" and \"version\"") != NULL);
	put(dp, "not json");
	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_int_eq(access(cni, F_OK), -1);
	cni_err_clear(&err);
}
END_TEST

START_TEST(save_never_overwrites)
{
	struct cni_err err = { 0 };
	char path[128], *got;

	snprintf(path, sizeof(path), "%s/cni/f", tmp);
	ck_assert_int_eq(k8s_devinfo_save(path, DP_A, strlen(DP_A), &err), 0);
	ck_assert_int_eq(k8s_devinfo_save(path, "{}", 2, &err), -EEXIST);
	ck_assert_uint_eq(err.code, 5);
	ck_assert(strstr(err.msg, "already exists") != NULL);
	got = slurp(path);
	ck_assert_str_eq(got, DP_A);
	free(got);
	cni_err_clear(&err);
}
END_TEST

START_TEST(copy_replaces_a_leftover_of_the_same_attachment)
{
	struct cni_err err = { 0 };
	char dp[128], *cni = k8s_devinfo_cni_path(tmp, "ns1/sriov-a", "3f9c0e1d", "net1", &err);
	char *got;

	snprintf(dp, sizeof(dp), "%s/dp.json", tmp);
	put(dp, DP_A);
	ck_assert_int_eq(
	    k8s_devinfo_save(cni, "{\"type\":\"pci\",\"version\":\"1.0.0\"}", 33, &err), 0);
	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), 1);
	got = slurp(cni);
	ck_assert_str_eq(got, DP_A);
	free(got);
	free(cni);
}
END_TEST

START_TEST(copy_refuses_a_directory_at_the_cni_name)
{
	struct cni_err err = { 0 };
	char dp[128], cni[128], msg[300];

	snprintf(dp, sizeof(dp), "%s/dp.json", tmp);
	snprintf(cni, sizeof(cni), "%s/cni", tmp);
	put(dp, DP_A);
	ck_assert_int_eq(mkdir(cni, 0755), 0);
	ck_assert_int_eq(k8s_devinfo_copy(dp, cni, &err), -1);
	snprintf(msg, sizeof(msg), "device-info file %s exists and is not a regular file", cni);
	ck_assert_str_eq(err.msg, msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(read_back_gives_the_object_or_nothing)
{
	struct cni_err err = { 0 };
	char path[128];
	cJSON *j = (cJSON *)1;
	char *text;

	snprintf(path, sizeof(path), "%s/cni/f", tmp);
	ck_assert_int_eq(k8s_devinfo_read(path, &j, &err), 0);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(k8s_devinfo_save(path, DP_A, strlen(DP_A), &err), 0);
	ck_assert_int_eq(k8s_devinfo_read(path, &j, &err), 0);
	text = cJSON_PrintUnformatted(j);
	ck_assert_json_eq(text, DP_A);
	free(text);
	cJSON_Delete(j);
	ck_assert_int_eq(k8s_devinfo_remove(path, &err), 0);
	put(path, "[1]");
	ck_assert_int_eq(k8s_devinfo_read(path, &j, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_ptr_null(j);
	cni_err_clear(&err);
}
END_TEST

/* The reader's refusals name the file in the module's words; a symlink is followed. */
START_TEST(read_refuses_a_directory_and_an_oversize_file_and_follows_a_symlink)
{
	struct cni_err err = { 0 };
	char path[128], link[160], want[300];
	cJSON *j = NULL;

	snprintf(path, sizeof(path), "%s/d", tmp);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(k8s_devinfo_read(path, &j, &err), -1);
	snprintf(want, sizeof(want), "device-info file %s: not a regular file", path);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
	snprintf(path, sizeof(path), "%s/big", tmp);
	put(path, "");
	ck_assert_int_eq(truncate(path, K8S_DEVINFO_MAX + 1), 0);
	ck_assert_int_eq(k8s_devinfo_read(path, &j, &err), -1);
	snprintf(want, sizeof(want), "device-info file %s: larger than 1 MiB", path);
	ck_assert_str_eq(err.msg, want);
	cni_err_clear(&err);
	snprintf(path, sizeof(path), "%s/dp", tmp);
	put(path, DP_A);
	snprintf(link, sizeof(link), "%s/link", tmp);
	ck_assert_int_eq(symlink("dp", link), 0);
	ck_assert_int_eq(k8s_devinfo_read(link, &j, &err), 0);
	ck_assert_ptr_nonnull(j);
	cJSON_Delete(j);
}
END_TEST

START_TEST(remove_is_idempotent)
{
	struct cni_err err = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/cni/f", tmp);
	ck_assert_int_eq(k8s_devinfo_save(path, DP_A, strlen(DP_A), &err), 0);
	ck_assert_int_eq(k8s_devinfo_remove(path, &err), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(k8s_devinfo_remove(path, &err), 0);
	ck_assert(!cni_err_isset(&err));
}
END_TEST

/* ---- injection: golden outputs, as Go's json.Marshal of the map prints them ---- */

START_TEST(injection_into_a_conf_sets_both_keys_sorted_go_style)
{
	static const char in[] =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"sriov-a\",\"type\":\"sriov\",\"vlan\":100,"
	    "\"deviceID\":\"0000:00:01.0\",\"mtu\":1500.0,\"note\":\"a<b&c\","
	    "\"capabilities\":{\"mac\":true,\"ips\":true}}";
	static const char want[] =
	    "{\"capabilities\":{\"ips\":true,\"mac\":true},\"cniVersion\":\"1.0.0\","
	    "\"deviceID\":\"0000:00:05.1\",\"mtu\":1500,\"name\":\"sriov-a\","
	    "\"note\":\"a\\u003cb\\u0026c\",\"pciBusID\":\"0000:00:05.1\",\"type\":\"sriov\","
	    "\"vlan\":100}";
	struct cni_err err = { 0 };
	char *out = k8s_inject_device_id(in, strlen(in), "0000:00:05.1", &err);

	ck_assert_msg(out != NULL, "failed: %s", err.msg);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

START_TEST(injection_into_a_conflist_reaches_every_plugin)
{
	static const char in[] =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"sriov-chain\",\"plugins\":["
	    "{\"type\":\"sriov\",\"vlan\":100},"
	    "{\"type\":\"tuning\",\"sysctl\":{\"net.ipv4.conf.IFNAME.arp_notify\":\"1\"}},"
	    "{\"type\":\"host-device\",\"pciBusID\":\"old\"}]}";
	static const char want[] =
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"sriov-chain\",\"plugins\":["
	    "{\"deviceID\":\"0000:00:05.1\",\"pciBusID\":\"0000:00:05.1\",\"type\":\"sriov\","
	    "\"vlan\":100},"
	    "{\"deviceID\":\"0000:00:05.1\",\"pciBusID\":\"0000:00:05.1\","
	    "\"sysctl\":{\"net.ipv4.conf.IFNAME.arp_notify\":\"1\"},\"type\":\"tuning\"},"
	    "{\"deviceID\":\"0000:00:05.1\",\"pciBusID\":\"0000:00:05.1\","
	    "\"type\":\"host-device\"}]}";
	struct cni_err err = { 0 };
	char *out = k8s_inject_device_id(in, strlen(in), "0000:00:05.1", &err);

	ck_assert_msg(out != NULL, "failed: %s", err.msg);
	ck_assert_str_eq(out, want);
	free(out);
}
END_TEST

START_TEST(injection_refuses_what_is_no_config)
{
	static const struct {
		const char *conf, *id, *msg;
		unsigned code;
	} cases[] = {
		{ "[1]", "d", "delegate config is not a JSON object", 6 },
		{ "{\"plugins\":{}}", "d", "delegate conflist: \"plugins\" is not a list", 7 },
		{ "{\"plugins\":[1]}", "d", "delegate conflist: a plugin is not an object", 7 },
		{ "{}", "", "device ID injection: empty device ID", 7 },
		{ "{", "d", NULL, 6 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cni_err err = { 0 };

		ck_assert_ptr_null(
		    k8s_inject_device_id(cases[i].conf, strlen(cases[i].conf), cases[i].id, &err));
		ck_assert_uint_eq(err.code, cases[i].code);
		if (cases[i].msg)
			ck_assert_str_eq(err.msg, cases[i].msg);
		cni_err_clear(&err);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_deviceinfo");
	TCase *names = tcase_create("names");
	TCase *files = tcase_create("files");
	TCase *inject = tcase_create("injection");

	tcase_add_test(names, dp_path_replaces_slashes_in_every_part);
	tcase_add_test(names, cni_path_is_multus_name_container_and_ifname);
	tcase_add_test(names, hostile_names_never_leave_the_directory);
	tcase_add_test(names, overlong_names_are_refused);
	tcase_add_test(names, dotdot_inside_a_device_id_is_refused);
	suite_add_tcase(s, names);
	tcase_add_checked_fixture(files, scratch_make, scratch_remove);
	tcase_add_test(files, copy_writes_the_dp_bytes_0444_creating_directories);
	tcase_add_test(files, copy_without_a_dp_file_writes_nothing);
	tcase_add_test(files, copy_refuses_an_invalid_dp_file);
	tcase_add_test(files, save_never_overwrites);
	tcase_add_test(files, copy_replaces_a_leftover_of_the_same_attachment);
	tcase_add_test(files, copy_refuses_a_directory_at_the_cni_name);
	tcase_add_test(files, read_back_gives_the_object_or_nothing);
	tcase_add_test(files, read_refuses_a_directory_and_an_oversize_file_and_follows_a_symlink);
	tcase_add_test(files, remove_is_idempotent);
	suite_add_tcase(s, files);
	tcase_add_test(inject, injection_into_a_conf_sets_both_keys_sorted_go_style);
	tcase_add_test(inject, injection_into_a_conflist_reaches_every_plugin);
	tcase_add_test(inject, injection_refuses_what_is_no_config);
	suite_add_tcase(s, inject);
	return s;
}

UNIT_MAIN(suite)

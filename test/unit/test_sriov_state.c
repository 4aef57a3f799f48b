/* test/unit/test_sriov_state.c: state file round trip, atomic writes, lock and allocation record.
 * Follows sriov-cni pkg/utils/pci_allocator.go: refused while the netns lives (docs/sriov.md). */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sriov/state.h"
#include "unit.h"

static char dir[64];

static void setup(void)
{
	struct cni_err err = { 0 };

	unit_tmpdir(dir, sizeof(dir), "state");
	ck_assert_int_eq(sriov_state_dirs(dir, &err), 0);
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

static void sample(struct sriov_state *st, bool dpdk)
{
	static const struct sriov_vf_state orig = { .mac = { 0 },
						    .vlan = 0,
						    .proto = 0x8100,
						    .spoofchk = 1,
						    .trust = -1,
						    .link_state = 0 };

	memset(st, 0, sizeof(*st));
	st->container_id = strdup("ctr1");
	st->ifname = strdup("net1");
	st->netns = strdup("/run/netns/x");
	st->network = strdup("sriov-net");
	st->device_id = strdup("0000:af:06.0");
	st->pf_name = strdup("enp175s0f1");
	st->vf_index = 3;
	st->dpdk = dpdk;
	if (!dpdk) {
		strcpy(st->host.name, "enp175s6");
		memcpy(st->host.mac, "\x6e\x16\x06\x0e\xb7\xe9", 6);
		st->host.mtu = 9000;
		st->host.up = true;
	}
	st->orig = orig;
	st->want = orig;
	st->want.vlan = 100;
	st->want.qos = 3;
	st->want.proto = 0x88a8;
	st->want.max_rate = 1000;
	memcpy(st->want.mac, "\x02\x00\x00\x00\x00\x10", 6);
	st->pf_mask = SRIOV_VF_VLAN | SRIOV_VF_MAC | SRIOV_VF_RATE;
	st->has_mac = true;
	memcpy(st->mac, st->want.mac, 6);
	st->device_info_file = strdup("/run/devinfo/x.json");
	st->device_info_created = true;
}

START_TEST(state_round_trips_through_json)
{
	for (int dpdk = 0; dpdk < 2; dpdk++) {
		struct sriov_state a, b;
		struct cni_err err = { 0 };
		char *ja, *jb;

		sample(&a, dpdk);
		ja = sriov_state_to_json(&a);
		ck_assert_msg(sriov_state_from_json(ja, &b, &err) == 0, "%s: %s", ja, err.msg);
		jb = sriov_state_to_json(&b);
		ck_assert_json_eq(jb, ja);
		ck_assert_uint_eq(b.pf_mask, a.pf_mask);
		ck_assert(memcmp(&b.orig, &a.orig, sizeof(a.orig)) == 0);
		ck_assert(memcmp(&b.want, &a.want, sizeof(a.want)) == 0);
		ck_assert(memcmp(&b.host, &a.host, sizeof(a.host)) == 0);
		ck_assert_int_eq(b.dpdk, dpdk);
		free(ja);
		free(jb);
		sriov_state_free(&a);
		sriov_state_free(&b);
	}
}
END_TEST

static const char *const bad_states[] = {
	"[]",
	"not json",
	"{}",
	"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\",\"deviceID\":\"../x\","
	"\"pfName\":\"p\",\"vfIndex\":0,\"dpdkMode\":true,\"orig\":{},\"want\":{},\"pfAttrs\":[]}",
	"{\"containerID\":\"c\",\"ifname\":\"net1\",\"network\":\"n\",\"deviceID\":\"0000:af:06."
	"0\","
	"\"pfName\":\"p\",\"vfIndex\":0,\"dpdkMode\":true,\"orig\":{\"mac\":\"zz\"},\"want\":{},"
	"\"pfAttrs\":[]}",
};

START_TEST(garbage_is_not_a_state)
{
	struct sriov_state st;
	struct cni_err err = { 0 };

	ck_assert_int_eq(sriov_state_from_json(bad_states[_i], &st, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_msg(strstr(err.msg, "sriov state"), "%s", err.msg);
	ck_assert_ptr_null(st.device_id);
	cni_err_clear(&err);
}
END_TEST

START_TEST(save_load_remove)
{
	struct sriov_state a, b;
	struct cni_err err = { 0 };
	struct stat sb;
	char path[128];

	sample(&a, false);
	ck_assert_int_eq(sriov_state_load(dir, "ctr1", "net1", &b, &err), 0);
	ck_assert_int_eq(sriov_state_save(dir, &a, &err), 0);
	snprintf(path, sizeof(path), "%s/ctr1-net1", dir);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sriov_state_load(dir, "ctr1", "net1", &b, &err), 1);
	ck_assert_str_eq(b.device_id, "0000:af:06.0");
	sriov_state_free(&b);
	/* A rewrite replaces the whole file and leaves no temporary behind. */
	a.del_failed = true;
	ck_assert_int_eq(sriov_state_save(dir, &a, &err), 0);
	ck_assert_int_eq(sriov_state_load(dir, "ctr1", "net1", &b, &err), 1);
	ck_assert(b.del_failed);
	sriov_state_free(&b);
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;

	while ((e = readdir(d)))
		files += e->d_type == DT_REG;
	closedir(d);
	ck_assert_int_eq(files, 1);
	ck_assert_int_eq(sriov_state_remove(dir, "ctr1", "net1", &err), 0);
	ck_assert_int_eq(sriov_state_remove(dir, "ctr1", "net1", &err), 0);
	ck_assert_int_eq(sriov_state_load(dir, "ctr1", "net1", &b, &err), 0);
	sriov_state_free(&a);
}
END_TEST

START_TEST(unreadable_state_is_an_error)
{
	struct sriov_state st;
	struct cni_err err = { 0 };
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/c-net1", dir);
	f = fopen(path, "w");
	fputs("{\"half\":", f);
	fclose(f);
	ck_assert_int_eq(sriov_state_load(dir, "c", "net1", &st, &err), -1);
	ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(list_finds_state_files_only)
{
	struct sriov_state a;
	struct cni_err err = { 0 };
	char **paths;
	size_t n;

	sample(&a, true);
	ck_assert_int_eq(sriov_state_save(dir, &a, &err), 0);
	ck_assert_int_eq(sriov_alloc_write(dir, "0000:af:06.0", "/x", "ctr1", "net1", &err), 0);
	ck_assert_int_eq(sriov_state_list(dir, &paths, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(paths[0], "/ctr1-net1"), "%s", paths[0]);
	sriov_state_paths_free(paths, n);
	ck_assert_int_eq(sriov_state_list("/nonexistent-pxs", &paths, &n, &err), 0);
	ck_assert_uint_eq(n, 0);
	sriov_state_free(&a);
}
END_TEST

START_TEST(lock_is_exclusive_with_a_bounded_wait)
{
	struct cni_err err = { 0 };
	int a, b;

	a = sriov_alloc_lock(dir, "0000:af:06.0", 1000, &err);
	ck_assert_msg(a >= 0, "%s", err.msg);
	b = sriov_alloc_lock(dir, "0000:af:06.0", 50, &err);
	ck_assert_int_eq(b, -1);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "time out while waiting to acquire exclusive lock on ["),
		      "%s", err.msg);
	cni_err_clear(&err);
	/* Another VF is not affected. */
	b = sriov_alloc_lock(dir, "0000:af:06.1", 50, &err);
	ck_assert_int_ge(b, 0);
	close(b);
	close(a);
	b = sriov_alloc_lock(dir, "0000:af:06.0", 50, &err);
	ck_assert_int_ge(b, 0);
	close(b);
}
END_TEST

START_TEST(allocation_refused_while_recorded_netns_exists)
{
	struct cni_err err = { 0 };
	struct sriov_alloc a;

	ck_assert_int_eq(sriov_alloc_check(dir, "0000:af:06.0", &err), 0);
	ck_assert_int_eq(
	    sriov_alloc_write(dir, "0000:af:06.0", "/proc/self/ns/net", "old", "net1", &err), 0);
	ck_assert_int_eq(sriov_alloc_check(dir, "0000:af:06.0", &err), -1);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_str_eq(err.msg, "pci address 0000:af:06.0 is already allocated");
	ck_assert_msg(strstr(err.details, "old"), "%s", err.details);
	cni_err_clear(&err);
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 1);
	ck_assert(sriov_alloc_is_ours(&a, "old", "net1", NULL));
	ck_assert(!sriov_alloc_is_ours(&a, "new", "net1", NULL));
	sriov_alloc_free(&a);
}
END_TEST

START_TEST(allocation_allowed_and_cleaned_when_netns_gone)
{
	struct cni_err err = { 0 };
	struct sriov_alloc a;

	ck_assert_int_eq(sriov_alloc_write(dir, "0000:af:06.0", "/run/netns/pxs-gone-for-good",
					   "old", "net1", &err),
			 0);
	ck_assert_int_eq(sriov_alloc_check(dir, "0000:af:06.0", &err), 0);
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 0);
	/* A path that exists but is no netns counts as gone too (sriov-cni PR #447). */
	ck_assert_int_eq(
	    sriov_alloc_write(dir, "0000:af:06.0", "/etc/hostname", "old", "net1", &err), 0);
	ck_assert_int_eq(sriov_alloc_check(dir, "0000:af:06.0", &err), 0);
}
END_TEST

START_TEST(sriov_cni_records_are_understood)
{
	struct cni_err err = { 0 };
	struct sriov_alloc a;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pci/0000:af:06.0", dir);
	f = fopen(path, "w");
	fputs("/proc/self/ns/net", f);
	fclose(f);
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 1);
	ck_assert_str_eq(a.netns, "/proc/self/ns/net");
	ck_assert_ptr_null(a.container_id);
	ck_assert(sriov_alloc_is_ours(&a, "any", "net1", "/proc/self/ns/net"));
	ck_assert(!sriov_alloc_is_ours(&a, "any", "net1", "/run/netns/other"));
	sriov_alloc_free(&a);
	ck_assert_int_eq(sriov_alloc_check(dir, "0000:af:06.0", &err), -1);
	cni_err_clear(&err);
	ck_assert_int_eq(sriov_alloc_remove(dir, "0000:af:06.0", &err), 0);
	ck_assert_int_eq(sriov_alloc_remove(dir, "0000:af:06.0", &err), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sriov_state");
	TCase *t = tcase_create("state");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, state_round_trips_through_json);
	tcase_add_loop_test(t, garbage_is_not_a_state, 0, sizeof(bad_states) / sizeof(*bad_states));
	tcase_add_test(t, save_load_remove);
	tcase_add_test(t, unreadable_state_is_an_error);
	tcase_add_test(t, list_finds_state_files_only);
	tcase_add_test(t, lock_is_exclusive_with_a_bounded_wait);
	tcase_add_test(t, allocation_refused_while_recorded_netns_exists);
	tcase_add_test(t, allocation_allowed_and_cleaned_when_netns_gone);
	tcase_add_test(t, sriov_cni_records_are_understood);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

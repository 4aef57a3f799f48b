/* test/unit/test_sriov_netdev.c: the VF netdev's trip into a pod netns and back, with a veth as
 * stand-in (needs root). Follows sriov-cni pkg/sriov SetupVF/ReleaseVF; PF-side calls on a veth
 * must fail cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sriov/devlink.h"
#include "sriov/netdev.h"
#include "sriov/vf.h"
#include "unit.h"

static char ns[32], ns_path[64], va[16], vb[16], ren[16], alt[16];

static int run_ip_argv(const char *const *argv)
{
	int status, devnull;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execv("/usr/sbin/ip", (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define run_ip(...) run_ip_argv((const char *const[]){ "ip", __VA_ARGS__, NULL })

/* Unique per forked test: names carry the pid. */
static void setup(void)
{
	int pid = (int)getpid();

	snprintf(ns, sizeof(ns), "pxs%d-pod", pid);
	snprintf(ns_path, sizeof(ns_path), "/run/netns/%s", ns);
	snprintf(va, sizeof(va), "pxs%da", pid);
	snprintf(vb, sizeof(vb), "pxs%db", pid);
	snprintf(ren, sizeof(ren), "pxs%dr", pid);
	snprintf(alt, sizeof(alt), "pxs%dl", pid);
	ck_assert_int_eq(run_ip("netns", "add", ns), 0);
	ck_assert_int_eq(run_ip("link", "add", va, "type", "veth", "peer", "name", vb), 0);
	ck_assert_int_eq(
	    run_ip("link", "set", va, "address", "02:11:22:33:44:55", "mtu", "1400", "up"), 0);
}

static void teardown(void)
{
	run_ip("link", "del", va);
	run_ip("link", "del", ren);
	run_ip("netns", "del", ns);
}

struct env {
	struct cni_nl host, pod;
	int pod_fd;
};

static void env_open(struct env *e)
{
	struct cni_err err = { 0 };

	e->pod_fd = open(ns_path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(e->pod_fd, 0);
	ck_assert_msg(cni_nl_open(&e->host, NETLINK_ROUTE, &err) == 0, "%s", err.msg);
	ck_assert_msg(cni_nl_open_in(&e->pod, NETLINK_ROUTE, e->pod_fd, &err) == 0, "%s", err.msg);
}

static void env_close(struct env *e)
{
	cni_nl_close(&e->host);
	cni_nl_close(&e->pod);
	close(e->pod_fd);
}

static void get_ok(struct cni_nl *nl, const char *name, struct sriov_link *l)
{
	struct cni_err err = { 0 };
	int r = sriov_link_get(nl, name, l, &err);

	ck_assert_msg(r == 0, "link %s: r=%d %s", name, r, err.msg ? err.msg : "not found");
}

static void absent(struct cni_nl *nl, const char *name)
{
	struct cni_err err = { 0 };
	struct sriov_link l;

	ck_assert_msg(sriov_link_get(nl, name, &l, &err) == 1, "link %s still there", name);
}

START_TEST(move_in_rename_then_move_out_and_restore)
{
	static const unsigned char pod_mac[6] = { 0x02, 0, 0, 0, 0, 0x77 };
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &orig);
	ck_assert(orig.up);
	ck_assert_uint_eq(orig.mtu, 1400);

	ck_assert_msg(sriov_netdev_move_in(&e.host, e.pod_fd, &orig, "net1", &err) == 0, "%s",
		      err.msg);
	absent(&e.host, va);
	get_ok(&e.pod, "net1", &l);
	/* The pod changes what it likes. */
	ck_assert_msg(sriov_link_set_mac(&e.pod, l.ifindex, pod_mac, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sriov_link_set_mtu(&e.pod, l.ifindex, 1300, &err), 0);
	ck_assert_int_eq(sriov_link_set_up(&e.pod, l.ifindex, true, &err), 0);
	get_ok(&e.pod, "net1", &l);
	ck_assert(memcmp(l.mac, pod_mac, 6) == 0);

	ck_assert_msg(sriov_netdev_move_out(&e.pod, "net1", va, &err) == 0, "%s", err.msg);
	absent(&e.pod, "net1");
	ck_assert_msg(sriov_netdev_restore(&e.host, va, "net1", &orig, NULL, NULL, &err) == 0, "%s",
		      err.msg);
	get_ok(&e.host, va, &l);
	ck_assert(memcmp(l.mac, orig.mac, 6) == 0);
	ck_assert_uint_eq(l.mtu, 1400);
	ck_assert(l.up);
	/* A second release finds nothing in the pod. */
	ck_assert_int_eq(sriov_netdev_move_out(&e.pod, "net1", va, &err), 1);
	env_close(&e);
}
END_TEST

START_TEST(move_in_onto_a_taken_name_puts_everything_back)
{
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	ck_assert_int_eq(
	    run_ip("-n", ns, "link", "add", "net1", "type", "veth", "peer", "name", "other"), 0);
	env_open(&e);
	get_ok(&e.host, va, &orig);
	ck_assert_int_eq(sriov_netdev_move_in(&e.host, e.pod_fd, &orig, "net1", &err), -1);
	ck_assert_msg(strstr(err.msg, "failed to move \"") && strstr(err.msg, "File exists"), "%s",
		      err.msg);
	cni_err_clear(&err);
	get_ok(&e.host, va, &l);
	ck_assert(l.up);
	ck_assert(memcmp(l.mac, orig.mac, 6) == 0);
	ck_assert_uint_eq(l.mtu, orig.mtu);
	env_close(&e);
}
END_TEST

START_TEST(restore_of_a_link_the_kernel_returned_renamed)
{
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &orig);
	/* As if its netns died: back in the host as "devN", down, with the pod's MAC. */
	ck_assert_int_eq(run_ip("link", "set", va, "down"), 0);
	ck_assert_int_eq(
	    run_ip("link", "set", va, "name", ren, "address", "02:00:00:00:00:99", "mtu", "1280"),
	    0);
	ck_assert_int_eq(sriov_netdev_restore(&e.host, ren, "net1", &orig, NULL, NULL, &err), 0);
	absent(&e.host, ren);
	get_ok(&e.host, va, &l);
	ck_assert(memcmp(l.mac, orig.mac, 6) == 0);
	ck_assert_uint_eq(l.mtu, 1400);
	ck_assert(l.up);
	env_close(&e);
}
END_TEST

START_TEST(restore_keeps_going_when_the_name_is_taken)
{
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &orig);
	ck_assert_int_eq(run_ip("link", "set", va, "name", ren), 0);
	ck_assert_int_eq(run_ip("link", "set", vb, "name", va), 0); /* someone took the name */
	ck_assert_int_eq(sriov_netdev_restore(&e.host, ren, "net1", &orig, NULL, NULL, &err), 0);
	get_ok(&e.host, ren, &l);
	ck_assert_uint_eq(l.mtu, 1400);
	run_ip("link", "set", va, "name", vb);
	run_ip("link", "set", ren, "name", va);
	env_close(&e);
}
END_TEST

START_TEST(altname_is_dropped_and_absent_one_is_fine)
{
	struct cni_err err = { 0 };
	struct sriov_link l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &l);
	if (run_ip("link", "property", "add", "dev", va, "altname", alt) != 0) {
		env_close(&e);
		return; /* kernel without altnames: nothing to test */
	}
	get_ok(&e.host, alt, &l); /* lookups by name match altnames */
	ck_assert_int_eq(sriov_link_del_altname(&e.host, l.ifindex, alt, &err), 0);
	absent(&e.host, alt);
	ck_assert_int_eq(sriov_link_del_altname(&e.host, l.ifindex, alt, &err), 0);
	ck_assert_int_eq(sriov_link_del_altname(&e.host, l.ifindex, va, &err), 0);
	env_close(&e);
}
END_TEST

/* sriov-cni #445: the pod's interface name left on the VF as an altname makes the next ADD as
 * that name fail with EEXIST; release clears it, whether the VF carries it in the pod (found
 * by it, as name lookups match altnames) or comes home with it. */
START_TEST(pod_ifname_altname_is_cleared_on_release)
{
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &orig);
	ck_assert_msg(sriov_netdev_move_in(&e.host, e.pod_fd, &orig, "net1", &err) == 0, "%s",
		      err.msg);
	/* in the pod, the VF is now eth9 with the altname net1 */
	ck_assert_int_eq(run_ip("-n", ns, "link", "set", "net1", "name", "eth9"), 0);
	if (run_ip("-n", ns, "link", "property", "add", "dev", "eth9", "altname", "net1") != 0) {
		env_close(&e);
		return; /* kernel without altnames: nothing to test */
	}
	ck_assert_msg(sriov_netdev_move_out(&e.pod, "net1", va, &err) == 0, "%s", err.msg);
	ck_assert_msg(sriov_netdev_restore(&e.host, va, "net1", &orig, NULL, NULL, &err) == 0, "%s",
		      err.msg);
	get_ok(&e.host, va, &l);
	/* home again with the altname the pod name: restore drops it there */
	ck_assert_int_eq(run_ip("link", "set", va, "down"), 0);
	ck_assert_int_eq(run_ip("link", "property", "add", "dev", va, "altname", alt), 0);
	ck_assert_int_eq(sriov_netdev_restore(&e.host, va, alt, &orig, NULL, NULL, &err), 0);
	absent(&e.host, alt);
	/* and net1 can be made again in the pod */
	ck_assert_msg(sriov_netdev_move_in(&e.host, e.pod_fd, &orig, "net1", &err) == 0, "%s",
		      err.msg);
	ck_assert_msg(sriov_netdev_move_out(&e.pod, "net1", va, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sriov_netdev_restore(&e.host, va, "net1", &orig, NULL, NULL, &err), 0);
	env_close(&e);
}
END_TEST

/* A state sriov-cni wrote without EffectiveMAC knows no MAC: the link keeps its own. */
START_TEST(restore_with_an_unknown_mac_keeps_the_link_s)
{
	struct cni_err err = { 0 };
	struct sriov_link orig, l;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &orig);
	memset(orig.mac, 0, sizeof(orig.mac));
	ck_assert_int_eq(run_ip("link", "set", va, "down", "mtu", "1280"), 0);
	ck_assert_msg(sriov_netdev_restore(&e.host, va, "net1", &orig, NULL, NULL, &err) == 0, "%s",
		      err.msg);
	get_ok(&e.host, va, &l);
	ck_assert_uint_eq(l.mtu, 1400);
	ck_assert(l.mac[0] == 0x02 && l.mac[5] == 0x55);
	env_close(&e);
}
END_TEST

START_TEST(pf_side_calls_on_a_non_pf_fail_cleanly)
{
	struct sriov_vf_state st = { 0 }, want = { .vlan = 100, .proto = 0x8100, .trust = 1 };
	struct cni_err err = { 0 };
	struct sriov_link before, after;
	struct env e;

	env_open(&e);
	get_ok(&e.host, va, &before);
	ck_assert_int_eq(sriov_vf_read(&e.host, va, 0, &st, &err), -1);
	ck_assert_msg(strstr(err.msg, "failed to find vf 0 of PF"), "%s", err.msg);
	cni_err_clear(&err);
	ck_assert_int_eq(sriov_vf_read(&e.host, "pxs-no-such-pf", 0, &st, &err), -1);
	ck_assert_msg(strstr(err.msg, "failed to lookup master \"pxs-no-such-pf\""), "%s", err.msg);
	cni_err_clear(&err);
	ck_assert_int_eq(sriov_vf_set_trust(&e.host, va, 0, true, &err), -1);
	ck_assert_msg(strstr(err.msg, "VF 0: set trust on: "), "%s", err.msg);
	cni_err_clear(&err);
	/* apply reads first and stops there: nothing is sent to a link without VFs. */
	ck_assert_int_eq(
	    sriov_vf_apply(&e.host, va, 0, SRIOV_VF_VLAN | SRIOV_VF_TRUST, &want, NULL, &err), -1);
	cni_err_clear(&err);
	get_ok(&e.host, va, &after);
	ck_assert(memcmp(&before, &after, sizeof(before)) == 0);
	env_close(&e);
}
END_TEST

START_TEST(compare_names_the_first_difference)
{
	struct sriov_vf_state cur = { .vlan = 0, .proto = 0x8100, .spoofchk = 1, .trust = 0 };
	struct sriov_vf_state want = cur;
	struct cni_err err = { 0 };

	ck_assert_int_eq(sriov_vf_compare("eth0", 3, SRIOV_VF_VLAN, &cur, &want, &err), 0);
	want.vlan = 100;
	ck_assert_int_eq(sriov_vf_compare("eth0", 3, SRIOV_VF_TRUST, &cur, &want, &err), 0);
	ck_assert_int_eq(sriov_vf_compare("eth0", 3, SRIOV_VF_VLAN, &cur, &want, &err), -1);
	ck_assert_str_eq(err.msg,
			 "VF 3 of PF \"eth0\": vlan 0 qos 0 proto 802.1Q, expected vlan 100 qos 0 "
			 "proto 802.1Q");
	cni_err_clear(&err);
}
END_TEST

START_TEST(no_devlink_means_legacy)
{
	struct cni_err err = { 0 };
	int mode = -1;

	ck_assert_msg(sriov_devlink_eswitch_mode("0000:ff:1f.7", &mode, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(mode, 0);
}
END_TEST

START_TEST(private_netns_leaves_the_thread_home)
{
	struct cni_err err = { 0 };
	struct stat self_before, self_after, tmp;
	int fd;

	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &self_before), 0);
	ck_assert_int_eq(sriov_netns_private(&fd, &err), 0);
	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &self_after), 0);
	ck_assert_int_eq(fstat(fd, &tmp), 0);
	ck_assert(self_before.st_ino == self_after.st_ino);
	ck_assert(tmp.st_ino != self_after.st_ino);
	close(fd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sriov_netdev");
	TCase *t = tcase_create("veth");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, move_in_rename_then_move_out_and_restore);
	tcase_add_test(t, move_in_onto_a_taken_name_puts_everything_back);
	tcase_add_test(t, restore_of_a_link_the_kernel_returned_renamed);
	tcase_add_test(t, restore_keeps_going_when_the_name_is_taken);
	tcase_add_test(t, altname_is_dropped_and_absent_one_is_fine);
	tcase_add_test(t, pod_ifname_altname_is_cleared_on_release);
	tcase_add_test(t, restore_with_an_unknown_mac_keeps_the_link_s);
	tcase_add_test(t, pf_side_calls_on_a_non_pf_fail_cleanly);
	tcase_add_test(t, compare_names_the_first_difference);
	tcase_add_test(t, no_devlink_means_legacy);
	tcase_add_test(t, private_netns_leaves_the_thread_home);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

/* test/unit/test_sriov_pci.c: VF lookup over a fake sysfs tree built in a temp dir.
 * Follows sriov-cni pkg/utils/testing.go CreateTmpSysFs (its fake tree), plus hostile-tree cases. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sriov/pci.h"
#include "unit.h"

static char root[64];

static void mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	ck_assert_msg(mkdir(buf, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", buf,
		      strerror(errno));
}

#define P(...) (snprintf(path_buf, sizeof(path_buf), __VA_ARGS__), path_buf)
static char path_buf[1024];

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "create %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *target, const char *link)
{
	ck_assert_msg(symlink(target, link) == 0, "symlink %s -> %s: %s", link, target,
		      strerror(errno));
}

/* A PCI function directory under devices/<bridge>/, registered in bus/pci/devices. */
static void function(const char *bridge, const char *addr, const char *vendor, const char *device)
{
	char dir[400], entry[400];

	snprintf(dir, sizeof(dir), "%.60s/devices/%.64s/%.16s", root, bridge, addr);
	mkdirs(dir);
	put(P("%s/vendor", dir), vendor);
	put(P("%s/device", dir), device);
	put(P("%s/class", dir), "0x020000\n");
	snprintf(entry, sizeof(entry), "%s/bus/pci/devices/%s", root, addr);
	link_to(dir, entry);
}

static char *dev_dir(const char *bridge, const char *addr)
{
	static char d[32][512];
	static int n;
	char *s = d[n++ % 32];

	snprintf(s, 512, "%s/devices/%s/%s", root, bridge, addr);
	return s;
}

static void netdev(const char *dir, const char *name, const char *dev_port, const char *ppn)
{
	mkdirs(P("%s/net/%s", dir, name));
	if (dev_port)
		put(P("%s/net/%s/dev_port", dir, name), dev_port);
	if (ppn)
		put(P("%s/net/%s/phys_port_name", dir, name), ppn);
}

static void vf_of(const char *pf_dir, int idx, const char *vf_dir)
{
	link_to(vf_dir, P("%s/virtfn%d", pf_dir, idx));
	link_to(pf_dir, P("%s/physfn", vf_dir));
}

static void driver(const char *dir, const char *name)
{
	mkdirs(P("%s/bus/pci/drivers/%s", root, name));
	char target[512];

	snprintf(target, sizeof(target), "%s/bus/pci/drivers/%s", root, name);
	link_to(target, P("%s/driver", dir));
}

#define BR "pci0000:ae/0000:ae:00.0"

/* The tree (sriov-cni pkg/utils/testing.go's, extended):
 * PF 0000:af:00.1 "enp175s0f1": VF0 0000:af:06.0 iavf + netdev enp175s6; VF1 0000:af:06.1
 * vfio-pci; VF2 0000:af:06.2 neither; VF3 0000:af:06.3 igb_uio; VF 0000:af:06.4 claims the
 * PF but the PF does not list it.
 * PF 0000:05:00.0 with two netdevs (zz0 dev_port 0, aa1 dev_port 1), VF 0000:05:10.0 "v0".
 * PF 0000:06:00.0 switchdev-like: rep0 (phys_port_name pf0vf0) and up0 (p0); VF 0000:06:10.0.
 * PF 0000:07:00.0 without netdev; VF 0000:07:10.0. */
static void build_tree(void)
{
	char *pf, *vf;

	unit_tmpdir(root, sizeof(root), "sysfs");
	mkdirs(P("%s/bus/pci/devices", root));
	mkdirs(P("%s/class/net", root));

	function(BR, "0000:af:00.1", "0x8086\n", "0x1572\n");
	pf = dev_dir(BR, "0000:af:00.1");
	netdev(pf, "enp175s0f1", "0", NULL);
	put(P("%s/sriov_numvfs", pf), "5\n");
	static const char *const vfs[] = { "0000:af:06.0", "0000:af:06.1", "0000:af:06.2",
					   "0000:af:06.3" };
	for (int i = 0; i < 4; i++) {
		function(BR, vfs[i], "0x8086\n", "0x154c\n");
		vf_of(pf, i, dev_dir(BR, vfs[i]));
	}
	netdev(dev_dir(BR, "0000:af:06.0"), "enp175s6", NULL, NULL);
	driver(dev_dir(BR, "0000:af:06.0"), "iavf");
	driver(dev_dir(BR, "0000:af:06.1"), "vfio-pci");
	driver(dev_dir(BR, "0000:af:06.3"), "igb_uio");
	function(BR, "0000:af:06.4", "0x8086\n", "0x154c\n");
	link_to(pf, P("%s/physfn", dev_dir(BR, "0000:af:06.4")));
	netdev(dev_dir(BR, "0000:af:06.4"), "orphan", NULL, NULL);

	function(BR, "0000:05:00.0", "0x15b3\n", "0x1003\n");
	pf = dev_dir(BR, "0000:05:00.0");
	netdev(pf, "aa1", "1", NULL);
	netdev(pf, "zz0", "0", NULL);
	function(BR, "0000:05:10.0", "0x15b3\n", "0x1004\n");
	vf = dev_dir(BR, "0000:05:10.0");
	vf_of(pf, 0, vf);
	netdev(vf, "v0", NULL, NULL);

	function(BR, "0000:06:00.0", "0x15b3\n", "0x1017\n");
	pf = dev_dir(BR, "0000:06:00.0");
	netdev(pf, "rep0", "0", "pf0vf0");
	netdev(pf, "up0", "0", "p0");
	function(BR, "0000:06:10.0", "0x15b3\n", "0x1018\n");
	vf = dev_dir(BR, "0000:06:10.0");
	vf_of(pf, 0, vf);
	netdev(vf, "v6", NULL, NULL);

	function(BR, "0000:07:00.0", "0x8086\n", "0x10c9\n");
	function(BR, "0000:07:10.0", "0x8086\n", "0x10ca\n");
	vf_of(dev_dir(BR, "0000:07:00.0"), 0, dev_dir(BR, "0000:07:10.0"));
	netdev(dev_dir(BR, "0000:07:10.0"), "v7", NULL, NULL);
}

static void remove_tree(void)
{
	ck_assert_int_eq(unit_rmtree(root), 0);
}

static void lookup_ok(const char *addr, struct sriov_pci *p)
{
	struct cni_err err = { 0 };

	ck_assert_msg(sriov_pci_lookup(root, addr, p, &err) == 0, "%s: %s", addr, err.msg);
}

static void lookup_fails(const char *addr, unsigned code, const char *want)
{
	struct cni_err err = { 0 };
	struct sriov_pci p;

	ck_assert_msg(sriov_pci_lookup(root, addr, &p, &err) < 0, "%s was found", addr);
	ck_assert_msg(err.code == code, "%s: code %u want %u: %s", addr, err.code, code, err.msg);
	ck_assert_msg(strstr(err.msg, want), "%s:\n  got:  %s\n  want: ...%s...", addr, err.msg,
		      want);
	ck_assert_ptr_null(p.vf_addr);
	cni_err_clear(&err);
}

START_TEST(vf_with_netdev_is_kernel_mode)
{
	struct sriov_pci p;

	lookup_ok("0000:af:06.0", &p);
	ck_assert_str_eq(p.pf_addr, "0000:af:00.1");
	ck_assert_str_eq(p.pf_netdev, "enp175s0f1");
	ck_assert_uint_eq(p.vf_index, 0);
	ck_assert_str_eq(p.vf_netdev, "enp175s6");
	ck_assert_str_eq(p.driver, "iavf");
	ck_assert(!p.dpdk);
	ck_assert_uint_eq(p.vendor, 0x8086);
	ck_assert_uint_eq(p.device, 0x154c);
	sriov_pci_free(&p);
}
END_TEST

START_TEST(userspace_drivers_are_dpdk_mode)
{
	struct sriov_pci p;

	lookup_ok("0000:af:06.1", &p);
	ck_assert(p.dpdk);
	ck_assert_str_eq(p.driver, "vfio-pci");
	ck_assert_ptr_null(p.vf_netdev);
	ck_assert_uint_eq(p.vf_index, 1);
	sriov_pci_free(&p);
	lookup_ok("0000:af:06.3", &p);
	ck_assert(p.dpdk);
	ck_assert_str_eq(p.driver, "igb_uio");
	ck_assert_uint_eq(p.vf_index, 3);
	sriov_pci_free(&p);
}
END_TEST

START_TEST(vf_without_netdev_or_dpdk_driver_is_refused)
{
	lookup_fails("0000:af:06.2", 7,
		     "the VF 0000:af:06.2 does not have a interface name or a dpdk driver");
}
END_TEST

START_TEST(pf_with_several_netdevs_picks_lowest_dev_port)
{
	struct sriov_pci p;

	lookup_ok("0000:05:10.0", &p);
	ck_assert_str_eq(p.pf_netdev, "zz0"); /* first by name would be "aa1" */
	ck_assert_str_eq(p.vf_netdev, "v0");
	sriov_pci_free(&p);
}
END_TEST

START_TEST(pf_representors_are_skipped)
{
	struct sriov_pci p;

	lookup_ok("0000:06:10.0", &p);
	ck_assert_str_eq(p.pf_netdev, "up0"); /* "rep0" is pf0vf0, a representor */
	sriov_pci_free(&p);
}
END_TEST

START_TEST(pf_without_netdev)
{
	lookup_fails("0000:07:10.0", 7,
		     "failed to get PF name: PF 0000:07:00.0 of VF 0000:07:10.0 has no network "
		     "device");
}
END_TEST

START_TEST(not_a_vf)
{
	lookup_fails("0000:05:00.0", 7,
		     "PCI device 0000:05:00.0 is not an SR-IOV VF (no physfn link)");
}
END_TEST

START_TEST(missing_device)
{
	lookup_fails("0000:99:00.0", 7, "failed to get VF information: PCI device: ");
	lookup_fails("0000:99:00.0", 7, "0000:99:00.0 does not exist");
}
END_TEST

START_TEST(vf_not_listed_by_its_pf)
{
	lookup_fails("0000:af:06.4", 7,
		     "unable to get VF ID with PF: enp175s0f1 and VF pci address 0000:af:06.4");
}
END_TEST

START_TEST(malformed_addresses_never_touch_the_tree)
{
	static const char *const bad[] = { "../../etc",	      "0000:af:06.0/../../x",
					   "0000:af:06",      "",
					   "0000:af:06.0\n",  "/0000:af:06.0",
					   "0000:af:06.0/net" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		lookup_fails(bad[i], 7, "is not a PCI address");
}
END_TEST

START_TEST(device_entry_escaping_the_tree_is_refused)
{
	link_to("/etc", P("%s/bus/pci/devices/0000:66:00.0", root));
	lookup_fails("0000:66:00.0", 7, "resolves to /etc, which is not a PCI device under");
}
END_TEST

START_TEST(device_entry_aliasing_another_device_is_refused)
{
	link_to(dev_dir(BR, "0000:af:06.0"), P("%s/bus/pci/devices/0000:77:00.0", root));
	lookup_fails("0000:77:00.0", 7, "0000:77:00.0 resolves to");
}
END_TEST

START_TEST(physfn_escaping_the_tree_is_refused)
{
	char outside[128], *vf;

	snprintf(outside, sizeof(outside), "%s-outside/0000:af:00.1", root);
	mkdirs(outside);
	function(BR, "0000:af:07.0", "0x8086\n", "0x154c\n");
	vf = dev_dir(BR, "0000:af:07.0");
	link_to(outside, P("%s/physfn", vf));
	netdev(vf, "x", NULL, NULL);
	lookup_fails("0000:af:07.0", 7, "which is not a PCI device under");
	snprintf(outside, sizeof(outside), "%s-outside", root);
	ck_assert_int_eq(unit_rmtree(outside), 0);
}
END_TEST

START_TEST(virtfn_escaping_the_tree_is_ignored)
{
	char *pf = dev_dir(BR, "0000:05:00.0");

	/* A second virtfn pointing outside does not confuse the index search. */
	link_to("/tmp", P("%s/virtfn1", pf));
	struct sriov_pci p;

	lookup_ok("0000:05:10.0", &p);
	ck_assert_uint_eq(p.vf_index, 0);
	sriov_pci_free(&p);
}
END_TEST

START_TEST(libpci_failure_is_a_clean_error)
{
	unlink(P("%s/vendor", dev_dir(BR, "0000:af:06.0")));
	lookup_fails("0000:af:06.0", 5, "PCI device 0000:af:06.0: cannot read");
	/* What libpci itself finds fatal comes back as an error, not an exit(). */
	unlink(P("%s/device", dev_dir(BR, "0000:af:06.1")));
	lookup_fails("0000:af:06.1", 5, "PCI device 0000:af:06.1: libpci: ");
}
END_TEST

START_TEST(vf_netdev_now)
{
	struct cni_err err = { 0 };
	char *name;

	ck_assert_int_eq(sriov_pci_vf_netdev(root, "0000:af:06.0", &name, &err), 0);
	ck_assert_str_eq(name, "enp175s6");
	free(name);
	ck_assert_int_eq(sriov_pci_vf_netdev(root, "0000:af:06.1", &name, &err), 0);
	ck_assert_ptr_null(name);
	ck_assert_int_eq(sriov_pci_vf_netdev(root, "0000:99:00.0", &name, &err), -1);
	cni_err_clear(&err);
	ck_assert_int_eq(sriov_pci_vf_netdev(root, "../x", &name, &err), -1);
	cni_err_clear(&err);
}
END_TEST

START_TEST(missing_sysfs_root)
{
	struct cni_err err = { 0 };
	struct sriov_pci p;

	ck_assert_int_eq(sriov_pci_lookup("/nonexistent-pxs", "0000:af:06.0", &p, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strstr(err.msg, "/nonexistent-pxs/devices"), "%s", err.msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(address_syntax)
{
	ck_assert(sriov_pci_addr_valid("0000:00:00.0"));
	ck_assert(sriov_pci_addr_valid("ffff:ff:1f.7"));
	ck_assert(sriov_pci_addr_valid("10000:00:00.0"));
	ck_assert(sriov_pci_addr_valid("0000:AF:06.0"));
	ck_assert(!sriov_pci_addr_valid("0000:00:20.0"));
	ck_assert(!sriov_pci_addr_valid("0000:00:00.8"));
	ck_assert(!sriov_pci_addr_valid("000:00:00.0"));
	ck_assert(!sriov_pci_addr_valid("123456789:00:00.0"));
	ck_assert(!sriov_pci_addr_valid("0000:0:00.0"));
	ck_assert(!sriov_pci_addr_valid(NULL));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sriov_pci");
	TCase *t = tcase_create("lookup");

	tcase_add_checked_fixture(t, build_tree, remove_tree);
	tcase_add_test(t, vf_with_netdev_is_kernel_mode);
	tcase_add_test(t, userspace_drivers_are_dpdk_mode);
	tcase_add_test(t, vf_without_netdev_or_dpdk_driver_is_refused);
	tcase_add_test(t, pf_with_several_netdevs_picks_lowest_dev_port);
	tcase_add_test(t, pf_representors_are_skipped);
	tcase_add_test(t, pf_without_netdev);
	tcase_add_test(t, not_a_vf);
	tcase_add_test(t, missing_device);
	tcase_add_test(t, vf_not_listed_by_its_pf);
	tcase_add_test(t, malformed_addresses_never_touch_the_tree);
	tcase_add_test(t, device_entry_escaping_the_tree_is_refused);
	tcase_add_test(t, device_entry_aliasing_another_device_is_refused);
	tcase_add_test(t, physfn_escaping_the_tree_is_refused);
	tcase_add_test(t, virtfn_escaping_the_tree_is_ignored);
	tcase_add_test(t, libpci_failure_is_a_clean_error);
	tcase_add_test(t, vf_netdev_now);
	tcase_add_test(t, missing_sysfs_root);
	tcase_add_test(t, address_syntax);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

/* test/fuzz/fuzz_sriov_sysfs.c: libFuzzer harness: the sysfs readers of bin/sriov (sriov_pci_lookup,
 * sriov_pci_vf_netdev) over a fake sysfs tree, fuzzing what comes from outside: the deviceID
 * and what the kernel (or a hostile tree) puts in sysfs.
 * The fixed tree (built once, as test/unit/test_sriov_pci.c builds one) has PF 0000:af:00.1
 * (netdev enp175s0f1) with VF0 0000:af:06.0 (iavf, enp175s6) and VF1 0000:af:06.1 (vfio-pci),
 * and PF 0000:05:00.0 with two netdevs (a representor and an uplink) and VF 0000:05:10.0.
 * One more VF, 0000:af:06.7, is rebuilt for every input from NUL-separated fields; a missing
 * field takes the default in [], an empty one means "absent":
 *   0 deviceID looked up                  [0000:af:06.7]
 *   1 the VF's net/ names, '\n'-separated [enp175s7]
 *   2 its driver link target              [../../../../bus/pci/drivers/iavf]
 *   3 the PF's link name "virtfn<this>"   [7]
 *   4 that link's target (from the PF)    [../0000:af:06.7]
 *   5 the VF's physfn target              [../0000:af:00.1]
 *   6 bus/pci/devices/0000:af:06.7 target [../../../devices/pci0000:ae/0000:ae:00.0/0000:af:06.7]
 *   7 its vendor file                     [0x8086\n]
 *   8 its device file                     [0x154c\n]
 *   9 one more netdev name under the PF   []
 *  10 that netdev's phys_port_name        (absent)
 *  11 that netdev's dev_port              (absent)
 * Invariant: a lookup fails cleanly (message, code, nothing returned) or returns a VF inside the
 * tree: its directory, physfn and virtfn<index> all resolve under <root>/devices to valid PCI
 * addresses, the VF's own entry is the address asked for, the netdevs exist under net/ with
 * names the kernel allows, a DPDK driver is the only excuse for no netdev, and
 * sriov_pci_vf_netdev agrees on the VF's netdev. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sriov/pci.h"

#define BR	"devices/pci0000:ae/0000:ae:00.0"
#define PF	BR "/0000:af:00.1"
#define VF	BR "/0000:af:06.7"
#define VFADDR	"0000:af:06.7"
#define NFIELDS 12

static char root[96], devices[PATH_MAX];
/* What the last input created outside the VF's directory, to remove before the next. */
static char made_virtfn[PATH_MAX], made_pf_net[PATH_MAX];

static const char *at(const char *rel)
{
	static char buf[4][PATH_MAX];
	static int n;
	char *b = buf[n++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", root, rel);
	return b;
}

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_sriov_sysfs setup: %s: %s\n", what, strerror(errno));
		abort();
	}
}

static void mkdirs(const char *rel)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/%s", root, rel);
	for (char *p = buf + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		must(mkdir(buf, 0755) == 0 || errno == EEXIST, buf);
		*p = '/';
	}
	must(mkdir(buf, 0755) == 0 || errno == EEXIST, buf);
}

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	must(f != NULL, path);
	fwrite(text, 1, len, f);
	fclose(f);
}

static void put_rel(const char *rel, const char *text)
{
	put(at(rel), text, strlen(text));
}

static void link_rel(const char *target, const char *rel)
{
	must(symlink(target, at(rel)) == 0, rel);
}

static void function(const char *addr, const char *vendor, const char *device)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), BR "/%s", addr);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), BR "/%s/vendor", addr);
	put_rel(rel, vendor);
	snprintf(rel, sizeof(rel), BR "/%s/device", addr);
	put_rel(rel, device);
	snprintf(target, sizeof(target), "../../../" BR "/%s", addr);
	snprintf(rel, sizeof(rel), "bus/pci/devices/%s", addr);
	link_rel(target, rel);
}

static void netdev(const char *dev_rel, const char *name, const char *dev_port, const char *ppn)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s/net/%s", dev_rel, name);
	mkdirs(rel);
	if (dev_port) {
		snprintf(rel, sizeof(rel), "%s/net/%s/dev_port", dev_rel, name);
		put_rel(rel, dev_port);
	}
	if (ppn) {
		snprintf(rel, sizeof(rel), "%s/net/%s/phys_port_name", dev_rel, name);
		put_rel(rel, ppn);
	}
}

static void remove_root(void);

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(root, sizeof(root), "%s/pxfuzz-sysfs-%d-XXXXXX", base, (int)getpid());
	must(mkdtemp(root) != NULL, "mkdtemp");
	mkdirs("bus/pci/devices");
	mkdirs("bus/pci/drivers/iavf");
	mkdirs("bus/pci/drivers/vfio-pci");
	mkdirs(BR);

	function("0000:af:00.1", "0x8086\n", "0x1572\n");
	netdev(PF, "enp175s0f1", "0\n", NULL);
	function("0000:af:06.0", "0x8086\n", "0x154c\n");
	function("0000:af:06.1", "0x8086\n", "0x154c\n");
	link_rel("../0000:af:06.0", PF "/virtfn0");
	link_rel("../0000:af:06.1", PF "/virtfn1");
	link_rel("../0000:af:00.1", BR "/0000:af:06.0/physfn");
	link_rel("../0000:af:00.1", BR "/0000:af:06.1/physfn");
	netdev(BR "/0000:af:06.0", "enp175s6", NULL, NULL);
	link_rel("../../../../bus/pci/drivers/iavf", BR "/0000:af:06.0/driver");
	link_rel("../../../../bus/pci/drivers/vfio-pci", BR "/0000:af:06.1/driver");

	function("0000:05:00.0", "0x15b3\n", "0x1017\n");
	netdev(BR "/0000:05:00.0", "rep0", "0\n", "pf0vf0\n");
	netdev(BR "/0000:05:00.0", "up0", "1\n", "p0\n");
	function("0000:05:10.0", "0x15b3\n", "0x1018\n");
	link_rel("../0000:05:10.0", BR "/0000:05:00.0/virtfn0");
	link_rel("../0000:05:00.0", BR "/0000:05:10.0/physfn");
	netdev(BR "/0000:05:10.0", "v5", NULL, NULL);

	must(realpath(at("devices"), devices) != NULL, "realpath devices");
	atexit(remove_root);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_root(void)
{
	rm_tree(root);
}

static void reset(void)
{
	rm_tree(at(VF));
	unlink(at("bus/pci/devices/" VFADDR));
	if (made_virtfn[0])
		unlink(made_virtfn);
	if (made_pf_net[0])
		rm_tree(made_pf_net);
	made_virtfn[0] = made_pf_net[0] = '\0';
}

/* A single path component we may create: no '/', not "." or "..", not empty. */
static bool component_ok(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") && strlen(s) < NAME_MAX;
}

struct field {
	const char *s; /* NULL when missing */
	size_t len;
};

static void build(const struct field *f)
{
	char path[PATH_MAX];
	const char *s;

	reset();
	if (mkdir(at(VF), 0755) < 0)
		return;
	/* 1: net names */
	s = f[1].s ? f[1].s : "enp175s7";
	if (*s && mkdir(at(VF "/net"), 0755) == 0) {
		char *names = strdup(s), *save = NULL;

		for (char *n = names ? strtok_r(names, "\n", &save) : NULL; n;
		     n = strtok_r(NULL, "\n", &save)) {
			if (!component_ok(n))
				continue;
			snprintf(path, sizeof(path), "%s/%s", at(VF "/net"), n);
			mkdir(path, 0755);
		}
		free(names);
	}
	/* 2: driver */
	s = f[2].s ? f[2].s : "../../../../bus/pci/drivers/iavf";
	if (*s)
		symlink(s, at(VF "/driver"));
	/* 3, 4: the PF's virtfn link */
	s = f[3].s ? f[3].s : "7";
	if (strlen(s) < 64 && !strchr(s, '/')) {
		snprintf(path, sizeof(path), "%s/virtfn%s", at(PF), s);
		if (symlink(f[4].s ? f[4].s : "../" VFADDR, path) == 0)
			snprintf(made_virtfn, sizeof(made_virtfn), "%s", path);
	}
	/* 5: physfn */
	s = f[5].s ? f[5].s : "../0000:af:00.1";
	if (*s)
		symlink(s, at(VF "/physfn"));
	/* 6: the bus entry */
	s = f[6].s ? f[6].s : "../../../" VF;
	if (*s)
		symlink(s, at("bus/pci/devices/" VFADDR));
	/* 7, 8: identity */
	if (!f[7].s || f[7].len)
		put(at(VF "/vendor"), f[7].s ? f[7].s : "0x8086\n", f[7].s ? f[7].len : 7);
	if (!f[8].s || f[8].len)
		put(at(VF "/device"), f[8].s ? f[8].s : "0x154c\n", f[8].s ? f[8].len : 7);
	/* 9, 10, 11: one more PF netdev */
	if (f[9].s && component_ok(f[9].s)) {
		snprintf(path, sizeof(path), "%s/net/%s", at(PF), f[9].s);
		if (mkdir(path, 0755) == 0) {
			char attr[PATH_MAX + 32];

			snprintf(made_pf_net, sizeof(made_pf_net), "%s", path);
			if (f[10].s) {
				snprintf(attr, sizeof(attr), "%s/phys_port_name", path);
				put(attr, f[10].s, f[10].len);
			}
			if (f[11].s) {
				snprintf(attr, sizeof(attr), "%s/dev_port", path);
				put(attr, f[11].s, f[11].len);
			}
		}
	}
}

/* realpath(path) when it is a valid PCI address's directory under devices, else NULL. */
static char *inside(const char *path)
{
	char *r = realpath(path, NULL);
	size_t n = strlen(devices);
	const char *b;

	if (!r)
		return NULL;
	b = strrchr(r, '/');
	if (strncmp(r, devices, n) || r[n] != '/' || !sriov_pci_addr_valid(b + 1)) {
		free(r);
		return NULL;
	}
	return r;
}

/* Some virtfn<digits> link of the PF, numbered idx, resolves to vf_dir. */
static bool pf_lists(const char *pf_dir, unsigned idx, const char *vf_dir)
{
	DIR *d = opendir(pf_dir);
	struct dirent *e;
	bool found = false;

	while (d && !found && (e = readdir(d))) {
		char path[PATH_MAX], *end, *real;

		if (strncmp(e->d_name, "virtfn", 6) || !isdigit((unsigned char)e->d_name[6]) ||
		    strtoul(e->d_name + 6, &end, 10) != idx || *end)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pf_dir, e->d_name);
		real = inside(path);
		found = real && strcmp(real, vf_dir) == 0;
		free(real);
	}
	if (d)
		closedir(d);
	return found;
}

static bool netdev_ok(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (!name || !name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	snprintf(path, sizeof(path), "%s/net/%s", dir, name);
	return lstat(path, &st) == 0;
}

static void check_vf(const char *addr, const struct sriov_pci *p)
{
	static const char *const userspace[] = { "vfio-pci", "uio_pci_generic", "igb_uio" };
	char path[PATH_MAX], *vf_dir, *pf_dir, *name = NULL;
	struct cni_err err = { 0 };
	bool dpdk = false;

	if (!p->vf_addr || strcmp(p->vf_addr, addr) || !p->pf_addr || !p->pf_netdev)
		abort();
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, addr);
	vf_dir = inside(path);
	if (!vf_dir || strcmp(strrchr(vf_dir, '/') + 1, addr))
		abort(); /* the VF is in the tree, and is the one asked for */
	snprintf(path, sizeof(path), "%s/physfn", vf_dir);
	pf_dir = inside(path);
	if (!pf_dir || strcmp(strrchr(pf_dir, '/') + 1, p->pf_addr))
		abort(); /* so is its PF */
	if (!pf_lists(pf_dir, p->vf_index, vf_dir))
		abort(); /* the PF lists the VF under the index returned */
	if (!netdev_ok(pf_dir, p->pf_netdev))
		abort();
	if (p->vf_netdev && !netdev_ok(vf_dir, p->vf_netdev))
		abort();
	/* A driver link to "/" gives "" (harmless: the name only decides dpdk). */
	if (p->driver && strchr(p->driver, '/'))
		abort();
	for (size_t i = 0; p->driver && i < sizeof(userspace) / sizeof(*userspace); i++)
		dpdk = dpdk || strcmp(p->driver, userspace[i]) == 0;
	if (dpdk != p->dpdk || (!p->vf_netdev && !p->dpdk))
		abort();
	if (sriov_pci_vf_netdev(root, addr, &name, &err) < 0)
		abort(); /* found once, found again */
	if ((!name) != (!p->vf_netdev) || (name && strcmp(name, p->vf_netdev)))
		abort();
	free(name);
	free(vf_dir);
	free(pf_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field f[NFIELDS] = { { 0 } };
	struct cni_err err = { 0 };
	struct sriov_pci p;
	char *copy = malloc(size + 1), *name = NULL;
	const char *addr;
	size_t i = 0, start = 0;

	if (!copy)
		return 0;
	if (!root[0])
		setup();
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t k = 0; k <= size && i < NFIELDS; k++) {
		if (k == size || copy[k] == '\0') {
			f[i].s = copy + start;
			f[i].len = k - start;
			i++;
			start = k + 1;
		}
	}
	if (size == 0)
		f[0].s = NULL; /* an empty input is the all-defaults tree */
	build(f);
	addr = f[0].s ? f[0].s : VFADDR;

	if (sriov_pci_lookup(root, addr, &p, &err) == 0) {
		if (getenv("FUZZ_VERBOSE")) /* to see what a reproducer does */
			fprintf(stderr, "%s: VF %u of %s (%s), netdev %s, driver %s\n", addr,
				p.vf_index, p.pf_addr, p.pf_netdev, p.vf_netdev ? p.vf_netdev : "-",
				p.driver ? p.driver : "-");
		check_vf(addr, &p);
		sriov_pci_free(&p);
	} else {
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "%s: %s\n", addr, err.msg ? err.msg : "(no message)");
		if (!err.msg || (err.code != 5 && err.code != 7 && err.code != 999))
			abort();
		if (p.vf_addr || p.pf_addr || p.pf_netdev || p.vf_netdev || p.driver)
			abort(); /* nothing returned on failure */
	}
	cni_err_clear(&err);
	if (sriov_pci_vf_netdev(root, addr, &name, &err) == 0) {
		if (name && (!name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/')))
			abort();
	} else if (name || !err.msg) {
		abort();
	}
	free(name);
	cni_err_clear(&err);
	free(copy);
	return 0;
}

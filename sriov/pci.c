/* sriov/pci.c: VF lookup through sysfs (physfn, virtfnN, net/, driver) and libpci (IDs).
 * Follows sriov-cni pkg/utils/utils.go GetPfName/GetVfid/GetVFLinkNames, hardened. */
#include "sriov/pci.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

bool sriov_pci_addr_valid(const char *a)
{
	size_t n = 0;
	unsigned dev;

	if (!a)
		return false;
	while (isxdigit((unsigned char)a[n]))
		n++;
	if (n < 4 || n > 8 || a[n] != ':')
		return false;
	a += n + 1;
	if (!isxdigit((unsigned char)a[0]) || !isxdigit((unsigned char)a[1]) || a[2] != ':')
		return false;
	a += 3;
	if (!isxdigit((unsigned char)a[0]) || !isxdigit((unsigned char)a[1]) || a[2] != '.')
		return false;
	dev = (unsigned)strtoul((char[]){ a[0], a[1], '\0' }, NULL, 16);
	return dev <= 0x1f && a[3] >= '0' && a[3] <= '7' && a[4] == '\0';
}

static CNI_PRINTF(1, 2) char *fmt_path(const char *fmt, ...);
static char *fmt_path(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

/* The tree the plugin may follow links into: <root>/devices, resolved once. */
struct tree {
	const char *root;
	char *devices; /* realpath of <root>/devices */
};

/* realpath(path), accepted only inside t->devices and ending in a valid PCI address. */
static char *resolve_dev(const struct tree *t, const char *path, const char *what,
			 struct cni_err *err)
{
	char *real = realpath(path, NULL);
	size_t n = strlen(t->devices);
	const char *base;

	if (!real) {
		if (errno == ENOENT || errno == ENOTDIR)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: %s does not exist", what,
				    path);
		else
			cni_err_set(err, CNI_ERR_IO, "%s: %s: %s", what, path, strerror(errno));
		return NULL;
	}
	base = strrchr(real, '/');
	if (strncmp(real, t->devices, n) != 0 || real[n] != '/' ||
	    !sriov_pci_addr_valid(base + 1)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: %s resolves to %s, which is not a PCI device under %s", what, path,
			    real, t->devices);
		free(real);
		return NULL;
	}
	return real;
}

static const char *basename_of(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

/* A netdev name as the kernel allows it; anything else in a net/ dir is skipped. */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < IFNAMSIZ && !strchr(s, '/') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

/* Reads a small sysfs attribute, trailing newline dropped; NULL when absent. */
static char *read_attr(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return strdup(buf);
}

/* Names in dir/net/ (sorted), as a NULL-terminated array; *n gets the count (0 when absent). */
static char **list_net(const char *dir, size_t *n)
{
	char *path = fmt_path("%s/net", dir);
	struct dirent **ents = NULL;
	char **names;
	int cnt;

	*n = 0;
	if (!path)
		return NULL;
	cnt = scandir(path, &ents, NULL, alphasort);
	free(path);
	names = calloc((cnt > 0 ? (size_t)cnt : 0) + 1, sizeof(*names));
	for (int i = 0; i < cnt; i++) {
		if (names && ifname_ok(ents[i]->d_name) && (names[*n] = strdup(ents[i]->d_name)))
			(*n)++;
		free(ents[i]);
	}
	free(ents);
	return names;
}

static void free_names(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/* A switchdev representor's phys_port_name looks like "pf0vf3" or "c1pf0vf3". */
static bool is_representor(const char *pf_dir, const char *name)
{
	char *path = fmt_path("%s/net/%s/phys_port_name", pf_dir, name);
	char *ppn = path ? read_attr(path) : NULL;
	bool rep = ppn && strstr(ppn, "vf") && strstr(ppn, "pf");

	free(path);
	free(ppn);
	return rep;
}

static long dev_port(const char *pf_dir, const char *name)
{
	char *path = fmt_path("%s/net/%s/dev_port", pf_dir, name);
	char *v = path ? read_attr(path) : NULL;
	long port = v ? strtol(v, NULL, 0) : 0;

	free(path);
	free(v);
	return port;
}

static int pick_pf_netdev(const char *pf_dir, const struct sriov_pci *p, char **out,
			  struct cni_err *err)
{
	size_t n;
	char **names = list_net(pf_dir, &n);
	long best_port = LONG_MAX;
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		long port;

		if (n > 1 && is_representor(pf_dir, names[i]))
			continue;
		port = dev_port(pf_dir, names[i]);
		if (port < best_port) {
			best_port = port;
			best = names[i];
		}
	}
	if (!best) {
		free_names(names);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "failed to get PF name: PF %s of VF %s has no network device",
				   p->pf_addr, p->vf_addr);
	}
	*out = strdup(best);
	free_names(names);
	return *out ? 0 : cni_err_oom(err);
}

/* The N of the virtfnN link under the PF that resolves to the VF's own directory. */
static int find_vf_index(const struct tree *t, const char *pf_dir, const char *vf_dir,
			 struct sriov_pci *p, struct cni_err *err)
{
	DIR *d = opendir(pf_dir);
	struct dirent *e;
	int ret = -1;

	if (!d)
		return cni_err_set(err, CNI_ERR_IO, "PF %s: %s: %s", p->pf_addr, pf_dir,
				   strerror(errno));
	while (ret < 0 && (e = readdir(d))) {
		char *end, *link, *real;
		unsigned long idx;

		if (strncmp(e->d_name, "virtfn", 6) != 0 || !isdigit((unsigned char)e->d_name[6]))
			continue;
		idx = strtoul(e->d_name + 6, &end, 10);
		if (*end || idx > INT_MAX)
			continue;
		link = fmt_path("%s/%s", pf_dir, e->d_name);
		real = link ? resolve_dev(t, link, "virtfn", NULL) : NULL;
		if (real && strcmp(real, vf_dir) == 0) {
			p->vf_index = (unsigned)idx;
			ret = 0;
		}
		free(link);
		free(real);
	}
	closedir(d);
	if (ret < 0)
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "unable to get VF ID with PF: %s and VF pci address %s",
			    p->pf_netdev ? p->pf_netdev : p->pf_addr, p->vf_addr);
	return ret;
}

static int read_driver(const char *vf_dir, struct sriov_pci *p, struct cni_err *err)
{
	static const char *const userspace[] = { "vfio-pci", "uio_pci_generic", "igb_uio" };
	char *link = fmt_path("%s/driver", vf_dir), target[PATH_MAX];
	ssize_t n;

	if (!link)
		return cni_err_oom(err);
	n = readlink(link, target, sizeof(target) - 1);
	free(link);
	if (n < 0)
		return 0; /* unbound */
	target[n] = '\0';
	p->driver = strdup(basename_of(target));
	if (!p->driver)
		return cni_err_oom(err);
	for (size_t i = 0; i < sizeof(userspace) / sizeof(*userspace); i++)
		p->dpdk = p->dpdk || strcmp(p->driver, userspace[i]) == 0;
	return 0;
}

/* libpci reports errors through a callback that must not return; jump back out of it. The
 * lookup is single-threaded per process, so one static landing pad is enough. */
static jmp_buf pci_jmp;
static char pci_msg[256];

static void __attribute__((noreturn)) CNI_PRINTF(1, 2) on_pci_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	/* ap is started just above: clang-tidy 14 forgets va_start in every translation unit
	 * after the first of a run (LLVM bug 41311, llvm-project#40656). */
	vsnprintf(pci_msg, sizeof(pci_msg), msg, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	longjmp(pci_jmp, 1);
}

static void CNI_PRINTF(1, 2) on_pci_quiet(char *msg, ...)
{
	(void)msg;
}

static int read_ids(const struct tree *t, const char *vf_dir, struct sriov_pci *p,
		    struct cni_err *err)
{
	unsigned dom, bus, dev, fn;
	struct pci_access *volatile acc = NULL;
	struct pci_dev *volatile d = NULL;
	char *base = fmt_path("%s/bus/pci", t->root), *vendor = fmt_path("%s/vendor", vf_dir);
	int ret = -1;

	if (!base || !vendor) {
		ret = cni_err_oom(err);
		goto out;
	}
	/* libpci treats a missing identity file as fatal; say so before it gets the chance. */
	if (access(vendor, R_OK) < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, "PCI device %s: cannot read %s: %s", p->vf_addr,
				  vendor, strerror(errno));
		goto out;
	}
	sscanf(p->vf_addr, "%x:%x:%x.%x", &dom, &bus, &dev, &fn);
	if (setjmp(pci_jmp)) {
		cni_err_set(err, CNI_ERR_IO, "PCI device %s: libpci: %s", p->vf_addr, pci_msg);
		goto out;
	}
	acc = pci_alloc();
	acc->error = on_pci_error;
	acc->warning = on_pci_quiet;
	acc->debug = on_pci_quiet;
	acc->method = PCI_ACCESS_SYS_BUS_PCI;
	pci_set_param(acc, "sysfs.path", base);
	pci_init(acc);
	d = pci_get_dev(acc, (int)dom, (int)bus, (int)dev, (int)fn);
	pci_fill_info(d, PCI_FILL_IDENT);
	p->vendor = d->vendor_id;
	p->device = d->device_id;
	ret = 0;
out:
	if (d)
		pci_free_dev(d);
	if (acc)
		pci_cleanup(acc);
	free(base);
	free(vendor);
	return ret;
}

static int tree_open(struct tree *t, const char *root, struct cni_err *err)
{
	char *devices = fmt_path("%s/devices", root);

	t->root = root;
	t->devices = devices ? realpath(devices, NULL) : NULL;
	if (!t->devices)
		cni_err_set(err, CNI_ERR_IO, "sysfs tree %s: %s", devices ? devices : root,
			    strerror(errno));
	free(devices);
	return t->devices ? 0 : -1;
}

/* The VF's own directory, resolved and checked. */
static char *vf_dir_of(const struct tree *t, const char *vf_addr, struct cni_err *err)
{
	char *entry = fmt_path("%s/bus/pci/devices/%s", t->root, vf_addr), *dir;

	if (!entry) {
		cni_err_oom(err);
		return NULL;
	}
	dir = resolve_dev(t, entry, "PCI device", err);
	if (dir && strcmp(basename_of(dir), vf_addr) != 0) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "PCI device %s: %s resolves to %s",
			    vf_addr, entry, dir);
		free(dir);
		dir = NULL;
	}
	if (!dir)
		cni_err_prefix(err, "failed to get VF information");
	free(entry);
	return dir;
}

static int lookup_pf(const struct tree *t, const char *vf_dir, struct sriov_pci *p,
		     struct cni_err *err)
{
	char *link = fmt_path("%s/physfn", vf_dir), *pf_dir = NULL;
	struct stat st;
	int ret = -1;

	if (!link)
		return cni_err_oom(err);
	if (lstat(link, &st) < 0) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "PCI device %s is not an SR-IOV VF (no physfn link)", p->vf_addr);
		goto out;
	}
	pf_dir = resolve_dev(t, link, "physfn", err);
	if (!pf_dir)
		goto out;
	p->pf_addr = strdup(basename_of(pf_dir));
	if (!p->pf_addr) {
		cni_err_oom(err);
		goto out;
	}
	if (pick_pf_netdev(pf_dir, p, &p->pf_netdev, err) < 0 ||
	    find_vf_index(t, pf_dir, vf_dir, p, err) < 0)
		goto out;
	ret = 0;
out:
	free(link);
	free(pf_dir);
	return ret;
}

int sriov_pci_lookup(const char *sysfs_root, const char *vf_addr, struct sriov_pci *p,
		     struct cni_err *err)
{
	struct tree t = { 0 };
	char *vf_dir = NULL, **names = NULL;
	size_t n;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (!sriov_pci_addr_valid(vf_addr))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "\"%s\" is not a PCI address",
				   vf_addr ? vf_addr : "");
	if (tree_open(&t, sysfs_root, err) < 0)
		return -1;
	p->vf_addr = strdup(vf_addr);
	vf_dir = p->vf_addr ? vf_dir_of(&t, vf_addr, err) : NULL;
	if (!vf_dir || lookup_pf(&t, vf_dir, p, err) < 0 || read_driver(vf_dir, p, err) < 0 ||
	    read_ids(&t, vf_dir, p, err) < 0)
		goto out;
	names = list_net(vf_dir, &n);
	if (n && !(p->vf_netdev = strdup(names[0]))) {
		cni_err_oom(err);
		goto out;
	}
	if (!p->vf_netdev && !p->dpdk) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "the VF %s does not have a interface name or a dpdk driver", vf_addr);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && !p->vf_addr)
		cni_err_oom(err);
	if (ret < 0)
		sriov_pci_free(p);
	free_names(names);
	free(vf_dir);
	free(t.devices);
	return ret;
}

int sriov_pci_vf_netdev(const char *sysfs_root, const char *vf_addr, char **name,
			struct cni_err *err)
{
	struct tree t = { 0 };
	char *vf_dir, **names;
	size_t n;

	*name = NULL;
	if (!sriov_pci_addr_valid(vf_addr))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "\"%s\" is not a PCI address",
				   vf_addr ? vf_addr : "");
	if (tree_open(&t, sysfs_root, err) < 0)
		return -1;
	vf_dir = vf_dir_of(&t, vf_addr, err);
	free(t.devices);
	if (!vf_dir)
		return -1;
	names = list_net(vf_dir, &n);
	free(vf_dir);
	if (n && !(*name = strdup(names[0]))) {
		free_names(names);
		return cni_err_oom(err);
	}
	free_names(names);
	return 0;
}

void sriov_pci_free(struct sriov_pci *p)
{
	free(p->vf_addr);
	free(p->pf_addr);
	free(p->pf_netdev);
	free(p->vf_netdev);
	free(p->driver);
	memset(p, 0, sizeof(*p));
}

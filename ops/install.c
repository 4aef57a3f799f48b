/* ops/install.c: `plexus install`: bin/plexus, bin/sriov, bin/plexus-shim into the CNI bin dir.
 * Written then renamed, never in place: no "text file busy", no half-written binary.
 * A build from `make dist` has its libraries in plexus-lib/ next to the binaries (found through
 * the binaries' $ORIGIN rpath): they are installed first, the same way. */
#include "ops/install.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/file.h"
#include "ops/cli.h"

#define BIN_MAX_BYTES (512u << 20)

/* The binaries plexus installs, as the runtime finds them by CNI type. */
static const char *const binaries[] = { "plexus-shim", "plexus", "sriov" };

/* True when path holds exactly data with mode (a symlink is never "the same"). */
static bool same_file(const char *path, const char *data, size_t len, mode_t mode)
{
	struct cni_err ignored = { 0 };
	size_t old_len = 0;
	struct stat st;
	char *old;
	bool same;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != mode ||
	    (size_t)st.st_size != len)
		return false;
	old = cni_read_file(path, BIN_MAX_BYTES, CNI_FILE_NOFOLLOW, &old_len, &ignored);
	same = old && old_len == len && memcmp(old, data, len) == 0;
	cni_err_clear(&ignored);
	free(old);
	return same;
}

static int install_one(const char *src, const char *dir, const char *name, mode_t mode,
		       FILE *report, struct cni_err *err)
{
	char real[PATH_MAX], *dst = NULL, *data = NULL;
	size_t len = 0;
	struct stat st;
	int ret = -1;

	/* the source may be reached through symlinks (a packaged layout); read what they name */
	if (!realpath(src, real))
		return cni_err_set(err, CNI_ERR_IO, "%s: %s", src, strerror(errno));
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
	    ((mode & S_IXUSR) && !(st.st_mode & S_IXUSR)))
		return cni_err_set(err, CNI_ERR_IO, "%s: not %s file", src,
				   (mode & S_IXUSR) ? "an executable" : "a regular");
	data = cni_read_file(real, BIN_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	if (!data) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO, "%s: %s", src, strerror(ENOENT));
		return -1;
	}
	if (len == 0) {
		cni_err_set(err, CNI_ERR_IO, "%s is empty: refusing to install it", src);
		goto out;
	}
	if (asprintf(&dst, "%s/%s", dir, name) < 0) {
		dst = NULL;
		cni_err_oom(err);
		goto out;
	}
	if (same_file(dst, data, len, mode)) {
		if (report)
			fprintf(report, "unchanged %s\n", dst);
		ret = 0;
		goto out;
	}
	if (cni_write_atomic(dst, data, len, mode, CNI_WRITE_SHARED, err) < 0)
		goto out;
	if (report)
		fprintf(report, "installed %s (from %s)\n", dst, real);
	ret = 1;
out:
	free(data);
	free(dst);
	return ret;
}

int ops_install_file(const char *src, const char *dir, const char *name, FILE *report,
		     struct cni_err *err)
{
	return install_one(src, dir, name, 0755, report, err);
}

static int not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

int ops_install_libs(const char *from, const char *bin_dir, FILE *report, struct cni_err *err)
{
	char *src_dir = NULL, *dst_dir = NULL;
	struct dirent **names = NULL;
	struct stat st;
	int n = 0, ret = -1;

	if (asprintf(&src_dir, "%s/%s", from, OPS_INSTALL_LIB_DIR) < 0 ||
	    asprintf(&dst_dir, "%s/%s", bin_dir, OPS_INSTALL_LIB_DIR) < 0) {
		src_dir = dst_dir = NULL;
		cni_err_oom(err);
		goto out;
	}
	if (stat(src_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ret = 0; /* a build without bundled libraries */
		goto out;
	}
	n = scandir(src_dir, &names, not_hidden, alphasort);
	if (n < 0) {
		n = 0;
		cni_err_set(err, CNI_ERR_IO, "%s: %s", src_dir, strerror(errno));
		goto out;
	}
	if ((stat(dst_dir, &st) < 0 || !S_ISDIR(st.st_mode)) && cni_mkdir_p(dst_dir, 0755, err) < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		char *src = NULL;
		int r;

		if (asprintf(&src, "%s/%s", src_dir, names[i]->d_name) < 0) {
			cni_err_oom(err);
			goto out;
		}
		r = install_one(src, dst_dir, names[i]->d_name, 0644, report, err);
		free(src);
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(src_dir);
	free(dst_dir);
	return ret;
}

void ops_install_usage(FILE *out)
{
	fputs("Usage: plexus install [OPTION]...\n"
	      "Copy plexus, sriov and plexus-shim into the host's CNI bin dir atomically (write a\n"
	      "temporary file, fsync, chmod 0755, rename): a running plugin is never half-written\n"
	      "and \"text file busy\" cannot happen. Identical files are left alone. The bundled\n"
	      "libraries of a `make dist` build (" OPS_INSTALL_LIB_DIR
	      "/ next to the binaries) go\n"
	      "to BIN-DIR/" OPS_INSTALL_LIB_DIR "/ first.\n"
	      "\n"
	      "  --bin-dir DIR    the CNI bin dir (" OPS_INSTALL_BIN_DIR ")\n"
	      "  --from DIR       where the binaries are (default: next to this plexus)\n"
	      "  -h, --help       this help\n"
	      "\n"
	      "Exit status: 0 installed or up to date, 1 an error, 2 usage.\n"
	      "See plexus-install(1).\n",
	      out);
}

static const struct option install_options[] = {
	{ "bin-dir", required_argument, NULL, 'b' },
	{ "from", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static char *self_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return strdup(*exe ? exe : "/");
}

int ops_install_cmd(int argc, char **argv)
{
	const char *bin_dir = OPS_INSTALL_BIN_DIR;
	struct cni_err err = { 0 };
	char *from = NULL;
	struct stat st;
	size_t found = 0;
	int c, ret = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", install_options, NULL)) != -1) {
		switch (c) {
		case 'b':
			bin_dir = optarg;
			break;
		case 'f':
			free(from);
			from = strdup(optarg);
			break;
		case 'h':
			free(from);
			ops_install_usage(stdout);
			return 0;
		default:
			free(from);
			return ops_getopt_error("install", c, argv[optind - 1]);
		}
	}
	if (optind < argc) {
		free(from);
		return ops_usage_error("install", "unexpected argument \"%s\"", argv[optind]);
	}
	if (!*bin_dir || (from && !*from)) {
		free(from);
		return ops_usage_error("install", "an option has an empty value");
	}
	if (!from && !(from = self_dir())) {
		fprintf(stderr, "plexus install: cannot tell where this binary is: give --from\n");
		return 1;
	}
	if (stat(from, &st) < 0) {
		cni_err_set(&err, CNI_ERR_IO, "--from %s: %s", from, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		cni_err_set(&err, CNI_ERR_IO, "--from %s: not a directory", from);
		goto fail;
	}
	/* hosts where /opt/cni/bin is a symlink to the real directory are common */
	if ((stat(bin_dir, &st) < 0 || !S_ISDIR(st.st_mode)) &&
	    cni_mkdir_p(bin_dir, 0755, &err) < 0)
		goto fail;
	/* libraries first: a new binary never runs without the libraries it was built with */
	if (ops_install_libs(from, bin_dir, stdout, &err) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(binaries) / sizeof(binaries[0]); i++) {
		char *src = NULL;
		int r;

		if (asprintf(&src, "%s/%s", from, binaries[i]) < 0) {
			cni_err_oom(&err);
			goto fail;
		}
		if (access(src, F_OK) < 0) {
			free(src);
			continue;
		}
		found++;
		r = ops_install_file(src, bin_dir, binaries[i], stdout, &err);
		free(src);
		if (r < 0)
			goto fail;
	}
	if (!found) {
		cni_err_set(&err, CNI_ERR_IO, "no plexus or sriov binary in %s", from);
		goto fail;
	}
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "plexus install: %s\n", err.msg);
out:
	cni_err_clear(&err);
	free(from);
	return ret;
}

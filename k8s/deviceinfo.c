/* k8s/deviceinfo.c: device-info spec v1.1.0 files and deviceID/pciBusID injection.
 * Follows device-info-spec v1.1.0, the NAD client's pkg/utils/cniconfig.go device-info helpers
 * (paths, 0444, no overwrite) and Multus pkg/types/conf.go delegateAddDeviceID (injection). */
#include "k8s/deviceinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/json.h"
#include "k8s/file.h"

#define PART_MAX 253

/* ---- names ---- */

static int check_part(const char *what, const char *s, struct cni_err *err)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "device-info: empty %s", what);
	if (n > PART_MAX)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "device-info: %s longer than %d bytes", what, PART_MAX);
	if (strstr(s, "..") || strcmp(s, ".") == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "device-info: %s \"%s\" contains \"..\" or is \".\"", what, s);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "device-info: %s contains a control character", what);
	return 0;
}

static int check_dir(const char *dir, struct cni_err *err)
{
	size_t n = dir ? strlen(dir) : 0;

	if (n == 0 || dir[0] != '/')
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "device-info: directory \"%s\" is not an absolute path",
				   dir ? dir : "");
	if (n > PATH_MAX / 2)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "device-info: directory longer than %d bytes", PATH_MAX / 2);
	for (const char *p = dir; (p = strstr(p, "..")); p += 2)
		if ((p == dir || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "device-info: directory \"%s\" contains \"..\"", dir);
	return 0;
}

/* dir + sub + the file name made of the parts with every '/' turned into '-'. */
static char *join(const char *dir, const char *sub, const char *name, struct cni_err *err)
{
	char *path = NULL, *base;
	size_t dlen = strlen(dir);

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (strlen(name) > NAME_MAX) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "device-info: file name \"%s\" longer than %d bytes", name, NAME_MAX);
		return NULL;
	}
	if (asprintf(&path, "%.*s/%s/%s", (int)dlen, dir, sub, name) < 0) {
		cni_err_oom(err);
		return NULL;
	}
	for (base = path + strlen(path) - strlen(name); *base; base++)
		if (*base == '/')
			*base = '-';
	return path;
}

char *k8s_devinfo_dp_path(const char *dir, const char *resource, const char *device_id,
			  struct cni_err *err)
{
	char *name = NULL, *path;

	if (check_dir(dir, err) < 0 || check_part("resource name", resource, err) < 0 ||
	    check_part("device ID", device_id, err) < 0)
		return NULL;
	if (asprintf(&name, "%s-%s-device.json", resource, device_id) < 0) {
		cni_err_oom(err);
		return NULL;
	}
	path = join(dir, "dp", name, err);
	free(name);
	return path;
}

char *k8s_devinfo_cni_path(const char *dir, const char *net_name, const char *container_id,
			   const char *ifname, struct cni_err *err)
{
	char *name = NULL, *path;

	if (check_dir(dir, err) < 0 || check_part("network name", net_name, err) < 0 ||
	    check_part("container ID", container_id, err) < 0 ||
	    check_part("interface name", ifname, err) < 0)
		return NULL;
	if (asprintf(&name, "%s-%s_%s", net_name, container_id, ifname) < 0) {
		cni_err_oom(err);
		return NULL;
	}
	path = join(dir, "cni", name, err);
	free(name);
	return path;
}

/* ---- files ---- */

/* Creates every missing directory above path's last component, mode 0755. */
static int mkdir_parents(const char *path, struct cni_err *err)
{
	char *p = strdup(path), *slash;
	int ret = 0;

	if (!p)
		return cni_err_oom(err);
	slash = strrchr(p, '/');
	if (!slash || slash == p) {
		free(p);
		return 0;
	}
	*slash = '\0';
	for (char *q = p + 1; ret == 0; q++) {
		bool end = *q == '\0';

		if (*q != '/' && !end)
			continue;
		*q = '\0';
		/* chmod: 0755 whatever the umask, only on directories created here. */
		if (mkdir(p, 0755) == 0)
			chmod(p, 0755);
		else if (errno != EEXIST)
			ret = cni_err_set(err, CNI_ERR_IO, "device-info: cannot create %s: %s", p,
					  strerror(errno));
		if (end)
			break;
		*q = '/';
	}
	free(p);
	return ret;
}

/* Writes data to a new temporary file, mode 0444, in path's directory; returns its name. */
static char *write_tmp(const char *path, const char *data, size_t len, struct cni_err *err)
{
	const char *slash = strrchr(path, '/');
	char *tmp = NULL;
	size_t off = 0;
	int fd;

	if (mkdir_parents(path, err) < 0)
		return NULL;
	if (asprintf(&tmp, "%.*s/.devinfo.XXXXXX", (int)(slash - path), path) < 0) {
		cni_err_oom(err);
		return NULL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		cni_err_set(err, CNI_ERR_IO, "device-info: cannot create a file next to %s: %s",
			    path, strerror(errno));
		free(tmp);
		return NULL;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fchmod(fd, 0444) < 0 || close(fd) < 0) {
		cni_err_set(err, CNI_ERR_IO, "device-info: cannot write %s: %s", tmp,
			    strerror(errno));
		if (off < len)
			close(fd);
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

int k8s_devinfo_save(const char *path, const char *data, size_t len, struct cni_err *err)
{
	char *tmp = write_tmp(path, data, len, err);
	int ret = 0;

	if (!tmp)
		return -1;
	/* link() never replaces: the spec's "fail if the file exists", without a window. */
	if (link(tmp, path) < 0) {
		int e = errno;

		ret = e == EEXIST ? -EEXIST : -1;
		if (e == EEXIST)
			cni_err_set(err, CNI_ERR_IO, "device-info file %s already exists", path);
		else
			cni_err_set(err, CNI_ERR_IO, "device-info: cannot create %s: %s", path,
				    strerror(e));
	}
	unlink(tmp);
	free(tmp);
	return ret;
}

/* Reads a whole device-info file: 0 with *text (len bytes, NUL-terminated), 1 when absent.
 * Follows a symlink, as the device plugin may have written one. */
static int slurp(const char *path, char **text, size_t *len, struct cni_err *err)
{
	*text = k8s_read_file("device-info file", path, K8S_DEVINFO_MAX, CNI_FILE_FOLLOW, len, err);
	if (*text)
		return 0;
	return errno == ENOENT ? 1 : -1;
}

static cJSON *parse_devinfo(const char *path, const char *text, size_t len, struct cni_err *err)
{
	cJSON *j = cni_json_parse(text, len, "device-info", err);
	const cJSON *type, *version;

	if (!j) {
		cni_err_prefix(err, "device-info file %s", path);
		return NULL;
	}
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	version = cJSON_GetObjectItemCaseSensitive(j, "version");
	if (!cJSON_IsObject(j) || !cJSON_IsString(type) || !*type->valuestring ||
	    !cJSON_IsString(version)) {
		cni_err_set(err, CNI_ERR_DECODE,
			    "device-info file %s: not an object with string \"type\" and "
			    "\"version\"",
			    path);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int k8s_devinfo_read(const char *path, cJSON **out, struct cni_err *err)
{
	char *text;
	size_t len = 0;
	int r = slurp(path, &text, &len, err);

	*out = NULL;
	if (r < 0)
		return -1;
	if (r == 1)
		return 0;
	*out = parse_devinfo(path, text, len, err);
	free(text);
	return *out ? 0 : -1;
}

int k8s_devinfo_copy(const char *dp_path, const char *cni_path, struct cni_err *err)
{
	struct stat st;
	char *text, *tmp = NULL;
	size_t len = 0;
	cJSON *j;
	int r = slurp(dp_path, &text, &len, err), ret = -1;

	if (r != 0)
		return r < 0 ? -1 : 0;
	j = parse_devinfo(dp_path, text, len, err);
	if (!j)
		goto out;
	cJSON_Delete(j);
	if (lstat(cni_path, &st) == 0 && !S_ISREG(st.st_mode)) {
		cni_err_set(err, CNI_ERR_IO, "device-info file %s exists and is not a regular file",
			    cni_path);
		goto out;
	}
	tmp = write_tmp(cni_path, text, len, err);
	if (!tmp)
		goto out;
	/* The exact bytes the device plugin wrote; a leftover of this attachment is replaced. */
	if (rename(tmp, cni_path) < 0) {
		cni_err_set(err, CNI_ERR_IO, "device-info: cannot create %s: %s", cni_path,
			    strerror(errno));
		unlink(tmp);
		goto out;
	}
	ret = 1;
out:
	free(tmp);
	free(text);
	return ret;
}

int k8s_devinfo_remove(const char *path, struct cni_err *err)
{
	if (unlink(path) < 0 && errno != ENOENT)
		return cni_err_set(err, CNI_ERR_IO, "device-info: cannot remove %s: %s", path,
				   strerror(errno));
	return 0;
}

/* ---- injection ---- */

static int set_ids(cJSON *obj, const char *device_id)
{
	cJSON *a = cJSON_CreateString(device_id), *b = cJSON_CreateString(device_id);

	if (!a || !b) {
		cJSON_Delete(a);
		cJSON_Delete(b);
		return -1;
	}
	if (cni_json_set(obj, "deviceID", a) < 0) {
		cJSON_Delete(b);
		return -1;
	}
	return cni_json_set(obj, "pciBusID", b);
}

char *k8s_inject_device_id(const char *conf, size_t len, const char *device_id, struct cni_err *err)
{
	cJSON *root, *plugins, *p;
	char *out = NULL;

	if (!device_id || !*device_id) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "device ID injection: empty device ID");
		return NULL;
	}
	root = cni_json_parse(conf, len, "delegate config", err);
	if (!root)
		return NULL;
	if (!cJSON_IsObject(root)) {
		cni_err_set(err, CNI_ERR_DECODE, "delegate config is not a JSON object");
		goto out;
	}
	plugins = cJSON_GetObjectItemCaseSensitive(root, "plugins");
	if (plugins) {
		if (!cJSON_IsArray(plugins)) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "delegate conflist: \"plugins\" is not a list");
			goto out;
		}
		cJSON_ArrayForEach(p, plugins)
		{
			if (!cJSON_IsObject(p)) {
				cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					    "delegate conflist: a plugin is not an object");
				goto out;
			}
			if (set_ids(p, device_id) < 0)
				goto oom;
		}
	} else if (set_ids(root, device_id) < 0) {
		goto oom;
	}
	out = cni_json_print_go(root, true);
	if (out)
		goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(root);
	return out;
}

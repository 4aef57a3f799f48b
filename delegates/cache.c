/* delegates/cache.c: atomic durable files and libcni's cniCacheV1 result cache.
 * Follows libcni api.go (cache layout and JSON) with write+fsync+rename instead of WriteFile. */
#include "delegates/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cni/json.h"

#define CACHE_MAX_BYTES (16u << 20)

int dlg_mkdir_p(const char *path, mode_t mode, struct cni_err *err)
{
	char *copy = strdup(path), *p;
	struct stat st;
	int ret = -1;

	if (!copy)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	for (p = copy + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			cni_err_set(err, CNI_ERR_IO, "mkdir %s: %s", copy, strerror(errno));
			goto out;
		}
		if (lstat(copy, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cni_err_set(err, CNI_ERR_IO, "%s: not a directory", copy);
			goto out;
		}
		if (last)
			break;
		*p = '/';
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

static int write_tmp_rename(const char *path, const void *data, size_t len, mode_t mode,
			    bool durable, struct cni_err *err)
{
	char *tmp = NULL;
	int fd = -1, e;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	unlink(tmp); /* a leftover from a crashed process with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	if (durable && sync_dir_of(path) < 0)
		return cni_err_set(err, CNI_ERR_IO, "sync directory of %s: %s", path,
				   strerror(errno));
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return cni_err_set(err, CNI_ERR_IO, "write %s: %s", path, strerror(e));
}

int dlg_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     struct cni_err *err)
{
	return write_tmp_rename(path, data, len, mode, true, err);
}

int dlg_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		      struct cni_err *err)
{
	return write_tmp_rename(path, data, len, mode, false, err);
}

char *dlg_read_file(const char *path, size_t max, size_t *len, struct cni_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	struct stat st;
	char *buf = NULL;

	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		cni_err_set(err, CNI_ERR_IO, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		cni_err_set(err, CNI_ERR_IO, "%s: not a regular file", path);
		goto fail;
	}
	buf = malloc(cap);
	if (!buf)
		goto oom;
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *p;

			if (cap > max + 1) {
				cni_err_set(err, CNI_ERR_IO, "%s: larger than %zu bytes", path,
					    max);
				goto fail;
			}
			p = realloc(buf, cap * 2);
			if (!p)
				goto oom;
			buf = p;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			cni_err_set(err, CNI_ERR_IO, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		cni_err_set(err, CNI_ERR_IO, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
oom:
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
fail:
	free(buf);
	close(fd);
	errno = EIO;
	return NULL;
}

int dlg_remove_file(const char *path, struct cni_err *err)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return cni_err_set(err, CNI_ERR_IO, "remove %s: %s", path, strerror(errno));
	}
	/* not synced: a removal lost in a power cut brings back a cache whose DEL is idempotent */
	return 0;
}

void dlg_remove_temporaries(const char *path)
{
	char *copy = strdup(path), *dir, *base;
	struct dirent *de;
	size_t blen;
	DIR *d;

	if (!copy)
		return;
	base = strrchr(copy, '/');
	if (!base) {
		free(copy);
		return;
	}
	*base++ = '\0';
	dir = copy;
	blen = strlen(base);
	d = opendir(*dir ? dir : "/");
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, base, blen) == 0 &&
		    strncmp(de->d_name + blen, ".tmp.", 5) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	free(copy);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *dlg_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[in[i] >> 2];
		*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = b64[((in[i + 1] & 0xf) << 2) | (in[i + 2] >> 6)];
		*o++ = b64[in[i + 2] & 0x3f];
	}
	if (i < len) {
		*o++ = b64[in[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*o++ = b64[(in[i + 1] & 0xf) << 2];
		} else {
			*o++ = b64[(in[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

char *dlg_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	unsigned char *out;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++) {
			bool pad_ok =
			    i + 4 == n && k >= 2 && s[i + k] == '=' && (k == 3 || s[i + 3] == '=');

			v[k] = pad_ok ? 0 : b64_val(s[i + k]);
			if (v[k] < 0)
				goto bad;
			if (pad_ok)
				v[k] = -2;
		}
		out[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
		if (v[2] != -2)
			out[o++] = (unsigned char)(((v[1] & 0xf) << 4) | (v[2] >> 2));
		if (v[2] != -2 && v[3] != -2)
			out[o++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
	}
	out[o] = '\0';
	*len = o;
	return (char *)out;
bad:
	free(out);
	return NULL;
}

char *dlg_cache_path(const char *cache_dir, const char *net, const char *container_id,
		     const char *ifname)
{
	char *p = NULL;

	if (asprintf(&p, "%s/results/%s-%s-%s", cache_dir, net, container_id, ifname) < 0)
		return NULL;
	return p;
}

int dlg_cache_write(const char *cache_dir, const char *net, const char *container_id,
		    const char *ifname, const char *netns, const struct cni_kv *args, size_t nargs,
		    const cJSON *cap_args, const char *config, size_t config_len,
		    const cJSON *result, struct cni_err *err)
{
	cJSON *doc = cJSON_CreateObject(), *a;
	char *path = NULL, *dir = NULL, *text = NULL, *b = NULL;
	int ret = -1;

	if (!doc)
		goto oom;
	b = dlg_base64_encode(config, config_len);
	if (!b)
		goto oom;
	/* libcni's field order: kind, containerId, config, ifName, networkName, netns, cniArgs,
	 * capabilityArgs, result */
	cJSON_AddStringToObject(doc, "kind", "cniCacheV1");
	cJSON_AddStringToObject(doc, "containerId", container_id);
	cJSON_AddStringToObject(doc, "config", b);
	cJSON_AddStringToObject(doc, "ifName", ifname);
	cJSON_AddStringToObject(doc, "networkName", net);
	if (netns && *netns)
		cJSON_AddStringToObject(doc, "netns", netns);
	if (nargs) {
		a = cJSON_AddArrayToObject(doc, "cniArgs");
		for (size_t i = 0; a && i < nargs; i++) {
			const char *kv[2] = { args[i].key, args[i].value };

			cJSON_AddItemToArray(a, cJSON_CreateStringArray(kv, 2));
		}
	}
	if (cJSON_IsObject(cap_args) && cap_args->child)
		cJSON_AddItemToObject(doc, "capabilityArgs", cJSON_Duplicate(cap_args, true));
	if (result)
		cJSON_AddItemToObject(doc, "result", cJSON_Duplicate(result, true));
	text = cni_json_print_go(doc, false);
	path = dlg_cache_path(cache_dir, net, container_id, ifname);
	if (!text || !path || asprintf(&dir, "%s/results", cache_dir) < 0)
		goto oom;
	if (dlg_mkdir_p(dir, 0700, err) < 0)
		goto out;
	/* libcni's own WriteFile is not synced either; losing it only costs DEL its prevResult */
	ret = dlg_write_replace(path, text, strlen(text), 0600, err);
	goto out;
oom:
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
out:
	cJSON_Delete(doc);
	free(b);
	free(text);
	free(path);
	free(dir);
	return ret;
}

static const char *str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills out from a file's text; 0 when it is a valid entry, -1 otherwise. */
static int parse_entry(char *path, const char *text, size_t len, struct dlg_cached *out,
		       struct cni_err *err)
{
	const char *kind, *config;
	cJSON *doc = cni_json_parse(text, len, path, err);

	memset(out, 0, sizeof(*out));
	if (!doc)
		return -1;
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return cni_err_set(err, CNI_ERR_DECODE, "%s: not a JSON object", path);
	}
	out->doc = doc;
	out->path = path;
	kind = str_field(doc, "kind");
	if (!kind) { /* legacy: the bare result */
		out->result = doc;
		return 0;
	}
	if (strcmp(kind, "cniCacheV1") != 0) {
		cni_err_set(err, CNI_ERR_DECODE, "%s: cache entry has wrong kind: %s", path, kind);
		out->path = NULL;
		dlg_cached_free(out);
		return -1;
	}
	out->container_id = str_field(doc, "containerId");
	out->ifname = str_field(doc, "ifName");
	out->network_name = str_field(doc, "networkName");
	out->netns = str_field(doc, "netns");
	config = str_field(doc, "config");
	if (config) {
		out->config = dlg_base64_decode(config, &out->config_len);
		if (!out->config) {
			cni_err_set(err, CNI_ERR_DECODE, "%s: config is not base64", path);
			out->path = NULL;
			dlg_cached_free(out);
			return -1;
		}
	}
	out->cni_args = cJSON_GetObjectItemCaseSensitive(doc, "cniArgs");
	out->capability_args = cJSON_GetObjectItemCaseSensitive(doc, "capabilityArgs");
	out->result = cJSON_GetObjectItemCaseSensitive(doc, "result");
	if (out->result && !cJSON_IsObject(out->result))
		out->result = NULL;
	return 0;
}

int dlg_cache_read(const char *cache_dir, const char *net, const char *container_id,
		   const char *ifname, struct dlg_cached *out, struct cni_err *err)
{
	char *path = dlg_cache_path(cache_dir, net, container_id, ifname), *text;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	if (!path)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	errno = 0;
	text = dlg_read_file(path, CACHE_MAX_BYTES, &len, err);
	if (!text) {
		free(path);
		return errno == ENOENT && !cni_err_isset(err) ? 0 : -1;
	}
	if (parse_entry(path, text, len, out, err) < 0) {
		free(path);
		free(text);
		return -1;
	}
	free(text);
	return 1;
}

int dlg_cache_list(const char *cache_dir, const char *net, struct dlg_cached **out, size_t *n,
		   struct cni_err *err)
{
	char *dir = NULL;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (asprintf(&dir, "%s/results", cache_dir) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	d = opendir(dir);
	if (!d) {
		int e = errno;

		free(dir);
		if (e == ENOENT)
			return 0;
		return cni_err_set(err, CNI_ERR_IO, "open %s/results: %s", cache_dir, strerror(e));
	}
	while ((de = readdir(d))) {
		struct cni_err ignored = { 0 };
		struct dlg_cached c, *grown;
		char *path = NULL, *text;
		size_t len = 0;

		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp."))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			continue;
		text = dlg_read_file(path, CACHE_MAX_BYTES, &len, &ignored);
		if (!text || parse_entry(path, text, len, &c, &ignored) < 0) {
			free(path);
			free(text);
			cni_err_clear(&ignored);
			continue;
		}
		free(text);
		if (!c.container_id || !c.ifname || !c.network_name ||
		    (net && strcmp(c.network_name, net) != 0)) {
			dlg_cached_free(&c);
			continue;
		}
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown) {
			dlg_cached_free(&c);
			break;
		}
		*out = grown;
		(*out)[(*n)++] = c;
	}
	closedir(d);
	free(dir);
	return 0;
}

int dlg_cache_set_result(const char *cache_dir, const char *net, const char *container_id,
			 const char *ifname, const cJSON *result, struct cni_err *err)
{
	struct dlg_cached c;
	char *text = NULL;
	int found, ret = -1;

	found = dlg_cache_read(cache_dir, net, container_id, ifname, &c, err);
	if (found <= 0)
		return found == 0 ? cni_err_set(err, CNI_ERR_IO, "no cached result for %s-%s-%s",
						net, container_id, ifname)
				  : -1;
	if (cni_json_set(c.doc, "result", cJSON_Duplicate(result, true)) < 0 ||
	    !(text = cni_json_print_go(c.doc, false))) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	ret = dlg_write_replace(c.path, text, strlen(text), 0600, err);
out:
	free(text);
	dlg_cached_free(&c);
	return ret;
}

void dlg_cached_free(struct dlg_cached *c)
{
	free(c->path);
	free(c->config);
	cJSON_Delete(c->doc);
	memset(c, 0, sizeof(*c));
}

void dlg_cached_free_all(struct dlg_cached *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dlg_cached_free(&c[i]);
	free(c);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int dlg_lock(const char *path, int timeout_ms, bool inherit, struct cni_err *err)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0)
			return cni_err_set(err, CNI_ERR_IO, "lock %s: %s", path, strerror(errno));
		while (flock(fd, timeout_ms > 0 ? LOCK_EX | LOCK_NB : LOCK_EX) < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			if (e == EWOULDBLOCK && now_ms() < deadline) {
				usleep(10000);
				continue;
			}
			close(fd);
			if (e == EWOULDBLOCK)
				return cni_err_set(
				    err, CNI_ERR_TRY_AGAIN,
				    "%s is busy: another operation has held it for %d ms", path,
				    timeout_ms);
			return cni_err_set(err, CNI_ERR_IO, "lock %s: %s", path, strerror(e));
		}
		/* the previous holder may have unlinked it: then lock the new file instead */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			if (inherit)
				fcntl(fd, F_SETFD, 0);
			return fd;
		}
		close(fd);
	}
}

void dlg_unlock(int fd, const char *path, bool remove)
{
	if (fd < 0)
		return;
	if (remove)
		unlink(path);
	close(fd);
}

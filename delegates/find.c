/* delegates/find.c: find a plugin binary by its CNI type in the CNI_PATH directories.
 * Follows libcni pkg/invoke FindInPath (same error texts; CVE-2021-20206 name check). */
#include "delegates/find.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/buf.h"
#include "delegates/exec.h"

static bool dir_empty(const char *dir)
{
	return !dir || !*dir;
}

/* The type is quoted as Go's %q does (cni_quote), so that the message reads exactly like
 * libcni's FindInPath: failed to find plugin "x" in path [/a /b]. */
static int not_found(const char *type, const char *const *dirs, size_t ndirs, struct cni_err *err)
{
	char *q = cni_quote(type, 0), *list;
	const char *sep = "";
	struct cni_buf b;

	if (!q)
		return cni_err_oom(err);
	cni_buf_init(&b, SIZE_MAX, false);
	if (cni_buf_printf(&b, "failed to find plugin %s in path [", q) == 0) {
		for (size_t i = 0; i < ndirs; i++) {
			if (dir_empty(dirs[i]))
				continue;
			if (cni_buf_printf(&b, "%s%s", sep, dirs[i]) < 0)
				break;
			sep = " ";
		}
		if (cni_buf_adds(&b, "]") < 0) {
			/* the failure sticks: cni_buf_take below returns NULL */
		}
	}
	free(q);
	list = cni_buf_take(&b, NULL);
	if (!list)
		return cni_err_oom(err);
	cni_err_set(err, CNI_ERR_INTERNAL, "%s", list);
	free(list);
	return -1;
}

/* dir/type without doubled slashes; a relative dir is taken from the current directory so
 * the caller always gets the absolute path it will exec. */
static char *join(const char *dir, const char *type)
{
	size_t dlen = strlen(dir);
	char *cwd = NULL, *path = NULL;

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	if (dir[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
	}
	if (asprintf(&path, "%s%s%.*s%s%s", cwd ? cwd : "", cwd ? "/" : "", (int)dlen, dir,
		     dir[dlen - 1] == '/' ? "" : "/", type) < 0)
		path = NULL;
	free(cwd);
	return path;
}

/* Follows symlinks: a link to a plugin is a plugin, a directory named like one is not. */
static bool is_executable_at(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	return (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) &&
	       faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* Delegates that run chroot()ed (dlg_exec_set_root): the path is theirs, the check ours. */
static bool is_executable_file(const char *path)
{
	const char *root = dlg_exec_root();
	char *in_root = NULL;
	bool found;

	if (!root)
		return is_executable_at(path);
	if (asprintf(&in_root, "%s%s", root, path) < 0)
		return false;
	found = is_executable_at(in_root);
	free(in_root);
	return found;
}

char *dlg_find(const char *type, const char *const *dirs, size_t ndirs, struct cni_err *err)
{
	size_t searched = 0;

	if (!type || !*type) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no plugin name provided");
		return NULL;
	}
	/* A type is a file name, never a path: it must not walk out of the plugin dirs. */
	if (strchr(type, '/') || strchr(type, '\\') || strstr(type, "..")) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "invalid plugin name: %s", type);
		return NULL;
	}
	for (size_t i = 0; i < ndirs; i++) {
		char *path;

		if (dir_empty(dirs[i]))
			continue;
		searched++;
		path = join(dirs[i], type);
		if (!path) {
			cni_err_oom(err);
			return NULL;
		}
		if (is_executable_file(path))
			return path;
		free(path);
	}
	if (!searched) {
		cni_err_set(err, CNI_ERR_INTERNAL, "no paths provided");
		return NULL;
	}
	not_found(type, dirs, ndirs, err);
	return NULL;
}

char **dlg_path_split(const char *path, size_t *n)
{
	size_t count = 0, cap = 1;
	const char *p, *end;
	char **dirs;

	*n = 0;
	for (p = path; p && *p; p++)
		cap += *p == ':';
	dirs = calloc(cap + 1, sizeof(*dirs));
	if (!dirs)
		return NULL;
	for (p = path; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (end == p)
			continue;
		dirs[count] = strndup(p, (size_t)(end - p));
		if (!dirs[count]) {
			dlg_path_free(dirs);
			return NULL;
		}
		count++;
	}
	*n = count;
	return dirs;
}

void dlg_path_free(char **dirs)
{
	if (!dirs)
		return;
	for (char **d = dirs; *d; d++)
		free(*d);
	free(dirs);
}

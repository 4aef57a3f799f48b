/* k8s/file.c: cni_read_file with the k8s/ modules' messages (see k8s/file.h). */
#include "k8s/file.h"

#include <errno.h>
#include <string.h>

/* The reason in one of cni_read_file's messages: after "open <path>: ", "read <path>: ",
 * "stat <path>: " or "<path>: ". */
static const char *reason(const char *msg, const char *path)
{
	size_t n = strlen(path);
	const char *p = strchr(msg, ' ');

	if (p && (size_t)(p - msg) == 4 && strncmp(p + 1, path, n) == 0 && p[1 + n] == ':')
		msg = p + 1;
	if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

char *k8s_read_file(const char *what, const char *path, size_t max, unsigned flags, size_t *len,
		    struct cni_err *err)
{
	struct cni_err e = { 0 };
	char *data = cni_read_file(path, max, flags, len, &e);
	const char *why;

	if (data || !cni_err_isset(&e))
		return data;
	why = reason(e.msg, path);
	if (e.code == CNI_ERR_INTERNAL)
		cni_err_move(err, &e);
	else if (strncmp(why, "larger than ", 12) == 0 && max && max % (1u << 20) == 0)
		cni_err_set(err, e.code, "%s %s: larger than %zu MiB", what, path, max >> 20);
	else
		cni_err_set(err, e.code, "%s %s: %s", what, path, why);
	cni_err_clear(&e);
	errno = EIO;
	return NULL;
}

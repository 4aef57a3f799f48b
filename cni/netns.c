/* cni/netns.c: enter a network namespace for one call and always come back to the caller's.
 * Follows containernetworking/plugins pkg/ns (Do) and setns(2): setns moves this thread only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cni/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* The thread's own netns: setns() changes only the calling thread, so /proc/self would name
 * the main thread's namespace, which is wrong when another thread has switched. */
#define SELF_NETNS "/proc/thread-self/ns/net"

/* Returns 0 when fd is a network namespace, else an errno value saying why not. Both a bind
 * mount under /run/netns and a /proc/PID/ns/net link open to the nsfs inode itself. */
static int check_netns_fd(int fd)
{
	struct statfs fs;
	int type;

	if (fstatfs(fd, &fs) < 0)
		return errno;
	if (fs.f_type != NSFS_MAGIC)
		return EINVAL;
	/* nsfs also holds mnt, pid, user... namespaces: insist on a network one. */
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return errno;
	return type == CLONE_NEWNET ? 0 : EINVAL;
}

int cni_netns_open(const char *path, struct cni_err *err)
{
	int fd, e;

	if (!path || !*path)
		return cni_err_set(err, CNI_ERR_IO, "netns path is empty");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IO, "netns %s: open: %s", path, strerror(errno));
	e = check_netns_fd(fd);
	if (e) {
		close(fd);
		if (e == EINVAL)
			return cni_err_set(err, CNI_ERR_IO, "netns %s: not a network namespace",
					   path);
		return cni_err_set(err, CNI_ERR_IO, "netns %s: %s", path, strerror(e));
	}
	return fd;
}

int cni_netns_do(const char *path, cni_netns_fn fn, void *arg, struct cni_err *err)
{
	struct cni_err fn_err = { 0 };
	int target, self, ret;

	target = cni_netns_open(path, err);
	if (target < 0)
		return -1;
	self = open(SELF_NETNS, O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, "netns %s: cannot open own netns %s: %s", path,
				  SELF_NETNS, strerror(errno));
		goto out_target;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, "netns %s: setns: %s", path, strerror(errno));
		goto out_self;
	}

	ret = fn(arg, &fn_err);

	if (setns(self, CLONE_NEWNET) < 0) {
		/* The thread now runs in the container's netns; nothing later may trust where it
		 * is, so this error wins over whatever fn reported (kept in details). */
		cni_err_set(err, CNI_ERR_INTERNAL,
			    "netns %s: cannot return to the original netns: %s", path,
			    strerror(errno));
		if (fn_err.msg)
			cni_err_details(err, "%s", fn_err.msg);
		ret = -1;
	} else if (err && cni_err_isset(&fn_err)) {
		cni_err_move(err, &fn_err);
	}
	cni_err_clear(&fn_err);
out_self:
	close(self);
out_target:
	close(target);
	return ret;
}

bool cni_netns_exists(const char *path)
{
	int fd = cni_netns_open(path, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool cni_netns_is_current(const char *path)
{
	struct stat target, self;

	if (!path || !*path)
		return false;
	if (stat(path, &target) < 0 || stat(SELF_NETNS, &self) < 0)
		return false;
	return target.st_dev == self.st_dev && target.st_ino == self.st_ino;
}

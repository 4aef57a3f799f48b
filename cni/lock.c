/* cni/lock.c: exclusive flock with a deadline, robust to a holder that removed the file.
 * Follows flock(2): the lock lives with the open file description, so an inherited fd holds it. */
#include "cni/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int cni_lock(const char *path, int timeout_ms, bool inherit, struct cni_err *err)
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

void cni_unlock(int fd, const char *path, bool remove)
{
	if (fd < 0)
		return;
	if (remove)
		unlink(path);
	close(fd);
}

/* test/preload/synclog.c: an LD_PRELOAD library for the integration tests: a disk that tells
 * what it was asked to keep. fsync(2) and fdatasync(2) append the path of their file or
 * directory, one line each, to $PLEXUS_SYNCLOG once libc's call has returned, so that a test
 * can see when a process made what durable. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void record(int fd)
{
	const char *log = getenv("PLEXUS_SYNCLOG");
	char link[64], path[4096];
	ssize_t n;
	int out;

	if (!log || !*log)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 2);
	if (n < 0)
		return;
	path[n++] = '\n';
	out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0)
		return;
	/* one write(2) per line with O_APPEND: lines of concurrent callers do not mix */
	(void)!write(out, path, (size_t)n);
	close(out);
}

static int sync_and_record(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
	int ret, saved;

	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	ret = real(fd);
	saved = errno;
	if (ret == 0)
		record(fd);
	errno = saved;
	return ret;
}

int fsync(int fd)
{
	return sync_and_record("fsync", fd);
}

int fdatasync(int fd)
{
	return sync_and_record("fdatasync", fd);
}

/* test/preload/failsync.c: an LD_PRELOAD library for test/integration/faults.sh: the disk says
 * EIO. fsync(2) and fdatasync(2) of a file or directory whose path contains $PLEXUS_FAILSYNC
 * fail with EIO, as a failing disk makes them; every other call is libc's. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails(int fd)
{
	const char *match = getenv("PLEXUS_FAILSYNC");
	char link[64], path[4096];
	ssize_t n;

	if (!match || !*match)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strstr(path, match) != NULL;
}

/* libc's call named name, or EIO for a file that matches */
static int sync_or_fail(const char *name, int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);

	if (fails(fd) || !real) {
		errno = EIO;
		return -1;
	}
	return real(fd);
}

int fsync(int fd)
{
	return sync_or_fail("fsync", fd);
}

int fdatasync(int fd)
{
	return sync_or_fail("fdatasync", fd);
}

/* test/preload/slowrename.c: an LD_PRELOAD library for the integration tests: a slow disk.
 * rename(2) onto the path $PLEXUS_SLOWRENAME waits PLEXUS_SLOWRENAME_MS (default 300 ms) first,
 * so that what a process does meanwhile can be seen; every other call is libc's. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) =
	    (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	const char *match = getenv("PLEXUS_SLOWRENAME");
	const char *ms = getenv("PLEXUS_SLOWRENAME_MS");

	if (match && to && strcmp(to, match) == 0) {
		long n = ms ? atol(ms) : 300;
		struct timespec t = { n / 1000, (n % 1000) * 1000000L };

		while (nanosleep(&t, &t) < 0 && errno == EINTR)
			;
	}
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(from, to);
}

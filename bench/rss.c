/* bench/rss.c: runs a command and prints its peak RSS in KiB to stderr ("maxrss_kib=N").
 * Static and tiny on purpose: a child's peak RSS starts from its parent's at fork, so a big
 * launcher (Python) would hide the number we want. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;

	if (argc < 2)
		return 2;
	pid = vfork();
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return 2;
	fprintf(stderr, "maxrss_kib=%ld\n", ru.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

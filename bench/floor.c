/* bench/floor.c: the least a meta-plugin of either design can cost on this machine, so that
 * bench/thick_bench.py can tell plexus's own time from the design's floor. Measurement only: no
 * plan, no lock, no cache, no validation, no error reporting beyond an exit status.
 *
 *   floor thin           the runtime execs it: reads the netconf from stdin, runs the one
 *                        delegate ($FLOOR_DELEGATE) with the caller's environment, the netconf on
 *                        a pipe to its stdin and pipes for its stdout and stderr, waits for it,
 *                        prints its stdout (what a thin plugin cannot do less than)
 *   floor shim SOCKET    the runtime execs it: sends its CNI_* variables and the netconf over a
 *                        new connection to SOCKET and prints the answer (a shim's least)
 *   floor server SOCKET  a daemon: a thread per connection runs the delegate as `thin` does,
 *                        with the variables the shim sent, and answers with its stdout
 *
 * The shim's message: "NAME=VALUE\0" for each variable, an empty string ("\0"), the netconf;
 * the shim then shuts its side down. Built static against musl for thin and shim (as bin/plexus
 * and bin/plexus-shim are) and against glibc for server (as bin/plexusd is). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_MAX (256 * 1024)
#define ENV_MAX 64

extern char **environ;

static size_t read_all(int fd, char *buf, size_t max)
{
	size_t n = 0;
	ssize_t r;

	while (n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += (size_t)r;
	return n;
}

static void write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0 && (w = write(fd, p, len)) > 0) {
		p += w;
		len -= (size_t)w;
	}
}

/* Runs the delegate with envp and in on its stdin; its stdout goes to out (NUL-terminated).
 * Returns the length of out, or -1. */
static ssize_t run_delegate(char *const *envp, const char *in, size_t in_len, char *out, size_t max)
{
	const char *path = getenv("FLOOR_DELEGATE");
	char *argv[] = { (char *)path, NULL };
	int ip[2], op[2], ep[2], status;
	posix_spawn_file_actions_t fa;
	char drain[512];
	size_t n;
	pid_t pid;

	if (!path || pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ip[0], 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	if (posix_spawn(&pid, path, &fa, NULL, argv, envp) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(ip[0]);
	close(op[1]);
	close(ep[1]);
	if (pid > 0)
		write_all(ip[1], in, in_len); /* a netconf fits in the pipe: no poll needed */
	close(ip[1]);
	n = read_all(op[0], out, max - 1);
	out[n] = '\0';
	while (read(ep[0], drain, sizeof(drain)) > 0)
		;
	close(op[0]);
	close(ep[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return (ssize_t)n;
}

static int thin(void)
{
	static char in[MSG_MAX], out[MSG_MAX];
	size_t n = read_all(0, in, sizeof(in));
	ssize_t m = run_delegate(environ, in, n, out, sizeof(out));

	if (m < 0)
		return 1;
	write_all(1, out, (size_t)m);
	return 0;
}

static int dial(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
		return -1;
	strcpy(a.sun_path, path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int shim(const char *sock)
{
	static char msg[MSG_MAX], out[MSG_MAX];
	size_t len = 0, n;
	int fd;

	for (char **e = environ; *e; e++) {
		size_t l = strlen(*e) + 1;

		if (strncmp(*e, "CNI_", 4) != 0 || len + l + 1 > sizeof(msg))
			continue;
		memcpy(msg + len, *e, l);
		len += l;
	}
	msg[len++] = '\0';
	len += read_all(0, msg + len, sizeof(msg) - len);
	fd = dial(sock);
	if (fd < 0)
		return 1;
	write_all(fd, msg, len);
	shutdown(fd, SHUT_WR);
	n = read_all(fd, out, sizeof(out));
	close(fd);
	write_all(1, out, n);
	/* the server answers nothing when the delegate failed; an ADD's answer is never empty */
	return n == 0 && getenv("CNI_COMMAND") && strcmp(getenv("CNI_COMMAND"), "ADD") == 0;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char *msg = malloc(MSG_MAX), *out = malloc(MSG_MAX), *envp[ENV_MAX + 2], *p;
	size_t n = msg ? read_all(fd, msg, MSG_MAX - 1) : 0, k = 0;
	char delegate[300];
	ssize_t m = -1;

	if (msg && out) {
		msg[n] = '\0';
		/* the delegate is found as the thin floor finds it, in our own environment */
		snprintf(delegate, sizeof(delegate), "FLOOR_DELEGATE=%s",
			 getenv("FLOOR_DELEGATE") ? getenv("FLOOR_DELEGATE") : "");
		envp[k++] = delegate;
		for (p = msg; p < msg + n && *p && k < ENV_MAX; p += strlen(p) + 1)
			envp[k++] = p;
		envp[k] = NULL;
		while (p < msg + n && *p)
			p += strlen(p) + 1;
		if (p < msg + n)
			p++;
		m = run_delegate(envp, p, (size_t)(msg + n - p), out, MSG_MAX);
	}
	if (m > 0)
		write_all(fd, out, (size_t)m);
	close(fd);
	free(msg);
	free(out);
	return NULL;
}

static int server(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pthread_attr_t attr;

	if (lfd < 0 || strlen(sock) >= sizeof(a.sun_path))
		return 1;
	strcpy(a.sun_path, sock);
	unlink(sock);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 128) < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd >= 0 && pthread_create(&t, &attr, serve, (void *)(long)fd) != 0)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "thin") == 0)
		return thin();
	if (argc == 3 && strcmp(argv[1], "shim") == 0)
		return shim(argv[2]);
	if (argc == 3 && strcmp(argv[1], "server") == 0)
		return server(argv[2]);
	fprintf(stderr, "usage: floor thin | floor shim SOCKET | floor server SOCKET\n");
	return 2;
}

/* test/unit/unit.h: shared helpers for the Check suites: one binary per module.
 * Each test file defines its suite and ends with UNIT_MAIN(suite_fn). */
#ifndef PLEXUS_TEST_UNIT_H
#define PLEXUS_TEST_UNIT_H

#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k8s/client.h"
#include "k8s/kubeconfig.h"

/* Compares two JSON texts structurally (key order ignored), failing with both texts. */
#define ck_assert_json_eq(got, want)                                                               \
	do {                                                                                       \
		cJSON *g_ = cJSON_Parse(got), *w_ = cJSON_Parse(want);                             \
		ck_assert_msg(w_ != NULL, "expected JSON does not parse: %s", want);               \
		ck_assert_msg(g_ != NULL, "got JSON does not parse: %s",                           \
			      (got) ? (got) : "(null)");                                           \
		int eq_ = cJSON_Compare(g_, w_, 1);                                                \
		cJSON_Delete(g_);                                                                  \
		cJSON_Delete(w_);                                                                  \
		ck_assert_msg(eq_, "JSON differs\n  got:  %s\n  want: %s", got, want);             \
	} while (0)

/* Makes a fresh directory /tmp/px<tag>-<pid>-XXXXXX in dir (at least 64 bytes); fails the test
 * when it cannot. Remove it with unit_rmtree. */
static inline void unit_tmpdir(char *dir, size_t size, const char *tag)
{
	ck_assert_int_lt(snprintf(dir, size, "/tmp/px%s-%d-XXXXXX", tag, (int)getpid()), (int)size);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

static inline int unit_rm_entry_(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes path and everything under it without following symlinks; 0, or -1 with errno. A path
 * that does not exist is removed already. */
static inline int unit_rmtree(const char *path)
{
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	return nftw(path, unit_rm_entry_, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs argv (argv[0] an absolute path, NULL-terminated) with stderr dropped. When out is not
 * NULL it gets the child's stdout, NUL-terminated (caller frees). Returns the exit status, or -1
 * when the child could not run or did not exit. */
static inline int unit_run(char **out, const char *const *argv)
{
	size_t len = 0, cap = 0;
	int fds[2], status, devnull;
	char *buf = NULL, *grown;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		devnull = open("/dev/null", O_WRONLY);
		dup2(out ? fds[1] : devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 4096;
			grown = realloc(buf, cap);
			ck_assert(grown != NULL);
			buf = grown;
		}
		n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fds[0]);
	if (out)
		*out = buf;
	else
		free(buf);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* `ip ARGS...` through /usr/sbin/ip; out as for unit_run. */
#define unit_ip(out, ...) unit_run(out, (const char *const[]){ "/usr/sbin/ip", __VA_ARGS__, NULL })

/* A named network namespace /run/netns/pxnsT<pid>-<tag> for the suites that need root: name and
 * path get its name and its path (at least 64 and 128 bytes). Fails the test when ip cannot add
 * it. Removing it (unit_netns_del) destroys every link inside as well. */
static inline void unit_netns_add(char *name, size_t name_size, char *path, size_t path_size,
				  const char *tag)
{
	snprintf(name, name_size, "pxnsT%d-%s", (int)getpid(), tag);
	snprintf(path, path_size, "/run/netns/%s", name);
	ck_assert_msg(unit_ip(NULL, "netns", "add", name) == 0, "ip netns add %s failed", name);
}

static inline void unit_netns_del(const char *name)
{
	unit_ip(NULL, "netns", "del", name);
}

/* BUILD/test/<rel> into out: a suite runs as BUILD/test/unit/test_X, so rel "tools" is where
 * the test tools it may run are built, and rel "../.." is the repository's root. */
static inline void unit_build_path(char *out, size_t size, const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_int_lt(snprintf(out, size, "%s/../%s", dirname(exe), rel), (int)size);
}

/* The repository's root, three levels above BUILD/test/unit/test_X. */
static inline void unit_repo_root(char *root, size_t size)
{
	unit_build_path(root, size, "../..");
}

/* Starts a stand-in (argv as for unit_run, stdout piped) and waits up to 30 s for the first line
 * it prints ("listening ..."), which line gets (size bytes, NUL-terminated). Returns its pid. */
static inline pid_t unit_standin(const char *const *argv, char *line, size_t size)
{
	struct pollfd pfd;
	size_t got = 0;
	int fds[2];
	pid_t pid;

	memset(line, 0, size);
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	while (!strchr(line, '\n') && got < size - 1 && poll(&pfd, 1, 30000) == 1) {
		ssize_t r = read(fds[0], line + got, size - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	return pid;
}

static inline void unit_standin_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* dir/name read whole into a NUL-terminated buffer (caller frees); a missing file fails the
 * test. */
static inline char *unit_slurp(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The kube-apiserver stand-in serving test/unit/data/k8s/<fixture>, its certificates and log in
 * a new tmpdir dir (tag names it); its https URL in server (at least 64 bytes). Returns its
 * pid. */
static inline pid_t unit_apiserver(const char *fixture, const char *tag, char *dir, size_t dir_size,
				   char *server, size_t server_size)
{
	char root[PATH_MAX], script[PATH_MAX + 64], data[PATH_MAX + 64], line[128];
	pid_t pid;

	ck_assert_uint_ge(server_size, 64);

	unit_repo_root(root, sizeof(root));
	snprintf(script, sizeof(script), "%s/test/stand-ins/apiserver.py", root);
	snprintf(data, sizeof(data), "%s/test/unit/data/k8s/%s", root, fixture);
	unit_tmpdir(dir, dir_size, tag);
	pid =
	    unit_standin((const char *const[]){ "/usr/bin/python3", script, "--dir", dir,
						"--fixture", data, "--max-lifetime", "600", NULL },
			 line, sizeof(line));
	ck_assert_msg(sscanf(line, "listening %63s", server) == 1, "stand-in did not start: %s",
		      line);
	return pid;
}

/* Credentials for the stand-in started by unit_apiserver in dir at server: its CA, a token. */
static inline void unit_api_creds(const char *dir, const char *server, const char *token,
				  struct k8s_creds *c)
{
	memset(c, 0, sizeof(*c));
	c->server = strdup(server);
	c->ca = unit_slurp(dir, "ca.crt", &c->ca_len);
	c->token = token ? strdup(token) : NULL;
}

/* A call to the stand-in's control endpoints (/_standin/...; not logged) on a client of its
 * own, so tests may call from several threads. Returns the reply (caller frees). */
static inline cJSON *unit_api_control(const char *dir, const char *server, const char *method,
				      const char *path, const char *body)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };
	struct k8s_client *cl;
	cJSON *out = NULL;
	int ret;

	unit_api_creds(dir, server, NULL, &c);
	cl = k8s_client_new(&c, NULL, &err);
	k8s_creds_free(&c);
	ck_assert_ptr_nonnull(cl);
	ret = k8s_request(cl, method, path, "control", body ? "application/json" : NULL, body,
			  false, &out, &err);
	ck_assert_msg(ret == 0, "control %s %s: %s", method, path, err.msg);
	k8s_client_free(cl);
	return out;
}

#define UNIT_MAIN(suite_fn)                                                                        \
	int main(void)                                                                             \
	{                                                                                          \
		SRunner *sr = srunner_create(suite_fn());                                          \
		srunner_run_all(sr, CK_NORMAL);                                                    \
		int failed_ = srunner_ntests_failed(sr);                                           \
		srunner_free(sr);                                                                  \
		return failed_ ? EXIT_FAILURE : EXIT_SUCCESS;                                      \
	}

#endif

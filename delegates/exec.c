/* delegates/exec.c: run a plugin binary with posix_spawn and collect what it says.
 * Follows libcni pkg/invoke RawExec (raw_exec.go: stdin and stdout together, ETXTBSY
 * retry) and CNI SPEC.md, Section 4 'Delegated plugin execution procedure'. */
#include "delegates/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni/buf.h"

#define CHUNK	     (64u << 10)
#define TXTBSY_TRIES 5
/* Without a pidfd the child's exit is noticed by polling waitpid this often. */
#define REAP_TICK_MS 20

struct stream {
	int fd;
	struct cni_buf b; /* capped at the request's max_output */
};

struct run {
	const struct dlg_exec_req *req;
	size_t max;
	pid_t pid;
	int pidfd;
	int in_fd;
	size_t in_off;
	struct stream out;
	struct stream err;
	bool reaped;
	int status;
	struct timespec deadline;
	bool has_deadline;
	void (*fed)(void *arg); /* dlg_exec_when_fed: called once stdin is closed */
	void *fed_arg;
};

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Pipe ends must not land on 0..2: a dup2 onto the same number would keep FD_CLOEXEC in some
 * libcs, and our caller may run with a standard fd closed. */
static int lift_fd(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	p[0] = lift_fd(p[0]);
	p[1] = lift_fd(p[1]);
	if (p[0] < 0 || p[1] < 0) {
		close_fd(&p[0]);
		close_fd(&p[1]);
		return -1;
	}
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static int64_t ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One read of at most limit bytes, and at most CHUNK. Returns bytes read, 0 at EOF (fd
 * closed), -EAGAIN when nothing is there, -EFBIG past the cap (the buffer's), or another
 * -errno. */
static ssize_t stream_read(struct stream *s, size_t limit)
{
	ssize_t n = cni_buf_read(&s->b, s->fd, limit < CHUNK ? limit : CHUNK);

	if (n == 0)
		close_fd(&s->fd);
	return n;
}

/* How many bytes the pipe holds now (FIONREAD), or fallback when it cannot tell. */
static size_t pending(int fd, size_t fallback)
{
	int avail = 0;

	if (ioctl(fd, FIONREAD, &avail) < 0)
		return fallback;
	return avail > 0 ? (size_t)avail : 0;
}

/* One read of what the pipe holds; one byte when it holds nothing, which reads the EOF. The
 * buffer grows with the output: a CHUNK read into an empty buffer would map 128 KiB, and unmap
 * it, for a plugin's few hundred bytes. */
static ssize_t stream_read_ready(struct stream *s)
{
	size_t n = pending(s->fd, CHUNK);

	return stream_read(s, n ? n : 1);
}

/* After the child is gone, take only what is already in the pipe: a grandchild may keep the
 * write end open (and even keep writing), so reading to EOF could wait forever. */
static int stream_drain(struct stream *s)
{
	size_t avail;
	ssize_t n = 1;

	if (s->fd < 0)
		return 0;
	avail = pending(s->fd, 0);
	while (avail > 0 && s->fd >= 0) {
		n = stream_read(s, avail);
		if (n <= 0)
			break;
		avail -= (size_t)n;
	}
	close_fd(&s->fd);
	return n == -EAGAIN || n > 0 ? 0 : (int)n;
}

static int reap(struct run *r, bool block)
{
	int status;
	pid_t p;

	if (r->reaped)
		return 1;
	do
		p = waitpid(r->pid, &status, block ? 0 : WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p < 0)
		return -errno;
	if (p == 0)
		return 0;
	r->reaped = true;
	r->status = status;
	return 1;
}

/* The child leads its own process group, so this also reaches its background children. */
static void kill_group(struct run *r)
{
	if (!r->reaped)
		kill(-r->pid, SIGKILL);
}

/* Returns 0, or -errno for a failure other than the child closing its stdin (EPIPE). */
static int feed_stdin(struct run *r)
{
	const struct dlg_exec_req *req = r->req;
	ssize_t n;

	do
		n = write(r->in_fd, req->input + r->in_off, req->input_len - r->in_off);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		close_fd(&r->in_fd);
		return errno == EPIPE ? 0 : -errno;
	}
	r->in_off += (size_t)n;
	if (r->in_off == req->input_len)
		close_fd(&r->in_fd);
	return 0;
}

static int io_error(struct run *r, int e, const char *what, struct cni_err *err)
{
	if (e == -EFBIG)
		return cni_err_set(err, CNI_ERR_IO, "output of %s exceeds %zu bytes", r->req->path,
				   r->max);
	return cni_err_set(err, CNI_ERR_IO, "%s %s: %s", what, r->req->path, strerror(-e));
}

/* The poll loop: feeds stdin, collects both outputs, and ends once the child is reaped. */
static int pump(struct run *r, struct dlg_exec_res *res, struct cni_err *err)
{
	struct pollfd pfd[4];
	int rc;

	for (;;) {
		int nfd = 0, timeout = -1, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;

		if (r->in_fd < 0 && r->fed) {
			void (*fed)(void *) = r->fed;

			r->fed = NULL;
			fed(r->fed_arg);
		}
		if (r->has_deadline) {
			int64_t left = ms_until(&r->deadline);

			if (left <= 0) {
				kill_group(r);
				res->timed_out = true;
				rc = reap(r, true);
				return rc < 0 ? io_error(r, rc, "waitpid", err) : 0;
			}
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (r->pidfd < 0 && (timeout < 0 || timeout > REAP_TICK_MS))
			timeout = REAP_TICK_MS;
		if (r->in_fd >= 0) {
			pfd[nfd] = (struct pollfd){ .fd = r->in_fd, .events = POLLOUT };
			i_in = nfd++;
		}
		if (r->out.fd >= 0) {
			pfd[nfd] = (struct pollfd){ .fd = r->out.fd, .events = POLLIN };
			i_out = nfd++;
		}
		if (r->err.fd >= 0) {
			pfd[nfd] = (struct pollfd){ .fd = r->err.fd, .events = POLLIN };
			i_err = nfd++;
		}
		if (r->pidfd >= 0) {
			pfd[nfd] = (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
			i_pid = nfd++;
		}
		if (poll(pfd, (nfds_t)nfd, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return io_error(r, -errno, "poll for", err);
		}
		if (i_in >= 0 && pfd[i_in].revents) {
			rc = feed_stdin(r);
			if (rc < 0)
				return io_error(r, rc, "write stdin of", err);
		}
		if (i_out >= 0 && pfd[i_out].revents) {
			rc = (int)stream_read_ready(&r->out);
			if (rc < 0 && rc != -EAGAIN)
				return io_error(r, rc, "read stdout of", err);
		}
		if (i_err >= 0 && pfd[i_err].revents) {
			rc = (int)stream_read_ready(&r->err);
			if (rc < 0 && rc != -EAGAIN)
				return io_error(r, rc, "read stderr of", err);
		}
		if (i_pid < 0 || pfd[i_pid].revents) {
			rc = reap(r, false);
			if (rc < 0)
				return io_error(r, rc, "waitpid", err);
			if (rc > 0)
				return 0;
		}
	}
}

static const char *exec_root;

void dlg_exec_set_root(const char *root)
{
	exec_root = root && *root ? root : NULL;
}

const char *dlg_exec_root(void)
{
	return exec_root;
}

/* The child of spawn_chroot: async-signal-safe calls only (the parent may have threads). On a
 * failure the errno goes up the report pipe; a successful execve closes it (O_CLOEXEC). */
static void chroot_child(const struct dlg_exec_req *req, char *const *argv, char *const *envp,
			 const int fds[3], int report)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e;

	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl,
			  NULL); /* fails harmlessly for SIGKILL, SIGSTOP and glibc's own */
	setpgid(0, 0);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			goto fail;
	if (chroot(exec_root) < 0 || chdir("/") < 0)
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(req->path, argv, envp);
fail:
	e = errno;
	if (write(report, &e, sizeof(e)) < 0)
		e = 0;
	_exit(127);
}

static int spawn_chroot(struct run *r, char *const *argv, char *const *envp, const int fds[3],
			struct cni_err *err)
{
	int report[2], e = 0;
	ssize_t n;

	if (pipe2(report, O_CLOEXEC) < 0)
		return cni_err_set(err, CNI_ERR_IO, "exec %s: pipe: %s", r->req->path,
				   strerror(errno));
	r->pid = fork();
	if (r->pid == 0)
		chroot_child(r->req, argv, envp, fds, report[1]);
	/* as the child does: whichever runs first, the deadline can kill the whole group */
	if (r->pid > 0)
		setpgid(r->pid, r->pid);
	close(report[1]);
	if (r->pid < 0) {
		close(report[0]);
		return cni_err_set(err, CNI_ERR_IO, "exec %s: fork: %s", r->req->path,
				   strerror(errno));
	}
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
		return cni_err_set(err, CNI_ERR_IO, "exec %s in %s: %s", r->req->path, exec_root,
				   strerror(e));
	}
	return 0;
}

static int spawn(struct run *r, int in[2], int out[2], int errp[2], struct cni_err *err)
{
	static char *const empty_env[] = { NULL };
	const struct dlg_exec_req *req = r->req;
	char *const default_argv[] = { (char *)req->path, NULL };
	char *const *argv = req->argv ? req->argv : default_argv;
	char *const *envp = req->envp ? req->envp : empty_env;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc, tries = 0;

	if (exec_root) {
		const int fds[3] = { in[0], out[1], errp[1] };

		return spawn_chroot(r, argv, envp, fds, err);
	}
	rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return cni_err_set(err, CNI_ERR_IO, "exec %s: %s", req->path, strerror(rc));
	rc = posix_spawnattr_init(&attr);
	if (rc) {
		posix_spawn_file_actions_destroy(&fa);
		return cni_err_set(err, CNI_ERR_IO, "exec %s: %s", req->path, strerror(rc));
	}
	/* dup2 clears FD_CLOEXEC on 0..2 only; every other pipe end closes itself at exec. */
	rc = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, errp[1], STDERR_FILENO);
	/* Our own mask and handlers (SIGPIPE blocked right now, say) are none of the plugin's
	 * business; its own group lets a deadline kill whatever it started. */
	sigemptyset(&none);
	sigfillset(&all);
	if (!rc)
		rc = posix_spawnattr_setflags(
		    &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (!rc)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	while (!rc) {
		rc = posix_spawn(&r->pid, req->path, &fa, &attr, argv, envp);
		/* libcni: the binary may be in the middle of being installed; give it a moment. */
		if (rc != ETXTBSY || tries++ == TXTBSY_TRIES)
			break;
		if (r->has_deadline && ms_until(&r->deadline) < 1000)
			break;
		sleep_ms(1000);
		rc = 0;
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return cni_err_set(err, CNI_ERR_IO, "exec %s: %s", req->path, strerror(rc));
	return 0;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static int sigpipe_pending(void)
{
	sigset_t pend;

	sigemptyset(&pend);
	sigpending(&pend);
	return sigismember(&pend, SIGPIPE);
}

/* A SIGPIPE we caused is thread-directed and was blocked: take it back so the caller never
 * sees it, but leave one that was already pending before we started. */
static void sigpipe_restore(const sigset_t *oldmask, bool was_pending)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe_set;

	if (!was_pending && sigpipe_pending()) {
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, oldmask, NULL);
}

struct dlg_exec_child {
	struct dlg_exec_req req; /* the caller's; input set when it is fed */
	struct run r;
};

/* Closes the child's pipes and frees c; the child must be reaped by then. */
static void child_free(struct dlg_exec_child *c)
{
	close_fd(&c->r.pidfd);
	close_fd(&c->r.in_fd);
	close_fd(&c->r.out.fd);
	close_fd(&c->r.err.fd);
	cni_buf_free(&c->r.out.b);
	cni_buf_free(&c->r.err.b);
	free(c);
}

int dlg_exec_start(const struct dlg_exec_req *req, struct dlg_exec_child **child,
		   struct cni_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct dlg_exec_child *c;
	struct run *r;
	int ret = -1;

	*child = NULL;
	if (!req || !req->path || !*req->path) {
		cni_err_set(err, CNI_ERR_IO, "exec: no executable path given");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		cni_err_oom(err);
		return -1;
	}
	c->req = *req;
	c->req.input = NULL;
	c->req.input_len = 0;
	r = &c->r;
	*r = (struct run){ .req = &c->req, .pid = -1, .pidfd = -1, .in_fd = -1 };
	r->out.fd = r->err.fd = -1;
	r->max = req->max_output ? req->max_output : DLG_EXEC_MAX_OUTPUT_DEFAULT;
	/* The buffer holds max + 2 bytes (one to notice the overflow, one NUL). */
	if (r->max > SIZE_MAX / 2)
		r->max = SIZE_MAX / 2;
	cni_buf_init(&r->out.b, r->max, false);
	cni_buf_init(&r->err.b, r->max, false);
	if (req->timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &r->deadline);
		r->deadline.tv_sec += req->timeout_ms / 1000;
		r->deadline.tv_nsec += (long)(req->timeout_ms % 1000) * 1000000L;
		if (r->deadline.tv_nsec >= 1000000000L) {
			r->deadline.tv_sec++;
			r->deadline.tv_nsec -= 1000000000L;
		}
		r->has_deadline = true;
	}
	if (make_pipe(in) < 0 || make_pipe(out) < 0 || make_pipe(errp) < 0) {
		cni_err_set(err, CNI_ERR_IO, "exec %s: pipe: %s", req->path, strerror(errno));
		goto out;
	}
	if (set_nonblock(in[1]) < 0 || set_nonblock(out[0]) < 0 || set_nonblock(errp[0]) < 0) {
		cni_err_set(err, CNI_ERR_IO, "exec %s: fcntl: %s", req->path, strerror(errno));
		goto out;
	}
	if (spawn(r, in, out, errp, err) < 0)
		goto out;
	/* The child has its copies; ours would hide EOF. */
	r->in_fd = in[1];
	r->out.fd = out[0];
	r->err.fd = errp[0];
	in[1] = out[0] = errp[0] = -1;
	/* A pidfd wakes poll the moment the child exits; without one we fall back to a tick. */
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	*child = c;
	c = NULL;
	ret = 0;
out:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	if (c)
		child_free(c);
	return ret;
}

void dlg_exec_when_fed(struct dlg_exec_child *c, void (*fn)(void *arg), void *arg)
{
	c->r.fed = fn;
	c->r.fed_arg = arg;
}

void dlg_exec_cancel(struct dlg_exec_child *c)
{
	if (!c)
		return;
	if (c->r.pid > 0 && !c->r.reaped) {
		kill_group(&c->r);
		reap(&c->r, true);
	}
	child_free(c);
}

int dlg_exec_finish(struct dlg_exec_child *c, const char *input, size_t input_len,
		    struct dlg_exec_res *res, struct cni_err *err)
{
	const struct dlg_exec_req *req = &c->req;
	struct run *r = &c->r;
	sigset_t pipe_set, oldmask;
	bool was_pending;
	int ret = -1, rc;

	*res = (struct dlg_exec_res){ 0 };
	c->req.input = input;
	c->req.input_len = input_len;
	if (input_len == 0)
		close_fd(&r->in_fd);
	/* Blocked only in this thread and only while we run, so writing to a child that quit
	 * reading gives EPIPE instead of killing the caller. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	was_pending = sigpipe_pending();
	pthread_sigmask(SIG_BLOCK, &pipe_set, &oldmask);

	if (pump(r, res, err) < 0)
		goto out;
	close_fd(&r->in_fd);
	rc = stream_drain(&r->out);
	if (!rc)
		rc = stream_drain(&r->err);
	if (rc < 0) {
		io_error(r, rc, "read output of", err);
		goto out;
	}
	/* The caller gets a string even when the stream said nothing. */
	res->out = cni_buf_take(&r->out.b, &res->out_len);
	res->errout = cni_buf_take(&r->err.b, &res->err_len);
	if (!res->out || !res->errout) {
		cni_err_oom(err);
		goto out;
	}

	if (WIFSIGNALED(r->status)) {
		res->signaled = true;
		res->exit_code = 128 + WTERMSIG(r->status);
	} else {
		res->exit_code = WEXITSTATUS(r->status);
	}
	if (req->forward_stderr && res->err_len)
		write_all(STDERR_FILENO, res->errout, res->err_len);
	ret = 0;
out:
	dlg_exec_cancel(c);
	if (ret < 0)
		dlg_exec_res_free(res);
	sigpipe_restore(&oldmask, was_pending);
	return ret;
}

int dlg_exec(const struct dlg_exec_req *req, struct dlg_exec_res *res, struct cni_err *err)
{
	struct dlg_exec_child *c;

	*res = (struct dlg_exec_res){ 0 };
	if (dlg_exec_start(req, &c, err) < 0)
		return -1;
	return dlg_exec_finish(c, req->input, req->input_len, res, err);
}

void dlg_exec_res_free(struct dlg_exec_res *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->errout);
	*res = (struct dlg_exec_res){ 0 };
}

/* test/unit/test_delegates_exec.c: dlg_exec against small /bin/sh children written at test time.
 * Follows delegates/exec.h: no deadlock, deadline kills the group, grandchildren never wait. */
#include "delegates/exec.h"
#include "test/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[64];
static char *const no_env[] = { NULL };

static void setup(void)
{
	unit_tmpdir(tmpdir, sizeof(tmpdir), "exec");
}

static void teardown(void)
{
	unit_rmtree(tmpdir);
}

/* Writes an executable /bin/sh script; the caller frees the path. */
static char *script(const char *name, const char *body)
{
	char *path;
	FILE *f;

	ck_assert(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	fprintf(f, "#!/bin/sh\n%s\n", body);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	return path;
}

static char *pattern(size_t len)
{
	char *p = malloc(len);

	ck_assert(p != NULL);
	for (size_t i = 0; i < len; i++)
		p[i] = (char)((i * 31 + i / 4096) % 251);
	return p;
}

/* dlg_exec must reap its child on every path: the test process has no children left. */
static void assert_no_children(void)
{
	int st;
	pid_t p = waitpid(-1, &st, WNOHANG);

	ck_assert_msg(p == -1 && errno == ECHILD, "expected no child left, waitpid gave %d", p);
}

/* With the test as subreaper, orphaned grandchildren come back to us: reap them all. Returns
 * how many there were; *killed counts those that died of SIGKILL, *seen says whether want was
 * one of them. */
static int reap_orphans(pid_t want, int *killed, bool *seen)
{
	int st, n = 0;
	pid_t p;

	*killed = 0;
	*seen = false;
	while ((p = waitpid(-1, &st, 0)) > 0) {
		n++;
		*killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
		*seen |= p == want;
	}
	return n;
}

static void run_ok(struct dlg_exec_req *req, struct dlg_exec_res *res)
{
	struct cni_err err = { 0 };
	int rc = dlg_exec(req, res, &err);

	ck_assert_msg(rc == 0, "dlg_exec(%s) = %d: %s", req->path, rc, err.msg ? err.msg : "");
	ck_assert_ptr_nonnull(res->out);
	ck_assert_ptr_nonnull(res->errout);
	cni_err_clear(&err);
}

static void round_trip(size_t len)
{
	char *path = script("echo", "exec cat");
	char *in = pattern(len);
	struct dlg_exec_req req = { .path = path, .envp = no_env, .input = in, .input_len = len };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_uint_eq(res.out_len, len);
	ck_assert_msg(memcmp(res.out, in, len) == 0, "stdout differs from the %zu bytes of stdin",
		      len);
	ck_assert_int_eq(res.out[len], '\0');
	assert_no_children();
	dlg_exec_res_free(&res);
	free(in);
	free(path);
}

START_TEST(echo_child_round_trips_1_mib_of_stdin_exactly)
{
	round_trip(1u << 20);
}
END_TEST

START_TEST(echo_child_round_trips_8_mib_of_stdin_exactly)
{
	round_trip(8u << 20);
}
END_TEST

START_TEST(big_stdout_and_stderr_while_feeding_big_stdin_do_not_deadlock)
{
	char *path = script("both", "head -c 4194304 /dev/zero >&2\nexec cat");
	size_t len = 4u << 20;
	char *in = pattern(len);
	struct dlg_exec_req req = { .path = path, .envp = no_env, .input = in, .input_len = len };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert_uint_eq(res.out_len, len);
	ck_assert_uint_eq(res.err_len, 4u << 20);
	ck_assert(memcmp(res.out, in, len) == 0);
	dlg_exec_res_free(&res);
	free(in);
	free(path);
}
END_TEST

START_TEST(empty_input_gives_the_child_eof_at_once)
{
	char *path = script("cat", "exec cat");
	struct dlg_exec_req req = { .path = path, .envp = no_env, .timeout_ms = 3000 };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert(!res.timed_out);
	ck_assert_uint_eq(res.out_len, 0);
	ck_assert_str_eq(res.out, "");
	ck_assert_str_eq(res.errout, "");
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(child_that_closes_stdin_gets_big_input_without_hang_or_sigpipe)
{
	char *path = script("deaf", "exec 0<&-\nsleep 0.2\necho ok");
	size_t len = 8u << 20;
	char *in = pattern(len);
	struct dlg_exec_req req = {
		.path = path, .envp = no_env, .input = in, .input_len = len, .timeout_ms = 5000
	};
	struct dlg_exec_res res;
	struct sigaction before, after;
	sigset_t mask_before, mask_after, pend;

	sigaction(SIGPIPE, NULL, &before);
	pthread_sigmask(SIG_SETMASK, NULL, &mask_before);
	run_ok(&req, &res);
	sigaction(SIGPIPE, NULL, &after);
	pthread_sigmask(SIG_SETMASK, NULL, &mask_after);
	sigpending(&pend);

	ck_assert(!res.timed_out);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.out, "ok\n");
	ck_assert_msg(!sigismember(&pend, SIGPIPE), "a SIGPIPE was left pending");
	ck_assert_msg(after.sa_handler == before.sa_handler, "SIGPIPE disposition changed");
	ck_assert_msg(sigismember(&mask_after, SIGPIPE) == sigismember(&mask_before, SIGPIPE),
		      "SIGPIPE mask changed");
	dlg_exec_res_free(&res);
	free(in);
	free(path);
}
END_TEST

START_TEST(child_that_exits_without_reading_big_input_is_not_an_error)
{
	char *path = script("quit", "exit 0");
	size_t len = 8u << 20;
	char *in = pattern(len);
	struct dlg_exec_req req = {
		.path = path, .envp = no_env, .input = in, .input_len = len, .timeout_ms = 5000
	};
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert(!res.timed_out);
	ck_assert_int_eq(res.exit_code, 0);
	assert_no_children();
	dlg_exec_res_free(&res);
	free(in);
	free(path);
}
END_TEST

static void assert_flood_fails(const char *body, size_t cap)
{
	char *path = script("flood", body);
	struct dlg_exec_req req = { .path = path, .envp = no_env, .max_output = cap };
	struct dlg_exec_res res;
	struct cni_err err = { 0 };
	char *want;

	/* cat never stops: only the cap ends it (a hang would be the suite's timeout) */
	ck_assert_int_eq(dlg_exec(&req, &res, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert(asprintf(&want, "output of %s exceeds %zu bytes", path, cap) > 0);
	ck_assert_str_eq(err.msg, want);
	ck_assert_ptr_null(res.out);
	ck_assert_ptr_null(res.errout);
	assert_no_children();
	free(want);
	cni_err_clear(&err);
	free(path);
}

START_TEST(stdout_past_max_output_is_an_io_error_and_child_is_reaped)
{
	assert_flood_fails("exec cat /dev/zero", 1u << 20);
}
END_TEST

START_TEST(stderr_past_max_output_is_an_io_error_and_child_is_reaped)
{
	assert_flood_fails("exec cat /dev/zero >&2", 100000);
}
END_TEST

START_TEST(output_of_exactly_max_output_bytes_is_accepted)
{
	char *path = script("exact", "head -c 100000 /dev/zero");
	struct dlg_exec_req req = { .path = path, .envp = no_env, .max_output = 100000 };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert_uint_eq(res.out_len, 100000);
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(deadline_kills_the_whole_process_group_and_sets_timed_out)
{
	char *path = script("slow", "sleep 1000 &\necho $$ $!\nsleep 1000");
	struct dlg_exec_req req = { .path = path, .envp = no_env, .timeout_ms = 300 };
	struct dlg_exec_res res;
	int pgid = 0, grandchild = 0, orphans, killed;
	bool seen;

	/* sleep 1000 ends only by the kill at the deadline: killed, code 137, what it said first */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	run_ok(&req, &res);
	ck_assert(res.timed_out);
	ck_assert(res.signaled);
	ck_assert_int_eq(res.exit_code, 128 + SIGKILL);
	ck_assert_msg(sscanf(res.out, "%d %d", &pgid, &grandchild) == 2, "stdout: %s", res.out);
	/* Whatever sh had not reaped itself before dying was orphaned to us, already killed;
	 * once those are reaped, nothing of the group is left. */
	orphans = reap_orphans(grandchild, &killed, &seen);
	ck_assert_int_eq(killed, orphans);
	ck_assert_msg(kill(grandchild, 0) == -1 && errno == ESRCH, "grandchild %d still alive",
		      grandchild);
	ck_assert_msg(kill(-pgid, 0) == -1 && errno == ESRCH, "process group %d still alive", pgid);
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(child_runs_in_its_own_process_group)
{
	char *path = script("pgrp", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;
	int pid = 0, pgrp = 0;

	run_ok(&req, &res);
	ck_assert_int_eq(sscanf(res.out, "%d %d", &pid, &pgrp), 2);
	ck_assert_int_eq(pgrp, pid);
	ck_assert_int_ne(pgrp, getpgrp());
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(child_starts_with_empty_mask_and_default_handlers)
{
	char *path = script("sigs", "exec grep -E '^Sig(Blk|Ign)' /proc/self/status");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	unsigned long long blk = 1, ign = 1;
	sigset_t usr1;

	sigaction(SIGINT, &ignore, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	run_ok(&req, &res);
	ck_assert_msg(sscanf(res.out, "SigBlk: %llx SigIgn: %llx", &blk, &ign) == 2, "got %s",
		      res.out);
	ck_assert_msg(blk == 0, "child starts with signals blocked: %llx", blk);
	/* glibc's posix_spawn leaves its own internal signals 32 and 33 ignored; the new
	 * program's libc takes them back. Everything else must be at its default. */
	ck_assert_msg((ign & ~0x180000000ull) == 0, "child starts with signals ignored: %llx", ign);
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(child_exit_returns_promptly_while_a_grandchild_holds_the_pipes)
{
	char *path = script("daemon", "sleep 1000 &\necho $$ $!\necho bye >&2\nexit 3");
	struct dlg_exec_req req = { .path = path, .envp = no_env, .timeout_ms = 5000 };
	struct dlg_exec_res res;
	int pid = 0, grandchild = 0, killed;
	bool seen;

	/* The grandchild holds the pipes for 1000 s: waiting for it would end at the 5 s deadline
	 * (timed_out, killed); returning at the child's exit gives its code and its output, with
	 * the grandchild still alive. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	run_ok(&req, &res);
	ck_assert(!res.timed_out);
	ck_assert(!res.signaled);
	ck_assert_int_eq(res.exit_code, 3);
	ck_assert_int_eq(sscanf(res.out, "%d %d", &pid, &grandchild), 2);
	ck_assert_str_eq(res.errout, "bye\n");
	ck_assert_msg(kill(grandchild, 0) == 0, "grandchild %d was waited for", grandchild);
	ck_assert_int_eq(kill(grandchild, SIGKILL), 0);
	ck_assert_int_eq(reap_orphans(grandchild, &killed, &seen), 1);
	ck_assert(seen);
	ck_assert_int_eq(killed, 1);
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(exit_codes_0_1_and_42_are_reported_not_errors)
{
	static const int codes[] = { 0, 1, 42 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char body[32], name[16];
		char *path;
		struct dlg_exec_req req = { .envp = no_env };
		struct dlg_exec_res res;

		snprintf(body, sizeof(body), "exit %d", codes[i]);
		snprintf(name, sizeof(name), "exit%d", codes[i]);
		path = script(name, body);
		req.path = path;
		run_ok(&req, &res);
		ck_assert_int_eq(res.exit_code, codes[i]);
		ck_assert(!res.signaled);
		ck_assert(!res.timed_out);
		dlg_exec_res_free(&res);
		free(path);
	}
}
END_TEST

START_TEST(child_killed_by_a_signal_reports_128_plus_signal)
{
	char *path = script("term", "echo before\nkill -TERM $$\necho after");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert(res.signaled);
	ck_assert(!res.timed_out);
	ck_assert_int_eq(res.exit_code, 128 + SIGTERM);
	ck_assert_str_eq(res.out, "before\n");
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(stderr_is_captured_apart_from_stdout)
{
	char *path = script("both", "echo out\necho err >&2\necho out2\nexit 1");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert_int_eq(res.exit_code, 1);
	ck_assert_str_eq(res.out, "out\nout2\n");
	ck_assert_str_eq(res.errout, "err\n");
	ck_assert_uint_eq(res.err_len, 4);
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

START_TEST(forward_stderr_copies_the_childs_stderr_to_ours)
{
	char *path = script("noisy", "echo to-stderr >&2");
	struct dlg_exec_req req = { .path = path, .envp = no_env, .forward_stderr = true };
	struct dlg_exec_res res;
	char *cap_path, got[64] = { 0 };
	int cap, saved;

	ck_assert(asprintf(&cap_path, "%s/stderr.txt", tmpdir) > 0);
	cap = open(cap_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(cap, 0);
	saved = dup(STDERR_FILENO);
	dup2(cap, STDERR_FILENO);
	run_ok(&req, &res);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ck_assert_int_eq(pread(cap, got, sizeof(got) - 1, 0), 10);
	ck_assert_str_eq(got, "to-stderr\n");
	ck_assert_str_eq(res.errout, "to-stderr\n");
	close(cap);
	dlg_exec_res_free(&res);
	free(cap_path);
	free(path);
}
END_TEST

START_TEST(environment_is_exactly_envp)
{
	char *const envp[] = { "A=1", "B=two words", "EMPTY=", NULL };
	char *const argv[] = { "env", NULL };
	struct dlg_exec_req req = { .path = "/usr/bin/env", .argv = argv, .envp = envp };
	struct dlg_exec_res res;

	run_ok(&req, &res);
	ck_assert_str_eq(res.out, "A=1\nB=two words\nEMPTY=\n");
	dlg_exec_res_free(&res);

	req.envp = no_env;
	run_ok(&req, &res);
	ck_assert_str_eq(res.out, "");
	dlg_exec_res_free(&res);
}
END_TEST

START_TEST(argv_defaults_to_the_path_and_is_passed_when_given)
{
	char *path = script("args", "printf '%s|' \"$0\" \"$@\"");
	char *const argv[] = { "ignored-argv0", "a b", "", "c", NULL };
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;
	char *want;

	run_ok(&req, &res);
	ck_assert(asprintf(&want, "%s|", path) > 0);
	ck_assert_str_eq(res.out, want);
	free(want);
	dlg_exec_res_free(&res);

	req.argv = argv;
	run_ok(&req, &res);
	/* The kernel puts the script path in $0 for #! scripts; the rest is ours. */
	ck_assert(asprintf(&want, "%s|a b||c|", path) > 0);
	ck_assert_str_eq(res.out, want);
	dlg_exec_res_free(&res);
	free(want);
	free(path);
}
END_TEST

static void assert_spawn_fails(const char *path, const char *reason)
{
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;
	struct cni_err err = { 0 };
	char *want;

	ck_assert_int_eq(dlg_exec(&req, &res, &err), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert(asprintf(&want, "exec %s: %s", path, reason) > 0);
	ck_assert_str_eq(err.msg, want);
	ck_assert_ptr_null(res.out);
	assert_no_children();
	free(want);
	cni_err_clear(&err);
}

START_TEST(missing_executable_is_an_error_naming_the_path)
{
	char *path;

	ck_assert(asprintf(&path, "%s/nope", tmpdir) > 0);
	assert_spawn_fails(path, "No such file or directory");
	free(path);
}
END_TEST

START_TEST(non_executable_file_is_an_error_naming_the_path)
{
	char *path = script("plain", "exit 0");

	/* root may exec anything with one x bit; none at all is refused even for root. */
	ck_assert_int_eq(chmod(path, 0644), 0);
	assert_spawn_fails(path, "Permission denied");
	free(path);
}
END_TEST

struct late_close {
	int fd;
	int delay_ms;
	atomic_bool closed;
};

static void *close_later(void *arg)
{
	struct late_close *lc = arg;
	struct timespec ts = { lc->delay_ms / 1000, (lc->delay_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	atomic_store(&lc->closed, true);
	close(lc->fd);
	return NULL;
}

START_TEST(text_file_busy_is_retried_until_the_writer_is_done)
{
	char *path = script("busy", "echo ran");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct dlg_exec_res res;
	struct late_close lc = { .delay_ms = 1200 };
	pthread_t th;

	/* An installer still holding the binary open for writing makes exec fail with ETXTBSY. */
	lc.fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(lc.fd, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, close_later, &lc), 0);
	/* it ran, and only once the writer was gone: the busy exec was retried, not failed */
	run_ok(&req, &res);
	ck_assert_msg(atomic_load(&lc.closed), "returned while the writer still held the file");
	pthread_join(th, NULL);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.out, "ran\n");
	dlg_exec_res_free(&res);
	free(path);
}
END_TEST

/* Waits up to 5 s for dir/name to exist. */
static bool appears(const char *path)
{
	struct timespec tick = { 0, 10 * 1000000L };

	for (int i = 0; i < 500; i++) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

START_TEST(started_child_reads_nothing_until_finished)
{
	char *path = script("late", "touch \"$0.started\"; cat >\"$0.in\"; echo done");
	struct dlg_exec_req req = {
		.path = path, .envp = no_env, .input = "early", .input_len = 5
	};
	struct timespec pause = { 0, 200 * 1000000L };
	struct dlg_exec_child *c = NULL;
	struct cni_err err = { 0 };
	struct dlg_exec_res res;
	char *started, *in, *got;
	struct stat st;
	size_t n;

	ck_assert(asprintf(&started, "%s.started", path) > 0);
	ck_assert(asprintf(&in, "%s.in", path) > 0);
	ck_assert_int_eq(dlg_exec_start(&req, &c, &err), 0);
	/* the child runs, and reads nothing: the request's input is not its, and stdin stays open */
	ck_assert_msg(appears(started), "the started child never ran");
	nanosleep(&pause, NULL);
	ck_assert_int_eq(stat(in, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(dlg_exec_finish(c, "payload", 7, &res, &err), 0);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.out, "done\n");
	dlg_exec_res_free(&res);
	got = unit_slurp(tmpdir, "late.in", &n);
	ck_assert_str_eq(got, "payload");
	free(got);
	assert_no_children();
	free(started);
	free(in);
	free(path);
}
END_TEST

START_TEST(cancelled_child_is_killed_before_it_reads_and_reaped)
{
	char *path =
	    script("unfed", "echo $$ >\"$0.pid\"; read line; echo \"[$line]\" >\"$0.got\"");
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct timespec pause = { 0, 200 * 1000000L };
	struct dlg_exec_child *c = NULL;
	struct cni_err err = { 0 };
	char *pidfile, *got, *text;
	size_t n;
	int pid = 0;

	ck_assert(asprintf(&pidfile, "%s.pid", path) > 0);
	ck_assert(asprintf(&got, "%s.got", path) > 0);
	ck_assert_int_eq(dlg_exec_start(&req, &c, &err), 0);
	ck_assert_msg(appears(pidfile), "the started child never ran");
	nanosleep(&pause, NULL); /* it has written its pid whole and waits in read */
	text = unit_slurp(tmpdir, "unfed.pid", &n);
	ck_assert_int_eq(sscanf(text, "%d", &pid), 1);
	free(text);
	dlg_exec_cancel(c);
	/* killed, not given EOF (read would return and the script go on) and reaped */
	assert_no_children();
	ck_assert_msg(kill(pid, 0) == -1 && errno == ESRCH, "child %d still there", pid);
	ck_assert_msg(access(got, F_OK) != 0, "the cancelled child went on past its read");
	dlg_exec_cancel(NULL);
	free(pidfile);
	free(got);
	free(path);
}
END_TEST

/* What the fed hook saw: how often it ran and whether the child had its whole input (EOF on its
 * stdin) by then. The child it belongs to waits for the hook's mark (1.5 s at most) before it
 * ends, and says whether it came. */
struct fed_seen {
	const char *path;
	int calls;
	bool child_had_eof;
};

static void fed_mark(void *arg)
{
	struct timespec tick = { 0, 10 * 1000000L };
	struct fed_seen *f = arg;
	char *eof, *go;
	FILE *m;

	f->calls++;
	ck_assert(asprintf(&eof, "%s.eof", f->path) > 0);
	ck_assert(asprintf(&go, "%s.go", f->path) > 0);
	/* the child gets EOF only once all of its input is written and its stdin closed: a hook
	 * run before that would hold the writer here, and the child would never see it */
	f->child_had_eof = false;
	for (int i = 0; i < 150 && !f->child_had_eof; i++) { /* 1.5 s at most */
		f->child_had_eof = access(eof, F_OK) == 0;
		if (!f->child_had_eof)
			nanosleep(&tick, NULL);
	}
	m = fopen(go, "w");
	ck_assert_ptr_nonnull(m);
	fclose(m);
	free(eof);
	free(go);
}

static void unlink_marks(const char *path)
{
	char *eof, *go;

	ck_assert(asprintf(&eof, "%s.eof", path) > 0);
	ck_assert(asprintf(&go, "%s.go", path) > 0);
	unlink(eof);
	unlink(go);
	free(eof);
	free(go);
}

START_TEST(fed_hook_runs_once_the_child_has_its_input_and_before_its_end)
{
	char *path = script("fed", "cat >\"$0.in\"; touch \"$0.eof\"; i=0\n"
				   "while [ ! -e \"$0.go\" ] && [ $i -lt 150 ]; do sleep 0.01; "
				   "i=$((i + 1)); done\n"
				   "[ -e \"$0.go\" ] && echo went || echo alone");
	const size_t len = 1u << 20; /* far more than a pipe holds */
	char *input = pattern(len), *got;
	struct dlg_exec_req req = { .path = path, .envp = no_env };
	struct fed_seen seen = { .path = path };
	struct dlg_exec_child *c = NULL;
	struct cni_err err = { 0 };
	struct dlg_exec_res res;
	size_t n;

	ck_assert_int_eq(dlg_exec_start(&req, &c, &err), 0);
	dlg_exec_when_fed(c, fed_mark, &seen);
	ck_assert_int_eq(dlg_exec_finish(c, input, len, &res, &err), 0);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_msg(seen.child_had_eof, "the hook ran before the child had all of its input");
	/* and before its end: the child waited for the hook's mark */
	ck_assert_str_eq(res.out, "went\n");
	dlg_exec_res_free(&res);
	got = unit_slurp(tmpdir, "fed.in", &n);
	ck_assert_uint_eq(n, len);
	ck_assert_mem_eq(got, input, len);
	free(got);
	assert_no_children();

	/* empty input: the child has it at once */
	unlink_marks(path);
	seen = (struct fed_seen){ .path = path };
	ck_assert_int_eq(dlg_exec_start(&req, &c, &err), 0);
	dlg_exec_when_fed(c, fed_mark, &seen);
	ck_assert_int_eq(dlg_exec_finish(c, "", 0, &res, &err), 0);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert(seen.child_had_eof);
	ck_assert_str_eq(res.out, "went\n");
	dlg_exec_res_free(&res);

	/* cancelled: never */
	seen = (struct fed_seen){ .path = path };
	ck_assert_int_eq(dlg_exec_start(&req, &c, &err), 0);
	dlg_exec_when_fed(c, fed_mark, &seen);
	dlg_exec_cancel(c);
	ck_assert_int_eq(seen.calls, 0);
	assert_no_children();
	free(input);
	free(path);
}
END_TEST

static Suite *exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("exec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, echo_child_round_trips_1_mib_of_stdin_exactly);
	tcase_add_test(tc, echo_child_round_trips_8_mib_of_stdin_exactly);
	tcase_add_test(tc, big_stdout_and_stderr_while_feeding_big_stdin_do_not_deadlock);
	tcase_add_test(tc, empty_input_gives_the_child_eof_at_once);
	tcase_add_test(tc, child_that_closes_stdin_gets_big_input_without_hang_or_sigpipe);
	tcase_add_test(tc, child_that_exits_without_reading_big_input_is_not_an_error);
	tcase_add_test(tc, stdout_past_max_output_is_an_io_error_and_child_is_reaped);
	tcase_add_test(tc, stderr_past_max_output_is_an_io_error_and_child_is_reaped);
	tcase_add_test(tc, output_of_exactly_max_output_bytes_is_accepted);
	tcase_add_test(tc, deadline_kills_the_whole_process_group_and_sets_timed_out);
	tcase_add_test(tc, child_runs_in_its_own_process_group);
	tcase_add_test(tc, child_starts_with_empty_mask_and_default_handlers);
	tcase_add_test(tc, child_exit_returns_promptly_while_a_grandchild_holds_the_pipes);
	tcase_add_test(tc, exit_codes_0_1_and_42_are_reported_not_errors);
	tcase_add_test(tc, child_killed_by_a_signal_reports_128_plus_signal);
	tcase_add_test(tc, stderr_is_captured_apart_from_stdout);
	tcase_add_test(tc, forward_stderr_copies_the_childs_stderr_to_ours);
	tcase_add_test(tc, environment_is_exactly_envp);
	tcase_add_test(tc, argv_defaults_to_the_path_and_is_passed_when_given);
	tcase_add_test(tc, missing_executable_is_an_error_naming_the_path);
	tcase_add_test(tc, non_executable_file_is_an_error_naming_the_path);
	tcase_add_test(tc, text_file_busy_is_retried_until_the_writer_is_done);
	tcase_add_test(tc, started_child_reads_nothing_until_finished);
	tcase_add_test(tc, cancelled_child_is_killed_before_it_reads_and_reaped);
	tcase_add_test(tc, fed_hook_runs_once_the_child_has_its_input_and_before_its_end);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(exec_suite)

/* test/unit/test_cni_file.c: the file layer (cni/file.h) and base64 (cni/base64.h).
 * Atomic writes leave no temporary, the reader refuses or follows symlinks as asked, caps sizes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cni/base64.h"
#include "cni/file.h"
#include "test/unit/unit.h"

static char dir[64];

/* Stands in for libc's, so that a test can see what the reader wiped: the last block and the
 * total. cni/buf.c calls it for every block it lets go of when asked to wipe. */
static const void *wiped_last;
static size_t wiped_last_len, wiped_total;

void explicit_bzero(void *p, size_t n)
{
	volatile unsigned char *v = p;

	for (size_t i = 0; i < n; i++)
		v[i] = 0;
	wiped_last = p;
	wiped_last_len = n;
	wiped_total += n;
}

/* Stands in for libc's fsync(2) (the kernel's is still called, through syscall(2)): records
 * which inodes were synced and whether by another thread than the test's, and can fail the Nth
 * call with EIO. */
static struct {
	pthread_mutex_t mu;
	int calls, fail_nth; /* fail_nth: 1-based, 0 none */
	ino_t ino[8];
	bool other_thread[8];
	pthread_t caller;
} fs = { .mu = PTHREAD_MUTEX_INITIALIZER };

int fsync(int fd)
{
	struct stat st;
	int n;

	pthread_mutex_lock(&fs.mu);
	n = ++fs.calls;
	if (n <= 8 && fstat(fd, &st) == 0) {
		fs.ino[n - 1] = st.st_ino;
		fs.other_thread[n - 1] = !pthread_equal(pthread_self(), fs.caller);
	}
	pthread_mutex_unlock(&fs.mu);
	if (n == fs.fail_nth) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

/* Stands in for libc's mkdir(2) (the kernel's through syscall(2)): counts the calls. */
static int mkdir_calls;

int mkdir(const char *path, mode_t mode)
{
	mkdir_calls++;
	return (int)syscall(SYS_mkdir, path, mode);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_ino;
}

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "file");
	fs.calls = fs.fail_nth = 0;
	fs.caller = pthread_self();
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

/* Number of entries in d (without . and ..). */
static int entries(const char *d)
{
	char cmd[160];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", d);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static void put(const char *name, const char *text, char *path, size_t size)
{
	struct cni_err err = { 0 };

	snprintf(path, size, "%s/%s", dir, name);
	ck_assert_int_eq(cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, &err),
			 0);
}

START_TEST(base64_round_trips_every_length)
{
	static const char *const want[] = { "", "YQ==", "YWI=", "YWJj", "YWJjZA==" };
	const char *in = "abcd";

	for (size_t n = 0; n <= 4; n++) {
		char *e = cni_base64_encode(in, n), *d;
		size_t len = 99;

		ck_assert_str_eq(e, want[n]);
		d = cni_base64_decode(e, &len);
		ck_assert_uint_eq(len, n);
		ck_assert_int_eq(memcmp(d, in, n), 0);
		free(e);
		free(d);
	}
	size_t len;
	ck_assert_ptr_null(cni_base64_decode("YQ=", &len));
	ck_assert_ptr_null(cni_base64_decode("Y===", &len));
	ck_assert_ptr_null(cni_base64_decode("YQ=a", &len));
	ck_assert_ptr_null(cni_base64_decode("Y!Q=", &len));
}
END_TEST

START_TEST(atomic_write_is_0600_and_leaves_no_temporary)
{
	struct cni_err err = { 0 };
	char path[128], sub[96];
	struct stat st;
	size_t len;
	char *back;

	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/file", sub);
	ck_assert_int_eq(cni_write_atomic(path, "one", 3, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(cni_write_atomic(path, "two!", 4, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	back = cni_read_file(path, 100, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(back, "two!");
	free(back);
	ck_assert_int_eq(cni_write_replace(path, "three", 5, 0600, CNI_WRITE_SHARED, &err), 0);
	back = cni_read_file(path, 100, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(back, "three");
	free(back);
	ck_assert_int_eq(entries(sub), 1);
}
END_TEST

START_TEST(failed_atomic_write_leaves_no_temporary_and_the_old_file)
{
	struct cni_err err = { 0 };
	char path[128], inside[160];

	/* rename cannot replace a non-empty directory: the write fails after the temp exists */
	snprintf(path, sizeof(path), "%s/target", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(inside, sizeof(inside), "%s/keep", path);
	ck_assert_int_eq(cni_write_atomic(inside, "x", 1, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(cni_write_atomic(path, "new", 3, 0600, CNI_WRITE_SHARED, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strncmp(err.msg, "write ", 6) == 0 && strstr(err.msg, path),
		      "want \"write <path>: ...\", got %s", err.msg);
	cni_err_clear(&err);
	ck_assert_int_eq(cni_write_replace(path, "new", 3, 0600, CNI_WRITE_SHARED, &err), -1);
	cni_err_clear(&err);
	ck_assert_int_eq(entries(dir), 1);
	ck_assert_int_eq(entries(path), 1);
}
END_TEST

START_TEST(atomic_write_syncs_the_file_then_its_directory)
{
	struct cni_err err = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "%s/plan", dir);
	ck_assert_int_eq(cni_write_atomic(path, "one", 3, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(fs.calls, 2);
	ck_assert_uint_eq(fs.ino[0], inode_of(path));
	ck_assert_uint_eq(fs.ino[1], inode_of(dir));
	ck_assert(!fs.other_thread[0] && !fs.other_thread[1]);
	/* cni_write_replace never syncs */
	ck_assert_int_eq(cni_write_replace(path, "two", 3, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(fs.calls, 2);
}
END_TEST

/* The file is in place with no fsync yet: they run when the caller says, on its own thread
 * (bin/plexus and plexusd once their first delegate has its config), once; cni_flush_wait
 * reports them without running them again, or runs them itself when nobody did. */
START_TEST(begun_write_is_in_place_and_synced_when_the_caller_says)
{
	struct cni_err err = { 0 };
	struct cni_flush *f = NULL;
	char path[128], *back;
	size_t len;

	snprintf(path, sizeof(path), "%s/plan", dir);
	ck_assert_int_eq(cni_write_atomic(path, "old", 3, 0600, CNI_WRITE_SHARED, &err), 0);
	fs.calls = 0;
	ck_assert_int_eq(
	    cni_write_atomic_begin(path, "new plan", 8, 0600, CNI_WRITE_SHARED, &f, &err), 0);
	ck_assert_ptr_nonnull(f);
	back = cni_read_file(path, 100, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(back, "new plan");
	free(back);
	ck_assert_int_eq(entries(dir), 1);
	ck_assert_int_eq(fs.calls, 0);
	cni_flush_run(f);
	ck_assert_int_eq(fs.calls, 2);
	ck_assert_uint_eq(fs.ino[0], inode_of(path));
	ck_assert_uint_eq(fs.ino[1], inode_of(dir));
	ck_assert(!fs.other_thread[0] && !fs.other_thread[1]);
	cni_flush_run(f);
	ck_assert_int_eq(cni_flush_wait(f, &err), 0);
	ck_assert_int_eq(fs.calls, 2);
	cni_flush_run(NULL);
	ck_assert_int_eq(cni_flush_wait(NULL, &err), 0);

	/* nobody ran them: the wait does */
	fs.calls = 0;
	ck_assert_int_eq(cni_write_atomic_begin(path, "again", 5, 0600, CNI_WRITE_SHARED, &f, &err),
			 0);
	ck_assert_int_eq(fs.calls, 0);
	ck_assert_int_eq(cni_flush_wait(f, &err), 0);
	ck_assert_int_eq(fs.calls, 2);
	ck_assert_uint_eq(fs.ino[0], inode_of(path));
	ck_assert_uint_eq(fs.ino[1], inode_of(dir));
}
END_TEST

START_TEST(begun_write_reports_the_fsync_that_failed)
{
	struct cni_err err = { 0 };
	struct cni_flush *f = NULL;
	char path[128], want[192];

	snprintf(path, sizeof(path), "%s/plan", dir);
	for (int nth = 1; nth <= 2; nth++) {
		fs.calls = 0;
		fs.fail_nth = nth;
		ck_assert_int_eq(
		    cni_write_atomic_begin(path, "x", 1, 0600, CNI_WRITE_SHARED, &f, &err), 0);
		/* run by the caller or by the wait: the wait reports it either way */
		if (nth == 2)
			cni_flush_run(f);
		ck_assert_int_eq(cni_flush_wait(f, &err), -1);
		ck_assert_uint_eq(err.code, 5);
		snprintf(want, sizeof(want), "%s %s: %s", nth == 1 ? "sync" : "sync directory of",
			 path, strerror(EIO));
		ck_assert_str_eq(err.msg, want);
		cni_err_clear(&err);
		/* the file stays: whether it goes is the caller's to say */
		ck_assert_int_eq(entries(dir), 1);
	}
	/* the synchronous write says the same */
	fs.calls = 0;
	fs.fail_nth = 1;
	ck_assert_int_eq(cni_write_atomic(path, "y", 1, 0600, CNI_WRITE_SHARED, &err), -1);
	ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, strerror(EIO)), "got %s", err.msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(begun_write_that_cannot_start_leaves_nothing_to_wait_for)
{
	struct cni_err err = { 0 };
	struct cni_flush *f = (struct cni_flush *)&err; /* must be reset */
	char path[128];

	snprintf(path, sizeof(path), "%s/missing/plan", dir);
	ck_assert_int_eq(cni_write_atomic_begin(path, "x", 1, 0600, CNI_WRITE_SHARED, &f, &err),
			 -1);
	ck_assert_ptr_null(f);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strncmp(err.msg, "write ", 6) == 0 && strstr(err.msg, path), "got %s",
		      err.msg);
	cni_err_clear(&err);
	ck_assert_int_eq(fs.calls, 0);
	ck_assert_int_eq(entries(dir), 0);
}
END_TEST

START_TEST(temporary_names_are_the_two_a_write_uses)
{
	ck_assert(cni_is_temporary_name("state.tmp"));
	ck_assert(cni_is_temporary_name("state.tmp.123"));
	ck_assert(cni_is_temporary_name("net-c1-eth0.tmp"));
	ck_assert(cni_is_temporary_name("a.tmp.b.tmp.9"));
	ck_assert(!cni_is_temporary_name("state"));
	ck_assert(!cni_is_temporary_name(".tmp"));
	ck_assert(!cni_is_temporary_name("state.tmpx"));
	ck_assert(!cni_is_temporary_name("state.tmp."));
	ck_assert(!cni_is_temporary_name("state.tmp.12a"));
	ck_assert(!cni_is_temporary_name("state.tmp.x.y"));
	ck_assert(!cni_is_temporary_name("state.bak"));
}
END_TEST

START_TEST(leftover_temporaries_are_removed_and_nothing_else)
{
	char path[128], t1[128], t2[128], other[128], near[128];

	char locked[128], tmpx[128];

	put("state", "s", path, sizeof(path));
	put("state.tmp.123", "a", t1, sizeof(t1));
	put("state.tmp.456", "b", t2, sizeof(t2));
	put("state.tmp", "l", locked, sizeof(locked));
	put("statex.tmp.1", "c", other, sizeof(other));
	put("state.bak", "d", near, sizeof(near));
	put("state.tmpx", "e", tmpx, sizeof(tmpx));
	/* not a temporary of ours: ".tmp." with no pid after it */
	char notpid[128];
	put("state.tmp.x", "f", notpid, sizeof(notpid));
	/* a locked writer's: its one name, nothing else (no read of the directory) */
	cni_remove_temporaries(path, CNI_WRITE_LOCKED);
	ck_assert_int_eq(access(locked, F_OK), -1);
	ck_assert_int_eq(access(t1, F_OK), 0);
	ck_assert_int_eq(access(t2, F_OK), 0);
	put("state.tmp", "l", locked, sizeof(locked));
	/* shared: both kinds */
	cni_remove_temporaries(path, CNI_WRITE_SHARED);
	ck_assert_int_eq(access(t1, F_OK), -1);
	ck_assert_int_eq(access(t2, F_OK), -1);
	ck_assert_int_eq(access(locked, F_OK), -1);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(access(other, F_OK), 0);
	ck_assert_int_eq(access(near, F_OK), 0);
	ck_assert_int_eq(access(tmpx, F_OK), 0);
	ck_assert_int_eq(access(notpid, F_OK), 0);
}
END_TEST

/* A locked writer goes through "<path>.tmp": one that a killed writer left is replaced, and
 * nothing stays next to the file. */
START_TEST(locked_write_goes_through_one_temporary_name)
{
	struct cni_err err = { 0 };
	struct cni_flush *f = NULL;
	char path[128], left[128], *back;
	size_t len;

	put("plan.tmp", "half a pl", left, sizeof(left));
	snprintf(path, sizeof(path), "%s/plan", dir);
	ck_assert_int_eq(cni_write_replace(path, "one", 3, 0600, CNI_WRITE_LOCKED, &err), 0);
	ck_assert_int_eq(access(left, F_OK), -1);
	ck_assert_int_eq(entries(dir), 1);
	put("plan.tmp", "half a pl", left, sizeof(left));
	ck_assert_int_eq(cni_write_atomic(path, "two", 3, 0600, CNI_WRITE_LOCKED, &err), 0);
	ck_assert_int_eq(entries(dir), 1);
	put("plan.tmp", "half a pl", left, sizeof(left));
	ck_assert_int_eq(cni_write_atomic_begin(path, "three", 5, 0600, CNI_WRITE_LOCKED, &f, &err),
			 0);
	ck_assert_int_eq(cni_flush_wait(f, &err), 0);
	ck_assert_int_eq(entries(dir), 1);
	back = cni_read_file(path, 100, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(back, "three");
	free(back);
	/* a rename that fails leaves no temporary either */
	ck_assert_int_eq(cni_write_replace(dir, "x", 1, 0600, CNI_WRITE_LOCKED, &err), -1);
	cni_err_clear(&err);
	snprintf(left, sizeof(left), "%s.tmp", dir);
	ck_assert_int_eq(access(left, F_OK), -1);
	ck_assert_int_eq(entries(dir), 1);
}
END_TEST

START_TEST(read_refuses_symlink_and_oversize_and_reports_missing)
{
	struct cni_err err = { 0 };
	char path[128], link[128];
	size_t len;

	snprintf(path, sizeof(path), "%s/f", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	ck_assert_int_eq(cni_write_atomic(path, "0123456789", 10, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_ptr_null(cni_read_file(link, 100, CNI_FILE_NOFOLLOW, &len, &err));
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
	ck_assert_ptr_null(cni_read_file(path, 9, CNI_FILE_NOFOLLOW, &len, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "larger than 9 bytes"));
	cni_err_clear(&err);
	errno = 0;
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_ptr_null(cni_read_file(path, 9, CNI_FILE_NOFOLLOW, &len, &err));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!cni_err_isset(&err));
	ck_assert_int_eq(cni_remove_file(path, &err), 0);
	ck_assert(!cni_err_isset(&err));
}
END_TEST

START_TEST(read_follows_a_symlink_when_asked)
{
	struct cni_err err = { 0 };
	char path[128], link[128];
	size_t len = 0;
	char *got;

	/* as a mounted service-account token: token -> ..data/token */
	put("real", "token-text", path, sizeof(path));
	snprintf(link, sizeof(link), "%s/token", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	got = cni_read_file(link, 100, CNI_FILE_FOLLOW, &len, &err);
	ck_assert_msg(got != NULL, "follow: %s", err.msg ? err.msg : "");
	ck_assert_str_eq(got, "token-text");
	ck_assert_uint_eq(len, 10);
	free(got);
}
END_TEST

START_TEST(read_takes_exactly_the_cap_and_empty_files)
{
	struct cni_err err = { 0 };
	char path[128];
	size_t len = 99;
	char *got;

	put("ten", "0123456789", path, sizeof(path));
	got = cni_read_file(path, 10, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(got, "0123456789");
	ck_assert_uint_eq(len, 10);
	free(got);
	put("empty", "", path, sizeof(path));
	got = cni_read_file(path, 10, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(len, 0);
	free(got);
}
END_TEST

START_TEST(read_caps_files_whose_size_fstat_does_not_tell)
{
	struct cni_err err = { 0 };
	size_t len;

	/* procfs reports st_size 0: only the read itself can see the cap crossed */
	ck_assert_ptr_null(cni_read_file("/proc/self/status", 9, CNI_FILE_FOLLOW, &len, &err));
	ck_assert_str_eq(err.msg, "/proc/self/status: larger than 9 bytes");
	cni_err_clear(&err);
}
END_TEST

START_TEST(read_refuses_what_is_not_a_regular_file)
{
	struct cni_err err = { 0 };
	char msg[160];
	size_t len;

	ck_assert_ptr_null(cni_read_file(dir, 100, CNI_FILE_NOFOLLOW, &len, &err));
	snprintf(msg, sizeof(msg), "%s: not a regular file", dir);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
	ck_assert_ptr_null(cni_read_file("/dev/null", 100, CNI_FILE_FOLLOW, &len, &err));
	ck_assert_str_eq(err.msg, "/dev/null: not a regular file");
	cni_err_clear(&err);
}
END_TEST

START_TEST(secret_read_wipes_every_copy)
{
	struct cni_err err = { 0 };
	char path[128], *big = malloc(16001), *got;
	size_t len = 0;

	/* 16000 bytes fill the first 16 KiB block; looking for the end of file needs a bigger one */
	memset(big, 'k', 16000);
	big[16000] = '\0';
	put("key", big, path, sizeof(path));
	wiped_total = 0;
	got = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_uint_eq(wiped_total, 0);
	free(got);

	got = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW | CNI_FILE_WIPE, &len, &err);
	ck_assert_str_eq(got, big);
	/* the block let go on growth was wiped */
	ck_assert_uint_gt(wiped_total, 0);
	cni_file_free_secret(got, len);
	ck_assert_ptr_eq(wiped_last, got);
	ck_assert_uint_eq(wiped_last_len, 16001);
	free(big);
}
END_TEST

START_TEST(remove_of_a_missing_file_succeeds_and_a_failure_names_the_path)
{
	struct cni_err err = { 0 };
	char path[128], inside[160];

	put("gone", "x", path, sizeof(path));
	ck_assert_int_eq(cni_remove_file(path, &err), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(cni_remove_file(path, &err), 0);
	ck_assert(!cni_err_isset(&err));
	/* a non-empty directory cannot be unlinked */
	snprintf(path, sizeof(path), "%s/d", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(inside, sizeof(inside), "%s/x", path);
	ck_assert_int_eq(cni_write_atomic(inside, "x", 1, 0600, CNI_WRITE_SHARED, &err), 0);
	ck_assert_int_eq(cni_remove_file(path, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	cni_err_clear(&err);
}
END_TEST

START_TEST(write_refuses_symlinked_directory_component)
{
	struct cni_err err = { 0 };
	char target[96], link[96];

	snprintf(target, sizeof(target), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(mkdir(target, 0700), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(cni_mkdir_p(link, 0700, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a directory"));
	cni_err_clear(&err);
}
END_TEST

/* A directory walked once is taken at one lstat() afterwards, for as long as the path ends on
 * the same directory: replaced by a symlink to another, removed, or made anew, it is walked
 * (and refused, or made) again. */
START_TEST(checked_directory_is_walked_again_only_when_it_changed)
{
	struct cni_err err = { 0 };
	char sub[96], mid[96], moved[96], other[128];

	snprintf(sub, sizeof(sub), "%s/m/n/o", dir);
	snprintf(mid, sizeof(mid), "%s/m/n", dir);
	mkdir_calls = 0;
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_gt(mkdir_calls, 3);
	mkdir_calls = 0;
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_eq(mkdir_calls, 0);
	/* a component replaced by a symlink to another tree: walked, refused */
	snprintf(moved, sizeof(moved), "%s/m/n-moved", dir);
	ck_assert_int_eq(rename(mid, moved), 0);
	snprintf(other, sizeof(other), "%s/elsewhere/o", dir);
	ck_assert_int_eq(cni_mkdir_p(other, 0700, &err), 0);
	snprintf(other, sizeof(other), "%s/elsewhere", dir);
	ck_assert_int_eq(symlink(other, mid), 0);
	mkdir_calls = 0;
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), -1);
	ck_assert_int_gt(mkdir_calls, 0);
	ck_assert_msg(strstr(err.msg, mid) && strstr(err.msg, "not a directory"), "got %s",
		      err.msg);
	cni_err_clear(&err);
	/* removed: made again */
	ck_assert_int_eq(unlink(mid), 0);
	mkdir_calls = 0;
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_gt(mkdir_calls, 0);
	ck_assert_int_eq(access(sub, F_OK), 0);
	mkdir_calls = 0;
	ck_assert_int_eq(cni_mkdir_p(sub, 0700, &err), 0);
	ck_assert_int_eq(mkdir_calls, 0);
}
END_TEST

static Suite *file_suite(void)
{
	Suite *s = suite_create("cni_file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, base64_round_trips_every_length);
	tcase_add_test(tc, atomic_write_is_0600_and_leaves_no_temporary);
	tcase_add_test(tc, checked_directory_is_walked_again_only_when_it_changed);
	tcase_add_test(tc, failed_atomic_write_leaves_no_temporary_and_the_old_file);
	tcase_add_test(tc, atomic_write_syncs_the_file_then_its_directory);
	tcase_add_test(tc, begun_write_is_in_place_and_synced_when_the_caller_says);
	tcase_add_test(tc, begun_write_reports_the_fsync_that_failed);
	tcase_add_test(tc, begun_write_that_cannot_start_leaves_nothing_to_wait_for);
	tcase_add_test(tc, temporary_names_are_the_two_a_write_uses);
	tcase_add_test(tc, leftover_temporaries_are_removed_and_nothing_else);
	tcase_add_test(tc, locked_write_goes_through_one_temporary_name);
	tcase_add_test(tc, read_refuses_symlink_and_oversize_and_reports_missing);
	tcase_add_test(tc, read_follows_a_symlink_when_asked);
	tcase_add_test(tc, read_takes_exactly_the_cap_and_empty_files);
	tcase_add_test(tc, read_caps_files_whose_size_fstat_does_not_tell);
	tcase_add_test(tc, read_refuses_what_is_not_a_regular_file);
	tcase_add_test(tc, secret_read_wipes_every_copy);
	tcase_add_test(tc, remove_of_a_missing_file_succeeds_and_a_failure_names_the_path);
	tcase_add_test(tc, write_refuses_symlinked_directory_component);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(file_suite)

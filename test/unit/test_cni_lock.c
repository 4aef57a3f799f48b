/* test/unit/test_cni_lock.c: the per-container and per-VF lock (cni/lock.h).
 * A busy lock times out with code 11; a holder that removes the file does not split the lock. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/lock.h"
#include "test/unit/unit.h"

static char dir[64], path[96];

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "lock");
	snprintf(path, sizeof(path), "%s/c1.lock", dir);
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

START_TEST(a_busy_lock_times_out_with_code_11)
{
	struct cni_err err = { 0 };
	char want[160];
	int fd = cni_lock(path, 0, false, &err), fd2;

	ck_assert_int_ge(fd, 0);
	/* a second open file description in the same process conflicts, as another process would */
	fd2 = cni_lock(path, 50, false, &err);
	ck_assert_int_eq(fd2, -1);
	ck_assert_uint_eq(err.code, 11);
	snprintf(want, sizeof(want), "%s is busy: another operation has held it for 50 ms", path);
	ck_assert_str_eq(err.msg, want);
	cni_err_clear(&err);
	cni_unlock(fd, path, false);
	fd2 = cni_lock(path, 50, false, &err);
	ck_assert_int_ge(fd2, 0);
	cni_unlock(fd2, path, false);
}
END_TEST

START_TEST(the_lock_file_is_0600_and_unlock_can_remove_it)
{
	struct cni_err err = { 0 };
	struct stat st;
	int fd = cni_lock(path, 0, false, &err);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	cni_unlock(fd, path, true);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(a_symlink_is_not_followed)
{
	struct cni_err err = { 0 };
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(cni_lock(path, 0, false, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_int_eq(access(target, F_OK), -1);
	cni_err_clear(&err);
}
END_TEST

START_TEST(inherit_keeps_the_lock_across_exec)
{
	struct cni_err err = { 0 };
	int fd = cni_lock(path, 0, true, &err), fd2;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	cni_unlock(fd, path, false);
	fd2 = cni_lock(path, 0, false, &err);
	ck_assert_int_ne(fcntl(fd2, F_GETFD) & FD_CLOEXEC, 0);
	cni_unlock(fd2, path, false);
}
END_TEST

START_TEST(a_waiter_locks_the_file_at_path_after_the_holder_removed_it)
{
	struct cni_err err = { 0 };
	int fd = cni_lock(path, 0, false, &err), status;
	pid_t child;

	ck_assert_int_ge(fd, 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* waits on the old inode; once it is unlinked, it must lock a new one at path */
		struct stat a, b;
		int cfd;

		close(fd); /* the parent's lock, not ours to keep alive */
		cfd = cni_lock(path, 3000, false, &err);

		_exit(cfd >= 0 && fstat(cfd, &a) == 0 && stat(path, &b) == 0 &&
			      a.st_ino == b.st_ino && a.st_dev == b.st_dev
			  ? 0
			  : 1);
	}
	usleep(100000);
	cni_unlock(fd, path, true);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the waiter holds a lock on a file no longer at %s", path);
}
END_TEST

static Suite *lock_suite(void)
{
	Suite *s = suite_create("cni_lock");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_busy_lock_times_out_with_code_11);
	tcase_add_test(tc, the_lock_file_is_0600_and_unlock_can_remove_it);
	tcase_add_test(tc, a_symlink_is_not_followed);
	tcase_add_test(tc, inherit_keeps_the_lock_across_exec);
	tcase_add_test(tc, a_waiter_locks_the_file_at_path_after_the_holder_removed_it);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(lock_suite)

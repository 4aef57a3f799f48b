/* test/unit/test_cni_netns.c: cni/netns against real network namespaces (needs root).
 * Follows containernetworking/plugins pkg/ns (Do) and setns(2): the caller's netns is restored on every path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni/netns.h"
#include "unit.h"

#define SELF_NETNS "/proc/thread-self/ns/net"

/* Set once by the unchecked fixture in the runner; each forked test inherits it. */
static char ns_name[64];
static char ns_path[128];

static void ns_create(void)
{
	unit_netns_add(ns_name, sizeof(ns_name), ns_path, sizeof(ns_path), "ns");
}

static void ns_destroy(void)
{
	unit_netns_del(ns_name);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

struct probe {
	int calls;
	ino_t inside; /* the thread's netns inode while fn runs */
	bool current; /* cni_netns_is_current(ns_path) while fn runs */
	int ret;      /* what fn returns */
	const char *fail_msg;
};

static int probe_fn(void *arg, struct cni_err *err)
{
	struct probe *p = arg;
	struct stat st;

	p->calls++;
	if (stat(SELF_NETNS, &st) == 0)
		p->inside = st.st_ino;
	p->current = cni_netns_is_current(ns_path);
	if (p->fail_msg)
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "%s", p->fail_msg);
	return p->ret;
}

START_TEST(do_runs_fn_inside_the_target_netns_and_returns_its_value)
{
	struct probe p = { .ret = 42 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do(ns_path, probe_fn, &p, &err), 42);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_msg(p.inside == inode_of(ns_path), "fn ran in netns inode %lu, want %lu",
		      (unsigned long)p.inside, (unsigned long)inode_of(ns_path));
	ck_assert(p.current);
	ck_assert(!cni_err_isset(&err));
}
END_TEST

START_TEST(do_returns_to_the_callers_netns_after_fn_succeeds)
{
	ino_t before = inode_of(SELF_NETNS);
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do(ns_path, probe_fn, &p, &err), 0);
	ck_assert(inode_of(SELF_NETNS) == before);
	ck_assert(p.inside != before);
}
END_TEST

START_TEST(do_returns_to_the_callers_netns_and_keeps_fn_error_when_fn_fails)
{
	ino_t before = inode_of(SELF_NETNS);
	struct probe p = { .ret = -1, .fail_msg = "fn says no" };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do(ns_path, probe_fn, &p, &err), -1);
	ck_assert(inode_of(SELF_NETNS) == before);
	ck_assert_uint_eq(err.code, CNI_ERR_TRY_AGAIN);
	ck_assert_str_eq(err.msg, "fn says no");
	cni_err_clear(&err);
}
END_TEST

START_TEST(do_accepts_a_proc_pid_ns_net_path)
{
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do("/proc/self/ns/net", probe_fn, &p, &err), 0);
	ck_assert_int_eq(p.calls, 1);
	ck_assert(p.inside == inode_of(SELF_NETNS));
}
END_TEST

START_TEST(do_on_a_missing_path_fails_with_code_5_naming_the_path_and_never_calls_fn)
{
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do("/run/netns/pxnsT-missing", probe_fn, &p, &err), -1);
	ck_assert_int_eq(p.calls, 0);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert_str_eq(err.msg,
			 "netns /run/netns/pxnsT-missing: open: No such file or directory");
	cni_err_clear(&err);
}
END_TEST

START_TEST(do_on_a_regular_file_is_rejected_as_not_a_network_namespace)
{
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do("/etc/passwd", probe_fn, &p, &err), -1);
	ck_assert_int_eq(p.calls, 0);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert_str_eq(err.msg, "netns /etc/passwd: not a network namespace");
	cni_err_clear(&err);
}
END_TEST

START_TEST(do_on_another_kind_of_namespace_is_rejected)
{
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do("/proc/self/ns/mnt", probe_fn, &p, &err), -1);
	ck_assert_int_eq(p.calls, 0);
	ck_assert_str_eq(err.msg, "netns /proc/self/ns/mnt: not a network namespace");
	cni_err_clear(&err);
}
END_TEST

START_TEST(do_on_an_empty_path_fails_without_calling_fn)
{
	struct probe p = { .ret = 0 };
	struct cni_err err = { 0 };

	ck_assert_int_eq(cni_netns_do("", probe_fn, &p, &err), -1);
	ck_assert_int_eq(p.calls, 0);
	ck_assert_uint_eq(err.code, CNI_ERR_IO);
	ck_assert_str_eq(err.msg, "netns path is empty");
	cni_err_clear(&err);
}
END_TEST

START_TEST(open_returns_a_cloexec_fd_for_a_netns_and_minus_one_for_a_file)
{
	struct cni_err err = { 0 };
	int fd = cni_netns_open(ns_path, &err);

	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ck_assert_int_eq(cni_netns_open("/etc/passwd", &err), -1);
	ck_assert_str_eq(err.msg, "netns /etc/passwd: not a network namespace");
	cni_err_clear(&err);
}
END_TEST

START_TEST(exists_is_true_only_for_network_namespaces)
{
	ck_assert(cni_netns_exists(ns_path));
	ck_assert(cni_netns_exists("/proc/self/ns/net"));
	ck_assert(!cni_netns_exists(""));
	ck_assert(!cni_netns_exists(NULL));
	ck_assert(!cni_netns_exists("/run/netns/pxnsT-missing"));
	ck_assert(!cni_netns_exists("/etc/passwd"));
	ck_assert(!cni_netns_exists("/proc/self/ns/mnt"));
}
END_TEST

START_TEST(is_current_is_true_only_for_the_callers_own_netns)
{
	ck_assert(cni_netns_is_current("/proc/self/ns/net"));
	ck_assert(cni_netns_is_current(SELF_NETNS));
	ck_assert(!cni_netns_is_current(ns_path));
	ck_assert(!cni_netns_is_current(""));
	ck_assert(!cni_netns_is_current(NULL));
	ck_assert(!cni_netns_is_current("/run/netns/pxnsT-missing"));
	ck_assert(!cni_netns_is_current("/etc/passwd"));
}
END_TEST

static Suite *netns_suite(void)
{
	Suite *s = suite_create("netns");
	TCase *tc = tcase_create("netns");

	/* Unchecked: created and removed by the runner, so a crashing test leaves nothing. */
	tcase_add_unchecked_fixture(tc, ns_create, ns_destroy);
	tcase_add_test(tc, do_runs_fn_inside_the_target_netns_and_returns_its_value);
	tcase_add_test(tc, do_returns_to_the_callers_netns_after_fn_succeeds);
	tcase_add_test(tc, do_returns_to_the_callers_netns_and_keeps_fn_error_when_fn_fails);
	tcase_add_test(tc, do_accepts_a_proc_pid_ns_net_path);
	tcase_add_test(tc,
		       do_on_a_missing_path_fails_with_code_5_naming_the_path_and_never_calls_fn);
	tcase_add_test(tc, do_on_a_regular_file_is_rejected_as_not_a_network_namespace);
	tcase_add_test(tc, do_on_another_kind_of_namespace_is_rejected);
	tcase_add_test(tc, do_on_an_empty_path_fails_without_calling_fn);
	tcase_add_test(tc, open_returns_a_cloexec_fd_for_a_netns_and_minus_one_for_a_file);
	tcase_add_test(tc, exists_is_true_only_for_network_namespaces);
	tcase_add_test(tc, is_current_is_true_only_for_the_callers_own_netns);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(netns_suite)

/* test/unit/test_cni_nl.c: the netlink seam keeps the kernel's own errno and extended ack, and
 * opens sockets in another netns without leaving the caller there (needs root: CLONE_NEWNET).
 * Each test runs in a forked child (Check's default) inside netns it creates and drops itself. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "cni/nl.h"
#include "unit.h"

/* A fresh netns for the calling thread, returned as an fd. */
static int fresh_netns(void)
{
	int fd;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare: %s (needs root)", strerror(errno));
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static ino_t current_netns(void)
{
	struct stat st;

	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &st), 0);
	return st.st_ino;
}

/* The kernel explains "Unknown device type" only in the extended ack; libnl alone would say
 * "Operation not supported" and drop the text. */
START_TEST(refused_request_keeps_errno_and_extack)
{
	struct cni_err err = { 0 };
	struct cni_nl nl = { 0 };
	struct rtnl_link *link = rtnl_link_alloc();
	struct nl_msg *msg = NULL;
	int r;

	close(fresh_netns());
	ck_assert_ptr_nonnull(link);
	rtnl_link_set_name(link, "pxn0");
	ck_assert_int_eq(rtnl_link_set_type(link, "plexus-no-such-kind"), 0);
	ck_assert_int_eq(rtnl_link_build_add_request(link, NLM_F_CREATE | NLM_F_EXCL, &msg), 0);
	ck_assert_msg(cni_nl_open(&nl, NETLINK_ROUTE, &err) == 0, "%s", err.msg);

	r = cni_nl_request(&nl, msg);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(nl.errnum, EOPNOTSUPP);
	ck_assert_int_eq(cni_nl_errno(&nl, r), EOPNOTSUPP);
	ck_assert_ptr_nonnull(nl.extack);
	ck_assert_str_eq(nl.extack, "Unknown device type");

	ck_assert_int_eq(cni_nl_fail(&nl, r, &err, "interface \"%s\": create", "pxn0"), -1);
	ck_assert_uint_eq(err.code, CNI_ERR_INTERNAL);
	ck_assert_str_eq(err.msg, "interface \"pxn0\": create: Operation not supported");
	ck_assert_str_eq(err.details, "Unknown device type");

	/* The next request starts clean. */
	cni_nl_reset(&nl);
	ck_assert_int_eq(nl.errnum, 0);
	ck_assert_ptr_null(nl.extack);

	cni_err_clear(&err);
	nlmsg_free(msg);
	rtnl_link_put(link);
	cni_nl_close(&nl);
	cni_nl_close(&nl); /* twice is harmless */
}
END_TEST

/* Without a kernel answer the reason is libnl's, and its code maps back to an errno. */
START_TEST(failure_without_kernel_answer_uses_libnl_text)
{
	struct cni_err err = { 0 };
	struct cni_nl nl = { 0 };

	ck_assert_int_eq(cni_nl_errno(&nl, -NLE_OBJ_NOTFOUND), ENODEV);
	ck_assert_int_eq(cni_nl_errno(&nl, -NLE_EXIST), EEXIST);
	ck_assert_int_eq(cni_nl_errno(&nl, -NLE_FAILURE), EIO);
	ck_assert_int_eq(cni_nl_fail(&nl, -NLE_OBJ_NOTFOUND, &err, "look up %s", "x"), -1);
	ck_assert_str_eq(err.msg, "look up x: Object not found");
	ck_assert_ptr_null(err.details);
	cni_err_clear(&err);
}
END_TEST

/* A socket opened in netns B sees B's links, not the caller's; the caller stays in A. */
START_TEST(open_in_talks_to_that_netns_and_comes_back)
{
	struct cni_err err = { 0 };
	struct cni_nl a = { 0 }, b = { 0 };
	struct rtnl_link *link = NULL;
	int a_fd = fresh_netns(), b_fd = fresh_netns(), r;
	ino_t a_ino;

	ck_assert_int_eq(setns(a_fd, CLONE_NEWNET), 0);
	a_ino = current_netns();
	ck_assert_msg(cni_nl_open(&a, NETLINK_ROUTE, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(rtnl_link_veth_add(a.sk, "pxn-a0", "pxn-a1", getpid()), 0);

	ck_assert_msg(cni_nl_open_in(&b, NETLINK_ROUTE, b_fd, &err) == 0, "%s", err.msg);
	ck_assert(current_netns() == a_ino);

	ck_assert_int_eq(rtnl_link_get_kernel(a.sk, 0, "pxn-a0", &link), 0);
	rtnl_link_put(link);
	link = NULL;
	cni_nl_reset(&b);
	r = rtnl_link_get_kernel(b.sk, 0, "pxn-a0", &link);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(cni_nl_errno(&b, r), ENODEV);

	cni_nl_close(&a);
	cni_nl_close(&b);
	close(a_fd);
	close(b_fd);
}
END_TEST

/* An fd that is no netns: refused, nothing left open, the caller where it was. */
START_TEST(open_in_refuses_a_non_netns_fd)
{
	struct cni_err err = { 0 };
	struct cni_nl nl = { 0 };
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ino_t before = current_netns();

	ck_assert_int_eq(cni_nl_open_in(&nl, NETLINK_ROUTE, fd, &err), -1);
	ck_assert_ptr_nonnull(err.msg);
	ck_assert_ptr_null(nl.sk);
	ck_assert(current_netns() == before);
	cni_err_clear(&err);
	close(fd);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cni_nl");
	TCase *t = tcase_create("kernel");

	tcase_add_test(t, refused_request_keeps_errno_and_extack);
	tcase_add_test(t, failure_without_kernel_answer_uses_libnl_text);
	tcase_add_test(t, open_in_talks_to_that_netns_and_comes_back);
	tcase_add_test(t, open_in_refuses_a_non_netns_fd);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

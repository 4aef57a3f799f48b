/* sriov/nl.c: NETLINK_ROUTE sockets per netns with errno and extended-ack capture.
 * Follows cni/ipconfig (on_nl_error) so every kernel refusal names its reason. */
#include "sriov/nl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/msg.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int sriov_nl_open(struct sriov_nl *nl, struct cni_err *err)
{
	int one = 1, r;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	r = nl_connect(nl->sk, NETLINK_ROUTE);
	if (r < 0) {
		sriov_nl_fail(nl, r, err, "open netlink socket");
		sriov_nl_close(nl);
		return -1;
	}
	/* Best effort: older kernels simply give no extended ack text. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, cni_nl_on_error, &nl->ans);
	return 0;
}

int sriov_nl_open_in(struct sriov_nl *nl, int ns_fd, struct cni_err *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ret;

	memset(nl, 0, sizeof(*nl));
	if (self < 0)
		return cni_err_set(err, CNI_ERR_IO, "open own netns: %s", strerror(errno));
	if (setns(ns_fd, CLONE_NEWNET) < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, "enter netns: %s", strerror(errno));
		close(self);
		return ret;
	}
	ret = sriov_nl_open(nl, err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Nothing after this may trust where the thread is. */
		sriov_nl_close(nl);
		ret = cni_err_set(err, CNI_ERR_INTERNAL, "cannot return to the original netns: %s",
				  strerror(errno));
	}
	close(self);
	return ret;
}

void sriov_nl_close(struct sriov_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl->ans.extack);
	memset(nl, 0, sizeof(*nl));
}

void sriov_nl_reset(struct sriov_nl *nl)
{
	free(nl->ans.extack);
	nl->ans.extack = NULL;
	nl->ans.errnum = 0;
}

int sriov_nl_errno(const struct sriov_nl *nl, int r)
{
	if (nl->ans.errnum)
		return nl->ans.errnum;
	switch (-r) {
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND:
		return ENODEV;
	case NLE_OPNOTSUPP:
		return EOPNOTSUPP;
	case NLE_EXIST:
		return EEXIST;
	case NLE_NOMEM:
		return ENOMEM;
	case NLE_PERM:
		return EPERM;
	case NLE_BUSY:
		return EBUSY;
	case NLE_INVAL:
		return EINVAL;
	default:
		return EIO;
	}
}

int sriov_nl_fail(const struct sriov_nl *nl, int r, struct cni_err *err, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	cni_err_set(err, CNI_ERR_INTERNAL, "%s: %s", what ? what : fmt,
		    nl->ans.errnum ? strerror(nl->ans.errnum) : nl_geterror(r));
	free(what);
	if (nl->ans.extack)
		cni_err_details(err, "%s", nl->ans.extack);
	return -1;
}

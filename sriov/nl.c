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

/* Records the kernel's errno and extended-ack message, then lets libnl fail as usual. */
static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *hdr = (const void *)((const char *)e - NLMSG_HDRLEN);
	struct sriov_nl *nl = arg;
	const struct nlattr *msg;
	size_t off = sizeof(*e), total = hdr->nlmsg_len - NLMSG_HDRLEN;

	(void)who;
	nl->errnum = -e->error;
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > NLMSG_HDRLEN)
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	if (off >= total)
		return NL_STOP;
	msg = nla_find((const struct nlattr *)((const char *)e + off), (int)(total - off),
		       NLMSGERR_ATTR_MSG);
	if (msg && nla_len(msg) > 0) {
		free(nl->extack);
		nl->extack = strndup(nla_data(msg), (size_t)nla_len(msg));
	}
	return NL_STOP;
}

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
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, on_error, nl);
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
	free(nl->extack);
	memset(nl, 0, sizeof(*nl));
}

void sriov_nl_reset(struct sriov_nl *nl)
{
	free(nl->extack);
	nl->extack = NULL;
	nl->errnum = 0;
}

int sriov_nl_errno(const struct sriov_nl *nl, int r)
{
	if (nl->errnum)
		return nl->errnum;
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
		    nl->errnum ? strerror(nl->errnum) : nl_geterror(r));
	free(what);
	if (nl->extack)
		cni_err_details(err, "%s", nl->extack);
	return -1;
}

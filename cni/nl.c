/* cni/nl.c: netlink sockets that keep the kernel's errno and extended ack of a refused request.
 * Follows the netlink ACK format (NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG) as iproute2
 * lib/libnetlink.c nl_dump_ext_ack reads it, over libnl's socket and callbacks. */
#include "cni/nl.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "cni/netns.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* libnl's error callback: records the errno and the extended-ack message, then lets libnl
 * fail as usual (NL_STOP gives the same result code as no callback). */
static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *hdr = (const void *)((const char *)e - NLMSG_HDRLEN);
	struct cni_nl *nl = arg;
	const struct nlattr *msg;
	size_t off = sizeof(*e), total = hdr->nlmsg_len - NLMSG_HDRLEN;

	(void)who;
	nl->errnum = -e->error;
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* Unless capped, the request we sent is echoed back before the attributes. */
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

int cni_nl_open(struct cni_nl *nl, int protocol, struct cni_err *err)
{
	int one = 1, r;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return cni_err_oom(err);
	r = nl_connect(nl->sk, protocol);
	if (r < 0) {
		cni_nl_fail(nl, r, err, "open %snetlink socket",
			    protocol == NETLINK_GENERIC ? "generic " : "");
		cni_nl_close(nl);
		return -1;
	}
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(nl->sk, NL_CB_CUSTOM, on_error, nl);
	return 0;
}

struct open_in {
	struct cni_nl *nl;
	int protocol;
};

static int open_here(void *arg, struct cni_err *err)
{
	struct open_in *o = arg;

	return cni_nl_open(o->nl, o->protocol, err);
}

int cni_nl_open_in(struct cni_nl *nl, int protocol, int ns_fd, struct cni_err *err)
{
	struct open_in o = { nl, protocol };
	char path[64];

	memset(nl, 0, sizeof(*nl));
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", ns_fd);
	if (cni_netns_do(path, open_here, &o, err) < 0) {
		/* Also when the thread could not come back: nothing opened may be trusted. */
		cni_nl_close(nl);
		return -1;
	}
	return 0;
}

int cni_nl_request(struct cni_nl *nl, struct nl_msg *msg)
{
	int r;

	cni_nl_reset(nl);
	r = nl_send_auto(nl->sk, msg);
	if (r >= 0)
		r = nl_wait_for_ack(nl->sk);
	return r < 0 ? r : 0;
}

void cni_nl_reset(struct cni_nl *nl)
{
	free(nl->extack);
	nl->extack = NULL;
	nl->errnum = 0;
}

void cni_nl_close(struct cni_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl->extack);
	memset(nl, 0, sizeof(*nl));
}

int cni_nl_errno(const struct cni_nl *nl, int r)
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

int cni_nl_fail(const struct cni_nl *nl, int r, struct cni_err *err, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (!what)
		return cni_err_oom(err);
	cni_err_set(err, CNI_ERR_INTERNAL, "%s: %s", what,
		    nl->errnum ? strerror(nl->errnum) : nl_geterror(r));
	free(what);
	if (nl->extack)
		cni_err_details(err, "%s", nl->extack);
	return -1;
}

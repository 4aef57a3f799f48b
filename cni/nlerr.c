/* cni/nlerr.c: the kernel's errno and extended ack of a refused netlink request.
 * Follows the netlink ACK format (NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG). */
#include "cni/nlerr.h"

#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/handlers.h>

int cni_nl_on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	const struct nlmsghdr *hdr = (const void *)((const char *)e - NLMSG_HDRLEN);
	struct cni_nl_answer *ans = arg;
	const struct nlattr *msg;
	size_t off = sizeof(*e), total = hdr->nlmsg_len - NLMSG_HDRLEN;

	(void)who;
	ans->errnum = -e->error;
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
		free(ans->extack);
		ans->extack = strndup(nla_data(msg), (size_t)nla_len(msg));
	}
	return NL_STOP;
}

void cni_nl_answer_reset(struct cni_nl_answer *ans)
{
	free(ans->extack);
	ans->extack = NULL;
	ans->errnum = 0;
}

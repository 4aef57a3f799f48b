/* cni/nlerr.h: what the kernel said when it refused a netlink request: its errno and its
 * extended-ack text, which libnl reduces to vaguer codes ("Unspecific failure"). */
#ifndef PLEXUS_CNI_NLERR_H
#define PLEXUS_CNI_NLERR_H

#include <linux/netlink.h>
#include <sys/socket.h>

struct cni_nl_answer {
	int errnum;   /* errno of the last kernel refusal, 0 when none */
	char *extack; /* the kernel's explanation of it, or NULL (owned) */
};

/* A libnl error callback (nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, cni_nl_on_error, ans)):
 * records the errno and the extended-ack message in ans, then lets libnl fail as usual. */
int cni_nl_on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg);

/* Forgets the last answer (before the next request). */
void cni_nl_answer_reset(struct cni_nl_answer *ans);

#endif

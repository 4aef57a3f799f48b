/* cni/nl.h: the one netlink seam: sockets (also inside a netns), the kernel's own errno and
 * extended-ack text for a refused request, and the one message format for netlink failures.
 * Follows OpenWrt netifd system.h (one header for the system layer) and iproute2 libnetlink. */
#ifndef PLEXUS_CNI_NL_H
#define PLEXUS_CNI_NL_H

#include <netlink/netlink.h>

#include "cni/err.h"

/* A socket is bound to the netns of the thread that opened it, for its whole life. libnl
 * folds the kernel's errno into coarser NLE_* codes (ENETUNREACH becomes "Unspecific failure")
 * and drops the extended ack, so both are kept here as the kernel gave them. */
struct cni_nl {
	struct nl_sock *sk;
	int errnum;   /* errno of the last kernel refusal, 0 when none */
	char *extack; /* the kernel's explanation of it, or NULL (owned) */
};

/* Opens nl for protocol (NETLINK_ROUTE, NETLINK_GENERIC) in the calling thread's netns, asking
 * for extended acks (best effort: older kernels give no text). nl must not move while open.
 * Returns 0, or -1 with err set: "open netlink socket: <reason>" ("open generic netlink
 * socket: ..." for NETLINK_GENERIC), code 999. */
int cni_nl_open(struct cni_nl *nl, int protocol, struct cni_err *err) CNI_MUST_CHECK;

/* As cni_nl_open, inside the netns behind ns_fd; the calling thread is back in its own netns
 * on every path (cni_netns_do). */
int cni_nl_open_in(struct cni_nl *nl, int protocol, int ns_fd, struct cni_err *err) CNI_MUST_CHECK;

/* Sends msg (not consumed) and waits for the kernel's ack. Returns 0 or a negative libnl code,
 * with the kernel's errno and extended ack then in nl. Not for requests answered with data. */
int cni_nl_request(struct cni_nl *nl, struct nl_msg *msg) CNI_MUST_CHECK;

/* Forgets the last refusal; call before each request made with libnl's own functions. */
void cni_nl_reset(struct cni_nl *nl);

/* Closes the socket and frees the answer; nl is left zeroed (closing twice is harmless). */
void cni_nl_close(struct cni_nl *nl);

/* The errno behind libnl result r: the kernel's own when it gave one, else r mapped back. */
int cni_nl_errno(const struct cni_nl *nl, int r);

/* Sets err to code 999 "<what>: <reason>", reason the kernel's strerror (libnl's text when the
 * kernel said nothing), with the extended-ack text as details. Returns -1. */
int cni_nl_fail(const struct cni_nl *nl, int r, struct cni_err *err, const char *fmt, ...)
    CNI_PRINTF(4, 5);

#endif

/* sriov/nl.h: a NETLINK_ROUTE socket that remembers the kernel's errno and extended ack.
 * Follows cni/ipconfig's error reporting: "<what>: <strerror>", extack text in details. */
#ifndef PLEXUS_SRIOV_NL_H
#define PLEXUS_SRIOV_NL_H

#include <netlink/netlink.h>

#include "cni/err.h"
#include "cni/nlerr.h"

/* A socket is bound to the netns of the thread that opened it, for its whole life. */
struct sriov_nl {
	struct nl_sock *sk;
	struct cni_nl_answer ans; /* what the kernel said to the last refused request */
};

/* Opens nl in the calling thread's current netns; nl must not move while open. Returns 0 or
 * -1 with err set. */
int sriov_nl_open(struct sriov_nl *nl, struct cni_err *err);

/* Opens nl inside the netns behind ns_fd, returning the thread to where it was. */
int sriov_nl_open_in(struct sriov_nl *nl, int ns_fd, struct cni_err *err);

void sriov_nl_close(struct sriov_nl *nl);

/* Forgets the last refusal; call before each request. */
void sriov_nl_reset(struct sriov_nl *nl);

/* The errno behind libnl result r (the kernel's own when it gave one). */
int sriov_nl_errno(const struct sriov_nl *nl, int r);

/* Sets err to code 999 "<what>: <reason>" with the extack text as details. Returns -1. */
int sriov_nl_fail(const struct sriov_nl *nl, int r, struct cni_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

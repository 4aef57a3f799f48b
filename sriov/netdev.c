/* sriov/netdev.c: the VF netdev's journey into the pod netns and back, with libnl-route.
 * Follows sriov-cni SetupVF/ReleaseVF (PR #325 temporary netns, altname cleanup, MAC retry). */
#include "sriov/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "cni/log.h"
#include "cni/netns.h"
#include "sriov/conf.h"

#define MAC_TRIES    20
#define MAC_RETRY_MS 100

int sriov_link_get(struct cni_nl *nl, const char *name, struct sriov_link *out, struct cni_err *err)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *addr;
	int r;

	memset(out, 0, sizeof(*out));
	cni_nl_reset(nl);
	r = rtnl_link_get_kernel(nl->sk, 0, name, &link);
	if (r < 0 && cni_nl_errno(nl, r) == ENODEV)
		return 1;
	if (r < 0)
		return cni_nl_fail(nl, r, err, "interface \"%s\": look up link", name);
	out->ifindex = rtnl_link_get_ifindex(link);
	snprintf(out->name, sizeof(out->name), "%s", rtnl_link_get_name(link));
	out->mtu = rtnl_link_get_mtu(link);
	out->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
	addr = rtnl_link_get_addr(link);
	if (addr && nl_addr_get_len(addr) >= 6)
		memcpy(out->mac, nl_addr_get_binary_addr(addr), 6);
	rtnl_link_put(link);
	return 0;
}

/* One RTM_NEWLINK on ifindex with changes; "what" names the step in the error. */
static int change(struct cni_nl *nl, int ifindex, struct rtnl_link *changes, const char *what,
		  struct cni_err *err)
{
	struct rtnl_link *orig = rtnl_link_alloc();
	int r;

	if (!orig) {
		rtnl_link_put(changes);
		return cni_err_oom(err);
	}
	rtnl_link_set_ifindex(orig, ifindex);
	cni_nl_reset(nl);
	r = rtnl_link_change(nl->sk, orig, changes, 0);
	rtnl_link_put(orig);
	rtnl_link_put(changes);
	if (r < 0)
		return cni_nl_fail(nl, r, err, "interface %d: %s", ifindex, what);
	return 0;
}

static struct rtnl_link *changes_or_oom(struct cni_err *err)
{
	struct rtnl_link *c = rtnl_link_alloc();

	if (!c)
		cni_err_oom(err);
	return c;
}

int sriov_link_set_up(struct cni_nl *nl, int ifindex, bool up, struct cni_err *err)
{
	struct rtnl_link *c = changes_or_oom(err);

	if (!c)
		return -1;
	if (up)
		rtnl_link_set_flags(c, IFF_UP);
	else
		rtnl_link_unset_flags(c, IFF_UP);
	return change(nl, ifindex, c, up ? "set link up" : "set link down", err);
}

int sriov_link_rename(struct cni_nl *nl, int ifindex, const char *name, struct cni_err *err)
{
	struct rtnl_link *c = changes_or_oom(err);
	char what[64];

	if (!c)
		return -1;
	rtnl_link_set_name(c, name);
	snprintf(what, sizeof(what), "rename to \"%s\"", name);
	return change(nl, ifindex, c, what, err);
}

int sriov_link_set_mtu(struct cni_nl *nl, int ifindex, unsigned mtu, struct cni_err *err)
{
	struct rtnl_link *c = changes_or_oom(err);
	char what[64];

	if (!c)
		return -1;
	rtnl_link_set_mtu(c, mtu);
	snprintf(what, sizeof(what), "set mtu %u", mtu);
	return change(nl, ifindex, c, what, err);
}

int sriov_link_move(struct cni_nl *nl, int ifindex, int ns_fd, const char *name,
		    struct cni_err *err)
{
	struct rtnl_link *c = changes_or_oom(err);
	char what[64];

	if (!c)
		return -1;
	rtnl_link_set_ns_fd(c, ns_fd);
	if (name)
		rtnl_link_set_name(c, name);
	snprintf(what, sizeof(what), "move to another netns%s%s%s", name ? " as \"" : "",
		 name ? name : "", name ? "\"" : "");
	return change(nl, ifindex, c, what, err);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads the MAC of ifindex back; 0 when it equals mac. */
static int mac_is(struct cni_nl *nl, int ifindex, const unsigned char mac[6], unsigned char *got)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *addr;
	int same = -1;

	cni_nl_reset(nl);
	if (rtnl_link_get_kernel(nl->sk, ifindex, NULL, &link) < 0)
		return -1;
	addr = rtnl_link_get_addr(link);
	if (addr && nl_addr_get_len(addr) >= 6) {
		memcpy(got, nl_addr_get_binary_addr(addr), 6);
		same = memcmp(got, mac, 6) == 0 ? 0 : -1;
	}
	rtnl_link_put(link);
	return same;
}

int sriov_link_set_mac(struct cni_nl *nl, int ifindex, const unsigned char mac[6],
		       struct cni_err *err)
{
	unsigned char got[6] = { 0 };
	char want_s[18], got_s[18];

	for (int i = 0; i < MAC_TRIES; i++) {
		struct rtnl_link *c = changes_or_oom(err);
		struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);

		if (!c || !a) {
			rtnl_link_put(c);
			nl_addr_put(a);
			return cni_err_oom(err);
		}
		rtnl_link_set_addr(c, a);
		nl_addr_put(a);
		sriov_mac_format(mac, want_s);
		cni_err_clear(err);
		if (change(nl, ifindex, c, "set mac", err) < 0) {
			/* EBUSY: the driver is still busy with the PF's change; retry. */
			if (nl->errnum != EBUSY && nl->errnum != EAGAIN)
				return cni_err_prefix(err, "set mac %s", want_s);
		} else if (mac_is(nl, ifindex, mac, got) == 0) {
			return 0;
		}
		sleep_ms(MAC_RETRY_MS);
	}
	if (cni_err_isset(err))
		return -1;
	sriov_mac_format(got, got_s);
	return cni_err_set(err, CNI_ERR_INTERNAL,
			   "interface %d: set mac %s: the link still reports %s after %d tries",
			   ifindex, want_s, got_s, MAC_TRIES);
}

int sriov_link_del_altname(struct cni_nl *nl, int ifindex, const char *name, struct cni_err *err)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_DELLINKPROP, NLM_F_REQUEST | NLM_F_ACK);
	struct nlattr *nest;
	int r, e;

	if (!m || nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    !(nest = nla_nest_start(m, IFLA_PROP_LIST)) ||
	    nla_put_string(m, IFLA_ALT_IFNAME, name) < 0) {
		nlmsg_free(m);
		return cni_err_oom(err);
	}
	nla_nest_end(m, nest);
	r = cni_nl_request(nl, m);
	nlmsg_free(m);
	if (r == 0)
		return 0;
	/* ENOENT: no such altname; EINVAL: it is the real name; EOPNOTSUPP: kernel < 5.5. */
	e = cni_nl_errno(nl, r);
	if (e == ENOENT || e == EINVAL || e == EOPNOTSUPP || e == ENODATA)
		return 0;
	return cni_nl_fail(nl, r, err, "interface %d: delete altname \"%s\"", ifindex, name);
}

int sriov_netns_private(int *fd, struct cni_err *err)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ret = 0;

	*fd = -1;
	if (self < 0)
		return cni_err_set(err, CNI_ERR_IO, "open own netns: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) < 0) {
		ret = cni_err_set(err, CNI_ERR_IO, "create a temporary netns: %s", strerror(errno));
		goto out;
	}
	*fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		ret = cni_err_set(err, CNI_ERR_IO, "open the temporary netns: %s", strerror(errno));
	if (setns(self, CLONE_NEWNET) < 0) {
		ret = cni_err_set(err, CNI_ERR_INTERNAL, "cannot return to the original netns: %s",
				  strerror(errno));
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
out:
	close(self);
	return ret;
}

/* The link named name in the temporary netns goes home as host_name; best effort, the
 * caller already has the error worth reporting. */
static void send_home(struct cni_nl *tmp, const char *name, struct cni_nl *host,
		      const struct sriov_link *orig)
{
	struct cni_err e = { 0 };
	struct sriov_link l, back;
	int host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), up = 0;

	if (host_fd >= 0 && sriov_link_get(tmp, name, &l, &e) == 0 &&
	    sriov_link_move(tmp, l.ifindex, host_fd, orig->name, &e) == 0 && orig->up &&
	    sriov_link_get(host, orig->name, &back, &e) == 0)
		up = sriov_link_set_up(host, back.ifindex, true, &e);
	if (up < 0 || cni_err_isset(&e))
		log_error("rollback of \"%s\" to the host netns: %s", orig->name, e.msg);
	if (host_fd >= 0)
		close(host_fd);
	cni_err_clear(&e);
}

int sriov_netdev_move_in(struct cni_nl *host, int pod_fd, const struct sriov_link *orig,
			 const char *ifname, struct cni_err *err)
{
	struct cni_nl tmp = { 0 };
	struct sriov_link l;
	int tmp_fd = -1, ret = -1;

	if (orig->up && sriov_link_set_up(host, orig->ifindex, false, err) < 0)
		return -1;
	if (sriov_netns_private(&tmp_fd, err) < 0)
		goto fail_host;
	if (cni_nl_open_in(&tmp, NETLINK_ROUTE, tmp_fd, err) < 0)
		goto fail_host;
	if (sriov_link_move(host, orig->ifindex, tmp_fd, ifname, err) < 0)
		goto fail_host;
	if (sriov_link_get(&tmp, ifname, &l, err) != 0) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" vanished on its way",
				    ifname);
		goto fail_tmp;
	}
	/* The old host name travels as an altname on some systems and would clash later. */
	if (sriov_link_del_altname(&tmp, l.ifindex, orig->name, err) < 0 ||
	    sriov_link_move(&tmp, l.ifindex, pod_fd, NULL, err) < 0)
		goto fail_tmp;
	ret = 0;
	goto out;
fail_tmp:
	send_home(&tmp, ifname, host, orig);
	goto out;
fail_host:
	if (orig->up) {
		struct cni_err e = { 0 };

		/* Best effort: err already holds the failure worth reporting. */
		if (sriov_link_set_up(host, orig->ifindex, true, &e) < 0)
			log_verbose("interface \"%s\": set up again: %s", orig->name, e.msg);
		cni_err_clear(&e);
	}
out:
	cni_nl_close(&tmp);
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (ret < 0)
		cni_err_prefix(err, "failed to move \"%s\" into the pod as \"%s\"", orig->name,
			       ifname);
	return ret;
}

int sriov_netdev_move_out(struct cni_nl *pod, const char *ifname, const char *host_name,
			  struct cni_err *err)
{
	struct cni_nl tmp = { 0 };
	struct sriov_link l;
	int tmp_fd = -1, host_fd = -1, r, ret = -1;

	if (!pod)
		return 1;
	r = sriov_link_get(pod, ifname, &l, err);
	if (r != 0)
		return r;
	if (sriov_link_set_up(pod, l.ifindex, false, err) < 0 ||
	    sriov_netns_private(&tmp_fd, err) < 0 ||
	    cni_nl_open_in(&tmp, NETLINK_ROUTE, tmp_fd, err) < 0 ||
	    sriov_link_move(pod, l.ifindex, tmp_fd, NULL, err) < 0)
		goto out;
	if (sriov_link_get(&tmp, ifname, &l, err) != 0) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" vanished on its way",
				    ifname);
		goto out;
	}
	host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_fd < 0) {
		cni_err_set(err, CNI_ERR_IO, "open own netns: %s", strerror(errno));
		goto out;
	}
	if (sriov_link_rename(&tmp, l.ifindex, host_name, err) < 0 ||
	    sriov_link_del_altname(&tmp, l.ifindex, ifname, err) < 0)
		goto out;
	if (sriov_link_move(&tmp, l.ifindex, host_fd, NULL, err) < 0) {
		if (tmp.errnum != EEXIST)
			goto out;
		/* Someone took the name meanwhile: let the kernel pick one, DEL finds it by PCI. */
		log_error("\"%s\" is taken in the host netns, the VF comes back as dev%%d",
			  host_name);
		cni_err_clear(err);
		if (sriov_link_move(&tmp, l.ifindex, host_fd, "dev%d", err) < 0)
			goto out;
	}
	ret = 0;
out:
	/* On failure the temporary netns dies with the VF inside: the kernel hands a physical
	 * device back to the host netns by itself. */
	cni_nl_close(&tmp);
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (host_fd >= 0)
		close(host_fd);
	if (ret < 0)
		cni_err_prefix(err, "failed to return \"%s\" to the host", ifname);
	return ret;
}

int sriov_netdev_restore(struct cni_nl *host, const char *cur_name, const char *pod_ifname,
			 const struct sriov_link *orig, sriov_mac_setter set_mac, void *ctx,
			 struct cni_err *err)
{
	static const unsigned char zero_mac[6];
	const unsigned char *mac = orig->mac;
	struct sriov_link l;
	int r = sriov_link_get(host, cur_name, &l, err);

	if (r == 1)
		return cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" not found in the host",
				   cur_name);
	if (r < 0)
		return -1;
	/* A state sriov-cni wrote without its EffectiveMAC knows no MAC: keep the link's. */
	if (!memcmp(orig->mac, zero_mac, 6))
		mac = l.mac;
	/* Never moved (an ADD that failed early): do not flap a link that is as it was. */
	if (!strcmp(l.name, orig->name) && l.mtu == orig->mtu && !memcmp(l.mac, mac, 6) &&
	    l.up == orig->up)
		return 0;
	if (sriov_link_set_up(host, l.ifindex, false, err) < 0)
		return -1;
	if (strcmp(l.name, orig->name) != 0 &&
	    sriov_link_rename(host, l.ifindex, orig->name, err) < 0) {
		if (host->errnum != EEXIST)
			return -1;
		log_error("cannot rename \"%s\" back to \"%s\": the name is taken", l.name,
			  orig->name);
		cni_err_clear(err);
	}
	if (sriov_link_del_altname(host, l.ifindex, pod_ifname, err) < 0)
		return -1;
	if (l.mtu != orig->mtu && orig->mtu &&
	    sriov_link_set_mtu(host, l.ifindex, orig->mtu, err) < 0)
		return -1;
	if (memcmp(l.mac, mac, 6) != 0 &&
	    (set_mac ? set_mac(ctx, host, l.ifindex, mac, err)
		     : sriov_link_set_mac(host, l.ifindex, mac, err)) < 0)
		return -1;
	if (orig->up)
		return sriov_link_set_up(host, l.ifindex, true, err);
	return 0;
}

static int write_sysctls(void *arg, struct cni_err *err)
{
	static const char *const knobs[][2] = { { "ipv4", "arp_notify" },
						{ "ipv6", "ndisc_notify" },
						{ "ipv6", "optimistic_dad" } };
	const char *ifname = arg;

	(void)err;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(*knobs); i++) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", knobs[i][0], ifname,
			 knobs[i][1]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) != 1)
			log_verbose("%s: %s", path, strerror(errno));
		close(fd);
	}
	return 0;
}

void sriov_netdev_notify_sysctls(const char *netns_path, const char *ifname)
{
	struct cni_err e = { 0 };

	if (cni_netns_do(netns_path, write_sysctls, (void *)ifname, &e) < 0)
		log_verbose("sysctls of \"%s\": %s", ifname, e.msg);
	cni_err_clear(&e);
}

/* sriov/vf.c: VF settings on the PF through libnl-route's rtnl_link_vf_* API.
 * Follows sriov-cni pkg/sriov ApplyVFConfig (order, MAC verify-and-retry), working round libnl
 * lib/route/link/sriov.c where it differs from the kernel's IFLA_VF_* contract. */
#include "sriov/vf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

#include "sriov/conf.h"

#define MAC_TRIES    20
#define MAC_RETRY_MS 100

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *proto_name(uint16_t proto)
{
	return proto == SRIOV_VLAN_PROTO_8021AD ? "802.1ad" : "802.1Q";
}

static const char *link_state_name(unsigned s)
{
	static const char *const names[] = { "auto", "enable", "disable" };

	return s < 3 ? names[s] : "unknown";
}

static int get_pf(struct cni_nl *nl, const char *pf, struct rtnl_link **link, struct cni_err *err)
{
	int r;

	cni_nl_reset(nl);
	r = rtnl_link_get_kernel(nl->sk, 0, pf, link);
	if (r < 0 && cni_nl_errno(nl, r) == ENODEV)
		return cni_err_set(err, CNI_ERR_INTERNAL, "failed to lookup master \"%s\": %s", pf,
				   strerror(ENODEV));
	if (r < 0)
		return cni_nl_fail(nl, r, err, "failed to lookup master \"%s\"", pf);
	return 0;
}

static void read_vf(struct rtnl_link_vf *vf, struct sriov_vf_state *st)
{
	struct nl_addr *addr;
	nl_vf_vlans_t *vl;
	struct nl_vf_rate rate;
	uint32_t v;

	memset(st, 0, sizeof(*st));
	st->proto = SRIOV_VLAN_PROTO_8021Q;
	if (rtnl_link_vf_get_addr(vf, &addr) == 0 && nl_addr_get_len(addr) >= 6)
		memcpy(st->mac, nl_addr_get_binary_addr(addr), 6);
	if (rtnl_link_vf_get_vlans(vf, &vl) == 0 && vl) {
		if (vl->size > 0) {
			st->vlan = vl->vlans[0].vf_vlan;
			st->qos = vl->vlans[0].vf_vlan_qos;
			if (vl->vlans[0].vf_vlan_proto)
				st->proto = vl->vlans[0].vf_vlan_proto;
		}
		/* rtnl_link_vf_get_vlans takes a reference */
		rtnl_link_vf_vlan_put(vl);
	}
	st->spoofchk = rtnl_link_vf_get_spoofchk(vf, &v) == 0 ? (int)v : -1;
	st->trust = rtnl_link_vf_get_trust(vf, &v) == 0 ? (int)v : -1;
	if (rtnl_link_vf_get_linkstate(vf, &v) == 0)
		st->link_state = v;
	/* -NLE_NOATTR when both rates are 0; the old API only knows the maximum. */
	if (rtnl_link_vf_get_rate(vf, &rate) == 0) {
		if (rate.api == RTNL_LINK_VF_RATE_API_OLD) {
			st->max_rate = rate.rate;
		} else {
			st->min_rate = rate.min_tx_rate;
			st->max_rate = rate.max_tx_rate;
		}
	}
}

int sriov_vf_read(struct cni_nl *nl, const char *pf, unsigned idx, struct sriov_vf_state *st,
		  struct cni_err *err)
{
	struct rtnl_link *link = NULL;
	struct rtnl_link_vf *vf = NULL;

	if (get_pf(nl, pf, &link, err) < 0)
		return -1;
	/* libnl's rtnl_link_vf_get() (lib/route/link/sriov.c) walks the VF list without checking
	 * that there is one: a PF with no VFs has none. */
	if (rtnl_link_has_vf_list(link))
		vf = rtnl_link_vf_get(link, idx);
	if (!vf) {
		rtnl_link_put(link);
		cni_err_set(err, CNI_ERR_INTERNAL, "failed to find vf %u of PF \"%s\"", idx, pf);
		return -1;
	}
	read_vf(vf, st);
	rtnl_link_vf_put(vf);
	rtnl_link_put(link);
	return 0;
}

/* Sends one RTM_NEWLINK on the PF carrying only vf's attributes. */
static int send_vf(struct cni_nl *nl, const char *pf, struct rtnl_link_vf *vf, struct cni_err *err)
{
	struct rtnl_link *link = NULL, *changes;
	int r;

	if (get_pf(nl, pf, &link, err) < 0)
		return -1;
	/* A fresh link: a clone of the fetched PF would resend every attribute it holds. */
	changes = rtnl_link_alloc();
	if (!changes) {
		rtnl_link_put(link);
		return cni_err_oom(err);
	}
	rtnl_link_vf_add(changes, vf);
	cni_nl_reset(nl);
	r = rtnl_link_change(nl->sk, link, changes, 0);
	rtnl_link_put(changes);
	rtnl_link_put(link);
	return r;
}

static struct rtnl_link_vf *new_vf(unsigned idx)
{
	struct rtnl_link_vf *vf = rtnl_link_vf_alloc();

	if (vf)
		rtnl_link_vf_set_index(vf, idx);
	return vf;
}

static int set_vlan(struct rtnl_link_vf *vf, const struct sriov_vf_state *w)
{
	nl_vf_vlans_t *vl;

	if (rtnl_link_vf_vlan_alloc(&vl, 1) < 0)
		return -1;
	vl->vlans[0].vf_vlan = w->vlan;
	vl->vlans[0].vf_vlan_qos = w->qos;
	/* libnl copies this field into the big-endian vlan_proto of IFLA_VF_VLAN_INFO without
	 * htons (lib/route/link/sriov.c sriov_fill_vf_vlan_list; its parser rtnl_link_vf_vlan_info
	 * applies ntohs), so 0x88a8 would reach the driver as 0xa888. 802.1Q goes out as the
	 * legacy IFLA_VF_VLAN, which has no protocol; anything else must be handed over already
	 * in network order. */
	vl->vlans[0].vf_vlan_proto =
	    w->proto == SRIOV_VLAN_PROTO_8021Q ? SRIOV_VLAN_PROTO_8021Q : htons(w->proto);
	rtnl_link_vf_set_vlans(vf, vl);
	rtnl_link_vf_vlan_put(vl);
	return 0;
}

static int set_mac(struct rtnl_link_vf *vf, const unsigned char mac[6])
{
	struct nl_addr *a = nl_addr_build(AF_LLC, mac, 6);

	if (!a)
		return -1;
	rtnl_link_vf_set_addr(vf, a);
	nl_addr_put(a);
	return 0;
}

/* Builds the one-attribute request for attr; -1 only when out of memory. */
static int fill(struct rtnl_link_vf *vf, unsigned attr, const struct sriov_vf_state *w)
{
	struct nl_vf_rate rate = { .api = RTNL_LINK_VF_RATE_API_NEW };

	switch (attr) {
	case SRIOV_VF_VLAN:
		return set_vlan(vf, w);
	case SRIOV_VF_MAC:
		return set_mac(vf, w->mac);
	case SRIOV_VF_RATE:
		rate.min_tx_rate = w->min_rate;
		rate.max_tx_rate = w->max_rate;
		rtnl_link_vf_set_rate(vf, &rate);
		return 0;
	case SRIOV_VF_SPOOFCHK:
		rtnl_link_vf_set_spoofchk(vf, w->spoofchk > 0);
		return 0;
	case SRIOV_VF_TRUST:
		rtnl_link_vf_set_trust(vf, w->trust > 0);
		return 0;
	default:
		rtnl_link_vf_set_linkstate(vf, w->link_state);
		return 0;
	}
}

static void describe(unsigned attr, const struct sriov_vf_state *w, char *buf, size_t len)
{
	char mac[18];

	switch (attr) {
	case SRIOV_VF_VLAN:
		snprintf(buf, len, "set vlan %u qos %u proto %s", w->vlan, w->qos,
			 proto_name(w->proto));
		break;
	case SRIOV_VF_MAC:
		sriov_mac_format(w->mac, mac);
		snprintf(buf, len, "set mac %s", mac);
		break;
	case SRIOV_VF_RATE:
		snprintf(buf, len, "set min_tx_rate %u max_tx_rate %u", w->min_rate, w->max_rate);
		break;
	case SRIOV_VF_SPOOFCHK:
		snprintf(buf, len, "set spoofchk %s", w->spoofchk > 0 ? "on" : "off");
		break;
	case SRIOV_VF_TRUST:
		snprintf(buf, len, "set trust %s", w->trust > 0 ? "on" : "off");
		break;
	default:
		snprintf(buf, len, "set link_state %s", link_state_name(w->link_state));
		break;
	}
}

static bool same(unsigned attr, const struct sriov_vf_state *c, const struct sriov_vf_state *w)
{
	switch (attr) {
	case SRIOV_VF_VLAN:
		return c->vlan == w->vlan && c->qos == w->qos &&
		       (c->proto == w->proto || (w->vlan == 0 && w->qos == 0));
	case SRIOV_VF_MAC:
		return memcmp(c->mac, w->mac, 6) == 0;
	case SRIOV_VF_RATE:
		return c->min_rate == w->min_rate && c->max_rate == w->max_rate;
	case SRIOV_VF_SPOOFCHK:
		return c->spoofchk >= 0 && (c->spoofchk > 0) == (w->spoofchk > 0);
	case SRIOV_VF_TRUST:
		return c->trust >= 0 && (c->trust > 0) == (w->trust > 0);
	default:
		return c->link_state == w->link_state;
	}
}

static int apply_one(struct cni_nl *nl, const char *pf, unsigned idx, unsigned attr,
		     const struct sriov_vf_state *want, struct cni_err *err)
{
	struct rtnl_link_vf *vf = new_vf(idx);
	char what[96];
	int r;

	if (!vf || fill(vf, attr, want) < 0) {
		rtnl_link_vf_put(vf);
		return cni_err_oom(err);
	}
	r = send_vf(nl, pf, vf, err);
	rtnl_link_vf_put(vf);
	if (r == -1 && cni_err_isset(err))
		return -1;
	if (r < 0) {
		describe(attr, want, what, sizeof(what));
		return cni_nl_fail(nl, r, err, "PF \"%s\" VF %u: %s", pf, idx, what);
	}
	return 0;
}

/* Drivers such as i40e/iavf program the MAC asynchronously or answer EBUSY for a while. */
static int apply_mac(struct cni_nl *nl, const char *pf, unsigned idx,
		     const struct sriov_vf_state *want, struct cni_err *err)
{
	struct sriov_vf_state cur;
	char got[18], wanted[18];

	for (int i = 0; i < MAC_TRIES; i++) {
		cni_err_clear(err);
		if (apply_one(nl, pf, idx, SRIOV_VF_MAC, want, err) < 0 && nl->errnum != EBUSY &&
		    nl->errnum != EAGAIN)
			return -1;
		if (!cni_err_isset(err)) {
			if (sriov_vf_read(nl, pf, idx, &cur, err) < 0)
				return -1;
			if (memcmp(cur.mac, want->mac, 6) == 0)
				return 0;
		}
		sleep_ms(MAC_RETRY_MS);
	}
	if (cni_err_isset(err))
		return -1;
	sriov_mac_format(cur.mac, got);
	sriov_mac_format(want->mac, wanted);
	return cni_err_set(err, CNI_ERR_INTERNAL,
			   "PF \"%s\" VF %u: set mac %s: the PF still reports %s after %d tries",
			   pf, idx, wanted, got, MAC_TRIES);
}

int sriov_vf_apply(struct cni_nl *nl, const char *pf, unsigned idx, unsigned mask,
		   const struct sriov_vf_state *want, unsigned *done, struct cni_err *err)
{
	static const unsigned order[] = { SRIOV_VF_VLAN,     SRIOV_VF_MAC,   SRIOV_VF_RATE,
					  SRIOV_VF_SPOOFCHK, SRIOV_VF_TRUST, SRIOV_VF_LINK_STATE };
	struct sriov_vf_state cur;

	if (done)
		*done = 0;
	if (!mask)
		return 0;
	if (sriov_vf_read(nl, pf, idx, &cur, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		unsigned attr = order[i];
		int r;

		if (!(mask & attr) || same(attr, &cur, want))
			continue;
		r = attr == SRIOV_VF_MAC ? apply_mac(nl, pf, idx, want, err)
					 : apply_one(nl, pf, idx, attr, want, err);
		if (r < 0)
			return -1;
		if (done)
			*done |= attr;
	}
	return 0;
}

int sriov_vf_set_trust(struct cni_nl *nl, const char *pf, unsigned idx, bool on,
		       struct cni_err *err)
{
	struct sriov_vf_state w = { .trust = on };

	return apply_one(nl, pf, idx, SRIOV_VF_TRUST, &w, err);
}

int sriov_vf_compare(const char *pf, unsigned idx, unsigned mask, const struct sriov_vf_state *cur,
		     const struct sriov_vf_state *want, struct cni_err *err)
{
	static const unsigned order[] = { SRIOV_VF_VLAN,     SRIOV_VF_MAC,   SRIOV_VF_RATE,
					  SRIOV_VF_SPOOFCHK, SRIOV_VF_TRUST, SRIOV_VF_LINK_STATE };

	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		char is[96], wanted[96];

		if (!(mask & order[i]) || same(order[i], cur, want))
			continue;
		describe(order[i], cur, is, sizeof(is));
		describe(order[i], want, wanted, sizeof(wanted));
		/* "set vlan 0 ..." reads better as "vlan 0 ...": skip the verb. */
		return cni_err_set(err, CNI_ERR_INTERNAL, "VF %u of PF \"%s\": %s, expected %s",
				   idx, pf, is + 4, wanted + 4);
	}
	return 0;
}

/* cni/ipconfig.c: apply a result's addresses and routes to one link inside a netns (libnl-route).
 * Follows containernetworking/plugins pkg/ipam ConfigureIface (CNI SPEC.md,
 * Section 5 'ADD Success' and Section 4 'Delegated Plugin protocol'). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cni/ipconfig.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "cni/addr.h"
#include "cni/netns.h"
#include "cni/nl.h"

struct addr_plan {
	const char *text; /* ips[].address as given, for messages */
	struct nl_addr *local;
};

/* Present flags because 0 is a real table and scope (libcni pkg/types/100/types.go
 * keeps Interface, Table and Scope as pointers). */
struct route_plan {
	const char *dst_text;
	const char *gw_text; /* the route's gw, or the ips[] gateway it defaulted to */
	struct nl_addr *dst, *gw;
	bool has_mtu, has_advmss, has_priority, has_table, has_scope;
	uint32_t mtu, advmss, priority, table, scope;
};

/* Everything is parsed before entering the netns, so a bad result changes nothing. */
struct plan {
	const char *netns_path, *ifname;
	struct addr_plan *addrs;
	int n_addrs;
	struct route_plan *routes;
	int n_routes;
	/* First gateway of each family among the applied ips[], for routes without gw. */
	struct nl_addr *gw4, *gw6;
	const char *gw4_text, *gw6_text;
};

static const cJSON *get(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	/* libcni omits unset fields, but null is what other writers use for them. */
	return cJSON_IsNull(v) ? NULL : v;
}

/* Parses an IP (cidr false) or IP/prefix (cidr true) as Go's net.ParseIP/ParseCIDR do:
 * nl_addr_parse would also take MAC addresses, "default" and a bare IP where CNI requires CIDR
 * form. The family is the one the text is written in. Returns 0, -EINVAL or -ENOMEM. */
static int parse_ip(const char *text, bool cidr, struct nl_addr **out)
{
	const unsigned char *bytes;
	struct cni_addr a;
	size_t len;

	if (!(cidr ? cni_addr_parse_cidr(text, &a) : cni_addr_parse(text, &a)))
		return -EINVAL;
	bytes = cni_addr_bytes(&a, &len);
	*out = nl_addr_build(cni_addr_family(&a), bytes, len);
	if (!*out)
		return -ENOMEM;
	nl_addr_set_prefixlen(*out, a.prefix >= 0 ? a.prefix : (int)len * 8);
	return 0;
}

/* The one out-of-memory error, naming the interface. */
static int oom(const char *ifname, struct cni_err *err)
{
	cni_err_oom(err);
	return cni_err_prefix(err, "interface \"%s\"", ifname);
}

/* Reads an optional unsigned route field. Returns 0 (absent, or valid and stored) or -1 when
 * present but not an integer in 0..max. */
static int get_uint(const cJSON *obj, const char *key, double max, bool *has, uint32_t *val)
{
	const cJSON *v = get(obj, key);

	*has = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
	    v->valuedouble != (double)(uint32_t)v->valuedouble)
		return -1;
	*has = true;
	*val = (uint32_t)v->valuedouble;
	return 0;
}

/* Returns 1 when ips[i] is for ifname, 0 when it is for another interface, -1 with err set
 * when its index points nowhere. */
static int ip_is_for(const struct plan *p, const cJSON *ip, int i, const cJSON *interfaces,
		     struct cni_err *err)
{
	int n = cJSON_GetArraySize(interfaces);
	const cJSON *idx = get(ip, "interface");
	const cJSON *name;

	/* A delegated IPAM result has neither interfaces[] nor indexes: it is all for ifname. */
	if (n == 0 || !idx)
		return 1;
	if (!cJSON_IsNumber(idx) || idx->valuedouble < 0 || idx->valuedouble >= n ||
	    idx->valuedouble != (double)(int)idx->valuedouble)
		return cni_err_set(
		    err, CNI_ERR_INVALID_CONFIG,
		    "interface \"%s\": ips[%d]: interface index is not one of the %d "
		    "interfaces[]",
		    p->ifname, i, n);
	name = get(cJSON_GetArrayItem(interfaces, idx->valueint), "name");
	return cJSON_IsString(name) && strcmp(name->valuestring, p->ifname) == 0;
}

static int bad_ip(const struct plan *p, int r, const char *what, const char *text,
		  struct cni_err *err)
{
	char *q;

	/* text comes from a plugin's output: quoted so that it cannot forge a message. */
	if (r == -ENOMEM || !(q = cni_quote(text, 256)))
		return oom(p->ifname, err);
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, "interface \"%s\": %s %s is not valid", p->ifname,
		    what, q);
	free(q);
	return -1;
}

static int plan_ips(struct plan *p, const cJSON *ips, const cJSON *interfaces, struct cni_err *err)
{
	const cJSON *ip, *address, *gateway;
	struct addr_plan *a;
	struct nl_addr *gw;
	int i = 0, r;

	p->addrs = calloc((size_t)cJSON_GetArraySize(ips) + 1, sizeof(*p->addrs));
	if (!p->addrs)
		return oom(p->ifname, err);
	cJSON_ArrayForEach(ip, ips)
	{
		address = get(ip, "address");
		if (!cJSON_IsString(address))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "interface \"%s\": ips[%d] has no address", p->ifname,
					   i);
		r = ip_is_for(p, ip, i++, interfaces, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		a = &p->addrs[p->n_addrs++];
		a->text = address->valuestring;
		r = parse_ip(a->text, true, &a->local);
		if (r < 0)
			return bad_ip(p, r, "address", a->text, err);

		gateway = get(ip, "gateway");
		if (!gateway)
			continue;
		if (!cJSON_IsString(gateway))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "interface \"%s\": gateway of %s is not a string",
					   p->ifname, a->text);
		r = parse_ip(gateway->valuestring, false, &gw);
		if (r < 0)
			return bad_ip(p, r, "gateway", gateway->valuestring, err);
		if (nl_addr_get_family(gw) == AF_INET && !p->gw4) {
			p->gw4 = gw;
			p->gw4_text = gateway->valuestring;
		} else if (nl_addr_get_family(gw) == AF_INET6 && !p->gw6) {
			p->gw6 = gw;
			p->gw6_text = gateway->valuestring;
		} else {
			nl_addr_put(gw);
		}
	}
	return 0;
}

static int plan_route(struct plan *p, const cJSON *route, int i, struct cni_err *err)
{
	struct route_plan *rp = &p->routes[p->n_routes++];
	const cJSON *dst = get(route, "dst"), *gw = get(route, "gw");
	int r;

	if (!cJSON_IsString(dst))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": routes[%d] has no dst", p->ifname, i);
	rp->dst_text = dst->valuestring;
	r = parse_ip(rp->dst_text, true, &rp->dst);
	if (r < 0)
		return bad_ip(p, r, "route dst", rp->dst_text, err);

	if (gw && !cJSON_IsString(gw))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": gw of route %s is not a string", p->ifname,
				   rp->dst_text);
	if (gw) {
		rp->gw_text = gw->valuestring;
		r = parse_ip(rp->gw_text, false, &rp->gw);
		if (r < 0)
			return bad_ip(p, r, "route gw", rp->gw_text, err);
		if (nl_addr_get_family(rp->gw) != nl_addr_get_family(rp->dst))
			return cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "interface \"%s\": route %s via %s mixes address families", p->ifname,
			    rp->dst_text, rp->gw_text);
	} else if (nl_addr_get_family(rp->dst) == AF_INET && p->gw4) {
		rp->gw = nl_addr_get(p->gw4);
		rp->gw_text = p->gw4_text;
	} else if (nl_addr_get_family(rp->dst) == AF_INET6 && p->gw6) {
		rp->gw = nl_addr_get(p->gw6);
		rp->gw_text = p->gw6_text;
	}

	if (get_uint(route, "mtu", UINT32_MAX, &rp->has_mtu, &rp->mtu) ||
	    get_uint(route, "advmss", UINT32_MAX, &rp->has_advmss, &rp->advmss) ||
	    get_uint(route, "priority", UINT32_MAX, &rp->has_priority, &rp->priority) ||
	    get_uint(route, "table", UINT32_MAX, &rp->has_table, &rp->table) ||
	    get_uint(route, "scope", UINT8_MAX, &rp->has_scope, &rp->scope))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": route %s: mtu, advmss, priority, table and "
				   "scope must be unsigned integers (scope at most 255)",
				   p->ifname, rp->dst_text);
	return 0;
}

static int plan_build(struct plan *p, const cJSON *result, struct cni_err *err)
{
	const cJSON *interfaces, *ips, *routes, *route;
	int i = 0;

	if (!cJSON_IsObject(result))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": result is not a JSON object", p->ifname);
	interfaces = get(result, "interfaces");
	ips = get(result, "ips");
	routes = get(result, "routes");
	if ((interfaces && !cJSON_IsArray(interfaces)) || (ips && !cJSON_IsArray(ips)) ||
	    (routes && !cJSON_IsArray(routes)))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": result interfaces, ips and routes must be "
				   "arrays",
				   p->ifname);
	if (plan_ips(p, ips, interfaces, err) < 0)
		return -1;

	p->routes = calloc((size_t)cJSON_GetArraySize(routes) + 1, sizeof(*p->routes));
	if (!p->routes)
		return oom(p->ifname, err);
	cJSON_ArrayForEach(route, routes)
	{
		if (plan_route(p, route, i++, err) < 0)
			return -1;
	}
	return 0;
}

static void plan_free(struct plan *p)
{
	int i;

	for (i = 0; i < p->n_addrs; i++)
		nl_addr_put(p->addrs[i].local);
	for (i = 0; i < p->n_routes; i++) {
		nl_addr_put(p->routes[i].dst);
		nl_addr_put(p->routes[i].gw);
	}
	free(p->addrs);
	free(p->routes);
	nl_addr_put(p->gw4);
	nl_addr_put(p->gw6);
}

static int add_addr(const struct plan *p, struct cni_nl *nl, int ifindex, const struct addr_plan *a,
		    struct cni_err *err)
{
	struct rtnl_addr *addr = rtnl_addr_alloc();
	int r;

	cni_nl_reset(nl);
	if (!addr)
		return oom(p->ifname, err);
	rtnl_addr_set_ifindex(addr, ifindex);
	r = rtnl_addr_set_local(addr, a->local);
	/* EXCL: an address already there is an error, as in ConfigureIface. */
	if (r == 0)
		r = rtnl_addr_add(nl->sk, addr, NLM_F_EXCL);
	rtnl_addr_put(addr);
	if (r < 0)
		return cni_nl_fail(nl, r, err, "interface \"%s\": add address %s", p->ifname,
				   a->text);
	return 0;
}

static int add_route(const struct plan *p, struct cni_nl *nl, int ifindex,
		     const struct route_plan *rp, struct cni_err *err)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	int r;

	cni_nl_reset(nl);
	if (!route || !nh) {
		rtnl_route_put(route);
		if (nh)
			rtnl_route_nh_free(nh);
		return oom(p->ifname, err);
	}
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (rp->gw)
		rtnl_route_nh_set_gateway(nh, rp->gw);
	rtnl_route_add_nexthop(route, nh); /* the route owns nh from here on */
	rtnl_route_set_family(route, (uint8_t)nl_addr_get_family(rp->dst));
	/* What `ip route add` and the Go reference plugins use. */
	rtnl_route_set_protocol(route, RTPROT_BOOT);
	r = rtnl_route_set_dst(route, rp->dst);
	if (rp->has_table)
		rtnl_route_set_table(route, rp->table);
	if (rp->has_scope)
		rtnl_route_set_scope(route, (uint8_t)rp->scope);
	if (rp->has_priority)
		rtnl_route_set_priority(route, rp->priority);
	if (r == 0 && rp->has_mtu)
		r = rtnl_route_set_metric(route, RTAX_MTU, rp->mtu);
	if (r == 0 && rp->has_advmss)
		r = rtnl_route_set_metric(route, RTAX_ADVMSS, rp->advmss);
	if (r == 0)
		r = rtnl_route_add(nl->sk, route, NLM_F_EXCL);
	rtnl_route_put(route);
	/* The first route wins, like ConfigureIface: a duplicate is not an error. */
	if (r == 0 || nl->errnum == EEXIST)
		return 0;
	return cni_nl_fail(nl, r, err, "interface \"%s\": add route %s%s%s", p->ifname,
			   rp->dst_text, rp->gw ? " via " : "", rp->gw ? rp->gw_text : "");
}

/* Runs inside the target netns: the socket must be created here, since a netlink socket
 * talks to the namespace it was created in. */
static int apply_in_netns(void *arg, struct cni_err *err)
{
	const struct plan *p = arg;
	struct rtnl_link *link = NULL, *change = NULL;
	struct cni_nl nl = { 0 };
	int i, r, ifindex, ret = -1;

	if (cni_nl_open(&nl, NETLINK_ROUTE, err) < 0)
		return cni_err_prefix(err, "interface \"%s\"", p->ifname);
	change = rtnl_link_alloc();
	if (!change) {
		oom(p->ifname, err);
		goto out;
	}
	r = rtnl_link_get_kernel(nl.sk, 0, p->ifname, &link);
	if (r < 0 && cni_nl_errno(&nl, r) == ENODEV) {
		cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" not found in netns %s",
			    p->ifname, p->netns_path);
		goto out;
	}
	if (r < 0) {
		cni_nl_fail(&nl, r, err, "interface \"%s\": look up link", p->ifname);
		goto out;
	}
	ifindex = rtnl_link_get_ifindex(link);

	rtnl_link_set_flags(change, IFF_UP);
	cni_nl_reset(&nl);
	r = rtnl_link_change(nl.sk, link, change, 0);
	if (r < 0) {
		cni_nl_fail(&nl, r, err, "interface \"%s\": set link up", p->ifname);
		goto out;
	}
	for (i = 0; i < p->n_addrs; i++) {
		if (add_addr(p, &nl, ifindex, &p->addrs[i], err) < 0)
			goto out;
	}
	for (i = 0; i < p->n_routes; i++) {
		if (add_route(p, &nl, ifindex, &p->routes[i], err) < 0)
			goto out;
	}
	ret = 0;
out:
	rtnl_link_put(change);
	rtnl_link_put(link);
	cni_nl_close(&nl);
	return ret;
}

int cni_ipconfig_apply(const char *netns_path, const char *ifname, const cJSON *result,
		       struct cni_err *err)
{
	struct plan p = { .netns_path = netns_path, .ifname = ifname };
	int ret;

	/* libcni pkg/utils ValidateInterfaceName: reject, never truncate. */
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return cni_err_set(err, CNI_ERR_INVALID_ENV,
				   "interface name \"%s\" must be 1 to %d bytes",
				   ifname ? ifname : "", IFNAMSIZ - 1);
	ret = plan_build(&p, result, err);
	if (ret == 0)
		ret = cni_netns_do(netns_path, apply_in_netns, &p, err);
	plan_free(&p);
	return ret < 0 ? -1 : 0;
}

struct default_route {
	const char *netns_path, *ifname;
	int family;
	struct nl_addr *gw;
	const char *gw_text;
};

struct route_del {
	struct nl_sock *sk;
	int ifindex, failed;
};

static void del_if_default(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct route_del *d = arg;
	struct nl_addr *dst = rtnl_route_get_dst(r);
	struct rtnl_nexthop *nh;

	if (rtnl_route_get_table(r) != RT_TABLE_MAIN || (dst && nl_addr_get_prefixlen(dst) != 0))
		return;
	nh = rtnl_route_nexthop_n(r, 0);
	if (!nh || rtnl_route_nh_get_ifindex(nh) != d->ifindex)
		return;
	if (rtnl_route_delete(d->sk, r, 0) < 0)
		d->failed++;
}

static int default_route_in_netns(void *arg, struct cni_err *err)
{
	const struct default_route *dr = arg;
	struct plan p = { .netns_path = dr->netns_path, .ifname = dr->ifname };
	struct nl_cache *cache = NULL;
	struct cni_nl nl = { 0 };
	struct route_del d = { 0 };
	int r, ret = -1;

	if (cni_nl_open(&nl, NETLINK_ROUTE, err) < 0)
		return cni_err_prefix(err, "interface \"%s\"", dr->ifname);
	d.sk = nl.sk;
	d.ifindex = (int)if_nametoindex(dr->ifname);
	if (!d.ifindex) {
		cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" not found in netns %s",
			    dr->ifname, dr->netns_path);
		goto out;
	}
	r = rtnl_route_alloc_cache(nl.sk, dr->family, 0, &cache);
	if (r < 0) {
		cni_nl_fail(&nl, r, err, "interface \"%s\": list routes", dr->ifname);
		goto out;
	}
	nl_cache_foreach(cache, del_if_default, &d);
	if (d.failed) {
		cni_err_set(err, CNI_ERR_INTERNAL,
			    "interface \"%s\": cannot delete its default route", dr->ifname);
		goto out;
	}
	if (dr->gw) {
		struct route_plan rp = { 0 };
		struct nl_addr *any = NULL;

		if (nl_addr_parse(dr->family == AF_INET ? "0.0.0.0/0" : "::/0", dr->family, &any) <
		    0) {
			cni_err_oom(err);
			goto out;
		}
		rp.dst = any;
		rp.dst_text = dr->family == AF_INET ? "0.0.0.0/0" : "::/0";
		rp.gw = dr->gw;
		rp.gw_text = dr->gw_text;
		r = add_route(&p, &nl, d.ifindex, &rp, err);
		nl_addr_put(any);
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	nl_cache_free(cache);
	cni_nl_close(&nl);
	return ret;
}

int cni_ipconfig_set_default_route(const char *netns_path, const char *ifname, int family,
				   const char *gw, struct cni_err *err)
{
	struct default_route dr = { netns_path, ifname, family, NULL, gw };
	int ret;

	if (gw && (parse_ip(gw, false, &dr.gw) < 0 || nl_addr_get_family(dr.gw) != family)) {
		nl_addr_put(dr.gw);
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "interface \"%s\": default route gateway \"%s\" is not an IPv%d "
				   "address",
				   ifname, gw, family == AF_INET ? 4 : 6);
	}
	ret = cni_netns_do(netns_path, default_route_in_netns, &dr, err);
	nl_addr_put(dr.gw);
	return ret;
}

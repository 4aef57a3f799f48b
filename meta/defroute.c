/* meta/defroute.c: default-route requests: checks, per-attachment decisions, result edits.
 * Follows Multus pkg/multus/multus.go cmdAdd and pkg/netutils (ECMP refused; requested gateways
 * replace an interface's default route; other interfaces lose theirs), without its #1011 bug
 * and its "::/0" string-match bug. */
#include "meta/defroute.h"

#include <string.h>
#include <sys/socket.h>

#include "cni/addr.h"
#include "cni/json.h"

/* The family a default-route entry is written in (net.ParseIP, as Multus parses it), 0 when it
 * is not an address. */
static int ip_family(const char *s)
{
	struct cni_addr a;

	return cni_addr_parse(s, &a) ? cni_addr_family(&a) : 0;
}

int meta_defroute_check(const struct meta_plan *plan, struct cni_err *err)
{
	int v4 = 0, v6 = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const cJSON *g;

		cJSON_ArrayForEach(g, plan->att[i].gateways)
		{
			int f = cJSON_IsString(g) ? ip_family(g->valuestring) : 0;

			if (!f)
				return cni_err_set(
				    err, CNI_ERR_INVALID_CONFIG,
				    "network \"%s\": default-route entry is not an IP "
				    "address",
				    plan->att[i].status_name);
			v4 += f == AF_INET;
			v6 += f == AF_INET6;
		}
	}
	if (v4 > 1 || v6 > 1)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "multus does not support ECMP for default-route");
	return 0;
}

static const char *gateway_of(const struct meta_attachment *a, int family)
{
	const cJSON *g;

	cJSON_ArrayForEach(g, a->gateways)
	{
		if (cJSON_IsString(g) && ip_family(g->valuestring) == family)
			return g->valuestring;
	}
	return NULL;
}

void meta_defroute_for(const struct meta_plan *plan, size_t i, int family, const char **gw,
		       bool *filter)
{
	bool requested_elsewhere = false;

	*gw = gateway_of(&plan->att[i], family);
	for (size_t k = 0; k < plan->n; k++)
		if (k != i && gateway_of(&plan->att[k], family))
			requested_elsewhere = true;
	*filter = !*gw && requested_elsewhere;
}

/* dst of prefix length 0 in family */
static bool is_default(const cJSON *route, int family)
{
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(route, "dst");
	char addr[64];
	const char *slash;

	if (!cJSON_IsString(dst))
		return false;
	slash = strchr(dst->valuestring, '/');
	if (!slash || strcmp(slash, "/0") != 0 ||
	    (size_t)(slash - dst->valuestring) >= sizeof(addr))
		return false;
	memcpy(addr, dst->valuestring, (size_t)(slash - dst->valuestring));
	addr[slash - dst->valuestring] = '\0';
	return ip_family(addr) == family;
}

static int edit_routes(cJSON *parent, const char *key, int family, const char *gw)
{
	cJSON *routes = cJSON_GetObjectItemCaseSensitive(parent, key), *r, *next;

	for (r = cJSON_IsArray(routes) ? routes->child : NULL; r; r = next) {
		next = r->next;
		if (is_default(r, family))
			cJSON_Delete(cJSON_DetachItemViaPointer(routes, r));
	}
	if (!gw)
		return 0;
	if (!cJSON_IsArray(routes)) {
		routes = cJSON_CreateArray();
		if (!routes || cni_json_set(parent, key, routes) < 0)
			return -1;
	}
	r = cJSON_CreateObject();
	if (!r || !cJSON_AddStringToObject(r, "dst", family == AF_INET ? "0.0.0.0/0" : "::/0") ||
	    !cJSON_AddStringToObject(r, "gw", gw)) {
		cJSON_Delete(r);
		return -1;
	}
	cJSON_AddItemToArray(routes, r);
	return 0;
}

int meta_defroute_result(cJSON *result, int family, const char *gw)
{
	cJSON *ipx = cJSON_GetObjectItemCaseSensitive(result, family == AF_INET ? "ip4" : "ip6");

	/* 0.1.0/0.2.0 results keep routes per family */
	if (cJSON_IsObject(ipx))
		return edit_routes(ipx, "routes", family, gw);
	return edit_routes(result, "routes", family, gw);
}

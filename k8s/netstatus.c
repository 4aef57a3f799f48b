/* k8s/netstatus.c: network-status entries from delegate results, and the annotation text.
 * Follows the NAD client's pkg/utils/net-attach-def.go CreateNetworkStatuses and
 * SetNetworkStatus (json.MarshalIndent of each entry). */
#include "k8s/netstatus.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/result.h"

/* --- network-status -------------------------------------------------------------------- */

/* "10.1.1.5/24" -> "10.1.1.5" */
static cJSON *ip_without_prefix(const char *cidr)
{
	const char *slash = strchr(cidr, '/');
	char *ip = strndup(cidr, slash ? (size_t)(slash - cidr) : strlen(cidr));
	cJSON *s = ip ? cJSON_CreateString(ip) : NULL;

	free(ip);
	return s;
}

/* The NAD client's isDefaultRoute: the destination address is 0.0.0.0 or :: (whatever the
 * prefix length). */
static bool default_route(const cJSON *route)
{
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(route, "dst");
	unsigned char buf[16];
	char addr[64];
	const char *slash;
	size_t n;

	if (!cJSON_IsString(dst))
		return true;
	slash = strchr(dst->valuestring, '/');
	n = slash ? (size_t)(slash - dst->valuestring) : strlen(dst->valuestring);
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, dst->valuestring, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		return memcmp(buf, "\0\0\0\0", 4) == 0;
	if (inet_pton(AF_INET6, addr, buf) != 1)
		return false;
	if (memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\xff\xff\0\0\0\0", 16) == 0)
		return true;
	for (int i = 0; i < 16; i++)
		if (buf[i])
			return false;
	return true;
}

static cJSON *gateways(const cJSON *result)
{
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(result, "routes"), *r;
	cJSON *gws = NULL;

	cJSON_ArrayForEach(r, routes)
	{
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(r, "gw");

		if (!default_route(r) || !cJSON_IsString(gw))
			continue;
		if (!gws && !(gws = cJSON_CreateArray()))
			return NULL;
		cJSON_AddItemToArray(gws, cJSON_CreateString(gw->valuestring));
	}
	return gws;
}

/* The NAD client's v1.DNS: nameservers, domain, search, options, each omitted when empty. */
static cJSON *dns_of(const cJSON *result)
{
	static const char *const keys[] = { "nameservers", "domain", "search", "options" };
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(result, "dns");
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(dns, keys[i]);

		if ((cJSON_IsString(v) && v->valuestring[0]) ||
		    (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0))
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
	}
	return o;
}

/* device-info-spec fields in the NAD client's DeviceInfo order; unknown keys dropped, as its
 * unmarshal into a struct drops them. */
static cJSON *device_info_copy(const cJSON *dev)
{
	static const struct {
		const char *sub;
		const char *keys[7];
	} subs[] = {
		{ "pci",
		  { "pci-address", "vhost-net", "rdma-device", "pf-pci-address",
		    "representor-device" } },
		{ "vdpa",
		  { "parent-device", "driver", "path", "pci-address", "pf-pci-address",
		    "representor-device" } },
		{ "vhost-user", { "mode", "path" } },
		{ "memif", { "role", "path", "mode" } },
	};
	cJSON *o = cJSON_CreateObject();
	const cJSON *v;

	if (!o)
		return NULL;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(dev, "type")) && v->valuestring[0])
		cJSON_AddStringToObject(o, "type", v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(dev, "version")) &&
	    v->valuestring[0])
		cJSON_AddStringToObject(o, "version", v->valuestring);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(dev, subs[i].sub);
		cJSON *sub;

		if (!cJSON_IsObject(in))
			continue;
		sub = cJSON_AddObjectToObject(o, subs[i].sub);
		for (size_t k = 0; sub && subs[i].keys[k]; k++) {
			v = cJSON_GetObjectItemCaseSensitive(in, subs[i].keys[k]);
			if (cJSON_IsString(v) && v->valuestring[0])
				cJSON_AddStringToObject(sub, subs[i].keys[k], v->valuestring);
		}
	}
	return o;
}

struct entry {
	const char *ifname, *mac;
	double mtu;
	bool is_default;
	cJSON *ips; /* owned until assembled */
};

/* One status object with the NAD client's field order. */
static cJSON *assemble(const char *name, struct entry *e, const cJSON *result, const cJSON *gws,
		       const cJSON *device_info)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", name);
	if (e->ifname && e->ifname[0])
		cJSON_AddStringToObject(o, "interface", e->ifname);
	if (e->ips && cJSON_GetArraySize(e->ips) > 0) {
		cJSON_AddItemToObject(o, "ips", e->ips);
		e->ips = NULL;
	}
	if (e->mac && e->mac[0])
		cJSON_AddStringToObject(o, "mac", e->mac);
	if (e->mtu != 0)
		cJSON_AddNumberToObject(o, "mtu", e->mtu);
	if (e->is_default)
		cJSON_AddBoolToObject(o, "default", true);
	cJSON_AddItemToObject(o, "dns", dns_of(result));
	if (device_info)
		cJSON_AddItemToObject(o, "device-info", device_info_copy(device_info));
	if (gws)
		cJSON_AddItemToObject(o, "gateway", cJSON_Duplicate(gws, 1));
	cJSON_Delete(e->ips);
	e->ips = NULL;
	return o;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_sandbox(const cJSON *iface)
{
	const char *sb = str_of(iface, "sandbox");

	return sb && sb[0];
}

static void entry_from_iface(struct entry *e, const cJSON *iface)
{
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(iface, "mtu");

	e->ifname = str_of(iface, "name");
	e->mac = str_of(iface, "mac");
	e->mtu = cJSON_IsNumber(mtu) ? mtu->valuedouble : 0;
}

int k8s_network_status_append(cJSON *statuses, const char *name, bool is_default,
			      const cJSON *result, const cJSON *device_info, struct cni_err *err)
{
	cJSON *r = cni_result_convert(result, "1.1.0", err), *gws = NULL;
	const cJSON *ifaces, *ips, *ip, *iface;
	struct entry *ent = NULL;
	size_t nifaces, nent = 0;
	int *map = NULL, gw_idx = -1, i, ret = -1;

	if (!r)
		return -1;
	ifaces = cJSON_GetObjectItemCaseSensitive(r, "interfaces");
	ips = cJSON_GetObjectItemCaseSensitive(r, "ips");
	nifaces = (size_t)cJSON_GetArraySize(ifaces);
	gws = gateways(r);
	if (nifaces == 1) {
		struct entry e = { .is_default = is_default, .ips = cJSON_CreateArray() };
		cJSON *o;

		iface = cJSON_GetArrayItem(ifaces, 0);
		if (has_sandbox(iface))
			entry_from_iface(&e, iface);
		cJSON_ArrayForEach(ip, ips)
		{
			cJSON_AddItemToArray(e.ips, ip_without_prefix(str_of(ip, "address")));
		}
		o = assemble(name, &e, r, gws, device_info);
		if (!o || !cJSON_AddItemToArray(statuses, o))
			goto oom;
		ret = 1;
		goto out;
	}
	ent = calloc(nifaces ? nifaces : 1, sizeof(*ent));
	map = calloc(nifaces ? nifaces : 1, sizeof(*map));
	if (!ent || !map)
		goto oom;
	if (is_default) {
		cJSON_ArrayForEach(ip, ips)
		{
			const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");

			if (str_of(ip, "gateway") && cJSON_IsNumber(idx)) {
				gw_idx = idx->valueint;
				break;
			}
		}
	}
	i = 0;
	cJSON_ArrayForEach(iface, ifaces)
	{
		map[i] = -1;
		if (has_sandbox(iface)) {
			struct entry *e = &ent[nent];

			entry_from_iface(e, iface);
			/* An IP's gateway names the default interface; else the first one is. */
			e->is_default = is_default && (gw_idx == -1 ? nent == 0 : gw_idx == i);
			e->ips = cJSON_CreateArray();
			if (!e->ips)
				goto oom;
			map[i] = (int)nent++;
		}
		i++;
	}
	cJSON_ArrayForEach(ip, ips)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		struct entry *to = NULL;

		if (cJSON_IsNumber(idx)) {
			if (idx->valueint >= 0 && (size_t)idx->valueint < nifaces &&
			    map[idx->valueint] >= 0)
				to = &ent[map[idx->valueint]];
		} else if (nent) {
			to = &ent[nent - 1];
		}
		if (to)
			cJSON_AddItemToArray(to->ips, ip_without_prefix(str_of(ip, "address")));
	}
	for (size_t k = 0; k < nent; k++) {
		cJSON *o = assemble(name, &ent[k], r, gws, device_info);

		if (!o || !cJSON_AddItemToArray(statuses, o))
			goto oom;
	}
	ret = (int)nent;
	goto out;
oom:
	cni_err_oom(err);
out:
	for (size_t k = 0; ent && k < nifaces; k++)
		cJSON_Delete(ent[k].ips);
	free(ent);
	free(map);
	cJSON_Delete(gws);
	cJSON_Delete(r);
	return ret;
}

/* Go's json.Indent(dst, compact, "", "    "). */
static void indent(FILE *f, const char *s)
{
	int depth = 0;
	bool need = false, in_str = false;

	for (; *s; s++) {
		char c = *s;

		if (in_str) {
			fputc(c, f);
			if (c == '\\' && s[1])
				fputc(*++s, f);
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (need && c != ']' && c != '}') {
			need = false;
			depth++;
			fputc('\n', f);
			for (int k = 0; k < depth; k++)
				fputs("    ", f);
		}
		switch (c) {
		case '"':
			in_str = true;
			fputc(c, f);
			break;
		case '{':
		case '[':
			need = true;
			fputc(c, f);
			break;
		case ',':
			fputc(c, f);
			fputc('\n', f);
			for (int k = 0; k < depth; k++)
				fputs("    ", f);
			break;
		case ':':
			fputs(": ", f);
			break;
		case '}':
		case ']':
			if (need) {
				need = false;
			} else {
				depth--;
				fputc('\n', f);
				for (int k = 0; k < depth; k++)
					fputs("    ", f);
			}
			fputc(c, f);
			break;
		default:
			fputc(c, f);
		}
	}
}

char *k8s_network_status_render(const cJSON *statuses)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const cJSON *e;
	bool first = true;

	if (!f)
		return NULL;
	fputc('[', f);
	cJSON_ArrayForEach(e, statuses)
	{
		char *compact = cni_json_print_go(e, false);

		if (!compact) {
			fclose(f);
			free(buf);
			return NULL;
		}
		if (!first)
			fputc(',', f);
		first = false;
		indent(f, compact);
		free(compact);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

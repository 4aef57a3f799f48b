/* meta/multuscache.c: Multus's per-container cache, read for DEL and written beside the plan.
 * Follows Multus pkg/multus/multus.go (saveDelegates, CmdDel, getIfname) and the JSON Go's
 * encoding/json gives pkg/types DelegateNetConf (field order, base64 Bytes, omitempty). */
#include "meta/multuscache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/base64.h"
#include "cni/buf.h"
#include "cni/config.h"
#include "cni/file.h"
#include "cni/json.h"

/* Multus writes a few KiB per pod; anything near this is not its cache. */
#define MULTUS_CACHE_MAX_BYTES (16u << 20)

char *meta_multus_cache_path(const char *cni_dir, const char *container_id)
{
	char *p = NULL;

	return asprintf(&p, "%s/%s", cni_dir, container_id) < 0 ? NULL : p;
}

static int opt_str(const cJSON *o, const char *k, const char **out, const char *path,
		   struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return cni_err_set(err, CNI_ERR_DECODE, "Multus cache %s: \"%s\" must be a string",
				   path, k);
	*out = *v->valuestring ? v->valuestring : NULL;
	return 0;
}

static char *dup_opt(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*oom = true;
	return d;
}

/* ipRequest (a JSON array of strings) as the IP=a,b value Multus sends. */
static int ip_request(const cJSON *o, char **out, const char *path, struct cni_err *err)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(o, "ipRequest"), *ip;
	struct cni_buf b;
	int st = 0;

	*out = NULL;
	if (!ips || cJSON_IsNull(ips) || !ips->child)
		return 0;
	cni_buf_init(&b, MULTUS_CACHE_MAX_BYTES, false);
	cJSON_ArrayForEach(ip, ips)
	{
		if (!cJSON_IsString(ip)) {
			cni_buf_free(&b);
			return cni_err_set(err, CNI_ERR_DECODE,
					   "Multus cache %s: \"ipRequest\" must be an array of "
					   "strings",
					   path);
		}
		st |= cni_buf_printf(&b, "%s%s", ip == ips->child ? "" : ",", ip->valuestring);
	}
	/* a failed append sticks in b: take then gives NULL */
	*out = st == 0 ? cni_buf_take(&b, NULL) : NULL;
	if (!*out) {
		cni_buf_free(&b);
		return cni_err_oom(err);
	}
	return 0;
}

/* Multus types.CreateCNIRuntimeConf: a copy of the runtimeConfig, and for any delegate but the
 * master its own requests on top. */
static int cap_args_for(struct meta_attachment *a, const struct meta_netconf *nc, const cJSON *o)
{
	static const char *const req_keys[][2] = { { "macRequest", "mac" },
						   { "infinibandGUIDRequest", "infinibandGUID" },
						   { "deviceID", "deviceID" } };
	cJSON *cap = meta_runtime_cap_args(nc->runtime_config);
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(o, "ipRequest");

	if (!cap)
		return -1;
	for (size_t k = 0; !a->master && k < sizeof(req_keys) / sizeof(req_keys[0]); k++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, req_keys[k][0]);

		if (cJSON_IsString(v) && *v->valuestring &&
		    cni_json_set(cap, req_keys[k][1], cJSON_CreateString(v->valuestring)) < 0)
			goto oom;
	}
	if (!a->master && cJSON_IsArray(ips) && ips->child &&
	    cni_json_set(cap, "ips", cJSON_Duplicate(ips, true)) < 0)
		goto oom;
	if (!cap->child) {
		cJSON_Delete(cap);
		cap = NULL;
	}
	a->cap_args = cap;
	return 0;
oom:
	cJSON_Delete(cap);
	return -1;
}

static int add_delegate(struct meta_plan *plan, const cJSON *o, const struct meta_netconf *nc,
			const char *path, struct cni_err *err)
{
	const char *b64 = NULL, *name, *ifreq, *mac, *dev, *res;
	struct meta_attachment *a;
	size_t len = 0;
	char *bytes, *ips = NULL;
	bool oom = false;

	if (!cJSON_IsObject(o))
		return cni_err_set(err, CNI_ERR_DECODE,
				   "Multus cache %s: delegate %zu is not an object", path, plan->n);
	if (opt_str(o, "Bytes", &b64, path, err) < 0 || opt_str(o, "Name", &name, path, err) < 0 ||
	    opt_str(o, "ifnameRequest", &ifreq, path, err) < 0 ||
	    opt_str(o, "macRequest", &mac, path, err) < 0 ||
	    opt_str(o, "deviceID", &dev, path, err) < 0 ||
	    opt_str(o, "resourceName", &res, path, err) < 0 || ip_request(o, &ips, path, err) < 0)
		return -1;
	bytes = b64 ? cni_base64_decode(b64, &len) : NULL;
	if (!bytes) {
		free(ips);
		return cni_err_set(err, CNI_ERR_DECODE,
				   "Multus cache %s: delegate %zu has no base64 \"Bytes\"", path,
				   plan->n);
	}
	if (meta_plan_add(plan, bytes, len, ifreq, err) < 0) {
		free(bytes);
		free(ips);
		return cni_err_prefix(err, "Multus cache %s", path);
	}
	free(bytes);
	a = &plan->att[plan->n - 1];
	a->ip_request = ips;
	a->mac_request = dup_opt(mac, &oom);
	a->device_id = dup_opt(dev, &oom);
	a->resource_name = dup_opt(res, &oom);
	if (name) {
		free(a->status_name);
		a->status_name = dup_opt(name, &oom);
	}
	if (oom || cap_args_for(a, nc, o) < 0)
		return cni_err_oom(err);
	return 0;
}

int meta_multus_cache_read(const char *path, const struct meta_netconf *nc, struct meta_plan *plan,
			   struct cni_err *err)
{
	const cJSON *o;
	cJSON *j;
	int ret = cni_read_json(path, MULTUS_CACHE_MAX_BYTES, CNI_FILE_NOFOLLOW, &j, err);

	if (ret <= 0)
		return ret;
	if (!cJSON_IsArray(j) || !j->child) {
		cJSON_Delete(j);
		return cni_err_set(err, CNI_ERR_DECODE,
				   "Multus cache %s: not a non-empty array of delegates", path);
	}
	cJSON_ArrayForEach(o, j)
	{
		if (add_delegate(plan, o, nc, path, err) < 0) {
			ret = -1;
			break;
		}
	}
	cJSON_Delete(j);
	return ret;
}

/* types.NetConf as Go marshals it: cniVersion, name, type (omitempty), capabilities, and ipam
 * (a struct: always there, its type omitempty). */
static cJSON *go_netconf(const cJSON *plugin, const char *name, const char *version)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(plugin, "type");
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(plugin, "capabilities");
	const cJSON *ipam = cJSON_GetObjectItemCaseSensitive(plugin, "ipam");
	const cJSON *ipam_type = cJSON_GetObjectItemCaseSensitive(ipam, "type");
	cJSON *o = cJSON_CreateObject(), *io;
	bool ok = o &&
		  (!version || !*version || cJSON_AddStringToObject(o, "cniVersion", version)) &&
		  (!name || !*name || cJSON_AddStringToObject(o, "name", name)) &&
		  (!cJSON_IsString(type) || !*type->valuestring ||
		   cJSON_AddStringToObject(o, "type", type->valuestring));

	if (ok && cJSON_IsObject(caps) && caps->child)
		ok = cJSON_AddItemToObject(o, "capabilities", cJSON_Duplicate(caps, true));
	ok = ok && (io = cJSON_AddObjectToObject(o, "ipam")) != NULL &&
	     (!cJSON_IsString(ipam_type) || !*ipam_type->valuestring ||
	      cJSON_AddStringToObject(io, "type", ipam_type->valuestring));
	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* Conf and ConfList of a delegate: Multus's DEL tells a conflist by a non-empty
 * ConfList.plugins, and rewrites Bytes from ConfList when its cniVersion is empty (losing the
 * plugins' own keys), so a conflist always carries the version it ran with. */
static int add_confs(cJSON *o, const struct meta_attachment *a, const char *plan_version)
{
	struct cni_err e = { 0 };
	struct cni_conflist list;
	cJSON *conf = NULL, *cl = NULL, *plugins;
	const char *v;
	bool ok;

	if (cni_conflist_parse(a->config, a->config_len, &list, &e) < 0) {
		cni_err_clear(&e);
		return -1;
	}
	v = *list.cni_version ? list.cni_version : plan_version;
	if (!list.is_list) {
		conf = go_netconf(list.root, list.name, v);
		cl = cJSON_CreateObject();
	} else {
		conf = cJSON_CreateObject();
		cl = cJSON_CreateObject();
		ok = conf && cl && (!v || !*v || cJSON_AddStringToObject(conf, "cniVersion", v)) &&
		     cJSON_AddObjectToObject(conf, "ipam") &&
		     cJSON_AddStringToObject(conf, "name", list.name) &&
		     (!v || !*v || cJSON_AddStringToObject(cl, "cniVersion", v)) &&
		     cJSON_AddStringToObject(cl, "name", list.name) &&
		     (!list.disable_check || cJSON_AddTrueToObject(cl, "disableCheck")) &&
		     (plugins = cJSON_AddArrayToObject(cl, "plugins")) != NULL;
		for (size_t k = 0; ok && k < list.nplugins; k++)
			ok = cJSON_AddItemToArray(plugins, go_netconf(list.plugins[k], NULL, NULL));
		if (!ok) {
			cJSON_Delete(conf);
			conf = NULL;
		}
	}
	cni_conflist_free(&list);
	ok = conf && cl && cJSON_AddItemToObject(o, "Conf", conf);
	if (!ok)
		cJSON_Delete(conf);
	ok = ok && cJSON_AddItemToObject(o, "ConfList", cl);
	if (!ok)
		cJSON_Delete(cl);
	return ok ? 0 : -1;
}

/* libcni's NetworkConfigList, zero-valued, as Multus 4.2 writes it beside ConfList. */
static cJSON *empty_config_list(void)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "Name", "") &&
		  cJSON_AddStringToObject(o, "CNIVersion", "") &&
		  cJSON_AddFalseToObject(o, "DisableCheck") &&
		  cJSON_AddFalseToObject(o, "DisableGC") &&
		  cJSON_AddFalseToObject(o, "LoadOnlyInlinedPlugins") &&
		  cJSON_AddNullToObject(o, "Plugins") && cJSON_AddNullToObject(o, "Bytes");

	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

static cJSON *split_ips(const char *s)
{
	cJSON *arr = cJSON_CreateArray();
	const char *p = s;

	while (arr && p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *one = strndup(p, n);

		if (!one || !cJSON_AddItemToArray(arr, cJSON_CreateString(one))) {
			free(one);
			cJSON_Delete(arr);
			return NULL;
		}
		free(one);
		p = end ? end + 1 : NULL;
	}
	return arr;
}

/* One DelegateNetConf, its fields in Go's declaration order. */
static int delegate_to_json(cJSON *o, const struct meta_plan *plan, size_t i)
{
	const struct meta_attachment *a = &plan->att[i];
	const cJSON *guid = cJSON_GetObjectItemCaseSensitive(a->cap_args, "infinibandGUID");
	char multus_ifname[32];
	const char *ifreq = a->ifname_request;
	char *b64 = NULL;
	bool ok;

	/* Multus getIfname on DEL: the first delegate is the master; others net<idx> */
	if (i == 0)
		snprintf(multus_ifname, sizeof(multus_ifname), "%s", plan->ifname);
	else
		snprintf(multus_ifname, sizeof(multus_ifname), "net%zu", i);
	if (!ifreq && a->ifname && strcmp(a->ifname, multus_ifname) != 0)
		ifreq = a->ifname;
	ok = add_confs(o, a, plan->cni_version) == 0 &&
	     cJSON_AddItemToObject(o, "CNINetworkConfigList", empty_config_list()) &&
	     cJSON_AddStringToObject(o, "Name", a->status_name ? a->status_name : a->network) &&
	     cni_json_add_opt_string(o, "ifnameRequest", ifreq) == 0 &&
	     cni_json_add_opt_string(o, "macRequest", a->mac_request) == 0 &&
	     cni_json_add_opt_string(o, "infinibandGUIDRequest",
				     cJSON_IsString(guid) ? guid->valuestring : NULL) == 0;
	if (ok && a->ip_request && *a->ip_request)
		ok = cJSON_AddItemToObject(o, "ipRequest", split_ips(a->ip_request));
	if (ok && a->gateways)
		ok = cJSON_AddItemToObject(o, "default-route", cJSON_Duplicate(a->gateways, true));
	ok = ok && cJSON_AddBoolToObject(o, "IsFilterV4Gateway", false) &&
	     cJSON_AddBoolToObject(o, "IsFilterV6Gateway", false) &&
	     cni_json_add_opt_string(o, "deviceID", a->device_id) == 0 &&
	     cni_json_add_opt_string(o, "resourceName", a->resource_name) == 0 &&
	     (b64 = cni_base64_encode(a->config, a->config_len)) != NULL &&
	     cJSON_AddStringToObject(o, "Bytes", b64);
	free(b64);
	return ok ? 0 : -1;
}

cJSON *meta_multus_cache_from_plan(const struct meta_plan *plan)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < plan->n; i++) {
		cJSON *o = cJSON_CreateObject();

		/* o joins the array first, so that freeing arr frees it on a later failure */
		if (!cJSON_AddItemToArray(arr, o) || delegate_to_json(o, plan, i) < 0) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}

int meta_multus_cache_write(const char *path, const struct meta_plan *plan, struct cni_err *err)
{
	cJSON *j = meta_multus_cache_from_plan(plan);
	char *text = j ? cni_json_print_go(j, false) : NULL;
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	int ret = -1;

	cJSON_Delete(j);
	if (!text || !dir) {
		cni_err_oom(err);
		goto out;
	}
	if (slash && slash != dir) {
		*slash = '\0';
		if (cni_mkdir_p(dir, 0700, err) < 0)
			goto out;
	}
	/* atomic, not synced, as Multus writes it (os.WriteFile): plexus's own plan, written
	 * durably first, is what a DEL after a crash reads; this copy serves a Multus put back on
	 * the node, and costs no fsync on every ADD */
	ret = cni_write_replace(path, text, strlen(text), 0600, CNI_WRITE_LOCKED, err);
out:
	free(dir);
	free(text);
	return ret;
}

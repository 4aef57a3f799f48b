/* meta/plan.c: build, check and serialise the attachment plan.
 * Follows Multus: ifnames net<idx> count every delegate; CNI_ARGS and runtimeConfig as
 * Multus pkg/multus/multus.go newCNIRuntimeConf and pkg/types/conf.go mergeCNIRuntimeConfig
 * build them. */
#include "meta/plan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/base64.h"
#include "cni/config.h"
#include "cni/file.h"
#include "cni/json.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int meta_plan_add(struct meta_plan *plan, const char *config, size_t len,
		  const char *ifname_request, struct cni_err *err)
{
	struct cni_conflist list;
	struct meta_attachment *a, *grown;

	if (cni_conflist_parse(config, len, &list, err) < 0)
		return cni_err_prefix(err, "delegate %zu", plan->n);
	if (cni_validate_network_name(list.name, err) < 0) {
		cni_conflist_free(&list);
		return cni_err_prefix(err, "delegate %zu", plan->n);
	}
	grown = realloc(plan->att, (plan->n + 1) * sizeof(*plan->att));
	if (!grown) {
		cni_conflist_free(&list);
		return cni_err_oom(err);
	}
	plan->att = grown;
	a = &plan->att[plan->n];
	memset(a, 0, sizeof(*a));
	a->network = strdup(list.name);
	a->status_name = strdup(list.name);
	a->config = malloc(len + 1);
	a->ifname_request = dup_or_null(ifname_request);
	a->master = plan->n == 0;
	cni_conflist_free(&list);
	plan->n++;
	if (!a->network || !a->status_name || !a->config || (ifname_request && !a->ifname_request))
		return cni_err_oom(err);
	memcpy(a->config, config, len);
	a->config[len] = '\0';
	a->config_len = len;
	return 0;
}

static int push_arg(struct meta_attachment *a, const char *k, size_t klen, const char *v,
		    size_t vlen)
{
	struct cni_kv *g = realloc(a->args, (a->nargs + 1) * sizeof(*a->args));

	if (!g)
		return -1;
	a->args = g;
	g[a->nargs].key = strndup(k, klen);
	g[a->nargs].value = strndup(v, vlen);
	a->nargs++;
	return g[a->nargs - 1].key && g[a->nargs - 1].value ? 0 : -1;
}

/* Multus newCNIRuntimeConf: fixed K8S_* pairs, then every K=V of our own CNI_ARGS (SplitN on
 * '=', malformed entries skipped): it fills a key already present with an empty value, and is
 * appended otherwise, duplicates included. */
static int build_args(struct meta_attachment *a, const char *env, const struct meta_k8s_args *k)
{
	const char *fixed[5][2] = { { "IgnoreUnknown", "true" },
				    { "K8S_POD_NAMESPACE", k->pod_namespace },
				    { "K8S_POD_NAME", k->pod_name },
				    { "K8S_POD_INFRA_CONTAINER_ID", k->sandbox_id },
				    { "K8S_POD_UID", k->pod_uid } };
	const char *p = env;

	for (int i = 0; i < 5; i++)
		if (push_arg(a, fixed[i][0], strlen(fixed[i][0]), fixed[i][1],
			     strlen(fixed[i][1])) < 0)
			return -1;
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);

		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
			bool filled = false;

			for (size_t i = 0; i < a->nargs && vlen; i++) {
				if (strlen(a->args[i].key) == klen &&
				    !strncmp(a->args[i].key, p, klen) && !*a->args[i].value) {
					char *v = strndup(eq + 1, vlen);

					if (!v)
						return -1;
					free(a->args[i].value);
					a->args[i].value = v;
					filled = true;
					break;
				}
			}
			if (!filled && push_arg(a, p, klen, eq + 1, vlen) < 0)
				return -1;
		}
		if (!end)
			break;
		p = end + 1;
	}
	/* per-network requests, last, as Multus adds them */
	if (a->mac_request && push_arg(a, "MAC", 3, a->mac_request, strlen(a->mac_request)) < 0)
		return -1;
	if (a->ip_request && push_arg(a, "IP", 2, a->ip_request, strlen(a->ip_request)) < 0)
		return -1;
	return 0;
}

/* Multus's RuntimeConfig understands only these keys; empty values are dropped. */
cJSON *meta_runtime_cap_args(const cJSON *rc)
{
	static const char *const keys[] = {
		"portMappings", "bandwidth",	    "ips", "mac", "infinibandGUID",
		"deviceID",	"CNIDeviceInfoFile"
	};
	cJSON *out = cJSON_CreateObject();

	if (!out)
		return NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rc, keys[i]);

		if (!v || cJSON_IsNull(v) || (cJSON_IsArray(v) && !v->child) ||
		    (cJSON_IsString(v) && !*v->valuestring))
			continue;
		cJSON_AddItemToObject(out, keys[i], cJSON_Duplicate(v, true));
	}
	return out;
}

int meta_plan_finish(struct meta_plan *plan, const struct meta_netconf *nc,
		     const char *cni_args_env, const struct meta_k8s_args *k8s, struct cni_err *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct meta_attachment *a = &plan->att[i];
		char name[32];

		free(a->ifname);
		if (a->ifname_request)
			a->ifname = strdup(a->ifname_request);
		else if (a->master)
			a->ifname = strdup(plan->ifname);
		else {
			snprintf(name, sizeof(name), "net%zu", i);
			a->ifname = strdup(name);
		}
		if (!a->ifname)
			return cni_err_oom(err);
		if (cni_validate_ifname(a->ifname, err) < 0)
			return cni_err_prefix(err, "network \"%s\": interface \"%s\"",
					      a->status_name, a->ifname);
		for (size_t j = 0; j < i; j++)
			if (strcmp(plan->att[j].ifname, a->ifname) == 0)
				return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
						   "networks \"%s\" and \"%s\" both want interface "
						   "\"%s\"",
						   plan->att[j].status_name, a->status_name,
						   a->ifname);
		if (!a->args && build_args(a, cni_args_env, k8s) < 0)
			return cni_err_oom(err);
		if (!a->cap_args) {
			cJSON *cap = meta_runtime_cap_args(nc->runtime_config);

			if (!cap)
				return cni_err_oom(err);
			if (!cap->child) {
				cJSON_Delete(cap);
				cap = NULL;
			}
			a->cap_args = cap;
		}
	}
	return 0;
}

/* One attachment's cache entry, filled into o. Returns 0 or -1 out of memory. */
static int attachment_to_json(cJSON *o, const struct meta_attachment *a)
{
	char *b64 = cni_base64_encode(a->config, a->config_len);
	cJSON *args = NULL;
	bool ok = b64 && cni_json_add_opt_string(o, "network", a->network) == 0 &&
		  cni_json_add_opt_string(o, "statusName", a->status_name) == 0 &&
		  cni_json_add_opt_string(o, "ifname", a->ifname) == 0 &&
		  cni_json_add_opt_string(o, "ifnameRequest", a->ifname_request) == 0 &&
		  cJSON_AddBoolToObject(o, "master", a->master) &&
		  cJSON_AddStringToObject(o, "config", b64) &&
		  (args = cJSON_AddArrayToObject(o, "cniArgs")) != NULL;

	free(b64);
	for (size_t k = 0; ok && k < a->nargs; k++) {
		const char *kv[2] = { a->args[k].key, a->args[k].value };

		ok = cJSON_AddItemToArray(args, cJSON_CreateStringArray(kv, 2));
	}
	if (ok && a->cap_args)
		ok = cJSON_AddItemToObject(o, "capabilityArgs", cJSON_Duplicate(a->cap_args, true));
	ok = ok && cni_json_add_opt_string(o, "deviceID", a->device_id) == 0 &&
	     cni_json_add_opt_string(o, "resourceName", a->resource_name) == 0 &&
	     cni_json_add_opt_string(o, "deviceInfoFile", a->devinfo_file) == 0;
	if (ok && a->gateways)
		ok = cJSON_AddItemToObject(o, "gateways", cJSON_Duplicate(a->gateways, true));
	ok = ok && cni_json_add_opt_string(o, "origin", a->origin) == 0 &&
	     cni_json_add_opt_string(o, "added", a->added) == 0;
	if (ok && a->requests)
		ok = cJSON_AddItemToObject(o, "requests", cJSON_Duplicate(a->requests, true));
	if (ok && a->pending)
		ok = cJSON_AddBoolToObject(o, "pending", true) != NULL;
	return ok ? 0 : -1;
}

cJSON *meta_plan_to_json(const struct meta_plan *plan)
{
	cJSON *j = cJSON_CreateObject(), *arr = NULL;
	bool ok = j && cJSON_AddStringToObject(j, "kind", "plexusCacheV1") &&
		  cni_json_add_opt_string(j, "containerID", plan->container_id) == 0 &&
		  cni_json_add_opt_string(j, "netns", plan->netns) == 0 &&
		  cni_json_add_opt_string(j, "ifname", plan->ifname) == 0 &&
		  cni_json_add_opt_string(j, "cniVersion", plan->cni_version) == 0 &&
		  cni_json_add_opt_string(j, "podNamespace", plan->pod_namespace) == 0 &&
		  cni_json_add_opt_string(j, "podName", plan->pod_name) == 0 &&
		  cni_json_add_opt_string(j, "podUID", plan->pod_uid) == 0 &&
		  cni_json_add_opt_string(j, "sandboxID", plan->sandbox_id) == 0 &&
		  cni_json_add_opt_string(j, "cniPath", plan->cni_path) == 0 &&
		  (arr = cJSON_AddArrayToObject(j, "attachments")) != NULL;

	for (size_t i = 0; ok && i < plan->n; i++) {
		cJSON *o = cJSON_CreateObject();

		/* o joins the tree first, so that freeing j frees it on a later failure */
		ok = cJSON_AddItemToArray(arr, o) && attachment_to_json(o, &plan->att[i]) == 0;
	}
	if (ok)
		return j;
	cJSON_Delete(j);
	return NULL;
}

static int take_str(const cJSON *o, const char *k, char **out, bool required, struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v || cJSON_IsNull(v)) {
		if (required)
			return cni_err_set(err, CNI_ERR_DECODE, "cache: missing \"%s\"", k);
		return 0;
	}
	if (!cJSON_IsString(v))
		return cni_err_set(err, CNI_ERR_DECODE, "cache: \"%s\" must be a string", k);
	*out = strdup(v->valuestring);
	return *out ? 0 : cni_err_oom(err);
}

int meta_plan_from_json(const cJSON *j, struct meta_plan *plan, struct cni_err *err)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "attachments"), *o;

	memset(plan, 0, sizeof(*plan));
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "plexusCacheV1") != 0)
		return cni_err_set(err, CNI_ERR_DECODE, "cache: not a plexusCacheV1 document");
	if (!cJSON_IsArray(arr))
		return cni_err_set(err, CNI_ERR_DECODE, "cache: \"attachments\" must be an array");
	if (take_str(j, "containerID", &plan->container_id, true, err) < 0 ||
	    take_str(j, "netns", &plan->netns, false, err) < 0 ||
	    take_str(j, "ifname", &plan->ifname, true, err) < 0 ||
	    take_str(j, "cniVersion", &plan->cni_version, false, err) < 0 ||
	    take_str(j, "podNamespace", &plan->pod_namespace, false, err) < 0 ||
	    take_str(j, "podName", &plan->pod_name, false, err) < 0 ||
	    take_str(j, "podUID", &plan->pod_uid, false, err) < 0 ||
	    take_str(j, "sandboxID", &plan->sandbox_id, false, err) < 0 ||
	    take_str(j, "cniPath", &plan->cni_path, false, err) < 0)
		goto fail;
	plan->att = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*plan->att));
	if (!plan->att) {
		cni_err_oom(err);
		goto fail;
	}
	cJSON_ArrayForEach(o, arr)
	{
		struct meta_attachment *a = &plan->att[plan->n++];
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(o, "cniArgs"), *kv;
		const cJSON *cap = cJSON_GetObjectItemCaseSensitive(o, "capabilityArgs");
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(o, "gateways");
		char *b64 = NULL;

		if (take_str(o, "network", &a->network, true, err) < 0 ||
		    take_str(o, "statusName", &a->status_name, false, err) < 0 ||
		    take_str(o, "ifname", &a->ifname, true, err) < 0 ||
		    take_str(o, "ifnameRequest", &a->ifname_request, false, err) < 0 ||
		    take_str(o, "config", &b64, true, err) < 0 ||
		    take_str(o, "deviceID", &a->device_id, false, err) < 0 ||
		    take_str(o, "resourceName", &a->resource_name, false, err) < 0 ||
		    take_str(o, "deviceInfoFile", &a->devinfo_file, false, err) < 0 ||
		    take_str(o, "origin", &a->origin, false, err) < 0 ||
		    take_str(o, "added", &a->added, false, err) < 0)
			goto fail;
		a->pending = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "pending"));
		if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "requests")) &&
		    !(a->requests =
			  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(o, "requests"), true))) {
			cni_err_oom(err);
			goto fail;
		}
		a->master = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "master"));
		a->config = cni_base64_decode(b64, &a->config_len);
		free(b64);
		if (!a->config) {
			cni_err_set(err, CNI_ERR_DECODE, "cache: config of \"%s\" is not base64",
				    a->network);
			goto fail;
		}
		cJSON_ArrayForEach(kv, args)
		{
			const cJSON *k = cJSON_GetArrayItem(kv, 0), *v = cJSON_GetArrayItem(kv, 1);

			if (!cJSON_IsString(k) || !cJSON_IsString(v)) {
				cni_err_set(err, CNI_ERR_DECODE, "cache: bad cniArgs of \"%s\"",
					    a->network);
				goto fail;
			}
			if (push_arg(a, k->valuestring, strlen(k->valuestring), v->valuestring,
				     strlen(v->valuestring)) < 0) {
				cni_err_oom(err);
				goto fail;
			}
		}
		if (cJSON_IsObject(cap))
			a->cap_args = cJSON_Duplicate(cap, true);
		if (cJSON_IsArray(gw))
			a->gateways = cJSON_Duplicate(gw, true);
		if (!a->status_name)
			a->status_name = strdup(a->network);
	}
	return 0;
fail:
	meta_plan_free(plan);
	return -1;
}

void meta_attachment_free(struct meta_attachment *a)
{
	free(a->network);
	free(a->status_name);
	free(a->ifname);
	free(a->ifname_request);
	free(a->config);
	for (size_t k = 0; k < a->nargs; k++) {
		free(a->args[k].key);
		free(a->args[k].value);
	}
	free(a->args);
	cJSON_Delete(a->cap_args);
	free(a->device_id);
	free(a->resource_name);
	free(a->devinfo_file);
	free(a->mac_request);
	free(a->ip_request);
	cJSON_Delete(a->gateways);
	free(a->origin);
	free(a->added);
	cJSON_Delete(a->requests);
	memset(a, 0, sizeof(*a));
}

int meta_plan_append(struct meta_plan *plan, struct meta_attachment *a, struct cni_err *err)
{
	struct meta_attachment *grown = realloc(plan->att, (plan->n + 1) * sizeof(*plan->att));

	if (!grown)
		return cni_err_oom(err);
	plan->att = grown;
	plan->att[plan->n++] = *a;
	memset(a, 0, sizeof(*a));
	return 0;
}

void meta_plan_remove(struct meta_plan *plan, size_t i)
{
	if (i >= plan->n)
		return;
	meta_attachment_free(&plan->att[i]);
	memmove(&plan->att[i], &plan->att[i + 1], (plan->n - i - 1) * sizeof(*plan->att));
	plan->n--;
}

void meta_plan_free(struct meta_plan *plan)
{
	for (size_t i = 0; plan->att && i < plan->n; i++)
		meta_attachment_free(&plan->att[i]);
	free(plan->att);
	free(plan->container_id);
	free(plan->netns);
	free(plan->ifname);
	free(plan->cni_version);
	free(plan->pod_namespace);
	free(plan->pod_name);
	free(plan->pod_uid);
	free(plan->sandbox_id);
	free(plan->cni_path);
	memset(plan, 0, sizeof(*plan));
}

char *meta_plan_dir(const char *cni_dir)
{
	char *dir = NULL;

	return asprintf(&dir, "%s/plexus", cni_dir) < 0 ? NULL : dir;
}

/* a plan's size cap: far above any plan (a few KiB per attachment) */
#define PLAN_MAX_BYTES (16u << 20)

int meta_plan_load(const char *path, struct meta_plan *plan, struct cni_err *err)
{
	cJSON *j;
	int ret = cni_read_json(path, PLAN_MAX_BYTES, CNI_FILE_NOFOLLOW, &j, err);

	if (ret <= 0)
		return ret;
	ret = meta_plan_from_json(j, plan, err);
	cJSON_Delete(j);
	if (ret < 0)
		return cni_err_prefix(err, "%s", path);
	return 1;
}

static int is_plan_name(const struct dirent *de)
{
	return de->d_name[0] != '.' && !strchr(de->d_name, '.');
}

static int by_bytes(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int meta_plan_names(const char *state_dir, char ***names, struct cni_err *err)
{
	struct dirent **des = NULL;
	int n = scandir(state_dir, &des, is_plan_name, by_bytes), kept = 0;

	*names = NULL;
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		return cni_err_set(err, CNI_ERR_IO, "plexus cache dir %s: %s", state_dir,
				   strerror(errno));
	}
	*names = calloc((size_t)n + 1, sizeof(**names));
	for (int i = 0; i < n; i++) {
		if (*names && !((*names)[kept] = strdup(des[i]->d_name))) {
			meta_plan_names_free(*names, kept);
			*names = NULL;
		}
		if (*names)
			kept++;
		free(des[i]);
	}
	free(des);
	if (!*names && n > 0)
		return cni_err_oom(err);
	return kept;
}

void meta_plan_names_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* meta/kube.c: the pod, its network selections and NADs, and network-status, for one call.
 * Follows Multus pkg/k8sclient: default-network replaces the cluster network, selections are
 * appended in order, namespace isolation, cni-args merged into args.cni (k8sclient.go
 * GetPodNetwork, parsePodNetworkAnnotation, GetNetworkDelegates). */
#include "meta/kube.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/log.h"
#include "delegates/confdir.h"
#include "k8s/deviceinfo.h"
#include "k8s/kubeconfig.h"
#include "meta/nadconf.h"

/* A daemon's idle clients, each with its connection kept open by libcurl (meta_kube_pool). */
#define POOL_MAX 32
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct k8s_client *pool[POOL_MAX];
static size_t npool;
static bool pooling;

void meta_kube_pool(bool on)
{
	pthread_mutex_lock(&pool_mu);
	pooling = on;
	while (!on && npool > 0)
		k8s_client_free(pool[--npool]);
	pthread_mutex_unlock(&pool_mu);
}

/* An idle client of these credentials from the pool, or NULL. */
static struct k8s_client *pool_take(const struct k8s_creds *creds)
{
	struct k8s_client *c = NULL;

	pthread_mutex_lock(&pool_mu);
	for (size_t i = npool; pooling && i-- > 0;)
		if (k8s_client_uses(pool[i], creds)) {
			c = pool[i];
			pool[i] = pool[--npool];
			break;
		}
	pthread_mutex_unlock(&pool_mu);
	return c;
}

/* The client back to the pool (freed when pooling is off or the pool is full). */
static void pool_give(struct k8s_client *c)
{
	pthread_mutex_lock(&pool_mu);
	if (pooling && npool < POOL_MAX) {
		pool[npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&pool_mu);
	k8s_client_free(c);
}

int meta_kube_open(struct meta_kube *k, const struct meta_netconf *nc, const char *sa_dir,
		   struct cni_err *err)
{
	struct k8s_creds creds;
	int found;

	memset(k, 0, sizeof(*k));
	found = k8s_creds_load(nc->kubeconfig, sa_dir, &creds, err);
	if (found <= 0)
		return found;
	k->client = pool_take(&creds);
	if (!k->client)
		k->client = k8s_client_new(&creds, NULL, err);
	k8s_creds_free(&creds);
	if (!k->client)
		return -1;
	k->nads = cJSON_CreateObject();
	return k->nads ? 0 : cni_err_oom(err);
}

void meta_kube_close(struct meta_kube *k)
{
	if (k->client)
		pool_give(k->client);
	k8s_devmap_free(k->devices);
	k8s_dra_free(&k->dra);
	cJSON_Delete(k->pod);
	cJSON_Delete(k->nads);
	memset(k, 0, sizeof(*k));
}

static struct meta_kube_cache *cache_;

void meta_kube_set_cache(struct meta_kube_cache *c)
{
	cache_ = c;
}

const char *meta_pod_source_name(enum meta_pod_source s)
{
	static const char *const names[META_POD_SOURCE_N] = {
		"cache",	   "cache_after_wait",	"live_unsynced",
		"live_not_cached", "live_uid_mismatch",
	};

	return (unsigned)s < META_POD_SOURCE_N ? names[s] : "";
}

const char *meta_nad_source_name(enum meta_nad_source s)
{
	return s == META_NAD_CACHED ? "cache" : s == META_NAD_LIVE ? "live" : "";
}

static bool uid_matches(const struct k8s_pod *p, const char *uid)
{
	return !uid || !*uid || strcmp(p->uid, uid) == 0;
}

/* The pod from the cache: 1 with k->pod set, 0 when it must be fetched live (the reason
 * counted), -1 on OOM. */
static int pod_from_cache(struct meta_kube *k, const struct meta_k8s_args *a, bool wait,
			  struct cni_err *err)
{
	enum meta_pod_source src = META_POD_CACHED;
	struct k8s_pod *p;
	int ret;

	if (!k8s_store_synced(cache_->pods)) {
		atomic_fetch_add(&cache_->pods_by[META_POD_LIVE_UNSYNCED], 1);
		log_verbose("pod %s/%s: the pod cache has not synced; asking the API",
			    a->pod_namespace, a->pod_name);
		return 0;
	}
	p = k8s_store_get_pod(cache_->pods, a->pod_namespace, a->pod_name);
	if (!p && errno == ENOMEM)
		return cni_err_oom(err);
	if ((!p || !uid_matches(p, a->pod_uid)) && wait && cache_->pod_wait_ms > 0) {
		free(p);
		p = NULL;
		src = META_POD_CACHED_AFTER_WAIT;
		ret = k8s_store_wait_pod(cache_->pods, a->pod_namespace, a->pod_name, a->pod_uid,
					 cache_->pod_wait_ms, &p);
		if (ret == -ENOMEM)
			return cni_err_oom(err);
	}
	if (!p || !uid_matches(p, a->pod_uid)) {
		src = p ? META_POD_LIVE_UID_MISMATCH : META_POD_LIVE_NOT_CACHED;
		atomic_fetch_add(&cache_->pods_by[src], 1);
		if (p)
			log_verbose("pod %s/%s: cached with UID %s, not %s; asking the API",
				    a->pod_namespace, a->pod_name, p->uid, a->pod_uid);
		else
			log_verbose("pod %s/%s: not in the pod cache; asking the API",
				    a->pod_namespace, a->pod_name);
		free(p);
		return 0;
	}
	k->pod = k8s_pod_to_json(p);
	free(p);
	if (!k->pod)
		return cni_err_oom(err);
	atomic_fetch_add(&cache_->pods_by[src], 1);
	return 1;
}

int meta_kube_get_pod(struct meta_kube *k, const struct meta_k8s_args *a, bool wait,
		      struct cni_err *err)
{
	int ret;

	if (!k->client || !*a->pod_namespace || !*a->pod_name)
		return 0;
	if (cache_ && cache_->pods) {
		ret = pod_from_cache(k, a, wait, err);
		if (ret != 0)
			return ret;
	}
	ret = k8s_get_pod(k->client, a->pod_namespace, a->pod_name, &k->pod, err);
	if (ret == -ENOENT) {
		log_verbose("%s", err->msg);
		cni_err_clear(err);
		return 0;
	}
	return ret < 0 ? -1 : 1;
}

/* NAD ns/name from the cache: 1 with *out, 0 when it must be fetched live (counted), -ENOMEM. */
static int nad_from_cache(const char *ns, const char *name, cJSON **out)
{
	struct k8s_nad *n;

	if (!cache_ || !cache_->nads)
		return 0;
	errno = 0;
	n = k8s_store_synced(cache_->nads) ? k8s_store_get_nad(cache_->nads, ns, name) : NULL;
	if (!n && errno == ENOMEM)
		return -ENOMEM;
	if (!n) {
		atomic_fetch_add(&cache_->nads_by[META_NAD_LIVE], 1);
		log_verbose("network-attachment-definition %s/%s: not in the cache; asking the API",
			    ns, name);
		return 0;
	}
	*out = k8s_nad_to_json(n);
	free(n);
	if (!*out)
		return -ENOMEM;
	atomic_fetch_add(&cache_->nads_by[META_NAD_CACHED], 1);
	return 1;
}

int meta_kube_nad(struct meta_kube *k, const char *ns, const char *name, const char *conf_dir,
		  struct k8s_nad_config *out, struct cni_err *err)
{
	char key[600];
	cJSON *nad;
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(key, sizeof(key), "%.253s/%.253s", ns, name);
	nad = cJSON_GetObjectItemCaseSensitive(k->nads, key);
	if (!nad) {
		cJSON *got = NULL;

		ret = nad_from_cache(ns, name, &got);
		if (ret == 0)
			ret = k8s_get_nad(k->client, ns, name, &got, err);
		if (ret < 0 && ret != -ENOENT)
			return ret == -ENOMEM ? cni_err_oom(err) : -1;
		got = got ? got : cJSON_CreateNull();
		if (!got || !cJSON_AddItemToObject(k->nads, key, got)) {
			cJSON_Delete(got);
			return cni_err_oom(err);
		}
		nad = got;
	}
	if (cJSON_IsNull(nad))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "cannot find a network-attachment-definition (%s) in namespace "
				   "(%s)",
				   name, ns) +
		       1;
	cni_err_clear(err);
	return meta_nad_delegate_config(nad, conf_dir, out, err) < 0 ? -1 : 1;
}

char *meta_merge_cni_args(const char *config, size_t len, const cJSON *cni_args,
			  struct cni_err *err)
{
	cJSON *root = cni_json_parse(config, len, "delegate config", err), *list, *p;
	char *out = NULL;

	if (!root)
		return NULL;
	list = cJSON_GetObjectItemCaseSensitive(root, "plugins");
	for (p = cJSON_IsArray(list) ? list->child : root; p;
	     p = cJSON_IsArray(list) ? p->next : NULL) {
		cJSON *args = cJSON_GetObjectItemCaseSensitive(p, "args"), *cni;
		const cJSON *kv;

		if (!cJSON_IsObject(args)) {
			args = cJSON_CreateObject();
			if (!args || cni_json_set(p, "args", args) < 0)
				goto oom;
		}
		cni = cJSON_GetObjectItemCaseSensitive(args, "cni");
		if (!cJSON_IsObject(cni)) {
			cni = cJSON_CreateObject();
			if (!cni || cni_json_set(args, "cni", cni) < 0)
				goto oom;
		}
		cJSON_ArrayForEach(kv, cni_args)
		{
			if (cni_json_set(cni, kv->string, cJSON_Duplicate(kv, true)) < 0)
				goto oom;
		}
	}
	out = cni_json_print_go(root, true);
	if (!out)
		goto oom;
	cJSON_Delete(root);
	return out;
oom:
	cJSON_Delete(root);
	cni_err_oom(err);
	return NULL;
}

static char *join_ips(const cJSON *ips)
{
	size_t len = 1, n = 0;
	const cJSON *ip;
	char *s;

	cJSON_ArrayForEach(ip, ips)
	{
		len += strlen(ip->valuestring) + 1;
	}
	s = calloc(1, len);
	if (!s)
		return NULL;
	cJSON_ArrayForEach(ip, ips)
	{
		size_t l = strlen(ip->valuestring);

		if (n)
			s[n++] = ',';
		memcpy(s + n, ip->valuestring, l);
		n += l;
	}
	return s;
}

int meta_attachment_apply_selection(struct meta_attachment *a, const struct meta_netconf *nc,
				    const struct k8s_net_selection *sel, struct cni_err *err)
{
	a->master = false;
	cJSON_Delete(a->requests);
	a->requests = k8s_net_selection_cap_args(sel, NULL);
	if (!a->requests)
		return cni_err_oom(err);
	/* Multus mergeCNIRuntimeConfig: the runtime's, then this network's requests */
	a->cap_args = meta_runtime_cap_args(nc->runtime_config);
	if (a->cap_args) {
		cJSON *req = k8s_net_selection_cap_args(sel, NULL), *c;

		cJSON_ArrayForEach(c, req)
		{
			if (cni_json_set(a->cap_args, c->string, cJSON_Duplicate(c, true)) < 0) {
				cJSON_Delete(req);
				return cni_err_oom(err);
			}
		}
		cJSON_Delete(req);
		if (!a->cap_args->child) {
			cJSON_Delete(a->cap_args);
			a->cap_args = NULL;
		}
	}
	if (!a->origin && !(a->origin = strdup(META_ORIGIN_ANNOTATION)))
		return cni_err_oom(err);
	if (sel->mac && !(a->mac_request = strdup(sel->mac)))
		return cni_err_oom(err);
	if (sel->device_id && !(a->device_id = strdup(sel->device_id)))
		return cni_err_oom(err);
	if (sel->ips && cJSON_GetArraySize(sel->ips) > 0 && !(a->ip_request = join_ips(sel->ips)))
		return cni_err_oom(err);
	if (sel->default_route && !(a->gateways = cJSON_Duplicate(sel->default_route, true)))
		return cni_err_oom(err);
	return 0;
}

/* Multus's Warning event when a pod names a NAD that does not exist; best effort, and only on
 * this failure path, so a successful ADD still makes exactly its three kinds of request. */
static void no_network_event(struct meta_kube *k, const char *msg)
{
	struct k8s_event ev = {
		.namespace = k8s_object_meta(k->pod, "namespace"),
		.pod_name = k8s_object_meta(k->pod, "name"),
		.pod_uid = k8s_object_meta(k->pod, "uid"),
		.type = "Warning",
		.reason = "NoNetworkFound",
		.message = msg,
	};
	struct cni_err e = { 0 };

	if (!ev.namespace || !ev.pod_name)
		return;
	if (k8s_post_event(k->client, &ev, &e) < 0)
		log_error("event NoNetworkFound not sent: %s", e.msg);
	cni_err_clear(&e);
}

/* One selection element as an attachment appended to the plan (or replacing the master). */
static int add_selection(struct meta_plan *plan, const struct meta_netconf *nc, struct meta_kube *k,
			 const struct k8s_net_selection *sel, bool master, struct cni_err *err)
{
	struct k8s_nad_config nad;
	struct meta_attachment *a;
	char *config = NULL;
	size_t len;
	int found;

	found = meta_kube_nad(k, sel->namespace, sel->name, nc->conf_dir, &nad, err);
	if (found == 0)
		no_network_event(k, err->msg);
	if (found <= 0)
		return -1;
	config = nad.config;
	len = nad.len;
	if (sel->cni_args) {
		config = meta_merge_cni_args(nad.config, nad.len, sel->cni_args, err);
		if (!config)
			goto fail;
		len = strlen(config);
	}
	if (master) {
		/* the cluster network is replaced; the new one is master, on CNI_IFNAME */
		struct meta_plan one = { 0 };

		if (meta_plan_add(&one, config, len, sel->ifname, err) < 0) {
			meta_plan_free(&one);
			goto fail;
		}
		a = &plan->att[0];
		free(a->network);
		free(a->config);
		free(a->ifname_request);
		a->network = one.att[0].network;
		a->config = one.att[0].config;
		a->config_len = one.att[0].config_len;
		a->ifname_request = one.att[0].ifname_request;
		one.att[0].network = one.att[0].config = one.att[0].ifname_request = NULL;
		meta_plan_free(&one);
	} else {
		if (meta_plan_add(plan, config, len, sel->ifname, err) < 0)
			goto fail;
		a = &plan->att[plan->n - 1];
		if (meta_attachment_apply_selection(a, nc, sel, err) < 0)
			goto fail;
	}
	free(a->status_name);
	a->status_name = NULL;
	if (asprintf(&a->status_name, "%s/%s", sel->namespace, sel->name) < 0) {
		a->status_name = NULL;
		goto oom;
	}
	free(a->resource_name);
	a->resource_name = nad.resource_name;
	nad.resource_name = NULL;
	if (config != nad.config)
		free(config);
	k8s_nad_config_free(&nad);
	return 0;
oom:
	cni_err_oom(err);
fail:
	if (config != nad.config)
		free(config);
	k8s_nad_config_free(&nad);
	return -1;
}

static int isolation(const struct meta_netconf *nc, const char *pod_ns, const char *target,
		     struct cni_err *err)
{
	if (!nc->namespace_isolation)
		return 0;
	return k8s_check_namespace_isolation(pod_ns, target,
					     (const char *const *)nc->global_namespaces,
					     nc->nglobal_namespaces, err);
}

int meta_kube_add_pod_networks(struct meta_plan *plan, const struct meta_netconf *nc,
			       struct meta_kube *k, const struct meta_k8s_args *a,
			       struct cni_err *err)
{
	const char *def = k8s_object_annotation(k->pod, K8S_ANNOT_DEFAULT_NETWORK);
	const char *nets = k8s_object_annotation(k->pod, K8S_ANNOT_NETWORKS);
	struct k8s_net_selections sels = { 0 };
	int ret = -1;

	if (def && *def) {
		struct k8s_net_selection sel;

		if (k8s_parse_default_network(def, nc->multus_namespace, &sel, err) < 0)
			return -1;
		/* isolation covers this annotation too: own namespace, global ones, or the
		 * administrator's multusNamespace where default networks live */
		if (strcmp(sel.namespace, nc->multus_namespace) != 0 &&
		    isolation(nc, a->pod_namespace, sel.namespace, err) < 0) {
			cni_err_prefix(err, "annotation \"%s\"", K8S_ANNOT_DEFAULT_NETWORK);
			k8s_net_selection_free(&sel);
			return -1;
		}
		ret = plan->n ? add_selection(plan, nc, k, &sel, true, err) : -1;
		if (!plan->n)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no cluster network to replace");
		k8s_net_selection_free(&sel);
		if (ret < 0)
			return cni_err_prefix(err, "annotation \"%s\"", K8S_ANNOT_DEFAULT_NETWORK);
	}
	if (k8s_parse_networks(nets, K8S_ANNOT_NETWORKS, a->pod_namespace, &sels, err) < 0)
		return -1;
	for (size_t i = 0; i < sels.n; i++) {
		if (isolation(nc, a->pod_namespace, sels.el[i].namespace, err) < 0 ||
		    add_selection(plan, nc, k, &sels.el[i], false, err) < 0) {
			cni_err_prefix(err, "annotation \"%s\": element %zu", K8S_ANNOT_NETWORKS,
				       i);
			goto out;
		}
	}
	ret = 0;
out:
	k8s_net_selections_free(&sels);
	return ret;
}

static bool has_ids(const struct k8s_devmap *m, const char *resource)
{
	const struct k8s_devres *r = k8s_devmap_find(m, resource);

	return r && r->nids > 0;
}

/* Where the IDs of resource come from: kubelet's device plugins and the API's DRA devices, else
 * kubelet's DRA claims of that name. NULL (err set) when a pod with ResourceClaims has none. */
static struct k8s_devmap *devices_of(struct meta_kube *k, const struct meta_attachment *at,
				     struct cni_err *err)
{
	char *names;

	if (has_ids(k->devices, at->resource_name))
		return k->devices;
	if (has_ids(k->devices->claims, at->resource_name))
		return k->devices->claims;
	if (!k->dra.n)
		return k->devices; /* k8s_devmap_assign says what is missing */
	names = k8s_dra_resource_names(&k->dra);
	if (!names) {
		cni_err_oom(err);
		return NULL;
	}
	cni_err_set(err, CNI_ERR_INVALID_CONFIG,
		    "network \"%s\": resourceName \"%s\" matches no allocated device: the pod's "
		    "ResourceClaims allocate resourceNames %s, and kubelet reports no device of it",
		    at->status_name, at->resource_name, names);
	free(names);
	return NULL;
}

/* One device is one attachment: two NADs given the same ID (one device reported twice, or
 * reached by resourceName and by claim name) would fight over it. */
static int check_unique_devices(const struct meta_plan *plan, struct cni_err *err)
{
	for (size_t i = 0; i < plan->n; i++)
		for (size_t j = 0; j < i; j++) {
			const struct meta_attachment *x = &plan->att[j], *y = &plan->att[i];

			if (x->resource_name && y->resource_name && x->device_id && y->device_id &&
			    strcmp(x->device_id, y->device_id) == 0)
				return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
						   "networks \"%s\" (resource \"%s\") and \"%s\" "
						   "(resource \"%s\") are both given device \"%s\"",
						   x->status_name, x->resource_name, y->status_name,
						   y->resource_name, x->device_id);
		}
	return 0;
}

int meta_kube_assign_devices(struct meta_plan *plan, const struct meta_netconf *nc,
			     struct meta_kube *k, const struct meta_k8s_args *a,
			     struct cni_err *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct meta_attachment *at = &plan->att[i];
		struct k8s_podres_opts opts = { .socket = nc->pod_resources_socket };
		struct k8s_devmap *m;
		const char *id = NULL;
		char *conf;

		if (!at->resource_name)
			continue;
		if (!k->devices) {
			if (k8s_podres_get(&opts, a->pod_namespace, a->pod_name, a->pod_uid,
					   &k->devices, err) < 0)
				return cni_err_prefix(err, "network \"%s\": resource \"%s\"",
						      at->status_name, at->resource_name);
			if (k->client && k->pod &&
			    meta_dra_load(k->client, cache_, k->pod, k->devices, &k->dra, err) < 0)
				return cni_err_prefix(err, "network \"%s\": resource \"%s\"",
						      at->status_name, at->resource_name);
		}
		m = devices_of(k, at, err);
		if (!m || k8s_devmap_assign(m, at->resource_name, at->status_name, &id, err) < 0)
			return -1;
		conf = k8s_inject_device_id(at->config, at->config_len, id, err);
		if (!conf)
			return cni_err_prefix(err, "network \"%s\"", at->status_name);
		free(at->config);
		at->config = conf;
		at->config_len = strlen(conf);
		free(at->device_id);
		at->device_id = strdup(id);
		if (!at->device_id)
			return cni_err_oom(err);
		if (!at->master) {
			if (!at->cap_args && !(at->cap_args = cJSON_CreateObject()))
				return cni_err_oom(err);
			if (cni_json_set(at->cap_args, "deviceID", cJSON_CreateString(id)) < 0)
				return cni_err_oom(err);
		}
	}
	return check_unique_devices(plan, err);
}

int meta_kube_devinfo_paths(struct meta_plan *plan, const struct meta_netconf *nc,
			    struct cni_err *err)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct meta_attachment *at = &plan->att[i];

		if (!at->device_id || at->master)
			continue;
		free(at->devinfo_file);
		at->devinfo_file = k8s_devinfo_cni_path(nc->device_info_dir, at->status_name,
							plan->container_id, at->ifname, err);
		if (!at->devinfo_file)
			return cni_err_prefix(err, "network \"%s\"", at->status_name);
		if (!at->cap_args && !(at->cap_args = cJSON_CreateObject()))
			return cni_err_oom(err);
		if (cni_json_set(at->cap_args, "CNIDeviceInfoFile",
				 cJSON_CreateString(at->devinfo_file)) < 0)
			return cni_err_oom(err);
	}
	return 0;
}

int meta_kube_write_status(struct meta_kube *k, const struct meta_k8s_args *a,
			   const cJSON *statuses, struct cni_err *err)
{
	char *value = k8s_network_status_render(statuses);
	cJSON *ann = cJSON_CreateObject();
	int ret = -1;

	if (!value || !ann) {
		cni_err_oom(err);
		goto out;
	}
	cJSON_AddStringToObject(ann, K8S_ANNOT_NETWORK_STATUS, value);
	ret = k8s_patch_pod_annotations(k->client, a->pod_namespace, a->pod_name, ann, err);
	if (ret == -ENOENT)
		ret = 1;
	else if (ret < 0)
		ret = -1;
out:
	free(value);
	cJSON_Delete(ann);
	return ret;
}

cJSON *meta_kube_empty_result(const char *cni_version, const char *ifname, const char *netns)
{
	cJSON *r = cJSON_CreateObject(), *ifs, *ips, *i, *ip;

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "cniVersion", *cni_version ? cni_version : "1.0.0");
	ifs = cJSON_AddArrayToObject(r, "interfaces");
	i = cJSON_CreateObject();
	cJSON_AddStringToObject(i, "name", ifname);
	cJSON_AddStringToObject(i, "sandbox", netns ? netns : "");
	cJSON_AddItemToArray(ifs, i);
	ips = cJSON_AddArrayToObject(r, "ips");
	ip = cJSON_CreateObject();
	cJSON_AddStringToObject(ip, "address", "0.0.0.0/0");
	cJSON_AddStringToObject(ip, "gateway", "0.0.0.0");
	cJSON_AddNumberToObject(ip, "interface", 0);
	cJSON_AddItemToArray(ips, ip);
	return r;
}

static int add_from_ref(struct meta_plan *plan, const struct meta_netconf *nc, const char *ref,
			struct meta_kube *kube, struct cni_err *err)
{
	struct cni_conflist list;
	int ret;

	if (kube && kube->client && !strchr(ref, '/')) {
		struct k8s_nad_config nad;
		struct cni_err e = { 0 };
		int found = meta_kube_nad(kube, nc->multus_namespace, ref, nc->conf_dir, &nad, &e);

		if (found < 0) {
			cni_err_move(err, &e);
			return -1;
		}
		cni_err_clear(&e);
		if (found) {
			ret = meta_plan_add(plan, nad.config, nad.len, NULL, err);
			if (ret == 0) {
				struct meta_attachment *a = &plan->att[plan->n - 1];

				free(a->status_name);
				a->status_name = NULL;
				if (asprintf(&a->status_name, "%s/%s", nc->multus_namespace, ref) <
				    0)
					a->status_name = NULL;
				a->resource_name = nad.resource_name;
				nad.resource_name = NULL;
				if (!a->status_name)
					ret = cni_err_oom(err);
			}
			k8s_nad_config_free(&nad);
			return ret;
		}
	}
	if (dlg_confdir_load(ref, nc->conf_dir, &list, err) < 0)
		return -1;
	ret = meta_plan_add(plan, list.bytes, list.len, NULL, err);
	cni_conflist_free(&list);
	return ret;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (s && strcmp(list[i], s) == 0)
			return true;
	return false;
}

int meta_plan_add_static(struct meta_plan *plan, const struct meta_netconf *nc,
			 const struct meta_k8s_args *k8s, struct meta_kube *kube,
			 struct cni_err *err)
{
	if (nc->cluster_network && *nc->cluster_network) {
		if (add_from_ref(plan, nc, nc->cluster_network, kube, err) < 0)
			return cni_err_prefix(err, "clusterNetwork \"%s\"", nc->cluster_network);
		if (in_list(nc->system_namespaces, nc->nsystem_namespaces, k8s->pod_namespace))
			return 0;
		for (size_t i = 0; i < nc->ndefault_networks; i++)
			if (add_from_ref(plan, nc, nc->default_networks[i], kube, err) < 0)
				return cni_err_prefix(err, "defaultNetworks \"%s\"",
						      nc->default_networks[i]);
		return 0;
	}
	const cJSON *d;

	cJSON_ArrayForEach(d, nc->delegates)
	{
		/* the exact bytes as they will be executed are the delegate object printed */
		char *bytes = cJSON_PrintUnformatted(d);
		int ret;

		if (!bytes)
			return cni_err_oom(err);
		ret = meta_plan_add(plan, bytes, strlen(bytes), NULL, err);
		free(bytes);
		if (ret < 0)
			return -1;
	}
	return 0;
}

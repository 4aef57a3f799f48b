/* meta/dra.c: ResourceClaims and ResourceSlices of one ADD, from a daemon's watch caches or
 * through the REST client, read by k8s/dra. Follows Multus pkg/draclient/draclient.go: claims
 * cached per call, slices listed once per driver with field selectors spec.nodeName and
 * spec.driver. */
#include "meta/dra.h"

#include <errno.h>
#include <stdlib.h>

#include "cni/log.h"
#include "k8s/objects.h"
#include "meta/kube.h"

const char *meta_dra_source_name(enum meta_dra_source s)
{
	return s == META_DRA_CACHED ? "cache" : s == META_DRA_LIVE ? "live" : "";
}

/* Claim ns/name from the cache: 1 with *out, 0 when it must be fetched live (counted when the
 * cache holds claims), -ENOMEM. */
static int claim_from_cache(struct meta_kube_cache *cache, const char *ns, const char *name,
			    cJSON **out)
{
	struct k8s_claim *cl;

	if (!cache || !cache->claims)
		return 0;
	errno = 0;
	cl = k8s_store_synced(cache->claims) ? k8s_store_get_claim(cache->claims, ns, name) : NULL;
	if (!cl && errno == ENOMEM)
		return -ENOMEM;
	if (!cl) {
		atomic_fetch_add(&cache->claims_by[META_DRA_LIVE], 1);
		log_verbose("resourceclaim %s/%s: not in the cache; asking the API", ns, name);
		return 0;
	}
	*out = k8s_claim_to_json(cl);
	free(cl);
	if (!*out)
		return -ENOMEM;
	atomic_fetch_add(&cache->claims_by[META_DRA_CACHED], 1);
	return 1;
}

/* The node's slices of driver from the cache: 1 with *out, 0 when they must be listed live
 * (none cached, or not synced; counted when the cache holds slices), -ENOMEM. */
static int slices_from_cache(struct meta_kube_cache *cache, const char *driver, cJSON **out)
{
	size_t n = 0;
	bool synced;

	if (!cache || !cache->slices)
		return 0;
	synced = k8s_store_synced(cache->slices);
	*out = synced ? k8s_store_slice_list(cache->slices, driver, &n) : NULL;
	if (!*out && synced)
		return -ENOMEM;
	if (!n) {
		cJSON_Delete(*out);
		*out = NULL;
		atomic_fetch_add(&cache->slices_by[META_DRA_LIVE], 1);
		log_verbose("resourceslices of driver %s: none in the cache; asking the API",
			    driver);
		return 0;
	}
	atomic_fetch_add(&cache->slices_by[META_DRA_CACHED], 1);
	return 1;
}

int meta_dra_load(struct k8s_client *c, struct meta_kube_cache *cache, const cJSON *pod,
		  struct k8s_devmap *devices, struct k8s_dra *dra, struct cni_err *err)
{
	static const char *const none = "";
	const char *ns = k8s_object_meta(pod, "namespace"), *node = NULL;
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec"), *n;
	struct k8s_dra_claim_ref *refs = NULL;
	size_t nrefs = 0;
	int ret = -1;

	if (k8s_dra_pod_claims(pod, &refs, &nrefs, err) < 0)
		return -1;
	if (!nrefs)
		return 0;
	ns = ns ? ns : none;
	n = cJSON_IsObject(spec) ? cJSON_GetObjectItemCaseSensitive(spec, "nodeName") : NULL;
	node = n && cJSON_IsString(n) && n->valuestring && *n->valuestring ? n->valuestring : NULL;
	if (!node) {
		const char *name = k8s_object_meta(pod, "name");

		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "pod \"%s/%s\" uses ResourceClaims but has no spec.nodeName", ns,
			    name ? name : "");
		goto out;
	}
	for (size_t i = 0; i < nrefs; i++) {
		cJSON *claim = NULL;
		int got = claim_from_cache(cache, ns, refs[i].name, &claim);

		if (got == 0)
			got = k8s_get_resource_claim(c, ns, refs[i].name, &claim, err);
		else if (got < 0)
			got = cni_err_oom(err);
		if (got >= 0)
			got = k8s_dra_add_claim(dra, ns, &refs[i], claim, err);
		cJSON_Delete(claim);
		if (got < 0)
			goto out;
	}
	for (size_t i = 0; i < dra->ndrivers; i++) {
		cJSON *list = NULL;
		int got = slices_from_cache(cache, dra->drivers[i], &list);

		if (got == 0)
			got = k8s_list_resource_slices(c, node, dra->drivers[i], &list, err);
		else if (got < 0)
			got = cni_err_oom(err);
		if (got >= 0)
			got = k8s_dra_add_slices(dra, dra->drivers[i], node, list, err);
		cJSON_Delete(list);
		if (got < 0)
			goto out;
	}
	ret = k8s_dra_resolve(dra, ns, err) < 0 || k8s_dra_merge(devices, dra, err) < 0 ? -1 : 0;
out:
	free(refs);
	return ret;
}

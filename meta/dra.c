/* meta/dra.c: ResourceClaims and ResourceSlices of one ADD through the REST client, read by
 * k8s/dra. Follows Multus pkg/draclient/draclient.go: claims cached per call, slices listed
 * once per driver with field selectors spec.nodeName and spec.driver. */
#include "meta/dra.h"

#include <errno.h>
#include <stdlib.h>

#include "k8s/objects.h"

int meta_dra_load(struct k8s_client *c, const cJSON *pod, struct k8s_devmap *devices,
		  struct k8s_dra *dra, struct cni_err *err)
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
		int got = k8s_get_resource_claim(c, ns, refs[i].name, &claim, err);

		if (got == 0)
			got = k8s_dra_add_claim(dra, ns, &refs[i], claim, err);
		cJSON_Delete(claim);
		if (got < 0)
			goto out;
	}
	for (size_t i = 0; i < dra->ndrivers; i++) {
		cJSON *list = NULL;
		int got = k8s_list_resource_slices(c, node, dra->drivers[i], &list, err);

		if (got == 0)
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

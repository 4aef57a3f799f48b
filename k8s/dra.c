/* k8s/dra.c: the pod's ResourceClaims and the node's ResourceSlices, read into device IDs per
 * resourceName. Follows Multus pkg/draclient/draclient.go (GetPodResourceMap): results by
 * driver/pool/device, the two k8s.cni.cncf.io attributes, devices lacking them skipped. */
#include "k8s/dra.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"

static const cJSON *path_get(const cJSON *o, const char *const *keys)
{
	for (; o && *keys; keys++)
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, *keys) : NULL;
	return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *s = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;

	return s && cJSON_IsString(s) && s->valuestring && *s->valuestring ? s->valuestring : NULL;
}

static int push_ref(struct k8s_dra_claim_ref **refs, size_t *n, const char *name, bool extended,
		    const cJSON *mappings, struct cni_err *err)
{
	struct k8s_dra_claim_ref *r;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*refs)[i].name, name) == 0) {
			(*refs)[i].extended = (*refs)[i].extended || extended;
			if (extended)
				(*refs)[i].mappings = mappings;
			return 0;
		}
	r = realloc(*refs, (*n + 1) * sizeof(**refs));
	if (!r)
		return cni_err_oom(err);
	*refs = r;
	r[*n].name = name;
	r[*n].extended = extended;
	r[*n].mappings = mappings;
	(*n)++;
	return 0;
}

int k8s_dra_pod_claims(const cJSON *pod, struct k8s_dra_claim_ref **refs, size_t *n,
		       struct cni_err *err)
{
	static const char *const st_key[] = { "status", NULL };
	const cJSON *st = path_get(pod, st_key), *list = NULL, *ext = NULL, *e, *maps = NULL;

	*refs = NULL;
	*n = 0;
	if (!st || cJSON_IsNull(st))
		return 0;
	if (cni_json_get_array(st, "resourceClaimStatuses", &list, "pod status", err) < 0 ||
	    cni_json_get_object(st, "extendedResourceClaimStatus", &ext, "pod status", err) < 0 ||
	    (ext && cni_json_get_array(ext, "requestMappings", &maps,
				       "pod status.extendedResourceClaimStatus", err) < 0)) {
		err->code = CNI_ERR_DECODE;
		return -1;
	}
	cJSON_ArrayForEach(e, list)
	{
		const char *name = str_of(e, "resourceClaimName");

		if (name && push_ref(refs, n, name, false, NULL, err) < 0)
			goto fail;
	}
	if (ext && str_of(ext, "resourceClaimName") &&
	    push_ref(refs, n, str_of(ext, "resourceClaimName"), true, maps, err) < 0)
		goto fail;
	return 0;
fail:
	free(*refs);
	*refs = NULL;
	*n = 0;
	return -1;
}

static void dev_free(struct k8s_dra_dev *v)
{
	free(v->claim);
	free(v->request);
	free(v->driver);
	free(v->pool);
	free(v->device);
	free(v->want);
	free(v->resource);
	free(v->id);
}

void k8s_dra_free(struct k8s_dra *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		dev_free(&d->dev[i]);
	for (size_t i = 0; i < d->npub; i++)
		dev_free(&d->pub[i]);
	for (size_t i = 0; i < d->ndrivers; i++)
		free(d->drivers[i]);
	free(d->dev);
	free(d->pub);
	free(d->drivers);
	memset(d, 0, sizeof(*d));
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *c = s ? strdup(s) : NULL;

	if (s && !c)
		*oom = true;
	return c;
}

/* Appends a device to *arr; strings are copied (NULL stays NULL). */
static int push_dev(struct k8s_dra_dev **arr, size_t *n, const struct k8s_dra_dev *src,
		    struct cni_err *err)
{
	struct k8s_dra_dev *a = realloc(*arr, (*n + 1) * sizeof(**arr)), *v;
	bool oom = false;

	if (!a)
		return cni_err_oom(err);
	*arr = a;
	v = &a[*n];
	v->claim = dup_or_null(src->claim, &oom);
	v->request = dup_or_null(src->request, &oom);
	v->driver = dup_or_null(src->driver, &oom);
	v->pool = dup_or_null(src->pool, &oom);
	v->device = dup_or_null(src->device, &oom);
	v->want = dup_or_null(src->want, &oom);
	v->resource = dup_or_null(src->resource, &oom);
	v->id = dup_or_null(src->id, &oom);
	(*n)++;
	return oom ? cni_err_oom(err) : 0;
}

static int add_driver(struct k8s_dra *d, const char *driver, struct cni_err *err)
{
	char **a;

	for (size_t i = 0; i < d->ndrivers; i++)
		if (strcmp(d->drivers[i], driver) == 0)
			return 0;
	a = realloc(d->drivers, (d->ndrivers + 1) * sizeof(*a));
	if (!a)
		return cni_err_oom(err);
	d->drivers = a;
	a[d->ndrivers] = strdup(driver);
	if (!a[d->ndrivers])
		return cni_err_oom(err);
	d->ndrivers++;
	return 0;
}

/* The resourceName a mapping gives request, or NULL when no mapping names it. */
static const char *mapped_resource(const cJSON *mappings, const char *request)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, mappings)
	{
		const char *rq = str_of(m, "requestName");

		if (rq && request && strcmp(rq, request) == 0)
			return str_of(m, "resourceName");
	}
	return NULL;
}

int k8s_dra_add_claim(struct k8s_dra *d, const char *ns, const struct k8s_dra_claim_ref *ref,
		      const cJSON *claim, struct cni_err *err)
{
	static const char *const res_key[] = { "status", "allocation", "devices", "results", NULL };
	const cJSON *results = path_get(claim, res_key), *r;
	size_t i = 0;

	if (!cJSON_IsArray(results) || cJSON_GetArraySize(results) == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "ResourceClaim \"%s/%s\" is not allocated (no "
				   "status.allocation.devices.results)",
				   ns, ref->name);
	cJSON_ArrayForEach(r, results)
	{
		struct k8s_dra_dev v = {
			.claim = (char *)ref->name,
			.request = (char *)str_of(r, "request"),
			.driver = (char *)str_of(r, "driver"),
			.pool = (char *)str_of(r, "pool"),
			.device = (char *)str_of(r, "device"),
		};

		if (!v.driver || !v.pool || !v.device)
			return cni_err_set(err, CNI_ERR_DECODE,
					   "ResourceClaim \"%s/%s\": "
					   "status.allocation.devices.results[%zu] lacks driver, "
					   "pool or device",
					   ns, ref->name, i);
		i++;
		if (ref->extended) {
			v.want = (char *)mapped_resource(ref->mappings, v.request);
			if (!v.want)
				continue;
		}
		if (push_dev(&d->dev, &d->n, &v, err) < 0 || add_driver(d, v.driver, err) < 0)
			return -1;
	}
	return 0;
}

/* The string value of attribute key of a slice device ({"string": "..."}), or NULL. */
static const char *attr_string(const cJSON *attrs, const char *key)
{
	const cJSON *a =
	    cJSON_IsObject(attrs) ? cJSON_GetObjectItemCaseSensitive(attrs, key) : NULL;

	return str_of(a, "string");
}

int k8s_dra_add_slices(struct k8s_dra *d, const char *driver, const char *node, const cJSON *list,
		       struct cni_err *err)
{
	static const char *const pool_key[] = { "spec", "pool", "name", NULL };
	const cJSON *items = NULL, *it;
	size_t seen = 0, i = 0;

	if (!cJSON_IsObject(list))
		return cni_err_set(err, CNI_ERR_DECODE,
				   "ResourceSliceList of driver \"%s\" is not a JSON object",
				   driver);
	if (cni_json_get_array(list, "items", &items, "ResourceSliceList", err) < 0) {
		err->code = CNI_ERR_DECODE;
		return -1;
	}
	cJSON_ArrayForEach(it, items)
	{
		static const char *const drv_key[] = { "spec", "driver", NULL };
		static const char *const devs_key[] = { "spec", "devices", NULL };
		const cJSON *drv = path_get(it, drv_key), *pool = path_get(it, pool_key);
		const cJSON *devs = path_get(it, devs_key), *dv;

		i++;
		if (!cJSON_IsString(drv) || strcmp(drv->valuestring, driver) != 0)
			continue;
		if (!cJSON_IsString(pool) || (devs && !cJSON_IsArray(devs) && !cJSON_IsNull(devs)))
			return cni_err_set(
			    err, CNI_ERR_DECODE,
			    "ResourceSlice items[%zu] of driver \"%s\": spec.pool.name "
			    "or spec.devices malformed",
			    i - 1, driver);
		seen++;
		cJSON_ArrayForEach(dv, devs)
		{
			const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(dv, "attributes");
			struct k8s_dra_dev v = {
				.driver = (char *)driver,
				.pool = pool->valuestring,
				.device = (char *)str_of(dv, "name"),
				.resource = (char *)attr_string(attrs, K8S_DRA_ATTR_RESOURCE),
				.id = (char *)attr_string(attrs, K8S_DRA_ATTR_DEVICE_ID),
			};

			if (v.device && push_dev(&d->pub, &d->npub, &v, err) < 0)
				return -1;
		}
	}
	if (!seen)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "no ResourceSlice of driver \"%s\" on node \"%s\"", driver,
				   node ? node : "");
	return 0;
}

static const struct k8s_dra_dev *published(const struct k8s_dra *d, const struct k8s_dra_dev *v)
{
	for (size_t i = 0; i < d->npub; i++) {
		const struct k8s_dra_dev *p = &d->pub[i];

		if (strcmp(p->driver, v->driver) == 0 && strcmp(p->pool, v->pool) == 0 &&
		    strcmp(p->device, v->device) == 0)
			return p;
	}
	return NULL;
}

int k8s_dra_resolve(struct k8s_dra *d, const char *ns, struct cni_err *err)
{
	for (size_t i = 0; i < d->n; i++) {
		struct k8s_dra_dev *v = &d->dev[i];
		const struct k8s_dra_dev *p = published(d, v);

		free(v->resource);
		free(v->id);
		v->resource = v->id = NULL;
		if (!p || !p->resource || !p->id)
			continue;
		if (v->want && strcmp(v->want, p->resource) != 0)
			return cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "ResourceClaim \"%s/%s\" request \"%s\": device "
			    "\"%s/%s\" of driver \"%s\" has resourceName \"%s\", not "
			    "the extended resource \"%s\"",
			    ns, v->claim, v->request ? v->request : "", v->pool, v->device,
			    v->driver, p->resource, v->want);
		v->resource = strdup(p->resource);
		v->id = strdup(p->id);
		if (!v->resource || !v->id)
			return cni_err_oom(err);
	}
	return 0;
}

static int res_cmp(const void *a, const void *b)
{
	return strcmp(((const struct k8s_devres *)a)->resource,
		      ((const struct k8s_devres *)b)->resource);
}

int k8s_dra_merge(struct k8s_devmap *m, const struct k8s_dra *d, struct cni_err *err)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_dra_dev *v = &d->dev[i];
		struct k8s_devres *r;
		char **ids;

		if (!v->resource || !v->id)
			continue;
		r = k8s_devmap_find(m, v->resource);
		if (!r) {
			struct k8s_devres *a = realloc(m->res, (m->n + 1) * sizeof(*a));

			if (!a)
				return cni_err_oom(err);
			m->res = a;
			r = &a[m->n];
			memset(r, 0, sizeof(*r));
			r->resource = strdup(v->resource);
			if (!r->resource)
				return cni_err_oom(err);
			m->n++;
			qsort(m->res, m->n, sizeof(*m->res), res_cmp);
			r = k8s_devmap_find(m, v->resource);
		}
		ids = realloc(r->ids, (r->nids + 1) * sizeof(*ids));
		if (!ids)
			return cni_err_oom(err);
		r->ids = ids;
		ids[r->nids] = strdup(v->id);
		if (!ids[r->nids])
			return cni_err_oom(err);
		r->nids++;
	}
	return 0;
}

char *k8s_dra_resource_names(const struct k8s_dra *d)
{
	size_t len = 5;
	char *s;

	for (size_t i = 0; i < d->n; i++)
		if (d->dev[i].resource)
			len += strlen(d->dev[i].resource) + 4;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (size_t i = 0; i < d->n; i++) {
		const char *r = d->dev[i].resource;
		bool dup = false;

		for (size_t j = 0; r && j < i; j++)
			dup = dup || (d->dev[j].resource && strcmp(d->dev[j].resource, r) == 0);
		if (r && !dup)
			snprintf(s + strlen(s), len - strlen(s), "%s\"%s\"", *s ? ", " : "", r);
	}
	if (!*s)
		snprintf(s, len, "none");
	return s;
}

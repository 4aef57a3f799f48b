/* k8s/drarec.c: ResourceClaims and ResourceSlices trimmed for the watch caches and rebuilt for
 * k8s/dra (see k8s/drarec.h and k8s/store.h). */
#include "k8s/drarec.h"

#include <errno.h>
#include <string.h>

#include "k8s/dra.h"
#include "k8s/objects.h"
#include "k8s/store.h"

static const cJSON *at(const cJSON *o, const char *const *keys)
{
	for (; o && *keys; keys++)
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, *keys) : NULL;
	return o;
}

static bool is(const cJSON *o, const char *key, const char *want)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));

	return v && strcmp(v, want) == 0;
}

static bool names_node(const cJSON *req, const char *node)
{
	const cJSON *v;

	if (!is(req, "key", "metadata.name") || !is(req, "operator", "In"))
		return false;
	cJSON_ArrayForEach(
	    v, cJSON_GetObjectItemCaseSensitive(req, "values")) if (cJSON_IsString(v) &&
								    strcmp(v->valuestring, node) ==
									0) return true;
	return false;
}

bool k8s_drarec_claim_on_node(const cJSON *claim, const char *node)
{
	static const char *const terms_key[] = { "status", "allocation", "nodeSelector",
						 "nodeSelectorTerms", NULL };
	const cJSON *t, *req;

	if (!node)
		return true;
	cJSON_ArrayForEach(t, at(claim, terms_key))
	{
		cJSON_ArrayForEach(req,
				   cJSON_GetObjectItemCaseSensitive(
				       t, "matchFields")) if (names_node(req, node)) return true;
	}
	return false;
}

/* dst[key] = a copy of src[key] when that is a string; false on OOM. */
static bool copy_string(cJSON *dst, const cJSON *src, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, key));

	return !v || cJSON_AddStringToObject(dst, key, v);
}

static int print_to(cJSON *arr, char **out)
{
	*out = arr ? cJSON_PrintUnformatted(arr) : NULL;
	cJSON_Delete(arr);
	return *out ? 0 : -ENOMEM;
}

int k8s_drarec_claim_results(const cJSON *claim, char **out)
{
	static const char *const res_key[] = { "status", "allocation", "devices", "results", NULL };
	static const char *const keep[] = { "request", "driver", "pool", "device" };
	const cJSON *results = at(claim, res_key), *r;
	cJSON *arr;

	*out = NULL;
	if (!cJSON_IsArray(results))
		return 0;
	arr = cJSON_CreateArray();
	if (!arr)
		return -ENOMEM;
	cJSON_ArrayForEach(r, results)
	{
		cJSON *o = cJSON_CreateObject();
		bool ok = o && cJSON_AddItemToArray(arr, o);

		if (!ok)
			cJSON_Delete(o);
		for (size_t i = 0; ok && i < sizeof(keep) / sizeof(keep[0]); i++)
			ok = copy_string(o, r, keep[i]);
		if (!ok) {
			cJSON_Delete(arr);
			return -ENOMEM;
		}
	}
	return print_to(arr, out);
}

/* The string value of attribute key ({"string": "..."}), or NULL. */
static const char *attr(const cJSON *attrs, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(attrs, key);

	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "string"));
}

/* {"name": name, "attributes": {resource, id as {"string": ...}}}, or NULL on OOM. */
static cJSON *device(const char *name, const char *resource, const char *id)
{
	cJSON *d = cJSON_CreateObject(), *a = d ? cJSON_AddObjectToObject(d, "attributes") : NULL;
	cJSON *r = a ? cJSON_AddObjectToObject(a, K8S_DRA_ATTR_RESOURCE) : NULL;
	cJSON *i = a ? cJSON_AddObjectToObject(a, K8S_DRA_ATTR_DEVICE_ID) : NULL;

	if (r && i && cJSON_AddStringToObject(d, "name", name) &&
	    cJSON_AddStringToObject(r, "string", resource) &&
	    cJSON_AddStringToObject(i, "string", id))
		return d;
	cJSON_Delete(d);
	return NULL;
}

int k8s_drarec_slice_devices(const cJSON *slice, char **out)
{
	static const char *const devs_key[] = { "spec", "devices", NULL };
	const cJSON *dv;
	cJSON *arr = cJSON_CreateArray();

	*out = NULL;
	if (!arr)
		return -ENOMEM;
	cJSON_ArrayForEach(dv, at(slice, devs_key))
	{
		const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(dv, "attributes");
		const char *name =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dv, "name"));
		const char *res = attr(attrs, K8S_DRA_ATTR_RESOURCE);
		const char *id = attr(attrs, K8S_DRA_ATTR_DEVICE_ID);
		cJSON *d;

		if (!name || !*name || !res || !*res || !id || !*id)
			continue;
		d = device(name, res, id);
		if (!d || !cJSON_AddItemToArray(arr, d)) {
			cJSON_Delete(d);
			cJSON_Delete(arr);
			return -ENOMEM;
		}
	}
	return print_to(arr, out);
}

/* obj[key] = the parsed text (skipped when text is NULL); false on OOM. */
static bool add_parsed(cJSON *obj, const char *key, const char *text)
{
	cJSON *v;

	if (!text)
		return true;
	v = cJSON_Parse(text);
	if (v && cJSON_AddItemToObject(obj, key, v))
		return true;
	cJSON_Delete(v);
	return false;
}

cJSON *k8s_claim_to_json(const struct k8s_claim *c)
{
	cJSON *o = k8s_object_new("resource.k8s.io/v1", "ResourceClaim", c->namespace, c->name,
				  c->resource_version);
	cJSON *st = o ? cJSON_AddObjectToObject(o, "status") : NULL;
	cJSON *al = st ? cJSON_AddObjectToObject(st, "allocation") : NULL;
	cJSON *dv = al ? cJSON_AddObjectToObject(al, "devices") : NULL;

	if (dv && add_parsed(dv, "results", c->results))
		return o;
	cJSON_Delete(o);
	return NULL;
}

cJSON *k8s_slice_to_json(const struct k8s_slice *s)
{
	cJSON *o = k8s_object_new("resource.k8s.io/v1", "ResourceSlice", s->namespace, s->name,
				  s->resource_version);
	cJSON *sp = o ? cJSON_AddObjectToObject(o, "spec") : NULL;
	cJSON *pool = sp ? cJSON_AddObjectToObject(sp, "pool") : NULL;

	if (pool && cJSON_AddStringToObject(sp, "driver", s->driver) &&
	    (!*s->node || cJSON_AddStringToObject(sp, "nodeName", s->node)) &&
	    cJSON_AddStringToObject(pool, "name", s->pool) && add_parsed(sp, "devices", s->devices))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* test/fuzz/fuzz_dra.c: libFuzzer harness: a pod, a ResourceClaim and a ResourceSliceList, as
 * JSON separated by NUL bytes, through k8s/dra.h as meta/dra.c drives it.
 * Invariants: a resolved device has both attributes or neither, never an empty one; merging
 * adds exactly the resolved devices to an empty map; every name listed is a resolved one. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "k8s/dra.h"

/* The idx-th NUL-separated part of data, parsed (NULL when absent or not JSON). */
static cJSON *part(const uint8_t *data, size_t size, int idx)
{
	size_t start = 0, end;

	for (; idx > 0 && start < size; start++)
		if (data[start] == 0)
			idx--;
	if (idx > 0 || start >= size)
		return NULL;
	for (end = start; end < size && data[end]; end++)
		;
	return cJSON_ParseWithLength((const char *)data + start, end - start);
}

static void check(const struct k8s_dra *d)
{
	struct k8s_devmap *m = calloc(1, sizeof(*m));
	struct cni_err err = { 0 };
	size_t resolved = 0, merged = 0;
	char *names;

	if (!m)
		return;
	for (size_t i = 0; i < d->n; i++) {
		const struct k8s_dra_dev *v = &d->dev[i];

		if (!v->resource != !v->id || (v->resource && (!*v->resource || !*v->id)))
			abort();
		resolved += v->resource != NULL;
	}
	if (k8s_dra_merge(m, d, &err) == 0) {
		for (size_t i = 0; i < m->n; i++) {
			if (i && strcmp(m->res[i - 1].resource, m->res[i].resource) >= 0)
				abort(); /* resources stay sorted and distinct */
			merged += m->res[i].nids;
		}
		if (merged != resolved)
			abort();
	}
	names = k8s_dra_resource_names(d);
	if (names && resolved == 0 && strcmp(names, "none") != 0)
		abort();
	free(names);
	cni_err_clear(&err);
	k8s_devmap_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *pod = part(data, size, 0), *claim = part(data, size, 1), *list = part(data, size, 2);
	struct k8s_dra_claim_ref *refs = NULL;
	struct k8s_dra d = { 0 };
	struct cni_err err = { 0 };
	size_t n = 0;

	if (k8s_dra_pod_claims(pod, &refs, &n, &err) < 0)
		goto out;
	/* every claim the pod names is the one claim of the input */
	for (size_t i = 0; i < n; i++)
		if (k8s_dra_add_claim(&d, "ns", &refs[i], claim, &err) < 0)
			goto out;
	for (size_t i = 0; i < d.ndrivers; i++)
		if (k8s_dra_add_slices(&d, d.drivers[i], "n1", list, &err) < 0)
			goto out;
	if (k8s_dra_resolve(&d, "ns", &err) == 0)
		check(&d);
out:
	cni_err_clear(&err);
	free(refs);
	k8s_dra_free(&d);
	cJSON_Delete(pod);
	cJSON_Delete(claim);
	cJSON_Delete(list);
	return 0;
}

/* test/fuzz/fuzz_podresources.c: libFuzzer harness: kubelet pod-resources replies (gRPC framing and
 * protobuf through protobuf-c), the kubelet checkpoint file and device ID injection.
 * Invariants: a decoded map is sorted (resources, then the IDs of each), holds no empty ID, and
 * hands out exactly its IDs; an injected config parses again. The first byte picks the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "k8s/deviceinfo.h"
#include "k8s/podresources.h"

static void check_map(struct k8s_devmap *m)
{
	struct cni_err err = { 0 };

	for (size_t i = 0; i < m->n; i++) {
		struct k8s_devres *r = &m->res[i];
		const char *id;

		if (i && strcmp(m->res[i - 1].resource, r->resource) >= 0)
			abort(); /* resources sorted and distinct */
		if (r->nids == 0 || !*r->resource)
			abort();
		for (size_t j = 0; j < r->nids; j++) {
			if (!*r->ids[j] || (j && strcmp(r->ids[j - 1], r->ids[j]) > 0))
				abort();
			if (k8s_devmap_assign(m, r->resource, "fuzz", &id, &err) < 0 ||
			    id != r->ids[j])
				abort(); /* the k-th call gets the k-th ID */
		}
		if (k8s_devmap_assign(m, r->resource, "fuzz", &id, &err) == 0)
			abort();
		cni_err_clear(&err);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	uint8_t *framed;
	char *out;
	int mode;

	if (size < 1)
		return 0;
	mode = data[0] % 5;
	data++;
	size--;
	switch (mode) {
	case 0:
	case 1:
		/* A well-framed message: the fuzzer works on the protobuf itself. */
		framed = malloc(size + 5);
		if (!framed)
			return 0;
		framed[0] = 0;
		framed[1] = (uint8_t)(size >> 24);
		framed[2] = (uint8_t)(size >> 16);
		framed[3] = (uint8_t)(size >> 8);
		framed[4] = (uint8_t)size;
		memcpy(framed + 5, data, size);
		if (k8s_podres_decode(mode == 0 ? K8S_PODRES_FROM_GET : K8S_PODRES_FROM_LIST,
				      framed, size + 5, "ns1", "p1", &m, &err) == 0)
			check_map(m);
		free(framed);
		break;
	case 2:
		/* The raw reply body, framing included. */
		if (k8s_podres_decode(size && data[0] & 1 ? K8S_PODRES_FROM_LIST
							  : K8S_PODRES_FROM_GET,
				      data, size, "ns1", "p1", &m, &err) == 0)
			check_map(m);
		break;
	case 3:
		if (k8s_podres_parse_checkpoint((const char *)data, size, "uid-1", &m, &err) == 0)
			check_map(m);
		break;
	default:
		out = k8s_inject_device_id((const char *)data, size, "0000:00:05.1", &err);
		if (out) {
			cJSON *back = cJSON_Parse(out);

			if (!back)
				abort(); /* our own output must parse */
			cJSON_Delete(back);
			free(out);
		}
		break;
	}
	k8s_devmap_free(m);
	cni_err_clear(&err);
	return 0;
}

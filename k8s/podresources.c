/* k8s/podresources.c: kubelet pod-resources v1 (Get, List fallback) through k8s/grpc.h with
 * protobuf-c messages, and the checkpoint-file fallback. Follows Multus
 * pkg/kubeletclient and pkg/checkpoint. */
#include "k8s/podresources.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cni/json.h"
#include "cni/log.h"
#include "k8s/file.h"
#include "k8s/grpc.h"
#include "k8s/podresources.pb-c.h"

#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_ATTEMPTS    5
#define DEFAULT_BACKOFF_MS  100
#define CHECKPOINT_MAX	    (64u << 20)
#define GET_DISABLED_MSG    "PodResources API Get method disabled"

/* ---- the device map ---- */

struct pair {
	char *res, *id;
};

/* Collects (resource, id) pairs; the map is built from them once, sorted. */
struct builder {
	struct pair *p;
	size_t n, cap;
};

static int builder_add(struct builder *b, const char *res, const char *id)
{
	struct pair *p;

	if (!res || !*res || !id || !*id)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;

		p = realloc(b->p, cap * sizeof(*p));
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	p = &b->p[b->n];
	p->res = strdup(res);
	p->id = strdup(id);
	if (!p->res || !p->id) {
		free(p->res);
		free(p->id);
		return -1;
	}
	b->n++;
	return 0;
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->p[i].res);
		free(b->p[i].id);
	}
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->res, y->res);

	return c ? c : strcmp(x->id, y->id);
}

/* Moves the builder's strings into a new map (the builder is left empty). */
static struct k8s_devmap *builder_finish(struct builder *b, enum k8s_podres_source source)
{
	struct k8s_devmap *m = calloc(1, sizeof(*m));
	size_t i, j;

	if (!m)
		return NULL;
	m->source = source;
	if (b->n)
		qsort(b->p, b->n, sizeof(*b->p), pair_cmp);
	for (i = 0; i < b->n; i = j) {
		struct k8s_devres *r;

		for (j = i; j < b->n && strcmp(b->p[j].res, b->p[i].res) == 0; j++)
			;
		if (!m->res && !(m->res = calloc(b->n, sizeof(*m->res))))
			goto oom;
		r = &m->res[m->n];
		r->ids = calloc(j - i, sizeof(*r->ids));
		if (!r->ids)
			goto oom;
		m->n++;
		r->resource = b->p[i].res;
		b->p[i].res = NULL;
		for (size_t k = i; k < j; k++) {
			r->ids[r->nids++] = b->p[k].id;
			b->p[k].id = NULL;
		}
	}
	builder_free(b);
	return m;
oom:
	k8s_devmap_free(m);
	return NULL;
}

void k8s_devmap_free(struct k8s_devmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < m->res[i].nids; j++)
			free(m->res[i].ids[j]);
		free(m->res[i].ids);
		free(m->res[i].resource);
	}
	free(m->res);
	k8s_devmap_free(m->claims);
	free(m);
}

struct k8s_devres *k8s_devmap_find(const struct k8s_devmap *m, const char *resource)
{
	for (size_t i = 0; m && resource && i < m->n; i++)
		if (strcmp(m->res[i].resource, resource) == 0)
			return &m->res[i];
	return NULL;
}

int k8s_devmap_assign(struct k8s_devmap *m, const char *resource, const char *network,
		      const char **id, struct cni_err *err)
{
	struct k8s_devres *r = k8s_devmap_find(m, resource);

	if (!r || r->nids == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "network \"%s\": the pod has no device of resource \"%s\" (does "
				   "the pod request it in its resources?)",
				   network, resource);
	if (r->next >= r->nids)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "network \"%s\": not enough devices of resource \"%s\": the pod "
				   "has %zu, all taken by earlier attachments",
				   network, resource, r->nids);
	*id = r->ids[r->next++];
	return 0;
}

/* ---- protobuf replies ---- */

/* Multus v4.1-v4.3 pkg/kubeletclient: a DRA claim's devices are the part after '=' of its CDI
 * device names ("vendor/class=NAME"), keyed by the claim's name; names without '=' are skipped. */
static int add_claims(struct builder *cb, const V1__ContainerResources *ctr)
{
	for (size_t r = 0; r < ctr->n_dynamic_resources; r++) {
		const V1__DynamicResource *dr = ctr->dynamic_resources[r];

		for (size_t c = 0; c < dr->n_claim_resources; c++) {
			const V1__ClaimResource *cr = dr->claim_resources[c];

			for (size_t i = 0; i < cr->n_cdi_devices; i++) {
				const char *eq = strchr(cr->cdi_devices[i]->name, '=');

				if (eq && builder_add(cb, dr->claim_name, eq + 1) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int add_pod(struct builder *b, struct builder *cb, const V1__PodResources *pod)
{
	for (size_t c = 0; c < pod->n_containers; c++) {
		const V1__ContainerResources *ctr = pod->containers[c];

		if (add_claims(cb, ctr) < 0)
			return -1;
		for (size_t d = 0; d < ctr->n_devices; d++) {
			const V1__ContainerDevices *dev = ctr->devices[d];

			for (size_t i = 0; i < dev->n_device_ids; i++)
				if (builder_add(b, dev->resource_name, dev->device_ids[i]) < 0)
					return -1;
		}
	}
	return 0;
}

static bool same_pod(const V1__PodResources *pod, const char *ns, const char *name)
{
	return pod && strcmp(pod->name, name) == 0 && strcmp(pod->namespace_, ns) == 0;
}

int k8s_podres_decode(enum k8s_podres_source method, const void *body, size_t len, const char *ns,
		      const char *name, struct k8s_devmap **out, struct cni_err *err)
{
	const uint8_t *p = body;
	struct builder b = { 0 }, cb = { 0 };
	V1__ListPodResourcesResponse *list = NULL;
	V1__GetPodResourcesResponse *get = NULL;
	uint32_t mlen;
	int ret = -1;

	*out = NULL;
	if (len < K8S_GRPC_PREFIX)
		return cni_err_set(err, CNI_ERR_DECODE,
				   "reply: %zu bytes, shorter than a gRPC message prefix", len);
	mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (p[0] != 0)
		return cni_err_set(
		    err, CNI_ERR_DECODE,
		    "reply: message flags 0x%02x (compressed or unknown), expected 0", p[0]);
	if (mlen > K8S_PODRES_MSG_MAX)
		return cni_err_set(err, CNI_ERR_DECODE, "reply exceeds the %u MiB limit (%u bytes)",
				   K8S_PODRES_MSG_MAX >> 20, mlen);
	if (mlen != len - K8S_GRPC_PREFIX)
		return cni_err_set(err, CNI_ERR_DECODE,
				   "reply: message of %u bytes announced, %zu bytes received", mlen,
				   len - K8S_GRPC_PREFIX);
	if (method == K8S_PODRES_FROM_GET) {
		get = v1__get_pod_resources_response__unpack(NULL, mlen, p + K8S_GRPC_PREFIX);
		if (!get) {
			cni_err_set(err, CNI_ERR_DECODE,
				    "reply: not a v1.GetPodResourcesResponse message");
			goto out;
		}
		/* Kubelet answers Get with the pod asked for; anything else is a confused peer. */
		if (get->pod_resources && !same_pod(get->pod_resources, ns, name)) {
			cni_err_set(err, CNI_ERR_DECODE,
				    "reply: Get for %s/%s answered with pod \"%s/%s\"", ns, name,
				    get->pod_resources->namespace_, get->pod_resources->name);
			goto out;
		}
		if (get->pod_resources && add_pod(&b, &cb, get->pod_resources) < 0)
			goto oom;
	} else {
		list = v1__list_pod_resources_response__unpack(NULL, mlen, p + K8S_GRPC_PREFIX);
		if (!list) {
			cni_err_set(err, CNI_ERR_DECODE,
				    "reply: not a v1.ListPodResourcesResponse message");
			goto out;
		}
		/* Multus matches namespace and name, not the UID (List does not carry it). */
		for (size_t i = 0; i < list->n_pod_resources; i++)
			if (same_pod(list->pod_resources[i], ns, name) &&
			    add_pod(&b, &cb, list->pod_resources[i]) < 0)
				goto oom;
	}
	*out = builder_finish(&b, method);
	if (*out && cb.n && !((*out)->claims = builder_finish(&cb, method))) {
		k8s_devmap_free(*out);
		*out = NULL;
	}
	if (*out) {
		ret = 0;
		goto out;
	}
oom:
	cni_err_oom(err);
out:
	builder_free(&b);
	builder_free(&cb);
	if (get)
		v1__get_pod_resources_response__free_unpacked(get, NULL);
	if (list)
		v1__list_pod_resources_response__free_unpacked(list, NULL);
	return ret;
}

/* ---- the checkpoint file ---- */

static int add_id_list(struct builder *b, const char *res, const cJSON *ids, size_t entry,
		       struct cni_err *err)
{
	const cJSON *id;

	cJSON_ArrayForEach(id, ids)
	{
		if (!cJSON_IsString(id))
			return cni_err_set(err, CNI_ERR_DECODE,
					   "Data.PodDeviceEntries[%zu].DeviceIDs: a device ID is "
					   "not a string",
					   entry);
		if (builder_add(b, res, id->valuestring) < 0)
			return cni_err_oom(err);
	}
	return 0;
}

int k8s_podres_parse_checkpoint(const char *text, size_t len, const char *uid,
				struct k8s_devmap **out, struct cni_err *err)
{
	struct builder b = { 0 };
	const cJSON *data = NULL, *entries = NULL, *e;
	cJSON *root;
	size_t i = 0;

	*out = NULL;
	root = cni_json_parse(text, len, "checkpoint", err);
	if (!root)
		return -1;
	if (!cJSON_IsObject(root)) {
		cni_err_set(err, CNI_ERR_DECODE, "checkpoint is not a JSON object");
		goto fail;
	}
	if (cni_json_get_object(root, "Data", &data, "checkpoint", err) < 0 ||
	    (data &&
	     cni_json_get_array(data, "PodDeviceEntries", &entries, "checkpoint Data", err) < 0)) {
		err->code = CNI_ERR_DECODE;
		goto fail;
	}
	cJSON_ArrayForEach(e, entries)
	{
		const char *pod_uid = NULL, *res = NULL;
		const cJSON *ids;

		if (!cJSON_IsObject(e) ||
		    cni_json_get_string(e, "PodUID", &pod_uid, "checkpoint entry", err) < 0 ||
		    cni_json_get_string(e, "ResourceName", &res, "checkpoint entry", err) < 0) {
			cni_err_set(err, CNI_ERR_DECODE,
				    "Data.PodDeviceEntries[%zu]: not an object with string PodUID "
				    "and ResourceName",
				    i);
			goto fail;
		}
		ids = cJSON_GetObjectItemCaseSensitive(e, "DeviceIDs");
		if (pod_uid && uid && strcmp(pod_uid, uid) == 0 && res) {
			/* Kubelet < 1.20 wrote a list; later ones a map NUMA node -> list. */
			if (cJSON_IsArray(ids)) {
				if (add_id_list(&b, res, ids, i, err) < 0)
					goto fail;
			} else if (cJSON_IsObject(ids)) {
				const cJSON *node;

				cJSON_ArrayForEach(node, ids)
				{
					if (!cJSON_IsArray(node)) {
						cni_err_set(err, CNI_ERR_DECODE,
							    "Data.PodDeviceEntries[%zu].DeviceIDs"
							    "[\"%s\"] is not a list",
							    i, node->string);
						goto fail;
					}
					if (add_id_list(&b, res, node, i, err) < 0)
						goto fail;
				}
			} else if (ids && !cJSON_IsNull(ids)) {
				cni_err_set(
				    err, CNI_ERR_DECODE,
				    "Data.PodDeviceEntries[%zu].DeviceIDs is neither a list "
				    "nor a map of lists",
				    i);
				goto fail;
			}
		}
		i++;
	}
	*out = builder_finish(&b, K8S_PODRES_FROM_CHECKPOINT);
	if (!*out) {
		cni_err_oom(err);
		goto fail;
	}
	cJSON_Delete(root);
	return 0;
fail:
	builder_free(&b);
	cJSON_Delete(root);
	return -1;
}

static int from_checkpoint(const char *path, const char *uid, struct k8s_devmap **out,
			   struct cni_err *err)
{
	char *text;
	size_t len = 0;
	int ret;

	if (!uid || !*uid)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "kubelet checkpoint %s: the pod's UID is unknown, and the "
				   "checkpoint is keyed by it",
				   path);
	text =
	    k8s_read_file("kubelet checkpoint", path, CHECKPOINT_MAX, CNI_FILE_FOLLOW, &len, err);
	if (!text && errno == ENOENT)
		return cni_err_set(err, CNI_ERR_IO, "kubelet checkpoint %s: %s", path,
				   strerror(ENOENT));
	if (!text)
		return -1;
	ret = k8s_podres_parse_checkpoint(text, len, uid, out, err);
	if (ret < 0)
		cni_err_prefix(err, "kubelet checkpoint %s", path);
	free(text);
	return ret;
}

static bool get_is_unsupported(const struct k8s_grpc_reply *r)
{
	return r->grpc_status == K8S_GRPC_UNIMPLEMENTED ||
	       (r->grpc_status == K8S_GRPC_UNKNOWN && r->grpc_message &&
		strcmp(r->grpc_message, GET_DISABLED_MSG) == 0);
}

static int from_socket(struct k8s_grpc_call *x, const char *ns, const char *name,
		       struct k8s_devmap **out, struct cni_err *err)
{
	V1__GetPodResourcesRequest get = V1__GET_POD_RESOURCES_REQUEST__INIT;
	V1__ListPodResourcesRequest list = V1__LIST_POD_RESOURCES_REQUEST__INIT;
	enum k8s_podres_source method = K8S_PODRES_FROM_GET;
	struct k8s_grpc_reply r = { .grpc_status = -1 };
	uint8_t req[600];
	size_t reqlen;
	int ret = -1;

	if (k8s_grpc_open(x, err) < 0)
		goto fail;
	get.pod_name = (char *)name;
	get.pod_namespace = (char *)ns;
	reqlen = k8s_grpc_frame(req, sizeof(req), &get.base);
	if (!reqlen) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "pod name or namespace too long");
		goto fail;
	}
	if (k8s_grpc_invoke(x, "Get", req, reqlen, &r, err) < 0)
		goto fail;
	if (get_is_unsupported(&r)) {
		log_verbose("kubelet pod-resources Get (%s): %s; using List", x->socket, err->msg);
		cni_err_clear(err);
		method = K8S_PODRES_FROM_LIST;
		reqlen = k8s_grpc_frame(req, sizeof(req), &list.base);
		if (k8s_grpc_invoke(x, "List", req, reqlen, &r, err) < 0)
			goto fail;
	}
	if (r.grpc_status != K8S_GRPC_OK)
		goto fail;
	if (k8s_podres_decode(method, r.body.data, r.body.len, ns, name, out, err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	cni_err_prefix(err, "kubelet pod-resources %s (%s)",
		       method == K8S_PODRES_FROM_GET ? "Get" : "List", x->socket);
out:
	k8s_grpc_reply_reset(&r);
	return ret;
}

int k8s_podres_get(const struct k8s_podres_opts *opts, const char *ns, const char *name,
		   const char *uid, struct k8s_devmap **out, struct cni_err *err)
{
	struct k8s_podres_opts o = { 0 };
	struct k8s_grpc_call x = { 0 };
	struct stat st;
	int ret;

	*out = NULL;
	if (opts)
		o = *opts;
	if (!o.socket || !*o.socket)
		o.socket = K8S_PODRES_DEFAULT_SOCKET;
	if (!o.checkpoint || !*o.checkpoint)
		o.checkpoint = K8S_PODRES_DEFAULT_CHECKPOINT;
	if (o.deadline_ms <= 0)
		o.deadline_ms = DEFAULT_DEADLINE_MS;
	if (o.max_attempts <= 0)
		o.max_attempts = DEFAULT_ATTEMPTS;
	if (o.backoff_ms <= 0)
		o.backoff_ms = DEFAULT_BACKOFF_MS;
	if (!ns || !name)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "kubelet pod-resources: pod namespace and name are required");
	/* Multus's rule: no socket file at all means no pod-resources service on this node. */
	if (stat(o.socket, &st) < 0 && errno == ENOENT) {
		log_verbose("kubelet pod-resources socket %s is absent; reading %s", o.socket,
			    o.checkpoint);
		return from_checkpoint(o.checkpoint, uid, out, err);
	}
	x.socket = o.socket;
	x.service = "v1.PodResourcesLister";
	x.what = "kubelet pod-resources";
	x.msg_max = K8S_PODRES_MSG_MAX;
	x.max_attempts = o.max_attempts;
	x.backoff_ms = o.backoff_ms;
	x.start = k8s_now_ms();
	x.deadline = x.start + o.deadline_ms;
	ret = from_socket(&x, ns, name, out, err);
	k8s_grpc_close(&x);
	return ret;
}

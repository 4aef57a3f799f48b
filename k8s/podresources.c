/* k8s/podresources.c: kubelet pod-resources v1 over gRPC (libcurl, HTTP/2 prior knowledge on the
 * unix socket, protobuf-c messages) and the checkpoint-file fallback. Follows multus.md §4. */
#include "k8s/podresources.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cni/json.h"
#include "cni/log.h"
#include "k8s/curl.h"
#include "k8s/podresources.pb-c.h"

#define DEFAULT_DEADLINE_MS 10000
#define DEFAULT_ATTEMPTS    5
#define DEFAULT_BACKOFF_MS  100
#define BACKOFF_CAP_MS	    1000
#define CHECKPOINT_MAX	    (64u << 20)
#define GRPC_PREFIX	    5
#define GET_DISABLED_MSG    "PodResources API Get method disabled"

enum grpc_code {
	GRPC_OK = 0,
	GRPC_UNKNOWN = 2,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_UNAVAILABLE = 14,
};

static const char *const grpc_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

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

static int add_pod(struct builder *b, const V1__PodResources *pod)
{
	for (size_t c = 0; c < pod->n_containers; c++) {
		const V1__ContainerResources *ctr = pod->containers[c];

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
	struct builder b = { 0 };
	V1__ListPodResourcesResponse *list = NULL;
	V1__GetPodResourcesResponse *get = NULL;
	uint32_t mlen;
	int ret = -1;

	*out = NULL;
	if (len < GRPC_PREFIX)
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
	if (mlen != len - GRPC_PREFIX)
		return cni_err_set(err, CNI_ERR_DECODE,
				   "reply: message of %u bytes announced, %zu bytes received", mlen,
				   len - GRPC_PREFIX);
	if (method == K8S_PODRES_FROM_GET) {
		get = v1__get_pod_resources_response__unpack(NULL, mlen, p + GRPC_PREFIX);
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
		if (get->pod_resources && add_pod(&b, get->pod_resources) < 0)
			goto oom;
	} else {
		list = v1__list_pod_resources_response__unpack(NULL, mlen, p + GRPC_PREFIX);
		if (!list) {
			cni_err_set(err, CNI_ERR_DECODE,
				    "reply: not a v1.ListPodResourcesResponse message");
			goto out;
		}
		/* Multus matches namespace and name, not the UID (List does not carry it). */
		for (size_t i = 0; i < list->n_pod_resources; i++)
			if (same_pod(list->pod_resources[i], ns, name) &&
			    add_pod(&b, list->pod_resources[i]) < 0)
				goto oom;
	}
	*out = builder_finish(&b, method);
	if (!*out)
		goto oom;
	ret = 0;
	goto out;
oom:
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
out:
	builder_free(&b);
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
			return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, ret = -1;

	if (!uid || !*uid)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "kubelet checkpoint %s: the pod's UID is unknown, and the "
				   "checkpoint is keyed by it",
				   path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IO, "kubelet checkpoint %s: %s", path,
				   strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)CHECKPOINT_MAX) {
		cni_err_set(err, CNI_ERR_IO, "kubelet checkpoint %s: %s", path,
			    !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 64 MiB");
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cni_err_set(err, CNI_ERR_IO, "kubelet checkpoint %s: %s", path,
				    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	ret = k8s_podres_parse_checkpoint(text, got, uid, out, err);
	if (ret < 0)
		cni_err_prefix(err, "kubelet checkpoint %s", path);
out:
	free(text);
	close(fd);
	return ret;
}

/* ---- gRPC over libcurl ---- */

struct reply {
	uint8_t *body;
	size_t n, cap;
	bool too_big;
	long http_status;
	int grpc_status; /* -1 until seen */
	char *grpc_message;
};

struct call {
	const char *socket;
	CURL *h;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	long start, deadline; /* monotonic ms */
	const struct k8s_podres_opts *o;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;

	/* One message and its prefix at most; the prefix's length is checked as soon as it is
	 * in, so an oversize message is refused before it arrives. */
	if (r->n + n > K8S_PODRES_MSG_MAX + GRPC_PREFIX) {
		r->too_big = true;
		return 0;
	}
	if (r->n + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		uint8_t *g;

		while (cap < r->n + n)
			cap *= 2;
		g = realloc(r->body, cap);
		if (!g)
			return 0;
		r->body = g;
		r->cap = cap;
	}
	memcpy(r->body + r->n, data, n);
	r->n += n;
	if (r->n >= GRPC_PREFIX) {
		uint32_t mlen = (uint32_t)r->body[1] << 24 | (uint32_t)r->body[2] << 16 |
				(uint32_t)r->body[3] << 8 | r->body[4];

		if (mlen > K8S_PODRES_MSG_MAX) {
			r->too_big = true;
			return 0;
		}
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"); NULs and controls are
 * replaced so the text is safe in an error message. */
static char *percent_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1), *o = d;

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		*o++ = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
	}
	*o = '\0';
	return d;
}

/* Headers and trailers both come here: a gRPC status may be in either ("Trailers-Only"). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb, len = n;

	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', len);

		r->http_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->grpc_status = -1;
		free(r->grpc_message);
		r->grpc_message = NULL;
	} else if (len > 12 && strncasecmp(data, "grpc-status:", 12) == 0) {
		char tmp[16];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		char *end;
		long v;

		memcpy(tmp, data + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, &end, 10);
		while (*end == ' ')
			end++;
		r->grpc_status = end != tmp && !*end && v >= 0 && v < 1000 ? (int)v : 2;
	} else if (len >= 13 && strncasecmp(data, "grpc-message:", 13) == 0) {
		size_t off = 13;

		while (off < len && data[off] == ' ')
			off++;
		free(r->grpc_message);
		r->grpc_message = percent_decode(data + off, len - off);
	}
	return n;
}

static void reply_reset(struct reply *r)
{
	free(r->body);
	free(r->grpc_message);
	memset(r, 0, sizeof(*r));
	r->grpc_status = -1;
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		CURLcode rc_ = k8s_curl.easy_setopt(x->h, opt, val);                               \
		if (rc_ != CURLE_OK)                                                               \
			return cni_err_set(err, CNI_ERR_IO, "libcurl: cannot set %s: %s", #opt,    \
					   k8s_curl.easy_strerror(rc_));                           \
	} while (0)

static int call_init(struct call *x, struct cni_err *err)
{
	const char *const hdrs[] = { "Content-Type: application/grpc", "TE: trailers",
				     "Accept:", "Expect:" };

	if (k8s_curl_load(err) < 0)
		return -1;
	x->h = k8s_curl.easy_init();
	if (!x->h)
		return cni_err_set(err, CNI_ERR_IO, "libcurl: curl_easy_init failed");
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(*hdrs); i++) {
		struct curl_slist *l = k8s_curl.slist_append(x->headers, hdrs[i]);

		if (!l)
			return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		x->headers = l;
	}
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(CURLOPT_UNIX_SOCKET_PATH, x->socket);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	/* A connection per attempt: libcurl < 8.0 (Debian 12 has 7.88.1) fails a second request
	 * on a reused prior-knowledge connection with "Error in the HTTP2 framing layer"
	 * (curl/curl#10634). A unix-socket connect costs next to nothing. */
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	SETOPT(CURLOPT_USERAGENT, "plexus");
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	return 0;
}

/* What one attempt came to. */
enum outcome {
	DONE,	   /* a gRPC status arrived (r->grpc_status), maybe OK */
	RETRY,	   /* transient: worth another attempt (err set) */
	TIMED_OUT, /* the deadline passed (err set) */
	FAILED,	   /* err set */
};

static enum outcome attempt(struct call *x, const char *method, const uint8_t *req, size_t reqlen,
			    struct reply *r, struct cni_err *err)
{
	char url[64], timeout_hdr[40];
	struct curl_slist *hdrs = NULL, *l;
	long left = x->deadline - k8s_now_ms();
	CURLcode rc;

	reply_reset(r);
	if (left <= 0) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "deadline of %ld ms exceeded",
			    x->deadline - x->start);
		return TIMED_OUT;
	}
	snprintf(url, sizeof(url), "http://localhost/v1.PodResourcesLister/%s", method);
	/* The server learns the deadline too, as a gRPC client would tell it. */
	snprintf(timeout_hdr, sizeof(timeout_hdr), "grpc-timeout: %ldm", left);
	l = k8s_curl.slist_append(NULL, timeout_hdr);
	if (!l) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		return FAILED;
	}
	hdrs = l;
	l->next = x->headers;
	x->errbuf[0] = '\0';
	k8s_curl.easy_setopt(x->h, CURLOPT_URL, url);
	k8s_curl.easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
	k8s_curl.easy_setopt(x->h, CURLOPT_POSTFIELDS, req);
	k8s_curl.easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)reqlen);
	k8s_curl.easy_setopt(x->h, CURLOPT_WRITEDATA, r);
	k8s_curl.easy_setopt(x->h, CURLOPT_HEADERDATA, r);
	k8s_curl.easy_setopt(x->h, CURLOPT_TIMEOUT_MS, left);
	k8s_curl.easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, left);
	rc = k8s_curl.easy_perform(x->h);
	/* Only the first node is ours to free: the rest is the call's list. */
	hdrs->next = NULL;
	k8s_curl.slist_free_all(hdrs);
	k8s_curl.easy_setopt(x->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	if (r->too_big) {
		cni_err_set(err, CNI_ERR_DECODE, "reply exceeds the %u MiB limit",
			    K8S_PODRES_MSG_MAX >> 20);
		return FAILED;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "deadline of %ld ms exceeded",
			    x->deadline - x->start);
		return TIMED_OUT;
	}
	if (rc != CURLE_OK) {
		cni_err_set(err, CNI_ERR_IO, "%s",
			    x->errbuf[0] ? x->errbuf : k8s_curl.easy_strerror(rc));
		return rc == CURLE_COULDNT_CONNECT ? RETRY : FAILED;
	}
	if (r->http_status != 200) {
		cni_err_set(err, CNI_ERR_IO, "HTTP status %ld, not a gRPC reply", r->http_status);
		return FAILED;
	}
	if (r->grpc_status < 0) {
		cni_err_set(err, CNI_ERR_IO, "reply without grpc-status");
		return FAILED;
	}
	if (r->grpc_status == GRPC_OK)
		return DONE;
	cni_err_set(err, CNI_ERR_IO, "%s: %s",
		    r->grpc_status < (int)(sizeof(grpc_names) / sizeof(*grpc_names))
			? grpc_names[r->grpc_status]
			: "status",
		    r->grpc_message && *r->grpc_message ? r->grpc_message : "(no message)");
	if (r->grpc_status == GRPC_DEADLINE_EXCEEDED) {
		err->code = CNI_ERR_TRY_AGAIN;
		return TIMED_OUT;
	}
	if (r->grpc_status == GRPC_UNAVAILABLE || r->grpc_status == GRPC_RESOURCE_EXHAUSTED)
		return RETRY;
	return DONE;
}

/* One method, retried as the header says. Returns 0 with r holding a gRPC status (OK or not:
 * err is set for the latter), or -1 (err set). */
static int invoke(struct call *x, const char *method, const uint8_t *req, size_t reqlen,
		  struct reply *r, struct cni_err *err)
{
	long backoff = x->o->backoff_ms;
	int n = 0;

	for (;;) {
		enum outcome oc = attempt(x, method, req, reqlen, r, err);
		long wait;

		n++;
		if (oc == DONE && r->grpc_status == GRPC_OK)
			cni_err_clear(err); /* what an earlier attempt left */
		if (oc == DONE)
			return 0;
		if (oc != RETRY)
			return -1;
		wait = backoff;
		if (n >= x->o->max_attempts || k8s_now_ms() + wait >= x->deadline)
			/* cni_err_set formats before it frees the old message. */
			return cni_err_set(err, CNI_ERR_TRY_AGAIN,
					   "%s (gave up after %d attempts in %ld ms)", err->msg, n,
					   k8s_now_ms() - x->start);
		log_verbose("kubelet pod-resources %s: %s; attempt %d again in %ld ms", method,
			    err->msg, n + 1, wait);
		k8s_sleep_ms(wait);
		backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
	}
}

/* The request messages: small, so packed into a fixed buffer behind the 5-byte prefix. */
static size_t frame(uint8_t *buf, size_t cap, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n + GRPC_PREFIX > cap)
		return 0;
	buf[0] = 0;
	buf[1] = (uint8_t)(n >> 24);
	buf[2] = (uint8_t)(n >> 16);
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	protobuf_c_message_pack(m, buf + GRPC_PREFIX);
	return n + GRPC_PREFIX;
}

static bool get_is_unsupported(const struct reply *r)
{
	return r->grpc_status == GRPC_UNIMPLEMENTED ||
	       (r->grpc_status == GRPC_UNKNOWN && r->grpc_message &&
		strcmp(r->grpc_message, GET_DISABLED_MSG) == 0);
}

static int from_socket(struct call *x, const char *ns, const char *name, struct k8s_devmap **out,
		       struct cni_err *err)
{
	V1__GetPodResourcesRequest get = V1__GET_POD_RESOURCES_REQUEST__INIT;
	V1__ListPodResourcesRequest list = V1__LIST_POD_RESOURCES_REQUEST__INIT;
	enum k8s_podres_source method = K8S_PODRES_FROM_GET;
	struct reply r = { .grpc_status = -1 };
	uint8_t req[600];
	size_t reqlen;
	int ret = -1;

	if (call_init(x, err) < 0)
		goto fail;
	get.pod_name = (char *)name;
	get.pod_namespace = (char *)ns;
	reqlen = frame(req, sizeof(req), &get.base);
	if (!reqlen) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "pod name or namespace too long");
		goto fail;
	}
	if (invoke(x, "Get", req, reqlen, &r, err) < 0)
		goto fail;
	if (get_is_unsupported(&r)) {
		log_verbose("kubelet pod-resources Get (%s): %s; using List", x->socket, err->msg);
		cni_err_clear(err);
		method = K8S_PODRES_FROM_LIST;
		reqlen = frame(req, sizeof(req), &list.base);
		if (invoke(x, "List", req, reqlen, &r, err) < 0)
			goto fail;
	}
	if (r.grpc_status != GRPC_OK)
		goto fail;
	if (k8s_podres_decode(method, r.body, r.n, ns, name, out, err) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	cni_err_prefix(err, "kubelet pod-resources %s (%s)",
		       method == K8S_PODRES_FROM_GET ? "Get" : "List", x->socket);
out:
	reply_reset(&r);
	return ret;
}

int k8s_podres_get(const struct k8s_podres_opts *opts, const char *ns, const char *name,
		   const char *uid, struct k8s_devmap **out, struct cni_err *err)
{
	struct k8s_podres_opts o = { 0 };
	struct call x = { 0 };
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
	x.o = &o;
	x.start = k8s_now_ms();
	x.deadline = x.start + o.deadline_ms;
	ret = from_socket(&x, ns, name, out, err);
	if (x.h)
		k8s_curl.easy_cleanup(x.h);
	if (x.headers)
		k8s_curl.slist_free_all(x.headers);
	return ret;
}

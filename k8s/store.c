/* k8s/store.c: trimmed pods, NADs, claims and slices in a hash table under a rwlock (see
 * k8s/store.h). Each cached object is one allocation: the chain link, the record, its strings. */
#include "k8s/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/drarec.h"
#include "k8s/objects.h"
#include "k8s/selection.h"

#define FIRST_BUCKETS 64

struct node {
	struct node *next;
	uint32_t hash;
	bool seen; /* during a re-list: the LIST had it */
};

/* The record sits after the link, aligned for its pointers. */
#define NODE_BYTES ((sizeof(struct node) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))
#define REC(n)	   ((void *)((char *)(n) + NODE_BYTES))

struct k8s_store {
	enum k8s_kind kind;
	pthread_rwlock_t rw; /* the table */
	struct node **buckets;
	size_t nbuckets, count;
	bool relisting;
	pthread_mutex_t mu; /* the change counter and the waits */
	pthread_cond_t changed;
	uint64_t changes;
	bool synced;
	char *node; /* claims: kept only when allocated to it (NULL: all) */
};

/* The string members of each kind, in the order the packer copies them. */
static const size_t pod_fields[] = {
	offsetof(struct k8s_pod, namespace),
	offsetof(struct k8s_pod, name),
	offsetof(struct k8s_pod, uid),
	offsetof(struct k8s_pod, node),
	offsetof(struct k8s_pod, resource_version),
	offsetof(struct k8s_pod, networks),
	offsetof(struct k8s_pod, default_network),
	offsetof(struct k8s_pod, config_source),
	offsetof(struct k8s_pod, deletion_timestamp),
	offsetof(struct k8s_pod, dra_status),
};
static const size_t nad_fields[] = {
	offsetof(struct k8s_nad, namespace),	    offsetof(struct k8s_nad, name),
	offsetof(struct k8s_nad, resource_version), offsetof(struct k8s_nad, config),
	offsetof(struct k8s_nad, resource_name),
};
static const char **field(void *rec, size_t off)
{
	return (const char **)(void *)((char *)rec + off);
}

static const size_t claim_fields[] = {
	offsetof(struct k8s_claim, namespace),
	offsetof(struct k8s_claim, name),
	offsetof(struct k8s_claim, resource_version),
	offsetof(struct k8s_claim, results),
};
static const size_t slice_fields[] = {
	offsetof(struct k8s_slice, namespace),
	offsetof(struct k8s_slice, name),
	offsetof(struct k8s_slice, resource_version),
	offsetof(struct k8s_slice, driver),
	offsetof(struct k8s_slice, node),
	offsetof(struct k8s_slice, pool),
	offsetof(struct k8s_slice, devices),
};
#define NFIELDS	   10 /* the most of any kind */
#define NAD_CONFIG 3
#define RV	   2 /* resource_version's index, but in a pod */
#define POD_RV	   4

/* Each kind's string members and record size, by enum k8s_kind. */
static const struct {
	const size_t *fields;
	size_t n, rec_size;
} kinds[] = {
	{ pod_fields, sizeof(pod_fields) / sizeof(pod_fields[0]), sizeof(struct k8s_pod) },
	{ nad_fields, sizeof(nad_fields) / sizeof(nad_fields[0]), sizeof(struct k8s_nad) },
	{ claim_fields, sizeof(claim_fields) / sizeof(claim_fields[0]), sizeof(struct k8s_claim) },
	{ slice_fields, sizeof(slice_fields) / sizeof(slice_fields[0]), sizeof(struct k8s_slice) },
};

static const size_t *fields_of(enum k8s_kind k, size_t *n, size_t *rec_size)
{
	*n = kinds[k].n;
	*rec_size = kinds[k].rec_size;
	return kinds[k].fields;
}

static const char *const kind_name[] = { "pod", "network-attachment-definition", "resourceclaim",
					 "resourceslice" };

/* The record's resourceVersion (it sits at another offset in each kind). */
static const char *rv_of(enum k8s_kind k, void *rec)
{
	size_t n, rec_size;
	const size_t *off = fields_of(k, &n, &rec_size);

	return *field(rec, off[k == K8S_KIND_POD ? POD_RV : RV]);
}

/* One allocation of head bytes, the record and copies of src[i] (NULL stays NULL). Returns the
 * allocation (the record at head bytes in), or NULL on OOM. */
static void *pack(enum k8s_kind k, const char *const *src, size_t head)
{
	size_t n, rec_size, total, len[NFIELDS] = { 0 };
	const size_t *off = fields_of(k, &n, &rec_size);
	char *mem, *rec, *p;

	total = head + rec_size;
	for (size_t i = 0; i < n; i++) {
		len[i] = src[i] ? strlen(src[i]) : 0;
		total += src[i] ? len[i] + 1 : 0;
	}
	mem = calloc(1, total);
	if (!mem)
		return NULL;
	rec = mem + head;
	p = rec + rec_size;
	for (size_t i = 0; i < n; i++) {
		if (!src[i])
			continue;
		memcpy(p, src[i], len[i] + 1);
		*field(rec, off[i]) = p;
		p += len[i] + 1;
	}
	if (k == K8S_KIND_NAD)
		((struct k8s_nad *)(void *)rec)->config_len = src[NAD_CONFIG] ? len[NAD_CONFIG] : 0;
	return mem;
}

static void *copy_rec(enum k8s_kind k, void *rec, size_t head)
{
	const char *src[NFIELDS];
	size_t n, rec_size;
	const size_t *off = fields_of(k, &n, &rec_size);

	for (size_t i = 0; i < n; i++)
		src[i] = *field(rec, off[i]);
	return pack(k, src, head);
}

static const cJSON *item(const cJSON *obj, const char *a, const char *b)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, a), b);
}

static const char *string_at(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *v = item(obj, a, b);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* {"resourceClaimStatuses": cs, "extendedResourceClaimStatus": ext} (those present, not
 * null) as compact JSON text; NULL on OOM. */
static char *dra_status(const cJSON *cs, const cJSON *ext)
{
	cJSON *o = cJSON_CreateObject(), *c;
	const cJSON *v[2] = { cs, ext };
	static const char *const key[2] = { "resourceClaimStatuses",
					    "extendedResourceClaimStatus" };
	char *text = NULL;
	bool ok = o != NULL;

	for (int i = 0; i < 2 && ok; i++) {
		if (!v[i] || cJSON_IsNull(v[i]))
			continue;
		c = cJSON_Duplicate(v[i], true);
		ok = c && cJSON_AddItemToObject(o, key[i], c);
		if (!ok)
			cJSON_Delete(c);
	}
	if (ok)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* The strings of a ResourceClaim (src[3]: results) or a ResourceSlice (src[3..6]); *text is
 * the JSON text allocated for them (caller frees). Returns what is missing (NULL: nothing), or
 * "" on OOM. */
static const char *decode_dra(enum k8s_kind k, const cJSON *obj, const char **src, char **text)
{
	const cJSON *devs = item(obj, "spec", "devices");

	src[2] = string_at(obj, "metadata", "resourceVersion");
	if (k == K8S_KIND_CLAIM) {
		if (k8s_drarec_claim_results(obj, text) < 0)
			return "";
		src[3] = *text;
		return NULL;
	}
	src[0] = src[0] ? src[0] : ""; /* cluster-scoped */
	src[3] = string_at(obj, "spec", "driver");
	src[4] = string_at(obj, "spec", "nodeName");
	src[4] = src[4] ? src[4] : "";
	src[5] = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(item(obj, "spec", "pool"), "name"));
	if (!src[3] || !src[5] || (devs && !cJSON_IsArray(devs) && !cJSON_IsNull(devs)))
		return "spec.driver, spec.pool.name or spec.devices";
	if (k8s_drarec_slice_devices(obj, text) < 0)
		return "";
	src[6] = *text;
	return NULL;
}

/* The record of obj, in one allocation with head bytes before it; NULL with err set. A claim
 * not allocated to node (non-NULL) is not kept: NULL with *skip set and no error. */
static void *decode(enum k8s_kind k, const cJSON *obj, size_t head, const char *node, bool *skip,
		    struct cni_err *err)
{
	const char *src[NFIELDS] = { 0 }, *what = NULL;
	const char *kind = kind_name[k];
	char *dra = NULL;
	void *mem;

	src[0] = string_at(obj, "metadata", "namespace");
	src[1] = string_at(obj, "metadata", "name");
	if (k == K8S_KIND_CLAIM && node && !k8s_drarec_claim_on_node(obj, node)) {
		*skip = true;
		return NULL;
	}
	if (k >= K8S_KIND_CLAIM && (what = decode_dra(k, obj, src, &dra)) && !*what) {
		cni_err_oom(err);
		return NULL;
	}
	if (!src[0] || !src[1])
		what = "metadata.namespace and metadata.name";
	if (k == K8S_KIND_POD) {
		const cJSON *cs = item(obj, "status", "resourceClaimStatuses");
		const cJSON *ext = item(obj, "status", "extendedResourceClaimStatus");

		src[2] = string_at(obj, "metadata", "uid");
		src[3] = string_at(obj, "spec", "nodeName");
		src[4] = string_at(obj, "metadata", "resourceVersion");
		src[5] = k8s_object_annotation(obj, K8S_ANNOT_NETWORKS);
		src[6] = k8s_object_annotation(obj, K8S_ANNOT_DEFAULT_NETWORK);
		src[7] = k8s_object_annotation(obj, K8S_ANNOT_CONFIG_SOURCE);
		src[8] = string_at(obj, "metadata", "deletionTimestamp");
		if (!src[3])
			src[3] = "";
		if (!src[2])
			what = what ? what : "metadata.uid";
		if (((cs && !cJSON_IsNull(cs)) || (ext && !cJSON_IsNull(ext))) &&
		    !(dra = dra_status(cs, ext))) {
			cni_err_oom(err);
			return NULL;
		}
		src[9] = dra;
	} else if (k == K8S_KIND_NAD) {
		src[2] = string_at(obj, "metadata", "resourceVersion");
		src[3] = string_at(obj, "spec", "config");
		src[4] = k8s_object_annotation(obj, K8S_ANNOT_RESOURCE_NAME);
	}
	if (!what && !string_at(obj, "metadata", "resourceVersion"))
		what = "metadata.resourceVersion";
	mem = what ? NULL : pack(k, src, head);
	free(dra);
	if (what)
		cni_err_set(err, CNI_ERR_DECODE, "%s: no %s", kind, what);
	else if (!mem)
		cni_err_oom(err);
	return mem;
}

struct k8s_pod *k8s_pod_from_json(const cJSON *obj, struct cni_err *err)
{
	return decode(K8S_KIND_POD, obj, 0, NULL, NULL, err);
}

struct k8s_nad *k8s_nad_from_json(const cJSON *obj, struct cni_err *err)
{
	return decode(K8S_KIND_NAD, obj, 0, NULL, NULL, err);
}

struct k8s_claim *k8s_claim_from_json(const cJSON *obj, struct cni_err *err)
{
	return decode(K8S_KIND_CLAIM, obj, 0, NULL, NULL, err);
}

struct k8s_slice *k8s_slice_from_json(const cJSON *obj, struct cni_err *err)
{
	return decode(K8S_KIND_SLICE, obj, 0, NULL, NULL, err);
}

/* obj.a.b = s (a string; skipped when s is NULL); false on OOM. */
static bool put_str(cJSON *obj, const char *a, const char *b, const char *s)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, a);

	if (!s)
		return true;
	if (!o && !(o = cJSON_AddObjectToObject(obj, a)))
		return false;
	return cJSON_AddStringToObject(o, b, s) != NULL;
}

/* metadata.annotations[key] = v (skipped when v is NULL); false on OOM. */
static bool put_annotation(cJSON *obj, const char *key, const char *v)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	return put_str(md, "annotations", key, v);
}

cJSON *k8s_pod_to_json(const struct k8s_pod *p)
{
	cJSON *o = k8s_object_new("v1", "Pod", p->namespace, p->name, p->resource_version), *st;
	bool ok = o &&
		  cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
					  "annotations") &&
		  put_str(o, "metadata", "uid", p->uid) &&
		  put_str(o, "metadata", "deletionTimestamp", p->deletion_timestamp) &&
		  put_annotation(o, K8S_ANNOT_NETWORKS, p->networks) &&
		  put_annotation(o, K8S_ANNOT_DEFAULT_NETWORK, p->default_network) &&
		  put_annotation(o, K8S_ANNOT_CONFIG_SOURCE, p->config_source) &&
		  put_str(o, "spec", "nodeName", *p->node ? p->node : NULL);

	if (ok && p->dra_status) {
		st = cJSON_Parse(p->dra_status);
		ok = st && cJSON_AddItemToObject(o, "status", st);
		if (!ok)
			cJSON_Delete(st);
	}
	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

cJSON *k8s_nad_to_json(const struct k8s_nad *n)
{
	cJSON *o = k8s_object_new("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition", n->namespace,
				  n->name, n->resource_version);
	bool ok = o &&
		  cJSON_AddObjectToObject(cJSON_GetObjectItemCaseSensitive(o, "metadata"),
					  "annotations") &&
		  put_annotation(o, K8S_ANNOT_RESOURCE_NAME, n->resource_name);

	/* spec.config byte for byte: cJSON strings end at a NUL, which a config cannot hold */
	if (ok && n->config)
		ok = put_str(o, "spec", "config", n->config);
	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* -- the table ------------------------------------------------------------------------- */

static uint32_t key_hash(const char *ns, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a over "ns/name" */

	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* Both kinds start with namespace and name. */
static bool node_is(struct node *n, uint32_t h, const char *ns, const char *name)
{
	const struct k8s_nad *r = REC(n);

	return n->hash == h && strcmp(r->namespace, ns) == 0 && strcmp(r->name, name) == 0;
}

static struct node **slot(struct k8s_store *s, const char *ns, const char *name)
{
	uint32_t h = key_hash(ns, name);
	struct node **pp = &s->buckets[h & (s->nbuckets - 1)];

	while (*pp && !node_is(*pp, h, ns, name))
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct k8s_store *s)
{
	size_t nb = s->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct node *n = s->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static void changed(struct k8s_store *s)
{
	pthread_mutex_lock(&s->mu);
	s->changes++;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
}

struct k8s_store *k8s_store_new(enum k8s_kind kind, struct cni_err *err)
{
	struct k8s_store *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (s)
		s->buckets = calloc(FIRST_BUCKETS, sizeof(*s->buckets));
	if (!s || !s->buckets) {
		free(s);
		cni_err_oom(err);
		return NULL;
	}
	s->kind = kind;
	s->nbuckets = FIRST_BUCKETS;
	pthread_rwlock_init(&s->rw, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->changed, &ca);
	pthread_condattr_destroy(&ca);
	return s;
}

void k8s_store_free(struct k8s_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct node *n = s->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(s->buckets);
	free(s->node);
	pthread_rwlock_destroy(&s->rw);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->changed);
	free(s);
}

enum k8s_kind k8s_store_kind(const struct k8s_store *s)
{
	return s->kind;
}

size_t k8s_store_size(struct k8s_store *s)
{
	size_t n;

	pthread_rwlock_rdlock(&s->rw);
	n = s->count;
	pthread_rwlock_unlock(&s->rw);
	return n;
}

/* A copy of ns/name under the read lock, or NULL with errno. */
static void *get_copy(struct k8s_store *s, enum k8s_kind k, const char *ns, const char *name)
{
	struct node *n;
	void *out = NULL;

	if (s->kind != k) {
		errno = EINVAL;
		return NULL;
	}
	pthread_rwlock_rdlock(&s->rw);
	n = *slot(s, ns, name);
	if (n && !(out = copy_rec(k, REC(n), 0)))
		errno = ENOMEM;
	else if (!n)
		errno = ENOENT;
	pthread_rwlock_unlock(&s->rw);
	return out;
}

struct k8s_pod *k8s_store_get_pod(struct k8s_store *s, const char *ns, const char *name)
{
	return get_copy(s, K8S_KIND_POD, ns, name);
}

struct k8s_nad *k8s_store_get_nad(struct k8s_store *s, const char *ns, const char *name)
{
	return get_copy(s, K8S_KIND_NAD, ns, name);
}

struct k8s_claim *k8s_store_get_claim(struct k8s_store *s, const char *ns, const char *name)
{
	return get_copy(s, K8S_KIND_CLAIM, ns, name);
}

int k8s_store_set_node(struct k8s_store *s, const char *node)
{
	char *copy;

	if (s->kind != K8S_KIND_CLAIM)
		return -EINVAL;
	copy = strdup(node);
	if (!copy)
		return -ENOMEM;
	free(s->node);
	s->node = copy;
	return 0;
}

cJSON *k8s_store_slice_list(struct k8s_store *s, const char *driver, size_t *n)
{
	cJSON *list = NULL, *items;
	bool ok;

	*n = 0;
	if (s->kind != K8S_KIND_SLICE) {
		errno = EINVAL;
		return NULL;
	}
	list = cJSON_CreateObject();
	items = list ? cJSON_AddArrayToObject(list, "items") : NULL;
	ok = items != NULL;
	pthread_rwlock_rdlock(&s->rw);
	for (size_t i = 0; ok && i < s->nbuckets; i++)
		for (struct node *nd = s->buckets[i]; ok && nd; nd = nd->next) {
			const struct k8s_slice *sl = REC(nd);
			cJSON *o;

			if (strcmp(sl->driver, driver) != 0)
				continue;
			o = k8s_slice_to_json(sl);
			ok = o && cJSON_AddItemToArray(items, o);
			if (!ok)
				cJSON_Delete(o);
			*n += ok;
		}
	pthread_rwlock_unlock(&s->rw);
	if (ok)
		return list;
	cJSON_Delete(list);
	errno = ENOMEM;
	return NULL;
}

int k8s_store_put(struct k8s_store *s, const cJSON *obj, struct cni_err *err)
{
	bool skip = false;
	struct node *n = decode(s->kind, obj, NODE_BYTES, s->node, &skip, err), **pp;
	const struct k8s_nad *r;

	if (skip) { /* not (or no longer) this node's: what was cached under the name goes */
		const char *ns = string_at(obj, "metadata", "namespace");
		const char *name = string_at(obj, "metadata", "name");

		if (ns && name)
			k8s_store_delete(s, ns, name);
		return 0;
	}
	if (!n)
		return -1;
	r = REC(n);
	n->hash = key_hash(r->namespace, r->name);
	n->seen = true;
	pthread_rwlock_wrlock(&s->rw);
	pp = slot(s, r->namespace, r->name);
	if (*pp) {
		n->next = (*pp)->next;
		free(*pp);
	} else {
		s->count++;
	}
	*pp = n;
	if (s->count > s->nbuckets)
		grow(s);
	pthread_rwlock_unlock(&s->rw);
	changed(s);
	return 0;
}

bool k8s_store_delete(struct k8s_store *s, const char *ns, const char *name)
{
	struct node **pp, *n;

	pthread_rwlock_wrlock(&s->rw);
	pp = slot(s, ns, name);
	n = *pp;
	if (n) {
		*pp = n->next;
		s->count--;
	}
	pthread_rwlock_unlock(&s->rw);
	free(n);
	if (n)
		changed(s);
	return n != NULL;
}

void k8s_store_relist_begin(struct k8s_store *s)
{
	pthread_rwlock_wrlock(&s->rw);
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct node *n = s->buckets[i]; n; n = n->next)
			n->seen = false;
	s->relisting = true;
	pthread_rwlock_unlock(&s->rw);
}

size_t k8s_store_relist_end(struct k8s_store *s)
{
	size_t removed = 0;

	pthread_rwlock_wrlock(&s->rw);
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct node **pp = &s->buckets[i];

		while (*pp) {
			struct node *n = *pp;

			if (n->seen) {
				pp = &n->next;
				continue;
			}
			*pp = n->next;
			free(n);
			removed++;
		}
	}
	s->count -= removed;
	s->relisting = false;
	pthread_rwlock_unlock(&s->rw);
	pthread_mutex_lock(&s->mu);
	s->synced = true;
	s->changes++;
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->mu);
	return removed;
}

void k8s_store_relist_abort(struct k8s_store *s)
{
	pthread_rwlock_wrlock(&s->rw);
	s->relisting = false;
	pthread_rwlock_unlock(&s->rw);
}

/* -- waits --------------------------------------------------------------------------------- */

static void deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* What a wait checks after every change; returns nonzero when the wait is over. */
typedef int (*wait_check)(struct k8s_store *s, void *arg);

/* Runs check under s->mu until it returns nonzero or timeout_ms passes (-ETIMEDOUT). The
 * writers bump s->changes under s->mu after changing the table, so a change made between a
 * check and the wait still wakes it. */
static int wait_for(struct k8s_store *s, long timeout_ms, wait_check check, void *arg)
{
	struct timespec dl;
	int ret, rc = 0;

	deadline_after(&dl, timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&s->mu);
	while (!(ret = check(s, arg)) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->changed, &s->mu, &dl);
	pthread_mutex_unlock(&s->mu);
	return ret ? ret : -ETIMEDOUT;
}

struct pod_wait {
	const char *ns, *name, *uid;
	struct k8s_pod *got;
	bool oom;
};

static int check_pod(struct k8s_store *s, void *arg)
{
	struct pod_wait *w = arg;

	free(w->got);
	w->got = k8s_store_get_pod(s, w->ns, w->name);
	if (!w->got) {
		w->oom = errno == ENOMEM;
		return w->oom;
	}
	return !w->uid || !w->uid[0] || (w->got->uid && strcmp(w->got->uid, w->uid) == 0);
}

int k8s_store_wait_pod(struct k8s_store *s, const char *ns, const char *name, const char *uid,
		       long timeout_ms, struct k8s_pod **out)
{
	struct pod_wait w = { .ns = ns, .name = name, .uid = uid };
	int ret;

	*out = NULL;
	if (s->kind != K8S_KIND_POD)
		return -EINVAL;
	ret = wait_for(s, timeout_ms, check_pod, &w);
	if (w.oom) {
		free(w.got);
		return -ENOMEM;
	}
	*out = w.got;
	return ret > 0 ? 0 : ret;
}

struct change_wait {
	const char *ns, *name, *rv;
};

static int check_change(struct k8s_store *s, void *arg)
{
	struct change_wait *w = arg;
	struct node *n;
	int ret;

	pthread_rwlock_rdlock(&s->rw);
	n = *slot(s, w->ns, w->name);
	if (!n) {
		ret = w->rv ? 2 : 0; /* gone */
	} else {
		ret = !w->rv || strcmp(rv_of(s->kind, REC(n)), w->rv) != 0;
	}
	pthread_rwlock_unlock(&s->rw);
	return ret;
}

int k8s_store_wait_change(struct k8s_store *s, const char *ns, const char *name, const char *rv,
			  long timeout_ms)
{
	struct change_wait w = { ns, name, rv };
	int ret = wait_for(s, timeout_ms, check_change, &w);

	return ret == 2 ? 0 : ret;
}

static int check_synced(struct k8s_store *s, void *arg)
{
	(void)arg;
	return s->synced;
}

bool k8s_store_synced(struct k8s_store *s)
{
	bool v;

	pthread_mutex_lock(&s->mu);
	v = s->synced;
	pthread_mutex_unlock(&s->mu);
	return v;
}

bool k8s_store_wait_synced(struct k8s_store *s, long timeout_ms)
{
	return wait_for(s, timeout_ms, check_synced, NULL) > 0;
}

/* -- for watchers of the whole store (plexusd's hot-plug) ---------------------------------- */

static int check_moved(struct k8s_store *s, void *arg)
{
	return s->changes != *(const uint64_t *)arg;
}

uint64_t k8s_store_wait_any(struct k8s_store *s, uint64_t seen, long timeout_ms)
{
	uint64_t now;

	(void)wait_for(s, timeout_ms, check_moved, &seen);
	pthread_mutex_lock(&s->mu);
	now = s->changes;
	pthread_mutex_unlock(&s->mu);
	return now;
}

int k8s_store_list_pods(struct k8s_store *s, struct k8s_pod ***out, size_t *n)
{
	struct k8s_pod **arr;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (s->kind != K8S_KIND_POD)
		return -EINVAL;
	pthread_rwlock_rdlock(&s->rw);
	arr = calloc(s->count + 1, sizeof(*arr));
	for (size_t b = 0; arr && b < s->nbuckets; b++)
		for (struct node *nd = s->buckets[b]; nd; nd = nd->next) {
			arr[k] = copy_rec(K8S_KIND_POD, REC(nd), 0);
			if (!arr[k])
				goto oom;
			k++;
		}
	pthread_rwlock_unlock(&s->rw);
	if (!arr)
		return -ENOMEM;
	*out = arr;
	*n = k;
	return 0;
oom:
	pthread_rwlock_unlock(&s->rw);
	while (k-- > 0)
		free(arr[k]);
	free(arr);
	return -ENOMEM;
}

/* k8s/store.h: the watch caches' trimmed objects: pods, NetworkAttachmentDefinitions,
 * ResourceClaims and ResourceSlices cut down to what plexus reads, keyed by namespace/name, safe
 * to share between threads. Filled by k8s/reflector; read by plexusd's workers. Unlike Multus's
 * informers (whole objects), a cached pod costs its few strings (docs/DESIGN.md has the
 * measured bytes per pod, NAD, claim and slice). */
#ifndef PLEXUS_K8S_STORE_H
#define PLEXUS_K8S_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

/* What plexus reads from a pod. Strings are NUL-terminated; optional ones are NULL when the pod
 * has none. A record is one allocation: free it with free(). */
struct k8s_pod {
	const char *namespace, *name, *uid;
	const char *node;		/* spec.nodeName; "" when unscheduled */
	const char *resource_version;	/* metadata.resourceVersion */
	const char *networks;		/* k8s.v1.cni.cncf.io/networks */
	const char *default_network;	/* v1.multus-cni.io/default-network */
	const char *config_source;	/* kubernetes.io/config.source */
	const char *deletion_timestamp; /* metadata.deletionTimestamp */
	const char *dra_status;		/* status's resourceClaimStatuses and
					   extendedResourceClaimStatus, as a compact JSON object
					   text; NULL when it has neither */
};

/* What plexus reads from a NAD; one allocation, free(). config is spec.config byte for byte
 * (NULL when absent), config_len its length. */
struct k8s_nad {
	const char *namespace, *name;
	const char *resource_version;
	const char *config;
	size_t config_len;
	const char *resource_name; /* k8s.v1.cni.cncf.io/resourceName */
};

/* What plexus reads from a ResourceClaim (resource.k8s.io/v1); one allocation, free().
 * results is status.allocation.devices.results with each result cut to request, driver, pool
 * and device, as compact JSON array text (NULL when the claim has none). */
struct k8s_claim {
	const char *namespace, *name;
	const char *resource_version;
	const char *results;
};

/* What plexus reads from a ResourceSlice (cluster-scoped: namespace is ""); one allocation,
 * free(). devices is spec.devices cut to the devices that carry both k8s.cni.cncf.io
 * attributes (k8s/dra.h), each to its name and those two attributes, as compact JSON array text
 * ("[]" when none does): the others are skipped by k8s_dra_resolve anyway. */
struct k8s_slice {
	const char *namespace, *name;
	const char *resource_version;
	const char *driver, *node, *pool; /* spec.driver, spec.nodeName ("" when absent),
					     spec.pool.name */
	const char *devices;
};

enum k8s_kind { K8S_KIND_POD, K8S_KIND_NAD, K8S_KIND_CLAIM, K8S_KIND_SLICE };

/* Trims an API object (as LIST, WATCH or GET return it). metadata.namespace, .name and
 * .resourceVersion must be strings (a pod also needs .uid); returns NULL with code 6
 * "pod: no metadata.uid" (or "network-attachment-definition: ...") otherwise, or on OOM. */
struct k8s_pod *k8s_pod_from_json(const cJSON *obj, struct cni_err *err);
struct k8s_nad *k8s_nad_from_json(const cJSON *obj, struct cni_err *err);

/* The DRA records (k8s/drarec.c). A slice must also have spec.driver and spec.pool.name as
 * strings and spec.devices an array or absent, as k8s_dra_add_slices requires (code 6
 * "resourceslice: no spec.driver, spec.pool.name or spec.devices" otherwise). */
struct k8s_claim *k8s_claim_from_json(const cJSON *obj, struct cni_err *err);
struct k8s_slice *k8s_slice_from_json(const cJSON *obj, struct cni_err *err);

/* The API object as plexus reads it, rebuilt from a trimmed record: metadata (namespace, name,
 * uid, resourceVersion, deletionTimestamp, the kept annotations), spec.nodeName and the DRA
 * status fields for a pod; metadata, the resourceName annotation and spec.config for a NAD.
 * What k8s_pod_from_json keeps of the result is the record again. NULL on OOM. */
cJSON *k8s_pod_to_json(const struct k8s_pod *p);
cJSON *k8s_nad_to_json(const struct k8s_nad *n);
/* A ResourceClaim with metadata and status.allocation.devices.results; a ResourceSlice with
 * metadata and spec (driver, nodeName, pool.name, devices): what k8s_dra_add_claim and
 * k8s_dra_add_slices read. NULL on OOM. */
cJSON *k8s_claim_to_json(const struct k8s_claim *c);
cJSON *k8s_slice_to_json(const struct k8s_slice *s);

struct k8s_store;

/* An empty, unsynced store of one kind. NULL only on OOM (err set). */
struct k8s_store *k8s_store_new(enum k8s_kind kind, struct cni_err *err);

/* Frees the store; no thread may be using it (stop its reflector first). NULL is fine. */
void k8s_store_free(struct k8s_store *s);

enum k8s_kind k8s_store_kind(const struct k8s_store *s);

/* Copies of the cached object (caller frees with free()), or NULL when it is not cached (errno
 * ENOENT), the store holds the other kind (EINVAL) or memory ran out (ENOMEM). */
struct k8s_pod *k8s_store_get_pod(struct k8s_store *s, const char *ns, const char *name);
struct k8s_nad *k8s_store_get_nad(struct k8s_store *s, const char *ns, const char *name);
struct k8s_claim *k8s_store_get_claim(struct k8s_store *s, const char *ns, const char *name);

/* A claim store given a node keeps only the claims allocated to it: those whose
 * status.allocation.nodeSelector has a term matching the field metadata.name In [node], as the
 * scheduler's allocator writes for devices of a node-local ResourceSlice. A claim that stops
 * matching (deallocated) is removed by its put. Call before the first put. -ENOMEM, -EINVAL
 * for another kind, else 0. */
CNI_MUST_CHECK int k8s_store_set_node(struct k8s_store *s, const char *node);

/* A ResourceSliceList ({"items": [...]}, in no particular order) of the cached slices of driver
 * (caller deletes), *n their number; NULL with errno EINVAL (another kind) or ENOMEM. */
cJSON *k8s_store_slice_list(struct k8s_store *s, const char *driver, size_t *n);

/* Waits at most timeout_ms for the pod ns/name to be cached with the given UID (any UID when
 * uid is NULL or ""), woken by the reflector's changes (a condition variable, not a poll).
 * Returns 0 with *out a copy of it; -ETIMEDOUT with *out a copy of the pod cached under that
 * name with another UID, or NULL; -ENOMEM; -EINVAL for a NAD store. */
CNI_MUST_CHECK int k8s_store_wait_pod(struct k8s_store *s, const char *ns, const char *name,
				      const char *uid, long timeout_ms, struct k8s_pod **out);

/* Waits at most timeout_ms until ns/name is cached with a resourceVersion other than rv (rv
 * NULL: cached at all) or, with rv non-NULL, is gone. Returns 1 when present (changed), 0 when
 * absent (deleted), -ETIMEDOUT when nothing changed. Any kind. */
CNI_MUST_CHECK int k8s_store_wait_change(struct k8s_store *s, const char *ns, const char *name,
					 const char *rv, long timeout_ms);

/* True once a LIST has filled the store (it stays true across later re-lists). */
bool k8s_store_synced(struct k8s_store *s);

/* Waits at most timeout_ms for the first sync; returns whether the store is synced. */
bool k8s_store_wait_synced(struct k8s_store *s, long timeout_ms);

/* Objects cached. */
size_t k8s_store_size(struct k8s_store *s);

/* Waits at most timeout_ms for a change of any object after the change count seen (0 at
 * first), woken by the reflector; returns the count now (equal to seen when nothing changed).
 * How a watcher of the whole store (plexusd's hot-plug) sleeps between passes. */
uint64_t k8s_store_wait_any(struct k8s_store *s, uint64_t seen, long timeout_ms);

/* Copies of every cached pod (free each, then the array). Returns 0, -ENOMEM, or -EINVAL for a
 * NAD store. */
CNI_MUST_CHECK int k8s_store_list_pods(struct k8s_store *s, struct k8s_pod ***out, size_t *n);

/* -- for the reflector (and tests): changes, each waking the waiters ---------------------- */

/* Adds or replaces the object (ADDED, MODIFIED, or an item of a LIST). Returns 0, or -1 with
 * err (the object is not valid for this kind; OOM). During a re-list the object is marked
 * seen. */
CNI_MUST_CHECK int k8s_store_put(struct k8s_store *s, const cJSON *obj, struct cni_err *err);

/* Removes ns/name (DELETED); returns whether it was cached. */
bool k8s_store_delete(struct k8s_store *s, const char *ns, const char *name);

/* A re-list replaces the store's content without ever emptying it: begin marks every object
 * unseen, each LIST item is put (and so seen), end removes what was not seen (deleted while
 * the watch was away), marks the store synced and returns how many it removed; abort (a LIST
 * that failed half-way) forgets the marks and removes nothing. */
void k8s_store_relist_begin(struct k8s_store *s);
size_t k8s_store_relist_end(struct k8s_store *s);
void k8s_store_relist_abort(struct k8s_store *s);

#endif

/* daemon/caches.c: the node's pods, all NADs and the node's DRA objects, listed and watched
 * (see daemon/caches.h). */
#include "daemon/caches.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/log.h"
#include "k8s/api.h"

const char *pxd_cache_name(enum pxd_cache_kind k)
{
	static const char *const names[PXD_CACHE_N] = { "pods", "network-attachment-definitions",
							"resourceclaims", "resourceslices" };

	return (unsigned)k < PXD_CACHE_N ? names[k] : "";
}

const char *pxd_dra_state_name(enum pxd_dra_state s)
{
	static const char *const names[PXD_DRA_STATE_N] = { "probing", "absent", "forbidden",
							    "watching" };

	return (unsigned)s < PXD_DRA_STATE_N ? names[s] : "";
}

static struct k8s_store **store_of(struct pxd_caches *c, enum pxd_cache_kind k)
{
	struct k8s_store **s[PXD_CACHE_N] = { &c->cache.pods, &c->cache.nads, &c->cache.claims,
					      &c->cache.slices };

	return s[k];
}

static const char *const paths[PXD_CACHE_N] = { PXD_PODS_PATH, PXD_NADS_PATH, PXD_CLAIMS_PATH,
						PXD_SLICES_PATH };
static const enum k8s_kind kinds[PXD_CACHE_N] = { K8S_KIND_POD, K8S_KIND_NAD, K8S_KIND_CLAIM,
						  K8S_KIND_SLICE };

static bool is_dra(enum pxd_cache_kind k)
{
	return k == PXD_CACHE_CLAIMS || k == PXD_CACHE_SLICES;
}

/* -- the DRA probe ------------------------------------------------------------------------ */

static int discard(const char *data, size_t n, void *arg)
{
	(void)data;
	(void)n;
	(void)arg;
	return 0;
}

/* The HTTP status of GET url (0: no answer), -1 when stopped. */
static long probe_status(struct pxd_caches *c, const char *url, const char *what)
{
	struct k8s_stream st = { .on_data = discard, .idle_ms = 10000 };
	struct cni_err err = { 0 };
	int ret = k8s_stream_get(c->dra_client, url, what, &st, &err);

	if (ret == -ECANCELED) {
		cni_err_clear(&err);
		return -1;
	}
	if (ret < 0 && st.status == 0)
		log_verbose("DRA probe: %s", err.msg ? err.msg : "no answer");
	cni_err_clear(&err);
	return ret == 0 && !st.status ? 200 : st.status;
}

/* Sleeps s seconds or until stop; returns whether stopping. */
static bool probe_sleep(struct pxd_caches *c, long s)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += s;
	pthread_mutex_lock(&c->dra_mu);
	while (!c->dra_stopping && pthread_cond_timedwait(&c->dra_wake, &c->dra_mu, &ts) == 0)
		;
	stop = c->dra_stopping;
	pthread_mutex_unlock(&c->dra_mu);
	return stop;
}

/* One probe: a LIST of one claim (cluster-wide, as the claim reflector lists) and one of the
 * node's slices. The state it finds, or -1 when stopped. */
static int probe(struct pxd_caches *c)
{
	long claims = probe_status(c, PXD_CLAIMS_PATH "?limit=1", "resourceclaims"), slices;

	if (claims < 0)
		return -1;
	slices = probe_status(c, c->dra_slices_url, "resourceslices");
	if (slices < 0)
		return -1;
	if (claims == 404 || slices == 404)
		return PXD_DRA_ABSENT;
	if (claims == 403 || slices == 403)
		return PXD_DRA_FORBIDDEN;
	if (claims / 100 == 2 && slices / 100 == 2)
		return PXD_DRA_WATCHING;
	return PXD_DRA_PROBING;
}

static void *dra_probe(void *arg)
{
	struct pxd_caches *c = arg;
	int state, was = PXD_DRA_PROBING;
	long retry = 1;

	while ((state = probe(c)) >= 0) {
		if (state == PXD_DRA_WATCHING) {
			struct cni_err err = { 0 };

			if (k8s_reflector_start(c->reflector[PXD_CACHE_CLAIMS], &err) < 0 ||
			    k8s_reflector_start(c->reflector[PXD_CACHE_SLICES], &err) < 0) {
				log_error("DRA caches: %s", err.msg);
				cni_err_clear(&err);
				state = PXD_DRA_PROBING;
			} else {
				log_verbose("caching ResourceClaims allocated to this node and its "
					    "ResourceSlices");
				atomic_store(&c->dra_state, state);
				return NULL;
			}
		}
		if (state != was && state == PXD_DRA_ABSENT)
			log_verbose("the API does not serve resource.k8s.io/v1: ResourceClaims and "
				    "ResourceSlices are read live (asked again every %d s)",
				    c->dra_reprobe_s);
		else if (state != was && state == PXD_DRA_FORBIDDEN)
			log_error(
			    "not allowed to list and watch resourceclaims and resourceslices "
			    "(deploy/thick/rbac-dra.yaml): DRA devices are read live, if allowed "
			    "(asked again every %d s)",
			    c->dra_reprobe_s);
		atomic_store(&c->dra_state, state);
		was = state;
		if (state == PXD_DRA_PROBING) {
			retry = retry * 2 > PXD_DRA_RETRY_MAX_S ? PXD_DRA_RETRY_MAX_S : retry * 2;
			if (probe_sleep(c, retry))
				break;
		} else if (probe_sleep(c, c->dra_reprobe_s)) {
			break;
		}
	}
	return NULL;
}

static int dra_start(struct pxd_caches *c, const struct k8s_creds *creds, const char *node,
		     struct cni_err *err)
{
	pthread_condattr_t ca;
	int rc;

	snprintf(c->dra_slices_url, sizeof(c->dra_slices_url),
		 PXD_SLICES_PATH "?limit=1&fieldSelector=spec.nodeName%%3D%s", node);
	if (k8s_store_set_node(c->cache.claims, node) < 0)
		return cni_err_oom(err);
	c->dra_client = k8s_client_new(creds, NULL, err);
	if (!c->dra_client)
		return -1;
	pthread_mutex_init(&c->dra_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->dra_wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&c->dra_thread, NULL, dra_probe, c);
	if (rc)
		return cni_err_set(err, CNI_ERR_INTERNAL, "DRA probe: cannot start a thread: %s",
				   strerror(rc));
	c->dra_started = true;
	return 0;
}

static void dra_stop(struct pxd_caches *c)
{
	if (c->dra_started) {
		pthread_mutex_lock(&c->dra_mu);
		c->dra_stopping = true;
		pthread_cond_broadcast(&c->dra_wake);
		pthread_mutex_unlock(&c->dra_mu);
		k8s_client_interrupt(c->dra_client);
		pthread_join(c->dra_thread, NULL);
		c->dra_started = false;
	}
	if (c->dra_client) {
		pthread_mutex_destroy(&c->dra_mu);
		pthread_cond_destroy(&c->dra_wake);
	}
	k8s_client_free(c->dra_client);
	c->dra_client = NULL;
}

/* -- the caches ---------------------------------------------------------------------------- */

int pxd_caches_start(struct pxd_caches *c, const struct k8s_creds *creds, const char *node,
		     const struct pxd_config *cfg, struct cni_err *err)
{
	memset(c, 0, sizeof(*c));
	if (!node || !*node)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "PLEXUS_NODE_NAME (or MULTUS_NODE_NAME) is not set: with API "
				   "credentials plexusd caches this node's pods and will not watch "
				   "every pod of the cluster");
	if (!k8s_valid_subdomain(node)) {
		char *q = cni_quote(node, 64);

		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "node name %s (PLEXUS_NODE_NAME or MULTUS_NODE_NAME) is not a valid "
			    "Kubernetes name",
			    q ? q : "?");
		free(q);
		return -1;
	}
	snprintf(c->selector, sizeof(c->selector), "spec.nodeName=%s", node);
	c->cache.pod_wait_ms = cfg->pod_cache_wait_ms;
	c->dra_reprobe_s = cfg->dra_reprobe_s > 0 ? cfg->dra_reprobe_s : PXD_DEFAULT_DRA_REPROBE_S;
	for (int k = 0; k < PXD_CACHE_N; k++) {
		/* claims have no field selector for their node: all are listed and watched, only
		 * those allocated to this node are kept (k8s_store_set_node) */
		struct k8s_reflector_opts o = {
			.name = pxd_cache_name(k),
			.path = paths[k],
			.field_selector =
			    k == PXD_CACHE_PODS || k == PXD_CACHE_SLICES ? c->selector : NULL,
			.watch_timeout_s = cfg->watch_timeout_s,
			.stall_ms = cfg->watch_stall_s * 1000L,
		};
		struct k8s_store **s = store_of(c, k);

		*s = k8s_store_new(kinds[k], err);
		if (!*s)
			goto fail;
		c->reflector[k] = k8s_reflector_new(creds, *s, &o, err);
		if (!c->reflector[k] ||
		    (!is_dra(k) && k8s_reflector_start(c->reflector[k], err) < 0))
			goto fail;
	}
	if (dra_start(c, creds, node, err) < 0)
		goto fail;
	meta_kube_set_cache(&c->cache);
	log_verbose("caching pods of node %s and network-attachment-definitions", node);
	return 0;
fail:
	pxd_caches_stop(c);
	return -1;
}

bool pxd_caches_synced(struct pxd_caches *c)
{
	int dra = atomic_load(&c->dra_state);

	for (int k = 0; k < PXD_CACHE_N; k++) {
		struct k8s_store *s = *store_of(c, k);

		if (is_dra(k) && (dra == PXD_DRA_ABSENT || dra == PXD_DRA_FORBIDDEN))
			continue;
		if (!s || !k8s_store_synced(s))
			return false;
	}
	return true;
}

void pxd_caches_wait_expired(struct pxd_caches *c, int waited_s)
{
	int dra = atomic_load(&c->dra_state);

	atomic_store(&c->wait_expired, true);
	for (int k = 0; k < PXD_CACHE_N; k++) {
		if (is_dra(k) && dra != PXD_DRA_WATCHING)
			continue;
		if (!k8s_store_synced(*store_of(c, k)))
			log_error(
			    "the %s cache has not synced after %d s (cacheSyncTimeoutSeconds): "
			    "ready anyway, asking the API live until it does",
			    pxd_cache_name(k), waited_s);
	}
	if (dra == PXD_DRA_PROBING)
		log_error("the API has not answered whether it serves resource.k8s.io/v1 after "
			  "%d s (cacheSyncTimeoutSeconds): ready anyway, reading DRA objects live "
			  "until it does",
			  waited_s);
}

void pxd_caches_stop(struct pxd_caches *c)
{
	meta_kube_set_cache(NULL);
	dra_stop(c); /* before the reflectors it may start */
	for (int k = 0; k < PXD_CACHE_N; k++) {
		k8s_reflector_free(c->reflector[k]);
		c->reflector[k] = NULL;
		k8s_store_free(*store_of(c, k));
		*store_of(c, k) = NULL;
	}
}

void pxd_caches_stats(struct pxd_caches *c, struct pxd_caches_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->running = c->reflector[PXD_CACHE_PODS] != NULL;
	if (!out->running)
		return;
	out->wait_expired = atomic_load(&c->wait_expired);
	out->dra = atomic_load(&c->dra_state);
	for (int k = 0; k < PXD_CACHE_N; k++) {
		struct k8s_store *s = *store_of(c, k);

		out->kind[k].objects = k8s_store_size(s);
		out->kind[k].synced = k8s_store_synced(s);
		k8s_reflector_stats(c->reflector[k], &out->kind[k].r);
	}
	for (int i = 0; i < META_POD_SOURCE_N; i++)
		out->pods_by[i] = atomic_load(&c->cache.pods_by[i]);
	for (int i = 0; i < META_NAD_SOURCE_N; i++)
		out->nads_by[i] = atomic_load(&c->cache.nads_by[i]);
	for (int i = 0; i < META_DRA_SOURCE_N; i++) {
		out->claims_by[i] = atomic_load(&c->cache.claims_by[i]);
		out->slices_by[i] = atomic_load(&c->cache.slices_by[i]);
	}
}

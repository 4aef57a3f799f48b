/* daemon/caches.c: the node's pods and all NADs, listed and watched (see daemon/caches.h). */
#include "daemon/caches.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/log.h"
#include "k8s/api.h"

const char *pxd_cache_name(enum pxd_cache_kind k)
{
	return k == PXD_CACHE_PODS   ? "pods"
	       : k == PXD_CACHE_NADS ? "network-attachment-definitions"
				     : "";
}

static struct k8s_store **store_of(struct pxd_caches *c, enum pxd_cache_kind k)
{
	return k == PXD_CACHE_PODS ? &c->cache.pods : &c->cache.nads;
}

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
	for (int k = 0; k < PXD_CACHE_N; k++) {
		struct k8s_reflector_opts o = {
			.name = pxd_cache_name(k),
			.path = k == PXD_CACHE_PODS ? PXD_PODS_PATH : PXD_NADS_PATH,
			.field_selector = k == PXD_CACHE_PODS ? c->selector : NULL,
			.watch_timeout_s = cfg->watch_timeout_s,
			.stall_ms = cfg->watch_stall_s * 1000L,
		};
		struct k8s_store **s = store_of(c, k);

		*s = k8s_store_new(k == PXD_CACHE_PODS ? K8S_KIND_POD : K8S_KIND_NAD, err);
		if (!*s)
			goto fail;
		c->reflector[k] = k8s_reflector_new(creds, *s, &o, err);
		if (!c->reflector[k] || k8s_reflector_start(c->reflector[k], err) < 0)
			goto fail;
	}
	meta_kube_set_cache(&c->cache);
	log_verbose("caching pods of node %s and network-attachment-definitions", node);
	return 0;
fail:
	pxd_caches_stop(c);
	return -1;
}

bool pxd_caches_synced(struct pxd_caches *c)
{
	return c->cache.pods && k8s_store_synced(c->cache.pods) && c->cache.nads &&
	       k8s_store_synced(c->cache.nads);
}

void pxd_caches_wait_expired(struct pxd_caches *c, int waited_s)
{
	atomic_store(&c->wait_expired, true);
	for (int k = 0; k < PXD_CACHE_N; k++)
		if (!k8s_store_synced(*store_of(c, k)))
			log_error(
			    "the %s cache has not synced after %d s (cacheSyncTimeoutSeconds): "
			    "ready anyway, asking the API live until it does",
			    pxd_cache_name(k), waited_s);
}

void pxd_caches_stop(struct pxd_caches *c)
{
	meta_kube_set_cache(NULL);
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
}

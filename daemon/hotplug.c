/* daemon/hotplug.c: the dynamic-networks thread (see daemon/hotplug.h). */
#include "daemon/hotplug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/log.h"
#include "cni/skel.h"
#include "daemon/metrics.h"
#include "k8s/curl.h"
#include "meta/hotplug.h"

struct pxd_hotplug_pod {
	char *ns, *name, *uid;
	char *applied;	 /* the networks annotation the last reconcile applied */
	long retry_at;	 /* k8s_now_ms() of the next retry; 0: none due */
	long backoff_ms; /* the next retry's delay */
	/* found with no plan (a host-network pod, one whose ADD has not written it, one plexus
	 * did not attach) at this resourceVersion, until k8s_now_ms() reaches planless_until */
	char *planless_rv;
	long planless_until;
	bool force_status;
	bool seen; /* in the cache in this pass */
};

static void pod_free(struct pxd_hotplug_pod *p)
{
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->applied);
	free(p->planless_rv);
}

/* The pod was found with no plan at its resourceVersion (NULL: it has one). */
static void set_planless(struct pxd_hotplug_pod *st, const struct k8s_pod *p, long now)
{
	free(st->planless_rv);
	st->planless_rv = p && p->resource_version ? strdup(p->resource_version) : NULL;
	st->planless_until = now + PXD_HOTPLUG_RECHECK_MS;
}

static struct pxd_hotplug_pod *pod_state(struct pxd_hotplug *h, const struct k8s_pod *p)
{
	struct pxd_hotplug_pod *grown, *st;

	for (size_t i = 0; i < h->npods; i++) {
		st = &h->pods[i];
		if (strcmp(st->ns, p->namespace) != 0 || strcmp(st->name, p->name) != 0)
			continue;
		if (strcmp(st->uid, p->uid) != 0) {
			/* another pod of that name: nothing it applied holds */
			char *uid = strdup(p->uid);

			if (!uid)
				return NULL;
			free(st->uid);
			st->uid = uid;
			free(st->applied);
			st->applied = NULL;
			st->retry_at = 0;
			set_planless(st, NULL, 0);
		}
		return st;
	}
	grown = realloc(h->pods, (h->npods + 1) * sizeof(*h->pods));
	if (!grown)
		return NULL;
	h->pods = grown;
	st = &h->pods[h->npods];
	memset(st, 0, sizeof(*st));
	st->ns = strdup(p->namespace);
	st->name = strdup(p->name);
	st->uid = strdup(p->uid);
	if (!st->ns || !st->name || !st->uid) {
		pod_free(st);
		return NULL;
	}
	h->npods++;
	return st;
}

/* One reconcile of each plan of the pod (one per sandbox of its UID) among the node's plans.
 * Returns whether one must be tried again; *found whether the pod has a plan. */
static bool reconcile_pod(struct pxd_hotplug *h, const struct k8s_pod *p,
			  const struct meta_pod_plan *plans, size_t n, bool force, bool *found)
{
	struct cni_err err = { 0 };
	bool again = false;

	*found = false;
	for (size_t i = 0; i < n; i++) {
		char cid[300], netns[4200], ifname[64], args[1200], path[4200];
		const char *env[] = { "CNI_COMMAND=CHECK", cid, netns, ifname, args, path, NULL };
		char *json = NULL;

		if (strcmp(plans[i].pod_namespace, p->namespace) != 0 ||
		    strcmp(plans[i].pod_name, p->name) != 0 ||
		    (*plans[i].pod_uid && strcmp(plans[i].pod_uid, p->uid) != 0))
			continue;
		*found = true;
		snprintf(cid, sizeof(cid), "CNI_CONTAINERID=%s", plans[i].container_id);
		snprintf(netns, sizeof(netns), "CNI_NETNS=%s", plans[i].netns);
		snprintf(ifname, sizeof(ifname), "CNI_IFNAME=%s", plans[i].ifname);
		snprintf(args, sizeof(args),
			 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
			 "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
			 p->namespace, p->name, plans[i].container_id, p->uid);
		snprintf(path, sizeof(path), "CNI_PATH=%s", h->cfg->bin_dir);
		if (cni_skel_handle(&meta_reconcile_plugin, env,
				    force ? h->netconf_force : h->netconf,
				    force ? h->netconf_force_len : h->netconf_len, NULL, NULL,
				    &json, &err) < 0) {
			log_error("hot-plug: %s/%s: %s", p->namespace, p->name, err.msg);
			/* a refused annotation waits for the next change; the rest is retried */
			again = again || err.code != CNI_ERR_INVALID_CONFIG;
			pxd_metrics_reconcile(err.code == CNI_ERR_INVALID_CONFIG ? "refused"
										 : "retry");
		} else {
			pxd_metrics_reconcile("success");
		}
		cni_log_set_prefix(NULL);
		cni_err_clear(&err);
		free(json);
	}
	return again;
}

/* One pass over the node's pods: those whose annotation moved, or whose retry is due. */
static void pass(struct pxd_hotplug *h)
{
	struct meta_pod_plan *plans = NULL;
	struct k8s_pod **pods = NULL;
	size_t n = 0, nplans = 0;
	long now = k8s_now_ms();
	bool scanned = false;

	if (k8s_store_list_pods(h->caches->cache.pods, &pods, &n) < 0) {
		log_error("hot-plug: out of memory listing pods");
		return;
	}
	for (size_t i = 0; i < h->npods; i++)
		h->pods[i].seen = false;
	for (size_t i = 0; i < n && !atomic_load(&h->stop); i++) {
		const struct k8s_pod *p = pods[i];
		const char *nets = p->networks ? p->networks : "";
		struct pxd_hotplug_pod *st = pod_state(h, p);
		bool due, found;

		if (!st)
			continue;
		st->seen = true;
		if (p->deletion_timestamp)
			continue;
		due = !st->applied || strcmp(st->applied, nets) != 0 ||
		      (st->retry_at && now >= st->retry_at);
		/* no plan when last looked at, and nothing of the pod changed since: its plan, when
		 * an ADD writes one, comes with the network-status that changes it. Skipping it
		 * spares every pass that some other pod's change brings a read of all the plans. */
		if (due && !st->applied && st->planless_rv && p->resource_version &&
		    strcmp(st->planless_rv, p->resource_version) == 0 && now < st->planless_until)
			due = false;
		if (!due)
			continue;
		if (st->applied && strcmp(st->applied, nets) != 0)
			st->backoff_ms = 0; /* a new wish: retries start over */
		if (!scanned) {
			/* the node's plans, read once per pass that has work */
			struct cni_err err = { 0 };

			if (meta_hotplug_find(h->cfg->cni_dir, NULL, NULL, &plans, &nplans, &err) <
			    0) {
				log_error("hot-plug: %s", err.msg);
				cni_err_clear(&err);
				break;
			}
			scanned = true;
		}
		if (reconcile_pod(h, p, plans, nplans, st->force_status, &found)) {
			st->backoff_ms =
			    st->backoff_ms ? st->backoff_ms * 2 : PXD_HOTPLUG_BACKOFF_MS;
			if (st->backoff_ms > PXD_HOTPLUG_BACKOFF_MAX_MS)
				st->backoff_ms = PXD_HOTPLUG_BACKOFF_MAX_MS;
			st->retry_at = k8s_now_ms() + st->backoff_ms;
			st->force_status = true;
		} else {
			st->retry_at = 0;
			st->backoff_ms = 0;
			st->force_status = false;
		}
		/* no plan yet (its ADD has not written it) or none ever (not ours): looked at
		 * again on the pod's next change, which the ADD's status write brings */
		set_planless(st, found ? NULL : p, now);
		if (!found)
			continue;
		free(st->applied);
		st->applied = strdup(nets);
	}
	for (size_t i = h->npods; i-- > 0;)
		if (!h->pods[i].seen) {
			pod_free(&h->pods[i]);
			h->pods[i] = h->pods[--h->npods];
		}
	for (size_t i = 0; i < n; i++)
		free(pods[i]);
	free(pods);
	meta_pod_plans_free(plans, nplans);
}

static void *run(void *arg)
{
	struct pxd_hotplug *h = arg;
	uint64_t seen = 0, now;
	bool retry_due = false;

	while (!atomic_load(&h->stop)) {
		now = k8s_store_wait_any(h->caches->cache.pods, seen, PXD_HOTPLUG_TICK_MS);
		for (size_t i = 0; i < h->npods && !retry_due; i++)
			retry_due = h->pods[i].retry_at && k8s_now_ms() >= h->pods[i].retry_at;
		if (atomic_load(&h->stop))
			break;
		/* an unsynced cache is no reason to detach anything */
		if ((now == seen && !retry_due) || !k8s_store_synced(h->caches->cache.pods))
			continue;
		seen = now;
		retry_due = false;
		pass(h);
	}
	return NULL;
}

/* The node's plexus netconf for the reconcile: the daemon config over a bare one. Its one
 * delegate is never run (the reconcile works from the pod's plan and its annotation); it is
 * there because a plexus netconf must name a network. */
static char *netconf(const struct pxd_config *cfg, bool force, size_t *len, struct cni_err *err)
{
	char bare[512];

	snprintf(bare, sizeof(bare),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-hotplug\",\"type\":\"plexus\","
		 "\"delegates\":[{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-hotplug-unused\","
		 "\"type\":\"none\"}]%s}",
		 force ? ",\"writeNetworkStatus\":true" : "");
	return pxd_config_overlay(cfg, bare, strlen(bare), len, err);
}

int pxd_hotplug_start(struct pxd_hotplug *h, const struct pxd_config *cfg,
		      struct pxd_caches *caches, struct cni_err *err)
{
	memset(h, 0, sizeof(*h));
	if (!cfg->dynamic_networks)
		return 0;
	if (!caches->cache.pods)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "dynamicNetworks needs API credentials (the pod cache)");
	h->cfg = cfg;
	h->caches = caches;
	h->netconf = netconf(cfg, false, &h->netconf_len, err);
	h->netconf_force = h->netconf ? netconf(cfg, true, &h->netconf_force_len, err) : NULL;
	if (!h->netconf_force) {
		pxd_hotplug_stop(h);
		return -1;
	}
	if (pthread_create(&h->thread, NULL, run, h) != 0) {
		pxd_hotplug_stop(h);
		return cni_err_set(err, CNI_ERR_INTERNAL, "hot-plug: cannot start its thread");
	}
	h->running = true;
	log_verbose("dynamic networks: following the networks annotation of this node's pods");
	return 0;
}

void pxd_hotplug_stop(struct pxd_hotplug *h)
{
	atomic_store(&h->stop, true);
	if (h->running)
		pthread_join(h->thread, NULL);
	h->running = false;
	for (size_t i = 0; i < h->npods; i++)
		pod_free(&h->pods[i]);
	free(h->pods);
	free(h->netconf);
	free(h->netconf_force);
	h->pods = NULL;
	h->npods = 0;
	h->netconf = h->netconf_force = NULL;
}

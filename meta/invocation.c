/* meta/invocation.c: one run of bin/plexus as a plugin: the context every verb starts from, the
 * per-container cache and lock, and one verb of one attachment handed to its delegate. */
#include "meta/invocation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include "cni/file.h"
#include "cni/ipconfig.h"
#include "cni/json.h"
#include "cni/lock.h"
#include "cni/log.h"
#include "cni/netns.h"
#include "delegates/cache.h"
#include "delegates/find.h"
#include "delegates/invoke.h"
#include "k8s/deviceinfo.h"
#include "meta/defroute.h"
#include "meta/kube.h"
#include "meta/multuscache.h"

static const char *const k8s_arg_names[] = {
	"IP",	       "MAC", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID",
	"K8S_POD_UID", NULL
};

static const char *arg_or_empty(const struct cni_request *req, const char *k)
{
	const char *v = cni_args_get(&req->args, k);

	return v ? v : "";
}

void meta_ctx_free(struct meta_ctx *c)
{
	/* the lock file goes too: cni_lock copes with a holder that removed it */
	if (c->lock_fd >= 0)
		cni_unlock(c->lock_fd, c->lock_file, true);
	meta_kube_close(&c->kube);
	meta_netconf_free(&c->nc);
	free(c->path);
	dlg_path_free(c->cni_path);
	free(c->state_dir);
	free(c->cache_file);
	free(c->multus_cache_file);
	free(c->lock_file);
}

int meta_ctx_search_path(struct meta_ctx *c, const char *cni_path, struct cni_err *err)
{
	free(c->path);
	dlg_path_free(c->cni_path);
	c->npath = 0;
	c->cni_path = dlg_path_split(cni_path, &c->npath);
	c->path = calloc(c->npath + 2, sizeof(*c->path));
	if (!c->cni_path || !c->path)
		return cni_err_oom(err);
	c->path[0] = c->nc.bin_dir;
	for (size_t i = 0; i < c->npath; i++)
		c->path[i + 1] = c->cni_path[i];
	c->npath++;
	return 0;
}

int meta_ctx_init(const struct cni_request *req, struct meta_ctx *c, struct cni_err *err)
{
	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	c->req = req;
	if (meta_netconf_parse(req->stdin_data, req->stdin_len, &c->nc, err) < 0)
		return -1;
	meta_netconf_apply_logging(&c->nc);
	/* plexus-shim's fallback: a DEL from the plan on disk needs no network in the netconf */
	if (c->nc.shim && req->verb != CNI_VERB_DEL &&
	    meta_netconf_require_networks(&c->nc, err) < 0)
		return -1;
	if (cni_args_check_known(&req->args, k8s_arg_names, err) < 0)
		return -1;
	c->k8s.pod_namespace = arg_or_empty(req, "K8S_POD_NAMESPACE");
	c->k8s.pod_name = arg_or_empty(req, "K8S_POD_NAME");
	c->k8s.pod_uid = arg_or_empty(req, "K8S_POD_UID");
	c->k8s.sandbox_id = arg_or_empty(req, "K8S_POD_INFRA_CONTAINER_ID");
	snprintf(c->prefix, sizeof(c->prefix), "[%.120s/%.250s/%.64s]", c->k8s.pod_namespace,
		 c->k8s.pod_name, c->k8s.pod_uid);
	cni_log_set_prefix(c->prefix);

	if (meta_ctx_search_path(c, req->path, err) < 0)
		return -1;
	if (!(c->state_dir = meta_plan_dir(c->nc.cni_dir)))
		return cni_err_oom(err);
	if (req->container_id &&
	    (asprintf(&c->cache_file, "%s/%s", c->state_dir, req->container_id) < 0 ||
	     asprintf(&c->lock_file, "%s/%s.lock", c->state_dir, req->container_id) < 0 ||
	     !(c->multus_cache_file = meta_multus_cache_path(c->nc.cni_dir, req->container_id))))
		return cni_err_oom(err);
	return 0;
}

int meta_ctx_lock(struct meta_ctx *c, struct cni_err *err)
{
	if (cni_mkdir_p(c->state_dir, 0700, err) < 0)
		return -1;
	/* inherited by the delegates: if plexus is killed mid-ADD, the runtime's DEL still waits
	 * for an orphaned delegate to finish instead of racing it */
	c->lock_fd = cni_lock(c->lock_file, c->nc.delegate_timeout_s * 1000 + 10000, true, err);
	return c->lock_fd < 0 ? -1 : 0;
}

static void rt_for(const struct meta_ctx *c, const struct meta_plan *plan,
		   const struct meta_attachment *a, struct dlg_rt *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->container_id = plan->container_id;
	/* DEL may come without CNI_NETNS (and GC always does): then the one ADD used */
	rt->netns = c->req->netns ? c->req->netns : (plan->netns ? plan->netns : "");
	rt->ifname = a->ifname;
	rt->args = a->args;
	rt->nargs = a->nargs;
	rt->path = c->path;
	rt->npath = c->npath;
	rt->cap_args = a->cap_args;
	rt->timeout_ms = c->nc.delegate_timeout_s * 1000;
	rt->cache_dir = c->nc.cni_dir;
}

/* The attachment's delegate parsed, in the plexus netconf's version where it has none, and the
 * runtime config it runs with. */
static int prepare(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		   struct cni_conflist *list, struct dlg_rt *rt, struct cni_err *err)
{
	const struct meta_attachment *a = &plan->att[i];

	if (cni_conflist_parse(a->config, a->config_len, list, err) < 0)
		return cni_err_prefix(err, "network \"%s\"", a->network);
	/* Multus: conflist delegates without cniVersion take the plexus netconf's */
	if (list->is_list && !*list->cni_version && plan->cni_version && *plan->cni_version) {
		free(list->cni_version);
		list->cni_version = strdup(plan->cni_version);
	}
	rt_for(c, plan, a, rt);
	return 0;
}

/* ADD's first step: the NPWG device-info spec's file, the device plugin's copied as the CNI's */
static int devinfo_in_place(const struct meta_ctx *c, const struct meta_attachment *a,
			    struct cni_err *err)
{
	char *dp;
	int ret;

	if (!a->devinfo_file || !a->resource_name)
		return 0;
	dp = k8s_devinfo_dp_path(c->nc.device_info_dir, a->resource_name, a->device_id, err);
	ret = dp ? k8s_devinfo_copy(dp, a->devinfo_file, err) : -1;
	free(dp);
	return ret;
}

/* Runs one verb of one attachment. ADD returns the delegate's result in *res. */
int meta_ctx_run(const char *verb, const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		 cJSON **res, struct cni_err *err)
{
	const struct meta_attachment *a = &plan->att[i];
	struct cni_conflist list;
	struct dlg_rt rt;
	int ret = 0;

	if (prepare(c, plan, i, &list, &rt, err) < 0)
		return -1;
	log_verbose("%s %s on %s (network \"%s\")", verb, a->status_name, a->ifname, a->network);
	if (strcmp(verb, "ADD") == 0) {
		*res = devinfo_in_place(c, a, err) < 0 ? NULL : dlg_add(&list, &rt, err);
		ret = *res ? 0 : -1;
	} else if (strcmp(verb, "DEL") == 0) {
		ret = dlg_del(&list, &rt, NULL, err);
		if (ret == 0 && a->devinfo_file)
			ret = k8s_devinfo_remove(a->devinfo_file, err);
	} else if (strcmp(verb, "CHECK") == 0) {
		ret = dlg_check(&list, &rt, NULL, err);
	} else if (strcmp(verb, "STATUS") == 0) {
		ret = dlg_status(&list, &rt, err);
	}
	cni_conflist_free(&list);
	return ret;
}

int meta_ctx_start_add(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		       struct meta_started *s, struct cni_err *err)
{
	memset(s, 0, sizeof(*s));
	if (prepare(c, plan, i, &s->list, &s->rt, err) < 0)
		return -1;
	s->i = i;
	s->live = true;
	if (dlg_add_start(&s->list, &s->rt, &s->first, err) < 0) {
		meta_started_cancel(s);
		return -1;
	}
	return 0;
}

int meta_ctx_run_started(const struct meta_ctx *c, const struct meta_plan *plan,
			 struct meta_started *s, cJSON **res, struct dlg_cache_entry *entry,
			 struct cni_err *err)
{
	const struct meta_attachment *a = &plan->att[s->i];

	if (entry)
		memset(entry, 0, sizeof(*entry));
	log_verbose("ADD %s on %s (network \"%s\")", a->status_name, a->ifname, a->network);
	if (devinfo_in_place(c, a, err) < 0) {
		meta_started_cancel(s);
		*res = NULL;
		return -1;
	}
	*res = dlg_add_started(&s->list, &s->rt, s->first, entry, err);
	s->first = NULL;
	meta_started_cancel(s);
	return *res ? 0 : -1;
}

void meta_started_when_fed(struct meta_started *s, void (*fn)(void *arg), void *arg)
{
	dlg_add_when_fed(s->first, fn, arg);
}

void meta_started_cancel(struct meta_started *s)
{
	if (!s->live)
		return;
	dlg_add_cancel(s->first);
	s->first = NULL;
	cni_conflist_free(&s->list);
	s->live = false;
}

int meta_ctx_write_cache(const struct meta_ctx *c, const struct meta_plan *plan,
			 struct cni_flush **flush, struct cni_err *err)
{
	cJSON *j = meta_plan_to_json(plan);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	int ret;

	cJSON_Delete(j);
	if (!text)
		return cni_err_oom(err);
	ret = flush ? cni_write_atomic_begin(c->cache_file, text, strlen(text), 0600,
					     CNI_WRITE_LOCKED, flush, err)
		    : cni_write_atomic(c->cache_file, text, strlen(text), 0600, CNI_WRITE_LOCKED,
				       err);
	free(text);
	/* a Multus put back on the node (a rollback) deletes the pod from its own cache */
	if (ret == 0 && c->multus_cache_file)
		ret = meta_multus_cache_write(c->multus_cache_file, plan, err);
	return ret;
}

int meta_ctx_plan_init(const struct meta_ctx *c, struct meta_plan *plan, struct cni_err *err)
{
	const struct cni_request *req = c->req;

	memset(plan, 0, sizeof(*plan));
	plan->container_id = strdup(req->container_id);
	plan->netns = strdup(req->netns ? req->netns : "");
	plan->ifname = strdup(req->ifname);
	plan->cni_version = strdup(c->nc.cni_version);
	plan->pod_namespace = strdup(c->k8s.pod_namespace);
	plan->pod_name = strdup(c->k8s.pod_name);
	plan->pod_uid = strdup(c->k8s.pod_uid);
	plan->sandbox_id = strdup(c->k8s.sandbox_id);
	if (req->path && *req->path && !(plan->cni_path = strdup(req->path)))
		return cni_err_oom(err);
	if (!plan->container_id || !plan->netns || !plan->ifname || !plan->cni_version ||
	    !plan->pod_namespace || !plan->pod_name || !plan->pod_uid || !plan->sandbox_id)
		return cni_err_oom(err);
	return 0;
}

int meta_ctx_read_multus_cache(const struct meta_ctx *c, const char *master_ifname,
			       struct meta_plan *plan, struct cni_err *err)
{
	int found;

	if (meta_ctx_plan_init(c, plan, err) < 0)
		return -1;
	if (master_ifname) {
		free(plan->ifname);
		if (!(plan->ifname = strdup(master_ifname)))
			return cni_err_oom(err);
	}
	found = meta_multus_cache_read(c->multus_cache_file, &c->nc, plan, err);
	if (found <= 0)
		return found;
	if (meta_plan_finish(plan, &c->nc, c->req->args_str, &c->k8s, err) < 0 ||
	    meta_kube_devinfo_paths(plan, &c->nc, err) < 0)
		return -1;
	return 1;
}

/* 1: plan read from the cache; 0: no cache; -1: unreadable or corrupt (err set). */
int meta_ctx_read_cache(const struct meta_ctx *c, struct meta_plan *plan, struct cni_err *err)
{
	return meta_plan_load(c->cache_file, plan, err);
}

/* DEL every attachment in reverse, past errors; all messages joined. */
int meta_ctx_del_plan(const struct meta_ctx *c, const struct meta_plan *plan, struct cni_err *err)
{
	int failed = 0;

	for (size_t i = plan->n; i-- > 0;) {
		struct cni_err e = { 0 };

		if (meta_ctx_run("DEL", c, plan, i, NULL, &e) < 0) {
			log_error("DEL of %s on %s failed: %s", plan->att[i].status_name,
				  plan->att[i].ifname, e.msg);
			failed++;
			cni_err_join(err, &e, " / ");
		}
	}
	return failed ? -1 : 0;
}

/* default-route: after attachment i's ADD, its default routes follow the pod's requests, in the
 * netns and in the cached result (prevResult stays truthful for CHECK and DEL). */
int meta_ctx_default_route(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
			   cJSON *result, struct dlg_cache_entry *entry, struct cni_err *err)
{
	static const int families[] = { AF_INET, AF_INET6 };
	const struct meta_attachment *a = &plan->att[i];
	bool changed = false;

	if (!cJSON_GetObjectItemCaseSensitive(result, "interfaces") &&
	    !cJSON_GetObjectItemCaseSensitive(result, "ips") &&
	    !cJSON_GetObjectItemCaseSensitive(result, "ip4") &&
	    !cJSON_GetObjectItemCaseSensitive(result, "ip6"))
		return 0;
	for (size_t f = 0; f < 2; f++) {
		const char *gw;
		bool filter;

		meta_defroute_for(plan, i, families[f], &gw, &filter);
		if (!gw && !filter)
			continue;
		if (cni_ipconfig_set_default_route(c->req->netns, a->ifname, families[f], gw, err) <
			0 ||
		    meta_defroute_result(result, families[f], gw) < 0)
			return cni_err_isset(err) ? -1 : cni_err_oom(err);
		changed = true;
	}
	if (!changed)
		return 0;
	if (entry && entry->text)
		return dlg_cache_entry_set_result(entry, result, err);
	return dlg_cache_set_result(c->nc.cni_dir, a->network, plan->container_id, a->ifname,
				    result, err);
}

struct ifcheck {
	const char *ifname;
	bool exists;
};

static int ifname_lookup(void *arg, struct cni_err *err)
{
	struct ifcheck *ic = arg;

	(void)err;
	ic->exists = if_nametoindex(ic->ifname) != 0;
	return 0;
}

int meta_ctx_ifname_taken(const struct meta_ctx *c, const char *ifname, bool *taken,
			  struct cni_err *err)
{
	struct ifcheck ic = { ifname, false };

	if (cni_netns_do(c->req->netns, ifname_lookup, &ic, err) < 0)
		return cni_err_prefix(err, "validateIfName: no net namespace %s found",
				      c->req->netns);
	*taken = ic.exists;
	return 0;
}

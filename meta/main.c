/* meta/main.c: bin/plexus, the meta-plugin: ADD/DEL/CHECK/GC/STATUS over an attachment plan.
 * Follows Multus's thin plugin (multus.md §3) with a durable cache written before anything runs,
 * full rollback, DEL that never needs the API, and results in the netconf's cniVersion. */
#include <errno.h>
#include <sys/socket.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "cni/config.h"
#include "cni/file.h"
#include "cni/ipconfig.h"
#include "cni/json.h"
#include "cni/lock.h"
#include "cni/log.h"
#include "cni/netns.h"
#include "cni/result.h"
#include "cni/skel.h"
#include "delegates/cache.h"
#include "delegates/find.h"
#include "delegates/invoke.h"
#include "meta/cli.h"
#include "meta/defroute.h"
#include "k8s/deviceinfo.h"
#include "meta/kube.h"
#include "meta/netconf.h"
#include "meta/plan.h"

#define CACHE_MAX_BYTES (16u << 20)

struct ctx {
	const struct cni_request *req;
	struct meta_netconf nc;
	struct meta_k8s_args k8s;
	const char **path; /* binDir, then CNI_PATH */
	char **cni_path;
	size_t npath;
	char *state_dir;  /* <cniDir>/plexus */
	char *cache_file; /* <state_dir>/<containerID> */
	char *lock_file;
	int lock_fd;
	struct meta_kube kube; /* the API, when configured */
	char prefix[512];      /* "[ns/name/uid]" */
};

static const char *const k8s_arg_names[] = {
	"IP",	       "MAC", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID",
	"K8S_POD_UID", NULL
};

static const char *arg_or_empty(const struct cni_request *req, const char *k)
{
	const char *v = cni_args_get(&req->args, k);

	return v ? v : "";
}

static void ctx_free(struct ctx *c)
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
	free(c->lock_file);
}

static int ctx_init(const struct cni_request *req, struct ctx *c, struct cni_err *err)
{
	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	c->req = req;
	if (meta_netconf_parse(req->stdin_data, req->stdin_len, &c->nc, err) < 0)
		return -1;
	meta_netconf_apply_logging(&c->nc);
	if (cni_args_check_known(&req->args, k8s_arg_names, err) < 0)
		return -1;
	c->k8s.pod_namespace = arg_or_empty(req, "K8S_POD_NAMESPACE");
	c->k8s.pod_name = arg_or_empty(req, "K8S_POD_NAME");
	c->k8s.pod_uid = arg_or_empty(req, "K8S_POD_UID");
	c->k8s.sandbox_id = arg_or_empty(req, "K8S_POD_INFRA_CONTAINER_ID");
	snprintf(c->prefix, sizeof(c->prefix), "[%.120s/%.250s/%.64s]", c->k8s.pod_namespace,
		 c->k8s.pod_name, c->k8s.pod_uid);
	cni_log_set_prefix(c->prefix);

	c->cni_path = dlg_path_split(req->path, &c->npath);
	c->path = calloc(c->npath + 2, sizeof(*c->path));
	if (!c->cni_path || !c->path)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	c->path[0] = c->nc.bin_dir;
	for (size_t i = 0; i < c->npath; i++)
		c->path[i + 1] = c->cni_path[i];
	c->npath++;
	if (asprintf(&c->state_dir, "%s/plexus", c->nc.cni_dir) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	if (req->container_id &&
	    (asprintf(&c->cache_file, "%s/%s", c->state_dir, req->container_id) < 0 ||
	     asprintf(&c->lock_file, "%s/%s.lock", c->state_dir, req->container_id) < 0))
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	return 0;
}

static int lock_container(struct ctx *c, struct cni_err *err)
{
	if (cni_mkdir_p(c->state_dir, 0700, err) < 0)
		return -1;
	/* inherited by the delegates: if plexus is killed mid-ADD, the runtime's DEL still waits
	 * for an orphaned delegate to finish instead of racing it */
	c->lock_fd = cni_lock(c->lock_file, c->nc.delegate_timeout_s * 1000 + 10000, true, err);
	return c->lock_fd < 0 ? -1 : 0;
}

/* Multus: poll every second, fail with its message when the file never appears. */
static int wait_readiness(const struct meta_netconf *nc, struct cni_err *err)
{
	struct timespec start, now;

	if (!nc->readiness_file || !*nc->readiness_file)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (access(nc->readiness_file, F_OK) == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= nc->readiness_timeout_s)
			break;
		sleep(1);
	}
	return cni_err_set(err, CNI_ERR_TRY_AGAIN,
			   "have you checked that your default network is ready? still waiting "
			   "for readinessindicatorfile @ %s. pollimmediate error: timed out "
			   "waiting for the condition",
			   nc->readiness_file);
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

static void rt_for(const struct ctx *c, const struct meta_plan *plan,
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

/* Runs one verb of one attachment. ADD returns the delegate's result in *res. */
static int run_attachment(const char *verb, const struct ctx *c, const struct meta_plan *plan,
			  size_t i, cJSON **res, struct cni_err *err)
{
	const struct meta_attachment *a = &plan->att[i];
	struct cni_conflist list;
	struct dlg_rt rt;
	int ret = 0;

	if (cni_conflist_parse(a->config, a->config_len, &list, err) < 0)
		return cni_err_prefix(err, "network \"%s\"", a->network);
	/* Multus: conflist delegates without cniVersion take the plexus netconf's */
	if (list.is_list && !*list.cni_version && plan->cni_version && *plan->cni_version) {
		free(list.cni_version);
		list.cni_version = strdup(plan->cni_version);
	}
	rt_for(c, plan, a, &rt);
	log_verbose("%s %s on %s (network \"%s\")", verb, a->status_name, a->ifname, a->network);
	if (strcmp(verb, "ADD") == 0 && a->devinfo_file && a->resource_name) {
		/* device-info spec §4: the device plugin's file becomes the CNI file */
		char *dp =
		    k8s_devinfo_dp_path(c->nc.device_info_dir, a->resource_name, a->device_id, err);

		if (!dp || k8s_devinfo_copy(dp, a->devinfo_file, err) < 0) {
			free(dp);
			cni_conflist_free(&list);
			return -1;
		}
		free(dp);
	}
	if (strcmp(verb, "ADD") == 0) {
		*res = dlg_add(&list, &rt, err);
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

static int write_cache(const struct ctx *c, const struct meta_plan *plan, struct cni_err *err)
{
	cJSON *j = meta_plan_to_json(plan);
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;
	int ret;

	cJSON_Delete(j);
	if (!text)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	ret = cni_write_atomic(c->cache_file, text, strlen(text), 0600, err);
	free(text);
	return ret;
}

/* 1: plan read from the cache; 0: no cache; -1: unreadable or corrupt (err set). */
static int read_cache(const struct ctx *c, struct meta_plan *plan, struct cni_err *err)
{
	size_t len = 0;
	char *text;
	cJSON *j;
	int ret;

	errno = 0;
	text = cni_read_file(c->cache_file, CACHE_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	if (!text)
		return cni_err_isset(err) ? -1 : 0;
	j = cni_json_parse(text, len, c->cache_file, err);
	free(text);
	if (!j)
		return -1;
	ret = meta_plan_from_json(j, plan, err);
	cJSON_Delete(j);
	return ret < 0 ? -1 : 1;
}

static int plan_init(const struct ctx *c, struct meta_plan *plan, struct cni_err *err)
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
	if (!plan->container_id || !plan->netns || !plan->ifname || !plan->cni_version ||
	    !plan->pod_namespace || !plan->pod_name || !plan->pod_uid || !plan->sandbox_id)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	return 0;
}

/* The whole plan, checked: delegates that parse, networks we can speak to, interfaces free. */
static int build_plan(struct ctx *c, struct meta_plan *plan, struct cni_err *err)
{
	if (plan_init(c, plan, err) < 0 ||
	    meta_plan_add_static(plan, &c->nc, &c->k8s, &c->kube, err) < 0)
		return -1;
	if (c->kube.pod && (meta_kube_add_pod_networks(plan, &c->nc, &c->kube, &c->k8s, err) < 0 ||
			    meta_kube_assign_devices(plan, &c->nc, &c->kube, &c->k8s, err) < 0))
		return -1;
	if (meta_plan_finish(plan, &c->nc, c->req->args_str, &c->k8s, err) < 0 ||
	    meta_kube_devinfo_paths(plan, &c->nc, err) < 0 || meta_defroute_check(plan, err) < 0)
		return -1;
	for (size_t i = 0; i < plan->n; i++) {
		struct cni_conflist list;
		const char *v;

		if (cni_conflist_parse(plan->att[i].config, plan->att[i].config_len, &list, err) <
		    0)
			return -1;
		v = *list.cni_version ? list.cni_version : plan->cni_version;
		if (*v && !cni_version_supported(v)) {
			cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
				    "network \"%s\": unsupported cniVersion \"%s\"",
				    plan->att[i].network, v);
			cni_conflist_free(&list);
			return -1;
		}
		/* every plugin binary must be there (and be a plain name) before anything runs */
		for (size_t k = 0; k < list.nplugins; k++) {
			char *bin =
			    dlg_find(cni_plugin_type(list.plugins[k]), c->path, c->npath, err);

			if (!bin) {
				cni_err_prefix(err, "network \"%s\"", plan->att[i].network);
				cni_conflist_free(&list);
				return -1;
			}
			free(bin);
		}
		cni_conflist_free(&list);
	}
	return 0;
}

static void rollback(const struct ctx *c, const struct meta_plan *plan, size_t upto)
{
	for (size_t i = upto + 1; i-- > 0;) {
		struct cni_err e = { 0 };

		if (run_attachment("DEL", c, plan, i, NULL, &e) < 0)
			log_error("rollback: DEL of %s on %s failed: %s", plan->att[i].status_name,
				  plan->att[i].ifname, e.msg);
		cni_err_clear(&e);
	}
}

/* default-route: after attachment i's ADD, its default routes follow the pod's requests, in the
 * netns and in the cached result (prevResult stays truthful for CHECK and DEL). */
static int apply_default_route(const struct ctx *c, const struct meta_plan *plan, size_t i,
			       cJSON *result, struct cni_err *err)
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
			return cni_err_isset(err)
				   ? -1
				   : cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		changed = true;
	}
	if (changed && dlg_cache_set_result(c->nc.cni_dir, a->network, plan->container_id,
					    a->ifname, result, err) < 0)
		return -1;
	return 0;
}

/* Multus: once every delegate succeeded, network-status goes to the pod; a failure here never
 * fails the ADD (the networks are attached), it is logged. */
static void write_status(struct ctx *c, const struct meta_plan *plan, cJSON *const *results)
{
	struct cni_err e = { 0 };
	cJSON *statuses = cJSON_CreateArray();
	int ret;

	for (size_t i = 0; statuses && i < plan->n; i++) {
		if (!results[i])
			continue;
		cJSON *devinfo = NULL;

		if (plan->att[i].devinfo_file &&
		    k8s_devinfo_read(plan->att[i].devinfo_file, &devinfo, &e) < 0) {
			log_error("device-info of %s: %s", plan->att[i].status_name, e.msg);
			cni_err_clear(&e);
		}
		if (k8s_network_status_append(statuses, plan->att[i].status_name,
					      plan->att[i].master, results[i], devinfo, &e) < 0) {
			log_error("network-status of %s: %s", plan->att[i].status_name, e.msg);
			cni_err_clear(&e);
		}
		cJSON_Delete(devinfo);
	}
	ret = statuses ? meta_kube_write_status(&c->kube, &c->k8s, statuses, &e) : -1;
	if (ret == 1)
		log_error("pod %s/%s is gone; network-status not written", c->k8s.pod_namespace,
			  c->k8s.pod_name);
	else if (ret < 0)
		log_error("writing network-status: %s", e.msg ? e.msg : "out of memory");
	cni_err_clear(&e);
	cJSON_Delete(statuses);
}

/* The API's view of the pod for ADD: 1 with the pod, 0 when no API or no pod name, -1 error;
 * *gone set when the API says the pod does not exist. */
static int fetch_pod(struct ctx *c, bool *gone, struct cni_err *err)
{
	int found;

	*gone = false;
	if (meta_kube_open(&c->kube, &c->nc, NULL, err) < 0)
		return -1;
	if (!c->kube.client || !*c->k8s.pod_name)
		return 0;
	found = meta_kube_get_pod(&c->kube, &c->k8s, err);
	if (found < 0)
		return cni_err_prefix(err, "error getting pod");
	*gone = found == 0;
	return found;
}

static int cmd_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	cJSON **results = NULL;
	struct ctx c;
	size_t i;
	bool gone;
	int ret = -1;

	if (ctx_init(req, &c, err) < 0)
		goto out;
	if (wait_readiness(&c.nc, err) < 0)
		goto out;
	if (fetch_pod(&c, &gone, err) < 0)
		goto out;
	if (gone) {
		/* Multus: a pod the API does not know gets an empty result so the runtime can
		 * clean up; nothing is attached */
		log_error("pod %s/%s not found: returning an empty result", c.k8s.pod_namespace,
			  c.k8s.pod_name);
		*result = meta_kube_empty_result(c.nc.cni_version, req->ifname, req->netns);
		ret = *result ? 0 : cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (c.kube.pod && k8s_pod_check_uid(c.kube.pod, c.k8s.pod_uid, err) < 0)
		goto out;
	if (build_plan(&c, &plan, err) < 0)
		goto out;
	if (lock_container(&c, err) < 0)
		goto out;
	for (i = 0; i < plan.n; i++) {
		struct ifcheck ic = { plan.att[i].ifname, false };

		if (cni_netns_do(req->netns, ifname_lookup, &ic, err) < 0) {
			cni_err_prefix(err, "validateIfName: no net namespace %s found",
				       req->netns);
			goto out;
		}
		if (ic.exists) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "DelegateAdd: cannot set \"%s\" interface name to \"%s\": "
				    "validateIfName: interface name %s already exists",
				    plan.att[i].network, plan.att[i].ifname, plan.att[i].ifname);
			goto out;
		}
	}
	results = calloc(plan.n + 1, sizeof(*results));
	if (!results) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	/* durable before the first delegate runs: a crash from here on is undone by DEL */
	if (write_cache(&c, &plan, err) < 0)
		goto out;
	for (i = 0; i < plan.n; i++) {
		if (run_attachment("ADD", &c, &plan, i, &results[i], err) < 0 ||
		    apply_default_route(&c, &plan, i, results[i], err) < 0) {
			cni_err_prefix(err,
				       "%s: [%s/%s/%s:%s]: error adding container to network "
				       "\"%s\"",
				       "plexus", c.k8s.pod_namespace, c.k8s.pod_name, c.k8s.pod_uid,
				       plan.att[i].status_name, plan.att[i].network);
			rollback(&c, &plan, i);
			goto out;
		}
		log_verbose("added %s on %s", plan.att[i].status_name, plan.att[i].ifname);
	}
	if (c.kube.pod)
		write_status(&c, &plan, results);
	for (i = 0; i < plan.n && !*result; i++)
		if (plan.att[i].master) {
			*result = results[i];
			results[i] = NULL;
		}
	ret = 0;
out:
	for (i = 0; results && i < plan.n; i++)
		cJSON_Delete(results[i]);
	free(results);
	meta_plan_free(&plan);
	ctx_free(&c);
	return ret;
}

/* DEL every attachment in reverse, past errors; all messages joined. */
static int del_plan(const struct ctx *c, const struct meta_plan *plan, struct cni_err *err)
{
	int failed = 0;

	for (size_t i = plan->n; i-- > 0;) {
		struct cni_err e = { 0 };

		if (run_attachment("DEL", c, plan, i, NULL, &e) < 0) {
			log_error("DEL of %s on %s failed: %s", plan->att[i].status_name,
				  plan->att[i].ifname, e.msg);
			failed++;
			cni_err_join(err, &e, " / ");
		}
	}
	return failed ? -1 : 0;
}

static int cmd_del(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct ctx c;
	int found, ret = -1;
	bool remove_cache = true;

	if (ctx_init(req, &c, err) < 0)
		goto out;
	if (c.nc.readiness_file && *c.nc.readiness_file && access(c.nc.readiness_file, F_OK) < 0)
		log_error("readinessindicatorfile %s is absent; deleting anyway",
			  c.nc.readiness_file);
	if (lock_container(&c, err) < 0)
		goto out;
	found = read_cache(&c, &plan, err);
	if (found < 0) {
		log_error("cache %s is unreadable (%s); falling back to the netconf", c.cache_file,
			  err->msg);
		cni_err_clear(err);
	}
	if (found <= 0) {
		struct cni_err e = { 0 };
		bool gone;

		meta_plan_free(&plan);
		/* no cache: the API (when there is one) tells which networks the pod had */
		if (fetch_pod(&c, &gone, &e) < 0) {
			log_error("DEL without cache: %s", e.msg);
			cni_err_clear(&e);
		} else if (c.kube.pod && k8s_pod_check_uid(c.kube.pod, c.k8s.pod_uid, &e) < 0) {
			log_error("DEL: %s; deleting the pod's networks anyway", e.msg);
			cni_err_clear(&e);
		}
		if (build_plan(&c, &plan, &e) < 0) {
			log_error("no cache for %s and the netconf gives nothing to delete (%s): "
				  "nothing to do",
				  req->container_id, e.msg);
			cni_err_clear(&e);
			ret = 0;
			goto done;
		}
		log_verbose("no cache for %s: deleting the netconf's delegates", req->container_id);
	}
	ret = del_plan(&c, &plan, err);
	if (ret < 0 && c.nc.retry_delete_on_error)
		remove_cache = false;
done:
	if (remove_cache) {
		struct cni_err e = { 0 };

		if (cni_remove_file(c.cache_file, &e) < 0) {
			log_error("%s", e.msg);
			cni_err_clear(&e);
		}
		/* a plexus killed while writing the cache left its temporary file */
		cni_remove_temporaries(c.cache_file);
	}
out:
	meta_plan_free(&plan);
	ctx_free(&c);
	return ret;
}

static int cmd_check(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct ctx c;
	int ret = -1;

	if (ctx_init(req, &c, err) < 0)
		goto out;
	if (lock_container(&c, err) < 0)
		goto out;
	ret = read_cache(&c, &plan, err);
	if (ret == 0)
		cni_err_set(err, CNI_ERR_UNKNOWN_CONTAINER,
			    "no attachments recorded for container %s", req->container_id);
	if (ret <= 0) {
		ret = -1;
		goto out;
	}
	ret = 0;
	for (size_t i = 0; i < plan.n && ret == 0; i++)
		if (run_attachment("CHECK", &c, &plan, i, NULL, err) < 0) {
			cni_err_prefix(err, "%s: CHECK of network \"%s\" on %s", "plexus",
				       plan.att[i].status_name, plan.att[i].ifname);
			ret = -1;
		}
out:
	meta_plan_free(&plan);
	ctx_free(&c);
	return ret;
}

static int cmd_status(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct ctx c;
	int ret = -1;

	if (ctx_init(req, &c, err) < 0)
		goto out;
	if (c.nc.readiness_file && *c.nc.readiness_file && access(c.nc.readiness_file, F_OK) < 0) {
		cni_err_set(err, CNI_ERR_NOT_AVAILABLE,
			    "have you checked that your default network is ready? "
			    "readinessindicatorfile %s is absent",
			    c.nc.readiness_file);
		goto out;
	}
	/* the cluster network answers for us */
	memset(&plan, 0, sizeof(plan));
	plan.cni_version = strdup(c.nc.cni_version);
	if (meta_kube_open(&c.kube, &c.nc, NULL, err) < 0 ||
	    meta_plan_add_static(&plan, &c.nc, &c.k8s, &c.kube, err) < 0 || plan.n == 0)
		goto out;
	plan.ifname = strdup("");
	plan.container_id = strdup("");
	ret = run_attachment("STATUS", &c, &plan, 0, NULL, err);
out:
	meta_plan_free(&plan);
	ctx_free(&c);
	return ret;
}

static const cJSON *valid_attachments(const cJSON *conf)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, "cni.dev/valid-attachments");

	if (!cJSON_IsArray(v))
		v = cJSON_GetObjectItemCaseSensitive(conf, "cni.dev/attachments");
	return cJSON_IsArray(v) ? v : NULL;
}

/* Deletes a stale container's attachments and its cache, under its lock. */
static void gc_container(const struct ctx *base, const char *cid, struct cni_err *err)
{
	struct cni_request req = *base->req;
	struct meta_plan plan = { 0 };
	struct cni_err one = { 0 };
	struct ctx c = *base;
	int fd;

	req.container_id = cid;
	c.req = &req;
	c.cache_file = NULL;
	c.lock_file = NULL;
	if (asprintf(&c.cache_file, "%s/%s", base->state_dir, cid) < 0 ||
	    asprintf(&c.lock_file, "%s/%s.lock", base->state_dir, cid) < 0)
		goto out;
	fd = cni_lock(c.lock_file, base->nc.delegate_timeout_s * 1000 + 10000, true, &one);
	if (fd < 0)
		goto out;
	if (read_cache(&c, &plan, &one) > 0) {
		req.netns = plan.netns;
		if (del_plan(&c, &plan, &one) == 0 && cni_remove_file(c.cache_file, &one) < 0) {
			/* the failure is in one, joined into err below */
		}
	} else {
		/* unreadable: keep it for a person to look at, but say so */
		log_error("GC: cannot read cache of %s: %s", cid, one.msg ? one.msg : "");
	}
	cni_unlock(fd, c.lock_file, !cni_err_isset(&one));
out:
	if (cni_err_isset(&one))
		cni_err_join(err, &one, " / ");
	meta_plan_free(&plan);
	free(c.cache_file);
	free(c.lock_file);
}

/* Every network a delegate GC must reach, with the attachments still valid on it. */
struct gc_net {
	char *config;
	size_t len;
	char *name;
	cJSON *valid;
};

static struct gc_net *gc_net_get(struct gc_net **nets, size_t *n, const struct meta_attachment *a)
{
	struct gc_net *g;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*nets)[i].name, a->network) == 0)
			return &(*nets)[i];
	g = realloc(*nets, (*n + 1) * sizeof(**nets));
	if (!g)
		return NULL;
	*nets = g;
	g = &g[(*n)++];
	g->name = strdup(a->network);
	g->config = malloc(a->config_len + 1);
	g->len = a->config_len;
	g->valid = cJSON_CreateArray();
	if (g->config)
		memcpy(g->config, a->config, a->config_len + 1);
	return g;
}

static int cmd_gc(const struct cni_request *req, struct cni_err *err)
{
	struct gc_net *nets = NULL;
	struct meta_plan plan = { 0 };
	const cJSON *valid;
	size_t nnets = 0;
	struct dirent *de;
	struct ctx c;
	DIR *d;

	if (ctx_init(req, &c, err) < 0)
		goto out;
	valid = valid_attachments(req->conf);
	if (!valid) {
		log_verbose("GC without cni.dev/valid-attachments: nothing is deleted");
		goto out;
	}
	d = opendir(c.state_dir);
	while (d && (de = readdir(d))) {
		struct meta_plan p = { 0 };
		struct cni_err e = { 0 };
		struct cni_request one = *req;
		struct ctx cc = c;
		char *file = NULL;

		if (de->d_name[0] == '.' || strchr(de->d_name, '.') ||
		    cni_validate_container_id(de->d_name, &e) < 0) {
			cni_err_clear(&e);
			continue;
		}
		one.container_id = de->d_name;
		cc.req = &one;
		if (asprintf(&file, "%s/%s", c.state_dir, de->d_name) < 0)
			continue;
		cc.cache_file = file;
		if (read_cache(&cc, &p, &e) > 0 &&
		    dlg_attachment_valid(valid, p.container_id, p.ifname)) {
			for (size_t i = 0; i < p.n; i++) {
				struct gc_net *g = gc_net_get(&nets, &nnets, &p.att[i]);
				cJSON *o = cJSON_CreateObject();

				if (!g || !o) {
					cJSON_Delete(o);
					continue;
				}
				cJSON_AddStringToObject(o, "containerID", p.container_id);
				cJSON_AddStringToObject(o, "ifname", p.att[i].ifname);
				cJSON_AddItemToArray(g->valid, o);
			}
		} else {
			log_verbose("GC: container %s is not in the valid attachments", de->d_name);
			gc_container(&c, de->d_name, err);
		}
		cni_err_clear(&e);
		meta_plan_free(&p);
		free(file);
	}
	if (d)
		closedir(d);
	/* the netconf's own networks get GC too, even with no attachment left */
	plan.cni_version = strdup(c.nc.cni_version);
	if (meta_kube_open(&c.kube, &c.nc, NULL, err) == 0 &&
	    meta_plan_add_static(&plan, &c.nc, &c.k8s, &c.kube, err) == 0) {
		for (size_t i = 0; i < plan.n; i++)
			gc_net_get(&nets, &nnets, &plan.att[i]);
	} else {
		struct cni_err e = { 0 };

		cni_err_move(&e, err);
		log_error("GC: %s", e.msg);
		cni_err_join(err, &e, " / ");
	}
	for (size_t i = 0; i < nnets; i++) {
		struct cni_conflist list;
		struct cni_err e = { 0 };
		struct dlg_rt rt = { .path = c.path,
				     .npath = c.npath,
				     .timeout_ms = c.nc.delegate_timeout_s * 1000,
				     .cache_dir = c.nc.cni_dir };

		if (!nets[i].config ||
		    cni_conflist_parse(nets[i].config, nets[i].len, &list, &e) < 0) {
			cni_err_join(err, &e, " / ");
			continue;
		}
		if (dlg_gc(&list, &rt, nets[i].valid, &e) < 0)
			cni_err_join(err, &e, " / ");
		cni_conflist_free(&list);
	}
out:
	for (size_t i = 0; i < nnets; i++) {
		free(nets[i].config);
		free(nets[i].name);
		cJSON_Delete(nets[i].valid);
	}
	free(nets);
	meta_plan_free(&plan);
	ctx_free(&c);
	return cni_err_isset(err) ? -1 : 0;
}

static const struct cni_plugin plexus = {
	.about = "plexus: a Multus-compatible CNI meta-plugin",
	.versions =
	    (const char *const[]){ "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" },
	.nversions = 7,
	.add = cmd_add,
	.del = cmd_del,
	.check = cmd_check,
	.gc = cmd_gc,
	.status = cmd_status,
};

int main(int argc, char **argv)
{
	int rc;

	/* a runtime runs plugins without arguments; an operator runs subcommands */
	if (argc > 1)
		return meta_cli_main(argc, argv);
	rc = cni_skel_run(&plexus, stdin, stdout);

	cni_log_close();
	return rc;
}

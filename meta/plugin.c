/* meta/plugin.c: bin/plexus, the meta-plugin: ADD and DEL over an attachment plan, and the verbs.
 * Follows Multus pkg/multus/multus.go cmdAdd/cmdDel (thin plugin) with a durable cache written
 * before anything runs, full rollback, DEL that never needs the API, and results in the
 * netconf's cniVersion. */
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
#include "meta/defroute.h"
#include "k8s/deviceinfo.h"
#include "meta/kube.h"
#include "meta/netconf.h"
#include "meta/plan.h"
#include "meta/plugin.h"
#include "meta/check.h"
#include "meta/gc.h"
#include "meta/invocation.h"
#include "meta/multuscache.h"
#include "meta/events.h"
#include "meta/auxchain.h"

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

/* The whole plan, checked: delegates that parse, networks we can speak to, interfaces free. */
static int build_plan(struct meta_ctx *c, struct meta_plan *plan, struct cni_err *err)
{
	if (meta_ctx_plan_init(c, plan, err) < 0 ||
	    meta_plan_add_static(plan, &c->nc, &c->k8s, &c->kube, err) < 0)
		return -1;
	if (c->kube.pod && (meta_kube_add_pod_networks(plan, &c->nc, &c->kube, &c->k8s, err) < 0 ||
			    meta_kube_assign_devices(plan, &c->nc, &c->kube, &c->k8s, err) < 0))
		return -1;
	/* Multus: the auxiliary chain comes after every other network */
	if (meta_aux_chain_add(plan, &c->nc, err) < 0 ||
	    meta_plan_finish(plan, &c->nc, c->req->args_str, &c->k8s, err) < 0 ||
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

/* The delegates' result cache entries an ADD built but did not write (a caller that runs work
 * after its answer, cni/skel.h struct cni_later): written now, and freed. A failed write is
 * logged: the entry only gives a later DEL its prevResult (delegates/cache.c). */
static void write_entries(struct dlg_cache_entry *entries, size_t n)
{
	for (size_t i = 0; entries && i < n; i++) {
		struct cni_err e = { 0 };

		if (entries[i].path && dlg_cache_entry_write(&entries[i], &e) < 0)
			log_error("result cache %s not written: %s", entries[i].path, e.msg);
		cni_err_clear(&e);
		dlg_cache_entry_free(&entries[i]);
	}
}

/* DEL of attachments upto..0, in reverse; their result cache entries, when the ADD kept them
 * for after its answer, are written first, so that each DEL gets its prevResult. */
static void rollback(const struct meta_ctx *c, const struct meta_plan *plan, size_t upto,
		     struct dlg_cache_entry *entries)
{
	write_entries(entries, upto + 1);
	for (size_t i = upto + 1; i-- > 0;) {
		struct cni_err e = { 0 };

		if (meta_ctx_run("DEL", c, plan, i, NULL, &e) < 0)
			log_error("rollback: DEL of %s on %s failed: %s", plan->att[i].status_name,
				  plan->att[i].ifname, e.msg);
		cni_err_clear(&e);
	}
}

/* Multus: once every delegate succeeded, network-status goes to the pod; a failure here never
 * fails the ADD (the networks are attached), it is logged. */
static void write_status(struct meta_ctx *c, const struct meta_plan *plan, cJSON *const *results)
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

/* The API's view of the pod: 1 with the pod, 0 when no API or no pod name, -1 error; *gone set
 * when the API says the pod does not exist. wait: an ADD may wait for the watch cache. */
static int fetch_pod(struct meta_ctx *c, bool wait, bool *gone, struct cni_err *err)
{
	int found;

	*gone = false;
	if (meta_kube_open(&c->kube, &c->nc, NULL, err) < 0)
		return -1;
	if (!c->kube.client || !*c->k8s.pod_name)
		return 0;
	found = meta_kube_get_pod(&c->kube, &c->k8s, wait, err);
	if (found < 0)
		return cni_err_prefix(err, "error getting pod");
	*gone = found == 0;
	return found;
}

/* Multus's words for a delegate's failed ADD */
static void add_failed(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		       struct cni_err *err)
{
	cni_err_prefix(err, "%s: [%s/%s/%s:%s]: error adding container to network \"%s\"", "plexus",
		       c->k8s.pod_namespace, c->k8s.pod_name, c->k8s.pod_uid,
		       plan->att[i].status_name, plan->att[i].network);
}

/* The plan's fsyncs, run on this thread while its first delegate runs (cni/file.h) */
static void flush_run(void *flush)
{
	cni_flush_run(flush);
}

/* What a successful ADD leaves for after its answer: the entries, then the container's lock,
 * which the next call on the container waits for, so that none finds them missing. */
struct add_rest {
	struct dlg_cache_entry *entries;
	size_t n;
	int lock_fd;
	char *lock_file;
	char prefix[sizeof(((struct meta_ctx *)0)->prefix)];
};

static void add_rest_run(void *arg)
{
	struct add_rest *r = arg;

	cni_log_set_prefix(r->prefix);
	write_entries(r->entries, r->n);
	cni_unlock(r->lock_fd, r->lock_file, true);
	cni_log_set_prefix(NULL);
	free(r->entries);
	free(r->lock_file);
	free(r);
}

/* ADD of attachment i: the first was started before the plan's write, the others start now. With
 * entry, the result's cache entry is left in it (delegates/invoke.h dlg_add_started). */
static int run_add(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		   struct meta_started *first, cJSON **res, struct dlg_cache_entry *entry,
		   struct cni_err *err)
{
	struct meta_started s;

	if (i == 0)
		return meta_ctx_run_started(c, plan, first, res, entry, err);
	if (meta_ctx_start_add(c, plan, i, &s, err) < 0)
		return -1;
	return meta_ctx_run_started(c, plan, &s, res, entry, err);
}

static int cmd_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct meta_started first = { 0 };
	struct cni_flush *flush = NULL;
	struct meta_plan plan = { 0 };
	struct dlg_cache_entry *entries = NULL;
	struct add_rest *rest = NULL;
	cJSON **results = NULL;
	struct meta_ctx c;
	size_t i;
	bool gone;
	int ret = -1;

	if (meta_ctx_init(req, &c, err) < 0)
		goto out;
	if (wait_readiness(&c.nc, err) < 0)
		goto out;
	if (fetch_pod(&c, true, &gone, err) < 0)
		goto out;
	if (gone) {
		/* Multus: a pod the API does not know gets an empty result so the runtime can
		 * clean up; nothing is attached */
		log_error("pod %s/%s not found: returning an empty result", c.k8s.pod_namespace,
			  c.k8s.pod_name);
		*result = meta_kube_empty_result(c.nc.cni_version, req->ifname, req->netns);
		ret = *result ? 0 : cni_err_oom(err);
		goto out;
	}
	if (c.kube.pod && k8s_pod_check_uid(c.kube.pod, c.k8s.pod_uid, err) < 0)
		goto out;
	if (build_plan(&c, &plan, err) < 0)
		goto out;
	if (meta_ctx_lock(&c, err) < 0)
		goto out;
	/* The first delegate starts now and gets its config once the plan is in place: its own
	 * start (exec, loader, libc) overlaps the checks and the plan's write below. It inherits
	 * the lock; killed unfed, it has done nothing. */
	if (plan.n && meta_ctx_start_add(&c, &plan, 0, &first, err) < 0) {
		add_failed(&c, &plan, 0, err);
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		bool taken;

		if (meta_ctx_ifname_taken(&c, plan.att[i].ifname, &taken, err) < 0)
			goto out;
		if (taken) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "DelegateAdd: cannot set \"%s\" interface name to \"%s\": "
				    "validateIfName: interface name %s already exists",
				    plan.att[i].network, plan.att[i].ifname, plan.att[i].ifname);
			goto out;
		}
	}
	results = calloc(plan.n + 1, sizeof(*results));
	/* a caller that can run work after its answer gets the entries and the lock left to it:
	 * nothing reads them before the next call on the container, which waits for the lock */
	if (req->later) {
		entries = calloc(plan.n + 1, sizeof(*entries));
		rest = calloc(1, sizeof(*rest));
	}
	if (!results || (req->later && (!entries || !rest))) {
		cni_err_oom(err);
		goto out;
	}
	/* in place before the first delegate runs: a crash of this process from here on is
	 * undone by DEL. Its fsyncs (a power cut) run here once that delegate has its config,
	 * while it runs; the ADD succeeds only once they have. */
	if (meta_ctx_write_cache(&c, &plan, &flush, err) < 0)
		goto out;
	meta_started_when_fed(&first, flush_run, flush);
	for (i = 0; i < plan.n; i++) {
		struct dlg_cache_entry *entry = entries ? &entries[i] : NULL;

		if (run_add(&c, &plan, i, &first, &results[i], entry, err) < 0 ||
		    meta_ctx_default_route(&c, &plan, i, results[i], entry, err) < 0) {
			add_failed(&c, &plan, i, err);
			rollback(&c, &plan, i, entries);
			goto out;
		}
		log_verbose("added %s on %s", plan.att[i].status_name, plan.att[i].ifname);
	}
	if (cni_flush_wait(flush, err) < 0) {
		flush = NULL;
		cni_err_prefix(err, "plexus: [%s/%s/%s]: the plan could not be made durable",
			       c.k8s.pod_namespace, c.k8s.pod_name, c.k8s.pod_uid);
		rollback(&c, &plan, plan.n - 1, entries);
		goto out;
	}
	flush = NULL;
	if (c.kube.pod)
		write_status(&c, &plan, results);
	/* Multus sends them from the ADD; thin mode only when asked, a daemon's sink always */
	if (c.kube.pod)
		meta_events_emit(c.kube.client, c.k8s.pod_namespace, c.k8s.pod_name, c.k8s.pod_uid,
				 meta_added_interface_events(&plan, results),
				 c.nc.added_interface_events);
	for (i = 0; i < plan.n && !*result; i++)
		if (plan.att[i].master) {
			*result = results[i];
			results[i] = NULL;
		}
	if (rest) {
		rest->entries = entries;
		rest->n = plan.n;
		rest->lock_fd = c.lock_fd;
		rest->lock_file = c.lock_file;
		memcpy(rest->prefix, c.prefix, sizeof(rest->prefix));
		c.lock_fd = -1;
		c.lock_file = NULL;
		*req->later = (struct cni_later){ .fn = add_rest_run, .arg = rest };
		entries = NULL;
		rest = NULL;
	}
	ret = 0;
out:
	meta_started_cancel(&first);
	/* a failure wrote (and freed) the entries in its rollback */
	free(entries);
	free(rest);
	if (flush) {
		struct cni_err e = { 0 };

		if (cni_flush_wait(flush, &e) < 0)
			log_error("%s", e.msg);
		cni_err_clear(&e);
	}
	for (i = 0; results && i < plan.n; i++)
		cJSON_Delete(results[i]);
	free(results);
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

static int cmd_del(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct meta_ctx c;
	int found, ret = -1;
	bool remove_cache = true;

	if (meta_ctx_init(req, &c, err) < 0)
		goto out;
	if (c.nc.readiness_file && *c.nc.readiness_file && access(c.nc.readiness_file, F_OK) < 0)
		log_error("readinessindicatorfile %s is absent; deleting anyway",
			  c.nc.readiness_file);
	if (meta_ctx_lock(&c, err) < 0)
		goto out;
	found = meta_ctx_read_cache(&c, &plan, err);
	if (found < 0) {
		log_error("cache %s is unreadable (%s); falling back to the netconf", c.cache_file,
			  err->msg);
		cni_err_clear(err);
	}
	if (found <= 0) {
		struct cni_err e = { 0 };

		meta_plan_free(&plan);
		found = meta_ctx_read_multus_cache(&c, NULL, &plan, &e);
		if (found > 0)
			log_verbose("deleting %s from Multus's cache %s (%zu delegates)",
				    req->container_id, c.multus_cache_file, plan.n);
		else if (found < 0)
			log_error("Multus's cache %s is unusable (%s); falling back to the netconf",
				  c.multus_cache_file, e.msg ? e.msg : "out of memory");
		cni_err_clear(&e);
	}
	if (found <= 0) {
		struct cni_err e = { 0 };
		bool gone;

		meta_plan_free(&plan);
		/* no cache: the API (when there is one) tells which networks the pod had */
		if (fetch_pod(&c, false, &gone, &e) < 0) {
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
	ret = meta_ctx_del_plan(&c, &plan, err);
	if (ret < 0 && c.nc.retry_delete_on_error)
		remove_cache = false;
done:
	if (remove_cache) {
		const char *files[] = { c.cache_file, c.multus_cache_file };

		for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
			struct cni_err e = { 0 };

			if (cni_remove_file(files[i], &e) < 0) {
				log_error("%s", e.msg);
				cni_err_clear(&e);
			}
			/* a plexus killed while writing a cache left its temporary file */
			cni_remove_temporaries(files[i], CNI_WRITE_LOCKED);
		}
	}
out:
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

const struct cni_plugin meta_plugin = {
	.about = "plexus: a Multus-compatible CNI meta-plugin",
	.versions =
	    (const char *const[]){ "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" },
	.nversions = 7,
	.add = cmd_add,
	.del = cmd_del,
	.check = meta_cmd_check,
	.gc = meta_cmd_gc,
	.status = meta_cmd_status,
};

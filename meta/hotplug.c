/* meta/hotplug.c: the reconcile of a running pod's networks annotation and Multus's /delegate,
 * over the pod's plan on disk (see meta/hotplug.h). */
#include "meta/hotplug.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/log.h"
#include "delegates/cache.h"
#include "k8s/deviceinfo.h"
#include "k8s/netstatus.h"
#include "k8s/objects.h"
#include "k8s/selection.h"
#include "meta/events.h"
#include "meta/invocation.h"
#include "meta/kube.h"
#include "meta/multuscache.h"

#define NETN_MAX 4096 /* netN names tried for a new element */

/* "2026-12-06T05:00:00Z": when a hot-plugged attachment was added. */
static char *now_utc(void)
{
	char buf[CNI_RFC3339_MAX];

	return cni_rfc3339(time(NULL), -1, buf) ? strdup(buf) : NULL;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_json(const cJSON *a, const cJSON *b)
{
	return (!a && !b) || (a && b && cJSON_Compare(a, b, true));
}

static bool is_annotation(const struct meta_attachment *a)
{
	return !a->master && a->origin && strcmp(a->origin, META_ORIGIN_ANNOTATION) == 0;
}

/* An event about the pod, appended to events (NULL: none kept). */
static void push_event(cJSON *events, const char *type, const char *reason, const char *fmt, ...)
    CNI_PRINTF(4, 5);
static void push_event(cJSON *events, const char *type, const char *reason, const char *fmt, ...)
{
	cJSON *o;
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0 || !events) {
		free(n < 0 ? NULL : msg);
		return;
	}
	o = cJSON_CreateObject();
	if (!cJSON_AddItemToArray(events, o) || !cJSON_AddStringToObject(o, "type", type) ||
	    !cJSON_AddStringToObject(o, "reason", reason) ||
	    !cJSON_AddStringToObject(o, "message", msg))
		log_error("event %s not kept: out of memory", reason);
	free(msg);
}

/* network-status of everything attached: each attachment's result as its delegate's ADD left it
 * in libcni's cache. Returns 0, 1 when the pod is gone, -1 with err. */
static int write_status(struct meta_ctx *c, const struct meta_plan *plan, struct cni_err *err)
{
	cJSON *statuses = cJSON_CreateArray();
	int ret;

	for (size_t i = 0; statuses && i < plan->n; i++) {
		const struct meta_attachment *a = &plan->att[i];
		struct dlg_cached cached = { 0 };
		struct cni_err e = { 0 };
		cJSON *devinfo = NULL;

		if (a->pending)
			continue;
		if (dlg_cache_read(c->nc.cni_dir, a->network, plan->container_id, a->ifname,
				   &cached, &e) <= 0 ||
		    !cached.result) {
			log_error("network-status: no cached result for %s on %s%s%s",
				  a->status_name, a->ifname, e.msg ? ": " : "", e.msg ? e.msg : "");
			cni_err_clear(&e);
			dlg_cached_free(&cached);
			continue;
		}
		if (a->devinfo_file && k8s_devinfo_read(a->devinfo_file, &devinfo, &e) < 0)
			cni_err_clear(&e);
		if (k8s_network_status_append(statuses, a->status_name, a->master, cached.result,
					      devinfo, &e) < 0) {
			log_error("network-status of %s: %s", a->status_name, e.msg);
			cni_err_clear(&e);
		}
		cJSON_Delete(devinfo);
		dlg_cached_free(&cached);
	}
	if (!statuses)
		return cni_err_oom(err);
	ret = meta_kube_write_status(&c->kube, &c->k8s, statuses, err);
	cJSON_Delete(statuses);
	return ret;
}

/* The first netN free in the plan and in the netns. */
static char *free_netn(const struct meta_ctx *c, const struct meta_plan *plan, struct cni_err *err)
{
	char name[16];

	for (int k = 1; k < NETN_MAX; k++) {
		bool used = false, taken;

		snprintf(name, sizeof(name), "net%d", k);
		for (size_t i = 0; i < plan->n && !used; i++)
			used = strcmp(plan->att[i].ifname, name) == 0;
		if (used)
			continue;
		if (meta_ctx_ifname_taken(c, name, &taken, err) < 0)
			return NULL;
		if (!taken)
			return strdup(name);
	}
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no free interface name net1..net%d",
		    NETN_MAX - 1);
	return NULL;
}

/* Attachment a joins the plan pending, durably, before its ADD; on success it is no longer
 * pending (written again); on failure it is deleted and leaves the plan. Returns 0 with *res the
 * delegate's result, or -1 with err (the plan as it was). */
static int attach(struct meta_ctx *c, struct meta_plan *plan, struct meta_attachment *a,
		  cJSON **res, struct cni_err *err)
{
	size_t k;

	*res = NULL;
	a->pending = true;
	free(a->added);
	a->added = now_utc();
	if (!a->added)
		return cni_err_oom(err);
	if (meta_plan_append(plan, a, err) < 0)
		return -1;
	k = plan->n - 1;
	if (meta_ctx_write_cache(c, plan, NULL, err) < 0) {
		meta_plan_remove(plan, k);
		return -1;
	}
	if (meta_ctx_run("ADD", c, plan, k, res, err) == 0 &&
	    meta_ctx_default_route(c, plan, k, *res, NULL, err) == 0) {
		plan->att[k].pending = false;
		if (meta_ctx_write_cache(c, plan, NULL, err) == 0)
			return 0;
	}
	{
		struct cni_err e = { 0 };

		if (meta_ctx_run("DEL", c, plan, k, NULL, &e) < 0)
			log_error("rollback: DEL of %s on %s failed: %s", plan->att[k].status_name,
				  plan->att[k].ifname, e.msg);
		cni_err_clear(&e);
		meta_plan_remove(plan, k);
		if (meta_ctx_write_cache(c, plan, NULL, &e) < 0)
			log_error("%s", e.msg);
		cni_err_clear(&e);
	}
	cJSON_Delete(*res);
	*res = NULL;
	return -1;
}

/* DEL of attachment i, then it leaves the plan (written). On failure it stays, for a retry or
 * the pod's DEL. */
static int detach(struct meta_ctx *c, struct meta_plan *plan, size_t i, struct cni_err *err)
{
	if (meta_ctx_run("DEL", c, plan, i, NULL, err) < 0)
		return -1;
	meta_plan_remove(plan, i);
	return meta_ctx_write_cache(c, plan, NULL, err);
}

/* The attachments the annotation asks for, built as ADD builds them, after a placeholder for
 * the cluster network (att[0], never used) so that a default-network annotation reads as in
 * ADD. */
static int build_wanted(struct meta_ctx *c, const struct meta_plan *cur, struct meta_plan *want,
			struct cni_err *err)
{
	const struct meta_attachment *m = NULL;

	for (size_t i = 0; i < cur->n && !m; i++)
		if (cur->att[i].master)
			m = &cur->att[i];
	want->container_id = strdup(cur->container_id);
	want->netns = strdup(cur->netns ? cur->netns : "");
	want->ifname = strdup(cur->ifname);
	if (!want->container_id || !want->netns || !want->ifname)
		return cni_err_oom(err);
	if (!m)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "the plan of %s has no cluster network", cur->container_id);
	if (meta_plan_add(want, m->config, m->config_len, NULL, err) < 0 ||
	    meta_kube_add_pod_networks(want, &c->nc, &c->kube, &c->k8s, err) < 0 ||
	    meta_kube_assign_devices(want, &c->nc, &c->kube, &c->k8s, err) < 0 ||
	    meta_plan_finish(want, &c->nc, c->req->args_str, &c->k8s, err) < 0)
		return -1;
	return 0;
}

/* Whether the element's own requests (ips, mac, portMappings, bandwidth..., default-route)
 * differ from those the attachment was made with, as its plan keeps them apart from the
 * runtime's capability args (which the reconcile does not have). A plan written before
 * plexus kept them says nothing: no change is seen. Its config is not compared: a NAD edited
 * since, or another device of the resource, does not move a running interface. */
static bool requests_differ(const struct meta_attachment *a, const struct meta_attachment *w)
{
	if (!a->requests)
		return false;
	return !same_json(a->gateways, w->gateways) || !same_json(a->requests, w->requests);
}

/* A device of w's resource that no kept attachment of the plan uses: want assigned the
 * resource's devices to its attachments, so one of them is free. */
static int free_device(const struct meta_plan *cur, const struct meta_plan *want,
		       struct meta_attachment *w, struct cni_err *err)
{
	for (size_t j = 0; j < want->n; j++) {
		const struct meta_attachment *o = &want->att[j];
		bool used = false;

		if (!o->device_id || !same_str(o->resource_name, w->resource_name))
			continue;
		for (size_t i = 0; i < cur->n && !used; i++)
			used = same_str(cur->att[i].device_id, o->device_id);
		if (used)
			continue;
		if (strcmp(o->device_id, w->device_id) != 0) {
			/* the config and runtimeConfig name the device: both follow */
			char *d = strdup(o->device_id);
			char *conf =
			    d ? k8s_inject_device_id(w->config, w->config_len, d, err) : NULL;

			if (!conf) {
				free(d);
				return cni_err_isset(err) ? -1 : cni_err_oom(err);
			}
			free(w->config);
			w->config = conf;
			w->config_len = strlen(conf);
			free(w->device_id);
			w->device_id = d;
			if (w->cap_args &&
			    cni_json_set(w->cap_args, "deviceID", cJSON_CreateString(d)) < 0)
				return cni_err_oom(err);
		}
		return 0;
	}
	return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			   "resource %s: every device allocated to the pod is in use by its other "
			   "attachments",
			   w->resource_name);
}

struct recon {
	struct meta_ctx c;
	struct meta_plan cur, want;
	cJSON *events;
	bool changed;
	unsigned failed;
	char *first_error;
};

static void note_failure(struct recon *r, const char *what, const struct cni_err *e)
{
	r->failed++;
	if (!r->first_error && asprintf(&r->first_error, "%s: %s", what, e->msg) < 0)
		r->first_error = NULL;
}

/* Undo what a crash left pending. */
static void undo_pending(struct recon *r)
{
	for (size_t i = r->cur.n; i-- > 0;) {
		struct cni_err e = { 0 };

		if (!r->cur.att[i].pending)
			continue;
		log_verbose("hot-plug: %s on %s was left pending: deleting it",
			    r->cur.att[i].status_name, r->cur.att[i].ifname);
		if (detach(&r->c, &r->cur, i, &e) < 0)
			note_failure(r, "undoing a pending attachment", &e);
		else
			r->changed = true;
		cni_err_clear(&e);
	}
}

static int apply_diff(struct recon *r)
{
	struct meta_plan *cur = &r->cur, *want = &r->want;
	long *match = calloc(want->n + 1, sizeof(*match));
	bool *keep = calloc(cur->n + 1, sizeof(*keep));
	struct cni_err e = { 0 };

	if (!match || !keep) {
		free(match);
		free(keep);
		return -1;
	}
	/* match: by network and interface, or by position among unnamed elements */
	for (size_t w = 1; w < want->n; w++) {
		const struct meta_attachment *wa = &want->att[w];

		match[w] = -1;
		for (size_t i = 0; i < cur->n; i++) {
			const struct meta_attachment *ca = &cur->att[i];

			if (keep[i] || !is_annotation(ca) ||
			    !same_str(ca->status_name, wa->status_name))
				continue;
			if (wa->ifname_request ? strcmp(ca->ifname, wa->ifname_request) != 0
					       : ca->ifname_request != NULL)
				continue;
			keep[i] = true;
			match[w] = (long)i;
			break;
		}
		/* same element, other requests: detached, then attached on its interface */
		if (match[w] >= 0 && requests_differ(&cur->att[match[w]], wa)) {
			char *name = strdup(cur->att[match[w]].ifname);

			if (!name) {
				free(match);
				free(keep);
				return -1;
			}
			free(want->att[w].ifname);
			want->att[w].ifname = name;
			keep[match[w]] = false;
			match[w] = -2;
		}
	}
	for (size_t i = cur->n; i-- > 0;) {
		char *what;

		if (keep[i] || !is_annotation(&cur->att[i]))
			continue;
		if (asprintf(&what, "Remove %s from %s", cur->att[i].ifname,
			     cur->att[i].status_name) < 0)
			what = NULL;
		if (detach(&r->c, cur, i, &e) < 0) {
			note_failure(r, "detaching", &e);
			push_event(r->events, "Warning", "FailedRemovingInterface", "%s: %s",
				   what ? what : "remove", e.msg);
		} else {
			r->changed = true;
			push_event(r->events, "Normal", "RemovedInterface", "%s", what ? what : "");
		}
		cni_err_clear(&e);
		free(what);
	}
	for (size_t w = 1; w < want->n; w++) {
		struct meta_attachment *wa = &want->att[w];
		char what[600] = "";
		cJSON *res = NULL;
		bool taken;
		char *msg;

		if (match[w] >= 0)
			continue;
		if (match[w] == -1 && !wa->ifname_request) {
			char *name = free_netn(&r->c, cur, &e);

			if (!name)
				goto failed;
			free(wa->ifname);
			wa->ifname = name;
		}
		for (size_t i = 0; i < cur->n; i++)
			if (strcmp(cur->att[i].ifname, wa->ifname) == 0) {
				cni_err_set(&e, CNI_ERR_INVALID_CONFIG,
					    "interface %s is %s's already", wa->ifname,
					    cur->att[i].status_name);
				goto failed;
			}
		/* as ADD: a name the netns already has is refused before anything runs (a
		 * failed ADD's rollback would otherwise DEL an interface that is not ours) */
		if (meta_ctx_ifname_taken(&r->c, wa->ifname, &taken, &e) < 0)
			goto failed;
		if (taken) {
			cni_err_set(&e, CNI_ERR_INVALID_CONFIG,
				    "validateIfName: interface name %s already exists", wa->ifname);
			goto failed;
		}
		if (wa->device_id && free_device(cur, want, wa, &e) < 0)
			goto failed;
		/* attach() takes wa: its names are kept for a failure's message */
		snprintf(what, sizeof(what), "Add %s from %s", wa->ifname, wa->status_name);
		if (meta_kube_devinfo_paths(
			&(struct meta_plan){ .container_id = cur->container_id, .att = wa, .n = 1 },
			&r->c.nc, &e) < 0 ||
		    attach(&r->c, cur, wa, &res, &e) < 0)
			goto failed;
		r->changed = true;
		msg = meta_added_interface_message(&cur->att[cur->n - 1], res);
		if (msg)
			push_event(r->events, "Normal", "AddedInterface", "%s", msg);
		free(msg);
		cJSON_Delete(res);
		log_verbose("hot-plug: added %s on %s", cur->att[cur->n - 1].status_name,
			    cur->att[cur->n - 1].ifname);
		continue;
	failed:
		if (wa->status_name)
			snprintf(what, sizeof(what), "Add %s from %s",
				 wa->ifname ? wa->ifname : "-", wa->status_name);
		note_failure(r, what, &e);
		push_event(r->events, "Warning", "FailedAddingInterface", "%s: %s", what,
			   e.msg ? e.msg : "failed");
		cni_err_clear(&e);
	}
	free(match);
	free(keep);
	return 0;
}

/* Whether a, one of Multus's delegates, is the netconf's defaultNetworks entry ref (a NAD,
 * "namespace/name", or a name in multusNamespace). */
static bool is_default_network(const struct meta_attachment *a, const char *ref,
			       const struct meta_netconf *nc)
{
	size_t nslen = nc->multus_namespace ? strlen(nc->multus_namespace) : 0;

	if (strcmp(a->status_name, ref) == 0)
		return true;
	return !strchr(ref, '/') && nslen &&
	       strncmp(a->status_name, nc->multus_namespace, nslen) == 0 &&
	       a->status_name[nslen] == '/' && strcmp(a->status_name + nslen + 1, ref) == 0;
}

/* The origins of a plan read from Multus's cache, which keeps none: Multus names a delegate
 * from a NAD "namespace/name" (pkg/k8sclient getKubernetesDelegate), the others by their CNI
 * name. Every NAD delegate but the master and the netconf's defaultNetworks came from the
 * networks annotation. -1 out of memory. */
static int multus_origins(struct meta_plan *plan, const struct meta_netconf *nc)
{
	for (size_t i = 0; i < plan->n; i++) {
		struct meta_attachment *a = &plan->att[i];
		bool by_default = false;

		if (a->master || a->origin || !a->status_name || !strchr(a->status_name, '/'))
			continue;
		for (size_t d = 0; d < nc->ndefault_networks && !by_default; d++)
			by_default = is_default_network(a, nc->default_networks[d], nc);
		if (!by_default && !(a->origin = strdup(META_ORIGIN_ANNOTATION)))
			return -1;
	}
	return 0;
}

static int reconcile(const struct cni_request *req, struct cni_err *err)
{
	bool force_status =
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->conf, "writeNetworkStatus"));
	struct recon r = { .events = cJSON_CreateArray() };
	int found, ret = -1;

	if (meta_ctx_init(req, &r.c, err) < 0 || meta_kube_open(&r.c.kube, &r.c.nc, NULL, err) < 0)
		goto out;
	if (!r.c.kube.client) {
		ret = 0; /* no API: no annotation to follow */
		goto out;
	}
	found = meta_kube_get_pod(&r.c.kube, &r.c.k8s, false, err);
	if (found <= 0) {
		ret = found < 0 ? cni_err_prefix(err, "error getting pod") : 0;
		goto out;
	}
	if (k8s_object_meta(r.c.kube.pod, "deletionTimestamp")) {
		log_verbose("hot-plug: pod is being deleted: not reconciled");
		ret = 0;
		goto out;
	}
	if (k8s_pod_check_uid(r.c.kube.pod, r.c.k8s.pod_uid, err) < 0) {
		log_verbose("hot-plug: %s: not reconciled", err->msg);
		cni_err_clear(err);
		ret = 0;
		goto out;
	}
	if (meta_ctx_lock(&r.c, err) < 0)
		goto out;
	found = meta_ctx_read_cache(&r.c, &r.cur, err);
	if (found == 0) {
		/* a pod Multus attached before plexus replaced it on the node: its plan from
		 * Multus's cache, written (adopted) only when something changes */
		meta_plan_free(&r.cur);
		found = meta_ctx_read_multus_cache(&r.c, NULL, &r.cur, err);
		if (found < 0)
			cni_err_prefix(err, "hot-plug: container %s: Multus's cache",
				       req->container_id);
		else if (found > 0 && multus_origins(&r.cur, &r.c.nc) < 0)
			found = cni_err_oom(err);
	}
	if (found <= 0) {
		ret = found; /* no plan: plexus did not attach it, or its DEL ran */
		goto out;
	}
	/* delegates are found as the pod's ADD found them */
	if (r.cur.cni_path && meta_ctx_search_path(&r.c, r.cur.cni_path, err) < 0)
		goto out;
	undo_pending(&r);
	if (build_wanted(&r.c, &r.cur, &r.want, err) < 0) {
		push_event(r.events, "Warning", "FailedAddingInterface",
			   "networks annotation not applied: %s", err->msg);
		cni_err_prefix(err, "hot-plug");
		err->code = CNI_ERR_INVALID_CONFIG;
		goto status;
	}
	if (apply_diff(&r) < 0) {
		cni_err_oom(err);
		goto status;
	}
	ret = 0;
	if (r.failed)
		ret =
		    cni_err_set(err, CNI_ERR_TRY_AGAIN, "hot-plug: %u change(s) failed, first: %s",
				r.failed, r.first_error ? r.first_error : "out of memory");
status:
	if (r.changed || force_status) {
		struct cni_err e = { 0 };
		int st = write_status(&r.c, &r.cur, &e);

		if (st < 0 && ret == 0)
			ret = cni_err_set(err, CNI_ERR_TRY_AGAIN,
					  "hot-plug: writing network-status: %s",
					  e.msg ? e.msg : "out of memory");
		cni_err_clear(&e);
	}
	if (r.events && r.events->child) {
		meta_events_emit(r.c.kube.client, r.c.k8s.pod_namespace, r.c.k8s.pod_name,
				 r.c.k8s.pod_uid, r.events, true);
		r.events = NULL;
	}
out:
	cJSON_Delete(r.events);
	free(r.first_error);
	meta_plan_free(&r.cur);
	meta_plan_free(&r.want);
	meta_ctx_free(&r.c);
	return ret;
}

const struct cni_plugin meta_reconcile_plugin = {
	.about = "plexus: hot-plug reconcile",
	.versions = (const char *const[]){ "0.4.0", "1.0.0", "1.1.0" },
	.nversions = 3,
	.check = reconcile,
};

/* -- /delegate ---------------------------------------------------------------------------- */

/* The request's one network as an attachment on CNI_IFNAME, with interfaceAttributes applied. */
static int delegate_attachment(struct meta_ctx *c, struct meta_attachment *out, struct cni_err *err)
{
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(c->req->conf, "interfaceAttributes");
	struct k8s_net_selections sels = { 0 };
	struct meta_plan one = { 0 };
	const cJSON *cni_args = NULL;
	char *config = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	one.container_id = (char *)c->req->container_id;
	if (cJSON_GetArraySize(c->nc.delegates) != 1)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "delegate: exactly one network config expected");
	if (attrs && !cJSON_IsNull(attrs)) {
		/* the attributes read as one selection element would, with its checks */
		cJSON *el = cJSON_Duplicate(attrs, true), *arr = cJSON_CreateArray();
		char *text;

		if (!el || !cJSON_IsObject(el) || !arr || !cJSON_AddItemToArray(arr, el)) {
			cJSON_Delete(arr);
			if (!cJSON_IsObject(attrs))
				return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
						   "interfaceAttributes: must be an object");
			return cni_err_oom(err);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(el, "name");
		cJSON_DeleteItemFromObjectCaseSensitive(el, "namespace");
		cJSON_DeleteItemFromObjectCaseSensitive(el, "interface");
		if (!cJSON_AddStringToObject(el, "name", "delegate")) {
			cJSON_Delete(arr);
			return cni_err_oom(err);
		}
		text = cJSON_PrintUnformatted(arr);
		cJSON_Delete(arr);
		if (!text)
			return cni_err_oom(err);
		ret = k8s_parse_networks(text, "interfaceAttributes", "default", &sels, err);
		free(text);
		if (ret < 0)
			return -1;
		cni_args = sels.el[0].cni_args;
		ret = -1;
	}
	{
		char *bytes = cJSON_PrintUnformatted(c->nc.delegates->child);

		if (!bytes)
			goto oom;
		config =
		    cni_args ? meta_merge_cni_args(bytes, strlen(bytes), cni_args, err) : bytes;
		if (cni_args)
			free(bytes);
		if (!config)
			goto out;
	}
	if (meta_plan_add(&one, config, strlen(config), c->req->ifname, err) < 0)
		goto out;
	if (!(one.att[0].origin = strdup(META_ORIGIN_DELEGATE)))
		goto oom;
	one.att[0].master = false;
	if (sels.n && meta_attachment_apply_selection(&one.att[0], &c->nc, &sels.el[0], err) < 0)
		goto out;
	if (meta_plan_finish(&one, &c->nc, c->req->args_str, &c->k8s, err) < 0)
		goto out;
	*out = one.att[0];
	memset(&one.att[0], 0, sizeof(one.att[0]));
	ret = 0;
	goto out;
oom:
	cni_err_oom(err);
out:
	one.container_id = NULL;
	meta_plan_free(&one);
	free(config);
	k8s_net_selections_free(&sels);
	return ret;
}

static int delegate_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct meta_attachment a = { 0 };
	struct meta_plan plan = { 0 };
	struct meta_ctx c;
	bool taken;
	int ret = -1;

	if (meta_ctx_init(req, &c, err) < 0 || meta_kube_open(&c.kube, &c.nc, NULL, err) < 0 ||
	    delegate_attachment(&c, &a, err) < 0 || meta_ctx_lock(&c, err) < 0)
		goto out;
	ret = meta_ctx_read_cache(&c, &plan, err);
	if (ret == 0) {
		/* a pod Multus attached before plexus replaced it on the node: its plan is adopted
		 * from Multus's cache, so that the pod's DEL also removes what is hot-plugged now */
		meta_plan_free(&plan);
		ret = meta_ctx_read_multus_cache(&c, META_POD_IFNAME, &plan, err);
		if (ret < 0)
			cni_err_prefix(err, "delegate: container %s: Multus's cache",
				       req->container_id);
		else if (ret > 0)
			log_verbose("delegate: adopting %s from Multus's cache %s (%zu delegates)",
				    req->container_id, c.multus_cache_file, plan.n);
	}
	if (ret <= 0) {
		if (ret == 0)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "delegate: no plan for container %s: neither plexus nor Multus "
				    "attached it",
				    req->container_id);
		ret = -1;
		goto out;
	}
	ret = -1;
	/* the dynamic controller sends no CNI_PATH: the pod's ADD's is in its plan */
	if ((!req->path || !*req->path) && plan.cni_path &&
	    meta_ctx_search_path(&c, plan.cni_path, err) < 0)
		goto out;
	for (size_t i = 0; i < plan.n; i++)
		if (strcmp(plan.att[i].ifname, req->ifname) == 0) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "DelegateAdd: cannot set \"%s\" interface name to \"%s\": "
				    "validateIfName: interface name %s already exists",
				    a.network, req->ifname, req->ifname);
			goto out;
		}
	if (meta_ctx_ifname_taken(&c, req->ifname, &taken, err) < 0)
		goto out;
	if (taken) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "DelegateAdd: cannot set \"%s\" interface name to \"%s\": "
			    "validateIfName: interface name %s already exists",
			    a.network, req->ifname, req->ifname);
		goto out;
	}
	if (attach(&c, &plan, &a, result, err) < 0)
		goto out;
	if (c.kube.client && *c.k8s.pod_name) {
		cJSON *events = meta_added_interface_events(
		    &(struct meta_plan){ .att = &plan.att[plan.n - 1], .n = 1 }, result);

		meta_events_emit(c.kube.client, c.k8s.pod_namespace, c.k8s.pod_name, c.k8s.pod_uid,
				 events, true);
	}
	ret = 0;
out:
	meta_attachment_free(&a);
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

/* The attachment of the plan on CNI_IFNAME, or -1. */
static long find_ifname(const struct meta_plan *plan, const char *ifname)
{
	for (size_t i = 0; i < plan->n; i++)
		if (strcmp(plan->att[i].ifname, ifname) == 0)
			return (long)i;
	return -1;
}

/* DEL, CHECK or STATUS of the request's network: from the plan when it holds CNI_IFNAME, else
 * (DEL, STATUS) through the request's config alone, as Multus's /delegate runs it. */
static int delegate_verb(const struct cni_request *req, const char *verb, struct cni_err *err)
{
	struct meta_attachment a = { 0 };
	struct meta_plan plan = { 0 }, one = { 0 };
	struct meta_ctx c;
	long i = -1;
	int ret = -1;

	if (meta_ctx_init(req, &c, err) < 0 || delegate_attachment(&c, &a, err) < 0)
		goto out;
	if (req->verb != CNI_VERB_STATUS) {
		if (meta_ctx_lock(&c, err) < 0)
			goto out;
		if (meta_ctx_read_cache(&c, &plan, err) < 0)
			goto out;
		if ((!req->path || !*req->path) && plan.cni_path &&
		    meta_ctx_search_path(&c, plan.cni_path, err) < 0)
			goto out;
		i = find_ifname(&plan, req->ifname);
	}
	if (i >= 0 && !plan.att[i].origin) {
		cni_err_set(
		    err, CNI_ERR_INVALID_CONFIG,
		    "delegate: %s is the pod's network \"%s\" from its ADD, not hot-plugged",
		    req->ifname, plan.att[i].status_name);
		goto out;
	}
	if (i >= 0 && req->verb == CNI_VERB_DEL) {
		ret = detach(&c, &plan, (size_t)i, err);
		goto out;
	}
	if (i >= 0) {
		ret = meta_ctx_run(verb, &c, &plan, (size_t)i, NULL, err);
		goto out;
	}
	if (req->verb == CNI_VERB_CHECK) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "delegate: no attachment on %s",
			    req->ifname);
		goto out;
	}
	one.container_id = (char *)req->container_id;
	one.netns = (char *)(req->netns ? req->netns : "");
	one.ifname = (char *)req->ifname;
	if (meta_plan_append(&one, &a, err) < 0)
		goto out;
	ret = meta_ctx_run(verb, &c, &one, 0, NULL, err);
	one.container_id = one.netns = one.ifname = NULL;
out:
	meta_plan_free(&one);
	meta_attachment_free(&a);
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

static int delegate_del(const struct cni_request *req, struct cni_err *err)
{
	return delegate_verb(req, "DEL", err);
}

static int delegate_check(const struct cni_request *req, struct cni_err *err)
{
	return delegate_verb(req, "CHECK", err);
}

static int delegate_status(const struct cni_request *req, struct cni_err *err)
{
	return delegate_verb(req, "STATUS", err);
}

const struct cni_plugin meta_delegate_plugin = {
	.about = "plexus: /delegate",
	.versions =
	    (const char *const[]){ "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0" },
	.nversions = 7,
	.add = delegate_add,
	.del = delegate_del,
	.check = delegate_check,
	.status = delegate_status,
};

/* -- finding a pod's plans --------------------------------------------------------------- */

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void pod_plan_clear(struct meta_pod_plan *p)
{
	free(p->container_id);
	free(p->netns);
	free(p->ifname);
	free(p->pod_namespace);
	free(p->pod_name);
	free(p->pod_uid);
}

/* every string there: none was out of memory */
static bool pod_plan_whole(const struct meta_pod_plan *p)
{
	return p->container_id && p->netns && p->ifname && p->pod_namespace && p->pod_name &&
	       p->pod_uid;
}

static bool has_sandbox(const struct meta_pod_plan *p, size_t n, const char *container_id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].container_id, container_id) == 0)
			return true;
	return false;
}

/* The sandbox of a cached result: the entry's netns (libcni 1.2 and later keep it), else the
 * sandbox of its interface in the result (older libcni: Multus before 4.2). NULL: neither. */
static const char *cached_netns(const struct dlg_cached *e)
{
	const cJSON *i;

	if (e->netns && *e->netns)
		return e->netns;
	cJSON_ArrayForEach(i, cJSON_GetObjectItemCaseSensitive(e->result, "interfaces"))
	{
		const char *name =
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(i, "name")),
			   *sandbox =
			       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(i, "sandbox"));

		if (name && sandbox && *sandbox && strcmp(name, e->ifname) == 0)
			return sandbox;
	}
	return NULL;
}

/* Adds the sandboxes Multus attached before plexus replaced it on the node: no plan, but
 * Multus's cache <cniDir>/<containerID>, and libcni's result cache of the cluster network on
 * META_POD_IFNAME, which keeps what Multus's cache does not: the netns and the pod (CNI_ARGS).
 * The reconcile adopts such a pod's plan from Multus's cache (as /delegate does). */
static void add_multus_only(const char *cni_dir, const char *ns, const char *name,
			    struct meta_pod_plan **out, size_t *n)
{
	struct dlg_cached *e = NULL;
	struct cni_err err = { 0 };
	size_t ne = 0;

	if (dlg_cache_list(cni_dir, NULL, &e, &ne, &err) < 0) {
		log_error("hot-plug: %s", err.msg);
		cni_err_clear(&err);
		return;
	}
	for (size_t i = 0; i < ne; i++) {
		const char *pns = dlg_cached_arg(&e[i], "K8S_POD_NAMESPACE"),
			   *pname = dlg_cached_arg(&e[i], "K8S_POD_NAME"),
			   *uid = dlg_cached_arg(&e[i], "K8S_POD_UID"),
			   *netns = cached_netns(&e[i]);
		struct meta_pod_plan *grown, *p;
		char *multus;
		bool multus_cached;

		if (strcmp(e[i].ifname, META_POD_IFNAME) != 0 || !netns || !pns || !*pns ||
		    !pname || !*pname || (ns && strcmp(pns, ns) != 0) ||
		    (name && strcmp(pname, name) != 0) || has_sandbox(*out, *n, e[i].container_id))
			continue;
		multus = meta_multus_cache_path(cni_dir, e[i].container_id);
		multus_cached = multus && access(multus, F_OK) == 0;
		free(multus);
		if (!multus_cached)
			continue;
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown)
			break;
		*out = grown;
		p = &grown[*n];
		p->container_id = strdup(e[i].container_id);
		p->netns = strdup(netns);
		p->ifname = strdup(META_POD_IFNAME);
		p->pod_namespace = strdup(pns);
		p->pod_name = strdup(pname);
		p->pod_uid = dup_or_empty(uid);
		if (!pod_plan_whole(p)) {
			pod_plan_clear(p);
			break;
		}
		(*n)++;
	}
	dlg_cached_free_all(e, ne);
}

int meta_hotplug_find(const char *cni_dir, const char *ns, const char *name,
		      struct meta_pod_plan **out, size_t *n, struct cni_err *err)
{
	char *dir = NULL, **names = NULL;
	int count;

	*out = NULL;
	*n = 0;
	if (!(dir = meta_plan_dir(cni_dir)))
		return cni_err_oom(err);
	count = meta_plan_names(dir, &names, err);
	for (int i = 0; i < count; i++) {
		struct meta_plan plan = { 0 };
		struct meta_pod_plan *grown, *p;
		struct cni_err e = { 0 };
		char *path = NULL;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
			break;
		if (meta_plan_load(path, &plan, &e) <= 0) {
			/* unreadable: said; gone since the directory was read: nothing to say */
			if (cni_err_isset(&e))
				log_error("hot-plug: %s", e.msg);
			cni_err_clear(&e);
			meta_plan_free(&plan);
			free(path);
			continue;
		}
		free(path);
		if ((ns && !same_str(plan.pod_namespace, ns)) ||
		    (name && !same_str(plan.pod_name, name))) {
			meta_plan_free(&plan);
			continue;
		}
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown) {
			meta_plan_free(&plan);
			break;
		}
		*out = grown;
		p = &grown[*n];
		p->container_id = dup_or_empty(plan.container_id);
		p->netns = dup_or_empty(plan.netns);
		p->ifname = dup_or_empty(plan.ifname);
		p->pod_namespace = dup_or_empty(plan.pod_namespace);
		p->pod_name = dup_or_empty(plan.pod_name);
		p->pod_uid = dup_or_empty(plan.pod_uid);
		meta_plan_free(&plan);
		if (!pod_plan_whole(p)) {
			pod_plan_clear(p);
			break;
		}
		(*n)++;
	}
	meta_plan_names_free(names, count);
	free(dir);
	if (count < 0)
		return -1;
	add_multus_only(cni_dir, ns, name, out, n);
	return 0;
}

void meta_pod_plans_free(struct meta_pod_plan *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pod_plan_clear(&p[i]);
	free(p);
}

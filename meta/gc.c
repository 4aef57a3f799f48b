/* meta/gc.c: GC of bin/plexus: every cached container not in cni.dev/valid-attachments is
 * deleted under its lock, then every delegate network gets GC with the attachments still valid
 * on it (CNI SPEC.md, Section 2 'GC'; libcni's GCNetworkList does the same per network). */
#include "meta/gc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/file.h"
#include "cni/lock.h"
#include "cni/log.h"
#include "delegates/invoke.h"
#include "meta/invocation.h"
#include "meta/multuscache.h"

static const cJSON *valid_attachments(const cJSON *conf)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, "cni.dev/valid-attachments");

	if (!cJSON_IsArray(v))
		v = cJSON_GetObjectItemCaseSensitive(conf, "cni.dev/attachments");
	return cJSON_IsArray(v) ? v : NULL;
}

/* Deletes a stale container's attachments and its cache, under its lock. */
static void gc_container(const struct meta_ctx *base, const char *cid, struct cni_err *err)
{
	struct cni_request req = *base->req;
	struct meta_plan plan = { 0 };
	struct cni_err one = { 0 };
	struct meta_ctx c = *base;
	int fd;

	req.container_id = cid;
	c.req = &req;
	c.cache_file = NULL;
	c.lock_file = NULL;
	c.multus_cache_file = NULL;
	if (asprintf(&c.cache_file, "%s/%s", base->state_dir, cid) < 0 ||
	    asprintf(&c.lock_file, "%s/%s.lock", base->state_dir, cid) < 0 ||
	    !(c.multus_cache_file = meta_multus_cache_path(base->nc.cni_dir, cid)))
		goto out;
	fd = cni_lock(c.lock_file, base->nc.delegate_timeout_s * 1000 + 10000, true, &one);
	if (fd < 0)
		goto out;
	if (meta_ctx_read_cache(&c, &plan, &one) > 0) {
		req.netns = plan.netns;
		/* a failure to remove stays in one, reported with the others below */
		if (meta_ctx_del_plan(&c, &plan, &one) == 0) {
			if (cni_remove_file(c.multus_cache_file, &one) < 0 ||
			    cni_remove_file(c.cache_file, &one) < 0)
				log_verbose("GC: cache of %s kept", cid);
			/* what a plexus killed while writing the caches left behind */
			cni_remove_temporaries(c.multus_cache_file, CNI_WRITE_SHARED);
			cni_remove_temporaries(c.cache_file, CNI_WRITE_SHARED);
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
	free(c.multus_cache_file);
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

int meta_cmd_gc(const struct cni_request *req, struct cni_err *err)
{
	struct gc_net *nets = NULL;
	struct meta_plan plan = { 0 };
	const cJSON *valid;
	size_t nnets = 0;
	struct meta_ctx c;
	struct cni_err scan = { 0 };
	char **names = NULL;
	int count;

	if (meta_ctx_init(req, &c, err) < 0)
		goto out;
	valid = valid_attachments(req->conf);
	if (!valid) {
		log_verbose("GC without cni.dev/valid-attachments: nothing is deleted");
		goto out;
	}
	/* a directory that cannot be read fails the GC, after the static networks had theirs */
	count = meta_plan_names(c.state_dir, &names, &scan);
	if (count < 0)
		log_error("GC: %s", scan.msg);
	for (int k = 0; k < count; k++) {
		struct meta_plan p = { 0 };
		struct cni_err e = { 0 };
		struct cni_request one = *req;
		struct meta_ctx cc = c;
		char *file = NULL;

		if (cni_validate_container_id(names[k], &e) < 0) {
			cni_err_clear(&e);
			continue;
		}
		one.container_id = names[k];
		cc.req = &one;
		if (asprintf(&file, "%s/%s", c.state_dir, names[k]) < 0)
			continue;
		cc.cache_file = file;
		if (meta_ctx_read_cache(&cc, &p, &e) > 0 &&
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
			log_verbose("GC: container %s is not in the valid attachments", names[k]);
			gc_container(&c, names[k], err);
		}
		cni_err_clear(&e);
		meta_plan_free(&p);
		free(file);
	}
	meta_plan_names_free(names, count);
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
	if (cni_err_isset(&scan))
		cni_err_join(err, &scan, " / ");
out:
	for (size_t i = 0; i < nnets; i++) {
		free(nets[i].config);
		free(nets[i].name);
		cJSON_Delete(nets[i].valid);
	}
	free(nets);
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return cni_err_isset(err) ? -1 : 0;
}

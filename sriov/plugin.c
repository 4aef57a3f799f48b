/* sriov/plugin.c: what every command of the sriov plugin shares: its context, logging and IPAM.
 * Follows sriov-cni pkg/logging (levels) and libcni's DelegateAdd (IPAM with our own stdin). */
#include "sriov/plugin.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cni/log.h"
#include "delegates/find.h"
#include "delegates/invoke.h"

void sriov_ctx_init(struct sriov_ctx *c, const struct cni_request *req)
{
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->pod_fd = c->lock_fd = -1;
	c->conf.spoofchk = c->conf.trust = c->conf.link_state = -1;
}

void sriov_ctx_free(struct sriov_ctx *c)
{
	sriov_conf_free(&c->conf);
	sriov_state_free(&c->st);
	cni_nl_close(&c->host);
	cni_nl_close(&c->pod);
	if (c->pod_fd >= 0)
		close(c->pod_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	dlg_path_free(c->dirs);
}

void sriov_setup_log(const struct sriov_conf *cf, const struct cni_request *req)
{
	const char *l = cf->log_level ? cf->log_level : "info";
	char prefix[256];

	if (!strcasecmp(l, "panic"))
		cni_log_set_level(CNI_LOG_PANIC);
	else if (!strcasecmp(l, "error") || !strcasecmp(l, "warning"))
		cni_log_set_level(CNI_LOG_ERROR);
	else if (!strcasecmp(l, "debug"))
		cni_log_set_level(CNI_LOG_DEBUG);
	else
		cni_log_set_level(CNI_LOG_VERBOSE);
	if (cf->log_file) {
		int rc = cni_log_set_file(cf->log_file);

		if (rc < 0)
			log_error("cannot open logFile %s: %s", cf->log_file, strerror(-rc));
	}
	snprintf(prefix, sizeof(prefix), "sriov %s:%s", req->container_id ? req->container_id : "-",
		 req->ifname ? req->ifname : "-");
	cni_log_set_prefix(prefix);
}

static const cJSON *ipam_conf(const struct cni_request *req)
{
	return cJSON_GetObjectItem(req->conf, "ipam");
}

static void rt_init(struct sriov_ctx *c, struct dlg_rt *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->container_id = c->req->container_id;
	rt->netns = c->req->netns;
	rt->ifname = c->req->ifname;
	rt->args = c->req->args.kv;
	rt->nargs = c->req->args.n;
	if (!c->dirs)
		c->dirs = dlg_path_split(c->req->path, &c->ndirs);
	rt->path = (const char *const *)c->dirs;
	rt->npath = c->ndirs;
}

int sriov_ipam_exec(struct sriov_ctx *c, const char *verb, char **out, struct cni_err *err)
{
	struct dlg_rt rt;

	rt_init(c, &rt);
	return dlg_exec_plugin(verb, ipam_conf(c->req), c->req->stdin_data, &rt, out, err);
}

/* meta/check.c: the verbs that change nothing: CHECK runs every cached attachment's delegate
 * CHECK; STATUS asks the cluster network. CHECK follows Multus pkg/multus/multus.go
 * cmdCheck; STATUS is CNI 1.1's. */
#include "meta/check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/invocation.h"

int meta_cmd_check(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct meta_ctx c;
	int ret = -1;

	if (meta_ctx_init(req, &c, err) < 0)
		goto out;
	if (meta_ctx_lock(&c, err) < 0)
		goto out;
	ret = meta_ctx_read_cache(&c, &plan, err);
	if (ret == 0)
		cni_err_set(err, CNI_ERR_UNKNOWN_CONTAINER,
			    "no attachments recorded for container %s", req->container_id);
	if (ret <= 0) {
		ret = -1;
		goto out;
	}
	ret = 0;
	for (size_t i = 0; i < plan.n && ret == 0; i++)
		if (meta_ctx_run("CHECK", &c, &plan, i, NULL, err) < 0) {
			cni_err_prefix(err, "%s: CHECK of network \"%s\" on %s", "plexus",
				       plan.att[i].status_name, plan.att[i].ifname);
			ret = -1;
		}
out:
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

int meta_cmd_status(const struct cni_request *req, struct cni_err *err)
{
	struct meta_plan plan = { 0 };
	struct meta_ctx c;
	int ret = -1;

	if (meta_ctx_init(req, &c, err) < 0)
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
	ret = meta_ctx_run("STATUS", &c, &plan, 0, NULL, err);
out:
	meta_plan_free(&plan);
	meta_ctx_free(&c);
	return ret;
}

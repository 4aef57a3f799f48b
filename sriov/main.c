/* sriov/main.c: the sriov CNI plugin: ADD/DEL/CHECK/GC/STATUS of one SR-IOV VF.
 * Follows sriov-cni cmd/sriov/main.go (the skel table); the commands live in add.c, del.c, check.c. */
#include <stdlib.h>

#include "cni/log.h"
#include "cni/skel.h"
#include "sriov/plugin.h"

/* Ready when the IPAM plugin says so (CNI SPEC.md, Section 2 'STATUS': STATUS goes to what ADD
 * depends on). */
static int cmd_status(const struct cni_request *req, struct cni_err *err)
{
	struct sriov_ctx c;
	int ret = -1;

	sriov_ctx_init(&c, req);
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	ret = c.conf.ipam_type ? sriov_ipam_exec(&c, "STATUS", NULL, err) : 0;
	if (ret < 0 && err->code != CNI_ERR_NOT_AVAILABLE &&
	    err->code != CNI_ERR_NOT_AVAILABLE_DEGRADED)
		err->code = CNI_ERR_NOT_AVAILABLE;
out:
	sriov_ctx_free(&c);
	return ret;
}

int main(void)
{
	static const struct cni_plugin plugin = {
		.about = "sriov: SR-IOV VF CNI plugin (sriov-cni compatible), part of Plexus",
		.versions = cni_versions,
		.add = sriov_cmd_add,
		.del = sriov_cmd_del,
		.check = sriov_cmd_check,
		.gc = sriov_cmd_gc,
		.status = cmd_status,
	};
	int rc;

	/* nversions is not a constant expression, so it is filled here. */
	struct cni_plugin p = plugin;

	p.nversions = cni_nversions;
	rc = cni_skel_run(&p, stdin, stdout);
	cni_log_close();
	return rc;
}

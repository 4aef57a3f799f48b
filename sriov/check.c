/* sriov/check.c: CHECK of one attachment against the host, and GC of the stale ones.
 * Follows CNI 1.1 CHECK and GC (cni.dev/valid-attachments); sriov-cni's CmdCheck does nothing. */
#include <string.h>

#include "cni/log.h"
#include "cni/netns.h"
#include "sriov/plugin.h"
#include "sriov/vf.h"

/* The MAC CHECK expects: the final result's (a later tuning plugin may have changed it),
 * else the one ADD set. */
static int expected_mac(struct sriov_ctx *c, unsigned char mac[6])
{
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(c->req->conf, "prevResult"), *i;

	cJSON_ArrayForEach(i, cJSON_GetObjectItemCaseSensitive(prev, "interfaces"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(i, "name");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(i, "sandbox");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(i, "mac");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, c->req->ifname) &&
		    (!cJSON_IsString(s) || !strcmp(s->valuestring, c->req->netns)) &&
		    cJSON_IsString(m) && sriov_mac_parse(m->valuestring, mac) == 0)
			return 1;
	}
	if (!c->st.has_mac)
		return 0;
	memcpy(mac, c->st.mac, 6);
	return 1;
}

static int check_netdev(struct sriov_ctx *c, struct cni_err *err)
{
	unsigned char want[6];
	char got_s[18], want_s[18];
	struct sriov_link l;
	int r;

	c->pod_fd = cni_netns_open(c->req->netns, err);
	if (c->pod_fd < 0 || cni_nl_open_in(&c->pod, NETLINK_ROUTE, c->pod_fd, err) < 0)
		return -1;
	r = sriov_link_get(&c->pod, c->req->ifname, &l, err);
	if (r != 0)
		return r < 0 ? -1
			     : cni_err_set(err, CNI_ERR_INTERNAL,
					   "interface \"%s\" not found in netns %s", c->req->ifname,
					   c->req->netns);
	if (expected_mac(c, want) && memcmp(want, l.mac, 6) != 0) {
		sriov_mac_format(l.mac, got_s);
		sriov_mac_format(want, want_s);
		return cni_err_set(err, CNI_ERR_INTERNAL,
				   "interface \"%s\" has mac %s, expected %s", c->req->ifname,
				   got_s, want_s);
	}
	return 0;
}

int sriov_cmd_check(const struct cni_request *req, struct cni_err *err)
{
	struct sriov_vf_state cur;
	struct sriov_ctx c;
	int r, ret = -1;

	sriov_ctx_init(&c, req);
	if (sriov_conf_parse(req->conf, &req->args, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	sriov_setup_log(&c.conf, req);
	if (!cJSON_GetObjectItemCaseSensitive(req->conf, "prevResult")) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "required prevResult missing");
		goto out;
	}
	r = sriov_state_load(c.conf.state_dir, req->container_id, req->ifname, &c.st, err);
	if (r == 1 && sriov_state_adopt(&c.st, req->container_id, req->ifname, req->netns, err) < 0)
		r = -1;
	if (r == 0)
		cni_err_set(err, CNI_ERR_INTERNAL, "no sriov state for container %s interface %s",
			    req->container_id, req->ifname);
	if (r <= 0 || cni_nl_open(&c.host, NETLINK_ROUTE, err) < 0 ||
	    sriov_vf_read(&c.host, c.st.pf_name, c.st.vf_index, &cur, err) < 0 ||
	    sriov_vf_compare(c.st.pf_name, c.st.vf_index, c.st.pf_mask, &cur, &c.st.want, err) < 0)
		goto out;
	if (!c.st.dpdk && check_netdev(&c, err) < 0)
		goto out;
	ret = c.conf.ipam_type ? sriov_ipam_exec(&c, "CHECK", NULL, err) : 0;
out:
	sriov_ctx_free(&c);
	return ret;
}

static bool is_valid_attachment(const cJSON *valid, const struct sriov_state *st)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, valid)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "containerID");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(a, "ifname");

		if (cJSON_IsString(id) && cJSON_IsString(ifn) &&
		    !strcmp(id->valuestring, st->container_id) &&
		    !strcmp(ifn->valuestring, st->ifname))
			return true;
	}
	return false;
}

/* One stale attachment of this network: released as DEL would, minus IPAM (GC goes there). */
static int gc_one(const struct cni_request *req, const struct sriov_conf *cf, const char *path,
		  const cJSON *valid, struct cni_err *err)
{
	struct sriov_ctx c;
	int r, ret = 0;

	sriov_ctx_init(&c, req);
	c.conf.state_dir = cf->state_dir;
	c.conf.sysfs_root = cf->sysfs_root;
	r = sriov_state_load_path(path, &c.st, err);
	/* sriov-cni's states name no attachment: DEL releases those. */
	if (r == 1 && c.st.container_id && c.st.network && strcmp(c.st.network, req->name) == 0 &&
	    !is_valid_attachment(valid, &c.st)) {
		log_verbose("GC: releasing VF %s of %s/%s", c.st.device_id, c.st.container_id,
			    c.st.ifname);
		ret = sriov_release(&c, path, err);
	}
	if (r < 0)
		ret = -1;
	c.conf.state_dir = c.conf.sysfs_root = NULL;
	sriov_ctx_free(&c);
	return ret;
}

int sriov_cmd_gc(const struct cni_request *req, struct cni_err *err)
{
	const cJSON *valid =
	    cJSON_GetObjectItemCaseSensitive(req->conf, "cni.dev/valid-attachments");
	struct cni_err e = { 0 };
	struct sriov_ctx c;
	char **paths = NULL;
	size_t n = 0;

	sriov_ctx_init(&c, req);
	if (!valid)
		valid = cJSON_GetObjectItemCaseSensitive(req->conf, "cni.dev/attachments");
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	sriov_setup_log(&c.conf, req);
	/* An absent list is not an empty one: without it nothing is known to be stale. */
	if (cJSON_IsArray(valid) && sriov_state_list(c.conf.state_dir, &paths, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (gc_one(req, &c.conf, paths[i], valid, &e) < 0 && !cni_err_isset(err))
			cni_err_move(err, &e);
		cni_err_clear(&e);
	}
	if (c.conf.ipam_type && sriov_ipam_exec(&c, "GC", NULL, &e) < 0 && !cni_err_isset(err))
		cni_err_move(err, &e);
	cni_err_clear(&e);
out:
	sriov_state_paths_free(paths, n);
	sriov_ctx_free(&c);
	return cni_err_isset(err) ? -1 : 0;
}

/* sriov/del.c: DEL, and the VF restore that DEL, GC and the ADD rollback share.
 * Follows sriov-cni pkg/cnicommands/cni.go CmdDel and pkg/sriov/sriov.go ResetVFConfig/ReleaseVF. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cni/file.h"
#include "cni/log.h"
#include "cni/netns.h"
#include "sriov/netdev.h"
#include "sriov/pci.h"
#include "sriov/plugin.h"
#include "sriov/vf.h"

/* The MAC of an untrusted igb VF can only be changed with trust on (docs/HARDWARE.md, "Admin
 * MAC"): try as is, and on EADDRNOTAVAIL/EPERM switch trust on for the one change and back off afterwards. */
int sriov_set_mac_trusting(void *arg, struct cni_nl *nl, int ifindex, const unsigned char mac[6],
			   struct cni_err *err)
{
	struct sriov_ctx *c = arg;
	struct sriov_vf_state cur;
	struct cni_err e = { 0 };
	int r;

	if (sriov_link_set_mac(nl, ifindex, mac, err) == 0)
		return 0;
	if (nl->errnum != EADDRNOTAVAIL && nl->errnum != EPERM)
		return -1;
	if (sriov_vf_read(&c->host, c->st.pf_name, c->st.vf_index, &cur, &e) < 0 || cur.trust > 0) {
		cni_err_clear(&e);
		return -1;
	}
	log_verbose("VF %u of %s refuses the MAC untrusted: trust on for the change",
		    c->st.vf_index, c->st.pf_name);
	cni_err_clear(err);
	if (sriov_vf_set_trust(&c->host, c->st.pf_name, c->st.vf_index, true, err) < 0)
		return -1;
	r = sriov_link_set_mac(nl, ifindex, mac, err);
	if (sriov_vf_set_trust(&c->host, c->st.pf_name, c->st.vf_index, false, &e) < 0) {
		if (r == 0)
			cni_err_move(err, &e);
		r = -1;
	}
	cni_err_clear(&e);
	return r;
}

/* PF side back to orig, then the netdev home; the admin MAC always (sriov-cni PR #397). Used
 * by DEL, GC and the ADD rollback; keeps going after a failure and reports the first. */
int sriov_restore_vf(struct sriov_ctx *c, struct cni_err *err)
{
	struct sriov_state *st = &c->st;
	struct cni_err e = { 0 };
	char *name = NULL;
	int moved, restored = 0;

	if (sriov_vf_apply(&c->host, st->pf_name, st->vf_index, st->pf_mask | SRIOV_VF_MAC,
			   &st->orig, NULL, &e) < 0)
		cni_err_move(err, &e);
	if (st->dpdk)
		return cni_err_isset(err) ? -1 : 0;
	moved = sriov_netdev_move_out(c->pod.sk ? &c->pod : NULL, st->ifname, st->host.name, &e);
	if (moved < 0 && !cni_err_isset(err))
		cni_err_move(err, &e);
	cni_err_clear(&e);
	/* By PCI address: the kernel may have returned it from a dead netns as net1 or devN. */
	if (sriov_pci_vf_netdev(c->conf.sysfs_root, st->device_id, &name, &e) == 0 && !name)
		cni_err_set(&e, CNI_ERR_INTERNAL,
			    "VF %s has no netdev in the host netns (still in netns %s?)",
			    st->device_id, st->netns ? st->netns : "?");
	if (name)
		restored = sriov_netdev_restore(&c->host, name, st->ifname, &st->host,
						sriov_set_mac_trusting, c, &e);
	if ((restored < 0 || cni_err_isset(&e)) && !cni_err_isset(err))
		cni_err_move(err, &e);
	cni_err_clear(&e);
	free(name);
	return cni_err_isset(err) ? -1 : 0;
}

/* Releases one attachment from its state alone; "report once, never loop", the contract sriov-cni
 * CmdDel means to keep (docs/sriov.md, DEL): a second failing DEL logs and lets go. */
int sriov_release(struct sriov_ctx *c, const char *state_path, struct cni_err *err)
{
	struct sriov_state *st = &c->st;
	struct sriov_alloc a = { 0 };
	struct cni_err e = { 0 };
	bool ours;
	int r;

	c->lock_fd = sriov_alloc_lock(c->conf.state_dir, st->device_id, SRIOV_LOCK_TIMEOUT_MS, err);
	if (c->lock_fd < 0)
		return -1;
	r = sriov_alloc_read(c->conf.state_dir, st->device_id, &a, err);
	if (r < 0)
		return -1;
	/* A new pod may already hold the VF (ADD ran before this late DEL, sriov-cni #219). */
	ours = r == 0 || sriov_alloc_is_ours(&a, st->container_id, st->ifname, st->netns);
	sriov_alloc_free(&a);
	if (ours && st->netns && cni_netns_exists(st->netns)) {
		c->pod_fd = cni_netns_open(st->netns, &e);
		if (c->pod_fd >= 0 && cni_nl_open_in(&c->pod, NETLINK_ROUTE, c->pod_fd, &e) < 0)
			log_error("DEL: %s", e.msg);
		cni_err_clear(&e);
	}
	if (ours &&
	    (cni_nl_open(&c->host, NETLINK_ROUTE, err) < 0 || sriov_restore_vf(c, err) < 0)) {
		if (!st->del_failed) {
			st->del_failed = true;
			if (sriov_state_save(c->conf.state_dir, st, &e) < 0)
				cni_err_clear(&e);
			if (r == 1 && sriov_alloc_remove(c->conf.state_dir, st->device_id, &e) < 0)
				cni_err_clear(&e);
			return -1;
		}
		log_error("DEL: giving up on VF %s after a second failure: %s", st->device_id,
			  err->msg);
		cni_err_clear(err);
	}
	if (!ours)
		log_verbose("VF %s now belongs to another attachment: left alone", st->device_id);
	if (ours && st->device_info_created && st->device_info_file &&
	    cni_remove_file(st->device_info_file, err) < 0)
		return -1;
	if (ours && r == 1 && sriov_alloc_remove(c->conf.state_dir, st->device_id, err) < 0)
		return -1;
	return cni_remove_file(state_path, err);
}

/* No state under cniDir: sriov-cni keeps its state in SRIOV_STATE_DIR_DEFAULT whatever cniDir
 * says (pkg/config DefaultCNIDir), so an attachment it made is released there, lock and
 * allocation record included (c->conf.state_dir then names it). A file there that cannot be
 * read is left to sriov-cni. Returns 1 (*path names the file found), 0, or -1 with err (out of
 * memory, the directories cannot be made). */
static int load_from_sriov_cni_dir(struct sriov_ctx *c, char **path, struct cni_err *err)
{
	const struct cni_request *req = c->req;
	char *p = sriov_state_path(SRIOV_STATE_DIR_DEFAULT, req->container_id, req->ifname);
	char *dir = strdup(SRIOV_STATE_DIR_DEFAULT);
	int r = p && dir ? sriov_state_load_path(p, &c->st, err) : cni_err_oom(err);

	if (r < 0 && p && dir) {
		log_error("DEL: %s: left to sriov-cni", err->msg);
		cni_err_clear(err);
		r = 0;
	}
	if (r == 1 && sriov_state_dirs(dir, err) < 0) {
		sriov_state_free(&c->st);
		r = -1;
	}
	if (r != 1) {
		free(p);
		free(dir);
		return r;
	}
	free(*path);
	*path = p;
	free(c->conf.state_dir);
	c->conf.state_dir = dir;
	return 1;
}

int sriov_cmd_del(const struct cni_request *req, struct cni_err *err)
{
	struct sriov_ctx c;
	char *path = NULL;
	int r, ret = -1;

	sriov_ctx_init(&c, req);
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	sriov_setup_log(&c.conf, req);
	if (c.conf.ipam_type && sriov_ipam_exec(&c, "DEL", NULL, err) < 0)
		goto out;
	path = sriov_state_path(c.conf.state_dir, req->container_id, req->ifname);
	r = path ? sriov_state_load_path(path, &c.st, err) : -1;
	if (r == 0 && strcmp(c.conf.state_dir, SRIOV_STATE_DIR_DEFAULT) != 0 &&
	    (r = load_from_sriov_cni_dir(&c, &path, err)) < 0)
		goto out;
	if (r == 1 && sriov_state_adopt(&c.st, req->container_id, req->ifname, req->netns, err) < 0)
		goto out;
	if (r < 0) {
		/* Unusable state cannot be acted on; failing would only make kubelet loop. */
		log_error("DEL: %s: dropping it", err->msg ? err->msg : "out of memory");
		cni_err_clear(err);
		ret = path ? cni_remove_file(path, err) : 0;
		goto out;
	}
	ret = r == 0 ? 0 : sriov_release(&c, path, err);
out:
	free(path);
	sriov_ctx_free(&c);
	return ret;
}

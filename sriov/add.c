/* sriov/add.c: ADD of one VF: lookup, lock, state saved before any change, configure, roll back.
 * Follows sriov-cni pkg/cnicommands/cni.go CmdAdd and pkg/sriov/sriov.go SetupVF (docs/sriov.md). */
#include <libgen.h>
#include <linux/devlink.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/file.h"
#include "cni/ipconfig.h"
#include "cni/json.h"
#include "cni/log.h"
#include "cni/netns.h"
#include "cni/result.h"
#include "sriov/announce.h"
#include "sriov/devlink.h"
#include "sriov/netdev.h"
#include "sriov/pci.h"
#include "sriov/plugin.h"
#include "sriov/vf.h"

static void rollback(struct sriov_ctx *c)
{
	struct cni_err e = { 0 };
	int failed = 0;

	if (c->ipam_added && sriov_ipam_exec(c, "DEL", NULL, &e) < 0)
		failed = 1;
	if (failed)
		log_error("rollback: IPAM DEL: %s", e.msg);
	cni_err_clear(&e);
	if (!c->saved)
		return;
	if (sriov_restore_vf(c, &e) < 0) {
		/* Keep state and record: the runtime's DEL after this failed ADD tries again. */
		log_error("rollback of VF %s: %s", c->st.device_id, e.msg);
		cni_err_clear(&e);
		return;
	}
	/* Best effort: a file left behind is the runtime's DEL's to remove. */
	if (c->st.device_info_created && cni_remove_file(c->st.device_info_file, &e) < 0)
		cni_err_clear(&e);
	if (c->allocated && sriov_alloc_remove(c->conf.state_dir, c->st.device_id, &e) < 0)
		cni_err_clear(&e);
	if (sriov_state_remove(c->conf.state_dir, c->st.container_id, c->st.ifname, &e) < 0)
		cni_err_clear(&e);
}

static int refuse_switchdev(const struct sriov_pci *p, struct cni_err *err)
{
	int mode;

	if (sriov_devlink_eswitch_mode(p->pf_addr, &mode, err) < 0)
		return -1;
	if (mode == DEVLINK_ESWITCH_MODE_SWITCHDEV)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "PF %s (%s) of VF %s is in switchdev mode: the sriov plugin "
				   "serves legacy SR-IOV only",
				   p->pf_netdev, p->pf_addr, p->vf_addr);
	return 0;
}

/* The PF-side values and attributes the config asks for, starting from what is there. */
static void wanted(const struct sriov_conf *cf, struct sriov_state *st)
{
	st->want = st->orig;
	st->pf_mask = 0;
	if (cf->has_vlan) {
		st->want.vlan = cf->vlan;
		st->want.qos = cf->vlan_qos;
		st->want.proto = cf->vlan_proto;
		st->pf_mask |= SRIOV_VF_VLAN;
	}
	if (cf->has_mac) {
		memcpy(st->want.mac, cf->mac, 6);
		st->pf_mask |= SRIOV_VF_MAC;
	}
	if (cf->has_rate) {
		st->want.min_rate = cf->min_tx_rate;
		st->want.max_rate = cf->max_tx_rate;
		st->pf_mask |= SRIOV_VF_RATE;
	}
	if (cf->spoofchk >= 0) {
		st->want.spoofchk = cf->spoofchk;
		st->pf_mask |= SRIOV_VF_SPOOFCHK;
	}
	if (cf->trust >= 0) {
		st->want.trust = cf->trust;
		st->pf_mask |= SRIOV_VF_TRUST;
	}
	if (cf->link_state >= 0) {
		st->want.link_state = (unsigned)cf->link_state;
		st->pf_mask |= SRIOV_VF_LINK_STATE;
	}
}

static int dup_str(char **dst, const char *s, struct cni_err *err)
{
	*dst = s ? strdup(s) : NULL;
	return (!s || *dst) ? 0 : cni_err_oom(err);
}

/* Fills the state from the lookup and what the host and PF show now: all before any change. */
static int build_state(struct sriov_ctx *c, const struct sriov_pci *p, struct cni_err *err)
{
	const struct cni_request *req = c->req;
	struct sriov_state *st = &c->st;
	int r;

	if (dup_str(&st->container_id, req->container_id, err) < 0 ||
	    dup_str(&st->ifname, req->ifname, err) < 0 ||
	    dup_str(&st->netns, req->netns, err) < 0 || dup_str(&st->network, req->name, err) < 0 ||
	    dup_str(&st->device_id, p->vf_addr, err) < 0 ||
	    dup_str(&st->pf_name, p->pf_netdev, err) < 0 ||
	    dup_str(&st->device_info_file, c->conf.device_info_file, err) < 0 ||
	    dup_str(&st->cni_version, req->cni_version, err) < 0 ||
	    dup_str(&st->ipam_type, c->conf.ipam_type, err) < 0)
		return -1;
	st->vf_index = p->vf_index;
	st->dpdk = !p->vf_netdev;
	st->device_info_created = st->device_info_file && access(st->device_info_file, F_OK) != 0;
	if (!st->dpdk) {
		r = sriov_link_get(&c->host, p->vf_netdev, &st->host, err);
		if (r == 1)
			return cni_err_set(err, CNI_ERR_INTERNAL,
					   "VF %s netdev \"%s\" not found in the host netns",
					   p->vf_addr, p->vf_netdev);
		if (r < 0)
			return -1;
	}
	/* p's name rather than its copy in st: the analyzer takes a malloc'd string passed as const
	 * to an unknown function, next to a pointer into *c, for a leak (sriov_ctx_free() frees it). */
	if (sriov_vf_read(&c->host, p->pf_netdev, st->vf_index, &st->orig, err) < 0)
		return -1;
	wanted(&c->conf, st);
	if (c->conf.has_mac) {
		st->has_mac = true;
		memcpy(st->mac, c->conf.mac, 6);
	}
	return 0;
}

/* CNI SPEC.md, Section 2 'ADD': an interface plugin must fail when CNI_IFNAME already exists in
 * the pod. */
static int ifname_free(struct sriov_ctx *c, struct cni_err *err)
{
	struct sriov_link l;
	int r = sriov_link_get(&c->pod, c->req->ifname, &l, err);

	if (r == 0)
		return cni_err_set(err, CNI_ERR_INTERNAL,
				   "interface \"%s\" already exists in netns %s", c->req->ifname,
				   c->req->netns);
	return r < 0 ? -1 : 0;
}

/* A VF whose netdev is in another pod has none in the host, so its lookup fails; when an
 * allocation record names a live netns, that is the error to report (code 11), not the lookup's. */
static bool held_elsewhere(const struct sriov_conf *cf, struct cni_err *err)
{
	struct sriov_alloc a = { 0 };
	struct cni_err e = { 0 };
	bool held = sriov_alloc_read(cf->state_dir, cf->device_id, &a, &e) == 1 && a.netns &&
		    cni_netns_exists(a.netns);

	cni_err_clear(&e);
	if (held) {
		cni_err_clear(err);
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "pci address %s is already allocated",
			    cf->device_id);
		cni_err_details(err, "held by container %s (netns %s)",
				a.container_id ? a.container_id : "(unknown)", a.netns);
	}
	sriov_alloc_free(&a);
	return held;
}

/* Under the VF's lock: a record whose pod netns is gone (node reboot, a sandbox torn down before
 * its DEL) belongs to an attachment that left the VF as it set it, its netdev back in the host
 * under the pod's name. Its state says what the VF was: restore that first, so this ADD saves
 * the real original (and that attachment's late DEL finds nothing to undo). Best effort: on
 * failure the stale state stays for that DEL, and this ADD goes on. True when it restored. */
static bool repair_stale(struct sriov_ctx *c, const char *vf_addr)
{
	struct sriov_alloc a = { 0 };
	struct cni_err e = { 0 };
	struct sriov_ctx o;
	char *path = NULL;
	bool done = false;

	if (sriov_alloc_read(c->conf.state_dir, vf_addr, &a, &e) != 1 || !a.container_id ||
	    !a.ifname || (a.netns && cni_netns_exists(a.netns)))
		goto out;
	path = sriov_state_path(c->conf.state_dir, a.container_id, a.ifname);
	sriov_ctx_init(&o, c->req);
	o.conf.state_dir = c->conf.state_dir;
	o.conf.sysfs_root = c->conf.sysfs_root;
	if (path && sriov_state_load_path(path, &o.st, &e) == 1 &&
	    !strcmp(o.st.device_id, vf_addr)) {
		log_verbose("VF %s: restoring it from %s/%s, whose netns is gone", vf_addr,
			    a.container_id, a.ifname);
		done =
		    cni_nl_open(&o.host, NETLINK_ROUTE, &e) == 0 && sriov_restore_vf(&o, &e) == 0;
		/* a state file that cannot be removed is logged below; the VF is restored */
		if (done && cni_remove_file(path, &e) < 0)
			log_verbose("VF %s: state %s kept", vf_addr, path);
	}
	if (cni_err_isset(&e))
		log_error("VF %s: stale attachment %s/%s: %s", vf_addr, a.container_id, a.ifname,
			  e.msg);
	o.conf.state_dir = o.conf.sysfs_root = NULL;
	sriov_ctx_free(&o);
out:
	cni_err_clear(&e);
	sriov_alloc_free(&a);
	free(path);
	return done;
}

/* Lookup, lock, allocation check, sockets: everything ADD needs before it may save state. */
static int add_prepare(struct sriov_ctx *c, struct sriov_pci *p, struct cni_err *err)
{
	const struct sriov_conf *cf = &c->conf;

	if (sriov_pci_lookup(cf->sysfs_root, cf->device_id, p, err) < 0)
		return held_elsewhere(cf, err)
			   ? -1
			   : cni_err_prefix(err, "SRIOV-CNI failed to load netconf: "
						 "LoadConf()");
	if (refuse_switchdev(p, err) < 0 || sriov_state_dirs(cf->state_dir, err) < 0)
		return -1;
	c->lock_fd = sriov_alloc_lock(cf->state_dir, p->vf_addr, SRIOV_LOCK_TIMEOUT_MS, err);
	if (c->lock_fd < 0)
		return -1;
	/* The repaired netdev has its host name back: look it up again. */
	if (repair_stale(c, p->vf_addr)) {
		sriov_pci_free(p);
		if (sriov_pci_lookup(cf->sysfs_root, cf->device_id, p, err) < 0)
			return cni_err_prefix(err, "SRIOV-CNI failed to load netconf: LoadConf()");
	}
	if (sriov_alloc_check(cf->state_dir, p->vf_addr, err) < 0)
		return -1;
	c->pod_fd = cni_netns_open(c->req->netns, err);
	if (c->pod_fd < 0)
		return cni_err_prefix(err, "failed to open netns %s", c->req->netns);
	if (cni_nl_open(&c->host, NETLINK_ROUTE, err) < 0 ||
	    cni_nl_open_in(&c->pod, NETLINK_ROUTE, c->pod_fd, err) < 0)
		return -1;
	if (p->vf_netdev && ifname_free(c, err) < 0)
		return -1;
	return build_state(c, p, err);
}

/* Kernel mode: into the pod, MAC, sysctls, up. */
static int setup_netdev(struct sriov_ctx *c, struct cni_err *err)
{
	struct sriov_link l;
	int r;

	if (sriov_netdev_move_in(&c->host, c->pod_fd, &c->st.host, c->req->ifname, err) < 0)
		return -1;
	c->moved = true;
	r = sriov_link_get(&c->pod, c->req->ifname, &l, err);
	if (r != 0)
		return r < 0
			   ? -1
			   : cni_err_set(err, CNI_ERR_INTERNAL, "interface \"%s\" not in netns %s",
					 c->req->ifname, c->req->netns);
	sriov_netdev_notify_sysctls(c->req->netns, c->req->ifname);
	if (c->st.has_mac && memcmp(l.mac, c->st.mac, 6) != 0 &&
	    sriov_set_mac_trusting(c, &c->pod, l.ifindex, c->st.mac, err) < 0)
		return cni_err_prefix(
		    err, "failed to set up pod interface \"%s\" from the device \"%s\"",
		    c->req->ifname, c->st.pf_name);
	return sriov_link_set_up(&c->pod, l.ifindex, true, err);
}

/* The interface entry: requested MAC, else the netdev's own, else a non-zero admin MAC. */
static cJSON *interface_json(struct sriov_ctx *c, const struct sriov_pci *p, struct cni_err *err)
{
	static const unsigned char zero[6];
	const struct sriov_state *st = &c->st;
	cJSON *o = cJSON_CreateObject();
	const unsigned char *mac = NULL;
	unsigned mtu = st->host.mtu;
	char mac_s[18];

	if (st->has_mac)
		mac = st->mac;
	else if (!st->dpdk)
		mac = st->host.mac;
	else if (memcmp(st->orig.mac, zero, 6) != 0)
		mac = st->orig.mac;
	if (st->dpdk) {
		struct sriov_link pf;

		mtu = sriov_link_get(&c->host, st->pf_name, &pf, err) == 0 ? pf.mtu : 0;
		cni_err_clear(err);
	}
	cJSON_AddStringToObject(o, "name", c->req->ifname);
	if (mac) {
		sriov_mac_format(mac, mac_s);
		cJSON_AddStringToObject(o, "mac", mac_s);
	}
	if (mtu)
		cJSON_AddNumberToObject(o, "mtu", mtu);
	cJSON_AddStringToObject(o, "sandbox", c->req->netns);
	cJSON_AddStringToObject(o, "pciID", p->vf_addr);
	return o;
}

/* IPAM ADD; its result (in 1.1.0 shape) gets our interface as interfaces[0]. */
static cJSON *run_ipam(struct sriov_ctx *c, struct cni_err *err)
{
	char *out = NULL;
	cJSON *raw, *res;
	const cJSON *ips;

	if (sriov_ipam_exec(c, "ADD", &out, err) < 0)
		return NULL;
	c->ipam_added = true;
	raw = cni_result_parse(out ? out : "", c->req->cni_version, err);
	free(out);
	res = raw ? cni_result_convert(raw, "1.1.0", err) : NULL;
	cJSON_Delete(raw);
	if (!res)
		return NULL;
	ips = cJSON_GetObjectItemCaseSensitive(res, "ips");
	if (cJSON_GetArraySize(ips) == 0) {
		cJSON_Delete(res);
		cni_err_set(err, CNI_ERR_INTERNAL, "IPAM plugin returned missing IP config");
		return NULL;
	}
	return res;
}

static cJSON *build_result(struct sriov_ctx *c, const struct sriov_pci *p, cJSON *ipam,
			   struct cni_err *err)
{
	cJSON *res = ipam ? ipam : cJSON_CreateObject(), *ifs = cJSON_CreateArray(), *ip;

	cJSON_DeleteItemFromObjectCaseSensitive(res, "cniVersion");
	cJSON_AddStringToObject(res, "cniVersion", "1.1.0");
	cJSON_AddItemToArray(ifs, interface_json(c, p, err));
	if (cni_json_set(res, "interfaces", ifs) < 0)
		goto oom;
	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(res, "ips"))
	{
		if (cni_json_set(ip, "interface", cJSON_CreateNumber(0)) < 0)
			goto oom;
	}
	return res;
oom:
	cJSON_Delete(res);
	cni_err_oom(err);
	return NULL;
}

/* The device-info fields of a VF set in o (spec 1.1.0 "pci"); -1 when out of memory. */
static int set_pci_info(cJSON *o, const struct sriov_pci *p)
{
	cJSON *pci;

	if (cni_json_set(o, "type", cJSON_CreateString("pci")) < 0 ||
	    cni_json_set(o, "version", cJSON_CreateString("1.1.0")) < 0)
		return -1;
	pci = cJSON_GetObjectItemCaseSensitive(o, "pci");
	if (!cJSON_IsObject(pci)) {
		pci = cJSON_CreateObject();
		if (cni_json_set(o, "pci", pci) < 0)
			return -1;
	}
	if (cni_json_set(pci, "pci-address", cJSON_CreateString(p->vf_addr)) < 0 ||
	    cni_json_set(pci, "pf-pci-address", cJSON_CreateString(p->pf_addr)) < 0)
		return -1;
	return 0;
}

/* Spec 1.1.0 device-info for the VF, merged into what Multus may have copied there already. */
static int write_device_info(struct sriov_ctx *c, const struct sriov_pci *p, struct cni_err *err)
{
	const char *path = c->st.device_info_file;
	char *text, *dir = strdup(path);
	cJSON *o = NULL;
	size_t len;
	int r = -1;

	text = cni_read_file(path, 1u << 20, CNI_FILE_NOFOLLOW, &len, err);
	cni_err_clear(err);
	if (text)
		o = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
	}
	text = set_pci_info(o, p) == 0 ? cJSON_PrintUnformatted(o) : NULL;
	if (!dir || !text)
		cni_err_oom(err);
	else if (cni_mkdir_p(dirname(dir), 0755, err) == 0)
		r = cni_write_atomic(path, text, strlen(text), 0644, CNI_WRITE_SHARED, err);
	free(text);
	free(dir);
	cJSON_Delete(o);
	return r < 0 ? cni_err_prefix(err, "device-info file") : 0;
}

static int add_configure(struct sriov_ctx *c, const struct sriov_pci *p, cJSON **result,
			 struct cni_err *err)
{
	cJSON *ipam = NULL;

	if (sriov_state_save(c->conf.state_dir, &c->st, err) < 0)
		return -1;
	c->saved = true;
	if (sriov_alloc_write(c->conf.state_dir, p->vf_addr, c->req->netns, c->req->container_id,
			      c->req->ifname, err) < 0)
		return -1;
	c->allocated = true;
	if (sriov_vf_apply(&c->host, c->st.pf_name, c->st.vf_index, c->st.pf_mask, &c->st.want,
			   NULL, err) < 0)
		return cni_err_prefix(err, "SRIOV-CNI failed to configure VF");
	if (!c->st.dpdk && setup_netdev(c, err) < 0)
		return -1;
	if (c->conf.ipam_type && !(ipam = run_ipam(c, err)))
		return -1;
	*result = build_result(c, p, ipam, err);
	if (!*result)
		return -1;
	if (ipam && !c->st.dpdk &&
	    cni_ipconfig_apply(c->req->netns, c->req->ifname, *result, err) < 0)
		return -1;
	if (c->st.device_info_file && write_device_info(c, p, err) < 0)
		return -1;
	if (ipam && !c->st.dpdk)
		sriov_announce(c->req->netns, c->req->ifname,
			       c->st.has_mac ? c->st.mac : c->st.host.mac, *result);
	return 0;
}

int sriov_cmd_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct sriov_pci p = { 0 };
	struct sriov_ctx c;
	int ret = -1;

	sriov_ctx_init(&c, req);
	if (sriov_conf_parse(req->conf, &req->args, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	sriov_setup_log(&c.conf, req);
	if (add_prepare(&c, &p, err) < 0)
		goto out;
	ret = add_configure(&c, &p, result, err);
	if (ret < 0) {
		cJSON_Delete(*result);
		*result = NULL;
		rollback(&c);
	} else {
		log_verbose("VF %s (PF %s VF %u) attached as %s", p.vf_addr, p.pf_netdev,
			    p.vf_index, req->ifname);
	}
out:
	sriov_pci_free(&p);
	sriov_ctx_free(&c);
	return ret;
}

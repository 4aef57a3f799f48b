/* sriov/main.c: the sriov CNI plugin: ADD/DEL/CHECK/GC/STATUS of one SR-IOV VF.
 * Follows sriov-cni cmdAdd/cmdDel (sriov.md §1.5, §1.6), with its §1.9 and §7.3 fixes. */
#include <errno.h>
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
#include "cni/skel.h"
#include "delegates/find.h"
#include "delegates/invoke.h"
#include "sriov/announce.h"
#include "sriov/conf.h"
#include "sriov/netdev.h"
#include "sriov/pci.h"
#include "sriov/state.h"
#include "sriov/vf.h"

#define LOCK_TIMEOUT_MS 60000

/* Everything one invocation holds; released by ctx_free() on every path. */
struct ctx {
	const struct cni_request *req;
	struct sriov_conf conf;
	struct sriov_state st;
	struct sriov_nl host; /* opened in the host netns */
	struct sriov_nl pod;  /* opened in the pod netns, when there is one */
	int pod_fd, lock_fd;
	char **dirs; /* CNI_PATH */
	size_t ndirs;
	/* ADD progress, for the rollback */
	bool saved, allocated, moved, ipam_added;
};

static void ctx_init(struct ctx *c, const struct cni_request *req)
{
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->pod_fd = c->lock_fd = -1;
	c->conf.spoofchk = c->conf.trust = c->conf.link_state = -1;
}

static void ctx_free(struct ctx *c)
{
	sriov_conf_free(&c->conf);
	sriov_state_free(&c->st);
	sriov_nl_close(&c->host);
	sriov_nl_close(&c->pod);
	if (c->pod_fd >= 0)
		close(c->pod_fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	dlg_path_free(c->dirs);
}

/* sriov-cni's levels onto ours; anything unknown is "info", as upstream does. */
static void setup_log(const struct sriov_conf *cf, const struct cni_request *req)
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
	if (cf->log_file && cni_log_set_file(cf->log_file) < 0) {
		/* logging goes on to stderr (see cni/log.h) */
	}
	snprintf(prefix, sizeof(prefix), "sriov %s:%s", req->container_id ? req->container_id : "-",
		 req->ifname ? req->ifname : "-");
	cni_log_set_prefix(prefix);
}

static const cJSON *ipam_conf(const struct cni_request *req)
{
	return cJSON_GetObjectItem(req->conf, "ipam");
}

static void rt_init(struct ctx *c, struct dlg_rt *rt)
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

/* Runs the IPAM plugin for verb with our own stdin, as libcni's DelegateAdd does. */
static int ipam_exec(struct ctx *c, const char *verb, char **out, struct cni_err *err)
{
	struct dlg_rt rt;

	rt_init(c, &rt);
	return dlg_exec_plugin(verb, ipam_conf(c->req), c->req->stdin_data, &rt, out, err);
}

/* The MAC of an untrusted igb VF can only be changed with trust on (hwbed.md §5): try as is,
 * and on EADDRNOTAVAIL/EPERM switch trust on for the one change and back off afterwards. */
static int set_mac_trusting(void *arg, struct sriov_nl *nl, int ifindex, const unsigned char mac[6],
			    struct cni_err *err)
{
	struct ctx *c = arg;
	struct sriov_vf_state cur;
	struct cni_err e = { 0 };
	int r;

	if (sriov_link_set_mac(nl, ifindex, mac, err) == 0)
		return 0;
	if (nl->ans.errnum != EADDRNOTAVAIL && nl->ans.errnum != EPERM)
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
static int restore_vf(struct ctx *c, struct cni_err *err)
{
	struct sriov_state *st = &c->st;
	struct cni_err e = { 0 };
	char *name = NULL;
	int moved;

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
		sriov_netdev_restore(&c->host, name, st->ifname, &st->host, set_mac_trusting, c,
				     &e);
	if (cni_err_isset(&e) && !cni_err_isset(err))
		cni_err_move(err, &e);
	cni_err_clear(&e);
	free(name);
	return cni_err_isset(err) ? -1 : 0;
}

static void rollback(struct ctx *c)
{
	struct cni_err e = { 0 };
	int failed = 0;

	if (c->ipam_added && ipam_exec(c, "DEL", NULL, &e) < 0)
		failed = 1;
	if (failed)
		log_error("rollback: IPAM DEL: %s", e.msg);
	cni_err_clear(&e);
	if (!c->saved)
		return;
	if (restore_vf(c, &e) < 0) {
		/* Keep state and record: the runtime's DEL after this failed ADD tries again. */
		log_error("rollback of VF %s: %s", c->st.device_id, e.msg);
		cni_err_clear(&e);
		return;
	}
	if (c->st.device_info_created && cni_remove_file(c->st.device_info_file, &e) < 0) {
		/* best effort during rollback, cleared below */
	}
	cni_err_clear(&e);
	if (c->allocated)
		sriov_alloc_remove(c->conf.state_dir, c->st.device_id, &e);
	cni_err_clear(&e);
	sriov_state_remove(c->conf.state_dir, c->st.container_id, c->st.ifname, &e);
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
	return (!s || *dst) ? 0 : cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
}

/* Fills the state from the lookup and what the host and PF show now: all before any change. */
static int build_state(struct ctx *c, const struct sriov_pci *p, struct cni_err *err)
{
	const struct cni_request *req = c->req;
	struct sriov_state *st = &c->st;
	int r;

	if (dup_str(&st->container_id, req->container_id, err) < 0 ||
	    dup_str(&st->ifname, req->ifname, err) < 0 ||
	    dup_str(&st->netns, req->netns, err) < 0 || dup_str(&st->network, req->name, err) < 0 ||
	    dup_str(&st->device_id, p->vf_addr, err) < 0 ||
	    dup_str(&st->pf_name, p->pf_netdev, err) < 0 ||
	    dup_str(&st->device_info_file, c->conf.device_info_file, err) < 0)
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
	 * to an unknown function, next to a pointer into *c, for a leak (ctx_free() frees it). */
	if (sriov_vf_read(&c->host, p->pf_netdev, st->vf_index, &st->orig, err) < 0)
		return -1;
	wanted(&c->conf, st);
	if (c->conf.has_mac) {
		st->has_mac = true;
		memcpy(st->mac, c->conf.mac, 6);
	}
	return 0;
}

/* CNI 1.1 §5.2: an interface plugin must fail when CNI_IFNAME already exists in the pod. */
static int ifname_free(struct ctx *c, struct cni_err *err)
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
static bool repair_stale(struct ctx *c, const char *vf_addr)
{
	struct sriov_alloc a = { 0 };
	struct cni_err e = { 0 };
	struct ctx o;
	char *path = NULL;
	bool done = false;

	if (sriov_alloc_read(c->conf.state_dir, vf_addr, &a, &e) != 1 || !a.container_id ||
	    !a.ifname || (a.netns && cni_netns_exists(a.netns)))
		goto out;
	path = sriov_state_path(c->conf.state_dir, a.container_id, a.ifname);
	ctx_init(&o, c->req);
	o.conf.state_dir = c->conf.state_dir;
	o.conf.sysfs_root = c->conf.sysfs_root;
	if (path && sriov_state_load_path(path, &o.st, &e) == 1 &&
	    !strcmp(o.st.device_id, vf_addr)) {
		log_verbose("VF %s: restoring it from %s/%s, whose netns is gone", vf_addr,
			    a.container_id, a.ifname);
		done = sriov_nl_open(&o.host, &e) == 0 && restore_vf(&o, &e) == 0;
		if (done && cni_remove_file(path, &e) < 0) {
			/* in e, logged below */
		}
	}
	if (cni_err_isset(&e))
		log_error("VF %s: stale attachment %s/%s: %s", vf_addr, a.container_id, a.ifname,
			  e.msg);
	o.conf.state_dir = o.conf.sysfs_root = NULL;
	ctx_free(&o);
out:
	cni_err_clear(&e);
	sriov_alloc_free(&a);
	free(path);
	return done;
}

/* Lookup, lock, allocation check, sockets: everything ADD needs before it may save state. */
static int add_prepare(struct ctx *c, struct sriov_pci *p, struct cni_err *err)
{
	const struct sriov_conf *cf = &c->conf;

	if (sriov_pci_lookup(cf->sysfs_root, cf->device_id, p, err) < 0)
		return held_elsewhere(cf, err)
			   ? -1
			   : cni_err_prefix(err, "SRIOV-CNI failed to load netconf: "
						 "LoadConf()");
	if (refuse_switchdev(p, err) < 0 || sriov_state_dirs(cf->state_dir, err) < 0)
		return -1;
	c->lock_fd = sriov_alloc_lock(cf->state_dir, p->vf_addr, LOCK_TIMEOUT_MS, err);
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
	if (sriov_nl_open(&c->host, err) < 0 || sriov_nl_open_in(&c->pod, c->pod_fd, err) < 0)
		return -1;
	if (p->vf_netdev && ifname_free(c, err) < 0)
		return -1;
	return build_state(c, p, err);
}

/* Kernel mode: into the pod, MAC, sysctls, up. */
static int setup_netdev(struct ctx *c, struct cni_err *err)
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
	    set_mac_trusting(c, &c->pod, l.ifindex, c->st.mac, err) < 0)
		return cni_err_prefix(
		    err, "failed to set up pod interface \"%s\" from the device \"%s\"",
		    c->req->ifname, c->st.pf_name);
	return sriov_link_set_up(&c->pod, l.ifindex, true, err);
}

/* The interface entry: requested MAC, else the netdev's own, else a non-zero admin MAC. */
static cJSON *interface_json(struct ctx *c, const struct sriov_pci *p, struct cni_err *err)
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
static cJSON *run_ipam(struct ctx *c, struct cni_err *err)
{
	char *out = NULL;
	cJSON *raw, *res;
	const cJSON *ips;

	if (ipam_exec(c, "ADD", &out, err) < 0)
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

static cJSON *build_result(struct ctx *c, const struct sriov_pci *p, cJSON *ipam,
			   struct cni_err *err)
{
	cJSON *res = ipam ? ipam : cJSON_CreateObject(), *ifs = cJSON_CreateArray(), *ip;

	cJSON_DeleteItemFromObjectCaseSensitive(res, "cniVersion");
	cJSON_AddStringToObject(res, "cniVersion", "1.1.0");
	cJSON_AddItemToArray(ifs, interface_json(c, p, err));
	cni_json_set(res, "interfaces", ifs);
	cJSON_ArrayForEach(ip, cJSON_GetObjectItemCaseSensitive(res, "ips"))
	{
		cni_json_set(ip, "interface", cJSON_CreateNumber(0));
	}
	return res;
}

/* Spec 1.1.0 device-info for the VF, merged into what Multus may have copied there already. */
static int write_device_info(struct ctx *c, const struct sriov_pci *p, struct cni_err *err)
{
	const char *path = c->st.device_info_file;
	char *text, *dir = strdup(path);
	cJSON *o = NULL, *pci;
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
	cni_json_set(o, "type", cJSON_CreateString("pci"));
	cni_json_set(o, "version", cJSON_CreateString("1.1.0"));
	pci = cJSON_GetObjectItemCaseSensitive(o, "pci");
	if (!cJSON_IsObject(pci)) {
		pci = cJSON_CreateObject();
		cni_json_set(o, "pci", pci);
	}
	cni_json_set(pci, "pci-address", cJSON_CreateString(p->vf_addr));
	cni_json_set(pci, "pf-pci-address", cJSON_CreateString(p->pf_addr));
	text = cJSON_PrintUnformatted(o);
	if (!dir || !text)
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	else if (cni_mkdir_p(dirname(dir), 0755, err) == 0)
		r = cni_write_atomic(path, text, strlen(text), 0644, err);
	free(text);
	free(dir);
	cJSON_Delete(o);
	return r < 0 ? cni_err_prefix(err, "device-info file") : 0;
}

static int add_configure(struct ctx *c, const struct sriov_pci *p, cJSON **result,
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

static int cmd_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct sriov_pci p = { 0 };
	struct ctx c;
	int ret = -1;

	ctx_init(&c, req);
	if (sriov_conf_parse(req->conf, &req->args, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	setup_log(&c.conf, req);
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
	ctx_free(&c);
	return ret;
}

/* Releases one attachment from its state alone; "report once, never loop" (sriov.md §1.9):
 * a second failing DEL logs and lets go. */
static int release(struct ctx *c, const char *state_path, struct cni_err *err)
{
	struct sriov_state *st = &c->st;
	struct sriov_alloc a = { 0 };
	struct cni_err e = { 0 };
	bool ours;
	int r;

	c->lock_fd = sriov_alloc_lock(c->conf.state_dir, st->device_id, LOCK_TIMEOUT_MS, err);
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
		if (c->pod_fd >= 0 && sriov_nl_open_in(&c->pod, c->pod_fd, &e) < 0)
			log_error("DEL: %s", e.msg);
		cni_err_clear(&e);
	}
	if (ours && (sriov_nl_open(&c->host, err) < 0 || restore_vf(c, err) < 0)) {
		if (!st->del_failed) {
			st->del_failed = true;
			sriov_state_save(c->conf.state_dir, st, &e);
			cni_err_clear(&e);
			if (r == 1)
				sriov_alloc_remove(c->conf.state_dir, st->device_id, &e);
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

static int cmd_del(const struct cni_request *req, struct cni_err *err)
{
	struct ctx c;
	char *path = NULL;
	int r, ret = -1;

	ctx_init(&c, req);
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	setup_log(&c.conf, req);
	if (c.conf.ipam_type && ipam_exec(&c, "DEL", NULL, err) < 0)
		goto out;
	path = sriov_state_path(c.conf.state_dir, req->container_id, req->ifname);
	r = path ? sriov_state_load_path(path, &c.st, err) : -1;
	if (r < 0) {
		/* Unusable state cannot be acted on; failing would only make kubelet loop. */
		log_error("DEL: %s: dropping it", err->msg ? err->msg : "out of memory");
		cni_err_clear(err);
		ret = path ? cni_remove_file(path, err) : 0;
		goto out;
	}
	ret = r == 0 ? 0 : release(&c, path, err);
out:
	free(path);
	ctx_free(&c);
	return ret;
}

/* The MAC CHECK expects: the final result's (a later tuning plugin may have changed it),
 * else the one ADD set. */
static int expected_mac(struct ctx *c, unsigned char mac[6])
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

static int check_netdev(struct ctx *c, struct cni_err *err)
{
	unsigned char want[6];
	char got_s[18], want_s[18];
	struct sriov_link l;
	int r;

	c->pod_fd = cni_netns_open(c->req->netns, err);
	if (c->pod_fd < 0 || sriov_nl_open_in(&c->pod, c->pod_fd, err) < 0)
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

static int cmd_check(const struct cni_request *req, struct cni_err *err)
{
	struct sriov_vf_state cur;
	struct ctx c;
	int r, ret = -1;

	ctx_init(&c, req);
	if (sriov_conf_parse(req->conf, &req->args, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	setup_log(&c.conf, req);
	if (!cJSON_GetObjectItemCaseSensitive(req->conf, "prevResult")) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "required prevResult missing");
		goto out;
	}
	r = sriov_state_load(c.conf.state_dir, req->container_id, req->ifname, &c.st, err);
	if (r == 0)
		cni_err_set(err, CNI_ERR_INTERNAL, "no sriov state for container %s interface %s",
			    req->container_id, req->ifname);
	if (r <= 0 || sriov_nl_open(&c.host, err) < 0 ||
	    sriov_vf_read(&c.host, c.st.pf_name, c.st.vf_index, &cur, err) < 0 ||
	    sriov_vf_compare(c.st.pf_name, c.st.vf_index, c.st.pf_mask, &cur, &c.st.want, err) < 0)
		goto out;
	if (!c.st.dpdk && check_netdev(&c, err) < 0)
		goto out;
	ret = c.conf.ipam_type ? ipam_exec(&c, "CHECK", NULL, err) : 0;
out:
	ctx_free(&c);
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
	struct ctx c;
	int r, ret = 0;

	ctx_init(&c, req);
	c.conf.state_dir = cf->state_dir;
	c.conf.sysfs_root = cf->sysfs_root;
	r = sriov_state_load_path(path, &c.st, err);
	if (r == 1 && strcmp(c.st.network, req->name) == 0 && !is_valid_attachment(valid, &c.st)) {
		log_verbose("GC: releasing VF %s of %s/%s", c.st.device_id, c.st.container_id,
			    c.st.ifname);
		ret = release(&c, path, err);
	}
	if (r < 0)
		ret = -1;
	c.conf.state_dir = c.conf.sysfs_root = NULL;
	ctx_free(&c);
	return ret;
}

static int cmd_gc(const struct cni_request *req, struct cni_err *err)
{
	const cJSON *valid =
	    cJSON_GetObjectItemCaseSensitive(req->conf, "cni.dev/valid-attachments");
	struct cni_err e = { 0 };
	struct ctx c;
	char **paths = NULL;
	size_t n = 0;

	ctx_init(&c, req);
	if (!valid)
		valid = cJSON_GetObjectItemCaseSensitive(req->conf, "cni.dev/attachments");
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	setup_log(&c.conf, req);
	/* An absent list is not an empty one: without it nothing is known to be stale. */
	if (cJSON_IsArray(valid) && sriov_state_list(c.conf.state_dir, &paths, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (gc_one(req, &c.conf, paths[i], valid, &e) < 0 && !cni_err_isset(err))
			cni_err_move(err, &e);
		cni_err_clear(&e);
	}
	if (c.conf.ipam_type && ipam_exec(&c, "GC", NULL, &e) < 0 && !cni_err_isset(err))
		cni_err_move(err, &e);
	cni_err_clear(&e);
out:
	sriov_state_paths_free(paths, n);
	ctx_free(&c);
	return cni_err_isset(err) ? -1 : 0;
}

/* Ready when the IPAM plugin says so (CNI 1.1 §5.6: STATUS goes to what ADD depends on). */
static int cmd_status(const struct cni_request *req, struct cni_err *err)
{
	struct ctx c;
	int ret = -1;

	ctx_init(&c, req);
	if (sriov_conf_parse_lenient(req->conf, getenv(SRIOV_SYSFS_ROOT_ENV), &c.conf, err) < 0)
		goto out;
	ret = c.conf.ipam_type ? ipam_exec(&c, "STATUS", NULL, err) : 0;
	if (ret < 0 && err->code != CNI_ERR_NOT_AVAILABLE &&
	    err->code != CNI_ERR_NOT_AVAILABLE_DEGRADED)
		err->code = CNI_ERR_NOT_AVAILABLE;
out:
	ctx_free(&c);
	return ret;
}

int main(void)
{
	static const struct cni_plugin plugin = {
		.about = "sriov: SR-IOV VF CNI plugin (sriov-cni compatible), part of Plexus",
		.versions = cni_versions,
		.add = cmd_add,
		.del = cmd_del,
		.check = cmd_check,
		.gc = cmd_gc,
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

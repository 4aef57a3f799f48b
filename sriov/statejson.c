/* sriov/statejson.c: the state file's JSON. Writes sriov-cni's NetConf layout (what its CmdDel
 * reads back through LoadConfFromCache, OrigVfState included) with bin/sriov's own record under
 * SRIOV_STATE_OWN_KEY; reads that, sriov-cni's own files and earlier bin/sriov layouts.
 * Follows sriov-cni pkg/types (NetConf, VfState) and pkg/cnicommands/cni.go CmdAdd. */
#include "sriov/statejson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cni/json.h"
#include "sriov/conf.h"
#include "sriov/pci.h"
#include "sriov/state.h"

static const struct {
	unsigned bit;
	const char *name;
} attr_names[] = {
	{ SRIOV_VF_VLAN, "vlan" },   { SRIOV_VF_MAC, "mac" },
	{ SRIOV_VF_RATE, "rate" },   { SRIOV_VF_SPOOFCHK, "spoofchk" },
	{ SRIOV_VF_TRUST, "trust" }, { SRIOV_VF_LINK_STATE, "link_state" },
};

/* NULL out of memory. */
static cJSON *vf_to_json(const struct sriov_vf_state *v)
{
	cJSON *o = cJSON_CreateObject();
	char mac[18];

	sriov_mac_format(v->mac, mac);
	if (o && cJSON_AddStringToObject(o, "mac", mac) &&
	    cJSON_AddNumberToObject(o, "vlan", v->vlan) &&
	    cJSON_AddNumberToObject(o, "qos", v->qos) &&
	    cJSON_AddNumberToObject(o, "proto", v->proto) &&
	    cJSON_AddNumberToObject(o, "spoofchk", v->spoofchk) &&
	    cJSON_AddNumberToObject(o, "trust", v->trust) &&
	    cJSON_AddNumberToObject(o, "linkState", v->link_state) &&
	    cJSON_AddNumberToObject(o, "minTxRate", v->min_rate) &&
	    cJSON_AddNumberToObject(o, "maxTxRate", v->max_rate))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* The fields after the VF's identity; false out of memory. */
static bool state_fields_to_json(cJSON *o, const struct sriov_state *st)
{
	char mac[18];
	cJSON *attrs = NULL;
	bool ok = cJSON_AddNumberToObject(o, "vfIndex", st->vf_index) &&
		  cJSON_AddBoolToObject(o, "dpdkMode", st->dpdk);

	if (ok && !st->dpdk) {
		sriov_mac_format(st->host.mac, mac);
		ok = cJSON_AddStringToObject(o, "hostIfname", st->host.name) &&
		     cJSON_AddStringToObject(o, "hostMac", mac) &&
		     cJSON_AddNumberToObject(o, "hostMtu", st->host.mtu) &&
		     cJSON_AddBoolToObject(o, "hostUp", st->host.up);
	}
	ok = ok && cJSON_AddItemToObject(o, "orig", vf_to_json(&st->orig)) &&
	     cJSON_AddItemToObject(o, "want", vf_to_json(&st->want)) &&
	     (attrs = cJSON_AddArrayToObject(o, "pfAttrs")) != NULL;
	for (size_t i = 0; ok && i < sizeof(attr_names) / sizeof(*attr_names); i++)
		if (st->pf_mask & attr_names[i].bit)
			ok = cJSON_AddItemToArray(attrs, cJSON_CreateString(attr_names[i].name));
	if (ok && st->has_mac) {
		sriov_mac_format(st->mac, mac);
		ok = cJSON_AddStringToObject(o, "mac", mac);
	}
	return ok && cni_json_add_opt_string(o, "deviceInfoFile", st->device_info_file) == 0 &&
	       cJSON_AddBoolToObject(o, "deviceInfoCreated", st->device_info_created) &&
	       cJSON_AddBoolToObject(o, "delFailed", st->del_failed);
}

/* bin/sriov's own record of the attachment (the whole layout of earlier releases). */
static cJSON *plexus_to_json(const struct sriov_state *st)
{
	cJSON *o = cJSON_CreateObject();

	if (o && cni_json_add_opt_string(o, "containerID", st->container_id) == 0 &&
	    cni_json_add_opt_string(o, "ifname", st->ifname) == 0 &&
	    cni_json_add_opt_string(o, "netns", st->netns) == 0 &&
	    cni_json_add_opt_string(o, "network", st->network) == 0 &&
	    cni_json_add_opt_string(o, "deviceID", st->device_id) == 0 &&
	    cni_json_add_opt_string(o, "pfName", st->pf_name) == 0 && state_fields_to_json(o, st))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* sriov-cni pkg/types VfState, as its CmdAdd fills OrigVfState: what its DEL puts back. NULL
 * out of memory. */
static cJSON *orig_to_cni_json(const struct sriov_state *st)
{
	cJSON *o = cJSON_CreateObject();
	char admin[18], effective[18] = "";

	sriov_mac_format(st->orig.mac, admin);
	if (!st->dpdk)
		sriov_mac_format(st->host.mac, effective);
	if (o && cJSON_AddStringToObject(o, "HostIFName", st->dpdk ? "" : st->host.name) &&
	    cJSON_AddBoolToObject(o, "SpoofChk", st->orig.spoofchk != 0) &&
	    cJSON_AddBoolToObject(o, "Trust", st->orig.trust > 0) &&
	    cJSON_AddStringToObject(o, "AdminMAC", admin) &&
	    cJSON_AddStringToObject(o, "EffectiveMAC", effective) &&
	    cJSON_AddNumberToObject(o, "Vlan", st->orig.vlan) &&
	    cJSON_AddNumberToObject(o, "VlanQoS", st->orig.qos) &&
	    cJSON_AddNumberToObject(o, "VlanProto", st->orig.proto) &&
	    cJSON_AddNumberToObject(o, "MinTxRate", st->orig.min_rate) &&
	    cJSON_AddNumberToObject(o, "MaxTxRate", st->orig.max_rate) &&
	    cJSON_AddNumberToObject(o, "LinkState", st->orig.link_state) &&
	    cJSON_AddNumberToObject(o, "MTU", st->dpdk ? 0 : st->host.mtu))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* sriov-cni's pointer fields (vlan, rates) are null when the netconf did not set them, and its
 * DEL then leaves that attribute alone. */
static bool add_num_or_null(cJSON *o, const char *key, bool set, double v)
{
	return set ? cJSON_AddNumberToObject(o, key, v) != NULL
		   : cJSON_AddNullToObject(o, key) != NULL;
}

/* Its on/off strings are omitted when not set (omitempty). */
static bool add_on_off(cJSON *o, const char *key, bool set, int v)
{
	return !set || cJSON_AddStringToObject(o, key, v > 0 ? "on" : "off");
}

static const char *const link_state_names[] = { "auto", "enable", "disable" };

/* sriov-cni pkg/types NetConf as its CmdAdd saves it, so that its CmdDel (LoadConfFromCache,
 * ResetVFConfig, ReleaseVF) restores the VF after a rollback. NULL out of memory. */
static cJSON *cni_layout_to_json(const struct sriov_state *st)
{
	cJSON *o = cJSON_CreateObject(), *ipam = NULL;
	unsigned m = st->pf_mask;
	char mac[18] = "";
	bool ok;

	if (st->has_mac)
		sriov_mac_format(st->mac, mac);
	ok =
	    o && cni_json_add_opt_string(o, "cniVersion", st->cni_version) == 0 &&
	    cni_json_add_opt_string(o, "name", st->network) == 0 &&
	    cJSON_AddStringToObject(o, "type", "sriov") &&
	    (ipam = cJSON_AddObjectToObject(o, "ipam")) != NULL &&
	    cni_json_add_opt_string(ipam, "type", st->ipam_type) == 0 &&
	    cni_json_add_opt_string(o, "deviceID", st->device_id) == 0 &&
	    cJSON_AddStringToObject(o, "Master", st->pf_name ? st->pf_name : "") &&
	    cJSON_AddNumberToObject(o, "VFID", st->vf_index) &&
	    cJSON_AddStringToObject(o, "MAC", mac) &&
	    cJSON_AddNumberToObject(o, "MTU", st->dpdk ? 0 : st->host.mtu) &&
	    add_num_or_null(o, "vlan", m & SRIOV_VF_VLAN, st->want.vlan) &&
	    add_num_or_null(o, "vlanQoS", m & SRIOV_VF_VLAN, st->want.qos) &&
	    ((m & SRIOV_VF_VLAN)
		 ? cJSON_AddStringToObject(
		       o, "vlanProto",
		       st->want.proto == SRIOV_VLAN_PROTO_8021AD ? "802.1ad" : "802.1q") != NULL
		 : cJSON_AddNullToObject(o, "vlanProto") != NULL) &&
	    add_num_or_null(o, "min_tx_rate", m & SRIOV_VF_RATE, st->want.min_rate) &&
	    add_num_or_null(o, "max_tx_rate", m & SRIOV_VF_RATE, st->want.max_rate) &&
	    add_on_off(o, "spoofchk", m & SRIOV_VF_SPOOFCHK, st->want.spoofchk) &&
	    add_on_off(o, "trust", m & SRIOV_VF_TRUST, st->want.trust) &&
	    (!(m & SRIOV_VF_LINK_STATE) ||
	     cJSON_AddStringToObject(o, "link_state", link_state_names[st->want.link_state % 3])) &&
	    cJSON_AddObjectToObject(o, "runtimeConfig") &&
	    cJSON_AddItemToObject(o, "OrigVfState", orig_to_cni_json(st));
	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

char *sriov_state_to_json(const struct sriov_state *st)
{
	cJSON *o = cni_layout_to_json(st);
	char *s = NULL;

	if (o && cJSON_AddItemToObject(o, SRIOV_STATE_OWN_KEY, plexus_to_json(st)))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Field readers that turn any mismatch into one "not a state" error. */
struct reader {
	const cJSON *o;
	bool bad;
	const char *what;
};

static char *rd_str(struct reader *r, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->o, key);
	char *s;

	if (!v && !required)
		return NULL;
	if (!v || !cJSON_IsString(v) || !(s = strdup(v->valuestring))) {
		r->bad = true;
		r->what = r->what ? r->what : key;
		return NULL;
	}
	return s;
}

static double rd_num(struct reader *r, const char *key, double min, double max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max) {
		r->bad = true;
		r->what = r->what ? r->what : key;
		return 0;
	}
	return v->valuedouble;
}

static bool rd_bool(struct reader *r, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->o, key);

	if (v && !cJSON_IsBool(v)) {
		r->bad = true;
		r->what = r->what ? r->what : key;
	}
	return cJSON_IsTrue(v);
}

static void rd_mac(struct reader *r, const char *key, unsigned char mac[6])
{
	char *s = rd_str(r, key, true);

	if (s && sriov_mac_parse(s, mac) < 0) {
		r->bad = true;
		r->what = r->what ? r->what : key;
	}
	free(s);
}

static void rd_vf(struct reader *parent, const char *key, struct sriov_vf_state *v)
{
	struct reader r = { .o = cJSON_GetObjectItemCaseSensitive(parent->o, key) };

	if (!cJSON_IsObject(r.o)) {
		parent->bad = true;
		parent->what = parent->what ? parent->what : key;
		return;
	}
	rd_mac(&r, "mac", v->mac);
	v->vlan = (unsigned)rd_num(&r, "vlan", 0, 4095);
	v->qos = (unsigned)rd_num(&r, "qos", 0, 7);
	v->proto = (uint16_t)rd_num(&r, "proto", 0, 65535);
	v->spoofchk = (int)rd_num(&r, "spoofchk", -1, 1);
	v->trust = (int)rd_num(&r, "trust", -1, 1);
	v->link_state = (unsigned)rd_num(&r, "linkState", 0, 2);
	v->min_rate = (uint32_t)rd_num(&r, "minTxRate", 0, UINT32_MAX);
	v->max_rate = (uint32_t)rd_num(&r, "maxTxRate", 0, UINT32_MAX);
	if (r.bad) {
		parent->bad = true;
		parent->what = parent->what ? parent->what : r.what;
	}
}

static void rd_attrs(struct reader *r, unsigned *mask)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(r->o, "pfAttrs"), *e;

	*mask = 0;
	if (!cJSON_IsArray(a)) {
		r->bad = true;
		r->what = r->what ? r->what : "pfAttrs";
		return;
	}
	cJSON_ArrayForEach(e, a)
	{
		bool known = false;

		for (size_t i = 0;
		     cJSON_IsString(e) && i < sizeof(attr_names) / sizeof(*attr_names); i++)
			if (strcmp(e->valuestring, attr_names[i].name) == 0) {
				*mask |= attr_names[i].bit;
				known = true;
			}
		if (!known) {
			r->bad = true;
			r->what = r->what ? r->what : "pfAttrs";
		}
	}
}

static void rd_host(struct reader *r, struct sriov_link *h)
{
	char *name = rd_str(r, "hostIfname", true);
	size_t n = name ? strlen(name) : 0;

	if (name && (n == 0 || n >= sizeof(h->name))) {
		r->bad = true;
		r->what = r->what ? r->what : "hostIfname";
	} else if (name) {
		memcpy(h->name, name, n + 1);
	}
	free(name);
	rd_mac(r, "hostMac", h->mac);
	h->mtu = (unsigned)rd_num(r, "hostMtu", 0, 1 << 20);
	h->up = rd_bool(r, "hostUp");
}

/* Number or null/absent (false); anything else out of range marks the reader bad. */
static bool rd_num_opt(struct reader *r, const char *key, double min, double max, double *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(r->o, key);

	*v = 0;
	if (!it || cJSON_IsNull(it))
		return false;
	*v = rd_num(r, key, min, max);
	return !r->bad;
}

/* An optional MAC string; "" or absent leaves mac zero (not known). */
static bool rd_mac_opt(struct reader *r, const char *key, unsigned char mac[6])
{
	char *s = rd_str(r, key, false);
	bool set = s && *s;

	if (set && sriov_mac_parse(s, mac) < 0) {
		r->bad = true;
		r->what = r->what ? r->what : key;
	}
	free(s);
	return set && !r->bad;
}

/* An optional string; absent and "" are both NULL. */
static char *rd_str_set(struct reader *r, const char *key)
{
	char *s = rd_str(r, key, false);

	if (s && !*s) {
		free(s);
		return NULL;
	}
	return s;
}

static void rd_plexus(struct reader *r, struct sriov_state *st)
{
	char *mac;

	st->container_id = rd_str(r, "containerID", true);
	st->ifname = rd_str(r, "ifname", true);
	st->netns = rd_str(r, "netns", false);
	st->network = rd_str(r, "network", true);
	st->device_id = rd_str(r, "deviceID", true);
	st->pf_name = rd_str(r, "pfName", true);
	st->vf_index = (unsigned)rd_num(r, "vfIndex", 0, 65535);
	st->dpdk = rd_bool(r, "dpdkMode");
	if (!st->dpdk)
		rd_host(r, &st->host);
	rd_vf(r, "orig", &st->orig);
	rd_vf(r, "want", &st->want);
	rd_attrs(r, &st->pf_mask);
	mac = rd_str(r, "mac", false);
	if (mac && sriov_mac_parse(mac, st->mac) == 0)
		st->has_mac = true;
	else if (mac)
		r->bad = true;
	free(mac);
	st->device_info_file = rd_str(r, "deviceInfoFile", false);
	st->device_info_created = rd_bool(r, "deviceInfoCreated");
	st->del_failed = rd_bool(r, "delFailed");
}

/* sriov-cni pkg/types VfState into the host link and the PF side before ADD. DPDKMode is not
 * saved (json "-"): a VF that had no netdev (HostIFName "") was in DPDK mode. sriov-cni leaves
 * the netdev down on DEL, so up is false; an EffectiveMAC it did not record stays zero. */
static void rd_cni_orig(struct reader *parent, struct sriov_state *st)
{
	struct reader r = { .o = cJSON_GetObjectItemCaseSensitive(parent->o, "OrigVfState") };
	char *name = rd_str_set(&r, "HostIFName");
	double v;

	st->dpdk = !name;
	if (name && strlen(name) < sizeof(st->host.name))
		memcpy(st->host.name, name, strlen(name) + 1);
	else if (name)
		r.bad = true, r.what = "HostIFName";
	free(name);
	rd_mac_opt(&r, "EffectiveMAC", st->host.mac);
	st->host.mtu = rd_num_opt(&r, "MTU", 0, 1 << 20, &v) ? (unsigned)v : 0;
	rd_mac_opt(&r, "AdminMAC", st->orig.mac);
	st->orig.vlan = (unsigned)rd_num(&r, "Vlan", 0, 4095);
	st->orig.qos = (unsigned)rd_num(&r, "VlanQoS", 0, 7);
	st->orig.proto = (uint16_t)rd_num(&r, "VlanProto", 0, 65535);
	if (!st->orig.proto) /* as its ResetVFConfig reads it */
		st->orig.proto = SRIOV_VLAN_PROTO_8021Q;
	st->orig.spoofchk = rd_bool(&r, "SpoofChk");
	st->orig.trust = rd_bool(&r, "Trust");
	st->orig.link_state = (unsigned)rd_num(&r, "LinkState", 0, 2);
	st->orig.min_rate = (uint32_t)rd_num(&r, "MinTxRate", 0, UINT32_MAX);
	st->orig.max_rate = (uint32_t)rd_num(&r, "MaxTxRate", 0, UINT32_MAX);
	if (!cJSON_IsObject(r.o) || r.bad) {
		parent->bad = true;
		parent->what = parent->what ? parent->what : (r.what ? r.what : "OrigVfState");
	}
}

/* "on" enables, any other non-empty string disables (sriov-cni ApplyVFConfig); "" is unset. */
static bool rd_on_off(struct reader *r, const char *key, int *v)
{
	char *s = rd_str_set(r, key);

	*v = s && strcmp(s, "on") == 0;
	free(s);
	return s != NULL;
}

/* What sriov-cni's netconf asked for: the attributes its DEL resets (ResetVFConfig). */
static void rd_cni_want(struct reader *r, struct sriov_state *st)
{
	struct sriov_vf_state *w = &st->want;
	double v, max;
	bool min_set, max_set;
	char *s;

	*w = st->orig;
	if (rd_num_opt(r, "vlan", 0, 4095, &v)) {
		st->pf_mask |= SRIOV_VF_VLAN;
		w->vlan = (unsigned)v;
		w->qos = rd_num_opt(r, "vlanQoS", 0, 7, &v) ? (unsigned)v : 0;
		s = rd_str_set(r, "vlanProto");
		w->proto = s && strcasecmp(s, "802.1ad") == 0 ? SRIOV_VLAN_PROTO_8021AD
							      : SRIOV_VLAN_PROTO_8021Q;
		free(s);
	}
	if (rd_mac_opt(r, "MAC", st->mac)) {
		st->has_mac = true;
		st->pf_mask |= SRIOV_VF_MAC;
		memcpy(w->mac, st->mac, 6);
	}
	min_set = rd_num_opt(r, "min_tx_rate", 0, UINT32_MAX, &v);
	max_set = rd_num_opt(r, "max_tx_rate", 0, UINT32_MAX, &max);
	if (min_set || max_set) {
		st->pf_mask |= SRIOV_VF_RATE;
		w->min_rate = (uint32_t)v;
		w->max_rate = (uint32_t)max;
	}
	if (rd_on_off(r, "spoofchk", &w->spoofchk))
		st->pf_mask |= SRIOV_VF_SPOOFCHK;
	if (rd_on_off(r, "trust", &w->trust))
		st->pf_mask |= SRIOV_VF_TRUST;
	s = rd_str_set(r, "link_state");
	for (unsigned i = 0; s && i < sizeof(link_state_names) / sizeof(*link_state_names); i++)
		if (strcmp(s, link_state_names[i]) == 0) {
			st->pf_mask |= SRIOV_VF_LINK_STATE;
			w->link_state = i;
		}
	free(s);
}

/* A file sriov-cni wrote: its NetConf names no attachment (DEL gives it the request's). */
static void rd_sriov_cni(struct reader *r, struct sriov_state *st)
{
	st->network = rd_str(r, "name", false);
	st->device_id = rd_str(r, "deviceID", true);
	st->pf_name = rd_str_set(r, "Master");
	if (!st->pf_name)
		r->bad = true, r->what = r->what ? r->what : "Master";
	st->vf_index = (unsigned)rd_num(r, "VFID", 0, 65535);
	rd_cni_orig(r, st);
	rd_cni_want(r, st);
}

int sriov_state_from_json(const char *text, struct sriov_state *st, struct cni_err *err)
{
	cJSON *o = cJSON_Parse(text);
	const cJSON *own = cJSON_GetObjectItemCaseSensitive(o, SRIOV_STATE_OWN_KEY);
	struct reader r = { .o = o }, top = { .o = o };
	struct reader ipam = { .o = cJSON_GetObjectItemCaseSensitive(o, "ipam") };

	memset(st, 0, sizeof(*st));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return cni_err_set(err, CNI_ERR_DECODE, "sriov state: not a JSON object");
	}
	if (cJSON_IsObject(own)) {
		r.o = own;
		rd_plexus(&r, st);
	} else if (cJSON_GetObjectItemCaseSensitive(o, "OrigVfState")) {
		rd_sriov_cni(&r, st);
	} else {
		rd_plexus(&r, st); /* the layout of earlier releases */
	}
	st->cni_version = rd_str_set(&top, "cniVersion");
	if (cJSON_IsObject(ipam.o))
		st->ipam_type = rd_str_set(&ipam, "type");
	cJSON_Delete(o);
	if (!r.bad && !top.bad && !ipam.bad && st->device_id && sriov_pci_addr_valid(st->device_id))
		return 0;
	cni_err_set(err, CNI_ERR_DECODE, "sriov state: bad or missing \"%s\"",
		    r.what ? r.what : (top.what ? top.what : (ipam.what ? ipam.what : "deviceID")));
	sriov_state_free(st);
	return -1;
}

int sriov_state_adopt(struct sriov_state *st, const char *container_id, const char *ifname,
		      const char *netns, struct cni_err *err)
{
	if ((!st->container_id && container_id && !(st->container_id = strdup(container_id))) ||
	    (!st->ifname && ifname && !(st->ifname = strdup(ifname))) ||
	    (!st->netns && netns && *netns && !(st->netns = strdup(netns))))
		return cni_err_oom(err);
	return 0;
}

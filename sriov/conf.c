/* sriov/conf.c: parse and validate the sriov netconf, CNI_ARGS and runtimeConfig.
 * Follows sriov-cni LoadConf and its texts; stricter where upstream accepts nonsense (issue 5). */
#include "sriov/conf.h"

#include <ctype.h>
#include <errno.h>
#include <linux/if_link.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sriov/pci.h"

#define LOAD_ERR "SRIOV-CNI failed to load netconf: "

/* Go's encoding/json prefers an exact key and falls back to a case-insensitive one, so
 * configs written for sriov-cni with "MAC" or "VLAN" keep working. */
static const cJSON *get_key(const cJSON *obj, const char *key)
{
	const cJSON *v;

	if (!cJSON_IsObject(obj))
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		v = cJSON_GetObjectItem(obj, key);
	return cJSON_IsNull(v) ? NULL : v;
}

/* Outside text for a message as Go's %q writes it (quoted; control bytes, quotes and backslashes
 * escaped), so a hostile value cannot forge log lines or break the error's JSON consumers. bare
 * drops the quotes, for sriov-cni's texts that print the value as it is. NULL when out of memory. */
static char *quote(const char *value, bool bare)
{
	char *q = cni_quote(value, 0);
	size_t n;

	if (!q || !bare)
		return q;
	n = strlen(q);
	memmove(q, q + 1, n - 2);
	q[n - 2] = '\0';
	return q;
}

/* Code 7: LOAD_ERR "<what> <value> invalid: <why>", the value quoted (or bare). */
static int bad_value(struct cni_err *err, const char *what, const char *value, const char *why,
		     bool bare)
{
	char *q = quote(value, bare);

	if (!q)
		return cni_err_oom(err);
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, LOAD_ERR "%s %s invalid: %s", what, q, why);
	free(q);
	return -1;
}

static int bad_type(const char *key, const char *want, struct cni_err *err)
{
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, LOAD_ERR "\"%s\" must be %s", key, want);
	return -1;
}

/* Absent -> 0 with *out untouched; present string -> 1. */
static int get_str(const cJSON *obj, const char *key, const char **out, struct cni_err *err)
{
	const cJSON *v = get_key(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return bad_type(key, "a string", err);
	*out = v->valuestring;
	return 1;
}

/* A JSON integer in [min, max]; Go would refuse 1.5 or "1" for an int field. */
static int get_int(const cJSON *obj, const char *key, double min, double max, long long *out,
		   struct cni_err *err)
{
	const cJSON *v = get_key(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble)
		return bad_type(key, "an integer", err);
	if (v->valuedouble < min || v->valuedouble > max)
		return 2; /* caller words the range error */
	*out = (long long)v->valuedouble;
	return 1;
}

static int dup_into(char **dst, const char *s, struct cni_err *err)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? 0 : cni_err_oom(err);
}

int sriov_mac_parse(const char *s, unsigned char mac[6])
{
	for (int i = 0; i < 6; i++) {
		const char *p = s + i * 3;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -1;
		if (p[2] != (i == 5 ? '\0' : ':'))
			return -1;
		mac[i] = (unsigned char)strtoul((char[]){ p[0], p[1], '\0' }, NULL, 16);
	}
	return 0;
}

void sriov_mac_format(const unsigned char mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* A VF can only carry a unicast, non-zero address: drivers refuse the rest, after changes. */
static int check_mac(const char *what, const char *s, unsigned char mac[6], struct cni_err *err)
{
	static const unsigned char zero[6];

	if (sriov_mac_parse(s, mac) < 0)
		return bad_value(err, what, s,
				 "must be six colon-separated hex octets like 02:00:00:00:00:01",
				 false);
	if ((mac[0] & 1) || memcmp(mac, zero, 6) == 0)
		return bad_value(err, what, s, "must be a unicast address", false);
	return 0;
}

static int parse_vlan(const cJSON *conf, struct sriov_conf *c, struct cni_err *err)
{
	const char *proto = NULL;
	long long v = 0;
	int r;
	bool has_qos;

	r = get_int(conf, "vlan", -1e18, 1e18, &v, err);
	if (r < 0)
		return -1;
	if (r == 1 && (v < 0 || v > 4094))
		return cni_err_set(
		    err, CNI_ERR_INVALID_CONFIG,
		    LOAD_ERR "vlan id %lld invalid: value must be in the range 0-4094", v);
	if (r == 2)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "vlan id %.0f invalid: value must be in the range 0-4094",
				   get_key(conf, "vlan")->valuedouble);
	c->has_vlan = r == 1;
	c->vlan = (unsigned)v;

	v = 0;
	r = get_int(conf, "vlanQoS", -1e18, 1e18, &v, err);
	if (r < 0)
		return -1;
	has_qos = r != 0;
	if (has_qos && !c->has_vlan)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "vlan id must be configured to set vlan QoS to a non-nil "
				   "value");
	if (r == 2 || (r == 1 && (v < 0 || v > 7)))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "vlan QoS PCP %.0f invalid: value must be in the range 0-7",
				   get_key(conf, "vlanQoS")->valuedouble);
	if (v != 0 && c->vlan == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "non-zero vlan id must be configured to set vlan QoS to a "
				   "non-zero value");
	c->vlan_qos = (unsigned)v;

	c->vlan_proto = SRIOV_VLAN_PROTO_8021Q;
	r = get_str(conf, "vlanProto", &proto, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	if (!c->has_vlan)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "vlan id must be configured to set vlan proto to a non-nil "
				   "value");
	if (strcasecmp(proto, "802.1q") == 0)
		return 0;
	if (strcasecmp(proto, "802.1ad") != 0)
		return bad_value(err, "vlan Proto", proto, "value must be '802.1Q' or '802.1ad'",
				 true);
	if (c->vlan == 0)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR "non-zero vlan id must be configured to set vlan proto "
					    "802.1ad");
	c->vlan_proto = SRIOV_VLAN_PROTO_8021AD;
	return 0;
}

/* Upstream reads any non-"on" string as off; "yes" silently disabling spoof checking is a
 * security surprise, so only "on" and "off" pass (an empty string still means "not set"). */
static int parse_onoff(const cJSON *conf, const char *key, int *out, struct cni_err *err)
{
	const char *s = NULL;
	int r = get_str(conf, key, &s, err);

	*out = -1;
	if (r <= 0 || !*s)
		return r < 0 ? -1 : 0;
	if (strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0)
		*out = 0;
	else
		return bad_value(err, key, s, "value must be \"on\" or \"off\"", false);
	return 0;
}

static int parse_link_state(const cJSON *conf, struct sriov_conf *c, struct cni_err *err)
{
	const char *s = NULL;
	int r = get_str(conf, "link_state", &s, err);
	char *q;

	c->link_state = -1;
	if (r <= 0 || !*s)
		return r < 0 ? -1 : 0;
	if (strcmp(s, "auto") == 0)
		c->link_state = IFLA_VF_LINK_STATE_AUTO;
	else if (strcmp(s, "enable") == 0)
		c->link_state = IFLA_VF_LINK_STATE_ENABLE;
	else if (strcmp(s, "disable") == 0)
		c->link_state = IFLA_VF_LINK_STATE_DISABLE;
	else if (!(q = quote(s, true)))
		return cni_err_oom(err);
	else {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, LOAD_ERR "invalid link_state value: %s",
			    q);
		free(q);
		return -1;
	}
	return 0;
}

static int parse_rate(const cJSON *conf, const char *key, bool *has, uint32_t *out,
		      struct cni_err *err)
{
	long long v = 0;
	int r = get_int(conf, key, -1e18, 1e18, &v, err);

	if (r < 0)
		return -1;
	if (r == 2 || (r == 1 && (v < 0 || v > UINT32_MAX)))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "%s %.0f invalid: value must be in the range 0-%u (Mbps)",
				   key, get_key(conf, key)->valuedouble, UINT32_MAX);
	*has = *has || r == 1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_rates(const cJSON *conf, struct sriov_conf *c, struct cni_err *err)
{
	if (parse_rate(conf, "min_tx_rate", &c->has_rate, &c->min_tx_rate, err) < 0 ||
	    parse_rate(conf, "max_tx_rate", &c->has_rate, &c->max_tx_rate, err) < 0)
		return -1;
	/* ip-link(8): the minimum must not exceed the maximum; 0 means "no limit". */
	if (c->max_tx_rate && c->min_tx_rate > c->max_tx_rate)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR
				   "min_tx_rate %u invalid: must not exceed max_tx_rate %u",
				   c->min_tx_rate, c->max_tx_rate);
	return 0;
}

/* netconf mac < CNI_ARGS MAC < runtimeConfig.mac, as sriov-cni and the tuning plugin do. */
static int parse_mac(const cJSON *conf, const cJSON *rc, const struct cni_args *args,
		     struct sriov_conf *c, struct cni_err *err)
{
	const char *s = NULL, *arg = args ? cni_args_get(args, "MAC") : NULL;
	int r;

	r = get_str(conf, "mac", &s, err);
	if (r < 0)
		return -1;
	if (r && *s) {
		if (check_mac("mac", s, c->mac, err) < 0)
			return -1;
		c->has_mac = true;
	}
	if (arg && *arg) {
		if (check_mac("CNI_ARGS MAC", arg, c->mac, err) < 0)
			return -1;
		c->has_mac = true;
	}
	s = NULL;
	if (get_str(rc, "mac", &s, err) < 0)
		return cni_err_prefix(err, "runtimeConfig");
	if (s && *s) {
		if (check_mac("runtimeConfig.mac", s, c->mac, err) < 0)
			return -1;
		c->has_mac = true;
	}
	return 0;
}

/* runtimeConfig.deviceID is the runtime's allocation, so it wins over the top-level key. */
static int parse_device_id(const cJSON *conf, const cJSON *rc, struct sriov_conf *c,
			   struct cni_err *err)
{
	const char *s = NULL, *from = "deviceID";

	if (get_str(conf, "deviceID", &s, err) < 0)
		return -1;
	if (get_str(rc, "deviceID", &s, err) < 0)
		return cni_err_prefix(err, "runtimeConfig");
	if (s && get_key(rc, "deviceID"))
		from = "runtimeConfig.deviceID";
	if (!s || !*s)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   LOAD_ERR "LoadConf(): VF pci addr is required");
	if (!sriov_pci_addr_valid(s))
		return bad_value(err, from, s, "not a PCI address of the form 0000:03:02.3", false);
	if (dup_into(&c->device_id, s, err) < 0)
		return -1;
	for (char *p = c->device_id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

static int parse_common(const cJSON *conf, const char *sysfs_root_env, struct sriov_conf *c,
			struct cni_err *err)
{
	const cJSON *ipam = get_key(conf, "ipam"), *rc = get_key(conf, "runtimeConfig");
	const char *s;

	if (ipam && !cJSON_IsObject(ipam))
		return bad_type("ipam", "an object", err);
	if (rc && !cJSON_IsObject(rc))
		return bad_type("runtimeConfig", "an object", err);
	s = NULL;
	if (get_str(ipam, "type", &s, err) < 0)
		return cni_err_prefix(err, "ipam");
	if (s && *s && dup_into(&c->ipam_type, s, err) < 0)
		return -1;
	s = SRIOV_STATE_DIR_DEFAULT;
	if (get_str(conf, "cniDir", &s, err) < 0)
		return -1;
	if (!*s || *s != '/')
		return bad_value(err, "cniDir", s, "must be an absolute path", false);
	if (dup_into(&c->state_dir, s, err) < 0)
		return -1;
	s = sysfs_root_env && *sysfs_root_env ? sysfs_root_env : SRIOV_SYSFS_ROOT_DEFAULT;
	if (dup_into(&c->sysfs_root, s, err) < 0)
		return -1;
	s = NULL;
	if (get_str(conf, "logLevel", &s, err) < 0 || (s && dup_into(&c->log_level, s, err) < 0))
		return -1;
	s = NULL;
	if (get_str(conf, "logFile", &s, err) < 0 ||
	    (s && *s && dup_into(&c->log_file, s, err) < 0))
		return -1;
	s = NULL;
	if (get_str(rc, "CNIDeviceInfoFile", &s, err) < 0)
		return cni_err_prefix(err, "runtimeConfig");
	if (s && *s && *s != '/')
		return bad_value(err, "runtimeConfig.CNIDeviceInfoFile", s,
				 "must be an absolute path", false);
	if (s && *s && dup_into(&c->device_info_file, s, err) < 0)
		return -1;
	return 0;
}

static void conf_init(struct sriov_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->spoofchk = c->trust = c->link_state = -1;
	c->vlan_proto = SRIOV_VLAN_PROTO_8021Q;
}

int sriov_conf_parse(const cJSON *conf, const struct cni_args *args, const char *sysfs_root_env,
		     struct sriov_conf *c, struct cni_err *err)
{
	static const char *const known_args[] = { "MAC", NULL };
	const cJSON *rc = get_key(conf, "runtimeConfig");

	conf_init(c);
	if (args && cni_args_check_known(args, known_args, err) < 0) {
		cni_err_prefix(err, "SRIOV-CNI failed to parse args");
		goto fail;
	}
	if (parse_common(conf, sysfs_root_env, c, err) < 0 ||
	    parse_device_id(conf, rc, c, err) < 0 || parse_vlan(conf, c, err) < 0 ||
	    parse_mac(conf, rc, args, c, err) < 0 ||
	    parse_onoff(conf, "spoofchk", &c->spoofchk, err) < 0 ||
	    parse_onoff(conf, "trust", &c->trust, err) < 0 || parse_link_state(conf, c, err) < 0 ||
	    parse_rates(conf, c, err) < 0)
		goto fail;
	return 0;
fail:
	sriov_conf_free(c);
	return -1;
}

int sriov_conf_parse_lenient(const cJSON *conf, const char *sysfs_root_env, struct sriov_conf *c,
			     struct cni_err *err)
{
	conf_init(c);
	if (parse_common(conf, sysfs_root_env, c, err) < 0) {
		sriov_conf_free(c);
		return -1;
	}
	return 0;
}

void sriov_conf_free(struct sriov_conf *c)
{
	free(c->device_id);
	free(c->ipam_type);
	free(c->log_level);
	free(c->log_file);
	free(c->state_dir);
	free(c->sysfs_root);
	free(c->device_info_file);
	conf_init(c);
}

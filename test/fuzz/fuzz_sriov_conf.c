/* test/fuzz/fuzz_sriov_conf.c: libFuzzer harness: the sriov netconf (sriov_conf_parse, strict and
 * lenient) on fuzzed stdin, with the CNI_ARGS a kubelet-driven call has, once without and once
 * with a MAC in them.
 * Invariants: what parses is what bin/sriov may act on: a lowercase valid PCI address, VLAN
 * 0-4094 with QoS 0-7 (non-zero only with a non-zero VLAN), 802.1ad only with a non-zero VLAN,
 * a unicast non-zero MAC that prints and parses back, on/off/unset flags, a known link state,
 * min rate not above a non-zero max, absolute state and device-info paths; the lenient parser
 * accepts whatever the strict one does, with the same common fields; a CNI_ARGS MAC changes the
 * MAC only (runtimeConfig.mac still wins) and nothing else; a failure frees everything. */
#include <ctype.h>
#include <linux/if_link.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/json.h"
#include "cni/spec.h"
#include "sriov/conf.h"
#include "sriov/pci.h"

#define ARGS                                                                                       \
	"IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=pod-1;"                             \
	"K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=uid-1"
#define ARGS_MAC ARGS ";MAC=02:00:00:aa:bb:cc"
#define SYSFS	 "/tmp/pxfuzz-no-sysfs"

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check(const struct sriov_conf *c)
{
	unsigned char back[6];
	char buf[18];

	if (!c->device_id || !sriov_pci_addr_valid(c->device_id))
		abort();
	for (const char *p = c->device_id; *p; p++)
		if (isupper((unsigned char)*p))
			abort();
	if (c->has_vlan ? c->vlan > 4094 : (c->vlan || c->vlan_qos))
		abort();
	if (c->vlan_qos > 7 || (c->vlan_qos && !c->vlan))
		abort();
	if (c->vlan_proto != SRIOV_VLAN_PROTO_8021Q &&
	    (c->vlan_proto != SRIOV_VLAN_PROTO_8021AD || !c->vlan))
		abort();
	if (c->has_mac) {
		static const unsigned char zero[6];

		if ((c->mac[0] & 1) || memcmp(c->mac, zero, 6) == 0)
			abort();
		sriov_mac_format(c->mac, buf);
		if (sriov_mac_parse(buf, back) < 0 || memcmp(back, c->mac, 6))
			abort();
	}
	if (c->spoofchk < -1 || c->spoofchk > 1 || c->trust < -1 || c->trust > 1)
		abort();
	if (c->link_state != -1 && c->link_state != IFLA_VF_LINK_STATE_AUTO &&
	    c->link_state != IFLA_VF_LINK_STATE_ENABLE &&
	    c->link_state != IFLA_VF_LINK_STATE_DISABLE)
		abort();
	if (!c->has_rate && (c->min_tx_rate || c->max_tx_rate))
		abort();
	if (c->max_tx_rate && c->min_tx_rate > c->max_tx_rate)
		abort();
	if (!c->state_dir || c->state_dir[0] != '/' || !same(c->sysfs_root, SYSFS))
		abort();
	if (c->device_info_file && c->device_info_file[0] != '/')
		abort();
	if (c->ipam_type && !c->ipam_type[0])
		abort();
}

static void check_freed(const struct sriov_conf *c)
{
	if (c->device_id || c->ipam_type || c->log_level || c->log_file || c->state_dir ||
	    c->sysfs_root || c->device_info_file)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct cni_args args = { 0 }, args_mac = { 0 };
	struct sriov_conf c, m, l;
	cJSON *conf = cni_json_parse((const char *)data, size, "netconf", &err);
	int r, rm, rl;

	cni_err_clear(&err);
	if (!conf)
		return 0;
	if (cni_args_parse(ARGS, &args, &err) < 0 || cni_args_parse(ARGS_MAC, &args_mac, &err) < 0)
		abort();

	r = sriov_conf_parse(conf, &args, SYSFS, &c, &err);
	if (r == 0)
		check(&c);
	else if (!err.msg || err.code == 0)
		abort();
	else
		check_freed(&c);
	cni_err_clear(&err);

	rl = sriov_conf_parse_lenient(conf, SYSFS, &l, &err);
	if (rl == 0) {
		if (!l.state_dir || l.state_dir[0] != '/' || !same(l.sysfs_root, SYSFS))
			abort();
		if (r == 0 && (!same(c.state_dir, l.state_dir) || !same(c.ipam_type, l.ipam_type) ||
			       !same(c.log_level, l.log_level) || !same(c.log_file, l.log_file) ||
			       !same(c.device_info_file, l.device_info_file)))
			abort();
		sriov_conf_free(&l);
	} else {
		if (r == 0)
			abort(); /* DEL must be able to clean up whatever ADD accepted */
		check_freed(&l);
	}
	cni_err_clear(&err);

	rm = sriov_conf_parse(conf, &args_mac, SYSFS, &m, &err);
	if (rm == 0) {
		check(&m);
		if (r != 0 || !m.has_mac)
			abort(); /* a good CNI_ARGS MAC fails nothing that passed */
		if (strcmp(c.device_id, m.device_id) || c.vlan != m.vlan ||
		    c.has_vlan != m.has_vlan || c.vlan_qos != m.vlan_qos ||
		    c.vlan_proto != m.vlan_proto || c.spoofchk != m.spoofchk ||
		    c.trust != m.trust || c.link_state != m.link_state ||
		    c.min_tx_rate != m.min_tx_rate || c.max_tx_rate != m.max_tx_rate)
			abort(); /* ... and changes nothing but the MAC */
		if (!c.has_mac && memcmp(m.mac, "\x02\x00\x00\xaa\xbb\xcc", 6))
			abort(); /* the args MAC beats no MAC */
		sriov_conf_free(&m);
	} else if (r == 0) {
		abort();
	}
	cni_err_clear(&err);
	if (r == 0)
		sriov_conf_free(&c);
	cni_args_free(&args);
	cni_args_free(&args_mac);
	cJSON_Delete(conf);
	return 0;
}

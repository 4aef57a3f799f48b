/* sriov/conf.h: the sriov netconf: every sriov-cni key, validated before anything is touched.
 * Follows sriov-cni pkg/config LoadConf (keys, texts, MAC precedence), stricter per issue 5. */
#ifndef PLEXUS_SRIOV_CONF_H
#define PLEXUS_SRIOV_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/spec.h"

#define SRIOV_STATE_DIR_DEFAULT	 "/var/lib/cni/sriov"
#define SRIOV_SYSFS_ROOT_DEFAULT "/sys"
/* Environment variable that points the plugin at another sysfs tree (tests use a fake one). */
#define SRIOV_SYSFS_ROOT_ENV "PLEXUS_SYSFS_ROOT"

#define SRIOV_VLAN_PROTO_8021Q	0x8100
#define SRIOV_VLAN_PROTO_8021AD 0x88a8

/* One attachment's wishes. Tri-state ints are -1 when the key is absent (nothing is touched). */
struct sriov_conf {
	char *device_id; /* lowercase DDDD:BB:DD.F */
	bool has_vlan;
	unsigned vlan;
	unsigned vlan_qos;   /* 0 unless given; only with vlan */
	uint16_t vlan_proto; /* SRIOV_VLAN_PROTO_*; 802.1Q unless given */
	bool has_mac;
	unsigned char mac[6]; /* the winner of netconf < CNI_ARGS MAC < runtimeConfig.mac */
	int spoofchk;	      /* -1, 0 or 1 */
	int trust;	      /* -1, 0 or 1 */
	int link_state;	      /* -1 or IFLA_VF_LINK_STATE_AUTO/ENABLE/DISABLE */
	bool has_rate;	      /* min_tx_rate or max_tx_rate given (the other is 0) */
	uint32_t min_tx_rate, max_tx_rate;
	char *ipam_type; /* NULL: no IPAM */
	char *log_level, *log_file;
	char *state_dir;	/* cniDir, default SRIOV_STATE_DIR_DEFAULT */
	char *sysfs_root;	/* $PLEXUS_SYSFS_ROOT or /sys */
	char *device_info_file; /* runtimeConfig.CNIDeviceInfoFile, NULL when not asked */
};

/* Fills c from the stdin config and CNI_ARGS (sysfs_root_env: $PLEXUS_SYSFS_ROOT or NULL).
 * Every key is checked, every error is code 7 naming the key and the value, with sriov-cni's
 * text where it has one ("SRIOV-CNI failed to load netconf: LoadConf(): VF pci addr is
 * required"); an unknown CNI_ARGS key without IgnoreUnknown is code 4. Keys are matched as
 * Go's encoding/json matches them (exact first, then case-insensitively). Returns 0, or -1
 * with err set and c freed. */
CNI_MUST_CHECK int sriov_conf_parse(const cJSON *conf, const struct cni_args *args,
				    const char *sysfs_root_env, struct sriov_conf *c,
				    struct cni_err *err);

/* Only what DEL, GC and STATUS need (state dir, sysfs root, ipam type, logging), leniently:
 * a config ADD would refuse must not stop the cleanup of what an earlier ADD did. */
CNI_MUST_CHECK int sriov_conf_parse_lenient(const cJSON *conf, const char *sysfs_root_env,
					    struct sriov_conf *c, struct cni_err *err);

void sriov_conf_free(struct sriov_conf *c);

/* Parses exactly six colon-separated two-digit hex octets ("0a:1B:..."). Returns 0 or -1. */
CNI_MUST_CHECK int sriov_mac_parse(const char *s, unsigned char mac[6]);

/* Writes "aa:bb:cc:dd:ee:ff" (18 bytes with the NUL) into buf. */
void sriov_mac_format(const unsigned char mac[6], char buf[18]);

#endif

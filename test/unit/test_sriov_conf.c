/* test/unit/test_sriov_conf.c: sriov netconf validation, key by key, boundary by boundary.
 * Follows sriov-cni LoadConf texts and issue 5's stricter rules; errors must name the field. */
#include <linux/if_link.h>
#include <stdio.h>

#include "sriov/conf.h"
#include "unit.h"

#define BASE "\"cniVersion\":\"1.1.0\",\"name\":\"sriov-net\",\"type\":\"sriov\""
#define DEV  "\"deviceID\":\"0000:af:06.0\""
#define LOAD "SRIOV-CNI failed to load netconf: "

/* Parses json (with CNI_ARGS args, may be NULL); returns the rc and keeps err for the caller. */
static int parse(const char *json, const char *args, struct sriov_conf *c, struct cni_err *err)
{
	cJSON *o = cJSON_Parse(json);
	struct cni_args a = { 0 };
	int r;

	ck_assert_msg(o != NULL, "test input does not parse: %s", json);
	ck_assert_int_eq(cni_args_parse(args, &a, err), 0);
	r = sriov_conf_parse(o, &a, NULL, c, err);
	cni_args_free(&a);
	cJSON_Delete(o);
	return r;
}

/* Expects json to be refused with code and a message equal to msg. */
static void refused(const char *json, const char *args, unsigned code, const char *msg)
{
	struct sriov_conf c;
	struct cni_err err = { 0 };

	ck_assert_msg(parse(json, args, &c, &err) < 0, "accepted: %s", json);
	ck_assert_msg(err.code == code, "%s: code %u, want %u (%s)", json, err.code, code, err.msg);
	ck_assert_msg(strcmp(err.msg, msg) == 0, "%s\n  got:  %s\n  want: %s", json, err.msg, msg);
	cni_err_clear(&err);
}

static void accepted(const char *json, const char *args, struct sriov_conf *c)
{
	struct cni_err err = { 0 };

	ck_assert_msg(parse(json, args, c, &err) == 0, "%s refused: %s", json, err.msg);
}

START_TEST(device_id_is_required)
{
	refused("{" BASE "}", NULL, 7, LOAD "LoadConf(): VF pci addr is required");
	refused("{" BASE ",\"deviceID\":\"\"}", NULL, 7,
		LOAD "LoadConf(): VF pci addr is required");
	refused("{" BASE ",\"deviceID\":null}", NULL, 7,
		LOAD "LoadConf(): VF pci addr is required");
}
END_TEST

static const char *const bad_device_ids[] = {
	"0000:af:06",
	"af:06.0",
	"0000:af:20.0",
	"0000:af:06.8",
	"../0000:af:06.0",
	"0000:af:06.0/..",
	"0000:af:06.0 ",
	"0000:gf:06.0",
	"000:af:06.0",
	"123456789:af:06.0",
	"0000:af:06.0\\n",
	"0000:af::6.0",
	"..",
	"/sys/bus/pci/devices/0000:af:06.0",
};

START_TEST(device_id_must_be_a_pci_address)
{
	const char *id = bad_device_ids[_i];
	char json[256], msg[256];

	snprintf(json, sizeof(json), "{" BASE ",\"deviceID\":\"%s\"}", id);
	snprintf(msg, sizeof(msg),
		 LOAD "deviceID \"%s\" invalid: not a PCI address of the form 0000:03:02.3", id);
	/* The JSON escape "\\n" arrives as a backslash-n, which the message echoes. */
	refused(json, NULL, 7, msg);
}
END_TEST

START_TEST(device_id_accepts_sysfs_forms_and_lowercases)
{
	struct sriov_conf c;

	accepted("{" BASE ",\"deviceID\":\"0000:AF:1f.7\"}", NULL, &c);
	ck_assert_str_eq(c.device_id, "0000:af:1f.7");
	sriov_conf_free(&c);
	accepted("{" BASE ",\"deviceID\":\"10000:00:01.0\"}", NULL, &c);
	ck_assert_str_eq(c.device_id, "10000:00:01.0");
	sriov_conf_free(&c);
}
END_TEST

START_TEST(device_id_from_runtime_config_wins)
{
	struct sriov_conf c;

	accepted("{" BASE ",\"runtimeConfig\":{\"deviceID\":\"0000:af:06.1\"}}", NULL, &c);
	ck_assert_str_eq(c.device_id, "0000:af:06.1");
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"runtimeConfig\":{\"deviceID\":\"0000:af:06.2\"}}", NULL, &c);
	ck_assert_str_eq(c.device_id, "0000:af:06.2");
	sriov_conf_free(&c);
	refused("{" BASE "," DEV ",\"runtimeConfig\":{\"deviceID\":\"x\"}}", NULL, 7,
		LOAD "runtimeConfig.deviceID \"x\" invalid: not a PCI address of the form "
		     "0000:03:02.3");
}
END_TEST

START_TEST(defaults_touch_nothing)
{
	struct sriov_conf c;

	accepted("{" BASE "," DEV "}", NULL, &c);
	ck_assert(!c.has_vlan && !c.has_mac && !c.has_rate);
	ck_assert_int_eq(c.spoofchk, -1);
	ck_assert_int_eq(c.trust, -1);
	ck_assert_int_eq(c.link_state, -1);
	ck_assert_ptr_null(c.ipam_type);
	ck_assert_ptr_null(c.device_info_file);
	ck_assert_str_eq(c.state_dir, "/var/lib/cni/sriov");
	ck_assert_str_eq(c.sysfs_root, "/sys");
	sriov_conf_free(&c);
}
END_TEST

struct vlan_case {
	const char *keys;
	int ok;
	unsigned vlan, qos, proto;
	const char *msg;
};

static const struct vlan_case vlan_cases[] = {
	{ "\"vlan\":0", 1, 0, 0, 0x8100, NULL },
	{ "\"vlan\":4094", 1, 4094, 0, 0x8100, NULL },
	{ "\"vlan\":4095", 0, 0, 0, 0, "vlan id 4095 invalid: value must be in the range 0-4094" },
	{ "\"vlan\":-1", 0, 0, 0, 0, "vlan id -1 invalid: value must be in the range 0-4094" },
	{ "\"vlan\":1.5", 0, 0, 0, 0, "\"vlan\" must be an integer" },
	{ "\"vlan\":\"100\"", 0, 0, 0, 0, "\"vlan\" must be an integer" },
	{ "\"vlanQoS\":0", 0, 0, 0, 0,
	  "vlan id must be configured to set vlan QoS to a non-nil value" },
	{ "\"vlan\":5,\"vlanQoS\":7", 1, 5, 7, 0x8100, NULL },
	{ "\"vlan\":5,\"vlanQoS\":8", 0, 0, 0, 0,
	  "vlan QoS PCP 8 invalid: value must be in the range 0-7" },
	{ "\"vlan\":5,\"vlanQoS\":-1", 0, 0, 0, 0,
	  "vlan QoS PCP -1 invalid: value must be in the range 0-7" },
	{ "\"vlan\":0,\"vlanQoS\":1", 0, 0, 0, 0,
	  "non-zero vlan id must be configured to set vlan QoS to a non-zero value" },
	{ "\"vlan\":0,\"vlanQoS\":0", 1, 0, 0, 0x8100, NULL },
	{ "\"vlanProto\":\"802.1q\"", 0, 0, 0, 0,
	  "vlan id must be configured to set vlan proto to a non-nil value" },
	{ "\"vlan\":5,\"vlanProto\":\"802.1Q\"", 1, 5, 0, 0x8100, NULL },
	{ "\"vlan\":5,\"vlanProto\":\"802.1AD\"", 1, 5, 0, 0x88a8, NULL },
	{ "\"vlan\":0,\"vlanProto\":\"802.1ad\"", 0, 0, 0, 0,
	  "non-zero vlan id must be configured to set vlan proto 802.1ad" },
	{ "\"vlan\":0,\"vlanProto\":\"802.1q\"", 1, 0, 0, 0x8100, NULL },
	{ "\"vlan\":5,\"vlanProto\":\"qinq\"", 0, 0, 0, 0,
	  "vlan Proto qinq invalid: value must be '802.1Q' or '802.1ad'" },
	{ "\"VLAN\":7", 1, 7, 0, 0x8100, NULL }, /* Go's decoder is case-insensitive */
};

START_TEST(vlan_qos_proto_boundaries)
{
	const struct vlan_case *t = &vlan_cases[_i];
	char json[256], msg[256];
	struct sriov_conf c;

	snprintf(json, sizeof(json), "{" BASE "," DEV ",%s}", t->keys);
	if (!t->ok) {
		snprintf(msg, sizeof(msg), LOAD "%s", t->msg);
		refused(json, NULL, 7, msg);
		return;
	}
	accepted(json, NULL, &c);
	ck_assert(c.has_vlan);
	ck_assert_uint_eq(c.vlan, t->vlan);
	ck_assert_uint_eq(c.vlan_qos, t->qos);
	ck_assert_uint_eq(c.vlan_proto, t->proto);
	sriov_conf_free(&c);
}
END_TEST

START_TEST(link_state_values)
{
	static const struct {
		const char *v;
		int want;
	} ok[] = { { "auto", IFLA_VF_LINK_STATE_AUTO },
		   { "enable", IFLA_VF_LINK_STATE_ENABLE },
		   { "disable", IFLA_VF_LINK_STATE_DISABLE },
		   { "", -1 } };
	struct sriov_conf c;
	char json[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		snprintf(json, sizeof(json), "{" BASE "," DEV ",\"link_state\":\"%s\"}", ok[i].v);
		accepted(json, NULL, &c);
		ck_assert_int_eq(c.link_state, ok[i].want);
		sriov_conf_free(&c);
	}
	refused("{" BASE "," DEV ",\"link_state\":\"Auto\"}", NULL, 7,
		LOAD "invalid link_state value: Auto");
	refused("{" BASE "," DEV ",\"link_state\":\"up\"}", NULL, 7,
		LOAD "invalid link_state value: up");
	refused("{" BASE "," DEV ",\"link_state\":1}", NULL, 7,
		LOAD "\"link_state\" must be a string");
}
END_TEST

/* Outside values are echoed as Go's %q writes them: a tab or a newline by letter, a quote and a
 * backslash escaped, other control bytes as \xNN; the texts sriov-cni prints bare stay bare. */
static const struct {
	const char *json, *msg;
} escaped[] = {
	{ "{" BASE "," DEV ",\"spoofchk\":\"o\\tn\\\"\\\\\\u0001\\n\"}",
	  LOAD "spoofchk \"o\\tn\\\"\\\\\\x01\\n\" invalid: value must be \"on\" or \"off\"" },
	{ "{" BASE "," DEV ",\"link_state\":\"u\\tp\\r\"}",
	  LOAD "invalid link_state value: u\\tp\\r" },
	{ "{" BASE "," DEV ",\"vlan\":1,\"vlanProto\":\"q\\u007fq\"}",
	  LOAD "vlan Proto q\\x7fq invalid: value must be '802.1Q' or '802.1ad'" },
};

START_TEST(refused_values_are_escaped_as_go_quotes_them)
{
	refused(escaped[_i].json, NULL, 7, escaped[_i].msg);
}
END_TEST

START_TEST(spoofchk_and_trust_only_on_or_off)
{
	static const char *const keys[] = { "spoofchk", "trust" };
	struct sriov_conf c;
	char json[256], msg[256];

	for (int k = 0; k < 2; k++) {
		snprintf(json, sizeof(json), "{" BASE "," DEV ",\"%s\":\"on\"}", keys[k]);
		accepted(json, NULL, &c);
		ck_assert_int_eq(k ? c.trust : c.spoofchk, 1);
		sriov_conf_free(&c);
		snprintf(json, sizeof(json), "{" BASE "," DEV ",\"%s\":\"off\"}", keys[k]);
		accepted(json, NULL, &c);
		ck_assert_int_eq(k ? c.trust : c.spoofchk, 0);
		sriov_conf_free(&c);
		snprintf(json, sizeof(json), "{" BASE "," DEV ",\"%s\":\"\"}", keys[k]);
		accepted(json, NULL, &c);
		ck_assert_int_eq(k ? c.trust : c.spoofchk, -1);
		sriov_conf_free(&c);
		/* Upstream silently reads these as "off". */
		static const char *const nonsense[] = { "yes", "ON", "true", "1" };
		for (int n = 0; n < 4; n++) {
			snprintf(json, sizeof(json), "{" BASE "," DEV ",\"%s\":\"%s\"}", keys[k],
				 nonsense[n]);
			snprintf(msg, sizeof(msg),
				 LOAD "%s \"%s\" invalid: value must be \"on\" or \"off\"", keys[k],
				 nonsense[n]);
			refused(json, NULL, 7, msg);
		}
		snprintf(json, sizeof(json), "{" BASE "," DEV ",\"%s\":true}", keys[k]);
		snprintf(msg, sizeof(msg), LOAD "\"%s\" must be a string", keys[k]);
		refused(json, NULL, 7, msg);
	}
}
END_TEST

START_TEST(tx_rates)
{
	struct sriov_conf c;

	accepted("{" BASE "," DEV ",\"max_tx_rate\":100}", NULL, &c);
	ck_assert(c.has_rate);
	ck_assert_uint_eq(c.min_tx_rate, 0);
	ck_assert_uint_eq(c.max_tx_rate, 100);
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"min_tx_rate\":10,\"max_tx_rate\":0}", NULL, &c);
	ck_assert_uint_eq(c.min_tx_rate, 10);
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"min_tx_rate\":100,\"max_tx_rate\":100}", NULL, &c);
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"max_tx_rate\":4294967295}", NULL, &c);
	ck_assert_uint_eq(c.max_tx_rate, 4294967295u);
	sriov_conf_free(&c);
	refused("{" BASE "," DEV ",\"min_tx_rate\":101,\"max_tx_rate\":100}", NULL, 7,
		LOAD "min_tx_rate 101 invalid: must not exceed max_tx_rate 100");
	refused("{" BASE "," DEV ",\"min_tx_rate\":-1}", NULL, 7,
		LOAD "min_tx_rate -1 invalid: value must be in the range 0-4294967295 (Mbps)");
	refused("{" BASE "," DEV ",\"max_tx_rate\":4294967296}", NULL, 7,
		LOAD
		"max_tx_rate 4294967296 invalid: value must be in the range 0-4294967295 (Mbps)");
	refused("{" BASE "," DEV ",\"max_tx_rate\":\"100\"}", NULL, 7,
		LOAD "\"max_tx_rate\" must be an integer");
}
END_TEST

static const char *const bad_macs[] = {
	"CA-FE-C0-FF-EE-00", "cafe.c0ff.ee00",	  "ca:fe:c0:ff:ee",	"ca:fe:c0:ff:ee:00:11",
	"ca:fe:c0:ff:ee:0",  "ca:fe:c0:ff:ee:0g", "ca:fe:c0:ff:ee:00:", " ca:fe:c0:ff:ee:00",
};

START_TEST(mac_must_be_six_colon_octets)
{
	char json[256], msg[256];

	snprintf(json, sizeof(json), "{" BASE "," DEV ",\"mac\":\"%s\"}", bad_macs[_i]);
	snprintf(msg, sizeof(msg),
		 LOAD "mac \"%s\" invalid: must be six colon-separated hex octets like "
		      "02:00:00:00:00:01",
		 bad_macs[_i]);
	refused(json, NULL, 7, msg);
}
END_TEST

START_TEST(mac_must_be_unicast)
{
	refused("{" BASE "," DEV ",\"mac\":\"01:00:5e:00:00:01\"}", NULL, 7,
		LOAD "mac \"01:00:5e:00:00:01\" invalid: must be a unicast address");
	refused("{" BASE "," DEV ",\"mac\":\"00:00:00:00:00:00\"}", NULL, 7,
		LOAD "mac \"00:00:00:00:00:00\" invalid: must be a unicast address");
	refused("{" BASE "," DEV ",\"mac\":\"ff:ff:ff:ff:ff:ff\"}", NULL, 7,
		LOAD "mac \"ff:ff:ff:ff:ff:ff\" invalid: must be a unicast address");
}
END_TEST

static void expect_mac(const struct sriov_conf *c, const char *want)
{
	char got[18];

	ck_assert(c->has_mac);
	sriov_mac_format(c->mac, got);
	ck_assert_str_eq(got, want);
}

START_TEST(mac_precedence_netconf_args_runtime_config)
{
	struct sriov_conf c;

	accepted("{" BASE "," DEV ",\"mac\":\"02:00:00:00:00:01\"}", NULL, &c);
	expect_mac(&c, "02:00:00:00:00:01");
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"mac\":\"02:00:00:00:00:01\"}",
		 "IgnoreUnknown=1;MAC=02:00:00:00:00:02", &c);
	expect_mac(&c, "02:00:00:00:00:02");
	sriov_conf_free(&c);
	accepted("{" BASE "," DEV ",\"mac\":\"02:00:00:00:00:01\","
		 "\"runtimeConfig\":{\"mac\":\"02:00:00:00:00:03\"}}",
		 "MAC=02:00:00:00:00:02", &c);
	expect_mac(&c, "02:00:00:00:00:03");
	sriov_conf_free(&c);
	/* Upper case is accepted and normalised. */
	accepted("{" BASE "," DEV ",\"runtimeConfig\":{\"mac\":\"0A:BB:CC:DD:EE:FF\"}}", NULL, &c);
	expect_mac(&c, "0a:bb:cc:dd:ee:ff");
	sriov_conf_free(&c);
	/* The key is matched case-insensitively, as sriov-cni's decoder does. */
	accepted("{" BASE "," DEV ",\"MAC\":\"02:00:00:00:00:09\"}", NULL, &c);
	expect_mac(&c, "02:00:00:00:00:09");
	sriov_conf_free(&c);
}
END_TEST

START_TEST(mac_sources_are_each_validated)
{
	refused("{" BASE "," DEV "}", "MAC=02-00-00-00-00-02", 7,
		LOAD "CNI_ARGS MAC \"02-00-00-00-00-02\" invalid: must be six colon-separated hex "
		     "octets like 02:00:00:00:00:01");
	refused("{" BASE "," DEV ",\"runtimeConfig\":{\"mac\":\"x\"}}", NULL, 7,
		LOAD "runtimeConfig.mac \"x\" invalid: must be six colon-separated hex octets "
		     "like 02:00:00:00:00:01");
	refused("{" BASE "," DEV ",\"runtimeConfig\":{\"mac\":5}}", NULL, 7,
		"runtimeConfig: " LOAD "\"mac\" must be a string");
}
END_TEST

START_TEST(cni_args_unknown_keys_need_ignore_unknown)
{
	struct sriov_conf c;
	struct cni_err err = { 0 };

	ck_assert_int_eq(parse("{" BASE "," DEV "}", "K8S_POD_NAME=p", &c, &err), -1);
	ck_assert_uint_eq(err.code, 4);
	ck_assert_msg(strstr(err.msg, "SRIOV-CNI failed to parse args: ") == err.msg, "%s",
		      err.msg);
	ck_assert_msg(strstr(err.msg, "K8S_POD_NAME=p"), "%s", err.msg);
	cni_err_clear(&err);
	accepted("{" BASE "," DEV "}", "IgnoreUnknown=true;K8S_POD_NAME=p", &c);
	sriov_conf_free(&c);
}
END_TEST

START_TEST(paths_and_files)
{
	struct sriov_conf c;
	struct cni_err err = { 0 };
	cJSON *o;

	accepted("{" BASE "," DEV ",\"cniDir\":\"/tmp/x\",\"logLevel\":\"debug\",\"logFile\":"
		 "\"/tmp/l\",\"ipam\":{\"type\":\"host-local\"},\"runtimeConfig\":{"
		 "\"CNIDeviceInfoFile\":\"/run/k8s/devinfo\"}}",
		 NULL, &c);
	ck_assert_str_eq(c.state_dir, "/tmp/x");
	ck_assert_str_eq(c.log_level, "debug");
	ck_assert_str_eq(c.log_file, "/tmp/l");
	ck_assert_str_eq(c.ipam_type, "host-local");
	ck_assert_str_eq(c.device_info_file, "/run/k8s/devinfo");
	sriov_conf_free(&c);
	refused("{" BASE "," DEV ",\"cniDir\":\"rel/dir\"}", NULL, 7,
		LOAD "cniDir \"rel/dir\" invalid: must be an absolute path");
	refused("{" BASE "," DEV ",\"runtimeConfig\":{\"CNIDeviceInfoFile\":\"x.json\"}}", NULL, 7,
		LOAD
		"runtimeConfig.CNIDeviceInfoFile \"x.json\" invalid: must be an absolute path");
	refused("{" BASE "," DEV ",\"ipam\":\"host-local\"}", NULL, 7,
		LOAD "\"ipam\" must be an object");
	refused("{" BASE "," DEV ",\"runtimeConfig\":[]}", NULL, 7,
		LOAD "\"runtimeConfig\" must be an object");
	/* The sysfs root comes from the environment only. */
	o = cJSON_Parse("{" BASE "," DEV "}");
	ck_assert_int_eq(sriov_conf_parse(o, NULL, "/tmp/fake-sys", &c, &err), 0);
	ck_assert_str_eq(c.sysfs_root, "/tmp/fake-sys");
	sriov_conf_free(&c);
	cJSON_Delete(o);
}
END_TEST

START_TEST(lenient_parse_ignores_what_add_would_refuse)
{
	cJSON *o = cJSON_Parse("{" BASE ",\"vlan\":99999,\"spoofchk\":\"yes\",\"cniDir\":\"/x\","
			       "\"ipam\":{\"type\":\"static\"}}");
	struct cni_err err = { 0 };
	struct sriov_conf c;

	ck_assert_int_eq(sriov_conf_parse_lenient(o, NULL, &c, &err), 0);
	ck_assert_str_eq(c.state_dir, "/x");
	ck_assert_str_eq(c.ipam_type, "static");
	sriov_conf_free(&c);
	cJSON_Delete(o);
}
END_TEST

START_TEST(mac_parse_and_format_round_trip)
{
	unsigned char m[6];
	char s[18];

	ck_assert_int_eq(sriov_mac_parse("02:aB:cd:EF:00:ff", m), 0);
	sriov_mac_format(m, s);
	ck_assert_str_eq(s, "02:ab:cd:ef:00:ff");
	ck_assert_int_eq(sriov_mac_parse("02:ab:cd:ef:00", m), -1);
	ck_assert_int_eq(sriov_mac_parse("", m), -1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sriov_conf");
	TCase *t = tcase_create("conf");

	tcase_add_test(t, device_id_is_required);
	tcase_add_loop_test(t, device_id_must_be_a_pci_address, 0,
			    sizeof(bad_device_ids) / sizeof(*bad_device_ids));
	tcase_add_test(t, device_id_accepts_sysfs_forms_and_lowercases);
	tcase_add_test(t, device_id_from_runtime_config_wins);
	tcase_add_test(t, defaults_touch_nothing);
	tcase_add_loop_test(t, vlan_qos_proto_boundaries, 0,
			    sizeof(vlan_cases) / sizeof(*vlan_cases));
	tcase_add_test(t, link_state_values);
	tcase_add_loop_test(t, refused_values_are_escaped_as_go_quotes_them, 0,
			    sizeof(escaped) / sizeof(*escaped));
	tcase_add_test(t, spoofchk_and_trust_only_on_or_off);
	tcase_add_test(t, tx_rates);
	tcase_add_loop_test(t, mac_must_be_six_colon_octets, 0,
			    sizeof(bad_macs) / sizeof(*bad_macs));
	tcase_add_test(t, mac_must_be_unicast);
	tcase_add_test(t, mac_precedence_netconf_args_runtime_config);
	tcase_add_test(t, mac_sources_are_each_validated);
	tcase_add_test(t, cni_args_unknown_keys_need_ignore_unknown);
	tcase_add_test(t, paths_and_files);
	tcase_add_test(t, lenient_parse_ignores_what_add_would_refuse);
	tcase_add_test(t, mac_parse_and_format_round_trip);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

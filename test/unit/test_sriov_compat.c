/* test/unit/test_sriov_compat.c: bin/sriov and sriov-cni read each other's files (issue 18).
 * Follows sriov-cni pkg/types/types.go NetConf/VfState and pkg/utils/pci_allocator.go; the
 * fixtures in test/fixtures/ were written by the real plugins (test/fixtures/README.md). */
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "sriov/conf.h"
#include "sriov/state.h"
#include "unit.h"

#define SRIOV_CNI_FIXTURE "test/fixtures/sriov-cni-2.10-state.json"
#define PLEXUS_FIXTURE	  "test/fixtures/plexus-sriov-state.json"

static char dir[64];

static void setup(void)
{
	struct cni_err err = { 0 };

	unit_tmpdir(dir, sizeof(dir), "compat");
	ck_assert_int_eq(sriov_state_dirs(dir, &err), 0);
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

static void ck_mac(const unsigned char mac[6], const char *want)
{
	char got[18];

	sriov_mac_format(mac, got);
	ck_assert_str_eq(got, want);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 16);
	size_t n;

	ck_assert_msg(f && text, "%s", path);
	n = fread(text, 1, (1 << 16) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* sriov-cni 2.10's state, ADD with vlan 100, mac, spoofchk off, trust on: what its DEL would
 * restore, bin/sriov's DEL restores, field by field. */
START_TEST(sriov_cni_state_gives_the_restore_plan)
{
	struct sriov_state st;
	struct cni_err err = { 0 };

	ck_assert_msg(sriov_state_load_path(SRIOV_CNI_FIXTURE, &st, &err) == 1, "%s", err.msg);
	ck_assert_str_eq(st.device_id, "0000:01:10.0");
	ck_assert_str_eq(st.pf_name, "eth0");
	ck_assert_uint_eq(st.vf_index, 0);
	ck_assert_str_eq(st.network, "hw-mig");
	ck_assert_str_eq(st.cni_version, "1.0.0");
	ck_assert_str_eq(st.ipam_type, "host-local");
	/* the netdev before ADD, put back as sriov-cni's ReleaseVF does (left down) */
	ck_assert(!st.dpdk);
	ck_assert_str_eq(st.host.name, "eth1");
	ck_mac(st.host.mac, "26:d1:52:2d:6a:36");
	ck_assert_uint_eq(st.host.mtu, 1500);
	ck_assert(!st.host.up);
	/* the PF side before ADD (OrigVfState) */
	ck_mac(st.orig.mac, "26:d1:52:2d:6a:36");
	ck_assert_uint_eq(st.orig.vlan, 0);
	ck_assert_uint_eq(st.orig.qos, 0);
	ck_assert_uint_eq(st.orig.proto, 0x8100);
	ck_assert_int_eq(st.orig.spoofchk, 1);
	ck_assert_int_eq(st.orig.trust, 0);
	ck_assert_uint_eq(st.orig.link_state, 0);
	ck_assert_uint_eq(st.orig.min_rate, 0);
	ck_assert_uint_eq(st.orig.max_rate, 0);
	/* what ADD set: exactly the netconf's keys (rates were null, link_state absent) */
	ck_assert_uint_eq(st.pf_mask,
			  SRIOV_VF_VLAN | SRIOV_VF_MAC | SRIOV_VF_SPOOFCHK | SRIOV_VF_TRUST);
	ck_assert_uint_eq(st.want.vlan, 100);
	ck_assert_uint_eq(st.want.qos, 0);
	ck_assert_uint_eq(st.want.proto, 0x8100);
	ck_assert_int_eq(st.want.spoofchk, 0);
	ck_assert_int_eq(st.want.trust, 1);
	ck_mac(st.want.mac, "02:00:00:00:4d:01");
	ck_assert(st.has_mac);
	ck_mac(st.mac, "02:00:00:00:4d:01");
	ck_assert(!st.del_failed && !st.device_info_created);
	/* sriov-cni names no attachment: DEL gives it the request's */
	ck_assert_ptr_null(st.container_id);
	ck_assert_ptr_null(st.ifname);
	ck_assert_ptr_null(st.netns);
	ck_assert_int_eq(sriov_state_adopt(&st, "c1", "net1", "/run/netns/p", &err), 0);
	ck_assert_str_eq(st.container_id, "c1");
	ck_assert_str_eq(st.ifname, "net1");
	ck_assert_str_eq(st.netns, "/run/netns/p");
	sriov_state_free(&st);
}
END_TEST

/* A node upgraded in place: bin/sriov's files from before this layout still release. */
START_TEST(earlier_plexus_state_gives_the_restore_plan)
{
	struct sriov_state st;
	struct cni_err err = { 0 };

	ck_assert_msg(sriov_state_load_path(PLEXUS_FIXTURE, &st, &err) == 1, "%s", err.msg);
	ck_assert_str_eq(st.container_id, "migc2");
	ck_assert_str_eq(st.ifname, "net1");
	ck_assert_str_eq(st.netns, "/run/netns/mg2");
	ck_assert_str_eq(st.network, "hw-mig");
	ck_assert_str_eq(st.device_id, "0000:01:10.2");
	ck_assert_str_eq(st.pf_name, "eth0");
	ck_assert_uint_eq(st.vf_index, 1);
	ck_assert(!st.dpdk);
	ck_assert_str_eq(st.host.name, "eth2");
	ck_mac(st.host.mac, "e2:87:0f:05:0a:d4");
	ck_assert_uint_eq(st.host.mtu, 1500);
	ck_assert(!st.host.up);
	ck_mac(st.orig.mac, "e2:87:0f:05:0a:d4");
	ck_assert_uint_eq(st.orig.vlan, 0);
	ck_assert_uint_eq(st.orig.proto, 0x8100);
	ck_assert_int_eq(st.orig.spoofchk, 1);
	ck_assert_int_eq(st.orig.trust, 0);
	ck_assert_uint_eq(st.pf_mask,
			  SRIOV_VF_VLAN | SRIOV_VF_MAC | SRIOV_VF_SPOOFCHK | SRIOV_VF_TRUST);
	ck_assert_uint_eq(st.want.vlan, 100);
	ck_assert_int_eq(st.want.spoofchk, 0);
	ck_assert_int_eq(st.want.trust, 1);
	ck_mac(st.want.mac, "02:00:00:00:4d:02");
	ck_assert(st.has_mac);
	ck_mac(st.mac, "02:00:00:00:4d:02");
	ck_assert(!st.del_failed && !st.device_info_created);
	ck_assert_ptr_null(st.cni_version);
	sriov_state_free(&st);
}
END_TEST

/* sriov-cni's reader, from pkg/types/types.go: the fields its LoadConfFromCache decodes and its
 * CmdDel uses, with their JSON types (a Go pointer is a number/string or null). */
enum jt { J_STR, J_NUM, J_BOOL, J_OBJ, J_NUM_OR_NULL, J_STR_OR_NULL, J_STR_OMITEMPTY };
struct field {
	const char *key;
	enum jt type;
};
static const struct field netconf_fields[] = {
	{ "cniVersion", J_STR },
	{ "name", J_STR },
	{ "type", J_STR },
	{ "ipam", J_OBJ },
	{ "deviceID", J_STR },
	{ "Master", J_STR },
	{ "VFID", J_NUM },
	{ "MAC", J_STR },
	{ "MTU", J_NUM_OR_NULL },
	{ "vlan", J_NUM_OR_NULL },
	{ "vlanQoS", J_NUM_OR_NULL },
	{ "vlanProto", J_STR_OR_NULL },
	{ "min_tx_rate", J_NUM_OR_NULL },
	{ "max_tx_rate", J_NUM_OR_NULL },
	{ "spoofchk", J_STR_OMITEMPTY },
	{ "trust", J_STR_OMITEMPTY },
	{ "runtimeConfig", J_OBJ },
	{ "OrigVfState", J_OBJ },
};
static const struct field vf_state_fields[] = {
	{ "HostIFName", J_STR }, { "SpoofChk", J_BOOL },    { "Trust", J_BOOL },
	{ "AdminMAC", J_STR },	 { "EffectiveMAC", J_STR }, { "Vlan", J_NUM },
	{ "VlanQoS", J_NUM },	 { "VlanProto", J_NUM },    { "MinTxRate", J_NUM },
	{ "MaxTxRate", J_NUM },	 { "LinkState", J_NUM },    { "MTU", J_NUM },
};
/* Keys sriov-cni writes only when the netconf set them (omitempty): the fixture's netconf set
 * logLevel; link_state and logFile it did not. */
static const char *const optional_keys[] = { "logLevel", "logFile", "link_state" };

static bool type_ok(const cJSON *v, enum jt t)
{
	switch (t) {
	case J_STR:
	case J_STR_OMITEMPTY:
		return cJSON_IsString(v);
	case J_NUM:
		return cJSON_IsNumber(v);
	case J_BOOL:
		return cJSON_IsBool(v);
	case J_OBJ:
		return cJSON_IsObject(v);
	case J_NUM_OR_NULL:
		return cJSON_IsNumber(v) || cJSON_IsNull(v);
	case J_STR_OR_NULL:
		return cJSON_IsString(v) || cJSON_IsNull(v);
	}
	return false;
}

static bool in_table(const char *key, const struct field *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return true;
	for (size_t i = 0;
	     t == netconf_fields && i < sizeof(optional_keys) / sizeof(*optional_keys); i++)
		if (strcmp(optional_keys[i], key) == 0)
			return true;
	return false;
}

/* Every field of the table is in o with its type (omitempty ones may be absent); with exact,
 * every key of o is in the table. */
static void ck_layout(const cJSON *o, const struct field *t, size_t n, bool exact, const char *what)
{
	const cJSON *v;

	ck_assert_msg(cJSON_IsObject(o), "%s: not an object", what);
	for (size_t i = 0; i < n; i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, t[i].key);
		if (!v && t[i].type == J_STR_OMITEMPTY)
			continue;
		ck_assert_msg(v, "%s: no \"%s\"", what, t[i].key);
		ck_assert_msg(type_ok(v, t[i].type), "%s: \"%s\" has the wrong type", what,
			      t[i].key);
	}
	cJSON_ArrayForEach(v, o)
	{
		ck_assert_msg(!exact || in_table(v->string, t, n), "%s: unexpected key \"%s\"",
			      what, v->string);
	}
}

/* The table is sriov-cni's real layout: the fixture has exactly these keys and types. */
START_TEST(sriov_cni_fields_are_the_fixture_s)
{
	char *text = slurp(SRIOV_CNI_FIXTURE);
	cJSON *o = cJSON_Parse(text);

	ck_layout(o, netconf_fields, sizeof(netconf_fields) / sizeof(*netconf_fields), true,
		  "fixture");
	ck_layout(cJSON_GetObjectItemCaseSensitive(o, "OrigVfState"), vf_state_fields,
		  sizeof(vf_state_fields) / sizeof(*vf_state_fields), true, "fixture OrigVfState");
	cJSON_Delete(o);
	free(text);
}
END_TEST

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsString(v), "\"%s\" is not a string", key);
	return v->valuestring;
}

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "\"%s\" is not a number", key);
	return v->valuedouble;
}

/* What bin/sriov writes for the fixture's attachment: every field sriov-cni reads, with the
 * values its DEL needs to put the VF back; bin/sriov's own record only under a key that no
 * sriov-cni field matches, even case-insensitively (Go's decoder ignores case). */
START_TEST(written_state_carries_every_field_sriov_cni_reads)
{
	struct sriov_state st;
	struct cni_err err = { 0 };
	const cJSON *ov, *v;
	cJSON *o;
	char *text;

	ck_assert_int_eq(sriov_state_load_path(PLEXUS_FIXTURE, &st, &err), 1);
	st.cni_version = strdup("1.0.0");
	st.ipam_type = strdup("host-local");
	text = sriov_state_to_json(&st);
	o = cJSON_Parse(text);
	ck_layout(o, netconf_fields, sizeof(netconf_fields) / sizeof(*netconf_fields), false,
		  "written");
	ov = cJSON_GetObjectItemCaseSensitive(o, "OrigVfState");
	ck_layout(ov, vf_state_fields, sizeof(vf_state_fields) / sizeof(*vf_state_fields), true,
		  "written OrigVfState");
	cJSON_ArrayForEach(v, o)
	{
		bool known = in_table(v->string, netconf_fields,
				      sizeof(netconf_fields) / sizeof(*netconf_fields));

		for (size_t i = 0; !known && i < sizeof(netconf_fields) / sizeof(*netconf_fields);
		     i++)
			ck_assert_msg(strcasecmp(v->string, netconf_fields[i].key) != 0,
				      "\"%s\" would land in sriov-cni's \"%s\"", v->string,
				      netconf_fields[i].key);
		ck_assert_msg(known || strcmp(v->string, SRIOV_STATE_OWN_KEY) == 0,
			      "unexpected key \"%s\" in %s", v->string, text);
	}
	ck_assert_str_eq(str_of(o, "cniVersion"), "1.0.0");
	ck_assert_str_eq(str_of(o, "name"), "hw-mig");
	ck_assert_str_eq(str_of(o, "type"), "sriov");
	ck_assert_str_eq(str_of(cJSON_GetObjectItemCaseSensitive(o, "ipam"), "type"), "host-local");
	ck_assert_str_eq(str_of(o, "deviceID"), "0000:01:10.2");
	ck_assert_str_eq(str_of(o, "Master"), "eth0");
	ck_assert_int_eq(num_of(o, "VFID"), 1);
	ck_assert_str_eq(str_of(o, "MAC"), "02:00:00:00:4d:02");
	ck_assert_int_eq(num_of(o, "MTU"), 1500);
	ck_assert_int_eq(num_of(o, "vlan"), 100);
	ck_assert_int_eq(num_of(o, "vlanQoS"), 0);
	ck_assert_str_eq(str_of(o, "vlanProto"), "802.1q");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "min_tx_rate")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "max_tx_rate")));
	ck_assert_str_eq(str_of(o, "spoofchk"), "off");
	ck_assert_str_eq(str_of(o, "trust"), "on");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "link_state"));
	ck_assert_str_eq(str_of(ov, "HostIFName"), "eth2");
	ck_assert_str_eq(str_of(ov, "AdminMAC"), "e2:87:0f:05:0a:d4");
	ck_assert_str_eq(str_of(ov, "EffectiveMAC"), "e2:87:0f:05:0a:d4");
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ov, "SpoofChk")));
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ov, "Trust")));
	ck_assert_int_eq(num_of(ov, "Vlan"), 0);
	ck_assert_int_eq(num_of(ov, "VlanProto"), 0x8100);
	ck_assert_int_eq(num_of(ov, "MTU"), 1500);
	ck_assert_int_eq(num_of(ov, "LinkState"), 0);
	cJSON_Delete(o);
	free(text);
	sriov_state_free(&st);
}
END_TEST

/* Unset attributes as sriov-cni writes them, so its DEL leaves them alone: pointers null,
 * on/off strings omitted; set ones in its words. DPDK mode: no HostIFName. */
START_TEST(written_state_says_unset_and_set_as_sriov_cni_does)
{
	struct sriov_state st = { 0 }, back;
	struct cni_err err = { 0 };
	cJSON *o, *ov;
	char *text;

	st.container_id = strdup("c");
	st.ifname = strdup("net1");
	st.network = strdup("n");
	st.device_id = strdup("0000:af:06.0");
	st.pf_name = strdup("pf0");
	st.dpdk = true;
	text = sriov_state_to_json(&st);
	o = cJSON_Parse(text);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "vlan")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "vlanQoS")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "vlanProto")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "max_tx_rate")));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "spoofchk"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "trust"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(o, "link_state"));
	ck_assert_str_eq(str_of(o, "MAC"), "");
	ck_assert_str_eq(str_of(cJSON_GetObjectItemCaseSensitive(o, "OrigVfState"), "HostIFName"),
			 "");
	/* The same file without bin/sriov's record, as sriov-cni would see it: DPDK, nothing set */
	cJSON_DeleteItemFromObjectCaseSensitive(o, SRIOV_STATE_OWN_KEY);
	free(text);
	text = cJSON_PrintUnformatted(o);
	ck_assert_msg(sriov_state_from_json(text, &back, &err) == 0, "%s", err.msg);
	ck_assert(back.dpdk);
	ck_assert_uint_eq(back.pf_mask, 0);
	sriov_state_free(&back);
	cJSON_Delete(o);
	free(text);

	st.dpdk = false;
	strcpy(st.host.name, "eth3");
	st.pf_mask = SRIOV_VF_RATE | SRIOV_VF_LINK_STATE | SRIOV_VF_VLAN;
	st.want.min_rate = 10;
	st.want.max_rate = 100;
	st.want.link_state = 2;
	st.want.vlan = 5;
	st.want.qos = 3;
	st.want.proto = SRIOV_VLAN_PROTO_8021AD;
	text = sriov_state_to_json(&st);
	o = cJSON_Parse(text);
	ck_assert_int_eq(num_of(o, "min_tx_rate"), 10);
	ck_assert_int_eq(num_of(o, "max_tx_rate"), 100);
	ck_assert_str_eq(str_of(o, "link_state"), "disable");
	ck_assert_int_eq(num_of(o, "vlanQoS"), 3);
	ck_assert_str_eq(str_of(o, "vlanProto"), "802.1ad");
	ov = cJSON_GetObjectItemCaseSensitive(o, "OrigVfState");
	ck_assert_str_eq(str_of(ov, "HostIFName"), "eth3");
	/* read back through sriov-cni's keys alone, the plan is the same */
	cJSON_DeleteItemFromObjectCaseSensitive(o, SRIOV_STATE_OWN_KEY);
	free(text);
	text = cJSON_PrintUnformatted(o);
	ck_assert_msg(sriov_state_from_json(text, &back, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(back.pf_mask, st.pf_mask);
	ck_assert_uint_eq(back.want.min_rate, 10);
	ck_assert_uint_eq(back.want.max_rate, 100);
	ck_assert_uint_eq(back.want.link_state, 2);
	ck_assert_uint_eq(back.want.vlan, 5);
	ck_assert_uint_eq(back.want.qos, 3);
	ck_assert_uint_eq(back.want.proto, SRIOV_VLAN_PROTO_8021AD);
	sriov_state_free(&back);
	cJSON_Delete(o);
	free(text);
	sriov_state_free(&st);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The record is what sriov-cni writes and reads (the netns path, nothing else); who holds the
 * VF is in the owner file, which a record sriov-cni rewrote for another netns voids. */
START_TEST(allocation_record_is_the_bare_netns_path)
{
	struct cni_err err = { 0 };
	struct sriov_alloc a;
	struct stat sb;
	char path[128], owner[160];
	char *text;

	snprintf(path, sizeof(path), "%s/pci/0000:af:06.0", dir);
	snprintf(owner, sizeof(owner), "%s" SRIOV_ALLOC_OWNER_SUFFIX, path);
	ck_assert_int_eq(
	    sriov_alloc_write(dir, "0000:af:06.0", "/run/netns/pod-a", "ctr1", "net1", &err), 0);
	text = slurp(path);
	ck_assert_str_eq(text, "/run/netns/pod-a");
	free(text);
	ck_assert_int_eq(stat(owner, &sb), 0);
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 1);
	ck_assert_str_eq(a.netns, "/run/netns/pod-a");
	ck_assert_str_eq(a.container_id, "ctr1");
	ck_assert_str_eq(a.ifname, "net1");
	sriov_alloc_free(&a);
	/* sriov-cni (after a rollback) gave the VF to another pod */
	write_text(path, "/run/netns/pod-b");
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 1);
	ck_assert_str_eq(a.netns, "/run/netns/pod-b");
	ck_assert_ptr_null(a.container_id);
	ck_assert(!sriov_alloc_is_ours(&a, "ctr1", "net1", "/run/netns/pod-a"));
	sriov_alloc_free(&a);
	ck_assert_int_eq(sriov_alloc_remove(dir, "0000:af:06.0", &err), 0);
	ck_assert_int_eq(stat(path, &sb), -1);
	ck_assert_int_eq(stat(owner, &sb), -1);
	/* the JSON record of earlier releases is still read */
	write_text(path,
		   "{\"netns\":\"/run/netns/old\",\"containerID\":\"c0\",\"ifname\":\"net2\"}");
	ck_assert_int_eq(sriov_alloc_read(dir, "0000:af:06.0", &a, &err), 1);
	ck_assert_str_eq(a.netns, "/run/netns/old");
	ck_assert_str_eq(a.container_id, "c0");
	ck_assert_str_eq(a.ifname, "net2");
	sriov_alloc_free(&a);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sriov_compat");
	TCase *t = tcase_create("compat");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, sriov_cni_state_gives_the_restore_plan);
	tcase_add_test(t, earlier_plexus_state_gives_the_restore_plan);
	tcase_add_test(t, sriov_cni_fields_are_the_fixture_s);
	tcase_add_test(t, written_state_carries_every_field_sriov_cni_reads);
	tcase_add_test(t, written_state_says_unset_and_set_as_sriov_cni_does);
	tcase_add_test(t, allocation_record_is_the_bare_netns_path);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)

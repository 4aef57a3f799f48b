/* test/unit/test_meta_kube.c: meta/kube: a pod's network selections to an attachment plan, as
 * Multus pkg/k8sclient GetNetworkDelegates and pkg/multus cmdAdd build it: the default-network
 * annotation replaces the cluster network, selections are appended in order and named
 * net<idx> (idx counting every attachment) unless they ask for a name, collisions are refused,
 * requests reach the delegate, and devices of a NAD's resourceName are handed out in sorted
 * order from the pod's devices (Multus pkg/kubeletclient). The pod, its NADs and its devices are
 * given through meta_kube's public fields and k8s_podres_parse_checkpoint: no API, no kubelet. */
#include "cni/json.h"
#include "k8s/podresources.h"
#include "meta/kube.h"
#include "meta/netconf.h"
#include "meta/plan.h"
#include "test/unit/unit.h"

static const struct meta_k8s_args k8s = { "ns1", "pod1", "uid-1", "sandbox-1" };

#define CLUSTER	 "{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\"}"
#define NC_PLAIN "{\"delegates\":[" CLUSTER "],\"deviceInfoDir\":\"/run/devinfo\"}"
#define NC_ISOLATED                                                                                \
	"{\"delegates\":[" CLUSTER "],\"namespaceIsolation\":true,\"globalNamespaces\":"           \
	"\"shared\"}"

/* A NAD object as the API returns it, its config a JSON string. */
static cJSON *nad(const char *ns, const char *name, const char *config, const char *resource)
{
	cJSON *o = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");

	cJSON_AddStringToObject(o, "apiVersion", "k8s.cni.cncf.io/v1");
	cJSON_AddStringToObject(o, "kind", "NetworkAttachmentDefinition");
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddStringToObject(md, "namespace", ns);
	if (resource)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(md, "annotations"),
					K8S_ANNOT_RESOURCE_NAME, resource);
	cJSON_AddStringToObject(spec, "config", config);
	return o;
}

struct fixture {
	struct meta_netconf nc;
	struct meta_kube k;
	struct meta_plan plan;
	struct cni_err err;
};

/* The NADs every test may select: ns1/net-a (bridge), other/net-b (macvlan), shared/net-s,
 * ns1/sriov (resource intel.com/sriov_a), and ns1/ghost, which does not exist. */
static void setup_fixture(struct fixture *f, const char *nc_text, const char *networks,
			  const char *default_network)
{
	cJSON *ann;

	memset(f, 0, sizeof(*f));
	/* a client with nowhere to go: the best-effort Warning event for a missing NAD fails at
	 * once (connection refused) and is only logged */
	f->k.client = k8s_client_new(
	    &(struct k8s_creds){ .server = "https://127.0.0.1:1", .token = "t" }, NULL, &f->err);
	ck_assert_ptr_nonnull(f->k.client);
	ck_assert_msg(meta_netconf_parse(nc_text, strlen(nc_text), &f->nc, &f->err) == 0, "%s",
		      f->err.msg);
	f->k.pod = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
			       "\"pod1\",\"namespace\":\"ns1\",\"uid\":\"uid-1\"}}");
	ann = cJSON_AddObjectToObject(cJSON_GetObjectItem(f->k.pod, "metadata"), "annotations");
	if (networks)
		cJSON_AddStringToObject(ann, K8S_ANNOT_NETWORKS, networks);
	if (default_network)
		cJSON_AddStringToObject(ann, K8S_ANNOT_DEFAULT_NETWORK, default_network);
	f->k.nads = cJSON_CreateObject();
	cJSON_AddItemToObject(
	    f->k.nads, "ns1/net-a",
	    nad("ns1", "net-a", "{\"cniVersion\":\"1.0.0\",\"name\":\"net-a\",\"type\":\"bridge\"}",
		NULL));
	cJSON_AddItemToObject(
	    f->k.nads, "other/net-b",
	    nad("other", "net-b",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"net-b\",\"type\":\"macvlan\"}", NULL));
	cJSON_AddItemToObject(
	    f->k.nads, "shared/net-s",
	    nad("shared", "net-s",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"net-s\",\"type\":\"ipvlan\"}", NULL));
	cJSON_AddItemToObject(
	    f->k.nads, "ns1/sriov",
	    nad("ns1", "sriov",
		"{\"cniVersion\":\"1.0.0\",\"name\":\"sriov\",\"plugins\":[{\"type\":\"sriov\"},"
		"{\"type\":\"tuning\"}]}",
		"intel.com/sriov_a"));
	cJSON_AddItemToObject(f->k.nads, "kube-system/alt",
			      nad("kube-system", "alt",
				  "{\"cniVersion\":\"1.0.0\",\"name\":\"alt\",\"type\":\"ptp\"}",
				  NULL));
	cJSON_AddNullToObject(f->k.nads, "ns1/ghost");
	f->plan.container_id = strdup("c1");
	f->plan.ifname = strdup("eth0");
	f->plan.cni_version = strdup("1.0.0");
	ck_assert_msg(meta_plan_add_static(&f->plan, &f->nc, &k8s, NULL, &f->err) == 0, "%s",
		      f->err.msg);
}

static void teardown_fixture(struct fixture *f)
{
	meta_plan_free(&f->plan);
	meta_kube_close(&f->k);
	meta_netconf_free(&f->nc);
	cni_err_clear(&f->err);
}

/* The pod's devices: three of intel.com/sriov_a (handed out sorted), one of sriov_b. */
static void give_devices(struct fixture *f)
{
	static const char checkpoint[] =
	    "{\"Data\":{\"PodDeviceEntries\":["
	    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov_a\","
	    " \"DeviceIDs\":{\"0\":[\"0000:00:05.2\",\"0000:00:04.7\",\"0000:00:05.1\"]},"
	    " \"AllocResp\":\"CgA=\"},"
	    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov_b\","
	    " \"DeviceIDs\":{\"0\":[\"0000:00:06.0\"]},\"AllocResp\":\"CgA=\"}],"
	    "\"RegisteredDevices\":{}},\"Checksum\":1}";

	ck_assert_msg(k8s_podres_parse_checkpoint(checkpoint, strlen(checkpoint), "uid-1",
						  &f->k.devices, &f->err) == 0,
		      "%s", f->err.msg);
}

/* Everything ADD does to the plan before running it. */
static int plan_pod(struct fixture *f)
{
	if (meta_kube_add_pod_networks(&f->plan, &f->nc, &f->k, &k8s, &f->err) < 0 ||
	    meta_kube_assign_devices(&f->plan, &f->nc, &f->k, &k8s, &f->err) < 0 ||
	    meta_plan_finish(&f->plan, &f->nc, NULL, &k8s, &f->err) < 0)
		return -1;
	return meta_kube_devinfo_paths(&f->plan, &f->nc, &f->err);
}

static void expect_att(const struct meta_attachment *a, const char *status, const char *network,
		       const char *ifname, bool master)
{
	ck_assert_str_eq(a->status_name, status);
	ck_assert_str_eq(a->network, network);
	ck_assert_str_eq(a->ifname, ifname);
	ck_assert_int_eq(a->master, master);
}

static cJSON *config_of(const struct meta_attachment *a)
{
	cJSON *c = cJSON_ParseWithLength(a->config, a->config_len);

	ck_assert_msg(c != NULL, "config is not JSON: %.*s", (int)a->config_len, a->config);
	return c;
}

/* Planning the pod with annotation networks (and the pod's devices when devices) fails with
 * code 7 and message want. */
static void expect_refused(const char *nc_text, const char *networks, bool devices,
			   const char *want)
{
	struct fixture f;

	setup_fixture(&f, nc_text, networks, NULL);
	if (devices)
		give_devices(&f);
	ck_assert_int_eq(plan_pod(&f), -1);
	ck_assert_uint_eq(f.err.code, 7);
	ck_assert_str_eq(f.err.msg, want);
	teardown_fixture(&f);
}

START_TEST(selections_are_appended_in_order_and_named_net_idx)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "net-a, other/net-b@eth5, ns1/net-a", NULL);
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	ck_assert_uint_eq(f.plan.n, 4);
	expect_att(&f.plan.att[0], "cluster", "cluster", "eth0", true);
	expect_att(&f.plan.att[1], "ns1/net-a", "net-a", "net1", false);
	expect_att(&f.plan.att[2], "other/net-b", "net-b", "eth5", false);
	ck_assert_str_eq(f.plan.att[2].ifname_request, "eth5");
	/* idx counts every attachment, the one that asked for its name too */
	expect_att(&f.plan.att[3], "ns1/net-a", "net-a", "net3", false);
	/* the NAD's config as written, and no device for a NAD without a resource */
	ck_assert_str_eq(f.plan.att[2].config,
			 "{\"cniVersion\":\"1.0.0\",\"name\":\"net-b\",\"type\":\"macvlan\"}");
	ck_assert_ptr_null(f.plan.att[1].device_id);
	ck_assert_ptr_null(f.plan.att[1].devinfo_file);
	teardown_fixture(&f);
}
END_TEST

START_TEST(default_network_annotation_replaces_the_cluster_network)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "net-a", "alt");
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	ck_assert_uint_eq(f.plan.n, 2);
	/* in multusNamespace (kube-system by default), on the runtime's interface */
	expect_att(&f.plan.att[0], "kube-system/alt", "alt", "eth0", true);
	ck_assert_ptr_nonnull(strstr(f.plan.att[0].config, "\"type\":\"ptp\""));
	expect_att(&f.plan.att[1], "ns1/net-a", "net-a", "net1", false);
	teardown_fixture(&f);
}
END_TEST

START_TEST(a_missing_nad_is_an_error_naming_it)
{
	expect_refused(NC_PLAIN, "net-a,ghost", false,
		       "annotation \"k8s.v1.cni.cncf.io/networks\": element 1: cannot find a "
		       "network-attachment-definition (ghost) in namespace (ns1)");
}
END_TEST

START_TEST(an_interface_wanted_twice_is_refused)
{
	/* net-a@net2 first, then the third attachment would be net2 as well */
	expect_refused(NC_PLAIN, "net-a@net2,other/net-b", false,
		       "networks \"ns1/net-a\" and \"other/net-b\" both want interface \"net2\"");
	expect_refused(NC_PLAIN, "net-a@eth0", false,
		       "networks \"cluster\" and \"ns1/net-a\" both want interface \"eth0\"");
}
END_TEST

START_TEST(element_requests_reach_the_attachment)
{
	struct fixture f;
	cJSON *c;

	setup_fixture(
	    &f, NC_PLAIN,
	    "[{\"name\":\"net-a\",\"mac\":\"c2:b0:57:49:47:f1\",\"ips\":[\"10.1.1.5/24\","
	    "\"2001:db8::5/64\"],\"default-route\":[\"10.1.1.1\"],\"cni-args\":{\"x\":1}}]",
	    NULL);
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	ck_assert_uint_eq(f.plan.n, 2);
	ck_assert_str_eq(f.plan.att[1].mac_request, "c2:b0:57:49:47:f1");
	ck_assert_str_eq(f.plan.att[1].ip_request, "10.1.1.5/24,2001:db8::5/64");
	ck_assert_ptr_nonnull(f.plan.att[1].gateways);
	ck_assert_str_eq(cJSON_GetArrayItem(f.plan.att[1].gateways, 0)->valuestring, "10.1.1.1");
	/* cni-args go into args.cni of the config (Multus addCNIArgsInConfig) */
	c = config_of(&f.plan.att[1]);
	ck_assert_int_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "args"), "cni"), "x")
		->valueint,
	    1);
	cJSON_Delete(c);
	ck_assert_str_eq(cJSON_GetObjectItem(f.plan.att[1].cap_args, "mac")->valuestring,
			 "c2:b0:57:49:47:f1");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(f.plan.att[1].cap_args, "ips")), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(namespace_isolation_refuses_another_namespace_but_not_a_global_one)
{
	struct fixture f;

	setup_fixture(&f, NC_ISOLATED, "shared/net-s,net-a", NULL);
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	ck_assert_uint_eq(f.plan.n, 3);
	teardown_fixture(&f);

	setup_fixture(&f, NC_ISOLATED, "net-a,other/net-b", NULL);
	ck_assert_int_eq(plan_pod(&f), -1);
	ck_assert_uint_eq(f.err.code, 7);
	ck_assert_msg(
	    strstr(f.err.msg, "annotation \"k8s.v1.cni.cncf.io/networks\": element 1: ") ==
		f.err.msg,
	    "got %s", f.err.msg);
	ck_assert_msg(strstr(f.err.msg, "other") != NULL, "got %s", f.err.msg);
	teardown_fixture(&f);
}
END_TEST

/* The string at key of o; the test fails when there is none. */
static const char *str_at(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsString(v), "no string \"%s\"", key);
	return v->valuestring;
}

/* The device an attachment got, in its config (every plugin), its runtimeConfig and its
 * device-info file name. */
static void expect_device(const struct meta_attachment *a, const char *id, const char *devinfo)
{
	cJSON *c = config_of(a), *p;

	ck_assert_str_eq(a->device_id, id);
	cJSON_ArrayForEach(p, cJSON_GetObjectItem(c, "plugins"))
	{
		ck_assert_str_eq(str_at(p, "deviceID"), id);
		ck_assert_str_eq(str_at(p, "pciBusID"), id);
	}
	cJSON_Delete(c);
	ck_assert_str_eq(str_at(a->cap_args, "deviceID"), id);
	ck_assert_str_eq(a->devinfo_file, devinfo);
	ck_assert_str_eq(str_at(a->cap_args, "CNIDeviceInfoFile"), devinfo);
}

START_TEST(devices_of_a_resource_are_handed_out_in_sorted_order)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "sriov,net-a,sriov@vf1", NULL);
	give_devices(&f);
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	ck_assert_uint_eq(f.plan.n, 4);
	ck_assert_str_eq(f.plan.att[1].resource_name, "intel.com/sriov_a");
	expect_device(&f.plan.att[1], "0000:00:04.7", "/run/devinfo/cni/ns1-sriov-c1_net1");
	ck_assert_ptr_null(f.plan.att[2].device_id);
	expect_device(&f.plan.att[3], "0000:00:05.1", "/run/devinfo/cni/ns1-sriov-c1_vf1");
	teardown_fixture(&f);
}
END_TEST

START_TEST(more_attachments_than_devices_is_an_error_naming_both)
{
	expect_refused(NC_PLAIN, "sriov,sriov,sriov,sriov", true,
		       "network \"ns1/sriov\": not enough devices of resource "
		       "\"intel.com/sriov_a\": the pod has 3, all taken by earlier attachments");
}
END_TEST

/* A device map from a checkpoint text of pod uid-1 with one resource res holding ids. */
static struct k8s_devmap *devmap(const char *res, const char *ids)
{
	char text[512];
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	snprintf(text, sizeof(text),
		 "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"uid-1\",\"ResourceName\":"
		 "\"%s\",\"DeviceIDs\":[%s]}]}}",
		 res, ids);
	ck_assert_msg(k8s_podres_parse_checkpoint(text, strlen(text), "uid-1", &m, &err) == 0, "%s",
		      err.msg);
	return m;
}

/* What meta_dra_load leaves: the pod's claim allocates one device, published with
 * resourceName res and deviceID id, merged after kubelet's devices. */
static void give_dra(struct fixture *f, const char *res, const char *id)
{
	char text[512];
	struct k8s_dra_claim_ref ref = { .name = "pod1-vf" };
	cJSON *claim = cJSON_Parse("{\"status\":{\"allocation\":{\"devices\":{\"results\":[{"
				   "\"request\":\"vf\",\"driver\":\"d.io\",\"pool\":\"n1\","
				   "\"device\":\"vf-0\"}]}}}}"),
	      *list;

	snprintf(text, sizeof(text),
		 "{\"items\":[{\"spec\":{\"driver\":\"d.io\",\"pool\":{\"name\":\"n1\"},"
		 "\"devices\":[{\"name\":\"vf-0\",\"attributes\":{"
		 "\"k8s.cni.cncf.io/resourceName\":{\"string\":\"%s\"},"
		 "\"k8s.cni.cncf.io/deviceID\":{\"string\":\"%s\"}}}]}}]}",
		 res, id);
	list = cJSON_Parse(text);
	ck_assert_msg(k8s_dra_add_claim(&f->k.dra, "ns1", &ref, claim, &f->err) == 0 &&
			  k8s_dra_add_slices(&f->k.dra, "d.io", "n1", list, &f->err) == 0 &&
			  k8s_dra_resolve(&f->k.dra, "ns1", &f->err) == 0 &&
			  k8s_dra_merge(f->k.devices, &f->k.dra, &f->err) == 0,
		      "%s", f->err.msg);
	cJSON_Delete(claim);
	cJSON_Delete(list);
}

START_TEST(dra_device_of_the_resource_name_is_assigned_after_kubelets)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "sriov,sriov", NULL);
	f.k.devices = devmap("intel.com/sriov_a", "\"0000:00:05.1\"");
	give_dra(&f, "intel.com/sriov_a", "0000:00:06.1");
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	expect_device(&f.plan.att[1], "0000:00:05.1", "/run/devinfo/cni/ns1-sriov-c1_net1");
	expect_device(&f.plan.att[2], "0000:00:06.1", "/run/devinfo/cni/ns1-sriov-c1_net2");
	teardown_fixture(&f);
}
END_TEST

START_TEST(kubelet_claim_devices_serve_a_resource_name_nothing_else_has)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "sriov", NULL);
	f.k.devices = devmap("other.com/x", "\"x\"");
	f.k.devices->claims = devmap("intel.com/sriov_a", "\"0000:00:08.1\"");
	give_dra(&f, "intel.com/vf", "0000:00:06.1");
	ck_assert_msg(plan_pod(&f) == 0, "%s", f.err.msg);
	expect_device(&f.plan.att[1], "0000:00:08.1", "/run/devinfo/cni/ns1-sriov-c1_net1");
	teardown_fixture(&f);
}
END_TEST

START_TEST(resource_name_matching_no_allocated_device_is_an_error_naming_what_is)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "sriov", NULL);
	f.k.devices = devmap("other.com/x", "\"x\"");
	give_dra(&f, "intel.com/vf", "0000:00:06.1");
	ck_assert_int_eq(plan_pod(&f), -1);
	ck_assert_uint_eq(f.err.code, 7);
	ck_assert_str_eq(f.err.msg,
			 "network \"ns1/sriov\": resourceName \"intel.com/sriov_a\" "
			 "matches no allocated device: the pod's ResourceClaims allocate "
			 "resourceNames \"intel.com/vf\", and kubelet reports no device "
			 "of it");
	teardown_fixture(&f);
}
END_TEST

START_TEST(two_attachments_given_one_device_is_an_error_naming_both)
{
	struct fixture f;

	setup_fixture(&f, NC_PLAIN, "sriov,sriov@vf1", NULL);
	f.k.devices = devmap("intel.com/sriov_a", "\"0000:00:06.1\"");
	give_dra(&f, "intel.com/sriov_a", "0000:00:06.1");
	ck_assert_int_eq(plan_pod(&f), -1);
	ck_assert_uint_eq(f.err.code, 7);
	ck_assert_str_eq(f.err.msg, "networks \"ns1/sriov\" (resource \"intel.com/sriov_a\") and "
				    "\"ns1/sriov\" (resource \"intel.com/sriov_a\") are both given "
				    "device \"0000:00:06.1\"");
	teardown_fixture(&f);
}
END_TEST

static Suite *kube_suite(void)
{
	Suite *s = suite_create("kube");
	TCase *tc = tcase_create("kube");

	tcase_add_test(tc, selections_are_appended_in_order_and_named_net_idx);
	tcase_add_test(tc, default_network_annotation_replaces_the_cluster_network);
	tcase_add_test(tc, a_missing_nad_is_an_error_naming_it);
	tcase_add_test(tc, an_interface_wanted_twice_is_refused);
	tcase_add_test(tc, element_requests_reach_the_attachment);
	tcase_add_test(tc, namespace_isolation_refuses_another_namespace_but_not_a_global_one);
	tcase_add_test(tc, devices_of_a_resource_are_handed_out_in_sorted_order);
	tcase_add_test(tc, more_attachments_than_devices_is_an_error_naming_both);
	tcase_add_test(tc, dra_device_of_the_resource_name_is_assigned_after_kubelets);
	tcase_add_test(tc, kubelet_claim_devices_serve_a_resource_name_nothing_else_has);
	tcase_add_test(tc, resource_name_matching_no_allocated_device_is_an_error_naming_what_is);
	tcase_add_test(tc, two_attachments_given_one_device_is_an_error_naming_both);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(kube_suite)

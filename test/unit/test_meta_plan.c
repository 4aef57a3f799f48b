/* test/unit/test_meta_plan.c: the attachment plan: interface names, collisions, CNI_ARGS and
 * capability args as Multus builds them (Multus pkg/types/conf.go CreateCNIRuntimeConf), and the cache round trip. */
#include <sys/stat.h>

#include "cni/file.h"
#include "meta/netconf.h"
#include "meta/kube.h"
#include "meta/plan.h"
#include "test/unit/unit.h"

static const struct meta_k8s_args k8s = { "ns1", "pod1", "uid-1", "sandbox-1" };

static void netconf(const char *text, struct meta_netconf *nc)
{
	struct cni_err err = { 0 };

	ck_assert_msg(meta_netconf_parse(text, strlen(text), nc, &err) == 0, "%s", err.msg);
}

static int build(const char *nc_text, const char *ifname, const char *cni_args,
		 struct meta_plan *plan, struct cni_err *err)
{
	struct meta_netconf nc;
	int ret;

	netconf(nc_text, &nc);
	memset(plan, 0, sizeof(*plan));
	plan->ifname = strdup(ifname);
	plan->cni_version = strdup("1.0.0");
	ret = meta_plan_add_static(plan, &nc, &k8s, NULL, err);
	if (ret == 0)
		ret = meta_plan_finish(plan, &nc, cni_args, &k8s, err);
	meta_netconf_free(&nc);
	return ret;
}

#define D(name) "{\"cniVersion\":\"1.0.0\",\"name\":\"" name "\",\"type\":\"bridge\"}"

START_TEST(ifnames_count_every_delegate)
{
	struct meta_plan plan;
	struct cni_err err = { 0 };

	ck_assert_int_eq(
	    build("{\"delegates\":[" D("a") "," D("b") "," D("c") "]}", "eth0", NULL, &plan, &err),
	    0);
	ck_assert_str_eq(plan.att[0].ifname, "eth0");
	ck_assert(plan.att[0].master);
	ck_assert_str_eq(plan.att[1].ifname, "net1");
	ck_assert(!plan.att[1].master);
	ck_assert_str_eq(plan.att[2].ifname, "net2");
	meta_plan_free(&plan);
}
END_TEST

START_TEST(runtime_ifname_colliding_with_net_idx_is_refused)
{
	struct meta_plan plan;
	struct cni_err err = { 0 };

	ck_assert_int_eq(
	    build("{\"delegates\":[" D("a") "," D("b") "," D("c") "]}", "net2", NULL, &plan, &err),
	    -1);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "networks \"a\" and \"c\" both want interface \"net2\"");
	cni_err_clear(&err);
	meta_plan_free(&plan);
}
END_TEST

START_TEST(explicit_request_colliding_with_automatic_name_is_refused)
{
	struct meta_plan plan = { 0 };
	struct cni_err err = { 0 };
	struct meta_netconf nc;

	netconf("{\"delegates\":[" D("a") "]}", &nc);
	plan.ifname = strdup("eth0");
	ck_assert_int_eq(meta_plan_add_static(&plan, &nc, &k8s, NULL, &err), 0);
	ck_assert_int_eq(meta_plan_add(&plan, D("x"), strlen(D("x")), "net2", &err), 0);
	ck_assert_int_eq(meta_plan_add(&plan, D("y"), strlen(D("y")), NULL, &err), 0);
	/* y is third: it would be net2 too (annotation "x@net2,y") */
	ck_assert_int_eq(meta_plan_finish(&plan, &nc, NULL, &k8s, &err), -1);
	ck_assert_str_eq(err.msg, "networks \"x\" and \"y\" both want interface \"net2\"");
	cni_err_clear(&err);
	meta_plan_free(&plan);
	meta_netconf_free(&nc);
}
END_TEST

START_TEST(invalid_requested_ifname_is_refused_with_code_4)
{
	struct meta_plan plan = { 0 };
	struct cni_err err = { 0 };
	struct meta_netconf nc;

	netconf("{\"delegates\":[" D("a") "]}", &nc);
	plan.ifname = strdup("eth0");
	ck_assert_int_eq(meta_plan_add_static(&plan, &nc, &k8s, NULL, &err), 0);
	ck_assert_int_eq(meta_plan_add(&plan, D("x"), strlen(D("x")), "a-very-long-ifname", &err),
			 0);
	ck_assert_int_eq(meta_plan_finish(&plan, &nc, NULL, &k8s, &err), -1);
	ck_assert_uint_eq(err.code, 4);
	ck_assert_ptr_nonnull(strstr(err.msg, "interface name is too long"));
	cni_err_clear(&err);
	meta_plan_free(&plan);
	meta_netconf_free(&nc);
}
END_TEST

static char *args_string(const struct meta_attachment *a)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < a->nargs; i++)
		len += strlen(a->args[i].key) + strlen(a->args[i].value) + 2;
	s = calloc(1, len);
	for (size_t i = 0; i < a->nargs; i++) {
		if (i)
			strcat(s, ";");
		strcat(s, a->args[i].key);
		strcat(s, "=");
		strcat(s, a->args[i].value);
	}
	return s;
}

START_TEST(cni_args_built_as_multus_builds_them)
{
	struct meta_plan plan;
	struct cni_err err = { 0 };
	char *s;

	/* the fixed pairs first; then our CNI_ARGS: a key present with an empty value is filled,
	 * everything else appended (duplicates included), '=' inside values kept, junk skipped */
	ck_assert_int_eq(build("{\"delegates\":[" D("a") "]}", "eth0",
			       "IgnoreUnknown=1;K8S_POD_NAME=pod1;FOO=a=b;junk;K8S_POD_UID=x",
			       &plan, &err),
			 0);
	s = args_string(&plan.att[0]);
	ck_assert_str_eq(s,
			 "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;"
			 "K8S_POD_INFRA_CONTAINER_ID=sandbox-1;K8S_POD_UID=uid-1;IgnoreUnknown=1;"
			 "K8S_POD_NAME=pod1;FOO=a=b;K8S_POD_UID=x");
	free(s);
	meta_plan_free(&plan);
}
END_TEST

START_TEST(empty_k8s_values_are_filled_from_cni_args)
{
	static const struct meta_k8s_args empty = { "", "", "", "" };
	struct meta_plan plan = { 0 };
	struct cni_err err = { 0 };
	struct meta_netconf nc;
	char *s;

	netconf("{\"delegates\":[" D("a") "]}", &nc);
	plan.ifname = strdup("eth0");
	ck_assert_int_eq(meta_plan_add_static(&plan, &nc, &empty, NULL, &err), 0);
	ck_assert_int_eq(meta_plan_finish(&plan, &nc, "K8S_POD_UID=u2", &empty, &err), 0);
	s = args_string(&plan.att[0]);
	ck_assert_str_eq(s, "IgnoreUnknown=true;K8S_POD_NAMESPACE=;K8S_POD_NAME=;"
			    "K8S_POD_INFRA_CONTAINER_ID=;K8S_POD_UID=u2");
	free(s);
	meta_plan_free(&plan);
	meta_netconf_free(&nc);
}
END_TEST

START_TEST(runtime_config_keeps_only_what_multus_understands)
{
	struct meta_plan plan;
	struct cni_err err = { 0 };
	char *s;

	ck_assert_int_eq(
	    build("{\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":1,"
		  "\"containerPort\":2,\"protocol\":\"tcp\"}],\"ips\":[],\"mac\":\"\","
		  "\"dns\":{\"servers\":[\"1.1.1.1\"]},\"bandwidth\":{\"ingressRate\":1},"
		  "\"io.kubernetes.cri.pod-annotations\":{\"a\":\"b\"}},"
		  "\"delegates\":[" D("a") "," D("b") "]}",
		  "eth0", NULL, &plan, &err),
	    0);
	s = cJSON_PrintUnformatted(plan.att[1].cap_args);
	ck_assert_json_eq(s, "{\"portMappings\":[{\"hostPort\":1,\"containerPort\":2,"
			     "\"protocol\":\"tcp\"}],\"bandwidth\":{\"ingressRate\":1}}");
	free(s);
	meta_plan_free(&plan);
}
END_TEST

START_TEST(plan_round_trips_through_the_cache_format)
{
	struct meta_plan plan, back;
	struct cni_err err = { 0 };
	cJSON *j, *j2;

	ck_assert_int_eq(
	    build("{\"runtimeConfig\":{\"mac\":\"c2:00:00:00:00:01\"},\"delegates\":[" D(
		      "a") ",{\"name\":\"l\",\"plugins\":[{\"type\":\"x\",\"k\":\"\\u00e9\"}]}]}",
		  "eth0", "A=1", &plan, &err),
	    0);
	plan.container_id = strdup("c1");
	j = meta_plan_to_json(&plan);
	ck_assert_int_eq(meta_plan_from_json(j, &back, &err), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_str_eq(back.att[1].ifname, "net1");
	ck_assert_uint_eq(back.att[1].config_len, plan.att[1].config_len);
	ck_assert_int_eq(memcmp(back.att[1].config, plan.att[1].config, plan.att[1].config_len), 0);
	j2 = meta_plan_to_json(&back);
	ck_assert(cJSON_Compare(j, j2, 1));
	cJSON_Delete(j);
	cJSON_Delete(j2);
	meta_plan_free(&plan);
	meta_plan_free(&back);
}
END_TEST

START_TEST(corrupt_cache_documents_are_refused)
{
	static const char *const bad[] = {
		"{}",
		"{\"kind\":\"plexusCacheV1\"}",
		"{\"kind\":\"plexusCacheV1\",\"attachments\":[],\"ifname\":\"eth0\"}",
		"{\"kind\":\"plexusCacheV1\",\"containerID\":\"c\",\"ifname\":\"eth0\","
		"\"attachments\":[{\"network\":\"a\",\"ifname\":\"eth0\",\"config\":\"!!\"}]}",
		"{\"kind\":\"plexusCacheV1\",\"containerID\":\"c\",\"ifname\":\"eth0\","
		"\"attachments\":[{\"network\":\"a\",\"ifname\":\"eth0\",\"config\":\"e30=\","
		"\"cniArgs\":[[1,2]]}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct meta_plan plan;
		struct cni_err err = { 0 };
		cJSON *j = cJSON_Parse(bad[i]);

		ck_assert_msg(meta_plan_from_json(j, &plan, &err) == -1, "accepted %s", bad[i]);
		ck_assert_uint_eq(err.code, 6);
		cni_err_clear(&err);
		cJSON_Delete(j);
	}
}
END_TEST

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	struct cni_err err = { 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(cni_write_replace(path, text, strlen(text), 0600, CNI_WRITE_SHARED, &err),
			 0);
}

/* The one reader of plan files, and the one listing of a plan directory (DEL, GC, hot-plug and
 * plexus list go through them). */
START_TEST(plan_files_are_listed_by_container_and_loaded_or_refused_naming_the_file)
{
	char dir[64], path[128], missing[128], **names = NULL;
	struct cni_err err = { 0 };
	struct meta_plan plan = { 0 }, built;
	cJSON *j;
	char *text;
	int n;

	unit_tmpdir(dir, sizeof(dir), "plans");
	ck_assert_int_eq(build("{\"delegates\":[" D("a") "]}", "eth0", "", &built, &err), 0);
	built.container_id = strdup("c2");
	j = meta_plan_to_json(&built);
	text = cJSON_PrintUnformatted(j);
	put(dir, "c2", text);
	put(dir, "c1", "{\"kind\":\"cniCacheV1\"}");
	put(dir, "c3", "{\"kind\":");
	put(dir, "c2.lock", "");
	put(dir, "c1.tmp.77", "{}");
	put(dir, ".hidden", "{}");
	n = meta_plan_names(dir, &names, &err);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(names[0], "c1");
	ck_assert_str_eq(names[1], "c2");
	ck_assert_str_eq(names[2], "c3");
	meta_plan_names_free(names, n);

	snprintf(path, sizeof(path), "%s/c2", dir);
	ck_assert_int_eq(meta_plan_load(path, &plan, &err), 1);
	ck_assert_str_eq(plan.container_id, "c2");
	ck_assert_uint_eq(plan.n, 1);
	meta_plan_free(&plan);
	for (int i = 1; i <= 3; i += 2) {
		snprintf(path, sizeof(path), "%s/c%d", dir, i);
		ck_assert_int_eq(meta_plan_load(path, &plan, &err), -1);
		ck_assert_msg(strstr(err.msg, path), "names the file: %s", err.msg);
		ck_assert_uint_eq(err.code, 6);
		cni_err_clear(&err);
		meta_plan_free(&plan);
	}
	snprintf(missing, sizeof(missing), "%s/gone", dir);
	ck_assert_int_eq(meta_plan_load(missing, &plan, &err), 0);
	ck_assert(!cni_err_isset(&err));
	/* no directory: no plans; a file where the directory should be: an error naming it */
	ck_assert_int_eq(meta_plan_names(missing, &names, &err), 0);
	meta_plan_names_free(names, 0);
	ck_assert_int_eq(meta_plan_names(path, &names, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strstr(err.msg, path), "names the directory: %s", err.msg);
	cni_err_clear(&err);

	free(text);
	cJSON_Delete(j);
	meta_plan_free(&built);
	ck_assert_int_eq(unit_rmtree(dir), 0);
}
END_TEST

START_TEST(netconf_defaults_are_multus_defaults)
{
	struct meta_netconf nc;

	netconf("{\"delegates\":[" D("a") "],\"globalNamespaces\":\" a, b ,,c \"}", &nc);
	ck_assert_str_eq(nc.conf_dir, "/etc/cni/multus/net.d");
	ck_assert_str_eq(nc.cni_dir, "/var/lib/cni/multus");
	ck_assert_str_eq(nc.bin_dir, "/opt/cni/bin");
	ck_assert_str_eq(nc.multus_namespace, "kube-system");
	ck_assert(nc.log_to_stderr);
	ck_assert_uint_eq(nc.nsystem_namespaces, 1);
	ck_assert_str_eq(nc.system_namespaces[0], "kube-system");
	ck_assert_uint_eq(nc.nglobal_namespaces, 3);
	ck_assert_str_eq(nc.global_namespaces[0], "a");
	ck_assert_str_eq(nc.global_namespaces[1], "b");
	ck_assert_str_eq(nc.global_namespaces[2], "c");
	meta_netconf_free(&nc);
}
END_TEST

START_TEST(netconf_wrong_types_name_the_key)
{
	static const char *const cases[][2] = {
		{ "{\"delegates\":{}}", "\"delegates\" must be an array" },
		{ "{\"delegates\":[3]}", "\"delegates\"[0] must be an object" },
		{ "{\"clusterNetwork\":7}", "\"clusterNetwork\" must be a string" },
		{ "{\"clusterNetwork\":\"a\",\"defaultNetworks\":[1]}", "\"defaultNetworks\"[0]" },
		{ "{\"clusterNetwork\":\"a\",\"systemNamespaces\":\"x\"}",
		  "\"systemNamespaces\" must be an array" },
		{ "{\"clusterNetwork\":\"a\",\"namespaceIsolation\":1}",
		  "\"namespaceIsolation\" must be a boolean" },
		{ "{\"clusterNetwork\":\"a\",\"runtimeConfig\":[]}",
		  "\"runtimeConfig\" must be an object" },
		{ "{\"clusterNetwork\":\"a\",\"auxiliaryCNIChainName\":\"-x\"}",
		  "auxiliaryCNIChainName" },
		{ "{\"clusterNetwork\":\"a\",\"delegateTimeoutSeconds\":0}",
		  "delegateTimeoutSeconds" },
		{ "{\"clusterNetwork\":\"a\",\"readinessTimeoutSeconds\":1.5}",
		  "readinessTimeoutSeconds" },
		{ "{\"cniVersion\":\"1.0.0\",\"clusterNetwork\":\"a\",\"prevResult\":{\"ips\":[{"
		  "\"address\":\"x\"}]}}",
		  "prevResult" },
		{ "{\"clusterNetwork\":\"\"}",
		  "at least one delegate/clusterNetwork must be specified" },
		{ "{\"delegates\":[]}", "at least one delegate/clusterNetwork must be specified" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct meta_netconf nc;
		struct cni_err err = { 0 };

		ck_assert_msg(meta_netconf_parse(cases[i][0], strlen(cases[i][0]), &nc, &err) == -1,
			      "accepted %s", cases[i][0]);
		ck_assert_msg(err.code == 7, "code %u for %s", err.code, cases[i][0]);
		ck_assert_msg(strstr(err.msg, cases[i][1]) != NULL, "\"%s\" lacks \"%s\"", err.msg,
			      cases[i][1]);
		cni_err_clear(&err);
	}
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ifnames_count_every_delegate);
	tcase_add_test(tc, runtime_ifname_colliding_with_net_idx_is_refused);
	tcase_add_test(tc, explicit_request_colliding_with_automatic_name_is_refused);
	tcase_add_test(tc, invalid_requested_ifname_is_refused_with_code_4);
	tcase_add_test(tc, cni_args_built_as_multus_builds_them);
	tcase_add_test(tc, empty_k8s_values_are_filled_from_cni_args);
	tcase_add_test(tc, runtime_config_keeps_only_what_multus_understands);
	tcase_add_test(tc, plan_round_trips_through_the_cache_format);
	tcase_add_test(tc, corrupt_cache_documents_are_refused);
	tcase_add_test(tc,
		       plan_files_are_listed_by_container_and_loaded_or_refused_naming_the_file);
	tcase_add_test(tc, netconf_defaults_are_multus_defaults);
	tcase_add_test(tc, netconf_wrong_types_name_the_key);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(plan_suite)

/* test/unit/test_meta_hotplug.c: the sandboxes the annotation reconcile looks at
 * (meta_hotplug_find): plexus's plans, and those Multus attached before plexus replaced it,
 * found through Multus's cache <cniDir>/<containerID> and libcni's result cache on eth0 (the
 * layout of libcni api.go cacheAdd, as delegates/cache.c writes it). */
#include <stdio.h>

#include "cni/file.h"
#include "delegates/cache.h"
#include "meta/hotplug.h"
#include "meta/plan.h"
#include "test/unit/unit.h"

static char dir[64];

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "hotplug");
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

/* libcni's result cache of container cid on ifname: netns (NULL: none, as libcni before 1.2
 * writes it), the pod's CNI_ARGS (ns NULL: none), and a result whose interface ifname is in
 * sandbox (NULL: no interfaces) */
static void result_entry(const char *cid, const char *ifname, const char *netns, const char *ns,
			 const char *name, const char *sandbox)
{
	struct cni_kv args[] = { { "IgnoreUnknown", "true" },
				 { "K8S_POD_NAMESPACE", (char *)ns },
				 { "K8S_POD_NAME", (char *)name },
				 { "K8S_POD_UID", "uid-x" } };
	struct cni_err err = { 0 };
	char text[400];
	cJSON *result;

	snprintf(text, sizeof(text),
		 "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"vethx\"},"
		 "{\"name\":\"%s\",\"sandbox\":\"%s\"}]}",
		 ifname, sandbox ? sandbox : "");
	result = cJSON_Parse(text);
	ck_assert_int_eq(dlg_cache_write(dir, "net", cid, ifname, netns, ns ? args : NULL,
					 ns ? 4 : 0, NULL, "{}", 2, sandbox ? result : NULL, &err),
			 0);
	cJSON_Delete(result);
}

/* Multus's cache of cid: only that it is there counts */
static void multus_cache(const char *cid)
{
	struct cni_err err = { 0 };
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, cid);
	ck_assert_int_eq(cni_write_atomic(path, "[]", 2, 0600, CNI_WRITE_SHARED, &err), 0);
}

/* plexus's plan of cid for pod ns/name */
static void plan(const char *cid, const char *ns, const char *name)
{
	struct meta_plan p = { .container_id = (char *)cid,
			       .netns = (char *)"/run/netns/plan",
			       .ifname = (char *)"eth0",
			       .cni_version = (char *)"1.0.0",
			       .pod_namespace = (char *)ns,
			       .pod_name = (char *)name,
			       .pod_uid = (char *)"uid-plan" };
	struct cni_err err = { 0 };
	char path[160], *text, *pdir = meta_plan_dir(dir);
	cJSON *j = meta_plan_to_json(&p);

	ck_assert_ptr_nonnull(j);
	text = cJSON_PrintUnformatted(j);
	ck_assert_int_eq(cni_mkdir_p(pdir, 0700, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", pdir, cid);
	ck_assert_int_eq(cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, &err),
			 0);
	free(text);
	free(pdir);
	cJSON_Delete(j);
}

/* what meta_hotplug_find gives, as "cid netns ifname ns/name/uid" lines in its order */
static void found(const char *ns, const char *name, char *out, size_t size)
{
	struct meta_pod_plan *p;
	struct cni_err err = { 0 };
	size_t n, len = 0;

	ck_assert_msg(meta_hotplug_find(dir, ns, name, &p, &n, &err) == 0, "%s", err.msg);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s %s %s %s/%s/%s;",
					p[i].container_id, p[i].netns, p[i].ifname,
					p[i].pod_namespace, p[i].pod_name, p[i].pod_uid);
	ck_assert_uint_lt(len, size);
	meta_pod_plans_free(p, n);
}

START_TEST(pods_multus_attached_are_found_by_their_caches)
{
	char got[1024];

	/* a: Multus's cache, and the cluster network's result with the netns (libcni >= 1.2) */
	multus_cache("a");
	result_entry("a", "eth0", "/run/netns/a", "ns1", "pa", NULL);
	result_entry("a", "net1", "/run/netns/a", "ns1", "pa", NULL);
	/* e: an older libcni: no netns, the result's eth0 in its sandbox */
	multus_cache("e");
	result_entry("e", "eth0", NULL, "ns2", "pe", "/run/netns/e");
	/* not Multus's: no cache of its own (a delegate's result under another meta-plugin) */
	result_entry("b", "eth0", "/run/netns/b", "ns1", "pb", NULL);
	/* no result on eth0, so no netns nor pod known */
	multus_cache("c");
	result_entry("c", "net1", "/run/netns/c", "ns1", "pc", NULL);
	/* no pod in CNI_ARGS (a runtime that is not kubelet) */
	multus_cache("d");
	result_entry("d", "eth0", "/run/netns/d", NULL, NULL, NULL);
	/* neither a netns nor a sandbox */
	multus_cache("g");
	result_entry("g", "eth0", NULL, "ns1", "pg", NULL);
	/* plexus's plan and Multus's copy beside it: found once, as plexus's */
	plan("f", "ns1", "pf");
	multus_cache("f");
	result_entry("f", "eth0", "/run/netns/f", "ns1", "pf", NULL);

	found(NULL, NULL, got, sizeof(got));
	/* plans first, then Multus's pods in the result cache's directory order */
	ck_assert_msg(strncmp(got, "f /run/netns/plan eth0 ns1/pf/uid-plan;", 39) == 0, "%s", got);
	ck_assert_ptr_nonnull(strstr(got, "a /run/netns/a eth0 ns1/pa/uid-x;"));
	ck_assert_ptr_nonnull(strstr(got, "e /run/netns/e eth0 ns2/pe/uid-x;"));
	ck_assert_msg(strlen(got) == strlen("f /run/netns/plan eth0 ns1/pf/uid-plan;"
					    "a /run/netns/a eth0 ns1/pa/uid-x;"
					    "e /run/netns/e eth0 ns2/pe/uid-x;"),
		      "%s", got);
	found("ns2", NULL, got, sizeof(got));
	ck_assert_str_eq(got, "e /run/netns/e eth0 ns2/pe/uid-x;");
	found("ns1", "pa", got, sizeof(got));
	ck_assert_str_eq(got, "a /run/netns/a eth0 ns1/pa/uid-x;");
	found("ns1", "pb", got, sizeof(got));
	ck_assert_str_eq(got, "");
}
END_TEST

static Suite *hotplug_suite(void)
{
	Suite *s = suite_create("hotplug");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pods_multus_attached_are_found_by_their_caches);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(hotplug_suite)

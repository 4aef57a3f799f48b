/* test/unit/test_meta_cli.c: the pure parts of the operator commands: which file is the primary,
 * the capabilities union, the generated netconf and kubeconfig, list's reading of caches. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/base64.h"
#include "cni/config.h"
#include "cni/file.h"
#include "k8s/kubeconfig.h"
#include "ops/genconfig.h"
#include "ops/install.h"
#include "ops/list.h"
#include "test/unit/unit.h"

static char dir[64];

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "cli");
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

static void put(const char *name, const char *text)
{
	struct cni_err err = { 0 };
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_msg(cni_write_atomic(path, text, strlen(text), 0644, CNI_WRITE_SHARED, &err) == 0,
		      "%s", err.msg);
}

static char *slurp(const char *name)
{
	struct cni_err err = { 0 };
	char path[256], *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	text = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, &len, &err);
	ck_assert_msg(text != NULL, "%s: %s", path, err.msg ? err.msg : "absent");
	return text;
}

static void parse(const char *text, struct cni_conflist *list)
{
	struct cni_err err = { 0 };

	ck_assert_msg(cni_conflist_parse(text, strlen(text), list, &err) == 0, "%s", err.msg);
}

START_TEST(candidates_are_conf_and_conflist_files_not_ours_nor_multus)
{
	static const struct {
		const char *name;
		bool want;
	} cases[] = {
		{ "10-flannel.conflist", true },    { "99-bridge.conf", true },
		{ "10-calico.json", false }, /* libcni reads it, Multus's generator does not */
		{ "00-plexus.conflist", false },    { "00-plexus.conf", false },
		{ "00-multus.conf", false },	    { "00-multus.conflist", false },
		{ ".10-hidden.conf", false },	    { "10-x.conf.bak", false },
		{ "10-x.conflist.tmp.123", false }, { "README", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(ops_gen_is_candidate(cases[i].name) == cases[i].want, "%s: want %d",
			      cases[i].name, cases[i].want);
}
END_TEST

START_TEST(primary_is_the_first_candidate_in_byte_order)
{
	struct cni_err err = { 0 };
	char sub[128], *name;

	put("00-plexus.conflist", "{}");
	put("00-multus.conf", "{}");
	put("05-calico.json", "{}");
	put("Z-upper.conf", "{}"); /* 'Z' < 'a' in byte order, as libcni's sort.Strings */
	put("a-lower.conf", "{}");
	snprintf(sub, sizeof(sub), "%s/10-dir.conf", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	name = ops_gen_find_primary(dir, &err);
	ck_assert_str_eq(name, "Z-upper.conf");
	free(name);
}
END_TEST

START_TEST(no_primary_names_the_directory)
{
	struct cni_err err = { 0 };
	char want[160];

	put("00-plexus.conflist", "{}");
	ck_assert_ptr_null(ops_gen_find_primary(dir, &err));
	snprintf(want, sizeof(want), "no CNI network config (.conf or .conflist) in %s", dir);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(err.code, CNI_ERR_INVALID_CONFIG);
	cni_err_clear(&err);
}
END_TEST

START_TEST(capabilities_are_the_sorted_union_of_the_enabled_ones)
{
	struct cni_conflist list;
	cJSON *caps;
	char *text;

	parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":["
	      "{\"type\":\"calico\",\"capabilities\":{\"portMappings\":true,\"ips\":false}},"
	      "{\"type\":\"bandwidth\",\"capabilities\":{\"bandwidth\":true}},"
	      "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}},"
	      "{\"type\":\"tuning\"}]}",
	      &list);
	caps = ops_gen_capabilities(&list);
	text = cJSON_PrintUnformatted(caps);
	ck_assert_str_eq(text, "{\"bandwidth\":true,\"portMappings\":true}");
	free(text);
	cJSON_Delete(caps);
	cni_conflist_free(&list);

	parse("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"bridge\"}", &list);
	caps = ops_gen_capabilities(&list);
	ck_assert_ptr_null(caps->child);
	cJSON_Delete(caps);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(netconf_wraps_the_primary_as_its_one_delegate)
{
	const char *primary = "{\"cniVersion\":\"0.3.1\",\"name\":\"cbr0\",\"plugins\":["
			      "{\"type\":\"flannel\",\"delegate\":{\"hairpinMode\":true}},"
			      "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}";
	struct ops_gen_opts o = { .kubeconfig_host = "/etc/cni/net.d/plexus.d/plexus.kubeconfig",
				  .namespace_isolation = true,
				  .global_namespaces = "default,infra",
				  .log_level = "verbose",
				  .readiness_file = "/run/flannel/subnet.env" };
	struct cni_err err = { 0 };
	struct cni_conflist list;
	char *text, want[1024];

	parse(primary, &list);
	text = ops_gen_netconf(&list, "/p/10-flannel.conflist", &o, &err);
	ck_assert_msg(text != NULL, "%s", err.msg);
	snprintf(want, sizeof(want),
		 "{\"cniVersion\":\"0.3.1\",\"name\":\"plexus-cni-network\",\"plugins\":[{"
		 "\"type\":\"plexus\",\"logLevel\":\"verbose\",\"namespaceIsolation\":true,"
		 "\"globalNamespaces\":\"default,infra\","
		 "\"readinessindicatorfile\":\"/run/flannel/subnet.env\","
		 "\"kubeconfig\":\"/etc/cni/net.d/plexus.d/plexus.kubeconfig\","
		 "\"capabilities\":{\"portMappings\":true},\"delegates\":[%s]}]}",
		 primary);
	ck_assert_json_eq(text, want);
	ck_assert_msg(text[strlen(text) - 1] == '\n', "ends with a newline");
	free(text);

	/* --cni-version wins; --no-kubeconfig leaves the key out */
	o.cni_version = "1.0.0";
	o.no_kubeconfig = true;
	text = ops_gen_netconf(&list, "/p/10-flannel.conflist", &o, &err);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "kubeconfig"));
	ck_assert_ptr_nonnull(strstr(text, "\"cniVersion\": \"1.0.0\""));
	free(text);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(thick_netconf_is_the_shim_with_socket_dirs_and_no_kubeconfig)
{
	const char *primary = "{\"cniVersion\":\"1.0.0\",\"name\":\"cbr0\",\"plugins\":["
			      "{\"type\":\"bridge\"},"
			      "{\"type\":\"portmap\",\"capabilities\":{\"portMappings\":true}}]}";
	struct ops_gen_opts o = { .kubeconfig_host = "/etc/cni/net.d/plexus.d/plexus.kubeconfig",
				  .thick = true };
	struct cni_err err = { 0 };
	struct cni_conflist list;
	char *text, want[1024];

	parse(primary, &list);
	text = ops_gen_netconf(&list, "/p/10-bridge.conflist", &o, &err);
	ck_assert_msg(text != NULL, "%s", err.msg);
	snprintf(want, sizeof(want),
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-cni-network\",\"plugins\":[{"
		 "\"type\":\"plexus-shim\",\"daemonSocketPath\":\"/run/plexus/plexus.sock\","
		 "\"cniDir\":\"/var/lib/cni/multus\",\"binDir\":\"/opt/cni/bin\","
		 "\"capabilities\":{\"portMappings\":true},\"delegates\":[%s]}]}",
		 primary);
	ck_assert_json_eq(text, want);
	free(text);

	/* the options given win over the defaults */
	o.daemon_socket = "/run/multus/multus.sock";
	o.cni_dir = "/var/lib/cni/plexus";
	o.bin_dir = "/usr/libexec/cni";
	text = ops_gen_netconf(&list, "/p/10-bridge.conflist", &o, &err);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"daemonSocketPath\": \"/run/multus/multus.sock\""));
	ck_assert_ptr_nonnull(strstr(text, "\"cniDir\": \"/var/lib/cni/plexus\""));
	ck_assert_ptr_nonnull(strstr(text, "\"binDir\": \"/usr/libexec/cni\""));
	free(text);
	cni_conflist_free(&list);

	/* a thick config is a meta-plugin's: never wrapped */
	parse("{\"cniVersion\":\"1.0.0\",\"name\":\"m\",\"type\":\"plexus-shim\"}", &list);
	ck_assert_ptr_null(ops_gen_netconf(&list, "/p/00-old.conf", &o, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "/p/00-old.conf is itself a \"plexus-shim\" config"));
	cni_err_clear(&err);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(netconf_refuses_what_it_cannot_wrap_and_names_the_file)
{
	struct ops_gen_opts o = { .no_kubeconfig = true };
	struct cni_err err = { 0 };
	struct cni_conflist list;

	parse("{\"name\":\"n\",\"type\":\"bridge\"}", &list);
	ck_assert_ptr_null(ops_gen_netconf(&list, "/p/a.conf", &o, &err));
	ck_assert_str_eq(err.msg, "primary CNI config /p/a.conf has no cniVersion: give "
				  "--cni-version");
	cni_err_clear(&err);
	cni_conflist_free(&list);

	parse("{\"cniVersion\":\"9.0.0\",\"name\":\"n\",\"type\":\"bridge\"}", &list);
	ck_assert_ptr_null(ops_gen_netconf(&list, "/p/a.conf", &o, &err));
	ck_assert_uint_eq(err.code, CNI_ERR_INCOMPATIBLE_VERSION);
	ck_assert_ptr_nonnull(strstr(err.msg, "/p/a.conf: cniVersion \"9.0.0\""));
	cni_err_clear(&err);
	cni_conflist_free(&list);

	parse("{\"cniVersion\":\"0.3.1\",\"name\":\"m\",\"type\":\"multus\",\"delegates\":[]}",
	      &list);
	ck_assert_ptr_null(ops_gen_netconf(&list, "/p/00-old.conf", &o, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "/p/00-old.conf is itself a \"multus\" config"));
	cni_err_clear(&err);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(server_url_brackets_ipv6)
{
	static const char *const cases[][3] = {
		{ "10.96.0.1", "443", "https://10.96.0.1:443" },
		{ "fd00::1", "443", "https://[fd00::1]:443" },
		{ "[fd00::1]", "6443", "https://[fd00::1]:6443" },
		{ "api.example", "6443", "https://api.example:6443" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *url = ops_gen_server_url(cases[i][0], cases[i][1]);

		ck_assert_str_eq(url, cases[i][2]);
		free(url);
	}
}
END_TEST

START_TEST(kubeconfig_reads_back_with_the_token_file_next_to_it)
{
	struct k8s_creds creds = { 0 };
	struct cni_err err = { 0 };
	char *kc = ops_gen_kubeconfig("https://[fd00::1]:443", true);
	char path[128];

	put("plexus.kubeconfig", kc);
	put("token", "sekret\n");
	put("ca.crt", "-----BEGIN CERTIFICATE-----\n");
	snprintf(path, sizeof(path), "%s/plexus.kubeconfig", dir);
	ck_assert_msg(k8s_kubeconfig_load(path, &creds, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(creds.server, "https://[fd00::1]:443");
	ck_assert_str_eq(creds.token, "sekret");
	ck_assert_ptr_nonnull(creds.ca);
	/* the token is never in the kubeconfig itself: a rotation does not rewrite it */
	ck_assert_ptr_null(strstr(kc, "sekret"));
	k8s_creds_free(&creds);
	free(kc);
}
END_TEST

static struct ops_gen_opts once_opts(char *kc, size_t n)
{
	snprintf(kc, n, "%s/plexus.d/plexus.kubeconfig", dir);
	return (
	    struct ops_gen_opts){ .conf_dir = dir, .no_kubeconfig = true, .kubeconfig_out = kc };
}

START_TEST(once_writes_0600_then_reports_nothing_changed)
{
	struct cni_err err = { 0 };
	char kc[160], path[160];
	struct ops_gen_opts o = once_opts(kc, sizeof(kc));
	struct stat st;
	ino_t ino;

	put("10-bridge.conf", "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"type\":\"bridge\"}");
	ck_assert_msg(ops_gen_once(&o, NULL, &err) == 1, "%s", err.msg);
	snprintf(path, sizeof(path), "%s/00-plexus.conflist", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ino = st.st_ino;
	ck_assert_int_eq(ops_gen_once(&o, NULL, &err), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, ino);
}
END_TEST

START_TEST(once_keeps_the_old_config_when_the_primary_is_broken)
{
	struct cni_err err = { 0 };
	char kc[160], want[256];
	struct ops_gen_opts o = once_opts(kc, sizeof(kc));
	char *before, *after;

	put("10-bridge.conf", "{\"cniVersion\":\"1.0.0\",\"name\":\"b\",\"type\":\"bridge\"}");
	ck_assert_int_eq(ops_gen_once(&o, NULL, &err), 1);
	before = slurp("00-plexus.conflist");
	put("10-bridge.conf", "{\"cniVersion\":\"1.0.0\",\"na");
	ck_assert_int_eq(ops_gen_once(&o, NULL, &err), -1);
	snprintf(want, sizeof(want),
		 "%s/00-plexus.conflist kept as it was: primary CNI config %s/10-bridge.conf", dir,
		 dir);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got: %s", err.msg);
	cni_err_clear(&err);
	after = slurp("00-plexus.conflist");
	ck_assert_str_eq(after, before);
	free(before);
	free(after);
}
END_TEST

START_TEST(list_reads_caches_and_reports_bad_ones)
{
	struct cni_err err = { 0 };
	char sub[128];
	char *b64 =
	    cni_base64_encode("{\"cniVersion\":\"1.0.0\",\"name\":\"sr\",\"plugins\":[{\"type\":"
			      "\"sriov\"},{\"type\":\"tuning\"}]}",
			      strlen("{\"cniVersion\":\"1.0.0\",\"name\":\"sr\",\"plugins\":[{"
				     "\"type\":\"sriov\"},{\"type\":\"tuning\"}]}"));
	char cache[1024];
	cJSON *doc, *bad;
	char *text, *table = NULL;
	size_t tlen = 0;
	FILE *f;

	snprintf(sub, sizeof(sub), "%s/plexus", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(cache, sizeof(cache),
		 "{\"kind\":\"plexusCacheV1\",\"containerID\":\"c1\",\"netns\":\"/run/netns/x\","
		 "\"ifname\":\"eth0\",\"cniVersion\":\"1.0.0\",\"podNamespace\":\"ns\","
		 "\"podName\":\"p\",\"attachments\":[{\"network\":\"sr\",\"statusName\":\"ns/sr\","
		 "\"ifname\":\"net1\",\"config\":\"%s\",\"deviceID\":\"0000:3b:02.1\"}]}",
		 b64);
	free(b64);
	put("plexus/c1", cache);
	put("plexus/c2", "{\"kind\":");
	put("plexus/c1.lock", "");
	doc = ops_list_collect(dir, &err);
	ck_assert_msg(doc != NULL, "%s", err.msg);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "containers")), 2);
	text =
	    cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "containers"), 0));
	snprintf(cache, sizeof(cache),
		 "{\"containerID\":\"c1\",\"file\":\"%s/plexus/c1\",\"podNamespace\":\"ns\","
		 "\"podName\":\"p\",\"netns\":\"/run/netns/x\",\"ifname\":\"eth0\","
		 "\"cniVersion\":\"1.0.0\",\"attachments\":[{\"ifname\":\"net1\",\"network\":"
		 "\"sr\",\"statusName\":\"ns/sr\",\"master\":false,\"types\":[\"sriov\","
		 "\"tuning\"],\"deviceID\":\"0000:3b:02.1\"}]}",
		 dir);
	ck_assert_json_eq(text, cache);
	free(text);
	bad = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "containers"), 1);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(bad, "containerID")), "c2");
	ck_assert_ptr_nonnull(cJSON_GetObjectItem(bad, "file"));
	/* the wording is the JSON parser's; it names the file */
	ck_assert_ptr_nonnull(
	    strstr(cJSON_GetStringValue(cJSON_GetObjectItem(bad, "error")), "plexus/c2"));
	ck_assert_ptr_null(cJSON_GetObjectItem(bad, "attachments"));

	f = open_memstream(&table, &tlen);
	ops_list_table(doc, false, f);
	fclose(f);
	ck_assert_msg(strstr(table, "c1         ns/p  /run/netns/x  net1    ns/sr    sriov,tuning  "
				    "0000:3b:02.1\n"),
		      "table:\n%s", table);
	ck_assert_msg(strstr(table, "c2               (unreadable cache: "), "table:\n%s", table);
	free(table);
	cJSON_Delete(doc);
}
END_TEST

START_TEST(install_replaces_by_rename_and_skips_identical_files)
{
	struct cni_err err = { 0 };
	char src[160], bin[160], dst[192];
	struct stat st;
	ino_t ino;

	put("prog", "#!/bin/sh\necho 1\n");
	snprintf(src, sizeof(src), "%s/prog", dir);
	ck_assert_int_eq(chmod(src, 0755), 0);
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	ck_assert_int_eq(mkdir(bin, 0755), 0);
	ck_assert_msg(ops_install_file(src, bin, "plexus", NULL, &err) == 1, "%s", err.msg);
	snprintf(dst, sizeof(dst), "%s/plexus", bin);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ino = st.st_ino;
	ck_assert_int_eq(ops_install_file(src, bin, "plexus", NULL, &err), 0);
	put("prog", "#!/bin/sh\necho 2\n");
	ck_assert_int_eq(chmod(src, 0755), 0);
	ck_assert_int_eq(ops_install_file(src, bin, "plexus", NULL, &err), 1);
	ck_assert_int_eq(stat(dst, &st), 0);
	ck_assert_uint_ne(st.st_ino, ino);

	/* not executable: refused, naming it */
	ck_assert_int_eq(chmod(src, 0644), 0);
	ck_assert_int_eq(ops_install_file(src, bin, "plexus", NULL, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "prog: not an executable file"));
	cni_err_clear(&err);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *pure = tcase_create("pure"), *files = tcase_create("files");

	tcase_add_test(pure, candidates_are_conf_and_conflist_files_not_ours_nor_multus);
	tcase_add_test(pure, capabilities_are_the_sorted_union_of_the_enabled_ones);
	tcase_add_test(pure, netconf_wraps_the_primary_as_its_one_delegate);
	tcase_add_test(pure, thick_netconf_is_the_shim_with_socket_dirs_and_no_kubeconfig);
	tcase_add_test(pure, netconf_refuses_what_it_cannot_wrap_and_names_the_file);
	tcase_add_test(pure, server_url_brackets_ipv6);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, primary_is_the_first_candidate_in_byte_order);
	tcase_add_test(files, no_primary_names_the_directory);
	tcase_add_test(files, kubeconfig_reads_back_with_the_token_file_next_to_it);
	tcase_add_test(files, once_writes_0600_then_reports_nothing_changed);
	tcase_add_test(files, once_keeps_the_old_config_when_the_primary_is_broken);
	tcase_add_test(files, list_reads_caches_and_reports_bad_ones);
	tcase_add_test(files, install_replaces_by_rename_and_skips_identical_files);
	suite_add_tcase(s, files);
	return s;
}

UNIT_MAIN(cli_suite)

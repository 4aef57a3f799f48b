/* test/unit/test_k8s_kubeconfig.c: kubeconfig keys in every form, in-cluster credentials, errors.
 * Expected behaviour is client-go's (clientcmd, rest.InClusterConfig); tokens never in messages. */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"
#include "test/unit/unit.h"

static char dir[64];

static void setup(void)
{
	unit_tmpdir(dir, sizeof(dir), "kc");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(dir), 0);
}

/* Writes dir/name and returns its path (static buffer, one at a time). */
static const char *put(const char *name, const char *text)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	return path;
}

#define HEAD                                                                                       \
	"apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"                                     \
	"contexts:\n- name: other\n  context: {cluster: nowhere, user: nobody}\n"                  \
	"- name: ctx\n  context:\n    cluster: k\n    user: u\n    namespace: team-a\n"

/* Loads text as a kubeconfig; fails the test unless it loads. */
static void load_ok(const char *text, struct k8s_creds *c)
{
	struct cni_err err = { 0 };

	ck_assert_msg(k8s_kubeconfig_load(put("config", text), c, &err) == 0, "load: %s", err.msg);
}

/* Loads text; expects failure with a message containing want (after "kubeconfig <path>: "). */
static void load_fails(const char *text, const char *want)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };
	char prefix[PATH_MAX + 16];

	ck_assert_int_eq(k8s_kubeconfig_load(put("config", text), &c, &err), -1);
	snprintf(prefix, sizeof(prefix), "kubeconfig %s/config: ", dir);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "no prefix: %s", err.msg);
	ck_assert_msg(strstr(err.msg, want), "got  %s\nwant %s", err.msg, want);
	ck_assert_ptr_null(c.server);
	cni_err_clear(&err);
}

START_TEST(token_and_relative_ca_file)
{
	struct k8s_creds c;

	put("ca.pem", "CA PEM\n");
	load_ok(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://10.0.0.1:6443/\n"
		     "    certificate-authority: ca.pem\n"
		     "users:\n- name: u\n  user:\n    token: abc.def\n",
		&c);
	ck_assert_str_eq(c.server, "https://10.0.0.1:6443");
	ck_assert_uint_eq(c.ca_len, 7);
	ck_assert_int_eq(memcmp(c.ca, "CA PEM\n", 7), 0);
	ck_assert_str_eq(c.token, "abc.def");
	ck_assert_str_eq(c.namespace, "team-a");
	ck_assert(!c.insecure);
	ck_assert_ptr_null(c.cert);
	k8s_creds_free(&c);
}
END_TEST

START_TEST(inline_data_is_base64_decoded)
{
	struct k8s_creds c;

	/* "CA", "CERT", "KEY" */
	load_ok(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
		     "    certificate-authority-data: Q0E=\n"
		     "users:\n- name: u\n  user:\n    client-certificate-data: Q0VSVA==\n"
		     "    client-key-data: S0VZ\n",
		&c);
	ck_assert_uint_eq(c.ca_len, 2);
	ck_assert_int_eq(memcmp(c.ca, "CA", 2), 0);
	ck_assert_uint_eq(c.cert_len, 4);
	ck_assert_int_eq(memcmp(c.cert, "CERT", 4), 0);
	ck_assert_uint_eq(c.key_len, 3);
	ck_assert_int_eq(memcmp(c.key, "KEY", 3), 0);
	ck_assert_ptr_null(c.token);
	k8s_creds_free(&c);
}
END_TEST

START_TEST(client_certificate_files_absolute_and_relative)
{
	struct k8s_creds c;
	char *text = NULL;

	put("crt.pem", "CERT");
	put("key.pem", "KEY");
	ck_assert_int_gt(asprintf(&text,
				  HEAD
				  "clusters:\n- name: k\n  cluster: {server: 'https://h:1'}\n"
				  "users:\n- name: u\n  user:\n    client-certificate: %s/crt.pem\n"
				  "    client-key: key.pem\n",
				  dir),
			 0);
	load_ok(text, &c);
	ck_assert_int_eq(memcmp(c.cert, "CERT", 4), 0);
	ck_assert_int_eq(memcmp(c.key, "KEY", 3), 0);
	k8s_creds_free(&c);
	free(text);
}
END_TEST

START_TEST(token_file_wins_over_token_and_is_trimmed)
{
	struct k8s_creds c;

	put("tok", "from-file\n");
	load_ok(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
		     "users:\n- name: u\n  user:\n    token: inline\n    tokenFile: tok\n",
		&c);
	ck_assert_str_eq(c.token, "from-file");
	k8s_creds_free(&c);
}
END_TEST

START_TEST(insecure_skip_tls_verify_in_yaml_boolean_forms)
{
	static const char *const yes[] = { "true", "True", "yes", "on" };

	for (size_t i = 0; i < 4; i++) {
		struct k8s_creds c;
		char *text = NULL;

		ck_assert_int_gt(asprintf(&text,
					  HEAD "clusters:\n- name: k\n  cluster:\n    server: "
					       "https://h\n    insecure-skip-tls-verify: %s\n"
					       "users:\n- name: u\n  user: {}\n",
					  yes[i]),
				 0);
		load_ok(text, &c);
		ck_assert_msg(c.insecure, "%s", yes[i]);
		k8s_creds_free(&c);
		free(text);
	}
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
			"    insecure-skip-tls-verify: maybe\nusers:\n- name: u\n  user: {}\n",
		   "clusters[\"k\"].cluster.insecure-skip-tls-verify must be a boolean");
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
			"    insecure-skip-tls-verify: true\n    certificate-authority-data: Q0E=\n"
			"users:\n- name: u\n  user: {}\n",
		   "specifying a root certificates file with the insecure flag is not allowed");
}
END_TEST

START_TEST(json_kubeconfig_and_anonymous_user)
{
	struct k8s_creds c;

	load_ok("{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\",\"context\":{\"cluster\":"
		"\"k\"}}],\"clusters\":[{\"name\":\"k\",\"cluster\":{\"server\":\"http://127.0.0.1:"
		"8080\"}}]}",
		&c);
	ck_assert_str_eq(c.server, "http://127.0.0.1:8080");
	ck_assert_ptr_null(c.token);
	ck_assert_ptr_null(c.namespace);
	ck_assert_ptr_nonnull(strstr(c.source, "kubeconfig "));
	k8s_creds_free(&c);
}
END_TEST

START_TEST(missing_pieces_are_named)
{
	load_fails("", "invalid configuration: no configuration has been provided");
	load_fails("- a\n- b\n", "must be a YAML map");
	load_fails("clusters: []\n", "current-context is not set");
	load_fails("current-context: nope\ncontexts: []\n", "no contexts entry named \"nope\"");
	load_fails("current-context: c\ncontexts:\n- name: c\n  context: {user: u}\n",
		   "contexts[\"c\"].context.cluster is not set");
	load_fails(HEAD "clusters:\n- name: other\n  cluster: {server: https://h}\n",
		   "no clusters entry named \"k\"");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {}\n",
		   "clusters[\"k\"].cluster.server is missing");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: ftp://h}\n",
		   "must be an https:// or http:// URL");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n",
		   "no users entry named \"u\"");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n",
		   "users[\"u\"].user must be a map");
	load_fails(HEAD "clusters: {k: 1}\n", "clusters must be a list");
}
END_TEST

START_TEST(wrong_types_and_bad_values_are_named)
{
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: {a: b}\n",
		   "clusters[\"k\"].cluster.server must be a string");
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
			"    certificate-authority-data: '!!!'\n",
		   "clusters[\"k\"].cluster.certificate-authority-data is not valid base64");
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
			"    certificate-authority: a\n    certificate-authority-data: Q0E=\n",
		   "certificate-authority and certificate-authority-data are both set");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n  user:\n    client-certificate-data: Q0E=\n",
		   "client-certificate and client-key must be given together");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n  user:\n    exec: {command: aws}\n",
		   "users[\"u\"].user.exec: exec credential plugins are not supported");
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n  user:\n    username: admin\n",
		   "basic authentication is not supported");
	load_fails("current-context: [unclosed\n", "line 2 column 1: did not find expected");
}
END_TEST

START_TEST(unreadable_files_name_the_file_and_key_but_never_the_token)
{
	char want[PATH_MAX + 64];

	snprintf(want, sizeof(want),
		 "users[\"u\"].user.client-key %s/missing.key: No such file or directory", dir);
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n  user:\n    token: sekr3t-t0ken\n"
			"    client-certificate-data: Q0E=\n    client-key: missing.key\n",
		   want);
	snprintf(want, sizeof(want),
		 "clusters[\"k\"].cluster.certificate-authority %s/nope.pem: No such file", dir);
	load_fails(HEAD "clusters:\n- name: k\n  cluster:\n    server: https://h\n"
			"    certificate-authority: nope.pem\n",
		   want);
	snprintf(want, sizeof(want), "users[\"u\"].user.tokenFile %s/.: not a regular file", dir);
	load_fails(HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
			"users:\n- name: u\n  user:\n    token: sekr3t-t0ken\n    tokenFile: .\n",
		   want);
	{
		struct k8s_creds c;
		struct cni_err err = { 0 };

		put("config", HEAD "clusters:\n- name: k\n  cluster: {server: https://h}\n"
				   "users:\n- name: u\n  user:\n    token: sekr3t-t0ken\n"
				   "    client-key: missing.key\n");
		ck_assert_int_eq(k8s_kubeconfig_load(put("config2", "x: [sekr3t-t0ken"), &c, &err),
				 -1);
		ck_assert_ptr_null(strstr(err.msg, "sekr3t"));
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(missing_kubeconfig_names_the_file)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };

	ck_assert_int_eq(k8s_kubeconfig_load("/nonexistent/kubeconfig", &c, &err), -1);
	ck_assert_str_eq(err.msg, "kubeconfig /nonexistent/kubeconfig: No such file or directory");
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
}
END_TEST

/* A service-account mount as kubelet makes it: files are symlinks into ..data/. */
static const char *sa_dir(const char *token)
{
	static char sa[PATH_MAX];
	char p[PATH_MAX + 32], d[PATH_MAX + 32];

	snprintf(sa, sizeof(sa), "%s/sa", dir);
	mkdir(sa, 0755);
	snprintf(d, sizeof(d), "%s/..data", sa);
	mkdir(d, 0755);
	if (token) {
		put("sa/..data/token", token);
		snprintf(p, sizeof(p), "%s/token", sa);
		ck_assert_int_eq(symlink("..data/token", p), 0);
	}
	put("sa/..data/ca.crt", "SA CA");
	snprintf(p, sizeof(p), "%s/ca.crt", sa);
	ck_assert_int_eq(symlink("..data/ca.crt", p), 0);
	put("sa/namespace", "kube-system\n");
	return sa;
}

START_TEST(in_cluster_reads_the_service_account_through_symlinks)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_msg(k8s_incluster_load(sa_dir("sa-token\n"), &c, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(c.server, "https://10.96.0.1:443");
	ck_assert_str_eq(c.token, "sa-token");
	ck_assert_int_eq(memcmp(c.ca, "SA CA", 5), 0);
	ck_assert_str_eq(c.namespace, "kube-system");
	k8s_creds_free(&c);
}
END_TEST

START_TEST(in_cluster_ipv6_host_is_bracketed)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	ck_assert_int_eq(k8s_incluster_load(sa_dir("t"), &c, &err), 0);
	ck_assert_str_eq(c.server, "https://[fd00::1]:6443");
	k8s_creds_free(&c);
}
END_TEST

START_TEST(in_cluster_without_token_or_env_fails_clearly)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };
	const char *sa = sa_dir(NULL);
	char want[PATH_MAX + 64];

	ck_assert_int_eq(k8s_incluster_load(sa, &c, &err), -1);
	ck_assert_uint_eq(err.code, 4);
	ck_assert_ptr_nonnull(strstr(err.msg, "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
					      "must be defined"));
	cni_err_clear(&err);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(k8s_incluster_load(sa, &c, &err), -1);
	snprintf(want, sizeof(want), "service account token %s/token: No such file or directory",
		 sa);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(err.code, 5);
	cni_err_clear(&err);
}
END_TEST

START_TEST(creds_load_chooses_like_multus)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };
	const char *sa = sa_dir("t");
	char kc[PATH_MAX];

	/* Neither: no API, not an error. */
	ck_assert_int_eq(k8s_creds_load("", sa, &c, &err), 0);
	ck_assert_ptr_null(c.server);
	ck_assert_int_eq(k8s_creds_load(NULL, sa, &c, &err), 0);
	/* Only one of the two variables is not enough. */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	ck_assert_int_eq(k8s_creds_load("", sa, &c, &err), 0);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(k8s_creds_load("", sa, &c, &err), 1);
	ck_assert_str_eq(c.server, "https://10.96.0.1:443");
	k8s_creds_free(&c);
	/* A kubeconfig wins over the environment. */
	snprintf(kc, sizeof(kc), "%s",
		 put("config", HEAD "clusters:\n- name: k\n  cluster: "
				    "{server: https://kc}\nusers:\n- name: u\n"
				    "  user: {token: x}\n"));
	ck_assert_int_eq(k8s_creds_load(kc, sa, &c, &err), 1);
	ck_assert_str_eq(c.server, "https://kc");
	k8s_creds_free(&c);
	ck_assert_int_eq(k8s_creds_load("/nonexistent", sa, &c, &err), -1);
	cni_err_clear(&err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_kubeconfig");
	TCase *tc = tcase_create("kubeconfig");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, token_and_relative_ca_file);
	tcase_add_test(tc, inline_data_is_base64_decoded);
	tcase_add_test(tc, client_certificate_files_absolute_and_relative);
	tcase_add_test(tc, token_file_wins_over_token_and_is_trimmed);
	tcase_add_test(tc, insecure_skip_tls_verify_in_yaml_boolean_forms);
	tcase_add_test(tc, json_kubeconfig_and_anonymous_user);
	tcase_add_test(tc, missing_pieces_are_named);
	tcase_add_test(tc, wrong_types_and_bad_values_are_named);
	tcase_add_test(tc, unreadable_files_name_the_file_and_key_but_never_the_token);
	tcase_add_test(tc, missing_kubeconfig_names_the_file);
	tcase_add_test(tc, in_cluster_reads_the_service_account_through_symlinks);
	tcase_add_test(tc, in_cluster_ipv6_host_is_bracketed);
	tcase_add_test(tc, in_cluster_without_token_or_env_fails_clearly);
	tcase_add_test(tc, creds_load_chooses_like_multus);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

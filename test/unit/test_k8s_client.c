/* test/unit/test_k8s_client.c: the REST client against the kube-apiserver stand-in over real TLS.
 * The stand-in (test/stand-ins/apiserver.py) records every request, so tests count them. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cni/base64.h"
#include "k8s/api.h"
#include "k8s/curl.h"
#include "k8s/kubeconfig.h"
#include "test/unit/unit.h"

static char dir[64];	/* the stand-in's certificates and log */
static char server[64]; /* https://127.0.0.1:PORT */
static pid_t standin = -1;
static struct k8s_client *ctl; /* control-endpoint client: its requests are not logged */

/* Credentials as a kubeconfig would give them: the stand-in's CA, optionally a token. */
static void creds_with(struct k8s_creds *c, const char *ca_file, const char *token)
{
	memset(c, 0, sizeof(*c));
	c->server = strdup(server);
	if (ca_file)
		c->ca = unit_slurp(dir, ca_file, &c->ca_len);
	if (token)
		c->token = strdup(token);
}

static struct k8s_client *client_with(const char *ca_file, const char *token,
				      const struct k8s_client_opts *opts)
{
	struct k8s_creds c;
	struct cni_err err = { 0 };
	struct k8s_client *cl;

	creds_with(&c, ca_file, token);
	cl = k8s_client_new(&c, opts, &err);
	ck_assert_ptr_nonnull(cl);
	k8s_creds_free(&c);
	return cl;
}

static cJSON *control(const char *method, const char *path, const char *body)
{
	struct cni_err err = { 0 };
	cJSON *out = NULL;
	int ret = k8s_request(ctl, method, path, "control", body ? "application/json" : NULL, body,
			      false, &out, &err);

	ck_assert_msg(ret == 0, "control %s %s: %s", method, path, err.msg);
	return out;
}

static void faults(const char *json)
{
	cJSON_Delete(control("POST", "/_standin/faults", json));
}

/* The API requests the stand-in saw since the last reset: count, and distinct connections. */
static cJSON *request_log(size_t *n, size_t *conns)
{
	cJSON *log = control("GET", "/_standin/requests", NULL), *e;
	double seen[256];
	size_t ns = 0;

	*n = 0;
	cJSON_ArrayForEach(e, log)
	{
		double conn = cJSON_GetObjectItem(e, "conn")->valuedouble;
		bool dup = false;

		(*n)++;
		for (size_t i = 0; i < ns; i++)
			dup = dup || seen[i] == conn;
		if (!dup && ns < 256)
			seen[ns++] = conn;
	}
	*conns = ns;
	return log;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void standin_start(void)
{
	standin = unit_apiserver("apiserver-fixture.json", "k8s", dir, sizeof(dir), server,
				 sizeof(server));
	ctl = client_with("ca.crt", NULL, NULL);
}

static void standin_stop(void)
{
	k8s_client_free(ctl);
	unit_standin_stop(standin);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Every test starts with no faults and an empty request log. */
static void reset(void)
{
	faults("{}");
	cJSON_Delete(control("POST", "/_standin/reset-log", "{}"));
}

/* Runs in its own TCase, first, with no stand-in and no fixture: nothing has made a request
 * in this process (or, in fork mode, in the parent it was forked from). */
START_TEST(curl_is_loaded_by_the_first_request_only)
{
	struct k8s_client_opts o = { .budget_ms = 50 };
	struct k8s_creds cr = { .server = "https://127.0.0.1:1" };
	struct cni_err err = { 0 };
	struct k8s_client *c = k8s_client_new(&cr, &o, &err);
	cJSON *pod = NULL;
	FILE *maps;
	char line[512];
	bool mapped = false;

	ck_assert(!k8s_client_curl_loaded());
	maps = fopen("/proc/self/maps", "r");
	while (fgets(line, sizeof(line), maps))
		mapped = mapped || strstr(line, "libcurl") != NULL;
	fclose(maps);
	ck_assert_msg(!mapped, "libcurl is mapped before any request (linked, not dlopen'ed)");
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert(k8s_client_curl_loaded());
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(get_pod_returns_the_object)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;
	size_t n, conns;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), 0);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "uid")->valuestring,
	    "6f1c7b0e-0000-4000-8000-000000000001");
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 1);
	cJSON_Delete(pod);
	k8s_client_free(c);
}
END_TEST

START_TEST(get_nad_returns_the_object)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *nad = NULL, *log;
	size_t n, conns;

	ck_assert_int_eq(k8s_get_nad(c, "ns1", "net-a", &nad, &err), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(nad, "kind")->valuestring,
			 "NetworkAttachmentDefinition");
	log = request_log(&n, &conns);
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "path")->valuestring,
	    "/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/net-a");
	cJSON_Delete(log);
	cJSON_Delete(nad);
	k8s_client_free(c);
}
END_TEST

START_TEST(missing_pod_and_nad_are_not_found_without_retry)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *obj = (cJSON *)1;
	size_t n, conns;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "gone", &obj, &err), -ENOENT);
	ck_assert_ptr_null(obj);
	ck_assert_str_eq(err.msg, "GET pods/ns1/gone: 404 Not Found: pods \"gone\" not found");
	cni_err_clear(&err);
	ck_assert_int_eq(k8s_get_nad(c, "ns1", "nope", &obj, &err), -ENOENT);
	ck_assert_str_eq(err.msg,
			 "GET network-attachment-definitions/ns1/nope: 404 Not Found: "
			 "network-attachment-definitions.k8s.cni.cncf.io \"nope\" not found");
	cni_err_clear(&err);
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 2);
	k8s_client_free(c);
}
END_TEST

START_TEST(wrong_token_is_401_and_never_shown)
{
	struct k8s_client *c = client_with("ca.crt", "s3cret-wrong-token", NULL);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;
	size_t n, conns;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_str_eq(err.msg, "GET pods/ns1/p1: 401 Unauthorized: Unauthorized");
	ck_assert_uint_eq(err.code, 5);
	ck_assert_ptr_null(strstr(err.msg, "s3cret"));
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 1); /* 401 is not transient */
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(forbidden_user_gets_the_status_message)
{
	struct k8s_client *c = client_with("ca.crt", "limited-token", NULL);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_str_eq(err.msg,
			 "GET pods/ns1/p1: 403 Forbidden: pods \"p1\" is forbidden: User "
			 "\"nobody\" cannot get resource \"pods\" in API group \"\" in the "
			 "namespace \"ns1\"");
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(patch_merges_annotations_and_keeps_everything_else)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *patch = cJSON_Parse("{\"k8s.v1.cni.cncf.io/network-status\":\"[]\",\"drop\":null}");
	cJSON *pod, *log, *an;
	size_t n, conns;

	cJSON_Delete(
	    control("POST", "/_standin/objects",
		    "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"patched\",\"namespace\":"
		    "\"ns1\",\"annotations\":{\"keep\":\"me\",\"drop\":\"x\"}},\"spec\":"
		    "{\"nodeName\":\"n\"},\"status\":{\"resourceClaimStatuses\":[{\"name\":"
		    "\"gpu\"}]}}"));
	reset();
	ck_assert_int_eq(k8s_patch_pod_annotations(c, "ns1", "patched", patch, &err), 0);
	pod = control("GET", "/_standin/objects/pods/ns1/patched", NULL);
	an = cJSON_GetObjectItem(cJSON_GetObjectItem(pod, "metadata"), "annotations");
	{
		char *got = cJSON_PrintUnformatted(an);

		ck_assert_json_eq(got, "{\"keep\":\"me\",\"k8s.v1.cni.cncf.io/network-status\":"
				       "\"[]\"}");
		free(got);
		got = cJSON_PrintUnformatted(cJSON_GetObjectItem(pod, "status"));
		ck_assert_json_eq(got, "{\"resourceClaimStatuses\":[{\"name\":\"gpu\"}]}");
		free(got);
	}
	log = request_log(&n, &conns);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "method")->valuestring,
			 "PATCH");
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "path")->valuestring,
			 "/api/v1/namespaces/ns1/pods/patched/status");
	cJSON_Delete(log);
	cJSON_Delete(pod);
	cJSON_Delete(patch);
	k8s_client_free(c);
}
END_TEST

START_TEST(patch_of_a_deleted_pod_is_not_found)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *patch = cJSON_Parse("{\"a\":\"b\"}");

	ck_assert_int_eq(k8s_patch_pod_annotations(c, "ns1", "never-was", patch, &err), -ENOENT);
	ck_assert_str_eq(err.msg, "PATCH pods/ns1/never-was/status: 404 Not Found: pods "
				  "\"never-was\" not found");
	cni_err_clear(&err);
	cJSON_Delete(patch);
	k8s_client_free(c);
}
END_TEST

START_TEST(bursts_of_503_429_500_are_retried_within_the_budget)
{
	static const char *const bursts[] = {
		"{\"status\":503,\"count\":2}",
		"{\"status\":429,\"count\":1,\"retry_after\":0}",
		"{\"status\":500,\"count\":3}",
	};
	static const size_t want[] = { 3, 2, 4 };
	struct k8s_client_opts o = { .backoff_ms = 20 };
	struct k8s_client *c = client_with("ca.crt", "good-token", &o);

	for (size_t i = 0; i < 3; i++) {
		struct cni_err err = { 0 };
		cJSON *pod = NULL;
		size_t n, conns;

		reset();
		faults(bursts[i]);
		ck_assert_msg(k8s_get_pod(c, "ns1", "p1", &pod, &err) == 0, "%s: %s", bursts[i],
			      err.msg);
		cJSON_Delete(request_log(&n, &conns));
		ck_assert_msg(n == want[i], "%s: %zu requests, want %zu", bursts[i], n, want[i]);
		ck_assert_uint_eq(conns, 1); /* error replies keep the connection alive */
		cJSON_Delete(pod);
	}
	k8s_client_free(c);
}
END_TEST

START_TEST(gives_up_past_the_budget_with_a_clear_error)
{
	struct k8s_client_opts o = { .budget_ms = 600, .backoff_ms = 50 };
	struct k8s_client *c = client_with("ca.crt", "good-token", &o);
	struct cni_err err = { 0 };
	struct timespec t0;
	cJSON *pod = NULL;
	size_t n, conns;
	long ms;

	faults("{\"status\":503,\"count\":1000}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ms = elapsed_ms(&t0);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "GET pods/ns1/p1: 503 Service Unavailable: injected fault: "
				      "503 (gave up after ") == err.msg,
		      "got %s", err.msg);
	ck_assert_msg(ms < 2500, "took %ld ms for a 600 ms budget", ms);
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_ge(n, 3);
	ck_assert_uint_le(n, 8);
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(reset_connection_is_retried_on_a_new_one)
{
	struct k8s_client_opts o = { .backoff_ms = 20 };
	struct k8s_client *c = client_with("ca.crt", "good-token", &o);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;
	size_t n, conns;

	faults("{\"drop\":1}");
	ck_assert_msg(k8s_get_pod(c, "ns1", "p1", &pod, &err) == 0, "%s", err.msg);
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(conns, 2);
	cJSON_Delete(pod);
	k8s_client_free(c);
}
END_TEST

START_TEST(one_connection_serves_every_call_of_an_add)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	struct k8s_event ev = { .namespace = "ns1",
				.pod_name = "p1",
				.type = "Normal",
				.reason = "AddedInterface",
				.message = "Add net1 [10.0.0.2/24]" };
	cJSON *obj = NULL, *patch = cJSON_Parse("{\"x\":\"y\"}");
	size_t n, conns;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &obj, &err), 0);
	cJSON_Delete(obj);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(k8s_get_nad(c, "ns1", "net-a", &obj, &err), 0);
		cJSON_Delete(obj);
	}
	ck_assert_int_eq(k8s_patch_pod_annotations(c, "ns1", "p1", patch, &err), 0);
	ck_assert_int_eq(k8s_post_event(c, &ev, &err), 0);
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(conns, 1);
	cJSON_Delete(patch);
	k8s_client_free(c);
}
END_TEST

START_TEST(event_reaches_the_server_as_a_core_v1_event)
{
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	struct k8s_event ev = { .namespace = "ns1",
				.pod_name = "p1",
				.pod_uid = "u-1",
				.type = "Warning",
				.reason = "NoNetworkFound",
				.message = "cannot find a network-attachment-definition (x)" };
	cJSON *events, *e;
	bool found = false;

	ck_assert_int_eq(k8s_post_event(c, &ev, &err), 0);
	events = control("GET", "/_standin/objects/events/ns1", NULL);
	cJSON_ArrayForEach(e, events)
	{
		if (strcmp(cJSON_GetObjectItem(e, "reason")->valuestring, "NoNetworkFound") != 0)
			continue;
		found = true;
		ck_assert_str_eq(cJSON_GetObjectItem(e, "type")->valuestring, "Warning");
		ck_assert_str_eq(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "involvedObject"), "name")
			->valuestring,
		    "p1");
		ck_assert_str_eq(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(e, "source"), "component")->valuestring,
		    "plexus");
	}
	ck_assert(found);
	cJSON_Delete(events);
	k8s_client_free(c);
}
END_TEST

START_TEST(wrong_ca_fails_verification_before_any_request)
{
	struct k8s_client *c = client_with("other-ca.crt", "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;
	size_t n, conns;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strstr(err.msg, "GET pods/ns1/p1: ") == err.msg &&
			  strstr(err.msg, "certificate"),
		      "got %s", err.msg);
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 0);
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(system_store_does_not_trust_the_stand_in)
{
	struct k8s_client *c = client_with(NULL, "good-token", NULL);
	struct cni_err err = { 0 };
	cJSON *pod = NULL;

	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "certificate"));
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(insecure_skip_tls_verify_accepts_any_server)
{
	struct k8s_creds cr;
	struct cni_err err = { 0 };
	struct k8s_client *c;
	cJSON *pod = NULL;

	creds_with(&cr, NULL, "good-token");
	cr.insecure = true;
	c = k8s_client_new(&cr, NULL, &err);
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), 0);
	cJSON_Delete(pod);
	k8s_creds_free(&cr);
	k8s_client_free(c);
}
END_TEST

START_TEST(client_certificate_authenticates_without_a_token)
{
	struct k8s_creds cr;
	struct cni_err err = { 0 };
	struct k8s_client *c;
	cJSON *pod = NULL, *log;
	size_t n, conns;

	creds_with(&cr, "ca.crt", NULL);
	cr.cert = unit_slurp(dir, "client.crt", &cr.cert_len);
	cr.key = unit_slurp(dir, "client.key", &cr.key_len);
	c = k8s_client_new(&cr, NULL, &err);
	ck_assert_msg(k8s_get_pod(c, "ns1", "p1", &pod, &err) == 0, "%s", err.msg);
	log = request_log(&n, &conns);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "user")->valuestring,
			 "plexus-client");
	cJSON_Delete(log);
	cJSON_Delete(pod);
	k8s_creds_free(&cr);
	k8s_client_free(c);
}
END_TEST

static void write_file(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

START_TEST(kubeconfig_with_inline_client_certificate_reaches_the_server)
{
	struct k8s_creds cr;
	struct cni_err err = { 0 };
	struct k8s_client *c;
	char *ca, *crt, *key, *kc = NULL, *b64[3], path[PATH_MAX];
	size_t l1, l2, l3;
	cJSON *pod = NULL;

	ca = unit_slurp(dir, "ca.crt", &l1);
	crt = unit_slurp(dir, "client.crt", &l2);
	key = unit_slurp(dir, "client.key", &l3);
	b64[0] = cni_base64_encode(ca, l1);
	b64[1] = cni_base64_encode(crt, l2);
	b64[2] = cni_base64_encode(key, l3);
	ck_assert_int_gt(asprintf(&kc,
				  "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
				  "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
				  "clusters:\n- name: k\n  cluster:\n    server: %s\n"
				  "    certificate-authority-data: %s\n"
				  "users:\n- name: u\n  user:\n    client-certificate-data: %s\n"
				  "    client-key-data: %s\n",
				  server, b64[0], b64[1], b64[2]),
			 0);
	write_file("inline.kubeconfig", kc);
	snprintf(path, sizeof(path), "%s/inline.kubeconfig", dir);
	ck_assert_msg(k8s_kubeconfig_load(path, &cr, &err) == 0, "%s", err.msg);
	c = k8s_client_new(&cr, NULL, &err);
	ck_assert_msg(k8s_get_pod(c, "ns1", "p1", &pod, &err) == 0, "%s", err.msg);
	cJSON_Delete(pod);
	k8s_client_free(c);
	k8s_creds_free(&cr);
	for (int i = 0; i < 3; i++)
		free(b64[i]);
	free(kc);
	free(ca);
	free(crt);
	free(key);
}
END_TEST

START_TEST(rotated_token_file_is_read_by_the_next_load)
{
	struct k8s_creds cr;
	struct cni_err err = { 0 };
	struct k8s_client *c;
	char *kc = NULL, path[PATH_MAX];
	cJSON *pod = NULL;

	ck_assert_int_gt(asprintf(&kc,
				  "current-context: c\ncontexts:\n- name: c\n  context:\n"
				  "    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n"
				  "    server: %s/\n    certificate-authority: ca.crt\n"
				  "users:\n- name: u\n  user:\n    token: limited-token\n"
				  "    tokenFile: token\n",
				  server),
			 0);
	write_file("file.kubeconfig", kc);
	snprintf(path, sizeof(path), "%s/file.kubeconfig", dir);
	write_file("token", "good-token\n");
	ck_assert_msg(k8s_kubeconfig_load(path, &cr, &err) == 0, "%s", err.msg);
	c = k8s_client_new(&cr, NULL, &err);
	ck_assert_msg(k8s_get_pod(c, "ns1", "p1", &pod, &err) == 0, "%s", err.msg);
	cJSON_Delete(pod);
	k8s_client_free(c);
	k8s_creds_free(&cr);

	write_file("token", "revoked-token\n");
	ck_assert_int_eq(k8s_kubeconfig_load(path, &cr, &err), 0);
	c = k8s_client_new(&cr, NULL, &err);
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_str_eq(err.msg, "GET pods/ns1/p1: 401 Unauthorized: Unauthorized");
	cni_err_clear(&err);
	k8s_client_free(c);
	k8s_creds_free(&cr);
	free(kc);
}
END_TEST

START_TEST(attempt_deadline_is_enforced)
{
	struct k8s_client_opts o = { .attempt_timeout_ms = 200,
				     .budget_ms = 500,
				     .backoff_ms = 20 };
	struct k8s_client *c = client_with("ca.crt", "good-token", &o);
	struct cni_err err = { 0 };
	struct timespec t0;
	cJSON *pod = NULL;
	long ms;

	/* Warm the connection so only the request itself is slow. */
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), 0);
	cJSON_Delete(pod);
	faults("{\"latency_ms\":3000}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ms = elapsed_ms(&t0);
	faults("{}");
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "imeout") || strstr(err.msg, "timed out"), "got %s", err.msg);
	ck_assert_msg(ms < 2000, "took %ld ms for a 500 ms budget", ms);
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(refused_connection_is_retried_then_given_up)
{
	struct k8s_client_opts o = { .budget_ms = 300, .backoff_ms = 20 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct k8s_creds cr = { 0 };
	struct cni_err err = { 0 };
	struct k8s_client *c;
	cJSON *pod = NULL;
	char url[64];

	/* A port that was just free: nothing listens there. */
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ntohs(a.sin_port));
	cr.server = url;
	c = k8s_client_new(&cr, &o, &err);
	ck_assert_int_eq(k8s_get_pod(c, "ns1", "p1", &pod, &err), -1);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "onnect") && strstr(err.msg, "gave up after"), "got %s",
		      err.msg);
	cni_err_clear(&err);
	k8s_client_free(c);
}
END_TEST

START_TEST(invalid_names_never_reach_a_url)
{
	static const char *const bad[] = { "../x", "a/b", "UPPER", "", "a..b", "-a", "a\nb" };
	struct k8s_client *c = client_with("ca.crt", "good-token", NULL);
	size_t n, conns;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cni_err err = { 0 };
		cJSON *obj = NULL;

		ck_assert_int_eq(k8s_get_pod(c, "ns1", bad[i], &obj, &err), -1);
		ck_assert_uint_eq(err.code, 7);
		cni_err_clear(&err);
		ck_assert_int_eq(k8s_get_nad(c, bad[i], "net-a", &obj, &err), -1);
		cni_err_clear(&err);
	}
	cJSON_Delete(request_log(&n, &conns));
	ck_assert_uint_eq(n, 0);
	k8s_client_free(c);
}
END_TEST

/* Header lines as curl hands them to a header callback (Retry-After, grpc-status). */
START_TEST(header_lines_give_their_value_by_name)
{
	static const struct {
		const char *line, *name, *value; /* value NULL: not that header */
	} cases[] = {
		{ "Retry-After: 7\r\n", "Retry-After", "7" },
		{ "retry-after:\t3\r\n", "Retry-After", "3" },
		{ "Retry-After: 12 \r\n", "Retry-After", "12 " },
		{ "Retry-After:", "Retry-After", NULL },
		{ "Retry-Afterx: 1\r\n", "Retry-After", NULL },
		{ "X-Retry-After: 1\r\n", "Retry-After", NULL },
		{ "HTTP/2 200\r\n", "grpc-status", NULL },
		{ "grpc-status: 12345678901234567890\r\n", "grpc-status", "123456789012345" },
	};
	char out[16];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool is = k8s_curl_header(cases[i].line, strlen(cases[i].line), cases[i].name, out,
					  sizeof(out));

		ck_assert_msg(is == (cases[i].value != NULL), "%s", cases[i].line);
		if (cases[i].value)
			ck_assert_str_eq(out, cases[i].value);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_client");
	TCase *lazy = tcase_create("lazy");
	TCase *tc = tcase_create("stand-in");

	tcase_add_test(lazy, curl_is_loaded_by_the_first_request_only);
	tcase_add_test(lazy, header_lines_give_their_value_by_name);
	suite_add_tcase(s, lazy);
	tcase_add_unchecked_fixture(tc, standin_start, standin_stop);
	tcase_add_checked_fixture(tc, reset, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, get_pod_returns_the_object);
	tcase_add_test(tc, get_nad_returns_the_object);
	tcase_add_test(tc, missing_pod_and_nad_are_not_found_without_retry);
	tcase_add_test(tc, wrong_token_is_401_and_never_shown);
	tcase_add_test(tc, forbidden_user_gets_the_status_message);
	tcase_add_test(tc, patch_merges_annotations_and_keeps_everything_else);
	tcase_add_test(tc, patch_of_a_deleted_pod_is_not_found);
	tcase_add_test(tc, bursts_of_503_429_500_are_retried_within_the_budget);
	tcase_add_test(tc, gives_up_past_the_budget_with_a_clear_error);
	tcase_add_test(tc, reset_connection_is_retried_on_a_new_one);
	tcase_add_test(tc, one_connection_serves_every_call_of_an_add);
	tcase_add_test(tc, event_reaches_the_server_as_a_core_v1_event);
	tcase_add_test(tc, wrong_ca_fails_verification_before_any_request);
	tcase_add_test(tc, system_store_does_not_trust_the_stand_in);
	tcase_add_test(tc, insecure_skip_tls_verify_accepts_any_server);
	tcase_add_test(tc, client_certificate_authenticates_without_a_token);
	tcase_add_test(tc, kubeconfig_with_inline_client_certificate_reaches_the_server);
	tcase_add_test(tc, rotated_token_file_is_read_by_the_next_load);
	tcase_add_test(tc, attempt_deadline_is_enforced);
	tcase_add_test(tc, refused_connection_is_retried_then_given_up);
	tcase_add_test(tc, invalid_names_never_reach_a_url);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)

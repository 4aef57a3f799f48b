/* test/unit/test_daemon.c: plexusd's pure parts: the daemon config (daemon/config.h), the
 * /cni request body (daemon/request.h) and the admission queue (daemon/queue.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/base64.h"
#include "daemon/config.h"
#include "daemon/queue.h"
#include "daemon/request.h"
#include "test/unit/unit.h"

#define S(x) x, strlen(x)

START_TEST(a_multus_daemon_config_parses_with_multus_defaults)
{
	const char *multus = "{\"chrootDir\":\"/hostroot\",\"cniVersion\":\"0.3.1\",\"logLevel\":"
			     "\"verbose\",\"logToStderr\":true,\"cniConfigDir\":\"/host/etc/cni/"
			     "net.d\",\"multusAutoconfigDir\":\"/host/etc/cni/net.d\","
			     "\"multusConfigFile\":\"auto\",\"socketDir\":\"/host/run/multus/\"}";
	struct pxd_config cfg;
	struct cni_err err = { 0 };

	ck_assert_int_eq(pxd_config_parse(S(multus), &cfg, &err), 0);
	ck_assert_str_eq(cfg.chroot_dir, "/hostroot");
	ck_assert_str_eq(cfg.socket_path, "/host/run/multus//multus.sock");
	ck_assert_str_eq(cfg.bin_dir, "/opt/cni/bin");
	ck_assert_str_eq(cfg.cni_dir, "/var/lib/cni/multus");
	ck_assert_str_eq(cfg.conf_dir, "/etc/cni/multus/net.d");
	ck_assert(cfg.log_to_stderr);
	ck_assert_int_eq(cfg.metrics_port, 0);
	ck_assert_int_ge(cfg.workers, 4);
	ck_assert_int_eq(cfg.queue_limit, 1024);
	pxd_config_free(&cfg);
	ck_assert_int_eq(pxd_config_parse(S("{}"), &cfg, &err), 0);
	ck_assert_str_eq(cfg.socket_path, "/run/plexus/plexus.sock");
	ck_assert(!cfg.log_to_stderr);
	/* the watch caches' defaults (docs/CONFIGURATION.md) */
	ck_assert_int_eq(cfg.cache_sync_timeout_s, 60);
	ck_assert_int_eq(cfg.pod_cache_wait_ms, 1000);
	ck_assert_int_eq(cfg.watch_stall_s, 90);
	ck_assert_int_eq(cfg.watch_timeout_s, 300);
	ck_assert_int_eq(cfg.dra_reprobe_s, 300);
	pxd_config_free(&cfg);
	ck_assert_int_eq(pxd_config_parse(S("{\"cacheSyncTimeoutSeconds\":0,"
					    "\"podCacheWaitMilliseconds\":250,"
					    "\"watchStallSeconds\":5,\"watchTimeoutSeconds\":30,"
					    "\"draReprobeSeconds\":2}"),
					  &cfg, &err),
			 0);
	ck_assert_int_eq(cfg.cache_sync_timeout_s, 0);
	ck_assert_int_eq(cfg.pod_cache_wait_ms, 250);
	ck_assert_int_eq(cfg.watch_stall_s, 5);
	ck_assert_int_eq(cfg.watch_timeout_s, 30);
	ck_assert_int_eq(cfg.dra_reprobe_s, 2);
	pxd_config_free(&cfg);
}
END_TEST

START_TEST(a_wrong_type_names_the_key)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{ "{\"workers\":\"4\"}", "daemon config: \"workers\" must be an integer" },
		{ "{\"workers\":0}", "daemon config: \"workers\" 0 out of range 1..4096" },
		{ "{\"queueLimit\":1.5}", "daemon config: \"queueLimit\" must be an integer" },
		{ "{\"socketDir\":1}", "daemon config: \"socketDir\" must be a string" },
		{ "{\"namespaceIsolation\":\"x\"}",
		  "daemon config: \"namespaceIsolation\" must be a boolean" },
		{ "{\"metricsPort\":70000}",
		  "daemon config: \"metricsPort\" 70000 out of range 0..65535" },
		{ "{\"podCacheWaitMilliseconds\":-1}",
		  "daemon config: \"podCacheWaitMilliseconds\" -1 out of range 0..60000" },
		{ "{\"watchStallSeconds\":0}",
		  "daemon config: \"watchStallSeconds\" 0 out of range 1..86400" },
		{ "{\"draReprobeSeconds\":0}",
		  "daemon config: \"draReprobeSeconds\" 0 out of range 1..86400" },
		{ "{\"cacheSyncTimeoutSeconds\":\"60\"}",
		  "daemon config: \"cacheSyncTimeoutSeconds\" must be an integer" },
		{ "[]", "daemon config: not a JSON object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pxd_config cfg;
		struct cni_err err = { 0 };

		ck_assert_int_eq(pxd_config_parse(S(cases[i].in), &cfg, &err), -1);
		ck_assert_msg(strcmp(err.msg, cases[i].msg) == 0, "%s: got [%s], want [%s]",
			      cases[i].in, err.msg, cases[i].msg);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(the_overlay_lays_node_keys_over_the_netconf_but_its_version)
{
	struct pxd_config cfg;
	struct cni_err err = { 0 };
	size_t len = 0;
	char *out;

	ck_assert_int_eq(pxd_config_parse(S("{\"cniVersion\":\"0.3.1\",\"binDir\":\"/b\","
					    "\"socketDir\":\"/s\"}"),
					  &cfg, &err),
			 0);
	out = pxd_config_overlay(&cfg, S("{\"cniVersion\":\"1.1.0\",\"binDir\":\"/mine\"}"), &len,
				 &err);
	ck_assert_str_eq(out, "{\"cniVersion\":\"1.1.0\",\"binDir\":\"/b\",\"socketDir\":\"/s\"}");
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	out = pxd_config_overlay(&cfg, S("{\"name\":\"n\"}"), &len, &err);
	ck_assert_str_eq(out, "{\"name\":\"n\",\"cniVersion\":\"0.3.1\",\"binDir\":\"/b\","
			      "\"socketDir\":\"/s\"}");
	free(out);
	ck_assert_ptr_null(pxd_config_overlay(&cfg, S("[1]"), &len, &err));
	ck_assert_uint_eq(err.code, 6);
	cni_err_clear(&err);
	pxd_config_free(&cfg);
}
END_TEST

START_TEST(a_request_body_becomes_env_and_config)
{
	struct pxd_request req;
	struct cni_err err = { 0 };
	const char *body = "{\"env\":{\"CNI_COMMAND\":\"DEL\",\"X\":\"a=b\"},\"config\":\"e30=\"}";

	ck_assert_int_eq(pxd_request_parse(S(body), &req, &err), 0);
	ck_assert_uint_eq(req.nenv, 2);
	ck_assert_str_eq(req.env[0], "CNI_COMMAND=DEL");
	ck_assert_str_eq(req.env[1], "X=a=b");
	ck_assert_ptr_null(req.env[2]);
	ck_assert_str_eq(req.command, "DEL");
	ck_assert_str_eq(req.config, "{}");
	ck_assert_uint_eq(req.config_len, 2);
	pxd_request_free(&req);
}
END_TEST

/* /delegate: the request's network becomes the one delegate of a plexus netconf, its
 * interfaceAttributes beside it; a config that is no JSON object is refused. */
START_TEST(a_delegate_request_wraps_its_network_as_the_one_delegate)
{
	/* config {"cniVersion":"0.4.0","name":"n","type":"bridge"} */
	const char *body =
	    "{\"env\":{\"CNI_COMMAND\":\"ADD\"},\"config\":"
	    "\"eyJjbmlWZXJzaW9uIjoiMC40LjAiLCJuYW1lIjoibiIsInR5cGUiOiJicmlkZ2UifQ==\","
	    "\"interfaceAttributes\":{\"mac\":\"02:00:00:00:00:01\",\"cni-args\":null}}";
	struct pxd_request req;
	struct cni_err err = { 0 };
	size_t len = 0;
	char *nc;

	ck_assert_int_eq(pxd_request_parse(S(body), &req, &err), 0);
	nc = pxd_delegate_netconf(&req, &len, &err);
	ck_assert_msg(nc != NULL, "%s", err.msg);
	ck_assert_uint_eq(len, strlen(nc));
	ck_assert_json_eq(nc, "{\"cniVersion\":\"0.4.0\",\"name\":\"plexus-delegate\",\"type\":"
			      "\"plexus\",\"delegates\":[{\"cniVersion\":\"0.4.0\",\"name\":\"n\","
			      "\"type\":\"bridge\"}],\"interfaceAttributes\":{\"mac\":"
			      "\"02:00:00:00:00:01\",\"cni-args\":null}}");
	free(nc);
	pxd_request_free(&req);
	/* config "[]" */
	ck_assert_int_eq(pxd_request_parse(S("{\"env\":{},\"config\":\"W10=\"}"), &req, &err), 0);
	ck_assert_ptr_null(pxd_delegate_netconf(&req, &len, &err));
	ck_assert_str_eq(err.msg, "/delegate: config: not a JSON object");
	ck_assert_int_eq(err.code, CNI_ERR_DECODE);
	cni_err_clear(&err);
	pxd_request_free(&req);
}
END_TEST

START_TEST(a_bad_request_body_names_the_field)
{
	static const struct {
		const char *in;
		unsigned code;
		const char *msg;
	} cases[] = {
		{ "[]", 6, "request: body is not a JSON object" },
		{ "{\"config\":\"e30=\"}", 7, "request: \"env\" missing" },
		{ "{\"env\":[],\"config\":\"e30=\"}", 7, "request: \"env\" must be an object" },
		{ "{\"env\":{}}", 7, "request: \"config\" missing" },
		{ "{\"env\":{},\"config\":5}", 7, "request: \"config\" must be a base64 string" },
		{ "{\"env\":{},\"config\":\"e30\"}", 6, "request: \"config\" is not valid base64" },
		{ "{\"env\":{\"A\":1},\"config\":\"e30=\"}", 7,
		  "request: \"env.A\" must be a string" },
		{ "{\"env\":{\"A=B\":\"x\"},\"config\":\"e30=\"}", 7,
		  "request: \"env\" key \"A=B\" is not a variable name" },
		{ "{\"env\":{\"A\":\"1\",\"A\":\"2\"},\"config\":\"e30=\"}", 7,
		  "request: \"env.A\" given twice" },
		{ "{\"env\":{},\"config\":\"e30=\",\"x\":1}", 7, "request: unknown field \"x\"" },
		{ "{\"env\":{},\"config\":\"e30=\",\"interfaceAttributes\":1}", 7,
		  "request: \"interfaceAttributes\" must be an object" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pxd_request req;
		struct cni_err err = { 0 };

		ck_assert_int_eq(pxd_request_parse(S(cases[i].in), &req, &err), -1);
		ck_assert_msg(err.code == cases[i].code && strcmp(err.msg, cases[i].msg) == 0,
			      "%s: got %u [%s], want %u [%s]", cases[i].in, err.code, err.msg,
			      cases[i].code, cases[i].msg);
		cni_err_clear(&err);
	}
}
END_TEST

struct waiter {
	struct pxd_queue *q;
	bool del;
	int order;
	int *next;
	pthread_mutex_t *mu;
};

static void *wait_turn(void *arg)
{
	struct waiter *w = arg;
	struct cni_err err = { 0 };

	if (pxd_queue_enter(w->q, w->del, pxd_now_ms() + 5000, &err) < 0)
		return NULL;
	pthread_mutex_lock(w->mu);
	w->order = (*w->next)++;
	pthread_mutex_unlock(w->mu);
	pxd_queue_leave(w->q);
	return NULL;
}

START_TEST(a_waiting_del_goes_in_before_waiting_adds)
{
	struct pxd_queue q;
	struct cni_err err = { 0 };
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct waiter w[3];
	pthread_t t[3];
	int next = 1, waiting = 0, inflight = 0;

	ck_assert_int_eq(pxd_queue_init(&q, 1, 8), 0);
	ck_assert_int_eq(pxd_queue_enter(&q, false, pxd_now_ms() + 1000, &err), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ &q, i == 2, 0, &next, &mu };
		pthread_create(&t[i], NULL, wait_turn, &w[i]);
		do {
			usleep(1000);
			pxd_queue_depth(&q, &waiting, &inflight);
		} while (waiting < i + 1);
	}
	pxd_queue_leave(&q);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ck_assert_msg(w[2].order == 1, "the DEL went in as number %d, after ADDs", w[2].order);
	pxd_queue_destroy(&q);
}
END_TEST

START_TEST(a_full_queue_and_a_closed_one_answer_try_again)
{
	struct pxd_queue q;
	struct cni_err err = { 0 };

	ck_assert_int_eq(pxd_queue_init(&q, 1, 0), 0);
	ck_assert_int_eq(pxd_queue_enter(&q, false, pxd_now_ms() + 1000, &err), 0);
	ck_assert_int_eq(pxd_queue_enter(&q, true, pxd_now_ms() + 1000, &err), -1);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_str_eq(err.msg,
			 "plexusd is busy: 0 requests already wait for a worker (queueLimit 0)");
	cni_err_clear(&err);
	ck_assert(!pxd_queue_wait_idle(&q, 10));
	pxd_queue_leave(&q);
	ck_assert(pxd_queue_wait_idle(&q, 10));
	pxd_queue_close(&q);
	ck_assert_int_eq(pxd_queue_enter(&q, true, pxd_now_ms() + 1000, &err), -1);
	ck_assert_str_eq(err.msg, "plexusd is shutting down");
	cni_err_clear(&err);
	pxd_queue_destroy(&q);
}
END_TEST

START_TEST(a_wait_past_the_deadline_answers_try_again)
{
	struct pxd_queue q;
	struct cni_err err = { 0 };
	long start;

	ck_assert_int_eq(pxd_queue_init(&q, 1, 4), 0);
	ck_assert_int_eq(pxd_queue_enter(&q, false, pxd_now_ms() + 1000, &err), 0);
	start = pxd_now_ms();
	ck_assert_int_eq(pxd_queue_enter(&q, false, start + 50, &err), -1);
	ck_assert_int_ge(pxd_now_ms() - start, 50);
	ck_assert_uint_eq(err.code, 11);
	cni_err_clear(&err);
	pxd_queue_leave(&q);
	pxd_queue_destroy(&q);
}
END_TEST

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_multus_daemon_config_parses_with_multus_defaults);
	tcase_add_test(tc, a_wrong_type_names_the_key);
	tcase_add_test(tc, the_overlay_lays_node_keys_over_the_netconf_but_its_version);
	tcase_add_test(tc, a_request_body_becomes_env_and_config);
	tcase_add_test(tc, a_bad_request_body_names_the_field);
	tcase_add_test(tc, a_delegate_request_wraps_its_network_as_the_one_delegate);
	tcase_add_test(tc, a_waiting_del_goes_in_before_waiting_adds);
	tcase_add_test(tc, a_full_queue_and_a_closed_one_answer_try_again);
	tcase_add_test(tc, a_wait_past_the_deadline_answers_try_again);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(daemon_suite)

/* test/unit/test_delegates_invoke.c: delegates/invoke against real plugins: the recorder test
 * plugin (test/tools/recorder.c, CNI 1.1.0, records each call's verb, env and stdin) and
 * Debian's static IPAM plugin (containernetworking-plugins, CNI up to 1.0.0). What is checked is
 * libcni's behaviour (libcni api.go AddNetworkList, DelNetworkList, CheckNetworkList,
 * GCNetworkList, GetStatusNetworkList): prevResult threaded from plugin to plugin, DEL in
 * reverse with the cached result, CHECK before 0.4.0 refused, GC and STATUS only from 1.1.0,
 * and a plugin's error object passed through with its code. */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cni/config.h"
#include "delegates/cache.h"
#include "delegates/invoke.h"
#include "test/unit/unit.h"

#define DEBIAN_PLUGINS "/usr/lib/cni"

static char tmp[64]; /* records in tmp/rec, the result cache in tmp/cache */
static char rec[128], cache[128];
static char tools[PATH_MAX]; /* BUILD/test/tools, where the recorder is */
static const char *path[2];

static void setup(void)
{
	unit_build_path(tools, sizeof(tools), "tools");
	unit_tmpdir(tmp, sizeof(tmp), "inv");
	snprintf(rec, sizeof(rec), "%s/rec", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	ck_assert_int_eq(mkdir(rec, 0700), 0);
	path[0] = tools;
	path[1] = DEBIAN_PLUGINS;
}

static void teardown(void)
{
	ck_assert_int_eq(unit_rmtree(tmp), 0);
}

static struct dlg_rt rt_for(const char *cid)
{
	return (struct dlg_rt){ .container_id = cid,
				.netns = "/var/run/netns/pod",
				.ifname = "eth0",
				.path = path,
				.npath = 2,
				.timeout_ms = 20000,
				.cache_dir = cache };
}

/* A conflist of version v: "static" is Debian's static IPAM plugin giving 10.10.0.1/24,
 * "rec:WHO" a recorder that records as WHO (and "rec:WHO!VERB" one that fails VERB with code
 * 11). Up to four plugins. */
static void conflist(struct cni_conflist *list, const char *v, const char *const *plugins, size_t n,
		     const char *extra)
{
	char text[4096];
	size_t off = 0;
	struct cni_err err = { 0 };

	off += (size_t)snprintf(text + off, sizeof(text) - off,
				"{\"cniVersion\":\"%s\",\"name\":\"inv-net\",%s\"plugins\":[", v,
				extra ? extra : "");
	for (size_t i = 0; i < n; i++) {
		const char *p = plugins[i], *bang = strchr(p, '!');

		if (strcmp(p, "static") == 0)
			off +=
			    (size_t)snprintf(text + off, sizeof(text) - off,
					     "%s{\"type\":\"static\",\"ipam\":{\"type\":\"static\","
					     "\"addresses\":[{\"address\":\"10.10.0.1/24\"}]}}",
					     i ? "," : "");
		else
			off += (size_t)snprintf(
			    text + off, sizeof(text) - off,
			    "%s{\"type\":\"recorder\",\"who\":\"%.*s\",\"recordDir\":\"%s\"%s%s%s}",
			    i ? "," : "", bang ? (int)(bang - p - 4) : (int)strlen(p + 4), p + 4,
			    rec,
			    bang ? ",\"failCode\":11,\"failMsg\":\"busy now\",\"failOn\":\"" : "",
			    bang ? bang + 1 : "", bang ? "\"" : "");
	}
	snprintf(text + off, sizeof(text) - off, "]}");
	ck_assert_msg(cni_conflist_parse(text, strlen(text), list, &err) == 0, "%s: %s", text,
		      err.msg);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* The recorder's records, oldest first, as an array of {"verb","env","stdin","who"} (stdin
 * parsed); the record directory is emptied. */
static cJSON *records(void)
{
	struct dirent **names;
	cJSON *all = cJSON_CreateArray();
	int n = scandir(rec, &names, NULL, by_name);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX], *text;
		FILE *f;
		long len;
		cJSON *r, *in;

		if (names[i]->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", rec, names[i]->d_name);
			f = fopen(p, "r");
			ck_assert_ptr_nonnull(f);
			fseek(f, 0, SEEK_END);
			len = ftell(f);
			rewind(f);
			text = calloc(1, (size_t)len + 1);
			ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
			fclose(f);
			unlink(p);
			r = cJSON_Parse(text);
			ck_assert_msg(r != NULL, "record %s: %s", p, text);
			free(text);
			in = cJSON_Parse(cJSON_GetObjectItem(r, "stdin")->valuestring);
			ck_assert_ptr_nonnull(in);
			cJSON_AddStringToObject(r, "who",
						cJSON_GetObjectItem(in, "who")->valuestring);
			cJSON_ReplaceItemInObject(r, "stdin", in);
			cJSON_AddItemToArray(all, r);
		}
		free(names[i]);
	}
	free(names);
	return all;
}

/* "VERB:WHO VERB:WHO ..." of the records, in order. */
static char *calls(const cJSON *recs)
{
	static char s[512];
	const cJSON *r;

	s[0] = '\0';
	cJSON_ArrayForEach(r, recs)
	{
		snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s%s:%s", s[0] ? " " : "",
			 cJSON_GetObjectItem(r, "verb")->valuestring,
			 cJSON_GetObjectItem(r, "who")->valuestring);
	}
	return s;
}

static const char *prev_address(const cJSON *r)
{
	const cJSON *prev = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "stdin"), "prevResult");
	const cJSON *ip = cJSON_GetArrayItem(cJSON_GetObjectItem(prev, "ips"), 0);
	const cJSON *a = cJSON_GetObjectItem(ip, "address");

	return cJSON_IsString(a) ? a->valuestring : NULL;
}

static bool cached(const char *cid)
{
	char *p = dlg_cache_path(cache, "inv-net", cid, "eth0");
	bool there = p && access(p, F_OK) == 0;

	free(p);
	return there;
}

START_TEST(add_threads_prev_result_from_plugin_to_plugin)
{
	static const char *const plugins[] = { "static", "rec:B", "rec:C" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c1");
	struct cni_err err = { 0 };
	cJSON *res, *recs;
	const cJSON *env;

	conflist(&list, "1.0.0", plugins, 3, NULL);
	res = dlg_add(&list, &rt, &err);
	ck_assert_msg(res != NULL, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "ADD:B ADD:C");
	/* B gets static's result, C gets B's (the recorder hands its prevResult on) */
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 0)), "10.10.0.1/24");
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 1)), "10.10.0.1/24");
	/* what libcni injects: the list's name and version, and the runtime's environment */
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 0), "stdin"), "name")
		->valuestring,
	    "inv-net");
	env = cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 1), "env");
	ck_assert_str_eq(cJSON_GetObjectItem(env, "CNI_COMMAND")->valuestring, "ADD");
	ck_assert_str_eq(cJSON_GetObjectItem(env, "CNI_CONTAINERID")->valuestring, "c1");
	ck_assert_str_eq(cJSON_GetObjectItem(env, "CNI_IFNAME")->valuestring, "eth0");
	ck_assert_str_eq(cJSON_GetObjectItem(env, "CNI_NETNS")->valuestring, "/var/run/netns/pod");
	/* the final result, in the list's version, is cached */
	ck_assert_str_eq(cJSON_GetObjectItem(res, "cniVersion")->valuestring, "1.0.0");
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "ips"), 0), "address")
		->valuestring,
	    "10.10.0.1/24");
	ck_assert(cached("c1"));
	cJSON_Delete(recs);
	cJSON_Delete(res);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(del_runs_in_reverse_with_the_cached_result_and_removes_it)
{
	static const char *const plugins[] = { "rec:A", "static", "rec:C" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c2");
	struct cni_err err = { 0 };
	cJSON *res, *recs;

	conflist(&list, "1.0.0", plugins, 3, NULL);
	res = dlg_add(&list, &rt, &err);
	ck_assert_msg(res != NULL, "%s", err.msg);
	cJSON_Delete(records());
	ck_assert_msg(dlg_del(&list, &rt, NULL, &err) == 0, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "DEL:C DEL:A");
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 0)), "10.10.0.1/24");
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 1)), "10.10.0.1/24");
	ck_assert(!cached("c2"));
	cJSON_Delete(recs);
	cJSON_Delete(res);
	cni_conflist_free(&list);

	/* before 0.4.0 a DEL carries no prevResult */
	static const char *const old[] = { "rec:A", "rec:B" };
	conflist(&list, "0.3.1", old, 2, NULL);
	res = dlg_add(&list, &rt, &err);
	ck_assert_msg(res != NULL, "%s", err.msg);
	cJSON_Delete(records());
	ck_assert_msg(dlg_del(&list, &rt, NULL, &err) == 0, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "DEL:B DEL:A");
	ck_assert_ptr_null(prev_address(cJSON_GetArrayItem(recs, 0)));
	cJSON_Delete(recs);
	cJSON_Delete(res);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(check_needs_0_4_0_and_honours_disable_check)
{
	static const char *const plugins[] = { "rec:A", "rec:B" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c3");
	struct cni_err err = { 0 };
	cJSON *res, *recs;

	conflist(&list, "0.3.1", plugins, 2, NULL);
	ck_assert_int_eq(dlg_check(&list, &rt, NULL, &err), -1);
	ck_assert_uint_eq(err.code, 1);
	ck_assert_str_eq(err.msg, "configuration version \"0.3.1\" does not support the CHECK "
				  "command");
	cni_err_clear(&err);
	cni_conflist_free(&list);

	conflist(&list, "1.0.0", plugins, 2, "\"disableCheck\":true,");
	ck_assert_int_eq(dlg_check(&list, &rt, NULL, &err), 0);
	cni_conflist_free(&list);
	recs = records();
	ck_assert_str_eq(calls(recs), "");
	cJSON_Delete(recs);

	/* in order, each with the cached result */
	conflist(&list, "1.0.0", plugins, 2, NULL);
	res = dlg_add(&list, &rt, &err);
	ck_assert_msg(res != NULL, "%s", err.msg);
	cJSON_Delete(records());
	ck_assert_msg(dlg_check(&list, &rt, NULL, &err) == 0, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "CHECK:A CHECK:B");
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 0)), "192.0.2.10/24");
	cJSON_Delete(recs);
	cJSON_Delete(res);
	cni_conflist_free(&list);
}
END_TEST

START_TEST(gc_and_status_reach_plugins_only_from_1_1_0)
{
	static const char *const plugins[] = { "rec:A", "rec:B" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c4");
	struct cni_err err = { 0 };
	cJSON *valid = cJSON_Parse("[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]"), *recs;
	const cJSON *gc_in;
	char *text;

	conflist(&list, "1.0.0", plugins, 2, NULL);
	ck_assert_int_eq(dlg_status(&list, &rt, &err), 0);
	ck_assert_int_eq(dlg_gc(&list, &rt, valid, &err), 0);
	recs = records();
	ck_assert_str_eq(calls(recs), "");
	cJSON_Delete(recs);
	cni_conflist_free(&list);

	conflist(&list, "1.1.0", plugins, 2, NULL);
	ck_assert_msg(dlg_status(&list, &rt, &err) == 0, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "STATUS:A STATUS:B");
	cJSON_Delete(recs);
	/* an attachment in the cache that is not valid any more is deleted first */
	cJSON_Delete(dlg_add(&list, &rt, &err));
	ck_assert(cached("c4"));
	cJSON_Delete(records());
	ck_assert_msg(dlg_gc(&list, &rt, valid, &err) == 0, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "DEL:B DEL:A GC:A GC:B");
	ck_assert(!cached("c4"));
	gc_in = cJSON_GetObjectItem(cJSON_GetArrayItem(recs, 2), "stdin");
	text = cJSON_PrintUnformatted(cJSON_GetObjectItem(gc_in, "cni.dev/valid-attachments"));
	ck_assert_json_eq(text, "[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]");
	free(text);
	cJSON_Delete(recs);
	cni_conflist_free(&list);
	cJSON_Delete(valid);
}
END_TEST

START_TEST(a_plugin_error_object_passes_through_with_its_code)
{
	static const char *const plugins[] = { "rec:A", "rec:B!ADD", "rec:C" };
	static const char *const debian[] = { "static" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c5");
	struct cni_err err = { 0 };
	cJSON *recs;

	conflist(&list, "1.0.0", plugins, 3, NULL);
	ck_assert_ptr_null(dlg_add(&list, &rt, &err));
	ck_assert_uint_eq(err.code, 11);
	ck_assert_str_eq(err.msg, "plugin type=\"recorder\" failed (add): busy now");
	cni_err_clear(&err);
	/* the chain stops at the failure, and nothing is cached */
	recs = records();
	ck_assert_str_eq(calls(recs), "ADD:A ADD:B");
	ck_assert(!cached("c5"));
	cJSON_Delete(recs);
	cni_conflist_free(&list);

	/* Debian's plugins stop at 1.0.0: their own error object, code 1 */
	conflist(&list, "1.1.0", debian, 1, NULL);
	ck_assert_ptr_null(dlg_add(&list, &rt, &err));
	ck_assert_uint_eq(err.code, 1);
	ck_assert_msg(strstr(err.msg, "plugin type=\"static\" failed (add): incompatible CNI "
				      "versions") == err.msg,
		      "got %s", err.msg);
	cni_err_clear(&err);
	cni_conflist_free(&list);
}
END_TEST

/* dlg_add in two steps (meta/plugin.c starts the first delegate before the plan is written):
 * the started plugin gets its config only from dlg_add_started, which goes on as dlg_add does;
 * a cancelled one never had it */
START_TEST(add_in_two_steps_feeds_the_started_plugin_or_kills_it_unfed)
{
	static const char *const plugins[] = { "rec:A", "static", "rec:C" };
	struct timespec pause = { 0, 200 * 1000000L };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c7"), other = rt_for("c9"), bad = rt_for("c8");
	struct dlg_started *first = NULL;
	struct cni_err err = { 0 };
	cJSON *res, *recs;

	conflist(&list, "1.0.0", plugins, 3, NULL);
	ck_assert_msg(dlg_add_start(&list, &rt, &first, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(first);
	nanosleep(&pause, NULL);
	recs = records();
	ck_assert_str_eq(calls(recs), "");
	cJSON_Delete(recs);
	res = dlg_add_started(&list, &rt, first, NULL, &err);
	ck_assert_msg(res != NULL, "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "ADD:A ADD:C");
	ck_assert_str_eq(prev_address(cJSON_GetArrayItem(recs, 1)), "10.10.0.1/24");
	ck_assert(cached("c7"));
	/* the plugin that ran first was the one started, not another: none is left */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	cJSON_Delete(recs);
	cJSON_Delete(res);

	ck_assert_msg(dlg_add_start(&list, &other, &first, &err) == 0, "%s", err.msg);
	nanosleep(&pause, NULL);
	dlg_add_cancel(first);
	recs = records();
	ck_assert_str_eq(calls(recs), "");
	ck_assert(!cached("c9"));
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	cJSON_Delete(recs);

	/* dlg_add's checks come before the spawn */
	bad.ifname = "bad/name";
	ck_assert_int_eq(dlg_add_start(&list, &bad, &first, &err), -1);
	ck_assert_ptr_null(first);
	ck_assert_msg(strstr(err.msg, "interface name") != NULL, "%s", err.msg);
	cni_err_clear(&err);
	dlg_add_cancel(NULL);
	cni_conflist_free(&list);
}
END_TEST

/* With an entry to fill, dlg_add_started leaves the final result's cache entry to its caller
 * (plexusd writes it after its answer): nothing at the entry's path until the caller writes it,
 * then the very bytes dlg_add writes; a failed ADD leaves the entry empty */
START_TEST(started_add_leaves_its_cache_entry_to_the_caller)
{
	static const char *const plugins[] = { "rec:A", "static", "rec:C" };
	static const char *const failing[] = { "rec:A", "rec:B!ADD" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c11");
	struct dlg_started *first = NULL;
	struct dlg_cache_entry entry;
	struct cni_err err = { 0 };
	cJSON *recs;
	char *file = dlg_cache_path(cache, "inv-net", "c11", "eth0"), *inline_bytes, *later_bytes;
	size_t inline_len, later_len;

	conflist(&list, "1.0.0", plugins, 3, NULL);
	cJSON_Delete(dlg_add(&list, &rt, &err));
	ck_assert_msg(!cni_err_isset(&err), "%s", err.msg);
	inline_bytes = unit_slurp(cache, "results/inv-net-c11-eth0", &inline_len);
	ck_assert_int_eq(unlink(file), 0);
	cJSON_Delete(records());

	ck_assert_msg(dlg_add_start(&list, &rt, &first, &err) == 0, "%s", err.msg);
	cJSON_Delete(dlg_add_started(&list, &rt, first, &entry, &err));
	ck_assert_msg(!cni_err_isset(&err), "%s", err.msg);
	recs = records();
	ck_assert_str_eq(calls(recs), "ADD:A ADD:C");
	cJSON_Delete(recs);
	ck_assert(!cached("c11"));
	ck_assert_str_eq(entry.path, file);
	ck_assert_msg(dlg_cache_entry_write(&entry, &err) == 0, "%s", err.msg);
	dlg_cache_entry_free(&entry);
	later_bytes = unit_slurp(cache, "results/inv-net-c11-eth0", &later_len);
	ck_assert_uint_eq(later_len, inline_len);
	ck_assert_mem_eq(later_bytes, inline_bytes, inline_len);
	ck_assert_int_eq(unlink(file), 0);
	cni_conflist_free(&list);

	conflist(&list, "1.0.0", failing, 2, NULL);
	entry = (struct dlg_cache_entry){ .path = file, .text = file };
	ck_assert_msg(dlg_add_start(&list, &rt, &first, &err) == 0, "%s", err.msg);
	ck_assert_ptr_null(dlg_add_started(&list, &rt, first, &entry, &err));
	ck_assert_uint_eq(err.code, 11);
	cni_err_clear(&err);
	ck_assert_ptr_null(entry.path);
	ck_assert_ptr_null(entry.text);
	ck_assert(!cached("c11"));
	cJSON_Delete(records());
	cni_conflist_free(&list);
	free(inline_bytes);
	free(later_bytes);
	free(file);
}
END_TEST

/* DEL's last plugin is started before its prevResult is read (dlg_del); a cached result that
 * cannot be used fails the DEL, as in libcni, and no plugin has had its config */
START_TEST(del_with_an_unusable_cached_result_gives_no_plugin_its_config)
{
	static const char *const plugins[] = { "rec:A", "rec:B" };
	struct cni_conflist list;
	struct dlg_rt rt = rt_for("c10");
	struct cni_err err = { 0 };
	cJSON *bad, *recs;

	conflist(&list, "1.0.0", plugins, 2, NULL);
	bad = cJSON_Parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"not-an-address\"}]}");
	ck_assert_int_eq(dlg_cache_write(cache, "inv-net", "c10", "eth0", rt.netns, NULL, 0, NULL,
					 list.bytes, list.len, bad, &err),
			 0);
	ck_assert_int_eq(dlg_del(&list, &rt, NULL, &err), -1);
	ck_assert_msg(strstr(err.msg, "failed to get network \"inv-net\" cached result") != NULL,
		      "%s", err.msg);
	cni_err_clear(&err);
	recs = records();
	ck_assert_str_eq(calls(recs), "");
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	cJSON_Delete(recs);
	cJSON_Delete(bad);
	cni_conflist_free(&list);
}
END_TEST

static Suite *invoke_suite(void)
{
	Suite *s = suite_create("invoke");
	TCase *tc = tcase_create("invoke");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, del_with_an_unusable_cached_result_gives_no_plugin_its_config);
	tcase_add_test(tc, add_in_two_steps_feeds_the_started_plugin_or_kills_it_unfed);
	tcase_add_test(tc, started_add_leaves_its_cache_entry_to_the_caller);
	tcase_add_test(tc, add_threads_prev_result_from_plugin_to_plugin);
	tcase_add_test(tc, del_runs_in_reverse_with_the_cached_result_and_removes_it);
	tcase_add_test(tc, check_needs_0_4_0_and_honours_disable_check);
	tcase_add_test(tc, gc_and_status_reach_plugins_only_from_1_1_0);
	tcase_add_test(tc, a_plugin_error_object_passes_through_with_its_code);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(invoke_suite)

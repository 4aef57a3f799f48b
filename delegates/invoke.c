/* delegates/invoke.c: run a conf or conflist the way libcni does.
 * Follows libcni api.go (AddNetworkList, DelNetworkList, CheckNetworkList, GCNetworkList,
 * GetStatusNetworkList) and pkg/invoke (environment, error objects). */
#include "delegates/invoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/log.h"
#include "cni/result.h"
#include "delegates/cache.h"
#include "delegates/exec.h"
#include "delegates/find.h"

extern char **environ;

static const char *const cni_env_names[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
					     "CNI_ARGS",    "CNI_IFNAME",      "CNI_PATH" };

static char *join_args(const struct cni_kv *args, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(args[i].key) + strlen(args[i].value) + 2;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s=%s", i ? ";" : "", args[i].key, args[i].value);
	return s;
}

static char *join_path(const char *const *dirs, size_t n)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(dirs[i]) + 1;
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ":" : "", dirs[i]);
	return s;
}

static bool is_cni_var(const char *kv)
{
	for (size_t i = 0; i < sizeof(cni_env_names) / sizeof(cni_env_names[0]); i++) {
		size_t n = strlen(cni_env_names[i]);

		if (strncmp(kv, cni_env_names[i], n) == 0 && kv[n] == '=')
			return true;
	}
	return false;
}

char **dlg_env(const char *verb, const struct dlg_rt *rt)
{
	size_t n = 0, k = 0;
	char **envp, *args = NULL, *path = NULL;
	const char *vals[6];

	for (char **e = environ; e && *e; e++)
		n++;
	envp = calloc(n + 7, sizeof(*envp));
	args = join_args(rt->args, rt->nargs);
	path = join_path(rt->path, rt->npath);
	if (!envp || !args || !path)
		goto fail;
	for (char **e = environ; e && *e; e++) {
		if (is_cni_var(*e))
			continue;
		envp[k] = strdup(*e);
		if (!envp[k++])
			goto fail;
	}
	vals[0] = verb;
	vals[1] = rt->container_id ? rt->container_id : "";
	vals[2] = rt->netns ? rt->netns : "";
	vals[3] = args;
	vals[4] = rt->ifname ? rt->ifname : "";
	vals[5] = path;
	for (size_t i = 0; i < 6; i++)
		if (asprintf(&envp[k++], "%s=%s", cni_env_names[i], vals[i]) < 0) {
			envp[k - 1] = NULL;
			goto fail;
		}
	free(args);
	free(path);
	return envp;
fail:
	free(args);
	free(path);
	dlg_env_free(envp);
	return NULL;
}

void dlg_env_free(char **envp)
{
	for (char **e = envp; e && *e; e++)
		free(*e);
	free(envp);
}

/* libcni pluginDescription: type="x" name="y" */
static void describe(const cJSON *plugin, char *buf, size_t len)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(plugin, "name");

	if (cJSON_IsString(name) && *name->valuestring)
		snprintf(buf, len, "type=\"%s\" name=\"%s\"", cni_plugin_type(plugin),
			 name->valuestring);
	else
		snprintf(buf, len, "type=\"%s\"", cni_plugin_type(plugin));
}

static const char *verb_word(const char *verb)
{
	if (strcmp(verb, "ADD") == 0)
		return "add";
	if (strcmp(verb, "DEL") == 0)
		return "delete";
	if (strcmp(verb, "CHECK") == 0)
		return "check";
	if (strcmp(verb, "GC") == 0)
		return "gc";
	return "status";
}

/* One plugin between its spawn and its end: what plugin_finish needs to judge its run. */
struct dlg_started {
	const char *verb;
	char desc[256];
	char *path;
	char **envp;
	int timeout_ms;
	struct dlg_exec_child *child;
};

static void started_free(struct dlg_started *s)
{
	dlg_env_free(s->envp);
	free(s->path);
	free(s);
}

/* Finds the plugin and spawns it, its stdin not yet given (delegates/exec.h dlg_exec_start). */
static int plugin_start(const char *verb, const cJSON *plugin, const struct dlg_rt *rt,
			struct dlg_started **out, struct cni_err *err)
{
	struct dlg_started *s = calloc(1, sizeof(*s));
	struct dlg_exec_req req = { 0 };

	*out = NULL;
	if (!s) {
		cni_err_oom(err);
		return -1;
	}
	s->verb = verb;
	s->timeout_ms = rt->timeout_ms;
	describe(plugin, s->desc, sizeof(s->desc));
	s->path = dlg_find(cni_plugin_type(plugin), rt->path, rt->npath, err);
	if (!s->path)
		goto fail;
	s->envp = dlg_env(verb, rt);
	if (!s->envp) {
		cni_err_oom(err);
		goto fail;
	}
	req.path = s->path;
	req.envp = s->envp;
	req.timeout_ms = rt->timeout_ms;
	req.forward_stderr = true;
	log_debug("exec %s %s ifname=%s", verb, s->path, rt->ifname ? rt->ifname : "");
	if (dlg_exec_start(&req, &s->child, err) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	cni_err_prefix(err, "plugin %s failed (%s)", s->desc, verb_word(verb));
	started_free(s);
	return -1;
}

static void plugin_cancel(struct dlg_started *s)
{
	if (!s)
		return;
	dlg_exec_cancel(s->child);
	started_free(s);
}

/* Gives the started plugin its stdin and judges its run as libcni does; consumes s. */
static int plugin_finish(struct dlg_started *s, const char *stdin_data, char **out,
			 struct cni_err *err)
{
	struct dlg_exec_res res = { 0 };
	int ret = -1;

	if (out)
		*out = NULL;
	if (dlg_exec_finish(s->child, stdin_data, strlen(stdin_data), &res, err) < 0) {
		cni_err_prefix(err, "plugin %s failed (%s)", s->desc, verb_word(s->verb));
		goto out;
	}
	if (res.timed_out) {
		cni_err_set(err, CNI_ERR_INTERNAL,
			    "plugin %s failed (%s): netplugin timed out after %d ms and was killed",
			    s->desc, verb_word(s->verb), s->timeout_ms);
		goto out;
	}
	if (res.exit_code != 0) {
		/* libcni pluginErr: stdout is the error object; else stderr; else nothing. */
		if (res.out_len == 0) {
			if (res.err_len == 0)
				cni_err_set(
				    err, CNI_ERR_INTERNAL,
				    "netplugin failed with no error message: exit status %d",
				    res.exit_code);
			else
				cni_err_set(err, CNI_ERR_INTERNAL, "netplugin failed: \"%s\"",
					    res.errout);
		} else if (cni_err_from_json(res.out, err) < 0) {
			cni_err_set(
			    err, CNI_ERR_INTERNAL,
			    "netplugin failed but error parsing its diagnostic message \"%s\"",
			    res.out);
		}
		cni_err_prefix(err, "plugin %s failed (%s)", s->desc, verb_word(s->verb));
		goto out;
	}
	if (out) {
		*out = res.out;
		res.out = NULL;
	}
	ret = 0;
out:
	dlg_exec_res_free(&res);
	started_free(s);
	return ret;
}

int dlg_exec_plugin(const char *verb, const cJSON *plugin, const char *stdin_data,
		    const struct dlg_rt *rt, char **out, struct cni_err *err)
{
	struct dlg_started *s;

	if (out)
		*out = NULL;
	if (plugin_start(verb, plugin, rt, &s, err) < 0)
		return -1;
	return plugin_finish(s, stdin_data, out, err);
}

/* Builds plugin i's stdin and runs it: in started when given (consumed, killed unfed when its
 * stdin cannot be built), else spawned now. */
static int run_one(const char *verb, const struct cni_conflist *list, size_t i, const cJSON *prev,
		   const cJSON *extra, const struct dlg_rt *rt, struct dlg_started *started,
		   char **out, struct cni_err *err)
{
	char *in = cni_conflist_plugin_stdin(list, i, prev, rt->cap_args, extra, err);
	int ret;

	if (!in) {
		plugin_cancel(started);
		return -1;
	}
	ret = started ? plugin_finish(started, in, out, err)
		      : dlg_exec_plugin(verb, list->plugins[i], in, rt, out, err);
	free(in);
	return ret;
}

/* libcni addNetwork's checks, before each plugin of an ADD */
static int add_checks(const struct cni_conflist *list, const struct dlg_rt *rt, struct cni_err *err)
{
	if (cni_validate_container_id(rt->container_id, err) < 0 ||
	    cni_validate_network_name(list->name, err) < 0 ||
	    cni_validate_ifname(rt->ifname, err) < 0)
		return -1;
	return 0;
}

int dlg_add_start(const struct cni_conflist *list, const struct dlg_rt *rt,
		  struct dlg_started **first, struct cni_err *err)
{
	*first = NULL;
	if (list->nplugins == 0)
		return 0;
	if (add_checks(list, rt, err) < 0)
		return -1;
	return plugin_start("ADD", list->plugins[0], rt, first, err);
}

void dlg_add_when_fed(struct dlg_started *first, void (*fn)(void *arg), void *arg)
{
	if (first)
		dlg_exec_when_fed(first->child, fn, arg);
}

void dlg_add_cancel(struct dlg_started *first)
{
	plugin_cancel(first);
}

cJSON *dlg_add_started(const struct cni_conflist *list, const struct dlg_rt *rt,
		       struct dlg_started *first, struct dlg_cache_entry *later,
		       struct cni_err *err)
{
	cJSON *result = NULL;
	int rc;

	if (later)
		memset(later, 0, sizeof(*later));

	for (size_t i = 0; i < list->nplugins; i++) {
		char *out = NULL;
		cJSON *next;
		int ret;

		if (add_checks(list, rt, err) < 0)
			goto fail;
		ret = run_one("ADD", list, i, result, NULL, rt, first, &out, err);
		first = NULL;
		if (ret < 0)
			goto fail;
		next = cni_result_parse(out ? out : "", list->cni_version, err);
		free(out);
		if (next) {
			/* libcni decodes the result into its typed struct and re-encodes it: that is
			 * what later plugins see as prevResult and what gets cached. */
			cJSON *typed = cni_result_convert(
			    next, cni_result_version(next, list->cni_version), err);

			cJSON_Delete(next);
			next = typed;
		}
		if (!next) {
			char desc[256];

			describe(list->plugins[i], desc, sizeof(desc));
			cni_err_prefix(err, "plugin %s failed (add)", desc);
			goto fail;
		}
		cJSON_Delete(result);
		result = next;
	}
	if (!rt->cache_dir)
		return result;
	rc = later ? dlg_cache_entry_make(rt->cache_dir, list->name, rt->container_id, rt->ifname,
					  rt->netns, rt->args, rt->nargs, rt->cap_args, list->bytes,
					  list->len, result, later, err)
		   : dlg_cache_write(rt->cache_dir, list->name, rt->container_id, rt->ifname,
				     rt->netns, rt->args, rt->nargs, rt->cap_args, list->bytes,
				     list->len, result, err);
	if (rc < 0) {
		cni_err_prefix(err, "failed to set network \"%s\" cached result", list->name);
		goto fail;
	}
	return result;
fail:
	plugin_cancel(first);
	cJSON_Delete(result);
	return NULL;
}

cJSON *dlg_add(const struct cni_conflist *list, const struct dlg_rt *rt, struct cni_err *err)
{
	return dlg_add_started(list, rt, NULL, NULL, err);
}

/* The cached result converted to the list's version, or NULL (absent, or unreadable: libcni
 * deletes an unparsable entry and goes on without it). */
static cJSON *cached_result(const struct cni_conflist *list, const struct dlg_rt *rt,
			    struct cni_err *err)
{
	struct dlg_cached c;
	struct cni_err e = { 0 };
	cJSON *res = NULL;
	int found;

	if (!rt->cache_dir || !list->name || !rt->container_id || !rt->ifname)
		return NULL;
	found = dlg_cache_read(rt->cache_dir, list->name, rt->container_id, rt->ifname, &c, &e);
	if (found < 0) {
		char *path =
		    dlg_cache_path(rt->cache_dir, list->name, rt->container_id, rt->ifname);

		log_error("dropping unreadable cached result: %s", e.msg);
		if (path && cni_remove_file(path, &e) < 0) {
			/* best effort: the next ADD replaces it anyway */
		}
		free(path);
		cni_err_clear(&e);
		return NULL;
	}
	if (found == 0 || !c.result) {
		dlg_cached_free(&c);
		return NULL;
	}
	res = cni_result_convert(c.result, list->cni_version, &e);
	if (!res) {
		cni_err_move(err, &e);
		cni_err_prefix(err, "failed to get network \"%s\" cached result", list->name);
	}
	dlg_cached_free(&c);
	return res;
}

int dlg_del(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *prev_result,
	    struct cni_err *err)
{
	struct dlg_started *last = NULL;
	cJSON *cached = NULL;
	const cJSON *prev = NULL;

	/* the last plugin goes first: started now, its own start overlaps reading its prevResult */
	if (list->nplugins &&
	    plugin_start("DEL", list->plugins[list->nplugins - 1], rt, &last, err) < 0)
		return -1;
	if (cni_version_ge(list->cni_version, "0.4.0")) {
		if (prev_result) {
			prev = prev_result;
		} else {
			cached = cached_result(list, rt, err);
			if (!cached && cni_err_isset(err)) {
				plugin_cancel(last);
				return -1;
			}
			prev = cached;
		}
	}
	for (size_t i = list->nplugins; i-- > 0;) {
		int ret = run_one("DEL", list, i, prev, NULL, rt, last, NULL, err);

		last = NULL;
		if (ret < 0) {
			cJSON_Delete(cached);
			return -1;
		}
	}
	cJSON_Delete(cached);
	if (rt->cache_dir && list->name && rt->container_id && rt->ifname) {
		char *path =
		    dlg_cache_path(rt->cache_dir, list->name, rt->container_id, rt->ifname);
		struct cni_err e = { 0 };

		if (path) {
			if (cni_remove_file(path, &e) < 0) {
				/* best effort, as libcni's delCachedResult */
			}
			cni_remove_temporaries(path, CNI_WRITE_LOCKED);
		}
		free(path);
		cni_err_clear(&e);
	}
	return 0;
}

int dlg_check(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *prev_result,
	      struct cni_err *err)
{
	cJSON *cached = NULL;
	const cJSON *prev = prev_result;
	int ret = 0;

	if (!cni_version_ge(list->cni_version, "0.4.0"))
		return cni_err_set(
		    err, CNI_ERR_INCOMPATIBLE_VERSION,
		    "configuration version \"%s\" does not support the CHECK command",
		    list->cni_version);
	if (list->disable_check)
		return 0;
	if (!prev) {
		cached = cached_result(list, rt, err);
		if (!cached && cni_err_isset(err))
			return -1;
		prev = cached;
	}
	for (size_t i = 0; i < list->nplugins && ret == 0; i++)
		ret = run_one("CHECK", list, i, prev, NULL, rt, NULL, NULL, err);
	cJSON_Delete(cached);
	return ret;
}

bool dlg_attachment_valid(const cJSON *valid, const char *cid, const char *ifname)
{
	const cJSON *a;

	cJSON_ArrayForEach(a, valid)
	{
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "containerID");
		const cJSON *i = cJSON_GetObjectItemCaseSensitive(a, "ifname");

		if (cJSON_IsString(c) && cJSON_IsString(i) && strcmp(c->valuestring, cid) == 0 &&
		    strcmp(i->valuestring, ifname) == 0)
			return true;
	}
	return false;
}

int dlg_gc(const struct cni_conflist *list, const struct dlg_rt *rt, const cJSON *valid,
	   struct cni_err *err)
{
	struct dlg_cached *entries = NULL;
	size_t n = 0;
	cJSON *extra;

	if (list->disable_gc)
		return 0;
	if (rt->cache_dir && dlg_cache_list(rt->cache_dir, list->name, &entries, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct dlg_rt del_rt = *rt;
		struct cni_kv *args = NULL;
		struct cni_err one = { 0 };
		size_t nargs = 0;
		const cJSON *kv;

		if (dlg_attachment_valid(valid, entries[i].container_id, entries[i].ifname))
			continue;
		del_rt.container_id = entries[i].container_id;
		del_rt.ifname = entries[i].ifname;
		del_rt.netns = entries[i].netns;
		del_rt.cap_args = entries[i].capability_args;
		args = calloc((size_t)cJSON_GetArraySize(entries[i].cni_args) + 1, sizeof(*args));
		cJSON_ArrayForEach(kv, entries[i].cni_args)
		{
			const cJSON *k = cJSON_GetArrayItem(kv, 0), *v = cJSON_GetArrayItem(kv, 1);

			if (args && cJSON_IsString(k) && cJSON_IsString(v)) {
				args[nargs].key = k->valuestring;
				args[nargs].value = v->valuestring;
				nargs++;
			}
		}
		del_rt.args = args;
		del_rt.nargs = nargs;
		if (dlg_del(list, &del_rt, NULL, &one) < 0)
			cni_err_join(err, &one, "; ");
		free(args);
	}
	dlg_cached_free_all(entries, n);

	if (!cni_version_ge(list->cni_version, "1.1.0"))
		return cni_err_isset(err) ? -1 : 0;
	extra = cJSON_CreateObject();
	if (!extra)
		return cni_err_oom(err);
	cJSON_AddItemToObject(extra, "cni.dev/valid-attachments",
			      valid ? cJSON_Duplicate(valid, true) : cJSON_CreateArray());
	cJSON_AddItemToObject(extra, "cni.dev/attachments",
			      valid ? cJSON_Duplicate(valid, true) : cJSON_CreateArray());
	for (size_t i = 0; i < list->nplugins; i++) {
		struct cni_err one = { 0 };
		struct dlg_rt gc_rt = { .path = rt->path,
					.npath = rt->npath,
					.timeout_ms = rt->timeout_ms };

		/* GC and STATUS carry no per-attachment runtime data */
		if (run_one("GC", list, i, NULL, extra, &gc_rt, NULL, NULL, &one) < 0)
			cni_err_join(err, &one, "; ");
	}
	cJSON_Delete(extra);
	return cni_err_isset(err) ? -1 : 0;
}

int dlg_status(const struct cni_conflist *list, const struct dlg_rt *rt, struct cni_err *err)
{
	struct dlg_rt st_rt = { .path = rt->path,
				.npath = rt->npath,
				.timeout_ms = rt->timeout_ms };

	if (!cni_version_ge(list->cni_version, "1.1.0"))
		return 0;
	for (size_t i = 0; i < list->nplugins; i++)
		if (run_one("STATUS", list, i, NULL, NULL, &st_rt, NULL, NULL, err) < 0)
			return -1;
	return 0;
}

/* cni/skel.c: the plugin main loop: env + stdin in, exactly one JSON document out.
 * Follows libcni pkg/skel: required env per verb, version checks, CHECK >= 0.4.0, GC/STATUS >= 1.1.0. */
#include "cni/skel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/buf.h"
#include "cni/json.h"
#include "cni/log.h"
#include "cni/result.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

char *cni_read_all(FILE *in, size_t *len)
{
	struct cni_buf b;
	char chunk[4096];
	size_t got;

	cni_buf_init(&b, SIZE_MAX, false);
	while ((got = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (cni_buf_add(&b, chunk, got) < 0)
			break;
	}
	if (b.status || ferror(in)) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_take(&b, len);
}

void cni_print_error(FILE *out, const struct cni_err *err, const char *cni_version)
{
	cJSON *o = cni_err_to_json(err, cni_version);
	char *s = o ? cni_json_print_utf8(o, true) : NULL;

	if (s)
		fprintf(out, "%s\n", s);
	else
		fprintf(out, "{\"code\":%u,\"msg\":\"out of memory\"}\n", err->code);
	fflush(out);
	free(s);
	cJSON_Delete(o);
}

/* Environment the spec requires per verb (CNI SPEC.md, Section 2 'CNI operations'); CNI_PATH
 * is optional but for GC. */
static int check_env(struct cni_request *req, struct cni_err *err)
{
	const char *missing[3];
	size_t n = 0;

	switch (req->verb) {
	case CNI_VERB_ADD:
	case CNI_VERB_CHECK:
		if (!req->container_id)
			missing[n++] = "CNI_CONTAINERID";
		if (!req->netns)
			missing[n++] = "CNI_NETNS";
		if (!req->ifname)
			missing[n++] = "CNI_IFNAME";
		break;
	case CNI_VERB_DEL:
		if (!req->container_id)
			missing[n++] = "CNI_CONTAINERID";
		if (!req->ifname)
			missing[n++] = "CNI_IFNAME";
		break;
	case CNI_VERB_GC:
		if (!req->path)
			missing[n++] = "CNI_PATH";
		break;
	default:
		break;
	}
	if (!n)
		return 0;
	return cni_err_set(err, CNI_ERR_INVALID_ENV, "required env variables [%s%s%s%s%s] missing",
			   missing[0], n > 1 ? "," : "", n > 1 ? missing[1] : "", n > 2 ? "," : "",
			   n > 2 ? missing[2] : "");
}

static bool plugin_supports(const struct cni_plugin *p, const char *v)
{
	for (size_t i = 0; i < p->nversions; i++)
		if (strcmp(p->versions[i], v) == 0)
			return true;
	return false;
}

/* Reads and checks the config and the per-verb rules; everything before the callback. */
static int prepare(const struct cni_plugin *p, struct cni_request *req, const char *data,
		   size_t len, struct cni_err *err)
{
	const char *v;

	if (check_env(req, err) < 0)
		return -1;
	if (!data)
		return cni_err_set(err, CNI_ERR_IO, "error reading from stdin");
	/* a private NUL-terminated copy: the plugin may keep pointers into it */
	req->stdin_data = malloc(len + 1);
	if (!req->stdin_data)
		return cni_err_oom(err);
	memcpy(req->stdin_data, data, len);
	req->stdin_data[len] = '\0';
	req->stdin_len = len;
	req->conf = cni_json_parse(req->stdin_data, req->stdin_len,
				   "error unmarshalling network config", err);
	if (!req->conf)
		return -1;
	if (!cJSON_IsObject(req->conf))
		return cni_err_set(err, CNI_ERR_DECODE,
				   "error unmarshalling network config: not a JSON object");
	req->cni_version = "";
	if (cni_json_get_string(req->conf, "cniVersion", &req->cni_version, "network config", err) <
	    0) {
		err->code = CNI_ERR_DECODE;
		return -1;
	}
	v = *req->cni_version ? req->cni_version : "0.1.0";
	if (!plugin_supports(p, v)) {
		bool bad = false;

		cni_version_cmp(v, "0.1.0", &bad);
		if (bad)
			return cni_err_set(
			    err, CNI_ERR_DECODE,
			    "decoding version from network config: invalid version \"%s\"", v);
		char *list = NULL;
		size_t list_len = 0;
		FILE *f = open_memstream(&list, &list_len);

		for (size_t i = 0; f && i < p->nversions; i++)
			fprintf(f, "%s\"%s\"", i ? " " : "", p->versions[i]);
		if (f)
			fclose(f);
		cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI versions");
		cni_err_details(err, "config is \"%s\", plugin supports [%s]", v, list ? list : "");
		free(list);
		return -1;
	}
	if (req->verb == CNI_VERB_CHECK && !cni_version_ge(v, "0.4.0"))
		return cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
				   "config version does not allow CHECK");
	if ((req->verb == CNI_VERB_GC || req->verb == CNI_VERB_STATUS) &&
	    !cni_version_ge(v, "1.1.0"))
		return cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
				   "config version does not allow %s", cni_verb_name(req->verb));
	req->name = NULL;
	if (cni_json_get_string(req->conf, "name", &req->name, "network config", err) < 0)
		return -1;
	if (cni_validate_network_name(req->name, err) < 0)
		return -1;
	if (req->verb == CNI_VERB_ADD || req->verb == CNI_VERB_CHECK ||
	    (req->verb == CNI_VERB_DEL && req->container_id)) {
		if (cni_validate_container_id(req->container_id, err) < 0)
			return -1;
	}
	if (req->verb == CNI_VERB_ADD || req->verb == CNI_VERB_CHECK ||
	    (req->verb == CNI_VERB_DEL && req->ifname)) {
		if (cni_validate_ifname(req->ifname, err) < 0)
			return -1;
	}
	return cni_args_parse(req->args_str, &req->args, err);
}

/* A variable from the "K=V" array, or from the process environment when there is none. */
static const char *lookup(const char *const *envkv, const char *name)
{
	size_t n = strlen(name);

	if (!envkv)
		return env(name);
	for (const char *const *e = envkv; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return (*e)[n + 1] ? *e + n + 1 : NULL;
	return NULL;
}

static char *version_json(const struct cni_plugin *p)
{
	cJSON *o = cJSON_CreateObject(), *list;
	char *s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "cniVersion", CNI_VERSION_LATEST);
	list = cJSON_AddArrayToObject(o, "supportedVersions");
	for (size_t i = 0; list && i < p->nversions; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(p->versions[i]));
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static char *error_json(const struct cni_err *err, const char *cni_version)
{
	cJSON *o = cni_err_to_json(err, cni_version);
	char *s = o ? cni_json_print_utf8(o, true) : NULL;

	cJSON_Delete(o);
	if (!s && asprintf(&s, "{\"code\":%u,\"msg\":\"out of memory\"}", err->code) < 0)
		s = NULL;
	return s;
}

void cni_later_run(struct cni_later *l)
{
	struct cni_later now;

	if (!l || !l->fn)
		return;
	now = *l;
	*l = (struct cni_later){ 0 };
	now.fn(now.arg);
}

int cni_skel_handle(const struct cni_plugin *p, const char *const *envkv, const char *data,
		    size_t len, const char *want_version, struct cni_later *later, char **out_json,
		    struct cni_err *err)
{
	struct cni_request req = { .later = later };
	cJSON *result = NULL, *conv = NULL;
	const char *cmd = lookup(envkv, "CNI_COMMAND");
	int rc = -1;

	*out_json = NULL;
	if (later)
		*later = (struct cni_later){ 0 };
	req.verb = cni_verb_parse(cmd);
	req.container_id = lookup(envkv, "CNI_CONTAINERID");
	req.netns = lookup(envkv, "CNI_NETNS");
	req.ifname = lookup(envkv, "CNI_IFNAME");
	req.args_str = lookup(envkv, "CNI_ARGS");
	req.path = lookup(envkv, "CNI_PATH");

	if (!cmd) {
		cni_err_set(err, CNI_ERR_INVALID_ENV,
			    "required env variables [CNI_COMMAND] missing");
		goto out;
	}
	if (req.verb == CNI_VERB_VERSION) {
		*out_json = version_json(p);
		return *out_json ? 0 : cni_err_oom(err);
	}
	if (req.verb == CNI_VERB_NONE || (req.verb == CNI_VERB_ADD && !p->add) ||
	    (req.verb == CNI_VERB_DEL && !p->del) || (req.verb == CNI_VERB_CHECK && !p->check) ||
	    (req.verb == CNI_VERB_GC && !p->gc) || (req.verb == CNI_VERB_STATUS && !p->status)) {
		cni_err_set(err, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND: %s", cmd);
		goto out;
	}
	if (prepare(p, &req, data, len, err) < 0)
		goto out;

	switch (req.verb) {
	case CNI_VERB_ADD:
		rc = p->add(&req, &result, err);
		if (rc == 0 && !result)
			rc = cni_err_set(err, CNI_ERR_INTERNAL, "plugin returned no result");
		if (rc == 0) {
			const char *v = want_version	   ? want_version
					: *req.cni_version ? req.cni_version
							   : "0.1.0";

			conv = cni_result_convert(result, v, err);
			if (!conv) {
				rc = -1;
				break;
			}
			*out_json = cni_json_print_utf8(conv, true);
			if (!*out_json)
				rc = cni_err_oom(err);
		}
		break;
	case CNI_VERB_DEL:
		rc = p->del(&req, err);
		break;
	case CNI_VERB_CHECK:
		rc = p->check(&req, err);
		break;
	case CNI_VERB_GC:
		rc = p->gc(&req, err);
		break;
	case CNI_VERB_STATUS:
		rc = p->status(&req, err);
		break;
	default:
		break;
	}
	if (rc != 0 && !cni_err_isset(err))
		cni_err_set(err, CNI_ERR_INTERNAL, "%s failed without a message", cmd);
out:
	if (cni_err_isset(err)) {
		log_error("%s failed: %s%s%s", cmd ? cmd : "(no CNI_COMMAND)", err->msg,
			  err->details ? ": " : "", err->details ? err->details : "");
		free(*out_json);
		*out_json =
		    error_json(err, req.cni_version && *req.cni_version ? req.cni_version : NULL);
		rc = -1;
	} else {
		rc = 0;
	}
	cJSON_Delete(result);
	cJSON_Delete(conv);
	cJSON_Delete(req.conf);
	free(req.stdin_data);
	cni_args_free(&req.args);
	return rc;
}

int cni_skel_run(const struct cni_plugin *p, FILE *in, FILE *out)
{
	struct cni_err err = { 0 };
	enum cni_verb verb = cni_verb_parse(env("CNI_COMMAND"));
	char *data = NULL, *json = NULL;
	size_t len = 0;
	int rc;

	/* stdin is read only when the verb takes a config (VERSION and errors never wait on it) */
	if (verb != CNI_VERB_NONE && verb != CNI_VERB_VERSION)
		data = cni_read_all(in, &len);
	rc = cni_skel_handle(p, NULL, data, len, NULL, NULL, &json, &err);
	if (json)
		fprintf(out, "%s\n", json);
	else if (rc < 0)
		fprintf(out, "{\"code\":%u,\"msg\":\"out of memory\"}\n", err.code);
	fflush(out);
	free(json);
	free(data);
	cni_err_clear(&err);
	return rc < 0 ? 1 : 0;
}

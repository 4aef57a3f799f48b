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

static int print_version(const struct cni_plugin *p, FILE *out)
{
	cJSON *o = cJSON_CreateObject(), *list;
	char *s;

	if (!o)
		return 1;
	cJSON_AddStringToObject(o, "cniVersion", CNI_VERSION_LATEST);
	list = cJSON_AddArrayToObject(o, "supportedVersions");
	for (size_t i = 0; list && i < p->nversions; i++)
		cJSON_AddItemToArray(list, cJSON_CreateString(p->versions[i]));
	s = cJSON_PrintUnformatted(o);
	if (s)
		fprintf(out, "%s\n", s);
	free(s);
	cJSON_Delete(o);
	return s ? 0 : 1;
}

/* Reads and checks the config and the per-verb rules; everything before the callback. */
static int prepare(const struct cni_plugin *p, struct cni_request *req, FILE *in,
		   struct cni_err *err)
{
	const char *v;

	if (check_env(req, err) < 0)
		return -1;
	req->stdin_data = cni_read_all(in, &req->stdin_len);
	if (!req->stdin_data)
		return cni_err_set(err, CNI_ERR_IO, "error reading from stdin");
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
		size_t len = 0;
		FILE *f = open_memstream(&list, &len);

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

int cni_skel_run(const struct cni_plugin *p, FILE *in, FILE *out)
{
	struct cni_request req = { 0 };
	struct cni_err err = { 0 };
	cJSON *result = NULL, *conv = NULL;
	const char *cmd = env("CNI_COMMAND");
	int rc = -1;

	req.verb = cni_verb_parse(cmd);
	req.container_id = env("CNI_CONTAINERID");
	req.netns = env("CNI_NETNS");
	req.ifname = env("CNI_IFNAME");
	req.args_str = env("CNI_ARGS");
	req.path = env("CNI_PATH");

	if (!cmd) {
		cni_err_set(&err, CNI_ERR_INVALID_ENV,
			    "required env variables [CNI_COMMAND] missing");
		goto out;
	}
	if (req.verb == CNI_VERB_VERSION)
		return print_version(p, out);
	if (req.verb == CNI_VERB_NONE || (req.verb == CNI_VERB_ADD && !p->add) ||
	    (req.verb == CNI_VERB_DEL && !p->del) || (req.verb == CNI_VERB_CHECK && !p->check) ||
	    (req.verb == CNI_VERB_GC && !p->gc) || (req.verb == CNI_VERB_STATUS && !p->status)) {
		cni_err_set(&err, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND: %s", cmd);
		goto out;
	}
	if (prepare(p, &req, in, &err) < 0)
		goto out;

	switch (req.verb) {
	case CNI_VERB_ADD:
		rc = p->add(&req, &result, &err);
		if (rc == 0 && !result)
			rc = cni_err_set(&err, CNI_ERR_INTERNAL, "plugin returned no result");
		if (rc == 0) {
			const char *v = *req.cni_version ? req.cni_version : "0.1.0";

			conv = cni_result_convert(result, v, &err);
			if (!conv) {
				rc = -1;
				break;
			}
			char *s = cni_json_print_utf8(conv, true);

			if (!s) {
				rc = cni_err_oom(&err);
				break;
			}
			fprintf(out, "%s\n", s);
			free(s);
		}
		break;
	case CNI_VERB_DEL:
		rc = p->del(&req, &err);
		break;
	case CNI_VERB_CHECK:
		rc = p->check(&req, &err);
		break;
	case CNI_VERB_GC:
		rc = p->gc(&req, &err);
		break;
	case CNI_VERB_STATUS:
		rc = p->status(&req, &err);
		break;
	default:
		break;
	}
	if (rc != 0 && !cni_err_isset(&err))
		cni_err_set(&err, CNI_ERR_INTERNAL, "%s failed without a message", cmd);
out:
	if (cni_err_isset(&err)) {
		log_error("%s failed: %s%s%s", cmd ? cmd : "(no CNI_COMMAND)", err.msg,
			  err.details ? ": " : "", err.details ? err.details : "");
		cni_print_error(out, &err,
				req.cni_version && *req.cni_version ? req.cni_version : NULL);
		rc = 1;
	} else {
		rc = 0;
	}
	fflush(out);
	cJSON_Delete(result);
	cJSON_Delete(conv);
	cJSON_Delete(req.conf);
	free(req.stdin_data);
	cni_args_free(&req.args);
	cni_err_clear(&err);
	return rc;
}

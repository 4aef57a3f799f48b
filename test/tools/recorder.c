/* test/tools/recorder.c: a CNI 1.1.0 test plugin that records every call (verb, CNI_* env,
 * stdin) into "recordDir" and can be told to fail. Debian's plugins and libcni's noop stop at
 * 1.0.0, so GC and STATUS forwarding is tested against this one. Not shipped.
 * Config keys: recordDir (string), failOn ("ADD"|"DEL"|...), failCode (number), failMsg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/skel.h"

static int record(const struct cni_request *req, const char *verb, struct cni_err *err)
{
	const cJSON *dir = cJSON_GetObjectItemCaseSensitive(req->conf, "recordDir");
	const cJSON *fail = cJSON_GetObjectItemCaseSensitive(req->conf, "failOn");
	static const char *const vars[] = { "CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
					    "CNI_IFNAME",  "CNI_ARGS",	      "CNI_PATH" };
	struct timespec ts;
	cJSON *o, *env;
	char *path = NULL, *text;

	if (cJSON_IsString(dir)) {
		o = cJSON_CreateObject();
		env = cJSON_AddObjectToObject(o, "env");
		cJSON_AddStringToObject(o, "verb", verb);
		for (size_t i = 0; i < 6; i++)
			if (getenv(vars[i]))
				cJSON_AddStringToObject(env, vars[i], getenv(vars[i]));
		cJSON_AddStringToObject(o, "stdin", req->stdin_data);
		text = cJSON_PrintUnformatted(o);
		clock_gettime(CLOCK_REALTIME, &ts);
		if (asprintf(&path, "%s/%lld%09ld-%s-%s", dir->valuestring, (long long)ts.tv_sec,
			     ts.tv_nsec, verb, req->ifname ? req->ifname : "none") >= 0 &&
		    cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, err) < 0) {
			/* in err, which the recorder reports as it did */
		}
		free(path);
		free(text);
		cJSON_Delete(o);
	}
	if (cJSON_IsString(fail) && strcmp(fail->valuestring, verb) == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(req->conf, "failCode");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(req->conf, "failMsg");

		return cni_err_set(err, cJSON_IsNumber(code) ? (unsigned)code->valuedouble : 999,
				   "%s", cJSON_IsString(msg) ? msg->valuestring : "told to fail");
	}
	return 0;
}

static int add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(req->conf, "prevResult");
	char text[512];

	if (record(req, "ADD", err) < 0)
		return -1;
	if (prev) {
		*result = cJSON_Duplicate(prev, true);
		return 0;
	}
	snprintf(text, sizeof(text),
		 "{\"cniVersion\":\"%s\",\"interfaces\":[{\"name\":\"%s\",\"sandbox\":\"%s\"}],"
		 "\"ips\":[{\"address\":\"192.0.2.10/24\",\"interface\":0}]}",
		 *req->cni_version ? req->cni_version : "1.1.0", req->ifname, req->netns);
	*result = cJSON_Parse(text);
	return *result ? 0 : cni_err_set(err, 999, "bad result");
}

static int del(const struct cni_request *req, struct cni_err *err)
{
	return record(req, "DEL", err);
}

static int check(const struct cni_request *req, struct cni_err *err)
{
	return record(req, "CHECK", err);
}

static int gc(const struct cni_request *req, struct cni_err *err)
{
	return record(req, "GC", err);
}

static int status(const struct cni_request *req, struct cni_err *err)
{
	return record(req, "STATUS", err);
}

int main(void)
{
	static const char *const versions[] = { "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
	const struct cni_plugin p = { "recorder", versions, 4, add, del, check, gc, status };

	return cni_skel_run(&p, stdin, stdout);
}

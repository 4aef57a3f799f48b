/* test/tools/cnitool.c: drive delegates/ from the shell, as libcni's cnitool drives libcni.
 * Used by the integration tests and the demo; not shipped.
 *
 * cnitool add|del|check|gc|status CONF NETNS
 * env: CNI_PATH (plugin dirs), CNI_IFNAME (eth0), CNI_CONTAINERID (cnitool-<hash of netns>),
 *      CNI_ARGS, CAP_ARGS (JSON object of capability args), CACHE_DIR (result cache root),
 *      TIMEOUT_MS, VALID_ATTACHMENTS (JSON array, for gc). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "cni/file.h"
#include "cni/json.h"
#include "cni/skel.h"
#include "delegates/find.h"
#include "delegates/invoke.h"

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	struct cni_conflist list = { 0 };
	struct cni_args args = { 0 };
	struct cni_err err = { 0 };
	struct dlg_rt rt = { 0 };
	cJSON *cap = NULL, *valid = NULL, *res = NULL;
	char **dirs = NULL, *conf = NULL, cid[64];
	size_t len = 0, ndirs = 0;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: cnitool add|del|check|gc|status CONF NETNS\n");
		return 2;
	}
	conf = cni_read_file(argv[2], 1 << 24, CNI_FILE_NOFOLLOW, &len, &err);
	if (!conf) {
		if (!cni_err_isset(&err))
			cni_err_set(&err, 5, "%s: not found", argv[2]);
		goto out;
	}
	if (cni_conflist_parse(conf, len, &list, &err) < 0)
		goto out;
	if (cni_args_parse(getenv("CNI_ARGS"), &args, &err) < 0)
		goto out;
	if (getenv("CAP_ARGS") && !(cap = cJSON_Parse(getenv("CAP_ARGS")))) {
		cni_err_set(&err, 6, "CAP_ARGS is not JSON");
		goto out;
	}
	valid = getenv("VALID_ATTACHMENTS") ? cJSON_Parse(getenv("VALID_ATTACHMENTS")) : NULL;
	unsigned long h = 5381;
	for (const char *p = argv[3]; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(cid, sizeof(cid), "cnitool-%lx", h);
	dirs = dlg_path_split(env_or("CNI_PATH", "/usr/lib/cni"), &ndirs);
	rt.container_id = env_or("CNI_CONTAINERID", cid);
	rt.netns = argv[3];
	rt.ifname = env_or("CNI_IFNAME", "eth0");
	rt.args = args.kv;
	rt.nargs = args.n;
	rt.path = (const char *const *)dirs;
	rt.npath = ndirs;
	rt.cap_args = cap;
	rt.timeout_ms = atoi(env_or("TIMEOUT_MS", "0"));
	rt.cache_dir = getenv("CACHE_DIR");

	if (strcmp(argv[1], "add") == 0) {
		res = dlg_add(&list, &rt, &err);
		if (res) {
			char *s = cJSON_Print(res);

			printf("%s\n", s);
			free(s);
			rc = 0;
		}
	} else if (strcmp(argv[1], "del") == 0) {
		rc = dlg_del(&list, &rt, NULL, &err) < 0;
	} else if (strcmp(argv[1], "check") == 0) {
		rc = dlg_check(&list, &rt, NULL, &err) < 0;
	} else if (strcmp(argv[1], "gc") == 0) {
		rc = dlg_gc(&list, &rt, valid, &err) < 0;
	} else if (strcmp(argv[1], "status") == 0) {
		rc = dlg_status(&list, &rt, &err) < 0;
	} else {
		cni_err_set(&err, 4, "unknown command %s", argv[1]);
	}
out:
	if (cni_err_isset(&err))
		cni_print_error(stdout, &err, NULL);
	cJSON_Delete(res);
	cJSON_Delete(cap);
	cJSON_Delete(valid);
	dlg_path_free(dirs);
	cni_args_free(&args);
	cni_conflist_free(&list);
	free(conf);
	cni_err_clear(&err);
	return rc;
}

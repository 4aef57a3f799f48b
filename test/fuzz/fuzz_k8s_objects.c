/* test/fuzz/fuzz_k8s_objects.c: libFuzzer harness: Kubernetes objects as the API returns them.
 * The first byte picks the input (byte % 3, so seeds can start with a letter):
 *  0 ('N'): a NetworkAttachmentDefinition through meta_nad_delegate_config (confDir: an empty
 *     temp dir, so an empty spec.config fails cleanly), then cni_conflist_parse on the config;
 *  1 ('R', 'U'): delegate results through k8s_network_status_append and _render (an array is up to
 *     8 results, an object is one; "x-device-info" in a result is its device info; the first is
 *     the default network when byte / 3 is odd, as for 'R', not for 'U');
 *  2 ('P'): a pod through k8s_pod_check_uid, k8s_object_annotation and the annotation parsers.
 * Invariants: a NAD config is NUL-terminated with the length given, a JSON object with "type"
 * or "plugins", and names the network (its own non-empty "name", kept byte for byte, else
 * metadata.name); the network-status annotation parses as a JSON array of the entries
 * appended, each naming its network, at most one default per network and none for a
 * non-default one; the UID rule accepts the pod's own UID, an empty one, and a mismatch only
 * for a static pod. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/json.h"
#include "k8s/netstatus.h"
#include "k8s/objects.h"
#include "k8s/selection.h"
#include "meta/nadconf.h"

static char dir[64];

static void remove_dir(void)
{
	rmdir(dir);
}

/* Made once, left empty, removed at exit. */
static const char *conf_dir(void)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/pxfuzz-nad-%d-XXXXXX", (int)getpid());
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	return dir;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void fuzz_nad(const char *text, size_t len)
{
	struct cni_err err = { 0 };
	struct k8s_nad_config out;
	struct cni_conflist list;
	cJSON *nad = cni_json_parse(text, len, "nad", &err), *conf, *name;
	const cJSON *spec_conf;
	const char *meta_name;
	char *want = NULL;

	cni_err_clear(&err);
	if (!nad)
		return;
	meta_name = k8s_object_meta(nad, "name");
	spec_conf = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(nad, "spec"),
						     "config");
	if (meta_nad_delegate_config(nad, conf_dir(), &out, &err) < 0) {
		if (out.config || out.resource_name || !err.msg)
			abort();
		cni_err_clear(&err);
		cJSON_Delete(nad);
		return;
	}
	/* The conf dir is empty: only a non-empty spec.config can give a config. */
	if (!cJSON_IsString(spec_conf) || !spec_conf->valuestring[0] || !meta_name ||
	    strchr(meta_name, '/'))
		abort();
	if (!out.config || strlen(out.config) != out.len)
		abort();
	conf = cJSON_Parse(out.config);
	if (!cJSON_IsObject(conf) || (!cJSON_GetObjectItemCaseSensitive(conf, "type") &&
				      !cJSON_GetObjectItemCaseSensitive(conf, "plugins")))
		abort();
	name = cJSON_GetObjectItemCaseSensitive(conf, "name");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		abort(); /* every delegate config names its network */
	/* A config is either kept as written or named after the NAD (printed as Go prints it,
	 * invalid UTF-8 as U+FFFD, so compared for ASCII names only: the API's are DNS-1123). */
	if (strcmp(out.config, spec_conf->valuestring) && ascii(meta_name) &&
	    strcmp(name->valuestring, meta_name) != 0)
		abort();
	want = strdup(name->valuestring);
	cJSON_Delete(conf);
	if (cni_conflist_parse(out.config, out.len, &list, &err) == 0) {
		if (list.len != out.len || memcmp(list.bytes, out.config, out.len) || !list.name ||
		    (want && strcmp(list.name, want)))
			abort();
		for (size_t i = 0; i < list.nplugins; i++)
			free(cni_conflist_plugin_stdin(&list, i, NULL, list.root, NULL, &err));
		cni_conflist_free(&list);
	}
	cni_err_clear(&err);
	free(want);
	k8s_nad_config_free(&out);
	cJSON_Delete(nad);
}

static void fuzz_results(const char *text, size_t len, unsigned flags)
{
	static const char *const names[] = { "cbr0", "ns1/net-a", "team-a/sriov-net" };
	struct cni_err err = { 0 };
	cJSON *in = cni_json_parse(text, len, "result", &err), *statuses, *back;
	const cJSON *r;
	int total = 0, from[8];
	size_t nres = 0;
	char *rendered;

	cni_err_clear(&err);
	if (!in)
		return;
	statuses = cJSON_CreateArray();
	if (!statuses) {
		cJSON_Delete(in);
		return;
	}
	for (r = cJSON_IsArray(in) ? in->child : in; r && nres < 8; r = r->next) {
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(r, "x-device-info");
		/* The first network is the default one when flags say so. */
		bool is_default = nres == 0 && (flags & 1);
		int n =
		    k8s_network_status_append(statuses, names[nres % 3], is_default, r, dev, &err);

		if (n < 0) {
			if (!err.msg || cJSON_GetArraySize(statuses) != total)
				abort(); /* a failure appends nothing */
			cni_err_clear(&err);
			n = 0;
		}
		from[nres++] = n;
		total += n;
		if (cJSON_GetArraySize(statuses) != total)
			abort(); /* the count returned is the count appended */
		if (!cJSON_IsArray(in))
			break;
	}
	rendered = k8s_network_status_render(statuses);
	if (rendered) {
		const cJSON *e;
		size_t k = 0;
		int defaults = 0, left = nres ? from[0] : 0;

		back = cJSON_ParseWithOpts(rendered, NULL, 1); /* nothing after the array */
		if (!cJSON_IsArray(back) || cJSON_GetArraySize(back) != total)
			abort(); /* the annotation is a JSON array of every entry */
		cJSON_ArrayForEach(e, back)
		{
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
			const cJSON *def = cJSON_GetObjectItemCaseSensitive(e, "default");

			while (left == 0 && k + 1 < nres) {
				left = from[++k];
				defaults = 0;
			}
			if (!cJSON_IsString(nm) || strcmp(nm->valuestring, names[k % 3]))
				abort();
			if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(e, "dns")))
				abort(); /* "dns" is always there */
			if (def && !cJSON_IsTrue(def))
				abort();
			if (def && (++defaults > 1 || k != 0 || !(flags & 1)))
				abort(); /* one default, only for the default network */
			left--;
		}
		cJSON_Delete(back);
		free(rendered);
	}
	cJSON_Delete(statuses);
	cJSON_Delete(in);
}

static void fuzz_pod(const char *text, size_t len)
{
	struct cni_err err = { 0 };
	cJSON *pod = cni_json_parse(text, len, "pod", &err);
	const char *uid, *nets, *def;
	struct k8s_net_selections s;
	struct k8s_net_selection d;

	cni_err_clear(&err);
	if (!pod)
		return;
	uid = k8s_object_meta(pod, "uid");
	if (k8s_pod_check_uid(pod, NULL, &err) < 0 || k8s_pod_check_uid(pod, "", &err) < 0)
		abort();
	if (uid && k8s_pod_check_uid(pod, uid, &err) < 0)
		abort(); /* its own UID always passes */
	if (!uid || strcmp(uid, "fuzz-uid-x")) {
		int r = k8s_pod_check_uid(pod, "fuzz-uid-x", &err);

		if ((r == 0) != k8s_pod_is_static(pod))
			abort(); /* a mismatch passes only for a static pod */
		if (r < 0 && (err.code != CNI_ERR_INVALID_ENV || !err.msg))
			abort();
	}
	cni_err_clear(&err);
	(void)k8s_object_meta(pod, "namespace");
	(void)k8s_object_meta(pod, "name");
	nets = k8s_object_annotation(pod, K8S_ANNOT_NETWORKS);
	if (k8s_parse_networks(nets, NULL, "pod-ns", &s, &err) == 0)
		k8s_net_selections_free(&s);
	cni_err_clear(&err);
	def = k8s_object_annotation(pod, K8S_ANNOT_DEFAULT_NETWORK);
	if (def && k8s_parse_default_network(def, "kube-system", &d, &err) == 0)
		k8s_net_selection_free(&d);
	cni_err_clear(&err);
	(void)k8s_object_annotation(pod, K8S_ANNOT_NETWORK_STATUS);
	cJSON_Delete(pod);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_nad((const char *)data + 1, size - 1);
		break;
	case 1:
		fuzz_results((const char *)data + 1, size - 1, (unsigned)(data[0] / 3));
		break;
	default:
		fuzz_pod((const char *)data + 1, size - 1);
		break;
	}
	return 0;
}

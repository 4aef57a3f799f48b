/* ops/validate.c: `plexus validate`: check a netconf, NADs and a pod offline with the code an
 * ADD runs: meta_netconf_parse, meta_nad_delegate_config, the annotation parsers, the plan
 * (static delegates, pod networks, namespace isolation, interface names, default-route). The
 * NADs and the pod come from files (JSON, as the API returns them) and stand in for the API:
 * nothing is requested and no plugin is executed. */
#include "ops/validate.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/file.h"
#include "cni/json.h"
#include "cni/spec.h"
#include "delegates/find.h"
#include "k8s/objects.h"
#include "k8s/selection.h"
#include "meta/defroute.h"
#include "meta/kube.h"
#include "meta/nadconf.h"
#include "meta/netconf.h"
#include "meta/plan.h"
#include "ops/cli.h"

#define FILE_MAX_BYTES (4u << 20)

void ops_validate_usage(FILE *out)
{
	fputs(
	    "Usage: plexus validate [OPTION]... [NETCONF]\n"
	    "Check a plexus netconf (a .conf, or a .conflist holding a \"plexus\" plugin), NADs\n"
	    "and a pod with the code an ADD runs, without the API and without running a plugin:\n"
	    "each NAD's spec.config as plexus converts it, then the attachment plan for the pod\n"
	    "(cluster network, defaultNetworks, annotations, isolation, interface names).\n"
	    "NADs and pods are JSON as the API returns them (kubectl get -o json): one object,\n"
	    "an array, or a List.\n"
	    "\n"
	    "  --nad FILE        NetworkAttachmentDefinitions the plan may use (repeatable)\n"
	    "  --pod FILE        the pod whose annotations are planned\n"
	    "  --conf-dir DIR    use DIR as the netconf's confDir\n"
	    "  --cni-path PATH   also check that every plugin binary is found in the netconf's\n"
	    "                    binDir or PATH (':'-separated), as ADD does\n"
	    "  -h, --help        this help\n"
	    "\n"
	    "Exit status: 0 valid, 1 invalid (one line naming the file and the problem), 2 usage.\n"
	    "See plexus(1).\n",
	    out);
}

static const struct option validate_options[] = {
	{ "nad", required_argument, NULL, 'n' },      { "pod", required_argument, NULL, 'p' },
	{ "conf-dir", required_argument, NULL, 'c' }, { "cni-path", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },	      { NULL, 0, NULL, 0 },
};

static cJSON *load_json(const char *path, struct cni_err *err)
{
	size_t len = 0;
	char *text = cni_read_file(path, FILE_MAX_BYTES, CNI_FILE_NOFOLLOW, &len, err);
	cJSON *j;

	if (!text) {
		if (!cni_err_isset(err))
			cni_err_set(err, CNI_ERR_IO, "No such file or directory");
		return NULL;
	}
	j = cni_json_parse(text, len, "JSON", err);
	free(text);
	return j;
}

/* Appends the objects of doc (an object, an array or a List) to into, each with its file. */
static int collect(cJSON *into, cJSON *doc, const char *path, struct cni_err *err)
{
	const cJSON *items = cJSON_IsArray(doc) ? doc : cJSON_GetObjectItem(doc, "items");
	const cJSON *o;

	if (!cJSON_IsArray(items)) {
		if (!cJSON_IsObject(doc))
			return cni_err_set(err, CNI_ERR_DECODE, "not an object, array or List");
		items = NULL;
	}
	for (o = items ? items->child : doc; o; o = items ? o->next : NULL) {
		cJSON *pair = cJSON_CreateArray();

		if (!cJSON_IsObject(o))
			return cni_err_set(err, CNI_ERR_DECODE, "an item is not an object");
		if (!pair || !cJSON_AddItemToArray(into, pair) ||
		    !cJSON_AddItemToArray(pair, cJSON_CreateString(path)) ||
		    !cJSON_AddItemToArray(pair, cJSON_Duplicate(o, true)))
			return cni_err_oom(err);
	}
	return 0;
}

/* The plexus netconf the runtime sends: a conf as it is; from a conflist, its "plexus" plugin
 * with the list's name and cniVersion injected, as libcni does. */
static char *netconf_text(const char *path, struct cni_err *err)
{
	cJSON *root = load_json(path, err), *plugin = NULL;
	const cJSON *plugins, *p;
	char *text = NULL;

	if (!root)
		return NULL;
	plugins = cJSON_GetObjectItemCaseSensitive(root, "plugins");
	if (!plugins) {
		text = cJSON_PrintUnformatted(root);
		goto out;
	}
	cJSON_ArrayForEach(p, plugins)
	{
		const char *type = cni_plugin_type(p);

		if (type && (strcmp(type, "plexus") == 0 || strcmp(type, "multus") == 0)) {
			plugin = cJSON_Duplicate(p, true);
			break;
		}
	}
	if (!plugin) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "no \"plexus\" plugin in \"plugins\"");
		goto out;
	}
	p = cJSON_GetObjectItemCaseSensitive(root, "name");
	if (cJSON_IsString(p) &&
	    cni_json_set(plugin, "name", cJSON_CreateString(p->valuestring)) < 0)
		goto out;
	p = cJSON_GetObjectItemCaseSensitive(root, "cniVersion");
	if (cJSON_IsString(p) &&
	    cni_json_set(plugin, "cniVersion", cJSON_CreateString(p->valuestring)) < 0)
		goto out;
	text = cJSON_PrintUnformatted(plugin);
out:
	cJSON_Delete(plugin);
	cJSON_Delete(root);
	if (!text && !cni_err_isset(err))
		cni_err_oom(err);
	return text;
}

static const char *meta_or(const cJSON *obj, const char *field, const char *dflt)
{
	const char *v = k8s_object_meta(obj, field);

	return v && *v ? v : dflt;
}

/* "plugin, plugin" of a delegate config, or NULL. */
static char *plugin_types(const char *config, size_t len)
{
	struct cni_err ignored = { 0 };
	struct cni_conflist list;
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	if (cni_conflist_parse(config, len, &list, &ignored) < 0) {
		cni_err_clear(&ignored);
		return NULL;
	}
	f = open_memstream(&s, &n);
	if (f) {
		for (size_t i = 0; i < list.nplugins; i++)
			fprintf(f, "%s%s", i ? "," : "", cni_plugin_type(list.plugins[i]));
		fclose(f);
	}
	cni_conflist_free(&list);
	return s;
}

/* One NAD on its own: converted as the API path converts it, then planned as a delegate. */
static int check_nad(const char *path, const cJSON *nad, const char *conf_dir)
{
	const char *ns = meta_or(nad, "namespace", "default"), *name = meta_or(nad, "name", "");
	struct meta_plan one = { 0 };
	struct k8s_nad_config c;
	struct cni_err err = { 0 };
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(nad, "kind"));
	char *types = NULL;
	int ret = -1;

	if (!kind || strcmp(kind, "NetworkAttachmentDefinition") != 0) {
		cni_err_set(&err, CNI_ERR_INVALID_CONFIG,
			    "kind \"%s\" is not a "
			    "NetworkAttachmentDefinition",
			    kind ? kind : "");
		goto out;
	}
	if (!k8s_valid_subdomain(name)) {
		cni_err_set(&err, CNI_ERR_INVALID_CONFIG,
			    "metadata.name \"%s\" is not a DNS-1123 subdomain", name);
		goto out;
	}
	if (meta_nad_delegate_config(nad, conf_dir, &c, &err) < 0)
		goto out;
	if (meta_plan_add(&one, c.config, c.len, NULL, &err) == 0) {
		types = plugin_types(c.config, c.len);
		printf("nad %s/%s: valid: network \"%s\" (%s)%s%s\n", ns, name, one.att[0].network,
		       types ? types : "", c.resource_name ? ", resourceName " : "",
		       c.resource_name ? c.resource_name : "");
		ret = 0;
	}
	k8s_nad_config_free(&c);
out:
	if (ret < 0)
		fprintf(stderr, "plexus validate: %s: nad %s/%s: %s\n", path, ns, name, err.msg);
	cni_err_clear(&err);
	free(types);
	meta_plan_free(&one);
	return ret;
}

/* The API stand-in: every NAD the plan may ask for is in the per-invocation cache, names the
 * files do not hold are cached as "not found", so the client never makes a request. */
static int prime_nads(struct meta_kube *k, const struct meta_netconf *nc, const char *pod_ns,
		      cJSON *nads)
{
	struct k8s_net_selections sels = { 0 };
	struct k8s_net_selection def = { 0 };
	struct cni_err ignored = { 0 };
	const cJSON *pair;
	char key[600];

	cJSON_ArrayForEach(pair, nads)
	{
		const cJSON *nad = cJSON_GetArrayItem(pair, 1);

		snprintf(key, sizeof(key), "%.253s/%.253s", meta_or(nad, "namespace", "default"),
			 meta_or(nad, "name", ""));
		if (!cJSON_GetObjectItemCaseSensitive(k->nads, key))
			cJSON_AddItemToObject(k->nads, key, cJSON_Duplicate(nad, true));
	}
#define NOT_FOUND(ns, name)                                                                        \
	do {                                                                                       \
		snprintf(key, sizeof(key), "%.253s/%.253s", (ns), (name));                         \
		if (!cJSON_GetObjectItemCaseSensitive(k->nads, key))                               \
			cJSON_AddItemToObject(k->nads, key, cJSON_CreateNull());                   \
	} while (0)
	if (nc->cluster_network && !strchr(nc->cluster_network, '/'))
		NOT_FOUND(nc->multus_namespace, nc->cluster_network);
	for (size_t i = 0; i < nc->ndefault_networks; i++)
		if (!strchr(nc->default_networks[i], '/'))
			NOT_FOUND(nc->multus_namespace, nc->default_networks[i]);
	if (k->pod) {
		const char *v = k8s_object_annotation(k->pod, K8S_ANNOT_DEFAULT_NETWORK);

		if (v && *v &&
		    k8s_parse_default_network(v, nc->multus_namespace, &def, &ignored) == 0)
			NOT_FOUND(def.namespace, def.name);
		v = k8s_object_annotation(k->pod, K8S_ANNOT_NETWORKS);
		if (k8s_parse_networks(v, K8S_ANNOT_NETWORKS, pod_ns, &sels, &ignored) == 0)
			for (size_t i = 0; i < sels.n; i++)
				NOT_FOUND(sels.el[i].namespace, sels.el[i].name);
	}
#undef NOT_FOUND
	k8s_net_selection_free(&def);
	k8s_net_selections_free(&sels);
	cni_err_clear(&ignored);
	return 0;
}

static int check_binaries(const struct meta_plan *plan, const struct meta_netconf *nc,
			  const char *cni_path, struct cni_err *err)
{
	size_t n = 0;
	char **dirs = dlg_path_split(cni_path, &n);
	const char **path = calloc(n + 2, sizeof(*path));
	int ret = 0;

	if (!dirs || !path) {
		ret = cni_err_oom(err);
		goto out;
	}
	path[0] = nc->bin_dir;
	for (size_t i = 0; i < n; i++)
		path[i + 1] = dirs[i];
	for (size_t i = 0; i < plan->n && ret == 0; i++) {
		struct cni_conflist list;

		if (cni_conflist_parse(plan->att[i].config, plan->att[i].config_len, &list, err) <
		    0) {
			ret = -1;
			break;
		}
		for (size_t k = 0; k < list.nplugins && ret == 0; k++) {
			char *bin = dlg_find(cni_plugin_type(list.plugins[k]), path, n + 1, err);

			if (!bin)
				ret = cni_err_prefix(err, "network \"%s\"", plan->att[i].network);
			free(bin);
		}
		cni_conflist_free(&list);
	}
out:
	free(path);
	dlg_path_free(dirs);
	return ret;
}

/* The plan an ADD of this pod would run, built and checked as cmd_add builds it. */
static int check_netconf(const char *path, cJSON *nads, const cJSON *pod, const char *conf_dir,
			 const char *cni_path)
{
	struct meta_kube kube = { 0 }, *k = NULL;
	struct meta_netconf nc = { 0 };
	struct meta_plan plan = { 0 };
	struct meta_k8s_args a = { "", "", "", "" };
	struct cni_err err = { 0 };
	char *text = netconf_text(path, &err);
	int ret = -1;

	if (!text || meta_netconf_parse(text, strlen(text), &nc, &err) < 0)
		goto out;
	if (conf_dir)
		nc.conf_dir = conf_dir;
	if (pod) {
		a.pod_namespace = meta_or(pod, "namespace", "default");
		a.pod_name = meta_or(pod, "name", "");
		a.pod_uid = meta_or(pod, "uid", "");
	}
	if (pod || cJSON_GetArraySize(nads) > 0) {
		/* never used for a request: every name the plan can ask for is primed below */
		struct k8s_creds creds = { .server = "https://plexus-validate.invalid" };

		k = &kube;
		kube.client = k8s_client_new(&creds, NULL, &err);
		kube.nads = cJSON_CreateObject();
		kube.pod = pod ? cJSON_Duplicate(pod, true) : NULL;
		if (!kube.client || !kube.nads || (pod && !kube.pod)) {
			if (!cni_err_isset(&err))
				cni_err_oom(&err);
			goto out;
		}
		prime_nads(&kube, &nc, a.pod_namespace, nads);
	}
	plan.container_id = strdup("plexus-validate");
	plan.netns = strdup("");
	plan.ifname = strdup(META_POD_IFNAME);
	plan.cni_version = strdup(nc.cni_version);
	if (!plan.container_id || !plan.netns || !plan.ifname || !plan.cni_version) {
		cni_err_oom(&err);
		goto out;
	}
	if (meta_plan_add_static(&plan, &nc, &a, k, &err) < 0 ||
	    (k && k->pod && meta_kube_add_pod_networks(&plan, &nc, k, &a, &err) < 0) ||
	    meta_plan_finish(&plan, &nc, NULL, &a, &err) < 0 ||
	    meta_defroute_check(&plan, &err) < 0)
		goto out;
	for (size_t i = 0; i < plan.n; i++) {
		struct cni_conflist list;
		const char *v;

		if (cni_conflist_parse(plan.att[i].config, plan.att[i].config_len, &list, &err) < 0)
			goto out;
		v = *list.cni_version ? list.cni_version : plan.cni_version;
		if (*v && !cni_version_supported(v)) {
			cni_err_set(&err, CNI_ERR_INCOMPATIBLE_VERSION,
				    "network \"%s\": unsupported cniVersion \"%s\"",
				    plan.att[i].network, v);
			cni_conflist_free(&list);
			goto out;
		}
		cni_conflist_free(&list);
	}
	if (cni_path && check_binaries(&plan, &nc, cni_path, &err) < 0)
		goto out;
	printf("netconf %s: valid: \"%s\" (cniVersion %s)", path, nc.name ? nc.name : "",
	       *nc.cni_version ? nc.cni_version : "none");
	if (pod)
		printf(", pod %s/%s", a.pod_namespace, a.pod_name);
	printf(": %zu attachment%s\n", plan.n, plan.n == 1 ? "" : "s");
	for (size_t i = 0; i < plan.n; i++) {
		char *types = plugin_types(plan.att[i].config, plan.att[i].config_len);

		printf("  %-15s %-32s %s%s%s%s\n", plan.att[i].ifname, plan.att[i].status_name,
		       types ? types : "", plan.att[i].master ? " (cluster network)" : "",
		       plan.att[i].resource_name ? ", resourceName " : "",
		       plan.att[i].resource_name ? plan.att[i].resource_name : "");
		free(types);
	}
	ret = 0;
out:
	if (ret < 0 && pod)
		fprintf(stderr, "plexus validate: %s with pod %s/%s: %s\n", path, a.pod_namespace,
			a.pod_name, err.msg);
	else if (ret < 0)
		fprintf(stderr, "plexus validate: %s: %s\n", path, err.msg);
	cni_err_clear(&err);
	meta_plan_free(&plan);
	meta_kube_close(&kube);
	meta_netconf_free(&nc);
	free(text);
	return ret;
}

int ops_validate_cmd(int argc, char **argv)
{
	const char *conf_dir = NULL, *cni_path = NULL, *pod_path = NULL;
	cJSON *nads = cJSON_CreateArray(), *pods = cJSON_CreateArray();
	const cJSON *pod = NULL, *pair;
	struct cni_err err = { 0 };
	int c, ret = 2, bad = 0;

	if (!nads || !pods) {
		fputs("plexus validate: out of memory\n", stderr);
		ret = 1;
		goto out;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", validate_options, NULL)) != -1) {
		cJSON *doc;

		switch (c) {
		case 'n':
		case 'p':
			doc = load_json(optarg, &err);
			if (!doc || collect(c == 'n' ? nads : pods, doc, optarg, &err) < 0) {
				fprintf(stderr, "plexus validate: %s: %s\n", optarg, err.msg);
				cJSON_Delete(doc);
				ret = 1;
				goto out;
			}
			cJSON_Delete(doc);
			if (c == 'p')
				pod_path = optarg;
			break;
		case 'c':
			conf_dir = optarg;
			break;
		case 'P':
			cni_path = optarg;
			break;
		case 'h':
			ops_validate_usage(stdout);
			ret = 0;
			goto out;
		default:
			ret = ops_getopt_error("validate", c, argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind > 1) {
		ret = ops_usage_error("validate", "unexpected argument \"%s\"", argv[optind + 1]);
		goto out;
	}
	if (optind == argc && cJSON_GetArraySize(nads) == 0) {
		ret = ops_usage_error("validate", "give a NETCONF, --nad FILE, or both");
		goto out;
	}
	if (cJSON_GetArraySize(pods) > 1 || (pod_path && optind == argc)) {
		ret = ops_usage_error("validate", "%s",
				      pod_path && optind == argc
					  ? "--pod needs a NETCONF to plan with"
					  : "--pod takes one pod");
		goto out;
	}
	if (cJSON_GetArraySize(pods) == 1) {
		const char *kind;

		pod = cJSON_GetArrayItem(cJSON_GetArrayItem(pods, 0), 1);
		kind = cJSON_GetStringValue(cJSON_GetObjectItem(pod, "kind"));
		if (!kind || strcmp(kind, "Pod") != 0) {
			fprintf(stderr, "plexus validate: %s: kind \"%s\" is not a Pod\n", pod_path,
				kind ? kind : "");
			ret = 1;
			goto out;
		}
	}
	cJSON_ArrayForEach(pair, nads)
	{
		const char *file = cJSON_GetStringValue(cJSON_GetArrayItem(pair, 0));

		if (check_nad(file, cJSON_GetArrayItem(pair, 1),
			      conf_dir ? conf_dir : META_DEFAULT_CONF_DIR) < 0)
			bad++;
	}
	if (optind < argc && check_netconf(argv[optind], nads, pod, conf_dir, cni_path) < 0)
		bad++;
	ret = bad ? 1 : 0;
out:
	cni_err_clear(&err);
	cJSON_Delete(nads);
	cJSON_Delete(pods);
	return ret;
}

/* ops/gentext.c: the texts generate-config writes, built from their inputs alone: the conflist
 * wrapping the primary (checked by plexus's own netconf parser) and the kubeconfig. */
#include "ops/gentext.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/buf.h"
#include "cni/json.h"
#include "cni/spec.h"
#include "meta/netconf.h"

cJSON *ops_gen_capabilities(const struct cni_conflist *primary)
{
	cJSON *caps = cJSON_CreateObject(), *sorted;
	const cJSON *c;

	if (!caps)
		return NULL;
	for (size_t i = 0; i < primary->nplugins; i++)
		cJSON_ArrayForEach(
		    c, cJSON_GetObjectItemCaseSensitive(primary->plugins[i], "capabilities"))
		{
			if (cJSON_IsTrue(c) && !cJSON_HasObjectItem(caps, c->string))
				cJSON_AddTrueToObject(caps, c->string);
		}
	/* sorted, so the output does not change with the order plugins list them in */
	sorted = cJSON_CreateObject();
	while (sorted && caps->child) {
		cJSON *min = caps->child;

		for (cJSON *k = min->next; k; k = k->next)
			if (strcmp(k->string, min->string) < 0)
				min = k;
		cJSON_AddItemToObject(sorted, min->string, cJSON_DetachItemViaPointer(caps, min));
	}
	cJSON_Delete(caps);
	return sorted;
}

/* plexus's own reading of the plugin object, as the runtime will hand it over */
static int self_check(const char *text, const char *primary_path, struct cni_err *err)
{
	struct cni_conflist list;
	struct meta_netconf nc;
	cJSON *plugin = NULL;
	char *stdin_text = NULL;
	int ret = -1;

	if (cni_conflist_parse(text, strlen(text), &list, err) < 0)
		goto out;
	plugin = cJSON_Duplicate(list.plugins[0], true);
	if (!plugin || !cJSON_AddStringToObject(plugin, "name", list.name) ||
	    !cJSON_AddStringToObject(plugin, "cniVersion", list.cni_version) ||
	    !(stdin_text = cJSON_PrintUnformatted(plugin))) {
		cni_err_oom(err);
		goto free_list;
	}
	if (meta_netconf_parse(stdin_text, strlen(stdin_text), &nc, err) < 0)
		goto free_list;
	meta_netconf_free(&nc);
	ret = 0;
free_list:
	cni_conflist_free(&list);
out:
	if (ret < 0)
		cni_err_prefix(err, "config generated from %s fails plexus's validation",
			       primary_path);
	cJSON_Delete(plugin);
	free(stdin_text);
	return ret;
}

/* Compact JSON re-indented by two spaces, for the person who opens the file. */
static char *pretty(const char *in)
{
	struct cni_buf b;
	bool str = false, esc = false;
	int depth = 0, r = 0;

	cni_buf_init(&b, SIZE_MAX, false);
	for (const char *p = in; *p && r == 0; p++) {
		if (str) {
			r = cni_buf_add(&b, p, 1);
			str = esc || *p != '"';
			esc = !esc && *p == '\\';
			continue;
		}
		switch (*p) {
		case '"':
			str = true;
			r = cni_buf_add(&b, p, 1);
			break;
		case '{':
		case '[':
			if (p[1] == '}' || p[1] == ']') {
				r = cni_buf_add(&b, p++, 2);
				break;
			}
			depth++;
			r = cni_buf_printf(&b, "%c\n%*s", *p, 2 * depth, "");
			break;
		case '}':
		case ']':
			depth--;
			r = cni_buf_printf(&b, "\n%*s%c", 2 * depth, "", *p);
			break;
		case ',':
			r = cni_buf_printf(&b, ",\n%*s", 2 * depth, "");
			break;
		case ':':
			r = cni_buf_adds(&b, ": ");
			break;
		default:
			r = cni_buf_add(&b, p, 1);
		}
	}
	if (r == 0 && cni_buf_adds(&b, "\n") == 0)
		return cni_buf_take(&b, NULL);
	cni_buf_free(&b);
	return NULL;
}

char *ops_gen_netconf(const struct cni_conflist *primary, const char *primary_path,
		      const struct ops_gen_opts *o, struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(primary->root, "cniVersion");
	const char *version = o->cni_version;
	/* the shim deletes through bin/plexus when the daemon is down: name where it all is */
	const char *cni_dir = o->cni_dir ? o->cni_dir : o->thick ? META_DEFAULT_CNI_DIR : NULL;
	const char *bin_dir = o->bin_dir ? o->bin_dir : o->thick ? META_DEFAULT_BIN_DIR : NULL;
	cJSON *root = NULL, *plugins, *plugin, *caps, *delegates;
	char *text = NULL, *out = NULL;

	if (!version) {
		if (!cJSON_IsString(v) || !*v->valuestring) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "primary CNI config %s has no cniVersion: give --cni-version",
				    primary_path);
			return NULL;
		}
		version = v->valuestring;
	}
	if (!cni_version_supported(version)) {
		cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
			    "%s: cniVersion \"%s\" is not one plexus supports (%s..%s)",
			    o->cni_version ? "--cni-version" : primary_path, version,
			    cni_versions[0], CNI_VERSION_LATEST);
		return NULL;
	}
	for (size_t i = 0; i < primary->nplugins; i++) {
		const char *type = cni_plugin_type(primary->plugins[i]);

		if (strcmp(type, "plexus") == 0 || strcmp(type, "plexus-shim") == 0 ||
		    strcmp(type, "multus") == 0 || strcmp(type, "multus-shim") == 0) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "primary CNI config %s is itself a \"%s\" config: refusing to "
				    "wrap a meta-plugin (give --master-cni-file)",
				    primary_path, type);
			return NULL;
		}
	}

	root = cJSON_CreateObject();
	if (!root || cni_json_add_opt_string(root, "cniVersion", version) < 0 ||
	    cni_json_add_opt_string(root, "name", OPS_GEN_NETWORK) < 0 ||
	    !(plugins = cJSON_AddArrayToObject(root, "plugins")) ||
	    !(plugin = cJSON_CreateObject()))
		goto oom;
	cJSON_AddItemToArray(plugins, plugin);
	if (cni_json_add_opt_string(plugin, "type", o->thick ? "plexus-shim" : "plexus") < 0 ||
	    (o->thick && cni_json_add_opt_string(plugin, "daemonSocketPath",
						 o->daemon_socket ? o->daemon_socket
								  : OPS_GEN_DAEMON_SOCKET) < 0) ||
	    cni_json_add_opt_string(plugin, "logLevel", o->log_level) < 0 ||
	    cni_json_add_opt_string(plugin, "logFile", o->log_file) < 0 ||
	    (o->namespace_isolation && !cJSON_AddTrueToObject(plugin, "namespaceIsolation")) ||
	    cni_json_add_opt_string(plugin, "globalNamespaces", o->global_namespaces) < 0 ||
	    cni_json_add_opt_string(plugin, "readinessindicatorfile", o->readiness_file) < 0 ||
	    cni_json_add_opt_string(plugin, "cniDir", cni_dir) < 0 ||
	    cni_json_add_opt_string(plugin, "binDir", bin_dir) < 0 ||
	    /* thick mode: the daemon holds the credentials, never the host's disk */
	    cni_json_add_opt_string(plugin, "kubeconfig",
				    o->no_kubeconfig || o->thick ? NULL : o->kubeconfig_host) < 0)
		goto oom;
	caps = ops_gen_capabilities(primary);
	if (!caps)
		goto oom;
	/* libcni passes runtimeConfig only for declared capabilities: an empty map says nothing */
	if (caps->child)
		cJSON_AddItemToObject(plugin, "capabilities", caps);
	else
		cJSON_Delete(caps);
	delegates = cJSON_AddArrayToObject(plugin, "delegates");
	if (!delegates)
		goto oom;
	cJSON_AddItemToArray(delegates, cJSON_Duplicate(primary->root, true));
	text = cJSON_PrintUnformatted(root);
	if (!text || !(out = pretty(text)))
		goto oom;
	free(text);
	cJSON_Delete(root);
	if (self_check(out, primary_path, err) < 0) {
		free(out);
		return NULL;
	}
	return out;
oom:
	free(text);
	cJSON_Delete(root);
	cni_err_oom(err);
	return NULL;
}

char *ops_gen_server_url(const char *host, const char *port)
{
	char *url = NULL;
	bool v6 = strchr(host, ':') && host[0] != '[';

	if (asprintf(&url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
		return NULL;
	return url;
}

char *ops_gen_kubeconfig(const char *server, bool with_ca)
{
	cJSON *s = cJSON_CreateString(server);
	char *quoted = s ? cJSON_PrintUnformatted(s) : NULL, *out = NULL;

	cJSON_Delete(s);
	if (!quoted)
		return NULL;
	/* a JSON string is a valid YAML double-quoted scalar: no hand-made escaping */
	if (asprintf(&out,
		     "# Written by plexus generate-config: the plexus service account, for the\n"
		     "# plugin on this node. The token and CA are the files next to this one.\n"
		     "apiVersion: v1\n"
		     "kind: Config\n"
		     "clusters:\n"
		     "- name: local\n"
		     "  cluster:\n"
		     "    server: %s\n"
		     "%s"
		     "users:\n"
		     "- name: plexus\n"
		     "  user:\n"
		     "    tokenFile: token\n"
		     "contexts:\n"
		     "- name: plexus-context\n"
		     "  context:\n"
		     "    cluster: local\n"
		     "    user: plexus\n"
		     "current-context: plexus-context\n",
		     quoted, with_ca ? "    certificate-authority: ca.crt\n" : "") < 0)
		out = NULL;
	free(quoted);
	return out;
}

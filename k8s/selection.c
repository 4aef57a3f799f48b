/* k8s/selection.c: network selection annotations, comma and JSON forms, into elements.
 * Follows Multus pkg/k8sclient/k8sclient.go parsePodNetworkAnnotation and
 * mergeCNIRuntimeConfig's capability args; stricter on hostile input (docs/SECURITY.md). */
#include "k8s/selection.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/addr.h"
#include "cni/json.h"
#include "cni/spec.h"
#include "k8s/api.h"

/* Outside values in messages: at most this many bytes, as Go's %q (cni_quote). */
#define QUOTE_MAX 80

/* --- small helpers -------------------------------------------------------------------- */

/* Sets err (code 7) to "<ctx>: <before><value quoted><after>". */
static int fail_q(struct cni_err *err, const char *ctx, const char *before, const char *value,
		  const char *after)
{
	char *q = cni_quote(value, QUOTE_MAX);

	if (!q)
		return cni_err_oom(err);
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: %s%s%s", ctx, before, q, after);
	free(q);
	return -1;
}

static bool is_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (ch != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/* libcni's ifname rule, plus no control characters at all. Returns NULL or what is wrong. */
static const char *ifname_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > 15)
		return "is longer than 15 bytes";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "may not be '.' or '..'";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '/' || ch == ':' || isspace(ch) || ch < 0x20 || ch == 0x7f)
			return "may not contain '/', ':', whitespace or control characters";
	}
	/* libcni's rule also refuses Unicode whitespace (U+0085, U+00A0, U+2000-U+200A...). */
	if (cni_validate_ifname(s, NULL) < 0)
		return "may not contain '/', ':', whitespace or control characters";
	return NULL;
}

static bool valid_ip(const char *s)
{
	struct cni_addr a;

	return cni_addr_parse(s, &a);
}

static bool valid_cidr(const char *s)
{
	struct cni_addr a;

	return cni_addr_parse_cidr(s, &a);
}

/* Go's net.ParseMAC: 6, 8 or 20 octets as xx:xx..., xx-xx... or xxxx.xxxx... */
static bool valid_mac(const char *s)
{
	size_t n = strlen(s), groups;

	if (n < 14)
		return false;
	if (s[2] == ':' || s[2] == '-') {
		if ((n + 1) % 3 != 0)
			return false;
		groups = (n + 1) / 3;
		if (groups != 6 && groups != 8 && groups != 20)
			return false;
		for (size_t i = 0; i < groups; i++) {
			size_t x = i * 3;

			if (!isxdigit((unsigned char)s[x]) || !isxdigit((unsigned char)s[x + 1]))
				return false;
			if (i + 1 < groups && s[x + 2] != s[2])
				return false;
		}
		return true;
	}
	if (s[4] == '.') {
		if ((n + 1) % 5 != 0)
			return false;
		groups = 2 * (n + 1) / 5;
		if (groups != 6 && groups != 8 && groups != 20)
			return false;
		for (size_t i = 0; i < groups / 2; i++) {
			size_t x = i * 5;

			for (size_t k = 0; k < 4; k++)
				if (!isxdigit((unsigned char)s[x + k]))
					return false;
			if (i + 1 < groups / 2 && s[x + 4] != '.')
				return false;
		}
		return true;
	}
	return false;
}

/* Deepest [/{ nesting outside strings: checked before parsing so that a hostile value cannot
 * make the parser recurse a thousand levels. Also spots the escape \u0000, which cJSON would
 * turn into a C string cut short ("a\u0000b" read as "a"). */
static size_t max_depth(const char *s, bool *nul)
{
	size_t depth = 0, max = 0;
	bool in_str = false;

	*nul = false;
	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\' && s[1]) {
				s++;
				if (*s == 'u' && strncmp(s + 1, "0000", 4) == 0)
					*nul = true;
			} else if (*s == '"') {
				in_str = false;
			}
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == '[' || *s == '{') {
			if (++depth > max)
				max = depth;
		} else if ((*s == ']' || *s == '}') && depth) {
			depth--;
		}
	}
	return max;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/* --- selection elements ---------------------------------------------------------------- */

void k8s_net_selection_free(struct k8s_net_selection *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->namespace);
	free(s->ifname);
	cJSON_Delete(s->ips);
	free(s->mac);
	free(s->infiniband_guid);
	cJSON_Delete(s->port_mappings);
	cJSON_Delete(s->bandwidth);
	cJSON_Delete(s->cni_args);
	cJSON_Delete(s->default_route);
	free(s->device_id);
	memset(s, 0, sizeof(*s));
}

void k8s_net_selections_free(struct k8s_net_selections *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		k8s_net_selection_free(&s->el[i]);
	free(s->el);
	s->el = NULL;
	s->n = 0;
}

/* Multus's comma form: "[ns/]name[@ifname]", its splitting, trimming and error texts. */
static int parse_comma_item(const char *item, const char *ctx, struct k8s_net_selection *s,
			    struct cni_err *err)
{
	const char *slash = strchr(item, '/'), *rest = item, *at;
	char *ns = NULL, *name = NULL, *ifname = NULL;
	int ret = -1;

	if (slash) {
		if (strchr(slash + 1, '/')) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "%s: Invalid network object (failed at '/')", ctx);
			goto out;
		}
		ns = trim_dup(item, (size_t)(slash - item));
		rest = slash + 1;
	}
	at = strchr(rest, '@');
	if (at && strchr(at + 1, '@')) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: Invalid network object (failed at '@')", ctx);
		goto out;
	}
	name = trim_dup(rest, at ? (size_t)(at - rest) : strlen(rest));
	if (at)
		ifname = trim_dup(at + 1, strlen(at + 1));
	if ((slash && !ns) || !name || (at && !ifname)) {
		cni_err_oom(err);
		goto out;
	}
	if (ns && ns[0] && !is_label(ns, 63)) {
		fail_q(err, ctx,
		       "Failed to parse: one or more items did not match comma-delimited format "
		       "(must consist of lower case alphanumeric characters). Must start and end "
		       "with an alphanumeric character), mismatch @ ",
		       ns, "");
		goto out;
	}
	if (!name[0]) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: empty network name", ctx);
		goto out;
	}
	if (!is_label(name, 253)) {
		fail_q(err, ctx,
		       "Failed to parse: one or more items did not match comma-delimited format "
		       "(must consist of lower case alphanumeric characters). Must start and end "
		       "with an alphanumeric character), mismatch @ ",
		       name, "");
		goto out;
	}
	if (ifname && ifname[0] && ifname_problem(ifname)) {
		fail_q(err, ctx,
		       "Failed to parse interface name: must be less than 15 chars and not contain "
		       "'/' or spaces. interface name ",
		       ifname, "");
		goto out;
	}
	s->name = name;
	name = NULL;
	if (ns && ns[0]) {
		s->namespace = ns;
		ns = NULL;
	}
	if (ifname && ifname[0]) {
		s->ifname = ifname;
		ifname = NULL;
	}
	ret = 0;
out:
	free(ns);
	free(name);
	free(ifname);
	return ret;
}

static int get_str_copy(const cJSON *obj, const char *key, char **out, const char *ctx,
			struct cni_err *err)
{
	const char *v = NULL;

	if (cni_json_get_string(obj, key, &v, ctx, err) < 0)
		return -1;
	if (v && v[0] && !(*out = strdup(v)))
		return cni_err_oom(err);
	return 0;
}

/* A Go int: integral and representable. */
static bool is_int(const cJSON *v)
{
	return v && cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	       v->valuedouble == floor(v->valuedouble) &&
	       fabs(v->valuedouble) <= 9007199254740992.0;
}

/* Array of strings; bad() returns NULL for a good one, else the words before it in the
 * message. NULL (JSON null) means absent. */
static int get_str_array(const cJSON *obj, const char *key, cJSON **out, const char *ctx,
			 const char *(*bad)(const char *), struct cni_err *err)
{
	const cJSON *arr = NULL, *v;
	const char *why;

	if (cni_json_get_array(obj, key, &arr, ctx, err) < 0)
		return -1;
	if (!arr)
		return 0;
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: \"%s\" must be an array of strings", ctx, key);
		if ((why = bad(v->valuestring)))
			return fail_q(err, ctx, why, v->valuestring, "");
	}
	*out = cJSON_Duplicate(arr, 1);
	if (!*out)
		return cni_err_oom(err);
	return 0;
}

/* ips: Multus's two messages, chosen by the presence of '/'. */
static const char *bad_ip_or_cidr(const char *s)
{
	if (strchr(s, '/'))
		return valid_cidr(s) ? NULL : "failed to parse CIDR ";
	return valid_ip(s) ? NULL : "failed to parse IP address ";
}

static const char *bad_route(const char *s)
{
	return valid_ip(s) ? NULL : "default-route: invalid IP address ";
}

/* portMappings as Multus re-marshals them: hostPort and containerPort always, protocol and
 * hostIP when non-empty, nothing else. */
static int get_port_mappings(const cJSON *obj, struct k8s_net_selection *s, const char *ctx,
			     struct cni_err *err)
{
	const cJSON *arr = NULL, *pm;
	size_t i = 0;

	if (cni_json_get_array(obj, "portMappings", &arr, ctx, err) < 0)
		return -1;
	if (!arr)
		return 0;
	s->port_mappings = cJSON_CreateArray();
	if (!s->port_mappings)
		return cni_err_oom(err);
	cJSON_ArrayForEach(pm, arr)
	{
		const cJSON *hp, *cp;
		const char *proto = NULL, *hostip = NULL;
		cJSON *e;
		char sub[240];

		snprintf(sub, sizeof(sub), "%s: portMappings[%zu]", ctx, i++);
		if (!cJSON_IsObject(pm))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s must be an object",
					   sub);
		hp = cJSON_GetObjectItemCaseSensitive(pm, "hostPort");
		cp = cJSON_GetObjectItemCaseSensitive(pm, "containerPort");
		if ((hp && !cJSON_IsNull(hp) && !is_int(hp)) ||
		    (cp && !cJSON_IsNull(cp) && !is_int(cp)))
			return cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "%s: \"hostPort\" and \"containerPort\" must be integers", sub);
		if (cni_json_get_string(pm, "protocol", &proto, sub, err) < 0 ||
		    cni_json_get_string(pm, "hostIP", &hostip, sub, err) < 0)
			return -1;
		e = cJSON_CreateObject();
		if (!e || !cJSON_AddItemToArray(s->port_mappings, e) ||
		    !cJSON_AddNumberToObject(e, "hostPort", is_int(hp) ? hp->valuedouble : 0) ||
		    !cJSON_AddNumberToObject(e, "containerPort",
					     is_int(cp) ? cp->valuedouble : 0) ||
		    (proto && proto[0] && !cJSON_AddStringToObject(e, "protocol", proto)) ||
		    (hostip && hostip[0] && !cJSON_AddStringToObject(e, "hostIP", hostip)))
			return cni_err_oom(err);
	}
	return 0;
}

static int get_bandwidth(const cJSON *obj, struct k8s_net_selection *s, const char *ctx,
			 struct cni_err *err)
{
	static const char *const keys[] = { "ingressRate", "ingressBurst", "egressRate",
					    "egressBurst" };
	const cJSON *bw = NULL;

	if (cni_json_get_object(obj, "bandwidth", &bw, ctx, err) < 0)
		return -1;
	if (!bw)
		return 0;
	s->bandwidth = cJSON_CreateObject();
	if (!s->bandwidth)
		return cni_err_oom(err);
	for (size_t i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(bw, keys[i]);

		if (v && !cJSON_IsNull(v) && !is_int(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: bandwidth.%s must be an integer", ctx, keys[i]);
		if (!cJSON_AddNumberToObject(s->bandwidth, keys[i], is_int(v) ? v->valuedouble : 0))
			return cni_err_oom(err);
	}
	return 0;
}

static int parse_json_item(const cJSON *item, const char *ctx, struct k8s_net_selection *s,
			   struct cni_err *err)
{
	const cJSON *args = NULL;
	char *iface = NULL, *iface_req = NULL;
	const char *problem;

	if (!cJSON_IsObject(item))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "%s: must be an object (a network selection element)", ctx);
	if (get_str_copy(item, "name", &s->name, ctx, err) < 0 ||
	    get_str_copy(item, "namespace", &s->namespace, ctx, err) < 0)
		return -1;
	if (!s->name)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: empty network name", ctx);
	if (!k8s_valid_subdomain(s->name))
		return fail_q(err, ctx, "network name ", s->name,
			      " is not a valid Kubernetes object name");
	if (s->namespace && !is_label(s->namespace, 63))
		return fail_q(err, ctx, "namespace ", s->namespace,
			      " is not a valid Kubernetes namespace");
	if (get_str_copy(item, "interface", &iface, ctx, err) < 0 ||
	    get_str_copy(item, "interfaceRequest", &iface_req, ctx, err) < 0) {
		free(iface);
		return -1;
	}
	/* interfaceRequest is the pre-v3.2 spelling, used only when interface is empty. */
	if (iface) {
		s->ifname = iface;
		free(iface_req);
	} else {
		s->ifname = iface_req;
	}
	if (s->ifname && (problem = ifname_problem(s->ifname))) {
		char *q = cni_quote(s->ifname, QUOTE_MAX);

		if (!q)
			return cni_err_oom(err);
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: interface name %s %s", ctx, q,
			    problem);
		free(q);
		return -1;
	}
	if (get_str_array(item, "ips", &s->ips, ctx, bad_ip_or_cidr, err) < 0 ||
	    get_str_copy(item, "mac", &s->mac, ctx, err) < 0 ||
	    get_str_copy(item, "infiniband-guid", &s->infiniband_guid, ctx, err) < 0 ||
	    get_str_copy(item, "deviceID", &s->device_id, ctx, err) < 0)
		return -1;
	if (s->mac && !valid_mac(s->mac))
		return fail_q(err, ctx, "failed to parse mac ", s->mac, ": invalid MAC address");
	if (s->infiniband_guid && !valid_mac(s->infiniband_guid))
		return fail_q(err, ctx, "failed to validate infiniband GUID ", s->infiniband_guid,
			      ": invalid MAC address");
	if (get_port_mappings(item, s, ctx, err) < 0 || get_bandwidth(item, s, ctx, err) < 0 ||
	    get_str_array(item, "default-route", &s->default_route, ctx, bad_route, err) < 0 ||
	    cni_json_get_object(item, "cni-args", &args, ctx, err) < 0)
		return -1;
	if (args && !(s->cni_args = cJSON_Duplicate(args, 1)))
		return cni_err_oom(err);
	return 0;
}

static int add_element(struct k8s_net_selections *out, size_t cap)
{
	if (out->n == 0 && !out->el) {
		out->el = calloc(cap ? cap : 1, sizeof(*out->el));
		if (!out->el)
			return -1;
	}
	out->n++;
	return 0;
}

int k8s_parse_networks(const char *value, const char *annotation, const char *default_ns,
		       struct k8s_net_selections *out, struct cni_err *err)
{
	size_t len = value ? strlen(value) : 0, count = 1;
	char ctx[160];
	cJSON *doc = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!annotation)
		annotation = K8S_ANNOT_NETWORKS;
	if (len == 0)
		return 0;
	if (len > K8S_ANNOT_MAX_BYTES)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "annotation \"%s\": %zu bytes is more than the %u allowed",
				   annotation, len, K8S_ANNOT_MAX_BYTES);
	if (strpbrk(value, "[{\"")) {
		const cJSON *item;
		size_t i = 0;

		bool nul;

		if (max_depth(value, &nul) > K8S_ANNOT_MAX_DEPTH)
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "annotation \"%s\": JSON nested deeper than %d levels",
					   annotation, K8S_ANNOT_MAX_DEPTH);
		if (nul)
			return cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "annotation \"%s\": JSON strings may not hold NUL (\\u0000)",
			    annotation);
		doc = cni_json_parse(value, len, "JSON", err);
		if (!doc) {
			err->code = CNI_ERR_INVALID_CONFIG;
			return cni_err_prefix(err,
					      "annotation \"%s\": failed to parse pod Network "
					      "Attachment Selection Annotation JSON format",
					      annotation);
		}
		if (!cJSON_IsArray(doc)) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "annotation \"%s\": failed to parse pod Network Attachment "
				    "Selection Annotation JSON format: must be a list of network "
				    "selection elements",
				    annotation);
			goto out;
		}
		count = (size_t)cJSON_GetArraySize(doc);
		if (count > K8S_ANNOT_MAX_ELEMENTS) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "annotation \"%s\": %zu elements is more than the %d allowed",
				    annotation, count, K8S_ANNOT_MAX_ELEMENTS);
			goto out;
		}
		cJSON_ArrayForEach(item, doc)
		{
			if (add_element(out, count) < 0)
				goto oom;
			snprintf(ctx, sizeof(ctx), "annotation \"%s\": element %zu", annotation,
				 i++);
			if (parse_json_item(item, ctx, &out->el[out->n - 1], err) < 0)
				goto out;
		}
	} else {
		const char *p = value;
		size_t i = 0;

		for (const char *q = value; *q; q++)
			count += *q == ',';
		if (count > K8S_ANNOT_MAX_ELEMENTS) {
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "annotation \"%s\": %zu elements is more than the %d allowed",
				    annotation, count, K8S_ANNOT_MAX_ELEMENTS);
			goto out;
		}
		for (;;) {
			const char *comma = strchr(p, ',');
			char *item = trim_dup(p, comma ? (size_t)(comma - p) : strlen(p));

			if (!item || add_element(out, count) < 0) {
				free(item);
				goto oom;
			}
			snprintf(ctx, sizeof(ctx), "annotation \"%s\": element %zu", annotation,
				 i++);
			if (parse_comma_item(item, ctx, &out->el[out->n - 1], err) < 0) {
				free(item);
				goto out;
			}
			free(item);
			if (!comma)
				break;
			p = comma + 1;
		}
	}
	for (size_t i = 0; i < out->n; i++) {
		if (!out->el[i].namespace &&
		    !(out->el[i].namespace = strdup(default_ns ? default_ns : "")))
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(doc);
	if (ret < 0)
		k8s_net_selections_free(out);
	return ret;
}

int k8s_parse_default_network(const char *value, const char *default_ns,
			      struct k8s_net_selection *out, struct cni_err *err)
{
	struct k8s_net_selections all;
	char *q;

	memset(out, 0, sizeof(*out));
	if (!value || !value[0])
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "annotation \"%s\" is empty",
				   K8S_ANNOT_DEFAULT_NETWORK);
	if (k8s_parse_networks(value, K8S_ANNOT_DEFAULT_NETWORK, default_ns, &all, err) < 0)
		return -1;
	if (all.n != 1) {
		q = cni_quote(value, QUOTE_MAX);
		if (all.n == 0)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "annotation \"%s\": no default network is specified: %s",
				    K8S_ANNOT_DEFAULT_NETWORK, q ? q : "");
		else
			cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "annotation \"%s\": more than one default network is specified: "
			    "%s",
			    K8S_ANNOT_DEFAULT_NETWORK, q ? q : "");
		free(q);
		k8s_net_selections_free(&all);
		return -1;
	}
	*out = all.el[0];
	free(all.el);
	return 0;
}

cJSON *k8s_net_selection_cap_args(const struct k8s_net_selection *s, const char *device_id)
{
	cJSON *o = cJSON_CreateObject();
	const char *dev = device_id ? device_id : s->device_id;

	if (!o)
		return NULL;
	if ((s->port_mappings &&
	     !cJSON_AddItemToObject(o, "portMappings", cJSON_Duplicate(s->port_mappings, 1))) ||
	    (s->bandwidth &&
	     !cJSON_AddItemToObject(o, "bandwidth", cJSON_Duplicate(s->bandwidth, 1))) ||
	    (s->ips && !cJSON_AddItemToObject(o, "ips", cJSON_Duplicate(s->ips, 1))) ||
	    (s->mac && !cJSON_AddStringToObject(o, "mac", s->mac)) ||
	    (s->infiniband_guid &&
	     !cJSON_AddStringToObject(o, "infinibandGUID", s->infiniband_guid)) ||
	    (dev && dev[0] && !cJSON_AddStringToObject(o, "deviceID", dev))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

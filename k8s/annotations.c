/* k8s/annotations.c: network selection parsing, NAD configs, isolation, UID rule, network-status.
 * Follows Multus parsePodNetworkAnnotation/IsStaticPod, NAD client GetCNIConfig and
 * CreateNetworkStatuses/SetNetworkStatus (multus.md §2.1-2.4); stricter where §8 asks. */
#include "k8s/annotations.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "cni/json.h"
#include "cni/result.h"
#include "cni/spec.h"
#include "delegates/confdir.h"
#include "k8s/client.h"

#define SPEC_CONFIG_MAX (1u << 20)
#define QUOTE_MAX	80

/* --- small helpers -------------------------------------------------------------------- */

/* Go's %q of at most QUOTE_MAX bytes of s: hostile values (control characters, megabytes)
 * must not reach a log line as they are. Returns a malloc'd string ("\"...\"" on OOM). */
static char *quote(const char *s)
{
	size_t n = strlen(s), lim = n > QUOTE_MAX ? QUOTE_MAX : n;
	char *out = malloc(lim * 4 + 8), *p = out;

	if (!out)
		return NULL;
	*p++ = '"';
	for (size_t i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			p += sprintf(p, "\\x%02x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	*p++ = '"';
	if (lim < n)
		p += sprintf(p, "...");
	*p = '\0';
	return out;
}

/* Sets err to "<ctx>: <fmt with one %s>" where %s is the quoted value. */
static int fail_q(struct cni_err *err, const char *ctx, const char *fmt, const char *value)
{
	char *q = quote(value), *msg = NULL;

	if (asprintf(&msg, fmt, q ? q : "\"\"") < 0)
		msg = NULL;
	cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: %s", ctx, msg ? msg : "out of memory");
	free(q);
	free(msg);
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

static bool parse_ip(const char *s, unsigned char *buf, int *family)
{
	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
		return true;
	}
	return false;
}

static bool valid_ip(const char *s)
{
	unsigned char buf[16];
	int fam;

	return parse_ip(s, buf, &fam);
}

static bool valid_cidr(const char *s)
{
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char addr[64];
	int fam;
	long bits = 0;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!parse_ip(addr, buf, &fam))
		return false;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || bits > 128)
			return false;
		bits = bits * 10 + (*p - '0');
	}
	return bits <= (fam == AF_INET ? 32 : 128);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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

			if (hexval(s[x]) < 0 || hexval(s[x + 1]) < 0)
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
				if (hexval(s[x + k]) < 0)
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
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "out of memory");
		goto out;
	}
	if (ns && ns[0] && !is_label(ns, 63)) {
		fail_q(err, ctx,
		       "Failed to parse: one or more items did not match comma-delimited format "
		       "(must consist of lower case alphanumeric characters). Must start and end "
		       "with an alphanumeric character), mismatch @ %s",
		       ns);
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
		       "with an alphanumeric character), mismatch @ %s",
		       name);
		goto out;
	}
	if (ifname && ifname[0] && ifname_problem(ifname)) {
		fail_q(err, ctx,
		       "Failed to parse interface name: must be less than 15 chars and not contain "
		       "'/' or spaces. interface name %s",
		       ifname);
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
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	return 0;
}

/* A Go int: integral and representable. */
static bool is_int(const cJSON *v)
{
	return v && cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
	       v->valuedouble == floor(v->valuedouble) &&
	       fabs(v->valuedouble) <= 9007199254740992.0;
}

/* Array of strings each accepted by ok(); NULL (JSON null) means absent. */
static int get_str_array(const cJSON *obj, const char *key, cJSON **out, const char *ctx,
			 bool (*ok)(const char *), const char *bad_fmt, struct cni_err *err)
{
	const cJSON *arr = NULL, *v;

	if (cni_json_get_array(obj, key, &arr, ctx, err) < 0)
		return -1;
	if (!arr)
		return 0;
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: \"%s\" must be an array of strings", ctx, key);
		if (ok && !ok(v->valuestring))
			return fail_q(err, ctx, bad_fmt, v->valuestring);
	}
	*out = cJSON_Duplicate(arr, 1);
	if (!*out)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	return 0;
}

static bool valid_ip_or_cidr(const char *s)
{
	return strchr(s, '/') ? valid_cidr(s) : valid_ip(s);
}

/* ips: Multus's two messages, chosen by the presence of '/'. */
static int get_ips(const cJSON *obj, struct k8s_net_selection *s, const char *ctx,
		   struct cni_err *err)
{
	const cJSON *arr = NULL, *v;

	if (cni_json_get_array(obj, "ips", &arr, ctx, err) < 0)
		return -1;
	if (!arr)
		return 0;
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsString(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: \"ips\" must be an array of strings", ctx);
		if (!valid_ip_or_cidr(v->valuestring))
			return fail_q(err, ctx,
				      strchr(v->valuestring, '/') ? "failed to parse CIDR %s"
								  : "failed to parse IP address %s",
				      v->valuestring);
	}
	s->ips = cJSON_Duplicate(arr, 1);
	return s->ips ? 0 : cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
			return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(bw, keys[i]);

		if (v && !cJSON_IsNull(v) && !is_int(v))
			return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
					   "%s: bandwidth.%s must be an integer", ctx, keys[i]);
		if (!cJSON_AddNumberToObject(s->bandwidth, keys[i], is_int(v) ? v->valuedouble : 0))
			return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
		return fail_q(err, ctx, "network name %s is not a valid Kubernetes object name",
			      s->name);
	if (s->namespace && !is_label(s->namespace, 63))
		return fail_q(err, ctx, "namespace %s is not a valid Kubernetes namespace",
			      s->namespace);
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
		char *fmt = NULL;
		int r;

		if (asprintf(&fmt, "interface name %%s %s", problem) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		r = fail_q(err, ctx, fmt, s->ifname);
		free(fmt);
		return r;
	}
	if (get_ips(item, s, ctx, err) < 0 || get_str_copy(item, "mac", &s->mac, ctx, err) < 0 ||
	    get_str_copy(item, "infiniband-guid", &s->infiniband_guid, ctx, err) < 0 ||
	    get_str_copy(item, "deviceID", &s->device_id, ctx, err) < 0)
		return -1;
	if (s->mac && !valid_mac(s->mac))
		return fail_q(err, ctx, "failed to parse mac %s: invalid MAC address", s->mac);
	if (s->infiniband_guid && !valid_mac(s->infiniband_guid))
		return fail_q(err, ctx,
			      "failed to validate infiniband GUID %s: invalid MAC address",
			      s->infiniband_guid);
	if (get_port_mappings(item, s, ctx, err) < 0 || get_bandwidth(item, s, ctx, err) < 0 ||
	    get_str_array(item, "default-route", &s->default_route, ctx, valid_ip,
			  "default-route: invalid IP address %s", err) < 0 ||
	    cni_json_get_object(item, "cni-args", &args, ctx, err) < 0)
		return -1;
	if (args && !(s->cni_args = cJSON_Duplicate(args, 1)))
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
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
		q = quote(value);
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

/* --- pods: isolation, UID -------------------------------------------------------------- */

int k8s_check_namespace_isolation(const char *pod_ns, const char *target_ns,
				  const char *const *global, size_t n, struct cni_err *err)
{
	static const char *const implicit[] = { "default" };

	if (strcmp(pod_ns, target_ns) == 0)
		return 0;
	if (!global) {
		global = implicit;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (global[i] && strcmp(global[i], target_ns) == 0)
			return 0;
	return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			   "namespace isolation enabled, annotation violates permission, pod is in "
			   "namespace %s but refers to target namespace %s",
			   pod_ns, target_ns);
}

const char *k8s_object_meta(const cJSON *obj, const char *field)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *k8s_object_annotation(const cJSON *obj, const char *key)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(an, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool k8s_pod_is_static(const cJSON *pod)
{
	const char *src = k8s_object_annotation(pod, K8S_ANNOT_CONFIG_SOURCE);

	return src && strcmp(src, "api") != 0;
}

int k8s_pod_check_uid(const cJSON *pod, const char *want_uid, struct cni_err *err)
{
	const char *got = k8s_object_meta(pod, "uid");
	const char *ns = k8s_object_meta(pod, "namespace"), *name = k8s_object_meta(pod, "name");

	if (!want_uid || !want_uid[0] || (got && strcmp(got, want_uid) == 0) ||
	    k8s_pod_is_static(pod))
		return 0;
	return cni_err_set(err, CNI_ERR_INVALID_ENV,
			   "pod %s/%s: expected pod UID \"%s\" but got \"%s\" from Kube API",
			   ns ? ns : "", name ? name : "", want_uid, got ? got : "");
}

/* --- NADs ------------------------------------------------------------------------------ */

void k8s_nad_config_free(struct k8s_nad_config *c)
{
	free(c->config);
	free(c->resource_name);
	memset(c, 0, sizeof(*c));
}

int k8s_nad_delegate_config(const cJSON *nad, const char *conf_dir, struct k8s_nad_config *out,
			    struct cni_err *err)
{
	const char *name = k8s_object_meta(nad, "name"), *ns = k8s_object_meta(nad, "namespace");
	const char *rn = k8s_object_annotation(nad, K8S_ANNOT_RESOURCE_NAME);
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(nad, "spec");
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(spec, "config");
	const cJSON *cname;
	cJSON *conf = NULL;
	char ctx[600];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!name || !name[0] || strchr(name, '/'))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "network-attachment-definition: metadata.name is missing or "
				   "invalid");
	snprintf(ctx, sizeof(ctx), "network-attachment-definition %.253s/%.253s", ns ? ns : "",
		 name);
	if (config && !cJSON_IsString(config) && !cJSON_IsNull(config))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: spec.config must be a string",
				   ctx);
	if (rn && rn[0] && !(out->resource_name = strdup(rn)))
		goto oom;
	if (!config || !cJSON_IsString(config) || !config->valuestring[0]) {
		struct cni_conflist list;

		/* Empty spec: the network is a file in confDir whose CNI name is the NAD's. */
		if (dlg_confdir_load(name, conf_dir, &list, err) < 0) {
			cni_err_prefix(err, "%s: empty spec.config", ctx);
			goto out;
		}
		out->config = list.bytes;
		out->len = list.len;
		list.bytes = NULL;
		cni_conflist_free(&list);
		ret = 0;
		goto out;
	}
	if (strlen(config->valuestring) > SPEC_CONFIG_MAX) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s: spec.config is bigger than %u bytes",
			    ctx, SPEC_CONFIG_MAX);
		goto out;
	}
	conf = cni_json_parse(config->valuestring, strlen(config->valuestring), "spec.config", err);
	if (!conf || !cJSON_IsObject(conf)) {
		if (conf)
			cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				    "spec.config is not a JSON object");
		err->code = CNI_ERR_INVALID_CONFIG;
		cni_err_prefix(err, "%s: failed to unmarshal Spec.Config", ctx);
		goto out;
	}
	if (!cJSON_GetObjectItemCaseSensitive(conf, "type") &&
	    !cJSON_GetObjectItemCaseSensitive(conf, "plugins")) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: delegate must have the 'type' or 'plugin' field", ctx);
		goto out;
	}
	cname = cJSON_GetObjectItemCaseSensitive(conf, "name");
	if (cname && !cJSON_IsString(cname) && !cJSON_IsNull(cname)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "%s: spec.config: \"name\" must be a string", ctx);
		goto out;
	}
	if (cname && cJSON_IsString(cname) && cname->valuestring[0]) {
		/* Kept byte for byte: the delegate gets exactly what the NAD says. */
		out->config = strdup(config->valuestring);
		if (!out->config)
			goto oom;
	} else {
		/* The NAD client re-marshals the map, so Go's sorted keys. */
		cJSON *n = cJSON_CreateString(name);

		if (!n || cni_json_set(conf, "name", n) < 0)
			goto oom;
		out->config = cni_json_print_go(conf, true);
		if (!out->config)
			goto oom;
	}
	out->len = strlen(out->config);
	ret = 0;
	goto out;
oom:
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
out:
	cJSON_Delete(conf);
	if (ret < 0)
		k8s_nad_config_free(out);
	return ret;
}

/* --- network-status -------------------------------------------------------------------- */

/* "10.1.1.5/24" -> "10.1.1.5" */
static cJSON *ip_without_prefix(const char *cidr)
{
	const char *slash = strchr(cidr, '/');
	char *ip = strndup(cidr, slash ? (size_t)(slash - cidr) : strlen(cidr));
	cJSON *s = ip ? cJSON_CreateString(ip) : NULL;

	free(ip);
	return s;
}

/* The NAD client's isDefaultRoute: the destination address is 0.0.0.0 or :: (whatever the
 * prefix length). */
static bool default_route(const cJSON *route)
{
	const cJSON *dst = cJSON_GetObjectItemCaseSensitive(route, "dst");
	unsigned char buf[16];
	char addr[64];
	const char *slash;
	int fam;
	size_t n;

	if (!cJSON_IsString(dst))
		return true;
	slash = strchr(dst->valuestring, '/');
	n = slash ? (size_t)(slash - dst->valuestring) : strlen(dst->valuestring);
	if (n >= sizeof(addr))
		return false;
	memcpy(addr, dst->valuestring, n);
	addr[n] = '\0';
	if (!parse_ip(addr, buf, &fam))
		return false;
	if (fam == AF_INET)
		return memcmp(buf, "\0\0\0\0", 4) == 0;
	if (memcmp(buf, "\0\0\0\0\0\0\0\0\0\0\xff\xff\0\0\0\0", 16) == 0)
		return true;
	for (int i = 0; i < 16; i++)
		if (buf[i])
			return false;
	return true;
}

static cJSON *gateways(const cJSON *result)
{
	const cJSON *routes = cJSON_GetObjectItemCaseSensitive(result, "routes"), *r;
	cJSON *gws = NULL;

	cJSON_ArrayForEach(r, routes)
	{
		const cJSON *gw = cJSON_GetObjectItemCaseSensitive(r, "gw");

		if (!default_route(r) || !cJSON_IsString(gw))
			continue;
		if (!gws && !(gws = cJSON_CreateArray()))
			return NULL;
		cJSON_AddItemToArray(gws, cJSON_CreateString(gw->valuestring));
	}
	return gws;
}

/* The NAD client's v1.DNS: nameservers, domain, search, options, each omitted when empty. */
static cJSON *dns_of(const cJSON *result)
{
	static const char *const keys[] = { "nameservers", "domain", "search", "options" };
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(result, "dns");
	cJSON *o = cJSON_CreateObject();

	for (size_t i = 0; o && i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(dns, keys[i]);

		if ((cJSON_IsString(v) && v->valuestring[0]) ||
		    (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0))
			cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
	}
	return o;
}

/* device-info-spec fields in the NAD client's DeviceInfo order; unknown keys dropped, as its
 * unmarshal into a struct drops them. */
static cJSON *device_info_copy(const cJSON *dev)
{
	static const struct {
		const char *sub;
		const char *keys[7];
	} subs[] = {
		{ "pci",
		  { "pci-address", "vhost-net", "rdma-device", "pf-pci-address",
		    "representor-device" } },
		{ "vdpa",
		  { "parent-device", "driver", "path", "pci-address", "pf-pci-address",
		    "representor-device" } },
		{ "vhost-user", { "mode", "path" } },
		{ "memif", { "role", "path", "mode" } },
	};
	cJSON *o = cJSON_CreateObject();
	const cJSON *v;

	if (!o)
		return NULL;
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(dev, "type")) && v->valuestring[0])
		cJSON_AddStringToObject(o, "type", v->valuestring);
	if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(dev, "version")) &&
	    v->valuestring[0])
		cJSON_AddStringToObject(o, "version", v->valuestring);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(dev, subs[i].sub);
		cJSON *sub;

		if (!cJSON_IsObject(in))
			continue;
		sub = cJSON_AddObjectToObject(o, subs[i].sub);
		for (size_t k = 0; sub && subs[i].keys[k]; k++) {
			v = cJSON_GetObjectItemCaseSensitive(in, subs[i].keys[k]);
			if (cJSON_IsString(v) && v->valuestring[0])
				cJSON_AddStringToObject(sub, subs[i].keys[k], v->valuestring);
		}
	}
	return o;
}

struct entry {
	const char *ifname, *mac;
	double mtu;
	bool is_default;
	cJSON *ips; /* owned until assembled */
};

/* One status object with the NAD client's field order. */
static cJSON *assemble(const char *name, struct entry *e, const cJSON *result, const cJSON *gws,
		       const cJSON *device_info)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", name);
	if (e->ifname && e->ifname[0])
		cJSON_AddStringToObject(o, "interface", e->ifname);
	if (e->ips && cJSON_GetArraySize(e->ips) > 0) {
		cJSON_AddItemToObject(o, "ips", e->ips);
		e->ips = NULL;
	}
	if (e->mac && e->mac[0])
		cJSON_AddStringToObject(o, "mac", e->mac);
	if (e->mtu != 0)
		cJSON_AddNumberToObject(o, "mtu", e->mtu);
	if (e->is_default)
		cJSON_AddBoolToObject(o, "default", true);
	cJSON_AddItemToObject(o, "dns", dns_of(result));
	if (device_info)
		cJSON_AddItemToObject(o, "device-info", device_info_copy(device_info));
	if (gws)
		cJSON_AddItemToObject(o, "gateway", cJSON_Duplicate(gws, 1));
	cJSON_Delete(e->ips);
	e->ips = NULL;
	return o;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool has_sandbox(const cJSON *iface)
{
	const char *sb = str_of(iface, "sandbox");

	return sb && sb[0];
}

static void entry_from_iface(struct entry *e, const cJSON *iface)
{
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(iface, "mtu");

	e->ifname = str_of(iface, "name");
	e->mac = str_of(iface, "mac");
	e->mtu = cJSON_IsNumber(mtu) ? mtu->valuedouble : 0;
}

int k8s_network_status_append(cJSON *statuses, const char *name, bool is_default,
			      const cJSON *result, const cJSON *device_info, struct cni_err *err)
{
	cJSON *r = cni_result_convert(result, "1.1.0", err), *gws = NULL;
	const cJSON *ifaces, *ips, *ip, *iface;
	struct entry *ent = NULL;
	size_t nifaces, nent = 0;
	int *map = NULL, gw_idx = -1, i, ret = -1;

	if (!r)
		return -1;
	ifaces = cJSON_GetObjectItemCaseSensitive(r, "interfaces");
	ips = cJSON_GetObjectItemCaseSensitive(r, "ips");
	nifaces = (size_t)cJSON_GetArraySize(ifaces);
	gws = gateways(r);
	if (nifaces == 1) {
		struct entry e = { .is_default = is_default, .ips = cJSON_CreateArray() };
		cJSON *o;

		iface = cJSON_GetArrayItem(ifaces, 0);
		if (has_sandbox(iface))
			entry_from_iface(&e, iface);
		cJSON_ArrayForEach(ip, ips)
		{
			cJSON_AddItemToArray(e.ips, ip_without_prefix(str_of(ip, "address")));
		}
		o = assemble(name, &e, r, gws, device_info);
		if (!o || !cJSON_AddItemToArray(statuses, o))
			goto oom;
		ret = 1;
		goto out;
	}
	ent = calloc(nifaces ? nifaces : 1, sizeof(*ent));
	map = calloc(nifaces ? nifaces : 1, sizeof(*map));
	if (!ent || !map)
		goto oom;
	if (is_default) {
		cJSON_ArrayForEach(ip, ips)
		{
			const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");

			if (str_of(ip, "gateway") && cJSON_IsNumber(idx)) {
				gw_idx = idx->valueint;
				break;
			}
		}
	}
	i = 0;
	cJSON_ArrayForEach(iface, ifaces)
	{
		map[i] = -1;
		if (has_sandbox(iface)) {
			struct entry *e = &ent[nent];

			entry_from_iface(e, iface);
			/* An IP's gateway names the default interface; else the first one is. */
			e->is_default = is_default && (gw_idx == -1 ? nent == 0 : gw_idx == i);
			e->ips = cJSON_CreateArray();
			if (!e->ips)
				goto oom;
			map[i] = (int)nent++;
		}
		i++;
	}
	cJSON_ArrayForEach(ip, ips)
	{
		const cJSON *idx = cJSON_GetObjectItemCaseSensitive(ip, "interface");
		struct entry *to = NULL;

		if (cJSON_IsNumber(idx)) {
			if (idx->valueint >= 0 && (size_t)idx->valueint < nifaces &&
			    map[idx->valueint] >= 0)
				to = &ent[map[idx->valueint]];
		} else if (nent) {
			to = &ent[nent - 1];
		}
		if (to)
			cJSON_AddItemToArray(to->ips, ip_without_prefix(str_of(ip, "address")));
	}
	for (size_t k = 0; k < nent; k++) {
		cJSON *o = assemble(name, &ent[k], r, gws, device_info);

		if (!o || !cJSON_AddItemToArray(statuses, o))
			goto oom;
	}
	ret = (int)nent;
	goto out;
oom:
	cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
out:
	for (size_t k = 0; ent && k < nifaces; k++)
		cJSON_Delete(ent[k].ips);
	free(ent);
	free(map);
	cJSON_Delete(gws);
	cJSON_Delete(r);
	return ret;
}

/* Go's json.Indent(dst, compact, "", "    "). */
static void indent(FILE *f, const char *s)
{
	int depth = 0;
	bool need = false, in_str = false;

	for (; *s; s++) {
		char c = *s;

		if (in_str) {
			fputc(c, f);
			if (c == '\\' && s[1])
				fputc(*++s, f);
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (need && c != ']' && c != '}') {
			need = false;
			depth++;
			fputc('\n', f);
			for (int k = 0; k < depth; k++)
				fputs("    ", f);
		}
		switch (c) {
		case '"':
			in_str = true;
			fputc(c, f);
			break;
		case '{':
		case '[':
			need = true;
			fputc(c, f);
			break;
		case ',':
			fputc(c, f);
			fputc('\n', f);
			for (int k = 0; k < depth; k++)
				fputs("    ", f);
			break;
		case ':':
			fputs(": ", f);
			break;
		case '}':
		case ']':
			if (need) {
				need = false;
			} else {
				depth--;
				fputc('\n', f);
				for (int k = 0; k < depth; k++)
					fputs("    ", f);
			}
			fputc(c, f);
			break;
		default:
			fputc(c, f);
		}
	}
}

char *k8s_network_status_render(const cJSON *statuses)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const cJSON *e;
	bool first = true;

	if (!f)
		return NULL;
	fputc('[', f);
	cJSON_ArrayForEach(e, statuses)
	{
		char *compact = cni_json_print_go(e, false);

		if (!compact) {
			fclose(f);
			free(buf);
			return NULL;
		}
		if (!first)
			fputc(',', f);
		first = false;
		indent(f, compact);
		free(compact);
	}
	fputc(']', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

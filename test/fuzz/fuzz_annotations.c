/* test/fuzz/fuzz_annotations.c: libFuzzer harness: the k8s.v1.cni.cncf.io/networks annotation in
 * both forms (comma list and JSON), v1.multus-cni.io/default-network, and the capability args
 * derived from what parses.
 * Invariants: k8s_valid_subdomain agrees with Kubernetes' regular expression on any input;
 * every element that parses has a DNS-1123 name, a DNS-1123 label (or the default) as
 * namespace, an interface name libcni accepts, only strings in ips; the default-network parser
 * accepts exactly the values the list parser reads as one element, with that element;
 * cap args are an object of the known keys only, a given deviceID wins, and they print as JSON
 * that parses again. */
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cni/json.h"
#include "cni/spec.h"
#include "k8s/api.h"
#include "k8s/selection.h"

/* The oracle for names is not the code under test: it is Kubernetes' own definition,
 * k8s.io/apimachinery/pkg/util/validation IsDNS1123Label (dns1123LabelFmt, at most 63 bytes) and
 * IsDNS1123Subdomain (dns1123SubdomainFmt, at most 253 bytes), compiled with regcomp. */
#define DNS1123_LABEL_FMT     "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"

static bool matches(const char *s, const char *fmt, regex_t *re, bool *ready, size_t max)
{
	if (!*ready) {
		if (regcomp(re, fmt, REG_EXTENDED | REG_NOSUB) != 0)
			abort();
		*ready = true;
	}
	return s && strlen(s) <= max && regexec(re, s, 0, NULL, 0) == 0;
}

static bool is_label(const char *s)
{
	static regex_t re;
	static bool ready;

	return matches(s, "^" DNS1123_LABEL_FMT "$", &re, &ready, 63);
}

static bool is_subdomain(const char *s)
{
	static regex_t re;
	static bool ready;

	return matches(s, "^" DNS1123_SUBDOMAIN_FMT "$", &re, &ready, 253);
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_cap_args(const struct k8s_net_selection *s)
{
	static const char *const known[] = { "portMappings", "bandwidth",      "ips",
					     "mac",	     "infinibandGUID", "deviceID" };
	cJSON *c = k8s_net_selection_cap_args(s, NULL), *d, *k;
	char *text;

	if (!c)
		return; /* OOM only */
	if (!cJSON_IsObject(c))
		abort();
	cJSON_ArrayForEach(k, c)
	{
		size_t i = 0;

		while (i < sizeof(known) / sizeof(known[0]) && strcmp(k->string, known[i]))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			abort(); /* only the capability keys */
	}
	if ((s->ips != NULL) != (cJSON_GetObjectItemCaseSensitive(c, "ips") != NULL) ||
	    (s->mac != NULL) != (cJSON_GetObjectItemCaseSensitive(c, "mac") != NULL))
		abort(); /* what was requested, and only that */
	text = cni_json_print_go(c, true);
	if (text) {
		cJSON *back = cJSON_Parse(text);

		if (!back || !cJSON_IsObject(back))
			abort(); /* what we hand to delegates must be JSON */
		cJSON_Delete(back);
		free(text);
	}
	cJSON_Delete(c);
	d = k8s_net_selection_cap_args(s, "0000:03:00.2");
	if (d) {
		const cJSON *dev = cJSON_GetObjectItemCaseSensitive(d, "deviceID");

		if (!cJSON_IsString(dev) || strcmp(dev->valuestring, "0000:03:00.2"))
			abort(); /* the resource's device wins */
		cJSON_Delete(d);
	}
}

static void check_element(const struct k8s_net_selection *e, const char *default_ns)
{
	struct cni_err err = { 0 };
	const cJSON *v;

	if (!is_subdomain(e->name))
		abort(); /* no '/', "..", control bytes or uppercase in a NAD name */
	if (!e->namespace || (strcmp(e->namespace, default_ns) && !is_label(e->namespace)))
		abort();
	if (e->ifname && cni_validate_ifname(e->ifname, &err) < 0)
		abort(); /* an interface libcni would refuse got through */
	cni_err_clear(&err);
	if (e->ips && !cJSON_IsArray(e->ips))
		abort();
	cJSON_ArrayForEach(v, e->ips)
	{
		if (!cJSON_IsString(v))
			abort();
	}
	if (e->default_route && !cJSON_IsArray(e->default_route))
		abort();
	if ((e->mac && !e->mac[0]) || (e->infiniband_guid && !e->infiniband_guid[0]) ||
	    (e->device_id && !e->device_id[0]))
		abort(); /* empty means absent */
	if (e->cni_args && !cJSON_IsObject(e->cni_args))
		abort();
	check_cap_args(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 }, derr = { 0 };
	struct k8s_net_selections s, as_default;
	struct k8s_net_selection d;
	char *value = malloc(size + 1);
	int r, dr, ar;

	if (!value)
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';

	/* The validator every API path goes through agrees with Kubernetes on any text. */
	if (k8s_valid_subdomain(value) != is_subdomain(value))
		abort();

	r = k8s_parse_networks(value, NULL, "pod-ns", &s, &err);
	if (r == 0) {
		if (s.n > K8S_ANNOT_MAX_ELEMENTS || (s.n && !s.el))
			abort();
		for (size_t i = 0; i < s.n; i++)
			check_element(&s.el[i], "pod-ns");
		k8s_net_selections_free(&s);
	} else {
		if (s.n || s.el || !err.msg || err.code == 0)
			abort(); /* failure leaves nothing behind and says why */
	}
	cni_err_clear(&err);

	/* The default network: the same parser, exactly one element, multusNamespace. */
	dr = k8s_parse_default_network(value, "kube-system", &d, &derr);
	ar = k8s_parse_networks(value, K8S_ANNOT_DEFAULT_NETWORK, "kube-system", &as_default, &err);
	if (dr == 0) {
		if (!value[0] || ar != 0 || as_default.n != 1)
			abort();
		check_element(&d, "kube-system");
		if (!same(d.name, as_default.el[0].name) ||
		    !same(d.namespace, as_default.el[0].namespace) ||
		    !same(d.ifname, as_default.el[0].ifname) ||
		    !same(d.device_id, as_default.el[0].device_id))
			abort();
		k8s_net_selection_free(&d);
	} else {
		if (value[0] && ar == 0 && as_default.n == 1)
			abort(); /* one good element must be accepted */
		if (d.name || !derr.msg)
			abort();
	}
	if (ar == 0)
		k8s_net_selections_free(&as_default);
	cni_err_clear(&err);
	cni_err_clear(&derr);
	free(value);
	return 0;
}

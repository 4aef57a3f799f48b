/* cni/result.c: CNI results as cJSON trees: shape checks and conversion among spec versions.
 * Follows libcni pkg/types/{020,040,100} and encoding/json's omitempty (CNI SPEC.md,
 * Section 5 'Result Types'). */
#include "cni/result.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/addr.h"

/* libcni has one Go type per result shape; a version picks the type. */
enum shape {
	SHAPE_020, /* ip4/ip6/dns */
	SHAPE_040, /* interfaces/ips with "version"/routes/dns */
	SHAPE_100, /* as 040 without ips[].version, plus the interface fields of 1.1.0 */
};

static const struct {
	const char *version;
	enum shape shape;
} shapes[] = {
	{ "0.1.0", SHAPE_020 }, { "0.2.0", SHAPE_020 }, { "0.3.0", SHAPE_040 },
	{ "0.3.1", SHAPE_040 }, { "0.4.0", SHAPE_040 }, { "1.0.0", SHAPE_100 },
	{ "1.1.0", SHAPE_100 },
};

static int shape_of(const char *version)
{
	if (!version)
		return -1;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (strcmp(version, shapes[i].version) == 0)
			return (int)shapes[i].shape;
	return -1;
}

/* The spec's rule for a missing or empty version. */
static const char *or_010(const char *v)
{
	return v && *v ? v : "0.1.0";
}

const char *cni_result_version(const cJSON *result, const char *def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(result, "cniVersion");

	if (cJSON_IsString(v) && *v->valuestring)
		return v->valuestring;
	return def;
}

/* --- addresses: parsed and printed as Go's net package does ---------------------------------- */

/* --- shape checks ---------------------------------------------------------------------------- */

/* Where a value sits, for messages like `ips[1].address: ...`. */
struct where {
	const char *parent; /* "ips", "ip4.routes", "dns.search" */
	int idx;	    /* element of parent, or -1 */
};

static int bad(struct cni_err *err, const struct where *w, const char *field, const char *fmt, ...)
    CNI_PRINTF(4, 5);

static int bad(struct cni_err *err, const struct where *w, const char *field, const char *fmt, ...)
{
	char *what = NULL, *idx = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	if (w->idx >= 0 && asprintf(&idx, "[%d]", w->idx) < 0)
		idx = NULL;
	cni_err_set(err, CNI_ERR_DECODE, "%s%s%s%s: %s", w->parent, idx ? idx : "",
		    field && *w->parent ? "." : "", field ? field : "", what ? what : "invalid");
	free(idx);
	free(what);
	return -1;
}

/* encoding/json leaves a Go value unset for null, so null is accepted wherever a field is. */
static bool absent(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int check_string(const cJSON *obj, const char *key, const struct where *w,
			struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (absent(v) || cJSON_IsString(v))
		return 0;
	return bad(err, w, key, "must be a string");
}

/* Go reads these into int; a wider range than the kernel's u32 fields would print as 1e+15
 * from cJSON, which no Go reader accepts. */
#define INT_FIELD_MIN (-2147483648.0)
#define INT_FIELD_MAX 4294967295.0

static int check_int(const cJSON *obj, const char *key, const struct where *w, struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (absent(v))
		return 0;
	if (cJSON_IsNumber(v) && v->valuedouble >= INT_FIELD_MIN &&
	    v->valuedouble <= INT_FIELD_MAX && v->valuedouble == (double)(long long)v->valuedouble)
		return 0;
	return bad(err, w, key, "must be an integer in -2147483648..4294967295");
}

/* net.IP: "" is the unset address. */
static int check_ip(const cJSON *obj, const char *key, const struct where *w, struct cni_err *err)
{
	const cJSON *v = field(obj, key);
	struct cni_addr a;

	if (absent(v))
		return 0;
	if (!cJSON_IsString(v))
		return bad(err, w, key, "must be a string");
	if (*v->valuestring && !cni_addr_parse(v->valuestring, &a))
		return bad(err, w, key, "\"%s\" is not an IP address", v->valuestring);
	return 0;
}

/* libcni would marshal a missing CIDR as "<nil>"; we refuse it instead. */
static int check_cidr(const cJSON *obj, const char *key, const struct where *w, struct cni_err *err)
{
	const cJSON *v = field(obj, key);
	struct cni_addr a;

	if (absent(v))
		return bad(err, w, key, "is required");
	if (!cJSON_IsString(v))
		return bad(err, w, key, "must be a string");
	if (!cni_addr_parse_cidr(v->valuestring, &a))
		return bad(err, w, key, "\"%s\" is not a CIDR", v->valuestring);
	return 0;
}

static int check_object(const cJSON *obj, const char *key, const struct where *w,
			struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (absent(v) || cJSON_IsObject(v))
		return 0;
	return bad(err, w, key, "must be an object");
}

/* Runs check on every element of obj[key], an array of objects (or absent). A null element
 * would be a nil pointer in Go that libcni's converters dereference, so it is refused. */
static int check_each(const cJSON *obj, const char *key, const struct where *w,
		      int (*check)(const cJSON *elem, const struct where *at, enum shape s,
				   struct cni_err *err),
		      enum shape s, struct cni_err *err)
{
	const cJSON *arr = field(obj, key), *elem;
	struct where at = { .idx = 0 };
	char *path = NULL;
	int rc = 0;

	if (absent(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(err, w, key, "must be an array");
	if (*w->parent) {
		if (asprintf(&path, "%s.%s", w->parent, key) < 0)
			return cni_err_oom(err);
		at.parent = path;
	} else {
		at.parent = key;
	}
	cJSON_ArrayForEach(elem, arr)
	{
		if (!cJSON_IsObject(elem))
			rc = bad(err, &at, NULL, "must be an object");
		else
			rc = check(elem, &at, s, err);
		if (rc < 0)
			break;
		at.idx++;
	}
	free(path);
	return rc;
}

static int check_route(const cJSON *r, const struct where *w, enum shape s, struct cni_err *err)
{
	static const char *const ints[] = { "mtu", "advmss", "priority", "table", "scope" };

	(void)s;
	if (check_cidr(r, "dst", w, err) < 0 || check_ip(r, "gw", w, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		if (check_int(r, ints[i], w, err) < 0)
			return -1;
	return 0;
}

static int check_iface(const cJSON *i, const struct where *w, enum shape s, struct cni_err *err)
{
	if (check_string(i, "name", w, err) < 0 || check_string(i, "mac", w, err) < 0 ||
	    check_string(i, "sandbox", w, err) < 0)
		return -1;
	/* 040 has no such fields: there they are unknown keys, which Go ignores. */
	if (s == SHAPE_100 &&
	    (check_int(i, "mtu", w, err) < 0 || check_string(i, "socketPath", w, err) < 0 ||
	     check_string(i, "pciID", w, err) < 0))
		return -1;
	return 0;
}

static int check_ipc(const cJSON *ip, const struct where *w, enum shape s, struct cni_err *err)
{
	if (check_cidr(ip, "address", w, err) < 0 || check_ip(ip, "gateway", w, err) < 0 ||
	    check_int(ip, "interface", w, err) < 0)
		return -1;
	if (s == SHAPE_040 && check_string(ip, "version", w, err) < 0)
		return -1;
	return 0;
}

/* The 0.2.0 ip4/ip6 object. */
static int check_ip02(const cJSON *res, const char *key, struct cni_err *err)
{
	const struct where top = { "", -1 }, in = { key, -1 };
	const cJSON *ipc = field(res, key);

	if (check_object(res, key, &top, err) < 0)
		return -1;
	if (absent(ipc))
		return 0;
	if (check_cidr(ipc, "ip", &in, err) < 0 || check_ip(ipc, "gateway", &in, err) < 0)
		return -1;
	return check_each(ipc, "routes", &in, check_route, SHAPE_020, err);
}

static int check_strings(const cJSON *obj, const char *key, const struct where *w,
			 struct cni_err *err)
{
	const cJSON *arr = field(obj, key), *elem;
	struct where at = { w->parent, 0 };
	char *path = NULL;

	if (absent(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return bad(err, w, key, "must be an array of strings");
	if (asprintf(&path, "%s.%s", w->parent, key) < 0)
		return cni_err_oom(err);
	at.parent = path;
	cJSON_ArrayForEach(elem, arr)
	{
		if (!absent(elem) && !cJSON_IsString(elem)) {
			bad(err, &at, NULL, "must be a string");
			free(path);
			return -1;
		}
		at.idx++;
	}
	free(path);
	return 0;
}

static int check_dns(const cJSON *res, struct cni_err *err)
{
	const struct where top = { "", -1 }, in = { "dns", -1 };
	const cJSON *dns = field(res, "dns");

	if (check_object(res, "dns", &top, err) < 0)
		return -1;
	if (absent(dns))
		return 0;
	if (check_strings(dns, "nameservers", &in, err) < 0 ||
	    check_string(dns, "domain", &in, err) < 0 ||
	    check_strings(dns, "search", &in, err) < 0 ||
	    check_strings(dns, "options", &in, err) < 0)
		return -1;
	return 0;
}

/* What encoding/json would refuse for the version's Go type, plus a required address/dst.
 * Unknown keys are ignored, as Go does. */
static int check_shape(const cJSON *res, enum shape s, struct cni_err *err)
{
	const struct where top = { "", -1 };

	if (s == SHAPE_020) {
		if (check_ip02(res, "ip4", err) < 0 || check_ip02(res, "ip6", err) < 0)
			return -1;
	} else if (check_each(res, "interfaces", &top, check_iface, s, err) < 0 ||
		   check_each(res, "ips", &top, check_ipc, s, err) < 0 ||
		   check_each(res, "routes", &top, check_route, s, err) < 0) {
		return -1;
	}
	return check_dns(res, err);
}

cJSON *cni_result_parse(const char *text, const char *default_version, struct cni_err *err)
{
	const char *end = NULL, *v;
	cJSON *res, *vs;
	int s;

	if (!text) {
		cni_err_set(err, CNI_ERR_DECODE, "result is empty");
		return NULL;
	}
	res = cJSON_ParseWithOpts(text, &end, 1);
	if (!res) {
		cni_err_set(err, CNI_ERR_DECODE, "result is not valid JSON (at byte %td)",
			    end ? end - text : (ptrdiff_t)0);
		return NULL;
	}
	if (!cJSON_IsObject(res)) {
		cni_err_set(err, CNI_ERR_DECODE, "result must be a JSON object");
		goto fail;
	}
	/* libcni's fixupResultVersion: a missing, empty or non-string version is the config's. */
	v = cni_result_version(res, NULL);
	if (!v) {
		vs = cJSON_CreateString(or_010(default_version));
		if (!vs) {
			cni_err_oom(err);
			goto fail;
		}
		if (cJSON_GetObjectItemCaseSensitive(res, "cniVersion"))
			cJSON_ReplaceItemInObjectCaseSensitive(res, "cniVersion", vs);
		else
			cJSON_AddItemToObject(res, "cniVersion", vs);
		v = vs->valuestring;
	}
	s = shape_of(v);
	if (s < 0) {
		cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
			    "unsupported CNI result version \"%s\"", v);
		goto fail;
	}
	if (check_shape(res, (enum shape)s, err) < 0)
		goto fail;
	return res;
fail:
	cJSON_Delete(res);
	return NULL;
}

/* --- conversion: build the target version's Go type, then marshal it ------------------------ */

/* Builders record an allocation failure here instead of checking every call. */
struct out {
	bool oom;
};

static cJSON *add(struct out *o, cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !obj) {
		o->oom = true;
		cJSON_Delete(item);
		return NULL;
	}
	if (key)
		cJSON_AddItemToObject(obj, key, item);
	else
		cJSON_AddItemToArray(obj, item);
	return item;
}

static const char *str_or(const cJSON *obj, const char *key, const char *def)
{
	const cJSON *v = field(obj, key);

	return cJSON_IsString(v) ? v->valuestring : def;
}

/* `json:"key"`: always printed, "" when unset. */
static void put_str(struct out *o, cJSON *dst, const char *key, const char *s)
{
	add(o, dst, key, cJSON_CreateString(s));
}

/* `json:"key,omitempty"` on a string. */
static void copy_str(struct out *o, cJSON *dst, const cJSON *src, const char *key)
{
	const char *s = str_or(src, key, "");

	if (*s)
		put_str(o, dst, key, s);
}

/* `json:"key,omitempty"` on an int: 0 is not printed. */
static void copy_int(struct out *o, cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = field(src, key);

	if (cJSON_IsNumber(v) && v->valuedouble != 0)
		add(o, dst, key, cJSON_CreateNumber(v->valuedouble));
}

/* `json:"key,omitempty"` on an *int: a present 0 is printed. */
static void copy_intp(struct out *o, cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *v = field(src, key);

	if (cJSON_IsNumber(v))
		add(o, dst, key, cJSON_CreateNumber(v->valuedouble));
}

/* net.IP with omitempty: "" and null are nil and not printed; the rest in canonical form. */
static void copy_ip(struct out *o, cJSON *dst, const char *key, const cJSON *src,
		    const char *src_key)
{
	const char *s = str_or(src, src_key, "");
	char text[CNI_ADDR_TEXT_MAX];
	struct cni_addr a;

	if (!*s || !cni_addr_parse(s, &a))
		return;
	cni_addr_format(&a, text);
	put_str(o, dst, key, text);
}

/* types.IPNet: required, so always printed. */
static void copy_cidr(struct out *o, cJSON *dst, const char *key, const cJSON *src,
		      const char *src_key)
{
	const char *s = str_or(src, src_key, "");
	char text[CNI_ADDR_TEXT_MAX];
	struct cni_addr a;

	if (!cni_addr_parse_cidr(s, &a)) {
		o->oom = true; /* unreachable once the shape is checked */
		return;
	}
	cni_addr_format(&a, text);
	put_str(o, dst, key, text);
}

static bool cidr_is4(const cJSON *obj, const char *key)
{
	struct cni_addr a;

	return cni_addr_parse_cidr(str_or(obj, key, ""), &a) && cni_addr_is4(&a);
}

/* A slice with omitempty: an empty one is not printed, so it is added only once it has an
 * element. */
static cJSON *lazy_array(struct out *o, cJSON *dst, const char *key)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(dst, key);

	return arr ? arr : add(o, dst, key, cJSON_CreateArray());
}

/* types.Route; full=false is libcni's 0.2.0 down-conversion, which keeps only dst and gw. */
static void put_route(struct out *o, cJSON *arr, const cJSON *r, bool full)
{
	cJSON *d = add(o, arr, NULL, cJSON_CreateObject());

	if (!d)
		return;
	copy_cidr(o, d, "dst", r, "dst");
	copy_ip(o, d, "gw", r, "gw");
	if (!full)
		return;
	copy_int(o, d, r, "mtu");
	copy_int(o, d, r, "advmss");
	copy_int(o, d, r, "priority");
	copy_intp(o, d, r, "table");
	copy_intp(o, d, r, "scope");
}

static void put_routes(struct out *o, cJSON *dst, const cJSON *src, bool full)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, field(src, "routes"))
	{
		put_route(o, lazy_array(o, dst, "routes"), r, full);
	}
}

static void put_strings(struct out *o, cJSON *dst, const cJSON *src, const char *key)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, field(src, key))
	{
		/* A null element of a []string decodes as "". */
		add(o, lazy_array(o, dst, key), NULL,
		    cJSON_CreateString(cJSON_IsString(s) ? s->valuestring : ""));
	}
}

/* types.DNS is a struct, which encoding/json never omits: an empty one prints as {}. */
static void put_dns(struct out *o, cJSON *dst, const cJSON *src)
{
	const cJSON *dns = field(src, "dns");
	cJSON *d = add(o, dst, "dns", cJSON_CreateObject());

	if (!d)
		return;
	put_strings(o, d, dns, "nameservers");
	copy_str(o, d, dns, "domain");
	put_strings(o, d, dns, "search");
	put_strings(o, d, dns, "options");
}

static void put_iface(struct out *o, cJSON *arr, const cJSON *i, bool v11)
{
	cJSON *d = add(o, arr, NULL, cJSON_CreateObject());

	if (!d)
		return;
	put_str(o, d, "name", str_or(i, "name", ""));
	copy_str(o, d, i, "mac");
	if (v11)
		copy_int(o, d, i, "mtu");
	copy_str(o, d, i, "sandbox");
	if (v11) {
		copy_str(o, d, i, "socketPath");
		copy_str(o, d, i, "pciID");
	}
}

/* A 040/100 ips[] entry from a 040/100 one (addr_key "address") or from a 020 ip4/ip6 (addr_key
 * "ip", which has no interface index); version is NULL for 100, which has no such field. */
static void put_ipc(struct out *o, cJSON *arr, const cJSON *ip, const char *addr_key,
		    const char *version)
{
	cJSON *d = add(o, arr, NULL, cJSON_CreateObject());

	if (!d)
		return;
	if (version)
		put_str(o, d, "version", version);
	if (strcmp(addr_key, "address") == 0)
		copy_intp(o, d, ip, "interface");
	copy_cidr(o, d, "address", ip, addr_key);
	copy_ip(o, d, "gateway", ip, "gateway");
}

/* The label ips[].version has on the way to or through 040: 040 trusts the field it read
 * (even a wrong or missing one); 100 derives it from the address (convertIPConfigTo040). */
static const char *ip_label(const cJSON *ip, enum shape from)
{
	if (from == SHAPE_040)
		return str_or(ip, "version", "");
	return cidr_is4(ip, "address") ? "4" : "6";
}

/* 040/100 -> 020 (types040 convertTo02x, reached from 100 through 0.4.0). */
static int to_020(struct out *o, cJSON *dst, const cJSON *src, enum shape from, struct cni_err *err)
{
	const cJSON *ip, *r, *first4 = NULL, *first6 = NULL;
	cJSON *ip4 = NULL, *ip6 = NULL;

	cJSON_ArrayForEach(ip, field(src, "ips"))
	{
		const char *label = ip_label(ip, from);

		if (!first4 && strcmp(label, "4") == 0)
			first4 = ip;
		else if (!first6 && strcmp(label, "6") == 0)
			first6 = ip;
	}
	if (!first4 && !first6)
		return cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
				   "cannot convert result from %s to %s: no valid IP addresses",
				   cni_result_version(src, "0.1.0"),
				   cni_result_version(dst, "0.1.0"));
	if (first4) {
		ip4 = add(o, dst, "ip4", cJSON_CreateObject());
		copy_cidr(o, ip4, "ip", first4, "address");
		copy_ip(o, ip4, "gateway", first4, "gateway");
	}
	if (first6) {
		ip6 = add(o, dst, "ip6", cJSON_CreateObject());
		copy_cidr(o, ip6, "ip", first6, "address");
		copy_ip(o, ip6, "gateway", first6, "gateway");
	}
	/* A route follows the family of its dst and is lost when that family has no address. */
	cJSON_ArrayForEach(r, field(src, "routes"))
	{
		cJSON *ipc = cidr_is4(r, "dst") ? ip4 : ip6;

		if (ipc)
			put_route(o, lazy_array(o, ipc, "routes"), r, false);
	}
	return 0;
}

/* 020 -> 020 (types020 convertFrom010/convertTo010: IPConfig.Copy keeps whole routes). */
static void copy_020(struct out *o, cJSON *dst, const cJSON *src)
{
	static const char *const keys[] = { "ip4", "ip6" };

	for (size_t k = 0; k < 2; k++) {
		const cJSON *ipc = field(src, keys[k]);
		cJSON *d;

		if (absent(ipc))
			continue;
		d = add(o, dst, keys[k], cJSON_CreateObject());
		copy_cidr(o, d, "ip", ipc, "ip");
		copy_ip(o, d, "gateway", ipc, "gateway");
		put_routes(o, d, ipc, true);
	}
}

/* 020 -> 040/100 (types040 convertFrom02x; 100 goes through 0.4.0): ip4 then ip6 become ips
 * labelled by their slot, their routes move to the top level whole. */
static void from_020(struct out *o, cJSON *dst, const cJSON *src, enum shape to)
{
	static const char *const keys[] = { "ip4", "ip6" }, *const labels[] = { "4", "6" };

	for (size_t k = 0; k < 2; k++) {
		const cJSON *ipc = field(src, keys[k]);

		if (!absent(ipc))
			put_ipc(o, lazy_array(o, dst, "ips"), ipc, "ip",
				to == SHAPE_040 ? labels[k] : NULL);
	}
	for (size_t k = 0; k < 2; k++) {
		const cJSON *ipc = field(src, keys[k]);

		if (!absent(ipc))
			put_routes(o, dst, ipc, true);
	}
}

/* 040/100 -> 040/100 (convertInternal, convertFrom04x, convertTo04x, convertFrom100). */
static void between_040_100(struct out *o, cJSON *dst, const cJSON *src, enum shape from,
			    enum shape to)
{
	const cJSON *i, *ip;

	/* Only 100 -> 100 keeps mtu/socketPath/pciID: 040's Interface has no such fields. */
	cJSON_ArrayForEach(i, field(src, "interfaces"))
	{
		put_iface(o, lazy_array(o, dst, "interfaces"), i,
			  from == SHAPE_100 && to == SHAPE_100);
	}
	cJSON_ArrayForEach(ip, field(src, "ips"))
	{
		put_ipc(o, lazy_array(o, dst, "ips"), ip, "address",
			to == SHAPE_040 ? ip_label(ip, from) : NULL);
	}
	put_routes(o, dst, src, true);
}

cJSON *cni_result_convert(const cJSON *result, const char *to_version, struct cni_err *err)
{
	const char *from_version = cni_result_version(result, "0.1.0");
	struct out o = { false };
	int from, to;
	cJSON *dst;

	if (!cJSON_IsObject(result)) {
		cni_err_set(err, CNI_ERR_DECODE, "result must be a JSON object");
		return NULL;
	}
	/* libcni's Convert reads an empty target as 0.1.0. */
	to_version = or_010(to_version);
	from = shape_of(from_version);
	to = shape_of(to_version);
	if (from < 0 || to < 0) {
		cni_err_set(err, CNI_ERR_INCOMPATIBLE_VERSION,
			    "cannot convert result from %s to %s: unsupported version \"%s\"",
			    from_version, to_version, from < 0 ? from_version : to_version);
		return NULL;
	}
	if (check_shape(result, (enum shape)from, err) < 0)
		return NULL;

	dst = cJSON_CreateObject();
	add(&o, dst, "cniVersion", cJSON_CreateString(to_version));
	if (to == SHAPE_020 && from == SHAPE_020) {
		copy_020(&o, dst, result);
	} else if (to == SHAPE_020) {
		if (to_020(&o, dst, result, (enum shape)from, err) < 0) {
			cJSON_Delete(dst);
			return NULL;
		}
	} else if (from == SHAPE_020) {
		from_020(&o, dst, result, (enum shape)to);
	} else {
		between_040_100(&o, dst, result, (enum shape)from, (enum shape)to);
	}
	put_dns(&o, dst, result);
	if (o.oom) {
		cJSON_Delete(dst);
		cni_err_oom(err);
		return NULL;
	}
	return dst;
}

/* cni/spec.c: verbs, versions, name validation and CNI_ARGS.
 * Follows libcni pkg/utils/utils.go and pkg/types/args.go byte for byte in what they accept. */
#include "cni/spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const cni_versions[] = {
	"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"
};
const size_t cni_nversions = sizeof(cni_versions) / sizeof(cni_versions[0]);

static const char *const verb_names[] = {
	[CNI_VERB_NONE] = "",		[CNI_VERB_ADD] = "ADD", [CNI_VERB_DEL] = "DEL",
	[CNI_VERB_CHECK] = "CHECK",	[CNI_VERB_GC] = "GC",	[CNI_VERB_STATUS] = "STATUS",
	[CNI_VERB_VERSION] = "VERSION",
};

enum cni_verb cni_verb_parse(const char *s)
{
	if (!s || !*s)
		return CNI_VERB_NONE;
	for (size_t i = CNI_VERB_ADD; i <= CNI_VERB_VERSION; i++)
		if (strcmp(s, verb_names[i]) == 0)
			return (enum cni_verb)i;
	return CNI_VERB_NONE;
}

const char *cni_verb_name(enum cni_verb verb)
{
	if ((unsigned)verb > CNI_VERB_VERSION)
		return "";
	return verb_names[verb];
}

bool cni_version_supported(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < cni_nversions; i++)
		if (strcmp(s, cni_versions[i]) == 0)
			return true;
	return false;
}

/* "X.Y.Z" with decimal numbers only; "" means 0.1.0. */
static int parse_version(const char *s, unsigned long v[3])
{
	if (!s || !*s)
		s = "0.1.0";
	for (int i = 0; i < 3; i++) {
		char *end;

		if (*s < '0' || *s > '9')
			return -1;
		v[i] = strtoul(s, &end, 10);
		if (v[i] > UINT32_MAX)
			return -1;
		if (i < 2 && *end != '.')
			return -1;
		if (i == 2 && *end != '\0')
			return -1;
		s = end + 1;
	}
	return 0;
}

int cni_version_cmp(const char *a, const char *b, bool *bad)
{
	unsigned long va[3], vb[3];

	if (parse_version(a, va) < 0 || parse_version(b, vb) < 0) {
		if (bad)
			*bad = true;
		return 0;
	}
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

bool cni_version_ge(const char *a, const char *b)
{
	bool bad = false;
	int c = cni_version_cmp(a, b, &bad);

	return !bad && c >= 0;
}

/* ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$ */
static bool valid_name_chars(const char *s)
{
	static const char extra[] = "_.-";

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (const char *p = s + 1; *p; p++) {
		char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if (!strchr(extra, c))
			return false;
	}
	return true;
}

int cni_validate_container_id(const char *id, struct cni_err *err)
{
	if (!id || !*id)
		return cni_err_set(err, CNI_ERR_UNKNOWN_CONTAINER, "missing containerID");
	if (!valid_name_chars(id)) {
		cni_err_set(err, CNI_ERR_INVALID_ENV, "invalid characters in containerID");
		return cni_err_details(err, "%s", id);
	}
	return 0;
}

int cni_validate_network_name(const char *name, struct cni_err *err)
{
	if (!name || !*name)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "missing network name:");
	if (!valid_name_chars(name)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "invalid characters found in network name");
		return cni_err_details(err, "%s", name);
	}
	return 0;
}

/* Decodes one UTF-8 sequence at s; returns its length and the code point in *cp, or 1 with
 * U+FFFD for an invalid byte (as Go's range over a string does). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		c &= 0x07;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* Go's unicode.IsSpace. */
static bool is_unicode_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return true;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

int cni_validate_ifname(const char *ifname, struct cni_err *err)
{
	const unsigned char *p;

	if (!ifname || !*ifname)
		return cni_err_set(err, CNI_ERR_INVALID_ENV, "interface name is empty");
	if (strlen(ifname) > 15) {
		cni_err_set(err, CNI_ERR_INVALID_ENV, "interface name is too long");
		return cni_err_details(err, "interface name should be less than 16 characters");
	}
	if (strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return cni_err_set(err, CNI_ERR_INVALID_ENV, "interface name is . or ..");
	for (p = (const unsigned char *)ifname; *p;) {
		uint32_t cp;

		p += utf8_next(p, &cp);
		if (cp == '/' || cp == ':' || is_unicode_space(cp))
			return cni_err_set(
			    err, CNI_ERR_INVALID_ENV,
			    "interface name contains / or : or whitespace characters");
	}
	return 0;
}

static int parse_bool_text(const char *v, bool *out)
{
	if (strcasecmp(v, "1") == 0 || strcasecmp(v, "true") == 0)
		*out = true;
	else if (strcasecmp(v, "0") == 0 || strcasecmp(v, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

int cni_args_parse(const char *s, struct cni_args *out, struct cni_err *err)
{
	const char *pair, *end;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	for (pair = s;; pair = end + 1) {
		const char *eq;
		size_t len;
		struct cni_kv *kv;

		end = strchr(pair, ';');
		len = end ? (size_t)(end - pair) : strlen(pair);
		eq = memchr(pair, '=', len);
		if (!eq || memchr(eq + 1, '=', len - (size_t)(eq - pair) - 1)) {
			cni_err_set(err, CNI_ERR_INVALID_ENV, "ARGS: invalid pair \"%.*s\"",
				    (int)len, pair);
			goto fail;
		}
		kv = realloc(out->kv, (out->n + 1) * sizeof(*kv));
		if (!kv) {
			cni_err_oom(err);
			goto fail;
		}
		out->kv = kv;
		kv[out->n].key = strndup(pair, (size_t)(eq - pair));
		kv[out->n].value = strndup(eq + 1, len - (size_t)(eq - pair) - 1);
		out->n++;
		if (!kv[out->n - 1].key || !kv[out->n - 1].value) {
			cni_err_oom(err);
			goto fail;
		}
		if (strcmp(kv[out->n - 1].key, "IgnoreUnknown") == 0 &&
		    parse_bool_text(kv[out->n - 1].value, &out->ignore_unknown) < 0) {
			cni_err_set(err, CNI_ERR_INVALID_ENV,
				    "ARGS: error parsing value of pair \"%.*s\": boolean unmarshal "
				    "error: invalid input %s",
				    (int)len, pair, kv[out->n - 1].value);
			goto fail;
		}
		if (!end)
			break;
	}
	return 0;
fail:
	cni_args_free(out);
	return -1;
}

int cni_args_check_known(const struct cni_args *args, const char *const *known, struct cni_err *err)
{
	size_t unknown = 0, len = 0;
	char *list, *p;

	if (args->ignore_unknown)
		return 0;
	for (size_t i = 0; i < args->n; i++) {
		bool found = strcmp(args->kv[i].key, "IgnoreUnknown") == 0;

		for (const char *const *k = known; !found && k && *k; k++)
			found = strcmp(args->kv[i].key, *k) == 0;
		if (!found) {
			unknown++;
			len += strlen(args->kv[i].key) + strlen(args->kv[i].value) + 4;
		}
	}
	if (!unknown)
		return 0;
	list = p = malloc(len + 1);
	if (!list)
		return cni_err_oom(err);
	*p = '\0';
	for (size_t i = 0; i < args->n; i++) {
		bool found = strcmp(args->kv[i].key, "IgnoreUnknown") == 0;

		for (const char *const *k = known; !found && k && *k; k++)
			found = strcmp(args->kv[i].key, *k) == 0;
		if (!found)
			p += sprintf(p, "%s\"%s=%s\"", p == list ? "" : " ", args->kv[i].key,
				     args->kv[i].value);
	}
	cni_err_set(err, CNI_ERR_INVALID_ENV, "ARGS: unknown args [%s]", list);
	free(list);
	return -1;
}

const char *cni_args_get(const struct cni_args *args, const char *key)
{
	for (size_t i = 0; i < args->n; i++)
		if (strcmp(args->kv[i].key, key) == 0)
			return args->kv[i].value;
	return NULL;
}

void cni_args_free(struct cni_args *args)
{
	for (size_t i = 0; i < args->n; i++) {
		free(args->kv[i].key);
		free(args->kv[i].value);
	}
	free(args->kv);
	memset(args, 0, sizeof(*args));
}

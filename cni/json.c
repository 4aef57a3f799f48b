/* cni/json.c: Go-compatible JSON printing and typed field access over cJSON.
 * Follows Go encoding/json (map keys sorted, HTMLEscape, float64 'f'/'e' choice) as libcni uses it. */
#include "cni/json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/buf.h"

/* Appends; a failure sticks in the buffer and is seen once printing ends. */
static void sb_put(struct cni_buf *b, const char *s, size_t n)
{
	if (cni_buf_add(b, s, n) < 0)
		return;
}

static void sb_str(struct cni_buf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 when invalid (Go then writes \ufffd). */
static size_t utf8_valid_len(const unsigned char *s, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid in Go too */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

size_t cni_utf8_len(const char *s)
{
	uint32_t cp;

	return utf8_valid_len((const unsigned char *)s, &cp);
}

static void put_string(struct cni_buf *b, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	sb_put(b, "\"", 1);
	while (*s) {
		uint32_t cp;
		size_t n = utf8_valid_len(s, &cp);
		char esc[8];

		if (n == 0) {
			sb_str(b, "\\ufffd");
			s++;
			continue;
		}
		if (n > 1) {
			if (cp == 0x2028 || cp == 0x2029)
				sb_str(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
			else
				sb_put(b, (const char *)s, n);
			s += n;
			continue;
		}
		switch (*s) {
		case '"':
			sb_str(b, "\\\"");
			break;
		case '\\':
			sb_str(b, "\\\\");
			break;
		case '\n':
			sb_str(b, "\\n");
			break;
		case '\r':
			sb_str(b, "\\r");
			break;
		case '\t':
			sb_str(b, "\\t");
			break;
		case '\b':
			sb_str(b, "\\b");
			break;
		case '\f':
			sb_str(b, "\\f");
			break;
		case '<':
		case '>':
		case '&':
			goto unicode;
		default:
			if (*s < 0x20)
				goto unicode;
			sb_put(b, (const char *)s, 1);
		}
		s++;
		continue;
	unicode:
		snprintf(esc, sizeof(esc), "\\u00%c%c", hex[*s >> 4], hex[*s & 0xf]);
		sb_str(b, esc);
		s++;
	}
	sb_put(b, "\"", 1);
}

/* strconv.AppendFloat(f, 'f' or 'e', -1, 64) as json.Marshal chooses. */
static void put_number(struct cni_buf *b, double f)
{
	char digits[40], out[400], *e;
	int prec, exp, nd, i;
	double a = fabs(f);
	size_t o = 0;

	if (!isfinite(f)) { /* Go refuses these; cJSON never produces them from text */
		sb_str(b, "null");
		return;
	}
	if (f == 0) {
		sb_str(b, signbit(f) ? "-0" : "0");
		return;
	}
	/* shortest %.Ne that reads back as the same double */
	for (prec = 0; prec < 17; prec++) {
		snprintf(digits, sizeof(digits), "%.*e", prec, a);
		if (strtod(digits, NULL) == a)
			break;
	}
	e = strchr(digits, 'e');
	exp = atoi(e + 1);
	*e = '\0';
	/* digits now "d.ddd" or "d": squeeze out the point */
	nd = 0;
	for (i = 0; digits[i]; i++)
		if (digits[i] != '.')
			digits[nd++] = digits[i];
	digits[nd] = '\0';
	if (f < 0)
		out[o++] = '-';
	if (a < 1e-6 || a >= 1e21) {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, (size_t)nd - 1);
			o += (size_t)nd - 1;
		}
		/* Go pads the exponent to two digits and json trims e-07 back to e-7; positive
		 * exponents here are always >= 21. */
		o += (size_t)snprintf(out + o, sizeof(out) - o, "e%c%d", exp < 0 ? '-' : '+',
				      exp < 0 ? -exp : exp);
	} else if (exp >= 0) {
		for (i = 0; i <= exp || i < nd; i++) {
			if (i == exp + 1)
				out[o++] = '.';
			out[o++] = i < nd ? digits[i] : '0';
		}
	} else {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < -exp - 1; i++)
			out[o++] = '0';
		memcpy(out + o, digits, (size_t)nd);
		o += (size_t)nd;
	}
	sb_put(b, out, o);
}

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* depth is the object depth: the top-level conf is 0. */
static void put_value(struct cni_buf *b, const cJSON *it, bool sort, bool conf_mode, int depth)
{
	const cJSON *c;

	switch (it->type & 0xff) {
	case cJSON_NULL:
	case cJSON_Invalid:
		sb_str(b, "null");
		return;
	case cJSON_False:
		sb_str(b, "false");
		return;
	case cJSON_True:
		sb_str(b, "true");
		return;
	case cJSON_Number:
		put_number(b, it->valuedouble);
		return;
	case cJSON_String:
		put_string(b, it->valuestring ? it->valuestring : "");
		return;
	case cJSON_Raw:
		sb_str(b, it->valuestring ? it->valuestring : "null");
		return;
	case cJSON_Array:
		sb_put(b, "[", 1);
		for (c = it->child; c; c = c->next) {
			put_value(b, c, sort, false, depth + 1);
			if (c->next)
				sb_put(b, ",", 1);
		}
		sb_put(b, "]", 1);
		return;
	case cJSON_Object: {
		size_t n = 0, i;
		const cJSON **kids;

		for (c = it->child; c; c = c->next)
			n++;
		kids = malloc((n ? n : 1) * sizeof(*kids));
		if (!kids) {
			b->status = -ENOMEM;
			return;
		}
		for (i = 0, c = it->child; c; c = c->next)
			kids[i++] = c;
		if (sort)
			qsort(kids, n, sizeof(*kids), key_cmp);
		sb_put(b, "{", 1);
		for (i = 0; i < n; i++) {
			bool keep = conf_mode && depth == 0 && kids[i]->string &&
				    strcmp(kids[i]->string, "prevResult") == 0;

			if (i)
				sb_put(b, ",", 1);
			put_string(b, kids[i]->string ? kids[i]->string : "");
			sb_put(b, ":", 1);
			put_value(b, kids[i], keep ? false : sort, false, depth + 1);
		}
		sb_put(b, "}", 1);
		free(kids);
		return;
	}
	default:
		sb_str(b, "null");
	}
}

char *cni_json_print_go(const cJSON *item, bool sort_keys)
{
	struct cni_buf b;

	cni_buf_init(&b, SIZE_MAX, false);
	put_value(&b, item, sort_keys, false, 0);
	return cni_buf_take(&b, NULL);
}

char *cni_json_print_conf(const cJSON *conf)
{
	struct cni_buf b;

	cni_buf_init(&b, SIZE_MAX, false);
	put_value(&b, conf, true, true, 0);
	return cni_buf_take(&b, NULL);
}

/* s with every byte that starts no valid UTF-8 sequence replaced by U+FFFD, as Go's
 * encoding/json does; NULL when s is valid already (or out of memory: *oom set). */
static char *utf8_repaired(const char *str, bool *oom)
{
	const unsigned char *s = (const unsigned char *)str;
	struct cni_buf b;
	bool bad = false;
	uint32_t cp;

	for (const unsigned char *p = s; *p;) {
		size_t n = utf8_valid_len(p, &cp);

		if (n == 0) {
			bad = true;
			break;
		}
		p += n;
	}
	if (!bad)
		return NULL;
	cni_buf_init(&b, SIZE_MAX, false);
	while (*s) {
		size_t n = utf8_valid_len(s, &cp);

		if (n == 0) {
			sb_str(&b, "\xef\xbf\xbd");
			s++;
		} else {
			sb_put(&b, (const char *)s, n);
			s += n;
		}
	}
	str = cni_buf_take(&b, NULL);
	*oom = !str;
	return (char *)str;
}

/* Repairs every string and key of the tree in place. Returns 0 or -1 out of memory. */
static int utf8_repair_tree(cJSON *it)
{
	for (; it; it = it->next) {
		bool oom = false;
		char *fixed;

		if (it->string && !(it->type & cJSON_StringIsConst) &&
		    (fixed = utf8_repaired(it->string, &oom))) {
			cJSON_free(it->string);
			it->string = fixed;
		}
		if (cJSON_IsString(it) && it->valuestring &&
		    (fixed = utf8_repaired(it->valuestring, &oom))) {
			cJSON_free(it->valuestring);
			it->valuestring = fixed;
		}
		if (oom || (it->child && utf8_repair_tree(it->child) < 0))
			return -1;
	}
	return 0;
}

char *cni_json_print_utf8(const cJSON *item, bool formatted)
{
	cJSON *copy = cJSON_Duplicate(item, true);
	char *out = NULL;

	if (copy && utf8_repair_tree(copy) == 0)
		out = formatted ? cJSON_Print(copy) : cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	return out;
}

cJSON *cni_json_parse(const char *data, size_t len, const char *what, struct cni_err *err)
{
	const char *end = NULL;
	cJSON *root;

	if (!data || len == 0) {
		cni_err_set(err, CNI_ERR_DECODE, "%s: empty input, expected JSON", what);
		return NULL;
	}
	if (memchr(data, '\0', len)) {
		cni_err_set(err, CNI_ERR_DECODE, "%s: NUL byte in JSON input", what);
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(data, len, &end, false);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		size_t off = at && at >= data && at <= data + len ? (size_t)(at - data) : 0;

		cni_err_set(err, CNI_ERR_DECODE, "%s: invalid JSON at byte %zu", what, off);
		return NULL;
	}
	/* trailing garbage after the document (whitespace is fine) */
	while (end && end < data + len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end && end < data + len) {
		cJSON_Delete(root);
		cni_err_set(err, CNI_ERR_DECODE, "%s: invalid JSON at byte %zu: trailing data",
			    what, (size_t)(end - data));
		return NULL;
	}
	return root;
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	return cJSON_IsNull(v) ? NULL : v;
}

static int wrong_type(const char *ctx, const char *key, const char *type, struct cni_err *err)
{
	return cni_err_set(err, CNI_ERR_INVALID_CONFIG, "%s%s\"%s\" must be %s", ctx ? ctx : "",
			   ctx ? ": " : "", key, type);
}

int cni_json_get_string(const cJSON *obj, const char *key, const char **out, const char *ctx,
			struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return wrong_type(ctx, key, "a string", err);
	*out = v->valuestring;
	return 0;
}

int cni_json_get_bool(const cJSON *obj, const char *key, bool *out, const char *ctx,
		      struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (!v)
		return 0;
	if (cJSON_IsBool(v)) {
		*out = cJSON_IsTrue(v);
		return 0;
	}
	if (cJSON_IsString(v) &&
	    (strcmp(v->valuestring, "true") == 0 || strcmp(v->valuestring, "false") == 0)) {
		*out = strcmp(v->valuestring, "true") == 0;
		return 0;
	}
	return wrong_type(ctx, key, "a boolean", err);
}

int cni_json_get_object(const cJSON *obj, const char *key, const cJSON **out, const char *ctx,
			struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return wrong_type(ctx, key, "an object", err);
	*out = v;
	return 0;
}

int cni_json_get_array(const cJSON *obj, const char *key, const cJSON **out, const char *ctx,
		       struct cni_err *err)
{
	const cJSON *v = field(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return wrong_type(ctx, key, "an array", err);
	*out = v;
	return 0;
}

int cni_json_add_opt_string(cJSON *obj, const char *key, const char *value)
{
	if (!value)
		return 0;
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -1;
}

int cni_json_set(cJSON *obj, const char *key, cJSON *item)
{
	cJSON_bool ok;

	if (!item)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		ok = cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		ok = cJSON_AddItemToObject(obj, key, item);
	if (!ok)
		cJSON_Delete(item);
	return ok ? 0 : -1;
}

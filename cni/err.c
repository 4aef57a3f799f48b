/* cni/err.c: the error type that travels up the stack.
 * Follows CNI SPEC.md, Section 5 'Error': code, msg, optional details; printed only by cni/skel. */
#include "cni/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

CNI_PRINTF(1, 0) static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int cni_err_set(struct cni_err *err, unsigned code, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!err)
		return -1;
	va_start(ap, fmt);
	msg = vfmt(fmt, ap);
	va_end(ap);
	cni_err_clear(err);
	err->code = code;
	err->msg = msg ? msg : strdup("out of memory");
	return -1;
}

int cni_err_details(struct cni_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	free(err->details);
	err->details = vfmt(fmt, ap);
	va_end(ap);
	return -1;
}

int cni_err_prefix(struct cni_err *err, const char *fmt, ...)
{
	va_list ap;
	char *prefix, *msg = NULL;

	if (!err)
		return -1;
	va_start(ap, fmt);
	prefix = vfmt(fmt, ap);
	va_end(ap);
	if (prefix && asprintf(&msg, "%s: %s", prefix, err->msg ? err->msg : "") >= 0) {
		free(err->msg);
		err->msg = msg;
	}
	free(prefix);
	return -1;
}

void cni_err_move(struct cni_err *dst, struct cni_err *src)
{
	cni_err_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void cni_err_clear(struct cni_err *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err->details);
	memset(err, 0, sizeof(*err));
}

cJSON *cni_err_to_json(const struct cni_err *err, const char *cni_version)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (cni_version && *cni_version)
		cJSON_AddStringToObject(o, "cniVersion", cni_version);
	cJSON_AddNumberToObject(o, "code", err->code);
	cJSON_AddStringToObject(o, "msg", err->msg ? err->msg : "");
	if (err->details && *err->details)
		cJSON_AddStringToObject(o, "details", err->details);
	return o;
}

int cni_err_from_json(const char *text, struct cni_err *err)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	const cJSON *code, *msg, *details;
	int ret = -1;

	if (!cJSON_IsObject(o))
		goto out;
	code = cJSON_GetObjectItemCaseSensitive(o, "code");
	msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
	details = cJSON_GetObjectItemCaseSensitive(o, "details");
	if (!cJSON_IsNumber(code) || code->valuedouble < 0)
		goto out;
	cni_err_set(err, (unsigned)code->valuedouble, "%s",
		    cJSON_IsString(msg) ? msg->valuestring : "");
	if (cJSON_IsString(details) && *details->valuestring)
		cni_err_details(err, "%s", details->valuestring);
	ret = 0;
out:
	cJSON_Delete(o);
	return ret;
}

void cni_err_join(struct cni_err *err, struct cni_err *one, const char *sep)
{
	char *joined = NULL;

	if (!cni_err_isset(err)) {
		cni_err_move(err, one);
		return;
	}
	if (asprintf(&joined, "%s%s%s", err->msg, sep, one->msg ? one->msg : "") >= 0) {
		free(err->msg);
		err->msg = joined;
	}
	cni_err_clear(one);
}

int cni_err_oom(struct cni_err *err)
{
	return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
}

char *cni_quote(const char *s, size_t max)
{
	static const char ctl[] = "\a\b\f\n\r\t\v";
	static const char letter[] = "abfnrtv";
	size_t n = strlen(s), lim = max && n > max ? max : n;
	char *out = malloc(lim * 4 + sizeof("\"\"...")), *p = out;

	if (!out)
		return NULL;
	*p++ = '"';
	for (size_t i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *e = ch ? strchr(ctl, ch) : NULL;

		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = (char)ch;
		} else if (e) {
			*p++ = '\\';
			*p++ = letter[e - ctl];
		} else if (ch < 0x20 || ch == 0x7f) {
			p += sprintf(p, "\\x%02x", ch);
		} else {
			*p++ = (char)ch;
		}
	}
	*p++ = '"';
	if (lim < n)
		p = stpcpy(p, "...");
	*p = '\0';
	return out;
}

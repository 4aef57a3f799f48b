/* k8s/watch.c: WATCH framing and event decoding (see k8s/watch.h).
 * Follows apimachinery's WatchEvent: {"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object"}. */
#include "k8s/watch.h"

#include <errno.h>
#include <string.h>

static const char *const type_names[] = {
	[K8S_WATCH_ADDED] = "ADDED",	 [K8S_WATCH_MODIFIED] = "MODIFIED",
	[K8S_WATCH_DELETED] = "DELETED", [K8S_WATCH_BOOKMARK] = "BOOKMARK",
	[K8S_WATCH_ERROR] = "ERROR",
};

const char *k8s_watch_type_name(enum k8s_watch_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

static const char *meta_string(const cJSON *obj, const char *field)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, field);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void k8s_watch_event_clear(struct k8s_watch_event *ev)
{
	cJSON_Delete(ev->object);
	memset(ev, 0, sizeof(*ev));
}

int k8s_watch_decode(const char *line, size_t n, struct k8s_watch_event *ev, struct cni_err *err)
{
	cJSON *root;
	const cJSON *type, *code, *msg;
	const char *what = NULL;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	root = cJSON_ParseWithLength(line, n);
	if (!root)
		return cni_err_set(err, CNI_ERR_DECODE, "watch event: not JSON");
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	for (i = 0; cJSON_IsString(type) && i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(type->valuestring, type_names[i]) == 0)
			break;
	if (!cJSON_IsString(type))
		what = "no \"type\"";
	else if (i == sizeof(type_names) / sizeof(type_names[0]))
		what = "unknown type";
	ev->object = cJSON_DetachItemFromObjectCaseSensitive(root, "object");
	cJSON_Delete(root);
	if (what)
		goto bad;
	ev->type = (enum k8s_watch_type)i;
	if (!cJSON_IsObject(ev->object)) {
		what = "\"object\" is not an object";
		goto bad;
	}
	ev->rv = meta_string(ev->object, "resourceVersion");
	switch (ev->type) {
	case K8S_WATCH_ERROR:
		code = cJSON_GetObjectItemCaseSensitive(ev->object, "code");
		msg = cJSON_GetObjectItemCaseSensitive(ev->object, "message");
		if (cJSON_IsNumber(code) && code->valuedouble >= 0 && code->valuedouble < 1000)
			ev->code = (int)code->valuedouble;
		ev->message = cJSON_IsString(msg) ? msg->valuestring : NULL;
		break;
	case K8S_WATCH_BOOKMARK:
		if (!ev->rv)
			what = "BOOKMARK without metadata.resourceVersion";
		break;
	default:
		if (!ev->rv || !meta_string(ev->object, "name"))
			what = "object without metadata.name and metadata.resourceVersion";
		break;
	}
	if (!what)
		return 0;
bad:
	k8s_watch_event_clear(ev);
	return cni_err_set(err, CNI_ERR_DECODE, "watch event: %s", what);
}

void k8s_watch_lines_init(struct k8s_watch_lines *l, size_t max)
{
	l->max = max ? max : K8S_WATCH_EVENT_MAX;
	cni_buf_init(&l->line, l->max, false);
}

void k8s_watch_lines_free(struct k8s_watch_lines *l)
{
	cni_buf_free(&l->line);
}

bool k8s_watch_lines_pending(const struct k8s_watch_lines *l)
{
	return l->line.len > 0;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

int k8s_watch_lines_feed(struct k8s_watch_lines *l, const char *data, size_t n,
			 k8s_watch_line_fn on_line, void *arg)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int ret = 0;

		if (cni_buf_add(&l->line, data, take) < 0)
			return l->line.status;
		data += take;
		n -= take;
		if (!nl)
			break;
		data++, n--;
		if (!blank(l->line.data, l->line.len))
			ret = on_line(l->line.data, l->line.len, arg);
		l->line.len = 0;
		l->line.data[0] = '\0';
		if (ret)
			return ret;
	}
	return 0;
}

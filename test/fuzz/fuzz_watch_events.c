/* test/fuzz/fuzz_watch_events.c: libFuzzer harness: a WATCH body as the API server streams it.
 * The first byte sets how the rest is cut into the pieces libcurl would hand over (1 + byte % 64
 * bytes each) and the line cap (256 << (byte % 4)); the rest goes through k8s_watch_lines_feed,
 * each line through k8s_watch_decode, and each decoded object into a pod store and a NAD store.
 * Invariants: no line handed over is longer than the cap or holds a LF; a decoded event has a
 * known type and an object, a resourceVersion for all but ERROR and a name for ADDED, MODIFIED
 * and DELETED; an object the store accepts is then found under its namespace and name with the
 * same resourceVersion, and a DELETED event removes it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/store.h"
#include "k8s/watch.h"

struct ctx {
	struct k8s_store *pods, *nads;
	size_t max;
};

static void check_put(struct k8s_store *s, const cJSON *obj, enum k8s_watch_type t)
{
	struct cni_err err = { 0 };
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "namespace"));
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
	const char *rv =
	    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "resourceVersion"));

	if (t == K8S_WATCH_DELETED) {
		if (ns && name) {
			k8s_store_delete(s, ns, name);
			if (k8s_store_wait_change(s, ns, name, NULL, 0) != -ETIMEDOUT)
				abort();
		}
		return;
	}
	if (k8s_store_put(s, obj, &err) < 0) {
		if (!err.msg)
			abort();
		cni_err_clear(&err);
		return;
	}
	if (k8s_store_kind(s) == K8S_KIND_POD) {
		struct k8s_pod *p = k8s_store_get_pod(s, ns, name);

		if (!p || strcmp(p->resource_version, rv) != 0 || !p->uid || !p->node)
			abort();
		free(p);
	} else {
		struct k8s_nad *n = k8s_store_get_nad(s, ns, name);

		if (!n || strcmp(n->resource_version, rv) != 0 ||
		    (n->config && strlen(n->config) != n->config_len))
			abort();
		free(n);
	}
}

static int on_line(const char *line, size_t n, void *arg)
{
	struct ctx *c = arg;
	struct k8s_watch_event ev;
	struct cni_err err = { 0 };

	if (n > c->max || memchr(line, '\n', n))
		abort();
	if (k8s_watch_decode(line, n, &ev, &err) < 0) {
		if (!err.msg || ev.object)
			abort();
		cni_err_clear(&err);
		return 0;
	}
	if (!cJSON_IsObject(ev.object) || strcmp(k8s_watch_type_name(ev.type), "?") == 0)
		abort();
	if (ev.type != K8S_WATCH_ERROR && !ev.rv)
		abort();
	if (ev.type <= K8S_WATCH_DELETED) {
		check_put(c->pods, ev.object, ev.type);
		check_put(c->nads, ev.object, ev.type);
	}
	k8s_watch_event_clear(&ev);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	struct k8s_watch_lines l;
	struct ctx c;
	size_t piece;

	if (size < 1)
		return 0;
	piece = 1 + data[0] % 64;
	c.max = (size_t)256 << (data[0] % 4);
	c.pods = k8s_store_new(K8S_KIND_POD, &err);
	c.nads = k8s_store_new(K8S_KIND_NAD, &err);
	if (!c.pods || !c.nads)
		abort();
	k8s_watch_lines_init(&l, c.max);
	for (size_t off = 1; off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;

		if (k8s_watch_lines_feed(&l, (const char *)data + off, n, on_line, &c) != 0)
			break; /* a line past the cap: the reflector restarts the watch */
	}
	k8s_watch_lines_free(&l);
	k8s_store_free(c.pods);
	k8s_store_free(c.nads);
	return 0;
}

/* k8s/watch.h: the body of a Kubernetes WATCH: one JSON event per line, {"type", "object"}, as
 * kube-apiserver streams it (apimachinery pkg/apis/meta/v1 WatchEvent; client-go's
 * StreamWatcher decodes the same frames). Framing and decoding only; no I/O. */
#ifndef PLEXUS_K8S_WATCH_H
#define PLEXUS_K8S_WATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/buf.h"
#include "cni/err.h"

#define K8S_WATCH_EVENT_MAX (4u << 20) /* the default cap of one event line */

enum k8s_watch_type {
	K8S_WATCH_ADDED,
	K8S_WATCH_MODIFIED,
	K8S_WATCH_DELETED,
	K8S_WATCH_BOOKMARK,
	K8S_WATCH_ERROR,
};

/* One decoded event. object is owned (cJSON_Delete, or k8s_watch_event_clear). rv is the
 * object's metadata.resourceVersion (borrowed from object; NULL when absent). For ERROR,
 * code and message come from the Status object (code 0 and NULL when it has none). */
struct k8s_watch_event {
	enum k8s_watch_type type;
	cJSON *object;
	const char *rv;
	int code;
	const char *message;
};

/* Decodes one event line (n bytes, trailing blanks and CR allowed). The object must be a JSON
 * object; ADDED, MODIFIED and DELETED need metadata.name and metadata.resourceVersion as
 * strings, BOOKMARK metadata.resourceVersion. Returns 0, or -1 with code 6:
 * "watch event: <what is wrong>". ev is zeroed on failure. */
CNI_MUST_CHECK int k8s_watch_decode(const char *line, size_t n, struct k8s_watch_event *ev,
				    struct cni_err *err);

void k8s_watch_event_clear(struct k8s_watch_event *ev);

/* "ADDED", "MODIFIED", ... */
const char *k8s_watch_type_name(enum k8s_watch_type t);

/* Splits a byte stream into lines (LF-terminated; blank lines skipped), each at most max bytes.
 * Caller-owned; k8s_watch_lines_init, then k8s_watch_lines_free. */
struct k8s_watch_lines {
	struct cni_buf line;
	size_t max;
};

void k8s_watch_lines_init(struct k8s_watch_lines *l, size_t max);
void k8s_watch_lines_free(struct k8s_watch_lines *l);

/* Called for each complete line (without its LF); a nonzero return stops the feed and is
 * returned by it. */
typedef int (*k8s_watch_line_fn)(const char *line, size_t n, void *arg);

/* Feeds n bytes; calls on_line for every line they complete. Returns 0; what on_line returned
 * when nonzero; -EFBIG when a line grows past max (the stream is unusable after it: restart
 * the watch); -ENOMEM. */
CNI_MUST_CHECK int k8s_watch_lines_feed(struct k8s_watch_lines *l, const char *data, size_t n,
					k8s_watch_line_fn on_line, void *arg);

/* True when a partial line is pending (a stream that ends here was cut). */
bool k8s_watch_lines_pending(const struct k8s_watch_lines *l);

#endif

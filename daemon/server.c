/* daemon/server.c: the unix socket, the routes of Multus's daemon API and the way from a /cni
 * body to the meta-plugin core and back. Follows Multus pkg/server/server.go (HandleCNIRequest,
 * the 400 on failure, {"Result": ...} on ADD) and pkg/server/api/socket.go (the socket file). */
#include "daemon/server.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cni/buf.h"
#include "cni/file.h"
#include "cni/log.h"
#include "cni/skel.h"
#include "daemon/metrics.h"
#include "daemon/request.h"
#include "meta/hotplug.h"
#include "meta/plugin.h"

/* Multus's daemon answers ADD with a CNI 1.0.0 result; its shim converts it. */
#define REPLY_VERSION "1.0.0"

enum route { R_CNI, R_DELEGATE, R_HEALTHZ, R_READYZ, R_NOT_FOUND, R_BAD_METHOD };

struct conn {
	enum route route;
	const char *handler; /* multus_server_request_total's handler label */
	char method[16];     /* and its method label: lower-case */
	struct cni_buf body;
	bool too_big;
	bool counted;		/* in s->answering until libmicrohttpd says the reply went out */
	struct cni_later later; /* what the core left for after the reply (cni/skel.h) */
};

int pxd_socket_listen(const char *path, struct cni_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *tmp = NULL, *dir_copy = strdup(path);
	const char *dir;
	mode_t old;
	int fd = -1;

	if (!dir_copy)
		return cni_err_oom(err);
	dir = dirname(dir_copy);
	if (cni_mkdir_p(dir, 0700, err) < 0)
		goto fail;
	/* root only, even when the directory was there before us (never emptied, though) */
	if (chmod(dir, 0700) < 0) {
		cni_err_set(err, CNI_ERR_IO, "socket directory %s: chmod: %s", dir,
			    strerror(errno));
		goto fail;
	}
	if (asprintf(&tmp, "%s/.plexusd.%ld.tmp", dir, (long)getpid()) < 0) {
		tmp = NULL;
		cni_err_oom(err);
		goto fail;
	}
	if (strlen(tmp) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(sa.sun_path)) {
		cni_err_set(err, CNI_ERR_INVALID_CONFIG, "socket path %s: longer than %zu bytes",
			    path, sizeof(sa.sun_path) - 1);
		goto fail;
	}
	memcpy(sa.sun_path, tmp, strlen(tmp) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		cni_err_set(err, CNI_ERR_IO, "socket: %s", strerror(errno));
		goto fail;
	}
	unlink(tmp);
	/* startup is single-threaded: the umask keeps the socket private from its first moment */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		cni_err_set(err, CNI_ERR_IO, "bind %s: %s", tmp, strerror(errno));
		goto fail;
	}
	umask(old);
	if (chmod(tmp, 0600) < 0 || listen(fd, SOMAXCONN) < 0 || rename(tmp, path) < 0) {
		cni_err_set(err, CNI_ERR_IO, "socket %s: %s", path, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	free(dir_copy);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir_copy);
	return -1;
}

/* Every answer on the socket goes through here and is counted as Multus's promhttp counter
 * counts it, when it is queued (before the client can read it). */
static enum MHD_Result reply(struct MHD_Connection *c, const struct conn *st, unsigned status,
			     const char *body, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    body ? strlen(body) : 0, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	pxd_metrics_request(st->handler, (int)status, st->method);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A CNI error object {"code","msg","details"}: what the shim passes through to the runtime;
 * 400, as Multus's daemon answers a failed request, or 503 when the daemon is not ready. */
static enum MHD_Result reply_error(struct MHD_Connection *c, const struct conn *st, unsigned status,
				   const struct cni_err *err)
{
	cJSON *o = cni_err_to_json(err, NULL);
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	enum MHD_Result ret;

	cJSON_Delete(o);
	ret = reply(c, st, status, s ? s : "{\"code\":999,\"msg\":\"out of memory\"}",
		    "application/json");
	free(s);
	return ret;
}

static bool verb_is_del(const char *cmd)
{
	return cmd && strcmp(cmd, "DEL") == 0;
}

/* One /cni request through the queue and the core: what Multus's HandleCNIRequest does. */
static void queue_metrics(struct pxd_server *s)
{
	int waiting, inflight;

	pxd_queue_depth(&s->queue, &waiting, &inflight);
	pxd_metrics_queue(waiting, inflight);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One /cni request (meta_plugin: the pod's ADD, DEL...) or /delegate request
 * (meta_delegate_plugin: one network hot-plugged), through the queue and the core. */
static enum MHD_Result serve_cni(struct pxd_server *s, struct MHD_Connection *c, struct conn *st,
				 const char *body, size_t len, bool delegate)
{
	struct timespec t0;
	struct pxd_request req;
	struct cni_err err = { 0 };
	char *conf = NULL, *json = NULL, *wrapped = NULL, *netconf = NULL;
	size_t conf_len = 0, netconf_len;
	enum MHD_Result ret;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pxd_request_parse(body, len, &req, &err) < 0) {
		log_error("%s: %s", delegate ? "/delegate" : "/cni", err.msg);
		ret = reply_error(c, st, MHD_HTTP_BAD_REQUEST, &err);
		cni_err_clear(&err);
		return ret;
	}
	netconf = req.config;
	netconf_len = req.config_len;
	if (delegate && !(netconf = pxd_delegate_netconf(&req, &netconf_len, &err)))
		goto out;
	conf = pxd_config_overlay(s->cfg, netconf, netconf_len, &conf_len, &err);
	if (!conf)
		goto out;
	if (pxd_queue_enter(&s->queue, verb_is_del(req.command),
			    pxd_now_ms() + s->cfg->request_timeout_s * 1000L, &err) < 0)
		goto out;
	queue_metrics(s);
	rc = cni_skel_handle(delegate ? &meta_delegate_plugin : &meta_plugin,
			     (const char *const *)req.env, conf, conf_len, REPLY_VERSION,
			     &st->later, &json, &err);
	pxd_queue_leave(&s->queue);
	queue_metrics(s);
	/* the core names the pod in this thread's log prefix; the thread may serve another pod */
	cni_log_set_prefix(NULL);
	if (rc < 0)
		goto out;
out:
	if (cni_err_isset(&err)) {
		ret = reply_error(c, st, MHD_HTTP_BAD_REQUEST, &err);
	} else if (json && req.command && strcmp(req.command, "ADD") == 0) {
		if (asprintf(&wrapped, "{\"Result\":%s}", json) < 0)
			wrapped = NULL;
		ret = wrapped ? reply(c, st, MHD_HTTP_OK, wrapped, "application/json") : MHD_NO;
	} else {
		/* DEL, CHECK, GC, STATUS: an empty 200; VERSION: the document as is */
		ret = reply(c, st, MHD_HTTP_OK, json, json ? "application/json" : NULL);
	}
	/* every request that named its verb, refused by the queue or not */
	if (req.command)
		pxd_metrics_verb(req.command, seconds_since(&t0), !cni_err_isset(&err));
	free(wrapped);
	free(json);
	free(conf);
	if (netconf != req.config)
		free(netconf);
	pxd_request_free(&req);
	cni_err_clear(&err);
	return ret;
}

static enum route route_of(const char *url, const char *method)
{
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;

	if (strcmp(url, "/cni") == 0)
		return post ? R_CNI : R_BAD_METHOD;
	if (strcmp(url, "/delegate") == 0)
		return post ? R_DELEGATE : R_BAD_METHOD;
	if (strcmp(url, "/healthz") == 0)
		return get || post ? R_HEALTHZ : R_BAD_METHOD;
	if (strcmp(url, "/readyz") == 0)
		return get || post ? R_READYZ : R_BAD_METHOD;
	return R_NOT_FOUND;
}

/* Multus registers one promhttp counter per path and "NotFound" for the rest; a wrong method on
 * a known path is counted under that path. */
static const char *handler_of(const char *url)
{
	static const char *const known[] = { "/cni", "/delegate", "/healthz", "/readyz" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(url, known[i]) == 0)
			return known[i];
	return "NotFound";
}

static void lower_method(char *dst, size_t size, const char *method)
{
	size_t i = 0;

	for (; method[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)method[i]);
	dst[i] = '\0';
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct pxd_server *s = cls;
	struct conn *st = *con_cls;
	enum MHD_Result ret;
	char *body;
	size_t len = 0;

	(void)version;
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (!st)
			return MHD_NO;
		st->route = route_of(url, method);
		st->handler = handler_of(url);
		lower_method(st->method, sizeof(st->method), method);
		cni_buf_init(&st->body, PXD_BODY_MAX_BYTES, false);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* only /cni and /delegate keep their body; past the cap the rest is dropped */
		if ((st->route == R_CNI || st->route == R_DELEGATE) && !st->too_big &&
		    cni_buf_add(&st->body, upload_data, *upload_data_size) < 0) {
			st->too_big = true;
			cni_buf_free(&st->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (st->route) {
	case R_HEALTHZ:
		return reply(c, st, MHD_HTTP_OK, NULL, NULL);
	case R_READYZ:
		return reply(c, st,
			     atomic_load(&s->ready) ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR,
			     NULL, NULL);
	case R_NOT_FOUND:
		return reply(c, st, MHD_HTTP_NOT_FOUND, "404 page not found\n", "text/plain");
	case R_BAD_METHOD:
		return reply(c, st, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
			     "text/plain");
	default:
		break;
	}
	if (st->too_big) {
		struct cni_err err = { 0 };

		cni_err_set(&err, CNI_ERR_INVALID_CONFIG, "request: body larger than %u bytes",
			    PXD_BODY_MAX_BYTES);
		ret = reply_error(c, st, MHD_HTTP_BAD_REQUEST, &err);
		cni_err_clear(&err);
		return ret;
	}
	/* /cni waits for readiness (/readyz's 200): the shim sends it first and, on this 503, waits
	 * for /readyz as Multus's shim always does before it (one request per call, not two) */
	if (st->route == R_CNI && !atomic_load(&s->ready)) {
		struct cni_err err = { 0 };

		cni_err_set(
		    &err, CNI_ERR_TRY_AGAIN,
		    "plexusd is not ready: its caches have not synced yet, or it is shutting "
		    "down (/readyz answers 200 once it is ready)");
		ret = reply_error(c, st, MHD_HTTP_SERVICE_UNAVAILABLE, &err);
		cni_err_clear(&err);
		return ret;
	}
	body = cni_buf_take(&st->body, &len);
	if (!body)
		return MHD_NO;
	atomic_fetch_add(&s->answering, 1);
	st->counted = true;
	ret = serve_cni(s, c, st, body, len, st->route == R_DELEGATE);
	free(body);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct pxd_server *s = cls;
	struct conn *st = *con_cls;

	(void)c;
	(void)toe;
	if (st) {
		/* the reply is out (or the client gone): the ADD's bookkeeping, under its lock */
		cni_later_run(&st->later);
		if (st->counted)
			atomic_fetch_sub(&s->answering, 1);
		cni_buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

/* libmicrohttpd hands over its own printf-style messages */
CNI_PRINTF(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *msg = NULL;

	(void)cls;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	msg[strcspn(msg, "\n")] = '\0';
	log_verbose("http: %s", msg);
	free(msg);
}

int pxd_server_start(struct pxd_server *s, const struct pxd_config *cfg, struct cni_err *err)
{
	unsigned limit;
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->listen_fd = -1;
	atomic_store(&s->ready, false);
	atomic_store(&s->answering, 0);
	rc = pxd_queue_init(&s->queue, cfg->workers, cfg->queue_limit);
	if (rc < 0)
		return cni_err_set(err, CNI_ERR_IO, "queue: %s", strerror(-rc));
	s->listen_fd = pxd_socket_listen(cfg->socket_path, err);
	if (s->listen_fd < 0) {
		pxd_queue_destroy(&s->queue);
		return -1;
	}
	/* every worker and every waiting request, plus room for probes and refused ones */
	limit = (unsigned)cfg->workers + (unsigned)cfg->queue_limit + 64;
	s->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
				      MHD_USE_ERROR_LOG | MHD_USE_ITC,
				  0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				  MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				  MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned)PXD_CONN_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
				  completed, s, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(2u << 20),
				  MHD_OPTION_END);
	if (!s->mhd) {
		close(s->listen_fd);
		s->listen_fd = -1;
		pxd_queue_destroy(&s->queue);
		return cni_err_set(err, CNI_ERR_IO, "cannot serve on %s", cfg->socket_path);
	}
	return 0;
}

void pxd_server_set_ready(struct pxd_server *s, bool ready)
{
	atomic_store(&s->ready, ready);
}

bool pxd_server_drain(struct pxd_server *s, long timeout_ms)
{
	long deadline = pxd_now_ms() + timeout_ms;
	const struct timespec tick = { 0, 10 * 1000000L };

	atomic_store(&s->ready, false);
	pxd_queue_close(&s->queue);
	if (!pxd_queue_wait_idle(&s->queue, timeout_ms))
		return false;
	/* out of the core is not yet answered: the reply may still be on its way */
	while (atomic_load(&s->answering) > 0 && pxd_now_ms() < deadline)
		nanosleep(&tick, NULL);
	return atomic_load(&s->answering) == 0;
}

void pxd_server_stop(struct pxd_server *s)
{
	/* MHD closes the listening socket it was given */
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	s->listen_fd = -1;
	pxd_queue_destroy(&s->queue);
}

/* shim/main.c: bin/plexus-shim, the CNI plugin of thick mode: forwards each call to plexusd over
 * its unix socket. Follows Multus pkg/server/api/shim.go, but passes the daemon's error codes
 * through, never echoes the stdin config, asks /readyz only when /cni says the daemon is not
 * ready, and deletes from the plan on disk when the daemon is down. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cni/base64.h"
#include "cni/json.h"
#include "cni/log.h"
#include "cni/skel.h"
#include "shim/http.h"

extern char **environ;

#define CTX "plexus-shim netconf"
/* Multus pkg/server/api/api.go: the shim's default socket directory and socket name */
#define SHIM_DEFAULT_SOCKET_DIR "/run/multus/"
#define SHIM_SOCKET_NAME	"multus.sock"
#define SHIM_DEFAULT_BIN_DIR	"/opt/cni/bin"
/* Multus's shim waits 60 s for the daemon (WaitUntilAPIReady) */
#define SHIM_DEFAULT_READINESS_S 60
#define SHIM_POLL_MS		 100
#define SHIM_PROBE_MS		 1000
/* Multus's shim has no deadline on /cni at all; the daemon bounds each request itself
 * (requestTimeoutSeconds), this only stops a shim from waiting forever on a wedged socket */
#define SHIM_CNI_TIMEOUT_MS (10 * 60 * 1000)
/* the most of a daemon's unexpected reply that is quoted in an error */
#define SHIM_QUOTE_MAX 256

/* What the shim reads of its netconf; every other key is the daemon's. */
struct shim_conf {
	char *socket; /* owned */
	const char *bin_dir;
	int readiness_s;
};

static int get_seconds(const cJSON *conf, const char *key, int *out, struct cni_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble ||
	    v->valuedouble < 0 || v->valuedouble > 3600)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   CTX ": \"%s\" must be an integer from 0 to 3600", key);
	*out = (int)v->valuedouble;
	return 0;
}

static int conf_load(const struct cni_request *req, struct shim_conf *c, struct cni_err *err)
{
	const char *path = NULL, *dir = SHIM_DEFAULT_SOCKET_DIR, *log_file = NULL;
	const char *log_level = NULL;
	bool log_stderr = true;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->bin_dir = SHIM_DEFAULT_BIN_DIR;
	c->readiness_s = SHIM_DEFAULT_READINESS_S;
	if (cni_json_get_string(req->conf, "daemonSocketPath", &path, CTX, err) < 0 ||
	    cni_json_get_string(req->conf, "daemonSocketDir", &dir, CTX, err) < 0 ||
	    cni_json_get_string(req->conf, "binDir", &c->bin_dir, CTX, err) < 0 ||
	    cni_json_get_string(req->conf, "logFile", &log_file, CTX, err) < 0 ||
	    cni_json_get_string(req->conf, "logLevel", &log_level, CTX, err) < 0 ||
	    cni_json_get_bool(req->conf, "logToStderr", &log_stderr, CTX, err) < 0 ||
	    get_seconds(req->conf, "readinessTimeoutSeconds", &c->readiness_s, err) < 0)
		return -1;
	if (log_level && *log_level)
		cni_log_set_level_name(log_level);
	cni_log_set_stderr(log_stderr);
	if (log_file && *log_file && cni_log_set_file(log_file) < 0)
		log_error("cannot open log file %s", log_file);
	if (path && *path) {
		c->socket = strdup(path);
	} else {
		/* as Go's filepath.Join: one slash between, however many the dir ends with */
		n = strlen(dir);
		while (n > 1 && dir[n - 1] == '/')
			n--;
		if (asprintf(&c->socket, "%.*s/%s", (int)n, *dir ? dir : ".", SHIM_SOCKET_NAME) < 0)
			c->socket = NULL;
	}
	if (!c->bin_dir || !*c->bin_dir)
		c->bin_dir = SHIM_DEFAULT_BIN_DIR;
	return c->socket ? 0 : cni_err_oom(err);
}

/* Appends s to the body at *off as a JSON string, escaped by cJSON, without a tree: one string
 * item on the stack printed into the space left. */
static bool put_string(char *body, size_t cap, size_t *off, const char *s)
{
	cJSON item = { .type = cJSON_String | cJSON_IsReference, .valuestring = (char *)s };

	if (cap - *off > INT_MAX ||
	    !cJSON_PrintPreallocated(&item, body + *off, (int)(cap - *off), false))
		return false;
	*off += strlen(body + *off);
	return true;
}

/* Appends the literal text lit (room for it was counted in). */
static void put_text(char *body, size_t *off, const char *lit)
{
	size_t n = strlen(lit);

	memcpy(body + *off, lit, n + 1);
	*off += n;
}

/* Multus's request: {"env": {every variable, split at the first '='}, "config": base64(stdin)}.
 * Printed straight into one buffer sized for the worst case up front, from one copy of the
 * environment: the environment is the runtime's, dozens of variables, and a tree of them cost
 * this short-lived process more than the rest of its work (an allocation and a free for each,
 * and musl's allocator takes fresh pages, a page fault each, for each new size of block). */
static char *request_body(const struct cni_request *req, struct cni_err *err)
{
	size_t total = 0, nvars = 0, nnames = 0, off = 0, cap = 0;
	char *copy, *p, *config = NULL, *body = NULL;
	char **names = NULL;
	bool ok = true;

	for (char **e = environ; e && *e; e++, nvars++)
		total += strlen(*e) + 1;
	copy = malloc(total + 1);
	names = calloc(nvars + 1, sizeof(*names));
	if (copy && names)
		config = cni_base64_encode(req->stdin_data, req->stdin_len);
	/* the environment's every byte escaped as \u00XX at worst (base64 needs no escape), the
	 * quotes, colons, commas and braces */
	if (config)
		cap = 6 * total + 4 * nvars + strlen(config) + 64;
	if (cap)
		body = malloc(cap);
	if (!body)
		goto out;
	put_text(body, &off, "{\"env\":{");
	p = copy;
	for (char **e = environ; ok && e && *e; e++) {
		size_t len = strlen(*e);
		char *eq;
		bool seen = false;

		memcpy(p, *e, len + 1);
		eq = strchr(p, '=');
		if (eq) {
			*eq = '\0';
			/* a duplicate name: the first wins, as getenv() reads it */
			for (size_t i = 0; i < nnames && !seen; i++)
				seen = strcmp(names[i], p) == 0;
			if (!seen) {
				if (nnames)
					put_text(body, &off, ",");
				ok = put_string(body, cap, &off, p);
				if (ok)
					put_text(body, &off, ":");
				ok = ok && put_string(body, cap, &off, eq + 1);
				names[nnames++] = p;
			}
		}
		p += len + 1;
	}
	put_text(body, &off, "},\"config\":");
	if (!ok || !put_string(body, cap, &off, config)) {
		free(body);
		body = NULL;
		goto out;
	}
	put_text(body, &off, "}");
out:
	free(config);
	free(names);
	free(copy);
	if (!body)
		cni_err_oom(err);
	return body;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One GET /readyz: true on 200; otherwise why in *why (malloc'd). */
static bool probe_ready(const char *socket, int timeout_ms, char **why)
{
	struct shim_http_reply r;
	struct cni_err e = { 0 };
	bool ready = false;

	free(*why);
	*why = NULL;
	if (shim_http_request(socket, "GET", "/readyz", NULL, 0, timeout_ms, &r, &e) !=
	    SHIM_HTTP_OK) {
		*why = e.msg;
		e.msg = NULL;
	} else if (r.status == 200) {
		ready = true;
	} else if (asprintf(why, "/readyz answered HTTP %d", r.status) < 0) {
		*why = NULL;
	}
	shim_http_reply_free(&r);
	cni_err_clear(&e);
	return ready;
}

/* Waits (bounded by readinessTimeoutSeconds) until the daemon says it is ready. A daemon that
 * never comes is code 11: the runtime retries the call later. */
static int wait_ready(const struct shim_conf *c, struct cni_err *err)
{
	struct timespec start, now;
	char *why = NULL;
	long long waited;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited =
		    (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
		long long left = c->readiness_s * 1000LL - waited;

		if (probe_ready(c->socket,
				left > SHIM_PROBE_MS ? SHIM_PROBE_MS
				: left > 0	     ? (int)left
						     : SHIM_POLL_MS,
				&why)) {
			free(why);
			return 0;
		}
		if (left <= SHIM_POLL_MS)
			break;
		sleep_ms(SHIM_POLL_MS);
	}
	cni_err_set(err, CNI_ERR_TRY_AGAIN,
		    "plexus daemon at %s not ready after %d s (readinessTimeoutSeconds)", c->socket,
		    c->readiness_s);
	cni_err_details(err, "%s", why ? why : "unknown");
	free(why);
	return -1;
}

/* The daemon's answer made into the call's outcome: *result (ADD) or err. A 503 is plexusd's
 * "not ready", with a CNI error object as a 400 has. */
static int take_reply(const struct shim_conf *c, const struct shim_http_reply *r, cJSON **result,
		      struct cni_err *err)
{
	char *q;

	if (r->status == 200) {
		cJSON *body, *res;

		if (!result)
			return 0;
		body = cJSON_ParseWithLength(r->body, r->len);
		res = cJSON_DetachItemFromObjectCaseSensitive(body, "Result");
		cJSON_Delete(body);
		if (!cJSON_IsObject(res)) {
			cJSON_Delete(res);
			return cni_err_set(err, CNI_ERR_INTERNAL,
					   "plexus daemon at %s answered ADD without a \"Result\"",
					   c->socket);
		}
		/* the daemon answers in 1.0.0 (Multus pkg/server/api/types.go Response) */
		if (!cJSON_HasObjectItem(res, "cniVersion"))
			cJSON_AddStringToObject(res, "cniVersion", "1.0.0");
		*result = res;
		return 0;
	}
	/* the daemon's CNI error, code included (Multus's shim makes every one 999) */
	if ((r->status == 400 || r->status == 503) && cni_err_from_json(r->body, err) == 0 &&
	    err->msg && *err->msg)
		return -1;
	cni_err_clear(err);
	q = cni_quote(r->body, SHIM_QUOTE_MAX);
	cni_err_set(err, CNI_ERR_INTERNAL, "plexus daemon at %s answered HTTP %d", c->socket,
		    r->status);
	if (q && r->len)
		cni_err_details(err, "body %s", q);
	free(q);
	return -1;
}

/* POST /cni with body (request_body's): SHIM_HTTP_OK with the outcome in *result/err, or how
 * the request failed; *not_ready tells plexusd's 503 (caches not synced yet, or shutting down)
 * from other errors. */
static enum shim_http_fail forward(const char *body, const struct shim_conf *c, cJSON **result,
				   bool *not_ready, struct cni_err *err)
{
	struct shim_http_reply r;
	enum shim_http_fail f;

	*not_ready = false;
	f = shim_http_request(c->socket, "POST", "/cni", body, strlen(body), SHIM_CNI_TIMEOUT_MS,
			      &r, err);
	if (f == SHIM_HTTP_OK) {
		*not_ready = r.status == 503;
		if (take_reply(c, &r, result, err) < 0)
			f = SHIM_HTTP_PROTOCOL;
		shim_http_reply_free(&r);
		return f == SHIM_HTTP_OK ? SHIM_HTTP_OK : SHIM_HTTP_PROTOCOL;
	}
	return f;
}

/* /cni first: a daemon that serves answers at once. One that is not there yet (nothing listens)
 * or not ready (503) is waited for on /readyz, as Multus's shim waits before every request, and
 * asked again. */
static int run(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	struct shim_conf c;
	enum shim_http_fail f;
	bool not_ready;
	char *body = NULL;
	int ret = -1;

	if (conf_load(req, &c, err) < 0 || !(body = request_body(req, err)))
		goto out;
	f = forward(body, &c, result, &not_ready, err);
	if (f == SHIM_HTTP_CONNECT || not_ready) {
		cni_err_clear(err);
		if (wait_ready(&c, err) < 0)
			goto out;
		f = forward(body, &c, result, &not_ready, err);
	}
	ret = f == SHIM_HTTP_OK ? 0 : -1;
out:
	free(body);
	free(c.socket);
	return ret;
}

static int cmd_add(const struct cni_request *req, cJSON **result, struct cni_err *err)
{
	return run(req, result, err);
}

static int cmd_other(const struct cni_request *req, struct cni_err *err)
{
	return run(req, NULL, err);
}

/* The daemon is away: bin/plexus deletes from the durable plan (no API needed) under the same
 * per-container lock. It replaces this process, so its output and exit status are the DEL's. */
static int del_fallback(const struct cni_request *req, const struct shim_conf *c, const char *why,
			struct cni_err *err)
{
	char *path = NULL;
	int fd = -1;

	if (asprintf(&path, "%s/plexus", c->bin_dir) < 0)
		return cni_err_oom(err);
	log_error("DEL: plexus daemon at %s unreachable (%s): deleting through %s", c->socket, why,
		  path);
	/* the same stdin, from memory: a pipe could not hold a large config */
	fd = memfd_create("plexus-shim-stdin", MFD_CLOEXEC);
	if (fd < 0 || write(fd, req->stdin_data, req->stdin_len) != (ssize_t)req->stdin_len ||
	    lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, STDIN_FILENO) < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL,
			    "DEL: plexus daemon at %s unreachable (%s), and its stdin could not be "
			    "handed to %s: %s",
			    c->socket, why, path, strerror(errno));
		goto out;
	}
	fflush(stdout);
	execve(path, (char *[]){ "plexus", NULL }, environ);
	cni_err_set(err, CNI_ERR_INTERNAL,
		    "DEL: plexus daemon at %s unreachable (%s), and %s cannot run: %s", c->socket,
		    why, path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return -1;
}

/* DEL never leaks: a daemon that is not there, not ready, or drops the request mid-way leaves
 * the DEL to the plan on disk (Multus's shim reports success and leaves everything, #1084). */
static int cmd_del(const struct cni_request *req, struct cni_err *err)
{
	struct shim_conf c;
	enum shim_http_fail f;
	bool not_ready;
	char *why = NULL, *body = NULL;
	int ret = -1;

	if (conf_load(req, &c, err) < 0 || !(body = request_body(req, err)))
		goto out;
	f = forward(body, &c, NULL, &not_ready, err);
	if (f == SHIM_HTTP_CONNECT || f == SHIM_HTTP_TRANSPORT || not_ready) {
		why = err->msg;
		err->msg = NULL;
		cni_err_clear(err);
		ret = del_fallback(req, &c, why ? why : "no reply", err);
		goto out;
	}
	ret = f == SHIM_HTTP_OK ? 0 : -1;
out:
	free(body);
	free(why);
	free(c.socket);
	return ret;
}

static const struct cni_plugin shim_plugin = {
	.about = "plexus-shim: forwards CNI calls to the plexus node daemon (plexusd)",
	.versions = cni_versions,
	.nversions = 0, /* set in main: cni_nversions is not a constant expression */
	.add = cmd_add,
	.del = cmd_del,
	.check = cmd_other,
	.gc = cmd_other,
	.status = cmd_other,
};

int main(void)
{
	struct cni_plugin p = shim_plugin;
	int rc;

	p.nversions = cni_nversions;
	rc = cni_skel_run(&p, stdin, stdout);
	cni_log_close();
	return rc;
}

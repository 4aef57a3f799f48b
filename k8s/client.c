/* k8s/client.c: Kubernetes REST over libcurl, loaded with dlopen on the first request only.
 * Follows docs/DESIGN.md (libcurl costs ~3 ms and 6 MB per exec: only API paths pay for it). */
#include "k8s/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/buf.h"
#include "cni/json.h"
#include "cni/log.h"
#include "k8s/curl.h"

#define REPLY_MAX	   (16u << 20)
#define BACKOFF_CAP_MS	   1000
#define DEFAULT_ATTEMPT_MS 2500
#define DEFAULT_BUDGET_MS  5000
#define DEFAULT_ATTEMPTS   8
#define DEFAULT_BACKOFF_MS 100

struct k8s_client {
	char *server;
	char *ca, *cert, *key;
	size_t ca_len, cert_len, key_len;
	char *auth; /* "Authorization: Bearer <token>" or NULL; secret */
	bool insecure;
	struct k8s_client_opts opts;
	CURL *h; /* created on the first request, reused for every later one */
	char errbuf[CURL_ERROR_SIZE];
	pthread_mutex_t mu; /* multi and interrupted: k8s_client_interrupt comes from elsewhere */
	CURLM *multi;	    /* created on the first k8s_stream_get */
	bool interrupted;
};

struct reply {
	long status;
	struct cni_buf body; /* at most REPLY_MAX - 1 bytes */
	long retry_after_s;  /* -1 when absent */
};

bool k8s_client_curl_loaded(void)
{
	return k8s_curl_loaded();
}

static char *memdup(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

struct k8s_client *k8s_client_new(const struct k8s_creds *creds, const struct k8s_client_opts *opts,
				  struct cni_err *err)
{
	struct k8s_client *c = calloc(1, sizeof(*c));

	if (!c)
		goto oom;
	pthread_mutex_init(&c->mu, NULL);
	if (opts)
		c->opts = *opts;
	if (c->opts.attempt_timeout_ms <= 0)
		c->opts.attempt_timeout_ms = DEFAULT_ATTEMPT_MS;
	if (c->opts.budget_ms <= 0)
		c->opts.budget_ms = DEFAULT_BUDGET_MS;
	if (c->opts.max_attempts <= 0)
		c->opts.max_attempts = DEFAULT_ATTEMPTS;
	if (c->opts.backoff_ms <= 0)
		c->opts.backoff_ms = DEFAULT_BACKOFF_MS;
	c->insecure = creds->insecure;
	c->server = strdup(creds->server ? creds->server : "");
	if (!c->server)
		goto oom;
	if (creds->ca && !(c->ca = memdup(creds->ca, c->ca_len = creds->ca_len)))
		goto oom;
	if (creds->cert && !(c->cert = memdup(creds->cert, c->cert_len = creds->cert_len)))
		goto oom;
	if (creds->key && !(c->key = memdup(creds->key, c->key_len = creds->key_len)))
		goto oom;
	if (creds->token && asprintf(&c->auth, "Authorization: Bearer %s", creds->token) < 0) {
		c->auth = NULL;
		goto oom;
	}
	return c;
oom:
	k8s_client_free(c);
	cni_err_oom(err);
	return NULL;
}

static bool same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	return (!a && !b) || (a && b && alen == blen && memcmp(a, b, alen) == 0);
}

bool k8s_client_uses(const struct k8s_client *c, const struct k8s_creds *creds)
{
	static const char bearer[] = "Authorization: Bearer ";

	if (c->insecure != creds->insecure ||
	    strcmp(c->server, creds->server ? creds->server : "") != 0 ||
	    !same_bytes(c->ca, c->ca_len, creds->ca, creds->ca_len) ||
	    !same_bytes(c->cert, c->cert_len, creds->cert, creds->cert_len) ||
	    !same_bytes(c->key, c->key_len, creds->key, creds->key_len))
		return false;
	if (!c->auth || !creds->token)
		return !c->auth && !creds->token;
	return strcmp(c->auth + sizeof(bearer) - 1, creds->token) == 0;
}

void k8s_client_free(struct k8s_client *c)
{
	if (!c)
		return;
	if (c->h)
		k8s_curl.easy_cleanup(c->h);
	if (c->multi)
		k8s_curl.multi_cleanup(c->multi);
	pthread_mutex_destroy(&c->mu);
	free(c->server);
	free(c->ca);
	free(c->cert);
	cni_buf_free_data(c->key, c->key_len);
	if (c->auth)
		cni_buf_free_data(c->auth, strlen(c->auth));
	free(c);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct cni_buf *b = arg;
	size_t n = size * nmemb;

	return cni_buf_add(b, data, n) < 0 ? 0 : n;
}

/* Only Retry-After matters; a new status line (a retried or redirected exchange) resets it. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	char tmp[32];

	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
		r->retry_after_s = -1;
	if (k8s_curl_header(data, n, "Retry-After", tmp, sizeof(tmp))) {
		char *end;
		long v = strtol(tmp, &end, 10);

		if (end != tmp && v >= 0)
			r->retry_after_s = v;
	}
	return n;
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		CURLcode rc_ = k8s_curl.easy_setopt(c->h, opt, val);                               \
		if (rc_ != CURLE_OK)                                                               \
			return cni_err_set(err, CNI_ERR_IO, "libcurl: cannot set %s: %s", #opt,    \
					   k8s_curl.easy_strerror(rc_));                           \
	} while (0)

/* Options that stay the same for every request of this client: set once, so the connection
 * (and its TLS session) is reused by later requests. */
static int handle_init(struct k8s_client *c, struct cni_err *err)
{
	struct curl_blob blob;
	bool https = strncmp(c->server, "https://", 8) == 0;

	if (k8s_curl_load(err) < 0)
		return -1;
	c->h = k8s_curl.easy_init();
	if (!c->h)
		return cni_err_set(err, CNI_ERR_IO, "libcurl: curl_easy_init failed");
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
	SETOPT(CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_USERAGENT, "plexus");
	SETOPT(CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
	if (c->ca) {
		/* Like client-go: the configured CA alone, not the system store besides it. */
		SETOPT(CURLOPT_CAINFO, (char *)NULL);
		SETOPT(CURLOPT_CAPATH, (char *)NULL);
		blob =
		    (struct curl_blob){ .data = c->ca, .len = c->ca_len, .flags = CURL_BLOB_COPY };
		SETOPT(CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->cert) {
		blob = (struct curl_blob){ .data = c->cert,
					   .len = c->cert_len,
					   .flags = CURL_BLOB_COPY };
		SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
		SETOPT(CURLOPT_SSLCERT_BLOB, &blob);
		blob = (struct curl_blob){ .data = c->key,
					   .len = c->key_len,
					   .flags = CURL_BLOB_COPY };
		SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
		SETOPT(CURLOPT_SSLKEY_BLOB, &blob);
	}
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	return 0;
}

static void (*observer)(const char *method, long status);

void k8s_client_set_observer(void (*fn)(const char *method, long status))
{
	observer = fn;
}

/* One exchange. Returns the CURLcode; the reply is filled as far as it got. */
static CURLcode attempt(struct k8s_client *c, const char *method, const char *url,
			const struct curl_slist *headers, const char *body, long timeout_ms,
			struct reply *r)
{
	CURLcode rc;

	cni_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	cni_buf_init(&r->body, REPLY_MAX - 1, false);
	r->retry_after_s = -1;
	c->errbuf[0] = '\0';
	k8s_curl.easy_setopt(c->h, CURLOPT_URL, url);
	k8s_curl.easy_setopt(c->h, CURLOPT_HTTPHEADER, headers);
	k8s_curl.easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	k8s_curl.easy_setopt(c->h, CURLOPT_WRITEDATA, &r->body);
	k8s_curl.easy_setopt(c->h, CURLOPT_HEADERDATA, r);
	k8s_curl.easy_setopt(c->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	k8s_curl.easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (body) {
		k8s_curl.easy_setopt(c->h, CURLOPT_POST, 1L);
		k8s_curl.easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		k8s_curl.easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		k8s_curl.easy_setopt(c->h, CURLOPT_CUSTOMREQUEST,
				     strcmp(method, "POST") ? method : NULL);
	} else {
		k8s_curl.easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
		k8s_curl.easy_setopt(c->h, CURLOPT_CUSTOMREQUEST,
				     strcmp(method, "GET") ? method : NULL);
	}
	rc = k8s_curl.easy_perform(c->h);
	if (rc == CURLE_OK)
		k8s_curl.easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &r->status);
	if (observer)
		observer(method, r->status);
	return rc;
}

static bool transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

static bool transient_status(long status)
{
	return status == 429 || status == 500 || status == 503;
}

static const char *reason_phrase(long status)
{
	static const struct {
		long code;
		const char *text;
	} t[] = {
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" },
		{ 409, "Conflict" },
		{ 410, "Gone" },
		{ 413, "Request Entity Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Entity" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].code == status)
			return t[i].text;
	return "HTTP error";
}

/* The server's words: Status.message when the body is a Kubernetes Status, else the start of
 * the body with anything unprintable replaced (a proxy's HTML page, say). */
static char *status_message(const struct cni_buf *b)
{
	cJSON *j = b->len ? cJSON_ParseWithLength(b->data, b->len) : NULL;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	char *out;

	if (cJSON_IsString(kind) && strcmp(kind->valuestring, "Status") == 0 &&
	    cJSON_IsString(msg) && msg->valuestring[0]) {
		out = strdup(msg->valuestring);
		cJSON_Delete(j);
		return out;
	}
	cJSON_Delete(j);
	if (!b->len)
		return NULL;
	out = memdup(b->data, b->len < 200 ? b->len : 200);
	for (char *p = out; p && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	return out;
}

/* Fills err for a failed attempt (without the retry suffix). */
static void describe(struct k8s_client *c, const char *method, const char *what, CURLcode rc,
		     const struct reply *r, struct cni_err *err)
{
	if (rc != CURLE_OK) {
		if (r->body.status == -EFBIG)
			cni_err_set(err, CNI_ERR_IO, "%s %s: reply bigger than %u bytes", method,
				    what, REPLY_MAX);
		else
			cni_err_set(err, CNI_ERR_IO, "%s %s: %s", method, what,
				    c->errbuf[0] ? c->errbuf : k8s_curl.easy_strerror(rc));
	} else {
		char *m = status_message(&r->body);

		if (m)
			cni_err_set(err, CNI_ERR_IO, "%s %s: %ld %s: %s", method, what, r->status,
				    reason_phrase(r->status), m);
		else
			cni_err_set(err, CNI_ERR_IO, "%s %s: %ld %s", method, what, r->status,
				    reason_phrase(r->status));
		free(m);
	}
}

/* The last transient failure stands for the whole call; code 11 tells the runtime to retry. */
static void give_up(struct cni_err *err, int attempts, long elapsed)
{
	char *m = NULL;

	err->code = CNI_ERR_TRY_AGAIN;
	if (asprintf(&m, "%s (gave up after %d attempts in %ld ms)", err->msg, attempts, elapsed) >=
	    0) {
		free(err->msg);
		err->msg = m;
	}
}

/* The handle (made on first use), the URL of path and the request headers. Returns 0, or -1
 * with err; on failure *url and *headers are NULL. */
static int request_setup(struct k8s_client *c, const char *path, const char *content_type,
			 char **url, struct curl_slist **headers, struct cni_err *err)
{
	char *ct = NULL;

	*url = NULL;
	*headers = NULL;
	if (!c->h && handle_init(c, err) < 0) {
		if (c->h)
			k8s_curl.easy_cleanup(c->h);
		c->h = NULL;
		return -1;
	}
	if (asprintf(url, "%s%s", c->server, path) < 0 ||
	    (content_type && asprintf(&ct, "Content-Type: %s", content_type) < 0)) {
		ct = NULL;
		goto oom;
	}
	/* "Expect:" stops libcurl's 100-continue round trip for bigger bodies. */
	if (!(*headers = k8s_curl.slist_append(NULL, "Accept: application/json")) ||
	    !k8s_curl.slist_append(*headers, "Expect:"))
		goto oom;
	if ((ct && !k8s_curl.slist_append(*headers, ct)) ||
	    (c->auth && !k8s_curl.slist_append(*headers, c->auth)))
		goto oom;
	free(ct);
	return 0;
oom:
	free(ct);
	free(*url);
	*url = NULL;
	if (*headers)
		k8s_curl.slist_free_all(*headers);
	*headers = NULL;
	return cni_err_oom(err);
}

int k8s_request(struct k8s_client *c, const char *method, const char *path, const char *what,
		const char *content_type, const char *body, bool retry, cJSON **out,
		struct cni_err *err)
{
	struct curl_slist *headers = NULL;
	struct reply r = { .retry_after_s = -1 };
	struct cni_err last = { 0 }; /* the latest failed attempt; err only sees the final one */
	char *url = NULL;
	long start = k8s_now_ms(), backoff = c->opts.backoff_ms;
	int attempts = 0, ret = -1;

	if (out)
		*out = NULL;
	if (request_setup(c, path, content_type, &url, &headers, err) < 0)
		return -1;
	for (;;) {
		long left = c->opts.budget_ms - (k8s_now_ms() - start), wait, elapsed;
		long tmo = c->opts.attempt_timeout_ms < left ? c->opts.attempt_timeout_ms : left;
		CURLcode rc;

		attempts++;
		rc = attempt(c, method, url, headers, body, tmo > 0 ? tmo : 1, &r);
		if (rc == CURLE_OK && r.status >= 200 && r.status < 300) {
			if (out && r.body.len) {
				*out = cni_json_parse(r.body.data, r.body.len, what, err);
				if (!*out) {
					cni_err_prefix(err, "%s %s", method, what);
					goto out;
				}
			}
			ret = 0;
			goto out;
		}
		describe(c, method, what, rc, &r, &last);
		if (rc == CURLE_OK && r.status == 404) {
			ret = -ENOENT;
			cni_err_move(err, &last);
			goto out;
		}
		if (!retry || !(rc == CURLE_OK ? transient_status(r.status) : transient_curl(rc))) {
			cni_err_move(err, &last);
			goto out;
		}
		wait = backoff;
		if (rc == CURLE_OK && r.retry_after_s >= 0 && r.retry_after_s * 1000 > wait)
			wait = r.retry_after_s * 1000;
		elapsed = k8s_now_ms() - start;
		if (attempts >= c->opts.max_attempts || elapsed + wait >= c->opts.budget_ms) {
			give_up(&last, attempts, elapsed);
			cni_err_move(err, &last);
			goto out;
		}
		log_verbose("%s %s: attempt %d failed (%s); retrying in %ld ms", method, what,
			    attempts, last.msg, wait);
		k8s_sleep_ms(wait);
		backoff = backoff * 2 < BACKOFF_CAP_MS ? backoff * 2 : BACKOFF_CAP_MS;
	}
out:
	cni_err_clear(&last);
	k8s_curl.slist_free_all(headers);
	cni_buf_free(&r.body);
	free(url);
	return ret;
}

/* -- streamed GETs ------------------------------------------------------------------------ */

#define STREAM_ERROR_BODY (64u << 10) /* what is kept of an error reply's body */
#define STREAM_POLL_MS	  1000	      /* the longest wait between two looks at the clock */

struct stream_ctx {
	struct k8s_client *c;
	struct k8s_stream *st;
	struct reply r; /* status, Retry-After, and the body of an error reply */
	long last_ms;	/* when the last byte came */
	bool aborted;	/* on_data said stop */
};

static size_t on_stream(char *data, size_t size, size_t nmemb, void *arg)
{
	struct stream_ctx *x = arg;
	size_t n = size * nmemb;

	x->last_ms = k8s_now_ms();
	if (!x->r.status)
		k8s_curl.easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &x->r.status);
	if (x->r.status < 200 || x->r.status >= 300) {
		/* the start of the Status body is enough for the message */
		if (cni_buf_add(&x->r.body, data, n) < 0)
			x->r.body.status = 0;
		return n;
	}
	if (x->st->on_data(data, n, x->st->arg)) {
		x->aborted = true;
		return 0;
	}
	return n;
}

static bool interrupted(struct k8s_client *c)
{
	bool v;

	pthread_mutex_lock(&c->mu);
	v = c->interrupted;
	pthread_mutex_unlock(&c->mu);
	return v;
}

void k8s_client_interrupt(struct k8s_client *c)
{
	pthread_mutex_lock(&c->mu);
	c->interrupted = true;
	if (c->multi)
		k8s_curl.multi_wakeup(c->multi);
	pthread_mutex_unlock(&c->mu);
}

/* Runs the transfer on the multi handle until it ends, is interrupted or goes idle. */
static int stream_run(struct k8s_client *c, CURLM *m, struct stream_ctx *x, CURLcode *rc)
{
	int running = 1, left;
	CURLMsg *msg;

	*rc = CURLE_OK;
	for (;;) {
		long now, wait = STREAM_POLL_MS;

		if (k8s_curl.multi_perform(m, &running) != CURLM_OK) {
			*rc = CURLE_FAILED_INIT;
			return -1;
		}
		if (!running)
			break;
		if (interrupted(c) || x->aborted)
			return -ECANCELED;
		now = k8s_now_ms();
		if (x->st->idle_ms > 0) {
			if (now - x->last_ms >= x->st->idle_ms)
				return -ETIMEDOUT;
			if (x->st->idle_ms - (now - x->last_ms) < wait)
				wait = x->st->idle_ms - (now - x->last_ms);
		}
		k8s_curl.multi_poll(m, NULL, 0, (int)wait, NULL);
	}
	while ((msg = k8s_curl.multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			*rc = msg->data.result;
	return x->aborted ? -ECANCELED : 0;
}

int k8s_stream_get(struct k8s_client *c, const char *path, const char *what, struct k8s_stream *st,
		   struct cni_err *err)
{
	struct stream_ctx x = { .c = c, .st = st, .r = { .retry_after_s = -1 } };
	struct curl_slist *headers;
	CURLcode rc;
	char *url;
	CURLM *m;
	int ret;

	st->status = 0;
	if (request_setup(c, path, NULL, &url, &headers, err) < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	if (!c->multi)
		c->multi = k8s_curl.multi_init();
	m = c->multi;
	pthread_mutex_unlock(&c->mu);
	ret = -ECANCELED;
	if (!m) {
		ret = cni_err_set(err, CNI_ERR_IO, "libcurl: curl_multi_init failed");
		goto out;
	}
	if (interrupted(c))
		goto out;
	cni_buf_init(&x.r.body, STREAM_ERROR_BODY, false);
	c->errbuf[0] = '\0';
	k8s_curl.easy_setopt(c->h, CURLOPT_URL, url);
	k8s_curl.easy_setopt(c->h, CURLOPT_HTTPHEADER, headers);
	k8s_curl.easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_stream);
	k8s_curl.easy_setopt(c->h, CURLOPT_WRITEDATA, &x);
	k8s_curl.easy_setopt(c->h, CURLOPT_HEADERDATA, &x.r);
	k8s_curl.easy_setopt(c->h, CURLOPT_TIMEOUT_MS, 0L);
	k8s_curl.easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, c->opts.attempt_timeout_ms);
	k8s_curl.easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	k8s_curl.easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	if (k8s_curl.multi_add_handle(m, c->h) != CURLM_OK) {
		ret = cni_err_set(err, CNI_ERR_IO, "libcurl: curl_multi_add_handle failed");
		goto out;
	}
	x.last_ms = k8s_now_ms();
	ret = stream_run(c, m, &x, &rc);
	k8s_curl.multi_remove_handle(m, c->h);
	if (ret == 0 || ret == -1) {
		if (rc == CURLE_OK && !x.r.status)
			k8s_curl.easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &x.r.status);
		st->status = x.r.status;
		if (rc != CURLE_OK || st->status < 200 || st->status >= 300) {
			describe(c, "GET", what, rc, &x.r, err);
			ret = -1;
		}
	} else {
		st->status = x.r.status;
	}
	if (observer)
		observer("GET", st->status);
out:
	cni_buf_free(&x.r.body);
	k8s_curl.slist_free_all(headers);
	free(url);
	return ret;
}

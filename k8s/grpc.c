/* k8s/grpc.c: unary gRPC over a unix socket with libcurl (HTTP/2 prior knowledge), deadline
 * and retries. Follows gRPC's doc/PROTOCOL-HTTP2.md ("Requests", "Responses"). */
#include "k8s/grpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/log.h"

#define BACKOFF_CAP_MS 1000

static const char *const grpc_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct k8s_grpc_reply *r = arg;
	size_t n = size * nmemb;

	/* One message and its prefix at most (the buffer's cap); the prefix's length is checked
	 * as soon as it is in, so an oversize message is refused before it arrives. */
	int rc = cni_buf_add(&r->body, data, n);

	if (rc == -EFBIG)
		r->too_big = true;
	if (rc < 0)
		return 0;
	if (r->body.len >= K8S_GRPC_PREFIX) {
		const uint8_t *p = (const uint8_t *)r->body.data;
		uint32_t mlen =
		    (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];

		if (mlen > r->max) {
			r->too_big = true;
			return 0;
		}
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* grpc-message is percent-encoded (gRPC over HTTP/2, "Responses"); NULs and controls are
 * replaced so the text is safe in an error message. */
static char *percent_decode(const char *s, size_t n)
{
	char *d = malloc(n + 1), *o = d;

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		}
		*o++ = (unsigned char)c < 0x20 || c == 0x7f ? '?' : c;
	}
	*o = '\0';
	return d;
}

/* Headers and trailers both come here: a gRPC status may be in either ("Trailers-Only"). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct k8s_grpc_reply *r = arg;
	size_t n = size * nmemb, len = n;
	char tmp[16];

	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', len);

		r->http_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->grpc_status = -1;
		free(r->grpc_message);
		r->grpc_message = NULL;
	} else if (k8s_curl_header(data, len, "grpc-status", tmp, sizeof(tmp))) {
		char *end;
		long v = strtol(tmp, &end, 10);

		while (*end == ' ')
			end++;
		r->grpc_status = end != tmp && !*end && v >= 0 && v < 1000 ? (int)v : 2;
	} else if (len >= 13 && strncasecmp(data, "grpc-message:", 13) == 0) {
		size_t off = 13;

		while (off < len && data[off] == ' ')
			off++;
		free(r->grpc_message);
		r->grpc_message = percent_decode(data + off, len - off);
	}
	return n;
}

void k8s_grpc_reply_reset(struct k8s_grpc_reply *r)
{
	cni_buf_free(&r->body);
	free(r->grpc_message);
	memset(r, 0, sizeof(*r));
	r->grpc_status = -1;
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		CURLcode rc_ = k8s_curl.easy_setopt(x->h, opt, val);                               \
		if (rc_ != CURLE_OK)                                                               \
			return cni_err_set(err, CNI_ERR_IO, "libcurl: cannot set %s: %s", #opt,    \
					   k8s_curl.easy_strerror(rc_));                           \
	} while (0)

int k8s_grpc_open(struct k8s_grpc_call *x, struct cni_err *err)
{
	const char *const hdrs[] = { "Content-Type: application/grpc", "TE: trailers",
				     "Accept:", "Expect:" };

	if (k8s_curl_load(err) < 0)
		return -1;
	x->h = k8s_curl.easy_init();
	if (!x->h)
		return cni_err_set(err, CNI_ERR_IO, "libcurl: curl_easy_init failed");
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(*hdrs); i++) {
		struct curl_slist *l = k8s_curl.slist_append(x->headers, hdrs[i]);

		if (!l)
			return cni_err_oom(err);
		x->headers = l;
	}
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(CURLOPT_UNIX_SOCKET_PATH, x->socket);
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	/* A connection per attempt: libcurl < 8.0 (Debian 12 has 7.88.1) fails a second request
	 * on a reused prior-knowledge connection with "Error in the HTTP2 framing layer"
	 * (curl/curl#10634). A unix-socket connect costs next to nothing. */
	SETOPT(CURLOPT_FORBID_REUSE, 1L);
	SETOPT(CURLOPT_USERAGENT, "plexus");
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	return 0;
}

/* What one attempt came to. */
enum outcome {
	DONE,	   /* a gRPC status arrived (r->grpc_status), maybe OK */
	RETRY,	   /* transient: worth another attempt (err set) */
	TIMED_OUT, /* the deadline passed (err set) */
	FAILED,	   /* err set */
};

static enum outcome attempt(struct k8s_grpc_call *x, const char *method, const uint8_t *req,
			    size_t reqlen, struct k8s_grpc_reply *r, struct cni_err *err)
{
	char url[256], timeout_hdr[40];
	struct curl_slist *hdrs = NULL, *l;
	long left = x->deadline - k8s_now_ms();
	CURLcode rc;

	k8s_grpc_reply_reset(r);
	r->max = x->msg_max;
	cni_buf_init(&r->body, r->max + K8S_GRPC_PREFIX, false);
	if (left <= 0) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "deadline of %ld ms exceeded",
			    x->deadline - x->start);
		return TIMED_OUT;
	}
	snprintf(url, sizeof(url), "http://localhost/%s/%s", x->service, method);
	/* The server learns the deadline too, as a gRPC client would tell it. */
	snprintf(timeout_hdr, sizeof(timeout_hdr), "grpc-timeout: %ldm", left);
	l = k8s_curl.slist_append(NULL, timeout_hdr);
	if (!l) {
		cni_err_oom(err);
		return FAILED;
	}
	hdrs = l;
	l->next = x->headers;
	x->errbuf[0] = '\0';
	k8s_curl.easy_setopt(x->h, CURLOPT_URL, url);
	k8s_curl.easy_setopt(x->h, CURLOPT_HTTPHEADER, hdrs);
	k8s_curl.easy_setopt(x->h, CURLOPT_POSTFIELDS, req);
	k8s_curl.easy_setopt(x->h, CURLOPT_POSTFIELDSIZE, (long)reqlen);
	k8s_curl.easy_setopt(x->h, CURLOPT_WRITEDATA, r);
	k8s_curl.easy_setopt(x->h, CURLOPT_HEADERDATA, r);
	k8s_curl.easy_setopt(x->h, CURLOPT_TIMEOUT_MS, left);
	k8s_curl.easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, left);
	rc = k8s_curl.easy_perform(x->h);
	/* Only the first node is ours to free: the rest is the call's list. */
	hdrs->next = NULL;
	k8s_curl.slist_free_all(hdrs);
	k8s_curl.easy_setopt(x->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	if (r->too_big) {
		cni_err_set(err, CNI_ERR_DECODE, "reply exceeds the %zu MiB limit",
			    x->msg_max >> 20);
		return FAILED;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "deadline of %ld ms exceeded",
			    x->deadline - x->start);
		return TIMED_OUT;
	}
	if (rc != CURLE_OK) {
		cni_err_set(err, CNI_ERR_IO, "%s",
			    x->errbuf[0] ? x->errbuf : k8s_curl.easy_strerror(rc));
		return rc == CURLE_COULDNT_CONNECT ? RETRY : FAILED;
	}
	if (r->http_status != 200) {
		cni_err_set(err, CNI_ERR_IO, "HTTP status %ld, not a gRPC reply", r->http_status);
		return FAILED;
	}
	if (r->grpc_status < 0) {
		cni_err_set(err, CNI_ERR_IO, "reply without grpc-status");
		return FAILED;
	}
	if (r->grpc_status == K8S_GRPC_OK)
		return DONE;
	cni_err_set(err, CNI_ERR_IO, "%s: %s",
		    r->grpc_status < (int)(sizeof(grpc_names) / sizeof(*grpc_names))
			? grpc_names[r->grpc_status]
			: "status",
		    r->grpc_message && *r->grpc_message ? r->grpc_message : "(no message)");
	if (r->grpc_status == K8S_GRPC_DEADLINE_EXCEEDED) {
		err->code = CNI_ERR_TRY_AGAIN;
		return TIMED_OUT;
	}
	if (r->grpc_status == K8S_GRPC_UNAVAILABLE || r->grpc_status == K8S_GRPC_RESOURCE_EXHAUSTED)
		return RETRY;
	return DONE;
}

int k8s_grpc_invoke(struct k8s_grpc_call *x, const char *method, const uint8_t *req, size_t reqlen,
		    struct k8s_grpc_reply *r, struct cni_err *err)
{
	long backoff = x->backoff_ms;
	int n = 0;

	for (;;) {
		enum outcome oc = attempt(x, method, req, reqlen, r, err);
		long wait;

		n++;
		if (oc == DONE && r->grpc_status == K8S_GRPC_OK)
			cni_err_clear(err); /* what an earlier attempt left */
		if (oc == DONE)
			return 0;
		if (oc != RETRY)
			return -1;
		wait = backoff;
		if (n >= x->max_attempts || k8s_now_ms() + wait >= x->deadline)
			/* cni_err_set formats before it frees the old message. */
			return cni_err_set(err, CNI_ERR_TRY_AGAIN,
					   "%s (gave up after %d attempts in %ld ms)", err->msg, n,
					   k8s_now_ms() - x->start);
		log_verbose("%s %s: %s; attempt %d again in %ld ms", x->what, method, err->msg,
			    n + 1, wait);
		k8s_sleep_ms(wait);
		backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
	}
}

void k8s_grpc_close(struct k8s_grpc_call *x)
{
	if (x->h)
		k8s_curl.easy_cleanup(x->h);
	if (x->headers)
		k8s_curl.slist_free_all(x->headers);
	x->h = NULL;
	x->headers = NULL;
}

size_t k8s_grpc_frame(uint8_t *buf, size_t cap, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (n + K8S_GRPC_PREFIX > cap)
		return 0;
	buf[0] = 0;
	buf[1] = (uint8_t)(n >> 24);
	buf[2] = (uint8_t)(n >> 16);
	buf[3] = (uint8_t)(n >> 8);
	buf[4] = (uint8_t)n;
	protobuf_c_message_pack(m, buf + K8S_GRPC_PREFIX);
	return n + K8S_GRPC_PREFIX;
}

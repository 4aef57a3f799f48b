/* shim/http.c: a small HTTP/1.1 client over a unix socket, written here because plexus-shim links
 * libc only (libcurl alone costs milliseconds per exec). One request per connection, as Multus's
 * daemon serves (pkg/server/server.go disables keep-alive); every step under one deadline. */
#include "shim/http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cni/buf.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(long long deadline)
{
	long long left = deadline - now_ms();

	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -1 errno set. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, remaining(deadline));
	while (r < 0 && errno == EINTR);
	return r;
}

static enum shim_http_fail dial(const char *socket_path, long long deadline, int *fd,
				struct cni_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ms = remaining(deadline);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	int s, r;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		cni_err_set(err, CNI_ERR_INTERNAL, "daemon socket %s: path longer than %zu bytes",
			    socket_path, sizeof(sa.sun_path) - 1);
		return SHIM_HTTP_CONNECT;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, "daemon socket %s: socket: %s", socket_path,
			    strerror(errno));
		return SHIM_HTTP_CONNECT;
	}
	/* a unix connect blocks only while the listener's backlog is full: bound it */
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	do
		r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0 || fcntl(s, F_SETFL, O_NONBLOCK) < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, "daemon socket %s: connect: %s", socket_path,
			    strerror(errno == EAGAIN || errno == EINPROGRESS ? ETIMEDOUT : errno));
		close(s);
		return SHIM_HTTP_CONNECT;
	}
	*fd = s;
	return SHIM_HTTP_OK;
}

/* The head and the body in one sendmsg() as long as the socket takes them: the daemon wakes once
 * for the whole request, not once per part. */
static enum shim_http_fail send_all(int fd, struct iovec *iov, int cnt, long long deadline,
				    const char *socket_path, struct cni_err *err)
{
	while (cnt > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
		ssize_t w;

		if (iov->iov_len == 0) {
			iov++;
			cnt--;
			continue;
		}
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w > 0) {
			for (; cnt > 0 && (size_t)w >= iov->iov_len; iov++, cnt--)
				w -= (ssize_t)iov->iov_len;
			if (cnt > 0) {
				iov->iov_base = (char *)iov->iov_base + w;
				iov->iov_len -= (size_t)w;
			}
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r > 0)
				continue;
			if (r == 0)
				errno = ETIMEDOUT;
		}
		cni_err_set(err, CNI_ERR_INTERNAL, "daemon socket %s: sending the request: %s",
			    socket_path, strerror(errno));
		return SHIM_HTTP_TRANSPORT;
	}
	return SHIM_HTTP_OK;
}

/* What the headers say about the body. */
struct head {
	size_t end; /* bytes of status line and headers, the blank line included */
	int status;
	bool chunked;
	bool has_length;
	size_t length;
};

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses status line and headers once the blank line is in; 0 not yet, 1 done, -1 bad. */
static int parse_head(const char *data, size_t len, struct head *h, struct cni_err *err)
{
	const char *end = memmem(data, len, "\r\n\r\n", 4), *line, *next;

	if (!end) {
		if (len > SHIM_HTTP_MAX_HEADER)
			return cni_err_set(err, CNI_ERR_INTERNAL,
					   "reply headers longer than %d bytes",
					   SHIM_HTTP_MAX_HEADER);
		return 0;
	}
	h->end = (size_t)(end - data) + 4;
	if (len < 12 || memcmp(data, "HTTP/1.", 7) != 0 || data[8] != ' ' || !digit(data[9]) ||
	    !digit(data[10]) || !digit(data[11]))
		return cni_err_set(err, CNI_ERR_INTERNAL, "reply is not HTTP/1.x");
	h->status = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
	for (line = (const char *)memchr(data, '\n', len) + 1; line < end; line = next + 2) {
		size_t n;

		next = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		n = (size_t)(next - line);
		if (n > 15 && strncasecmp(line, "content-length:", 15) == 0) {
			const char *v = line + 15;
			size_t value = 0;

			while (*v == ' ' || *v == '\t')
				v++;
			if (v == next)
				return cni_err_set(err, CNI_ERR_INTERNAL, "empty Content-Length");
			for (; v < next && *v != ' ' && *v != '\t'; v++) {
				if (*v < '0' || *v > '9' || value > SHIM_HTTP_MAX_BODY)
					return cni_err_set(err, CNI_ERR_INTERNAL,
							   "bad Content-Length");
				value = value * 10 + (size_t)(*v - '0');
			}
			h->has_length = true;
			h->length = value;
		} else if (n > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
			h->chunked = memmem(line, n, "chunked", 7) != NULL;
		}
	}
	if (h->has_length && h->length > SHIM_HTTP_MAX_BODY)
		return cni_err_set(err, CNI_ERR_INTERNAL, "reply body of %zu bytes: over %d bytes",
				   h->length, SHIM_HTTP_MAX_BODY);
	return 1;
}

/* The longest chunk-size line taken (the size in hex, extensions): a bad one is refused here
 * instead of being searched for its end through the rest of a big body. */
#define CHUNK_LINE_MAX 1024

/* Decodes the chunks of a chunked body (p, n bytes) that are complete from *pos on, appending
 * their data to out and moving *pos past them, so that each byte is decoded once however the
 * reply was read: 1 the last chunk came, 0 more is needed, -1 bad. */
static int dechunk(const char *p, size_t n, size_t *pos, struct cni_buf *out, struct cni_err *err)
{
	const char *end = p + n, *c = p + *pos;

	for (;;) {
		size_t avail = (size_t)(end - c);
		const char *eol =
		    memmem(c, avail < CHUNK_LINE_MAX + 2 ? avail : CHUNK_LINE_MAX + 2, "\r\n", 2);
		unsigned long long size = 0;
		const char *q;

		if (!eol)
			return avail < CHUNK_LINE_MAX + 2
				   ? 0
				   : cni_err_set(err, CNI_ERR_INTERNAL,
						 "chunk-size line over %d bytes", CHUNK_LINE_MAX);
		for (q = c; q < eol && *q != ';' && *q != ' '; q++) {
			int d = *q >= '0' && *q <= '9'	 ? *q - '0'
				: *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
				: *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
							 : -1;

			if (d < 0 || size > SHIM_HTTP_MAX_BODY)
				return cni_err_set(err, CNI_ERR_INTERNAL, "bad chunk size");
			size = size * 16 + (unsigned)d;
		}
		if (q == c)
			return cni_err_set(err, CNI_ERR_INTERNAL, "bad chunk size");
		if (size == 0)
			return 1; /* trailers, if any, are of no use here */
		q = eol + 2;
		if ((size_t)(end - q) < size + 2)
			return 0;
		if (memcmp(q + size, "\r\n", 2) != 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, "chunk data not ended by CRLF");
		if (cni_buf_add(out, q, (size_t)size) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, "reply body over %d bytes",
					   SHIM_HTTP_MAX_BODY);
		c = q + size + 2;
		*pos = (size_t)(c - p);
	}
}

static enum shim_http_fail read_reply(int fd, long long deadline, struct shim_http_reply *reply,
				      const char *socket_path, struct cni_err *err)
{
	struct cni_buf in, body;
	struct head h = { 0 };
	enum shim_http_fail ret = SHIM_HTTP_PROTOCOL;
	bool have_head = false, eof = false;
	size_t chunk_pos = 0;
	int done = 0;

	/* the chunk framing may add a little to the body's cap */
	cni_buf_init(&in, SHIM_HTTP_MAX_HEADER + SHIM_HTTP_MAX_BODY + 64 * 1024, false);
	cni_buf_init(&body, SHIM_HTTP_MAX_BODY, false);
	while (!done) {
		ssize_t r = cni_buf_read(&in, fd, 64 * 1024);

		if (r == -EAGAIN) {
			int w = wait_fd(fd, POLLIN, deadline);

			if (w > 0)
				continue;
			cni_err_set(err, CNI_ERR_INTERNAL,
				    "daemon socket %s: no reply within the "
				    "deadline",
				    socket_path);
			ret = SHIM_HTTP_TRANSPORT;
			goto out;
		}
		if (r == -EFBIG) {
			cni_err_set(err, CNI_ERR_INTERNAL, "reply body over %d bytes",
				    SHIM_HTTP_MAX_BODY);
			goto bad;
		}
		if (r < 0) {
			cni_err_set(err, CNI_ERR_INTERNAL,
				    "daemon socket %s: reading the reply: %s", socket_path,
				    strerror((int)-r));
			ret = SHIM_HTTP_TRANSPORT;
			goto out;
		}
		eof = r == 0;
		if (!have_head) {
			int p = parse_head(in.data, in.len, &h, err);

			if (p < 0)
				goto bad;
			have_head = p > 0;
		}
		if (have_head) {
			const char *b = in.data + h.end;
			size_t n = in.len - h.end;

			if (h.chunked) {
				done = dechunk(b, n, &chunk_pos, &body, err);
				if (done < 0)
					goto bad;
				/* what is decoded is dropped: the cap on what is read then bounds
				 * the framing of a chunk, not of the whole body */
				if (!done && chunk_pos >= 64 * 1024) {
					cni_buf_cut(&in, h.end, chunk_pos);
					chunk_pos = 0;
				}
			} else if (h.has_length) {
				if (n >= h.length) {
					if (cni_buf_add(&body, b, h.length) < 0) {
						cni_err_oom(err);
						goto out;
					}
					done = 1;
				}
			} else if (eof) {
				if (n > SHIM_HTTP_MAX_BODY || cni_buf_add(&body, b, n) < 0) {
					cni_err_set(err, CNI_ERR_INTERNAL,
						    "reply body over %d bytes", SHIM_HTTP_MAX_BODY);
					goto bad;
				}
				done = 1;
			}
		}
		if (!done && eof) {
			cni_err_set(err, CNI_ERR_INTERNAL,
				    "daemon socket %s: connection closed "
				    "before the reply was complete",
				    socket_path);
			ret = SHIM_HTTP_TRANSPORT;
			goto out;
		}
	}
	reply->status = h.status;
	reply->body = cni_buf_take(&body, &reply->len);
	if (!reply->body) {
		cni_err_oom(err);
		goto out;
	}
	ret = SHIM_HTTP_OK;
	goto out;
bad:
	cni_err_prefix(err, "daemon socket %s", socket_path);
out:
	cni_buf_free(&in);
	cni_buf_free(&body);
	return ret;
}

/* The deadline timeout_ms from now (a negative timeout is now). */
static long long deadline_in(int timeout_ms)
{
	return now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

enum shim_http_fail shim_http_read_reply(int fd, int timeout_ms, const char *peer,
					 struct shim_http_reply *reply, struct cni_err *err)
{
	return read_reply(fd, deadline_in(timeout_ms), reply, peer, err);
}

enum shim_http_fail shim_http_request(const char *socket_path, const char *method, const char *path,
				      const char *body, size_t len, int timeout_ms,
				      struct shim_http_reply *reply, struct cni_err *err)
{
	long long deadline = deadline_in(timeout_ms);
	enum shim_http_fail ret;
	struct iovec iov[2];
	char *head = NULL;
	int fd = -1, n;

	memset(reply, 0, sizeof(*reply));
	ret = dial(socket_path, deadline, &fd, err);
	if (ret != SHIM_HTTP_OK)
		return ret;
	/* the host is not looked at by a unix-socket server; Multus's shim says "dummy" */
	n = asprintf(&head,
		     "%s %s HTTP/1.1\r\nHost: plexus\r\nUser-Agent: plexus-shim\r\n"
		     "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
		     method, path, len ? "Content-Type: application/json\r\n" : "", len);
	if (n < 0) {
		close(fd);
		return cni_err_oom(err), SHIM_HTTP_TRANSPORT;
	}
	iov[0] = (struct iovec){ head, (size_t)n };
	iov[1] = (struct iovec){ (void *)body, len };
	ret = send_all(fd, iov, len ? 2 : 1, deadline, socket_path, err);
	if (ret == SHIM_HTTP_OK)
		ret = read_reply(fd, deadline, reply, socket_path, err);
	free(head);
	close(fd);
	return ret;
}

void shim_http_reply_free(struct shim_http_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

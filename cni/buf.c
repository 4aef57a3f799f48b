/* cni/buf.c: the growable capped byte buffer.
 * Follows curl's lib/dynbuf.c: geometric growth, a hard limit, a failure that sticks. */
#include "cni/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIRST_SIZE 256

void cni_buf_init(struct cni_buf *b, size_t max, bool wipe)
{
	*b = (struct cni_buf){ .max = max, .wipe = wipe };
}

static void release(struct cni_buf *b)
{
	if (b->data && b->wipe)
		explicit_bzero(b->data, b->size);
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

static int fail(struct cni_buf *b, int e)
{
	release(b);
	b->status = e;
	return e;
}

/* Room for want more bytes and the NUL; limit is the most bytes the data may reach. */
static int reserve(struct cni_buf *b, size_t want, size_t limit)
{
	size_t need, size;
	char *p;

	if (b->status)
		return b->status;
	if (want > limit || b->len > limit - want)
		return b->status = -EFBIG;
	need = b->len + want + 1;
	if (need <= b->size)
		return 0;
	size = b->size ? b->size : FIRST_SIZE;
	while (size < need)
		size = size > SIZE_MAX / 2 ? need : size * 2;
	if (limit < SIZE_MAX && size > limit + 1)
		size = limit + 1;
	if (b->wipe) {
		/* realloc would leave the old block behind unwiped */
		p = malloc(size);
		if (p && b->data)
			memcpy(p, b->data, b->len + 1);
		if (p) {
			char *old = b->data;
			size_t old_size = b->size;

			if (old)
				explicit_bzero(old, old_size);
			free(old);
		}
	} else {
		p = realloc(b->data, size);
	}
	if (!p)
		return fail(b, -ENOMEM);
	if (!b->data)
		p[0] = '\0';
	b->data = p;
	b->size = size;
	return 0;
}

int cni_buf_add(struct cni_buf *b, const void *p, size_t n)
{
	int rc = reserve(b, n, b->max);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int cni_buf_adds(struct cni_buf *b, const char *s)
{
	return cni_buf_add(b, s, strlen(s));
}

int cni_buf_printf(struct cni_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	if (b->status)
		return b->status;
	/* ap is started before each use: clang-tidy 14 forgets va_start in every translation
	 * unit after the first of a run (LLVM bug 41311, llvm-project#40656). */
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap); // NOLINT(clang-analyzer-valist.Uninitialized)
	va_end(ap);
	if (n < 0)
		return fail(b, -ENOMEM);
	rc = reserve(b, (size_t)n, b->max);
	if (rc)
		return rc;
	va_start(ap, fmt);
	// NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

ssize_t cni_buf_read(struct cni_buf *b, int fd, size_t want)
{
	/* one byte past the cap may come in, so that crossing it is seen */
	size_t limit = b->max == SIZE_MAX ? SIZE_MAX : b->max + 1;
	ssize_t n;
	int rc;

	if (b->status)
		return b->status;
	if (b->len >= limit)
		return b->status = -EFBIG;
	if (want > limit - b->len)
		want = limit - b->len;
	rc = reserve(b, want, limit);
	if (rc)
		return rc;
	do
		n = read(fd, b->data + b->len, want);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	if (b->len > b->max)
		return b->status = -EFBIG;
	return n;
}

char *cni_buf_take(struct cni_buf *b, size_t *len)
{
	char *p;

	if (b->status) {
		release(b);
		return NULL;
	}
	if (!b->data && reserve(b, 0, SIZE_MAX) < 0)
		return NULL;
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->size = 0;
	return p;
}

void cni_buf_cut(struct cni_buf *b, size_t off, size_t n)
{
	if (!b->data || off >= b->len || n == 0)
		return;
	if (n > b->len - off)
		n = b->len - off;
	memmove(b->data + off, b->data + off + n, b->len - off - n);
	b->len -= n;
	if (b->wipe)
		explicit_bzero(b->data + b->len, n);
	b->data[b->len] = '\0';
}

void cni_buf_free(struct cni_buf *b)
{
	release(b);
	b->status = 0;
}

void cni_buf_free_data(char *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len + 1);
	free(p);
}

/* cni/buf.h: one growable byte buffer with a size cap, for every "read it all" and "build the text".
 * Follows curl's lib/dynbuf.h (Curl_dyn_init with a toobig limit, addn, addf, take). */
#ifndef PLEXUS_CNI_BUF_H
#define PLEXUS_CNI_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cni/err.h"

/* Caller-owned; set up with cni_buf_init, released with cni_buf_free (or emptied by
 * cni_buf_take). data is NUL-terminated whenever it is not NULL. */
struct cni_buf {
	char *data;
	size_t len;  /* bytes held, the NUL not counted */
	size_t size; /* bytes allocated */
	size_t max;  /* the most bytes it may hold */
	bool wipe;   /* zero memory before giving it back (secrets) */
	int status;  /* 0, or the first failure (-ENOMEM, -EFBIG): later appends fail with it too */
};

/* An empty buffer that may hold at most max bytes (SIZE_MAX: no cap). With wipe, every block it
 * lets go of (on growth, cni_buf_free) is zeroed first, and the data cni_buf_take hands out
 * should be freed with cni_buf_free_data. Allocates nothing. */
void cni_buf_init(struct cni_buf *b, size_t max, bool wipe);

/* Appends n bytes. Returns 0; -EFBIG when the buffer would hold more than its cap (nothing is
 * appended: the caller reports "larger than <max> bytes" in its own words); -ENOMEM (the data is
 * freed). A failure sticks: every later append and read returns it, cni_buf_take returns NULL. */
int cni_buf_add(struct cni_buf *b, const void *p, size_t n) CNI_MUST_CHECK;

/* Appends a NUL-terminated string; as cni_buf_add. */
int cni_buf_adds(struct cni_buf *b, const char *s) CNI_MUST_CHECK;

/* Appends printf output; as cni_buf_add. */
int cni_buf_printf(struct cni_buf *b, const char *fmt, ...) CNI_PRINTF(2, 3) CNI_MUST_CHECK;

/* One read(2) of at most want bytes from fd, appended (EINTR is retried). Returns the bytes
 * read (> 0); 0 at end of file; -EFBIG once the data read passes the cap (sticks, as in
 * cni_buf_add); -EAGAIN on a non-blocking fd with nothing to read; another -errno (not sticky). */
ssize_t cni_buf_read(struct cni_buf *b, int fd, size_t want) CNI_MUST_CHECK;

/* Hands the data over: a malloc'd NUL-terminated string ("" when nothing was appended), its
 * length in *len (may be NULL). The buffer is left empty and reusable with the same cap.
 * NULL only when out of memory or after a failed append (the buffer is then freed). */
char *cni_buf_take(struct cni_buf *b, size_t *len) CNI_MUST_CHECK;

/* Removes n bytes at offset off (both clamped to the data held), moving what follows down; the
 * bytes moved out of the tail are zeroed in a wiping buffer. As curl's Curl_dyn_tail, which
 * keeps only a tail: for a reader that has used the front of what it read. */
void cni_buf_cut(struct cni_buf *b, size_t off, size_t n);

/* Frees the data (wiped first when the buffer was made with wipe); the buffer stays usable. */
void cni_buf_free(struct cni_buf *b);

/* Frees len+1 bytes at p from a wiping buffer's cni_buf_take (or cni_file_read with
 * CNI_FILE_WIPE), zeroing them first. NULL is fine. */
void cni_buf_free_data(char *p, size_t len);

#endif

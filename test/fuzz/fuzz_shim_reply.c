/* test/fuzz/fuzz_shim_reply.c: libFuzzer harness: plexus-shim's reader of the daemon's reply
 * (status line, headers, Content-Length, chunked or close-delimited body, and their caps), fed
 * through a pipe as a daemon would send it and then close. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shim_http_reply reply = { 0 };
	struct cni_err err = { 0 };
	enum shim_http_fail r;
	int p[2];

	/* a pipe holds 64 KiB, the harness's -max_len: the whole reply is in before the read */
	if (size > 65536 || pipe2(p, O_CLOEXEC) < 0)
		return 0;
	if (size && write(p[1], data, size) != (ssize_t)size)
		abort();
	close(p[1]);
	r = shim_http_read_reply(p[0], 1000, "fuzz", &reply, &err);
	close(p[0]);
	if (r == SHIM_HTTP_OK) {
		/* a reply: a 3-digit status and a NUL-terminated body of len bytes, from the input */
		if (reply.status < 0 || reply.status > 999 || !reply.body ||
		    strlen(reply.body) > reply.len || reply.len > size)
			abort();
		shim_http_reply_free(&reply);
	} else if (!cni_err_isset(&err)) {
		abort(); /* every failure says why */
	}
	cni_err_clear(&err);
	return 0;
}

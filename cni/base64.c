/* cni/base64.c: base64 encoding and strict decoding (standard alphabet, padded).
 * Reads what Go encoding/base64 StdEncoding writes; strict: padding required, nothing else. */
#include "cni/base64.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cni_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64[in[i] >> 2];
		*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*o++ = b64[((in[i + 1] & 0xf) << 2) | (in[i + 2] >> 6)];
		*o++ = b64[in[i + 2] & 0x3f];
	}
	if (i < len) {
		*o++ = b64[in[i] >> 2];
		if (i + 1 < len) {
			*o++ = b64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*o++ = b64[(in[i + 1] & 0xf) << 2];
		} else {
			*o++ = b64[(in[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

char *cni_base64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	unsigned char *out;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < n; i += 4) {
		int v[4];

		for (int k = 0; k < 4; k++) {
			bool pad_ok =
			    i + 4 == n && k >= 2 && s[i + k] == '=' && (k == 3 || s[i + 3] == '=');

			v[k] = pad_ok ? 0 : b64_val(s[i + k]);
			if (v[k] < 0)
				goto bad;
			if (pad_ok)
				v[k] = -2;
		}
		out[o++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
		if (v[2] != -2)
			out[o++] = (unsigned char)(((v[1] & 0xf) << 4) | (v[2] >> 2));
		if (v[2] != -2 && v[3] != -2)
			out[o++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
	}
	out[o] = '\0';
	*len = o;
	return (char *)out;
bad:
	free(out);
	return NULL;
}

/* cni/base64.h: base64 (standard alphabet, padded), as Go's encoding/json writes []byte.
 * Follows Go encoding/base64 StdEncoding (libcni caches a config's bytes this way). */
#ifndef PLEXUS_CNI_BASE64_H
#define PLEXUS_CNI_BASE64_H

#include <stddef.h>

/* Returns a malloc'd NUL-terminated encoding of len bytes at data; NULL only when out of
 * memory. */
char *cni_base64_encode(const void *data, size_t len);

/* Returns the malloc'd decoded bytes (NUL-terminated, length in *len) or NULL for invalid input
 * (or out of memory). */
char *cni_base64_decode(const char *s, size_t *len);

#endif

/* cni/json.h: JSON helpers over cJSON: Go-compatible printing and typed field access.
 * Printing follows Go's encoding/json (what libcni sends): sorted map keys, HTML-safe escapes,
 * shortest float form. Typed getters produce errors that name the key. */
#ifndef PLEXUS_CNI_JSON_H
#define PLEXUS_CNI_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

/* Length of the valid UTF-8 sequence that starts at s (1..4; s NUL-terminated), 0 when the bytes
 * there are not one (overlong forms, surrogates and values past U+10FFFF included), as Go's
 * utf8.DecodeRune judges them. */
size_t cni_utf8_len(const char *s);

/* Prints item compactly as Go's json.Marshal would print the same value decoded into
 * interface{}: object keys in byte order when sort_keys (else in tree order), strings escaped
 * as Go does (<, >, & as \u003c..., U+2028/2029, invalid UTF-8 as \ufffd), numbers in Go's
 * float64 form. Returns a malloc'd string or NULL on OOM. */
char *cni_json_print_go(const cJSON *item, bool sort_keys);

/* Prints item as cJSON_Print (formatted) or cJSON_PrintUnformatted does, except that every
 * byte of a string or key that starts no valid UTF-8 sequence becomes U+FFFD, as Go's
 * encoding/json writes it: what a plugin prints is always valid UTF-8 whatever its input held.
 * Returns a malloc'd string (free()) or NULL on OOM. */
char *cni_json_print_utf8(const cJSON *item, bool formatted);

/* A plugin config as libcni's InjectConf marshals it: every object sorted, except the value of
 * the top-level "prevResult" key, which is a typed result in Go and keeps its field order. */
char *cni_json_print_conf(const cJSON *conf);

/* Parses exactly len bytes (no NUL needed; embedded NULs rejected). Code 6 with the byte offset
 * of the error; what names the input ("netconf", "annotation ..."). Nesting is limited by cJSON
 * (CJSON_NESTING_LIMIT). Returns a new tree or NULL. */
cJSON *cni_json_parse(const char *data, size_t len, const char *what, struct cni_err *err);

/* Typed access to obj[key]. Absent (or JSON null) -> returns 0 and leaves *out alone.
 * Present with the wrong type -> code 7 "<ctx>: \"<key>\" must be a <type>", returns -1.
 * Strings are borrowed from the tree. */
int cni_json_get_string(const cJSON *obj, const char *key, const char **out, const char *ctx,
			struct cni_err *err) CNI_MUST_CHECK;
/* libcni's bools also accept the strings "true"/"false". */
int cni_json_get_bool(const cJSON *obj, const char *key, bool *out, const char *ctx,
		      struct cni_err *err) CNI_MUST_CHECK;
int cni_json_get_object(const cJSON *obj, const char *key, const cJSON **out, const char *ctx,
			struct cni_err *err) CNI_MUST_CHECK;
int cni_json_get_array(const cJSON *obj, const char *key, const cJSON **out, const char *ctx,
		       struct cni_err *err) CNI_MUST_CHECK;

/* Adds obj[key] = value as a string when value is not NULL: an optional field stays absent.
 * Returns 0 (also when value is NULL) or -1 out of memory. */
int cni_json_add_opt_string(cJSON *obj, const char *key, const char *value) CNI_MUST_CHECK;

/* Replaces (or adds) obj[key] with item, taking ownership of item (freed on failure; NULL
 * is taken for a failed allocation). Returns 0 or -1 (OOM). */
int cni_json_set(cJSON *obj, const char *key, cJSON *item) CNI_MUST_CHECK;

#endif

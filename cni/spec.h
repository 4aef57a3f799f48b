/* cni/spec.h: the CNI vocabulary: verbs, versions, name validation and CNI_ARGS.
 * Follows libcni pkg/utils (validation), pkg/types/args.go (CNI_ARGS), pkg/version. */
#ifndef PLEXUS_CNI_SPEC_H
#define PLEXUS_CNI_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

enum cni_verb {
	CNI_VERB_NONE = 0,
	CNI_VERB_ADD,
	CNI_VERB_DEL,
	CNI_VERB_CHECK,
	CNI_VERB_GC,
	CNI_VERB_STATUS,
	CNI_VERB_VERSION,
};

/* "ADD" -> CNI_VERB_ADD; anything else -> CNI_VERB_NONE. */
enum cni_verb cni_verb_parse(const char *s);
/* CNI_VERB_ADD -> "ADD". */
const char *cni_verb_name(enum cni_verb verb);

/* Every version this code reads and writes, oldest first, and their count. */
extern const char *const cni_versions[];
extern const size_t cni_nversions;
#define CNI_VERSION_LATEST "1.1.0"

/* True when s is one of cni_versions (exact string match, as libcni does). */
bool cni_version_supported(const char *s);

/* Compares two "X.Y.Z" strings; NULL or "" means 0.1.0. Returns <0, 0, >0, or sets *bad
 * (when non-NULL) for a string that is not three dot-separated numbers. */
int cni_version_cmp(const char *a, const char *b, bool *bad);

/* a >= b, with NULL/"" meaning 0.1.0; false for unparsable strings. */
bool cni_version_ge(const char *a, const char *b);

/* libcni pkg/utils: container ID: empty -> code 3 "missing containerID";
 * bad characters -> code 4. Returns 0 or -1 with err set. */
int cni_validate_container_id(const char *id, struct cni_err *err) CNI_MUST_CHECK;
/* Network name: empty or bad characters -> code 7. */
int cni_validate_network_name(const char *name, struct cni_err *err) CNI_MUST_CHECK;
/* Interface name: non-empty, at most 15 bytes, not "." or "..", no '/', ':' or Unicode
 * whitespace -> code 4. */
int cni_validate_ifname(const char *ifname, struct cni_err *err) CNI_MUST_CHECK;

/* CNI_ARGS: "K1=V1;K2=V2". */
struct cni_kv {
	char *key;
	char *value;
};

struct cni_args {
	struct cni_kv *kv;
	size_t n;
	bool ignore_unknown; /* IgnoreUnknown=1|true (case-insensitive) */
};

/* Parses as libcni's LoadArgs does: split on ';', each pair must split on '=' into exactly
 * two parts ("ARGS: invalid pair"); IgnoreUnknown must be 1/true/0/false. An empty or NULL
 * string gives no pairs. Code 4 on error. Free with cni_args_free(). */
int cni_args_parse(const char *s, struct cni_args *out, struct cni_err *err) CNI_MUST_CHECK;

/* Fails with code 4 "ARGS: unknown args [...]" when a key is not in known (NULL-terminated;
 * IgnoreUnknown is always known) and IgnoreUnknown is not set. */
int cni_args_check_known(const struct cni_args *args, const char *const *known,
			 struct cni_err *err) CNI_MUST_CHECK;

/* The value of the first pair named key, or NULL. */
const char *cni_args_get(const struct cni_args *args, const char *key);

void cni_args_free(struct cni_args *args);

#endif

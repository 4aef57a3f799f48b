/* cni/result.h: CNI results as cJSON trees, and conversion among every spec version.
 * Follows libcni pkg/types/{020,040,100} converters (CNI SPEC.md, Section 5 'Result Types'). */
#ifndef PLEXUS_CNI_RESULT_H
#define PLEXUS_CNI_RESULT_H

#include <cjson/cJSON.h>

#include "cni/err.h"

/* The result's "cniVersion", or def when absent/empty/not a string. */
const char *cni_result_version(const cJSON *result, const char *def);

/* Parses a plugin's stdout as a result. A result without cniVersion (or with an empty or
 * non-string one) is taken to be in default_version, NULL or "" meaning 0.1.0, and gets it set
 * (libcni's fixupResultVersion). The shape is checked for the version as encoding/json would
 * for libcni's Go type (types of ips/interfaces/routes/dns, valid CIDRs and IPs, null taken as
 * absent), and address/dst are required; a bad one is code 6 naming the field, e.g.
 * `ips[1].address: "10.0.0.1" is not a CIDR`. Not JSON or not an object: code 6; an
 * unsupported cniVersion: code 1. The tree is returned as written (unknown keys kept, nothing
 * canonicalised); cni_result_convert() gives libcni's printed form. Returns a new tree the
 * caller deletes, or NULL with err set. */
cJSON *cni_result_parse(const char *text, const char *default_version,
			struct cni_err *err) CNI_MUST_CHECK;

/* Converts result to to_version (NULL or "" meaning 0.1.0) exactly as libcni converts and then
 * marshals it, the same version included: only the target type's fields, omitempty applied
 * (present interface/table/scope 0 kept, mtu/advmss/priority 0 dropped, "dns" always there,
 * {} when empty), addresses in Go's canonical text, ips[].version only for 0.3.x/0.4.0. A
 * result without cniVersion is read as 0.1.0. The input is not modified and its shape is
 * checked again (code 6). Unsupported source or target version -> code 1; a conversion libcni
 * refuses (to 0.1.0/0.2.0 with no IP of either family) -> code 1 naming why. Returns a new
 * tree the caller deletes, or NULL with err set. */
cJSON *cni_result_convert(const cJSON *result, const char *to_version,
			  struct cni_err *err) CNI_MUST_CHECK;

#endif

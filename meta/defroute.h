/* meta/defroute.h: the "default-route" network selection request: which interface carries the
 * pod's default route. Follows Multus pkg/multus/multus.go cmdAdd, except that an empty list
 * filters nothing (Multus bug #1011 strips eth0's default route for "default-route": []). */
#ifndef PLEXUS_META_DEFROUTE_H
#define PLEXUS_META_DEFROUTE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "meta/plan.h"

/* Checks the requests of the whole plan: at most one IPv4 and one IPv6 gateway overall
 * ("multus does not support ECMP for default-route", code 7); every entry an IP address. */
int meta_defroute_check(const struct meta_plan *plan, struct cni_err *err) CNI_MUST_CHECK;

/* What attachment i must do for family (AF_INET/AF_INET6): *gw is its requested gateway of
 * that family or NULL; *filter is true when another attachment requested a gateway of that
 * family, so this one must drop its own default route. */
void meta_defroute_for(const struct meta_plan *plan, size_t i, int family, const char **gw,
		       bool *filter);

/* Edits a result of any version in place: removes its default routes of family (dst of prefix
 * length 0, in routes[] or ip4/ip6.routes), then adds {"dst": default, "gw": gw} when gw is
 * not NULL. Returns 0, or -1 on OOM. */
int meta_defroute_result(cJSON *result, int family, const char *gw) CNI_MUST_CHECK;

#endif

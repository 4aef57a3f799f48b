/* meta/invocation.h: one run of bin/plexus as a plugin, shared by its verbs: the context (netconf,
 * K8S_* args, delegate search path, cache and lock files, the API), the per-container cache that
 * holds the plan, and one verb of one attachment run through its delegate. */
#ifndef PLEXUS_META_INVOCATION_H
#define PLEXUS_META_INVOCATION_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/config.h"
#include "cni/err.h"
#include "cni/skel.h"
#include "delegates/invoke.h"
#include "meta/kube.h"
#include "meta/netconf.h"
#include "meta/plan.h"

struct meta_ctx {
	const struct cni_request *req;
	struct meta_netconf nc;
	struct meta_k8s_args k8s;
	const char **path; /* binDir, then CNI_PATH */
	char **cni_path;
	size_t npath;
	char *state_dir;	 /* <cniDir>/plexus */
	char *cache_file;	 /* <state_dir>/<containerID> */
	char *multus_cache_file; /* <cniDir>/<containerID>: Multus's cache, kept beside ours */
	char *lock_file;
	int lock_fd;
	struct meta_kube kube; /* the API, when configured */
	char prefix[512];      /* "[ns/name/uid]" */
};

/* Parses the netconf, checks CNI_ARGS (only IP, MAC and the K8S_* keys), sets the log prefix
 * "[ns/name/uid]" and derives the search path (binDir, then CNI_PATH) and the cache and lock
 * files under <cniDir>/plexus. c needs meta_ctx_free() whatever this returns. */
int meta_ctx_init(const struct cni_request *req, struct meta_ctx *c,
		  struct cni_err *err) CNI_MUST_CHECK;

/* Where delegates are looked for: binDir, then each directory of cni_path (CNI_PATH's form;
 * NULL or "" for none). meta_ctx_init sets it from the request; hot-plug from the pod's plan. */
int meta_ctx_search_path(struct meta_ctx *c, const char *cni_path,
			 struct cni_err *err) CNI_MUST_CHECK;

/* Unlocks (and removes the lock file), closes the API, frees everything c owns. */
void meta_ctx_free(struct meta_ctx *c);

/* Takes the container's lock (<cniDir>/plexus/<containerID>.lock), waiting up to the delegate
 * timeout plus 10 s; the lock is inherited by the delegates. */
int meta_ctx_lock(struct meta_ctx *c, struct cni_err *err) CNI_MUST_CHECK;

/* Runs verb ("ADD", "DEL", "CHECK", "STATUS") of attachment i of plan through its delegate.
 * ADD returns the delegate's result in *res (caller-owned) and copies the device plugin's
 * device-info file first; DEL removes the attachment's device-info file. */
int meta_ctx_run(const char *verb, const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		 cJSON **res, struct cni_err *err) CNI_MUST_CHECK;

/* ADD of attachment i in two steps (delegates/invoke.h dlg_add_start): meta_ctx_start_add spawns
 * its delegate's first plugin without its config, so that the plugin's own start overlaps the
 * caller's work before it may act (the interface-name check, the plan's write);
 * meta_ctx_run_started then does what meta_ctx_run does for ADD, feeding that plugin. Each
 * consumes s, as meta_started_cancel does (it kills the plugin, which never read its config);
 * cancelling a consumed or zeroed s does nothing. With entry, the result's cache entry is left
 * in it, not written (delegates/invoke.h dlg_add_started). */
struct meta_started {
	struct cni_conflist list;
	struct dlg_rt rt;
	struct dlg_started *first;
	size_t i;
	bool live;
};

int meta_ctx_start_add(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
		       struct meta_started *s, struct cni_err *err) CNI_MUST_CHECK;
int meta_ctx_run_started(const struct meta_ctx *c, const struct meta_plan *plan,
			 struct meta_started *s, cJSON **res, struct dlg_cache_entry *entry,
			 struct cni_err *err) CNI_MUST_CHECK;
void meta_started_cancel(struct meta_started *s);
/* fn(arg) once the started plugin has its config, while it runs (delegates/invoke.h
 * dlg_add_when_fed); nothing for an attachment without plugins. */
void meta_started_when_fed(struct meta_started *s, void (*fn)(void *arg), void *arg);

/* The plan written as the container's cache, atomically and durably (mode 0600), then the same
 * plan in Multus's layout at <cniDir>/<containerID> (meta/multuscache.h). flush NULL: durable on
 * return. Otherwise the cache is in place on return and durable once cni_flush_wait(*flush)
 * returns 0 (cni/file.h cni_write_atomic_begin; *flush is set even when the Multus copy
 * fails, and is always to be waited for). */
struct cni_flush;
int meta_ctx_write_cache(const struct meta_ctx *c, const struct meta_plan *plan,
			 struct cni_flush **flush, struct cni_err *err) CNI_MUST_CHECK;

/* A new plan's header from the request: container, netns, CNI_IFNAME, cniVersion, the pod's
 * identity, CNI_PATH. Returns 0, or -1 with err (out of memory). */
int meta_ctx_plan_init(const struct meta_ctx *c, struct meta_plan *plan,
		       struct cni_err *err) CNI_MUST_CHECK;

/* A pod Multus attached (plexus replaced it on the node since): the plan Multus's own cache
 * <cniDir>/<containerID> describes, with no API needed (meta/multuscache.h), its interfaces
 * named as Multus names them; the master is on master_ifname (NULL: CNI_IFNAME, as in the
 * pod's own DEL). 1 with the plan, 0 when there is no such cache, -1 with err when it is
 * unusable. */
int meta_ctx_read_multus_cache(const struct meta_ctx *c, const char *master_ifname,
			       struct meta_plan *plan, struct cni_err *err) CNI_MUST_CHECK;

/* 1: plan read from the cache; 0: no cache; -1: unreadable or corrupt (err set). */
int meta_ctx_read_cache(const struct meta_ctx *c, struct meta_plan *plan,
			struct cni_err *err) CNI_MUST_CHECK;

/* default-route: after attachment i's ADD, its default routes follow the pod's requests, in the
 * netns and in the cached result (prevResult stays truthful for CHECK and DEL): entry's when
 * the ADD left it unwritten (meta_ctx_run_started), else the file's. */
int meta_ctx_default_route(const struct meta_ctx *c, const struct meta_plan *plan, size_t i,
			   cJSON *result, struct dlg_cache_entry *entry,
			   struct cni_err *err) CNI_MUST_CHECK;

/* Whether the pod's netns (CNI_NETNS) has an interface named ifname. Returns 0, or -1 with err
 * "validateIfName: no net namespace <netns> found: ..." when it cannot be entered. */
int meta_ctx_ifname_taken(const struct meta_ctx *c, const char *ifname, bool *taken,
			  struct cni_err *err) CNI_MUST_CHECK;

/* DEL every attachment in reverse, past errors; all messages joined into err. */
int meta_ctx_del_plan(const struct meta_ctx *c, const struct meta_plan *plan,
		      struct cni_err *err) CNI_MUST_CHECK;

#endif

/* meta/plan.h: the attachment plan: which delegate runs on which interface with which runtime
 * requests. Everything is validated while the plan is built, before anything runs; the plan is
 * what the per-container cache stores, so DEL needs nothing else. Follows Multus
 * pkg/multus/multus.go cmdAdd (delegate list, interface names, saveDelegates before the first
 * delegate runs). */
#ifndef PLEXUS_META_PLAN_H
#define PLEXUS_META_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/spec.h"
#include "meta/netconf.h"

struct meta_attachment {
	char *network;	   /* the delegate's CNI network name (for logs and errors) */
	char *status_name; /* network-status name: "ns/nad", or the CNI name for static ones */
	char *ifname;
	char *ifname_request; /* explicit interface request, or NULL */
	bool master;
	char *config; /* the conf or conflist bytes exactly as executed */
	size_t config_len;
	struct cni_kv *args; /* CNI_ARGS pairs sent to the delegate */
	size_t nargs;
	cJSON *cap_args; /* capability args for runtimeConfig (NULL for none) */
	char *device_id; /* allocated device (PCI address), or NULL */
	char *resource_name;
	char *devinfo_file; /* CNIDeviceInfoFile given to the delegate, or NULL */
	char *mac_request;  /* sent as MAC=<mac> in CNI_ARGS, or NULL */
	char *ip_request;   /* sent as IP=<ip,ip> in CNI_ARGS, or NULL */
	cJSON *gateways;    /* default-route request (array of IP strings), or NULL */
	/* where it came from: NULL for the netconf's (static) networks, META_ORIGIN_ANNOTATION
	 * for an element of the networks annotation, META_ORIGIN_DELEGATE for a /delegate
	 * request; hot-plug manages only the first two */
	char *origin;
	char *added; /* hot-plugged: when (RFC 3339, UTC); NULL for the pod's ADD */
	/* an annotation element's own runtime requests (ips, mac, portMappings, bandwidth...,
	 * as k8s_net_selection_cap_args gives them; {} for none), apart from the runtime's: what
	 * the reconcile compares to see an element changed. NULL in plans written before it. */
	cJSON *requests;
	bool pending; /* hot-plug wrote it before running its ADD, which has not succeeded yet:
			 the next reconcile or the pod's DEL deletes it */
};

/* The pod's first interface: the CNI_IFNAME every CRI runtime passes for the cluster network
 * (containerd's and CRI-O's CNI calls pass "eth0"). Used where no runtime call names it: Multus's
 * cache does not record it, and `plexus validate` plans without one. */
#define META_POD_IFNAME "eth0"

#define META_ORIGIN_ANNOTATION "annotation"
#define META_ORIGIN_DELEGATE   "delegate"

struct meta_plan {
	char *container_id;
	char *netns;
	char *ifname;	   /* the runtime's CNI_IFNAME */
	char *cni_version; /* the plexus netconf's */
	char *pod_namespace, *pod_name, *pod_uid, *sandbox_id;
	char *cni_path; /* the runtime's CNI_PATH at ADD (hot-plug finds delegates the same way) */
	struct meta_attachment *att;
	size_t n;
};

/* The K8S_* values from CNI_ARGS (absent ones are ""). */
struct meta_k8s_args {
	const char *pod_namespace, *pod_name, *pod_uid, *sandbox_id;
};

/* Appends an attachment for config bytes (conf or conflist, parsed and checked here: code 7
 * naming the network on failure). The plan takes copies. */
int meta_plan_add(struct meta_plan *plan, const char *config, size_t len,
		  const char *ifname_request, struct cni_err *err) CNI_MUST_CHECK;

/* Names every interface (master: CNI_IFNAME; explicit requests; otherwise net<idx> where idx
 * counts every attachment), rejects invalid names and collisions between any two attachments,
 * and builds each delegate's CNI_ARGS and capability args as Multus does. */
int meta_plan_finish(struct meta_plan *plan, const struct meta_netconf *nc,
		     const char *cni_args_env, const struct meta_k8s_args *k8s,
		     struct cni_err *err) CNI_MUST_CHECK;

/* The capability args Multus takes from the runtime's runtimeConfig: only the keys it knows
 * (portMappings, bandwidth, ips, mac, infinibandGUID, deviceID, CNIDeviceInfoFile), empty
 * values dropped. A new object, possibly empty; NULL on OOM. */
cJSON *meta_runtime_cap_args(const cJSON *runtime_config);

/* The plan as cached (NULL out of memory: never a partial entry), and back. */
cJSON *meta_plan_to_json(const struct meta_plan *plan);
int meta_plan_from_json(const cJSON *j, struct meta_plan *plan, struct cni_err *err) CNI_MUST_CHECK;

/* The one reader of plan files (DEL, GC, hot-plug, plexus list): the plan cached at path.
 * 1 read; 0 no such file (err untouched); -1 unreadable, too big or corrupt (err names path). */
int meta_plan_load(const char *path, struct meta_plan *plan, struct cni_err *err) CNI_MUST_CHECK;

/* The directory of the plans under cni_dir, "<cniDir>/plexus" (its own, so Multus's cache and
 * plexus's never collide); NULL out of memory. */
char *meta_plan_dir(const char *cni_dir);

/* The container IDs that have a plan in state_dir (meta_plan_dir), sorted bytewise: every
 * name without a '.' (locks and temporaries have one). A missing directory has none. Returns
 * how many, with *names to free with meta_plan_names_free, or -1 with err (code 5 naming the
 * directory). */
int meta_plan_names(const char *state_dir, char ***names, struct cni_err *err) CNI_MUST_CHECK;
void meta_plan_names_free(char **names, int n);

/* Moves *a (which is zeroed) to the end of the plan. */
int meta_plan_append(struct meta_plan *plan, struct meta_attachment *a,
		     struct cni_err *err) CNI_MUST_CHECK;

/* Frees attachment i and closes the gap. */
void meta_plan_remove(struct meta_plan *plan, size_t i);

void meta_attachment_free(struct meta_attachment *a);
void meta_plan_free(struct meta_plan *plan);

#endif

/* sriov/plugin.h: what one invocation of the sriov plugin holds, and its commands.
 * Follows sriov-cni pkg/cnicommands/cni.go CmdAdd/CmdDel/CmdCheck; the behaviour is docs/sriov.md. */
#ifndef PLEXUS_SRIOV_PLUGIN_H
#define PLEXUS_SRIOV_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "cni/nl.h"
#include "cni/skel.h"
#include "sriov/conf.h"
#include "sriov/state.h"

/* How long ADD and DEL wait for the per-VF lock, as sriov-cni does (60 s). */
#define SRIOV_LOCK_TIMEOUT_MS 60000

/* Everything one invocation holds; released by sriov_ctx_free() on every path. */
struct sriov_ctx {
	const struct cni_request *req;
	struct sriov_conf conf;
	struct sriov_state st;
	struct cni_nl host; /* opened in the host netns */
	struct cni_nl pod;  /* opened in the pod netns, when there is one */
	int pod_fd, lock_fd;
	char **dirs; /* CNI_PATH */
	size_t ndirs;
	/* ADD progress, for the rollback */
	bool saved, allocated, moved, ipam_added;
};

/* An empty context for req (no fds, tri-state config keys unset). */
void sriov_ctx_init(struct sriov_ctx *c, const struct cni_request *req);

/* Frees what c owns: config, state, sockets, fds (the lock with them), CNI_PATH. */
void sriov_ctx_free(struct sriov_ctx *c);

/* Logging as the config asks (sriov-cni's levels onto ours, anything unknown is "info"), every
 * line prefixed with the container ID and ifname. */
void sriov_setup_log(const struct sriov_conf *cf, const struct cni_request *req);

/* Runs the IPAM plugin for verb with our own stdin, as libcni's DelegateAdd does; *out (when
 * out is not NULL) gets its stdout, malloc'd. Returns 0 or -1 with err set. */
CNI_MUST_CHECK int sriov_ipam_exec(struct sriov_ctx *c, const char *verb, char **out,
				   struct cni_err *err);

/* Sets the MAC of the netdev ifindex (in nl's netns) of the VF in c->st; an untrusted VF that
 * refuses it (EADDRNOTAVAIL/EPERM, as igb does) gets trust on for that one change. arg is the
 * struct sriov_ctx (the shape of sriov_netdev_restore's callback). Returns 0 or -1. */
CNI_MUST_CHECK int sriov_set_mac_trusting(void *arg, struct cni_nl *nl, int ifindex,
					  const unsigned char mac[6], struct cni_err *err);

/* The VF in c->st back as it was: PF side (the admin MAC always), then the netdev out of the pod
 * and back to its name, MAC, MTU and up state. Used by DEL, GC and the ADD rollback; keeps going
 * after a failure and reports the first. Returns 0 or -1. */
CNI_MUST_CHECK int sriov_restore_vf(struct sriov_ctx *c, struct cni_err *err);

/* Releases the attachment in c->st (loaded from state_path) as DEL does, minus IPAM: under the
 * VF's lock, unless another attachment holds the VF now. A first failure is reported and
 * remembered in the state; a second one is logged and let go. Returns 0 or -1. */
CNI_MUST_CHECK int sriov_release(struct sriov_ctx *c, const char *state_path, struct cni_err *err);

/* The commands, as cni/skel calls them (sriov/add.c, sriov/del.c, sriov/check.c). */
CNI_MUST_CHECK int sriov_cmd_add(const struct cni_request *req, cJSON **result,
				 struct cni_err *err);
CNI_MUST_CHECK int sriov_cmd_del(const struct cni_request *req, struct cni_err *err);
CNI_MUST_CHECK int sriov_cmd_check(const struct cni_request *req, struct cni_err *err);
CNI_MUST_CHECK int sriov_cmd_gc(const struct cni_request *req, struct cni_err *err);

#endif

/* sriov/devlink.c: the PF's eswitch mode through devlink over generic netlink (libnl-genl).
 * Follows iproute2 `devlink dev eswitch show pci/<addr>`; a PF without devlink is legacy. */
#include <errno.h>
#include <linux/devlink.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "sriov/vf.h"

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[DEVLINK_ATTR_MAX + 1];
	int *mode = arg;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, DEVLINK_ATTR_MAX, NULL) == 0 &&
	    tb[DEVLINK_ATTR_ESWITCH_MODE])
		*mode = nla_get_u16(tb[DEVLINK_ATTR_ESWITCH_MODE]);
	return NL_OK;
}

int sriov_devlink_eswitch_mode(const char *pf_pci_addr, int *mode, struct cni_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_msg *msg = NULL;
	int family, r, ret = -1;

	*mode = DEVLINK_ESWITCH_MODE_LEGACY;
	if (!sk)
		return cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
	r = genl_connect(sk);
	if (r < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, "devlink: open generic netlink socket: %s",
			    nl_geterror(r));
		goto out;
	}
	family = genl_ctrl_resolve(sk, DEVLINK_GENL_NAME);
	if (family < 0) {
		ret = 0; /* no devlink in this kernel: legacy SR-IOV only */
		goto out;
	}
	msg = nlmsg_alloc();
	if (!msg ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, NLM_F_REQUEST,
			 DEVLINK_CMD_ESWITCH_GET, DEVLINK_GENL_VERSION) ||
	    nla_put_string(msg, DEVLINK_ATTR_BUS_NAME, "pci") < 0 ||
	    nla_put_string(msg, DEVLINK_ATTR_DEV_NAME, pf_pci_addr) < 0) {
		cni_err_set(err, CNI_ERR_INTERNAL, "out of memory");
		goto out;
	}
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, mode);
	r = nl_send_auto(sk, msg);
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	/* igb registers no devlink instance (ENODEV); others lack eswitch ops (EOPNOTSUPP). */
	if (r < 0 && r != -NLE_NODEV && r != -NLE_OPNOTSUPP && r != -NLE_OBJ_NOTFOUND &&
	    r != -NLE_INVAL) {
		cni_err_set(err, CNI_ERR_INTERNAL, "devlink: eswitch mode of pci/%s: %s",
			    pf_pci_addr, nl_geterror(r));
		goto out;
	}
	ret = 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}

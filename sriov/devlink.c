/* sriov/devlink.c: the PF's eswitch mode through devlink over generic netlink (libnl-genl).
 * Follows iproute2 `devlink dev eswitch show pci/<addr>`; a PF without devlink is legacy. */
#include "sriov/devlink.h"

#include <linux/devlink.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "cni/nl.h"

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
	struct cni_nl nl = { 0 };
	struct nl_msg *msg = NULL;
	int family, r, ret = -1;

	*mode = DEVLINK_ESWITCH_MODE_LEGACY;
	if (cni_nl_open(&nl, NETLINK_GENERIC, err) < 0)
		return cni_err_prefix(err, "devlink");
	family = genl_ctrl_resolve(nl.sk, DEVLINK_GENL_NAME);
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
		cni_err_oom(err);
		goto out;
	}
	/* The reply comes before the ack: read it, as `devlink` does, and leave the ack to the
	 * socket's end (cni_nl_request would stop at the reply). */
	nl_socket_modify_cb(nl.sk, NL_CB_VALID, NL_CB_CUSTOM, on_reply, mode);
	cni_nl_reset(&nl);
	r = nl_send_auto(nl.sk, msg);
	if (r >= 0)
		r = nl_recvmsgs_default(nl.sk);
	/* igb registers no devlink instance (ENODEV); others lack eswitch ops (EOPNOTSUPP). */
	if (r < 0 && r != -NLE_NODEV && r != -NLE_OPNOTSUPP && r != -NLE_OBJ_NOTFOUND &&
	    r != -NLE_INVAL) {
		cni_err_set(err, CNI_ERR_INTERNAL, "devlink: eswitch mode of pci/%s: %s",
			    pf_pci_addr, nl_geterror(r));
		if (nl.extack)
			cni_err_details(err, "%s", nl.extack);
		goto out;
	}
	ret = 0;
out:
	nlmsg_free(msg);
	cni_nl_close(&nl);
	return ret;
}

# test/hw/lib.sh: sourced by every test/hw/suite/*.sh: test/lib.sh's conventions (t_* functions,
# run_tests, cleanup_add, expect_*) plus the test bed that test/hw/guest-run exports and VF helpers.
#
# The test bed (exported by guest-run): HW_PF (PF netdev), HW_PF_PCI, HW_VFS (VF PCI addresses,
# index order), HW_NUMVFS, HW_MODE (qemu | host), HW_ROOT (repository), HW_BUILD (build dir),
# HW_STATE (each VF's state before any test: hw_vf_restore returns a VF to it).
# guest-run sources this file with --state-only: the helpers without test/lib.sh.

: "${HW_PF:?run the hardware suite through test/hw/run}" "${HW_VFS:?}" "${HW_STATE:?}"
read -r -a VFS <<<"$HW_VFS"

hw_vf_pci() { echo "${VFS[$1]}"; }
# hw_vf_netdev N: the VF's netdev in this netns, empty when it has none here
hw_vf_netdev() {
	local n
	for n in /sys/bus/pci/devices/"${VFS[$1]}"/net/*; do [ -e "$n" ] && basename "$n" && return; done
	return 0
}
hw_vf_driver() {
	local d
	d=$(readlink "/sys/bus/pci/devices/${VFS[$1]}/driver") && basename "$d"
	return 0
}
# hw_vf_info N: the PF's "vf N" line of `ip link show`, as a user reads it
hw_vf_info() { ip link show "$HW_PF" | grep -E "^ +vf $1 " | sed -E 's/^ +//'; }

# hw_vf_state N: everything the suite may change about VF N, on one line: the PF-side settings
# (rtnetlink IFLA_VF_*), the bound driver, the VF netdev's name here and its admin state.
hw_vf_state() {
	local nd up=0
	nd=$(hw_vf_netdev "$1")
	[ -n "$nd" ] && ip -o link show "$nd" | grep -q '[<,]UP[,>]' && up=1
	ip -j link show dev "$HW_PF" | /usr/bin/python3 -c '
import json, sys
vf = int(sys.argv[1])
info = [v for v in json.load(sys.stdin)[0].get("vfinfo_list", []) if v.get("vf") == vf]
if not info:
    sys.exit("no vf %d on the PF" % vf)
v = info[0]
vl = (v.get("vlan_list") or [{}])[0]
rate = v.get("rate", {})
out = [
    "mac=" + v.get("address", "-"),
    "vlan=%s" % vl.get("vlan", v.get("vlan", 0)),
    "qos=%s" % vl.get("qos", v.get("qos", 0)),
    "proto=%s" % vl.get("protocol", "802.1Q"),
    "max_tx_rate=%s" % v.get("max_tx_rate", rate.get("max_tx", 0)),
    "min_tx_rate=%s" % v.get("min_tx_rate", rate.get("min_tx", 0)),
]
for k in ("spoofchk", "trust"):
    if k in v:
        out.append("%s=%s" % (k, "on" if v[k] else "off"))
out.append("link_state=%s" % v.get("link_state", "-"))
print(" ".join(out), end="")
' "$1" || return 1
	echo " driver=$(hw_vf_driver "$1") netdev=${nd:--} up=$up"
}

# hw_vf_bind N DRIVER: binds VF N to DRIVER (empty: unbound) through driver_override
hw_vf_bind() {
	local d=/sys/bus/pci/devices/${VFS[$1]} drv=$2
	[ "$(hw_vf_driver "$1")" = "$drv" ] && return 0
	if [ -e "$d/driver" ]; then echo "${VFS[$1]}" >"$d/driver/unbind" || return 1; fi
	if [ -n "$drv" ]; then
		modprobe "$drv" 2>/dev/null
		echo "$drv" >"$d/driver_override" || return 1
		echo "${VFS[$1]}" >/sys/bus/pci/drivers_probe
		echo >"$d/driver_override"
		[ "$(hw_vf_driver "$1")" = "$drv" ] || { echo "cannot bind ${VFS[$1]} to $drv" >&2; return 1; }
	fi
}

# hw_vf_restore N: returns VF N to its state before the suite (HW_STATE): driver, netdev name
# and admin state, every PF-side setting. Waits for a netdev coming home from a deleted netns.
hw_vf_restore() {
	local want k v nd n=0
	declare -A s
	want=$(cat "$HW_STATE/vf$1") || return 1
	for kv in $want; do s[${kv%%=*}]=${kv#*=}; done
	[ "${s[driver]}" = "$(hw_vf_driver "$1")" ] || hw_vf_bind "$1" "${s[driver]}" || return 1
	if [ "${s[netdev]}" != - ]; then
		while nd=$(hw_vf_netdev "$1") && [ -z "$nd" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
		[ -n "$nd" ] || { echo "vf $1: its netdev ${s[netdev]} did not come back" >&2; return 1; }
		if [ "$nd" != "${s[netdev]}" ]; then
			ip link set "$nd" down && ip link set "$nd" name "${s[netdev]}" || return 1
		fi
		if [ "${s[up]}" = 1 ]; then ip link set "${s[netdev]}" up; else ip link set "${s[netdev]}" down; fi
	fi
	local args=(vf "$1")
	[ "${s[mac]}" != - ] && args+=(mac "${s[mac]}")
	args+=(vlan "${s[vlan]}" qos "${s[qos]}")
	[ "${s[proto]}" = 802.1ad ] && args+=(proto 802.1ad)
	args+=(max_tx_rate "${s[max_tx_rate]}" min_tx_rate "${s[min_tx_rate]}")
	for k in spoofchk trust; do [ -n "${s[$k]:-}" ] && args+=("$k" "${s[$k]}"); done
	ip link set "$HW_PF" "${args[@]}" || return 1
	v=$(hw_vf_state "$1")
	if [ "${s[link_state]}" != - ] && [[ "$v" != *"link_state=${s[link_state]} "* ]]; then
		ip link set "$HW_PF" vf "$1" state "${s[link_state]}" || return 1
	fi
}

[ "${1:-}" = --state-only ] && return 0

# shellcheck source=test/lib.sh
source "$HW_ROOT/test/lib.sh"

# hw_restore_at_exit N...: the current test returns these VFs to their state when it ends
hw_restore_at_exit() {
	local i
	for i in "$@"; do cleanup_add "hw_vf_restore $i"; done
}

# expect_fail WHAT WANT_ERR COMMAND...: COMMAND must fail and say WANT_ERR on stderr
expect_fail() {
	local what=$1 want=$2 err
	shift 2
	if err=$("$@" 2>&1); then
		fail "$what: succeeded, want the error [$want]"
		return 1
	fi
	expect_contains "$what" "$err" "$want"
}

# need_igb: the test asserts the 82576's own behaviour (hwbed.md section 5)
need_igb() {
	local d
	d=$(basename "$(readlink "/sys/bus/pci/devices/$HW_PF_PCI/driver")")
	[ "$d" = igb ] || skip "PF driver is $d, the assertion is about igb"
}

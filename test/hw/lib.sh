# shellcheck shell=bash
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
hw_vf_info() {
	local l
	while IFS= read -r l; do
		[[ $l =~ ^\ +vf\ $1\  ]] && echo "${l#"${l%%vf *}"}" && return 0
	done < <(ip link show "$HW_PF")
	return 1
}

# hw_vf_state N: everything the suite may change about VF N, on one line: the PF-side settings
# (as `ip link show <pf>` reports them), the bound driver, the VF netdev here and its admin state.
# Pure bash: a python3 start costs most of a second in the TCG guest.
hw_vf_state() {
	local l nd up=0 out=""
	l=$(hw_vf_info "$1") || { echo "no vf $1 on $HW_PF" >&2; return 1; }
	field() { # field NAME REGEX DEFAULT
		if [[ $l =~ $2 ]]; then out+="$1=${BASH_REMATCH[1]} "; else out+="$1=$3 "; fi
	}
	field mac 'link/ether ([0-9a-f:]+)' -
	field vlan ', vlan ([0-9]+)' 0
	field qos ', qos ([0-9]+)' 0
	field proto 'vlan protocol ([0-9a-zA-Z.]+)' 802.1Q
	field max_tx_rate 'max_tx_rate ([0-9]+)Mbps' 0
	field min_tx_rate 'min_tx_rate ([0-9]+)Mbps' 0
	field spoofchk 'spoof checking (on|off)' -
	field trust 'trust (on|off)' -
	field link_state 'link-state ([a-z]+)' -
	nd=$(hw_vf_netdev "$1")
	[ -n "$nd" ] && [[ $(ip -o link show "$nd") =~ [\<,]UP[,\>] ]] && up=1
	echo "${out}driver=$(hw_vf_driver "$1") netdev=${nd:--} up=$up"
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
	for k in spoofchk trust; do [ "${s[$k]}" != - ] && args+=("$k" "${s[$k]}"); done
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

# hw_wait_carrier NETNS DEV: waits up to 15 s for DEV's carrier (NETNS "" is this one); an igbvf
# link comes up about 3 s after `ip link set up` under TCG
hw_wait_carrier() {
	local n
	for ((n = 0; n < 150; n++)); do
		ip ${1:+-n "$1"} -o link show "$2" | grep -q 'LOWER_UP' && return 0
		sleep 0.1
	done
	fail "${1:+$1: }$2 has no carrier after 15 s"
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

# need_igb: the test asserts the 82576's own behaviour
# (docs/HARDWARE.md, "What `00-driver.sh` proves")
need_igb() {
	local d
	d=$(basename "$(readlink "/sys/bus/pci/devices/$HW_PF_PCI/driver")")
	[ "$d" = igb ] || skip "PF driver is $d, the assertion is about igb"
}

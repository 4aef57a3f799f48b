# shellcheck shell=bash
# test/hw/sriov-lib.sh: sourced by the test/hw/suite/*-sriov*.sh files after test/hw/lib.sh: runs
# bin/sriov (and bin/plexus) exactly as a runtime does (environment + stdin JSON, real netns,
# Debian's host-local and static IPAM) and reads every effect back without the plugin.

SRIOV=${SRIOV:-$HW_ROOT/bin/sriov}
PLEXUS=${PLEXUS:-$HW_ROOT/bin/plexus}
[ -x "$SRIOV" ] || {
	echo "    FAIL: $SRIOV is missing: build on the host first (make all)" >&2
	exit 1
}

# Everything a test's plugin run writes lives under its own $WORK: the plugin's cniDir
# ($WORK/sriov), host-local's dataDir ($WORK/ipam), extra plugins ($WORK/bin).
sr_dirs() { mkdir -p "$WORK/sriov" "$WORK/ipam" "$WORK/bin"; }

# sr_conf VF [EXTRA-KEYS-JSON]: a sriov netconf for VF index VF (deviceID from sysfs), cniVersion
# SR_VERSION (default 1.1.0; Debian's host-local and static stop at 1.0.0, the IPAM tests use it)
sr_conf() {
	sr_dirs
	printf '{"cniVersion":"%s","name":"hw-sriov","type":"sriov","deviceID":"%s","cniDir":"%s"%s}' \
		"${SR_VERSION:-1.1.0}" "$(hw_vf_pci "$1")" "$WORK/sriov" "${2:+,$2}"
}
# sr_hostlocal SUBNET [TYPE]: an "ipam" key for host-local (or TYPE, a host-local wrapper)
sr_hostlocal() {
	printf '"ipam":{"type":"%s","dataDir":"%s","ranges":[[{"subnet":"%s"}]]}' \
		"${2:-host-local}" "$WORK/ipam" "$1"
}
sr_static() { printf '"ipam":{"type":"static","addresses":[{"address":"%s"}]}' "$1"; }

# sr VERB NETNS CID IFNAME CONF: bin/sriov as a runtime calls it; prints what it printed (the
# result or the error object) and returns its status. SR_ARGS: more CNI_ARGS (k=v;k=v).
sr() {
	[ -z "${HW_VERBOSE:-}" ] || echo "    [$(cut -d' ' -f1 /proc/uptime)] sriov $1 $3/$4" >&2
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=$4 \
		CNI_PATH="$WORK/bin:$PLUGINS" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=hw;K8S_POD_NAME=pod-$3${SR_ARGS:+;$SR_ARGS}" \
		${SR_WRAP:-} "$SRIOV" <<<"$5"
}
# sr_ok VERB NETNS CID IFNAME CONF: sr that must succeed; prints the result
sr_ok() {
	local out
	out=$(sr "$@" 2>"$WORK/sr.err") || {
		fail "sriov $1 $3/$4: $out $(cat "$WORK/sr.err")"
		return 1
	}
	echo "$out"
}
# sr_with_prev CONF RESULT: CONF with prevResult (for CHECK)
sr_with_prev() { echo "${1%\}},\"prevResult\":$2}"; }

# sr_host N: VF N's netdev in the host netns as `name mac mtu up`, "-" when it has none here
sr_host() {
	local nd d
	nd=$(hw_vf_netdev "$1")
	[ -n "$nd" ] || { echo -; return 0; }
	d=/sys/class/net/$nd
	echo "$nd $(cat "$d/address") $(cat "$d/mtu") $(($(cat "$d/flags") & 1))"
}
# sr_code ERROR-JSON: the error's code
sr_code() { sed -nE 's/.*"code":[[:space:]]*([0-9]+).*/\1/p' <<<"$1"; }

# sr_snap N: everything the plugin may touch about VF N: the PF's full `vf N` line, the bound
# driver and the host netdev's name, MAC, MTU and admin state
sr_snap() { echo "$(hw_vf_info "$1") | $(hw_vf_driver "$1") | $(sr_host "$1")"; }

# sr_before N: VF N's snapshot once its netdev has been opened and closed: igb reports 00:00:00:00:00:00
# for a VF that never was, its own MAC afterwards; a VF a pod used is in that second state, and
# an admin MAC set back to zero last would unregister the VF's MAC (its traffic is then dropped).
# The VF tells the PF its MAC through the mailbox, after `up` returns: waited for (up to 10 s;
# the guest beside make check's other steps has been seen to take longer than the snapshot).
sr_before() {
	local nd n
	nd=$(hw_vf_netdev "$1")
	if [ -n "$nd" ] && [ "$(cat "/sys/class/net/$nd/flags")" = 0x1002 ]; then
		ip link set "$nd" up && ip link set "$nd" down
		for ((n = 0; n < 100; n++)); do
			[[ $(hw_vf_info "$1") == *"link/ether 00:00:00:00:00:00"* ]] || break
			sleep 0.1
		done
	fi
	sr_snap "$1"
}

# sr_wait_home N NAME: waits up to 10 s for VF N's netdev to be back in the host netns under NAME
# (a deleted netns returns it asynchronously)
sr_wait_home() {
	local n
	for ((n = 0; n < 100; n++)); do
		[ "$(hw_vf_netdev "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	fail "vf $1: netdev [$(hw_vf_netdev "$1")] is not back as $2 after 10 s"
}

# sr_left: the plugin's files left in $WORK/sriov (state, allocation records; not lock files)
sr_left() { find "$WORK/sriov" -type f ! -path '*/vf_lock/*' 2>/dev/null | sed "s|$WORK/||" | sort; }
# sr_reserved: host-local reservations left in $WORK/ipam
sr_reserved() {
	find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null | sed "s|$WORK/||" | sort
}
# expect_clean WHAT: no state, allocation record or IP reservation is left
expect_clean() {
	expect_eq "$1: plugin files left" "$(sr_left)" ""
	expect_eq "$1: IP reservations left" "$(sr_reserved)" ""
}

# sr_result RESULT: the result's fields as shell assignments, one python3 start (costly in TCG):
# R_version R_name R_mac R_sandbox R_pci R_mtu R_nifs R_ips (space-separated addresses)
sr_result() {
	eval "$(/usr/bin/python3 -c '
import json, shlex, sys
j = json.loads(sys.argv[1]); i = (j.get("interfaces") or [{}])[0]
v = {"R_version": j.get("cniVersion", ""), "R_name": i.get("name", ""), "R_mac": i.get("mac", ""),
     "R_sandbox": i.get("sandbox", ""), "R_pci": i.get("pciID", ""), "R_mtu": i.get("mtu", ""),
     "R_nifs": len(j.get("interfaces") or []),
     "R_ips": " ".join(x["address"] + "@" + str(x.get("interface")) for x in j.get("ips") or [])}
for k, x in v.items(): print(k + "=" + shlex.quote(str(x)))' "$1")"
}

# sr_addrs NETNS DEV: DEV's global IPv4 addresses in NETNS, space-separated
sr_addrs() { ip -n "$1" -o -4 addr show dev "$2" scope global | awk '{ print $4 }' | xargs; }
# sr_mac NETNS DEV
sr_mac() { ip -n "$1" -o link show dev "$2" | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/'; }

#!/usr/bin/env bash
# test/hw/suite/15-sriov-migration.sh: sriov-cni <-> bin/sriov on the real igb/igbvf drivers (issue
# 18): bin/sriov releases a VF sriov-cni attached (its state in the layout of
# test/fixtures/sriov-cni-2.10-state.json), sriov-cni's DEL (a reader of its layout) releases one
# bin/sriov attached, and sriov-cni's latest DEL fixes (#397, #417, #447, #445) hold.
. "$(dirname "$0")/../lib.sh"
. "$HW_ROOT/test/hw/sriov-lib.sh"

# sriov-cni keeps its files here whatever cniDir says (pkg/config DefaultCNIDir)
CNI_SRIOV_DIR=/var/lib/cni/sriov
FIXTURE=$HW_ROOT/test/fixtures/sriov-cni-2.10-state.json
# the fixture's netconf
MIG_KEYS='"vlan":100,"mac":"02:00:00:00:4d:01","spoofchk":"off","trust":"on"'

# mig_down N: VF N's netdev opened once and left down: sriov-cni's DEL leaves it down
mig_down() {
	local nd
	nd=$(hw_vf_netdev "$1")
	ip link set "$nd" up && ip link set "$nd" down
}

# mig_field N NAME: NAME's value in hw_vf_state N (mac, vlan, qos, spoofchk, trust, ...)
mig_field() { [[ " $(hw_vf_state "$1")" =~ \ $2=([^ ]*) ]] && echo "${BASH_REMATCH[1]}"; }

# The fixture's layout with VF N's values before ADD: what sriov-cni 2.10's ADD writes for it.
# mig_cni_state N OUT HOST-IFNAME EFFECTIVE-MAC MTU
mig_cni_state() {
	/usr/bin/python3 - "$FIXTURE" "$2" "$(hw_vf_pci "$1")" "$HW_PF" "$1" "$3" "$4" "$5" \
		"$(mig_field "$1" mac)" "$(mig_field "$1" vlan)" "$(mig_field "$1" qos)" \
		"$(mig_field "$1" spoofchk)" "$(mig_field "$1" trust)" <<'EOF'
import json, os, sys
fixture, out, pci, pf, vf, host, eff, mtu, admin, vlan, qos, spoof, trust = sys.argv[1:]
j = json.load(open(fixture))
j.update(deviceID=pci, Master=pf, VFID=int(vf))
j["OrigVfState"].update(HostIFName=host, EffectiveMAC=eff, AdminMAC=admin, MTU=int(mtu),
                        Vlan=int(vlan), VlanQoS=int(qos), SpoofChk=spoof == "on",
                        Trust=trust == "on")
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(j, separators=(",", ":")).encode())
os.close(fd)
EOF
}

# mig_cni_del NETNS IFNAME STATE RECORD: sriov-cni 2.10's DEL of the attachment whose state is
# STATE, written from sriov-cni's documented fields (pkg/types NetConf and VfState; pkg/sriov
# ResetVFConfig then ReleaseVF; pkg/utils/pci_allocator.go): a field missing or of another JSON
# type than Go's decoder takes fails it. It never reads bin/sriov's own key.
mig_cni_del() {
	/usr/bin/python3 - "$@" "$$" <<'EOF'
import json, os, subprocess, sys
ns, ifname, path, record, pid = sys.argv[1:]
NULL = type(None)
NETCONF = {"cniVersion": (str,), "name": (str,), "type": (str,), "deviceID": (str,),
           "Master": (str,), "VFID": (int,), "MAC": (str,), "MTU": (int, NULL),
           "vlan": (int, NULL), "vlanQoS": (int, NULL), "vlanProto": (str, NULL),
           "min_tx_rate": (int, NULL), "max_tx_rate": (int, NULL), "OrigVfState": (dict,)}
OMITEMPTY = {"spoofchk": (str,), "trust": (str,), "link_state": (str,)}
VFSTATE = {"HostIFName": (str,), "SpoofChk": (bool,), "Trust": (bool,), "AdminMAC": (str,),
           "EffectiveMAC": (str,), "Vlan": (int,), "VlanQoS": (int,), "VlanProto": (int,),
           "MinTxRate": (int,), "MaxTxRate": (int,), "LinkState": (int,), "MTU": (int,)}

def check(obj, fields, optional, what):
    for k, types in list(fields.items()) + list(optional.items()):
        if k not in obj and k in optional:
            continue
        v = obj.get(k, KeyError)
        if v is KeyError or not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            sys.exit("%s: %s missing or not %s: %r" % (what, k, types, v))

c = json.load(open(path))
check(c, NETCONF, OMITEMPTY, "state")
o = c["OrigVfState"]
check(o, VFSTATE, {}, "OrigVfState")

def ip(*args):
    subprocess.run(["ip"] + list(args), check=True)

pf, vf = c["Master"], str(c["VFID"])
onoff = lambda b: "on" if b else "off"
# ResetVFConfig: only what the netconf set; the admin MAC when "mac" was set (v2.10.0)
if c["vlan"] is not None:
    ip("link", "set", pf, "vf", vf, "vlan", str(o["Vlan"]), "qos", str(o["VlanQoS"]),
       "proto", "802.1ad" if o["VlanProto"] == 0x88a8 else "802.1Q")
if c.get("spoofchk"):
    ip("link", "set", pf, "vf", vf, "spoofchk", onoff(o["SpoofChk"]))
if c["MAC"]:
    ip("link", "set", pf, "vf", vf, "mac", o["AdminMAC"])
if c.get("trust"):
    ip("link", "set", pf, "vf", vf, "trust", onoff(o["Trust"]))
if c["min_tx_rate"] is not None or c["max_tx_rate"] is not None:
    ip("link", "set", pf, "vf", vf, "min_tx_rate", str(o["MinTxRate"]),
       "max_tx_rate", str(o["MaxTxRate"]))
if c.get("link_state"):
    ip("link", "set", pf, "vf", vf, "state", ["auto", "enable", "disable"][o["LinkState"]])
# ReleaseVF, in the pod netns: down, the host name back, the effective MAC, the MTU, home
host = o["HostIFName"]
ip("-n", ns, "link", "set", ifname, "down")
ip("-n", ns, "link", "set", ifname, "name", host)
if c["MAC"]:
    ip("-n", ns, "link", "set", host, "address", o["EffectiveMAC"])
if o["MTU"]:
    ip("-n", ns, "link", "set", host, "mtu", str(o["MTU"]))
ip("-n", ns, "link", "set", host, "netns", pid)
# the allocation record it reads is the netns path alone; it removes it, then the state
held = open(record).read()
if held != "/run/netns/" + ns:
    sys.exit("allocation record %s holds %r, not the netns path" % (record, held))
os.remove(record)
os.remove(path)
EOF
}

# Issue 18, migration: a pod sriov-cni attached (VF set as the fixture's netconf sets it, netdev
# in the pod, state and allocation record in /var/lib/cni/sriov) is released by bin/sriov, whose
# netconf names another cniDir, exactly to the VF's state before.
t_a_vf_sriov_cni_attached_is_restored_exactly_by_bin_sriov_del() {
	local ns=${TAG}s vf=0 cid=mig${TAG}cni before nd pci eff mtu state record
	hw_restore_at_exit $vf
	netns_new $ns
	mig_down $vf
	before=$(sr_snap $vf)
	nd=$(hw_vf_netdev $vf)
	pci=$(hw_vf_pci $vf)
	eff=$(cat "/sys/class/net/$nd/address")
	mtu=$(cat "/sys/class/net/$nd/mtu")
	state=$CNI_SRIOV_DIR/$cid-net1
	record=$CNI_SRIOV_DIR/pci/$pci
	install -d -m 0700 "$CNI_SRIOV_DIR" "$CNI_SRIOV_DIR/pci"
	cleanup_add "rm -f $state $record"
	mig_cni_state $vf "$state" "$nd" "$eff" "$mtu"
	# sriov-cni 2.10's ADD: PF side, then the netdev into the pod with the MAC, up
	ip link set "$HW_PF" vf $vf vlan 100
	ip link set "$HW_PF" vf $vf mac 02:00:00:00:4d:01
	ip link set "$HW_PF" vf $vf spoofchk off
	ip link set "$HW_PF" vf $vf trust on
	ip link set "$nd" netns $ns
	ip -n $ns link set "$nd" name net1
	ip -n $ns link set net1 address 02:00:00:00:4d:01
	ip -n $ns link set net1 up
	printf %s "/run/netns/$ns" >"$record"
	expect_contains "PF vf line as sriov-cni set it" "$(hw_vf_info $vf)" "vlan 100"
	sr_ok DEL $ns $cid net1 "$(sr_conf $vf "$MIG_KEYS")" >/dev/null
	expect_eq "vf $vf after bin/sriov's DEL" "$(sr_snap $vf)" "$before"
	expect_eq "pod interfaces" "$(links_in $ns)" 0
	[ ! -e "$state" ] || fail "sriov-cni's state $state is left"
	[ ! -e "$record" ] || fail "sriov-cni's allocation record $record is left"
}

# Issue 18, rollback: a pod bin/sriov attached (default cniDir, where sriov-cni looks) is released
# by sriov-cni's DEL reading bin/sriov's files: the VF ends as it was before.
t_sriov_cni_del_restores_a_vf_bin_sriov_attached() {
	local ns=${TAG}b vf=1 cid=mig${TAG}rb before pci conf state record
	hw_restore_at_exit $vf
	netns_new $ns
	mig_down $vf
	before=$(sr_snap $vf)
	pci=$(hw_vf_pci $vf)
	state=$CNI_SRIOV_DIR/$cid-net1
	record=$CNI_SRIOV_DIR/pci/$pci
	cleanup_add "rm -f $state $record $record.owner"
	conf=$(printf '{"cniVersion":"1.0.0","name":"hw-mig","type":"sriov","deviceID":"%s",%s}' \
		"$pci" "$MIG_KEYS")
	sr_ok ADD $ns $cid net1 "$conf" >/dev/null
	expect_eq "allocation record" "$(cat "$record")" "/run/netns/$ns"
	mig_cni_del $ns net1 "$state" "$record" || fail "sriov-cni's DEL failed"
	expect_eq "vf $vf after sriov-cni's DEL" "$(sr_snap $vf)" "$before"
	expect_eq "pod interfaces" "$(links_in $ns)" 0
}

# sriov-cni #397 and #417: a MAC set behind the plugin's back, on the PF side (a DPDK app, an
# operator) or on the netdev (an app with NET_ADMIN), is undone by DEL though the netconf set none.
t_del_restores_macs_changed_behind_the_plugin() {
	local ns=${TAG}m vf=2 before conf
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	conf=$(sr_conf $vf '"vlan":11,"trust":"on"')
	sr_ok ADD $ns c-macs net1 "$conf" >/dev/null
	ip link set "$HW_PF" vf $vf mac 02:00:00:0f:00:01
	ip -n $ns link set net1 address 02:00:00:0f:00:02
	expect_eq "net1 mac" "$(sr_mac $ns net1)" 02:00:00:0f:00:02
	sr_ok DEL $ns c-macs net1 "$conf" >/dev/null
	expect_eq "vf $vf after DEL" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

# sriov-cni #447: the netns bind mount is gone but its file is left (a path that is no netns):
# DEL treats it as a missing netns, finds the VF the kernel sent home and restores it.
t_del_with_a_corrupted_netns_bind_mount_restores_the_vf() {
	local ns=${TAG}x vf=3 before conf
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	conf=$(sr_conf $vf '"vlan":12,"mac":"02:00:00:0f:01:01"')
	sr_ok ADD $ns c-bind net1 "$conf" >/dev/null
	umount "/run/netns/$ns"
	[ -f "/run/netns/$ns" ] || fail "the netns file went with its mount"
	sr_wait_home $vf net1
	sr_ok DEL $ns c-bind net1 "$conf" >/dev/null
	expect_eq "vf $vf after DEL" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

# sriov-cni #445: the pod's interface name left on the VF as an altname would make the next ADD
# as that name fail with "file exists"; DEL clears it.
t_the_pod_ifname_left_as_an_altname_is_cleared_on_del() {
	local ns=${TAG}n vf=4 before conf
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	conf=$(sr_conf $vf '"vlan":13')
	sr_ok ADD $ns c-alt net1 "$conf" >/dev/null
	ip -n $ns link set net1 down
	ip -n $ns link set net1 name eth9
	ip -n $ns link property add dev eth9 altname net1 || skip "no altnames in this kernel"
	sr_ok DEL $ns c-alt net1 "$conf" >/dev/null
	expect_eq "vf $vf after DEL" "$(sr_snap $vf)" "$before"
	expect_not_contains "host netdev" "$(ip -d link show "$(hw_vf_netdev $vf)")" "altname net1"
	sr_ok ADD $ns c-alt2 net1 "$conf" >/dev/null
	sr_ok DEL $ns c-alt2 net1 "$conf" >/dev/null
	expect_eq "vf $vf after the second DEL" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

run_tests

#!/usr/bin/env bash
# test/hw/suite/10-sriov.sh: bin/sriov on the real igb/igbvf drivers, called as a runtime calls
# it: every netconf key, the pod's netdev, IPAM, traffic, DEL in every order, CHECK, DPDK mode.
# Every effect is read back with ip(8) and sysfs, never through the plugin (issue 6 item 2).
. "$(dirname "$0")/../lib.sh"
. "$HW_ROOT/test/hw/sriov-lib.sh"

t_vlan_qos_mac_spoofchk_trust_max_rate_take_effect_and_del_restores_them() {
	local ns=${TAG}k vf=0 before res info
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	res=$(sr_ok ADD $ns c-keys net1 "$(sr_conf $vf '"vlan":100,"vlanQoS":3,"mac":"02:00:00:0a:00:01","spoofchk":"off","trust":"on","max_tx_rate":100')")
	info=$(hw_vf_info $vf)
	expect_contains "PF vf line" "$info" "link/ether 02:00:00:0a:00:01"
	expect_contains "PF vf line" "$info" "vlan 100, qos 3"
	expect_contains "PF vf line" "$info" "max_tx_rate 100Mbps"
	expect_contains "PF vf line" "$info" "spoof checking off"
	expect_contains "PF vf line" "$info" "trust on"
	sr_result "$res"
	expect_eq "result cniVersion" "$R_version" 1.1.0
	expect_eq "result interfaces" "$R_nifs" 1
	expect_eq "result name" "$R_name" net1
	expect_eq "result mac" "$R_mac" 02:00:00:0a:00:01
	expect_eq "result sandbox" "$R_sandbox" /run/netns/$ns
	expect_eq "result pciID" "$R_pci" "$(hw_vf_pci $vf)"
	expect_eq "host netdev of vf $vf" "$(hw_vf_netdev $vf)" ""
	expect_eq "net1 mac" "$(sr_mac $ns net1)" 02:00:00:0a:00:01
	expect_eq "net1 device" "$(basename "$(ip netns exec $ns readlink -f /sys/class/net/net1/device)")" "$(hw_vf_pci $vf)"
	ip -n $ns -o link show net1 | grep -q '[<,]UP[,>]' || fail "net1 is not up"
	sr_ok DEL $ns c-keys net1 "$(sr_conf $vf '"vlan":100,"vlanQoS":3,"mac":"02:00:00:0a:00:01","spoofchk":"off","trust":"on","max_tx_rate":100')" >/dev/null
	expect_eq "vf $vf after DEL" "$(sr_snap $vf)" "$before"
	expect_eq "net1 gone from the pod" "$(links_in $ns)" 0
	expect_clean DEL
}

# igb refuses these with its own errno (docs/HARDWARE.md, 00-driver.sh); ADD fails with the
# kernel's words and rolls back what it set before (vlan, mac come first), leaving the vf line
# exactly as it was.
t_link_state_min_rate_and_8021ad_fail_with_the_driver_error_and_change_nothing() {
	need_igb
	local ns=${TAG}r vf=1 before out key want
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	for key in '"link_state":"enable"|Operation not supported' '"min_tx_rate":10|Invalid argument' \
		'"vlanProto":"802.1ad"|Protocol not supported'; do
		want=${key#*|}
		key=${key%|*}
		out=$(sr ADD $ns c-ref net1 "$(sr_conf $vf "\"vlan\":200,\"mac\":\"02:00:00:0a:01:01\",\"spoofchk\":\"off\",$key")" 2>"$WORK/err") &&
			fail "ADD with $key succeeded: $out"
		expect_contains "ADD with $key" "$out" "$want"
		expect_eq "vf $vf after the refused $key" "$(sr_snap $vf)" "$before"
		expect_eq "pod after the refused $key" "$(links_in $ns)" 0
		expect_clean "refused $key"
	done
}

# mac < CNI_ARGS MAC= < runtimeConfig.mac (docs/sriov.md), each on the netdev and the PF side
t_the_pod_netdev_gets_the_requested_mac_by_precedence() {
	local ns=${TAG}m vf=2 before conf rc
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	for rc in 'netconf|02:00:00:0b:00:01' 'args|02:00:00:0b:00:02' 'runtime|02:00:00:0b:00:03'; do
		local want=${rc#*|} SR_ARGS=""
		conf=$(sr_conf $vf '"mac":"02:00:00:0b:00:01"')
		case ${rc%|*} in
		args) SR_ARGS="MAC=02:00:00:0b:00:02" ;;
		runtime)
			SR_ARGS="MAC=02:00:00:0b:00:02"
			conf=$(sr_conf $vf '"mac":"02:00:00:0b:00:01","runtimeConfig":{"mac":"02:00:00:0b:00:03"}')
			;;
		esac
		sr_ok ADD $ns c-mac eth5 "$conf" >/dev/null
		expect_eq "${rc%|*}: pod mac" "$(sr_mac $ns eth5)" "$want"
		expect_contains "${rc%|*}: PF vf line" "$(hw_vf_info $vf)" "link/ether $want"
		sr_ok DEL $ns c-mac eth5 "$conf" >/dev/null
		expect_eq "${rc%|*}: vf $vf after DEL" "$(sr_snap $vf)" "$before"
	done
	expect_clean DEL
}

# IPAM's addresses in the result and really on the netdev (host-local and static, at 1.0.0: Debian's
# plugins stop there); then traffic between two pods over two VFs.
t_two_pods_get_their_addresses_and_ping_each_other_over_two_vfs() {
	local a=${TAG}a b=${TAG}b before2 before3 ra rb SR_VERSION=1.0.0
	hw_restore_at_exit 2 3
	netns_new $a
	netns_new $b
	before2=$(sr_before 2)
	before3=$(sr_before 3)
	ra=$(sr_ok ADD $a c-pa net1 "$(sr_conf 2 "$(sr_hostlocal 192.0.2.0/24)")")
	rb=$(sr_ok ADD $b c-pb net1 "$(sr_conf 3 "$(sr_static 192.0.2.200/24)")")
	sr_result "$ra"
	expect_eq "result cniVersion" "$R_version" 1.0.0
	expect_eq "result interfaces" "$R_nifs" 1
	expect_eq "result name" "$R_name" net1
	expect_eq "result sandbox" "$R_sandbox" /run/netns/$a
	expect_eq "result mac is the netdev's" "$R_mac" "$(sr_mac $a net1)"
	expect_eq "result ips" "$R_ips" "192.0.2.2/24@0"
	expect_eq "addresses on net1 in $a" "$(sr_addrs $a net1)" 192.0.2.2/24
	expect_contains "static result" "$rb" 192.0.2.200/24
	expect_eq "addresses on net1 in $b" "$(sr_addrs $b net1)" 192.0.2.200/24
	hw_wait_carrier $a net1
	hw_wait_carrier $b net1
	local out
	out=$(ip netns exec $a ping -c 3 -i 0.2 -w 20 192.0.2.200) || fail "ping: $out"
	expect_contains "ping 192.0.2.200 from $a" "$out" "3 received"
	sr_ok DEL $a c-pa net1 "$(sr_conf 2 "$(sr_hostlocal 192.0.2.0/24)")" >/dev/null
	sr_ok DEL $b c-pb net1 "$(sr_conf 3 "$(sr_static 192.0.2.200/24)")" >/dev/null
	expect_eq "vf 2 after DEL" "$(sr_snap 2)" "$before2"
	expect_eq "vf 3 after DEL" "$(sr_snap 3)" "$before3"
	expect_clean DEL
}

# The runtime may delete the netns before DEL: the kernel sends the VF home under its pod name
# (or devN); DEL finds it by PCI address. A second DEL finds nothing to do.
t_del_after_the_netns_is_gone_and_del_twice_restore_the_vf() {
	local ns=${TAG}d vf=4 before conf SR_VERSION=1.0.0
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	conf=$(sr_conf $vf "\"vlan\":42,\"mac\":\"02:00:00:0d:00:01\",\"trust\":\"on\",$(sr_hostlocal 192.0.2.0/24)")
	sr_ok ADD $ns c-gone net1 "$conf" >/dev/null
	ip netns del $ns
	sr_ok DEL $ns c-gone net1 "$conf" >/dev/null
	expect_eq "vf $vf after DEL without netns" "$(sr_snap $vf)" "$before"
	sr_ok DEL $ns c-gone net1 "$conf" >/dev/null
	expect_eq "vf $vf after a second DEL" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

# One VF, one pod: a second ADD is refused (code 11) until the first pod's netns is gone; then the
# new pod gets the VF as it was before the dead pod, whatever order the DELs come in.
t_a_vf_in_use_is_refused_until_its_pod_is_gone() {
	local a=${TAG}1 b=${TAG}2 vf=5 before conf out
	hw_restore_at_exit $vf
	netns_new $a
	netns_new $b
	before=$(sr_before $vf)
	conf=$(sr_conf $vf '"vlan":7')
	sr_ok ADD $a c-one net1 "$conf" >/dev/null
	out=$(sr ADD $b c-two net1 "$conf" 2>/dev/null) && fail "second ADD succeeded: $out"
	expect_eq "second ADD code" "$(sr_code "$out")" 11
	expect_contains "second ADD" "$out" "pci address $(hw_vf_pci $vf) is already allocated"
	expect_eq "pod $b" "$(links_in $b)" 0
	expect_eq "pod $a keeps net1" "$(ip -n $a -o link show net1 >/dev/null && echo yes)" yes
	# The pod dies without DEL; the kernel sends the VF home as net1, still on vlan 7.
	ip netns del $a
	sr_wait_home $vf net1
	sr_ok ADD $b c-two net1 "$(sr_conf $vf '"vlan":8')" >/dev/null
	expect_contains "pod $b has the VF" "$(ip -n $b -o link show net1)" net1
	expect_contains "PF vf line for pod $b" "$(hw_vf_info $vf)" "vlan 8"
	# The late DEL of the dead pod finds nothing left to undo and leaves pod b alone.
	sr_ok DEL $a c-one net1 "$conf" >/dev/null
	expect_contains "pod $b keeps the VF" "$(ip -n $b -o link show net1)" net1
	expect_contains "PF vf line for pod $b" "$(hw_vf_info $vf)" "vlan 8"
	# ADD b restored the dead pod's VF first, so DEL b gives back the original, not net1/vlan 7.
	sr_ok DEL $b c-two net1 "$(sr_conf $vf '"vlan":8')" >/dev/null
	expect_eq "vf $vf after both DELs" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

# CHECK (with prevResult) passes after ADD and names what changed behind the plugin's back.
t_check_passes_after_add_and_names_a_changed_vlan_or_mac() {
	local ns=${TAG}c vf=6 conf res out before
	hw_restore_at_exit $vf
	netns_new $ns
	before=$(sr_before $vf)
	conf=$(sr_conf $vf '"vlan":300,"mac":"02:00:00:0c:00:01","trust":"on"')
	res=$(sr_ok ADD $ns c-chk net1 "$conf")
	sr_ok CHECK $ns c-chk net1 "$(sr_with_prev "$conf" "$res")" >/dev/null
	ip link set "$HW_PF" vf $vf vlan 301
	out=$(sr CHECK $ns c-chk net1 "$(sr_with_prev "$conf" "$res")" 2>/dev/null) &&
		fail "CHECK passed with vlan 301"
	expect_contains "CHECK after vlan 301" "$out" "vlan 301"
	ip link set "$HW_PF" vf $vf vlan 300
	sr_ok CHECK $ns c-chk net1 "$(sr_with_prev "$conf" "$res")" >/dev/null
	ip -n $ns link set net1 address 02:00:00:0c:00:99
	out=$(sr CHECK $ns c-chk net1 "$(sr_with_prev "$conf" "$res")" 2>/dev/null) &&
		fail "CHECK passed with the mac changed"
	expect_contains "CHECK after the mac change" "$out" "02:00:00:0c:00:99"
	sr_ok DEL $ns c-chk net1 "$conf" >/dev/null
	expect_eq "vf $vf after DEL" "$(sr_snap $vf)" "$before"
	expect_clean DEL
}

# DPDK mode (a VF on vfio-pci, no netdev): the PF side is set and restored, nothing moves, the
# result names the VF by pciID; then the VF goes back to igbvf and has a netdev again.
t_a_vf_on_vfio_pci_is_attached_in_dpdk_mode_and_released() {
	compgen -G "/sys/kernel/iommu_groups/*" >/dev/null || skip "no IOMMU (HW_VFIO=0?)"
	local ns=${TAG}v vf=1 drv before conf res info
	hw_restore_at_exit $vf
	netns_new $ns
	drv=$(hw_vf_driver $vf)
	before=$(sr_before $vf)
	hw_vf_bind $vf vfio-pci
	expect_eq "vf $vf netdev on vfio-pci" "$(hw_vf_netdev $vf)" ""
	conf=$(sr_conf $vf '"vlan":500,"vlanQoS":2,"mac":"02:00:00:0e:00:01","spoofchk":"off","trust":"on"')
	res=$(sr_ok ADD $ns c-dpdk net1 "$conf")
	info=$(hw_vf_info $vf)
	expect_contains "PF vf line" "$info" "link/ether 02:00:00:0e:00:01"
	expect_contains "PF vf line" "$info" "vlan 500, qos 2"
	expect_contains "PF vf line" "$info" "spoof checking off"
	expect_contains "PF vf line" "$info" "trust on"
	expect_eq "vf $vf driver" "$(hw_vf_driver $vf)" vfio-pci
	expect_eq "pod interfaces" "$(links_in $ns)" 0
	sr_result "$res"
	expect_eq "result name" "$R_name" net1
	expect_eq "result pciID" "$R_pci" "$(hw_vf_pci $vf)"
	expect_eq "result mac" "$R_mac" 02:00:00:0e:00:01
	expect_eq "result sandbox" "$R_sandbox" /run/netns/$ns
	expect_eq "result ips" "$R_ips" ""
	sr_ok CHECK $ns c-dpdk net1 "$(sr_with_prev "$conf" "$res")" >/dev/null
	sr_ok DEL $ns c-dpdk net1 "$conf" >/dev/null
	expect_clean DEL
	hw_vf_bind $vf "$drv"
	[ -n "$(hw_vf_netdev $vf)" ] || fail "vf $vf has no netdev back on $drv"
	expect_eq "vf $vf PF side after DEL" "$(hw_vf_info $vf)" "${before%% | *}"
}

run_tests

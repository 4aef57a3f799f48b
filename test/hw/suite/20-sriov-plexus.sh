#!/usr/bin/env bash
# test/hw/suite/20-sriov-plexus.sh: bin/plexus with delegates that name sriov, on the real drivers:
# eth0 from a bridge + host-local cluster network, net1 and net2 from two VFs (issue 6 item 2).
. "$(dirname "$0")/../lib.sh"
. "$HW_ROOT/test/hw/sriov-lib.sh"

# plexus VERB NETNS CID < netconf: as a runtime calls it; delegates from $HW_ROOT/bin (sriov)
# and Debian's /usr/lib/cni
plexus() {
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=$3 CNI_IFNAME=eth0 \
		CNI_PATH="$HW_ROOT/bin:$PLUGINS" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=hw;K8S_POD_NAME=pod-$3;K8S_POD_INFRA_CONTAINER_ID=$3" \
		"$PLEXUS"
}

# sriov_delegate NAME VF EXTRA: a delegate netconf for VF (deviceID given in the delegate)
sriov_delegate() {
	printf '{"cniVersion":"1.0.0","name":"%s","type":"sriov","deviceID":"%s","cniDir":"%s"%s}' \
		"$1" "$(hw_vf_pci "$2")" "$WORK/sriov" "${3:+,$3}"
}

t_plexus_attaches_a_cluster_network_and_two_vfs_and_del_restores_both() {
	[ -x "$PLEXUS" ] || fail "$PLEXUS is missing"
	# no udev in the guest, and the kernel's modprobe helper runs in the initramfs: load them here
	modprobe bridge && modprobe veth || skip "no bridge or veth module"
	local ns=${TAG}p a=2 b=3 before_a before_b conf out
	hw_restore_at_exit $a $b
	sr_dirs
	netns_new $ns
	cleanup_add "ip link del ${TAG}br"
	before_a=$(sr_before $a)
	before_b=$(sr_before $b)
	conf=$(printf '{"cniVersion":"1.0.0","name":"hw-plexus","type":"plexus","cniDir":"%s","confDir":"%s","delegates":[%s,%s,%s]}' \
		"$WORK/plexus" "$WORK/conf" \
		"{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\",\"bridge\":\"${TAG}br\",\"isGateway\":true,$(sr_hostlocal 10.233.0.0/24)}" \
		"$(sriov_delegate sriov-a $a "\"vlan\":210,\"mac\":\"02:00:00:2a:00:01\",$(sr_static 192.0.2.10/24)")" \
		"$(sriov_delegate sriov-b $b '"vlan":220,"spoofchk":"off"')")
	mkdir -p "$WORK/conf"
	out=$(plexus ADD $ns c-plexus <<<"$conf" 2>"$WORK/err") || fail "plexus ADD: $out $(cat "$WORK/err")"
	expect_eq "eth0 address" "$(sr_addrs $ns eth0)" 10.233.0.2/24
	expect_eq "net1 is VF $a" "$(basename "$(ip netns exec $ns readlink -f /sys/class/net/net1/device)")" "$(hw_vf_pci $a)"
	expect_eq "net2 is VF $b" "$(basename "$(ip netns exec $ns readlink -f /sys/class/net/net2/device)")" "$(hw_vf_pci $b)"
	expect_eq "net1 mac" "$(sr_mac $ns net1)" 02:00:00:2a:00:01
	expect_eq "net1 address" "$(sr_addrs $ns net1)" 192.0.2.10/24
	expect_contains "PF vf $a" "$(hw_vf_info $a)" "vlan 210"
	expect_contains "PF vf $b" "$(hw_vf_info $b)" "vlan 220"
	expect_contains "PF vf $b" "$(hw_vf_info $b)" "spoof checking off"
	# as Multus: the result is the cluster network's
	expect_contains "result" "$out" "10.233.0.2/24"
	out=$(plexus DEL $ns c-plexus <<<"$conf" 2>"$WORK/err") || fail "plexus DEL: $out $(cat "$WORK/err")"
	expect_eq "pod after DEL" "$(links_in $ns)" 0
	expect_eq "vf $a after DEL" "$(sr_snap $a)" "$before_a"
	expect_eq "vf $b after DEL" "$(sr_snap $b)" "$before_b"
	expect_clean DEL
	expect_eq "plexus cache left" "$(find "$WORK/plexus" -type f 2>/dev/null)" ""
}

run_tests

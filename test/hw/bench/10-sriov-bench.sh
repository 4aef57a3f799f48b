#!/usr/bin/env bash
# test/hw/bench/10-sriov-bench.sh: the sriov benchmark (issue 5), run in the hardware-lane guest by
# `make bench` (scripts/bench: HW_SUITE_DIR=test/hw/bench test/hw/run). On the real igb/igbvf
# drivers: wall time of ADD and DEL of one VF with vlan, mac, spoofchk and trust (median of
# HW_BENCH_RUNS, default 15), the plugin's peak RSS (build/bench/rss, static, built by
# scripts/bench) and the binary's size. Prints a table between "--- sriov bench" and "--- end";
# asserts only that the calls succeed. Under TCG every time is several times a real CPU's.
. "$(dirname "$0")/../lib.sh"
. "$HW_ROOT/test/hw/sriov-lib.sh"

RSS=$HW_BUILD/bench/rss

now_us() { echo "${EPOCHREALTIME/./}"; }
# stats FILE: "median min max" of the numbers in FILE (one a line)
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%d %d %d\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
row() { # row WHAT TIMES-FILE RSS-FILE
	local m lo hi rss
	read -r m lo hi < <(stats "$2")
	rss=$([ -s "$3" ] && sort -n "$3" | tail -n1 || echo -)
	awk -v w="$1" -v m="$m" -v lo="$lo" -v hi="$hi" -v r="$rss" \
		'BEGIN { printf "| %-44s | %7.1f | %7.1f | %7.1f | %8s |\n", w, m / 1000, lo / 1000, hi / 1000, r }'
}

t_sriov_add_and_del_of_one_vf() {
	[ -x "$RSS" ] || fail "$RSS is missing: scripts/bench builds it on the host"
	local runs=${HW_BENCH_RUNS:-15} vf=0 ns=${TAG}b i t0 t1 conf cid SR_WRAP=$RSS
	local keys='"vlan":100,"vlanQoS":3,"mac":"02:00:00:be:00:01","spoofchk":"off","trust":"on"'
	hw_restore_at_exit $vf
	netns_new $ns
	conf=$(sr_conf $vf "$keys")
	for ((i = 0; i < runs; i++)); do
		cid=c-bench$i
		t0=$(now_us)
		sr ADD $ns $cid net1 "$conf" >/dev/null 2>>"$WORK/add.rss" || fail "ADD $i failed"
		t1=$(now_us)
		echo $((t1 - t0)) >>"$WORK/add.us"
		sr DEL $ns $cid net1 "$conf" >/dev/null 2>>"$WORK/del.rss" || fail "DEL $i failed"
		echo $(($(now_us) - t1)) >>"$WORK/del.us"
	done
	# the same PF-side settings by iproute2, for scale
	for ((i = 0; i < runs; i++)); do
		t0=$(now_us)
		ip link set "$HW_PF" vf $vf vlan 100 qos 3 mac 02:00:00:be:00:01 spoofchk off trust on
		echo $(($(now_us) - t0)) >>"$WORK/ip.us"
		ip link set "$HW_PF" vf $vf vlan 0 spoofchk on trust off
	done
	sed -n 's/^maxrss_kib=//p' "$WORK/add.rss" >"$WORK/add.kib"
	sed -n 's/^maxrss_kib=//p' "$WORK/del.rss" >"$WORK/del.kib"
	local size
	size=$(stat -c %s "$SRIOV")
	echo "--- sriov bench"
	echo "bin/sriov on $(basename "$(readlink "/sys/bus/pci/devices/$HW_PF_PCI/driver")")/$(hw_vf_driver $vf), kernel $(uname -r), $HW_MODE, $runs runs"
	echo "config: $keys (no IPAM)"
	echo
	echo "| what                                         |  median |     min |     max | peak RSS |"
	echo "|                                              |      ms |      ms |      ms |      KiB |"
	echo "|----------------------------------------------|--------:|--------:|--------:|---------:|"
	row "sriov ADD (PF side, netns move, MAC, up)" "$WORK/add.us" "$WORK/add.kib"
	row "sriov DEL (PF side back, netdev home)" "$WORK/del.us" "$WORK/del.kib"
	row "ip link set PF vf (the same 5 PF-side keys)" "$WORK/ip.us" /dev/null
	echo
	echo "binary: bin/sriov $size bytes ($((size / 1024)) KiB), $(size "$SRIOV" | awk 'NR == 2 { print "text " $1 ", data " $2 ", bss " $3 }')"
	echo "linked: $(ldd "$SRIOV" | awk '{ print $1 }' | grep -v -e linux-vdso -e ld-linux | xargs)"
	echo "--- end"
}

run_tests

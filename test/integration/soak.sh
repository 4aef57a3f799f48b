#!/usr/bin/env bash
# test/integration/soak.sh: load and soak: SOAK_PODS (default 50) pods added concurrently on
# this machine, then deleted, for SOAK_ROUNDS rounds (default 2 in `make check`; the issue's
# full run is SOAK_ROUNDS=20) with random faults: a delegate failing for some pods, plexus
# killed with -9 during others. Every ADD that was not killed succeeds completely or fails
# completely, and afterwards the host is exactly as before: links, addresses, host-local
# reservations, caches.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
PODS=${SOAK_PODS:-50}
ROUNDS=${SOAK_ROUNDS:-2}

# What this test can change on the host: links named after its TAG, every link enslaved to its
# bridge (the bridge plugin's host-side veths, random names), their addresses, and its IPAM and
# cache files. Other links are left out: tests running beside this one add and remove theirs.
host_state() {
	local links
	links=$({ ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$TAG"
		ip -o link show master ${TAG}s0 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'; } | sort -u)
	{
		echo "$links"
		for l in $links; do ip -o addr show dev "$l" 2>/dev/null | awk '$4 !~ /^fe80:/ {print $2, $4}'; done | sort
		find "$WORK/ipam" "$WORK/cni" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null | sort
	}
}

t_concurrent_pods_with_random_faults_leave_the_host_as_it_was() {
	local r i before after pid cut=0 injected=0
	mkdir -p "$WORK/bin" "$WORK/ipam"
	ip link add ${TAG}sv type veth peer name ${TAG}sp
	cleanup_add "ip link del ${TAG}sv; ip link del ${TAG}s0"
	ip link set ${TAG}sv up
	ip link set ${TAG}sp up
	# fails ADD for the pods whose container ID ends in 3 or 7
	printf '#!/bin/sh\ncase "$CNI_CONTAINERID" in *3|*7) [ "$CNI_COMMAND" = ADD ] && { echo "{\\"code\\":11,\\"msg\\":\\"injected\\"}"; exit 1; };; esac\nexec /usr/lib/cni/macvlan\n' >"$WORK/bin/flaky"
	chmod +x "$WORK/bin/flaky"
	cat >"$WORK/nc.json" <<EOF2
{"cniVersion":"1.0.0","name":"soak","type":"plexus","cniDir":"$WORK/cni","binDir":"$WORK/bin",
 "delegates":[
  {"cniVersion":"1.0.0","name":"cluster","type":"bridge","bridge":"${TAG}s0",
   "ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.238.0.0/22"}]]}},
  {"cniVersion":"1.0.0","name":"data","type":"flaky","master":"${TAG}sv","mode":"bridge",
   "ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.239.0.0/22"}]]}}]}
EOF2
	for i in $(seq 1 "$PODS"); do netns_new ${TAG}p$i; done
	# the bridge exists from the first ADD on; create it now so it is part of "before"
	ip link add ${TAG}s0 type bridge
	before=$(host_state)
	for r in $(seq 1 "$ROUNDS"); do
		RANDOM=$r
		declare -A killed=()
		local pids=()
		for i in $(seq 1 "$PODS"); do
			CNI_COMMAND=ADD CNI_NETNS=/run/netns/${TAG}p$i CNI_CONTAINERID=r${r}p$i CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
				"$PLEXUS" <"$WORK/nc.json" >"$WORK/add$i" 2>/dev/null &
			pids[$i]=$!
			if [ $((RANDOM % 10)) -eq 0 ]; then killed[$i]=1; fi
		done
		sleep 0.05
		# what each kill hits: plexus, or still the shell before its exec, or nothing (the ADD
		# is done)
		declare -A hit=() status=()
		for i in "${!killed[@]}"; do kill9_seen "${pids[$i]}" "hit[$i]"; done
		for i in $(seq 1 "$PODS"); do
			status[$i]=0
			wait "${pids[$i]}" 2>/dev/null || status[$i]=$?
		done
		for i in $(seq 1 "$PODS"); do
			if [ -n "${killed[$i]:-}" ]; then
				if cut_plexus "${hit[$i]}" "${status[$i]}"; then cut=$((cut + 1)); fi
				continue
			fi
			local n; n=$(links_in ${TAG}p$i)
			if grep -q '"code"' "$WORK/add$i"; then
				[ "$n" -eq 0 ] || fail "round $r pod $i: failed ADD left $n interfaces"
				! grep -q injected "$WORK/add$i" || injected=$((injected + 1))
			else
				[ "$n" -eq 2 ] || fail "round $r pod $i: successful ADD has $n interfaces"
			fi
		done
		pids=()
		for i in $(seq 1 "$PODS"); do
			CNI_COMMAND=DEL CNI_NETNS=/run/netns/${TAG}p$i CNI_CONTAINERID=r${r}p$i CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
				"$PLEXUS" <"$WORK/nc.json" >/dev/null 2>&1 &
			pids[$i]=$!
		done
		for i in $(seq 1 "$PODS"); do wait "${pids[$i]}" || fail "round $r pod $i: DEL failed"; done
		after=$(host_state)
		[ "$before" = "$after" ] || fail "round $r: host changed: $(diff <(echo "$before") <(echo "$after") | head -20)"
		for i in $(seq 1 "$PODS"); do
			[ "$(links_in ${TAG}p$i)" -eq 0 ] || fail "round $r pod $i: interfaces left"
		done
		unset killed hit status
	done
	# the kills are faults only if they land: at least one must have cut an ADD short
	[ "$cut" -gt 0 ] || fail "no kill -9 came during an ADD"
	# so is the failing delegate: at least one ADD not killed failed with its error
	[ "$injected" -gt 0 ] || fail "no ADD failed with the flaky delegate's injected error"
}

run_tests

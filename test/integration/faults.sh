#!/usr/bin/env bash
# test/integration/faults.sh: plexus when things go wrong, with real plugins and namespaces: a
# delegate that crashes, prints garbage or floods its output; plexus killed at random points
# of ADD; a full or read-only cache filesystem; the API stand-in down, slow, throttling,
# conflicting or dropping connections. Every case ends with nothing left behind.
# KILL_SEEDS (default 12) sets how many random kill -9 points are tried.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}

# plexus VERB NETNS CID < netconf, through kept; `(EXEC=exec plexus ...) &` makes $! plexus
# itself (see EXEC in test/lib.sh)
plexus() {
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=${POD:-pod-$3};K8S_POD_UID=${UID_ARG:-}" \
	${EXEC:-kept} $MEMCHECK "$PLEXUS"
}

bridge_conf() { # NAME BRIDGE SUBNET
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"type\":\"bridge\",\"bridge\":\"$2\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"$3\"}]]}}"
}

netconf() { # DELEGATES [EXTRA]
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-net\",\"type\":\"plexus\",\"cniDir\":\"${CNIDIR:-$WORK/cni}\",\"binDir\":\"$WORK/bin\",\"delegates\":[$1]${2:+,$2}}"
}

setup() {
	mkdir -p "$WORK/bin" "$WORK/ipam"
	cleanup_add "ip link del ${TAG}f0; ip link del ${TAG}f1"
}

expect_clean() { # NETNS
	[ "$(links_in $1)" -eq 0 ] || fail "interfaces left in $1: $(ip -n $1 -br link)"
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "reservations left: $(find "$WORK/ipam" -name '10.*')"
	[ -z "$(find "${CNIDIR:-$WORK/cni}" -type f 2>/dev/null)" ] || fail "cache left: $(find "${CNIDIR:-$WORK/cni}" -type f)"
}

# bad_delegate NAME SCRIPT-BODY: a plugin that misbehaves on ADD and behaves on DEL
bad_delegate() {
	printf '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then\n%s\nfi\nexit 0\n' "$2" >"$WORK/bin/$1"
	chmod +x "$WORK/bin/$1"
}

misbehaving_delegate_is_rolled_back() { # SCRIPT-BODY EXPECTED-TEXT
	local ns=${TAG}m out
	setup
	netns_new $ns
	bad_delegate bad "$1"
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.0.0/24),$(bridge_conf second ${TAG}f1 10.237.1.0/24),{\"cniVersion\":\"1.0.0\",\"name\":\"bad\",\"type\":\"bad\"}" >"$WORK/nc.json"
	out=$(plexus ADD $ns cm <"$WORK/nc.json") && fail "ADD succeeded"
	expect_contains "error" "$out" "$2"
	expect_contains "names the network" "$out" 'network \"bad\"'
	[ "$(links_in $ns)" -eq 0 ] || fail "rollback left interfaces"
	plexus DEL $ns cm <"$WORK/nc.json"
	expect_clean $ns
}

t_delegate_that_crashes() { misbehaving_delegate_is_rolled_back 'kill -SEGV $$' "netplugin failed with no error message"; }
t_delegate_that_prints_garbage() { misbehaving_delegate_is_rolled_back 'echo "this is not JSON {"; exit 0' "not valid JSON"; }
t_delegate_that_floods_its_output() { misbehaving_delegate_is_rolled_back 'head -c 80000000 /dev/zero | tr "\\0" x; exit 0' "exceeds"; }
t_delegate_that_exits_1_with_stderr_only() { misbehaving_delegate_is_rolled_back 'echo "boom on stderr" >&2; exit 1' "boom on stderr"; }

t_kill_9_at_random_points_of_add_then_del_leaves_nothing() {
	local ns=${TAG}k seed pid ms cut=0 n=0 t0 span kills=${KILL_SEEDS:-12} want comm st
	want=$(((kills + 1) / 2))
	setup
	netns_new $ns
	ip link add ${TAG}kv type veth peer name ${TAG}kp
	cleanup_add "ip link del ${TAG}kv"
	ip link set ${TAG}kv up
	ip link set ${TAG}kp up
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.2.0/24),{\"cniVersion\":\"1.0.0\",\"name\":\"mv\",\"type\":\"macvlan\",\"master\":\"${TAG}kv\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.237.3.0/24\"}]]}},{\"cniVersion\":\"0.4.0\",\"name\":\"chain\",\"plugins\":[$(bridge_conf x ${TAG}f1 10.237.4.0/24),{\"type\":\"tuning\",\"mtu\":1300}]}" >"$WORK/nc.json"
	# how long a whole ADD takes here, so that the kills fall anywhere in one
	t0=$(date +%s%N)
	plexus ADD $ns ck0 <"$WORK/nc.json" >/dev/null
	span=$((($(date +%s%N) - t0) / 1000000 + 1))
	plexus DEL $ns ck0 <"$WORK/nc.json"
	expect_clean $ns
	# KILL_SEEDS kills, and more (up to twice as many) until half of them cut an ADD short
	for seed in $(seq 1 $((2 * kills))); do
		[ "$seed" -le "$kills" ] || [ "$cut" -lt "$want" ] || break
		RANDOM=$seed
		n=$((n + 1))
		ms=$((RANDOM % span)) # the kill comes 0..span-1 ms into the ADD
		(EXEC=exec plexus ADD $ns ck$seed <"$WORK/nc.json" >"$WORK/add.out" 2>&1) &
		pid=$!
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		# what the kill hits: plexus, or still the shell before its exec
		kill9_seen $pid comm
		st=0
		wait $pid 2>/dev/null || st=$?
		# the runtime always follows with DEL; it waits for any orphaned delegate
		plexus DEL $ns ck$seed <"$WORK/nc.json" || fail "DEL after a kill at $ms ms failed"
		expect_clean $ns || fail "after a kill at $ms ms (seed $seed)"
		# cut short: the kill hit plexus and killed it (137); an ADD that finished first exited 0
		# with its result, and ADDs are quicker now than the first one was (a machine less
		# busy, caches warm): the next points fall before this one
		if cut_plexus "$comm" "$st"; then
			cut=$((cut + 1))
		else
			diag "seed $seed: the kill at $ms ms hit ${comm:-nothing} (exit $st): $(head -c 200 "$WORK/add.out")"
			[ "$st" -ne 0 ] || span=$((ms > 1 ? ms : 1))
		fi
	done
	# a kill that never lands tests nothing
	[ "$cut" -ge "$want" ] || fail "only $cut of $n kills cut an ADD short"
}

t_full_cache_filesystem_fails_add_cleanly() {
	local ns=${TAG}s out
	setup
	netns_new $ns
	mkdir -p "$WORK/full"
	mount -t tmpfs -o size=16k tmpfs "$WORK/full"
	cleanup_add "umount $WORK/full"
	head -c 16384 /dev/zero >"$WORK/full/filler" 2>/dev/null || true
	CNIDIR=$WORK/full/cni netconf "$(bridge_conf cluster ${TAG}f0 10.237.5.0/24)" >"$WORK/nc.json"
	out=$(plexus ADD $ns cs <"$WORK/nc.json") && fail "ADD succeeded on a full filesystem"
	expect_eq "I/O error code" "$(json_get "$out" 'j["code"]')" 5
	[ "$(links_in $ns)" -eq 0 ] || fail "interfaces attached without a cache"
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "reservation without a cache"
	CNIDIR=$WORK/full/cni plexus DEL $ns cs <"$WORK/nc.json"
}

t_read_only_cache_directory_fails_add_cleanly() {
	local ns=${TAG}o out
	setup
	netns_new $ns
	mkdir -p "$WORK/ro/cni/plexus"
	mount --bind "$WORK/ro" "$WORK/ro"
	mount -o remount,bind,ro "$WORK/ro"
	cleanup_add "umount $WORK/ro"
	CNIDIR=$WORK/ro/cni netconf "$(bridge_conf cluster ${TAG}f0 10.237.6.0/24)" >"$WORK/nc.json"
	out=$(plexus ADD $ns co <"$WORK/nc.json") && fail "ADD succeeded on a read-only cache"
	expect_contains "names the path" "$out" "$WORK/ro/cni/plexus"
	[ "$(links_in $ns)" -eq 0 ] || fail "interfaces attached without a cache"
	CNIDIR=$WORK/ro/cni plexus DEL $ns co <"$WORK/nc.json" || true
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "reservation without a cache"
}

# The plan's fsyncs run while the delegates do (cni/file.h cni_write_atomic_begin); when the disk
# fails them (EIO from test/preload/failsync.so, for the plan's file and directory only), the ADD
# must fail and take back what its delegates attached, as a delegate's failure does.
t_plan_that_cannot_be_made_durable_fails_add_and_rolls_back() {
	local ns=${TAG}y out
	setup
	netns_new $ns
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.8.0/24),$(bridge_conf second ${TAG}f1 10.237.9.0/24)" >"$WORK/nc.json"
	# a static binary (bin/plexus, musl) takes no LD_PRELOAD: the same code built with glibc does
	local bin=$PLEXUS
	elf_dynamic "$bin" || bin=$BUILD/glibc/plexus
	out=$(PLEXUS=$bin PLEXUS_FAILSYNC=$WORK/cni/plexus LD_PRELOAD=$BUILD/test/preload/failsync.so \
		plexus ADD $ns cy <"$WORK/nc.json") && fail "ADD succeeded with a plan the disk did not keep: $out"
	expect_eq "I/O error code" "$(json_get "$out" 'j["code"]')" 5
	expect_contains "says why" "$out" "the plan could not be made durable"
	expect_contains "names the plan" "$out" "sync $WORK/cni/plexus/cy: Input/output error"
	[ "$(links_in $ns)" -eq 0 ] || fail "rollback left interfaces: $(ip -n $ns -br link)"
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "rollback left reservations: $(find "$WORK/ipam" -name '10.*')"
	# the runtime's DEL after the failed ADD finds the plan and ends clean
	plexus DEL $ns cy <"$WORK/nc.json"
	expect_clean $ns
	# the same ADD on a disk that keeps it attaches both
	plexus ADD $ns cy <"$WORK/nc.json" >/dev/null
	[ "$(links_in $ns)" -eq 2 ] || fail "ADD without the fault: $(ip -n $ns -br link)"
	plexus DEL $ns cy <"$WORK/nc.json"
	expect_clean $ns
}

# The first delegate is spawned before the plan is written, so that its start overlaps the write
# (meta/plugin.c), and must get its config only once the plan is in place: with the plan's
# rename slowed to 300 ms (test/preload/slowrename.so), the delegate, having read its config,
# finds the plan there.
t_first_delegate_is_fed_once_the_plan_is_in_place() {
	local ns=${TAG}p bin=$PLEXUS
	setup
	netns_new $ns
	planwatch_plugin "$WORK/bin" "$WORK/cni"
	netconf '{"cniVersion":"1.0.0","name":"watch","type":"planwatch"}' >"$WORK/nc.json"
	elf_dynamic "$bin" || bin=$BUILD/glibc/plexus
	PLEXUS=$bin PLEXUS_SLOWRENAME=$WORK/cni/plexus/cp LD_PRELOAD=$BUILD/test/preload/slowrename.so \
		plexus ADD $ns cp <"$WORK/nc.json" >"$WORK/add.out" || fail "ADD: $(cat "$WORK/add.out")"
	expect_eq "what the delegate found" "$(cat "$WORK/bin/planwatch.log")" "ADD: plan in place"
	plexus DEL $ns cp <"$WORK/nc.json"
	expect_clean $ns
}

# The plan's fsyncs run once the first delegate has its config, on plexus's own thread while that
# delegate runs (meta/plugin.c, cni/file.h cni_flush_run), not after the delegates: the delegate
# here, having read its config, waits up to 3 s for the plan's fsync to show in the log of
# test/preload/synclog.so, which it would never see if the ADD synced only once it had ended.
t_plan_is_made_durable_while_the_first_delegate_runs() {
	local ns=${TAG}s bin=$PLEXUS
	setup
	netns_new $ns
	mkdir -p "$WORK/bin"
	cat >"$WORK/bin/syncwatch" <<EOF
#!/bin/sh
cat >/dev/null
synced() { grep -qx "$WORK/cni/plexus/\$CNI_CONTAINERID" "$WORK/sync.log" 2>/dev/null; }
if [ "\$CNI_COMMAND" = ADD ]; then
	i=0
	while ! synced && [ \$i -lt 300 ]; do sleep 0.01; i=\$((i + 1)); done
	if synced; then echo "ADD: plan synced while the delegate ran"; else echo "ADD: plan not synced while the delegate ran"; fi >>"$WORK/syncwatch.log"
fi
echo '{"cniVersion":"1.0.0"}'
EOF
	chmod +x "$WORK/bin/syncwatch"
	netconf '{"cniVersion":"1.0.0","name":"watch","type":"syncwatch"}' >"$WORK/nc.json"
	elf_dynamic "$bin" || bin=$BUILD/glibc/plexus
	PLEXUS=$bin PLEXUS_SYNCLOG=$WORK/sync.log LD_PRELOAD=$BUILD/test/preload/synclog.so \
		plexus ADD $ns cs <"$WORK/nc.json" >"$WORK/add.out" || fail "ADD: $(cat "$WORK/add.out")"
	expect_eq "what the delegate saw" "$(cat "$WORK/syncwatch.log")" "ADD: plan synced while the delegate ran"
	# the plan, then its directory, and nothing else
	expect_eq "what was synced" "$(cat "$WORK/sync.log")" "$WORK/cni/plexus/cs
$WORK/cni/plexus"
	plexus DEL $ns cs <"$WORK/nc.json"
	expect_clean $ns
}

# running PID: "yes" while PID is a live process (not a zombie), else nothing
running() { ps -o stat= -p "$1" 2>/dev/null | grep -qv Z && echo yes || true; }

# plexus killed between starting its first delegate and feeding it (the plan's rename slowed to
# 2 s holds it there): the delegate, Debian's bridge plugin, reads an empty config, fails
# without creating its bridge and exits; the runtime's DEL after it ends clean
t_plexus_killed_before_feeding_its_first_delegate_leaves_nothing() {
	local ns=${TAG}q bin=$PLEXUS pid child
	setup
	netns_new $ns
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.13.0/24)" >"$WORK/nc.json"
	elf_dynamic "$bin" || bin=$BUILD/glibc/plexus
	(PLEXUS=$bin EXEC=exec PLEXUS_SLOWRENAME=$WORK/cni/plexus/cq PLEXUS_SLOWRENAME_MS=2000 \
		LD_PRELOAD=$BUILD/test/preload/slowrename.so plexus ADD $ns cq <"$WORK/nc.json" >/dev/null 2>&1) &
	pid=$!
	child=$(child_named $pid bridge)
	[ -n "$child" ] || fail "no bridge plugin started under plexus in 2 s"
	cleanup_add "kill -9 $child"
	kill -9 $pid
	wait $pid 2>/dev/null || true
	await_eq "the orphaned plugin exits on its empty stdin" "" running "$child"
	! ip link show ${TAG}f0 >/dev/null 2>&1 || fail "the unfed plugin created its bridge"
	[ "$(links_in $ns)" -eq 0 ] || fail "interfaces in the pod: $(ip -n $ns -br link)"
	plexus DEL $ns cq <"$WORK/nc.json"
	expect_clean $ns
}

# Multus's copy cannot be written (a directory where the file goes): the ADD fails naming it,
# before any delegate runs, and leaves nothing
t_multus_copy_that_cannot_be_written_fails_add_before_any_delegate() {
	local ns=${TAG}m out
	setup
	netns_new $ns
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.11.0/24),$(bridge_conf second ${TAG}f1 10.237.12.0/24)" >"$WORK/nc.json"
	mkdir -p "$WORK/cni/cm/in-the-way"
	! ip link show ${TAG}f0 >/dev/null 2>&1 || fail "bridge ${TAG}f0 exists before the ADD"
	out=$(plexus ADD $ns cm <"$WORK/nc.json") && fail "ADD succeeded without Multus's copy: $out"
	expect_eq "I/O error code" "$(json_get "$out" 'j["code"]')" 5
	expect_contains "names the copy" "$out" "$WORK/cni/cm"
	# no delegate ran: the bridge plugin's ADD creates its bridge and no DEL (a rollback)
	# removes it, so its absence tells "never attached" from "attached, then rolled back"
	! ip link show ${TAG}f0 >/dev/null 2>&1 || fail "the first delegate ran: bridge ${TAG}f0 exists"
	! ip link show ${TAG}f1 >/dev/null 2>&1 || fail "the second delegate ran: bridge ${TAG}f1 exists"
	[ "$(links_in $ns)" -eq 0 ] || fail "rollback left interfaces: $(ip -n $ns -br link)"
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "rollback left reservations: $(find "$WORK/ipam" -name '10.*')"
	plexus DEL $ns cm <"$WORK/nc.json"
	rm -rf "$WORK/cni/cm"
	expect_clean $ns
}

# What a writer killed between creating its temporary file and renaming it leaves: DEL removes
# it. The files written under the container's lock go through "<file>.tmp" (one unlink each);
# "<file>.tmp.<pid>" is what a plexus from before wrote, and GC reads the directory for it
# (plexus.sh t_gc_removes_stale_containers_and_forwards_valid_attachments).
t_temporaries_a_killed_writer_left_are_removed_by_del() {
	local ns=${TAG}k
	setup
	netns_new $ns
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.10.0/24)" >"$WORK/nc.json"
	plexus ADD $ns ck <"$WORK/nc.json" >/dev/null
	for f in "$WORK/cni/plexus/ck" "$WORK/cni/ck" "$WORK/cni/results/cluster-ck-eth0"; do
		[ -f "$f" ] || fail "no $f after ADD: $(find "$WORK/cni" -type f)"
		echo '{"half":' >"$f.tmp"
	done
	plexus DEL $ns ck <"$WORK/nc.json"
	expect_clean $ns
}

api_start() {
	apiserver_start '{"tokens":{"tok":"u"},"pods":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns1","uid":"u1","annotations":{}}}],"nads":[]}'
}

faults() { api POST /_standin/faults "$1" >/dev/null; }

t_api_faults_never_leave_half_an_attachment() {
	local ns=${TAG}a out
	setup
	netns_new $ns
	api_start
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.7.0/24)" "\"kubeconfig\":\"$WORK/kubeconfig\"" >"$WORK/nc.json"
	export POD=p1 UID_ARG=u1
	# throttling, server errors and dropped connections are retried: ADD succeeds
	for f in '{"status":429,"count":2,"retry_after":0}' '{"status":500,"count":2}' '{"drop":2}'; do
		faults "$f"
		plexus ADD $ns ca <"$WORK/nc.json" >/dev/null || fail "ADD failed with fault $f"
		plexus DEL $ns ca <"$WORK/nc.json"
		expect_clean $ns
	done
	# a conflict on the status PATCH, the last request of ADD, fails nothing: the networks are
	# attached, the failure is logged, the pod keeps no half-written status. (Multus
	# pkg/k8sclient SetNetworkStatus PUTs pods/status and retries conflicts; plexus sends a merge
	# patch without resourceVersion, which an API server does not answer with 409, so an
	# injected one is not retried: k8s/client.h k8s_patch_pod_annotations.)
	netconf "$(bridge_conf cluster ${TAG}f0 10.237.7.0/24)" "\"kubeconfig\":\"$WORK/kubeconfig\",\"logLevel\":\"error\",\"logFile\":\"$WORK/plexus.log\"" >"$WORK/nc-log.json"
	api POST /_standin/objects '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns1","uid":"u1","annotations":{}}}' >/dev/null
	api POST /_standin/reset-log >/dev/null
	faults '{"rules":["PATCH pods/status 409 x1"]}'
	out=$(plexus ADD $ns ca <"$WORK/nc-log.json" 2>/dev/null) || fail "ADD failed on a status conflict: $out"
	faults '{}'
	expect_eq "result of the ADD" "$(json_get "$out" 'j["interfaces"][-1]["name"]')" eth0
	expect_eq "interfaces attached" "$(links_in $ns)" 1
	expect_contains "the PATCH got the conflict" "$(api GET /_standin/requests)" '"method": "PATCH", "path": "/api/v1/namespaces/ns1/pods/p1/status", "status": 409'
	expect_eq "one PATCH, not retried" "$(api GET /_standin/requests | grep -o '"method": "PATCH"' | wc -l)" 1
	expect_contains "the failure is logged" "$(cat "$WORK/plexus.log" 2>/dev/null)" "writing network-status: PATCH pods/ns1/p1/status: 409 Conflict: injected fault: 409"
	expect_not_contains "no network-status on the pod" "$(api GET /_standin/objects/pods/ns1/p1)" "network-status"
	plexus DEL $ns ca <"$WORK/nc-log.json"
	expect_clean $ns
	# slower than the retry budget: ADD fails cleanly, code 11 (try again)
	faults '{"latency_ms":3000}'
	out=$(plexus ADD $ns ca <"$WORK/nc.json") && fail "ADD succeeded against a stalled API"
	expect_eq "try again" "$(json_get "$out" 'j["code"]')" 11
	faults '{"latency_ms":0}'
	expect_clean $ns
	# the API down: ADD fails cleanly
	kill $API_PID
	wait $API_PID 2>/dev/null || true
	out=$(plexus ADD $ns ca <"$WORK/nc.json") && fail "ADD succeeded without the API"
	expect_contains "names the call" "$out" "GET pods/ns1/p1"
	plexus DEL $ns ca <"$WORK/nc.json"
	expect_clean $ns
}

run_tests

#!/usr/bin/env bash
# test/integration/thick.sh: bin/plexusd, the thick-mode daemon, driven on its unix socket with
# Multus's daemon API (curl --unix-socket as the client), Debian's real CNI plugins in real
# network namespaces: the verbs, the cache shared with bin/plexus, errors, the queue, signals,
# hostile clients and the socket across restarts.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../thick-lib.sh"

two_bridges() { # (in a command substitution: the caller registers the cleanup, bridges_cleanup)
	echo "[$(bridge_conf cluster ${TAG}b0 10.233.0.0/16), $(bridge_conf second ${TAG}b1 10.234.0.0/16)]"
}

# a delegate that takes its time: ADD sleeps SLEEPY_S (default 3) seconds
sleepy_plugin() {
	mkdir -p "$WORK/bin"
	cat >"$WORK/bin/sleepy" <<'EOF'
#!/bin/sh
[ "$CNI_COMMAND" = ADD ] && sleep "${SLEEPY_S:-3}"
cat >/dev/null
echo '{"cniVersion":"1.0.0"}'
EOF
	chmod +x "$WORK/bin/sleepy"
}

# raw FILE HOLD-SECONDS: sends FILE's bytes on a fresh connection, waits that long, then reads
# until the daemon closes it (at most 30 s): a client that speaks no HTTP, or never finishes
raw() {
	/usr/bin/python3 - "$SOCK" "$1" "$2" <<'EOF' 2>/dev/null || true
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(sys.argv[3]) + 30)
s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read())
time.sleep(float(sys.argv[3]))
try:
    while s.recv(65536):
        pass
except OSError:
    pass
EOF
}

t_add_check_status_del_through_cni_with_a_multus_config() {
	local ns=${TAG}a
	netns_new $ns
	daemon_start
	bridges_cleanup
	netconf 1.1.0 "$(two_bridges)" >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns c1 <"$WORK/nc.json")" 200
	expect_eq "result is CNI 1.0.0" "$(json_get "$(reply)" 'j["Result"]["cniVersion"]')" 1.0.0
	expect_eq "result is the cluster network's" "$(json_get "$(reply)" 'j["Result"]["ips"][0]["address"]')" 10.233.0.2/16
	expect_contains eth0 "$(ip -n $ns -4 -br addr show eth0)" 10.233.0.2/16
	expect_contains net1 "$(ip -n $ns -4 -br addr show net1)" 10.234.0.2/16
	expect_eq "cache written as bin/plexus does" "$(stat -c %a "$WORK/cni/plexus/c1")" 600
	expect_eq "CHECK status" "$(cni CHECK $ns c1 <"$WORK/nc.json")" 200
	expect_eq "CHECK body" "$(reply)" ""
	expect_eq "STATUS status" "$(cni STATUS "" "" <"$WORK/nc.json")" 200
	expect_eq "DEL status" "$(cni DEL $ns c1 <"$WORK/nc.json")" 200
	expect_eq "DEL body" "$(reply)" ""
	expect_clean $ns
	# the node's daemon config wins: its logFile got the request's lines
	expect_contains "request logged in the daemon's file" "$(cat "$WORK/plexusd.log")" "[ns1/pod-c1/uid-c1]"
}

t_added_by_plexusd_deleted_by_bin_plexus_and_back() {
	local ns=${TAG}x
	netns_new $ns
	daemon_start
	bridges_cleanup
	netconf 1.0.0 "$(two_bridges)" >"$WORK/nc.json"
	netconf 1.0.0 "$(two_bridges)" "" plexus >"$WORK/thin.json"
	expect_eq "thick ADD" "$(cni ADD $ns c1 <"$WORK/nc.json")" 200
	plexus DEL $ns c1 <"$WORK/thin.json"
	expect_clean $ns
	plexus ADD $ns c2 <"$WORK/thin.json" >/dev/null
	expect_contains "thin ADD" "$(ip -n $ns -4 -br addr show net1)" 10.234.0
	expect_eq "thick DEL" "$(cni DEL $ns c2 <"$WORK/nc.json")" 200
	expect_clean $ns
}

# As in thin mode (faults.sh t_first_delegate_is_fed_once_the_plan_is_in_place):
# the daemon spawns the first delegate before the plan's write, and gives it its config after
t_first_delegate_is_fed_once_the_plan_is_in_place() {
	local ns=${TAG}w
	netns_new $ns
	planwatch_plugin "$WORK/bin" "$WORK/cni"
	PLEXUS_SLOWRENAME=$WORK/cni/plexus/cw LD_PRELOAD=$BUILD/test/preload/slowrename.so daemon_start
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"watch","type":"planwatch"}]' >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns cw <"$WORK/nc.json")" 200
	expect_eq "what the delegate found" "$(cat "$WORK/bin/planwatch.log")" "ADD: plan in place"
	expect_eq "DEL status" "$(cni DEL $ns cw <"$WORK/nc.json")" 200
	expect_clean $ns
}

# The ADD answers once its networks are attached and its plan is durable; the delegates' result
# caches (libcni's, read by nothing before the next call on the container) and the container's
# lock follow the reply. Here the first cache's rename is held 3 s: the reply comes with neither
# cache in place and the lock held, a DEL sent at once waits for both, and once plexusd has
# stopped (SIGTERM waits for the work after each reply) nothing is left. Then the same held
# rename with plexusd killed -9 in it: the shim's DEL with the daemon down leaves nothing either.
t_result_caches_after_the_reply() {
	local ns=${TAG}r
	netns_new $ns
	bridges_cleanup
	PLEXUS_SLOWRENAME=$WORK/cni/results/cluster-cr-eth0 PLEXUS_SLOWRENAME_MS=3000 \
		LD_PRELOAD=$BUILD/test/preload/slowrename.so daemon_start
	netconf 1.0.0 "$(two_bridges)" >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns cr <"$WORK/nc.json")" 200
	expect_contains "attached" "$(ip -n $ns -4 -br addr show net1)" 10.234.0.2/16
	[ ! -e "$WORK/cni/results/cluster-cr-eth0" ] && [ ! -e "$WORK/cni/results/second-cr-net1" ] ||
		fail "a result cache was in place when the reply came: $(ls "$WORK/cni/results")"
	[ -e "$WORK/cni/plexus/cr.lock" ] || fail "the lock went before the result caches were written"
	expect_eq "DEL status" "$(cni DEL $ns cr <"$WORK/nc.json")" 200
	kill -TERM $DPID
	wait $DPID || fail "plexusd's exit status after SIGTERM: $?"
	expect_clean $ns

	PLEXUS_SLOWRENAME=$WORK/cni/results/cluster-cr-eth0 PLEXUS_SLOWRENAME_MS=3000 \
		LD_PRELOAD=$BUILD/test/preload/slowrename.so daemon_start
	expect_eq "ADD status" "$(cni ADD $ns cr <"$WORK/nc.json")" 200
	wait_value "the first cache being written after the reply" yes 10 \
		sh -c "[ -e '$WORK/cni/results/cluster-cr-eth0.tmp' ] && echo yes || echo no"
	kill -9 $DPID
	wait $DPID || true
	shim DEL $ns cr <"$WORK/nc.json" || fail "DEL through the shim with the daemon down"
	expect_clean $ns
}

# A result cache that cannot be written after the reply ($WORK/cni/results is a file here) is
# logged with the pod's name: the ADD has succeeded (in thin mode, where libcni's order holds,
# the same failure fails the ADD before the answer), and the pod's DEL, once the fault is gone,
# removes everything without the prevResults
t_result_cache_failing_after_the_reply_is_logged() {
	local ns=${TAG}k
	netns_new $ns
	bridges_cleanup
	daemon_start
	mkdir -p "$WORK/cni"
	: >"$WORK/cni/results"
	netconf 1.0.0 "$(two_bridges)" >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns ck <"$WORK/nc.json")" 200
	expect_contains "attached" "$(ip -n $ns -4 -br addr show net1)" 10.234.0.2/16
	# the lock goes once the writes were tried
	wait_value "the container's lock released" no 10 \
		sh -c "[ -e '$WORK/cni/plexus/ck.lock' ] && echo yes || echo no"
	expect_contains "the failed write logged with the pod" "$(cat "$WORK/plexusd.log")" \
		"[ns1/pod-ck/uid-ck] result cache $WORK/cni/results/cluster-ck-eth0 not written: $WORK/cni/results: not a directory"
	rm "$WORK/cni/results"
	expect_eq "DEL status" "$(cni DEL $ns ck <"$WORK/nc.json")" 200
	expect_clean $ns
}

# prevrec_plugin: $WORK/bin/prevrec, a delegate that answers ADD with 10.99.0.5/24 and keeps the
# stdin of its last DEL in $WORK/prevrec.del; and $WORK/bin/failing, which fails ADD (code 11)
prevrec_plugin() {
	mkdir -p "$WORK/bin"
	cat >"$WORK/bin/prevrec" <<EOF
#!/bin/sh
in=\$(cat)
if [ "\$CNI_COMMAND" = ADD ]; then
	echo '{"cniVersion":"1.0.0","ips":[{"address":"10.99.0.5/24"}]}'
else
	printf '%s\n' "\$in" >"$WORK/prevrec.del"
fi
EOF
	cat >"$WORK/bin/failing" <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$CNI_COMMAND" = ADD ] && { echo '{"cniVersion":"1.0.0","code":11,"msg":"not now"}'; exit 1; }
exit 0
EOF
	chmod +x "$WORK/bin/prevrec" "$WORK/bin/failing"
}

# the address in the prevResult of prevrec's last DEL
prevrec_del_prev() { json_get "$(cat "$WORK/prevrec.del")" 'j["prevResult"]["ips"][0]["address"]'; }

# A failed ADD rolls back, in thick mode as in thin, with the result caches it otherwise leaves
# for after the reply written first, so each DEL of the rollback gets its prevResult: when a
# second delegate fails, and when the plan's fsyncs fail (EIO from test/preload/failsync.so, as
# faults.sh t_plan_that_cannot_be_made_durable_fails_add_and_rolls_back), code 5 once every
# delegate ran
t_thick_rollback_gets_prev_results() {
	local ns=${TAG}p
	netns_new $ns
	prevrec_plugin
	daemon_start
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"first","type":"prevrec"},{"cniVersion":"1.0.0","name":"second","type":"failing"}]' >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns cp <"$WORK/nc.json")" 400
	expect_contains "the second delegate's error" "$(reply)" "not now"
	expect_eq "the first delegate's DEL got its prevResult" "$(prevrec_del_prev)" 10.99.0.5/24
	expect_eq "DEL status" "$(cni DEL $ns cp <"$WORK/nc.json")" 200
	expect_clean $ns
	kill -TERM $DPID
	wait $DPID || fail "plexusd's exit status after SIGTERM: $?"

	rm -f "$WORK/prevrec.del"
	PLEXUS_FAILSYNC=$WORK/cni/plexus LD_PRELOAD=$BUILD/test/preload/failsync.so daemon_start
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"first","type":"prevrec"},{"cniVersion":"1.0.0","name":"second","type":"prevrec"}]' >"$WORK/nc.json"
	expect_eq "ADD status, the plan not durable" "$(cni ADD $ns cy <"$WORK/nc.json")" 400
	expect_eq "I/O error code" "$(json_get "$(reply)" 'j["code"]')" 5
	expect_contains "says why" "$(reply)" "the plan could not be made durable"
	expect_eq "the first delegate's DEL (the rollback's last) got its prevResult" \
		"$(prevrec_del_prev)" 10.99.0.5/24
	expect_eq "DEL status" "$(cni DEL $ns cy <"$WORK/nc.json")" 200
	expect_clean $ns
}

# default-route in plexusd: the pod's request moves its default route to net1, in the netns and
# in the result caches, which plexusd writes after the reply: their results are replaced
# before they are written.
t_default_route_in_thick_mode() {
	local ns=${TAG}d fixture
	netns_new $ns
	bridges_cleanup
	fixture=$(/usr/bin/python3 - "$(bridge_conf blue ${TAG}b1 10.236.1.0/24)" "node-$TAG" <<'EOF'
import json, sys
nets = json.dumps([{"name": "blue", "default-route": ["10.236.1.1"]}])
print(json.dumps({"tokens": {"tok": "u"},
                  "pods": [{"apiVersion": "v1", "kind": "Pod",
                            "metadata": {"name": "pod-dr1", "namespace": "ns1", "uid": "uid-dr1",
                                         "annotations": {"k8s.v1.cni.cncf.io/networks": nets}},
                            "spec": {"nodeName": sys.argv[2]}}],
                  "nads": [{"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                            "metadata": {"name": "blue", "namespace": "ns1"},
                            "spec": {"config": sys.argv[1]}}]}))
EOF
	)
	apiserver_start "$fixture"
	daemon_start "\"kubeconfig\": \"$WORK/kubeconfig\""
	netconf 1.0.0 "[{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\",\"bridge\":\"${TAG}b0\",\"isDefaultGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.233.0.0/16\"}]]}}]" >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns dr1 <"$WORK/nc.json")" 200
	expect_eq "default route moved to net1" "$(ip -n $ns -4 route show default)" "default via 10.236.1.1 dev net1 "
	expect_eq "CHECK status: $(reply)" "$(cni CHECK $ns dr1 <"$WORK/nc.json")" 200
	# CHECK held the container's lock, so the caches are written
	expect_eq "eth0's cached result lost its default route" \
		"$(json_get "$(cat "$WORK/cni/results/cluster-dr1-eth0")" '[r for r in j["result"].get("routes", []) if r["dst"] == "0.0.0.0/0"]')" '[]'
	expect_eq "net1's cached result has it" \
		"$(json_get "$(cat "$WORK/cni/results/blue-dr1-net1")" '[r.get("gw") for r in j["result"]["routes"] if r["dst"] == "0.0.0.0/0"]')" '["10.236.1.1"]'
	expect_eq "DEL status" "$(cni DEL $ns dr1 <"$WORK/nc.json")" 200
	expect_clean $ns
}

t_cni_error_passed_through_as_400_with_its_code() {
	daemon_start
	netconf 1.0.0 "[]" '"defaultNetworks":5' >"$WORK/nc.json"
	expect_eq "bad netconf" "$(cni ADD ${TAG}n c1 <"$WORK/nc.json")" 400
	expect_eq "code" "$(json_get "$(reply)" 'j["code"]')" 7
	expect_contains "names the key" "$(json_get "$(reply)" 'j["msg"]')" defaultNetworks
	echo '{"cniVersion":"1.0.0","name":"n","type":"plexus-shim","delegates":[]}' >"$WORK/nc.json"
	expect_eq "missing env" "$(CNI_NETNS= cni ADD "" c1 <"$WORK/nc.json")" 400
	expect_eq "code 4" "$(json_get "$(reply)" 'j["code"]')" 4
	expect_contains "names the variable" "$(json_get "$(reply)" 'j["msg"]')" CNI_NETNS
}

t_bad_request_bodies_name_the_field() {
	daemon_start
	printf 'garbage' >"$WORK/b"
	expect_eq "not JSON" "$(http POST /cni "$WORK/b")" 400
	expect_eq "not JSON: code 6" "$(json_get "$(reply)" 'j["code"]')" 6
	local body msg
	while IFS='|' read -r body msg; do
		printf '%s' "$body" >"$WORK/b"
		expect_eq "$body" "$(http POST /cni "$WORK/b")" 400
		expect_contains "$body" "$(json_get "$(reply)" 'j["msg"]')" "$msg"
	done <<'EOF'
{"config":"e30="}|"env" missing
{"env":{},"config":"!!!"}|"config" is not valid base64
{"env":{"A":1},"config":"e30="}|"env.A" must be a string
{"env":{},"config":"e30=","extra":1}|unknown field "extra"
EOF
	# /delegate: the same body checks, then the CNI environment, then interfaceAttributes
	echo '{"env":{"CNI_COMMAND":"ADD"},"config":"e30=","interfaceAttributes":{"mac":"x"}}' >"$WORK/b"
	expect_eq "/delegate" "$(http POST /delegate "$WORK/b")" 400
	expect_eq "/delegate without its env: code 4" "$(json_get "$(reply)" 'j["code"]')" 4
	expect_contains "names the variables" "$(json_get "$(reply)" 'j["msg"]')" "CNI_CONTAINERID"
	echo '{"env":{"CNI_COMMAND":"ADD","CNI_CONTAINERID":"c1","CNI_NETNS":"/run/netns/none","CNI_IFNAME":"net9"},"config":"eyJjbmlWZXJzaW9uIjoiMS4wLjAiLCJuYW1lIjoibiIsInR5cGUiOiJicmlkZ2UifQ==","interfaceAttributes":{"mac":"x"}}' >"$WORK/b"
	expect_eq "/delegate bad mac" "$(http POST /delegate "$WORK/b")" 400
	expect_eq "/delegate bad mac: code 7" "$(json_get "$(reply)" 'j["code"]')" 7
	expect_contains "names the field" "$(json_get "$(reply)" 'j["msg"]')" "interfaceAttributes"
}

t_routes_and_methods_as_multus() {
	daemon_start
	expect_eq "GET /healthz" "$(http GET /healthz)" 200
	expect_eq "POST /healthz" "$(http POST /healthz)" 200
	expect_eq "POST /readyz" "$(http POST /readyz)" 200
	expect_eq "PUT /cni" "$(http PUT /cni)" 405
	expect_eq "GET /cni" "$(http GET /cni)" 405
	expect_eq "DELETE /readyz" "$(http DELETE /readyz)" 405
	expect_eq "GET /nope" "$(http GET /nope)" 404
	expect_eq "POST /" "$(http POST /)" 404
}

t_hostile_clients_never_take_the_daemon_down() {
	local i
	daemon_start
	# a huge body: refused, the daemon stays
	head -c $((8 << 20)) /dev/zero | tr '\0' 'a' >"$WORK/huge"
	expect_eq "huge body" "$(http POST /cni "$WORK/huge")" 400
	expect_contains "huge body named" "$(reply)" "larger than"
	# slow loris: headers that never end, from many clients at once; an idle one is dropped
	printf 'POST /cni HTTP/1.1\r\nHost: x\r\n' >"$WORK/loris1"
	printf 'POST /cni HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{' >"$WORK/loris2"
	local pids=() start=$SECONDS
	for i in $(seq 1 20); do
		raw "$WORK/loris$((i % 2 + 1))" 0 &
		pids+=($!)
	done
	sleep 0.3
	expect_eq "served during slow loris" "$(http GET /healthz)" 200
	# garbage on the wire, binary junk, an unknown HTTP version, NUL bytes
	for i in $(seq 1 30); do
		head -c 4096 /dev/urandom >"$WORK/junk"
		raw "$WORK/junk" 0
	done
	printf 'GET /healthz HTTP/9.9\r\n\r\n' >"$WORK/junk"
	raw "$WORK/junk" 0
	printf '\x00\xff\r\n\r\n' >"$WORK/junk"
	raw "$WORK/junk" 0
	printf '<xml/>' >"$WORK/b"
	expect_eq "XML body" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -H 'Content-Type: application/xml' --data-binary @"$WORK/b" http://plexusd/cni)" 400
	expect_eq "form body" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -F a=b http://plexusd/cni)" 400
	# the idle slow loris clients are dropped after the connection timeout
	wait "${pids[@]}"
	[ $((SECONDS - start)) -le 20 ] || fail "slow loris clients held for $((SECONDS - start)) s"
	kill -0 $DPID || fail "plexusd died"
	expect_eq "healthz after all of it" "$(http GET /healthz)" 200
	echo '{"cniVersion":"1.0.0","name":"n","type":"plexus-shim","delegates":[]}' >"$WORK/nc.json"
	expect_eq "a real request still served" "$(cni STATUS "" "" <"$WORK/nc.json")" 400
	expect_contains "and answered by the core" "$(reply)" "does not allow STATUS"
}

t_queue_full_is_code_11() {
	local ns=${TAG}q
	netns_new $ns
	sleepy_plugin
	daemon_start '"workers": 1, "queueLimit": 1'
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"s","type":"sleepy"}]' >"$WORK/nc.json"
	local pids=()
	REPLY_FILE=$WORK/r1 cni ADD $ns c1 <"$WORK/nc.json" >"$WORK/s1" &
	pids+=($!)
	sleep 0.5
	REPLY_FILE=$WORK/r2 cni ADD $ns c2 <"$WORK/nc.json" >"$WORK/s2" &
	pids+=($!)
	sleep 0.5
	local f=$WORK/b3
	body ADD $ns c3 <"$WORK/nc.json" >"$f"
	expect_eq "third request refused" "$(http POST /cni "$f")" 400
	expect_eq "code 11" "$(json_get "$(reply)" 'j["code"]')" 11
	expect_contains "says why" "$(json_get "$(reply)" 'j["msg"]')" "queueLimit 1"
	wait "${pids[@]}"
	expect_eq "first served" "$(cat "$WORK/s1")" 200
	expect_eq "queued one served" "$(cat "$WORK/s2")" 200
	for c in c1 c2; do cni DEL $ns $c <"$WORK/nc.json" >/dev/null; done
	expect_clean $ns
}

t_del_goes_before_add_under_load() {
	local ns=${TAG}d i pids=()
	netns_new $ns
	sleepy_plugin
	export SLEEPY_S=1
	daemon_start '"workers": 1'
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"s","type":"sleepy"}]' >"$WORK/nc.json"
	# the one worker is busy; four ADDs queue, then a DEL: it must go in first
	REPLY_FILE=$WORK/r0 cni ADD $ns busy <"$WORK/nc.json" >/dev/null &
	pids+=($!)
	sleep 0.3
	for i in 1 2 3 4; do
		( REPLY_FILE=$WORK/r$i cni ADD $ns a$i <"$WORK/nc.json" >/dev/null; date +%s%N >"$WORK/t.add$i" ) &
		pids+=($!)
	done
	sleep 0.5
	( REPLY_FILE=$WORK/r5 cni DEL $ns gone <"$WORK/nc.json" >"$WORK/s.del"; date +%s%N >"$WORK/t.del" ) &
	pids+=($!)
	wait "${pids[@]}"
	expect_eq "DEL served" "$(cat "$WORK/s.del")" 200
	for i in 1 2 3 4; do
		[ "$(cat "$WORK/t.del")" -lt "$(cat "$WORK/t.add$i")" ] || fail "DEL finished after queued ADD $i"
	done
	for c in busy a1 a2 a3 a4; do cni DEL $ns $c <"$WORK/nc.json" >/dev/null; done
	expect_clean $ns
}

t_sigterm_during_a_burst_of_50_adds() {
	local i n=50 code failed=0 rc
	mkdir -p "$WORK/net.d"
	echo '{"cniVersion":"1.0.0","name":"multus-cni-network","type":"plexus-shim"}' >"$WORK/net.d/00-plexus.conflist"
	daemon_start '"workers": 4'
	bridges_cleanup
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.235.0.0/16)]" >"$WORK/nc.json"
	for i in $(seq 1 $n); do netns_new ${TAG}s$i; done
	local pids=()
	for i in $(seq 1 $n); do
		REPLY_FILE=$WORK/re.$i cni ADD ${TAG}s$i b$i <"$WORK/nc.json" >"$WORK/st.$i" &
		pids+=($!)
	done
	# some are done, many are in the core or waiting for it: at least 8 cache files (each written
	# in the core before the ADD's first delegate runs). The SIGTERM must land during the burst:
	# sent to a daemon that had reached none of it, every ADD refused (or cut off, 000) would pass
	# the checks below as "refused cleanly", so a wait that runs out fails the test
	local files=0
	for _ in $(seq 1 600); do
		files=$(ls "$WORK/cni/plexus" 2>/dev/null | grep -vc lock || true)
		[ "$files" -ge 8 ] && break
		sleep 0.05
	done
	[ "$files" -ge 8 ] ||
		fail "only $files cache files after 30 s: the burst never reached the core, no SIGTERM during it; plexusd.log: $(tail -5 "$WORK/plexusd.log" 2>/dev/null)"
	kill -TERM $DPID
	wait $DPID; rc=$?
	expect_eq "plexusd exit status after SIGTERM" "$rc" 0
	wait "${pids[@]}"
	[ -f "$WORK/net.d/00-plexus.conflist" ] || fail "the CNI config file disappeared"
	for i in $(seq 1 $n); do
		code=$(cat "$WORK/st.$i")
		case $code in
		200) ;;
		# 400: refused by the closing queue; 503: arrived after SIGTERM, not ready
		400 | 503) expect_eq "refused ADD $i ($code) is a try-again" "$(json_get "$(cat "$WORK/re.$i")" 'j["code"]')" 11
		     failed=$((failed + 1)) ;;
		000) failed=$((failed + 1)) ;; # the socket closed under it: the runtime retries
		*) fail "ADD $i: status $code" ;;
		esac
	done
	echo "    $((n - failed)) completed, $failed refused cleanly"
	daemon_start
	for i in $(seq 1 $n); do
		[ "$(cat "$WORK/st.$i")" == 200 ] && continue
		# a refused ADD may have left a partial attachment: the runtime DELs, then retries
		expect_eq "DEL before retry $i" "$(cni DEL ${TAG}s$i b$i <"$WORK/nc.json")" 200
		expect_eq "retried ADD $i" "$(cni ADD ${TAG}s$i b$i <"$WORK/nc.json")" 200
	done
	for i in $(seq 1 $n); do
		expect_eq "DEL $i" "$(cni DEL ${TAG}s$i b$i <"$WORK/nc.json")" 200
	done
	expect_clean $(for i in $(seq 1 $n); do echo ${TAG}s$i; done)
	[ -f "$WORK/net.d/00-plexus.conflist" ] || fail "the CNI config file disappeared"
}

t_sigterm_readyz_500_while_in_flight_requests_finish() {
	local ns=${TAG}t rc
	netns_new $ns
	sleepy_plugin
	daemon_start
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"s","type":"sleepy"}]' >"$WORK/nc.json"
	REPLY_FILE=$WORK/r1 cni ADD $ns c1 <"$WORK/nc.json" >"$WORK/s1" &
	local client=$!
	sleep 0.5
	kill -TERM $DPID
	sleep 0.3
	expect_eq "readyz after SIGTERM" "$(http GET /readyz)" 500
	expect_eq "healthz still 200" "$(http GET /healthz)" 200
	# 503, as /readyz's 500 says: the shim waits for the next daemon (or DELs from the plan)
	expect_eq "new request refused as not ready" "$(cni ADD $ns c2 <"$WORK/nc.json")" 503
	expect_eq "with code 11" "$(json_get "$(reply)" 'j["code"]')" 11
	wait $DPID; rc=$?
	expect_eq "exit status" "$rc" 0
	wait $client
	expect_eq "in-flight ADD finished" "$(cat "$WORK/s1")" 200
	plexus DEL $ns c1 <"$WORK/nc.json"
	expect_clean $ns
}

t_kill_9_mid_add_then_del_with_bin_plexus_leaves_nothing() {
	local ns=${TAG}k
	netns_new $ns
	sleepy_plugin
	daemon_start
	bridges_cleanup
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b2 10.236.0.0/16), {\"cniVersion\":\"1.0.0\",\"name\":\"s\",\"type\":\"sleepy\"}]" >"$WORK/nc.json"
	REPLY_FILE=$WORK/r1 cni ADD $ns c1 <"$WORK/nc.json" >"$WORK/s1" &
	local client=$!
	for _ in $(seq 1 200); do ip -n $ns link show eth0 >/dev/null 2>&1 && break; sleep 0.05; done
	ip -n $ns link show eth0 >/dev/null || fail "the first delegate never ran: $(cat "$WORK/reply" "$WORK/plexusd.log")"
	kill -9 $DPID
	wait $DPID || true
	wait $client || true
	# the runtime's DEL with the daemon gone: the thin plugin, from the plan on disk
	plexus DEL $ns c1 <"$WORK/nc.json"
	expect_clean $ns
}

t_socket_replaced_atomically_across_restart() {
	daemon_start
	echo keep >"$WORK/run/other-file"
	mkdir -p "$WORK/mnt"
	mount --bind "$WORK/run" "$WORK/mnt"
	cleanup_add "umount $WORK/mnt"
	expect_eq "dir mode" "$(stat -c %a "$WORK/run")" 700
	expect_eq "socket mode" "$(stat -c %a "$SOCK")" 600
	local before
	before=$(stat -c %i "$SOCK")
	kill -9 $DPID
	wait $DPID || true
	# a stale socket stays until the next start renames over it
	[ -S "$SOCK" ] || fail "socket removed"
	# the next start under strace: the new socket is bound under a temporary name and renamed
	# over the stale one, which is never unlinked (no moment without a socket at the path).
	# LeakSanitizer cannot run under ptrace (make integration-asan): off for this run only.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 PLEXUS_NODE_NAME=node-$TAG strace -f -qq -o "$WORK/strace" -e trace=bind,rename,renameat,renameat2,unlink,unlinkat \
		"$PLEXUSD" -config "$WORK/daemon-config.json" 2>>"$WORK/plexusd.err" &
	local tracer=$!
	cleanup_add "stop_gracefully $tracer"
	daemon_ready
	DPID=$(pgrep -P $tracer)
	cleanup_add "stop_gracefully $DPID"
	[ "$(stat -c %i "$SOCK")" != "$before" ] || fail "socket not replaced"
	/usr/bin/python3 - "$WORK/strace" "$SOCK" <<'PY' || fail "socket calls: $(grep -v ENOENT "$WORK/strace")"
import re, sys
calls = open(sys.argv[1]).read().splitlines()
sock = sys.argv[2]
binds = [l for l in calls if re.search(r"\bbind\(.*sun_path=", l)]
renames = [l for l in calls if re.search(r"\brename(at2?)?\(", l) and l.rstrip().endswith("= 0")]
unlinks = [l for l in calls if re.search(r"\bunlink(at)?\(.*\"%s\"" % re.escape(sock), l)]
tmp = re.search(r'sun_path="([^"]+)"', binds[0]).group(1) if len(binds) == 1 else None
assert tmp and tmp != sock, "one bind, to a temporary name: %s" % binds
assert any('"%s"' % tmp in l and l.find('"%s"' % tmp) < l.find('"%s"' % sock) for l in renames), \
    "the temporary renamed over the socket: %s" % renames
assert not unlinks, "the socket path unlinked: %s" % unlinks
PY
	expect_eq "other files kept" "$(cat "$WORK/run/other-file")" keep
	expect_eq "no temporary names left" "$(ls -A "$WORK/run" | sort | tr '\n' ' ')" "multus.sock other-file "
	expect_eq "served through the bind mount" \
		"$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$WORK/mnt/multus.sock" http://x/healthz)" 200
}

t_delegates_run_inside_chroot_dir() {
	local ns=${TAG}r root=$WORK/root lib
	netns_new $ns
	# a root with one real plugin (under a name found nowhere else) and its libraries, plus the
	# host's netns mounts and a /proc, as the host root Multus's DaemonSet mounts would have
	mkdir -p "$root/opt/cni/bin" "$root/run/netns" "$root/proc"
	cp /usr/lib/cni/loopback "$root/opt/cni/bin/onlyroot"
	for lib in $(ldd /usr/lib/cni/loopback | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	# a slave of the host's (Kubernetes' HostToContainer): /run/netns is a shared mount (ip
	# netns makes it one), and a shared copy's unmount would propagate back and unmount every
	# network namespace of the machine, other tests' included
	mount --rbind /run/netns "$root/run/netns"
	mount --make-rslave "$root/run/netns"
	cleanup_add "umount -R $root/run/netns"
	mount -t proc proc "$root/proc"
	cleanup_add "umount $root/proc"
	daemon_start "\"chrootDir\": \"$root\", \"binDir\": \"/opt/cni/bin\""
	netconf 1.0.0 '[{"cniVersion":"1.0.0","name":"lo","type":"onlyroot"}]' >"$WORK/nc.json"
	# netns_new set lo up: down again, so that only the plugin's ADD can bring it up
	ip -n $ns link set lo down
	expect_eq "lo down before the ADD" "$(json_get "$(ip -n $ns -j link show lo)" '"UP" in j[0]["flags"]')" false
	expect_eq "ADD through the chroot" "$(cni ADD $ns c1 <"$WORK/nc.json")" 200
	expect_eq "the plugin's result" "$(json_get "$(reply)" 'j["Result"]["ips"][0]["address"]')" 127.0.0.1/8
	expect_eq "it set lo up in the pod" "$(json_get "$(ip -n $ns -j link show lo)" '"UP" in j[0]["flags"]')" true
	expect_eq "DEL through the chroot" "$(cni DEL $ns c1 <"$WORK/nc.json")" 200
	expect_clean $ns
	# the same config without chrootDir: the plugin is nowhere to be found
	kill $DPID
	wait $DPID || true
	daemon_config '"binDir": "/opt/cni/bin"' >"$WORK/daemon-config.json"
	daemon_start
	expect_eq "without chrootDir" "$(cni ADD $ns c2 <"$WORK/nc.json")" 400
	expect_contains "not found" "$(json_get "$(reply)" 'j["msg"]')" 'failed to find plugin "onlyroot"'
	# taking the root's view of /run/netns down leaves the machine's namespaces alone
	umount -R "$root/run/netns"
	ip netns exec $ns true || fail "unmounting the root's /run/netns unmounted the host's $ns"
}

# expect_sample WHAT METRICS-TEXT LINE: LINE (a sample, its value included) is one of the
# text's lines, whole
expect_sample() {
	grep -qxF -- "$3" <<<"$2" ||
		fail "$1: no line [$3] in /metrics; its lines for ${3%%[{ ]*}: [$(grep -F -- "${3%%[{ ]*}" <<<"$2" || true)]"
}

t_metrics_count_socket_requests_as_multus() {
	local ns=${TAG}m port out i
	netns_new $ns
	port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	daemon_start "\"metricsPort\": $port"
	expect_eq "/metrics on loopback only" "$(ss -Hltn "sport = :$port" | awk '{print $4}')" "127.0.0.1:$port"
	bridges_cleanup
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.237.0.0/16)]" >"$WORK/nc.json"
	for i in 1 2 3; do expect_eq "ADD $i" "$(cni ADD $ns c$i eth$i <"$WORK/nc.json")" 200; done
	for i in 1 2 3; do expect_eq "DEL $i" "$(cni DEL $ns c$i eth$i <"$WORK/nc.json")" 200; done
	expect_eq "GET /nope" "$(http GET /nope)" 404
	expect_eq "PUT /cni" "$(http PUT /cni)" 405
	out=$(curl -s --max-time 10 "http://127.0.0.1:$port/metrics")
	# whole sample lines: "... 6" as a substring would also match 60 to 69
	expect_sample "/cni POSTs counted" "$out" 'multus_server_request_total{handler="/cni",code="200",method="post"} 6'
	expect_sample "wrong method counted on its path" "$out" 'multus_server_request_total{handler="/cni",code="405",method="put"} 1'
	expect_sample "unknown path counted as NotFound" "$out" 'multus_server_request_total{handler="NotFound",code="404",method="get"} 1'
	expect_sample "ADD durations" "$out" 'plexus_cni_request_duration_seconds_count{verb="ADD",result="success"} 3'
	expect_sample "DEL durations" "$out" 'plexus_cni_request_duration_seconds_count{verb="DEL",result="success"} 3'
	expect_sample "queue idle" "$out" 'plexus_requests_in_flight 0'
	expect_clean $ns
	# a port that cannot be served: a startup error naming it
	kill $DPID
	wait $DPID || true
	/usr/bin/python3 -c 'import socket, time; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", '"$port"')); s.listen(); time.sleep(30)' &
	local holder=$!
	cleanup_add "kill $holder"
	sleep 0.3
	out=$(timeout 10 "$PLEXUSD" --config "$WORK/daemon-config.json" 2>&1) && i=0 || i=$?
	expect_eq "busy metricsPort: exit status" "$i" 1
	expect_contains "names the port" "$out" "metricsPort $port"
}


t_shim_to_daemon_with_a_multus_config() {
	local ns=${TAG}h ns2=${TAG}i out rc
	netns_new $ns
	netns_new $ns2
	daemon_start
	bridges_cleanup
	shim_netconf "$(two_bridges)" >"$WORK/nc.json"
	out=$(shim ADD $ns c1 <"$WORK/nc.json")
	expect_eq "result in the conf's cniVersion" "$(json_get "$out" 'j["cniVersion"]')" 0.3.1
	expect_eq "the cluster network's address" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.233.0.2/16
	expect_contains eth0 "$(ip -n $ns -4 -br addr show eth0)" 10.233.0.2/16
	expect_contains net1 "$(ip -n $ns -4 -br addr show net1)" 10.234.0.2/16
	netconf 1.0.0 "$(two_bridges)" "" plexus >"$WORK/thin.json"
	plexus ADD $ns2 c2 <"$WORK/thin.json" >/dev/null
	# container IDs from --json: the table also holds netns names, which TAG makes random
	local ids='sorted(c["containerID"] for c in j["containers"])'
	out=$("$PLEXUS" list --cni-dir "$WORK/cni" --json)
	expect_eq "list: the thick pod and the thin one" "$(json_get "$out" "$ids")" '["c1", "c2"]'
	shim DEL $ns c1 <"$WORK/nc.json" || fail "DEL through the shim"
	expect_eq "c1 gone" "$(json_get "$("$PLEXUS" list --cni-dir "$WORK/cni" --json)" "$ids")" '["c2"]'
	# added by thin, deleted through the shim and the daemon
	shim DEL $ns2 c2 <"$WORK/nc.json" || fail "DEL of a thin pod through the shim"
	expect_clean $ns $ns2
	# added through the shim, deleted by thin
	shim ADD $ns c3 <"$WORK/nc.json" >/dev/null
	plexus DEL $ns c3 <"$WORK/thin.json"
	expect_clean $ns
	# the daemon's CNI error code passes through the shim
	shim_netconf '[]' | sed 's/"delegates"/"defaultNetworks":5,"delegates"/' >"$WORK/bad.json"
	out=$(shim ADD $ns c4 <"$WORK/bad.json") && rc=0 || rc=$?
	expect_eq "shim exit status" "$rc" 1
	expect_eq "code 7 kept" "$(json_get "$out" 'j["code"]')" 7
	expect_contains "names the key" "$(json_get "$out" 'j["msg"]')" defaultNetworks
}

t_shim_del_after_kill_9_mid_add() {
	local ns=${TAG}g
	netns_new $ns
	sleepy_plugin
	daemon_start
	bridges_cleanup
	shim_netconf "[$(bridge_conf cluster ${TAG}b2 10.238.0.0/16), {\"cniVersion\":\"1.0.0\",\"name\":\"s\",\"type\":\"sleepy\"}]" >"$WORK/nc.json"
	shim ADD $ns c1 <"$WORK/nc.json" >"$WORK/add.out" 2>&1 &
	local client=$!
	for _ in $(seq 1 200); do ip -n $ns link show eth0 >/dev/null 2>&1 && break; sleep 0.05; done
	ip -n $ns link show eth0 >/dev/null || fail "the first delegate never ran: $(cat "$WORK/plexusd.log")"
	kill -9 $DPID
	wait $DPID || true
	wait $client || true
	# the daemon is down: the shim's DEL falls back to bin/plexus and the plan on disk
	shim DEL $ns c1 <"$WORK/nc.json" || fail "DEL through the shim with the daemon down"
	expect_clean $ns
}

# As faults.sh t_plexus_killed_before_feeding_its_first_delegate_leaves_nothing, the daemon:
# killed -9 with the first delegate (Debian's bridge plugin) started and not yet fed, held there
# by the plan's rename slowed to 2 s; the plugin reads an empty config and exits without its
# bridge, and the shim's DEL with the daemon down ends clean
t_shim_del_after_kill_9_before_the_first_delegate_is_fed() {
	local ns=${TAG}f child client
	netns_new $ns
	PLEXUS_SLOWRENAME=$WORK/cni/plexus/c1 PLEXUS_SLOWRENAME_MS=2000 \
		LD_PRELOAD=$BUILD/test/preload/slowrename.so daemon_start
	bridges_cleanup
	shim_netconf "[$(bridge_conf cluster ${TAG}b3 10.238.0.0/16)]" >"$WORK/nc.json"
	shim ADD $ns c1 <"$WORK/nc.json" >"$WORK/add.out" 2>&1 &
	client=$!
	child=$(child_named $DPID bridge)
	[ -n "$child" ] || fail "no bridge plugin started under plexusd in 2 s"
	cleanup_add "kill -9 $child"
	kill -9 $DPID
	wait $DPID || true
	wait $client || true
	for _ in $(seq 1 100); do [ -d /proc/$child ] || break; sleep 0.05; done
	[ ! -d /proc/$child ] || fail "the unfed plugin is still there: $(ps -o stat=,args= -p $child)"
	! ip link show ${TAG}b3 >/dev/null 2>&1 || fail "the unfed plugin created its bridge"
	shim DEL $ns c1 <"$WORK/nc.json" || fail "DEL through the shim with the daemon down"
	expect_clean $ns
}

# AddedInterface events, as Multus's daemon sends them: for every ADD without any netconf key,
# one per attachment in Multus's words, and posted after the reply (never in the ADD's latency)
t_events_async() {
	local ns=${TAG}v out posts
	netns_new $ns
	bridges_cleanup
	apiserver_start '{"tokens":{"tok":"u"},"pods":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pod-ev1","namespace":"ns1","uid":"uid-ev1","annotations":{}}}],"nads":[]}'
	daemon_start "\"kubeconfig\": \"$WORK/kubeconfig\""
	netconf 1.0.0 "$(two_bridges)" >"$WORK/nc.json"
	expect_eq "ADD status" "$(cni ADD $ns ev1 <"$WORK/nc.json")" 200
	events_posted 2
	out=$(api GET /_standin/objects/events/ns1)
	expect_eq "AddedInterface events" "$(json_get "$out" 'sorted(e["message"] for e in j if e["reason"]=="AddedInterface")')" \
		'["Add eth0 [10.233.0.2/16] from cluster", "Add net1 [10.234.0.2/16] from second"]'
	expect_eq "about the pod" "$(json_get "$out" 'sorted(set((e["type"], e["involvedObject"]["name"], e["involvedObject"]["uid"]) for e in j))')" \
		'[["Normal", "pod-ev1", "uid-ev1"]]'
	expect_eq "DEL status" "$(cni DEL $ns ev1 <"$WORK/nc.json")" 200
	# the API holds every events POST for 4 s: a synchronous post would hold the reply with it
	api POST /_standin/faults '{"rules":[{"method":"POST","resource":"events","latency_ms":4000,"count":2}]}' >/dev/null
	api POST /_standin/reset-log >/dev/null
	expect_eq "ADD status while events are held" "$(cni ADD $ns ev1 <"$WORK/nc.json")" 200
	posts=$(json_get "$(api GET /_standin/requests)" 'len([r for r in j if r["method"]=="POST" and r["path"].endswith("/events")])')
	expect_eq "events POSTs answered when the ADD's reply came" "$posts" 0
	events_posted 4
	expect_eq "DEL status" "$(cni DEL $ns ev1 <"$WORK/nc.json")" 200
	expect_clean $ns
	# SIGTERM with events still held: the thread gets PXD_EVENTS_DRAIN_MS (2 s), finishes the
	# POST in progress, drops the rest with a log line, and plexusd exits
	api POST /_standin/faults '{"rules":[{"method":"POST","resource":"events","latency_ms":4000,"count":2}]}' >/dev/null
	expect_eq "ADD status" "$(cni ADD $ns ev1 <"$WORK/nc.json")" 200
	kill -TERM $DPID
	wait $DPID || fail "plexusd's exit status after SIGTERM: $?"
	expect_contains "the rest dropped" "$(cat "$WORK/plexusd.log")" "not sent before plexusd stopped"
	netconf 1.0.0 "$(two_bridges)" "" plexus | plexus DEL $ns ev1
	expect_clean $ns
}

# events_posted N: waits (at most 30 s) until the stand-in holds N AddedInterface events in ns1
events_posted() {
	wait_value "AddedInterface events" "$1" 30 added_interface_events
}

added_interface_events() {
	json_get "$(api GET /_standin/objects/events/ns1)" 'len([e for e in j if e["reason"]=="AddedInterface"])'
}

t_config_and_startup_errors_name_the_problem() {
	local out rc
	echo '{"workers":"four"}' >"$WORK/c.json"
	out=$("$PLEXUSD" --config "$WORK/c.json" 2>&1) && rc=0 || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "names the key" "$out" '"workers" must be an integer'
	echo '{"logToStderr":3}' >"$WORK/c.json"
	out=$("$PLEXUSD" -config "$WORK/c.json" 2>&1) || true
	expect_contains "Multus key checked" "$out" '"logToStderr" must be a boolean'
	out=$("$PLEXUSD" --config "$WORK/none.json" 2>&1) || true
	expect_contains "missing file" "$out" "none.json"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$PLEXUSD" --config "$WORK/c.json" 2>&1) && rc=0 || rc=$?
	expect_eq "non-root refused" "$rc" 1
	expect_contains "says why" "$out" "must run as root"
	echo '{"socketDir":"/proc/plexus-cannot"}' >"$WORK/c.json"
	out=$("$PLEXUSD" --config "$WORK/c.json" 2>&1) && rc=0 || rc=$?
	expect_eq "unusable socketDir" "$rc" 1
	expect_contains "names the socketDir" "$out" /proc/plexus-cannot
}

run_tests

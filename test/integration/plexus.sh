#!/usr/bin/env bash
# test/integration/plexus.sh: bin/plexus as a runtime calls it, with Debian's real CNI plugins in
# real network namespaces: ordered delegates, results per cniVersion, rollback, DEL from the
# cache, CHECK, GC, STATUS, readiness, logging, validation, concurrency.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
NOOP=$BUILD/noop
RECORDER=$BUILD/test/tools/recorder

# plexus VERB NETNS CID [IFNAME] < netconf  (env: EXTRA_ARGS appended to CNI_ARGS); a failure
# is kept for the test's report (kept)
plexus() {
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=${4:-eth0} \
	CNI_PATH=$PLUGINS CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-$3;K8S_POD_INFRA_CONTAINER_ID=$3;K8S_POD_UID=uid-$3${EXTRA_ARGS:-}" \
	kept $MEMCHECK "$PLEXUS"
}

bridge_conf() { # NAME BRIDGE SUBNET [VERSION]
	echo "{\"cniVersion\":\"${4:-1.0.0}\",\"name\":\"$1\",\"type\":\"bridge\",\"bridge\":\"$2\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"$3\"}]]}}"
}

# netconf VERSION DELEGATES-JSON [EXTRA-KEYS]
netconf() {
	echo "{\"cniVersion\":\"$1\",\"name\":\"plexus-net\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"confDir\":\"$WORK/conf\",\"delegates\":$2${3:+,$3}}"
}

setup_links() {
	mkdir -p "$WORK/bin" "$WORK/conf" "$WORK/ipam"
	ip link add ${TAG}m0 type veth peer name ${TAG}m1
	cleanup_add "ip link del ${TAG}m0"
	ip link set ${TAG}m0 up
	ip link set ${TAG}m1 up
	cleanup_add "ip link del ${TAG}b0; ip link del ${TAG}b1; ip link del ${TAG}b2"
}

four_delegates() { # VERSION
	local v=$1
	echo "[$(bridge_conf cluster ${TAG}b0 10.232.0.0/24 $v),
 {\"cniVersion\":\"$v\",\"name\":\"mvnet\",\"type\":\"macvlan\",\"master\":\"${TAG}m0\",\"mode\":\"bridge\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.232.1.0/24\"}]]}},
 $(bridge_conf second ${TAG}b1 10.232.2.0/24 $v),
 {\"cniVersion\":\"$v\",\"name\":\"tuned\",\"plugins\":[$(bridge_conf x ${TAG}b2 10.232.3.0/24 $v),{\"type\":\"tuning\",\"mtu\":1280}]}]"
}

# nothing of a container left: interfaces, reservations, caches
expect_clean() { # NETNS
	local left
	if [ -n "${1:-}" ] && ip netns list | grep -qw "$1"; then
		left=$(ip -n "$1" -o link show | grep -v ': lo:' || true)
		[ -z "$left" ] || fail "interfaces left in $1: $left"
	fi
	left=$(find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null || true)
	[ -z "$left" ] || fail "IP reservations left: $left"
	left=$(find "$WORK/cni" -type f 2>/dev/null || true)
	[ -z "$left" ] || fail "cache files left: $left"
}

t_four_delegates_added_in_order_and_removed() {
	local ns=${TAG}a out
	setup_links
	netns_new $ns
	netconf 1.0.0 "$(four_delegates 1.0.0)" >"$WORK/nc.json"
	out=$(plexus ADD $ns c1 <"$WORK/nc.json") || fail "ADD of four delegates: $out"
	expect_eq "printed result is the cluster network's" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.232.0.2/24
	expect_contains eth0 "$(ip -n $ns -4 -br addr show eth0)" 10.232.0.2/24
	expect_contains net1 "$(ip -n $ns -4 -br addr show net1)" 10.232.1.2/24
	expect_contains net2 "$(ip -n $ns -4 -br addr show net2)" 10.232.2.2/24
	expect_contains net3 "$(ip -n $ns -4 -br addr show net3)" 10.232.3.2/24
	expect_contains "tuning chained on net3" "$(ip -n $ns link show net3)" "mtu 1280"
	[ -f "$WORK/cni/plexus/c1" ] || fail "no plexus cache"
	expect_eq "cache mode" "$(stat -c %a "$WORK/cni/plexus/c1")" 600
	expect_eq "cache dir mode" "$(stat -c %a "$WORK/cni/plexus")" 700
	plexus DEL $ns c1 <"$WORK/nc.json"
	expect_clean $ns
}

t_result_printed_in_the_netconf_version() {
	local ns=${TAG}v out v
	setup_links
	netns_new $ns
	for v in 0.3.1 0.4.0 1.0.0 1.1.0; do
		# delegates speak 1.0.0 (Debian's plugins stop there); plexus converts for the runtime
		netconf $v "[$(bridge_conf cluster ${TAG}b0 10.232.4.0/24 1.0.0)]" >"$WORK/nc.json"
		out=$(plexus ADD $ns cv <"$WORK/nc.json")
		expect_eq "cniVersion $v" "$(json_get "$out" 'j["cniVersion"]')" $v
		case $v in
		# the string "4" (the spec's type; libcni cannot decode a number there), not the number 4
		0.*) expect_eq "ips[].version at $v" "$(json_get "$out" 'repr(j["ips"][0]["version"])')" "'4'" ;;
		*) expect_eq "no ips[].version at $v" "$(json_get "$out" '"version" in j["ips"][0]')" false ;;
		esac
		plexus DEL $ns cv <"$WORK/nc.json"
	done
	expect_clean $ns
}

noop_debug() { # FILE ERROR-OR-EMPTY
	/usr/bin/python3 -c 'import json,sys; json.dump({"ReportResult":"{\"cniVersion\":\"1.0.0\"}","ReportError":sys.argv[2]}, open(sys.argv[1],"w"))' "$1" "$2"
}

t_rollback_when_a_delegate_fails() {
	local ns=${TAG}r out
	setup_links
	netns_new $ns
	cp "$NOOP" "$WORK/bin/noop"
	noop_debug "$WORK/noop.json" "injected failure"
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.5.0/24),$(bridge_conf second ${TAG}b1 10.232.6.0/24),
	  {\"cniVersion\":\"1.0.0\",\"name\":\"failing\",\"type\":\"noop\",\"debugFile\":\"$WORK/noop.json\"}]" >"$WORK/nc.json"
	out=$(plexus ADD $ns cr <"$WORK/nc.json") && fail "ADD succeeded"
	expect_contains "error names the network" "$out" 'error adding container to network \"failing\"'
	expect_contains "delegate message" "$out" "injected failure"
	expect_eq "delegate code passed through" "$(json_get "$out" 'j["code"]')" 999
	# everything attached before the failure was removed again
	expect_eq "no interfaces" "$(links_in $ns)" 0
	[ -z "$(find "$WORK/ipam" -type f -name '10.*')" ] || fail "reservations left after rollback"
	# the runtime's DEL afterwards succeeds and removes the cache
	noop_debug "$WORK/noop.json" ""
	plexus DEL $ns cr <"$WORK/nc.json"
	expect_clean $ns
}

t_rollback_when_a_delegate_hangs() {
	local ns=${TAG}h out pid
	setup_links
	netns_new $ns
	# the delegate's pid (the same process once it has exec'd sleep) written down before it hangs:
	# sleep's command line does not name the script, so only the pid can find it
	printf '#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then echo $$ >%s/hang.pid; exec sleep 1000; fi\nexit 0\n' "$WORK" >"$WORK/bin/hang"
	chmod +x "$WORK/bin/hang"
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.7.0/24),{\"cniVersion\":\"1.0.0\",\"name\":\"hangs\",\"type\":\"hang\"}]" \
		'"delegateTimeoutSeconds":1' >"$WORK/nc.json"
	out=$(plexus ADD $ns ch <"$WORK/nc.json") && fail "ADD succeeded"
	expect_contains "timeout" "$out" "timed out after 1000 ms"
	pid=$(cat "$WORK/hang.pid" 2>/dev/null || true)
	[ -n "$pid" ] || fail "the hanging delegate never ran"
	# plexus kills and reaps the delegate before it returns: gone now, not some time later
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		fail "hanging delegate (pid $pid) still running after plexus returned"
	fi
	expect_eq "no interfaces" "$(links_in $ns)" 0
	plexus DEL $ns ch <"$WORK/nc.json"
	expect_clean $ns
}

t_twenty_pods_added_and_deleted_in_parallel() {
	local i pids=()
	setup_links
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.8.0/24),$(bridge_conf second ${TAG}b1 10.232.9.0/24)]" >"$WORK/nc.json"
	for i in $(seq 1 20); do netns_new ${TAG}p$i; done
	for i in $(seq 1 20); do plexus ADD ${TAG}p$i pod$i <"$WORK/nc.json" >"$WORK/add$i.out" & pids+=($!); done
	for p in "${pids[@]}"; do wait $p || fail "a parallel ADD failed"; done
	expect_eq "addresses handed out" "$(find "$WORK/ipam" -name '10.232.*' | wc -l)" 40
	for i in $(seq 1 20); do
		expect_contains "pod $i net1" "$(ip -n ${TAG}p$i -4 -br addr show net1)" 10.232.9.
	done
	pids=()
	for i in $(seq 1 20); do plexus DEL ${TAG}p$i pod$i <"$WORK/nc.json" & pids+=($!); done
	for p in "${pids[@]}"; do wait $p || fail "a parallel DEL failed"; done
	for i in $(seq 1 20); do expect_clean ${TAG}p$i; done
}

t_bad_input_is_an_error_object_and_changes_nothing() {
	local ns=${TAG}b out
	setup_links
	netns_new $ns
	out=$(echo '{"cniVersion":"1.0.0","name":"x","type":"plexus",' | plexus ADD $ns cb) && fail "bad JSON accepted"
	expect_eq "bad JSON code" "$(json_get "$out" 'j["code"]')" 6
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.10.0/24)]" '"logToStderr":"sometimes"' | plexus ADD $ns cb) && fail "wrong type accepted"
	expect_eq "wrong type code" "$(json_get "$out" 'j["code"]')" 7
	expect_contains "names the key" "$out" logToStderr
	out=$(echo '{"cniVersion":"1.0.0","name":"x","type":"plexus"}' | plexus ADD $ns cb) && fail "no delegates accepted"
	expect_contains "no delegates" "$out" "at least one delegate/clusterNetwork must be specified"
	out=$(netconf 1.0.0 "[{\"name\":\"nt\",\"cniVersion\":\"1.0.0\"}]" | plexus ADD $ns cb) && fail "delegate without type accepted"
	expect_contains "delegate without type" "$out" "missing 'type'"
	# CNI_IFNAME=net1 collides with the second delegate's automatic net1
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.10.0/24),$(bridge_conf second ${TAG}b1 10.232.11.0/24)]" | plexus ADD $ns cb net1) && fail "collision accepted"
	expect_contains "collision" "$out" 'both want interface \"net1\"'
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.10.0/24)]" | CNI_CONTAINERID= plexus ADD $ns "") && fail "missing env accepted"
	expect_eq "missing env code" "$(json_get "$out" 'j["code"]')" 4
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.10.0/24)]" | plexus ADD $ns cb "eth0/../x") && fail "bad ifname accepted"
	expect_eq "bad ifname code" "$(json_get "$out" 'j["code"]')" 4
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.10.0/24 9.9.9)]" | plexus ADD $ns cb) && fail "unknown delegate version accepted"
	expect_eq "unknown delegate version code" "$(json_get "$out" 'j["code"]')" 1
	out=$(netconf 1.0.0 "[{\"cniVersion\":\"1.0.0\",\"name\":\"t\",\"type\":\"../../../bin/true\"}]" | plexus ADD $ns cb) && fail "path traversal ran"
	expect_contains "traversal" "$out" "invalid plugin name"
	expect_clean $ns
	ip link show ${TAG}b0 >/dev/null 2>&1 && fail "a bridge was created by a rejected ADD"
	true
}

t_existing_interface_name_is_refused() {
	local ns=${TAG}e out
	setup_links
	netns_new $ns
	ip -n $ns link add net1 type veth peer name other1
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.12.0/24),$(bridge_conf second ${TAG}b1 10.232.13.0/24)]" >"$WORK/nc.json"
	out=$(plexus ADD $ns ce <"$WORK/nc.json") && fail "ADD succeeded"
	expect_contains "Multus's message" "$out" "validateIfName: interface name net1 already exists"
	ip -n $ns link show eth0 >/dev/null 2>&1 && fail "eth0 was attached anyway"
	ip -n $ns link del net1
	expect_clean $ns
}

t_cluster_network_by_name_directory_and_file_with_default_networks() {
	local ns=${TAG}c out ref
	setup_links
	netns_new $ns
	mkdir -p "$WORK/conf" "$WORK/primary"
	bridge_conf cluster ${TAG}b0 10.232.14.0/24 >"$WORK/conf/10-cluster.conf"
	bridge_conf extra ${TAG}b1 10.232.15.0/24 >"$WORK/conf/20-extra.conf"
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"listed\",\"plugins\":[$(bridge_conf l ${TAG}b2 10.232.16.0/24)]}" >"$WORK/conf/30-listed.conflist"
	echo garbage >"$WORK/conf/05-broken.conf"
	cp "$WORK/conf/10-cluster.conf" "$WORK/primary/"
	for ref in cluster "$WORK/primary" "$WORK/conf/10-cluster.conf"; do
		echo "{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"confDir\":\"$WORK/conf\",\"clusterNetwork\":\"$ref\",\"defaultNetworks\":[\"extra\",\"listed\"]}" >"$WORK/nc.json"
		out=$(plexus ADD $ns cc <"$WORK/nc.json")
		expect_contains "eth0 via $ref" "$(ip -n $ns -4 -br addr show eth0)" 10.232.14.
		expect_contains "net1 default network" "$(ip -n $ns -4 -br addr show net1)" 10.232.15.
		expect_contains "net2 conflist default network" "$(ip -n $ns -4 -br addr show net2)" 10.232.16.
		plexus DEL $ns cc <"$WORK/nc.json"
		expect_clean $ns
	done
	# pods in systemNamespaces (kube-system by default) get their cluster network but no
	# defaultNetworks; CNI_ARGS given whole here, as the helper's names namespace ns1
	out=$(CNI_COMMAND=ADD CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=cs CNI_IFNAME=eth0 CNI_PATH=$PLUGINS \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns" "$PLEXUS" <"$WORK/nc.json")
	expect_contains "kube-system pod's eth0" "$(ip -n $ns -4 -br addr show eth0)" 10.232.14.
	ip -n $ns link show net1 >/dev/null 2>&1 && fail "kube-system pod got defaultNetworks"
	CNI_COMMAND=DEL CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=cs CNI_IFNAME=eth0 CNI_PATH=$PLUGINS \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns" "$PLEXUS" <"$WORK/nc.json"
	out=$(echo "{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"confDir\":\"$WORK/conf\",\"clusterNetwork\":\"nosuch\"}" | plexus ADD $ns cc) && fail "unknown clusterNetwork accepted"
	expect_contains "unknown clusterNetwork" "$out" 'no network named \"nosuch\"'
	expect_clean $ns
}

t_del_is_idempotent_and_needs_neither_netns_nor_cache() {
	local ns=${TAG}d
	setup_links
	netns_new $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.17.0/24),$(bridge_conf second ${TAG}b1 10.232.18.0/24)]" >"$WORK/nc.json"
	plexus ADD $ns cd <"$WORK/nc.json" >/dev/null
	plexus DEL $ns cd <"$WORK/nc.json"
	plexus DEL $ns cd <"$WORK/nc.json"
	expect_clean $ns
	# the netns deleted before DEL: reservations still released
	plexus ADD $ns cd <"$WORK/nc.json" >/dev/null
	ip netns del $ns
	plexus DEL $ns cd <"$WORK/nc.json"
	CNI_NETNS= plexus DEL "" cd <"$WORK/nc.json"
	expect_clean ""
	# no cache and a netconf naming nothing loadable: success
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"confDir\":\"$WORK/none\",\"clusterNetwork\":\"gone\"}" | plexus DEL "" never
	expect_clean ""
}

t_check_covers_every_attachment() {
	local ns=${TAG}k out
	setup_links
	netns_new $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.19.0/24),$(bridge_conf second ${TAG}b1 10.232.20.0/24)]" >"$WORK/nc.json"
	plexus ADD $ns ck <"$WORK/nc.json" >/dev/null
	plexus CHECK $ns ck <"$WORK/nc.json"
	ip -n $ns addr flush dev net1
	out=$(plexus CHECK $ns ck <"$WORK/nc.json") && fail "CHECK passed with net1's address gone"
	expect_contains "names the attachment" "$out" 'network \"second\" on net1'
	out=$(plexus CHECK $ns nosuch <"$WORK/nc.json") && fail "CHECK of an unknown container passed"
	expect_eq "unknown container" "$(json_get "$out" 'j["code"]')" 3
	plexus DEL $ns ck <"$WORK/nc.json"
	expect_clean $ns
}

recorder_delegate() { # NAME [EXTRA]
	echo "{\"cniVersion\":\"1.1.0\",\"name\":\"$1\",\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\"${2:+,$2}}"
}

t_gc_removes_stale_containers_and_forwards_valid_attachments() {
	local ns1=${TAG}g1 ns2=${TAG}g2 out
	setup_links
	netns_new $ns1
	netns_new $ns2
	cp "$RECORDER" "$WORK/bin/recorder"
	mkdir -p "$WORK/rec"
	netconf 1.1.0 "[$(bridge_conf cluster ${TAG}b0 10.232.21.0/24),$(recorder_delegate rec)]" >"$WORK/nc.json"
	plexus ADD $ns1 keep <"$WORK/nc.json" >/dev/null
	plexus ADD $ns2 stale <"$WORK/nc.json" >/dev/null
	/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["cni.dev/valid-attachments"]=[{"containerID":"keep","ifname":"eth0"}]; json.dump(j,open(sys.argv[1],"w"))' "$WORK/nc.json"
	rm -f "$WORK/rec/"*
	# what a writer of an older plexus (temporaries named <file>.tmp.<pid>) killed mid-write left
	for f in "$WORK/cni/plexus/stale" "$WORK/cni/stale" "$WORK/cni/plexus/keep"; do
		echo '{"half":' >"$f.tmp.4242"
	done
	CNI_COMMAND=GC CNI_PATH=$PLUGINS "$PLEXUS" <"$WORK/nc.json"
	[ -f "$WORK/cni/plexus/keep" ] || fail "valid container's cache removed"
	[ ! -e "$WORK/cni/plexus/stale" ] || fail "stale container's cache kept"
	expect_eq "the stale container's temporaries" "$(ls "$WORK/cni/plexus/stale.tmp.4242" "$WORK/cni/stale.tmp.4242" 2>/dev/null || true)" ""
	[ -f "$WORK/cni/plexus/keep.tmp.4242" ] || fail "a valid container's temporary removed (its writer may still run)"
	rm -f "$WORK/cni/plexus/keep.tmp.4242"
	expect_eq "stale eth0 gone" "$(links_in $ns2)" 0
	ip -n $ns1 link show eth0 >/dev/null || fail "valid container lost eth0"
	ls "$WORK/rec" | grep -q -- '-DEL-net1$' || fail "stale recorder attachment not deleted"
	out=$(cat "$WORK"/rec/*-GC-*)
	expect_contains "GC forwarded with the valid attachments" "$out" '\"containerID\":\"keep\",\"ifname\":\"net1\"'
	expect_not_contains "stale not valid" "$out" '\"containerID\":\"stale\"'
	plexus DEL $ns1 keep <"$WORK/nc.json"
	expect_clean $ns1
}

t_status_reports_readiness_and_asks_the_cluster_network() {
	local out
	setup_links
	cp "$RECORDER" "$WORK/bin/recorder"
	mkdir -p "$WORK/rec"
	netconf 1.1.0 "[$(recorder_delegate cluster)]" "\"readinessindicatorfile\":\"$WORK/ready\"" >"$WORK/nc.json"
	out=$(CNI_COMMAND=STATUS CNI_PATH=$PLUGINS "$PLEXUS" <"$WORK/nc.json") && fail "STATUS passed without readiness file"
	expect_eq "code 50" "$(json_get "$out" 'j["code"]')" 50
	touch "$WORK/ready"
	CNI_COMMAND=STATUS CNI_PATH=$PLUGINS "$PLEXUS" <"$WORK/nc.json"
	ls "$WORK/rec" | grep -q -- '-STATUS-' || fail "STATUS not forwarded to the cluster network"
	netconf 1.1.0 "[$(recorder_delegate cluster '"failOn":"STATUS","failCode":51,"failMsg":"no free VFs"')]" >"$WORK/nc.json"
	out=$(CNI_COMMAND=STATUS CNI_PATH=$PLUGINS "$PLEXUS" <"$WORK/nc.json") && fail "STATUS passed"
	expect_eq "delegate code" "$(json_get "$out" 'j["code"]')" 51
	expect_contains "delegate message" "$out" "no free VFs"
}

t_add_waits_for_the_readiness_file() {
	local ns=${TAG}w out
	setup_links
	netns_new $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.22.0/24)]" "\"readinessindicatorfile\":\"$WORK/ready\",\"readinessTimeoutSeconds\":1" >"$WORK/nc.json"
	out=$(plexus ADD $ns cw <"$WORK/nc.json") && fail "ADD passed without readiness file"
	expect_contains "Multus's message" "$out" "still waiting for readinessindicatorfile @ $WORK/ready"
	expect_clean $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.22.0/24)]" "\"readinessindicatorfile\":\"$WORK/ready\",\"readinessTimeoutSeconds\":30" >"$WORK/nc.json"
	( sleep 2; touch "$WORK/ready" ) &
	plexus ADD $ns cw <"$WORK/nc.json" >/dev/null
	[ -e "$WORK/ready" ] || fail "ADD finished before the readiness file appeared"
	plexus DEL $ns cw <"$WORK/nc.json"
	expect_clean $ns
}

t_logging_keys_work() {
	local ns=${TAG}l out
	setup_links
	netns_new $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.23.0/24)]" "\"logFile\":\"$WORK/plexus.log\",\"logLevel\":\"debug\",\"logToStderr\":false" >"$WORK/nc.json"
	plexus ADD $ns cl <"$WORK/nc.json" >/dev/null 2>"$WORK/stderr"
	expect_contains "log file has the request prefix" "$(cat "$WORK/plexus.log")" "[ns1/pod-cl/uid-cl]"
	expect_contains "debug lines" "$(cat "$WORK/plexus.log")" "[debug]"
	[ ! -s "$WORK/stderr" ] || fail "logged to stderr with logToStderr false: $(cat "$WORK/stderr")"
	expect_eq "log file mode" "$(stat -c %a "$WORK/plexus.log")" 600
	plexus DEL $ns cl <"$WORK/nc.json"
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.23.0/24)]" "\"logFile\":\"$WORK/err.log\",\"logLevel\":\"error\"" >"$WORK/nc.json"
	plexus ADD $ns cl <"$WORK/nc.json" >/dev/null 2>/dev/null
	[ ! -s "$WORK/err.log" ] || fail "error level logged a successful ADD: $(cat "$WORK/err.log")"
	plexus DEL $ns cl <"$WORK/nc.json" 2>/dev/null
	# logOptions: a log over maxSize MB is rotated to .1 when plexus opens it
	head -c 1100000 /dev/zero >"$WORK/rot.log"
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.23.0/24)]" "\"logFile\":\"$WORK/rot.log\",\"logLevel\":\"debug\",\"logToStderr\":false,\"logOptions\":{\"maxSize\":1,\"maxBackups\":2}" >"$WORK/nc.json"
	plexus ADD $ns cl <"$WORK/nc.json" >/dev/null
	expect_eq "rotated backup" "$(stat -c %s "$WORK/rot.log.1")" 1100000
	[ "$(stat -c %s "$WORK/rot.log")" -lt 100000 ] || fail "log not rotated"
	plexus DEL $ns cl <"$WORK/nc.json"
	out=$(netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.23.0/24)]" '"logOptions":{"maxSize":"big"}' | plexus ADD $ns cl) && fail "bad logOptions accepted"
	expect_contains "names logOptions" "$out" logOptions
	expect_clean $ns
}

t_same_container_is_serialized() {
	local ns=${TAG}s
	setup_links
	netns_new $ns
	netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.24.0/24)]" >"$WORK/nc.json"
	mkdir -p "$WORK/cni/plexus"
	# another holder of the container's lock: ADD must wait until it lets go
	flock "$WORK/cni/plexus/cs.lock" sh -c "sleep 2; touch $WORK/released" &
	sleep 0.5
	plexus ADD $ns cs <"$WORK/nc.json" >/dev/null
	[ -e "$WORK/released" ] || fail "ADD ran while another process held the container lock"
	wait
	plexus DEL $ns cs <"$WORK/nc.json"
	expect_clean $ns
}

t_retry_delete_on_error_keeps_the_cache() {
	local ns=${TAG}x out
	setup_links
	netns_new $ns
	cp "$NOOP" "$WORK/bin/noop"
	noop_debug "$WORK/noop.json" ""
	for retry in false true; do
		netconf 1.0.0 "[$(bridge_conf cluster ${TAG}b0 10.232.25.0/24),{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"noop\",\"debugFile\":\"$WORK/noop.json\"}]" "\"retryDeleteOnError\":$retry" >"$WORK/nc.json"
		noop_debug "$WORK/noop.json" ""
		plexus ADD $ns cx <"$WORK/nc.json" >/dev/null
		noop_debug "$WORK/noop.json" "DEL broke"
		out=$(plexus DEL $ns cx <"$WORK/nc.json") && fail "DEL reported success"
		expect_contains "DEL error" "$out" "DEL broke"
		ip -n $ns link show eth0 >/dev/null 2>&1 && fail "DEL stopped at the first failure"
		if [ $retry = true ]; then
			[ -f "$WORK/cni/plexus/cx" ] || fail "cache removed despite retryDeleteOnError"
		else
			[ ! -e "$WORK/cni/plexus/cx" ] || fail "cache kept without retryDeleteOnError"
		fi
		noop_debug "$WORK/noop.json" ""
		plexus DEL $ns cx <"$WORK/nc.json"
	done
	expect_clean $ns
}

run_tests

#!/usr/bin/env bash
# test/integration/hotplug.sh: networks hot-plugged into running pods by bin/plexusd: the
# reconcile of the networks annotation (daemon config "dynamicNetworks": true), followed through
# the pod watch of the API stand-in (test/stand-ins/apiserver.py), and Multus's /delegate
# requests as multus-dynamic-networks-controller sends them; Debian's real bridge and host-local
# plugins in real network namespaces; network-status read back from the stand-in.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../thick-lib.sh"

NODE=node-$TAG

# nad NAME BRIDGE SUBNET [TYPE]: a bridge NAD in ns1 (host-local IPAM, ips capability)
nad() {
	local conf
	conf="{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"plugins\":[{\"type\":\"${4:-bridge}\",\"bridge\":\"$2\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"$3\"}]]},\"capabilities\":{\"ips\":true,\"mac\":true}}]}"
	api POST /_standin/objects "$(/usr/bin/python3 -c 'import json,sys
print(json.dumps({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
                  "metadata": {"name": sys.argv[1], "namespace": "ns1"}, "spec": {"config": sys.argv[2]}}))' "$1" "$conf")" >/dev/null
}

# pod CID NETWORKS [DELETING]: pod-CID (UID uid-CID) on this node with that networks annotation
# ("-": none), created or replaced; DELETING set: with a deletionTimestamp
pod() {
	api POST /_standin/objects "$(/usr/bin/python3 -c 'import json,sys
cid, nets, node, deleting = sys.argv[1:5]
md = {"name": "pod-" + cid, "namespace": "ns1", "uid": "uid-" + cid, "annotations": {}}
if nets != "-":
    md["annotations"]["k8s.v1.cni.cncf.io/networks"] = nets
if deleting:
    md["deletionTimestamp"] = "2026-12-06T00:00:00Z"
print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": {"nodeName": node}}))' "$1" "$2" "$NODE" "${3:-}")" >/dev/null
}

# hp_start [EXTRA-KEYS]: the stand-in and plexusd following the annotation
hp_start() {
	apiserver_start '{"tokens":{"tok":"u"},"pods":[],"nads":[]}'
	daemon_start "\"kubeconfig\": \"$WORK/kubeconfig\", \"dynamicNetworks\": true${1:+, $1}"
	cleanup_add "ip link del ${TAG}h0; ip link del ${TAG}h1; ip link del ${TAG}h2; ip link del ${TAG}h3"
	nad nad-a ${TAG}h1 10.250.1.0/24
	nad nad-b ${TAG}h2 10.250.2.0/24
	shim_netconf "[$(bridge_conf cluster ${TAG}h0 10.250.0.0/24)]" >"$WORK/nc.json"
}

# await_links NETNS WANT: the netns has exactly those interfaces within 20 s
await_links() { AWAIT_LOG=$WORK/plexusd.log await_eq "interfaces of $1" "$2" links "$1"; }

# status CID: network-status of pod-CID as "name@interface" sorted, space-separated
status() {
	json_get "$(api GET /_standin/objects/pods/ns1/pod-$1)" \
		'" ".join(sorted("%s@%s" % (s["name"], s.get("interface", "")) for s in json.loads(j["metadata"]["annotations"].get("k8s.v1.cni.cncf.io/network-status", "[]"))))'
}

# await_status CID WANT: network-status says WANT within 20 s
await_status() { await_eq "network-status of pod-$1" "$2" status "$1"; }

# events CID REASON: how many events of that reason the pod has
events() {
	json_get "$(api GET /_standin/objects/events/ns1)" \
		"len([e for e in j if e['reason'] == '$2' and e['involvedObject']['name'] == 'pod-$1'])"
}

await_events() { # CID REASON N
	for _ in $(seq 1 200); do
		[ "$(events "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	fail "pod-$1: $(events "$1" "$2") $2 events, want $3"
}

# add CID NETNS [NETWORKS]: the pod created with NETWORKS, then its sandbox ADDed through the shim
add() {
	pod "$1" "${3:--}"
	shim ADD "$2" "$1" <"$WORK/nc.json" >"$WORK/add.out" || fail "ADD: $(cat "$WORK/add.out")"
}

t_networks_added_and_removed_follow_the_annotation() {
	local ns=${TAG}a
	netns_new $ns
	hp_start
	add c1 $ns
	expect_eq "after ADD" "$(links $ns)" "eth0"
	# one network
	pod c1 nad-a
	await_links $ns "eth0 net1"
	await_status c1 "cluster@eth0 ns1/nad-a@net1"
	await_events c1 AddedInterface 2
	# two more at once, one with its interface named
	pod c1 'nad-a,nad-b,nad-b@blue'
	await_links $ns "blue eth0 net1 net2"
	await_status c1 "cluster@eth0 ns1/nad-a@net1 ns1/nad-b@blue ns1/nad-b@net2"
	ip -n $ns -4 -o addr show net2 | grep -q '10.250.2.' || fail "net2 has no address of nad-b"
	# the first removed: net1 goes, the others keep their names (matched, not re-added)
	pod c1 'nad-b,nad-b@blue'
	await_links $ns "blue eth0 net2"
	await_status c1 "cluster@eth0 ns1/nad-b@blue ns1/nad-b@net2"
	await_events c1 RemovedInterface 1
	expect_eq "net2 was never re-added" "$(grep -c 'hot-plug: added ns1/nad-b on net2' "$WORK/plexusd.log")" 1
	# the annotation removed entirely: back to the cluster network alone
	pod c1 -
	await_links $ns "eth0"
	await_status c1 "cluster@eth0"
	shim DEL $ns c1 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_changed_ips_reattach_on_the_same_interface() {
	local ns=${TAG}b
	netns_new $ns
	hp_start
	# the runtime's own capability args (containerd sends a pod's hostPorts) are not the
	# element's requests: the reconcile, which has none, must not see a change in them
	sed -i 's/"delegates"/"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]},"delegates"/' "$WORK/nc.json"
	add c2 $ns '[{"name":"nad-a","ips":["10.250.1.77/24"]}]'
	ip -n $ns -4 -o addr show net1 | grep -q '10.250.1.77/24' || fail "net1 lacks 10.250.1.77: $(ip -n $ns -o addr; cat "$WORK/add.out"; grep -v 'GET\|PATCH' "$WORK/plexusd.log" | tail -n 30)"
	# the reconcile that follows the ADD (its status write moves the pod) leaves it alone
	sleep 1.5
	expect_eq "no re-attach of an unchanged element" "$(grep -c 'DEL ns1/nad-a on net1' "$WORK/plexusd.log" || true)" 0
	pod c2 '[{"name":"nad-a","ips":["10.250.1.88/24"]}]'
	for _ in $(seq 1 200); do
		ip -n $ns -4 -o addr show net1 2>/dev/null | grep -q '10.250.1.88/24' && break
		sleep 0.1
	done
	ip -n $ns -4 -o addr show net1 | grep -q '10.250.1.88/24' || fail "net1 did not move to 10.250.1.88: $(tail -n 20 "$WORK/plexusd.log")"
	expect_eq "interfaces" "$(links $ns)" "eth0 net1"
	await_status c2 "cluster@eth0 ns1/nad-a@net1"
	[ ! -e "$WORK/ipam/nad-a/10.250.1.77" ] || fail "the old address is still reserved"
	shim DEL $ns c2 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

# nad-f, of a plugin that fails ADD while $WORK/fail-add exists and takes 3 s while
# $WORK/slow-add does; it counts its ADDs in $WORK/fail-adds and makes a veth end its interface
flaky_nad() {
	cat >"$WORK/bin/flaky" <<EOF
#!/bin/sh
cat >/dev/null
if [ "\$CNI_COMMAND" = ADD ]; then
	echo x >>"$WORK/fail-adds"
	[ -e "$WORK/slow-add" ] && sleep 3
	if [ -e "$WORK/fail-add" ]; then
		echo '{"cniVersion":"1.0.0","code":11,"msg":"flaky says no"}'
		exit 1
	fi
	ip link add "\$CNI_IFNAME" netns "\$CNI_NETNS" type veth peer name "fl\$\$" >/dev/null 2>&1 ||
		{ echo '{"cniVersion":"1.0.0","code":11,"msg":"no veth"}'; exit 1; }
	echo '{"cniVersion":"1.0.0","interfaces":[{"name":"'\$CNI_IFNAME'","sandbox":"'\$CNI_NETNS'"}]}'
	exit 0
fi
[ "\$CNI_COMMAND" = DEL ] && ip -n "\$(basename "\$CNI_NETNS")" link del "\$CNI_IFNAME" >/dev/null 2>&1
exit 0
EOF
	chmod +x "$WORK/bin/flaky"
	api POST /_standin/objects '{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition","metadata":{"name":"nad-f","namespace":"ns1"},"spec":{"config":"{\"cniVersion\":\"1.0.0\",\"name\":\"nad-f\",\"type\":\"flaky\"}"}}' >/dev/null
}

t_failed_attach_rolls_back_alone_warns_and_is_retried() {
	local ns=${TAG}c n
	netns_new $ns
	hp_start
	flaky_nad
	add c3 $ns
	touch "$WORK/fail-add"
	pod c3 'nad-a,nad-f'
	await_events c3 FailedAddingInterface 1
	await_links $ns "eth0 net1"
	await_status c3 "cluster@eth0 ns1/nad-a@net1"
	expect_contains "the event says why" \
		"$(json_get "$(api GET /_standin/objects/events/ns1)" '[e["message"] for e in j if e["reason"]=="FailedAddingInterface"][0]')" \
		"flaky says no"
	# retried with backoff while the annotation asks for it (1 s, then 2 s...)
	for _ in $(seq 1 100); do
		n=$(wc -l <"$WORK/fail-adds")
		[ "$n" -ge 2 ] && break
		sleep 0.1
	done
	[ "$n" -ge 2 ] || fail "the failed attach was not retried ($n ADDs)"
	rm -f "$WORK/fail-add"
	await_links $ns "eth0 net1 net2"
	await_status c3 "cluster@eth0 ns1/nad-a@net1 ns1/nad-f@net2"
	shim DEL $ns c3 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_an_invalid_annotation_changes_nothing_and_says_why() {
	local ns=${TAG}d
	netns_new $ns
	hp_start
	add c4 $ns nad-a
	expect_eq "after ADD" "$(links $ns)" "eth0 net1"
	pod c4 'nad-a,no-such-nad'
	await_events c4 FailedAddingInterface 1
	expect_contains "the event names the NAD" \
		"$(json_get "$(api GET /_standin/objects/events/ns1)" '[e["message"] for e in j if e["reason"]=="FailedAddingInterface"][0]')" \
		"no-such-nad"
	pod c4 '[{"name":"nad-a","interface":"../x"}]'
	await_events c4 FailedAddingInterface 2
	sleep 1
	expect_eq "nothing changed" "$(links $ns)" "eth0 net1"
	shim DEL $ns c4 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_an_interface_the_pod_already_has_is_never_taken() {
	local ns=${TAG}k
	netns_new $ns
	hp_start
	add c11 $ns
	# an interface plexus did not make, with the name an element asks for
	ip link add ${TAG}x0 type veth peer name ext0 netns $ns
	cleanup_add "ip link del ${TAG}x0"
	pod c11 nad-a@ext0
	await_events c11 FailedAddingInterface 1
	expect_contains "the event says why" \
		"$(json_get "$(api GET /_standin/objects/events/ns1)" '[e["message"] for e in j if e["reason"]=="FailedAddingInterface"][0]')" \
		"interface name ext0 already exists"
	sleep 2 # a retry or two
	ip -n $ns link show ext0 >/dev/null 2>&1 || fail "the pod's own ext0 was deleted"
	ip link del ${TAG}x0
	pod c11 nad-a
	await_links $ns "eth0 net1"
	shim DEL $ns c11 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_pod_being_deleted_is_not_reconciled() {
	local ns=${TAG}e
	netns_new $ns
	hp_start
	add c5 $ns
	pod c5 nad-a deleting
	sleep 2
	expect_eq "nothing attached to a pod being deleted" "$(links $ns)" "eth0"
	expect_eq "no event" "$(events c5 AddedInterface)" 1
	shim DEL $ns c5 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_pod_deleted_while_a_retry_is_queued() {
	local ns=${TAG}j
	netns_new $ns
	hp_start
	flaky_nad
	add c10 $ns
	touch "$WORK/fail-add"
	pod c10 nad-f
	await_events c10 FailedAddingInterface 1
	# the retry waits its backoff; meanwhile the runtime deletes the sandbox (the pod object
	# stays a while, as it does until kubelet reports): the retry finds no plan, attaches nothing
	shim DEL $ns c10 <"$WORK/nc.json" || fail "DEL"
	rm -f "$WORK/fail-add" "$WORK/fail-adds"
	sleep 4
	[ ! -e "$WORK/fail-adds" ] || fail "a retry ran for a deleted sandbox: $(wc -l <"$WORK/fail-adds") ADDs"
	api DELETE /_standin/objects/pods/ns1/pod-c10 >/dev/null
	sleep 1
	[ ! -e "$WORK/fail-adds" ] || fail "a retry ran for a deleted pod"
	expect_clean $ns
}

t_daemon_killed_mid_attach_is_recovered() {
	local ns=${TAG}f
	netns_new $ns
	hp_start
	flaky_nad
	add c6 $ns
	touch "$WORK/slow-add"
	pod c6 'nad-f,nad-a'
	for _ in $(seq 1 100); do
		grep -q '"pending":true' "$WORK/cni/plexus/c6" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '"pending":true' "$WORK/cni/plexus/c6" || fail "no pending attachment written before the ADD: $(cat "$WORK/cni/plexus/c6")"
	kill -9 $DPID
	wait $DPID 2>/dev/null || true
	rm -f "$WORK/slow-add"
	# restarted: the pending one is deleted (after its orphaned ADD let the lock go), then both
	# are attached
	daemon_start
	await_links $ns "eth0 net1 net2"
	await_status c6 "cluster@eth0 ns1/nad-a@net2 ns1/nad-f@net1"
	grep -q '"pending":true' "$WORK/cni/plexus/c6" && fail "still pending after the recovery"
	expect_contains "the leftover was deleted" "$(cat "$WORK/plexusd.log")" "was left pending: deleting it"
	shim DEL $ns c6 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_pod_del_removes_hot_plugged_networks() {
	local ns=${TAG}g
	netns_new $ns
	hp_start
	add c7 $ns
	pod c7 'nad-a,nad-b@blue'
	await_links $ns "blue eth0 net1"
	# the daemon is down: the shim's own DEL (bin/plexus, the plan on disk) removes them too
	kill -TERM $DPID
	wait $DPID || true
	shim DEL $ns c7 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

# body_delegate VERB NETNS CID IFNAME CONFIG ATTRS: a /delegate request as
# multus-dynamic-networks-controller builds it (pkg/multuscni CreateDelegateRequest)
body_delegate() {
	/usr/bin/python3 -c 'import base64,json,sys
verb, netns, cid, ifname, conf, attrs = sys.argv[1:7]
print(json.dumps({"env": {"CNI_COMMAND": verb, "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/" + netns,
                          "CNI_IFNAME": ifname,
                          "CNI_ARGS": "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-%s;K8S_POD_UID=uid-%s" % (cid, cid)},
                  "config": base64.b64encode(conf.encode()).decode(),
                  "interfaceAttributes": json.loads(attrs)}))' "$@"
}

t_dynamic_controller_delegate_requests_attach_and_detach() {
	local ns=${TAG}h conf
	netns_new $ns
	hp_start
	add c8 $ns
	conf="{\"cniVersion\":\"1.0.0\",\"name\":\"nad-b\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"${TAG}h2\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.250.2.0/24\"}]]},\"capabilities\":{\"ips\":true,\"mac\":true}},{\"type\":\"tuning\",\"capabilities\":{\"mac\":true}}]}"
	body_delegate ADD $ns c8 net7 "$conf" '{"ips":["10.250.2.42/24"],"mac":"02:00:00:00:42:42","cni-args":null}' >"$WORK/d.json"
	expect_eq "/delegate ADD" "$(http POST /delegate "$WORK/d.json")" 200
	expect_contains "the result" "$(reply)" '"Result"'
	ip -n $ns -4 -o addr show net7 | grep -q '10.250.2.42/24' || fail "net7 lacks the requested IP"
	expect_eq "the requested MAC" "$(ip -n $ns -o link show net7 | grep -o 'link/ether [0-9a-f:]*')" "link/ether 02:00:00:00:42:42"
	expect_contains "in the pod's plan" "$(cat "$WORK/cni/plexus/c8")" '"origin":"delegate"'
	# the same interface again: refused, as Multus refuses it
	expect_eq "/delegate ADD again" "$(http POST /delegate "$WORK/d.json")" 400
	expect_contains "names the interface" "$(reply)" "interface name net7 already exists"
	# hostile attributes are refused before anything runs
	body_delegate ADD $ns c8 net8 "$conf" '{"ips":["not-an-ip"]}' >"$WORK/bad.json"
	expect_eq "/delegate bad ips" "$(http POST /delegate "$WORK/bad.json")" 400
	expect_contains "names the field" "$(reply)" "interfaceAttributes"
	ip -n $ns link show net8 >/dev/null 2>&1 && fail "net8 exists"
	# DEL as the controller sends it (no attributes): gone, and out of the plan
	body_delegate DEL $ns c8 net7 "$conf" 'null' >"$WORK/d.json"
	expect_eq "/delegate DEL" "$(http POST /delegate "$WORK/d.json")" 200
	expect_eq "after DEL" "$(links $ns)" "eth0"
	[ ! -e "$WORK/ipam/nad-b/10.250.2.42" ] || fail "10.250.2.42 still reserved"
	# attached again, then the pod's DEL removes it with the rest
	body_delegate ADD $ns c8 net7 "$conf" '{"cni-args":null}' >"$WORK/d.json"
	expect_eq "/delegate ADD" "$(http POST /delegate "$WORK/d.json")" 200
	expect_eq "before the pod's DEL" "$(links $ns)" "eth0 net7"
	# the reconcile leaves networks added through /delegate alone
	pod c8 nad-a
	await_links $ns "eth0 net1 net7"
	shim DEL $ns c8 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

t_plexus_list_shows_hot_plugged_attachments() {
	local ns=${TAG}i out
	netns_new $ns
	hp_start
	add c9 $ns
	pod c9 nad-a
	await_links $ns "eth0 net1"
	out=$("$PLEXUS" list --cni-dir "$WORK/cni" --json) || fail "plexus list: $out"
	expect_eq "origin and time of net1" \
		"$(json_get "$out" '[(a["ifname"], a.get("origin"), bool(a.get("added"))) for c in j["containers"] for a in c["attachments"]]')" \
		'[["eth0", null, false], ["net1", "annotation", true]]'
	shim DEL $ns c9 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

# A pod with no plan (host-network pods are on every node) is looked at once per change of its
# own: before, it made every pass that any pod's change brought read all the node's plans. The
# reads are counted through an unreadable file among the plans, which each read reports.
t_planless_pod_does_not_make_each_pass_read_plans() {
	local ns=${TAG}l garbage reads before touched control i
	netns_new $ns
	hp_start
	pod hostnet -
	add c12 $ns
	pod c12 nad-a
	await_links $ns "eth0 net1"
	garbage=$WORK/cni/plexus/zzgarbage
	echo '{not json' >"$garbage"
	reads() { grep -c "hot-plug: .*zzgarbage" "$WORK/plexusd.log" || true; }
	before=$(reads)
	# five changes of the other pod that ask nothing, then one that asks for a change
	for i in 1 2 3 4 5; do
		pod c12 nad-a
		sleep 0.3
	done
	pod c12 -
	await_links $ns "eth0"
	touched=$(($(reads) - before))
	# the same change alone
	before=$(reads)
	pod c12 nad-a
	await_links $ns "eth0 net1"
	control=$(($(reads) - before))
	[ "$control" -ge 1 ] || fail "the reconcile read no plan (the count is blind)"
	expect_eq "reads of the plans: five changes that ask nothing and one that does, against \
that one alone" "$touched" "$control"
	rm -f "$garbage"
	shim DEL $ns c12 <"$WORK/nc.json" || fail "DEL"
	expect_clean $ns
}

run_tests

#!/usr/bin/env bash
# test/integration/kube.sh: plexus inside a "cluster": pods, network selection annotations,
# NetworkAttachmentDefinitions and network-status through the kube-apiserver STAND-IN
# (test/stand-ins/apiserver.py: real paths, TLS, tokens, Status errors, merge patch, faults),
# with Debian's real CNI plugins in real network namespaces.
# Every test runs twice: plexus talking HTTP/1.1 to the stand-in, and (t_h2_*) through an
# HTTP/2 TLS front (nghttpx, ALPN h2) as a real kube-apiserver is reached; t_http2_* are the
# front's own tests.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/stand-ins/apiserver.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
RECORDER=$BUILD/test/tools/recorder

# front_start: nghttpx (Debian's nghttp2-proxy) as the API's TLS front: ALPN h2 to the client,
# TLS to the stand-in (sni=localhost: it checks the stand-in's certificate for that name); one
# access-log line per request, with the client's connection ($remote_port). Sets SERVER. The
# command is kept in $WORK/api/front-start, so a test can restart the front on the same port.
front_start() {
	command -v nghttpx >/dev/null || { skip "nghttpx (nghttp2-proxy) is not installed"; return 77; }
	local port i
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$WORK/api/front-start" <<EOF2
#!/bin/sh
nghttpx --conf=/dev/null --single-process \\
	--frontend="127.0.0.1,$port" --backend="127.0.0.1,${API##*:};;tls;sni=localhost" \\
	--cacert="$WORK/api/ca.crt" --no-ocsp --accesslog-file="$WORK/api/access.log" \\
	--accesslog-format='\$alpn \$remote_port \$protocol_version \$method \$path \$status' \\
	--errorlog-file="$WORK/api/front.err" "$WORK/api/server.key" "$WORK/api/server.crt" </dev/null >/dev/null 2>&1 &
echo \$! >"$WORK/api/front.pid"
EOF2
	chmod +x "$WORK/api/front-start"
	"$WORK/api/front-start"
	cleanup_add "kill \$(cat $WORK/api/front.pid)"
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
	SERVER=https://127.0.0.1:$port
}

# client_connections: how many connections plexus's requests came on since the last reset-log:
# as the stand-in saw them, or through the front as the front saw them (every one HTTP/2)
client_connections() {
	if [ "${API_FRONT:-}" = h2 ]; then
		awk '$1 != "h2" || $3 != "HTTP/2" {bad = bad " [" $0 "]"} {p[$2]} END {print bad ? "not HTTP/2:" bad : length(p)}' "$WORK/api/access.log"
	else
		requests | /usr/bin/python3 -c 'import json,sys; print(len({r["conn"] for r in json.load(sys.stdin)}))'
	fi
}

reset_log() {
	api POST /_standin/reset-log >/dev/null
	if [ -e "$WORK/api/access.log" ]; then : >"$WORK/api/access.log"; fi
}

# api_start: a stand-in with the fixture $WORK/fixture.json; sets API (the stand-in, for the
# test's own control calls) and SERVER (what plexus's kubeconfig names: the stand-in, or with
# API_FRONT=h2 the front), and writes $WORK/kubeconfig
api_start() {
	standin_start "$WORK/api" "$WORK/fixture.json" 300
	cleanup_add "kill $API_PID"
	SERVER=$API
	if [ "${API_FRONT:-}" = h2 ]; then front_start; fi
	cat >"$WORK/kubeconfig" <<EOF2
apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {cluster: stand-in, user: plexus}
clusters:
- name: stand-in
  cluster: {server: "$SERVER", certificate-authority: $WORK/api/ca.crt}
users:
- name: plexus
  user: {token: secret-token-1234}
EOF2
}

requests() { api GET /_standin/requests; }
count_requests() { # METHOD PATH-SUBSTRING -> count in the log
	requests | /usr/bin/python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]==sys.argv[1] and sys.argv[2] in r["path"]))' "$1" "$2"
}

pod() { # NAMESPACE NAME UID ANNOTATIONS-JSON
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$2\",\"namespace\":\"$1\",\"uid\":\"$3\",\"annotations\":$4},\"spec\":{\"nodeName\":\"n1\"}}"
}

bridge_conf() { # NAME BRIDGE SUBNET
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"type\":\"bridge\",\"bridge\":\"$2\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"$3\"}]]}}"
}

netconf() { # EXTRA-KEYS
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-net\",\"type\":\"plexus\",\"kubeconfig\":\"$WORK/kubeconfig\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"confDir\":\"$WORK/conf\",\"delegates\":[$(bridge_conf cluster ${TAG}c0 10.236.0.0/24)]${1:+,$1}}"
}

# plexus VERB NETNS CID NS POD UID; a failure is kept for the test's report (kept)
plexus() {
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$4;K8S_POD_NAME=$5;K8S_POD_INFRA_CONTAINER_ID=$3;K8S_POD_UID=$6" \
	kept $MEMCHECK "$PLEXUS"
}

setup() {
	mkdir -p "$WORK/bin" "$WORK/conf" "$WORK/ipam"
	cleanup_add "ip link del ${TAG}c0; ip link del ${TAG}c1; ip link del ${TAG}c2"
	ip link add ${TAG}mv type veth peer name ${TAG}mp
	cleanup_add "ip link del ${TAG}mv"
	ip link set ${TAG}mv up
	ip link set ${TAG}mp up
	local macvlan="{\"cniVersion\":\"1.0.0\",\"type\":\"macvlan\",\"master\":\"${TAG}mv\",\"mode\":\"bridge\",\"capabilities\":{\"ips\":true,\"mac\":true},\"ipam\":{\"type\":\"static\",\"capabilities\":{\"ips\":true}}}"
	{
		echo '{"tokens":{"secret-token-1234":"system:serviceaccount:kube-system:plexus"},"pods":[],"nads":['
		nad ns1 blue "$(bridge_conf blue ${TAG}c1 10.236.1.0/24)"; echo ,
		nad ns1 green "$(bridge_conf green ${TAG}c2 10.236.2.0/24)"; echo ,
		nad ns1 mv "$macvlan"; echo ,
		nad ns2 other "$(bridge_conf other ${TAG}c1 10.236.1.0/24)"; echo ,
		nad default shared "$(bridge_conf shared ${TAG}c2 10.236.2.0/24)"; echo ,
		nad kube-system alt-cluster "$(bridge_conf alt ${TAG}c1 10.236.3.0/24)"
		echo ']}'
	} >"$WORK/fixture.json"
	api_start
}

netstatus() { # NS POD -> the annotation value
	api GET /_standin/objects/pods/$1/$2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"].get("annotations",{}).get("k8s.v1.cni.cncf.io/network-status",""))'
}

expect_nothing_left() { # NETNS
	[ "$(links_in $1)" -eq 0 ] || fail "interfaces left in $1: $(ip -n $1 -br link)"
	[ -z "$(find "$WORK/ipam" -name '10.*' 2>/dev/null)" ] || fail "reservations left"
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "cache left: $(find "$WORK/cni" -type f)"
}

t_annotation_networks_attach_and_network_status_is_written() {
	local ns=${TAG}a out st
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p1 uid-1 '{"k8s.v1.cni.cncf.io/networks":"blue, ns1/green@data0"}')" >/dev/null
	reset_log
	netconf >"$WORK/nc.json"
	out=$(plexus ADD $ns c1 ns1 p1 uid-1 <"$WORK/nc.json")
	expect_eq "result is the cluster network's" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.236.0.2/24
	expect_contains "net1 from NAD blue" "$(ip -n $ns -4 -br addr show net1)" 10.236.1.2/24
	expect_contains "data0 from NAD green@data0" "$(ip -n $ns -4 -br addr show data0)" 10.236.2.2/24
	st=$(netstatus ns1 p1)
	expect_eq "entries" "$(json_get "$st" '[e["name"] for e in j]')" '["cluster", "ns1/blue", "ns1/green"]'
	expect_eq "default" "$(json_get "$st" '[e.get("default",False) for e in j]')" '[true, false, false]'
	expect_eq "interfaces" "$(json_get "$st" '[e["interface"] for e in j]')" '["eth0", "net1", "data0"]'
	expect_eq "ips without prefix" "$(json_get "$st" 'j[1]["ips"]')" '["10.236.1.2"]'
	expect_contains "Multus layout" "$st" $'[{\n    "name": "cluster",'
	# one GET of the pod, one per distinct NAD, one PATCH, over one connection
	expect_eq "pod GETs" "$(count_requests GET /pods/p1)" 1
	expect_eq "NAD GETs" "$(count_requests GET /network-attachment-definitions/)" 2
	expect_eq "PATCHes" "$(count_requests PATCH /pods/p1)" 1
	expect_eq "connections" "$(client_connections)" 1
	# DEL answers from the cache: no API call at all
	api POST /_standin/reset-log >/dev/null
	plexus DEL $ns c1 ns1 p1 uid-1 <"$WORK/nc.json"
	expect_eq "API calls on DEL" "$(requests | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0
	expect_nothing_left $ns
}

t_json_annotation_requests_reach_the_delegate() {
	local ns=${TAG}j out
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p2 uid-2 '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"mv\",\"interface\":\"fast0\",\"ips\":[\"10.236.9.7/24\"],\"mac\":\"c2:00:00:00:09:07\"}]"}')" >/dev/null
	netconf >"$WORK/nc.json"
	plexus ADD $ns c2 ns1 p2 uid-2 <"$WORK/nc.json" >/dev/null
	expect_contains "requested IP" "$(ip -n $ns -4 -br addr show fast0)" 10.236.9.7/24
	expect_contains "requested MAC" "$(ip -n $ns link show fast0)" c2:00:00:00:09:07
	plexus DEL $ns c2 ns1 p2 uid-2 <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_cni_args_and_runtime_requests_as_multus_sends_them() {
	local ns=${TAG}r out rec
	setup
	netns_new $ns
	cp "$RECORDER" "$WORK/bin/recorder"
	mkdir -p "$WORK/rec"
	api POST /_standin/objects "$(nad ns1 rec "{\"cniVersion\":\"1.1.0\",\"name\":\"rec\",\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\",\"capabilities\":{\"mac\":true,\"ips\":true,\"portMappings\":true},\"args\":{\"cni\":{\"keep\":\"nad\",\"over\":\"nad\"}}}")" >/dev/null
	api POST /_standin/objects "$(pod ns1 p3 uid-3 '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"rec\",\"ips\":[\"10.1.1.1/24\",\"10.1.1.2\"],\"mac\":\"c2:00:00:00:00:03\",\"cni-args\":{\"over\":\"pod\",\"new\":1}}]"}')" >/dev/null
	netconf >"$WORK/nc.json"
	plexus ADD $ns c3 ns1 p3 uid-3 <"$WORK/nc.json" >/dev/null
	rec=$(cat "$WORK"/rec/*-ADD-net1)
	out=$(json_get "$rec" 'j["env"]["CNI_ARGS"]')
	expect_eq "CNI_ARGS" "$out" "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p3;K8S_POD_INFRA_CONTAINER_ID=c3;K8S_POD_UID=uid-3;IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p3;K8S_POD_INFRA_CONTAINER_ID=c3;K8S_POD_UID=uid-3;MAC=c2:00:00:00:00:03;IP=10.1.1.1/24,10.1.1.2"
	out=$(json_get "$rec" 'json.loads(j["stdin"])["runtimeConfig"]')
	expect_eq "runtimeConfig" "$out" '{"ips": ["10.1.1.1/24", "10.1.1.2"], "mac": "c2:00:00:00:00:03"}'
	out=$(json_get "$rec" 'json.loads(j["stdin"])["args"]["cni"]')
	expect_eq "cni-args merged, the pod wins" "$out" '{"keep": "nad", "new": 1, "over": "pod"}'
	plexus DEL $ns c3 ns1 p3 uid-3 <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_pod_not_found_gets_multus_empty_result() {
	local ns=${TAG}n out
	setup
	netns_new $ns
	netconf >"$WORK/nc.json"
	out=$(plexus ADD $ns c4 ns1 ghost uid-4 <"$WORK/nc.json") || fail "ADD failed: $out"
	expect_eq "empty result" "$(json_get "$out" 'j["ips"][0]["address"]')" 0.0.0.0/0
	expect_eq "nothing attached" "$(links_in $ns)" 0
	plexus DEL $ns c4 ns1 ghost uid-4 <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_uid_mismatch_fails_add_but_not_static_pods() {
	local ns=${TAG}u out
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p5 uid-5 '{}')" >/dev/null
	netconf >"$WORK/nc.json"
	out=$(plexus ADD $ns c5 ns1 p5 uid-OLD <"$WORK/nc.json") && fail "UID mismatch accepted"
	expect_contains "message" "$out" 'expected pod UID \"uid-OLD\" but got \"uid-5\"'
	expect_eq "nothing attached" "$(links_in $ns)" 0
	api POST /_standin/objects "$(pod ns1 p5 uid-5 '{"kubernetes.io/config.source":"file"}')" >/dev/null
	plexus ADD $ns c5 ns1 p5 uid-mirror <"$WORK/nc.json" >/dev/null
	plexus DEL $ns c5 ns1 p5 uid-mirror <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_hostile_annotations_are_refused_before_anything_runs() {
	local ns=${TAG}h out v
	setup
	netns_new $ns
	netconf >"$WORK/nc.json"
	for v in 'blue/../../etc' '../blue' 'Blue' 'blue@eth0/x' 'blue@a-very-long-ifname' \
		'[{"name":"blue","ips":["nope"]}]' '[{"name":"blue","mac":"zz"}]' '{"name":"blue"}' \
		'[{"name":"blue","interface":7}]' '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["' \
		"$(printf 'blue\x01')" 'a/b/c'; do
		api POST /_standin/objects "$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p6","namespace":"ns1","uid":"u6","annotations":{"k8s.v1.cni.cncf.io/networks":sys.argv[1]}}}))' "$v")" >/dev/null
		out=$(plexus ADD $ns c6 ns1 p6 u6 <"$WORK/nc.json") && fail "accepted annotation [$v]"
		expect_eq "code for [$v]" "$(json_get "$out" 'j["code"]')" 7
		expect_contains "names the annotation for [$v]" "$out" 'k8s.v1.cni.cncf.io/networks'
		expect_eq "nothing attached for [$v]" "$(links_in $ns)" 0
	done
	out=$(/usr/bin/python3 -c 'print("x"*300000)')
	api POST /_standin/objects "$(pod ns1 p6 u6 "{\"k8s.v1.cni.cncf.io/networks\":\"$out\"}")" >/dev/null
	out=$(plexus ADD $ns c6 ns1 p6 u6 <"$WORK/nc.json") && fail "accepted a huge annotation"
	expect_nothing_left $ns
}

t_missing_nad_names_the_network() {
	local ns=${TAG}m out
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p7 u7 '{"k8s.v1.cni.cncf.io/networks":"blue,nosuch"}')" >/dev/null
	netconf >"$WORK/nc.json"
	reset_log
	out=$(plexus ADD $ns c7 ns1 p7 u7 <"$WORK/nc.json") && fail "missing NAD accepted"
	expect_contains "message" "$out" "cannot find a network-attachment-definition (nosuch) in namespace (ns1)"
	out=$(api GET /_standin/objects/events/ns1)
	expect_contains "Warning event for the pod" "$out" '"reason": "NoNetworkFound"'
	# GET pod, GET NAD blue, GET NAD nosuch (404), POST event: one connection
	expect_eq "event POSTs" "$(count_requests POST /events)" 1
	expect_eq "connections" "$(client_connections)" 1
	expect_nothing_left $ns
}

t_namespace_isolation() {
	local ns=${TAG}i out
	setup
	netns_new $ns
	netconf '"namespaceIsolation":true' >"$WORK/nc.json"
	api POST /_standin/objects "$(pod ns1 p8 u8 '{"k8s.v1.cni.cncf.io/networks":"ns2/other"}')" >/dev/null
	out=$(plexus ADD $ns c8 ns1 p8 u8 <"$WORK/nc.json") && fail "cross-namespace NAD accepted"
	expect_contains "message" "$out" "namespace isolation"
	expect_nothing_left $ns
	# default is the implicit global namespace; its own namespace is fine
	api POST /_standin/objects "$(pod ns1 p8 u8 '{"k8s.v1.cni.cncf.io/networks":"default/shared,blue"}')" >/dev/null
	plexus ADD $ns c8 ns1 p8 u8 <"$WORK/nc.json" >/dev/null
	plexus DEL $ns c8 ns1 p8 u8 <"$WORK/nc.json"
	expect_nothing_left $ns
	# the default-network annotation cannot be used to reach another tenant's namespace
	api POST /_standin/objects "$(pod ns1 p8 u8 '{"v1.multus-cni.io/default-network":"ns2/other"}')" >/dev/null
	out=$(plexus ADD $ns c8 ns1 p8 u8 <"$WORK/nc.json") && fail "default-network bypassed isolation"
	expect_contains "message" "$out" "namespace isolation"
	expect_nothing_left $ns
}

t_default_network_annotation_and_nad_cluster_network() {
	local ns=${TAG}d out st
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p9 u9 '{"v1.multus-cni.io/default-network":"alt-cluster"}')" >/dev/null
	netconf >"$WORK/nc.json"
	plexus ADD $ns c9 ns1 p9 u9 <"$WORK/nc.json" >/dev/null
	expect_contains "eth0 from kube-system/alt-cluster" "$(ip -n $ns -4 -br addr show eth0)" 10.236.3.
	st=$(netstatus ns1 p9)
	expect_eq "status name" "$(json_get "$st" 'j[0]["name"]')" kube-system/alt-cluster
	plexus DEL $ns c9 ns1 p9 u9 <"$WORK/nc.json"
	expect_nothing_left $ns
	# clusterNetwork naming a NAD in multusNamespace
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"p\",\"type\":\"plexus\",\"kubeconfig\":\"$WORK/kubeconfig\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"confDir\":\"$WORK/conf\",\"clusterNetwork\":\"alt-cluster\"}" >"$WORK/nc2.json"
	api POST /_standin/objects "$(pod ns1 p9 u9 '{}')" >/dev/null
	plexus ADD $ns c9 ns1 p9 u9 <"$WORK/nc2.json" >/dev/null
	expect_contains "eth0 from the NAD clusterNetwork" "$(ip -n $ns -4 -br addr show eth0)" 10.236.3.
	plexus DEL $ns c9 ns1 p9 u9 <"$WORK/nc2.json"
	expect_nothing_left $ns
}

t_del_without_cache_rebuilds_from_the_api_and_with_cache_needs_no_api() {
	local ns=${TAG}x
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p10 u10 '{"k8s.v1.cni.cncf.io/networks":"blue"}')" >/dev/null
	netconf >"$WORK/nc.json"
	plexus ADD $ns c10 ns1 p10 u10 <"$WORK/nc.json" >/dev/null
	rm -f "$WORK/cni/plexus/c10"
	plexus DEL $ns c10 ns1 p10 u10 <"$WORK/nc.json"
	expect_nothing_left $ns
	# the API down: DEL from the cache still succeeds
	plexus ADD $ns c10 ns1 p10 u10 <"$WORK/nc.json" >/dev/null
	kill $API_PID
	wait $API_PID 2>/dev/null || true
	plexus DEL $ns c10 ns1 p10 u10 <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_pod_deleted_during_add_does_not_fail_it() {
	local ns=${TAG}g
	setup
	netns_new $ns
	# a delegate that deletes the pod from the API in the middle of the ADD
	printf '#!/bin/sh\ncurl -sk -X DELETE %s/_standin/objects/pods/ns1/p11 >/dev/null\nexec /usr/lib/cni/bridge\n' "$API" >"$WORK/bin/deleter"
	chmod +x "$WORK/bin/deleter"
	api POST /_standin/objects "$(nad ns1 del "{\"cniVersion\":\"1.0.0\",\"name\":\"del\",\"type\":\"deleter\",\"bridge\":\"${TAG}c1\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.236.4.0/24\"}]]}}")" >/dev/null
	api POST /_standin/objects "$(pod ns1 p11 u11 '{"k8s.v1.cni.cncf.io/networks":"del"}')" >/dev/null
	netconf >"$WORK/nc.json"
	plexus ADD $ns c11 ns1 p11 u11 <"$WORK/nc.json" >/dev/null
	ip -n $ns link show net1 >/dev/null || fail "net1 missing"
	plexus DEL $ns c11 ns1 p11 u11 <"$WORK/nc.json"
	expect_nothing_left $ns
}

t_api_errors_are_clear_and_transient_ones_retried() {
	local ns=${TAG}e out
	setup
	netns_new $ns
	api POST /_standin/objects "$(pod ns1 p12 u12 '{"k8s.v1.cni.cncf.io/networks":"blue"}')" >/dev/null
	netconf >"$WORK/nc.json"
	api POST /_standin/faults '{"status":503,"count":3}' >/dev/null
	reset_log
	plexus ADD $ns c12 ns1 p12 u12 <"$WORK/nc.json" >/dev/null
	expect_eq "GET pod attempts: three 503s, then the answer" "$(count_requests GET /pods/p12)" 4
	plexus DEL $ns c12 ns1 p12 u12 <"$WORK/nc.json"
	sed -i 's/secret-token-1234/wrong-token-5678/' "$WORK/kubeconfig"
	out=$(plexus ADD $ns c12 ns1 p12 u12 <"$WORK/nc.json") && fail "bad token accepted"
	expect_contains "Unauthorized" "$out" "401 Unauthorized"
	expect_not_contains "token never shown" "$out" "wrong-token-5678"
	expect_nothing_left $ns
}

t_default_route_follows_the_request_and_an_empty_list_keeps_eth0s() {
	local ns=${TAG}r st
	setup
	netns_new $ns
	# the cluster network installs a default route via eth0
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-net\",\"type\":\"plexus\",\"kubeconfig\":\"$WORK/kubeconfig\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"delegates\":[{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\",\"bridge\":\"${TAG}c0\",\"isDefaultGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.236.0.0/24\"}]]}}]}" >"$WORK/nc.json"
	api POST /_standin/objects "$(pod ns1 p13 u13 '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"blue\",\"default-route\":[\"10.236.1.1\"]}]"}')" >/dev/null
	plexus ADD $ns c13 ns1 p13 u13 <"$WORK/nc.json" >/dev/null
	expect_eq "default route moved to net1" "$(ip -n $ns -4 route show default)" "default via 10.236.1.1 dev net1 "
	st=$(netstatus ns1 p13)
	expect_eq "gateway in network-status" "$(json_get "$st" 'j[1].get("gateway")')" '["10.236.1.1"]'
	expect_eq "eth0 lost its gateway" "$(json_get "$st" 'j[0].get("gateway")')" 'null'
	plexus CHECK $ns c13 ns1 p13 u13 <"$WORK/nc.json" || fail "CHECK failed after the route change"
	plexus DEL $ns c13 ns1 p13 u13 <"$WORK/nc.json"
	expect_nothing_left $ns
	# Multus #1011: "default-route": [] must not strip eth0's default route
	api POST /_standin/objects "$(pod ns1 p13 u13 '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"blue\",\"default-route\":[]}]"}')" >/dev/null
	plexus ADD $ns c13 ns1 p13 u13 <"$WORK/nc.json" >/dev/null
	expect_contains "eth0 keeps its default route" "$(ip -n $ns -4 route show default)" "dev eth0"
	plexus DEL $ns c13 ns1 p13 u13 <"$WORK/nc.json"
	# two IPv4 gateways: refused before anything runs
	api POST /_standin/objects "$(pod ns1 p13 u13 '{"k8s.v1.cni.cncf.io/networks":"[{\"name\":\"blue\",\"default-route\":[\"10.236.1.1\"]},{\"name\":\"green\",\"default-route\":[\"10.236.2.1\"]}]"}')" >/dev/null
	st=$(plexus ADD $ns c13 ns1 p13 u13 <"$WORK/nc.json") && fail "ECMP accepted"
	expect_contains "ECMP" "$st" "does not support ECMP for default-route"
	expect_nothing_left $ns
}

# the front drops plexus's connection in the middle of an ADD (killed and restarted between the
# GETs and the status PATCH, by a delegate): the PATCH goes on a new connection and the ADD
# succeeds. Before it, the GETs share one reused HTTP/2 connection: libcurl 7.88's reuse bug
# (curl/curl#10634, "Error in the HTTP2 framing layer" on a reused connection, which the
# pod-resources client avoids with a connection per call) would fail the second request.
t_http2_connection_dropped_by_the_front_mid_add_is_recovered() {
	local ns=${TAG}f st
	API_FRONT=h2
	setup
	netns_new $ns
	cat >"$WORK/bin/dropper" <<EOF2
#!/bin/sh
if [ "\$CNI_COMMAND" = ADD ]; then kill -9 \$(cat "$WORK/api/front.pid") && "$WORK/api/front-start" || exit 1; fi
exec /usr/lib/cni/bridge
EOF2
	chmod +x "$WORK/bin/dropper"
	api POST /_standin/objects "$(nad ns1 drop "{\"cniVersion\":\"1.0.0\",\"name\":\"drop\",\"type\":\"dropper\",\"bridge\":\"${TAG}c1\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.236.5.0/24\"}]]}}")" >/dev/null
	api POST /_standin/objects "$(pod ns1 p14 u14 '{"k8s.v1.cni.cncf.io/networks":"blue,drop"}')" >/dev/null
	netconf >"$WORK/nc.json"
	reset_log
	plexus ADD $ns c14 ns1 p14 u14 <"$WORK/nc.json" >/dev/null
	st=$(netstatus ns1 p14)
	expect_eq "network-status written after the drop" "$(json_get "$st" '[e["name"] for e in j]')" '["cluster", "ns1/blue", "ns1/drop"]'
	expect_eq "connections of the GETs" "$(awk '$4 == "GET" {print $2}' "$WORK/api/access.log" | sort -u | wc -l)" 1
	[ "$(awk '$4 == "GET" {print $2; exit}' "$WORK/api/access.log")" != "$(awk '$4 == "PATCH" {print $2}' "$WORK/api/access.log")" ] ||
		fail "the PATCH went on the dropped connection: $(cat "$WORK/api/access.log")"
	expect_eq "requests" "$(awk '{print $1, $3, $4, $6}' "$WORK/api/access.log" | tr '\n' ';')" \
		"h2 HTTP/2 GET 200;h2 HTTP/2 GET 200;h2 HTTP/2 GET 200;h2 HTTP/2 PATCH 200;"
	plexus DEL $ns c14 ns1 p14 u14 <"$WORK/nc.json"
	expect_nothing_left $ns
}

# the HTTP/2 pass: every test above again, through the front
for t in $(declare -F | awk '{print $3}' | grep '^t_' | grep -v '^t_http2_'); do
	eval "t_h2_${t#t_}() { API_FRONT=h2; $t; }"
done

run_tests

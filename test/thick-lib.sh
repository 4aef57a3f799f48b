# test/thick-lib.sh: sourced after test/lib.sh by the integration scripts that drive bin/plexusd
# (thick.sh, cache.sh); beside lib.sh, not in test/integration/, where test/run-integration runs
# every script. Starts the daemon, speaks Multus's daemon API to it (curl --unix-socket), runs
# bin/plexus-shim and bin/plexus as the runtime would, builds netconfs, and checks that nothing
# was left behind.
# The pod a request names: ns1/pod-CID with UID uid-CID unless POD_NS, POD_NAME, POD_UID say
# otherwise.
PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
PLEXUSD=${PLEXUSD:-$ROOT/bin/plexusd}
SHIM=${SHIM:-$ROOT/bin/plexus-shim}

# daemon_config [EXTRA-KEYS]: a Multus thick daemon-config.json (its keys, paths in $WORK);
# EXTRA-KEYS replace or add keys
daemon_config() {
	mkdir -p "$WORK/run" "$WORK/bin" "$WORK/conf" "$WORK/net.d" "$WORK/ipam"
	/usr/bin/python3 -c 'import json,sys
base = json.loads(sys.argv[1]); base.update(json.loads("{" + sys.argv[2] + "}"))
print(json.dumps(base))' "{\"chrootDir\": \"\", \"cniVersion\": \"0.3.1\", \"logLevel\": \"verbose\",
 \"logToStderr\": false, \"logFile\": \"$WORK/plexusd.log\", \"cniConfigDir\": \"$WORK/net.d\",
 \"multusAutoconfigDir\": \"$WORK/net.d\", \"multusConfigFile\": \"auto\", \"socketDir\": \"$WORK/run\",
 \"cniDir\": \"$WORK/cni\", \"binDir\": \"$WORK/bin\", \"confDir\": \"$WORK/conf\"}" "${1:-}"
}

# daemon_spawn [EXTRA-KEYS]: plexusd in the background (DPID), its socket $SOCK; node
# PLEXUS_NODE_NAME (default node-$TAG)
daemon_spawn() {
	[ -f "$WORK/daemon-config.json" ] || daemon_config "${1:-}" >"$WORK/daemon-config.json"
	PLEXUS_NODE_NAME=${PLEXUS_NODE_NAME:-node-$TAG} \
		$MEMCHECK "$PLEXUSD" -config "$WORK/daemon-config.json" 2>>"$WORK/plexusd.err" &
	DPID=$!
	cleanup_add "stop_gracefully $DPID"
	SOCK=$WORK/run/multus.sock
}

# daemon_ready [SECONDS]: waits (default 5 s) for /readyz to answer 200
daemon_ready() {
	local i
	for i in $(seq 1 $((${1:-5} * 20))); do
		[ "$(http GET /readyz)" == 200 ] && return 0
		sleep 0.05
	done
	fail "plexusd did not become ready: $(cat "$WORK/plexusd.err")"
}

# daemon_start [EXTRA-KEYS]: plexusd in the background (DPID), ready on $SOCK
daemon_start() {
	daemon_spawn "$@"
	daemon_ready
}

# pod_args CID: the CNI_ARGS kubelet passes for the pod of container CID
pod_args() {
	echo "IgnoreUnknown=1;K8S_POD_NAMESPACE=${POD_NS:-ns1};K8S_POD_NAME=${POD_NAME:-pod-$1};K8S_POD_INFRA_CONTAINER_ID=$1;K8S_POD_UID=${POD_UID:-uid-$1}"
}

# http METHOD PATH [BODY-FILE]: prints the status; the body lands in $WORK/reply (or in
# $REPLY_FILE: clients running in parallel keep their replies apart)
http() {
	curl -s -o "${REPLY_FILE:-$WORK/reply}" -w '%{http_code}' --max-time 60 --unix-socket "$SOCK" -X "$1" \
		${3:+--data-binary @"$3"} "http://plexusd$2" || true
}

# body VERB NETNS CID [IFNAME] < netconf: a Multus shim's request body, as pkg/server/api/shim.go
# builds it (the whole environment plus the CNI variables, the netconf in base64)
body() {
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=${4:-eth0} \
	CNI_PATH=$PLUGINS CNI_ARGS=$(pod_args "$3") \
	/usr/bin/python3 -c 'import base64,json,os,sys
print(json.dumps({"env": dict(os.environ), "config": base64.b64encode(sys.stdin.buffer.read()).decode()}))'
}

# cni VERB NETNS CID [IFNAME] < netconf: one /cni request; prints the status, body in $WORK/reply
cni() {
	local f=$WORK/body.$BASHPID
	body "$@" >"$f"
	http POST /cni "$f"
	rm -f "$f"
}

# plexus VERB NETNS CID [IFNAME] < netconf: the thin plugin on the same node
plexus() {
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=${4:-eth0} \
	CNI_PATH=$PLUGINS CNI_ARGS=$(pod_args "$3") \
	$MEMCHECK "$PLEXUS"
}

# shim VERB NETNS CID [IFNAME] < netconf: bin/plexus-shim as the runtime runs it; its fallback
# DEL finds bin/plexus in the netconf's binDir
shim() {
	mkdir -p "$WORK/bin"
	ln -sf "$PLEXUS" "$WORK/bin/plexus"
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=${4:-eth0} \
	CNI_PATH=$PLUGINS CNI_ARGS=$(pod_args "$3") \
	$MEMCHECK "$SHIM"
}

bridge_conf() { # NAME BRIDGE SUBNET
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"type\":\"bridge\",\"bridge\":\"$2\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"$3\"}]]}}"
}

# netconf VERSION DELEGATES [EXTRA-KEYS] [TYPE]: a 00-multus.conf with only "type" changed
netconf() {
	echo "{\"cniVersion\":\"$1\",\"name\":\"multus-cni-network\",\"type\":\"${4:-plexus-shim}\",\"kubeconfig\":\"\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"confDir\":\"$WORK/conf\",\"delegates\":$2${3:+,$3}}"
}

expect_clean() { # NETNS...
	local left ns
	for ns in "$@"; do
		if ip netns list | grep -qw "$ns"; then
			left=$(ip -n "$ns" -o link show | grep -v ': lo:' || true)
			[ -z "$left" ] || fail "interfaces left in $ns: $left"
		fi
	done
	left=$(find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null || true)
	[ -z "$left" ] || fail "IP reservations left: $left"
	left=$(find "$WORK/cni" -type f 2>/dev/null || true)
	[ -z "$left" ] || fail "cache files left: $left"
}

bridges_cleanup() { cleanup_add "ip link del ${TAG}b0; ip link del ${TAG}b1; ip link del ${TAG}b2"; }

reply() { cat "$WORK/reply"; }

# wait_value WHAT WANT SECONDS CMD...: until CMD prints WANT (tried every 0.1 s, at most SECONDS)
wait_value() {
	local what=$1 want=$2 tries=$(($3 * 10)) got i
	shift 3
	for i in $(seq 1 $tries); do
		got=$("$@")
		[ "$got" == "$want" ] && return 0
		sleep 0.1
	done
	fail "$what: got $got, want $want after $((tries / 10)) s"
}

# the real path: a Multus 00-multus.conf with only "type" changed, through bin/plexus-shim
shim_netconf() { # DELEGATES
	netconf 0.3.1 "$1" "\"daemonSocketDir\":\"$WORK/run\""
}

#!/usr/bin/env bash
# test/integration/cri.sh: kubelet's real path: pod sandboxes through containerd's CRI plugin,
# whose CNI config is the 00-plexus.conflist `plexus generate-config` writes, with the pods and
# NADs served by the kube-apiserver stand-in. containerd (Debian's 1.6, runc) runs with its own
# root, state, socket, CNI conf and bin dirs under this run's temporary directory, and is stopped
# on every exit path: a node's own containerd is never touched. The sandbox image is the
# build's (test/cri: pause.c packed by oci-pack.py); the CRI client is test/cri/criclient.py.
# t_thick_* run the sandbox tests again in thick mode: the conflist of `generate-config --thick`,
# bin/plexus-shim in the CNI bin dir and bin/plexusd serving it, with thin mode's kubeconfig.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/stand-ins/apiserver.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
PLEXUSD=$ROOT/bin/plexusd
PLEXUS_SHIM=$ROOT/bin/plexus-shim
CRICLIENT=$ROOT/test/cri/criclient.py
RECORDER=$BUILD/test/tools/recorder
IMAGE_TAR=$BUILD/test/cri/pause.tar
IMAGE=localhost/plexus/pause:test # the Makefile's CRI_IMAGE_NAME
C=$WORKROOT/ctd                  # containerd's world: config, root, state, socket, CNI
SOCK=$C/containerd.sock
CGROUP=plexus-$TAG # the pods' cgroup parent, below every hierarchy's root
# host ports: one per run, so that parallel runs do not meet in the nat table
HOSTPORT=$((20000 + 0x${TAG:1} % 10000))
OPT_BEFORE=$(ls -d /opt/containerd 2>/dev/null)
# shim sockets go to /run/containerd/s whatever the state dir: removed after when we made it
RUN_CONTAINERD_BEFORE=$(ls -d /run/containerd 2>/dev/null)

# the CNI plugin containerd runs, as its messages name it: plexus, or plexus-shim in thick mode
PLUGIN=plexus

cri() { /usr/bin/python3 "$CRICLIENT" --socket "$SOCK" "$@"; }

# ---- containerd -------------------------------------------------------------------------------

containerd_config() {
	mkdir -p "$C/root" "$C/state" "$C/opt" "$C/net.d" "$C/bin" "$C/runc" "$C/logs"
	cat >"$C/config.toml" <<EOF2
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
# or it creates /opt/containerd
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # the build's image, imported by ctr: nothing can be pulled
  sandbox_image = "$IMAGE"
  # without CAP_SYS_RESOURCE (a container or a VM sandbox) runc cannot lower oom_score_adj and
  # fails with "can't get final child's PID from pipe: EOF"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # cgroupfs: the lane needs no systemd; the pods' cgroup parent is CGROUP
        SystemdCgroup = false
        Root = "$C/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$C/bin"
    conf_dir = "$C/net.d"
    max_conf_num = 1
EOF2
}

containerd_start() {
	local i
	containerd --config "$C/config.toml" >>"$C/containerd.log" 2>&1 &
	echo $! >"$C/pid"
	for i in $(seq 1 100); do
		cri --timeout 1 version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "containerd did not start: $(tail -5 "$C/containerd.log")"
}

# pid_stop PIDFILE: the process named in PIDFILE terminated and waited for, PIDFILE removed
pid_stop() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$1"
}

containerd_stop() { pid_stop "$C/pid"; }

# shims: the containerd-shim-runc-v2 processes serving this run's containerd (by its socket)
shims() {
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $SOCK " && echo "${p#/proc/}"
	done
	return 0
}

our_mounts() { awk -v c="$C/" 'index($5, c) == 1 {print $5}' /proc/self/mountinfo; }

our_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name "$CGROUP" 2>/dev/null; }

# every sandbox's network namespace, as containerd reported it (see sandbox_netns)
our_netns() {
	local n
	[ -e "$C/netns.list" ] || return 0
	sort -u "$C/netns.list" | while read -r n; do if [ -e "$n" ]; then echo "$n"; fi; done
}

# Every exit path: sandboxes stopped and removed through CRI (DEL for each; containerd is
# started again if a test stopped it with sandboxes left), containerd stopped, then whatever a
# crash could leave: sandbox processes and their shims, mounts, netns, cgroups, links.
cri_teardown() {
	local ids pid m d n
	if [ ! -e "$C/pid" ] && [ -n "$(shims)" ]; then containerd_start >/dev/null 2>&1; fi
	if [ -e "$C/pid" ]; then
		ids=$(cri --timeout 30 list 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))' 2>/dev/null)
		if [ -n "$ids" ]; then
			rm -f "$C/fail-del"
			# shellcheck disable=SC2086
			cri --timeout 60 stop $ids >/dev/null 2>&1
			# shellcheck disable=SC2086
			cri --timeout 60 remove $ids >/dev/null 2>&1
		fi
		containerd_stop
	fi
	plexusd_stop
	for d in $(our_cgroups); do
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do kill -9 "$pid" 2>/dev/null; done
	done
	for pid in $(shims); do kill -9 "$pid" 2>/dev/null; done
	for d in s ""; do
		if [ -z "$RUN_CONTAINERD_BEFORE" ]; then rmdir "/run/containerd/$d" 2>/dev/null; fi
	done
	for m in $(our_mounts | sort -r); do umount -l "$m" 2>/dev/null; done
	for n in $(our_netns); do umount "$n" 2>/dev/null; rm -f "$n"; done
	for d in $(our_cgroups); do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
	for d in b0 b1 b2; do ip link del "$TAG$d" 2>/dev/null; done
	[ -n "${API_PID:-}" ] && kill "$API_PID" 2>/dev/null
	return 0
}
trap 'cri_teardown; cleanup_run; rm -rf "$WORKROOT"' EXIT

# ---- the cluster: API stand-in, CNI config as generate-config writes it, image ----------------

bridge_conf() { # NAME TYPE BRIDGE SUBNET
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$1\",\"type\":\"$2\",\"bridge\":\"$3\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$C/ipam\",\"ranges\":[[{\"subnet\":\"$4\"}]]}}"
}

cluster_setup() {
	mkdir -p "$C/api" "$C/sa" "$C/ipam" "$C/cache"
	{
		echo '{"tokens":{"secret-token-1234":"system:serviceaccount:kube-system:plexus"},"pods":[],"nads":['
		nad ns1 blue "$(bridge_conf blue bridge "${TAG}b1" 10.239.1.0/24)"
		echo ,
		nad ns1 green "$(bridge_conf green bridge "${TAG}b2" 10.239.2.0/24)"
		echo ,
		# DEL refused while $C/fail-del exists: a stop that fails
		nad ns1 flaky "$(bridge_conf flaky flaky "${TAG}b2" 10.239.2.0/24)"
		echo ']}'
	} >"$C/fixture.json"
	standin_start "$C/api" "$C/fixture.json" 600 || return 1
	echo secret-token-1234 >"$C/sa/token"
	cp "$C/api/ca.crt" "$C/sa/ca.crt"
	# the node's primary network: bridge + host-local + portmap, as a kubeadm guide writes it
	cat >"$C/net.d/10-cluster.conflist" <<EOF2
{"cniVersion":"1.0.0","name":"cluster","plugins":[
 {"type":"bridge","bridge":"${TAG}b0","isGateway":true,
  "ipam":{"type":"host-local","dataDir":"$C/ipam","ranges":[[{"subnet":"10.239.0.0/24"}]]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
EOF2
	ln -s /usr/lib/cni/* "$C/bin/"
	cp "$PLEXUS" "$C/bin/plexus"
	cp "$PLEXUS_SHIM" "$C/bin/plexus-shim"
	cp "$RECORDER" "$C/bin/recorder"
	printf '#!/bin/sh\n[ "$CNI_COMMAND" = DEL ] && [ -e %s/fail-del ] && { echo '"'"'{"cniVersion":"1.0.0","code":11,"msg":"flaky: DEL refused by the test"}'"'"'; exit 1; }\nexec /usr/lib/cni/bridge\n' "$C" >"$C/bin/flaky"
	chmod +x "$C/bin/flaky"
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=${API##*:} \
		"$PLEXUS" generate-config --cni-conf-dir "$C/net.d" --sa-dir "$C/sa" \
		--cni-dir "$C/cache" --bin-dir "$C/bin" >"$C/generate.out" || fail "generate-config failed"
	# thick mode's conflist, kept aside (thick_mode installs it): written by the same command,
	# then thin mode's put back
	cp "$C/net.d/00-plexus.conflist" "$C/00-plexus.thin"
	"$PLEXUS" generate-config --thick --daemon-socket "$C/run/multus.sock" \
		--cni-conf-dir "$C/net.d" --master-cni-file 10-cluster.conflist \
		--cni-dir "$C/cache" --bin-dir "$C/bin" >>"$C/generate.out" || fail "generate-config --thick failed"
	mv "$C/net.d/00-plexus.conflist" "$C/00-plexus.thick"
	cp "$C/00-plexus.thin" "$C/net.d/00-plexus.conflist"
	grep -q '"plexus-shim"' "$C/00-plexus.thick" || fail "no plexus-shim in $(cat "$C/00-plexus.thick")"
}

# ---- thick mode: plexusd serving the shim -----------------------------------------------------

# plexusd with a Multus daemon-config.json: its socket in $C/run (short: under 107 bytes), the
# same cache and bin dirs as thin mode, and thin mode's kubeconfig for the API stand-in
plexusd_start() {
	local i
	mkdir -p "$C/run"
	cat >"$C/daemon-config.json" <<EOF2
{"chrootDir": "", "cniVersion": "0.3.1", "logLevel": "verbose", "logToStderr": false,
 "logFile": "$C/plexusd.log", "socketDir": "$C/run", "cniDir": "$C/cache", "binDir": "$C/bin",
 "confDir": "$C/conf", "kubeconfig": "$C/net.d/plexus.d/plexus.kubeconfig"}
EOF2
	PLEXUS_NODE_NAME=n1 "$PLEXUSD" --config "$C/daemon-config.json" 2>>"$C/plexusd.err" &
	echo $! >"$C/plexusd.pid"
	for i in $(seq 1 100); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$C/run/multus.sock" http://plexusd/readyz)" == 200 ] &&
			return 0
		sleep 0.05
	done
	fail "plexusd did not become ready: $(cat "$C/plexusd.err")"
}

plexusd_stop() { pid_stop "$C/plexusd.pid"; }

# cni_conflist thin|thick: containerd's 00-plexus.conflist, with containerd restarted so that
# its CNI config is loaded before the next sandbox (its file watch reloads it asynchronously)
cni_conflist() {
	cp "$C/00-plexus.$1" "$C/net.d/.00-plexus.tmp"
	mv "$C/net.d/.00-plexus.tmp" "$C/net.d/00-plexus.conflist"
	containerd_stop
	containerd_start
}

# thick_mode TEST: TEST with plexusd started and the thick conflist, thin mode back after
thick_mode() {
	cleanup_add "cni_conflist thin; plexusd_stop"
	rm -f "$C/plexusd.log"
	plexusd_start
	cni_conflist thick
	PLUGIN=plexus-shim
	"$@"
	grep -qF "[ns1/" "$C/plexusd.log" || fail "plexusd served no pod: $(cat "$C/plexusd.log")"
}

image_import() {
	[ -s "$IMAGE_TAR" ] || fail "$IMAGE_TAR missing: run make" || return 1
	ctr --address "$SOCK" -n k8s.io images import --snapshotter overlayfs "$IMAGE_TAR" >/dev/null ||
		fail "ctr images import failed" || return 1
	ctr --address "$SOCK" -n k8s.io images ls -q | grep -qx "$IMAGE" ||
		fail "image not named $IMAGE: $(ctr --address "$SOCK" -n k8s.io images ls -q)"
}

lane_setup() {
	command -v containerd >/dev/null && command -v runc >/dev/null && command -v ctr >/dev/null ||
		return 77
	containerd_config
	cluster_setup || return 1
	containerd_start || return 1
	image_import || return 1
	echo "  $(containerd --version)"
	echo "  CRI: $(cri version | /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["runtime_name"], v["runtime_version"], "API", v["runtime_api_version"])')"
}

# ---- pods -------------------------------------------------------------------------------------

# pod_object NS NAME UID NETWORKS: the Pod as the API serves it
pod_object() {
	/usr/bin/python3 -c 'import json,sys
a={"k8s.v1.cni.cncf.io/networks":sys.argv[4]} if sys.argv[4] else {}
print(json.dumps({"apiVersion":"v1","kind":"Pod","metadata":{"name":sys.argv[2],"namespace":sys.argv[1],"uid":sys.argv[3],"annotations":a,"labels":{"app":sys.argv[2]}},"spec":{"nodeName":"n1"}}))' "$@"
}

# pod NS NAME UID NETWORKS [PORTS-JSON]: the pod in the API and its sandbox request in
# $WORK/NAME.json, labels and annotations as the API has them
pod() {
	api POST /_standin/objects "$(pod_object "$1" "$2" "$3" "$4")" >/dev/null
	/usr/bin/python3 -c 'import json,sys
ns,name,uid,nets,ports,cg,logs=sys.argv[1:]
a={"k8s.v1.cni.cncf.io/networks":nets} if nets else {}
print(json.dumps({"name":name,"namespace":ns,"uid":uid,"labels":{"app":name},"annotations":a,"ports":json.loads(ports),
  "cgroupParent":"/%s/besteffort/pod%s" % (cg, uid),"logDirectory":"%s/%s_%s_%s" % (logs, ns, name, uid)}))' \
		"$1" "$2" "$3" "$4" "${5:-[]}" "$CGROUP" "$C/logs" >"$WORK/$2.json"
}

# status ID PYEXPR: a field of the verbose PodSandboxStatus (j)
status() { json_get "$(cri status "$1")" "$2"; }

# sandbox_netns ID: the sandbox's network namespace path, remembered for the cleanup, which
# stops and removes the sandbox when its test fails half-way
sandbox_netns() {
	local n
	cleanup_add "rm -f $C/fail-del; cri stop $1; cri remove $1"
	n=$(status "$1" '[x["path"] for x in j["info"]["info"]["runtimeSpec"]["linux"]["namespaces"] if x["type"]=="network"][0]')
	echo "$n" >>"$C/netns.list"
	echo "$n"
}

netstatus() { # NS POD -> the network-status annotation
	api GET "/_standin/objects/pods/$1/$2" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"].get("annotations",{}).get("k8s.v1.cni.cncf.io/network-status",""))'
}

in_netns() { # NETNS-PATH COMMAND...
	local n=$1
	shift
	nsenter --net="$n" "$@"
}

# nothing of a pod's networks anywhere: host ends of veths, IP reservations, plexus's cache,
# the sandboxes' network namespaces, a sandbox in containerd
expect_nothing_left() {
	local d
	for d in b0 b1 b2; do
		[ -z "$(ip -o link show master "$TAG$d" 2>/dev/null)" ] ||
			fail "host veths left on $TAG$d: $(ip -br link show master "$TAG$d")"
	done
	[ -z "$(find "$C/ipam" -name '10.*' 2>/dev/null)" ] || fail "reservations left: $(find "$C/ipam" -name '10.*')"
	[ -z "$(find "$C/cache" -type f 2>/dev/null)" ] || fail "plexus cache left: $(find "$C/cache" -type f)"
	[ -z "$(our_netns)" ] || fail "network namespaces left: $(our_netns)"
	expect_eq "sandboxes in containerd" "$(cri list)" "[]"
}

# ---- tests ------------------------------------------------------------------------------------

t_sandbox_gets_eth0_and_annotated_networks_and_reports_eth0s_ip() {
	local id n st ip
	pod ns1 p1 uid-1 "blue, ns1/green@data0"
	id=$(cri run "$WORK/p1.json") || fail "RunPodSandbox: $id"
	n=$(sandbox_netns "$id")
	expect_eq "state" "$(status "$id" 'j["status"]["state"]')" SANDBOX_READY
	ip=$(in_netns "$n" ip -4 -o addr show eth0 | awk '{print $4}')
	expect_contains "eth0 from the cluster network" "$ip" 10.239.0.
	expect_eq "PodSandboxStatus reports eth0's IP" "$(status "$id" 'j["status"]["network"]["ip"]')" "${ip%/*}"
	expect_contains "net1 from NAD blue" "$(in_netns "$n" ip -4 -br addr show net1)" 10.239.1.
	expect_contains "data0 from NAD green@data0" "$(in_netns "$n" ip -4 -br addr show data0)" 10.239.2.
	cri status "$id" >"$WORK/status.json"
	# plexus answers with the cluster network's result, as Multus does; containerd keeps it
	expect_eq "containerd kept plexus's result" \
		"$(json_get "$(cat "$WORK/status.json")" '[c["IP"] for c in j["info"]["info"]["cniResult"]["Interfaces"]["eth0"]["IPConfigs"]]')" \
		"[\"${ip%/*}\"]"
	st=$(netstatus ns1 p1)
	expect_eq "network-status" "$(json_get "$st" '[(e["name"], e["interface"], e.get("default", False)) for e in j]')" \
		'[["cluster", "eth0", true], ["ns1/blue", "net1", false], ["ns1/green", "data0", false]]'
	expect_eq "network-status IP" "$(json_get "$st" 'j[0]["ips"]')" "[\"${ip%/*}\"]"
	[ -n "$(find "$C/cache" -type f)" ] || fail "no plexus cache while the sandbox runs"
	expect_eq "StopPodSandbox" "$(cri stop "$id")" ok
	[ ! -e "$n" ] || fail "network namespace $n left after stop"
	expect_eq "RemovePodSandbox" "$(cri remove "$id")" ok
	expect_nothing_left
}

t_runtime_passes_kubernetes_cni_args_and_port_mappings() {
	local id rec
	mkdir -p "$C/rec"
	api POST /_standin/objects "$(nad ns1 rec "{\"cniVersion\":\"1.0.0\",\"name\":\"rec\",\"type\":\"recorder\",\"recordDir\":\"$C/rec\",\"capabilities\":{\"portMappings\":true}}")" >/dev/null
	pod ns1 p2 uid-2 rec "[{\"protocol\":\"TCP\",\"containerPort\":80,\"hostPort\":$HOSTPORT}]"
	id=$(cri run "$WORK/p2.json") || fail "RunPodSandbox: $id"
	sandbox_netns "$id" >/dev/null
	rec=$(cat "$C"/rec/*-ADD-net1)
	# what containerd passes plexus, after the five Multus-style CNI_ARGS plexus puts in front;
	# go-cni builds them from a map, so in any order
	expect_eq "CNI_ARGS from containerd" "$(json_get "$rec" 'sorted(j["env"]["CNI_ARGS"].split(";")[5:])')" \
		"[\"IgnoreUnknown=1\", \"K8S_POD_INFRA_CONTAINER_ID=$id\", \"K8S_POD_NAME=p2\", \"K8S_POD_NAMESPACE=ns1\", \"K8S_POD_UID=uid-2\"]"
	expect_eq "CNI_CONTAINERID" "$(json_get "$rec" 'j["env"]["CNI_CONTAINERID"]')" "$id"
	# containerd's bin_dir, with plexus's binDir (the same) in front: never the host's /opt/cni/bin
	expect_eq "CNI_PATH: the lane's bin dir only" "$(json_get "$rec" 'sorted(set(j["env"]["CNI_PATH"].split(":")))')" "[\"$C/bin\"]"
	# go-cni's PortMapping has no JSON tags: containerd sends Go's field names, which the Go
	# plugins read case-insensitively; plexus hands them on as they came
	expect_eq "portMappings handed on" "$(json_get "$rec" 'json.loads(j["stdin"])["runtimeConfig"]')" \
		"{\"portMappings\": [{\"ContainerPort\": 80, \"HostIP\": \"\", \"HostPort\": $HOSTPORT, \"Protocol\": \"tcp\"}]}"
	cri stop "$id" >/dev/null
	cri remove "$id" >/dev/null
	[ -n "$(ls "$C"/rec/*-DEL-net1 2>/dev/null)" ] || fail "no DEL reached the delegate"
	expect_nothing_left
}

t_add_failure_surfaces_through_run_pod_sandbox_and_leaves_nothing() {
	local out
	pod ns1 p3 uid-3 "blue,nosuch"
	out=$(cri run "$WORK/p3.json") && fail "RunPodSandbox succeeded: $out"
	# what kubelet puts in the pod's FailedCreatePodSandBox event
	expect_contains "containerd's words around plexus's message" "$out" \
		'error: UNKNOWN: failed to setup network for sandbox "'
	expect_contains "plexus's message" "$out" \
		"\": plugin type=\"$PLUGIN\" failed (add): "'annotation "k8s.v1.cni.cncf.io/networks": element 1: cannot find a network-attachment-definition (nosuch) in namespace (ns1)'
	expect_nothing_left
}

t_port_mapping_rule_exists_while_running_and_is_gone_after() {
	local id ip chain
	pod ns1 p4 uid-4 "" "[{\"protocol\":\"TCP\",\"containerPort\":8080,\"hostPort\":$HOSTPORT}]"
	id=$(cri run "$WORK/p4.json") || fail "RunPodSandbox: $id"
	sandbox_netns "$id" >/dev/null
	ip=$(status "$id" 'j["status"]["network"]["ip"]')
	# portmap: a jump from CNI-HOSTPORT-DNAT, commented with the sandbox ID, to a chain of its own
	chain=$(iptables -w -t nat -S CNI-HOSTPORT-DNAT | grep -F "id: \\\"$id\\\"" | grep -F -- "--dports $HOSTPORT " | awk '{print $NF}')
	[ -n "$chain" ] || fail "no CNI-HOSTPORT-DNAT rule for the sandbox: $(iptables -w -t nat -S CNI-HOSTPORT-DNAT)"
	expect_contains "DNAT to the pod" "$(iptables -w -t nat -S "$chain")" \
		"--dport $HOSTPORT -j DNAT --to-destination $ip:8080"
	cri stop "$id" >/dev/null
	expect_eq "rules naming the sandbox after stop" "$(iptables -w -t nat -S | grep -F "$id" | wc -l)" 0
	expect_eq "rules for the host port after stop" "$(iptables -w -t nat -S | grep -E -- "--dports? $HOSTPORT " | wc -l)" 0
	iptables -w -t nat -S "$chain" >/dev/null 2>&1 && fail "chain $chain left"
	cri remove "$id" >/dev/null
	expect_nothing_left
}

t_remove_after_a_failed_stop_is_clean() {
	local id out
	pod ns1 p5 uid-5 flaky
	id=$(cri run "$WORK/p5.json") || fail "RunPodSandbox: $id"
	sandbox_netns "$id" >/dev/null
	touch "$C/fail-del"
	out=$(cri stop "$id") && fail "StopPodSandbox succeeded with DEL refused"
	expect_contains "the delegate's message through plexus" "$out" \
		"failed to destroy network for sandbox \"$id\": plugin type=\"$PLUGIN\" failed (delete): plugin type=\"flaky\" name=\"flaky\" failed (delete): flaky: DEL refused by the test"
	expect_eq "the sandbox after the failed stop" "$(status "$id" 'j["status"]["state"]')" SANDBOX_NOTREADY
	rm -f "$C/fail-del"
	expect_eq "RemovePodSandbox" "$(cri remove "$id")" ok
	expect_nothing_left
}

t_containerd_restart_between_run_and_stop_changes_nothing() {
	local id ip n
	pod ns1 p6 uid-6 blue
	id=$(cri run "$WORK/p6.json") || fail "RunPodSandbox: $id"
	n=$(sandbox_netns "$id")
	ip=$(status "$id" 'j["status"]["network"]["ip"]')
	containerd_stop
	containerd_start
	expect_eq "state after restart" "$(status "$id" 'j["status"]["state"]')" SANDBOX_READY
	expect_eq "IP after restart" "$(status "$id" 'j["status"]["network"]["ip"]')" "$ip"
	expect_contains "net1 still there" "$(in_netns "$n" ip -4 -br addr show net1)" 10.239.1.
	expect_eq "StopPodSandbox" "$(cri stop "$id")" ok
	expect_eq "RemovePodSandbox" "$(cri remove "$id")" ok
	expect_nothing_left
}

t_twenty_sandboxes_created_and_stopped_concurrently() {
	local i ids files=() out
	for i in $(seq 1 20); do
		pod ns1 "c$i" "uid-c$i" blue
		files+=("$WORK/c$i.json")
	done
	out=$(cri run "${files[@]}") || fail "RunPodSandbox: $(grep error <<<"$out" | head -3)"
	ids=$(tr '\n' ' ' <<<"$out")
	for i in $ids; do sandbox_netns "$i" >/dev/null; done
	expect_eq "distinct pod IPs" "$(for i in $ids; do status "$i" 'j["status"]["network"]["ip"]'; done | sort -u | wc -l)" 20
	expect_eq "net1 reservations" "$(find "$C/ipam/blue" -name '10.*' | wc -l)" 20
	# shellcheck disable=SC2086
	expect_eq "StopPodSandbox x20" "$(cri stop $ids | sort | uniq -c | awk '{print $1, $2}')" "20 ok"
	# shellcheck disable=SC2086
	expect_eq "RemovePodSandbox x20" "$(cri remove $ids | sort | uniq -c | awk '{print $1, $2}')" "20 ok"
	expect_nothing_left
}

# last by name: stopping the lane's containerd leaves no process, mount, netns or cgroup
t_zz_stopping_containerd_leaves_nothing_running_or_mounted() {
	containerd_stop
	expect_eq "shims" "$(shims)" ""
	expect_eq "mounts under the lane's root" "$(our_mounts)" ""
	expect_eq "sandbox network namespaces" "$(our_netns)" ""
	if [ -e /opt/containerd ] && [ -z "$OPT_BEFORE" ]; then fail "/opt/containerd created"; fi
	expect_eq "sandbox processes" "$(ps -eo cgroup= | grep -F "/$CGROUP/" | wc -l)" 0
	# runc removes a sandbox's own cgroup (CGROUP/besteffort/pod<uid>/<id>); the pod levels
	# above it are kubelet's to remove, as here, and are empty
	expect_eq "sandbox cgroups" "$(our_cgroups | while read -r d; do find "$d" -mindepth 3 -type d; done)" ""
	our_cgroups | while read -r d; do find "$d" -depth -type d -exec rmdir {} +; done
	expect_eq "pod cgroups" "$(our_cgroups)" ""
	if [ -z "$RUN_CONTAINERD_BEFORE" ]; then
		expect_eq "shim sockets left" "$(ls -A /run/containerd/s 2>/dev/null)" ""
	fi
}

# the thick pass: the sandbox tests again through plexus-shim and plexusd
t_thick_sandbox_gets_eth0_and_annotated_networks_and_reports_eth0s_ip() {
	thick_mode t_sandbox_gets_eth0_and_annotated_networks_and_reports_eth0s_ip
}
t_thick_add_failure_surfaces_through_run_pod_sandbox_and_leaves_nothing() {
	thick_mode t_add_failure_surfaces_through_run_pod_sandbox_and_leaves_nothing
}
t_thick_port_mapping_rule_exists_while_running_and_is_gone_after() {
	thick_mode t_port_mapping_rule_exists_while_running_and_is_gone_after
}
t_thick_remove_after_a_failed_stop_is_clean() {
	thick_mode t_remove_after_a_failed_stop_is_clean
}
t_thick_twenty_sandboxes_created_and_stopped_concurrently() {
	thick_mode t_twenty_sandboxes_created_and_stopped_concurrently
}

lane_setup
case $? in
0) run_tests ;;
77) echo "  SKIP: containerd, runc or ctr is not installed"
    echo "cri: 0 passed, 0 failed, 1 skipped" ;;
*) echo "cri: 0 passed, 1 failed, 0 skipped"; exit 1 ;;
esac

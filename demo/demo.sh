#!/usr/bin/env bash
# demo/demo.sh: what plexus does for a pod, shown step by step: a kube-apiserver stand-in holds
# the pod and its NetworkAttachmentDefinitions, a kubelet pod-resources stand-in says which
# SR-IOV VF the pod was given, and plexus attaches a bridge cluster network, a macvlan network
# and (when DEMO_VF names a VF's PCI address, as in the hardware lane's guest) the VF through
# bin/sriov, then removes everything again. Run by scripts/demo; needs root.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VF=${DEMO_VF:-}
PF=${DEMO_PF:-}
W=$(mktemp -d /tmp/plexus-demo.XXXXXX)
NS=demo-pod-$$
T=pd$((RANDOM % 1000))
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns del "$NS" 2>/dev/null || true
	ip link del ${T}br 2>/dev/null || true
	ip link del ${T}m0 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_line() { for _ in $(seq 1 150); do grep -q listening "$1" 2>/dev/null && return 0; sleep 0.1; done; cat "$1"; return 1; }

say "stand-ins: a kube-apiserver and a kubelet pod-resources server (test doubles that speak the real wire formats)"
mkdir -p "$W/api" "$W/kubelet" "$W/devinfo/dp"
ip link add ${T}m0 type veth peer name ${T}m1
ip link set ${T}m0 up && ip link set ${T}m1 up
NETS='[{"name":"macvlan-net","interface":"data0"}'
if [ -n "$VF" ]; then NETS="$NETS"',{"name":"sriov-net","interface":"vf0","mac":"02:00:00:00:de:01"}'; fi
NETS="$NETS]"
/usr/bin/python3 - "$W" "$T" "$NETS" <<'PY'
import json, sys
w, t, nets = sys.argv[1:]
def nad(name, conf, res=None):
    md = {"name": name, "namespace": "demo"}
    if res:
        md["annotations"] = {"k8s.v1.cni.cncf.io/resourceName": res}
    return {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": md, "spec": {"config": json.dumps(conf)}}
json.dump({"tokens": {"demo-token": "system:serviceaccount:kube-system:plexus"},
           "pods": [{"apiVersion": "v1", "kind": "Pod", "metadata": {
               "name": "web", "namespace": "demo", "uid": "demo-uid",
               "annotations": {"k8s.v1.cni.cncf.io/networks": nets}}}],
           "nads": [nad("macvlan-net", {"cniVersion": "1.0.0", "name": "macvlan-net", "type": "macvlan",
                                         "master": t + "m0", "mode": "bridge",
                                         "ipam": {"type": "host-local", "dataDir": w + "/ipam",
                                                  "ranges": [[{"subnet": "192.168.77.0/24"}]]}}),
                    nad("sriov-net", {"cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov",
                                      "vlan": 100, "spoofchk": "on", "cniDir": w + "/sriov",
                                      "capabilities": {"mac": True, "CNIDeviceInfoFile": True},
                                      "ipam": {"type": "static", "addresses": [{"address": "192.0.2.50/24"}]}},
                        "intel.com/sriov_demo")]}, open(w + "/fixture.json", "w"))
PY
/usr/bin/python3 -u "$ROOT/test/stand-ins/apiserver.py" --dir "$W/api" --fixture "$W/fixture.json" --max-lifetime 300 >"$W/api.out" 2>&1 &
PIDS+=($!)
wait_line "$W/api.out"
API=$(awk '/listening/{print $2}' "$W/api.out")
echo "kube-apiserver stand-in at $API (TLS with its own CA, bearer token)"
printf 'apiVersion: v1\nkind: Config\ncurrent-context: demo\ncontexts:\n- name: demo\n  context: {cluster: c, user: plexus}\nclusters:\n- name: c\n  cluster: {server: "%s", certificate-authority: %s}\nusers:\n- name: plexus\n  user: {token: demo-token}\n' "$API" "$W/api/ca.crt" >"$W/kubeconfig"
SOCK=/run/pxdemo$$.sock
echo "{\"pods\":[{\"name\":\"web\",\"namespace\":\"demo\",\"containers\":[{\"name\":\"app\",\"devices\":[{\"resource_name\":\"intel.com/sriov_demo\",\"device_ids\":[\"${VF:-0000:00:00.0}\"]}]}]}]}" >"$W/kubelet/fixture.json"
/usr/bin/python3 -u "$ROOT/test/stand-ins/podresources.py" --socket "$SOCK" --dir "$W/kubelet" --fixture "$W/kubelet/fixture.json" --max-lifetime 300 >"$W/kubelet.out" 2>&1 &
PIDS+=($!)
wait_line "$W/kubelet.out"
echo "kubelet pod-resources stand-in on $SOCK: pod demo/web was allocated ${VF:-no VF (no SR-IOV here)}"

say "the pod demo/web asks for these networks (k8s.v1.cni.cncf.io/networks)"
echo "$NETS" | /usr/bin/python3 -m json.tool

cat >"$W/plexus.conf" <<EOF2
{"cniVersion":"1.0.0","name":"plexus-cni-network","type":"plexus","kubeconfig":"$W/kubeconfig",
 "cniDir":"$W/cni","binDir":"$ROOT/bin","podResourcesSocket":"$SOCK","deviceInfoDir":"$W/devinfo",
 "delegates":[{"cniVersion":"1.0.0","name":"cluster","type":"bridge","bridge":"${T}br","isGateway":true,
   "isDefaultGateway":true,"ipam":{"type":"host-local","dataDir":"$W/ipam","ranges":[[{"subnet":"10.244.7.0/24"}]]}}]}
EOF2
say "a throwaway pod network namespace: $NS"
run ip netns add "$NS"
if [ -n "$VF" ]; then
	# igb reports a VF's MAC as 00:.. until its netdev has been opened once, then the netdev's
	# own MAC: open and close it so that "before" and "after" compare like with like
	VFDEV=$(ls "/sys/bus/pci/devices/$VF/net" 2>/dev/null | head -n1)
	if [ -n "$VFDEV" ]; then ip link set "$VFDEV" up && ip link set "$VFDEV" down; fi
	say "the VF before, as its PF ($PF) reports it"
	ip link show "$PF" | grep -E "vf [0-9]+ .*" || true
fi

say "CNI ADD: the runtime runs plexus (result printed in the netconf's cniVersion)"
export CNI_CONTAINERID=demo-sandbox CNI_NETNS=/run/netns/$NS CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=web;K8S_POD_UID=demo-uid;K8S_POD_INFRA_CONTAINER_ID=demo-sandbox"
t0=$(date +%s%N)
CNI_COMMAND=ADD "$ROOT/bin/plexus" <"$W/plexus.conf" >"$W/result.json"
echo "ADD took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({k: r[k] for k in ("cniVersion","ips","routes") if k in r}, indent=2))' "$W/result.json"

if [ -n "$VF" ]; then # an igbvf link takes a few seconds to come up under emulation
	for _ in $(seq 1 50); do
		[ "$(ip netns exec "$NS" cat /sys/class/net/vf0/operstate 2>/dev/null)" = up ] && break
		sleep 0.1
	done
fi
say "inside the pod"
run ip -n "$NS" -br addr
run ip -n "$NS" route
if [ -n "$VF" ]; then say "the VF on its PF now"; ip link show "$PF" | grep -E "vf [0-9]+ .*vlan 100" || ip link show "$PF"; fi

say "network-status written back to the pod (one PATCH)"
curl -sS --cacert "$W/api/ca.crt" "$API/_standin/objects/pods/demo/web" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])'
say "API requests made for this ADD"
curl -sS --cacert "$W/api/ca.crt" "$API/_standin/requests" |
	/usr/bin/python3 -c 'import json,sys; [print(" ", r["method"], r["path"]) for r in json.load(sys.stdin)]'
say "what plexus list shows"
"$ROOT/bin/plexus" list --cni-dir "$W/cni"

say "CNI DEL"
t0=$(date +%s%N)
CNI_COMMAND=DEL "$ROOT/bin/plexus" <"$W/plexus.conf"
echo "DEL took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
run ip -n "$NS" -br addr
if [ -n "$VF" ]; then say "the VF is back as it was"; ip link show "$PF" | grep -E "vf [0-9]+ .*" || true; fi
# lock files stay (empty, 0600): they are how concurrent plugins take turns, not state
left=$({ find "$W/cni" "$W/ipam" "$W/devinfo/cni" "$W/sriov" -type f ! -name lock ! -name 'last_reserved_ip*' \
	! -path '*/vf_lock/*' 2>/dev/null || true; } | wc -l)
links=$(ip -n "$NS" -o link | grep -vc ': lo:' || true)
say "left behind: $links interfaces in the pod, $left cache, state or reservation files"
if [ "$left" -ne 0 ] || [ "$links" -ne 0 ]; then
	find "$W/cni" "$W/ipam" "$W/devinfo/cni" "$W/sriov" -type f 2>/dev/null
	echo "demo FAILED: something was left behind"
	exit 1
fi
echo "demo done: nothing left behind"

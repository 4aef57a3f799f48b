#!/usr/bin/env bash
# test/integration/dra.sh: SR-IOV VFs handed out by Dynamic Resource Allocation reach the
# delegate as deviceID: the resource.k8s.io/v1 path (pod status -> ResourceClaim ->
# ResourceSlices, Multus pkg/draclient) and the kubelet pod-resources dynamic_resources path
# (Multus v4.1-v4.3), through the kube-apiserver and kubelet STAND-INS, with a recording
# delegate in a real netns. Every error stops the ADD before anything is attached. Thick mode
# (bin/plexus-shim to bin/plexusd) serves the same ADD from plexusd's watch caches of claims and
# slices: no GET and no LIST in the API's request log.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/stand-ins/podresources.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
PLEXUSD=${PLEXUSD:-$ROOT/bin/plexusd}
SHIM=${SHIM:-$ROOT/bin/plexus-shim}
RECORDER=$BUILD/test/tools/recorder
DRV=sriovnetwork.k8snetworkplumbingwg.io
CLAIM=p1-vf-x7k2q

# setup KUBELET-CONTAINER-JSON: NADs vf-dra (resourceName intel.com/sriov_dra), vf-claim
# (resourceName = the claim's name, the v4.1-v4.3 convention), vf-nope (a resourceName nobody
# allocates); the node n1's slices: the SR-IOV driver's VFs with both attributes (and one
# without), a GPU driver's device without them, and the same driver's slice of node n2 (which
# must never be read). NO_DRA=1: the API does not serve resource.k8s.io/v1.
setup() {
	SOCK=$WORKROOT/d$RANDOM.sock
	cleanup_add "rm -f $SOCK"
	mkdir -p "$WORK/bin" "$WORK/rec" "$WORK/kubelet" "$WORK/devinfo/dp"
	cp "$RECORDER" "$WORK/bin/recorder"
	local vf="{\"cniVersion\":\"1.1.0\",\"name\":\"vfnet\",\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\",\"capabilities\":{\"deviceID\":true,\"CNIDeviceInfoFile\":true}}"
	/usr/bin/python3 - "$WORK" "$vf" "$DRV" "$CLAIM" "${NO_DRA:-}" <<'PY'
import json, sys
w, conf, drv, claim, no_dra = sys.argv[1:]
def nad(name, res):
    return {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": {"name": name, "namespace": "ns1",
                         "annotations": {"k8s.v1.cni.cncf.io/resourceName": res}},
            "spec": {"config": conf}}
def dev(name, res=None, id=None):
    attrs = {"dra.net/numaNode": {"int": 0}}
    if res:
        attrs["k8s.cni.cncf.io/resourceName"] = {"string": res}
    if id:
        attrs["k8s.cni.cncf.io/deviceID"] = {"string": id}
    return {"name": name, "attributes": attrs}
def rslice(name, node, driver, devices):
    return {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": name},
            "spec": {"driver": driver, "nodeName": node,
                     "pool": {"name": node, "generation": 1, "resourceSliceCount": 1},
                     "devices": devices}}
json.dump({"tokens": {"tok": "u"}, "pods": [], "no_dra": bool(no_dra),
           "nads": [nad("vf-dra", "intel.com/sriov_dra"), nad("vf-claim", claim),
                    nad("vf-nope", "intel.com/nope")],
           "resourceslices": [
               rslice("n1-sriov", "n1", drv, [dev("vf-0", "intel.com/sriov_dra", "0000:00:06.1"),
                                              dev("vf-1", "intel.com/sriov_dra", "0000:00:06.2"),
                                              dev("vf-2", None, "0000:00:06.3")]),
               rslice("n1-gpu", "n1", "gpu.example.com", [dev("gpu-0")]),
               rslice("n2-sriov", "n2", drv, [dev("vf-0", "intel.com/sriov_dra", "0000:99:00.1")])]},
          open(w + "/fixture.json", "w"))
PY
	apiserver_start "$(cat "$WORK/fixture.json")"
	local ctr=${1:-}
	[ -n "$ctr" ] || ctr='{"name":"c"}'
	echo "{\"pods\":[{\"name\":\"p1\",\"namespace\":\"ns1\",\"containers\":[$ctr]}]}" >"$WORK/kubelet/fixture.json"
	podresources_start "$SOCK" "$WORK/kubelet" "$WORK/kubelet/fixture.json"
	cat >"$WORK/nc.json" <<EOF2
{"cniVersion":"1.1.0","name":"plexus-net","type":"plexus","kubeconfig":"$WORK/kubeconfig","cniDir":"$WORK/cni",
 "binDir":"$WORK/bin","podResourcesSocket":"$SOCK","deviceInfoDir":"$WORK/devinfo",
 "delegates":[{"cniVersion":"1.1.0","name":"cluster","type":"recorder","recordDir":"$WORK/rec"}]}
EOF2
}

# claim [RESULTS-JSON]: the ResourceClaim $CLAIM, allocated with RESULTS on node n1 as the
# scheduler writes it (nodeSelector metadata.name In [n1]); none: not allocated
claim() {
	/usr/bin/python3 -c 'import json,sys
c = {"apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim",
     "metadata": {"name": sys.argv[1], "namespace": "ns1"},
     "spec": {"devices": {"requests": [{"name": "vf", "exactly": {"deviceClassName": sys.argv[2]}}]}}}
if len(sys.argv) > 3:
    c["status"] = {"allocation": {"devices": {"results": json.loads(sys.argv[3])},
                                  "nodeSelector": {"nodeSelectorTerms": [{"matchFields": [
                                      {"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}}}
print(json.dumps(c))' "$CLAIM" "$DRV" "$@" | api POST /_standin/objects "$(cat)" >/dev/null
}

result() { # REQUEST DRIVER DEVICE [POOL]
	echo "{\"request\":\"$1\",\"driver\":\"$2\",\"pool\":\"${4:-n1}\",\"device\":\"$3\"}"
}

# pod NETWORKS [STATUS-JSON]: the pod p1 on node n1; STATUS defaults to one claim, $CLAIM
pod() {
	local status=${2:-}
	[ -n "$status" ] || status="{\"resourceClaimStatuses\":[{\"name\":\"vf\",\"resourceClaimName\":\"$CLAIM\"}]}"
	/usr/bin/python3 -c 'import json,sys
print(json.dumps({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "p1", "namespace": "ns1", "uid": "u1",
                               "annotations": {"k8s.v1.cni.cncf.io/networks": sys.argv[1]}},
                  "spec": {"nodeName": "n1"}, "status": json.loads(sys.argv[2])}))' "$1" \
		"$status" |
		api POST /_standin/objects "$(cat)" >/dev/null
}

plexus() { # VERB NETNS
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=cd1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_UID=u1" kept $MEMCHECK "$PLEXUS" <"$WORK/nc.json"
}

# thick_start: plexusd for node n1 with the stand-in's kubeconfig (its socket in a short dir),
# ready (its caches synced); shim.json is nc.json for bin/plexus-shim
thick_start() {
	SOCKDIR=$WORKROOT/s$RANDOM
	mkdir -p "$SOCKDIR"
	cleanup_add "rm -rf $SOCKDIR"
	cat >"$WORK/daemon-config.json" <<EOF2
{"cniVersion":"1.1.0","logLevel":"verbose","logToStderr":false,"logFile":"$WORK/plexusd.log",
 "socketDir":"$SOCKDIR","cniDir":"$WORK/cni","binDir":"$WORK/bin","kubeconfig":"$WORK/kubeconfig"${1:+,$1}}
EOF2
	PLEXUS_NODE_NAME=n1 $MEMCHECK "$PLEXUSD" -config "$WORK/daemon-config.json" 2>>"$WORK/plexusd.err" &
	DPID=$!
	cleanup_add "stop_gracefully $DPID"
	sed "s|\"type\":\"plexus\"|\"type\":\"plexus-shim\",\"daemonSocketDir\":\"$SOCKDIR\"|" "$WORK/nc.json" >"$WORK/shim.json"
	for _ in $(seq 1 200); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCKDIR/multus.sock" http://plexusd/readyz)" == 200 ] && return 0
		sleep 0.05
	done
	fail "plexusd did not become ready: $(cat "$WORK/plexusd.err")"
}

shim() { # VERB NETNS
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=cd1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_UID=u1" kept $MEMCHECK "$SHIM" <"$WORK/shim.json"
}

# the API requests since the last reset-log but the reflectors' watches, as "METHOD path" lines
requests_but_watches() {
	api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys
for r in json.load(sys.stdin):
    if "watch=1" not in r.get("query", ""):
        print(r["method"], r["path"])'
}

stdin_of() { json_get "$(cat "$WORK"/rec/*-ADD-"$1" | head -n1)" 'json.loads(j["stdin"])'; }
device_of() { json_get "$(stdin_of "$1")" 'j.get("deviceID")'; }
count() { # METHOD PATH-SUBSTRING [STATUS] -> how many such requests the API saw (answered STATUS)
	api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"]==sys.argv[1] and sys.argv[2] in r["path"] and sys.argv[3] in ("", str(r.get("status")))))' "$1" "$2" "${3:-}"
}

expect_nothing_attached() { # OUT
	[ -z "$(ls "$WORK/rec")" ] || fail "a delegate ran: $(ls "$WORK/rec")"
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "cache written"
	[ -z "$(ls "$WORK/devinfo/cni" 2>/dev/null)" ] || fail "device-info written"
}

t_api_path_claim_device_is_injected_with_device_info_and_counted() {
	local ns=${TAG}a st out
	netns_new $ns
	setup
	claim "[$(result gpu gpu.example.com gpu-0), $(result vf $DRV vf-1)]"
	pod "vf-dra"
	echo '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:06.2"}}' >"$WORK/devinfo/dp/intel.com-sriov_dra-0000:00:06.2-device.json"
	api POST /_standin/reset-log >/dev/null
	plexus ADD $ns >/dev/null
	st=$(stdin_of net1)
	expect_eq "deviceID from the slice of node n1" "$(json_get "$st" 'j["deviceID"]')" 0000:00:06.2
	expect_eq "pciBusID too" "$(json_get "$st" 'j["pciBusID"]')" 0000:00:06.2
	expect_eq "runtimeConfig.deviceID" "$(json_get "$st" 'j["runtimeConfig"]["deviceID"]')" 0000:00:06.2
	expect_eq "CNIDeviceInfoFile" "$(json_get "$st" 'j["runtimeConfig"]["CNIDeviceInfoFile"]')" "$WORK/devinfo/cni/ns1-vf-dra-cd1_net1"
	[ -f "$WORK/devinfo/cni/ns1-vf-dra-cd1_net1" ] || fail "device-info not copied to the CNI file"
	out=$(api GET /_standin/objects/pods/ns1/p1)
	out=$(json_get "$out" 'json.loads(j["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])')
	expect_eq "network-status device-info" "$(json_get "$out" 'j[1]["device-info"]["pci"]["pci-address"]')" 0000:00:06.2
	expect_eq "one GET of the claim" "$(count GET /namespaces/ns1/resourceclaims/$CLAIM)" 1
	expect_eq "one LIST of slices per driver (2 drivers)" "$(count GET /resourceslices)" 2
	out=$(api GET /_standin/requests)
	expect_contains "field selectors node and driver" "$out" "fieldSelector=spec.nodeName%3Dn1%2Cspec.driver%3D$DRV"
	expect_eq "the ADD's whole budget: pod, NAD, claim, 2 slice LISTs, PATCH" \
		"$(json_get "$out" 'len(j)')" 6
	plexus DEL $ns
	[ -z "$(ls "$WORK/devinfo/cni")" ] || fail "CNI device-info files left: $(ls "$WORK/devinfo/cni")"
	[ -z "$(find "$WORK/cni" -type f)" ] || fail "cache left"
}

t_device_plugin_ids_come_before_dra_ids_of_the_same_resource() {
	local ns=${TAG}m
	netns_new $ns
	setup '{"name":"c","devices":[{"resource_name":"intel.com/sriov_dra","device_ids":["0000:00:07.1"]}]}'
	claim "[$(result vf $DRV vf-1), $(result vf $DRV vf-0)]"
	pod "vf-dra, vf-dra, vf-dra"
	api POST /_standin/reset-log >/dev/null
	plexus ADD $ns >/dev/null
	expect_eq "first: the device plugin's" "$(device_of net1)" 0000:00:07.1
	expect_eq "second: the claim's first result" "$(device_of net2)" 0000:00:06.2
	expect_eq "third: the claim's second result" "$(device_of net3)" 0000:00:06.1
	expect_eq "the claim is fetched once for three attachments" "$(count GET /resourceclaims/)" 1
	expect_eq "one driver, one LIST" "$(count GET /resourceslices)" 1
	plexus DEL $ns
}

t_extended_resource_claim_is_mapped_by_request_name() {
	local ns=${TAG}e
	netns_new $ns
	setup
	claim "[$(result other $DRV vf-0), $(result container-0-request-0 $DRV vf-1)]"
	pod "vf-dra" "{\"extendedResourceClaimStatus\":{\"resourceClaimName\":\"$CLAIM\",\"requestMappings\":[{\"containerName\":\"c\",\"resourceName\":\"intel.com/sriov_dra\",\"requestName\":\"container-0-request-0\"}]}}"
	plexus ADD $ns >/dev/null
	expect_eq "the mapped request's device only" "$(device_of net1)" 0000:00:06.2
	plexus DEL $ns
}

t_extended_resource_naming_another_resource_is_an_error() {
	local ns=${TAG}x out
	netns_new $ns
	setup
	claim "[$(result r0 $DRV vf-0)]"
	pod "vf-dra" "{\"extendedResourceClaimStatus\":{\"resourceClaimName\":\"$CLAIM\",\"requestMappings\":[{\"containerName\":\"c\",\"resourceName\":\"example.com/vf\",\"requestName\":\"r0\"}]}}"
	out=$(plexus ADD $ns) && fail "ADD succeeded"
	expect_contains "names the mismatch" "$out" "has resourceName \\\"intel.com/sriov_dra\\\", not the extended resource \\\"example.com/vf\\\""
	expect_nothing_attached
}

t_kubelet_claim_path_serves_a_nad_named_for_the_claim() {
	local ns=${TAG}k
	netns_new $ns
	setup "{\"name\":\"c\",\"dynamic_resources\":[{\"claim_name\":\"$CLAIM\",\"claim_namespace\":\"ns1\",\"claim_resources\":[{\"cdi_devices\":[\"k8s.$DRV/vf=0000:00:08.1\",\"no-equals-sign\"],\"driver_name\":\"$DRV\",\"pool_name\":\"n1\",\"device_name\":\"vf-7\"}]}]}"
	# the API path finds only a device without the attributes: nothing for the NAD
	claim "[$(result vf $DRV vf-2)]"
	pod "vf-claim"
	plexus ADD $ns >/dev/null
	expect_eq "the CDI name's part after =" "$(device_of net1)" 0000:00:08.1
	plexus DEL $ns
}

t_kubelet_claim_path_works_without_resource_claim_statuses() {
	local ns=${TAG}c
	netns_new $ns
	setup "{\"name\":\"c\",\"dynamic_resources\":[{\"claim_name\":\"$CLAIM\",\"claim_resources\":[{\"cdi_devices\":[\"k8s.$DRV/vf=0000:00:08.2\"]}]}]}"
	pod "vf-claim" '{}'
	api POST /_standin/reset-log >/dev/null
	plexus ADD $ns >/dev/null
	expect_eq "kubelet's claim device" "$(device_of net1)" 0000:00:08.2
	expect_eq "no DRA request for a pod without claims" "$(count GET resource.k8s.io)" 0
	plexus DEL $ns
}

t_claim_not_allocated_is_an_error_and_nothing_attached() {
	local ns=${TAG}u out
	netns_new $ns
	setup
	claim
	pod "vf-dra"
	out=$(plexus ADD $ns) && fail "ADD succeeded"
	expect_contains "names the claim" "$out" "ResourceClaim \\\"ns1/$CLAIM\\\" is not allocated"
	expect_contains "names the network" "$out" 'ns1/vf-dra'
	expect_nothing_attached
}

t_no_slice_of_the_driver_on_this_node_is_an_error_and_nothing_attached() {
	local ns=${TAG}s out
	netns_new $ns
	setup
	claim "[$(result vf other.example.com vf-0)]"
	pod "vf-dra"
	out=$(plexus ADD $ns) && fail "ADD succeeded"
	expect_contains "names driver and node" "$out" 'no ResourceSlice of driver \"other.example.com\" on node \"n1\"'
	expect_nothing_attached
}

t_resource_name_matching_no_allocated_device_is_an_error_and_nothing_attached() {
	local ns=${TAG}n out
	netns_new $ns
	setup
	claim "[$(result vf $DRV vf-0)]"
	pod "vf-dra, vf-nope"
	out=$(plexus ADD $ns) && fail "ADD succeeded"
	expect_contains "names network and resource" "$out" 'network \"ns1/vf-nope\": resourceName \"intel.com/nope\" matches no allocated device'
	expect_contains "lists what is allocated" "$out" 'allocate resourceNames \"intel.com/sriov_dra\"'
	expect_nothing_attached
}

t_two_nads_for_one_device_is_an_error_and_nothing_attached() {
	local ns=${TAG}t out
	netns_new $ns
	# kubelet reports the claim's VF by claim name, the API by resourceName: the same VF
	setup "{\"name\":\"c\",\"dynamic_resources\":[{\"claim_name\":\"$CLAIM\",\"claim_resources\":[{\"cdi_devices\":[\"k8s.$DRV/vf=0000:00:06.1\"]}]}]}"
	claim "[$(result vf $DRV vf-0)]"
	pod "vf-dra, vf-claim"
	out=$(plexus ADD $ns) && fail "ADD succeeded"
	expect_contains "names both networks and the device" "$out" "networks \\\"ns1/vf-dra\\\" (resource \\\"intel.com/sriov_dra\\\") and \\\"ns1/vf-claim\\\" (resource \\\"$CLAIM\\\") are both given device \\\"0000:00:06.1\\\""
	expect_nothing_attached
}

# deploy/rbac-dra.yaml grants what a DRA ADD calls (read from the stand-in's request log, as
# kube-apiserver's RequestInfoFactory names it), and no DRA call needs deploy/rbac.yaml's role.
t_rbac_dra_grants_what_a_dra_add_calls() {
	local ns=${TAG}r out
	netns_new $ns
	setup
	claim "[$(result vf $DRV vf-0)]"
	pod "vf-dra"
	plexus ADD $ns >/dev/null
	plexus DEL $ns
	out=$(/usr/bin/python3 - "$WORK/api/requests.log" "$ROOT/deploy/rbac-dra.yaml" <<'PY'
import json, re, sys, yaml
want = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    m = re.fullmatch(r"/apis/resource\.k8s\.io/v1(?:/namespaces/[^/]+)?/([a-z]+)(/[^/]+)?", r["path"])
    if m:
        want.add(("resource.k8s.io", m.group(1), "get" if m.group(2) else "list"))
got = set()
for d in yaml.safe_load_all(open(sys.argv[2])):
    if d["kind"] == "ClusterRole":
        for rule in d["rules"]:
            got |= {(g, res, v) for g in rule["apiGroups"] for res in rule["resources"] for v in rule["verbs"]}
    elif d["roleRef"]["name"] != "plexus-dra" or d["subjects"] != [{"kind": "ServiceAccount", "name": "plexus", "namespace": "kube-system"}]:
        sys.exit("the binding does not bind plexus-dra to kube-system/plexus")
missing = want - got
print(" ".join("%s:%s:%s" % x for x in sorted(want)) if not missing else "missing %s" % sorted(missing))
PY
)
	expect_eq "DRA calls, all granted" "$out" "resource.k8s.io:resourceclaims:get resource.k8s.io:resourceslices:list"
}

t_thick_dra_add_makes_no_get_and_no_list() {
	local ns=${TAG}T st out
	netns_new $ns
	setup
	claim "[$(result gpu gpu.example.com gpu-0), $(result vf $DRV vf-1)]"
	pod "vf-dra"
	thick_start
	expect_contains "the DRA caches run" "$(cat "$WORK/plexusd.log")" "caching ResourceClaims allocated to this node"
	api POST /_standin/reset-log >/dev/null
	shim ADD $ns >/dev/null
	st=$(stdin_of net1)
	expect_eq "deviceID from the cached slice of node n1" "$(json_get "$st" 'j["deviceID"]')" 0000:00:06.2
	expect_eq "runtimeConfig.deviceID" "$(json_get "$st" 'j["runtimeConfig"]["deviceID"]')" 0000:00:06.2
	expect_eq "the ADD's requests: the network-status PATCH only (no GET, no LIST)" \
		"$(requests_but_watches | grep -v " /api/v1/namespaces/ns1/events$")" "PATCH /api/v1/namespaces/ns1/pods/p1/status"
	# the claim is reallocated: the watch brings it, the next ADD gets the new device
	shim DEL $ns
	claim "[$(result vf $DRV vf-0)]"
	sleep 1 # the watch event (milliseconds on the stand-in)
	rm -f "$WORK"/rec/*
	api POST /_standin/reset-log >/dev/null
	shim ADD $ns >/dev/null
	expect_eq "the watched claim's new device" "$(device_of net1)" 0000:00:06.1
	expect_eq "still no GET nor LIST" "$(requests_but_watches | grep -c "^GET" || true)" 0
	shim DEL $ns
	[ -z "$(find "$WORK/cni" -type f)" ] || fail "cache left"
}

# thick_add_fails NETNS NETWORKS [CLAIM-RESULTS] [KUBELET-CONTAINER]: plexusd serves pod p1
# (NETWORKS) whose claim has CLAIM-RESULTS (none: not allocated); the shim's ADD must fail, its
# output in OUT, with nothing attached (the request log starts at the ADD). FAULTS: the API's
# fault rules from before plexusd starts; DAEMON_KEYS: more keys of plexusd's daemon config.
thick_add_fails() {
	netns_new $1
	setup "${4:-}"
	claim ${3:+"$3"}
	pod "$2"
	[ -z "${FAULTS:-}" ] || api POST /_standin/faults "$FAULTS" >/dev/null
	thick_start "${DAEMON_KEYS:-}"
	api POST /_standin/reset-log >/dev/null
	OUT=$(shim ADD $1) && fail "ADD succeeded"
	expect_nothing_attached
}

t_thick_claim_not_allocated_is_an_error() {
	thick_add_fails ${TAG}U vf-dra
	expect_contains "names the claim" "$OUT" "ResourceClaim \\\"ns1/$CLAIM\\\" is not allocated"
	expect_eq "a claim not allocated to n1 is not cached: one live GET" "$(count GET /resourceclaims/$CLAIM)" 1
}

t_thick_no_slice_of_the_driver_is_an_error() {
	thick_add_fails ${TAG}S vf-dra "[$(result vf other.example.com vf-0)]"
	expect_contains "names driver and node" "$OUT" 'no ResourceSlice of driver \"other.example.com\" on node \"n1\"'
	expect_eq "none cached: the API is asked once" "$(count GET /resourceslices)" 1
}

t_thick_resource_name_matching_no_device_is_an_error() {
	thick_add_fails ${TAG}N "vf-dra, vf-nope" "[$(result vf $DRV vf-0)]"
	expect_contains "names network and resource" "$OUT" 'network \"ns1/vf-nope\": resourceName \"intel.com/nope\" matches no allocated device'
}

t_thick_two_nads_for_one_device_is_an_error() {
	thick_add_fails ${TAG}W "vf-dra, vf-claim" "[$(result vf $DRV vf-0)]" \
		"{\"name\":\"c\",\"dynamic_resources\":[{\"claim_name\":\"$CLAIM\",\"claim_resources\":[{\"cdi_devices\":[\"k8s.$DRV/vf=0000:00:06.1\"]}]}]}"
	expect_contains "names both networks and the device" "$OUT" "are both given device \\\"0000:00:06.1\\\""
}

# A cluster without resource.k8s.io/v1 (404): plexusd is ready at once, does not retry the
# lists, and serves pods without claims.
t_thick_without_the_dra_api_is_ready_and_quiet() {
	local ns=${TAG}A n
	netns_new $ns
	NO_DRA=1 setup
	pod "" '{}'
	thick_start '"cacheSyncTimeoutSeconds": 60'
	expect_contains "says why DRA objects are read live" "$(cat "$WORK/plexusd.log")" "does not serve resource.k8s.io/v1"
	sleep 2
	n=$(json_get "$(api GET /_standin/requests)" 'len([r for r in j if "resource.k8s.io" in r["path"]])')
	[ "$n" -le 2 ] || fail "the DRA lists were asked $n times in 2 s (a probe is two)"
	shim ADD $ns >/dev/null
	[ -n "$(ls "$WORK/rec")" ] || fail "no delegate ran"
	shim DEL $ns
}

# The same with draReprobeSeconds 1: plexusd asks again every second, not more often, and says
# once that the API does not serve resource.k8s.io/v1, however often it finds it so.
t_thick_without_the_dra_api_asks_again_each_period_and_says_so_once() {
	local ns=${TAG}P n=0
	netns_new $ns
	NO_DRA=1 setup
	pod "" '{}'
	thick_start '"draReprobeSeconds": 1'
	api POST /_standin/reset-log >/dev/null
	sleep 3.5
	# a probe (one LIST of resourceclaims) a second: 3 or 4 in 3.5 s; 2 to 6 allows a slow one
	n=$(count GET /apis/resource.k8s.io/v1/resourceclaims)
	if [ "$n" -lt 2 ] || [ "$n" -gt 6 ]; then
		fail "resourceclaims asked $n times in 3.5 s with draReprobeSeconds 1, want 3 or 4"
	fi
	expect_eq "said once" "$(grep -c "does not serve resource.k8s.io/v1" "$WORK/plexusd.log" || true)" 1
	shim ADD $ns >/dev/null
	[ -n "$(ls "$WORK/rec")" ] || fail "no delegate ran"
	shim DEL $ns
}

# Lists of resource.k8s.io forbidden (403, deploy/thick/rbac-dra.yaml not applied): plexusd says
# so once however often its probe is refused (draReprobeSeconds 1: several probes within the
# test), is ready at once, and a DRA ADD gets the API's refusal, not a stale cache.
t_thick_forbidden_dra_lists_are_told_once_and_ready() {
	local n=0
	FAULTS='{"rules":["GET resourceclaims 403 x100"]}' DAEMON_KEYS='"draReprobeSeconds": 1' \
		thick_add_fails ${TAG}F vf-dra "[$(result vf $DRV vf-0)]"
	expect_contains "the API's answer" "$OUT" "403"
	# the probe's LIST of one claim, asked again after the ADD (the log starts at it), each
	# refused: at least two more probes, three in all, all forbidden
	for _ in $(seq 1 100); do
		n=$(count GET /apis/resource.k8s.io/v1/resourceclaims 403)
		[ "$n" -lt 2 ] || break
		sleep 0.1
	done
	[ "$n" -ge 2 ] || fail "the forbidden DRA probe was asked $n times since the ADD, want 2 or more (draReprobeSeconds 1)"
	expect_contains "says what is not allowed" "$(cat "$WORK/plexusd.log")" \
		"not allowed to list and watch resourceclaims and resourceslices (deploy/thick/rbac-dra.yaml)"
	expect_eq "said once" "$(grep -c "not allowed to list" "$WORK/plexusd.log")" 1
}

# deploy/thick/rbac-dra.yaml grants what plexusd calls for its DRA caches and a DRA ADD (read
# from the stand-in's request log, as kube-apiserver's RequestInfoFactory names it).
t_thick_rbac_dra_grants_what_plexusd_calls() {
	local ns=${TAG}R out
	netns_new $ns
	setup
	claim "[$(result vf $DRV vf-0)]"
	pod "vf-dra"
	thick_start
	out=$(shim ADD $ns) || fail "ADD: $out"
	shim DEL $ns
	kill -TERM $DPID
	wait $DPID || true
	out=$(/usr/bin/python3 - "$WORK/api/requests.log" "$ROOT/deploy/thick/rbac-dra.yaml" <<'PY'
import json, re, sys, yaml
want = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    m = re.fullmatch(r"/apis/resource\.k8s\.io/v1(?:/namespaces/[^/]+)?/([a-z]+)(/[^/]+)?", r["path"])
    if m:
        verb = "get" if m.group(2) else "watch" if "watch=1" in r.get("query", "") else "list"
        want.add(("resource.k8s.io", m.group(1), verb))
got = set()
for d in yaml.safe_load_all(open(sys.argv[2])):
    if d["kind"] == "ClusterRole":
        for rule in d["rules"]:
            got |= {(g, res, v) for g in rule["apiGroups"] for res in rule["resources"] for v in rule["verbs"]}
    elif d["roleRef"]["name"] != "plexusd-dra" or d["subjects"] != [{"kind": "ServiceAccount", "name": "plexusd", "namespace": "kube-system"}]:
        sys.exit("the binding does not bind plexusd-dra to kube-system/plexusd")
missing = want - got
print(" ".join("%s:%s" % x[1:] for x in sorted(want)) if not missing else "missing %s" % sorted(missing))
PY
)
	expect_eq "plexusd's DRA calls, all granted" "$out" "resourceclaims:list resourceclaims:watch resourceslices:list resourceslices:watch"
}

run_tests

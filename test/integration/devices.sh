#!/usr/bin/env bash
# test/integration/devices.sh: resourceName -> kubelet pod-resources -> deviceID, on this host
# (the SR-IOV VFs themselves are in the hardware lane): the kube-apiserver and kubelet
# pod-resources STAND-INS, plexus, and a recording delegate that shows what it was given.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/stand-ins/podresources.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
RECORDER=$BUILD/test/tools/recorder

setup() { # POD-DEVICES-JSON
	# a unix socket path must fit 108 bytes: keep it short
	SOCK=$WORKROOT/k$RANDOM.sock
	cleanup_add "rm -f $SOCK"
	mkdir -p "$WORK/bin" "$WORK/rec" "$WORK/api" "$WORK/kubelet" "$WORK/devinfo/dp"
	cp "$RECORDER" "$WORK/bin/recorder"
	local sriov="{\"cniVersion\":\"1.1.0\",\"name\":\"vfnet\",\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\",\"capabilities\":{\"deviceID\":true,\"CNIDeviceInfoFile\":true}}"
	local sriovlist="{\"cniVersion\":\"1.1.0\",\"name\":\"vflist\",\"plugins\":[{\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\"},{\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\",\"k\":1}]}"
	/usr/bin/python3 - "$WORK" "$sriov" "$sriovlist" <<'PY'
import json, sys
w, a, b = sys.argv[1:]
def nad(name, conf, res):
    return {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": {"name": name, "namespace": "ns1",
                         "annotations": {"k8s.v1.cni.cncf.io/resourceName": res}},
            "spec": {"config": conf}}
json.dump({"tokens": {"tok": "u"}, "pods": [], "nads": [nad("vf-a", a, "intel.com/sriov_a"),
           nad("vf-list", b, "intel.com/sriov_a")]}, open(w + "/fixture.json", "w"))
PY
	apiserver_start "$(cat "$WORK/fixture.json")"
	echo "{\"pods\":[{\"name\":\"p1\",\"namespace\":\"ns1\",\"containers\":[{\"name\":\"c\",\"devices\":$1}]}]}" >"$WORK/kubelet/fixture.json"
	podresources_start "$SOCK" "$WORK/kubelet" "$WORK/kubelet/fixture.json"
	cat >"$WORK/nc.json" <<EOF2
{"cniVersion":"1.1.0","name":"plexus-net","type":"plexus","kubeconfig":"$WORK/kubeconfig","cniDir":"$WORK/cni",
 "binDir":"$WORK/bin","podResourcesSocket":"$SOCK","deviceInfoDir":"$WORK/devinfo",
 "delegates":[{"cniVersion":"1.1.0","name":"cluster","type":"recorder","recordDir":"$WORK/rec"}]}
EOF2
}

pod() { # ANNOTATION
	/usr/bin/python3 -c 'import json,sys; print(json.dumps({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns1","uid":"u1","annotations":{"k8s.v1.cni.cncf.io/networks":sys.argv[1]}}}))' "$1" |
		api POST /_standin/objects "$(cat)" >/dev/null
}

plexus() { # VERB NETNS
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=cd1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_UID=u1" kept $MEMCHECK "$PLEXUS" <"$WORK/nc.json"
}

stdin_of() { json_get "$(cat "$WORK"/rec/*-ADD-"$1" | head -n1)" 'json.loads(j["stdin"])'; }

t_kth_attachment_gets_the_kth_device_injected_with_device_info() {
	local ns=${TAG}d out st
	netns_new $ns
	setup '[{"resource_name":"intel.com/sriov_a","device_ids":["0000:00:03.2","0000:00:03.1"]}]'
	# the device plugin's device-info file for the second device (sorted: .1 then .2)
	echo '{"type":"pci","version":"1.1.0","pci":{"pci-address":"0000:00:03.2"}}' >"$WORK/devinfo/dp/intel.com-sriov_a-0000:00:03.2-device.json"
	pod "vf-a, vf-a"
	plexus ADD $ns >/dev/null
	st=$(stdin_of net1)
	expect_eq "first gets the first sorted ID" "$(json_get "$st" 'j["deviceID"]')" 0000:00:03.1
	expect_eq "pciBusID too" "$(json_get "$st" 'j["pciBusID"]')" 0000:00:03.1
	expect_eq "runtimeConfig.deviceID" "$(json_get "$st" 'j["runtimeConfig"]["deviceID"]')" 0000:00:03.1
	expect_eq "CNIDeviceInfoFile" "$(json_get "$st" 'j["runtimeConfig"]["CNIDeviceInfoFile"]')" "$WORK/devinfo/cni/ns1-vf-a-cd1_net1"
	st=$(stdin_of net2)
	expect_eq "second gets the second" "$(json_get "$st" 'j["deviceID"]')" 0000:00:03.2
	[ -f "$WORK/devinfo/cni/ns1-vf-a-cd1_net2" ] || fail "device-info not copied to the CNI file"
	out=$(api GET /_standin/objects/pods/ns1/p1)
	out=$(json_get "$out" 'json.loads(j["metadata"]["annotations"]["k8s.v1.cni.cncf.io/network-status"])')
	expect_eq "network-status device-info" "$(json_get "$out" 'j[2]["device-info"]["pci"]["pci-address"]')" 0000:00:03.2
	plexus DEL $ns
	[ -z "$(ls "$WORK/devinfo/cni")" ] || fail "CNI device-info files left: $(ls "$WORK/devinfo/cni")"
	[ -z "$(find "$WORK/cni" -type f)" ] || fail "cache left"
}

t_device_is_injected_into_every_plugin_of_a_conflist() {
	local ns=${TAG}l st
	netns_new $ns
	setup '[{"resource_name":"intel.com/sriov_a","device_ids":["0000:00:04.1"]}]'
	pod "vf-list"
	plexus ADD $ns >/dev/null
	for f in "$WORK"/rec/*-ADD-net1; do
		st=$(json_get "$(cat "$f")" 'json.loads(j["stdin"])')
		expect_eq "deviceID in every plugin" "$(json_get "$st" 'j["deviceID"]')" 0000:00:04.1
	done
	expect_eq "both plugins ran" "$(ls "$WORK"/rec/*-ADD-net1 | wc -l)" 2
	plexus DEL $ns
}

t_no_device_for_the_resource_is_a_clear_error_and_nothing_attached() {
	local ns=${TAG}n out
	netns_new $ns
	setup '[{"resource_name":"intel.com/sriov_a","device_ids":["0000:00:03.1"]}]'
	pod "vf-a, vf-a"
	out=$(plexus ADD $ns) && fail "ADD with too few devices succeeded"
	expect_contains "names the resource" "$out" 'intel.com/sriov_a'
	expect_contains "names the network" "$out" 'ns1/vf-a'
	[ -z "$(ls "$WORK/rec")" ] || fail "a delegate ran: $(ls "$WORK/rec")"
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "cache written"
}

# kubelet_calls SINCE: the pod-resources calls after the first SINCE lines of the stand-in's
# request log, "Method:CODE[:fault]" space-separated, in the order kubelet answered them
kubelet_calls() {
	tail -n +$(($1 + 1)) "$WORK/kubelet/requests.log" | /usr/bin/python3 -c 'import json,sys
print(" ".join(r["method"] + ":" + r["code"] + (":" + r["fault"] if r["fault"] else "") for r in map(json.loads, sys.stdin)))'
}

# add_with_kubelet_faults NETNS FAULTS-JSON WANT-CALLS WHAT: one ADD and DEL with the kubelet
# stand-in answering as FAULTS-JSON says; the pod-resources calls the ADD made must be WANT-CALLS
# and the device still found
add_with_kubelet_faults() {
	local n
	echo "$2" >"$WORK/kubelet/faults.tmp"
	mv "$WORK/kubelet/faults.tmp" "$WORK/kubelet/faults.json"
	n=$(wc -l <"$WORK/kubelet/requests.log")
	plexus ADD $1 >/dev/null
	expect_eq "calls to $4" "$(kubelet_calls "$n")" "$3"
	expect_eq "deviceID from $4" "$(json_get "$(stdin_of net1)" 'j["deviceID"]')" 0000:00:05.1
	plexus DEL $1
	rm -f "$WORK"/rec/*
}

t_kubelet_unavailable_is_retried_and_get_falls_back_to_list() {
	local ns=${TAG}k
	netns_new $ns
	setup '[{"resource_name":"intel.com/sriov_a","device_ids":["0000:00:05.1"]}]'
	pod "vf-a"
	# Get retried through UNAVAILABLE, and no List once Get answered
	add_with_kubelet_faults $ns '{"unavailable":2}' \
		"Get:UNAVAILABLE:unavailable Get:UNAVAILABLE:unavailable Get:OK" "a kubelet serving Get"
	# a kubelet < 1.27 (Get UNIMPLEMENTED, which consumes no fault): List, retried through
	# UNAVAILABLE
	add_with_kubelet_faults $ns '{"unavailable":2,"get":"unimplemented"}' \
		"Get:UNIMPLEMENTED:get-unimplemented List:UNAVAILABLE:unavailable List:UNAVAILABLE:unavailable List:OK" \
		"a kubelet without Get"
}

run_tests

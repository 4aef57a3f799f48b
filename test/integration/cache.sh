#!/usr/bin/env bash
# test/integration/cache.sh: plexusd's watch caches (issue 15) through the real path: bin/plexusd
# and bin/plexus-shim against the API stand-in's LIST/WATCH (test/stand-ins/apiserver.py),
# Debian's bridge and host-local in real network namespaces. The stand-in's request log counts
# what each ADD and DEL asks the API; /metrics (parsed by python3-prometheus-client) says where
# each pod and NAD came from. Cluster network on ${TAG}b0 (10.241/16), NADs on ${TAG}b1
# (10.242/16) and ${TAG}b2 (10.243/16).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../thick-lib.sh"

NODE=node-$TAG

pod_json() { # NAME UID [NETWORKS] [NODE] [EXTRA-ANNOTATIONS]
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"ns1","uid":"%s","annotations":{"k8s.v1.cni.cncf.io/networks":"%s"%s}},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"busybox"}]}}' \
		"$1" "$2" "${3:-}" "${5:+,$5}" "${4:-$NODE}"
}

nad_json() { # NAME BRIDGE SUBNET [DATADIR]: a bridge NAD in ns1, host-local in DATADIR
	# (default $WORK/ipam)
	/usr/bin/python3 -c 'import json,sys
conf = json.loads(sys.argv[2])
if sys.argv[3]:
    conf["ipam"]["dataDir"] = sys.argv[3]
print(json.dumps({"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
    "metadata": {"name": sys.argv[1], "namespace": "ns1"}, "spec": {"config": json.dumps(conf)}}))' \
		"$1" "$(bridge_conf "$1" "$2" "$3")" "${4:-}"
}

put() { api POST /_standin/objects "$1" >/dev/null; }

# setup [DAEMON-KEYS] [NO-START]: the stand-in with the NAD blue (${TAG}b1, 10.242/16), the
# shim's netconf in $WORK/nc.json (cluster network ${TAG}b0, 10.241/16), plexusd with the
# kubeconfig and /metrics on $MPORT; started and ready unless NO-START. The cluster has no
# resource.k8s.io/v1: only the pod and NAD caches run (2 watch streams)
setup() {
	bridges_cleanup
	apiserver_start '{"tokens":{"tok":"plexus"},"pods":[],"nads":[],"no_dra":true}'
	put "$(nad_json blue ${TAG}b1 10.242.0.0/16)"
	shim_netconf "[$(bridge_conf cluster ${TAG}b0 10.241.0.0/16)]" >"$WORK/nc.json"
	MPORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	daemon_config "\"kubeconfig\": \"$WORK/kubeconfig\", \"metricsPort\": $MPORT${1:+, $1}" >"$WORK/daemon-config.json"
	[ -n "${2:-}" ] || { daemon_spawn && daemon_ready 20; }
}

# metric NAME [LABEL=VALUE,...]: the sample's value from /metrics ("absent" when missing),
# parsed with prometheus_client
metric() {
	curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | /usr/bin/python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families
name = sys.argv[1]
labels = dict(kv.split("=", 1) for kv in sys.argv[2].split(",") if kv)
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        if s.name == name and s.labels == labels:
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
print("absent")' "$1" "${2:-}"
}

# lookups: every plexus_pod_lookups_total and plexus_nad_lookups_total sample, "pod:SOURCE=N
# ... nad:SOURCE=N ..." (the counters a test expects, all of them at once)
lookups() {
	curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | /usr/bin/python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    if f.name in ("plexus_pod_lookups", "plexus_nad_lookups"):
        out += ["%s:%s=%d" % (f.name[7:10], s.labels["source"], s.value) for s in f.samples]
print(" ".join(out))'
}

# wait_metric NAME LABELS VALUE [SECONDS]: until the sample has that value (default 20 s)
wait_metric() {
	wait_value "$1{$2}" "$3" "${4:-20}" metric "$1" "$2"
}

cached_pods() { wait_metric plexus_cache_objects resource=pods "$1"; }

# reqs: the API requests logged since the last reset, "METHOD PATH STATUS" a line, without the
# caches' LIST and WATCH (collection paths) and the AddedInterface events POSTs (counted apart)
reqs() {
	api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys
for r in json.load(sys.stdin):
    p = r["path"]
    if p in ("/api/v1/pods", "/apis/k8s.cni.cncf.io/v1/network-attachment-definitions"):
        continue
    if r["method"] == "POST" and p.endswith("/events"):
        continue
    print(r["method"], p, r["status"])'
}

# count_reqs REGEX: how many of reqs match
count_reqs() { reqs | grep -cE "$1" || true; }

# events_posts: the AddedInterface events POSTs logged since the last reset
events_posts() {
	api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST" and r["path"].endswith("/events")))'
}

reset_log() { api POST /_standin/reset-log >/dev/null; }

# attached NETNS IFNAME PREFIX: IFNAME in NETNS has an address in PREFIX (e.g. 10.242.)
attached() {
	expect_contains "$1 $2" "$(ip -n "$1" -4 -br addr show "$2" 2>&1)" "$3"
}

# streams N: until the stand-in has N open watch streams
streams() {
	wait_value "watch streams" "$1" 20 open_streams
}

open_streams() { json_get "$(api GET /_standin/watch)" 'j["streams"]'; }

t_100_pods_add_and_del_with_zero_gets() {
	local i n=100 pods="" out
	setup "" no-start
	for i in $(seq 1 $n); do pods+="${pods:+,}$(pod_json pod-c$i uid-c$i blue)"; done
	put "[$pods]"
	# and pods of another node, which the node's cache must not hold
	put "[$(pod_json other-1 u1 blue elsewhere),$(pod_json other-2 u2 blue elsewhere)]"
	daemon_spawn
	daemon_ready 20
	cached_pods $n
	expect_eq "NADs cached" "$(metric plexus_cache_objects resource=network-attachment-definitions)" 1
	for i in $(seq 1 $n); do netns_new ${TAG}n$i; done
	reset_log
	for i in $(seq 1 $n); do
		shim ADD ${TAG}n$i c$i <"$WORK/nc.json" >"$WORK/out" || fail "ADD $i: $(cat "$WORK/out")"
		attached ${TAG}n$i eth0 10.241.
		attached ${TAG}n$i net1 10.242.
	done
	expect_eq "GETs for $n ADDs" "$(count_reqs '^GET ')" 0
	expect_eq "PATCHes of pods/status" "$(count_reqs '^PATCH /api/v1/namespaces/ns1/pods/pod-c[0-9]+/status 200$')" $n
	expect_eq "one PATCH per pod" "$(reqs | grep '^PATCH' | sort -u | wc -l)" $n
	expect_eq "nothing else" "$(count_reqs .)" $n
	# AddedInterface events: two attachments a pod, posted after each reply
	wait_value "events POSTs" $((2 * n)) 10 events_posts
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=$n pod:cache_after_wait=0 pod:live_unsynced=0 pod:live_not_cached=0 pod:live_uid_mismatch=0 nad:cache=$n nad:live=0"
	expect_eq 'plexus_pod_lookups_total{source="cache"}' "$(metric plexus_pod_lookups_total source=cache)" $n
	reset_log
	for i in $(seq 1 $n); do shim DEL ${TAG}n$i c$i <"$WORK/nc.json" || fail "DEL $i"; done
	out=$(api GET /_standin/requests)
	expect_eq "requests for $n DELs (LIST and WATCH included)" "$(json_get "$out" 'len(j)')" 0
	expect_clean $(for i in $(seq 1 $n); do echo ${TAG}n$i; done)
	# the cache families, with their types
	out=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | /usr/bin/python3 -c 'import sys
from prometheus_client.parser import text_string_to_metric_families
print(" ".join(sorted("%s:%s" % (f.name, f.type) for f in text_string_to_metric_families(sys.stdin.read())
    if f.name.startswith(("plexus_cache", "plexus_watch", "plexus_pod_lookups", "plexus_nad_lookups", "plexus_api_requests")))))')
	expect_eq "cache metric families" "$out" "plexus_api_requests:counter plexus_cache_lists:counter plexus_cache_objects:gauge plexus_cache_sync_wait_expired:gauge plexus_cache_synced:gauge plexus_nad_lookups:counter plexus_pod_lookups:counter plexus_watch_gap_deletions:counter plexus_watch_last_event_age_seconds:gauge plexus_watch_relists_gone:counter plexus_watch_restarts:counter"
	expect_eq "PATCHes counted by verb and status" "$(metric plexus_api_requests_total verb=PATCH,status=200)" $n
	expect_eq "pods synced" "$(metric plexus_cache_synced resource=pods)" 1
	expect_eq "one LIST of pods" "$(metric plexus_cache_lists_total resource=pods)" 1
	expect_eq "wait not expired" "$(metric plexus_cache_sync_wait_expired)" 0
}

# a pod created a moment after its ADD arrived: waited for on the watch, no GET
t_pod_created_just_after_add_waited_for() {
	local ns=${TAG}w start took
	netns_new $ns
	setup '"podCacheWaitMilliseconds": 5000'
	reset_log
	start=$(date +%s%N)
	shim ADD $ns cw <"$WORK/nc.json" >"$WORK/out" &
	local client=$!
	wait_metric plexus_requests_in_flight "" 1
	sleep 0.3
	put "$(pod_json pod-cw uid-cw blue)"
	wait $client || fail "ADD: $(cat "$WORK/out")"
	took=$((($(date +%s%N) - start) / 1000000))
	[ $took -lt 4000 ] || fail "ADD took $took ms: woken by the watch event, not at the end of the wait"
	attached $ns net1 10.242.
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=0 pod:cache_after_wait=1 pod:live_unsynced=0 pod:live_not_cached=0 pod:live_uid_mismatch=0 nad:cache=1 nad:live=0"
	expect_eq "requests" "$(reqs)" "PATCH /api/v1/namespaces/ns1/pods/pod-cw/status 200"
	shim DEL $ns cw <"$WORK/nc.json"
	expect_clean $ns
}

# a pod the node's cache cannot hold (its spec.nodeName is another node's, or a static pod whose
# mirror pod is not in the API yet): after the wait, one live GET
t_pod_not_cached_fetched_live_once() {
	local ns=${TAG}l ns2=${TAG}m out
	netns_new $ns
	netns_new $ns2
	setup '"podCacheWaitMilliseconds": 300'
	put "$(pod_json pod-cl uid-cl blue other-node)"
	reset_log
	shim ADD $ns cl <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "one GET" "$(reqs)" "GET /api/v1/namespaces/ns1/pods/pod-cl 200
PATCH /api/v1/namespaces/ns1/pods/pod-cl/status 200"
	# not in the API at all: Multus's empty result, nothing attached
	reset_log
	out=$(shim ADD $ns2 cs <"$WORK/nc.json") || fail "ADD of a pod the API does not know: $out"
	expect_eq "Multus's empty result" "$(json_get "$out" 'j["ips"][0]["address"]')" 0.0.0.0/0
	expect_eq "nothing attached" "$(links_in $ns2)" 0
	expect_eq "one GET, not found" "$(reqs)" "GET /api/v1/namespaces/ns1/pods/pod-cs 404"
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=0 pod:cache_after_wait=0 pod:live_unsynced=0 pod:live_not_cached=2 pod:live_uid_mismatch=0 nad:cache=1 nad:live=0"
	shim DEL $ns cl <"$WORK/nc.json"
	shim DEL $ns2 cs <"$WORK/nc.json"
	expect_clean $ns $ns2
}

# the cache holds the pod with another UID: the live GET decides
t_uid_mismatch_live_get_before_failing() {
	local ns=${TAG}u out rc
	netns_new $ns
	setup '"podCacheWaitMilliseconds": 300'
	put "$(pod_json pod-cu uid-old blue)"
	cached_pods 1
	# the pod was deleted and created again while the cache's watch was silent
	api POST /_standin/watch '{"stall":true}' >/dev/null
	api DELETE /_standin/objects/pods/ns1/pod-cu >/dev/null
	put "$(pod_json pod-cu uid-cu blue)"
	reset_log
	shim ADD $ns cu <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "one GET" "$(count_reqs '^GET /api/v1/namespaces/ns1/pods/pod-cu 200$')" 1
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=0 pod:cache_after_wait=0 pod:live_unsynced=0 pod:live_not_cached=0 pod:live_uid_mismatch=1 nad:cache=1 nad:live=0"
	shim DEL $ns cu <"$WORK/nc.json"
	expect_clean $ns
	# the API says the same old UID: the ADD fails, naming both
	reset_log
	out=$(POD_UID=uid-kubelet shim ADD $ns cu <"$WORK/nc.json") && rc=0 || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "names both UIDs" "$(json_get "$out" 'j["msg"]')" 'expected pod UID "uid-kubelet" but got "uid-cu" from Kube API'
	expect_eq "one GET" "$(reqs)" "GET /api/v1/namespaces/ns1/pods/pod-cu 200"
	expect_eq "counted" "$(metric plexus_pod_lookups_total source=live_uid_mismatch)" 2
	POD_UID=uid-kubelet shim DEL $ns cu <"$WORK/nc.json"
	expect_clean $ns
}

# a NAD created while the caches' watches were silent: fetched live once, the miss counted
t_nad_not_cached_fetched_live_once() {
	local ns=${TAG}d gets
	netns_new $ns
	setup
	put "$(pod_json pod-cd uid-cd late)"
	cached_pods 1
	api POST /_standin/watch '{"stall":true}' >/dev/null
	put "$(nad_json late ${TAG}b2 10.243.0.0/16)"
	gets=$(metric plexus_api_requests_total verb=GET,status=200)
	reset_log
	shim ADD $ns cd <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.243.
	expect_eq "one GET, of the NAD" "$(reqs)" "GET /apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/late 200
PATCH /api/v1/namespaces/ns1/pods/pod-cd/status 200"
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=1 pod:cache_after_wait=0 pod:live_unsynced=0 pod:live_not_cached=0 pod:live_uid_mismatch=0 nad:cache=0 nad:live=1"
	expect_eq "the GET counted" "$(metric plexus_api_requests_total verb=GET,status=200)" $((gets + 1))
	shim DEL $ns cd <"$WORK/nc.json"
	expect_clean $ns
}

# the pods LIST fails: /readyz 500 until cacheSyncTimeoutSeconds, then ready with live GETs;
# once the LIST works the cache syncs and serves
t_readyz_waits_for_sync_then_timeout() {
	local ns=${TAG}r ns2=${TAG}s i
	netns_new $ns
	netns_new $ns2
	setup '"cacheSyncTimeoutSeconds": 3' no-start
	put "[$(pod_json pod-cr uid-cr blue),$(pod_json pod-cs uid-cs blue)]"
	api POST /_standin/faults '{"rules":["GET /api/v1/pods 503 x100000"]}' >/dev/null
	daemon_spawn
	for i in $(seq 1 20); do [ "$(http GET /healthz)" == 200 ] && break; sleep 0.05; done
	expect_eq "healthz" "$(http GET /healthz)" 200
	expect_eq "readyz while the pods cannot be listed" "$(http GET /readyz)" 500
	expect_eq "pods not synced" "$(metric plexus_cache_synced resource=pods)" 0
	wait_metric plexus_cache_synced resource=network-attachment-definitions 1
	expect_eq "readyz with one cache synced" "$(http GET /readyz)" 500
	expect_eq "not expired yet" "$(metric plexus_cache_sync_wait_expired)" 0
	daemon_ready 10
	expect_contains "said so" "$(cat "$WORK/plexusd.log")" "the pods cache has not synced after 3 s (cacheSyncTimeoutSeconds): ready anyway"
	expect_eq "expired" "$(metric plexus_cache_sync_wait_expired)" 1
	reset_log
	shim ADD $ns cr <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "one live GET" "$(count_reqs '^GET /api/v1/namespaces/ns1/pods/pod-cr 200$')" 1
	expect_eq "live_unsynced" "$(metric plexus_pod_lookups_total source=live_unsynced)" 1
	api POST /_standin/faults '{}' >/dev/null
	wait_metric plexus_cache_synced resource=pods 1 40
	cached_pods 2
	reset_log
	shim ADD $ns2 cs <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns2 net1 10.242.
	expect_eq "from the cache once synced" "$(count_reqs '^GET')" 0
	expect_eq "cache" "$(metric plexus_pod_lookups_total source=cache)" 1
	shim DEL $ns cr <"$WORK/nc.json"
	shim DEL $ns2 cs <"$WORK/nc.json"
	expect_clean $ns $ns2
}

t_node_name_required_with_api() {
	local out rc
	setup "" no-start
	out=$(env -u PLEXUS_NODE_NAME -u MULTUS_NODE_NAME timeout 20 "$PLEXUSD" --config "$WORK/daemon-config.json" 2>&1) && rc=0 || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "names PLEXUS_NODE_NAME" "$out" PLEXUS_NODE_NAME
	expect_contains "names MULTUS_NODE_NAME" "$out" MULTUS_NODE_NAME
	expect_eq "no request made" "$(json_get "$(api GET /_standin/requests)" 'len(j)')" 0
	# MULTUS_NODE_NAME alone is enough, and names the node watched
	env -u PLEXUS_NODE_NAME MULTUS_NODE_NAME=multus-$TAG "$PLEXUSD" --config "$WORK/daemon-config.json" 2>>"$WORK/plexusd.err" &
	DPID=$!
	cleanup_add "stop_gracefully $DPID"
	SOCK=$WORK/run/multus.sock
	daemon_ready 20
	out=$(api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys,urllib.parse
print(sorted(set(urllib.parse.parse_qs(r.get("query", "")).get("fieldSelector", ["-"])[0] for r in json.load(sys.stdin) if r["path"] == "/api/v1/pods")))')
	expect_eq "pods of that node" "$out" "['spec.nodeName=multus-$TAG']"
}

# churn: the pod deleted and created again under its name, with other networks
t_pod_recreated_gets_new_networks() {
	local ns=${TAG}a
	netns_new $ns
	setup
	put "$(nad_json green ${TAG}b2 10.243.0.0/16)"
	put "$(pod_json pod-ca uid-1 blue)"
	cached_pods 1
	POD_UID=uid-1 shim ADD $ns ca <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	POD_UID=uid-1 shim DEL $ns ca <"$WORK/nc.json"
	expect_clean $ns
	api DELETE /_standin/objects/pods/ns1/pod-ca >/dev/null
	put "$(pod_json pod-ca uid-2 green)"
	reset_log
	POD_NAME=pod-ca POD_UID=uid-2 shim ADD $ns ca2 <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.243.
	expect_eq "interfaces" "$(links_in $ns)" 2
	expect_eq "no GET" "$(count_reqs '^GET')" 0
	expect_eq "from the cache" "$(lookups | grep -oE 'pod:live[a-z_]*=[1-9]' || true)" ""
	POD_NAME=pod-ca POD_UID=uid-2 shim DEL $ns ca2 <"$WORK/nc.json"
	expect_clean $ns
}

# reserved DATADIR PREFIX: how many of blue's host-local reservations in DATADIR start with
# PREFIX
reserved() {
	ls "$1/blue" 2>/dev/null | grep -c "^$2" || true
}

# churn: a NAD changed between two ADDs; the first pod's DEL follows its own plan. The new
# version of blue keeps its host-local reservations in $WORK/ipam2: only a DEL run with the old
# plan (not with the NAD as the cache now has it) frees the first pod's 10.242 reservation in
# $WORK/ipam
t_nad_changed_between_two_adds() {
	local ns=${TAG}b ns2=${TAG}c peer
	netns_new $ns
	netns_new $ns2
	setup
	put "[$(pod_json pod-cb1 uid-cb1 blue),$(pod_json pod-cb2 uid-cb2 blue)]"
	cached_pods 2
	shim ADD $ns cb1 <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "the first pod's reservation in \$WORK/ipam" "$(reserved "$WORK/ipam" '10\.242\.')" 1
	# blue now on another bridge and subnet, with its reservations in another dataDir
	put "$(nad_json blue ${TAG}b2 10.243.0.0/16 "$WORK/ipam2")"
	sleep 1 # the watch event's way to the cache (milliseconds)
	reset_log
	shim ADD $ns2 cb2 <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns2 net1 10.243.
	# net1's host-side peer (its link index) is a port of the new bridge
	peer=$(json_get "$(ip -n $ns2 -j link show net1)" 'j[0]["link_index"]')
	expect_eq "net1's peer on the new bridge" \
		"$(json_get "$(ip -j link show)" "[l.get('master') for l in j if l['ifindex'] == $peer]")" "[\"${TAG}b2\"]"
	expect_eq "new bridge's port" "$(ip -o link show master ${TAG}b2 | wc -l)" 1
	expect_eq "the second pod's reservation in \$WORK/ipam2" "$(reserved "$WORK/ipam2" '10\.243\.')" 1
	expect_eq "no GET" "$(count_reqs '^GET')" 0
	reset_log
	shim DEL $ns cb1 <"$WORK/nc.json"
	expect_eq "old bridge emptied" "$(ip -o link show master ${TAG}b1 | wc -l)" 0
	expect_eq "no request for DEL" "$(count_reqs .)" 0
	expect_eq "interfaces left in $ns" "$(links_in $ns)" 0
	expect_eq "the first pod's reservation in \$WORK/ipam after its DEL (left: the DEL did not follow its own plan)" \
		"$(reserved "$WORK/ipam" '10\.242\.')" 0
	expect_eq "the second pod's reservation untouched" "$(reserved "$WORK/ipam2" '10\.243\.')" 1
	shim DEL $ns2 cb2 <"$WORK/nc.json"
	expect_clean $ns $ns2
	expect_eq "the second pod's reservation in \$WORK/ipam2 after its DEL" "$(reserved "$WORK/ipam2" '10\.243\.')" 0
}

# churn: the API server "restarts": every watch reset, refused for a moment, then watched again
t_api_server_restart_rewatched() {
	local ns=${TAG}e
	netns_new $ns
	setup
	streams 2
	api POST /_standin/faults '{"rules":["GET /api/v1/pods 503 x2","GET /apis/k8s.cni.cncf.io/v1/network-attachment-definitions 503 x2"]}' >/dev/null
	api POST /_standin/watch '{"drop":true}' >/dev/null
	wait_metric plexus_watch_restarts_total resource=pods,reason=dropped 1
	wait_metric plexus_watch_restarts_total resource=network-attachment-definitions,reason=dropped 1
	streams 2
	put "$(pod_json pod-ce uid-ce blue)"
	cached_pods 1
	reset_log
	shim ADD $ns ce <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "no GET" "$(count_reqs '^GET')" 0
	expect_eq "from the cache" "$(metric plexus_pod_lookups_total source=cache)" 1
	shim DEL $ns ce <"$WORK/nc.json"
	expect_clean $ns
}

# churn: a watch that goes silent (no events, no bookmarks) is restarted by its deadline
t_stalled_watch_restarted() {
	local ns=${TAG}f
	netns_new $ns
	setup '"watchStallSeconds": 2'
	streams 2
	api POST /_standin/watch '{"stall":true}' >/dev/null
	wait_metric plexus_watch_restarts_total resource=pods,reason=stalled 1 15
	put "$(pod_json pod-cf uid-cf blue)"
	cached_pods 1
	reset_log
	shim ADD $ns cf <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	attached $ns net1 10.242.
	expect_eq "no GET" "$(count_reqs '^GET')" 0
	expect_eq "from the cache" "$(metric plexus_pod_lookups_total source=cache)" 1
	shim DEL $ns cf <"$WORK/nc.json"
	expect_clean $ns
}

# churn: plexusd restarted with pods running, its pods LIST refused for a while: the shim's ADD
# is answered 503, waits for /readyz (which waits for the sync) and is then served from the
# rebuilt cache; a request straight to the socket before the sync is refused the same way (code
# 11, try again), not served by a live GET per pod, the load a node's reboot would put on the
# API; no ADD is ever served from the empty cache as if the pod had no networks
t_daemon_restart_rebuilds_caches() {
	local ns1=${TAG}g ns2=${TAG}h ns3=${TAG}i ns4=${TAG}j rc shim_pid
	netns_new $ns1
	netns_new $ns2
	netns_new $ns3
	netns_new $ns4
	setup
	put "[$(pod_json pod-g uid-g blue),$(pod_json pod-h uid-h blue),$(pod_json pod-i uid-i blue),$(pod_json pod-j uid-j blue)]"
	cached_pods 4
	shim ADD $ns1 g <"$WORK/nc.json" >"$WORK/out" || fail "ADD: $(cat "$WORK/out")"
	kill -TERM $DPID
	wait $DPID && rc=0 || rc=$?
	expect_eq "exit status" "$rc" 0
	api POST /_standin/faults '{"rules":["GET /api/v1/pods 503 x100000"]}' >/dev/null
	daemon_spawn
	for _ in $(seq 1 100); do [ "$(http GET /healthz)" == 200 ] && break; sleep 0.05; done
	expect_eq "not ready" "$(http GET /readyz)" 500
	reset_log
	shim ADD $ns2 h <"$WORK/nc.json" >"$WORK/out.h" &
	shim_pid=$!
	expect_eq "ADD straight to the socket before the sync" "$(cni ADD $ns4 j <"$WORK/nc.json")" 503
	expect_eq "answered try again" "$(json_get "$(cat "$WORK/reply")" 'j["code"]')" 11
	expect_contains "saying why" "$(json_get "$(cat "$WORK/reply")" 'j["msg"]')" "plexusd is not ready"
	expect_eq "nothing attached" "$(links_in $ns4)" 0
	expect_eq "no live GET" "$(count_reqs '^GET /api/v1/namespaces/ns1/pods/pod-j')" 0
	expect_eq "live_unsynced" "$(metric plexus_pod_lookups_total source=live_unsynced)" 0
	sleep 0.5
	kill -0 $shim_pid 2>/dev/null || fail "the shim's ADD did not wait for the sync: $(cat "$WORK/out.h")"
	expect_eq "nothing attached while waiting" "$(links_in $ns2)" 0
	api POST /_standin/faults '{}' >/dev/null
	wait $shim_pid || fail "the shim's ADD: $(cat "$WORK/out.h")"
	attached $ns2 net1 10.242.
	expect_eq "rebuilt" "$(metric plexus_cache_objects resource=pods)" 4
	expect_eq "ready" "$(http GET /readyz)" 200
	expect_eq "ADD straight to the socket once ready" "$(cni ADD $ns4 j <"$WORK/nc.json")" 200
	attached $ns4 net1 10.242.
	shim ADD $ns3 i <"$WORK/nc.json" >"$WORK/out" || fail "ADD after the sync: $(cat "$WORK/out")"
	attached $ns3 net1 10.242.
	expect_eq "no GET: every pod from the cache" "$(count_reqs '^GET')" 0
	expect_eq "lookups" "$(lookups)" \
		"pod:cache=3 pod:cache_after_wait=0 pod:live_unsynced=0 pod:live_not_cached=0 pod:live_uid_mismatch=0 nad:cache=3 nad:live=0"
	reset_log
	shim DEL $ns1 g <"$WORK/nc.json"
	shim DEL $ns2 h <"$WORK/nc.json"
	shim DEL $ns3 i <"$WORK/nc.json"
	shim DEL $ns4 j <"$WORK/nc.json"
	expect_eq "no request for the DELs" "$(count_reqs .)" 0
	expect_clean $ns1 $ns2 $ns3 $ns4
}

run_tests

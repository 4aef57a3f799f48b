#!/usr/bin/env bash
# test/integration/watch.sh: the kube-apiserver STAND-IN's LIST and WATCH (test/stand-ins/
# apiserver.py) against real clients, the oracles that it speaks the protocol plexusd's reflector
# (k8s/reflector.c) is tested on: Debian's kubectl (get, -A, -n, --field-selector, --chunk-size,
# -w --output-watch-events) and python3-kubernetes (list with limit/continue, Watch().stream
# with bookmarks, 410 Gone on a compacted resourceVersion and on an expired continue token).
# KUBECTL=path picks another kubectl.
. "$(dirname "$0")/../lib.sh"

KUBECTL=${KUBECTL:-kubectl}

pod_json() { # NS NAME NODE [NETWORKS]
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":{"app":"w"},"annotations":{"k8s.v1.cni.cncf.io/networks":"%s"}},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"busybox"}]}}' \
		"$2" "$1" "${4:-}" "$3"
}

setup() {
	apiserver_start '{"tokens":{"tok":"plexus"},"watch":{"bookmark_ms":300},"pods":[],"nads":[]}'
	api POST /_standin/objects "[$(pod_json ns1 a n1),$(pod_json ns1 b n2),$(pod_json ns2 c n1),$(pod_json ns2 d n1),$(pod_json ns2 e n2)]" >/dev/null
	api POST /_standin/objects '{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition","metadata":{"name":"blue","namespace":"ns1"},"spec":{"config":"{\"cniVersion\":\"1.0.0\",\"type\":\"bridge\"}"}}' >/dev/null
	export HOME=$WORK/home # kubectl's discovery cache
	mkdir -p "$HOME"
}

kubectl_ready() {
	command -v "$KUBECTL" >/dev/null || { skip "no kubectl (Debian's kubernetes-client)"; return 77; }
}

# k ARGS...: kubectl on the stand-in; `(EXEC=exec k ... -w) &` makes $! kubectl itself (see
# EXEC in test/lib.sh)
k() { ${EXEC:-} "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --request-timeout=20s "$@"; }

# list_requests: the LIST and WATCH requests the stand-in saw, one "path?query" a line
list_requests() {
	api GET /_standin/requests | /usr/bin/python3 -c 'import json,sys
for r in json.load(sys.stdin):
    if "query" in r: print(r["path"] + "?" + r["query"])'
}

# wait_for FILE TEXT: up to 20 s for TEXT to show up in FILE
wait_for() {
	local i
	for i in $(seq 1 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no [$2] in $1 after 20 s: $(cat "$1")"
}

t_kubectl_lists_pods_in_all_and_one_namespace() {
	kubectl_ready || return
	setup
	expect_eq "get pods -A" "$(k get pods -A -o name | sort | tr '\n' ' ')" "pod/a pod/b pod/c pod/d pod/e "
	expect_eq "get pods -n ns2" "$(k get pods -n ns2 -o name | tr '\n' ' ')" "pod/c pod/d pod/e "
	expect_eq "get net-attach-def -A" "$(k get net-attach-def -A -o name)" "networkattachmentdefinition.k8s.cni.cncf.io/blue"
	expect_contains "default table" "$(k get pods -n ns1)" "NAME"
}

t_kubectl_field_and_label_selectors() {
	kubectl_ready || return
	setup
	expect_eq "spec.nodeName=n1" "$(k get pods -A --field-selector spec.nodeName=n1 -o name | tr '\n' ' ')" "pod/a pod/c pod/d "
	expect_eq "spec.nodeName!=n1,metadata.namespace=ns2" \
		"$(k get pods -A --field-selector 'spec.nodeName!=n1,metadata.namespace=ns2' -o name | tr '\n' ' ')" "pod/e "
	expect_eq "label app=w" "$(k get pods -n ns1 -l app=w -o name | tr '\n' ' ')" "pod/a pod/b "
	expect_eq "label app!=w" "$(k get pods -n ns1 -l 'app!=w' -o name)" ""
	expect_contains "unknown field" "$(k get pods -A --field-selector spec.bogus=x 2>&1 || true)" '"spec.bogus" is not a known field selector'
}

t_kubectl_chunk_size_paginates() {
	kubectl_ready || return
	setup
	api POST /_standin/reset-log >/dev/null
	expect_eq "get pods -A --chunk-size=2" "$(k get pods -A --chunk-size=2 -o name | sort | tr '\n' ' ')" "pod/a pod/b pod/c pod/d pod/e "
	reqs=$(list_requests | grep '^/api/v1/pods?')
	expect_eq "pages" "$(grep -c 'limit=2' <<<"$reqs")" 3
	expect_eq "pages with a continue token" "$(grep -c 'continue=' <<<"$reqs")" 2
}

# watch_events FILE: what `kubectl get -w --output-watch-events -o json` printed, one
# "TYPE ns/name networks-annotation" per event, joined by ";"
watch_events() {
	/usr/bin/python3 -c 'import json,sys
d, s, out, i = json.JSONDecoder(), open(sys.argv[1]).read(), [], 0
while i < len(s):
    if s[i].isspace():
        i += 1
        continue
    o, i = d.raw_decode(s, i)
    m = o["object"]["metadata"]
    nets = m.get("annotations", {}).get("k8s.v1.cni.cncf.io/networks", "")
    out.append("%s %s/%s %s" % (o["type"], m["namespace"], m["name"], nets))
print(";".join(out))' "$1"
}

t_kubectl_watch_sees_add_update_delete() {
	kubectl_ready || return
	setup
	(EXEC=exec k get pods -A -w --output-watch-events -o json >"$WORK/w.json" 2>"$WORK/w.err") &
	local kpid=$!
	cleanup_add "kill $kpid"
	wait_for "$WORK/w.json" '"name": *"e"'
	api POST /_standin/objects "$(pod_json ns1 new n1 net-x)" >/dev/null
	wait_for "$WORK/w.json" '"name": *"new"'
	api POST /_standin/objects "$(pod_json ns1 new n1 net-y)" >/dev/null
	api DELETE /_standin/objects/pods/ns1/new >/dev/null
	wait_for "$WORK/w.json" '"DELETED"'
	# kubectl itself ($! is kubectl: see k), gone before w.json is read
	kill $kpid
	wait $kpid || true
	expect_eq "events" "$(watch_events "$WORK/w.json")" "ADDED ns1/a ;ADDED ns1/b ;ADDED ns2/c ;ADDED ns2/d ;ADDED ns2/e ;ADDED ns1/new net-x;MODIFIED ns1/new net-y;DELETED ns1/new net-y"
	# kubectl listed (resourceVersion 1005: six objects from 1000), then watched from there
	reqs=$(list_requests)
	expect_contains "watch request" "$reqs" "/api/v1/pods?resourceVersion=1005&"
	expect_contains "watch request" "$reqs" "watch=true"
}

t_kubectl_watch_with_field_selector_sees_pods_move_in_and_out() {
	kubectl_ready || return
	setup
	(EXEC=exec k get pods -n ns1 -w --output-watch-events --field-selector spec.nodeName=n9 -o json >"$WORK/w.json" 2>"$WORK/w.err") &
	local kpid=$!
	cleanup_add "kill $kpid"
	sleep 1
	api POST /_standin/objects "$(pod_json ns1 mover n9)" >/dev/null
	api POST /_standin/objects "$(pod_json ns1 mover n8)" >/dev/null
	api POST /_standin/objects "$(pod_json ns1 other n8)" >/dev/null
	api DELETE /_standin/objects/pods/ns1/other >/dev/null
	api POST /_standin/objects "$(pod_json ns1 last n9)" >/dev/null
	wait_for "$WORK/w.json" '"name": *"last"'
	kill $kpid
	wait $kpid || true
	# a pod that leaves the selection is DELETED for this watch, as kube-apiserver does
	expect_eq "events" "$(watch_events "$WORK/w.json")" "ADDED ns1/mover ;DELETED ns1/mover ;ADDED ns1/last "
}

# py SCRIPT: runs SCRIPT with python3-kubernetes, configured from the kubeconfig, with
# ctl(method, path, body) calling the stand-in's control endpoints
py() {
	/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || { skip "no python3-kubernetes"; return 77; }
	/usr/bin/python3 - "$WORK/kubeconfig" "$API" "$WORK/api/ca.crt" <<EOF2
import json, ssl, sys, threading, time, urllib.request
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
custom = client.CustomObjectsApi()
ctx = ssl.create_default_context(cafile=sys.argv[3])
def ctl(method, path, body=None):
    req = urllib.request.Request(sys.argv[2] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    return json.load(urllib.request.urlopen(req, context=ctx))
def pod(ns, name, node, nets=""):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns,
            "annotations": {"k8s.v1.cni.cncf.io/networks": nets}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}}
$1
EOF2
}

t_python_client_paginates_with_limit_and_continue() {
	setup
	out=$(py '
names, cont, pages, rvs = [], None, 0, set()
while True:
    l = v1.list_pod_for_all_namespaces(limit=2, _continue=cont)
    names += [p.metadata.name for p in l.items]
    pages += 1
    rvs.add(l.metadata.resource_version)
    cont = l.metadata._continue
    if not cont:
        break
print(pages, " ".join(names), len(rvs))
n = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=n2")
print(" ".join(p.metadata.name for p in n.items))
') || return
	expect_eq "pages, names, one resourceVersion for the whole list" "$(sed -n 1p <<<"$out")" "3 a b c d e 1"
	expect_eq "field selector" "$(sed -n 2p <<<"$out")" "b e"
}

t_python_client_watch_stream_events_and_bookmarks() {
	setup
	out=$(py '
l = v1.list_namespaced_pod("ns1")
rv = l.metadata.resource_version
churned, newest = threading.Event(), []
def churn():
    time.sleep(0.5)
    ctl("POST", "/_standin/objects", pod("ns1", "w1", "n1", "x"))
    ctl("POST", "/_standin/objects", pod("ns1", "w1", "n1", "y"))
    ctl("DELETE", "/_standin/objects/pods/ns1/w1")
    ctl("POST", "/_standin/objects", pod("ns2", "elsewhere", "n1"))
    newest.append(ctl("GET", "/_standin/watch")["resourceVersion"])
    churned.set()
threading.Thread(target=churn).start()
# a bookmark sent while the churn still ran carries an older version: the stand-in sends one a
# second, so wait for one sent after it (the stream ends after 10 s without it)
w, seen, newest_bookmarked = watch.Watch(), [], False
for e in w.stream(v1.list_namespaced_pod, "ns1", resource_version=rv,
                  allow_watch_bookmarks=True, timeout_seconds=10):
    if e["type"] == "BOOKMARK":
        if churned.is_set() and int(e["raw_object"]["metadata"]["resourceVersion"]) == newest[0]:
            newest_bookmarked = True
            break
        continue
    seen.append("%s %s %s" % (e["type"], e["object"].metadata.name,
                e["object"].metadata.annotations["k8s.v1.cni.cncf.io/networks"]))
w.stop()
print(";".join(seen))
print(newest_bookmarked)
') || return
	expect_eq "events" "$(sed -n 1p <<<"$out")" "ADDED w1 x;MODIFIED w1 y;DELETED w1 y"
	expect_eq "the last bookmark carries the newest resourceVersion" "$(sed -n 2p <<<"$out")" "True"
}

t_python_client_gets_410_for_a_compacted_resource_version() {
	setup
	out=$(py '
rv = v1.list_namespaced_pod("ns1").metadata.resource_version
ctl("POST", "/_standin/objects", pod("ns1", "x", "n1"))
ctl("POST", "/_standin/watch", {"compact": True})
try:
    for e in watch.Watch().stream(v1.list_namespaced_pod, "ns1", resource_version=rv,
                                  timeout_seconds=5):
        print("unexpected", e["type"])
except ApiException as e:
    print(e.status, e.reason)
l = v1.list_namespaced_pod("ns1", limit=1)
ctl("POST", "/_standin/watch", {"compact": True})
try:
    v1.list_namespaced_pod("ns1", limit=1, _continue=l.metadata._continue)
    print("unexpected page")
except ApiException as e:
    print(e.status, json.loads(e.body)["reason"])
') || return
	expect_contains "watch from a compacted version" "$(sed -n 1p <<<"$out")" "410 Expired: too old resource version"
	expect_eq "expired continue token" "$(sed -n 2p <<<"$out")" "410 Expired"
}

t_python_client_watch_nads_and_dropped_streams() {
	setup
	out=$(py '
def later():
    time.sleep(0.5)
    ctl("POST", "/_standin/watch", {"drop": True})
threading.Thread(target=later).start()
w, types = watch.Watch(), []
try:
    for e in w.stream(custom.list_cluster_custom_object, "k8s.cni.cncf.io", "v1",
                      "network-attachment-definitions", timeout_seconds=10):
        types.append(e["type"] + " " + e["object"]["metadata"]["name"])
    print("ended without an error")
except Exception as e:
    print(";".join(types), "|", type(e).__name__)
') || return
	expect_contains "the initial state, then a reset" "$out" "ADDED blue |"
	expect_not_contains "the reset is seen as an error" "$out" "ended without"
}

run_tests

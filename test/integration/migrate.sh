#!/usr/bin/env bash
# test/integration/migrate.sh: migration from Multus and rollback to it, on real plugins in real
# network namespaces. Multus's side is what Multus 4.2.2 wrote (test/fixtures/multus/), with its
# ADD reproduced through the real libcni (build/libcni-driver, `make noop`), and Multus's DEL
# played by a reader of its documented cache layout driving the same libcni.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/test/stand-ins/apiserver.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
LIBCNI=$BUILD/libcni-driver
FIXTURES=$ROOT/test/fixtures/multus
CID=0a1b2c3d4e5f

# Multus's side, in Python over Multus's documented fields (never plexus's parser):
#   adapt FIXTURE CACHE-OUT DIR SUBST-JSON IFNAME: the fixture's cache with node-specific strings
#     replaced (bridge names, macvlan master) and host-local's dataDir pointed at $WORK/ipam,
#     written compact as Multus writes it; DIR/<idx>.conflist + DIR/<idx>.ifname for each
#     delegate (what Multus's ADD ran, a conf wrapped as a one-plugin list for libcni-driver)
#   plan CACHE DIR IFNAME: Multus's DEL from its cache (pkg/multus/multus.go CmdDel): delegates
#     in reverse, interface by getIfname (ifnameRequest; the first is the master: CNI_IFNAME;
#     else net<idx>), conflists told by a non-empty ConfList.plugins; prints "idx ifname" lines
MULTUS_PY='
import base64, json, os, sys
cmd = sys.argv[1]

def ifname(d, idx, arg):
    if d.get("ifnameRequest"):
        return d["ifnameRequest"]
    return arg if idx == 0 else "net%d" % idx

def as_list(d, conf):
    if d.get("ConfList", {}).get("plugins"):
        return conf
    return {"cniVersion": conf.get("cniVersion", ""), "name": conf["name"], "plugins": [conf]}

def emit(delegates, out, arg):
    for idx, d in enumerate(delegates):
        conf = json.loads(base64.b64decode(d["Bytes"]))
        with open(os.path.join(out, "%d.conflist" % idx), "w") as f:
            json.dump(as_list(d, conf), f)
        with open(os.path.join(out, "%d.ifname" % idx), "w") as f:
            f.write(ifname(d, idx, arg))

if cmd == "adapt":
    fixture, cache, out, subst, arg = sys.argv[2:7]
    subst = json.loads(subst)
    delegates = json.load(open(fixture))
    for d in delegates:
        raw = base64.b64decode(d["Bytes"]).decode()
        for k, v in subst.items():
            raw = raw.replace(k, v)
        conf = json.loads(raw)
        for p in conf.get("plugins", [conf]):
            if p.get("ipam", {}).get("type") == "host-local":
                p["ipam"]["dataDir"] = os.environ["WORK"] + "/ipam"
        d["Bytes"] = base64.b64encode(json.dumps(conf).encode()).decode()
    os.makedirs(os.path.dirname(cache), mode=0o700, exist_ok=True)
    with open(cache, "w") as f:
        json.dump(delegates, f, separators=(",", ":"))
    emit(delegates, out, arg)
elif cmd == "plan":
    cache, out, arg = sys.argv[2:5]
    delegates = json.load(open(cache))
    assert isinstance(delegates, list) and delegates, "not a Multus cache"
    for d in delegates:
        for k in ("Conf", "ConfList", "Name", "Bytes", "IsFilterV4Gateway", "IsFilterV6Gateway"):
            assert k in d, "delegate lacks %s: %s" % (k, d)
    emit(delegates, out, arg)
    for idx in reversed(range(len(delegates))):
        print(idx, ifname(delegates[idx], idx, arg))
'
multus_py() { WORK=$WORK /usr/bin/python3 -c "$MULTUS_PY" "$@"; }

K8S_ARGS="IgnoreUnknown=true;K8S_POD_NAMESPACE=mig;K8S_POD_NAME=pod1;K8S_POD_INFRA_CONTAINER_ID=$CID;K8S_POD_UID=uid-1"

# libcni VERB DIR IDX NETNS: one delegate of DIR through the real libcni, as Multus runs it
libcni() {
	CNI_PATH=$PLUGINS CNI_IFNAME=$(cat "$2/$3.ifname") CNI_CONTAINERID=$CID CNI_ARGS=$K8S_ARGS \
	CACHE_DIR=$WORK/cni "$LIBCNI" "$1" "$2/$3.conflist" "$4" >/dev/null
}

# multus_add FIXTURE NETNS SUBST-JSON: the attachments Multus made for the fixture, and its cache
multus_add() {
	local dir=$WORK/multus-add n
	mkdir -p "$dir"
	multus_py adapt "$1" "$WORK/cni/$CID" "$dir" "$3" eth0
	n=$(ls "$dir"/*.conflist | wc -l)
	for ((i = 0; i < n; i++)); do libcni add "$dir" $i "/run/netns/$2"; done
}

# multus_del NETNS: Multus's DEL of the container from its cache, then the cache removed
multus_del() {
	local dir=$WORK/multus-del idx ifn
	mkdir -p "$dir"
	multus_py plan "$WORK/cni/$CID" "$dir" eth0 >"$dir/order"
	while read -r idx ifn; do libcni del "$dir" "$idx" "/run/netns/$1"; done <"$dir/order"
	rm "$WORK/cni/$CID"
}

plexus() { # VERB NETNS
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=$CID CNI_IFNAME=eth0 CNI_PATH=$PLUGINS \
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=mig;K8S_POD_NAME=pod1;K8S_POD_INFRA_CONTAINER_ID=$CID;K8S_POD_UID=uid-1" \
	kept $MEMCHECK "$PLEXUS"
}

# the fixture's netconf with only "type" changed, and what is node-specific adapted
fixture_netconf() { # SUBST-JSON [EXTRA-KEYS]
	WORK=$WORK /usr/bin/python3 -c 'import json,sys,os
n=json.load(open(sys.argv[1])); s=json.loads(sys.argv[2]); w=os.environ["WORK"]
n["type"]="plexus"; n["cniDir"]=w+"/cni"; n["binDir"]=w+"/bin"
t=json.dumps(n)
for k,v in s.items(): t=t.replace(k,v)
n=json.loads(t)
for d in n["delegates"]:
    for p in d.get("plugins",[d]):
        if p.get("ipam",{}).get("type")=="host-local": p["ipam"]["dataDir"]=w+"/ipam"
n.update(json.loads("{"+sys.argv[3]+"}"))
print(json.dumps(n))' "$FIXTURES/multus-4.2.2-netconf.json" "$1" "${2:-}"
}

# nothing of the container left in DIR (default: every cache under cniDir), nor in the netns and
# the IPAM store
expect_clean() { # NETNS [DIR]
	local left
	left=$(ip -n "$1" -o link show | grep -v ': lo:' || true)
	[ -z "$left" ] || fail "interfaces left in $1: $left"
	left=$(find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null || true)
	[ -z "$left" ] || fail "IP reservations left: $left"
	left=$(find "${2:-$WORK/cni}" -type f 2>/dev/null || true)
	[ -z "$left" ] || fail "cache files left: $left"
}

# the fixture's netconf, its bridges renamed for this run
fixture_nc() { # [EXTRA-KEYS]
	fixture_netconf "{\"fxbr0\":\"${TAG}f0\",\"fxbr1\":\"${TAG}f1\"}" "${1:-}"
}

# the API stand-in serving FIXTURE-FILE, and $WORK/kubeconfig to reach it
api_start() { # FIXTURE-FILE
	standin_start "$WORK/api" "$1" 300
	cleanup_add "kill $API_PID"
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: {server: "%s", certificate-authority: %s}\nusers:\n- name: u\n  user: {token: secret-token-1234}\n' "$API" "$WORK/api/ca.crt" >"$WORK/kubeconfig"
}

need_libcni() {
	[ -x "$LIBCNI" ] || skip "build/libcni-driver missing: run make noop"
}

setup() {
	mkdir -p "$WORK/bin" "$WORK/ipam" "$WORK/cni"
	cleanup_add "ip link del ${TAG}f0; ip link del ${TAG}f1; ip link del ${TAG}c; ip link del ${TAG}n"
	ip link add ${TAG}m0 type veth peer name ${TAG}m1
	cleanup_add "ip link del ${TAG}m0"
	ip link set ${TAG}m0 up
	ip link set ${TAG}m1 up
}

# api_with_pod: the API stand-in with pod mig/pod1 (networks mig-br, and mig-mv on ext1) and
# its two NADs, and $WORK/kubeconfig to reach it
api_with_pod() {
	{
		echo '{"tokens":{"secret-token-1234":"system:serviceaccount:kube-system:plexus"},"pods":['
		echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod1\",\"namespace\":\"mig\",\"uid\":\"uid-1\",\"annotations\":{\"k8s.v1.cni.cncf.io/networks\":\"[{\\\"name\\\":\\\"mig-br\\\"},{\\\"name\\\":\\\"mig-mv\\\",\\\"interface\\\":\\\"ext1\\\"}]\"}},\"spec\":{\"nodeName\":\"n1\"}}"
		echo '],"nads":['
		nad mig mig-br "{\"cniVersion\":\"1.0.0\",\"name\":\"mig-br\",\"plugins\":[{\"type\":\"bridge\",\"bridge\":\"${TAG}n\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"subnet\":\"10.169.172.0/24\"}},{\"type\":\"tuning\",\"mtu\":1400}]}"
		echo ,
		nad mig mig-mv "{\"cniVersion\":\"1.0.0\",\"name\":\"mig-mv\",\"type\":\"macvlan\",\"master\":\"${TAG}m0\",\"mode\":\"bridge\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"subnet\":\"10.183.134.0/24\"}}"
		echo ']}'
	} >"$WORK/fixture.json"
	api_start "$WORK/fixture.json"
}

t_pod_multus_attached_is_deleted_by_plexus_without_api() {
	local ns=${TAG}a subst
	need_libcni
	setup
	netns_new $ns
	subst="{\"fxbr0\":\"${TAG}f0\",\"fxbr1\":\"${TAG}f1\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache.json" $ns "$subst"
	expect_eq "interfaces Multus made" "$(links_in $ns)" 2
	ip -n $ns -o link show net1 | grep -q 'mtu 1400' || fail "tuning did not run on net1"
	[ -f "$WORK/cni/results/cluster-$CID-eth0" ] || fail "no libcni result cache for eth0"
	[ -f "$WORK/cni/results/tenant-net-$CID-net1" ] || fail "no libcni result cache for net1"
	expect_eq "reservations" "$(find "$WORK/ipam" -type f -name '10.252.*' | wc -l)" 2
	# bin/plexus replaces Multus: the netconf with type changed, and edited since the ADD (the
	# second network renamed); no API at all
	fixture_netconf "${subst%\}},\"tenant-net\":\"tenant-new\"}" | plexus DEL $ns
	expect_clean $ns
}

t_pod_and_nads_gone_from_the_api_multus_cache_still_deletes_every_network() {
	local ns=${TAG}b subst
	need_libcni
	setup
	netns_new $ns
	subst="{\"ac9e952c\":\"${TAG}c\",\"ac9e952n\":\"${TAG}n\",\"ac9e952m0\":\"${TAG}m0\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache-annotations.json" $ns "$subst"
	ip -n $ns link show ext1 >/dev/null || fail "no ext1 (the annotation's interface request)"
	expect_eq "interfaces Multus made" "$(links_in $ns)" 3
	# the API knows neither the pod nor its NADs any more
	echo '{"tokens":{"secret-token-1234":"system:serviceaccount:kube-system:plexus"},"pods":[],"nads":[]}' >"$WORK/fixture.json"
	api_start "$WORK/fixture.json"
	fixture_netconf "{\"fxbr0\":\"${TAG}c\",\"fxbr1\":\"${TAG}n\"}" \
		"\"kubeconfig\":\"$WORK/kubeconfig\"" | plexus DEL $ns
	expect_clean $ns
}

t_rollback_multus_deletes_a_pod_plexus_attached() {
	local ns=${TAG}c nc pod plan
	need_libcni
	setup
	netns_new $ns
	api_with_pod
	nc=$(fixture_nc "\"kubeconfig\":\"$WORK/kubeconfig\"")
	printf '%s' "$nc" | plexus ADD $ns >/dev/null
	expect_eq "interfaces plexus made" "$(links_in $ns)" 4
	[ -f "$WORK/cni/$CID" ] || fail "plexus wrote no Multus cache"
	plan=$WORK/cni/plexus/$CID
	[ -f "$plan" ] || fail "no plexus plan"
	# rollback: Multus is back on the node; its DEL knows only its own cache
	multus_del $ns
	expect_clean $ns "$WORK/cni/results"
	# plexus's own plan outlives the rollback; a plexus back on the node deletes idempotently
	[ -f "$plan" ] || fail "the plexus plan should stay (Multus does not know it)"
	printf '%s' "$nc" | plexus DEL $ns
	expect_clean $ns
}

t_multus_cache_is_written_before_the_first_delegate_and_removed_by_del() {
	local ns=${TAG}d nc out
	setup
	netns_new $ns
	# the first delegate is a plugin that keeps what it finds at Multus's cache path when it
	# is called, then fails: the cache must already be there, whole, when delegate 0 runs.
	# The rollback leaves both caches for the runtime's DEL.
	cat >"$WORK/bin/probe" <<EOF2
#!/bin/sh
cat >/dev/null
echo "\$CNI_COMMAND" >>"$WORK/probe.calls"
if [ "\$CNI_COMMAND" = ADD ]; then
	cp "$WORK/cni/$CID" "$WORK/probe.seen" 2>/dev/null || : >"$WORK/probe.nocache"
	echo '{"cniVersion":"1.0.0","code":100,"msg":"probe fails"}'
	exit 1
fi
exit 0
EOF2
	chmod +x "$WORK/bin/probe"
	nc=$(fixture_netconf "{\"\\\"type\\\": \\\"bridge\\\", \\\"bridge\\\": \\\"fxbr0\\\"\":\"\\\"type\\\": \\\"probe\\\", \\\"bridge\\\": \\\"${TAG}f0\\\"\",\"fxbr1\":\"${TAG}f1\"}")
	expect_contains "the first delegate is the probe" "$(json_get "$nc" 'j["delegates"][0]["type"]')" probe
	out=$(printf '%s' "$nc" | plexus ADD $ns) && fail "ADD succeeded: $out"
	expect_contains "the first delegate failed the ADD" "$out" 'network \"cluster\"'
	expect_eq "the probe's calls (its ADD, then the rollback's DEL)" "$(tr '\n' ' ' <"$WORK/probe.calls" 2>/dev/null)" "ADD DEL "
	[ ! -e "$WORK/probe.nocache" ] || fail "no Multus cache at $WORK/cni/$CID when the first delegate ran"
	[ -f "$WORK/probe.seen" ] || fail "the first delegate never ran"
	# what the first delegate saw is Multus's layout, both delegates in it (Multus's DEL order)
	mkdir -p "$WORK/seen"
	expect_eq "Multus's DEL plan of the cache the first delegate saw" \
		"$(multus_py plan "$WORK/probe.seen" "$WORK/seen" eth0 | tr '\n' ' ')" "1 net1 0 eth0 "
	[ -f "$WORK/cni/$CID" ] || fail "no Multus cache after a failed ADD"
	[ -f "$WORK/cni/plexus/$CID" ] || fail "no plexus plan after a failed ADD"
	printf '%s' "$nc" | plexus DEL $ns
	expect_clean $ns
}

t_added_interface_events_in_thin_mode_only_when_asked() {
	local ns=${TAG}e nc out
	setup
	netns_new $ns
	api_with_pod
	nc=$(fixture_nc "\"kubeconfig\":\"$WORK/kubeconfig\"")
	# off by default: a thin ADD makes no event
	printf '%s' "$nc" | plexus ADD $ns >/dev/null
	out=$(api GET /_standin/objects/events/mig)
	expect_not_contains "events by default" "$out" AddedInterface
	printf '%s' "$nc" | plexus DEL $ns
	# asked for: one per attachment (host-local hands out the next addresses, .3)
	nc=$(fixture_nc "\"kubeconfig\":\"$WORK/kubeconfig\",\"addedInterfaceEvents\":true")
	printf '%s' "$nc" | plexus ADD $ns >/dev/null
	out=$(api GET /_standin/objects/events/mig)
	expect_eq "AddedInterface events" "$(json_get "$out" 'sorted(e["message"] for e in j if e["reason"]=="AddedInterface")')" \
		'["Add eth0 [10.252.0.3/24] from cluster", "Add ext1 [10.183.134.3/24] from mig/mig-mv", "Add net1 [10.252.1.3/24] from tenant-net", "Add net2 [10.169.172.3/24] from mig/mig-br"]'
	expect_eq "event type" "$(json_get "$out" 'sorted(set(e["type"] for e in j))')" '["Normal"]'
	printf '%s' "$nc" | plexus DEL $ns
	expect_clean $ns
}

# Multus's auxiliary chain: the .conf files of <dir(clusterNetwork)>/<chain>/ after a passthru,
# one extra attachment after all others (net<idx>), deleted with the rest
t_auxiliary_chain_runs_after_every_network_and_is_deleted() {
	local ns=${TAG}f nc out
	setup
	netns_new $ns
	mkdir -p "$WORK/conf/vendor-chain" "$WORK/rec"
	cp "$BUILD/test/tools/recorder" "$WORK/bin/recorder"
	# passthru is not packaged by Debian: a stand-in that returns an empty result
	printf '#!/bin/sh\ncat >/dev/null\n[ "$CNI_COMMAND" = ADD ] && printf %%s %s\nexit 0\n' \
		"'{\"cniVersion\":\"1.0.0\"}'" >"$WORK/bin/passthru"
	chmod +x "$WORK/bin/passthru"
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\",\"bridge\":\"${TAG}f0\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"subnet\":\"10.252.0.0/24\"}}" >"$WORK/conf/10-cluster.conf"
	echo "{\"type\":\"recorder\",\"recordDir\":\"$WORK/rec\"}" >"$WORK/conf/vendor-chain/10-rec.conf"
	echo '{"type":"no-such-plugin"}' >"$WORK/conf/vendor-chain/20-ignored.json"
	nc="{\"cniVersion\":\"1.0.0\",\"name\":\"m\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"clusterNetwork\":\"$WORK/conf/10-cluster.conf\",\"auxiliaryCNIChainName\":\"vendor-chain\"}"
	printf '%s' "$nc" | plexus ADD $ns >/dev/null
	out=$(cat "$WORK"/rec/*-ADD-*)
	expect_eq "aux chain interface" "$(json_get "$out" 'j["env"]["CNI_IFNAME"]')" net1
	expect_eq "aux chain network" "$(json_get "$out" 'json.loads(j["stdin"])["name"]')" vendor-chain
	expect_eq "passthru's result as prevResult" \
		"$(json_get "$out" 'json.loads(j["stdin"])["prevResult"]')" '{"cniVersion": "1.0.0", "dns": {}}'
	# the chain is in Multus's cache too, so a rollback deletes it
	expect_eq "Multus cache names" "$(json_get "$(cat "$WORK/cni/$CID")" '[d["Name"] for d in j]')" \
		'["cluster", "vendor-chain"]'
	rm "$WORK/conf/vendor-chain/10-rec.conf"
	printf '%s' "$nc" | plexus DEL $ns
	ls "$WORK/rec" | grep -q -- '-DEL-net1$' || fail "aux chain not deleted: $(ls "$WORK/rec")"
	expect_clean $ns
	# an empty chain directory adds nothing
	printf '%s' "$nc" | plexus ADD $ns >/dev/null
	expect_eq "attachments without chain plugins" "$(json_get "$(cat "$WORK/cni/$CID")" 'len(j)')" 1
	printf '%s' "$nc" | plexus DEL $ns
	expect_clean $ns
}

# plexusd on $WORK/run/multus.sock, with this test's cniDir and binDir ($PLEXUSD_BIN_DIR, else
# $WORK/bin) and EXTRA-KEYS, stopped on exit
plexusd_start() { # [EXTRA-KEYS]
	mkdir -p "$WORK/run"
	echo "{\"cniVersion\":\"0.3.1\",\"socketDir\":\"$WORK/run\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"${PLEXUSD_BIN_DIR:-$WORK/bin}\",\"logFile\":\"$WORK/plexusd.log\"${1:+,$1}}" >"$WORK/daemon.json"
	"${PLEXUSD:-$ROOT/bin/plexusd}" --config "$WORK/daemon.json" 2>"$WORK/plexusd.err" &
	cleanup_add "stop_gracefully $!"
	for _ in $(seq 100); do
		[ -S "$WORK/run/multus.sock" ] && break
		sleep 0.05
	done
}

# plexusd_post PATH BODY-FILE: the HTTP status; the reply in $WORK/reply
plexusd_post() {
	curl -s -o "$WORK/reply" -w '%{http_code}' --max-time 60 \
		--unix-socket "$WORK/run/multus.sock" --data-binary @"$2" "http://plexusd$1"
}

# plexusd_body VERB NETNS IFNAME [INTERFACE-ATTRIBUTES] < netconf: a request to plexusd as
# Multus's shim (/cni) or multus-dynamic-networks-controller (/delegate, with attributes) sends
# it: the CNI environment and the base64 netconf
plexusd_body() {
	CNI_COMMAND=$1 CNI_NETNS=/run/netns/$2 CNI_CONTAINERID=$CID CNI_IFNAME=$3 \
		CNI_PATH=$PLUGINS CNI_ARGS=$K8S_ARGS /usr/bin/python3 -c 'import base64,json,os,sys
b={"env": dict(os.environ), "config": base64.b64encode(sys.stdin.buffer.read()).decode()}
if len(sys.argv) > 1: b["interfaceAttributes"] = json.loads(sys.argv[1])
print(json.dumps(b))' ${4:+"$4"}
}

# The thick daemon runs the same meta core: a pod Multus attached is deleted through plexusd's
# /cni (Multus's daemon API: env and the base64 netconf), with no API server at all.
t_pod_multus_attached_is_deleted_through_plexusd() {
	local ns=${TAG}t subst code
	need_libcni
	setup
	netns_new $ns
	subst="{\"fxbr0\":\"${TAG}f0\",\"fxbr1\":\"${TAG}f1\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache.json" $ns "$subst"
	expect_eq "interfaces Multus made" "$(links_in $ns)" 2
	plexusd_start
	# the netconf edited since the ADD (its second network renamed): only Multus's cache knows
	# what was attached
	fixture_netconf "${subst%\}},\"tenant-net\":\"tenant-new\"}" | plexusd_body DEL $ns eth0 >"$WORK/del.json"
	code=$(plexusd_post /cni "$WORK/del.json")
	expect_eq "plexusd's answer to DEL: $(cat "$WORK/reply" "$WORK/plexusd.err")" "$code" 200
	expect_clean $ns
}

# hot_plug_net5 NETNS: /delegate ADD of network "hot" on net5 (10.171.9.50), as
# multus-dynamic-networks-controller sends it, to plexusd
hot_plug_net5() {
	local conf code
	conf="{\"cniVersion\":\"1.0.0\",\"name\":\"hot\",\"type\":\"bridge\",\"bridge\":\"${TAG}c\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.171.9.0/24\"}]]}}"
	echo "$conf" | plexusd_body ADD $1 net5 '{"ips":["10.171.9.50/24"]}' >"$WORK/add.json"
	code=$(plexusd_post /delegate "$WORK/add.json") || { cat "$WORK/plexusd.err" "$WORK/plexusd.log" >&2; false; }
	expect_eq "/delegate ADD: $(cat "$WORK/reply" "$WORK/plexusd.err")" "$code" 200
	expect_contains "net5's address" "$(ip -n $1 -4 -o addr show net5)" 10.171.9.50/24
}

# Hot-plug (/delegate) into a pod Multus attached before plexusd replaced it: the pod's plan is
# adopted from Multus's cache, so that its DEL removes the hot-plugged network with the others.
t_hot_plug_into_a_pod_multus_attached_adopts_its_cache() {
	local ns=${TAG}u subst multus_ifs code
	need_libcni
	setup
	netns_new $ns
	subst="{\"fxbr0\":\"${TAG}f0\",\"fxbr1\":\"${TAG}f1\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache.json" $ns "$subst"
	multus_ifs=$(ip -n $ns -o link show | awk -F'[:@ ]+' '$2 != "lo" {print $2}' | sort | tr '\n' ' ')
	plexusd_start
	hot_plug_net5 $ns
	expect_eq "Multus's interfaces and net5" "$(links_in $ns)" 3
	# the plan: Multus's delegates on the interfaces Multus gave them, then the hot-plugged one
	expect_eq "the adopted plan's interfaces" "$(json_get "$(cat "$WORK/cni/plexus/$CID")" \
		'" ".join(sorted(a["ifname"] for a in j["attachments"][:-1])) + " "')" "$multus_ifs"
	expect_eq "net5 hot-plugged" "$(json_get "$(cat "$WORK/cni/plexus/$CID")" \
		'j["attachments"][-1]["ifname"] + " " + j["attachments"][-1]["origin"]')" "net5 delegate"
	# the pod's DEL, through plexusd as the runtime's would come: everything, net5 included
	fixture_netconf "$subst" | plexusd_body DEL $ns eth0 >"$WORK/del.json"
	code=$(plexusd_post /cni "$WORK/del.json")
	expect_eq "plexusd's answer to DEL: $(cat "$WORK/reply")" "$code" 200
	expect_clean $ns
}

# ...and after a rollback to Multus, Multus's own DEL removes it too: the adoption rewrote
# Multus's cache with the hot-plugged network in it.
t_multus_after_rollback_deletes_what_was_hot_plugged() {
	local ns=${TAG}w subst
	need_libcni
	setup
	netns_new $ns
	subst="{\"fxbr0\":\"${TAG}f0\",\"fxbr1\":\"${TAG}f1\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache.json" $ns "$subst"
	plexusd_start
	hot_plug_net5 $ns
	expect_eq "Multus's cache holds net5 too" "$(json_get "$(cat "$WORK/cni/$CID")" 'len(j)')" 3
	multus_del $ns
	rm -rf "$WORK/cni/plexus" # the plan plexus leaves behind (docs/OPERATIONS.md, rolling back)
	expect_clean $ns
}

# mig_pod NETWORKS: pod mig/pod1 of api_with_pod with that networks annotation, replaced in the
# stand-in (its watch tells plexusd)
mig_pod() {
	api POST /_standin/objects "$(/usr/bin/python3 -c 'import json,sys
print(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod1", "namespace": "mig",
    "uid": "uid-1", "annotations": {"k8s.v1.cni.cncf.io/networks": sys.argv[1]}},
    "spec": {"nodeName": "n1"}}))' "$1")" >/dev/null
}

# reconciles RESULT: plexusd's count of hot-plug reconciles with that result (/metrics)
reconciles() {
	curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" |
		awk -v r="$1" '$1 == "plexus_hotplug_reconciles_total{result=\"" r "\"}" {print $2}'
}

# await_reconciles N: plexusd has counted N successful reconciles within 20 s
await_reconciles() { AWAIT_LOG=$WORK/plexusd.log await_eq "successful reconciles" "$1" reconciles success; }

# await_links_in NETNS WANT: the netns's interfaces but lo are WANT within 20 s
await_links_in() { AWAIT_LOG=$WORK/plexusd.log await_eq "interfaces of $1" "$2" links "$1"; }

# multus_pod_followed NETNS [NETWORKS [EXTRA-KEYS]]: pod mig/pod1 attached by Multus in NETNS
# (eth0, net1 mig-br, ext1 mig-mv; Multus's cache kept in $WORK/multus-cache.orig), the API
# stand-in with it (api_with_pod; its annotation then NETWORKS when given), and plexusd with
# EXTRA-KEYS following the node's annotations, /metrics on $MPORT
multus_pod_followed() {
	local subst
	need_libcni
	setup
	netns_new "$1"
	subst="{\"ac9e952c\":\"${TAG}c\",\"ac9e952n\":\"${TAG}n\",\"ac9e952m0\":\"${TAG}m0\"}"
	multus_add "$FIXTURES/multus-4.2.2-cache-annotations.json" "$1" "$subst"
	await_links_in "$1" "eth0 ext1 net1"
	cp "$WORK/cni/$CID" "$WORK/multus-cache.orig"
	api_with_pod
	[ -z "${2:-}" ] || mig_pod "$2"
	MPORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	PLEXUS_NODE_NAME=n1 PLEXUSD_BIN_DIR=$PLUGINS plexusd_start \
		"\"kubeconfig\":\"$WORK/kubeconfig\",\"dynamicNetworks\":true,\"metricsPort\":$MPORT${3:+,$3}"
}

# The annotation reconcile (plexusd, "dynamicNetworks") follows a pod Multus attached before
# plexusd replaced it: nothing of it is touched while the annotation asks for what Multus
# attached; a change adopts its plan from Multus's cache and is applied; the pod's DEL then
# removes everything, through bin/plexus with no API.
t_annotation_reconcile_follows_a_pod_multus_attached() {
	local ns=${TAG}r
	multus_pod_followed $ns
	# the first pass reconciles the pod as it is: nothing to do, nothing written
	await_reconciles 1
	cmp -s "$WORK/cni/$CID" "$WORK/multus-cache.orig" || fail "Multus's cache was rewritten"
	[ ! -e "$WORK/cni/plexus/$CID" ] || fail "a plan was written with nothing to change"
	# mig-mv (ext1) leaves the annotation: detached, the plan adopted, Multus's cache follows
	mig_pod '[{"name":"mig-br"}]'
	await_links_in $ns "eth0 net1"
	await_reconciles 2 # done: the plan and the caches written after the delegate's DEL
	expect_eq "the adopted plan's origins" "$(json_get "$(cat "$WORK/cni/plexus/$CID")" \
		'" ".join("%s@%s:%s" % (a["statusName"], a["ifname"], a.get("origin", "-")) for a in j["attachments"])')" \
		"mig-cluster@eth0:- mig/mig-br@net1:annotation"
	expect_eq "Multus's cache: what is attached" "$(json_get "$(cat "$WORK/cni/$CID")" \
		'" ".join(d["Name"] for d in j)')" "mig-cluster mig/mig-br"
	# and back: attached again on the interface it asks for
	mig_pod '[{"name":"mig-br"},{"name":"mig-mv","interface":"ext1"}]'
	await_links_in $ns "eth0 ext1 net1"
	# the pod's DEL, by bin/plexus without the API: everything Multus and plexusd attached
	fixture_netconf "{\"fxbr0\":\"${TAG}c\",\"fxbr1\":\"${TAG}n\"}" | plexus DEL $ns
	expect_clean $ns
}

# ...but a network of the netconf's defaultNetworks ("mig-mv" in multusNamespace "mig") is not
# the annotation's: with the annotation asking for mig-br alone, nothing is written; with an
# empty one, net1 goes and ext1 stays. (Multus's cache is the annotation fixture's: to the
# reconcile, which network came from defaultNetworks is only a matter of its name.)
t_reconcile_leaves_a_multus_default_network_alone() {
	local ns=${TAG}v
	multus_pod_followed $ns '[{"name":"mig-br"}]' '"multusNamespace":"mig","defaultNetworks":["mig-mv"]'
	await_reconciles 1
	await_links_in $ns "eth0 ext1 net1"
	cmp -s "$WORK/cni/$CID" "$WORK/multus-cache.orig" || fail "Multus's cache was rewritten"
	[ ! -e "$WORK/cni/plexus/$CID" ] || fail "a plan was written with nothing to change"
	mig_pod '[]'
	await_links_in $ns "eth0 ext1"
	await_reconciles 2
	expect_eq "the adopted plan's origins" "$(json_get "$(cat "$WORK/cni/plexus/$CID")" \
		'" ".join("%s@%s:%s" % (a["statusName"], a["ifname"], a.get("origin", "-")) for a in j["attachments"])')" \
		"mig-cluster@eth0:- mig/mig-mv@ext1:-"
	fixture_netconf "{\"fxbr0\":\"${TAG}c\",\"fxbr1\":\"${TAG}n\"}" | plexus DEL $ns
	expect_clean $ns
}

run_tests

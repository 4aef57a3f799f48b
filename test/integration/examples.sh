#!/usr/bin/env bash
# test/integration/examples.sh: every file of examples/ and deploy/ parses (YAML with Debian's
# python3-yaml, JSON with python3), every manifest has the kind, apiVersion and fields its kind
# needs, the RBAC grants exactly the API calls of a real run (the stand-in's request log), and
# the examples pass plexus's own validation: netconfs, NADs and pods through `plexus validate`
# (meta_netconf_parse, the NAD conversion, the annotation parsers, the plan), the runnable
# netconf through a real ADD/DEL, the SR-IOV NADs through bin/sriov's config checks.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
SRIOV=$ROOT/bin/sriov
EX=$ROOT/examples
DEPLOY=$ROOT/deploy
CHECK=$WORKROOT/check.py

# The checks in Python: `python3 $CHECK MODE ARGS...`
cat >"$CHECK" <<'PYEOF'
import glob, json, os, re, sys
import yaml

ROOT, MODE, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
KINDS = {
    ("v1", "Pod"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"),
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"),
    ("apps/v1", "DaemonSet"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("resource.k8s.io/v1", "DeviceClass"), ("resource.k8s.io/v1", "ResourceClaimTemplate"),
}
errors = []

def err(where, msg):
    errors.append("%s: %s" % (where, msg))

def docs(pattern):
    for f in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
        with open(f) as fh:
            for i, d in enumerate(yaml.safe_load_all(fh)):
                if d is not None:
                    yield "%s#%d" % (os.path.relpath(f, ROOT), i), d

def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d

def all_docs():
    return list(docs("examples/**/*.yaml")) + list(docs("deploy/*.yaml"))

def check_common(w, d):
    if (d.get("apiVersion"), d.get("kind")) not in KINDS:
        err(w, "unexpected apiVersion/kind %s/%s" % (d.get("apiVersion"), d.get("kind")))
    name = get(d, "metadata", "name")
    if not isinstance(name, str) or not name:
        err(w, "metadata.name missing")
    ann = get(d, "metadata", "annotations") or {}
    for k, v in ann.items():
        if not isinstance(v, str):
            err(w, "annotation %s is not a string" % k)

def check_nad(w, d):
    name = get(d, "metadata", "name") or ""
    if not LABEL.match(name) or len(name) > 63:
        err(w, "NAD name %r is not a DNS-1123 label" % name)
    if not get(d, "metadata", "namespace"):
        err(w, "NAD without metadata.namespace")
    cfg = get(d, "spec", "config")
    if not isinstance(cfg, str):
        return err(w, "spec.config is not a string")
    c = json.loads(cfg)
    if "type" not in c and not (isinstance(c.get("plugins"), list) and c["plugins"]):
        err(w, "spec.config has neither type nor plugins")
    if c.get("name") != name:
        err(w, "CNI name %r differs from the NAD name (spec 3.4.2 recommends equal)" % c.get("name"))

def check_pod(w, d):
    cs = get(d, "spec", "containers")
    if not isinstance(cs, list) or not cs:
        return err(w, "spec.containers missing")
    for c in cs:
        if not c.get("name") or not c.get("image"):
            err(w, "a container without name or image")
    if not get(d, "metadata", "namespace"):
        err(w, "pod without metadata.namespace")
    nets = get(d, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks")
    if nets and any(ch in nets for ch in "[{\""):
        if not isinstance(json.loads(nets), list):
            err(w, "JSON networks annotation is not a list")

def check_configmap(w, d):
    data = d.get("data") or {}
    for k, v in data.items():
        if not isinstance(v, str):
            err(w, "data.%s is not a string" % k)
    if "config.json" in data:
        rl = json.loads(data["config.json"]).get("resourceList")
        if not isinstance(rl, list) or not rl:
            err(w, "config.json has no resourceList")
        for r in rl or []:
            if not re.match(r"^[a-zA-Z0-9_]+$", r.get("resourceName", "")):
                err(w, "resourceName %r" % r.get("resourceName"))

def check_crd(w, d):
    s = d.get("spec", {})
    n = s.get("names", {})
    if s.get("group") != "k8s.cni.cncf.io" or n.get("plural") != "network-attachment-definitions" \
            or n.get("kind") != "NetworkAttachmentDefinition" or n.get("singular") != "network-attachment-definition":
        err(w, "not the NetworkAttachmentDefinition CRD")
    if get(d, "metadata", "name") != "%s.%s" % (n.get("plural"), s.get("group")):
        err(w, "metadata.name must be <plural>.<group>")
    if s.get("scope") != "Namespaced":
        err(w, "scope must be Namespaced")
    vs = s.get("versions") or []
    if [v.get("name") for v in vs] != ["v1"] or not vs[0].get("served") or not vs[0].get("storage"):
        err(w, "versions must be v1, served and stored")
    schema = get(vs[0], "schema", "openAPIV3Schema") if vs else None
    if get(schema or {}, "properties", "spec", "properties", "config", "type") != "string":
        err(w, "schema: spec.config must be a string")
    if get(schema or {}, "type") != "object":
        err(w, "schema: type object")

def check_daemonset(w, d, version, sas):
    s = d.get("spec", {})
    t = s.get("template", {})
    sel = get(s, "selector", "matchLabels") or {}
    labels = get(t, "metadata", "labels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        err(w, "selector does not match the template's labels")
    ps = t.get("spec", {})
    if ps.get("hostNetwork") is not True:
        err(w, "hostNetwork must be true (the pod network needs plexus first)")
    if (ps.get("serviceAccountName"), get(d, "metadata", "namespace")) not in sas:
        err(w, "serviceAccountName %r is not a ServiceAccount of %s" % (ps.get("serviceAccountName"), "deploy/"))
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    cs = ps.get("containers", [])
    if len(cs) != 1:
        return err(w, "one container expected")
    c = cs[0]
    if c.get("image") != "localhost/plexus:%s" % version:
        err(w, "image %r is not what make image builds (localhost/plexus:%s)" % (c.get("image"), version))
    if not get(c, "securityContext", "privileged"):
        err(w, "the container must be privileged")
    mounts = {}
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols:
            err(w, "volumeMount %s has no volume" % m["name"])
        else:
            mounts[m["mountPath"]] = get(vols[m["name"]], "hostPath", "path")
    root = "/host"
    for a in c.get("args", []):
        if a.startswith("--host-root="):
            root = a.split("=", 1)[1]
    for host in ("/etc/cni/net.d", "/opt/cni/bin"):
        if mounts.get(root + host) != host:
            err(w, "host %s must be mounted at %s%s (plexus daemon's --host-root)" % (host, root, host))
    if c.get("command"):
        err(w, "command overrides the image's entrypoint (plexus daemon)")

def rbac_from_log(path):
    """(group, resource, verb) for every request in the API stand-in's request log (one JSON
    object per line: method, path), as kube-apiserver's RequestInfoFactory names them."""
    verbs = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}
    out = set()
    for line in open(path):
        r = json.loads(line)
        m = re.fullmatch(r"/api/v1(?:/namespaces/[^/]+)?/([a-z-]+)(/[^/]+)?(?:/([a-z]+))?", r["path"]) or \
            re.fullmatch(r"/apis/([a-z0-9.-]+)/v[0-9a-z]+(?:/namespaces/[^/]+)?/([a-z-]+)(/[^/]+)?(?:/([a-z]+))?", r["path"])
        if not m:
            raise SystemExit("request log: cannot read API path %s" % r["path"])
        g = m.groups()
        group, (res, name, sub) = ("", g) if r["path"].startswith("/api/v1/") else (g[0], g[1:])
        verb = ("get" if name else "list") if r["method"] == "GET" else verbs[r["method"]]
        out.add((group, res + ("/" + sub if sub else ""), verb))
    return out

if MODE == "manifests":
    version = re.search(r'#define PLEXUS_VERSION "([^"]+)"', open(os.path.join(ROOT, "meta/version.h")).read()).group(1)
    ds = all_docs()
    sas = {(get(d, "metadata", "name"), get(d, "metadata", "namespace")) for _, d in ds if d.get("kind") == "ServiceAccount"}
    roles = {get(d, "metadata", "name") for _, d in ds if d.get("kind") == "ClusterRole"}
    counts = {}
    for w, d in ds:
        check_common(w, d)
        k = d.get("kind")
        counts[k] = counts.get(k, 0) + 1
        if k == "NetworkAttachmentDefinition": check_nad(w, d)
        elif k == "Pod": check_pod(w, d)
        elif k == "ConfigMap": check_configmap(w, d)
        elif k == "CustomResourceDefinition": check_crd(w, d)
        elif k == "DaemonSet": check_daemonset(w, d, version, sas)
        elif k == "ClusterRoleBinding":
            if get(d, "roleRef", "kind") != "ClusterRole" or get(d, "roleRef", "name") not in roles:
                err(w, "roleRef names no ClusterRole of deploy/")
            for s in d.get("subjects", []):
                if (s.get("name"), s.get("namespace")) not in sas or s.get("kind") != "ServiceAccount":
                    err(w, "subject %r is not a ServiceAccount of deploy/" % s)
    for f in sorted(glob.glob(os.path.join(ROOT, "examples/**/*.con*"), recursive=True)):
        json.load(open(f))
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))

elif MODE == "thick":
    # deploy/thick/: the daemon's socket and state where the shim looks for them (ARGS[0]: the
    # socket `plexus generate-config --thick` names by default), the image's entrypoint kept
    # for install, and RBAC of the thick mode's calls exactly
    version = re.search(r'#define PLEXUS_VERSION "([^"]+)"', open(os.path.join(ROOT, "meta/version.h")).read()).group(1)
    ds = list(docs("deploy/thick/*.yaml"))
    by = {}
    for w, d in ds:
        check_common(w, d)
        # plexusd-dra (deploy/thick/rbac-dra.yaml) is checked by test/integration/dra.sh
        if get(d, "metadata", "name") != "plexusd-dra":
            by.setdefault(d.get("kind"), []).append((w, d))
    (w, sa), = by["ServiceAccount"]
    sa_id = (get(sa, "metadata", "name"), get(sa, "metadata", "namespace"))
    (w, role), = by["ClusterRole"]
    got = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    want = {("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"), ("", "pods/status", "patch"),
            ("k8s.cni.cncf.io", "network-attachment-definitions", "get"),
            ("k8s.cni.cncf.io", "network-attachment-definitions", "list"),
            ("k8s.cni.cncf.io", "network-attachment-definitions", "watch"), ("", "events", "create")}
    for x in sorted(want ^ got):
        err(w, "%s %r" % ("missing" if x in want else "grants, never called:", x))
    (w, crb), = by["ClusterRoleBinding"]
    if get(crb, "roleRef", "name") != get(role, "metadata", "name") or \
            [(s.get("name"), s.get("namespace")) for s in crb.get("subjects", [])] != [sa_id]:
        err(w, "binding does not tie the ClusterRole to the ServiceAccount")
    (w, cm), = by["ConfigMap"]
    (w, d), = by["DaemonSet"]
    ps = get(d, "spec", "template", "spec")
    if ps.get("hostNetwork") is not True or (ps.get("serviceAccountName"), get(d, "metadata", "namespace")) != sa_id:
        err(w, "hostNetwork and the thick ServiceAccount expected")
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    def mounts(c):
        return {m["mountPath"]: vols[m["name"]] for m in c.get("volumeMounts", [])}
    image = "localhost/plexus:%s" % version
    (init,) = ps.get("initContainers", [])
    cs = {c["name"]: c for c in ps.get("containers", [])}
    for c in [init] + list(cs.values()):
        if c.get("image") != image:
            err(w, "%s: image %r is not make image's %s" % (c["name"], c.get("image"), image))
    if init.get("command") or "--thick" not in init.get("args", []):
        err(w, "install: the image's entrypoint (plexus daemon) with --thick expected")
    daemon = cs.get("plexusd", {})
    if daemon.get("command") != ["/usr/libexec/plexus/plexusd"]:
        err(w, "plexusd: command must be /usr/libexec/plexus/plexusd")
    cfg = [a.split("=", 1)[1] for a in daemon.get("args", []) if a.startswith("--config=")]
    m = mounts(daemon)
    cfg_vol = m.get(os.path.dirname(cfg[0])) if cfg else None
    if not cfg_vol or get(cfg_vol, "configMap", "name") != get(cm, "metadata", "name") or \
            [i["path"] for i in get(cfg_vol, "configMap", "items") or []] != [os.path.basename(cfg[0])]:
        err(w, "plexusd: --config does not name the ConfigMap's file")
    conf = json.loads(cm["data"][os.path.basename(cfg[0])]) if cfg else {}
    sock_dir = (conf.get("socketDir") or "/run/plexus").rstrip("/")
    sock = sock_dir + ("/multus.sock" if conf.get("socketDir") else "/plexus.sock")
    if sock != ARGS[0]:
        err(w, "the daemon serves %s, the generated shim config names %s" % (sock, ARGS[0]))
    if get(m.get(sock_dir, {}), "hostPath", "path") != sock_dir:
        err(w, "plexusd: %s must be the host's %s (the shim connects there)" % (sock_dir, sock_dir))
    for p in ("/var/lib/cni", "/opt/cni/bin"):
        if get(m.get(p, {}), "hostPath", "path") != p:
            err(w, "plexusd: the host's %s at the same path (the shim's DEL fallback shares it)" % p)
    if "--thick" not in cs.get("config", {}).get("args", []):
        err(w, "config: plexus daemon --thick expected")
    print(" ".join(sorted("%s=%d" % (k, len(v)) for k, v in by.items())))

elif MODE == "rbac":
    want = rbac_from_log(ARGS[0])
    got = set()
    for w, d in docs("deploy/*.yaml"):
        # plexus-dra (deploy/rbac-dra.yaml) is checked by test/integration/dra.sh
        if d.get("kind") != "ClusterRole" or get(d, "metadata", "name") == "plexus-dra":
            continue
        for r in d.get("rules", []):
            if r.get("resourceNames") or r.get("nonResourceURLs"):
                err(w, "unexpected rule %r" % r)
            for g in r.get("apiGroups", []):
                for res in r.get("resources", []):
                    for v in r.get("verbs", []):
                        if "*" in (g, res, v):
                            err(w, "wildcard in %r" % r)
                        got.add((g, res, v))
    if not want:
        err(ARGS[0], "no API request in the log")
    for x in sorted(want - got):
        err("deploy/rbac.yaml", "missing %r (plexus calls it)" % (x,))
    for x in sorted(got - want):
        err("deploy/rbac.yaml", "grants %r, which plexus never calls" % (x,))
    print(" ".join("%s:%s:%s" % x for x in sorted(got)))

elif MODE == "to-json":
    # every NAD and pod of examples/ as the API returns it: OUT/nads.json, OUT/pod-NAME.json,
    # OUT/nad-NS-NAME.json
    out = ARGS[0]
    nads = []
    for w, d in docs("examples/**/*.yaml"):
        if d.get("kind") == "NetworkAttachmentDefinition":
            nads.append(d)
            json.dump(d, open(os.path.join(out, "nad-%s-%s.json" % (d["metadata"]["namespace"], d["metadata"]["name"])), "w"))
        elif d.get("kind") == "Pod":
            json.dump(d, open(os.path.join(out, "pod-%s.json" % d["metadata"]["name"]), "w"))
    json.dump({"apiVersion": "v1", "kind": "List", "items": nads}, open(os.path.join(out, "nads.json"), "w"))
    print(len(nads))

elif MODE == "sriov-configs":
    # the spec.config of every NAD of type sriov, one per line
    for w, d in docs("examples/**/*.yaml"):
        if d.get("kind") == "NetworkAttachmentDefinition":
            c = json.loads(d["spec"]["config"])
            if c.get("type") == "sriov":
                print(json.dumps(c))

elif MODE == "resources":
    # device plugin resources vs the NADs' resourceName annotations and the pods' requests
    have = set()
    for w, d in docs("examples/**/*.yaml"):
        if d.get("kind") == "ConfigMap" and "config.json" in d.get("data", {}):
            for r in json.loads(d["data"]["config.json"])["resourceList"]:
                have.add("%s/%s" % (r.get("resourcePrefix", "intel.com"), r["resourceName"]))
    # resourceNames a DRA driver publishes: those of NADs attached by pods with resourceClaims
    dra = set()
    pods = [(w, d) for w, d in docs("examples/**/*.yaml") if d.get("kind") == "Pod"]
    nad_res = {}
    for w, d in docs("examples/**/*.yaml"):
        if d.get("kind") == "NetworkAttachmentDefinition":
            r = get(d, "metadata", "annotations", "k8s.v1.cni.cncf.io/resourceName")
            if json.loads(d["spec"]["config"]).get("type") == "sriov":
                if not r:
                    err(w, "an sriov NAD without the resourceName annotation (VF pci addr is required)")
                nad_res[(d["metadata"]["namespace"], d["metadata"]["name"])] = r
    for w, d in pods:
        if get(d, "spec", "resourceClaims"):
            nets = get(d, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks") or "[]"
            for e in json.loads(nets):
                dra.add(nad_res.get((e.get("namespace", d["metadata"]["namespace"]), e["name"])))
    for (ns, name), r in nad_res.items():
        if r and r not in have and r not in dra:
            err("nad %s/%s" % (ns, name), "resourceName %s is not in the device plugin's config" % r)
    for w, d in docs("examples/**/*.yaml"):
        if d.get("kind") != "Pod":
            continue
        nets = get(d, "metadata", "annotations", "k8s.v1.cni.cncf.io/networks") or ""
        ns = d["metadata"]["namespace"]
        els = json.loads(nets) if any(ch in nets for ch in "[{\"") else \
            [{"name": e.strip().split("/")[-1].split("@")[0], "namespace": (e.strip().split("/")[0] if "/" in e else ns)} for e in nets.split(",") if e.strip()]
        need = {}
        for e in els:
            r = nad_res.get((e.get("namespace", ns), e["name"]))
            if r:
                need[r] = need.get(r, 0) + 1
        for r, n in need.items():
            if r in dra:
                claims = {c["name"] for c in get(d, "spec", "resourceClaims") or []}
                used = {c["name"] for k in d["spec"]["containers"] for c in get(k, "resources", "claims") or []}
                if not claims or not used <= claims or not used:
                    err(w, "attaches %s (a DRA device) without a claim its containers use" % r)
                continue
            for c in d["spec"]["containers"]:
                q = get(c, "resources", "requests", r)
                if q is not None:
                    if int(q) < n:
                        err(w, "requests %s of %s for %d attachments" % (q, r, n))
                    if str(get(c, "resources", "limits", r)) != str(q):
                        err(w, "limits must equal requests for %s" % r)
                    break
            else:
                err(w, "attaches %s without requesting it" % r)
    print(" ".join(sorted(have)))

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PYEOF

check() { /usr/bin/python3 "$CHECK" "$ROOT" "$@"; }

# $WORK/json: the NADs and pods as JSON; NADS is the List of them all
to_json() {
	mkdir -p "$WORK/json"
	check to-json "$WORK/json" >/dev/null
	NADS=$WORK/json/nads.json
}

validate() { "$PLEXUS" validate "$@"; }

t_manifests_parse_and_have_what_their_kind_needs() {
	local out
	python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (scripts/deps installs it)"
	out=$(check manifests)
	# what the examples promise: the five NAD kinds, a pod per annotation form, the deploy set
	expect_eq "objects" "$out" "ClusterRole=2 ClusterRoleBinding=2 ConfigMap=1 CustomResourceDefinition=1 DaemonSet=1 DeviceClass=1 NetworkAttachmentDefinition=10 Pod=5 ResourceClaimTemplate=1 ServiceAccount=1"
}

t_thick_manifests_put_socket_and_state_where_the_shim_looks() {
	local out sock
	python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (scripts/deps installs it)"
	sock=$("$PLEXUS" generate-config --help | sed -n 's/.*(default: \(\/[^)]*\.sock\)).*/\1/p')
	expect_eq "the shim's default socket" "$sock" /run/plexus/plexus.sock
	out=$(check thick "$sock")
	expect_eq "objects" "$out" "ClusterRole=1 ClusterRoleBinding=1 ConfigMap=1 DaemonSet=1 ServiceAccount=1"
}

# What plexus calls is read from the API stand-in's request log of real calls: an ADD with a
# network selection (pod, NAD, network-status), an ADD naming a missing NAD (its Warning event),
# and the DELs. deploy/ must grant exactly the verbs and resources those requests need.
t_rbac_grants_exactly_what_plexus_calls() {
	local ns=${TAG}r out pod nad
	mkdir -p "$WORK/ipam"
	cleanup_add "ip link del ${TAG}r0"
	pod='{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"team-a","uid":"u-%s","annotations":{"k8s.v1.cni.cncf.io/networks":"%s"}}}'
	nad=$(printf '{"cniVersion":"1.0.0","name":"extra","type":"bridge","bridge":"%s","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.238.1.0/24"}]]}}' "${TAG}r0" "$WORK/ipam" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
	apiserver_start "{\"tokens\":{\"tok\":\"plexus\"},\"pods\":[$(printf "$pod" web web extra),$(printf "$pod" lost lost missing)],\"nads\":[{\"apiVersion\":\"k8s.cni.cncf.io/v1\",\"kind\":\"NetworkAttachmentDefinition\",\"metadata\":{\"name\":\"extra\",\"namespace\":\"team-a\"},\"spec\":{\"config\":$nad}}]}"
	printf '{"cniVersion":"1.0.0","name":"plexus-net","type":"plexus","cniDir":"%s","binDir":"/usr/lib/cni","kubeconfig":"%s","delegates":[{"cniVersion":"1.0.0","name":"cluster","type":"bridge","bridge":"%s","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.238.0.0/24"}]]}}]}' \
		"$WORK/cni" "$WORK/kubeconfig" "${TAG}r0" "$WORK/ipam" >"$WORK/nc.json"
	netns_new $ns
	export CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=rb-web CNI_ARGS="K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=web;K8S_POD_UID=u-web" "$PLEXUS" <"$WORK/nc.json" 2>&1) || fail "ADD: $out"
	expect_contains "net1 attached from the NAD" "$(ip -n $ns -4 -br addr show net1)" 10.238.1.
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=rb-lost CNI_IFNAME=eth1 CNI_ARGS="K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=lost;K8S_POD_UID=u-lost" "$PLEXUS" <"$WORK/nc.json" 2>&1) && fail "ADD with a missing NAD succeeded"
	CNI_COMMAND=DEL CNI_CONTAINERID=rb-lost CNI_IFNAME=eth1 CNI_ARGS="K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=lost;K8S_POD_UID=u-lost" "$PLEXUS" <"$WORK/nc.json" || fail "DEL lost"
	CNI_COMMAND=DEL CNI_CONTAINERID=rb-web CNI_ARGS="K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=web;K8S_POD_UID=u-web" "$PLEXUS" <"$WORK/nc.json" || fail "DEL web"
	expect_eq "interfaces left" "$(links_in $ns)" 0
	expect_contains "the missing NAD's event was sent" "$(api GET /_standin/objects/events/team-a)" NoNetworkFound
	out=$(check rbac "$WORK/api/requests.log" 2>&1) || fail "$out"
	expect_eq "grants" "$out" ":events:create :pods:get :pods/status:patch k8s.cni.cncf.io:network-attachment-definitions:get"
}

t_device_plugin_resources_match_nads_and_pods() {
	expect_eq "resources" "$(check resources)" "intel.com/intel_sriov_dpdk intel.com/intel_sriov_netdevice"
}

t_every_nad_passes_the_nad_conversion_and_conflist_parser() {
	local out f n=0
	to_json
	for f in "$WORK"/json/nad-*.json; do
		out=$(validate --nad "$f") || fail "$(basename "$f"): $out"
		expect_contains "$(basename "$f")" "$out" ": valid: network"
		n=$((n + 1))
	done
	expect_eq "NADs" "$n" 10
	out=$(validate --nad "$NADS")
	expect_contains "sriov resourceName" "$out" 'nad team-a/sriov-net: valid: network "sriov-net" (sriov), resourceName intel.com/intel_sriov_netdevice'
	expect_contains "conflist" "$out" 'nad team-a/tuned: valid: network "tuned" (macvlan,tuning)'
	# the validation is the real one: a broken NAD is refused with plexus's ADD message
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["spec"]["config"]="{\"cniVersion\":\"1.0.0\",\"name\":\"blue\"}"; json.dump(d,open(sys.argv[2],"w"))' \
		"$WORK/json/nad-team-a-blue.json" "$WORK/bad.json"
	out=$(validate --nad "$WORK/bad.json" 2>&1) && fail "a NAD without type validated"
	expect_contains "refused" "$out" "delegate must have the 'type' or 'plugin' field"
}

t_every_netconf_passes_plexus_validation() {
	local f out path=/usr/lib/cni:$ROOT/bin
	to_json
	for f in "$EX"/netconf/*; do
		out=$(validate --nad "$NADS" "$f" 2>&1) || fail "$(basename "$f"): $out"
		expect_contains "$(basename "$f")" "$out" "netconf $f: valid"
	done
	# and with every plugin binary where Debian has them (readiness.conflist wraps flannel)
	for f in delegates.conf cluster-network.conf isolation.conf; do
		out=$(validate --nad "$NADS" --cni-path "$path" "$EX/netconf/$f" 2>&1) || fail "$f: $out"
	done
	out=$(validate --nad "$NADS" "$EX/netconf/cluster-network.conf")
	expect_contains "clusterNetwork from kube-system" "$out" "eth0            kube-system/k8s-pod-network"
	expect_contains "defaultNetworks" "$out" "net1            kube-system/monitoring"
	out=$(validate "$EX/netconf/delegates.conf")
	expect_contains "delegates" "$out" "net1            storage"
	# refused as ADD refuses it
	out=$(validate --cni-path "$path" "$EX/netconf/readiness.conflist" 2>&1) && fail "flannel found?"
	expect_contains "missing plugin" "$out" 'network "cbr0": failed to find plugin "flannel"'
	echo '{"cniVersion":"1.0.0","name":"x","type":"plexus","delegates":[],"readinessTimeoutSeconds":"5"}' >"$WORK/bad.conf"
	out=$(validate "$WORK/bad.conf" 2>&1) && fail "a bad netconf validated"
	expect_contains "wrong type named" "$out" '"readinessTimeoutSeconds" must be an integer'
}

# plan POD NETCONF: the attachment plan lines (ifname and network) of the pod
plan() {
	local out
	out=$(validate --nad "$NADS" --pod "$WORK/json/pod-$1.json" "$EX/netconf/$2") || return 1
	echo "$out" | awk '/^  / {print $1 "=" $2}' | tr '\n' ' '
}

t_every_pod_annotation_form_plans_as_documented() {
	to_json
	expect_eq "comma form" "$(plan web isolation.conf)" \
		"eth0=kube-system/k8s-pod-network net1=team-a/blue data0=team-a/tuned net3=shared-networks/shared "
	expect_eq "comma form, defaultNetworks first" "$(plan web cluster-network.conf)" \
		"eth0=kube-system/k8s-pod-network net1=kube-system/monitoring net2=team-a/blue data0=team-a/tuned net4=shared-networks/shared "
	expect_eq "JSON form" "$(plan db isolation.conf)" \
		"eth0=kube-system/k8s-pod-network fast0=team-a/green net2=team-a/blue "
	expect_eq "default-network" "$(plan edge isolation.conf)" "eth0=team-a/blue uplink=team-a/green "
	expect_eq "sriov" "$(plan dpdk-app isolation.conf)" \
		"eth0=kube-system/k8s-pod-network vf0=team-a/sriov-net vf1=team-a/sriov-net "
	expect_contains "resourceName carried" \
		"$(validate --nad "$NADS" --pod "$WORK/json/pod-dpdk-app.json" "$EX/netconf/isolation.conf")" \
		"resourceName intel.com/intel_sriov_netdevice"
}

t_isolation_refuses_what_the_examples_do_not_do() {
	local out
	to_json
	# the web pod pointed at another team's network
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"]="team-b/blue"; json.dump(d,open(sys.argv[2],"w"))' \
		"$WORK/json/pod-web.json" "$WORK/json/pod-intruder.json"
	out=$(plan intruder isolation.conf 2>&1) && fail "isolation let it through"
	expect_contains "isolation" "$out" "namespace isolation enabled, annotation violates permission, pod is in namespace team-a but refers to target namespace team-b"
	out=$(plan intruder cluster-network.conf 2>&1) && fail "a missing NAD planned"
	expect_contains "no such NAD" "$out" "cannot find a network-attachment-definition (blue) in namespace (team-b)"
	# two networks on one interface
	/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"]="blue@data0, tuned@data0"; json.dump(d,open(sys.argv[2],"w"))' \
		"$WORK/json/pod-web.json" "$WORK/json/pod-twice.json"
	out=$(plan twice isolation.conf 2>&1) && fail "a collision planned"
	expect_contains "collision" "$out" 'both want interface "data0"'
}

t_delegates_example_attaches_and_detaches_for_real() {
	local ns=${TAG}x out
	mkdir -p "$WORK/ipam"
	ip link add ${TAG}m0 type veth peer name ${TAG}m1
	cleanup_add "ip link del ${TAG}m0; ip link del ${TAG}b0"
	ip link set ${TAG}m0 up
	# the example as it is, with this host's names and scratch paths
	/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); w, tag = sys.argv[2], sys.argv[3]
del j["kubeconfig"]
j.update(cniDir=w + "/cni", binDir="/usr/lib/cni")
b = j["delegates"][0]["plugins"][0]; b["bridge"] = tag + "b0"; b["ipam"]["dataDir"] = w + "/ipam"
m = j["delegates"][1]; m["master"] = tag + "m0"; m["ipam"]["dataDir"] = w + "/ipam"
json.dump(j, open(sys.argv[4], "w"))' "$EX/netconf/delegates.conf" "$WORK" "$TAG" "$WORK/nc.json"
	netns_new $ns
	export CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=ex-c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni
	export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=team-a;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=ex-c1"
	out=$(CNI_COMMAND=ADD "$PLEXUS" <"$WORK/nc.json") || fail "ADD: $out"
	expect_eq "result: the cluster network's" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.244.1.2/24
	expect_contains "eth0" "$(ip -n $ns -4 -br addr show eth0)" 10.244.1.2/24
	expect_contains "net1" "$(ip -n $ns -4 -br addr show net1)" 192.168.50.2/24
	CNI_COMMAND=DEL "$PLEXUS" <"$WORK/nc.json" || fail "DEL"
	expect_eq "interfaces left" "$(links_in $ns)" 0
	[ -z "$(find "$WORK/cni" -type f)" ] || fail "cache left"
}

t_readiness_example_waits_for_its_file() {
	local ns=${TAG}r out rc=0
	/usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1])); p = j["plugins"][0]; w = sys.argv[2]
del p["kubeconfig"]; del p["logFile"]
p.update(readinessindicatorfile=w + "/ready", readinessTimeoutSeconds=1, cniDir=w + "/cni")
json.dump(j, open(sys.argv[3], "w"))' "$EX/netconf/readiness.conflist" "$WORK" "$WORK/rd.conflist"
	/usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); p=j["plugins"][0]; p.update(name=j["name"], cniVersion=j["cniVersion"]); print(json.dumps(p))' \
		"$WORK/rd.conflist" >"$WORK/rd.json"
	netns_new $ns
	out=$(CNI_COMMAND=ADD CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=rd-c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$PLEXUS" <"$WORK/rd.json") || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_eq "code: try again" "$(json_get "$out" 'j["code"]')" 11
	expect_contains "Multus's message" "$out" "have you checked that your default network is ready? still waiting for readinessindicatorfile @ $WORK/ready"
	# once the cluster network is ready, the gate opens (and flannel is not on this host)
	touch "$WORK/ready"
	out=$(CNI_COMMAND=ADD CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=rd-c1 CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni "$PLEXUS" <"$WORK/rd.json") && fail "flannel ran?"
	expect_contains "past the gate" "$out" 'failed to find plugin \"flannel\"'
}

t_sriov_nads_pass_sriov_config_validation() {
	local ns=${TAG}s conf out n=0
	mkdir -p "$WORK/sys/devices" "$WORK/sys/bus/pci/devices"
	netns_new $ns
	sriov_add() { # CONFIG-JSON
		echo "$1" | PLEXUS_SYSFS_ROOT=$WORK/sys CNI_COMMAND=ADD CNI_CONTAINERID=sr-c1 CNI_NETNS=/run/netns/$ns \
			CNI_IFNAME=net1 CNI_PATH=/usr/lib/cni "$SRIOV" 2>/dev/null
	}
	with() { # CONFIG-JSON PYTHON-STATEMENT
		/usr/bin/python3 -c 'import json,sys; c=json.loads(sys.argv[1]); exec(sys.argv[2]); c["cniDir"]=sys.argv[3]; print(json.dumps(c))' "$1" "$2" "$WORK/sriov"
	}
	while read -r conf; do
		n=$((n + 1))
		# as plexus hands it over, with a VF this host does not have: the config is accepted,
		# the failure is about the device
		out=$(sriov_add "$(with "$conf" 'c["deviceID"]="0000:ff:1f.7"')") && fail "ADD of a missing VF succeeded"
		expect_contains "config accepted, device missing" "$out" "failed to get VF information"
		expect_contains "names the VF" "$out" "0000:ff:1f.7 does not exist"
		# without the device plugin's deviceID: the most common support question
		out=$(sriov_add "$(with "$conf" 'pass')") && fail "ADD without deviceID succeeded"
		expect_contains "no deviceID" "$out" "LoadConf(): VF pci addr is required"
		# the same check refuses a broken config before it looks for the device
		out=$(sriov_add "$(with "$conf" 'c["deviceID"]="0000:ff:1f.7"; c["vlan"]=5000')") && fail "vlan 5000 accepted"
		expect_contains "config refused" "$out" "vlan id 5000 invalid"
	done < <(check sriov-configs)
	expect_eq "sriov NADs" "$n" 3
	[ -z "$(find "$WORK/sriov" -type f 2>/dev/null)" ] || fail "sriov state left"
}

t_validate_and_daemon_are_documented_in_plexus_1() {
	local out opt cmd rc
	command -v groff >/dev/null || { skip "groff is not installed"; return 77; }
	out=$(MANWIDTH=200 man -l "$ROOT/docs/man/plexus.1" 2>&1)
	for cmd in validate daemon; do
		expect_contains "plexus --help lists $cmd" "$("$PLEXUS" --help)" "  $cmd "
		expect_eq "help $cmd" "$("$PLEXUS" help $cmd)" "$("$PLEXUS" $cmd --help)"
		for opt in $("$PLEXUS" $cmd --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
			expect_contains "plexus.1 documents $cmd $opt" "$out" "$opt"
		done
	done
	rc=0; "$PLEXUS" validate 2>/dev/null || rc=$?
	expect_eq "validate without files" "$rc" 2
	rc=0; "$PLEXUS" validate --pod "$EX/../examples/pods/comma-form.yaml" 2>/dev/null || rc=$?
	expect_eq "validate: a YAML file is not JSON" "$rc" 1
	rc=0; "$PLEXUS" daemon --host-root 2>/dev/null || rc=$?
	expect_eq "daemon --host-root without a value" "$rc" 2
}

run_tests

#!/usr/bin/python3
"""bench/kube_bench.py: plexus against the kube-apiserver stand-in, thin and thick.

1. ADD latency and API requests per ADD, thin (bin/plexus exec'd with the kubeconfig) against
   thick (bin/plexus-shim -> bin/plexusd with its watch caches), for pods with 1, 4 and 16
   networks (NADs whose delegate is the tiny static plugin, so the figures are plexus's and the
   API's), each with 0 and 5 ms injected per API request (the stand-in's unscoped latency_ms:
   every request, thin's and thick's alike; BENCH_API_LATENCY_MS="0,5"). Thin and thick calls
   interleave in one loop; each side has its own token, so the request log tells them apart.
   Requests per ADD by verb from the stand-in's log: GETs, PATCHes and new connections in the
   ADD's own window; POSTs (AddedInterface events, which plexusd sends after its reply) counted
   over the whole series once it is quiet, divided by the ADDs. Median and p90 latency.
2. plexusd's RSS (VmRSS) after its caches synced (/readyz 200, plexus_cache_objects read from
   /metrics): idle without API, with the API and near-empty caches, with 1,000 pods on its node,
   then with 1,000 NADs besides (realistic objects: a pod with labels, ownerReferences,
   managedFields, two containers and a running status; a NAD with a ~150-byte config); the
   differences give bytes per cached pod and per NAD. Each state in a daemon started on it (a
   LIST fills its caches: glibc keeps what the LIST's parse freed, so VmRSS shows the LIST's
   peak) and in one daemon watching from the first state on, whose VmRSS is also read after
   malloc_trim(0) run in it through gdb (when gdb is installed): what the caches hold.
Prints tables; asserts nothing."""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

from benchlib import PLEXUS, PLEXUSD, SHIM, StandIn, kib, stop, thick_setup, wait_ready

RUNS = int(os.environ.get("BENCH_RUNS", "30"))
LATENCIES = [int(x) for x in os.environ.get("BENCH_API_LATENCY_MS", "0,5").split(",")]
MANY = int(os.environ.get("BENCH_CACHED", "1000"))  # cached pods and NADs for the RSS
NODE = "bench-node"
NETWORKS = (1, 4, 16)
work = tempfile.mkdtemp(prefix="plexus-kbench.")
netns = "pxkb%d" % (os.getpid() % 10000)
bindir, sockdir = work + "/bin", work + "/sock"
sock = sockdir + "/multus.sock"
TOKENS = {"thin-token": "thin", "thick-token": "thick"}
CLUSTER = [{"cniVersion": "1.0.0", "name": "cluster", "type": "tiny"}]


def pod(ns, name, uid, networks, i):
    """A pod as kube-apiserver returns it for a Deployment's replica (about 4.5 KB of JSON)."""
    rs = "web-%d-7d4b9c8f6d" % (i // 10)
    image = "registry.example.com/team/web-frontend:v1.%d.%d" % (i % 7, i % 13)
    ts = "2026-12-01T10:%02d:%02dZ" % (i // 60 % 60, i % 60)
    annotations = {"kubernetes.io/config.seen": "2026-12-01T10:00:00.000000000Z",
                   "kubernetes.io/config.source": "api",
                   "prometheus.io/scrape": "true", "prometheus.io/port": "9102"}
    if networks:
        annotations["k8s.v1.cni.cncf.io/networks"] = networks
    container = {
        "name": "web", "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.name"}}},
                {"name": "LOG_LEVEL", "value": "info"}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"},
                      "requests": {"cpu": "100m", "memory": "128Mi"}},
        "volumeMounts": [{"name": "kube-api-access-%05d" % i, "readOnly": True,
                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                           "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1,
                           "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"}
    sidecar = {"name": "log-shipper", "image": "registry.example.com/infra/fluent-bit:2.2.0",
               "imagePullPolicy": "IfNotPresent",
               "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
               "terminationMessagePath": "/dev/termination-log",
               "terminationMessagePolicy": "File"}

    def status_of(c, cid):
        return {"name": c["name"], "ready": True, "restartCount": 0, "started": True,
                "image": c["image"], "imageID": c["image"].split(":")[0] + "@sha256:" + cid * 4,
                "containerID": "containerd://" + cid * 4,
                "state": {"running": {"startedAt": ts}}, "lastState": {}}

    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "generateName": rs + "-", "namespace": ns, "uid": uid,
            "creationTimestamp": ts,
            "labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web-%d"
                       % (i // 10), "app.kubernetes.io/part-of": "shop",
                       "pod-template-hash": "7d4b9c8f6d", "tier": "frontend"},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": "6f1c2d3e-4b5a-4c6d-8e7f-%012d" % (i // 10),
                                 "controller": True, "blockOwnerDeletion": True}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "apiVersion": "v1", "time": ts, "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:generateName": {},
                                                           "f:labels": {".": {}},
                                                           "f:ownerReferences": {}},
                                            "f:spec": {"f:containers": {}}}},
                              {"manager": "kubelet", "operation": "Update",
                               "apiVersion": "v1", "time": ts, "fieldsType": "FieldsV1",
                               "subresource": "status",
                               "fieldsV1": {"f:status": {"f:conditions": {},
                                                         "f:containerStatuses": {},
                                                         "f:podIP": {}, "f:phase": {}}}}]},
        "spec": {
            "containers": [container, sidecar],
            "volumes": [{"name": "kube-api-access-%05d" % i, "projected": {
                "defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": "default", "nodeName": NODE,
            "securityContext": {}, "schedulerName": "default-scheduler", "priority": 0,
            "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}]},
        "status": {
            "phase": "Running", "hostIP": "192.0.2.10", "hostIPs": [{"ip": "192.0.2.10"}],
            "podIP": "10.244.%d.%d" % (i // 250, i % 250 + 2),
            "podIPs": [{"ip": "10.244.%d.%d" % (i // 250, i % 250 + 2)}],
            "startTime": ts, "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                            "lastTransitionTime": ts}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                     "ContainersReady", "PodScheduled")],
            "containerStatuses": [status_of(container, "%016x" % (i * 2 + 1)),
                                  status_of(sidecar, "%016x" % (i * 2 + 2))]}}


def nad(ns, name, config, resource=None):
    md = {"name": name, "namespace": ns, "generation": 1,
          "creationTimestamp": "2026-12-01T09:00:00Z"}
    if resource:
        md["annotations"] = {"k8s.v1.cni.cncf.io/resourceName": resource}
    return {"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
            "metadata": md, "spec": {"config": json.dumps(config)}}


def sriov_nad(i):
    """A NAD as an SR-IOV operator writes it: a ~150-byte config and its resourceName."""
    return nad("tenant-%d" % (i % 20), "sriov-net-%d" % i,
               {"cniVersion": "1.0.0", "name": "sriov-net-%d" % i, "type": "sriov",
                "vlan": 100 + i % 3000, "spoofchk": "on", "trust": "off",
                "ipam": {"type": "host-local", "subnet": "10.%d.%d.0/24" % (56 + i // 250, i % 250)}},
               "example.com/sriov_netdevice")


def percentile(xs, q):
    """the q-th percentile, interpolated between the closest ranks"""
    xs = sorted(xs)
    k = (len(xs) - 1) * q / 100.0
    lo = int(k)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (k - lo)


def cni(binary, verb, conf, cid, n):
    env = dict(os.environ, CNI_COMMAND=verb, CNI_CONTAINERID=cid,
               CNI_NETNS="/run/netns/" + netns, CNI_IFNAME="eth0", CNI_PATH=bindir,
               CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p%d;"
                        "K8S_POD_UID=u%d;K8S_POD_INFRA_CONTAINER_ID=%s" % (n, n, cid))
    t0 = time.perf_counter()
    p = subprocess.run([binary], input=json.dumps(conf).encode(), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t0) * 1000.0
    if p.returncode:
        raise RuntimeError("%s %s %s: %s %s" % (os.path.basename(binary), verb, cid,
                                                p.stdout.decode(errors="replace").strip(),
                                                p.stderr.decode(errors="replace").strip()[-300:]))
    return dt


class Daemon:
    """bin/plexusd with a daemon config in work/NAME/ (the API's when kubeconfig is given)."""

    def __init__(self, name, kubeconfig=None, metrics_port=0, socket_dir=None):
        d = work + "/" + name
        os.makedirs(d)
        if not socket_dir:
            socket_dir = d + "/sock"
            os.makedirs(socket_dir, mode=0o700)
        self.log_path = d + "/plexusd.log"
        config = {"cniVersion": "1.0.0", "socketDir": socket_dir, "binDir": bindir,
                  "cniDir": d + "/cni", "logToStderr": True, "logLevel": "error"}
        if kubeconfig:
            config["kubeconfig"] = kubeconfig
        if metrics_port:
            config["metricsPort"] = metrics_port
        self.metrics_port = metrics_port
        with open(d + "/daemon-config.json", "w") as f:
            json.dump(config, f)
        self.log = open(self.log_path, "wb")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen([PLEXUSD, "--config", d + "/daemon-config.json"],
                                     stdout=self.log, stderr=self.log,
                                     env=dict(os.environ, PLEXUS_NODE_NAME=NODE))
        why = wait_ready(self.proc, socket_dir + "/multus.sock", timeout=60)
        self.ready_ms = (time.perf_counter() - self.t0) * 1000.0
        if why:
            self.stop()
            raise RuntimeError("plexusd %s; its log: %s" % (
                why, open(self.log_path, errors="replace").read()[-2000:]))

    def metrics(self):
        """{'name{labels}': value} from /metrics"""
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.metrics_port) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def stop(self):
        stop(self.proc)
        self.log.close()


def start_daemon(name, kubeconfig=None, socket_dir=None):
    """A Daemon serving /metrics on a free port; tried again on another port should one taken
    between our look and its bind make it exit."""
    for attempt in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            return Daemon("%s.%d" % (name, attempt), kubeconfig, port, socket_dir)
        except RuntimeError:
            if attempt == 2:
                raise
    return None


def quiet_log(api, settle_s=0.3, limit_s=20.0):
    """The request log once nothing has been added to it for settle_s."""
    log, since, end = api.control("GET", "/_standin/requests"), time.time(), time.time() + limit_s
    while time.time() < end:
        time.sleep(0.05)
        now = api.control("GET", "/_standin/requests")
        if len(now) != len(log):
            log, since = now, time.time()
        elif time.time() - since >= settle_s:
            break
    return log


def latency_table(api, thin_conf, shim_conf):
    print("ADD through the API stand-in, thin (bin/plexus) vs thick (plexus-shim -> plexusd with "
          "watch caches); %d ADDs per row, thin and thick interleaved; tiny static delegates; "
          "injected latency per API request: the stand-in's latency_ms, on every request. "
          "Requests are means per ADD; POST (events) counted over the row once the log is "
          "quiet (plexusd sends them after its reply); other: any other request in the ADD's "
          "window (a LIST or WATCH included); new connections: not seen earlier in the row"
          % RUNS)
    print()
    print("| API latency | networks | mode | ADD median | ADD p90 | GET pod | GET NAD | PATCH | "
          "POST (events) | other | new connections | requests per DEL |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    modes = (("thin", PLEXUS, thin_conf), ("thick", SHIM, shim_conf))
    for latency in LATENCIES:
        api.control("POST", "/_standin/faults", {"latency_ms": latency})
        for n in NETWORKS:
            api.control("POST", "/_standin/reset-log")
            lat = {m: [] for m, _, _ in modes}
            per_add = {m: [] for m, _, _ in modes}
            per_del = {m: [] for m, _, _ in modes}
            seen = {m: set() for m, _, _ in modes}
            done = 0
            for r in range(RUNS):
                for m, binary, conf in modes:
                    cid = "%s%d-%d-%d" % (m, latency, n, r)
                    lat[m].append(cni(binary, "ADD", conf, cid, n))
                    log = api.control("GET", "/_standin/requests")
                    mine = [x for x in log[done:] if x["user"] == m and x["method"] != "POST"]
                    done = len(log)
                    per_add[m].append(
                        (sum(1 for x in mine if x["method"] == "GET" and "/pods/" in x["path"]),
                         sum(1 for x in mine if x["method"] == "GET" and
                             "network-attachment" in x["path"]),
                         sum(1 for x in mine if x["method"] == "PATCH"),
                         sum(1 for x in mine if x["method"] not in ("GET", "PATCH")) +
                         sum(1 for x in mine if x["method"] == "GET" and "/pods/" not in
                             x["path"] and "network-attachment" not in x["path"]),
                         len({x["conn"] for x in mine} - seen[m])))
                    seen[m] |= {x["conn"] for x in mine}
                    cni(binary, "DEL", conf, cid, n)
                    log = api.control("GET", "/_standin/requests")
                    per_del[m].append(sum(1 for x in log[done:] if x["user"] == m and
                                          x["method"] != "POST"))
                    done = len(log)
            log = quiet_log(api)
            for m, _, _ in modes:
                posts = sum(1 for x in log if x["user"] == m and x["method"] == "POST")
                cols = [statistics.mean(c[i] for c in per_add[m]) for i in range(5)]
                print("| %d ms | %d | %s | %.1f ms | %.1f ms | %s | %s | %s | %s | %s | %s | %s |" % (
                    latency, n, m, statistics.median(lat[m]), percentile(lat[m], 90),
                    *("%.3g" % c for c in cols[:3]), "%.3g" % (posts / RUNS),
                    "%.3g" % cols[3], "%.3g" % cols[4],
                    "%.3g" % statistics.mean(per_del[m])))
    api.control("POST", "/_standin/faults", {})


def trimmed_rss(pid):
    """VmRSS after glibc's malloc_trim(0) called in the daemon through gdb: what it holds live,
    without the freed memory the allocator keeps (None without gdb)."""
    if not shutil.which("gdb"):
        return None
    try:
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (int)malloc_trim(0)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                       check=True)
    except (subprocess.SubprocessError, OSError):
        return None
    return kib(pid, "VmRSS")


def cached(d):
    """(pods, NADs) in d's caches, from its /metrics"""
    m = d.metrics()
    return (int(m.get('plexus_cache_objects{resource="pods"}', -1)),
            int(m.get('plexus_cache_objects{resource="network-attachment-definitions"}', -1)))


def rss_table(api, kubeconfig):
    """Each state measured twice: in a daemon started on it (its caches filled by a LIST), and
    in one daemon that has run since the first state (filled by its watches), where the steps
    are the same process's and malloc_trim(0) leaves what the caches hold."""
    print()
    print("plexusd's memory with its watch caches, once synced (/readyz 200; objects counted "
          "by plexus_cache_objects): VmRSS 1 s later and VmHWM (the peak) of a daemon started on "
          "that state, its caches filled by a LIST; then VmRSS of one daemon running through "
          "all the states, its caches filled by its watches, before and after malloc_trim(0) "
          "(called in it through gdb: the freed memory glibc keeps is given back, what is left "
          "is live)")
    print()
    print("| state | cached pods | cached NADs | started on it: ready after | VmRSS | VmHWM | "
          "watched into it: VmRSS | after malloc_trim |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    watching = start_daemon("watching", kubeconfig)

    def measure(what, with_api):
        d = start_daemon("rss%d" % len(rows), kubeconfig if with_api else None)
        try:
            pods, nads = cached(d) if with_api else (0, 0)
            end = time.time() + 30
            while with_api and cached(watching) != (pods, nads) and time.time() < end:
                time.sleep(0.05)
            time.sleep(1.0)
            rss, hwm = kib(d.proc.pid, "VmRSS"), kib(d.proc.pid, "VmHWM")
        finally:
            d.stop()
        wrss = trimmed = None
        if with_api:
            wrss = kib(watching.proc.pid, "VmRSS")
            trimmed = trimmed_rss(watching.proc.pid)
        rows.append((pods, nads, rss, wrss, trimmed))
        print("| %s | %d | %d | %.0f ms | %.1f MiB | %.1f MiB | %s | %s |"
              % (what, pods, nads, d.ready_ms, rss / 1024.0, hwm / 1024.0,
                 "%.1f MiB" % (wrss / 1024.0) if wrss else "",
                 "%.1f MiB" % (trimmed / 1024.0) if trimmed else
                 ("n/a (no gdb)" if with_api else "")))

    try:
        measure("idle, no API (no kubeconfig)", False)
        measure("API, the bench's pods and NADs only", True)
        for chunk in range(0, MANY, 100):
            api.control("POST", "/_standin/objects",
                        [pod("app-%d" % (i % 20), "web-%d" % i,
                             "00000000-0000-4000-8000-%012d" % i, "sriov-net-%d" % i, i)
                         for i in range(chunk, min(chunk + 100, MANY))])
        measure("+ %d pods on the node (~%.1f KB of JSON each)"
                % (MANY, len(json.dumps(pod("app-0", "web-0", "0", "sriov-net-0", 0))) / 1000.0),
                True)
        for chunk in range(0, MANY, 200):
            api.control("POST", "/_standin/objects",
                        [sriov_nad(i) for i in range(chunk, min(chunk + 200, MANY))])
        measure("+ %d NADs (%d-byte configs)"
                % (MANY, len(sriov_nad(0)["spec"]["config"])), True)
    finally:
        watching.stop()
    idle, base, with_pods, full = rows

    def per(col, a, b, k):  # bytes per object added between rows a and b
        if a[col] is None or b[col] is None or b[k] == a[k]:
            return "n/a"
        return "~%.0f B" % ((b[col] - a[col]) * 1024.0 / (b[k] - a[k]))

    def mib(x):
        return "%.1f MiB" % (x / 1024.0) if x else "n/a"

    print()
    print("| measure | started on it: VmRSS | watched into it: VmRSS | after malloc_trim | "
          "target | store alone (test_k8s_store, heap in use) |")
    print("|---|---|---|---|---|---|")
    print("| plexusd with %d pods and %d NADs cached | %s | %s | %s | <= 40 MiB | |"
          % (full[0], full[1], mib(full[2]), mib(full[3]), mib(full[4])))
    print("| over idle without API (API client, watch threads, caches) | %s | %s | %s | | |"
          % (mib(full[2] - idle[2]), mib(full[3] - idle[2]),
             mib(full[4] - idle[2]) if full[4] else "n/a"))
    for what, a, b, k, store in (("pod", base, with_pods, 0, "234 B"),
                                 ("NAD", with_pods, full, 1, "265 B")):
        print("| per cached %s (the step's delta / %ss added) | %s | %s | %s | | %s |"
              % (what, what, per(2, a, b, k), per(3, a, b, k), per(4, a, b, k), store))


def main():
    print()
    print("== plexus against the API stand-in: thin vs thick with watch caches ==")
    if not thick_setup(bindir, sockdir):
        return 0
    nads = [nad("bench", "n%d" % i, {"cniVersion": "1.0.0", "name": "n%d" % i, "type": "tiny"})
            for i in range(max(NETWORKS))]
    pods = [pod("bench", "p%d" % n, "u%d" % n, ",".join("n%d" % i for i in range(n)), n)
            for n in NETWORKS]
    thin_kc, thick_kc = work + "/thin.kubeconfig", work + "/thick.kubeconfig"
    thin_conf = {"cniVersion": "1.0.0", "name": "bench", "type": "plexus", "kubeconfig": thin_kc,
                 "cniDir": work + "/cni", "binDir": bindir, "delegates": CLUSTER}
    shim_conf = {"cniVersion": "1.0.0", "name": "bench", "type": "plexus-shim",
                 "daemonSocketPath": sock, "delegates": CLUSTER}
    api = daemon = None
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        api = StandIn(work + "/api", {"tokens": TOKENS, "pods": pods, "nads": nads})
        api.kubeconfig(thin_kc, "thin-token")
        api.kubeconfig(thick_kc, "thick-token")
        daemon = start_daemon("thick", thick_kc, sockdir)
        latency_table(api, thin_conf, shim_conf)
        m = daemon.metrics()
        print()
        print("plexusd's lookups over the table: pods %s; NADs %s" % (
            ", ".join("%s %d" % (k.split('"')[1], v) for k, v in sorted(m.items())
                      if k.startswith("plexus_pod_lookups_total") and v),
            ", ".join("%s %d" % (k.split('"')[1], v) for k, v in sorted(m.items())
                      if k.startswith("plexus_nad_lookups_total") and v)))
        daemon.stop()
        daemon = None
        rss_table(api, thick_kc)
        return 0
    except RuntimeError as e:
        print("kube bench: %s" % e)
        return 1
    finally:
        if daemon:
            daemon.stop()
        subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)
        if api:
            api.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
